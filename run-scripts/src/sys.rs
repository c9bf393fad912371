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

// ------------------------------------------------------------- terminal --

/// Our stdin's terminal settings before [`RawTerminal::enter`] changed them.
static SAVED_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();
/// The raw settings [`RawTerminal::enter`] applied.
static RAW_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();
/// Our stdin's terminal is in raw mode now (and must be restored).
static RAW_ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The write end of the pipe the SIGWINCH handler pokes (-1: none).
static WINCH_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Whether our stdin is a terminal (the guest's console is then one too).
pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty(3) only takes a descriptor number.
    unsafe { libc::isatty(0) == 1 }
}

/// Puts the settings of `t` on our stdin's terminal. Async-signal-safe.
fn set_termios(t: &libc::termios) {
    // SAFETY: `t` is a valid termios; tcsetattr(3) only reads it.
    unsafe {
        libc::tcsetattr(0, libc::TCSADRAIN, t);
    }
}

/// Whether we are in our terminal's foreground process group.
fn in_foreground() -> bool {
    // SAFETY: tcgetpgrp(3) and getpgrp(2) only take a descriptor number.
    unsafe { libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Puts our stdin's terminal back as it was, if we changed it. Async-signal-safe:
/// the termination and stop handlers and the panic hook call it too.
pub fn restore_terminal() {
    if RAW_ON.swap(false, Ordering::SeqCst) {
        if let Some(t) = SAVED_TERMIOS.get() {
            set_termios(t);
        }
    }
}

extern "C" fn on_stop(_sig: libc::c_int) {
    // `kill -TSTP` of elfin itself (in raw mode the terminal sends no signals):
    // give the terminal back, stop, and take it again when continued in the
    // foreground. The guest goes on running meanwhile; its output waits.
    restore_terminal();
    // SAFETY: kill(2) and getpid(2) have no memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGSTOP);
    }
    if in_foreground() {
        if let Some(t) = RAW_TERMIOS.get() {
            set_termios(t);
            RAW_ON.store(true, Ordering::SeqCst);
        }
    }
    on_winch(0);
}

extern "C" fn on_winch(_sig: libc::c_int) {
    let fd = WINCH_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) of one byte from a valid buffer; a full pipe already
        // holds a wake-up, so a failure is fine.
        unsafe {
            libc::write(fd, [0u8].as_ptr().cast(), 1);
        }
    }
}

fn install(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags).
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler as libc::sighandler_t;
    act.sa_flags = libc::SA_RESTART;
    // SAFETY: `act` is fully initialised; the handlers only make async-signal-safe
    // calls; the old action is not needed (null is allowed).
    if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Our stdin's terminal in raw mode for a run; dropping it restores the terminal.
/// The guest's line discipline then does echo, editing, the signal characters
/// and output processing (cfmakeraw also turns off the host's OPOST).
pub struct RawTerminal(());

impl RawTerminal {
    /// Enters raw mode when stdin is a terminal and we are in its foreground
    /// (a background elfin leaves it alone: its program reads an empty stdin).
    /// Also restores the terminal on a panic and on `kill -TSTP` of elfin.
    pub fn enter() -> Option<RawTerminal> {
        if !stdin_is_tty() || !in_foreground() {
            return None;
        }
        // SAFETY: an all-zero termios is a valid output buffer for tcgetattr(3).
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `saved` is a valid, writable termios.
        if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw(3) only rewrites the flags of a valid termios.
        unsafe { libc::cfmakeraw(&mut raw) };
        let _ = SAVED_TERMIOS.set(saved);
        let _ = RAW_TERMIOS.set(raw);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        let _ = install(libc::SIGTSTP, on_stop);
        RAW_ON.store(true, Ordering::SeqCst);
        set_termios(&raw);
        Some(RawTerminal(()))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The size (rows, columns) of our stdin's terminal.
pub fn stdin_winsize() -> Option<(u16, u16)> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one struct winsize to the pointer given.
    (unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0).then_some((ws.ws_row, ws.ws_col))
}

/// Calls `changed` with the terminal's new size on a thread of its own after
/// every SIGWINCH (and after elfin is continued from a stop).
pub fn watch_winsize(mut changed: impl FnMut(u16, u16) + Send + 'static) -> io::Result<()> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fds[0]` is the read end just created and owned by no one else.
    let mut rx = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    WINCH_PIPE.store(fds[1], Ordering::SeqCst);
    install(libc::SIGWINCH, on_winch)?;
    std::thread::Builder::new().name("winsize".into()).spawn(move || {
        let mut b = [0u8; 64];
        let mut last = stdin_winsize();
        while std::io::Read::read(&mut rx, &mut b).is_ok_and(|n| n > 0) {
            let now = stdin_winsize();
            if now != last {
                if let Some((r, c)) = now {
                    changed(r, c);
                }
                last = now;
            }
        }
    })?;
    Ok(())
}

/// Whether our terminal is in raw mode now (newlines of our own messages then
/// need a carriage return).
pub fn terminal_is_raw() -> bool {
    RAW_ON.load(Ordering::SeqCst)
}
