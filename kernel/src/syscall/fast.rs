//! The calls that only read the caller's own identity (getpid, getppid, gettid,
//! getpgrp, getuid and friends): answered straight from the number, before the
//! general decode, with no context to build and nothing left on the stack. They
//! cannot fail, block or change the frame.
use core::sync::atomic::{AtomicU8, Ordering};

use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::call::Nr;

use crate::task::{sched, Thread};

/// Sends every call through the general path from now on (strace, the boot
/// figures, which count calls, or a seccomp mode, which sees every call).
pub fn general_only() {
    for id in &IDS {
        id.store(0, Ordering::Relaxed);
    }
}

/// Numbers below this are looked up in [`IDS`].
const TABLE: usize = 512;

/// The identity call each number stands for (0: none), by [`run`]'s codes.
static IDS: [AtomicU8; TABLE] = ids();

const fn ids() -> [AtomicU8; TABLE] {
    let mut t = [const { AtomicU8::new(0) }; TABLE];
    let mut n = 0;
    while n < TABLE {
        let nr = match elfin_arch::ELF_MACHINE {
            62 => elfin_shim::x86_64::nr(n),
            183 => elfin_shim::aarch64::nr(n),
            _ => None,
        };
        t[n] = AtomicU8::new(match nr {
            Some(Nr::Getpid) => PID,
            Some(Nr::Getppid) => PPID,
            Some(Nr::Gettid) => TID,
            Some(Nr::Getpgrp) => PGRP,
            Some(Nr::Getuid) => UID,
            Some(Nr::Geteuid) => EUID,
            Some(Nr::Getgid) => GID,
            Some(Nr::Getegid) => EGID,
            _ => 0,
        });
        n += 1;
    }
    t
}

const PID: u8 = 1;
const PPID: u8 = 2;
const TID: u8 = 3;
const PGRP: u8 = 4;
const UID: u8 = 5;
const EUID: u8 = 6;
const GID: u8 = 7;
const EGID: u8 = 8;

/// The identity call number `n` stands for (0: none, or every call must take
/// the general path).
#[inline(always)]
pub fn id_of(n: usize) -> u8 {
    match IDS.get(n) {
        Some(id) => id.load(Ordering::Relaxed),
        None => 0,
    }
}

/// Runs identity call `id`; the answer is the stub's return code.
#[inline(always)]
pub fn run(tf: &mut TrapFrame, id: u8) -> u8 {
    let Some((t, p)) = sched::current_held() else { return elfin_arch::SYSCALL_DONE };
    // Nothing here sleeps or is preempted (that happens only on the way to user
    // mode), so the call's time is one difference.
    let start = elfin_arch::read_cycles_unordered();
    let v = match id {
        PID => p.pid as u64,
        PPID => p.ppid() as u64,
        TID => t.tid() as u64,
        PGRP => p.pgid.load(Ordering::Relaxed) as u64,
        // Out of line, so that this path makes no call and saves no register.
        _ => return run_cred(tf, id, start),
    };
    finish(tf, &t, v, start)
}

/// getuid, geteuid, getgid or getegid, the part of [`run`] after `start`.
#[inline(never)]
fn run_cred(tf: &mut TrapFrame, id: u8, start: u64) -> u8 {
    let Some((t, p)) = sched::current_held() else { return elfin_arch::SYSCALL_DONE };
    let v = match id {
        UID => super::proc::get_id(&p, false, 0),
        EUID => super::proc::get_id(&p, false, 1),
        GID => super::proc::get_id(&p, true, 0),
        _ => super::proc::get_id(&p, true, 1),
    };
    finish(tf, &t, v, start)
}

/// Returns `v` to the caller, counts the call's time and says whether anything
/// is left to do on the way back.
#[inline(always)]
fn finish(tf: &mut TrapFrame, t: &Thread, v: u64, start: u64) -> u8 {
    tf.set_syscall_ret(v);
    t.add_sys_cycles(elfin_arch::read_cycles_unordered().wrapping_sub(start));
    // A signal, or rseq work after a switch. (Not an exit: a thread marks itself
    // exited only in a call or trap that it never returns from.)
    // Relaxed: a signal sent meanwhile also kicks this CPU, whose interrupt
    // delivers it.
    if t.sig_hint.load(Ordering::Relaxed) || t.sched.rseq_pending() {
        return super::leave_finish(t, crate::task::Restart::Never, tf.syscall_nr(), tf.syscall_args()[0]);
    }
    elfin_arch::SYSCALL_DONE
}
