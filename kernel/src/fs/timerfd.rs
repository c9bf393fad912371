//! timerfd: a timer read as a file. Each expiry adds to a count that read(2)
//! returns and resets (8 bytes); poll reports POLLIN while it is not zero. The
//! deadline sits in the kernel timer map, which wakes readers and pollers.
use alloc::sync::{Arc, Weak};
use core::any::Any;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;
use spin::Mutex;

use super::file::{FileLike, OpenFile, POLLIN};
use crate::task::itimer::{self, Expiry};
use crate::task::{wait, Ctx, Restart, WaitQueue};

#[derive(Default)]
struct State {
    /// Next expiry (monotonic ns).
    deadline: Option<u64>,
    seq: u64,
    interval: u64,
    /// Expiries not read yet.
    ticks: u64,
    /// TFD_TIMER_CANCEL_ON_SET: the wall-clock generation it was armed in.
    cancel_on_set: Option<u64>,
}

/// A timerfd.
pub struct TimerFd {
    /// The clock id it was created with.
    pub clock: i32,
    st: Mutex<State>,
    wq: WaitQueue,
    me: Weak<TimerFd>,
}

impl TimerFd {
    /// A disarmed timer on `clock`.
    pub fn new(clock: i32) -> Arc<TimerFd> {
        Arc::new_cyclic(|me| TimerFd { clock, st: Mutex::new(State::default()), wq: WaitQueue::new(), me: me.clone() })
    }

    /// Counts the expiries up to `now` (the map may fire late) and re-arms.
    fn catch_up(st: &mut State, now: u64) -> bool {
        let Some(d) = st.deadline else { return false };
        if now < d {
            return false;
        }
        if let Some(periods) = (now - d).checked_div(st.interval) {
            let n = periods + 1;
            st.ticks = st.ticks.saturating_add(n);
            st.deadline = Some(d.saturating_add(st.interval.saturating_mul(n)));
        } else {
            st.ticks = st.ticks.saturating_add(1);
            st.deadline = None;
        }
        true
    }

    fn canceled(st: &State) -> bool {
        st.cancel_on_set.is_some_and(|g| g != crate::time::realtime_generation())
    }

    /// (time left, interval), as timerfd_gettime reports them.
    pub fn get(&self) -> (u64, u64) {
        let now = crate::time::monotonic_ns();
        let mut st = self.st.lock();
        Self::catch_up(&mut st, now);
        let left = st.deadline.map(|d| d.saturating_sub(now).max(1)).unwrap_or(0);
        (left, st.interval)
    }

    /// timerfd_settime: arms at the monotonic `deadline` (None disarms), with
    /// `cancel_on_set` for TFD_TIMER_CANCEL_ON_SET; returns the old setting.
    pub fn set(&self, deadline: Option<u64>, interval: u64, cancel_on_set: bool) -> (u64, u64) {
        let old = self.get();
        let mut st = self.st.lock();
        if let Some(d) = st.deadline {
            itimer::disarm(d, st.seq);
        }
        st.ticks = 0;
        st.deadline = deadline;
        st.interval = if deadline.is_some() { interval } else { 0 };
        st.cancel_on_set = cancel_on_set.then(crate::time::realtime_generation);
        if let Some(d) = deadline {
            st.seq = itimer::arm(d, self.me.clone() as Weak<dyn Expiry>);
        }
        drop(st);
        self.wq.wake_all();
        old
    }
}

impl Expiry for TimerFd {
    fn expire(&self, seq: u64, now: u64) {
        let mut st = self.st.lock();
        if st.seq != seq || st.deadline.is_none() {
            return;
        }
        Self::catch_up(&mut st, now);
        if let Some(d) = st.deadline {
            st.seq = itimer::arm(d, self.me.clone() as Weak<dyn Expiry>);
        }
        drop(st);
        self.wq.wake_all();
    }
}

impl FileLike for TimerFd {
    fn read(&self, cx: &Ctx, f: &OpenFile, out: &mut [u8]) -> Result<usize, Errno> {
        if out.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let n = wait::wait_for(cx, &[&self.wq, crate::time::realtime_set_queue()], None, Restart::Sys, || {
            let mut st = self.st.lock();
            if Self::canceled(&st) {
                st.cancel_on_set = Some(crate::time::realtime_generation());
                return Some(Err(Errno::ECANCELED));
            }
            Self::catch_up(&mut st, crate::time::monotonic_ns());
            if st.ticks > 0 {
                return Some(Ok(core::mem::take(&mut st.ticks)));
            }
            if f.nonblocking() {
                Some(Err(Errno::EAGAIN))
            } else {
                None
            }
        })??;
        out.get_mut(..8).ok_or(Errno::EINVAL)?.copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn poll(&self) -> u32 {
        let mut st = self.st.lock();
        Self::catch_up(&mut st, crate::time::monotonic_ns());
        if st.ticks > 0 || Self::canceled(&st) {
            POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn stat(&self) -> StatInfo {
        super::eventfd::anon_stat()
    }

    fn link_name(&self, _f: &OpenFile) -> alloc::vec::Vec<u8> {
        b"anon_inode:[timerfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        let st = self.st.lock();
        if let Some(d) = st.deadline {
            itimer::disarm(d, st.seq);
        }
    }
}
