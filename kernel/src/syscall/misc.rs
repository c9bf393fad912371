//! Process, time, signal-bookkeeping and system-information calls.
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{KernelSigaction, Rlimit64, Rusage, Sysinfo, Timespec, Timeval, Tms, Utsname};
use elfin_shim::UAddr;

use super::SysResult;
use crate::proc::{Process, NLIMITS};
use crate::uaccess::{read_bytes, read_val, write_bytes, write_val};

/// arch_prctl(2) (x86_64): the FS base holds the thread pointer.
pub fn arch_prctl(_p: &mut Process, code: i32, addr: u64) -> SysResult {
    match code {
        0x1002 => {
            if elfin_arch::set_tls(addr) {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        0x1003 => {
            let v = elfin_arch::get_tls();
            write_val(&mut _p.aspace, UAddr(addr), &v)?;
            Ok(0)
        }
        0x1001 | 0x1004 => super::unsupported("arch_prctl(ARCH_SET_GS/ARCH_GET_GS)", 158),
        0x1011 => Ok(1), // ARCH_GET_CPUID: cpuid is enabled
        0x1012 => Ok(0), // ARCH_SET_CPUID(1)
        _ => Err(Errno::EINVAL),
    }
}

/// rseq(2) registration. One CPU and no preemption of user code yet: the CPU id is
/// always 0 and no critical section can be interrupted, so registering only has to
/// publish the CPU id (abort handling arrives with preemption and signals).
pub fn rseq(p: &mut Process, addr: UAddr, len: u32, flags: i32, _sig: u32) -> SysResult {
    if flags & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & 1 != 0 {
        return Ok(0);
    }
    if len < 32 || !addr.0.is_multiple_of(32) {
        return Err(Errno::EINVAL);
    }
    // cpu_id_start (u32) and cpu_id (u32) at offsets 0 and 4.
    write_val(&mut p.aspace, addr, &[0u32, 0u32])?;
    Ok(0)
}

fn field(s: &str) -> [u8; 65] {
    let mut f = [0u8; 65];
    for (d, b) in f.iter_mut().zip(s.bytes().take(64)) {
        *d = b;
    }
    f
}

/// uname(2).
pub fn uname(p: &mut Process, buf: UAddr) -> SysResult {
    let u = Utsname {
        sysname: field("Linux"),
        nodename: field("elfin"),
        release: field("6.1.0-elfin"),
        version: field("#1 SMP PREEMPT_DYNAMIC elfin"),
        machine: field(elfin_arch::PLATFORM),
        domainname: field("(none)"),
    };
    write_val(&mut p.aspace, buf, &u)?;
    Ok(0)
}

fn ts(ns: u64) -> Timespec {
    Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
}

fn clock_ns(clock: i32) -> Result<u64, Errno> {
    Ok(match clock {
        0 | 5 | 8 | 11 => crate::time::realtime_ns(),
        1 | 4 | 6 | 7 | 9 => crate::time::monotonic_ns(),
        // CPU-time clocks: the program has had the CPU since boot.
        2 | 3 => crate::time::monotonic_ns(),
        _ => return Err(Errno::EINVAL),
    })
}

/// clock_gettime(2).
pub fn clock_gettime(p: &mut Process, clock: i32, tp: UAddr) -> SysResult {
    let ns = clock_ns(clock)?;
    write_val(&mut p.aspace, tp, &ts(ns))?;
    Ok(0)
}

/// clock_getres(2).
pub fn clock_getres(p: &mut Process, clock: i32, res: UAddr) -> SysResult {
    clock_ns(clock)?;
    let r = if clock == 5 || clock == 6 { 4_000_000 } else { 1 };
    if !res.is_null() {
        write_val(&mut p.aspace, res, &ts(r))?;
    }
    Ok(0)
}

/// gettimeofday(2).
pub fn gettimeofday(p: &mut Process, tv: UAddr, tz: UAddr) -> SysResult {
    let ns = crate::time::realtime_ns();
    if !tv.is_null() {
        let t = Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 };
        write_val(&mut p.aspace, tv, &t)?;
    }
    if !tz.is_null() {
        write_val(&mut p.aspace, tz, &[0i32, 0i32])?;
    }
    Ok(0)
}

/// time(2).
pub fn time(p: &mut Process, tloc: UAddr) -> SysResult {
    let s = (crate::time::realtime_ns() / 1_000_000_000) as i64;
    if !tloc.is_null() {
        write_val(&mut p.aspace, tloc, &s)?;
    }
    Ok(s as u64)
}

/// getrandom(2).
pub fn getrandom(p: &mut Process, buf: UAddr, len: usize, flags: u32) -> SysResult {
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
        write_bytes(&mut p.aspace, UAddr(buf.0 + done as u64), chunk)?;
        done += k;
    }
    Ok(n as u64)
}

/// prlimit64(2) on the calling process.
pub fn prlimit(p: &mut Process, pid: i32, resource: u32, new: UAddr, old: UAddr) -> SysResult {
    if pid != 0 && pid != p.pid {
        return Err(Errno::ESRCH);
    }
    let i = resource as usize;
    if i >= NLIMITS {
        return Err(Errno::EINVAL);
    }
    let cur = p.rlimits.get(i).copied().ok_or(Errno::EINVAL)?;
    let newv = if new.is_null() { None } else { Some(read_val::<Rlimit64>(&mut p.aspace, new)?) };
    if let Some(n) = newv {
        if n.cur > n.max {
            return Err(Errno::EINVAL);
        }
        if resource == 7 && n.max > 1_048_576 {
            return Err(Errno::EPERM);
        }
    }
    if !old.is_null() {
        write_val(&mut p.aspace, old, &Rlimit64 { cur: cur.0, max: cur.1 })?;
    }
    if let Some(n) = newv {
        if let Some(slot) = p.rlimits.get_mut(i) {
            *slot = (n.cur, n.max);
        }
    }
    Ok(0)
}

/// rt_sigaction(2): dispositions are recorded; delivery arrives with the signals work.
pub fn rt_sigaction(p: &mut Process, sig: i32, act: UAddr, oldact: UAddr, sigsetsize: usize) -> SysResult {
    if sigsetsize != 8 || !(1..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let idx = (sig - 1) as usize;
    if !act.is_null() && (sig == 9 || sig == 19) {
        return Err(Errno::EINVAL);
    }
    let old = p.sigactions.get(idx).copied().ok_or(Errno::EINVAL)?;
    let new = if act.is_null() { None } else { Some(read_val::<KernelSigaction>(&mut p.aspace, act)?) };
    if !oldact.is_null() {
        write_val(&mut p.aspace, oldact, &old)?;
    }
    if let Some(mut n) = new {
        n.mask &= !((1 << 8) | (1 << 18));
        if let Some(slot) = p.sigactions.get_mut(idx) {
            *slot = n;
        }
    }
    Ok(0)
}

/// sched_getaffinity(2): one CPU.
pub fn sched_getaffinity(p: &mut Process, pid: i32, size: usize, mask: UAddr) -> SysResult {
    if pid != 0 && pid != p.pid {
        return Err(Errno::ESRCH);
    }
    if size < 8 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    write_val(&mut p.aspace, mask, &1u64)?;
    Ok(8)
}

/// sysinfo(2).
pub fn sysinfo(p: &mut Process, info: UAddr) -> SysResult {
    let s = Sysinfo {
        uptime: (crate::time::monotonic_ns() / 1_000_000_000) as i64,
        totalram: (crate::mem::frames::total_count() as u64) * 4096,
        freeram: (crate::mem::frames::free_count() as u64) * 4096,
        procs: 1,
        mem_unit: 1,
        ..Default::default()
    };
    write_val(&mut p.aspace, info, &s)?;
    Ok(0)
}

/// times(2).
pub fn times(p: &mut Process, buf: UAddr) -> SysResult {
    let ticks = (crate::time::monotonic_ns() / 10_000_000) as i64;
    if !buf.is_null() {
        write_val(&mut p.aspace, buf, &Tms { tms_utime: ticks, tms_stime: 0, tms_cutime: 0, tms_cstime: 0 })?;
    }
    Ok(ticks as u64)
}

/// getrusage(2).
pub fn getrusage(p: &mut Process, who: i32, usage: UAddr) -> SysResult {
    if !matches!(who, -1..=1) {
        return Err(Errno::EINVAL);
    }
    let mut r = Rusage::default();
    if who != -1 {
        let ns = crate::time::monotonic_ns();
        r.ru_utime = Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 };
    }
    write_val(&mut p.aspace, usage, &r)?;
    Ok(0)
}

/// prctl(2): thread names and a few queries.
pub fn prctl(p: &mut Process, option: i32, arg2: u64) -> SysResult {
    match option {
        15 => {
            // PR_SET_NAME: up to 15 bytes, NUL-terminated.
            let mut name = [0u8; 16];
            read_bytes(&mut p.aspace, UAddr(arg2), &mut name).map_err(|_| Errno::EFAULT)?;
            let len = name.iter().position(|&b| b == 0).unwrap_or(15).min(15);
            let mut comm = [0u8; 16];
            comm.get_mut(..len).unwrap_or(&mut []).copy_from_slice(name.get(..len).unwrap_or(&[]));
            crate::sched::with_current(|t| t.comm = comm);
            Ok(0)
        }
        16 => {
            // PR_GET_NAME: the name set, else the program's file name (as Linux's comm).
            let mut name = crate::sched::with_current(|t| t.comm);
            if name[0] == 0 {
                let exe = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
                for (d, s) in name.iter_mut().zip(exe.iter().take(15)) {
                    *d = *s;
                }
            }
            write_bytes(&mut p.aspace, UAddr(arg2), &name)?;
            Ok(0)
        }
        // PR_SET_PDEATHSIG: the program has no parent inside the VM to outlive it,
        // but the setting is kept and reported like Linux does.
        1 => {
            if !(0..=64).contains(&(arg2 as i64)) {
                return Err(Errno::EINVAL);
            }
            p.prctl.pdeathsig = arg2 as i32;
            Ok(0)
        }
        2 => {
            write_val(&mut p.aspace, UAddr(arg2), &p.prctl.pdeathsig)?;
            Ok(0)
        }
        3 => Ok(u64::from(p.prctl.dumpable)),
        4 => {
            if arg2 > 1 {
                return Err(Errno::EINVAL);
            }
            p.prctl.dumpable = arg2 as u8;
            Ok(0)
        }
        // PR_GET_SECCOMP: no seccomp filter is ever installed.
        21 => Ok(0),
        36 => {
            p.prctl.subreaper = arg2 != 0;
            Ok(0)
        }
        37 => {
            write_val(&mut p.aspace, UAddr(arg2), &i32::from(p.prctl.subreaper))?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// getpriority(2): the kernel ABI returns 20 - nice.
pub fn getpriority(p: &mut Process, which: i32, who: i32) -> SysResult {
    check_prio_target(p, which, who)?;
    Ok((20 - p.nice) as u64)
}

/// setpriority(2): the nice value is kept (one CPU, one process: it changes nothing else).
pub fn setpriority(p: &mut Process, which: i32, who: i32, prio: i32) -> SysResult {
    check_prio_target(p, which, who)?;
    p.nice = prio.clamp(-20, 19);
    Ok(0)
}

fn check_prio_target(p: &Process, which: i32, who: i32) -> Result<(), Errno> {
    match which {
        0 if who == 0 || who == p.pid || crate::sched::with_thread(who, |_| ()).is_some() => Ok(()),
        1 if who == 0 || who == p.pid => Ok(()),
        2 if who == 0 => Ok(()),
        0..=2 => Err(Errno::ESRCH),
        _ => Err(Errno::EINVAL),
    }
}
