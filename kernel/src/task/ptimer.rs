//! POSIX per-process timers (timer_create): on the real-time clocks they sit in
//! the kernel timer map ([`super::itimer`]); on CPU-time clocks they are checked on
//! every tick ([`super::cputimer::check`]). An expiry queues one signal
//! (SIGEV_SIGNAL to the process, SIGEV_THREAD_ID to one of its threads) or
//! nothing (SIGEV_NONE); while that signal is still queued further expiries only
//! count as overruns, which the signal reports when it is delivered (si_overrun,
//! timer_getoverrun). A signal of a timer that was deleted or re-armed since is
//! dropped at delivery, as Linux 6.13 does.
use alloc::sync::{Arc, Weak};

use elfin_kcore::sigqueue::bit;
use elfin_shim::uapi::signal::SI_TIMER;
use elfin_shim::uapi::Siginfo;
use spin::Mutex;

use super::cputimer::CpuClock;
use super::itimer::{self, Expiry};
use super::{table, Process};

/// Marks a timer's queued siginfo (in the padding after si_code, which user
/// space never sees set: it is cleared before delivery, and rt_sigqueueinfo
/// clears it in what a program sends).
pub const TIMER_MARK: i32 = 0x5449_4d52;

/// What an expiry does (struct sigevent).
#[derive(Clone, Copy, Debug)]
pub enum Notify {
    /// SIGEV_NONE: nothing (the timer can still be read).
    None,
    /// SIGEV_SIGNAL (`tid` None) or SIGEV_THREAD_ID: `sig` with `value`.
    Signal {
        /// Signal number.
        sig: u32,
        /// sigev_value.
        value: u64,
        /// The thread for SIGEV_THREAD_ID.
        tid: Option<i32>,
    },
}

/// The clock a timer runs on.
#[derive(Clone)]
pub enum TimerClock {
    /// A real-time clock; `realtime` for CLOCK_REALTIME(_ALARM)/TAI, whose absolute
    /// times are wall-clock times.
    Wall {
        /// Absolute times are on the wall clock.
        realtime: bool,
    },
    /// A CPU-time clock.
    Cpu(CpuClock),
}

#[derive(Default)]
struct State {
    /// Next expiry: monotonic ns (wall clocks) or the CPU clock's ns.
    deadline: Option<u64>,
    /// Sequence number in the timer map (wall clocks).
    seq: u64,
    /// Re-arm period.
    interval: u64,
    /// Expiries not signalled since the queued signal.
    overrun: u64,
    /// si_overrun of the last delivered signal (timer_getoverrun).
    overrun_last: i32,
    /// A signal of this timer is queued.
    queued: bool,
    /// Bumped by every timer_settime: a queued signal of an older arming is dropped.
    generation: u64,
}

/// A POSIX timer.
pub struct PosixTimer {
    /// The timer id.
    pub id: i32,
    /// Its clock.
    pub clock: TimerClock,
    /// What an expiry does.
    pub notify: Notify,
    owner: Weak<Process>,
    me: Weak<PosixTimer>,
    st: Mutex<State>,
}

impl PosixTimer {
    /// A disarmed timer of process `owner`.
    pub fn new(id: i32, clock: TimerClock, notify: Notify, owner: &Arc<Process>) -> Arc<PosixTimer> {
        Arc::new_cyclic(|me| PosixTimer {
            id,
            clock,
            notify,
            owner: Arc::downgrade(owner),
            me: me.clone(),
            st: Mutex::new(State::default()),
        })
    }

    fn clock_now(&self) -> u64 {
        match &self.clock {
            TimerClock::Wall { .. } => crate::time::monotonic_ns(),
            TimerClock::Cpu(c) => c.now(),
        }
    }

    /// True when armed on a CPU-time clock.
    pub fn is_cpu_armed(&self) -> bool {
        matches!(self.clock, TimerClock::Cpu(_)) && self.st.lock().deadline.is_some()
    }

    /// (time left, interval) as timer_gettime reports them.
    pub fn get(&self) -> (u64, u64) {
        let st = self.st.lock();
        match st.deadline {
            Some(d) => (d.saturating_sub(self.clock_now()).max(1), st.interval),
            None => (0, st.interval),
        }
    }

    /// timer_settime: arms at `deadline` in the clock's ns (None disarms); returns
    /// the old (time left, interval).
    pub fn set(&self, deadline: Option<u64>, interval: u64) -> (u64, u64) {
        let old = self.get();
        let mut st = self.st.lock();
        if let (Some(d), TimerClock::Wall { .. }) = (st.deadline, &self.clock) {
            itimer::disarm(d, st.seq);
        }
        st.generation += 1;
        st.overrun = 0;
        st.queued = false;
        st.deadline = deadline;
        st.interval = if deadline.is_some() { interval } else { 0 };
        if let (Some(d), TimerClock::Wall { .. }) = (deadline, &self.clock) {
            st.seq = itimer::arm(d, self.me.clone() as Weak<dyn Expiry>);
        } else if deadline.is_some() {
            crate::timer::enable_preemption();
        }
        old
    }

    /// Disarms (timer_delete, exec, exit).
    pub fn disarm(&self) {
        let mut st = self.st.lock();
        if let (Some(d), TimerClock::Wall { .. }) = (st.deadline, &self.clock) {
            itimer::disarm(d, st.seq);
        }
        st.deadline = None;
        st.generation += 1;
    }

    /// timer_getoverrun.
    pub fn overrun(&self) -> i32 {
        self.st.lock().overrun_last
    }

    /// A CPU-clock timer: fires when its clock has reached the deadline.
    pub fn check_cpu(&self) {
        let now = self.clock_now();
        let due = self.st.lock().deadline.is_some_and(|d| now >= d);
        if due {
            self.fire(now);
        }
    }

    /// One expiry at `now` (the clock's time): re-arm a periodic timer (counting
    /// the periods missed as overruns) and signal.
    fn fire(&self, now: u64) {
        let (signal, generation) = {
            let mut st = self.st.lock();
            let Some(d) = st.deadline else { return };
            if let Some(missed) = now.saturating_sub(d).checked_div(st.interval) {
                st.overrun = st.overrun.saturating_add(missed);
                let next = d.saturating_add(st.interval.saturating_mul(missed + 1));
                st.deadline = Some(next);
                if let TimerClock::Wall { .. } = self.clock {
                    st.seq = itimer::arm(next, self.me.clone() as Weak<dyn Expiry>);
                }
            } else {
                st.deadline = None;
            }
            let Notify::Signal { sig, .. } = self.notify else { return };
            if st.queued && self.still_queued(sig) {
                st.overrun = st.overrun.saturating_add(1);
                return;
            }
            st.queued = true;
            (sig, st.generation)
        };
        let Some(p) = self.owner.upgrade() else { return };
        let Notify::Signal { value, tid, .. } = self.notify else { return };
        let mut info = Siginfo::new(signal as i32, 0, SI_TIMER);
        info._pad = TIMER_MARK;
        info.put(Siginfo::SI_TIMERID_OFFSET, &self.id.to_ne_bytes());
        info.put(Siginfo::SI_VALUE_OFFSET, &value.to_ne_bytes());
        info.put(Siginfo::SI_SYS_PRIVATE_OFFSET, &(generation as u32).to_ne_bytes());
        if super::signal::ignored_now(&p, signal) {
            self.st.lock().queued = false;
            return;
        }
        match tid {
            Some(tid) => match table::thread(tid).filter(|t| Arc::ptr_eq(&t.process, &p)) {
                Some(t) => super::signal::send_to_thread(&t, signal, info),
                None => self.st.lock().queued = false,
            },
            None => super::signal::send_to_process(&p, signal, info),
        }
    }

    /// Whether `sig` is still pending where this timer sends it.
    fn still_queued(&self, sig: u32) -> bool {
        let Some(p) = self.owner.upgrade() else { return false };
        if p.shared_pending.lock().mask() & bit(sig) != 0 {
            return true;
        }
        let threads = p.threads.lock().clone();
        threads.iter().any(|t| t.sig.lock().pending.mask() & bit(sig) != 0)
    }
}

impl Expiry for PosixTimer {
    fn expire(&self, seq: u64, now: u64) {
        let current = {
            let st = self.st.lock();
            st.deadline.is_some() && st.seq == seq
        };
        if current {
            self.fire(now);
        }
    }
}

/// Called for every signal taken for delivery (by a handler, sigtimedwait or a
/// signalfd): a timer's signal gets its overrun count, or is dropped (false) when
/// its timer was deleted or re-armed since it was queued.
pub fn delivered(p: &Process, info: &mut Siginfo) -> bool {
    if info._pad != TIMER_MARK {
        return true;
    }
    info._pad = 0;
    let id = i32::from_ne_bytes(info.get_bytes(Siginfo::SI_TIMERID_OFFSET));
    let generation = u32::from_ne_bytes(info.get_bytes(Siginfo::SI_SYS_PRIVATE_OFFSET));
    info.put(Siginfo::SI_SYS_PRIVATE_OFFSET, &0u32.to_ne_bytes());
    let Some(t) = p.ext.lock().timers.get(&id).cloned() else { return false };
    let mut st = t.st.lock();
    if st.generation as u32 != generation {
        return false;
    }
    let overrun = i32::try_from(st.overrun).unwrap_or(i32::MAX);
    st.overrun_last = overrun;
    st.overrun = 0;
    st.queued = false;
    info.put(Siginfo::SI_OVERRUN_OFFSET, &overrun.to_ne_bytes());
    true
}
