//! Resource limits that the kernel enforces where the checks live below the
//! system-call layer: RLIMIT_FSIZE (SIGXFSZ and EFBIG for writes to regular
//! files and their growth, whichever call writes).
use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::{SIGXFSZ, SI_USER};
use elfin_shim::uapi::Siginfo;

use super::{sched, signal};

/// RLIMIT_FSIZE.
pub const RLIMIT_FSIZE: u32 = 1;

fn fsize_limit() -> u64 {
    sched::try_current().map(|t| t.process.rlimit(RLIMIT_FSIZE)).unwrap_or(u64::MAX)
}

/// A write of `count` bytes at `pos` of a regular file by the running thread:
/// the count cut to the file-size limit, or EFBIG (with SIGXFSZ) when `pos` is
/// at or past it (Linux's generic_write_check_limits).
pub fn fsize_check(pos: u64, count: u64) -> Result<u64, Errno> {
    let limit = fsize_limit();
    if limit == u64::MAX || count == 0 {
        return Ok(count);
    }
    if pos >= limit {
        xfsz();
        return Err(Errno::EFBIG);
    }
    Ok(count.min(limit - pos))
}

/// Growing a regular file to `size` (truncate, fallocate): EFBIG with SIGXFSZ
/// past the limit (inode_newsize_ok).
pub fn fsize_grow(size: u64) -> Result<(), Errno> {
    let limit = fsize_limit();
    if limit != u64::MAX && size > limit {
        xfsz();
        return Err(Errno::EFBIG);
    }
    Ok(())
}

fn xfsz() {
    let Some(t) = sched::try_current() else { return };
    let uid = t.process.cred.lock().uid[0];
    let info = Siginfo::kill(SIGXFSZ, SI_USER, t.process.pid, uid);
    signal::send_to_thread(&t, SIGXFSZ as u32, info);
}
