//! The console and its host framing (see `docs/protocol.md`): one serial line
//! carries kernel messages and the exit status, and the program's stdout, stderr
//! and stdin (with an end-of-file marker) unless the host gave them ports of a
//! virtio console (`stdio=virtio`), which carry them unframed and much faster.
use core::fmt;

use crate::{uart, virtio};

/// Output channels multiplexed on the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The program's standard output.
    Stdout,
    /// The program's standard error.
    Stderr,
    /// Kernel messages.
    Kernel,
}

const ESC: u8 = 0xff;

struct State {
    current: Channel,
    raw: bool,
    /// Stdin: an escape byte was seen and awaits its code.
    in_escape: bool,
    /// Stdin: end of file was signalled.
    eof: bool,
    /// Stdin: a decoded byte not consumed yet.
    pending: Option<u8>,
    /// Stdin: counts arrivals (bytes and end of file), for waking pollers.
    generation: u64,
    /// Control: inside `FF 'w' ROWS ';' COLS '\n'`, the digits so far (rows, cols,
    /// and whether the `;` was seen).
    winsize_frame: Option<(u32, u32, bool)>,
    /// Control: the last window size the host sent, not taken yet.
    winsize: Option<(u16, u16)>,
}

static STATE: spin::Mutex<State> = spin::Mutex::new(State {
    current: Channel::Kernel,
    raw: false,
    in_escape: false,
    eof: false,
    pending: None,
    generation: 0,
    winsize_frame: None,
    winsize: None,
});

/// Initialises the UART.
pub fn init(raw: bool) {
    uart::init();
    let mut s = STATE.lock();
    s.raw = raw;
    if !raw {
        // Mark the start of the kernel's output: the host drops anything before it
        // (firmware banners).
        uart::put(ESC);
        uart::put(code(Channel::Kernel));
        s.current = Channel::Kernel;
    }
}

fn code(c: Channel) -> u8 {
    match c {
        Channel::Stdout => b'1',
        Channel::Stderr => b'2',
        Channel::Kernel => b'k',
    }
}

/// Writes bytes on a channel.
pub fn write(ch: Channel, bytes: &[u8]) {
    if virtio::write(ch, bytes) {
        return;
    }
    let mut s = STATE.lock();
    if s.raw {
        bytes.iter().for_each(|&b| uart::put(b));
        return;
    }
    if s.current != ch {
        uart::put(ESC);
        uart::put(code(ch));
        s.current = ch;
    }
    for &b in bytes {
        if b == ESC {
            uart::put(ESC);
        }
        uart::put(b);
    }
}

/// Finishes setting up the program's stdio now (the virtio console's port
/// handshake otherwise ends while the program starts).
pub fn settle() {
    virtio::ensure_settled();
}

/// Whether the host stopped reading a channel (its stdout went to a pipe that was
/// closed, `| head`): writes there should fail with EPIPE, as on Linux. Only the
/// virtio ports can tell; the serial line never says so.
pub fn output_closed(ch: Channel) -> bool {
    virtio::output_closed(ch)
}

/// Waits until the host has every byte of program output written so far.
pub fn flush() {
    virtio::flush();
    uart::flush();
}

/// Reports the program's exit status and flushes the line (after the program's
/// output: the host takes the status as the end of the run).
pub fn report_exit(status: u8) {
    virtio::flush();
    let s = STATE.lock();
    if s.raw {
        drop(s);
        kprint(format_args!("elfin: exit status {}\n", status));
    } else {
        uart::put(ESC);
        uart::put(b'x');
        let mut buf = [0u8; 3];
        let digits = fmt_u8(status, &mut buf);
        digits.iter().for_each(|&b| uart::put(b));
        uart::put(b'\n');
    }
    uart::flush();
}

/// Reports a kernel crash (after its report was printed).
pub fn report_crash() {
    virtio::try_flush();
    let s = STATE.lock();
    if !s.raw {
        uart::put(ESC);
        uart::put(b'p');
    }
    uart::flush();
}

fn fmt_u8(v: u8, buf: &mut [u8; 3]) -> &[u8] {
    let mut n = 0;
    let mut d = 100u8;
    let mut started = false;
    while d > 0 {
        let digit = (v / d) % 10;
        if digit != 0 || started || d == 1 {
            if let Some(slot) = buf.get_mut(n) {
                *slot = b'0' + digit;
            }
            n += 1;
            started = true;
        }
        d /= 10;
    }
    buf.get(..n).unwrap_or(&[])
}

/// One event from the host's stdin stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// A data byte.
    Byte(u8),
    /// End of file.
    Eof,
    /// Nothing available right now.
    Empty,
}

/// Polls the host's stdin stream.
pub fn poll_input() -> Input {
    if virtio::stdin_active() {
        let mut b = [0u8; 1];
        return match virtio::read(&mut b) {
            Some(0) => Input::Eof,
            Some(_) => Input::Byte(b[0]),
            None => Input::Empty,
        };
    }
    let mut s = STATE.lock();
    if let Some(b) = s.pending.take() {
        return Input::Byte(b);
    }
    decode_input(&mut s)
}

/// Reads what has arrived on stdin into `buf`, like read(2) on a pipe that does
/// not block: Some(n > 0) bytes, Some(0) end of file (every byte before it was
/// read), None nothing yet. An empty `buf` gives Some(0).
pub fn read_input(buf: &mut [u8]) -> Option<usize> {
    if buf.is_empty() {
        return Some(0);
    }
    if virtio::stdin_active() {
        return virtio::read(buf);
    }
    let mut n = 0;
    for slot in buf.iter_mut() {
        match poll_input() {
            Input::Byte(b) => {
                *slot = b;
                n += 1;
            }
            Input::Eof if n == 0 => return Some(0),
            Input::Eof | Input::Empty => break,
        }
    }
    (n > 0).then_some(n)
}

/// Whether stdin arrives in bulk (a virtio port): a read then takes what is
/// there and returns at once, as from a pipe. The serial line delivers one byte at
/// a time, so a read there is better off collecting bytes while they keep coming.
pub fn input_in_bulk() -> bool {
    virtio::stdin_active()
}

/// How many stdin bytes can be read now without waiting (FIONREAD).
pub fn input_available() -> usize {
    if virtio::stdin_active() {
        return virtio::available();
    }
    usize::from(STATE.lock().pending.is_some())
}

/// Whether the next stdin input will raise an interrupt. When it will, an idle CPU
/// waiting for input may halt until the next interrupt instead of polling the
/// console. Call it right before halting: it arms the interrupt, which is off
/// while the program runs (an interrupt per arrival would slow a busy reader).
pub fn input_wakes_cpu() -> bool {
    virtio::input_wakes_cpu()
}

/// Whether stdin has a byte or end of file waiting (nothing is consumed).
pub fn input_ready() -> bool {
    if virtio::stdin_active() {
        return virtio::input_ready();
    }
    let mut s = STATE.lock();
    if s.pending.is_some() || s.eof {
        return true;
    }
    match decode_input(&mut s) {
        Input::Byte(b) => {
            s.pending = Some(b);
            true
        }
        Input::Eof => true,
        Input::Empty => false,
    }
}

/// A counter that changes whenever stdin input (a byte or end of file) arrives.
pub fn input_generation() -> u64 {
    if virtio::stdin_active() {
        return virtio::generation();
    }
    STATE.lock().generation
}

/// Whether stdin reached end of file (and every byte before it was read).
pub fn input_eof() -> bool {
    if virtio::stdin_active() {
        return virtio::input_eof();
    }
    let s = STATE.lock();
    s.eof && s.pending.is_none()
}

fn decode_input(s: &mut State) -> Input {
    if s.eof {
        return Input::Eof;
    }
    loop {
        let Some(b) = uart::try_get() else { return Input::Empty };
        if s.raw {
            s.generation += 1;
            return Input::Byte(b);
        }
        if control_byte(s, b) {
            continue;
        }
        if s.in_escape {
            s.in_escape = false;
            match b {
                ESC => {
                    s.generation += 1;
                    return Input::Byte(ESC);
                }
                b'e' => {
                    s.eof = true;
                    s.generation += 1;
                    return Input::Eof;
                }
                b'w' => {
                    s.winsize_frame = Some((0, 0, false));
                    continue;
                }
                _ => continue,
            }
        } else if b == ESC {
            s.in_escape = true;
        } else {
            s.generation += 1;
            return Input::Byte(b);
        }
    }
}

/// Consumes `b` when it belongs to a window-size frame (`FF 'w' ROWS ';' COLS
/// '\n'`); a malformed frame is dropped at its first bad byte.
fn control_byte(s: &mut State, b: u8) -> bool {
    let Some((rows, cols, semi)) = s.winsize_frame else { return false };
    s.winsize_frame = match b {
        b'0'..=b'9' if !semi => Some((rows.saturating_mul(10).saturating_add(u32::from(b - b'0')), cols, false)),
        b'0'..=b'9' => Some((rows, cols.saturating_mul(10).saturating_add(u32::from(b - b'0')), true)),
        b';' if !semi => Some((rows, cols, true)),
        b'\n' => {
            if let (Ok(r), Ok(c)) = (u16::try_from(rows), u16::try_from(cols)) {
                s.winsize = Some((r, c));
                s.generation += 1;
            }
            None
        }
        _ => None,
    };
    true
}

/// The window size the host last sent on the serial line (`FF 'w'`), once: None
/// when it sent none since the last call.
pub fn take_winsize() -> Option<(u16, u16)> {
    STATE.lock().winsize.take()
}

struct KernelWriter;

impl fmt::Write for KernelWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write(Channel::Kernel, s.as_bytes());
        Ok(())
    }
}

/// The CPU printing a kernel message, or `usize::MAX`: a message goes out in
/// pieces (one per formatted argument), and two CPUs logging at once cut each
/// other's lines ("CPU [DEBUG] kernel ready after 1 online").
static PRINTING: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(usize::MAX);

/// How long a CPU waits for another one's message before printing anyway (a CPU
/// that stopped in the middle of one, in a crash, must not silence the others).
const PRINT_WAIT_SPINS: u32 = 50_000_000;

/// Prints formatted text on the kernel channel, whole with respect to other CPUs.
pub fn kprint(args: fmt::Arguments<'_>) {
    use core::sync::atomic::Ordering;
    let me = elfin_arch::cpu_id();
    // The same CPU already printing is an interrupt or a fault in the middle of
    // its message: print at once rather than wait for itself (and leave the
    // message's end to release the channel).
    let mut acquired = false;
    if PRINTING.load(Ordering::Relaxed) != me {
        for _ in 0..PRINT_WAIT_SPINS {
            if PRINTING.compare_exchange_weak(usize::MAX, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                acquired = true;
                break;
            }
            core::hint::spin_loop();
        }
    }
    let _ = fmt::Write::write_fmt(&mut KernelWriter, args);
    if acquired {
        PRINTING.store(usize::MAX, Ordering::Release);
    }
}

/// Prints a message and stops, for failures before the kernel is up.
pub fn early_panic(msg: &str) -> ! {
    uart::init();
    write(Channel::Kernel, msg.as_bytes());
    write(Channel::Kernel, b"\n");
    report_crash();
    crate::power_off(125)
}
