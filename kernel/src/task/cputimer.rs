//! CPU-time clocks and the timers on them: CLOCK_PROCESS_CPUTIME_ID,
//! CLOCK_THREAD_CPUTIME_ID and the clocks `clock_getcpuclockid` and
//! `pthread_getcpuclockid` name (negative clock ids encoding a pid or tid), and
//! the interval timers ITIMER_VIRTUAL (user time) and ITIMER_PROF (user and
//! system time), and RLIMIT_CPU. Their expiry is checked for the running process
//! on every tick and scheduler pass ([`check`]).
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::rlimit::{RLIMIT_CPU, RLIM_INFINITY};
use elfin_shim::uapi::signal::{SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU, SI_KERNEL};
use elfin_shim::uapi::Siginfo;

use super::{table, Ctx, Process, Thread};

/// What a CPU clock measures (Linux's CPUCLOCK_WHICH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// User and system time (CPUCLOCK_PROF).
    Prof,
    /// User time (CPUCLOCK_VIRT).
    Virt,
    /// All time on the CPU (CPUCLOCK_SCHED; what CLOCK_*_CPUTIME_ID are).
    Sched,
}

/// A CPU-time clock of a process or of a thread.
#[derive(Clone)]
pub enum CpuClock {
    /// The process's threads together (live and exited).
    Process(Arc<Process>, Which),
    /// One thread.
    Thread(Arc<Thread>, Which),
}

fn measure(cpu: u64, sys: u64, which: Which) -> u64 {
    match which {
        Which::Prof | Which::Sched => cpu,
        Which::Virt => cpu.saturating_sub(sys.min(cpu)),
    }
}

impl CpuClock {
    /// The clock's reading, in ns.
    pub fn now(&self) -> u64 {
        match self {
            CpuClock::Process(p, w) => measure(p.cpu_ns(), p.sys_ns(), *w),
            CpuClock::Thread(t, w) => measure(t.cpu_ns(), t.sys_ns(), *w),
        }
    }
}

/// Decodes a CPU-time clock id (None for the other clocks); EINVAL for a
/// malformed one or a process or thread that does not exist (a thread clock
/// must name a thread of the caller's process, as Linux's lookup_task wants).
pub fn decode(cx: &Ctx, clock: i32) -> Result<Option<CpuClock>, Errno> {
    match clock {
        2 => return Ok(Some(CpuClock::Process(cx.proc.clone(), Which::Sched))),
        3 => return Ok(Some(CpuClock::Thread(cx.thread.clone(), Which::Sched))),
        c if c >= 0 => return Ok(None),
        _ => {}
    }
    let which = match clock & 3 {
        0 => Which::Prof,
        1 => Which::Virt,
        2 => Which::Sched,
        _ => return Err(Errno::EINVAL),
    };
    let id = !(clock >> 3);
    if clock & 4 != 0 {
        let t = if id == 0 { cx.thread.clone() } else { table::thread(id).ok_or(Errno::EINVAL)? };
        if !Arc::ptr_eq(&t.process, &cx.proc) {
            return Err(Errno::EINVAL);
        }
        Ok(Some(CpuClock::Thread(t, which)))
    } else {
        let p = if id == 0 { cx.proc.clone() } else { table::process(id).ok_or(Errno::EINVAL)? };
        Ok(Some(CpuClock::Process(p, which)))
    }
}

/// The clock an interval timer runs on: 1 ITIMER_VIRTUAL, 2 ITIMER_PROF.
fn itimer_now(p: &Process, which: usize) -> u64 {
    let (cpu, sys) = (p.cpu_ns(), p.sys_ns());
    measure(cpu, sys, if which == 0 { Which::Virt } else { Which::Prof })
}

/// getitimer for ITIMER_VIRTUAL (`which` 1) or ITIMER_PROF (2): (left, interval).
pub fn get_itimer(p: &Process, which: i32) -> (u64, u64) {
    let i = (which - 1) as usize;
    let armed = p.ext.lock().cpu_itimer.get(i).copied().flatten();
    match armed {
        Some((d, iv)) => (d.saturating_sub(itimer_now(p, i)).max(1), iv),
        None => (0, 0),
    }
}

/// setitimer for ITIMER_VIRTUAL or ITIMER_PROF; returns the old (left, interval).
pub fn set_itimer(p: &Process, which: i32, value: u64, interval: u64) -> (u64, u64) {
    let old = get_itimer(p, which);
    let i = (which - 1) as usize;
    let now = itimer_now(p, i);
    // Linux adds a tick to the first expiry (set_cpu_itimer).
    let expiry = (value != 0).then(|| (now.saturating_add(value).saturating_add(crate::timer::TICK_NS), interval));
    let mut ext = p.ext.lock();
    if let Some(slot) = ext.cpu_itimer.get_mut(i) {
        *slot = expiry;
    }
    drop(ext);
    if value != 0 {
        crate::timer::enable_preemption();
    }
    old
}

/// Fires the CPU-time timers of the running thread's process that are due.
pub fn check(t: &Arc<Thread>) {
    let p = &t.process;
    check_rlimit(p);
    if !p.ext.lock().cpu_timers_armed() {
        return;
    }
    let mut signals: Vec<i32> = Vec::new();
    let (cpu, sys) = (p.cpu_ns(), p.sys_ns());
    let posix: Vec<Arc<super::ptimer::PosixTimer>> = {
        let mut e = p.ext.lock();
        for (i, sig) in [(0usize, SIGVTALRM), (1, SIGPROF)] {
            let now = measure(cpu, sys, if i == 0 { Which::Virt } else { Which::Prof });
            let Some(slot) = e.cpu_itimer.get_mut(i) else { continue };
            if let Some((d, iv)) = *slot {
                if now >= d {
                    // Linux's check_cpu_itimer: one signal, the next expiry one interval on.
                    *slot = if iv > 0 { Some((d.saturating_add(iv).max(now.saturating_add(1)), iv)) } else { None };
                    signals.push(sig);
                }
            }
        }
        e.timers.values().filter(|t| t.is_cpu_armed()).cloned().collect()
    };
    for sig in signals {
        super::signal::send_to_process(p, sig as u32, Siginfo::kill(sig, SI_KERNEL, 0, 0));
    }
    for timer in posix {
        timer.check_cpu();
    }
}

/// RLIMIT_CPU, in seconds of user and system time (Linux's
/// check_process_timers): SIGKILL at the hard limit; SIGXCPU at the soft one,
/// which then moves a second on, so that the signal repeats every second.
fn check_rlimit(p: &Arc<Process>) {
    const NS: u64 = 1_000_000_000;
    let (soft, hard) = p.rlimits(RLIMIT_CPU);
    if soft == RLIM_INFINITY {
        return;
    }
    let used = p.cpu_ns();
    let kernel = |sig: i32| Siginfo::kill(sig, SI_KERNEL, 0, 0);
    if hard != RLIM_INFINITY && used >= hard.saturating_mul(NS) {
        super::signal::send_to_process(p, SIGKILL as u32, kernel(SIGKILL));
        return;
    }
    if used >= soft.saturating_mul(NS) {
        let mut info = p.info.lock();
        if let Some(l) = info.rlimits.get_mut(RLIMIT_CPU as usize) {
            l.0 = soft.saturating_add(1);
        }
        drop(info);
        super::signal::send_to_process(p, SIGXCPU as u32, kernel(SIGXCPU));
    }
}

/// Sleeps until the CPU clock `c` reaches `target` (clock_nanosleep on a process
/// CPU clock): the clock cannot run faster than real time, so the wait for the
/// rest is at least that long; the clock is read again after each wait.
pub fn sleep_until(cx: &Ctx, c: &CpuClock, target: u64) -> Result<(), Errno> {
    loop {
        let now = c.now();
        if now >= target {
            return Ok(());
        }
        let deadline = crate::time::monotonic_ns().saturating_add(target - now);
        match super::wait::wait_until(&[], Some(deadline), true, || None::<()>) {
            Err(super::wait::WaitError::Interrupted) => return Err(cx.interrupted(super::Restart::NoHand)),
            _ => continue,
        }
    }
}
