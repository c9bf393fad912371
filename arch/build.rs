//! Builds the vDSO (`arch/vdso/<arch>/`) as Linux does: C and assembly compiled
//! position-independent into a small shared object, which the kernel embeds with
//! `include_bytes!`. Also writes the offsets of the symbols the kernel needs.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("vdso");
    let so = out.join("vdso.so");
    let syms = out.join("vdso_syms.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
    if os != "none" || !matches!(arch.as_str(), "x86_64" | "aarch64") {
        // A host build (tests, tools) has no vDSO.
        std::fs::write(&so, b"").expect("write vdso.so");
        std::fs::write(&syms, "").expect("write vdso_syms.rs");
        return;
    }
    // Hash tables as Linux's: both on x86_64, DT_HASH only on arm64 (Go before
    // 1.22 looks __kernel_clock_gettime up with a wrong GNU hash, and finds it
    // only by walking a DT_HASH chain).
    let (cc, srcs, flags): (&str, &[&str], &[&str]) = match arch.as_str() {
        "x86_64" => ("gcc", &["vclock.c"], &["-m64", "-Wl,--hash-style=both"]),
        _ => ("aarch64-linux-gnu-gcc", &["vclock.c", "sigreturn.S"], &["-mgeneral-regs-only", "-Wl,--hash-style=sysv"]),
    };
    // ELFIN_VDSO_CC_<arch> names another compiler.
    let var = format!("ELFIN_VDSO_CC_{arch}");
    println!("cargo:rerun-if-env-changed={var}");
    let cc = std::env::var(&var).unwrap_or_else(|_| cc.to_string());
    let src = dir.join(&arch);
    let mut cmd = Command::new(&cc);
    cmd.current_dir(&src)
        .args(["-shared", "-nostdlib", "-fPIC", "-O2", "-fno-stack-protector", "-ffreestanding", "-fno-builtin"])
        .args(["-Wall", "-Wextra", "-Werror"])
        .args(flags)
        .args(["-Wl,-T,vdso.lds", "-Wl,-Bsymbolic", "-Wl,--no-undefined"])
        .args(["-Wl,-soname=linux-vdso.so.1", "-Wl,-z,max-page-size=4096", "-Wl,--eh-frame-hdr"])
        .args(["-Wl,--build-id=none", "-Wl,-z,noexecstack", "-o"])
        .arg(&so)
        .args(srcs);
    let status = match cmd.status() {
        Ok(s) => s,
        Err(_) => fail(&format!("building the vDSO needs the C compiler `{cc}` (./x setup installs it)")),
    };
    if !status.success() {
        fail(&format!("`{cc}` failed to build the vDSO from {} (see its messages above)", src.display()));
    }
    let image = std::fs::read(&so).expect("read vdso.so");
    let mut rs = String::new();
    for (name, konst) in [("__kernel_rt_sigreturn", "VDSO_SIGRETURN")] {
        if let Some(off) = dynsym(&image, name) {
            rs.push_str(&format!("/// Offset of `{name}` in the vDSO image.\npub const {konst}: u64 = {off:#x};\n"));
        }
    }
    check_no_relocations(&image, &so);
    std::fs::write(&syms, rs).expect("write vdso_syms.rs");
}

/// Stops the build with one line saying why.
fn fail(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(1);
}

fn rd(b: &[u8], off: usize, n: usize) -> u64 {
    let mut v = 0u64;
    for i in (0..n).rev() {
        v = (v << 8) | u64::from(*b.get(off + i).unwrap_or(&0));
    }
    v
}

/// The section headers: (type, offset, size, link, entsize).
fn sections(b: &[u8]) -> Vec<(u32, usize, usize, usize, usize)> {
    let shoff = rd(b, 0x28, 8) as usize;
    let shentsize = rd(b, 0x3a, 2) as usize;
    let shnum = rd(b, 0x3c, 2) as usize;
    (0..shnum)
        .map(|i| {
            let s = shoff + i * shentsize;
            (
                rd(b, s + 4, 4) as u32,
                rd(b, s + 0x18, 8) as usize,
                rd(b, s + 0x20, 8) as usize,
                rd(b, s + 0x28, 4) as usize,
                rd(b, s + 0x38, 8) as usize,
            )
        })
        .collect()
}

/// The value of a symbol of `.dynsym`.
fn dynsym(b: &[u8], name: &str) -> Option<u64> {
    const SHT_DYNSYM: u32 = 11;
    let secs = sections(b);
    let &(_, off, size, link, ent) = secs.iter().find(|s| s.0 == SHT_DYNSYM)?;
    let (_, stroff, strsize, _, _) = *secs.get(link)?;
    let strs = b.get(stroff..stroff + strsize)?;
    (0..size / ent.max(1)).find_map(|i| {
        let s = off + i * ent;
        let n = rd(b, s, 4) as usize;
        let end = strs.get(n..)?.iter().position(|&c| c == 0)? + n;
        (strs.get(n..end)? == name.as_bytes()).then(|| rd(b, s + 8, 8))
    })
}

/// The vDSO is mapped as it is: it may not need relocating.
fn check_no_relocations(b: &[u8], so: &Path) {
    const SHT_RELA: u32 = 4;
    const SHT_REL: u32 = 9;
    if sections(b).iter().any(|s| matches!(s.0, SHT_RELA | SHT_REL) && s.2 > 0) {
        fail(&format!("the vDSO {} has dynamic relocations; it must be fully position-independent", so.display()));
    }
}
