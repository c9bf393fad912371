//! The in-memory filesystem: the root filesystem built from the initrd and
//! everything programs create in it. File content stays in the initrd (zero-copy)
//! until it is first written.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;

use super::file::{FileLike, InodeFile, O_ACCMODE, O_PATH};
use super::pages::{Paged, PAGE};
use super::{dtype_of, next_ino, DirEntry, Fixed, Inode, Meta, NewNode, Xattrs};

/// File content: borrowed from the initrd until first written.
pub enum Content {
    /// Bytes of the initrd (never freed).
    Borrowed(&'static [u8]),
    /// Pages owned by the kernel heap.
    Owned(Paged),
}

impl Content {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Content::Borrowed(b) => b.len(),
            Content::Owned(p) => p.len(),
        }
    }
    /// Copies bytes from `off` into `buf`; returns how many.
    pub fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        match self {
            Content::Borrowed(b) => {
                let avail = b.get(off..).unwrap_or(&[]);
                let n = avail.len().min(buf.len());
                buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(avail.get(..n).unwrap_or(&[]));
                n
            }
            Content::Owned(p) => p.read_at(off, buf),
        }
    }
    /// The pages, copying borrowed content first (ENOSPC when it does not fit).
    pub fn make_mut(&mut self) -> Result<&mut Paged, Errno> {
        if let Content::Borrowed(b) = self {
            *self = Content::Owned(Paged::from_slice(b)?);
        }
        match self {
            Content::Owned(p) => Ok(p),
            Content::Borrowed(_) => Err(Errno::EIO),
        }
    }
}

/// A regular file.
pub struct File {
    ino: u64,
    meta: Mutex<Meta>,
    content: Mutex<Content>,
    links: AtomicU32,
    writers: core::sync::atomic::AtomicUsize,
    xattrs: Xattrs,
    /// F_ADD_SEALS's seals; F_SEAL_SEAL (no sealing) unless made by
    /// memfd_create with MFD_ALLOW_SEALING, as on Linux's tmpfs.
    seals: AtomicU32,
    /// A sysfs attribute without a store (see [`File::attribute`]).
    attribute: bool,
}

impl File {
    /// An empty file.
    pub fn new(perm: u32) -> Arc<File> {
        Arc::new(File {
            ino: next_ino(),
            meta: Mutex::new(Meta::new(S_IFREG | (perm & 0o7777))),
            content: Mutex::new(Content::Owned(Paged::default())),
            links: AtomicU32::new(1),
            writers: core::sync::atomic::AtomicUsize::new(0),
            xattrs: Xattrs::default(),
            seals: AtomicU32::new(super::seals::F_SEAL_SEAL),
            attribute: false,
        })
    }

    /// An empty file holding `seals` from the start (memfd_create).
    pub fn with_seals(perm: u32, seals: u32) -> Arc<File> {
        let f = File::new(perm);
        f.seals.store(seals, Ordering::Release);
        f
    }

    /// A file whose content is a slice of the initrd.
    pub fn from_initrd(data: &'static [u8], meta: Meta) -> Arc<File> {
        Arc::new(File::borrowing(data, meta, false))
    }

    /// A sysfs attribute without a store, as Linux's kernfs makes one: a page
    /// long to stat (a read ends at the text's end), no blocks, EACCES to open
    /// for writing whatever the caller's rights, and truncate(2) changes nothing.
    pub fn attribute(text: &'static [u8], meta: Meta) -> Arc<File> {
        Arc::new(File::borrowing(text, meta, true))
    }

    fn borrowing(data: &'static [u8], meta: Meta, attribute: bool) -> File {
        File {
            ino: next_ino(),
            meta: Mutex::new(meta),
            content: Mutex::new(Content::Borrowed(data)),
            links: AtomicU32::new(1),
            writers: core::sync::atomic::AtomicUsize::new(0),
            xattrs: Xattrs::default(),
            seals: AtomicU32::new(super::seals::F_SEAL_SEAL),
            attribute,
        }
    }
}

impl Inode for File {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn dev(&self) -> u64 {
        if self.attribute {
            super::SYSFS_DEV
        } else {
            super::RAMFS_DEV
        }
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn size(&self) -> u64 {
        if self.attribute {
            return PAGE as u64;
        }
        self.content.lock().len() as u64
    }
    fn blocks(&self) -> u64 {
        if self.attribute {
            return 0;
        }
        // tmpfs counts the pages that hold memory; initrd bytes count whole.
        match &*self.content.lock() {
            Content::Borrowed(b) => b.len().div_ceil(PAGE) as u64 * 8,
            Content::Owned(p) => p.pages() as u64 * 8,
        }
    }
    fn nlink(&self) -> u32 {
        self.links.load(Ordering::Relaxed)
    }
    fn note_writer(&self, more: bool) {
        if more {
            self.writers.fetch_add(1, Ordering::Relaxed);
        } else {
            self.writers.fetch_sub(1, Ordering::Relaxed);
        }
    }
    fn writers(&self) -> usize {
        self.writers.load(Ordering::Relaxed)
    }
    fn adjust_links(&self, delta: i32) {
        let _ = self.links.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add_signed(delta)));
        self.meta.lock().touch_ctime();
    }
    fn xattrs(&self) -> Option<&Xattrs> {
        Some(&self.xattrs)
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        self.attribute.then(sysfs_statfs)
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let start = usize::try_from(off).unwrap_or(usize::MAX);
        Ok(self.content.lock().read_at(start, buf))
    }
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut c = self.content.lock();
        let start = usize::try_from(off).map_err(|_| Errno::EFBIG)?;
        let end = start.checked_add(data.len()).ok_or(Errno::EFBIG)?;
        if let Content::Borrowed(b) = &*c {
            // Writing what the initrd already holds keeps the zero-copy bytes.
            if b.get(start..end) == Some(data) {
                return Ok(data.len());
            }
        }
        c.make_mut()?.write_at(start, data)?;
        drop(c);
        self.meta.lock().touch_mtime();
        Ok(data.len())
    }
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        if self.attribute {
            return Ok(());
        }
        let len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        let mut c = self.content.lock();
        let old = c.len();
        if old == len {
            return Ok(());
        }
        c.make_mut()?.truncate(len);
        drop(c);
        if len < old {
            // Mappings must not keep the pages past the new end (SIGBUS, as on Linux).
            crate::mem::vm::file_shrunk(self as *const File as *const (), len as u64);
        }
        self.meta.lock().touch_mtime();
        Ok(())
    }
    fn allocate(&self, start: u64, end: u64) -> Result<(), Errno> {
        if self.attribute {
            return Ok(());
        }
        let (start, end) =
            (usize::try_from(start).map_err(|_| Errno::EFBIG)?, usize::try_from(end).map_err(|_| Errno::EFBIG)?);
        self.content.lock().make_mut()?.allocate(start, end)
    }
    fn punch_hole(&self, start: u64, end: u64) -> Result<(), Errno> {
        let (start, end) =
            (usize::try_from(start).map_err(|_| Errno::EFBIG)?, usize::try_from(end).map_err(|_| Errno::EFBIG)?);
        self.content.lock().make_mut()?.punch(start, end);
        self.meta.lock().touch_mtime();
        Ok(())
    }
    fn seals(&self) -> Option<&AtomicU32> {
        Some(&self.seals)
    }
    fn static_bytes(&self) -> Option<&'static [u8]> {
        match &*self.content.lock() {
            Content::Borrowed(b) => Some(b),
            Content::Owned(_) => None,
        }
    }
    fn share_page(&self, pgoff: u64) -> Option<u64> {
        match &*self.content.lock() {
            Content::Owned(p) => p.share_page(usize::try_from(pgoff).ok()?),
            Content::Borrowed(_) => None,
        }
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        if self.attribute && flags & O_PATH == 0 && flags & O_ACCMODE != 0 {
            return Err(Errno::EACCES);
        }
        Ok(InodeFile::with_access(self, flags))
    }
}

/// A directory.
pub struct Dir {
    ino: u64,
    meta: Mutex<Meta>,
    entries: Mutex<Entries>,
    /// Makes the first entries at the first look inside (see [`Dir::lazy`]).
    fill: Mutex<Option<Filler>>,
    /// `fill` still holds a filler: the one flag every look checks.
    unfilled: AtomicBool,
    /// A directory of sysfs: programs cannot change its names (the kernel can).
    sealed: bool,
    xattrs: Xattrs,
}

/// statfs of sysfs (its directories and attributes): SYSFS_MAGIC, mounted
/// rw,nosuid,nodev,noexec,relatime as Linux distributions do.
fn sysfs_statfs() -> elfin_shim::uapi::Statfs {
    use super::st::*;
    super::pseudo_statfs(0x6265_6572, NOSUID | NODEV | NOEXEC | RELATIME)
}

/// A directory's entries by name.
pub type Entries = BTreeMap<Vec<u8>, Arc<dyn Inode>>;

/// Makes a directory's first entries.
pub type Filler = alloc::boxed::Box<dyn FnOnce(&mut Entries) + Send>;

impl Dir {
    /// An empty directory.
    pub fn new(perm: u32) -> Arc<Dir> {
        Dir::with_meta(Meta::new(S_IFDIR | (perm & 0o7777)))
    }
    /// An empty directory with this metadata.
    pub fn with_meta(meta: Meta) -> Arc<Dir> {
        Dir::make(meta, None, false)
    }
    /// A directory whose entries `fill` makes when something first looks inside
    /// (a lookup, a listing, a change): /dev and /sys cost nothing at boot for a
    /// program that never opens them.
    pub fn lazy(meta: Meta, fill: Filler) -> Arc<Dir> {
        Dir::make(meta, Some(fill), false)
    }
    /// A directory of sysfs (see [`Fixed::Sys`]), lazy when `fill` is given.
    pub fn sealed(meta: Meta, fill: Option<Filler>) -> Arc<Dir> {
        Dir::make(meta, fill, true)
    }
    fn make(meta: Meta, fill: Option<Filler>, sealed: bool) -> Arc<Dir> {
        Arc::new(Dir {
            ino: next_ino(),
            meta: Mutex::new(meta),
            entries: Mutex::new(BTreeMap::new()),
            unfilled: AtomicBool::new(fill.is_some()),
            fill: Mutex::new(fill),
            sealed,
            xattrs: Xattrs::default(),
        })
    }
    /// The entries, made first if the directory is lazy and nobody looked yet.
    fn map(&self) -> crate::sync::MutexGuard<'_, Entries> {
        let mut e = self.entries.lock();
        if self.unfilled.load(Ordering::Acquire) {
            let fill = self.fill.lock().take();
            if let Some(fill) = fill {
                fill(&mut e);
            }
            self.unfilled.store(false, Ordering::Release);
        }
        e
    }
}

impl Inode for Dir {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn dev(&self) -> u64 {
        if self.sealed {
            super::SYSFS_DEV
        } else {
            super::RAMFS_DEV
        }
    }
    fn fixed_names(&self) -> Option<Fixed> {
        self.sealed.then_some(Fixed::Sys)
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn size(&self) -> u64 {
        // tmpfs counts 20 bytes (BOGO_DIRENT_SIZE) for each entry, `.` and `..`
        // included; sysfs directories have no size.
        if self.sealed {
            0
        } else {
            20 * (2 + self.map().len() as u64)
        }
    }
    fn blocks(&self) -> u64 {
        // Entries take no pages.
        0
    }
    fn nlink(&self) -> u32 {
        // Its entry, its ".", and each subdirectory's "..".
        2 + self.map().values().filter(|c| c.meta().mode & S_IFMT == S_IFDIR).count() as u32
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.map().get(name).cloned().ok_or(Errno::ENOENT)
    }
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self
            .map()
            .iter()
            .map(|(name, n)| DirEntry { name: name.clone(), ino: n.ino(), dtype: dtype_of(n.meta().mode) })
            .collect())
    }
    fn create(&self, name: &[u8], what: NewNode, mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        let mut e = self.map();
        if e.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let node: Arc<dyn Inode> = match what {
            NewNode::File => File::new(mode),
            NewNode::Dir => Dir::new(mode),
            NewNode::Symlink(t) => Symlink::with_meta(t, Meta::new(S_IFLNK | 0o777)),
            NewNode::Fifo => Special::new(S_IFIFO | (mode & 0o7777), 0),
            NewNode::Device(ty, rdev) => Special::new(ty | (mode & 0o7777), rdev),
            NewNode::Socket => Special::new(S_IFSOCK | (mode & 0o7777), 0),
        };
        e.insert(name.to_vec(), node.clone());
        drop(e);
        self.meta.lock().touch_mtime();
        Ok(node)
    }
    fn insert(&self, name: &[u8], node: Arc<dyn Inode>) -> Result<(), Errno> {
        self.map().insert(name.to_vec(), node);
        self.meta.lock().touch_mtime();
        Ok(())
    }
    fn xattrs(&self) -> Option<&Xattrs> {
        Some(&self.xattrs)
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        self.sealed.then(sysfs_statfs)
    }
    fn remove(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let n = self.map().remove(name).ok_or(Errno::ENOENT)?;
        self.meta.lock().touch_mtime();
        Ok(n)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Ok(InodeFile::path_only(self))
    }
}

/// A symbolic link.
pub struct Symlink {
    ino: u64,
    meta: Mutex<Meta>,
    target: Vec<u8>,
    xattrs: Xattrs,
}

impl Symlink {
    /// A link to `target`.
    pub fn with_meta(target: Vec<u8>, meta: Meta) -> Arc<Symlink> {
        Arc::new(Symlink { ino: next_ino(), meta: Mutex::new(meta), target, xattrs: Xattrs::default() })
    }
}

impl Inode for Symlink {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn size(&self) -> u64 {
        self.target.len() as u64
    }
    fn blocks(&self) -> u64 {
        // tmpfs keeps a target shorter than 128 bytes in the inode, a longer one
        // in a page.
        if self.target.len() < 128 {
            0
        } else {
            8
        }
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok(self.target.clone())
    }
    fn xattrs(&self) -> Option<&Xattrs> {
        Some(&self.xattrs)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Err(Errno::ELOOP)
    }
}

/// A FIFO, device or socket node made by mknod.
pub struct Special {
    ino: u64,
    meta: Mutex<Meta>,
    rdev: u64,
    links: AtomicU32,
    xattrs: Xattrs,
    fifo: super::fifo::Fifo,
    /// The filesystem it is named in (st_dev).
    dev: u64,
}

impl Special {
    /// A node of type and mode `mode` (device number `rdev` for devices).
    pub fn new(mode: u32, rdev: u64) -> Arc<Special> {
        Self::on_dev(mode, rdev, next_ino(), super::RAMFS_DEV)
    }

    /// A node named in another filesystem, with its inode and device numbers.
    pub fn on_dev(mode: u32, rdev: u64, ino: u64, dev: u64) -> Arc<Special> {
        Arc::new(Special {
            ino,
            meta: Mutex::new(Meta::new(mode)),
            rdev,
            links: AtomicU32::new(1),
            xattrs: Xattrs::default(),
            fifo: super::fifo::Fifo::default(),
            dev,
        })
    }
}

impl Inode for Special {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn nlink(&self) -> u32 {
        self.links.load(Ordering::Relaxed)
    }
    fn adjust_links(&self, delta: i32) {
        let _ = self.links.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add_signed(delta)));
        self.meta.lock().touch_ctime();
    }
    fn rdev(&self) -> u64 {
        self.rdev
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn xattrs(&self) -> Option<&Xattrs> {
        Some(&self.xattrs)
    }
    fn fifo(&self) -> Option<&super::fifo::Fifo> {
        (self.meta().mode & S_IFMT == S_IFIFO).then_some(&self.fifo)
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        // FIFOs are opened by the open call itself (it may wait for a partner).
        match self.meta().mode & S_IFMT {
            S_IFCHR => super::dev::open_rdev(self.rdev, self, flags),
            _ => Err(Errno::ENXIO),
        }
    }
}
