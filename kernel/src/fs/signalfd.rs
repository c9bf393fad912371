//! signalfd: reading takes pending signals of a mask, as sigwaitinfo would, as
//! `struct signalfd_siginfo` records. As in Linux the signals are those of the
//! thread that reads or polls (not of the one that created the descriptor), so a
//! forked child reading an inherited signalfd sees its own.
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::*;
use elfin_shim::uapi::{Siginfo, SignalfdSiginfo, StatInfo};

use super::file::{FileLike, OpenFile, POLLIN};
use crate::task::{signal, wait, Ctx, Restart, Thread, WaitQueue};

/// A signalfd.
pub struct SignalFd {
    mask: AtomicU64,
}

impl SignalFd {
    /// A signalfd for the signals in `mask` (SIGKILL and SIGSTOP never).
    pub fn new(mask: u64) -> Arc<SignalFd> {
        Arc::new(SignalFd { mask: AtomicU64::new(mask & !signal::UNBLOCKABLE) })
    }

    /// Replaces the mask (signalfd on an existing descriptor).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !signal::UNBLOCKABLE, Ordering::SeqCst);
        signal::QUEUED.wake_all();
    }

    fn pending(&self, t: &Thread) -> bool {
        let m = self.mask.load(Ordering::SeqCst);
        let own = t.sig.lock().pending.mask();
        (own | t.process.shared_pending.lock().mask()) & m != 0
    }
}

/// Linux's signalfd_copyinfo: which union members are copied depends on the
/// layout the signal and its code say the siginfo has.
pub fn to_ssi(info: &Siginfo) -> SignalfdSiginfo {
    let b = bytemuck::bytes_of(info);
    let u32_at = |o: usize| u32::from_ne_bytes(b.get(o..o + 4).and_then(|s| s.try_into().ok()).unwrap_or([0; 4]));
    let u64_at = |o: usize| u64::from_ne_bytes(b.get(o..o + 8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]));
    let mut s = SignalfdSiginfo {
        ssi_signo: info.si_signo as u32,
        ssi_errno: info.si_errno,
        ssi_code: info.si_code,
        ..Default::default()
    };
    let (sig, code) = (info.si_signo, info.si_code);
    let kernel_code = code > SI_USER && code < SI_KERNEL;
    let fault = matches!(sig, SIGILL | SIGFPE | SIGSEGV | SIGBUS | SIGTRAP);
    if kernel_code && fault {
        s.ssi_addr = u64_at(16);
    } else if kernel_code && sig == SIGCHLD {
        s.ssi_pid = u32_at(16);
        s.ssi_uid = u32_at(20);
        s.ssi_status = u32_at(24) as i32;
        s.ssi_utime = u64_at(32);
        s.ssi_stime = u64_at(40);
    } else if (kernel_code && code <= 6) || code == SI_SIGIO {
        s.ssi_band = u64_at(16) as u32;
        s.ssi_fd = u32_at(24) as i32;
    } else if code == SI_TIMER {
        s.ssi_tid = u32_at(16);
        s.ssi_overrun = u32_at(20);
        s.ssi_ptr = u64_at(24);
        s.ssi_int = u32_at(24) as i32;
    } else if code < 0 {
        s.ssi_pid = u32_at(16);
        s.ssi_uid = u32_at(20);
        s.ssi_ptr = u64_at(24);
        s.ssi_int = u32_at(24) as i32;
    } else {
        s.ssi_pid = u32_at(16);
        s.ssi_uid = u32_at(20);
    }
    s
}

impl FileLike for SignalFd {
    fn read(&self, cx: &Ctx, f: &OpenFile, out: &mut [u8]) -> Result<usize, Errno> {
        const SIZE: usize = core::mem::size_of::<SignalfdSiginfo>();
        let max = out.len() / SIZE;
        if max == 0 {
            return Err(Errno::EINVAL);
        }
        let t = cx.thread.clone();
        let mut n = 0usize;
        // The first signal may be waited for; the rest are what is pending now.
        let first = wait::wait_for(cx, &[&signal::QUEUED], None, Restart::Sys, || {
            match signal::take_signal(&t, self.mask.load(Ordering::SeqCst)) {
                Some(x) => Some(Ok(x)),
                None if f.nonblocking() => Some(Err(Errno::EAGAIN)),
                None => None,
            }
        })??;
        let mut next = Some(first);
        while let Some((_, info)) = next {
            let ssi = to_ssi(&info);
            out.get_mut(n * SIZE..(n + 1) * SIZE).ok_or(Errno::EINVAL)?.copy_from_slice(bytemuck::bytes_of(&ssi));
            n += 1;
            next = if n < max { signal::take_signal(&t, self.mask.load(Ordering::SeqCst)) } else { None };
        }
        Ok(n * SIZE)
    }

    fn poll(&self) -> u32 {
        match crate::task::sched::try_current() {
            Some(t) if self.pending(&t) => POLLIN,
            _ => 0,
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&signal::QUEUED)
    }

    fn stat(&self) -> StatInfo {
        super::eventfd::anon_stat()
    }

    fn link_name(&self, _f: &OpenFile) -> alloc::vec::Vec<u8> {
        b"anon_inode:[signalfd]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
