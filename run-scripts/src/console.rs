//! What passes between our stdio and the guest, as one relay loop uses it
//! (`vm.rs`): no threads, so that a run starts and ends without creating any.
//!
//! - [`Serial`] decodes the VMM's stdout, the serial console (see `frame.rs`), onto
//!   our stdout and stderr, writing each chunk at once, and records the exit report.
//! - [`Input`] forwards our stdin to the guest: to the serial console (`FF`
//!   escaped, then the end-of-file marker), or to the stdin port.
//! - With virtio-console ports ([`Ports`]), the program's stdout and stderr bypass
//!   the serial line: their data goes to ours as it is ([`Sinks::write`]).
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

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

/// The frame that tells the guest the terminal's new size (`FF 'w' ROWS ';' COLS
/// '\n'` on the stdin stream, docs/protocol.md).
fn winsize_frame(rows: u16, cols: u16) -> Vec<u8> {
    let mut f = vec![frame::ESC, b'w'];
    f.extend_from_slice(format!("{rows};{cols}\n").as_bytes());
    f
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
pub struct Sinks {
    stdout_ok: bool,
    kernel_log: Option<std::fs::File>,
    capture: Option<CaptureFn>,
}

impl Sinks {
    /// The sinks for `output`.
    pub fn new(output: Output) -> Sinks {
        match output {
            Output::Terminal { kernel_log } => Sinks { stdout_ok: true, kernel_log, capture: None },
            Output::Capture(f) => Sinks { stdout_ok: false, kernel_log: None, capture: Some(f) },
        }
    }

    /// Whether our stdout still takes data (it has not been closed under us).
    pub fn stdout_ok(&self) -> bool {
        self.stdout_ok || self.capture.is_some()
    }

    /// Writes one run of `channel`'s data.
    pub fn write(&mut self, channel: Channel, bytes: &[u8]) {
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

/// The serial console's decoder: the guest's framed output, and its report.
pub struct Serial {
    decoder: Decoder,
    /// What the guest reported so far.
    pub report: Report,
    errors: usize,
}

impl Serial {
    /// A decoder at the start of the stream.
    pub fn new() -> Serial {
        Serial { decoder: Decoder::new(), report: Report::default(), errors: 0 }
    }

    /// Decodes `bytes` onto `sinks`; true when they held an exit report.
    pub fn feed(&mut self, bytes: &[u8], sinks: &mut Sinks) -> bool {
        let mut reported = false;
        let (report, errors) = (&mut self.report, &mut self.errors);
        self.decoder.feed(bytes, |ev| match ev {
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
                *errors = errors.saturating_add(1);
                if *errors <= MAX_ERRORS_SHOWN {
                    eprintln!("elfin: console protocol error: {e}");
                }
            }
        });
        reported
    }

    /// At the end of the stream: reports a cut-off frame and the errors not shown.
    pub fn finish(&self) {
        if self.decoder.is_mid_frame() && self.report == Report::default() {
            eprintln!("elfin: console protocol error: the output ended inside a control sequence");
        }
        if self.errors > MAX_ERRORS_SHOWN {
            eprintln!("elfin: {} console protocol errors in all", self.errors);
        }
    }
}

/// Where the guest's stdin goes.
pub enum InputTo {
    /// The serial console (QEMU's stdin pipe): data `FF`-escaped, end of file as
    /// `FF 'e'`; the pipe stays open until elfin exits (its end is no part of the
    /// protocol).
    Serial(std::fs::File),
    /// The stdin port: framed (escaped) only when our stdin is a terminal, so that
    /// window sizes can travel in it; end of file shuts our sending side down.
    /// QEMU reads end of file once it has passed every byte on and closes the
    /// port, which the guest reads as end of file. The socket itself stays open:
    /// QEMU drops a hung-up socket at once, with the bytes it has not read yet.
    Port(UnixStream),
}

/// Our stdin on its way to the guest: what is read waits in `pending` until the
/// guest's side takes it, and nothing more is read meanwhile.
pub struct Input {
    to: InputTo,
    framed: bool,
    /// Bytes not yet written.
    pending: Vec<u8>,
    /// Where the next write starts in `pending`.
    done: usize,
    /// Our stdin still has data to read (false: empty, or end of file seen).
    reading: bool,
    /// Our stdin reached end of file and the guest is still to be told.
    eof_pending: bool,
    /// The guest's side is gone (write error): nothing more is sent.
    closed: bool,
}

impl Input {
    /// Input to `to`; with `empty` (or when we run in the background of our
    /// terminal) the program reads end of file at once.
    pub fn new(to: InputTo, empty: bool) -> io::Result<Input> {
        match &to {
            InputTo::Serial(f) => sys::set_nonblocking(f)?,
            InputTo::Port(s) => s.set_nonblocking(true)?,
        }
        let framed = matches!(to, InputTo::Serial(_)) || sys::stdin_is_tty();
        // `elfin run … &` from a shell: the program sees an empty stdin.
        let reading = !empty && !sys::stdin_is_background_tty();
        Ok(Input { to, framed, pending: Vec::new(), done: 0, reading, eof_pending: !reading, closed: false })
    }

    /// Bytes read from our stdin that the guest's side has not taken yet: not
    /// written, or in the socket unread by the VMM.
    pub fn waiting(&self) -> usize {
        let queued = match &self.to {
            InputTo::Serial(f) => sys::unsent(f),
            InputTo::Port(s) => sys::unsent(s),
        };
        self.pending.len() - self.done + queued
    }

    /// Whether our stdin should be polled for reading now.
    pub fn wants_stdin(&self) -> bool {
        self.reading && !self.closed && self.done == self.pending.len()
    }

    /// The descriptor to poll for room to write, when something waits.
    pub fn wants_write(&self) -> Option<i32> {
        let waiting = self.done < self.pending.len() || self.eof_pending;
        (waiting && !self.closed).then(|| self.fd())
    }

    fn fd(&self) -> i32 {
        match &self.to {
            InputTo::Serial(f) => f.as_raw_fd(),
            InputTo::Port(s) => s.as_raw_fd(),
        }
    }

    /// Reads what our stdin has (once polled readable) into `pending`.
    pub fn read_stdin(&mut self, buf: &mut [u8]) {
        match sys::read_stdin(buf) {
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {}
            Ok(0) | Err(_) => {
                self.reading = false;
                self.eof_pending = true;
            }
            Ok(n) => self.queue(buf.get(..n).unwrap_or_default(), true),
        }
        self.flush();
    }

    /// Queues the terminal's new size (a framed stream only).
    pub fn send_winsize(&mut self, rows: u16, cols: u16) {
        if self.framed && !self.closed {
            self.queue(&winsize_frame(rows, cols), false);
            self.flush();
        }
    }

    fn queue(&mut self, bytes: &[u8], data: bool) {
        if self.done == self.pending.len() {
            self.pending.clear();
            self.done = 0;
        }
        if data && self.framed {
            frame::escape_into(bytes, &mut self.pending);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Writes as much of what waits as the guest's side takes now.
    pub fn flush(&mut self) {
        while !self.closed && self.done < self.pending.len() {
            let rest = self.pending.get(self.done..).unwrap_or_default();
            let r = match &mut self.to {
                InputTo::Serial(f) => f.write(rest),
                InputTo::Port(s) => s.write(rest),
            };
            match r {
                Ok(n) if n > 0 => self.done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                _ => self.closed = true, // the VMM is gone
            }
        }
        if self.eof_pending && !self.closed && self.done == self.pending.len() {
            self.eof_pending = false;
            match &mut self.to {
                InputTo::Serial(_) => {
                    self.queue(&frame::STDIN_EOF, false);
                    self.flush();
                }
                InputTo::Port(s) => {
                    let _ = s.shutdown(Shutdown::Write);
                }
            }
        }
    }
}

/// One output of the guest that the relay reads: the serial console or a port.
pub struct Source {
    /// QEMU's stdout pipe or our end of a port's socket.
    pub file: std::fs::File,
    /// For a port: the channel its data belongs to; None for the serial console.
    pub port: Option<Channel>,
}

/// The sockets of the program's stdin, stdout and stderr ports: our ends, and the
/// ends the VMM inherits (closed here once it started).
pub struct Ports {
    /// Our ends: stdin, stdout, stderr.
    pub host: Stdio,
    guest: Option<Stdio>,
}

/// One end of each port's socket pair. There is no stderr pair when the program's
/// stderr goes out on the stdout port: our stdout and stderr are one file, where
/// the order of the two streams' writes must be kept.
pub struct Stdio {
    /// The stdin port's socket.
    pub stdin: UnixStream,
    /// The stdout port's socket.
    pub stdout: UnixStream,
    /// The stderr port's socket, if stderr has a port of its own.
    pub stderr: Option<UnixStream>,
}

impl Ports {
    /// A socket pair for each port (none for stderr when it shares stdout's).
    pub fn new(stderr_on_stdout: bool) -> io::Result<Ports> {
        let (a, b) = UnixStream::pair()?;
        let (c, d) = UnixStream::pair()?;
        let (e, f) =
            if stderr_on_stdout { (None, None) } else { UnixStream::pair().map(|(e, f)| (Some(e), Some(f)))? };
        Ok(Ports {
            host: Stdio { stdin: a, stdout: c, stderr: e },
            guest: Some(Stdio { stdin: b, stdout: d, stderr: f }),
        })
    }

    /// The descriptors of the VMM's ends (valid in the child when kept across exec).
    pub fn guest_fds(&self) -> Option<StdioFds> {
        let g = self.guest.as_ref()?;
        let stderr = g.stderr.as_ref().map(|s| s.as_raw_fd());
        Some(StdioFds { stdin: g.stdin.as_raw_fd(), stdout: g.stdout.as_raw_fd(), stderr })
    }

    /// The ports' numbers for `stdio=virtio:IN,OUT,ERR`.
    pub fn layout(&self) -> String {
        let [(_, i), (_, o), (_, e)] = crate::qemu::STDIO_PORTS;
        format!("{i},{o},{}", if self.host.stderr.is_none() { o } else { e })
    }

    /// Closes our copy of the VMM's ends, so that its exit reaches us as end of file.
    pub fn close_guest_ends(&mut self) {
        self.guest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_layouts() {
        let apart = Ports::new(false).expect("socket pairs");
        assert_eq!(apart.layout(), "1,2,3");
        assert!(apart.guest_fds().is_some_and(|f| f.stderr.is_some()));
        let shared = Ports::new(true).expect("socket pairs");
        assert_eq!(shared.layout(), "1,2,2");
        assert!(shared.guest_fds().is_some_and(|f| f.stderr.is_none()));
    }

    #[test]
    fn same_file_is_the_same_inode() {
        let (a, b) = UnixStream::pair().expect("socket pair");
        let a2 = a.try_clone().expect("dup");
        assert!(crate::sys::same_file(a.as_raw_fd(), a2.as_raw_fd()));
        assert!(!crate::sys::same_file(a.as_raw_fd(), b.as_raw_fd()));
        assert!(!crate::sys::same_file(a.as_raw_fd(), -1));
    }

    #[test]
    fn winsize_frames_are_whole() {
        assert_eq!(winsize_frame(24, 80), b"\xffw24;80\n");
    }
}
