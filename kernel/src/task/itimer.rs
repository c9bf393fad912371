//! Kernel timers: a deadline map that the scheduler checks on every pass and every
//! tick. Anything with a deadline (alarm and setitimer's ITIMER_REAL, POSIX timers,
//! timerfds) implements [`Expiry`] and is called once its deadline passes; a
//! periodic timer arms itself again. Timers on CPU-time clocks (ITIMER_VIRTUAL,
//! ITIMER_PROF, POSIX timers on CPU clocks) are checked for the running process
//! on the same occasions.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_shim::uapi::signal::{SIGALRM, SI_KERNEL};
use elfin_shim::uapi::Siginfo;

use super::Process;

/// Something a deadline fires.
pub trait Expiry: Send + Sync {
    /// The deadline armed as `seq` (see [`arm`]) passed; `now` is the monotonic
    /// time. Called with no lock held.
    fn expire(&self, seq: u64, now: u64);
}

/// An armed real-time timer: (deadline ns, interval ns, sequence number).
#[derive(Clone, Copy, Debug, Default)]
pub struct Armed {
    /// Monotonic deadline.
    pub deadline: u64,
    /// Re-arm period (0: one shot).
    pub interval: u64,
    seq: u64,
}

static TIMERS: Mutex<BTreeMap<(u64, u64), Weak<dyn Expiry>>> = Mutex::new(BTreeMap::new());
static SEQ: AtomicU64 = AtomicU64::new(1);

/// Arms `target` to expire at `deadline` (monotonic ns); returns the sequence
/// number that [`Expiry::expire`] and [`disarm`] name it by.
pub fn arm(deadline: u64, target: Weak<dyn Expiry>) -> u64 {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    TIMERS.lock().insert((deadline, seq), target);
    // As for a timed sleep: the tick goes on, and an idle boot CPU wakes to keep
    // time, or the deadline would never be seen.
    crate::timer::deadline_added();
    seq
}

/// Cancels what [`arm`] armed (nothing when it has fired already).
pub fn disarm(deadline: u64, seq: u64) {
    TIMERS.lock().remove(&(deadline, seq));
}

/// Arms (or with `value` 0 disarms) the real-time timer of `p`; returns what was
/// armed before.
pub fn set_real(p: &Arc<Process>, value: u64, interval: u64) -> Option<Armed> {
    let old = p.itimer.lock().take();
    if let Some(o) = old {
        disarm(o.deadline, o.seq);
    }
    if value != 0 {
        let deadline = crate::time::monotonic_ns().saturating_add(value);
        let w: Weak<dyn Expiry> = Arc::downgrade(p) as Weak<dyn Expiry>;
        // The record is in place before the deadline can fire.
        let mut slot = p.itimer.lock();
        let seq = arm(deadline, w);
        *slot = Some(Armed { deadline, interval, seq });
    }
    old
}

/// The armed timer of `p`, if any.
pub fn get_real(p: &Process) -> Option<Armed> {
    *p.itimer.lock()
}

impl Expiry for Process {
    fn expire(&self, seq: u64, now: u64) {
        let Some(a) = self.itimer.lock().filter(|a| a.seq == seq) else { return };
        if a.interval > 0 {
            let deadline = a.deadline.saturating_add(a.interval).max(now);
            // Find the Arc to re-arm through the process table (the timer map holds
            // a weak reference only).
            if let Some(p) = super::table::process(self.pid) {
                let mut slot = p.itimer.lock();
                let seq = arm(deadline, Arc::downgrade(&p) as Weak<dyn Expiry>);
                *slot = Some(Armed { deadline, interval: a.interval, seq });
            }
        } else {
            *self.itimer.lock() = None;
        }
        if let Some(p) = super::table::process(self.pid) {
            super::signal::send_to_process(&p, SIGALRM as u32, Siginfo::kill(SIGALRM, SI_KERNEL, 0, 0));
        }
    }
}

/// Fires the timers whose deadline has passed, and the CPU-time timers of the
/// running process (called by the scheduler).
pub fn expire() {
    // No armed timer: the clock is not read (its first reading calibrates the
    // cycle counter, milliseconds of PIT polling).
    if !TIMERS.lock().is_empty() {
        fire_due();
    }
    if let Some(t) = super::sched::try_current() {
        super::cputimer::check(&t);
    }
}

/// Fires the timers whose deadline has passed.
fn fire_due() {
    let now = crate::time::monotonic_ns();
    let due: Vec<((u64, u64), Weak<dyn Expiry>)> = {
        let mut t = TIMERS.lock();
        if t.keys().next().map(|k| k.0 > now).unwrap_or(true) {
            Vec::new()
        } else {
            let mut due = Vec::new();
            while let Some((&k, _)) = t.iter().next() {
                if k.0 > now {
                    break;
                }
                if let Some(w) = t.remove(&k) {
                    due.push((k, w));
                }
            }
            due
        }
    };
    for ((_, seq), w) in due {
        if let Some(target) = w.upgrade() {
            target.expire(seq, now);
        }
    }
}

/// True when some process has an armed timer.
pub fn pending() -> bool {
    !TIMERS.lock().is_empty()
}

/// The earliest interval-timer deadline (monotonic ns), if any.
pub fn next_deadline() -> Option<u64> {
    TIMERS.lock().keys().next().map(|k| k.0)
}

/// Forgets the timer of a process that ends.
pub fn cancel(p: &Process) {
    // Taken first: the timer list's lock is never taken under the process's.
    let armed = p.itimer.lock().take();
    if let Some(o) = armed {
        disarm(o.deadline, o.seq);
    }
}
