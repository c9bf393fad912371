//! File-system calls on nodes and their attributes: mknod (FIFOs, device and
//! socket nodes), extended attributes, the utime family, statx.
//!
//! Device nodes follow Linux: with CAP_MKNOD (root has it) mknod makes them, and
//! opening one gives the device when elfin has it (null, zero, full, random,
//! urandom, tty) and ENXIO otherwise, as Linux answers for a device without a
//! driver; without CAP_MKNOD it is EPERM.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::statx::*;
use elfin_shim::uapi::{Statx, Timespec, Timeval};
use elfin_shim::UAddr;

use super::fs::{base_dir, lookup, AT_FDCWD};
use super::SysResult;
use crate::fs::{self, Fixed, Inode, Meta, NewNode};
use crate::task::caps::*;
use crate::task::Ctx;

const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
const AT_NO_AUTOMOUNT: i32 = 0x800;
const AT_EMPTY_PATH: i32 = 0x1000;
const AT_STATX_SYNC_TYPE: i32 = 0x6000;

/// Whether the caller may access a node with `meta` for `mask` (4 read, 2 write,
/// 1 execute), as Linux's generic_permission with its capabilities.
pub fn may_access(cx: &Ctx, meta: &Meta, mask: u32) -> bool {
    cx.proc.cred.lock().may(meta, mask)
}

/// Whether the caller may make the name `name` in `dir`, as Linux's may_create:
/// EEXIST when it is taken, else write and search on the directory (EACCES).
pub fn may_create(cx: &Ctx, dir: &Arc<dyn Inode>, name: &[u8]) -> Result<(), Errno> {
    may_create_kind(cx, dir, name, S_IFDIR)
}

/// [`may_create`] for a node of type `kind` (S_IFREG, S_IFDIR, ...), with what a
/// pseudo filesystem answers (fs::Fixed): procfs fails the lookup of the new
/// name (ENOENT, before any permission check), sysfs has no operation to make it
/// (EACCES for a regular file, EPERM for the rest).
pub fn may_create_kind(cx: &Ctx, dir: &Arc<dyn Inode>, name: &[u8], kind: u32) -> Result<(), Errno> {
    if dir.lookup(name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let fixed = dir.fixed_names();
    if fixed == Some(Fixed::Proc) {
        return Err(Errno::ENOENT);
    }
    if !may_access(cx, &dir.meta(), 3) {
        return Err(Errno::EACCES);
    }
    match fixed {
        Some(_) if kind == S_IFREG => Err(Errno::EACCES),
        Some(_) => Err(Errno::EPERM),
        None => Ok(()),
    }
}

/// Removing or renaming a name of a pseudo filesystem's directory: EPERM (Linux:
/// its directories have no such operations). Checked after [`may_delete`].
pub fn may_change_names(dir: &Arc<dyn Inode>) -> Result<(), Errno> {
    match dir.fixed_names() {
        Some(_) => Err(Errno::EPERM),
        None => Ok(()),
    }
}

/// Whether the caller may remove (or rename away) `victim` from `dir`, as
/// Linux's may_delete: write and search on the directory (EACCES), and in a
/// sticky directory (/tmp) only the owner of the file or of the directory, or
/// CAP_FOWNER (EPERM).
pub fn may_delete(cx: &Ctx, dir: &Arc<dyn Inode>, victim: &Arc<dyn Inode>) -> Result<(), Errno> {
    let dm = dir.meta();
    if !may_access(cx, &dm, 3) {
        return Err(Errno::EACCES);
    }
    if dm.mode & 0o1000 != 0 {
        let owner = victim.meta().uid;
        let c = cx.proc.cred.lock();
        if c.uid[3] != owner && c.uid[3] != dm.uid && !c.capable(CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
    }
    Ok(())
}

/// Whether the caller may make a hard link to `src` (fs.protected_hardlinks,
/// on in Linux by default): its owner, CAP_FOWNER, or a plain regular file the
/// caller may read and write; else EPERM.
pub fn may_link(cx: &Ctx, src: &Arc<dyn Inode>) -> Result<(), Errno> {
    let m = src.meta();
    {
        let c = cx.proc.cred.lock();
        if c.uid[3] == m.uid || c.capable(CAP_FOWNER) {
            return Ok(());
        }
    }
    let plain = m.mode & S_IFMT == S_IFREG && m.mode & 0o4000 == 0 && m.mode & 0o2010 != 0o2010;
    if plain && may_access(cx, &m, 6) {
        return Ok(());
    }
    Err(Errno::EPERM)
}

/// Whether the caller owns a node with `meta` or has CAP_FOWNER.
pub fn owns(cx: &Ctx, meta: &Meta) -> bool {
    let c = cx.proc.cred.lock();
    c.uid[3] == meta.uid || c.capable(CAP_FOWNER)
}

// ----------------------------------------------------------------- mknod --

/// mknodat(2) (also mknod).
pub fn mknodat(cx: &Ctx, dirfd: i32, path: UAddr, mode: u32, dev: u32) -> SysResult {
    let ty = mode & S_IFMT;
    let what = match ty {
        0 | S_IFREG => NewNode::File,
        S_IFIFO => NewNode::Fifo,
        S_IFSOCK => NewNode::Socket,
        S_IFCHR | S_IFBLK => {
            // new_decode_dev: the 32-bit device number user space passes.
            let (major, minor) = ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
            NewNode::Device(ty, elfin_shim::uapi::StatInfo::makedev(major, minor))
        }
        S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let raw = cx.read_path(path)?;
    let base = base_dir(cx, dirfd, &raw)?;
    let (parent, name) = cx.resolve_parent(&base, &raw)?;
    if name.is_empty() || name == b"." || name == b".." || parent.node.lookup(&name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if parent.node.fixed_names() == Some(Fixed::Proc) {
        return Err(Errno::ENOENT);
    }
    let whiteout = ty == S_IFCHR && dev == 0;
    if matches!(ty, S_IFCHR | S_IFBLK) && !whiteout && !cx.proc.cred.lock().capable(CAP_MKNOD) {
        return Err(Errno::EPERM);
    }
    may_create_kind(cx, &parent.node, &name, if ty == 0 { S_IFREG } else { ty })?;
    let umask = cx.fs().lock().umask;
    let node = parent.node.create(&name, what, mode & !umask & 0o7777)?;
    let (u, g) = {
        let c = cx.proc.cred.lock();
        (c.uid[3], c.gid[3])
    };
    let _ = node.set_meta(&mut |m| {
        m.uid = u;
        m.gid = g;
    });
    crate::fs::inotify::created(&parent.node, &name, &node);
    Ok(0)
}

// ---------------------------------------------------------------- xattrs --

const XATTR_CREATE: i32 = 1;
const XATTR_REPLACE: i32 = 2;
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: usize = 65536;
const XATTR_LIST_MAX: usize = 65536;

/// Which node an xattr call works on.
pub enum Target {
    /// A path, following a final symlink or not.
    Path(UAddr, bool),
    /// A descriptor.
    Fd(i32),
}

fn target_node(cx: &Ctx, t: &Target) -> Result<(Arc<dyn Inode>, Vec<u8>), Errno> {
    match *t {
        Target::Path(p, follow) => {
            let r = lookup(cx, AT_FDCWD, p, follow, false)?;
            Ok((r.node, r.path))
        }
        Target::Fd(fd) => {
            let f = cx.fd(fd)?;
            if f.flags() & crate::fs::file::O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            Ok((f.inode().ok_or(Errno::EOPNOTSUPP)?, f.path.clone()))
        }
    }
}

fn read_name(cx: &Ctx, name: UAddr) -> Result<Vec<u8>, Errno> {
    let n = cx.read_cstr(name, XATTR_NAME_MAX).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ERANGE } else { e })?;
    if n.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(n)
}

/// The namespace rules of Linux's xattr_permission for `name` on `node`:
/// Ok(()) or the error; `write` for set/remove.
fn check_namespace(cx: &Ctx, node: &Arc<dyn Inode>, name: &[u8], write: bool) -> Result<(), Errno> {
    let meta = node.meta();
    if name.starts_with(b"user.") {
        let ty = meta.mode & S_IFMT;
        if ty != S_IFREG && ty != S_IFDIR {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        let mask = if write { 2 } else { 4 };
        if !may_access(cx, &meta, mask) {
            return Err(Errno::EACCES);
        }
        Ok(())
    } else if name.starts_with(b"trusted.") {
        if !cx.proc.cred.lock().capable(CAP_SYS_ADMIN) {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        Ok(())
    } else if name.starts_with(b"security.") {
        if write && !owns(cx, &meta) && !may_access(cx, &meta, 2) {
            return Err(Errno::EACCES);
        }
        Ok(())
    } else {
        // system.* (POSIX ACLs) and names without a namespace.
        Err(Errno::EOPNOTSUPP)
    }
}

/// setxattr/lsetxattr/fsetxattr.
pub fn setxattr(cx: &Ctx, t: Target, name: UAddr, value: UAddr, size: usize, flags: i32) -> SysResult {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(cx, name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut v = alloc::vec![0u8; size];
    if size > 0 {
        cx.read_bytes(value, &mut v)?;
    }
    let (node, path) = target_node(cx, &t)?;
    check_namespace(cx, &node, &name, true)?;
    let x = node.xattrs().ok_or(Errno::EOPNOTSUPP)?;
    {
        let mut m = x.lock();
        let exists = m.contains_key(&name);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        m.insert(name, v);
    }
    let _ = node.set_meta(&mut |m| m.touch_ctime());
    crate::fs::inotify::event(&node, Some(&path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

/// getxattr/lgetxattr/fgetxattr.
pub fn getxattr(cx: &Ctx, t: Target, name: UAddr, value: UAddr, size: usize) -> SysResult {
    let name = read_name(cx, name)?;
    let (node, _) = target_node(cx, &t)?;
    check_namespace(cx, &node, &name, false)?;
    let x = node.xattrs().ok_or(Errno::EOPNOTSUPP)?;
    let v = x.lock().get(&name).cloned().ok_or(Errno::ENODATA)?;
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if size.min(XATTR_SIZE_MAX) < v.len() {
        return Err(Errno::ERANGE);
    }
    cx.write_bytes(value, &v)?;
    Ok(v.len() as u64)
}

/// listxattr/llistxattr/flistxattr: the names, each NUL-terminated (trusted.* only
/// for CAP_SYS_ADMIN).
pub fn listxattr(cx: &Ctx, t: Target, list: UAddr, size: usize) -> SysResult {
    let (node, _) = target_node(cx, &t)?;
    let admin = cx.proc.cred.lock().capable(CAP_SYS_ADMIN);
    let mut out = Vec::new();
    if let Some(x) = node.xattrs() {
        for k in x.lock().keys() {
            if k.starts_with(b"trusted.") && !admin {
                continue;
            }
            out.extend_from_slice(k);
            out.push(0);
        }
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if size.min(XATTR_LIST_MAX) < out.len() {
        return Err(Errno::ERANGE);
    }
    cx.write_bytes(list, &out)?;
    Ok(out.len() as u64)
}

/// removexattr/lremovexattr/fremovexattr.
pub fn removexattr(cx: &Ctx, t: Target, name: UAddr) -> SysResult {
    let name = read_name(cx, name)?;
    let (node, path) = target_node(cx, &t)?;
    check_namespace(cx, &node, &name, true)?;
    let x = node.xattrs().ok_or(Errno::EOPNOTSUPP)?;
    x.lock().remove(&name).ok_or(Errno::ENODATA)?;
    let _ = node.set_meta(&mut |m| m.touch_ctime());
    crate::fs::inotify::event(&node, Some(&path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

// ------------------------------------------------------------------ times --

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// What to set: (atime, mtime), None for "leave it", or None for "both now".
type Times = Option<[Option<Timespec>; 2]>;

/// Sets the times of `node`: `times` None is "now" (owner, CAP_FOWNER or write
/// access), explicit times need the owner or CAP_FOWNER (Linux's setattr_prepare).
fn set_times(cx: &Ctx, node: &Arc<dyn Inode>, path: &[u8], times: Times) -> SysResult {
    let meta = node.meta();
    let now = fs::now();
    let explicit = times.is_some_and(|t| t.iter().flatten().any(|x| x.tv_nsec != UTIME_NOW));
    if explicit {
        if !owns(cx, &meta) {
            return Err(Errno::EPERM);
        }
    } else if !owns(cx, &meta) && !may_access(cx, &meta, 2) {
        return Err(Errno::EACCES);
    }
    let resolve = |t: Option<Timespec>, cur: Timespec| match t {
        None => cur,
        Some(x) if x.tv_nsec == UTIME_NOW => now,
        Some(x) => x,
    };
    let (a, m) = match times {
        None => (now, now),
        Some([a, m]) => (resolve(a, meta.atime), resolve(m, meta.mtime)),
    };
    node.set_meta(&mut |x| {
        x.atime = a;
        x.mtime = m;
        x.ctime = now;
    })?;
    crate::fs::inotify::event(node, Some(path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

/// A node and its path.
type NamedNode = (Arc<dyn Inode>, Vec<u8>);

/// The node a utime-family call names: `path` from `dirfd`, or with a NULL path
/// the descriptor itself (futimens); a descriptor without a node is accepted.
fn times_node(cx: &Ctx, dirfd: i32, path: UAddr, flags: i32) -> Result<Option<NamedNode>, Errno> {
    if path.is_null() && dirfd != AT_FDCWD {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let f = cx.fd(dirfd)?;
        return Ok(f.inode().map(|n| (n, f.path.clone())));
    }
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    Ok(Some((r.node, r.path)))
}

/// utimensat(2) (and futimens).
pub fn utimensat(cx: &Ctx, dirfd: i32, path: UAddr, times: UAddr, flags: i32) -> SysResult {
    let t: Times = if times.is_null() {
        None
    } else {
        let ts: [Timespec; 2] = cx.read_val(times)?;
        if ts.iter().all(|t| t.tv_nsec == UTIME_OMIT) {
            return Ok(0);
        }
        let valid =
            |t: &Timespec| t.tv_nsec == UTIME_NOW || t.tv_nsec == UTIME_OMIT || (0..1_000_000_000).contains(&t.tv_nsec);
        if !ts.iter().all(valid) {
            return Err(Errno::EINVAL);
        }
        let pick = |t: Timespec| (t.tv_nsec != UTIME_OMIT).then_some(t);
        Some([pick(ts[0]), pick(ts[1])])
    };
    match times_node(cx, dirfd, path, flags)? {
        Some((n, p)) => set_times(cx, &n, &p, t),
        None => Ok(0),
    }
}

/// utimes(2) and futimesat(2): `struct timeval[2]`, NULL for now.
pub fn futimesat(cx: &Ctx, dirfd: i32, path: UAddr, tv: UAddr) -> SysResult {
    let t: Times = if tv.is_null() {
        None
    } else {
        let v: [Timeval; 2] = cx.read_val(tv)?;
        if v.iter().any(|t| !(0..1_000_000).contains(&t.tv_usec)) {
            return Err(Errno::EINVAL);
        }
        let ts = |t: Timeval| Some(Timespec { tv_sec: t.tv_sec, tv_nsec: t.tv_usec * 1000 });
        Some([ts(v[0]), ts(v[1])])
    };
    match times_node(cx, dirfd, path, 0)? {
        Some((n, p)) => set_times(cx, &n, &p, t),
        None => Ok(0),
    }
}

/// utime(2): `struct utimbuf { actime, modtime }`, NULL for now.
pub fn utime(cx: &Ctx, path: UAddr, buf: UAddr) -> SysResult {
    let t: Times = if buf.is_null() {
        None
    } else {
        let b: [i64; 2] = cx.read_val(buf)?;
        Some([Some(Timespec { tv_sec: b[0], tv_nsec: 0 }), Some(Timespec { tv_sec: b[1], tv_nsec: 0 })])
    };
    let r = lookup(cx, AT_FDCWD, path, true, false)?;
    set_times(cx, &r.node, &r.path, t)
}

// ------------------------------------------------------------------ statx --

/// Mount id of the root filesystem and of /proc (statx's stx_mnt_id).
const ROOT_MNT_ID: u64 = 1;
const PROC_MNT_ID: u64 = 2;
/// Attributes the ramfs can report (tmpfs: append-only, immutable, no-dump), and
/// the ones the VFS adds (mount root).
const ATTRS_MASK: u64 = 0x20 | 0x10 | 0x40 | STATX_ATTR_MOUNT_ROOT;

/// statx(2): every field Linux's tmpfs fills (the basic stats, the creation time,
/// the mount id, the attributes and their mask).
pub fn statx(cx: &Ctx, dirfd: i32, path: UAddr, flags: i32, mask: u32, buf: UAddr) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX__RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    // A NULL path with AT_EMPTY_PATH names dirfd itself (Linux 6.11).
    let (info, node, path_of) = if path.is_null() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            let r = fs::resolve(b"/", &cx.cwd(), true)?;
            (fs::stat_of(&*r.node), Some(r.node), r.path)
        } else {
            let f = cx.fd(dirfd)?;
            (f.file.stat(), f.inode(), f.path.clone())
        }
    } else {
        let raw = cx.read_path(path)?;
        if raw.is_empty() && flags & AT_EMPTY_PATH != 0 {
            if dirfd == AT_FDCWD {
                let r = fs::resolve(b"/", &cx.cwd(), true)?;
                (fs::stat_of(&*r.node), Some(r.node), r.path)
            } else {
                let f = cx.fd(dirfd)?;
                (f.file.stat(), f.inode(), f.path.clone())
            }
        } else {
            let r = lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, false)?;
            (fs::stat_of(&*r.node), Some(r.node), r.path)
        }
    };
    let mut s = Statx::new(&info);
    let proc = info.dev == crate::fs::procfs::PROC_DEV;
    s.stx_mask |= STATX_MNT_ID;
    s.stx_mnt_id = if proc { PROC_MNT_ID } else { ROOT_MNT_ID };
    s.stx_attributes_mask = ATTRS_MASK;
    let root_of_mount = node.is_some() && (path_of == b"/" || path_of == b"/proc");
    if root_of_mount {
        s.stx_attributes |= STATX_ATTR_MOUNT_ROOT;
    }
    cx.write_val(buf, &s)?;
    Ok(0)
}
