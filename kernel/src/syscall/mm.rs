//! Memory system calls: mmap, munmap, mprotect, brk, madvise, mremap, msync,
//! mincore — with Linux's argument checks, in Linux's order (mm/mmap.c,
//! mm/mprotect.c, mm/mremap.c, mm/madvise.c, mm/msync.c, mm/mincore.c).
use alloc::vec::Vec;

use elfin_arch::PAGE_SIZE;
use elfin_kcore::Segment;
use elfin_shim::errno::Errno;
use elfin_shim::UAddr;

use super::SysResult;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::StatInfo;

use crate::mem::vm::{AddrSpace, Area, Backing, Prot, VmaName, MAX_MAP_COUNT, MMAP_MIN, USER_END};
use crate::task::Ctx;
use elfin_shim::uapi::rlimit::{RLIMIT_AS, RLIMIT_DATA, RLIM_INFINITY};

pub(super) const PROT_READ: i32 = 1;
pub(super) const PROT_WRITE: i32 = 2;
const PROT_EXEC: i32 = 4;
const PROT_GROWSDOWN: i32 = 0x0100_0000;
const PROT_GROWSUP: i32 = 0x0200_0000;

pub(super) const MAP_SHARED: i32 = 0x01;
const MAP_PRIVATE: i32 = 0x02;
const MAP_SHARED_VALIDATE: i32 = 0x03;
const MAP_TYPE: i32 = 0x0f;
const MAP_FIXED: i32 = 0x10;
pub(super) const MAP_ANONYMOUS: i32 = 0x20;
const MAP_32BIT: i32 = 0x40;
const MAP_GROWSDOWN: i32 = 0x100;
const MAP_LOCKED: i32 = 0x2000;
const MAP_NORESERVE: i32 = 0x4000;
const MAP_POPULATE: i32 = 0x8000;
const MAP_HUGETLB: i32 = 0x40000;
const MAP_FIXED_NOREPLACE: i32 = 0x100000;
/// LEGACY_MAP_MASK | MAP_SYNC | MAP_FIXED_NOREPLACE... as MAP_SHARED_VALIDATE accepts:
/// every flag of the legacy interface (MAP_SYNC needs DAX, which no elfin file has).
const MAP_VALIDATE_KNOWN: i32 = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | 0x0800 /* DENYWRITE */
    | 0x1000 /* EXECUTABLE */ | MAP_32BIT | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE
    | 0x10000 /* NONBLOCK */ | 0x20000 /* STACK */ | MAP_HUGETLB | MAP_FIXED_NOREPLACE | (0x3f << 26);

fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

/// Linux's is_data_mapping: private, writable and not a stack.
fn is_data(area: &Area) -> bool {
    area.prot.write && !area.shared && !area.growsdown
}

/// ENOMEM when `more` bytes of new mappings would pass RLIMIT_AS, or, for data
/// mappings (`data`), RLIMIT_DATA (Linux's may_expand_vm, with its allowance for
/// a soft limit of 0 under a larger hard one).
fn may_expand(cx: &Ctx, a: &AddrSpace, more: u64, data: bool) -> Result<(), Errno> {
    let limit = cx.proc.rlimit(RLIMIT_AS);
    if a.total_vm.saturating_add(more) > limit {
        return Err(Errno::ENOMEM);
    }
    if data {
        data_room(cx, a, more)?;
    }
    Ok(())
}

/// ENOMEM when `more` bytes of data mappings would pass RLIMIT_DATA.
fn data_room(cx: &Ctx, a: &AddrSpace, more: u64) -> Result<(), Errno> {
    let (soft, hard) = cx.proc.rlimits(RLIMIT_DATA);
    if soft == RLIM_INFINITY {
        return Ok(());
    }
    let data_vm: u64 = a.vmas.iter().filter(|r| is_data(r.val)).map(|r| r.end - r.start).sum();
    let want = data_vm.saturating_add(more) / PAGE_SIZE;
    if want > soft / PAGE_SIZE && !(soft == 0 && want <= hard / PAGE_SIZE) {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// The overcommit check for `bytes` of a mapping with these attributes (Linux
/// accounts private writable mappings, and shared anonymous ones, unless
/// MAP_NORESERVE).
fn account(area: &Area, bytes: u64, noreserve: bool) -> Result<(), Errno> {
    let accountable = area.prot.write && (!area.shared || matches!(area.backing, Backing::Anon));
    if accountable && !noreserve && !AddrSpace::may_commit(bytes) {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// mmap(2).
pub fn mmap(cx: &Ctx, addr: UAddr, len: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> SysResult {
    // arch/x86/kernel/sys_x86_64.c: the offset must be page-aligned.
    if offset & (PAGE_SIZE as i64 - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let anon = flags & MAP_ANONYMOUS != 0;
    let file = if anon { None } else { Some(cx.fd(fd)?) };
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut a = cx.mm();
    let len = page_up(len as u64).filter(|&l| l != 0).ok_or(Errno::ENOMEM)?;
    let offset = offset as u64;
    if !anon && offset.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    if a.vmas.len() >= MAX_MAP_COUNT {
        return Err(Errno::ENOMEM);
    }
    if len > USER_END {
        return Err(Errno::ENOMEM);
    }
    let ty = flags & MAP_TYPE;
    if ty != MAP_SHARED && ty != MAP_PRIVATE && ty != MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if ty == MAP_SHARED_VALIDATE && flags & !MAP_VALIDATE_KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let shared = ty != MAP_PRIVATE;
    if flags & MAP_HUGETLB != 0 {
        // No huge pages are reserved (vm.nr_hugepages = 0, Linux's default).
        return Err(Errno::ENOMEM);
    }

    // Where: MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses to, a free hint is taken
    // (rounded up, as PAGE_ALIGN), else top-down from the mmap base.
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        if addr.0 & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr.0.checked_add(len).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
        if addr.0 < MMAP_MIN {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED == 0 && !a.vmas.is_free(addr.0, end) {
            return Err(Errno::EEXIST);
        }
        addr.0
    } else {
        // arch_get_unmapped_area_topdown: the hint is rounded down to a page.
        let hint = addr.0 & !(PAGE_SIZE - 1);
        if hint >= MMAP_MIN && a.hint_ok(hint, len) {
            hint
        } else if flags & MAP_32BIT != 0 {
            a.find_free_in(len, 0x4000_0000, 0x8000_0000).ok_or(Errno::ENOMEM)?
        } else {
            a.find_free(len).ok_or(Errno::ENOMEM)?
        }
    };

    let pr = Prot::from_bits(prot);
    let mut area = Area {
        prot: pr,
        shared,
        growsdown: flags & MAP_GROWSDOWN != 0,
        maywrite: true,
        backing: Backing::Anon,
        name: VmaName::None,
        dontfork: false,
        wipeonfork: false,
    };
    if let Some(f) = &file {
        let n = f.inode().ok_or(Errno::ENODEV)?;
        let acc = f.flags() & 3;
        if f.flags() & crate::fs::file::O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        let m = n.meta().mode & S_IFMT;
        match m {
            S_IFREG => {
                if shared && prot & PROT_WRITE != 0 && acc != 2 {
                    return Err(Errno::EACCES);
                }
                if acc == 1 {
                    return Err(Errno::EACCES);
                }
                area.maywrite = !shared || acc == 2;
                if shared {
                    area.maywrite &= crate::fs::seals::check_shared_map(&*n, prot & PROT_WRITE != 0)?;
                }
                n.refresh();
                area.backing = Backing::File { node: n.clone(), offset, len: u64::MAX };
                area.name = VmaName::Path(f.path.clone());
            }
            // /dev/zero: anonymous memory (shared: "/dev/zero (deleted)" in maps).
            S_IFCHR if n.rdev() == StatInfo::makedev(1, 5) => {
                if acc == 1 {
                    return Err(Errno::EACCES);
                }
            }
            _ => return Err(Errno::ENODEV),
        }
    }
    if shared && area.growsdown {
        return Err(Errno::EINVAL);
    }
    let unmapping = if fixed { a.vmas.overlapping(start, start + len).map(|r| r.len()).sum() } else { 0 };
    may_expand(cx, &a, len.saturating_sub(unmapping), is_data(&area))?;
    account(&area, len, flags & MAP_NORESERVE != 0)?;
    if fixed {
        a.unmap_range(start, start + len);
    }
    if !a.insert_area(start, start + len, area) {
        return Err(Errno::ENOMEM);
    }
    if flags & (MAP_POPULATE | MAP_LOCKED) != 0 && pr.any() {
        // Failures are ignored, as Linux ignores them (the fault will come later).
        let access = if pr.write { crate::mem::vm::Access::Write } else { crate::mem::vm::Access::Read };
        let mut va = start;
        while va < start + len {
            if a.fault(va, access).is_err() {
                break;
            }
            va += PAGE_SIZE;
        }
    }
    Ok(start)
}

/// Checks an (addr, len) pair as munmap does: page-aligned start, inside the user
/// range; returns [start, page_up(end)).
fn check_range(addr: UAddr, len: usize) -> Result<(u64, u64), Errno> {
    if addr.0 & (PAGE_SIZE - 1) != 0 || addr.0 > USER_END || len as u64 > USER_END - addr.0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len as u64).ok_or(Errno::EINVAL)?;
    Ok((addr.0, addr.0 + len))
}

/// munmap(2).
pub fn munmap(cx: &Ctx, addr: UAddr, len: usize) -> SysResult {
    let mut a = cx.mm();
    let (s, e) = check_range(addr, len)?;
    if s == e {
        return Err(Errno::EINVAL);
    }
    // Splitting a VMA in two needs a slot (Linux: ENOMEM at max_map_count).
    if a.vmas.len() >= MAX_MAP_COUNT {
        if let Some(r) = a.vmas.find(s) {
            if r.start < s && r.end > e {
                return Err(Errno::ENOMEM);
            }
        }
    }
    a.unmap_range(s, e);
    Ok(0)
}

/// mprotect(2): applies the rights VMA by VMA from `addr` and stops with ENOMEM at
/// the first hole, keeping what was changed before it (as Linux does).
pub fn mprotect(cx: &Ctx, addr: UAddr, len: usize, prot: i32) -> SysResult {
    let mut a = cx.mm();
    let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    let prot = prot & !grows;
    if grows == PROT_GROWSDOWN | PROT_GROWSUP {
        return Err(Errno::EINVAL);
    }
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = page_up(len as u64).ok_or(Errno::ENOMEM)?;
    let mut s = addr.0;
    let e = s.checked_add(len).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8/* PROT_SEM */) != 0 {
        return Err(Errno::EINVAL);
    }
    let first = a.vmas.find(s).map(|r| (r.start, r.val.growsdown)).ok_or(Errno::ENOMEM)?;
    if grows == PROT_GROWSDOWN {
        if !first.1 {
            return Err(Errno::EINVAL);
        }
        s = first.0;
    } else if grows == PROT_GROWSUP {
        return Err(Errno::EINVAL);
    }
    // The covered prefix of [s, e).
    let mut covered = s;
    let mut want_write = 0u64;
    while covered < e {
        let Some(r) = a.vmas.find(covered) else { break };
        if prot & PROT_WRITE != 0 && !r.val.maywrite {
            if covered == s {
                return Err(Errno::EACCES);
            }
            break;
        }
        if prot & PROT_WRITE != 0 && !r.val.prot.write && !r.val.shared {
            want_write += r.end.min(e) - covered;
        }
        covered = r.end.min(e);
    }
    // Making private memory writable is accounted, as at mmap, and counts
    // against RLIMIT_DATA.
    if want_write != 0 && !AddrSpace::may_commit(want_write) {
        return Err(Errno::ENOMEM);
    }
    if want_write != 0 {
        data_room(cx, &a, want_write)?;
    }
    if a.vmas.len() + 2 > MAX_MAP_COUNT {
        return Err(Errno::ENOMEM);
    }
    a.protect_range(s, covered, Prot::from_bits(prot)).map_err(|_| Errno::ENOMEM)?;
    if covered < e {
        // The prefix before a hole keeps its new rights; a read-only shared file
        // VMA after it gives EACCES, a hole ENOMEM.
        return Err(if a.vmas.find(covered).is_some() { Errno::EACCES } else { Errno::ENOMEM });
    }
    Ok(0)
}

/// brk(2): returns the new break, or the old one when the request fails.
pub fn brk(cx: &Ctx, addr: UAddr) -> SysResult {
    let want = addr.0;
    let mut guard = cx.mm();
    let a = &mut *guard;
    if want < a.brk_start || want > USER_END {
        return Ok(a.brk);
    }
    let old_top = page_up(a.brk).unwrap_or(a.brk);
    let new_top = page_up(want).unwrap_or(USER_END);
    if new_top == old_top {
        a.brk = want;
        return Ok(want);
    }
    if new_top < old_top {
        a.unmap_range(new_top, old_top);
        a.brk = want;
        return Ok(want);
    }
    // Growing: the new pages must be free, with a page and the stack guard gap to
    // spare below the next mapping (mm/mmap.c, brk).
    let grow = new_top - old_top;
    let next_ok = match a.vmas.first_above(old_top) {
        Some(r) => {
            let gap = if r.val.growsdown { crate::mem::vm::STACK_GUARD_GAP } else { 0 };
            new_top.saturating_add(PAGE_SIZE) <= r.start.saturating_sub(gap)
        }
        None => true,
    };
    // RLIMIT_DATA bounds the heap (Linux's check_data_rlimit counts the data
    // segment too) besides the data mappings.
    let data_limit = cx.proc.rlimit(RLIMIT_DATA);
    if data_limit != RLIM_INFINITY && want - a.brk_start > data_limit {
        return Ok(a.brk);
    }
    if !next_ok || !AddrSpace::may_commit(grow) || may_expand(cx, a, grow, true).is_err() {
        return Ok(a.brk);
    }
    let heap = Area {
        prot: Prot { read: true, write: true, exec: false },
        shared: false,
        growsdown: false,
        maywrite: true,
        backing: Backing::Anon,
        name: VmaName::None,
        dontfork: false,
        wipeonfork: false,
    };
    if !a.insert_area(old_top, new_top, heap) {
        return Ok(a.brk);
    }
    a.brk = want;
    Ok(want)
}

/// madvise(2): MADV_DONTNEED drops pages (they read back as zeros or file content),
/// MADV_FREE too (Linux may keep them until memory is short; dropping at once is one
/// of the outcomes it allows), MADV_POPULATE_* commit; the rest are hints.
pub fn madvise(cx: &Ctx, addr: UAddr, len: usize, advice: i32) -> SysResult {
    let mut a = cx.mm();
    const DONTNEED: i32 = 4;
    const FREE: i32 = 8;
    const REMOVE: i32 = 9;
    const DONTFORK: i32 = 10;
    const DOFORK: i32 = 11;
    const WIPEONFORK: i32 = 18;
    const KEEPONFORK: i32 = 19;
    const POPULATE_READ: i32 = 22;
    const POPULATE_WRITE: i32 = 23;
    const DONTNEED_LOCKED: i32 = 24;
    match advice {
        0..=4 | 8..=25 => {}
        _ => return Err(Errno::EINVAL),
    }
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_up(len as u64).ok_or(Errno::EINVAL)?;
    if len != 0 && plen == 0 {
        return Err(Errno::EINVAL);
    }
    let s = addr.0;
    let e = s.checked_add(plen).ok_or(Errno::EINVAL)?;
    if e == s {
        return Ok(0);
    }
    let parts: Vec<(u64, u64, Area)> =
        a.vmas.overlapping(s, e).map(|r| (r.start.max(s), r.end.min(e), r.val.clone())).collect();
    let hole = parts.iter().map(|x| x.1 - x.0).sum::<u64>() != e - s;
    for (ps, pe, area) in parts {
        match advice {
            DONTNEED | DONTNEED_LOCKED => a.discard_pages(ps, pe),
            FREE | WIPEONFORK => {
                if area.shared || !matches!(area.backing, Backing::Anon) {
                    return Err(Errno::EINVAL);
                }
                if advice == FREE {
                    a.discard_pages(ps, pe);
                } else {
                    let _ = a.vmas.update(ps, pe, |v| v.wipeonfork = true);
                }
            }
            KEEPONFORK => {
                let _ = a.vmas.update(ps, pe, |v| v.wipeonfork = false);
            }
            // What fork gives the child of the range (mm/madvise.c, VM_DONTCOPY).
            DONTFORK | DOFORK => {
                let _ = a.vmas.update(ps, pe, |v| v.dontfork = advice == DONTFORK);
            }
            REMOVE => {
                if !(area.shared && area.prot.write) {
                    return Err(Errno::EACCES);
                }
                a.discard_pages(ps, pe);
            }
            POPULATE_READ | POPULATE_WRITE => {
                let access =
                    if advice == POPULATE_WRITE { crate::mem::vm::Access::Write } else { crate::mem::vm::Access::Read };
                let mut va = ps;
                while va < pe {
                    match a.fault(va, access) {
                        Ok(()) => {}
                        Err(crate::mem::vm::FaultError::OutOfMemory) => return Err(Errno::ENOMEM),
                        Err(_) => return Err(Errno::EFAULT),
                    }
                    va += PAGE_SIZE;
                }
            }
            _ => {}
        }
    }
    if hole {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// mremap(2): shrink in place, grow in place when the pages after are free, else move
/// (MREMAP_MAYMOVE) — to `new_addr` with MREMAP_FIXED; MREMAP_DONTUNMAP leaves the old
/// range mapped and empty.
pub fn mremap(cx: &Ctx, old: UAddr, old_len: usize, new_len: usize, flags: i32, new_addr: UAddr) -> SysResult {
    let mut a = cx.mm();
    const MAYMOVE: i32 = 1;
    const FIXED: i32 = 2;
    const DONTUNMAP: i32 = 4;
    if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 || old.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (FIXED | DONTUNMAP) != 0 && flags & MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & DONTUNMAP != 0 && old_len != new_len {
        return Err(Errno::EINVAL);
    }
    let old_len = page_up(old_len as u64).ok_or(Errno::EINVAL)?;
    let new_len = page_up(new_len as u64).ok_or(Errno::EINVAL)?;
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let s = old.0;
    let (vstart, vend, area) = match a.find(s) {
        Some((vs, ve, a)) => (vs, ve, a.clone()),
        None => return Err(Errno::EFAULT),
    };
    // old_len 0 duplicates a shared mapping; a private one cannot be duplicated.
    let dup = old_len == 0;
    if dup && !area.shared {
        return Err(Errno::EINVAL);
    }
    if s + old_len > vend {
        return Err(Errno::EFAULT);
    }
    if flags & DONTUNMAP != 0 && (area.shared || !matches!(area.backing, Backing::Anon)) {
        return Err(Errno::EINVAL);
    }
    let grow = new_len.saturating_sub(old_len);
    if flags & FIXED != 0 {
        let d = new_addr.0;
        if d & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let de = d.checked_add(new_len).filter(|&e| e <= USER_END).ok_or(Errno::EINVAL)?;
        // The ranges must not overlap.
        if d < s + old_len.max(1) && s < de {
            return Err(Errno::EINVAL);
        }
        if d < MMAP_MIN {
            return Err(Errno::EPERM);
        }
        account(&area, grow, false)?;
        a.unmap_range(d, de);
        let moved = if new_len < old_len && !dup {
            a.unmap_range(s + new_len, s + old_len);
            new_len
        } else {
            old_len
        };
        return move_or_dup(&mut a, s, moved, d, new_len, flags & DONTUNMAP != 0, dup);
    }
    if flags & DONTUNMAP != 0 {
        // mremap_to without MREMAP_FIXED: new_addr is a hint.
        let hint = new_addr.0 & !(PAGE_SIZE - 1);
        let dst = if hint >= MMAP_MIN && a.hint_ok(hint, new_len) {
            hint
        } else {
            a.find_free(new_len).ok_or(Errno::ENOMEM)?
        };
        return move_or_dup(&mut a, s, old_len, dst, new_len, true, false);
    }
    if !dup && new_len <= old_len {
        a.unmap_range(s + new_len, s + old_len);
        return Ok(s);
    }
    may_expand(cx, &a, grow, is_data(&area))?;
    account(&area, grow, false)?;
    if !dup && flags & DONTUNMAP == 0 && s + old_len == vend && a.hint_ok(vend, new_len - old_len) {
        let ok = a.vmas.set_end(vstart, s + new_len).is_ok();
        if ok {
            a.total_vm += new_len - old_len;
            return Ok(s);
        }
    }
    if flags & MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dst = a.find_free(new_len).ok_or(Errno::ENOMEM)?;
    move_or_dup(&mut a, s, old_len, dst, new_len, flags & DONTUNMAP != 0, dup)
}

fn move_or_dup(a: &mut AddrSpace, s: u64, len: u64, dst: u64, new_len: u64, keep_old: bool, dup: bool) -> SysResult {
    if dup {
        let Some(r) = a.vmas.find(s) else { return Err(Errno::EFAULT) };
        let area = r.val.advance(s - r.start);
        if !a.insert_area(dst, dst + new_len, area) {
            return Err(Errno::ENOMEM);
        }
        return Ok(dst);
    }
    if !a.move_range(s, len, dst, new_len, keep_old) {
        return Err(Errno::ENOMEM);
    }
    Ok(dst)
}

/// msync(2): writes shared file pages back; ENOMEM when part of the range is unmapped.
pub fn msync(cx: &Ctx, addr: UAddr, len: usize, flags: i32) -> SysResult {
    let a = cx.mm();
    const MS_ASYNC: i32 = 1;
    const MS_INVALIDATE: i32 = 2;
    const MS_SYNC: i32 = 4;
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0) {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len as u64).ok_or(Errno::ENOMEM)?;
    let s = addr.0;
    let e = s.checked_add(len).ok_or(Errno::ENOMEM)?;
    if e == s {
        return Ok(0);
    }
    a.sync_range(s, e);
    if !a.vmas.covers(s, e) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// mincore(2): one byte per page, 1 when resident. Anonymous pages are resident once
/// committed; file pages always (ramfs files live in RAM, like a warm page cache),
/// except beyond the end of the file.
pub fn mincore(cx: &Ctx, addr: UAddr, len: usize, vec: UAddr) -> SysResult {
    let mut a = cx.mm();
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_up(len as u64).ok_or(Errno::ENOMEM)?;
    let s = addr.0;
    let e = s.checked_add(plen).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
    let mut out = Vec::new();
    out.try_reserve((plen / PAGE_SIZE) as usize).map_err(|_| Errno::EAGAIN)?;
    let mut va = s;
    while va < e {
        let Some((vs, _, area)) = a.find(va) else { return Err(Errno::ENOMEM) };
        let resident = match &area.backing {
            Backing::Anon => a.is_committed(va),
            // The kernel's own pages are always in memory.
            Backing::Kernel { .. } => true,
            Backing::File { node, offset, .. } => {
                a.is_committed(va) || offset + (va - vs) < node.size().next_multiple_of(PAGE_SIZE)
            }
        };
        out.push(u8::from(resident));
        va += PAGE_SIZE;
    }
    crate::uaccess::write_bytes(&mut a, vec, &out)?;
    Ok(0)
}

/// mlock(2)/munlock(2): nothing is ever swapped out, so locking only has to make
/// the pages resident: they are committed now. ENOMEM when part of the range is
/// not mapped, as Linux.
pub fn mlock(cx: &Ctx, addr: UAddr, len: usize) -> SysResult {
    let mut a = cx.mm();
    let start = addr.0 & !(PAGE_SIZE - 1);
    let end = addr.0.checked_add(len as u64).and_then(page_up).ok_or(Errno::EINVAL)?;
    let mut va = start;
    while va < end {
        let Some((_, vma_end, _)) = a.find(va) else { return Err(Errno::ENOMEM) };
        va = vma_end;
    }
    let mut va = start;
    while va < end {
        let _ = a.fault(va, crate::mem::vm::Access::Read);
        va += PAGE_SIZE;
    }
    Ok(0)
}
