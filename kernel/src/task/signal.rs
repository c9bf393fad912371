//! Signals: sending (to a thread, a process, a group), the default actions of
//! signal(7) (terminate, ignore, stop, continue), delivery on the way back to user
//! mode through the architecture's signal frame, `rt_sigreturn`, and the restart
//! of system calls that a signal interrupted.
use alloc::sync::Arc;
use alloc::vec;
use core::sync::atomic::Ordering;

use elfin_arch::{FpuState, TrapFrame, UserRegs};
use elfin_kcore::sigqueue::bit;
use elfin_shim::uapi::signal::*;
use elfin_shim::uapi::{KernelSigaction, Siginfo, StackT};
use elfin_shim::UAddr;

use super::{exit, Ctx, ExitStatus, JobReport, Process, Restart, Thread};

/// SIGKILL and SIGSTOP can be neither blocked nor caught.
pub const UNBLOCKABLE: u64 = bit(SIGKILL as u32) | bit(SIGSTOP as u32);
const STOP_SIGNALS: u64 = bit(SIGSTOP as u32) | bit(SIGTSTP as u32) | bit(SIGTTIN as u32) | bit(SIGTTOU as u32);

/// What a signal does under SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Default {
    Term,
    Ignore,
    Stop,
    Cont,
}

fn default_action(sig: u32) -> Default {
    match sig as i32 {
        SIGCHLD | SIGURG | SIGWINCH => Default::Ignore,
        SIGCONT => Default::Cont,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        _ => Default::Term,
    }
}

fn action(p: &Process, sig: u32) -> KernelSigaction {
    p.sighand().lock().get((sig - 1) as usize).copied().unwrap_or_default()
}

/// Whether `sig` sent to `p` would be thrown away at once (ignored and not blocked
/// by `t`, Linux's sig_ignored).
fn ignored(p: &Process, t: Option<&Thread>, sig: u32) -> bool {
    if let Some(t) = t {
        if t.sig.lock().mask & bit(sig) != 0 {
            return false;
        }
    }
    let a = action(p, sig);
    a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == Default::Ignore)
}

/// Whether `sig` kills the process when delivered (SIG_DFL with a terminating
/// default action).
fn fatal(p: &Process, sig: u32) -> bool {
    sig as i32 == SIGKILL || (action(p, sig).handler == SIG_DFL && default_action(sig) == Default::Term)
}

/// Tells every thread of `p` to look at its signals on the way back to user mode,
/// and wakes those that sleep.
fn kick_all(p: &Process) {
    let threads = p.threads.lock().clone();
    for t in &threads {
        t.sig_hint.store(true, Ordering::SeqCst);
        super::sched::kick(t);
    }
}

/// Ends the whole thread group with `status` (SIGKILL, a fatal signal, exit_group).
pub fn kill_group(p: &Process, status: ExitStatus) {
    {
        let mut s = p.state.lock();
        if s.zombie {
            return;
        }
        if s.exiting.is_none() {
            s.exiting = Some(status);
        }
        s.stopped = None;
    }
    kick_all(p);
}

/// A signal sent to `p` kills it at once (SIGKILL, or a fatal default action).
fn killed_by(p: &Process, sig: u32) {
    if p.pid == 1 && !p.is_exiting() {
        kprintln!("elfin: killed by {}", signal_name(sig as i32).unwrap_or("SIG?"));
    }
    kill_group(p, ExitStatus::Killed(sig));
}

/// Effects of a signal at the moment it is sent (kernel/signal.c, prepare_signal):
/// SIGCONT resumes a stopped group and drops pending stop signals; a stop signal
/// drops a pending SIGCONT. False when the signal is to be dropped.
fn prepare(p: &Arc<Process>, sig: u32) -> bool {
    if p.state.lock().zombie {
        return false;
    }
    if p.state.lock().exiting.is_some() {
        return false;
    }
    if sig as i32 == SIGCONT {
        discard_everywhere(p, STOP_SIGNALS);
        let was_stopped = {
            let mut s = p.state.lock();
            let was = s.stopped.take().is_some();
            if was {
                s.report = Some(JobReport::Continued);
            }
            was
        };
        if was_stopped {
            exit::notify_parent_job(p, JobReport::Continued);
            kick_all(p);
        }
    } else if bit(sig) & STOP_SIGNALS != 0 {
        discard_everywhere(p, bit(SIGCONT as u32));
    }
    true
}

fn discard_everywhere(p: &Process, mask: u64) {
    p.shared_pending.lock().discard(mask);
    for t in p.threads.lock().iter() {
        t.sig.lock().pending.discard(mask);
    }
}

/// Sends `sig` to process `p` (kill): queued for the process, taken by the first
/// thread that does not block it. `sig` 0 only checks.
pub fn send_to_process(p: &Arc<Process>, sig: u32, info: Siginfo) {
    if sig == 0 || sig > 64 || !prepare(p, sig) {
        return;
    }
    if sig as i32 == SIGKILL {
        killed_by(p, sig);
        return;
    }
    let threads = p.threads.lock().clone();
    let main = threads.first().cloned();
    if ignored(p, main.as_deref(), sig) {
        return;
    }
    let target = threads.iter().find(|t| t.sig.lock().mask & bit(sig) == 0).or(main.as_ref()).cloned();
    let unblocked = target.as_ref().map(|t| t.sig.lock().mask & bit(sig) == 0).unwrap_or(false);
    // A stopped process takes a fatal signal only when it continues (no thread
    // wants a signal while stopped: Linux's wants_signal).
    if unblocked && fatal(p, sig) && p.state.lock().stopped.is_none() {
        killed_by(p, sig);
        return;
    }
    p.shared_pending.lock().push(sig, info);
    for t in &threads {
        t.sig_hint.store(true, Ordering::SeqCst);
    }
    QUEUED.wake_all();
    if let Some(t) = target {
        super::sched::kick(&t);
    }
}

/// Sends `sig` to thread `t` (tgkill, faults).
pub fn send_to_thread(t: &Arc<Thread>, sig: u32, info: Siginfo) {
    let p = &t.process;
    if sig == 0 || sig > 64 || !prepare(p, sig) {
        return;
    }
    if sig as i32 == SIGKILL {
        killed_by(p, sig);
        return;
    }
    if ignored(p, Some(t), sig) {
        return;
    }
    if t.sig.lock().mask & bit(sig) == 0 && fatal(p, sig) && p.state.lock().stopped.is_none() {
        killed_by(p, sig);
        return;
    }
    t.sig.lock().pending.push(sig, info);
    t.sig_hint.store(true, Ordering::SeqCst);
    QUEUED.wake_all();
    super::sched::kick(t);
}

/// Whether a sleeping call of `t` must stop sleeping: the group is exiting or
/// stopping, or an unblocked signal is pending.
pub fn interrupting(t: &Thread) -> bool {
    if !t.sig_hint.load(Ordering::SeqCst) {
        return false;
    }
    if t.exec_killed.load(Ordering::SeqCst) {
        return true;
    }
    {
        let s = t.process.state.lock();
        if s.exiting.is_some() || s.stopped.is_some() {
            return true;
        }
    }
    let (mask, own) = {
        let s = t.sig.lock();
        (s.mask, s.pending.mask())
    };
    (own | t.process.shared_pending.lock().mask()) & !mask != 0
}

/// The next signal to handle for `t` (its own first, then the process's).
fn dequeue(t: &Thread) -> Option<(u32, Siginfo)> {
    let allowed = !t.sig.lock().mask;
    take_signal(t, allowed)
}

/// Takes the next pending signal among `allowed` for `t` (its own first, then the
/// process's) for delivery, by a handler, sigtimedwait or a signalfd. A POSIX
/// timer's signal gets its overrun count here, or is dropped when its timer was
/// deleted or re-armed since.
pub fn take_signal(t: &Thread, allowed: u64) -> Option<(u32, Siginfo)> {
    loop {
        let own = t.sig.lock().pending.take(allowed);
        let (sig, mut info) = match own {
            Some(x) => x,
            None => t.process.shared_pending.lock().take(allowed)?,
        };
        if super::ptimer::delivered(&t.process, &mut info) {
            return Some((sig, info));
        }
    }
}

/// Whether a signal sent to `p` now would be thrown away at once (ignored, and
/// not blocked by its first thread).
pub fn ignored_now(p: &Process, sig: u32) -> bool {
    let main = p.threads.lock().first().cloned();
    ignored(p, main.as_deref(), sig)
}

/// Woken whenever a signal is queued anywhere (signalfd readers and pollers look
/// at their own thread's signals when woken).
pub static QUEUED: super::WaitQueue = super::WaitQueue::new();

/// Delivers what is pending for the calling thread before it returns to user
/// mode: exits and stops of the group, default actions, handler frames. An
/// interrupted system call (`interrupted`) is restarted or fails with EINTR as its
/// restart kind and the handler's SA_RESTART say.
/// True when it may have changed the frame (only then does the return to user
/// mode reload every register from it).
#[inline(always)]
pub fn deliver_pending(cx: &Ctx, tf: &mut TrapFrame, interrupted: Restart) -> bool {
    // Nothing pending and nothing to restart: the common case costs one load.
    if interrupted != Restart::Never || cx.thread.sig_hint.load(Ordering::SeqCst) {
        deliver(cx, tf, interrupted);
        return true;
    }
    false
}

/// [`deliver_pending`] when a signal may be pending or a call may restart.
#[inline(never)]
fn deliver(cx: &Ctx, tf: &mut TrapFrame, mut interrupted: Restart) {
    let t = &cx.thread;
    for _ in 0..128 {
        if !t.sig_hint.load(Ordering::SeqCst) {
            break;
        }
        let (exiting, stopped) = {
            let s = t.process.state.lock();
            (s.exiting, s.stopped)
        };
        if let Some(status) = exiting {
            exit::exit_thread(cx, status);
            return;
        }
        if t.exec_killed.load(Ordering::SeqCst) {
            // Another thread's execve ends this one; the process goes on.
            exit::exit_thread(cx, ExitStatus::Exited(0));
            return;
        }
        if stopped.is_some() {
            stop_wait(t);
            continue;
        }
        let Some((sig, info)) = dequeue(t) else {
            t.sig_hint.store(false, Ordering::SeqCst);
            // Something may have arrived between the dequeue and clearing the hint:
            // a signal, or the group being killed, stopped or replaced by execve
            // (whose kick set the hint this thread just cleared).
            if pending_unblocked(t) || group_calls(t) {
                t.sig_hint.store(true, Ordering::SeqCst);
                continue;
            }
            break;
        };
        let act = action(&t.process, sig);
        match act.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(sig) {
                Default::Ignore | Default::Cont => continue,
                Default::Stop => {
                    start_group_stop(&t.process, sig);
                    continue;
                }
                Default::Term => {
                    report_kill(cx, sig, &info, tf);
                    kill_group(&t.process, ExitStatus::Killed(sig));
                    continue;
                }
            },
            _ => {}
        }
        // A handler runs: settle the interrupted call first, so that the frame saves
        // the context to resume (the call rewound, or returning EINTR).
        match interrupted {
            Restart::Sys if act.flags & SA_RESTART != 0 => tf.rewind_syscall(cx.nr, cx.arg0),
            _ => {}
        }
        interrupted = Restart::Never;
        setup_frame(cx, tf, sig, &info, &act);
    }
    match interrupted {
        Restart::Never => {}
        // No handler ran: restart_syscall resumes where the call slept.
        Restart::Block => tf.rewind_syscall(elfin_arch::RESTART_SYSCALL_NR, cx.arg0),
        // No handler ran: the call starts again as if nothing happened.
        _ => tf.rewind_syscall(cx.nr, cx.arg0),
    }
    // A sigsuspend/ppoll whose signal ran no handler gets its old mask back.
    let mut s = t.sig.lock();
    if let Some(m) = s.saved_mask.take() {
        s.mask = m;
        drop(s);
        if pending_unblocked(t) {
            t.sig_hint.store(true, Ordering::SeqCst);
        }
    }
}

/// Whether the thread's group is being killed, stopped or replaced by execve.
fn group_calls(t: &Thread) -> bool {
    if t.exec_killed.load(Ordering::SeqCst) {
        return true;
    }
    let s = t.process.state.lock();
    s.exiting.is_some() || s.stopped.is_some()
}

fn pending_unblocked(t: &Thread) -> bool {
    let (mask, own) = {
        let s = t.sig.lock();
        (s.mask, s.pending.mask())
    };
    (own | t.process.shared_pending.lock().mask()) & !mask != 0
}

/// Stops the whole group (SIGSTOP and friends under SIG_DFL) and tells the parent.
fn start_group_stop(p: &Arc<Process>, sig: u32) {
    {
        let mut s = p.state.lock();
        if s.exiting.is_some() || s.stopped.is_some() {
            return;
        }
        s.stopped = Some(sig);
        s.report = Some(JobReport::Stopped(sig));
    }
    kick_all(p);
    exit::notify_parent_job(p, JobReport::Stopped(sig));
}

/// Parks the calling thread while its group is stopped (SIGCONT or SIGKILL ends it).
fn stop_wait(t: &Arc<Thread>) {
    let p = t.process.clone();
    let _ = super::wait::wait_until(&[&p.state_wq], None, false, || {
        let s = p.state.lock();
        (s.stopped.is_none() || s.exiting.is_some()).then_some(())
    });
}

pub(crate) fn report_kill(cx: &Ctx, sig: u32, info: &Siginfo, tf: &TrapFrame) {
    let name = signal_name(sig as i32).unwrap_or("SIG?");
    let fault = matches!(sig as i32, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) && info.si_code > 0;
    if cx.proc.pid == 1 {
        if fault {
            kprintln!("elfin: killed by {} at {:#x} (rip {:#x})", name, info.addr(), tf.ip());
        } else {
            kprintln!("elfin: killed by {}", name);
        }
    } else if fault {
        kprintln!("elfin: pid {} killed by {} at {:#x} (rip {:#x})", cx.proc.pid, name, info.addr(), tf.ip());
    }
}

/// Delivers a synchronous fault signal (SIGSEGV, SIGILL, …) raised by the calling
/// thread: when it is blocked or ignored the handler is reset so that it kills, as
/// Linux's force_sig_fault does.
pub fn force_fault(cx: &Ctx, tf: &mut TrapFrame, sig: u32, code: i32, addr: u64) {
    force_signal(cx, sig, Siginfo::fault(sig as i32, 0, code, addr));
    deliver_pending(cx, tf, Restart::Never);
}

/// Queues a signal the calling thread raised on itself and cannot refuse
/// (SIGSYS of a seccomp filter, a fault): when it is blocked or ignored the
/// handler is reset so that it kills, as Linux's force_sig_info does. It is
/// delivered on the way back to user mode.
pub fn force_signal(cx: &Ctx, sig: u32, info: Siginfo) {
    {
        let hand = cx.proc.sighand();
        let mut h = hand.lock();
        let mut s = cx.thread.sig.lock();
        let blocked = s.mask & bit(sig) != 0;
        if let Some(a) = h.get_mut((sig - 1) as usize) {
            if blocked || a.handler == SIG_IGN {
                a.handler = SIG_DFL;
            }
        }
        s.mask &= !bit(sig);
        s.pending.push(sig, info);
    }
    cx.thread.sig_hint.store(true, Ordering::SeqCst);
}

fn setup_frame(cx: &Ctx, tf: &mut TrapFrame, sig: u32, info: &Siginfo, act: &KernelSigaction) {
    if !super::rseq::on_signal(cx, tf) {
        return;
    }
    let t = &cx.thread;
    // Without SA_RESTORER the handler returns to the architecture's sigreturn
    // trampoline (arm64's vDSO sigtramp); x86_64 Linux has none and fails.
    let restorer =
        if act.flags & SA_RESTORER != 0 { Some(act.restorer) } else { elfin_arch::sigreturn_trampoline(cx.mm().vdso) };
    let Some(restorer) = restorer else {
        return force_segv(cx, tf, 0);
    };
    let (old_mask, alt) = {
        let mut s = t.sig.lock();
        (s.saved_mask.take().unwrap_or(s.mask), s.altstack)
    };
    let sp = tf.sp();
    let on_alt = alt.ss_flags & SS_DISABLE == 0 && sp.wrapping_sub(alt.ss_sp) < alt.ss_size;
    let stack_top = if act.flags & SA_ONSTACK != 0 && alt.ss_flags & SS_DISABLE == 0 && !on_alt {
        Some(alt.ss_sp + alt.ss_size)
    } else {
        None
    };
    let uc_flags = if alt.ss_flags & SS_DISABLE != 0 {
        SS_DISABLE
    } else if on_alt {
        SS_ONSTACK
    } else {
        alt.ss_flags & SS_AUTODISARM
    };
    let Some(fpu) = FpuState::from_current() else {
        return force_segv(cx, tf, 0);
    };
    let d = elfin_arch::SigDelivery {
        sig,
        handler: act.handler,
        restorer,
        info: bytemuck::cast_ref(info),
        old_mask,
        stack_top,
        uc_stack: (alt.ss_sp, uc_flags, alt.ss_size),
        fpu: fpu.bytes(),
        xsave: FpuState::is_xsave(),
    };
    let saved = *tf;
    let Some(frame) = elfin_arch::build_frame(tf, &d) else {
        *tf = saved;
        return force_segv(cx, tf, 0);
    };
    if cx.write_bytes(UAddr(frame.addr), &frame.bytes).is_err() {
        // Linux: a frame that cannot be written is a SIGSEGV that cannot be caught.
        *tf = saved;
        return force_segv(cx, tf, frame.addr);
    }
    {
        let mut s = t.sig.lock();
        s.mask |= act.mask & !UNBLOCKABLE;
        if act.flags & SA_NODEFER == 0 {
            s.mask |= bit(sig);
        }
        if stack_top.is_some() && alt.ss_flags & SS_AUTODISARM != 0 {
            s.altstack = StackT::new(0, SS_DISABLE, 0);
        }
    }
    if act.flags & SA_RESETHAND != 0 {
        if let Some(a) = cx.proc.sighand().lock().get_mut((sig - 1) as usize) {
            a.handler = SIG_DFL;
            a.flags &= !SA_SIGINFO;
        }
    }
}

/// A SIGSEGV that cannot be caught (a signal frame that cannot be built).
fn force_segv(cx: &Ctx, tf: &TrapFrame, addr: u64) {
    let name = "SIGSEGV";
    if cx.proc.pid == 1 {
        kprintln!("elfin: killed by {} at {:#x} (rip {:#x})", name, addr, tf.ip());
    }
    kill_group(&cx.proc, ExitStatus::Killed(SIGSEGV as u32));
}

/// rt_sigreturn: restores the context saved by the last delivery; a frame that
/// cannot be read is a SIGSEGV.
pub fn sigreturn(cx: &Ctx, tf: &mut TrapFrame) {
    let uc_addr = elfin_arch::sigreturn_ucontext(tf);
    let mut uc = vec![0u8; elfin_arch::UCONTEXT_SIZE];
    if cx.read_bytes(UAddr(uc_addr), &mut uc).is_err() {
        return force_fault(cx, tf, SIGSEGV as u32, SI_KERNEL, 0);
    }
    let saved = *tf;
    let r = elfin_arch::restore_frame(tf, &uc);
    if !elfin_arch::user_context_ok(tf) {
        *tf = saved;
        return force_fault(cx, tf, SIGSEGV as u32, SI_KERNEL, 0);
    }
    if r.fp_addr != 0 {
        if let Some(mut fpu) = FpuState::from_current() {
            let mut img = vec![0u8; fpu.bytes().len()];
            if cx.read_bytes(UAddr(r.fp_addr), &mut img).is_err() {
                return force_fault(cx, tf, SIGSEGV as u32, SI_KERNEL, 0);
            }
            elfin_arch::sanitize_fpu(&mut img, FpuState::is_xsave(), FpuState::xcr0());
            fpu.load_bytes(&img);
            fpu.restore();
        }
    }
    let mut s = cx.thread.sig.lock();
    s.mask = r.mask & !UNBLOCKABLE;
    let (sp, flags, size) = r.uc_stack;
    let on_alt = s.altstack.ss_flags & SS_DISABLE == 0 && tf.sp().wrapping_sub(s.altstack.ss_sp) < s.altstack.ss_size;
    if !on_alt {
        if flags & SS_DISABLE != 0 {
            s.altstack = StackT::new(0, SS_DISABLE, 0);
        } else if size >= 2048 {
            s.altstack = StackT::new(sp, flags & SS_AUTODISARM, size);
        }
    }
    drop(s);
    // The restored mask may unblock something pending.
    cx.thread.sig_hint.store(true, Ordering::SeqCst);
}

/// Resets handled signals to SIG_DFL and keeps ignored ones (execve).
pub fn reset_for_exec(h: &mut [KernelSigaction; 64]) {
    for a in h.iter_mut() {
        if a.handler != SIG_IGN {
            *a = KernelSigaction::default();
        } else {
            a.flags = 0;
            a.mask = 0;
            a.restorer = 0;
        }
    }
}
