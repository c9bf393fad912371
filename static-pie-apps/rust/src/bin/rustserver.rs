//! rustserver: a Rust std TCP server for elfin's tests reached from the host.
//!
//! `rustserver PORT N`: listens on 0.0.0.0:PORT and serves N connections, each on
//! a thread of its own: every line it reads comes back upper-cased, until the
//! client shuts its side down. Prints `listening` once it accepts connections,
//! then one line per connection (in accept order) and a summary.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

fn serve(stream: TcpStream) -> std::io::Result<(usize, usize)> {
    let mut out = stream.try_clone()?;
    let mut lines = 0;
    let mut bytes = 0;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        bytes += line.len() + 1;
        lines += 1;
        writeln!(out, "{}", line.to_uppercase())?;
    }
    out.shutdown(Shutdown::Write)?;
    Ok((lines, bytes))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(port), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: rustserver PORT N");
        return ExitCode::from(2);
    };
    let listener = match TcpListener::bind(format!("0.0.0.0:{port}")) {
        Ok(l) => l,
        Err(e) => {
            println!("bind: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening");
    let mut handles = Vec::new();
    for stream in listener.incoming().take(n) {
        match stream {
            Ok(s) => {
                s.set_nodelay(true).ok();
                handles.push(thread::spawn(move || serve(s)));
            }
            Err(e) => {
                println!("accept: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let mut total = 0;
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok((lines, bytes))) => {
                println!("connection {i}: {lines} lines, {bytes} bytes");
                total += bytes;
            }
            Ok(Err(e)) => println!("connection {i}: {e}"),
            Err(_) => println!("connection {i}: thread panicked"),
        }
    }
    println!("served {n}, {total} bytes");
    ExitCode::SUCCESS
}
