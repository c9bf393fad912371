//! A program's address space: its VMAs (what is reserved, with which rights and
//! backing) and its page table, which page faults fill lazily.
//!
//! The VMA bookkeeping (split, merge, overlap, free-space search) is the pure
//! `elfin_kcore::RangeMap`, host-tested there; this file adds what needs the
//! hardware: page-table entries, frames, and the page cache of shared file mappings.
//!
//! Frame ownership: a committed page of a private VMA owns its frame; a page of a
//! `MAP_SHARED` file VMA borrows a frame of the file's page cache ([`cache`]), which
//! counts its mappings and writes the page back to the file when the last goes.
//! PROT_NONE pages keep their frame "parked" outside the page table (x86_64 cannot
//! express a present page that user mode may not read), so data survives a
//! PROT_NONE → PROT_READ round trip, as on Linux.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_arch::{PageTable, Perm, PAGE_SIZE};
use elfin_kcore::{RangeMap, Segment};
use elfin_shim::uapi::rlimit::RLIMIT_STACK;

use super::frames::{self, FrameAlloc};
use crate::fs::Inode;

/// End of the user half (exclusive).
pub const USER_END: u64 = elfin_arch::USER_END;
/// Lowest address a mapping may use (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x1_0000;
/// Linux's `stack_guard_gap` (256 pages): free space kept below a stack.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// Linux's `vm.max_map_count` default.
pub const MAX_MAP_COUNT: usize = 65_530;
/// Default RLIMIT_STACK: how far a growsdown VMA may grow.
pub const STACK_RLIMIT: u64 = 8 << 20;
/// How much a single private writable request may exceed RAM before it is refused
/// with ENOMEM (see [`AddrSpace::may_commit`]).
pub const OVERCOMMIT_FACTOR: u64 = 8;

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
    /// From PROT_* bits (others ignored).
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
    /// The rights of a page shared copy-on-write: as asked, but read-only.
    fn cow_perm(&self) -> Perm {
        Perm { write: false, ..self.perm() }
    }
}

/// What backs a VMA's pages.
#[derive(Clone)]
pub enum Backing {
    /// Zero-filled memory.
    Anon,
    /// A file's bytes starting at `offset`: a private copy made on first access, or
    /// (in a shared VMA) the file's own page-cache page.
    File {
        /// The file.
        node: Arc<dyn Inode>,
        /// File offset of the VMA's start.
        offset: u64,
        /// Bytes of file content mapped from `offset` (the rest of the VMA reads as
        /// zeros); `u64::MAX` for an mmap of the file, which reads to end of file and
        /// raises SIGBUS on pages wholly beyond it.
        len: u64,
    },
    /// Pages the kernel owns for good (the vDSO and its [vvar] page): each mapping
    /// takes a reference to the frame, so that unmapping never frees it.
    Kernel {
        /// The frames, in address order.
        frames: Arc<[u64]>,
        /// Index of the frame at the VMA's start.
        first: usize,
    },
}

/// How /proc/self/maps names a VMA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmaName {
    /// Anonymous (named `[heap]` when it overlaps the brk area, as Linux does).
    None,
    /// `[stack]`.
    Stack,
    /// A file path.
    Path(Vec<u8>),
    /// A special mapping (`[vdso]`, `[vvar]`).
    Special(&'static str),
}

/// A VMA as callers describe it: a range and its attributes.
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
    /// Grows down on faults below it (the main stack, MAP_GROWSDOWN).
    pub growsdown: bool,
    /// Backing.
    pub backing: Backing,
    /// Name in /proc/self/maps.
    pub name: VmaName,
}

/// The attributes of a VMA stored in the range map.
#[derive(Clone)]
pub struct Area {
    /// Rights.
    pub prot: Prot,
    /// MAP_SHARED.
    pub shared: bool,
    /// Grows down on faults below it.
    pub growsdown: bool,
    /// PROT_WRITE may be added later (a shared file mapping needs a writable file).
    pub maywrite: bool,
    /// Backing.
    pub backing: Backing,
    /// Name in /proc/self/maps.
    pub name: VmaName,
    /// A child made by fork does not get this range (MADV_DONTFORK).
    pub dontfork: bool,
    /// A child made by fork gets this range empty, zero-filled (MADV_WIPEONFORK).
    pub wipeonfork: bool,
}

impl Area {
    /// True for a MAP_SHARED file mapping (its frames belong to the page cache).
    pub fn shared_file(&self) -> Option<(&Arc<dyn Inode>, u64)> {
        match &self.backing {
            Backing::File { node, offset, .. } if self.shared => Some((node, *offset)),
            _ => None,
        }
    }
}

impl Segment for Area {
    fn advance(&self, delta: u64) -> Self {
        let mut a = self.clone();
        match &mut a.backing {
            Backing::File { offset, len, .. } => {
                *offset = offset.saturating_add(delta);
                // An mmap of the file (u64::MAX) still reads to its end when split.
                if *len != u64::MAX {
                    *len = len.saturating_sub(delta);
                }
            }
            Backing::Kernel { first, .. } => *first = first.saturating_add((delta / PAGE_SIZE) as usize),
            Backing::Anon => {}
        }
        a
    }

    fn merge(&self, len: u64, next: &Self) -> Option<Self> {
        // Linux's is_mergeable_vma: same flags, same file, contiguous offsets.
        if self.prot != next.prot
            || self.shared != next.shared
            || self.growsdown != next.growsdown
            || self.maywrite != next.maywrite
            || self.name != next.name
            || self.dontfork != next.dontfork
            || self.wipeonfork != next.wipeonfork
        {
            return None;
        }
        match (&self.backing, &next.backing) {
            (Backing::Anon, Backing::Anon) => Some(self.clone()),
            (Backing::File { node: a, offset: ao, len: al }, Backing::File { node: b, offset: bo, len: bl }) => {
                // An mmap of the file (u64::MAX) and a loaded segment do not merge.
                if !same_node(a, b)
                    || ao.checked_add(len) != Some(*bo)
                    || *al < len
                    || (*al == u64::MAX) != (*bl == u64::MAX)
                {
                    return None;
                }
                let mut m = self.clone();
                if let Backing::File { len: ml, .. } = &mut m.backing {
                    *ml = bl.saturating_add(len);
                }
                Some(m)
            }
            _ => None,
        }
    }
}

/// Pages handled at once when a range is unmapped or copied for fork.
const PAGE_BATCH: usize = 128;
/// Pages handled at once when a range of at most that many is unmapped.
const SMALL_BATCH: usize = 8;

/// Whether two inode handles are the same inode.
pub fn same_node(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    core::ptr::eq(Arc::as_ptr(a) as *const (), Arc::as_ptr(b) as *const ())
}

/// Frames kept back from user pages so that the kernel itself (its heap, kernel
/// stacks, page tables) can go on when programs have taken all the rest: 96
/// (384 KiB), or a sixteenth of RAM in a VM of a few MiB, at least 32 (two
/// kernel stacks), so that a small VM's programs get most of its memory.
#[inline]
pub fn kernel_reserve() -> usize {
    RESERVE.load(core::sync::atomic::Ordering::Relaxed)
}

/// The reserve (see [`kernel_reserve`]), set once RAM is known.
static RESERVE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(96);

/// Sizes the reserve for the RAM the frame allocator manages (at boot).
pub fn set_kernel_reserve() {
    RESERVE.store((frames::total_count() / 16).clamp(32, 96), core::sync::atomic::Ordering::Relaxed);
}

/// A zeroed frame for a user page, unless memory is down to the kernel's reserve.
fn alloc_user_zeroed() -> Option<u64> {
    let pa = alloc_user_uninit()?;
    frames::zero(pa);
    Some(pa)
}

/// A frame for user memory with whatever it held before: for callers that write
/// every byte of it (a copy of another page, a file's page with its tail zeroed),
/// so that it is not zeroed first and then overwritten.
fn alloc_user_uninit() -> Option<u64> {
    if frames::free_count() <= kernel_reserve() {
        return None;
    }
    frames::alloc(1)
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

/// Why a fault cannot be resolved (the signal and `si_code` the program gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No mapping (SIGSEGV, SEGV_MAPERR).
    MapErr,
    /// Mapping forbids the access (SIGSEGV, SEGV_ACCERR).
    AccErr,
    /// A file mapping's page lies wholly beyond the end of the file (SIGBUS, BUS_ADRERR).
    Bus,
    /// No memory to back the page.
    OutOfMemory,
}

/// A program's address space.
pub struct AddrSpace {
    /// The page table.
    pub pt: PageTable,
    /// VMAs by start address.
    pub vmas: RangeMap<Area>,
    /// Frames of committed PROT_NONE pages, by user address.
    parked: BTreeMap<u64, u64>,
    /// Start of the heap (brk area).
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// Top of the area where mmap places mappings (top-down).
    pub mmap_base: u64,
    /// Lowest address the main stack may grow to.
    pub stack_limit: u64,
    /// Bytes reserved by all VMAs (VmSize).
    pub total_vm: u64,
    /// The most `total_vm` has been, as of its last decrease (VmPeak).
    hiwater_vm: u64,
    /// Committed pages, mapped or parked: the resident set.
    rss: u64,
    /// The most `rss` has been, as of its last decrease (Linux's hiwater_rss): a
    /// peak only needs keeping when the count goes down.
    hiwater_rss: u64,
    /// Address of the vDSO (0: none), for the arm64 signal return.
    pub vdso: u64,
    /// Where exec put the program's code, data, arguments and environment.
    pub areas: ImageAreas,
    /// The anonymous VMA the last fault found, while the VMAs stay as they were.
    last_anon: Option<AnonHint>,
    /// Some VMA has mapped a file with mmap (counted in [`FILE_MAPPERS`]): a file
    /// that shrinks may have pages to drop here.
    maps_files: bool,
}

/// Where exec put the parts of a program (Linux's start_code … env_end): what
/// /proc/PID/stat shows and /proc/PID/cmdline and environ read.
#[derive(Clone, Default, Debug)]
pub struct ImageAreas {
    /// From the lowest executable segment's start to the end of the highest's file part.
    pub code: core::ops::Range<u64>,
    /// From the highest segment's start to the end of the highest file part.
    pub data: core::ops::Range<u64>,
    /// The argument strings, NULs included.
    pub args: core::ops::Range<u64>,
    /// The environment strings, right after the arguments.
    pub env: core::ops::Range<u64>,
    /// The initial stack pointer (at argc).
    pub start_stack: u64,
}

/// Address spaces that have mapped a file with mmap: when none has, a file that
/// shrinks has no mapping to look for.
static FILE_MAPPERS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// What the fault path needs of an anonymous VMA, kept from one fault to the next
/// (a program touching fresh memory faults in the same VMA page after page).
#[derive(Clone, Copy)]
struct AnonHint {
    /// [`RangeMap::version`] of the VMAs it was read from.
    version: u64,
    start: u64,
    end: u64,
    prot: Prot,
    /// The rights of its pages, encoded for the page table.
    leaf: elfin_arch::LeafPerm,
}

fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

impl AddrSpace {
    /// An empty user address space sharing the kernel half.
    pub fn new() -> Option<AddrSpace> {
        let pt = PageTable::new_user(&super::kernel_page_table(), &mut FrameAlloc)?;
        Some(AddrSpace {
            pt,
            vmas: RangeMap::new(),
            parked: BTreeMap::new(),
            brk_start: 0,
            brk: 0,
            mmap_base: 0,
            stack_limit: 0,
            total_vm: 0,
            hiwater_vm: 0,
            rss: 0,
            hiwater_rss: 0,
            vdso: 0,
            areas: ImageAreas::default(),
            last_anon: None,
            maps_files: false,
        })
    }

    /// The VMA containing `addr`: (start, end, attributes).
    pub fn find(&self, addr: u64) -> Option<(u64, u64, &Area)> {
        self.vmas.find(addr).map(|r| (r.start, r.end, r.val))
    }

    /// True when no VMA intersects [start, end) and it lies in the user range.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        start >= MMAP_MIN && end <= USER_END && self.vmas.is_free(start, end)
    }

    /// Adds a VMA over a free range (merging with compatible neighbours); false when
    /// the range is not free.
    pub fn insert(&mut self, vma: Vma) -> bool {
        let maywrite = true;
        self.insert_area(
            vma.start,
            vma.end,
            Area {
                prot: vma.prot,
                shared: vma.shared,
                growsdown: vma.growsdown,
                maywrite,
                backing: vma.backing,
                name: vma.name,
                dontfork: false,
                wipeonfork: false,
            },
        )
    }

    /// Adds attributes over a free range; false when it is not free.
    pub fn insert_area(&mut self, start: u64, end: u64, area: Area) -> bool {
        if matches!(area.backing, Backing::File { len: u64::MAX, .. }) {
            self.note_file_map();
        }
        let ok = self.vmas.insert(start, end, area).is_ok();
        if ok {
            self.total_vm += end - start;
        }
        ok
    }

    /// Records that this address space maps a file with mmap.
    fn note_file_map(&mut self) {
        if !self.maps_files {
            self.maps_files = true;
            FILE_MAPPERS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Drops the pages that mmaps of the file at `node` (an inode's address) hold
    /// from byte `from` (page-aligned) on: private copies, file pages and parked
    /// pages alike, as Linux's truncate does (unmap_mapping_range with even_cows).
    fn drop_file_pages(&mut self, node: *const (), from: u64) {
        let parts: Vec<(u64, u64, u64, Area)> = self
            .vmas
            .iter()
            .filter_map(|r| {
                let Backing::File { node: n, offset, len: u64::MAX } = &r.val.backing else { return None };
                if Arc::as_ptr(n) as *const () != node {
                    return None;
                }
                let s = if from > *offset { r.start.checked_add(from - offset)? } else { r.start };
                (s < r.end).then(|| (s, r.end, r.start, r.val.clone()))
            })
            .collect();
        for (s, e, vs, area) in parts {
            self.drop_pages(s, e, vs, &area);
        }
    }

    /// Where the main stack VMA that ends at `top` starts once the initial stack
    /// reaches down to `sp`: 128 KiB below the arguments (Linux's
    /// setup_arg_pages), within the stack's rlimit, and at least `initial` long.
    pub fn initial_stack_start(top: u64, sp: u64, initial: u64) -> u64 {
        let want = page_down(sp).saturating_sub(128 * 1024).max(top.saturating_sub(STACK_RLIMIT));
        want.min(top.saturating_sub(initial))
    }

    /// Gives back the frame of page `va` of a VMA with attributes `area` starting at
    /// `vstart`: private and shared anonymous frames lose an owner (freed with the
    /// last), page-cache frames lose a mapping.
    fn release(pa: u64, va: u64, vstart: u64, area: &Area) {
        match area.shared_file() {
            Some((node, offset)) => cache::put(node, (offset + (va - vstart)) / PAGE_SIZE),
            None => frames::put(pa),
        }
    }

    /// Drops the committed pages of [start, end), which lies inside one VMA
    /// (start `vstart`, attributes `area`).
    /// Only the pages that are there cost anything: the page table is walked past
    /// empty tables. The frames are released after the other CPUs running this
    /// address space have dropped their translations of them, in batches of a
    /// fixed size (this runs when memory is short too, so it allocates nothing).
    fn drop_pages(&mut self, start: u64, end: u64, vstart: u64, area: &Area) {
        // A small range (the common munmap of a few pages) does not pay for
        // setting up the big batch.
        if end - start <= SMALL_BATCH as u64 * PAGE_SIZE {
            self.drop_pages_by::<SMALL_BATCH>(start, end, vstart, area);
        } else {
            self.drop_pages_by::<PAGE_BATCH>(start, end, vstart, area);
        }
    }

    /// [`Self::drop_pages`] in batches of `N` pages.
    fn drop_pages_by<const N: usize>(&mut self, start: u64, end: u64, vstart: u64, area: &Area) {
        let mut batch = [(0u64, 0u64, Perm::default()); N];
        let mut cursor = start;
        loop {
            let n = self.mapped_pages(cursor, end, &mut batch);
            if n == 0 {
                break;
            }
            let mut gone = 0;
            for &(va, _, _) in batch.iter().take(n) {
                gone += u64::from(self.pt.unmap(va).is_some());
            }
            self.released(gone);
            self.flush_others();
            for &(va, pa, _) in batch.iter().take(n) {
                Self::release(pa, va, vstart, area);
            }
            if n < N {
                // A batch not filled: the walk reached `end`.
                break;
            }
            cursor = batch.get(n - 1).map(|b| b.0 + PAGE_SIZE).unwrap_or(end);
        }
        while let Some((&va, &pa)) = self.parked.range(start..end).next() {
            self.parked.remove(&va);
            self.released(1);
            Self::release(pa, va, vstart, area);
        }
    }

    /// Counts `n` pages newly committed.
    fn committed(&mut self, n: u64) {
        self.rss += n;
    }

    /// Counts `n` committed pages given back, keeping the peak first.
    fn released(&mut self, n: u64) {
        self.hiwater_rss = self.hiwater_rss.max(self.rss);
        self.rss = self.rss.saturating_sub(n);
    }

    /// Committed pages now (mapped or parked): the resident set (VmRSS).
    pub fn rss_pages(&self) -> u64 {
        self.rss
    }

    /// The largest resident set so far, in pages (VmHWM, ru_maxrss).
    pub fn peak_rss_pages(&self) -> u64 {
        self.hiwater_rss.max(self.rss)
    }

    /// The largest size so far, in bytes (VmPeak).
    pub fn peak_vm(&self) -> u64 {
        self.hiwater_vm.max(self.total_vm)
    }

    /// Fills `out` with the mapped pages (va, pa, rights) of [start, end), in order;
    /// returns how many.
    fn mapped_pages(&self, start: u64, end: u64, out: &mut [(u64, u64, Perm)]) -> usize {
        let mut n = 0;
        self.pt.for_each_page(start, end, &mut |va, pa, perm| match out.get_mut(n) {
            Some(slot) => {
                *slot = (va, pa, perm);
                n += 1;
                n < out.len()
            }
            None => false,
        });
        n
    }

    /// Unmaps [start, end): removes the VMAs' parts and gives back their pages.
    pub fn unmap_range(&mut self, start: u64, end: u64) {
        for (s, e, area) in self.vmas.remove(start, end) {
            self.hiwater_vm = self.hiwater_vm.max(self.total_vm);
            self.total_vm -= e - s;
            self.drop_pages(s, e, s, &area);
        }
    }

    /// Other CPUs running this address space forget the mappings just removed or
    /// made stricter.
    fn flush_others(&self) {
        crate::task::sched::shootdown(self.pt.root());
    }

    /// Frees the committed pages of [start, end) but keeps the VMAs (MADV_DONTNEED):
    /// the next access reads zeros (anonymous) or the file again.
    pub fn discard_pages(&mut self, start: u64, end: u64) {
        let parts: Vec<(u64, u64, u64, Area)> = self
            .vmas
            .overlapping(start, end)
            .map(|r| (r.start.max(start), r.end.min(end), r.start, r.val.clone()))
            .collect();
        for (s, e, vs, area) in parts {
            self.drop_pages(s, e, vs, &area);
        }
    }

    /// Whether the page at `va` is committed (mincore's "resident").
    pub fn is_committed(&self, va: u64) -> bool {
        self.pt.translate(va).is_some() || self.parked.contains_key(&va)
    }

    /// Changes the rights of [start, end), which the caller has checked is covered.
    /// Only the pages that are there cost anything, as in [`Self::drop_pages`].
    pub fn protect_range(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), ()> {
        self.vmas.update(start, end, |a| a.prot = prot).map_err(|_| ())?;
        // Other CPUs need to forget translations only when a right was taken away:
        // a stale, narrower entry just faults, and the fault finds the page fine.
        let mut stricter = false;
        let mut batch = [(0u64, 0u64, Perm::default()); PAGE_BATCH];
        let mut cursor = start;
        loop {
            let n = self.mapped_pages(cursor, end, &mut batch);
            if n == 0 {
                break;
            }
            for &(va, pa, old) in batch.iter().take(n) {
                if !prot.any() {
                    // PROT_NONE pages leave the table but keep their frame.
                    if self.pt.unmap(va).is_some() {
                        self.parked.insert(va, pa);
                        stricter = true;
                    }
                } else {
                    // A page shared copy-on-write stays read-only until written.
                    let perm = self.perm_for(va, pa, prot);
                    self.pt.protect(va, perm);
                    stricter |= (old.write && !perm.write) || (old.exec && !perm.exec);
                }
            }
            cursor = batch.get(n - 1).map(|b| b.0 + PAGE_SIZE).unwrap_or(end);
        }
        if prot.any() {
            // Pages parked by an earlier PROT_NONE come back with the new rights.
            while let Some((&va, &pa)) = self.parked.range(start..end).next() {
                self.parked.remove(&va);
                let perm = self.perm_for(va, pa, prot);
                if self.pt.map(va, pa, perm, &mut FrameAlloc).is_err() {
                    // No frame for a page table: keep this and the remaining pages
                    // parked (their data is kept; the next access faults and retries).
                    self.parked.insert(va, pa);
                    break;
                }
            }
        }
        if stricter {
            self.flush_others();
        }
        Ok(())
    }

    /// The rights page `va` (frame `pa`) gets under `prot`: read-only while its
    /// frame is shared copy-on-write.
    fn perm_for(&self, va: u64, pa: u64, prot: Prot) -> Perm {
        if frames::is_shared(pa) && !self.is_shared_at(va) {
            prot.cow_perm()
        } else {
            prot.perm()
        }
    }

    /// Whether the VMA at `va` is MAP_SHARED (its pages are never copied on write).
    fn is_shared_at(&self, va: u64) -> bool {
        self.vmas.find(va).map(|r| r.val.shared).unwrap_or(false)
    }

    /// Gives page `page` of a private VMA its own copy of the shared frame `pa`.
    fn break_cow(&mut self, page: u64, pa: u64, area: &Area) -> Result<(), FaultError> {
        let copy = alloc_user_uninit().ok_or(FaultError::OutOfMemory)?;
        frames::frame_bytes(copy).copy_from_slice(frames::frame_bytes(pa));
        COW_COPIES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let _ = self.pt.unmap(page);
        if self.pt.map(page, copy, area.prot.perm(), &mut FrameAlloc).is_err() {
            // Keep the shared frame mapped read-only; the write will fault again.
            let _ = self.pt.map(page, pa, area.prot.cow_perm(), &mut FrameAlloc);
            frames::put(copy);
            return Err(FaultError::OutOfMemory);
        }
        frames::put(pa);
        self.flush_others();
        Ok(())
    }

    /// A copy of this address space for a forked child: the same VMAs; private
    /// pages shared copy-on-write (read-only in both until written), shared pages
    /// shared. None when memory for the page tables runs out.
    pub fn fork(&mut self) -> Option<AddrSpace> {
        let mut child = AddrSpace::new()?;
        child.vmas = self.vmas.clone();
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        child.mmap_base = self.mmap_base;
        child.stack_limit = self.stack_limit;
        child.total_vm = self.total_vm;
        child.hiwater_vm = self.total_vm;
        child.vdso = self.vdso;
        child.areas = self.areas.clone();
        // MADV_DONTFORK ranges are not the child's; MADV_WIPEONFORK ones are, empty.
        let dontfork: Vec<(u64, u64)> = self.vmas.iter().filter(|r| r.val.dontfork).map(|r| (r.start, r.end)).collect();
        for (s, e) in dontfork {
            child.vmas.remove(s, e);
            child.total_vm -= e - s;
        }
        if self.maps_files {
            child.note_file_map();
        }
        let ranges: Vec<(u64, u64, Area)> = self.vmas.iter().map(|r| (r.start, r.end, r.val.clone())).collect();
        let mut ok = true;
        let mut batch = [(0u64, 0u64, Perm::default()); PAGE_BATCH];
        'vmas: for (start, end, area) in &ranges {
            if area.dontfork || area.wipeonfork {
                continue;
            }
            let private = area.shared_file().is_none() && !area.shared;
            // Linux's rule (vma_needs_copy): the pages of a file mapping that are
            // still the file's own are not copied; the child's fault maps them
            // again, with their neighbours. A shared file mapping has only such
            // pages (its page-cache frames); a private one may also hold private
            // copies, which are shared copy-on-write like anonymous pages.
            let file = matches!(area.backing, Backing::File { .. });
            if file && area.shared {
                continue;
            }
            let mut cursor = *start;
            loop {
                let n = self.mapped_pages(cursor, *end, &mut batch);
                if n == 0 {
                    break;
                }
                for &(va, pa, perm) in batch.iter().take(n) {
                    if file && frames::is_file_page(pa) {
                        continue;
                    }
                    let child_perm = if private { area.prot.cow_perm() } else { perm };
                    if child.pt.map(va, pa, child_perm, &mut FrameAlloc).is_err() {
                        ok = false;
                        break 'vmas;
                    }
                    child.rss += 1;
                    match area.shared_file() {
                        Some((node, off)) => cache::dup(node, (off + (va - start)) / PAGE_SIZE),
                        None => frames::share(pa),
                    }
                    if private && perm.write {
                        self.pt.protect(va, area.prot.cow_perm());
                    }
                }
                cursor = batch.get(n - 1).map(|b| b.0 + PAGE_SIZE).unwrap_or(*end);
            }
        }
        for (&va, &pa) in self.parked.iter() {
            if !ok {
                break;
            }
            if let Some((vs, a)) = self.vmas.find(va).map(|r| (r.start, r.val.clone())) {
                if a.dontfork || a.wipeonfork {
                    continue;
                }
                match a.shared_file() {
                    Some((node, off)) => cache::dup(node, (off + (va - vs)) / PAGE_SIZE),
                    None => frames::share(pa),
                }
                child.parked.insert(va, pa);
                child.rss += 1;
            }
        }
        // The parent's private pages became read-only: its other threads' CPUs must
        // not keep writable translations.
        self.flush_others();
        if !ok {
            // `child` is dropped: every frame it took a share of is given back.
            return None;
        }
        Some(child)
    }

    /// Committed pages (mapped or parked) in [start, end).
    pub fn committed_pages(&self, start: u64, end: u64) -> u64 {
        let mut n = 0u64;
        self.pt.for_each_page(start, end, &mut |_, _, _| {
            n += 1;
            true
        });
        n + self.parked.range(start..end).count() as u64
    }

    /// Committed pages in [start, end) that only this address space holds, and
    /// those it shares with another (copy-on-write after fork, shared memory).
    pub fn committed_split(&self, start: u64, end: u64) -> (u64, u64) {
        let (mut private, mut shared) = (0u64, 0u64);
        let mut count = |pa: u64| {
            if super::frames::is_shared(pa) {
                shared += 1;
            } else {
                private += 1;
            }
        };
        self.pt.for_each_page(start, end, &mut |_, pa, _| {
            count(pa);
            true
        });
        for (_, &pa) in self.parked.range(start..end) {
            count(pa);
        }
        (private, shared)
    }

    /// Whether [start, start + len) is mapped with the rights an access needs (a
    /// copy to user memory checked first cannot lose data half-way).
    pub fn check_access(&self, start: u64, len: u64, write: bool) -> bool {
        let Some(end) = start.checked_add(len) else { return false };
        if end > USER_END {
            return false;
        }
        let mut va = start;
        while va < end {
            let Some(r) = self.vmas.find(va) else { return false };
            if (write && !r.val.prot.write) || !r.val.prot.any() {
                return false;
            }
            va = r.end;
        }
        true
    }

    /// Finds a free range of `len` bytes, top-down below `mmap_base` (or in
    /// [lo, hi) when given), keeping the stack guard gap below growsdown VMAs.
    pub fn find_free_in(&self, len: u64, lo: u64, hi: u64) -> Option<u64> {
        self.vmas.find_free_top_down(len, lo, hi, PAGE_SIZE, |a| if a.growsdown { STACK_GUARD_GAP } else { 0 })
    }

    /// Finds a free range of `len` bytes, top-down below `mmap_base`.
    pub fn find_free(&self, len: u64) -> Option<u64> {
        self.find_free_in(len, MMAP_MIN, self.mmap_base)
    }

    /// Whether a hint address [addr, addr + len) can be used as Linux would: free, and
    /// clear of the guard gap below a stack.
    pub fn hint_ok(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else { return false };
        if !self.is_free(addr, end) {
            return false;
        }
        match self.vmas.first_above(end) {
            Some(r) if r.val.growsdown => r.start.saturating_sub(STACK_GUARD_GAP) >= end,
            _ => true,
        }
    }

    /// Linux's OVERCOMMIT_GUESS heuristic, scaled for small VMs without swap: a single
    /// request for private writable memory larger than [`OVERCOMMIT_FACTOR`] times RAM
    /// is refused; anything smaller is granted and committed on first touch.
    pub fn may_commit(bytes: u64) -> bool {
        let ram = frames::total_count() as u64 * PAGE_SIZE;
        bytes <= ram.saturating_mul(OVERCOMMIT_FACTOR)
    }

    /// True when some VMA maps a file shared (its page-cache pages go back to the
    /// file when unmapped).
    pub fn maps_shared_files(&self) -> bool {
        self.vmas.iter().any(|r| r.val.shared_file().is_some())
    }

    /// Resolves a fault at `addr`: commits the page or says why not.
    pub fn fault(&mut self, addr: u64, access: Access) -> Result<(), FaultError> {
        if let Some(h) = self.last_anon {
            if h.version == self.vmas.version() && h.start <= addr && addr < h.end {
                if let Some(r) = self.fault_anon(addr, access, h.prot, h.leaf) {
                    return r;
                }
            }
        }
        self.fault_slow(addr, access)
    }

    /// The common fault, first touch of a page of an anonymous VMA with rights
    /// `prot`, in one walk of the page table; None for any other case (the page is
    /// there already, or parked), which [`Self::fault_slow`] handles.
    #[inline]
    fn fault_anon(
        &mut self,
        addr: u64,
        access: Access,
        prot: Prot,
        leaf: elfin_arch::LeafPerm,
    ) -> Option<Result<(), FaultError>> {
        let ok = match access {
            Access::Read => prot.any(),
            Access::Write => prot.write,
            Access::Exec => prot.exec,
        };
        if !ok {
            return Some(Err(FaultError::AccErr));
        }
        let page = page_down(addr);
        if !self.parked.is_empty() && self.parked.contains_key(&page) {
            return None;
        }
        let slot = match self.pt.leaf_slot(page, true, &mut FrameAlloc) {
            Ok(slot) => slot,
            Err(elfin_arch::MapError::NoMemory) => return Some(Err(FaultError::OutOfMemory)),
            Err(_) => return None,
        };
        if slot.get().is_some() {
            return None;
        }
        let Some(pa) = alloc_user_zeroed() else { return Some(Err(FaultError::OutOfMemory)) };
        slot.set_leaf(pa, leaf);
        self.committed(1);
        Some(Ok(()))
    }

    /// Resolves a fault at `addr` in general (kept out of line: the common fault
    /// does not pay for its frame).
    #[inline(never)]
    fn fault_slow(&mut self, addr: u64, access: Access) -> Result<(), FaultError> {
        if addr >= USER_END {
            return Err(FaultError::MapErr);
        }
        let page = page_down(addr);
        let (vstart, vend, area) = match self.vmas.find(addr) {
            Some(r) => {
                if let Backing::Anon = r.val.backing {
                    let version = self.vmas.version();
                    let (prot, leaf) = (r.val.prot, elfin_arch::LeafPerm::new(r.val.prot.perm()));
                    self.last_anon = Some(AnonHint { version, start: r.start, end: r.end, prot, leaf });
                }
                (r.start, r.end, r.val.clone())
            }
            None => {
                let (start, area) = self.grow_stack(addr)?;
                (start, page + PAGE_SIZE, area)
            }
        };
        let ok = match access {
            Access::Read => area.prot.any(),
            Access::Write => area.prot.write,
            Access::Exec => area.prot.exec,
        };
        if !ok {
            return Err(FaultError::AccErr);
        }
        if let Some((pa, perm)) = self.pt.translate(page) {
            // Present: a stale TLB entry, the rights are right already, or a write to a
            // page shared copy-on-write with another address space.
            if perm.user && (perm.write || !area.prot.write) {
                return Ok(());
            }
            let private = area.shared_file().is_none() && !area.shared;
            if private && matches!(access, Access::Write) && frames::is_shared(pa) {
                return self.break_cow(page, pa, &area);
            }
            if private && frames::is_shared(pa) {
                // A read of a COW page: it stays read-only until written.
                return Ok(());
            }
            self.pt.protect(page, area.prot.perm());
            return Ok(());
        }
        if let Some(pa) = self.parked.remove(&page) {
            let private = area.shared_file().is_none() && !area.shared;
            let perm = if private && frames::is_shared(pa) { area.prot.cow_perm() } else { area.prot.perm() };
            self.pt.map(page, pa, perm, &mut FrameAlloc).map_err(|_| {
                self.parked.insert(page, pa);
                FaultError::OutOfMemory
            })?;
            if private && matches!(access, Access::Write) && frames::is_shared(pa) {
                return self.break_cow(page, pa, &area);
            }
            return Ok(());
        }
        let rel = page - vstart;
        let read = matches!(access, Access::Read | Access::Exec);
        let mut perm = area.prot.perm();
        let pa = match &area.backing {
            Backing::Anon => alloc_user_zeroed().ok_or(FaultError::OutOfMemory)?,
            Backing::Kernel { frames: f, first } => {
                let pa =
                    *first.checked_add((rel / PAGE_SIZE) as usize).and_then(|i| f.get(i)).ok_or(FaultError::Bus)?;
                frames::share(pa);
                pa
            }
            Backing::File { node, offset, len } => {
                let pos = offset + rel;
                if *len == u64::MAX && pos >= node.size().next_multiple_of(PAGE_SIZE) {
                    return Err(FaultError::Bus);
                }
                if area.shared {
                    cache::get(node, pos / PAGE_SIZE).ok_or(FaultError::OutOfMemory)?
                } else if let Some(pa) = read.then(|| file_page(node, *offset, *len, rel)).flatten() {
                    // The file's own frame, read-only until written (copy on write).
                    perm = area.prot.cow_perm();
                    pa
                } else {
                    let pa = alloc_user_uninit().ok_or(FaultError::OutOfMemory)?;
                    let n = len.saturating_sub(rel).min(PAGE_SIZE) as usize;
                    let bytes = frames::frame_bytes(pa);
                    let (head, tail) = bytes.split_at_mut(n.min(bytes.len()));
                    // Every byte is written: the file's (zeros past its end), then
                    // zeros past the mapping's length.
                    cache::read_page(node, pos, head);
                    tail.fill(0);
                    pa
                }
            }
        };
        if self.pt.map(page, pa, perm, &mut FrameAlloc).is_err() {
            Self::release(pa, page, vstart, &area);
            return Err(FaultError::OutOfMemory);
        }
        self.committed(1);
        if read {
            self.fault_around(page, vstart, vend, &area);
        }
        Ok(())
    }

    /// After a read fault on page `page` of a file VMA [vstart, vend): maps the
    /// neighbouring pages of the same aligned [`FAULT_AROUND_PAGES`] window that the
    /// file already holds in memory, as Linux's fault-around does, so that reading
    /// a mapped file takes one fault per window instead of one per page. A shared
    /// VMA gets the cached pages its file's other shared mappings use; a private one
    /// gets the file's own frames read-only (copied on the first write). Nothing is
    /// read from the file and nothing allocated but page tables; a page that is not
    /// there faults as before.
    fn fault_around(&mut self, page: u64, vstart: u64, vend: u64, area: &Area) {
        let Backing::File { node, offset, len } = &area.backing else { return };
        let span = FAULT_AROUND_PAGES * PAGE_SIZE;
        let lo = (page & !(span - 1)).max(vstart);
        let hi = (page & !(span - 1)).saturating_add(span).min(vend);
        // A volume's file is not asked its size at every fault: its page cache
        // holds only pages that were in the file.
        let file_end = if !area.shared && crate::fs::ninep::on_volume(&**node) {
            u64::MAX
        } else {
            node.size().next_multiple_of(PAGE_SIZE)
        };
        // A private mapping of initrd bytes (a program's segments) with no page of
        // the file cached maps the initrd's frames straight: they lie there in the
        // file's order, so the window's run of them is worked out once.
        let initrd = (!area.shared && !cache::has_pages(node)).then(|| node.static_bytes()).flatten();
        // The window lies in one leaf table (that of the faulting page, mapped by now).
        let Ok(table) = self.pt.leaf_slot(page, true, &mut FrameAlloc) else { return };
        let run = match initrd {
            Some(bytes) => match initrd_run(bytes, *offset, *len) {
                Some(r) => Some(r),
                None => return,
            },
            None => None,
        };
        let leaf = elfin_arch::LeafPerm::new(if area.shared { area.prot.perm() } else { area.prot.cow_perm() });
        let mut mapped = 0;
        let mut va = lo;
        while va < hi {
            let (rel, this) = (va - vstart, va);
            va += PAGE_SIZE;
            let Some(pos) = offset.checked_add(rel).filter(|&p| p < file_end) else { break };
            if run.is_some_and(|(_, whole_end)| rel.saturating_add(PAGE_SIZE) > whole_end) {
                break;
            }
            if this == page || (!self.parked.is_empty() && self.parked.contains_key(&this)) {
                continue;
            }
            let Some(slot) = table.sibling(this) else { break };
            if slot.get().is_some() {
                continue;
            }
            let pa = match run {
                Some((first_pa, _)) => Some(first_pa + rel),
                None if area.shared => cache::get_resident(node, pos / PAGE_SIZE),
                None => file_page(node, *offset, *len, rel),
            };
            if let Some(pa) = pa {
                slot.set_leaf(pa, leaf);
                mapped += 1;
            }
        }
        self.committed(mapped);
    }

    /// Extends the growsdown VMA above `addr` down to cover it, within the faulting
    /// process's RLIMIT_STACK (read at the fault, as Linux's acct_stack_growth
    /// does, so that a limit set after exec applies) and clear of the guard gap
    /// to the accessible mapping below, as Linux's expand_downwards does. (No
    /// fixed floor: the mmap area starts below the lowest stack top the layout
    /// can have, but a larger RLIMIT_STACK or a mapping at a chosen address may
    /// come closer, so only what is mapped below bounds it.)
    fn grow_stack(&mut self, addr: u64) -> Result<(u64, Area), FaultError> {
        let r = self.vmas.first_above(addr).ok_or(FaultError::MapErr)?;
        let (k, end) = (r.start, r.end);
        let new_start = page_down(addr);
        let limit = crate::task::sched::try_current().map(|t| t.process.rlimit(RLIMIT_STACK)).unwrap_or(STACK_RLIMIT);
        if !r.val.growsdown || end - new_start > limit {
            return Err(FaultError::MapErr);
        }
        if let Some(below) = self.vmas.last_below(k) {
            if below.val.prot.any() && !below.val.growsdown && below.end.saturating_add(STACK_GUARD_GAP) > new_start {
                return Err(FaultError::MapErr);
            }
        }
        let area = r.val.clone();
        self.vmas.grow_down(k, new_start).map_err(|_| FaultError::MapErr)?;
        self.total_vm += k - new_start;
        Ok((new_start, area))
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

    /// Moves [old, old + len) (inside one VMA) to a free [dst, dst + new_len): the VMA
    /// part and every committed page, without copying data.
    pub fn move_range(&mut self, old: u64, len: u64, dst: u64, new_len: u64, keep_old: bool) -> bool {
        let Some(r) = self.vmas.find(old) else { return false };
        let area = r.val.advance(old - r.start);
        if !self.insert_area(dst, dst + new_len, area.clone()) {
            return false;
        }
        // Only the pages that are there move (a sparse range costs what it maps).
        let moved = len.min(new_len);
        let mut batch = [(0u64, 0u64, Perm::default()); PAGE_BATCH];
        let mut cursor = old;
        loop {
            let n = self.mapped_pages(cursor, old + moved, &mut batch);
            if n == 0 {
                break;
            }
            for &(va, pa, _) in batch.iter().take(n) {
                let _ = self.pt.unmap(va);
                let perm = self.perm_for(va, pa, area.prot);
                if self.pt.map(dst + (va - old), pa, perm, &mut FrameAlloc).is_err() {
                    // No memory for a page table: the page's content is lost, like a
                    // discarded page (it reads back as zeros or file data).
                    self.released(1);
                    Self::release(pa, va, old, &area);
                }
            }
            cursor = batch.get(n - 1).map(|b| b.0 + PAGE_SIZE).unwrap_or(old + moved);
        }
        let parked: Vec<(u64, u64)> = self.parked.range(old..old + moved).map(|(&va, &pa)| (va, pa)).collect();
        for (va, pa) in parked {
            self.parked.remove(&va);
            self.parked.insert(dst + (va - old), pa);
        }
        if !keep_old {
            self.unmap_range(old, old + len);
        }
        if old == self.vdso {
            // mremap of the vDSO (as CRIU does): signals return to its new place.
            self.vdso = dst;
        }
        self.flush_others();
        true
    }

    /// Writes the page-cache pages of the shared file VMAs in [start, end) back to
    /// their files (msync).
    pub fn sync_range(&self, start: u64, end: u64) {
        for r in self.vmas.overlapping(start, end) {
            if let Some((node, _)) = r.val.shared_file() {
                cache::writeback(node);
            }
        }
    }
}

impl Drop for AddrSpace {
    /// Frees every page, table and VMA (the address space must not be loaded on
    /// the CPU any more; other CPUs may still have its empty root loaded).
    fn drop(&mut self) {
        let all: Vec<(u64, u64)> = self.vmas.iter().map(|r| (r.start, r.end)).collect();
        for (s, e) in all {
            self.unmap_range(s, e);
        }
        if self.rss != self.parked.len() as u64 {
            log::warn!(
                "elfin: an address space ended counting {} resident pages with {} left",
                self.rss,
                self.parked.len()
            );
        }
        // Anything parked outside a VMA would be a bookkeeping bug; free it anyway.
        for (_, pa) in core::mem::take(&mut self.parked) {
            frames::put(pa);
        }
        if self.maps_files {
            FILE_MAPPERS.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
        }
        let pt = core::mem::replace(&mut self.pt, PageTable::from_root(0));
        if pt.root() != 0 {
            pt.free_tables_below_root(&mut FrameAlloc);
            // An idle CPU may still have the root loaded: it goes when none has.
            crate::task::sched::retire_root(pt.root());
        }
    }
}

/// Pages a read fault on a file mapping maps at most (the faulting one included):
/// Linux's default fault_around_bytes, 64 KiB.
pub const FAULT_AROUND_PAGES: u64 = 16;

/// The file's own frame for page `rel` of a private mapping of `node` from `offset`
/// with `len` bytes of content, with an owner taken for the mapping: when the whole
/// page is file content (not a partial page followed by zeros), page-aligned in the
/// file, resident in the file's page store, and not in the cache of shared
/// mappings (whose bytes may be newer than the file's until written back).
fn file_page(node: &Arc<dyn Inode>, offset: u64, len: u64, rel: u64) -> Option<u64> {
    let pos = whole_page_at(offset, len, rel)?;
    if cache::holds(node, pos / PAGE_SIZE) {
        return None;
    }
    // A RAM file's own frame, or the initrd's where the file's bytes still lie
    // there page-aligned (the program's segments).
    node.share_page(pos / PAGE_SIZE).or_else(|| initrd_frame_at(node.static_bytes()?, pos))
}

/// Where a private mapping of `len` bytes at file `offset` of a file whose bytes
/// are `bytes` of the initrd finds its pages there: the frame of the mapping's
/// first page, and the end (relative to the mapping) of the pages that lie there
/// whole. None when they are not page-aligned there (they are then copied).
fn initrd_run(bytes: &'static [u8], offset: u64, len: u64) -> Option<(u64, u64)> {
    let start = usize::try_from(offset).ok()?;
    let rest = bytes.get(start..)?;
    let avail = (rest.len() as u64).min(len) & !(PAGE_SIZE - 1);
    let first = (rest.as_ptr() as u64).checked_sub(elfin_arch::PHYS_OFFSET)?;
    let last = first.checked_add(avail)?;
    (avail > 0 && first % PAGE_SIZE == 0 && frames::is_initrd(first) && frames::is_initrd(last - 1))
        .then_some((first, avail))
}

/// The file position of page `rel` of a mapping of `len` bytes at file `offset`,
/// if the mapping covers the whole page and the position is page-aligned.
fn whole_page_at(offset: u64, len: u64, rel: u64) -> Option<u64> {
    let pos = offset.checked_add(rel)?;
    let whole = len == u64::MAX || rel.checked_add(PAGE_SIZE).is_some_and(|e| e <= len);
    (whole && pos % PAGE_SIZE == 0).then_some(pos)
}

/// The initrd frame holding the page at `pos` of a file whose bytes are `bytes`
/// (borrowed from the initrd), if the page lies there whole and page-aligned.
fn initrd_frame_at(bytes: &'static [u8], pos: u64) -> Option<u64> {
    let start = usize::try_from(pos).ok()?;
    let page = bytes.get(start..start.checked_add(PAGE_SIZE as usize)?)?;
    frames::initrd_frame(page.as_ptr() as u64)
}

/// After the file at `node` (an inode's address) shrank to `size` bytes: the
/// pages of its mmaps wholly beyond the new end leave every address space, so
/// that the next access faults and gets SIGBUS, as on Linux. The partial last
/// page stays: the file zeroed its tail.
pub fn file_shrunk(node: *const (), size: u64) {
    if FILE_MAPPERS.load(core::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    let from = size.next_multiple_of(PAGE_SIZE);
    // Threads and vfork children share an address space: each is visited once.
    let mut seen: Vec<*const crate::task::Mm> = Vec::new();
    for p in crate::task::table::processes() {
        let Some(mm) = p.try_mm() else { continue };
        if seen.contains(&Arc::as_ptr(&mm)) {
            continue;
        }
        seen.push(Arc::as_ptr(&mm));
        let mut a = mm.lock();
        if a.maps_files {
            a.drop_file_pages(node, from);
        }
    }
}

/// Pages copied on write since boot (a benchmark figure).
pub static COW_COPIES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Before a read of `node` through a file descriptor: makes bytes written through
/// shared mappings visible.
pub fn sync_file(node: &Arc<dyn Inode>) {
    cache::writeback(node);
}

/// After a write of [start, end) of `node` through a file descriptor: makes the new
/// bytes visible through shared mappings.
pub fn file_written(node: &Arc<dyn Inode>, start: u64, end: u64) {
    cache::refresh(node, start, end);
}

/// The page cache of files mapped MAP_SHARED: one frame per mapped file page, shared
/// by every mapping of it, written back to the file's content on msync, before
/// reads through a descriptor, and when its last mapping goes.
mod cache {
    use super::*;

    struct Page {
        pa: u64,
        maps: usize,
    }

    struct FileCache {
        node: Arc<dyn Inode>,
        pages: BTreeMap<u64, Page>,
    }

    /// Keyed by the inode's address (inodes are Arc-shared and live while cached).
    static CACHE: crate::sync::Mutex<BTreeMap<usize, FileCache>> = crate::sync::Mutex::new(BTreeMap::new());

    fn key(node: &Arc<dyn Inode>) -> usize {
        Arc::as_ptr(node) as *const () as usize
    }

    fn copy_in(node: &Arc<dyn Inode>, pos: u64, dst: &mut [u8]) {
        let n = node.read_at(pos, dst).unwrap_or(0);
        if let Some(rest) = dst.get_mut(n..) {
            rest.fill(0);
        }
    }

    fn copy_out(node: &Arc<dyn Inode>, pos: u64, src: &[u8]) {
        let size = node.size();
        if pos >= size {
            return;
        }
        let n = ((size - pos) as usize).min(src.len());
        // write_at leaves unchanged bytes alone (initrd files stay borrowed).
        let _ = node.write_at(pos, src.get(..n).unwrap_or(&[]));
    }

    /// Fills `dst` with the file's bytes at `pos` (zeros beyond its end), through the
    /// cache when the page is cached (a private mapping sees shared writes until it
    /// copies).
    pub fn read_page(node: &Arc<dyn Inode>, pos: u64, dst: &mut [u8]) {
        let cache = CACHE.lock();
        if let Some(p) = cache.get(&key(node)).and_then(|f| f.pages.get(&(pos / PAGE_SIZE))) {
            let src = frames::frame_bytes(p.pa);
            let n = dst.len().min(src.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
                d.copy_from_slice(s);
            }
            return;
        }
        drop(cache);
        copy_in(node, pos, dst);
    }

    /// The cache frame of page `pgoff` of `node`, with one more mapping.
    pub fn get(node: &Arc<dyn Inode>, pgoff: u64) -> Option<u64> {
        let mut cache = CACHE.lock();
        let f = cache.entry(key(node)).or_insert_with(|| FileCache { node: node.clone(), pages: BTreeMap::new() });
        if let Some(p) = f.pages.get_mut(&pgoff) {
            p.maps += 1;
            return Some(p.pa);
        }
        // copy_in writes every byte (zeros past the end of the file).
        let pa = alloc_user_uninit()?;
        copy_in(node, pgoff * PAGE_SIZE, frames::frame_bytes(pa));
        f.pages.insert(pgoff, Page { pa, maps: 1 });
        Some(pa)
    }

    /// Whether any page of `node` is in the cache.
    pub fn has_pages(node: &Arc<dyn Inode>) -> bool {
        CACHE.lock().get(&key(node)).is_some_and(|f| !f.pages.is_empty())
    }

    /// Whether page `pgoff` of `node` is in the cache.
    pub fn holds(node: &Arc<dyn Inode>, pgoff: u64) -> bool {
        let cache = CACHE.lock();
        cache.get(&key(node)).is_some_and(|f| f.pages.contains_key(&pgoff))
    }

    /// The cache frame of page `pgoff` of `node` with one more mapping, if the page
    /// is cached already (fault-around reads nothing from the file).
    pub fn get_resident(node: &Arc<dyn Inode>, pgoff: u64) -> Option<u64> {
        let mut cache = CACHE.lock();
        let p = cache.get_mut(&key(node))?.pages.get_mut(&pgoff)?;
        p.maps += 1;
        Some(p.pa)
    }

    /// One more mapping of a cached page (fork).
    pub fn dup(node: &Arc<dyn Inode>, pgoff: u64) {
        let mut cache = CACHE.lock();
        if let Some(p) = cache.get_mut(&key(node)).and_then(|f| f.pages.get_mut(&pgoff)) {
            p.maps += 1;
        }
    }

    /// Drops one mapping of page `pgoff`; the last one writes it back and frees it.
    pub fn put(node: &Arc<dyn Inode>, pgoff: u64) {
        let mut cache = CACHE.lock();
        let k = key(node);
        let Some(f) = cache.get_mut(&k) else { return };
        let last = match f.pages.get_mut(&pgoff) {
            Some(p) => {
                p.maps = p.maps.saturating_sub(1);
                p.maps == 0
            }
            None => false,
        };
        if last {
            if let Some(p) = f.pages.remove(&pgoff) {
                copy_out(&f.node, pgoff * PAGE_SIZE, frames::frame_bytes(p.pa));
                frames::free(p.pa, 1);
            }
        }
        if f.pages.is_empty() {
            cache.remove(&k);
        }
    }

    /// Writes every cached page of `node` back to its content.
    pub fn writeback(node: &Arc<dyn Inode>) {
        let cache = CACHE.lock();
        if let Some(f) = cache.get(&key(node)) {
            for (&pgoff, p) in &f.pages {
                copy_out(&f.node, pgoff * PAGE_SIZE, frames::frame_bytes(p.pa));
            }
        }
    }

    /// Re-reads the cached pages of `node` that overlap [start, end) from its content.
    pub fn refresh(node: &Arc<dyn Inode>, start: u64, end: u64) {
        let cache = CACHE.lock();
        if let Some(f) = cache.get(&key(node)) {
            for (&pgoff, p) in f.pages.range(start / PAGE_SIZE..end.div_ceil(PAGE_SIZE)) {
                copy_in(&f.node, pgoff * PAGE_SIZE, frames::frame_bytes(p.pa));
            }
        }
    }
}
