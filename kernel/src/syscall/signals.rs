//! Signal calls beyond the basics: signalfd, and queueing a signal with its
//! information (rt_sigqueueinfo, rt_tgsigqueueinfo).
use alloc::sync::Arc;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::SI_TKILL;
use elfin_shim::uapi::Siginfo;
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, O_NONBLOCK};
use crate::fs::signalfd::SignalFd;
use crate::task::{signal, table, Ctx, Process};

const O_CLOEXEC: u32 = 0o2000000;

/// signalfd(2)/signalfd4(2): a new signalfd (`fd` -1) or a new mask for one.
pub fn signalfd4(cx: &Ctx, fd: i32, mask: UAddr, sizemask: usize, flags: i32) -> SysResult {
    let flags = flags as u32;
    if sizemask != 8 || flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = cx.read_val(mask)?;
    if fd == -1 {
        let file = OpenFile::new(SignalFd::new(m), 2 | (flags & O_NONBLOCK), alloc::vec::Vec::new());
        return Ok(cx.install(file, flags & O_CLOEXEC != 0)? as u64);
    }
    let f = cx.fd(fd)?;
    let s = f.downcast::<SignalFd>().ok_or(Errno::EINVAL)?;
    s.set_mask(m);
    Ok(fd as u64)
}

/// Reads a siginfo a program sends: the kernel's own marks are cleared, and
/// si_signo is the signal sent.
fn user_info(cx: &Ctx, sig: i32, uinfo: UAddr) -> Result<Siginfo, Errno> {
    let mut info: Siginfo = cx.read_val(uinfo)?;
    info._pad = 0;
    info.si_signo = sig;
    Ok(info)
}

/// Whether queueing one more real-time signal to `p` stays within its
/// RLIMIT_SIGPENDING (standard signals merge and never count).
fn may_queue(p: &Arc<Process>, sig: i32) -> bool {
    if sig < 32 {
        return true;
    }
    let queued: usize =
        p.shared_pending.lock().len() + p.threads.lock().iter().map(|t| t.sig.lock().pending.len()).sum::<usize>();
    (queued as u64) < p.rlimit(11)
}

/// rt_sigqueueinfo(2).
pub fn rt_sigqueueinfo(cx: &Ctx, pid: i32, sig: i32, uinfo: UAddr) -> SysResult {
    let info = user_info(cx, sig, uinfo)?;
    // Not even root may pretend to be the kernel or tkill to another process.
    if (info.si_code >= 0 || info.si_code == SI_TKILL) && pid != cx.proc.pid {
        return Err(Errno::EPERM);
    }
    let p = if pid > 0 { table::process(pid).ok_or(Errno::ESRCH)? } else { return Err(Errno::ESRCH) };
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if !super::proc::may_signal(cx, &p) {
        return Err(Errno::EPERM);
    }
    if !may_queue(&p, sig) {
        return Err(Errno::EAGAIN);
    }
    signal::send_to_process(&p, sig as u32, info);
    Ok(0)
}

/// rt_tgsigqueueinfo(2).
pub fn rt_tgsigqueueinfo(cx: &Ctx, tgid: i32, tid: i32, sig: i32, uinfo: UAddr) -> SysResult {
    let info = user_info(cx, sig, uinfo)?;
    if tid <= 0 || tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    if (info.si_code >= 0 || info.si_code == SI_TKILL) && tid != cx.thread.tid() {
        return Err(Errno::EPERM);
    }
    let t = table::thread(tid).filter(|t| t.process.pid == tgid).ok_or(Errno::ESRCH)?;
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if !super::proc::may_signal(cx, &t.process) {
        return Err(Errno::EPERM);
    }
    if !may_queue(&t.process, sig) {
        return Err(Errno::EAGAIN);
    }
    signal::send_to_thread(&t, sig as u32, info);
    Ok(0)
}
