//! DMA for `virtio-drivers`: pages come from the kernel's frame allocator (the
//! kernel hands it over with [`set_page_source`]), or else from the kernel heap,
//! which lives in the direct map too. Either way a buffer's physical address is
//! its virtual address minus the direct-map offset, and it is physically
//! contiguous. Queues and data buffers take their pages from the frame allocator
//! so that they do not use up the heap the kernel sized for itself.
use core::alloc::Layout;
use core::ptr::NonNull;

use elfin_arch::{KERNEL_VIRT, PAGE_SIZE, PHYS_OFFSET};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// The platform's `Hal`.
pub struct PlatHal;

/// Allocates `n` contiguous physical pages (not zeroed) / frees them.
type PageAlloc = fn(usize) -> Option<u64>;
type PageFree = fn(u64, usize);

static PAGES: spin::Once<(PageAlloc, PageFree)> = spin::Once::new();

/// Sets where DMA pages come from (once, before any device is started).
pub fn set_page_source(alloc: PageAlloc, free: PageFree) {
    PAGES.call_once(|| (alloc, free));
}

/// A DMA buffer of whole pages, zeroed, freed when dropped.
pub struct DmaBuf {
    paddr: u64,
    vaddr: NonNull<u8>,
    pages: usize,
}

// SAFETY: the buffer is plain memory owned by this value; the device accesses it
// only while a driver holds it in a queue.
unsafe impl Send for DmaBuf {}

impl DmaBuf {
    /// At least `bytes` bytes, zeroed, or None when memory is short.
    pub fn new(bytes: usize) -> Option<DmaBuf> {
        let pages = bytes.div_ceil(PAGE_SIZE as usize).max(1);
        let (paddr, vaddr) = PlatHal::dma_alloc(pages, BufferDirection::Both);
        (paddr != 0).then_some(DmaBuf { paddr, vaddr, pages })
    }

    /// At least `bytes` bytes holding whatever the frames held, for rings whose
    /// buffers are always written before they are read (the console's stdio: the
    /// driver fills a buffer before the device sees it, or reads only what the
    /// device wrote); zeroing them cost 768 KiB of stores at boot.
    pub fn new_unzeroed(bytes: usize) -> Option<DmaBuf> {
        let pages = bytes.div_ceil(PAGE_SIZE as usize).max(1);
        let (paddr, vaddr) = alloc_pages(pages, false);
        (paddr != 0).then_some(DmaBuf { paddr, vaddr, pages })
    }

    /// The bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `pages` pages at `vaddr` are owned by this buffer (see `dma_alloc`).
        unsafe { core::slice::from_raw_parts_mut(self.vaddr.as_ptr(), self.pages * PAGE_SIZE as usize) }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: allocated by `dma_alloc` with this page count, not shared any more.
        unsafe { PlatHal::dma_dealloc(self.paddr, self.vaddr, self.pages) };
    }
}

/// `pages` contiguous pages for DMA, zeroed when `zero` (memory from the heap, the
/// fallback before the frame allocator is known, is always zeroed: its bytes are
/// not initialised otherwise).
fn alloc_pages(pages: usize, zero: bool) -> (PhysAddr, NonNull<u8>) {
    if let Some((alloc, _)) = PAGES.get() {
        let Some(pa) = alloc(pages) else { return (0, NonNull::dangling()) };
        let va = elfin_arch::phys_to_virt(pa);
        for i in (0..pages as u64).filter(|_| zero) {
            // SAFETY: the frame allocator handed over `pages` pages of RAM, which the
            // direct map covers writable; they are ours until `dma_dealloc`.
            unsafe { elfin_arch::zero_page(va + i * PAGE_SIZE) };
        }
        return match NonNull::new(va as *mut u8) {
            Some(v) => (pa, v),
            None => (0, NonNull::dangling()),
        };
    }
    let Some(layout) = layout(pages) else { return (0, NonNull::dangling()) };
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) };
    if !p.is_null() {
        for i in 0..pages as u64 {
            // SAFETY: `layout` is page-aligned and `pages` pages long; the heap
            // handed the memory over, and the direct map maps it writable.
            unsafe { elfin_arch::zero_page(p as u64 + i * PAGE_SIZE) };
        }
    }
    match NonNull::new(p) {
        Some(v) => (virt_to_phys(p as u64), v),
        // `Dma::new` and the queue constructors treat address 0 as failure.
        None => (0, NonNull::dangling()),
    }
}

/// Physical address of kernel memory: the direct map or the kernel image.
pub fn virt_to_phys(va: u64) -> u64 {
    if va >= KERNEL_VIRT {
        elfin_arch::kernel_va_to_pa(va)
    } else {
        va.wrapping_sub(PHYS_OFFSET)
    }
}

fn layout(pages: usize) -> Option<Layout> {
    let bytes = pages.checked_mul(PAGE_SIZE as usize).filter(|&b| b > 0)?;
    Layout::from_size_align(bytes, PAGE_SIZE as usize).ok()
}

// SAFETY: `dma_alloc` hands out zeroed, page-aligned memory that stays allocated until
// `dma_dealloc`; it is physically contiguous (see the module docs) and the physical
// address returned is its own. `share` translates addresses of kernel memory (heap,
// kernel stacks or statics), which is what the drivers in this crate pass.
unsafe impl Hal for PlatHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        alloc_pages(pages, true)
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        if let Some((_, free)) = PAGES.get() {
            free(paddr, pages);
            return 0;
        }
        if let Some(layout) = layout(pages) {
            // SAFETY: the caller returns memory from `dma_alloc` with the same page count.
            unsafe { alloc::alloc::dealloc(vaddr.as_ptr(), layout) };
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let va = crate::devices::mmio_virt(paddr, size as u64).unwrap_or(0);
        NonNull::new(va as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        virt_to_phys(buffer.as_ptr() as *mut u8 as u64)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
