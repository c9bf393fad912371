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
    let mut reserved: [(u64, u64); 2] = [(kstart, kend_phys), (0, 0)];
    // The initrd stays; the boot data around it does not: the command line is
    // copied out first (on arm64 it lies in the device tree, whose 1 MiB goes to the
    // allocator like the rest of RAM; the platform has read what it needs from it).
    let _ = elfin_plat::cmdline(info);
    if let Some(m) = info.initrd {
        reserved[1] = (m.paddr & !(PAGE_SIZE - 1), (m.paddr + m.size + PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
    }
    if let Some(m) = info.initrd {
        frames::set_initrd(m.paddr, m.paddr.saturating_add(m.size));
        // The kernel never writes the initrd's frames (programs map them read-only
        // and copy on write), so running code from them needs no cache upkeep.
        elfin_arch::set_loaded_by_vmm(m.paddr, m.paddr.saturating_add(m.size));
    }
    let mut max_ram = 0;
    for r in info.regions().iter().filter(|r| r.kind == MemKind::Usable) {
        // Low RAM the platform still needs (firmware data, the AP trampoline) stays
        // out of the allocator.
        let start = r.start.max(elfin_plat::low_reserved()).next_multiple_of(PAGE_SIZE);
        let end = (r.start + r.size) & !(PAGE_SIZE - 1);
        max_ram = max_ram.max(end);
        frames::add_range_excluding(start, end, &reserved);
    }
    heap::init();
    frames::init_refs(max_ram);
    vm::set_kernel_reserve();

    // Final kernel page table: direct map of RAM (1 GiB pages where the CPU has
    // them, else 2 MiB; no execute) and the kernel image in 4 KiB pages with text
    // RX, rodata R, data RW.
    let mut fa = frames::FrameAlloc;
    let mut pt = PageTable::new_empty(&mut fa).expect("no memory for the kernel page table");
    let rw = Perm { read: true, write: true, exec: false, user: false, device: false };
    let dev = Perm { read: true, write: true, exec: false, user: false, device: true };
    let huge = elfin_arch::has_1g_pages();
    let max = max_ram.next_multiple_of(2 << 20);
    // Device windows are mapped as device memory even where the direct map would
    // cover them (RAM above the PCI hole): the GiBs they touch get 2 MiB pages, the
    // windows themselves device entries, what the memory map lists in the rest of
    // those GiBs normal ones.
    const GIB: u64 = 1 << 30;
    let touches_device = |g: u64| elfin_plat::DEVICE_WINDOWS.iter().any(|&(b, sz)| b < g + GIB && g < b + sz);
    let in_window = |pa: u64| elfin_plat::DEVICE_WINDOWS.iter().any(|&(b, sz)| b <= pa && pa < b + sz);
    // Whether the 2 MiB at `pa` hold anything of the memory map (RAM, ACPI tables,
    // firmware data).
    let listed = |pa: u64| info.regions().iter().any(|r| r.start < pa + (2 << 20) && pa < r.start + r.size);
    let mut pa = 0;
    while pa < max {
        let mut g_end = (pa + GIB).min(max);
        if !touches_device(pa) {
            // The GiBs clear of device windows from here on, in one call.
            while g_end < max && !touches_device(g_end) {
                g_end = (g_end + GIB).min(max);
            }
            pt.map_blocks(elfin_arch::phys_to_virt(pa), pa, g_end - pa, rw, huge, &mut fa).expect("direct map");
        } else {
            // Runs of 2 MiB pages of one kind, each filled in one call, between the
            // edges of the windows and of the memory map's regions. The rest of the
            // hole below 4 GiB (neither a window nor in the memory map) stays
            // unmapped: filling it cost 500 entries once RAM went past the hole.
            const M2: u64 = 2 << 20;
            let mut edges = [g_end; 2 + 2 * (elfin_plat::MAX_MEM_REGIONS + 4)];
            let mut n = 0;
            let windows = elfin_plat::DEVICE_WINDOWS.iter().map(|&(b, sz)| (b, b + sz));
            let regions = info.regions().iter().map(|r| (r.start, r.start + r.size));
            for (s, e) in core::iter::once((pa, pa)).chain(windows).chain(regions) {
                for x in [s & !(M2 - 1), e.next_multiple_of(M2)] {
                    if let Some(slot) = edges.get_mut(n).filter(|_| x > pa && x < g_end) {
                        *slot = x;
                        n += 1;
                    }
                }
            }
            let edges = edges.get_mut(..n).unwrap_or(&mut []);
            edges.sort_unstable();
            let mut run = pa;
            for end in edges.iter().copied().chain(core::iter::once(g_end)) {
                if end <= run {
                    continue;
                }
                let perm = if in_window(run) { Some(dev) } else { listed(run).then_some(rw) };
                if let Some(perm) = perm {
                    pt.map_blocks(elfin_arch::phys_to_virt(run), run, end - run, perm, false, &mut fa)
                        .expect("direct map");
                }
                run = end;
            }
        }
        pa = g_end;
    }
    for &(base, size) in elfin_plat::DEVICE_WINDOWS.iter().filter(|&&(b, _)| b >= max) {
        let (s, e) = (base & !((2 << 20) - 1), (base + size).next_multiple_of(2 << 20));
        pt.map_blocks(elfin_arch::phys_to_virt(s), s, e - s, dev, false, &mut fa).expect("device window");
    }
    let map_range = |pt: &mut PageTable, fa: &mut frames::FrameAlloc, s: u64, e: u64, perm: Perm| {
        pt.map_range(s, kernel_va_to_pa(s), e - s, perm, fa).expect("kernel image map");
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
