//! The running program: its address space, descriptors, working directory and
//! the per-process state that system calls read and change.
use alloc::vec::Vec;

use elfin_shim::uapi::KernelSigaction;
use spin::Mutex;

use crate::fs::file::FdTable;
use crate::mem::vm::AddrSpace;

/// Number of resource limits (RLIMIT_NLIMITS).
pub const NLIMITS: usize = 16;
/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Per-process prctl settings.
#[derive(Clone, Copy, Debug)]
pub struct PrctlState {
    /// PR_SET_PDEATHSIG.
    pub pdeathsig: i32,
    /// PR_SET_DUMPABLE (1 by default).
    pub dumpable: u8,
    /// PR_SET_CHILD_SUBREAPER.
    pub subreaper: bool,
}

/// The program.
pub struct Process {
    /// Process id (also the main thread's id).
    pub pid: i32,
    /// Address space.
    pub aspace: AddrSpace,
    /// Descriptor table.
    pub fds: FdTable,
    /// Canonical absolute working directory.
    pub cwd: Vec<u8>,
    /// File-creation mask.
    pub umask: u32,
    /// Guest path of the executable.
    pub exe: Vec<u8>,
    /// Arguments the program started with.
    pub argv: Vec<Vec<u8>>,
    /// Environment the program started with.
    pub envp: Vec<Vec<u8>>,
    /// Signal dispositions, index = signal - 1.
    pub sigactions: [KernelSigaction; 64],
    /// prctl settings.
    pub prctl: PrctlState,
    /// Nice value (setpriority).
    pub nice: i32,
    /// Terminal size reported by TIOCGWINSZ on terminal descriptors.
    pub winsize: (u16, u16),
    /// What the running handler waits for before its call is restarted.
    pub block: Option<(crate::sched::WaitOn, Option<u64>)>,
    /// Resource limits (soft, hard).
    pub rlimits: [(u64, u64); NLIMITS],
    /// Log every system call.
    pub strace: bool,
    /// Free frames before the program was loaded (for leak reports).
    pub frames_at_start: usize,
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

/// The current process (one program per VM for now).
pub static CURRENT: Mutex<Option<Process>> = Mutex::new(None);

/// Ends the VM with the program's status, after reporting it to the host.
pub fn exit_vm(status: u8) -> ! {
    crate::time::phases::report();
    if let Some(p) = CURRENT.lock().take() {
        let start = p.frames_at_start;
        let strace = p.strace;
        drop(p.fds);
        p.aspace.destroy();
        // Under strace or --log-level info and up: the leak check of tests/guest_mm.rs.
        if strace || log::max_level() >= log::LevelFilter::Info {
            kprintln!(
                "elfin: frames free after exit: {} (before load: {}, total {})",
                crate::mem::frames::free_count(),
                start,
                crate::mem::frames::total_count()
            );
        }
    }
    elfin_plat::console::report_exit(status);
    elfin_plat::power_off(status)
}
