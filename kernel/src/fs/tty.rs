//! The console as a terminal: termios, the window size, the foreground process
//! group, and — when the host's stdin is a terminal (the CLI then puts it in raw
//! mode) — the line discipline ([`elfin_kcore::tty::Ldisc`]) between the console's
//! input and the programs: echo, line editing, the signal characters, VMIN/VTIME
//! reads and output processing. When the host's stdin is not a terminal nothing
//! here touches the data (see `console.rs`).
//!
//! Input is pulled from the console by [`pump`] on every scheduler pass, so that a
//! Ctrl-C reaches the foreground group while nobody reads. Signals are sent only
//! where no spin lock is held; otherwise they wait for the next pass.
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, Ordering};

use alloc::vec::Vec;
use elfin_kcore::sigqueue::bit;
use elfin_kcore::tty::{Ldisc, Modes, VMIN, VTIME};
use elfin_plat::console::{self, Channel};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::{SIGTTIN, SIGTTOU, SIGWINCH, SIG_IGN};
use elfin_shim::uapi::{Siginfo, Termios, Winsize};
use elfin_shim::UAddr;

use super::console::INPUT_WQ;
use super::file::OpenFile;
use crate::sync::Mutex;
use crate::task::{signal, table, wait, Ctx, Restart};

/// `si_code` of a signal the kernel raises (SI_KERNEL).
const SI_KERNEL: i32 = 0x80;

struct Tty {
    termios: Termios,
    winsize: Winsize,
    ldisc: Ldisc,
    /// The host closed the terminal's input: reads return 0 once it is drained.
    hung_up: bool,
    /// Decoding the framing of a virtio stdin port (the serial line's is decoded
    /// in `plat`): see docs/protocol.md.
    frame: Frame,
}

/// Where the decoder of the host's framing is: `FF FF` a data byte `FF`,
/// `FF 'w' ROWS ';' COLS '\n'` a window size.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Data,
    Escape,
    Winsize { rows: u32, cols: u32, semi: bool },
}

impl Frame {
    /// Takes one byte; returns a data byte, or sets `winsize` when a size ends.
    fn decode(&mut self, b: u8, winsize: &mut Option<(u16, u16)>) -> Option<u8> {
        match *self {
            Frame::Data if b == 0xff => *self = Frame::Escape,
            Frame::Data => return Some(b),
            Frame::Escape => {
                *self = Frame::Data;
                match b {
                    0xff => return Some(b),
                    b'w' => *self = Frame::Winsize { rows: 0, cols: 0, semi: false },
                    _ => {}
                }
            }
            Frame::Winsize { rows, cols, semi } => {
                let digit = |v: u32| v.saturating_mul(10).saturating_add(u32::from(b.wrapping_sub(b'0')));
                *self = match b {
                    b'0'..=b'9' if !semi => Frame::Winsize { rows: digit(rows), cols, semi },
                    b'0'..=b'9' => Frame::Winsize { rows, cols: digit(cols), semi },
                    b';' if !semi => Frame::Winsize { rows, cols, semi: true },
                    b'\n' => {
                        if let (Ok(r), Ok(c)) = (u16::try_from(rows), u16::try_from(cols)) {
                            *winsize = Some((r, c));
                        }
                        Frame::Data
                    }
                    _ => Frame::Data,
                };
            }
        }
        None
    }
}

static TTY: Mutex<Option<Tty>> = Mutex::new(None);
/// The line discipline runs: the host's stdin is a terminal.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Foreground process group of the terminal.
static FOREGROUND: AtomicI32 = AtomicI32::new(1);
/// Where echoes and /dev/tty's output go: 0 none, 1 stdout, 2 stderr.
static ECHO_TO: AtomicU8 = AtomicU8::new(0);
/// Signals raised for the foreground group and not sent yet (bit per signal).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// SIGWINCH for the foreground group is due.
static WINCH: AtomicBool = AtomicBool::new(false);

fn modes(t: &Termios) -> Modes {
    Modes { iflag: t.c_iflag, oflag: t.c_oflag, lflag: t.c_lflag, cc: t.c_cc }
}

fn with<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    let mut g = TTY.lock();
    let t = g.get_or_insert_with(|| {
        let termios = Termios::linux_default();
        Tty {
            termios,
            winsize: Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 },
            ldisc: Ldisc::new(modes(&termios)),
            hung_up: false,
            frame: Frame::Data,
        }
    });
    f(t)
}

/// Sets the terminal up for a run: `line_discipline` when the host's stdin is a
/// terminal, echoes to the first of stdout and stderr that is one, and the host
/// terminal's size.
pub fn init(line_discipline: bool, echo_to: Option<Channel>, winsize: Option<(u16, u16)>) {
    ACTIVE.store(line_discipline, Ordering::Relaxed);
    let code = match echo_to {
        Some(Channel::Stdout) => 1,
        Some(Channel::Stderr) => 2,
        _ => 0,
    };
    ECHO_TO.store(code, Ordering::Relaxed);
    with(|t| {
        if let Some((r, c)) = winsize {
            (t.winsize.ws_row, t.winsize.ws_col) = (r, c);
        }
    });
}

/// The console terminal's foreground process group.
pub fn foreground() -> i32 {
    FOREGROUND.load(Ordering::Relaxed)
}

/// Whether the line discipline runs (the host's stdin is a terminal).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The output channel of the terminal itself (echoes, /dev/tty).
pub fn channel() -> Option<Channel> {
    match ECHO_TO.load(Ordering::Relaxed) {
        1 => Some(Channel::Stdout),
        2 => Some(Channel::Stderr),
        _ => None,
    }
}

fn echo(out: &[u8]) {
    if let (false, Some(ch)) = (out.is_empty(), channel()) {
        console::write(ch, out);
    }
}

/// Sends `sig` to every process of group `pgid`.
pub(super) fn signal_group(pgid: i32, sig: u32) {
    for p in table::processes().into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == pgid) {
        signal::send_to_process(&p, sig, Siginfo::kill(sig as i32, SI_KERNEL, 0, 0));
    }
}

/// Sends the signals raised since the last call, when the caller holds no lock.
fn send_pending() {
    if !crate::sync::may_sleep() {
        return;
    }
    let fg = FOREGROUND.load(Ordering::Relaxed);
    let sigs = PENDING.swap(0, Ordering::SeqCst);
    for sig in 1..64u32 {
        if sigs & bit(sig) != 0 {
            signal_group(fg, sig);
        }
    }
    if WINCH.swap(false, Ordering::SeqCst) {
        signal_group(fg, SIGWINCH as u32);
    }
}

/// Moves what the host sent into the line discipline (echoing and raising
/// signals as it goes) and takes a new window size; true when something arrived.
/// Does nothing unless the line discipline runs.
pub fn pump() -> bool {
    if !active() {
        return false;
    }
    let mut changed = false;
    if let Some((r, c)) = console::take_winsize() {
        changed |= set_winsize_inner(r, c);
    }
    let mut out = Vec::new();
    let mut winsize = None;
    {
        let Some(mut g) = TTY.try_lock() else { return changed };
        let Some(t) = g.as_mut() else { return changed };
        // A virtio port carries the framing raw; the serial line's is decoded.
        let framed = console::input_in_bulk();
        let mut buf = [0u8; 256];
        while t.ldisc.can_receive() && !t.hung_up {
            // Never more than the queue takes: what is left waits in the console.
            let room = elfin_kcore::tty::QUEUE_MAX.saturating_sub(t.ldisc.readable()).min(buf.len());
            let Some(chunk) = buf.get_mut(..room) else { break };
            match console::read_input(chunk) {
                Some(0) => {
                    t.hung_up = true;
                    changed = true;
                }
                Some(n) => {
                    changed = true;
                    for &b in chunk.iter().take(n) {
                        let b = if framed {
                            match t.frame.decode(b, &mut winsize) {
                                Some(b) => b,
                                None => continue,
                            }
                        } else {
                            b
                        };
                        if let Some(sig) = t.ldisc.receive(b, &mut out) {
                            PENDING.fetch_or(bit(sig), Ordering::SeqCst);
                        }
                    }
                }
                None => break,
            }
        }
    }
    if let Some((r, c)) = winsize {
        changed |= set_winsize_inner(r, c);
    }
    echo(&out);
    send_pending();
    changed
}

fn set_winsize_inner(rows: u16, cols: u16) -> bool {
    let changed = with(|t| {
        let old = (t.winsize.ws_row, t.winsize.ws_col);
        (t.winsize.ws_row, t.winsize.ws_col) = (rows, cols);
        old != (rows, cols)
    });
    if changed {
        WINCH.store(true, Ordering::SeqCst);
    }
    changed
}

/// Whether a read would return now (POLLIN): a line, VMIN bytes (with VTIME 0)
/// or one byte, or the host hung up.
pub fn poll_in() -> bool {
    pump();
    with(|t| {
        let m = t.ldisc.modes();
        let min = match (m.cc.get(VMIN).copied(), m.cc.get(VTIME).copied()) {
            (Some(min), Some(0)) if min > 0 => usize::from(min),
            _ => 1,
        };
        t.ldisc.input_available(min) || (t.hung_up && t.ldisc.readable() == 0)
    })
}

/// Whether the host hung up and nothing is left to read (POLLHUP).
pub fn hung_up() -> bool {
    with(|t| t.hung_up && t.ldisc.readable() == 0)
}

/// Linux's job control check for a read (`__tty_check_change` for SIGTTIN): a
/// process of the terminal's session outside the foreground group gets SIGTTIN
/// and the read restarts once it continues; EIO when it ignores or blocks the
/// signal or its group is orphaned (no one could continue it).
fn check_foreground_read(cx: &Ctx) -> Result<(), Errno> {
    if cx.proc.sid.load(Ordering::Relaxed) != 0 {
        return Ok(());
    }
    background_read(cx, FOREGROUND.load(Ordering::Relaxed))
}

/// The job control check of a read from the caller's controlling terminal, whose
/// foreground group is `fg`: Ok in the foreground, else SIGTTIN (and a restart
/// once the group continues) or EIO.
pub(super) fn background_read(cx: &Ctx, fg: i32) -> Result<(), Errno> {
    background_access(cx, fg, false)
}

/// Linux's `__tty_check_change` for a caller on its controlling terminal, whose
/// foreground group is `fg`: a process of another group gets SIGTTIN (`write`
/// false: a read) or SIGTTOU (a change of the terminal's modes, or a write under
/// TOSTOP), sent to its whole group, and the call restarts once the group
/// continues. A blocked or ignored SIGTTOU lets the change through; a blocked or
/// ignored SIGTTIN, or an orphaned group (no one could continue it), is EIO.
pub(super) fn background_access(cx: &Ctx, fg: i32, write: bool) -> Result<(), Errno> {
    let pgid = cx.proc.pgid.load(Ordering::Relaxed);
    if pgid == fg || fg <= 0 {
        return Ok(());
    }
    let sig = if write { SIGTTOU as u32 } else { SIGTTIN as u32 };
    let blocked = cx.thread.sig.lock().mask & bit(sig) != 0;
    let ignored = cx.proc.sighand().lock().get((sig - 1) as usize).is_some_and(|a| a.handler == SIG_IGN);
    if blocked || ignored {
        return if write { Ok(()) } else { Err(Errno::EIO) };
    }
    if orphaned(pgid) {
        return Err(Errno::EIO);
    }
    signal_group(pgid, sig);
    Err(cx.interrupted(Restart::Sys))
}

/// Whether an ioctl changes a terminal, so that a background process must not
/// make it unseen (tty_mode_ioctl's and tty_ioctl's `tty_check_change` calls):
/// TCSETS, TCSETSW, TCSETSF, TCFLSH, TCXONC, TIOCSPGRP.
pub(super) fn changes_terminal(cmd: u32) -> bool {
    matches!(cmd, 0x5402..=0x5404 | 0x540b | 0x540a | 0x5410)
}

/// Whether no member of group `pgid` has a parent in another group of its
/// session (POSIX's orphaned process group).
fn orphaned(pgid: i32) -> bool {
    !table::processes().into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == pgid).any(|p| {
        p.parent().is_some_and(|q| {
            q.pgid.load(Ordering::Relaxed) != pgid && q.sid.load(Ordering::Relaxed) == p.sid.load(Ordering::Relaxed)
        })
    })
}

/// read(2) of the console through its line discipline (see [`ldisc_read`]).
pub fn read(cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
    check_foreground_read(cx)?;
    let m = with(|t| t.ldisc.modes());
    ldisc_read(cx, f.nonblocking(), buf, m, &INPUT_WQ, |max| {
        pump();
        with(|t| {
            if t.ldisc.input_available(1) {
                let mut data = alloc::vec![0u8; max];
                let k = t.ldisc.read(&mut data);
                data.truncate(k);
                Some(Some(data))
            } else if t.hung_up && t.ldisc.readable() == 0 {
                Some(None)
            } else {
                None
            }
        })
    })
}

/// A read from a line discipline with modes `m`, woken by `wq`: `take(max)` gives
/// up to `max` bytes when input is ready, Some(None) at end of file (a hang-up),
/// None when there is nothing yet. Canonical mode returns one line; otherwise
/// VMIN and VTIME rule as termios(3) says (n_tty_read): MIN>0 TIME=0 waits for MIN
/// bytes; MIN=0 TIME>0 waits up to TIME for one; MIN>0 TIME>0 waits for the
/// first, then until MIN or TIME passes without a byte; MIN=0 TIME=0 never waits.
pub(super) fn ldisc_read(
    cx: &Ctx,
    nonblocking: bool,
    buf: &mut [u8],
    m: Modes,
    wq: &crate::task::WaitQueue,
    mut take: impl FnMut(usize) -> Option<Option<Vec<u8>>>,
) -> Result<usize, Errno> {
    if buf.is_empty() {
        return Ok(0);
    }
    let canon = m.lflag & elfin_kcore::tty::ICANON != 0;
    let vmin = usize::from(m.cc.get(VMIN).copied().unwrap_or(1));
    let vtime_ns = u64::from(m.cc.get(VTIME).copied().unwrap_or(0)) * 100_000_000;
    // As n_tty_read: `minimum` bytes end the read; `timeout` None waits forever.
    let (minimum, mut timeout, inter_byte) = if canon {
        (0, None, None)
    } else if vmin > 0 {
        (vmin, None, (vtime_ns > 0).then_some(vtime_ns))
    } else {
        (1, Some(vtime_ns), None)
    };
    let mut got = 0usize;
    loop {
        let deadline = timeout.map(|t| crate::time::monotonic_ns().saturating_add(t));
        let rest_len = buf.len().saturating_sub(got);
        let step = wait::wait_for(cx, &[wq], deadline, Restart::Sys, || match take(rest_len) {
            Some(Some(data)) => Some(Ok(Some(data))),
            Some(None) => Some(Ok(None)),
            None if timeout == Some(0) => Some(Ok(None)),
            None if nonblocking => Some(Err(Errno::EAGAIN)),
            None => None,
        });
        match step {
            Ok(Ok(Some(data))) => {
                if let Some(dst) = buf.get_mut(got..got.saturating_add(data.len())) {
                    dst.copy_from_slice(&data);
                }
                got = got.saturating_add(data.len());
                if canon || got >= minimum || got >= buf.len() {
                    break;
                }
                if inter_byte.is_some() {
                    timeout = inter_byte;
                }
            }
            Ok(Ok(None)) | Err(Errno::ETIMEDOUT) => break,
            Ok(Err(e)) | Err(e) => {
                if got > 0 {
                    break;
                }
                return Err(e);
            }
        }
    }
    Ok(got)
}

/// The job control check of a write to the console by a process of its session:
/// with TOSTOP set, a background process gets SIGTTOU.
pub fn check_write(cx: &Ctx) -> Result<(), Errno> {
    let tostop = with(|t| t.termios.c_lflag & elfin_shim::uapi::termios::TOSTOP != 0);
    if tostop && cx.proc.sid.load(Ordering::Relaxed) == 0 {
        background_access(cx, FOREGROUND.load(Ordering::Relaxed), true)?;
    }
    Ok(())
}

/// Writes `data` to `ch` through the output processing (OPOST) when the line
/// discipline runs, else as it is.
pub fn write(ch: Channel, data: &[u8]) {
    if !active() {
        console::write(ch, data);
        return;
    }
    let mut out = Vec::with_capacity(data.len().saturating_add(data.len() / 8));
    with(|t| t.ldisc.output(data, &mut out));
    console::write(ch, &out);
}

/// The terminal's ioctls (tty_ioctl, n_tty_ioctl); `input` is whether the file
/// reads the terminal (FIONREAD).
pub fn ioctl(cx: &Ctx, cmd: u32, arg: u64) -> Result<u64, Errno> {
    if changes_terminal(cmd) && cx.proc.sid.load(Ordering::Relaxed) == 0 {
        background_access(cx, FOREGROUND.load(Ordering::Relaxed), true)?;
    }
    match cmd {
        // TCGETS
        0x5401 => {
            let t = with(|t| t.termios);
            cx.write_val(UAddr(arg), &t)?;
            Ok(0)
        }
        // TCSETS, TCSETSW (output is written at once: nothing to drain), TCSETSF
        // (and the input is flushed).
        0x5402..=0x5404 => {
            let new: Termios = cx.read_val(UAddr(arg))?;
            with(|t| {
                if cmd == 0x5404 {
                    t.ldisc.flush_input();
                }
                t.termios = new;
                t.ldisc.set_modes(modes(&new));
            });
            INPUT_WQ.wake_all();
            Ok(0)
        }
        // TCFLSH: TCIFLUSH 0, TCOFLUSH 1 (output is never held back), TCIOFLUSH 2.
        0x540b => match arg {
            0 | 2 => {
                with(|t| t.ldisc.flush_input());
                Ok(0)
            }
            1 => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        // TCSBRK (tcdrain, tcsendbreak), TCXONC, TCSBRKP: output is never held back.
        0x5409 | 0x540a | 0x5425 => Ok(0),
        // TIOCINQ / FIONREAD
        0x541b => {
            pump();
            let n = with(|t| t.ldisc.readable()).min(i32::MAX as usize) as i32;
            cx.write_val(UAddr(arg), &n)?;
            Ok(0)
        }
        // TIOCOUTQ: output leaves at once.
        0x5411 => {
            cx.write_val(UAddr(arg), &0i32)?;
            Ok(0)
        }
        // TIOCGWINSZ
        0x5413 => {
            let ws = with(|t| t.winsize);
            cx.write_val(UAddr(arg), &ws)?;
            Ok(0)
        }
        // TIOCSWINSZ: SIGWINCH to the foreground group when the size changes.
        0x5414 => {
            let ws: Winsize = cx.read_val(UAddr(arg))?;
            let changed = with(|t| {
                let old = t.winsize;
                t.winsize = ws;
                (old.ws_row, old.ws_col, old.ws_xpixel, old.ws_ypixel)
                    != (ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel)
            });
            if changed {
                signal_group(FOREGROUND.load(Ordering::Relaxed), SIGWINCH as u32);
            }
            Ok(0)
        }
        // TIOCGPGRP
        0x540f => {
            cx.write_val(UAddr(arg), &FOREGROUND.load(Ordering::Relaxed))?;
            Ok(0)
        }
        // TIOCSPGRP: a group of the caller's session.
        0x5410 => {
            let pgid: i32 = cx.read_val(UAddr(arg))?;
            if pgid < 0 {
                return Err(Errno::EINVAL);
            }
            let sid = cx.proc.sid.load(Ordering::Relaxed);
            if !table::group_exists(pgid, Some(sid)) {
                return Err(Errno::EPERM);
            }
            FOREGROUND.store(pgid, Ordering::Relaxed);
            Ok(0)
        }
        // TIOCGSID
        0x5429 => {
            cx.write_val(UAddr(arg), &1i32)?;
            Ok(0)
        }
        // TIOCSCTTY, TIOCNOTTY
        0x540e | 0x5422 => Ok(0),
        _ => Err(Errno::ENOTTY),
    }
}
