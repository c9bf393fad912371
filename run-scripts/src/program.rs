//! Checks on the program before any VM starts: exists, is a regular file, is a 64-bit
//! ELF for the chosen architecture, and passes the loader's own plan (static-PIE etc.).

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::arch::Arch;
use crate::fail::Fail;

/// A program read from the host and found runnable.
pub struct Program {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// Its file name, used for `/app/<basename>`.
    pub basename: Vec<u8>,
    /// Its modification time (seconds).
    pub mtime: i64,
}

/// The program's metadata and file name, after the checks that need no reading:
/// it exists, is a regular file and has a name.
pub fn stat(path: &Path) -> Result<(fs::Metadata, Vec<u8>), Fail> {
    let p = path.display();
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Fail::new(format!("{p}: no such file")),
        _ => Fail::new(format!("{p}: {e}")),
    })?;
    if meta.is_dir() {
        return Err(Fail::new(format!("{p} is a directory, not a program")));
    }
    if !meta.is_file() {
        return Err(Fail::new(format!("{p} is not a regular file")));
    }
    let basename = path.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    if basename.is_empty() {
        return Err(Fail::new(format!("{p} has no file name")));
    }
    Ok((meta, basename))
}

/// Reads and checks the program at `path` for `arch`; with `check_elf_on_host`
/// false, the ELF checks are left to the guest kernel.
pub fn load(path: &Path, arch: Arch, check_elf_on_host: bool) -> Result<Program, Fail> {
    let p = path.display();
    let (meta, basename) = stat(path)?;
    let bytes = fs::read(path).map_err(|e| Fail::new(format!("{p}: {e}")))?;
    if check_elf_on_host {
        check_elf(&bytes, arch).map_err(|why| Fail::new(format!("{p}{why}")))?;
    }
    Ok(Program { bytes, basename, mtime: meta.mtime() })
}

/// Checks the ELF header and asks the loader for a plan. On failure returns the rest
/// of a message that follows the file name (starting with ":" or " is").
pub fn check_elf(bytes: &[u8], arch: Arch) -> Result<(), String> {
    if bytes.is_empty() {
        return Err(" is empty, not an ELF executable".into());
    }
    if !bytes.starts_with(b"\x7fELF") {
        return Err(not_elf(bytes));
    }
    match bytes.get(4) {
        Some(2) => {}
        Some(1) => return Err(" is a 32-bit ELF program; elfin runs 64-bit x86_64 and aarch64 programs".into()),
        _ => return Err(" is not a valid ELF file (bad class byte)".into()),
    }
    if bytes.get(5) != Some(&1) {
        return Err(" is a big-endian ELF program; elfin runs little-endian x86_64 and aarch64 programs".into());
    }
    let e_machine = match bytes.get(18..20) {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => return Err(" is a truncated ELF file".into()),
    };
    match Arch::from_elf_machine(e_machine) {
        Some(a) if a == arch => {}
        Some(a) => {
            return Err(format!(" is an {} program, not {}; run it with --arch {}", a.name(), arch.name(), a.name()))
        }
        None => {
            return Err(format!(
                " is an ELF program for machine type {e_machine}; elfin runs x86_64 and aarch64 programs"
            ))
        }
    }
    elfin_loader::plan(bytes, arch.loader_machine()).map(|_| ()).map_err(|e| format!(": {e}"))
}

/// Why a file that is not ELF cannot run: how it starts, and a hint for scripts.
fn not_elf(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let line_end = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
    let shown = &bytes[..line_end.min(MAX)];
    let text =
        std::str::from_utf8(shown).ok().filter(|s| !s.is_empty() && !s.chars().any(|c| c.is_control() && c != '\t'));
    match text {
        Some(t) => {
            let more = if shown.len() < bytes.len() { "…" } else { "" };
            let hint = if t.starts_with("#!") {
                "; to run a script, run a static-PIE build of its interpreter and pass the script with -v"
            } else {
                ""
            };
            format!(" is not an ELF executable (it starts with '{t}'{more}){hint}")
        }
        None => {
            let hex: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!(" is not an ELF executable (it starts with the bytes {})", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf_header(class: u8, data: u8, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = class;
        h[5] = data;
        h[6] = 1;
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h
    }

    #[test]
    fn not_elf_messages() {
        let e = check_elf(b"#!/bin/sh\necho hi\n", Arch::X86_64).expect_err("script");
        assert!(e.starts_with(" is not an ELF executable (it starts with '#!/bin/sh'…); to run a script"), "{e}");
        let e = check_elf(b"MZ\x90\x00\x03", Arch::X86_64).expect_err("binary");
        assert_eq!(e, " is not an ELF executable (it starts with the bytes 4d 5a 90 00)");
        let e = check_elf(b"hello", Arch::X86_64).expect_err("text");
        assert_eq!(e, " is not an ELF executable (it starts with 'hello')");
        assert!(check_elf(b"", Arch::X86_64).expect_err("empty").contains("empty"));
    }

    #[test]
    fn header_checks() {
        assert!(check_elf(&elf_header(1, 1, 3), Arch::X86_64).expect_err("32").contains("32-bit"));
        assert!(check_elf(&elf_header(2, 2, 62), Arch::X86_64).expect_err("be").contains("big-endian"));
        let e = check_elf(&elf_header(2, 1, 183), Arch::X86_64).expect_err("arch");
        assert_eq!(e, " is an aarch64 program, not x86_64; run it with --arch aarch64");
        let e = check_elf(&elf_header(2, 1, 62), Arch::Aarch64).expect_err("arch");
        assert!(e.ends_with("--arch x86_64"), "{e}");
        assert!(check_elf(&elf_header(2, 1, 243), Arch::X86_64).expect_err("riscv").contains("machine type 243"));
        assert!(check_elf(b"\x7fELF\x02\x01", Arch::X86_64).expect_err("short").contains("truncated"));
    }
}
