//! clone, fork and vfork: new threads in the caller's process, and new processes
//! whose address space, descriptors, filesystem context and signal handlers are
//! shared with the caller or copied, as the clone flags say.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_arch::{FpuState, TrapFrame, UserRegs};
use elfin_kcore::SigQueue;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::clone_flags::*;
use elfin_shim::uapi::signal::SS_DISABLE;
use elfin_shim::uapi::StackT;
use elfin_shim::UAddr;

use super::sched::SchedState;
use super::{sched, table, CpuTimes, Ctx, Mm, ProcInfo, ProcState, Process, Relations, Thread, ThreadMisc};

/// What clone was asked to do (clone's registers or clone3's struct, validated).
pub struct CloneArgs {
    /// CLONE_* flags, without the exit signal.
    pub flags: u64,
    /// Signal sent to the parent when a new process ends.
    pub exit_signal: u32,
    /// New stack pointer (0: the caller's).
    pub stack: u64,
    /// CLONE_PARENT_SETTID target.
    pub parent_tid: UAddr,
    /// CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID target.
    pub child_tid: UAddr,
    /// CLONE_SETTLS value.
    pub tls: u64,
    /// CLONE_PIDFD: where the new pidfd's number goes.
    pub pidfd: UAddr,
}

/// Namespaces elfin does not have: refused with EINVAL as by a Linux built without them.
pub const NAMESPACES: u64 =
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/// The most threads the kernel runs at once (Linux's threads-max: a kernel stack
/// may use at most an eighth of RAM).
pub fn max_threads() -> usize {
    let frames = crate::mem::frames::total_count();
    (frames / (8 * crate::mem::KSTACK_FRAMES)).clamp(20, 1 << 22)
}

/// Checks the flag combinations Linux's copy_process refuses.
fn validate(cx: &Ctx, a: &CloneArgs) -> Result<(), Errno> {
    let f = a.flags;
    if f & CLONE_NEWNS != 0 && f & CLONE_FS != 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_PARENT != 0 && cx.proc.pid == 1 {
        // Siblings of init are not allowed.
        return Err(Errno::EINVAL);
    }
    // CLONE_DETACHED is ignored, except that it is reserved with CLONE_PIDFD.
    if f & CLONE_PIDFD != 0 && f & CLONE_DETACHED != 0 {
        return Err(Errno::EINVAL);
    }
    if f & NAMESPACES != 0 {
        crate::syscall::report_unsupported("clone (namespaces)");
        return Err(Errno::EINVAL);
    }
    if f & CLONE_INTO_CGROUP != 0 {
        crate::syscall::report_unsupported("clone3 (CLONE_INTO_CGROUP)");
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// clone(2)/clone3(2): returns the new thread's id to the caller.
pub fn clone(cx: &Ctx, tf: &TrapFrame, a: CloneArgs) -> Result<u64, Errno> {
    validate(cx, &a)?;
    if cx.proc.is_exiting() {
        return Err(Errno::EINTR);
    }
    if table::thread_count() >= max_threads() {
        return Err(Errno::EAGAIN);
    }
    super::rlimit::nproc_check(cx)?;
    // A new thread needs kernel memory (its stack, records, maybe page tables):
    // refuse it before it could eat into what the kernel keeps for itself.
    if crate::mem::frames::free_count() < 2 * crate::mem::vm::kernel_reserve() + crate::mem::KSTACK_FRAMES {
        return Err(Errno::ENOMEM);
    }
    let f = a.flags;
    let new_process = f & CLONE_THREAD == 0;

    // Everything that can fail comes before the new thread exists.
    let tid = table::alloc_id().ok_or(Errno::EAGAIN)?;
    let Some(kstack) = crate::mem::try_alloc_kernel_stack() else {
        table::free_unused(tid);
        return Err(Errno::ENOMEM);
    };
    let fail = |e: Errno| {
        crate::mem::free_kernel_stack(kstack);
        table::free_unused(tid);
        Err(e)
    };
    let mm = if f & CLONE_VM != 0 {
        cx.mm_arc().clone()
    } else {
        match cx.mm().fork() {
            Some(m) => Arc::new(Mm::new(m)),
            None => return fail(Errno::ENOMEM),
        }
    };
    // As Linux: a bad pointer here does not fail the clone (kernel_clone ignores
    // put_user's result, and the child's schedule_tail its own).
    if f & CLONE_PARENT_SETTID != 0 {
        let _ = cx.write_val(a.parent_tid, &tid);
    }
    if f & CLONE_CHILD_SETTID != 0 {
        let _ = crate::uaccess::write_val(&mut mm.lock(), a.child_tid, &tid);
    }

    // The child's registers: the caller's, returning 0, on its own stack and TLS.
    let mut ctf = *tf;
    ctf.set_syscall_ret(0);
    if a.stack != 0 {
        ctf.set_user_sp(a.stack);
    }
    let tls = if f & CLONE_SETTLS != 0 {
        ctf.set_user_tls(a.tls);
        a.tls
    } else {
        elfin_arch::get_tls()
    };
    let (mask, altstack) = {
        let s = cx.thread.sig.lock();
        // A thread sharing the address space without vfork gets no alternate stack.
        let alt = if f & (CLONE_VM | CLONE_VFORK) == CLONE_VM { StackT::new(0, SS_DISABLE, 0) } else { s.altstack };
        (s.mask, alt)
    };

    let process = if new_process {
        match new_process_for(cx, tid, &a, mm.clone()) {
            Ok(p) => p,
            Err(e) => return fail(e),
        }
    } else {
        cx.proc.clone()
    };
    // CLONE_PIDFD: the caller's close-on-exec pidfd of the child, whose number
    // goes to user memory before the child exists (EFAULT fails the clone).
    if f & CLONE_PIDFD != 0 {
        let fd = match cx
            .install(crate::fs::pidfd::open_file(process.clone(), (!new_process).then_some(tid), false), true)
        {
            Ok(fd) => fd,
            Err(e) => return fail(e),
        };
        if let Err(e) = cx.write_val(a.pidfd, &fd) {
            let closed = cx.files().lock().close(fd);
            drop(closed);
            return fail(e);
        }
    }

    let (comm, ext, rseq, seccomp) = {
        let m = cx.thread.misc.lock();
        (m.comm, m.ext.for_clone(), super::rseq::for_clone(m.rseq, f & CLONE_VM != 0), m.seccomp.clone())
    };
    let misc = ThreadMisc {
        clear_child_tid: if f & CLONE_CHILD_CLEARTID != 0 { a.child_tid.0 } else { 0 },
        robust_list: (0, 0),
        comm,
        rseq,
        restart_sleep: None,
        ext,
        seccomp,
    };
    let thread = Thread::new(
        tid,
        process.clone(),
        SchedState::new(kstack, &ctf, FpuState::from_current(), tls),
        mask,
        altstack,
        misc,
    );
    thread.sched.inherit_allowed(&cx.thread.sched);
    process.threads.lock().push(thread.clone());
    {
        // A group killed, stopped or being replaced by execve told only the
        // threads it saw; one that joins now learns it at its first return to user
        // mode (the push above comes before this look, as those callers set the
        // state before they look at the threads).
        let mut s = process.state.lock();
        s.live_threads += 1;
        if s.exec_waiter.is_some() {
            thread.exec_killed.store(true, Ordering::SeqCst);
        }
        if s.exiting.is_some() || s.stopped.is_some() || s.exec_waiter.is_some() {
            thread.sig_hint.store(true, Ordering::SeqCst);
        }
    }
    table::register(tid, &thread, new_process.then_some(&process));
    if new_process {
        cx.proc_parent_for(f).rel.lock().children.push(process.clone());
        table::hold_group(process.pgid.load(Ordering::Relaxed));
        table::hold_group(process.sid.load(Ordering::Relaxed));
    }
    if f & CLONE_VFORK != 0 {
        *process.vfork_parent.lock() = Some((cx.thread.clone(), tid));
    }
    sched::start(thread);

    if f & CLONE_VFORK != 0 {
        // The caller sleeps until the child has exec'd or exited (or the caller is
        // killed); other signals wait.
        let me = cx.proc.clone();
        let _ = super::wait::wait_until(&[&process.state_wq], None, false, || {
            (process.vfork_parent.lock().is_none() || me.state.lock().exiting.is_some()).then_some(())
        });
        process.vfork_parent.lock().take();
    }
    Ok(tid as u64)
}

impl Ctx {
    /// The process a new child process hangs under: the caller, or with
    /// CLONE_PARENT the caller's parent.
    fn proc_parent_for(&self, flags: u64) -> Arc<Process> {
        if flags & CLONE_PARENT != 0 {
            if let Some(p) = self.proc.parent() {
                return p;
            }
        }
        self.proc.clone()
    }
}

fn new_process_for(cx: &Ctx, pid: i32, a: &CloneArgs, mm: Arc<super::Mm>) -> Result<Arc<Process>, Errno> {
    let f = a.flags;
    let me = &cx.proc;
    let files = if f & CLONE_FILES != 0 { me.files() } else { Arc::new(Mutex::new(me.files().lock().clone())) };
    let fs = if f & CLONE_FS != 0 { me.fs() } else { Arc::new(Mutex::new(me.fs().lock().clone())) };
    let sighand = if f & CLONE_SIGHAND != 0 {
        me.sighand()
    } else {
        let mut h = *me.sighand().lock();
        if f & CLONE_CLEAR_SIGHAND != 0 {
            super::signal::reset_for_exec(&mut h);
        }
        Arc::new(Mutex::new(h))
    };
    let parent = cx.proc_parent_for(f);
    let exit_signal = if f & CLONE_PARENT != 0 { me.info.lock().exit_signal } else { a.exit_signal };
    let info = {
        let i = me.info.lock();
        ProcInfo {
            exe: i.exe.clone(),
            argv: i.argv.clone(),
            envp: i.envp.clone(),
            auxv: i.auxv.clone(),
            rlimits: i.rlimits,
            pdeathsig: 0,
            dumpable: i.dumpable,
            subreaper: false,
            nice: i.nice,
            exit_signal,
            winsize: i.winsize,
            strace: i.strace,
        }
    };
    let root = mm.lock().pt.root();
    Ok(Arc::new(Process {
        pid,
        pgid: AtomicI32::new(me.pgid.load(Ordering::Relaxed)),
        sid: AtomicI32::new(me.sid.load(Ordering::Relaxed)),
        ppid: AtomicI32::new(parent.pid),
        mm: Mutex::new(Some(mm)),
        mm_root: AtomicU64::new(root),
        files: Mutex::new(Some(files)),
        fs: Mutex::new(fs),
        sighand: Mutex::new(sighand),
        threads: Mutex::new(Vec::new()),
        rel: Mutex::new(Relations { parent: Some(Arc::downgrade(&parent)), children: Vec::new() }),
        state: Mutex::new(ProcState {
            exiting: None,
            zombie: false,
            live_threads: 0,
            stopped: None,
            report: None,
            execed: false,
            exec_waiter: None,
        }),
        child_wq: super::WaitQueue::new(),
        state_wq: super::WaitQueue::new(),
        shared_pending: Mutex::new(SigQueue::new()),
        info: Mutex::new(info),
        vfork_parent: Mutex::new(None),
        times: Mutex::new(CpuTimes::default()),
        minflt: core::sync::atomic::AtomicU64::new(0),
        itimer: Mutex::new(None),
        cred: Mutex::new(me.cred.lock().clone()),
        ext: Mutex::new(me.ext.lock().for_child()),
        start_cycles: elfin_arch::read_cycles(),
        io: Default::default(),
    }))
}
