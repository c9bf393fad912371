//! Other CPUs on arm64: listed in the device tree (`/cpus/cpu@N`, `reg` = MPIDR
//! affinity, `enable-method = "psci"`), started one at a time with PSCI CPU_ON at
//! an assembly entry that turns the MMU on with the kernel's own page table, and
//! interrupted with a GIC SGI to wake them. TLB maintenance needs no interrupt:
//! `TLBI …IS` reaches every CPU of the inner-shareable domain.
use alloc::vec::Vec;
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use elfin_arch::arm64::{CPACR_EL1_VALUE, MAIR_EL1_VALUE, SCTLR_EL1_RESET, SCTLR_EL1_VALUE, TCR_EL1_VALUE};

use super::{gic, psci, Conduit, MAX_CPUS};

/// PSCI CPU_ON, SMC64 calling convention.
const PSCI_CPU_ON: u64 = 0xc400_0003;

/// CPUs of the device tree (MPIDR affinity, in tree order) and whether each can be
/// started; recorded at boot.
static FOUND: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static STARTABLE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
static NFOUND: AtomicUsize = AtomicUsize::new(0);
/// MPIDR affinity of each CPU index (the boot CPU is 0).
static MPIDR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Root of the kernel page table, loaded into TTBR1 by a starting CPU.
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

/// How the CPU being started is doing.
const PENDING: u8 = 0;
const ARRIVED: u8 = 1;
const FAILED: u8 = 2;
static START: AtomicU8 = AtomicU8::new(PENDING);

/// What the CPU being started reads with its MMU and caches off: written by the
/// starter and cleaned to the point of coherency. CPUs start one at a time, so
/// one block serves them all.
#[repr(C, align(64))]
struct StartBlock {
    /// TTBR1: the kernel page table's root.
    ttbr1: AtomicU64,
    /// Initial stack pointer (top of the CPU's first kernel stack).
    stack: AtomicU64,
    /// The kernel's entry for the CPU, `extern "C" fn(usize) -> !`.
    entry: AtomicU64,
    /// The CPU's index (the entry's argument).
    cpu: AtomicU64,
}

static START_BLOCK: StartBlock =
    StartBlock { ttbr1: AtomicU64::new(0), stack: AtomicU64::new(0), entry: AtomicU64::new(0), cpu: AtomicU64::new(0) };

// Where PSCI starts a CPU: at its physical address, MMU off, at EL2 or EL1. It
// drops to EL1, sets up the translation registers as the boot CPU did (IPS from
// ID_AA64MMFR0_EL1.PARange), with TTBR0 = the boot identity map (still in the
// image) and TTBR1 = the kernel's page table, turns the MMU on, jumps to the high
// half and calls the kernel's entry on the stack it was given.
global_asm!(
    r#"
    .section .text.elfin_secondary_entry, "ax"
    .p2align 2
    .global elfin_secondary_entry
elfin_secondary_entry:
    bl elfin_el2_to_el1
    msr daifset, #0xf
    ldr x1, ={sctlr_reset}
    msr sctlr_el1, x1
    isb
    msr spsel, #1
    adrp x1, {block}
    add x1, x1, :lo12:{block}
    ldp x19, x20, [x1]              // TTBR1, stack
    ldp x21, x22, [x1, #16]         // entry, CPU index

    ldr x1, ={mair}
    msr mair_el1, x1
    ldr x1, ={tcr}
    mrs x2, id_aa64mmfr0_el1
    and x2, x2, #7
    mov x3, #5
    cmp x2, x3
    csel x2, x2, x3, ls             // IPS = PARange, at most 48 bits
    bfi x1, x2, #32, #3
    msr tcr_el1, x1
    adrp x1, elfin_boot_tables
    msr ttbr0_el1, x1
    msr ttbr1_el1, x19
    ldr x1, ={cpacr}
    msr cpacr_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    ldr x1, ={sctlr}
    msr sctlr_el1, x1
    isb
    ic iallu
    dsb nsh
    isb
    ldr x1, =1f
    br x1
1:  mov sp, x20
    mov x0, x22
    mov x29, xzr
    mov x30, xzr
    br x21
    "#,
    sctlr_reset = const SCTLR_EL1_RESET,
    sctlr = const SCTLR_EL1_VALUE,
    mair = const MAIR_EL1_VALUE,
    tcr = const TCR_EL1_VALUE,
    cpacr = const CPACR_EL1_VALUE,
    block = sym START_BLOCK,
);

extern "C" {
    static elfin_secondary_entry: u8;
}

/// Records a CPU node of the device tree (at boot).
pub(crate) fn record_cpu(mpidr: u64, startable: bool) {
    let n = NFOUND.load(Ordering::Relaxed);
    if let (Some(id), Some(ok)) = (FOUND.get(n), STARTABLE.get(n)) {
        id.store(mpidr & 0xff_00ff_ffff, Ordering::Relaxed);
        ok.store(u8::from(startable), Ordering::Relaxed);
        NFOUND.store(n + 1, Ordering::Relaxed);
    }
}

/// The MPIDR affinity of every CPU the kernel can use, the boot CPU first: the
/// boot CPU alone without PSCI or without a GIC to wake the others with.
pub fn cpus() -> Vec<u64> {
    let boot = gic::my_mpidr();
    let mut ids = alloc::vec![boot];
    if psci() != Conduit::None && gic::present() {
        let n = NFOUND.load(Ordering::Relaxed).min(MAX_CPUS);
        for (id, ok) in FOUND.iter().zip(STARTABLE.iter()).take(n) {
            let id = id.load(Ordering::Relaxed);
            if id != boot && ok.load(Ordering::Relaxed) != 0 {
                ids.push(id);
            }
        }
    }
    ids.truncate(gic::max_cpus().min(MAX_CPUS));
    for (slot, &id) in MPIDR.iter().zip(ids.iter()) {
        slot.store(id, Ordering::Relaxed);
    }
    ids
}

/// Records the kernel page table for the CPUs to come and makes the boot CPU
/// take wake-up interrupts; false when they could not be used.
pub fn prepare(kernel_root: u64) -> bool {
    KERNEL_ROOT.store(kernel_root, Ordering::Relaxed);
    psci() != Conduit::None && gic::cpu_init()
}

/// Cleans the data-cache lines over `[va, va + len)` to the point of coherency,
/// where a CPU with its caches off reads.
fn clean_to_poc(va: u64, len: u64) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let line = 4u64 << ((ctr >> 16) & 0xf);
    let mut a = va & !(line - 1);
    while a < va + len {
        // SAFETY: cleaning a cache line of mapped kernel data has no memory-safety effect.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack)) };
        a += line;
    }
    // SAFETY: a barrier only orders memory accesses.
    unsafe { asm!("dsb sy", options(nostack)) };
}

/// PSCI CPU_ON: starts the CPU with MPIDR `target` at physical `entry`; PSCI's
/// status (0 = success).
fn cpu_on(target: u64, entry: u64, context: u64) -> i64 {
    let mut r = PSCI_CPU_ON;
    match psci() {
        // SAFETY: a PSCI call through the conduit the device tree names; CPU_ON
        // only starts the (powered-off) target CPU at `entry`. SMCCC lets the
        // callee clobber x0-x17.
        Conduit::Hvc => unsafe {
            asm!("hvc #0", inout("x0") r, in("x1") target, in("x2") entry, in("x3") context, clobber_abi("C"), options(nostack))
        },
        // SAFETY: as above, through the secure monitor.
        Conduit::Smc => unsafe {
            asm!("smc #0", inout("x0") r, in("x1") target, in("x2") entry, in("x3") context, clobber_abi("C"), options(nostack))
        },
        Conduit::None => return -1,
    }
    r as i64
}

/// Starts CPU `cpu` (MPIDR affinity `hw`) at the kernel's `entry` on the stack
/// ending at `stack_top`, and waits until it has reported in ([`arrived`]);
/// false when it did not within about a second.
pub fn start_cpu(cpu: usize, hw: u64, stack_top: u64, entry: extern "C" fn(usize) -> !) -> bool {
    let b = &START_BLOCK;
    b.ttbr1.store(KERNEL_ROOT.load(Ordering::Relaxed), Ordering::Relaxed);
    b.stack.store(stack_top, Ordering::Relaxed);
    b.entry.store(entry as usize as u64, Ordering::Relaxed);
    b.cpu.store(cpu as u64, Ordering::Relaxed);
    clean_to_poc(b as *const StartBlock as u64, core::mem::size_of::<StartBlock>() as u64);
    START.store(PENDING, Ordering::SeqCst);
    let va = core::ptr::addr_of!(elfin_secondary_entry) as u64;
    if cpu_on(hw, elfin_arch::kernel_va_to_pa(va), cpu as u64) != 0 {
        return false;
    }
    let hz = elfin_arch::arm64::counter_frequency().max(1);
    let t0 = elfin_arch::read_cycles();
    while elfin_arch::read_cycles().wrapping_sub(t0) < hz {
        match START.load(Ordering::Acquire) {
            ARRIVED => return true,
            FAILED => return false,
            _ => core::hint::spin_loop(),
        }
    }
    false
}

/// Called by a started CPU once it runs kernel code: sets up its part of the GIC.
/// A CPU that cannot take interrupts could never be woken: it reports the failure
/// and stops here.
pub fn arrived() {
    if gic::cpu_init() {
        START.store(ARRIVED, Ordering::Release);
    } else {
        START.store(FAILED, Ordering::Release);
        elfin_arch::halt_forever();
    }
}

/// Wakes CPU `cpu` with the rescheduling SGI.
pub fn send_ipi(cpu: usize) {
    if let Some(m) = MPIDR.get(cpu) {
        gic::send_resched(cpu, m.load(Ordering::Relaxed));
    }
}
