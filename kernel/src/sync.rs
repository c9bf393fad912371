//! Kernel locks. Interrupts are off in the kernel, so a CPU spinning on a lock
//! cannot take the TLB-shootdown interrupt that the lock's holder may be waiting
//! for; the kernel's spin locks therefore do what other CPUs asked of this one
//! while they spin.

/// Spin-wait relaxation that serves pending TLB-flush requests.
pub struct ServeFlushes;

impl spin::RelaxStrategy for ServeFlushes {
    #[inline]
    fn relax() {
        elfin_plat::poll_tlb_flush();
        core::hint::spin_loop();
    }
}

/// The kernel's mutex (a spin lock that serves TLB flushes while it waits).
pub type Mutex<T> = spin::mutex::Mutex<T, ServeFlushes>;
/// Guard of a locked [`Mutex`].
pub use spin::MutexGuard;
