//! Starting QEMU and supervising it: the console relay, timeout, signals, the final status.

use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::console::{Input, InputTo, Output, Ports, Report, Serial, Sinks, Source, Stdio};
use crate::fail::{Fail, STATUS_TIMEOUT};
use crate::frame::Channel;
use crate::hang::Monitor;
use crate::sys;

/// After the guest reported its status, how long the VMM gets to power off before
/// elfin ends it (QEMU exits at once via isa-debug-exit or semihosting).
const POWER_OFF_GRACE: Duration = Duration::from_secs(2);

/// How to run the VMM.
pub struct Launch<'a> {
    /// The VMM program (e.g. `qemu-system-x86_64`).
    pub program: &'a OsString,
    /// Its arguments.
    pub args: &'a [OsString],
    /// What to tell the user when the program is missing (how to install it).
    pub missing_hint: &'a str,
    /// Kill the VMM after this long.
    pub timeout: Option<Duration>,
    /// Kill the VMM when the console stays silent this long.
    pub idle: Option<Duration>,
    /// Where the console output goes.
    pub output: Output,
    /// The program's stdin is empty (end of file at once) instead of ours.
    pub empty_stdin: bool,
    /// The sockets of the virtio-console stdio ports, when the VMM has them (their
    /// VMM ends are kept across exec); None keeps stdio on the serial console.
    pub ports: Option<Ports>,
    /// The VMM's monitor, asked where each vCPU was when the run times out.
    pub monitor: Option<Monitor>,
}

/// How the run ended, before it is turned into a status and message.
#[derive(Debug)]
pub struct Ending {
    /// What the guest reported on the console.
    pub report: Report,
    /// The VMM's own exit status.
    pub vmm: ExitStatus,
    /// `--timeout` expired before the guest reported.
    pub timed_out: bool,
    /// Bytes of our stdin the guest had not taken when the run was ended early
    /// (a stalled stdin shows in the timeout's message).
    pub stdin_waiting: usize,
    /// The console stayed silent for the idle time (see [`Launch::idle`]).
    pub idle: bool,
    /// A termination signal elfin received (and forwarded).
    pub signal: Option<i32>,
}

/// Runs the VMM to the end, with the console connected as `launch` says: one
/// loop polls the console, the ports, our stdin, the terminal's size and the
/// VMM's exit, and keeps the deadlines.
pub fn run(mut launch: Launch<'_>) -> Result<Ending, Fail> {
    // The guest's line discipline serves our terminal for the run; every way out
    // of this function (and a panic, and `kill -TSTP`) gives the terminal back.
    let raw_terminal = if launch.empty_stdin { None } else { sys::RawTerminal::enter() };
    let mut keep: Vec<i32> = launch
        .ports
        .as_ref()
        .and_then(Ports::guest_fds)
        .map(|f| [Some(f.stdin), Some(f.stdout), f.stderr].into_iter().flatten().collect())
        .unwrap_or_default();
    keep.extend(launch.monitor.as_ref().and_then(Monitor::vmm_fd));
    let child = sys::spawn(launch.program, launch.args, &keep).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            Fail::new(format!("{} not found; {}", launch.program.to_string_lossy(), launch.missing_hint))
        }
        _ => Fail::new(format!("cannot start {}: {e}", launch.program.to_string_lossy())),
    })?;
    let sys::Spawned { pid, stdin: vmm_stdin, stdout: vmm_stdout } = child;
    if let Some(m) = launch.monitor.as_mut() {
        m.close_vmm_end();
    }
    if sys::set_child(pid).is_some() {
        sys::kill(pid, sys::SIGTERM); // a signal came before the pid was known
    }
    let fail = |what: &str, e: io::Error| Fail::new(format!("{what}: {e}"));
    let exit_fd = sys::exit_watch(pid).map_err(|e| fail("cannot watch the VMM", e))?;
    let mut sources = vec![Source { file: vmm_stdout, port: None }];
    // With ports, the serial line carries no stdin; its pipe stays open, unused.
    let mut _serial_stdin = None;
    let input_to = match launch.ports.take() {
        Some(mut ports) => {
            ports.close_guest_ends();
            let Stdio { stdin, stdout, stderr } = ports.host;
            sources.push(Source { file: std::os::fd::OwnedFd::from(stdout).into(), port: Some(Channel::Stdout) });
            if let Some(stderr) = stderr {
                sources.push(Source { file: std::os::fd::OwnedFd::from(stderr).into(), port: Some(Channel::Stderr) });
            }
            _serial_stdin = Some(vmm_stdin);
            InputTo::Port(stdin)
        }
        None => InputTo::Serial(vmm_stdin),
    };
    let mut input = Input::new(input_to, launch.empty_stdin).map_err(|e| fail("cannot set up the console", e))?;
    let mut winch = match raw_terminal {
        Some(_) => Some(sys::watch_winsize().map_err(|e| fail("cannot watch the terminal size", e))?),
        None => None,
    };
    let mut sinks = Sinks::new(launch.output);
    let mut serial = Serial::new();
    let mut buf = vec![0u8; 64 * 1024];

    let mut deadline = launch.timeout.map(|t| Instant::now() + t);
    let idle_after = |now: Instant| launch.idle.map(|t| now + t);
    let mut idle_deadline = idle_after(Instant::now());
    let (mut reported, mut timed_out, mut idle, mut killed) = (false, false, false, false);
    let mut stdin_waiting = 0;
    let mut vmm = None;
    let mut fds: Vec<sys::PollFd> = Vec::new();
    // The first look at the terminal's size finds a resize that came before the
    // SIGWINCH handler was there.
    let mut look_at_size = winch.is_some();
    input.flush();
    // Until the VMM has exited and every output of it has reached end of file.
    while vmm.is_none() || !sources.is_empty() {
        if let Some((rx, last)) = winch.as_mut().filter(|_| look_at_size) {
            look_at_size = false;
            let mut b = [0u8; 64];
            while io::Read::read(rx, &mut b).is_ok_and(|n| n > 0) {}
            let now = sys::stdin_winsize();
            if now != *last {
                if let Some((r, c)) = now {
                    input.send_winsize(r, c);
                }
                *last = now;
            }
        }
        let pollfd = |fd: i32, events: i16| sys::PollFd { fd, events, revents: 0 };
        fds.clear();
        fds.extend(sources.iter().map(|s| pollfd(s.file.as_raw_fd(), sys::POLLIN)));
        let ix_exit = vmm.is_none().then(|| push(&mut fds, pollfd(exit_fd.as_raw_fd(), sys::POLLIN)));
        let ix_stdin = input.wants_stdin().then(|| push(&mut fds, pollfd(0, sys::POLLIN)));
        let ix_out = input.wants_write().map(|fd| push(&mut fds, pollfd(fd, sys::POLLOUT)));
        let ix_winch = winch.as_ref().map(|(rx, _)| push(&mut fds, pollfd(rx.as_raw_fd(), sys::POLLIN)));
        // Once the VMM is gone, its outputs are only drained.
        let wake = match (deadline, idle_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .filter(|_| vmm.is_none());
        sys::poll(&mut fds, wake.map(|d| d.saturating_duration_since(Instant::now())))
            .map_err(|e| fail("waiting for the console", e))?;
        let ready = |ix: Option<usize>| ix.and_then(|i| fds.get(i)).is_some_and(|f| f.revents != 0);

        // The outputs, each read once per round; one at end of file is dropped.
        let mut done = Vec::new();
        for (i, src) in sources.iter_mut().enumerate() {
            if !ready(Some(i)) {
                continue;
            }
            let n = match io::Read::read(&mut src.file, &mut buf) {
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => continue,
                r => r.unwrap_or(0),
            };
            let data = buf.get(..n).unwrap_or_default();
            if n == 0 {
                done.push(i);
                continue;
            }
            idle_deadline = idle_after(Instant::now());
            match src.port {
                None => {
                    if serial.feed(data, &mut sinks) && !reported {
                        reported = true;
                        idle_deadline = None;
                        let grace = Instant::now() + POWER_OFF_GRACE;
                        deadline = Some(deadline.map_or(grace, |d| d.min(grace)));
                    }
                }
                Some(ch) => {
                    sinks.write(ch, data);
                    if !sinks.stdout_ok() {
                        // Our stdout closed (`| head`): the port is hung up, so the
                        // guest sees its stdout closed, and the program gets EPIPE
                        // and SIGPIPE as it would on Linux.
                        sys::shutdown(&src.file);
                        done.push(i);
                    }
                }
            }
        }
        for i in done.into_iter().rev() {
            sources.remove(i);
        }
        if ready(ix_stdin) {
            input.read_stdin(&mut buf);
        }
        if ready(ix_out) {
            input.flush();
        }
        if ready(ix_winch) {
            look_at_size = true;
        }
        if ready(ix_exit) {
            // Reaped only now: until here a signal could still be passed on to it.
            sys::set_child(0);
            vmm = Some(sys::wait_status(pid).map_err(|e| fail("waiting for the VMM", e))?);
        } else if wake.is_some_and(|d| d <= Instant::now()) {
            // --timeout, a silent console, or a VMM that did not power off after
            // the report.
            let now = Instant::now();
            if idle_deadline.is_some_and(|d| d <= now) && !reported {
                idle = true;
            } else {
                timed_out = !reported;
            }
            deadline = None;
            idle_deadline = None;
            stdin_waiting = input.waiting();
            if !killed {
                killed = true;
                if timed_out || idle {
                    if let Some(m) = launch.monitor.as_mut() {
                        let text = format!("elfin: the run is stuck; {}", m.dump());
                        // A terminal in raw mode needs its carriage returns.
                        let text = if raw_terminal.is_some() { text.replace('\n', "\r\n") } else { text };
                        eprint!("{text}");
                    }
                }
                sys::kill(pid, sys::SIGKILL); // not reaped yet, so the pid is still ours
            }
        }
    }
    serial.finish();
    let vmm = vmm.ok_or_else(|| Fail::new("the VMM was not reaped".into()))?;
    Ok(Ending { report: serial.report, vmm, timed_out, idle, stdin_waiting, signal: sys::signal_received() })
}

/// Appends `fd` to `fds` and returns its index.
fn push(fds: &mut Vec<sys::PollFd>, fd: sys::PollFd) -> usize {
    fds.push(fd);
    fds.len() - 1
}

/// The exit status of `elfin run` for an ending, or the failure to report.
pub fn status_of(ending: &Ending, timeout: Option<Duration>) -> Result<i32, Fail> {
    if let Some(sig) = ending.signal {
        return Ok(128 + sig);
    }
    if let Some(s) = ending.report.status {
        return Ok(i32::from(s));
    }
    if ending.report.crashed {
        return Err(Fail::new("the elfin kernel crashed (report above)".into()));
    }
    if ending.timed_out {
        let secs = timeout.map_or(0, |t| t.as_secs());
        let stdin = match ending.stdin_waiting {
            0 => String::new(),
            n => format!(" ({n} bytes of stdin not yet taken by the guest)"),
        };
        return Err(Fail { message: format!("timed out after {secs} s{stdin}"), status: STATUS_TIMEOUT });
    }
    if ending.idle {
        return Err(Fail { message: "the guest console fell silent".into(), status: STATUS_TIMEOUT });
    }
    let how = match (ending.vmm.code(), ending.vmm.signal()) {
        (Some(c), _) => format!("VMM exit status {c}"),
        (None, Some(s)) => format!("VMM killed by signal {s}"),
        (None, None) => "the VMM ended abnormally".to_string(),
    };
    Err(Fail::new(format!("the guest ended without reporting a status ({how})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending(status: Option<u8>, crashed: bool, timed_out: bool, signal: Option<i32>, raw: i32) -> Ending {
        Ending {
            report: Report { status, crashed },
            vmm: ExitStatus::from_raw(raw),
            timed_out,
            idle: false,
            stdin_waiting: 0,
            signal,
        }
    }

    #[test]
    fn statuses() {
        let t = Some(Duration::from_secs(5));
        assert_eq!(status_of(&ending(Some(3), false, false, None, 1 << 8), t).expect("ok"), 3);
        assert_eq!(status_of(&ending(Some(0), false, false, Some(2), 0), t).expect("ok"), 130);
        let f = status_of(&ending(None, true, false, None, 1 << 8), t).expect_err("crash");
        assert_eq!((f.status, f.message.as_str()), (125, "the elfin kernel crashed (report above)"));
        let f = status_of(&ending(None, false, true, None, 9), t).expect_err("timeout");
        assert_eq!((f.status, f.message.as_str()), (124, "timed out after 5 s"));
        let stalled = Ending { stdin_waiting: 4096, ..ending(None, false, true, None, 9) };
        let f = status_of(&stalled, t).expect_err("timeout");
        assert_eq!(f.message, "timed out after 5 s (4096 bytes of stdin not yet taken by the guest)");
        let f = status_of(&ending(None, false, false, None, 1 << 8), t).expect_err("no report");
        assert_eq!(f.status, 125);
        assert_eq!(f.message, "the guest ended without reporting a status (VMM exit status 1)");
        let f = status_of(&ending(None, false, false, None, 9), t).expect_err("killed");
        assert!(f.message.ends_with("(VMM killed by signal 9)"));
    }
}
