//! /dev/kmsg: the kernel log as records. Each read returns one record,
//! `prio,seq,usec,-;text\n` (non-printing bytes as `\xNN`), from where this open
//! file is (EINVAL, and the record passed over, when the buffer is too small);
//! EPIPE once when records were dropped before it read them; each write
//! is one record, with an optional `<N>` priority prefix (facility user and level
//! warning when none is given, as Linux).
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::StatInfo;

use super::file::{FileLike, OpenFile, POLLERR, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM};
use super::{stat_of, Inode};
use crate::klog::{self, Record, LOG_WQ};
use crate::sync::Mutex;
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// Facility `user`, level `warning` (default_message_loglevel): a write's
/// priority without a prefix.
const DEFAULT_PRIO: u32 = (1 << 3) | 4;

/// An open /dev/kmsg.
pub struct Kmsg {
    node: Arc<dyn Inode>,
    /// The next record this file reads.
    seq: Mutex<u64>,
}

/// Opens /dev/kmsg through `node`, reading from the oldest record kept.
pub fn open(node: Arc<dyn Inode>) -> Arc<dyn FileLike> {
    let first = klog::with_log(|log| log.first_seq());
    Arc::new(Kmsg { node, seq: Mutex::new(first) })
}

fn format(r: &Record, out: &mut Vec<u8>) {
    use core::fmt::Write;
    let mut head = alloc::string::String::new();
    let _ = write!(head, "{},{},{},-;", r.prio, r.seq, r.ts_ns / 1000);
    out.extend_from_slice(head.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in &r.text {
        if b == b'\\' || !(0x20..0x7f).contains(&b) && b != b'\t' {
            let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'x', hex(b >> 4), hex(b & 15)]);
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
}

/// `<N>` at the start of a write: the priority and the rest of the text.
fn split_prio(data: &[u8]) -> (u32, &[u8]) {
    let Some(rest) = data.strip_prefix(b"<") else { return (DEFAULT_PRIO, data) };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (num, after) = rest.split_at(digits);
    match (after.strip_prefix(b">"), core::str::from_utf8(num).ok().and_then(|n| n.parse::<u32>().ok())) {
        (Some(text), Some(n)) if digits > 0 => {
            // No facility (kernel) from a program means user.
            let facility = if n >> 3 == 0 { 1 } else { n >> 3 };
            ((facility << 3) | (n & 7), text)
        }
        _ => (DEFAULT_PRIO, data),
    }
}

impl FileLike for Kmsg {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let line = wait::wait_for(cx, &[&LOG_WQ], None, Restart::Sys, || {
            let mut seq = self.seq.lock();
            klog::with_log(|log| {
                if *seq < log.first_seq() {
                    // Records this reader never saw were dropped.
                    *seq = log.first_seq();
                    return Some(Err(Errno::EPIPE));
                }
                match log.get(*seq) {
                    Some(r) => {
                        let mut line = Vec::new();
                        format(r, &mut line);
                        // Passed over even when it does not fit (devkmsg_read).
                        *seq += 1;
                        if line.len() > buf.len() {
                            return Some(Err(Errno::EINVAL));
                        }
                        Some(Ok(line))
                    }
                    None if f.nonblocking() => Some(Err(Errno::EAGAIN)),
                    None => None,
                }
            })
        })??;
        if let Some(dst) = buf.get_mut(..line.len()) {
            dst.copy_from_slice(&line);
        }
        Ok(line.len())
    }

    fn write(&self, _cx: &Ctx, _f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        if data.len() > klog::LINE_MAX {
            return Err(Errno::EINVAL);
        }
        let (prio, text) = split_prio(data);
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        klog::append(prio, text, true);
        Ok(data.len())
    }

    fn poll(&self) -> u32 {
        let seq = *self.seq.lock();
        klog::with_log(|log| {
            if seq < log.first_seq() {
                POLLIN | POLLRDNORM | POLLERR | POLLPRI | POLLOUT | POLLWRNORM
            } else if seq < log.next_seq() {
                POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM
            } else {
                POLLOUT | POLLWRNORM
            }
        })
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&LOG_WQ)
    }

    /// SEEK_SET 0: the oldest record; SEEK_DATA: the first after the last
    /// syslog CLEAR; SEEK_END: past the newest. Any other offset is ESPIPE.
    fn seek(&self, _f: &OpenFile, off: i64, whence: i32) -> Result<u64, Errno> {
        if off != 0 {
            return Err(Errno::ESPIPE);
        }
        let to = klog::with_log(|log| match whence {
            0 => Ok(log.first_seq()),
            3 => Ok(log.clear_seq()),
            2 => Ok(log.next_seq()),
            _ => Err(Errno::EINVAL),
        })?;
        *self.seq.lock() = to;
        Ok(0)
    }

    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
