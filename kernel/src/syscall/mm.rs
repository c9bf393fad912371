//! Memory system calls: mmap, munmap, mprotect, brk, madvise, mremap.
use elfin_arch::PAGE_SIZE;
use elfin_shim::errno::Errno;
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::FileKind;
use crate::fs::NodeKind;
use crate::mem::vm::{Backing, Prot, Vma, VmaName, MMAP_MIN, USER_END};
use crate::proc::Process;

const MAP_SHARED: i32 = 0x01;
const MAP_PRIVATE: i32 = 0x02;
const MAP_SHARED_VALIDATE: i32 = 0x03;
const MAP_FIXED: i32 = 0x10;
const MAP_ANONYMOUS: i32 = 0x20;
const MAP_GROWSDOWN: i32 = 0x100;
const MAP_POPULATE: i32 = 0x8000;
const MAP_FIXED_NOREPLACE: i32 = 0x100000;
/// Flags Linux accepts (others are ignored by plain MAP_SHARED/MAP_PRIVATE).
const MAP_KNOWN: i32 = 0x3 | 0x10 | 0x20 | 0x40 | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000 | (0x3f << 26);

fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

/// mmap(2).
pub fn mmap(p: &mut Process, addr: UAddr, len: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> SysResult {
    let ty = flags & 0x3;
    if ty == 0 {
        return Err(Errno::EINVAL);
    }
    if ty == MAP_SHARED_VALIDATE && flags & !MAP_KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if len == 0 || offset < 0 || (offset as u64) & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if prot & !0x7 & !0x0100_0000 & !0x0200_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len as u64).ok_or(Errno::ENOMEM)?;
    if len > USER_END {
        return Err(Errno::ENOMEM);
    }
    let backing = if flags & MAP_ANONYMOUS != 0 {
        Backing::Anon
    } else {
        let f = p.fds.get(fd)?;
        let FileKind::Node(n) = &f.kind else { return Err(Errno::ENODEV) };
        match &n.kind {
            NodeKind::File(_) => {}
            NodeKind::Dir(_) => return Err(Errno::ENODEV),
            NodeKind::Dev(_) => {
                // /dev/zero: anonymous memory.
                if ty & MAP_SHARED != 0 && ty != MAP_SHARED_VALIDATE && ty != MAP_PRIVATE {
                    return Err(Errno::ENODEV);
                }
            }
            _ => return Err(Errno::EACCES),
        }
        let acc = *f.flags.lock() & 3;
        if acc == 1 {
            return Err(Errno::EACCES);
        }
        if (ty == MAP_SHARED || ty == MAP_SHARED_VALIDATE) && prot & 2 != 0 && acc != 2 {
            return Err(Errno::EACCES);
        }
        if ty != MAP_PRIVATE {
            // Shared file mappings (writes reaching the file) are not supported yet.
            return super::unsupported("mmap(MAP_SHARED file)", 9);
        }
        match &n.kind {
            NodeKind::File(_) => Backing::File { node: n.clone(), offset: offset as u64, len },
            _ => Backing::Anon,
        }
    };
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        if addr.0 & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr.0.checked_add(len).ok_or(Errno::ENOMEM)?;
        if end > USER_END || addr.0 < MMAP_MIN {
            return Err(if addr.0 < MMAP_MIN { Errno::EPERM } else { Errno::ENOMEM });
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && flags & MAP_FIXED == 0 && !p.aspace.is_free(addr.0, end) {
            return Err(Errno::EEXIST);
        }
        p.aspace.unmap_range(addr.0, end);
        addr.0
    } else {
        let hint = addr.0 & !(PAGE_SIZE - 1);
        if hint >= MMAP_MIN && hint.checked_add(len).map(|e| p.aspace.is_free(hint, e)).unwrap_or(false) {
            hint
        } else {
            p.aspace.find_free(len).ok_or(Errno::ENOMEM)?
        }
    };
    let name = match &backing {
        Backing::File { .. } => {
            let f = p.fds.get(fd)?;
            VmaName::Path(f.path.clone())
        }
        Backing::Anon => VmaName::None,
    };
    p.aspace.insert(Vma {
        start,
        end: start + len,
        prot: Prot::from_bits(prot),
        shared: ty != MAP_PRIVATE,
        growsdown: flags & MAP_GROWSDOWN != 0,
        backing,
        name,
    });
    if flags & MAP_POPULATE != 0 && Prot::from_bits(prot).any() {
        let mut va = start;
        while va < start + len {
            if p.aspace.fault(va, crate::mem::vm::Access::Read).is_err() {
                break;
            }
            va += PAGE_SIZE;
        }
    }
    Ok(start)
}

fn check_range(addr: UAddr, len: usize) -> Result<(u64, u64), Errno> {
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len as u64).ok_or(Errno::EINVAL)?;
    let end = addr.0.checked_add(len).ok_or(Errno::EINVAL)?;
    if end > USER_END {
        return Err(Errno::EINVAL);
    }
    Ok((addr.0, end))
}

/// munmap(2).
pub fn munmap(p: &mut Process, addr: UAddr, len: usize) -> SysResult {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let (s, e) = check_range(addr, len)?;
    p.aspace.unmap_range(s, e);
    Ok(0)
}

/// mprotect(2).
pub fn mprotect(p: &mut Process, addr: UAddr, len: usize, prot: i32) -> SysResult {
    if prot & !0x7 & !0x0100_0000 & !0x0200_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let (s, e) = check_range(addr, len)?;
    if s == e {
        return Ok(0);
    }
    p.aspace.protect_range(s, e, Prot::from_bits(prot)).map_err(|_| Errno::ENOMEM)?;
    Ok(0)
}

/// brk(2): returns the new break, or the old one when the request fails.
pub fn brk(p: &mut Process, addr: UAddr) -> SysResult {
    let a = &mut p.aspace;
    let want = addr.0;
    if want < a.brk_start {
        return Ok(a.brk);
    }
    let old_top = page_up(a.brk).unwrap_or(a.brk);
    let new_top = match page_up(want) {
        Some(t) if t <= USER_END => t,
        _ => return Ok(a.brk),
    };
    if new_top > old_top {
        if !a.is_free(old_top, new_top) {
            return Ok(a.brk);
        }
        // Extend the heap VMA (or create it).
        let heap_key = a.vmas.iter().find(|(_, v)| v.name == VmaName::Heap).map(|(&k, _)| k);
        match heap_key.and_then(|k| a.vmas.get_mut(&k)) {
            Some(v) if v.end == old_top => v.end = new_top,
            _ => a.insert(Vma {
                start: old_top,
                end: new_top,
                prot: Prot { read: true, write: true, exec: false },
                shared: false,
                growsdown: false,
                backing: Backing::Anon,
                name: VmaName::Heap,
            }),
        }
    } else if new_top < old_top {
        a.unmap_range(new_top, old_top);
    }
    a.brk = want;
    Ok(want)
}

/// madvise(2): MADV_DONTNEED/MADV_FREE drop pages (they read back as zero or file
/// content); other advice is a hint.
pub fn madvise(p: &mut Process, addr: UAddr, len: usize, advice: i32) -> SysResult {
    if addr.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let (s, e) = check_range(addr, len)?;
    match advice {
        0..=4 | 8..=19 | 20..=25 | 100..=103 => {}
        _ => return Err(Errno::EINVAL),
    }
    if advice == 4 || advice == 8 {
        let mut va = s;
        while va < e {
            if p.aspace.find(va).is_none() {
                return Err(Errno::ENOMEM);
            }
            va += PAGE_SIZE;
        }
        p.aspace.free_pages(s, e);
    }
    Ok(0)
}

/// mremap(2): shrink in place, grow in place when free, else move with MREMAP_MAYMOVE.
pub fn mremap(p: &mut Process, old: UAddr, old_len: usize, new_len: usize, flags: i32, new_addr: UAddr) -> SysResult {
    const MAYMOVE: i32 = 1;
    const FIXED: i32 = 2;
    if flags & !7 != 0 || (flags & FIXED != 0 && flags & MAYMOVE == 0) || old.0 & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & FIXED != 0 {
        let _ = new_addr;
        return super::unsupported("mremap(MREMAP_FIXED)", 25);
    }
    let old_len = page_up(old_len as u64).ok_or(Errno::EINVAL)?;
    let new_len = page_up(new_len as u64).ok_or(Errno::EINVAL)?;
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let s = old.0;
    let vma = p.aspace.find(s).cloned().ok_or(Errno::EFAULT)?;
    if s + old_len > vma.end {
        return Err(Errno::EFAULT);
    }
    if new_len <= old_len {
        p.aspace.unmap_range(s + new_len, s + old_len);
        return Ok(s);
    }
    if s + old_len == vma.end && p.aspace.is_free(s + old_len, s + new_len) {
        if let Some(v) = p.aspace.vmas.get_mut(&vma.start) {
            v.end = s + new_len;
        }
        return Ok(s);
    }
    if flags & MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dst = p.aspace.find_free(new_len).ok_or(Errno::ENOMEM)?;
    // Move the pages: remap each committed frame to the new address.
    let mut moved = vma.clone();
    moved.start = dst;
    moved.end = dst + new_len;
    if let Backing::File { offset, len, .. } = &mut moved.backing {
        *offset += s - vma.start;
        *len = len.saturating_sub(s - vma.start);
    }
    p.aspace.insert(moved);
    let mut off = 0;
    while off < old_len {
        if let Some(pa) = p.aspace.pt.unmap(s + off) {
            let perm = elfin_arch::Perm { read: true, write: vma.prot.write, exec: vma.prot.exec, user: true, device: false };
            if p.aspace.pt.map(dst + off, pa, perm, &mut crate::mem::frames::FrameAlloc).is_err() {
                crate::mem::frames::free(pa, 1);
            }
        }
        off += PAGE_SIZE;
    }
    p.aspace.unmap_range(s, s + old_len);
    Ok(dst)
}
