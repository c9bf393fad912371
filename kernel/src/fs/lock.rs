//! Advisory file locks, as Linux keeps them per inode:
//! - flock(2) locks belong to an open file description: shared or exclusive on
//!   the whole file, released when the description is closed for good;
//! - POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK) belong to a process:
//!   byte ranges that merge and split, released by any close of the file by the
//!   process and at its exit;
//! - OFD locks (F_OFD_*) are byte ranges owned by an open file description.
//!
//! POSIX and OFD locks share one list and conflict with each other; flock locks
//! are apart. A blocked F_SETLKW that would wait on a process that waits (through
//! a chain of POSIX locks) on the caller fails with EDEADLK, as Linux's
//! posix_locks_deadlock finds.
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use spin::Mutex;

use crate::task::{wait, Ctx, Restart, WaitQueue};

/// Who holds a record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A process (POSIX locks): its pid.
    Process(i32),
    /// An open file description (OFD locks).
    Ofd(usize),
}

/// A byte-range lock: [start, end] inclusive; `end` u64::MAX is "to the end".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Holder.
    pub owner: Owner,
    /// Exclusive (F_WRLCK) or shared (F_RDLCK).
    pub write: bool,
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
}

impl Range {
    fn overlaps(&self, s: u64, e: u64) -> bool {
        self.start <= e && s <= self.end
    }
    fn conflicts(&self, o: &Range) -> bool {
        self.owner != o.owner && (self.write || o.write) && self.overlaps(o.start, o.end)
    }
}

#[derive(Default)]
struct FileLocks {
    /// flock: (open file description, exclusive).
    flocks: Vec<(usize, bool)>,
    /// POSIX and OFD record locks.
    ranges: Vec<Range>,
}

static LOCKS: Mutex<BTreeMap<usize, FileLocks>> = Mutex::new(BTreeMap::new());
/// Woken whenever a lock goes away (every waiter looks again).
static RELEASED: WaitQueue = WaitQueue::new();
/// POSIX owners waiting for a lock: pid → (file, the range they want).
static BLOCKED: Mutex<BTreeMap<i32, (usize, Range)>> = Mutex::new(BTreeMap::new());

fn tidy(map: &mut BTreeMap<usize, FileLocks>, file: usize) {
    if map.get(&file).is_some_and(|l| l.flocks.is_empty() && l.ranges.is_empty()) {
        map.remove(&file);
    }
}

// ------------------------------------------------------------------ flock --

/// flock(2) on `file` (the inode's key) for the description `ofd`: `op` is
/// shared, exclusive or unlock (`None`); waits unless `nonblock` (EAGAIN).
pub fn flock(cx: &Ctx, file: usize, ofd: usize, op: Option<bool>, nonblock: bool) -> Result<(), Errno> {
    {
        let mut map = LOCKS.lock();
        let l = map.entry(file).or_default();
        if let Some(i) = l.flocks.iter().position(|(o, _)| *o == ofd) {
            if Some(l.flocks.get(i).map(|x| x.1).unwrap_or(false)) == op {
                return Ok(());
            }
            // A conversion drops the old lock first (not atomic, as in Linux).
            l.flocks.remove(i);
            drop(map);
            RELEASED.wake_all();
        } else {
            drop(map);
        }
        if op.is_none() {
            tidy(&mut LOCKS.lock(), file);
            return Ok(());
        }
    }
    let Some(exclusive) = op else { return Ok(()) };
    let try_take = || {
        let mut map = LOCKS.lock();
        let l = map.entry(file).or_default();
        let busy = l.flocks.iter().any(|&(o, ex)| o != ofd && (ex || exclusive));
        if busy {
            return if nonblock { Some(Err(Errno::EAGAIN)) } else { None };
        }
        l.flocks.push((ofd, exclusive));
        Some(Ok(()))
    };
    wait::wait_for(cx, &[&RELEASED], None, Restart::Sys, try_take)?
}

// -------------------------------------------------------------- records --

/// The first lock conflicting with `want` on `file` (F_GETLK).
pub fn test(file: usize, want: &Range) -> Option<Range> {
    LOCKS.lock().get(&file).and_then(|l| l.ranges.iter().find(|r| r.conflicts(want)).copied())
}

/// Would waiting for `blocker` deadlock `me` (a chain of POSIX waits back to me)?
fn deadlock(me: i32, mut blocker: Owner) -> bool {
    let blocked = BLOCKED.lock();
    let locks = LOCKS.lock();
    for _ in 0..10 {
        let Owner::Process(pid) = blocker else { return false };
        if pid == me {
            return true;
        }
        let Some((file, want)) = blocked.get(&pid) else { return false };
        let Some(next) = locks.get(file).and_then(|l| l.ranges.iter().find(|r| r.conflicts(want))) else {
            return false;
        };
        blocker = next.owner;
    }
    false
}

/// Puts `new` in place of the owner's locks over its range (merging with
/// neighbours of the same kind, splitting what it cuts); `unlock` only removes.
fn apply(list: &mut Vec<Range>, new: Range, unlock: bool) {
    let mut out: Vec<Range> = Vec::with_capacity(list.len() + 2);
    let (mut s, mut e) = (new.start, new.end);
    for r in list.drain(..) {
        if r.owner != new.owner {
            out.push(r);
            continue;
        }
        let touches = r.start <= e.saturating_add(1) && s <= r.end.saturating_add(1);
        if !unlock && r.write == new.write && touches {
            // Same kind, overlapping or adjacent: merge into the new lock.
            s = s.min(r.start);
            e = e.max(r.end);
            continue;
        }
        if !r.overlaps(new.start, new.end) {
            out.push(r);
            continue;
        }
        // Keep the parts outside the new range.
        if r.start < new.start {
            out.push(Range { end: new.start - 1, ..r });
        }
        if r.end > new.end {
            out.push(Range { start: new.end + 1, ..r });
        }
    }
    if !unlock {
        out.push(Range { start: s, end: e, ..new });
    }
    out.sort_by_key(|r| (r.start, r.end));
    *list = out;
}

/// F_SETLK/F_SETLKW (and the OFD forms): sets, changes or (`unlock`) removes
/// the owner's lock over the range; waits when `wait` and it conflicts.
pub fn set(cx: &Ctx, file: usize, want: Range, unlock: bool, wait: bool) -> Result<(), Errno> {
    if unlock {
        {
            let mut map = LOCKS.lock();
            if let Some(l) = map.get_mut(&file) {
                apply(&mut l.ranges, want, true);
            }
            tidy(&mut map, file);
        }
        RELEASED.wake_all();
        return Ok(());
    }
    let me = match want.owner {
        Owner::Process(pid) => Some(pid),
        Owner::Ofd(_) => None,
    };
    let r = wait::wait_for(cx, &[&RELEASED], None, Restart::Sys, || {
        let mut map = LOCKS.lock();
        let l = map.entry(file).or_default();
        match l.ranges.iter().find(|r| r.conflicts(&want)).copied() {
            None => {
                apply(&mut l.ranges, want, false);
                Some(Ok(()))
            }
            Some(_) if !wait => Some(Err(Errno::EAGAIN)),
            Some(holder) => {
                drop(map);
                if let Some(pid) = me {
                    if deadlock(pid, holder.owner) {
                        return Some(Err(Errno::EDEADLK));
                    }
                    BLOCKED.lock().insert(pid, (file, want));
                }
                None
            }
        }
    });
    if let Some(pid) = me {
        BLOCKED.lock().remove(&pid);
    }
    // A lock taken may merge with (and so replace) others of the owner: nothing
    // for waiters; a failure changed nothing.
    r?
}

// --------------------------------------------------------------- release --

/// An open file description of `file` is gone: its flock and OFD locks go.
pub fn ofd_closed(file: usize, ofd: usize) {
    let mut changed = false;
    {
        let mut map = LOCKS.lock();
        if let Some(l) = map.get_mut(&file) {
            let before = (l.flocks.len(), l.ranges.len());
            l.flocks.retain(|(o, _)| *o != ofd);
            l.ranges.retain(|r| r.owner != Owner::Ofd(ofd));
            changed = before != (l.flocks.len(), l.ranges.len());
        }
        tidy(&mut map, file);
    }
    if changed {
        RELEASED.wake_all();
    }
}

/// Process `pid` closed a descriptor of `file`: all its POSIX locks on the file go.
pub fn posix_closed(file: usize, pid: i32) {
    let mut changed = false;
    {
        let mut map = LOCKS.lock();
        if let Some(l) = map.get_mut(&file) {
            let before = l.ranges.len();
            l.ranges.retain(|r| r.owner != Owner::Process(pid));
            changed = before != l.ranges.len();
        }
        tidy(&mut map, file);
    }
    if changed {
        RELEASED.wake_all();
    }
}

/// Process `pid` is gone: every POSIX lock it held goes.
pub fn process_gone(pid: i32) {
    let mut changed = false;
    {
        let mut map = LOCKS.lock();
        for l in map.values_mut() {
            let before = l.ranges.len();
            l.ranges.retain(|r| r.owner != Owner::Process(pid));
            changed |= before != l.ranges.len();
        }
        map.retain(|_, l| !(l.flocks.is_empty() && l.ranges.is_empty()));
    }
    BLOCKED.lock().remove(&pid);
    if changed {
        RELEASED.wake_all();
    }
}

/// The key locks on the file behind `f` are kept under: its inode, else the
/// object itself (a pipe).
pub fn key_of(f: &crate::fs::file::OpenFile) -> usize {
    match f.inode() {
        Some(n) => alloc::sync::Arc::as_ptr(&n) as *const () as usize,
        None => alloc::sync::Arc::as_ptr(&f.file) as *const () as usize,
    }
}

/// Whether any lock exists (the close paths skip the work otherwise).
pub fn any() -> bool {
    !LOCKS.lock().is_empty()
}
