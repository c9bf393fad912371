//! epoll instances: a set of interests (descriptor, file, events, data), level- or
//! edge-triggered, with EPOLLONESHOT.
//!
//! epoll_wait looks only at candidates, as Linux looks at its ready list: the
//! interests whose file's queue was woken since they were last looked at (each
//! interest is told of its file's wake-ups, see [`Mark`]), those just added or
//! modified, and those found ready at the last look (level-triggered ones stay
//! ready until a look finds them not). A wait over many idle descriptors costs
//! what the active ones cost.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;

use super::file::{FileLike, OpenFile, POLLERR, POLLHUP, POLLIN};
use crate::task::wait::Notify;
use crate::task::WaitQueue;
use core::sync::atomic::{AtomicBool, Ordering};

const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// Events always reported.
const ALWAYS: u32 = POLLERR | POLLHUP;
/// The write-side events (POLLOUT, POLLWRNORM, POLLWRBAND).
const POLLOUT_ANY: u32 = 0x004 | 0x100 | 0x200;

type Key = (i32, usize);

/// The candidates of an instance (see the module docs), each once, with the
/// serial number of the interest that queued it (a key deleted and added again
/// is a new interest; the old one's entries are ignored).
type Candidates = Mutex<Vec<(Key, u64)>>;

/// Serial numbers of interests.
static SERIAL: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Told of every wake-up of an interest's file: makes the interest a candidate.
struct Mark {
    key: Key,
    serial: u64,
    cands: Weak<Candidates>,
    /// The key is in the candidate list (or being looked at and put back).
    queued: core::sync::atomic::AtomicBool,
}

impl Mark {
    /// Adds the key to the candidates unless it is there.
    fn queue(&self) {
        if !self.queued.swap(true, core::sync::atomic::Ordering::AcqRel) {
            if let Some(c) = self.cands.upgrade() {
                c.lock().push((self.key, self.serial));
            }
        }
    }
}

impl Notify for Mark {
    fn notify(&self, _sides: [bool; 2]) {
        self.queue();
    }
}

struct Interest {
    file: Weak<OpenFile>,
    /// Makes this interest a candidate when the file's queue is woken (None: the
    /// file has no queue, and the interest is a candidate at every look).
    mark: Option<Arc<Mark>>,
    events: u32,
    data: u64,
    /// Wake-ups of the file's queue (read side, write side) when it was last
    /// reported (edge-triggered).
    seen: Option<[u64; 2]>,
    /// EPOLLONESHOT fired: nothing more until EPOLL_CTL_MOD.
    disarmed: bool,
}

/// An epoll instance.
#[derive(Default)]
pub struct Epoll {
    /// Keyed by (descriptor, open file) as Linux keys its items.
    interests: Mutex<BTreeMap<Key, Interest>>,
    /// The interests that may be ready (see the module docs).
    cands: Arc<Candidates>,
    /// How many interests have no queue to be told by (looked at every time).
    unmarked: core::sync::atomic::AtomicUsize,
    /// Size of the interest set at which epoll_ctl next drops closed files' interests.
    prune_at: core::sync::atomic::AtomicUsize,
    /// Woken by epoll_ctl and by every watched file's queue (see
    /// [`WaitQueue::watch`]): epoll_wait sleeps on it alone.
    wq: Arc<WaitQueue>,
}

impl Drop for Epoll {
    fn drop(&mut self) {
        for it in self.interests.get_mut().values() {
            if let Some(f) = it.file.upgrade() {
                if let Some(q) = f.file.wait_queue() {
                    q.unwatch(&self.wq);
                    if let Some(m) = &it.mark {
                        q.remove_notifier(&(Arc::downgrade(m) as Weak<dyn Notify>));
                    }
                }
            }
        }
    }
}

/// One ready event: what to report and how to commit it once reported.
pub struct Ready {
    key: Key,
    /// Events.
    pub events: u32,
    /// User data.
    pub data: u64,
    seen: Option<[u64; 2]>,
}

fn key(fd: i32, f: &Arc<OpenFile>) -> Key {
    (fd, Arc::as_ptr(f) as *const () as usize)
}

impl Epoll {
    /// A new instance.
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll::default())
    }

    /// epoll_ctl(2) on `fd` (already looked up as `file`).
    pub fn ctl(&self, op: i32, fd: i32, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<(), Errno> {
        if let Some(e) = file.downcast::<Epoll>() {
            if core::ptr::eq(e, self) {
                return Err(Errno::EINVAL);
            }
        }
        if file.file.wait_queue().is_none() && file.inode().is_some() {
            // Regular files and directories cannot be polled with epoll.
            return Err(Errno::EPERM);
        }
        // EPOLLEXCLUSIVE: only at ADD, with the bits it allows, not on an epoll
        // instance (Linux's do_epoll_ctl).
        const EXCLUSIVE_OK: u32 = 0x1 | 0x4 | 0x8 | 0x10 | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
        if op == 1
            && events & EPOLLEXCLUSIVE != 0
            && (events & !EXCLUSIVE_OK != 0 || file.downcast::<Epoll>().is_some())
        {
            return Err(Errno::EINVAL);
        }
        let mut i = self.interests.lock();
        // Interests of closed files are dropped now and then (amortised: when the
        // set has doubled since the last time), not at every call.
        if i.len() >= self.prune_at.load(Ordering::Relaxed) {
            i.retain(|_, it| it.file.strong_count() > 0);
            self.unmarked.store(i.values().filter(|it| it.mark.is_none()).count(), Ordering::Relaxed);
            self.prune_at.store((2 * i.len()).max(64), Ordering::Relaxed);
        }
        let k = key(fd, file);
        // An interest of a closed file is gone, as on Linux (a new open file may
        // have the same descriptor and address).
        if i.get(&k).is_some_and(|it| it.file.strong_count() == 0) && i.remove(&k).is_some_and(|it| it.mark.is_none()) {
            self.unmarked.fetch_sub(1, Ordering::Relaxed);
        }
        match op {
            1 => {
                if i.contains_key(&k) {
                    return Err(Errno::EEXIST);
                }
                let q = file.file.wait_queue();
                let mark = q.map(|_| {
                    Arc::new(Mark {
                        key: k,
                        serial: SERIAL.fetch_add(1, Ordering::Relaxed),
                        cands: Arc::downgrade(&self.cands),
                        queued: AtomicBool::new(false),
                    })
                });
                if let (Some(q), Some(m)) = (q, &mark) {
                    q.watch(&self.wq);
                    q.add_notifier(Arc::downgrade(m) as Weak<dyn Notify>);
                    m.queue();
                } else {
                    self.unmarked.fetch_add(1, Ordering::Relaxed);
                }
                i.insert(k, Interest { file: Arc::downgrade(file), mark, events, data, seen: None, disarmed: false });
            }
            2 => {
                let it = i.remove(&k).ok_or(Errno::ENOENT)?;
                if let Some(q) = file.file.wait_queue() {
                    q.unwatch(&self.wq);
                    if let Some(m) = &it.mark {
                        q.remove_notifier(&(Arc::downgrade(m) as Weak<dyn Notify>));
                    }
                }
                if it.mark.is_none() {
                    self.unmarked.fetch_sub(1, Ordering::Relaxed);
                }
            }
            3 => {
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                let it = i.get_mut(&k).ok_or(Errno::ENOENT)?;
                // An exclusive interest cannot be changed.
                if it.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.events = events;
                it.data = data;
                it.seen = None;
                it.disarmed = false;
                if let Some(m) = &it.mark {
                    m.queue();
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        drop(i);
        self.wq.wake_all();
        Ok(())
    }

    /// The ready events, at most `max`; nothing is consumed until [`Epoll::commit`].
    /// Looks at the candidates only (and at interests without a queue): those
    /// found ready stay candidates, the others drop out until their file's queue
    /// is woken again.
    pub fn collect(&self, max: usize) -> Vec<Ready> {
        let mut out = Vec::new();
        let taken = core::mem::take(&mut *self.cands.lock());
        let mut back: Vec<(Key, u64)> = Vec::new();
        let i = self.interests.lock();
        let mut rest = taken.iter();
        for &(k, serial) in rest.by_ref() {
            if out.len() >= max {
                // Not looked at: still a candidate (its mark is still set).
                back.push((k, serial));
                break;
            }
            let Some(it) = i.get(&k) else { continue };
            let Some(m) = it.mark.as_ref().filter(|m| m.serial == serial) else { continue };
            // Cleared before the look: a wake-up from now on queues the key again.
            m.queued.store(false, Ordering::Release);
            if let Some(r) = Self::look(&k, it) {
                out.push(r);
                if !m.queued.swap(true, Ordering::AcqRel) {
                    back.push((k, serial));
                }
            }
        }
        back.extend(rest.copied());
        if self.unmarked.load(Ordering::Relaxed) != 0 {
            for (k, it) in i.iter().filter(|(_, it)| it.mark.is_none()) {
                if out.len() >= max {
                    break;
                }
                out.extend(Self::look(k, it));
            }
        }
        drop(i);
        let mut c = self.cands.lock();
        if c.is_empty() && back.is_empty() {
            // Keep the list's room for the next wake-up.
            *c = taken;
            c.clear();
        } else {
            c.extend(back);
        }
        out
    }

    /// What interest `it` (key `k`) reports now, if anything.
    fn look(k: &Key, it: &Interest) -> Option<Ready> {
        if it.disarmed {
            return None;
        }
        let f = it.file.upgrade()?;
        let mask = it.events & !(EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP);
        let r = f.file.poll() & (mask | ALWAYS);
        if r == 0 {
            return None;
        }
        let events = f.file.wait_queue().map(|q| [q.events(false), q.events(true)]);
        if it.events & EPOLLET != 0 {
            if let (Some(now), Some(seen)) = (events, it.seen) {
                // Edge-triggered: only wake-ups since the last report, on the
                // side the interest and the ready events name, are new edges.
                let read_edge = now[0] != seen[0] && r & !POLLOUT_ANY != 0;
                let write_edge = now[1] != seen[1] && r & POLLOUT_ANY != 0;
                if !read_edge && !write_edge {
                    return None;
                }
            }
        }
        Some(Ready { key: *k, events: r, data: it.data, seen: events })
    }

    /// Marks reported events: edge-triggered interests remember what they saw,
    /// one-shot ones disarm.
    pub fn commit(&self, reported: &[Ready]) {
        let mut i = self.interests.lock();
        for r in reported {
            if let Some(it) = i.get_mut(&r.key) {
                if it.events & EPOLLET != 0 {
                    it.seen = r.seen;
                }
                if it.events & EPOLLONESHOT != 0 {
                    it.disarmed = true;
                }
            }
        }
    }

    /// The instance's own queue (woken by epoll_ctl and the watched files).
    pub fn queue(&self) -> &WaitQueue {
        &self.wq
    }
}

impl FileLike for Epoll {
    fn poll(&self) -> u32 {
        if self.collect(1).is_empty() {
            0
        } else {
            POLLIN
        }
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }
    fn stat(&self) -> StatInfo {
        super::eventfd::anon_stat()
    }
    fn link_name(&self, _f: &OpenFile) -> Vec<u8> {
        b"anon_inode:[eventpoll]".to_vec()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
