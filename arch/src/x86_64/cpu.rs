//! CPU identification, FPU/SIMD enablement, cycle counter and hardware entropy.

use crate::common::Features;
use core::arch::asm;
use core::arch::x86_64::{__cpuid, __cpuid_count, _rdtsc};

/// `AT_PLATFORM` string.
pub const PLATFORM: &str = "x86_64";

/// Reads the CPU's feature flags.
pub fn features() -> Features {
    let l1 = __cpuid(1);
    let max = __cpuid(0).eax;
    let l7 = if max >= 7 { __cpuid_count(7, 0) } else { l1 };
    let ext = __cpuid(0x8000_0001);
    let mut f = Features {
        rdrand: l1.ecx & (1 << 30) != 0,
        rdseed: max >= 7 && l7.ebx & (1 << 18) != 0,
        xsave: l1.ecx & (1 << 26) != 0,
        page1g: ext.edx & (1 << 26) != 0,
        smep: max >= 7 && l7.ebx & (1 << 7) != 0,
        fpu_state_size: 512,
        tsc_hz: 0,
    };
    if max >= 0x15 {
        let t = __cpuid(0x15);
        if t.eax != 0 && t.ebx != 0 && t.ecx != 0 {
            f.tsc_hz = u64::from(t.ecx) * u64::from(t.ebx) / u64::from(t.eax);
        }
    }
    let hv = __cpuid(0x4000_0000);
    if f.tsc_hz == 0 && hv.eax >= 0x4000_0010 {
        let t = __cpuid(0x4000_0010);
        f.tsc_hz = u64::from(t.eax) * 1000;
    }
    f
}

/// True when the CPU maps 1 GiB pages (CPUID.80000001h:EDX.Page1GB).
pub fn has_1g_pages() -> bool {
    __cpuid(0x8000_0001).edx & (1 << 26) != 0
}

/// Enables x87/SSE (and AVX state through XSAVE where present) for user code.
/// Returns the size of the per-thread FPU state area.
pub fn enable_fpu(f: &Features) -> u32 {
    // SAFETY: setting CR0.MP|NE and clearing EM/TS, and CR4.OSFXSR|OSXMMEXCPT, is
    // the documented way to enable SSE; it does not affect memory safety.
    unsafe {
        let mut cr0: u64;
        asm!("mov {}, cr0", out(reg) cr0);
        cr0 = (cr0 & !(1 << 2) & !(1 << 3)) | (1 << 1) | (1 << 5);
        asm!("mov cr0, {}", in(reg) cr0);
        let mut cr4: u64;
        asm!("mov {}, cr4", out(reg) cr4);
        cr4 |= (1 << 9) | (1 << 10);
        if f.xsave {
            cr4 |= 1 << 18;
        }
        if f.smep {
            cr4 |= 1 << 20;
        }
        asm!("mov cr4, {}", in(reg) cr4);
    }
    if !f.xsave {
        return 512;
    }
    let d = __cpuid_count(0xd, 0);
    // x87 | SSE | AVX | AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM), as supported.
    let xcr0 = u64::from(d.eax) & 0xe7;
    // SAFETY: CR4.OSXSAVE is set and xcr0 only holds supported components with x87 set.
    unsafe {
        asm!("xsetbv", in("ecx") 0, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32);
    }
    // EBX now reports the size for the enabled components.
    __cpuid_count(0xd, 0).ebx
}

/// Whether the kernel may zero pages with AVX stores, after [`enable_fpu`]: the CPU
/// has AVX, its state is enabled, XGETBV reports the state in use (ECX=1), and no
/// AVX-512 state is enabled (a VEX store would clear the upper half of zmm0).
pub fn avx_zeroing() -> bool {
    let avx = __cpuid(1).ecx & (1 << 28) != 0;
    if !avx || __cpuid(0).eax < 0xd || __cpuid_count(0xd, 1).eax & (1 << 2) == 0 {
        return false;
    }
    // SAFETY: CPUID.1:ECX.AVX implies XSAVE here, and enable_fpu set CR4.OSXSAVE
    // (XGETBV ECX=0 reads XCR0 and has no side effects).
    let xcr0 = unsafe {
        let (lo, hi): (u32, u32);
        asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
        u64::from(lo) | u64::from(hi) << 32
    };
    xcr0 & 0b110 == 0b110 && xcr0 & 0xe0 == 0
}

/// `AT_HWCAP` for x86_64: CPUID.1:EDX, as Linux reports it.
pub fn hwcap() -> u64 {
    u64::from(__cpuid(1).edx)
}

/// `AT_HWCAP2` for x86_64 (no FSGSBASE for user space, ring3mwait off).
pub fn hwcap2() -> u64 {
    0
}

/// Reads the cycle counter with no ordering (RDTSC is not ordered anyway); for
/// accounting CPU time.
#[inline(always)]
pub fn read_cycles_unordered() -> u64 {
    read_cycles()
}

/// Reads the cycle counter (TSC).
#[inline]
pub fn read_cycles() -> u64 {
    // SAFETY: RDTSC is unprivileged here (CR4.TSD clear) and has no side effects.
    unsafe { _rdtsc() }
}

/// Returns 64 bits from the CPU's random-number instructions (RDSEED, else RDRAND).
pub fn random_u64(f: &Features) -> Option<u64> {
    random_from(f, f.rdseed)
}

/// Returns 64 bits from RDRAND (the CPU's DRBG, cheaper than RDSEED), if present.
pub fn random_u64_drbg(f: &Features) -> Option<u64> {
    random_from(f, false)
}

fn random_from(f: &Features, seed: bool) -> Option<u64> {
    for _ in 0..32 {
        let v: u64;
        let ok: u8;
        if seed {
            // SAFETY: RDSEED is supported (checked via CPUID); it only writes the output registers.
            unsafe { asm!("rdseed {}", "setc {}", out(reg) v, out(reg_byte) ok) };
        } else if f.rdrand {
            // SAFETY: RDRAND is supported (checked via CPUID).
            unsafe { asm!("rdrand {}", "setc {}", out(reg) v, out(reg_byte) ok) };
        } else {
            return None;
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// Waits for the next interrupt with interrupts enabled, then disables them again.
pub fn wait_for_interrupt() {
    // SAFETY: `sti; hlt` atomically enables interrupts and halts; handlers are installed.
    unsafe { asm!("sti", "hlt", "cli") };
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: halting with interrupts off only stops this CPU.
        unsafe { asm!("cli", "hlt") };
    }
}

/// ELF `e_machine` of programs this kernel runs (EM_X86_64).
pub const ELF_MACHINE: u16 = 62;

/// AUDIT_ARCH_X86_64: the `arch` a seccomp filter sees.
pub const AUDIT_ARCH: u32 = 0xc000_003e;

/// End of the user half of the address space (exclusive).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// Highest user stack top, as Linux's STACK_TOP (TASK_SIZE minus a guard page).
pub const USER_STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Bits of page-granular randomisation of the mmap base (Linux default).
pub const MMAP_RND_BITS: u32 = 28;
/// Bits of page-granular randomisation of the stack top (STACK_RND_MASK).
pub const STACK_RND_BITS: u32 = 22;

/// `restart_syscall`'s number (what an interrupted call's restart runs).
pub const RESTART_SYSCALL_NR: usize = 219;
