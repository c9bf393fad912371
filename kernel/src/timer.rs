//! The periodic tick: preemption of user threads and wake-ups from idle. It is
//! started only when a program has a second thread or sleeps, so a simple
//! program never takes a timer interrupt.
use core::sync::atomic::{AtomicBool, Ordering};

/// Tick rate.
const HZ: u32 = 1000;

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Starts the tick if it is not running.
pub fn enable_preemption() {
    if !RUNNING.swap(true, Ordering::Relaxed) {
        elfin_plat::start_tick(HZ, crate::time::cycles_hz());
    }
}

/// Waits for something to happen when no thread can run.
pub fn idle_wait() {
    enable_preemption();
    elfin_arch::wait_for_interrupt();
}

/// Handles an interrupt; true when user code should be preempted.
pub fn on_interrupt(vector: u8) -> bool {
    elfin_plat::ack_irq(vector)
}
