//! The table of ids: every live thread, every process until it is reaped, and the
//! ids still in use as a process group or session after their leader is gone.
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use crate::sync::Mutex;
use elfin_kcore::pid::{PidTable, PID_MAX};

use super::{Process, Thread};

#[derive(Default)]
struct Slot {
    thread: Option<Weak<Thread>>,
    process: Option<Arc<Process>>,
    /// Processes whose group or session id this is.
    group_refs: u32,
}

impl Slot {
    fn unused(&self) -> bool {
        self.thread.is_none() && self.process.is_none() && self.group_refs == 0
    }
}

static TABLE: Mutex<Option<PidTable<Slot>>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut PidTable<Slot>) -> R) -> R {
    let mut g = TABLE.lock();
    let t = g.get_or_insert_with(|| PidTable::new(PID_MAX));
    f(t)
}

/// /proc/sys/kernel/pid_max: new ids stay below it.
pub fn pid_max() -> i32 {
    with(|t| t.max())
}

/// Sets pid_max (the caller checked the range).
pub fn set_pid_max(max: i32) {
    with(|t| t.set_max(max))
}

/// Threads and processes made since boot (/proc/stat's `processes`).
static CREATED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Threads and processes made since boot.
pub fn created() -> u64 {
    CREATED.load(core::sync::atomic::Ordering::Relaxed)
}

/// Reserves a new id (for a thread, and for a process when it is its first thread).
pub fn alloc_id() -> Option<i32> {
    let id = with(|t| t.alloc(Slot::default()))?;
    CREATED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    Some(id)
}

/// Gives back an id reserved by [`alloc_id`] and never used.
pub fn free_unused(id: i32) {
    let freed = with(|t| t.get(id).map(|s| s.unused()).unwrap_or(false) && t.free(id).is_some());
    if freed {
        CREATED.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Records the thread and (for a new process) the process behind `id`.
pub fn register(id: i32, thread: &Arc<Thread>, process: Option<&Arc<Process>>) {
    with(|t| {
        if let Some(s) = t.get_mut(id) {
            s.thread = Some(Arc::downgrade(thread));
            if let Some(p) = process {
                s.process = Some(p.clone());
            }
        }
    })
}

fn release(id: i32, f: impl FnOnce(&mut Slot)) {
    with(|t| {
        let unused = match t.get_mut(id) {
            Some(s) => {
                f(s);
                s.unused()
            }
            None => false,
        };
        if unused {
            t.free(id);
        }
    })
}

/// Forgets an exited thread.
pub fn release_thread(tid: i32) {
    release(tid, |s| s.thread = None);
}

/// Forgets a reaped process.
pub fn release_process(pid: i32) {
    release(pid, |s| s.process = None);
}

/// Notes one more process using `id` as its group or session id.
pub fn hold_group(id: i32) {
    with(|t| {
        if let Some(s) = t.get_mut(id) {
            s.group_refs += 1;
        }
    })
}

/// Notes one process fewer using `id` as its group or session id.
pub fn release_group(id: i32) {
    release(id, |s| s.group_refs = s.group_refs.saturating_sub(1));
}

/// The live thread with id `tid`.
pub fn thread(tid: i32) -> Option<Arc<Thread>> {
    with(|t| t.get(tid).and_then(|s| s.thread.as_ref()).and_then(|w| w.upgrade()))
}

/// The process with id `pid` (a zombie too, until it is reaped).
pub fn process(pid: i32) -> Option<Arc<Process>> {
    with(|t| t.get(pid).and_then(|s| s.process.clone()))
}

/// Every process not yet reaped, by increasing pid.
pub fn processes() -> Vec<Arc<Process>> {
    with(|t| t.iter().filter_map(|(_, s)| s.process.clone()).collect())
}

/// The process or thread id handed out last (/proc/loadavg's last field).
pub fn last_id() -> i32 {
    with(|t| t.last())
}

/// Number of live threads (Linux's `nr_threads`).
pub fn thread_count() -> usize {
    with(|t| t.iter().filter(|(_, s)| s.thread.is_some()).count())
}

/// True when some process (not a zombie) has group id `pgid`, in session `sid`
/// when given.
pub fn group_exists(pgid: i32, sid: Option<i32>) -> bool {
    processes().iter().any(|p| {
        p.pgid.load(core::sync::atomic::Ordering::Relaxed) == pgid
            && sid.map(|s| p.sid.load(core::sync::atomic::Ordering::Relaxed) == s).unwrap_or(true)
            && !p.state.lock().zombie
    })
}
