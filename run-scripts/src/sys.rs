//! The few Linux calls std does not offer, for supervising QEMU. All of the CLI's
//! `unsafe` lives here.
//!
//! - Termination signals (INT, TERM, HUP, QUIT) are caught, not fatal, so that the
//!   temporary initrd is always removed: the handler records the signal and passes a
//!   SIGTERM on to QEMU (SIGKILL on the second signal); the run then ends normally.
//! - QEMU is started by [`spawn`] (clone with CLONE_VM | CLONE_VFORK, as
//!   `posix_spawn` does, so nothing of ours is copied) and gets `PR_SET_PDEATHSIG`
//!   first, so it dies with elfin even if elfin is SIGKILLed.
//! - [`exit_watch`] tells when QEMU has exited without reaping it, so that elfin
//!   can still `kill` it safely until then (the pid cannot be reused before the reap).

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
/// SIGKILL, for [`kill`].
pub const SIGKILL: i32 = libc::SIGKILL;

/// Blocks until the child `pid` has exited, without reaping it (`WNOWAIT`).
fn wait_exit(pid: u32) -> io::Result<()> {
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

/// A descriptor that becomes readable when the child `pid` exits (it is not
/// reaped): a pidfd, or on kernels before 5.3 a pipe that a thread of its own
/// writes to once [`wait_exit`] returns.
pub fn exit_watch(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let raw = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw, 0) };
    if let Ok(fd) = i32::try_from(fd) {
        if fd >= 0 {
            // SAFETY: the descriptor was just created and is owned by nobody else.
            return Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
        }
    }
    let (rx, tx) = pipe()?;
    std::thread::Builder::new().name("vmm-wait".into()).spawn(move || {
        let _ = wait_exit(pid);
        let _ = std::io::Write::write_all(&mut std::fs::File::from(tx), &[0]);
    })?;
    Ok(rx)
}

/// Reads from our stdin, unbuffered (what poll(2) said is there).
pub fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: read(2) writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Shuts a socket down both ways (its peer sees it hung up); errors are ignored.
pub fn shutdown(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: shutdown(2) takes a descriptor number only.
    unsafe {
        libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR);
    }
}

/// Bytes written to the socket `fd` that its peer has not read yet (0 when the
/// descriptor cannot tell, as a pipe).
pub fn unsent(fd: &impl std::os::fd::AsRawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int to the pointer given.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if rc == 0 {
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

/// Makes `fd` non-blocking (one of our own descriptors, not a shared one).
pub fn set_nonblocking(fd: &impl std::os::fd::AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on a descriptor we own; no memory is passed.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Readiness wanted (or found) on one descriptor for [`poll`].
pub type PollFd = libc::pollfd;
/// Data to read, for [`PollFd::events`].
pub const POLLIN: i16 = libc::POLLIN;
/// Room to write, for [`PollFd::events`].
pub const POLLOUT: i16 = libc::POLLOUT;

/// Waits until one of `fds` is ready or `timeout` passes (None: no limit); an
/// interrupting signal counts as a timeout. Returns how many are ready.
pub fn poll(fds: &mut [PollFd], timeout: Option<std::time::Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| {
        // Rounded up, so that a deadline is not polled for again just before it.
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    let n = libc::nfds_t::try_from(fds.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fds` is a valid, writable array of `n` pollfd structures.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, ms) };
    if rc >= 0 {
        return Ok(usize::try_from(rc).unwrap_or(0));
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(e)
    }
}

/// True when stdin is a terminal that we may not read because we run in the
/// background (reading would stop the whole process with SIGTTIN).
pub fn stdin_is_background_tty() -> bool {
    // SAFETY: isatty(3), tcgetpgrp(3) and getpgrp(2) only take a descriptor number.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) != libc::getpgrp() }
}

/// Our own pid.
pub fn own_pid() -> libc::pid_t {
    // SAFETY: getpid(2) has no preconditions.
    unsafe { libc::getpid() }
}

/// Which of our stdin, stdout and stderr are terminals, and the terminal's size
/// (rows, columns) if one is.
pub fn terminals() -> (Vec<i32>, Option<(u16, u16)>) {
    let (ttys, size) = read_terminals();
    *GIVEN_WINSIZE.lock().unwrap_or_else(|e| e.into_inner()) = size;
    (ttys, size)
}

/// The window size [`terminals`] read (the one the guest starts with): the
/// watcher of later sizes compares with it, so that a resize between that read
/// and the watcher's start reaches the guest too.
static GIVEN_WINSIZE: std::sync::Mutex<Option<(u16, u16)>> = std::sync::Mutex::new(None);

/// [`terminals`], without recording the size.
fn read_terminals() -> (Vec<i32>, Option<(u16, u16)>) {
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

/// Whether descriptors `a` and `b` are open on one file (the same inode of the
/// same device: one terminal, pipe or file), as with `2>&1`.
pub fn same_file(a: i32, b: i32) -> bool {
    let id = |fd: i32| {
        // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat only writes the struct it is given; a closed descriptor
        // makes it fail, which is checked.
        (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
    };
    matches!((id(a), id(b)), (Some(x), Some(y)) if x == y)
}

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

/// Watches the terminal's size: SIGWINCH (and elfin's continuing after a stop)
/// makes the returned pipe readable. The size the guest was given comes with it,
/// not the size now: a resize before the handler was installed sent no signal,
/// and is found by the watcher's first look.
pub fn watch_winsize() -> io::Result<(std::fs::File, Option<(u16, u16)>)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fds[0]` is the read end just created and owned by no one else.
    let rx = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    WINCH_PIPE.store(fds[1], Ordering::SeqCst);
    install(libc::SIGWINCH, on_winch)?;
    Ok((rx, *GIVEN_WINSIZE.lock().unwrap_or_else(|e| e.into_inner())))
}

/// Whether our terminal is in raw mode now (newlines of our own messages then
/// need a carriage return).
pub fn terminal_is_raw() -> bool {
    RAW_ON.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------- spawning --

/// A VMM started by [`spawn`]: its pid, the write end of its stdin and the read
/// end of its stdout (pipes; its stderr is ours).
pub struct Spawned {
    /// Its pid (unreaped until [`wait_status`]).
    pub pid: u32,
    /// Its stdin.
    pub stdin: std::fs::File,
    /// Its stdout.
    pub stdout: std::fs::File,
}

/// What the child needs between clone and exec, prepared by the parent (the
/// child may not allocate: it shares the parent's memory, whose allocator lock
/// another thread may hold).
struct ChildPlan {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdin: libc::c_int,
    stdout: libc::c_int,
    keep: [libc::c_int; 4],
    nkeep: usize,
    parent: libc::pid_t,
    old_mask: libc::sigset_t,
    /// The errno of a failed step, written by the child.
    error: AtomicI32,
}

/// Signals whose handlers or dispositions we change; the VMM starts with the
/// defaults (as std's spawn does for SIGPIPE).
const RESET_SIGNALS: [libc::c_int; 6] =
    [libc::SIGPIPE, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGWINCH];

/// The child side of [`spawn`]: runs on its own stack in the parent's memory
/// while the parent waits (CLONE_VFORK). Only async-signal-safe calls.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the ChildPlan the parent keeps alive (and does not touch)
    // until this child has exec'd or exited.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    let fail = |plan: &ChildPlan| -> ! {
        plan.error.store(io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL), Ordering::SeqCst);
        // SAFETY: _exit(2) ends this child without running the parent's atexit code.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: each call below takes integers or pointers the parent prepared
    // (NUL-terminated strings and null-terminated arrays of them, a valid sigset).
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
            fail(plan);
        }
        if libc::getppid() != plan.parent {
            plan.error.store(libc::ESRCH, Ordering::SeqCst);
            libc::_exit(127);
        }
        if libc::dup2(plan.stdin, 0) < 0 || libc::dup2(plan.stdout, 1) < 0 {
            fail(plan);
        }
        for &fd in plan.keep.iter().take(plan.nkeep) {
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                fail(plan);
            }
        }
        for sig in RESET_SIGNALS {
            libc::signal(sig, libc::SIG_DFL);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &plan.old_mask, std::ptr::null_mut());
        libc::execve(plan.path, plan.argv, plan.envp);
    }
    fail(plan)
}

/// `program` as a path to execute: itself when it names a path, else the first
/// executable file of that name in `$PATH`.
fn resolve_program(program: &std::ffi::OsStr) -> io::Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    if program.as_bytes().contains(&b'/') {
        return Ok(program.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let candidate = if dir.as_os_str().is_empty() { program.into() } else { dir.join(program) };
        if std::fs::metadata(&candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
            return Ok(candidate);
        }
    }
    Err(io::Error::from(io::ErrorKind::NotFound))
}

/// A pipe, both ends close-on-exec: (read, write).
fn pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) })
}

/// Starts `program` with `args` (the environment is ours), its stdin and stdout
/// on new pipes, `keep` (at most four descriptors) open across the exec, and
/// `PR_SET_PDEATHSIG` so that it dies with us. Like `posix_spawn`, the child
/// shares our memory until it execs (CLONE_VM | CLONE_VFORK), which costs a
/// fraction of a fork's page-table copy; unlike it, the child can set the
/// parent-death signal first.
pub fn spawn(program: &std::ffi::OsStr, args: &[std::ffi::OsString], keep: &[i32]) -> io::Result<Spawned> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let path = cstr(resolve_program(program)?.as_os_str().as_bytes())?;
    let argv_c: Vec<CString> = std::iter::once(program)
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| cstr(a.as_bytes()))
        .collect::<io::Result<_>>()?;
    let envp_c: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstr(&kv)
        })
        .collect::<io::Result<_>>()?;
    let argv: Vec<*const libc::c_char> =
        argv_c.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let envp: Vec<*const libc::c_char> =
        envp_c.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let mut keep_fds = [-1; 4];
    if keep.len() > keep_fds.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    keep_fds[..keep.len()].copy_from_slice(keep);
    // SAFETY: an all-zero sigset_t is valid storage; sigfillset/pthread_sigmask
    // fill it.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both point to valid sigset_t values. Blocking every signal keeps our
    // handlers from running in the child, which shares our memory.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let plan = ChildPlan {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdin: in_r.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        keep: keep_fds,
        nkeep: keep.len(),
        parent: own_pid(),
        old_mask: old,
        error: AtomicI32::new(0),
    };
    let mut stack = vec![0u8; 64 * 1024];
    // The stack grows down from its 16-byte aligned end.
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
    // SAFETY: the child runs `child_main` on `stack` (ours, unused otherwise, alive
    // until clone returns, which with CLONE_VFORK is after the child's exec or
    // exit) with `plan`, which outlives it too; the child only makes
    // async-signal-safe calls on memory prepared here.
    let pid = unsafe {
        libc::clone(
            child_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &plan as *const ChildPlan as *mut libc::c_void,
        )
    };
    let clone_err = io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    drop(stack);
    if pid < 0 {
        return Err(clone_err);
    }
    let err = plan.error.load(Ordering::SeqCst);
    if err != 0 {
        let _ = wait_status(pid as u32);
        return Err(io::Error::from_raw_os_error(err));
    }
    drop((in_r, out_w));
    Ok(Spawned { pid: pid as u32, stdin: in_w.into(), stdout: out_r.into() })
}

/// Reaps `pid` and returns its exit status.
pub fn wait_status(pid: u32) -> io::Result<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status into the integer we pass.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Ok(std::process::ExitStatus::from_raw(status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
