//! Judging a case: the native run against the elfin run → pass, fail (with a unified
//! diff), crash, timeout or error; and reading the kernel's reports (unsupported
//! syscalls, fatal signals) out of the kernel log. Pure functions, host-tested.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The verdict on one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Same status, stdout, stderr (when compared) and files.
    Pass,
    /// The program ran to the end in elfin but behaved differently.
    Fail,
    /// elfin's kernel crashed, elfin failed, or the program died of a signal that it
    /// does not die of natively.
    Crash,
    /// The elfin run did not finish in time.
    Timeout,
    /// The case itself is broken: the program is missing, or the native run failed
    /// to start or did not finish in time.
    Error,
}

impl Status {
    /// The lowercase name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Crash => "crash",
            Status::Timeout => "timeout",
            Status::Error => "error",
        }
    }
}

/// What one run (native or elfin) produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Shell-style status (128+N for signal N); None when it was stopped for
    /// running too long.
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error (elfin: the program's only; kernel messages are apart).
    pub stderr: Vec<u8>,
    /// Kernel messages (elfin runs only).
    pub kernel_log: Vec<u8>,
    /// Wall time.
    pub duration: Duration,
    /// Files the case names as outputs: path → contents (None: absent). None when
    /// the run's files cannot be read back.
    pub files: Option<BTreeMap<String, Option<Vec<u8>>>>,
    /// A failure to run at all (cannot start, …).
    pub error: Option<String>,
}

/// Status of `elfin run` on `--timeout`.
pub const STATUS_TIMEOUT: i32 = 124;
/// Status of `elfin run` when elfin itself or its kernel failed.
pub const STATUS_ELFIN: i32 = 125;

/// The verdict with its evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// One line per difference or problem.
    pub problems: Vec<String>,
    /// Unified diffs of what differs (stdout, stderr, files), `---` native, `+++` elfin.
    pub diff: String,
    /// Outputs that could not be compared (the guest's files are not retrievable).
    pub notes: Vec<String>,
}

/// The kernel's reports found in a kernel log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelReports {
    /// `elfin: unsupported syscall NAME (N)`: (NAME, N), in order of appearance.
    pub unsupported: Vec<(String, u64)>,
    /// `elfin: killed by SIG…`: the signal name.
    pub killed_by: Option<String>,
    /// `elfin: kernel panic: …` or another crash report line.
    pub panic: Option<String>,
}

/// Reads the kernel's reports out of a kernel log.
pub fn kernel_reports(log: &[u8]) -> KernelReports {
    let text = String::from_utf8_lossy(log);
    let mut r = KernelReports::default();
    for line in text.lines() {
        // The report may follow other kernel output on the same line (no newline
        // before it), so search rather than match the start.
        if let Some(i) = line.find("elfin: unsupported syscall ") {
            let rest = &line[i + "elfin: unsupported syscall ".len()..];
            // NAME may itself hold parentheses: `clone (fork: new address space) (56)`.
            let (name, nr) = match rest.rfind(" (") {
                Some(open) if rest.ends_with(')') => {
                    let num = &rest[open + 2..rest.len() - 1];
                    match num.parse::<u64>() {
                        Ok(n) => (&rest[..open], n),
                        Err(_) => (rest, u64::MAX),
                    }
                }
                _ => (rest, u64::MAX),
            };
            if !r.unsupported.iter().any(|(n, _)| n == name) {
                r.unsupported.push((name.to_owned(), nr));
            }
        } else if let Some(i) = line.find("elfin: killed by ") {
            let rest = &line[i + "elfin: killed by ".len()..];
            let sig = rest.split_whitespace().next().unwrap_or("").to_owned();
            r.killed_by = Some(sig);
        } else if let Some(i) = line.find("elfin: kernel panic") {
            r.panic = Some(line[i..].to_owned());
        }
    }
    r
}

/// Splits a trailing `elfin: …` message of the CLI itself off the elfin run's
/// stderr (printed after the program's output on 124/125).
pub fn split_cli_message(stderr: &[u8]) -> (&[u8], Option<String>) {
    let body = stderr.strip_suffix(b"\n").unwrap_or(stderr);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = &body[start..];
    if last.starts_with(b"elfin: ") {
        (&stderr[..start], Some(String::from_utf8_lossy(last).into_owned()))
    } else {
        (stderr, None)
    }
}

fn describe_status(s: i32) -> String {
    if s > 128 && s < 128 + 65 {
        format!("{s} (signal {})", s - 128)
    } else {
        s.to_string()
    }
}

/// Judges a case: `native` is the reference, `guest` the elfin run.
pub fn judge(native: &Outcome, guest: &Outcome, compare_stderr: bool) -> Verdict {
    let mut v = Verdict { status: Status::Pass, problems: Vec::new(), diff: String::new(), notes: Vec::new() };
    if let Some(e) = &native.error {
        v.status = Status::Error;
        v.problems.push(format!("native run: {e}"));
        return v;
    }
    let Some(native_status) = native.status else {
        v.status = Status::Error;
        v.problems.push("the native run did not finish in time: fix the case or raise its timeout".into());
        return v;
    };
    if let Some(e) = &guest.error {
        v.status = Status::Error;
        v.problems.push(format!("elfin run: {e}"));
        return v;
    }
    let reports = kernel_reports(&guest.kernel_log);
    let (guest_stderr, cli_message) = match guest.status {
        Some(STATUS_TIMEOUT | STATUS_ELFIN) | None => split_cli_message(&guest.stderr),
        _ => (guest.stderr.as_slice(), None),
    };
    let guest_status = match guest.status {
        None => {
            v.status = Status::Timeout;
            v.problems.push("elfin did not stop by itself after the timeout".into());
            return v;
        }
        Some(STATUS_TIMEOUT) if cli_message.as_deref().is_some_and(|m| m.contains("timed out")) => {
            v.status = Status::Timeout;
            v.problems.push(cli_message.unwrap_or_default());
            return v;
        }
        Some(s) => s,
    };
    if guest_status == STATUS_ELFIN && native_status != STATUS_ELFIN {
        v.status = Status::Crash;
        v.problems.push(reports.panic.clone().or(cli_message).unwrap_or_else(|| "elfin failed with status 125".into()));
    } else if let Some(sig) = reports.killed_by.as_ref().filter(|_| guest_status != native_status) {
        v.status = Status::Crash;
        v.problems.push(format!("killed by {sig} in elfin; natively status {}", describe_status(native_status)));
    }
    if native_status != guest_status {
        v.problems.push(format!(
            "status: native {}, elfin {}",
            describe_status(native_status),
            describe_status(guest_status)
        ));
    }
    let diff_part = |v: &mut Verdict, what: &str, a: &[u8], b: &[u8]| {
        if let Some(d) = unified_diff(a, b, &format!("native/{what}"), &format!("elfin/{what}")) {
            v.problems.push(format!("{what} differs"));
            v.diff.push_str(&d);
        }
    };
    diff_part(&mut v, "stdout", &native.stdout, &guest.stdout);
    if compare_stderr {
        diff_part(&mut v, "stderr", &native.stderr, guest_stderr);
    }
    match (&native.files, &guest.files) {
        (Some(nf), Some(gf)) => {
            for (path, n) in nf {
                let g = gf.get(path).cloned().flatten();
                match (n, &g) {
                    (Some(n), Some(g)) => diff_part(&mut v, path, n, g),
                    (None, None) => {}
                    (Some(_), None) => v.problems.push(format!("{path}: written natively, missing in elfin")),
                    (None, Some(_)) => v.problems.push(format!("{path}: written in elfin, not natively")),
                }
            }
        }
        (Some(nf), None) if !nf.is_empty() => v.notes.push(format!(
            "outputs not compared ({}): elfin cannot copy files out of a guest yet",
            nf.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        _ => {}
    }
    if v.status == Status::Pass && !v.problems.is_empty() {
        v.status = Status::Fail;
    }
    v
}

// ------------------------------------------------------------- unified diff --

/// Context lines around each change.
const CONTEXT: usize = 3;
/// Largest diff text kept per stream.
const MAX_DIFF: usize = 16 * 1024;
/// Above this many line pairs the LCS table is not built; the diff is then one hunk
/// from the first to the last differing line.
const MAX_CELLS: usize = 4_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// A unified diff (`diff -u` style) of two byte strings split into lines, or None
/// when they are equal. Non-UTF-8 bytes are shown lossily; a last line without a
/// newline gets `\ No newline at end of file`.
pub fn unified_diff(a: &[u8], b: &[u8], name_a: &str, name_b: &str) -> Option<String> {
    if a == b {
        return None;
    }
    let la: Vec<&[u8]> = a.split_inclusive(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    let ops = edit_script(&la, &lb);
    let mut out = format!("--- {name_a}\n+++ {name_b}\n");
    // Walk the script, grouping changes whose context windows touch into hunks.
    let changes: Vec<usize> = ops.iter().enumerate().filter(|(_, op)| op.0 != Op::Same).map(|(i, _)| i).collect();
    let mut k = 0;
    while k < changes.len() {
        let first = changes[k];
        let mut last = first;
        while k + 1 < changes.len() && changes[k + 1] <= last + 2 * CONTEXT + 1 {
            k += 1;
            last = changes[k];
        }
        k += 1;
        let start = first.saturating_sub(CONTEXT);
        let end = (last + CONTEXT + 1).min(ops.len());
        let (mut sa, mut sb) = (ops[start].1, ops[start].2);
        let (mut na, mut nb) = (0, 0);
        let mut body = String::new();
        for &(op, ia, ib) in &ops[start..end] {
            let (mark, line) = match op {
                Op::Same => {
                    na += 1;
                    nb += 1;
                    (' ', la[ia])
                }
                Op::Del => {
                    na += 1;
                    ('-', la[ia])
                }
                Op::Add => {
                    nb += 1;
                    ('+', lb[ib])
                }
            };
            body.push(mark);
            body.push_str(&String::from_utf8_lossy(line));
            if !line.ends_with(b"\n") {
                body.push_str("\n\\ No newline at end of file\n");
            }
        }
        // diff -u numbers an empty range by the line before it.
        if na > 0 {
            sa += 1;
        }
        if nb > 0 {
            sb += 1;
        }
        let _ = writeln!(out, "@@ -{sa},{na} +{sb},{nb} @@");
        out.push_str(&body);
        if out.len() > MAX_DIFF {
            let mut cut = MAX_DIFF;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("\n[... diff cut]\n");
            break;
        }
    }
    Some(out)
}

/// The edit script from `a` to `b`: (op, index in a, index in b) per step; for an
/// `Add`, the a index is where it is inserted, and vice versa.
fn edit_script(a: &[&[u8]], b: &[&[u8]]) -> Vec<(Op, usize, usize)> {
    // Common prefix and suffix first: outputs usually differ in a small region.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..].iter().rev().zip(b[pre..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<(Op, usize, usize)> = (0..pre).map(|i| (Op::Same, i, i)).collect();
    let (n, m) = (ma.len(), mb.len());
    if n.saturating_mul(m) > MAX_CELLS {
        ops.extend((0..n).map(|i| (Op::Del, pre + i, pre)));
        ops.extend((0..m).map(|j| (Op::Add, pre + n, pre + j)));
    } else {
        let w = m + 1;
        let mut t = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * w + j] =
                    if ma[i] == mb[j] { t[(i + 1) * w + j + 1] + 1 } else { t[(i + 1) * w + j].max(t[i * w + j + 1]) };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                ops.push((Op::Same, pre + i, pre + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * w + j] >= t[i * w + j + 1]) {
                ops.push((Op::Del, pre + i, pre + j));
                i += 1;
            } else {
                ops.push((Op::Add, pre + i, pre + j));
                j += 1;
            }
        }
    }
    let (ea, eb) = (a.len() - suf, b.len() - suf);
    ops.extend((0..suf).map(|k| (Op::Same, ea + k, eb + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(status: i32, stdout: &str, stderr: &str) -> Outcome {
        Outcome { status: Some(status), stdout: stdout.into(), stderr: stderr.into(), ..Outcome::default() }
    }

    #[test]
    fn diff_is_unified() {
        assert_eq!(unified_diff(b"a\n", b"a\n", "x", "y"), None);
        let d =
            unified_diff(b"1\n2\n3\n4\n5\n6\n7\n8\n9\n", b"1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n", "n", "e").expect("differs");
        assert_eq!(d, "--- n\n+++ e\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
        let d = unified_diff(b"a\nb", b"a\nb\n", "n", "e").expect("differs");
        assert_eq!(d, "--- n\n+++ e\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
        let d = unified_diff(b"", b"x\n", "n", "e").expect("differs");
        assert_eq!(d, "--- n\n+++ e\n@@ -0,0 +1,1 @@\n+x\n");
        // Two changes far apart make two hunks.
        let a: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let b = a.replace("2\n", "two\n").replace("19\n", "nineteen\n");
        let d = unified_diff(a.as_bytes(), b.as_bytes(), "n", "e").expect("differs");
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(d.contains("@@ -1,5 +1,5 @@\n 1\n-2\n+two\n"), "{d}");
    }

    #[test]
    fn kernel_reports_are_parsed() {
        let log = b"elfin: frames free after exit: 1elfin: unsupported syscall clone (fork: new address space) (56)\n\
elfin: unsupported syscall wait4 (61)\nelfin: unsupported syscall wait4 (61)\nelfin: killed by SIGSEGV at 0x0 (rip 0x1)\n";
        let r = kernel_reports(log);
        assert_eq!(r.unsupported, [("clone (fork: new address space)".to_owned(), 56), ("wait4".to_owned(), 61)]);
        assert_eq!(r.killed_by.as_deref(), Some("SIGSEGV"));
        assert_eq!(r.panic, None);
        let r = kernel_reports(b"elfin: kernel panic: at foo.rs:1\n");
        assert_eq!(r.panic.as_deref(), Some("elfin: kernel panic: at foo.rs:1"));
    }

    #[test]
    fn cli_message_is_split_off() {
        assert_eq!(
            split_cli_message(b"prog said\nelfin: timed out after 5 s\n"),
            (&b"prog said\n"[..], Some("elfin: timed out after 5 s".to_owned()))
        );
        assert_eq!(split_cli_message(b"x\n"), (&b"x\n"[..], None));
        assert_eq!(split_cli_message(b""), (&b""[..], None));
    }

    #[test]
    fn verdicts() {
        let n = out(0, "hi\n", "");
        assert_eq!(judge(&n, &out(0, "hi\n", ""), true).status, Status::Pass);

        let v = judge(&n, &out(0, "ho\n", ""), true);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.problems, ["stdout differs"]);
        assert!(v.diff.contains("-hi\n+ho\n"), "{}", v.diff);

        // stderr is compared only when asked.
        assert_eq!(judge(&n, &out(0, "hi\n", "noise\n"), false).status, Status::Pass);
        assert_eq!(judge(&n, &out(0, "hi\n", "noise\n"), true).status, Status::Fail);

        let v = judge(&n, &out(2, "hi\n", ""), true);
        assert_eq!((v.status, v.problems[0].as_str()), (Status::Fail, "status: native 0, elfin 2"));

        let mut t = out(124, "", "elfin: timed out after 5 s\n");
        assert_eq!(judge(&n, &t, true).status, Status::Timeout);
        t.status = None;
        assert_eq!(judge(&n, &t, true).status, Status::Timeout);

        let mut c = out(125, "", "elfin: the elfin kernel crashed (report above)\n");
        c.kernel_log = b"elfin: kernel panic: oops\n".to_vec();
        let v = judge(&n, &c, true);
        assert_eq!((v.status, v.problems[0].as_str()), (Status::Crash, "elfin: kernel panic: oops"));

        let mut s = out(139, "", "");
        s.kernel_log = b"elfin: killed by SIGSEGV at 0x8 (rip 0x5)\n".to_vec();
        let v = judge(&n, &s, true);
        assert_eq!(v.status, Status::Crash);
        assert!(v.problems[0].starts_with("killed by SIGSEGV"), "{:?}", v.problems);
        // Dying of the same signal as natively is behaving the same.
        assert_eq!(judge(&out(139, "", ""), &s, true).status, Status::Pass);

        let mut hung = n.clone();
        hung.status = None;
        assert_eq!(judge(&hung, &out(0, "hi\n", ""), true).status, Status::Error);
    }

    #[test]
    fn output_files() {
        let files = |v: &[(&str, Option<&str>)]| {
            Some(v.iter().map(|(k, c)| ((*k).to_owned(), c.map(|c| c.as_bytes().to_vec()))).collect::<BTreeMap<_, _>>())
        };
        let mut n = out(0, "", "");
        n.files = files(&[("o.txt", Some("1\n")), ("gone", None)]);
        let mut g = out(0, "", "");
        g.files = files(&[("o.txt", Some("2\n")), ("gone", None)]);
        let v = judge(&n, &g, true);
        assert_eq!((v.status, v.problems.as_slice()), (Status::Fail, &["o.txt differs".to_owned()][..]));
        assert!(v.diff.contains("--- native/o.txt\n+++ elfin/o.txt\n"));
        g.files = files(&[("gone", Some("x"))]);
        let v = judge(&n, &g, true);
        assert!(v.problems.contains(&"o.txt: written natively, missing in elfin".to_owned()));
        assert!(v.problems.contains(&"gone: written in elfin, not natively".to_owned()));
        g.files = None;
        let v = judge(&n, &g, true);
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.notes.len(), 1);
    }
}
