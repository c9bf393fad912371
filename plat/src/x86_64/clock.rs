//! Clocks of the PC platform: PIT-based calibration of the cycle counter and the
//! CMOS real-time clock.
use elfin_arch::io::{inb, outb};

/// Reads PIT channel 0's current count (latched).
fn pit_count() -> u16 {
    outb(0x43, 0x00);
    let lo = inb(0x40);
    let hi = inb(0x40);
    u16::from(lo) | (u16::from(hi) << 8)
}

/// The cycle counter's and the local APIC timer's input frequencies in Hz, as a
/// hypervisor's timing leaf gives them (CPUID 0x40000010, which KVM under QEMU and
/// VMware fill in); None without one. The APIC figure may be None alone.
pub fn hypervisor_freqs() -> Option<(u64, Option<u64>)> {
    use core::arch::x86_64::__cpuid;
    // A hypervisor is present (CPUID.1:ECX bit 31) and has leaves that far.
    if __cpuid(1).ecx & (1 << 31) == 0 || __cpuid(0x4000_0000).eax < 0x4000_0010 {
        return None;
    }
    let t = __cpuid(0x4000_0010);
    let khz = |v: u32| (v != 0).then(|| u64::from(v) * 1000);
    Some((khz(t.eax)?, khz(t.ebx)))
}

/// The cycle-counter frequency: from the hypervisor's timing leaf when there is
/// one, else measured against PIT channel 0 (2 ms: ±1 PIT tick is 0.04%), using
/// only the PIT's own ports (QEMU `microvm` has no port 0x61). None when there is
/// neither.
pub fn calibrate_cycles_hz() -> Option<u64> {
    if let Some((tsc_hz, _)) = hypervisor_freqs() {
        return Some(tsc_hz);
    }
    calibrate_against_pit()
}

/// A reading of a counter with the cycle counter read just before and after it:
/// the reading was taken somewhere between the two.
#[derive(Clone, Copy)]
pub(crate) struct Stamp<T> {
    /// The counter's value.
    pub value: T,
    /// The cycle counter just before the reading.
    pub before: u64,
    /// The cycle counter just after it.
    pub after: u64,
}

impl<T> Stamp<T> {
    /// Reads the counter with `read`, bracketed by the cycle counter.
    pub fn take(read: impl FnOnce() -> T) -> Self {
        let before = elfin_arch::read_cycles();
        let value = read();
        let after = elfin_arch::read_cycles();
        Stamp { value, before, after }
    }

    /// The cycles between this reading and a later one, from midpoint to midpoint,
    /// and how far the truth may lie from that (half the two brackets' widths).
    pub fn until(&self, later: &Stamp<T>) -> (u64, u64) {
        let mid = |s: &Stamp<T>| s.before / 2 + s.after / 2;
        let slack = (self.after - self.before + later.after - later.before) / 2;
        (mid(later).saturating_sub(mid(self)), slack)
    }
}

/// Picks the best of up to `tries` measurements made by `measure`, each giving
/// `(frequency, cycles measured, slack cycles)` or None when it failed: the first
/// whose slack is under 0.1% of its span (a host that paused the guest at a
/// reading widens that reading's bracket), else the one with the least slack.
pub(crate) fn best_measurement(tries: u32, mut measure: impl FnMut() -> Option<(u64, u64, u64)>) -> Option<u64> {
    let mut best: Option<(u64, u64, u64)> = None;
    for _ in 0..tries {
        let Some(m) = measure() else { continue };
        let (_, span, slack) = m;
        if slack.saturating_mul(1000) <= span {
            return Some(m.0);
        }
        // Compared as slack per cycle measured.
        if best.is_none_or(|(_, bspan, bslack)| {
            u128::from(slack) * u128::from(bspan) < u128::from(bslack) * u128::from(span)
        }) {
            best = Some(m);
        }
    }
    best.map(|m| m.0)
}

fn calibrate_against_pit() -> Option<u64> {
    const PIT_HZ: u64 = 1_193_182;
    const WAIT_TICKS: u64 = PIT_HZ / 500;
    // Channel 0, lobyte/hibyte, mode 2 (rate generator), binary, reload 0x10000.
    outb(0x43, 0x34);
    outb(0x40, 0);
    outb(0x40, 0);
    let mut missing = false;
    let hz = best_measurement(8, || {
        if missing {
            return None;
        }
        let first = Stamp::take(pit_count);
        let mut last = first;
        let mut elapsed: u64 = 0;
        let mut longest_gap = 0;
        let mut spins: u64 = 0;
        while elapsed < WAIT_TICKS {
            let now = Stamp::take(pit_count);
            // The counter counts down and wraps at 0x10000.
            elapsed += u64::from(last.value.wrapping_sub(now.value));
            longest_gap = longest_gap.max(now.after - last.after);
            last = now;
            spins += 1;
            // A missing PIT reads as a constant: give up quickly.
            if (elapsed == 0 && spins > 100_000) || spins > 50_000_000 {
                missing = true;
                return None;
            }
        }
        let (span, slack) = first.until(&last);
        // A pause between two readings longer than half the measurement may have
        // hidden a wrap of the counter (55 ms): measure again.
        if span == 0 || longest_gap > span / 2 {
            return None;
        }
        Some((span * PIT_HZ / elapsed, span, slack))
    });
    if missing {
        return None;
    }
    hz
}

fn cmos(reg: u8) -> u8 {
    outb(0x70, reg);
    inb(0x71)
}

fn bcd(v: u8, is_bcd: bool) -> u64 {
    if is_bcd {
        u64::from((v & 0x0f) + (v >> 4) * 10)
    } else {
        u64::from(v)
    }
}

/// Seconds since the Unix epoch from the CMOS RTC (0 when it is absent).
pub fn wall_clock_seconds() -> u64 {
    // Each register is two port accesses, under KVM two exits to the VMM, so the
    // fields are read once, as Linux does (mc146818_avoid_UIP): no update in
    // progress before them, none after, and the seconds unchanged meanwhile.
    let mut a = [0u8; 7];
    for _ in 0..1_000_000 {
        let sec = cmos(0x00);
        if cmos(0x0a) & 0x80 != 0 {
            core::hint::spin_loop();
            continue;
        }
        a = [sec, cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32)];
        if cmos(0x0a) & 0x80 == 0 && cmos(0x00) == sec {
            break;
        }
    }
    let status_b = cmos(0x0b);
    let is_bcd = status_b & 0x04 == 0;
    let [s, m, h, d, mo, y, c] = a;
    let sec = bcd(s, is_bcd);
    let min = bcd(m, is_bcd);
    let pm = h & 0x80 != 0;
    let mut hour = bcd(h & 0x7f, is_bcd);
    if status_b & 0x02 == 0 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let day = bcd(d, is_bcd);
    let month = bcd(mo, is_bcd);
    let century = if c != 0 && c != 0xff { bcd(c, is_bcd) } else { 20 };
    let year = century * 100 + bcd(y, is_bcd);
    if !(1..=12).contains(&month) || day == 0 || year < 1970 {
        return 0;
    }
    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
