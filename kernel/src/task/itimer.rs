//! Interval timers of processes (alarm, setitimer's ITIMER_REAL): each armed
//! timer has an entry in a deadline map that the scheduler checks on every pass and
//! every tick; at its deadline the process gets SIGALRM, and a periodic timer is
//! armed again.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_shim::uapi::signal::{SIGALRM, SI_KERNEL};
use elfin_shim::uapi::Siginfo;

use super::Process;

/// An armed real-time timer: (deadline ns, interval ns, sequence number).
#[derive(Clone, Copy, Debug, Default)]
pub struct Armed {
    /// Monotonic deadline.
    pub deadline: u64,
    /// Re-arm period (0: one shot).
    pub interval: u64,
    seq: u64,
}

static TIMERS: Mutex<BTreeMap<(u64, u64), Weak<Process>>> = Mutex::new(BTreeMap::new());
static SEQ: AtomicU64 = AtomicU64::new(1);

/// Arms (or with `value` 0 disarms) the real-time timer of `p`; returns what was
/// armed before.
pub fn set_real(p: &Arc<Process>, value: u64, interval: u64) -> Option<Armed> {
    let old = p.itimer.lock().take();
    if let Some(o) = old {
        TIMERS.lock().remove(&(o.deadline, o.seq));
    }
    if value != 0 {
        let a = Armed {
            deadline: crate::time::monotonic_ns().saturating_add(value),
            interval,
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
        };
        *p.itimer.lock() = Some(a);
        TIMERS.lock().insert((a.deadline, a.seq), Arc::downgrade(p));
        crate::timer::deadline_added();
    }
    old
}

/// The armed timer of `p`, if any.
pub fn get_real(p: &Process) -> Option<Armed> {
    *p.itimer.lock()
}

/// Fires the timers whose deadline has passed (called by the scheduler).
pub fn expire() {
    let now = crate::time::monotonic_ns();
    let due: Vec<((u64, u64), Weak<Process>)> = {
        let mut t = TIMERS.lock();
        if t.keys().next().map(|k| k.0 > now).unwrap_or(true) {
            return;
        }
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
    };
    for ((_, seq), w) in due {
        let Some(p) = w.upgrade() else { continue };
        let cur = *p.itimer.lock();
        let Some(a) = cur.filter(|a| a.seq == seq) else { continue };
        if a.interval > 0 {
            let next = Armed { deadline: a.deadline.saturating_add(a.interval).max(now), ..a };
            *p.itimer.lock() = Some(next);
            TIMERS.lock().insert((next.deadline, next.seq), w);
        } else {
            *p.itimer.lock() = None;
        }
        super::signal::send_to_process(&p, SIGALRM as u32, Siginfo::kill(SIGALRM, SI_KERNEL, 0, 0));
    }
}

/// True when some process has an armed timer.
pub fn pending() -> bool {
    !TIMERS.lock().is_empty()
}

/// Forgets the timer of a process that ends.
pub fn cancel(p: &Process) {
    if let Some(o) = p.itimer.lock().take() {
        TIMERS.lock().remove(&(o.deadline, o.seq));
    }
}
