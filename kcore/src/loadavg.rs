//! Linux's load-average arithmetic: exponentially damped averages of a count,
//! in fixed point, one sample every 5 seconds.

/// Fraction bits (Linux's FSHIFT).
pub const FSHIFT: u32 = 11;
/// 1.0 in fixed point.
pub const FIXED_1: u64 = 1 << FSHIFT;
/// The decay per sample of the 1-, 5- and 15-minute averages: 2048 / e^(5 s / 1, 5, 15 min).
pub const EXP: [u64; 3] = [1884, 2014, 2037];
/// Time between samples.
pub const PERIOD_NS: u64 = 5_000_000_000;
/// Samples past which every average has reached the count (2037/2048 to this power is 0).
pub const MAX_STEPS: u64 = 4096;

/// One sample of `active` (fixed point) into `load` (Linux's calc_load): rounds up
/// while rising, so that a steady count is reached.
pub fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let keep = FIXED_1.saturating_sub(exp);
    let mut new = load.saturating_mul(exp).saturating_add(active.saturating_mul(keep));
    if active >= load {
        new = new.saturating_add(FIXED_1 - 1);
    }
    new >> FSHIFT
}

/// `steps` samples of the same count `active` (a whole number) into the three averages.
pub fn sample(avg: &mut [u64; 3], active: u64, steps: u64) {
    let active = active.saturating_mul(FIXED_1);
    for _ in 0..steps.min(MAX_STEPS) {
        for (a, e) in avg.iter_mut().zip(EXP) {
            *a = calc_load(*a, e, active);
        }
    }
}

/// `x` (fixed point) as /proc/loadavg prints it: the whole part and two decimals,
/// rounded.
pub fn two_decimals(x: u64) -> (u64, u64) {
    let x = x.saturating_add(FIXED_1 / 200);
    (x >> FSHIFT, (x & (FIXED_1 - 1)).saturating_mul(100) >> FSHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_count_is_reached_and_left() {
        let mut a = [0; 3];
        sample(&mut a, 2, MAX_STEPS);
        assert_eq!(a, [2 * FIXED_1; 3]);
        sample(&mut a, 0, MAX_STEPS);
        assert_eq!(a, [0; 3]);
    }

    #[test]
    fn a_minute_of_one_busy_thread() {
        // Twelve samples: 1 - e^-1 = 0.63, 1 - e^-1/5 = 0.18, 1 - e^-1/15 = 0.06.
        let mut a = [0; 3];
        sample(&mut a, 1, 12);
        let shown: Vec<(u64, u64)> = a.iter().map(|&x| two_decimals(x)).collect();
        assert_eq!(shown, [(0, 63), (0, 18), (0, 6)]);
    }

    #[test]
    fn printing_rounds_to_two_decimals() {
        assert_eq!(two_decimals(0), (0, 0));
        assert_eq!(two_decimals(FIXED_1), (1, 0));
        assert_eq!(two_decimals(FIXED_1 / 2), (0, 50));
        assert_eq!(two_decimals(3 * FIXED_1 + FIXED_1 * 99 / 100), (3, 99));
    }
}
