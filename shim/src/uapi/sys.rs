//! System and process information: `utsname`, `sysinfo`, `rusage`, `tms`,
//! `rlimit64`, and the `prctl`, `arch_prctl`, `getrandom` constants.

use core::mem::size_of;

use super::time::Timeval;

/// Length of each `utsname` field, NUL included (`__NEW_UTS_LEN + 1`).
pub const UTS_FIELD_LEN: usize = 65;

/// `struct new_utsname`, include/uapi/linux/utsname.h, as `uname` fills it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Utsname {
    /// Operating system name, e.g. `Linux`.
    pub sysname: [u8; UTS_FIELD_LEN],
    /// Host name.
    pub nodename: [u8; UTS_FIELD_LEN],
    /// Kernel release.
    pub release: [u8; UTS_FIELD_LEN],
    /// Kernel version string.
    pub version: [u8; UTS_FIELD_LEN],
    /// Hardware name, e.g. `x86_64` or `aarch64`.
    pub machine: [u8; UTS_FIELD_LEN],
    /// NIS domain name.
    pub domainname: [u8; UTS_FIELD_LEN],
}
const _: () = assert!(size_of::<Utsname>() == 6 * UTS_FIELD_LEN);

impl Default for Utsname {
    fn default() -> Utsname {
        bytemuck::Zeroable::zeroed()
    }
}

impl Utsname {
    /// A field holding `s`, cut to 64 bytes and NUL-padded.
    pub fn field(s: &str) -> [u8; UTS_FIELD_LEN] {
        let mut out = [0u8; UTS_FIELD_LEN];
        for (dst, src) in out.iter_mut().take(UTS_FIELD_LEN - 1).zip(s.bytes()) {
            *dst = src;
        }
        out
    }
}

/// `struct sysinfo`, include/uapi/linux/sysinfo.h (64-bit: `_f` is empty).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages, scaled by 65536.
    pub loads: [u64; 3],
    /// Total usable main memory, in `mem_unit`s.
    pub totalram: u64,
    /// Free memory.
    pub freeram: u64,
    /// Shared memory.
    pub sharedram: u64,
    /// Memory used by buffers.
    pub bufferram: u64,
    /// Total swap.
    pub totalswap: u64,
    /// Free swap.
    pub freeswap: u64,
    /// Number of processes.
    pub procs: u16,
    /// `pad` (explicit in the header).
    pub _pad: u16,
    /// Implicit padding before `totalhigh`.
    pub _pad1: u32,
    /// Total high memory.
    pub totalhigh: u64,
    /// Free high memory.
    pub freehigh: u64,
    /// Size of the memory unit in bytes.
    pub mem_unit: u32,
    /// Tail padding.
    pub _pad2: u32,
}
const _: () = assert!(size_of::<Sysinfo>() == 112);

/// `struct rusage`, include/uapi/linux/resource.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Rusage {
    /// User CPU time.
    pub ru_utime: Timeval,
    /// System CPU time.
    pub ru_stime: Timeval,
    /// Maximum resident set size, in KiB.
    pub ru_maxrss: i64,
    /// Integral shared memory size.
    pub ru_ixrss: i64,
    /// Integral unshared data size.
    pub ru_idrss: i64,
    /// Integral unshared stack size.
    pub ru_isrss: i64,
    /// Page reclaims (soft faults).
    pub ru_minflt: i64,
    /// Page faults (hard faults).
    pub ru_majflt: i64,
    /// Swaps.
    pub ru_nswap: i64,
    /// Block input operations.
    pub ru_inblock: i64,
    /// Block output operations.
    pub ru_oublock: i64,
    /// IPC messages sent.
    pub ru_msgsnd: i64,
    /// IPC messages received.
    pub ru_msgrcv: i64,
    /// Signals received.
    pub ru_nsignals: i64,
    /// Voluntary context switches.
    pub ru_nvcsw: i64,
    /// Involuntary context switches.
    pub ru_nivcsw: i64,
}
const _: () = assert!(size_of::<Rusage>() == 144);

/// `struct tms`, include/uapi/linux/times.h (times in clock ticks).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Tms {
    /// User CPU time.
    pub tms_utime: i64,
    /// System CPU time.
    pub tms_stime: i64,
    /// User CPU time of waited-for children.
    pub tms_cutime: i64,
    /// System CPU time of waited-for children.
    pub tms_cstime: i64,
}
const _: () = assert!(size_of::<Tms>() == 32);

/// `struct rlimit64`, include/uapi/linux/resource.h (as `prlimit64` takes it;
/// on 64-bit the same layout as `struct rlimit`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Rlimit64 {
    /// Soft limit (`rlim_cur`).
    pub cur: u64,
    /// Hard limit (`rlim_max`).
    pub max: u64,
}
const _: () = assert!(size_of::<Rlimit64>() == 16);

/// Resource numbers, include/uapi/asm-generic/resource.h and
/// include/uapi/linux/resource.h.
pub mod rlimit {
    /// CPU time in seconds.
    pub const RLIMIT_CPU: u32 = 0;
    /// Largest file size.
    pub const RLIMIT_FSIZE: u32 = 1;
    /// Data segment size.
    pub const RLIMIT_DATA: u32 = 2;
    /// Stack size.
    pub const RLIMIT_STACK: u32 = 3;
    /// Core file size.
    pub const RLIMIT_CORE: u32 = 4;
    /// Resident set size.
    pub const RLIMIT_RSS: u32 = 5;
    /// Number of processes.
    pub const RLIMIT_NPROC: u32 = 6;
    /// Number of open files.
    pub const RLIMIT_NOFILE: u32 = 7;
    /// Locked memory.
    pub const RLIMIT_MEMLOCK: u32 = 8;
    /// Address space size.
    pub const RLIMIT_AS: u32 = 9;
    /// File locks.
    pub const RLIMIT_LOCKS: u32 = 10;
    /// Pending signals.
    pub const RLIMIT_SIGPENDING: u32 = 11;
    /// Bytes in POSIX message queues.
    pub const RLIMIT_MSGQUEUE: u32 = 12;
    /// Nice ceiling.
    pub const RLIMIT_NICE: u32 = 13;
    /// Real-time priority ceiling.
    pub const RLIMIT_RTPRIO: u32 = 14;
    /// Real-time CPU time in microseconds.
    pub const RLIMIT_RTTIME: u32 = 15;
    /// Number of resources.
    pub const RLIM_NLIMITS: u32 = 16;
    /// No limit (`RLIM64_INFINITY`).
    pub const RLIM_INFINITY: u64 = u64::MAX;
    /// `getrusage`: the calling process.
    pub const RUSAGE_SELF: i32 = 0;
    /// `getrusage`: its waited-for children.
    pub const RUSAGE_CHILDREN: i32 = -1;
    /// `getrusage`: the calling thread.
    pub const RUSAGE_THREAD: i32 = 1;
}

/// `prctl` options, include/uapi/linux/prctl.h.
pub mod prctl {
    /// Set the parent-death signal.
    pub const PR_SET_PDEATHSIG: u32 = 1;
    /// Get the parent-death signal.
    pub const PR_GET_PDEATHSIG: u32 = 2;
    /// Get the dumpable flag.
    pub const PR_GET_DUMPABLE: u32 = 3;
    /// Set the dumpable flag.
    pub const PR_SET_DUMPABLE: u32 = 4;
    /// Get the keep-capabilities flag.
    pub const PR_GET_KEEPCAPS: u32 = 7;
    /// Set the keep-capabilities flag.
    pub const PR_SET_KEEPCAPS: u32 = 8;
    /// Set the thread name (16 bytes with NUL).
    pub const PR_SET_NAME: u32 = 15;
    /// Get the thread name.
    pub const PR_GET_NAME: u32 = 16;
    /// Get the seccomp mode.
    pub const PR_GET_SECCOMP: u32 = 21;
    /// Set the seccomp mode.
    pub const PR_SET_SECCOMP: u32 = 22;
    /// Whether a capability is in the bounding set.
    pub const PR_CAPBSET_READ: u32 = 23;
    /// Drop a capability from the bounding set.
    pub const PR_CAPBSET_DROP: u32 = 24;
    /// Get whether `rdtsc` is allowed.
    pub const PR_GET_TSC: u32 = 25;
    /// Set whether `rdtsc` is allowed.
    pub const PR_SET_TSC: u32 = 26;
    /// Set the timer slack.
    pub const PR_SET_TIMERSLACK: u32 = 29;
    /// Get the timer slack.
    pub const PR_GET_TIMERSLACK: u32 = 30;
    /// Set the child-subreaper flag.
    pub const PR_SET_CHILD_SUBREAPER: u32 = 36;
    /// Get the child-subreaper flag.
    pub const PR_GET_CHILD_SUBREAPER: u32 = 37;
    /// Set no-new-privileges.
    pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
    /// Get no-new-privileges.
    pub const PR_GET_NO_NEW_PRIVS: u32 = 39;
    /// Get the `clear_child_tid` address.
    pub const PR_GET_TID_ADDRESS: u32 = 40;
    /// Disable transparent huge pages.
    pub const PR_SET_THP_DISABLE: u32 = 41;
    /// Get whether transparent huge pages are disabled.
    pub const PR_GET_THP_DISABLE: u32 = 42;
    /// Ambient capability operations.
    pub const PR_CAP_AMBIENT: u32 = 47;
    /// arm64: set the SVE vector length.
    pub const PR_SVE_SET_VL: u32 = 50;
    /// arm64: get the SVE vector length.
    pub const PR_SVE_GET_VL: u32 = 51;
    /// Get speculation mitigation state.
    pub const PR_GET_SPECULATION_CTRL: u32 = 52;
    /// Set speculation mitigation state.
    pub const PR_SET_SPECULATION_CTRL: u32 = 53;
    /// arm64: reset pointer-authentication keys.
    pub const PR_PAC_RESET_KEYS: u32 = 54;
    /// arm64: set the tagged-address ABI control.
    pub const PR_SET_TAGGED_ADDR_CTRL: u32 = 55;
    /// arm64: get the tagged-address ABI control.
    pub const PR_GET_TAGGED_ADDR_CTRL: u32 = 56;
    /// Name or annotate a range of memory.
    pub const PR_SET_VMA: u32 = 0x5356_4d41;
    /// `PR_SET_VMA` sub-option: name an anonymous mapping.
    pub const PR_SET_VMA_ANON_NAME: u32 = 0;
}

/// `arch_prctl` codes, arch/x86/include/uapi/asm/prctl.h (x86_64 only; arm64
/// has no `arch_prctl`).
pub mod arch_prctl {
    /// Set the GS base.
    pub const ARCH_SET_GS: u32 = 0x1001;
    /// Set the FS base (the TLS pointer).
    pub const ARCH_SET_FS: u32 = 0x1002;
    /// Get the FS base.
    pub const ARCH_GET_FS: u32 = 0x1003;
    /// Get the GS base.
    pub const ARCH_GET_GS: u32 = 0x1004;
    /// Get whether `cpuid` is allowed.
    pub const ARCH_GET_CPUID: u32 = 0x1011;
    /// Set whether `cpuid` is allowed.
    pub const ARCH_SET_CPUID: u32 = 0x1012;
    /// Get the supported XSAVE features.
    pub const ARCH_GET_XCOMP_SUPP: u32 = 0x1021;
    /// Get the permitted XSAVE features.
    pub const ARCH_GET_XCOMP_PERM: u32 = 0x1022;
    /// Request permission for an XSAVE feature (e.g. AMX).
    pub const ARCH_REQ_XCOMP_PERM: u32 = 0x1023;
    /// Map the x32 vDSO.
    pub const ARCH_MAP_VDSO_X32: u32 = 0x2001;
    /// Map the 32-bit vDSO.
    pub const ARCH_MAP_VDSO_32: u32 = 0x2002;
    /// Map the 64-bit vDSO.
    pub const ARCH_MAP_VDSO_64: u32 = 0x2003;
}

/// `struct __user_cap_header_struct`, include/uapi/linux/capability.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CapHeader {
    /// `_LINUX_CAPABILITY_VERSION_*`.
    pub version: u32,
    /// Process (0: the caller).
    pub pid: i32,
}
const _: () = assert!(size_of::<CapHeader>() == 8);

/// `struct __user_cap_data_struct`: one 32-bit word of each set (versions 2 and
/// 3 pass two of them, low word first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CapData {
    /// Effective set.
    pub effective: u32,
    /// Permitted set.
    pub permitted: u32,
    /// Inheritable set.
    pub inheritable: u32,
}
const _: () = assert!(size_of::<CapData>() == 12);

/// Capability ABI versions, include/uapi/linux/capability.h.
pub mod capability {
    /// 32-bit sets.
    pub const _LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
    /// 64-bit sets (deprecated).
    pub const _LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
    /// 64-bit sets.
    pub const _LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
}

/// `struct sched_attr`, include/uapi/linux/sched/types.h (SCHED_ATTR_SIZE_VER1:
/// with the utilization clamps).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SchedAttr {
    /// Size of the struct as the caller knows it.
    pub size: u32,
    /// `SCHED_*` policy.
    pub sched_policy: u32,
    /// `SCHED_FLAG_*`.
    pub sched_flags: u64,
    /// Nice value (SCHED_OTHER, SCHED_BATCH).
    pub sched_nice: i32,
    /// Static priority (SCHED_FIFO, SCHED_RR).
    pub sched_priority: u32,
    /// SCHED_DEADLINE runtime, ns.
    pub sched_runtime: u64,
    /// SCHED_DEADLINE deadline, ns.
    pub sched_deadline: u64,
    /// SCHED_DEADLINE period, ns.
    pub sched_period: u64,
    /// Utilization clamp minimum.
    pub sched_util_min: u32,
    /// Utilization clamp maximum.
    pub sched_util_max: u32,
}
const _: () = assert!(size_of::<SchedAttr>() == 56);

/// `getrandom` flags, include/uapi/linux/random.h.
pub mod getrandom {
    /// Do not block if the pool is not initialized.
    pub const GRND_NONBLOCK: u32 = 0x0001;
    /// Use the (legacy) blocking pool.
    pub const GRND_RANDOM: u32 = 0x0002;
    /// Return possibly uninitialized randomness.
    pub const GRND_INSECURE: u32 = 0x0004;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uts_field_truncates_and_terminates() {
        let f = Utsname::field("Linux");
        assert_eq!(&f[..6], b"Linux\0");
        let long = "x".repeat(100);
        let f = Utsname::field(&long);
        assert!(f[..64].iter().all(|b| *b == b'x'));
        assert_eq!(f[64], 0);
    }
}

/// `struct rseq`, include/uapi/linux/rseq.h: the area a thread registers (32
/// bytes at least, 32-byte aligned).
#[repr(C, align(32))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Rseq {
    /// The CPU the thread runs on (always a valid id).
    pub cpu_id_start: u32,
    /// The CPU, or `RSEQ_CPU_ID_UNINITIALIZED` / `RSEQ_CPU_ID_REGISTRATION_FAILED`.
    pub cpu_id: u32,
    /// Address of the `struct rseq_cs` of the critical section in progress, or 0.
    pub rseq_cs: u64,
    /// Deprecated `RSEQ_CS_FLAG_*` bits.
    pub flags: u32,
    /// NUMA node of the CPU.
    pub node_id: u32,
    /// Concurrency id of the thread in its address space.
    pub mm_cid: u32,
    /// Padding to the alignment.
    pub _pad: u32,
}

/// `struct rseq_cs`, include/uapi/linux/rseq.h: a critical section's descriptor.
#[repr(C, align(32))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RseqCs {
    /// Version 0.
    pub version: u32,
    /// Deprecated `RSEQ_CS_FLAG_*` bits.
    pub flags: u32,
    /// First instruction of the section.
    pub start_ip: u64,
    /// Length of the section: `start_ip + post_commit_offset` is the first
    /// instruction past it.
    pub post_commit_offset: u64,
    /// Where an interrupted section resumes; the four bytes before it hold the
    /// signature given at registration.
    pub abort_ip: u64,
}

/// rseq constants, include/uapi/linux/rseq.h.
pub mod rseq {
    /// `rseq.cpu_id` before registration (and after unregistration).
    pub const RSEQ_CPU_ID_UNINITIALIZED: i32 = -1;
    /// The `flags` bit of rseq(2) that unregisters.
    pub const RSEQ_FLAG_UNREGISTER: i32 = 1;
    /// The original size of `struct rseq`.
    pub const ORIG_RSEQ_SIZE: u32 = 32;
    /// `RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT | _SIGNAL | _MIGRATE`, deprecated.
    pub const RSEQ_CS_FLAGS_DEPRECATED: u32 = 7;
}
