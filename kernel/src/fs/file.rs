//! Open files and descriptor tables. Anything a descriptor can refer to (a
//! filesystem inode, a pipe end, the console, an eventfd, an epoll instance, …)
//! implements [`FileLike`]; an [`OpenFile`] (an open file description) adds the
//! offset and status flags that dup'ed descriptors and forked processes share.
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{Siginfo, StatInfo};

use super::{is_dir, stat_of, Inode};
use crate::task::wait::Notify;
use crate::task::{Ctx, WaitQueue};

/// poll/epoll event bits (same values in both APIs).
pub const POLLIN: u32 = 0x1;
/// Writable.
pub const POLLOUT: u32 = 0x4;
/// Error.
pub const POLLERR: u32 = 0x8;
/// Urgent data, or an exceptional condition (a dropped /dev/kmsg record).
pub const POLLPRI: u32 = 0x2;
/// Hang-up.
pub const POLLHUP: u32 = 0x10;
/// Invalid descriptor.
pub const POLLNVAL: u32 = 0x20;
/// Normal data readable (as POLLIN).
pub const POLLRDNORM: u32 = 0x40;
/// Normal data writable (as POLLOUT).
pub const POLLWRNORM: u32 = 0x100;

/// Access mode mask.
pub const O_ACCMODE: u32 = 3;
/// Write only.
pub const O_WRONLY: u32 = 1;
/// Read and write.
pub const O_RDWR: u32 = 2;
/// Append.
pub const O_APPEND: u32 = 0o2000;
/// Non-blocking.
pub const O_NONBLOCK: u32 = 0o4000;
/// Path-only descriptor.
pub const O_PATH: u32 = 0o10000000;

/// Something a descriptor can refer to.
pub trait FileLike: Send + Sync + Any {
    /// Reads at the file position of `f` (advancing it), blocking unless `f` is
    /// non-blocking.
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let _ = (cx, f, buf);
        Err(Errno::EINVAL)
    }
    /// Writes at the file position of `f` (advancing it).
    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let _ = (cx, f, data);
        Err(Errno::EINVAL)
    }
    /// Reads at `off` (pread).
    fn pread(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let _ = (buf, off);
        Err(Errno::ESPIPE)
    }
    /// Writes at `off` (pwrite).
    fn pwrite(&self, f: &OpenFile, data: &[u8], off: u64) -> Result<usize, Errno> {
        let _ = (f, data, off);
        Err(Errno::ESPIPE)
    }
    /// The poll events the file is ready for now.
    fn poll(&self) -> u32 {
        POLLIN | POLLOUT
    }
    /// The queue woken when the readiness may have changed.
    fn wait_queue(&self) -> Option<&WaitQueue> {
        None
    }
    /// `stat` of the file.
    fn stat(&self) -> StatInfo;
    /// File-specific ioctl.
    fn ioctl(&self, cx: &Ctx, f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let _ = (cx, f, cmd, arg);
        Err(Errno::ENOTTY)
    }
    /// lseek.
    fn seek(&self, f: &OpenFile, off: i64, whence: i32) -> Result<u64, Errno> {
        let _ = (f, off, whence);
        Err(Errno::ESPIPE)
    }
    /// The filesystem inode behind the file, if any.
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        None
    }
    /// Whether the file has positions (Linux's FMODE_PREAD/FMODE_PWRITE): the
    /// positional calls (pread, preadv, splice offsets) give ESPIPE otherwise.
    fn seekable(&self) -> bool {
        false
    }
    /// What /proc/<pid>/fd/N shows for it.
    fn link_name(&self, f: &OpenFile) -> Vec<u8> {
        f.path.clone()
    }
    /// Whether O_ASYNC on it sends SIGIO when it becomes ready (Linux's
    /// `f_op->fasync`: pipes, sockets, terminals, inotify).
    fn fasync(&self) -> bool {
        false
    }
    /// For downcasts (epoll, pipes).
    fn as_any(&self) -> &dyn Any;
}

/// Signal-driven I/O status flag.
pub const O_ASYNC: u32 = 0o20000;

/// Whom an owner of an open file names (`F_OWNER_*` of F_SETOWN_EX).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerKind {
    /// One thread (F_OWNER_TID); also what a file nobody set an owner for reports.
    #[default]
    Thread,
    /// A process (F_OWNER_PID; what F_SETOWN with a positive id sets).
    Process,
    /// A process group (F_OWNER_PGRP; F_SETOWN with a negative id).
    Group,
}

/// The owner of an open file (F_SETOWN, F_SETOWN_EX) and the signal it is sent
/// (F_SETSIG) when the file, with O_ASYNC set, becomes ready.
#[derive(Clone, Copy, Debug, Default)]
pub struct Owner {
    /// What `id` names.
    pub kind: OwnerKind,
    /// Thread, process or group id; 0 for none.
    pub id: i32,
    /// F_SETSIG's signal; 0 for SIGIO without details.
    pub sig: u32,
    /// The descriptor O_ASYNC was set through (the `si_fd` reported).
    pub fd: i32,
}

const SIGIO: u32 = 29;
const POLL_IN: i32 = 1;
const POLL_OUT: i32 = 2;
const SI_KERNEL: i32 = 0x80;

/// An open file description, shared by dup'ed descriptors and across fork.
pub struct OpenFile {
    /// What it refers to.
    pub file: Arc<dyn FileLike>,
    /// File position.
    pub offset: Mutex<u64>,
    flags: AtomicU32,
    /// Who is sent SIGIO (F_SETOWN, F_SETSIG).
    pub owner: Mutex<Owner>,
    /// Canonical path at open time (for directories: the base of `*at` calls).
    pub path: Vec<u8>,
}

impl OpenFile {
    /// A new open file description.
    pub fn new(file: Arc<dyn FileLike>, flags: u32, path: Vec<u8>) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            file,
            offset: Mutex::new(0),
            flags: AtomicU32::new(flags),
            owner: Mutex::new(Owner::default()),
            path,
        })
    }
    /// Status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`, …).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }
    /// What F_GETFL and /proc/PID/fdinfo show: the status flags, with
    /// O_LARGEFILE for a filesystem file (a 64-bit open always sets it).
    pub fn status_flags(&self) -> u32 {
        let large = self.file.inode().is_some() && self.flags() & O_PATH == 0;
        self.flags() | if large { elfin_shim::uapi::native::open_flags::O_LARGEFILE } else { 0 }
    }
    /// Replaces the status flags.
    pub fn set_flags(&self, v: u32) {
        self.flags.store(v, Ordering::Relaxed);
    }
    /// O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }
    /// Open for reading.
    pub fn readable(&self) -> bool {
        self.flags() & O_PATH == 0 && self.flags() & O_ACCMODE != O_WRONLY
    }
    /// Open for writing.
    pub fn writable(&self) -> bool {
        self.flags() & O_PATH == 0 && matches!(self.flags() & O_ACCMODE, O_WRONLY | O_RDWR)
    }
    /// The inode behind the description, if any.
    pub fn inode(&self) -> Option<Arc<dyn Inode>> {
        self.file.inode()
    }
    /// Downcasts the file to a concrete type.
    pub fn downcast<T: 'static>(&self) -> Option<&T> {
        self.file.as_any().downcast_ref::<T>()
    }
}

/// Sets or clears O_ASYNC on `f` (F_SETFL, FIOASYNC), given through
/// descriptor `fd`: with it set, the file's owner is sent SIGIO (or F_SETSIG's
/// signal) whenever the file may have become ready.
pub fn set_async(f: &Arc<OpenFile>, fd: i32, on: bool) {
    let was = f.flags() & O_ASYNC != 0;
    f.set_flags(if on { f.flags() | O_ASYNC } else { f.flags() & !O_ASYNC });
    if was == on || !f.file.fasync() {
        return;
    }
    let Some(q) = f.file.wait_queue() else { return };
    let weak: Weak<dyn Notify> = Arc::downgrade(f) as Weak<dyn Notify>;
    if on {
        f.owner.lock().fd = fd;
        q.add_notifier(weak);
    } else {
        q.remove_notifier(&weak);
    }
}

impl Notify for OpenFile {
    fn notify(&self, sides: [bool; 2]) {
        if self.flags() & O_ASYNC == 0 {
            return;
        }
        let o = *self.owner.lock();
        if o.id == 0 {
            return;
        }
        // As Linux's pipes and sockets: new data is POLL_IN for readers, new
        // room POLL_OUT for writers.
        let reason = match sides {
            [true, _] if self.readable() => POLL_IN,
            [_, true] if self.writable() => POLL_OUT,
            _ => return,
        };
        send_sigio(&o, reason);
    }
}

/// Sends `o`'s signal for an event `reason` (POLL_IN, POLL_OUT) to `o`'s owner
/// (Linux's send_sigio): plain SIGIO carries no details; an F_SETSIG signal
/// carries the band and descriptor.
fn send_sigio(o: &Owner, reason: i32) {
    use crate::task::{signal, table};
    let (sig, info) = if o.sig == 0 {
        (SIGIO, Siginfo::new(SIGIO as i32, 0, SI_KERNEL))
    } else {
        // Linux's band_table.
        let band: i64 = if reason == POLL_IN {
            (POLLIN | POLLRDNORM) as i64
        } else {
            (POLLOUT | POLLWRNORM | 0x200/* POLLWRBAND */) as i64
        };
        let mut si = Siginfo::new(o.sig as i32, 0, reason);
        si.put(Siginfo::SI_BAND_OFFSET, &band.to_ne_bytes());
        si.put(Siginfo::SI_FD_OFFSET, &o.fd.to_ne_bytes());
        (o.sig, si)
    };
    match o.kind {
        OwnerKind::Thread => {
            if let Some(t) = table::thread(o.id) {
                signal::send_to_thread(&t, sig, info);
            }
        }
        OwnerKind::Process => {
            if let Some(p) = table::process(o.id) {
                signal::send_to_process(&p, sig, info);
            }
        }
        OwnerKind::Group => {
            for p in table::processes() {
                if p.pgid.load(Ordering::Relaxed) == o.id {
                    signal::send_to_process(&p, sig, info);
                }
            }
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        // Its flock and OFD locks go with the description.
        if crate::fs::lock::any() {
            crate::fs::lock::ofd_closed(crate::fs::lock::key_of(self), self as *const OpenFile as usize);
        }
        // The last reference to the description: IN_CLOSE_WRITE / IN_CLOSE_NOWRITE.
        if crate::fs::inotify::active() && self.flags() & O_PATH == 0 {
            if let Some(n) = self.file.inode() {
                crate::fs::inotify::closed(&n, &self.path, self.writable());
            }
        }
    }
}

/// A file reading and writing an inode's content (regular files, directories).
pub struct InodeFile {
    node: Arc<dyn Inode>,
    /// Opened for writing (counted on the inode while open).
    writer: bool,
}

impl InodeFile {
    /// A file on `node` that is not open for writing (O_PATH, directories, reads).
    pub fn path_only(node: Arc<dyn Inode>) -> Arc<dyn FileLike> {
        Arc::new(InodeFile { node, writer: false })
    }
    /// A file on `node` opened with `flags` (a writer is counted on the inode).
    pub fn with_access(node: Arc<dyn Inode>, flags: u32) -> Arc<dyn FileLike> {
        let writer = flags & O_PATH == 0 && flags & O_ACCMODE != 0;
        if writer {
            node.note_writer(true);
        }
        Arc::new(InodeFile { node, writer })
    }
}

impl InodeFile {
    /// A read-write file of `node` that does not count as one writing it, as
    /// Linux's pseudo files (memfd_create's): execve of the inode is not refused
    /// with ETXTBSY while it is open.
    pub fn pseudo(node: Arc<dyn Inode>) -> Arc<dyn FileLike> {
        Arc::new(InodeFile { node, writer: false })
    }
}

impl Drop for InodeFile {
    fn drop(&mut self) {
        if self.writer {
            self.node.note_writer(false);
        }
    }
}

impl FileLike for InodeFile {
    fn read(&self, _cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if is_dir(&*self.node) {
            return Err(Errno::EISDIR);
        }
        let mut pos = f.offset.lock();
        let n = self.pread(buf, *pos)?;
        *pos += n as u64;
        Ok(n)
    }
    fn write(&self, _cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        if is_dir(&*self.node) {
            return Err(Errno::EISDIR);
        }
        let mut pos = f.offset.lock();
        let start = if f.flags() & O_APPEND != 0 { self.node.size() } else { *pos };
        let data = fsize_clip(&*self.node, start, data)?;
        let data = data.get(..super::seals::check_write(&*self.node, start, data.len())?).unwrap_or(data);
        let n = self.node.write_at(start, data)?;
        crate::mem::vm::file_written(&self.node, start, start + n as u64);
        *pos = start + n as u64;
        Ok(n)
    }
    fn pread(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        match self.node.file_type() {
            S_IFREG => {
                crate::mem::vm::sync_file(&self.node);
                self.node.read_at(off, buf)
            }
            S_IFDIR => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }
    fn pwrite(&self, f: &OpenFile, data: &[u8], off: u64) -> Result<usize, Errno> {
        match self.node.file_type() {
            S_IFREG => {
                // Linux: with O_APPEND, pwrite appends whatever the offset says.
                let start = if f.flags() & O_APPEND != 0 { self.node.size() } else { off };
                let data = fsize_clip(&*self.node, start, data)?;
                let data = data.get(..super::seals::check_write(&*self.node, start, data.len())?).unwrap_or(data);
                let n = self.node.write_at(start, data)?;
                crate::mem::vm::file_written(&self.node, start, start + n as u64);
                Ok(n)
            }
            S_IFDIR => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn seek(&self, f: &OpenFile, offset: i64, whence: i32) -> Result<u64, Errno> {
        // A tmpfs directory's position counts entries: only SEEK_SET and SEEK_CUR
        // mean something (Linux's dcache_dir_lseek).
        if whence > 1 && crate::fs::is_dir(&*self.node) && !crate::fs::ninep::on_volume(&*self.node) {
            return Err(Errno::EINVAL);
        }
        let size = self.node.size() as i64;
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
        .ok_or(Errno::EINVAL)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The part of a write to a regular file at `start` that RLIMIT_FSIZE allows.
fn fsize_clip<'a>(node: &dyn Inode, start: u64, data: &'a [u8]) -> Result<&'a [u8], Errno> {
    if node.file_type() != S_IFREG {
        return Ok(data);
    }
    let n = crate::task::rlimit::fsize_check(start, data.len() as u64)? as usize;
    Ok(data.get(..n).unwrap_or(data))
}

/// One descriptor slot.
#[derive(Clone)]
pub struct Fd {
    /// The open file.
    pub file: Arc<OpenFile>,
    /// Close on exec.
    pub cloexec: bool,
}

/// Highest number of descriptors a table may hold (Linux's fs.nr_open).
pub const NR_OPEN: usize = 1 << 20;

/// A descriptor table.
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Fd>>,
}

impl FdTable {
    /// The open file behind `fd`.
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.slots.get(i).and_then(|s| s.as_ref()).map(|s| s.file.clone()).ok_or(Errno::EBADF)
    }

    /// The slot behind `fd`.
    pub fn slot_mut(&mut self, fd: i32) -> Result<&mut Fd, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.slots.get_mut(i).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)
    }

    /// Whether a descriptor below `limit` is free.
    pub fn has_free(&self, limit: usize) -> bool {
        let limit = limit.min(NR_OPEN);
        self.slots.len() < limit || self.slots.iter().take(limit).any(Option::is_none)
    }

    /// Installs a file at the lowest free descriptor >= `min` below `limit`.
    pub fn install_from(&mut self, min: usize, file: Arc<OpenFile>, cloexec: bool, limit: usize) -> Result<i32, Errno> {
        let limit = limit.min(NR_OPEN);
        let mut i = min;
        while i < limit {
            match self.slots.get(i) {
                Some(Some(_)) => i += 1,
                _ => {
                    if self.slots.len() <= i {
                        self.slots.try_reserve(i + 1 - self.slots.len()).map_err(|_| Errno::ENOMEM)?;
                        self.slots.resize(i + 1, None);
                    }
                    if let Some(s) = self.slots.get_mut(i) {
                        *s = Some(Fd { file, cloexec });
                    }
                    return Ok(i as i32);
                }
            }
        }
        Err(Errno::EMFILE)
    }

    /// Puts a file at exactly `fd` (below `limit`), closing what was there; the old
    /// file is returned so that it is released outside the table's lock.
    pub fn install_at(
        &mut self,
        fd: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
        limit: usize,
    ) -> Result<Option<Fd>, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if i >= limit.min(NR_OPEN) {
            return Err(Errno::EBADF);
        }
        if self.slots.len() <= i {
            self.slots.try_reserve(i + 1 - self.slots.len()).map_err(|_| Errno::ENOMEM)?;
            self.slots.resize(i + 1, None);
        }
        Ok(self.slots.get_mut(i).and_then(|s| s.replace(Fd { file, cloexec })))
    }

    /// Closes `fd`; returns the slot (released by the caller outside the lock).
    pub fn close(&mut self, fd: i32) -> Result<Fd, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let slot = self.slots.get_mut(i).and_then(|s| s.take()).ok_or(Errno::EBADF)?;
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(slot)
    }

    /// Closes the close-on-exec descriptors; returns them.
    pub fn close_on_exec(&mut self) -> Vec<Fd> {
        let mut out = Vec::new();
        for s in self.slots.iter_mut() {
            if s.as_ref().map(|f| f.cloexec).unwrap_or(false) {
                if let Some(f) = s.take() {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Every open descriptor with its file, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Fd)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|f| (i as i32, f)))
    }

    /// One past the highest open descriptor.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}
