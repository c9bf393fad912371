//! The compat report: per-case results, the baseline and regressions against it, and
//! the renderings (terminal table, JSON, a self-contained HTML page, Markdown for
//! docs/compat.md). Pure functions, host-tested.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::compare::Status;

/// The result of one case on one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// The program's file name, e.g. `busybox`.
    pub program: String,
    /// The architecture.
    pub arch: String,
    /// The verdict.
    pub status: Status,
    /// Wall time of the elfin run, in milliseconds.
    pub duration_ms: u64,
    /// Wall time of the native run, in milliseconds.
    pub native_ms: u64,
    /// Exit status natively (None: did not finish).
    pub native_status: Option<i32>,
    /// Exit status in elfin (None: did not finish).
    pub elfin_status: Option<i32>,
    /// Syscalls the kernel reported as unsupported, in order.
    pub unsupported_syscalls: Vec<String>,
    /// What differed, one line each.
    pub problems: Vec<String>,
    /// Unified diff (native → elfin) of stdout, stderr and files.
    pub diff: String,
    /// Remarks (e.g. outputs that could not be compared).
    pub notes: Vec<String>,
    /// The manifest marks the case flaky: never a regression.
    #[serde(default)]
    pub flaky: bool,
}

/// Counts of each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Cases run.
    pub total: usize,
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Crashed.
    pub crash: usize,
    /// Timed out.
    pub timeout: usize,
    /// Broken cases.
    pub error: usize,
    /// Cases the manifest marks flaky (whatever their status this time).
    #[serde(default)]
    pub flaky: usize,
}

impl Counts {
    fn add(&mut self, s: Status, flaky: bool) {
        self.total += 1;
        if flaky {
            self.flaky += 1;
            return;
        }
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Crash => self.crash += 1,
            Status::Timeout => self.timeout += 1,
            Status::Error => self.error += 1,
        }
    }
}

/// A baseline entry that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The case.
    pub name: String,
    /// The architecture.
    pub arch: String,
    /// Status in the baseline (None: not in it).
    pub before: Option<Status>,
    /// Status now.
    pub now: Status,
}

/// The whole report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The manifest, as given on the command line.
    pub manifest: String,
    /// Counts per architecture.
    pub summary: BTreeMap<String, Counts>,
    /// Cases that passed in the baseline and do not now.
    pub regressions: Vec<Change>,
    /// Cases that pass now and did not in the baseline (update it).
    pub improvements: Vec<Change>,
    /// Unsupported syscalls across the corpus: name → number of cases.
    pub missing_syscalls: Vec<(String, usize)>,
    /// One entry per case and architecture, in run order.
    pub cases: Vec<CaseResult>,
}

/// The baseline file: arch → case → status.
pub type Baseline = BTreeMap<String, BTreeMap<String, Status>>;

impl Report {
    /// Builds the report from the results, comparing with `baseline` if any.
    pub fn new(manifest: String, cases: Vec<CaseResult>, baseline: Option<&Baseline>) -> Report {
        let mut summary: BTreeMap<String, Counts> = BTreeMap::new();
        for c in &cases {
            summary.entry(c.arch.clone()).or_default().add(c.status, c.flaky);
        }
        let mut regressions = Vec::new();
        let mut improvements = Vec::new();
        if let Some(b) = baseline {
            for c in &cases {
                let before = b.get(&c.arch).and_then(|m| m.get(&c.name)).copied();
                let change = Change { name: c.name.clone(), arch: c.arch.clone(), before, now: c.status };
                if c.flaky {
                    continue;
                }
                if before == Some(Status::Pass) && c.status != Status::Pass {
                    regressions.push(change);
                } else if before != Some(Status::Pass) && c.status == Status::Pass {
                    improvements.push(change);
                }
            }
        }
        Report { manifest, summary, regressions, improvements, missing_syscalls: missing_syscalls(&cases), cases }
    }

    /// The baseline `old` updated with this run's statuses (other arches and cases
    /// not run are kept).
    pub fn updated_baseline(&self, old: Option<&Baseline>) -> Baseline {
        let mut b = old.cloned().unwrap_or_default();
        for c in &self.cases {
            b.entry(c.arch.clone()).or_default().insert(c.name.clone(), c.status);
        }
        b
    }
}

/// Unsupported syscalls by number of cases reporting them, most first (ties by name).
fn missing_syscalls(cases: &[CaseResult]) -> Vec<(String, usize)> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cases {
        for s in c.unsupported_syscalls.iter().collect::<BTreeSet<_>>() {
            *count.entry(s.as_str()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = count.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Parses a baseline file's text.
pub fn parse_baseline(text: &str) -> Result<Baseline, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The baseline as pretty JSON (one case per line, sorted, so diffs are readable).
pub fn baseline_json(b: &Baseline) -> String {
    let mut s = serde_json::to_string_pretty(b).unwrap_or_default();
    s.push('\n');
    s
}

/// The first line of the first problem, shortened to `max` characters.
fn first_problem(c: &CaseResult, max: usize) -> String {
    let mut p = c.problems.first().map(|p| p.lines().next().unwrap_or("").to_owned()).unwrap_or_default();
    if p.chars().count() > max {
        p = p.chars().take(max.saturating_sub(1)).collect::<String>() + "…";
    }
    p
}

/// The terminal table: one line per case that did not pass (all with `verbose`),
/// then the summary, the missing syscalls and the baseline changes.
pub fn table(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    let width = r.cases.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(s, "{:<7}  {:<7}  {:<width$}  {:>7}  details", "STATUS", "ARCH", "CASE", "TIME");
    for c in &r.cases {
        if !verbose && c.status == Status::Pass {
            continue;
        }
        let mut detail = first_problem(c, 60);
        if !c.unsupported_syscalls.is_empty() {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            let _ = write!(detail, "unsupported: {}", c.unsupported_syscalls.join(", "));
        }
        let _ = writeln!(
            s,
            "{:<7}  {:<7}  {:<width$}  {:>6.2}s  {detail}",
            c.status.name().to_uppercase(),
            c.arch,
            c.name,
            c.duration_ms as f64 / 1000.0
        );
    }
    s.push('\n');
    for (arch, n) in &r.summary {
        let _ = writeln!(
            s,
            "{arch}: {} of {} pass ({} fail, {} crash, {} timeout, {} error, {} flaky)",
            n.pass, n.total, n.fail, n.crash, n.timeout, n.error, n.flaky
        );
    }
    if !r.missing_syscalls.is_empty() {
        let top: Vec<String> = r.missing_syscalls.iter().take(8).map(|(n, k)| format!("{n} ({k})")).collect();
        let _ = writeln!(s, "missing syscalls (cases): {}", top.join(", "));
    }
    for c in &r.improvements {
        let _ = writeln!(
            s,
            "newly passing: {} [{}] (was {}): run with --update-baseline",
            c.name,
            c.arch,
            c.before.map_or("absent", Status::name)
        );
    }
    for c in &r.regressions {
        let _ = writeln!(s, "REGRESSION: {} [{}] passed in the baseline, now {}", c.name, c.arch, c.now.name());
    }
    s
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's fixed head (styles inline: the page is one self-contained file).
const HTML_HEAD: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>elfin compat report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{background:#dfd}.fail{background:#fdd}.crash{background:#fbb}.timeout{background:#ffd}.error{background:#ddd}
pre{background:#f8f8f8;padding:6px;overflow:auto;max-height:30em;margin:4px 0}
.add{color:#070}.del{color:#b00}.hunk{color:#06c}code{font-size:13px}
</style></head><body>
"#;

fn diff_html(diff: &str) -> String {
    let mut o = String::new();
    for line in diff.lines() {
        let cls = if line.starts_with("@@") {
            Some("hunk")
        } else if line.starts_with('+') {
            Some("add")
        } else if line.starts_with('-') {
            Some("del")
        } else {
            None
        };
        match cls {
            Some(c) => {
                let _ = writeln!(o, "<span class=\"{c}\">{}</span>", html_escape(line));
            }
            None => {
                let _ = writeln!(o, "{}", html_escape(line));
            }
        }
    }
    o
}

/// A self-contained HTML page (no scripts, no external files).
pub fn html(r: &Report) -> String {
    let mut s = String::from(HTML_HEAD);
    let _ = writeln!(s, "<h1>elfin compat report</h1><p>Manifest: <code>{}</code></p>", html_escape(&r.manifest));
    s.push_str("<table><tr><th>arch</th><th>cases</th><th>pass</th><th>fail</th><th>crash</th><th>timeout</th><th>error</th></tr>\n");
    for (arch, n) in &r.summary {
        let _ = writeln!(
            s,
            "<tr><td>{arch}</td><td>{}</td><td class=\"pass\">{}</td><td class=\"fail\">{}</td><td class=\"crash\">{}</td><td class=\"timeout\">{}</td><td class=\"error\">{}</td></tr>",
            n.total, n.pass, n.fail, n.crash, n.timeout, n.error
        );
    }
    s.push_str("</table>\n");
    if !r.regressions.is_empty() {
        s.push_str("<h2>Regressions</h2><ul>\n");
        for c in &r.regressions {
            let _ = writeln!(s, "<li><b>{}</b> [{}]: now {}</li>", html_escape(&c.name), c.arch, c.now.name());
        }
        s.push_str("</ul>\n");
    }
    if !r.missing_syscalls.is_empty() {
        s.push_str("<h2>Missing syscalls</h2><table><tr><th>syscall</th><th>cases</th></tr>\n");
        for (n, k) in &r.missing_syscalls {
            let _ = writeln!(s, "<tr><td><code>{}</code></td><td>{k}</td></tr>", html_escape(n));
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Cases</h2><table><tr><th>case</th><th>arch</th><th>status</th><th>time</th><th>unsupported syscalls</th><th>details</th></tr>\n");
    for c in &r.cases {
        let mut details = String::new();
        for p in &c.problems {
            let _ = writeln!(details, "<div>{}</div>", html_escape(p));
        }
        for n in &c.notes {
            let _ = writeln!(details, "<div><i>{}</i></div>", html_escape(n));
        }
        if !c.diff.is_empty() {
            let _ = write!(details, "<details><summary>diff</summary><pre>{}</pre></details>", diff_html(&c.diff));
        }
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td>{:.2}s</td><td><code>{}</code></td><td>{details}</td></tr>",
            html_escape(&c.name),
            c.arch,
            c.duration_ms as f64 / 1000.0,
            html_escape(&c.unsupported_syscalls.join(", ")),
            st = c.status.name()
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for docs/compat.md: pass table per program and arch, the top missing
/// syscalls, and every case. Holds no times, so it changes only when results do.
pub fn markdown(r: &Report, command: &str) -> String {
    let arches: Vec<&String> = r.summary.keys().collect();
    let mut s = String::new();
    s.push_str("# App compatibility\n\n");
    let _ = writeln!(
        s,
        "Generated by `{command}`; do not edit by hand. Each case runs natively (under \
         `qemu-<arch>-static` for another arch) and in elfin; it passes when the exit \
         status, stdout, stderr (unless the case opts out) and written files agree. \
         The manifest is `{}`.\n",
        r.manifest
    );
    s.push_str("## Summary\n\n| arch | cases | pass | fail | crash | timeout | error | flaky |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (arch, n) in &r.summary {
        let _ = writeln!(
            s,
            "| {arch} | {} | {} | {} | {} | {} | {} | {} |",
            n.total, n.pass, n.fail, n.crash, n.timeout, n.error, n.flaky
        );
    }
    s.push_str("\n## Pass rate per program\n\n| program |");
    for a in &arches {
        let _ = write!(s, " {a} |");
    }
    s.push_str("\n|---|");
    for _ in &arches {
        s.push_str("---:|");
    }
    s.push('\n');
    let mut per: BTreeMap<&str, BTreeMap<&str, (usize, usize)>> = BTreeMap::new();
    for c in &r.cases {
        let e = per.entry(&c.program).or_default().entry(&c.arch).or_default();
        e.1 += 1;
        if c.status == Status::Pass && !c.flaky {
            e.0 += 1;
        }
    }
    for (prog, m) in &per {
        let _ = write!(s, "| {} |", md_cell(prog));
        for a in &arches {
            match m.get(a.as_str()) {
                Some((p, t)) => {
                    let _ = write!(s, " {p}/{t} |");
                }
                None => s.push_str(" — |"),
            }
        }
        s.push('\n');
    }
    s.push_str("\n## Top missing syscalls\n\nHow many cases (over all arches) hit each system call that elfin reported as unsupported.\n\n");
    if r.missing_syscalls.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| syscall | cases | programs |\n|---|---:|---|\n");
        for (name, n) in &r.missing_syscalls {
            let progs: BTreeSet<&str> =
                r.cases.iter().filter(|c| c.unsupported_syscalls.contains(name)).map(|c| c.program.as_str()).collect();
            let _ = writeln!(
                s,
                "| `{}` | {n} | {} |",
                md_cell(name),
                md_cell(&progs.into_iter().collect::<Vec<_>>().join(", "))
            );
        }
    }
    s.push_str("\n## Cases\n\n| case |");
    for a in &arches {
        let _ = write!(s, " {a} |");
    }
    s.push_str(" unsupported syscalls | first difference |\n|---|");
    for _ in &arches {
        s.push_str("---|");
    }
    s.push_str("---|---|\n");
    let mut names: Vec<&str> = Vec::new();
    for c in &r.cases {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    for name in names {
        let of: Vec<&CaseResult> = r.cases.iter().filter(|c| c.name == name).collect();
        let _ = write!(s, "| {} |", md_cell(name));
        for a in &arches {
            match of.iter().find(|c| &&c.arch == a) {
                Some(c) => {
                    let _ = write!(s, " {} |", if c.flaky { "flaky" } else { c.status.name() });
                }
                None => s.push_str(" — |"),
            }
        }
        let unsupported: BTreeSet<&str> =
            of.iter().flat_map(|c| c.unsupported_syscalls.iter().map(String::as_str)).collect();
        let problem =
            of.iter().find(|c| c.status != Status::Pass && !c.flaky).map(|c| first_problem(c, 80)).unwrap_or_default();
        let _ = writeln!(
            s,
            " {} | {} |",
            md_cell(&unsupported.into_iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")),
            md_cell(&problem)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, arch: &str, status: Status, unsupported: &[&str]) -> CaseResult {
        CaseResult {
            name: name.into(),
            program: name.split('/').next().unwrap_or(name).into(),
            arch: arch.into(),
            status,
            duration_ms: 1500,
            native_ms: 3,
            native_status: Some(0),
            elfin_status: Some(if status == Status::Pass { 0 } else { 1 }),
            unsupported_syscalls: unsupported.iter().map(|s| (*s).to_owned()).collect(),
            problems: if status == Status::Pass { vec![] } else { vec!["stdout differs".into()] },
            diff: if status == Status::Pass {
                String::new()
            } else {
                "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-<x>\n+y\n".into()
            },
            notes: vec![],
            flaky: false,
        }
    }

    fn sample() -> Vec<CaseResult> {
        vec![
            case("bb/echo", "x86_64", Status::Pass, &[]),
            case("bb/sh", "x86_64", Status::Fail, &["wait4", "clone (fork)"]),
            case("lua/x", "x86_64", Status::Crash, &["wait4"]),
            case("bb/echo", "aarch64", Status::Fail, &[]),
        ]
    }

    #[test]
    fn summary_baseline_and_missing_syscalls() {
        let mut base = Baseline::new();
        base.entry("x86_64".into()).or_default().insert("bb/echo".into(), Status::Pass);
        base.entry("x86_64".into()).or_default().insert("lua/x".into(), Status::Fail);
        base.entry("aarch64".into()).or_default().insert("bb/echo".into(), Status::Pass);
        let r = Report::new("m.toml".into(), sample(), Some(&base));
        let x = &r.summary["x86_64"];
        assert_eq!((x.total, x.pass, x.fail, x.crash), (3, 1, 1, 1));
        assert_eq!(r.regressions.len(), 1);
        assert_eq!((r.regressions[0].name.as_str(), r.regressions[0].arch.as_str()), ("bb/echo", "aarch64"));
        assert!(r.improvements.is_empty());
        assert_eq!(r.missing_syscalls, [("wait4".to_owned(), 2), ("clone (fork)".to_owned(), 1)]);
        // Updating keeps entries of cases not run and records the new statuses.
        base.entry("x86_64".into()).or_default().insert("old".into(), Status::Pass);
        let nb = r.updated_baseline(Some(&base));
        assert_eq!(nb["x86_64"]["old"], Status::Pass);
        assert_eq!(nb["x86_64"]["lua/x"], Status::Crash);
        assert_eq!(nb["aarch64"]["bb/echo"], Status::Fail);
        let text = baseline_json(&nb);
        assert_eq!(parse_baseline(&text).expect("round trip"), nb);
        assert!(text.contains("\"bb/echo\": \"fail\""), "{text}");
        // A flaky case is never a regression.
        let mut cases = sample();
        cases[3].flaky = true;
        assert!(Report::new("m".into(), cases, Some(&base)).regressions.is_empty());
        // A case absent from the baseline that passes is an improvement, not a regression.
        let r = Report::new("m".into(), sample(), Some(&Baseline::new()));
        assert_eq!((r.regressions.len(), r.improvements.len()), (0, 1));
    }

    #[test]
    fn renderings() {
        let r = Report::new("m.toml".into(), sample(), None);
        let t = table(&r, false);
        assert!(!t.contains("PASS "), "{t}");
        assert!(t.contains("FAIL     x86_64   bb/sh"), "{t}");
        assert!(t.contains("unsupported: wait4, clone (fork)"), "{t}");
        assert!(t.contains("x86_64: 1 of 3 pass (1 fail, 1 crash, 0 timeout, 0 error, 0 flaky)"), "{t}");
        assert!(table(&r, true).contains("PASS "));

        let h = html(&r);
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
        assert!(h.contains("<span class=\"del\">-&lt;x&gt;</span>"), "{h}");
        assert!(!h.contains("<script") && !h.contains("http"));

        let md = markdown(&r, "elfin compat m.toml");
        assert!(md.contains("| program | aarch64 | x86_64 |"), "{md}");
        assert!(md.contains("| bb | 0/1 | 1/2 |"), "{md}");
        assert!(md.contains("| `wait4` | 2 | bb, lua |"), "{md}");
        assert!(md.contains("| bb/echo | fail | pass |  | stdout differs |"), "{md}");
        assert!(!md.contains("1.50"), "no times in the markdown: {md}");

        let j = serde_json::to_value(&r).expect("json");
        let c = &j["cases"][1];
        assert_eq!(c["status"], "fail");
        assert_eq!(c["unsupported_syscalls"][0], "wait4");
        assert_eq!(c["duration_ms"], 1500);
        assert!(c["diff"].as_str().is_some_and(|d| d.starts_with("--- a")));
    }
}
