//! `elfin syscalls`: run a program in elfin with `--strace` and report which system
//! calls it made, how often, how many failed, and which elfin does not support (a
//! coverage report in the manner of Loupe); and, with `--supported`, elfin's own
//! table of every Linux system call and how much of it the kernel implements
//! (`elfin_shim::support`, which the kernel's dispatch is checked against).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::compat::compare::kernel_reports;
use crate::fail::Fail;

/// Examples shown by `elfin syscalls --help`.
const EXAMPLES: &str = "\
Examples:
  elfin syscalls ./hello                        report on stderr after the program's output
  elfin syscalls -o report.txt ./busybox sh -c 'ls | wc -l'
  elfin syscalls --format json -o r.json --arch aarch64 ./prog arg
  elfin syscalls --supported                    every x86_64 syscall: number, name, status
  elfin syscalls --supported --arch aarch64 --format json
  elfin syscalls --supported --format markdown -o docs/syscalls.md

Takes every option of `elfin run` (see `elfin run --help`); --strace and --kernel-log
are set by this command. The program's stdin, stdout and stderr are its own; the
report goes to stderr, or to FILE with -o. Exit status: the program's, as `elfin run`.";

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Text,
    /// A JSON object.
    Json,
}

/// Arguments of `elfin syscalls`: those of `elfin run`, and where the report goes.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct SyscallsArgs {
    /// Write the report to FILE instead of stderr. Example: -o report.txt
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Report format.
    #[arg(long = "format", value_enum, default_value = "text")]
    pub format: Format,

    /// Print elfin's support of every Linux system call of --arch instead (no
    /// program is run): number, name and `real`, `partial: what is missing` or
    /// `unsupported`, from the kernel's own dispatch table. Takes --arch, --format
    /// (text, json, markdown) and -o.
    #[arg(long)]
    pub supported: bool,

    /// The options and program of `elfin run`.
    #[command(flatten)]
    pub run: super::run::RunArgs,
}

/// One system call's line in the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The name, as the kernel's strace prints it.
    pub name: String,
    /// How many times it was called.
    pub calls: u64,
    /// How many calls failed (returned -1 errno).
    pub errors: u64,
    /// How many calls failed with ENOSYS.
    pub enosys: u64,
    /// The kernel reported it as unsupported (its report, e.g. `clone (fork: …)`).
    pub unsupported: Option<String>,
}

/// The coverage report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Every call made, most called first.
    pub syscalls: Vec<Usage>,
    /// All calls.
    pub total_calls: u64,
    /// Unsupported syscalls as the kernel reported them (name and number).
    pub unsupported: Vec<String>,
    /// The program's exit status.
    pub status: i32,
}

/// Splits an strace line `[pid T] name(args) = result` into (name, result).
fn parse_strace_line(line: &str) -> Option<(&str, &str)> {
    let start = line.find("[pid ")?;
    let rest = &line[start..];
    let rest = &rest[rest.find("] ")? + 2..];
    let open = rest.find('(')?;
    let name = &rest[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let result = &rest[rest.rfind(" = ")? + 3..];
    Some((name, result))
}

/// Builds the report from the kernel log of a `--strace` run.
pub fn coverage(log: &[u8], status: i32) -> Coverage {
    let text = String::from_utf8_lossy(log);
    let mut by: BTreeMap<&str, Usage> = BTreeMap::new();
    let mut total = 0;
    for line in text.lines() {
        let Some((name, result)) = parse_strace_line(line) else { continue };
        total += 1;
        let u = by.entry(name).or_insert_with(|| Usage { name: name.to_owned(), ..Usage::default() });
        u.calls += 1;
        if result.starts_with("-1 ") {
            u.errors += 1;
            if result.starts_with("-1 ENOSYS") {
                u.enosys += 1;
            }
        }
    }
    let reports = kernel_reports(log);
    for (report, _) in &reports.unsupported {
        let base = report.split(' ').next().unwrap_or(report);
        let u = by.entry(base).or_insert_with(|| Usage { name: base.to_owned(), ..Usage::default() });
        u.unsupported = Some(report.clone());
    }
    let mut syscalls: Vec<Usage> = by.into_values().collect();
    syscalls.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
    Coverage {
        syscalls,
        total_calls: total,
        unsupported: reports
            .unsupported
            .iter()
            .map(|(n, nr)| if *nr == u64::MAX { n.clone() } else { format!("{n} ({nr})") })
            .collect(),
        status,
    }
}

/// The report as an aligned table.
pub fn text(c: &Coverage) -> String {
    let mut s = String::new();
    let w = c.syscalls.iter().map(|u| u.name.len()).max().unwrap_or(7).max(7);
    let _ = writeln!(s, "{:<w$}  {:>7}  {:>6}  note", "syscall", "calls", "errors");
    for u in &c.syscalls {
        let note = match &u.unsupported {
            Some(r) => format!("UNSUPPORTED in elfin: {r}"),
            None if u.enosys > 0 => format!("{} x ENOSYS", u.enosys),
            None => String::new(),
        };
        let _ = writeln!(s, "{:<w$}  {:>7}  {:>6}  {note}", u.name, u.calls, u.errors);
        if note.is_empty() {
            // Keep lines free of trailing blanks.
            let trimmed = s.trim_end().len();
            s.truncate(trimmed);
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "{} calls to {} distinct syscalls; exit status {}; unsupported: {}",
        c.total_calls,
        c.syscalls.len(),
        c.status,
        if c.unsupported.is_empty() { "none".to_owned() } else { c.unsupported.join(", ") }
    );
    s
}

/// Runs `elfin syscalls`; returns the program's status.
pub fn run(mut args: SyscallsArgs) -> Result<i32, Fail> {
    let log = std::env::temp_dir().join(format!("elfin-syscalls-{}.log", std::process::id()));
    args.run.strace = true;
    args.run.kernel_log = Some(log.clone());
    let result = super::run::run(&args.run);
    let bytes = std::fs::read(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let status = result?;
    let cov = coverage(&bytes, status);
    let out = match args.format {
        Format::Text => text(&cov),
        Format::Json => serde_json::to_string_pretty(&cov).unwrap_or_default() + "\n",
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, out).map_err(|e| Fail::new(format!("cannot write the report {}: {e}", p.display())))?
        }
        None => eprint!("{out}"),
    }
    Ok(status)
}

/// Formats of the support table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// One line per number: number, name, status.
    Text,
    /// A JSON array of {nr, name, status, missing}.
    Json,
    /// docs/syscalls.md (both architectures).
    Markdown,
}

/// `elfin syscalls --supported`: the support table, without running anything.
#[derive(clap::Parser, Debug)]
#[command(name = "elfin syscalls", about = "Print elfin's support of every Linux system call", after_help = EXAMPLES)]
pub struct SupportedArgs {
    /// Print the support table (this mode).
    #[arg(long)]
    pub supported: bool,

    /// Architecture [default: the host's]. Example: --arch aarch64
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Option<crate::arch::Arch>,

    /// Output format (markdown: docs/syscalls.md, both architectures).
    #[arg(long = "format", value_enum, default_value = "text")]
    pub format: TableFormat,

    /// Write to FILE instead of stdout. Example: -o docs/syscalls.md
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn shim_arch(a: crate::arch::Arch) -> elfin_shim::support::Arch {
    match a {
        crate::arch::Arch::X86_64 => elfin_shim::support::Arch::X86_64,
        crate::arch::Arch::Aarch64 => elfin_shim::support::Arch::Aarch64,
    }
}

/// Counts of a table: (real, partial, unsupported).
pub fn counts(arch: crate::arch::Arch) -> (usize, usize, usize) {
    use elfin_shim::support::Status;
    let t = elfin_shim::support::table(shim_arch(arch));
    let real = t.iter().filter(|e| e.status == Status::Real).count();
    let partial = t.iter().filter(|e| matches!(e.status, Status::Partial(_))).count();
    (real, partial, t.len() - real - partial)
}

/// The text table: one line per Linux system-call number of `arch`.
pub fn table_text(arch: crate::arch::Arch) -> String {
    let mut s = String::new();
    for e in elfin_shim::support::table(shim_arch(arch)) {
        let _ = writeln!(s, "{:>3}  {:<24} {}", e.nr, e.name, e.status);
    }
    s
}

fn table_json(arch: crate::arch::Arch) -> String {
    use elfin_shim::support::Status;
    let rows: Vec<serde_json::Value> = elfin_shim::support::table(shim_arch(arch))
        .into_iter()
        .map(|e| {
            let (status, missing) = match e.status {
                Status::Real => ("real", None),
                Status::Partial(m) => ("partial", Some(m)),
                Status::Unsupported => ("unsupported", None),
            };
            serde_json::json!({ "nr": e.nr, "name": e.name, "status": status, "missing": missing })
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
}

/// docs/syscalls.md: the counts and both architectures' tables.
pub fn markdown() -> String {
    use crate::arch::Arch;
    let mut s = String::new();
    s.push_str(
        "# System calls in elfin\n\n\
         Generated by `elfin syscalls --supported --format markdown -o docs/syscalls.md` from the \
         kernel's own dispatch table (`shim/src/support.rs`, which the kernel's dispatch and this \
         file are tested against). Do not edit by hand.\n\n\
         - `real`: Linux's semantics and errors for every documented argument.\n\
         - `partial`: implemented except for what the line names; that part fails as Linux \
         fails without the feature (or with ENOSYS/EINVAL) and is reported by name.\n\
         - `unsupported`: `-ENOSYS`, reported once by name (`elfin: unsupported syscall NAME`).\n\n\
         The vDSO mapped into every program (`AT_SYSINFO_EHDR`) answers `clock_gettime`, \
         `clock_getres`, `gettimeofday`, `time` and `getcpu` (x86_64; arm64 has the first three) \
         in user mode, as Linux's does; what it cannot answer goes to the system call listed \
         here.\n\n\
         | architecture | real | partial | unsupported | numbers |\n|---|---|---|---|---|\n",
    );
    for a in [Arch::X86_64, Arch::Aarch64] {
        let (r, p, u) = counts(a);
        let _ = writeln!(s, "| {} | {r} | {p} | {u} | {} |", a.name(), r + p + u);
    }
    for a in [Arch::X86_64, Arch::Aarch64] {
        let _ = write!(s, "\n## {}\n\n| nr | name | status |\n|---|---|---|\n", a.name());
        for e in elfin_shim::support::table(shim_arch(a)) {
            let _ = writeln!(s, "| {} | {} | {} |", e.nr, e.name, e.status);
        }
    }
    s
}

/// Runs `elfin syscalls --supported`.
pub fn supported(args: &SupportedArgs) -> Result<(), Fail> {
    let out = match args.format {
        TableFormat::Markdown => markdown(),
        TableFormat::Text => table_text(super::run::resolve_arch(args.arch)?),
        TableFormat::Json => table_json(super::run::resolve_arch(args.arch)?),
    };
    match &args.output {
        Some(p) => std::fs::write(p, out).map_err(|e| Fail::new(format!("cannot write {}: {e}", p.display()))),
        None => {
            print!("{out}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_syscalls_md_is_generated_from_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/syscalls.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            doc == markdown(),
            "docs/syscalls.md is out of date; regenerate it with\n  \
             cargo run -p elfin-cli -- syscalls --supported --format markdown -o docs/syscalls.md"
        );
    }

    #[test]
    fn support_table_lines() {
        let t = table_text(crate::arch::Arch::X86_64);
        assert!(t.starts_with("  0  read                     real\n"), "{t}");
        assert_eq!(t.lines().count(), elfin_shim::support::table(elfin_shim::support::Arch::X86_64).len());
        let a = table_text(crate::arch::Arch::Aarch64);
        assert!(a.contains(" 63  read                     real\n"), "{a}");
    }

    const LOG: &str = "\
[pid 1] brk(NULL) = 0x5623fb972000
[pid 1] write(1, 0x5623fb973210, 3) = 3
[pid 1] write(1, 0x5623fb973210, 3) = -1 EPIPE (Broken pipe)
elfin: unsupported syscall wait4 (61)
[pid 1] wait4(-1, 0x0, 0, NULL) = -1 ENOSYS (Function not implemented)
[pid 2] clone(0x11, 0x0) = -1 ENOSYS (Function not implemented)
elfin: unsupported syscall clone (fork: new address space) (56)
[pid 1] exit_group(0) = ?
elfin: frames free after exit: 15250 (before load: 15250, total 15417)";

    #[test]
    fn strace_lines() {
        assert_eq!(parse_strace_line("[pid 1] brk(NULL) = 0x1"), Some(("brk", "0x1")));
        assert_eq!(
            parse_strace_line("[pid 12] write(1, \"a = b\", 5) = -1 EBADF (Bad file descriptor)"),
            Some(("write", "-1 EBADF (Bad file descriptor)"))
        );
        assert_eq!(parse_strace_line("elfin: unsupported syscall wait4 (61)"), None);
        assert_eq!(parse_strace_line("[pid 1] x y(1) = 0"), None);
    }

    #[test]
    fn coverage_counts() {
        let c = coverage(LOG.as_bytes(), 2);
        assert_eq!(c.total_calls, 6);
        let names: Vec<(&str, u64, u64)> = c.syscalls.iter().map(|u| (u.name.as_str(), u.calls, u.errors)).collect();
        assert_eq!(names, [("write", 2, 1), ("brk", 1, 0), ("clone", 1, 1), ("exit_group", 1, 0), ("wait4", 1, 1)]);
        assert_eq!(c.unsupported, ["wait4 (61)", "clone (fork: new address space) (56)"]);
        let clone = c.syscalls.iter().find(|u| u.name == "clone").expect("clone");
        assert_eq!(clone.unsupported.as_deref(), Some("clone (fork: new address space)"));
        let t = text(&c);
        assert!(
            t.contains(&format!("wait4{}1{}1  UNSUPPORTED in elfin: wait4\n", " ".repeat(13), " ".repeat(7))),
            "{t}"
        );
        assert!(t.contains(&format!("brk{}1{}0\n", " ".repeat(15), " ".repeat(7))), "{t}");
        assert!(t.ends_with("6 calls to 5 distinct syscalls; exit status 2; unsupported: wait4 (61), clone (fork: new address space) (56)\n"), "{t}");
        let j = serde_json::to_value(&c).expect("json");
        assert_eq!(j["syscalls"][0]["name"], "write");
        assert_eq!(j["status"], 2);
    }
}
