//! The kernel heap: small blocks (up to 2 KiB) from per-size free lists, carved
//! from 4 KiB chunks of a buddy allocator, which serves the larger blocks itself
//! and grows from the frame allocator on demand.
use core::alloc::{GlobalAlloc, Layout};

use core::sync::atomic::{AtomicUsize, Ordering};

use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use elfin_arch::PAGE_SIZE;

/// Frames handed to the heap so far (it never gives them back).
static FRAMES: AtomicUsize = AtomicUsize::new(0);

static HEAP: LockedHeapWithRescue<32> = LockedHeapWithRescue::new(rescue);

/// The smallest block (two words: a free block holds the next one's address).
const MIN_BLOCK: usize = 16;
/// The largest block the size classes serve.
const MAX_BLOCK: usize = 2048;
/// Size classes: 16, 32, ... 2048 bytes.
const CLASSES: usize = (MAX_BLOCK / MIN_BLOCK).trailing_zeros() as usize + 1;
/// What a class takes from the buddy heap at a time (a multiple of every class).
const CHUNK: usize = 4096;

/// One size class: its free blocks and the chunk it is carving.
#[derive(Clone, Copy)]
struct Class {
    /// Address of the first free block (0: none); a free block holds the
    /// address of the next.
    free: usize,
    /// The next uncarved block of the chunk, and the chunk's end.
    next: usize,
    end: usize,
}

/// The size classes, and the bytes they hold that are not in use (in the lists
/// and in uncarved chunk ends).
struct Slabs {
    classes: [Class; CLASSES],
    idle: usize,
}

static SLABS: spin::Mutex<Slabs> =
    spin::Mutex::new(Slabs { classes: [Class { free: 0, next: 0, end: 0 }; CLASSES], idle: 0 });

/// The size class of `layout`, when one serves it: its index and block size.
#[inline(always)]
fn class_of(layout: &Layout) -> Option<(usize, usize)> {
    let want = layout.size().max(layout.align());
    if want > MAX_BLOCK {
        return None;
    }
    // The power of two at or above `want`, at least MIN_BLOCK: 16 << c.
    let c = (want.max(MIN_BLOCK) - 1).ilog2() + 1 - MIN_BLOCK.trailing_zeros();
    Some((c as usize, MIN_BLOCK << c))
}

/// The global allocator: [`SLABS`] and [`HEAP`] behind calls that are never
/// inlined, so that the allocator's code exists once rather than in every
/// `Box::new` (inlined, it added 80 KiB of kernel text).
struct KernelHeap;

// SAFETY: a block comes either from a size class, where each block of a chunk is
// handed out once until it is freed back to the same class (blocks are aligned to
// their size, a power of two that divides the chunk's 4 KiB alignment), or from
// the buddy heap, a correct allocator; `dealloc` finds the same class from the
// same layout.
unsafe impl GlobalAlloc for KernelHeap {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((c, size)) = class_of(&layout) else {
            // SAFETY: the caller's contract is the one the heap needs.
            return unsafe { large_alloc(layout) };
        };
        let mut s = SLABS.lock();
        let Slabs { classes, idle } = &mut *s;
        let Some(k) = classes.get_mut(c) else { return core::ptr::null_mut() };
        if k.free != 0 {
            let head = k.free;
            // SAFETY: `head` is a free block of this class: nobody else uses it,
            // and its first word holds the next free block's address.
            k.free = unsafe { (head as *const usize).read() };
            *idle -= size;
            return head as *mut u8;
        }
        if k.next != 0 && k.next + size <= k.end {
            let p = k.next;
            k.next = p + size;
            *idle -= size;
            return p as *mut u8;
        }
        new_chunk(k, idle, size)
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((c, size)) = class_of(&layout) else {
            // SAFETY: the caller's contract is the one the heap needs.
            return unsafe { HEAP.dealloc(ptr, layout) };
        };
        let mut s = SLABS.lock();
        let Slabs { classes, idle } = &mut *s;
        // `class_of` only gives indices below CLASSES.
        let Some(k) = classes.get_mut(c) else { return };
        // SAFETY: `ptr` is a block of this class the caller no longer uses (it came
        // from `alloc` with the same layout); its first word now links the list.
        unsafe { (ptr as *mut usize).write(k.free) };
        k.free = ptr as usize;
        *idle += size;
    }
}

/// Gives class `k` (of blocks of `size`) a new chunk and returns its first block
/// (null when the heap is out of memory).
#[cold]
#[inline(never)]
fn new_chunk(k: &mut Class, idle: &mut usize, size: usize) -> *mut u8 {
    // SAFETY: a valid, nonzero layout (CHUNK bytes aligned to CHUNK, a power of two).
    let chunk = unsafe { HEAP.alloc(Layout::from_size_align_unchecked(CHUNK, CHUNK)) } as usize;
    if chunk == 0 {
        return core::ptr::null_mut();
    }
    k.next = chunk + size;
    k.end = chunk + CHUNK;
    *idle += CHUNK - size;
    chunk as *mut u8
}

/// The buddy heap's part: blocks no size class serves.
///
/// # Safety
/// `layout` has a nonzero size (GlobalAlloc::alloc's contract).
#[cold]
#[inline(never)]
unsafe fn large_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract is the one the heap needs.
    unsafe { HEAP.alloc(layout) }
}

#[global_allocator]
static GLOBAL: KernelHeap = KernelHeap;
/// Initial heap size and least growth: what the kernel uses by the time a small
/// program runs (about 190 KiB), rounded up to a power of two; it grows on demand.
const INITIAL: usize = 256 * 1024;
/// Heap memory taken at a time in a VM of a few MiB (where a 256 KiB block is a
/// good part of what programs could use).
const SMALL_STEP: usize = 64 * 1024;
/// RAM (frames) below which the heap grows in [`SMALL_STEP`]s.
const SMALL_RAM_FRAMES: usize = (16 << 20) / PAGE_SIZE as usize;

/// How much the heap takes at least when it grows.
fn step() -> usize {
    if super::frames::total_count() < SMALL_RAM_FRAMES {
        SMALL_STEP
    } else {
        INITIAL
    }
}

fn add_frames(heap: &mut Heap<32>, bytes: usize) -> bool {
    let frames = bytes.div_ceil(PAGE_SIZE as usize).next_power_of_two();
    // Aligned to its size, so that the buddy heap can use it as one block.
    let Some(pa) = super::frames::alloc_aligned(frames) else { return false };
    let va = elfin_arch::phys_to_virt(pa) as usize;
    // SAFETY: the frames were just taken from the frame allocator, are mapped RW by the
    // direct map and belong to the heap from now on.
    unsafe { heap.add_to_heap(va, va + frames * PAGE_SIZE as usize) };
    FRAMES.fetch_add(frames, Ordering::Relaxed);
    true
}

fn rescue(heap: &mut Heap<32>, layout: &Layout) {
    let want = (layout.size() + layout.align()).max(step());
    if !add_frames(heap, want) {
        // Try the exact size before giving up (the allocation then fails: OOM).
        add_frames(heap, layout.size() + layout.align());
    }
}

/// Gives the heap its initial memory.
pub fn init() {
    let mut h = HEAP.lock();
    if !add_frames(&mut h, step()) {
        drop(h);
        elfin_plat::console::early_panic("elfin: not enough memory for the kernel heap");
    }
}

/// Frames the heap has taken from the frame allocator.
pub fn frames() -> usize {
    FRAMES.load(Ordering::Relaxed)
}

/// Bytes of the heap in use (blocks as their size class or the buddy allocator
/// rounds them).
pub fn in_use() -> usize {
    let idle = SLABS.lock().idle;
    HEAP.lock().stats_alloc_actual().saturating_sub(idle)
}
