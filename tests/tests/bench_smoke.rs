//! The benchmark harness (`./x bench`, tests/bench/bench.py) at its smallest:
//! one short run per column (elfin, native, the Debian Linux guest) on x86_64,
//! written to a scratch file, not docs/benchmarks.md. It asserts only that
//! every figure was produced and is a positive number (the CLI's overhead, a
//! difference of two medians, may come out at or below zero on a busy machine),
//! and that the clock
//! check reads one nanosecond per instruction under `-icount shift=0` in both
//! guests (else the instruction columns would not count instructions).
//!
//! The Linux guest's kernel is fetched once through apt (see
//! tests/bench/linux_guest.py) and cached under ~/.cache/elfin/linux-guest.

use std::process::Command;

use elfin_tests::*;

/// The cells of the Markdown table rows of `text` (header and rule rows left
/// out), each row as (figure, other cells).
fn rows(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(inner) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
            continue;
        };
        let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_string()).collect();
        if cells[0] == "figure" || cells[0].starts_with("---") {
            continue;
        }
        out.push((cells[0].clone(), cells[1..].to_vec()));
    }
    out
}

/// The number a cell starts with ("1,234 ms", "5.6 MiB", "2,000 to /init").
fn number(cell: &str) -> Option<f64> {
    let n: String = cell.chars().take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.' || *c == '-').collect();
    n.replace(',', "").parse().ok()
}

#[test]
fn bench_smoke_every_figure() {
    let dir = scratch_dir("bench-smoke");
    let out = dir.join("benchmarks.md");
    let run = Command::new("python3")
        .arg(repo_root().join("tests/bench/bench.py"))
        .args(["--smoke", "--arch", "x86_64", "--out"])
        .arg(&out)
        .env("ELFIN_BIN", elfin_bin())
        .output()
        .expect("run python3 tests/bench/bench.py");
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench.py --smoke failed ({}):\n{log}", run.status);
    let text = std::fs::read_to_string(&out).expect("bench.py wrote no table");
    let rows = rows(&text);
    assert!(rows.len() >= 20, "too few rows in the table:\n{text}");
    let mut checked = 0;
    for (figure, cells) in &rows {
        for cell in cells.iter().filter(|c| !c.is_empty()) {
            let v = number(cell);
            // Differences of two wall times: the host's load can make them negative.
            let signed = figure.starts_with("CLI overhead") || figure.starts_with("CLI's own time");
            assert!(
                v.is_some_and(|v| v > 0.0 || signed),
                "figure `{figure}` has `{cell}`, not a positive number:\n{text}\nlog:\n{log}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} figures in the table:\n{text}");
    let (_, calib) = rows.iter().find(|(f, _)| f == "calib").expect("no calib row");
    for (col, cell) in calib.iter().take(2).enumerate() {
        let v = number(cell).unwrap_or(0.0);
        assert!(
            (0.95..=1.1).contains(&v),
            "the guest clock does not count instructions under icount (column {col}: {v}):\n{text}"
        );
    }
}
