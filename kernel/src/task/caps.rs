//! Capabilities (capabilities(7)): the five sets of a process and Linux's rules
//! for them when user ids change (cap_emulate_setxuid, cap_emulate_setfsuid) and
//! at execve of a file without file capabilities (cap_bprm_creds_from_file). A
//! process of root starts with every capability; elfin has no file capabilities
//! and no securebits other than KEEP_CAPS.

/// Capability numbers used by the kernel (include/uapi/linux/capability.h).
pub const CAP_CHOWN: u32 = 0;
/// Bypass file read, write and execute permission checks.
pub const CAP_DAC_OVERRIDE: u32 = 1;
/// Bypass read and search permission checks.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// Bypass checks that the caller owns the file.
pub const CAP_FOWNER: u32 = 3;
/// Keep set-user-id bits on change.
pub const CAP_FSETID: u32 = 4;
/// Bypass permission checks for sending signals.
pub const CAP_KILL: u32 = 5;
/// Change group ids.
pub const CAP_SETGID: u32 = 6;
/// Change user ids.
pub const CAP_SETUID: u32 = 7;
/// Change capabilities.
pub const CAP_SETPCAP: u32 = 8;
/// Immutable and append-only attributes.
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
/// Lock memory.
pub const CAP_IPC_LOCK: u32 = 14;
/// CAP_NET_ADMIN: network administration (buffer sizes past the limits, SO_PRIORITY above 6).
pub const CAP_NET_ADMIN: u32 = 12;
/// CAP_NET_RAW: raw sockets (ping).
pub const CAP_NET_RAW: u32 = 13;
/// Bypass permission checks on IPC objects.
pub const CAP_IPC_OWNER: u32 = 15;
/// Raw I/O (FIBMAP).
pub const CAP_SYS_RAWIO: u32 = 17;
/// Change the root directory (chroot).
pub const CAP_SYS_CHROOT: u32 = 18;
/// Trace and inspect any process.
pub const CAP_SYS_PTRACE: u32 = 19;
/// System administration (sethostname, trusted xattrs, …).
pub const CAP_SYS_ADMIN: u32 = 21;
/// Raise priorities and set real-time policies of any process.
pub const CAP_SYS_NICE: u32 = 23;
/// Override resource limits.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// Set the system clock.
pub const CAP_SYS_TIME: u32 = 25;
/// Create device nodes.
pub const CAP_MKNOD: u32 = 27;
/// Override MAC.
pub const CAP_MAC_OVERRIDE: u32 = 32;
/// Alarm clocks.
pub const CAP_WAKE_ALARM: u32 = 35;
/// The highest capability number Linux 6.1 knows.
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const ALL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// The capabilities a change of the filesystem user id to or from 0 affects.
const FS_MASK: u64 = bit(CAP_CHOWN)
    | bit(CAP_DAC_OVERRIDE)
    | bit(CAP_DAC_READ_SEARCH)
    | bit(CAP_FOWNER)
    | bit(CAP_FSETID)
    | bit(CAP_LINUX_IMMUTABLE)
    | bit(CAP_MAC_OVERRIDE)
    | bit(CAP_MKNOD);

/// The mask bit of capability `c`.
pub const fn bit(c: u32) -> u64 {
    if c > CAP_LAST_CAP {
        0
    } else {
        1 << c
    }
}

/// The capability sets of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Effective: what the process may do now.
    pub effective: u64,
    /// Permitted: what it may make effective.
    pub permitted: u64,
    /// Inheritable across execve.
    pub inheritable: u64,
    /// Bounding set.
    pub bounding: u64,
    /// Ambient set.
    pub ambient: u64,
    /// SECBIT_KEEP_CAPS (prctl PR_SET_KEEPCAPS): permitted survives leaving root.
    pub keep_caps: bool,
    /// PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
}

impl Default for Caps {
    /// The sets of a process of root: every capability.
    fn default() -> Caps {
        Caps {
            effective: ALL,
            permitted: ALL,
            inheritable: 0,
            bounding: ALL,
            ambient: 0,
            keep_caps: false,
            no_new_privs: false,
        }
    }
}

impl Caps {
    /// The sets after the real, effective and saved user ids changed from `old`
    /// to `new` (cap_emulate_setxuid).
    pub fn after_setuid(&mut self, old: [u32; 3], new: [u32; 3]) {
        if old.contains(&0) && !new.contains(&0) {
            if !self.keep_caps {
                self.permitted = 0;
                self.effective = 0;
            }
            self.ambient = 0;
        }
        if old[1] == 0 && new[1] != 0 {
            self.effective = 0;
        }
        if old[1] != 0 && new[1] == 0 {
            self.effective = self.permitted;
        }
    }

    /// The sets after the filesystem user id changed from `old` to `new`
    /// (cap_emulate_setfsuid).
    pub fn after_setfsuid(&mut self, old: u32, new: u32) {
        if old == 0 && new != 0 {
            self.effective &= !FS_MASK;
        }
        if old != 0 && new == 0 {
            self.effective |= self.permitted & FS_MASK;
        }
    }

    /// The sets after execve of a file without capabilities by a process with
    /// real user id `ruid` and effective user id `euid`: root gets its bounding
    /// and inheritable sets, others keep only the ambient set.
    pub fn after_exec(&mut self, ruid: u32, euid: u32) {
        if ruid == 0 || euid == 0 {
            self.permitted = (self.bounding | self.inheritable) | self.ambient;
            self.effective = if euid == 0 { self.permitted } else { self.ambient };
        } else {
            self.permitted = self.ambient;
            self.effective = self.ambient;
        }
        self.keep_caps = false;
    }
}
