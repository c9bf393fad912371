//! flock(2) and the record locks of fcntl(2) (F_GETLK/F_SETLK/F_SETLKW and the
//! OFD forms), on top of `fs::lock`.
use elfin_shim::errno::Errno;
use elfin_shim::uapi::fcntl::*;
use elfin_shim::uapi::Flock;
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, O_PATH};
use crate::fs::lock::{self, Owner, Range};
use crate::task::Ctx;

/// The end of a lock "to the end of the file" (Linux's OFFSET_MAX).
const OFFSET_MAX: u64 = i64::MAX as u64;

/// The key locks on the file behind `f` are kept under.
pub fn file_key(f: &OpenFile) -> usize {
    lock::key_of(f)
}

/// The identity of an open file description.
pub fn ofd_key(f: &OpenFile) -> usize {
    f as *const OpenFile as usize
}

/// flock(2).
pub fn flock(cx: &Ctx, fd: i32, op: i32) -> SysResult {
    const LOCK_SH: u32 = 1;
    const LOCK_EX: u32 = 2;
    const LOCK_NB: u32 = 4;
    const LOCK_UN: u32 = 8;
    const LOCK_MAND: u32 = 32;
    let op = op as u32;
    // Linux ignores the removed LOCK_MAND requests and succeeds.
    if op & LOCK_MAND != 0 {
        return Ok(0);
    }
    let kind = match op & !LOCK_NB {
        LOCK_SH => Some(false),
        LOCK_EX => Some(true),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let f = cx.fd(fd)?;
    // fdget() does not hand out O_PATH descriptors: EBADF for every operation.
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    lock::flock(cx, file_key(&f), ofd_key(&f), kind, op & LOCK_NB != 0)?;
    Ok(0)
}

/// The byte range a `struct flock` names (Linux's flock_to_posix_lock).
fn range_of(f: &OpenFile, fl: &Flock) -> Result<(u64, u64), Errno> {
    let base: i64 = match fl.l_whence as u32 {
        SEEK_SET => 0,
        SEEK_CUR => *f.offset.lock() as i64,
        SEEK_END => f.inode().map(|n| n.size()).unwrap_or(0) as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let (s, e) = if fl.l_len > 0 {
        let end = start.checked_add(fl.l_len - 1).ok_or(Errno::EOVERFLOW)?;
        (start, end)
    } else if fl.l_len < 0 {
        let s = start.checked_add(fl.l_len).filter(|&s| s >= 0).ok_or(Errno::EINVAL)?;
        (s, start - 1)
    } else {
        (start, OFFSET_MAX as i64)
    };
    Ok((s as u64, e as u64))
}

/// fcntl F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW.
pub fn fcntl_lock(cx: &Ctx, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let f = cx.fd(fd)?;
    let mut fl: Flock = cx.read_val(UAddr(arg))?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    let getlk = matches!(cmd, F_GETLK | F_OFD_GETLK);
    if getlk && fl.l_type != F_RDLCK && fl.l_type != F_WRLCK {
        return Err(Errno::EINVAL);
    }
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    if !matches!(fl.l_type, F_RDLCK | F_WRLCK | F_UNLCK) {
        return Err(Errno::EINVAL);
    }
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let (start, end) = range_of(&f, &fl)?;
    let owner = if ofd { Owner::Ofd(ofd_key(&f)) } else { Owner::Process(cx.proc.pid) };
    let want = Range { owner, write: fl.l_type == F_WRLCK, start, end };
    let key = file_key(&f);
    if getlk {
        match lock::test(key, &want) {
            None => fl.l_type = F_UNLCK,
            Some(r) => {
                fl.l_type = if r.write { F_WRLCK } else { F_RDLCK };
                fl.l_whence = SEEK_SET as i16;
                fl.l_start = r.start as i64;
                fl.l_len = if r.end == OFFSET_MAX { 0 } else { (r.end - r.start + 1) as i64 };
                fl.l_pid = match r.owner {
                    Owner::Process(pid) => pid,
                    Owner::Ofd(_) => -1,
                };
            }
        }
        cx.write_val(UAddr(arg), &fl)?;
        return Ok(0);
    }
    if (fl.l_type == F_RDLCK && !f.readable()) || (fl.l_type == F_WRLCK && !f.writable()) {
        return Err(Errno::EBADF);
    }
    let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
    lock::set(cx, key, want, fl.l_type == F_UNLCK, wait)?;
    Ok(0)
}
