//! CPU identification, system-register values used at boot, the generic-timer
//! counter, hardware entropy (RNDR) and the `AT_HWCAP`/`AT_HWCAP2` words.

use crate::common::Features;
use core::arch::asm;

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, ID_AA64ISAR0_EL1, ID_AA64ISAR1_EL1, ID_AA64MMFR2_EL1, ID_AA64PFR0_EL1,
    ID_AA64PFR1_EL1,
};

/// `AT_PLATFORM` string (what Linux arm64 reports, and `uname -m`).
pub const PLATFORM: &str = "aarch64";

/// ELF `e_machine` of programs this kernel runs (EM_AARCH64).
pub const ELF_MACHINE: u16 = 183;

/// AUDIT_ARCH_AARCH64: the `arch` a seccomp filter sees.
pub const AUDIT_ARCH: u32 = 0xc000_00b7;

/// End of the user half of the address space (exclusive): 48-bit TTBR0 (T0SZ = 16).
pub const USER_END: u64 = 1 << 48;
/// Highest user stack top, as Linux arm64's STACK_TOP (TASK_SIZE_64 minus a page).
pub const USER_STACK_TOP: u64 = 0xffff_ffff_f000;
/// Bits of page-granular randomisation of the mmap base (Linux arm64 default with 4K pages).
pub const MMAP_RND_BITS: u32 = 18;
/// Bits of page-granular randomisation of the stack top (arm64 STACK_RND_MASK: 0x3ffff pages).
pub const STACK_RND_BITS: u32 = 18;

/// MAIR_EL1: attribute 0 = Normal write-back (read/write-allocate), attribute 1 =
/// Device-nGnRE, attribute 2 = Normal non-cacheable.
pub const MAIR_EL1_VALUE: u64 = 0x44_04_ff;

/// TCR_EL1 without IPS (the boot code fills IPS from ID_AA64MMFR0_EL1.PARange):
/// T0SZ = T1SZ = 16 (48-bit halves), 4 KiB granules, walks inner/outer write-back
/// cacheable and inner shareable, TBI0 (Linux user space has top-byte-ignore).
pub const TCR_EL1_VALUE: u64 = 16 // T0SZ
    | (1 << 8) // IRGN0 = WBWA
    | (1 << 10) // ORGN0 = WBWA
    | (3 << 12) // SH0 = inner shareable
    | (16 << 16) // T1SZ
    | (1 << 24) // IRGN1
    | (1 << 26) // ORGN1
    | (3 << 28) // SH1
    | (2 << 30) // TG1 = 4 KiB
    | (1 << 37); // TBI0

/// SCTLR_EL1 with the MMU on: M, C, I, SP alignment checks (SA, SA0), no alignment
/// checks for data (A = 0: programs do unaligned accesses), no WXN, and for EL0:
/// DC ZVA (DZE), CTR_EL0 reads (UCT), WFI/WFE (nTWI/nTWE), cache maintenance (UCI) —
/// all as Linux sets them; PAN left off (SPAN = 1), pointer authentication, BTI and
/// MTE off. Includes the ARMv8.0 RES1 bits (11, 20, 22, 28, 29).
pub const SCTLR_EL1_VALUE: u64 = 1 // M
    | (1 << 2) // C
    | (1 << 3) // SA
    | (1 << 4) // SA0
    | (1 << 11) // EOS (RES1)
    | (1 << 12) // I
    | (1 << 14) // DZE
    | (1 << 15) // UCT
    | (1 << 16) // nTWI
    | (1 << 18) // nTWE
    | (1 << 20) // TSCXT (RES1 in v8.0)
    | (1 << 22) // EIS (RES1)
    | (1 << 23) // SPAN
    | (1 << 26) // UCI
    | (1 << 28) // nTLSMD (RES1)
    | (1 << 29); // LSMAOE (RES1)

/// SCTLR_EL1 with the MMU off and only the RES1 bits set (used when dropping from EL2).
pub const SCTLR_EL1_RESET: u64 = 0x30d0_0800;

/// CPACR_EL1: FP/SIMD not trapped at EL0 or EL1 (FPEN = 0b11). SVE/SME stay trapped,
/// so they are not advertised in `AT_HWCAP`.
pub const CPACR_EL1_VALUE: u64 = 3 << 20;

fn field(v: u64, shift: u32) -> u64 {
    (v >> shift) & 0xf
}

/// True: with the 4 KiB granule, level-1 1 GiB blocks always exist on arm64.
pub fn has_1g_pages() -> bool {
    true
}

/// Reads the CPU's feature registers.
pub fn features() -> Features {
    let rng = field(ID_AA64ISAR0_EL1.get(), 60) >= 1;
    Features {
        rdrand: rng,
        rdseed: rng,
        xsave: false,
        page1g: true,
        smep: true,
        fpu_state_size: 528,
        tsc_hz: counter_frequency(),
    }
}

/// The generic timer's counter frequency in Hz (CNTFRQ_EL0).
pub fn counter_frequency() -> u64 {
    CNTFRQ_EL0.get() & 0xffff_ffff
}

/// `AT_HWCAP` for arm64, computed from the ID registers as Linux does (only for
/// features EL0 can use as configured here: no SVE, no PAC keys, no MRS emulation,
/// so no HWCAP_CPUID).
pub fn hwcap() -> u64 {
    let isar0 = ID_AA64ISAR0_EL1.get();
    let isar1 = ID_AA64ISAR1_EL1.get();
    let pfr0 = ID_AA64PFR0_EL1.get();
    let pfr1 = ID_AA64PFR1_EL1.get();
    let mmfr2 = ID_AA64MMFR2_EL1.get();
    let mut h = 0u64;
    let mut set = |bit: u32, cond: bool| {
        if cond {
            h |= 1 << bit;
        }
    };
    let fp = field(pfr0, 16);
    let asimd = field(pfr0, 20);
    set(0, fp != 0xf); // FP
    set(1, asimd != 0xf); // ASIMD
    set(3, field(isar0, 4) >= 1); // AES
    set(4, field(isar0, 4) >= 2); // PMULL
    set(5, field(isar0, 8) >= 1); // SHA1
    set(6, field(isar0, 12) >= 1); // SHA2
    set(7, field(isar0, 16) >= 1); // CRC32
    set(8, field(isar0, 20) >= 2); // ATOMICS
    set(9, fp == 1); // FPHP
    set(10, asimd == 1); // ASIMDHP
    set(12, field(isar0, 28) >= 1); // ASIMDRDM
    set(13, field(isar1, 12) >= 1); // JSCVT
    set(14, field(isar1, 16) >= 1); // FCMA
    set(15, field(isar1, 20) >= 1); // LRCPC
    set(16, field(isar1, 0) >= 1); // DCPOP
    set(17, field(isar0, 32) >= 1); // SHA3
    set(18, field(isar0, 36) >= 1); // SM3
    set(19, field(isar0, 40) >= 1); // SM4
    set(20, field(isar0, 44) >= 1); // ASIMDDP
    set(21, field(isar0, 12) >= 2); // SHA512
    set(23, field(isar0, 48) >= 1); // ASIMDFHM
    set(24, field(pfr0, 48) >= 1); // DIT
    set(25, field(mmfr2, 32) >= 1); // USCAT
    set(26, field(isar1, 20) >= 2); // ILRCPC
    set(27, field(isar0, 52) >= 1); // FLAGM
    set(28, field(pfr1, 4) >= 1); // SSBS
    set(29, field(isar1, 36) >= 1); // SB
    h
}

/// `AT_HWCAP2` for arm64 (the subset that needs no kernel support beyond FP/SIMD).
pub fn hwcap2() -> u64 {
    let isar0 = ID_AA64ISAR0_EL1.get();
    let isar1 = ID_AA64ISAR1_EL1.get();
    let mut h = 0u64;
    let mut set = |bit: u32, cond: bool| {
        if cond {
            h |= 1 << bit;
        }
    };
    set(0, field(isar1, 0) >= 2); // DCPODP
    set(7, field(isar0, 52) >= 2); // FLAGM2
    set(8, field(isar1, 32) >= 1); // FRINT
    set(13, field(isar1, 52) >= 1); // I8MM
    set(14, field(isar1, 44) >= 1); // BF16
    set(16, field(isar0, 60) >= 1); // RNG
    h
}

/// Reads the virtual counter with no barrier: the read may happen a few
/// instructions early, which is fine for accounting CPU time.
#[inline(always)]
pub fn read_cycles_unordered() -> u64 {
    let v: u64;
    // SAFETY: reading the virtual counter has no side effects.
    unsafe { asm!("mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Reads the virtual counter (CNTVCT_EL0); ticks at [`counter_frequency`].
#[inline]
pub fn read_cycles() -> u64 {
    let v: u64;
    // SAFETY: reading the virtual counter has no side effects; the ISB keeps the read
    // from being hoisted above earlier instructions.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Returns 64 bits from RNDRRS (reseeded, like RDSEED) or RNDR.
pub fn random_u64(f: &Features) -> Option<u64> {
    random_from(f, f.rdseed)
}

/// Returns 64 bits from RNDR (the CPU's DRBG, cheaper than RNDRRS), if present.
pub fn random_u64_drbg(f: &Features) -> Option<u64> {
    random_from(f, false)
}

fn random_from(f: &Features, reseeded: bool) -> Option<u64> {
    if !f.rdrand {
        return None;
    }
    for _ in 0..32 {
        let v: u64;
        let ok: u64;
        if reseeded {
            // SAFETY: FEAT_RNG is implemented (ID_AA64ISAR0_EL1.RNDR); the read sets
            // NZCV (Z on failure) and the output register only.
            unsafe {
                asm!("mrs {v}, s3_3_c2_c4_1", "cset {ok}, ne", v = out(reg) v, ok = out(reg) ok, options(nomem, nostack))
            };
        } else {
            // SAFETY: as above (RNDR).
            unsafe {
                asm!("mrs {v}, s3_3_c2_c4_0", "cset {ok}, ne", v = out(reg) v, ok = out(reg) ok, options(nomem, nostack))
            };
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// Idle waits use WFE woken by the generic timer's event stream (no interrupt
/// controller available).
static IDLE_WFE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Makes idle waits poll: the generic timer's event stream wakes WFE every
/// 2^(`bit`+1) counter ticks. For machines whose interrupt controller is not driven.
pub fn use_event_stream(bit: u32) {
    use aarch64_cpu::registers::CNTKCTL_EL1;
    // EVNTEN (bit 2), EVNTI (bits 7:4) = the counter bit whose transitions signal.
    let v = CNTKCTL_EL1.get();
    CNTKCTL_EL1.set((v & !(0xf << 4)) | (u64::from(bit.min(15)) << 4) | (1 << 2));
    IDLE_WFE.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// Waits for the next interrupt, then takes it with IRQs briefly unmasked (like
/// `sti; hlt; cli`): a pending interrupt is taken, handled and acknowledged here.
/// WFI runs with IRQs still masked (a pending one wakes it all the same), so an
/// interrupt that arrived just before is not taken first and then slept through.
pub fn wait_for_interrupt() {
    if IDLE_WFE.load(core::sync::atomic::Ordering::Relaxed) {
        // SAFETY: WFE only pauses this CPU until the next event.
        unsafe { asm!("wfe", options(nomem, nostack)) };
        return;
    }
    // SAFETY: the exception vectors are installed; an IRQ taken at the unmasking
    // goes through the trap path and returns before the ISB completes.
    unsafe { asm!("wfi", "msr daifclr, #3", "isb", "msr daifset, #3", options(nostack)) };
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: masking interrupts and waiting only stops this CPU.
        unsafe { asm!("msr daifset, #0xf", "wfi", options(nomem, nostack)) };
    }
}

/// `restart_syscall`'s number (what an interrupted call's restart runs).
pub const RESTART_SYSCALL_NR: usize = 128;
