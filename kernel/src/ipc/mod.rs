//! System V IPC (shared memory, semaphores, message queues): what the three have
//! in common, their permissions (`ipc_perm`) and their identifiers, which Linux
//! makes from a slot index and a sequence number (`seq << 15 | index`).
pub mod msg;
pub mod sem;
pub mod shm;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::ipc::*;
use elfin_shim::uapi::IpcPerm;
use spin::Mutex;

use crate::task::caps::{CAP_IPC_OWNER, CAP_SYS_ADMIN};
use crate::task::Ctx;

/// Slots per kind of object (Linux's IPCMNI with ipcmni_extend off).
const IPCMNI: u32 = 32768;
/// Bits of the index in an identifier.
const SHIFT: u32 = 15;

/// Owner, creator and mode of an object.
#[derive(Clone, Copy, Debug, Default)]
pub struct Perm {
    /// The key it was made with (IPC_PRIVATE once removed).
    pub key: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Mode (the low 9 bits are the rights).
    pub mode: u32,
    /// Sequence number of the identifier.
    pub seq: u16,
}

impl Perm {
    /// The permissions of an object the caller creates with `flags`.
    pub fn new(cx: &Ctx, key: i32, flags: i32) -> Perm {
        let c = cx.proc.cred.lock();
        Perm { key, uid: c.uid[1], gid: c.gid[1], cuid: c.uid[1], cgid: c.gid[1], mode: (flags as u32) & 0o777, seq: 0 }
    }

    /// The user-ABI form.
    pub fn uapi(&self) -> IpcPerm {
        IpcPerm {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq,
            ..Default::default()
        }
    }

    /// Linux's ipcperms: `want` is 4 (read), 2 (write) or 6; CAP_IPC_OWNER passes.
    pub fn allows(&self, cx: &Ctx, want: u32) -> bool {
        let c = cx.proc.cred.lock();
        let granted = if c.uid[1] == self.uid || c.uid[1] == self.cuid {
            self.mode >> 6
        } else if c.gid[1] == self.gid || c.gid[1] == self.cgid || c.groups.contains(&self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        want & !granted & 7 == 0 || c.capable(CAP_IPC_OWNER)
    }

    /// IPC_SET and IPC_RMID: the owner, the creator, or CAP_SYS_ADMIN.
    pub fn may_change(&self, cx: &Ctx) -> bool {
        let c = cx.proc.cred.lock();
        c.uid[1] == self.uid || c.uid[1] == self.cuid || c.capable(CAP_SYS_ADMIN)
    }

    /// IPC_SET: owner, group and rights from `p`.
    pub fn set(&mut self, p: &IpcPerm) {
        self.uid = p.uid;
        self.gid = p.gid;
        self.mode = (self.mode & !0o777) | (p.mode & 0o777);
    }
}

/// An object kind's table of identifiers.
pub struct Ids<T> {
    slots: BTreeMap<u32, (u16, Arc<T>)>,
    seq: u16,
}

impl<T> Ids<T> {
    /// An empty table.
    pub const fn new() -> Ids<T> {
        Ids { slots: BTreeMap::new(), seq: 0 }
    }

    /// Adds `obj` in the lowest free slot; returns its identifier and sequence.
    pub fn add(&mut self, obj: Arc<T>) -> Result<(i32, u16), Errno> {
        let idx = (0..IPCMNI).find(|i| !self.slots.contains_key(i)).ok_or(Errno::ENOSPC)?;
        let seq = self.seq;
        // Sequence numbers fill the identifier's high bits (16 of them; Linux's
        // IPCMNI_SEQ_MAX) and wrap.
        self.seq = self.seq.wrapping_add(1);
        self.slots.insert(idx, (seq, obj));
        Ok((((u32::from(seq)) << SHIFT | idx) as i32, seq))
    }

    /// The object an identifier names (EINVAL when none, as Linux).
    pub fn get(&self, id: i32) -> Result<Arc<T>, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let (idx, seq) = (id as u32 & (IPCMNI - 1), (id as u32 >> SHIFT) as u16);
        match self.slots.get(&idx) {
            Some((s, o)) if *s == seq => Ok(o.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The object in slot `idx` with its identifier (the *_STAT commands).
    pub fn at(&self, idx: i32) -> Result<(i32, Arc<T>), Errno> {
        let idx = u32::try_from(idx).map_err(|_| Errno::EINVAL)?;
        let (seq, o) = self.slots.get(&idx).ok_or(Errno::EINVAL)?;
        Ok(((u32::from(*seq) << SHIFT | idx) as i32, o.clone()))
    }

    /// Removes the object behind `id`.
    pub fn remove(&mut self, id: i32) -> Option<Arc<T>> {
        let idx = id as u32 & (IPCMNI - 1);
        self.slots.remove(&idx).map(|(_, o)| o)
    }

    /// Every object with its identifier.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Arc<T>)> {
        self.slots.iter().map(|(idx, (seq, o))| (((u32::from(*seq)) << SHIFT | idx) as i32, o))
    }

    /// The highest slot in use (IPC_INFO/*_INFO return it).
    pub fn max_index(&self) -> i32 {
        self.slots.keys().next_back().map(|&i| i as i32).unwrap_or(0)
    }

    /// Objects in the table.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

/// What *get does with a key: a new object, or the identifier of the existing
/// one after Linux's checks (EEXIST with IPC_CREAT|IPC_EXCL, ENOENT without
/// IPC_CREAT, EACCES for missing rights; `fits` adds the kind's own check).
pub fn lookup_key<T>(
    cx: &Ctx,
    ids: &Mutex<Ids<T>>,
    key: i32,
    flags: i32,
    perm: impl Fn(&T) -> Perm,
    fits: impl Fn(&T) -> Result<(), Errno>,
) -> Result<Option<i32>, Errno> {
    if key == IPC_PRIVATE {
        return Ok(None);
    }
    let found = ids.lock().iter().find(|(_, o)| perm(o).key == key).map(|(id, o)| (id, o.clone()));
    match found {
        None if flags & IPC_CREAT == 0 => Err(Errno::ENOENT),
        None => Ok(None),
        Some(_) if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 => Err(Errno::EEXIST),
        Some((id, o)) => {
            let want = ((flags as u32 & 0o777) >> 6 | (flags as u32 & 0o777) >> 3 | flags as u32) & 7;
            if !perm(&o).allows(cx, want) {
                return Err(Errno::EACCES);
            }
            fits(&o)?;
            Ok(Some(id))
        }
    }
}

/// Seconds of the wall clock (the IPC times).
pub fn now() -> i64 {
    (crate::time::realtime_ns() / 1_000_000_000) as i64
}

/// The command of a *ctl call without the IPC_64 flag (64-bit Linux always
/// uses the 64-bit layouts).
pub fn cmd_of(cmd: i32) -> i32 {
    cmd & !IPC_64
}
