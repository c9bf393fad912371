//! DMA for `virtio-drivers`: buffers come from the kernel heap, which lives in the
//! direct map, so a buffer's physical address is its virtual address minus the
//! direct-map offset and a heap allocation is physically contiguous.
use core::alloc::Layout;
use core::ptr::NonNull;

use elfin_arch::{KERNEL_VIRT, PAGE_SIZE, PHYS_OFFSET};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// The platform's `Hal`.
pub struct PlatHal;

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
        let Some(layout) = layout(pages) else { return (0, NonNull::dangling()) };
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
        match NonNull::new(p) {
            Some(v) => (virt_to_phys(p as u64), v),
            // `Dma::new` and the queue constructors treat address 0 as failure.
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
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
