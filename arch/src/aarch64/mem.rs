//! `memcpy` for the kernel. compiler_builtins' portable one assembles every 8
//! bytes from single-byte loads when source and destination are not equally
//! aligned (the initrd's files start 4-aligned in their cpio archive), about 22
//! instructions per 8 bytes; this one copies 64 bytes per round with unaligned
//! `ldp`/`stp`, which the kernel may use: it runs with the MMU on, on Normal
//! memory, with SCTLR_EL1.A clear (see [`super::cpu::SCTLR_EL1_VALUE`]). A strong
//! symbol, it takes the place of compiler_builtins' weak one.

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
