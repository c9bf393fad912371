//! `plan` and `build_stack` against real programs built at test time by the host
//! toolchains, checked against facts from `readelf` and from Linux itself.
// In tests a panic is a failure report, so unwrap is the right tool.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{build, bytes, fixture_dir, readelf, readelf_needed, Flavour, Readelf, HELLO_C};
use elfin_loader::auxv::{AT_EXECFN, AT_PLATFORM, AT_RANDOM};
use elfin_loader::{
    build_stack, choose_bias, plan, ElfKind, LoadError, LoadPlan, Machine, StackArgs, AARCH64_ET_DYN_BASE,
    X86_64_ET_DYN_BASE,
};

fn hello(flavour: Flavour) -> PathBuf {
    build(&fixture_dir("real"), flavour, "hello", HELLO_C)
}

/// Check every field of `p` against what readelf says about the same file.
fn check_against_readelf(p: &LoadPlan, r: &Readelf, file: &[u8]) {
    assert_eq!(p.entry, r.entry, "entry");
    assert_eq!(u64::from(p.phnum), r.phnum, "phnum");
    assert_eq!(u64::from(p.phent), r.phentsize, "phent");
    let loads: Vec<_> = r.loads().into_iter().filter(|l| l.memsz > 0).collect();
    assert_eq!(p.segments.len(), loads.len(), "number of PT_LOAD");
    for (s, l) in p.segments.iter().zip(&loads) {
        assert_eq!((s.vaddr, s.memsz, s.offset, s.filesz), (l.vaddr, l.memsz, l.offset, l.filesz));
        assert_eq!(s.prot.read, l.flags.contains('R'), "{l:?}");
        assert_eq!(s.prot.write, l.flags.contains('W'), "{l:?}");
        assert_eq!(s.prot.exec, l.flags.contains('E'), "{l:?}");
    }
    let lowest = loads.iter().map(|l| l.vaddr).min().unwrap() & !0xfff;
    let highest = loads.iter().map(|l| l.vaddr + l.memsz).max().unwrap().next_multiple_of(0x1000);
    assert_eq!((p.lowest, p.highest), (lowest, highest));
    let max_align = loads.iter().map(|l| l.align).max().unwrap().max(0x1000);
    assert_eq!(p.max_align, max_align);

    // AT_PHDR must point at the program header table: map phdr_vaddr back to a file
    // offset through readelf's LOADs and find e_phoff there.
    let l = loads
        .iter()
        .find(|l| l.vaddr <= p.phdr_vaddr && p.phdr_vaddr < l.vaddr + l.filesz)
        .expect("phdr_vaddr lies in the file part of a LOAD");
    assert_eq!(p.phdr_vaddr - l.vaddr + l.offset, r.phoff, "phdr_vaddr maps to e_phoff");
    if let Some(ph) = r.find("PHDR") {
        assert_eq!(p.phdr_vaddr, ph.vaddr);
    }
    // ... and e_phoff holds the table readelf printed (entry 0: p_offset at 8, p_vaddr at 16).
    let entry0 = &file[r.phoff as usize..][..56];
    let field = |at: usize| u64::from_le_bytes(entry0[at..at + 8].try_into().unwrap());
    assert_eq!((field(8), field(16)), (r.phdrs[0].offset, r.phdrs[0].vaddr));

    match r.find("TLS") {
        Some(t) => {
            let tls = p.tls.expect("PT_TLS");
            assert_eq!((tls.vaddr, tls.filesz, tls.memsz, tls.align), (t.vaddr, t.filesz, t.memsz, t.align.max(1)));
        }
        None => assert_eq!(p.tls, None),
    }
    let exec_stack = r.find("GNU_STACK").is_none_or(|s| s.flags.contains('E'));
    assert_eq!(p.exec_stack, exec_stack);
}

#[test]
fn glibc_static_pie() {
    let path = hello(Flavour::GlibcStaticPie);
    let file = bytes(&path);
    let r = readelf(&path);
    assert_eq!(r.typ, "DYN");
    assert!(r.interp.is_none());
    let p = plan(&file, Machine::X86_64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.kind, ElfKind::StaticPie);
    assert_eq!(p.machine, Machine::X86_64);
    assert!(p.tls.is_some(), "the program has thread-locals");
    assert!(!p.exec_stack);
    check_against_readelf(&p, &r, &file);
    // glibc static-PIE has no PT_PHDR: phdr_vaddr comes from the LOAD covering e_phoff.
    assert!(r.find("PHDR").is_none());
    assert_eq!(choose_bias(&p, 0, false), X86_64_ET_DYN_BASE - p.lowest);
}

#[test]
fn glibc_static_pie_exec_stack() {
    let path = hello(Flavour::GlibcStaticPieExecStack);
    let file = bytes(&path);
    let r = readelf(&path);
    assert!(r.find("GNU_STACK").unwrap().flags.contains('E'));
    let p = plan(&file, Machine::X86_64).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.exec_stack);
    check_against_readelf(&p, &r, &file);
}

#[test]
fn glibc_static_exec() {
    let path = hello(Flavour::GlibcStatic);
    let file = bytes(&path);
    let r = readelf(&path);
    assert_eq!(r.typ, "EXEC");
    let p = plan(&file, Machine::X86_64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.kind, ElfKind::StaticExec);
    check_against_readelf(&p, &r, &file);
    assert!(p.lowest >= 0x1000);
    assert_eq!(choose_bias(&p, 0x1234_5678, true), 0);
    assert_eq!(choose_bias(&p, 0, false), 0);
}

#[test]
fn musl_static_pie() {
    let path = hello(Flavour::MuslStaticPie);
    let out = common::run(Command::new("file").arg(&path));
    assert!(out.contains("static-pie linked"), "not a static PIE: {out}");
    let file = bytes(&path);
    let r = readelf(&path);
    assert_eq!(r.typ, "DYN");
    let p = plan(&file, Machine::X86_64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.kind, ElfKind::StaticPie);
    check_against_readelf(&p, &r, &file);
}

#[test]
fn aarch64_static_pie() {
    let path = hello(Flavour::Aarch64StaticPie);
    let file = bytes(&path);
    let r = readelf(&path);
    assert_eq!(r.machine, "AArch64");
    let p = plan(&file, Machine::Aarch64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.kind, ElfKind::StaticPie);
    assert_eq!(p.machine, Machine::Aarch64);
    check_against_readelf(&p, &r, &file);
    // Linux arm64 without ASLR: ELF_ET_DYN_BASE aligned down to the largest p_align.
    let bias = choose_bias(&p, 0, false);
    assert_eq!(bias, (AARCH64_ET_DYN_BASE - p.lowest) & !(p.max_align - 1));
    assert_eq!(bias % p.max_align, 0);

    let e = plan(&file, Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::WrongMachine { found: 183, expected: Machine::X86_64 });
    assert_eq!(e.to_string(), "ELF for aarch64, this kernel runs x86_64 programs");
}

#[test]
fn x86_64_program_on_aarch64() {
    let file = bytes(&hello(Flavour::GlibcStaticPie));
    let e = plan(&file, Machine::Aarch64).unwrap_err();
    assert_eq!(e.to_string(), "ELF for x86_64, this kernel runs aarch64 programs");
}

#[test]
fn dynamic_program_names_its_interpreter() {
    let path = hello(Flavour::GlibcDynamic);
    let interp = readelf(&path).interp.expect("readelf shows PT_INTERP");
    let e = plan(&bytes(&path), Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::Dynamic { interp: interp.clone() });
    assert_eq!(e.to_string(), format!("dynamically linked (PT_INTERP {interp}); build it with -static-pie"));
}

#[test]
fn shared_library_is_rejected() {
    let path = build(&fixture_dir("real"), Flavour::SharedLib, "lib", common::LIB_C);
    let needed = readelf_needed(&path);
    assert!(needed.iter().any(|n| n.starts_with("libc.so")), "{needed:?}");
    assert_eq!(readelf(&path).entry, 0);
    let e = plan(&bytes(&path), Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::NeedsLibraries { needed: needed.clone(), count: needed.len(), no_entry: true });
    let msg = e.to_string();
    assert!(msg.starts_with("shared library (ET_DYN with DT_NEEDED libc.so"), "{msg}");
    assert!(msg.ends_with("and no entry point), not a program"), "{msg}");
}

#[test]
fn shared_library_without_dependencies() {
    let path = build(&fixture_dir("real"), Flavour::SharedLibNoDeps, "nolibc", common::NOLIBC_LIB_C);
    assert!(readelf_needed(&path).is_empty());
    let e = plan(&bytes(&path), Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::NoEntry);
    assert_eq!(e.to_string(), "no entry point (e_entry is 0): a shared library, not a program");
}

#[test]
fn object_file_is_rejected() {
    let path = hello(Flavour::Object);
    assert_eq!(readelf(&path).typ, "REL");
    let e = plan(&bytes(&path), Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::Relocatable);
    assert!(e.to_string().contains("ET_REL"));
}

#[test]
fn scripts_and_junk() {
    assert_eq!(plan(b"#!/bin/sh\necho hi\n", Machine::X86_64).unwrap_err(), LoadError::Script);
    assert_eq!(plan(b"", Machine::X86_64).unwrap_err(), LoadError::TooShort { len: 0 });
    assert_eq!(plan(b"\x7fEL", Machine::X86_64).unwrap_err(), LoadError::TooShort { len: 3 });
    assert_eq!(plan(b"MZ\x90\x00", Machine::X86_64).unwrap_err(), LoadError::BadMagic);
    assert_eq!(LoadError::BadMagic.to_string(), "not an ELF file (bad magic)");
}

/// The initial stack Linux builds, measured from inside a process started under
/// `setarch -R` (no randomisation), must be byte-for-byte the layout `build_stack` makes.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn stack_layout_matches_linux() {
    const PROBE_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <elf.h>
#include <sys/auxv.h>
extern char **environ;
int main(int argc, char **argv) {
    char **e = environ;
    while (*e) e++;
    Elf64_auxv_t *av = (Elf64_auxv_t *)(e + 1);
    unsigned long execfn = getauxval(AT_EXECFN);
    unsigned long top = execfn + strlen((char *)execfn) + 1 + 8;
    printf("toppage %lu\n", top % 4096);
    printf("topword %lu\n", *(unsigned long *)(top - 8));
    printf("sp %lu\n", top - ((unsigned long)argv - 8));
    for (int i = 0; i < argc; i++) printf("argv %lu %s\n", top - (unsigned long)argv[i], argv[i]);
    for (char **p = environ; *p; p++) printf("envp %lu %s\n", top - (unsigned long)*p, *p);
    for (; av->a_type != AT_NULL; av++) {
        unsigned long t = av->a_type;
        int ptr = t == AT_RANDOM || t == AT_EXECFN || t == AT_PLATFORM;
        printf("aux %lu %lu\n", t, ptr ? top - av->a_un.a_val : 0);
    }
    printf("auxend %lu\n", top - (unsigned long)(av + 1));
    return 0;
}
"#;
    let probe = build(&fixture_dir("real"), Flavour::GlibcStatic, "stackprobe", PROBE_C);
    common::require("setarch", "util-linux");
    let out = common::run(
        Command::new("setarch")
            .args(["-R"])
            .arg(&probe)
            .args(["one", "", "three-3"])
            .env_clear()
            .env("HOME", "/root")
            .env("A", "")
            .env("LONGER_VARIABLE", "x".repeat(37)),
    );

    let mut argv: Vec<(u64, String)> = Vec::new();
    let mut envp: Vec<(u64, String)> = Vec::new();
    let mut aux: Vec<(u64, u64)> = Vec::new();
    let (mut sp, mut auxend) = (0, 0);
    for line in out.lines() {
        let w: Vec<&str> = line.splitn(3, ' ').collect();
        let n = |i: usize| w[i].parse::<u64>().unwrap();
        match w[0] {
            "toppage" => assert_eq!(n(1), 0, "stack top (execfn end + 8) is page-aligned"),
            "topword" => assert_eq!(n(1), 0, "the top word is zero"),
            "sp" => sp = n(1),
            "argv" => argv.push((n(1), w.get(2).unwrap_or(&"").to_string())),
            "envp" => envp.push((n(1), w.get(2).unwrap_or(&"").to_string())),
            "aux" => aux.push((n(1), n(2))),
            "auxend" => auxend = n(1),
            other => panic!("unexpected probe output {other:?}"),
        }
    }
    assert_eq!(argv.len(), 4);
    assert_eq!(envp.len(), 3);

    // Rebuild the same stack: same strings, same number of auxv entries.
    const TOP: u64 = 0x7fff_f000_0000;
    let execfn = probe.to_str().unwrap().as_bytes();
    assert_eq!(argv[0].1.as_bytes(), execfn);
    let argv_b: Vec<&[u8]> = argv.iter().map(|(_, s)| s.as_bytes()).collect();
    let envp_b: Vec<&[u8]> = envp.iter().map(|(_, s)| s.as_bytes()).collect();
    let ours_added = [AT_RANDOM, AT_EXECFN, AT_PLATFORM];
    let caller: Vec<(u64, u64)> = aux.iter().filter(|(k, _)| !ours_added.contains(k)).map(|&(k, _)| (k, 7)).collect();
    assert_eq!(caller.len() + 3, aux.len(), "Linux gave AT_RANDOM, AT_EXECFN and AT_PLATFORM once each");
    let args =
        StackArgs { argv: &argv_b, envp: &envp_b, execfn, platform: b"x86_64", random: [0xa5; 16], auxv: &caller };
    let img = build_stack(TOP, &args, 1 << 20).unwrap();
    let word = |addr: u64| {
        let o = (addr - img.sp) as usize;
        u64::from_le_bytes(img.bytes[o..o + 8].try_into().unwrap())
    };

    eprintln!("linux: sp {sp} auxend {auxend} argv {argv:?} envp {envp:?} aux {aux:?}");
    assert_eq!(TOP - img.sp, sp, "distance from the stack top to argc");
    for (i, (dist, _)) in argv.iter().enumerate() {
        assert_eq!(TOP - word(img.sp + 8 + 8 * i as u64), *dist, "argv[{i}]");
    }
    let envp_at = img.sp + 8 * (argv.len() as u64 + 2);
    for (i, (dist, _)) in envp.iter().enumerate() {
        assert_eq!(TOP - word(envp_at + 8 * i as u64), *dist, "envp[{i}]");
    }
    let auxv_at = envp_at + 8 * (envp.len() as u64 + 1);
    let mut ours = Vec::new();
    let mut at = auxv_at;
    loop {
        let (k, v) = (word(at), word(at + 8));
        at += 16;
        if k == 0 {
            break;
        }
        ours.push((k, v));
    }
    assert_eq!(TOP - at, auxend, "end of the auxiliary vector");
    for key in ours_added {
        let linux = aux.iter().find(|(k, _)| *k == key).unwrap().1;
        let mine = TOP - ours.iter().find(|(k, _)| *k == key).unwrap().1;
        assert_eq!(mine, linux, "AT_{key} string position");
    }
    // Linux's relative order of the three entries we add.
    let pos = |v: &[(u64, u64)], key| v.iter().position(|(k, _)| *k == key).unwrap();
    for v in [&aux[..], &ours[..]] {
        assert!(pos(v, AT_RANDOM) < pos(v, AT_EXECFN) && pos(v, AT_EXECFN) < pos(v, AT_PLATFORM));
    }
}

#[test]
fn dynamic_program_without_interpreter_names_its_libraries() {
    let path = hello(Flavour::GlibcDynamic);
    let r = readelf(&path);
    let needed = readelf_needed(&path);
    let mut file = bytes(&path);
    // Turn PT_INTERP into PT_NULL: what is left still needs libc.
    let i = r.phdrs.iter().position(|p| p.typ == "INTERP").unwrap();
    let at = r.phoff as usize + 56 * i;
    file[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
    let e = plan(&file, Machine::X86_64).unwrap_err();
    assert_eq!(e, LoadError::NeedsLibraries { needed: needed.clone(), count: needed.len(), no_entry: false });
    assert_eq!(
        e.to_string(),
        format!("needs shared libraries {} but has no PT_INTERP; build it with -static-pie", needed.join(", "))
    );
}

#[test]
fn oversized_dynamic_section_is_harmless() {
    let path = hello(Flavour::GlibcStaticPie);
    let r = readelf(&path);
    let mut file = bytes(&path);
    let i = r.phdrs.iter().position(|p| p.typ == "DYNAMIC").unwrap();
    let at = r.phoff as usize + 56 * i;
    for (offset, filesz) in [(0u64, file.len() as u64), (0, u64::MAX), (u64::MAX, 16), (file.len() as u64 - 8, 16)] {
        file[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        file[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        // Whatever it finds there, it must answer, and quickly.
        let _ = plan(&file, Machine::X86_64);
    }
}
