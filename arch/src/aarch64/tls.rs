//! The user thread pointer (TPIDR_EL0). Programs set it themselves (`msr
//! tpidr_el0`); it is saved in every [`TrapFrame`](super::trap::TrapFrame) from EL0
//! and restored on return, so each thread keeps its own.
use core::sync::atomic::Ordering;

use aarch64_cpu::registers::{Readable, Writeable, TPIDR_EL0};

use super::trap::USER_FRAME;

/// Sets the current thread's user thread pointer (any value is valid on aarch64).
pub fn set_tls(v: u64) -> bool {
    TPIDR_EL0.set(v);
    let f = USER_FRAME.load(Ordering::Relaxed);
    if !f.is_null() {
        // SAFETY: USER_FRAME points at the frame of the trap from EL0 being handled
        // on this (only) CPU; it is reset when a new context is entered.
        unsafe { (*f).tpidr = v };
    }
    true
}

/// Returns the current thread's user thread pointer.
pub fn get_tls() -> u64 {
    TPIDR_EL0.get()
}
