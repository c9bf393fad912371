/* Where a signal handler installed without SA_RESTORER returns (the kernel
 * sets LR to it). The NOP before the symbol and the exact two instructions
 * are what unwinders (libgcc's aarch64_fallback_frame_state) look for. */
	.text
	.p2align 2
	nop
	.globl	__kernel_rt_sigreturn
	.type	__kernel_rt_sigreturn, %function
__kernel_rt_sigreturn:
	mov	x8, #139	/* rt_sigreturn */
	svc	#0
	.size	__kernel_rt_sigreturn, . - __kernel_rt_sigreturn
	.section .note.GNU-stack, "", %progbits
