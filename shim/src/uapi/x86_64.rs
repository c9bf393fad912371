//! x86_64 layouts and constants where Linux's x86_64 ABI differs from arm64's.

use core::mem::size_of;

use super::stat::StatInfo;

/// `struct stat`, arch/x86/include/uapi/asm/stat.h (the 64-bit variant).
///
/// The kernel declares the times as `unsigned long`; they are `i64` here, as
/// glibc's `struct timespec` reads them. The bits are the same.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Stat {
    /// Device holding the file.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Number of hard links (wider than on arm64).
    pub st_nlink: u64,
    /// File type and mode.
    pub st_mode: u32,
    /// Owner's user id.
    pub st_uid: u32,
    /// Owner's group id.
    pub st_gid: u32,
    /// `__pad0`.
    pub _pad0: u32,
    /// Device this special file stands for.
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O block size.
    pub st_blksize: i64,
    /// Number of 512-byte blocks allocated.
    pub st_blocks: i64,
    /// Last access, seconds.
    pub st_atime: i64,
    /// Last access, nanoseconds.
    pub st_atime_nsec: i64,
    /// Last modification, seconds.
    pub st_mtime: i64,
    /// Last modification, nanoseconds.
    pub st_mtime_nsec: i64,
    /// Last status change, seconds.
    pub st_ctime: i64,
    /// Last status change, nanoseconds.
    pub st_ctime_nsec: i64,
    /// `__unused[3]`.
    pub _unused: [i64; 3],
}
const _: () = assert!(size_of::<Stat>() == 144);

impl Stat {
    /// The x86_64 `struct stat` for `info`.
    pub fn new(info: &StatInfo) -> Stat {
        Stat {
            st_dev: info.dev,
            st_ino: info.ino,
            st_nlink: u64::from(info.nlink),
            st_mode: info.mode,
            st_uid: info.uid,
            st_gid: info.gid,
            st_rdev: info.rdev,
            st_size: info.size,
            st_blksize: i64::from(info.blksize),
            // The kernel stores the unsigned count in a `long`; so do we.
            st_blocks: info.blocks as i64,
            st_atime: info.atime.tv_sec,
            st_atime_nsec: info.atime.tv_nsec,
            st_mtime: info.mtime.tv_sec,
            st_mtime_nsec: info.mtime.tv_nsec,
            st_ctime: info.ctime.tv_sec,
            st_ctime_nsec: info.ctime.tv_nsec,
            ..Stat::default()
        }
    }
}

/// `struct epoll_event`, include/uapi/linux/eventpoll.h: packed on x86_64
/// (`EPOLL_PACKED`), so 12 bytes with `data` at offset 4.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EpollEvent {
    /// `EPOLL*` event bits.
    pub events: u32,
    /// User data, returned unchanged.
    pub data: u64,
}
const _: () = assert!(size_of::<EpollEvent>() == 12);

/// Smallest alternate signal stack, arch/x86/include/uapi/asm/signal.h.
pub const MINSIGSTKSZ: u64 = 2048;
/// Default alternate signal stack size, arch/x86/include/uapi/asm/signal.h.
pub const SIGSTKSZ: u64 = 8192;

/// `open` flags on x86_64, include/uapi/asm-generic/fcntl.h.
pub mod open_flags {
    pub use crate::uapi::open_flags::*;

    /// Direct disk access.
    pub const O_DIRECT: u32 = 0o040000;
    /// Allow large files (set by the kernel on 64-bit anyway).
    pub const O_LARGEFILE: u32 = 0o100000;
    /// Fail unless the path is a directory.
    pub const O_DIRECTORY: u32 = 0o200000;
    /// Do not follow a final symbolic link.
    pub const O_NOFOLLOW: u32 = 0o400000;
    /// Unnamed temporary file in the given directory (`__O_TMPFILE | O_DIRECTORY`).
    pub const O_TMPFILE: u32 = __O_TMPFILE | O_DIRECTORY;
}

/// `mmap` constants on x86_64: the common ones plus `MAP_32BIT`
/// (arch/x86/include/uapi/asm/mman.h).
pub mod mmap {
    pub use crate::uapi::mmap::*;

    /// Map in the low 2 GiB.
    pub const MAP_32BIT: u32 = 0x40;
}

impl EpollEvent {
    /// An event record with `events` and `data`.
    pub const fn new(events: u32, data: u64) -> EpollEvent {
        EpollEvent { events, data }
    }
}

/// `struct semid64_ds`, arch/x86/include/uapi/asm/sembuf.h: a padding word after
/// each time.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SemidDs {
    /// Permissions.
    pub sem_perm: super::IpcPerm,
    /// Last semop.
    pub sem_otime: i64,
    /// `__unused1`.
    pub _unused1: u64,
    /// Last change.
    pub sem_ctime: i64,
    /// `__unused2`.
    pub _unused2: u64,
    /// Semaphores in the set.
    pub sem_nsems: u64,
    /// `__unused3`.
    pub _unused3: u64,
    /// `__unused4`.
    pub _unused4: u64,
}
const _: () = assert!(size_of::<SemidDs>() == 104);

impl SemidDs {
    /// The record for a set.
    pub fn new(perm: super::IpcPerm, otime: i64, ctime: i64, nsems: u64) -> SemidDs {
        SemidDs { sem_perm: perm, sem_otime: otime, sem_ctime: ctime, sem_nsems: nsems, ..Default::default() }
    }
}
