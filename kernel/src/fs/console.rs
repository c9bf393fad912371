//! The console as files: stdin from the host, stdout and stderr to it (separate
//! channels of the console protocol), and the terminal state a tty has when the
//! host side is one (termios, window size, foreground process group).
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_plat::console::{self, Channel, Input};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{StatInfo, Timespec};
use elfin_shim::UAddr;

use super::file::{FileLike, OpenFile, POLLHUP, POLLIN, POLLOUT};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// Readers of the console wait here.
pub(super) static INPUT_WQ: WaitQueue = WaitQueue::new();
/// Input events already seen (see [`check_input`]).
static INPUT_SEEN: AtomicU64 = AtomicU64::new(0);

/// The host side of the console is a terminal.
static IS_TTY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Records whether the host side of the console is a terminal.
pub fn set_tty(on: bool) {
    IS_TTY.store(on, Ordering::Relaxed);
}

/// Whether the host side of the console is a terminal (the console is then
/// /dev/pts/0, as a container's terminal is).
pub fn is_tty() -> bool {
    IS_TTY.load(Ordering::Relaxed)
}

/// Opens /dev/tty: the console, for a process of the console's session (the
/// first process's, which has the console as its controlling terminal); ENXIO for
/// a process without a controlling terminal, as Linux answers.
pub fn open_tty(sid: i32) -> Result<Arc<dyn FileLike>, Errno> {
    if !IS_TTY.load(Ordering::Relaxed) || sid != 0 {
        return Err(Errno::ENXIO);
    }
    Ok(Arc::new(Console { input: true, out: Some(super::tty::channel().unwrap_or(Channel::Stdout)), tty: true }))
}
/// Opens /dev/console: the host's stdin and (the terminal's channel, else)
/// stdout, a terminal when the host's stdin is one.
pub fn open_console() -> Arc<dyn FileLike> {
    let tty = IS_TTY.load(Ordering::Relaxed);
    let out = if tty { super::tty::channel() } else { None };
    Arc::new(Console { input: true, out: Some(out.unwrap_or(Channel::Stdout)), tty })
}
/// Wakes the console's readers when input (a byte or end of file) arrived since
/// the last look; called by the scheduler on every pass.
pub fn check_input() {
    if super::tty::pump() {
        INPUT_WQ.wake_all();
    }
    if !console::input_in_bulk() {
        // The serial line: decoding a waiting byte is what counts it. (A virtio
        // port's counter polls the device itself.)
        console::input_ready();
    }
    let gen = console::input_generation();
    if INPUT_SEEN.swap(gen, Ordering::Relaxed) != gen {
        INPUT_WQ.wake_all();
    }
}

/// True when a thread waits for console input, or the console is a terminal
/// whose signal characters must be seen while nobody reads: the idle loop then
/// watches the console instead of halting until the next tick.
pub fn has_readers() -> bool {
    !INPUT_WQ.is_empty() || super::tty::active()
}

/// A console stream: stdin (`out` None) or an output channel.
pub struct Console {
    input: bool,
    out: Option<Channel>,
    tty: bool,
}

impl Console {
    /// The console's stdin.
    pub fn input(tty: bool) -> Arc<dyn FileLike> {
        // A terminal is read and written alike (fd 0 of a shell on a tty is O_RDWR).
        let out = if tty { super::tty::channel() } else { None };
        Arc::new(Console { input: true, out, tty })
    }
    /// A console output channel.
    pub fn output(ch: Channel, tty: bool) -> Arc<dyn FileLike> {
        Arc::new(Console { input: false, out: Some(ch), tty })
    }
}

/// Reads what has arrived from the host's stdin (up to a newline, like a pipe fed
/// line by line); None when nothing has arrived yet.
fn read_input(buf: &mut [u8]) -> Option<usize> {
    if console::input_in_bulk() {
        // virtio-console: what has arrived, in one copy.
        return console::read_input(buf);
    }
    let mut n = 0;
    // The UART holds one byte at a time and the host refills it a few
    // microseconds after each read: keep collecting while bytes keep coming, so
    // that one read() moves many bytes.
    let patience = crate::time::cycles_hz() / 10_000;
    let mut last = elfin_arch::read_cycles();
    loop {
        match console::poll_input() {
            Input::Byte(b) => {
                if let Some(slot) = buf.get_mut(n) {
                    *slot = b;
                    n += 1;
                }
                if n == buf.len() || b == b'\n' {
                    return Some(n);
                }
                last = elfin_arch::read_cycles();
            }
            Input::Eof => return Some(n),
            Input::Empty if n == 0 => return None,
            Input::Empty => {
                if elfin_arch::read_cycles().wrapping_sub(last) > patience {
                    return Some(n);
                }
                crate::timer::pause_briefly();
            }
        }
    }
}

impl FileLike for Console {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.input {
            return Err(Errno::EBADF);
        }
        if self.tty && super::tty::active() {
            return super::tty::read(cx, f, buf);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        wait::wait_for(cx, &[&INPUT_WQ], None, Restart::Sys, || match read_input(buf) {
            Some(n) => Some(Ok(n)),
            None if f.nonblocking() => Some(Err(Errno::EAGAIN)),
            None => None,
        })?
    }

    fn write(&self, cx: &Ctx, _f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        match self.out {
            Some(ch) => {
                if console::output_closed(ch) {
                    // The host stopped reading (`elfin run … | head`): a broken pipe.
                    crate::task::signal::send_to_thread(
                        &cx.thread,
                        13,
                        elfin_shim::uapi::Siginfo::kill(13, 0, cx.proc.pid, 0),
                    );
                    return Err(Errno::EPIPE);
                }
                if self.tty {
                    super::tty::check_write(cx)?;
                    super::tty::write(ch, data);
                } else {
                    console::write(ch, data);
                }
                Ok(data.len())
            }
            None => Err(Errno::EBADF),
        }
    }

    fn poll(&self) -> u32 {
        let mut r = if self.out.is_some() { POLLOUT } else { 0 };
        if !self.input {
            return r;
        }
        if self.tty && super::tty::active() {
            if super::tty::poll_in() {
                r |= POLLIN;
            }
            if super::tty::hung_up() {
                r |= POLLHUP;
            }
            return r;
        }
        if console::input_ready() {
            r |= POLLIN;
        }
        if console::input_eof() {
            r |= POLLIN | POLLHUP;
        }
        r
    }

    fn fasync(&self) -> bool {
        true
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.input.then_some(&INPUT_WQ)
    }

    fn stat(&self) -> StatInfo {
        if self.tty {
            // The terminal is /dev/pts/0: the same device and inode (ttyname
            // compares them).
            return super::stat_of(&*super::pty::console_node());
        }
        let t = Timespec { tv_sec: 0, tv_nsec: 0 };
        let (mode, rdev) = (S_IFIFO | 0o600, 0);
        StatInfo {
            dev: 0xe,
            ino: 1000,
            mode,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
            btime: t,
        }
    }

    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        if cmd == 0x541b && !(self.tty && super::tty::active()) {
            // FIONREAD
            let n = if self.input { console::input_available().min(i32::MAX as usize) as i32 } else { 0 };
            cx.write_val(UAddr(arg), &n)?;
            return Ok(0);
        }
        if !self.tty {
            return Err(Errno::ENOTTY);
        }
        super::tty::ioctl(cx, cmd, arg)
    }

    fn link_name(&self, _f: &OpenFile) -> Vec<u8> {
        if self.tty {
            b"/dev/pts/0".to_vec()
        } else {
            alloc::format!("pipe:[{}]", if self.input { 1 } else { 2 }).into_bytes()
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
