//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.
use elfin_shim::errno::Errno;
use elfin_shim::UAddr;

use super::fs::{lookup, AT_FDCWD};
use super::SysResult;
use crate::fs::file::{OpenFile, O_NONBLOCK};
use crate::fs::inotify::*;
use crate::fs::is_dir;
use crate::task::Ctx;

const O_CLOEXEC: u32 = 0o2000000;

/// inotify_init1(2) (and inotify_init).
pub fn inotify_init1(cx: &Ctx, flags: i32) -> SysResult {
    let flags = flags as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new(Inotify::new(), flags & O_NONBLOCK, alloc::vec::Vec::new());
    Ok(cx.install(file, flags & O_CLOEXEC != 0)? as u64)
}

fn instance(cx: &Ctx, fd: i32) -> Result<alloc::sync::Arc<OpenFile>, Errno> {
    let f = cx.fd(fd)?;
    if f.downcast::<Inotify>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// inotify_add_watch(2).
pub fn inotify_add_watch(cx: &Ctx, fd: i32, path: UAddr, mask: u32) -> SysResult {
    let f = instance(cx, fd)?;
    // Linux wants some bit it knows (an event or a flag).
    let known = IN_ALL_EVENTS
        | 0x2000 /* IN_UNMOUNT */
        | IN_Q_OVERFLOW
        | IN_IGNORED
        | IN_ONLYDIR
        | IN_DONT_FOLLOW
        | IN_EXCL_UNLINK
        | IN_MASK_ADD
        | IN_MASK_CREATE
        | IN_ISDIR
        | IN_ONESHOT;
    if mask & known == 0 {
        return Err(Errno::EINVAL);
    }
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, AT_FDCWD, path, mask & IN_DONT_FOLLOW == 0, false)?;
    if mask & IN_ONLYDIR != 0 && !is_dir(&*r.node) {
        return Err(Errno::ENOTDIR);
    }
    if !super::fsx::may_access(cx, &r.node.meta(), 4) {
        return Err(Errno::EACCES);
    }
    let i = f.downcast::<Inotify>().ok_or(Errno::EINVAL)?;
    let keep = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD | IN_MASK_CREATE;
    Ok(i.add_watch(r.node, mask & keep)? as u64)
}

/// inotify_rm_watch(2).
pub fn inotify_rm_watch(cx: &Ctx, fd: i32, wd: i32) -> SysResult {
    let f = instance(cx, fd)?;
    f.downcast::<Inotify>().ok_or(Errno::EINVAL)?.rm_watch(wd)?;
    Ok(0)
}
