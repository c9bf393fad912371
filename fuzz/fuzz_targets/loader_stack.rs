//! `elfin_loader::build_stack` with arguments made from any bytes: it never panics,
//! and when it succeeds the image fits the limit and the stack pointer is aligned
//! and below the top.
#![no_main]

use elfin_loader::{build_stack, StackArgs};
use libfuzzer_sys::fuzz_target;

/// Splits `data` into NUL-free strings at 0xff bytes.
fn strings(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == 0xff).collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let (head, rest) = data.split_at(24);
    let word = |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let stack_top = word(0);
    let max_size = (word(1) % (1 << 24)) as usize;
    let knobs = word(2);
    // argv | envp | execfn | platform | auxv bytes, separated by 0xfe.
    let mut parts = rest.split(|&b| b == 0xfe);
    let argv_raw = parts.next().unwrap_or(&[]);
    let envp_raw = parts.next().unwrap_or(&[]);
    let execfn = parts.next().unwrap_or(b"/app/x");
    let platform = parts.next().unwrap_or(b"");
    let aux_raw = parts.next().unwrap_or(&[]);
    let argv: Vec<&[u8]> = if argv_raw.is_empty() && knobs & 1 == 0 { Vec::new() } else { strings(argv_raw) };
    let envp: Vec<&[u8]> = if envp_raw.is_empty() { Vec::new() } else { strings(envp_raw) };
    let auxv: Vec<(u64, u64)> = aux_raw
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])),
                u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8])),
            )
        })
        .collect();
    let args = StackArgs { argv: &argv, envp: &envp, execfn, platform, random: [knobs as u8; 16], auxv: &auxv };
    if let Ok(img) = build_stack(stack_top, &args, max_size) {
        assert!(img.bytes.len() <= max_size, "image of {} bytes over the limit {max_size}", img.bytes.len());
        assert_eq!(img.sp % 16, 0, "sp not 16-byte aligned");
        assert!(img.sp < stack_top && stack_top - img.sp == img.bytes.len() as u64, "sp and image disagree");
    }
});
