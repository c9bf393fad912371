//! Starting application processors on x86_64: a real-mode trampoline copied to a
//! fixed page below 1 MiB takes a CPU woken by INIT-SIPI-SIPI from 16-bit real
//! mode through protected mode to long mode, on a page table that maps the
//! trampoline page at its physical address and the kernel as usual, and jumps to
//! the kernel on the stack it was given.
use core::arch::global_asm;

use super::paging::PageTable;
use crate::common::{read_entry, write_entry, FrameSource, Perm};

/// Physical address of the trampoline page (below 1 MiB, page-aligned; the
/// frame allocator never hands out RAM below `elfin_plat::low_reserved()`, 64 KiB).
pub const TRAMPOLINE_PA: u64 = 0x8000;
/// Physical address of the trampoline's page-table root: the trampoline loads
/// CR3 in 32-bit mode, so the root must lie below 4 GiB.
pub const TRAMPOLINE_PT: u64 = 0x9000;

global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .set TRAMP, 0x8000
    .global elfin_ap_tramp_start
    .global elfin_ap_tramp_end
    .code16
elfin_ap_tramp_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl (TRAMP + tgdt_ptr - elfin_ap_tramp_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $(TRAMP + pm32 - elfin_ap_tramp_start)

    .code32
pm32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    /* PAE (and SSE enabled, as on the boot CPU). */
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov %eax, %cr4
    mov (TRAMP + p_cr3 - elfin_ap_tramp_start), %eax
    mov %eax, %cr3
    /* EFER: long mode, no-execute, syscall. */
    mov $0xc0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11) | (1 << 0)), %eax
    wrmsr
    /* Paging and write protect. */
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax
    mov %eax, %cr0
    ljmpl $0x18, $(TRAMP + lm64 - elfin_ap_tramp_start)

    .code64
lm64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov (TRAMP + p_stack - elfin_ap_tramp_start), %rsp
    /* As if called: the entry expects a return address on an aligned stack. */
    push $0
    mov (TRAMP + p_cpu - elfin_ap_tramp_start), %rdi
    mov (TRAMP + p_entry - elfin_ap_tramp_start), %rax
    xor %rbp, %rbp
    jmp *%rax

    .p2align 3
tgdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
tgdt_end:
tgdt_ptr:
    .word tgdt_end - tgdt - 1
    .long TRAMP + tgdt - elfin_ap_tramp_start
    .p2align 3
p_cr3:   .quad 0
p_stack: .quad 0
p_cpu:   .quad 0
p_entry: .quad 0
elfin_ap_tramp_end:
    .code64
    "#,
    options(att_syntax)
);

extern "C" {
    static elfin_ap_tramp_start: u8;
    static elfin_ap_tramp_end: u8;
}

/// Offsets of the parameter words from the end of the trampoline.
const P_CR3: u64 = 32;
const P_STACK: u64 = 24;
const P_CPU: u64 = 16;
const P_ENTRY: u64 = 8;

fn tramp_bytes() -> &'static [u8] {
    let start = core::ptr::addr_of!(elfin_ap_tramp_start);
    let end = core::ptr::addr_of!(elfin_ap_tramp_end);
    // SAFETY: both symbols delimit the trampoline in .rodata of the kernel image.
    unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
}

/// Copies the trampoline to [`TRAMPOLINE_PA`]; returns the SIPI vector.
pub fn install_trampoline() -> u8 {
    let code = tramp_bytes();
    let dst = crate::phys_to_virt(TRAMPOLINE_PA) as *mut u8;
    // SAFETY: the page at TRAMPOLINE_PA is RAM below 64 KiB that the frame allocator
    // never hands out; the direct map covers it; the trampoline is under a page.
    unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), dst, code.len().min(4096)) };
    (TRAMPOLINE_PA >> 12) as u8
}

/// Builds the page table the trampoline switches to at [`TRAMPOLINE_PT`]: the
/// kernel half of `kernel` and the trampoline page at its physical address.
/// Returns its root, or None when out of memory.
pub fn build_trampoline_table(kernel: &PageTable, fs: &mut dyn FrameSource) -> Option<u64> {
    let root = TRAMPOLINE_PT;
    for i in 0..512 {
        write_entry(root, i, if i >= 256 { read_entry(kernel.root(), i) } else { 0 });
    }
    let mut pt = PageTable::from_root(root);
    let perm = Perm { read: true, write: false, exec: true, user: false, device: false };
    pt.map(TRAMPOLINE_PA, TRAMPOLINE_PA, perm, fs).ok()?;
    Some(root)
}

/// Sets what the next CPU started through the trampoline gets: the page table
/// (below 4 GiB, mapping the trampoline page at its physical address), its stack,
/// its index and the 64-bit entry `entry(cpu)`.
pub fn set_trampoline_params(cr3: u64, stack_top: u64, cpu: usize, entry: extern "C" fn(usize) -> !) {
    let end = TRAMPOLINE_PA + tramp_bytes().len() as u64;
    let put = |off: u64, v: u64| {
        let p = crate::phys_to_virt(end - off) as *mut u64;
        // SAFETY: the parameter words are the last 32 bytes of the installed
        // trampoline, 8-byte aligned, in RAM covered by the direct map.
        unsafe { core::ptr::write_volatile(p, v) };
    };
    put(P_CR3, cr3);
    put(P_STACK, stack_top);
    put(P_CPU, cpu as u64);
    put(P_ENTRY, entry as usize as u64);
}

/// Sets up an application processor the way `init_bsp` set up the boot one: its
/// own GDT, TSS (with a double-fault stack) and per-CPU block with its index, the
/// shared IDT, SYSCALL and the FPU. `kstack_top` is its first kernel stack.
pub fn init_ap(cpu: usize, kstack_top: u64) {
    let f = super::cpu::features();
    super::cpu::enable_fpu(&f);
    super::init::init_cpu_tables(cpu, kstack_top);
    super::trap::load_idt();
    super::init::syscall_msrs();
}
