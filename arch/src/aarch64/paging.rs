//! arm64 stage-1 page tables: 4 KiB granule, 4 levels, 48-bit virtual addresses.
//! The kernel's hierarchy is loaded into TTBR1 (addresses 0xffff_…), a program's into
//! TTBR0 (addresses below 1 << 48). Tables are reached through the direct map.
//!
//! Besides the generic interface, two things exist only here: a small window of
//! device mappings (MMIO of the UART, RTC, …; [`map_device`]) that every kernel
//! hierarchy shares, and [`boot_map_ram`], which widens the boot direct map before
//! the kernel builds its own tables.

pub use crate::common::LeafSlot;
use crate::common::{
    next_nonzero, read_entry, table_index as index, walk_pages, write_entry, FrameSource, MapError, Perm,
};
use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::registers::{Readable, TTBR0_EL1, TTBR1_EL1};

use super::init::{kernel_va_to_pa, PHYS_OFFSET};

/// Size of a base page.
pub const PAGE_SIZE: u64 = 4096;

const VALID: u64 = 1;
/// Bit 1: table (levels 0–2) or page (level 3) descriptor; clear for a block.
const TABLE_OR_PAGE: u64 = 2;
const ATTR_NORMAL: u64 = 0 << 2;
const ATTR_DEVICE: u64 = 1 << 2;
/// AP[1]: accessible from EL0.
const AP_EL0: u64 = 1 << 6;
/// AP[2]: read-only.
const AP_RO: u64 = 1 << 7;
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// A page-table hierarchy identified by its root frame. `kernel` hierarchies go
/// into TTBR1, the others into TTBR0.
#[derive(Debug)]
pub struct PageTable {
    root: u64,
    kernel: bool,
}

/// Root of the kernel hierarchy made by [`PageTable::new_empty`] (0 = none yet).
static KERNEL_ROOT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// TTBR0 still holds the boot identity map (until the first user hierarchy).
static IDMAP_LIVE: AtomicBool = AtomicBool::new(false);
/// Root of the boot identity map (TTBR0 of every CPU until it loads a program
/// hierarchy; the other CPUs turn their MMU on with it too).
static BOOT_IDMAP: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// CPUs (bit = CPU index) that removed or narrowed a program mapping in a
/// hierarchy they did not have loaded, so without a broadcast TLBI: a thread of
/// that program may run on another CPU with the old translation cached. The
/// kernel's shootdown then calls [`flush_owed_user_tlb`] on the same CPU.
static OWED_FLUSH: AtomicU64 = AtomicU64::new(0);

fn cpu_bit() -> u64 {
    1u64 << (super::init::cpu_id() % 64)
}

/// Called once at boot, while TTBR0 holds the identity map of the image.
pub(super) fn note_boot_idmap() {
    BOOT_IDMAP.store(TTBR0_EL1.get() & ADDR_MASK, Ordering::Relaxed);
    IDMAP_LIVE.store(true, Ordering::Relaxed);
}

fn leaf_bits(perm: Perm) -> u64 {
    let mut b = VALID | AF;
    if perm.device {
        b |= ATTR_DEVICE | PXN | UXN;
    } else {
        b |= ATTR_NORMAL | SH_INNER;
    }
    if !perm.write {
        b |= AP_RO;
    }
    if perm.user {
        // EL0 pages are tagged with the (single) ASID and never executable at EL1.
        b |= AP_EL0 | NG | PXN;
        if !perm.exec {
            b |= UXN;
        }
    } else {
        b |= UXN;
        if !perm.exec {
            b |= PXN;
        }
    }
    b
}

fn perm_of(e: u64) -> Perm {
    let user = e & AP_EL0 != 0;
    Perm {
        read: true,
        write: e & AP_RO == 0,
        exec: if user { e & UXN == 0 } else { e & PXN == 0 },
        user,
        device: (e >> 2) & 7 == 1,
    }
}

/// Makes table updates visible to the walker before the next access.
fn publish() {
    // SAFETY: barriers only order memory accesses.
    unsafe { asm!("dsb ishst", "isb", options(nostack)) };
}

/// Invalidates the TLB entries of one page (any ASID and global entries).
fn flush_page(va: u64) {
    let op = (va >> 12) & ((1 << 44) - 1);
    // SAFETY: TLB maintenance has no memory-safety effect.
    unsafe { asm!("dsb ishst", "tlbi vaae1is, {}", "dsb ish", "isb", in(reg) op, options(nostack)) };
}

/// Physical range [start, end) of frames the VMM filled before the guest ran and the
/// guest never writes (the initrd); see [`set_loaded_by_vmm`].
static LOADED_BY_VMM: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Says which frames the VMM filled before the guest ran and the guest never
/// writes (the initrd). Their instructions need no cache maintenance before they
/// run: the hypervisor makes what the VMM wrote visible to the guest's instruction
/// fetches when it first maps a page to the guest (KVM cleans and invalidates at
/// stage 2; TCG has no caches to keep), and the guest never changes them.
pub fn set_loaded_by_vmm(start: u64, end: u64) {
    LOADED_BY_VMM[0].store(start, Ordering::Relaxed);
    LOADED_BY_VMM[1].store(end, Ordering::Relaxed);
}

/// Makes a freshly written frame safe to execute: cleans its data-cache lines to the
/// point of unification and invalidates the instruction cache (skipped where
/// CTR_EL0.IDC/DIC say the hardware keeps them coherent, and for frames the guest
/// never wrote).
fn sync_icache(pa: u64) {
    if LOADED_BY_VMM[0].load(Ordering::Relaxed) <= pa && pa < LOADED_BY_VMM[1].load(Ordering::Relaxed) {
        return;
    }
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let va = pa + PHYS_OFFSET;
    if ctr & (1 << 28) == 0 {
        let line = 4u64 << ((ctr >> 16) & 0xf);
        let mut a = va;
        while a < va + PAGE_SIZE {
            // SAFETY: cleaning cache lines of a mapped frame has no memory-safety effect.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += line;
        }
    }
    // SAFETY: barriers and I-cache invalidation have no memory-safety effect.
    unsafe { asm!("dsb ish", options(nostack)) };
    if ctr & (1 << 29) == 0 {
        // SAFETY: as above.
        unsafe { asm!("ic ialluis", "dsb ish", options(nostack)) };
    }
    // SAFETY: as above.
    unsafe { asm!("isb", options(nostack)) };
}

// Switches TTBR1 while running from the identity map (x0 = new TTBR1), so that no
// TTBR1 translation happens while old block entries and new page entries could both
// be cached (break-before-make for the kernel's own mappings).
global_asm!(
    r#"
    .section .text.elfin_replace_ttbr1, "ax"
    .p2align 2
    .global elfin_replace_ttbr1
elfin_replace_ttbr1:
    dsb ishst
    msr ttbr1_el1, x0
    isb
    tlbi vmalle1is
    dsb ish
    isb
    ret
    "#
);

extern "C" {
    fn elfin_replace_ttbr1(root: u64);
}

impl PageTable {
    /// The program hierarchy currently loaded in TTBR0.
    pub fn current() -> PageTable {
        PageTable { root: TTBR0_EL1.get() & ADDR_MASK, kernel: false }
    }

    /// The hierarchy whose root table is at `root` (as returned by [`PageTable::root`]).
    pub fn from_root(root: u64) -> PageTable {
        let root = root & ADDR_MASK;
        PageTable { root, kernel: root == KERNEL_ROOT.load(Ordering::Relaxed) }
    }

    /// An empty kernel hierarchy (for TTBR1). It only links the shared device window.
    pub fn new_empty(fs: &mut dyn FrameSource) -> Option<PageTable> {
        let root = fs.alloc_zeroed()?;
        link_device_window(root);
        KERNEL_ROOT.store(root, Ordering::Relaxed);
        Some(PageTable { root, kernel: true })
    }

    /// An empty program hierarchy (for TTBR0); the kernel half lives in TTBR1.
    pub fn new_user(kernel: &PageTable, fs: &mut dyn FrameSource) -> Option<PageTable> {
        let _ = kernel;
        Some(PageTable { root: fs.alloc_zeroed()?, kernel: false })
    }

    /// Physical address of the root table.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Loads this hierarchy: a kernel one into TTBR1, a program one into TTBR0.
    pub fn activate(&self) {
        if self.kernel {
            if IDMAP_LIVE.load(Ordering::Relaxed) {
                let f = kernel_va_to_pa(elfin_replace_ttbr1 as *const () as u64);
                // SAFETY: TTBR0 holds the boot identity map of the image, so the
                // routine runs at its physical address; it touches no memory and
                // returns to the (identically mapped) kernel text.
                unsafe {
                    let f: extern "C" fn(u64) = core::mem::transmute(f as usize);
                    f(self.root);
                }
            } else {
                // SAFETY: the new hierarchy maps the kernel exactly like the old one.
                unsafe { elfin_replace_ttbr1(self.root) };
            }
        } else {
            IDMAP_LIVE.store(false, Ordering::Relaxed);
            let from_idmap = TTBR0_EL1.get() & ADDR_MASK == BOOT_IDMAP.load(Ordering::Relaxed);
            // Every program page is tagged with ASID 0 (nG): dropping this CPU's
            // ASID 0 entries forgets the old program. Only this CPU's: the others
            // keep their own program's translations (a CPU changing a hierarchy
            // that another one runs invalidates with a broadcast TLBI, see `unmap`).
            // SAFETY: TTBR0 only holds program mappings; TLB maintenance has no
            // memory-safety effect.
            unsafe {
                asm!("dsb ishst", "msr ttbr0_el1, {}", "isb", "tlbi aside1, xzr", "dsb nsh", "isb", in(reg) self.root, options(nostack));
            }
            if from_idmap {
                // The identity map's blocks are global (no ASID): this CPU forgets
                // them once, or they would shadow program pages at those addresses.
                // SAFETY: TLB maintenance has no memory-safety effect.
                unsafe { asm!("tlbi vmalle1", "dsb nsh", "isb", options(nostack)) };
            }
        }
    }

    fn is_active(&self) -> bool {
        let cur = if self.kernel { TTBR1_EL1.get() } else { TTBR0_EL1.get() };
        cur & ADDR_MASK == self.root
    }

    /// Walks to the table at `level` (0 = L3) for `va`, creating tables as needed.
    fn walk_create(&mut self, va: u64, level: u32, fs: &mut dyn FrameSource) -> Result<u64, MapError> {
        self.walk_new(va, level, fs).map(|(t, _)| t)
    }

    /// [`PageTable::walk_create`], also saying whether the table was made by this walk
    /// (and so holds no entries).
    fn walk_new(&mut self, va: u64, level: u32, fs: &mut dyn FrameSource) -> Result<(u64, bool), MapError> {
        let mut t = self.root;
        let mut l = 3;
        let mut fresh = false;
        while l > level {
            let idx = index(va, l);
            let e = read_entry(t, idx);
            if e & VALID == 0 {
                let n = fs.alloc_zeroed().ok_or(MapError::NoMemory)?;
                write_entry(t, idx, n | VALID | TABLE_OR_PAGE);
                t = n;
                fresh = true;
            } else if e & TABLE_OR_PAGE == 0 {
                return Err(MapError::Exists);
            } else {
                t = e & ADDR_MASK;
            }
            l -= 1;
        }
        Ok((t, fresh))
    }

    /// Maps the 4 KiB page at `va` to frame `pa`.
    pub fn map(&mut self, va: u64, pa: u64, perm: Perm, fs: &mut dyn FrameSource) -> Result<(), MapError> {
        let t = self.walk_create(va, 0, fs)?;
        let idx = index(va, 0);
        if read_entry(t, idx) & VALID != 0 {
            return Err(MapError::Exists);
        }
        if perm.exec && perm.user {
            sync_icache(pa & ADDR_MASK);
        }
        write_entry(t, idx, (pa & ADDR_MASK) | leaf_bits(perm) | TABLE_OR_PAGE);
        publish();
        Ok(())
    }

    /// The leaf entry of the 4 KiB page at `va`, with the tables above it created as
    /// needed: a page fault checks and fills it with one walk instead of two.
    #[inline]
    pub fn leaf_slot(&mut self, va: u64, user: bool, fs: &mut dyn FrameSource) -> Result<LeafSlot<'_>, MapError> {
        let _ = user;
        // Inline for the common case, every table there already; else the walk
        // that creates them.
        let mut t = self.root;
        for l in [3, 2, 1] {
            let e = read_entry(t, index(va, l));
            if e & VALID == 0 || e & TABLE_OR_PAGE == 0 {
                let table = self.walk_create(va, 0, fs)?;
                return Ok(LeafSlot::new(table, va));
            }
            t = e & ADDR_MASK;
        }
        Ok(LeafSlot::new(t, va))
    }

    /// Maps the 2 MiB block at `va` (aligned) to `pa` (aligned).
    pub fn map_2m(&mut self, va: u64, pa: u64, perm: Perm, fs: &mut dyn FrameSource) -> Result<(), MapError> {
        let t = self.walk_create(va, 1, fs)?;
        write_entry(t, index(va, 1), (pa & ADDR_MASK & !0x1f_ffff) | leaf_bits(perm));
        publish();
        Ok(())
    }

    /// Maps [va, va + len) to [pa, pa + len) (all 2 MiB aligned) with 1 GiB blocks
    /// where `huge_1g` and alignment allow, else 2 MiB blocks, filling each table
    /// in one go: the kernel's direct map of all of RAM.
    pub fn map_blocks(
        &mut self,
        va: u64,
        pa: u64,
        len: u64,
        perm: Perm,
        huge_1g: bool,
        fs: &mut dyn FrameSource,
    ) -> Result<(), MapError> {
        const G512: u64 = 1 << 39;
        const G1: u64 = 1 << 30;
        const M2: u64 = 2 << 20;
        let bits = leaf_bits(perm);
        let (mut va, mut pa, end) = (va, pa, va + len);
        while va < end {
            if huge_1g && va % G1 == 0 && pa % G1 == 0 && end - va >= G1 {
                let t = self.walk_create(va, 2, fs)?;
                // The whole GiBs of the range up to the end of this table.
                let stop = (end & !(G1 - 1)).min((va | (G512 - 1)) + 1);
                let (from, n) = (index(va, 2), ((stop - va) / G1) as usize);
                crate::common::fill_run(t, from, from + n, (pa & ADDR_MASK) | bits, G1);
                va = stop;
                pa += n as u64 * G1;
                continue;
            }
            let t = self.walk_create(va, 1, fs)?;
            // The 2 MiB entries up to the end of this table, or of the range, or of
            // the GiB where a 1 GiB page may start again.
            let stop = end.min((va | (G1 - 1)) + 1);
            let (from, n) = (index(va, 1), (stop - va).div_ceil(M2) as usize);
            crate::common::fill_run(t, from, from + n, (pa & ADDR_MASK) | bits, M2);
            va = stop;
            pa += n as u64 * M2;
        }
        publish();
        Ok(())
    }

    /// Maps the 4 KiB pages of [va, va + len) to [pa, pa + len), none mapped yet,
    /// filling each page table in one go (the kernel image).
    pub fn map_range(
        &mut self,
        va: u64,
        pa: u64,
        len: u64,
        perm: Perm,
        fs: &mut dyn FrameSource,
    ) -> Result<(), MapError> {
        const M2: u64 = 2 << 20;
        let bits = leaf_bits(perm) | TABLE_OR_PAGE;
        let (mut va, mut pa, end) = (va, pa, va + len);
        while va < end {
            let (t, fresh) = self.walk_new(va, 0, fs)?;
            let stop = end.min((va | (M2 - 1)) + 1);
            if !(perm.exec && perm.user) {
                let (from, n) = (index(va, 0), (stop - va).div_ceil(PAGE_SIZE) as usize);
                if !crate::common::fill_leaves(t, from, from + n, pa & ADDR_MASK, bits, fresh) {
                    return Err(MapError::Exists);
                }
                va = stop;
                pa += n as u64 * PAGE_SIZE;
                continue;
            }
            while va < stop {
                let idx = index(va, 0);
                if read_entry(t, idx) & VALID != 0 {
                    return Err(MapError::Exists);
                }
                if perm.exec && perm.user {
                    sync_icache(pa & ADDR_MASK);
                }
                write_entry(t, idx, (pa & ADDR_MASK) | bits);
                va += PAGE_SIZE;
                pa += PAGE_SIZE;
            }
        }
        publish();
        Ok(())
    }

    /// Finds the leaf entry for `va`: (table, index, level).
    fn find(&self, va: u64) -> Option<(u64, usize, u32)> {
        let mut t = self.root;
        let mut l = 3;
        loop {
            let idx = index(va, l);
            let e = read_entry(t, idx);
            if e & VALID == 0 {
                return None;
            }
            if l == 0 || e & TABLE_OR_PAGE == 0 {
                return Some((t, idx, l));
            }
            t = e & ADDR_MASK;
            l -= 1;
        }
    }

    /// The frame and rights of the page containing `va`, if mapped.
    pub fn translate(&self, va: u64) -> Option<(u64, Perm)> {
        let (t, idx, l) = self.find(va)?;
        let e = read_entry(t, idx);
        let size_mask = (1u64 << (12 + 9 * l)) - 1;
        let pa = (e & ADDR_MASK & !size_mask) | (va & size_mask);
        Some((pa, perm_of(e)))
    }

    /// Removes the 4 KiB mapping of `va`, returning its frame.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        let (t, idx, l) = self.find(va)?;
        if l != 0 {
            return None;
        }
        let e = read_entry(t, idx);
        write_entry(t, idx, 0);
        self.forget(va);
        Some(e & ADDR_MASK)
    }

    /// Changes the rights of the 4 KiB page at `va`; false if it is not mapped.
    pub fn protect(&mut self, va: u64, perm: Perm) -> bool {
        let Some((t, idx, l)) = self.find(va) else { return false };
        if l != 0 {
            return false;
        }
        let e = read_entry(t, idx);
        if perm.exec && perm.user && !perm_of(e).exec {
            sync_icache(e & ADDR_MASK);
        }
        write_entry(t, idx, (e & ADDR_MASK) | leaf_bits(perm) | TABLE_OR_PAGE);
        self.forget(va);
        true
    }

    /// After the entry of `va` was removed or changed: the TLBs of every CPU drop
    /// it. Loaded here, the hierarchy may be loaded on other CPUs too (threads of
    /// the same program): one broadcast TLBI by address does it. Not loaded here,
    /// it may still be loaded elsewhere; rather than a broadcast per page (a
    /// process torn down has thousands), this CPU owes one ASID-wide broadcast,
    /// paid by [`flush_owed_user_tlb`] when the kernel shoots down the CPUs that
    /// have it loaded. A kernel hierarchy is on every CPU: always broadcast.
    fn forget(&self, va: u64) {
        if self.kernel || self.is_active() {
            flush_page(va);
        } else {
            publish();
            OWED_FLUSH.fetch_or(cpu_bit(), Ordering::SeqCst);
        }
    }

    /// Calls `f(va, pa, rights)` for every 4 KiB page mapped in [start, end) of a
    /// program hierarchy, in address order, until `f` returns false; unmapped tables
    /// are skipped (a sparse range costs what it maps).
    pub fn for_each_page(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, u64, Perm) -> bool) {
        let next = |e: u64, _l: u32| {
            if e & VALID != 0 && e & TABLE_OR_PAGE != 0 {
                Some(e & ADDR_MASK)
            } else {
                None
            }
        };
        let present = |e: u64| e & VALID != 0;
        walk_pages(self.root, start, end.min(1 << 48), next, present, |va, e| f(va, e & ADDR_MASK, perm_of(e)));
    }

    /// Frees the intermediate tables and the root of a program hierarchy (leaf
    /// frames are the caller's).
    pub fn free_user_tables(self, fs: &mut dyn FrameSource) {
        if self.kernel {
            return;
        }
        self.free_tables_below_root(fs);
        fs.free(self.root);
    }

    /// Frees the intermediate tables of a program hierarchy and clears its root;
    /// the root stays (another CPU may still have it loaded; leaf frames are the
    /// caller's).
    pub fn free_tables_below_root(&self, fs: &mut dyn FrameSource) {
        fn free_level(t: u64, l: u32, fs: &mut dyn FrameSource) {
            if l > 0 {
                let mut i = next_nonzero(t, 0, 512);
                while i < 512 {
                    let e = read_entry(t, i);
                    if e & VALID != 0 && e & TABLE_OR_PAGE != 0 {
                        free_level(e & ADDR_MASK, l - 1, fs);
                    }
                    i = next_nonzero(t, i + 1, 512);
                }
            }
            fs.free(t);
        }
        if self.kernel {
            return;
        }
        for i in 0..512 {
            let e = read_entry(self.root, i);
            if e & VALID != 0 && e & TABLE_OR_PAGE != 0 {
                write_entry(self.root, i, 0);
                free_level(e & ADDR_MASK, 2, fs);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The device window: MMIO pages mapped at boot by the platform code, shared by every
// kernel hierarchy through one L0 slot.

/// Start of the device window (L0 slot 508 of the TTBR1 half).
pub const DEVICE_VIRT: u64 = 0xffff_fe00_0000_0000;
/// Pages in the device window (one L3 table).
const DEVICE_PAGES: usize = 512;

#[repr(C, align(4096))]
struct Table(UnsafeCell<[u64; 512]>);

// SAFETY: the device tables are written only during single-threaded boot (with
// `DEV_LOCK` held) and otherwise read by the MMU.
unsafe impl Sync for Table {}

static DEV_L1: Table = Table(UnsafeCell::new([0; 512]));
static DEV_L2: Table = Table(UnsafeCell::new([0; 512]));
static DEV_L3: Table = Table(UnsafeCell::new([0; 512]));
static DEV_NEXT: AtomicUsize = AtomicUsize::new(0);
static DEV_LOCK: spin::Mutex<DevRuns> = spin::Mutex::new(DevRuns { runs: [(0, 0, 0); DEV_RUNS], n: 0 });

/// Runs of MMIO pages mapped in the device window, as asked for: a repeated ask
/// finds its run here instead of in a scan of every page mapped.
const DEV_RUNS: usize = 64;
struct DevRuns {
    /// (first physical page, pages, first window page) of each run.
    runs: [(u64, usize, usize); DEV_RUNS],
    n: usize,
}

impl DevRuns {
    /// The window page mapping physical page `first`, when `pages` pages from it
    /// lie in one run mapped earlier.
    fn find(&self, first: u64, pages: usize) -> Option<usize> {
        let end = first + (pages as u64) * PAGE_SIZE;
        self.runs.iter().take(self.n).find_map(|&(rfirst, rpages, rstart)| {
            let rend = rfirst + (rpages as u64) * PAGE_SIZE;
            (rfirst <= first && end <= rend).then(|| rstart + ((first - rfirst) / PAGE_SIZE) as usize)
        })
    }
}

fn table_pa(t: &Table) -> u64 {
    kernel_va_to_pa(t.0.get() as u64)
}

fn set(t: &Table, idx: usize, v: u64) {
    // SAFETY: idx < 512 (callers mask it) and writers hold DEV_LOCK.
    unsafe { core::ptr::write_volatile((t.0.get() as *mut u64).add(idx & 511), v) }
}

fn get(t: &Table, idx: usize) -> u64 {
    // SAFETY: as in `set`.
    unsafe { core::ptr::read_volatile((t.0.get() as *const u64).add(idx & 511)) }
}

/// Links the device window into the root table `root`.
fn link_device_window(root: u64) {
    let _g = DEV_LOCK.lock();
    if get(&DEV_L1, 0) == 0 {
        set(&DEV_L2, 0, table_pa(&DEV_L3) | VALID | TABLE_OR_PAGE);
        set(&DEV_L1, 0, table_pa(&DEV_L2) | VALID | TABLE_OR_PAGE);
    }
    write_entry(root, index(DEVICE_VIRT, 3), table_pa(&DEV_L1) | VALID | TABLE_OR_PAGE);
    publish();
}

/// Maps `size` bytes of MMIO at physical `pa` as Device-nGnRE into the device window
/// of every kernel hierarchy; returns the virtual address of `pa`, or None when the
/// window is full. Mapping the same page twice reuses it.
pub fn map_device(pa: u64, size: u64) -> Option<u64> {
    let first = pa & !(PAGE_SIZE - 1);
    let pages = ((pa + size.max(1) - first).div_ceil(PAGE_SIZE)) as usize;
    link_device_window(TTBR1_EL1.get() & ADDR_MASK);
    let mut runs = DEV_LOCK.lock();
    // Already mapped (e.g. the same UART asked twice)?
    if let Some(start) = runs.find(first, pages) {
        return Some(DEVICE_VIRT + (start as u64) * PAGE_SIZE + (pa - first));
    }
    let next = DEV_NEXT.load(Ordering::Relaxed);
    if next + pages > DEVICE_PAGES {
        return None;
    }
    let bits = leaf_bits(Perm { read: true, write: true, exec: false, user: false, device: true }) | TABLE_OR_PAGE;
    for i in 0..pages {
        set(&DEV_L3, next + i, (first + (i as u64) * PAGE_SIZE) | bits);
    }
    DEV_NEXT.store(next + pages, Ordering::Relaxed);
    // With the list full, a later ask for the same pages maps them again.
    let n = runs.n;
    if let Some(slot) = runs.runs.get_mut(n) {
        *slot = (first, pages, next);
        runs.n = n + 1;
    }
    publish();
    Some(DEVICE_VIRT + (next as u64) * PAGE_SIZE + (pa - first))
}

/// Widens the boot direct map (1 GiB blocks, no execute) to cover RAM [start, end),
/// so that the kernel can use any frame before it builds its own hierarchy. Only
/// valid while the boot tables are loaded; physical addresses from 512 GiB on are
/// ignored (the boot direct map has one L1 table).
pub fn boot_map_ram(start: u64, end: u64) {
    let root = TTBR1_EL1.get() & ADDR_MASK;
    let l0 = read_entry(root, index(PHYS_OFFSET, 3));
    if l0 & VALID == 0 || l0 & TABLE_OR_PAGE == 0 {
        return;
    }
    let l1 = l0 & ADDR_MASK;
    let gib = 1u64 << 30;
    let mut a = start & !(gib - 1);
    while a < end && a < (512 * gib) {
        let idx = (a >> 30) as usize;
        if read_entry(l1, idx) & VALID == 0 {
            write_entry(l1, idx, a | VALID | AF | SH_INNER | ATTR_NORMAL | PXN | UXN);
        }
        a += gib;
    }
    publish();
}

/// Makes every CPU drop the program translations this CPU removed or narrowed
/// in a hierarchy it did not have loaded (see `PageTable::forget`), and waits
/// until they have: one ASID-wide TLBI broadcast in the inner-shareable domain.
/// The first call after such changes flushes; the next ones, for the other CPUs
/// of the same shootdown, find nothing owed.
pub fn flush_owed_user_tlb() {
    if OWED_FLUSH.fetch_and(!cpu_bit(), Ordering::SeqCst) & cpu_bit() != 0 {
        flush_user_tlb();
    }
}

/// Drops the TLB entries for program pages (ASID 0) of every CPU in the
/// inner-shareable domain, and waits until they have.
pub fn flush_user_tlb() {
    // SAFETY: TLB maintenance has no memory-safety effect.
    unsafe { asm!("dsb ishst", "tlbi aside1is, xzr", "dsb ish", "isb", options(nostack)) };
}

impl LeafSlot<'_> {
    /// The frame and rights mapped there, if any.
    pub fn get(&self) -> Option<(u64, Perm)> {
        let e = read_entry(self.table, self.idx);
        (e & VALID != 0).then(|| (e & ADDR_MASK, perm_of(e)))
    }

    /// Maps frame `pa` there; the slot is empty (an invalid entry is never cached,
    /// so nothing is invalidated, as in [`PageTable::map`]).
    pub fn set(self, pa: u64, perm: Perm) {
        self.set_leaf(pa, LeafPerm::new(perm));
    }

    /// [`Self::set`] with rights encoded beforehand.
    #[inline]
    pub fn set_leaf(self, pa: u64, perm: LeafPerm) {
        debug_assert!(read_entry(self.table, self.idx) & VALID == 0);
        if perm.user_exec {
            sync_icache(pa & ADDR_MASK);
        }
        write_entry(self.table, self.idx, (pa & ADDR_MASK) | perm.bits);
        publish();
    }
}

/// Rights in the form of a leaf entry, encoded once for many pages (the rights
/// of the VMA a run of page faults fills).
#[derive(Clone, Copy, Debug)]
pub struct LeafPerm {
    bits: u64,
    /// Executable in user mode: the frame's instructions are synchronised first.
    user_exec: bool,
}

impl LeafPerm {
    /// Encodes `perm`.
    pub fn new(perm: Perm) -> LeafPerm {
        LeafPerm { bits: leaf_bits(perm) | TABLE_OR_PAGE, user_exec: perm.exec && perm.user }
    }
}

/// Fills the 4 KiB page at kernel virtual address `va` with zeros: `DC ZVA` by the
/// block size DCZID_EL0 gives (unrolled for 64-byte blocks), or pairs of stores
/// where DC ZVA is prohibited.
///
/// # Safety
/// `va` is page-aligned and maps 4 KiB of writable normal memory that nothing else
/// references while it is zeroed.
pub unsafe fn zero_page(va: u64) {
    let dczid: u64;
    // SAFETY: reading DCZID_EL0 has no side effects.
    unsafe { asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack, preserves_flags)) };
    let block = 4u64 << (dczid & 0xf);
    if dczid & 0x1f == 4 {
        // SAFETY: DC ZVA is permitted and zeroes 64-byte blocks (the common size):
        // 64 of them, unrolled, cover exactly the caller's page.
        unsafe {
            asm!(
                ".rept 63",
                "dc zva, {p}",
                "add {p}, {p}, #64",
                ".endr",
                "dc zva, {p}",
                p = inout(reg) va => _,
                options(nostack)
            );
        }
    } else if dczid & 0x10 == 0 && (16..=512).contains(&block) {
        // SAFETY: DC ZVA is permitted (DZP clear); each one zeroes one aligned block of
        // `block` bytes, a power of two with 8 blocks dividing 4096, all inside the
        // caller's page.
        unsafe {
            asm!(
                "2: dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "dc zva, {p}",
                "add {p}, {p}, {b}",
                "cmp {p}, {e}",
                "b.lo 2b",
                p = inout(reg) va => _,
                b = in(reg) block,
                e = in(reg) va + PAGE_SIZE,
                options(nostack)
            );
        }
    } else {
        // SAFETY: 64 bytes per iteration by stp pairs, 64 iterations: exactly the page.
        unsafe {
            asm!(
                "2: stp xzr, xzr, [{p}]",
                "stp xzr, xzr, [{p}, #16]",
                "stp xzr, xzr, [{p}, #32]",
                "stp xzr, xzr, [{p}, #48]",
                "add {p}, {p}, #64",
                "cmp {p}, {e}",
                "b.lo 2b",
                p = inout(reg) va => _,
                e = in(reg) va + PAGE_SIZE,
                options(nostack)
            );
        }
    }
}
