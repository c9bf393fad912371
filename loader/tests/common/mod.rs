//! Shared helpers for the integration tests: build small C programs with the host
//! toolchains and read facts about them with `readelf`, independently of the loader.
// Each test file that includes this module uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A C program with thread-locals (so it has PT_TLS) that prints something.
pub const HELLO_C: &str = r#"
#include <stdio.h>
__thread int tls_data = 5;
__thread int tls_bss;
int main(int argc, char **argv) {
    printf("hello %d %d %s\n", argc, tls_data + tls_bss, argv[0]);
    return 0;
}
"#;

/// A library source for `-shared`.
pub const LIB_C: &str = r#"
#include <stdio.h>
int lib_fn(int x) { printf("%d\n", x); return x + 1; }
"#;

/// A library that needs nothing (`-shared -nostdlib`).
pub const NOLIBC_LIB_C: &str = "int lib_fn(int x) { return x + 1; }\n";

/// Directory for this test binary's fixtures.
pub fn fixture_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("elfin-loader").join(test);
    std::fs::create_dir_all(&dir).expect("create fixture dir");
    dir
}

/// Panic with install instructions unless `tool` runs.
pub fn require(tool: &str, package: &str) {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is needed to build test programs but does not run; \
         install it with `apt-get install {package}`"
    );
}

/// Run a command, panicking with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static BUILT: Mutex<Option<HashMap<PathBuf, ()>>> = Mutex::new(None);

/// The kinds of program the tests build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// `gcc -static-pie -O2` (glibc).
    GlibcStaticPie,
    /// `gcc -static-pie -O2 -Wl,-z,execstack` (glibc).
    GlibcStaticPieExecStack,
    /// `gcc -static -O2` (glibc, ET_EXEC).
    GlibcStatic,
    /// `gcc -O2` (dynamic PIE).
    GlibcDynamic,
    /// `gcc -shared -fPIC` of [`LIB_C`].
    SharedLib,
    /// `gcc -shared -fPIC -nostdlib` of [`NOLIBC_LIB_C`].
    SharedLibNoDeps,
    /// `gcc -c` (ET_REL).
    Object,
    /// musl static-PIE linked by hand with `rcrt1.o`.
    MuslStaticPie,
    /// `aarch64-linux-gnu-gcc -static-pie -O2` (glibc).
    Aarch64StaticPie,
}

/// Build `flavour` from `source` in `dir` (once per process) and return its path.
pub fn build(dir: &Path, flavour: Flavour, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let out = dir.join(format!("{name}.{flavour:?}"));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if built.contains_key(&out) {
        return out;
    }
    std::fs::write(&src, source).expect("write C source");
    let cmd = match flavour {
        Flavour::Aarch64StaticPie => {
            require("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross");
            let mut c = Command::new("aarch64-linux-gnu-gcc");
            c.args(["-static-pie", "-O2"]);
            c
        }
        Flavour::MuslStaticPie => {
            require("gcc", "gcc");
            let musl = Path::new("/usr/lib/x86_64-linux-musl");
            assert!(
                musl.join("rcrt1.o").exists() && Path::new("/usr/include/x86_64-linux-musl").exists(),
                "musl is needed to build test programs; install it with `apt-get install musl-tools`"
            );
            let gcc_include = run(Command::new("gcc").arg("-print-file-name=include"));
            let libgcc = run(Command::new("gcc").arg("-print-libgcc-file-name"));
            let mut c = Command::new("gcc");
            c.args(["-nostdlib", "-nostartfiles", "-static-pie", "-fPIE", "-O2", "-nostdinc"]);
            c.args(["-isystem", "/usr/include/x86_64-linux-musl", "-isystem", gcc_include.trim()]);
            c.arg(&src);
            c.args(["rcrt1.o", "crti.o", "libc.a"].map(|f| musl.join(f)));
            c.arg(libgcc.trim());
            c.arg(musl.join("crtn.o"));
            c.arg("-o").arg(&out);
            run(&mut c);
            built.insert(out.clone(), ());
            return out;
        }
        _ => {
            require("gcc", "gcc libc6-dev");
            let mut c = Command::new("gcc");
            c.args(match flavour {
                Flavour::GlibcStaticPie => &["-static-pie", "-O2"][..],
                Flavour::GlibcStaticPieExecStack => &["-static-pie", "-O2", "-Wl,-z,execstack"][..],
                Flavour::GlibcStatic => &["-static", "-O2"][..],
                Flavour::GlibcDynamic => &["-O2"][..],
                Flavour::SharedLib => &["-shared", "-fPIC", "-O2"][..],
                Flavour::SharedLibNoDeps => &["-shared", "-fPIC", "-nostdlib", "-O2"][..],
                Flavour::Object => &["-c", "-O2"][..],
                Flavour::MuslStaticPie | Flavour::Aarch64StaticPie => unreachable!(),
            });
            c
        }
    };
    let mut cmd = cmd;
    cmd.arg(&src).arg("-o").arg(&out);
    run(&mut cmd);
    built.insert(out.clone(), ());
    out
}

/// Read a file built by [`build`].
pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// One program header line of `readelf -Wl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phdr {
    pub typ: String,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    /// `R`, `W`, `E` letters as readelf prints them.
    pub flags: String,
    pub align: u64,
}

/// Facts `readelf -Wlh` prints about a file.
#[derive(Clone, Debug)]
pub struct Readelf {
    /// `EXEC`, `DYN`, `REL`.
    pub typ: String,
    pub machine: String,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u64,
    pub phnum: u64,
    pub phdrs: Vec<Phdr>,
    pub interp: Option<String>,
}

impl Readelf {
    /// The `LOAD` program headers.
    pub fn loads(&self) -> Vec<&Phdr> {
        self.phdrs.iter().filter(|p| p.typ == "LOAD").collect()
    }
    /// The first program header of type `typ`.
    pub fn find(&self, typ: &str) -> Option<&Phdr> {
        self.phdrs.iter().find(|p| p.typ == typ)
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// Run `readelf -Wlh` (binutils) on `path` and parse its output.
pub fn readelf(path: &Path) -> Readelf {
    require("readelf", "binutils");
    let text = run(Command::new("readelf").arg("-Wlh").arg(path));
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("readelf printed no {name:?}:\n{text}"))
    };
    let first_word = |s: String| s.split_whitespace().next().unwrap_or("").to_string();
    let mut phdrs = Vec::new();
    let mut interp = None;
    let mut in_table = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Type") && t.contains("Offset") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if t.is_empty() || t.starts_with("Section to Segment") {
            break;
        }
        if let Some(rest) = t.strip_prefix("[Requesting program interpreter:") {
            interp = Some(rest.trim_end_matches(']').trim().to_string());
            continue;
        }
        // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align; Flg may contain spaces ("R E").
        let words: Vec<&str> = t.split_whitespace().collect();
        assert!(words.len() >= 8, "unexpected readelf line {t:?}");
        let n = words.len();
        phdrs.push(Phdr {
            typ: words[0].to_string(),
            offset: hex(words[1]),
            vaddr: hex(words[2]),
            filesz: hex(words[4]),
            memsz: hex(words[5]),
            flags: words[6..n - 1].concat(),
            align: hex(words[n - 1]),
        });
    }
    let num = |s: String| -> u64 { first_word(s).parse().expect("decimal") };
    Readelf {
        typ: first_word(field("Type:")),
        machine: field("Machine:"),
        entry: hex(&field("Entry point address:")),
        phoff: num(field("Start of program headers:")),
        phentsize: num(field("Size of program headers:")),
        phnum: num(field("Number of program headers:")),
        phdrs,
        interp,
    }
}

/// The `NEEDED` library names `readelf -Wd` lists.
pub fn readelf_needed(path: &Path) -> Vec<String> {
    let text = run(Command::new("readelf").arg("-Wd").arg(path));
    text.lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            let start = l.find('[')?;
            let end = l.rfind(']')?;
            Some(l[start + 1..end].to_string())
        })
        .collect()
}
