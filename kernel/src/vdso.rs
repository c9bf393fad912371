//! The vDSO: the architecture's image (`elfin_arch::VDSO_IMAGE`) and the [vvar]
//! page it reads the clock parameters from, both kernel pages mapped into every
//! program at exec (never copied, never freed per process), as Linux's vDSO.
//!
//! The [vvar] page holds one seqlock-protected record (layout in
//! `arch/vdso/vdso_data.h`): the counter value at monotonic time 0, the
//! cycle-to-ns multiplier (shift 32, the kernel's own formula in `time.rs`), the
//! wall-clock offset, whether user mode may read the counter at all, the clock
//! ids it may answer, and per clock id the offset added to the monotonic time
//! (or none: the system call answers).
//! `time.rs` republishes it whenever one of them changes.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use elfin_arch::PAGE_SIZE;

use crate::mem::frames;
use crate::mem::vm::{AddrSpace, Area, Backing, Prot, VmaName};

/// The record of the [vvar] page (`struct vdso_data` in arch/vdso/vdso_data.h).
#[repr(C)]
struct VdsoData {
    seq: AtomicU32,
    clock_mode: AtomicU32,
    cycle_base: AtomicU64,
    mult: AtomicU64,
    shift: AtomicU32,
    cpu_mode: AtomicU32,
    wall_base: AtomicU64,
    clocks: AtomicU32,
    pad: AtomicU32,
    coarse_res: AtomicU64,
    offset: [AtomicU64; NCLOCKS],
}

/// Clock ids with an entry in `offset` (`VDSO_NCLOCKS`).
const NCLOCKS: usize = 12;
/// An `offset` entry for a clock the vDSO leaves to the system call (`VDSO_NO_CLOCK`).
const NO_CLOCK: u64 = u64::MAX;

/// The clock ids the vDSO answers from the counter: MONOTONIC, MONOTONIC_RAW,
/// MONOTONIC_COARSE, BOOTTIME (all the same clock here, `time::monotonic_ns`)...
const MONO_CLOCKS: u32 = 1 << 1 | 1 << 4 | 1 << 6 | 1 << 7;
/// ... and REALTIME, REALTIME_COARSE, TAI (`time::realtime_ns`), once the wall
/// clock was read.
const REAL_CLOCKS: u32 = 1 << 0 | 1 << 5 | 1 << 11;

/// The kernel's pages: the [vvar] frame, then the image's frames.
struct Pages {
    vvar: Arc<[u64]>,
    text: Arc<[u64]>,
}

static PAGES: spin::Once<Option<Pages>> = spin::Once::new();
/// Serialises the writers of the record.
static WRITER: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// The pages, made on first use (None when there is no image or no memory).
fn pages() -> Option<&'static Pages> {
    PAGES
        .call_once(|| {
            let image = elfin_arch::VDSO_IMAGE;
            if image.is_empty() {
                return None;
            }
            let vvar = frames::alloc_zeroed()?;
            // The image's own pages in the kernel image, padded with zeros: nothing
            // is copied, and they are never freed.
            let pages = &elfin_arch::VDSO_PAGES.0;
            let first = elfin_arch::kernel_va_to_pa(pages.as_ptr() as u64);
            let end = first + pages.len() as u64;
            frames::set_kernel_shared(first, end);
            let text: Vec<u64> = (first..end).step_by(PAGE_SIZE as usize).collect();
            Some(Pages { vvar: Arc::from([vvar]), text: Arc::from(text) })
        })
        .as_ref()
        .inspect(|_| update())
}

/// Makes the pages now (at boot) rather than at the first exec.
pub fn init() {
    let _ = pages();
}

/// The record, once the pages exist.
fn data() -> Option<&'static VdsoData> {
    let p = PAGES.get()?.as_ref()?;
    let pa = *p.vvar.first()?;
    // SAFETY: the frame is the kernel's for good (allocated once, never freed),
    // page-aligned and zeroed, reached through the direct map; the record is
    // made of atomics, which user mode only reads.
    Some(unsafe { &*(elfin_arch::phys_to_virt(pa) as *const VdsoData) })
}

/// Rewrites the record from the kernel's clock state (`time.rs`): called when the
/// counter's frequency becomes known and when the wall clock is read or set.
pub fn update() {
    let Some(d) = data() else { return };
    let p = crate::time::vdso_params();
    let _g = WRITER.lock();
    let seq = d.seq.load(Ordering::Relaxed);
    d.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    let mode = if p.mult != 0 { elfin_arch::vdso_clock_mode() } else { 0 };
    d.clock_mode.store(mode, Ordering::Relaxed);
    d.cycle_base.store(p.cycle_base, Ordering::Relaxed);
    d.mult.store(p.mult, Ordering::Relaxed);
    d.shift.store(p.shift, Ordering::Relaxed);
    d.cpu_mode.store(elfin_arch::vdso_cpu_mode(), Ordering::Relaxed);
    d.wall_base.store(p.wall_base.unwrap_or(0), Ordering::Relaxed);
    let clocks = match (mode, p.wall_base) {
        (0, _) => 0,
        (_, None) => MONO_CLOCKS,
        (_, Some(_)) => MONO_CLOCKS | REAL_CLOCKS,
    };
    d.clocks.store(clocks, Ordering::Relaxed);
    // Per clock id what the vDSO adds to the monotonic time, so that it needs no
    // test of the clock's kind (the realtime ones add the wall-clock base).
    let wall = p.wall_base.unwrap_or(0);
    for (id, off) in d.offset.iter().enumerate() {
        let v = if clocks & (1 << id) == 0 {
            NO_CLOCK
        } else if REAL_CLOCKS & (1 << id) != 0 {
            wall
        } else {
            0
        };
        off.store(v, Ordering::Relaxed);
    }
    d.pad.store(0, Ordering::Relaxed);
    d.coarse_res.store(p.coarse_res, Ordering::Relaxed);
    d.seq.store(seq.wrapping_add(2), Ordering::Release);
}

/// Maps [vvar] (read-only) and [vdso] (read+exec) next to each other at a free
/// place of the mmap area (random when the mmap base is) and returns the vDSO's
/// address for `AT_SYSINFO_EHDR`; None when there is no vDSO.
pub fn map(asp: &mut AddrSpace) -> Option<u64> {
    let p = pages()?;
    let len = (p.vvar.len() + p.text.len()) as u64 * PAGE_SIZE;
    let start = asp.find_free(len)?;
    let text = start + p.vvar.len() as u64 * PAGE_SIZE;
    let vvar = Area {
        prot: Prot { read: true, write: false, exec: false },
        shared: false,
        growsdown: false,
        // Like Linux's [vvar] (no VM_MAYWRITE): mprotect cannot make it writable.
        maywrite: false,
        backing: Backing::Kernel { frames: p.vvar.clone(), first: 0 },
        name: VmaName::Special("[vvar]"),
        dontfork: false,
        wipeonfork: false,
    };
    let vdso = Area {
        prot: Prot { read: true, write: false, exec: true },
        shared: false,
        growsdown: false,
        // Like Linux's [vdso]: writable on request, copied on write (debuggers).
        maywrite: true,
        backing: Backing::Kernel { frames: p.text.clone(), first: 0 },
        name: VmaName::Special("[vdso]"),
        dontfork: false,
        wipeonfork: false,
    };
    if !asp.insert_area(start, text, vvar) {
        return None;
    }
    if !asp.insert_area(text, start + len, vdso) {
        asp.unmap_range(start, text);
        return None;
    }
    asp.vdso = text;
    Some(text)
}
