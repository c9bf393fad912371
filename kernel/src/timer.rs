//! The periodic tick: preemption of user threads and wake-ups for deadlines.
//! Preemption is switched on only when a program has a second thread or
//! something waits for a deadline, so a simple program never takes a timer
//! interrupt. Each CPU ticks while it runs a thread (once preemption is on); an
//! idle CPU stops its tick, except the boot CPU while deadlines are pending: it
//! keeps time for everyone, with one timer interrupt at the next deadline rather
//! than a tick every period (a VM whose program sleeps costs the host nothing).
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::task::sched::{this_cpu, MAX_CPUS};

/// Tick rate.
const HZ: u32 = 1000;
/// One tick, in ns.
pub const TICK_NS: u64 = 1_000_000_000 / HZ as u64;

/// CPUs running threads tick.
static PREEMPT: AtomicBool = AtomicBool::new(false);
/// Whose tick is running.
static TICKING: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// The boot CPU is idle with its next tick put off until the next deadline: a
/// CPU adding an earlier deadline must wake it.
static TICK_DELAYED: AtomicBool = AtomicBool::new(false);
/// Cycles each CPU spent idle.
static IDLE_CYCLES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Nanoseconds CPU `c` has spent idle.
pub fn idle_ns(c: usize) -> u64 {
    let cycles = IDLE_CYCLES.get(c).map(|a| a.load(Ordering::Relaxed)).unwrap_or(0);
    crate::time::cycles_to_ns(cycles)
}

fn set_tick(c: usize, on: bool) {
    let Some(slot) = TICKING.get(c) else { return };
    if slot.swap(on, Ordering::SeqCst) != on {
        if on {
            let first = elfin_plat::tick_period() == 0;
            elfin_plat::start_tick(HZ, crate::time::cycles_hz());
            if first {
                log::debug!("tick timer: {} counts a period", elfin_plat::tick_period());
            }
        } else {
            elfin_plat::stop_tick();
        }
    }
}

/// Switches preemption on and starts the calling CPU's tick.
pub fn enable_preemption() {
    PREEMPT.store(true, Ordering::SeqCst);
    set_tick(this_cpu(), true);
}

/// A deadline was added (a timed sleep, an interval timer): preemption goes on,
/// and the boot CPU is woken to keep time if it idles without its tick.
pub fn deadline_added() {
    enable_preemption();
    if this_cpu() != 0 && (!TICKING[0].load(Ordering::SeqCst) || TICK_DELAYED.load(Ordering::SeqCst)) {
        elfin_plat::send_ipi(0);
    }
}

/// The calling CPU is about to run a thread: it ticks if preemption is on.
pub fn thread_running() {
    if PREEMPT.load(Ordering::Relaxed) {
        set_tick(this_cpu(), true);
    }
}

/// Waits for something to happen when no thread can run: the next interrupt, or,
/// when `watch_console` is set, console input (polled for up to a tick).
pub fn idle_wait(watch_console: bool) {
    let c = this_cpu();
    let mut delayed = false;
    if c == 0 {
        // Stop first, then look: a CPU adding a deadline meanwhile sees the tick
        // stopped and wakes this one (see `deadline_added`).
        if !crate::task::sched::deadlines_pending() {
            set_tick(0, false);
        }
        if crate::task::sched::deadlines_pending() {
            set_tick(0, true);
            delayed = !watch_console && delay_until_deadline();
        }
    } else {
        set_tick(c, false);
    }
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
    if delayed {
        // Whatever woke the CPU, the thread it may run next is preempted as usual.
        TICK_DELAYED.store(false, Ordering::SeqCst);
        elfin_plat::start_tick(HZ, crate::time::cycles_hz());
    }
    let d = elfin_arch::read_cycles().wrapping_sub(t0);
    if let Some(slot) = IDLE_CYCLES.get(c) {
        slot.fetch_add(d, Ordering::Relaxed);
    }
    crate::time::phases::IDLE_CYCLES.fetch_add(d, Ordering::Relaxed);
    crate::time::phases::IDLES.fetch_add(1, Ordering::Relaxed);
}

/// The boot CPU, idle with deadlines pending: puts its next tick off until the
/// earliest deadline when that is more than a period away. True when it did.
fn delay_until_deadline() -> bool {
    // Flag first, then look: a CPU adding an earlier deadline meanwhile either is
    // seen here or sees the flag and wakes this CPU (see `deadline_added`).
    TICK_DELAYED.store(true, Ordering::SeqCst);
    let period_ns = 1_000_000_000 / u64::from(HZ);
    let now = crate::time::monotonic_ns();
    let periods = match crate::task::sched::next_deadline() {
        Some(d) => d.saturating_sub(now) / period_ns,
        None => 0,
    };
    if periods < 2 {
        TICK_DELAYED.store(false, Ordering::SeqCst);
        return false;
    }
    elfin_plat::delay_tick(periods);
    true
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
