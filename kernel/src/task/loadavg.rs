//! The load average (/proc/loadavg, sysinfo): Linux's exponentially damped
//! averages of the number of runnable threads, sampled every 5 seconds
//! (the arithmetic is `elfin_kcore::loadavg`).
//!
//! Nothing ticks for it. The scheduler calls [`changed`] before the count moves
//! (a thread sleeps, wakes, starts or ends), which first takes the samples due
//! since the last change: the count was the same at each of them. A reader does
//! the same, so an idle machine's averages decay and a busy loop's rise without
//! a timer interrupt.
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use elfin_kcore::loadavg::{self as calc, PERIOD_NS};

use super::sched::{this_cpu, MAX_CPUS};
use crate::sync::Mutex;

/// Per CPU, on its own cache line: threads made runnable minus threads that
/// stopped being runnable, by transitions on that CPU (one CPU's may be negative).
#[repr(align(64))]
struct Delta(AtomicI64);

static DELTA: [Delta; MAX_CPUS] = [const { Delta(AtomicI64::new(0)) }; MAX_CPUS];
/// Cycle count of the next sample (0: not started, the clock is not calibrated).
static NEXT: AtomicU64 = AtomicU64::new(0);
/// The 1-, 5- and 15-minute averages, in fixed point.
static AVENRUN: Mutex<[u64; 3]> = Mutex::new([0; 3]);

/// Runnable threads (running or waiting for a CPU).
pub fn runnable() -> u64 {
    let n: i64 = DELTA.iter().map(|d| d.0.load(Ordering::Relaxed)).sum();
    n.max(0) as u64
}

/// Records that `by` threads became runnable (negative: stopped being runnable).
#[inline]
pub fn changed(by: i64) {
    catch_up();
    if let Some(d) = DELTA.get(this_cpu()) {
        d.0.fetch_add(by, Ordering::Relaxed);
    }
}

/// Takes the samples due by now.
#[inline]
fn catch_up() {
    let next = NEXT.load(Ordering::Acquire);
    let now = elfin_arch::read_cycles();
    if next != 0 && now < next {
        return;
    }
    sample(next, now);
}

#[cold]
fn sample(seen: u64, now: u64) {
    // Not before the clock is calibrated (that takes milliseconds): the averages
    // start once something else needed the clock.
    let Some(hz) = crate::time::known_hz() else { return };
    let period = ((u128::from(PERIOD_NS) * u128::from(hz)) / 1_000_000_000).max(1) as u64;
    // The samples fall every 5 s from boot, as Linux's do. Those due before the
    // clock was known take the count as it is now.
    let next = if seen == 0 { crate::time::boot_cycles() + period } else { seen };
    if now < next {
        let _ = NEXT.compare_exchange(0, next, Ordering::AcqRel, Ordering::Relaxed);
        return;
    }
    let steps = (now - next) / period + 1;
    // One CPU takes the samples; another that got here too finds them taken.
    if NEXT.compare_exchange(seen, next + steps * period, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    let active = runnable();
    calc::sample(&mut AVENRUN.lock(), active, steps);
}

/// The 1-, 5- and 15-minute averages as of now, in fixed point with
/// `elfin_kcore::loadavg::FSHIFT` fraction bits.
pub fn averages() -> [u64; 3] {
    crate::time::cycles_hz();
    catch_up();
    *AVENRUN.lock()
}
