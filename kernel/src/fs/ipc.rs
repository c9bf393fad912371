//! Pipes, eventfds and epoll instances, and the readiness of any open file
//! (shared by poll, select and epoll). Operations that cannot proceed return
//! EAGAIN; the system-call layer then blocks the thread (unless the file is
//! non-blocking) and restarts the call when something changes.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicUsize, Ordering};

use elfin_shim::errno::Errno;
use spin::Mutex;

use super::file::{FileKind, OpenFile};

/// Pipe capacity (Linux's default of 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic (PIPE_BUF).
pub const PIPE_BUF: usize = 4096;

/// poll/epoll event bits (same values in both APIs).
pub const POLLIN: u32 = 0x1;
/// Writable.
pub const POLLOUT: u32 = 0x4;
/// Error.
pub const POLLERR: u32 = 0x8;
/// Hang-up.
pub const POLLHUP: u32 = 0x10;

/// A pipe's buffer and its open ends.
pub struct Pipe {
    buf: Mutex<VecDeque<u8>>,
    /// Open read ends.
    pub readers: AtomicUsize,
    /// Open write ends.
    pub writers: AtomicUsize,
}

impl Pipe {
    /// A new pipe with one reader and one writer.
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe { buf: Mutex::new(VecDeque::new()), readers: AtomicUsize::new(1), writers: AtomicUsize::new(1) })
    }

    /// Reads what is there; 0 at end of file; EAGAIN when empty with writers.
    pub fn read(&self, out: &mut [u8]) -> Result<usize, Errno> {
        let mut b = self.buf.lock();
        if b.is_empty() {
            return if self.writers.load(Ordering::Relaxed) == 0 { Ok(0) } else { Err(Errno::EAGAIN) };
        }
        let n = out.len().min(b.len());
        for (d, s) in out.iter_mut().zip(b.drain(..n)) {
            *d = s;
        }
        drop(b);
        crate::sched::wake_pollers();
        Ok(n)
    }

    /// Writes what fits (all or nothing up to PIPE_BUF); EPIPE without readers.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        if self.readers.load(Ordering::Relaxed) == 0 {
            return Err(Errno::EPIPE);
        }
        let mut b = self.buf.lock();
        let space = PIPE_CAPACITY - b.len();
        if space == 0 || (data.len() <= PIPE_BUF && space < data.len()) {
            return Err(Errno::EAGAIN);
        }
        let n = data.len().min(space);
        b.extend(data.iter().take(n));
        drop(b);
        crate::sched::wake_pollers();
        Ok(n)
    }

    fn readiness(&self, write_end: bool) -> u32 {
        let len = self.buf.lock().len();
        if write_end {
            if self.readers.load(Ordering::Relaxed) == 0 {
                POLLERR
            } else if len < PIPE_CAPACITY {
                POLLOUT
            } else {
                0
            }
        } else {
            let mut r = if len > 0 { POLLIN } else { 0 };
            if self.writers.load(Ordering::Relaxed) == 0 {
                r |= POLLHUP;
            }
            r
        }
    }

    /// Bytes waiting (FIONREAD).
    pub fn available(&self) -> usize {
        self.buf.lock().len()
    }
}

/// An eventfd counter.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
}

impl EventFd {
    /// A new eventfd.
    pub fn new(initval: u32, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd { count: Mutex::new(u64::from(initval)), semaphore })
    }

    /// read(2) of 8 bytes.
    pub fn read(&self, out: &mut [u8]) -> Result<usize, Errno> {
        if out.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock();
        if *c == 0 {
            return Err(Errno::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        out.get_mut(..8).ok_or(Errno::EINVAL)?.copy_from_slice(&v.to_ne_bytes());
        drop(c);
        crate::sched::wake_pollers();
        Ok(8)
    }

    /// write(2) of 8 bytes.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let v = u64::from_ne_bytes(data.get(..8).ok_or(Errno::EINVAL)?.try_into().map_err(|_| Errno::EINVAL)?);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock();
        if u64::MAX - 1 - *c < v {
            return Err(Errno::EAGAIN);
        }
        *c += v;
        drop(c);
        crate::sched::wake_pollers();
        Ok(8)
    }

    fn readiness(&self) -> u32 {
        let c = *self.count.lock();
        (if c > 0 { POLLIN } else { 0 }) | (if c < u64::MAX - 1 { POLLOUT } else { 0 })
    }
}

/// One registered interest of an epoll instance.
struct Interest {
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
}

/// An epoll instance.
#[derive(Default)]
pub struct Epoll {
    interests: Mutex<BTreeMap<i32, Interest>>,
}

const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
/// Events always reported.
const ALWAYS: u32 = POLLERR | POLLHUP;

impl Epoll {
    /// A new instance.
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll::default())
    }

    /// epoll_ctl(2) on `fd` (already looked up as `file`).
    pub fn ctl(&self, op: i32, fd: i32, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<(), Errno> {
        if let FileKind::Epoll(e) = &file.kind {
            if core::ptr::eq(Arc::as_ptr(e), self) {
                return Err(Errno::EINVAL);
            }
        }
        if matches!(&file.kind, FileKind::Node(n) if !matches!(n.kind, super::NodeKind::Dev(_))) {
            // Regular files and directories cannot be polled with epoll.
            return Err(Errno::EPERM);
        }
        let mut i = self.interests.lock();
        let alive = |it: &Interest| it.file.upgrade().map(|f| Arc::ptr_eq(&f, file)).unwrap_or(false);
        match op {
            1 => {
                if i.get(&fd).map(alive).unwrap_or(false) {
                    return Err(Errno::EEXIST);
                }
                i.insert(fd, Interest { file: Arc::downgrade(file), events, data });
            }
            2 => {
                if !i.get(&fd).map(alive).unwrap_or(false) {
                    return Err(Errno::ENOENT);
                }
                i.remove(&fd);
            }
            3 => {
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                match i.get_mut(&fd) {
                    Some(it) if alive(it) => {
                        it.events = events;
                        it.data = data;
                    }
                    _ => return Err(Errno::ENOENT),
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// Ready events (level-triggered; EPOLLET is reported like level), at most `max`.
    pub fn collect(&self, max: usize) -> alloc::vec::Vec<(u32, u64)> {
        let mut out = alloc::vec::Vec::new();
        let mut i = self.interests.lock();
        i.retain(|_, it| it.file.strong_count() > 0);
        for it in i.values_mut() {
            if out.len() >= max {
                break;
            }
            let Some(f) = it.file.upgrade() else { continue };
            let mask = it.events & !(EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP);
            let r = readiness(&f) & (mask | ALWAYS);
            if r != 0 {
                out.push((r, it.data));
                if it.events & EPOLLONESHOT != 0 {
                    it.events = 0;
                }
            }
        }
        out
    }

    fn readiness(&self) -> u32 {
        let i = self.interests.lock();
        let any =
            i.values().any(|it| it.file.upgrade().map(|f| readiness(&f) & (it.events | ALWAYS) != 0).unwrap_or(false));
        if any {
            POLLIN
        } else {
            0
        }
    }
}

/// The poll events an open file is ready for now.
pub fn readiness(f: &OpenFile) -> u32 {
    match &f.kind {
        FileKind::ConsoleIn => {
            let mut r = 0;
            if elfin_plat::console::input_ready() {
                r |= POLLIN;
            }
            if elfin_plat::console::input_eof() {
                r |= POLLIN | POLLHUP;
            }
            r
        }
        FileKind::ConsoleOut(_) => POLLOUT,
        FileKind::Node(_) => POLLIN | POLLOUT,
        FileKind::PipeRead(p) => p.readiness(false),
        FileKind::PipeWrite(p) => p.readiness(true),
        FileKind::EventFd(e) => e.readiness(),
        FileKind::Epoll(e) => e.readiness(),
    }
}
