//! Identity and system calls: capabilities, scheduling policies and priorities,
//! getcpu, membarrier, mlockall, host and domain names, personality, I/O
//! priorities, syncing, process_vm_readv/writev and kcmp.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::capability::*;
use elfin_shim::uapi::{CapData, CapHeader, Iovec, SchedAttr, Timespec};
use elfin_shim::UAddr;

use super::SysResult;
use crate::task::caps::{self, CAP_IPC_LOCK, CAP_SETPCAP, CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_PTRACE};
use crate::task::ext::*;
use crate::task::{table, Ctx, Process, Thread};

// ------------------------------------------------------------ capabilities --

/// Checks the header's version: the number of 32-bit words per set, or EINVAL
/// after writing the preferred version back (Linux's cap_validate_magic).
fn cap_words(cx: &Ctx, hdr: UAddr) -> Result<(usize, CapHeader), Errno> {
    let h: CapHeader = cx.read_val(hdr)?;
    match h.version {
        _LINUX_CAPABILITY_VERSION_1 => Ok((1, h)),
        _LINUX_CAPABILITY_VERSION_2 | _LINUX_CAPABILITY_VERSION_3 => Ok((2, h)),
        _ => {
            cx.write_val(hdr, &_LINUX_CAPABILITY_VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// capget(2).
pub fn capget(cx: &Ctx, hdr: UAddr, data: UAddr) -> SysResult {
    let (words, h) = match cap_words(cx, hdr) {
        Ok(x) => x,
        // Probing for the version with a NULL data pointer succeeds.
        Err(Errno::EINVAL) if data.is_null() => return Ok(0),
        Err(e) => return Err(e),
    };
    if data.is_null() {
        return Ok(0);
    }
    if h.pid < 0 {
        return Err(Errno::EINVAL);
    }
    let p = if h.pid == 0 || h.pid == cx.proc.pid {
        cx.proc.clone()
    } else {
        table::thread(h.pid).map(|t| t.process.clone()).ok_or(Errno::ESRCH)?
    };
    let c = p.cred.lock().caps;
    let word = |v: u64, i: usize| (v >> (32 * i)) as u32;
    for i in 0..words {
        let d = CapData {
            effective: word(c.effective, i),
            permitted: word(c.permitted, i),
            inheritable: word(c.inheritable, i),
        };
        cx.write_val(UAddr(data.0 + 12 * i as u64), &d)?;
    }
    Ok(0)
}

/// capset(2): only the caller's own sets, within Linux's rules (cap_capset).
pub fn capset(cx: &Ctx, hdr: UAddr, data: UAddr) -> SysResult {
    let (words, h) = cap_words(cx, hdr)?;
    if h.pid != 0 && h.pid != cx.proc.pid {
        return Err(Errno::EPERM);
    }
    let (mut eff, mut prm, mut inh) = (0u64, 0u64, 0u64);
    for i in 0..words {
        let d: CapData = cx.read_val(UAddr(data.0 + 12 * i as u64))?;
        eff |= u64::from(d.effective) << (32 * i);
        prm |= u64::from(d.permitted) << (32 * i);
        inh |= u64::from(d.inheritable) << (32 * i);
    }
    let (eff, prm, inh) = (eff & caps::ALL, prm & caps::ALL, inh & caps::ALL);
    let mut c = cx.proc.cred.lock();
    let old = c.caps;
    let setpcap = old.effective & caps::bit(CAP_SETPCAP) != 0;
    if !setpcap && inh & !(old.inheritable | old.permitted) != 0 {
        return Err(Errno::EPERM);
    }
    if inh & !(old.inheritable | old.bounding) != 0 {
        return Err(Errno::EPERM);
    }
    if prm & !old.permitted != 0 || eff & !prm != 0 {
        return Err(Errno::EPERM);
    }
    c.caps.effective = eff;
    c.caps.permitted = prm;
    c.caps.inheritable = inh;
    c.caps.ambient &= prm & inh;
    Ok(0)
}

// --------------------------------------------------------------- scheduling --

/// SCHED_RESET_ON_FORK in a policy argument.
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
/// Round-robin time slice (sched_rr_timeslice_ms).
const RR_SLICE_NS: u64 = 100_000_000;
/// sched_attr sizes.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE_VER1: u32 = 56;
/// sched_attr flags.
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_ALL: u64 = 0x7f;

fn valid_policy(p: u32) -> bool {
    matches!(p, SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE)
}

fn realtime(p: u32) -> bool {
    p == SCHED_FIFO || p == SCHED_RR
}

fn target(cx: &Ctx, pid: i32) -> Result<Arc<Thread>, Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    super::proc::find_thread(cx, pid)
}

/// Whether the caller may give `t` the attributes `new` (Linux's
/// __sched_setscheduler permission checks: raising needs CAP_SYS_NICE or
/// RLIMIT_RTPRIO/RLIMIT_NICE room; another user's thread needs it too).
fn may_set(cx: &Ctx, t: &Thread, new: &SchedAttr, nice: Option<i32>) -> bool {
    let c = cx.proc.cred.lock().clone();
    if c.capable(CAP_SYS_NICE) {
        return true;
    }
    if !super::proc::may_change(cx, &t.process) {
        return false;
    }
    let cur = t.misc.lock().ext.sched;
    if realtime(new.sched_policy) {
        let rtprio = t.process.rlimit(14);
        if !realtime(cur.policy) && rtprio == 0 {
            return false;
        }
        if u64::from(new.sched_priority) > u64::from(cur.priority).max(rtprio) {
            return false;
        }
    }
    if new.sched_policy == SCHED_DEADLINE {
        return false;
    }
    // SCHED_IDLE counts as nice 20: leaving it needs RLIMIT_NICE room.
    if cur.policy == SCHED_IDLE && new.sched_policy != SCHED_IDLE {
        let cur_nice = t.process.info.lock().nice;
        if ((20 - cur_nice) as u64) > t.process.rlimit(13) {
            return false;
        }
    }
    if let Some(n) = nice {
        let cur_nice = t.process.info.lock().nice;
        let lim = t.process.rlimit(13);
        if n < cur_nice && (20 - n) as u64 > lim {
            return false;
        }
    }
    if cur.reset_on_fork && new.sched_flags & SCHED_FLAG_RESET_ON_FORK == 0 {
        return false;
    }
    true
}

fn apply(t: &Thread, a: &SchedAttr, nice: Option<i32>) {
    {
        let mut m = t.misc.lock();
        let s = &mut m.ext.sched;
        if a.sched_flags & SCHED_FLAG_KEEP_POLICY == 0 {
            s.policy = a.sched_policy;
        }
        if a.sched_flags & SCHED_FLAG_KEEP_PARAMS == 0 {
            s.priority = if realtime(s.policy) { a.sched_priority } else { 0 };
            s.dl = (a.sched_runtime, a.sched_deadline, a.sched_period);
        }
        s.reset_on_fork = a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0;
        s.flags = a.sched_flags;
    }
    if let Some(n) = nice {
        t.process.info.lock().nice = n;
    }
}

/// sched_setscheduler(2) (`policy` Some) and sched_setparam(2) (None).
pub fn sched_setscheduler(cx: &Ctx, pid: i32, policy: Option<i32>, param: UAddr) -> SysResult {
    if pid < 0 || param.is_null() {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = cx.read_val(param)?;
    let t = target(cx, pid)?;
    let cur = t.misc.lock().ext.sched;
    let (pol, reset) = match policy {
        Some(p) => ((p & !SCHED_RESET_ON_FORK) as u32, p & SCHED_RESET_ON_FORK != 0),
        None => (cur.policy, cur.reset_on_fork),
    };
    if !valid_policy(pol) || pol == SCHED_DEADLINE && policy.is_some() {
        return Err(Errno::EINVAL);
    }
    let ok = if realtime(pol) { (1..=99).contains(&prio) } else { prio == 0 };
    if !ok || pol == SCHED_DEADLINE {
        return Err(Errno::EINVAL);
    }
    let a = SchedAttr {
        sched_policy: pol,
        sched_priority: prio as u32,
        sched_flags: if reset { SCHED_FLAG_RESET_ON_FORK } else { 0 },
        ..Default::default()
    };
    if !may_set(cx, &t, &a, None) {
        return Err(Errno::EPERM);
    }
    apply(&t, &a, None);
    Ok(0)
}

/// sched_getscheduler(2).
pub fn sched_getscheduler(cx: &Ctx, pid: i32) -> SysResult {
    let t = target(cx, pid)?;
    let s = t.misc.lock().ext.sched;
    Ok(u64::from(s.policy) | if s.reset_on_fork { SCHED_RESET_ON_FORK as u64 } else { 0 })
}

/// sched_getparam(2).
pub fn sched_getparam(cx: &Ctx, pid: i32, param: UAddr) -> SysResult {
    if pid < 0 || param.is_null() {
        return Err(Errno::EINVAL);
    }
    let t = target(cx, pid)?;
    let prio = t.misc.lock().ext.sched.priority as i32;
    cx.write_val(param, &prio)?;
    Ok(0)
}

/// sched_get_priority_max(2) and sched_get_priority_min(2).
pub fn sched_priority_bound(policy: i32, max: bool) -> SysResult {
    match policy as u32 {
        SCHED_FIFO | SCHED_RR => Ok(if max { 99 } else { 1 }),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE if policy >= 0 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_rr_get_interval(2): the round-robin slice, 0 for the other policies
/// (as Linux 6.6's EEVDF and SCHED_FIFO report).
pub fn sched_rr_get_interval(cx: &Ctx, pid: i32, tp: UAddr) -> SysResult {
    let t = target(cx, pid)?;
    let ns = if t.misc.lock().ext.sched.policy == SCHED_RR { RR_SLICE_NS } else { 0 };
    cx.write_val(tp, &Timespec::from_nanos(ns))?;
    Ok(0)
}

/// sched_setattr(2).
pub fn sched_setattr(cx: &Ctx, pid: i32, attr: UAddr, flags: u32) -> SysResult {
    if attr.is_null() || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let size: u32 = cx.read_val(attr)?;
    let size = if size == 0 { SCHED_ATTR_SIZE_VER0 } else { size };
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        cx.write_val(attr, &SCHED_ATTR_SIZE_VER1)?;
        return Err(Errno::E2BIG);
    }
    let mut raw = alloc::vec![0u8; size as usize];
    cx.read_bytes(attr, &mut raw)?;
    if raw.get(SCHED_ATTR_SIZE_VER1 as usize..).is_some_and(|rest| rest.iter().any(|&b| b != 0)) {
        cx.write_val(attr, &SCHED_ATTR_SIZE_VER1)?;
        return Err(Errno::E2BIG);
    }
    let mut buf = [0u8; 56];
    let n = raw.len().min(56);
    buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(raw.get(..n).unwrap_or(&[]));
    let mut a: SchedAttr = bytemuck::pod_read_unaligned(&buf);
    let t = target(cx, pid)?;
    if a.sched_flags & SCHED_FLAG_KEEP_POLICY != 0 {
        a.sched_policy = t.misc.lock().ext.sched.policy;
    }
    if a.sched_flags & !SCHED_FLAG_ALL != 0 || !valid_policy(a.sched_policy) {
        return Err(Errno::EINVAL);
    }
    // Utilization clamps need a kernel built with them: refused.
    if a.sched_flags & 0x60 != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let ok = match a.sched_policy {
        SCHED_FIFO | SCHED_RR => (1..=99).contains(&a.sched_priority),
        SCHED_DEADLINE => {
            a.sched_priority == 0
                && a.sched_runtime >= 1024
                && a.sched_deadline != 0
                && a.sched_runtime <= a.sched_deadline
                && (a.sched_period == 0 || a.sched_deadline <= a.sched_period)
        }
        _ => a.sched_priority == 0,
    };
    if !ok {
        return Err(Errno::EINVAL);
    }
    let nice = if matches!(a.sched_policy, SCHED_OTHER | SCHED_BATCH) && a.sched_flags & SCHED_FLAG_KEEP_PARAMS == 0 {
        Some(a.sched_nice.clamp(-20, 19))
    } else {
        None
    };
    if !may_set(cx, &t, &a, nice) {
        return Err(Errno::EPERM);
    }
    apply(&t, &a, nice);
    Ok(0)
}

/// sched_getattr(2).
pub fn sched_getattr(cx: &Ctx, pid: i32, attr: UAddr, size: u32, flags: u32) -> SysResult {
    if attr.is_null() || pid < 0 || flags != 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let t = target(cx, pid)?;
    let s = t.misc.lock().ext.sched;
    let a = SchedAttr {
        size: size.min(SCHED_ATTR_SIZE_VER1),
        sched_policy: s.policy,
        sched_flags: if s.reset_on_fork { SCHED_FLAG_RESET_ON_FORK } else { 0 },
        sched_nice: if realtime(s.policy) || s.policy == SCHED_DEADLINE { 0 } else { t.process.info.lock().nice },
        sched_priority: s.priority,
        sched_runtime: s.dl.0,
        sched_deadline: s.dl.1,
        sched_period: s.dl.2,
        sched_util_min: 0,
        sched_util_max: 1024,
    };
    let bytes = bytemuck::bytes_of(&a);
    cx.write_bytes(attr, bytes.get(..(size.min(SCHED_ATTR_SIZE_VER1)) as usize).unwrap_or(bytes))?;
    Ok(0)
}

/// getcpu(2): the CPU the caller runs on, and node 0 (one NUMA node).
pub fn getcpu(cx: &Ctx, cpu: UAddr, node: UAddr) -> SysResult {
    if !cpu.is_null() {
        cx.write_val(cpu, &(crate::task::sched::this_cpu() as u32))?;
    }
    if !node.is_null() {
        cx.write_val(node, &0u32)?;
    }
    Ok(0)
}

// --------------------------------------------------------------- membarrier --

const MEMBARRIER_CMD_QUERY: i32 = 0;
const MEMBARRIER_CMD_GLOBAL: i32 = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: i32 = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: i32 = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 64;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: i32 = 128;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: i32 = 256;
const MEMBARRIER_CMD_GET_REGISTRATIONS: i32 = 512;
const MEMBARRIER_CMD_FLAG_CPU: u32 = 1;

/// membarrier(2). With one CPU every barrier is already complete when the call
/// returns (entering the kernel orders memory); the registration rules are
/// Linux's (the expedited private commands need their registration, EPERM).
pub fn membarrier(cx: &Ctx, cmd: i32, flags: u32, _cpu: i32) -> SysResult {
    let allowed = if cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ { MEMBARRIER_CMD_FLAG_CPU } else { 0 };
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let mut e = cx.proc.ext.lock();
    let reg = |c: i32| e.membarrier & (c as u32) != 0;
    match cmd {
        MEMBARRIER_CMD_QUERY => Ok(0x3ff),
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => Ok(0),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED if !reg(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) => Err(Errno::EPERM),
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE if !reg(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) => {
            Err(Errno::EPERM)
        }
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ if !reg(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) => {
            Err(Errno::EPERM)
        }
        MEMBARRIER_CMD_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
        | MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ => Ok(0),
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ => {
            e.membarrier |= cmd as u32;
            Ok(0)
        }
        MEMBARRIER_CMD_GET_REGISTRATIONS => Ok(u64::from(e.membarrier)),
        _ => Err(Errno::EINVAL),
    }
}

// ----------------------------------------------------------------- mlockall --

const MCL_CURRENT: i32 = 1;
const MCL_FUTURE: i32 = 2;
const MCL_ONFAULT: i32 = 4;

/// mlockall(2): memory is never swapped, so locking is the RLIMIT_MEMLOCK check
/// and, for MCL_CURRENT without MCL_ONFAULT, committing every page now.
pub fn mlockall(cx: &Ctx, flags: i32) -> SysResult {
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    let limit = cx.proc.rlimit(8);
    let privileged = cx.proc.cred.lock().capable(CAP_IPC_LOCK);
    if !privileged && limit == 0 {
        return Err(Errno::EPERM);
    }
    if flags & MCL_CURRENT != 0 {
        let total = cx.mm().total_vm;
        if !privileged && total > limit {
            return Err(Errno::ENOMEM);
        }
    }
    cx.proc.ext.lock().mlockall = (flags & (MCL_FUTURE | MCL_ONFAULT)) as u32;
    Ok(0)
}

/// munlockall(2).
pub fn munlockall(cx: &Ctx) -> SysResult {
    cx.proc.ext.lock().mlockall = 0;
    Ok(0)
}

/// mlock2(2): MLOCK_ONFAULT or nothing.
pub fn mlock2(cx: &Ctx, addr: UAddr, len: usize, flags: u32) -> SysResult {
    if flags & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    super::mm::mlock(cx, addr, len)
}

// -------------------------------------------------------------------- names --

/// The size of a utsname field without its NUL.
pub const UTS_LEN: usize = 64;

fn set_name(cx: &Ctx, name: UAddr, len: i32, host: bool) -> SysResult {
    if !cx.proc.cred.lock().capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let len = usize::try_from(len).ok().filter(|&l| l <= UTS_LEN).ok_or(Errno::EINVAL)?;
    let mut buf = alloc::vec![0u8; len];
    cx.read_bytes(name, &mut buf)?;
    // Like Linux, the name is what was copied up to a NUL.
    if let Some(i) = buf.iter().position(|&b| b == 0) {
        buf.truncate(i);
    }
    if host {
        crate::uts::set_hostname(buf);
    } else {
        crate::uts::set_domainname(buf);
    }
    Ok(0)
}

/// sethostname(2).
pub fn sethostname(cx: &Ctx, name: UAddr, len: i32) -> SysResult {
    set_name(cx, name, len, true)
}

/// setdomainname(2).
pub fn setdomainname(cx: &Ctx, name: UAddr, len: i32) -> SysResult {
    set_name(cx, name, len, false)
}

/// personality(2): 0xffffffff queries; any other value is set; the old one is returned.
pub fn personality(cx: &Ctx, persona: u32) -> SysResult {
    let mut e = cx.proc.ext.lock();
    let old = e.personality;
    if persona != 0xffff_ffff {
        e.personality = persona;
    }
    Ok(u64::from(old))
}

// ------------------------------------------------------------- I/O priority --

const IOPRIO_WHO_PROCESS: i32 = 1;
const IOPRIO_WHO_PGRP: i32 = 2;
const IOPRIO_WHO_USER: i32 = 3;

fn ioprio_targets(cx: &Ctx, which: i32, who: i32) -> Result<Vec<Arc<Process>>, Errno> {
    let all = table::processes();
    let v: Vec<Arc<Process>> = match which {
        IOPRIO_WHO_PROCESS => {
            let p = if who == 0 {
                cx.proc.clone()
            } else {
                table::thread(who).map(|t| t.process.clone()).ok_or(Errno::ESRCH)?
            };
            alloc::vec![p]
        }
        IOPRIO_WHO_PGRP => {
            let g = if who == 0 { cx.proc.pgid.load(core::sync::atomic::Ordering::Relaxed) } else { who };
            all.into_iter().filter(|p| p.pgid.load(core::sync::atomic::Ordering::Relaxed) == g).collect()
        }
        IOPRIO_WHO_USER => {
            let u = if who == 0 { cx.proc.cred.lock().uid[0] } else { who as u32 };
            all.into_iter().filter(|p| p.cred.lock().uid[0] == u).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}

/// Checks an I/O priority as Linux's ioprio_check_cap: EINVAL for a bad class or
/// level, EPERM for the real-time class without CAP_SYS_NICE or CAP_SYS_ADMIN.
pub(super) fn check_ioprio(cx: &Ctx, ioprio: i32) -> Result<(), Errno> {
    // Linux 6.5+: the data is a level (3 bits) and a hint (the bits above it),
    // which only the block layer looks at.
    let class = (ioprio >> 13) & 7;
    let level = ioprio & 7;
    match class {
        0 if level == 0 => {}
        1..=3 => {}
        _ => return Err(Errno::EINVAL),
    }
    if class == 1 && !cx.proc.cred.lock().capable(CAP_SYS_NICE) && !cx.proc.cred.lock().capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// ioprio_set(2).
pub fn ioprio_set(cx: &Ctx, which: i32, who: i32, ioprio: i32) -> SysResult {
    check_ioprio(cx, ioprio)?;
    for p in ioprio_targets(cx, which, who)? {
        if !super::proc::may_change(cx, &p) {
            return Err(Errno::EPERM);
        }
        p.ext.lock().ioprio = ioprio as u16;
    }
    Ok(0)
}

/// ioprio_get(2): a process's priority (0: none set); for a group or a user the
/// best of theirs, with "none" counted as best-effort 4 (Linux's ioprio_best).
pub fn ioprio_get(cx: &Ctx, which: i32, who: i32) -> SysResult {
    let v = ioprio_targets(cx, which, who)?;
    if which == IOPRIO_WHO_PROCESS {
        return Ok(v.first().map(|p| p.ext.lock().ioprio).unwrap_or(0) as u64);
    }
    let norm = |x: u16| if x >> 13 == 0 { (2u16 << 13) | 4 } else { x };
    Ok(v.iter().map(|p| norm(p.ext.lock().ioprio)).min().unwrap_or(0) as u64)
}

// ------------------------------------------------------------------ syncing --

/// syncfs(2): the RAM file system has nothing to write back.
pub fn syncfs(cx: &Ctx, fd: i32) -> SysResult {
    cx.fd(fd).map(|_| 0)
}

/// sync_file_range(2).
pub fn sync_file_range(cx: &Ctx, fd: i32, offset: i64, nbytes: i64, flags: u32) -> SysResult {
    if flags & !7 != 0 || offset < 0 || nbytes < 0 || offset.checked_add(nbytes).is_none() {
        return Err(Errno::EINVAL);
    }
    let f = cx.fd(fd)?;
    use elfin_shim::uapi::stat_mode::*;
    match f.inode().map(|n| crate::fs::ftype(&*n)) {
        Some(S_IFREG | S_IFDIR | S_IFBLK | S_IFLNK) => Ok(0),
        _ => Err(Errno::ESPIPE),
    }
}

/// readahead(2): files live in RAM already; only the checks remain.
pub fn readahead(cx: &Ctx, fd: i32, _offset: i64, _count: usize) -> SysResult {
    let f = cx.fd(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if !super::fs::regular(&f) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

// ---------------------------------------------------- other address spaces --

/// process_vm_readv(2) (`write` false) and process_vm_writev(2).
#[allow(clippy::too_many_arguments)]
pub fn process_vm(
    cx: &Ctx,
    pid: i32,
    local: UAddr,
    lcnt: u64,
    remote: UAddr,
    rcnt: u64,
    flags: u64,
    write: bool,
) -> SysResult {
    if flags != 0 || lcnt > 1024 || rcnt > 1024 {
        return Err(Errno::EINVAL);
    }
    // As Linux: the local vectors first (import_iovec); nothing to copy returns 0
    // before the remote vectors (lengths checked, not addresses) or the process
    // are looked at.
    let (lv, local_total) = super::xfer::read_iovecs(cx, local, lcnt as i32)?;
    if local_total == 0 {
        return Ok(0);
    }
    let rv = (0..rcnt)
        .map(|i| cx.read_val::<Iovec>(UAddr(remote.0 + i * 16)))
        .map(|v| v.and_then(|v| if (v.len as i64) < 0 { Err(Errno::EINVAL) } else { Ok(v) }))
        .collect::<Result<Vec<Iovec>, Errno>>()?;
    let total = local_total.min(rv.iter().fold(0u64, |acc, v| acc.saturating_add(v.len)));
    let p = if pid > 0 { table::process(pid).ok_or(Errno::ESRCH)? } else { return Err(Errno::ESRCH) };
    if !may_trace(cx, &p) {
        return Err(Errno::EPERM);
    }
    let Some(mm) = p.try_mm() else { return Err(Errno::ESRCH) };
    let mut done = 0u64;
    let (mut li, mut lo, mut ri, mut ro) = (0usize, 0u64, 0usize, 0u64);
    while done < total {
        let (Some(l), Some(r)) = (lv.get(li), rv.get(ri)) else { break };
        let n = (l.len - lo).min(r.len - ro).min(64 * 1024);
        if n > 0 {
            let mut buf = alloc::vec![0u8; n as usize];
            // The target's memory lock is held for its side only: the caller's side
            // may be the same address space (its own pid), whose lock it takes.
            let res = if write {
                cx.read_bytes(UAddr(l.base + lo), &mut buf).and_then(|_| {
                    let mut m = mm.lock();
                    crate::uaccess::write_bytes(&mut m, UAddr(r.base + ro), &buf)
                })
            } else {
                let got = {
                    let mut m = mm.lock();
                    crate::uaccess::read_bytes(&mut m, UAddr(r.base + ro), &mut buf)
                };
                got.and_then(|_| cx.write_bytes(UAddr(l.base + lo), &buf))
            };
            if let Err(e) = res {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        done += n;
        lo += n;
        ro += n;
        if lo == l.len {
            li += 1;
            lo = 0;
        }
        if ro == r.len {
            ri += 1;
            ro = 0;
        }
    }
    Ok(done)
}

/// The ptrace attach check for another process (pidfd_getfd).
pub fn may_trace_process(cx: &Ctx, p: &Process) -> bool {
    may_trace(cx, p)
}

/// Whether the caller may read and write `p`'s memory (ptrace's attach check:
/// the same user throughout, or CAP_SYS_PTRACE; not a process that is not dumpable).
fn may_trace(cx: &Ctx, p: &Process) -> bool {
    if core::ptr::eq(&**cx.proc, p) {
        return true;
    }
    let me = cx.proc.cred.lock().clone();
    if me.capable(CAP_SYS_PTRACE) {
        return true;
    }
    let t = p.cred.lock();
    let same = t.uid[..3].iter().all(|&u| u == me.uid[0]) && t.gid[..3].iter().all(|&g| g == me.gid[0]);
    same && p.info.lock().dumpable != 0
}

/// kcmp(2): whether two processes share a kernel object; 0 when they do, else
/// 1 or 2 by the objects' order, as Linux (which orders obfuscated pointers).
pub fn kcmp(cx: &Ctx, pid1: i32, pid2: i32, ty: i32, idx1: u64, idx2: u64) -> SysResult {
    let t1 = table::thread(pid1).ok_or(Errno::ESRCH)?;
    let t2 = table::thread(pid2).ok_or(Errno::ESRCH)?;
    if !may_trace(cx, &t1.process) || !may_trace(cx, &t2.process) {
        return Err(Errno::EPERM);
    }
    let (p1, p2) = (&t1.process, &t2.process);
    let key = |a: usize, b: usize| -> SysResult {
        Ok(match a.cmp(&b) {
            core::cmp::Ordering::Equal => 0,
            core::cmp::Ordering::Less => 1,
            core::cmp::Ordering::Greater => 2,
        })
    };
    match ty {
        0 => {
            let f1 = p1.files().lock().get(idx1 as i32).map_err(|_| Errno::EBADF)?;
            let f2 = p2.files().lock().get(idx2 as i32).map_err(|_| Errno::EBADF)?;
            key(Arc::as_ptr(&f1) as usize, Arc::as_ptr(&f2) as usize)
        }
        1 => {
            let (a, b) = (p1.try_mm().ok_or(Errno::ESRCH)?, p2.try_mm().ok_or(Errno::ESRCH)?);
            key(Arc::as_ptr(&a) as usize, Arc::as_ptr(&b) as usize)
        }
        2 => key(Arc::as_ptr(&p1.files()) as usize, Arc::as_ptr(&p2.files()) as usize),
        3 => key(Arc::as_ptr(&p1.fs()) as usize, Arc::as_ptr(&p2.fs()) as usize),
        4 => key(Arc::as_ptr(&p1.sighand()) as usize, Arc::as_ptr(&p2.sighand()) as usize),
        // One I/O context and one SysV undo list per process here.
        5 | 6 => key(Arc::as_ptr(p1) as usize, Arc::as_ptr(p2) as usize),
        _ => Err(Errno::EINVAL),
    }
}

// -------------------------------------------------------------------- prctl --

const PR_GET_KEEPCAPS: i32 = 7;
const PR_SET_KEEPCAPS: i32 = 8;
const PR_GET_TIMERSLACK: i32 = 30;
const PR_SET_TIMERSLACK: i32 = 29;
const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_GET_NO_NEW_PRIVS: i32 = 39;
const PR_CAP_AMBIENT: i32 = 47;
const PR_GET_SECUREBITS: i32 = 27;
const PR_MCE_KILL: i32 = 33;
const PR_MCE_KILL_GET: i32 = 34;
const PR_GET_TID_ADDRESS: i32 = 40;
const PR_SET_THP_DISABLE: i32 = 41;
const PR_GET_THP_DISABLE: i32 = 42;
const PR_GET_SPECULATION_CTRL: i32 = 52;
const PR_SET_SPECULATION_CTRL: i32 = 53;
/// The default timer slack (ns).
pub const DEFAULT_SLACK: u64 = 50_000;

const PR_GET_SECCOMP: i32 = 21;
const PR_SET_SECCOMP: i32 = 22;

// ------------------------------------------------------------------ seccomp --

const SECCOMP_SET_MODE_STRICT: u32 = 0;
const SECCOMP_SET_MODE_FILTER: u32 = 1;
const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
const SECCOMP_GET_NOTIF_SIZES: u32 = 3;
const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
const FLAG_NEW_LISTENER: u32 = 8;
const FLAG_TSYNC_ESRCH: u32 = 16;
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// seccomp(2). Filters' user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER)
/// is not supported: EINVAL, reported by name.
pub fn seccomp(cx: &Ctx, op: u32, flags: u32, args: UAddr) -> SysResult {
    use crate::task::seccomp as sc;
    match op {
        SECCOMP_SET_MODE_STRICT => {
            if flags != 0 || !args.is_null() {
                return Err(Errno::EINVAL);
            }
            sc::set_strict(cx).map(|_| 0)
        }
        SECCOMP_SET_MODE_FILTER => {
            let known = FLAG_TSYNC
                | FLAG_LOG
                | FLAG_SPEC_ALLOW
                | FLAG_NEW_LISTENER
                | FLAG_TSYNC_ESRCH
                | FLAG_WAIT_KILLABLE_RECV;
            if flags & !known != 0
                || (flags & FLAG_TSYNC != 0 && flags & FLAG_NEW_LISTENER != 0 && flags & FLAG_TSYNC_ESRCH == 0)
                || (flags & FLAG_WAIT_KILLABLE_RECV != 0 && flags & FLAG_NEW_LISTENER == 0)
            {
                return Err(Errno::EINVAL);
            }
            if flags & FLAG_NEW_LISTENER != 0 {
                super::report_unsupported("seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER");
                return Err(Errno::EINVAL);
            }
            let prog = read_filter(cx, args)?;
            let how = sc::Install { tsync: flags & FLAG_TSYNC != 0, tsync_esrch: flags & FLAG_TSYNC_ESRCH != 0 };
            sc::install(cx, prog, how)
        }
        SECCOMP_GET_ACTION_AVAIL => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            let action: u32 = cx.read_val(args)?;
            if elfin_kcore::seccomp::ACTIONS.contains(&action) {
                Ok(0)
            } else {
                Err(Errno::EOPNOTSUPP)
            }
        }
        SECCOMP_GET_NOTIF_SIZES => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            // struct seccomp_notif, seccomp_notif_resp and seccomp_data.
            cx.write_val(args, &[80u16, 24, 64])?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Reads a `struct sock_fprog` and its instructions, checking the length and
/// the caller's right to filter (no_new_privs or CAP_SYS_ADMIN) in Linux's order.
fn read_filter(cx: &Ctx, fprog: UAddr) -> Result<Vec<elfin_kcore::seccomp::Insn>, Errno> {
    let len: u16 = cx.read_val(fprog)?;
    let ptr: u64 = cx.read_val(UAddr(fprog.0.checked_add(8).ok_or(Errno::EFAULT)?))?;
    let len = usize::from(len);
    if len == 0 || len > elfin_kcore::seccomp::MAX_INSNS {
        return Err(Errno::EINVAL);
    }
    {
        let c = cx.proc.cred.lock();
        if !c.caps.no_new_privs && !c.capable(caps::CAP_SYS_ADMIN) {
            return Err(Errno::EACCES);
        }
    }
    let mut raw = alloc::vec![0u8; len * 8];
    cx.read_bytes(UAddr(ptr), &mut raw)?;
    Ok(raw
        .chunks_exact(8)
        .map(|b| elfin_kcore::seccomp::Insn {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect())
}

/// The prctl options about capabilities, no_new_privs and the timer slack.
pub fn prctl_ext(cx: &Ctx, option: i32, args: [u64; 4]) -> SysResult {
    let [a2, a3, a4, a5] = args;
    let valid_cap = |c: u64| c <= u64::from(caps::CAP_LAST_CAP);
    match option {
        PR_GET_KEEPCAPS => Ok(u64::from(cx.proc.cred.lock().caps.keep_caps)),
        PR_SET_KEEPCAPS => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            cx.proc.cred.lock().caps.keep_caps = a2 == 1;
            Ok(0)
        }
        PR_CAPBSET_READ => {
            if !valid_cap(a2) {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(cx.proc.cred.lock().caps.bounding & caps::bit(a2 as u32) != 0))
        }
        PR_CAPBSET_DROP => {
            let mut c = cx.proc.cred.lock();
            if !c.capable(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            if !valid_cap(a2) {
                return Err(Errno::EINVAL);
            }
            c.caps.bounding &= !caps::bit(a2 as u32);
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a2 != 1 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            cx.proc.cred.lock().caps.no_new_privs = true;
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a2 != 0 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(cx.proc.cred.lock().caps.no_new_privs))
        }
        PR_GET_SECCOMP => Ok(u64::from(cx.thread.misc.lock().seccomp.mode)),
        PR_SET_SECCOMP => match a2 {
            1 => seccomp(cx, SECCOMP_SET_MODE_STRICT, 0, UAddr(0)),
            2 => seccomp(cx, SECCOMP_SET_MODE_FILTER, 0, UAddr(a3)),
            _ => Err(Errno::EINVAL),
        },
        PR_GET_TIMERSLACK => Ok(cx.thread.misc.lock().ext.timer_slack.unwrap_or(DEFAULT_SLACK)),
        PR_GET_TID_ADDRESS => {
            let a = cx.thread.misc.lock().clear_child_tid;
            cx.write_val(UAddr(a2), &a)?;
            Ok(0)
        }
        // Transparent huge pages: elfin maps none, so the flag only reads back.
        PR_SET_THP_DISABLE | PR_GET_THP_DISABLE => {
            if a3 != 0 || a4 != 0 || a5 != 0 || (option == PR_GET_THP_DISABLE && a2 != 0) {
                return Err(Errno::EINVAL);
            }
            let mut e = cx.proc.ext.lock();
            if option == PR_GET_THP_DISABLE {
                return Ok(u64::from(e.thp_disable));
            }
            e.thp_disable = a2 != 0;
            Ok(0)
        }
        // Only SECBIT_KEEP_CAPS is kept (as PR_SET_KEEPCAPS sets it).
        PR_GET_SECUREBITS => Ok(if cx.proc.cred.lock().caps.keep_caps { 1 << 4 } else { 0 }),
        // Memory-corruption kill policy (no machine check reaches a guest program).
        PR_MCE_KILL => {
            let mut m = cx.thread.misc.lock();
            match (a2, a3) {
                // PR_MCE_KILL_CLEAR
                (0, 0) if a4 == 0 && a5 == 0 => m.ext.mce_kill = None,
                // PR_MCE_KILL_SET with LATE, EARLY or DEFAULT
                (1, 0 | 1) if a4 == 0 && a5 == 0 => m.ext.mce_kill = Some(a3 == 1),
                (1, 2) if a4 == 0 && a5 == 0 => m.ext.mce_kill = None,
                _ => return Err(Errno::EINVAL),
            }
            Ok(0)
        }
        PR_MCE_KILL_GET => {
            if a2 != 0 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            let policy = cx.thread.misc.lock().ext.mce_kill;
            Ok(match policy {
                None => 2,
                Some(early) => u64::from(early),
            })
        }
        // elfin does not mitigate speculation: enabled, and not controllable.
        PR_GET_SPECULATION_CTRL => {
            if a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            match a2 {
                0..=2 => Ok(2 /* PR_SPEC_ENABLE */),
                _ => Err(Errno::ENODEV),
            }
        }
        PR_SET_SPECULATION_CTRL => match a2 {
            0..=2 => Err(Errno::ENXIO),
            _ => Err(Errno::ENODEV),
        },
        PR_SET_TIMERSLACK => {
            cx.thread.misc.lock().ext.timer_slack = (a2 != 0).then_some(a2);
            Ok(0)
        }
        PR_CAP_AMBIENT => {
            let mut c = cx.proc.cred.lock();
            match a2 {
                // IS_SET
                1 if a4 == 0 && a5 == 0 => {
                    if !valid_cap(a3) {
                        return Err(Errno::EINVAL);
                    }
                    Ok(u64::from(c.caps.ambient & caps::bit(a3 as u32) != 0))
                }
                // RAISE, LOWER
                2 | 3 if a4 == 0 && a5 == 0 => {
                    if !valid_cap(a3) {
                        return Err(Errno::EINVAL);
                    }
                    let b = caps::bit(a3 as u32);
                    if a2 == 2 {
                        if c.caps.permitted & b == 0 || c.caps.inheritable & b == 0 {
                            return Err(Errno::EPERM);
                        }
                        c.caps.ambient |= b;
                    } else {
                        c.caps.ambient &= !b;
                    }
                    Ok(0)
                }
                // CLEAR_ALL
                4 if a3 == 0 && a4 == 0 && a5 == 0 => {
                    c.caps.ambient = 0;
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            }
        }
        _ => Err(Errno::EINVAL),
    }
}
