//! The periodic tick: each CPU's EL1 virtual timer (CNTV) through the GIC (v3 or
//! v2, see `gic.rs`). Without a GIC the tick is replaced by the generic timer's
//! event stream, which wakes idle waits (sleeps and input work; user code is then
//! not preempted, and only the boot CPU runs).
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use super::gic;

/// Counter ticks per tick period (the same on every CPU).
static PERIOD: AtomicU64 = AtomicU64::new(0);

fn arm_timer() {
    let period = PERIOD.load(Ordering::Relaxed);
    // SAFETY: programming the EL1 virtual timer only schedules its interrupt.
    unsafe {
        asm!("msr cntv_tval_el0, {}", "msr cntv_ctl_el0, {}", "isb", in(reg) period, in(reg) 1u64, options(nostack))
    };
}

/// Starts the calling CPU's periodic tick at `hz`; `cycles_hz` is the counter
/// frequency the kernel uses (CNTFRQ_EL0 on aarch64, like the timer itself).
pub fn start_tick(hz: u32, cycles_hz: u64) {
    let freq = match elfin_arch::arm64::counter_frequency() {
        0 => cycles_hz.max(1),
        f => f,
    };
    if gic::vtimer_intid() < 32 && gic::cpu_init() {
        PERIOD.store((freq / u64::from(hz.max(1))).max(1), Ordering::Relaxed);
        arm_timer();
    } else {
        // Event every 2^(n+1) counter ticks, n chosen for about 1/hz seconds.
        let want = (freq / u64::from(hz.max(1))).max(2);
        let n = 63 - want.leading_zeros();
        elfin_arch::arm64::use_event_stream(n.saturating_sub(1));
    }
}

/// The tick timer's count per tick period (0 before the first [`start_tick`]).
pub fn tick_period() -> u64 {
    PERIOD.load(Ordering::Relaxed)
}

/// Makes the calling CPU's next tick come `periods` tick periods from now
/// instead of one (an idle CPU that only waits for a deadline); the ticks after
/// it come one period apart again. Nothing changes without a GIC (the event
/// stream is not programmable that way) or before [`start_tick`].
pub fn delay_tick(periods: u64) {
    let period = PERIOD.load(Ordering::Relaxed);
    if period == 0 {
        return;
    }
    // CNTV_TVAL_EL0 is a signed 32-bit count.
    let ticks = period.saturating_mul(periods.max(1)).min(i32::MAX as u64);
    // SAFETY: programming the EL1 virtual timer only schedules its interrupt.
    unsafe {
        asm!("msr cntv_tval_el0, {}", "msr cntv_ctl_el0, {}", "isb", in(reg) ticks, in(reg) 1u64, options(nostack))
    };
}

/// Stops this CPU's tick (an idle CPU then sleeps until an interrupt).
pub fn stop_tick() {
    // SAFETY: disabling the EL1 virtual timer only cancels its interrupt.
    unsafe { asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64, options(nostack)) };
}

/// Acknowledges an interrupt; true when it was the tick or a wake-up SGI (which
/// may preempt the program it interrupted, like a tick).
pub fn ack_irq(vector: u8) -> bool {
    if vector == 255 {
        return false;
    }
    let intid = u32::from(vector);
    let tick = intid == gic::vtimer_intid();
    if tick {
        arm_timer();
    } else if intid == gic::device_intid() {
        crate::virtio::interrupt();
    } else if intid != 0 && intid == gic::net_intid() {
        crate::virtio::net::ack_interrupt();
    }
    gic::end_of_interrupt(intid);
    tick || intid == gic::RESCHED_SGI
}
