//! Processes: clone/fork/vfork, wait4/waitid, kill/tkill/tgkill, process groups
//! and sessions.
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use elfin_arch::TrapFrame;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::clone_flags::*;
use elfin_shim::uapi::signal::*;
use elfin_shim::uapi::wait::*;
use elfin_shim::uapi::{CloneArgs, Rusage, Siginfo, Timeval};
use elfin_shim::UAddr;

use super::SysResult;
use crate::task::exit::{self, Found, Which};
use crate::task::fork;
use crate::task::{signal, table, Ctx, ExitStatus, Process, Thread};

/// clone(2).
pub fn clone(cx: &Ctx, tf: &TrapFrame, flags: u64, stack: u64, ptid: UAddr, ctid: UAddr, tls: u64) -> SysResult {
    let exit_signal = (flags & CSIGNAL) as u32;
    if exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    // clone(2) ignores the exit signal of a thread; CLONE_DETACHED is ignored.
    let flags = flags & !(CSIGNAL | CLONE_DETACHED);
    if flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 {
        return Err(Errno::EINVAL);
    }
    let exit_signal = if flags & CLONE_THREAD != 0 { 0 } else { exit_signal };
    fork::clone(cx, tf, fork::CloneArgs { flags, exit_signal, stack, parent_tid: ptid, child_tid: ctid, tls })
}

/// clone3(2): reads as much of `struct clone_args` as the caller says it has.
pub fn clone3(cx: &Ctx, tf: &TrapFrame, args: UAddr, size: usize) -> SysResult {
    if !(CloneArgs::SIZE_VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 88];
    let n = size.min(88);
    cx.read_bytes(args, raw.get_mut(..n).ok_or(Errno::EINVAL)?)?;
    if size > 88 {
        // Bytes beyond what this kernel knows must be zero (E2BIG otherwise).
        let mut extra = alloc::vec![0u8; size - 88];
        cx.read_bytes(UAddr(args.0 + 88), &mut extra)?;
        if extra.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let a: CloneArgs = bytemuck::pod_read_unaligned(&raw);
    if a.flags & CSIGNAL != 0 && a.flags & CLONE_NEWTIME == 0 {
        return Err(Errno::EINVAL);
    }
    if a.exit_signal > 64 || (a.exit_signal != 0 && a.flags & (CLONE_THREAD | CLONE_PARENT) != 0) {
        return Err(Errno::EINVAL);
    }
    if a.set_tid != 0 || a.set_tid_size != 0 {
        // Choosing the child's pid needs CAP_SYS_ADMIN in a pid namespace; none here.
        return Err(Errno::EINVAL);
    }
    if (a.stack == 0) != (a.stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let stack = if a.stack != 0 { a.stack.checked_add(a.stack_size).ok_or(Errno::EINVAL)? } else { 0 };
    if a.flags & CLONE_PIDFD != 0 && a.pidfd == 0 {
        return Err(Errno::EINVAL);
    }
    fork::clone(
        cx,
        tf,
        fork::CloneArgs {
            flags: a.flags & !CLONE_DETACHED,
            exit_signal: a.exit_signal as u32,
            stack,
            parent_tid: UAddr(a.parent_tid),
            child_tid: UAddr(a.child_tid),
            tls: a.tls,
        },
    )
}

fn rusage_of(child: &Process) -> Rusage {
    let ns = child.cpu_ns() + child.times.lock().children_ns;
    Rusage {
        ru_utime: Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 },
        ..Default::default()
    }
}

/// wait4(2).
pub fn wait4(cx: &Ctx, pid: i32, status: UAddr, options: i32, rusage: UAddr) -> SysResult {
    let options = options as u32;
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let which = match pid {
        -1 => Which::Any,
        0 => Which::Pgid(cx.proc.pgid.load(Ordering::Relaxed)),
        p if p < 0 => Which::Pgid(-p),
        p => Which::Pid(p),
    };
    let Some((child, found)) = exit::wait_child(cx, which, options | WEXITED)? else { return Ok(0) };
    let st = match found {
        Found::Exited(e) => e.wait_status(),
        Found::Stopped(sig) => ((sig as i32) << 8) | 0x7f,
        Found::Continued => 0xffff,
    };
    if !status.is_null() {
        cx.write_val(status, &st)?;
    }
    if !rusage.is_null() {
        cx.write_val(rusage, &rusage_of(&child))?;
    }
    Ok(child.pid as u64)
}

/// waitid(2).
pub fn waitid(cx: &Ctx, which: i32, id: i32, infop: UAddr, options: i32, rusage: UAddr) -> SysResult {
    let options = options as u32;
    if options & !(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    if options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let which = match which as u32 {
        P_ALL => Which::Any,
        P_PID if id > 0 => Which::Pid(id),
        P_PGID if id > 0 => Which::Pgid(id),
        P_PGID if id == 0 => Which::Pgid(cx.proc.pgid.load(Ordering::Relaxed)),
        P_PIDFD => {
            super::report_unsupported("waitid (P_PIDFD)");
            return Err(Errno::EINVAL);
        }
        _ => return Err(Errno::EINVAL),
    };
    let found = exit::wait_child(cx, which, options)?;
    let (signo, code, pid, status) = match &found {
        None => (0, 0, 0, 0),
        Some((c, Found::Exited(ExitStatus::Exited(code)))) => (SIGCHLD, CLD_EXITED, c.pid, i32::from(*code)),
        Some((c, Found::Exited(ExitStatus::Killed(sig)))) => (SIGCHLD, CLD_KILLED, c.pid, *sig as i32),
        Some((c, Found::Stopped(sig))) => (SIGCHLD, CLD_STOPPED, c.pid, *sig as i32),
        Some((c, Found::Continued)) => (SIGCHLD, CLD_CONTINUED, c.pid, SIGCONT),
    };
    if let (Some((c, _)), false) = (&found, rusage.is_null()) {
        cx.write_val(rusage, &rusage_of(c))?;
    }
    if !infop.is_null() {
        // Linux writes these fields (zeros when WNOHANG found nothing).
        let mut si = Siginfo::new(signo, 0, code);
        si.put(Siginfo::SI_PID_OFFSET, &pid.to_ne_bytes());
        si.put(Siginfo::SI_UID_OFFSET, &0u32.to_ne_bytes());
        si.put(Siginfo::SI_STATUS_OFFSET, &status.to_ne_bytes());
        let bytes = bytemuck::bytes_of(&si);
        cx.write_bytes(infop, bytes.get(..Siginfo::SI_STATUS_OFFSET + 4).ok_or(Errno::EFAULT)?)?;
    }
    Ok(0)
}

fn check_sig(sig: i32) -> Result<u32, Errno> {
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    Ok(sig as u32)
}

/// kill(2): to a process, to the caller's group (0), to a group (-pgid), or to
/// every process but pid 1 and the caller (-1).
pub fn kill(cx: &Ctx, pid: i32, sig: i32) -> SysResult {
    let sig = check_sig(sig)?;
    let info = Siginfo::kill(sig as i32, SI_USER, cx.proc.pid, 0);
    let targets: alloc::vec::Vec<Arc<Process>> = match pid {
        p if p > 0 => alloc::vec![table::process(p).ok_or(Errno::ESRCH)?],
        i32::MIN => return Err(Errno::ESRCH),
        -1 => {
            let all: alloc::vec::Vec<Arc<Process>> =
                table::processes().into_iter().filter(|p| p.pid != 1 && p.pid != cx.proc.pid).collect();
            if all.is_empty() {
                return Err(Errno::ESRCH);
            }
            all
        }
        p => {
            let g = if p == 0 { cx.proc.pgid.load(Ordering::Relaxed) } else { -p };
            let members: alloc::vec::Vec<Arc<Process>> =
                table::processes().into_iter().filter(|x| x.pgid.load(Ordering::Relaxed) == g).collect();
            if members.is_empty() {
                return Err(Errno::ESRCH);
            }
            members
        }
    };
    for t in targets {
        signal::send_to_process(&t, sig, info);
    }
    Ok(0)
}

/// tkill(2)/tgkill(2).
pub fn tgkill(cx: &Ctx, tgid: Option<i32>, tid: i32, sig: i32) -> SysResult {
    let sig = check_sig(sig)?;
    if tid <= 0 || tgid.map(|g| g <= 0).unwrap_or(false) {
        return Err(Errno::EINVAL);
    }
    let t = table::thread(tid).ok_or(Errno::ESRCH)?;
    if let Some(g) = tgid {
        if t.process.pid != g {
            return Err(Errno::ESRCH);
        }
    }
    signal::send_to_thread(&t, sig, Siginfo::kill(sig as i32, SI_TKILL, cx.proc.pid, 0));
    Ok(0)
}

/// The thread `pid` names for the sched_* and priority calls (0: the caller).
pub fn find_thread(cx: &Ctx, pid: i32) -> Result<Arc<Thread>, Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 {
        return Ok(cx.thread.clone());
    }
    table::thread(pid).ok_or(Errno::ESRCH)
}

fn target(cx: &Ctx, pid: i32) -> Result<Arc<Process>, Errno> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 {
        return Ok(cx.proc.clone());
    }
    table::process(pid).ok_or(Errno::ESRCH)
}

/// getpgid(2).
pub fn getpgid(cx: &Ctx, pid: i32) -> SysResult {
    Ok(target(cx, pid)?.pgid.load(Ordering::Relaxed) as u64)
}

/// getsid(2).
pub fn getsid(cx: &Ctx, pid: i32) -> SysResult {
    Ok(target(cx, pid)?.sid.load(Ordering::Relaxed) as u64)
}

/// setpgid(2): the caller or one of its children (not after it exec'd, not in
/// another session), into a new group or a group of the same session.
pub fn setpgid(cx: &Ctx, pid: i32, pgid: i32) -> SysResult {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = &cx.proc;
    let p = if pid == 0 || pid == me.pid {
        me.clone()
    } else {
        let p = table::process(pid).ok_or(Errno::ESRCH)?;
        let is_child = p.parent().map(|par| Arc::ptr_eq(&par, me)).unwrap_or(false);
        if !is_child {
            return Err(Errno::ESRCH);
        }
        if p.state.lock().execed {
            return Err(Errno::EACCES);
        }
        if p.sid.load(Ordering::Relaxed) != me.sid.load(Ordering::Relaxed) {
            return Err(Errno::EPERM);
        }
        p
    };
    let sid = p.sid.load(Ordering::Relaxed);
    if sid == p.pid {
        // A session leader cannot move.
        return Err(Errno::EPERM);
    }
    let pgid = if pgid == 0 { p.pid } else { pgid };
    if pgid != p.pid && !table::group_exists(pgid, Some(sid)) {
        return Err(Errno::EPERM);
    }
    let old = p.pgid.swap(pgid, Ordering::Relaxed);
    if old != pgid {
        table::hold_group(pgid);
        table::release_group(old);
    }
    Ok(0)
}

/// setsid(2): a new session and group led by the caller, unless it leads a group.
pub fn setsid(cx: &Ctx) -> SysResult {
    let p = &cx.proc;
    let pid = p.pid;
    let group_in_use = table::processes().iter().any(|q| q.pgid.load(Ordering::Relaxed) == pid);
    if p.pgid.load(Ordering::Relaxed) == pid || group_in_use {
        return Err(Errno::EPERM);
    }
    let old_pgid = p.pgid.swap(pid, Ordering::Relaxed);
    let old_sid = p.sid.swap(pid, Ordering::Relaxed);
    table::hold_group(pid);
    table::hold_group(pid);
    table::release_group(old_pgid);
    table::release_group(old_sid);
    Ok(pid as u64)
}
