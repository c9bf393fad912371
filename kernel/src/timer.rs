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

/// Waits for something to happen when no thread can run: the next interrupt, or,
/// when `watch_console` is set, console input (polled for up to a tick).
pub fn idle_wait(watch_console: bool) {
    enable_preemption();
    let t0 = elfin_arch::read_cycles();
    if watch_console && !elfin_plat::console::input_wakes_cpu() {
        let budget = crate::time::cycles_hz() / u64::from(HZ);
        while elfin_arch::read_cycles().wrapping_sub(t0) < budget {
            if elfin_plat::console::input_ready() {
                return;
            }
            pause_briefly();
        }
    } else {
        elfin_arch::wait_for_interrupt();
    }
    let d = elfin_arch::read_cycles().wrapping_sub(t0);
    crate::time::phases::IDLE_CYCLES.fetch_add(d, Ordering::Relaxed);
    crate::time::phases::IDLES.fetch_add(1, Ordering::Relaxed);
}

/// Handles an interrupt; true when user code should be preempted.
pub fn on_interrupt(vector: u8) -> bool {
    let tick = elfin_plat::ack_irq(vector);
    if tick {
        crate::time::phases::TICKS.fetch_add(1, Ordering::Relaxed);
    }
    tick
}

/// Waits a few microseconds without touching devices: polling the UART back to
/// back keeps the VMM from delivering the next byte.
pub fn pause_briefly() {
    let t0 = elfin_arch::read_cycles();
    let wait = crate::time::cycles_hz() / 200_000;
    while elfin_arch::read_cycles().wrapping_sub(t0) < wait {
        core::hint::spin_loop();
    }
}
