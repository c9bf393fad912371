//! Threads and the scheduler: one CPU, round-robin, kernel stacks switched in
//! `elfin_arch::switch_context`. The kernel itself is never preempted (interrupts
//! are off in kernel mode); user code is preempted by the timer tick.
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use core::sync::atomic::AtomicU64;

use elfin_arch::{FpuState, TrapFrame};
use elfin_shim::uapi::StackT;
use spin::Mutex;

/// Why a thread sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOn {
    /// FUTEX_WAIT on a user address (with a bitset).
    Futex(u64, u32),
    /// A timed sleep only.
    Sleep,
    /// Any event: re-check the condition after every wake-up (poll and friends).
    Poll,
}

/// Why a blocked thread woke up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Explicitly woken (futex wake, input, …).
    Woken,
    /// The deadline passed.
    Timeout,
    /// A signal arrived.
    Signal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Runnable,
    Blocked,
    Exited,
}

/// A thread of the program.
pub struct Thread {
    /// Thread id.
    pub tid: i32,
    state: State,
    saved_rsp: u64,
    kstack_top: u64,
    fpu: Option<FpuState>,
    tls: u64,
    /// Blocked signals.
    pub sigmask: u64,
    /// Mask to restore after a signal handler started from sigsuspend returns.
    pub saved_mask: Option<u64>,
    /// Signals sent to this thread and not delivered yet.
    pub pending: u64,
    /// `si_code` of each pending signal (SI_USER for kill, SI_TKILL for tgkill).
    pub pending_code: [i32; 64],
    /// Alternate signal stack.
    pub altstack: StackT,
    /// CLONE_CHILD_CLEARTID / set_tid_address pointer.
    pub clear_child_tid: u64,
    /// set_robust_list head and length.
    pub robust_list: (u64, usize),
    /// Thread name (prctl PR_SET_NAME), empty until set.
    pub comm: [u8; 16],
    /// Absolute deadline of a system call being restarted after a wait (poll,
    /// epoll_wait), kept across the restarts of that one call.
    pub restart_deadline: Option<u64>,
    wait: Option<WaitOn>,
    deadline: Option<u64>,
    wake: Wake,
}

struct Sched {
    /// Console input events already seen (see `wake_due`).
    input_seen: u64,
    threads: BTreeMap<i32, Box<Thread>>,
    runq: VecDeque<i32>,
    current: i32,
    next_tid: i32,
    /// A thread that exited; its kernel stack is freed by the next thread to run.
    reap: Option<i32>,
}

static SCHED: Mutex<Sched> = Mutex::new(Sched {
    input_seen: 0,
    threads: BTreeMap::new(),
    runq: VecDeque::new(),
    current: 0,
    next_tid: 1,
    reap: None,
});

/// A stack pointer slot for the boot context, which is never resumed.
static BOOT_RSP: AtomicU64 = AtomicU64::new(0);
/// A stack pointer slot for a thread whose record is gone.
static DISCARD_RSP: AtomicU64 = AtomicU64::new(0);

fn new_thread(tid: i32, kstack_top: u64, tf: &TrapFrame, tls: u64) -> Box<Thread> {
    // SAFETY: the stack was just allocated for this thread and is unused.
    let saved_rsp = unsafe { elfin_arch::init_thread_stack(kstack_top, tf) };
    Box::new(Thread {
        tid,
        state: State::Runnable,
        saved_rsp,
        kstack_top,
        fpu: None,
        tls,
        sigmask: 0,
        saved_mask: None,
        pending: 0,
        pending_code: [0; 64],
        altstack: StackT::new(0, 2, 0),
        clear_child_tid: 0,
        robust_list: (0, 0),
        comm: [0; 16],
        restart_deadline: None,
        wait: None,
        deadline: None,
        wake: Wake::Woken,
    })
}

/// Starts the first thread (tid = pid = 1) and never returns.
pub fn start_first(tf: &TrapFrame, kstack_top: u64) -> ! {
    let t = new_thread(1, kstack_top, tf, 0);
    let rsp = t.saved_rsp;
    {
        let mut s = SCHED.lock();
        s.next_tid = 2;
        s.current = 1;
        s.threads.insert(1, t);
    }
    elfin_arch::set_kernel_stack(kstack_top);
    // SAFETY: the boot stack is abandoned for good; BOOT_RSP only receives its
    // pointer and is never switched back to.
    unsafe { elfin_arch::switch_context(BOOT_RSP.as_ptr(), rsp) };
    unreachable!("the boot context is never resumed")
}

/// Creates a thread that enters user mode with `tf`; returns its tid.
pub fn spawn(tf: &TrapFrame, tls: u64, sigmask: u64) -> Option<i32> {
    let kstack_top = crate::mem::try_alloc_kernel_stack()?;
    let mut s = SCHED.lock();
    let tid = s.next_tid;
    s.next_tid += 1;
    let mut t = new_thread(tid, kstack_top, tf, tls);
    t.sigmask = sigmask;
    // The child starts with a copy of the parent's FPU state (as Linux's clone).
    t.fpu = FpuState::from_current();
    s.threads.insert(tid, t);
    s.runq.push_back(tid);
    drop(s);
    crate::timer::enable_preemption();
    Some(tid)
}

/// The calling thread's id.
pub fn current_tid() -> i32 {
    SCHED.lock().current
}

/// Runs `f` on the calling thread's record.
pub fn with_current<R>(f: impl FnOnce(&mut Thread) -> R) -> R {
    let mut s = SCHED.lock();
    let cur = s.current;
    match s.threads.get_mut(&cur) {
        Some(t) => f(t),
        None => unreachable!("the current thread has a record"),
    }
}

/// Runs `f` on thread `tid`'s record, if it exists.
pub fn with_thread<R>(tid: i32, f: impl FnOnce(&mut Thread) -> R) -> Option<R> {
    SCHED.lock().threads.get_mut(&tid).filter(|t| t.state != State::Exited).map(|t| f(t))
}

/// Number of threads that have not exited.
pub fn live_threads() -> usize {
    SCHED.lock().threads.values().filter(|t| t.state != State::Exited).count()
}

/// Ids of all live threads.
pub fn thread_ids() -> alloc::vec::Vec<i32> {
    SCHED.lock().threads.values().filter(|t| t.state != State::Exited).map(|t| t.tid).collect()
}

/// Gives the CPU to another runnable thread, if any.
pub fn yield_now() {
    {
        let mut s = SCHED.lock();
        // Sleepers whose time has come compete for the CPU too.
        wake_due(&mut s);
        if s.runq.is_empty() {
            return;
        }
        let cur = s.current;
        s.runq.push_back(cur);
    }
    schedule();
}

/// Blocks the calling thread until woken, the deadline (monotonic ns) passes, or a
/// signal arrives.
pub fn block(on: WaitOn, deadline: Option<u64>) -> Wake {
    {
        let mut s = SCHED.lock();
        let cur = s.current;
        let Some(t) = s.threads.get_mut(&cur) else { return Wake::Woken };
        if t.pending & !t.sigmask != 0 {
            return Wake::Signal;
        }
        t.state = State::Blocked;
        t.wait = Some(on);
        t.deadline = deadline;
        t.wake = Wake::Woken;
    }
    schedule();
    with_current(|t| t.wake)
}

fn make_runnable(s: &mut Sched, tid: i32, why: Wake) -> bool {
    match s.threads.get_mut(&tid) {
        Some(t) if t.state == State::Blocked => {
            t.state = State::Runnable;
            t.wait = None;
            t.deadline = None;
            t.wake = why;
            s.runq.push_back(tid);
            true
        }
        _ => false,
    }
}

/// Wakes up to `n` threads waiting on the futex at `addr` whose bitset matches.
pub fn wake_futex(addr: u64, n: usize, bitset: u32) -> usize {
    let mut s = SCHED.lock();
    let ids: alloc::vec::Vec<i32> = s
        .threads
        .values()
        .filter(|t| {
            t.state == State::Blocked && matches!(t.wait, Some(WaitOn::Futex(a, b)) if a == addr && b & bitset != 0)
        })
        .map(|t| t.tid)
        .take(n)
        .collect();
    for &tid in &ids {
        make_runnable(&mut s, tid, Wake::Woken);
    }
    ids.len()
}

/// Moves up to `n` futex waiters from `from` to `to` (FUTEX_REQUEUE).
pub fn requeue_futex(from: u64, to: u64, n: usize) -> usize {
    let mut s = SCHED.lock();
    let mut moved = 0;
    for t in s.threads.values_mut() {
        if moved >= n {
            break;
        }
        if let Some(WaitOn::Futex(a, b)) = t.wait {
            if a == from && t.state == State::Blocked {
                t.wait = Some(WaitOn::Futex(to, b));
                moved += 1;
            }
        }
    }
    moved
}

/// Marks a signal pending for `tid` and interrupts its sleep if it is not blocked.
pub fn signal_thread(tid: i32, sig: u32, code: i32) -> bool {
    let mut s = SCHED.lock();
    let Some(t) = s.threads.get_mut(&tid) else { return false };
    if t.state == State::Exited {
        return false;
    }
    t.pending |= 1u64 << (sig - 1);
    if let Some(c) = t.pending_code.get_mut((sig - 1) as usize) {
        *c = code;
    }
    if t.sigmask & (1u64 << (sig - 1)) == 0 {
        make_runnable(&mut s, tid, Wake::Signal);
    }
    true
}

/// Ends the calling thread; never returns.
pub fn exit_current() -> ! {
    {
        let mut s = SCHED.lock();
        let cur = s.current;
        if let Some(t) = s.threads.get_mut(&cur) {
            t.state = State::Exited;
        }
    }
    schedule();
    unreachable!("an exited thread is never resumed")
}

/// Wakes blocked threads whose deadline passed or whose input arrived.
fn wake_due(s: &mut Sched) {
    let now = crate::time::monotonic_ns();
    // Wake pollers on new console input only (a byte or end of file arriving), not
    // on every pass while input sits unread.
    elfin_plat::console::input_ready();
    let gen = elfin_plat::console::input_generation();
    let input = gen != s.input_seen;
    s.input_seen = gen;
    let due: alloc::vec::Vec<(i32, Wake)> = s
        .threads
        .values()
        .filter(|t| t.state == State::Blocked)
        .filter_map(|t| {
            if t.deadline.map(|d| now >= d).unwrap_or(false) {
                Some((t.tid, Wake::Timeout))
            } else if input && t.wait == Some(WaitOn::Poll) {
                Some((t.tid, Wake::Woken))
            } else {
                None
            }
        })
        .collect();
    for (tid, why) in due {
        make_runnable(s, tid, why);
    }
}

/// Picks the next thread and switches to it (returns when the caller runs again).
pub fn schedule() {
    loop {
        let mut s = SCHED.lock();
        wake_due(&mut s);
        let cur = s.current;
        let cur_runnable = s.threads.get(&cur).map(|t| t.state == State::Runnable).unwrap_or(false);
        let next = loop {
            match s.runq.pop_front() {
                Some(t) if s.threads.get(&t).map(|t| t.state == State::Runnable).unwrap_or(false) => break Some(t),
                Some(_) => continue,
                None => break None,
            }
        };
        let next = match next {
            Some(n) => n,
            None if cur_runnable => return,
            None => {
                // Nothing to run: wait for an interrupt (timer tick), then look again.
                // With a thread waiting in poll/read, watch the console meanwhile: the
                // UART holds one byte at a time, so waiting a tick per byte would make
                // stdin crawl.
                let pollers = s.threads.values().any(|t| t.state == State::Blocked && t.wait == Some(WaitOn::Poll));
                drop(s);
                crate::timer::idle_wait(pollers);
                continue;
            }
        };
        if next == cur {
            return;
        }
        // Save the outgoing thread's user TLS and FPU state; load the incoming one's.
        let prev_exited = s.threads.get(&cur).map(|t| t.state == State::Exited).unwrap_or(true);
        if let Some(t) = s.threads.get_mut(&cur) {
            if !prev_exited {
                t.tls = elfin_arch::get_tls();
                match &t.fpu {
                    Some(f) => f.save(),
                    None => t.fpu = FpuState::from_current(),
                }
            }
        }
        let (next_rsp, next_top) = match s.threads.get_mut(&next) {
            Some(t) => {
                elfin_arch::set_tls(t.tls);
                if let Some(f) = &t.fpu {
                    f.restore();
                }
                (t.saved_rsp, t.kstack_top)
            }
            None => continue,
        };
        let prev_slot: *mut u64 = match s.threads.get_mut(&cur) {
            Some(t) => &mut t.saved_rsp,
            None => DISCARD_RSP.as_ptr(),
        };
        if prev_exited {
            s.reap = Some(cur);
        }
        s.current = next;
        drop(s);
        elfin_arch::set_kernel_stack(next_top);
        crate::time::phases::SWITCHES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        // SAFETY: `next_rsp` was saved by a previous switch or built by
        // init_thread_stack for a live thread; `prev_slot` points into a boxed
        // Thread that is only freed by `reap` after we have switched away.
        unsafe { elfin_arch::switch_context(prev_slot, next_rsp) };
        reap();
        return;
    }
}

/// Frees the kernel stack and record of a thread that exited.
fn reap() {
    let dead = {
        let mut s = SCHED.lock();
        match s.reap.take() {
            Some(tid) if tid != s.current => s.threads.remove(&tid),
            Some(tid) => {
                s.reap = Some(tid);
                None
            }
            None => None,
        }
    };
    if let Some(t) = dead {
        crate::mem::free_kernel_stack(t.kstack_top);
    }
}

/// Called on a timer tick that interrupted user code: round-robin preemption.
pub fn preempt() {
    yield_now();
}

/// Wakes every thread waiting in poll/epoll/select or on a pipe, so that it
/// re-checks its condition.
pub fn wake_pollers() {
    let mut s = SCHED.lock();
    let ids: alloc::vec::Vec<i32> = s
        .threads
        .values()
        .filter(|t| t.state == State::Blocked && t.wait == Some(WaitOn::Poll))
        .map(|t| t.tid)
        .collect();
    for tid in ids {
        make_runnable(&mut s, tid, Wake::Woken);
    }
}
