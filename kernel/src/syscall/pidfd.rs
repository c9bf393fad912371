//! pidfd_open, pidfd_send_signal, pidfd_getfd, setns (and the pidfd side of waitid).
use alloc::sync::Arc;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::{SI_TKILL, SI_USER};
use elfin_shim::uapi::Siginfo;
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::O_NONBLOCK;
use crate::fs::pidfd::{self, PidFd};
use crate::task::{signal, table, Ctx, Process};

/// PIDFD_THREAD (O_EXCL): a pidfd for a thread rather than a process.
const PIDFD_THREAD: u32 = 0o200;
const PIDFD_SIGNAL_THREAD: u32 = 1;
const PIDFD_SIGNAL_THREAD_GROUP: u32 = 2;
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 4;

/// The process a pidfd descriptor names (EBADF when it is not a pidfd).
pub fn process_of(cx: &Ctx, fd: i32) -> Result<Arc<Process>, Errno> {
    Ok(target_of(cx, fd)?.0)
}

/// The process a pidfd names and, for a thread pidfd, the thread id.
fn target_of(cx: &Ctx, fd: i32) -> Result<(Arc<Process>, Option<i32>), Errno> {
    let f = cx.fd(fd)?;
    let p = f.downcast::<PidFd>().ok_or(Errno::EBADF)?;
    Ok((p.proc.clone(), p.tid))
}

/// pidfd_open(2): always close-on-exec.
pub fn pidfd_open(cx: &Ctx, pid: i32, flags: u32) -> SysResult {
    if flags & !(O_NONBLOCK | PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let (p, tid) = if flags & PIDFD_THREAD != 0 {
        (table::thread(pid).map(|t| t.process.clone()).ok_or(Errno::ESRCH)?, Some(pid))
    } else {
        match table::process(pid) {
            Some(p) => (p, None),
            // A thread id that is not a process: Linux says ENOENT.
            None if table::thread(pid).is_some() => return Err(Errno::ENOENT),
            None => return Err(Errno::ESRCH),
        }
    };
    let file = pidfd::open_file(p, tid, flags & O_NONBLOCK != 0);
    Ok(cx.install(file, true)? as u64)
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(cx: &Ctx, fd: i32, sig: i32, info: UAddr, flags: u32) -> SysResult {
    if flags & !(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP) != 0
        || flags.count_ones() > 1
    {
        return Err(Errno::EINVAL);
    }
    let (p, tid) = target_of(cx, fd)?;
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    // The scope: the flag's, else the pidfd's own (a thread pidfd signals the thread).
    let to_thread = match flags {
        PIDFD_SIGNAL_THREAD => true,
        0 => tid.is_some(),
        _ => false,
    };
    // The task the pidfd names (a process pidfd names its leader).
    let tid = tid.unwrap_or(p.pid);
    let info = if info.is_null() {
        let uid = cx.proc.cred.lock().uid[0];
        Siginfo::kill(sig, SI_USER, cx.proc.pid, uid)
    } else {
        let mut i: Siginfo = cx.read_val(info)?;
        i._pad = 0;
        if i.si_signo != sig {
            return Err(Errno::EINVAL);
        }
        // Not even root may pretend to be the kernel or tkill, except to itself.
        let own = tid == cx.thread.tid() && flags != PIDFD_SIGNAL_PROCESS_GROUP;
        if (i.si_code >= 0 || i.si_code == SI_TKILL) && !own {
            return Err(Errno::EPERM);
        }
        i
    };
    if p.is_exiting() {
        return Err(Errno::ESRCH);
    }
    if !super::proc::may_signal(cx, &p) {
        return Err(Errno::EPERM);
    }
    if flags & PIDFD_SIGNAL_PROCESS_GROUP != 0 {
        let g = p.pgid.load(core::sync::atomic::Ordering::Relaxed);
        for m in table::processes().into_iter().filter(|m| m.pgid.load(core::sync::atomic::Ordering::Relaxed) == g) {
            if super::proc::may_signal(cx, &m) {
                signal::send_to_process(&m, sig as u32, info);
            }
        }
    } else if to_thread {
        let t = p.threads.lock().iter().find(|t| t.tid() == tid).cloned().ok_or(Errno::ESRCH)?;
        signal::send_to_thread(&t, sig as u32, info);
    } else {
        signal::send_to_process(&p, sig as u32, info);
    }
    Ok(0)
}

/// pidfd_getfd(2): a duplicate (close-on-exec) of another process's descriptor.
pub fn pidfd_getfd(cx: &Ctx, fd: i32, target: i32, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let p = process_of(cx, fd)?;
    if p.is_exiting() {
        return Err(Errno::ESRCH);
    }
    if !super::sys::may_trace_process(cx, &p) {
        return Err(Errno::EPERM);
    }
    let f = p.files().lock().get(target)?;
    Ok(cx.install(f, true)? as u64)
}

/// setns(2): elfin has one set of namespaces, so only a pidfd names any (those of
/// its process, which are the caller's own): joining them changes nothing, though
/// the checks are Linux's. No other descriptor is a namespace's (EINVAL).
pub fn setns(cx: &Ctx, fd: i32, nstype: i32) -> SysResult {
    use elfin_shim::uapi::clone_flags::CLONE_NEWUSER;
    const ALL: u64 = super::proc::NAMESPACES;
    let (p, _) =
        target_of(cx, fd).map_err(|e| if e == Errno::EBADF && cx.fd(fd).is_ok() { Errno::EINVAL } else { e })?;
    let t = nstype as u32 as u64;
    if t == 0 || t & !ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if p.is_exiting() {
        return Err(Errno::ESRCH);
    }
    // Reentering one's own user namespace is refused (userns_install).
    if t & CLONE_NEWUSER != 0 {
        return Err(Errno::EINVAL);
    }
    if !cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    Ok(0)
}
