//! Threads and processes: the objects, the process table, the scheduler, wait
//! queues, signals, and the life cycle (clone, execve, exit, wait).
//!
//! # The object model
//! A [`Thread`] is what the scheduler runs; it points to its [`Process`] (its
//! thread group). A process owns, each behind an `Arc` that `clone` shares or
//! copies as its flags say: the address space ([`Mm`], CLONE_VM), the descriptor
//! table ([`Files`], CLONE_FILES), the filesystem context ([`FsShared`]: cwd, root,
//! umask; CLONE_FS) and the signal handlers ([`SigHand`], CLONE_SIGHAND); plus its
//! ids, parent and children, credentials, limits and pending signals.
//!
//! # Locks
//! Every object has its own lock; no spin lock is held across a sleep. When several are
//! needed they are taken in this order (an earlier one may be held while taking a
//! later one, never the reverse):
//! 1. the process table ([`table`]);
//! 2. a process's `rel` (parent before child), then its `state`;
//! 3. a process's `threads`;
//! 4. signal handlers, then a thread's `sig` or the process's `shared_pending`;
//! 5. a descriptor table, then an open file's own state (pipe buffer, offset, …);
//! 6. an address space ([`Mm`], a sleeping lock: taken with no spin lock held);
//!    then the futex table;
//! 7. wait-queue lists; then the run queue and timers ([`sched`]);
//! 8. the frame allocator and the kernel heap.
//!
//! A handler receives a [`Ctx`] (the calling thread and process) and locks only
//! what it touches, briefly.
pub mod caps;
pub mod cputimer;
pub mod exec;
pub mod exit;
pub mod ext;
pub mod fork;
pub mod futex;
pub mod itimer;
pub mod loadavg;
pub mod ptimer;
pub mod rlimit;
pub mod rseq;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod table;
pub mod wait;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use crate::sync::{Mutex, SleepGuard, SleepLock};
use elfin_kcore::SigQueue;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::{KernelSigaction, Siginfo, StackT};
use elfin_shim::UAddr;

use crate::fs::file::{FdTable, OpenFile};
use crate::mem::vm::AddrSpace;

pub use wait::{WaitQueue, Wake};

/// An address space, shared by the threads (and vfork children) that use it.
pub type Mm = SleepLock<AddrSpace>;
/// A descriptor table, shared under CLONE_FILES.
pub type Files = Mutex<FdTable>;
/// Signal dispositions (index = signal - 1), shared under CLONE_SIGHAND.
pub type SigHand = Mutex<[KernelSigaction; 64]>;
/// Filesystem context, shared under CLONE_FS.
pub type FsShared = Mutex<FsContext>;

/// Number of resource limits (RLIMIT_NLIMITS).
pub const NLIMITS: usize = 16;
/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Where a process resolves paths.
#[derive(Clone, Debug)]
pub struct FsContext {
    /// Canonical absolute working directory.
    pub cwd: Vec<u8>,
    /// Canonical absolute root directory (chroot), `/` at first.
    pub root: Vec<u8>,
    /// File-creation mask.
    pub umask: u32,
}

/// Signal state of one thread.
pub struct ThreadSignals {
    /// Blocked signals.
    pub mask: u64,
    /// Mask to restore once a handler started from sigsuspend/ppoll/pselect has run
    /// (or at once when no handler runs).
    pub saved_mask: Option<u64>,
    /// Signals sent to this thread.
    pub pending: SigQueue<Siginfo>,
    /// Alternate signal stack.
    pub altstack: StackT,
}

/// Small per-thread state that system calls read and change.
pub struct ThreadMisc {
    /// CLONE_CHILD_CLEARTID / set_tid_address pointer.
    pub clear_child_tid: u64,
    /// set_robust_list head and length.
    pub robust_list: (u64, usize),
    /// Thread name (prctl PR_SET_NAME), empty until set.
    pub comm: [u8; 16],
    /// rseq registration: (address, length, signature).
    pub rseq: Option<(u64, u32, u32)>,
    /// What restart_syscall resumes: the deadline of an interrupted relative sleep
    /// and where its remaining time goes (Linux's restart_block).
    pub restart_sleep: Option<(u64, u64)>,
    /// State of the less central interfaces (scheduling attributes, …).
    pub ext: ext::ThreadExt,
    /// Strict mode or seccomp filters (inherited by clone and fork, kept by execve).
    pub seccomp: seccomp::Seccomp,
}

/// A thread of a process.
pub struct Thread {
    /// Thread id (the process id for the first thread; an execve from another
    /// thread hands it the process id).
    tid: AtomicI32,
    /// The thread group.
    pub process: Arc<Process>,
    /// Scheduler state (run state, saved kernel stack, FPU image).
    pub(crate) sched: sched::SchedState,
    /// Signal state.
    pub sig: Mutex<ThreadSignals>,
    /// Set when a signal may be deliverable (checked on every return to user mode
    /// without taking a lock).
    pub sig_hint: AtomicBool,
    /// Set by an execve in another thread of the process: this thread ends.
    pub exec_killed: AtomicBool,
    /// The thread has exited: it leaves the CPU for good once its system call or
    /// trap has unwound (so that nothing it held on its stack stays referenced).
    pub exited: AtomicBool,
    /// Miscellaneous state.
    pub misc: Mutex<ThreadMisc>,
    /// CPU time used, in cycles of the CPU clock (updated when the thread leaves
    /// the CPU); cycles, not ns, so that accounting costs no division.
    pub cpu_cycles: AtomicU64,
    /// The part of `cpu_cycles` spent in system calls (system time).
    pub sys_cycles: AtomicU64,
    /// Switches away from the thread after it blocked (voluntary).
    pub nvcsw: AtomicU64,
    /// Switches away from the thread while it could have gone on (involuntary).
    pub nivcsw: AtomicU64,
    /// What a system call left for its slow path (the syscall module's
    /// encoding: number and restart kind; 0 when it left nothing), and the
    /// call's first argument: only the thread itself uses them.
    pub(crate) sys_left: [AtomicU64; 2],
    /// Counter value when the running system call started (0: none is timed).
    pub(crate) sys_at: AtomicU64,
    /// A decoded system call that needs the whole frame, handed from the fast
    /// path to the slow one (the syscall module).
    pub(crate) sys_call: Mutex<Option<elfin_shim::Call>>,
    /// Cycle counter when the thread was made (its start time).
    pub start_cycles: u64,
    /// Page faults this thread took (RUSAGE_THREAD's ru_minflt).
    pub minflt: AtomicU64,
}

/// Parent, children, group and session of a process.
pub struct Relations {
    /// The parent (None for pid 1, or once the parent is gone and none adopted it).
    pub parent: Option<alloc::sync::Weak<Process>>,
    /// Children not reaped yet.
    pub children: Vec<Arc<Process>>,
}

/// Why and how a process ended, as wait reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit/exit_group with this code (0–255).
    Exited(u8),
    /// Killed by this signal.
    Killed(u32),
}

impl ExitStatus {
    /// The `wait` status word (WIFEXITED/WIFSIGNALED encoding; no core dumps).
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => i32::from(c) << 8,
            ExitStatus::Killed(s) => (s & 0x7f) as i32,
        }
    }
    /// The status a shell would show (128 + N for signal N).
    pub fn shell_status(self) -> u8 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Killed(s) => (128 + s.min(127)) as u8,
        }
    }
}

/// A change of a child that `wait` reports once (WUNTRACED/WCONTINUED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobReport {
    /// Stopped by this signal.
    Stopped(u32),
    /// Continued by SIGCONT.
    Continued,
}

/// Life-cycle state of a process.
pub struct ProcState {
    /// Set once the whole group is going away (exit_group, a fatal signal, or exec
    /// killing the other threads): the status to report.
    pub exiting: Option<ExitStatus>,
    /// Every thread has exited: the process waits to be reaped.
    pub zombie: bool,
    /// Live threads.
    pub live_threads: usize,
    /// Group stop in effect (the stop signal).
    pub stopped: Option<u32>,
    /// Job-control change not yet reported to a waiting parent.
    pub report: Option<JobReport>,
    /// The process has called execve (setpgid on it then gives EACCES).
    pub execed: bool,
    /// A thread (the execve caller) waits for the others to go.
    pub exec_waiter: Option<i32>,
}

/// Identity and settings of a process that system calls read and change.
pub struct ProcInfo {
    /// Guest path of the executable.
    pub exe: Vec<u8>,
    /// Arguments the program started with.
    pub argv: Vec<Vec<u8>>,
    /// Environment the program started with.
    pub envp: Vec<Vec<u8>>,
    /// The auxiliary vector it started with, as (type, value) words.
    pub auxv: Vec<u64>,
    /// Resource limits (soft, hard).
    pub rlimits: [(u64, u64); NLIMITS],
    /// PR_SET_PDEATHSIG.
    pub pdeathsig: i32,
    /// PR_SET_DUMPABLE.
    pub dumpable: u8,
    /// PR_SET_CHILD_SUBREAPER.
    pub subreaper: bool,
    /// Nice value.
    pub nice: i32,
    /// Signal sent to the parent at exit (SIGCHLD, or what clone's flags said; 0: none).
    pub exit_signal: u32,
    /// Terminal size reported by TIOCGWINSZ.
    pub winsize: (u16, u16),
    /// Log every system call.
    pub strace: bool,
}

/// CPU time and peak memory of a process's dead threads, old address spaces and
/// reaped children.
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuTimes {
    /// Threads of this process that have exited, in CPU cycles (converted when
    /// read: a thread's exit needs no clock calibration).
    pub dead_threads_cycles: u64,
    /// The system-time part of `dead_threads_cycles`.
    pub dead_sys_cycles: u64,
    /// Reaped children (and their reaped children), in ns.
    pub children_ns: u64,
    /// The system-time part of `children_ns`.
    pub children_sys_ns: u64,
    /// Page faults of reaped children (and theirs).
    pub children_minflt: u64,
    /// Context switches of the dead threads: voluntary (it blocked), involuntary
    /// (it was preempted or yielded).
    pub dead_switches: Switches,
    /// Context switches of reaped children (and theirs).
    pub children_switches: Switches,
    /// The largest resident set of the address spaces this process has left
    /// (exec, exit), in pages (Linux's signal->maxrss).
    pub maxrss: u64,
    /// The largest resident set of a reaped child (or theirs), in pages.
    pub children_maxrss: u64,
}

/// What a process read and wrote through read- and write-family system calls
/// (/proc/PID/io): its own and its reaped children's, as Linux counts them.
#[derive(Default, Debug)]
pub struct IoAcct {
    /// Bytes read (rchar).
    pub rchar: AtomicU64,
    /// Bytes written (wchar).
    pub wchar: AtomicU64,
    /// Read calls (syscr).
    pub syscr: AtomicU64,
    /// Write calls (syscw).
    pub syscw: AtomicU64,
}

impl IoAcct {
    /// Counts a read call that moved `bytes`.
    pub fn read(&self, bytes: u64) {
        self.syscr.fetch_add(1, Ordering::Relaxed);
        self.rchar.fetch_add(bytes, Ordering::Relaxed);
    }
    /// Counts a write call that moved `bytes`.
    pub fn write(&self, bytes: u64) {
        self.syscw.fetch_add(1, Ordering::Relaxed);
        self.wchar.fetch_add(bytes, Ordering::Relaxed);
    }
    /// The four counts: rchar, wchar, syscr, syscw.
    pub fn get(&self) -> [u64; 4] {
        [&self.rchar, &self.wchar, &self.syscr, &self.syscw].map(|a| a.load(Ordering::Relaxed))
    }
    /// Adds a reaped child's counts.
    pub fn add(&self, c: [u64; 4]) {
        for (a, v) in [&self.rchar, &self.wchar, &self.syscr, &self.syscw].into_iter().zip(c) {
            a.fetch_add(v, Ordering::Relaxed);
        }
    }
}

/// Context switches away from a thread (getrusage's ru_nvcsw and ru_nivcsw).
#[derive(Clone, Copy, Default, Debug)]
pub struct Switches {
    /// The thread blocked (waited, slept).
    pub voluntary: u64,
    /// The thread could have gone on (preempted, sched_yield).
    pub involuntary: u64,
}

impl core::ops::Add for Switches {
    type Output = Switches;
    fn add(self, o: Switches) -> Switches {
        Switches { voluntary: self.voluntary + o.voluntary, involuntary: self.involuntary + o.involuntary }
    }
}

/// A process (thread group).
pub struct Process {
    /// Process id.
    pub pid: i32,
    /// Process group id.
    pub pgid: AtomicI32,
    /// Session id.
    pub sid: AtomicI32,
    /// The parent's pid (kept with `rel.parent`, read without a lock).
    ppid: AtomicI32,
    mm: Mutex<Option<Arc<Mm>>>,
    mm_root: AtomicU64,
    files: Mutex<Option<Arc<Files>>>,
    fs: Mutex<Arc<FsShared>>,
    sighand: Mutex<Arc<SigHand>>,
    /// Live threads.
    pub threads: Mutex<Vec<Arc<Thread>>>,
    /// Parent and children.
    pub rel: Mutex<Relations>,
    /// Life-cycle state.
    pub state: Mutex<ProcState>,
    /// Woken when a child changes state (wait4/waitid sleep here).
    pub child_wq: WaitQueue,
    /// Woken when this process's state changes (exit, stop, exec): vfork parents,
    /// an execve waiting for the other threads, pidfd pollers.
    pub state_wq: WaitQueue,
    /// Signals sent to the whole process.
    pub shared_pending: Mutex<SigQueue<Siginfo>>,
    /// Identity and settings.
    pub info: Mutex<ProcInfo>,
    /// The vfork parent thread waiting for this process's child thread (its tid)
    /// to exec or exit: the process's only thread, or with CLONE_THREAD a new
    /// thread of the caller's own process.
    pub vfork_parent: Mutex<Option<(Arc<Thread>, i32)>>,
    /// CPU time accounting.
    pub times: Mutex<CpuTimes>,
    /// Page faults resolved for the process (ru_minflt), counted without a lock on
    /// the fault path.
    pub minflt: AtomicU64,
    /// The armed real-time interval timer (alarm, ITIMER_REAL).
    pub itimer: Mutex<Option<itimer::Armed>>,
    /// Credentials.
    pub cred: Mutex<Cred>,
    /// State of the less central interfaces (timers, undo lists, …).
    pub ext: Mutex<ext::ProcExt>,
    /// Cycle counter when the process was made (its start time).
    pub start_cycles: u64,
    /// Read and write accounting.
    pub io: IoAcct,
}

/// User and group ids of a process (real, effective, saved, filesystem) and its
/// supplementary groups.
#[derive(Clone, Debug, Default)]
pub struct Cred {
    /// Real, effective, saved and filesystem user ids.
    pub uid: [u32; 4],
    /// Real, effective, saved and filesystem group ids.
    pub gid: [u32; 4],
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Capability sets (every capability for root).
    pub caps: caps::Caps,
}

pub use caps::{CAP_SYS_TIME, CAP_WAKE_ALARM};

impl Cred {
    /// Whether capability `cap` is in the effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.effective & caps::bit(cap) != 0
    }
    /// The capability that changing user ids (`group` false) or group ids needs.
    pub fn capable_setid(&self, group: bool) -> bool {
        self.capable(if group { caps::CAP_SETGID } else { caps::CAP_SETUID })
    }
    /// Whether these credentials may access a node with `meta` for `mask` (4
    /// read, 2 write, 1 execute), as Linux's generic_permission with its
    /// capabilities.
    pub fn may(&self, meta: &crate::fs::Meta, mask: u32) -> bool {
        let bits = if self.uid[3] == meta.uid {
            (meta.mode >> 6) & 7
        } else if self.gid[3] == meta.gid || self.groups.contains(&meta.gid) {
            (meta.mode >> 3) & 7
        } else {
            meta.mode & 7
        };
        if bits & mask == mask {
            return true;
        }
        let dir = meta.mode & elfin_shim::uapi::stat_mode::S_IFMT == elfin_shim::uapi::stat_mode::S_IFDIR;
        if self.capable(caps::CAP_DAC_OVERRIDE) {
            // Execution still needs some x bit on a file.
            return mask & 1 == 0 || dir || meta.mode & 0o111 != 0;
        }
        self.capable(caps::CAP_DAC_READ_SEARCH) && (mask == 4 || (dir && mask & 2 == 0))
    }
    /// After a change of user ids from `old` ([real, effective, saved, fs]):
    /// capabilities follow as Linux's cap_emulate_setxuid/setfsuid say.
    pub fn uids_changed(&mut self, old: [u32; 4]) {
        let new = self.uid;
        self.caps.after_setuid([old[0], old[1], old[2]], [new[0], new[1], new[2]]);
        self.caps.after_setfsuid(old[3], new[3]);
    }
}

/// Whether the calling thread passes every directory search check (it has
/// CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH, or there is no calling thread): a
/// path walk then checks nothing per component.
pub fn searches_anywhere() -> bool {
    let Some((_, proc)) = sched::current_held() else { return true };
    let c = proc.cred.lock();
    c.capable(caps::CAP_DAC_OVERRIDE) || c.capable(caps::CAP_DAC_READ_SEARCH)
}

/// Whether the calling thread may look into the directory `dir` (search, as
/// Linux's may_lookup asks of every directory a path walk looks into). Kernel
/// work with no calling thread may.
pub fn may_search(dir: &dyn crate::fs::Inode) -> bool {
    let Some((_, proc)) = sched::current_held() else { return true };
    if dir.open_to_caller() {
        return true;
    }
    {
        let c = proc.cred.lock();
        if c.capable(caps::CAP_DAC_OVERRIDE) || c.capable(caps::CAP_DAC_READ_SEARCH) {
            return true;
        }
    }
    // The node's metadata is read without the credentials' lock held.
    let meta = dir.meta();
    let ok = proc.cred.lock().may(&meta, 1);
    ok
}

impl Process {
    /// The address space (a process with a running thread always has one).
    pub fn mm(&self) -> Arc<Mm> {
        match self.try_mm() {
            Some(m) => m,
            None => panic!("process {} has no address space", self.pid),
        }
    }
    /// The address space, unless the process has ended.
    pub fn try_mm(&self) -> Option<Arc<Mm>> {
        self.mm.lock().clone()
    }
    /// Gives up the address space (at exit), keeping its peak resident set.
    pub fn take_mm(&self) -> Option<Arc<Mm>> {
        let old = self.mm.lock().take();
        if let Some(m) = &old {
            self.keep_peak_rss(m);
        }
        old
    }
    /// Folds the peak resident set of `mm`, which this process leaves, into ru_maxrss.
    fn keep_peak_rss(&self, mm: &Mm) {
        let peak = mm.lock().peak_rss_pages();
        let mut t = self.times.lock();
        t.maxrss = t.maxrss.max(peak);
    }
    /// The largest resident set so far, in pages: the current address space's and
    /// those left (ru_maxrss of RUSAGE_SELF).
    pub fn peak_rss_pages(&self) -> u64 {
        let now = self.try_mm().map_or(0, |m| m.lock().peak_rss_pages());
        self.times.lock().maxrss.max(now)
    }
    /// Page-table root of the address space (for context switches).
    pub fn mm_root(&self) -> u64 {
        self.mm_root.load(Ordering::Acquire)
    }
    /// Replaces the address space (execve); returns the old one.
    pub fn set_mm(&self, mm: Arc<Mm>) -> Option<Arc<Mm>> {
        let root = mm.lock().pt.root();
        let old = self.mm.lock().replace(mm);
        self.mm_root.store(root, Ordering::Release);
        if let Some(m) = &old {
            self.keep_peak_rss(m);
        }
        old
    }
    /// The descriptor table (empty once the process has ended).
    pub fn files(&self) -> Arc<Files> {
        self.files.lock().clone().unwrap_or_default()
    }
    /// Replaces the descriptor table; returns the old one.
    pub fn set_files(&self, f: Arc<Files>) -> Option<Arc<Files>> {
        self.files.lock().replace(f)
    }
    /// Gives up the descriptor table (at exit).
    pub fn take_files(&self) -> Option<Arc<Files>> {
        self.files.lock().take()
    }
    /// The filesystem context.
    pub fn fs(&self) -> Arc<FsShared> {
        self.fs.lock().clone()
    }
    /// Replaces the filesystem context (unshare(CLONE_FS)).
    pub fn set_fs(&self, fs: Arc<FsShared>) {
        *self.fs.lock() = fs;
    }
    /// The signal handlers.
    pub fn sighand(&self) -> Arc<SigHand> {
        self.sighand.lock().clone()
    }
    /// Replaces the signal handlers (execve unsharing them).
    pub fn set_sighand(&self, h: Arc<SigHand>) {
        *self.sighand.lock() = h;
    }
    /// The parent process, if it is still there.
    pub fn parent(&self) -> Option<Arc<Process>> {
        self.rel.lock().parent.as_ref().and_then(|w| w.upgrade())
    }
    /// The parent's pid as getppid reports it (0 when there is none).
    pub fn ppid(&self) -> i32 {
        self.ppid.load(Ordering::Relaxed)
    }
    /// Hands the process to a new parent (or none).
    pub fn set_parent(&self, parent: Option<&Arc<Process>>) {
        self.rel.lock().parent = parent.map(Arc::downgrade);
        self.ppid.store(parent.map(|p| p.pid).unwrap_or(0), Ordering::Relaxed);
    }
    /// True once the process is a zombie or on its way there.
    pub fn is_exiting(&self) -> bool {
        let s = self.state.lock();
        s.zombie || s.exiting.is_some()
    }
    /// The command name (the executable's file name, 15 bytes at most).
    pub fn comm(&self) -> Vec<u8> {
        let info = self.info.lock();
        let name = info.exe.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
        name.get(..name.len().min(15)).unwrap_or(&[]).to_vec()
    }
    /// The soft limit of resource `r`.
    pub fn rlimit(&self, r: u32) -> u64 {
        self.rlimits(r).0
    }
    /// Soft and hard limit of resource `r`.
    pub fn rlimits(&self, r: u32) -> (u64, u64) {
        self.info.lock().rlimits.get(r as usize).copied().unwrap_or((RLIM_INFINITY, RLIM_INFINITY))
    }
    /// Total CPU time of the live and dead threads, in ns.
    pub fn cpu_ns(&self) -> u64 {
        let live: u64 = self.threads.lock().iter().map(|t| t.cpu_cycles()).sum();
        crate::time::cycles_to_ns(live + self.times.lock().dead_threads_cycles)
    }
    /// System time of the live and dead threads, in ns.
    pub fn sys_ns(&self) -> u64 {
        let live: u64 = self.threads.lock().iter().map(|t| t.sys_cycles()).sum();
        crate::time::cycles_to_ns(live + self.times.lock().dead_sys_cycles)
    }
    /// Context switches of the live and dead threads.
    pub fn switches(&self) -> Switches {
        let live = self.threads.lock().iter().fold(Switches::default(), |acc, t| acc + t.switches());
        live + self.times.lock().dead_switches
    }
}

impl Thread {
    /// A thread record; it runs once [`sched::start`]ed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        tid: i32,
        process: Arc<Process>,
        sched: sched::SchedState,
        mask: u64,
        altstack: StackT,
        misc: ThreadMisc,
    ) -> Arc<Thread> {
        Arc::new(Thread {
            tid: AtomicI32::new(tid),
            process,
            sched,
            sig: Mutex::new(ThreadSignals { mask, saved_mask: None, pending: SigQueue::new(), altstack }),
            sig_hint: AtomicBool::new(false),
            exec_killed: AtomicBool::new(false),
            exited: AtomicBool::new(false),
            misc: Mutex::new(misc),
            cpu_cycles: AtomicU64::new(0),
            sys_cycles: AtomicU64::new(0),
            nvcsw: AtomicU64::new(0),
            nivcsw: AtomicU64::new(0),
            sys_left: [AtomicU64::new(0), AtomicU64::new(0)],
            sys_at: AtomicU64::new(0),
            sys_call: Mutex::new(None),
            start_cycles: elfin_arch::read_cycles(),
            minflt: AtomicU64::new(0),
        })
    }
    /// Thread id.
    pub fn tid(&self) -> i32 {
        self.tid.load(Ordering::Relaxed)
    }
    /// Takes the id `tid` (execve from a thread other than the first).
    pub(crate) fn set_tid(&self, tid: i32) {
        self.tid.store(tid, Ordering::Relaxed);
    }
    /// CPU cycles used so far (including the current time slice when running).
    #[inline]
    pub fn cpu_cycles(&self) -> u64 {
        self.cpu_cycles.load(Ordering::Relaxed) + sched::running_cycles(self)
    }
    /// Starts timing a system call of the running thread (see [`Thread::sys_clock_end`]).
    #[inline(always)]
    pub(crate) fn sys_clock_start(&self) {
        // The counter is far from 0 by the time a program runs: 0 means "not timing".
        self.sys_at.store(elfin_arch::read_cycles(), Ordering::Relaxed);
    }
    /// Adds the CPU time of the system call since [`Thread::sys_clock_start`] to the
    /// system time: the part in the current time slice (the scheduler added the
    /// parts in earlier slices when the thread left the CPU).
    #[inline(always)]
    pub(crate) fn sys_clock_end(&self) {
        let now = elfin_arch::read_cycles();
        let at = self.sys_at.load(Ordering::Relaxed);
        // A running thread's slice start is never 0; one after `at` began during the call.
        let from = at.max(self.sched.slice_start());
        // Only the thread itself, or the scheduler while the thread is off the CPU
        // (`sys_clock_leave_cpu`), adds to its system time: no read-modify-write race.
        self.sys_cycles
            .store(self.sys_cycles.load(Ordering::Relaxed).wrapping_add(now.wrapping_sub(from)), Ordering::Relaxed);
        self.sys_at.store(0, Ordering::Relaxed);
    }
    /// Adds `cycles` the running thread spent in a system call that did not leave
    /// the CPU to its system time.
    #[inline(always)]
    pub(crate) fn add_sys_cycles(&self, cycles: u64) {
        // Only the thread itself adds while it runs (see `sys_clock_end`).
        self.sys_cycles.store(self.sys_cycles.load(Ordering::Relaxed).wrapping_add(cycles), Ordering::Relaxed);
    }
    /// The thread leaves the CPU after a time slice that began at `since`: the part
    /// of it spent in a system call being timed is system time.
    #[inline]
    pub(crate) fn sys_clock_leave_cpu(&self, since: u64, now: u64) {
        let at = self.sys_at.load(Ordering::Relaxed);
        if at != 0 {
            self.sys_cycles.fetch_add(now.saturating_sub(at.max(since)), Ordering::Relaxed);
        }
    }
    /// CPU time used so far (including the current time slice when running).
    pub fn cpu_ns(&self) -> u64 {
        crate::time::cycles_to_ns(self.cpu_cycles())
    }
    /// Context switches away from this thread so far.
    pub fn switches(&self) -> Switches {
        Switches { voluntary: self.nvcsw.load(Ordering::Relaxed), involuntary: self.nivcsw.load(Ordering::Relaxed) }
    }
    /// System time used so far (never more than the CPU time).
    pub fn sys_ns(&self) -> u64 {
        crate::time::cycles_to_ns(self.sys_cycles())
    }
    /// System cycles used so far (never more than the CPU cycles).
    pub fn sys_cycles(&self) -> u64 {
        self.sys_cycles.load(Ordering::Relaxed).min(self.cpu_cycles())
    }
    /// The thread name as prctl(PR_GET_NAME) and /proc report it.
    pub fn comm(&self) -> Vec<u8> {
        let c = self.misc.lock().comm;
        if c[0] != 0 {
            let n = c.iter().position(|&b| b == 0).unwrap_or(16);
            return c.get(..n).unwrap_or(&[]).to_vec();
        }
        self.process.comm()
    }
    /// Names the thread (prctl PR_SET_NAME, a write to /proc/…/comm): the first
    /// 15 bytes of `name`, up to a NUL.
    pub fn set_comm(&self, name: &[u8]) {
        let mut comm = [0u8; 16];
        for (d, s) in comm.iter_mut().zip(name.iter().take(15)) {
            *d = *s;
        }
        self.misc.lock().comm = comm;
    }
}

/// Linux's default limits for a process started by root in a container.
pub fn default_rlimits() -> [(u64, u64); NLIMITS] {
    let mut r = [(RLIM_INFINITY, RLIM_INFINITY); NLIMITS];
    r[3] = (8 << 20, RLIM_INFINITY); // RLIMIT_STACK
    r[4] = (0, RLIM_INFINITY); // RLIMIT_CORE
    r[6] = (63_704, 63_704); // RLIMIT_NPROC
    r[7] = (1024, 1_048_576); // RLIMIT_NOFILE
    r[8] = (8 << 20, 8 << 20); // RLIMIT_MEMLOCK
    r[11] = (63_704, 63_704); // RLIMIT_SIGPENDING
    r[12] = (819_200, 819_200); // RLIMIT_MSGQUEUE
    r[13] = (0, 0); // RLIMIT_NICE
    r[14] = (0, 0); // RLIMIT_RTPRIO
    r
}

/// What a system-call handler works on: the calling thread and its process, with
/// short-lived access to the objects they own.
pub struct Ctx {
    /// The calling thread.
    pub thread: sched::Held<Thread>,
    /// Its process.
    pub proc: sched::Held<Process>,
    /// The address space the call started in (looked up on first use).
    mm: core::cell::OnceCell<Arc<Mm>>,
    /// The system call's number and first argument (to restart it).
    pub(crate) nr: usize,
    pub(crate) arg0: u64,
    /// How an interrupted call may be restarted (set with [`Ctx::interrupted`]).
    pub(crate) restart: core::cell::Cell<Restart>,
}

/// What to do with a system call that a signal interrupted (Linux's ERESTART*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Not restartable: EINTR.
    Never,
    /// ERESTARTSYS: restarted unless a handler without SA_RESTART runs.
    Sys,
    /// ERESTARTNOHAND: restarted only when no handler runs.
    NoHand,
    /// ERESTART_RESTARTBLOCK: when no handler runs, restart_syscall resumes the
    /// call from the state the thread kept; else EINTR.
    Block,
}

impl Ctx {
    /// The context of the running thread making system call `nr` with first argument `arg0`.
    #[inline(always)]
    pub(crate) fn for_call(nr: usize, arg0: u64) -> Ctx {
        let Some((thread, proc)) = sched::current_held() else { panic!("no current thread") };
        Ctx { thread, proc, mm: core::cell::OnceCell::new(), nr, arg0, restart: core::cell::Cell::new(Restart::Never) }
    }
    /// The context of the running thread.
    #[inline(always)]
    pub fn current() -> Ctx {
        let Some((thread, proc)) = sched::current_held() else { panic!("no current thread") };
        Ctx {
            thread,
            proc,
            mm: core::cell::OnceCell::new(),
            nr: 0,
            arg0: 0,
            restart: core::cell::Cell::new(Restart::Never),
        }
    }
    /// The address space, locked.
    pub fn mm(&self) -> SleepGuard<'_, AddrSpace> {
        self.mm_arc().lock()
    }
    /// The shared address-space object.
    pub fn mm_arc(&self) -> &Arc<Mm> {
        self.mm.get_or_init(|| self.proc.mm())
    }
    /// Uses a new address space from now on (after execve).
    pub fn switch_mm(&mut self, mm: Arc<Mm>) {
        self.mm = core::cell::OnceCell::from(mm);
    }
    /// The open file behind `fd`.
    pub fn fd(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        self.proc.files().lock().get(fd)
    }
    /// The descriptor table.
    pub fn files(&self) -> Arc<Files> {
        self.proc.files()
    }
    /// The filesystem context.
    pub fn fs(&self) -> Arc<FsShared> {
        self.proc.fs()
    }
    /// The working directory.
    pub fn cwd(&self) -> Vec<u8> {
        self.proc.fs().lock().cwd.clone()
    }
    /// The root directory (chroot).
    pub fn root(&self) -> Vec<u8> {
        self.proc.fs().lock().root.clone()
    }
    /// The root directory when it is not `/` (no copy in the common case). The
    /// lock is not held during a walk: a /proc link's text takes it.
    fn chroot_dir(&self) -> Option<Vec<u8>> {
        let fs = self.proc.fs();
        let c = fs.lock();
        (c.root != b"/").then(|| c.root.clone())
    }
    /// Resolves a path the caller gave, from its root directory and `base`.
    pub fn resolve(&self, base: &[u8], path: &[u8], follow_last: bool) -> Result<crate::fs::Resolved, Errno> {
        let root = self.chroot_dir();
        crate::fs::resolve_as(root.as_deref().unwrap_or(b"/"), base, path, follow_last)
    }
    /// Resolves all but the last component of a path the caller gave.
    pub fn resolve_parent(&self, base: &[u8], path: &[u8]) -> Result<(crate::fs::Resolved, Vec<u8>), Errno> {
        let root = self.chroot_dir();
        crate::fs::resolve_parent_as(root.as_deref().unwrap_or(b"/"), base, path)
    }
    /// Marks the call as interrupted by a signal and returns EINTR; `how` says
    /// whether it may be restarted instead.
    pub fn interrupted(&self, how: Restart) -> Errno {
        self.restart.set(how);
        Errno::EINTR
    }
    /// Copies `buf.len()` bytes from user memory.
    pub fn read_bytes(&self, a: UAddr, buf: &mut [u8]) -> Result<(), Errno> {
        crate::uaccess::read_bytes(&mut self.mm(), a, buf)
    }
    /// Copies `data` to user memory.
    pub fn write_bytes(&self, a: UAddr, data: &[u8]) -> Result<(), Errno> {
        crate::uaccess::write_bytes(&mut self.mm(), a, data)
    }
    /// Reads a plain-data value from user memory.
    pub fn read_val<T: bytemuck::Pod>(&self, a: UAddr) -> Result<T, Errno> {
        crate::uaccess::read_val(&mut self.mm(), a)
    }
    /// Writes a plain-data value to user memory.
    pub fn write_val<T: bytemuck::Pod>(&self, a: UAddr, v: &T) -> Result<(), Errno> {
        crate::uaccess::write_val(&mut self.mm(), a, v)
    }
    /// Reads a path (PATH_MAX limit).
    pub fn read_path(&self, a: UAddr) -> Result<Vec<u8>, Errno> {
        crate::uaccess::read_path(&mut self.mm(), a)
    }
    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_cstr(&self, a: UAddr, max: usize) -> Result<Vec<u8>, Errno> {
        crate::uaccess::read_cstr(&mut self.mm(), a, max)
    }
}
