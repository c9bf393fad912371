//! Time: a monotonic clock from the cycle counter and the wall clock from the
//! platform's RTC, both set up lazily so that programs that never ask pay nothing.
use core::sync::atomic::{AtomicU64, Ordering};

static BOOT_CYCLES: AtomicU64 = AtomicU64::new(0);
static HZ: AtomicU64 = AtomicU64::new(0);
/// Wall-clock nanoseconds at BOOT_CYCLES, plus one (0 = not read yet).
static WALL_AT_BOOT: AtomicU64 = AtomicU64::new(0);

/// Records the boot cycle count and a known cycle frequency (0 = unknown).
pub fn init(boot_cycles: u64, hz: u64) {
    BOOT_CYCLES.store(boot_cycles, Ordering::Relaxed);
    HZ.store(hz, Ordering::Relaxed);
}

fn hz() -> u64 {
    let h = HZ.load(Ordering::Relaxed);
    if h != 0 {
        return h;
    }
    let h = elfin_plat::clock::calibrate_cycles_hz().max(1);
    HZ.store(h, Ordering::Relaxed);
    h
}

/// Nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    let d = elfin_arch::read_cycles().saturating_sub(BOOT_CYCLES.load(Ordering::Relaxed));
    ((u128::from(d) * 1_000_000_000) / u128::from(hz())) as u64
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    let mut w = WALL_AT_BOOT.load(Ordering::Relaxed);
    if w == 0 {
        let now_mono = monotonic_ns();
        let secs = elfin_plat::clock::wall_clock_seconds();
        w = (secs * 1_000_000_000).saturating_sub(now_mono) + 1;
        WALL_AT_BOOT.store(w, Ordering::Relaxed);
    }
    (w - 1) + monotonic_ns()
}
