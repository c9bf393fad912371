//! The architecture-neutral part of the interface: types every architecture
//! module implements or fills in the same way.
use alloc::vec::Vec;

use crate::TrapFrame;

/// Access rights of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Perm {
    /// Readable (any right implies read on both architectures).
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Accessible from user mode.
    pub user: bool,
    /// Device memory (uncached).
    pub device: bool,
}

/// Where page tables get their frames.
pub trait FrameSource {
    /// A zeroed 4 KiB frame, or None when memory is exhausted.
    fn alloc_zeroed(&mut self) -> Option<u64>;
    /// Returns a frame.
    fn free(&mut self, pa: u64);
}

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for an intermediate table.
    NoMemory,
    /// Something is already mapped there.
    Exists,
}

/// Architecture-neutral view of the user registers used by generic code.
pub trait UserRegs {
    /// The system-call number.
    fn syscall_nr(&self) -> usize;
    /// The six system-call arguments.
    fn syscall_args(&self) -> [u64; 6];
    /// Sets the system-call return value.
    fn set_syscall_ret(&mut self, v: u64);
    /// The user instruction pointer.
    fn ip(&self) -> u64;
    /// Sets the user instruction pointer (where the context resumes).
    fn set_ip(&mut self, ip: u64);
    /// The user stack pointer.
    fn sp(&self) -> u64;
    /// Whether the trap came from user mode.
    fn came_from_user(&self) -> bool;
    /// A fresh user context starting at `ip` with stack `sp`.
    fn new_user(ip: u64, sp: u64) -> Self;
    /// Sets the user stack pointer.
    fn set_user_sp(&mut self, sp: u64);
    /// Sets the thread pointer kept in the frame (no-op where it lives in a
    /// separate register saved by the scheduler, as FS base on x86_64).
    fn set_user_tls(&mut self, tls: u64);
    /// Makes the interrupted system call run again when the context resumes:
    /// restores its number and first argument (which the return value replaced)
    /// and steps back over the system-call instruction.
    fn rewind_syscall(&mut self, nr: usize, arg0: u64);
}

/// What kind of trap arrived.
#[derive(Clone, Copy, Debug)]
pub enum Trap {
    /// A page fault at `addr`.
    PageFault {
        /// Faulting address (CR2).
        addr: u64,
        /// The access was a write.
        write: bool,
        /// The access was an instruction fetch.
        exec: bool,
        /// The page was present (a protection violation).
        present: bool,
    },
    /// Invalid opcode (#UD).
    InvalidOpcode,
    /// General protection fault (#GP) or stack fault.
    GeneralProtection,
    /// Divide error (#DE).
    Divide,
    /// Breakpoint (#BP, `int3`).
    Breakpoint,
    /// x87 or SIMD floating-point exception.
    FloatingPoint,
    /// Alignment check.
    Alignment,
    /// Any other CPU exception.
    OtherException(u8),
    /// A hardware interrupt.
    Interrupt(u8),
}

/// `Handlers::syscall`'s answer: the call is complete and only the return value changed.
pub const SYSCALL_DONE: u8 = 0;
/// `Handlers::syscall`'s answer: the stub must complete the frame and call `Handlers::syscall_slow`.
pub const SYSCALL_SLOW: u8 = 1;

/// The kernel's trap handlers.
#[derive(Clone, Copy)]
pub struct Handlers {
    /// Called for every system call from user mode with the frame the entry stub
    /// built, in which the registers the C ABI makes callee-saved (and the fields
    /// no system call reads: TPIDR_EL0, the vector) are not stored yet: they are
    /// still in the CPU's registers, which the handler preserves. Returns
    /// [`SYSCALL_DONE`] when only the return-value register changed (the stub
    /// restores the registers the call may clobber), or [`SYSCALL_SLOW`]: the stub
    /// completes the frame and calls `syscall_slow`.
    pub syscall: extern "C" fn(&mut TrapFrame) -> u8,
    /// Called with the complete frame when `syscall` asked for it. Returns true
    /// when the frame changed beyond the return-value register (a signal frame,
    /// rt_sigreturn, execve): the stub then restores every register from it. False
    /// lets it restore only the registers the call may clobber.
    pub syscall_slow: extern "C" fn(&mut TrapFrame) -> bool,
    /// Called for every exception or interrupt.
    pub trap: fn(&mut TrapFrame, Trap),
    /// Called once by every new thread, on its own stack, before it first enters
    /// user mode (the scheduler finishes the switch to it there).
    pub thread_start: fn(),
}

/// Runs the kernel's thread-start hook (called from the new-thread stub).
pub(crate) extern "C" fn thread_started() {
    if let Some(h) = handlers() {
        (h.thread_start)();
    }
}

/// What the generic kernel decided to deliver.
pub struct SigDelivery<'a> {
    /// Signal number.
    pub sig: u32,
    /// Handler address.
    pub handler: u64,
    /// `sa_restorer` (required on x86_64; glibc on arm64 sets none).
    pub restorer: u64,
    /// The 128-byte siginfo.
    pub info: &'a [u8; 128],
    /// Mask to restore on return.
    pub old_mask: u64,
    /// Top of the stack to build the frame on (altstack top, or None for the
    /// interrupted stack).
    pub stack_top: Option<u64>,
    /// `uc_stack` contents (ss_sp, ss_flags, ss_size).
    pub uc_stack: (u64, i32, u64),
    /// Saved FPU/SIMD image of the interrupted code (XSAVE/FXSAVE on x86_64, an
    /// `fpsimd_context` record on aarch64).
    pub fpu: &'a [u8],
    /// Whether the image is XSAVE format (else FXSAVE; unused on aarch64).
    pub xsave: bool,
}

/// A frame ready to be copied to user memory at `addr`.
pub struct BuiltFrame {
    /// User address of the frame's first byte.
    pub addr: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What `rt_sigreturn` found in the frame.
pub struct Restored {
    /// Signal mask to reinstate.
    pub mask: u64,
    /// `uc_stack` (ss_sp, ss_flags, ss_size) to reinstate as the altstack.
    pub uc_stack: (u64, i32, u64),
    /// User address of the FPU image (0: none).
    pub fp_addr: u64,
}

static HANDLERS: spin::Once<Handlers> = spin::Once::new();

/// Installs the kernel's trap handlers (once).
pub fn set_handlers(h: Handlers) {
    HANDLERS.call_once(|| h);
    crate::set_syscall_handler(h.syscall, h.syscall_slow);
}

/// The installed trap handlers, if any.
pub fn handlers() -> Option<&'static Handlers> {
    HANDLERS.get()
}

/// CPU features the kernel cares about (x86_64 names; each architecture fills in
/// what applies: RNDR/RNDRRS for `rdrand`/`rdseed`, the generic timer for `tsc_hz`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// Hardware random numbers (RDRAND; RNDR).
    pub rdrand: bool,
    /// Seed-grade hardware random numbers (RDSEED; RNDRRS).
    pub rdseed: bool,
    /// XSAVE and OSXSAVE-capable (x86_64 only).
    pub xsave: bool,
    /// 1 GiB pages or blocks.
    pub page1g: bool,
    /// The kernel cannot execute user pages (SMEP; PXN on EL0 pages).
    pub smep: bool,
    /// Size in bytes of a thread's FPU/SIMD state.
    pub fpu_state_size: u32,
    /// Cycle-counter frequency in Hz when the hardware reports it, else 0.
    pub tsc_hz: u64,
}

/// The page-table entry `idx` of the table at physical address `table_pa`.
pub(crate) fn read_entry(table_pa: u64, idx: usize) -> u64 {
    let p = (table_pa + crate::PHYS_OFFSET) as *const u64;
    // SAFETY: `table_pa` is a page-table frame reachable through the direct map and idx < 512.
    unsafe { core::ptr::read_volatile(p.add(idx)) }
}

/// Writes page-table entry `idx` of the table at physical address `table_pa`.
pub(crate) fn write_entry(table_pa: u64, idx: usize, v: u64) {
    let p = (table_pa + crate::PHYS_OFFSET) as *mut u64;
    // SAFETY: as in `read_entry`; page tables are only modified by their owner.
    unsafe { core::ptr::write_volatile(p.add(idx), v) }
}

/// Fills the empty entries [from, to) of the table at `table_pa` with leaves for
/// consecutive frames from `first_pa` with `bits`; false, with nothing written,
/// when one of them is not empty. One pass to check and one to write: the
/// kernel image's hundreds of pages are mapped this way at every boot. A table
/// that is `fresh` (made by the walk that found it) has no entries to check.
pub(crate) fn fill_leaves(table_pa: u64, from: usize, to: usize, first_pa: u64, bits: u64, fresh: bool) -> bool {
    let (from, to) = (from.min(512), to.min(512));
    let p = (table_pa + crate::PHYS_OFFSET) as *mut u64;
    // Four entries a step (the kernel image's 4 KiB pages are hundreds of them),
    // then the rest one by one.
    let quads = from + (to.saturating_sub(from) & !3);
    if !fresh {
        let mut used = 0;
        for i in (from..quads).step_by(4) {
            // SAFETY: as in `read_entry` (i + 3 < quads <= 512).
            used |= unsafe {
                core::ptr::read_volatile(p.add(i))
                    | core::ptr::read_volatile(p.add(i + 1))
                    | core::ptr::read_volatile(p.add(i + 2))
                    | core::ptr::read_volatile(p.add(i + 3))
            };
        }
        for i in quads..to {
            // SAFETY: as in `read_entry` (i < 512).
            used |= unsafe { core::ptr::read_volatile(p.add(i)) };
        }
        if used != 0 {
            return false;
        }
    }
    let mut e = first_pa | bits;
    for i in (from..quads).step_by(4) {
        // SAFETY: as in `write_entry` (i + 3 < quads <= 512).
        unsafe {
            core::ptr::write_volatile(p.add(i), e);
            core::ptr::write_volatile(p.add(i + 1), e + 4096);
            core::ptr::write_volatile(p.add(i + 2), e + 2 * 4096);
            core::ptr::write_volatile(p.add(i + 3), e + 3 * 4096);
        }
        e += 4 * 4096;
    }
    for i in quads..to {
        // SAFETY: as in `write_entry` (i < 512).
        unsafe { core::ptr::write_volatile(p.add(i), e) };
        e += 4096;
    }
    true
}

/// Writes entries [from, to) of the table at `table_pa` (a fresh one, whose
/// entries there are empty) with `first`, `first + step`, ...: the direct map's
/// blocks, four a step (a VM of 256 MiB has 128 of them).
pub(crate) fn fill_run(table_pa: u64, from: usize, to: usize, first: u64, step: u64) {
    let (from, to) = (from.min(512), to.min(512));
    let p = (table_pa + crate::PHYS_OFFSET) as *mut u64;
    let quads = from + (to.saturating_sub(from) & !3);
    let mut e = first;
    for i in (from..quads).step_by(4) {
        // SAFETY: as in `write_entry` (i + 3 < quads <= 512).
        unsafe {
            core::ptr::write_volatile(p.add(i), e);
            core::ptr::write_volatile(p.add(i + 1), e + step);
            core::ptr::write_volatile(p.add(i + 2), e + 2 * step);
            core::ptr::write_volatile(p.add(i + 3), e + 3 * step);
        }
        e += 4 * step;
    }
    for i in quads..to {
        // SAFETY: as in `write_entry` (i < 512).
        unsafe { core::ptr::write_volatile(p.add(i), e) };
        e += step;
    }
}

/// The index of the first non-zero entry in [from, to) of the table at
/// `table_pa`, or `to`. Runs of empty entries (zero, absent on both
/// architectures) are skipped eight at a time: the walks of fork and exit read
/// whole tables that are mostly empty.
#[inline]
pub(crate) fn next_nonzero(table_pa: u64, from: usize, to: usize) -> usize {
    let mut i = from;
    while i < to {
        if i.is_multiple_of(8) && i + 8 <= to {
            let mut any = 0;
            for j in i..i + 8 {
                any |= read_entry(table_pa, j);
            }
            if any == 0 {
                i += 8;
                continue;
            }
        }
        if read_entry(table_pa, i) != 0 {
            return i;
        }
        i += 1;
    }
    to
}

/// Index into the table at `level` (3 = root … 0 = leaf table) for `va`, for the
/// 4-level, 4 KiB-granule tables both architectures use.
pub(crate) fn table_index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 511) as usize
}

/// Calls `leaf(va, entry)` (until it returns false) for every leaf entry of the 4-level hierarchy at `root`
/// that maps a 4 KiB page in [start, end), skipping absent tables. `next` returns
/// the next-level table of a non-leaf entry at `level` (None for absent entries and
/// blocks, which user hierarchies do not have).
pub(crate) fn walk_pages<N, Pr, L>(root: u64, start: u64, end: u64, next: N, present: Pr, leaf: L)
where
    N: Fn(u64, u32) -> Option<u64>,
    Pr: Fn(u64) -> bool,
    L: FnMut(u64, u64) -> bool,
{
    // Generic, not `dyn`: the checks of every entry of a leaf table (fork and exit
    // read thousands) compile inline.
    /// What stays the same at every level of one walk.
    struct Walk<N, Pr, L> {
        start: u64,
        end: u64,
        next: N,
        present: Pr,
        leaf: L,
        stopped: bool,
    }
    impl<N, Pr, L> Walk<N, Pr, L>
    where
        N: Fn(u64, u32) -> Option<u64>,
        Pr: Fn(u64) -> bool,
        L: FnMut(u64, u64) -> bool,
    {
        /// Visits table `t` at level `l`, whose first entry maps `base`.
        fn level(&mut self, t: u64, l: u32, base: u64) {
            let span = 1u64 << (12 + 9 * l);
            // Only the entries that overlap [start, end).
            let first = self.start.saturating_sub(base) / span;
            let last = self.end.saturating_sub(base).div_ceil(span).min(512);
            let (mut i, last) = (first as usize, last as usize);
            loop {
                i = next_nonzero(t, i, last);
                if i >= last || self.stopped {
                    return;
                }
                let (e, lo) = (read_entry(t, i), base + i as u64 * span);
                if l == 0 {
                    if (self.present)(e) && !(self.leaf)(lo, e) {
                        self.stopped = true;
                        return;
                    }
                } else if let Some(sub) = (self.next)(e, l) {
                    self.level(sub, l - 1, lo);
                }
                i += 1;
            }
        }
    }
    if start < end {
        Walk { start, end, next, present, leaf, stopped: false }.level(root, 3, 0);
    }
}

/// The leaf entry of one 4 KiB page of a [`crate::PageTable`], borrowed from it
/// (both architectures' leaf tables map 2 MiB in 512 entries).
pub struct LeafSlot<'a> {
    pub(crate) table: u64,
    pub(crate) idx: usize,
    /// The 2 MiB-aligned start of the range the table maps.
    base: u64,
    _pt: core::marker::PhantomData<&'a mut crate::PageTable>,
}

/// What one leaf table maps, less one: 2 MiB of 4 KiB pages.
const LEAF_SPAN_MASK: u64 = (512 * 4096) - 1;

impl LeafSlot<'_> {
    /// The slot of page `va` in the leaf table at physical address `table`.
    pub(crate) fn new(table: u64, va: u64) -> Self {
        LeafSlot { table, idx: ((va >> 12) & 511) as usize, base: va & !LEAF_SPAN_MASK, _pt: core::marker::PhantomData }
    }

    /// The slot of page `va` in the same leaf table, if `va` lies in the 2 MiB
    /// this table maps (no walk from the root for neighbouring pages).
    pub fn sibling(&self, va: u64) -> Option<LeafSlot<'_>> {
        (va & !LEAF_SPAN_MASK == self.base).then(|| LeafSlot::new(self.table, va))
    }
}
