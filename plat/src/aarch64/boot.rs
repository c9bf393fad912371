//! The Linux arm64 boot protocol (Documentation/arch/arm64/booting.rst): the image
//! starts with the 64-byte `Image` header, the loader (QEMU `virt -kernel`,
//! Firecracker, Cloud Hypervisor) places it at a 2 MiB aligned physical address and
//! enters it with the MMU off and x0 = physical address of the device tree.
//!
//! The entry code drops from EL2 to EL1 if needed, builds boot page tables (an
//! identity map of the image's GiB in TTBR0; in TTBR1 the kernel window at
//! KERNEL_VIRT and a direct map of the GiBs holding the image and the device tree),
//! turns the MMU on, jumps to the high half, clears .bss and calls [`boot_main`],
//! which decodes the device tree into a [`BootInfo`].
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_arch::arm64::{CPACR_EL1_VALUE, MAIR_EL1_VALUE, SCTLR_EL1_RESET, SCTLR_EL1_VALUE, TCR_EL1_VALUE};
use elfin_arch::{KERNEL_VIRT, PHYS_OFFSET};
use fdt::node::FdtNode;
use fdt::Fdt;

use super::uart::Kind;
use super::Conduit;
use crate::{BootInfo, MemKind, MemRegion, Module};

/// Valid | AF | inner shareable | attribute 0 (normal WB).
const BLOCK_NORMAL: u64 = 1 | (1 << 10) | (3 << 8);
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

global_asm!(
    r#"
    .section .text.head, "ax"
    .global elfin_image_head
elfin_image_head:
    b elfin_primary_entry           // code0
    .long 0                         // code1
    .quad 0                         // text_offset
    .quad __image_size              // image_size (including .bss)
    .quad 0xa                       // flags: little endian, 4K pages, anywhere in RAM
    .quad 0                         // res2
    .quad 0                         // res3
    .quad 0                         // res4
    .ascii "ARM\x64"                // magic
    .long 0                         // res5

elfin_primary_entry:
    mov x19, x0                     // device tree (physical)
    mrs x20, cntvct_el0             // first cycles
    adrp x21, elfin_image_head      // physical load address (MMU off: PC-relative)

    mrs x1, CurrentEL
    cmp x1, #8
    b.ne 1f
    // EL2: run the kernel at EL1 (AArch64), timers and FP/SIMD untrapped.
    mov x1, #0x80000000
    msr hcr_el2, x1
    mrs x1, cnthctl_el2
    orr x1, x1, #3
    msr cnthctl_el2, x1
    msr cntvoff_el2, xzr
    mov x1, #0x33ff
    msr cptr_el2, x1
    msr hstr_el2, xzr
    mrs x1, id_aa64pfr0_el1
    ubfx x1, x1, #24, #4
    cbz x1, 2f
    mrs x1, icc_sre_el2             // GICv3: let EL1 use the system registers
    orr x1, x1, #0xf
    msr icc_sre_el2, x1
    isb
2:  ldr x1, ={sctlr_reset}
    msr sctlr_el1, x1
    mov x1, #0x3c5                  // EL1h, D A I F masked
    msr spsr_el2, x1
    adr x1, 1f
    msr elr_el2, x1
    eret
1:  msr daifset, #0xf
    ldr x1, ={sctlr_reset}
    msr sctlr_el1, x1
    isb

    // Boot page tables (6 pages): 0 L0 low, 1 L1 low (identity), 2 L0 high,
    // 3 L1 direct map, 4 L1 kernel, 5 L2 kernel.
    adrp x22, elfin_boot_tables
    adrp x2, elfin_boot_tables_end
    mov x1, x22
3:  stp xzr, xzr, [x1], #16
    cmp x1, x2
    b.lo 3b

    // Identity map: the image's GiB and the next one, 1 GiB blocks, EL1 RWX.
    add x3, x22, #0x1000
    orr x4, x3, #3
    ubfx x5, x21, #39, #9
    str x4, [x22, x5, lsl #3]
    ldr x6, ={idmap_attrs}
    ubfx x5, x21, #30, #9
    and x4, x21, #0xffffffffc0000000
    orr x4, x4, x6
    str x4, [x3, x5, lsl #3]
    add x5, x5, #1
    cmp x5, #512
    b.hs 4f
    mov x10, #0x40000000
    add x4, x4, x10
    str x4, [x3, x5, lsl #3]
4:
    // TTBR1 root.
    add x7, x22, #0x2000
    // Direct map at PHYS_OFFSET: the GiBs of the image and the device tree.
    add x3, x22, #0x3000
    orr x4, x3, #3
    mov x5, #{dm_l0}
    str x4, [x7, x5, lsl #3]
    ldr x6, ={dm_attrs}
    ubfx x5, x21, #30, #9
    and x4, x21, #0xffffffffc0000000
    orr x4, x4, x6
    str x4, [x3, x5, lsl #3]
    ubfx x5, x19, #30, #9
    and x4, x19, #0xffffffffc0000000
    orr x4, x4, x6
    str x4, [x3, x5, lsl #3]
    add x8, x19, #0x200000
    ubfx x5, x8, #30, #9
    and x4, x8, #0xffffffffc0000000
    orr x4, x4, x6
    str x4, [x3, x5, lsl #3]

    // Kernel window: KERNEL_VIRT + n * 2 MiB -> load address + n * 2 MiB, EL1 RWX.
    add x3, x22, #0x4000
    orr x4, x3, #3
    mov x5, #{k_l0}
    str x4, [x7, x5, lsl #3]
    add x8, x22, #0x5000
    orr x4, x8, #3
    mov x5, #{k_l1}
    str x4, [x3, x5, lsl #3]
    ldr x6, ={k_attrs}
    orr x4, x21, x6
    mov x5, #{k_l2}
    ldr x9, =__image_size
    ldr x10, =0x1fffff
    add x9, x9, x10
    lsr x9, x9, #21
5:  str x4, [x8, x5, lsl #3]
    add x4, x4, #0x200000
    add x5, x5, #1
    subs x9, x9, #1
    b.ne 5b

    // The tables were written with the MMU off: drop stale cache lines over them.
    mrs x1, ctr_el0
    ubfx x1, x1, #16, #4
    mov x2, #4
    lsl x2, x2, x1
    mov x1, x22
    adrp x3, elfin_boot_tables_end
6:  dc ivac, x1
    add x1, x1, x2
    cmp x1, x3
    b.lo 6b
    dsb sy

    ldr x1, ={mair}
    msr mair_el1, x1
    ldr x1, ={tcr}
    mrs x2, id_aa64mmfr0_el1
    and x2, x2, #7
    mov x3, #5
    cmp x2, x3
    csel x2, x2, x3, ls             // IPS = PARange, at most 48 bits
    bfi x1, x2, #32, #3
    msr tcr_el1, x1
    msr ttbr0_el1, x22
    msr ttbr1_el1, x7
    ldr x1, ={cpacr}
    msr cpacr_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    ldr x1, ={sctlr}
    msr sctlr_el1, x1
    isb
    ic iallu
    dsb nsh
    isb
    ldr x1, =elfin_high_entry
    br x1

elfin_high_entry:
    ldr x1, =__bss_start
    ldr x2, =__bss_end
7:  cmp x1, x2
    b.hs 8f
    stp xzr, xzr, [x1], #16
    b 7b
8:  ldr x1, =elfin_boot_stack_top
    mov sp, x1
    mov x0, x19
    mov x1, x20
    mov x2, x21
    mov x29, xzr
    mov x30, xzr
    bl {main}
9:  wfi
    b 9b

    .section .boot_tables, "aw", %nobits
    .p2align 12
    .global elfin_boot_tables
elfin_boot_tables:
    .zero 6 * 4096
elfin_boot_tables_end:

    .section .bss.elfin_boot_stack, "aw", %nobits
    .p2align 12
elfin_boot_stack:
    .zero 65536
elfin_boot_stack_top:
    "#,
    sctlr_reset = const SCTLR_EL1_RESET,
    sctlr = const SCTLR_EL1_VALUE,
    mair = const MAIR_EL1_VALUE,
    tcr = const TCR_EL1_VALUE,
    cpacr = const CPACR_EL1_VALUE,
    idmap_attrs = const BLOCK_NORMAL | UXN,
    dm_attrs = const BLOCK_NORMAL | PXN | UXN,
    k_attrs = const BLOCK_NORMAL | UXN,
    dm_l0 = const (PHYS_OFFSET >> 39) & 511,
    k_l0 = const (KERNEL_VIRT >> 39) & 511,
    k_l1 = const (KERNEL_VIRT >> 30) & 511,
    k_l2 = const (KERNEL_VIRT >> 21) & 511,
    main = sym boot_main,
);

/// Counter value at the kernel's first instruction.
static FIRST_CYCLES: AtomicU64 = AtomicU64::new(0);
/// CPUs described by the device tree.
static CPUS: AtomicU64 = AtomicU64::new(1);

/// Cycle counter (CNTVCT_EL0) at the kernel's first instruction.
pub fn first_cycles() -> u64 {
    FIRST_CYCLES.load(Ordering::Relaxed)
}

/// Number of CPUs in the device tree (only the boot CPU runs for now).
pub fn cpu_count() -> usize {
    CPUS.load(Ordering::Relaxed) as usize
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i * 4..i * 4 + 4)?.try_into().ok()?))
}

fn first_reg(node: FdtNode<'_, '_>) -> Option<(u64, u64)> {
    let r = node.reg()?.next()?;
    Some((r.starting_address as u64, r.size.unwrap_or(0) as u64))
}

fn compatible_with(node: FdtNode<'_, '_>, names: &[&str]) -> bool {
    node.compatible().map(|c| c.all().any(|s| names.contains(&s))).unwrap_or(false)
}

const PL011: &[&str] = &["arm,pl011"];
const NS16550: &[&str] = &["ns16550a", "ns16550", "snps,dw-apb-uart"];

/// Finds and configures the console UART: `/chosen/stdout-path`, else the first
/// PL011, else the first 16550.
fn setup_console(fdt: &Fdt<'_>) {
    let chosen = fdt.find_node("/chosen");
    let stdout = chosen
        .and_then(|c| c.property("stdout-path"))
        .and_then(|p| p.as_str())
        .and_then(|s| s.split(':').next())
        .and_then(|path| fdt.find_node(path))
        .filter(|n| compatible_with(*n, PL011) || compatible_with(*n, NS16550));
    let node = stdout.or_else(|| fdt.find_compatible(PL011)).or_else(|| fdt.find_compatible(NS16550));
    let Some(node) = node else { return };
    let Some((pa, size)) = first_reg(node) else { return };
    let Some(va) = elfin_arch::arm64::map_device(pa, size.max(0x1000)) else { return };
    if compatible_with(node, PL011) {
        super::uart::configure(Kind::Pl011, va, 0, true);
    } else {
        let shift = node.property("reg-shift").and_then(|p| p.as_usize()).unwrap_or(0);
        let width = node.property("reg-io-width").and_then(|p| p.as_usize()).unwrap_or(1);
        super::uart::configure(Kind::Ns16550, va, shift.min(4) as u8, width == 4);
    }
}

/// Up to this many reserved ranges are honoured (memreserve and /reserved-memory).
const MAX_RESERVED: usize = 16;

/// Pushes [start, end) minus the reserved ranges as usable RAM.
fn push_usable(info: &mut BootInfo, start: u64, end: u64, reserved: &[(u64, u64)]) {
    let mut s = start;
    let mut cuts: [(u64, u64); MAX_RESERVED] = [(u64::MAX, u64::MAX); MAX_RESERVED];
    for (slot, r) in cuts.iter_mut().zip(reserved.iter()) {
        *slot = *r;
    }
    cuts.sort_unstable();
    for &(rs, re) in cuts.iter().filter(|c| c.0 != u64::MAX) {
        if re <= s || rs >= end {
            continue;
        }
        if rs > s {
            info.push_region(MemRegion { start: s, size: rs - s, kind: MemKind::Usable });
        }
        info.push_region(MemRegion { start: rs.max(s), size: re.min(end) - rs.max(s), kind: MemKind::Reserved });
        s = s.max(re);
    }
    if s < end {
        info.push_region(MemRegion { start: s, size: end - s, kind: MemKind::Usable });
    }
}

/// Rust side of the entry: decodes the device tree into a [`BootInfo`].
extern "C" fn boot_main(dtb_pa: u64, t0: u64, load_pa: u64) -> ! {
    elfin_arch::arm64::init_early(load_pa);
    FIRST_CYCLES.store(t0, Ordering::Relaxed);
    // SAFETY: the boot page tables map the GiB holding the device tree (and the 2 MiB
    // after its start, its maximum size) at PHYS_OFFSET; the loader put it in RAM.
    let fdt = match unsafe { Fdt::from_ptr(elfin_arch::phys_to_virt(dtb_pa) as *const u8) } {
        Ok(f) => f,
        // No device tree: no console to report on and no known way to power off.
        Err(_) => elfin_arch::halt_forever(),
    };
    setup_console(&fdt);
    let mut info = BootInfo::empty();

    let mut reserved = [(0u64, 0u64); MAX_RESERVED];
    let mut nres = 0;
    let mut reserve = |s: u64, size: u64| {
        if let Some(slot) = reserved.get_mut(nres) {
            *slot = (s & !0xfff, (s + size).next_multiple_of(0x1000));
            nres += 1;
        }
    };
    for r in fdt.memory_reservations() {
        reserve(r.address() as u64, r.size() as u64);
    }
    if let Some(rm) = fdt.find_node("/reserved-memory") {
        for child in rm.children() {
            if let Some(regs) = child.reg() {
                for r in regs {
                    reserve(r.starting_address as u64, r.size.unwrap_or(0) as u64);
                }
            }
        }
    }
    let reserved = reserved.get(..nres).unwrap_or(&[]);
    // One pass over the tree (each fdt lookup re-parses it from the start).
    for node in fdt.all_nodes() {
        if node.property("device_type").and_then(|p| p.as_str()) == Some("memory") {
            if let Some(regs) = node.reg() {
                for r in regs {
                    let start = r.starting_address as u64;
                    let end = start + r.size.unwrap_or(0) as u64;
                    push_usable(&mut info, start, end, reserved);
                    elfin_arch::arm64::boot_map_ram(start, end);
                }
            }
            continue;
        }
        let Some(compat) = node.compatible() else { continue };
        let is = |names: &[&str]| compat.all().any(|c| names.contains(&c));
        if is(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]) {
            match node.property("method").and_then(|p| p.as_str()) {
                Some("hvc") => super::set_psci(Conduit::Hvc),
                Some("smc") => super::set_psci(Conduit::Smc),
                _ => {}
            }
        } else if is(&["arm,pl031"]) {
            if let Some((pa, _)) = first_reg(node) {
                super::clock::set_rtc(pa);
            }
        } else if is(&["arm,gic-v3"]) {
            if let Some(mut regs) = node.reg() {
                if let (Some(d), Some(r)) = (regs.next(), regs.next()) {
                    super::irq::set_gicv3(d.starting_address as u64, r.starting_address as u64);
                }
            }
        } else if is(&["virtio,mmio"]) {
            // interrupts = <type num flags>: type 0 is an SPI (INTID 32 + num); flags
            // bits 0-1 say edge-triggered.
            if let Some((pa, size)) = first_reg(node) {
                let irq = node.property("interrupts").map(|p| p.value).and_then(|v| match (be32(v, 0), be32(v, 1)) {
                    (Some(0), Some(n)) if n < 988 => {
                        Some(crate::virtio::Irq { num: 32 + n, edge: be32(v, 2).is_some_and(|f| f & 3 != 0) })
                    }
                    _ => None,
                });
                super::devices::record_mmio(pa, size, irq);
            }
        } else if is(&["arm,armv8-timer", "arm,armv7-timer"]) {
            // interrupts = <type num flags> × (secure phys, phys, virt, hyp); PPI n is INTID 16 + n.
            if let Some(v) = node.property("interrupts").map(|p| p.value) {
                if let (Some(1), Some(n)) = (be32(v, 6), be32(v, 7)) {
                    super::irq::set_vtimer_intid(16 + n);
                }
            }
        }
    }

    if let Some(chosen) = fdt.find_node("/chosen") {
        if let Some(p) = chosen.property("bootargs") {
            if p.value.last() == Some(&0) {
                info.cmdline_paddr = (p.value.as_ptr() as u64).wrapping_sub(PHYS_OFFSET);
            }
        }
        let start = chosen.property("linux,initrd-start").and_then(|p| p.as_usize());
        let end = chosen.property("linux,initrd-end").and_then(|p| p.as_usize());
        if let (Some(s), Some(e)) = (start, end) {
            if e > s {
                info.initrd = Some(Module { paddr: s as u64, size: (e - s) as u64 });
            }
        }
    }
    info.dtb = Some(Module { paddr: dtb_pa, size: fdt.total_size() as u64 });

    if let Some(cpus) = fdt.find_node("/cpus") {
        let n = cpus.children().filter(|c| c.name.split('@').next() == Some("cpu")).count();
        CPUS.store(n.max(1) as u64, Ordering::Relaxed);
    }
    crate::enter_kernel(&info)
}
