//! select(2) and pselect6(2): descriptor bitmaps over the same readiness as
//! poll (Linux's POLLIN_SET, POLLOUT_SET and POLLEX_SET), the remaining time
//! written back as Linux does.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::{Timespec, Timeval};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::OpenFile;
use crate::task::{wait, Ctx, Restart, WaitQueue};

const POLLIN_SET: u32 = 0x1 | 0x40 | 0x80 | 0x10 | 0x8;
const POLLOUT_SET: u32 = 0x4 | 0x100 | 0x200 | 0x8;
const POLLEX_SET: u32 = 0x2;

/// A descriptor bitmap as read from the program (None: a NULL pointer).
type FdSet = Option<Vec<u64>>;

fn read_set(cx: &Ctx, a: UAddr, words: usize) -> Result<Option<Vec<u64>>, Errno> {
    if a.is_null() {
        return Ok(None);
    }
    let mut v = alloc::vec![0u64; words];
    for (i, w) in v.iter_mut().enumerate() {
        *w = cx.read_val(UAddr(a.0 + i as u64 * 8))?;
    }
    Ok(Some(v))
}

fn write_set(cx: &Ctx, a: UAddr, set: &Option<Vec<u64>>) -> Result<(), Errno> {
    if let Some(s) = set {
        for (i, w) in s.iter().enumerate() {
            cx.write_val(UAddr(a.0 + i as u64 * 8), w)?;
        }
    }
    Ok(())
}

fn bit(set: &Option<Vec<u64>>, fd: usize) -> bool {
    set.as_ref().and_then(|s| s.get(fd / 64)).map(|w| w & (1 << (fd % 64)) != 0).unwrap_or(false)
}

fn set_bit(set: &mut Option<Vec<u64>>, fd: usize) {
    if let Some(w) = set.as_mut().and_then(|s| s.get_mut(fd / 64)) {
        *w |= 1 << (fd % 64);
    }
}

/// The common part: `timeout_ns` None blocks; returns the ready count.
fn do_select(
    cx: &Ctx,
    nfds: i32,
    r: UAddr,
    w: UAddr,
    e: UAddr,
    timeout_ns: Option<u64>,
    how: Restart,
) -> Result<(u64, u64), Errno> {
    if nfds < 0 {
        return Err(Errno::EINVAL);
    }
    // Linux clips nfds to the size of the descriptor table.
    let n = (nfds as usize).min(cx.files().lock().len().max(1).next_multiple_of(64));
    let words = n.div_ceil(64);
    let (ri, wi, ei) = (read_set(cx, r, words)?, read_set(cx, w, words)?, read_set(cx, e, words)?);
    let mut files: Vec<(usize, Arc<OpenFile>)> = Vec::new();
    for fd in 0..n {
        if bit(&ri, fd) || bit(&wi, fd) || bit(&ei, fd) {
            files.push((fd, cx.fd(fd as i32)?));
        }
    }
    let start = crate::time::monotonic_ns();
    let deadline = timeout_ns.map(|t| start.saturating_add(t));
    let queues: Vec<&WaitQueue> = files.iter().filter_map(|(_, f)| f.file.wait_queue()).collect();
    let zero = |s: &Option<Vec<u64>>| s.as_ref().map(|v| alloc::vec![0u64; v.len()]);
    let scan = || -> (u64, FdSet, FdSet, FdSet) {
        let (mut ro, mut wo, mut eo) = (zero(&ri), zero(&wi), zero(&ei));
        let mut count = 0;
        for (fd, f) in &files {
            let ev = f.file.poll();
            for (want, ok, out) in [
                (bit(&ri, *fd), ev & POLLIN_SET != 0, &mut ro),
                (bit(&wi, *fd), ev & POLLOUT_SET != 0, &mut wo),
                (bit(&ei, *fd), ev & POLLEX_SET != 0, &mut eo),
            ] {
                if want && ok {
                    set_bit(out, *fd);
                    count += 1;
                }
            }
        }
        (count, ro, wo, eo)
    };
    let res = wait::wait_for(cx, &queues, deadline, how, || {
        let s = scan();
        (s.0 > 0).then_some(s)
    });
    let (count, ro, wo, eo) = match res {
        Ok(s) => s,
        Err(Errno::ETIMEDOUT) => (0, zero(&ri), zero(&wi), zero(&ei)),
        Err(err) => return Err(err),
    };
    write_set(cx, r, &ro)?;
    write_set(cx, w, &wo)?;
    write_set(cx, e, &eo)?;
    let left = deadline.map(|d| d.saturating_sub(crate::time::monotonic_ns())).unwrap_or(0);
    Ok((count, left))
}

/// select(2).
pub fn select(cx: &Ctx, nfds: i32, r: UAddr, w: UAddr, e: UAddr, timeout: UAddr) -> SysResult {
    let t = if timeout.is_null() {
        None
    } else {
        let tv: Timeval = cx.read_val(timeout)?;
        if tv.tv_sec < 0 || tv.tv_usec < 0 {
            return Err(Errno::EINVAL);
        }
        // Linux normalises microseconds beyond a second.
        Some((tv.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add((tv.tv_usec as u64).saturating_mul(1000)))
    };
    let (n, left) = do_select(cx, nfds, r, w, e, t, Restart::NoHand)?;
    if !timeout.is_null() {
        let tv = Timeval { tv_sec: (left / 1_000_000_000) as i64, tv_usec: ((left % 1_000_000_000) / 1000) as i64 };
        cx.write_val(timeout, &tv)?;
    }
    Ok(n)
}

/// pselect6(2): a timespec and `{const sigset_t *ss; size_t ss_len}`.
pub fn pselect6(cx: &Ctx, nfds: i32, r: UAddr, w: UAddr, e: UAddr, timeout: UAddr, sig: UAddr) -> SysResult {
    let t = if timeout.is_null() {
        None
    } else {
        let ts: Timespec = cx.read_val(timeout)?;
        Some(ts.as_nanos().ok_or(Errno::EINVAL)?)
    };
    let (mask, size) = if sig.is_null() {
        (UAddr(0), 8usize)
    } else {
        let v: [u64; 2] = cx.read_val(sig)?;
        (UAddr(v[0]), v[1] as usize)
    };
    let temp = super::fs::set_temp_mask(cx, mask, size)?;
    let r0 = do_select(cx, nfds, r, w, e, t, Restart::NoHand);
    let res = r0.map(|(n, _)| n);
    if temp {
        super::fs::restore_temp_mask(cx, &res);
    }
    if let (Ok((_, left)), false) = (&r0, timeout.is_null()) {
        cx.write_val(timeout, &Timespec::from_nanos(*left))?;
    }
    res
}
