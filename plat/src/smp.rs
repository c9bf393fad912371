//! Other CPUs: finding and starting them, and interrupting them (wake-up and TLB
//! shootdown). With one CPU online these are never called.

/// Interrupts CPU `cpu` so that it looks at its run queue (it may be halted).
pub fn send_ipi(cpu: usize) {
    let _ = cpu;
}

/// Makes CPU `cpu` drop its TLB entries for user pages, and waits until it has.
pub fn flush_tlb_on(cpu: usize) {
    let _ = cpu;
}
