//! The periodic tick: the EL1 virtual timer (CNTV) through a GICv3 (distributor,
//! the boot CPU's redistributor, system-register CPU interface). Without a GICv3
//! the tick is replaced by the generic timer's event stream, which wakes idle waits
//! (sleeps and input work; user code is then not preempted).
use core::arch::asm;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// GICv3 distributor and redistributor (physical, from the device tree; 0 = none).
static GICD_PA: AtomicU64 = AtomicU64::new(0);
static GICR_PA: AtomicU64 = AtomicU64::new(0);
/// INTID of the virtual timer (PPI 11 unless the device tree says otherwise).
static VTIMER_INTID: AtomicU32 = AtomicU32::new(27);
/// Counter ticks per tick period (0 = tick not running).
static PERIOD: AtomicU64 = AtomicU64::new(0);

pub(crate) fn set_gicv3(dist: u64, redist: u64) {
    GICD_PA.store(dist, Ordering::Relaxed);
    GICR_PA.store(redist, Ordering::Relaxed);
}

pub(crate) fn set_vtimer_intid(intid: u32) {
    VTIMER_INTID.store(intid, Ordering::Relaxed);
}

fn rd(va: u64) -> u32 {
    // SAFETY: `va` is a GIC register in the device window.
    unsafe { core::ptr::read_volatile(va as *const u32) }
}

fn wr(va: u64, v: u32) {
    // SAFETY: as in `rd`.
    unsafe { core::ptr::write_volatile(va as *mut u32, v) }
}

fn spin_while(mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if !cond() {
            return;
        }
        core::hint::spin_loop();
    }
}

/// The distributor and the boot CPU's redistributor, mapped and enabled once.
static GIC_VA: spin::Once<Option<(u64, u64)>> = spin::Once::new();
/// INTID of the console's interrupt routed by [`enable_spi`] (0 = none).
static DEVICE_INTID: AtomicU32 = AtomicU32::new(0);
/// INTID of the network device's interrupt (0 = none).
static NET_INTID: AtomicU32 = AtomicU32::new(0);

/// Maps the GICv3 and enables its distributor (affinity routing, groups 0 and 1)
/// and the boot CPU's redistributor; None when the machine has no GICv3.
fn gic() -> Option<(u64, u64)> {
    *GIC_VA.call_once(|| {
        let (dpa, rpa) = (GICD_PA.load(Ordering::Relaxed), GICR_PA.load(Ordering::Relaxed));
        if dpa == 0 || rpa == 0 {
            return None;
        }
        let gicd = elfin_arch::arm64::map_device(dpa, 0x1_0000)?;
        let gicr = elfin_arch::arm64::map_device(rpa, 0x2_0000)?;
        let ctlr = rd(gicd);
        wr(gicd, ctlr | (1 << 4) | 0b11);
        spin_while(|| rd(gicd) & (1 << 31) != 0);
        // Redistributor of the boot CPU: wake it up.
        let waker = gicr + 0x14;
        wr(waker, rd(waker) & !(1 << 1));
        spin_while(|| rd(waker) & (1 << 2) != 0);
        Some((gicd, gicr))
    })
}

/// Routes the shared peripheral interrupt `intid` to the boot CPU in group 1;
/// false when there is no GICv3 or `intid` is no SPI.
pub(crate) fn enable_spi(intid: u32, edge: bool, owner: crate::virtio::IrqOwner) -> bool {
    if !(32..1020).contains(&intid) || intid > u32::from(u8::MAX) {
        // Interrupts reach the kernel as 8-bit vectors.
        return false;
    }
    let Some((gicd, _)) = gic() else { return false };
    let word = u64::from(intid / 32) * 4;
    let bit = 1u32 << (intid % 32);
    wr(gicd + 0x80 + word, rd(gicd + 0x80 + word) | bit);
    let prio = gicd + 0x400 + u64::from(intid & !3);
    let shift = (intid % 4) * 8;
    wr(prio, (rd(prio) & !(0xff << shift)) | (0x80 << shift));
    let cfg = gicd + 0xc00 + u64::from(intid / 16) * 4;
    let cshift = (intid % 16) * 2 + 1;
    let edge_bit = u32::from(edge) << cshift;
    wr(cfg, (rd(cfg) & !(1 << cshift)) | edge_bit);
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    let router = gicd + 0x6000 + u64::from(intid) * 8;
    let affinity = mpidr & 0xff_00ff_ffff;
    wr(router, affinity as u32);
    wr(router + 4, (affinity >> 32) as u32);
    match owner {
        crate::virtio::IrqOwner::Console => DEVICE_INTID.store(intid, Ordering::Relaxed),
        crate::virtio::IrqOwner::Net => NET_INTID.store(intid, Ordering::Relaxed),
    }
    wr(gicd + 0x100 + word, bit);
    true
}

/// Brings up the GICv3 for the virtual timer's PPI; false when there is none.
fn gicv3_init(intid: u32) -> bool {
    let Some((_, gicr)) = gic() else { return false };
    // SGI/PPI frame: the timer PPI in group 1, mid priority, enabled.
    let sgi = gicr + 0x1_0000;
    let bit = 1u32 << (intid % 32);
    wr(sgi + 0x80, rd(sgi + 0x80) | bit);
    let prio = sgi + 0x400 + u64::from(intid & !3);
    let shift = (intid % 4) * 8;
    wr(prio, (rd(prio) & !(0xff << shift)) | (0x80 << shift));
    wr(sgi + 0x100, bit);
    // CPU interface through system registers.
    // SAFETY: ICC_SRE_EL1.SRE enables the system-register interface of a GICv3 (at
    // EL2 the boot code allowed it); the rest unmask priorities and group 1.
    unsafe {
        asm!(
            "mrs {t}, icc_sre_el1",
            "orr {t}, {t}, #1",
            "msr icc_sre_el1, {t}",
            "isb",
            "msr icc_pmr_el1, {pmr}",
            "msr icc_bpr1_el1, xzr",
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

fn arm_timer() {
    let period = PERIOD.load(Ordering::Relaxed);
    // SAFETY: programming the EL1 virtual timer only schedules its interrupt.
    unsafe {
        asm!("msr cntv_tval_el0, {}", "msr cntv_ctl_el0, {}", "isb", in(reg) period, in(reg) 1u64, options(nostack))
    };
}

/// Starts the periodic tick at `hz`; `cycles_hz` is the counter frequency the
/// kernel uses (CNTFRQ_EL0 on aarch64, like the timer itself).
pub fn start_tick(hz: u32, cycles_hz: u64) {
    let freq = match elfin_arch::arm64::counter_frequency() {
        0 => cycles_hz.max(1),
        f => f,
    };
    let intid = VTIMER_INTID.load(Ordering::Relaxed);
    if intid < 32 && gicv3_init(intid) {
        PERIOD.store((freq / u64::from(hz.max(1))).max(1), Ordering::Relaxed);
        arm_timer();
    } else {
        // Event every 2^(n+1) counter ticks, n chosen for about 1/hz seconds.
        let want = (freq / u64::from(hz.max(1))).max(2);
        let n = 63 - want.leading_zeros();
        elfin_arch::arm64::use_event_stream(n.saturating_sub(1));
    }
}

/// Stops this CPU's tick (an idle CPU then sleeps until an interrupt).
pub fn stop_tick() {
    // SAFETY: disabling the EL1 virtual timer only cancels its interrupt.
    unsafe { asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64, options(nostack)) };
}

/// Acknowledges an interrupt; true when it was the tick.
pub fn ack_irq(vector: u8) -> bool {
    if vector == 255 {
        return false;
    }
    let tick = u32::from(vector) == VTIMER_INTID.load(Ordering::Relaxed);
    if tick {
        arm_timer();
    } else if u32::from(vector) == DEVICE_INTID.load(Ordering::Relaxed) {
        crate::virtio::ack_interrupt();
    } else if u32::from(vector) == NET_INTID.load(Ordering::Relaxed) {
        crate::virtio::net::ack_interrupt();
    }
    // SAFETY: end of interrupt for the INTID acknowledged by the trap code.
    unsafe { asm!("msr icc_eoir1_el1, {}", "isb", in(reg) u64::from(vector), options(nostack)) };
    tick
}
