//! Time: a monotonic clock from the cycle counter and the wall clock from the
//! platform's RTC, both set up lazily so that programs that never ask pay nothing.
use core::sync::atomic::{AtomicU64, Ordering};

static BOOT_CYCLES: AtomicU64 = AtomicU64::new(0);
static HZ: AtomicU64 = AtomicU64::new(0);
/// Wall-clock nanoseconds at BOOT_CYCLES, plus one (0 = not read yet).
static WALL_AT_BOOT: AtomicU64 = AtomicU64::new(0);

/// ns = (cycles * MULT) >> SHIFT: the conversion the vDSO repeats in user mode
/// (arch/vdso/vdso_data.h VDSO_SHIFT), so both read the same clock.
const SHIFT: u32 = 32;
/// The multiplier for the cycle frequency (0 until it is known).
static MULT: AtomicU64 = AtomicU64::new(0);
/// Resolution of the coarse clocks.
pub const COARSE_RES_NS: u64 = 4_000_000;

/// Records the boot cycle count and a known cycle frequency (0 = unknown).
pub fn init(boot_cycles: u64, hz: u64) {
    BOOT_CYCLES.store(boot_cycles, Ordering::Relaxed);
    if hz != 0 {
        set_hz(hz);
    }
}

fn set_hz(h: u64) {
    let m = ((1u128 << SHIFT) * 1_000_000_000 + u128::from(h / 2)) / u128::from(h.max(1));
    MULT.store(u64::try_from(m).unwrap_or(u64::MAX), Ordering::Relaxed);
    HZ.store(h, Ordering::Release);
    crate::vdso::update();
}

/// What the vDSO's [vvar] record publishes (see `crate::vdso`).
pub struct VdsoParams {
    /// Counter value at monotonic time 0.
    pub cycle_base: u64,
    /// Cycle-to-ns multiplier (0 while the frequency is unknown).
    pub mult: u64,
    /// Its shift.
    pub shift: u32,
    /// Realtime at monotonic time 0, once the wall clock was read.
    pub wall_base: Option<u64>,
    /// Resolution of the coarse clocks.
    pub coarse_res: u64,
}

/// The clock state for the vDSO (it never calibrates or reads the RTC itself).
pub fn vdso_params() -> VdsoParams {
    let w = WALL_AT_BOOT.load(Ordering::Relaxed);
    VdsoParams {
        cycle_base: BOOT_CYCLES.load(Ordering::Relaxed),
        mult: if HZ.load(Ordering::Acquire) != 0 { MULT.load(Ordering::Relaxed) } else { 0 },
        shift: SHIFT,
        wall_base: w.checked_sub(1),
        coarse_res: COARSE_RES_NS,
    }
}

/// Frequency of the cycle counter, if it is known without calibrating.
pub fn known_hz() -> Option<u64> {
    Some(HZ.load(Ordering::Acquire)).filter(|&h| h != 0)
}

/// Cycle count at boot (monotonic time 0).
pub fn boot_cycles() -> u64 {
    BOOT_CYCLES.load(Ordering::Relaxed)
}

/// Frequency of the cycle counter (calibrated on first use).
pub fn cycles_hz() -> u64 {
    hz()
}

fn hz() -> u64 {
    let h = HZ.load(Ordering::Relaxed);
    if h != 0 {
        return h;
    }
    let h = match elfin_plat::clock::calibrate_cycles_hz() {
        Some(h) => h,
        None => {
            log::warn!("no timer to calibrate the cycle counter against; assuming 1 GHz");
            1_000_000_000
        }
    };
    set_hz(h);
    log::debug!("cycle counter at {h} Hz");
    // The wall clock's base too, so that the vDSO answers every clock from now on
    // (reading the RTC costs little next to the calibration).
    let _ = realtime_ns();
    h
}

/// Nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    // Calibrate first (on first use): a counter read before it would be stale by
    // the calibration's 2 ms.
    hz();
    cycles_to_ns(elfin_arch::read_cycles().saturating_sub(BOOT_CYCLES.load(Ordering::Relaxed)))
}

/// Nanoseconds in `cycles` of the cycle counter.
pub fn cycles_to_ns(cycles: u64) -> u64 {
    hz();
    ((u128::from(cycles) * u128::from(MULT.load(Ordering::Relaxed))) >> SHIFT) as u64
}

/// Nanoseconds since boot at cycle-counter value `cycles`.
pub fn boot_ns_at(cycles: u64) -> u64 {
    cycles_to_ns(cycles.saturating_sub(BOOT_CYCLES.load(Ordering::Relaxed)))
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    let mut w = WALL_AT_BOOT.load(Ordering::Relaxed);
    if w == 0 {
        let (secs, at) = rtc();
        let mono_at = cycles_to_ns(at.saturating_sub(BOOT_CYCLES.load(Ordering::Relaxed)));
        w = (secs * 1_000_000_000).saturating_sub(mono_at) + 1;
        WALL_AT_BOOT.store(w, Ordering::Relaxed);
        crate::vdso::update();
    }
    (w - 1) + monotonic_ns()
}

/// The RTC's one reading per boot, in seconds since the epoch plus one (0 = not
/// yet), and the cycle counter just before it: it dates the files made before
/// the counter is calibrated and sets the wall clock's base. (x86_64's CMOS RTC
/// costs a VMM exit per port access.)
static RTC_SECS: AtomicU64 = AtomicU64::new(0);
static RTC_CYCLES: AtomicU64 = AtomicU64::new(0);

/// The RTC's reading (whole seconds) and the cycle count it was taken at.
fn rtc() -> (u64, u64) {
    let s = RTC_SECS.load(Ordering::Acquire);
    if s != 0 {
        return (s - 1, RTC_CYCLES.load(Ordering::Relaxed));
    }
    let at = elfin_arch::read_cycles();
    let secs = elfin_plat::clock::wall_clock_seconds();
    RTC_CYCLES.store(at, Ordering::Relaxed);
    RTC_SECS.store(secs.saturating_add(1), Ordering::Release);
    (secs, at)
}

/// Set once the first program is about to run (see [`file_time_ns`]).
static PROGRAM_STARTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The wall-clock time files are stamped with. Before the first program runs and
/// while the cycle counter is not calibrated yet, that is the RTC's time at boot
/// (whole seconds): calibrating costs milliseconds that a program which never asks
/// for the time should not pay for the initrd's files.
pub fn file_time_ns() -> u64 {
    if HZ.load(Ordering::Relaxed) == 0 && !PROGRAM_STARTED.load(Ordering::Relaxed) {
        return rtc().0.saturating_mul(1_000_000_000);
    }
    realtime_ns()
}

/// Times the wall clock was set (clock_settime, settimeofday).
static REALTIME_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Woken when the wall clock is set (timerfds with TFD_TIMER_CANCEL_ON_SET).
static REALTIME_SET: crate::task::WaitQueue = crate::task::WaitQueue::new();

/// Sets the wall clock to `ns` since the Unix epoch (the monotonic clock is
/// untouched).
pub fn set_realtime(ns: u64) {
    let w = ns.saturating_sub(monotonic_ns()).saturating_add(1);
    WALL_AT_BOOT.store(w.max(1), Ordering::Relaxed);
    crate::vdso::update();
    REALTIME_GENERATION.fetch_add(1, Ordering::SeqCst);
    REALTIME_SET.wake_all();
}

/// Changes each time the wall clock is set.
pub fn realtime_generation() -> u64 {
    REALTIME_GENERATION.load(Ordering::SeqCst)
}

/// The queue woken when the wall clock is set.
pub fn realtime_set_queue() -> &'static crate::task::WaitQueue {
    &REALTIME_SET
}

/// The wall-clock time at boot, in nanoseconds since the Unix epoch.
pub fn boot_realtime_ns() -> u64 {
    realtime_ns().saturating_sub(monotonic_ns())
}

/// Cycle counts of the boot phases, for `bootstat`.
pub mod phases {
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    static ENABLED: AtomicBool = AtomicBool::new(false);
    static READY: AtomicU64 = AtomicU64::new(0);
    static ENTRY: AtomicU64 = AtomicU64::new(0);
    /// Page faults resolved for the program.
    pub static FAULTS: AtomicU64 = AtomicU64::new(0);
    /// System calls made by the program.
    pub static SYSCALLS: AtomicU64 = AtomicU64::new(0);
    /// Timer ticks taken.
    pub static TICKS: AtomicU64 = AtomicU64::new(0);
    /// Context switches.
    pub static SWITCHES: AtomicU64 = AtomicU64::new(0);
    /// Cycles spent halted with nothing to run.
    pub static IDLE_CYCLES: AtomicU64 = AtomicU64::new(0);
    /// Times the CPU went idle.
    pub static IDLES: AtomicU64 = AtomicU64::new(0);

    /// Counts a system call (only when the figures are asked for: the count is a
    /// shared atomic, which a multi-CPU kernel would not want on every call).
    #[inline]
    pub fn count_syscall() {
        if ENABLED.load(Ordering::Relaxed) {
            SYSCALLS.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// Counts a page fault resolved for the program (only when the figures are
    /// asked for, as [`count_syscall`]).
    #[inline]
    pub fn count_fault() {
        if ENABLED.load(Ordering::Relaxed) {
            FAULTS.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// Turns reporting on.
    pub fn enable() {
        ENABLED.store(true, Ordering::Relaxed);
        // The identity calls' fast path does not count calls.
        crate::syscall::general_only();
    }
    /// The kernel finished initialising.
    pub fn ready() {
        READY.store(elfin_arch::read_cycles(), Ordering::Relaxed);
    }
    /// The program is about to run its first instruction.
    pub fn entry() {
        super::PROGRAM_STARTED.store(true, Ordering::Relaxed);
        ENTRY.store(elfin_arch::read_cycles(), Ordering::Relaxed);
    }
    /// Prints the phases (at exit) when enabled.
    pub fn report() {
        if ENABLED.load(Ordering::Relaxed) {
            kprintln!(
                "elfin-bootstat: first={} ready={} entry={} exit={} faults={} syscalls={} ticks={} switches={} hz={} idle_cycles={} idles={}",
                elfin_plat::first_cycles(),
                READY.load(Ordering::Relaxed),
                ENTRY.load(Ordering::Relaxed),
                elfin_arch::read_cycles(),
                FAULTS.load(Ordering::Relaxed),
                SYSCALLS.load(Ordering::Relaxed),
                TICKS.load(Ordering::Relaxed),
                SWITCHES.load(Ordering::Relaxed),
                super::HZ.load(Ordering::Relaxed),
                IDLE_CYCLES.load(Ordering::Relaxed),
                IDLES.load(Ordering::Relaxed)
            );
        }
    }
}
