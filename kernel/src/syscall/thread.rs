//! Futexes, sleeping, and the calling thread's signal state.
use core::sync::atomic::Ordering;

use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::futex::*;
use elfin_shim::uapi::{StackT, Timespec};
use elfin_shim::UAddr;

use super::SysResult;
use crate::task::futex;
use crate::task::{wait, Ctx, Restart};

fn deadline_from(cx: &Ctx, timeout: UAddr, absolute: bool, realtime: bool) -> Result<Option<u64>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    let ts: Timespec = cx.read_val(timeout)?;
    let ns = ts.as_nanos().ok_or(Errno::EINVAL)?;
    let now = crate::time::monotonic_ns();
    Ok(Some(if absolute {
        let clock_now = if realtime { crate::time::realtime_ns() } else { now };
        now.saturating_add(ns.saturating_sub(clock_now))
    } else {
        now.saturating_add(ns)
    }))
}

/// futex(2).
pub fn futex(cx: &Ctx, uaddr: UAddr, op: i32, val: u32, timeout: UAddr, uaddr2: UAddr, val3: u32) -> SysResult {
    let op = op as u32;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let cmd = op & FUTEX_CMD_MASK;
    if realtime && !matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_LOCK_PI2 | FUTEX_WAIT_REQUEUE_PI) {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { FUTEX_BITSET_MATCH_ANY } else { val3 };
            // FUTEX_WAIT's timeout is relative (CLOCK_MONOTONIC), WAIT_BITSET's absolute.
            let deadline = deadline_from(cx, timeout, cmd == FUTEX_WAIT_BITSET, realtime)?;
            futex::wait(cx, uaddr, val, bitset, deadline, private)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { FUTEX_BITSET_MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let key = futex::key_of(cx, uaddr, private)?;
            Ok(futex::wake(key, val as usize, bitset) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let k1 = futex::key_of(cx, uaddr, private)?;
            let k2 = futex::key_of(cx, uaddr2, private)?;
            if cmd == FUTEX_CMP_REQUEUE {
                let cur: u32 = cx.read_val(uaddr)?;
                if cur != val3 {
                    return Err(Errno::EAGAIN);
                }
            }
            let woken = futex::wake(k1, val as usize, FUTEX_BITSET_MATCH_ANY);
            let moved = futex::requeue(k1, k2, timeout.0 as u32 as usize);
            Ok((woken + moved) as u64)
        }
        FUTEX_WAKE_OP => {
            let k1 = futex::key_of(cx, uaddr, private)?;
            let k2 = futex::key_of(cx, uaddr2, private)?;
            let encoded = val3;
            let op_kind = (encoded >> 28) & 7;
            let shift = encoded & (8 << 28) != 0;
            let cmp = (encoded >> 24) & 15;
            let mut oparg = (encoded >> 12) & 0xfff;
            let cmparg = encoded & 0xfff;
            if shift {
                oparg = 1u32.checked_shl(oparg).unwrap_or(0);
            }
            let old: u32 = {
                let mut m = cx.mm();
                let old: u32 = crate::uaccess::read_val(&mut m, uaddr2)?;
                let new = match op_kind {
                    0 => oparg,
                    1 => old.wrapping_add(oparg),
                    2 => old | oparg,
                    3 => old & !oparg,
                    4 => old ^ oparg,
                    _ => return Err(Errno::ENOSYS),
                };
                crate::uaccess::write_val(&mut m, uaddr2, &new)?;
                old
            };
            let mut n = futex::wake(k1, val as usize, FUTEX_BITSET_MATCH_ANY);
            let (o, c) = (old as i32, cmparg as i32);
            let hit = match cmp {
                0 => o == c,
                1 => o != c,
                2 => o < c,
                3 => o <= c,
                4 => o > c,
                5 => o >= c,
                _ => return Err(Errno::ENOSYS),
            };
            if hit {
                n += futex::wake(k2, timeout.0 as u32 as usize, FUTEX_BITSET_MATCH_ANY);
            }
            Ok(n as u64)
        }
        FUTEX_LOCK_PI
        | FUTEX_UNLOCK_PI
        | FUTEX_TRYLOCK_PI
        | FUTEX_WAIT_REQUEUE_PI
        | FUTEX_CMP_REQUEUE_PI
        | FUTEX_LOCK_PI2 => super::unsupported("futex (priority-inheritance operations)", cx.nr),
        _ => Err(Errno::ENOSYS),
    }
}

/// nanosleep(2) / clock_nanosleep(2).
pub fn sleep(cx: &Ctx, clock: i32, flags: i32, req: UAddr, rem: UAddr) -> SysResult {
    // REALTIME, MONOTONIC, BOOTTIME, the two ALARM clocks and TAI (the others are
    // sorted out by the caller).
    if !matches!(clock, 0 | 1 | 7 | 8 | 9 | 11) {
        return Err(Errno::EINVAL);
    }
    let ts: Timespec = cx.read_val(req)?;
    ts.as_nanos().ok_or(Errno::EINVAL)?;
    let absolute = flags & 1 != 0;
    let deadline = deadline_from(cx, req, absolute, matches!(clock, 0 | 8 | 11))?.unwrap_or(0);
    sleep_until(cx, deadline, if absolute { None } else { Some(rem) })
}

/// Sleeps until `deadline`. Interrupted, an absolute sleep starts again; a relative
/// one reports the time left in `rem` and EINTR when a handler runs, and else is
/// resumed by restart_syscall with the same deadline (ERESTART_RESTARTBLOCK).
fn sleep_until(cx: &Ctx, deadline: u64, relative_rem: Option<UAddr>) -> SysResult {
    match wait::wait_until(&[], Some(deadline), true, || None::<()>) {
        Err(wait::WaitError::Interrupted) => match relative_rem {
            None => Err(cx.interrupted(Restart::NoHand)),
            Some(rem) => {
                if !rem.is_null() {
                    let left = deadline.saturating_sub(crate::time::monotonic_ns());
                    let t = Timespec { tv_sec: (left / 1_000_000_000) as i64, tv_nsec: (left % 1_000_000_000) as i64 };
                    cx.write_val(rem, &t)?;
                }
                cx.thread.misc.lock().restart_sleep = Some((deadline, rem.0));
                Err(cx.interrupted(Restart::Block))
            }
        },
        _ => Ok(0),
    }
}

/// restart_syscall(2): resumes an interrupted relative sleep.
pub fn restart_syscall(cx: &Ctx) -> SysResult {
    // Taken before the sleep: the thread's lock is not held while it sleeps (an
    // interruption of the restarted sleep stores its state there again).
    let pending = cx.thread.misc.lock().restart_sleep.take();
    match pending {
        Some((deadline, rem)) => sleep_until(cx, deadline, Some(UAddr(rem))),
        None => Err(Errno::EINTR),
    }
}

/// get_robust_list(2): the robust-list head of a thread (0: the caller).
pub fn get_robust_list(cx: &Ctx, pid: i32, head: UAddr, len: UAddr) -> SysResult {
    let t = if pid == 0 { cx.thread.clone() } else { crate::task::table::thread(pid).ok_or(Errno::ESRCH)? };
    if !super::proc::may_change(cx, &t.process) {
        return Err(Errno::EPERM);
    }
    let (h, l) = t.misc.lock().robust_list;
    cx.write_val(head, &h)?;
    cx.write_val(len, &(l as u64))?;
    Ok(0)
}

/// rt_sigprocmask(2) on the calling thread.
pub fn sigprocmask(cx: &Ctx, how: i32, set: UAddr, oldset: UAddr, sigsetsize: usize) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let new: Option<u64> = if set.is_null() { None } else { Some(cx.read_val(set)?) };
    if new.is_some() && !matches!(how, 0..=2) {
        return Err(Errno::EINVAL);
    }
    let old = {
        let mut s = cx.thread.sig.lock();
        let old = s.mask;
        if let Some(n) = new {
            let n = n & !crate::task::signal::UNBLOCKABLE;
            s.mask = match how {
                0 => old | n,
                1 => old & !n,
                _ => n,
            };
        }
        old
    };
    if new.is_some() {
        // Unblocking may make something pending deliverable.
        cx.thread.sig_hint.store(true, Ordering::SeqCst);
    }
    if !oldset.is_null() {
        cx.write_val(oldset, &old)?;
    }
    Ok(0)
}

/// sigaltstack(2) on the calling thread.
pub fn sigaltstack(cx: &Ctx, tf: &TrapFrame, ss: UAddr, old: UAddr) -> SysResult {
    const SS_ONSTACK: i32 = 1;
    const SS_DISABLE: i32 = 2;
    const SS_AUTODISARM: i32 = 1 << 31;
    let cur = cx.thread.sig.lock().altstack;
    let sp = tf.sp();
    let on = cur.ss_flags & SS_DISABLE == 0 && sp.wrapping_sub(cur.ss_sp) < cur.ss_size;
    let new: Option<StackT> = if ss.is_null() { None } else { Some(cx.read_val(ss)?) };
    if !old.is_null() {
        let mut o = cur;
        if on {
            o.ss_flags |= SS_ONSTACK;
        }
        cx.write_val(old, &o)?;
    }
    if let Some(n) = new {
        if on {
            return Err(Errno::EPERM);
        }
        let mode = n.ss_flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        let st = if mode == SS_DISABLE {
            StackT::new(0, SS_DISABLE, 0)
        } else {
            if n.ss_size < 2048 {
                return Err(Errno::ENOMEM);
            }
            StackT::new(n.ss_sp, n.ss_flags & SS_AUTODISARM, n.ss_size)
        };
        cx.thread.sig.lock().altstack = st;
    }
    Ok(0)
}

/// rt_sigpending(2): blocked signals pending for the thread or the process.
pub fn sigpending(cx: &Ctx, set: UAddr, size: usize) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let (mask, own) = {
        let s = cx.thread.sig.lock();
        (s.mask, s.pending.mask())
    };
    let p = (own | cx.proc.shared_pending.lock().mask()) & mask;
    cx.write_val(set, &p)?;
    Ok(0)
}

/// rt_sigsuspend(2): waits with a temporary mask until a signal is delivered.
pub fn sigsuspend(cx: &Ctx, set: UAddr, size: usize) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = cx.read_val(set)?;
    {
        let mut s = cx.thread.sig.lock();
        s.saved_mask = Some(s.mask);
        s.mask = mask & !crate::task::signal::UNBLOCKABLE;
    }
    cx.thread.sig_hint.store(true, Ordering::SeqCst);
    let _ = wait::wait_until(&[], None, true, || None::<()>);
    // The handler runs with the temporary mask; its frame restores the old one.
    Err(cx.interrupted(Restart::NoHand))
}

/// pause(2): waits until a signal is delivered.
pub fn pause(cx: &Ctx) -> SysResult {
    let _ = wait::wait_until(&[], None, true, || None::<()>);
    Err(cx.interrupted(Restart::NoHand))
}
