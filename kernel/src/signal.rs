//! Signal delivery: pending signals of the current thread are delivered on the
//! way back to user mode by building the architecture's signal frame on the user
//! stack; `rt_sigreturn` undoes it. Default actions follow signal(7).
use alloc::vec;

use elfin_arch::{FpuState, TrapFrame};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{Siginfo, StackT};
use elfin_shim::UAddr;

use crate::proc::CURRENT;
use crate::sched;

const SA_SIGINFO: u64 = 4;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SS_ONSTACK: i32 = 1;
const SS_DISABLE: i32 = 2;
const SS_AUTODISARM: i32 = 1 << 31;
/// SIGKILL and SIGSTOP can be neither blocked nor caught.
pub const UNBLOCKABLE: u64 = (1 << 8) | (1 << 18);
const SI_USER: i32 = 0;
const SI_TKILL: i32 = -6;

fn bit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

/// What a signal does when its disposition is SIG_DFL.
fn default_ignored(sig: u32) -> bool {
    // SIGCHLD, SIGCONT, SIGURG, SIGWINCH; stop signals (SIGSTOP, SIGTSTP, SIGTTIN,
    // SIGTTOU) too, as there is no job control.
    matches!(sig, 17 | 18 | 23 | 28 | 19 | 20 | 21 | 22)
}

/// Sends `sig` to thread `tid` (tgkill).
pub fn send_to_thread(tid: i32, sig: u32) -> Result<(), Errno> {
    if sched::signal_thread(tid, sig, SI_TKILL) {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// Sends `sig` to the process (kill): the first thread not blocking it gets it.
pub fn send_to_process(sig: u32) {
    let ids = sched::thread_ids();
    let target = ids
        .iter()
        .copied()
        .find(|&t| sched::with_thread(t, |th| th.sigmask & bit(sig) == 0).unwrap_or(false))
        .or_else(|| ids.first().copied());
    if let Some(t) = target {
        sched::signal_thread(t, sig, SI_USER);
    }
}

/// Delivers the current thread's unblocked pending signals (called before
/// returning to user mode).
pub fn deliver_pending(tf: &mut TrapFrame) {
    for _ in 0..64 {
        let next = sched::with_current(|t| {
            let avail = t.pending & !t.sigmask;
            if avail == 0 {
                return None;
            }
            let sig = avail.trailing_zeros() + 1;
            t.pending &= !bit(sig);
            Some((sig, t.pending_code.get((sig - 1) as usize).copied().unwrap_or(SI_USER)))
        });
        let Some((sig, code)) = next else { break };
        let info = Siginfo::kill(sig as i32, code, 1, 0);
        deliver(tf, sig, &info, false);
    }
    // A sigsuspend whose signal ran no handler gets its old mask back.
    sched::with_current(|t| {
        if let Some(m) = t.saved_mask.take() {
            t.sigmask = m;
        }
    });
}

/// Delivers a synchronous fault signal (SIGSEGV, SIGILL, …); kills the program
/// when it is blocked, ignored or has no handler, as Linux's force_sig does.
pub fn force_fault(tf: &mut TrapFrame, sig: u32, code: i32, addr: u64) {
    let info = Siginfo::fault(sig as i32, 0, code, addr);
    deliver(tf, sig, &info, true);
}

fn deliver(tf: &mut TrapFrame, sig: u32, info: &Siginfo, forced: bool) {
    let act = match CURRENT.lock().as_ref() {
        Some(p) => p.sigactions.get((sig - 1) as usize).copied().unwrap_or_default(),
        None => return,
    };
    let blocked = sched::with_current(|t| t.sigmask & bit(sig) != 0);
    if forced && (blocked || act.handler <= 1) {
        crate::trap::kill(sig, Some(info.addr()), tf_ip(tf));
    }
    match act.handler {
        1 => return,
        0 if default_ignored(sig) => return,
        0 => crate::trap::kill(sig, forced.then(|| info.addr()), tf_ip(tf)),
        _ => {}
    }
    // Without SA_RESTORER the handler returns to the architecture's sigreturn
    // trampoline (arm64's vDSO sigtramp); x86_64 Linux has none and fails.
    let restorer = if act.flags & SA_RESTORER != 0 { Some(act.restorer) } else { elfin_arch::sigreturn_trampoline() };
    let Some(restorer) = restorer else {
        crate::trap::kill(11, None, tf_ip(tf));
    };
    let (old_mask, alt) = sched::with_current(|t| (t.saved_mask.take().unwrap_or(t.sigmask), t.altstack));
    let sp = elfin_arch::UserRegs::sp(tf);
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
        crate::trap::kill(sig, None, tf_ip(tf));
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
        crate::trap::kill(11, None, tf_ip(&saved));
    };
    let ok = match CURRENT.lock().as_mut() {
        Some(p) => crate::uaccess::write_bytes(&mut p.aspace, UAddr(frame.addr), &frame.bytes).is_ok(),
        None => false,
    };
    if !ok {
        // Linux: a frame that cannot be written is a SIGSEGV that cannot be caught.
        crate::trap::kill(11, Some(frame.addr), tf_ip(&saved));
    }
    let _ = act.flags & SA_SIGINFO;
    sched::with_current(|t| {
        t.sigmask |= act.mask & !UNBLOCKABLE;
        if act.flags & SA_NODEFER == 0 {
            t.sigmask |= bit(sig);
        }
        if stack_top.is_some() && alt.ss_flags & SS_AUTODISARM != 0 {
            t.altstack = StackT::new(0, SS_DISABLE, 0);
        }
    });
    if act.flags & SA_RESETHAND != 0 {
        if let Some(p) = CURRENT.lock().as_mut() {
            if let Some(a) = p.sigactions.get_mut((sig - 1) as usize) {
                a.handler = 0;
            }
        }
    }
}

fn tf_ip(tf: &TrapFrame) -> u64 {
    elfin_arch::UserRegs::ip(tf)
}

/// rt_sigreturn: restores the context saved by the last delivery.
pub fn sigreturn(tf: &mut TrapFrame) {
    let uc_addr = elfin_arch::sigreturn_ucontext(tf);
    let mut uc = vec![0u8; elfin_arch::UCONTEXT_SIZE];
    let read = match CURRENT.lock().as_mut() {
        Some(p) => crate::uaccess::read_bytes(&mut p.aspace, UAddr(uc_addr), &mut uc).is_ok(),
        None => false,
    };
    if !read {
        crate::trap::kill(11, Some(uc_addr), tf_ip(tf));
    }
    let r = elfin_arch::restore_frame(tf, &uc);
    if r.fp_addr != 0 {
        if let Some(mut fpu) = FpuState::from_current() {
            let mut img = vec![0u8; fpu.bytes().len()];
            let ok = match CURRENT.lock().as_mut() {
                Some(p) => crate::uaccess::read_bytes(&mut p.aspace, UAddr(r.fp_addr), &mut img).is_ok(),
                None => false,
            };
            if !ok {
                crate::trap::kill(11, Some(r.fp_addr), tf_ip(tf));
            }
            elfin_arch::sanitize_fpu(&mut img, FpuState::is_xsave(), FpuState::xcr0());
            fpu.load_bytes(&img);
            fpu.restore();
        }
    }
    sched::with_current(|t| {
        t.sigmask = r.mask & !UNBLOCKABLE;
        let (sp, flags, size) = r.uc_stack;
        let on_alt = t.altstack.ss_flags & SS_DISABLE == 0
            && elfin_arch::UserRegs::sp(tf).wrapping_sub(t.altstack.ss_sp) < t.altstack.ss_size;
        if !on_alt {
            if flags & SS_DISABLE != 0 {
                t.altstack = StackT::new(0, SS_DISABLE, 0);
            } else if size >= 2048 {
                t.altstack = StackT::new(sp, flags & SS_AUTODISARM, size);
            }
        }
    });
}
