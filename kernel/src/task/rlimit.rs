//! Resource limits that the kernel enforces where the checks live below the
//! system-call layer: RLIMIT_FSIZE (SIGXFSZ and EFBIG for writes to regular
//! files and their growth, whichever call writes) and RLIMIT_NPROC (new tasks
//! of a user). RLIMIT_CPU is checked with the CPU timers (task/cputimer.rs),
//! RLIMIT_AS, RLIMIT_DATA and RLIMIT_STACK with the mappings (syscall/mm.rs,
//! mem/vm.rs).
use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::{SIGXFSZ, SI_USER};
use elfin_shim::uapi::Siginfo;

use elfin_shim::uapi::rlimit::{RLIMIT_FSIZE, RLIMIT_NPROC, RLIM_INFINITY};

use super::caps::{CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
use super::{sched, signal, table, Ctx};

/// RLIMIT_NPROC at clone: EAGAIN when the caller's real user already has as many
/// tasks (threads, and zombies not yet reaped) as the limit allows. The root
/// user and holders of CAP_SYS_RESOURCE or CAP_SYS_ADMIN are exempt.
pub fn nproc_check(cx: &Ctx) -> Result<(), Errno> {
    let limit = cx.proc.rlimit(RLIMIT_NPROC);
    if limit == RLIM_INFINITY {
        return Ok(());
    }
    let uid = {
        let c = cx.proc.cred.lock();
        if c.uid[0] == 0 || c.capable(CAP_SYS_RESOURCE) || c.capable(CAP_SYS_ADMIN) {
            return Ok(());
        }
        c.uid[0]
    };
    let mut tasks = 0u64;
    for p in table::processes() {
        if p.cred.lock().uid[0] == uid {
            tasks += (p.threads.lock().len() as u64).max(1);
        }
    }
    if tasks >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

fn fsize_limit() -> u64 {
    sched::try_current().map(|t| t.process.rlimit(RLIMIT_FSIZE)).unwrap_or(u64::MAX)
}

/// Whether the running thread's writes have a file-size limit (RLIMIT_FSIZE).
pub fn fsize_limited() -> bool {
    fsize_limit() != u64::MAX
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
