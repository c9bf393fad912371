//! Boot-time CPU setup after the MMU is on: where the kernel image sits, the
//! exception vectors, EL0 access to the virtual counter.
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::registers::{Writeable, CNTKCTL_EL1, VBAR_EL1};

use super::cpu;
use super::trap;
use crate::common::Features;

/// Start of the direct map of physical memory (TTBR1, L0 slot 0: PAs below 512 GiB).
pub const PHYS_OFFSET: u64 = 0xffff_0000_0000_0000;
/// Virtual address of the first byte of the kernel image (its arm64 `Image` header):
/// [`TEXT_OFFSET`] above a 2 MiB boundary, as its physical address is (the kernel
/// window maps 2 MiB blocks). The physical address is only known at run time: see
/// [`kernel_va_to_pa`]. The linker script says the same.
pub const KERNEL_VIRT: u64 = 0xffff_ffff_8000_0000 + TEXT_OFFSET;
/// The `Image` header's `text_offset`: the loader places the image this far above a
/// 2 MiB aligned address. 4 KiB is the smallest that QEMU takes as is (it moves an
/// image asking for less 2 MiB up, past its boot stub at the start of RAM).
pub const TEXT_OFFSET: u64 = 0x1000;

/// Physical address the boot loader placed the image at ([`TEXT_OFFSET`] above a
/// 2 MiB boundary).
static KERNEL_LOAD_PA: AtomicU64 = AtomicU64::new(0);

/// Translates an address inside the kernel image to its physical address.
pub fn kernel_va_to_pa(va: u64) -> u64 {
    va.wrapping_sub(KERNEL_VIRT).wrapping_add(KERNEL_LOAD_PA.load(Ordering::Relaxed))
}

/// First Rust-level setup, called by the platform's entry code right after the MMU
/// was turned on: records the image's physical address and installs the exception
/// vectors, so that even faults during boot are reported.
pub fn init_early(load_pa: u64) {
    KERNEL_LOAD_PA.store(load_pa, Ordering::Relaxed);
    // The boot CPU is CPU 0 (TPIDR_EL1 resets to an unknown value).
    set_per_cpu(0);
    super::paging::note_boot_idmap();
    VBAR_EL1.set(trap::vectors_addr());
    // SAFETY: ISB only synchronises the context after the VBAR write.
    unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
}

/// Nothing to do on arm64 (the entry code enabled FP/SIMD, and pages are zeroed
/// with `DC ZVA`, which needs no vector register).
pub fn init_fpu_bsp() {}

/// Sets up the boot CPU: exception vectors and EL0 access to the virtual counter
/// (CNTKCTL_EL1.EL0VCTEN, as Linux allows it). FP/SIMD was enabled for EL0 and EL1
/// at boot (CPACR_EL1.FPEN). With `svc` entries, the kernel stack of a trap is the
/// SP_EL1 left by the last return to user mode, so `kstack_top` needs no register.
pub fn init_bsp(kstack_top: u64) -> Features {
    let _ = kstack_top;
    VBAR_EL1.set(trap::vectors_addr());
    CNTKCTL_EL1.set(1 << 1);
    // SAFETY: ISB only synchronises the context after the system-register writes.
    unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
    cpu::features()
}

/// Sets up a secondary CPU once its MMU is on: its index in TPIDR_EL1, the
/// exception vectors and EL0 access to the virtual counter, as on the boot CPU.
pub fn init_ap(cpu: usize, kstack_top: u64) {
    let _ = kstack_top;
    set_per_cpu(cpu);
    VBAR_EL1.set(trap::vectors_addr());
    CNTKCTL_EL1.set(1 << 1);
    // SAFETY: ISB only synchronises the context after the system-register writes.
    unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
}

/// What each CPU keeps for itself; TPIDR_EL1, which user code cannot see,
/// holds the address of the calling CPU's own.
#[repr(C)]
struct PerCpu {
    /// The word [`set_cpu_current`] recorded (the kernel's running thread).
    current: AtomicUsize,
    /// The CPU's index.
    id: usize,
}

static PER_CPU: [PerCpu; 64] = {
    let mut a = [const { PerCpu { current: AtomicUsize::new(0), id: 0 } }; 64];
    let mut i = 0;
    while i < 64 {
        a[i].id = i;
        i += 1;
    }
    a
};

/// Points TPIDR_EL1 at CPU `cpu`'s block (on that CPU, before it reads it).
fn set_per_cpu(cpu: usize) {
    let block: *const PerCpu = &PER_CPU[cpu % 64];
    // SAFETY: TPIDR_EL1 is a kernel-only scratch register, which only this
    // function writes.
    unsafe { core::arch::asm!("msr tpidr_el1, {}", in(reg) block as u64, options(nomem, nostack, preserves_flags)) };
}

/// The calling CPU's block.
#[inline(always)]
fn per_cpu() -> &'static PerCpu {
    let block: u64;
    // SAFETY: reading TPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, tpidr_el1", out(reg) block, options(nomem, nostack, preserves_flags)) };
    // SAFETY: `set_per_cpu` put the address of an element of the static PER_CPU
    // there before anything on this CPU could ask (init_early, init_ap).
    unsafe { &*(block as *const PerCpu) }
}

/// The index of the CPU running the caller (0 for the boot CPU).
#[inline]
pub fn cpu_id() -> usize {
    per_cpu().id
}

/// Records an opaque word for the calling CPU (the kernel's running thread), read
/// back by [`cpu_current`].
#[inline]
pub fn set_cpu_current(v: usize) {
    per_cpu().current.store(v, Ordering::Relaxed);
}

/// The word [`set_cpu_current`] recorded on the calling CPU.
#[inline(always)]
pub fn cpu_current() -> usize {
    per_cpu().current.load(Ordering::Relaxed)
}
