//! Threads and processes: `clone_args`, the robust futex list head, and the
//! `clone`, `futex` and `wait` constants.

use core::mem::size_of;

/// `struct clone_args` for `clone3`, include/uapi/linux/sched.h (the 88-byte
/// `CLONE_ARGS_SIZE_VER2` layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CloneArgs {
    /// `CLONE_*` flags.
    pub flags: u64,
    /// Where to store the pidfd (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// Where to store the child's tid in the child (`CLONE_CHILD_SETTID`).
    pub child_tid: u64,
    /// Where to store the child's tid in the parent (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// Signal sent to the parent when the child exits.
    pub exit_signal: u64,
    /// Lowest address of the child's stack.
    pub stack: u64,
    /// Size of the child's stack.
    pub stack_size: u64,
    /// The child's TLS pointer (`CLONE_SETTLS`).
    pub tls: u64,
    /// Array of tids to request, one per pid namespace.
    pub set_tid: u64,
    /// Number of entries in `set_tid`.
    pub set_tid_size: u64,
    /// cgroup fd (`CLONE_INTO_CGROUP`).
    pub cgroup: u64,
}
const _: () = assert!(size_of::<CloneArgs>() == 88);

impl CloneArgs {
    /// Size of the first published version, without `set_tid` and `cgroup`.
    pub const SIZE_VER0: usize = 64;
    /// Size with `set_tid` and `set_tid_size`.
    pub const SIZE_VER1: usize = 80;
    /// Size with `cgroup`.
    pub const SIZE_VER2: usize = 88;
}

/// `struct robust_list_head`, include/uapi/linux/futex.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RobustListHead {
    /// `list.next`: first entry, or the head's own address when empty.
    pub list: u64,
    /// Offset from an entry to its futex word.
    pub futex_offset: i64,
    /// Entry being added or removed, if any.
    pub list_op_pending: u64,
}
const _: () = assert!(size_of::<RobustListHead>() == 24);

/// `clone` and `clone3` flags, include/uapi/linux/sched.h.
pub mod clone_flags {
    /// Mask of the exit signal in `clone`'s flags.
    pub const CSIGNAL: u64 = 0x0000_00ff;
    /// New time namespace (`clone3`/`unshare` only: overlaps `CSIGNAL`).
    pub const CLONE_NEWTIME: u64 = 0x0000_0080;
    /// Share the address space.
    pub const CLONE_VM: u64 = 0x0000_0100;
    /// Share the file system information.
    pub const CLONE_FS: u64 = 0x0000_0200;
    /// Share the file descriptor table.
    pub const CLONE_FILES: u64 = 0x0000_0400;
    /// Share signal handlers.
    pub const CLONE_SIGHAND: u64 = 0x0000_0800;
    /// Return a pidfd.
    pub const CLONE_PIDFD: u64 = 0x0000_1000;
    /// Continue tracing the child.
    pub const CLONE_PTRACE: u64 = 0x0000_2000;
    /// Suspend the parent until the child execs or exits.
    pub const CLONE_VFORK: u64 = 0x0000_4000;
    /// The child's parent is the caller's parent.
    pub const CLONE_PARENT: u64 = 0x0000_8000;
    /// Same thread group.
    pub const CLONE_THREAD: u64 = 0x0001_0000;
    /// New mount namespace.
    pub const CLONE_NEWNS: u64 = 0x0002_0000;
    /// Share System V semaphore undo lists.
    pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
    /// Set the child's TLS pointer.
    pub const CLONE_SETTLS: u64 = 0x0008_0000;
    /// Store the child's tid in the parent.
    pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
    /// Clear the child's tid and wake its futex when the child exits.
    pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
    /// Ignored.
    pub const CLONE_DETACHED: u64 = 0x0040_0000;
    /// A tracer cannot force `CLONE_PTRACE`.
    pub const CLONE_UNTRACED: u64 = 0x0080_0000;
    /// Store the child's tid in the child.
    pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
    /// New cgroup namespace.
    pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
    /// New UTS namespace.
    pub const CLONE_NEWUTS: u64 = 0x0400_0000;
    /// New IPC namespace.
    pub const CLONE_NEWIPC: u64 = 0x0800_0000;
    /// New user namespace.
    pub const CLONE_NEWUSER: u64 = 0x1000_0000;
    /// New pid namespace.
    pub const CLONE_NEWPID: u64 = 0x2000_0000;
    /// New network namespace.
    pub const CLONE_NEWNET: u64 = 0x4000_0000;
    /// Share the I/O context.
    pub const CLONE_IO: u64 = 0x8000_0000;
    /// `clone3`: reset signal handlers to default.
    pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
    /// `clone3`: start in the cgroup given by `cgroup`.
    pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
}

/// `futex` operations and futex word bits, include/uapi/linux/futex.h.
pub mod futex {
    /// Wait while the word equals the value.
    pub const FUTEX_WAIT: u32 = 0;
    /// Wake waiters.
    pub const FUTEX_WAKE: u32 = 1;
    /// Removed; Linux returns ENOSYS.
    pub const FUTEX_FD: u32 = 2;
    /// Wake some waiters, move the rest to another futex.
    pub const FUTEX_REQUEUE: u32 = 3;
    /// As `FUTEX_REQUEUE`, if the word still equals a value.
    pub const FUTEX_CMP_REQUEUE: u32 = 4;
    /// Operate on a second word and wake on both.
    pub const FUTEX_WAKE_OP: u32 = 5;
    /// Lock a priority-inheritance futex.
    pub const FUTEX_LOCK_PI: u32 = 6;
    /// Unlock a priority-inheritance futex.
    pub const FUTEX_UNLOCK_PI: u32 = 7;
    /// Try to lock a priority-inheritance futex.
    pub const FUTEX_TRYLOCK_PI: u32 = 8;
    /// As `FUTEX_WAIT`, with a bitset and an absolute timeout.
    pub const FUTEX_WAIT_BITSET: u32 = 9;
    /// As `FUTEX_WAKE`, with a bitset.
    pub const FUTEX_WAKE_BITSET: u32 = 10;
    /// Wait on a non-PI futex to be requeued to a PI one.
    pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
    /// Requeue from a non-PI futex to a PI one.
    pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
    /// As `FUTEX_LOCK_PI`, with a selectable clock.
    pub const FUTEX_LOCK_PI2: u32 = 13;
    /// The futex is private to the process.
    pub const FUTEX_PRIVATE_FLAG: u32 = 128;
    /// The timeout is measured against CLOCK_REALTIME.
    pub const FUTEX_CLOCK_REALTIME: u32 = 256;
    /// Mask of the operation.
    pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    /// `FUTEX_WAIT | FUTEX_PRIVATE_FLAG`.
    pub const FUTEX_WAIT_PRIVATE: u32 = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;
    /// `FUTEX_WAKE | FUTEX_PRIVATE_FLAG`.
    pub const FUTEX_WAKE_PRIVATE: u32 = FUTEX_WAKE | FUTEX_PRIVATE_FLAG;
    /// `FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG`.
    pub const FUTEX_WAIT_BITSET_PRIVATE: u32 = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG;
    /// `FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG`.
    pub const FUTEX_WAKE_BITSET_PRIVATE: u32 = FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG;
    /// Bitset that matches every waiter.
    pub const FUTEX_BITSET_MATCH_ANY: u32 = 0xffff_ffff;
    /// Robust/PI futex word: there are waiters.
    pub const FUTEX_WAITERS: u32 = 0x8000_0000;
    /// Robust futex word: the owner died.
    pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    /// Robust/PI futex word: mask of the owner tid.
    pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    /// Most robust list entries the kernel walks.
    pub const ROBUST_LIST_LIMIT: u32 = 2048;
}

/// `wait4`/`waitid` options and id types, include/uapi/linux/wait.h.
pub mod wait {
    /// Return at once if no child has changed state.
    pub const WNOHANG: u32 = 0x0000_0001;
    /// Also report stopped children.
    pub const WUNTRACED: u32 = 0x0000_0002;
    /// `waitid`: report stopped children.
    pub const WSTOPPED: u32 = WUNTRACED;
    /// `waitid`: report exited children.
    pub const WEXITED: u32 = 0x0000_0004;
    /// Report continued children.
    pub const WCONTINUED: u32 = 0x0000_0008;
    /// `waitid`: leave the child waitable.
    pub const WNOWAIT: u32 = 0x0100_0000;
    /// Do not wait for children of other threads in the group.
    pub const __WNOTHREAD: u32 = 0x2000_0000;
    /// Wait for all children, clone or not.
    pub const __WALL: u32 = 0x4000_0000;
    /// Wait only for clone children.
    pub const __WCLONE: u32 = 0x8000_0000;
    /// `waitid`: any child.
    pub const P_ALL: u32 = 0;
    /// `waitid`: the child with this pid.
    pub const P_PID: u32 = 1;
    /// `waitid`: any child in this process group.
    pub const P_PGID: u32 = 2;
    /// `waitid`: the child this pidfd refers to.
    pub const P_PIDFD: u32 = 3;
}
