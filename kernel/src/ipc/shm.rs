//! System V shared memory. A segment's bytes live in a sparse in-memory node
//! (pages that were never written cost nothing); shmat maps it MAP_SHARED, so
//! the page cache of shared file mappings gives every attachment the same
//! frames. Attachments are counted from the address spaces themselves (each
//! VMA of the segment is one, as Linux counts them), so fork, munmap, exec and
//! exit need no hook; a segment marked for removal goes when none is left.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::ipc::*;
use elfin_shim::uapi::stat_mode::S_IFREG;
use elfin_shim::uapi::{ShmidDs, Shminfo64};
use elfin_shim::UAddr;
use spin::Mutex;

use super::{cmd_of, lookup_key, now, Ids, Perm};
use crate::fs::file::FileLike;
use crate::fs::{next_ino, Inode, Meta};
use crate::mem::vm::{Area, Backing, Prot, VmaName};
use crate::syscall::SysResult;
use crate::task::caps::CAP_IPC_LOCK;
use crate::task::{table, Ctx};

const PAGE: u64 = 4096;
// SHMMAX, SHMMIN, SHMMNI and SHMALL of Linux 6.1.
/// The largest segment (kernel.shmmax).
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
const SHMMIN: u64 = 1;
/// How many segments may exist (kernel.shmmni).
pub const SHMMNI: u64 = 4096;
/// Pages all segments may use (kernel.shmall).
pub const SHMALL: u64 = u64::MAX - (1 << 24);
/// Device number that /proc/self/maps shows for segments (Linux's shm mount).
const SHM_DEV: u64 = 0x01;

/// The bytes of a segment: a fixed size, pages stored once written.
pub struct ShmNode {
    ino: u64,
    size: u64,
    meta: Mutex<Meta>,
    pages: Mutex<BTreeMap<u64, Vec<u8>>>,
}

impl Inode for ShmNode {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn dev(&self) -> u64 {
        SHM_DEV
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if off >= self.size {
            return Ok(0);
        }
        let n = ((self.size - off) as usize).min(buf.len());
        let pages = self.pages.lock();
        let mut done = 0usize;
        while done < n {
            let pos = off + done as u64;
            let (pg, in_pg) = (pos / PAGE, (pos % PAGE) as usize);
            let k = (PAGE as usize - in_pg).min(n - done);
            let dst = buf.get_mut(done..done + k).unwrap_or(&mut []);
            match pages.get(&pg) {
                Some(p) => dst.copy_from_slice(p.get(in_pg..in_pg + k).unwrap_or(&[])),
                None => dst.fill(0),
            }
            done += k;
        }
        Ok(n)
    }
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        if off >= self.size {
            return Ok(0);
        }
        let n = ((self.size - off) as usize).min(data.len());
        let mut pages = self.pages.lock();
        let mut done = 0usize;
        while done < n {
            let pos = off + done as u64;
            let (pg, in_pg) = (pos / PAGE, (pos % PAGE) as usize);
            let k = (PAGE as usize - in_pg).min(n - done);
            let src = data.get(done..done + k).unwrap_or(&[]);
            let p = pages.entry(pg).or_insert_with(|| alloc::vec![0u8; PAGE as usize]);
            if let Some(d) = p.get_mut(in_pg..in_pg + k) {
                d.copy_from_slice(src);
            }
            // Pages of zeros need no storage.
            if p.iter().all(|&b| b == 0) {
                pages.remove(&pg);
            }
            done += k;
        }
        Ok(n)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Err(Errno::EINVAL)
    }
}

struct State {
    perm: Perm,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
    /// IPC_RMID came while attached: the segment goes with its last attachment.
    dest: bool,
}

/// A segment.
pub struct Segment {
    node: Arc<ShmNode>,
    st: Mutex<State>,
}

static SHM: Mutex<Ids<Segment>> = Mutex::new(Ids::new());

fn node_dyn(seg: &Segment) -> Arc<dyn Inode> {
    seg.node.clone()
}

/// Attachments of `seg`: its VMAs in every address space (each fork of an
/// attachment and each split counts, as Linux's vm_ops open/close count).
fn nattch(seg: &Segment) -> u64 {
    let mine = node_dyn(seg);
    let mut seen: Vec<usize> = Vec::new();
    let mut n = 0u64;
    for p in table::processes() {
        let Some(mm) = p.try_mm() else { continue };
        let key = Arc::as_ptr(&mm) as usize;
        // Threads and vfork children share one address space: count it once.
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let a = mm.lock();
        n += a
            .vmas
            .iter()
            .filter(|r| matches!(&r.val.backing, Backing::File { node, .. } if crate::mem::vm::same_node(node, &mine)))
            .count() as u64;
    }
    n
}

/// Drops the segments marked for removal that nobody has attached anymore.
fn reap_destroyed() {
    let dead: Vec<i32> = SHM
        .lock()
        .iter()
        .filter(|(_, s)| s.st.lock().dest)
        .map(|(id, s)| (id, s.clone()))
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|(_, s)| nattch(s) == 0)
        .map(|(id, _)| id)
        .collect();
    let mut t = SHM.lock();
    for id in dead {
        t.remove(id);
    }
}

fn stat_of(seg: &Segment) -> ShmidDs {
    let st = seg.st.lock();
    let mut perm = st.perm;
    if st.dest {
        perm.mode |= SHM_DEST;
    }
    let (atime, dtime, ctime, cpid, lpid) = (st.atime, st.dtime, st.ctime, st.cpid, st.lpid);
    drop(st);
    ShmidDs {
        shm_perm: perm.uapi(),
        shm_segsz: seg.node.size,
        shm_atime: atime,
        shm_dtime: dtime,
        shm_ctime: ctime,
        shm_cpid: cpid,
        shm_lpid: lpid,
        shm_nattch: nattch(seg),
        ..Default::default()
    }
}

/// shmget(2).
pub fn shmget(cx: &Ctx, key: i32, size: usize, flags: i32) -> SysResult {
    reap_destroyed();
    let size = size as u64;
    let existing = lookup_key(
        cx,
        &SHM,
        key,
        flags,
        |s: &Segment| s.st.lock().perm,
        |s: &Segment| if size > s.node.size { Err(Errno::EINVAL) } else { Ok(()) },
    )?;
    if let Some(id) = existing {
        return Ok(id as u64);
    }
    if !(SHMMIN..=SHMMAX).contains(&size) {
        return Err(Errno::EINVAL);
    }
    if SHM.lock().len() as u64 >= SHMMNI {
        return Err(Errno::ENOSPC);
    }
    let mut perm = Perm::new(cx, key, flags);
    let node = Arc::new(ShmNode {
        ino: next_ino(),
        size,
        meta: Mutex::new(Meta::new(S_IFREG | perm.mode)),
        pages: Mutex::new(BTreeMap::new()),
    });
    let seg = Arc::new(Segment {
        node,
        st: Mutex::new(State { perm, atime: 0, dtime: 0, ctime: now(), cpid: cx.proc.pid, lpid: 0, dest: false }),
    });
    let (id, seq) = SHM.lock().add(seg.clone())?;
    perm.seq = seq;
    seg.st.lock().perm = perm;
    Ok(id as u64)
}

/// shmat(2): returns the address.
pub fn shmat(cx: &Ctx, id: i32, addr: UAddr, flags: i32) -> SysResult {
    reap_destroyed();
    let seg = SHM.lock().get(id)?;
    let ro = flags & SHM_RDONLY != 0;
    {
        // A segment marked for removal can still be attached by its id (Linux).
        let st = seg.st.lock();
        let want = if ro { 4 } else { 6 };
        if !st.perm.allows(cx, want) {
            return Err(Errno::EACCES);
        }
    }
    let len = seg.node.size.div_ceil(PAGE) * PAGE;
    let mut a = cx.mm();
    let start = if addr.is_null() {
        a.find_free(len).ok_or(Errno::ENOMEM)?
    } else {
        let mut s = addr.0;
        if !s.is_multiple_of(PAGE) {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            s &= !(PAGE - 1);
        }
        let end = s.checked_add(len).filter(|&e| e <= crate::mem::vm::USER_END).ok_or(Errno::EINVAL)?;
        if s == 0 {
            return Err(Errno::EINVAL);
        }
        if !a.vmas.is_free(s, end) {
            if flags & SHM_REMAP == 0 {
                return Err(Errno::EINVAL);
            }
            a.unmap_range(s, end);
        }
        s
    };
    if a.total_vm.saturating_add(len) > cx.proc.rlimit(9) {
        return Err(Errno::ENOMEM);
    }
    let prot = Prot { read: true, write: !ro, exec: flags & SHM_EXEC != 0 };
    let name = alloc::format!("/SYSV{:08x} (deleted)", seg.st.lock().perm.key as u32).into_bytes();
    let area = Area {
        prot,
        shared: true,
        growsdown: false,
        maywrite: !ro,
        backing: Backing::File { node: node_dyn(&seg), offset: 0, len: u64::MAX },
        name: VmaName::Path(name),
        dontfork: false,
        wipeonfork: false,
    };
    if !a.insert_area(start, start + len, area) {
        return Err(Errno::ENOMEM);
    }
    drop(a);
    let mut st = seg.st.lock();
    st.atime = now();
    st.lpid = cx.proc.pid;
    Ok(start)
}

/// shmdt(2): removes the attachment that starts at `addr`.
pub fn shmdt(cx: &Ctx, addr: UAddr) -> SysResult {
    if !addr.0.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let segs: Vec<Arc<Segment>> = SHM.lock().iter().map(|(_, s)| s.clone()).collect();
    let mut a = cx.mm();
    let Some((start, _, area)) = a.find(addr.0) else { return Err(Errno::EINVAL) };
    if start != addr.0 {
        return Err(Errno::EINVAL);
    }
    let node = match &area.backing {
        Backing::File { node, offset: 0, .. } => node.clone(),
        _ => return Err(Errno::EINVAL),
    };
    let seg = segs.iter().find(|s| crate::mem::vm::same_node(&node_dyn(s), &node)).cloned();
    let size = match &seg {
        Some(s) => s.node.size,
        None => {
            // A segment already removed from the table: still a SysV node.
            if node.dev() != SHM_DEV {
                return Err(Errno::EINVAL);
            }
            node.size()
        }
    };
    let end = addr.0 + size.div_ceil(PAGE) * PAGE;
    // Every VMA of this segment within the attachment goes (it may have been split).
    let parts: Vec<(u64, u64)> = a
        .vmas
        .overlapping(addr.0, end)
        .filter(|r| matches!(&r.val.backing, Backing::File { node: n, .. } if crate::mem::vm::same_node(n, &node)))
        .map(|r| (r.start, r.end))
        .collect();
    for (s, e) in parts {
        a.unmap_range(s, e);
    }
    drop(a);
    if let Some(s) = seg {
        let mut st = s.st.lock();
        st.dtime = now();
        st.lpid = cx.proc.pid;
    }
    reap_destroyed();
    Ok(0)
}

/// shmctl(2).
pub fn shmctl(cx: &Ctx, id: i32, cmd: i32, buf: UAddr) -> SysResult {
    reap_destroyed();
    let cmd = cmd_of(cmd);
    match cmd {
        IPC_INFO => {
            let info = Shminfo64 {
                shmmax: SHMMAX,
                shmmin: SHMMIN,
                shmmni: SHMMNI,
                shmseg: SHMMNI,
                shmall: SHMALL,
                ..Default::default()
            };
            cx.write_val(buf, &info)?;
            return Ok(SHM.lock().max_index() as u64);
        }
        SHM_INFO => {
            // struct shm_info: used_ids, shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes.
            let t = SHM.lock();
            let used = t.len() as i32;
            let tot: u64 = t.iter().map(|(_, s)| s.node.size.div_ceil(PAGE)).sum();
            let rss: u64 = t.iter().map(|(_, s)| s.node.pages.lock().len() as u64).sum();
            let max = t.max_index();
            drop(t);
            let mut raw = [0u64; 6];
            raw[0] = used as u64;
            raw[1] = tot;
            raw[2] = rss;
            cx.write_val(buf, &raw)?;
            return Ok(max as u64);
        }
        SHM_STAT | SHM_STAT_ANY => {
            let (sid, seg) = SHM.lock().at(id)?;
            if cmd == SHM_STAT && !seg.st.lock().perm.allows(cx, 4) {
                return Err(Errno::EACCES);
            }
            cx.write_val(buf, &stat_of(&seg))?;
            return Ok(sid as u64);
        }
        _ => {}
    }
    let seg = SHM.lock().get(id)?;
    match cmd {
        IPC_STAT => {
            if !seg.st.lock().perm.allows(cx, 4) {
                return Err(Errno::EACCES);
            }
            cx.write_val(buf, &stat_of(&seg))?;
            Ok(0)
        }
        IPC_SET => {
            let ds: ShmidDs = cx.read_val(buf)?;
            let mut st = seg.st.lock();
            if !st.perm.may_change(cx) {
                return Err(Errno::EPERM);
            }
            st.perm.set(&ds.shm_perm);
            st.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            {
                let mut st = seg.st.lock();
                if !st.perm.may_change(cx) {
                    return Err(Errno::EPERM);
                }
                st.dest = true;
                st.perm.key = IPC_PRIVATE;
            }
            reap_destroyed();
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let mut st = seg.st.lock();
            let c = cx.proc.cred.lock().clone();
            if !c.capable(CAP_IPC_LOCK) && c.uid[1] != st.perm.uid && c.uid[1] != st.perm.cuid {
                return Err(Errno::EPERM);
            }
            if !c.capable(CAP_IPC_LOCK) && cmd == SHM_LOCK && cx.proc.rlimit(8) == 0 {
                return Err(Errno::EPERM);
            }
            if cmd == SHM_LOCK {
                st.perm.mode |= SHM_LOCKED;
            } else {
                st.perm.mode &= !SHM_LOCKED;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
