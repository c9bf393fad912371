//! How much of each system call elfin implements: the table behind
//! `elfin syscalls --supported` and `docs/syscalls.md`.
//!
//! Why it cannot drift from what the kernel does:
//! - a call is supported exactly when its number decodes to a [`Nr`] (the
//!   per-architecture tables); every other number is `-ENOSYS`, reported by name;
//! - [`support`] is an exhaustive `match` on [`Nr`], so a new call does not build
//!   without a status here;
//! - the kernel's dispatch is an exhaustive `match` on [`crate::Call`] with no
//!   catch-all arm, so a new call does not build without a handler there;
//! - `shim/tests/support.rs` fails when a dispatch arm only returns ENOSYS (a call
//!   in the table that the kernel does not serve), and the CLI's tests fail when
//!   `docs/syscalls.md` differs from what this table generates.

use alloc::vec::Vec;

use crate::call::Nr;

/// How completely elfin implements a call it dispatches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Linux's semantics and errors, for every documented argument.
    Real,
    /// Implemented, except for what the text names (which fails as Linux fails
    /// without the feature, or with ENOSYS/EINVAL, and is reported by name).
    Partial(&'static str),
}

/// The support status of one call elfin dispatches.
pub fn support(nr: Nr) -> Support {
    use Nr::*;
    use Support::*;
    match nr {
        // Files and descriptors.
        Read | Write | Close | Stat | Fstat | Lstat | Newfstatat | Statx | Lseek | Pread64 | Pwrite64 | Readv
        | Writev | Access | Faccessat | Faccessat2 | Fchmodat2 | Pipe | Pipe2 | Dup | Dup2 | Dup3 | Sendfile | Fsync
        | Fdatasync | Truncate | Ftruncate | Getcwd | Chdir | Fchdir | Chroot | Rename | Renameat | Renameat2 | Mkdir
        | Mkdirat | Rmdir | Link | Linkat | Unlink | Unlinkat | Symlink | Symlinkat | Readlink | Readlinkat | Chmod
        | Fchmod | Fchmodat | Chown | Fchown | Lchown | Fchownat | Umask | Getdents64 | Statfs | Fstatfs
        | Fallocate | Fadvise64 | MemfdCreate | CloseRange | Sync | Preadv | Pwritev | Splice | Tee | Vmsplice
        | CopyFileRange => Real,
        Preadv2 | Pwritev2 => Partial("RWF_NOAPPEND, RWF_ATOMIC and RWF_DONTCACHE"),
        Open | Openat | Openat2 | Creat | Mknod | Mknodat | Setxattr | Lsetxattr | Fsetxattr | Getxattr | Lgetxattr
        | Fgetxattr | Listxattr | Llistxattr | Flistxattr | Removexattr | Lremovexattr | Fremovexattr | Utime
        | Utimes | Futimesat | Getdents | InotifyInit | InotifyInit1 | InotifyAddWatch | InotifyRmWatch => Real,
        Ioctl => Partial(
            "terminal, FIONREAD, FIONBIO, FIOASYNC, FIOCLEX/FIONCLEX, the SIOCGIF* interface queries, FIGETBSZ and \
             FS_IOC_GETFLAGS/SETFLAGS (no inode flag is kept: setting one is EOPNOTSUPP) only",
        ),
        Fcntl => Partial("leases, F_NOTIFY"),
        Flock => Real,
        Utimensat => Real,
        Poll | Ppoll | Select | Pselect6 => Real,
        EpollCreate | EpollCreate1 | EpollCtl | EpollWait | EpollPwait | EpollPwait2 | Eventfd | Eventfd2 => Real,

        // Sockets.
        Socket | Socketpair => Partial("AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (NETLINK_ROUTE link and address dumps; others EAFNOSUPPORT); raw sockets: IPv4 of any protocol but IPPROTO_RAW; IPPROTO_RAW and raw IPv6 EPERM"),
        Bind | Listen | Accept | Accept4 | Connect | Getsockname | Getpeername | Shutdown | Sendto | Recvfrom
        | Sendmsg | Recvmsg | Sendmmsg | Recvmmsg => Real,
        Setsockopt | Getsockopt => Partial("the SOL_SOCKET, TCP, IP and IPv6 options elfin keeps; others ENOPROTOOPT"),

        // Memory.
        Mmap | Munmap | Mprotect | Brk | Mremap | Msync | Mincore | Madvise | Mlock | Munlock => Real,

        // Processes and threads.
        Clone | Clone3 => Partial("namespaces, CLONE_INTO_CGROUP, set_tid"),
        Fork | Vfork | Exit | ExitGroup | Wait4 | Kill | Tkill | Tgkill | Getpid | Getppid | Gettid | Getpgrp
        | Getpgid | Setpgid | Getsid | Setsid | SetTidAddress | SetRobustList | GetRobustList | SchedYield
        | SchedGetparam | SchedGetscheduler | SchedGetaffinity | SchedSetaffinity | Getpriority | Setpriority
        | Prlimit64 | Getrlimit | Setrlimit | Rseq => Real,
        Waitid | PidfdOpen | PidfdSendSignal | PidfdGetfd => Real,
        Unshare => Partial("namespaces (EINVAL, as Linux built without them); CLONE_FILES and CLONE_FS in a process with several threads (EINVAL)"),
        Setns => Partial("only a pidfd names namespaces, which are the caller's own; joining them changes nothing"),
        Execve | Execveat => Partial("programs with an interpreter (PT_INTERP)"),
        Futex => Partial("priority-inheritance operations"),
        Prctl => Partial(
            "options other than names, parent-death signal, dumpable, child subreaper, capabilities \
             (keepcaps, bounding, ambient, reading the secure bits), no_new_privs, timer slack, seccomp, \
             THP disable, MCE kill policy, the tid address and reading the speculation control",
        ),
        ArchPrctl => Partial("ARCH_SET_GS/ARCH_GET_GS"),
        Getrusage | Times => Real,
        Syslog => Real,
        Seccomp => Partial("user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER): EINVAL"),

        // Signals.
        RtSigaction | RtSigprocmask | RtSigreturn | RtSigpending | RtSigsuspend | RtSigtimedwait | Sigaltstack
        | Pause | RestartSyscall | Signalfd | Signalfd4 | RtSigqueueinfo | RtTgsigqueueinfo => Real,

        // Time.
        Nanosleep | ClockNanosleep | ClockGettime | ClockGetres | Gettimeofday | Time | Alarm | Getitimer
        | Setitimer | ClockSettime | Settimeofday | TimerCreate | TimerSettime | TimerGettime | TimerGetoverrun
        | TimerDelete | TimerfdCreate | TimerfdSettime | TimerfdGettime => Real,
        Adjtimex | ClockAdjtime => {
            Partial("reads the NTP state (the clock is not synchronised); changes to it are refused with EOPNOTSUPP")
        }

        // Identity and system.
        Getuid | Geteuid | Getgid | Getegid | Setuid | Setgid | Setreuid | Setregid | Setresuid | Setresgid
        | Getresuid | Getresgid | Setfsuid | Setfsgid | Getgroups | Setgroups | Uname | Sysinfo | Getrandom
        | Capget | Capset | Sethostname | Setdomainname | Personality | SchedSetscheduler | SchedSetparam
        | SchedGetPriorityMax | SchedGetPriorityMin | SchedRrGetInterval | SchedSetattr | SchedGetattr | Getcpu
        | Membarrier | Mlockall | Munlockall | Mlock2 | IoprioSet | IoprioGet | Syncfs | SyncFileRange | Readahead
        | ProcessVmReadv | ProcessVmWritev | Kcmp => Real,

        // System V IPC.
        Shmget | Shmat | Shmdt | Shmctl | Semget | Semop | Semtimedop | Semctl | Msgget | Msgsnd | Msgrcv | Msgctl => {
            Real
        }
        MqOpen | MqUnlink | MqTimedsend | MqTimedreceive | MqGetsetattr => Real,
        MqNotify => Partial("SIGEV_THREAD (it needs a netlink socket)"),
        // Linux AIO: requests run when submitted; IOCB_CMD_POLL is EINVAL (as
        // before Linux 4.18).
        IoSetup | IoDestroy | IoGetevents | IoPgetevents | IoCancel => Real,
        IoSubmit => Partial("IOCB_CMD_POLL (EINVAL, as before Linux 4.18)"),
    }
}

/// A system call's status in the report: dispatched (with its support), or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Served with Linux's semantics.
    Real,
    /// Served, less what the text names.
    Partial(&'static str),
    /// Not dispatched: `-ENOSYS`, reported by name.
    Unsupported,
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Status::Real => f.write_str("real"),
            Status::Partial(what) => write!(f, "partial: {what}"),
            Status::Unsupported => f.write_str("unsupported"),
        }
    }
}

/// One Linux system-call number of an architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The number.
    pub nr: usize,
    /// Linux's name.
    pub name: &'static str,
    /// What elfin does with it.
    pub status: Status,
}

/// An architecture whose numbers the shim decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (arch/x86/entry/syscalls/syscall_64.tbl).
    X86_64,
    /// arm64 (the asm-generic table).
    Aarch64,
}

fn status_of(id: Option<Nr>) -> Status {
    match id.map(support) {
        Some(Support::Real) => Status::Real,
        Some(Support::Partial(what)) => Status::Partial(what),
        None => Status::Unsupported,
    }
}

/// Every system-call number Linux defines for `arch`, in order, with elfin's status.
pub fn table(arch: Arch) -> Vec<Entry> {
    let mut out = Vec::new();
    match arch {
        Arch::X86_64 => {
            for s in syscalls::x86_64::Sysno::iter() {
                let n = s.id() as usize;
                let id = crate::x86_64::nr(n);
                out.push(Entry { nr: n, name: crate::x86_64::name_of(n), status: status_of(id) });
            }
        }
        Arch::Aarch64 => {
            for s in syscalls::aarch64::Sysno::iter() {
                let n = s.id() as usize;
                let id = crate::aarch64::nr(n);
                out.push(Entry { nr: n, name: crate::aarch64::name_of(n), status: status_of(id) });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_statuses_say_what_is_missing() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            for e in table(arch) {
                if let Status::Partial(what) = e.status {
                    assert!(!what.trim().is_empty() && !what.ends_with('.'), "{}: {what:?}", e.name);
                }
            }
        }
    }

    #[test]
    fn table_is_ordered_and_named() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let t = table(arch);
            assert!(t.windows(2).all(|w| w[0].nr < w[1].nr));
            assert!(t.iter().all(|e| e.name != "?"));
        }
    }
}
