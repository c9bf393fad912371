//! The console pumps between our stdio and the guest.
//!
//! - [`pump_output`] decodes the VMM's stdout, the serial console (see `frame.rs`),
//!   onto our stdout and stderr, writing each chunk at once, and records the exit
//!   report.
//! - [`pump_input`] forwards our stdin to the serial console, escaping `FF`, then
//!   sends end-of-file.
//! - With virtio-console ports ([`Ports`]), the program's stdio bypasses the serial
//!   line: [`pump_port_out`] copies a port to our stdout or stderr as it is, and
//!   [`pump_port_in`] copies our stdin to its port, then closes it (end of file).

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::Sender;

use crate::frame::{self, Channel, Decoder, Event};
use crate::qemu::StdioFds;
use crate::sys;

/// What the guest reported over the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The program's exit status, from `FF 'x' … '\n'`.
    pub status: Option<u8>,
    /// The kernel crashed (`FF 'p'`).
    pub crashed: bool,
}

/// Messages from the pump threads to the supervisor.
#[derive(Debug)]
pub enum Notice {
    /// The guest wrote something on the console (for the idle timeout).
    Output,
    /// The guest sent an exit report (status or crash); it should power off now.
    Reported,
    /// QEMU has exited (not yet reaped).
    Exited,
}

/// A callback that receives the console's data runs.
pub type CaptureFn = Box<dyn FnMut(Channel, &[u8]) + Send>;

/// Where the decoded console output goes.
pub enum Output {
    /// Our stdout and stderr; kernel messages to stderr, or to this file.
    Terminal {
        /// The `--kernel-log` file.
        kernel_log: Option<std::fs::File>,
    },
    /// Every data run to a callback, in stream order (for commands that read the
    /// program's output, such as `elfin fuzz`).
    Capture(CaptureFn),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Terminal { kernel_log } => f.debug_struct("Terminal").field("kernel_log", kernel_log).finish(),
            Output::Capture(_) => f.write_str("Capture"),
        }
    }
}

/// Serialises writes to the guest's stdin stream: data and window-size frames
/// must not interleave.
static STDIN_WRITE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Writes `bytes` to the guest's stdin stream, whole, with no other writer between.
fn write_stdin(to: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let _g = STDIN_WRITE.lock().unwrap_or_else(|e| e.into_inner());
    to.write_all(bytes).and_then(|()| to.flush())
}

/// Tells the guest the terminal's new size (`FF 'w' ROWS ';' COLS '\n'` on the
/// stdin stream, docs/protocol.md); errors are ignored (the guest may be gone).
pub fn send_winsize(to: &mut impl Write, rows: u16, cols: u16) {
    let mut f = vec![frame::ESC, b'w'];
    f.extend_from_slice(format!("{rows};{cols}\n").as_bytes());
    let _ = write_stdin(to, &f);
}

/// Adds a carriage return before every newline (our terminal in raw mode).
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        if b == b'\n' {
            v.push(b'\r');
        }
        v.push(b);
    }
    v
}

/// How many protocol errors are printed before the rest are only counted.
const MAX_ERRORS_SHOWN: usize = 5;

/// Our stdout and stderr, written unbuffered; a closed stdout (`| head`) is ignored
/// from then on so that the guest's output keeps being drained.
struct Sinks {
    stdout_ok: bool,
    kernel_log: Option<std::fs::File>,
    capture: Option<CaptureFn>,
}

impl Sinks {
    fn write(&mut self, channel: Channel, bytes: &[u8]) {
        if let Some(capture) = self.capture.as_mut() {
            capture(channel, bytes);
            return;
        }
        match channel {
            Channel::Stdout if self.stdout_ok => {
                let mut out = io::stdout().lock();
                // std's stdout is line-buffered: flush so partial lines appear at once.
                if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
                    self.stdout_ok = false;
                }
            }
            Channel::Stdout => {}
            Channel::Kernel if self.kernel_log.is_some() => {
                if let Some(f) = self.kernel_log.as_mut() {
                    let _ = f.write_all(bytes);
                }
            }
            Channel::Kernel if sys::terminal_is_raw() => {
                // The guest's line discipline processes the program's output;
                // kernel messages come as they are.
                let _ = io::stderr().lock().write_all(&crlf(bytes));
            }
            Channel::Stderr | Channel::Kernel => {
                let _ = io::stderr().lock().write_all(bytes);
            }
        }
    }
}

/// Reads QEMU's stdout until end of file; returns what the guest reported.
pub fn pump_output(mut from: std::fs::File, notices: Sender<Notice>, output: Output) -> Report {
    let mut decoder = Decoder::new();
    let mut sinks = match output {
        Output::Terminal { kernel_log } => Sinks { stdout_ok: true, kernel_log, capture: None },
        Output::Capture(f) => Sinks { stdout_ok: false, kernel_log: None, capture: Some(f) },
    };
    let mut report = Report::default();
    let mut errors = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("elfin: reading the guest console: {e}");
                break;
            }
        };
        let mut reported = false;
        decoder.feed(buf.get(..n).unwrap_or_default(), |ev| match ev {
            Event::Data(ch, bytes) => sinks.write(ch, bytes),
            Event::Status(s) => {
                report.status.get_or_insert(s);
                reported = true;
            }
            Event::Crash => {
                report.crashed = true;
                reported = true;
            }
            Event::Error(e) => {
                errors = errors.saturating_add(1);
                if errors <= MAX_ERRORS_SHOWN {
                    eprintln!("elfin: console protocol error: {e}");
                }
            }
        });
        let _ = notices.send(if reported { Notice::Reported } else { Notice::Output });
    }
    if decoder.is_mid_frame() && report == Report::default() {
        eprintln!("elfin: console protocol error: the output ended inside a control sequence");
    }
    if errors > MAX_ERRORS_SHOWN {
        eprintln!("elfin: {errors} console protocol errors in all");
    }
    report
}

/// Copies our stdin to QEMU's stdin, escaping `FF`; at end of file sends `FF 'e'` and
/// then keeps QEMU's stdin open until elfin exits (this thread does not return): the
/// end of file is the marker's job, the pipe's end is no part of the protocol.
/// With `empty`, the program gets end of file at once instead.
pub fn pump_input(to: std::fs::File, empty: bool) {
    if empty || sys::stdin_is_background_tty() {
        // `elfin run … &` from a shell: the program sees an empty stdin.
        pump_input_from(io::empty(), to);
    } else {
        pump_input_from(io::stdin().lock(), to);
    }
}

fn pump_input_from(mut from: impl Read, mut to: std::fs::File) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut escaped = Vec::with_capacity(2 * buf.len());
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                escaped.clear();
                frame::escape_into(buf.get(..n).unwrap_or_default(), &mut escaped);
                if write_stdin(&mut to, &escaped).is_err() {
                    return; // QEMU is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if write_stdin(&mut to, &frame::STDIN_EOF).is_err() {
        return;
    }
    // Keep the pipe open until the process exits.
    loop {
        std::thread::park();
    }
}

/// The sockets of the program's stdin, stdout and stderr ports: our ends, and the
/// ends the VMM inherits (closed here once it started).
pub struct Ports {
    /// Our ends: stdin, stdout, stderr.
    pub host: [UnixStream; 3],
    guest: Option<[UnixStream; 3]>,
}

impl Ports {
    /// Three socket pairs.
    pub fn new() -> io::Result<Ports> {
        let (a, b) = UnixStream::pair()?;
        let (c, d) = UnixStream::pair()?;
        let (e, f) = UnixStream::pair()?;
        Ok(Ports { host: [a, c, e], guest: Some([b, d, f]) })
    }

    /// The descriptors of the VMM's ends (valid in the child when kept across exec).
    pub fn guest_fds(&self) -> Option<StdioFds> {
        let g = self.guest.as_ref()?;
        Some(StdioFds { stdin: g[0].as_raw_fd(), stdout: g[1].as_raw_fd(), stderr: g[2].as_raw_fd() })
    }

    /// Closes our copy of the VMM's ends, so that its exit reaches us as end of file.
    pub fn close_guest_ends(&mut self) {
        self.guest = None;
    }
}

/// Copies a guest output port to our stdout or stderr until the VMM closes it.
/// When our stdout closes (`| head`), the port is hung up: the guest then sees its
/// stdout closed, and the program gets EPIPE and SIGPIPE as it would on Linux.
pub fn pump_port_out(mut from: UnixStream, channel: Channel) {
    let mut sinks = Sinks { stdout_ok: true, kernel_log: None, capture: None };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => sinks.write(channel, buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if !sinks.stdout_ok {
            let _ = from.shutdown(Shutdown::Both);
            break;
        }
    }
}

/// Copies our stdin to the guest's stdin port, then shuts our sending side down:
/// QEMU reads end of file once it has passed every byte on, and closes the port,
/// which the guest reads as end of file. The socket itself stays open until elfin
/// exits (this thread does not return): closing it would hang it up, and QEMU drops
/// a hung-up socket at once, with the bytes it has not read yet. When our stdin is
/// a terminal the stream is framed (`FF` escaped) so that window sizes can travel
/// in it too.
pub fn pump_port_in(to: UnixStream, empty: bool) {
    let framed = sys::stdin_is_tty();
    if empty || sys::stdin_is_background_tty() {
        // `elfin run … &` from a shell: the program sees an empty stdin.
        pump_port_in_from(io::empty(), &to, framed);
    } else {
        pump_port_in_from(io::stdin().lock(), &to, framed);
    }
    loop {
        std::thread::park();
    }
}

fn pump_port_in_from(mut from: impl Read, mut to: &UnixStream, framed: bool) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut escaped = Vec::new();
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let data = buf.get(..n).unwrap_or_default();
                let data = if framed {
                    escaped.clear();
                    frame::escape_into(data, &mut escaped);
                    &escaped
                } else {
                    data
                };
                if write_stdin(&mut to, data).is_err() {
                    return; // the VMM is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_input_is_copied_then_closed() {
        let (host, mut guest) = UnixStream::pair().expect("pair");
        let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let copy = data.clone();
        let t = std::thread::spawn(move || pump_port_in_from(&copy[..], &host, false));
        let mut got = Vec::new();
        guest.read_to_end(&mut got).expect("read to end of file");
        t.join().expect("pump");
        assert_eq!(got, data);
    }
}
