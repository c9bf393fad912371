//! FIFOs (named pipes made by mknod): opening one attaches to the pipe of the
//! node, created by the first open and gone (with what it held) when the last
//! end closes. As in Linux, opening for reading waits for a writer and opening
//! for writing waits for a reader, unless O_NONBLOCK (a writer then gets ENXIO
//! without a reader); O_RDWR never waits.
use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;
use spin::Mutex;

use super::file::{FileLike, OpenFile, O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY, POLLHUP};
use super::pipe::{Pipe, PipeEnd};
use super::{stat_of, Inode};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// The pipe state of a FIFO node.
#[derive(Default)]
pub struct Fifo {
    pipe: Mutex<Weak<Pipe>>,
    /// Opens for reading and for writing so far (a waiting open looks for a change).
    r_counter: AtomicU64,
    w_counter: AtomicU64,
    wq: WaitQueue,
}

impl Fifo {
    fn pipe(&self) -> Arc<Pipe> {
        let mut p = self.pipe.lock();
        if let Some(pipe) = p.upgrade() {
            return pipe;
        }
        let pipe = Pipe::empty();
        *p = Arc::downgrade(&pipe);
        pipe
    }
}

/// Opens the FIFO `node` (whose state is `fifo`) with `flags`.
pub fn open(cx: &Ctx, node: Arc<dyn Inode>, fifo: &Fifo, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
    let pipe = fifo.pipe();
    let nonblock = flags & O_NONBLOCK != 0;
    let (r, w) = match flags & O_ACCMODE {
        O_RDWR => {
            let ends = (Some(pipe.end(false)), Some(pipe.end(true)));
            fifo.r_counter.fetch_add(1, Ordering::SeqCst);
            fifo.w_counter.fetch_add(1, Ordering::SeqCst);
            fifo.wq.wake_all();
            ends
        }
        O_WRONLY => {
            if pipe.readers() == 0 && nonblock {
                return Err(Errno::ENXIO);
            }
            let end = pipe.end(true);
            let seen = fifo.r_counter.load(Ordering::SeqCst);
            fifo.w_counter.fetch_add(1, Ordering::SeqCst);
            fifo.wq.wake_all();
            if pipe.readers() == 0 {
                wait::wait_for(cx, &[&fifo.wq], None, Restart::Sys, || {
                    (fifo.r_counter.load(Ordering::SeqCst) != seen).then_some(())
                })?;
            }
            (None, Some(end))
        }
        _ => {
            let end = pipe.end(false);
            let seen = fifo.w_counter.load(Ordering::SeqCst);
            fifo.r_counter.fetch_add(1, Ordering::SeqCst);
            fifo.wq.wake_all();
            if pipe.writers() == 0 {
                if nonblock {
                    return Ok(Arc::new(FifoFile { node, r: Some(end), w: None, hup_after: Some(seen) }));
                }
                wait::wait_for(cx, &[&fifo.wq], None, Restart::Sys, || {
                    (fifo.w_counter.load(Ordering::SeqCst) != seen).then_some(())
                })?;
            }
            (Some(end), None)
        }
    };
    Ok(Arc::new(FifoFile { node, r, w, hup_after: None }))
}

/// An open FIFO: a read end, a write end, or both (O_RDWR).
pub struct FifoFile {
    node: Arc<dyn Inode>,
    r: Option<PipeEnd>,
    w: Option<PipeEnd>,
    /// For a reader opened with O_NONBLOCK and no writer: the writers opened so far
    /// then. It sees POLLHUP only once a writer came and went since (Linux's
    /// f_version check); any other reader sees it whenever no writer is left.
    hup_after: Option<u64>,
}

impl FileLike for FifoFile {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        self.r.as_ref().ok_or(Errno::EBADF)?.read(cx, f, buf)
    }
    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        self.w.as_ref().ok_or(Errno::EBADF)?.write(cx, f, data)
    }
    fn poll(&self) -> u32 {
        let mut m = self.r.as_ref().map(|e| e.poll()).unwrap_or(0) | self.w.as_ref().map(|e| e.poll()).unwrap_or(0);
        if let Some(opened) = self.hup_after {
            let writers_came = self.node.fifo().map(|f| f.w_counter.load(Ordering::SeqCst)).unwrap_or(0);
            if writers_came == opened {
                m &= !POLLHUP;
            }
        }
        m
    }
    fn fasync(&self) -> bool {
        true
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.r.as_ref().or(self.w.as_ref()).and_then(|e| e.wait_queue())
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn ioctl(&self, cx: &Ctx, f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        self.r.as_ref().or(self.w.as_ref()).ok_or(Errno::ENOTTY)?.ioctl(cx, f, cmd, arg)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl FifoFile {
    /// The pipe behind the FIFO (F_GETPIPE_SZ, splice).
    pub fn end(&self) -> Option<&PipeEnd> {
        self.r.as_ref().or(self.w.as_ref())
    }
}
