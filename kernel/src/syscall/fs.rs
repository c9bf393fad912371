//! File-system system calls.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::native::{open_flags as arch_o, EpollEvent, Stat};
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{Iovec, LinuxDirent64, Pollfd, StatInfo, Statx, Termios, Timespec, Winsize};
use elfin_shim::UAddr;
use spin::Mutex;

use super::SysResult;
use crate::fs::file::{FileKind, OpenFile};
use crate::fs::{self, ipc, Content, Node, NodeKind, Resolved};
use crate::proc::Process;
use crate::uaccess::{read_bytes, read_path, read_val, write_bytes, write_val};

/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
const AT_REMOVEDIR: i32 = 0x200;
const AT_EMPTY_PATH: i32 = 0x1000;

const O_ACCMODE: u32 = 3;
const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_TRUNC: u32 = 0o1000;
const O_APPEND: u32 = 0o2000;
const O_NONBLOCK: u32 = 0o4000;
const O_CLOEXEC: u32 = 0o2000000;
const O_PATH: u32 = 0o10000000;

/// Largest chunk moved through a kernel buffer at once.
const CHUNK: usize = 64 * 1024;

fn base_dir(p: &Process, dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(p.cwd.clone());
    }
    let f = p.fds.get(dirfd)?;
    match &f.kind {
        FileKind::Node(n) if n.is_dir() => Ok(f.path.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

fn lookup(p: &mut Process, dirfd: i32, path: UAddr, follow: bool, allow_empty: bool) -> Result<Resolved, Errno> {
    let path = read_path(&mut p.aspace, path)?;
    if path.is_empty() {
        if allow_empty {
            let f = p.fds.get(dirfd)?;
            return match &f.kind {
                FileKind::Node(n) => Ok(Resolved { node: n.clone(), path: f.path.clone() }),
                _ => Err(Errno::EBADF),
            };
        }
        return Err(Errno::ENOENT);
    }
    let base = base_dir(p, dirfd, &path)?;
    fs::resolve(&base, &path, follow)
}

/// read(2) and friends: `off` None uses and advances the file offset.
pub fn read(p: &mut Process, fd: i32, buf: UAddr, count: usize, off: Option<u64>) -> SysResult {
    let f = p.fds.get(fd)?;
    if count == 0 {
        return Ok(0);
    }
    let mut done = 0usize;
    let mut kbuf = alloc::vec![0u8; count.min(CHUNK)];
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = kbuf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let n = match f.read(chunk, off.map(|o| o + done as u64)) {
            Ok(n) => n,
            Err(Errno::EAGAIN) if done > 0 => break,
            Err(Errno::EAGAIN) => return would_block(p, &f),
            Err(e) => return Err(e),
        };
        write_bytes(&mut p.aspace, UAddr(buf.0 + done as u64), chunk.get(..n).ok_or(Errno::EFAULT)?)?;
        done += n;
        // Console input returns what arrived; a short read ends the call.
        if n < want {
            break;
        }
    }
    Ok(done as u64)
}

/// write(2) and friends.
pub fn write(p: &mut Process, fd: i32, buf: UAddr, count: usize, off: Option<u64>) -> SysResult {
    let f = p.fds.get(fd)?;
    let mut done = 0usize;
    let mut kbuf = alloc::vec![0u8; count.min(CHUNK)];
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = kbuf.get_mut(..want).ok_or(Errno::EFAULT)?;
        if let Err(e) = read_bytes(&mut p.aspace, UAddr(buf.0 + done as u64), chunk) {
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        let n = match f.write(chunk, off.map(|o| o + done as u64)) {
            Ok(n) => n,
            Err(Errno::EAGAIN) if done > 0 => break,
            Err(Errno::EAGAIN) => return would_block(p, &f),
            Err(Errno::EPIPE) => {
                let _ = crate::signal::send_to_thread(crate::sched::current_tid(), 13);
                return if done > 0 { Ok(done as u64) } else { Err(Errno::EPIPE) };
            }
            Err(e) => return Err(e),
        };
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done as u64)
}

/// A transfer that cannot proceed: EAGAIN for non-blocking files, else the call
/// waits (the thread sleeps until a poll-relevant change) and is restarted.
fn would_block(p: &mut Process, f: &OpenFile) -> SysResult {
    if *f.flags.lock() & O_NONBLOCK != 0 {
        return Err(Errno::EAGAIN);
    }
    p.block = Some((crate::sched::WaitOn::Poll, None));
    Err(Errno::EAGAIN)
}

/// pread64/pwrite64.
pub fn pread(p: &mut Process, fd: i32, buf: UAddr, count: usize, offset: i64, is_write: bool) -> SysResult {
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    let f = p.fds.get(fd)?;
    if !matches!(&f.kind, FileKind::Node(n) if matches!(n.kind, NodeKind::File(_))) {
        return Err(Errno::ESPIPE);
    }
    if is_write {
        write(p, fd, buf, count, Some(offset as u64))
    } else {
        read(p, fd, buf, count, Some(offset as u64))
    }
}

/// readv/writev.
pub fn readv(p: &mut Process, fd: i32, iov: UAddr, iovcnt: i32, is_write: bool) -> SysResult {
    if !(0..=1024).contains(&iovcnt) {
        return Err(Errno::EINVAL);
    }
    p.fds.get(fd)?;
    let mut total = 0u64;
    for i in 0..iovcnt as u64 {
        let v: Iovec = read_val(&mut p.aspace, UAddr(iov.0 + i * 16))?;
        if v.len == 0 {
            continue;
        }
        let len = usize::try_from(v.len).map_err(|_| Errno::EINVAL)?;
        let n = if is_write { write(p, fd, UAddr(v.base), len, None) } else { read(p, fd, UAddr(v.base), len, None) };
        match n {
            Ok(n) => {
                total += n;
                if n < v.len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => {
                // Data already moved: return it instead of waiting for more.
                p.block = None;
                break;
            }
        }
    }
    Ok(total)
}

/// openat(2).
pub fn openat(p: &mut Process, dirfd: i32, path: UAddr, flags: i32, mode: u32) -> SysResult {
    let flags = flags as u32;
    let o_directory = arch_o::O_DIRECTORY;
    let o_nofollow = arch_o::O_NOFOLLOW;
    let path_bytes = read_path(&mut p.aspace, path)?;
    if path_bytes.is_empty() {
        return Err(Errno::ENOENT);
    }
    let base = base_dir(p, dirfd, &path_bytes)?;
    let follow = flags & o_nofollow == 0;
    let r = match fs::resolve(&base, &path_bytes, follow) {
        Ok(r) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            r
        }
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let (parent, name) = fs::resolve_parent(&base, &path_bytes)?;
            if name.is_empty() || path_bytes.last() == Some(&b'/') {
                return Err(Errno::EISDIR);
            }
            let node = Node::new(NodeKind::File(Mutex::new(Content::Owned(Vec::new()))), mode & !p.umask);
            node.meta.lock().mtime = (crate::time::realtime_ns() / 1_000_000_000) as i64;
            parent.node.insert(&name, node.clone())?;
            let mut path = parent.path.clone();
            if path != b"/" {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            Resolved { node, path }
        }
        Err(e) => return Err(e),
    };
    if let NodeKind::Symlink(_) = r.node.kind {
        if flags & O_PATH == 0 {
            return Err(Errno::ELOOP);
        }
    }
    if flags & o_directory != 0 && !r.node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & O_ACCMODE;
    if r.node.is_dir() && (acc != 0 || flags & O_CREAT != 0) && flags & O_PATH == 0 {
        return Err(Errno::EISDIR);
    }
    if flags & O_TRUNC != 0 && acc != 0 {
        if let NodeKind::File(c) = &r.node.kind {
            *c.lock() = Content::Owned(Vec::new());
        }
    }
    let node = match &r.node.kind {
        // /proc files: a snapshot generated now, as Linux generates them on read.
        NodeKind::Proc(pf) => {
            if acc != 0 {
                return Err(Errno::EACCES);
            }
            let data = crate::fs::procfs::generate(*pf, p);
            Node::new(NodeKind::File(Mutex::new(Content::Owned(data))), 0o444)
        }
        _ => r.node,
    };
    let keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | o_directory;
    let file = OpenFile::new(FileKind::Node(node), flags & keep, r.path);
    let fd = p.fds.install(file, flags & O_CLOEXEC != 0)?;
    Ok(fd as u64)
}

fn stat_info(n: &Arc<Node>) -> StatInfo {
    let m = *n.meta.lock();
    let t = Timespec { tv_sec: m.mtime, tv_nsec: 0 };
    let size = n.size();
    let rdev = match &n.kind {
        NodeKind::Dev(d) => match d {
            fs::Dev::Null => (1 << 8) | 3,
            fs::Dev::Zero => (1 << 8) | 5,
            fs::Dev::Full => (1 << 8) | 7,
            fs::Dev::Random => (1 << 8) | 9,
        },
        _ => 0,
    };
    StatInfo {
        dev: 0x10,
        ino: n.ino,
        mode: m.mode,
        // A directory's links: its entry, its ".", and each subdirectory's "..".
        nlink: match &n.kind {
            NodeKind::Dir(d) => 2 + d.lock().values().filter(|c| c.is_dir()).count() as u32,
            _ => 1,
        },
        uid: m.uid,
        gid: m.gid,
        rdev,
        size: size as i64,
        blksize: 4096,
        // Whole pages, as tmpfs counts them (in 512-byte units).
        blocks: size.div_ceil(4096) * 8,
        atime: t,
        mtime: t,
        ctime: t,
    }
}

fn console_stat(f: &OpenFile) -> StatInfo {
    let t = Timespec { tv_sec: 0, tv_nsec: 0 };
    let (mode, rdev) = if f.tty { (S_IFCHR | 0o620, (136 << 8) as u64) } else { (S_IFIFO | 0o600, 0) };
    StatInfo {
        dev: 0xe,
        ino: 1000,
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev,
        size: 0,
        blksize: 4096,
        blocks: 0,
        atime: t,
        mtime: t,
        ctime: t,
    }
}

fn file_stat(f: &OpenFile) -> StatInfo {
    match &f.kind {
        FileKind::Node(n) => stat_info(n),
        FileKind::ConsoleIn | FileKind::ConsoleOut(_) => console_stat(f),
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            let t = Timespec { tv_sec: 0, tv_nsec: 0 };
            StatInfo {
                dev: 0xd,
                ino: Arc::as_ptr(p) as u64 & 0xffff_ffff,
                mode: S_IFIFO | 0o600,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev: 0,
                size: 0,
                blksize: 4096,
                blocks: 0,
                atime: t,
                mtime: t,
                ctime: t,
            }
        }
        FileKind::EventFd(_) | FileKind::Epoll(_) => {
            let t = Timespec { tv_sec: 0, tv_nsec: 0 };
            StatInfo {
                dev: 0xe,
                ino: 1,
                mode: 0o600,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev: 0,
                size: 0,
                blksize: 4096,
                blocks: 0,
                atime: t,
                mtime: t,
                ctime: t,
            }
        }
    }
}

/// fstat(2).
pub fn fstat(p: &mut Process, fd: i32, buf: UAddr) -> SysResult {
    let f = p.fds.get(fd)?;
    let st = Stat::new(&file_stat(&f));
    write_val(&mut p.aspace, buf, &st)?;
    Ok(0)
}

/// What `*stat*at` looks at: `path` relative to `dirfd`, or with AT_EMPTY_PATH and
/// an empty path, `dirfd` itself.
fn stat_target(p: &mut Process, dirfd: i32, path: UAddr, flags: i32) -> Result<StatInfo, Errno> {
    let raw = read_path(&mut p.aspace, path)?;
    if raw.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return Ok(if dirfd == AT_FDCWD {
            stat_info(&fs::resolve(b"/", &p.cwd, true)?.node)
        } else {
            file_stat(&*p.fds.get(dirfd)?)
        });
    }
    Ok(stat_info(&lookup(p, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, false)?.node))
}

/// newfstatat(2) (also stat/lstat).
pub fn fstatat(p: &mut Process, dirfd: i32, path: UAddr, buf: UAddr, flags: i32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800) != 0 {
        return Err(Errno::EINVAL);
    }
    let info = stat_target(p, dirfd, path, flags)?;
    write_val(&mut p.aspace, buf, &Stat::new(&info))?;
    Ok(0)
}

/// statx(2).
pub fn statx(p: &mut Process, dirfd: i32, path: UAddr, flags: i32, _mask: u32, buf: UAddr) -> SysResult {
    let info = stat_target(p, dirfd, path, flags)?;
    write_val(&mut p.aspace, buf, &Statx::new(&info))?;
    Ok(0)
}

/// lseek(2).
pub fn lseek(p: &mut Process, fd: i32, offset: i64, whence: i32) -> SysResult {
    let f = p.fds.get(fd)?;
    let size = match &f.kind {
        FileKind::Node(n) => n.size() as i64,
        _ => return Err(Errno::ESPIPE),
    };
    let mut pos = f.offset.lock();
    let new = match whence {
        0 => Some(offset),
        1 => (*pos as i64).checked_add(offset),
        2 => size.checked_add(offset),
        // SEEK_DATA / SEEK_HOLE: the whole file is data.
        3 if offset < size && offset >= 0 => Some(offset),
        4 if offset < size && offset >= 0 => Some(size),
        3 | 4 => return Err(Errno::ENXIO),
        _ => return Err(Errno::EINVAL),
    }
    .ok_or(Errno::EOVERFLOW)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *pos = new as u64;
    Ok(new as u64)
}

/// getdents64(2): the directory offset counts entries (`.` and `..` first).
pub fn getdents64(p: &mut Process, fd: i32, dirp: UAddr, count: usize) -> SysResult {
    let f = p.fds.get(fd)?;
    let FileKind::Node(n) = &f.kind else { return Err(Errno::ENOTDIR) };
    let NodeKind::Dir(d) = &n.kind else { return Err(Errno::ENOTDIR) };
    let mut entries: Vec<(u64, u8, Vec<u8>)> = alloc::vec![(n.ino, 4, b".".to_vec()), (n.ino, 4, b"..".to_vec())];
    for (name, child) in d.lock().iter() {
        let ty = match child.kind {
            NodeKind::File(_) => 8,
            NodeKind::Dir(_) => 4,
            NodeKind::Symlink(_) => 10,
            NodeKind::Dev(_) => 2,
            NodeKind::Proc(_) => 8,
        };
        entries.push((child.ino, ty, name.clone()));
    }
    let mut pos = f.offset.lock();
    let mut out = Vec::new();
    let mut i = *pos as usize;
    while let Some((ino, ty, name)) = entries.get(i) {
        let len = LinuxDirent64::record_len(name.len()).ok_or(Errno::EINVAL)? as usize;
        if out.len() + len > count {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        LinuxDirent64::push(&mut out, *ino, (i + 1) as i64, *ty, name).ok_or(Errno::EINVAL)?;
        i += 1;
    }
    write_bytes(&mut p.aspace, dirp, &out)?;
    *pos = i as u64;
    Ok(out.len() as u64)
}

/// getcwd(2).
pub fn getcwd(p: &mut Process, buf: UAddr, size: usize) -> SysResult {
    let mut s = p.cwd.clone();
    s.push(0);
    if size < s.len() {
        return Err(Errno::ERANGE);
    }
    write_bytes(&mut p.aspace, buf, &s)?;
    Ok(s.len() as u64)
}

/// chdir(2).
pub fn chdir(p: &mut Process, path: UAddr) -> SysResult {
    let r = lookup(p, AT_FDCWD, path, true, false)?;
    if !r.node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    p.cwd = r.path;
    Ok(0)
}

/// fchdir(2).
pub fn fchdir(p: &mut Process, fd: i32) -> SysResult {
    let f = p.fds.get(fd)?;
    match &f.kind {
        FileKind::Node(n) if n.is_dir() => {
            p.cwd = f.path.clone();
            Ok(0)
        }
        _ => Err(Errno::ENOTDIR),
    }
}

/// mkdirat(2).
pub fn mkdirat(p: &mut Process, dirfd: i32, path: UAddr, mode: u32) -> SysResult {
    let raw = read_path(&mut p.aspace, path)?;
    let base = base_dir(p, dirfd, &raw)?;
    let (parent, name) = fs::resolve_parent(&base, &raw)?;
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    if parent.node.child(&name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let d = Node::new_dir(mode & !p.umask & 0o7777);
    d.meta.lock().mtime = (crate::time::realtime_ns() / 1_000_000_000) as i64;
    parent.node.insert(&name, d)?;
    Ok(0)
}

/// unlinkat(2) (also unlink/rmdir).
pub fn unlinkat(p: &mut Process, dirfd: i32, path: UAddr, flags: i32) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let raw = read_path(&mut p.aspace, path)?;
    let base = base_dir(p, dirfd, &raw)?;
    let (parent, name) = fs::resolve_parent(&base, &raw)?;
    if name == b"." {
        return Err(Errno::EINVAL);
    }
    if name == b".." {
        return Err(Errno::ENOTEMPTY);
    }
    let NodeKind::Dir(d) = &parent.node.kind else { return Err(Errno::ENOTDIR) };
    let mut d = d.lock();
    let child = d.get(name.as_slice()).cloned().ok_or(Errno::ENOENT)?;
    if flags & AT_REMOVEDIR != 0 {
        match &child.kind {
            NodeKind::Dir(c) if !c.lock().is_empty() => return Err(Errno::ENOTEMPTY),
            NodeKind::Dir(_) => {}
            _ => return Err(Errno::ENOTDIR),
        }
    } else if child.is_dir() {
        return Err(Errno::EISDIR);
    }
    d.remove(name.as_slice());
    Ok(0)
}

/// renameat2(2) (flags: RENAME_NOREPLACE only).
pub fn renameat(p: &mut Process, olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr, flags: u32) -> SysResult {
    if flags & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    let oraw = read_path(&mut p.aspace, old)?;
    let nraw = read_path(&mut p.aspace, new)?;
    let obase = base_dir(p, olddirfd, &oraw)?;
    let nbase = base_dir(p, newdirfd, &nraw)?;
    let (op, oname) = fs::resolve_parent(&obase, &oraw)?;
    let (np, nname) = fs::resolve_parent(&nbase, &nraw)?;
    let node = op.node.child(&oname)?;
    if let Ok(existing) = np.node.child(&nname) {
        if flags & 1 != 0 {
            return Err(Errno::EEXIST);
        }
        if Arc::ptr_eq(&existing, &node) {
            return Ok(0);
        }
        match (&existing.kind, node.is_dir()) {
            (NodeKind::Dir(c), true) if !c.lock().is_empty() => return Err(Errno::ENOTEMPTY),
            (NodeKind::Dir(_), false) => return Err(Errno::EISDIR),
            (_, true) if !existing.is_dir() => return Err(Errno::ENOTDIR),
            _ => {}
        }
    }
    // Moving a directory into itself is invalid.
    let mut op_path = op.path.clone();
    if op_path != b"/" {
        op_path.push(b'/');
    }
    op_path.extend_from_slice(&oname);
    if node.is_dir() && (np.path == op_path || np.path.starts_with(&[op_path.as_slice(), b"/"].concat())) {
        return Err(Errno::EINVAL);
    }
    if let NodeKind::Dir(d) = &op.node.kind {
        d.lock().remove(oname.as_slice());
    }
    np.node.insert(&nname, node)?;
    Ok(0)
}

/// symlinkat(2).
pub fn symlinkat(p: &mut Process, target: UAddr, newdirfd: i32, linkpath: UAddr) -> SysResult {
    let t = read_path(&mut p.aspace, target)?;
    if t.is_empty() {
        return Err(Errno::ENOENT);
    }
    let raw = read_path(&mut p.aspace, linkpath)?;
    let base = base_dir(p, newdirfd, &raw)?;
    let (parent, name) = fs::resolve_parent(&base, &raw)?;
    if parent.node.child(&name).is_ok() {
        return Err(Errno::EEXIST);
    }
    parent.node.insert(&name, Node::new(NodeKind::Symlink(t), 0o777))?;
    Ok(0)
}

/// readlinkat(2).
pub fn readlinkat(p: &mut Process, dirfd: i32, path: UAddr, buf: UAddr, size: usize) -> SysResult {
    if (size as isize) <= 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(p, dirfd, path, false, true)?;
    let NodeKind::Symlink(t) = &r.node.kind else { return Err(Errno::EINVAL) };
    let n = t.len().min(size);
    write_bytes(&mut p.aspace, buf, t.get(..n).unwrap_or(&[]))?;
    Ok(n as u64)
}

/// faccessat2(2): root may do anything but execute files without any x bit.
pub fn faccessat(p: &mut Process, dirfd: i32, path: UAddr, mode: i32, flags: i32) -> SysResult {
    if mode & !7 != 0 || flags & !(0x200 | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(p, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    if mode & 1 != 0 {
        let m = r.node.meta.lock().mode;
        if m & S_IFMT != S_IFDIR && m & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
    }
    Ok(0)
}

/// fcntl(2).
pub fn fcntl(p: &mut Process, fd: i32, cmd: i32, arg: u64) -> SysResult {
    match cmd {
        0 | 1030 => {
            // F_DUPFD, F_DUPFD_CLOEXEC
            let f = p.fds.get(fd)?;
            let min = usize::try_from(arg as i32).map_err(|_| Errno::EINVAL)?;
            if min >= crate::fs::file::NOFILE {
                return Err(Errno::EINVAL);
            }
            Ok(p.fds.install_from(min, f, cmd == 1030)? as u64)
        }
        1 => Ok(u64::from(p.fds.slot_mut(fd)?.cloexec)),
        2 => {
            p.fds.slot_mut(fd)?.cloexec = arg & 1 != 0;
            Ok(0)
        }
        3 => {
            let f = p.fds.get(fd)?;
            let fl = *f.flags.lock();
            Ok(u64::from(fl | if matches!(f.kind, FileKind::Node(_)) { 0o100000 } else { 0 }))
        }
        4 => {
            let f = p.fds.get(fd)?;
            let mut fl = f.flags.lock();
            let changeable = O_APPEND | O_NONBLOCK | 0o40000 | 0o1000000 | 0o20000;
            *fl = (*fl & !changeable) | (arg as u32 & changeable);
            Ok(0)
        }
        5..=7 | 36..=38 => {
            // Record locks: a single process never conflicts with itself.
            p.fds.get(fd)?;
            if cmd == 5 || cmd == 36 {
                // F_GETLK: report F_UNLCK (l_type is the first short of struct flock).
                write_val(&mut p.aspace, UAddr(arg), &2u16)?;
            }
            Ok(0)
        }
        1031 => {
            // F_GETPIPE_SZ
            p.fds.get(fd)?;
            Err(Errno::EBADF)
        }
        9 => p.fds.get(fd).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// dup(2).
pub fn dup(p: &mut Process, fd: i32) -> SysResult {
    let f = p.fds.get(fd)?;
    Ok(p.fds.install(f, false)? as u64)
}

/// dup2(2)/dup3(2).
pub fn dup3(p: &mut Process, oldfd: i32, newfd: i32, flags: i32, is_dup2: bool) -> SysResult {
    let f = p.fds.get(oldfd)?;
    if oldfd == newfd {
        return if is_dup2 { Ok(newfd as u64) } else { Err(Errno::EINVAL) };
    }
    if flags & !(O_CLOEXEC as i32) != 0 {
        return Err(Errno::EINVAL);
    }
    p.fds.install_at(newfd, f, flags != 0)?;
    Ok(newfd as u64)
}

/// ioctl(2): terminal queries on the console, FIONBIO/FIOCLEX everywhere.
pub fn ioctl(p: &mut Process, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let f = p.fds.get(fd)?;
    match cmd {
        0x5421 => {
            // FIONBIO
            let v: i32 = read_val(&mut p.aspace, UAddr(arg))?;
            let mut fl = f.flags.lock();
            if v != 0 {
                *fl |= O_NONBLOCK;
            } else {
                *fl &= !O_NONBLOCK;
            }
            return Ok(0);
        }
        0x5451 => {
            p.fds.slot_mut(fd)?.cloexec = true;
            return Ok(0);
        }
        0x5450 => {
            p.fds.slot_mut(fd)?.cloexec = false;
            return Ok(0);
        }
        _ => {}
    }
    if cmd == 0x541b {
        // FIONREAD
        let n: i32 = match &f.kind {
            FileKind::PipeRead(pp) => pp.available() as i32,
            FileKind::Node(n) => {
                let size = n.size() as i64;
                (size - *f.offset.lock() as i64).clamp(0, i32::MAX as i64) as i32
            }
            FileKind::ConsoleIn => i32::from(elfin_plat::console::input_ready()),
            _ => return Err(Errno::ENOTTY),
        };
        write_val(&mut p.aspace, UAddr(arg), &n)?;
        return Ok(0);
    }
    let is_console = matches!(f.kind, FileKind::ConsoleIn | FileKind::ConsoleOut(_));
    if !(is_console && f.tty) {
        return Err(Errno::ENOTTY);
    }
    match cmd {
        0x5401 => {
            // TCGETS: a cooked terminal as a fresh Linux pty has it.
            let mut t =
                Termios { c_iflag: 0o2400, c_oflag: 0o5, c_cflag: 0o277, c_lflag: 0o105073, ..Default::default() };
            let cc = [3u8, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0];
            t.c_cc.copy_from_slice(&cc);
            write_val(&mut p.aspace, UAddr(arg), &t)?;
            Ok(0)
        }
        0x5402..=0x5404 => {
            let _t: Termios = read_val(&mut p.aspace, UAddr(arg))?;
            Ok(0)
        }
        0x5413 => {
            let ws = Winsize { ws_row: p.winsize.0, ws_col: p.winsize.1, ws_xpixel: 0, ws_ypixel: 0 };
            write_val(&mut p.aspace, UAddr(arg), &ws)?;
            Ok(0)
        }
        0x5414 => {
            let ws: Winsize = read_val(&mut p.aspace, UAddr(arg))?;
            p.winsize = (ws.ws_row, ws.ws_col);
            Ok(0)
        }
        0x540f => {
            write_val(&mut p.aspace, UAddr(arg), &p.pid)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

fn do_poll(p: &mut Process, fds: UAddr, nfds: u32, timeout_ns: Option<u64>) -> SysResult {
    if nfds as usize > crate::fs::file::NOFILE {
        return Err(Errno::EINVAL);
    }
    let mut list: Vec<Pollfd> = Vec::new();
    for i in 0..u64::from(nfds) {
        list.push(read_val(&mut p.aspace, UAddr(fds.0 + i * 8))?);
    }
    let deadline = restart_deadline(p, timeout_ns);
    let mut ready = 0;
    for pf in list.iter_mut() {
        pf.revents = 0;
        if pf.fd < 0 {
            continue;
        }
        pf.revents = match p.fds.get(pf.fd) {
            Ok(f) => (ipc::readiness(&f) & (pf.events as u16 as u32 | ipc::POLLERR | ipc::POLLHUP)) as i16,
            Err(_) => 0x20, // POLLNVAL
        };
        if pf.revents != 0 {
            ready += 1;
        }
    }
    let expired = deadline.map(|d| crate::time::monotonic_ns() >= d).unwrap_or(false);
    if ready == 0 && !expired {
        p.block = Some((crate::sched::WaitOn::Poll, deadline));
        return Err(Errno::EAGAIN);
    }
    for (i, pf) in list.iter().enumerate() {
        write_val(&mut p.aspace, UAddr(fds.0 + i as u64 * 8), pf)?;
    }
    Ok(ready)
}

/// The absolute deadline of a possibly restarted call: computed on the first try,
/// kept across restarts.
fn restart_deadline(_p: &mut Process, timeout_ns: Option<u64>) -> Option<u64> {
    let t = timeout_ns?;
    // Per thread: other threads' calls must not move this call's deadline.
    Some(crate::sched::with_current(|th| {
        *th.restart_deadline.get_or_insert_with(|| crate::time::monotonic_ns().saturating_add(t))
    }))
}

/// poll(2).
pub fn poll(p: &mut Process, fds: UAddr, nfds: u32, timeout_ms: i64) -> SysResult {
    let t = if timeout_ms < 0 { None } else { Some(timeout_ms as u64 * 1_000_000) };
    do_poll(p, fds, nfds, t)
}

/// ppoll(2).
pub fn ppoll(p: &mut Process, fds: UAddr, nfds: u32, timeout: UAddr) -> SysResult {
    let t = if timeout.is_null() {
        None
    } else {
        let ts: Timespec = read_val(&mut p.aspace, timeout)?;
        Some(ts.as_nanos().ok_or(Errno::EINVAL)?)
    };
    do_poll(p, fds, nfds, t)
}

fn truncate_node(n: &Node, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    match &n.kind {
        NodeKind::File(c) => {
            let len = usize::try_from(length).map_err(|_| Errno::EFBIG)?;
            let mut c = c.lock();
            let v = c.make_mut();
            v.try_reserve(len.saturating_sub(v.len())).map_err(|_| Errno::ENOSPC)?;
            v.resize(len, 0);
            Ok(0)
        }
        NodeKind::Dir(_) => Err(Errno::EISDIR),
        _ => Err(Errno::EINVAL),
    }
}

/// ftruncate(2).
pub fn ftruncate(p: &mut Process, fd: i32, length: i64) -> SysResult {
    let f = p.fds.get(fd)?;
    match &f.kind {
        FileKind::Node(n) => {
            if *f.flags.lock() & O_ACCMODE == 0 {
                return Err(Errno::EINVAL);
            }
            truncate_node(n, length)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// truncate(2).
pub fn truncate(p: &mut Process, path: UAddr, length: i64) -> SysResult {
    let r = lookup(p, AT_FDCWD, path, true, false)?;
    truncate_node(&r.node, length)
}

/// fchmodat(2).
pub fn fchmodat(p: &mut Process, dirfd: i32, path: UAddr, mode: u32) -> SysResult {
    let r = lookup(p, dirfd, path, true, false)?;
    let mut m = r.node.meta.lock();
    m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
    Ok(0)
}

fn chown_node(n: &Node, uid: u32, gid: u32) {
    let mut m = n.meta.lock();
    if uid != u32::MAX {
        m.uid = uid;
    }
    if gid != u32::MAX {
        m.gid = gid;
    }
    // Changing the owner clears set-user-ID and set-group-ID on non-directories.
    if m.mode & S_IFMT != S_IFDIR && (uid != u32::MAX || gid != u32::MAX) {
        m.mode &= !0o6000;
    }
}

/// fchownat(2) (also chown/lchown); the program runs as root, so any owner is allowed.
pub fn fchownat(p: &mut Process, dirfd: i32, path: UAddr, uid: u32, gid: u32, flags: i32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(p, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    chown_node(&r.node, uid, gid);
    Ok(0)
}

/// fchown(2).
pub fn fchown(p: &mut Process, fd: i32, uid: u32, gid: u32) -> SysResult {
    let f = p.fds.get(fd)?;
    if let FileKind::Node(n) = &f.kind {
        chown_node(n, uid, gid);
    }
    Ok(0)
}

/// fchmod(2).
pub fn fchmod(p: &mut Process, fd: i32, mode: u32) -> SysResult {
    let f = p.fds.get(fd)?;
    if let FileKind::Node(n) = &f.kind {
        let mut m = n.meta.lock();
        m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
    }
    Ok(0)
}

/// sendfile(2).
pub fn sendfile(p: &mut Process, out_fd: i32, in_fd: i32, offset: UAddr, count: usize) -> SysResult {
    let inf = p.fds.get(in_fd)?;
    let outf = p.fds.get(out_fd)?;
    let mut off: Option<u64> = if offset.is_null() {
        None
    } else {
        let o: i64 = read_val(&mut p.aspace, offset)?;
        if o < 0 {
            return Err(Errno::EINVAL);
        }
        Some(o as u64)
    };
    let mut buf = alloc::vec![0u8; count.min(CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = buf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let n = inf.read(chunk, off)?;
        if n == 0 {
            break;
        }
        outf.write(chunk.get(..n).ok_or(Errno::EFAULT)?, None)?;
        done += n;
        if let Some(o) = off.as_mut() {
            *o += n as u64;
        }
    }
    if let Some(o) = off {
        write_val(&mut p.aspace, offset, &(o as i64))?;
    }
    Ok(done as u64)
}

fn install_pair(p: &mut Process, fds: UAddr, flags: i32) -> SysResult {
    if flags as u32 & !(O_CLOEXEC | O_NONBLOCK | 0o40000) != 0 {
        return Err(Errno::EINVAL);
    }
    let pipe = ipc::Pipe::new();
    let nb = flags as u32 & O_NONBLOCK;
    let r = OpenFile::new(FileKind::PipeRead(pipe.clone()), nb, Vec::new());
    let w = OpenFile::new(FileKind::PipeWrite(pipe), 1 | nb, Vec::new());
    let cloexec = flags as u32 & O_CLOEXEC != 0;
    let rfd = p.fds.install(r, cloexec)?;
    let wfd = match p.fds.install(w, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = p.fds.close(rfd);
            return Err(e);
        }
    };
    if let Err(e) = write_val(&mut p.aspace, fds, &[rfd, wfd]) {
        let _ = p.fds.close(rfd);
        let _ = p.fds.close(wfd);
        return Err(e);
    }
    Ok(0)
}

/// pipe2(2).
pub fn pipe2(p: &mut Process, fds: UAddr, flags: i32) -> SysResult {
    install_pair(p, fds, flags)
}

/// eventfd2(2).
pub fn eventfd2(p: &mut Process, initval: u32, flags: i32) -> SysResult {
    const EFD_SEMAPHORE: u32 = 1;
    let f = flags as u32;
    if f & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = ipc::EventFd::new(initval, f & EFD_SEMAPHORE != 0);
    let file = OpenFile::new(FileKind::EventFd(e), 2 | (f & O_NONBLOCK), Vec::new());
    Ok(p.fds.install(file, f & O_CLOEXEC != 0)? as u64)
}

/// epoll_create1(2).
pub fn epoll_create1(p: &mut Process, flags: i32) -> SysResult {
    if flags as u32 & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new(FileKind::Epoll(ipc::Epoll::new()), 2, Vec::new());
    Ok(p.fds.install(file, flags as u32 & O_CLOEXEC != 0)? as u64)
}

/// epoll_ctl(2).
pub fn epoll_ctl(p: &mut Process, epfd: i32, op: i32, fd: i32, event: UAddr) -> SysResult {
    let ep = p.fds.get(epfd)?;
    let target = p.fds.get(fd)?;
    let FileKind::Epoll(e) = &ep.kind else { return Err(Errno::EINVAL) };
    if epfd == fd {
        return Err(Errno::EINVAL);
    }
    let (events, data) = if op == 2 {
        (0, 0)
    } else {
        let ev: EpollEvent = read_val(&mut p.aspace, event)?;
        let (events, data) = (ev.events, ev.data);
        (events, data)
    };
    e.ctl(op, fd, &target, events, data)?;
    Ok(0)
}

/// epoll_wait(2) / epoll_pwait(2) (the signal mask argument is not applied).
pub fn epoll_wait(p: &mut Process, epfd: i32, events: UAddr, maxevents: i32, timeout_ns: Option<u64>) -> SysResult {
    let ep = p.fds.get(epfd)?;
    let FileKind::Epoll(e) = &ep.kind else { return Err(Errno::EINVAL) };
    if maxevents <= 0 || maxevents as usize > (i32::MAX as usize) / core::mem::size_of::<EpollEvent>() {
        return Err(Errno::EINVAL);
    }
    let deadline = restart_deadline(p, timeout_ns);
    let ready = e.collect(maxevents as usize);
    let expired = deadline.map(|d| crate::time::monotonic_ns() >= d).unwrap_or(false);
    if ready.is_empty() && !expired {
        p.block = Some((crate::sched::WaitOn::Poll, deadline));
        return Err(Errno::EAGAIN);
    }
    let size = core::mem::size_of::<EpollEvent>() as u64;
    for (i, (ev, data)) in ready.iter().enumerate() {
        write_val(&mut p.aspace, UAddr(events.0 + i as u64 * size), &EpollEvent::new(*ev, *data))?;
    }
    Ok(ready.len() as u64)
}

/// close_range(2).
pub fn close_range(p: &mut Process, first: u32, last: u32, flags: u32) -> SysResult {
    const UNSHARE: u32 = 2;
    const CLOEXEC: u32 = 4;
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let last = last.min(crate::fs::file::NOFILE as u32 - 1);
    for fd in first..=last {
        let fd = fd as i32;
        if flags & CLOEXEC != 0 {
            if let Ok(slot) = p.fds.slot_mut(fd) {
                slot.cloexec = true;
            }
        } else {
            let _ = p.fds.close(fd);
        }
    }
    Ok(0)
}

/// statfs(2)/fstatfs(2): everything lives in one RAM filesystem (reported as tmpfs).
pub fn statfs(p: &mut Process, path: Option<UAddr>, fd: i32, buf: UAddr) -> SysResult {
    match path {
        Some(path) => {
            lookup(p, AT_FDCWD, path, true, false)?;
        }
        None => {
            p.fds.get(fd)?;
        }
    }
    let total = crate::mem::frames::total_count() as u64;
    let free = crate::mem::frames::free_count() as u64;
    let st = elfin_shim::uapi::Statfs {
        f_type: 0x0102_1994, // TMPFS_MAGIC
        f_bsize: 4096,
        f_blocks: total,
        f_bfree: free,
        f_bavail: free,
        f_files: total,
        f_ffree: free,
        f_namelen: 255,
        f_frsize: 4096,
        f_flags: 0x20, // ST_RELATIME
        ..Default::default()
    };
    write_val(&mut p.aspace, buf, &st)?;
    Ok(0)
}

/// utimensat(2): sets the modification time kept by the ramfs (access times are
/// not kept).
pub fn utimensat(p: &mut Process, dirfd: i32, path: UAddr, times: UAddr, flags: i32) -> SysResult {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let now = (crate::time::realtime_ns() / 1_000_000_000) as i64;
    let mtime = if times.is_null() {
        Some(now)
    } else {
        let ts: [Timespec; 2] = read_val(&mut p.aspace, times)?;
        for t in &ts {
            if t.tv_nsec != UTIME_NOW && t.tv_nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&t.tv_nsec) {
                return Err(Errno::EINVAL);
            }
        }
        match ts[1].tv_nsec {
            UTIME_OMIT => None,
            UTIME_NOW => Some(now),
            _ => Some(ts[1].tv_sec),
        }
    };
    let node = if path.is_null() {
        // Linux's futimens(): utimensat(fd, NULL, …).
        match &p.fds.get(dirfd)?.kind {
            FileKind::Node(n) => n.clone(),
            _ => return Ok(0),
        }
    } else {
        lookup(p, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?.node
    };
    if let Some(m) = mtime {
        node.meta.lock().mtime = m;
    }
    Ok(0)
}

/// fallocate(2): allocation (mode 0, FALLOC_FL_KEEP_SIZE), hole punching and range
/// zeroing; a RAM file has no holes, so punched ranges read back as zeros.
pub fn fallocate(p: &mut Process, fd: i32, mode: i32, offset: i64, len: i64) -> SysResult {
    const KEEP_SIZE: i32 = 1;
    const PUNCH_HOLE: i32 = 2;
    const ZERO_RANGE: i32 = 0x10;
    let f = p.fds.get(fd)?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if *f.flags.lock() & O_ACCMODE == 0 {
        return Err(Errno::EBADF);
    }
    let FileKind::Node(n) = &f.kind else { return Err(Errno::ESPIPE) };
    let NodeKind::File(c) = &n.kind else { return Err(Errno::ENODEV) };
    if !matches!(mode, 0 | KEEP_SIZE | 3 | ZERO_RANGE | 0x11) {
        return Err(if mode & PUNCH_HOLE != 0 && mode & KEEP_SIZE == 0 { Errno::EINVAL } else { Errno::EOPNOTSUPP });
    }
    let end = usize::try_from(offset.checked_add(len).ok_or(Errno::EFBIG)?).map_err(|_| Errno::EFBIG)?;
    let start = offset as usize;
    let mut c = c.lock();
    let v = c.make_mut();
    if mode & KEEP_SIZE == 0 && end > v.len() {
        v.try_reserve(end - v.len()).map_err(|_| Errno::ENOSPC)?;
        v.resize(end, 0);
    }
    if mode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
        let e = end.min(v.len());
        if let Some(r) = v.get_mut(start.min(e)..e) {
            r.fill(0);
        }
    }
    drop(c);
    crate::mem::vm::file_written(n, offset as u64, end as u64);
    Ok(0)
}

/// memfd_create(2): an anonymous RAM file.
pub fn memfd_create(p: &mut Process, name: UAddr, flags: u32) -> SysResult {
    const MFD_CLOEXEC: u32 = 1;
    const MFD_ALLOW_SEALING: u32 = 2;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING) != 0 {
        return Err(Errno::EINVAL);
    }
    let n = crate::uaccess::read_cstr(&mut p.aspace, name, 249).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    let node = Node::new(NodeKind::File(Mutex::new(Content::Owned(Vec::new()))), 0o777);
    let mut path = b"/memfd:".to_vec();
    path.extend_from_slice(&n);
    path.extend_from_slice(b" (deleted)");
    let file = OpenFile::new(FileKind::Node(node), 2, path);
    Ok(p.fds.install(file, flags & MFD_CLOEXEC != 0)? as u64)
}
