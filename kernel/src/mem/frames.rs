//! The physical frame allocator: a bump pointer per RAM range plus an intrusive
//! free list of returned frames. It never allocates from the heap (the heap grows
//! from it), needs no set-up proportional to RAM, and allocation and freeing of
//! single frames are O(1). Contiguous runs come from the bump ranges only.
//!
//! Single frames (page faults, page tables) go through a small cache per CPU in
//! front of the shared list, filled and emptied in batches: the common
//! allocation and free take only this CPU's uncontended lock. A CPU that finds
//! nothing anywhere else takes from the other CPUs' caches, so that cached
//! frames never make an allocation fail.
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use elfin_arch::{FrameSource, PAGE_SIZE};

const MAX_RANGES: usize = 32;

struct Frames {
    /// [next, end) of each range not yet handed out.
    ranges: [(u64, u64); MAX_RANGES],
    nranges: usize,
    /// Physical address of the first free frame, 0 for none.
    free_head: u64,
}

static FRAMES: crate::sync::Mutex<Frames> =
    crate::sync::Mutex::new(Frames { ranges: [(0, 0); MAX_RANGES], nranges: 0, free_head: 0 });
/// Free frames, those in the CPU caches included.
static FREE: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

fn link_slot(pa: u64) -> *mut u64 {
    elfin_arch::phys_to_virt(pa) as *mut u64
}

impl Frames {
    fn push_range(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        if let Some(slot) = self.ranges.get_mut(self.nranges) {
            *slot = (s, e);
            self.nranges += 1;
            let n = ((e - s) / PAGE_SIZE) as usize;
            FREE.fetch_add(n, Ordering::Relaxed);
            TOTAL.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Adds the frames of [start, end) minus the reserved ranges.
pub fn add_range_excluding(start: u64, end: u64, reserved: &[(u64, u64)]) {
    let mut f = FRAMES.lock();
    let mut s = start;
    // Reserved ranges are few; cut [s, end) at each one that overlaps, in address order.
    let mut cuts: [(u64, u64); 4] = [(u64::MAX, u64::MAX); 4];
    for (slot, r) in cuts.iter_mut().zip(reserved.iter().filter(|r| r.0 < r.1)) {
        *slot = *r;
    }
    cuts.sort_unstable();
    for &(rs, re) in cuts.iter().filter(|c| c.0 != u64::MAX) {
        if re <= s || rs >= end {
            continue;
        }
        f.push_range(s, rs.min(end));
        s = s.max(re);
    }
    f.push_range(s, end);
}

/// Frames a CPU's cache holds at most.
const CPU_CACHE: usize = 32;
/// Frames moved between a CPU's cache and the shared allocator at once.
const CPU_BATCH: usize = 16;

/// One CPU's cache of free single frames.
struct CpuFrames {
    n: usize,
    frames: [u64; CPU_CACHE],
}

/// A lock taken by its own CPU only, except when another one has run out of
/// frames everywhere else, so it is as good as uncontended.
type CpuLock = spin::mutex::Mutex<CpuFrames, crate::sync::ServeFlushes>;

static CPU_FRAMES: [CpuLock; crate::task::sched::MAX_CPUS] =
    [const { spin::mutex::Mutex::new(CpuFrames { n: 0, frames: [0; CPU_CACHE] }) }; crate::task::sched::MAX_CPUS];

fn cpu_frames() -> Option<&'static CpuLock> {
    CPU_FRAMES.get(elfin_arch::cpu_id())
}

impl CpuFrames {
    fn pop(&mut self) -> Option<u64> {
        self.n = self.n.checked_sub(1)?;
        self.frames.get(self.n).copied()
    }
    fn push(&mut self, pa: u64) -> bool {
        match self.frames.get_mut(self.n) {
            Some(slot) => {
                *slot = pa;
                self.n += 1;
                true
            }
            None => false,
        }
    }
}

impl Frames {
    /// One frame from the free list, else from a bump range.
    fn take_one(&mut self) -> Option<u64> {
        if self.free_head != 0 {
            let pa = self.free_head;
            // SAFETY: free frames hold the address of the next free frame in their
            // first word; the frame is owned by the allocator until returned here.
            self.free_head = unsafe { core::ptr::read(link_slot(pa)) };
            return Some(pa);
        }
        let n = self.nranges;
        let r = self.ranges.iter_mut().take(n).find(|r| r.1 - r.0 >= PAGE_SIZE)?;
        let pa = r.0;
        r.0 += PAGE_SIZE;
        Some(pa)
    }
    /// Fills a CPU cache up to [`CPU_BATCH`] frames: from the free list, then a
    /// run of a bump range taken at once.
    fn refill(&mut self, c: &mut CpuFrames) {
        while c.n < CPU_BATCH && self.free_head != 0 {
            let pa = self.free_head;
            // SAFETY: as in take_one.
            self.free_head = unsafe { core::ptr::read(link_slot(pa)) };
            c.push(pa);
        }
        let want = CPU_BATCH.saturating_sub(c.n) as u64;
        if want == 0 {
            return;
        }
        let n = self.nranges;
        let Some(r) = self.ranges.iter_mut().take(n).find(|r| r.1 - r.0 >= PAGE_SIZE) else { return };
        let k = want.min((r.1 - r.0) / PAGE_SIZE);
        for i in 0..k {
            c.push(r.0 + i * PAGE_SIZE);
        }
        r.0 += k * PAGE_SIZE;
    }
    fn give_one(&mut self, pa: u64) {
        // SAFETY: the frame was given back to the allocator; its first word links
        // the free list.
        unsafe { core::ptr::write(link_slot(pa), self.free_head) };
        self.free_head = pa;
    }
}

/// One frame for the caller: from this CPU's cache, refilled in a batch from
/// the shared allocator, else from another CPU's cache.
fn alloc_one() -> Option<u64> {
    if let Some(lock) = cpu_frames() {
        let mut c = lock.lock();
        if c.n == 0 {
            FRAMES.lock().refill(&mut c);
        }
        if let Some(pa) = c.pop() {
            FREE.fetch_sub(1, Ordering::Relaxed);
            return Some(pa);
        }
    }
    let taken = FRAMES.lock().take_one();
    if let Some(pa) = taken {
        FREE.fetch_sub(1, Ordering::Relaxed);
        return Some(pa);
    }
    for lock in CPU_FRAMES.iter() {
        let popped = lock.lock().pop();
        if let Some(pa) = popped {
            FREE.fetch_sub(1, Ordering::Relaxed);
            return Some(pa);
        }
    }
    None
}

/// Gives one frame back: into this CPU's cache, half of which goes back to the
/// shared free list when it is full.
fn free_one(pa: u64) {
    FREE.fetch_add(1, Ordering::Relaxed);
    if let Some(lock) = cpu_frames() {
        let mut c = lock.lock();
        if c.n == CPU_CACHE {
            let mut f = FRAMES.lock();
            while c.n > CPU_CACHE - CPU_BATCH {
                let Some(old) = c.pop() else { break };
                f.give_one(old);
            }
        }
        if c.push(pa) {
            return;
        }
    }
    FRAMES.lock().give_one(pa);
}

/// Allocates `count` physically contiguous frames (not zeroed); returns the address.
#[inline]
pub fn alloc(count: usize) -> Option<u64> {
    if count == 1 {
        return alloc_one();
    }
    alloc_run(count)
}

/// [`alloc`] of more than one frame.
#[inline(never)]
fn alloc_run(count: usize) -> Option<u64> {
    let mut f = FRAMES.lock();
    let bytes = (count as u64).checked_mul(PAGE_SIZE)?;
    let n = f.nranges;
    for r in f.ranges.iter_mut().take(n) {
        if r.1 - r.0 >= bytes {
            let pa = r.0;
            r.0 += bytes;
            FREE.fetch_sub(count, Ordering::Relaxed);
            return Some(pa);
        }
    }
    None
}

/// Allocates `count` (a power of two) contiguous frames aligned to their total
/// size, as the buddy heap needs to use a region as one block. Frames skipped for
/// the alignment go to the free list.
pub fn alloc_aligned(count: usize) -> Option<u64> {
    let bytes = (count as u64).checked_mul(PAGE_SIZE)?;
    if !count.is_power_of_two() {
        return None;
    }
    let mut skipped: [(u64, u64); MAX_RANGES] = [(0, 0); MAX_RANGES];
    let found = {
        let mut f = FRAMES.lock();
        let n = f.nranges;
        let mut found = None;
        for (i, r) in f.ranges.iter_mut().take(n).enumerate() {
            let start = r.0.next_multiple_of(bytes);
            if start.checked_add(bytes).map(|e| e <= r.1).unwrap_or(false) {
                if let Some(slot) = skipped.get_mut(i) {
                    *slot = (r.0, start);
                }
                r.0 = start + bytes;
                found = Some(start);
                break;
            }
        }
        if found.is_some() {
            FREE.fetch_sub(count, Ordering::Relaxed);
        }
        found
    };
    // The frames before the aligned block were taken from the bump range: give
    // them back through the free list.
    for &(s, e) in skipped.iter().filter(|r| r.0 < r.1) {
        FREE.fetch_sub(((e - s) / PAGE_SIZE) as usize, Ordering::Relaxed);
        free(s, ((e - s) / PAGE_SIZE) as usize);
    }
    found
}

/// Frees frames allocated with [`alloc`].
pub fn free(pa: u64, count: usize) {
    if count == 1 {
        free_one(pa);
        return;
    }
    let mut f = FRAMES.lock();
    for i in 0..count as u64 {
        f.give_one(pa + i * PAGE_SIZE);
    }
    FREE.fetch_add(count, Ordering::Relaxed);
}

/// Allocates one zeroed frame.
pub fn alloc_zeroed() -> Option<u64> {
    let pa = alloc(1)?;
    zero(pa);
    Some(pa)
}

/// Fills a frame with zeros.
pub fn zero(pa: u64) {
    // SAFETY: `pa` is a RAM frame the caller owns (see frame_bytes); the direct map
    // covers it, writable, and no reference into it is alive while it is zeroed.
    unsafe { elfin_arch::zero_page(elfin_arch::phys_to_virt(pa & !(PAGE_SIZE - 1))) };
}

/// The bytes of a frame, through the direct map.
pub fn frame_bytes(pa: u64) -> &'static mut [u8] {
    // SAFETY: `pa` is a RAM frame owned by the caller (allocated from this allocator or
    // mapped into the address space the caller holds the lock of); the direct map
    // covers all RAM.
    unsafe {
        core::slice::from_raw_parts_mut(elfin_arch::phys_to_virt(pa & !(PAGE_SIZE - 1)) as *mut u8, PAGE_SIZE as usize)
    }
}

/// Number of free frames.
pub fn free_count() -> usize {
    FREE.load(Ordering::Relaxed)
}

/// Number of frames managed.
pub fn total_count() -> usize {
    TOTAL.load(Ordering::Relaxed)
}

/// Frames per chunk of reference counts.
const REF_CHUNK: usize = 1024;
/// A chunk of reference counts, allocated on first use.
type RefChunk = [AtomicU32; REF_CHUNK];
/// Chunks per leaf of the directory (2 GiB of RAM per leaf).
const REF_LEAF: usize = 512;
/// A leaf of the directory: where each of its chunks is, allocated on first use.
type RefLeaf = [AtomicPtr<RefChunk>; REF_LEAF];

/// Extra references to each frame (0: one owner), for frames shared between
/// address spaces: copy-on-write pages after fork and shared anonymous memory.
/// A directory with one slot per 2 GiB of RAM up to its highest frame, made by
/// [`init_refs`]; its leaves and their chunks are allocated on first use, so that
/// boot costs the same whatever the RAM (a flat table of chunk slots cost 6,400
/// instructions of zeroing for 24 GiB, and grew with it).
static REFS: spin::Once<&'static [AtomicPtr<RefLeaf>]> = spin::Once::new();

/// Makes the directory of the reference counts for RAM below `end` (once, at
/// boot, after the heap is up).
pub fn init_refs(end: u64) {
    REFS.call_once(|| {
        let leaves = ((end / PAGE_SIZE) as usize).div_ceil(REF_CHUNK * REF_LEAF);
        let slots: alloc::vec::Vec<AtomicPtr<RefLeaf>> = (0..leaves).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        slots.leak()
    });
}

/// The object `slot` points to, made with `fresh` when the slot is empty and
/// `create` is set (the first of two racing CPUs wins; the other's is dropped).
fn get_or_make<T>(
    slot: &AtomicPtr<T>,
    create: bool,
    fresh: impl FnOnce() -> alloc::boxed::Box<T>,
) -> Option<&'static T> {
    let mut p = slot.load(Ordering::Acquire);
    if p.is_null() {
        if !create {
            return None;
        }
        let made = alloc::boxed::Box::into_raw(fresh());
        match slot.compare_exchange(ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => p = made,
            Err(existing) => {
                // SAFETY: `made` was just leaked above and never published.
                drop(unsafe { alloc::boxed::Box::from_raw(made) });
                p = existing;
            }
        }
    }
    // SAFETY: published objects are never freed and live for the kernel's lifetime.
    Some(unsafe { &*p })
}

fn refs(pa: u64, create: bool) -> Option<&'static AtomicU32> {
    let frame = (pa / PAGE_SIZE) as usize;
    let chunk_no = frame / REF_CHUNK;
    let leaf_slot = REFS.get()?.get(chunk_no / REF_LEAF)?;
    let leaf = get_or_make(leaf_slot, create, || {
        alloc::boxed::Box::new([const { AtomicPtr::new(ptr::null_mut()) }; REF_LEAF])
    })?;
    let chunk = get_or_make(leaf.get(chunk_no % REF_LEAF)?, create, || {
        alloc::boxed::Box::new([const { AtomicU32::new(0) }; REF_CHUNK])
    })?;
    chunk.get(frame % REF_CHUNK)
}

/// Physical range [start, end) of the initrd, whose frames user mappings may map
/// directly (read-only, copied on write): they never belong to the allocator.
static INITRD: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Records where the initrd lies (once, at boot).
pub fn set_initrd(start: u64, end: u64) {
    INITRD[0].store(start, Ordering::Relaxed);
    INITRD[1].store(end, Ordering::Relaxed);
}

/// Whether `pa` is a frame of the initrd: shared by nature, never freed.
pub fn is_initrd(pa: u64) -> bool {
    INITRD[0].load(Ordering::Relaxed) <= pa && pa < INITRD[1].load(Ordering::Relaxed)
}

/// The frame holding the page of initrd bytes at kernel address `va` (a
/// page-aligned address in the direct map), if it is one.
pub fn initrd_frame(va: u64) -> Option<u64> {
    let pa = va.checked_sub(elfin_arch::PHYS_OFFSET)?;
    (pa % PAGE_SIZE == 0 && is_initrd(pa) && is_initrd(pa + PAGE_SIZE - 1)).then_some(pa)
}

/// Physical range [start, end) of kernel-image pages that user mappings map (the
/// vDSO): like the initrd's, shared by nature and never freed.
static KERNEL_SHARED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Records the kernel-image pages user space maps (once, at boot).
pub fn set_kernel_shared(start: u64, end: u64) {
    KERNEL_SHARED[0].store(start, Ordering::Relaxed);
    KERNEL_SHARED[1].store(end, Ordering::Relaxed);
}

/// Whether `pa` is a frame no owner count applies to: the initrd's, or a page of
/// the kernel image that user space maps.
fn never_freed(pa: u64) -> bool {
    is_initrd(pa) || (KERNEL_SHARED[0].load(Ordering::Relaxed) <= pa && pa < KERNEL_SHARED[1].load(Ordering::Relaxed))
}

/// Bit of a frame's reference word set while the frame is a page of a file's own
/// content (a RAM file's page), as opposed to a private copy; the other bits count
/// the extra owners.
const FILE_PAGE: u32 = 1 << 31;
/// The owner-count bits of a frame's reference word.
const OWNERS: u32 = FILE_PAGE - 1;

/// Adds an owner to a frame (a second address space maps it).
pub fn share(pa: u64) {
    if never_freed(pa) {
        return;
    }
    if let Some(r) = refs(pa, true) {
        r.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether a frame has more than one owner.
pub fn is_shared(pa: u64) -> bool {
    never_freed(pa) || refs(pa, false).map(|r| r.load(Ordering::Relaxed) & OWNERS > 0).unwrap_or(false)
}

/// Drops one owner of a frame; the last one frees it.
pub fn put(pa: u64) {
    let pa = pa & !(PAGE_SIZE - 1);
    if never_freed(pa) {
        return;
    }
    if let Some(r) = refs(pa, false) {
        if r.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n & OWNERS != 0).then(|| n - 1)).is_ok() {
            return;
        }
    }
    free(pa, 1);
}

/// Marks a frame as a page of a file's content, owned by the file (see
/// [`is_file_page`]); the file gives it back with [`put_file_page`].
pub fn mark_file_page(pa: u64) {
    if let Some(r) = refs(pa, true) {
        r.fetch_or(FILE_PAGE, Ordering::Relaxed);
    }
}

/// The file drops its page `pa` (truncated or removed): the frame stops being a
/// file page, and goes with its last owner like any other ([`put`]).
pub fn put_file_page(pa: u64) {
    let pa = pa & !(PAGE_SIZE - 1);
    if let Some(r) = refs(pa, false) {
        let prev = r.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some((n & OWNERS).saturating_sub(1)));
        if prev.is_ok_and(|n| n & OWNERS != 0) {
            return;
        }
    }
    free(pa, 1);
}

/// Whether `pa` is still a page of a file's own content (an initrd frame or a RAM
/// file's page), which a mapping can always get back from the file, rather than
/// a private copy that only its mappings hold.
pub fn is_file_page(pa: u64) -> bool {
    is_initrd(pa) || refs(pa, false).is_some_and(|r| r.load(Ordering::Relaxed) & FILE_PAGE != 0)
}

/// The frame allocator as a page-table frame source.
pub struct FrameAlloc;

impl FrameSource for FrameAlloc {
    fn alloc_zeroed(&mut self) -> Option<u64> {
        alloc_zeroed()
    }
    fn free(&mut self, pa: u64) {
        free(pa, 1)
    }
}
