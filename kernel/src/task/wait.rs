//! Wait queues: every object a thread can sleep on (a pipe, the console, a child's
//! exit, …) has one. A sleeping call parks on the queues it cares about and goes on
//! where it slept once woken; it re-checks its condition, so a spurious wake-up is
//! harmless.
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;

use super::{sched, Ctx, Restart, Thread};

/// How deep wake-ups propagate through watching queues (epoll instances
/// watching epoll instances; Linux's EP_MAX_NESTS).
const MAX_NESTS: u32 = 4;

/// Items gathered under a lock and handled once it is released: the first four
/// on the stack (a wake-up usually has one sleeper and one watcher; a futex wake
/// one waiter), the rest
/// on the heap, so that the common wake-up allocates nothing.
pub(crate) struct Few<T> {
    inline: [Option<T>; 4],
    rest: Vec<T>,
}

impl<T> Few<T> {
    pub(crate) fn new() -> Few<T> {
        Few { inline: [None, None, None, None], rest: Vec::new() }
    }

    pub(crate) fn push(&mut self, t: T) {
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(t),
            None => self.rest.push(t),
        }
    }

    /// The items in the order they were pushed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.inline.iter().flatten().chain(self.rest.iter())
    }
}

/// Threads waiting for something to change.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<Thread>>>,
    /// Queues woken with this one: the epoll instances watching the object
    /// (one entry per interest), so that a thread in epoll_wait sleeps on its
    /// instance alone and holds no reference to the files it watches.
    watchers: Mutex<Vec<Weak<WaitQueue>>>,
    /// Counts wake-ups that may make the object readable, and those that may
    /// make it writable: edge-triggered epoll notices new events by them, so a
    /// read that only makes room for writers is no new edge for EPOLLIN.
    events: [AtomicU64; 2],
    /// Told of every wake-up besides the sleepers: the open files with
    /// O_ASYNC on this object (Linux's fasync list), which send SIGIO.
    notifiers: Mutex<Vec<Weak<dyn Notify>>>,
    /// How many notifiers are registered (a wake-up without any takes no lock for them).
    notifier_count: AtomicUsize,
}

/// Something told of a queue's wake-ups without sleeping on it.
pub trait Notify: Send + Sync {
    /// The queue was woken; `sides` says whether the object may have become
    /// readable (`[0]`) and writable (`[1]`).
    fn notify(&self, sides: [bool; 2]);
}

/// What a wake-up may have made ready: read side (POLLIN, POLLPRI, hang-ups,
/// errors) and write side (POLLOUT). A plain [`WaitQueue::wake_all`] is both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Data or a hang-up arrived.
    Readable,
    /// Room appeared.
    Writable,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(Vec::new()),
            watchers: Mutex::new(Vec::new()),
            events: [AtomicU64::new(0), AtomicU64::new(0)],
            notifiers: Mutex::new(Vec::new()),
            notifier_count: AtomicUsize::new(0),
        }
    }

    /// Tells `n` of every wake-up until [`WaitQueue::remove_notifier`] or until
    /// it is dropped.
    pub fn add_notifier(&self, n: Weak<dyn Notify>) {
        let mut ns = self.notifiers.lock();
        ns.retain(|x| x.strong_count() > 0);
        if !ns.iter().any(|x| Weak::ptr_eq(x, &n)) {
            ns.push(n);
        }
        self.notifier_count.store(ns.len(), Ordering::Release);
    }

    /// Undoes [`WaitQueue::add_notifier`] for `n`.
    pub fn remove_notifier(&self, n: &Weak<dyn Notify>) {
        let mut ns = self.notifiers.lock();
        ns.retain(|x| x.strong_count() > 0 && !Weak::ptr_eq(x, n));
        self.notifier_count.store(ns.len(), Ordering::Release);
    }

    /// Wakes `w` too whenever this queue is woken (until [`WaitQueue::unwatch`]).
    pub fn watch(&self, w: &Arc<WaitQueue>) {
        let mut ws = self.watchers.lock();
        ws.retain(|x| x.strong_count() > 0);
        ws.push(Arc::downgrade(w));
    }

    /// Undoes one [`WaitQueue::watch`] by `w`.
    pub fn unwatch(&self, w: &Arc<WaitQueue>) {
        let mut ws = self.watchers.lock();
        if let Some(i) = ws.iter().position(|x| core::ptr::eq(x.as_ptr(), Arc::as_ptr(w))) {
            ws.swap_remove(i);
        }
    }

    /// Adds `t` (once).
    pub fn add(&self, t: &Arc<Thread>) {
        let mut w = self.waiters.lock();
        if !w.iter().any(|x| Arc::ptr_eq(x, t)) {
            w.push(t.clone());
        }
    }

    /// Removes `t`.
    pub fn remove(&self, t: &Arc<Thread>) {
        self.waiters.lock().retain(|x| !Arc::ptr_eq(x, t));
    }

    /// Wakes every waiter (and the watching queues).
    pub fn wake_all(&self) {
        self.wake_nested(0, [true, true]);
    }

    /// Wakes every waiter (and the watching queues), telling edge-triggered
    /// watchers that only one side may have become ready.
    pub fn wake(&self, what: Wake) {
        self.wake_nested(0, [what == Wake::Readable, what == Wake::Writable]);
    }

    fn wake_nested(&self, depth: u32, sides: [bool; 2]) {
        for (n, side) in self.events.iter().zip(sides) {
            if side {
                n.fetch_add(1, Ordering::SeqCst);
            }
        }
        // Gathered under the lock and woken after it; the list keeps its room.
        let mut w = Few::new();
        self.waiters.lock().drain(..).for_each(|t| w.push(t));
        for t in w.iter() {
            sched::wake(t);
        }
        if self.notifier_count.load(Ordering::Acquire) != 0 {
            let mut ns = Few::new();
            self.notifiers.lock().iter().filter_map(Weak::upgrade).for_each(|n| ns.push(n));
            for n in ns.iter() {
                n.notify(sides);
            }
        }
        if depth >= MAX_NESTS {
            return;
        }
        let mut watchers = Few::new();
        {
            let ws = self.watchers.lock();
            if ws.is_empty() {
                return;
            }
            ws.iter().filter_map(Weak::upgrade).for_each(|q| watchers.push(q));
        }
        let mut last: *const WaitQueue = core::ptr::null();
        for q in watchers.iter() {
            // One wake-up per watching queue (an instance may watch through several descriptors).
            if !core::ptr::eq(Arc::as_ptr(q), last) {
                // A watching epoll instance may have become readable.
                q.wake_nested(depth + 1, [true, false]);
                last = Arc::as_ptr(q);
            }
        }
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiters.lock().is_empty()
    }

    /// The number of wake-ups so far that may have made the object readable
    /// (`write` false) or writable (`write` true).
    pub fn events(&self, write: bool) -> u64 {
        self.events[usize::from(write)].load(Ordering::SeqCst)
    }
}

/// Why [`wait_until`] gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The deadline passed.
    Timeout,
    /// A signal is pending for the thread.
    Interrupted,
}

/// Sleeps on `queues` until `cond` yields a value, the deadline (monotonic ns)
/// passes, or (when `interruptible`) a signal becomes deliverable.
pub fn wait_until<T>(
    queues: &[&WaitQueue],
    deadline: Option<u64>,
    interruptible: bool,
    mut cond: impl FnMut() -> Option<T>,
) -> Result<T, WaitError> {
    if let Some(v) = cond() {
        return Ok(v);
    }
    let me = sched::current();
    loop {
        sched::prepare_sleep();
        for q in queues {
            q.add(&me);
        }
        let r = if let Some(v) = cond() {
            Some(Ok(v))
        } else if interruptible && super::signal::interrupting(&me) {
            Some(Err(WaitError::Interrupted))
        } else if deadline.map(|d| crate::time::monotonic_ns() >= d).unwrap_or(false) {
            Some(Err(WaitError::Timeout))
        } else {
            None
        };
        if r.is_none() {
            sched::sleep(deadline);
        }
        for q in queues {
            q.remove(&me);
        }
        if let Some(r) = r {
            return r;
        }
    }
}

/// [`wait_until`] for a system call: a signal gives EINTR (restarted as `how`
/// says), the deadline ETIMEDOUT.
pub fn wait_for<T>(
    cx: &Ctx,
    queues: &[&WaitQueue],
    deadline: Option<u64>,
    how: Restart,
    cond: impl FnMut() -> Option<T>,
) -> Result<T, Errno> {
    wait_until(queues, deadline, true, cond).map_err(|e| match e {
        WaitError::Timeout => Errno::ETIMEDOUT,
        WaitError::Interrupted => cx.interrupted(how),
    })
}
