//! The scheduler: one run queue, round-robin, kernel stacks switched in
//! `elfin_arch::switch_context`. The kernel is not preempted (interrupts are off
//! in kernel mode); user code is preempted by the timer tick.
//!
//! Sleeping follows the prepare/check/sleep protocol, so no wake-up is lost: a
//! sleeper calls [`prepare_sleep`], puts itself on the queues it waits on, checks
//! its condition, and only then calls [`sleep`], which returns at once when a
//! [`wake`] came in between. Deadlines live in a timer map checked at every pass
//! of the scheduler and on every tick.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use elfin_arch::{FpuState, TrapFrame};
use spin::Mutex;

use super::Thread;

const RUNNABLE: u8 = 0;
const RUNNING: u8 = 1;
const BLOCKED: u8 = 2;
const DEAD: u8 = 3;

/// Per-thread scheduler state.
pub(crate) struct SchedState {
    state: AtomicU8,
    /// A wake-up arrived since the last [`prepare_sleep`].
    woken: AtomicBool,
    /// Kernel stack pointer saved by the last switch away from the thread.
    saved_sp: AtomicU64,
    /// Top of the thread's kernel stack.
    kstack_top: u64,
    /// User FPU/SIMD registers while the thread is off the CPU.
    fpu: Mutex<Option<FpuState>>,
    /// User thread pointer while the thread is off the CPU.
    tls: AtomicU64,
    /// Cycle counter when the thread got the CPU (0 while off it).
    since: AtomicU64,
}

impl SchedState {
    /// The state of a new thread that will enter user mode with `tf` on the kernel
    /// stack ending at `kstack_top`, with FPU registers `fpu` and thread pointer `tls`.
    pub(crate) fn new(kstack_top: u64, tf: &TrapFrame, fpu: Option<FpuState>, tls: u64) -> SchedState {
        // SAFETY: the stack was just allocated for this thread and is unused.
        let sp = unsafe { elfin_arch::init_thread_stack(kstack_top, tf) };
        SchedState {
            state: AtomicU8::new(RUNNABLE),
            woken: AtomicBool::new(false),
            saved_sp: AtomicU64::new(sp),
            kstack_top,
            fpu: Mutex::new(fpu),
            tls: AtomicU64::new(tls),
            since: AtomicU64::new(0),
        }
    }
}

struct RunQueue {
    queue: VecDeque<Arc<Thread>>,
    current: Option<Arc<Thread>>,
    /// Threads that exited; their kernel stacks are freed once we are off them.
    dead: Vec<Arc<Thread>>,
    /// Page-table root loaded on the CPU.
    active_root: u64,
}

static RQ: Mutex<RunQueue> =
    Mutex::new(RunQueue { queue: VecDeque::new(), current: None, dead: Vec::new(), active_root: 0 });

/// Sleep deadlines: (deadline ns, sequence) → sleeper.
static TIMERS: Mutex<BTreeMap<(u64, u64), Weak<Thread>>> = Mutex::new(BTreeMap::new());
static TIMER_SEQ: AtomicU64 = AtomicU64::new(0);

/// A stack-pointer slot for the boot context, which is never resumed.
static BOOT_SP: AtomicU64 = AtomicU64::new(0);

/// The running thread.
pub fn current() -> Arc<Thread> {
    match RQ.lock().current.clone() {
        Some(t) => t,
        None => panic!("no current thread"),
    }
}

/// The running thread, if the first program has started.
pub fn try_current() -> Option<Arc<Thread>> {
    RQ.lock().current.clone()
}

/// Nanoseconds the thread has run in its current time slice (0 when off the CPU).
pub(crate) fn running_ns(t: &Thread) -> u64 {
    let since = t.sched.since.load(Ordering::Relaxed);
    if since == 0 {
        return 0;
    }
    cycles_to_ns(elfin_arch::read_cycles().saturating_sub(since))
}

fn cycles_to_ns(c: u64) -> u64 {
    ((u128::from(c) * 1_000_000_000) / u128::from(crate::time::cycles_hz().max(1))) as u64
}

/// Runs the first thread; never returns.
pub fn run_first(t: Arc<Thread>) -> ! {
    let sp = t.sched.saved_sp.load(Ordering::Relaxed);
    let top = t.sched.kstack_top;
    let root = t.process.mm_root();
    elfin_arch::PageTable::from_root(root).activate();
    t.sched.state.store(RUNNING, Ordering::Relaxed);
    t.sched.since.store(elfin_arch::read_cycles(), Ordering::Relaxed);
    {
        let mut rq = RQ.lock();
        rq.current = Some(t);
        rq.active_root = root;
    }
    elfin_arch::set_kernel_stack(top);
    // SAFETY: the boot stack is abandoned for good; BOOT_SP only receives its
    // pointer and is never switched back to. `sp` was built by init_thread_stack.
    unsafe { elfin_arch::switch_context(BOOT_SP.as_ptr(), sp) };
    unreachable!("the boot context is never resumed")
}

/// Makes a new thread runnable.
pub fn start(t: Arc<Thread>) {
    RQ.lock().queue.push_back(t);
    crate::timer::enable_preemption();
}

/// Starts a sleep: clears the wake-up flag of the calling thread. Call before
/// registering on wait queues and checking the condition.
pub fn prepare_sleep() {
    if let Some(t) = try_current() {
        t.sched.woken.store(false, Ordering::SeqCst);
    }
}

/// Sleeps until woken or until `deadline` (monotonic ns) passes; returns at once
/// when a wake-up arrived since [`prepare_sleep`].
pub fn sleep(deadline: Option<u64>) {
    let t = current();
    let key = deadline.map(|d| {
        let k = (d, TIMER_SEQ.fetch_add(1, Ordering::Relaxed));
        TIMERS.lock().insert(k, Arc::downgrade(&t));
        k
    });
    {
        let _rq = RQ.lock();
        if t.sched.woken.swap(false, Ordering::SeqCst) {
            drop(_rq);
            if let Some(k) = key {
                TIMERS.lock().remove(&k);
            }
            return;
        }
        t.sched.state.store(BLOCKED, Ordering::SeqCst);
    }
    schedule();
    t.sched.woken.store(false, Ordering::SeqCst);
    if let Some(k) = key {
        TIMERS.lock().remove(&k);
    }
}

/// Wakes a sleeping thread (or makes its next [`sleep`] return at once).
pub fn wake(t: &Arc<Thread>) {
    let mut rq = RQ.lock();
    t.sched.woken.store(true, Ordering::SeqCst);
    if t.sched.state.compare_exchange(BLOCKED, RUNNABLE, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        rq.queue.push_back(t.clone());
    }
}

/// Gives the CPU to another runnable thread, if any.
pub fn yield_now() {
    expire_timers();
    super::itimer::expire();
    crate::net::poll_due();
    {
        let mut rq = RQ.lock();
        if rq.queue.is_empty() {
            return;
        }
        if let Some(cur) = rq.current.clone() {
            cur.sched.state.store(RUNNABLE, Ordering::SeqCst);
            rq.queue.push_back(cur);
        }
    }
    schedule();
}

/// Called on a timer tick that interrupted user code: round-robin preemption.
pub fn preempt() {
    yield_now();
}

/// Ends the calling thread; never returns. Its kernel stack is freed by the next
/// thread to run.
pub fn exit_current() -> ! {
    if let Some(t) = try_current() {
        t.sched.state.store(DEAD, Ordering::SeqCst);
    }
    schedule();
    unreachable!("an exited thread is never resumed")
}

/// Wakes the sleepers whose deadline has passed.
fn expire_timers() {
    let now = crate::time::monotonic_ns();
    let due: Vec<Weak<Thread>> = {
        let mut timers = TIMERS.lock();
        let mut due = Vec::new();
        while let Some((&k, _)) = timers.iter().next() {
            if k.0 > now {
                break;
            }
            if let Some(w) = timers.remove(&k) {
                due.push(w);
            }
        }
        due
    };
    for w in due {
        if let Some(t) = w.upgrade() {
            wake(&t);
        }
    }
}

/// Picks the next thread and switches to it; returns when the caller runs again.
fn schedule() {
    loop {
        expire_timers();
        super::itimer::expire();
        crate::net::poll_due();
        crate::fs::console::check_input();
        let mut rq = RQ.lock();
        let Some(cur) = rq.current.clone() else { return };
        let cur_state = cur.sched.state.load(Ordering::SeqCst);
        let next = loop {
            match rq.queue.pop_front() {
                Some(t) if t.sched.state.load(Ordering::SeqCst) == RUNNABLE => break Some(t),
                Some(t) if Arc::ptr_eq(&t, &cur) && cur_state == RUNNING => break Some(t),
                Some(_) => continue,
                None => break None,
            }
        };
        let next = match next {
            Some(n) => n,
            None if cur_state == RUNNING => return,
            None if cur_state == RUNNABLE => cur.clone(),
            None => {
                // Nothing to run: wait for an interrupt or console input, then look again.
                drop(rq);
                crate::timer::idle_wait(crate::fs::console::has_readers());
                continue;
            }
        };
        if Arc::ptr_eq(&next, &cur) {
            cur.sched.state.store(RUNNING, Ordering::SeqCst);
            return;
        }
        // Account the outgoing thread's time slice; save its user TLS and FPU state.
        let now = elfin_arch::read_cycles();
        let since = cur.sched.since.swap(0, Ordering::Relaxed);
        if since != 0 {
            cur.cpu_ns.fetch_add(cycles_to_ns(now.saturating_sub(since)), Ordering::Relaxed);
        }
        let cur_dead = cur_state == DEAD;
        if !cur_dead {
            cur.sched.tls.store(elfin_arch::get_tls(), Ordering::Relaxed);
            let mut f = cur.sched.fpu.lock();
            match &*f {
                Some(img) => img.save(),
                None => *f = FpuState::from_current(),
            }
        }
        elfin_arch::set_tls(next.sched.tls.load(Ordering::Relaxed));
        if let Some(img) = &*next.sched.fpu.lock() {
            img.restore();
        }
        let root = next.process.mm_root();
        if root != rq.active_root {
            elfin_arch::PageTable::from_root(root).activate();
            rq.active_root = root;
        }
        next.sched.state.store(RUNNING, Ordering::SeqCst);
        next.sched.since.store(now.max(1), Ordering::Relaxed);
        let next_sp = next.sched.saved_sp.load(Ordering::Relaxed);
        let next_top = next.sched.kstack_top;
        let prev_slot = cur.sched.saved_sp.as_ptr();
        rq.current = Some(next);
        if cur_dead {
            rq.dead.push(cur.clone());
        }
        drop(rq);
        drop(cur);
        elfin_arch::set_kernel_stack(next_top);
        crate::time::phases::SWITCHES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `next_sp` was saved by a previous switch or built by
        // init_thread_stack for a live thread; `prev_slot` points into a Thread kept
        // alive by the run queue's `dead` list, a wait queue or its process until we
        // have switched away (a dead thread's record is released by `reap_dead`).
        unsafe { elfin_arch::switch_context(prev_slot, next_sp) };
        reap_dead();
        return;
    }
}

/// Frees the kernel stacks of exited threads other than the running one.
pub fn reap_dead() {
    let dead: Vec<Arc<Thread>> = {
        let mut rq = RQ.lock();
        let cur = rq.current.clone();
        let (gone, keep): (Vec<_>, Vec<_>) =
            rq.dead.drain(..).partition(|t| cur.as_ref().map(|c| !Arc::ptr_eq(c, t)).unwrap_or(true));
        rq.dead = keep;
        gone
    };
    for t in dead {
        crate::mem::free_kernel_stack(t.sched.kstack_top);
        *t.sched.fpu.lock() = None;
    }
}

/// Page-table root with no user mappings, loaded while the CPU has no address
/// space to be in (an exiting process's is about to be freed).
static IDLE_ROOT: AtomicU64 = AtomicU64::new(0);

/// Records the root of the empty user page table (at boot).
pub fn set_idle_root(root: u64) {
    IDLE_ROOT.store(root, Ordering::Relaxed);
}

/// Leaves the current address space for the empty one (before it is freed).
pub fn leave_mm() {
    let root = IDLE_ROOT.load(Ordering::Relaxed);
    let mut rq = RQ.lock();
    if root != 0 && rq.active_root != root {
        elfin_arch::PageTable::from_root(root).activate();
        rq.active_root = root;
    }
}

/// Loads the page table of the running thread's process (after execve replaced it).
pub fn reload_mm() {
    let Some(t) = try_current() else { return };
    let root = t.process.mm_root();
    let mut rq = RQ.lock();
    if rq.active_root != root {
        elfin_arch::PageTable::from_root(root).activate();
        rq.active_root = root;
    }
}
