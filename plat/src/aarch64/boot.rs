//! The Linux arm64 boot protocol (Documentation/arch/arm64/booting.rst): the image
//! starts with the 64-byte `Image` header, the loader (QEMU `virt -kernel`,
//! Firecracker, Cloud Hypervisor) places it `text_offset` (4 KiB) above a 2 MiB
//! aligned physical address and enters it with the MMU off and x0 = physical address
//! of the device tree. The small offset lets QEMU load the image right above its
//! boot stub at the start of RAM instead of 2 MiB in (it adds 2 MiB to an offset
//! below 4 KiB), which lowers the smallest RAM a run needs by 2 MiB.
//!
//! The entry code drops from EL2 to EL1 if needed, builds boot page tables (an
//! identity map of the image's GiB in TTBR0; in TTBR1 the kernel window at
//! KERNEL_VIRT and a direct map of the GiBs holding the image and the device tree),
//! turns the MMU on, jumps to the high half, clears .bss and calls [`boot_main`],
//! which decodes the device tree into a [`BootInfo`] (and records the CPUs and the
//! interrupt controller for `smp.rs` and `gic.rs`) in one pass of
//! `elfin_kcore::fdt`, reading only the properties the kernel uses. The other CPUs' entry
//! (`smp.rs`) drops to EL1 through the same routine, `elfin_el2_to_el1`.
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_arch::arm64::{CPACR_EL1_VALUE, MAIR_EL1_VALUE, SCTLR_EL1_RESET, SCTLR_EL1_VALUE, TCR_EL1_VALUE};
use elfin_arch::{KERNEL_VIRT, PHYS_OFFSET};
use elfin_kcore::fdt;

use super::uart::Kind as UartKind;
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
    .quad {text_offset}             // text_offset
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

    bl elfin_el2_to_el1
    msr daifset, #0xf
    ldr x1, ={sctlr_reset}
    msr sctlr_el1, x1
    isb

    // Boot page tables (6 pages): 0 L0 low, 1 L1 low (identity), 2 L0 high,
    // 3 L1 direct map, 4 L1 kernel, 5 L2 kernel.
    // They are zeroes of the image file itself (.boot_tables is loaded data), so
    // nothing clears them here. x11 is scratch for the entries' addresses.
    adrp x22, elfin_boot_tables

    // Identity map: the image's GiB and the next one, 1 GiB blocks, EL1 RWX.
    add x3, x22, #0x1000
    orr x4, x3, #3
    ubfx x5, x21, #39, #9
    add x11, x22, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    ldr x6, ={idmap_attrs}
    ubfx x5, x21, #30, #9
    and x4, x21, #0xffffffffc0000000
    orr x4, x4, x6
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    add x5, x5, #1
    cmp x5, #512
    b.hs 4f
    mov x10, #0x40000000
    add x4, x4, x10
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
4:
    // TTBR1 root.
    add x7, x22, #0x2000
    // Direct map at PHYS_OFFSET: the GiBs of the image and the device tree.
    add x3, x22, #0x3000
    orr x4, x3, #3
    mov x5, #{dm_l0}
    add x11, x7, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    ldr x6, ={dm_attrs}
    ubfx x5, x21, #30, #9
    and x4, x21, #0xffffffffc0000000
    orr x4, x4, x6
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    ubfx x5, x19, #30, #9
    and x4, x19, #0xffffffffc0000000
    orr x4, x4, x6
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    add x8, x19, #0x200000
    ubfx x5, x8, #30, #9
    and x4, x8, #0xffffffffc0000000
    orr x4, x4, x6
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11

    // Kernel window: KERNEL_VIRT - text_offset + n * 2 MiB -> 2 MiB base of the load
    // address + n * 2 MiB, EL1 RWX (KERNEL_VIRT and the load address are both
    // text_offset above a 2 MiB boundary).
    add x3, x22, #0x4000
    orr x4, x3, #3
    mov x5, #{k_l0}
    add x11, x7, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    add x8, x22, #0x5000
    orr x4, x8, #3
    mov x5, #{k_l1}
    add x11, x3, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    ldr x6, ={k_attrs}
    and x4, x21, #0xffffffffffe00000
    orr x4, x4, x6
    mov x5, #{k_l2}
    ldr x9, =__image_size
    add x9, x9, #{text_offset}
    ldr x10, =0x1fffff
    add x9, x9, x10
    lsr x9, x9, #21
5:  add x11, x8, x5, lsl #3
    str x4, [x11]
    dc ivac, x11
    add x4, x4, #0x200000
    add x5, x5, #1
    subs x9, x9, #1
    b.ne 5b

    // The tables were written with the MMU off: each store above dropped any
    // stale cache line over the entry it wrote (the lines not written hold the
    // image's zeroes, in memory and in any cached copy alike).
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
    // DC ZVA where allowed (DZP clear) and its block is 64 bytes to 2 KiB: four
    // blocks a round, up to the last whole round before the end.
    mrs x3, dczid_el0
    tbnz x3, #4, 7f
    and x3, x3, #0xf
    mov x4, #4
    lsl x4, x4, x3                  // block size in bytes
    cmp x4, #64
    b.lo 7f
    cmp x4, #2048
    b.hi 7f
    sub x5, x4, #1
    // Up to the first block boundary, 16 bytes at a time (both ends of .bss are
    // 64-byte aligned, so this stays inside it).
10: tst x1, x5
    b.eq 11f
    cmp x1, x2
    b.hs 8f
    stp xzr, xzr, [x1], #16
    b 10b
11: lsl x6, x4, #2                  // bytes a round
12: add x7, x1, x6
    cmp x7, x2
    b.hi 7f
    dc zva, x1
    add x1, x1, x4
    dc zva, x1
    add x1, x1, x4
    dc zva, x1
    add x1, x1, x4
    dc zva, x1
    mov x1, x7
    b 12b
    // 64 bytes a round: the linker script aligns both ends of .bss to 64.
7:  cmp x1, x2
    b.hs 8f
    stp xzr, xzr, [x1]
    stp xzr, xzr, [x1, #16]
    stp xzr, xzr, [x1, #32]
    stp xzr, xzr, [x1, #48]
    add x1, x1, #64
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

    // Runs the caller at EL1 (MMU off, x30 = return address; clobbers x1): at EL2
    // it lets EL1 run AArch64 with timers, FP/SIMD and (GICv3) the interrupt
    // controller's system registers untrapped, and returns there with eret (EL1h,
    // D A I F masked); at EL1 it just returns. The other CPUs enter through it too.
    .global elfin_el2_to_el1
elfin_el2_to_el1:
    mrs x1, CurrentEL
    cmp x1, #8
    b.ne 1f
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
    msr elr_el2, x30
    eret
1:  ret

    // Loaded from the image as zeroes (not .bss): the entry code need not clear
    // them before the MMU is on.
    .section .boot_tables, "aw", %progbits
    .p2align 12
    .global elfin_boot_tables
elfin_boot_tables:
    .zero 6 * 4096
elfin_boot_tables_end:

    // Not cleared at boot (a stack needs no zeroes): .noinit, after .bss.
    .section .noinit.elfin_boot_stack, "aw", %nobits
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
    text_offset = const elfin_arch::arm64::TEXT_OFFSET,
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

/// Number of CPUs in the device tree (the kernel may use fewer).
pub fn cpu_count() -> usize {
    CPUS.load(Ordering::Relaxed) as usize
}

/// The properties of one device-tree node that the kernel reads.
#[derive(Clone, Copy)]
struct Node<'a> {
    name: &'a [u8],
    /// Property values by [`Prop`]; only those whose bit is set in `seen` are this
    /// node's (a stack slot keeps an earlier node's values, unread, so that opening
    /// a node costs two stores instead of clearing every field).
    vals: [&'a [u8]; NPROPS],
    seen: u32,
    /// [`Node::child_cells`], worked out when the first child opens (all of a
    /// node's properties come before its children).
    cells: Option<(usize, usize)>,
}

impl<'a> Node<'a> {
    const EMPTY: Node<'static> = Node { name: &[], vals: [&[]; NPROPS], seen: 0, cells: None };

    /// Starts node `name` in this slot.
    #[inline(always)]
    fn open(&mut self, name: &'a [u8]) {
        self.name = name;
        self.seen = 0;
        self.cells = None;
    }

    /// Keeps a property's value (those the kernel does not read all go to one slot).
    #[inline(always)]
    fn set(&mut self, prop: Prop, v: &'a [u8]) {
        let i = prop as usize;
        if let Some(slot) = self.vals.get_mut(i) {
            *slot = v;
        }
        self.seen |= 1 << i;
    }

    /// The value of `prop`, if the node has it.
    #[inline(always)]
    fn get(&self, prop: Prop) -> Option<&'a [u8]> {
        let i = prop as usize;
        if self.seen & (1 << i) == 0 {
            return None;
        }
        self.vals.get(i).copied()
    }

    /// A string property without its NUL (empty when absent or malformed).
    fn str(&self, prop: Prop) -> &'a [u8] {
        self.get(prop).and_then(fdt::string).unwrap_or(&[])
    }

    /// `#address-cells` and `#size-cells` for the node's children.
    fn cells(&self) -> (usize, usize) {
        self.cells.unwrap_or_else(|| self.child_cells())
    }

    /// `#address-cells` and `#size-cells` from the node's properties (the
    /// devicetree specification's defaults are 2 and 1).
    fn child_cells(&self) -> (usize, usize) {
        let num = |p, default| self.get(p).and_then(|v| cell(v, 0)).map_or(default, |c| c as usize);
        (num(Prop::AddressCells, 2), num(Prop::SizeCells, 1))
    }

    /// What the node is, from the first of its `compatible` strings the kernel knows.
    fn kind(&self) -> Kind {
        let compatible = self.get(Prop::Compatible).unwrap_or(&[]);
        // Most nodes of QEMU's `virt` tree are its 32 virtio-mmio slots: compared a
        // word at a time.
        let word = |i, w: &[u8; 4]| cell(compatible, i) == Some(u32::from_be_bytes(*w));
        if compatible.len() == 12 && word(0, b"virt") && word(1, b"io,m") && word(2, b"mio\0") {
            return Kind::VirtioMmio;
        }
        for c in compatible.split(|&b| b == 0) {
            let k = match c {
                b"arm,psci-1.0" | b"arm,psci-0.2" | b"arm,psci" => Kind::Psci,
                b"arm,pl031" => Kind::Rtc,
                b"arm,gic-v3" => Kind::GicV3,
                b"arm,gic-400" | b"arm,cortex-a15-gic" | b"arm,cortex-a7-gic" => Kind::GicV2,
                b"virtio,mmio" => Kind::VirtioMmio,
                b"arm,armv8-timer" | b"arm,armv7-timer" => Kind::Timer,
                b"arm,pl011" => Kind::Pl011,
                b"ns16550a" | b"ns16550" | b"snps,dw-apb-uart" => Kind::Ns16550,
                _ => continue,
            };
            return k;
        }
        Kind::Other
    }
}

/// Big-endian cell `i` of a property value: one load when the value is 4-aligned,
/// as values in the structure block of an aligned tree are (this target reads a
/// `u32` of unknown alignment a byte at a time).
#[inline(always)]
fn cell(v: &[u8], i: usize) -> Option<u32> {
    let at = i.checked_mul(4)?;
    let b = v.get(at..at.checked_add(4)?)?;
    if (b.as_ptr() as usize) & 3 != 0 {
        return cell_unaligned(v, i);
    }
    // SAFETY: `b` is 4 readable bytes at a 4-aligned address, and any bits are a u32.
    Some(u32::from_be(unsafe { b.as_ptr().cast::<u32>().read() }))
}

/// [`cell`] of a value that is not 4-aligned (only in a tree that is not); apart
/// so that the compiler keeps the single load of the common case.
#[cold]
#[inline(never)]
fn cell_unaligned(v: &[u8], i: usize) -> Option<u32> {
    fdt::u32_at(v, i)
}

/// A number of `n` cells (0, 1 or 2) at cell `i` of `v`.
#[inline(always)]
fn cells_at(v: &[u8], i: usize, n: usize) -> Option<u64> {
    match n {
        0 => Some(0),
        1 => cell(v, i).map(u64::from),
        2 => Some((u64::from(cell(v, i)?) << 32) | u64::from(cell(v, i.checked_add(1)?)?)),
        _ => None,
    }
}

/// The first (address, size) entry of a `reg` value under `#address-cells` `ac`
/// and `#size-cells` `sc`.
#[inline(always)]
fn first_reg(reg: &[u8], ac: usize, sc: usize) -> Option<(u64, u64)> {
    if ac == 0 || ac > 2 || sc > 2 {
        return fdt::reg_entries(reg, ac, sc).next();
    }
    Some((cells_at(reg, 0, ac)?, cells_at(reg, ac, sc)?))
}

/// The properties the kernel reads, by name; the value is the property's index in
/// [`Node::vals`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Prop {
    /// A property the kernel does not read.
    Other,
    DeviceType,
    Compatible,
    Reg,
    Status,
    EnableMethod,
    Method,
    Interrupts,
    RegShift,
    RegIoWidth,
    RedistRegions,
    AddressCells,
    SizeCells,
    Bootargs,
    InitrdStart,
    InitrdEnd,
    StdoutPath,
    /// Not looked at yet (in [`PropCache`]; never stored in a node).
    Unknown,
}

/// Slots of [`Node::vals`]: one per [`Prop`].
const NPROPS: usize = Prop::Unknown as usize + 1;

impl Prop {
    /// The property called `name`: compared only with the names that start with
    /// its first byte, in place in the strings block.
    fn of(name: fdt::Name<'_>) -> Prop {
        let candidates: &[(&[u8], Prop)] = match name.first() {
            b'd' => &[(b"device_type", Prop::DeviceType)],
            b'c' => &[(b"compatible", Prop::Compatible)],
            b'r' => &[(b"reg", Prop::Reg), (b"reg-shift", Prop::RegShift), (b"reg-io-width", Prop::RegIoWidth)],
            b's' => &[(b"status", Prop::Status), (b"stdout-path", Prop::StdoutPath)],
            b'e' => &[(b"enable-method", Prop::EnableMethod)],
            b'm' => &[(b"method", Prop::Method)],
            b'i' => &[(b"interrupts", Prop::Interrupts)],
            b'#' => &[
                (b"#address-cells", Prop::AddressCells),
                (b"#size-cells", Prop::SizeCells),
                (b"#redistributor-regions", Prop::RedistRegions),
            ],
            b'b' => &[(b"bootargs", Prop::Bootargs)],
            b'l' => &[(b"linux,initrd-start", Prop::InitrdStart), (b"linux,initrd-end", Prop::InitrdEnd)],
            _ => &[],
        };
        candidates.iter().find(|(n, _)| name.is(n)).map_or(Prop::Other, |&(_, p)| p)
    }
}

/// Names of the strings block below this offset are classified once (QEMU's
/// `virt` tree has about 500 bytes of names for some 280 properties).
const PROP_CACHE: usize = 1024;

/// What each property name means, by its offset in the strings block.
struct PropCache([Prop; PROP_CACHE]);

impl PropCache {
    fn get(&mut self, name: fdt::Name<'_>) -> Prop {
        let Some(slot) = self.0.get_mut(name.offset()) else { return Prop::of(name) };
        if *slot == Prop::Unknown {
            *slot = Prop::of(name);
        }
        *slot
    }
}

/// The kinds of device nodes the kernel uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Psci,
    Rtc,
    GicV3,
    /// GICv2 distributors with a memory-mapped CPU interface.
    GicV2,
    VirtioMmio,
    Timer,
    Pl011,
    Ns16550,
    Other,
}

/// Longest node path kept for matching `/chosen/stdout-path`.
const MAX_PATH: usize = 96;
/// UART nodes remembered until `/chosen` has been read.
const MAX_UARTS: usize = 4;

/// A UART node seen in the tree.
#[derive(Clone, Copy)]
struct Uart {
    path: [u8; MAX_PATH],
    path_len: usize,
    pa: u64,
    size: u64,
    pl011: bool,
    shift: u8,
    width4: bool,
}

/// Up to this many memory ranges (from `device_type = "memory"` nodes) are used.
const MAX_RAM: usize = 16;

/// What one pass over the device tree found (besides what went straight to the
/// other modules: CPUs, interrupt controller, PSCI, RTC, virtio-mmio devices).
struct Found<'a> {
    reserved: [(u64, u64); MAX_RESERVED],
    nres: usize,
    ram: [(u64, u64); MAX_RAM],
    nram: usize,
    uarts: [Option<Uart>; MAX_UARTS],
    chosen: Node<'a>,
    cpus: u64,
}

impl Found<'_> {
    fn reserve(&mut self, s: u64, size: u64) {
        if let Some(slot) = self.reserved.get_mut(self.nres) {
            *slot = (s & !0xfff, s.saturating_add(size).next_multiple_of(0x1000));
            self.nres += 1;
        }
    }
}

/// Handles node `n` (at `depth`, under `parent`) once all its properties are known.
#[inline(never)]
fn visit<'a>(found: &mut Found<'a>, stack: &[Node<'a>], depth: usize) {
    let (Some(n), Some(parent)) = (stack.get(depth), depth.checked_sub(1).and_then(|d| stack.get(d))) else {
        return;
    };
    let reg = n.get(Prop::Reg).unwrap_or(&[]);
    if depth == 1 && n.name == b"chosen" {
        found.chosen = *n;
        return;
    }
    if depth == 2 && parent.name == b"reserved-memory" {
        let (ac, sc) = parent.cells();
        for (a, size) in fdt::reg_entries(reg, ac, sc) {
            found.reserve(a, size);
        }
        return;
    }
    if depth == 2 && parent.name == b"cpus" && n.name.split(|&b| b == b'@').next() == Some(b"cpu") {
        found.cpus += 1;
    }
    let device_type = n.str(Prop::DeviceType);
    let (ac, sc) = parent.cells();
    if device_type == b"memory" {
        for (a, size) in fdt::reg_entries(reg, ac, sc) {
            if let Some(slot) = found.ram.get_mut(found.nram) {
                *slot = (a, a.saturating_add(size));
                found.nram += 1;
            }
        }
        return;
    }
    if device_type == b"cpu" {
        // `reg` is the MPIDR affinity; the CPU must be started through PSCI (the
        // only enable method supported) and not be disabled.
        let psci = n.str(Prop::EnableMethod) == b"psci";
        let usable = n.get(Prop::Status).is_none_or(|s| matches!(fdt::string(s), Some(b"okay" | b"ok")));
        if let Some((mpidr, _)) = first_reg(reg, ac, sc) {
            super::smp::record_cpu(mpidr, psci && usable);
        }
        return;
    }
    if n.get(Prop::Compatible).is_some() {
        device(found, stack, n, depth, (ac, sc));
    }
}

/// Handles device node `n` (one with a `compatible` property) at `depth`, whose
/// parent's `#address-cells` and `#size-cells` are `(ac, sc)`.
fn device<'a>(found: &mut Found<'a>, stack: &[Node<'a>], n: &Node<'a>, depth: usize, (ac, sc): (usize, usize)) {
    let reg = n.get(Prop::Reg).unwrap_or(&[]);
    let first_reg = || first_reg(reg, ac, sc);
    let interrupts = n.get(Prop::Interrupts).unwrap_or(&[]);
    let be32 = |i| cell(interrupts, i);
    let kind = n.kind();
    if kind == Kind::Psci {
        match n.str(Prop::Method) {
            b"hvc" => super::set_psci(Conduit::Hvc),
            b"smc" => super::set_psci(Conduit::Smc),
            _ => {}
        }
    } else if kind == Kind::Rtc {
        if let Some((pa, _)) = first_reg() {
            super::clock::set_rtc(pa);
        }
    } else if kind == Kind::GicV3 {
        // reg = distributor, then #redistributor-regions regions (then the
        // GICv2-compatible interfaces, unused).
        let nr = n.get(Prop::RedistRegions).and_then(|v| cell(v, 0)).unwrap_or(1) as usize;
        let mut regs = fdt::reg_entries(reg, ac, sc);
        if let Some((d, _)) = regs.next() {
            let mut redist = [(0u64, 0u64); super::gic::MAX_RD_REGIONS];
            for (slot, r) in redist.iter_mut().zip(regs.take(nr)) {
                *slot = r;
            }
            super::gic::set_gicv3(d, &redist);
        }
    } else if kind == Kind::GicV2 {
        // reg = distributor, CPU interface (then the virtualisation parts).
        let mut regs = fdt::reg_entries(reg, ac, sc);
        if let (Some((d, _)), Some((c, _))) = (regs.next(), regs.next()) {
            super::gic::set_gicv2(d, c);
        }
    } else if kind == Kind::VirtioMmio {
        // interrupts = <type num flags>: type 0 is an SPI (INTID 32 + num); flags
        // bits 0-1 say edge-triggered.
        if let Some((pa, size)) = first_reg() {
            let irq = match (be32(0), be32(1)) {
                (Some(0), Some(num)) if num < 988 => {
                    Some(crate::virtio::Irq { num: 32 + num, edge: be32(2).is_some_and(|f| f & 3 != 0) })
                }
                _ => None,
            };
            super::devices::record_mmio(pa, size, irq);
        }
    } else if kind == Kind::Timer {
        // interrupts = <type num flags> x (secure phys, phys, virt, hyp); PPI n is INTID 16 + n.
        if let (Some(1), Some(num)) = (be32(6), be32(7)) {
            super::gic::set_vtimer_intid(16 + num);
        }
    } else if kind == Kind::Pl011 || kind == Kind::Ns16550 {
        let Some(slot) = found.uarts.iter_mut().find(|u| u.is_none()) else { return };
        let Some((pa, size)) = first_reg() else { return };
        let mut path = [0u8; MAX_PATH];
        let mut len = 0;
        for seg in stack.iter().take(depth + 1).skip(1) {
            for &b in core::iter::once(&b'/').chain(seg.name) {
                if let Some(p) = path.get_mut(len) {
                    *p = b;
                }
                len += 1;
            }
        }
        let num = |p| n.get(p).and_then(|v| cell(v, 0));
        *slot = Some(Uart {
            path,
            path_len: len,
            pa,
            size,
            pl011: kind == Kind::Pl011,
            shift: num(Prop::RegShift).unwrap_or(0).min(4) as u8,
            width4: num(Prop::RegIoWidth) == Some(4),
        });
    }
}

/// Configures the console UART: `/chosen/stdout-path`, else the first PL011, else
/// the first 16550.
fn setup_console(found: &Found<'_>) {
    let stdout = found.chosen.get(Prop::StdoutPath).and_then(fdt::string).and_then(|s| s.split(|&b| b == b':').next());
    let uarts = || found.uarts.iter().flatten();
    let chosen = stdout.and_then(|p| uarts().find(|u| u.path.get(..u.path_len) == Some(p)));
    let Some(u) = chosen.or_else(|| uarts().find(|u| u.pl011)).or_else(|| uarts().next()) else { return };
    let Some(va) = elfin_arch::arm64::map_device(u.pa, u.size.max(0x1000)) else { return };
    if u.pl011 {
        super::uart::configure(UartKind::Pl011, va, 0, true);
    } else {
        super::uart::configure(UartKind::Ns16550, va, u.shift, u.width4);
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

/// Levels of nodes whose properties are kept (the walk accepts deeper trees; the
/// kernel reads nothing below the fourth level, and real trees nest 4 or 5 deep).
const KEPT_DEPTH: usize = 8;

/// Largest device tree accepted: the boot page tables map the 2 MiB after its start.
const MAX_DTB: usize = 2 << 20;

/// Rust side of the entry: decodes the device tree into a [`BootInfo`], in one
/// pass that keeps only the properties the kernel uses.
extern "C" fn boot_main(dtb_pa: u64, t0: u64, load_pa: u64) -> ! {
    elfin_arch::arm64::init_early(load_pa);
    FIRST_CYCLES.store(t0, Ordering::Relaxed);
    let dtb_va = elfin_arch::phys_to_virt(dtb_pa) as *const u8;
    // SAFETY: the boot page tables map the GiB holding the device tree and the 2 MiB
    // after its start at PHYS_OFFSET; the loader put it in RAM.
    let header = unsafe { core::slice::from_raw_parts(dtb_va, fdt::HEADER_SIZE) };
    let size = match fdt::total_size(header) {
        Ok(n) if (fdt::HEADER_SIZE..=MAX_DTB).contains(&n) => n,
        // No device tree: no console to report on and no known way to power off.
        _ => elfin_arch::halt_forever(),
    };
    // SAFETY: as above; `size` is at most the 2 MiB mapped.
    let bytes = unsafe { core::slice::from_raw_parts(dtb_va, size) };
    let mut found = Found {
        reserved: [(0, 0); MAX_RESERVED],
        nres: 0,
        ram: [(0, 0); MAX_RAM],
        nram: 0,
        uarts: [None; MAX_UARTS],
        chosen: Node::EMPTY,
        cpus: 0,
    };
    // SAFETY: any four bytes are a valid u32; align_to puts only whole, aligned
    // words in the middle part.
    let (head, words, _) = unsafe { bytes.align_to::<u32>() };
    let walked = fdt::Fdt::new(bytes).and_then(|tree| {
        // Token reads a word at a time (this target reads unaligned-typed bytes
        // one by one) when the tree starts on a word, as loaders place it.
        let tree = if head.is_empty() { tree.with_words(words) } else { tree };
        for (a, s) in tree.reservations().take(MAX_RESERVED) {
            found.reserve(a, s);
        }
        let mut stack = [Node::EMPTY; KEPT_DEPTH];
        let mut props = PropCache([Prop::Unknown; PROP_CACHE]);
        tree.walk(|e| match e {
            fdt::Event::Begin { depth, name } => {
                if let Some(parent) = depth.checked_sub(1).and_then(|d| stack.get_mut(d)) {
                    if parent.cells.is_none() {
                        parent.cells = Some(parent.child_cells());
                    }
                }
                if let Some(slot) = stack.get_mut(depth) {
                    slot.open(name);
                }
            }
            fdt::Event::Prop { depth, name, value } => {
                if let Some(n) = stack.get_mut(depth) {
                    n.set(props.get(name), value);
                }
            }
            fdt::Event::End { depth } => visit(&mut found, &stack, depth),
        })
    });
    setup_console(&found);
    if let Err(e) = walked {
        let mut msg = Msg::default();
        let _ = core::fmt::write(&mut msg, format_args!("elfin: malformed device tree at {dtb_pa:#x}: {e}"));
        crate::console::early_panic(msg.as_str());
    }

    let mut info = BootInfo::empty();
    let reserved = found.reserved.get(..found.nres).unwrap_or(&[]);
    for &(start, end) in found.ram.get(..found.nram).unwrap_or(&[]) {
        push_usable(&mut info, start, end, reserved);
        elfin_arch::arm64::boot_map_ram(start, end);
    }
    let chosen = found.chosen;
    if let Some(v) = chosen.get(Prop::Bootargs) {
        if v.last() == Some(&0) {
            info.cmdline_paddr = (v.as_ptr() as u64).wrapping_sub(PHYS_OFFSET);
        }
    }
    if let (Some(s), Some(e)) =
        (chosen.get(Prop::InitrdStart).and_then(fdt::number), chosen.get(Prop::InitrdEnd).and_then(fdt::number))
    {
        if e > s {
            info.initrd = Some(Module { paddr: s, size: e - s });
        }
    }
    CPUS.store(found.cpus.max(1), Ordering::Relaxed);
    crate::enter_kernel(&info)
}

/// A short message built without the heap (there is none yet).
struct Msg {
    buf: [u8; 160],
    len: usize,
}

impl Default for Msg {
    fn default() -> Self {
        Msg { buf: [0; 160], len: 0 }
    }
}

impl Msg {
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("elfin: malformed device tree")
    }
}

impl core::fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}
