//! epoll instances: a set of interests (descriptor, file, events, data), level- or
//! edge-triggered, with EPOLLONESHOT.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;

use super::file::{FileLike, OpenFile, POLLERR, POLLHUP, POLLIN};
use crate::task::WaitQueue;

const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// Events always reported.
const ALWAYS: u32 = POLLERR | POLLHUP;
/// The write-side events (POLLOUT, POLLWRNORM, POLLWRBAND).
const POLLOUT_ANY: u32 = 0x004 | 0x100 | 0x200;

struct Interest {
    file: Weak<OpenFile>,
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
    interests: Mutex<BTreeMap<(i32, usize), Interest>>,
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
                }
            }
        }
    }
}

/// One ready event: what to report and how to commit it once reported.
pub struct Ready {
    key: (i32, usize),
    /// Events.
    pub events: u32,
    /// User data.
    pub data: u64,
    seen: Option<[u64; 2]>,
}

fn key(fd: i32, f: &Arc<OpenFile>) -> (i32, usize) {
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
        let mut i = self.interests.lock();
        i.retain(|_, it| it.file.strong_count() > 0);
        let k = key(fd, file);
        match op {
            1 => {
                if i.contains_key(&k) {
                    return Err(Errno::EEXIST);
                }
                i.insert(k, Interest { file: Arc::downgrade(file), events, data, seen: None, disarmed: false });
                if let Some(q) = file.file.wait_queue() {
                    q.watch(&self.wq);
                }
            }
            2 => {
                i.remove(&k).ok_or(Errno::ENOENT)?;
                if let Some(q) = file.file.wait_queue() {
                    q.unwatch(&self.wq);
                }
            }
            3 => {
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                let it = i.get_mut(&k).ok_or(Errno::ENOENT)?;
                it.events = events;
                it.data = data;
                it.seen = None;
                it.disarmed = false;
            }
            _ => return Err(Errno::EINVAL),
        }
        drop(i);
        self.wq.wake_all();
        Ok(())
    }

    /// The ready events, at most `max`; nothing is consumed until [`Epoll::commit`].
    pub fn collect(&self, max: usize) -> Vec<Ready> {
        let mut out = Vec::new();
        let mut i = self.interests.lock();
        i.retain(|_, it| it.file.strong_count() > 0);
        for (k, it) in i.iter() {
            if out.len() >= max {
                break;
            }
            if it.disarmed {
                continue;
            }
            let Some(f) = it.file.upgrade() else { continue };
            let mask = it.events & !(EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP);
            let r = f.file.poll() & (mask | ALWAYS);
            if r == 0 {
                continue;
            }
            let events = f.file.wait_queue().map(|q| [q.events(false), q.events(true)]);
            if it.events & EPOLLET != 0 {
                if let (Some(now), Some(seen)) = (events, it.seen) {
                    // Edge-triggered: only wake-ups since the last report, on the
                    // side the interest and the ready events name, are new edges.
                    let read_edge = now[0] != seen[0] && r & !POLLOUT_ANY != 0;
                    let write_edge = now[1] != seen[1] && r & POLLOUT_ANY != 0;
                    if !read_edge && !write_edge {
                        continue;
                    }
                }
            }
            out.push(Ready { key: *k, events: r, data: it.data, seen: events });
        }
        out
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
