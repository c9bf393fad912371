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
    // clone(2) ignores the exit signal of a thread.
    let flags = flags & !CSIGNAL;
    if flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 {
        return Err(Errno::EINVAL);
    }
    let exit_signal = if flags & CLONE_THREAD != 0 { 0 } else { exit_signal };
    // clone(2) puts the pidfd where the parent's tid would go: not both.
    if flags & CLONE_PIDFD != 0 && flags & CLONE_PARENT_SETTID != 0 {
        return Err(Errno::EINVAL);
    }
    fork::clone(
        cx,
        tf,
        fork::CloneArgs { flags, exit_signal, stack, parent_tid: ptid, child_tid: ctid, tls, pidfd: ptid },
    )
}

/// clone3(2): reads as much of `struct clone_args` as the caller says it has.
pub fn clone3(cx: &Ctx, tf: &TrapFrame, args: UAddr, size: usize) -> SysResult {
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    if size < CloneArgs::SIZE_VER0 {
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
    // Linux's clone3_args_valid: legacy flags and the two clone3-only ones.
    if a.flags & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 {
        return Err(Errno::EINVAL);
    }
    if a.flags & CLONE_CLEAR_SIGHAND != 0 && a.flags & CLONE_SIGHAND != 0 {
        return Err(Errno::EINVAL);
    }
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
    fork::clone(
        cx,
        tf,
        fork::CloneArgs {
            flags: a.flags,
            exit_signal: a.exit_signal as u32,
            stack,
            parent_tid: UAddr(a.parent_tid),
            child_tid: UAddr(a.child_tid),
            tls: a.tls,
            pidfd: UAddr(a.pidfd),
        },
    )
}

fn rusage_of(child: &Process) -> Rusage {
    let t = *child.times.lock();
    let ns = child.cpu_ns() + t.children_ns;
    let sys = (child.sys_ns() + t.children_sys_ns).min(ns);
    let sw = child.switches() + t.children_switches;
    Rusage {
        ru_utime: Timeval::from_nanos(ns - sys),
        ru_stime: Timeval::from_nanos(sys),
        ru_maxrss: super::misc::pages_kib(child.peak_rss_pages().max(t.children_maxrss)),
        ru_minflt: (child.minflt.load(core::sync::atomic::Ordering::Relaxed) + t.children_minflt) as i64,
        ru_nvcsw: sw.voluntary as i64,
        ru_nivcsw: sw.involuntary as i64,
        ..Default::default()
    }
}

/// Every namespace flag of unshare and setns: clone's and the time namespace.
pub(super) const NAMESPACES: u64 = fork::NAMESPACES | CLONE_NEWTIME;

/// unshare(2): gives the process its own copy of what it shares with other
/// processes (descriptor table, filesystem context), leaves its System V semaphore
/// adjustments as at exit (CLONE_SYSVSEM). The calling thread's own copy needs
/// its process to be single-threaded here, as descriptors and the filesystem
/// context belong to the process. Namespaces are refused as by a Linux built
/// without them.
pub fn unshare(cx: &Ctx, flags: u64) -> SysResult {
    const VALID: u64 = CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM | NAMESPACES;
    // The implications of kernel/fork.c's ksys_unshare.
    let mut f = flags;
    if f & CLONE_NEWUSER != 0 {
        f |= CLONE_THREAD | CLONE_FS;
    }
    if f & CLONE_VM != 0 {
        f |= CLONE_SIGHAND;
    }
    if f & CLONE_SIGHAND != 0 {
        f |= CLONE_THREAD;
    }
    if f & CLONE_NEWNS != 0 {
        f |= CLONE_FS;
    }
    if f & !VALID != 0 {
        return Err(Errno::EINVAL);
    }
    let single = cx.proc.threads.lock().len() <= 1;
    // Sharing a thread group, handlers or memory cannot be undone, only found absent.
    if f & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) != 0 && !single {
        return Err(Errno::EINVAL);
    }
    if f & NAMESPACES != 0 {
        if f & CLONE_NEWUSER == 0 && !cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        super::report_unsupported("unshare (namespaces)");
        return Err(Errno::EINVAL);
    }
    if f & (CLONE_FILES | CLONE_FS) != 0 && !single {
        super::report_unsupported("unshare (CLONE_FILES or CLONE_FS in a process with several threads)");
        return Err(Errno::EINVAL);
    }
    if f & CLONE_FS != 0 {
        let copy = cx.proc.fs().lock().clone();
        cx.proc.set_fs(Arc::new(crate::sync::Mutex::new(copy)));
    }
    if f & CLONE_FILES != 0 {
        let copy = cx.proc.files().lock().clone();
        cx.proc.set_files(Arc::new(crate::sync::Mutex::new(copy)));
    }
    if f & CLONE_SYSVSEM != 0 {
        // As at exit: the adjustments are applied and the list starts empty.
        let undo = core::mem::take(&mut cx.proc.ext.lock().sem_undo);
        if !undo.is_empty() {
            crate::ipc::sem::apply_undo(cx.proc.pid, undo);
        }
    }
    Ok(0)
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
        P_PIDFD => Which::Pid(super::pidfd::process_of(cx, id)?.pid),
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
    // As Linux: kill(-1) counts a refusal as nothing sent; a group or process
    // the caller may not signal gives EPERM.
    let all = pid == -1;
    let mut sent = false;
    for t in &targets {
        if may_signal(cx, t) {
            signal::send_to_process(t, sig, info);
            sent = true;
        }
    }
    if !sent && !all {
        return Err(Errno::EPERM);
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
    if !may_signal(cx, &t.process) {
        return Err(Errno::EPERM);
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
    if pgid < 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let me: &Arc<Process> = &cx.proc;
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

/// getuid/geteuid/getgid/getegid: `which` indexes the real/effective ids.
pub fn get_id(p: &crate::task::Process, group: bool, which: usize) -> u64 {
    let c = p.cred.lock();
    let ids = if group { c.gid } else { c.uid };
    u64::from(ids.get(which).copied().unwrap_or(0))
}

/// getresuid/getresgid.
pub fn getres(cx: &Ctx, group: bool, r: UAddr, e: UAddr, s: UAddr) -> SysResult {
    let ids = {
        let c = cx.proc.cred.lock();
        if group {
            c.gid
        } else {
            c.uid
        }
    };
    for (a, v) in [r, e, s].into_iter().zip(ids) {
        cx.write_val(a, &v)?;
    }
    Ok(0)
}

/// Runs a change of ids: a process whose effective or filesystem user or group
/// changed is no longer dumpable (Linux's commit_creds, with suid_dumpable 0),
/// so its /proc entries belong to root from then on.
fn changing_ids(cx: &Ctx, change: impl FnOnce() -> SysResult) -> SysResult {
    let key = |c: &crate::task::Cred| (c.uid[1], c.gid[1], c.uid[3], c.gid[3]);
    let before = key(&cx.proc.cred.lock());
    let r = change();
    let after = key(&cx.proc.cred.lock());
    if after != before {
        cx.proc.info.lock().dumpable = 0;
    }
    r
}

/// setresuid/setresgid (u32::MAX leaves an id as it is): root may set anything,
/// others only ids they already have.
pub fn setres(cx: &Ctx, group: bool, r: u32, e: u32, s: u32) -> SysResult {
    changing_ids(cx, || setres_ids(cx, group, r, e, s))
}

fn setres_ids(cx: &Ctx, group: bool, r: u32, e: u32, s: u32) -> SysResult {
    let mut c = cx.proc.cred.lock();
    let old = c.uid;
    let privileged = c.capable_setid(group);
    let ids = if group { &mut c.gid } else { &mut c.uid };
    let cur = *ids;
    for v in [r, e, s] {
        if v != u32::MAX && !privileged && !cur.get(..3).unwrap_or(&[]).contains(&v) {
            return Err(Errno::EPERM);
        }
    }
    for (slot, v) in ids.iter_mut().zip([r, e, s]) {
        if v != u32::MAX {
            *slot = v;
        }
    }
    ids[3] = ids[1];
    if !group {
        c.uids_changed(old);
    }
    Ok(0)
}

/// setreuid/setregid.
pub fn setre(cx: &Ctx, group: bool, r: u32, e: u32) -> SysResult {
    changing_ids(cx, || setre_ids(cx, group, r, e))
}

fn setre_ids(cx: &Ctx, group: bool, r: u32, e: u32) -> SysResult {
    let mut c = cx.proc.cred.lock();
    let old = c.uid;
    let privileged = c.capable_setid(group);
    let ids = if group { &mut c.gid } else { &mut c.uid };
    let cur = *ids;
    if r != u32::MAX && !privileged && r != cur[0] && r != cur[1] {
        return Err(Errno::EPERM);
    }
    if e != u32::MAX && !privileged && e != cur[0] && e != cur[1] && e != cur[2] {
        return Err(Errno::EPERM);
    }
    if r != u32::MAX {
        ids[0] = r;
    }
    if e != u32::MAX {
        ids[1] = e;
    }
    // The saved id follows the new effective one when the real one was set or the
    // effective one changed to something else than the (old) real one.
    if r != u32::MAX || (e != u32::MAX && e != cur[0]) {
        ids[2] = ids[1];
    }
    ids[3] = ids[1];
    if !group {
        c.uids_changed(old);
    }
    Ok(0)
}

/// setuid/setgid: root sets every id, others the effective one to the real or saved.
pub fn set_id(cx: &Ctx, group: bool, v: u32) -> SysResult {
    changing_ids(cx, || set_id_ids(cx, group, v))
}

fn set_id_ids(cx: &Ctx, group: bool, v: u32) -> SysResult {
    let mut c = cx.proc.cred.lock();
    let old = c.uid;
    let privileged = c.capable_setid(group);
    let ids = if group { &mut c.gid } else { &mut c.uid };
    if v == u32::MAX {
        return Err(Errno::EINVAL);
    }
    if privileged {
        *ids = [v; 4];
    } else if v == ids[0] || v == ids[2] {
        ids[1] = v;
        ids[3] = v;
    } else {
        return Err(Errno::EPERM);
    }
    if !group {
        c.uids_changed(old);
    }
    Ok(0)
}

/// setfsuid/setfsgid: returns the previous id; changes it when allowed.
pub fn setfs(cx: &Ctx, group: bool, v: u32) -> SysResult {
    changing_ids(cx, || setfs_ids(cx, group, v))
}

fn setfs_ids(cx: &Ctx, group: bool, v: u32) -> SysResult {
    let mut c = cx.proc.cred.lock();
    let old_uids = c.uid;
    let privileged = c.capable_setid(group);
    let ids = if group { &mut c.gid } else { &mut c.uid };
    let old = ids[3];
    if v != u32::MAX && (privileged || ids.contains(&v)) {
        ids[3] = v;
    }
    if !group {
        c.uids_changed(old_uids);
    }
    Ok(u64::from(old))
}

/// getgroups(2).
pub fn getgroups(cx: &Ctx, size: i32, list: UAddr) -> SysResult {
    let g = cx.proc.cred.lock().groups.clone();
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(g.len() as u64);
    }
    if (size as usize) < g.len() {
        return Err(Errno::EINVAL);
    }
    for (i, v) in g.iter().enumerate() {
        cx.write_val(UAddr(list.0 + i as u64 * 4), v)?;
    }
    Ok(g.len() as u64)
}

/// setgroups(2): root only.
pub fn setgroups(cx: &Ctx, size: usize, list: UAddr) -> SysResult {
    if size > 65536 {
        return Err(Errno::EINVAL);
    }
    if !cx.proc.cred.lock().capable(crate::task::caps::CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let mut g = alloc::vec::Vec::new();
    for i in 0..size as u64 {
        g.push(cx.read_val::<u32>(UAddr(list.0 + i * 4))?);
    }
    g.sort_unstable();
    cx.proc.cred.lock().groups = g;
    Ok(0)
}

/// Whether the caller may change scheduling settings of `target` (Linux's
/// check_same_owner, or CAP_SYS_NICE).
pub fn may_change(cx: &Ctx, target: &Process) -> bool {
    let me = cx.proc.cred.lock().clone();
    if me.capable(crate::task::caps::CAP_SYS_NICE) {
        return true;
    }
    let t = target.cred.lock();
    me.uid[1] == t.uid[0] || me.uid[1] == t.uid[1]
}

/// Whether the caller may signal `target` (Linux's kill_ok_by_cred).
pub fn may_signal(cx: &Ctx, target: &Process) -> bool {
    let me = cx.proc.cred.lock().clone();
    if me.capable(crate::task::caps::CAP_KILL) {
        return true;
    }
    let t = target.cred.lock();
    let (tr, ts) = (t.uid[0], t.uid[2]);
    me.uid[1] == tr || me.uid[1] == ts || me.uid[0] == tr || me.uid[0] == ts
}

/// rt_sigtimedwait(2): waits for one of `set` (blocked, as a rule) and takes it.
pub fn sigtimedwait(cx: &Ctx, set: UAddr, info: UAddr, timeout: UAddr, sigsetsize: usize) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let want: u64 = cx.read_val(set)?;
    let want = want & !signal::UNBLOCKABLE;
    let deadline = if timeout.is_null() {
        None
    } else {
        let ts: elfin_shim::uapi::Timespec = cx.read_val(timeout)?;
        Some(crate::time::monotonic_ns().saturating_add(ts.as_nanos().ok_or(Errno::EINVAL)?))
    };
    let t = cx.thread.clone();
    let take = || signal::take_signal(&t, want);
    let r = crate::task::wait::wait_until(&[], deadline, true, take);
    match r {
        Ok((sig, si)) => {
            if !info.is_null() {
                cx.write_val(info, &si)?;
            }
            Ok(u64::from(sig))
        }
        Err(crate::task::wait::WaitError::Timeout) => Err(Errno::EAGAIN),
        Err(crate::task::wait::WaitError::Interrupted) => Err(cx.interrupted(crate::task::Restart::Never)),
    }
}
