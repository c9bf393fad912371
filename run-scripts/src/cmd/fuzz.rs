//! `elfin fuzz`: runs the in-guest system-call fuzzer (`static-pie-apps/src/fuzz/`)
//! in a loop of VMs until N calls are done, and reports every kernel fault.
//!
//! The fuzzer writes `@fz STEP NR NAME ARGS… [| NOTE]` on stderr before each call
//! (the console is synchronous, so the line is out before the call can crash the
//! kernel). This command reads those lines from the console, and when a boot ends
//! early it restarts the fuzzer with the same seed at the next step:
//! - the kernel crashed (the console's crash frame): a **kernel fault** at the last
//!   step, reported with the kernel's message;
//! - the program died (a signal, or a call that ended it): a death, restarted;
//! - the console fell silent for `--hang-timeout` seconds: a hang, restarted.
//!
//! It prints `kernel faults: N` and a report of each fault, and exits 1 when N > 0.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::arch::{AccelChoice, Arch};
use crate::console::Output;
use crate::fail::Fail;
use crate::frame::Channel;
use crate::kernel;

use super::run::{resolve_arch, RunArgs};

/// Examples shown by `elfin fuzz --help`.
const EXAMPLES: &str = "\
Examples:
  elfin fuzz                              10000 calls, host architecture, a random seed
  elfin fuzz --arch aarch64 --calls 1000000 --seed 42
  elfin fuzz --seed 0x2a --start 4711 --calls 1     replay one step in a fresh guest
  elfin fuzz --log fuzz.txt                          keep the whole console of every boot

The fuzzer is static-pie-apps/out/<arch>/glibc/fuzz (static-pie-apps/build.sh builds
it). Each step is reproducible from the seed and the step number; `--seed S --calls K+1`
replays everything up to step K. Exit status: 1 when the kernel faulted, 0 when not,
125 when elfin itself failed.";

/// Arguments of `elfin fuzz`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct FuzzArgs {
    /// Guest architecture [default: the host's]. Example: --arch aarch64
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Option<Arch>,

    /// Number of calls (steps) to make. Example: --calls 1000000
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub calls: u64,

    /// Seed (decimal or 0x hex) [default: from the clock, printed]. Example: --seed 42
    #[arg(long, value_name = "S", value_parser = parse_u64)]
    pub seed: Option<u64>,

    /// First step. Example: --start 4711
    #[arg(long, value_name = "STEP", default_value_t = 0, value_parser = parse_u64)]
    pub start: u64,

    /// Number of virtual CPUs, 1 to 64. Example: --smp 2
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub smp: u32,

    /// Guest memory, in MiB or with a suffix M or G. Example: -m 512M
    #[arg(short = 'm', long = "mem", value_name = "SIZE", default_value = "256M", value_parser = crate::options::parse_mem)]
    pub mem_mib: u64,

    /// Accelerator: auto picks KVM only on hosts with VT-x/AMD-V, else TCG.
    #[arg(long, value_enum, value_name = "ACCEL", default_value = "auto")]
    pub accel: AccelChoice,

    /// Seconds of console silence after which a boot counts as hung. Example: --hang-timeout 60
    #[arg(long, value_name = "SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub hang_timeout: u64,

    /// Stop after this many kernel faults [default: never]. Example: --max-faults 5
    #[arg(long, value_name = "N")]
    pub max_faults: Option<u64>,

    /// Only these calls (comma-separated syscall names, or the pseudo-calls touch,
    /// thread, insn; unknown for numbers that are no syscall). Example: --only rt_sigreturn,insn
    #[arg(long, value_name = "NAMES")]
    pub only: Option<String>,

    /// Leave these steps out (ranges FROM-TO, comma-separated), to find which earlier
    /// calls a fault needs. Example: --skip 0-4000,4100-4200
    #[arg(long, value_name = "RANGES")]
    pub skip: Option<String>,

    /// The fuzzer program [default: static-pie-apps/out/<arch>/glibc/fuzz]
    #[arg(long, value_name = "PATH")]
    pub fuzzer: Option<PathBuf>,

    /// Kernel image to boot instead of the built one (also: ELFIN_KERNEL)
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,

    /// Append the console of every boot (fuzzer lines and kernel messages) to FILE
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Have the fuzzer log each call's result too (`@fz = RET`), and print every boot
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Parses a decimal or `0x` hexadecimal number.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    r.map_err(|_| format!("'{s}' is not a number (decimal or 0x hex)"))
}

/// The syscall numbers elfin decodes for `arch` (the fuzzer weights them higher).
pub fn implemented(arch: Arch) -> Vec<usize> {
    (0..1024)
        .filter(|&n| match arch {
            Arch::X86_64 => elfin_shim::x86_64::nr(n).is_some(),
            Arch::Aarch64 => elfin_shim::aarch64::nr(n).is_some(),
        })
        .collect()
}

/// One line the fuzzer wrote, as far as this command cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `@fz start …`: the fuzzer is set up.
    Start,
    /// `@fz STEP NR NAME ARGS…`: about to make this call.
    Step { step: u64, name: String, text: String },
    /// `@fz end STEP …`: done, all calls made.
    End { step: u64 },
    /// `@fz ro-written STEP`: a call wrote into read-only memory.
    RoWritten { step: u64 },
    /// `@fz fuzzer-fault …` or `@fz refusing: …`, `@fz setup-failed …`: the fuzzer itself.
    Trouble(String),
    /// Anything else (results with -v, refresh markers).
    Other,
}

/// Parses one line of the fuzzer's stderr. The `@fz ` marker may follow other
/// bytes on the same line (a fuzzed write to a console descriptor without a
/// newline); the last marker counts.
pub fn parse_line(line: &str) -> Line {
    let Some(at) = line.rfind("@fz ") else { return Line::Other };
    let rest = &line[at + 4..];
    let mut words = rest.split_whitespace();
    let first = words.next().unwrap_or("");
    match first {
        "start" => Line::Start,
        "end" => match words.next().and_then(|w| w.parse().ok()) {
            Some(step) => Line::End { step },
            None => Line::Other,
        },
        "ro-written" => match words.next().and_then(|w| w.parse().ok()) {
            Some(step) => Line::RoWritten { step },
            None => Line::Other,
        },
        "fuzzer-fault" | "refusing:" | "setup-failed" | "usage:" | "warning:" => Line::Trouble(rest.to_string()),
        "=" => Line::Other,
        _ => {
            let Ok(step) = first.parse::<u64>() else { return Line::Other };
            let _nr = words.next();
            // `STEP - refresh` (the fuzzer restoring its files, descriptors and
            // handlers) counts as a step of its own: its calls may crash too.
            match words.next() {
                None => Line::Other,
                Some(name) => Line::Step { step, name: name.to_string(), text: rest.to_string() },
            }
        }
    }
}

/// How many earlier calls a report shows.
const CONTEXT_STEPS: usize = 4;
/// Most kernel-message bytes kept per boot.
const KERNEL_KEEP: usize = 64 * 1024;

/// What one boot's console said, collected while it runs.
#[derive(Default)]
struct BootLog {
    partial: Vec<u8>,
    last: Option<(u64, String, String)>,
    previous: VecDeque<String>,
    steps_seen: u64,
    started: bool,
    end: Option<u64>,
    ro_written: Vec<u64>,
    trouble: Vec<String>,
    /// Kernel messages since the last step line.
    kernel: Vec<u8>,
    log: Option<std::fs::File>,
}

impl BootLog {
    fn feed(&mut self, channel: Channel, bytes: &[u8]) {
        if let Some(f) = self.log.as_mut() {
            let _ = f.write_all(bytes);
        }
        match channel {
            Channel::Stderr => {
                self.partial.extend_from_slice(bytes);
                while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.partial.drain(..=nl).collect();
                    let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    self.line(&text);
                }
                // A line without its end that is this long is garbage, not ours.
                if self.partial.len() > 64 * 1024 {
                    self.partial.clear();
                }
            }
            Channel::Kernel => {
                if self.kernel.len() < KERNEL_KEEP {
                    self.kernel.extend_from_slice(bytes);
                }
            }
            Channel::Stdout => {}
        }
    }

    fn line(&mut self, text: &str) {
        match parse_line(text) {
            Line::Start => self.started = true,
            Line::Step { step, name, text } => {
                if let Some((_, _, prev)) = self.last.take() {
                    if self.previous.len() == CONTEXT_STEPS {
                        self.previous.pop_front();
                    }
                    self.previous.push_back(prev);
                }
                self.last = Some((step, name, text));
                self.steps_seen += 1;
                self.kernel.clear();
            }
            Line::End { step } => self.end = Some(step),
            Line::RoWritten { step } => self.ro_written.push(step),
            Line::Trouble(t) => self.trouble.push(t),
            Line::Other => {}
        }
    }
}

/// The kind of an event worth reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The kernel crashed.
    Fault,
    /// The console fell silent.
    Hang,
    /// The program ended before its last step.
    Death,
}

/// One reported event: what happened at which step.
#[derive(Clone, Debug)]
pub struct Event {
    /// Fault, hang or death.
    pub kind: Kind,
    /// The step whose call was in progress.
    pub step: u64,
    /// The call's name.
    pub call: String,
    /// The step line as the fuzzer wrote it (`STEP NR NAME ARGS… | NOTE`).
    pub line: String,
    /// The calls before it (oldest first).
    pub before: Vec<String>,
    /// The kernel's messages since the call (crash report, kill message).
    pub kernel: String,
    /// The program's status (deaths).
    pub status: Option<u8>,
}

impl Event {
    /// What makes two faults "the same": the call and the first line of the kernel's
    /// report, with addresses masked.
    pub fn signature(&self) -> String {
        let first = self
            .kernel
            .lines()
            .find(|l| l.contains("kernel fault") || l.contains("kernel panic"))
            .or_else(|| self.kernel.lines().next())
            .unwrap_or("");
        format!("{}: {}", self.call, mask_hex(first))
    }
}

/// What a boot that ended before its last step was: the kernel's crash frame or its
/// crash message is a fault, and so is a VM that ended without any status (`-no-reboot`
/// turns a reset, e.g. a triple fault, into QEMU's exit); a silent console is a hang;
/// the rest is the program's death.
pub fn classify(crashed: bool, idle: bool, status: Option<u8>, kernel: &str) -> Kind {
    if crashed || kernel.contains("elfin: kernel fault") || kernel.contains("elfin: kernel panic") {
        Kind::Fault
    } else if idle {
        Kind::Hang
    } else if status.is_none() {
        Kind::Fault
    } else {
        Kind::Death
    }
}

/// Replaces `0x…` numbers with `0x_` so that reports differing only in addresses match.
pub fn mask_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && b.get(i + 1) == Some(&b'x') && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
            out.push_str("0x_");
            i += 2;
            while b.get(i).is_some_and(u8::is_ascii_hexdigit) {
                i += 1;
            }
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The kernel's messages worth showing: not the one-time "unsupported syscall"
/// reports, and from the crash report on when there is one.
pub fn kernel_excerpt(kernel: &[u8]) -> String {
    let text = String::from_utf8_lossy(kernel);
    let lines: Vec<&str> =
        text.lines().filter(|l| !l.starts_with("elfin: unsupported syscall") && !l.trim().is_empty()).collect();
    let from = lines.iter().position(|l| l.contains("kernel fault") || l.contains("kernel panic")).unwrap_or(0);
    lines[from..].iter().take(40).copied().collect::<Vec<_>>().join("\n")
}

/// The whole run's results.
#[derive(Debug, Default)]
pub struct Summary {
    /// Every fault, hang and death, in step order per kind.
    pub events: Vec<Event>,
    /// Steps whose call wrote into read-only memory.
    pub ro_written: Vec<u64>,
    /// Boots made.
    pub boots: u64,
    /// Steps done (calls made or attempted).
    pub steps: u64,
}

impl Summary {
    fn count(&self, kind: Kind) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
    }
}

/// The final report: counts, then every fault (the first of each signature in full),
/// then hangs and deaths in short.
pub fn report(s: &Summary, arch: Arch, seed: u64, only: Option<&str>, start: u64, calls: u64, secs: f64) -> String {
    let mut out = String::new();
    let rate = if secs > 0.0 { s.steps as f64 / secs } else { 0.0 };
    let _ = writeln!(
        out,
        "elfin fuzz: {}, seed {seed:#x}, steps {start}..{} ({} of {calls} calls) in {} boots, {secs:.1} s ({rate:.0} calls/s)",
        arch.name(),
        start + s.steps,
        s.steps,
        s.boots
    );
    let deaths = s.count(Kind::Death);
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for e in s.events.iter().filter(|e| e.kind == Kind::Death) {
        *by_status.entry(status_name(e.status)).or_default() += 1;
    }
    let detail: Vec<String> = by_status.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    let _ = writeln!(
        out,
        "program deaths: {deaths}{}",
        if detail.is_empty() { String::new() } else { format!(" ({}; restarted after each)", detail.join(", ")) }
    );
    let _ = writeln!(out, "hangs: {}", s.count(Kind::Hang));
    if !s.ro_written.is_empty() {
        let steps: Vec<String> = s.ro_written.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "read-only memory written by the kernel at steps: {}", steps.join(", "));
    }
    let faults: Vec<&Event> = s.events.iter().filter(|e| e.kind == Kind::Fault).collect();
    let _ = writeln!(out, "kernel faults: {}", faults.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in faults.iter().enumerate() {
        let n = i + 1;
        let _ = writeln!(out);
        if let Some(&first) = seen.get(&e.signature()) {
            let _ = writeln!(out, "fault {n}: step {}, seed {seed:#x}: {} (same as fault {first})", e.step, e.line);
            continue;
        }
        seen.insert(e.signature(), n);
        let _ = writeln!(out, "fault {n}: step {}, seed {seed:#x}", e.step);
        let _ = writeln!(out, "  call:   {}", e.line);
        for b in &e.before {
            let _ = writeln!(out, "  before: {b}");
        }
        for (j, l) in e.kernel.lines().enumerate() {
            let _ = writeln!(out, "  {} {l}", if j == 0 { "kernel:" } else { "       " });
        }
        let _ = writeln!(
            out,
            "  replay: elfin fuzz --arch {a} --seed {seed:#x}{o} --start {st} --calls 1    (this call alone)\n          elfin fuzz --arch {a} --seed {seed:#x}{o} --start {s0} --calls {k}    (with every call before it)",
            a = arch.name(),
            o = only.map(|o| format!(" --only {o}")).unwrap_or_default(),
            st = e.step,
            s0 = start,
            k = e.step + 1 - start
        );
    }
    let others: Vec<&Event> = s.events.iter().filter(|e| e.kind != Kind::Fault).collect();
    if !others.is_empty() {
        let _ = writeln!(out);
        for e in others {
            let what = match e.kind {
                Kind::Hang => "hang".to_string(),
                _ => format!("death ({})", status_name(e.status)),
            };
            let _ = writeln!(out, "{what} at step {}: {}", e.step, e.line);
            if let Some(l) = e.kernel.lines().find(|l| l.starts_with("elfin: killed") || l.starts_with("elfin: out of"))
            {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    out
}

fn status_name(status: Option<u8>) -> String {
    match status {
        Some(s) if s > 128 => match signal_name(i32::from(s - 128)) {
            Some(n) => format!("killed by {n}"),
            None => format!("killed by signal {}", s - 128),
        },
        Some(s) => format!("exit status {s}"),
        None => "no status".to_string(),
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return None,
    })
}

/// A private copy of the fuzzer for the boots of one run, removed when dropped.
struct Snapshot {
    path: PathBuf,
}

impl Snapshot {
    fn create(source: &Path, bytes: &[u8]) -> Result<Snapshot, Fail> {
        let dir = std::env::temp_dir().join(format!("elfin-fuzz-{}", std::process::id()));
        let path = dir.join(source.file_name().unwrap_or_else(|| std::ffi::OsStr::new("fuzz")));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| Fail::new(format!("cannot copy the fuzzer to {}: {e}", path.display())))?;
        Ok(Snapshot { path })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// FNV-1a, 64 bits: names a fuzzer build in the report.
pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The fuzzer binary: `--fuzzer`, else the built one in the source tree.
fn fuzzer_path(args: &FuzzArgs, arch: Arch) -> Result<PathBuf, Fail> {
    if let Some(p) = &args.fuzzer {
        return Ok(p.clone());
    }
    let p = kernel::repo_root().join("static-pie-apps/out").join(arch.name()).join("glibc/fuzz");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Fail::new(format!(
            "{}: no fuzzer built; build it with static-pie-apps/build.sh {} (or pass --fuzzer PATH)",
            p.display(),
            arch.name()
        )))
    }
}

/// The `elfin run` arguments of one boot of the fuzzer.
fn run_args(args: &FuzzArgs, arch: Arch, fuzzer: &Path, seed: u64, from: u64, count: u64) -> RunArgs {
    let mut prog_args: Vec<String> = vec![
        "--seed".into(),
        format!("{seed:#x}"),
        "--start".into(),
        from.to_string(),
        "--calls".into(),
        count.to_string(),
        "-i".into(),
        implemented(arch).iter().map(usize::to_string).collect::<Vec<_>>().join(","),
    ];
    if args.verbose {
        prog_args.push("-v".into());
    }
    if let Some(only) = &args.only {
        prog_args.push("--only".into());
        prog_args.push(only.clone());
    }
    if let Some(skip) = &args.skip {
        prog_args.push("--skip".into());
        prog_args.push(skip.clone());
    }
    RunArgs {
        arch: Some(arch),
        mem_mib: Some(args.mem_mib),
        smp: args.smp,
        vmm: crate::vmm::Vmm::Qemu,
        vmm_path: None,
        busybox: None,
        accel: args.accel,
        machine: None,
        strace: false,
        no_aslr: false,
        log_level: None,
        kernel_args: Vec::new(),
        env: Vec::new(),
        volumes: Vec::new(),
        workdir: None,
        argv0: None,
        timeout: None,
        kernel: args.kernel.clone(),
        qemu_args: Vec::new(),
        serial_stdio: true,
        print_cmd: false,
        no_host_check: false,
        kernel_log: None,
        // No network device: the fuzzer's sockets use the loopback interface.
        net: None,
        publish: Vec::new(),
        program: fuzzer.to_path_buf(),
        args: prog_args.into_iter().map(Into::into).collect(),
    }
}

/// Runs `elfin fuzz`; returns 1 when the kernel faulted, else 0.
pub fn run(args: &FuzzArgs) -> Result<i32, Fail> {
    let arch = resolve_arch(args.arch)?;
    let source = fuzzer_path(args, arch)?;
    // Every boot runs this copy: a rebuild during a long run cannot change the
    // calls a step makes halfway through (replays need the same build).
    let bytes = std::fs::read(&source).map_err(|e| Fail::new(format!("{}: {e}", source.display())))?;
    let id = fnv64(&bytes);
    let snapshot = Snapshot::create(&source, &bytes)?;
    let fuzzer = snapshot.path.clone();
    let seed = args.seed.unwrap_or_else(|| {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        (t.as_secs() << 20) ^ u64::from(t.subsec_nanos())
    });
    let end = args.start.saturating_add(args.calls);
    let mut log_file = match &args.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Fail::new(format!("cannot open the log {}: {e}", p.display())))?,
        ),
        None => None,
    };
    eprintln!(
        "elfin fuzz: {} calls on {} from step {}, seed {seed:#x} (replay with --seed {seed:#x})",
        args.calls,
        arch.name(),
        args.start
    );
    if args.smp > 1 {
        eprintln!(
            "elfin fuzz: --smp {}: the VM has {} CPUs; the kernel runs programs on one for now",
            args.smp, args.smp
        );
    }

    let t0 = Instant::now();
    let mut last_progress = Instant::now();
    let mut summary = Summary::default();
    let mut next = args.start;
    let mut fruitless = 0;
    while next < end {
        let log = Arc::new(Mutex::new(BootLog {
            log: log_file.as_ref().and_then(|f| f.try_clone().ok()),
            ..BootLog::default()
        }));
        if let Some(f) = log_file.as_mut() {
            let _ = writeln!(f, "\n=== elfin fuzz: boot {} from step {next} ===", summary.boots + 1);
        }
        let sink = Arc::clone(&log);
        let output = Output::Capture(Box::new(move |ch, bytes| {
            if let Ok(mut l) = sink.lock() {
                l.feed(ch, bytes);
            }
        }));
        let run = run_args(args, arch, &fuzzer, seed, next, end - next);
        let ending = match super::run::boot(&run, output, true, Some(Duration::from_secs(args.hang_timeout)))? {
            Ok(ending) => ending,
            Err(status) => return Ok(status),
        };
        summary.boots += 1;
        if let Some(sig) = ending.signal {
            eprintln!("elfin fuzz: interrupted by signal {sig}; the report so far:");
            print!(
                "{}",
                report(&summary, arch, seed, args.only.as_deref(), args.start, args.calls, t0.elapsed().as_secs_f64())
            );
            return Ok(128 + sig);
        }
        let b = std::mem::take(&mut *log.lock().map_err(|_| Fail::new("the console collector failed".into()))?);
        for t in &b.trouble {
            eprintln!("elfin fuzz: the fuzzer says: {t}");
        }
        summary.ro_written.extend(&b.ro_written);
        let reached = b.last.as_ref().map(|(s, _, _)| *s);
        if let Some(done) = b.end {
            if ending.report.status == Some(0) {
                summary.steps = done - args.start;
                break;
            }
        }
        let kind =
            classify(ending.report.crashed, ending.idle, ending.report.status, &String::from_utf8_lossy(&b.kernel));
        let Some((step, name, line)) = b.last.clone() else {
            // Not one call made: the fuzzer failed to start, or the kernel failed it
            // before the first step. Skip a step so that a crash in the set-up does
            // not loop forever, but give up when it keeps happening.
            fruitless += 1;
            let msg = kernel_excerpt(&b.kernel);
            if fruitless >= 3 || !b.trouble.is_empty() && !b.started {
                return Err(Fail::new(format!(
                    "the fuzzer made no call in {fruitless} boots (status {:?}); kernel: {}",
                    ending.report.status,
                    if msg.is_empty() { "(nothing)".into() } else { msg }
                )));
            }
            if kind == Kind::Fault {
                summary.events.push(Event {
                    kind,
                    step: next,
                    call: "(set-up)".into(),
                    line: format!("{next} - (set-up, before the first call)"),
                    before: Vec::new(),
                    kernel: msg,
                    status: None,
                });
            }
            next += 1;
            continue;
        };
        fruitless = 0;
        let event = Event {
            kind,
            step,
            call: name,
            line,
            before: b.previous.iter().cloned().collect(),
            kernel: match (kind, ending.report.status, ending.report.crashed) {
                (Kind::Fault, None, false) if kernel_excerpt(&b.kernel).is_empty() => format!(
                    "(no crash report: the VM ended without a status, {:?}: a reset such as a triple fault, or QEMU failed)",
                    ending.vmm
                ),
                _ => kernel_excerpt(&b.kernel),
            },
            status: ending.report.status,
        };
        match kind {
            Kind::Fault => eprintln!("elfin fuzz: KERNEL FAULT at step {step}: {}", event.line),
            Kind::Hang => eprintln!("elfin fuzz: hang at step {step}: {}", event.line),
            Kind::Death if args.verbose => {
                eprintln!("elfin fuzz: {} at step {step}: {}", status_name(event.status), event.line)
            }
            Kind::Death => {}
        }
        summary.events.push(event);
        next = reached.map_or(next + 1, |s| s + 1).max(next + 1);
        summary.steps = next - args.start;
        let faults = summary.count(Kind::Fault) as u64;
        if args.max_faults.is_some_and(|m| faults >= m) {
            eprintln!("elfin fuzz: stopping after {faults} kernel faults (--max-faults)");
            break;
        }
        if last_progress.elapsed() > Duration::from_secs(10) {
            last_progress = Instant::now();
            eprintln!(
                "elfin fuzz: step {next} of {end}, {} boots, {} faults, {} hangs, {} deaths",
                summary.boots,
                faults,
                summary.count(Kind::Hang),
                summary.count(Kind::Death)
            );
        }
    }
    let mut text =
        report(&summary, arch, seed, args.only.as_deref(), args.start, args.calls, t0.elapsed().as_secs_f64());
    // Replays need the same fuzzer: another build may pick other calls for a step.
    text.insert_str(text.find('\n').map_or(0, |i| i + 1), &format!("fuzzer: {} (fnv64 {id:016x})\n", source.display()));
    print!("{text}");
    if let Some(f) = log_file.as_mut() {
        let _ = f.write_all(text.as_bytes());
    }
    Ok(if summary.count(Kind::Fault) > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_line("@fz start arch=x86_64 seed=0x1"), Line::Start);
        assert_eq!(
            parse_line("@fz 17 0 read 0x3 0x7f 0x10 0x0 0x0 0x0"),
            Line::Step { step: 17, name: "read".into(), text: "17 0 read 0x3 0x7f 0x10 0x0 0x0 0x0".into() }
        );
        assert_eq!(
            parse_line("@fz 9 - touch 0x1000 0x1 0x0 0x0 0x0 0x0"),
            Line::Step { step: 9, name: "touch".into(), text: "9 - touch 0x1000 0x1 0x0 0x0 0x0 0x0".into() }
        );
        assert_eq!(
            parse_line("@fz 4096 - refresh"),
            Line::Step { step: 4096, name: "refresh".into(), text: "4096 - refresh".into() }
        );
        assert_eq!(parse_line("@fz end 100 signals=3 ro-violations=0"), Line::End { step: 100 });
        assert_eq!(parse_line("@fz ro-written 55"), Line::RoWritten { step: 55 });
        assert_eq!(parse_line("@fz = -14"), Line::Other);
        assert_eq!(parse_line("hello"), Line::Other);
        assert!(matches!(parse_line("@fz fuzzer-fault sig=11 addr=0x0 step=3"), Line::Trouble(_)));
        // Garbage a fuzzed write left before our line.
        assert_eq!(
            parse_line("\u{1}xx@fz 5 39 getpid 0x0 0x0 0x0 0x0 0x0 0x0"),
            Line::Step { step: 5, name: "getpid".into(), text: "5 39 getpid 0x0 0x0 0x0 0x0 0x0 0x0".into() }
        );
    }

    #[test]
    fn boot_log_keeps_the_last_step_and_kernel_text_after_it() {
        let mut b = BootLog::default();
        b.feed(Channel::Stderr, b"@fz start arch=x\n@fz 1 39 getpid 0x0\n@fz 2 0 re");
        b.feed(Channel::Kernel, b"elfin: unsupported syscall foo (1)\n");
        b.feed(Channel::Stderr, b"ad 0x3 0x0\n");
        b.feed(Channel::Kernel, b"elfin: kernel fault: PageFault at 0x10\n  rip 0xffffffff80001234\n");
        assert!(b.started);
        assert_eq!(b.last.as_ref().map(|(s, n, _)| (*s, n.as_str())), Some((2, "read")));
        assert_eq!(b.previous, ["1 39 getpid 0x0"]);
        assert_eq!(kernel_excerpt(&b.kernel), "elfin: kernel fault: PageFault at 0x10\n  rip 0xffffffff80001234");
    }

    #[test]
    fn masking_and_signatures() {
        assert_eq!(mask_hex("fault at 0x10 (rip 0xffffffff8000abcd) vector 14"), "fault at 0x_ (rip 0x_) vector 14");
        let e = |kernel: &str| Event {
            kind: Kind::Fault,
            step: 1,
            call: "rt_sigreturn".into(),
            line: String::new(),
            before: Vec::new(),
            kernel: kernel.into(),
            status: None,
        };
        assert_eq!(
            e("elfin: kernel fault: GeneralProtection (vector 13, error code 0x0)\nrip 0x1").signature(),
            e("elfin: kernel fault: GeneralProtection (vector 13, error code 0x0)\nrip 0x2").signature()
        );
    }

    #[test]
    fn report_counts_and_groups() {
        let ev = |kind, step, call: &str, kernel: &str, status| Event {
            kind,
            step,
            call: call.into(),
            line: format!("{step} 15 {call} 0x1"),
            before: vec!["0 39 getpid".into()],
            kernel: kernel.into(),
            status,
        };
        let s = Summary {
            events: vec![
                ev(Kind::Death, 3, "touch", "elfin: killed by SIGSEGV at 0x0 (rip 0x1)", Some(139)),
                ev(Kind::Fault, 7, "rt_sigreturn", "elfin: kernel fault: GeneralProtection (rip 0xff1)", None),
                ev(Kind::Fault, 9, "rt_sigreturn", "elfin: kernel fault: GeneralProtection (rip 0xff2)", None),
                ev(Kind::Hang, 11, "futex", "", None),
            ],
            ro_written: vec![],
            boots: 5,
            steps: 20,
        };
        let r = report(&s, Arch::X86_64, 0x2a, None, 0, 20, 2.0);
        assert!(r.contains("program deaths: 1 (killed by SIGSEGV: 1; restarted after each)\n"), "{r}");
        assert!(r.contains("hangs: 1\n"), "{r}");
        assert!(r.contains("kernel faults: 2\n"), "{r}");
        assert!(
            r.contains("fault 1: step 7, seed 0x2a\n  call:   7 15 rt_sigreturn 0x1\n  before: 0 39 getpid\n"),
            "{r}"
        );
        assert!(r.contains("  kernel: elfin: kernel fault: GeneralProtection (rip 0xff1)\n"), "{r}");
        assert!(r.contains("elfin fuzz --arch x86_64 --seed 0x2a --start 7 --calls 1"), "{r}");
        assert!(r.contains("elfin fuzz --arch x86_64 --seed 0x2a --start 0 --calls 8"), "{r}");
        assert!(r.contains("fault 2: step 9, seed 0x2a: 9 15 rt_sigreturn 0x1 (same as fault 1)\n"), "{r}");
        assert!(r.contains("death (killed by SIGSEGV) at step 3: 3 15 touch 0x1\n    elfin: killed by SIGSEGV"), "{r}");
    }

    #[test]
    fn what_an_early_end_was() {
        assert_eq!(classify(true, false, None, ""), Kind::Fault);
        assert_eq!(classify(false, true, None, "elfin: kernel panic: at vm.rs:1"), Kind::Fault);
        assert_eq!(classify(false, true, None, "elfin: killed by SIGSEGV"), Kind::Hang);
        assert_eq!(classify(false, false, None, ""), Kind::Fault);
        assert_eq!(classify(false, false, Some(139), "elfin: killed by SIGSEGV"), Kind::Death);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("42"), Ok(42));
        assert_eq!(parse_u64("0x2a"), Ok(42));
        assert!(parse_u64("x").is_err());
    }

    #[test]
    fn implemented_lists_decoded_numbers() {
        let x = implemented(Arch::X86_64);
        assert!(x.contains(&0) && x.contains(&1) && x.contains(&231), "{x:?}");
        let a = implemented(Arch::Aarch64);
        assert!(a.contains(&63) && a.contains(&64) && !a.contains(&40), "{a:?}");
    }
}
