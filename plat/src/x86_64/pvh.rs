//! PVH boot entry (Xen/QEMU/Firecracker/Cloud Hypervisor `-kernel` of an ELF with a
//! `XEN_ELFNOTE_PHYS32_ENTRY` note): 32-bit protected mode, paging off, `ebx` =
//! physical address of `hvm_start_info`. The assembly builds boot page tables
//! (identity map of the first 4 GiB, the same at the direct-map offset, and the
//! kernel's higher-half window; 1 GiB pages where the CPU has them, else 2 MiB),
//! enters long mode and calls [`pvh_main`].

use core::arch::global_asm;

use crate::{BootInfo, MemKind, MemRegion, Module, MAX_MEM_REGIONS};
use elfin_arch::PHYS_OFFSET;

global_asm!(
    r#"
    .section .note.elfin.pvh, "a"
    .p2align 2
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long pvh_start32

    .section .boot.data, "aw"
    .p2align 12
boot_pml4:      .fill 512, 8, 0
boot_pdpt_low:  .fill 512, 8, 0
boot_pdpt_high: .fill 512, 8, 0
boot_pdpt_dm:   .fill 512, 8, 0
boot_pd:        .fill 2048, 8, 0
    .global pvh_boot_tsc
pvh_boot_tsc: .quad 0
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_end:
    .p2align 3
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi
    rdtsc
    mov %eax, pvh_boot_tsc
    mov %edx, pvh_boot_tsc + 4
    /* With 1 GiB pages (CPUID.80000001h:EDX bit 26), the PDPTs map 0..4 GiB
       directly: 6 entries instead of 2,048 page-directory entries. */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb 4f
    mov $0x80000001, %eax
    cpuid
    bt $26, %edx
    jnc 4f
    xor %ecx, %ecx
5:  mov %ecx, %eax
    shl $30, %eax
    or $0x83, %eax
    mov %eax, boot_pdpt_low(,%ecx,8)
    mov %eax, boot_pdpt_dm(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jne 5b
    movl $0x83, boot_pdpt_high + 510*8
    movl $0x40000083, boot_pdpt_high + 511*8
    jmp 6f
4:
    /* PD entries: 2048 x 2 MiB pages covering 0..4 GiB (present, writable, huge). */
    mov $boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%edi,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax
    mov %eax, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b
    /* PDPTs: identity 0..4G, direct map 0..4G, kernel window (-2 GiB) -> 0..2G. */
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $12, %eax
    add $boot_pd + 3, %eax
    mov %eax, boot_pdpt_low(,%ecx,8)
    mov %eax, boot_pdpt_dm(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jne 2b
    movl $boot_pd + 3, boot_pdpt_high + 510*8
    movl $boot_pd + 0x1000 + 3, boot_pdpt_high + 511*8
6:  movl $boot_pdpt_low + 3, boot_pml4
    movl $boot_pdpt_dm + 3, boot_pml4 + 256*8
    movl $boot_pdpt_high + 3, boot_pml4 + 511*8
    /* PAE, then EFER.LME|NXE|SCE, then paging with write protection. */
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x901, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $3f
    .code64
3:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $pvh_start64, %rax
    jmp *%rax

    .section .text.pvh_start64, "ax"
pvh_start64:
    movabs $pvh_boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi
    call {main}
    ud2

    .section .bss.pvh_boot_stack, "aw", @nobits
    .p2align 12
    .global pvh_boot_stack_bottom
pvh_boot_stack_bottom:
    .fill 16384 * 4, 1, 0
pvh_boot_stack_top:
    "#,
    main = sym pvh_main,
    options(att_syntax)
);

/// Magic value of `hvm_start_info.magic`.
const START_INFO_MAGIC: u32 = 0x336e_c578;

/// Reads a little-endian `u32` at a physical address through the boot direct map.
fn rd32(paddr: u64) -> u32 {
    // SAFETY: the boot page tables map 0..4 GiB at PHYS_OFFSET and the VMM placed
    // the start-info structures (and everything they point to) in guest RAM below 4 GiB.
    unsafe { core::ptr::read_unaligned((PHYS_OFFSET + paddr) as *const u32) }
}

/// Reads a little-endian `u64` at a physical address through the boot direct map.
fn rd64(paddr: u64) -> u64 {
    u64::from(rd32(paddr)) | (u64::from(rd32(paddr + 4)) << 32)
}

extern "C" {
    static pvh_boot_tsc: u64;
}

/// Cycle counter at the kernel's first instruction.
pub fn first_cycles() -> u64 {
    // SAFETY: written once by the entry code before any Rust code runs; reached
    // through the direct map since the boot section's identity map is gone later.
    unsafe { core::ptr::read_volatile((PHYS_OFFSET + core::ptr::addr_of!(pvh_boot_tsc) as u64) as *const u64) }
}

/// Rust side of the PVH entry: decodes `hvm_start_info` into a [`BootInfo`].
extern "C" fn pvh_main(start_info: u32) -> ! {
    let si = u64::from(start_info);
    let mut info = BootInfo::empty();
    if rd32(si) != START_INFO_MAGIC {
        crate::console::early_panic("elfin: not started through PVH (bad hvm_start_info magic)");
    }
    let version = rd32(si + 4);
    let nr_modules = rd32(si + 12);
    let modlist = rd64(si + 16);
    let cmdline = rd64(si + 24);
    info.rsdp = rd64(si + 32);
    if version >= 1 {
        let memmap = rd64(si + 40);
        let entries = rd32(si + 48);
        for i in 0..u64::from(entries).min(MAX_MEM_REGIONS as u64) {
            let e = memmap + i * 24;
            let kind = match rd32(e + 16) {
                1 => MemKind::Usable,
                3 => MemKind::AcpiReclaimable,
                _ => MemKind::Reserved,
            };
            info.push_region(MemRegion { start: rd64(e), size: rd64(e + 8), kind });
        }
    }
    if cmdline != 0 {
        info.cmdline_paddr = cmdline;
    }
    if nr_modules >= 1 && modlist != 0 {
        info.initrd = Some(Module { paddr: rd64(modlist), size: rd64(modlist + 8) });
    }
    crate::enter_kernel(&info)
}
