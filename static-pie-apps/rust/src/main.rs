//! rustprobe: a Rust std program for elfin's guest tests.
//!
//! Prints its arguments and its environment (sorted, since a native launcher
//! may order it differently), then runs the mode named by argv[1]:
//! - `file PATH`: reads PATH with `std::fs`, prints its size, line count and a
//!   word-frequency table built in a `HashMap` (printed sorted);
//! - `threads`: spawns threads that sum ranges and join them;
//! - `sync`: threads sharing `Arc<Mutex>`, `RwLock`, `Condvar`, `Barrier`,
//!   atomics and `mpsc` channels (the same output on any number of CPUs);
//! - `cpus`: `available_parallelism`;
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
        Some("sync") => sync_mode(&mut out),
        Some("cpus") => {
            let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
            writeln!(out, "cpus: available_parallelism {n}").ok();
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

/// Threads synchronising through the standard library's primitives.
fn sync_mode(out: &mut impl Write) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex, RwLock};

    // A contended Arc<Mutex>.
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&counter);
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    if let Ok(mut g) = c.lock() {
                        *g += 1;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().ok();
    }
    let total = counter.lock().map(|g| *g).unwrap_or(0);
    writeln!(out, "mutex: {total}").ok();

    // Several producers into one mpsc channel.
    let (tx, rx) = mpsc::channel::<u64>();
    for p in 0..6u64 {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for i in 0..5_000 {
                tx.send(p * 100_000 + i).ok();
            }
        });
    }
    drop(tx);
    let (n, sum) = rx.iter().fold((0u64, 0u64), |(n, s), v| (n + 1, s + v));
    writeln!(out, "mpsc: {n} messages, sum {sum}").ok();

    // A sync_channel of capacity 1 between two threads (rendezvous-like).
    let (stx, srx) = mpsc::sync_channel::<u64>(1);
    let prod = std::thread::spawn(move || {
        (1..=10_000u64).for_each(|i| {
            let _ = stx.send(i);
        })
    });
    let got: u64 = srx.iter().sum();
    prod.join().ok();
    writeln!(out, "sync_channel: sum {got}").ok();

    // RwLock: readers never see half an update.
    let pair = Arc::new(RwLock::new((0u64, 0u64)));
    let torn = Arc::new(AtomicU64::new(0));
    let mut hs = Vec::new();
    for w in 0..6 {
        let pair = Arc::clone(&pair);
        let torn = Arc::clone(&torn);
        hs.push(std::thread::spawn(move || {
            for _ in 0..10_000 {
                if w < 2 {
                    if let Ok(mut g) = pair.write() {
                        g.0 += 1;
                        g.1 += 1;
                    }
                } else if let Ok(g) = pair.read() {
                    if g.0 != g.1 {
                        torn.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for h in hs {
        h.join().ok();
    }
    let p = pair.read().map(|g| *g).unwrap_or((0, 0));
    writeln!(out, "rwlock: {} {} torn {}", p.0, p.1, torn.load(Ordering::Relaxed)).ok();

    // Barrier rounds, and a Condvar-guarded turn counter.
    let barrier = Arc::new(Barrier::new(4));
    let turn = Arc::new((Mutex::new(0u64), Condvar::new()));
    let hs: Vec<_> = (0..4u64)
        .map(|id| {
            let barrier = Arc::clone(&barrier);
            let turn = Arc::clone(&turn);
            std::thread::spawn(move || {
                let mut leaders = 0u64;
                for _ in 0..500 {
                    if barrier.wait().is_leader() {
                        leaders += 1;
                    }
                }
                let (m, cv) = &*turn;
                for _ in 0..500 {
                    let Ok(mut g) = m.lock() else { return leaders };
                    while *g % 4 != id {
                        g = match cv.wait(g) {
                            Ok(g) => g,
                            Err(_) => return leaders,
                        };
                    }
                    *g += 1;
                    cv.notify_all();
                }
                leaders
            })
        })
        .collect();
    let leaders: u64 = hs.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let turns = turn.0.lock().map(|g| *g).unwrap_or(0);
    writeln!(out, "barrier: {leaders} leaders in 500 rounds; condvar turns {turns}").ok();

    // Scoped threads over a shared slice, with an atomic sum.
    let data: Vec<u64> = (0..100_000).collect();
    let acc = AtomicU64::new(0);
    std::thread::scope(|s| {
        for chunk in data.chunks(10_000) {
            let acc = &acc;
            s.spawn(move || acc.fetch_add(chunk.iter().sum::<u64>(), Ordering::Relaxed));
        }
    });
    writeln!(out, "scope: sum {}", acc.load(Ordering::Relaxed)).ok();
}
