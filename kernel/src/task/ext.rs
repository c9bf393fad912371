//! Per-process and per-thread state of the less central interfaces (CPU-time
//! interval timers, POSIX timers, SysV semaphore undo, personality, I/O and
//! scheduling attributes), kept apart from the core objects so that each feature
//! keeps its state in one place. Fork, exec and exit call the hooks here.
//!
//! Locking: `Process::ext` is taken after the process's `state` and `threads`
//! (never the reverse) and before a timer's own state and the timer map.
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::ptimer::PosixTimer;
use super::Process;

/// Scheduling policies (include/uapi/linux/sched.h).
pub const SCHED_OTHER: u32 = 0;
/// First-in first-out real-time policy.
pub const SCHED_FIFO: u32 = 1;
/// Round-robin real-time policy.
pub const SCHED_RR: u32 = 2;
/// Batch policy.
pub const SCHED_BATCH: u32 = 3;
/// Idle policy.
pub const SCHED_IDLE: u32 = 5;
/// Deadline policy.
pub const SCHED_DEADLINE: u32 = 6;

/// State of a process beyond the core object.
#[derive(Default)]
pub struct ProcExt {
    /// ITIMER_VIRTUAL and ITIMER_PROF: (expiry in the clock's ns, interval ns).
    pub cpu_itimer: [Option<(u64, u64)>; 2],
    /// POSIX timers (timer_create), by id.
    pub timers: BTreeMap<i32, Arc<PosixTimer>>,
    /// The id the next timer gets.
    pub next_timer_id: i32,
    /// personality(2).
    pub personality: u32,
    /// ioprio_set(2) of the process (class << 13 | data; 0: none set).
    pub ioprio: u16,
    /// mlockall(2) flags in effect (MCL_FUTURE is kept; MCL_CURRENT acts at once).
    pub mlockall: u32,
    /// SysV semaphore adjustments undone at exit: (set id, semaphore) → adjustment.
    pub sem_undo: BTreeMap<(i32, u16), i32>,
    /// membarrier registrations (the REGISTER_* command bits).
    pub membarrier: u32,
    /// /proc/PID/oom_score_adj (-1000 to 1000).
    pub oom_score_adj: i16,
    /// The lowest oom_score_adj an unprivileged write may set (the last value a
    /// privileged writer set, as Linux's oom_score_adj_min).
    pub oom_score_adj_min: i16,
    /// PR_SET_THP_DISABLE (inherited by children, kept across execve).
    pub thp_disable: bool,
    /// Linux AIO contexts (io_setup), by id: they belong to the address space,
    /// so a child does not inherit them and execve ends them.
    pub aio: Vec<Option<Arc<crate::syscall::aio::AioCtx>>>,
}

impl ProcExt {
    /// The state a forked child starts with: personality, I/O priority and the
    /// OOM score adjustment are inherited; timers, locked-memory flags and
    /// semaphore undo are not.
    pub fn for_child(&self) -> ProcExt {
        ProcExt {
            personality: self.personality,
            ioprio: self.ioprio,
            membarrier: self.membarrier,
            oom_score_adj: self.oom_score_adj,
            oom_score_adj_min: self.oom_score_adj_min,
            thp_disable: self.thp_disable,
            ..ProcExt::default()
        }
    }

    /// Whether a CPU-time timer is armed (checked on every tick).
    pub fn cpu_timers_armed(&self) -> bool {
        self.cpu_itimer.iter().any(Option::is_some) || self.timers.values().any(|t| t.is_cpu_armed())
    }
}

/// Scheduling attributes of a thread (sched_setscheduler, sched_setattr).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    /// SCHED_* policy.
    pub policy: u32,
    /// Static priority (1–99 for the real-time policies, else 0).
    pub priority: u32,
    /// SCHED_RESET_ON_FORK.
    pub reset_on_fork: bool,
    /// SCHED_FLAG_* bits kept by sched_setattr (utilization clamps are refused).
    pub flags: u64,
    /// SCHED_DEADLINE runtime, deadline and period (ns).
    pub dl: (u64, u64, u64),
}

/// State of a thread beyond the core object.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadExt {
    /// Scheduling policy and priority.
    pub sched: SchedAttr,
    /// PR_SET_TIMERSLACK (None: the default).
    pub timer_slack: Option<u64>,
    /// PR_MCE_KILL policy: None for the system default, else early (true) or late.
    pub mce_kill: Option<bool>,
}

impl ThreadExt {
    /// What a new thread or process inherits (SCHED_RESET_ON_FORK resets a
    /// real-time policy to SCHED_OTHER).
    pub fn for_clone(&self) -> ThreadExt {
        let mut e = *self;
        if e.sched.reset_on_fork {
            if matches!(e.sched.policy, SCHED_FIFO | SCHED_RR | SCHED_DEADLINE) {
                e.sched.policy = SCHED_OTHER;
                e.sched.priority = 0;
                e.sched.dl = (0, 0, 0);
            }
            e.sched.reset_on_fork = false;
        }
        e
    }
}

/// execve: the saved and filesystem ids become the effective ones and the
/// capability sets are recomputed (no file capabilities); POSIX timers are
/// deleted; interval timers and semaphore undo stay.
pub fn on_exec(p: &Process) {
    {
        let mut c = p.cred.lock();
        c.uid[2] = c.uid[1];
        c.uid[3] = c.uid[1];
        c.gid[2] = c.gid[1];
        c.gid[3] = c.gid[1];
        let (r, e) = (c.uid[0], c.uid[1]);
        c.caps.after_exec(r, e);
    }
    let timers = {
        let mut e = p.ext.lock();
        // A new address space has no membarrier registrations; MCL_FUTURE ends.
        e.membarrier = 0;
        e.mlockall = 0;
        crate::syscall::aio::drop_all(core::mem::take(&mut e.aio));
        core::mem::take(&mut e.timers)
    };
    for t in timers.values() {
        t.disarm();
    }
}

/// The process ends: timers go, semaphore adjustments are applied.
pub fn on_exit(p: &Process) {
    let (timers, undo) = {
        let mut e = p.ext.lock();
        e.cpu_itimer = [None, None];
        crate::syscall::aio::drop_all(core::mem::take(&mut e.aio));
        (core::mem::take(&mut e.timers), core::mem::take(&mut e.sem_undo))
    };
    for t in timers.values() {
        t.disarm();
    }
    if !undo.is_empty() {
        crate::ipc::sem::apply_undo(p.pid, undo);
    }
}
