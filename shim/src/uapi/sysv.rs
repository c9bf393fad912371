//! System V IPC structs and constants: include/uapi/linux/ipc.h, shm.h, sem.h,
//! msg.h and the asm-generic ipcbuf/shmbuf/msgbuf (x86_64 uses them too); the
//! `semid64_ds` layouts differ and live in the per-architecture modules. Also
//! POSIX message queues (include/uapi/linux/mqueue.h).

use core::mem::size_of;

/// `struct ipc64_perm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct IpcPerm {
    /// Key given to *get.
    pub key: i32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Creator's user id.
    pub cuid: u32,
    /// Creator's group id.
    pub cgid: u32,
    /// Access mode (low 9 bits) and flags.
    pub mode: u32,
    /// Sequence number.
    pub seq: u16,
    /// `__pad2`.
    pub _pad2: u16,
    /// `__pad` to 8 bytes.
    pub _pad3: u32,
    /// `__unused1`.
    pub _unused1: u64,
    /// `__unused2`.
    pub _unused2: u64,
}
const _: () = assert!(size_of::<IpcPerm>() == 48);

/// `struct shmid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ShmidDs {
    /// Permissions.
    pub shm_perm: IpcPerm,
    /// Size in bytes.
    pub shm_segsz: u64,
    /// Last attach.
    pub shm_atime: i64,
    /// Last detach.
    pub shm_dtime: i64,
    /// Last change.
    pub shm_ctime: i64,
    /// Creator's pid.
    pub shm_cpid: i32,
    /// Pid of the last shmat/shmdt.
    pub shm_lpid: i32,
    /// Attachments.
    pub shm_nattch: u64,
    /// `__unused4`.
    pub _unused4: u64,
    /// `__unused5`.
    pub _unused5: u64,
}
const _: () = assert!(size_of::<ShmidDs>() == 112);

/// `struct msqid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MsqidDs {
    /// Permissions.
    pub msg_perm: IpcPerm,
    /// Last msgsnd.
    pub msg_stime: i64,
    /// Last msgrcv.
    pub msg_rtime: i64,
    /// Last change.
    pub msg_ctime: i64,
    /// Bytes queued.
    pub msg_cbytes: u64,
    /// Messages queued.
    pub msg_qnum: u64,
    /// Most bytes the queue holds.
    pub msg_qbytes: u64,
    /// Pid of the last msgsnd.
    pub msg_lspid: i32,
    /// Pid of the last msgrcv.
    pub msg_lrpid: i32,
    /// `__unused4`.
    pub _unused4: u64,
    /// `__unused5`.
    pub _unused5: u64,
}
const _: () = assert!(size_of::<MsqidDs>() == 120);

/// `struct sembuf`: one semop operation.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Sembuf {
    /// Semaphore index.
    pub sem_num: u16,
    /// Operation.
    pub sem_op: i16,
    /// IPC_NOWAIT, SEM_UNDO.
    pub sem_flg: i16,
}
const _: () = assert!(size_of::<Sembuf>() == 6);

/// `struct seminfo` (IPC_INFO, SEM_INFO).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Seminfo {
    /// Unused.
    pub semmap: i32,
    /// Most sets.
    pub semmni: i32,
    /// Most semaphores in all.
    pub semmns: i32,
    /// Unused.
    pub semmnu: i32,
    /// Most semaphores per set.
    pub semmsl: i32,
    /// Most operations per semop.
    pub semopm: i32,
    /// Unused.
    pub semume: i32,
    /// Size of struct sem_undo.
    pub semusz: i32,
    /// Largest semaphore value.
    pub semvmx: i32,
    /// Largest adjustment recorded.
    pub semaem: i32,
}
const _: () = assert!(size_of::<Seminfo>() == 40);

/// `struct msginfo` (IPC_INFO, MSG_INFO).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Msginfo {
    /// Unused (MSG_INFO: bytes of all queues).
    pub msgpool: i32,
    /// Unused (MSG_INFO: messages queued).
    pub msgmap: i32,
    /// Largest message.
    pub msgmax: i32,
    /// Default queue size in bytes.
    pub msgmnb: i32,
    /// Most queues.
    pub msgmni: i32,
    /// Unused.
    pub msgssz: i32,
    /// Unused (MSG_INFO: bytes queued).
    pub msgtql: i32,
    /// Unused.
    pub msgseg: u16,
    /// Padding.
    pub _pad: u16,
}
const _: () = assert!(size_of::<Msginfo>() == 32);

/// `struct shminfo64` (IPC_INFO of shmctl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Shminfo64 {
    /// Largest segment.
    pub shmmax: u64,
    /// Smallest segment.
    pub shmmin: u64,
    /// Most segments.
    pub shmmni: u64,
    /// Unused.
    pub shmseg: u64,
    /// Most pages in all segments.
    pub shmall: u64,
    /// Unused.
    pub _unused1: u64,
    /// Unused.
    pub _unused2: u64,
    /// Unused.
    pub _unused3: u64,
    /// Unused.
    pub _unused4: u64,
}
const _: () = assert!(size_of::<Shminfo64>() == 72);

/// `struct mq_attr`, include/uapi/linux/mqueue.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MqAttr {
    /// O_NONBLOCK or 0.
    pub mq_flags: i64,
    /// Most messages.
    pub mq_maxmsg: i64,
    /// Largest message.
    pub mq_msgsize: i64,
    /// Messages queued.
    pub mq_curmsgs: i64,
    /// Reserved.
    pub _reserved: [i64; 4],
}
const _: () = assert!(size_of::<MqAttr>() == 64);

/// System V IPC constants.
pub mod ipc {
    /// Key for a new private object.
    pub const IPC_PRIVATE: i32 = 0;
    /// Create if missing.
    pub const IPC_CREAT: i32 = 0o1000;
    /// Fail if it exists.
    pub const IPC_EXCL: i32 = 0o2000;
    /// Do not wait.
    pub const IPC_NOWAIT: i32 = 0o4000;
    /// Remove.
    pub const IPC_RMID: i32 = 0;
    /// Set owner and mode.
    pub const IPC_SET: i32 = 1;
    /// Get the status.
    pub const IPC_STAT: i32 = 2;
    /// Get the limits.
    pub const IPC_INFO: i32 = 3;
    /// The new (64-bit) layout flag of a *ctl command.
    pub const IPC_64: i32 = 0x100;
    /// shmctl: lock in memory.
    pub const SHM_LOCK: i32 = 11;
    /// shmctl: unlock.
    pub const SHM_UNLOCK: i32 = 12;
    /// shmctl: status by index.
    pub const SHM_STAT: i32 = 13;
    /// shmctl: usage summary.
    pub const SHM_INFO: i32 = 14;
    /// shmctl: status by index, without the read permission check.
    pub const SHM_STAT_ANY: i32 = 15;
    /// shmat: read-only.
    pub const SHM_RDONLY: i32 = 0o10000;
    /// shmat: round the address down.
    pub const SHM_RND: i32 = 0o20000;
    /// shmat: replace what is mapped there.
    pub const SHM_REMAP: i32 = 0o40000;
    /// shmat: executable.
    pub const SHM_EXEC: i32 = 0o100000;
    /// Segment mode bit: marked for removal (glibc bits/shm.h; the kernel keeps it internal).
    pub const SHM_DEST: u32 = 0o1000;
    /// Segment mode bit: locked.
    pub const SHM_LOCKED: u32 = 0o2000;
    /// semop: undo at exit.
    pub const SEM_UNDO: i16 = 0x1000;
    /// semctl commands.
    pub const GETPID: i32 = 11;
    /// Value of one semaphore.
    pub const GETVAL: i32 = 12;
    /// Values of all.
    pub const GETALL: i32 = 13;
    /// Waiters for an increase.
    pub const GETNCNT: i32 = 14;
    /// Waiters for zero.
    pub const GETZCNT: i32 = 15;
    /// Set one value.
    pub const SETVAL: i32 = 16;
    /// Set all values.
    pub const SETALL: i32 = 17;
    /// Status by index.
    pub const SEM_STAT: i32 = 18;
    /// Usage summary.
    pub const SEM_INFO: i32 = 19;
    /// Status by index, no read check.
    pub const SEM_STAT_ANY: i32 = 20;
    /// msgctl: status by index.
    pub const MSG_STAT: i32 = 11;
    /// msgctl: usage summary.
    pub const MSG_INFO: i32 = 12;
    /// msgctl: status by index, no read check.
    pub const MSG_STAT_ANY: i32 = 13;
    /// msgrcv: truncate a long message.
    pub const MSG_NOERROR: i32 = 0o10000;
    /// msgrcv: any type but the one given.
    pub const MSG_EXCEPT: i32 = 0o20000;
    /// msgrcv: copy without removing (by index).
    pub const MSG_COPY: i32 = 0o40000;
}
