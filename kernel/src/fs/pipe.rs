//! Pipes: a 64 KiB buffer with its open ends. Writes up to PIPE_BUF are atomic;
//! readers see end of file when the last writer is gone, and writers get EPIPE
//! (with SIGPIPE) when the last reader is.
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::S_IFIFO;
use elfin_shim::uapi::{StatInfo, Timespec};

use super::file::{FileLike, OpenFile, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use crate::task::{wait, Ctx, Restart, WaitQueue, Wake};

/// Pipe capacity (Linux's default of 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Linux's default /proc/sys/fs/pipe-max-size: the most F_SETPIPE_SZ gives without
/// CAP_SYS_RESOURCE.
pub const PIPE_MAX_SIZE: usize = 1 << 20;
/// Writes up to this size are atomic (PIPE_BUF).
pub const PIPE_BUF: usize = 4096;
/// Device number of the pipe filesystem.
const PIPEFS_DEV: u64 = 0xd;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A pipe's buffer and its open ends.
pub struct Pipe {
    buf: Mutex<VecDeque<u8>>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    wq: WaitQueue,
    ino: u64,
    capacity: AtomicUsize,
}

impl Pipe {
    /// A new pipe and its (read end, write end).
    pub fn pair() -> (Arc<dyn FileLike>, Arc<dyn FileLike>) {
        let p = Pipe::empty();
        (Arc::new(p.end(false)), Arc::new(p.end(true)))
    }

    /// A pipe with no end open yet (the buffer of a FIFO).
    pub fn empty() -> Arc<Pipe> {
        Arc::new(Pipe {
            buf: Mutex::new(VecDeque::new()),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            wq: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            capacity: AtomicUsize::new(PIPE_CAPACITY),
        })
    }

    /// Opens one more read or write end.
    pub fn end(self: &Arc<Pipe>, write: bool) -> PipeEnd {
        if write {
            self.writers.fetch_add(1, Ordering::SeqCst);
        } else {
            self.readers.fetch_add(1, Ordering::SeqCst);
        }
        self.wq.wake_all();
        PipeEnd { pipe: self.clone(), write }
    }

    /// Open read ends.
    pub fn readers(&self) -> usize {
        self.readers.load(Ordering::SeqCst)
    }

    /// Open write ends.
    pub fn writers(&self) -> usize {
        self.writers.load(Ordering::SeqCst)
    }

    /// The buffer size (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// F_SETPIPE_SZ: at least one page, rounded up to a power of two; EBUSY when
    /// more is buffered than would fit; growing past /proc/sys/fs/pipe-max-size
    /// (1 MiB) needs CAP_SYS_RESOURCE (`privileged`).
    pub fn set_capacity(&self, want: u32, privileged: bool) -> Result<usize, Errno> {
        if want > (1 << 31) {
            return Err(Errno::EINVAL);
        }
        let size = (want as usize).max(4096).next_power_of_two();
        if size > self.capacity() && size > super::sysctl::pipe_max_size() && !privileged {
            return Err(Errno::EPERM);
        }
        let b = self.buf.lock();
        if b.len() > size {
            return Err(Errno::EBUSY);
        }
        self.capacity.store(size, Ordering::Relaxed);
        drop(b);
        self.wq.wake(Wake::Writable);
        Ok(size)
    }

    /// Bytes waiting (FIONREAD).
    pub fn available(&self) -> usize {
        self.buf.lock().len()
    }

    /// For splice and tee: waits (unless `nonblock`) until the pipe holds data,
    /// and returns a copy of up to `max` bytes without taking them; empty at end
    /// of file (no writer left).
    pub fn peek_wait(&self, cx: &Ctx, nonblock: bool, max: usize) -> Result<alloc::vec::Vec<u8>, Errno> {
        wait::wait_for(cx, &[&self.wq], None, Restart::Sys, || {
            let b = self.buf.lock();
            if b.is_empty() {
                if self.writers.load(Ordering::SeqCst) == 0 {
                    return Some(Ok(alloc::vec::Vec::new()));
                }
                return if nonblock { Some(Err(Errno::EAGAIN)) } else { None };
            }
            Some(Ok(b.iter().take(max).copied().collect()))
        })?
    }

    /// Drops the first `n` bytes (after [`Pipe::peek_wait`]).
    pub fn consume(&self, n: usize) {
        let mut b = self.buf.lock();
        let n = n.min(b.len());
        b.drain(..n);
        drop(b);
        self.wq.wake(Wake::Writable);
    }

    /// For splice and tee: waits (unless `nonblock`) until the pipe has room;
    /// returns the free space. EPIPE (with SIGPIPE) when no reader is left.
    pub fn space_wait(&self, cx: &Ctx, nonblock: bool) -> Result<usize, Errno> {
        let r = wait::wait_for(cx, &[&self.wq], None, Restart::Sys, || {
            if self.readers.load(Ordering::SeqCst) == 0 {
                return Some(Err(Errno::EPIPE));
            }
            let space = self.capacity().saturating_sub(self.buf.lock().len());
            if space > 0 {
                Some(Ok(space))
            } else if nonblock {
                Some(Err(Errno::EAGAIN))
            } else {
                None
            }
        })?;
        if r == Err(Errno::EPIPE) {
            crate::task::signal::send_to_thread(&cx.thread, 13, elfin_shim::uapi::Siginfo::kill(13, 0, cx.proc.pid, 0));
        }
        r
    }

    /// Appends what fits of `data`; returns how much.
    pub fn push(&self, data: &[u8]) -> usize {
        let mut b = self.buf.lock();
        let n = self.capacity().saturating_sub(b.len()).min(data.len());
        b.extend(data.get(..n).unwrap_or(&[]).iter());
        drop(b);
        self.wq.wake(Wake::Readable);
        n
    }

    /// True when `other` is this pipe.
    pub fn same(&self, other: &Pipe) -> bool {
        core::ptr::eq(self, other)
    }

    fn readiness(&self, write_end: bool) -> u32 {
        let len = self.buf.lock().len();
        if write_end {
            // As Linux's pipe_poll: room to write, and an error once no reader is
            // left (both at once when the readers went with room left).
            let room = self.capacity().saturating_sub(len) >= PIPE_BUF.min(self.capacity());
            let mut w = if room { POLLOUT | POLLWRNORM } else { 0 };
            if self.readers.load(Ordering::SeqCst) == 0 {
                w |= POLLERR;
            }
            w
        } else {
            let mut r = if len > 0 { POLLIN | POLLRDNORM } else { 0 };
            if self.writers.load(Ordering::SeqCst) == 0 {
                r |= POLLHUP;
            }
            r
        }
    }
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
}

impl PipeEnd {
    /// The pipe.
    pub fn pipe(&self) -> &Pipe {
        &self.pipe
    }
    /// True for the write end.
    pub fn is_write_end(&self) -> bool {
        self.write
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        if self.write {
            self.pipe.writers.fetch_sub(1, Ordering::SeqCst);
        } else {
            self.pipe.readers.fetch_sub(1, Ordering::SeqCst);
        }
        self.pipe.wq.wake_all();
    }
}

impl FileLike for PipeEnd {
    fn read(&self, cx: &Ctx, f: &OpenFile, out: &mut [u8]) -> Result<usize, Errno> {
        if self.write {
            return Err(Errno::EBADF);
        }
        if out.is_empty() {
            return Ok(0);
        }
        let p = &self.pipe;
        let take = || -> Option<Result<usize, Errno>> {
            let mut b = p.buf.lock();
            if b.is_empty() {
                if p.writers.load(Ordering::SeqCst) == 0 {
                    return Some(Ok(0));
                }
                if f.nonblocking() {
                    return Some(Err(Errno::EAGAIN));
                }
                return None;
            }
            let n = out.len().min(b.len());
            let (a, c) = b.as_slices();
            let na = n.min(a.len());
            out.get_mut(..na).unwrap_or(&mut []).copy_from_slice(a.get(..na).unwrap_or(&[]));
            let nb = n - na;
            out.get_mut(na..n).unwrap_or(&mut []).copy_from_slice(c.get(..nb).unwrap_or(&[]));
            b.drain(..n);
            Some(Ok(n))
        };
        let r = wait::wait_for(cx, &[&p.wq], None, Restart::Sys, take)??;
        p.wq.wake(Wake::Writable);
        Ok(r)
    }

    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let p = &self.pipe;
        let mut done = 0usize;
        loop {
            let step = wait::wait_for(cx, &[&p.wq], None, Restart::Sys, || {
                if p.readers.load(Ordering::SeqCst) == 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let mut b = p.buf.lock();
                let space = p.capacity().saturating_sub(b.len());
                let rest = data.get(done..).unwrap_or(&[]);
                // Up to PIPE_BUF bytes go in at once or not at all.
                let fits = if rest.len() <= PIPE_BUF { space >= rest.len() } else { space > 0 };
                if !fits {
                    return if f.nonblocking() { Some(Err(Errno::EAGAIN)) } else { None };
                }
                let n = rest.len().min(space);
                b.extend(rest.get(..n).unwrap_or(&[]).iter());
                Some(Ok(n))
            });
            match step {
                Ok(Ok(n)) => {
                    done += n;
                    p.wq.wake(Wake::Readable);
                    if done == data.len() {
                        return Ok(done);
                    }
                }
                Ok(Err(Errno::EPIPE)) => {
                    crate::task::signal::send_to_thread(
                        &cx.thread,
                        13,
                        elfin_shim::uapi::Siginfo::kill(13, 0, cx.proc.pid, 0),
                    );
                    return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
                }
                Ok(Err(e)) | Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
    }

    fn poll(&self) -> u32 {
        self.pipe.readiness(self.write)
    }

    fn fasync(&self) -> bool {
        true
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.wq)
    }

    fn stat(&self) -> StatInfo {
        let t = Timespec { tv_sec: 0, tv_nsec: 0 };
        StatInfo {
            dev: PIPEFS_DEV,
            ino: self.pipe.ino,
            mode: S_IFIFO | 0o600,
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

    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd {
            // FIONREAD
            0x541b => {
                let n = self.pipe.available() as i32;
                cx.write_val(elfin_shim::UAddr(arg), &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn link_name(&self, _f: &OpenFile) -> alloc::vec::Vec<u8> {
        alloc::format!("pipe:[{}]", self.pipe.ino).into_bytes()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
