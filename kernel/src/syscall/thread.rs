//! Threads, futexes, sleeping and signal sending.
use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{CloneArgs, Timespec};
use elfin_shim::UAddr;

use super::SysResult;
use crate::proc::CURRENT;
use crate::sched::{self, WaitOn, Wake};
use crate::uaccess::{read_val, write_val};

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;

fn with_mem<R>(f: impl FnOnce(&mut crate::mem::vm::AddrSpace) -> Result<R, Errno>) -> Result<R, Errno> {
    match CURRENT.lock().as_mut() {
        Some(p) => f(&mut p.aspace),
        None => Err(Errno::ESRCH),
    }
}

/// clone(2) for threads (CLONE_VM | CLONE_THREAD); fork-like clones are not supported yet.
pub fn clone(tf: &TrapFrame, flags: u64, stack: u64, ptid: UAddr, ctid: UAddr, tls: u64) -> SysResult {
    if flags & CLONE_VM == 0 {
        return super::unsupported("clone (fork: new address space)", 56);
    }
    if flags & CLONE_THREAD == 0 || flags & CLONE_VFORK != 0 {
        return super::unsupported("clone (CLONE_VM process/vfork)", 56);
    }
    if flags & CLONE_SIGHAND == 0 || flags & CLONE_PIDFD != 0 {
        return Err(Errno::EINVAL);
    }
    let _ = (CLONE_FS, CLONE_FILES);
    let mut child = *tf;
    child.set_syscall_ret(0);
    if stack != 0 {
        child.set_user_sp(stack);
    }
    let tls = if flags & CLONE_SETTLS != 0 { tls } else { elfin_arch::get_tls() };
    if flags & CLONE_SETTLS != 0 {
        child.set_user_tls(tls);
    }
    let mask = sched::with_current(|t| t.sigmask);
    let tid = sched::spawn(&child, tls, mask).ok_or(Errno::ENOMEM)?;
    if flags & CLONE_PARENT_SETTID != 0 {
        with_mem(|m| write_val(m, ptid, &tid))?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        with_mem(|m| write_val(m, ctid, &tid))?;
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        sched::with_thread(tid, |t| t.clear_child_tid = ctid.0);
    }
    Ok(tid as u64)
}

/// clone3(2).
pub fn clone3(tf: &TrapFrame, args: UAddr, size: usize) -> SysResult {
    if !(64..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let a: CloneArgs = with_mem(|m| read_val(m, args))?;
    if a.flags & CLONE_VM == 0 || a.flags & CLONE_THREAD == 0 || a.flags & CLONE_VFORK != 0 {
        // Processes (fork, vfork, posix_spawn) are reported as unsupported by name.
        return clone(tf, a.flags, 0, UAddr(0), UAddr(0), 0);
    }
    if a.exit_signal != 0 || a.set_tid != 0 {
        // A thread has no exit signal (Linux: EINVAL with CLONE_THREAD).
        return Err(Errno::EINVAL);
    }
    let stack = if a.stack != 0 { a.stack.checked_add(a.stack_size).ok_or(Errno::EINVAL)? } else { 0 };
    clone(tf, a.flags, stack, UAddr(a.parent_tid), UAddr(a.child_tid), a.tls)
}

/// exit(2): ends the calling thread (the program when it is the last one).
pub fn exit_thread(status: i32) -> ! {
    if sched::live_threads() <= 1 {
        crate::proc::exit_vm(status as u8);
    }
    let ctid = sched::with_current(|t| t.clear_child_tid);
    if ctid != 0 && with_mem(|m| write_val(m, UAddr(ctid), &0u32)).is_ok() {
        sched::wake_futex(ctid, 1, u32::MAX);
    }
    sched::exit_current()
}

fn deadline_from(timeout: UAddr, absolute: bool, realtime: bool) -> Result<Option<u64>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    let ts: Timespec = with_mem(|m| read_val(m, timeout))?;
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
pub fn futex(uaddr: UAddr, op: i32, val: u32, timeout: UAddr, uaddr2: UAddr, val3: u32) -> SysResult {
    const WAIT: i32 = 0;
    const WAKE: i32 = 1;
    const REQUEUE: i32 = 3;
    const CMP_REQUEUE: i32 = 4;
    const WAKE_OP: i32 = 5;
    const WAIT_BITSET: i32 = 9;
    const WAKE_BITSET: i32 = 10;
    let realtime = op & 256 != 0;
    let cmd = op & !(128 | 256);
    if !uaddr.0.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    match cmd {
        WAIT | WAIT_BITSET => {
            let bitset = if cmd == WAIT { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let cur: u32 = with_mem(|m| read_val(m, uaddr))?;
            if cur != val {
                return Err(Errno::EAGAIN);
            }
            let deadline = deadline_from(timeout, cmd == WAIT_BITSET, realtime)?;
            match sched::block(WaitOn::Futex(uaddr.0, bitset), deadline) {
                Wake::Woken => Ok(0),
                Wake::Timeout => Err(Errno::ETIMEDOUT),
                Wake::Signal => Err(Errno::EINTR),
            }
        }
        WAKE | WAKE_BITSET => {
            let bitset = if cmd == WAKE { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(sched::wake_futex(uaddr.0, val as usize, bitset) as u64)
        }
        REQUEUE | CMP_REQUEUE => {
            if cmd == CMP_REQUEUE {
                let cur: u32 = with_mem(|m| read_val(m, uaddr))?;
                if cur != val3 {
                    return Err(Errno::EAGAIN);
                }
            }
            let woken = sched::wake_futex(uaddr.0, val as usize, u32::MAX);
            let moved = sched::requeue_futex(uaddr.0, uaddr2.0, timeout.0 as usize);
            Ok((woken + moved) as u64)
        }
        WAKE_OP => {
            let encoded = val3;
            let op_kind = (encoded >> 28) & 7;
            let shift = encoded & (8 << 28) != 0;
            let cmp = (encoded >> 24) & 15;
            let mut oparg = (encoded >> 12) & 0xfff;
            let cmparg = encoded & 0xfff;
            if shift {
                oparg = 1u32.checked_shl(oparg).unwrap_or(0);
            }
            let old: u32 = with_mem(|m| {
                let old: u32 = read_val(m, uaddr2)?;
                let new = match op_kind {
                    0 => oparg,
                    1 => old.wrapping_add(oparg),
                    2 => old | oparg,
                    3 => old & !oparg,
                    4 => old ^ oparg,
                    _ => return Err(Errno::ENOSYS),
                };
                write_val(m, uaddr2, &new)?;
                Ok(old)
            })?;
            let mut n = sched::wake_futex(uaddr.0, val as usize, u32::MAX);
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
                n += sched::wake_futex(uaddr2.0, timeout.0 as usize, u32::MAX);
            }
            Ok(n as u64)
        }
        6..=8 | 11..=13 => super::unsupported("futex (priority-inheritance operations)", 202),
        _ => Err(Errno::ENOSYS),
    }
}

/// nanosleep(2) / clock_nanosleep(2).
pub fn sleep(clock: i32, flags: i32, req: UAddr, rem: UAddr) -> SysResult {
    if !matches!(clock, 0 | 1 | 7 | 8 | 9) {
        return Err(if clock == 2 || clock == 3 { Errno::ENOTSUP } else { Errno::EINVAL });
    }
    let ts: Timespec = with_mem(|m| read_val(m, req))?;
    ts.as_nanos().ok_or(Errno::EINVAL)?;
    let absolute = flags & 1 != 0;
    let deadline = deadline_from(req, absolute, clock == 0)?.unwrap_or(0);
    match sched::block(WaitOn::Sleep, Some(deadline)) {
        Wake::Signal => {
            if !absolute && !rem.is_null() {
                let left = deadline.saturating_sub(crate::time::monotonic_ns());
                let t = Timespec { tv_sec: (left / 1_000_000_000) as i64, tv_nsec: (left % 1_000_000_000) as i64 };
                with_mem(|m| write_val(m, rem, &t))?;
            }
            Err(Errno::EINTR)
        }
        _ => Ok(0),
    }
}

/// kill(2), tkill(2), tgkill(2): the program can only signal itself.
pub fn kill(pid: i32, tid: Option<i32>, sig: i32) -> SysResult {
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let target_ok = match tid {
        None => pid == 1 || pid == 0 || pid == -1,
        Some(_) => pid == 1 || pid == -1,
    };
    if !target_ok {
        return Err(Errno::ESRCH);
    }
    match tid {
        Some(t) => {
            if sched::with_thread(t, |_| ()).is_none() {
                return Err(Errno::ESRCH);
            }
            if sig != 0 {
                crate::signal::send_to_thread(t, sig as u32)?;
            }
        }
        None => {
            if sig != 0 {
                crate::signal::send_to_process(sig as u32);
            }
        }
    }
    Ok(0)
}

/// rt_sigprocmask(2) on the calling thread.
pub fn sigprocmask(how: i32, set: UAddr, oldset: UAddr, sigsetsize: usize) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let new: Option<u64> = if set.is_null() { None } else { Some(with_mem(|m| read_val(m, set))?) };
    if new.is_some() && !matches!(how, 0..=2) {
        return Err(Errno::EINVAL);
    }
    let old = sched::with_current(|t| {
        let old = t.sigmask;
        if let Some(s) = new {
            let s = s & !crate::signal::UNBLOCKABLE;
            t.sigmask = match how {
                0 => old | s,
                1 => old & !s,
                _ => s,
            };
        }
        old
    });
    if !oldset.is_null() {
        with_mem(|m| write_val(m, oldset, &old))?;
    }
    Ok(0)
}

/// sigaltstack(2) on the calling thread.
pub fn sigaltstack(tf: &TrapFrame, ss: UAddr, old: UAddr) -> SysResult {
    use elfin_shim::uapi::StackT;
    const SS_ONSTACK: i32 = 1;
    const SS_DISABLE: i32 = 2;
    const SS_AUTODISARM: i32 = 1 << 31;
    let cur = sched::with_current(|t| t.altstack);
    let sp = tf.sp();
    let on = cur.ss_flags & SS_DISABLE == 0 && sp.wrapping_sub(cur.ss_sp) < cur.ss_size;
    let new: Option<StackT> = if ss.is_null() { None } else { Some(with_mem(|m| read_val(m, ss))?) };
    if !old.is_null() {
        let mut o = cur;
        if on {
            o.ss_flags |= SS_ONSTACK;
        }
        with_mem(|m| write_val(m, old, &o))?;
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
        sched::with_current(|t| t.altstack = st);
    }
    Ok(0)
}

/// rt_sigpending(2).
pub fn sigpending(set: UAddr, size: usize) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let p = sched::with_current(|t| t.pending & t.sigmask);
    with_mem(|m| write_val(m, set, &p))?;
    Ok(0)
}

/// rt_sigsuspend(2): waits with a temporary mask until a signal is delivered.
pub fn sigsuspend(set: UAddr, size: usize) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = with_mem(|m| read_val(m, set))?;
    let old = sched::with_current(|t| {
        let o = t.sigmask;
        t.sigmask = mask & !crate::signal::UNBLOCKABLE;
        o
    });
    loop {
        if sched::block(WaitOn::Sleep, None) == Wake::Signal {
            break;
        }
    }
    // The handler runs with the temporary mask; the frame restores the old one.
    sched::with_current(|t| t.saved_mask = Some(old));
    Err(Errno::EINTR)
}
