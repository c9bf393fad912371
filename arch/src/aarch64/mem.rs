//! `memcpy` and `memset` for the kernel. compiler_builtins' portable memcpy assembles every 8
//! bytes from single-byte loads when source and destination are not equally
//! aligned (the initrd's files start 4-aligned in their cpio archive), about 22
//! instructions per 8 bytes; this one copies 64 bytes per round with unaligned
//! `ldp`/`stp`, which the kernel may use: it runs with the MMU on, on Normal
//! memory, with SCTLR_EL1.A clear (see [`super::cpu::SCTLR_EL1_VALUE`]). Its memset
//! stores 8 bytes per three instructions (1.5K instructions to clear 4 KiB, as in
//! every zeroed allocation); this one stores 64 bytes per round with `stp`. Strong
//! symbols, they take the place of compiler_builtins' weak ones.

core::arch::global_asm!(
    r#"
    .section .text.memcpy, "ax"
    .global memcpy
    .type memcpy, %function
    .p2align 4
memcpy:
    mov x3, x0
    cmp x2, #64
    b.lo 2f
1:  ldp x4, x5, [x1]
    ldp x6, x7, [x1, #16]
    ldp x8, x9, [x1, #32]
    ldp x10, x11, [x1, #48]
    add x1, x1, #64
    sub x2, x2, #64
    stp x4, x5, [x3]
    stp x6, x7, [x3, #16]
    stp x8, x9, [x3, #32]
    stp x10, x11, [x3, #48]
    add x3, x3, #64
    cmp x2, #64
    b.hs 1b
2:  cmp x2, #16
    b.lo 3f
    ldp x4, x5, [x1], #16
    stp x4, x5, [x3], #16
    sub x2, x2, #16
    b 2b
3:  tbz x2, #3, 4f
    ldr x4, [x1], #8
    str x4, [x3], #8
4:  tbz x2, #2, 5f
    ldr w4, [x1], #4
    str w4, [x3], #4
5:  tbz x2, #1, 6f
    ldrh w4, [x1], #2
    strh w4, [x3], #2
6:  tbz x2, #0, 7f
    ldrb w4, [x1]
    strb w4, [x3]
7:  ret
    .size memcpy, . - memcpy
"#
);

core::arch::global_asm!(
    r#"
    .section .text.memset, "ax"
    .global memset
    .type memset, %function
    .p2align 4
memset:
    mov x3, x0
    and x1, x1, #0xff
    mov x4, #0x0101010101010101
    mul x1, x1, x4
    cmp x2, #64
    b.lo 2f
1:  stp x1, x1, [x3]
    stp x1, x1, [x3, #16]
    stp x1, x1, [x3, #32]
    stp x1, x1, [x3, #48]
    add x3, x3, #64
    sub x2, x2, #64
    cmp x2, #64
    b.hs 1b
2:  cmp x2, #16
    b.lo 3f
    stp x1, x1, [x3], #16
    sub x2, x2, #16
    b 2b
3:  tbz x2, #3, 4f
    str x1, [x3], #8
4:  tbz x2, #2, 5f
    str w1, [x3], #4
5:  tbz x2, #1, 6f
    strh w1, [x3], #2
6:  tbz x2, #0, 7f
    strb w1, [x3]
7:  ret
    .size memset, . - memset
"#
);
