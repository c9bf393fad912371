//! Clocks of arm64 machines: the generic timer's counter frequency (CNTFRQ_EL0) and
//! the PL031 real-time clock, when the device tree has one.
use core::sync::atomic::{AtomicU64, Ordering};

/// Physical address of the PL031 (0 = none).
static RTC_PA: AtomicU64 = AtomicU64::new(0);
/// Its mapping in the device window (0 = not mapped yet).
static RTC_VA: AtomicU64 = AtomicU64::new(0);

pub(crate) fn set_rtc(pa: u64) {
    RTC_PA.store(pa, Ordering::Relaxed);
}

/// The counter frequency: CNTFRQ_EL0 is programmed by firmware/VMM, no measuring
/// (None if it reads 0).
pub fn calibrate_cycles_hz() -> Option<u64> {
    Some(elfin_arch::arm64::counter_frequency()).filter(|&f| f != 0)
}

/// Seconds since the Unix epoch from the PL031 data register (0 when absent).
pub fn wall_clock_seconds() -> u64 {
    let mut va = RTC_VA.load(Ordering::Relaxed);
    if va == 0 {
        let pa = RTC_PA.load(Ordering::Relaxed);
        if pa == 0 {
            return 0;
        }
        va = match elfin_arch::arm64::map_device(pa, 0x1000) {
            Some(v) => v,
            None => return 0,
        };
        RTC_VA.store(va, Ordering::Relaxed);
    }
    // SAFETY: RTCDR (offset 0) of a PL031 mapped as device memory.
    u64::from(unsafe { core::ptr::read_volatile(va as *const u32) })
}
