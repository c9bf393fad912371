//! `choose_bias`: where a static-PIE goes in the address space.
//!
//! We place a static PIE the way Linux places a PIE that has an interpreter
//! (`load_elf_binary`: `ELF_ET_DYN_BASE + arch_mmap_rnd()`, then aligned to the largest
//! `p_align`). Linux itself puts an interpreter-less ET_DYN in the mmap region instead;
//! using `ELF_ET_DYN_BASE` keeps the program, its brk and the mmap region well apart and
//! gives the familiar `0x5555_5555_4000` / `0xaaaa_aaaa_a000` addresses with ASLR off.
//!
//! Randomisation ([`aslr_bits`]): on x86_64, 30 bits of page offset (a 4 TiB window in
//! 4 KiB steps) — more than Linux's default `mmap_rnd_bits` (28, range 28..=32) that a
//! PIE base gets there, as elfin's target for the PIE base; on aarch64, 28 bits (a 1 TiB
//! window), inside arm64's range for 48-bit VA (18..=33, default 18). Aligning to a larger
//! `p_align` (64 KiB on many aarch64 binaries) drops the low bits, as on Linux. Even the
//! top of the x86_64 window (`0x5955_5555_4000` plus the image and its brk) stays far
//! below the mmap area (`0x7eff_...` at the lowest with 28 bits of mmap randomisation).

use crate::plan::{ElfKind, LoadPlan, Machine, PAGE_SIZE};

/// Linux x86_64 `ELF_ET_DYN_BASE` (`DEFAULT_MAP_WINDOW / 3 * 2`), page-aligned.
pub const X86_64_ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Linux arm64 `ELF_ET_DYN_BASE` (`2 * DEFAULT_MAP_WINDOW_64 / 3`, 48-bit VA), page-aligned.
pub const AARCH64_ET_DYN_BASE: u64 = 0xaaaa_aaaa_a000;
/// Bits of randomness in the static-PIE base on x86_64 (page-granular offsets).
pub const X86_64_ASLR_BITS: u32 = 30;
/// Bits of randomness in the static-PIE base on aarch64 (page-granular offsets).
pub const AARCH64_ASLR_BITS: u32 = 28;

/// Bits of page-granular randomness in the static-PIE base for `machine`.
pub const fn aslr_bits(machine: Machine) -> u32 {
    match machine {
        Machine::X86_64 => X86_64_ASLR_BITS,
        Machine::Aarch64 => AARCH64_ASLR_BITS,
    }
}

/// Choose the load bias: the value added to every link address of `plan`.
///
/// `StaticExec` gets 0. A `StaticPie` gets `ELF_ET_DYN_BASE - lowest`, plus, if `aslr`,
/// the low [`aslr_bits`] bits of `random` as a page offset, rounded down to
/// `plan.max_align`. The result is page-aligned and keeps `[bias + lowest, bias + highest)`
/// below [`Machine::user_end`]. If the randomised placement would not fit, the
/// unrandomised one is used; if that does not fit either (a PIE linked above
/// `ELF_ET_DYN_BASE`), the bias is 0 and the program loads at its link addresses, which
/// `plan` has checked lie in the user range. Never overflows.
pub fn choose_bias(plan: &LoadPlan, random: u64, aslr: bool) -> u64 {
    if plan.kind == ElfKind::StaticExec {
        return 0;
    }
    let base = match plan.machine {
        Machine::X86_64 => X86_64_ET_DYN_BASE,
        Machine::Aarch64 => AARCH64_ET_DYN_BASE,
    };
    let align = if plan.max_align.is_power_of_two() { plan.max_align.max(PAGE_SIZE) } else { PAGE_SIZE };
    let mask = !align.wrapping_sub(1);
    let user_end = plan.machine.user_end();
    let place = |offset: u64| -> Option<u64> {
        let target = base.checked_add(offset)?;
        let bias = target.checked_sub(plan.lowest)? & mask;
        let start = bias.checked_add(plan.lowest)?;
        let end = bias.checked_add(plan.highest)?;
        (start < end && end <= user_end).then_some(bias)
    };
    let offset = if aslr {
        let pages = random & ((1u64 << aslr_bits(plan.machine)).wrapping_sub(1));
        pages.checked_mul(PAGE_SIZE).unwrap_or(0)
    } else {
        0
    };
    place(offset).or_else(|| place(0)).unwrap_or(0)
}

#[cfg(test)]
// Tests compute expected values from small constants; checked arithmetic there
// would only obscure them. (unwrap in tests: clippy.toml.)
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::plan::{Prot, Segment};
    use alloc::vec;

    fn pie(machine: Machine, lowest: u64, highest: u64, max_align: u64) -> LoadPlan {
        LoadPlan {
            kind: ElfKind::StaticPie,
            machine,
            segments: vec![Segment {
                vaddr: lowest,
                memsz: highest - lowest,
                offset: 0,
                filesz: 0,
                prot: Prot { read: true, write: false, exec: true },
            }],
            entry: lowest,
            phdr_vaddr: lowest + 64,
            phent: 56,
            phnum: 1,
            lowest,
            highest,
            max_align,
            tls: None,
            exec_stack: false,
        }
    }

    #[test]
    fn no_aslr_matches_linux() {
        // Linux: ELF_ET_DYN_BASE with randomisation off, e.g. `setarch -R`.
        let p = pie(Machine::X86_64, 0, 0x10_0000, 0x1000);
        assert_eq!(choose_bias(&p, 0xdead_beef, false), 0x5555_5555_4000);
        // arm64 binaries are usually 64 KiB aligned: gdb shows 0xaaaa_aaaa_0000.
        let p = pie(Machine::Aarch64, 0, 0x10_0000, 0x1_0000);
        assert_eq!(choose_bias(&p, 0, false), 0xaaaa_aaaa_0000);
        let p = pie(Machine::Aarch64, 0, 0x10_0000, 0x1000);
        assert_eq!(choose_bias(&p, 0, false), 0xaaaa_aaaa_a000);
    }

    #[test]
    fn derived_bases() {
        // DEFAULT_MAP_WINDOW = (1 << 47) - 4096 on x86_64; 1 << 48 on arm64.
        assert_eq!((((1u64 << 47) - 4096) / 3 * 2) & !0xfff, X86_64_ET_DYN_BASE);
        assert_eq!((2 * (1u64 << 48) / 3) & !0xfff, AARCH64_ET_DYN_BASE);
    }

    #[test]
    fn subtracts_lowest() {
        let p = pie(Machine::X86_64, 0x40_0000, 0x50_0000, 0x1000);
        let bias = choose_bias(&p, 0, false);
        assert_eq!(bias + p.lowest, X86_64_ET_DYN_BASE);
    }

    #[test]
    fn exec_is_zero() {
        let mut p = pie(Machine::X86_64, 0x40_0000, 0x50_0000, 0x1000);
        p.kind = ElfKind::StaticExec;
        assert_eq!(choose_bias(&p, u64::MAX, true), 0);
    }

    #[test]
    fn aslr_range_and_alignment() {
        for (machine, align) in [(Machine::X86_64, 0x1000), (Machine::Aarch64, 0x1_0000), (Machine::X86_64, 0x20_0000)]
        {
            let p = pie(machine, 0, 0x100_0000, align);
            let base = choose_bias(&p, 0, true);
            let top = choose_bias(&p, u64::MAX, true);
            assert!(top > base);
            // 30 (x86_64) or 28 (aarch64) bits of pages: a window of 4 TiB or 1 TiB
            // (less what the alignment rounds off).
            let window = PAGE_SIZE << aslr_bits(machine);
            assert!(top - base <= window && top - base >= window - align, "{:#x}", top - base);
            let mut x = 0x1234_5678_9abc_def0u64;
            for _ in 0..10_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let b = choose_bias(&p, x, true);
                assert_eq!(b % align, 0);
                assert!(b >= base && b <= top);
                assert!(b + p.highest <= machine.user_end());
            }
            // Only the low aslr_bits bits matter.
            assert_eq!(choose_bias(&p, 5 | (1 << 40), true), choose_bias(&p, 5, true));
        }
    }

    #[test]
    fn x86_64_pie_base_has_30_bits() {
        let p = pie(Machine::X86_64, 0, 0x1000, 0x1000);
        // Bit 29 of the random value moves the base; bit 30 does not.
        assert_eq!(choose_bias(&p, 1 << 29, true), X86_64_ET_DYN_BASE + (1u64 << 29) * PAGE_SIZE);
        assert_eq!(choose_bias(&p, 1 << 30, true), X86_64_ET_DYN_BASE);
        assert_eq!(aslr_bits(Machine::X86_64), 30);
        assert_eq!(aslr_bits(Machine::Aarch64), 28);
    }

    #[test]
    fn aslr_changes_the_base() {
        let p = pie(Machine::X86_64, 0, 0x1000, 0x1000);
        assert_eq!(choose_bias(&p, 1, true), X86_64_ET_DYN_BASE + 0x1000);
        assert_eq!(choose_bias(&p, 0x0fff_ffff, true), X86_64_ET_DYN_BASE + 0x0fff_ffff * 0x1000);
    }

    #[test]
    fn never_overflows_on_hand_made_plans() {
        let cases = [
            (0, !0xfff, 0x1000),
            (!0xfff, !0xfff, 0x1000),
            (0x7000_0000_0000, 0x7fff_ffff_f000, 0x1000),
            (0, 0x1000, 0),
            (0, 0x1000, 3),
            (0, 0x1000, 1 << 63),
            (0x6000_0000_0000, 0x6000_0000_1000, 0x1000),
        ];
        for (lowest, highest, align) in cases {
            for machine in [Machine::X86_64, Machine::Aarch64] {
                let p = pie(machine, lowest, highest.max(lowest), align);
                for aslr in [false, true] {
                    for r in [0, 1, u64::MAX] {
                        let b = choose_bias(&p, r, aslr);
                        assert_eq!(b % 0x1000, 0);
                    }
                }
            }
        }
        // A PIE linked above the base loads at its link address.
        let p = pie(Machine::X86_64, 0x6000_0000_0000, 0x6000_0000_1000, 0x1000);
        assert_eq!(choose_bias(&p, 0, false), 0);
    }
}
