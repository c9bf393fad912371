//! The few Linux calls std does not offer, for supervising QEMU. All of the CLI's
//! `unsafe` lives here.
//!
//! - Termination signals (INT, TERM, HUP, QUIT) are caught, not fatal, so that the
//!   temporary initrd is always removed: the handler records the signal and passes a
//!   SIGTERM on to QEMU (SIGKILL on the second signal); the run then ends normally.
//! - QEMU gets `PR_SET_PDEATHSIG`, so it dies with elfin even if elfin is SIGKILLed.
//! - [`wait_exit`] waits for QEMU to exit without reaping it, so that the main thread
//!   can still `kill` it safely (the pid cannot be reused before the reap).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// Pid of the running QEMU, or 0.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The first termination signal received, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// How many termination signals arrived.
static SIGNAL_COUNT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomics and kill(2) here: both are async-signal-safe.
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let count = SIGNAL_COUNT.fetch_add(1, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        let forward = if count == 0 { libc::SIGTERM } else { libc::SIGKILL };
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our unreaped
        // child (CHILD is cleared before the reap), so it names no other process.
        unsafe {
            libc::kill(pid, forward);
        }
    }
}

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT (see the module docs).
pub fn catch_termination_signals() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags).
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act` is fully initialised and the handler only does
        // async-signal-safe work; the old action is not needed (null is allowed).
        let rc = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The first termination signal received so far, if any.
pub fn signal_received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Registers the QEMU pid for signal forwarding (0 to clear it before reaping).
/// Returns the signal already received, so the caller can act on one that came early.
pub fn set_child(pid: u32) -> Option<i32> {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    signal_received()
}

/// Sends `sig` to `pid`.
pub fn kill(pid: u32, sig: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions; the caller passes its
        // own, not yet reaped child.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// SIGTERM, for [`kill`].
pub const SIGTERM: i32 = libc::SIGTERM;

/// Blocks until the child `pid` has exited, without reaping it (`WNOWAIT`).
pub fn wait_exit(pid: u32) -> io::Result<()> {
    let pid = libc::id_t::from(pid);
    loop {
        // SAFETY: an all-zero siginfo_t is a valid output buffer.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the duration of the call.
        let rc = unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// To run in the child between fork and exec: ask for SIGTERM when elfin dies, and
/// exit at once if it already has. Only async-signal-safe calls.
pub fn child_dies_with_parent(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid(2) has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::other("elfin exited before QEMU started"));
    }
    Ok(())
}

/// To run in the child between fork and exec: lets `fd` survive the exec (clears
/// close-on-exec). Only async-signal-safe calls.
pub fn keep_across_exec(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl(F_SETFD) takes integer arguments only.
    let rc = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// True when stdin is a terminal that we may not read because we run in the
/// background (reading would stop the whole process with SIGTTIN).
pub fn stdin_is_background_tty() -> bool {
    // SAFETY: isatty(3), tcgetpgrp(3) and getpgrp(2) only take a descriptor number.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) != libc::getpgrp() }
}

/// Our own pid, as [`child_dies_with_parent`] wants it.
pub fn own_pid() -> libc::pid_t {
    // SAFETY: getpid(2) has no preconditions.
    unsafe { libc::getpid() }
}

/// Which of our stdin, stdout and stderr are terminals, and the terminal's size
/// (rows, columns) if one is.
pub fn terminals() -> (Vec<i32>, Option<(u16, u16)>) {
    let mut ttys = Vec::new();
    let mut size = None;
    for fd in 0..3 {
        // SAFETY: isatty(3) only takes a descriptor number.
        if unsafe { libc::isatty(fd) } == 1 {
            ttys.push(fd);
            if size.is_none() {
                let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
                // SAFETY: TIOCGWINSZ writes one struct winsize to the pointer given.
                if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
                    size = Some((ws.ws_row, ws.ws_col));
                }
            }
        }
    }
    (ttys, size)
}
