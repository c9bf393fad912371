//! seccomp: a thread's strict mode or stack of classic-BPF filters
//! (`elfin_kcore::seccomp` checks and runs them), inherited by clone and fork
//! and kept across execve, and the verdict on each system call. Until some
//! thread installs a mode, a system call pays nothing for all this (the
//! general path tests a flag; the identity calls skip it until then).
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use elfin_kcore::seccomp::{self as bpf, Data, Insn};
use elfin_shim::errno::Errno;

use super::{Ctx, Thread};

/// Some thread has a seccomp mode: every system call asks [`verdict`] first.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Marks a mode installed: every call takes the general path, which asks.
fn activate() {
    if !ACTIVE.swap(true, Ordering::SeqCst) {
        crate::syscall::general_only();
    }
}

/// Whether system calls must be checked (one load).
#[inline(always)]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// SECCOMP_MODE_DISABLED.
pub const MODE_DISABLED: u8 = 0;
/// SECCOMP_MODE_STRICT: read, write, exit and rt_sigreturn only.
pub const MODE_STRICT: u8 = 1;
/// SECCOMP_MODE_FILTER.
pub const MODE_FILTER: u8 = 2;

/// One installed filter, linked to those installed before it.
pub struct Filter {
    prog: Vec<Insn>,
    /// Its length toward the limit of a path.
    len: usize,
    prev: Option<Arc<Filter>>,
}

impl Filter {
    fn chain(self: &Arc<Filter>) -> impl Iterator<Item = &Arc<Filter>> {
        core::iter::successors(Some(self), |f| f.prev.as_ref())
    }
}

impl Drop for Filter {
    /// Frees the filters below this one in a loop: a chain can be thousands
    /// long, too deep for a recursive drop on a kernel stack.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(f) = next {
            next = match Arc::try_unwrap(f) {
                Ok(mut inner) => inner.prev.take(),
                Err(_) => None,
            };
        }
    }
}

/// A thread's seccomp state.
#[derive(Clone, Default)]
pub struct Seccomp {
    /// MODE_*.
    pub mode: u8,
    /// The newest filter (filter mode).
    pub filter: Option<Arc<Filter>>,
}

impl Seccomp {
    /// Number of filters installed (`Seccomp_filters` in /proc/PID/status).
    pub fn filters(&self) -> usize {
        self.filter.as_ref().map_or(0, |f| f.chain().count())
    }
}

/// What a checked system call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It runs.
    Allow,
    /// It does not run and returns this (a negated errno, or 0).
    Return(u64),
    /// It does not run; SIGSYS is forced on the thread with this si_errno.
    Trap(u16),
    /// The thread ends, killed by this signal (the process too when it is its last).
    KillThread(u32),
    /// The process ends, killed by SIGSYS.
    KillProcess,
}

/// SIGSYS.
pub const SIGSYS: u32 = 31;
const SIGKILL: u32 = 9;
/// Largest errno a filter can return (MAX_ERRNO).
const MAX_ERRNO: u32 = 4095;

/// The verdict on call `nr` with `args` at `ip` for thread `t`; `strict_ok`
/// says whether strict mode allows the call (asked in strict mode only).
pub fn verdict(t: &Thread, nr: usize, args: [u64; 6], ip: u64, strict_ok: impl FnOnce() -> bool) -> Verdict {
    let s = t.misc.lock().seccomp.clone();
    match s.mode {
        MODE_STRICT if !strict_ok() => Verdict::KillThread(SIGKILL),
        MODE_FILTER => {
            let Some(f) = s.filter else { return Verdict::Allow };
            let d = Data { nr: nr as i32, arch: elfin_arch::AUDIT_ARCH, instruction_pointer: ip, args };
            let v = bpf::combine(f.chain().map(|f| bpf::run(&f.prog, &d)));
            let data = v & bpf::RET_DATA;
            match v & bpf::RET_ACTION_FULL {
                bpf::RET_ALLOW | bpf::RET_LOG => Verdict::Allow,
                bpf::RET_ERRNO => Verdict::Return((-i64::from(data.min(MAX_ERRNO))) as u64),
                // No tracer and no listener: the call fails with ENOSYS, as Linux's does.
                bpf::RET_TRACE | bpf::RET_USER_NOTIF => Verdict::Return((-i64::from(Errno::ENOSYS.as_i32())) as u64),
                bpf::RET_TRAP => Verdict::Trap(data as u16),
                bpf::RET_KILL_THREAD => Verdict::KillThread(SIGSYS),
                // KILL_PROCESS, and any action Linux does not know.
                _ => Verdict::KillProcess,
            }
        }
        _ => Verdict::Allow,
    }
}

/// Enters strict mode (EINVAL when a filter is installed).
pub fn set_strict(cx: &Ctx) -> Result<(), Errno> {
    let mut m = cx.thread.misc.lock();
    if m.seccomp.mode != MODE_DISABLED && m.seccomp.mode != MODE_STRICT {
        return Err(Errno::EINVAL);
    }
    m.seccomp.mode = MODE_STRICT;
    drop(m);
    activate();
    Ok(())
}

/// How a filter is installed.
pub struct Install {
    /// SECCOMP_FILTER_FLAG_TSYNC: every thread of the process gets it.
    pub tsync: bool,
    /// SECCOMP_FILTER_FLAG_TSYNC_ESRCH: a thread that cannot take it fails the
    /// call with ESRCH instead of its tid.
    pub tsync_esrch: bool,
}

/// Checks `prog` and stacks it on the calling thread's filters (on every
/// thread's with TSYNC). Ok(0), or with TSYNC the tid of a thread whose filters
/// are not an ancestor of the caller's.
pub fn install(cx: &Ctx, prog: Vec<Insn>, how: Install) -> Result<u64, Errno> {
    bpf::check(&prog).map_err(|_| Errno::EINVAL)?;
    let me = &cx.thread;
    // Every thread of the process is held still by the thread list's lock while
    // TSYNC looks at and changes their filters.
    let threads = cx.proc.threads.lock();
    let cur = me.misc.lock().seccomp.clone();
    if cur.mode != MODE_DISABLED && cur.mode != MODE_FILTER {
        return Err(Errno::EINVAL);
    }
    if how.tsync {
        for t in threads.iter().filter(|t| !Arc::ptr_eq(t, me)) {
            let theirs = t.misc.lock().seccomp.clone();
            let ancestor = match (theirs.mode, &theirs.filter, &cur.filter) {
                (MODE_DISABLED, _, _) | (MODE_FILTER, None, _) => true,
                (MODE_FILTER, Some(f), Some(mine)) => mine.chain().any(|g| Arc::ptr_eq(g, f)),
                _ => false,
            };
            if !ancestor {
                return if how.tsync_esrch { Err(Errno::ESRCH) } else { Ok(t.tid() as u64) };
            }
        }
    }
    // Each filter counts its translated length, and four more, toward the limit
    // of a path (as Linux counts its eBPF translation).
    let len = bpf::translated_len(&prog);
    let total = cur.filter.as_ref().map_or(0, |f| f.chain().map(|f| f.len.saturating_add(4)).sum::<usize>());
    if total.saturating_add(len) > bpf::MAX_INSNS_PER_PATH {
        return Err(Errno::ENOMEM);
    }
    let new = Arc::new(Filter { prog, len, prev: cur.filter.clone() });
    let set = |t: &Thread| {
        let mut m = t.misc.lock();
        m.seccomp.mode = MODE_FILTER;
        m.seccomp.filter = Some(new.clone());
    };
    if how.tsync {
        threads.iter().for_each(|t| set(t));
    } else {
        set(me);
    }
    drop(threads);
    activate();
    Ok(0)
}
