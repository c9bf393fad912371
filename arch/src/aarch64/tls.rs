//! The user thread pointer (TPIDR_EL0). Programs set it themselves (`msr
//! tpidr_el0`); it is saved in every [`TrapFrame`](super::trap::TrapFrame) from EL0
//! and restored on the way back, so each thread keeps its own. A new thread's value
//! goes into its frame (`UserRegs::set_user_tls`).
use aarch64_cpu::registers::{Readable, Writeable, TPIDR_EL0};

/// Sets the CPU's user thread pointer register (any value is valid on aarch64). A
/// thread returning to EL0 reloads it from its own trap frame.
pub fn set_tls(v: u64) -> bool {
    TPIDR_EL0.set(v);
    true
}

/// Returns the current thread's user thread pointer.
pub fn get_tls() -> u64 {
    TPIDR_EL0.get()
}
