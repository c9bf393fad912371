//! What the x86_64 vDSO needs from the CPU: the TSC (the kernel's own clock
//! source, readable in ring 3 as CR4.TSD is clear) and, for getcpu, TSC_AUX
//! holding the CPU index where RDPID or RDTSCP can read it.
use core::arch::x86_64::__cpuid;
use core::sync::atomic::{AtomicU32, Ordering};

/// How the vDSO reads the CPU number (the `cpu_mode` of the vvar record).
static CPU_MODE: AtomicU32 = AtomicU32::new(0);

/// IA32_TSC_AUX.
const MSR_TSC_AUX: u32 = 0xc000_0103;

/// 2 when the CPU has RDPID, 1 with RDTSCP only, 0 with neither.
fn probe_cpu_mode() -> u32 {
    let max = __cpuid(0).eax;
    let rdpid = max >= 7 && __cpuid(7).ecx & (1 << 22) != 0;
    let ext_max = __cpuid(0x8000_0000).eax;
    let rdtscp = ext_max >= 0x8000_0001 && __cpuid(0x8000_0001).edx & (1 << 27) != 0;
    if rdpid {
        2
    } else if rdtscp {
        1
    } else {
        0
    }
}

/// Stores this CPU's index in TSC_AUX (Linux's `node << 12 | cpu`, one node)
/// when the CPU can read it back in user mode. Every CPU calls this once.
pub(crate) fn init_cpu(cpu: usize) {
    let mode = probe_cpu_mode();
    if mode != 0 {
        let v = (cpu as u64) & 0xfff;
        // SAFETY: TSC_AUX exists when RDTSCP or RDPID does; it only holds a value
        // that those instructions return and has no other effect.
        unsafe { x86_64::registers::model_specific::Msr::new(MSR_TSC_AUX).write(v) };
    }
    if cpu == 0 {
        CPU_MODE.store(mode, Ordering::Relaxed);
    } else if CPU_MODE.load(Ordering::Relaxed) != mode {
        // CPUs that disagree: the system call answers.
        CPU_MODE.store(0, Ordering::Relaxed);
    }
}

/// Whether the vDSO may read the kernel's clock source itself (1) or must make
/// the system call (0): the kernel counts time with the TSC, which user mode reads.
pub fn vdso_clock_mode() -> u32 {
    1
}

/// The vvar record's `cpu_mode`: 0 system call, 1 RDTSCP, 2 RDPID.
pub fn vdso_cpu_mode() -> u32 {
    CPU_MODE.load(Ordering::Relaxed)
}

/// Where a signal handler installed without SA_RESTORER returns to: none on x86_64
/// (Linux kills such a program).
pub const fn sigreturn_trampoline(_vdso: u64) -> Option<u64> {
    None
}
