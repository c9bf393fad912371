//! POSIX message queue calls (mq_open, mq_unlink, mq_timedsend,
//! mq_timedreceive, mq_notify, mq_getsetattr) on top of `fs::mqueue`.
use alloc::sync::Arc;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::sigev::*;
use elfin_shim::uapi::{MqAttr, Sigevent, Timespec};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, O_ACCMODE, O_NONBLOCK};
use crate::fs::mqueue::{self, MqFile, Mqueue, Notify};
use crate::fs::Inode;
use crate::task::caps::CAP_SYS_RESOURCE;
use crate::task::Ctx;

const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_CLOEXEC: u32 = 0o2000000;

fn read_name(cx: &Ctx, name: UAddr) -> Result<alloc::vec::Vec<u8>, Errno> {
    let n = cx.read_path(name)?;
    // One level of names (the C library strips the leading slash).
    if n.is_empty() || n.contains(&b'/') || n == b"." || n == b".." {
        return Err(if n.contains(&b'/') { Errno::EACCES } else { Errno::ENOENT });
    }
    if n.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(n)
}

/// mq_open(2).
pub fn mq_open(cx: &Ctx, name: UAddr, oflag: i32, mode: u32, attr: UAddr) -> SysResult {
    let oflag = oflag as u32;
    let name = read_name(cx, name)?;
    let acc = oflag & O_ACCMODE;
    if acc == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let q = match mqueue::lookup(&name) {
        Some(q) => {
            if oflag & O_CREAT != 0 && oflag & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let want = match acc {
                0 => 4,
                1 => 2,
                _ => 6,
            };
            if !super::fsx::may_access(cx, &q.meta(), want) {
                return Err(Errno::EACCES);
            }
            q
        }
        None if oflag & O_CREAT == 0 => return Err(Errno::ENOENT),
        None => {
            let (maxmsg, msgsize) = if attr.is_null() {
                (mqueue::MSG_DEFAULT, mqueue::MSGSIZE_DEFAULT)
            } else {
                let a: MqAttr = cx.read_val(attr)?;
                if a.mq_maxmsg <= 0 || a.mq_msgsize <= 0 {
                    return Err(Errno::EINVAL);
                }
                let big = a.mq_maxmsg > mqueue::MSG_MAX || a.mq_msgsize > mqueue::MSGSIZE_MAX;
                let too_big = a.mq_maxmsg > mqueue::HARD_MSGMAX || a.mq_msgsize > mqueue::HARD_MSGSIZEMAX;
                if too_big || (big && !cx.proc.cred.lock().capable(CAP_SYS_RESOURCE)) {
                    return Err(Errno::EINVAL);
                }
                (a.mq_maxmsg, a.mq_msgsize)
            };
            // RLIMIT_MSGQUEUE bounds the bytes a user's queues may hold.
            let bytes = (maxmsg as u64).saturating_mul(msgsize as u64 + 48);
            if bytes > cx.proc.rlimit(12) && !cx.proc.cred.lock().capable(CAP_SYS_RESOURCE) {
                return Err(Errno::EMFILE);
            }
            let umask = cx.fs().lock().umask;
            let (uid, gid) = {
                let c = cx.proc.cred.lock();
                (c.uid[3], c.gid[3])
            };
            mqueue::create(&name, mode & !umask, uid, gid, maxmsg, msgsize)?
        }
    };
    let file = q.open(0)?;
    let mut path = b"/".to_vec();
    path.extend_from_slice(&name);
    let of = OpenFile::new(file, acc | (oflag & O_NONBLOCK), path);
    Ok(cx.install(of, oflag & O_CLOEXEC != 0)? as u64)
}

/// mq_unlink(2).
pub fn mq_unlink(cx: &Ctx, name: UAddr) -> SysResult {
    let name = read_name(cx, name)?;
    let q = mqueue::lookup(&name).ok_or(Errno::ENOENT)?;
    // The owner, root or CAP_FOWNER may remove a name; Linux answers others
    // EACCES.
    let (u, c) = {
        let cred = cx.proc.cred.lock();
        (cred.uid[3], cred.capable(crate::task::caps::CAP_FOWNER))
    };
    if q.meta().uid != u && u != 0 && !c {
        return Err(Errno::EACCES);
    }
    mqueue::unlink(&name)?;
    Ok(0)
}

fn queue_of(cx: &Ctx, fd: i32) -> Result<(Arc<OpenFile>, Arc<Mqueue>), Errno> {
    let f = cx.fd(fd)?;
    let q = f.downcast::<MqFile>().ok_or(Errno::EBADF)?.q.clone();
    Ok((f, q))
}

/// An absolute CLOCK_REALTIME timeout as a monotonic deadline.
fn deadline(cx: &Ctx, t: UAddr) -> Result<Option<u64>, Errno> {
    if t.is_null() {
        return Ok(None);
    }
    let ts: Timespec = cx.read_val(t)?;
    let ns = super::select::timeout_ns(ts.tv_sec, ts.tv_nsec)?;
    let now = crate::time::monotonic_ns();
    Ok(Some(now.saturating_add(ns.saturating_sub(crate::time::realtime_ns()))))
}

/// mq_timedsend(2).
pub fn mq_timedsend(cx: &Ctx, fd: i32, msg: UAddr, len: usize, prio: u32, timeout: UAddr) -> SysResult {
    if prio >= mqueue::MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let d = deadline(cx, timeout)?;
    let (f, q) = queue_of(cx, fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if len as i64 > q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    let mut buf = alloc::vec![0u8; len];
    cx.read_bytes(msg, &mut buf)?;
    q.send(cx, buf, prio, f.nonblocking(), d)?;
    Ok(0)
}

/// mq_timedreceive(2): returns the message's length.
pub fn mq_timedreceive(cx: &Ctx, fd: i32, msg: UAddr, len: usize, prio: UAddr, timeout: UAddr) -> SysResult {
    let d = deadline(cx, timeout)?;
    let (f, q) = queue_of(cx, fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if (len as i64) < q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    if !cx.mm().check_access(msg.0, len.min(q.msgsize as usize) as u64, true) {
        return Err(Errno::EFAULT);
    }
    let (m, p) = q.receive(cx, f.nonblocking(), d)?;
    cx.write_bytes(msg, &m)?;
    if !prio.is_null() {
        cx.write_val(prio, &p)?;
    }
    Ok(m.len() as u64)
}

/// mq_notify(2): SIGEV_SIGNAL and SIGEV_NONE (SIGEV_THREAD needs a netlink
/// socket, which elfin lacks: EBADF for the descriptor it names, as Linux for a
/// descriptor that is not one).
pub fn mq_notify(cx: &Ctx, fd: i32, sevp: UAddr) -> SysResult {
    let (_, q) = queue_of(cx, fd)?;
    if sevp.is_null() {
        q.set_notify(cx.proc.pid, None)?;
        return Ok(0);
    }
    let ev: Sigevent = cx.read_val(sevp)?;
    let signo = match ev.sigev_notify {
        SIGEV_NONE => 0,
        SIGEV_SIGNAL => {
            if !(1..=64).contains(&ev.sigev_signo) {
                return Err(Errno::EINVAL);
            }
            ev.sigev_signo
        }
        SIGEV_THREAD => {
            // The descriptor must be a netlink socket.
            cx.fd(ev.sigev_signo)?;
            return Err(Errno::ENOTSOCK);
        }
        _ => return Err(Errno::EINVAL),
    };
    q.set_notify(
        cx.proc.pid,
        Some(Notify { proc: Arc::downgrade(&cx.proc), pid: cx.proc.pid, signo, value: ev.sigev_value }),
    )?;
    Ok(0)
}

/// mq_getsetattr(2): only O_NONBLOCK can change.
pub fn mq_getsetattr(cx: &Ctx, fd: i32, new: UAddr, old: UAddr) -> SysResult {
    let newv: Option<MqAttr> = if new.is_null() { None } else { Some(cx.read_val(new)?) };
    if let Some(n) = &newv {
        if n.mq_flags as u32 & !O_NONBLOCK != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let (f, q) = queue_of(cx, fd)?;
    if !old.is_null() {
        let a = MqAttr {
            mq_flags: i64::from(f.flags() & O_NONBLOCK),
            mq_maxmsg: q.maxmsg,
            mq_msgsize: q.msgsize,
            mq_curmsgs: q.len() as i64,
            ..Default::default()
        };
        cx.write_val(old, &a)?;
    }
    if let Some(n) = newv {
        let nb = n.mq_flags as u32 & O_NONBLOCK;
        f.set_flags((f.flags() & !O_NONBLOCK) | nb);
    }
    Ok(0)
}
