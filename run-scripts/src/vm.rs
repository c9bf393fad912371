//! Starting QEMU and supervising it: console pumps, timeout, signals, the final status.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::console::{self, Notice, Output, Ports, Report};
use crate::fail::{Fail, STATUS_TIMEOUT};
use crate::frame::Channel;
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
    /// The console stayed silent for the idle time (see [`Launch::idle`]).
    pub idle: bool,
    /// A termination signal elfin received (and forwarded).
    pub signal: Option<i32>,
}

/// Runs the VMM to the end, with the console connected as `launch` says.
pub fn run(mut launch: Launch<'_>) -> Result<Ending, Fail> {
    // The guest's line discipline serves our terminal for the run; every way out
    // of this function (and a panic, and `kill -TSTP`) gives the terminal back.
    let raw_terminal = if launch.empty_stdin { None } else { sys::RawTerminal::enter() };
    let keep: Vec<i32> =
        launch.ports.as_ref().and_then(Ports::guest_fds).map(|f| vec![f.stdin, f.stdout, f.stderr]).unwrap_or_default();
    let child = sys::spawn(launch.program, launch.args, &keep).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            Fail::new(format!("{} not found; {}", launch.program.to_string_lossy(), launch.missing_hint))
        }
        _ => Fail::new(format!("cannot start {}: {e}", launch.program.to_string_lossy())),
    })?;
    let sys::Spawned { pid, stdin: vmm_stdin, stdout: vmm_stdout } = child;
    if sys::set_child(pid).is_some() {
        sys::kill(pid, sys::SIGTERM); // a signal came before the pid was known
    }
    let mut port_readers = Vec::new();
    let mut serial_stdin = None;
    let mut vmm_stdin = Some(vmm_stdin);
    if let Some(mut ports) = launch.ports.take() {
        ports.close_guest_ends();
        let [stdin, stdout, stderr] = ports.host;
        for (sock, ch, name) in [(stdout, Channel::Stdout, "port-stdout"), (stderr, Channel::Stderr, "port-stderr")] {
            let t = thread::Builder::new()
                .name(name.into())
                .spawn(move || console::pump_port_out(sock, ch))
                .map_err(|e| Fail::new(format!("cannot start a thread: {e}")))?;
            port_readers.push(t);
        }
        // Not joined: it may be blocked reading a terminal when the guest is done.
        let empty = launch.empty_stdin;
        if raw_terminal.is_some() {
            let mut w = stdin.try_clone().map_err(|e| Fail::new(format!("cannot clone a console socket: {e}")))?;
            watch_winsize(move |r, c| console::send_winsize(&mut w, r, c))?;
        }
        thread::Builder::new()
            .name("port-stdin".into())
            .spawn(move || console::pump_port_in(stdin, empty))
            .map_err(|e| Fail::new(format!("cannot start a thread: {e}")))?;
        // The serial line carries no stdin now; its pipe stays open, unused.
        serial_stdin = vmm_stdin.take();
    }

    let (tx, rx) = mpsc::channel::<Notice>();
    let stdout = Some(vmm_stdout);
    let stdin = vmm_stdin.take();
    let out_tx = tx.clone();
    let output = launch.output;
    let reader = thread::Builder::new()
        .name("console-out".into())
        .spawn(move || stdout.map(|s| console::pump_output(s, out_tx, output)).unwrap_or_default())
        .map_err(|e| Fail::new(format!("cannot start a thread: {e}")))?;
    if let (Some(stdin), Some(_)) = (&stdin, &raw_terminal) {
        let fd = std::os::fd::AsFd::as_fd(stdin)
            .try_clone_to_owned()
            .map_err(|e| Fail::new(format!("cannot clone the console pipe: {e}")))?;
        let mut w = std::fs::File::from(fd);
        watch_winsize(move |r, c| console::send_winsize(&mut w, r, c))?;
    }
    if let Some(stdin) = stdin {
        // Not joined: it may be blocked reading a terminal when the guest is done.
        let empty = launch.empty_stdin;
        thread::Builder::new()
            .name("console-in".into())
            .spawn(move || console::pump_input(stdin, empty))
            .map_err(|e| Fail::new(format!("cannot start a thread: {e}")))?;
    }
    thread::Builder::new()
        .name("vmm-wait".into())
        .spawn(move || {
            let _ = sys::wait_exit(pid);
            let _ = tx.send(Notice::Exited);
        })
        .map_err(|e| Fail::new(format!("cannot start a thread: {e}")))?;

    let mut deadline = launch.timeout.map(|t| Instant::now() + t);
    let idle_after = |now: Instant| launch.idle.map(|t| now + t);
    let mut idle_deadline = idle_after(Instant::now());
    let mut reported = false;
    let mut timed_out = false;
    let mut idle = false;
    let mut killed = false;
    loop {
        let wake = match (deadline, idle_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let notice = match wake {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match notice {
            Ok(Notice::Exited) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Notice::Output) => idle_deadline = idle_after(Instant::now()),
            Ok(Notice::Reported) => {
                reported = true;
                idle_deadline = None;
                let grace = Instant::now() + POWER_OFF_GRACE;
                deadline = Some(deadline.map_or(grace, |d| d.min(grace)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
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
                if !killed {
                    killed = true;
                    sys::kill(pid, sys::SIGKILL); // not reaped yet, so the pid is still ours
                }
            }
        }
    }
    sys::set_child(0);
    let vmm = sys::wait_status(pid).map_err(|e| Fail::new(format!("waiting for the VMM: {e}")))?;
    // QEMU has exited, so its stdout and the ports reach end of file once drained.
    let report = reader.join().unwrap_or_default();
    for t in port_readers {
        let _ = t.join();
    }
    drop(serial_stdin);
    Ok(Ending { report, vmm, timed_out, idle, signal: sys::signal_received() })
}

fn watch_winsize(f: impl FnMut(u16, u16) + Send + 'static) -> Result<(), Fail> {
    sys::watch_winsize(f).map_err(|e| Fail::new(format!("cannot watch the terminal size: {e}")))
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
        return Err(Fail { message: format!("timed out after {secs} s"), status: STATUS_TIMEOUT });
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
        Ending { report: Report { status, crashed }, vmm: ExitStatus::from_raw(raw), timed_out, idle: false, signal }
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
        let f = status_of(&ending(None, false, false, None, 1 << 8), t).expect_err("no report");
        assert_eq!(f.status, 125);
        assert_eq!(f.message, "the guest ended without reporting a status (VMM exit status 1)");
        let f = status_of(&ending(None, false, false, None, 9), t).expect_err("killed");
        assert!(f.message.ends_with("(VMM killed by signal 9)"));
    }
}
