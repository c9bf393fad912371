//! A program's address space: its VMAs (what is reserved, with which rights and
//! backing) and its page table, which page faults fill lazily.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_arch::{PageTable, Perm, PAGE_SIZE};

use super::frames::{self, FrameAlloc};
use crate::fs::{Node, NodeKind};

/// End of the user half (exclusive).
pub const USER_END: u64 = elfin_arch::USER_END;
/// Lowest address a mapping may use (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x1_0000;

/// Rights of a VMA as the program asked (PROT_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    /// PROT_READ.
    pub read: bool,
    /// PROT_WRITE.
    pub write: bool,
    /// PROT_EXEC.
    pub exec: bool,
}

impl Prot {
    /// From PROT_* bits.
    pub fn from_bits(p: i32) -> Prot {
        Prot { read: p & 1 != 0, write: p & 2 != 0, exec: p & 4 != 0 }
    }
    /// Whether any access is allowed.
    pub fn any(&self) -> bool {
        self.read || self.write || self.exec
    }
    fn perm(&self) -> Perm {
        Perm { read: true, write: self.write, exec: self.exec, user: true, device: false }
    }
}

/// What backs a VMA's pages.
#[derive(Clone)]
pub enum Backing {
    /// Zero-filled memory.
    Anon,
    /// A private copy of a file's bytes starting at `offset` (beyond EOF: zeros).
    File {
        /// The file.
        node: Arc<Node>,
        /// File offset of the VMA's start.
        offset: u64,
        /// Bytes of file content mapped from `offset` (the rest of the VMA is zero).
        len: u64,
    },
}

/// How /proc/self/maps names a VMA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmaName {
    /// Anonymous.
    None,
    /// `[heap]`.
    Heap,
    /// `[stack]`.
    Stack,
    /// A file path.
    Path(Vec<u8>),
}

/// One contiguous reserved range.
#[derive(Clone)]
pub struct Vma {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Rights.
    pub prot: Prot,
    /// MAP_SHARED.
    pub shared: bool,
    /// Grows down on faults below it (the main stack).
    pub growsdown: bool,
    /// Backing.
    pub backing: Backing,
    /// Name in /proc/self/maps.
    pub name: VmaName,
}

impl Vma {
    fn split_off(&mut self, at: u64) -> Vma {
        let mut hi = self.clone();
        hi.start = at;
        if let Backing::File { offset, len, .. } = &mut hi.backing {
            let delta = at - self.start;
            *offset += delta;
            *len = len.saturating_sub(delta);
        }
        if let Backing::File { len, .. } = &mut self.backing {
            *len = (*len).min(at - self.start);
        }
        self.end = at;
        hi
    }
}

/// Kind of access that faulted.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    /// Load.
    Read,
    /// Store.
    Write,
    /// Instruction fetch.
    Exec,
}

/// Why a fault cannot be resolved (the `si_code` of the SIGSEGV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No mapping (SEGV_MAPERR).
    MapErr,
    /// Mapping forbids the access (SEGV_ACCERR).
    AccErr,
    /// No memory to back the page.
    OutOfMemory,
}

/// A program's address space.
pub struct AddrSpace {
    /// The page table.
    pub pt: PageTable,
    /// VMAs by start address.
    pub vmas: BTreeMap<u64, Vma>,
    /// Start of the heap (brk area).
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// Top of the area where mmap places mappings (top-down).
    pub mmap_base: u64,
    /// Lowest address the stack may grow to.
    pub stack_limit: u64,
}

impl AddrSpace {
    /// An empty user address space sharing the kernel half.
    pub fn new() -> Option<AddrSpace> {
        let pt = PageTable::new_user(&super::kernel_page_table(), &mut FrameAlloc)?;
        Some(AddrSpace { pt, vmas: BTreeMap::new(), brk_start: 0, brk: 0, mmap_base: 0, stack_limit: 0 })
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// True when no VMA intersects [start, end).
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if start >= end || end > USER_END || start < MMAP_MIN {
            return false;
        }
        if let Some((_, v)) = self.vmas.range(..end).next_back() {
            if v.end > start {
                return false;
            }
        }
        true
    }

    /// Adds a VMA over a free range.
    pub fn insert(&mut self, vma: Vma) {
        self.vmas.insert(vma.start, vma);
    }

    /// Splits VMAs so that `at` is a VMA boundary.
    fn split_at(&mut self, at: u64) {
        let key = match self.vmas.range(..at).next_back() {
            Some((&k, v)) if v.end > at => k,
            _ => return,
        };
        if let Some(v) = self.vmas.get_mut(&key) {
            let hi = v.split_off(at);
            self.vmas.insert(at, hi);
        }
    }

    /// Unmaps [start, end): removes the VMAs' parts and frees their pages.
    pub fn unmap_range(&mut self, start: u64, end: u64) {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(v) = self.vmas.remove(&k) {
                self.free_pages(v.start, v.end);
            }
        }
    }

    /// Frees the frames mapped in [start, end).
    pub fn free_pages(&mut self, start: u64, end: u64) {
        let mut va = start;
        while va < end {
            if let Some(pa) = self.pt.unmap(va) {
                frames::free(pa, 1);
            }
            va += PAGE_SIZE;
        }
    }

    /// Changes the rights of [start, end); ENOMEM when part of it is unmapped.
    pub fn protect_range(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), ()> {
        let mut cur = start;
        while cur < end {
            match self.find(cur) {
                Some(v) => cur = v.end,
                None => return Err(()),
            }
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(v) = self.vmas.get_mut(&k) {
                v.prot = prot;
                let (s, e) = (v.start, v.end);
                let mut va = s;
                while va < e {
                    if self.pt.translate(va).is_some() {
                        if prot.any() {
                            self.pt.protect(va, prot.perm());
                        } else if let Some(pa) = self.pt.unmap(va) {
                            // PROT_NONE keeps the data: park the frame in a non-present
                            // state is not expressible here, so keep it mapped
                            // supervisor-only instead.
                            let _ = self.pt.map(va, pa, Perm { read: true, write: false, exec: false, user: false, device: false }, &mut FrameAlloc);
                        }
                    }
                    va += PAGE_SIZE;
                }
            }
        }
        Ok(())
    }

    /// Finds a free range of `len` bytes, top-down below `mmap_base`.
    pub fn find_free(&self, len: u64) -> Option<u64> {
        let mut top = self.mmap_base;
        for (_, v) in self.vmas.range(..self.mmap_base).rev() {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(v.start);
        }
        if top >= len && top - len >= MMAP_MIN {
            return Some(top - len);
        }
        None
    }

    /// Resolves a fault at `addr`: commits the page or says why not.
    pub fn fault(&mut self, addr: u64, access: Access) -> Result<(), FaultError> {
        let page = addr & !(PAGE_SIZE - 1);
        let vma = match self.find(addr) {
            Some(v) => v.clone(),
            None => self.grow_stack(addr)?,
        };
        let ok = match access {
            Access::Read => vma.prot.any(),
            Access::Write => vma.prot.write,
            Access::Exec => vma.prot.exec,
        };
        if !ok {
            return Err(FaultError::AccErr);
        }
        if let Some((_, perm)) = self.pt.translate(page) {
            // Present: either a stale TLB entry (another fault already committed it) or
            // a PROT_NONE-parked page that became accessible.
            if perm.user {
                return Ok(());
            }
            if let Some(pa) = self.pt.unmap(page) {
                let _ = self.pt.map(page, pa, vma.prot.perm(), &mut FrameAlloc);
            }
            return Ok(());
        }
        let pa = frames::alloc(1).ok_or(FaultError::OutOfMemory)?;
        let bytes = frames::frame_bytes(pa);
        bytes.fill(0);
        if let Backing::File { node, offset, len } = &vma.backing {
            let rel = page - vma.start;
            if rel < *len {
                if let NodeKind::File(c) = &node.kind {
                    let c = c.lock();
                    let data = c.bytes();
                    let from = (*offset + rel) as usize;
                    let n = ((*len - rel) as usize).min(PAGE_SIZE as usize);
                    let src = data.get(from..).unwrap_or(&[]);
                    let n = n.min(src.len());
                    bytes.get_mut(..n).unwrap_or(&mut []).copy_from_slice(src.get(..n).unwrap_or(&[]));
                }
            }
        }
        if self.pt.map(page, pa, vma.prot.perm(), &mut FrameAlloc).is_err() {
            frames::free(pa, 1);
            return Err(FaultError::OutOfMemory);
        }
        Ok(())
    }

    /// Extends the stack VMA down to cover `addr` if it is within the stack limit.
    fn grow_stack(&mut self, addr: u64) -> Result<Vma, FaultError> {
        let (&k, v) = self.vmas.range(addr..).next().ok_or(FaultError::MapErr)?;
        if !v.growsdown || addr < self.stack_limit {
            return Err(FaultError::MapErr);
        }
        let new_start = addr & !(PAGE_SIZE - 1);
        // Keep a guard gap to the mapping below, as Linux does (stack_guard_gap).
        if let Some((_, below)) = self.vmas.range(..k).next_back() {
            if below.end + 256 * PAGE_SIZE > new_start {
                return Err(FaultError::MapErr);
            }
        }
        let mut v = self.vmas.remove(&k).ok_or(FaultError::MapErr)?;
        v.start = new_start;
        self.vmas.insert(new_start, v.clone());
        Ok(v)
    }

    /// The frame backing user page `va` with the given access, committing it if needed.
    pub fn user_page(&mut self, va: u64, write: bool) -> Result<u64, FaultError> {
        if va >= USER_END {
            return Err(FaultError::MapErr);
        }
        if let Some((pa, perm)) = self.pt.translate(va) {
            if perm.user && (!write || perm.write) {
                return Ok(pa);
            }
        }
        self.fault(va, if write { Access::Write } else { Access::Read })?;
        match self.pt.translate(va) {
            Some((pa, perm)) if perm.user && (!write || perm.write) => Ok(pa),
            _ => Err(FaultError::AccErr),
        }
    }

    /// Frees every page, table and VMA.
    pub fn destroy(mut self) {
        let ranges: Vec<(u64, u64)> = self.vmas.values().map(|v| (v.start, v.end)).collect();
        for (s, e) in ranges {
            self.free_pages(s, e);
        }
        self.vmas.clear();
        self.pt.free_user_tables(&mut FrameAlloc);
    }
}
