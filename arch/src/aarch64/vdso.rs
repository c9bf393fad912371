//! What the arm64 vDSO needs from the CPU: the virtual counter (the kernel's own
//! clock source), which EL0 may read as every CPU sets CNTKCTL_EL1.EL0VCTEN.

include!(concat!(env!("OUT_DIR"), "/vdso_syms.rs"));

/// Whether the vDSO may read the kernel's clock source itself (1) or must make
/// the system call (0): CNTVCT_EL0 is readable at EL0 on every CPU (init).
pub fn vdso_clock_mode() -> u32 {
    1
}

/// The vvar record's `cpu_mode`: arm64 has no getcpu in its vDSO.
pub fn vdso_cpu_mode() -> u32 {
    0
}
