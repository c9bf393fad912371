//! File-system system calls.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::native::{open_flags as arch_o, EpollEvent, Stat};
use elfin_shim::uapi::rename::*;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{LinuxDirent64, Pollfd, StatInfo};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::epoll::Epoll;
use crate::fs::file::{
    FileLike, InodeFile, OpenFile, O_ACCMODE, O_APPEND, O_ASYNC, O_NONBLOCK, O_PATH, POLLERR, POLLHUP, POLLNVAL,
};
use crate::fs::pipe::{Pipe, PipeEnd};
use crate::fs::{self, is_dir, ramfs, Fixed, Inode, NewNode, Resolved};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
const AT_REMOVEDIR: i32 = 0x200;
const AT_SYMLINK_FOLLOW: i32 = 0x400;
const AT_EMPTY_PATH: i32 = 0x1000;

const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_TRUNC: u32 = 0o1000;
const O_CLOEXEC: u32 = 0o2000000;

/// Largest chunk moved through a kernel buffer at once.
pub(super) const CHUNK: usize = super::bounce::SIZE;

impl Ctx {
    /// Gives a node the caller just created its filesystem user and group ids.
    fn own(&self, node: &Arc<dyn Inode>) {
        let (u, g) = {
            let c = self.proc.cred.lock();
            (c.uid[3], c.gid[3])
        };
        if u != 0 || g != 0 {
            let _ = node.set_meta(&mut |m| {
                m.uid = u;
                m.gid = g;
            });
        }
    }
    /// The descriptor limit (RLIMIT_NOFILE).
    pub fn nofile(&self) -> usize {
        self.proc.rlimit(7).min(crate::fs::file::NR_OPEN as u64) as usize
    }
    /// Installs `file` at the lowest free descriptor.
    pub fn install(&self, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        let limit = self.nofile();
        self.files().lock().install_from(0, file, cloexec, limit)
    }
}

/// The directory a `*at` call resolves `path` from.
pub fn base_dir(cx: &Ctx, dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(cx.cwd());
    }
    let f = cx.fd(dirfd)?;
    match f.inode() {
        Some(n) if is_dir(&*n) => Ok(f.path.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

pub(super) fn lookup(cx: &Ctx, dirfd: i32, path: UAddr, follow: bool, allow_empty: bool) -> Result<Resolved, Errno> {
    let path = cx.read_path(path)?;
    if path.is_empty() {
        if allow_empty {
            if dirfd == AT_FDCWD {
                // The working directory itself.
                return cx.resolve(&cx.cwd(), b".", follow);
            }
            let f = cx.fd(dirfd)?;
            return match f.inode() {
                Some(node) => Ok(Resolved { node, path: f.path.clone() }),
                None => Err(Errno::EBADF),
            };
        }
        return Err(Errno::ENOENT);
    }
    let base = base_dir(cx, dirfd, &path)?;
    cx.resolve(&base, &path, follow)
}

pub(super) fn regular(f: &OpenFile) -> bool {
    f.inode().map(|n| n.meta().mode & S_IFMT == S_IFREG).unwrap_or(false)
}

/// read(2) and pread64: `off` None uses and advances the file position.
pub fn read(cx: &Ctx, fd: i32, buf: UAddr, count: usize, off: Option<u64>) -> SysResult {
    let f = cx.fd(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if count == 0 {
        return Ok(0);
    }
    let count = count.min(super::xfer::MAX_RW_COUNT as usize);
    // Check the buffer first: data taken from a pipe or the console must not be lost.
    if !cx.mm().check_access(buf.0, count.min(CHUNK) as u64, true) {
        return Err(Errno::EFAULT);
    }
    let mut done = 0usize;
    let mut kbuf = super::bounce::take(count.min(CHUNK))?;
    // Files with positions (regular files, devices such as /dev/zero, /proc files)
    // fill the whole request, as on Linux; pipes, the console and sockets return
    // what they have.
    let many = regular(&f) || f.file.seekable();
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = kbuf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let r = match off {
            Some(o) => f.file.pread(chunk, o + done as u64),
            None => f.file.read(cx, &f, chunk),
        };
        let n = match r {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        if let Err(e) = cx.write_bytes(UAddr(buf.0 + done as u64), chunk.get(..n).ok_or(Errno::EFAULT)?) {
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += n;
        if n < want || !many {
            break;
        }
    }
    if done > 0 {
        accessed(&f);
    }
    Ok(done as u64)
}

/// A read of `f` happened: the access time (relatime) and IN_ACCESS.
pub(super) fn accessed(f: &OpenFile) {
    if let Some(n) = f.inode() {
        if fs::ftype(&*n) == S_IFREG && !n.host_times() {
            let _ = n.set_meta(&mut |m| m.touch_atime());
        }
        crate::fs::inotify::event(&n, Some(&f.path), crate::fs::inotify::IN_ACCESS);
    }
}

/// A write to `f` happened: IN_MODIFY.
pub(super) fn modified(f: &OpenFile) {
    if let Some(n) = f.inode() {
        crate::fs::inotify::event(&n, Some(&f.path), crate::fs::inotify::IN_MODIFY);
    }
}

/// write(2) and pwrite64.
pub fn write(cx: &Ctx, fd: i32, buf: UAddr, count: usize, off: Option<u64>) -> SysResult {
    let f = cx.fd(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    // RLIMIT_FSIZE cuts the whole write at once (a write that only reaches the
    // limit is short, without SIGXFSZ). Without a limit the file's size is not
    // asked (a round trip to the host for a volume's file).
    let mut count = count.min(super::xfer::MAX_RW_COUNT as usize);
    if count > 0 && crate::task::rlimit::fsize_limited() && regular(&f) {
        let size = f.inode().map(|n| n.size()).unwrap_or(0);
        let start = if f.flags() & O_APPEND != 0 { size } else { off.unwrap_or_else(|| *f.offset.lock()) };
        count = crate::task::rlimit::fsize_check(start, count as u64)? as usize;
    }
    let mut done = 0usize;
    let mut kbuf = super::bounce::take(count.min(CHUNK))?;
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = kbuf.get_mut(..want).ok_or(Errno::EFAULT)?;
        if let Err(e) = cx.read_bytes(UAddr(buf.0 + done as u64), chunk) {
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        let r = match off {
            Some(o) => f.file.pwrite(&f, chunk, o + done as u64),
            None => f.file.write(cx, &f, chunk),
        };
        let n = match r {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += n;
        if n < want {
            break;
        }
    }
    if done > 0 {
        modified(&f);
    }
    Ok(done as u64)
}

/// pread64/pwrite64.
pub fn pread(cx: &Ctx, fd: i32, buf: UAddr, count: usize, offset: i64, is_write: bool) -> SysResult {
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    if is_write {
        write(cx, fd, buf, count, Some(offset as u64))
    } else {
        read(cx, fd, buf, count, Some(offset as u64))
    }
}

/// openat(2).
pub fn openat(cx: &Ctx, dirfd: i32, path: UAddr, flags: i32, mode: u32) -> SysResult {
    let path_bytes = cx.read_path(path)?;
    open_path(cx, dirfd, &path_bytes, flags as u32, mode)
}

/// openat2(2): openat with every argument checked (unknown flags, a mode without
/// O_CREAT or O_TMPFILE, unknown RESOLVE_* flags are EINVAL; a `struct open_how`
/// of another size is read as Linux's copy_struct_from_user reads it) and the
/// walk restricted by the RESOLVE_* flags.
pub fn openat2(cx: &Ctx, dirfd: i32, path: UAddr, how: UAddr, size: usize) -> SysResult {
    const OPEN_HOW_SIZE_VER0: usize = 24;
    const RESOLVE_NO_XDEV: u64 = 0x01;
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_NO_SYMLINKS: u64 = 0x04;
    const RESOLVE_BENEATH: u64 = 0x08;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    const RESOLVE_CACHED: u64 = 0x20;
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > elfin_arch::PAGE_SIZE as usize {
        return Err(Errno::E2BIG);
    }
    let mut raw = [0u8; OPEN_HOW_SIZE_VER0];
    cx.read_bytes(how, &mut raw)?;
    // A larger struct from a newer program is fine when its extra bytes are zero.
    if size > OPEN_HOW_SIZE_VER0 {
        let mut rest = alloc::vec![0u8; size - OPEN_HOW_SIZE_VER0];
        cx.read_bytes(UAddr(how.0 + OPEN_HOW_SIZE_VER0 as u64), &mut rest)?;
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let word = |i: usize| raw.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
    let (flags, mode, resolve) = (word(0), word(1), word(2));
    let valid_flags = u64::from(
        O_ACCMODE
            | O_CREAT
            | O_EXCL
            | 0o400 /* O_NOCTTY */
            | O_TRUNC
            | O_APPEND
            | O_NONBLOCK
            | 0o10000 /* O_DSYNC */
            | 0o4000000 /* __O_SYNC */
            | 0o20000 /* FASYNC */
            | arch_o::O_DIRECT
            | arch_o::O_LARGEFILE
            | arch_o::O_DIRECTORY
            | arch_o::O_NOFOLLOW
            | 0o1000000 /* O_NOATIME */
            | O_CLOEXEC
            | O_PATH
            | arch_o::__O_TMPFILE,
    );
    let all_resolve = RESOLVE_NO_XDEV
        | RESOLVE_NO_MAGICLINKS
        | RESOLVE_NO_SYMLINKS
        | RESOLVE_BENEATH
        | RESOLVE_IN_ROOT
        | RESOLVE_CACHED;
    if flags & !valid_flags != 0 || resolve & !all_resolve != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) == RESOLVE_BENEATH | RESOLVE_IN_ROOT {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    let creates = flags & O_CREAT != 0 || flags & arch_o::__O_TMPFILE != 0;
    if (creates && mode & !0o7777 != 0) || (!creates && mode != 0) {
        return Err(Errno::EINVAL);
    }
    if flags & arch_o::O_DIRECTORY != 0 && flags & O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_CACHED != 0 && flags & (O_TRUNC | O_CREAT | arch_o::__O_TMPFILE) != 0 {
        return Err(Errno::EAGAIN);
    }
    let path_bytes = cx.read_path(path)?;
    let r = fs::Restrict {
        no_xdev: resolve & RESOLVE_NO_XDEV != 0,
        no_magiclinks: resolve & RESOLVE_NO_MAGICLINKS != 0,
        no_symlinks: resolve & RESOLVE_NO_SYMLINKS != 0,
        beneath: resolve & RESOLVE_BENEATH != 0,
        in_root: resolve & RESOLVE_IN_ROOT != 0,
        search: !crate::task::searches_anywhere(),
    };
    if resolve & !RESOLVE_CACHED == 0 || path_bytes.is_empty() {
        return open_path(cx, dirfd, &path_bytes, flags, mode as u32);
    }
    // The walk is checked first; the open then goes by the canonical path it found.
    // A scoped walk starts at `dirfd` even for an absolute path.
    let start = if r.beneath || r.in_root { base_dir(cx, dirfd, b".")? } else { base_dir(cx, dirfd, &path_bytes)? };
    let follow = flags & arch_o::O_NOFOLLOW == 0 && flags & arch_o::__O_TMPFILE == 0;
    let root = cx.root();
    let canonical = fs::resolve_restricted(&root, &start, &path_bytes, follow, r)?;
    // The open below resolves from the caller's root directory: the path found
    // is made relative to it (a path outside it, reached from a descriptor
    // opened before chroot, is left as it is).
    let canonical = fs::in_root(&root, &canonical).unwrap_or(canonical);
    // A trailing slash keeps its meaning (a directory is wanted).
    let canonical = if path_bytes.last() == Some(&b'/') && canonical.last() != Some(&b'/') {
        let mut c = canonical;
        c.push(b'/');
        c
    } else {
        canonical
    };
    open_path(cx, AT_FDCWD, &canonical, flags, mode as u32)
}

/// openat(2) of `path_bytes`, read from the caller already.
fn open_path(cx: &Ctx, dirfd: i32, path_bytes: &[u8], flags: u32, mode: u32) -> SysResult {
    // Linux 6.4 on: O_DIRECTORY|O_CREAT is EINVAL, before any lookup (it used to
    // create a regular file).
    if flags & arch_o::O_DIRECTORY != 0 && flags & O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    let path_bytes = path_bytes.to_vec();
    if path_bytes.is_empty() {
        return Err(Errno::ENOENT);
    }
    if flags & arch_o::__O_TMPFILE != 0 {
        return tmpfile(cx, dirfd, &path_bytes, flags, mode);
    }
    let base = base_dir(cx, dirfd, &path_bytes)?;
    let follow = flags & arch_o::O_NOFOLLOW == 0;
    let umask = cx.fs().lock().umask;
    let mut created = false;
    let r = match cx.resolve(&base, &path_bytes, follow) {
        Ok(r) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            r
        }
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let (parent, name) = cx.resolve_parent(&base, &path_bytes)?;
            if name.is_empty() || path_bytes.last() == Some(&b'/') {
                return Err(Errno::EISDIR);
            }
            // With O_EXCL the final link itself is in the way (EEXIST).
            let (parent, name) =
                if follow && flags & O_EXCL == 0 { through_dangling_links(cx, parent, name)? } else { (parent, name) };
            super::fsx::may_create_kind(cx, &parent.node, &name, S_IFREG)?;
            let node = parent.node.create(&name, NewNode::File, mode & !umask & 0o7777)?;
            cx.own(&node);
            crate::fs::inotify::created(&parent.node, &name, &node);
            created = true;
            Resolved { node, path: fs::child_path(&parent.path, &name) }
        }
        Err(e) => return Err(e),
    };
    let ty = fs::ftype(&*r.node);
    if ty == S_IFLNK && flags & O_PATH == 0 {
        return Err(Errno::ELOOP);
    }
    if flags & arch_o::O_DIRECTORY != 0 && ty != S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & O_ACCMODE;
    if ty == S_IFDIR && (acc != 0 || flags & O_CREAT != 0) && flags & O_PATH == 0 {
        return Err(Errno::EISDIR);
    }
    // The access the open asks for, as Linux's may_open: read, write or both
    // (O_ACCMODE 3 too), write for O_TRUNC; none for O_PATH or a file this open
    // created.
    if flags & O_PATH == 0 && !created {
        let mask = match acc {
            0 => 4,
            1 => 2,
            _ => 6,
        } | if flags & O_TRUNC != 0 { 2 } else { 0 };
        if !r.node.open_to_caller() && !super::fsx::may_access(cx, &r.node.meta(), mask) {
            return Err(Errno::EACCES);
        }
    }
    let file: Arc<dyn FileLike> = if flags & O_PATH != 0 {
        InodeFile::path_only(r.node.clone())
    } else if let Some(fifo) = r.node.fifo() {
        crate::fs::fifo::open(cx, r.node.clone(), fifo, flags)?
    } else {
        r.node.clone().open(flags)?
    };
    if flags & O_TRUNC != 0 && acc != 0 && ty == S_IFREG && flags & O_PATH == 0 {
        crate::task::rlimit::fsize_grow(0)?;
        // The file itself: a /proc/PID/fd link resolves to a node that reopens it.
        let n = file.inode().unwrap_or_else(|| r.node.clone());
        crate::fs::seals::check_resize(&*n, 0)?;
        n.truncate(0)?;
        if !n.host_times() {
            let _ = n.set_meta(&mut |m| m.touch_mtime());
        }
        crate::mem::vm::file_written(&n, 0, u64::MAX / 2);
    }
    // What F_GETFL reports: the open flags but for the ones that only acted at
    // open time (Linux's do_dentry_open and build_open_flags); O_PATH keeps only
    // O_DIRECTORY and O_NOFOLLOW.
    let keep = if flags & O_PATH != 0 { O_PATH | arch_o::O_DIRECTORY | arch_o::O_NOFOLLOW } else { KEPT_OPEN_FLAGS };
    if flags & O_PATH == 0 {
        crate::fs::inotify::event(&r.node, Some(&r.path), crate::fs::inotify::IN_OPEN);
    }
    let of = OpenFile::new(file, flags & keep, r.path);
    Ok(cx.install(of, flags & O_CLOEXEC != 0)? as u64)
}

/// Where O_CREAT makes the file `name` of `parent` names: a dangling symbolic
/// link there is followed, through a chain of them, to the name its target
/// would have (Linux's open_last_lookups). ELOOP after 40 links, EISDIR for a
/// target ending in a slash.
fn through_dangling_links(cx: &Ctx, mut parent: Resolved, mut name: Vec<u8>) -> Result<(Resolved, Vec<u8>), Errno> {
    for _ in 0..40 {
        let Ok(link) = parent.node.lookup(&name) else { return Ok((parent, name)) };
        if fs::ftype(&*link) != S_IFLNK {
            return Ok((parent, name));
        }
        let target = link.readlink()?;
        if target.last() == Some(&b'/') {
            return Err(Errno::EISDIR);
        }
        (parent, name) = cx.resolve_parent(&parent.path, &target)?;
        if name.is_empty() {
            return Err(Errno::EISDIR);
        }
    }
    Err(Errno::ELOOP)
}

/// The open(2) flags an open file keeps (F_GETFL shows them).
const KEPT_OPEN_FLAGS: u32 = O_ACCMODE
    | O_APPEND
    | O_NONBLOCK
    | arch_o::O_DIRECTORY
    | arch_o::O_LARGEFILE
    | arch_o::O_DIRECT
    | arch_o::O_NOFOLLOW
    | 0o10000 /* O_DSYNC */
    | 0o4000000 /* __O_SYNC */
    | 0o1000000 /* O_NOATIME */
    | 0o20000 /* O_ASYNC */;

/// Unnamed files of O_TMPFILE that linkat may still give a name (opened without
/// O_EXCL), by inode.
static LINKABLE: spin::Mutex<alloc::collections::BTreeMap<usize, alloc::sync::Weak<dyn Inode>>> =
    spin::Mutex::new(alloc::collections::BTreeMap::new());

fn node_key(n: &Arc<dyn Inode>) -> usize {
    Arc::as_ptr(n) as *const () as usize
}

/// open(O_TMPFILE): an unnamed regular file in the directory `path`, with no link;
/// linkat(AT_EMPTY_PATH) can name it unless it was opened with O_EXCL.
fn tmpfile(cx: &Ctx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SysResult {
    if flags & (arch_o::O_TMPFILE | O_CREAT) != arch_o::O_TMPFILE {
        return Err(Errno::EINVAL);
    }
    let acc = flags & O_ACCMODE;
    if acc != 1 && acc != 2 {
        return Err(Errno::EINVAL);
    }
    let base = base_dir(cx, dirfd, path)?;
    let dir = cx.resolve(&base, path, true)?;
    if !is_dir(&*dir.node) {
        return Err(Errno::ENOTDIR);
    }
    if !super::fsx::may_access(cx, &dir.node.meta(), 3) {
        return Err(Errno::EACCES);
    }
    let umask = cx.fs().lock().umask;
    let node: Arc<dyn Inode> = ramfs::File::new(mode & !umask & 0o7777);
    node.adjust_links(-1);
    cx.own(&node);
    if flags & O_EXCL == 0 {
        let mut l = LINKABLE.lock();
        l.retain(|_, w| w.strong_count() > 0);
        l.insert(node_key(&node), Arc::downgrade(&node));
    }
    let name = alloc::format!("#{} (deleted)", node.ino());
    let file = node.clone().open(flags)?;
    let of =
        OpenFile::new(file, flags & (KEPT_OPEN_FLAGS | arch_o::O_TMPFILE), fs::child_path(&dir.path, name.as_bytes()));
    Ok(cx.install(of, flags & O_CLOEXEC != 0)? as u64)
}

/// Process `cx` let go of descriptors for `files`: its POSIX locks on them go
/// (Linux's locks_remove_posix on every close).
pub fn released(cx: &Ctx, files: &[&OpenFile]) {
    if crate::fs::lock::any() {
        for f in files {
            crate::fs::lock::posix_closed(super::locks::file_key(f), cx.proc.pid);
        }
    }
}

/// close(2).
pub fn close(cx: &Ctx, fd: i32) -> SysResult {
    let slot = cx.files().lock().close(fd)?;
    released(cx, &[&slot.file]);
    crate::net::closing(cx, &slot.file);
    // The file is released here, outside the table's lock (a pipe end wakes its peer).
    drop(slot);
    Ok(0)
}

/// fstat(2).
pub fn fstat(cx: &Ctx, fd: i32, buf: UAddr) -> SysResult {
    let f = cx.fd(fd)?;
    cx.write_val(buf, &Stat::new(&f.file.stat()))?;
    Ok(0)
}

/// What `*stat*at` looks at: `path` relative to `dirfd`, or with AT_EMPTY_PATH and
/// an empty path, `dirfd` itself.
fn stat_target(cx: &Ctx, dirfd: i32, path: UAddr, flags: i32) -> Result<StatInfo, Errno> {
    // Linux 6.11: a NULL path with AT_EMPTY_PATH is the empty path.
    let raw = if path.is_null() && flags & AT_EMPTY_PATH != 0 { Vec::new() } else { cx.read_path(path)? };
    if raw.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return Ok(if dirfd == AT_FDCWD {
            fs::stat_of(&*fs::resolve(b"/", &cx.cwd(), true)?.node)
        } else {
            cx.fd(dirfd)?.file.stat()
        });
    }
    Ok(fs::stat_of(&*lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, false)?.node))
}

/// newfstatat(2) (also stat/lstat).
pub fn fstatat(cx: &Ctx, dirfd: i32, path: UAddr, buf: UAddr, flags: i32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800) != 0 {
        return Err(Errno::EINVAL);
    }
    let info = stat_target(cx, dirfd, path, flags)?;
    cx.write_val(buf, &Stat::new(&info))?;
    Ok(0)
}

/// lseek(2).
pub fn lseek(cx: &Ctx, fd: i32, offset: i64, whence: i32) -> SysResult {
    let f = cx.fd(fd)?;
    f.file.seek(&f, offset, whence)
}

/// getdents64(2): the directory offset counts entries (`.` and `..` first).
pub fn getdents64(cx: &Ctx, fd: i32, dirp: UAddr, count: usize) -> SysResult {
    getdents_common(cx, fd, dirp, count, true)
}

/// getdents(2) (x86_64's old `struct linux_dirent`: the type in the last byte).
pub fn getdents(cx: &Ctx, fd: i32, dirp: UAddr, count: usize) -> SysResult {
    getdents_common(cx, fd, dirp, count, false)
}

/// The old record: d_ino, d_off, d_reclen, the name and its NUL, d_type last,
/// 8-byte aligned.
fn push_old_dirent(out: &mut Vec<u8>, ino: u64, off: i64, ty: u8, name: &[u8]) -> usize {
    let len = (18 + name.len() + 2).div_ceil(8) * 8;
    let start = out.len();
    out.extend_from_slice(&ino.to_ne_bytes());
    out.extend_from_slice(&off.to_ne_bytes());
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(name);
    out.resize(start + len, 0);
    if let Some(last) = out.last_mut() {
        *last = ty;
    }
    len
}

fn getdents_common(cx: &Ctx, fd: i32, dirp: UAddr, count: usize, v64: bool) -> SysResult {
    let f = cx.fd(fd)?;
    let n = f.inode().ok_or(Errno::ENOTDIR)?;
    if !is_dir(&*n) {
        return Err(Errno::ENOTDIR);
    }
    // `..` is the parent's inode (the root's is its own); looked up only while the
    // listing has not gone past it.
    let parent_ino = || {
        let cut = f.path.iter().rposition(|&b| b == b'/')?;
        let parent = f.path.get(..cut.max(1))?;
        fs::resolve(b"/", parent, true).ok().map(|r| r.node.ino())
    };
    let dotdot = if *f.offset.lock() <= 1 { parent_ino().unwrap_or(n.ino()) } else { n.ino() };
    let mut entries: Vec<(u64, u8, Vec<u8>)> = alloc::vec![(n.ino(), 4, b".".to_vec()), (dotdot, 4, b"..".to_vec())];
    for e in n.entries()? {
        entries.push((e.ino, e.dtype, e.name));
    }
    let mut pos = f.offset.lock();
    let mut out = Vec::new();
    let mut i = *pos as usize;
    while let Some((ino, ty, name)) = entries.get(i) {
        let len = if v64 {
            LinuxDirent64::record_len(name.len()).ok_or(Errno::EINVAL)? as usize
        } else {
            (18 + name.len() + 2).div_ceil(8) * 8
        };
        if out.len() + len > count {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        if v64 {
            LinuxDirent64::push(&mut out, *ino, (i + 1) as i64, *ty, name).ok_or(Errno::EINVAL)?;
        } else {
            push_old_dirent(&mut out, *ino, (i + 1) as i64, *ty, name);
        }
        i += 1;
    }
    cx.write_bytes(dirp, &out)?;
    *pos = i as u64;
    drop(pos);
    accessed(&f);
    Ok(out.len() as u64)
}

/// getcwd(2).
pub fn getcwd(cx: &Ctx, buf: UAddr, size: usize) -> SysResult {
    let (cwd, root) = {
        let fs = cx.fs();
        let c = fs.lock();
        (c.cwd.clone(), c.root.clone())
    };
    // A working directory removed since is ENOENT, as Linux's d_unlinked check.
    if matches!(fs::resolve(b"/", &cwd, true), Err(Errno::ENOENT | Errno::ENOTDIR)) {
        return Err(Errno::ENOENT);
    }
    // A working directory outside the root directory (chroot without chdir) is
    // "(unreachable)" followed by its path, as Linux reports it.
    let mut s = fs::in_root(&root, &cwd).unwrap_or_else(|| [&b"(unreachable)"[..], &cwd].concat());
    s.push(0);
    if size < s.len() {
        return Err(Errno::ERANGE);
    }
    cx.write_bytes(buf, &s)?;
    Ok(s.len() as u64)
}

/// chdir(2).
pub fn chdir(cx: &Ctx, path: UAddr) -> SysResult {
    let r = lookup(cx, AT_FDCWD, path, true, false)?;
    if !is_dir(&*r.node) {
        return Err(Errno::ENOTDIR);
    }
    if !crate::task::may_search(&*r.node) {
        return Err(Errno::EACCES);
    }
    cx.fs().lock().cwd = r.path;
    Ok(0)
}

/// chroot(2): the caller's processes (sharing its filesystem context) resolve
/// absolute paths from `path` from now on, and `..` goes no higher; the working
/// directory stays where it was, as on Linux.
pub fn chroot(cx: &Ctx, path: UAddr) -> SysResult {
    let r = lookup(cx, AT_FDCWD, path, true, false)?;
    if !is_dir(&*r.node) {
        return Err(Errno::ENOTDIR);
    }
    if !crate::task::may_search(&*r.node) {
        return Err(Errno::EACCES);
    }
    if !cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    cx.fs().lock().root = r.path;
    Ok(0)
}

/// fchdir(2).
pub fn fchdir(cx: &Ctx, fd: i32) -> SysResult {
    let f = cx.fd(fd)?;
    match f.inode() {
        Some(n) if is_dir(&*n) => {
            if !crate::task::may_search(&*n) {
                return Err(Errno::EACCES);
            }
            cx.fs().lock().cwd = f.path.clone();
            Ok(0)
        }
        _ => Err(Errno::ENOTDIR),
    }
}

/// mkdirat(2).
pub fn mkdirat(cx: &Ctx, dirfd: i32, path: UAddr, mode: u32) -> SysResult {
    let raw = cx.read_path(path)?;
    let base = base_dir(cx, dirfd, &raw)?;
    let (parent, name) = cx.resolve_parent(&base, &raw)?;
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    super::fsx::may_create(cx, &parent.node, &name)?;
    let umask = cx.fs().lock().umask;
    let d = parent.node.create(&name, NewNode::Dir, mode & !umask & 0o7777)?;
    cx.own(&d);
    crate::fs::inotify::created(&parent.node, &name, &d);
    Ok(0)
}

/// Whether `child`, an entry of `parent`, is where another filesystem is mounted
/// (/proc, /dev/pts, a volume): its device is not its parent's.
fn mount_point(parent: &Arc<dyn Inode>, child: &Arc<dyn Inode>) -> bool {
    is_dir(&**child) && child.dev() != parent.dev()
}

/// unlinkat(2) (also unlink/rmdir).
pub fn unlinkat(cx: &Ctx, dirfd: i32, path: UAddr, flags: i32) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let raw = cx.read_path(path)?;
    let base = base_dir(cx, dirfd, &raw)?;
    let (parent, name) = cx.resolve_parent(&base, &raw)?;
    // The last component is the root (an empty name), `.` or `..`: never removed.
    let removedir = flags & AT_REMOVEDIR != 0;
    match (&name[..], removedir) {
        (b"" | b"." | b"..", false) => return Err(Errno::EISDIR),
        (b"", true) => return Err(Errno::EBUSY),
        (b".", true) => return Err(Errno::EINVAL),
        (b"..", true) => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let child = parent.node.lookup(&name)?;
    super::fsx::may_delete(cx, &parent.node, &child)?;
    if removedir {
        if !is_dir(&*child) {
            return Err(Errno::ENOTDIR);
        }
        if mount_point(&parent.node, &child) {
            return Err(Errno::EBUSY);
        }
        super::fsx::may_change_names(&parent.node)?;
        if !child.entries()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
    } else if is_dir(&*child) {
        return Err(Errno::EISDIR);
    } else if raw.last() == Some(&b'/') {
        // "name/" names a directory: not this file (or symlink).
        return Err(Errno::ENOTDIR);
    }
    super::fsx::may_change_names(&parent.node)?;
    let gone = parent.node.remove(&name)?;
    gone.adjust_links(-1);
    crate::fs::inotify::deleted(&parent.node, &name, &gone);
    Ok(0)
}

/// renameat2(2): RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT (the
/// old name becomes a whiteout, a 0/0 character device; since Linux 5.8 this
/// needs no CAP_MKNOD).
pub fn renameat(cx: &Ctx, olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr, flags: u32) -> SysResult {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 && flags & RENAME_EXCHANGE != 0)
    {
        return Err(Errno::EINVAL);
    }
    let oraw = cx.read_path(old)?;
    let nraw = cx.read_path(new)?;
    let obase = base_dir(cx, olddirfd, &oraw)?;
    let nbase = base_dir(cx, newdirfd, &nraw)?;
    let (op, oname) = cx.resolve_parent(&obase, &oraw)?;
    let (np, nname) = cx.resolve_parent(&nbase, &nraw)?;
    // Neither end may be the root, `.` or `..`.
    if [&oname[..], &nname[..]].iter().any(|n| n.is_empty() || *n == b"." || *n == b"..") {
        return Err(Errno::EBUSY);
    }
    // procfs and sysfs are filesystems of their own.
    if op.node.fixed_names() != np.node.fixed_names() {
        return Err(Errno::EXDEV);
    }
    let node = op.node.lookup(&oname)?;
    let existing = np.node.lookup(&nname).ok();
    if mount_point(&op.node, &node) || existing.as_ref().is_some_and(|e| mount_point(&np.node, e)) {
        return Err(Errno::EBUSY);
    }
    super::fsx::may_delete(cx, &op.node, &node)?;
    match &existing {
        Some(e) => super::fsx::may_delete(cx, &np.node, e)?,
        None => super::fsx::may_create(cx, &np.node, &nname)?,
    }
    super::fsx::may_change_names(&op.node)?;
    let same = |a: &Arc<dyn Inode>, b: &Arc<dyn Inode>| crate::mem::vm::same_node(a, b);
    // Moving a directory into itself is invalid.
    let opath = fs::child_path(&op.path, &oname);
    let into_self = |dir: &Arc<dyn Inode>, dir_path: &[u8], target_parent: &[u8]| {
        is_dir(&**dir) && (target_parent == dir_path || target_parent.starts_with(&[dir_path, b"/"].concat()))
    };
    // Volumes are filesystems of their own: nothing moves between them and the
    // rest, and they rename in one step on the host.
    let on_volume = fs::ninep::on_volume(&*op.node) || fs::ninep::on_volume(&*np.node);
    if on_volume && op.node.dev() != np.node.dev() {
        return Err(Errno::EXDEV);
    }
    if flags & RENAME_EXCHANGE != 0 {
        if on_volume {
            // 9P has no exchange (Linux's 9p client refuses it the same way).
            return Err(Errno::EINVAL);
        }
        let other = existing.ok_or(Errno::ENOENT)?;
        let npath = fs::child_path(&np.path, &nname);
        if into_self(&node, &opath, &np.path) || into_self(&other, &npath, &op.path) {
            return Err(Errno::EINVAL);
        }
        op.node.insert(&oname, other.clone())?;
        np.node.insert(&nname, node.clone())?;
        let _ = node.set_meta(&mut |m| m.touch_ctime());
        let _ = other.set_meta(&mut |m| m.touch_ctime());
        crate::fs::inotify::moved(&op.node, &oname, &np.node, &nname, &node, None);
        crate::fs::inotify::moved(&np.node, &nname, &op.node, &oname, &other, None);
        return Ok(0);
    }
    if let Some(existing) = &existing {
        if flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if same(existing, &node) {
            return Ok(0);
        }
        match (is_dir(&**existing), is_dir(&*node)) {
            (true, true) if !existing.entries()?.is_empty() => return Err(Errno::ENOTEMPTY),
            (true, false) => return Err(Errno::EISDIR),
            (false, true) => return Err(Errno::ENOTDIR),
            _ => {}
        }
    }
    if into_self(&node, &opath, &np.path) {
        return Err(Errno::EINVAL);
    }
    if let Some(r) = op.node.rename_within(&oname, &np.node, &nname) {
        return r.map(|_| 0);
    }
    op.node.remove(&oname)?;
    np.node.insert(&nname, node.clone())?;
    let _ = node.set_meta(&mut |m| m.touch_ctime());
    if let Some(e) = &existing {
        e.adjust_links(-1);
    }
    crate::fs::inotify::moved(&op.node, &oname, &np.node, &nname, &node, existing.as_ref());
    if flags & RENAME_WHITEOUT != 0 {
        let (uid, gid) = {
            let c = cx.proc.cred.lock();
            (c.uid[3], c.gid[3])
        };
        let w = op.node.create(&oname, crate::fs::NewNode::Device(S_IFCHR, 0), 0)?;
        let _ = w.set_meta(&mut |m| {
            m.uid = uid;
            m.gid = gid;
        });
    }
    Ok(0)
}

/// linkat(2) (also link).
pub fn linkat(cx: &Ctx, olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr, flags: i32) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    // Naming a file by its descriptor needs CAP_DAC_READ_SEARCH (Linux: ENOENT).
    if flags & AT_EMPTY_PATH != 0 && !cx.proc.cred.lock().capable(crate::task::caps::CAP_DAC_READ_SEARCH) {
        return Err(Errno::ENOENT);
    }
    let src = lookup(cx, olddirfd, old, flags & AT_SYMLINK_FOLLOW != 0, flags & AT_EMPTY_PATH != 0)?;
    if is_dir(&*src.node) {
        return Err(Errno::EPERM);
    }
    // A file without links can be named again only when it is an O_TMPFILE file
    // opened without O_EXCL (Linux's I_LINKABLE), once.
    let tmp_linkable = {
        let mut l = LINKABLE.lock();
        let k = node_key(&src.node);
        let live = l.get(&k).and_then(|w| w.upgrade()).is_some_and(|n| Arc::ptr_eq(&n, &src.node));
        if live && src.node.nlink() == 0 {
            l.remove(&k);
            true
        } else {
            false
        }
    };
    if src.node.nlink() == 0 && !tmp_linkable {
        return Err(Errno::ENOENT);
    }
    let nraw = cx.read_path(new)?;
    let nbase = base_dir(cx, newdirfd, &nraw)?;
    let (np, nname) = cx.resolve_parent(&nbase, &nraw)?;
    if nname.is_empty() || nname == b"." || nname == b".." || np.node.lookup(&nname).is_ok() {
        return Err(Errno::EEXIST);
    }
    // procfs fails the lookup of the new name first.
    if np.node.fixed_names() == Some(Fixed::Proc) {
        return Err(Errno::ENOENT);
    }
    if src.node.dev() != np.node.dev() {
        return Err(Errno::EXDEV);
    }
    super::fsx::may_link(cx, &src.node)?;
    super::fsx::may_create(cx, &np.node, &nname)?;
    np.node.insert(&nname, src.node.clone())?;
    src.node.adjust_links(1);
    crate::fs::inotify::created(&np.node, &nname, &src.node);
    crate::fs::inotify::event(&src.node, Some(&src.path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

/// symlinkat(2).
pub fn symlinkat(cx: &Ctx, target: UAddr, newdirfd: i32, linkpath: UAddr) -> SysResult {
    let t = cx.read_path(target)?;
    if t.is_empty() {
        return Err(Errno::ENOENT);
    }
    let raw = cx.read_path(linkpath)?;
    let base = base_dir(cx, newdirfd, &raw)?;
    let (parent, name) = cx.resolve_parent(&base, &raw)?;
    super::fsx::may_create(cx, &parent.node, &name)?;
    let l = parent.node.create(&name, NewNode::Symlink(t), 0o777)?;
    cx.own(&l);
    crate::fs::inotify::created(&parent.node, &name, &l);
    Ok(0)
}

/// readlinkat(2).
pub fn readlinkat(cx: &Ctx, dirfd: i32, path: UAddr, buf: UAddr, size: usize) -> SysResult {
    if (size as isize) <= 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, dirfd, path, false, true)?;
    if fs::ftype(&*r.node) != S_IFLNK {
        return Err(Errno::EINVAL);
    }
    let t = r.node.readlink()?;
    let n = t.len().min(size);
    cx.write_bytes(buf, t.get(..n).unwrap_or(&[]))?;
    Ok(n as u64)
}

/// faccessat2(2): root may do anything but execute files without any x bit.
pub fn faccessat(cx: &Ctx, dirfd: i32, path: UAddr, mode: i32, flags: i32) -> SysResult {
    if mode & !7 != 0 || flags & !(0x200 | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    if mode & 1 != 0 {
        let m = r.node.meta().mode;
        if m & S_IFMT != S_IFDIR && m & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
    }
    Ok(0)
}

/// fcntl(2).
pub fn fcntl(cx: &Ctx, fd: i32, cmd: i32, arg: u64) -> SysResult {
    const F_SETPIPE_SZ: i32 = 1031;
    const F_GETPIPE_SZ: i32 = 1032;
    match cmd {
        0 | 1030 => {
            // F_DUPFD, F_DUPFD_CLOEXEC
            let f = cx.fd(fd)?;
            let min = usize::try_from(arg as i32).map_err(|_| Errno::EINVAL)?;
            let limit = cx.nofile();
            if min >= limit {
                return Err(Errno::EINVAL);
            }
            Ok(cx.files().lock().install_from(min, f, cmd == 1030, limit)? as u64)
        }
        1 => Ok(u64::from(cx.files().lock().slot_mut(fd)?.cloexec)),
        2 => {
            cx.files().lock().slot_mut(fd)?.cloexec = arg & 1 != 0;
            Ok(0)
        }
        3 => Ok(u64::from(cx.fd(fd)?.status_flags())),
        4 => {
            let f = cx.fd(fd)?;
            let changeable = O_APPEND | O_NONBLOCK | arch_o::O_DIRECT | 0o1000000 /* O_NOATIME */;
            f.set_flags((f.flags() & !changeable) | (arg as u32 & changeable));
            crate::fs::file::set_async(&f, fd, arg as u32 & O_ASYNC != 0);
            Ok(0)
        }
        5..=7 | 36..=38 => super::locks::fcntl_lock(cx, fd, cmd as u32, arg),
        F_GETPIPE_SZ | F_SETPIPE_SZ => {
            let f = cx.fd(fd)?;
            let p = f
                .downcast::<PipeEnd>()
                .or_else(|| f.downcast::<crate::fs::fifo::FifoFile>().and_then(|x| x.end()))
                .ok_or(Errno::EBADF)?;
            if cmd == F_GETPIPE_SZ {
                Ok(p.pipe().capacity() as u64)
            } else {
                let privileged = cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_RESOURCE);
                p.pipe().set_capacity(arg as u32, privileged).map(|c| c as u64)
            }
        }
        F_ADD_SEALS => {
            let f = cx.fd(fd)?;
            crate::fs::seals::add(&f, arg, || f.inode().is_some_and(|n| mapped_writable(&n)))
        }
        F_GET_SEALS => crate::fs::seals::get(&*cx.fd(fd)?),
        F_SETOWN | F_GETOWN | F_SETSIG | F_GETSIG | F_SETOWN_EX | F_GETOWN_EX => owner(cx, fd, cmd, arg),
        // F_GETLEASE: no lease can be taken, so none is held.
        1025 => cx.fd(fd).map(|_| 2 /* F_UNLCK */),
        // F_SETLEASE and F_NOTIFY: as a Linux without leases or dnotify.
        1024 | 1026 => {
            cx.fd(fd)?;
            super::report_unsupported(if cmd == 1024 { "fcntl (F_SETLEASE)" } else { "fcntl (F_NOTIFY)" });
            Err(Errno::EINVAL)
        }
        _ => Err(Errno::EINVAL),
    }
}

const F_ADD_SEALS: i32 = 1033;
const F_GET_SEALS: i32 = 1034;

/// Whether some process maps `n` shared with write access possible (Linux's
/// i_mmap_writable): F_SEAL_WRITE is refused while one does.
fn mapped_writable(n: &Arc<dyn Inode>) -> bool {
    crate::task::table::processes().iter().filter_map(|p| p.try_mm()).any(|mm| {
        mm.lock().vmas.iter().any(|r| r.val.maywrite && r.val.shared_file().is_some_and(|(m, _)| Arc::ptr_eq(m, n)))
    })
}

const F_SETOWN: i32 = 8;
const F_GETOWN: i32 = 9;
const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;
const F_SETOWN_EX: i32 = 15;
const F_GETOWN_EX: i32 = 16;

/// The fcntl commands of signal-driven I/O: who is sent the signal and which.
fn owner(cx: &Ctx, fd: i32, cmd: i32, arg: u64) -> SysResult {
    use crate::fs::file::OwnerKind;
    use crate::task::table;
    let f = cx.fd(fd)?;
    // An id names something that exists: a thread or process, or (for a
    // group) a process group (Linux's find_vpid, ESRCH otherwise).
    let exists = |kind: OwnerKind, id: i32| match kind {
        _ if id == 0 => true,
        OwnerKind::Group => {
            table::process(id).is_some()
                || table::processes().iter().any(|p| p.pgid.load(core::sync::atomic::Ordering::Relaxed) == id)
        }
        _ => table::thread(id).is_some() || table::process(id).is_some(),
    };
    let set = |kind: OwnerKind, id: i32| -> SysResult {
        if !exists(kind, id) {
            return Err(Errno::ESRCH);
        }
        let mut o = f.owner.lock();
        o.kind = kind;
        o.id = id;
        Ok(0)
    };
    match cmd {
        F_SETOWN => match arg as i32 {
            i32::MIN => Err(Errno::EINVAL),
            who if who < 0 => set(OwnerKind::Group, -who),
            who => set(OwnerKind::Process, who),
        },
        F_GETOWN => {
            let o = *f.owner.lock();
            Ok(if o.kind == OwnerKind::Group { (-o.id) as i64 as u64 } else { o.id as u64 })
        }
        F_SETSIG => {
            // Linux's valid_signal() on the unsigned argument: 0 (plain SIGIO) to 64.
            if arg as i32 as u32 > 64 {
                return Err(Errno::EINVAL);
            }
            f.owner.lock().sig = arg as i32 as u32;
            Ok(0)
        }
        F_GETSIG => Ok(u64::from(f.owner.lock().sig)),
        F_SETOWN_EX => {
            let [kind, id]: [i32; 2] = cx.read_val(UAddr(arg))?;
            let kind = match kind {
                0 => OwnerKind::Thread,
                1 => OwnerKind::Process,
                2 => OwnerKind::Group,
                _ => return Err(Errno::EINVAL),
            };
            set(kind, id)
        }
        F_GETOWN_EX => {
            let o = *f.owner.lock();
            let kind = match o.kind {
                OwnerKind::Thread => 0,
                OwnerKind::Process => 1,
                OwnerKind::Group => 2,
            };
            cx.write_val(UAddr(arg), &[kind, o.id])?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// dup(2).
pub fn dup(cx: &Ctx, fd: i32) -> SysResult {
    let f = cx.fd(fd)?;
    Ok(cx.install(f, false)? as u64)
}

/// dup2(2)/dup3(2).
pub fn dup3(cx: &Ctx, oldfd: i32, newfd: i32, flags: i32, is_dup2: bool) -> SysResult {
    if !is_dup2 && flags & !(O_CLOEXEC as i32) != 0 {
        return Err(Errno::EINVAL);
    }
    if oldfd == newfd {
        return if is_dup2 {
            cx.fd(oldfd)?;
            Ok(newfd as u64)
        } else {
            Err(Errno::EINVAL)
        };
    }
    let f = cx.fd(oldfd)?;
    let limit = cx.nofile();
    let old = cx.files().lock().install_at(newfd, f, flags != 0, limit)?;
    if let Some(o) = &old {
        released(cx, &[&o.file]);
        crate::net::closing(cx, &o.file);
    }
    drop(old);
    Ok(newfd as u64)
}

/// ioctl(2): FIONBIO/FIOASYNC/FIOCLEX/FIONCLEX on any descriptor, the rest by the file.
pub fn ioctl(cx: &Ctx, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let f = cx.fd(fd)?;
    match cmd {
        0x5421 => {
            // FIONBIO
            let v: i32 = cx.read_val(UAddr(arg))?;
            f.set_flags(if v != 0 { f.flags() | O_NONBLOCK } else { f.flags() & !O_NONBLOCK });
            Ok(0)
        }
        0x5452 => {
            // FIOASYNC: the ioctl form of F_SETFL's O_ASYNC (nginx sets it on
            // its master-worker channel).
            let v: i32 = cx.read_val(UAddr(arg))?;
            crate::fs::file::set_async(&f, fd, v != 0);
            Ok(0)
        }
        0x5451 => {
            cx.files().lock().slot_mut(fd)?.cloexec = true;
            Ok(0)
        }
        0x5450 => {
            cx.files().lock().slot_mut(fd)?.cloexec = false;
            Ok(0)
        }
        // FS_IOC_GETFLAGS and FS_IOC_SETFLAGS on a file or directory: no inode
        // attribute flag (append-only, immutable, ...) is kept, so none is set,
        // and setting one is EOPNOTSUPP as on a filesystem without them.
        FS_IOC_GETFLAGS | FS_IOC_SETFLAGS if inode_backed(&f) => {
            if cmd == FS_IOC_GETFLAGS {
                cx.write_val(UAddr(arg), &0i32)?;
                return Ok(0);
            }
            let v: i32 = cx.read_val(UAddr(arg))?;
            let node = f.inode().ok_or(Errno::ENOTTY)?;
            if !super::fsx::owns(cx, &node.meta()) {
                return Err(Errno::EPERM);
            }
            if v != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            Ok(0)
        }
        // FIGETBSZ: the block size.
        0x2 if inode_backed(&f) => {
            let bs = f.inode().map(|n| fs::stat_of(&*n).blksize).unwrap_or(4096) as i32;
            cx.write_val(UAddr(arg), &bs)?;
            Ok(0)
        }
        // FIBMAP: no block device lies under these files.
        0x1 if inode_backed(&f) => {
            if !cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_RAWIO) {
                return Err(Errno::EPERM);
            }
            Err(Errno::EINVAL)
        }
        // FICLONE, FICLONERANGE, FIDEDUPERANGE: no filesystem here shares extents.
        0x4004_9409 | 0x4020_940d | 0xc018_9436 if inode_backed(&f) => Err(Errno::EOPNOTSUPP),
        0x541b if regular(&f) => {
            // FIONREAD on a regular file: bytes after the position.
            let size = f.inode().map(|n| n.size()).unwrap_or(0) as i64;
            let n = (size - *f.offset.lock() as i64).clamp(0, i32::MAX as i64) as i32;
            cx.write_val(UAddr(arg), &n)?;
            Ok(0)
        }
        _ => f.file.ioctl(cx, &f, cmd, arg),
    }
}

const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
const FS_IOC_SETFLAGS: u32 = 0x4008_6602;

/// A regular file or directory (what the inode-attribute ioctls apply to).
fn inode_backed(f: &OpenFile) -> bool {
    f.inode().is_some_and(|n| matches!(n.meta().mode & S_IFMT, S_IFREG | S_IFDIR))
}

/// Applies a temporary signal mask for the length of a call (ppoll, pselect,
/// epoll_pwait); it is put back on the way out unless a handler runs first.
pub(super) fn set_temp_mask(cx: &Ctx, sigmask: UAddr, sigsetsize: usize) -> Result<bool, Errno> {
    if sigmask.is_null() {
        return Ok(false);
    }
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = cx.read_val(sigmask)?;
    let mut s = cx.thread.sig.lock();
    s.saved_mask = Some(s.mask);
    s.mask = m & !crate::task::signal::UNBLOCKABLE;
    drop(s);
    cx.thread.sig_hint.store(true, Ordering::SeqCst);
    Ok(true)
}

pub(super) fn restore_temp_mask(cx: &Ctx, r: &SysResult) {
    if *r != Err(Errno::EINTR) {
        let mut s = cx.thread.sig.lock();
        if let Some(m) = s.saved_mask.take() {
            s.mask = m;
        }
    }
}

/// poll(2)/ppoll(2).
pub fn poll(cx: &Ctx, fds: UAddr, nfds: u32, timeout_ns: Option<u64>, how: Option<Restart>) -> SysResult {
    if nfds as usize > cx.nofile() {
        return Err(Errno::EINVAL);
    }
    let mut list: Vec<Pollfd> = Vec::new();
    for i in 0..u64::from(nfds) {
        list.push(cx.read_val(UAddr(fds.0 + i * 8))?);
    }
    let files: Vec<Option<Arc<OpenFile>>> =
        list.iter().map(|p| if p.fd < 0 { None } else { cx.fd(p.fd).ok() }).collect();
    let deadline = timeout_ns.map(|t| crate::time::monotonic_ns().saturating_add(t));
    let queues: Vec<&WaitQueue> = files.iter().flatten().filter_map(|f| f.file.wait_queue()).collect();
    let scan = |list: &mut [Pollfd]| -> u64 {
        let mut ready = 0;
        for (pf, f) in list.iter_mut().zip(files.iter()) {
            pf.revents = 0;
            if pf.fd < 0 {
                continue;
            }
            pf.revents = match f {
                Some(f) => (f.file.poll() & (pf.events as u16 as u32 | POLLERR | POLLHUP)) as i16,
                None => POLLNVAL as i16,
            };
            if pf.revents != 0 {
                ready += 1;
            }
        }
        ready
    };
    let r = wait::wait_for(cx, &queues, deadline, how.unwrap_or(Restart::NoHand), || {
        let n = scan(&mut list);
        (n > 0).then_some(n)
    });
    let ready = match r {
        Ok(n) => n,
        Err(Errno::ETIMEDOUT) => 0,
        Err(e) => return Err(e),
    };
    for (i, pf) in list.iter().enumerate() {
        cx.write_val(UAddr(fds.0 + i as u64 * 8), pf)?;
    }
    Ok(ready)
}

/// ppoll(2): poll with a timespec and a temporary signal mask.
pub fn ppoll(cx: &Ctx, fds: UAddr, nfds: u32, timeout: UAddr, sigmask: UAddr, sigsetsize: usize) -> SysResult {
    use super::select::{read_timeout, write_back_timeout, TimeoutKind};
    let deadline = read_timeout(cx, timeout, TimeoutKind::Timespec)?;
    set_temp_mask(cx, sigmask, sigsetsize)?;
    let t = deadline.map(|d| d.saturating_sub(crate::time::monotonic_ns()));
    let r = poll(cx, fds, nfds, t, None);
    // As Linux, ppoll writes the time left back (glibc passes a copy).
    write_back_timeout(cx, timeout, TimeoutKind::Timespec, deadline);
    restore_temp_mask(cx, &r);
    r
}

/// ftruncate(2).
pub fn ftruncate(cx: &Ctx, fd: i32, length: i64) -> SysResult {
    let f = cx.fd(fd)?;
    let n = f.inode().ok_or(Errno::EINVAL)?;
    if !f.writable() {
        return Err(Errno::EINVAL);
    }
    truncate_node(&n, length)?;
    crate::fs::inotify::event(&n, Some(&f.path), crate::fs::inotify::IN_MODIFY);
    Ok(0)
}

fn truncate_node(n: &Arc<dyn Inode>, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    match fs::ftype(&**n) {
        S_IFDIR => Err(Errno::EISDIR),
        S_IFREG => {
            crate::task::rlimit::fsize_grow(length as u64)?;
            crate::fs::seals::check_resize(&**n, length as u64)?;
            crate::mem::vm::sync_file(n);
            n.truncate(length as u64)?;
            if !n.host_times() {
                let _ = n.set_meta(&mut |m| m.touch_mtime());
            }
            crate::mem::vm::file_written(n, 0, u64::MAX / 2);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// truncate(2).
pub fn truncate(cx: &Ctx, path: UAddr, length: i64) -> SysResult {
    let r = lookup(cx, AT_FDCWD, path, true, false)?;
    if !super::fsx::may_access(cx, &r.node.meta(), 2) {
        return Err(Errno::EACCES);
    }
    truncate_node(&r.node, length)?;
    crate::fs::inotify::event(&r.node, Some(&r.path), crate::fs::inotify::IN_MODIFY);
    Ok(0)
}

/// chmod on a node: the owner or CAP_FOWNER; the set-group-ID bit goes when the
/// caller is not in the file's group and lacks CAP_FSETID.
fn chmod_node(cx: &Ctx, n: &Arc<dyn Inode>, path: &[u8], mode: u32) -> SysResult {
    let meta = n.meta();
    if !super::fsx::owns(cx, &meta) {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & 0o7777;
    crate::fs::seals::check_mode(&**n, mode)?;
    {
        let c = cx.proc.cred.lock();
        let in_group = c.gid[3] == meta.gid || c.groups.contains(&meta.gid);
        if !in_group && !c.capable(crate::task::caps::CAP_FSETID) {
            mode &= !0o2000;
        }
    }
    n.set_meta(&mut |m| {
        m.mode = (m.mode & S_IFMT) | mode;
        m.touch_ctime();
    })?;
    crate::fs::inotify::event(n, Some(path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

/// fchmodat(2).
pub fn fchmodat(cx: &Ctx, dirfd: i32, path: UAddr, mode: u32) -> SysResult {
    let r = lookup(cx, dirfd, path, true, false)?;
    chmod_node(cx, &r.node, &r.path, mode)
}

/// fchmodat2: fchmodat with flags. AT_SYMLINK_NOFOLLOW changes the link itself,
/// which no filesystem allows (EOPNOTSUPP on a symlink); AT_EMPTY_PATH names `dirfd`.
pub fn fchmodat2(cx: &Ctx, dirfd: i32, path: UAddr, mode: u32, flags: u32) -> SysResult {
    const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
    const AT_EMPTY_PATH: u32 = 0x1000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    if fs::ftype(&*r.node) == S_IFLNK {
        return Err(Errno::EOPNOTSUPP);
    }
    chmod_node(cx, &r.node, &r.path, mode)
}

/// chown on a node: another owner needs CAP_CHOWN; the owner may set a group it
/// is in (Linux's chown_ok/chgrp_ok).
fn chown_node(cx: &Ctx, n: &Arc<dyn Inode>, path: &[u8], uid: u32, gid: u32) -> SysResult {
    let meta = n.meta();
    {
        let c = cx.proc.cred.lock();
        let cap = c.capable(crate::task::caps::CAP_CHOWN);
        if uid != u32::MAX && uid != meta.uid && !cap {
            return Err(Errno::EPERM);
        }
        let owner = c.uid[3] == meta.uid;
        let in_group = gid == c.gid[3] || c.groups.contains(&gid);
        if gid != u32::MAX && gid != meta.gid && !cap && !(owner && in_group) {
            return Err(Errno::EPERM);
        }
        if (uid != u32::MAX || gid != u32::MAX) && !cap && !owner {
            return Err(Errno::EPERM);
        }
    }
    n.set_meta(&mut |m| {
        m.touch_ctime();
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
    })?;
    crate::fs::inotify::event(n, Some(path), crate::fs::inotify::IN_ATTRIB);
    Ok(0)
}

/// fchownat(2) (also chown/lchown); the program runs as root, so any owner is allowed.
pub fn fchownat(cx: &Ctx, dirfd: i32, path: UAddr, uid: u32, gid: u32, flags: i32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let r = lookup(cx, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0, flags & AT_EMPTY_PATH != 0)?;
    chown_node(cx, &r.node, &r.path, uid, gid)
}

/// fchown(2).
pub fn fchown(cx: &Ctx, fd: i32, uid: u32, gid: u32) -> SysResult {
    let f = cx.fd(fd)?;
    match f.inode() {
        Some(n) => chown_node(cx, &n, &f.path, uid, gid),
        None => Ok(0),
    }
}

/// fchmod(2).
pub fn fchmod(cx: &Ctx, fd: i32, mode: u32) -> SysResult {
    let f = cx.fd(fd)?;
    if let Some(n) = f.inode() {
        return chmod_node(cx, &n, &f.path, mode);
    }
    Ok(0)
}

/// sendfile(2): what was written is what counts (a short write ends the call).
pub fn sendfile(cx: &Ctx, out_fd: i32, in_fd: i32, offset: UAddr, count: usize) -> SysResult {
    let inf = cx.fd(in_fd)?;
    let outf = cx.fd(out_fd)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    if outf.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    // Into anything but a pipe, only from a regular file (Linux's
    // splice_direct_to_actor); into a pipe, from whatever reads but a pipe
    // (which has no splice_read).
    let is_pipe = |f: &OpenFile| {
        f.downcast::<PipeEnd>().is_some() || f.downcast::<crate::fs::fifo::FifoFile>().and_then(|x| x.end()).is_some()
    };
    if (!is_pipe(&outf) && !regular(&inf)) || is_pipe(&inf) {
        return Err(Errno::EINVAL);
    }
    let seekable = regular(&inf);
    let mut pos: u64 = if offset.is_null() {
        *inf.offset.lock()
    } else {
        let o: i64 = cx.read_val(offset)?;
        if o < 0 {
            return Err(Errno::EINVAL);
        }
        o as u64
    };
    let count = count.min(super::xfer::MAX_RW_COUNT as usize);
    let mut buf = alloc::vec![0u8; count.min(CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(CHUNK);
        let chunk = buf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let r = if seekable { inf.file.pread(chunk, pos) } else { inf.file.read(cx, &inf, chunk) };
        let n = match r {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        let w = match outf.file.write(cx, &outf, chunk.get(..n).ok_or(Errno::EFAULT)?) {
            Ok(w) => w,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += w;
        pos += w as u64;
        if w < n || !seekable {
            break;
        }
    }
    if offset.is_null() {
        if seekable {
            *inf.offset.lock() = pos;
        }
    } else {
        cx.write_val(offset, &(pos as i64))?;
    }
    Ok(done as u64)
}

/// pipe2(2).
pub fn pipe2(cx: &Ctx, fds: UAddr, flags: i32) -> SysResult {
    let flags = flags as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | arch_o::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = Pipe::pair();
    let nb = flags & O_NONBLOCK;
    let r = OpenFile::new(r, nb, Vec::new());
    let w = OpenFile::new(w, 1 | nb, Vec::new());
    let cloexec = flags & O_CLOEXEC != 0;
    let files = cx.files();
    let limit = cx.nofile();
    let (rfd, wfd) = {
        let mut t = files.lock();
        let rfd = t.install_from(0, r, cloexec, limit)?;
        match t.install_from(0, w, cloexec, limit) {
            Ok(wfd) => (rfd, wfd),
            Err(e) => {
                let _ = t.close(rfd);
                return Err(e);
            }
        }
    };
    if let Err(e) = cx.write_val(fds, &[rfd, wfd]) {
        let mut t = files.lock();
        let a = t.close(rfd);
        let b = t.close(wfd);
        drop(t);
        drop((a, b));
        return Err(e);
    }
    Ok(0)
}

/// eventfd2(2).
pub fn eventfd2(cx: &Ctx, initval: u32, flags: i32) -> SysResult {
    const EFD_SEMAPHORE: u32 = 1;
    let f = flags as u32;
    if f & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = crate::fs::eventfd::EventFd::new(initval, f & EFD_SEMAPHORE != 0);
    let file = OpenFile::new(e, 2 | (f & O_NONBLOCK), Vec::new());
    Ok(cx.install(file, f & O_CLOEXEC != 0)? as u64)
}

/// epoll_create1(2).
pub fn epoll_create1(cx: &Ctx, flags: i32) -> SysResult {
    if flags as u32 & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new(Epoll::new(), 2, Vec::new());
    Ok(cx.install(file, flags as u32 & O_CLOEXEC != 0)? as u64)
}

/// epoll_ctl(2).
pub fn epoll_ctl(cx: &Ctx, epfd: i32, op: i32, fd: i32, event: UAddr) -> SysResult {
    let ep = cx.fd(epfd)?;
    let target = cx.fd(fd)?;
    let e = ep.downcast::<Epoll>().ok_or(Errno::EINVAL)?;
    if epfd == fd {
        return Err(Errno::EINVAL);
    }
    let (events, data) = if op == 2 {
        (0, 0)
    } else {
        let ev: EpollEvent = cx.read_val(event)?;
        let (events, data) = (ev.events, ev.data);
        (events, data)
    };
    e.ctl(op, fd, &target, events, data)?;
    Ok(0)
}

/// epoll_wait(2)/epoll_pwait(2): events are consumed (edge-triggered, one-shot)
/// only once they have been copied out.
pub fn epoll_wait(
    cx: &Ctx,
    epfd: i32,
    events: UAddr,
    maxevents: i32,
    timeout_ns: Option<u64>,
    sigmask: UAddr,
    sigsetsize: usize,
) -> SysResult {
    let ep = cx.fd(epfd)?;
    let e = ep.downcast::<Epoll>().ok_or(Errno::EINVAL)?;
    let size = core::mem::size_of::<EpollEvent>();
    if maxevents <= 0 || maxevents as usize > (i32::MAX as usize) / size {
        return Err(Errno::EINVAL);
    }
    if !cx.mm().check_access(events.0, (maxevents as usize * size) as u64, true) {
        return Err(Errno::EFAULT);
    }
    set_temp_mask(cx, sigmask, sigsetsize)?;
    let deadline = timeout_ns.map(|t| crate::time::monotonic_ns().saturating_add(t));
    // The watched files wake the instance's queue: the sleep holds none of them
    // (a descriptor closed meanwhile is released at once, as on Linux).
    let queues: [&WaitQueue; 1] = [e.queue()];
    let r = wait::wait_for(cx, &queues, deadline, Restart::Never, || {
        let ready = e.collect(maxevents as usize);
        (!ready.is_empty()).then_some(ready)
    });
    let ready = match r {
        Ok(r) => r,
        Err(Errno::ETIMEDOUT) => Vec::new(),
        Err(err) => {
            let r = Err(err);
            restore_temp_mask(cx, &r);
            return r;
        }
    };
    for (i, ev) in ready.iter().enumerate() {
        if let Err(err) = cx.write_val(UAddr(events.0 + (i * size) as u64), &EpollEvent::new(ev.events, ev.data)) {
            let r = Err(err);
            restore_temp_mask(cx, &r);
            return r;
        }
    }
    e.commit(&ready);
    let r = Ok(ready.len() as u64);
    restore_temp_mask(cx, &r);
    r
}

/// close_range(2).
pub fn close_range(cx: &Ctx, first: u32, last: u32, flags: u32) -> SysResult {
    const UNSHARE: u32 = 2;
    const CLOEXEC: u32 = 4;
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & UNSHARE != 0 {
        let files = cx.files();
        if Arc::strong_count(&files) > 2 {
            cx.proc.set_files(Arc::new(crate::sync::Mutex::new(files.lock().clone())));
        }
    }
    let files = cx.files();
    let mut t = files.lock();
    let last = last.min(t.len().saturating_sub(1) as u32);
    let mut closed = Vec::new();
    for fd in first..=last {
        let fd = fd as i32;
        if flags & CLOEXEC != 0 {
            if let Ok(slot) = t.slot_mut(fd) {
                slot.cloexec = true;
            }
        } else if let Ok(s) = t.close(fd) {
            closed.push(s);
        }
    }
    drop(t);
    released(cx, &closed.iter().map(|s| &*s.file).collect::<Vec<_>>());
    for s in &closed {
        crate::net::closing(cx, &s.file);
    }
    drop(closed);
    Ok(0)
}

/// statfs(2)/fstatfs(2): a volume answers for itself; everything else lives in one
/// RAM filesystem (reported as tmpfs).
pub fn statfs(cx: &Ctx, path: Option<UAddr>, fd: i32, buf: UAddr) -> SysResult {
    let node = match path {
        Some(path) => Some(lookup(cx, AT_FDCWD, path, true, false)?.node),
        None => cx.fd(fd)?.inode(),
    };
    if let Some(st) = node.and_then(|n| n.statfs()) {
        cx.write_val(buf, &st)?;
        return Ok(0);
    }
    let total = crate::fs::pages::limit() as u64;
    let free = total.saturating_sub(crate::fs::pages::used() as u64);
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
        // As /proc/mounts says: rw,relatime.
        f_flags: crate::fs::st::VALID | crate::fs::st::RELATIME,
        ..Default::default()
    };
    cx.write_val(buf, &st)?;
    Ok(0)
}

/// fallocate(2): allocation (mode 0, FALLOC_FL_KEEP_SIZE: a RAM file takes its
/// pages now), hole punching (a RAM file gives whole pages back), and on volumes
/// range zeroing.
pub fn fallocate(cx: &Ctx, fd: i32, mode: i32, offset: i64, len: i64) -> SysResult {
    const KEEP_SIZE: i32 = 1;
    const PUNCH_HOLE: i32 = 2;
    const COLLAPSE_RANGE: i32 = 8;
    const ZERO_RANGE: i32 = 0x10;
    const INSERT_RANGE: i32 = 0x20;
    const UNSHARE_RANGE: i32 = 0x40;
    let f = cx.fd(fd)?;
    // vfs_fallocate's order: the range, the mode's combinations, the access, the
    // file type; then what the filesystem does.
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    // One operation, with or without KEEP_SIZE: a punched hole keeps the size,
    // collapsing and inserting change it.
    let known = KEEP_SIZE | PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE | UNSHARE_RANGE;
    let keep = mode & KEEP_SIZE != 0;
    let valid = mode & !known == 0
        && match mode & !KEEP_SIZE {
            0 | UNSHARE_RANGE | ZERO_RANGE => true,
            PUNCH_HOLE => keep,
            COLLAPSE_RANGE | INSERT_RANGE => !keep,
            _ => false,
        };
    if !valid {
        return Err(Errno::EOPNOTSUPP);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let n = f.inode().ok_or(Errno::ESPIPE)?;
    match fs::ftype(&*n) {
        S_IFREG => {}
        S_IFIFO => return Err(Errno::ESPIPE),
        S_IFDIR => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    // RAM files allocate and punch holes (kept size), as Linux's tmpfs; volumes
    // also zero ranges.
    let supported =
        matches!(mode, 0 | KEEP_SIZE | 3) || (fs::ninep::on_volume(&*n) && matches!(mode, ZERO_RANGE | 0x11));
    if !supported {
        return Err(Errno::EOPNOTSUPP);
    }
    let end = u64::try_from(offset.checked_add(len).ok_or(Errno::EFBIG)?).map_err(|_| Errno::EFBIG)?;
    let start = offset as u64;
    if mode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
        crate::fs::seals::check_modify(&*n)?;
    } else if end > n.size() {
        // Linux's shmem_fallocate: F_SEAL_GROW refuses even a KEEP_SIZE extension.
        crate::fs::seals::check_resize(&*n, end)?;
    }
    crate::mem::vm::sync_file(&n);
    let size = n.size();
    if mode & KEEP_SIZE == 0 && end > size {
        crate::task::rlimit::fsize_grow(end)?;
        n.truncate(end)?;
    }
    if mode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
        let e = end.min(n.size());
        n.punch_hole(start.min(e), e)?;
    } else {
        n.allocate(start, end)?;
    }
    crate::mem::vm::file_written(&n, start, end);
    Ok(0)
}

/// memfd_create(2): an anonymous RAM file. MFD_NOEXEC_SEAL makes it
/// non-executable for good (mode 0666, F_SEAL_EXEC, sealable); MFD_EXEC is the
/// default; huge pages (MFD_HUGETLB) are not offered (EINVAL).
pub fn memfd_create(cx: &Ctx, name: UAddr, flags: u32) -> SysResult {
    const MFD_CLOEXEC: u32 = 1;
    const MFD_ALLOW_SEALING: u32 = 2;
    const MFD_NOEXEC_SEAL: u32 = 8;
    const MFD_EXEC: u32 = 0x10;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & (MFD_EXEC | MFD_NOEXEC_SEAL) == MFD_EXEC | MFD_NOEXEC_SEAL
    {
        return Err(Errno::EINVAL);
    }
    let n = cx.read_cstr(name, 249).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
    use crate::fs::seals::{F_SEAL_EXEC, F_SEAL_SEAL};
    let node: Arc<dyn Inode> = if flags & MFD_NOEXEC_SEAL != 0 {
        ramfs::File::with_seals(0o666, F_SEAL_EXEC)
    } else {
        ramfs::File::with_seals(0o777, if flags & MFD_ALLOW_SEALING != 0 { 0 } else { F_SEAL_SEAL })
    };
    let mut path = b"/memfd:".to_vec();
    path.extend_from_slice(&n);
    path.extend_from_slice(b" (deleted)");
    // Its descriptor does not count as writing the file (alloc_file_pseudo): a
    // program may fexecve the memfd it filled, as on Linux.
    let file = OpenFile::new(crate::fs::file::InodeFile::pseudo(node), 2, path);
    Ok(cx.install(file, flags & MFD_CLOEXEC != 0)? as u64)
}

/// fsync(2)/fdatasync(2): files on a volume are synced on the host; RAM files and
/// directories have nothing to write back; the others have no fsync (EINVAL), as
/// Linux's pipes and devices.
pub fn fsync(cx: &Ctx, fd: i32) -> SysResult {
    let f = cx.fd(fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    match f.inode() {
        Some(n) if matches!(fs::ftype(&*n), S_IFREG | S_IFDIR) => n.sync().map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// fadvise64(2): advice is checked (nothing to do for RAM files); a pipe or
/// FIFO is ESPIPE.
pub fn fadvise(cx: &Ctx, fd: i32, len: i64, advice: i32) -> SysResult {
    let f = cx.fd(fd)?;
    let fifo = f.downcast::<PipeEnd>().is_some() || f.inode().is_some_and(|n| fs::ftype(&*n) == S_IFIFO);
    if fifo {
        return Err(Errno::ESPIPE);
    }
    if len < 0 || !(0..=5).contains(&advice) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
