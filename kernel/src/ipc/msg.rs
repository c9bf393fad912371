//! System V message queues: typed messages, sends that wait for room, receives
//! that pick by type (the first, the first of a type, the first not of a type,
//! or the lowest type up to a bound), and msgctl.
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::ipc::*;
use elfin_shim::uapi::{Msginfo, MsqidDs};
use elfin_shim::UAddr;
use spin::Mutex;

use super::{cmd_of, lookup_key, now, Ids, Perm};
use crate::syscall::SysResult;
use crate::task::caps::CAP_SYS_RESOURCE;
use crate::task::{wait, Ctx, Restart, WaitQueue};

// Linux 6.1's MSGMAX, MSGMNB, MSGMNI.
/// The largest message (kernel.msgmax).
pub const MSGMAX: usize = 8192;
/// A queue's default byte limit (kernel.msgmnb).
pub const MSGMNB: u64 = 16384;
/// How many queues may exist (kernel.msgmni).
pub const MSGMNI: i32 = 32000;

struct State {
    perm: Perm,
    msgs: VecDeque<(i64, Vec<u8>)>,
    bytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
    removed: bool,
}

/// A message queue.
pub struct Queue {
    st: Mutex<State>,
    wq: WaitQueue,
}

static MSGS: Mutex<Ids<Queue>> = Mutex::new(Ids::new());

/// msgget(2).
pub fn msgget(cx: &Ctx, key: i32, flags: i32) -> SysResult {
    let existing = lookup_key(cx, &MSGS, key, flags, |q: &Queue| q.st.lock().perm, |_| Ok(()))?;
    if let Some(id) = existing {
        return Ok(id as u64);
    }
    if MSGS.lock().len() as i32 >= MSGMNI {
        return Err(Errno::ENOSPC);
    }
    let mut perm = Perm::new(cx, key, flags);
    let q = Arc::new(Queue {
        st: Mutex::new(State {
            perm,
            msgs: VecDeque::new(),
            bytes: 0,
            qbytes: MSGMNB,
            stime: 0,
            rtime: 0,
            ctime: now(),
            lspid: 0,
            lrpid: 0,
            removed: false,
        }),
        wq: WaitQueue::new(),
    });
    let (id, seq) = MSGS.lock().add(q.clone())?;
    perm.seq = seq;
    q.st.lock().perm = perm;
    Ok(id as u64)
}

/// msgsnd(2).
pub fn msgsnd(cx: &Ctx, id: i32, msgp: UAddr, size: usize, flags: i32) -> SysResult {
    let mtype: i64 = cx.read_val(msgp)?;
    if size > MSGMAX || id < 0 {
        return Err(Errno::EINVAL);
    }
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = alloc::vec![0u8; size];
    cx.read_bytes(UAddr(msgp.0 + 8), &mut text)?;
    let q = MSGS.lock().get(id)?;
    if !q.st.lock().perm.allows(cx, 2) {
        return Err(Errno::EACCES);
    }
    let pid = cx.proc.pid;
    let mut msg = Some(text);
    wait::wait_for(cx, &[&q.wq], None, Restart::Never, || {
        let mut st = q.st.lock();
        if st.removed {
            return Some(Err(Errno::EIDRM));
        }
        let len = msg.as_ref().map(|m| m.len() as u64).unwrap_or(0);
        // Room for the bytes and one more message (Linux counts messages too).
        if st.bytes + len > st.qbytes || st.msgs.len() as u64 + 1 > st.qbytes {
            return if flags & IPC_NOWAIT != 0 { Some(Err(Errno::EAGAIN)) } else { None };
        }
        st.msgs.push_back((mtype, msg.take().unwrap_or_default()));
        st.bytes += len;
        st.stime = now();
        st.lspid = pid;
        Some(Ok(()))
    })??;
    q.wq.wake_all();
    Ok(0)
}

/// The message msgrcv takes: its position in the queue.
fn pick(msgs: &VecDeque<(i64, Vec<u8>)>, typ: i64, except: bool) -> Option<usize> {
    if typ == 0 {
        return if msgs.is_empty() { None } else { Some(0) };
    }
    if typ > 0 {
        return msgs.iter().position(|(t, _)| if except { *t != typ } else { *t == typ });
    }
    // The lowest type not above |typ| (the first of it).
    let bound = typ.unsigned_abs();
    let best = msgs.iter().filter(|(t, _)| t.unsigned_abs() <= bound).map(|(t, _)| *t).min()?;
    msgs.iter().position(|(t, _)| *t == best)
}

/// msgrcv(2).
pub fn msgrcv(cx: &Ctx, id: i32, msgp: UAddr, size: i64, typ: i64, flags: i32) -> SysResult {
    if id < 0 || size < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 {
        // MSG_COPY (checkpoint/restore) wants IPC_NOWAIT and excludes MSG_EXCEPT.
        if flags & IPC_NOWAIT == 0 || flags & MSG_EXCEPT != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let q = MSGS.lock().get(id)?;
    if !q.st.lock().perm.allows(cx, 4) {
        return Err(Errno::EACCES);
    }
    let pid = cx.proc.pid;
    let size = size as usize;
    let (mtype, text) = wait::wait_for(cx, &[&q.wq], None, Restart::Never, || {
        let mut st = q.st.lock();
        if st.removed {
            return Some(Err(Errno::EIDRM));
        }
        let found = if flags & MSG_COPY != 0 {
            usize::try_from(typ).ok().filter(|&i| i < st.msgs.len())
        } else {
            pick(&st.msgs, typ, flags & MSG_EXCEPT != 0)
        };
        let Some(i) = found else {
            return if flags & IPC_NOWAIT != 0 { Some(Err(Errno::ENOMSG)) } else { None };
        };
        let len = st.msgs.get(i).map(|m| m.1.len()).unwrap_or(0);
        if len > size && flags & MSG_NOERROR == 0 {
            return Some(Err(Errno::E2BIG));
        }
        if flags & MSG_COPY != 0 {
            return st.msgs.get(i).cloned().map(Ok);
        }
        let m = st.msgs.remove(i)?;
        st.bytes -= m.1.len() as u64;
        st.rtime = now();
        st.lrpid = pid;
        Some(Ok(m))
    })??;
    q.wq.wake_all();
    let n = text.len().min(size);
    cx.write_val(msgp, &mtype)?;
    cx.write_bytes(UAddr(msgp.0 + 8), text.get(..n).unwrap_or(&[]))?;
    Ok(n as u64)
}

fn stat_of(q: &Queue) -> MsqidDs {
    let st = q.st.lock();
    MsqidDs {
        msg_perm: st.perm.uapi(),
        msg_stime: st.stime,
        msg_rtime: st.rtime,
        msg_ctime: st.ctime,
        msg_cbytes: st.bytes,
        msg_qnum: st.msgs.len() as u64,
        msg_qbytes: st.qbytes,
        msg_lspid: st.lspid,
        msg_lrpid: st.lrpid,
        ..Default::default()
    }
}

/// msgctl(2).
pub fn msgctl(cx: &Ctx, id: i32, cmd: i32, buf: UAddr) -> SysResult {
    let cmd = cmd_of(cmd);
    match cmd {
        IPC_INFO | MSG_INFO => {
            let t = MSGS.lock();
            let mut info = Msginfo {
                msgpool: (MSGMNI as u64 * MSGMNB / 1024) as i32,
                msgmap: MSGMNB as i32,
                msgmax: MSGMAX as i32,
                msgmnb: MSGMNB as i32,
                msgmni: MSGMNI,
                msgssz: 16,
                msgtql: MSGMNB as i32,
                msgseg: 0xffff,
                _pad: 0,
            };
            if cmd == MSG_INFO {
                info.msgpool = t.len() as i32;
                info.msgmap = t.iter().map(|(_, q)| q.st.lock().msgs.len() as i32).sum();
                info.msgtql = t.iter().map(|(_, q)| q.st.lock().bytes as i32).sum();
            }
            let max = t.max_index();
            drop(t);
            cx.write_val(buf, &info)?;
            return Ok(max as u64);
        }
        MSG_STAT | MSG_STAT_ANY => {
            let (qid, q) = MSGS.lock().at(id)?;
            if cmd == MSG_STAT && !q.st.lock().perm.allows(cx, 4) {
                return Err(Errno::EACCES);
            }
            cx.write_val(buf, &stat_of(&q))?;
            return Ok(qid as u64);
        }
        _ => {}
    }
    let q = MSGS.lock().get(id)?;
    match cmd {
        IPC_STAT => {
            if !q.st.lock().perm.allows(cx, 4) {
                return Err(Errno::EACCES);
            }
            cx.write_val(buf, &stat_of(&q))?;
            Ok(0)
        }
        IPC_SET => {
            let ds: MsqidDs = cx.read_val(buf)?;
            {
                let mut st = q.st.lock();
                if !st.perm.may_change(cx) {
                    return Err(Errno::EPERM);
                }
                if ds.msg_qbytes > MSGMNB && !cx.proc.cred.lock().capable(CAP_SYS_RESOURCE) {
                    return Err(Errno::EPERM);
                }
                st.perm.set(&ds.msg_perm);
                st.qbytes = ds.msg_qbytes;
                st.ctime = now();
            }
            q.wq.wake_all();
            Ok(0)
        }
        IPC_RMID => {
            {
                let mut st = q.st.lock();
                if !st.perm.may_change(cx) {
                    return Err(Errno::EPERM);
                }
                st.removed = true;
            }
            MSGS.lock().remove(id);
            q.wq.wake_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
