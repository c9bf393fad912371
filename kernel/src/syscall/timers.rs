//! Clocks and timers: the CPU-time clocks, setting the wall clock, POSIX timers
//! (timer_create and friends), timerfd, and ITIMER_VIRTUAL/ITIMER_PROF.
use alloc::sync::Arc;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::clock::*;
use elfin_shim::uapi::sigev::*;
use elfin_shim::uapi::{Itimerspec, Sigevent, Timespec, Timeval};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, O_NONBLOCK};
use crate::fs::timerfd::TimerFd;
use crate::task::cputimer::{self, CpuClock};
use crate::task::ptimer::{Notify, PosixTimer, TimerClock};
use crate::task::{table, Ctx};

const O_CLOEXEC: u32 = 0o2000000;
/// Most POSIX timers a process may have (Linux bounds them by RLIMIT_SIGPENDING;
/// this is far below and keeps a runaway program from eating the heap).
const MAX_TIMERS: usize = 4096;

/// The reading of clock `clock` in ns; EINVAL for an unknown clock.
pub fn clock_now(cx: &Ctx, clock: i32) -> Result<u64, Errno> {
    if let Some(c) = cputimer::decode(cx, clock)? {
        return Ok(c.now());
    }
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => crate::time::realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => {
            crate::time::monotonic_ns()
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// clock_getres(2) for a clock id (CPU clocks included).
pub fn clock_res(cx: &Ctx, clock: i32) -> Result<u64, Errno> {
    clock_now(cx, clock)?;
    Ok(if clock == CLOCK_REALTIME_COARSE || clock == CLOCK_MONOTONIC_COARSE { crate::time::COARSE_RES_NS } else { 1 })
}

fn read_ts(cx: &Ctx, a: UAddr) -> Result<u64, Errno> {
    let ts: Timespec = cx.read_val(a)?;
    super::select::timeout_ns(ts.tv_sec, ts.tv_nsec)
}

/// clock_settime(2): only the wall clock can be set, with CAP_SYS_TIME.
pub fn clock_settime(cx: &Ctx, clock: i32, tp: UAddr) -> SysResult {
    let ts: Timespec = cx.read_val(tp)?;
    if clock != CLOCK_REALTIME {
        clock_now(cx, clock)?;
        return Err(Errno::EINVAL);
    }
    let ns = super::select::timeout_ns(ts.tv_sec, ts.tv_nsec)?;
    if !cx.proc.cred.lock().capable(crate::task::CAP_SYS_TIME) {
        return Err(Errno::EPERM);
    }
    crate::time::set_realtime(ns);
    Ok(0)
}

/// clock_adjtime(2) and adjtimex(2) (on CLOCK_REALTIME): reads the kernel's NTP
/// state, which says the clock is not synchronised (STA_UNSYNC, TIME_ERROR) with
/// Linux's defaults. Changing it is refused: EPERM without CAP_SYS_TIME, else
/// EOPNOTSUPP (the clock's rate is not adjustable here).
pub fn clock_adjtime(cx: &Ctx, clock: i32, buf: UAddr) -> SysResult {
    const TIME_ERROR: u64 = 5;
    const STA_UNSYNC: i64 = 0x40;
    const ADJ_OFFSET_SINGLESHOT: u32 = 0x0001;
    const ADJ_OFFSET_READONLY: u32 = 0x2000;
    const ADJ_ADJTIME: u32 = 0x8000;
    if clock != CLOCK_REALTIME {
        // A valid clock without adjustments, or EINVAL for one that is not a clock.
        clock_now(cx, clock)?;
        return Err(Errno::EOPNOTSUPP);
    }
    // struct timex, as 26 words: modes, offset, freq, maxerror, esterror, status,
    // constant, precision, tolerance, time (2), tick, ppsfreq, jitter, shift,
    // stabil, jitcnt, calcnt, errcnt, stbcnt, tai, padding.
    let mut t: [i64; 26] = cx.read_val(buf)?;
    let modes = t[0] as u32;
    if modes & ADJ_ADJTIME != 0 {
        if modes & ADJ_OFFSET_SINGLESHOT == 0 {
            return Err(Errno::EINVAL);
        }
        if modes & ADJ_OFFSET_READONLY == 0 {
            return Err(refused(cx));
        }
    } else if modes != 0 {
        return Err(refused(cx));
    }
    let now = crate::time::realtime_ns();
    let fields: [(usize, i64); 20] = [
        (1, 0),
        (2, 0),
        (3, 16_000_000),
        (4, 16_000_000),
        (5, STA_UNSYNC),
        (6, 2),
        (7, 1),
        (8, 32_768_000),
        (9, (now / 1_000_000_000) as i64),
        (10, (now % 1_000_000_000 / 1000) as i64),
        (11, 10_000),
        (12, 0),
        (13, 0),
        (14, 0),
        (15, 0),
        (16, 0),
        (17, 0),
        (18, 0),
        (19, 0),
        (20, 0),
    ];
    for (i, v) in fields {
        if let Some(slot) = t.get_mut(i) {
            *slot = v;
        }
    }
    cx.write_val(buf, &t)?;
    Ok(TIME_ERROR)
}

/// Why a change to the NTP state is refused: EPERM without CAP_SYS_TIME.
fn refused(cx: &Ctx) -> Errno {
    if cx.proc.cred.lock().capable(crate::task::CAP_SYS_TIME) {
        Errno::EOPNOTSUPP
    } else {
        Errno::EPERM
    }
}

/// settimeofday(2): the wall clock (CAP_SYS_TIME); the time zone is accepted and
/// ignored, as the kernel keeps it only for FAT timestamps.
pub fn settimeofday(cx: &Ctx, tv: UAddr, tz: UAddr) -> SysResult {
    let new = if tv.is_null() { None } else { Some(cx.read_val::<Timeval>(tv)?) };
    if !tz.is_null() {
        let z: [i32; 2] = cx.read_val(tz)?;
        if !(-15 * 60..=15 * 60).contains(&z[0]) {
            return Err(Errno::EINVAL);
        }
    }
    if let Some(t) = new {
        if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
            return Err(Errno::EINVAL);
        }
    }
    if !cx.proc.cred.lock().capable(crate::task::CAP_SYS_TIME) {
        return Err(Errno::EPERM);
    }
    if let Some(t) = new {
        crate::time::set_realtime((t.tv_sec as u64).saturating_mul(1_000_000_000) + t.tv_usec as u64 * 1000);
    }
    Ok(0)
}

/// clock_nanosleep(2) and nanosleep(2) on clock `clock`.
pub fn clock_nanosleep(cx: &Ctx, clock: i32, flags: i32, req: UAddr, rem: UAddr) -> SysResult {
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM | CLOCK_TAI => {
            super::thread::sleep(cx, clock, flags, req, rem)
        }
        // No nsleep for these clocks in Linux.
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => Err(Errno::EOPNOTSUPP),
        _ => match cputimer::decode(cx, clock)? {
            // Linux sleeps on process clocks only (posix_cpu_nsleep).
            Some(c @ CpuClock::Process(..)) => {
                let ns = read_ts(cx, req)?;
                let target = if flags as u32 & TIMER_ABSTIME != 0 { ns } else { c.now().saturating_add(ns) };
                cputimer::sleep_until(cx, &c, target).map(|_| 0)
            }
            Some(CpuClock::Thread(..)) => Err(Errno::EOPNOTSUPP),
            None => Err(Errno::EINVAL),
        },
    }
}

fn itimerspec(left: u64, interval: u64) -> Itimerspec {
    Itimerspec { it_interval: Timespec::from_nanos(interval), it_value: Timespec::from_nanos(left) }
}

/// Reads a `struct itimerspec`: (value ns, interval ns), EINVAL when invalid.
fn read_its(cx: &Ctx, a: UAddr) -> Result<(u64, u64), Errno> {
    let its: Itimerspec = cx.read_val(a)?;
    let v = super::select::timeout_ns(its.it_value.tv_sec, its.it_value.tv_nsec)?;
    let i = super::select::timeout_ns(its.it_interval.tv_sec, its.it_interval.tv_nsec)?;
    Ok((v, i))
}

/// The monotonic deadline of a wall-clock timer armed with `value` (absolute on
/// `clock` with `abs`).
fn wall_deadline(clock: i32, value: u64, abs: bool) -> u64 {
    let now = crate::time::monotonic_ns();
    if !abs {
        return now.saturating_add(value);
    }
    let clock_now = match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI => crate::time::realtime_ns(),
        _ => now,
    };
    now.saturating_add(value.saturating_sub(clock_now)).max(now)
}

// ---------------------------------------------------------------- timer_* --

/// timer_create(2).
pub fn timer_create(cx: &Ctx, clock: i32, sevp: UAddr, timerid: UAddr) -> SysResult {
    let tclock = match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI => TimerClock::Wall { realtime: true },
        CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => TimerClock::Wall { realtime: false },
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => return Err(Errno::EOPNOTSUPP),
        _ => TimerClock::Cpu(cputimer::decode(cx, clock)?.ok_or(Errno::EINVAL)?),
    };
    let notify = if sevp.is_null() {
        // The default: SIGALRM to the process, sigev_value = the timer id.
        None
    } else {
        let ev: Sigevent = cx.read_val(sevp)?;
        // Linux's good_sigevent: SIGEV_THREAD is a signal to the process (the C
        // library makes the thread), SIGEV_THREAD_ID names a thread of the caller.
        Some(match ev.sigev_notify {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_THREAD_ID => {
                let tid = if ev.sigev_notify == SIGEV_THREAD_ID {
                    let t = table::thread(ev.sigev_notify_thread_id).ok_or(Errno::EINVAL)?;
                    if !Arc::ptr_eq(&t.process, &cx.proc) {
                        return Err(Errno::EINVAL);
                    }
                    Some(ev.sigev_notify_thread_id)
                } else {
                    None
                };
                if !(1..=64).contains(&ev.sigev_signo) {
                    return Err(Errno::EINVAL);
                }
                Notify::Signal { sig: ev.sigev_signo as u32, value: ev.sigev_value, tid }
            }
            _ => return Err(Errno::EINVAL),
        })
    };
    let id = {
        let mut e = cx.proc.ext.lock();
        if e.timers.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let mut id = e.next_timer_id;
        while e.timers.contains_key(&id) {
            id = id.checked_add(1).unwrap_or(0);
        }
        e.next_timer_id = id.checked_add(1).unwrap_or(0);
        id
    };
    let notify = notify.unwrap_or(Notify::Signal { sig: 14, value: id as u64, tid: None });
    let t = PosixTimer::new(id, tclock, notify, &cx.proc);
    cx.write_val(timerid, &id)?;
    cx.proc.ext.lock().timers.insert(id, t);
    Ok(0)
}

fn timer_of(cx: &Ctx, id: i32) -> Result<Arc<PosixTimer>, Errno> {
    cx.proc.ext.lock().timers.get(&id).cloned().ok_or(Errno::EINVAL)
}

/// timer_settime(2).
pub fn timer_settime(cx: &Ctx, id: i32, flags: i32, new: UAddr, old: UAddr) -> SysResult {
    let t = timer_of(cx, id)?;
    if new.is_null() {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = read_its(cx, new)?;
    let abs = flags as u32 & TIMER_ABSTIME != 0;
    let deadline = if value == 0 {
        None
    } else {
        Some(match &t.clock {
            TimerClock::Wall { realtime } => {
                wall_deadline(if *realtime { CLOCK_REALTIME } else { CLOCK_MONOTONIC }, value, abs)
            }
            TimerClock::Cpu(c) => {
                if abs {
                    value
                } else {
                    c.now().saturating_add(value)
                }
            }
        })
    };
    let (left, iv) = t.set(deadline, interval);
    if !old.is_null() {
        cx.write_val(old, &itimerspec(left, iv))?;
    }
    if let TimerClock::Cpu(_) = t.clock {
        // An absolute deadline already passed fires at once.
        t.check_cpu();
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn timer_gettime(cx: &Ctx, id: i32, value: UAddr) -> SysResult {
    let t = timer_of(cx, id)?;
    let (left, iv) = t.get();
    cx.write_val(value, &itimerspec(left, iv))?;
    Ok(0)
}

/// timer_getoverrun(2).
pub fn timer_getoverrun(cx: &Ctx, id: i32) -> SysResult {
    Ok(timer_of(cx, id)?.overrun() as u64)
}

/// timer_delete(2).
pub fn timer_delete(cx: &Ctx, id: i32) -> SysResult {
    let t = cx.proc.ext.lock().timers.remove(&id).ok_or(Errno::EINVAL)?;
    t.disarm();
    Ok(0)
}

// ---------------------------------------------------------------- timerfd --

/// timerfd_create(2).
pub fn timerfd_create(cx: &Ctx, clock: i32, flags: i32) -> SysResult {
    let flags = flags as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => {
            if !cx.proc.cred.lock().capable(crate::task::CAP_WAKE_ALARM) {
                return Err(Errno::EPERM);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    let file = OpenFile::new(TimerFd::new(clock), 2 | (flags & O_NONBLOCK), alloc::vec::Vec::new());
    Ok(cx.install(file, flags & O_CLOEXEC != 0)? as u64)
}

fn timerfd_of(cx: &Ctx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = cx.fd(fd)?;
    if f.downcast::<TimerFd>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// timerfd_settime(2).
pub fn timerfd_settime(cx: &Ctx, fd: i32, flags: i32, new: UAddr, old: UAddr) -> SysResult {
    let flags = flags as u32;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = timerfd_of(cx, fd)?;
    let (value, interval) = read_its(cx, new)?;
    let t = f.downcast::<TimerFd>().ok_or(Errno::EINVAL)?;
    let abs = flags & TFD_TIMER_ABSTIME != 0;
    let cancel =
        flags & TFD_TIMER_CANCEL_ON_SET != 0 && abs && matches!(t.clock, CLOCK_REALTIME | CLOCK_REALTIME_ALARM);
    let deadline = (value != 0).then(|| wall_deadline(t.clock, value, abs));
    let (left, iv) = t.set(deadline, interval, cancel);
    if !old.is_null() {
        cx.write_val(old, &itimerspec(left, iv))?;
    }
    Ok(0)
}

/// timerfd_gettime(2).
pub fn timerfd_gettime(cx: &Ctx, fd: i32, value: UAddr) -> SysResult {
    let f = timerfd_of(cx, fd)?;
    let t = f.downcast::<TimerFd>().ok_or(Errno::EINVAL)?;
    let (left, iv) = t.get();
    cx.write_val(value, &itimerspec(left, iv))?;
    Ok(0)
}
