//! Kernel randomness: a ChaCha8 generator seeded from the CPU's random-number
//! instructions where present, else from cycle-counter jitter. Eight rounds are
//! what Go's runtime uses for its own randomness: the best published attack
//! reaches seven, and a refill costs a third less than ChaCha12's (the first
//! refill is on the path to the program's entry: AT_RANDOM and ASLR).
//!
//! The kernel's own few values per exec (ASLR offsets, AT_RANDOM; [`u64`] and
//! [`fill_small`]) come straight from the CPU's DRBG (RDRAND, RNDR) where there
//! is one: at boot a 256-byte ChaCha refill for them would cost more than the
//! draws. What programs ask for (getrandom, /dev/urandom) comes from ChaCha,
//! whose buffered bytes stay cheap where RDRAND is slow (microcode that
//! serialises it across cores costs microseconds a draw).
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

static RNG: crate::sync::Mutex<Option<ChaCha8Rng>> = crate::sync::Mutex::new(None);
/// The CPU's features, when it has a random-number instruction.
static HW: spin::Once<elfin_arch::Features> = spin::Once::new();
/// Largest draw [`fill_small`] answers from the CPU's generator.
const SMALL: usize = 16;

/// Seeds the generator.
pub fn init(f: &elfin_arch::Features) {
    if elfin_arch::random_u64_drbg(f).is_some() {
        HW.call_once(|| *f);
    }
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        let v = elfin_arch::random_u64(f).unwrap_or_else(jitter);
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    *RNG.lock() = Some(ChaCha8Rng::from_seed(seed));
}

/// 64 bits mixed from the low bits of many cycle-counter deltas.
fn jitter() -> u64 {
    let mut acc = 0u64;
    for i in 0..256u32 {
        let a = elfin_arch::read_cycles();
        let mut x = a;
        for _ in 0..(i % 7) {
            x = x.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
        }
        let b = elfin_arch::read_cycles();
        acc = acc.rotate_left(5) ^ (b.wrapping_sub(a)) ^ x;
    }
    acc
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    match RNG.lock().as_mut() {
        Some(r) => r.fill_bytes(buf),
        None => buf.iter_mut().for_each(|b| *b = jitter() as u8),
    }
}

/// Fills a small `buf` from the CPU's generator; false when there is none (or
/// it kept failing).
fn fill_from_cpu(buf: &mut [u8]) -> bool {
    let Some(f) = HW.get() else { return false };
    for chunk in buf.chunks_mut(8) {
        let Some(v) = elfin_arch::random_u64_drbg(f) else { return false };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
    true
}

/// Fills a buffer of the kernel's own (up to [`SMALL`] bytes) with random bytes,
/// from the CPU's generator when there is one.
pub fn fill_small(buf: &mut [u8]) {
    if buf.len() > SMALL || !fill_from_cpu(buf) {
        fill(buf);
    }
}

/// A random 64-bit number for the kernel's own use (from the CPU's generator
/// when there is one).
pub fn u64() -> u64 {
    let mut b = [0u8; 8];
    fill_small(&mut b);
    u64::from_le_bytes(b)
}
