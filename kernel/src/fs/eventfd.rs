//! eventfd: a 64-bit counter that read empties (or decrements, in semaphore mode)
//! and write adds to.
use alloc::sync::Arc;
use core::any::Any;

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{StatInfo, Timespec};

use super::file::{FileLike, OpenFile, POLLERR, POLLIN, POLLOUT};
use crate::task::{wait, Ctx, Restart, WaitQueue, Wake};

/// An eventfd counter.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    wq: WaitQueue,
}

impl EventFd {
    /// A new eventfd.
    pub fn new(initval: u32, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd { count: Mutex::new(u64::from(initval)), semaphore, wq: WaitQueue::new() })
    }

    /// Adds one to the counter without waiting, as Linux's eventfd_signal (an
    /// AIO completion): the count stops short of its maximum instead of blocking.
    pub fn signal(&self) {
        {
            let mut c = self.count.lock();
            if *c < u64::MAX - 1 {
                *c += 1;
            }
        }
        self.wq.wake(Wake::Readable);
    }
}

impl FileLike for EventFd {
    fn read(&self, cx: &Ctx, f: &OpenFile, out: &mut [u8]) -> Result<usize, Errno> {
        if out.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = wait::wait_for(cx, &[&self.wq], None, Restart::Sys, || {
            let mut c = self.count.lock();
            if *c == 0 {
                return if f.nonblocking() { Some(Err(Errno::EAGAIN)) } else { None };
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(Ok(v))
        })??;
        out.get_mut(..8).ok_or(Errno::EINVAL)?.copy_from_slice(&v.to_ne_bytes());
        self.wq.wake(Wake::Writable);
        Ok(8)
    }

    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let v = u64::from_ne_bytes(data.get(..8).ok_or(Errno::EINVAL)?.try_into().map_err(|_| Errno::EINVAL)?);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        wait::wait_for(cx, &[&self.wq], None, Restart::Sys, || {
            let mut c = self.count.lock();
            if u64::MAX - 1 - *c < v {
                return if f.nonblocking() { Some(Err(Errno::EAGAIN)) } else { None };
            }
            *c += v;
            Some(Ok(()))
        })??;
        self.wq.wake(Wake::Readable);
        Ok(8)
    }

    fn poll(&self) -> u32 {
        let c = *self.count.lock();
        let mut r = if c > 0 { POLLIN } else { 0 };
        if c < u64::MAX - 1 {
            r |= POLLOUT;
        }
        if c == u64::MAX {
            r |= POLLERR;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn stat(&self) -> StatInfo {
        anon_stat()
    }

    fn link_name(&self, _f: &OpenFile) -> alloc::vec::Vec<u8> {
        b"anon_inode:[eventfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `stat` of an anonymous-inode file (eventfd, epoll, …).
pub fn anon_stat() -> StatInfo {
    let t = Timespec { tv_sec: 0, tv_nsec: 0 };
    StatInfo {
        dev: 0xe,
        ino: 1,
        mode: 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blksize: 4096,
        blocks: 0,
        atime: t,
        mtime: t,
        ctime: t,
        btime: t,
    }
}
