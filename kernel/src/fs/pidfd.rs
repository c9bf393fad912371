//! pidfd: a descriptor that names a process. It polls readable once the
//! process has exited, and the pidfd calls (and waitid P_PIDFD) act on it.
use alloc::sync::Arc;
use core::any::Any;

use elfin_shim::uapi::StatInfo;

use super::file::{FileLike, OpenFile, POLLIN, POLLRDNORM};
use crate::task::{Process, WaitQueue};

/// A pidfd.
pub struct PidFd {
    /// The process it names (kept, as Linux keeps the struct pid).
    pub proc: Arc<Process>,
    /// PIDFD_THREAD: the thread of `proc` it names instead.
    pub tid: Option<i32>,
}

impl PidFd {
    /// Whether the process (every thread of it), or the thread, has exited.
    pub fn exited(&self) -> bool {
        {
            let s = self.proc.state.lock();
            if s.zombie || s.live_threads == 0 {
                return true;
            }
        }
        match self.tid {
            Some(tid) => !self.proc.threads.lock().iter().any(|t| t.tid() == tid),
            None => false,
        }
    }
}

impl FileLike for PidFd {
    fn poll(&self) -> u32 {
        if self.exited() {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.proc.state_wq)
    }
    fn stat(&self) -> StatInfo {
        super::eventfd::anon_stat()
    }
    fn link_name(&self, _f: &OpenFile) -> alloc::vec::Vec<u8> {
        b"anon_inode:[pidfd]".to_vec()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A descriptor-ready pidfd file for `p`, or for its thread `tid` (O_RDWR,
/// plus O_NONBLOCK when asked).
pub fn open_file(p: Arc<Process>, tid: Option<i32>, nonblock: bool) -> Arc<OpenFile> {
    let flags = 2 | if nonblock { super::file::O_NONBLOCK } else { 0 };
    OpenFile::new(Arc::new(PidFd { proc: p, tid }), flags, alloc::vec::Vec::new())
}
