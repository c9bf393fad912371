//! File and terminal I/O: `iovec`, `pollfd`, `linux_dirent64`, `flock`,
//! `winsize`, the kernel's `termios`, and their constants.

use alloc::vec::Vec;
use core::mem::size_of;

/// `struct iovec`, include/uapi/linux/uio.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Iovec {
    /// User address of the buffer (`iov_base`).
    pub base: u64,
    /// Length of the buffer in bytes (`iov_len`).
    pub len: u64,
}
const _: () = assert!(size_of::<Iovec>() == 16);

/// `struct pollfd`, include/uapi/asm-generic/poll.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Pollfd {
    /// File descriptor; negative entries are skipped.
    pub fd: i32,
    /// Requested `POLL*` events.
    pub events: i16,
    /// Returned `POLL*` events.
    pub revents: i16,
}
const _: () = assert!(size_of::<Pollfd>() == 8);

/// The fixed header of `struct linux_dirent64` (include/linux/dirent.h, as
/// `getdents64` writes it); the NUL-terminated name follows at offset 19 and
/// the record is padded to a multiple of 8. Packed, since the header alone is
/// 19 bytes.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LinuxDirent64 {
    /// Inode number.
    pub d_ino: u64,
    /// Opaque offset of the next entry, for `lseek`.
    pub d_off: i64,
    /// Length of this whole record.
    pub d_reclen: u16,
    /// File type (`DT_*`).
    pub d_type: u8,
}
const _: () = assert!(size_of::<LinuxDirent64>() == LinuxDirent64::HEADER_SIZE);

impl LinuxDirent64 {
    /// Offset of `d_name` in a record.
    pub const HEADER_SIZE: usize = 19;

    /// Length of the record for a name of `name_len` bytes:
    /// `ALIGN(19 + name_len + 1, 8)` as in Linux's `filldir64`, or `None` if it
    /// does not fit `d_reclen`.
    pub fn record_len(name_len: usize) -> Option<u16> {
        let unpadded = Self::HEADER_SIZE.checked_add(name_len)?.checked_add(1)?;
        let padded = unpadded.checked_add(7)? & !7;
        u16::try_from(padded).ok()
    }

    /// One whole record for `name`: header, name, NUL, zero padding to 8.
    /// Empty if the name holds a NUL or is too long for `d_reclen`, which no
    /// Linux file name can be (at most 255 bytes, never a NUL).
    pub fn serialize(ino: u64, off: i64, d_type: u8, name: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // `push` appends nothing on failure, leaving `out` empty.
        let _ = Self::push(&mut out, ino, off, d_type, name);
        out
    }

    /// Appends one record for `name` to `out`: header, name, NUL, zero padding.
    /// Returns the record length, or `None` (appending nothing) if the name
    /// holds a NUL or is too long for `d_reclen`.
    pub fn push(out: &mut Vec<u8>, ino: u64, off: i64, d_type: u8, name: &[u8]) -> Option<u16> {
        if name.contains(&0) {
            return None;
        }
        let reclen = Self::record_len(name.len())?;
        let header = LinuxDirent64 { d_ino: ino, d_off: off, d_reclen: reclen, d_type };
        let start = out.len();
        out.extend_from_slice(bytemuck::bytes_of(&header));
        out.extend_from_slice(name);
        // The NUL terminator and the padding, all zero.
        out.resize(start.checked_add(usize::from(reclen))?, 0);
        Some(reclen)
    }
}

/// `struct flock` on 64-bit Linux, include/uapi/asm-generic/fcntl.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Flock {
    /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    pub l_type: i16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub l_whence: i16,
    /// Padding before `l_start`.
    pub _pad0: u32,
    /// Start of the locked range.
    pub l_start: i64,
    /// Length of the range; 0 means to the end of file.
    pub l_len: i64,
    /// Process holding the lock (`F_GETLK`).
    pub l_pid: i32,
    /// Tail padding.
    pub _pad1: u32,
}
const _: () = assert!(size_of::<Flock>() == 32);

/// `struct winsize`, include/uapi/asm-generic/termios.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Winsize {
    /// Rows, in characters.
    pub ws_row: u16,
    /// Columns, in characters.
    pub ws_col: u16,
    /// Width, in pixels.
    pub ws_xpixel: u16,
    /// Height, in pixels.
    pub ws_ypixel: u16,
}
const _: () = assert!(size_of::<Winsize>() == 8);

/// The kernel's `struct termios` as `TCGETS`/`TCSETS` copy it,
/// include/uapi/asm-generic/termbits.h (x86_64 and arm64 alike). Not glibc's
/// `struct termios`, which adds speed fields and has 32 control characters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Termios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes.
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline.
    pub c_line: u8,
    /// Control characters, indexed by `V*`.
    pub c_cc: [u8; termios::NCCS],
}
const _: () = assert!(size_of::<Termios>() == 36);

impl Termios {
    /// The settings Linux gives a fresh console: `stty sane` with 38400 baud,
    /// as the kernel's `tty_std_termios`.
    pub const fn linux_default() -> Termios {
        use termios::*;
        let mut c_cc = [0u8; NCCS];
        c_cc[VINTR] = 0x03; // ^C
        c_cc[VQUIT] = 0x1c; // ^\
        c_cc[VERASE] = 0x7f; // DEL
        c_cc[VKILL] = 0x15; // ^U
        c_cc[VEOF] = 0x04; // ^D
        c_cc[VTIME] = 0;
        c_cc[VMIN] = 1;
        c_cc[VSTART] = 0x11; // ^Q
        c_cc[VSTOP] = 0x13; // ^S
        c_cc[VSUSP] = 0x1a; // ^Z
        c_cc[VREPRINT] = 0x12; // ^R
        c_cc[VDISCARD] = 0x0f; // ^O
        c_cc[VWERASE] = 0x17; // ^W
        c_cc[VLNEXT] = 0x16; // ^V
        Termios {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD | HUPCL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: 0,
            c_cc,
        }
    }
}

/// `open`/`fcntl` flags common to x86_64 and arm64, include/uapi/asm-generic/fcntl.h.
/// `O_DIRECTORY`, `O_NOFOLLOW`, `O_DIRECT`, `O_LARGEFILE` and `O_TMPFILE`
/// differ: see `x86_64::open_flags` and `aarch64::open_flags`.
pub mod open_flags {
    /// Mask of the access mode.
    pub const O_ACCMODE: u32 = 0o3;
    /// Open for reading only.
    pub const O_RDONLY: u32 = 0o0;
    /// Open for writing only.
    pub const O_WRONLY: u32 = 0o1;
    /// Open for reading and writing.
    pub const O_RDWR: u32 = 0o2;
    /// Create the file if it does not exist.
    pub const O_CREAT: u32 = 0o100;
    /// With `O_CREAT`, fail if the file exists.
    pub const O_EXCL: u32 = 0o200;
    /// Do not make a terminal the controlling terminal.
    pub const O_NOCTTY: u32 = 0o400;
    /// Truncate to length 0.
    pub const O_TRUNC: u32 = 0o1000;
    /// Writes append.
    pub const O_APPEND: u32 = 0o2000;
    /// Non-blocking I/O.
    pub const O_NONBLOCK: u32 = 0o4000;
    /// Old name of `O_NONBLOCK`.
    pub const O_NDELAY: u32 = O_NONBLOCK;
    /// Synchronized data writes.
    pub const O_DSYNC: u32 = 0o10000;
    /// Signal-driven I/O (`O_ASYNC`).
    pub const FASYNC: u32 = 0o20000;
    /// Do not update the access time.
    pub const O_NOATIME: u32 = 0o1000000;
    /// Close on `execve`.
    pub const O_CLOEXEC: u32 = 0o2000000;
    /// The bit `O_SYNC` adds to `O_DSYNC`.
    pub const __O_SYNC: u32 = 0o4000000;
    /// Synchronized file writes.
    pub const O_SYNC: u32 = __O_SYNC | O_DSYNC;
    /// A location-only descriptor.
    pub const O_PATH: u32 = 0o10000000;
    /// The bit `O_TMPFILE` adds to `O_DIRECTORY`.
    pub const __O_TMPFILE: u32 = 0o20000000;
}

/// `fcntl` commands and arguments, include/uapi/asm-generic/fcntl.h and
/// include/uapi/linux/fcntl.h.
pub mod fcntl {
    /// Duplicate to the lowest free fd ≥ arg.
    pub const F_DUPFD: u32 = 0;
    /// Get the fd flags (`FD_CLOEXEC`).
    pub const F_GETFD: u32 = 1;
    /// Set the fd flags.
    pub const F_SETFD: u32 = 2;
    /// Get the file status flags.
    pub const F_GETFL: u32 = 3;
    /// Set the file status flags.
    pub const F_SETFL: u32 = 4;
    /// Test a record lock.
    pub const F_GETLK: u32 = 5;
    /// Set a record lock, not waiting.
    pub const F_SETLK: u32 = 6;
    /// Set a record lock, waiting.
    pub const F_SETLKW: u32 = 7;
    /// Set the owner for SIGIO.
    pub const F_SETOWN: u32 = 8;
    /// Get the owner for SIGIO.
    pub const F_GETOWN: u32 = 9;
    /// Set the signal sent for I/O.
    pub const F_SETSIG: u32 = 10;
    /// Get the signal sent for I/O.
    pub const F_GETSIG: u32 = 11;
    /// Set the owner, extended form.
    pub const F_SETOWN_EX: u32 = 15;
    /// Get the owner, extended form.
    pub const F_GETOWN_EX: u32 = 16;
    /// Test an open file description lock.
    pub const F_OFD_GETLK: u32 = 36;
    /// Set an open file description lock, not waiting.
    pub const F_OFD_SETLK: u32 = 37;
    /// Set an open file description lock, waiting.
    pub const F_OFD_SETLKW: u32 = 38;
    /// Set a lease.
    pub const F_SETLEASE: u32 = 1024;
    /// Get the lease.
    pub const F_GETLEASE: u32 = 1025;
    /// Request directory change notifications.
    pub const F_NOTIFY: u32 = 1026;
    /// As `F_DUPFD`, setting close-on-exec.
    pub const F_DUPFD_CLOEXEC: u32 = 1030;
    /// Set the pipe buffer size.
    pub const F_SETPIPE_SZ: u32 = 1031;
    /// Get the pipe buffer size.
    pub const F_GETPIPE_SZ: u32 = 1032;
    /// Add file seals.
    pub const F_ADD_SEALS: u32 = 1033;
    /// Get file seals.
    pub const F_GET_SEALS: u32 = 1034;
    /// Seal: no more seals.
    pub const F_SEAL_SEAL: u32 = 0x0001;
    /// Seal: no shrinking.
    pub const F_SEAL_SHRINK: u32 = 0x0002;
    /// Seal: no growing.
    pub const F_SEAL_GROW: u32 = 0x0004;
    /// Seal: no writes.
    pub const F_SEAL_WRITE: u32 = 0x0008;
    /// Seal: no future writes through new mappings.
    pub const F_SEAL_FUTURE_WRITE: u32 = 0x0010;
    /// The fd flag: close on `execve`.
    pub const FD_CLOEXEC: u32 = 1;
    /// Lock type: shared.
    pub const F_RDLCK: i16 = 0;
    /// Lock type: exclusive.
    pub const F_WRLCK: i16 = 1;
    /// Lock type: unlock.
    pub const F_UNLCK: i16 = 2;
    /// `lseek` from the start.
    pub const SEEK_SET: u32 = 0;
    /// `lseek` from the current offset.
    pub const SEEK_CUR: u32 = 1;
    /// `lseek` from the end.
    pub const SEEK_END: u32 = 2;
    /// `lseek` to the next data.
    pub const SEEK_DATA: u32 = 3;
    /// `lseek` to the next hole.
    pub const SEEK_HOLE: u32 = 4;
}

/// `*at` directory fd and flags, include/uapi/linux/fcntl.h.
pub mod at {
    /// "Relative to the current directory" as a directory fd.
    pub const AT_FDCWD: i32 = -100;
    /// Do not follow a final symbolic link.
    pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
    /// `faccessat`: check with the effective ids.
    pub const AT_EACCESS: u32 = 0x200;
    /// `unlinkat`: remove a directory.
    pub const AT_REMOVEDIR: u32 = 0x200;
    /// `linkat`: follow a final symbolic link.
    pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
    /// Do not trigger an automount.
    pub const AT_NO_AUTOMOUNT: u32 = 0x800;
    /// An empty path means the directory fd itself.
    pub const AT_EMPTY_PATH: u32 = 0x1000;
    /// `statx` sync mode mask.
    pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
    /// `statx`: do what `stat` does.
    pub const AT_STATX_SYNC_AS_STAT: u32 = 0x0000;
    /// `statx`: force sync with the server.
    pub const AT_STATX_FORCE_SYNC: u32 = 0x2000;
    /// `statx`: do not sync.
    pub const AT_STATX_DONT_SYNC: u32 = 0x4000;
    /// Apply to the whole subtree.
    pub const AT_RECURSIVE: u32 = 0x8000;
}

/// `renameat2` flags, include/uapi/linux/fs.h.
pub mod rename {
    /// Fail with EEXIST rather than replace the target.
    pub const RENAME_NOREPLACE: u32 = 1;
    /// Swap the two names.
    pub const RENAME_EXCHANGE: u32 = 2;
    /// Leave a whiteout (a 0/0 character device) at the old name.
    pub const RENAME_WHITEOUT: u32 = 4;
}

/// Terminal and file `ioctl` requests, include/uapi/asm-generic/ioctls.h
/// (x86_64 and arm64 alike).
pub mod ioctl {
    /// Get the kernel `termios`.
    pub const TCGETS: u32 = 0x5401;
    /// Set the kernel `termios` now.
    pub const TCSETS: u32 = 0x5402;
    /// Set the kernel `termios` after output drains.
    pub const TCSETSW: u32 = 0x5403;
    /// Set the kernel `termios` after draining and flushing input.
    pub const TCSETSF: u32 = 0x5404;
    /// Send a break, or drain.
    pub const TCSBRK: u32 = 0x5409;
    /// Flow control.
    pub const TCXONC: u32 = 0x540A;
    /// Flush queues.
    pub const TCFLSH: u32 = 0x540B;
    /// Exclusive mode on.
    pub const TIOCEXCL: u32 = 0x540C;
    /// Exclusive mode off.
    pub const TIOCNXCL: u32 = 0x540D;
    /// Make this the controlling terminal.
    pub const TIOCSCTTY: u32 = 0x540E;
    /// Get the foreground process group.
    pub const TIOCGPGRP: u32 = 0x540F;
    /// Set the foreground process group.
    pub const TIOCSPGRP: u32 = 0x5410;
    /// Bytes in the output queue.
    pub const TIOCOUTQ: u32 = 0x5411;
    /// Fake input.
    pub const TIOCSTI: u32 = 0x5412;
    /// Get the window size.
    pub const TIOCGWINSZ: u32 = 0x5413;
    /// Set the window size.
    pub const TIOCSWINSZ: u32 = 0x5414;
    /// Bytes readable now.
    pub const FIONREAD: u32 = 0x541B;
    /// Same as `FIONREAD`.
    pub const TIOCINQ: u32 = FIONREAD;
    /// Set or clear non-blocking I/O.
    pub const FIONBIO: u32 = 0x5421;
    /// Give up the controlling terminal.
    pub const TIOCNOTTY: u32 = 0x5422;
    /// Get the session id of the terminal.
    pub const TIOCGSID: u32 = 0x5429;
    /// Get the pty number (`_IOR('T', 0x30, unsigned int)`).
    pub const TIOCGPTN: u32 = 0x8004_5430;
    /// Lock or unlock the pty (`_IOW('T', 0x31, int)`).
    pub const TIOCSPTLCK: u32 = 0x4004_5431;
    /// Clear close-on-exec.
    pub const FIONCLEX: u32 = 0x5450;
    /// Set close-on-exec.
    pub const FIOCLEX: u32 = 0x5451;
    /// Set or clear async I/O.
    pub const FIOASYNC: u32 = 0x5452;
    /// Size of a file or directory.
    pub const FIOQSIZE: u32 = 0x5460;
}

/// `struct termios` fields, include/uapi/asm-generic/termbits.h and
/// termbits-common.h (x86_64 and arm64 alike).
pub mod termios {
    /// Number of control characters in the kernel's `termios`.
    pub const NCCS: usize = 19;
    /// `c_cc` index: interrupt (SIGINT).
    pub const VINTR: usize = 0;
    /// `c_cc` index: quit (SIGQUIT).
    pub const VQUIT: usize = 1;
    /// `c_cc` index: erase a character.
    pub const VERASE: usize = 2;
    /// `c_cc` index: erase the line.
    pub const VKILL: usize = 3;
    /// `c_cc` index: end of file.
    pub const VEOF: usize = 4;
    /// `c_cc` index: non-canonical read timeout.
    pub const VTIME: usize = 5;
    /// `c_cc` index: non-canonical read minimum.
    pub const VMIN: usize = 6;
    /// `c_cc` index: switch (unused by Linux).
    pub const VSWTC: usize = 7;
    /// `c_cc` index: resume output.
    pub const VSTART: usize = 8;
    /// `c_cc` index: stop output.
    pub const VSTOP: usize = 9;
    /// `c_cc` index: suspend (SIGTSTP).
    pub const VSUSP: usize = 10;
    /// `c_cc` index: extra end of line.
    pub const VEOL: usize = 11;
    /// `c_cc` index: reprint the line.
    pub const VREPRINT: usize = 12;
    /// `c_cc` index: discard output.
    pub const VDISCARD: usize = 13;
    /// `c_cc` index: erase a word.
    pub const VWERASE: usize = 14;
    /// `c_cc` index: quote the next character.
    pub const VLNEXT: usize = 15;
    /// `c_cc` index: second extra end of line.
    pub const VEOL2: usize = 16;
    /// `c_iflag`: signal on break.
    pub const BRKINT: u32 = 0o000002;
    /// `c_iflag`: parity checking.
    pub const INPCK: u32 = 0o000020;
    /// `c_iflag`: strip the eighth bit.
    pub const ISTRIP: u32 = 0o000040;
    /// `c_iflag`: NL to CR on input.
    pub const INLCR: u32 = 0o000100;
    /// `c_iflag`: ignore CR.
    pub const IGNCR: u32 = 0o000200;
    /// `c_iflag`: CR to NL on input.
    pub const ICRNL: u32 = 0o000400;
    /// `c_iflag`: XON/XOFF output flow control.
    pub const IXON: u32 = 0o002000;
    /// `c_iflag`: XON/XOFF input flow control.
    pub const IXOFF: u32 = 0o010000;
    /// `c_iflag`: input is UTF-8.
    pub const IUTF8: u32 = 0o040000;
    /// `c_oflag`: post-process output.
    pub const OPOST: u32 = 0o000001;
    /// `c_oflag`: NL to CR-NL on output.
    pub const ONLCR: u32 = 0o000004;
    /// `c_cflag`: 38400 baud.
    pub const B38400: u32 = 0o000017;
    /// `c_cflag`: character size mask.
    pub const CSIZE: u32 = 0o000060;
    /// `c_cflag`: 8-bit characters.
    pub const CS8: u32 = 0o000060;
    /// `c_cflag`: enable the receiver.
    pub const CREAD: u32 = 0o000200;
    /// `c_cflag`: hang up on last close.
    pub const HUPCL: u32 = 0o002000;
    /// `c_cflag`: ignore modem lines.
    pub const CLOCAL: u32 = 0o004000;
    /// `c_lflag`: generate signals for INTR, QUIT, SUSP.
    pub const ISIG: u32 = 0o000001;
    /// `c_lflag`: canonical (line) mode.
    pub const ICANON: u32 = 0o000002;
    /// `c_lflag`: echo input.
    pub const ECHO: u32 = 0o000010;
    /// `c_lflag`: ERASE erases visibly.
    pub const ECHOE: u32 = 0o000020;
    /// `c_lflag`: KILL erases the line.
    pub const ECHOK: u32 = 0o000040;
    /// `c_lflag`: echo NL even without ECHO.
    pub const ECHONL: u32 = 0o000100;
    /// `c_lflag`: no flush after a signal.
    pub const NOFLSH: u32 = 0o000200;
    /// `c_lflag`: SIGTTOU for background output.
    pub const TOSTOP: u32 = 0o000400;
    /// `c_lflag`: echo control characters as `^X`.
    pub const ECHOCTL: u32 = 0o001000;
    /// `c_lflag`: KILL erases character by character.
    pub const ECHOKE: u32 = 0o004000;
    /// `c_lflag`: extended input processing.
    pub const IEXTEN: u32 = 0o100000;
    /// `TCFLSH`: flush input.
    pub const TCIFLUSH: u32 = 0;
    /// `TCFLSH`: flush output.
    pub const TCOFLUSH: u32 = 1;
    /// `TCFLSH`: flush both.
    pub const TCIOFLUSH: u32 = 2;
}

/// `poll` event bits, include/uapi/asm-generic/poll.h.
pub mod poll {
    /// Data to read.
    pub const POLLIN: i16 = 0x0001;
    /// Urgent data to read.
    pub const POLLPRI: i16 = 0x0002;
    /// Writing will not block.
    pub const POLLOUT: i16 = 0x0004;
    /// Error (returned only).
    pub const POLLERR: i16 = 0x0008;
    /// Hang-up (returned only).
    pub const POLLHUP: i16 = 0x0010;
    /// Invalid fd (returned only).
    pub const POLLNVAL: i16 = 0x0020;
    /// Normal data to read.
    pub const POLLRDNORM: i16 = 0x0040;
    /// Priority band data to read.
    pub const POLLRDBAND: i16 = 0x0080;
    /// Normal data may be written.
    pub const POLLWRNORM: i16 = 0x0100;
    /// Priority data may be written.
    pub const POLLWRBAND: i16 = 0x0200;
    /// Unused by Linux.
    pub const POLLMSG: i16 = 0x0400;
    /// Unused by Linux.
    pub const POLLREMOVE: i16 = 0x1000;
    /// Peer closed its writing end.
    pub const POLLRDHUP: i16 = 0x2000;
}

/// `epoll` operations and event bits, include/uapi/linux/eventpoll.h.
pub mod epoll {
    /// `epoll_create1` flag: close on `execve`.
    pub const EPOLL_CLOEXEC: u32 = 0o2000000;
    /// Add an fd.
    pub const EPOLL_CTL_ADD: u32 = 1;
    /// Remove an fd.
    pub const EPOLL_CTL_DEL: u32 = 2;
    /// Change an fd's events.
    pub const EPOLL_CTL_MOD: u32 = 3;
    /// Readable.
    pub const EPOLLIN: u32 = 0x0000_0001;
    /// Urgent data.
    pub const EPOLLPRI: u32 = 0x0000_0002;
    /// Writable.
    pub const EPOLLOUT: u32 = 0x0000_0004;
    /// Error.
    pub const EPOLLERR: u32 = 0x0000_0008;
    /// Hang-up.
    pub const EPOLLHUP: u32 = 0x0000_0010;
    /// Invalid fd.
    pub const EPOLLNVAL: u32 = 0x0000_0020;
    /// Normal data readable.
    pub const EPOLLRDNORM: u32 = 0x0000_0040;
    /// Priority band readable.
    pub const EPOLLRDBAND: u32 = 0x0000_0080;
    /// Normal data writable.
    pub const EPOLLWRNORM: u32 = 0x0000_0100;
    /// Priority band writable.
    pub const EPOLLWRBAND: u32 = 0x0000_0200;
    /// Unused.
    pub const EPOLLMSG: u32 = 0x0000_0400;
    /// Peer closed its writing end.
    pub const EPOLLRDHUP: u32 = 0x0000_2000;
    /// Wake only one of several waiters.
    pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
    /// Keep the system awake while the event is pending.
    pub const EPOLLWAKEUP: u32 = 1 << 29;
    /// Disable the fd after one event.
    pub const EPOLLONESHOT: u32 = 1 << 30;
    /// Edge-triggered.
    pub const EPOLLET: u32 = 1 << 31;
}

/// `d_type` values of directory entries, include/linux/fs_types.h as glibc's
/// `<dirent.h>` exposes them.
pub mod dirent {
    /// Unknown type.
    pub const DT_UNKNOWN: u8 = 0;
    /// FIFO.
    pub const DT_FIFO: u8 = 1;
    /// Character device.
    pub const DT_CHR: u8 = 2;
    /// Directory.
    pub const DT_DIR: u8 = 4;
    /// Block device.
    pub const DT_BLK: u8 = 6;
    /// Regular file.
    pub const DT_REG: u8 = 8;
    /// Symbolic link.
    pub const DT_LNK: u8 = 10;
    /// Socket.
    pub const DT_SOCK: u8 = 12;
    /// Whiteout.
    pub const DT_WHT: u8 = 14;

    /// The `DT_*` type for an `st_mode`, as Linux's `fs_umode_to_dtype`.
    pub const fn from_mode(mode: u32) -> u8 {
        // The S_IFMT nibble and DT_* share their encoding.
        ((mode >> 12) & 0xf) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent_record_lengths() {
        // 19 + len + 1 rounded up to 8.
        assert_eq!(LinuxDirent64::record_len(0), Some(24));
        assert_eq!(LinuxDirent64::record_len(1), Some(24));
        assert_eq!(LinuxDirent64::record_len(4), Some(24));
        assert_eq!(LinuxDirent64::record_len(5), Some(32));
        assert_eq!(LinuxDirent64::record_len(255), Some(280));
        assert_eq!(LinuxDirent64::record_len(65_600), None);
        assert_eq!(LinuxDirent64::record_len(usize::MAX), None);
    }

    #[test]
    fn dirent_serialization() {
        let mut buf = Vec::new();
        assert_eq!(LinuxDirent64::push(&mut buf, 7, 1, dirent::DT_DIR, b"."), Some(24));
        assert_eq!(LinuxDirent64::push(&mut buf, 0x1122_3344_5566_7788, -2, dirent::DT_REG, b"hello"), Some(32));
        assert_eq!(buf.len(), 56);
        let mut want = Vec::new();
        want.extend_from_slice(&7u64.to_le_bytes());
        want.extend_from_slice(&1i64.to_le_bytes());
        want.extend_from_slice(&24u16.to_le_bytes());
        want.push(4);
        want.extend_from_slice(b".\0\0\0\0");
        want.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        want.extend_from_slice(&(-2i64).to_le_bytes());
        want.extend_from_slice(&32u16.to_le_bytes());
        want.push(8);
        want.extend_from_slice(b"hello\0\0\0\0\0\0\0\0");
        assert_eq!(buf, want);
        let hdr: LinuxDirent64 = bytemuck::pod_read_unaligned(&buf[24..24 + LinuxDirent64::HEADER_SIZE]);
        assert_eq!({ hdr.d_reclen }, 32);
        assert_eq!({ hdr.d_off }, -2);
    }

    #[test]
    fn dirent_serialize_matches_push() {
        let mut pushed = Vec::new();
        LinuxDirent64::push(&mut pushed, 9, 3, dirent::DT_LNK, b"link-name");
        assert_eq!(LinuxDirent64::serialize(9, 3, dirent::DT_LNK, b"link-name"), pushed);
        assert_eq!(pushed.len(), 32);
        assert!(LinuxDirent64::serialize(9, 3, 0, b"bad\0name").is_empty());
    }

    #[test]
    fn dirent_rejects_bad_names() {
        let mut buf = vec![0xaa];
        assert_eq!(LinuxDirent64::push(&mut buf, 1, 1, 0, b"a\0b"), None);
        assert_eq!(LinuxDirent64::push(&mut buf, 1, 1, 0, &[b'x'; 70_000]), None);
        assert_eq!(buf, [0xaa]);
    }

    #[test]
    fn dtype_from_mode() {
        use crate::uapi::stat_mode::*;
        assert_eq!(dirent::from_mode(S_IFDIR | 0o755), dirent::DT_DIR);
        assert_eq!(dirent::from_mode(S_IFREG), dirent::DT_REG);
        assert_eq!(dirent::from_mode(S_IFLNK), dirent::DT_LNK);
        assert_eq!(dirent::from_mode(S_IFSOCK), dirent::DT_SOCK);
        assert_eq!(dirent::from_mode(S_IFCHR), dirent::DT_CHR);
    }

    #[test]
    fn default_termios_is_canonical_echo() {
        let t = Termios::linux_default();
        assert_ne!(t.c_lflag & termios::ICANON, 0);
        assert_ne!(t.c_lflag & termios::ECHO, 0);
        assert_eq!(t.c_cc[termios::VMIN], 1);
        assert_eq!(t.c_cc[termios::VINTR], 3);
    }
}
