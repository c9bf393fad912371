//! Time structs: `timespec`, `timeval`, `timezone`, `itimerspec`, `itimerval`,
//! and the clock ids.

use core::mem::size_of;

/// Nanoseconds per second.
const NSEC_PER_SEC: u64 = 1_000_000_000;
/// Microseconds per second.
const USEC_PER_SEC: u64 = 1_000_000;

/// `struct __kernel_timespec`, include/uapi/linux/time_types.h (the 64-bit `timespec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, 0..1_000_000_000 when valid.
    pub tv_nsec: i64,
}
const _: () = assert!(size_of::<Timespec>() == 16);

impl Timespec {
    /// The zero time.
    pub const ZERO: Timespec = Timespec { tv_sec: 0, tv_nsec: 0 };

    /// The timespec for a count of nanoseconds.
    pub const fn from_nanos(ns: u64) -> Timespec {
        // Both quotients fit: u64::MAX / 1e9 < i64::MAX, and the remainder < 1e9.
        Timespec { tv_sec: (ns / NSEC_PER_SEC) as i64, tv_nsec: (ns % NSEC_PER_SEC) as i64 }
    }

    /// Whether `tv_nsec` is in range and `tv_sec` is not negative, as Linux's
    /// `timespec64_valid` requires of a user-supplied time.
    pub const fn is_valid(&self) -> bool {
        self.tv_sec >= 0 && self.tv_nsec >= 0 && self.tv_nsec < NSEC_PER_SEC as i64
    }

    /// Total nanoseconds, or `None` if invalid or too large for a `u64`.
    pub fn as_nanos(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        let secs = u64::try_from(self.tv_sec).ok()?;
        let nsec = u64::try_from(self.tv_nsec).ok()?;
        secs.checked_mul(NSEC_PER_SEC)?.checked_add(nsec)
    }
}

/// `struct timeval` (`__kernel_old_timeval`), include/uapi/linux/time_types.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, 0..1_000_000 when valid.
    pub tv_usec: i64,
}
const _: () = assert!(size_of::<Timeval>() == 16);

impl Timeval {
    /// The timeval for a count of microseconds.
    pub const fn from_micros(us: u64) -> Timeval {
        Timeval { tv_sec: (us / USEC_PER_SEC) as i64, tv_usec: (us % USEC_PER_SEC) as i64 }
    }

    /// The timeval for a count of nanoseconds, truncated to microseconds.
    pub const fn from_nanos(ns: u64) -> Timeval {
        Timeval::from_micros(ns / 1000)
    }

    /// Whether `tv_usec` is in range and `tv_sec` is not negative.
    pub const fn is_valid(&self) -> bool {
        self.tv_sec >= 0 && self.tv_usec >= 0 && self.tv_usec < USEC_PER_SEC as i64
    }

    /// Total microseconds, or `None` if invalid or too large for a `u64`.
    pub fn as_micros(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        let secs = u64::try_from(self.tv_sec).ok()?;
        let usec = u64::try_from(self.tv_usec).ok()?;
        secs.checked_mul(USEC_PER_SEC)?.checked_add(usec)
    }
}

/// `struct timezone`, include/uapi/linux/time.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}
const _: () = assert!(size_of::<Timezone>() == 8);

/// `struct __kernel_itimerspec`, include/uapi/linux/time_types.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Itimerspec {
    /// Reload value.
    pub it_interval: Timespec,
    /// Time to the next expiry.
    pub it_value: Timespec,
}
const _: () = assert!(size_of::<Itimerspec>() == 32);

/// `struct itimerval` (`__kernel_old_itimerval`), include/uapi/linux/time.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Itimerval {
    /// Reload value.
    pub it_interval: Timeval,
    /// Time to the next expiry.
    pub it_value: Timeval,
}
const _: () = assert!(size_of::<Itimerval>() == 32);

/// `struct sigevent`, include/uapi/asm-generic/siginfo.h: how a timer or a
/// message queue notifies (the union after `sigev_notify` starts with the thread
/// id of SIGEV_THREAD_ID).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Sigevent {
    /// `sigev_value` (a pointer or an int).
    pub sigev_value: u64,
    /// Signal number.
    pub sigev_signo: i32,
    /// `SIGEV_*`.
    pub sigev_notify: i32,
    /// `_sigev_un._tid` for SIGEV_THREAD_ID (the start of the union).
    pub sigev_notify_thread_id: i32,
    /// The rest of the union.
    pub _pad: [i32; 11],
}
const _: () = assert!(size_of::<Sigevent>() == 64);

/// `sigev_notify` values and timerfd flags (include/uapi/asm-generic/siginfo.h,
/// include/uapi/linux/timerfd.h).
pub mod sigev {
    /// Signal.
    pub const SIGEV_SIGNAL: i32 = 0;
    /// Nothing.
    pub const SIGEV_NONE: i32 = 1;
    /// A thread (implemented by the C library; the kernel refuses it).
    pub const SIGEV_THREAD: i32 = 2;
    /// Signal to one thread.
    pub const SIGEV_THREAD_ID: i32 = 4;
    /// timerfd_settime: the time is absolute.
    pub const TFD_TIMER_ABSTIME: u32 = 1;
    /// timerfd_settime: reads fail with ECANCELED when the wall clock is set.
    pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
}

/// Clock ids and timer flags, include/uapi/linux/time.h.
pub mod clock {
    /// System-wide wall clock.
    pub const CLOCK_REALTIME: i32 = 0;
    /// Monotonic time since an unspecified start, not counting suspend.
    pub const CLOCK_MONOTONIC: i32 = 1;
    /// CPU time of the calling process.
    pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    /// CPU time of the calling thread.
    pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    /// Monotonic time without NTP slewing.
    pub const CLOCK_MONOTONIC_RAW: i32 = 4;
    /// Fast, coarse wall clock.
    pub const CLOCK_REALTIME_COARSE: i32 = 5;
    /// Fast, coarse monotonic clock.
    pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
    /// Monotonic time including suspend.
    pub const CLOCK_BOOTTIME: i32 = 7;
    /// Wall clock that wakes the system from suspend.
    pub const CLOCK_REALTIME_ALARM: i32 = 8;
    /// Boot time that wakes the system from suspend.
    pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
    /// International Atomic Time.
    pub const CLOCK_TAI: i32 = 11;
    /// `clock_nanosleep`/`timer_settime` flag: the time is absolute.
    pub const TIMER_ABSTIME: u32 = 0x01;
    /// `setitimer` timer: real time, delivers SIGALRM.
    pub const ITIMER_REAL: i32 = 0;
    /// `setitimer` timer: user CPU time, delivers SIGVTALRM.
    pub const ITIMER_VIRTUAL: i32 = 1;
    /// `setitimer` timer: process CPU time, delivers SIGPROF.
    pub const ITIMER_PROF: i32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_nanos_round_trip() {
        let t = Timespec::from_nanos(3_000_000_007);
        assert_eq!(t, Timespec { tv_sec: 3, tv_nsec: 7 });
        assert_eq!(t.as_nanos(), Some(3_000_000_007));
        assert_eq!(Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 }.as_nanos(), None);
        assert_eq!(Timespec { tv_sec: -1, tv_nsec: 0 }.as_nanos(), None);
        assert_eq!(Timespec { tv_sec: i64::MAX, tv_nsec: 0 }.as_nanos(), None);
    }

    #[test]
    fn timeval_micros_round_trip() {
        let t = Timeval::from_nanos(2_500_000_999);
        assert_eq!(t, Timeval { tv_sec: 2, tv_usec: 500_000 });
        assert_eq!(t.as_micros(), Some(2_500_000));
        assert_eq!(Timeval { tv_sec: 0, tv_usec: -1 }.as_micros(), None);
    }
}
