//! Programs elfin must refuse: malformed ELF files (status 126 from the
//! kernel, or 125 if the CLI already rejects them), a dynamically linked ELF
//! and a file that is not ELF at all (status 125 from the CLI, before booting).
//! Each must fail fast, with a one-line reason on stderr.

use std::path::{Path, PathBuf};
use std::time::Duration;

use elfin_tests::*;

/// Refusals must come well before the guest timeout.
const FAST: Duration = Duration::from_secs(20);

fn write_variant(tag: &str, bytes: &[u8]) -> PathBuf {
    let dir = scratch_dir(tag);
    let path = dir.join(tag);
    std::fs::write(&path, bytes).expect("write test file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path
}

fn hello_bytes() -> Vec<u8> {
    std::fs::read(app("x86_64", "glibc", "hello")).expect("read hello")
}

fn u16_at(b: &[u8], off: usize) -> usize {
    u16::from_le_bytes([b[off], b[off + 1]]) as usize
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Runs `path` in elfin and checks a fast refusal with one of `statuses` and a
/// one-line reason on stderr that contains one of `words` (if any are given).
/// Then the same with the host's checks off: the guest kernel must refuse it
/// too (status 126, or 127 for a file it cannot find), with a one-line reason,
/// and stay in control.
fn refused(path: &Path, statuses: &[i32], words: &[&str]) -> Output {
    let mut opts = ElfinOpts::default();
    opts.extra.push("--no-host-check".into());
    let k = run_elfin(path, &[], &opts);
    let kmsg = k.messages();
    let klines: Vec<&str> = kmsg.lines().filter(|l| !l.trim().is_empty()).collect();
    Comparison::labeled("expected", "guest kernel")
        .check(k.status == 126, format!("status {} from the guest kernel is not 126", k.status))
        .check(k.elapsed < FAST, format!("took {:.1?}, more than {FAST:?}", k.elapsed))
        .check(klines.len() == 1, format!("the kernel said {} lines, expected a one-line reason", klines.len()))
        .check(!kmsg.contains("kernel fault") && !kmsg.contains("panic"), "the kernel crashed")
        .finish(None, &k);
    refused_by_host(path, statuses, words)
}

/// The host-side refusal (the CLI's own checks).
fn refused_by_host(path: &Path, statuses: &[i32], words: &[&str]) -> Output {
    let out = run_elfin(path, &[], &ElfinOpts::default());
    let stderr = out.stderr_str();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let lower = stderr.to_lowercase();
    Comparison::new()
        .check(statuses.contains(&out.status), format!("status {} is not one of {statuses:?}", out.status))
        .check(out.elapsed < FAST, format!("took {:.1?}, more than {FAST:?}", out.elapsed))
        .check(lines.len() == 1, format!("stderr has {} non-empty lines, expected a one-line reason", lines.len()))
        .check(
            words.is_empty() || words.iter().any(|w| lower.contains(&w.to_lowercase())),
            format!("stderr mentions none of {words:?}"),
        )
        .check(out.stdout.is_empty(), "stdout is not empty")
        .finish(None, &out);
    out
}

#[test]
fn truncated_elf_headers_only() {
    // The ELF header and program headers survive; every segment is cut off.
    let b = hello_bytes();
    let phoff = u64_at(&b, 0x20) as usize;
    let end = phoff + u16_at(&b, 0x36) * u16_at(&b, 0x38);
    refused(&write_variant("truncated", &b[..end]), &[125, 126], &[]);
}

#[test]
fn truncated_elf_mid_header() {
    let b = hello_bytes();
    refused(&write_variant("short", &b[..40]), &[125, 126], &[]);
}

#[test]
fn elf_with_program_headers_out_of_file() {
    let mut b = hello_bytes();
    let bad = (b.len() as u64 + 0x10000).to_le_bytes();
    b[0x20..0x28].copy_from_slice(&bad);
    refused(&write_variant("bad-phoff", &b), &[125, 126], &[]);
}

#[test]
fn elf_with_wrong_machine() {
    // e_machine = EM_AARCH64 on an x86_64 guest.
    let mut b = hello_bytes();
    b[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    refused(&write_variant("wrong-machine", &b), &[125, 126], &[]);
}

#[test]
fn elf_with_corrupted_segment_sizes() {
    // Every PT_LOAD claims a file size beyond the end of the file.
    let mut b = hello_bytes();
    let phoff = u64_at(&b, 0x20) as usize;
    let (entsize, num) = (u16_at(&b, 0x36), u16_at(&b, 0x38));
    let huge = (b.len() as u64 * 16).to_le_bytes();
    for i in 0..num {
        let ph = phoff + i * entsize;
        if u32::from_le_bytes([b[ph], b[ph + 1], b[ph + 2], b[ph + 3]]) == 1 {
            b[ph + 0x20..ph + 0x28].copy_from_slice(&huge); // p_filesz
            b[ph + 0x28..ph + 0x30].copy_from_slice(&huge); // p_memsz
        }
    }
    refused(&write_variant("bad-filesz", &b), &[125, 126], &[]);
}

#[test]
fn dynamic_elf_is_rejected_by_the_cli() {
    let dynamic = app("x86_64", "invalid", "hello-dynamic");
    refused(&dynamic, &[125], &["dynamically linked", "static-pie", "PT_INTERP", "interpreter"]);
}

#[test]
fn non_elf_file_is_rejected_by_the_cli() {
    let script = write_variant("script", b"#!/bin/sh\necho not an ELF file\n");
    refused(&script, &[125], &["ELF"]);
}
