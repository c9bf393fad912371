//! The virtual filesystem: inodes as a trait ([`Inode`]) so that the ramfs built
//! from the initrd, devices and /proc plug in side by side; path walking; the
//! root filesystem's set-up.
pub mod console;
pub mod cpio;
pub mod dev;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
pub mod file;
pub mod inotify;
pub mod kmsg;
pub mod lock;
pub mod mqueue;
pub mod ninep;
pub mod pages;
pub mod pidfd;
pub mod pipe;
pub mod procfs;
pub mod pty;
pub mod ramfs;
pub mod seals;
pub mod signalfd;
pub mod sysctl;
pub mod sysfs;
pub mod timerfd;
pub mod tty;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_plat::Module;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{StatInfo, Timespec};

use self::file::FileLike;

/// Linux's limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;
/// Longest path accepted (PATH_MAX).
pub const PATH_MAX: usize = 4096;
/// Device number of the ramfs (st_dev, "00:10" in /proc/self/maps).
pub const RAMFS_DEV: u64 = 0x10;
/// Device number of sysfs (its sealed directories and attributes).
pub const SYSFS_DEV: u64 = 0x15;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A fresh inode number.
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// The current wall-clock time, as the filesystems stamp files.
pub fn now() -> Timespec {
    Timespec::from_nanos(crate::time::file_time_ns())
}

/// Owner, rights and times of an inode.
#[derive(Clone, Copy, Debug, Default)]
pub struct Meta {
    /// Type and permission bits (`S_IF*` | mode).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last change of the content.
    pub mtime: Timespec,
    /// Last change of the inode.
    pub ctime: Timespec,
    /// Creation.
    pub btime: Timespec,
}

impl Meta {
    /// Metadata of a new node owned by root, stamped now.
    pub fn new(mode: u32) -> Meta {
        let t = now();
        Meta { mode, uid: 0, gid: 0, atime: t, mtime: t, ctime: t, btime: t }
    }
    /// Metadata with every time set to `t`.
    pub fn at(mode: u32, uid: u32, gid: u32, t: Timespec) -> Meta {
        Meta { mode, uid, gid, atime: t, mtime: t, ctime: t, btime: t }
    }
    /// The content changed now (and with it the inode).
    pub fn touch_mtime(&mut self) {
        let t = now();
        self.mtime = t;
        self.ctime = t;
    }
    /// The inode changed now (owner, mode, links, attributes).
    pub fn touch_ctime(&mut self) {
        self.ctime = now();
    }
    /// A read now: the access time is updated as with Linux's relatime (when it
    /// is not after the last change, or a day old).
    pub fn touch_atime(&mut self) {
        let t = now();
        if self.atime.tv_sec <= self.mtime.tv_sec.max(self.ctime.tv_sec)
            && (self.atime.tv_sec, self.atime.tv_nsec)
                <= (self.mtime.tv_sec, self.mtime.tv_nsec).max((self.ctime.tv_sec, self.ctime.tv_nsec))
            || t.tv_sec - self.atime.tv_sec >= 24 * 3600
        {
            self.atime = t;
        }
    }
}

/// One directory entry as getdents reports it.
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// Name.
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// `DT_*` type.
    pub dtype: u8,
}

/// What `create` makes.
pub enum NewNode {
    /// An empty regular file.
    File,
    /// An empty directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(Vec<u8>),
    /// A FIFO (mknod S_IFIFO).
    Fifo,
    /// A device node: `S_IFCHR` or `S_IFBLK`, and the device number.
    Device(u32, u64),
    /// A socket node (mknod S_IFSOCK; opening it is ENXIO).
    Socket,
}

/// How a pseudo filesystem's directory refuses changes to its names, as Linux's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixed {
    /// procfs: a new name fails its lookup (ENOENT); removing or renaming a name
    /// there is EPERM (no such operations).
    Proc,
    /// sysfs: no operations that change names (EPERM; EACCES to create a regular
    /// file).
    Sys,
}

/// Extended attributes of an inode: name → value.
pub type Xattrs = spin::Mutex<alloc::collections::BTreeMap<Vec<u8>, Vec<u8>>>;

/// A filesystem object. Directory, symlink and regular-file operations have
/// defaults that fail as Linux fails on the wrong kind of file.
pub trait Inode: Send + Sync {
    /// Inode number.
    fn ino(&self) -> u64;
    /// Owner, rights, type and time.
    fn meta(&self) -> Meta;
    /// The calling thread may access this node whatever its mode says (its own
    /// process's /proc/PID/fd, as Linux's proc_fd_permission allows).
    fn open_to_caller(&self) -> bool {
        false
    }
    /// The file type bits of the mode (S_IFMT): what path walks ask, without
    /// building the whole [`Meta`].
    fn file_type(&self) -> u32 {
        self.meta().mode & S_IFMT
    }
    /// A directory whose names programs cannot change (procfs, sysfs): which kind.
    fn fixed_names(&self) -> Option<Fixed> {
        None
    }
    /// Changes owner, rights or time.
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        let _ = f;
        Err(Errno::EPERM)
    }
    /// Whether the file's times are kept by another machine that moves them
    /// itself on reads, writes and truncates (a volume's host), so that the
    /// kernel's own stamps with its clock would only be wrong.
    fn host_times(&self) -> bool {
        false
    }
    /// Size in bytes as `stat` reports it.
    fn size(&self) -> u64 {
        0
    }
    /// 512-byte blocks the content takes (whole pages, as tmpfs counts them).
    fn blocks(&self) -> u64 {
        self.size().div_ceil(4096) * 8
    }
    /// Hard links.
    fn nlink(&self) -> u32 {
        1
    }
    /// Notes one more (`true`) or one fewer open file description writing the
    /// inode (execve refuses such a file with ETXTBSY).
    fn note_writer(&self, more: bool) {
        let _ = more;
    }
    /// Open file descriptions writing the inode.
    fn writers(&self) -> usize {
        0
    }
    /// Adds `delta` to the hard-link count (link, unlink); directories and
    /// synthetic files compute theirs.
    fn adjust_links(&self, delta: i32) {
        let _ = delta;
    }
    /// Device number of a device node.
    fn rdev(&self) -> u64 {
        0
    }
    /// Device of the filesystem holding the inode.
    fn dev(&self) -> u64 {
        RAMFS_DEV
    }

    /// The child called `name` of a directory.
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let _ = name;
        Err(Errno::ENOTDIR)
    }
    /// A directory's entries (without `.` and `..`).
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Creates a child of a directory (EEXIST when the name is taken).
    fn create(&self, name: &[u8], what: NewNode, mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        let _ = (name, what, mode);
        Err(Errno::ENOTDIR)
    }
    /// Adds `node` to a directory as `name`, replacing what was there.
    fn insert(&self, name: &[u8], node: Arc<dyn Inode>) -> Result<(), Errno> {
        let _ = (name, node);
        Err(Errno::ENOTDIR)
    }
    /// Removes the entry `name` of a directory (no checks: the caller made them).
    fn remove(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let _ = name;
        Err(Errno::ENOTDIR)
    }

    /// A symlink's target.
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// Reads file content at `off`.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let _ = (off, buf);
        Err(Errno::EINVAL)
    }
    /// Writes file content at `off` (growing the file).
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let _ = (off, data);
        Err(Errno::EINVAL)
    }
    /// Sets the file size.
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let _ = len;
        Err(Errno::EINVAL)
    }
    /// fallocate's allocation: takes the storage of bytes [start, end) now, where
    /// the filesystem keeps it apart from the bytes (a RAM file's pages); others
    /// have nothing to do.
    fn allocate(&self, start: u64, end: u64) -> Result<(), Errno> {
        let _ = (start, end);
        Ok(())
    }
    /// fallocate's hole punching within the size: bytes [start, end) read as
    /// zeros after it; by writing zeros unless the filesystem frees the storage.
    fn punch_hole(&self, start: u64, end: u64) -> Result<(), Errno> {
        let zeros = alloc::vec![0u8; 64 * 1024];
        let mut pos = start;
        while pos < end {
            let k = ((end - pos) as usize).min(zeros.len());
            self.write_at(pos, zeros.get(..k).unwrap_or(&[]))?;
            pos += k as u64;
        }
        Ok(())
    }
    /// The whole content when it lies in the initrd unchanged (zero-copy exec).
    fn static_bytes(&self) -> Option<&'static [u8]> {
        None
    }
    /// The file's seals, for a file that can be sealed (a RAM file; see [`seals`]).
    fn seals(&self) -> Option<&core::sync::atomic::AtomicU32> {
        None
    }
    /// The frame that holds page `pgoff` of the content, when the file keeps that
    /// page resident in a frame of its own, with one more owner taken for the
    /// caller (`frames::share`; the caller gives it back with `frames::put`). A
    /// private mapping maps it read-only instead of copying it, as Linux maps its
    /// page cache, and copies it on the first write.
    fn share_page(&self, pgoff: u64) -> Option<u64> {
        let _ = pgoff;
        None
    }

    /// For a /proc/<pid>/fd link: the open file it stands for, as an inode that
    /// reopens it (Linux's "magic" links are followed to the file, not by name).
    fn follow_magic(&self) -> Option<Arc<dyn Inode>> {
        None
    }

    /// Extended attributes, when the filesystem keeps them (else EOPNOTSUPP).
    fn xattrs(&self) -> Option<&Xattrs> {
        None
    }
    /// The pipe state of a FIFO node.
    fn fifo(&self) -> Option<&fifo::Fifo> {
        None
    }
    /// Before the file is mapped or executed: forgets what the node keeps of a
    /// file that changed underneath it (a volume's page cache, when the host
    /// file changed).
    fn refresh(&self) {}
    /// Renames the entry `old` of this directory to `new` in `new_dir`, for
    /// filesystems that rename in one step (volumes); None lets the caller move
    /// the entry itself (`remove`, then `insert`).
    fn rename_within(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8]) -> Option<Result<(), Errno>> {
        let _ = (old, new_dir, new);
        None
    }
    /// Makes the content durable (fsync); RAM filesystems have nothing to do.
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
    /// statfs of the filesystem holding the inode, when it is not the RAM one.
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        None
    }

    /// Opens the inode: device and /proc nodes give their own files; the default is
    /// a file reading and writing the inode's content.
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno>;
}

/// Type bits of an inode.
pub fn ftype(n: &dyn Inode) -> u32 {
    n.file_type()
}

/// True for directories.
pub fn is_dir(n: &dyn Inode) -> bool {
    ftype(n) == S_IFDIR
}

/// `stat` information of an inode.
pub fn stat_of(n: &dyn Inode) -> StatInfo {
    let m = n.meta();
    let size = n.size();
    StatInfo {
        dev: n.dev(),
        ino: n.ino(),
        mode: m.mode,
        nlink: n.nlink(),
        uid: m.uid,
        gid: m.gid,
        rdev: n.rdev(),
        size: size as i64,
        blksize: 4096,
        blocks: n.blocks(),
        atime: m.atime,
        mtime: m.mtime,
        ctime: m.ctime,
        btime: m.btime,
    }
}

/// `DT_*` of a mode.
pub fn dtype_of(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => 8,
        S_IFDIR => 4,
        S_IFLNK => 10,
        S_IFCHR => 2,
        S_IFBLK => 6,
        S_IFIFO => 1,
        S_IFSOCK => 12,
        _ => 0,
    }
}

/// A resolved path: the inode and its canonical absolute path.
#[derive(Clone)]
pub struct Resolved {
    /// The inode.
    pub node: Arc<dyn Inode>,
    /// Canonical absolute path (no `.`/`..`/symlinks), `/` for the root.
    pub path: Vec<u8>,
}

/// The root directory.
static ROOT: spin::Once<Arc<dyn Inode>> = spin::Once::new();

/// The root directory.
pub fn root() -> Arc<dyn Inode> {
    match ROOT.get() {
        Some(r) => r.clone(),
        None => ramfs::Dir::new(0o755),
    }
}

fn join(stack: &[(Vec<u8>, Arc<dyn Inode>)]) -> Vec<u8> {
    if stack.is_empty() {
        return b"/".to_vec();
    }
    let mut p = Vec::new();
    for (name, _) in stack {
        p.push(b'/');
        p.extend_from_slice(name);
    }
    p
}

/// Appends `name` to the directory path `dir`.
pub fn child_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p != b"/" {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// Restrictions on a path walk (openat2's RESOLVE_* flags).
#[derive(Clone, Copy, Debug, Default)]
pub struct Restrict {
    /// No mount point crossed (RESOLVE_NO_XDEV): EXDEV.
    pub no_xdev: bool,
    /// No /proc magic link followed (RESOLVE_NO_MAGICLINKS): ELOOP.
    pub no_magiclinks: bool,
    /// No symlink followed (RESOLVE_NO_SYMLINKS): ELOOP.
    pub no_symlinks: bool,
    /// Nothing outside the starting directory (RESOLVE_BENEATH): EXDEV.
    pub beneath: bool,
    /// The starting directory is the root (RESOLVE_IN_ROOT).
    pub in_root: bool,
    /// Every directory looked into must be searchable by the calling thread
    /// (EACCES): the walk of a path a program gave.
    pub search: bool,
}

impl Restrict {
    fn scoped(&self) -> bool {
        self.beneath || self.in_root
    }
}

/// Walks `path` from the directory `base` (an absolute canonical path) under the
/// restrictions `r`, following a final symlink when `follow_last`, and returns the
/// canonical absolute path it names. A missing last component is not an error
/// (the caller may create it): the path then ends with its name.
/// `proc_root` is the caller's root directory (chroot), where an absolute path
/// of an unscoped walk starts.
pub fn resolve_restricted(
    proc_root: &[u8],
    base: &[u8],
    path: &[u8],
    follow_last: bool,
    r: Restrict,
) -> Result<Vec<u8>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    // A scoped walk starts at `base` as its root; the others at the real root,
    // with `base` walked first.
    let (scope_root, top, prefix, mut stack) = if r.scoped() {
        (resolve(b"/", base, true)?.node, Vec::new(), base.to_vec(), Vec::new())
    } else {
        let mut stack = Vec::new();
        let mut links = 0;
        if path.first() != Some(&b'/') {
            walk(&root(), &[], &mut stack, base, true, &mut links)?;
        }
        (root(), root_stack(proc_root)?, b"/".to_vec(), stack)
    };
    let follow_last = follow_last || path.last() == Some(&b'/');
    let mut links = 0;
    let missing = walk_restricted(&scope_root, &top, &mut stack, path, follow_last, &mut links, r, true)?;
    let mut out = prefix;
    for (name, _) in stack.iter() {
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(name);
    }
    if let Some(name) = missing {
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(&name);
    }
    Ok(out)
}

/// A walk's position: the components entered from the root, with their nodes.
type Stack = Vec<(Vec<u8>, Arc<dyn Inode>)>;

/// The stack of the caller's root directory `proc_root` (empty for `/`).
fn root_stack(proc_root: &[u8]) -> Result<Stack, Errno> {
    let mut top = Vec::new();
    if proc_root != b"/" {
        let mut links = 0;
        walk(&root(), &[], &mut top, proc_root, true, &mut links)?;
    }
    Ok(top)
}

/// Whether `stack` stands on the root directory whose stack is `top`.
fn at_top(stack: &[(Vec<u8>, Arc<dyn Inode>)], top: &[(Vec<u8>, Arc<dyn Inode>)]) -> bool {
    match (stack.last(), top.last()) {
        (Some((_, a)), Some((_, b))) => stack.len() == top.len() && a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// [`walk`] with the restrictions `r`, from `root` (the scope's root for a scoped
/// walk). An absolute path (or symlink) starts again at `top`, the caller's root
/// directory, above which `..` does not go. With `missing_ok`, a missing last
/// component is no error: its name is returned.
#[allow(clippy::too_many_arguments)]
fn walk_restricted(
    root: &Arc<dyn Inode>,
    top: &[(Vec<u8>, Arc<dyn Inode>)],
    stack: &mut Stack,
    path: &[u8],
    follow_last: bool,
    links: &mut usize,
    r: Restrict,
    missing_ok: bool,
) -> Result<Option<Vec<u8>>, Errno> {
    if path.first() == Some(&b'/') {
        if r.beneath {
            return Err(Errno::EXDEV);
        }
        stack.clear();
        stack.extend_from_slice(top);
    }
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let n = comps.len();
    for (i, c) in comps.into_iter().enumerate() {
        let last = i + 1 == n;
        if c.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        let cur = stack.last().map(|(_, n)| n.clone()).unwrap_or_else(|| root.clone());
        if !is_dir(&*cur) {
            return Err(Errno::ENOTDIR);
        }
        if r.search && !crate::task::may_search(&*cur) {
            return Err(Errno::EACCES);
        }
        match c {
            b"." => continue,
            // The caller's root directory is as high as `..` goes.
            b".." if at_top(stack, top) => continue,
            b".." => {
                match stack.pop() {
                    // Above the scope's root: refused beneath it, the root itself
                    // in it (and above the real root).
                    None if r.beneath => return Err(Errno::EXDEV),
                    None => {}
                    Some((_, left)) => {
                        let up = stack.last().map(|(_, n)| n.clone()).unwrap_or_else(|| root.clone());
                        if r.no_xdev && up.dev() != left.dev() {
                            return Err(Errno::EXDEV);
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let child = match cur.lookup(c) {
            Ok(child) => child,
            Err(Errno::ENOENT) if last && missing_ok => return Ok(Some(c.to_vec())),
            Err(e) => return Err(e),
        };
        if r.no_xdev && child.dev() != cur.dev() {
            return Err(Errno::EXDEV);
        }
        if ftype(&*child) == S_IFLNK && (!last || follow_last) {
            if let Some(target) = child.follow_magic() {
                if r.no_magiclinks || r.no_symlinks {
                    return Err(Errno::ELOOP);
                }
                if r.scoped() {
                    return Err(Errno::EXDEV);
                }
                stack.push((c.to_vec(), target));
                continue;
            }
            if r.no_symlinks {
                return Err(Errno::ELOOP);
            }
            *links += 1;
            if *links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = child.readlink()?;
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            // A dangling last symlink: what it names may be created.
            if let Some(name) = walk_restricted(root, top, stack, &target, true, links, r, last && missing_ok)? {
                return Ok(Some(name));
            }
            continue;
        }
        stack.push((c.to_vec(), child));
    }
    Ok(None)
}

/// Walks `path` relative to `base` (an absolute canonical directory path).
/// With `follow_last`, a final symlink is followed.
pub fn resolve(base: &[u8], path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
    resolve_with(b"/", base, path, follow_last, Restrict::default())
}

/// [`resolve`] for the calling thread, whose root directory (chroot) is
/// `proc_root`: an absolute path starts there, and `..` goes no higher; each
/// directory the path looks into must be searchable by the caller (EACCES).
/// Paths in and out are canonical paths from the real root.
pub fn resolve_as(proc_root: &[u8], base: &[u8], path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
    let search = !crate::task::searches_anywhere();
    resolve_with(proc_root, base, path, follow_last, Restrict { search, ..Restrict::default() })
}

fn resolve_with(proc_root: &[u8], base: &[u8], path: &[u8], follow_last: bool, r: Restrict) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let root = root();
    let top = root_stack(proc_root)?;
    let mut stack: Stack = Vec::new();
    let mut links = 0;
    if path.first() != Some(&b'/') {
        walk(&root, &[], &mut stack, base, true, &mut links)?;
    }
    // A trailing slash makes the last component a directory to look into, so a
    // final symlink is followed even by lstat (Linux's LOOKUP_FOLLOW there).
    let follow_last = follow_last || path.last() == Some(&b'/');
    walk_restricted(&root, &top, &mut stack, path, follow_last, &mut links, r, false)?;
    let node = stack.last().map(|(_, n)| n.clone()).unwrap_or(root);
    // A trailing slash requires a directory.
    if path.last() == Some(&b'/') && !is_dir(&*node) {
        return Err(Errno::ENOTDIR);
    }
    Ok(Resolved { node, path: join(&stack) })
}

/// Walks `path` from the top of `stack` (`root` when it is empty), pushing each
/// component it enters.
fn walk(
    root: &Arc<dyn Inode>,
    top: &[(Vec<u8>, Arc<dyn Inode>)],
    stack: &mut Stack,
    path: &[u8],
    follow_last: bool,
    links: &mut usize,
) -> Result<(), Errno> {
    walk_restricted(root, top, stack, path, follow_last, links, Restrict::default(), false).map(|_| ())
}

/// `path` (canonical, from the real root) as a process whose root directory is
/// `proc_root` names it: relative to that root when inside it, else unchanged
/// (None then, for getcwd's "(unreachable)").
pub fn in_root(proc_root: &[u8], path: &[u8]) -> Option<Vec<u8>> {
    if proc_root == b"/" {
        return Some(path.to_vec());
    }
    match path.strip_prefix(proc_root) {
        Some(b"") => Some(b"/".to_vec()),
        Some(rest) if rest.first() == Some(&b'/') => Some(rest.to_vec()),
        _ => None,
    }
}

/// Resolves all but the last component: (parent directory, its path, last name).
pub fn resolve_parent(base: &[u8], path: &[u8]) -> Result<(Resolved, Vec<u8>), Errno> {
    parent_with(b"/", base, path, Restrict::default())
}

/// [`resolve_parent`] for the calling thread, as [`resolve_as`] walks; the
/// parent must be searchable too (the last name is looked up in it).
pub fn resolve_parent_as(proc_root: &[u8], base: &[u8], path: &[u8]) -> Result<(Resolved, Vec<u8>), Errno> {
    let search = !crate::task::searches_anywhere();
    let (parent, name) = parent_with(proc_root, base, path, Restrict { search, ..Restrict::default() })?;
    if search && !crate::task::may_search(&*parent.node) {
        return Err(Errno::EACCES);
    }
    Ok((parent, name))
}

fn parent_with(proc_root: &[u8], base: &[u8], path: &[u8], r: Restrict) -> Result<(Resolved, Vec<u8>), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let trimmed = {
        let mut p = path;
        while p.len() > 1 && p.last() == Some(&b'/') {
            p = p.get(..p.len() - 1).unwrap_or(p);
        }
        p
    };
    let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (trimmed.get(..i.max(1)).unwrap_or(b"/"), trimmed.get(i + 1..).unwrap_or(b"")),
        None => (&b"."[..], trimmed),
    };
    let dir = if dir.is_empty() { &b"/"[..] } else { dir };
    let parent = resolve_with(proc_root, base, dir, true, r)?;
    if !is_dir(&*parent.node) {
        return Err(Errno::ENOTDIR);
    }
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok((parent, name.to_vec()))
}

/// Creates `path` (and missing parents) as directories under the root.
pub fn mkdir_p(path: &[u8]) -> Arc<dyn Inode> {
    let mut cur = root();
    for c in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        cur = match cur.lookup(c) {
            Ok(n) => n,
            Err(_) => match cur.create(c, NewNode::Dir, 0o755) {
                Ok(d) => d,
                Err(_) => return cur,
            },
        };
    }
    cur
}

/// `statfs` flags (include/linux/statfs.h): the flags are valid, and the mount options.
pub mod st {
    /// f_flags is filled in.
    pub const VALID: i64 = 0x20;
    /// nosuid, nodev, noexec.
    pub const NOSUID: i64 = 2;
    /// nodev.
    pub const NODEV: i64 = 4;
    /// noexec.
    pub const NOEXEC: i64 = 8;
    /// relatime.
    pub const RELATIME: i64 = 0x1000;
}

/// What statfs reports for a filesystem that stores nothing (procfs, sysfs,
/// devpts): its magic, no blocks or inodes, and its mount flags.
pub fn pseudo_statfs(magic: i64, flags: i64) -> elfin_shim::uapi::Statfs {
    elfin_shim::uapi::Statfs {
        f_type: magic,
        f_bsize: 4096,
        f_namelen: 255,
        f_frsize: 4096,
        f_flags: st::VALID | flags,
        ..Default::default()
    }
}

/// Run configuration found in the initrd's `/.elfin/run`.
#[derive(Default, Debug)]
pub struct RunConfig {
    /// Program path.
    pub exe: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// argv.
    pub argv: Vec<Vec<u8>>,
    /// envp.
    pub envp: Vec<Vec<u8>>,
    /// File descriptors that are terminals on the host.
    pub ttys: Vec<i32>,
    /// The host terminal's size (rows, columns).
    pub winsize: Option<(u16, u16)>,
}

/// Builds the root filesystem from the initrd; returns the run configuration.
pub fn init(initrd: Option<Module>) -> RunConfig {
    let root: Arc<dyn Inode> = ramfs::Dir::new(0o755);
    ROOT.call_once(|| root.clone());
    let mut cfg = RunConfig { cwd: b"/".to_vec(), ..Default::default() };
    let mut run: &[u8] = &[];
    // /dev is made lazily (its entries at the first look inside).
    let mut lazy_dev = false;
    if let Some(m) = initrd {
        // SAFETY: the initrd lies in RAM reserved from the frame allocator for the
        // kernel's lifetime and is covered by the direct map; it is never written.
        let data: &'static [u8] =
            unsafe { core::slice::from_raw_parts(elfin_arch::phys_to_virt(m.paddr) as *const u8, m.size as usize) };
        // Directory times are set once everything is in place (as Linux's
        // initramfs unpacker does): adding an entry to a directory touches it.
        let mut dir_times: Vec<(Arc<dyn Inode>, Timespec)> = Vec::new();
        let mut last_dir: Option<(&[u8], Arc<dyn Inode>)> = None;
        let mut members = cpio::Reader::new(data);
        // A member read ahead (by `files_after`), handled next.
        let mut ahead = None;
        while let Some(e) = ahead.take().or_else(|| members.next()) {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    kprintln!("elfin: {}", err);
                    break;
                }
            };
            let name = member_path(e.name);
            if name.is_empty() || name == b"." {
                continue;
            }
            if name == b".elfin/run" {
                parse_run(e.data, &mut cfg);
                run = e.data;
                continue;
            }
            // procfs takes /proc's place once the archive is read.
            if name.starts_with(b".elfin") || name == b"proc" {
                continue;
            }
            let (dir, base) = match name.iter().rposition(|&b| b == b'/') {
                Some(i) => (name.get(..i).unwrap_or(b""), name.get(i + 1..).unwrap_or(b"")),
                None => (&b""[..], name),
            };
            // Members of one directory come one after another: its lookup is reused
            // until an entry that could change what a path names (a directory, a
            // symlink) is added.
            let parent = match &last_dir {
                Some((d, p)) if *d == dir => p.clone(),
                _ => {
                    let p = mkdir_p(dir);
                    last_dir = Some((dir, p.clone()));
                    p
                }
            };
            if e.mode & S_IFMT != S_IFREG {
                last_dir = None;
            }
            let perm = e.mode & 0o7777;
            let t = Timespec { tv_sec: i64::from(e.mtime), tv_nsec: 0 };
            let meta = Meta::at(0, e.uid, e.gid, t);
            let node: Arc<dyn Inode> = match e.mode & S_IFMT {
                S_IFDIR => match parent.lookup(base) {
                    Ok(existing) if is_dir(&*existing) => {
                        let _ = existing.set_meta(&mut |m| {
                            m.mode = S_IFDIR | perm;
                            m.uid = e.uid;
                            m.gid = e.gid;
                            m.atime = t;
                            m.mtime = t;
                            m.ctime = t;
                            m.btime = t;
                        });
                        dir_times.push((existing, t));
                        continue;
                    }
                    _ => {
                        let meta = Meta { mode: S_IFDIR | perm, ..meta };
                        let d: Arc<dyn Inode> = if dir.is_empty() && base == b"dev" {
                            lazy_dev = true;
                            ramfs::Dir::lazy(meta, dev::filler())
                        } else {
                            match files_after(&mut members, name, &mut ahead) {
                                Some(fill) => ramfs::Dir::lazy(meta, fill),
                                None => ramfs::Dir::with_meta(meta),
                            }
                        };
                        dir_times.push((d.clone(), t));
                        d
                    }
                },
                S_IFLNK => ramfs::Symlink::with_meta(e.data.to_vec(), Meta { mode: S_IFLNK | 0o777, ..meta }),
                S_IFREG => initrd_file(&e),
                _ => continue,
            };
            let _ = parent.insert(base, node);
        }
        for (d, t) in dir_times {
            let _ = d.set_meta(&mut |m| {
                m.atime = t;
                m.mtime = t;
                m.ctime = t;
            });
        }
    }
    match root.lookup(b"dev") {
        Err(_) => {
            let _ = root.insert(b"dev", ramfs::Dir::lazy(Meta::new(S_IFDIR | 0o755), dev::filler()));
        }
        Ok(d) if !lazy_dev => {
            // The initrd made /dev on the way to an entry inside it: filled now,
            // around what the initrd put there.
            let mut made = ramfs::Entries::new();
            dev::filler()(&mut made);
            for (name, node) in made {
                if d.lookup(&name).is_err() {
                    let _ = d.insert(&name, node);
                }
            }
        }
        Ok(_) => {}
    }
    let tmp = mkdir_p(b"/tmp");
    let _ = tmp.set_meta(&mut |m| m.mode = S_IFDIR | 0o1777);
    let _ = root.insert(b"proc", procfs::root());
    ninep::mount_volumes(run);
    cfg
}

/// An initrd member's path in the tree (without a leading `./` or `/`).
fn member_path(name: &[u8]) -> &[u8] {
    let name = name.strip_prefix(b"./").unwrap_or(name);
    name.strip_prefix(b"/").unwrap_or(name)
}

/// A regular file of the initrd, its content left in place.
fn initrd_file(e: &cpio::Entry<'static>) -> Arc<dyn Inode> {
    let t = Timespec { tv_sec: i64::from(e.mtime), tv_nsec: 0 };
    ramfs::File::from_initrd(e.data, Meta { mode: S_IFREG | (e.mode & 0o7777), ..Meta::at(0, e.uid, e.gid, t) })
}

/// Takes the regular files that follow directory `dir` in the archive and lie
/// directly inside it, and returns what makes them at the first look inside the
/// directory: a program that never opens, say, `/etc` does not pay for its files
/// at boot. None when no such member follows. The first member read that is not
/// one of them is left in `ahead`.
fn files_after(
    members: &mut cpio::Reader<'static>,
    dir: &[u8],
    ahead: &mut Option<Result<cpio::Entry<'static>, cpio::CpioError>>,
) -> Option<ramfs::Filler> {
    let data = members.data();
    let start = members.offset();
    let mut end = start;
    let mut count = 0usize;
    while let Some(e) = members.next() {
        let inside = e.as_ref().is_ok_and(|e| {
            let name = member_path(e.name);
            e.mode & S_IFMT == S_IFREG
                && name.len() > dir.len() + 1
                && name.starts_with(dir)
                && name.get(dir.len()) == Some(&b'/')
                && !name.get(dir.len() + 1..).unwrap_or(&[]).contains(&b'/')
        });
        if !inside {
            *ahead = Some(e);
            break;
        }
        count += 1;
        end = members.offset();
    }
    if count == 0 {
        return None;
    }
    let part = data.get(start..end)?;
    Some(alloc::boxed::Box::new(move |entries: &mut ramfs::Entries| {
        for e in cpio::Reader::new(part).take(count).flatten() {
            let name = member_path(e.name);
            let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
            // A later member of the same name replaces an earlier one, as a
            // member added to a directory does.
            entries.insert(base.to_vec(), initrd_file(&e));
        }
    }))
}

fn parse_run(data: &[u8], cfg: &mut RunConfig) {
    for rec in data.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        if let Some(v) = rec.strip_prefix(b"exe=") {
            cfg.exe = v.to_vec();
        } else if let Some(v) = rec.strip_prefix(b"cwd=") {
            cfg.cwd = v.to_vec();
        } else if let Some(v) = rec.strip_prefix(b"arg=") {
            cfg.argv.push(v.to_vec());
        } else if let Some(v) = rec.strip_prefix(b"env=") {
            cfg.envp.push(v.to_vec());
        } else if let Some(v) = rec.strip_prefix(b"winsize=") {
            let s = core::str::from_utf8(v).unwrap_or("");
            if let Some((r, c)) = s.split_once('x') {
                if let (Ok(r), Ok(c)) = (r.parse(), c.parse()) {
                    cfg.winsize = Some((r, c));
                }
            }
        } else if let Some(v) = rec.strip_prefix(b"tty=") {
            cfg.ttys = v.iter().filter(|c| c.is_ascii_digit()).map(|c| i32::from(c - b'0')).collect();
        }
    }
}
