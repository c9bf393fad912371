//! The scheduler: a run queue per CPU, round-robin, kernel stacks switched in
//! `elfin_arch::switch_context`; an idle CPU takes work from the others' queues
//! and is woken by an interrupt when work arrives for it. The kernel is not
//! preempted (interrupts are off in kernel mode); user code is preempted by the
//! timer tick.
//!
//! Sleeping follows the prepare/check/sleep protocol, so no wake-up is lost: a
//! sleeper calls [`prepare_sleep`], puts itself on the queues it waits on, checks
//! its condition, and only then calls [`sleep`], which returns at once when a
//! [`wake`] came in between. Deadlines live in a timer map checked at every pass
//! of the scheduler and on every tick.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::sync::Mutex;
use elfin_arch::{FpuState, TrapFrame};
use elfin_kcore::runqueue::{self, Pick, RunQueue};

use super::Thread;

const RUNNABLE: u8 = 0;
const RUNNING: u8 = 1;
const BLOCKED: u8 = 2;
const DEAD: u8 = 3;

/// Most CPUs the kernel runs on.
pub const MAX_CPUS: usize = 64;

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
    /// The CPU the thread last ran on (and whose queue it is put on when woken).
    cpu: AtomicUsize,
    /// A CPU is still on the thread's kernel stack: it may not run elsewhere until
    /// that CPU has finished switching away.
    on_cpu: AtomicBool,
    /// The CPUs the thread may run on (sched_setaffinity; bit n: CPU n).
    allowed: AtomicU64,
    /// Switched in since it last returned to user mode (rseq has work to do).
    rseq_notify: AtomicBool,
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
            cpu: AtomicUsize::new(this_cpu()),
            on_cpu: AtomicBool::new(false),
            allowed: AtomicU64::new(u64::MAX),
            rseq_notify: AtomicBool::new(true),
        }
    }

    /// Starts with the CPU set of the creating thread (clone inherits affinity).
    pub(crate) fn inherit_allowed(&self, parent: &SchedState) {
        self.allowed.store(parent.allowed.load(Ordering::Acquire), Ordering::Release);
    }

    /// Cycle count when the thread's current time slice began (0: off the CPU).
    #[inline(always)]
    pub(crate) fn slice_start(&self) -> u64 {
        self.since.load(Ordering::Relaxed)
    }

    /// Whether [`SchedState::take_rseq_notify`] has work (one load, nothing taken).
    #[inline(always)]
    pub(crate) fn rseq_pending(&self) -> bool {
        self.rseq_notify.load(Ordering::Relaxed)
    }

    /// True (once) when the thread was switched in since the last call.
    #[inline(always)]
    pub(crate) fn take_rseq_notify(&self) -> bool {
        // A load first: the swap, a locked instruction, only when there is work.
        self.rseq_notify.load(Ordering::Relaxed) && self.rseq_notify.swap(false, Ordering::Relaxed)
    }
    /// Asks for the rseq work at the next return to user mode (a registration).
    pub(crate) fn request_rseq_notify(&self) {
        self.rseq_notify.store(true, Ordering::Relaxed);
    }
}

/// One CPU's scheduling state.
struct Cpu {
    /// Threads ready to run here.
    queue: RunQueue<Arc<Thread>>,
    /// The thread on the CPU (None before the CPU's first thread).
    current: Option<Arc<Thread>>,
    /// The thread just switched away from; the next thread to run finishes that
    /// switch (clears its `on_cpu`).
    prev: Option<Arc<Thread>>,
    /// Threads that exited here; their kernel stacks are freed once we are off them.
    dead: Vec<Arc<Thread>>,
    /// Halted, waiting for an interrupt.
    idle: bool,
}

impl Cpu {
    const fn new() -> Cpu {
        Cpu { queue: RunQueue::new(), current: None, prev: None, dead: Vec::new(), idle: false }
    }
}

static CPUS: [Mutex<Cpu>; MAX_CPUS] = [const { Mutex::new(Cpu::new()) }; MAX_CPUS];
/// The thread each CPU runs (`Arc::as_ptr` of its `current`; null when idle), read
/// without the CPU's lock on every system call.
static CURRENT: [AtomicPtr<Thread>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// Page-table root loaded on each CPU (read by TLB shootdowns).
static ACTIVE_ROOT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// CPUs that run threads.
static ONLINE: AtomicUsize = AtomicUsize::new(1);

/// Sleep deadlines: (deadline ns, sequence) → sleeper.
static TIMERS: Mutex<BTreeMap<(u64, u64), Weak<Thread>>> = Mutex::new(BTreeMap::new());
static TIMER_SEQ: AtomicU64 = AtomicU64::new(0);

/// Stack-pointer slots for the boot contexts of the CPUs, which are never resumed.
static BOOT_SP: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The CPU the caller runs on.
#[inline(always)]
pub fn this_cpu() -> usize {
    // The platforms start at most MAX_CPUS CPUs, numbered from 0: the mask only
    // proves the per-CPU tables' indices in range (one instruction, no compare).
    elfin_arch::cpu_id() & (MAX_CPUS - 1)
}
const _: () = assert!(MAX_CPUS.is_power_of_two());

fn cpu(i: usize) -> &'static Mutex<Cpu> {
    match CPUS.get(i) {
        Some(c) => c,
        None => &CPUS[0],
    }
}

/// Number of CPUs running threads.
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// The CPUs running threads, as a mask (bit n: CPU n).
pub fn online_mask() -> u64 {
    runqueue::online_mask(online())
}

/// The CPU `t` runs on, or last ran on.
pub fn last_cpu(t: &Thread) -> usize {
    t.sched.cpu.load(Ordering::Relaxed)
}

/// Whether `t` is asleep (waiting for a wake-up) rather than running or waiting
/// for a CPU.
pub fn asleep(t: &Thread) -> bool {
    t.sched.state.load(Ordering::Relaxed) == BLOCKED
}

/// The CPUs `t` may run on.
pub fn allowed(t: &Thread) -> u64 {
    t.sched.allowed.load(Ordering::Acquire)
}

/// Restricts `t` to the CPUs of `mask` (which holds an online CPU); the thread
/// moves when it runs elsewhere (at once when it is the caller).
pub fn set_allowed(t: &Arc<Thread>, mask: u64) {
    t.sched.allowed.store(mask, Ordering::Release);
    if let Some(me) = try_current() {
        if Arc::ptr_eq(&me, t) {
            if !allowed_on(t, this_cpu()) {
                schedule();
            }
            return;
        }
    }
    // Running elsewhere on a CPU it may no longer use: make that CPU look again.
    let c = t.sched.cpu.load(Ordering::Acquire);
    if !allowed_on(t, c) && c < online() && t.sched.state.load(Ordering::SeqCst) == RUNNING {
        elfin_plat::send_ipi(c);
    }
}

fn allowed_on(t: &Thread, c: usize) -> bool {
    runqueue::allows(t.sched.allowed.load(Ordering::Acquire), c)
}

/// Where `t` should be queued: `preferred` when it may run there, else the first
/// online CPU it may run on.
fn home_for(t: &Thread, preferred: usize) -> usize {
    runqueue::home_cpu(allowed(t), online(), preferred).min(MAX_CPUS - 1)
}

/// Counts CPU `cpu` as running threads (it came up; CPUs come up in order).
pub fn cpu_online(cpu: usize) {
    ONLINE.fetch_max(cpu + 1, Ordering::AcqRel);
}

/// True when a timed sleep, an interval timer or the network waits for a deadline.
pub fn deadlines_pending() -> bool {
    !TIMERS.lock().is_empty() || super::itimer::pending() || crate::net::deadline_pending()
}

/// The earliest deadline of a sleep, an interval timer or the network's timers
/// (monotonic ns), if any.
pub fn next_deadline() -> Option<u64> {
    let sleep = TIMERS.lock().keys().next().map(|k| k.0);
    [sleep, super::itimer::next_deadline(), crate::net::next_deadline()].into_iter().flatten().min()
}

/// The running thread.
pub fn current() -> Arc<Thread> {
    match try_current() {
        Some(t) => t,
        None => panic!("no current thread"),
    }
}

/// The running thread, if the CPU runs one.
pub fn try_current() -> Option<Arc<Thread>> {
    let p = CURRENT[this_cpu()].load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` came from `Arc::as_ptr` of the Arc in this CPU's `current`, which
    // keeps the thread alive until the scheduler replaces it. Kernel code is never
    // preempted, so only this code path's own call into `schedule` could replace it,
    // and the caller runs on this CPU until then.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// An `Arc` the running thread keeps alive for as long as its own code runs (the
/// thread itself, its process), used without touching the reference count: it
/// derefs to the `Arc`, `.clone()` through it gives a counted one, and dropping
/// it does nothing. Not `Send`: it stays with the thread that made it.
pub struct Held<T> {
    arc: ManuallyDrop<Arc<T>>,
    _not_send: PhantomData<*const ()>,
}

impl<T> core::ops::Deref for Held<T> {
    type Target = Arc<T>;
    #[inline(always)]
    fn deref(&self) -> &Arc<T> {
        &self.arc
    }
}

/// The running thread and its process, borrowed for the running thread's own
/// code (a system call, a trap); None when the CPU runs no thread.
#[inline(always)]
pub(crate) fn current_held() -> Option<(Held<Thread>, Held<super::Process>)> {
    // The CPU's own copy of CURRENT[this_cpu()] (one load on x86_64); only code
    // entered from user mode calls this, after the CPU's set-up.
    let p = elfin_arch::cpu_current() as *const Thread;
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is `Arc::as_ptr` of the Arc in this CPU's `current`, the thread
    // that runs this code. Its record (and the process its never-replaced
    // `process` field holds) lives as long as the thread's code can run: the
    // CPU's `current` holds it while it runs, and a thread off the CPU comes back
    // only through a strong reference (a run queue, a wait queue, its process's
    // thread list; a thread with none is never resumed). The handles are never
    // dropped (ManuallyDrop) and cannot leave the thread (not Send), so no count
    // is owed.
    unsafe {
        let thread = ManuallyDrop::new(Arc::from_raw(p));
        let proc = ManuallyDrop::new(Arc::from_raw(Arc::as_ptr(&thread.process)));
        Some((Held { arc: thread, _not_send: PhantomData }, Held { arc: proc, _not_send: PhantomData }))
    }
}

/// Cycles the thread has run in its current time slice (0 when off the CPU).
#[inline]
pub(crate) fn running_cycles(t: &Thread) -> u64 {
    let since = t.sched.since.load(Ordering::Relaxed);
    if since == 0 {
        return 0;
    }
    elfin_arch::read_cycles().saturating_sub(since)
}

/// Runs the first thread on the boot CPU; never returns.
pub fn run_first(t: Arc<Thread>) -> ! {
    super::loadavg::changed(1);
    cpu(this_cpu()).lock().queue.push(t);
    cpu_loop()
}

/// What a CPU does once it is up: run threads, for ever. This boot context is
/// also the CPU's idle context: a thread that must leave the CPU (it exited, or
/// may no longer run here) while nothing else can run switches back to it.
pub fn cpu_loop() -> ! {
    loop {
        schedule();
    }
}

/// Makes a new thread runnable (on the caller's CPU when it may run there; an
/// idle CPU may take it).
pub fn start(t: Arc<Thread>) {
    let me = this_cpu();
    let c = home_for(&t, me);
    t.sched.cpu.store(c, Ordering::Relaxed);
    super::loadavg::changed(1);
    let idle = {
        let mut q = cpu(c).lock();
        q.queue.push(t);
        q.idle
    };
    crate::timer::enable_preemption();
    if c != me && idle {
        elfin_plat::send_ipi(c);
    } else {
        kick_idle(c);
    }
}

/// Wakes one idle CPU other than `except` (so that it takes waiting work).
fn kick_idle(except: usize) {
    let n = online();
    if n <= 1 {
        return;
    }
    for i in (0..n).filter(|&i| i != except) {
        if cpu(i).lock().idle {
            elfin_plat::send_ipi(i);
            return;
        }
    }
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
        crate::timer::deadline_added();
        k
    });
    {
        let _me = cpu(this_cpu()).lock();
        if t.sched.woken.swap(false, Ordering::SeqCst) {
            drop(_me);
            if let Some(k) = key {
                TIMERS.lock().remove(&k);
            }
            return;
        }
        super::loadavg::changed(-1);
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
    let target = home_for(t, t.sched.cpu.load(Ordering::Acquire).min(MAX_CPUS - 1));
    let (queued, idle) = {
        let mut q = cpu(target).lock();
        t.sched.woken.store(true, Ordering::SeqCst);
        if t.sched.state.compare_exchange(BLOCKED, RUNNABLE, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            super::loadavg::changed(1);
            q.queue.push(t.clone());
            (true, q.idle)
        } else {
            (false, false)
        }
    };
    if queued {
        if idle && target != this_cpu() {
            elfin_plat::send_ipi(target);
        } else if !idle {
            // Its CPU is busy: an idle one may take it.
            kick_idle(target);
        }
    }
}

/// Wakes `t` like [`wake`] and, when it runs on another CPU, interrupts that
/// CPU so that it notices what changed (a signal) without waiting for a tick.
pub fn kick(t: &Arc<Thread>) {
    wake(t);
    let c = t.sched.cpu.load(Ordering::Acquire);
    if c != this_cpu() && c < online() && t.sched.state.load(Ordering::SeqCst) == RUNNING {
        elfin_plat::send_ipi(c);
    }
}

/// Gives the CPU to another runnable thread, if any.
pub fn yield_now() {
    expire_timers();
    super::itimer::expire();
    crate::net::poll_due();
    {
        let c = this_cpu();
        let mut me = cpu(c).lock();
        let must_leave = me.current.as_ref().map(|t| !allowed_on(t, c)).unwrap_or(false);
        if must_leave {
            drop(me);
            schedule();
            return;
        }
        if me.queue.is_empty() {
            return;
        }
        if let Some(cur) = me.current.clone() {
            cur.sched.state.store(RUNNABLE, Ordering::SeqCst);
            me.queue.push(cur);
        }
    }
    schedule();
}

/// Called on a timer tick or a wake-up interrupt that interrupted user code:
/// round-robin preemption.
pub fn preempt() {
    yield_now();
}

/// Ends the calling thread; never returns. Its kernel stack is freed once the
/// CPU is off it.
pub fn exit_current() -> ! {
    if let Some(t) = try_current() {
        super::loadavg::changed(-1);
        t.sched.state.store(DEAD, Ordering::SeqCst);
    }
    schedule();
    unreachable!("an exited thread is never resumed")
}

/// Wakes the sleepers whose deadline has passed.
fn expire_timers() {
    // With no sleeper there is nothing to compare: the clock is not read (its
    // first reading calibrates the cycle counter, milliseconds of PIT polling).
    if TIMERS.lock().is_empty() {
        return;
    }
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

/// Takes a runnable thread from another CPU's queue (one that no CPU is still on).
fn steal(me: usize) -> Option<Arc<Thread>> {
    for other in runqueue::steal_order(me, online()) {
        let Some(mut o) = cpu(other).try_lock() else { continue };
        let got = o.queue.steal(|t| {
            t.sched.state.load(Ordering::SeqCst) == RUNNABLE
                && !t.sched.on_cpu.load(Ordering::Acquire)
                && allowed_on(t, me)
        });
        if let Some(t) = got {
            t.sched.cpu.store(me, Ordering::Release);
            return Some(t);
        }
    }
    None
}

/// Takes the first runnable thread off a CPU's queue (dropping stale entries);
/// threads that may not run on CPU `c` go to `misplaced`.
fn pop_runnable(q: &mut Cpu, c: usize, misplaced: &mut Vec<Arc<Thread>>) -> Option<Arc<Thread>> {
    q.queue.pop(
        |t| {
            if t.sched.state.load(Ordering::SeqCst) != RUNNABLE {
                Pick::Stale
            } else if !allowed_on(t, c) {
                Pick::Elsewhere
            } else {
                Pick::Run
            }
        },
        misplaced,
    )
}

/// Queues runnable threads on a CPU they may run on (and wakes it if it idles).
fn rehome(threads: Vec<Arc<Thread>>, from: usize) {
    for t in threads {
        let h = home_for(&t, from);
        t.sched.cpu.store(h, Ordering::Release);
        let idle = {
            let mut q = cpu(h).lock();
            q.queue.push(t);
            q.idle
        };
        if idle && h != this_cpu() {
            elfin_plat::send_ipi(h);
        }
    }
}

/// Picks the next thread and switches to it; returns when the caller runs again.
/// The caller may be a thread or the CPU's idle context (no current thread).
fn schedule() {
    let c = this_cpu();
    // The current thread's voluntary switch (it blocked) was counted when this
    // CPU went idle for it.
    let mut counted = false;
    loop {
        expire_timers();
        super::itimer::expire();
        crate::net::poll_due();
        crate::fs::console::check_input();
        let mut misplaced = Vec::new();
        let mut me = cpu(c).lock();
        let cur = me.current.clone();
        let mut cur_state = cur.as_ref().map(|t| t.sched.state.load(Ordering::SeqCst)).unwrap_or(DEAD);
        let runnable = cur_state == RUNNING || cur_state == RUNNABLE;
        if let Some(t) = cur.as_ref().filter(|t| runnable && !allowed_on(t, c)) {
            // It may no longer run here: queue it where it may (the CPU that takes
            // it waits until this one has switched away from its stack).
            t.sched.state.store(RUNNABLE, Ordering::SeqCst);
            misplaced.push(t.clone());
            cur_state = RUNNABLE;
        }
        let stays = runnable && misplaced.is_empty();
        let mut next = pop_runnable(&mut me, c, &mut misplaced);
        if !misplaced.is_empty() {
            drop(me);
            rehome(core::mem::take(&mut misplaced), c);
            me = cpu(c).lock();
        }
        if next.is_none() && !stays {
            drop(me);
            next = steal(c);
            me = cpu(c).lock();
            // A wake-up may have queued a thread here while the lock was free; it
            // saw this CPU busy and sent no interrupt. So the queue is looked at
            // again after every time the lock was let go, until this CPU either
            // has a thread or goes idle without having let go of it since.
            while next.is_none() {
                next = pop_runnable(&mut me, c, &mut misplaced);
                if misplaced.is_empty() {
                    break;
                }
                drop(me);
                rehome(core::mem::take(&mut misplaced), c);
                me = cpu(c).lock();
            }
        }
        let next = match (next, &cur) {
            (Some(n), _) => Some(n),
            (None, Some(cur)) if stays => Some(cur.clone()),
            // The thread leaves the CPU (it exited or moves away) and nothing
            // else can run: back to the CPU's idle context.
            (None, Some(_)) if cur_state == DEAD || cur_state == RUNNABLE => None,
            _ => {
                // Nothing to run: wait for an interrupt or console input, then look again.
                // A sleeper is off the CPU meanwhile: idle time is nobody's CPU time.
                if let Some(cur) = &cur {
                    if !runnable && !counted {
                        cur.nvcsw.fetch_add(1, Ordering::Relaxed);
                        counted = true;
                    }
                    let since = cur.sched.since.swap(0, Ordering::Relaxed);
                    if since != 0 {
                        let now = elfin_arch::read_cycles();
                        cur.cpu_cycles.fetch_add(now.saturating_sub(since), Ordering::Relaxed);
                        cur.sys_clock_leave_cpu(since, now);
                    }
                }
                me.idle = true;
                drop(me);
                if online() > 1 {
                    // Hold no address space while idle: one that ends can be freed.
                    leave_mm();
                }
                crate::timer::idle_wait(c == 0 && crate::fs::console::has_readers());
                cpu(c).lock().idle = false;
                continue;
            }
        };
        if let (Some(n), Some(cur)) = (&next, &cur) {
            if Arc::ptr_eq(n, cur) {
                cur.sched.state.store(RUNNING, Ordering::SeqCst);
                // Back on the CPU after idling (its clock stopped there): as after
                // a switch, rseq has work to do (Linux switched to its idle task).
                if cur.sched.since.load(Ordering::Relaxed) == 0 {
                    cur.sched.since.store(elfin_arch::read_cycles().max(1), Ordering::Relaxed);
                    cur.sched.rseq_notify.store(true, Ordering::Relaxed);
                }
                drop(me);
                // The CPU may have left the address space while it idled.
                load_root(c, cur.process.mm_root());
                crate::timer::thread_running();
                return;
            }
        }
        if let Some(n) = &next {
            // The thread may still be switching away on another CPU, which may need
            // this CPU's queue before it is done (to rehome, steal or wake a
            // thread): wait without holding the queue, or both CPUs wait forever.
            if n.sched.on_cpu.load(Ordering::Acquire) {
                drop(me);
                while n.sched.on_cpu.load(Ordering::Acquire) {
                    elfin_plat::poll_tlb_flush();
                    core::hint::spin_loop();
                }
                me = cpu(c).lock();
            }
            crate::timer::thread_running();
        }
        let now = elfin_arch::read_cycles();
        let boot_slot = match BOOT_SP.get(c) {
            Some(s) => s,
            None => &BOOT_SP[0],
        };
        let mut prev_slot: *mut u64 = boot_slot.as_ptr();
        if let Some(cur) = &cur {
            // A switch away: involuntary when the thread could have gone on.
            if runnable {
                cur.nivcsw.fetch_add(1, Ordering::Relaxed);
            } else if cur_state != DEAD && !counted {
                cur.nvcsw.fetch_add(1, Ordering::Relaxed);
            }
            // Account the outgoing thread's time slice; save its user TLS and FPU state.
            let since = cur.sched.since.swap(0, Ordering::Relaxed);
            if since != 0 {
                cur.cpu_cycles.fetch_add(now.saturating_sub(since), Ordering::Relaxed);
                cur.sys_clock_leave_cpu(since, now);
            }
            if cur_state != DEAD {
                cur.sched.tls.store(elfin_arch::get_tls(), Ordering::Relaxed);
                let mut f = cur.sched.fpu.lock();
                match &*f {
                    Some(img) => img.save(),
                    None => *f = FpuState::from_current(),
                }
            }
            prev_slot = cur.sched.saved_sp.as_ptr();
        }
        let next_sp = match &next {
            Some(n) => {
                elfin_arch::set_tls(n.sched.tls.load(Ordering::Relaxed));
                if let Some(img) = &*n.sched.fpu.lock() {
                    img.restore();
                }
                load_root(c, n.process.mm_root());
                n.sched.on_cpu.store(true, Ordering::Release);
                n.sched.rseq_notify.store(true, Ordering::Relaxed);
                n.sched.cpu.store(c, Ordering::Release);
                n.sched.state.store(RUNNING, Ordering::SeqCst);
                n.sched.since.store(now.max(1), Ordering::Relaxed);
                n.sched.saved_sp.load(Ordering::Relaxed)
            }
            None => boot_slot.load(Ordering::Relaxed),
        };
        let next_top = next.as_ref().map(|n| n.sched.kstack_top);
        let next_ptr = next.as_ref().map_or(core::ptr::null_mut(), |n| Arc::as_ptr(n).cast_mut());
        me.current = next;
        CURRENT[c].store(next_ptr, Ordering::Release);
        elfin_arch::set_cpu_current(next_ptr as usize);
        if let Some(cur) = cur {
            if cur_state == DEAD {
                me.dead.push(cur.clone());
            }
            me.prev = Some(cur);
        }
        drop(me);
        if let Some(top) = next_top {
            elfin_arch::set_kernel_stack(top);
        }
        crate::time::phases::SWITCHES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `next_sp` was saved by a previous switch (of a thread or of this
        // CPU's idle context, which is parked in this function whenever a thread
        // runs) or built by init_thread_stack for a live thread that no CPU is on
        // (`on_cpu` was clear); `prev_slot` points into a Thread kept alive by this
        // CPU's `prev` until the switch is finished, or into this CPU's boot slot.
        unsafe { elfin_arch::switch_context(prev_slot, next_sp) };
        finish_switch();
        return;
    }
}

/// Completes a switch on the thread that now runs: the CPU is off the previous
/// thread's stack, which may now run elsewhere (or be freed if it exited).
fn finish_switch() {
    let prev = cpu(this_cpu()).lock().prev.take();
    if let Some(p) = prev {
        p.sched.on_cpu.store(false, Ordering::Release);
    }
    reap_dead();
    free_retired();
}

/// Hook run by every new thread before it first enters user mode.
pub fn thread_started() {
    finish_switch();
    // Its first return to user mode publishes its CPU in its rseq area (a fork
    // child's is its parent's copy), as every later return does.
    if current_held().is_some() {
        super::rseq::on_thread_start(&super::Ctx::current());
    }
}

/// Frees the kernel stacks of exited threads other than the running one.
pub fn reap_dead() {
    let dead: Vec<Arc<Thread>> = {
        let mut me = cpu(this_cpu()).lock();
        let cur = me.current.clone();
        let (gone, keep): (Vec<_>, Vec<_>) = me.dead.drain(..).partition(|t| {
            cur.as_ref().map(|c| !Arc::ptr_eq(c, t)).unwrap_or(true) && !t.sched.on_cpu.load(Ordering::Acquire)
        });
        me.dead = keep;
        gone
    };
    for t in dead {
        crate::mem::free_kernel_stack(t.sched.kstack_top);
        *t.sched.fpu.lock() = None;
    }
}

/// Invalidates the TLBs of the other CPUs that have page-table root `root`
/// loaded (after mappings were removed or made stricter).
pub fn shootdown(root: u64) {
    let n = online();
    if n <= 1 {
        return;
    }
    // The page-table writes come before the look at who has the root loaded (a
    // CPU records a root before it loads it; see `load_root`).
    core::sync::atomic::fence(Ordering::SeqCst);
    let me = this_cpu();
    for i in (0..n).filter(|&i| i != me) {
        if ACTIVE_ROOT[i].load(Ordering::SeqCst) == root {
            elfin_plat::flush_tlb_on(i);
        }
    }
}

/// Page-table root with no user mappings, loaded while the CPU has no address
/// space to be in (an exiting process's is about to be freed).
static IDLE_ROOT: AtomicU64 = AtomicU64::new(0);

/// Records the root of the empty user page table (at boot).
pub fn set_idle_root(root: u64) {
    IDLE_ROOT.store(root, Ordering::Relaxed);
}

/// Loads page-table root `root` on CPU `c` (the caller's) unless it is loaded.
fn load_root(c: usize, root: u64) {
    let Some(slot) = ACTIVE_ROOT.get(c) else { return };
    if root != 0 && slot.load(Ordering::Relaxed) != root {
        slot.store(root, Ordering::SeqCst);
        elfin_arch::PageTable::from_root(root).activate();
    }
}

/// Leaves the current address space for the empty one (before it is freed).
pub fn leave_mm() {
    load_root(this_cpu(), IDLE_ROOT.load(Ordering::Relaxed));
}

/// Loads the page table of the running thread's process (after execve replaced it).
pub fn reload_mm() {
    let Some(t) = try_current() else { return };
    load_root(this_cpu(), t.process.mm_root());
}

/// Roots of freed address spaces that some CPU still had loaded.
static RETIRED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static RETIRED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Frees the root frame of an address space that was freed, once no CPU has it
/// loaded (the caller's CPU must have left it).
pub fn retire_root(root: u64) {
    RETIRED.lock().push(root);
    RETIRED_COUNT.fetch_add(1, Ordering::SeqCst);
    free_retired();
}

/// Frees the retired roots that no CPU has loaded any more.
fn free_retired() {
    if RETIRED_COUNT.load(Ordering::SeqCst) == 0 {
        return;
    }
    let n = online();
    let mut freed = Vec::new();
    {
        let mut r = RETIRED.lock();
        r.retain(|&root| {
            let loaded = (0..n).any(|i| ACTIVE_ROOT[i].load(Ordering::SeqCst) == root);
            if !loaded {
                freed.push(root);
            }
            loaded
        });
        RETIRED_COUNT.store(r.len(), Ordering::SeqCst);
    }
    for root in freed {
        crate::mem::frames::free(root, 1);
    }
}
