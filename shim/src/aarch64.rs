//! The arm64 system-call numbers: the asm-generic table
//! (include/uapi/asm-generic/unistd.h), which has only the `*at` forms (no open,
//! stat, access, pipe, dup2, fork, …) and passes clone's arguments in the order
//! flags, stack, parent_tid, tls, child_tid (CONFIG_CLONE_BACKWARDS).
use crate::call::{Call, Nr};

/// Maps an arm64 system-call number to its neutral identity.
#[inline(always)]
pub const fn nr(n: usize) -> Option<Nr> {
    Some(match n {
        17 => Nr::Getcwd,
        19 => Nr::Eventfd2,
        20 => Nr::EpollCreate1,
        21 => Nr::EpollCtl,
        22 => Nr::EpollPwait,
        23 => Nr::Dup,
        24 => Nr::Dup3,
        25 => Nr::Fcntl,
        29 => Nr::Ioctl,
        32 => Nr::Flock,
        34 => Nr::Mkdirat,
        35 => Nr::Unlinkat,
        36 => Nr::Symlinkat,
        37 => Nr::Linkat,
        38 => Nr::Renameat,
        43 => Nr::Statfs,
        44 => Nr::Fstatfs,
        45 => Nr::Truncate,
        46 => Nr::Ftruncate,
        47 => Nr::Fallocate,
        48 => Nr::Faccessat,
        49 => Nr::Chdir,
        50 => Nr::Fchdir,
        51 => Nr::Chroot,
        52 => Nr::Fchmod,
        53 => Nr::Fchmodat,
        54 => Nr::Fchownat,
        55 => Nr::Fchown,
        56 => Nr::Openat,
        57 => Nr::Close,
        59 => Nr::Pipe2,
        61 => Nr::Getdents64,
        62 => Nr::Lseek,
        63 => Nr::Read,
        64 => Nr::Write,
        65 => Nr::Readv,
        66 => Nr::Writev,
        67 => Nr::Pread64,
        68 => Nr::Pwrite64,
        71 => Nr::Sendfile,
        72 => Nr::Pselect6,
        73 => Nr::Ppoll,
        78 => Nr::Readlinkat,
        79 => Nr::Newfstatat,
        80 => Nr::Fstat,
        81 => Nr::Sync,
        82 => Nr::Fsync,
        83 => Nr::Fdatasync,
        88 => Nr::Utimensat,
        93 => Nr::Exit,
        94 => Nr::ExitGroup,
        95 => Nr::Waitid,
        96 => Nr::SetTidAddress,
        98 => Nr::Futex,
        99 => Nr::SetRobustList,
        100 => Nr::GetRobustList,
        101 => Nr::Nanosleep,
        102 => Nr::Getitimer,
        103 => Nr::Setitimer,
        113 => Nr::ClockGettime,
        114 => Nr::ClockGetres,
        115 => Nr::ClockNanosleep,
        116 => Nr::Syslog,
        120 => Nr::SchedGetscheduler,
        121 => Nr::SchedGetparam,
        122 => Nr::SchedSetaffinity,
        123 => Nr::SchedGetaffinity,
        124 => Nr::SchedYield,
        128 => Nr::RestartSyscall,
        129 => Nr::Kill,
        130 => Nr::Tkill,
        131 => Nr::Tgkill,
        132 => Nr::Sigaltstack,
        133 => Nr::RtSigsuspend,
        134 => Nr::RtSigaction,
        135 => Nr::RtSigprocmask,
        136 => Nr::RtSigpending,
        137 => Nr::RtSigtimedwait,
        139 => Nr::RtSigreturn,
        140 => Nr::Setpriority,
        141 => Nr::Getpriority,
        143 => Nr::Setregid,
        144 => Nr::Setgid,
        145 => Nr::Setreuid,
        146 => Nr::Setuid,
        147 => Nr::Setresuid,
        148 => Nr::Getresuid,
        149 => Nr::Setresgid,
        150 => Nr::Getresgid,
        151 => Nr::Setfsuid,
        152 => Nr::Setfsgid,
        153 => Nr::Times,
        154 => Nr::Setpgid,
        155 => Nr::Getpgid,
        156 => Nr::Getsid,
        157 => Nr::Setsid,
        158 => Nr::Getgroups,
        159 => Nr::Setgroups,
        160 => Nr::Uname,
        163 => Nr::Getrlimit,
        164 => Nr::Setrlimit,
        165 => Nr::Getrusage,
        166 => Nr::Umask,
        167 => Nr::Prctl,
        169 => Nr::Gettimeofday,
        172 => Nr::Getpid,
        173 => Nr::Getppid,
        174 => Nr::Getuid,
        175 => Nr::Geteuid,
        176 => Nr::Getgid,
        177 => Nr::Getegid,
        178 => Nr::Gettid,
        179 => Nr::Sysinfo,
        198 => Nr::Socket,
        199 => Nr::Socketpair,
        200 => Nr::Bind,
        201 => Nr::Listen,
        202 => Nr::Accept,
        203 => Nr::Connect,
        204 => Nr::Getsockname,
        205 => Nr::Getpeername,
        206 => Nr::Sendto,
        207 => Nr::Recvfrom,
        208 => Nr::Setsockopt,
        209 => Nr::Getsockopt,
        210 => Nr::Shutdown,
        211 => Nr::Sendmsg,
        212 => Nr::Recvmsg,
        214 => Nr::Brk,
        215 => Nr::Munmap,
        216 => Nr::Mremap,
        220 => Nr::Clone,
        221 => Nr::Execve,
        222 => Nr::Mmap,
        223 => Nr::Fadvise64,
        226 => Nr::Mprotect,
        227 => Nr::Msync,
        228 => Nr::Mlock,
        229 => Nr::Munlock,
        232 => Nr::Mincore,
        233 => Nr::Madvise,
        242 => Nr::Accept4,
        243 => Nr::Recvmmsg,
        260 => Nr::Wait4,
        261 => Nr::Prlimit64,
        269 => Nr::Sendmmsg,
        276 => Nr::Renameat2,
        278 => Nr::Getrandom,
        279 => Nr::MemfdCreate,
        281 => Nr::Execveat,
        291 => Nr::Statx,
        293 => Nr::Rseq,
        435 => Nr::Clone3,
        436 => Nr::CloseRange,
        437 => Nr::Openat2,
        439 => Nr::Faccessat2,
        452 => Nr::Fchmodat2,
        277 => Nr::Seccomp,
        441 => Nr::EpollPwait2,
        107 => Nr::TimerCreate,
        110 => Nr::TimerSettime,
        108 => Nr::TimerGettime,
        109 => Nr::TimerGetoverrun,
        111 => Nr::TimerDelete,
        85 => Nr::TimerfdCreate,
        86 => Nr::TimerfdSettime,
        87 => Nr::TimerfdGettime,
        112 => Nr::ClockSettime,
        170 => Nr::Settimeofday,
        171 => Nr::Adjtimex,
        266 => Nr::ClockAdjtime,
        74 => Nr::Signalfd4,
        138 => Nr::RtSigqueueinfo,
        240 => Nr::RtTgsigqueueinfo,
        69 => Nr::Preadv,
        70 => Nr::Pwritev,
        286 => Nr::Preadv2,
        287 => Nr::Pwritev2,
        76 => Nr::Splice,
        77 => Nr::Tee,
        75 => Nr::Vmsplice,
        285 => Nr::CopyFileRange,
        33 => Nr::Mknodat,
        5 => Nr::Setxattr,
        6 => Nr::Lsetxattr,
        7 => Nr::Fsetxattr,
        8 => Nr::Getxattr,
        9 => Nr::Lgetxattr,
        10 => Nr::Fgetxattr,
        11 => Nr::Listxattr,
        12 => Nr::Llistxattr,
        13 => Nr::Flistxattr,
        14 => Nr::Removexattr,
        15 => Nr::Lremovexattr,
        16 => Nr::Fremovexattr,
        26 => Nr::InotifyInit1,
        27 => Nr::InotifyAddWatch,
        28 => Nr::InotifyRmWatch,
        90 => Nr::Capget,
        91 => Nr::Capset,
        119 => Nr::SchedSetscheduler,
        118 => Nr::SchedSetparam,
        125 => Nr::SchedGetPriorityMax,
        126 => Nr::SchedGetPriorityMin,
        127 => Nr::SchedRrGetInterval,
        274 => Nr::SchedSetattr,
        275 => Nr::SchedGetattr,
        168 => Nr::Getcpu,
        283 => Nr::Membarrier,
        230 => Nr::Mlockall,
        231 => Nr::Munlockall,
        284 => Nr::Mlock2,
        161 => Nr::Sethostname,
        162 => Nr::Setdomainname,
        92 => Nr::Personality,
        30 => Nr::IoprioSet,
        31 => Nr::IoprioGet,
        267 => Nr::Syncfs,
        84 => Nr::SyncFileRange,
        213 => Nr::Readahead,
        270 => Nr::ProcessVmReadv,
        271 => Nr::ProcessVmWritev,
        272 => Nr::Kcmp,
        194 => Nr::Shmget,
        196 => Nr::Shmat,
        195 => Nr::Shmctl,
        197 => Nr::Shmdt,
        190 => Nr::Semget,
        193 => Nr::Semop,
        191 => Nr::Semctl,
        192 => Nr::Semtimedop,
        186 => Nr::Msgget,
        189 => Nr::Msgsnd,
        188 => Nr::Msgrcv,
        187 => Nr::Msgctl,
        180 => Nr::MqOpen,
        181 => Nr::MqUnlink,
        182 => Nr::MqTimedsend,
        183 => Nr::MqTimedreceive,
        184 => Nr::MqNotify,
        185 => Nr::MqGetsetattr,
        0 => Nr::IoSetup,
        1 => Nr::IoDestroy,
        2 => Nr::IoSubmit,
        3 => Nr::IoCancel,
        4 => Nr::IoGetevents,
        292 => Nr::IoPgetevents,
        434 => Nr::PidfdOpen,
        424 => Nr::PidfdSendSignal,
        438 => Nr::PidfdGetfd,
        97 => Nr::Unshare,
        268 => Nr::Setns,
        _ => return None,
    })
}

/// Decodes an arm64 system call from its number and argument registers.
#[inline(always)]
pub fn decode(n: usize, args: [u64; 6]) -> Call {
    match nr(n) {
        // clone(flags, stack, parent_tid, tls, child_tid) on arm64.
        Some(Nr::Clone) => Nr::Clone.decode([args[0], args[1], args[2], args[4], args[3], args[5]]),
        Some(id) => id.decode(args),
        None => Call::Unknown { nr: n, name: name_of(n) },
    }
}

/// Linux's name of an arm64 system-call number, or "?" when it has none.
pub fn name_of(n: usize) -> &'static str {
    match nr(n) {
        Some(id) => id.name(),
        None => match syscalls::aarch64::Sysno::new(n) {
            Some(s) => s.name(),
            None => "?",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux's name where the `syscalls` crate uses the asm-generic one.
    fn crate_name(name: &str) -> &str {
        match name {
            "newfstatat" => "fstatat",
            other => other,
        }
    }

    #[test]
    fn numbers_match_the_syscalls_crate() {
        for n in 0..512 {
            if let Some(id) = nr(n) {
                let theirs = syscalls::aarch64::Sysno::new(n).map(|s| s.name());
                assert_eq!(Some(crate_name(id.name())), theirs, "arm64 syscall {n}");
            }
        }
    }

    #[test]
    fn every_x86_64_call_that_arm64_has_is_mapped() {
        for n in 0..512 {
            let Some(id) = crate::x86_64::nr(n) else { continue };
            let name = crate_name(id.name());
            let on_arm64 = (0..512).any(|m| syscalls::aarch64::Sysno::new(m).map(|s| s.name()) == Some(name));
            let mapped = (0..512).any(|m| nr(m) == Some(id));
            assert_eq!(on_arm64, mapped, "{name}");
        }
    }

    #[test]
    fn clone_arguments_are_reordered() {
        match decode(220, [1, 2, 3, 4, 5, 6]) {
            Call::Clone { flags, stack, parent_tid, child_tid, tls } => {
                assert_eq!((flags, stack.0, parent_tid.0, child_tid.0, tls), (1, 2, 3, 5, 4));
            }
            other => panic!("{other:?}"),
        }
    }
}
