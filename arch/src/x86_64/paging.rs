//! 4-level x86_64 page tables, reached through the direct map.

pub use crate::common::LeafSlot;
use crate::common::{
    next_nonzero, read_entry, table_index as index, walk_pages, write_entry, FrameSource, MapError, Perm,
};
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Size of a base page.
pub const PAGE_SIZE: u64 = 4096;

const P: u64 = 1;
const RW: u64 = 2;
const US: u64 = 4;
const PCD: u64 = 16;
const PS: u64 = 128;
const G: u64 = 256;
const NX: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The kernel-half root entries (256..512, a bit each from 256) a walk has made:
/// the ones a user hierarchy shares. The kernel page table is complete before the
/// first user hierarchy is made, and user walks never reach the kernel half.
static KERNEL_ROOTS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Records that kernel-half root entry `idx` is in use.
#[cold]
#[inline(never)]
fn note_kernel_root(idx: usize) {
    if let Some(w) = KERNEL_ROOTS.get(idx.wrapping_sub(256) / 64) {
        w.fetch_or(1 << (idx % 64), Ordering::Relaxed);
    }
}

/// A page-table hierarchy identified by its root frame.
#[derive(Debug)]
pub struct PageTable {
    root: u64,
}

fn leaf_bits(perm: Perm) -> u64 {
    let mut b = P;
    if perm.write {
        b |= RW;
    }
    if perm.user {
        b |= US;
    } else {
        b |= G;
    }
    if !perm.exec {
        b |= NX;
    }
    if perm.device {
        b |= PCD;
    }
    b
}

fn perm_of(e: u64) -> Perm {
    Perm { read: true, write: e & RW != 0, exec: e & NX == 0, user: e & US != 0, device: e & PCD != 0 }
}

fn invlpg(va: u64) {
    // SAFETY: invalidating a TLB entry has no memory-safety effect.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack)) };
}

impl PageTable {
    /// The hierarchy currently loaded in CR3.
    pub fn current() -> PageTable {
        let cr3: u64;
        // SAFETY: reading CR3 has no side effects.
        unsafe { asm!("mov {}, cr3", out(reg) cr3) };
        PageTable { root: cr3 & ADDR_MASK }
    }

    /// The hierarchy whose root table is at `root` (as returned by [`PageTable::root`]).
    pub fn from_root(root: u64) -> PageTable {
        PageTable { root: root & ADDR_MASK }
    }

    /// An empty hierarchy (no mappings at all).
    pub fn new_empty(fs: &mut dyn FrameSource) -> Option<PageTable> {
        Some(PageTable { root: fs.alloc_zeroed()? })
    }

    /// A user hierarchy sharing the kernel half of `kernel`.
    pub fn new_user(kernel: &PageTable, fs: &mut dyn FrameSource) -> Option<PageTable> {
        let root = fs.alloc_zeroed()?;
        // Only the kernel half's root entries that were ever made are copied
        // (the direct map's and the image's), not all 256 of them.
        for (w, bits) in KERNEL_ROOTS.iter().enumerate() {
            let mut bits = bits.load(Ordering::Relaxed);
            while bits != 0 {
                let i = 256 + w * 64 + bits.trailing_zeros() as usize;
                write_entry(root, i, read_entry(kernel.root, i));
                bits &= bits - 1;
            }
        }
        Some(PageTable { root })
    }

    /// Physical address of the root table.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Loads this hierarchy into CR3.
    pub fn activate(&self) {
        // SAFETY: the hierarchy maps the kernel half identically to every other one.
        unsafe { asm!("mov cr3, {}", in(reg) self.root, options(nostack)) };
    }

    fn is_active(&self) -> bool {
        PageTable::current().root == self.root
    }

    /// Walks to the table at `level` (0 = PT) for `va`, creating tables as needed.
    fn walk_create(&mut self, va: u64, level: u32, user: bool, fs: &mut dyn FrameSource) -> Result<u64, MapError> {
        self.walk_new(va, level, user, fs).map(|(t, _)| t)
    }

    /// [`PageTable::walk_create`], also saying whether the table was made by this walk
    /// (and so holds no entries).
    fn walk_new(&mut self, va: u64, level: u32, user: bool, fs: &mut dyn FrameSource) -> Result<(u64, bool), MapError> {
        let mut t = self.root;
        let mut l = 3;
        let mut fresh = false;
        while l > level {
            let idx = index(va, l);
            let e = read_entry(t, idx);
            if e & P == 0 {
                let n = fs.alloc_zeroed().ok_or(MapError::NoMemory)?;
                write_entry(t, idx, n | P | RW | if user { US } else { 0 });
                if l == 3 && idx >= 256 {
                    note_kernel_root(idx);
                }
                t = n;
                fresh = true;
            } else if e & PS != 0 {
                return Err(MapError::Exists);
            } else {
                if user && e & US == 0 {
                    write_entry(t, idx, e | US);
                }
                t = e & ADDR_MASK;
            }
            l -= 1;
        }
        Ok((t, fresh))
    }

    /// Maps the 4 KiB page at `va` to frame `pa`.
    pub fn map(&mut self, va: u64, pa: u64, perm: Perm, fs: &mut dyn FrameSource) -> Result<(), MapError> {
        let t = self.walk_create(va, 0, perm.user, fs)?;
        let idx = index(va, 0);
        if read_entry(t, idx) & P != 0 {
            return Err(MapError::Exists);
        }
        write_entry(t, idx, (pa & ADDR_MASK) | leaf_bits(perm));
        Ok(())
    }

    /// The leaf entry of the 4 KiB page at `va`, with the tables above it created as
    /// needed: a page fault checks and fills it with one walk instead of two.
    #[inline]
    pub fn leaf_slot(&mut self, va: u64, user: bool, fs: &mut dyn FrameSource) -> Result<LeafSlot<'_>, MapError> {
        // Inline for the common case, every table there already; else the walk
        // that creates them.
        let mut t = self.root;
        for l in [3, 2, 1] {
            let e = read_entry(t, index(va, l));
            if e & P == 0 || e & PS != 0 || (user && e & US == 0) {
                let table = self.walk_create(va, 0, user, fs)?;
                return Ok(LeafSlot::new(table, va));
            }
            t = e & ADDR_MASK;
        }
        Ok(LeafSlot::new(t, va))
    }

    /// Maps the 2 MiB page at `va` (aligned) to `pa` (aligned).
    pub fn map_2m(&mut self, va: u64, pa: u64, perm: Perm, fs: &mut dyn FrameSource) -> Result<(), MapError> {
        let t = self.walk_create(va, 1, perm.user, fs)?;
        write_entry(t, index(va, 1), (pa & ADDR_MASK) | leaf_bits(perm) | PS);
        Ok(())
    }

    /// Maps [va, va + len) to [pa, pa + len) (all 2 MiB aligned) with 1 GiB pages
    /// where `huge_1g` (the CPU has them) and alignment allow, else 2 MiB pages,
    /// filling each table in one go: the kernel's direct map of all of RAM.
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
        let bits = leaf_bits(perm) | PS;
        let (mut va, mut pa, end) = (va, pa, va + len);
        while va < end {
            if huge_1g && va % G1 == 0 && pa % G1 == 0 && end - va >= G1 {
                let t = self.walk_create(va, 2, perm.user, fs)?;
                // The whole GiBs of the range up to the end of this table.
                let stop = (end & !(G1 - 1)).min((va | (G512 - 1)) + 1);
                let (from, n) = (index(va, 2), ((stop - va) / G1) as usize);
                crate::common::fill_run(t, from, from + n, (pa & ADDR_MASK) | bits, G1);
                va = stop;
                pa += n as u64 * G1;
                continue;
            }
            let t = self.walk_create(va, 1, perm.user, fs)?;
            // The 2 MiB entries up to the end of this table, or of the range, or of
            // the GiB where a 1 GiB page may start again.
            let stop = end.min((va | (G1 - 1)) + 1);
            let (from, n) = (index(va, 1), (stop - va).div_ceil(M2) as usize);
            crate::common::fill_run(t, from, from + n, (pa & ADDR_MASK) | bits, M2);
            va = stop;
            pa += n as u64 * M2;
        }
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
        let bits = leaf_bits(perm);
        let (mut va, mut pa, end) = (va, pa, va + len);
        while va < end {
            let (t, fresh) = self.walk_new(va, 0, perm.user, fs)?;
            let stop = end.min((va | (M2 - 1)) + 1);
            let (from, n) = (index(va, 0), (stop - va).div_ceil(PAGE_SIZE) as usize);
            if !crate::common::fill_leaves(t, from, from + n, pa & ADDR_MASK, bits, fresh) {
                return Err(MapError::Exists);
            }
            va = stop;
            pa += n as u64 * PAGE_SIZE;
        }
        Ok(())
    }

    /// Finds the leaf entry for `va`: (table, index, level).
    fn find(&self, va: u64) -> Option<(u64, usize, u32)> {
        let mut t = self.root;
        let mut l = 3;
        loop {
            let idx = index(va, l);
            let e = read_entry(t, idx);
            if e & P == 0 {
                return None;
            }
            if l == 0 || e & PS != 0 {
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
        Some((pa, Perm { read: true, write: e & RW != 0, exec: e & NX == 0, user: e & US != 0, device: e & PCD != 0 }))
    }

    /// Removes the 4 KiB mapping of `va`, returning its frame.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        let (t, idx, l) = self.find(va)?;
        if l != 0 {
            return None;
        }
        let e = read_entry(t, idx);
        write_entry(t, idx, 0);
        if self.is_active() {
            invlpg(va);
        }
        Some(e & ADDR_MASK)
    }

    /// Changes the rights of the 4 KiB page at `va`; false if it is not mapped.
    pub fn protect(&mut self, va: u64, perm: Perm) -> bool {
        let Some((t, idx, l)) = self.find(va) else { return false };
        if l != 0 {
            return false;
        }
        let e = read_entry(t, idx);
        write_entry(t, idx, (e & ADDR_MASK) | leaf_bits(perm));
        if self.is_active() {
            invlpg(va);
        }
        true
    }

    /// Calls `f(va, pa, rights)` for every 4 KiB page mapped in [start, end) of the
    /// user half, in address order, until `f` returns false; unmapped tables are
    /// skipped (a sparse range costs what it maps).
    pub fn for_each_page(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, u64, Perm) -> bool) {
        let next = |e: u64, _l: u32| if e & P != 0 && e & PS == 0 { Some(e & ADDR_MASK) } else { None };
        let present = |e: u64| e & P != 0;
        walk_pages(self.root, start, end.min(1 << 47), next, present, |va, e| f(va, e & ADDR_MASK, perm_of(e)));
    }

    /// Frees the user-half intermediate tables and the root (leaf frames are the caller's).
    pub fn free_user_tables(self, fs: &mut dyn FrameSource) {
        self.free_tables_below_root(fs);
        fs.free(self.root);
    }

    /// Frees the user-half intermediate tables and clears the root's user entries;
    /// the root stays (another CPU may still have it loaded; leaf frames are the
    /// caller's).
    pub fn free_tables_below_root(&self, fs: &mut dyn FrameSource) {
        fn free_level(t: u64, l: u32, fs: &mut dyn FrameSource) {
            // A leaf table's entries map pages, which are the caller's: only the
            // levels above are read.
            if l > 0 {
                let mut i = next_nonzero(t, 0, 512);
                while i < 512 {
                    let e = read_entry(t, i);
                    if e & P != 0 && e & PS == 0 {
                        free_level(e & ADDR_MASK, l - 1, fs);
                    }
                    i = next_nonzero(t, i + 1, 512);
                }
            }
            fs.free(t);
        }
        for i in 0..256 {
            let e = read_entry(self.root, i);
            if e & P != 0 {
                write_entry(self.root, i, 0);
                free_level(e & ADDR_MASK, 2, fs);
            }
        }
    }
}

impl LeafSlot<'_> {
    /// The frame and rights mapped there, if any.
    pub fn get(&self) -> Option<(u64, Perm)> {
        let e = read_entry(self.table, self.idx);
        (e & P != 0).then(|| (e & ADDR_MASK, perm_of(e)))
    }

    /// Maps frame `pa` there; the slot is empty (nothing to invalidate: the TLB
    /// caches no absent entry).
    pub fn set(self, pa: u64, perm: Perm) {
        self.set_leaf(pa, LeafPerm::new(perm));
    }

    /// [`Self::set`] with rights encoded beforehand.
    #[inline]
    pub fn set_leaf(self, pa: u64, perm: LeafPerm) {
        debug_assert!(read_entry(self.table, self.idx) & P == 0);
        write_entry(self.table, self.idx, (pa & ADDR_MASK) | perm.0);
    }
}

/// Rights in the form of a leaf entry, encoded once for many pages (the rights
/// of the VMA a run of page faults fills).
#[derive(Clone, Copy, Debug)]
pub struct LeafPerm(u64);

impl LeafPerm {
    /// Encodes `perm`.
    pub fn new(perm: Perm) -> LeafPerm {
        LeafPerm(leaf_bits(perm))
    }
}

/// Drops this CPU's TLB entries for non-global pages (the user half), as another
/// CPU asked after changing a page table this CPU may have loaded.
pub fn flush_user_tlb() {
    // SAFETY: reloading CR3 with its own value only invalidates non-global TLB entries.
    unsafe { asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack)) };
}

/// Whether [`zero_page`] stores with AVX: set once the boot CPU has enabled AVX
/// state and the CPU reports which state is in use (XGETBV with ECX=1).
static ZERO_AVX: AtomicBool = AtomicBool::new(false);

/// Lets [`zero_page`] use AVX stores (see [`super::cpu::avx_zeroing`]).
pub(crate) fn choose_zeroing(avx_with_xinuse: bool) {
    ZERO_AVX.store(avx_with_xinuse, Ordering::Relaxed);
}

/// Says which frames the VMM filled before the guest ran and the guest never
/// writes (the initrd). Nothing to do here: x86 keeps instruction fetches coherent
/// with stores.
pub fn set_loaded_by_vmm(_start: u64, _end: u64) {}

/// Fills the 4 KiB page at kernel virtual address `va` with zeros: with 32-byte AVX
/// stores where the CPU has them (128 stores; `rep stosq` is 512 iterations, each
/// a separate instruction under QEMU's emulator), else `rep stosq`.
///
/// # Safety
/// `va` is page-aligned and maps 4 KiB of writable memory that nothing else
/// references while it is zeroed.
pub unsafe fn zero_page(va: u64) {
    if ZERO_AVX.load(Ordering::Relaxed) {
        // SAFETY: as for this function; AVX is enabled (see `choose_zeroing`).
        return unsafe { zero_page_avx(va) };
    }
    // SAFETY: the caller gives a writable, unaliased page; rep stosq writes exactly
    // rcx = 512 quadwords from rdi upwards (DF is clear in the kernel, as the ABI says).
    unsafe {
        asm!("rep stosq", inout("rcx") PAGE_SIZE / 8 => _, inout("rdi") va => _, in("rax") 0u64,
             options(nostack, preserves_flags));
    }
}

/// [`zero_page`] through ymm0. The kernel itself never uses vector registers, and
/// the running thread's are live in the CPU (they are saved only when it leaves
/// the CPU, and the kernel is not preempted), so ymm0 is saved and put back. When
/// the thread had no AVX state in use (XINUSE bit 2 clear), VZEROUPPER returns the
/// upper halves to that state, so that its SSE code pays no penalty for our use.
///
/// # Safety
/// As [`zero_page`]; AVX state is enabled in XCR0 and XGETBV with ECX=1 exists.
unsafe fn zero_page_avx(va: u64) {
    let mut save = [0u64; 4];
    // SAFETY: the caller gives a writable, unaliased, page-aligned page: the stores
    // cover [va, va + 4096) in aligned 32-byte pieces. `save` is 32 bytes of our
    // stack; ymm0 holds its old value again at the end; eax/ecx/edx are declared.
    unsafe {
        asm!(
        "mov ecx, 1",
        "xgetbv",
        "vmovdqu ymmword ptr [{save}], ymm0",
        "vpxor xmm0, xmm0, xmm0",
        "mov {i}, -4096",
        "2:",
        "vmovdqa ymmword ptr [{end} + {i} + 0], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 32], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 64], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 96], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 128], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 160], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 192], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 224], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 256], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 288], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 320], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 352], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 384], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 416], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 448], ymm0",
        "vmovdqa ymmword ptr [{end} + {i} + 480], ymm0",
        "add {i}, 512",
        "jnz 2b",
        "vmovdqu ymm0, ymmword ptr [{save}]",
        "test al, 4",
        "jnz 3f",
        "vzeroupper",
        "3:",
        save = in(reg) save.as_mut_ptr(),
        end = in(reg) va + PAGE_SIZE,
        i = out(reg) _,
        out("eax") _,
        out("ecx") _,
        out("edx") _,
        options(nostack),
        );
    }
}
