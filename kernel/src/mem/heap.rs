//! The kernel heap (buddy allocator), grown from the frame allocator on demand.
use core::alloc::{GlobalAlloc, Layout};

use core::sync::atomic::{AtomicUsize, Ordering};

use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use elfin_arch::PAGE_SIZE;

/// Frames handed to the heap so far (it never gives them back).
static FRAMES: AtomicUsize = AtomicUsize::new(0);

static HEAP: LockedHeapWithRescue<32> = LockedHeapWithRescue::new(rescue);

/// The global allocator: [`HEAP`] behind calls that are never inlined, so that the
/// buddy allocator's code exists once rather than in every `Box::new` (inlined, it
/// added 80 KiB of kernel text).
struct KernelHeap;

// SAFETY: every method forwards to the buddy heap, a correct allocator.
unsafe impl GlobalAlloc for KernelHeap {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the one the heap needs.
        unsafe { HEAP.alloc(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is the one the heap needs.
        unsafe { HEAP.dealloc(ptr, layout) }
    }
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

/// Bytes of the heap in use (allocations as the buddy allocator rounds them).
pub fn in_use() -> usize {
    HEAP.lock().stats_alloc_actual()
}
