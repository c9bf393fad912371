//! inotify: watches on inodes and the queue of events an instance reads.
//!
//! The system calls report what happens to files through the functions at the
//! end of this module ([`event`], [`created`], [`deleted`], [`moved`],
//! [`closed`]); each costs one atomic load while no watch exists. A watch holds
//! its inode (as Linux pins it) until it is removed, with IN_IGNORED. Events on
//! a child are also reported to watches on its directory, with the child's name.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;
use spin::Mutex;

use super::file::{FileLike, OpenFile, POLLIN};
use super::{is_dir, Inode};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// Event bits (include/uapi/linux/inotify.h).
pub const IN_ACCESS: u32 = 0x1;
/// File modified.
pub const IN_MODIFY: u32 = 0x2;
/// Metadata changed.
pub const IN_ATTRIB: u32 = 0x4;
/// Writable file closed.
pub const IN_CLOSE_WRITE: u32 = 0x8;
/// Unwritable file closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
/// File opened.
pub const IN_OPEN: u32 = 0x20;
/// Moved from the watched directory.
pub const IN_MOVED_FROM: u32 = 0x40;
/// Moved into the watched directory.
pub const IN_MOVED_TO: u32 = 0x80;
/// Created in the watched directory.
pub const IN_CREATE: u32 = 0x100;
/// Deleted from the watched directory.
pub const IN_DELETE: u32 = 0x200;
/// The watched node was deleted.
pub const IN_DELETE_SELF: u32 = 0x400;
/// The watched node was moved.
pub const IN_MOVE_SELF: u32 = 0x800;
/// Events were lost.
pub const IN_Q_OVERFLOW: u32 = 0x4000;
/// The watch was removed.
pub const IN_IGNORED: u32 = 0x8000;
/// Every event a watch can ask for.
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// Only watch a directory.
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// Do not follow a final symlink.
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// No events for children after they are unlinked.
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// Fail if a watch exists already.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Add to the mask of an existing watch.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// The subject is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;
/// Remove the watch after one event.
pub const IN_ONESHOT: u32 = 0x8000_0000;

/// Events kept queued at most (/proc/sys/fs/inotify/max_queued_events).
/// Events an instance queues before IN_Q_OVERFLOW (fs.inotify.max_queued_events).
pub const MAX_QUEUED: usize = 16384;
/// Watches per instance at most, shown as fs.inotify.max_user_watches (Linux's
/// limit is per user; this one bounds the heap a runaway program can take).
pub const MAX_WATCHES: usize = 65536;
/// Bytes of `struct inotify_event` before the name.
const HEADER: usize = 16;

#[derive(Clone, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The record's length: the header and the name padded with NULs to a
    /// multiple of 16 (with at least one NUL), or no name at all.
    fn len(&self) -> usize {
        if self.name.is_empty() {
            HEADER
        } else {
            HEADER + (self.name.len() + 1).div_ceil(HEADER) * HEADER
        }
    }
}

struct Watch {
    node: Arc<dyn Inode>,
    mask: u32,
}

/// An inotify instance.
pub struct Inotify {
    watches: Mutex<BTreeMap<i32, Watch>>,
    next_wd: AtomicU32,
    events: Mutex<VecDeque<Event>>,
    wq: WaitQueue,
    me: Weak<Inotify>,
}

fn key(n: &Arc<dyn Inode>) -> usize {
    Arc::as_ptr(n) as *const () as usize
}

/// The watches on one inode: (instance, watch descriptor).
type InodeWatches = Vec<(Weak<Inotify>, i32)>;

/// Watches of every instance, by inode.
static REGISTRY: Mutex<BTreeMap<usize, InodeWatches>> = Mutex::new(BTreeMap::new());
/// Watches in the registry (the fast path: nothing to do while 0).
static WATCHES: AtomicUsize = AtomicUsize::new(0);
/// Cookies that tie IN_MOVED_FROM to IN_MOVED_TO.
static COOKIE: AtomicU32 = AtomicU32::new(1);

impl Inotify {
    /// A new instance.
    pub fn new() -> Arc<Inotify> {
        Arc::new_cyclic(|me| Inotify {
            watches: Mutex::new(BTreeMap::new()),
            next_wd: AtomicU32::new(1),
            events: Mutex::new(VecDeque::new()),
            wq: WaitQueue::new(),
            me: me.clone(),
        })
    }

    fn push(&self, e: Event) {
        let mut q = self.events.lock();
        // Linux merges an event identical to the last one queued.
        if q.back() == Some(&e) {
            return;
        }
        if q.len() >= MAX_QUEUED {
            let overflow = Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: Vec::new() };
            if q.back() != Some(&overflow) {
                q.push_back(overflow);
            }
        } else {
            q.push_back(e);
        }
        drop(q);
        self.wq.wake_all();
    }

    /// inotify_add_watch: returns the watch descriptor.
    pub fn add_watch(&self, node: Arc<dyn Inode>, mask: u32) -> Result<i32, Errno> {
        let mut w = self.watches.lock();
        let k = key(&node);
        if let Some((&wd, watch)) = w.iter_mut().find(|(_, x)| key(&x.node) == k) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            watch.mask = if mask & IN_MASK_ADD != 0 { watch.mask | mask } else { mask };
            return Ok(wd);
        }
        if w.len() >= MAX_WATCHES {
            return Err(Errno::ENOSPC);
        }
        let wd = self.next_wd.fetch_add(1, Ordering::Relaxed) as i32;
        w.insert(wd, Watch { node, mask: mask & !IN_MASK_ADD });
        REGISTRY.lock().entry(k).or_default().push((self.me.clone(), wd));
        WATCHES.fetch_add(1, Ordering::SeqCst);
        Ok(wd)
    }

    /// inotify_rm_watch: removes the watch and queues IN_IGNORED.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        let w = self.watches.lock().remove(&wd).ok_or(Errno::EINVAL)?;
        unregister(&w.node, &self.me, wd);
        self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        Ok(())
    }

    /// Queues `mask` for watch `wd` if it asks for it; a one-shot watch goes.
    fn deliver(&self, wd: i32, mask: u32, cookie: u32, name: &[u8], child_event: bool) {
        let (want, oneshot, node) = {
            let w = self.watches.lock();
            let Some(watch) = w.get(&wd) else { return };
            (watch.mask, watch.mask & IN_ONESHOT != 0, watch.node.clone())
        };
        let bits = mask & !IN_ISDIR;
        if bits & want & IN_ALL_EVENTS == 0 && bits & (IN_IGNORED | IN_Q_OVERFLOW) == 0 {
            return;
        }
        // IN_DELETE_SELF and IN_MOVE_SELF are about the watched node itself.
        if child_event && bits & (IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            return;
        }
        self.push(Event { wd, mask, cookie, name: name.to_vec() });
        if oneshot && self.watches.lock().remove(&wd).is_some() {
            unregister(&node, &self.me, wd);
            self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        }
    }

    /// Removes watch `wd` because its inode is gone (IN_IGNORED follows).
    fn drop_watch(&self, wd: i32) {
        // Taken first: the inode's watcher list and the event queue are locked
        // without this one held.
        let gone = self.watches.lock().remove(&wd);
        if let Some(w) = gone {
            unregister(&w.node, &self.me, wd);
            self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        }
    }

    fn queued_bytes(&self) -> usize {
        self.events.lock().iter().map(Event::len).sum()
    }
}

fn unregister(node: &Arc<dyn Inode>, who: &Weak<Inotify>, wd: i32) {
    let mut r = REGISTRY.lock();
    let k = key(node);
    if let Some(v) = r.get_mut(&k) {
        let before = v.len();
        v.retain(|(w, d)| !(*d == wd && w.ptr_eq(who)));
        if v.len() != before {
            WATCHES.fetch_sub(1, Ordering::SeqCst);
        }
        if v.is_empty() {
            r.remove(&k);
        }
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let w = core::mem::take(&mut *self.watches.lock());
        for (wd, watch) in w {
            unregister(&watch.node, &self.me, wd);
        }
    }
}

impl FileLike for Inotify {
    fn read(&self, cx: &Ctx, f: &OpenFile, out: &mut [u8]) -> Result<usize, Errno> {
        wait::wait_for(cx, &[&self.wq], None, Restart::Sys, || {
            let mut q = self.events.lock();
            let Some(first) = q.front() else {
                return if f.nonblocking() { Some(Err(Errno::EAGAIN)) } else { None };
            };
            if first.len() > out.len() {
                return Some(Err(Errno::EINVAL));
            }
            let mut n = 0usize;
            while let Some(e) = q.front() {
                let len = e.len();
                if n + len > out.len() {
                    break;
                }
                let rec = out.get_mut(n..n + len).unwrap_or(&mut []);
                rec.fill(0);
                let name_len = (len - HEADER) as u32;
                for (i, b) in
                    e.wd.to_ne_bytes()
                        .into_iter()
                        .chain(e.mask.to_ne_bytes())
                        .chain(e.cookie.to_ne_bytes())
                        .chain(name_len.to_ne_bytes())
                        .enumerate()
                {
                    if let Some(d) = rec.get_mut(i) {
                        *d = b;
                    }
                }
                if let Some(d) = rec.get_mut(HEADER..HEADER + e.name.len()) {
                    d.copy_from_slice(&e.name);
                }
                n += len;
                q.pop_front();
            }
            Some(Ok(n))
        })?
    }

    fn poll(&self) -> u32 {
        if self.events.lock().is_empty() {
            0
        } else {
            POLLIN
        }
    }

    fn fasync(&self) -> bool {
        true
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd {
            // FIONREAD
            0x541b => {
                let n = self.queued_bytes() as i32;
                cx.write_val(elfin_shim::UAddr(arg), &n)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> StatInfo {
        super::eventfd::anon_stat()
    }

    fn link_name(&self, _f: &OpenFile) -> Vec<u8> {
        b"anon_inode:inotify".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ------------------------------------------------------------ reporting --

/// True while some watch exists.
pub fn active() -> bool {
    WATCHES.load(Ordering::Relaxed) != 0
}

fn watchers(node: &Arc<dyn Inode>) -> Vec<(Arc<Inotify>, i32)> {
    REGISTRY
        .lock()
        .get(&key(node))
        .map(|v| v.iter().filter_map(|(w, wd)| w.upgrade().map(|i| (i, *wd))).collect())
        .unwrap_or_default()
}

fn send(node: &Arc<dyn Inode>, mask: u32, cookie: u32, name: &[u8], child: bool) {
    for (i, wd) in watchers(node) {
        i.deliver(wd, mask, cookie, name, child);
    }
}

fn dir_bit(node: &Arc<dyn Inode>) -> u32 {
    if is_dir(&**node) {
        IN_ISDIR
    } else {
        0
    }
}

/// The parent directory and the last name of the canonical `path`.
fn parent_of(path: &[u8]) -> Option<(Arc<dyn Inode>, Vec<u8>)> {
    if path.is_empty() || path == b"/" || path.first() != Some(&b'/') {
        return None;
    }
    let (p, name) = super::resolve_parent(b"/", path).ok()?;
    Some((p.node, name))
}

/// `mask` happened to `node` (at canonical `path`, if known): its watches and
/// those of its directory (with its name) hear of it.
pub fn event(node: &Arc<dyn Inode>, path: Option<&[u8]>, mask: u32) {
    if !active() {
        return;
    }
    let m = mask | dir_bit(node);
    // The directory hears first (Linux's fsnotify_parent), then the node.
    if let Some((parent, name)) = path.and_then(parent_of) {
        send(&parent, m, 0, &name, true);
    }
    send(node, m, 0, b"", false);
}

/// `child` was created in `dir` as `name`.
pub fn created(dir: &Arc<dyn Inode>, name: &[u8], child: &Arc<dyn Inode>) {
    if active() {
        send(dir, IN_CREATE | dir_bit(child), 0, name, true);
    }
}

/// The node `gone` went from `dir` as `name`: IN_DELETE there; the node itself
/// hears IN_ATTRIB while links remain, else IN_DELETE_SELF and its watches go.
pub fn deleted(dir: &Arc<dyn Inode>, name: &[u8], gone: &Arc<dyn Inode>) {
    if !active() {
        return;
    }
    let isdir = is_dir(&**gone);
    // Linux's vfs_unlink: the link count changed (IN_ATTRIB), then the name went.
    if !isdir {
        send(gone, IN_ATTRIB, 0, b"", false);
    }
    // d_delete_notify: the node goes (IN_DELETE_SELF, IN_IGNORED), then the
    // directory hears of the name.
    if isdir || gone.nlink() == 0 {
        self_gone(gone);
    }
    send(dir, IN_DELETE | dir_bit(gone), 0, name, true);
}

fn self_gone(node: &Arc<dyn Inode>) {
    for (i, wd) in watchers(node) {
        i.deliver(wd, IN_DELETE_SELF, 0, b"", false);
        i.drop_watch(wd);
    }
}

/// `node` moved from `from_dir`/`from` to `to_dir`/`to` (replacing `replaced`).
pub fn moved(
    from_dir: &Arc<dyn Inode>,
    from: &[u8],
    to_dir: &Arc<dyn Inode>,
    to: &[u8],
    node: &Arc<dyn Inode>,
    replaced: Option<&Arc<dyn Inode>>,
) {
    if !active() {
        return;
    }
    let cookie = COOKIE.fetch_add(1, Ordering::Relaxed);
    let d = dir_bit(node);
    send(from_dir, IN_MOVED_FROM | d, cookie, from, true);
    send(to_dir, IN_MOVED_TO | d, cookie, to, true);
    send(node, IN_MOVE_SELF | d, 0, b"", false);
    if let Some(r) = replaced {
        if is_dir(&**r) || r.nlink() == 0 {
            self_gone(r);
        } else {
            send(r, IN_ATTRIB, 0, b"", false);
        }
    }
}

/// An open file description of `node` (opened as `path`) was closed for good.
pub fn closed(node: &Arc<dyn Inode>, path: &[u8], writable: bool) {
    event(node, Some(path), if writable { IN_CLOSE_WRITE } else { IN_CLOSE_NOWRITE });
}
