//! The end of threads and processes: exit, exit_group, zombies, reparenting,
//! SIGCHLD, wait4/waitid and reaping; and the end of the VM when pid 1 ends, as a
//! container ends with its entry point.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::*;
use elfin_shim::uapi::wait::*;
use elfin_shim::uapi::Siginfo;
use elfin_shim::UAddr;

use super::{futex, sched, table, Ctx, ExitStatus, JobReport, Process, Restart};

/// Exit status of pid 1 once it has ended (the VM powers off when the last
/// thread is gone).
static SHUTDOWN: Mutex<Option<u8>> = Mutex::new(None);
/// Free frames and heap bytes in use just before the first program was loaded.
static FRAMES_AT_START: AtomicUsize = AtomicUsize::new(0);
static HEAP_AT_START: AtomicU64 = AtomicU64::new(0);
static HEAP_FRAMES_AT_START: AtomicUsize = AtomicUsize::new(0);

/// Records the memory figures the leak report compares with at the end.
pub fn note_start() {
    if leak_report_wanted() {
        // The console's port buffers are allocated when its handshake ends, which
        // may be after the program started: they belong to the baseline.
        elfin_plat::console::settle();
    }
    FRAMES_AT_START.store(crate::mem::frames::free_count(), Ordering::Relaxed);
    HEAP_AT_START.store(crate::mem::heap::in_use() as u64, Ordering::Relaxed);
    HEAP_FRAMES_AT_START.store(crate::mem::heap::frames(), Ordering::Relaxed);
}

/// Ends the calling thread. When it is the last of its process the process ends
/// with `status` (or with the group's status when the group is exiting). The
/// caller unwinds to the system-call or trap entry, which then calls
/// [`finish_exit`]; nothing may touch user memory in between.
pub fn exit_thread(cx: &Ctx, status: ExitStatus) {
    let t = &cx.thread;
    if t.exited.swap(true, Ordering::SeqCst) {
        return;
    }
    let p = &cx.proc;
    futex::exit_robust_list(cx);
    let ctid = t.misc.lock().clear_child_tid;
    if ctid != 0 && cx.write_val(UAddr(ctid), &0u32).is_ok() {
        if let Ok(k) = futex::key_of(cx, UAddr(ctid), false) {
            futex::wake(k, 1, u32::MAX);
        }
    }
    let last = {
        let mut th = p.threads.lock();
        th.retain(|x| !Arc::ptr_eq(x, t));
        th.is_empty()
    };
    table::release_thread(t.tid());
    {
        let (cpu, sys, sw) = (t.cpu_cycles(), t.sys_cycles(), t.switches());
        let mut times = p.times.lock();
        times.dead_threads_cycles += cpu;
        times.dead_sys_cycles += sys;
        times.dead_switches = times.dead_switches + sw;
    }
    {
        let mut s = p.state.lock();
        s.live_threads = s.live_threads.saturating_sub(1);
    }
    if !last {
        // A vfork caller waiting for this thread (CLONE_VFORK|CLONE_THREAD) goes
        // on, as Linux completes vfork when the child's memory is released.
        release_vfork_of(p, t.tid());
        // An execve waiting for the other threads to go may go on.
        p.state_wq.wake_all();
        return;
    }
    let status = p.state.lock().exiting.unwrap_or(status);
    process_exit(cx, status);
}

/// exit_group: ends every thread of the process with `status`.
pub fn exit_group(cx: &Ctx, status: ExitStatus) {
    super::signal::kill_group(&cx.proc, status);
    let status = cx.proc.state.lock().exiting.unwrap_or(status);
    exit_thread(cx, status)
}

/// Called at the end of a system call or trap: a thread that exited leaves the
/// CPU for good (and the VM powers off when pid 1 is gone and nothing runs).
pub fn finish_if_exited() {
    let exited = sched::try_current().map(|t| t.exited.load(Ordering::SeqCst)).unwrap_or(false);
    if !exited {
        return;
    }
    if SHUTDOWN.lock().is_some() && table::thread_count() == 0 {
        power_off();
    }
    sched::exit_current()
}

/// The last thread of `cx.proc` is leaving: release what the process holds, hand
/// its children to a new parent, become a zombie and tell the parent.
fn process_exit(cx: &Ctx, status: ExitStatus) {
    let p = &cx.proc;
    if p.pid == 1 && table::thread_count() == 0 && !leak_report_wanted() {
        // The VM ends with pid 1 and nothing else runs: the host gets the status
        // now, with no teardown, unless a shared file mapping still has to reach
        // its file when unmapped.
        let shared_maps = p.try_mm().is_some_and(|mm| mm.lock().maps_shared_files());
        if !shared_maps {
            *SHUTDOWN.lock() = Some(status.shell_status());
            crate::net::finish_connections();
            crate::time::phases::report();
            elfin_plat::console::report_exit(status.shell_status());
            elfin_plat::power_off(status.shell_status())
        }
    }
    release_vfork_parent(p);
    super::itimer::cancel(p);
    super::ext::on_exit(p);
    crate::fs::lock::process_gone(p.pid);
    if p.pid == p.sid.load(Ordering::Relaxed) {
        crate::fs::pty::leader_exited(p.pid);
    }
    // Descriptors first (closing a pipe end wakes its readers), then memory; the
    // CPU leaves this address space before it may be freed.
    drop(p.take_files());
    sched::leave_mm();
    drop(p.take_mm());
    {
        let mut s = p.state.lock();
        s.exiting = Some(status);
        s.stopped = None;
    }
    if p.pid == 1 {
        p.state.lock().zombie = true;
        p.state_wq.wake_all();
        init_exited(status);
    } else {
        // The children go to their new parent before this process can be seen as
        // a zombie: a parent waiting on another CPU may reap it at once, and then
        // expects its orphans to be its own (a subreaper's wait, getppid).
        reparent_children(p);
        if let Some(parent) = p.parent() {
            kill_orphaned_pgrp(p, &parent, true);
            // A child its parent does not wait for is never seen as a zombie: a
            // wait on another CPU would reap it (SA_NOCLDWAIT's wait must block
            // until it is gone, then fail with ECHILD).
            if autoreaps(&parent, p) {
                reap(&parent, p);
            }
        }
        p.state.lock().zombie = true;
        p.state_wq.wake_all();
        notify_parent_exit(p, status);
    }
}

fn pgid(p: &Process) -> i32 {
    p.pgid.load(Ordering::Relaxed)
}

fn sid(p: &Process) -> i32 {
    p.sid.load(Ordering::Relaxed)
}

/// Whether process group `g` has no member (other than `ignored`) whose parent is
/// in another group of the same session: then no job control can reach it.
fn will_become_orphaned(g: i32, ignored: Option<&Process>) -> bool {
    for m in table::processes().iter().filter(|m| pgid(m) == g) {
        if ignored.map(|i| core::ptr::eq(i, &**m)).unwrap_or(false) || m.state.lock().zombie {
            continue;
        }
        let Some(parent) = m.parent() else { continue };
        if parent.pid == 1 {
            continue;
        }
        if pgid(&parent) != g && sid(&parent) == sid(m) {
            return false;
        }
    }
    true
}

/// POSIX's rule for a process group that an exit orphans: if it has stopped
/// members, every member gets SIGHUP then SIGCONT (Linux's kill_orphaned_pgrp).
/// `exiting` says whether `p` itself is the process that ends (else `p` is a child
/// of the process that ends, `link` is that process).
fn kill_orphaned_pgrp(p: &Process, link: &Process, exiting: bool) {
    let g = pgid(p);
    if pgid(link) == g || sid(link) != sid(p) {
        return;
    }
    if !will_become_orphaned(g, if exiting { Some(p) } else { None }) {
        return;
    }
    let members: Vec<Arc<Process>> = table::processes().into_iter().filter(|m| pgid(m) == g).collect();
    if !members.iter().any(|m| m.state.lock().stopped.is_some()) {
        return;
    }
    for sig in [SIGHUP, SIGCONT] {
        for m in &members {
            super::signal::send_to_process(m, sig as u32, Siginfo::kill(sig, SI_KERNEL, 0, 0));
        }
    }
}

/// Wakes a vfork parent waiting for `p` (its child) to exec or exit.
pub fn release_vfork_parent(p: &Process) {
    release_vfork(p, None);
}

/// Wakes a vfork parent waiting for thread `tid` of `p`, which is exiting.
fn release_vfork_of(p: &Process, tid: i32) {
    release_vfork(p, Some(tid));
}

/// Wakes the vfork parent of `p`, when it waits for thread `tid` (any with None).
fn release_vfork(p: &Process, tid: Option<i32>) {
    // Taken first: the wake-ups take scheduler locks, not under this one.
    let parent = {
        let mut slot = p.vfork_parent.lock();
        if tid.is_none_or(|tid| slot.as_ref().is_some_and(|(_, child)| *child == tid)) {
            slot.take()
        } else {
            None
        }
    };
    if let Some((t, _)) = parent {
        p.state_wq.wake_all();
        sched::wake(&t);
    }
}

/// The process that adopts the orphans of `p`: the nearest subreaper among its
/// ancestors, else pid 1.
fn adopter(p: &Process) -> Option<Arc<Process>> {
    let mut cur = p.parent();
    while let Some(a) = cur {
        if a.info.lock().subreaper && !a.is_exiting() {
            return Some(a);
        }
        cur = a.parent();
    }
    table::process(1).filter(|init| !init.state.lock().zombie)
}

fn reparent_children(p: &Arc<Process>) {
    let children: Vec<Arc<Process>> = core::mem::take(&mut p.rel.lock().children);
    if children.is_empty() {
        return;
    }
    let new = adopter(p);
    for c in children {
        kill_orphaned_pgrp(&c, p, false);
        let pdeath = c.info.lock().pdeathsig;
        if pdeath > 0 {
            super::signal::send_to_process(&c, pdeath as u32, Siginfo::kill(pdeath, SI_USER, p.pid, 0));
        }
        match &new {
            Some(n) => {
                c.set_parent(Some(n));
                n.rel.lock().children.push(c.clone());
                let zombie = c.state.lock().zombie;
                if zombie {
                    let st = c.state.lock().exiting.unwrap_or(ExitStatus::Exited(0));
                    notify_parent_exit(&c, st);
                }
            }
            None => {
                c.set_parent(None);
                if c.state.lock().zombie {
                    reap_detached(&c);
                }
            }
        }
    }
}

fn child_info(c: &Process, code: i32, status: i32) -> Siginfo {
    let ticks = |ns: u64| (ns / 10_000_000) as i64;
    let (cpu, sys) = (c.cpu_ns(), c.sys_ns());
    Siginfo::child(code, c.pid, 0, status, ticks(cpu.saturating_sub(sys)), ticks(sys))
}

/// Tells the parent of `p` that `p` ended: its exit signal with the CLD_* report,
/// and a wake-up of its waiters; reaps `p` at once when the parent ignores SIGCHLD
/// or set SA_NOCLDWAIT.
fn notify_parent_exit(p: &Arc<Process>, status: ExitStatus) {
    let Some(parent) = p.parent() else {
        reap_detached(p);
        return;
    };
    let exit_signal = p.info.lock().exit_signal;
    let act = parent.sighand().lock().get((SIGCHLD - 1) as usize).copied().unwrap_or_default();
    let autoreap = autoreaps(&parent, p);
    if exit_signal != 0 && !(exit_signal == SIGCHLD as u32 && act.handler == SIG_IGN) {
        let (code, st) = match status {
            ExitStatus::Exited(c) => (CLD_EXITED, i32::from(c)),
            ExitStatus::Killed(s) => (CLD_KILLED, s as i32),
        };
        super::signal::send_to_process(&parent, exit_signal, child_info(p, code, st));
    }
    if autoreap {
        reap(&parent, p);
    }
    parent.child_wq.wake_all();
}

/// Tells the parent of `p` that `p` stopped or continued (unless it set SA_NOCLDSTOP).
pub fn notify_parent_job(p: &Arc<Process>, report: JobReport) {
    let Some(parent) = p.parent() else { return };
    let act = parent.sighand().lock().get((SIGCHLD - 1) as usize).copied().unwrap_or_default();
    if act.flags & SA_NOCLDSTOP == 0 {
        let (code, st) = match report {
            JobReport::Stopped(s) => (CLD_STOPPED, s as i32),
            JobReport::Continued => (CLD_CONTINUED, SIGCONT),
        };
        super::signal::send_to_process(&parent, SIGCHLD as u32, child_info(p, code, st));
    }
    parent.child_wq.wake_all();
}

/// Whether `parent` has its child `c` reaped at once when it ends: it ignores
/// SIGCHLD or set SA_NOCLDWAIT, and `c` reports with SIGCHLD.
fn autoreaps(parent: &Process, c: &Process) -> bool {
    let exit_signal = c.info.lock().exit_signal;
    let act = parent.sighand().lock().get((SIGCHLD - 1) as usize).copied().unwrap_or_default();
    exit_signal == SIGCHLD as u32 && (act.handler == SIG_IGN || act.flags & SA_NOCLDWAIT != 0)
}

/// Removes zombie `c` from `parent` and from the id table. False when it was no
/// longer `parent`'s child: someone else (a wait on another CPU, the automatic
/// reap) got there first.
fn reap(parent: &Process, c: &Arc<Process>) -> bool {
    {
        let mut rel = parent.rel.lock();
        let before = rel.children.len();
        rel.children.retain(|x| !Arc::ptr_eq(x, c));
        if rel.children.len() == before {
            return false;
        }
    }
    let (ns, flt, sw, maxrss) = {
        let t = c.times.lock();
        (
            t.children_ns,
            c.minflt.load(Ordering::Relaxed) + t.children_minflt,
            t.children_switches,
            t.maxrss.max(t.children_maxrss),
        )
    };
    let sw = sw + c.switches();
    let sys = c.sys_ns() + c.times.lock().children_sys_ns;
    let ns = c.cpu_ns() + ns;
    let mut pt = parent.times.lock();
    pt.children_ns += ns;
    pt.children_sys_ns += sys;
    pt.children_minflt += flt;
    pt.children_switches = pt.children_switches + sw;
    pt.children_maxrss = pt.children_maxrss.max(maxrss);
    drop(pt);
    parent.io.add(c.io.get());
    reap_detached(c);
    true
}

fn reap_detached(c: &Process) {
    table::release_group(c.pgid.load(Ordering::Relaxed));
    table::release_group(c.sid.load(Ordering::Relaxed));
    table::release_process(c.pid);
}

/// What wait found about a child.
#[derive(Clone, Copy, Debug)]
pub enum Found {
    /// It ended.
    Exited(ExitStatus),
    /// It stopped (WUNTRACED).
    Stopped(u32),
    /// It continued (WCONTINUED).
    Continued,
}

/// Which children a wait is about.
#[derive(Clone, Copy, Debug)]
pub enum Which {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(i32),
    /// Children in this process group.
    Pgid(i32),
}

/// The common part of wait4 and waitid: finds a child in a state `options` asks
/// for, reaps it unless WNOWAIT, sleeps unless WNOHANG. Ok(None) is WNOHANG's
/// "nothing yet".
pub fn wait_child(cx: &Ctx, which: Which, options: u32) -> Result<Option<(Arc<Process>, Found)>, Errno> {
    let me = cx.proc.clone();
    super::wait::wait_for(cx, &[&me.child_wq], None, Restart::Sys, || {
        let children = me.rel.lock().children.clone();
        let mut any = false;
        for c in &children {
            let selected = match which {
                Which::Any => true,
                Which::Pid(pid) => c.pid == pid,
                Which::Pgid(g) => c.pgid.load(Ordering::Relaxed) == g,
            };
            // A "clone" child reports with a signal other than SIGCHLD.
            let clone_child = c.info.lock().exit_signal != SIGCHLD as u32;
            let kind_ok = options & __WALL != 0 || (options & __WCLONE != 0) == clone_child;
            if !selected || !kind_ok {
                continue;
            }
            any = true;
            let mut s = c.state.lock();
            if s.zombie && options & WEXITED != 0 {
                let st = s.exiting.unwrap_or(ExitStatus::Exited(0));
                drop(s);
                if options & WNOWAIT == 0 && !reap(&me, c) {
                    continue;
                }
                return Some(Ok(Some((c.clone(), Found::Exited(st)))));
            }
            match s.report {
                Some(JobReport::Stopped(sig)) if options & WSTOPPED != 0 && s.stopped.is_some() => {
                    if options & WNOWAIT == 0 {
                        s.report = None;
                    }
                    return Some(Ok(Some((c.clone(), Found::Stopped(sig)))));
                }
                Some(JobReport::Continued) if options & WCONTINUED != 0 => {
                    if options & WNOWAIT == 0 {
                        s.report = None;
                    }
                    return Some(Ok(Some((c.clone(), Found::Continued))));
                }
                _ => {}
            }
        }
        if !any {
            return Some(Err(Errno::ECHILD));
        }
        if options & WNOHANG != 0 {
            return Some(Ok(None));
        }
        None
    })?
}

/// pid 1 ended: every other process is killed, and the VM powers off with pid 1's
/// status once the last thread is gone.
fn init_exited(status: ExitStatus) {
    *SHUTDOWN.lock() = Some(status.shell_status());
    for p in table::processes() {
        if p.pid != 1 {
            super::signal::kill_group(&p, ExitStatus::Killed(SIGKILL as u32));
        }
    }
}

/// Whether the run ends with the leak report (free frames and heap use after every
/// address space is gone): with `strace`, or a log level of info or more.
fn leak_report_wanted() -> bool {
    crate::syscall::STRACE.load(Ordering::Relaxed) || log::max_level() >= log::LevelFilter::Info
}

/// Ends the VM with pid 1's status, after the leak report when asked for.
fn power_off() -> ! {
    let status = SHUTDOWN.lock().unwrap_or(0);
    crate::net::finish_connections();
    crate::time::phases::report();
    sched::reap_dead();
    if leak_report_wanted() {
        crate::syscall::drain_bounce_buffers();
        super::futex::shrink_buckets();
        crate::fs::ninep::drop_caches();
        // Frames the kernel heap took since the start stay with it for reuse; they
        // are counted as free here, and the heap's own use is reported beside.
        let heap_growth = crate::mem::heap::frames().saturating_sub(HEAP_FRAMES_AT_START.load(Ordering::Relaxed));
        kprintln!(
            "elfin: frames free after exit: {} (before load: {}, total {}); heap in use: {} bytes (before load: {})",
            crate::mem::frames::free_count() + heap_growth,
            FRAMES_AT_START.load(Ordering::Relaxed),
            crate::mem::frames::total_count(),
            crate::mem::heap::in_use(),
            HEAP_AT_START.load(Ordering::Relaxed)
        );
    }
    elfin_plat::console::report_exit(status);
    elfin_plat::power_off(status)
}

/// Stops the VM at once with `status` (the first program could not start).
pub fn fail_boot(status: u8) -> ! {
    crate::time::phases::report();
    elfin_plat::console::report_exit(status);
    elfin_plat::power_off(status)
}
