/* The floor for boot-time comparisons: a PVH kernel whose first instructions
 * exit QEMU through isa-debug-exit. Built by boot.sh with `as --32` + `ld`. */
    .section .note.pvh, "a"
    .p2align 2
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long _start

    .text
    .code32
    .global _start
_start:
    mov $0, %al
    out %al, $0xf4
1:  hlt
    jmp 1b
