//! The interrupt controller, from the device tree: a GICv3 (distributor, one
//! redistributor per CPU, system-register CPU interface) or a GICv2 (distributor,
//! memory-mapped CPU interface; QEMU `virt` with `gic-version=2`, GIC-400 hosts).
//!
//! The distributor is mapped and enabled once. Each CPU sets up its own part
//! before it takes interrupts ([`cpu_init`]): the timer's PPI and the SGI that
//! wakes it ([`RESCHED_SGI`]), and its CPU interface. Device interrupts (SPIs) go
//! to the boot CPU.
use core::arch::asm;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use super::MAX_CPUS;

/// The software-generated interrupt that makes a CPU look at its run queue.
pub(crate) const RESCHED_SGI: u32 = 1;
/// Most GICv3 redistributor regions used (`#redistributor-regions`).
pub(crate) const MAX_RD_REGIONS: usize = 4;
/// A GICv2 CPU interface addresses at most 8 CPUs (GICD_ITARGETSR, GICD_SGIR).
pub(crate) const GICV2_MAX_CPUS: usize = 8;

const NONE: u8 = 0;
const V2: u8 = 2;
const V3: u8 = 3;
/// Priority of every interrupt the kernel enables (unmasked by PMR 0xf0).
const PRIORITY: u32 = 0x80;

/// Which GIC the device tree describes.
static VERSION: AtomicU8 = AtomicU8::new(NONE);
/// Distributor and (GICv2) CPU interface, physical.
static GICD_PA: AtomicU64 = AtomicU64::new(0);
static GICC_PA: AtomicU64 = AtomicU64::new(0);
/// GICv3 redistributor regions, physical start and size (size 0 = unused slot).
static RD_START: [AtomicU64; MAX_RD_REGIONS] = [const { AtomicU64::new(0) }; MAX_RD_REGIONS];
static RD_SIZE: [AtomicU64; MAX_RD_REGIONS] = [const { AtomicU64::new(0) }; MAX_RD_REGIONS];
/// INTID of the virtual timer (PPI 11 unless the device tree says otherwise).
static VTIMER_INTID: AtomicU32 = AtomicU32::new(27);
/// INTID of the device interrupt routed by [`enable_spi`] (0 = none).
static DEVICE_INTID: AtomicU32 = AtomicU32::new(0);
/// INTID of the network device's interrupt (0 = none).
static NET_INTID: AtomicU32 = AtomicU32::new(0);

/// Per CPU: 0 = not set up yet, 1 = takes interrupts, 2 = cannot.
static CPU_STATE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
/// GICv2: each CPU's bit in GICD_ITARGETSR / GICD_SGIR (0 = unknown).
static V2_TARGET: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
/// GICv2: the last GICC_IAR value read by each CPU (an SGI's carries its sender,
/// which GICC_EOIR wants back).
static V2_IAR: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

pub(crate) fn set_gicv3(dist: u64, redist: &[(u64, u64)]) {
    GICD_PA.store(dist, Ordering::Relaxed);
    for ((start, size), &(s, n)) in RD_START.iter().zip(RD_SIZE.iter()).zip(redist) {
        start.store(s, Ordering::Relaxed);
        size.store(n, Ordering::Relaxed);
    }
    VERSION.store(V3, Ordering::Relaxed);
}

pub(crate) fn set_gicv2(dist: u64, cpu_interface: u64) {
    GICD_PA.store(dist, Ordering::Relaxed);
    GICC_PA.store(cpu_interface, Ordering::Relaxed);
    VERSION.store(V2, Ordering::Relaxed);
}

pub(crate) fn set_vtimer_intid(intid: u32) {
    VTIMER_INTID.store(intid, Ordering::Relaxed);
}

pub(crate) fn vtimer_intid() -> u32 {
    VTIMER_INTID.load(Ordering::Relaxed)
}

pub(crate) fn device_intid() -> u32 {
    DEVICE_INTID.load(Ordering::Relaxed)
}

/// INTID of the network device's interrupt (0 = none).
pub(crate) fn net_intid() -> u32 {
    NET_INTID.load(Ordering::Relaxed)
}

/// True when the device tree describes a GIC the kernel drives.
pub(crate) fn present() -> bool {
    VERSION.load(Ordering::Relaxed) != NONE && GICD_PA.load(Ordering::Relaxed) != 0
}

/// Most CPUs the GIC can interrupt individually.
pub(crate) fn max_cpus() -> usize {
    match VERSION.load(Ordering::Relaxed) {
        V2 => GICV2_MAX_CPUS,
        _ => MAX_CPUS,
    }
}

fn rd(va: u64) -> u32 {
    // SAFETY: `va` is a GIC register in the device window.
    unsafe { core::ptr::read_volatile(va as *const u32) }
}

fn wr(va: u64, v: u32) {
    // SAFETY: as in `rd`.
    unsafe { core::ptr::write_volatile(va as *mut u32, v) }
}

/// Sets the bits `bits` of the register at `va` (read-modify-write).
fn set_bits(va: u64, bits: u32) {
    wr(va, rd(va) | bits);
}

/// Writes the 8-bit field of interrupt `intid` in a byte-per-interrupt register
/// array at `base` (priorities, GICv2 targets), with word accesses.
fn set_byte(base: u64, intid: u32, v: u8) {
    let reg = base + u64::from(intid & !3);
    let shift = (intid % 4) * 8;
    wr(reg, (rd(reg) & !(0xff << shift)) | (u32::from(v) << shift));
}

fn spin_while(mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if !cond() {
            return;
        }
        core::hint::spin_loop();
    }
}

fn cpu_index() -> usize {
    elfin_arch::cpu_id().min(MAX_CPUS - 1)
}

/// MPIDR_EL1 of the calling CPU, affinity fields only.
pub(crate) fn my_mpidr() -> u64 {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    mpidr & 0xff_00ff_ffff
}

/// The mapped distributor and (GICv2) CPU interface.
struct Mapped {
    gicd: u64,
    gicc: u64,
}

static MAPPED: spin::Once<Option<Mapped>> = spin::Once::new();

/// Maps the GIC and enables its distributor, once; None without a GIC.
fn mapped() -> Option<&'static Mapped> {
    MAPPED
        .call_once(|| {
            let dpa = GICD_PA.load(Ordering::Relaxed);
            match VERSION.load(Ordering::Relaxed) {
                V3 if dpa != 0 => {
                    let gicd = elfin_arch::arm64::map_device(dpa, 0x1_0000)?;
                    // Affinity routing, groups 0 and 1.
                    set_bits(gicd, (1 << 4) | 0b11);
                    spin_while(|| rd(gicd) & (1 << 31) != 0);
                    Some(Mapped { gicd, gicc: 0 })
                }
                V2 if dpa != 0 => {
                    let gicd = elfin_arch::arm64::map_device(dpa, 0x1000)?;
                    let gicc = elfin_arch::arm64::map_device(GICC_PA.load(Ordering::Relaxed), 0x2000)?;
                    // Forwarding on (bit 0: group 0 without the security extensions,
                    // group 1 seen from the non-secure side; the kernel leaves every
                    // interrupt in its reset group).
                    wr(gicd, 1);
                    Some(Mapped { gicd, gicc })
                }
                _ => None,
            }
        })
        .as_ref()
}

/// Sets up the calling CPU's part of the GIC, once: the timer's PPI and
/// [`RESCHED_SGI`] enabled, the CPU interface on. True when the CPU takes
/// interrupts.
pub(crate) fn cpu_init() -> bool {
    let cpu = cpu_index();
    let state = &CPU_STATE[cpu];
    match state.load(Ordering::Acquire) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    let ok = match VERSION.load(Ordering::Relaxed) {
        V3 => v3_cpu_init(),
        V2 => v2_cpu_init(cpu),
        _ => false,
    };
    state.store(if ok { 1 } else { 2 }, Ordering::Release);
    ok
}

/// The per-CPU interrupts the kernel uses: its SGI and the timer's PPI.
fn private_bits() -> u32 {
    let timer = vtimer_intid();
    let timer_bit = if timer < 32 { 1 << timer } else { 0 };
    (1 << RESCHED_SGI) | timer_bit
}

fn private_intids() -> impl Iterator<Item = u32> {
    let bits = private_bits();
    (0..32).filter(move |i| bits & (1 << i) != 0)
}

/// Finds the calling CPU's redistributor (the frame whose GICR_TYPER affinity
/// is its MPIDR's) and maps the first page of its RD and SGI frames.
fn find_redistributor() -> Option<(u64, u64)> {
    let me = my_mpidr();
    let aff = (((me >> 32) & 0xff) << 24) | (me & 0xff_ffff);
    for (start, size) in RD_START.iter().zip(RD_SIZE.iter()) {
        let (start, size) = (start.load(Ordering::Relaxed), size.load(Ordering::Relaxed));
        if start == 0 {
            continue;
        }
        let mut off = 0;
        // A frame pair is 128 KiB (256 KiB with the GICv4 virtual-LPI frames).
        while size == 0 || off + 0x2_0000 <= size {
            let rd_va = elfin_arch::arm64::map_device(start + off, 0x1000)?;
            // SAFETY: GICR_TYPER is a 64-bit read-only register of the mapped frame.
            let typer = unsafe { core::ptr::read_volatile((rd_va + 8) as *const u64) };
            if typer >> 32 == aff {
                let sgi_va = elfin_arch::arm64::map_device(start + off + 0x1_0000, 0x1000)?;
                return Some((rd_va, sgi_va));
            }
            if typer & (1 << 4) != 0 {
                break; // Last
            }
            off += if typer & (1 << 1) != 0 { 0x4_0000 } else { 0x2_0000 };
        }
    }
    None
}

fn v3_cpu_init() -> bool {
    if mapped().is_none() {
        return false;
    }
    let Some((rd_base, sgi)) = find_redistributor() else { return false };
    // Wake the redistributor up.
    let waker = rd_base + 0x14;
    wr(waker, rd(waker) & !(1 << 1));
    spin_while(|| rd(waker) & (1 << 2) != 0);
    // SGI/PPI frame: group 1, mid priority, enabled.
    let bits = private_bits();
    set_bits(sgi + 0x80, bits);
    for intid in private_intids() {
        set_byte(sgi + 0x400, intid, PRIORITY as u8);
    }
    wr(sgi + 0x100, bits);
    // CPU interface through system registers.
    // SAFETY: ICC_SRE_EL1.SRE enables the system-register interface of a GICv3 (at
    // EL2 the boot code allowed it); the rest unmask priorities, make EOI also
    // deactivate (EOImode 0) and enable group 1.
    unsafe {
        asm!(
            "mrs {t}, icc_sre_el1",
            "orr {t}, {t}, #1",
            "msr icc_sre_el1, {t}",
            "isb",
            "msr icc_pmr_el1, {pmr}",
            "msr icc_bpr1_el1, xzr",
            "msr icc_ctlr_el1, xzr",
            "msr icc_igrpen1_el1, {one}",
            "isb",
            t = out(reg) _,
            pmr = in(reg) 0xf0u64,
            one = in(reg) 1u64,
            options(nostack)
        );
    }
    elfin_arch::arm64::use_gicv3_cpu_interface();
    true
}

fn v2_cpu_init(cpu: usize) -> bool {
    let Some(m) = mapped() else { return false };
    // GICD_ITARGETSR0..7 read as the reading CPU's own bit in every byte.
    let mut mask = 0;
    for i in 0..8 {
        let v = rd(m.gicd + 0x800 + i * 4);
        mask |= v | (v >> 8) | (v >> 16) | (v >> 24);
    }
    let mask = (mask & 0xff) as u8;
    if mask == 0 && cpu != 0 {
        // A uniprocessor GIC (the registers read as zero): no way to reach this CPU.
        return false;
    }
    V2_TARGET[cpu].store(mask, Ordering::Relaxed);
    // Banked per CPU: the SGI and the timer's PPI, mid priority, enabled.
    for intid in private_intids() {
        set_byte(m.gicd + 0x400, intid, PRIORITY as u8);
    }
    wr(m.gicd + 0x100, private_bits());
    // CPU interface: priority mask, then on.
    wr(m.gicc + 0x04, 0xf0);
    wr(m.gicc, 1);
    elfin_arch::arm64::use_irq_acknowledge(v2_acknowledge);
    true
}

/// Reads GICC_IAR (the trap code's acknowledge routine with a GICv2).
fn v2_acknowledge() -> u8 {
    let Some(m) = mapped() else { return 255 };
    let iar = rd(m.gicc + 0x0c);
    let intid = iar & 0x3ff;
    if intid >= 1020 {
        return 255; // spurious: nothing to end
    }
    if intid >= 255 {
        // Interrupts reach the kernel as 8-bit vectors; the kernel routes none of these.
        wr(m.gicc + 0x10, iar);
        return 255;
    }
    V2_IAR[cpu_index()].store(iar, Ordering::Relaxed);
    intid as u8
}

/// Ends the interrupt `intid` that the trap code acknowledged on this CPU.
pub(crate) fn end_of_interrupt(intid: u32) {
    match VERSION.load(Ordering::Relaxed) {
        V3 => {
            // SAFETY: end of interrupt for the INTID acknowledged by the trap code.
            unsafe { asm!("msr icc_eoir1_el1, {}", "isb", in(reg) u64::from(intid), options(nostack)) };
        }
        V2 => {
            if let Some(m) = mapped() {
                wr(m.gicc + 0x10, V2_IAR[cpu_index()].load(Ordering::Relaxed));
            }
        }
        _ => {}
    }
}

/// Sends [`RESCHED_SGI`] to CPU `cpu`, whose MPIDR affinity is `mpidr`.
pub(crate) fn send_resched(cpu: usize, mpidr: u64) {
    // The wake-up's reason (a queued thread) must be visible before the interrupt.
    // SAFETY: a barrier only orders memory accesses.
    unsafe { asm!("dsb ishst", options(nostack)) };
    match VERSION.load(Ordering::Relaxed) {
        V3 => {
            // ICC_SGI1R_EL1: Aff3, Aff2, Aff1, range selector and target list (Aff0
            // = 16 × RS + bit), INTID.
            let aff0 = mpidr & 0xff;
            let v = (((mpidr >> 32) & 0xff) << 48)
                | (((mpidr >> 16) & 0xff) << 32)
                | ((aff0 >> 4) << 44)
                | (u64::from(RESCHED_SGI) << 24)
                | (((mpidr >> 8) & 0xff) << 16)
                | (1 << (aff0 & 15));
            // SAFETY: generating an SGI only interrupts the target CPU.
            unsafe { asm!("msr icc_sgi1r_el1, {}", "isb", in(reg) v, options(nostack)) };
        }
        V2 => {
            let target = V2_TARGET.get(cpu).map_or(0, |t| t.load(Ordering::Relaxed));
            if let (Some(m), true) = (mapped(), target != 0) {
                // GICD_SGIR: the target list, then the SGI.
                wr(m.gicd + 0xf00, (u32::from(target) << 16) | RESCHED_SGI);
            }
        }
        _ => {}
    }
}

/// Routes the shared peripheral interrupt `intid` to the calling CPU and enables
/// it (and that CPU's interrupts); false when there is no GIC or `intid` is no SPI.
pub(crate) fn enable_spi(intid: u32, edge: bool, owner: crate::virtio::IrqOwner) -> bool {
    if !(32..1020).contains(&intid) || intid > u32::from(u8::MAX) {
        // Interrupts reach the kernel as 8-bit vectors.
        return false;
    }
    let Some(m) = mapped() else { return false };
    if !cpu_init() {
        return false;
    }
    let gicd = m.gicd;
    let word = u64::from(intid / 32) * 4;
    let bit = 1u32 << (intid % 32);
    if VERSION.load(Ordering::Relaxed) == V3 {
        set_bits(gicd + 0x80 + word, bit);
    }
    set_byte(gicd + 0x400, intid, PRIORITY as u8);
    let cfg = gicd + 0xc00 + u64::from(intid / 16) * 4;
    let cshift = (intid % 16) * 2 + 1;
    let edge_bit = u32::from(edge) << cshift;
    wr(cfg, (rd(cfg) & !(1 << cshift)) | edge_bit);
    if VERSION.load(Ordering::Relaxed) == V3 {
        let router = gicd + 0x6000 + u64::from(intid) * 8;
        let affinity = my_mpidr();
        wr(router, affinity as u32);
        wr(router + 4, (affinity >> 32) as u32);
    } else {
        let target = V2_TARGET[cpu_index()].load(Ordering::Relaxed).max(1);
        set_byte(gicd + 0x800, intid, target);
    }
    match owner {
        crate::virtio::IrqOwner::Console => DEVICE_INTID.store(intid, Ordering::Relaxed),
        crate::virtio::IrqOwner::Net => NET_INTID.store(intid, Ordering::Relaxed),
    }
    wr(gicd + 0x100 + word, bit);
    true
}
