//! Machinery for `tests/layout.rs`: collects checks (a C expression plus the
//! Rust value it must equal), writes them out as a C program built against the
//! real Linux and glibc headers for one architecture, runs it (under
//! qemu-user when the architecture is not the host's), and compares.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An architecture whose headers the C program is built against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The name used in GNU triples, `std::env::consts::ARCH` and qemu.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Debian's cross compiler package and its C library headers.
    fn cross_packages(self) -> &'static str {
        match self {
            Arch::X86_64 => "gcc-x86-64-linux-gnu libc6-dev-amd64-cross",
            Arch::Aarch64 => "gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
        }
    }
}

/// What the Rust side says a C report must be.
#[derive(Clone, Debug)]
enum Expect {
    /// `sizeof` and `_Alignof` of a struct.
    Size { size: usize, align: usize },
    /// `offsetof` and `sizeof` of a field.
    Field { offset: usize, size: usize },
    /// An integer constant held in a Rust integer `width` bits wide.
    Const { bits: u64, width: u32 },
    /// A string.
    Text(String),
}

/// One C translation unit: its own includes, so that kernel and glibc headers
/// that define the same names never meet.
struct Unit {
    name: String,
    prelude: String,
    body: String,
}

/// The set of checks for one architecture.
pub struct Spec {
    pub arch: Arch,
    units: Vec<Unit>,
    expect: BTreeMap<String, Expect>,
    /// Extra expectations checked by custom code in the caller: runtime lines.
    runtime: Vec<String>,
}

/// The size of the field a projection reads.
pub fn field_size<T, F>(_project: fn(&T) -> F) -> usize {
    std::mem::size_of::<F>()
}

/// Escapes a string for a C string literal.
fn c_str(s: &str) -> String {
    format!("{s:?}")
}

impl Spec {
    pub fn new(arch: Arch) -> Spec {
        Spec { arch, units: Vec::new(), expect: BTreeMap::new(), runtime: Vec::new() }
    }

    /// Starts a new C translation unit with these includes and definitions.
    pub fn unit(&mut self, name: &str, prelude: &str) {
        self.units.push(Unit { name: name.to_owned(), prelude: prelude.to_owned(), body: String::new() });
    }

    fn body(&mut self) -> &mut String {
        &mut self.units.last_mut().expect("unit() before any check").body
    }

    fn expect(&mut self, key: String, e: Expect) {
        assert!(self.expect.insert(key.clone(), e).is_none(), "check `{key}` is listed twice");
    }

    /// `sizeof`/`_Alignof` of C type `ctype` against a Rust struct.
    pub fn size(&mut self, key: &str, ctype: &str, size: usize, align: usize) {
        let line = format!("  out_size({}, sizeof({ctype}), _Alignof({ctype}));\n", c_str(key));
        self.body().push_str(&line);
        self.expect(key.to_owned(), Expect::Size { size, align });
    }

    /// `offsetof`/`sizeof` of C field `cfield` of `ctype` against a Rust field.
    pub fn field(&mut self, key: &str, ctype: &str, cfield: &str, offset: usize, size: usize) {
        let line =
            format!("  out_field({}, offsetof({ctype}, {cfield}), sizeof((({ctype} *)0)->{cfield}));\n", c_str(key));
        self.body().push_str(&line);
        self.expect(key.to_owned(), Expect::Field { offset, size });
    }

    /// The C integer expression `cexpr` against a Rust constant.
    pub fn konst(&mut self, key: &str, cexpr: &str, value: i128, width: u32) {
        let line = format!("  out_const({}, (unsigned long long)({cexpr}));\n", c_str(key));
        self.body().push_str(&line);
        // Two's complement, so negative Rust values carry their sign bits.
        self.expect(key.to_owned(), Expect::Const { bits: value as u64, width });
    }

    /// The C string expression `cexpr` (NULL prints as `(null)`) against Rust text.
    pub fn text(&mut self, key: &str, cexpr: &str, want: &str) {
        let line = format!("  out_text({}, {cexpr});\n", c_str(key));
        self.body().push_str(&line);
        self.expect(key.to_owned(), Expect::Text(want.to_owned()));
    }

    /// Raw C statements for the current unit.
    pub fn code(&mut self, c: &str) {
        self.body().push_str(c);
    }

    /// A runtime check reported by C as `R <name> OK` or `R <name> FAIL <why>`.
    pub fn runtime_check(&mut self, name: &str) {
        self.runtime.push(name.to_owned());
    }

    /// Builds the program, runs it with `args`, compares every check, and
    /// returns the lines that are not check results (for custom checks) and
    /// the list of mismatches.
    pub fn run(&self, args: &[&Path]) -> (Vec<String>, Vec<String>) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("layout-{}", self.arch.name()));
        std::fs::create_dir_all(&dir).expect("create the test's temporary directory");
        let mut sources = Vec::new();
        let main = dir.join("main.c");
        std::fs::write(&main, self.main_c()).expect("write main.c");
        sources.push(main);
        for u in &self.units {
            let path = dir.join(format!("tu_{}.c", u.name));
            let src = format!(
                "/* Generated by shim/tests/layout.rs: {} */\n#include \"out.h\"\n{}\nvoid tu_{}(void) {{\n{}}}\n",
                u.name, u.prelude, u.name, u.body
            );
            std::fs::write(&path, src).expect("write a C unit");
            sources.push(path);
        }
        std::fs::write(dir.join("out.h"), OUT_H).expect("write out.h");

        let exe = dir.join("layout-probe");
        let native = std::env::consts::ARCH == self.arch.name();
        let cc = if native { "cc".to_owned() } else { format!("{}-linux-gnu-gcc", self.arch.name()) };
        let mut cmd = Command::new(&cc);
        cmd.args(["-std=gnu11", "-O0", "-Wall", "-Werror=implicit-function-declaration"]);
        if !native {
            cmd.arg("-static");
        }
        cmd.arg("-o").arg(&exe).args(&sources);
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "`{cc}` is not installed; the layout test needs it to compile the header probe for {}. \
                 Install it: apt-get install {}",
                self.arch.name(),
                if native { "gcc libc6-dev linux-libc-dev" } else { self.arch.cross_packages() }
            ),
            Err(e) => panic!("could not run `{cc}`: {e}"),
        };
        assert!(
            out.status.success(),
            "`{cc}` failed to build the header probe in {}:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );

        let mut run = if native {
            Command::new(&exe)
        } else {
            let mut c = Command::new(format!("qemu-{}-static", self.arch.name()));
            c.arg(&exe);
            c
        };
        run.args(args);
        let out = match run.output() {
            Ok(o) => o,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "`qemu-{}-static` is not installed; the layout test runs the {} header probe with it. \
                 Install it: apt-get install qemu-user-static",
                self.arch.name(),
                self.arch.name()
            ),
            Err(e) => panic!("could not run the header probe: {e}"),
        };
        assert!(
            out.status.success(),
            "the header probe failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        self.compare(&String::from_utf8(out.stdout).expect("probe output is UTF-8"))
    }

    /// Writes `main.c`: the output helpers and a call of every unit.
    fn main_c(&self) -> String {
        let mut s = String::from(MAIN_C_HEAD);
        for u in &self.units {
            s.push_str(&format!("void tu_{}(void);\n", u.name));
        }
        s.push_str("int probe_argc; char **probe_argv;\n");
        s.push_str("int main(int argc, char **argv) {\n  probe_argc = argc; probe_argv = argv;\n");
        for u in &self.units {
            s.push_str(&format!("  tu_{}();\n", u.name));
        }
        s.push_str("  return 0;\n}\n");
        s
    }

    fn compare(&self, stdout: &str) -> (Vec<String>, Vec<String>) {
        let a = self.arch.name();
        let mut errors = Vec::new();
        let mut seen = BTreeMap::new();
        let mut other = Vec::new();
        let mut runtime_seen = Vec::new();
        for line in stdout.lines() {
            let mut parts = line.splitn(3, ' ');
            let (Some(tag), Some(key)) = (parts.next(), parts.next()) else {
                other.push(line.to_owned());
                continue;
            };
            let rest = parts.next().unwrap_or("");
            if tag == "R" {
                runtime_seen.push(key.to_owned());
                if rest != "OK" {
                    errors.push(format!("[{a}] runtime check {key}: {rest}"));
                }
                continue;
            }
            if !matches!(tag, "S" | "F" | "C" | "T") {
                other.push(line.to_owned());
                continue;
            }
            let Some(want) = self.expect.get(key) else {
                errors.push(format!("[{a}] the probe reported `{key}`, which no check lists"));
                continue;
            };
            seen.insert(key.to_owned(), ());
            let nums: Vec<u64> = rest.split(' ').filter_map(|n| n.parse().ok()).collect();
            match (tag, want) {
                ("S", Expect::Size { size, align }) => {
                    if nums != [*size as u64, *align as u64] {
                        errors.push(format!(
                            "[{a}] {key}: C has size {} align {}, Rust has size {size} align {align}",
                            nums.first().copied().unwrap_or(0),
                            nums.get(1).copied().unwrap_or(0)
                        ));
                    }
                }
                ("F", Expect::Field { offset, size }) => {
                    if nums != [*offset as u64, *size as u64] {
                        errors.push(format!(
                            "[{a}] {key}: C has offset {} size {}, Rust has offset {offset} size {size}",
                            nums.first().copied().unwrap_or(0),
                            nums.get(1).copied().unwrap_or(0)
                        ));
                    }
                }
                ("C", Expect::Const { bits, width }) => {
                    let c = nums.first().copied().unwrap_or(0);
                    if !const_matches(c, *bits, *width) {
                        errors.push(format!(
                            "[{a}] {key}: C has {c:#x}, Rust has {:#x} (held in {width} bits)",
                            bits & mask(*width)
                        ));
                    }
                }
                ("T", Expect::Text(want)) => {
                    if rest != want {
                        errors.push(format!("[{a}] {key}: C has {rest:?}, Rust has {want:?}"));
                    }
                }
                _ => errors.push(format!("[{a}] {key}: the probe's report `{line}` is of the wrong kind")),
            }
        }
        for key in self.expect.keys() {
            if !seen.contains_key(key) {
                errors.push(format!("[{a}] the probe never reported `{key}`"));
            }
        }
        for name in &self.runtime {
            if !runtime_seen.contains(name) {
                errors.push(format!("[{a}] runtime check {name} never reported"));
            }
        }
        (other, errors)
    }

    /// Number of checks (for a summary line).
    pub fn len(&self) -> usize {
        self.expect.len() + self.runtime.len()
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Whether the C value `c` (the expression converted to `unsigned long long`)
/// equals a Rust constant stored in `width` bits: the low bits must agree, and
/// the bits above must be zero or a sign extension, so that `-100` (int) and
/// `0x80000000U` match `i32` constants but `0x100000001` does not match `1u32`.
fn const_matches(c: u64, rust_bits: u64, width: u32) -> bool {
    let m = mask(width);
    if c & m != rust_bits & m {
        return false;
    }
    let high = c & !m;
    high == 0 || (high == !m && width > 0 && (c >> (width - 1)) & 1 == 1)
}

const OUT_H: &str = r#"/* Output helpers shared by the generated units. */
#include <stddef.h>
void out_size(const char *key, unsigned long size, unsigned long align);
void out_field(const char *key, unsigned long offset, unsigned long size);
void out_const(const char *key, unsigned long long value);
void out_text(const char *key, const char *text);
void out_result(const char *name, const char *failure);
extern int probe_argc;
extern char **probe_argv;
"#;

const MAIN_C_HEAD: &str = r#"/* Generated by shim/tests/layout.rs. */
#include <stdio.h>
#include "out.h"
void out_size(const char *key, unsigned long size, unsigned long align) {
  printf("S %s %lu %lu\n", key, size, align);
}
void out_field(const char *key, unsigned long offset, unsigned long size) {
  printf("F %s %lu %lu\n", key, offset, size);
}
void out_const(const char *key, unsigned long long value) {
  printf("C %s %llu\n", key, value);
}
void out_text(const char *key, const char *text) {
  printf("T %s %s\n", key, text ? text : "(null)");
}
void out_result(const char *name, const char *failure) {
  printf("R %s %s\n", name, failure ? failure : "OK");
}
"#;

#[test]
fn const_matching_rules() {
    assert!(const_matches((-100i64) as u64, (-100i32) as i64 as u64, 32));
    assert!(const_matches(0x8000_0000, i32::MIN as i64 as u64, 32));
    assert!(const_matches(0xffff_ffff_8000_0000, i32::MIN as i64 as u64, 32));
    assert!(!const_matches(0x1_0000_0001, 1, 32));
    assert!(!const_matches(0xffff_ffff_0000_0001, 1, 32));
    assert!(const_matches(u64::MAX, u64::MAX, 64));
    assert!(!const_matches(2, 1, 64));
}
