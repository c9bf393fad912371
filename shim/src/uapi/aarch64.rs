//! arm64 layouts and constants where Linux's arm64 ABI differs from x86_64's.

use core::mem::size_of;

use super::stat::StatInfo;

/// `struct stat`, include/uapi/asm-generic/stat.h (which arm64 uses).
///
/// The kernel declares the nanosecond fields `unsigned long`; they are `i64`
/// here, as glibc's `struct timespec` reads them. The bits are the same.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Stat {
    /// Device holding the file.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// File type and mode.
    pub st_mode: u32,
    /// Number of hard links.
    pub st_nlink: u32,
    /// Owner's user id.
    pub st_uid: u32,
    /// Owner's group id.
    pub st_gid: u32,
    /// Device this special file stands for.
    pub st_rdev: u64,
    /// `__pad1`.
    pub _pad1: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O block size.
    pub st_blksize: i32,
    /// `__pad2`.
    pub _pad2: i32,
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
    /// `__unused4`.
    pub _unused4: u32,
    /// `__unused5`.
    pub _unused5: u32,
}
const _: () = assert!(size_of::<Stat>() == 128);

impl Stat {
    /// The arm64 `struct stat` for `info`.
    pub fn new(info: &StatInfo) -> Stat {
        Stat {
            st_dev: info.dev,
            st_ino: info.ino,
            st_mode: info.mode,
            st_nlink: info.nlink,
            st_uid: info.uid,
            st_gid: info.gid,
            st_rdev: info.rdev,
            st_size: info.size,
            // Linux's generic cp_new_stat stores the block size in an `int`;
            // no file system reports one that does not fit.
            st_blksize: i32::try_from(info.blksize).unwrap_or(i32::MAX),
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

/// `struct epoll_event`, include/uapi/linux/eventpoll.h: naturally aligned on
/// arm64, so 16 bytes with `data` at offset 8.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EpollEvent {
    /// `EPOLL*` event bits.
    pub events: u32,
    /// Padding before `data`.
    pub _pad: u32,
    /// User data, returned unchanged.
    pub data: u64,
}
const _: () = assert!(size_of::<EpollEvent>() == 16);

impl EpollEvent {
    /// An event record with `events` and `data`.
    pub const fn new(events: u32, data: u64) -> EpollEvent {
        EpollEvent { events, _pad: 0, data }
    }
}

/// Smallest alternate signal stack, arch/arm64/include/uapi/asm/signal.h.
pub const MINSIGSTKSZ: u64 = 5120;
/// Default alternate signal stack size, arch/arm64/include/uapi/asm/signal.h.
pub const SIGSTKSZ: u64 = 16384;

/// `open` flags on arm64, arch/arm64/include/uapi/asm/fcntl.h: four flags
/// differ from x86_64.
pub mod open_flags {
    pub use crate::uapi::open_flags::*;

    /// Fail unless the path is a directory.
    pub const O_DIRECTORY: u32 = 0o040000;
    /// Do not follow a final symbolic link.
    pub const O_NOFOLLOW: u32 = 0o100000;
    /// Direct disk access.
    pub const O_DIRECT: u32 = 0o200000;
    /// Allow large files (set by the kernel on 64-bit anyway).
    pub const O_LARGEFILE: u32 = 0o400000;
    /// Unnamed temporary file in the given directory (`__O_TMPFILE | O_DIRECTORY`).
    pub const O_TMPFILE: u32 = __O_TMPFILE | O_DIRECTORY;
}

/// `mmap` constants on arm64: the common ones plus `PROT_BTI` and `PROT_MTE`
/// (arch/arm64/include/uapi/asm/mman.h).
pub mod mmap {
    pub use crate::uapi::mmap::*;

    /// Branch Target Identification guarded page.
    pub const PROT_BTI: u32 = 0x10;
    /// Memory Tagging Extension tagged mapping.
    pub const PROT_MTE: u32 = 0x20;
}

/// `struct semid64_ds`, include/uapi/asm-generic/sembuf.h (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SemidDs {
    /// Permissions.
    pub sem_perm: super::IpcPerm,
    /// Last semop.
    pub sem_otime: i64,
    /// Last change.
    pub sem_ctime: i64,
    /// Semaphores in the set.
    pub sem_nsems: u64,
    /// `__unused3`.
    pub _unused3: u64,
    /// `__unused4`.
    pub _unused4: u64,
}
const _: () = assert!(size_of::<SemidDs>() == 88);

impl SemidDs {
    /// The record for a set.
    pub fn new(perm: super::IpcPerm, otime: i64, ctime: i64, nsems: u64) -> SemidDs {
        SemidDs { sem_perm: perm, sem_otime: otime, sem_ctime: ctime, sem_nsems: nsems, ..Default::default() }
    }
}
