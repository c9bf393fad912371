//! System V semaphores: sets of counters changed by semop atomically (all the
//! operations of a call apply, or none and the caller waits), SEM_UNDO
//! adjustments applied when the process ends, and semctl.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::ipc::*;
use elfin_shim::uapi::native::SemidDs;
use elfin_shim::uapi::{Sembuf, Seminfo};
use elfin_shim::UAddr;
use spin::Mutex;

use super::{cmd_of, lookup_key, now, Ids, Perm};
use crate::syscall::SysResult;
use crate::task::{table, wait, Ctx, Restart, WaitQueue};

// Linux 6.1's SEMMSL, SEMMNS, SEMOPM, SEMMNI, SEMVMX, SEMAEM.
/// Semaphores per set.
pub const SEMMSL: i32 = 32000;
/// Semaphores in all sets.
pub const SEMMNS: i32 = 1_024_000_000;
/// Operations per semop call.
pub const SEMOPM: usize = 500;
/// How many sets may exist.
pub const SEMMNI: i32 = 32000;
const SEMVMX: i32 = 32767;
const SEMAEM: i32 = SEMVMX;

#[derive(Clone, Copy, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

struct State {
    perm: Perm,
    sems: Vec<Sem>,
    otime: i64,
    ctime: i64,
    /// Waiting operations: (pid, the operations), for GETNCNT/GETZCNT.
    waiting: Vec<(u64, Vec<Sembuf>)>,
    removed: bool,
}

/// A semaphore set.
pub struct SemSet {
    st: Mutex<State>,
    wq: WaitQueue,
}

static SEMS: Mutex<Ids<SemSet>> = Mutex::new(Ids::new());
static WAIT_SEQ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// semget(2).
pub fn semget(cx: &Ctx, key: i32, nsems: i32, flags: i32) -> SysResult {
    if !(0..=SEMMSL).contains(&nsems) {
        return Err(Errno::EINVAL);
    }
    let existing = lookup_key(
        cx,
        &SEMS,
        key,
        flags,
        |s: &SemSet| s.st.lock().perm,
        |s: &SemSet| if nsems as usize > s.st.lock().sems.len() { Err(Errno::EINVAL) } else { Ok(()) },
    )?;
    if let Some(id) = existing {
        return Ok(id as u64);
    }
    if nsems == 0 {
        return Err(Errno::EINVAL);
    }
    if SEMS.lock().len() as i32 >= SEMMNI {
        return Err(Errno::ENOSPC);
    }
    let mut perm = Perm::new(cx, key, flags);
    let set = Arc::new(SemSet {
        st: Mutex::new(State {
            perm,
            sems: alloc::vec![Sem::default(); nsems as usize],
            otime: 0,
            ctime: now(),
            waiting: Vec::new(),
            removed: false,
        }),
        wq: WaitQueue::new(),
    });
    let (id, seq) = SEMS.lock().add(set.clone())?;
    perm.seq = seq;
    set.st.lock().perm = perm;
    Ok(id as u64)
}

/// Tries the operations all at once: Ok(true) done, Ok(false) must wait, or the
/// error (ERANGE past SEMVMX, EAGAIN with IPC_NOWAIT).
fn try_ops(st: &mut State, ops: &[Sembuf], pid: i32) -> Result<bool, Errno> {
    let mut vals: Vec<i32> = st.sems.iter().map(|s| s.val).collect();
    for op in ops {
        let v = vals.get_mut(op.sem_num as usize).ok_or(Errno::EFBIG)?;
        let d = i32::from(op.sem_op);
        if d > 0 {
            if *v + d > SEMVMX {
                return Err(Errno::ERANGE);
            }
            *v += d;
        } else if d < 0 {
            if *v + d < 0 {
                return if op.sem_flg & IPC_NOWAIT as i16 != 0 { Err(Errno::EAGAIN) } else { Ok(false) };
            }
            *v += d;
        } else if *v != 0 {
            return if op.sem_flg & IPC_NOWAIT as i16 != 0 { Err(Errno::EAGAIN) } else { Ok(false) };
        }
    }
    for (s, v) in st.sems.iter_mut().zip(vals) {
        s.val = v;
    }
    for op in ops {
        if let Some(s) = st.sems.get_mut(op.sem_num as usize) {
            s.pid = pid;
        }
    }
    st.otime = now();
    Ok(true)
}

/// semop(2) and semtimedop(2).
pub fn semtimedop(cx: &Ctx, id: i32, sops: UAddr, nsops: usize, timeout: UAddr) -> SysResult {
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let mut ops = Vec::with_capacity(nsops);
    for i in 0..nsops as u64 {
        ops.push(cx.read_val::<Sembuf>(UAddr(sops.0 + i * 6))?);
    }
    let deadline = if timeout.is_null() {
        None
    } else {
        let ts: elfin_shim::uapi::Timespec = cx.read_val(timeout)?;
        Some(crate::time::monotonic_ns().saturating_add(ts.as_nanos().ok_or(Errno::EINVAL)?))
    };
    let set = SEMS.lock().get(id)?;
    let alter = ops.iter().any(|o| o.sem_op != 0);
    {
        let st = set.st.lock();
        if ops.iter().any(|o| o.sem_num as usize >= st.sems.len()) {
            return Err(Errno::EFBIG);
        }
        if !st.perm.allows(cx, if alter { 2 } else { 4 }) {
            return Err(Errno::EACCES);
        }
    }
    let pid = cx.proc.pid;
    let ticket = WAIT_SEQ.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let mut queued = false;
    let r = wait::wait_for(cx, &[&set.wq], deadline, Restart::Never, || {
        let mut st = set.st.lock();
        if st.removed {
            return Some(Err(Errno::EIDRM));
        }
        match try_ops(&mut st, &ops, pid) {
            Ok(true) => Some(Ok(())),
            Ok(false) => {
                if !queued {
                    st.waiting.push((ticket, ops.clone()));
                    queued = true;
                }
                None
            }
            Err(e) => Some(Err(e)),
        }
    });
    set.st.lock().waiting.retain(|(t, _)| *t != ticket);
    let r = match r {
        Ok(r) => r,
        // semtimedop's timeout is EAGAIN.
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        Err(e) => Err(e),
    };
    r?;
    // Record SEM_UNDO adjustments; wake the others (values changed).
    let undo: Vec<(u16, i32)> = ops
        .iter()
        .filter(|o| o.sem_flg & SEM_UNDO != 0 && o.sem_op != 0)
        .map(|o| (o.sem_num, -i32::from(o.sem_op)))
        .collect();
    if !undo.is_empty() {
        let mut e = cx.proc.ext.lock();
        for (n, adj) in undo {
            let v = e.sem_undo.entry((id, n)).or_insert(0);
            *v = (*v + adj).clamp(-SEMAEM, SEMAEM);
        }
    }
    set.wq.wake_all();
    Ok(0)
}

fn stat_of(set: &SemSet) -> SemidDs {
    let st = set.st.lock();
    SemidDs::new(st.perm.uapi(), st.otime, st.ctime, st.sems.len() as u64)
}

/// Forgets every process's adjustments of the semaphores of set `id` that
/// `which` selects (SETVAL, SETALL, IPC_RMID), as Linux clears semadj.
fn clear_undo(id: i32, which: Option<u16>) {
    for p in table::processes() {
        p.ext.lock().sem_undo.retain(|(sid, n), _| !(*sid == id && which.is_none_or(|w| w == *n)));
    }
}

/// semctl(2): `arg` is the union semun as passed in a register (a value for
/// SETVAL, else a pointer).
pub fn semctl(cx: &Ctx, id: i32, semnum: i32, cmd: i32, arg: u64) -> SysResult {
    let cmd = cmd_of(cmd);
    let ptr = UAddr(arg);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let t = SEMS.lock();
            let mut info = Seminfo {
                semmap: SEMMNS,
                semmni: SEMMNI,
                semmns: SEMMNS,
                semmnu: SEMMNS,
                semmsl: SEMMSL,
                semopm: SEMOPM as i32,
                semume: SEMOPM as i32,
                semusz: 16,
                semvmx: SEMVMX,
                semaem: SEMAEM,
            };
            if cmd == SEM_INFO {
                info.semusz = t.len() as i32;
                info.semaem = t.iter().map(|(_, s)| s.st.lock().sems.len() as i32).sum();
            }
            let max = t.max_index();
            drop(t);
            cx.write_val(ptr, &info)?;
            return Ok(max as u64);
        }
        SEM_STAT | SEM_STAT_ANY => {
            let (sid, set) = SEMS.lock().at(id)?;
            if cmd == SEM_STAT && !set.st.lock().perm.allows(cx, 4) {
                return Err(Errno::EACCES);
            }
            cx.write_val(ptr, &stat_of(&set))?;
            return Ok(sid as u64);
        }
        _ => {}
    }
    let set = SEMS.lock().get(id)?;
    let nsems = set.st.lock().sems.len();
    let one = |st: &State| -> Result<Sem, Errno> {
        usize::try_from(semnum).ok().and_then(|i| st.sems.get(i).copied()).ok_or(Errno::EINVAL)
    };
    let read_ok = |st: &State| if st.perm.allows(cx, 4) { Ok(()) } else { Err(Errno::EACCES) };
    match cmd {
        IPC_STAT => {
            read_ok(&set.st.lock())?;
            cx.write_val(ptr, &stat_of(&set))?;
            Ok(0)
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            let st = set.st.lock();
            read_ok(&st)?;
            let s = one(&st)?;
            Ok(match cmd {
                GETVAL => s.val as u64,
                GETPID => s.pid as u64,
                _ => {
                    let zero = cmd == GETZCNT;
                    st.waiting
                        .iter()
                        .filter(|(_, ops)| {
                            // The operation the waiter is stuck on.
                            ops.iter()
                                .any(|o| o.sem_num as i32 == semnum && if zero { o.sem_op == 0 } else { o.sem_op < 0 })
                        })
                        .count() as u64
                }
            })
        }
        GETALL => {
            let vals: Vec<u16> = {
                let st = set.st.lock();
                read_ok(&st)?;
                st.sems.iter().map(|s| s.val as u16).collect()
            };
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
            cx.write_bytes(ptr, &bytes)?;
            Ok(0)
        }
        SETVAL => {
            let v = arg as u32 as i32;
            {
                let mut st = set.st.lock();
                if !st.perm.allows(cx, 2) {
                    return Err(Errno::EACCES);
                }
                one(&st)?;
                if !(0..=SEMVMX).contains(&v) {
                    return Err(Errno::ERANGE);
                }
                if let Some(s) = st.sems.get_mut(semnum as usize) {
                    s.val = v;
                    s.pid = cx.proc.pid;
                }
                st.ctime = now();
            }
            clear_undo(id, Some(semnum as u16));
            set.wq.wake_all();
            Ok(0)
        }
        SETALL => {
            let mut raw = alloc::vec![0u8; nsems * 2];
            cx.read_bytes(ptr, &mut raw)?;
            let vals: Vec<i32> = raw.chunks_exact(2).map(|c| i32::from(u16::from_ne_bytes([c[0], c[1]]))).collect();
            {
                let mut st = set.st.lock();
                if !st.perm.allows(cx, 2) {
                    return Err(Errno::EACCES);
                }
                if vals.iter().any(|&v| v > SEMVMX) {
                    return Err(Errno::ERANGE);
                }
                let pid = cx.proc.pid;
                for (s, v) in st.sems.iter_mut().zip(vals) {
                    s.val = v;
                    s.pid = pid;
                }
                st.ctime = now();
            }
            clear_undo(id, None);
            set.wq.wake_all();
            Ok(0)
        }
        IPC_SET => {
            let ds: SemidDs = cx.read_val(ptr)?;
            let mut st = set.st.lock();
            if !st.perm.may_change(cx) {
                return Err(Errno::EPERM);
            }
            st.perm.set(&ds.sem_perm);
            st.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            {
                let mut st = set.st.lock();
                if !st.perm.may_change(cx) {
                    return Err(Errno::EPERM);
                }
                st.removed = true;
            }
            SEMS.lock().remove(id);
            clear_undo(id, None);
            set.wq.wake_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// A process ends: its SEM_UNDO adjustments are applied to the sets that still
/// exist (values clamped to 0..SEMVMX, as Linux's exit_sem).
pub fn apply_undo(pid: i32, undo: BTreeMap<(i32, u16), i32>) {
    let mut touched: Vec<Arc<SemSet>> = Vec::new();
    for ((id, n), adj) in undo {
        let Ok(set) = SEMS.lock().get(id) else { continue };
        {
            let mut st = set.st.lock();
            if let Some(s) = st.sems.get_mut(n as usize) {
                s.val = (s.val + adj).clamp(0, SEMVMX);
                s.pid = pid;
            }
            st.otime = now();
        }
        touched.push(set);
    }
    for s in touched {
        s.wq.wake_all();
    }
}
