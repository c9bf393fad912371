//! Kernel messages: `kprintln!` and the `log` facade, both on the kernel channel,
//! and the kernel log that dmesg reads (syslog(2), /dev/kmsg): the messages
//! printed since the clock started, and what programs write to /dev/kmsg, as
//! records with a priority, a sequence number and a time.
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sync::Mutex;
use crate::task::WaitQueue;

/// Prints a line on the kernel channel.
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::klog::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line on the kernel channel without keeping it in the kernel log
/// (strace lines: a report to the host, not a kernel message).
macro_rules! kreport {
    ($($arg:tt)*) => {
        $crate::klog::print_only(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints formatted text on the kernel channel only.
pub fn print_only(args: core::fmt::Arguments<'_>) {
    elfin_plat::console::kprint(args);
}

/// Prints formatted text on the kernel channel, and keeps it in the kernel log.
/// These are elfin's reports to the host (unsupported calls, strace lines, the
/// leak check), printed whatever the console level.
pub fn print(args: core::fmt::Arguments<'_>) {
    elfin_plat::console::kprint(args);
    keep(KERNEL_INFO, args);
}

/// The kernel's warnings and errors (the `log` facade) of a level below this are
/// printed (Linux's console_loglevel, 7 by default); syslog(2) sets it. A level
/// the host asked for (`--log-level` above warnings) prints all it enables.
static CONSOLE_LEVEL: AtomicUsize = AtomicUsize::new(7);
/// The level CONSOLE_OFF saved, for CONSOLE_ON (0: none saved).
static SAVED_LEVEL: AtomicUsize = AtomicUsize::new(0);
/// The lowest level CONSOLE_LEVEL and CONSOLE_OFF set (Linux's
/// minimum_console_loglevel): errors and worse still reach the console.
const MIN_CONSOLE_LEVEL: usize = 1;

/// Whether a message of `level` reaches the console: always before the log
/// starts and after a crash (KEEPING off).
fn shown(level: u32) -> bool {
    !KEEPING.load(Ordering::Acquire) || (level as usize) < CONSOLE_LEVEL.load(Ordering::Relaxed)
}

/// SYSLOG_ACTION_CONSOLE_LEVEL.
pub fn set_console_level(level: usize) {
    CONSOLE_LEVEL.store(level.max(MIN_CONSOLE_LEVEL), Ordering::Relaxed);
    SAVED_LEVEL.store(0, Ordering::Relaxed);
}

/// SYSLOG_ACTION_CONSOLE_OFF: only the most urgent messages reach the console.
pub fn console_off() {
    if SAVED_LEVEL.load(Ordering::Relaxed) == 0 {
        SAVED_LEVEL.store(CONSOLE_LEVEL.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    CONSOLE_LEVEL.store(MIN_CONSOLE_LEVEL, Ordering::Relaxed);
}

/// SYSLOG_ACTION_CONSOLE_ON: the level before CONSOLE_OFF again.
pub fn console_on() {
    let saved = SAVED_LEVEL.swap(0, Ordering::Relaxed);
    if saved != 0 {
        CONSOLE_LEVEL.store(saved, Ordering::Relaxed);
    }
}

struct Logger;
static LEVEL: AtomicUsize = AtomicUsize::new(2);

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        (m.level() as usize) <= LEVEL.load(Ordering::Relaxed)
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            // Linux's levels: error 3, warning 4, info 6, debug 7.
            let level = match r.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                log::Level::Debug | log::Level::Trace => 7,
            };
            if shown(level) || LEVEL.load(Ordering::Relaxed) > 2 {
                elfin_plat::console::kprint(format_args!("[{}] {}\n", r.level(), r.args()));
            }
            keep(level, format_args!("{}\n", r.args()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the logger at the given level (1 = error … 5 = trace).
pub fn init(level: usize) {
    LEVEL.store(level, Ordering::Relaxed);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match level {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    });
}

/// Priority of the kernel's own messages: facility kern, level info.
const KERNEL_INFO: u32 = 6;
/// Most text the kernel log holds (records are dropped oldest first).
pub const LOG_BYTES: usize = 64 * 1024;
/// Longest message of one record (Linux's PRINTKRB_RECORD_MAX).
pub const LINE_MAX: usize = 1024;

/// One message of the kernel log.
pub struct Record {
    /// Sequence number, from 0.
    pub seq: u64,
    /// Monotonic time of the message, in ns.
    pub ts_ns: u64,
    /// `facility << 3 | level`.
    pub prio: u32,
    /// The message, without its newline.
    pub text: Vec<u8>,
}

/// The kernel log.
pub struct Log {
    records: VecDeque<Record>,
    bytes: usize,
    next_seq: u64,
    /// SYSLOG_ACTION_CLEAR: READ_ALL starts here.
    clear_seq: u64,
    /// SYSLOG_ACTION_READ's position.
    read_seq: u64,
}

impl Log {
    /// The oldest record's sequence number (the next one when empty).
    pub fn first_seq(&self) -> u64 {
        self.records.front().map_or(self.next_seq, |r| r.seq)
    }
    /// The next record's sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
    /// The record `seq`, if it is still kept.
    pub fn get(&self, seq: u64) -> Option<&Record> {
        let first = self.first_seq();
        self.records.get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }
    /// Where READ_ALL starts.
    pub fn clear_seq(&self) -> u64 {
        self.clear_seq.max(self.first_seq())
    }
}

static LOG: Mutex<Log> = Mutex::new(Log { records: VecDeque::new(), bytes: 0, next_seq: 0, clear_seq: 0, read_seq: 0 });
/// Readers of the kernel log wait here (syslog READ, /dev/kmsg).
pub static LOG_WQ: WaitQueue = WaitQueue::new();
/// The clock runs: records can be time-stamped.
static KEEPING: AtomicBool = AtomicBool::new(false);

/// Starts keeping messages (once the clock runs).
pub fn start_keeping() {
    KEEPING.store(true, Ordering::Release);
}

/// Stops keeping messages (a kernel crash: its report is only printed).
pub fn stop_keeping() {
    KEEPING.store(false, Ordering::Release);
}

/// Runs `f` on the kernel log.
pub fn with_log<R>(f: impl FnOnce(&mut Log) -> R) -> R {
    f(&mut LOG.lock())
}

/// A fixed buffer for formatting a kernel message without allocating.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Keeps a kernel message, one record per line. Never waits: a message printed
/// while the log is busy (a fault in the middle of an append) is only printed.
fn keep(prio: u32, args: core::fmt::Arguments<'_>) {
    if !KEEPING.load(Ordering::Acquire) {
        return;
    }
    let mut line = Line { buf: [0; 256], len: 0 };
    let _ = core::fmt::write(&mut line, args);
    let text = line.buf.get(..line.len).unwrap_or(&[]);
    for part in text.split(|&b| b == b'\n').filter(|p| !p.is_empty()) {
        append(prio, part, false);
    }
}

/// Adds a record (from the kernel, or written to /dev/kmsg); `wait` lets it wait
/// for the log's lock. Records that do not fit push out the oldest; a record is
/// dropped when memory is short.
pub fn append(prio: u32, text: &[u8], wait: bool) {
    let ts_ns = crate::time::monotonic_ns();
    let text = text.get(..LINE_MAX).unwrap_or(text);
    let mut copy = Vec::new();
    if copy.try_reserve_exact(text.len()).is_err() {
        return;
    }
    copy.extend_from_slice(text);
    let guard = if wait { Some(LOG.lock()) } else { LOG.try_lock() };
    let Some(mut log) = guard else { return };
    if log.records.try_reserve(1).is_err() {
        return;
    }
    while log.bytes + copy.len() > LOG_BYTES {
        let Some(old) = log.records.pop_front() else { break };
        log.bytes -= old.text.len();
    }
    let seq = log.next_seq;
    log.next_seq += 1;
    log.bytes += copy.len();
    log.records.push_back(Record { seq, ts_ns, prio, text: copy });
    drop(log);
    // Readers waiting for records (syslog READ, /dev/kmsg) are woken where that
    // is safe: not under a spin lock (a kernel message printed there is found at
    // the reader's next wake-up).
    if wait || crate::sync::may_sleep() {
        LOG_WQ.wake_all();
    }
}

/// The syslog(2) form of a record: `<prio>[seconds.micros] text\n`.
pub fn syslog_line(r: &Record, out: &mut Vec<u8>) {
    use core::fmt::Write;
    let us = r.ts_ns / 1000;
    let mut head = alloc::string::String::new();
    let _ = write!(head, "<{}>[{:5}.{:06}] ", r.prio, us / 1_000_000, us % 1_000_000);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&r.text);
    out.push(b'\n');
}

/// SYSLOG_ACTION_READ: takes whole records from the read position, up to `max`
/// bytes (at least one record's worth is not required: none fits, none taken).
pub fn take_unread(log: &mut Log, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut seq = log.read_seq.max(log.first_seq());
    while let Some(r) = log.get(seq) {
        let mut line = Vec::new();
        syslog_line(r, &mut line);
        if out.len() + line.len() > max {
            break;
        }
        out.extend_from_slice(&line);
        seq += 1;
    }
    log.read_seq = seq;
    out
}

/// Bytes SYSLOG_ACTION_READ would return (SYSLOG_ACTION_SIZE_UNREAD).
pub fn unread_bytes(log: &Log) -> usize {
    let mut n = 0;
    let mut line = Vec::new();
    for seq in log.read_seq.max(log.first_seq())..log.next_seq {
        if let Some(r) = log.get(seq) {
            line.clear();
            syslog_line(r, &mut line);
            n += line.len();
        }
    }
    n
}

/// SYSLOG_ACTION_READ_ALL: the newest whole records since the last clear that
/// fit in `max` bytes, oldest first.
pub fn read_all(log: &Log, max: usize) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut total = 0;
    for seq in (log.clear_seq()..log.next_seq).rev() {
        let Some(r) = log.get(seq) else { break };
        let mut line = Vec::new();
        syslog_line(r, &mut line);
        if total + line.len() > max {
            break;
        }
        total += line.len();
        lines.push(line);
    }
    lines.into_iter().rev().flatten().collect()
}

/// SYSLOG_ACTION_CLEAR.
pub fn clear(log: &mut Log) {
    log.clear_seq = log.next_seq;
}
