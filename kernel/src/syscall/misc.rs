//! Time, limits, signal dispositions, prctl and system-information calls.
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use elfin_kcore::sigqueue::bit;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{KernelSigaction, Rlimit64, Rusage, Sysinfo, Timespec, Timeval, Tms, Utsname};
use elfin_shim::UAddr;

use super::SysResult;
use crate::task::caps::CAP_SYS_RESOURCE;
use crate::task::{table, Ctx, Process, NLIMITS};
use elfin_shim::uapi::rlimit::RLIMIT_NOFILE;

/// arch_prctl(2) (x86_64): the FS base holds the thread pointer.
pub fn arch_prctl(cx: &Ctx, code: i32, addr: u64) -> SysResult {
    match code {
        0x1002 => {
            if elfin_arch::set_tls(addr) {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        0x1003 => {
            cx.write_val(UAddr(addr), &elfin_arch::get_tls())?;
            Ok(0)
        }
        0x1001 | 0x1004 => super::unsupported("arch_prctl(ARCH_SET_GS/ARCH_GET_GS)", 158),
        0x1011 => Ok(1), // ARCH_GET_CPUID: cpuid is enabled
        0x1012 => Ok(0), // ARCH_SET_CPUID(1)
        _ => Err(Errno::EINVAL),
    }
}

fn field(s: &str) -> [u8; 65] {
    let mut f = [0u8; 65];
    for (d, b) in f.iter_mut().zip(s.bytes().take(64)) {
        *d = b;
    }
    f
}

/// uname(2).
pub fn uname(cx: &Ctx, buf: UAddr) -> SysResult {
    let u = Utsname {
        sysname: field("Linux"),
        nodename: field(core::str::from_utf8(&crate::uts::hostname()).unwrap_or("elfin")),
        release: field(super::RELEASE),
        version: field("#1 SMP PREEMPT_DYNAMIC elfin"),
        machine: field(elfin_arch::PLATFORM),
        domainname: field(core::str::from_utf8(&crate::uts::domainname()).unwrap_or("(none)")),
    };
    cx.write_val(buf, &u)?;
    Ok(0)
}

fn ts(ns: u64) -> Timespec {
    Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
}

fn tv(ns: u64) -> Timeval {
    Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 }
}

/// clock_gettime(2), CPU-time clocks of other processes and threads included.
pub fn clock_gettime(cx: &Ctx, clock: i32, tp: UAddr) -> SysResult {
    let ns = super::timers::clock_now(cx, clock)?;
    cx.write_val(tp, &ts(ns))?;
    Ok(0)
}

/// clock_getres(2).
pub fn clock_getres(cx: &Ctx, clock: i32, res: UAddr) -> SysResult {
    let r = super::timers::clock_res(cx, clock)?;
    if !res.is_null() {
        cx.write_val(res, &ts(r))?;
    }
    Ok(0)
}

/// gettimeofday(2).
pub fn gettimeofday(cx: &Ctx, tvp: UAddr, tz: UAddr) -> SysResult {
    let ns = crate::time::realtime_ns();
    if !tvp.is_null() {
        cx.write_val(tvp, &tv(ns))?;
    }
    if !tz.is_null() {
        cx.write_val(tz, &[0i32, 0i32])?;
    }
    Ok(0)
}

/// time(2).
pub fn time(cx: &Ctx, tloc: UAddr) -> SysResult {
    let s = (crate::time::realtime_ns() / 1_000_000_000) as i64;
    if !tloc.is_null() {
        cx.write_val(tloc, &s)?;
    }
    Ok(s as u64)
}

/// getrandom(2).
pub fn getrandom(cx: &Ctx, buf: UAddr, len: usize, flags: u32) -> SysResult {
    if flags & !7 != 0 || flags & 6 == 6 {
        return Err(Errno::EINVAL);
    }
    let n = len.min(33_554_431);
    let mut tmp = alloc::vec![0u8; n.min(256)];
    let mut done = 0;
    while done < n {
        let k = (n - done).min(tmp.len());
        let chunk = tmp.get_mut(..k).ok_or(Errno::EFAULT)?;
        crate::rng::fill(chunk);
        if let Err(e) = cx.write_bytes(UAddr(buf.0 + done as u64), chunk) {
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += k;
    }
    Ok(n as u64)
}

/// The process a thread or process id names (0: the caller's).
fn process_of(cx: &Ctx, pid: i32) -> Result<Arc<Process>, Errno> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 {
        return Ok(cx.proc.clone());
    }
    table::thread(pid).map(|t| t.process.clone()).or_else(|| table::process(pid)).ok_or(Errno::ESRCH)
}

/// prlimit64(2) (and getrlimit/setrlimit on the caller): another process needs
/// the caller's user and group ids as all of its own, or CAP_SYS_RESOURCE, which
/// raising a hard limit needs too. The old limits are written after the new ones
/// are set (an EFAULT then leaves them set, as on Linux).
pub fn prlimit(cx: &Ctx, pid: i32, resource: u32, new: UAddr, old: UAddr) -> SysResult {
    let newv = if new.is_null() { None } else { Some(cx.read_val::<Rlimit64>(new)?) };
    let p = process_of(cx, pid)?;
    let i = resource as usize;
    if i >= NLIMITS {
        return Err(Errno::EINVAL);
    }
    if !Arc::ptr_eq(&p, &cx.proc) {
        let me = cx.proc.cred.lock().clone();
        let t = p.cred.lock().clone();
        let ids_match = t.uid[..3].iter().all(|&u| u == me.uid[0]) && t.gid[..3].iter().all(|&g| g == me.gid[0]);
        if !ids_match && !me.capable(CAP_SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
    }
    let may_raise = cx.proc.cred.lock().capable(CAP_SYS_RESOURCE);
    let cur = {
        let mut info = p.info.lock();
        let slot = info.rlimits.get_mut(i).ok_or(Errno::EINVAL)?;
        let cur = *slot;
        if let Some(n) = newv {
            if n.cur > n.max {
                return Err(Errno::EINVAL);
            }
            if resource == RLIMIT_NOFILE && n.max > crate::fs::file::NR_OPEN as u64 {
                return Err(Errno::EPERM);
            }
            if n.max > cur.1 && !may_raise {
                return Err(Errno::EPERM);
            }
            *slot = (n.cur, n.max);
        }
        cur
    };
    if !old.is_null() {
        cx.write_val(old, &Rlimit64 { cur: cur.0, max: cur.1 })?;
    }
    Ok(0)
}

/// rt_sigaction(2). Setting a disposition that ignores a signal discards its
/// pending instances (POSIX).
pub fn rt_sigaction(cx: &Ctx, sig: i32, act: UAddr, oldact: UAddr, sigsetsize: usize) -> SysResult {
    if sigsetsize != 8 || !(1..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let idx = (sig - 1) as usize;
    if !act.is_null() && (sig == 9 || sig == 19) {
        return Err(Errno::EINVAL);
    }
    let new = if act.is_null() { None } else { Some(cx.read_val::<KernelSigaction>(act)?) };
    let hand = cx.proc.sighand();
    let old = hand.lock().get(idx).copied().ok_or(Errno::EINVAL)?;
    if !oldact.is_null() {
        cx.write_val(oldact, &old)?;
    }
    if let Some(mut n) = new {
        n.mask &= !((1 << 8) | (1 << 18));
        if let Some(slot) = hand.lock().get_mut(idx) {
            *slot = n;
        }
        let ignores = n.handler == 1 || (n.handler == 0 && matches!(sig, 17 | 23 | 28));
        if ignores {
            let b = bit(sig as u32);
            cx.proc.shared_pending.lock().discard(b);
            for t in cx.proc.threads.lock().iter() {
                t.sig.lock().pending.discard(b);
            }
        }
    }
    Ok(0)
}

/// Bytes of a CPU mask in the affinity calls (Linux: the longs that hold
/// nr_cpu_ids bits; elfin runs at most 64 CPUs).
const CPUMASK_BYTES: usize = 8;

/// sched_getaffinity(2): the CPUs the thread may run on; returns the bytes written.
pub fn sched_getaffinity(cx: &Ctx, pid: i32, size: usize, mask: UAddr) -> SysResult {
    let t = super::proc::find_thread(cx, pid)?;
    // Linux: the buffer must hold nr_cpu_ids bits and be a whole number of longs.
    let cpus = crate::task::sched::online();
    if size * 8 < cpus || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let m = crate::task::sched::allowed(&t) & crate::task::sched::online_mask();
    let n = size.min(CPUMASK_BYTES);
    cx.write_bytes(mask, m.to_ne_bytes().get(..n).unwrap_or(&[]))?;
    Ok(n as u64)
}

/// sched_setaffinity(2): restricts the thread to the online CPUs of `mask`
/// (EINVAL when none is left). Another process's threads need the same user
/// (real or effective) or privilege, as Linux's CAP_SYS_NICE check.
pub fn sched_setaffinity(cx: &Ctx, pid: i32, size: usize, mask: UAddr) -> SysResult {
    let t = super::proc::find_thread(cx, pid)?;
    let mut bytes = [0u8; CPUMASK_BYTES];
    let n = size.min(CPUMASK_BYTES);
    cx.read_bytes(mask, bytes.get_mut(..n).unwrap_or(&mut []))?;
    if !Arc::ptr_eq(&t.process, &cx.proc) {
        let (privileged, euid) = {
            let me = cx.proc.cred.lock();
            (me.capable(crate::task::caps::CAP_SYS_NICE), me.uid[1])
        };
        let them = t.process.cred.lock().uid;
        if !privileged && euid != them[0] && euid != them[1] {
            return Err(Errno::EPERM);
        }
    }
    let m = u64::from_ne_bytes(bytes) & crate::task::sched::online_mask();
    if m == 0 {
        return Err(Errno::EINVAL);
    }
    crate::task::sched::set_allowed(&t, m);
    Ok(0)
}

/// sysinfo(2).
pub fn sysinfo(cx: &Ctx, info: UAddr) -> SysResult {
    let s = Sysinfo {
        uptime: (crate::time::monotonic_ns() / 1_000_000_000) as i64,
        totalram: (crate::mem::frames::total_count() as u64) * 4096,
        freeram: (crate::mem::frames::free_count() as u64) * 4096,
        // In 16-bit fixed point (SI_LOAD_SHIFT).
        loads: crate::task::loadavg::averages().map(|a| a << (16 - elfin_kcore::loadavg::FSHIFT)),
        sharedram: crate::fs::pages::used() as u64 * 4096,
        procs: table::thread_count().min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..Default::default()
    };
    cx.write_val(info, &s)?;
    Ok(0)
}

/// times(2).
pub fn times(cx: &Ctx, buf: UAddr) -> SysResult {
    let ticks = |ns: u64| (ns / 10_000_000) as i64;
    if !buf.is_null() {
        let (cpu, sys) = (cx.proc.cpu_ns(), cx.proc.sys_ns());
        let c = *cx.proc.times.lock();
        let t = Tms {
            tms_utime: ticks(cpu.saturating_sub(sys)),
            tms_stime: ticks(sys),
            tms_cutime: ticks(c.children_ns.saturating_sub(c.children_sys_ns)),
            tms_cstime: ticks(c.children_sys_ns),
        };
        cx.write_val(buf, &t)?;
    }
    Ok(ticks(crate::time::monotonic_ns()) as u64)
}

/// KiB in `pages` pages (ru_maxrss's unit).
pub(super) fn pages_kib(pages: u64) -> i64 {
    (pages * (elfin_arch::PAGE_SIZE / 1024)) as i64
}

/// getrusage(2): user and system time (time in system calls), page faults,
/// context switches, the peak resident set.
pub fn getrusage(cx: &Ctx, who: i32, usage: UAddr) -> SysResult {
    let t = *cx.proc.times.lock();
    // ru_maxrss of a thread is its process's, as on Linux.
    let (ns, sys, flt, sw, maxrss) = match who {
        0 => (
            cx.proc.cpu_ns(),
            cx.proc.sys_ns(),
            cx.proc.minflt.load(core::sync::atomic::Ordering::Relaxed),
            cx.proc.switches(),
            cx.proc.peak_rss_pages(),
        ),
        -1 => (t.children_ns, t.children_sys_ns, t.children_minflt, t.children_switches, t.children_maxrss),
        1 => (
            cx.thread.cpu_ns(),
            cx.thread.sys_ns(),
            cx.thread.minflt.load(core::sync::atomic::Ordering::Relaxed),
            cx.thread.switches(),
            cx.proc.peak_rss_pages(),
        ),
        _ => return Err(Errno::EINVAL),
    };
    let sys = sys.min(ns);
    let r = Rusage {
        ru_utime: tv(ns - sys),
        ru_stime: tv(sys),
        ru_maxrss: pages_kib(maxrss),
        ru_minflt: flt as i64,
        ru_nvcsw: sw.voluntary as i64,
        ru_nivcsw: sw.involuntary as i64,
        ..Default::default()
    };
    cx.write_val(usage, &r)?;
    Ok(0)
}

/// prctl(2): names, the parent-death signal, dumpable, the child subreaper.
pub fn prctl(cx: &Ctx, option: i32, args: [u64; 4]) -> SysResult {
    let arg2 = args[0];
    match option {
        15 => {
            // PR_SET_NAME: up to 15 bytes, NUL-terminated.
            let name = cx.read_cstr(UAddr(arg2), 4096).map_err(|_| Errno::EFAULT)?;
            cx.thread.set_comm(&name);
            Ok(0)
        }
        16 => {
            // PR_GET_NAME: the name set, else the program's file name (as Linux's comm).
            let mut name = [0u8; 16];
            for (d, s) in name.iter_mut().zip(cx.thread.comm().iter().take(15)) {
                *d = *s;
            }
            cx.write_bytes(UAddr(arg2), &name)?;
            Ok(0)
        }
        1 => {
            if !(0..=64).contains(&(arg2 as i64)) {
                return Err(Errno::EINVAL);
            }
            cx.proc.info.lock().pdeathsig = arg2 as i32;
            Ok(0)
        }
        2 => {
            let v = cx.proc.info.lock().pdeathsig;
            cx.write_val(UAddr(arg2), &v)?;
            Ok(0)
        }
        3 => Ok(u64::from(cx.proc.info.lock().dumpable)),
        4 => {
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            cx.proc.info.lock().dumpable = arg2 as u8;
            Ok(0)
        }
        36 => {
            cx.proc.info.lock().subreaper = arg2 != 0;
            Ok(0)
        }
        37 => {
            let v = i32::from(cx.proc.info.lock().subreaper);
            cx.write_val(UAddr(arg2), &v)?;
            Ok(0)
        }
        _ => super::sys::prctl_ext(cx, option, args),
    }
}

/// The processes `which`/`who` name for getpriority/setpriority.
fn prio_targets(cx: &Ctx, which: i32, who: i32) -> Result<alloc::vec::Vec<Arc<Process>>, Errno> {
    let all = table::processes();
    let v: alloc::vec::Vec<Arc<Process>> = match which {
        0 => alloc::vec![process_of(cx, who)?],
        1 => {
            let g = if who == 0 { cx.proc.pgid.load(Ordering::Relaxed) } else { who };
            all.into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == g).collect()
        }
        // Every process belongs to root.
        2 if who == 0 => all,
        2 => alloc::vec::Vec::new(),
        _ => return Err(Errno::EINVAL),
    };
    let v: alloc::vec::Vec<Arc<Process>> = v.into_iter().filter(|p| !p.state.lock().zombie).collect();
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}

/// getpriority(2): the kernel ABI returns 20 - nice (of the highest priority).
pub fn getpriority(cx: &Ctx, which: i32, who: i32) -> SysResult {
    let best = prio_targets(cx, which, who)?.iter().map(|p| p.info.lock().nice).min().unwrap_or(0);
    Ok((20 - best) as u64)
}

/// setpriority(2): the nice value is kept (there is one CPU: it changes nothing else).
pub fn setpriority(cx: &Ctx, which: i32, who: i32, prio: i32) -> SysResult {
    for p in prio_targets(cx, which, who)? {
        p.info.lock().nice = prio.clamp(-20, 19);
    }
    Ok(0)
}

fn itimerval(value: u64, interval: u64) -> elfin_shim::uapi::Itimerval {
    elfin_shim::uapi::Itimerval { it_interval: tv(interval), it_value: tv(value) }
}

fn tv_ns(t: &Timeval) -> Result<u64, Errno> {
    if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok((t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_usec as u64 * 1000))
}

fn remaining(a: &crate::task::itimer::Armed) -> u64 {
    a.deadline.saturating_sub(crate::time::monotonic_ns()).max(1)
}

/// alarm(2): SIGALRM after `seconds`; returns the seconds left of the previous alarm.
pub fn alarm(cx: &Ctx, seconds: u32) -> SysResult {
    let old = crate::task::itimer::set_real(&cx.proc, u64::from(seconds) * 1_000_000_000, 0);
    Ok(old
        .map(|a| {
            let ns = remaining(&a);
            // Linux rounds to the nearest second, and never reports 0 for a pending alarm.
            ((ns + 500_000_000) / 1_000_000_000).max(1)
        })
        .unwrap_or(0))
}

/// getitimer(2).
pub fn getitimer(cx: &Ctx, which: i32, value: UAddr) -> SysResult {
    let v = match which {
        0 => match crate::task::itimer::get_real(&cx.proc) {
            Some(a) => itimerval(remaining(&a), a.interval),
            None => itimerval(0, 0),
        },
        1 | 2 => {
            let (left, iv) = crate::task::cputimer::get_itimer(&cx.proc, which);
            itimerval(left, iv)
        }
        _ => return Err(Errno::EINVAL),
    };
    cx.write_val(value, &v)?;
    Ok(0)
}

/// setitimer(2): ITIMER_REAL (SIGALRM), ITIMER_VIRTUAL (user time, SIGVTALRM) and
/// ITIMER_PROF (user and system time, SIGPROF).
pub fn setitimer(cx: &Ctx, which: i32, value: UAddr, old: UAddr) -> SysResult {
    if !(0..=2).contains(&which) {
        return Err(Errno::EINVAL);
    }
    let new: Option<elfin_shim::uapi::Itimerval> = if value.is_null() { None } else { Some(cx.read_val(value)?) };
    let (v, i) = match &new {
        Some(n) => (tv_ns(&n.it_value)?, tv_ns(&n.it_interval)?),
        None => (0, 0),
    };
    // Linux rounds the times up to the clock's resolution: an interval below it
    // becomes one tick (the value stays as given).
    let o = if which == 0 {
        let prev = crate::task::itimer::set_real(&cx.proc, v, i);
        prev.map(|a| itimerval(remaining(&a), a.interval)).unwrap_or_else(|| itimerval(0, 0))
    } else {
        let (left, iv) = crate::task::cputimer::set_itimer(&cx.proc, which, v, i);
        itimerval(left, iv)
    };
    if !old.is_null() {
        cx.write_val(old, &o)?;
    }
    Ok(0)
}

/// syslog(2) (klogctl): the kernel log. Every action needs CAP_SYSLOG or
/// CAP_SYS_ADMIN, as Linux with `kernel.dmesg_restrict` set (Debian's default).
pub fn syslog(cx: &Ctx, ty: i32, buf: UAddr, len: i32) -> SysResult {
    use crate::klog;
    const CAP_SYSLOG: u32 = 34;
    {
        let c = cx.proc.cred.lock();
        if !c.capable(CAP_SYSLOG) && !c.capable(crate::task::caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
    }
    let want = |buf: UAddr, len: i32| -> Result<usize, Errno> {
        if buf.is_null() || len < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(len as usize)
    };
    match ty {
        // SYSLOG_ACTION_CLOSE, SYSLOG_ACTION_OPEN
        0 | 1 => Ok(0),
        // SYSLOG_ACTION_READ: waits for records past the read position, and takes them.
        2 => {
            let max = want(buf, len)?;
            if max == 0 {
                return Ok(0);
            }
            let data = crate::task::wait::wait_for(cx, &[&klog::LOG_WQ], None, crate::task::Restart::Sys, || {
                klog::with_log(|log| {
                    let data = klog::take_unread(log, max);
                    (!data.is_empty()).then_some(data)
                })
            })?;
            cx.write_bytes(buf, &data)?;
            Ok(data.len() as u64)
        }
        // SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_READ_CLEAR
        3 | 4 => {
            let max = want(buf, len)?;
            if max == 0 {
                return Ok(0);
            }
            let data = klog::with_log(|log| klog::read_all(log, max));
            cx.write_bytes(buf, &data)?;
            if ty == 4 {
                klog::with_log(klog::clear);
            }
            Ok(data.len() as u64)
        }
        // SYSLOG_ACTION_CLEAR
        5 => {
            klog::with_log(klog::clear);
            Ok(0)
        }
        // SYSLOG_ACTION_CONSOLE_OFF, SYSLOG_ACTION_CONSOLE_ON
        6 => {
            klog::console_off();
            Ok(0)
        }
        7 => {
            klog::console_on();
            Ok(0)
        }
        // SYSLOG_ACTION_CONSOLE_LEVEL
        8 => {
            if !(1..=8).contains(&len) {
                return Err(Errno::EINVAL);
            }
            klog::set_console_level(len as usize);
            Ok(0)
        }
        // SYSLOG_ACTION_SIZE_UNREAD
        9 => Ok(klog::with_log(|log| klog::unread_bytes(log)) as u64),
        // SYSLOG_ACTION_SIZE_BUFFER
        10 => Ok(klog::LOG_BYTES as u64),
        _ => Err(Errno::EINVAL),
    }
}
