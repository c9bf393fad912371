//! rusttools: small deterministic Rust std workloads for elfin's compat corpus,
//! one per subcommand (`rusttools NAME [ARGS]`). Output never depends on time,
//! addresses or process ids.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let out = io::stdout();
    let mut out = out.lock();
    match args.get(1).map(String::as_str) {
        Some("sort") => {
            let mut lines: Vec<String> = io::stdin().lock().lines().map_while(Result::ok).collect();
            lines.sort();
            lines.dedup();
            for l in lines {
                writeln!(out, "{l}").ok();
            }
        }
        Some("wc") => {
            let mut s = String::new();
            io::stdin().read_to_string(&mut s).ok();
            let mut freq: HashMap<String, usize> = HashMap::new();
            for w in s.split_whitespace() {
                *freq.entry(w.to_lowercase()).or_default() += 1;
            }
            let mut v: Vec<(String, usize)> = freq.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            writeln!(out, "lines {} words {} bytes {}", s.lines().count(), s.split_whitespace().count(), s.len()).ok();
            for (w, n) in v.iter().take(10) {
                writeln!(out, "{n:6} {w}").ok();
            }
        }
        Some("checksum") => {
            for p in &args[2..] {
                match std::fs::read(p) {
                    Ok(b) => {
                        // FNV-1a 64 and Adler-32: std only.
                        let mut h: u64 = 0xcbf29ce484222325;
                        let (mut a, mut b2) = (1u32, 0u32);
                        for &x in &b {
                            h = (h ^ u64::from(x)).wrapping_mul(0x100000001b3);
                            a = (a + u32::from(x)) % 65521;
                            b2 = (b2 + a) % 65521;
                        }
                        writeln!(out, "{h:016x} {:08x} {} {p}", (b2 << 16) | a, b.len()).ok();
                    }
                    Err(e) => {
                        eprintln!("rusttools: {p}: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
        }
        Some("threads") => {
            let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
            let total = Arc::new(Mutex::new(0u64));
            let (tx, rx) = mpsc::channel();
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let total = Arc::clone(&total);
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let s: u64 = (0..=200_000u64 * (i as u64 + 1)).map(|j| j % 11).sum();
                        *total.lock().expect("lock") += s;
                        tx.send((i, s)).expect("send");
                    })
                })
                .collect();
            drop(tx);
            for h in hs {
                h.join().expect("join");
            }
            let mut got: Vec<(usize, u64)> = rx.iter().collect();
            got.sort();
            for (i, s) in got {
                writeln!(out, "thread {i}: {s}").ok();
            }
            writeln!(out, "total {}", total.lock().expect("lock")).ok();
        }
        Some("files") => {
            std::fs::create_dir_all("rt/a/b").ok();
            std::fs::write("rt/a/one.txt", "one\n").ok();
            std::fs::write("rt/a/b/two.txt", "two\ntwo\n").ok();
            let mut f = std::fs::OpenOptions::new().append(true).open("rt/a/one.txt").expect("open");
            f.write_all(b"more\n").ok();
            drop(f);
            std::fs::rename("rt/a/b/two.txt", "rt/a/b/2.txt").ok();
            let mut seen = BTreeMap::new();
            walk(std::path::Path::new("rt"), &mut seen);
            for (p, len) in &seen {
                writeln!(out, "{p} {len}").ok();
            }
            writeln!(out, "one.txt = {:?}", std::fs::read_to_string("rt/a/one.txt").unwrap_or_default()).ok();
            std::fs::remove_file("rt/a/one.txt").ok();
            writeln!(
                out,
                "after remove: {:?}",
                std::fs::metadata("rt/a/one.txt").map(|m| m.len()).map_err(|e| e.kind())
            )
            .ok();
            writeln!(out, "remove_dir non-empty: {:?}", std::fs::remove_dir("rt/a").map_err(|e| e.kind())).ok();
        }
        Some("fmt") => {
            writeln!(out, "{:>10.3} {:<8}| {:+} {:#x} {:#b} {:e}", std::f64::consts::PI, "left", 42, 255, 5, 1234.5)
                .ok();
            let v: Vec<f64> = (1..=10).map(|i| (i as f64).sqrt()).collect();
            writeln!(out, "{v:.4?}").ok();
            let m: BTreeMap<&str, i32> = [("b", 2), ("a", 1), ("c", 3)].into_iter().collect();
            writeln!(out, "{m:?}").ok();
            writeln!(out, "{}", "héllo wörld".to_uppercase()).ok();
            writeln!(out, "{:?}", "a,b,,c".split(',').collect::<Vec<_>>()).ok();
            writeln!(out, "parse: {:?} {:?}", "12x".parse::<i32>().map_err(|e| e.to_string()), "-17".parse::<i64>())
                .ok();
        }
        Some("panic") => {
            writeln!(out, "about to panic").ok();
            out.flush().ok();
            drop(out);
            let v: Vec<i32> = Vec::new();
            let i = args.len() + 5;
            println!("{}", v[i]);
        }
        Some("exit") => {
            let code: u8 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
            eprintln!("exit {code}");
            return ExitCode::from(code);
        }
        _ => {
            eprintln!("usage: rusttools sort|wc|checksum FILE..|threads [N]|files|fmt|panic|exit N");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn walk(p: &std::path::Path, seen: &mut BTreeMap<String, u64>) {
    let Ok(rd) = std::fs::read_dir(p) else { return };
    for e in rd.flatten() {
        let path = e.path();
        let meta = e.metadata().expect("metadata");
        if meta.is_dir() {
            seen.insert(format!("{}/", path.display()), 0);
            walk(&path, seen);
        } else {
            seen.insert(path.display().to_string(), meta.len());
        }
    }
}
