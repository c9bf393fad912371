//! rustprobe: a Rust std program for elfin's guest tests.
//!
//! Prints its arguments and its environment (sorted, since a native launcher
//! may order it differently), then runs the mode named by argv[1]:
//! - `file PATH`: reads PATH with `std::fs`, prints its size, line count and a
//!   word-frequency table built in a `HashMap` (printed sorted);
//! - `threads`: spawns threads that sum ranges and join them;
//! - anything else / nothing: a `HashMap` self-check only.
//!
//! Every line is deterministic, so the output is compared byte for byte with
//! the same binary run natively.

use std::collections::HashMap;
use std::io::Write;

fn word_table(text: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    let mut table: Vec<(String, usize)> = counts.into_iter().collect();
    table.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    table
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let args: Vec<String> = std::env::args().collect();
    writeln!(out, "args: {}", args.len()).ok();
    for (i, a) in args.iter().enumerate() {
        writeln!(out, "arg[{i}]: {a}").ok();
    }
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    for (k, v) in &env {
        writeln!(out, "env: {k}={v}").ok();
    }
    match std::env::current_dir() {
        Ok(d) => writeln!(out, "cwd: {}", d.display()).ok(),
        Err(e) => writeln!(out, "cwd: error {e}").ok(),
    };

    // A HashMap with the default (randomly seeded) hasher: needs getrandom or
    // /dev/urandom to work, and its contents must not depend on the seed.
    let mut squares: HashMap<u64, u64> = HashMap::new();
    for i in 0..1000u64 {
        squares.insert(i, i * i);
    }
    let sum: u64 = squares.values().sum();
    writeln!(out, "hashmap: {} entries, sum of squares {sum}", squares.len()).ok();

    match args.get(1).map(String::as_str) {
        Some("file") => {
            let Some(path) = args.get(2) else {
                eprintln!("rustprobe: file needs a PATH");
                std::process::exit(2);
            };
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    writeln!(out, "file: {} bytes, {} lines", text.len(), text.lines().count()).ok();
                    for (word, n) in word_table(&text).iter().take(10) {
                        writeln!(out, "word: {word} {n}").ok();
                    }
                }
                Err(e) => {
                    writeln!(out, "file: error {:?}", e.kind()).ok();
                }
            }
            match std::fs::metadata("/elfin-no-such-file") {
                Ok(_) => writeln!(out, "missing file: exists?!").ok(),
                Err(e) => writeln!(out, "missing file: {:?}", e.kind()).ok(),
            };
        }
        Some("threads") => {
            let handles: Vec<_> =
                (0..4u64).map(|t| std::thread::spawn(move || (t * 1000..(t + 1) * 1000).sum::<u64>())).collect();
            let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
            writeln!(out, "threads: 4 joined, total {total}").ok();
        }
        _ => {}
    }
    out.flush().ok();
    eprintln!("rustprobe: done");
}
