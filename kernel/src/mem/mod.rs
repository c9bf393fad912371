//! Physical memory: the frame allocator, the kernel heap and the kernel's own
//! page tables (direct map of RAM, kernel image with W^X).
pub mod frames;
pub mod heap;
pub mod vm;

use elfin_arch::{kernel_va_to_pa, PageTable, Perm, PAGE_SIZE};
use elfin_plat::{BootInfo, MemKind};

extern "C" {
    static __kernel_phys_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

static KERNEL_PT: spin::Once<u64> = spin::Once::new();

/// Root of the kernel page table (shared kernel half for every address space).
pub fn kernel_page_table() -> PageTable {
    // The kernel table is built once at boot and never freed.
    let root = *KERNEL_PT.get().expect("kernel page table before mem::init");
    PageTable::from_root(root)
}

/// Sets up frames, heap and the final kernel page tables.
pub fn init(info: &BootInfo) {
    // SAFETY: linker-script symbols; only their addresses are used.
    let (kstart, text_s, text_e, ro_s, ro_e, data_s, data_e) = unsafe {
        (
            kernel_va_to_pa(sym(&__kernel_phys_start)),
            sym(&__text_start),
            sym(&__text_end),
            sym(&__rodata_start),
            sym(&__rodata_end),
            sym(&__data_start),
            sym(&__data_end),
        )
    };
    let kend_phys = kernel_va_to_pa(data_e);
    let mut reserved: [(u64, u64); 3] = [(kstart, kend_phys), (0, 0), (0, 0)];
    // The initrd, and the device tree that the command line points into.
    for (slot, m) in reserved.iter_mut().skip(1).zip([info.initrd, info.dtb]) {
        if let Some(m) = m {
            *slot = (m.paddr & !(PAGE_SIZE - 1), (m.paddr + m.size + PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
        }
    }
    let mut max_ram = 0;
    for r in info.regions().iter().filter(|r| r.kind == MemKind::Usable) {
        // Keep the first MiB (firmware data, boot structures) out of the allocator.
        let start = r.start.max(0x10_0000).next_multiple_of(PAGE_SIZE);
        let end = (r.start + r.size) & !(PAGE_SIZE - 1);
        max_ram = max_ram.max(end);
        frames::add_range_excluding(start, end, &reserved);
    }
    heap::init();

    // Final kernel page table: direct map of RAM (2 MiB pages, no execute) and the
    // kernel image in 4 KiB pages with text RX, rodata R, data RW.
    let mut fa = frames::FrameAlloc;
    let mut pt = PageTable::new_empty(&mut fa).expect("no memory for the kernel page table");
    let rw = Perm { read: true, write: true, exec: false, user: false, device: false };
    let max = max_ram.next_multiple_of(2 << 20);
    let mut pa = 0;
    while pa < max {
        pt.map_2m(elfin_arch::phys_to_virt(pa), pa, rw, &mut fa).expect("direct map");
        pa += 2 << 20;
    }
    // Device windows are mapped as device memory even where the direct map already
    // covers them (RAM above the PCI hole, the default now): this replaces the
    // direct map's cacheable entries there.
    let dev = Perm { read: true, write: true, exec: false, user: false, device: true };
    for &(base, size) in elfin_plat::DEVICE_WINDOWS {
        let mut pa = base;
        while pa < base + size {
            pt.map_2m(elfin_arch::phys_to_virt(pa), pa, dev, &mut fa).expect("device window");
            pa += 2 << 20;
        }
    }
    let map_range = |pt: &mut PageTable, fa: &mut frames::FrameAlloc, s: u64, e: u64, perm: Perm| {
        let mut va = s;
        while va < e {
            pt.map(va, kernel_va_to_pa(va), perm, fa).expect("kernel image map");
            va += PAGE_SIZE;
        }
    };
    let rx = Perm { read: true, write: false, exec: true, user: false, device: false };
    let ro = Perm { read: true, write: false, exec: false, user: false, device: false };
    map_range(&mut pt, &mut fa, text_s, text_e, rx);
    map_range(&mut pt, &mut fa, ro_s, ro_e, ro);
    map_range(&mut pt, &mut fa, data_s, data_e, rw);
    // The boot section (PVH entry, boot tables) is not needed any more.
    pt.activate();
    KERNEL_PT.call_once(|| pt.root());
}

/// Frames per kernel stack.
pub const KSTACK_FRAMES: usize = 16;

fn kstack_layout() -> core::alloc::Layout {
    let size = KSTACK_FRAMES * PAGE_SIZE as usize;
    match core::alloc::Layout::from_size_align(size, PAGE_SIZE as usize) {
        Ok(l) => l,
        Err(_) => unreachable!("a page-aligned size is a valid layout"),
    }
}

/// Allocates a kernel stack and returns its top (stops the VM when memory is out).
pub fn alloc_kernel_stack() -> u64 {
    match try_alloc_kernel_stack() {
        Some(top) => top,
        None => elfin_plat::console::early_panic("elfin: out of memory for a kernel stack"),
    }
}

/// Allocates a kernel stack and returns its top. Stacks come from the kernel heap,
/// whose buddy allocator joins freed stacks again, so that thread churn never runs
/// out of contiguous memory (the frame allocator only hands out contiguous runs
/// from memory never used before).
pub fn try_alloc_kernel_stack() -> Option<u64> {
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(kstack_layout()) };
    if p.is_null() {
        return None;
    }
    Some(p as u64 + (KSTACK_FRAMES as u64) * PAGE_SIZE)
}

/// Frees a kernel stack allocated by [`try_alloc_kernel_stack`].
pub fn free_kernel_stack(top: u64) {
    let base = top - (KSTACK_FRAMES as u64) * PAGE_SIZE;
    // SAFETY: `base` was returned by `alloc` with this layout in try_alloc_kernel_stack
    // and the stack is no longer in use (its thread has switched away for good).
    unsafe { alloc::alloc::dealloc(base as *mut u8, kstack_layout()) };
}
