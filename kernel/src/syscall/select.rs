//! select(2) and pselect6(2): descriptor bitmaps over the same readiness that
//! poll reports, with Linux's timeout rules (the time left is written back) and
//! pselect6's temporary signal mask.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::{Timespec, Timeval};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// POLLIN_SET: what makes a descriptor "readable" for select.
const IN_SET: u32 = POLLRDNORM | 0x80 /* POLLRDBAND */ | POLLIN | POLLHUP | POLLERR;
/// POLLOUT_SET.
const OUT_SET: u32 = 0x200 /* POLLWRBAND */ | POLLWRNORM | POLLOUT | POLLERR;
/// POLLEX_SET.
const EX_SET: u32 = 0x2 /* POLLPRI */;

/// A timeout as nanoseconds, saturating (a huge timeout waits "forever", as
/// Linux's timespec64_add_safe makes it); EINVAL for a negative or unnormalized one.
pub fn timeout_ns(sec: i64, nsec: i64) -> Result<u64, Errno> {
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
}

/// How the caller's timeout is written back with the time left.
#[derive(Clone, Copy)]
pub enum TimeoutKind {
    /// `struct timeval` (select).
    Timeval,
    /// `struct timespec` (pselect6, ppoll).
    Timespec,
}

/// Reads a timeout argument (NULL: wait forever) as a monotonic deadline.
pub fn read_timeout(cx: &Ctx, a: UAddr, kind: TimeoutKind) -> Result<Option<u64>, Errno> {
    if a.is_null() {
        return Ok(None);
    }
    let ns = match kind {
        TimeoutKind::Timeval => {
            let tv: Timeval = cx.read_val(a)?;
            // kern_select carries whole seconds out of tv_usec before checking.
            let sec = tv.tv_sec.checked_add(tv.tv_usec / 1_000_000).ok_or(Errno::EINVAL)?;
            timeout_ns(sec, (tv.tv_usec % 1_000_000).saturating_mul(1000))?
        }
        TimeoutKind::Timespec => {
            let ts: Timespec = cx.read_val(a)?;
            timeout_ns(ts.tv_sec, ts.tv_nsec)?
        }
    };
    Ok(Some(crate::time::monotonic_ns().saturating_add(ns)))
}

/// Writes the time left until `deadline` back to the caller's timeout (Linux's
/// poll_select_finish; a failed copy is ignored, as there).
pub fn write_back_timeout(cx: &Ctx, a: UAddr, kind: TimeoutKind, deadline: Option<u64>) {
    let Some(d) = deadline else { return };
    if a.is_null() {
        return;
    }
    let left = d.saturating_sub(crate::time::monotonic_ns());
    let _ = match kind {
        TimeoutKind::Timeval => cx.write_val(a, &Timeval::from_nanos(left)),
        TimeoutKind::Timespec => cx.write_val(a, &Timespec::from_nanos(left)),
    };
}

/// The three descriptor sets of a select call.
struct Sets {
    words: usize,
    sets: [Option<Vec<u64>>; 3],
}

fn read_set(cx: &Ctx, a: UAddr, words: usize) -> Result<Option<Vec<u64>>, Errno> {
    if a.is_null() {
        return Ok(None);
    }
    let mut bytes = alloc::vec![0u8; words * 8];
    cx.read_bytes(a, &mut bytes)?;
    Ok(Some(bytes.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect()))
}

fn write_set(cx: &Ctx, a: UAddr, set: &[u64]) -> Result<(), Errno> {
    let bytes: Vec<u8> = set.iter().flat_map(|w| w.to_ne_bytes()).collect();
    cx.write_bytes(a, &bytes)
}

/// select(2) and pselect6(2) after their timeout and mask are taken care of.
#[allow(clippy::too_many_arguments)]
fn core_select(
    cx: &Ctx,
    nfds: i32,
    addrs: [UAddr; 3],
    deadline: Option<u64>,
    timeout: UAddr,
    kind: TimeoutKind,
) -> SysResult {
    if nfds < 0 {
        return Err(Errno::EINVAL);
    }
    // Linux clamps n to the size of the descriptor table (at least 64 slots, grown
    // in powers of two); a set bit of a closed descriptor below that is EBADF.
    let cap = cx.files().lock().len().max(64).next_power_of_two();
    let n = (nfds as usize).min(cap);
    let words = n.div_ceil(64);
    let mut s = Sets { words, sets: [None, None, None] };
    for (slot, a) in s.sets.iter_mut().zip(addrs) {
        *slot = read_set(cx, a, words)?;
    }
    // The descriptors named in any set.
    let mut files: Vec<(usize, Arc<OpenFile>)> = Vec::new();
    for fd in 0..n {
        let (w, b) = (fd / 64, 1u64 << (fd % 64));
        let named = s.sets.iter().flatten().any(|set| set.get(w).is_some_and(|x| x & b != 0));
        if named {
            files.push((fd, cx.fd(fd as i32)?));
        }
    }
    let queues: Vec<&WaitQueue> = files.iter().filter_map(|(_, f)| f.file.wait_queue()).collect();
    let scan = || -> Option<(u64, [Vec<u64>; 3])> {
        let mut out = [alloc::vec![0u64; s.words], alloc::vec![0u64; s.words], alloc::vec![0u64; s.words]];
        let mut count = 0u64;
        for (fd, f) in &files {
            let (w, b) = (fd / 64, 1u64 << (fd % 64));
            let ready = f.file.poll();
            for (i, want) in [IN_SET, OUT_SET, EX_SET].into_iter().enumerate() {
                let asked = s.sets[i].as_ref().is_some_and(|set| set.get(w).is_some_and(|x| x & b != 0));
                if asked && ready & want != 0 {
                    if let Some(word) = out[i].get_mut(w) {
                        *word |= b;
                    }
                    count += 1;
                }
            }
        }
        (count > 0).then_some((count, out))
    };
    let r = wait::wait_for(cx, &queues, deadline, Restart::NoHand, scan);
    write_back_timeout(cx, timeout, kind, deadline);
    let (count, out) = match r {
        Ok(x) => x,
        Err(Errno::ETIMEDOUT) => (0, [alloc::vec![0u64; words], alloc::vec![0u64; words], alloc::vec![0u64; words]]),
        Err(e) => return Err(e),
    };
    for (i, a) in addrs.into_iter().enumerate() {
        if !a.is_null() {
            write_set(cx, a, &out[i])?;
        }
    }
    Ok(count)
}

/// select(2).
pub fn select(cx: &Ctx, nfds: i32, r: UAddr, w: UAddr, e: UAddr, timeout: UAddr) -> SysResult {
    let deadline = read_timeout(cx, timeout, TimeoutKind::Timeval)?;
    core_select(cx, nfds, [r, w, e], deadline, timeout, TimeoutKind::Timeval)
}

/// pselect6(2): the sixth argument points to `{ const sigset_t *ss; size_t ss_len; }`.
pub fn pselect6(cx: &Ctx, nfds: i32, r: UAddr, w: UAddr, e: UAddr, timeout: UAddr, sig: UAddr) -> SysResult {
    let deadline = read_timeout(cx, timeout, TimeoutKind::Timespec)?;
    let (mask, size) = if sig.is_null() {
        (UAddr(0), 0)
    } else {
        cx.read_val::<[u64; 2]>(sig).map(|[m, s]| (UAddr(m), s as usize))?
    };
    super::fs::set_temp_mask(cx, mask, size)?;
    let res = core_select(cx, nfds, [r, w, e], deadline, timeout, TimeoutKind::Timespec);
    super::fs::restore_temp_mask(cx, &res);
    res
}
