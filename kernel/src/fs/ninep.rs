//! Volumes: a 9P2000.L client over the virtio-9p devices the host adds for
//! `elfin run -v HOST:GUEST[:ro]` (docs/protocol.md, "Volumes").
//!
//! Every operation goes to the host at once (no write-back): a write(2) has
//! reached the host file when it returns, so what a program wrote is there even
//! when the VM is killed, and fsync(2) asks the host to sync it. Reads go to the
//! host too; only the pages that private mappings map (a program's segments) are
//! kept, in a bounded page cache checked against the host file at each open, mmap
//! and exec (see [`PageCache`]). Files need no guest memory, whatever their size.
//!
//! Each [`Node`] holds a fid walked to its file (never opened), and opens further
//! fids for I/O on first use, one per access mode, kept until the node goes. Nodes
//! are shared per host inode (qid path), so that the VFS sees one inode per file.
//! Symlinks are never followed by the host (QEMU opens every path component with
//! O_NOFOLLOW and stays below the export's root); the VFS resolves them in the
//! guest's own tree, as a bind mount's symlinks resolve, so none leads to a host
//! file outside the volume.
//!
//! Metadata (mode, owner, link count, and the three times to the nanosecond) is
//! asked of the host when a node is looked up and then kept for [`ATTR_TTL_NS`];
//! sizes are always asked afresh (stat, O_APPEND, SEEK_END), and a change made
//! through the node (a write, truncate, link, unlink, setattr) has it asked
//! afresh next time, since the host moved the times.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use elfin_plat::ninep::{self as dev, Device};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{Statfs, Timespec};

use super::file::{FileLike, InodeFile, O_ACCMODE, O_PATH};
use super::{DirEntry, Inode, Meta, NewNode};
use crate::sync::{Mutex, SleepLock};

/// How long looked-up metadata (mode, owner, times) is trusted.
const ATTR_TTL_NS: u64 = 100_000_000;
/// In place of when metadata was fetched: it is stale.
const STALE: u64 = u64::MAX;
/// The msize asked for at Tversion.
const MSIZE: usize = dev::MAX_MSG;
/// Device numbers of volumes (st_dev): this, plus the volume's index.
const VOLUME_DEV_BASE: u64 = 0x30;
/// Statfs magic of a 9P filesystem (V9FS_MAGIC).
const V9FS_MAGIC: i64 = 0x0102_1997;
const NOFID: u32 = u32::MAX;
use elfin_arch::PAGE_SIZE as PAGE;

// Message types (9P2000.L; R-messages are T + 1).
const RLERROR: u8 = 7;
const TSTATFS: u8 = 8;
const TLOPEN: u8 = 12;
const TLCREATE: u8 = 14;
const TSYMLINK: u8 = 16;
const TREADLINK: u8 = 22;
const TGETATTR: u8 = 24;
const TSETATTR: u8 = 26;
const TREADDIR: u8 = 40;
const TFSYNC: u8 = 50;
const TLINK: u8 = 70;
const TMKDIR: u8 = 72;
const TRENAMEAT: u8 = 74;
const TUNLINKAT: u8 = 76;
const TVERSION: u8 = 100;
const TATTACH: u8 = 104;
const TWALK: u8 = 110;
const TREAD: u8 = 116;
const TWRITE: u8 = 118;
const TCLUNK: u8 = 120;

/// Tgetattr: the basic fields (mode … blocks).
const GETATTR_BASIC: u64 = 0x7ff;
// Tsetattr valid bits.
const SETATTR_MODE: u32 = 0x1;
const SETATTR_UID: u32 = 0x2;
const SETATTR_GID: u32 = 0x4;
const SETATTR_SIZE: u32 = 0x8;
const SETATTR_ATIME: u32 = 0x10;
const SETATTR_MTIME: u32 = 0x20;
const SETATTR_ATIME_SET: u32 = 0x80;
const SETATTR_MTIME_SET: u32 = 0x100;
/// Linux open flags as 9P2000.L carries them.
const L_O_WRONLY: u32 = 1;
const L_O_RDWR: u32 = 2;
const L_O_CREAT: u32 = 0o100;
const L_O_EXCL: u32 = 0o200;
const AT_REMOVEDIR: u32 = 0x200;

/// Writes a T-message into the device's request buffer.
struct W<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl W<'_> {
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        match self.buf.get_mut(self.len..self.len + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            None => self.overflow = true,
        }
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    fn str(&mut self, s: &[u8]) -> &mut Self {
        match u16::try_from(s.len()) {
            Ok(n) => self.u16(n).bytes(s),
            Err(_) => {
                self.overflow = true;
                self
            }
        }
    }
}

/// Reads the body of an R-message; running past its end is EIO.
struct R<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> R<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Errno> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n).ok_or(Errno::EIO)?).ok_or(Errno::EIO)?;
        self.pos += n;
        Ok(b)
    }
    fn u8(&mut self) -> Result<u8, Errno> {
        Ok(self.bytes(1)?.first().copied().unwrap_or(0))
    }
    fn u16(&mut self) -> Result<u16, Errno> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes(b.try_into().map_err(|_| Errno::EIO)?))
    }
    fn u32(&mut self) -> Result<u32, Errno> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes(b.try_into().map_err(|_| Errno::EIO)?))
    }
    fn u64(&mut self) -> Result<u64, Errno> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| Errno::EIO)?))
    }
    fn str(&mut self) -> Result<&'a [u8], Errno> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }
    /// A qid: (type, version, path); the path identifies the host file.
    fn qid(&mut self) -> Result<u64, Errno> {
        self.bytes(5)?;
        self.u64()
    }
}

/// File attributes as Rgetattr gives them.
#[derive(Clone, Copy, Debug, Default)]
struct Attr {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    /// 512-byte blocks the host's file uses (0 for a short symlink, fewer than
    /// the size for a sparse file).
    blocks: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    /// What says the host file changed: size, mtime and ctime to the nanosecond.
    stamp: Stamp,
}

/// A host file's size, modification and change times (seconds, nanoseconds).
type Stamp = (u64, u64, u64, u64, u64);

/// One mounted volume: the device and the fids in use.
pub struct Client {
    dev: SleepLock<Device>,
    msize: usize,
    ro: bool,
    devno: u64,
    next_fid: AtomicU32,
    free_fids: Mutex<Vec<u32>>,
    /// Live nodes by qid path.
    nodes: Mutex<BTreeMap<u64, Weak<Node>>>,
    /// FIFOs and sockets named on the volume but kept in the guest, by directory
    /// (qid path) and name: see [`local_ino`].
    local: Mutex<LocalNodes>,
}

/// The files of all volumes whose pages were read last (see [`PageCache`]), kept
/// when no mapping holds them, so that the next exec of a program finds its pages.
static RECENT: Mutex<alloc::collections::VecDeque<Arc<Node>>> = Mutex::new(alloc::collections::VecDeque::new());
/// Files kept in [`RECENT`].
const RECENT_FILES: usize = 4;
/// Pages all volumes' page caches hold together at most: a sixteenth of memory.
fn cache_limit() -> usize {
    crate::mem::frames::total_count() / 16
}
/// Pages the volumes' page caches hold.
static CACHED_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The pages of a volume's file that private mappings map (copy on write), read
/// from the host a fault-around window at a time: a program run from a volume maps
/// the same pages at every exec. They are the host file's as long as its stamp is
/// the one they were read under (each open, mmap and exec compares); a write from
/// the guest updates them in place.
#[derive(Default)]
struct PageCache {
    stamp: Option<Stamp>,
    pages: BTreeMap<u64, u64>,
}

impl PageCache {
    /// Gives every page back (a mapping that holds one keeps it).
    fn clear(&mut self) {
        for (_, pa) in core::mem::take(&mut self.pages) {
            crate::mem::frames::put_file_page(pa);
            CACHED_PAGES.fetch_sub(1, Ordering::Relaxed);
        }
        self.stamp = None;
    }
}

/// Guest-only nodes by directory (qid path) and name.
type LocalNodes = BTreeMap<(u64, Vec<u8>), Arc<dyn Inode>>;

impl Client {
    /// Sends a T-message of type `ty` whose body `body` writes; `parse` reads the
    /// body of the R-message. An Rlerror is the host's errno.
    fn rpc<T>(
        &self,
        ty: u8,
        body: impl FnOnce(&mut W<'_>),
        parse: impl FnOnce(&mut R<'_>) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let mut d = self.dev.lock();
        let limit = self.msize;
        let mut w = W { buf: d.request().get_mut(..limit).unwrap_or(&mut []), len: 7, overflow: false };
        body(&mut w);
        let (len, overflow) = (w.len, w.overflow);
        if overflow {
            return Err(Errno::ENAMETOOLONG);
        }
        let hdr = d.request().get_mut(..7).ok_or(Errno::EIO)?;
        hdr[..4].copy_from_slice(&(len as u32).to_le_bytes());
        hdr[4] = ty;
        // Tversion goes with NOTAG; then one request at a time, all with tag 1.
        let tag: u16 = if ty == TVERSION { 0xffff } else { 1 };
        hdr[5..7].copy_from_slice(&tag.to_le_bytes());
        d.transact(len).map_err(|_| Errno::EIO)?;
        let reply = d.reply();
        let size = reply.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).ok_or(Errno::EIO)? as usize;
        let body = reply.get(7..size).ok_or(Errno::EIO)?;
        let mut r = R { buf: body, pos: 0 };
        match reply.get(4).copied() {
            Some(RLERROR) => {
                let code = r.u32()?;
                Err(Errno::try_from(code as i32).unwrap_or(Errno::EIO))
            }
            Some(t) if t == ty + 1 => parse(&mut r),
            _ => Err(Errno::EIO),
        }
    }

    fn alloc_fid(&self) -> u32 {
        let free = self.free_fids.lock().pop();
        match free {
            Some(f) => f,
            None => self.next_fid.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn clunk(&self, fid: u32) {
        // The host forgets the fid even when it reports an error.
        let _ = self.rpc(
            TCLUNK,
            |w| {
                w.u32(fid);
            },
            |_| Ok(()),
        );
        self.free_fids.lock().push(fid);
    }

    /// A new fid for `names` below `fid` (a copy of `fid` for no names); the qid
    /// path of where it leads.
    fn walk(&self, fid: u32, names: &[&[u8]]) -> Result<(u32, u64), Errno> {
        let newfid = self.alloc_fid();
        let r = self.rpc(
            TWALK,
            |w| {
                w.u32(fid).u32(newfid).u16(names.len() as u16);
                for n in names {
                    w.str(n);
                }
            },
            |r| {
                let n = r.u16()?;
                let mut last = 0;
                for _ in 0..n {
                    last = r.qid()?;
                }
                Ok((usize::from(n), last))
            },
        );
        match r {
            Ok((n, qid)) if n == names.len() => Ok((newfid, qid)),
            Ok(_) => {
                // A partial walk creates no fid (9P: only a full walk does).
                self.free_fids.lock().push(newfid);
                Err(Errno::ENOENT)
            }
            Err(e) => {
                self.free_fids.lock().push(newfid);
                Err(e)
            }
        }
    }

    fn getattr(&self, fid: u32) -> Result<(u64, Attr), Errno> {
        self.rpc(
            TGETATTR,
            |w| {
                w.u32(fid).u64(GETATTR_BASIC);
            },
            |r| {
                r.u64()?;
                let qid = r.qid()?;
                let mode = r.u32()?;
                let uid = r.u32()?;
                let gid = r.u32()?;
                let nlink = r.u64()?;
                r.u64()?; // rdev
                let size = r.u64()?;
                r.u64()?; // blksize
                let blocks = r.u64()?;
                let mut time = || -> Result<(u64, u64), Errno> { Ok((r.u64()?, r.u64()?)) };
                let (at, mt, ct) = (time()?, time()?, time()?);
                let ts = |(sec, nsec): (u64, u64)| Timespec { tv_sec: sec as i64, tv_nsec: nsec as i64 };
                let stamp = (size, mt.0, mt.1, ct.0, ct.1);
                let (atime, mtime, ctime) = (ts(at), ts(mt), ts(ct));
                Ok((qid, Attr { mode, uid, gid, nlink, size, blocks, atime, mtime, ctime, stamp }))
            },
        )
    }

    /// Opens a copy of `fid` with Linux open `flags`.
    fn open_fid(&self, fid: u32, flags: u32) -> Result<u32, Errno> {
        let (newfid, _) = self.walk(fid, &[])?;
        match self.rpc(
            TLOPEN,
            |w| {
                w.u32(newfid).u32(flags);
            },
            |_| Ok(()),
        ) {
            Ok(()) => Ok(newfid),
            Err(e) => {
                self.clunk(newfid);
                Err(e)
            }
        }
    }

    /// The node for the file `fid` leads to (qid path `qid`): the live one for that
    /// host file if there is one (then `fid` is given back), else a new one owning
    /// `fid`.
    fn node(self: &Arc<Self>, fid: u32, qid: u64) -> Result<Arc<Node>, Errno> {
        let live = self.nodes.lock().get(&qid).and_then(Weak::upgrade);
        if let Some(n) = live {
            // The host may have reused the inode number of a removed file: the live
            // node must still reach a file with this qid.
            if let Ok((q, attr)) = self.getattr(n.fid) {
                if q == qid {
                    n.store_attr(attr);
                    self.clunk(fid);
                    return Ok(n);
                }
            }
        }
        let attr = match self.getattr(fid) {
            Ok((_, a)) => a,
            Err(e) => {
                self.clunk(fid);
                return Err(e);
            }
        };
        let n = Arc::new(Node {
            c: self.clone(),
            fid,
            qid,
            attr: Mutex::new((attr, crate::time::monotonic_ns())),
            io: Mutex::new([None; 3]),
            writers: AtomicUsize::new(0),
            fifo: super::fifo::Fifo::default(),
            cache: Mutex::new(PageCache::default()),
        });
        self.nodes.lock().insert(qid, Arc::downgrade(&n));
        Ok(n)
    }

    /// The live node of this volume with inode number `ino`.
    fn find(&self, ino: u64) -> Option<Arc<Node>> {
        self.nodes.lock().get(&ino).and_then(Weak::upgrade)
    }
}

/// Inode numbers of the FIFOs and sockets a volume keeps in the guest, apart from
/// the host's. Such nodes are never made on the host: QEMU refuses to make special
/// files (Tmknod fails with ENXIO since its fix of CVE-2023-2861, and it warns of a
/// "compromised client"), and a FIFO's pipe or a socket lives in the guest anyway,
/// as Linux's v9fs keeps them in the client. The host does not see their names.
pub fn local_ino() -> u64 {
    super::next_ino() | 1 << 62
}

/// A file, directory or symlink of a volume.
pub struct Node {
    c: Arc<Client>,
    /// Walked to the file, not opened.
    fid: u32,
    qid: u64,
    /// What the host said last, and when (monotonic ns).
    attr: Mutex<(Attr, u64)>,
    /// Opened fids: read-only, write-only, read-write.
    io: Mutex<[Option<u32>; 3]>,
    writers: AtomicUsize,
    /// The pipe of a FIFO: its data stays in the guest, as Linux's v9fs keeps a
    /// FIFO's pipe in the client (the host file only names it).
    fifo: super::fifo::Fifo,
    cache: Mutex<PageCache>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.cache.lock().clear();
        let io = *self.io.lock();
        for fid in io.into_iter().flatten() {
            self.c.clunk(fid);
        }
        self.c.clunk(self.fid);
        let mut nodes = self.c.nodes.lock();
        if nodes.get(&self.qid).is_some_and(|w| w.strong_count() == 0) {
            nodes.remove(&self.qid);
        }
    }
}

impl Node {
    /// The guest-only node called `name` in this directory.
    fn local(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        let l = self.c.local.lock();
        if l.is_empty() {
            return None;
        }
        l.get(&(self.qid, name.to_vec())).cloned()
    }

    /// Names `node` in this directory in the guest only (EEXIST when the name is
    /// taken, in the guest or on the host).
    fn add_local(&self, name: &[u8], node: Arc<dyn Inode>) -> Result<(), Errno> {
        if self.child(name).is_ok() {
            return Err(Errno::EEXIST);
        }
        let mut l = self.c.local.lock();
        let key = (self.qid, name.to_vec());
        if l.contains_key(&key) {
            return Err(Errno::EEXIST);
        }
        l.insert(key, node);
        drop(l);
        self.touch();
        Ok(())
    }

    /// Renames guest-only `node` from `old` here to `new` in `to`, replacing what
    /// `new` names (the caller has checked that it may).
    fn rename_local(&self, node: Arc<dyn Inode>, old: &[u8], to: &Node, new: &[u8]) -> Result<(), Errno> {
        if to.local(new).is_none() && to.child(new).is_ok() {
            to.c.rpc(
                TUNLINKAT,
                |w| {
                    w.u32(to.fid).str(new).u32(0);
                },
                |_| Ok(()),
            )?;
        }
        let mut l = self.c.local.lock();
        l.remove(&(self.qid, old.to_vec()));
        let replaced = l.insert((to.qid, new.to_vec()), node);
        drop(l);
        if let Some(r) = replaced {
            r.adjust_links(-1);
        }
        Ok(())
    }

    /// Page `pgoff` from the page cache, with an owner taken for the mapping.
    fn cached_page(&self, pgoff: u64) -> Option<u64> {
        let c = self.cache.lock();
        let pa = *c.pages.get(&pgoff)?;
        crate::mem::frames::share(pa);
        Some(pa)
    }

    /// Reads the pages of the fault-around window around `pgoff` that the cache
    /// lacks, in one request, into the cache.
    fn fill_cache(&self, pgoff: u64) {
        use crate::mem::frames;
        let a = self.cached_attr();
        let window = crate::mem::vm::FAULT_AROUND_PAGES;
        let first = pgoff & !(window - 1);
        let end = first.saturating_add(window).min(a.size.div_ceil(PAGE));
        if a.mode & S_IFMT != S_IFREG || pgoff >= end {
            return;
        }
        let want = (end - first) as usize;
        if CACHED_PAGES.load(Ordering::Relaxed) + want > cache_limit() {
            shrink_caches(cache_limit() / 2);
            if CACHED_PAGES.load(Ordering::Relaxed) + want > cache_limit() {
                return;
            }
        }
        let mut buf = alloc::vec![0u8; want * PAGE as usize];
        let Ok(got) = self.read_at(first * PAGE, &mut buf) else { return };
        let mut c = self.cache.lock();
        if c.stamp != Some(a.stamp) {
            c.clear();
            c.stamp = Some(a.stamp);
        }
        for (i, bytes) in buf.chunks(PAGE as usize).enumerate().take(got.div_ceil(PAGE as usize)) {
            let idx = first + i as u64;
            if c.pages.contains_key(&idx) || frames::free_count() < frames::total_count() / 32 {
                continue;
            }
            let Some(pa) = frames::alloc(1) else { break };
            let dst = frames::frame_bytes(pa);
            let n = bytes.len().min(got - i * PAGE as usize).min(dst.len());
            let (head, tail) = dst.split_at_mut(n);
            head.copy_from_slice(bytes.get(..n).unwrap_or(&[]));
            tail.fill(0);
            frames::mark_file_page(pa);
            c.pages.insert(idx, pa);
            CACHED_PAGES.fetch_add(1, Ordering::Relaxed);
        }
        drop(c);
        if let Some(me) = self.c.find(self.qid) {
            keep(me);
        }
    }

    /// After the guest wrote `data` at `off`: the cached pages take the new bytes
    /// (mappings that share them see them, as Linux's page cache shows a write
    /// to every mapping of the page), and the cache the host file's new stamp.
    fn cache_written(&self, off: u64, data: &[u8]) {
        let c = self.cache.lock();
        if c.pages.is_empty() || data.is_empty() {
            return;
        }
        let end = off.saturating_add(data.len() as u64);
        let mut pos = off;
        while pos < end {
            let (pgoff, within) = (pos / PAGE, (pos % PAGE) as usize);
            let n = ((PAGE - within as u64).min(end - pos)) as usize;
            let from = (pos - off) as usize;
            if let Some(&pa) = c.pages.get(&pgoff) {
                let dst = crate::mem::frames::frame_bytes(pa);
                if let (Some(d), Some(s)) = (dst.get_mut(within..within + n), data.get(from..from + n)) {
                    d.copy_from_slice(s);
                }
            }
            pos += n as u64;
        }
        drop(c);
        self.restamp();
    }

    /// After the guest truncated the file to `len` bytes: cached pages past the
    /// end go, and the last one's bytes past it read as zeros.
    fn cache_truncated(&self, len: u64) {
        let mut c = self.cache.lock();
        if c.pages.is_empty() {
            return;
        }
        for (_, pa) in c.pages.split_off(&len.div_ceil(PAGE)) {
            crate::mem::frames::put_file_page(pa);
            CACHED_PAGES.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(&pa) = c.pages.get(&(len / PAGE)) {
            if let Some(tail) = crate::mem::frames::frame_bytes(pa).get_mut((len % PAGE) as usize..) {
                tail.fill(0);
            }
        }
        drop(c);
        self.restamp();
    }

    /// Takes the host file's stamp after a change the cache followed.
    fn restamp(&self) {
        let stamp = self.fresh_attr().stamp;
        let mut c = self.cache.lock();
        if !c.pages.is_empty() {
            c.stamp = Some(stamp);
        }
    }

    fn store_attr(&self, a: Attr) {
        *self.attr.lock() = (a, crate::time::monotonic_ns());
    }

    fn fresh_attr(&self) -> Attr {
        // A file unlinked while open is reached through an opened fid only (QEMU
        // then asks the host's open file).
        let opened = || {
            let io = *self.io.lock();
            io.into_iter().flatten().find_map(|fid| self.c.getattr(fid).ok())
        };
        match self.c.getattr(self.fid).or_else(|e| opened().ok_or(e)) {
            Ok((_, a)) => {
                self.store_attr(a);
                a
            }
            Err(_) => self.attr.lock().0,
        }
    }

    fn cached_attr(&self) -> Attr {
        let (a, at) = *self.attr.lock();
        if at != STALE && crate::time::monotonic_ns().saturating_sub(at) < ATTR_TTL_NS {
            a
        } else {
            self.fresh_attr()
        }
    }

    fn writable_fs(&self) -> Result<(), Errno> {
        if self.c.ro {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// An opened fid for access mode `acc` (0 read, 1 write, 2 both); a read-write
    /// fid serves either direction.
    fn io_fid(&self, acc: u32) -> Result<u32, Errno> {
        let acc = (acc & O_ACCMODE).min(2) as usize;
        {
            let io = self.io.lock();
            if let Some(f) = io.get(acc).copied().flatten().or_else(|| io.get(2).copied().flatten()) {
                return Ok(f);
            }
        }
        let fid = self.c.open_fid(self.fid, acc as u32)?;
        let mut io = self.io.lock();
        match io.get_mut(acc) {
            Some(slot @ None) => {
                *slot = Some(fid);
                Ok(fid)
            }
            Some(Some(other)) => {
                // Another thread opened one meanwhile.
                let other = *other;
                drop(io);
                self.c.clunk(fid);
                Ok(other)
            }
            None => Err(Errno::EINVAL),
        }
    }

    /// The node of a child just created under this directory.
    fn child(&self, name: &[u8]) -> Result<Arc<Node>, Errno> {
        let (fid, qid) = self.c.walk(self.fid, &[name])?;
        self.c.node(fid, qid)
    }

    /// The host changed the file's times (or link count): they are asked afresh
    /// when next wanted.
    fn touch(&self) {
        self.attr.lock().1 = STALE;
    }
}

impl Inode for Node {
    fn ino(&self) -> u64 {
        self.qid
    }
    fn meta(&self) -> Meta {
        let a = self.cached_attr();
        // 9P2000.L's basic attributes carry no birth time (Linux's v9fs reports none).
        Meta { mode: a.mode, uid: a.uid, gid: a.gid, atime: a.atime, mtime: a.mtime, ctime: a.ctime, btime: a.mtime }
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        self.writable_fs()?;
        let old = self.meta();
        let mut m = old;
        f(&mut m);
        let mut valid = 0;
        if m.mode & 0o7777 != old.mode & 0o7777 {
            valid |= SETATTR_MODE;
        }
        if m.uid != old.uid {
            valid |= SETATTR_UID;
        }
        if m.gid != old.gid {
            valid |= SETATTR_GID;
        }
        if (m.atime.tv_sec, m.atime.tv_nsec) != (old.atime.tv_sec, old.atime.tv_nsec) {
            valid |= SETATTR_ATIME | SETATTR_ATIME_SET;
        }
        if (m.mtime.tv_sec, m.mtime.tv_nsec) != (old.mtime.tv_sec, old.mtime.tv_nsec) {
            valid |= SETATTR_MTIME | SETATTR_MTIME_SET;
        }
        if valid == 0 {
            return Ok(());
        }
        let times = [m.atime, m.mtime];
        setattr(&self.c, self.fid, valid, m.mode & 0o7777, m.uid, m.gid, 0, times)?;
        self.fresh_attr();
        Ok(())
    }
    fn host_times(&self) -> bool {
        true
    }
    /// A host file keeps its type: what was fetched last says it, however old
    /// (path walks and every read and write ask).
    fn file_type(&self) -> u32 {
        self.attr.lock().0.mode & S_IFMT
    }
    fn size(&self) -> u64 {
        self.fresh_attr().size
    }
    /// From the attributes `size` just fetched (stat asks for both in turn).
    fn blocks(&self) -> u64 {
        self.cached_attr().blocks
    }
    fn nlink(&self) -> u32 {
        u32::try_from(self.cached_attr().nlink).unwrap_or(u32::MAX)
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
    fn dev(&self) -> u64 {
        self.c.devno
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name == b"." || name == b".." || name.is_empty() {
            return Err(Errno::ENOENT);
        }
        if let Some(n) = self.local(name) {
            return Ok(n);
        }
        Ok(self.child(name)?)
    }
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        let fid = self.c.open_fid(self.fid, 0)?;
        let mut out = Vec::new();
        let mut offset = 0u64;
        let count = (self.c.msize - 11) as u32;
        let r = loop {
            let at = offset;
            let got = self.c.rpc(
                TREADDIR,
                |w| {
                    w.u32(fid).u64(at).u32(count);
                },
                |r| {
                    let n = r.u32()? as usize;
                    let mut d = R { buf: r.bytes(n)?, pos: 0 };
                    let mut any = false;
                    while d.pos < d.buf.len() {
                        let ino = d.qid()?;
                        offset = d.u64()?;
                        let ty = d.u8()?;
                        let name = d.str()?;
                        any = true;
                        if name == b"." || name == b".." {
                            continue;
                        }
                        out.push(DirEntry { name: name.to_vec(), ino, dtype: ty });
                    }
                    Ok(any)
                },
            );
            match got {
                Ok(true) => continue,
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.c.clunk(fid);
        r?;
        // The guest-only names, in place of any the host has taken since.
        let l = self.c.local.lock();
        let mine = l.range((self.qid, Vec::new())..).take_while(|((d, _), _)| *d == self.qid);
        for ((_, name), node) in mine {
            out.retain(|e| e.name != *name);
            out.push(DirEntry { name: name.clone(), ino: node.ino(), dtype: super::dtype_of(node.file_type()) });
        }
        Ok(out)
    }
    fn create(&self, name: &[u8], what: NewNode, mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.writable_fs()?;
        let c = &self.c;
        let node = match what {
            NewNode::File => {
                // Tlcreate turns the copy into a read-write fid of the new file; the
                // node keeps it for its I/O.
                let (fid, _) = c.walk(self.fid, &[])?;
                let made = c.rpc(
                    TLCREATE,
                    |w| {
                        w.u32(fid).str(name).u32(L_O_RDWR | L_O_CREAT | L_O_EXCL).u32(mode & 0o7777).u32(0);
                    },
                    |r| r.qid(),
                );
                if let Err(e) = made {
                    c.clunk(fid);
                    return Err(e);
                }
                let node = match self.child(name) {
                    Ok(n) => n,
                    Err(e) => {
                        c.clunk(fid);
                        return Err(e);
                    }
                };
                let mut io = node.io.lock();
                match io.get_mut(2) {
                    Some(slot @ None) => *slot = Some(fid),
                    _ => {
                        drop(io);
                        c.clunk(fid);
                        return Ok(node);
                    }
                }
                drop(io);
                node
            }
            NewNode::Dir => {
                c.rpc(
                    TMKDIR,
                    |w| {
                        w.u32(self.fid).str(name).u32(mode & 0o7777).u32(0);
                    },
                    |r| r.qid(),
                )?;
                self.child(name)?
            }
            NewNode::Symlink(target) => {
                c.rpc(
                    TSYMLINK,
                    |w| {
                        w.u32(self.fid).str(name).str(&target).u32(0);
                    },
                    |r| r.qid(),
                )?;
                self.child(name)?
            }
            // FIFOs and socket nodes are named in the guest only (see
            // `local_ino`); device nodes are not made on volumes.
            NewNode::Fifo | NewNode::Socket => {
                let ty = if matches!(what, NewNode::Fifo) { S_IFIFO } else { S_IFSOCK };
                let node: Arc<dyn Inode> = super::ramfs::Special::on_dev(ty | (mode & 0o7777), 0, local_ino(), c.devno);
                self.add_local(name, node.clone())?;
                return Ok(node);
            }
            NewNode::Device(..) => return Err(Errno::EPERM),
        };
        self.touch();
        Ok(node)
    }
    fn insert(&self, name: &[u8], node: Arc<dyn Inode>) -> Result<(), Errno> {
        // A hard link (linkat), or a socket bound here; renames take
        // `rename_within`.
        self.writable_fs()?;
        if node.dev() != self.c.devno {
            return Err(Errno::EXDEV);
        }
        let host = self.c.find(node.ino()).filter(|n| core::ptr::addr_eq(Arc::as_ptr(n), Arc::as_ptr(&node)));
        let Some(n) = host else {
            // A guest-only FIFO or socket.
            return self.add_local(name, node);
        };
        self.c.rpc(
            TLINK,
            |w| {
                w.u32(self.fid).u32(n.fid).str(name);
            },
            |_| Ok(()),
        )?;
        self.touch();
        n.touch();
        Ok(())
    }
    fn remove(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.writable_fs()?;
        let local = self.c.local.lock().remove(&(self.qid, name.to_vec()));
        if let Some(n) = local {
            self.touch();
            return Ok(n);
        }
        let child = self.child(name)?;
        let flags = if child.cached_attr().mode & S_IFMT == S_IFDIR { AT_REMOVEDIR } else { 0 };
        self.c.rpc(
            TUNLINKAT,
            |w| {
                w.u32(self.fid).str(name).u32(flags);
            },
            |_| Ok(()),
        )?;
        self.touch();
        child.touch();
        Ok(child)
    }
    fn rename_within(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8]) -> Option<Result<(), Errno>> {
        if new_dir.dev() != self.c.devno {
            return Some(Err(Errno::EXDEV));
        }
        if let Err(e) = self.writable_fs() {
            return Some(Err(e));
        }
        let Some(to) = self.c.find(new_dir.ino()) else { return Some(Err(Errno::ENOENT)) };
        let r = match self.local(old) {
            Some(node) => self.rename_local(node, old, &to, new),
            None => self
                .c
                .rpc(
                    TRENAMEAT,
                    |w| {
                        w.u32(self.fid).str(old).u32(to.fid).str(new);
                    },
                    |_| Ok(()),
                )
                .map(|()| {
                    // A guest-only node of the name the host file now takes goes.
                    let gone = self.c.local.lock().remove(&(to.qid, new.to_vec()));
                    if let Some(gone) = gone {
                        gone.adjust_links(-1);
                    }
                }),
        };
        self.touch();
        to.touch();
        Some(r)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.c.rpc(
            TREADLINK,
            |w| {
                w.u32(self.fid);
            },
            |r| Ok(r.str()?.to_vec()),
        )
    }

    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let fid = self.io_fid(0)?;
        let max = self.c.msize - 11;
        let mut done = 0;
        while done < buf.len() {
            let want = (buf.len() - done).min(max);
            let dst = buf.get_mut(done..done + want).ok_or(Errno::EFAULT)?;
            let pos = off.checked_add(done as u64).ok_or(Errno::EOVERFLOW)?;
            let n = self.c.rpc(
                TREAD,
                |w| {
                    w.u32(fid).u64(pos).u32(want as u32);
                },
                |r| {
                    let n = (r.u32()? as usize).min(want);
                    dst.get_mut(..n).ok_or(Errno::EIO)?.copy_from_slice(r.bytes(n)?);
                    Ok(n)
                },
            );
            match n {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        self.writable_fs()?;
        let fid = self.io_fid(L_O_WRONLY)?;
        let max = self.c.msize - 23;
        let mut done = 0;
        while done < data.len() {
            let want = (data.len() - done).min(max);
            let src = data.get(done..done + want).ok_or(Errno::EFAULT)?;
            let pos = off.checked_add(done as u64).ok_or(Errno::EFBIG)?;
            let n = self.c.rpc(
                TWRITE,
                |w| {
                    w.u32(fid).u64(pos).u32(want as u32).bytes(src);
                },
                |r| Ok((r.u32()? as usize).min(want)),
            );
            match n {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        {
            let mut a = self.attr.lock();
            a.0.size = a.0.size.max(off + done as u64);
            a.1 = STALE;
        }
        self.cache_written(off, data.get(..done).unwrap_or(&[]));
        Ok(done)
    }
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        self.writable_fs()?;
        setattr(&self.c, self.fid, SETATTR_SIZE | SETATTR_MTIME, 0, 0, 0, len, [Timespec::default(); 2])?;
        {
            let mut a = self.attr.lock();
            a.0.size = len;
            a.1 = STALE;
        }
        self.cache_truncated(len);
        Ok(())
    }
    fn sync(&self) -> Result<(), Errno> {
        // The lock is let go before `io_fid` takes it (a guard in the `match`
        // scrutinee would live through the arms: a directory, which has no open
        // fid yet, deadlocked here).
        let open = self.io.lock().iter().flatten().next().copied();
        let fid = match open {
            Some(f) => f,
            None => self.io_fid(0)?,
        };
        self.c.rpc(
            TFSYNC,
            |w| {
                w.u32(fid).u32(0);
            },
            |_| Ok(()),
        )
    }
    fn statfs(&self) -> Option<Statfs> {
        let r = self.c.rpc(
            TSTATFS,
            |w| {
                w.u32(self.fid);
            },
            |r| {
                // The host filesystem's type, as Linux's v9fs_statfs reports it.
                let ftype = r.u32()?;
                let bsize = r.u32()?;
                let blocks = r.u64()?;
                let bfree = r.u64()?;
                let bavail = r.u64()?;
                let files = r.u64()?;
                let ffree = r.u64()?;
                let fsid = r.u64()?;
                let namelen = r.u32()?;
                Ok(Statfs {
                    f_type: i64::from(ftype),
                    f_bsize: i64::from(bsize),
                    f_blocks: blocks,
                    f_bfree: bfree,
                    f_bavail: bavail,
                    f_files: files,
                    f_ffree: ffree,
                    f_fsid: [fsid as i32, (fsid >> 32) as i32],
                    f_namelen: i64::from(namelen),
                    f_frsize: i64::from(bsize),
                    // ST_RDONLY
                    f_flags: if self.c.ro { 1 } else { 0 },
                    ..Default::default()
                })
            },
        );
        // When the host cannot say, what Linux's simple_statfs gives.
        Some(r.unwrap_or(Statfs { f_type: V9FS_MAGIC, f_bsize: 4096, f_namelen: 255, ..Default::default() }))
    }

    fn fifo(&self) -> Option<&super::fifo::Fifo> {
        (self.cached_attr().mode & S_IFMT == S_IFIFO).then_some(&self.fifo)
    }
    /// Drops the cached pages when the host file changed since they were read.
    fn refresh(&self) {
        if self.cache.lock().pages.is_empty() {
            return;
        }
        let now = self.fresh_attr().stamp;
        let mut c = self.cache.lock();
        if c.stamp != Some(now) {
            c.clear();
        }
    }
    fn share_page(&self, pgoff: u64) -> Option<u64> {
        if let Some(pa) = self.cached_page(pgoff) {
            return Some(pa);
        }
        self.fill_cache(pgoff);
        self.cached_page(pgoff)
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        match self.cached_attr().mode & S_IFMT {
            S_IFDIR => Ok(InodeFile::path_only(self)),
            S_IFLNK => Err(Errno::ELOOP),
            _ if flags & O_PATH != 0 => Ok(InodeFile::path_only(self)),
            // A socket node is not opened (connect reaches it); a FIFO is opened
            // by the open call through `fifo`, never on the host.
            S_IFSOCK | S_IFIFO => Err(Errno::ENXIO),
            _ => {
                let acc = flags & O_ACCMODE;
                if acc != 0 {
                    self.writable_fs()?;
                }
                // Opening here checks the access the host grants.
                self.io_fid(acc)?;
                self.refresh();
                Ok(InodeFile::with_access(self, flags))
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn setattr(
    c: &Client,
    fid: u32,
    valid: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    [atime, mtime]: [Timespec; 2],
) -> Result<(), Errno> {
    c.rpc(
        TSETATTR,
        |w| {
            w.u32(fid).u32(valid).u32(mode).u32(uid).u32(gid).u64(size);
            w.u64(atime.tv_sec as u64).u64(atime.tv_nsec as u64).u64(mtime.tv_sec as u64).u64(mtime.tv_nsec as u64);
        },
        |_| Ok(()),
    )
}

/// Next volume index (st_dev).
static VOLUMES: AtomicU64 = AtomicU64::new(0);

/// Attaches the export of the device tagged `tag`; its root directory.
fn attach(tag: &[u8], ro: bool) -> Result<Arc<Node>, &'static str> {
    let device = dev::take(tag).ok_or("no virtio-9p device has this mount tag")?;
    let c = Arc::new(Client {
        dev: SleepLock::new(device),
        msize: MSIZE,
        ro,
        devno: VOLUME_DEV_BASE + VOLUMES.fetch_add(1, Ordering::Relaxed),
        next_fid: AtomicU32::new(1),
        free_fids: Mutex::new(Vec::new()),
        nodes: Mutex::new(BTreeMap::new()),
        local: Mutex::new(BTreeMap::new()),
    });
    let msize = c
        .rpc(
            TVERSION,
            |w| {
                w.u32(MSIZE as u32).str(b"9P2000.L");
            },
            |r| {
                let m = r.u32()? as usize;
                (r.str()? == b"9P2000.L").then_some(m).ok_or(Errno::EPROTO)
            },
        )
        .map_err(|_| "the host does not speak 9P2000.L")?;
    if msize < 4096 {
        return Err("the host's message size is too small");
    }
    let mut c = c;
    if let Some(only) = Arc::get_mut(&mut c) {
        only.msize = msize.min(MSIZE);
    }
    let root_fid = 0;
    let qid = c
        .rpc(
            TATTACH,
            |w| {
                w.u32(root_fid).u32(NOFID).str(b"root").str(b"").u32(0);
            },
            |r| r.qid(),
        )
        .map_err(|_| "the host refused to attach the export")?;
    c.node(root_fid, qid).map_err(|_| "cannot read the export's root directory")
}

/// Mounts each volume the run configuration names (`volume=TAG:MODE:PATH` records
/// of `/.elfin/run`) over its guest path. A volume that cannot be mounted stops the
/// boot: the program must not run on an empty directory instead.
pub fn mount_volumes(run: &[u8]) {
    for rec in run.split(|&b| b == 0) {
        let Some(v) = rec.strip_prefix(b"volume=") else { continue };
        let mut parts = v.splitn(3, |&b| b == b':');
        let (Some(tag), Some(mode), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let fail = |why: &str| -> ! {
            kprintln!(
                "elfin: cannot mount the volume {} at {}: {}",
                core::str::from_utf8(tag).unwrap_or("?"),
                core::str::from_utf8(path).unwrap_or("?"),
                why
            );
            elfin_plat::console::early_panic("elfin: a volume could not be mounted")
        };
        let root = attach(tag, mode == b"ro").unwrap_or_else(|e| fail(e));
        let trimmed: &[u8] = {
            let mut p = path;
            while p.last() == Some(&b'/') {
                p = p.get(..p.len() - 1).unwrap_or(b"");
            }
            p
        };
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (trimmed.get(..i).unwrap_or(b""), trimmed.get(i + 1..).unwrap_or(b"")),
            None => (&b""[..], trimmed),
        };
        if name.is_empty() {
            fail("a volume cannot cover the root directory");
        }
        let parent = super::mkdir_p(dir);
        let dev = root.dev();
        if parent.insert(name, root).is_err() {
            fail("its parent directory cannot hold a mount");
        }
        MOUNTED.lock().push(Mounted { tag: tag.to_vec(), path: trimmed.to_vec(), read_only: mode == b"ro", dev });
    }
}

/// A mounted volume, as /proc/mounts lists it.
#[derive(Clone)]
pub struct Mounted {
    /// The 9P mount tag (the mount's source).
    pub tag: Vec<u8>,
    /// Where it is mounted.
    pub path: Vec<u8>,
    /// Mounted read-only.
    pub read_only: bool,
    /// Its files' st_dev.
    pub dev: u64,
}

/// The volumes mounted at boot, in mount order.
pub static MOUNTED: crate::sync::Mutex<Vec<Mounted>> = crate::sync::Mutex::new(Vec::new());

/// The volumes mounted, in mount order.
pub fn mounted() -> Vec<Mounted> {
    MOUNTED.lock().clone()
}

/// Whether `n` lies on a volume.
pub fn on_volume(n: &dyn Inode) -> bool {
    is_volume_dev(n.dev())
}

/// Keeps `n`, whose pages were just read, among the recent files.
fn keep(n: Arc<Node>) {
    let mut r = RECENT.lock();
    r.retain(|o| !Arc::ptr_eq(o, &n));
    r.push_back(n);
    let old = (r.len() > RECENT_FILES).then(|| r.pop_front()).flatten();
    drop(r);
    drop(old);
}

/// Lets go of the recent files' pages, oldest first, until the caches hold at
/// most `keep` pages (a file a mapping holds keeps its node, not its pages).
fn shrink_caches(keep: usize) {
    while CACHED_PAGES.load(Ordering::Relaxed) > keep {
        let old = RECENT.lock().pop_front();
        let Some(old) = old else { return };
        old.cache.lock().clear();
    }
}

/// Gives back the pages the volumes' page caches hold (before a leak report).
pub fn drop_caches() {
    shrink_caches(0);
}

/// Whether `dev` is a volume's device number.
pub fn is_volume_dev(dev: u64) -> bool {
    (VOLUME_DEV_BASE..VOLUME_DEV_BASE + VOLUMES.load(Ordering::Relaxed)).contains(&dev)
}
