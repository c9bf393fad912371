//! File status: the architecture-neutral [`StatInfo`] that `stat` variants are
//! built from, `statx`, `statfs`, and the mode and mask constants.

use core::mem::size_of;

use super::time::Timespec;

/// What a file system reports about a file, before it is laid out as one of
/// the architecture's `struct stat`s or as `struct statx`. Not a user-ABI struct.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatInfo {
    /// Device holding the file, as a user `dev_t` (see [`makedev`](Self::makedev)).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type and permission bits (`S_IF*` | mode).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Device this special file stands for, as a user `dev_t`.
    pub rdev: u64,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// Number of 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the contents.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Creation ([`Timespec::ZERO`] when the file system does not keep it).
    pub btime: Timespec,
}

impl StatInfo {
    /// A user `dev_t` from a major and minor number, as glibc's `makedev`.
    pub const fn makedev(major: u32, minor: u32) -> u64 {
        let (major, minor) = (major as u64, minor as u64);
        ((major & 0xffff_f000) << 32)
            | ((major & 0x0000_0fff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0x0000_00ff)
    }

    /// The major number of a user `dev_t`, as glibc's `major`.
    pub const fn major(dev: u64) -> u32 {
        (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)) as u32
    }

    /// The minor number of a user `dev_t`, as glibc's `minor`.
    pub const fn minor(dev: u64) -> u32 {
        (((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) as u32
    }
}

/// `struct statx_timestamp`, include/uapi/linux/stat.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// `__reserved`.
    pub _reserved: i32,
}
const _: () = assert!(size_of::<StatxTimestamp>() == 16);

impl StatxTimestamp {
    /// The statx timestamp for a timespec (nanoseconds clamped to 0..1e9).
    pub fn new(t: Timespec) -> StatxTimestamp {
        let nsec = u32::try_from(t.tv_nsec.clamp(0, 999_999_999)).unwrap_or(0);
        StatxTimestamp { tv_sec: t.tv_sec, tv_nsec: nsec, _reserved: 0 }
    }
}

impl From<Timespec> for StatxTimestamp {
    fn from(t: Timespec) -> StatxTimestamp {
        StatxTimestamp::new(t)
    }
}

/// `struct statx`, include/uapi/linux/stat.h (Linux 6.1 layout: fields up to
/// `stx_dio_offset_align`, then spare space to 256 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Statx {
    /// What results were written (`STATX_*`).
    pub stx_mask: u32,
    /// Preferred I/O block size.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Number of hard links.
    pub stx_nlink: u32,
    /// Owner's user id.
    pub stx_uid: u32,
    /// Owner's group id.
    pub stx_gid: u32,
    /// File type and mode.
    pub stx_mode: u16,
    /// `__spare0`.
    pub _spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// Number of 512-byte blocks allocated.
    pub stx_blocks: u64,
    /// Which `stx_attributes` bits are supported.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Major number of the device this special file stands for.
    pub stx_rdev_major: u32,
    /// Minor number of the device this special file stands for.
    pub stx_rdev_minor: u32,
    /// Major number of the device holding the file.
    pub stx_dev_major: u32,
    /// Minor number of the device holding the file.
    pub stx_dev_minor: u32,
    /// Mount id.
    pub stx_mnt_id: u64,
    /// Memory buffer alignment for direct I/O.
    pub stx_dio_mem_align: u32,
    /// File offset alignment for direct I/O.
    pub stx_dio_offset_align: u32,
    /// `__spare3`: later kernels put newer fields here.
    pub _spare3: [u64; 12],
}
const _: () = assert!(size_of::<Statx>() == 256);

impl Statx {
    /// The statx record for `info`, claiming `STATX_BASIC_STATS` (and
    /// `STATX_BTIME` when the creation time is known).
    pub fn new(info: &StatInfo) -> Statx {
        let btime = info.btime != Timespec::ZERO;
        Statx {
            stx_mask: statx::STATX_BASIC_STATS | if btime { statx::STATX_BTIME } else { 0 },
            stx_btime: if btime { info.btime.into() } else { StatxTimestamp::default() },
            stx_blksize: info.blksize,
            stx_nlink: info.nlink,
            stx_uid: info.uid,
            stx_gid: info.gid,
            // The mode is 16 bits wide in every Linux inode.
            stx_mode: (info.mode & 0xffff) as u16,
            stx_ino: info.ino,
            stx_size: info.size as u64,
            stx_blocks: info.blocks,
            stx_atime: info.atime.into(),
            stx_ctime: info.ctime.into(),
            stx_mtime: info.mtime.into(),
            stx_rdev_major: StatInfo::major(info.rdev),
            stx_rdev_minor: StatInfo::minor(info.rdev),
            stx_dev_major: StatInfo::major(info.dev),
            stx_dev_minor: StatInfo::minor(info.dev),
            ..Statx::default()
        }
    }
}

/// `struct statfs` on 64-bit Linux, include/uapi/asm-generic/statfs.h (x86_64
/// and arm64 both use it, with 8-byte `__statfs_word`s).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Statfs {
    /// File system magic number.
    pub f_type: i64,
    /// Optimal transfer block size.
    pub f_bsize: i64,
    /// Total data blocks.
    pub f_blocks: u64,
    /// Free blocks.
    pub f_bfree: u64,
    /// Free blocks available to unprivileged users.
    pub f_bavail: u64,
    /// Total inodes.
    pub f_files: u64,
    /// Free inodes.
    pub f_ffree: u64,
    /// File system id (`__kernel_fsid_t`).
    pub f_fsid: [i32; 2],
    /// Maximum file name length.
    pub f_namelen: i64,
    /// Fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Spare.
    pub f_spare: [i64; 4],
}
const _: () = assert!(size_of::<Statfs>() == 120);

/// File type and permission bits of `st_mode`, include/uapi/linux/stat.h.
pub mod stat_mode {
    /// Mask of the file type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Socket.
    pub const S_IFSOCK: u32 = 0o140000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
    /// Set user id on execution.
    pub const S_ISUID: u32 = 0o4000;
    /// Set group id on execution.
    pub const S_ISGID: u32 = 0o2000;
    /// Sticky bit.
    pub const S_ISVTX: u32 = 0o1000;
    /// Owner: read, write, execute.
    pub const S_IRWXU: u32 = 0o700;
    /// Owner: read.
    pub const S_IRUSR: u32 = 0o400;
    /// Owner: write.
    pub const S_IWUSR: u32 = 0o200;
    /// Owner: execute.
    pub const S_IXUSR: u32 = 0o100;
    /// Group: read, write, execute.
    pub const S_IRWXG: u32 = 0o070;
    /// Group: read.
    pub const S_IRGRP: u32 = 0o040;
    /// Group: write.
    pub const S_IWGRP: u32 = 0o020;
    /// Group: execute.
    pub const S_IXGRP: u32 = 0o010;
    /// Others: read, write, execute.
    pub const S_IRWXO: u32 = 0o007;
    /// Others: read.
    pub const S_IROTH: u32 = 0o004;
    /// Others: write.
    pub const S_IWOTH: u32 = 0o002;
    /// Others: execute.
    pub const S_IXOTH: u32 = 0o001;
}

/// `statx` request/result mask bits and attributes, include/uapi/linux/stat.h.
pub mod statx {
    /// Want/got the file type.
    pub const STATX_TYPE: u32 = 0x0000_0001;
    /// Want/got the mode bits.
    pub const STATX_MODE: u32 = 0x0000_0002;
    /// Want/got `stx_nlink`.
    pub const STATX_NLINK: u32 = 0x0000_0004;
    /// Want/got `stx_uid`.
    pub const STATX_UID: u32 = 0x0000_0008;
    /// Want/got `stx_gid`.
    pub const STATX_GID: u32 = 0x0000_0010;
    /// Want/got `stx_atime`.
    pub const STATX_ATIME: u32 = 0x0000_0020;
    /// Want/got `stx_mtime`.
    pub const STATX_MTIME: u32 = 0x0000_0040;
    /// Want/got `stx_ctime`.
    pub const STATX_CTIME: u32 = 0x0000_0080;
    /// Want/got `stx_ino`.
    pub const STATX_INO: u32 = 0x0000_0100;
    /// Want/got `stx_size`.
    pub const STATX_SIZE: u32 = 0x0000_0200;
    /// Want/got `stx_blocks`.
    pub const STATX_BLOCKS: u32 = 0x0000_0400;
    /// Everything `struct stat` has.
    pub const STATX_BASIC_STATS: u32 = 0x0000_07ff;
    /// Want/got `stx_btime`.
    pub const STATX_BTIME: u32 = 0x0000_0800;
    /// Got `stx_mnt_id`.
    pub const STATX_MNT_ID: u32 = 0x0000_1000;
    /// Want/got direct I/O alignment.
    pub const STATX_DIOALIGN: u32 = 0x0000_2000;
    /// Reserved for future expansion; asking for it is EINVAL.
    pub const STATX__RESERVED: u32 = 0x8000_0000;
    /// Attribute: root of a mount.
    pub const STATX_ATTR_MOUNT_ROOT: u64 = 0x0000_2000;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_round_trip() {
        for (major, minor) in [(0, 0), (8, 1), (259, 65_536), (0xfff, 0xff), (0xffff_ffff, 0xffff_ffff)] {
            let dev = StatInfo::makedev(major, minor);
            assert_eq!((StatInfo::major(dev), StatInfo::minor(dev)), (major, minor));
        }
        assert_eq!(StatInfo::makedev(8, 1), 0x801);
    }

    #[test]
    fn statx_from_info() {
        let info = StatInfo {
            dev: StatInfo::makedev(8, 2),
            ino: 42,
            mode: stat_mode::S_IFREG | 0o644,
            nlink: 1,
            size: 4096,
            blksize: 4096,
            blocks: 8,
            mtime: Timespec { tv_sec: 5, tv_nsec: 6 },
            ..StatInfo::default()
        };
        let s = Statx::new(&info);
        assert_eq!(s.stx_mask, statx::STATX_BASIC_STATS);
        assert_eq!((s.stx_dev_major, s.stx_dev_minor), (8, 2));
        assert_eq!(u32::from(s.stx_mode), stat_mode::S_IFREG | 0o644);
        assert_eq!((s.stx_mtime.tv_sec, s.stx_mtime.tv_nsec), (5, 6));
        assert_eq!(s.stx_size, 4096);
    }
}
