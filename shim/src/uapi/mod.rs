//! Exact Linux user-ABI layouts and constants: every struct that crosses the
//! user boundary, `#[repr(C)]` and `bytemuck::Pod`, with explicit padding.
//!
//! Architecture-neutral items live here; where x86_64 and arm64 differ, the
//! per-architecture modules [`x86_64`] and [`aarch64`] hold both variants so that
//! host tests can check each, and [`native`] names the one for the target.
//! Each struct cites its UAPI header and carries a `const` size assert; the
//! field offsets and constant values are checked against the real headers by
//! `shim/tests/layout.rs`.
//!
//! Padding fields are public and named `_…`, so that a struct can be built
//! with `..Default::default()` from outside; leave them zero.
//!
//! Depends on nothing but `core`, `alloc` and `bytemuck`.

mod fs;
mod mm;
mod net;
mod signal_types;
mod stat;
mod sys;
mod sysv;
mod thread;
mod time;

pub mod aarch64;
pub mod x86_64;

/// The per-architecture items for the architecture this crate is built for.
#[cfg(target_arch = "aarch64")]
pub use self::aarch64 as native;
/// The per-architecture items for the architecture this crate is built for.
#[cfg(target_arch = "x86_64")]
pub use self::x86_64 as native;

pub use fs::{
    at, dirent, epoll, fcntl, ioctl, open_flags, poll, rename, termios, Flock, Iovec, LinuxDirent64, Pollfd, Termios,
    Winsize,
};
pub use mm::mmap;
pub use net::{
    socket, sockopt, Cmsghdr, Linger, Mmsghdr, Msghdr, Sockaddr, SockaddrIn, SockaddrIn6, SockaddrUn, Ucred,
};
pub use signal_types::{signal, KernelSigaction, Siginfo, SignalfdSiginfo, Sigset, StackT};
pub use stat::{stat_mode, statx, StatInfo, Statfs, Statx, StatxTimestamp};
pub use sys::{
    arch_prctl, capability, getrandom, prctl, rlimit, rseq, CapData, CapHeader, Rlimit64, Rseq, RseqCs, Rusage,
    SchedAttr, Sysinfo, Tms, Utsname,
};
pub use sysv::{ipc, IpcPerm, MqAttr, Msginfo, MsqidDs, Sembuf, Seminfo, ShmidDs, Shminfo64};
pub use thread::{clone_flags, futex, wait, CloneArgs, RobustListHead};
pub use time::{clock, sigev, Itimerspec, Itimerval, Sigevent, Timespec, Timeval, Timezone};
