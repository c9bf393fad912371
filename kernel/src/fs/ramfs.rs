//! The in-memory filesystem: the root filesystem built from the initrd and
//! everything programs create in it. File content stays in the initrd (zero-copy)
//! until it is first written.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;

use super::file::{FileLike, InodeFile};
use super::{dtype_of, next_ino, now_secs, DirEntry, Inode, Meta, NewNode};

/// File content: borrowed from the initrd until first written.
pub enum Content {
    /// Bytes of the initrd (never freed).
    Borrowed(&'static [u8]),
    /// Bytes owned by the kernel heap.
    Owned(Vec<u8>),
}

impl Content {
    /// The current bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Content::Borrowed(b) => b,
            Content::Owned(v) => v,
        }
    }
    /// Mutable bytes, copying borrowed content first.
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if let Content::Borrowed(b) = self {
            *self = Content::Owned(b.to_vec());
        }
        match self {
            Content::Owned(v) => v,
            Content::Borrowed(_) => unreachable!("converted above"),
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
}

impl File {
    /// An empty file.
    pub fn new(perm: u32) -> Arc<File> {
        Arc::new(File {
            ino: next_ino(),
            meta: Mutex::new(Meta::new(S_IFREG | (perm & 0o7777))),
            content: Mutex::new(Content::Owned(Vec::new())),
            links: AtomicU32::new(1),
            writers: core::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A file whose content is a slice of the initrd.
    pub fn from_initrd(data: &'static [u8], meta: Meta) -> Arc<File> {
        Arc::new(File {
            ino: next_ino(),
            meta: Mutex::new(meta),
            content: Mutex::new(Content::Borrowed(data)),
            links: AtomicU32::new(1),
            writers: core::sync::atomic::AtomicUsize::new(0),
        })
    }
}

impl Inode for File {
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
        self.content.lock().bytes().len() as u64
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
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let c = self.content.lock();
        let data = c.bytes();
        let start = usize::try_from(off).unwrap_or(usize::MAX);
        let avail = data.get(start..).unwrap_or(&[]);
        let n = avail.len().min(buf.len());
        buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(avail.get(..n).unwrap_or(&[]));
        Ok(n)
    }
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut c = self.content.lock();
        let start = usize::try_from(off).map_err(|_| Errno::EFBIG)?;
        let end = start.checked_add(data.len()).ok_or(Errno::EFBIG)?;
        if c.bytes().get(start..end) == Some(data) {
            return Ok(data.len());
        }
        let v = c.make_mut();
        if end > v.len() {
            v.try_reserve(end - v.len()).map_err(|_| Errno::ENOSPC)?;
            v.resize(end, 0);
        }
        v.get_mut(start..end).ok_or(Errno::EFBIG)?.copy_from_slice(data);
        drop(c);
        self.meta.lock().mtime = now_secs();
        Ok(data.len())
    }
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        let mut c = self.content.lock();
        if c.bytes().len() == len {
            return Ok(());
        }
        let v = c.make_mut();
        v.try_reserve(len.saturating_sub(v.len())).map_err(|_| Errno::ENOSPC)?;
        v.resize(len, 0);
        if v.capacity() > 2 * len.max(4096) {
            v.shrink_to_fit();
        }
        drop(c);
        self.meta.lock().mtime = now_secs();
        Ok(())
    }
    fn static_bytes(&self) -> Option<&'static [u8]> {
        match &*self.content.lock() {
            Content::Borrowed(b) => Some(b),
            Content::Owned(_) => None,
        }
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Ok(InodeFile::with_access(self, flags))
    }
}

/// A directory.
pub struct Dir {
    ino: u64,
    meta: Mutex<Meta>,
    entries: Mutex<BTreeMap<Vec<u8>, Arc<dyn Inode>>>,
}

impl Dir {
    /// An empty directory.
    pub fn new(perm: u32) -> Arc<Dir> {
        Dir::with_meta(Meta::new(S_IFDIR | (perm & 0o7777)))
    }
    /// An empty directory with this metadata.
    pub fn with_meta(meta: Meta) -> Arc<Dir> {
        Arc::new(Dir { ino: next_ino(), meta: Mutex::new(meta), entries: Mutex::new(BTreeMap::new()) })
    }
}

impl Inode for Dir {
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
        4096
    }
    fn nlink(&self) -> u32 {
        // Its entry, its ".", and each subdirectory's "..".
        2 + self.entries.lock().values().filter(|c| c.meta().mode & S_IFMT == S_IFDIR).count() as u32
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.entries.lock().get(name).cloned().ok_or(Errno::ENOENT)
    }
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self
            .entries
            .lock()
            .iter()
            .map(|(name, n)| DirEntry { name: name.clone(), ino: n.ino(), dtype: dtype_of(n.meta().mode) })
            .collect())
    }
    fn create(&self, name: &[u8], what: NewNode, mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        let mut e = self.entries.lock();
        if e.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let node: Arc<dyn Inode> = match what {
            NewNode::File => File::new(mode),
            NewNode::Dir => Dir::new(mode),
            NewNode::Symlink(t) => Symlink::with_meta(t, Meta::new(S_IFLNK | 0o777)),
        };
        e.insert(name.to_vec(), node.clone());
        drop(e);
        self.meta.lock().mtime = now_secs();
        Ok(node)
    }
    fn insert(&self, name: &[u8], node: Arc<dyn Inode>) -> Result<(), Errno> {
        self.entries.lock().insert(name.to_vec(), node);
        Ok(())
    }
    fn remove(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let n = self.entries.lock().remove(name).ok_or(Errno::ENOENT)?;
        self.meta.lock().mtime = now_secs();
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
}

impl Symlink {
    /// A link to `target`.
    pub fn with_meta(target: Vec<u8>, meta: Meta) -> Arc<Symlink> {
        Arc::new(Symlink { ino: next_ino(), meta: Mutex::new(meta), target })
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
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok(self.target.clone())
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Err(Errno::ELOOP)
    }
}
