//! `elfin compat`: run every case of a manifest natively and in elfin, compare, and
//! report (terminal table, JSON, HTML, Markdown); fail when a case that passed in the
//! baseline does not pass now.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::arch::Arch;
use crate::compat::compare::{self, Status};
use crate::compat::manifest::{Case, Manifest};
use crate::compat::report::{self, Baseline, CaseResult, Report};
use crate::compat::runner;
use crate::fail::Fail;
use crate::kernel;

/// Examples shown by `elfin compat --help`.
const EXAMPLES: &str = "\
Examples:
  elfin compat tests/compat/manifest.toml                 all cases, all arches, table
  elfin compat --arch x86_64 -j 4 tests/compat/manifest.toml
  elfin compat --case busybox/ -v tests/compat/manifest.toml   cases whose name contains busybox/
  elfin compat --format json tests/compat/manifest.toml > report.json
  elfin compat --html report.html --json report.json tests/compat/manifest.toml
  elfin compat --markdown docs/compat.md tests/compat/manifest.toml
  elfin compat --update-baseline tests/compat/manifest.toml

Each case runs natively (argv[0] /app/<name>, environment PATH and HOME only, in a
scratch copy of the case's files; under qemu-<arch>-static for another arch) and in
elfin (the files at /work/...), and passes when the exit status, stdout, stderr and
written files agree. The baseline (default: baseline.json next to the manifest)
records each case's status; elfin compat exits 1 when a case that passed there does
not pass now, 0 otherwise, 125 when it cannot run at all. The manifest format is
described in tests/compat/README.md.";

/// Report formats on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table of the cases that did not pass, and a summary.
    Table,
    /// The whole report as JSON (one object per case under "cases").
    Json,
}

/// Arguments of `elfin compat`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CompatArgs {
    /// The manifest (TOML). Example: tests/compat/manifest.toml
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// Architecture to run (repeatable) [default: the manifest's]. Example: --arch aarch64
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Vec<Arch>,

    /// Cases run at the same time. Example: -j 4
    #[arg(short = 'j', long, value_name = "N", default_value_t = default_jobs(),
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    /// Only the cases whose name contains TEXT (repeatable). Example: --case lua/
    #[arg(long = "case", value_name = "TEXT")]
    pub cases: Vec<String>,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,

    /// List every case in the table, passing ones too
    #[arg(short, long)]
    pub verbose: bool,

    /// Also write the JSON report to FILE. Example: --json report.json
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write a self-contained HTML report to FILE. Example: --html report.html
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Also write the Markdown pass tables to FILE. Example: --markdown docs/compat.md
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Baseline file [default: baseline.json next to the manifest]. Example: --baseline b.json
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record this run's statuses in the baseline (cases not run are kept)
    #[arg(long = "update-baseline")]
    pub update_baseline: bool,
}

fn default_jobs() -> u16 {
    std::thread::available_parallelism().map_or(2, |n| u16::try_from(n.get()).unwrap_or(2)).min(8)
}

/// Runs one case natively and in elfin and judges it.
fn run_case(case: &Case, elfin: &Path, kernel: &Path) -> CaseResult {
    let (native, guest) = if case.program.is_file() {
        let native = runner::run_native(case);
        let guest =
            if native.error.is_none() { runner::run_elfin(case, elfin, kernel) } else { compare::Outcome::default() };
        (native, guest)
    } else {
        let missing = compare::Outcome {
            error: Some(format!(
                "{} is missing: run `static-pie-apps/build.sh {}`",
                case.program.display(),
                case.arch.name()
            )),
            ..compare::Outcome::default()
        };
        (missing, compare::Outcome::default())
    };
    let verdict = compare::judge(&native, &guest, case.stderr);
    let reports = compare::kernel_reports(&guest.kernel_log);
    CaseResult {
        name: case.name.clone(),
        program: case.program_name.clone(),
        arch: case.arch.name().to_owned(),
        status: verdict.status,
        duration_ms: u64::try_from(guest.duration.as_millis()).unwrap_or(u64::MAX),
        native_ms: u64::try_from(native.duration.as_millis()).unwrap_or(u64::MAX),
        native_status: native.status,
        elfin_status: guest.status,
        unsupported_syscalls: reports.unsupported.into_iter().map(|(n, _)| n).collect(),
        problems: verdict.problems,
        diff: verdict.diff,
        notes: case
            .note
            .iter()
            .cloned()
            .chain(case.flaky.iter().map(|f| format!("flaky: {f}")))
            .chain(verdict.notes)
            .collect(),
        flaky: case.flaky.is_some(),
    }
}

/// Runs the cases on `jobs` threads; results in case order.
fn run_all(cases: &[Case], jobs: usize, elfin: &Path, kernels: &[(Arch, PathBuf)]) -> Vec<CaseResult> {
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(cases.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let kernel =
                    kernels.iter().find(|(a, _)| *a == case.arch).map(|(_, k)| k.as_path()).unwrap_or(Path::new(""));
                let r = run_case(case, elfin, kernel);
                if r.status != Status::Pass {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                bar.set_message(format!(
                    "{} not passing; last: {} [{}] {}",
                    failed.load(Ordering::Relaxed),
                    r.name,
                    r.arch,
                    r.status.name()
                ));
                bar.inc(1);
                if let Ok(mut v) = results.lock() {
                    if let Some(slot) = v.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

fn write_file(path: &Path, text: &str) -> Result<(), Fail> {
    std::fs::write(path, text).map_err(|e| Fail::new(format!("cannot write {}: {e}", path.display())))
}

/// Runs `elfin compat`; returns 1 on a regression against the baseline.
pub fn run(args: &CompatArgs) -> Result<i32, Fail> {
    let manifest = Manifest::load(&args.manifest).map_err(Fail::new)?;
    let base = args.manifest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Absolute, since native runs start in their own scratch directories.
    let base = &std::fs::canonicalize(base).map_err(|e| Fail::new(format!("{}: {e}", base.display())))?;
    let cases = manifest.cases(base, &args.arch, &args.cases).map_err(Fail::new)?;
    if cases.is_empty() {
        return Err(Fail::new(format!("{}: no case to run (check --case and --arch)", args.manifest.display())));
    }
    let baseline_path = args.baseline.clone().unwrap_or_else(|| base.join("baseline.json"));
    let baseline: Option<Baseline> = match std::fs::read_to_string(&baseline_path) {
        Ok(text) => Some(report::parse_baseline(&text).map_err(|e| {
            Fail::new(format!(
                "baseline {}: {e}; fix it or recreate it with --update-baseline",
                baseline_path.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.baseline.is_none() => None,
        Err(e) => return Err(Fail::new(format!("cannot read the baseline {}: {e}", baseline_path.display()))),
    };

    // Build (or check) each kernel once, not once per case in parallel.
    let mut arches: Vec<Arch> = Vec::new();
    for c in &cases {
        if !arches.contains(&c.arch) {
            arches.push(c.arch);
        }
    }
    let given = std::env::var_os("ELFIN_KERNEL").filter(|k| !k.is_empty());
    if given.is_some() && arches.len() > 1 {
        return Err(Fail::new(
            "ELFIN_KERNEL names one kernel image but the run covers two architectures; \
             pass --arch x86_64 or --arch aarch64"
                .into(),
        ));
    }
    let mut kernels: Vec<(Arch, PathBuf)> = Vec::new();
    for arch in arches {
        let k = match &given {
            Some(k) => PathBuf::from(k),
            None => kernel::fresh_image(&kernel::repo_root(), arch)?,
        };
        kernels.push((arch, k));
    }
    let elfin = std::env::current_exe().map_err(|e| Fail::new(format!("cannot find the elfin binary itself: {e}")))?;

    let results = run_all(&cases, usize::from(args.jobs), &elfin, &kernels);
    let report = Report::new(args.manifest.display().to_string(), results, baseline.as_ref());

    match args.format {
        Format::Table => print!("{}", report::table(&report, args.verbose)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
    }
    if let Some(p) = &args.json {
        write_file(p, &(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"))?;
    }
    if let Some(p) = &args.html {
        write_file(p, &report::html(&report))?;
    }
    if let Some(p) = &args.markdown {
        let command = format!("elfin compat --markdown {} {}", p.display(), args.manifest.display());
        write_file(p, &report::markdown(&report, &command))?;
    }
    if args.update_baseline {
        write_file(&baseline_path, &report::baseline_json(&report.updated_baseline(baseline.as_ref())))?;
        eprintln!("elfin: baseline {} updated", baseline_path.display());
        return Ok(0);
    }
    Ok(if report.regressions.is_empty() { 0 } else { 1 })
}
