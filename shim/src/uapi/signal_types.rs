//! Signals: the kernel's `sigaction`, `stack_t`, `siginfo_t`, the signal set,
//! and the signal constants.

use core::mem::size_of;

/// The kernel's `sigset_t` as `rt_sigprocmask` and `rt_sigaction` take it with
/// `sigsetsize == 8`: bit `n - 1` stands for signal `n` (include/uapi/asm-generic/signal.h).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Sigset(pub u64);
const _: () = assert!(size_of::<Sigset>() == 8);

impl Sigset {
    /// The empty set.
    pub const EMPTY: Sigset = Sigset(0);
    /// Every signal.
    pub const FULL: Sigset = Sigset(u64::MAX);
    /// SIGKILL and SIGSTOP, which can be neither blocked nor caught.
    pub const UNBLOCKABLE: Sigset = Sigset((1 << (signal::SIGKILL - 1)) | (1 << (signal::SIGSTOP - 1)));

    /// The bit for `sig`, or `None` outside 1..=64.
    const fn bit(sig: i32) -> Option<u64> {
        if sig >= 1 && sig <= signal::NSIG {
            // In range, so the shift is 0..=63.
            Some(1 << (sig as u32).wrapping_sub(1))
        } else {
            None
        }
    }

    /// Whether `sig` is in the set (false for an invalid number).
    pub const fn contains(self, sig: i32) -> bool {
        match Self::bit(sig) {
            Some(b) => self.0 & b != 0,
            None => false,
        }
    }

    /// The set with `sig` added; unchanged for an invalid number.
    pub const fn with(self, sig: i32) -> Sigset {
        match Self::bit(sig) {
            Some(b) => Sigset(self.0 | b),
            None => self,
        }
    }

    /// The set with `sig` removed; unchanged for an invalid number.
    pub const fn without(self, sig: i32) -> Sigset {
        match Self::bit(sig) {
            Some(b) => Sigset(self.0 & !b),
            None => self,
        }
    }

    /// The lowest-numbered signal in the set, if any.
    pub const fn first(self) -> Option<i32> {
        if self.0 == 0 {
            None
        } else {
            // trailing_zeros() < 64 here, so the sum is at most 64.
            Some((self.0.trailing_zeros() as i32).wrapping_add(1))
        }
    }
}

/// The kernel's `struct sigaction` as `rt_sigaction` reads and writes it
/// (include/linux/signal_types.h with `__ARCH_HAS_SA_RESTORER`, which both
/// x86_64 and arm64 define). Not glibc's `struct sigaction`, which puts the
/// mask second and makes it 128 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct KernelSigaction {
    /// Handler address, or `SIG_DFL`/`SIG_IGN` (`sa_handler`).
    pub handler: u64,
    /// `SA_*` flags (`sa_flags`).
    pub flags: u64,
    /// Return trampoline, used with `SA_RESTORER` (`sa_restorer`).
    pub restorer: u64,
    /// Signals blocked while the handler runs (`sa_mask`).
    pub mask: u64,
}
const _: () = assert!(size_of::<KernelSigaction>() == 32);

/// `stack_t` for `sigaltstack`, include/uapi/asm-generic/signal.h (x86_64 and
/// arm64 alike).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StackT {
    /// Base address of the stack.
    pub ss_sp: u64,
    /// `SS_*` flags.
    pub ss_flags: i32,
    /// Padding before `ss_size`.
    pub _pad: i32,
    /// Size of the stack in bytes.
    pub ss_size: u64,
}
const _: () = assert!(size_of::<StackT>() == 24);

impl StackT {
    /// A `stack_t` with the given fields.
    pub const fn new(ss_sp: u64, ss_flags: i32, ss_size: u64) -> StackT {
        StackT { ss_sp, ss_flags, _pad: 0, ss_size }
    }
}

/// `siginfo_t`, include/uapi/asm-generic/siginfo.h: three `int`s, padding to
/// 16 (`__ARCH_SI_PREAMBLE_SIZE` on 64-bit), then the `_sifields` union, 128
/// bytes in all. The union is kept as raw words; the constructors and
/// accessors place each member at the offset the header gives it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Siginfo {
    /// Signal number.
    pub si_signo: i32,
    /// An errno value, usually 0.
    pub si_errno: i32,
    /// Why the signal was sent (`SI_*`, `SEGV_*`, `CLD_*`, ...).
    pub si_code: i32,
    /// Padding before the union.
    pub _pad: i32,
    /// `_sifields`, as raw 8-byte words.
    pub _sifields: [u64; 14],
}
const _: () = assert!(size_of::<Siginfo>() == 128);

impl Default for Siginfo {
    fn default() -> Siginfo {
        bytemuck::Zeroable::zeroed()
    }
}

impl Siginfo {
    /// Offset of `si_addr` (`_sigfault`: faulting address).
    pub const SI_ADDR_OFFSET: usize = 16;
    /// Offset of `si_pid` (`_kill`, `_rt`, `_sigchld`).
    pub const SI_PID_OFFSET: usize = 16;
    /// Offset of `si_uid` (`_kill`, `_rt`, `_sigchld`).
    pub const SI_UID_OFFSET: usize = 20;
    /// Offset of `si_status` (`_sigchld`).
    pub const SI_STATUS_OFFSET: usize = 24;
    /// Offset of `si_utime` (`_sigchld`).
    pub const SI_UTIME_OFFSET: usize = 32;
    /// Offset of `si_stime` (`_sigchld`).
    pub const SI_STIME_OFFSET: usize = 40;
    /// Offset of `si_value` (`_rt`, `_timer`).
    pub const SI_VALUE_OFFSET: usize = 24;
    /// Offset of `si_band` (`_sigpoll`).
    pub const SI_BAND_OFFSET: usize = 16;
    /// Offset of `si_fd` (`_sigpoll`).
    pub const SI_FD_OFFSET: usize = 24;
    /// Offset of `si_timerid` (`_timer`).
    pub const SI_TIMERID_OFFSET: usize = 16;
    /// Offset of `si_overrun` (`_timer`).
    pub const SI_OVERRUN_OFFSET: usize = 20;
    /// Offset of `_sys_private` (`_timer`; kernel-internal, zero when delivered;
    /// include/uapi/asm-generic/siginfo.h, which glibc's siginfo_t does not name).
    pub const SI_SYS_PRIVATE_OFFSET: usize = 32;

    /// A siginfo with only the three leading fields set.
    pub fn new(si_signo: i32, si_errno: i32, si_code: i32) -> Siginfo {
        Siginfo { si_signo, si_errno, si_code, ..Siginfo::default() }
    }

    /// A fault report (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP): `code` is
    /// e.g. `SEGV_MAPERR`, `addr` the faulting address.
    pub fn fault(signo: i32, errno: i32, code: i32, addr: u64) -> Siginfo {
        let mut si = Siginfo::new(signo, errno, code);
        si.put(Self::SI_ADDR_OFFSET, &addr.to_ne_bytes());
        si
    }

    /// SIGSYS from a seccomp filter (si_code SYS_SECCOMP): the address after the
    /// call's instruction, its number, the AUDIT_ARCH of its convention and the
    /// filter's data as si_errno.
    pub fn sigsys(call_addr: u64, syscall: i32, arch: u32, data: i32) -> Siginfo {
        let mut si = Siginfo::new(31, data, 1);
        si.put(16, &call_addr.to_ne_bytes());
        si.put(24, &syscall.to_ne_bytes());
        si.put(28, &arch.to_ne_bytes());
        si
    }

    /// A signal sent by a process (`kill`, `tgkill`): `code` is `SI_USER` or
    /// `SI_TKILL`, from process `pid` running as `uid`.
    pub fn kill(signo: i32, code: i32, pid: i32, uid: u32) -> Siginfo {
        let mut si = Siginfo::new(signo, 0, code);
        si.put(Self::SI_PID_OFFSET, &pid.to_ne_bytes());
        si.put(Self::SI_UID_OFFSET, &uid.to_ne_bytes());
        si
    }

    /// A SIGCHLD report: `code` is a `CLD_*` value, `status` the exit code or
    /// signal, `utime`/`stime` in clock ticks.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> Siginfo {
        let mut si = Siginfo::kill(signal::SIGCHLD, code, pid, uid);
        si.put(Self::SI_STATUS_OFFSET, &status.to_ne_bytes());
        si.put(Self::SI_UTIME_OFFSET, &utime.to_ne_bytes());
        si.put(Self::SI_STIME_OFFSET, &stime.to_ne_bytes());
        si
    }

    /// `si_addr`, meaningful for faults.
    pub fn addr(&self) -> u64 {
        u64::from_ne_bytes(self.get(Self::SI_ADDR_OFFSET))
    }

    /// `si_pid`, meaningful for `kill`, queued and SIGCHLD signals.
    pub fn pid(&self) -> i32 {
        i32::from_ne_bytes(self.get(Self::SI_PID_OFFSET))
    }

    /// `si_uid`, meaningful for `kill`, queued and SIGCHLD signals.
    pub fn uid(&self) -> u32 {
        u32::from_ne_bytes(self.get(Self::SI_UID_OFFSET))
    }

    /// `si_status`, meaningful for SIGCHLD.
    pub fn status(&self) -> i32 {
        i32::from_ne_bytes(self.get(Self::SI_STATUS_OFFSET))
    }

    /// Writes `bytes` at `offset` of the struct; the offsets are the constants
    /// above, all inside the 128 bytes, so nothing is ever dropped.
    pub fn put(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len());
        if let Some(dst) = bytemuck::bytes_of_mut(self).get_mut(offset..end) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Reads `N` bytes at `offset` of the struct (zeros if out of range, which
    /// the fixed offsets never are).
    pub fn get_bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        self.get(offset)
    }

    fn get<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0; N];
        if let Some(src) = bytemuck::bytes_of(self).get(offset..offset.saturating_add(N)) {
            out.copy_from_slice(src);
        }
        out
    }
}

/// `struct signalfd_siginfo`, include/uapi/linux/signalfd.h: what read(2) of a
/// signalfd returns per signal (128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SignalfdSiginfo {
    /// Signal number.
    pub ssi_signo: u32,
    /// Error number (unused).
    pub ssi_errno: i32,
    /// Signal code.
    pub ssi_code: i32,
    /// Sender's pid.
    pub ssi_pid: u32,
    /// Sender's real uid.
    pub ssi_uid: u32,
    /// File descriptor (SIGIO).
    pub ssi_fd: i32,
    /// Kernel timer id (POSIX timers).
    pub ssi_tid: u32,
    /// Band event (SIGIO).
    pub ssi_band: u32,
    /// Timer overrun count.
    pub ssi_overrun: u32,
    /// Trap number.
    pub ssi_trapno: u32,
    /// Exit status or signal (SIGCHLD).
    pub ssi_status: i32,
    /// Integer sent by sigqueue.
    pub ssi_int: i32,
    /// Pointer sent by sigqueue.
    pub ssi_ptr: u64,
    /// User CPU time consumed (SIGCHLD).
    pub ssi_utime: u64,
    /// System CPU time consumed (SIGCHLD).
    pub ssi_stime: u64,
    /// Faulting address.
    pub ssi_addr: u64,
    /// Least significant bit of the address (SIGBUS).
    pub ssi_addr_lsb: u16,
    /// Padding.
    pub _pad2: u16,
    /// System call number (SIGSYS).
    pub ssi_syscall: i32,
    /// System call address (SIGSYS).
    pub ssi_call_addr: u64,
    /// System call architecture (SIGSYS).
    pub ssi_arch: u32,
    /// Padding to 128 bytes.
    pub _pad: [u8; 28],
}
const _: () = assert!(size_of::<SignalfdSiginfo>() == 128);

impl Default for SignalfdSiginfo {
    fn default() -> SignalfdSiginfo {
        bytemuck::Zeroable::zeroed()
    }
}

/// Signal numbers, `sigaction` flags, `sigprocmask` operations, alternate
/// stack flags and `si_code` values: include/uapi/asm-generic/signal.h,
/// signal-defs.h, siginfo.h (x86_64 and arm64 share the numbering).
pub mod signal {
    /// Hang-up.
    pub const SIGHUP: i32 = 1;
    /// Interrupt from the keyboard.
    pub const SIGINT: i32 = 2;
    /// Quit from the keyboard.
    pub const SIGQUIT: i32 = 3;
    /// Illegal instruction.
    pub const SIGILL: i32 = 4;
    /// Trace or breakpoint trap.
    pub const SIGTRAP: i32 = 5;
    /// Abort.
    pub const SIGABRT: i32 = 6;
    /// Old name of SIGABRT.
    pub const SIGIOT: i32 = 6;
    /// Bus error.
    pub const SIGBUS: i32 = 7;
    /// Arithmetic exception.
    pub const SIGFPE: i32 = 8;
    /// Kill; cannot be caught or blocked.
    pub const SIGKILL: i32 = 9;
    /// User-defined signal 1.
    pub const SIGUSR1: i32 = 10;
    /// Invalid memory reference.
    pub const SIGSEGV: i32 = 11;
    /// User-defined signal 2.
    pub const SIGUSR2: i32 = 12;
    /// Write to a pipe with no reader.
    pub const SIGPIPE: i32 = 13;
    /// Timer from `alarm`.
    pub const SIGALRM: i32 = 14;
    /// Termination request.
    pub const SIGTERM: i32 = 15;
    /// Coprocessor stack fault (unused).
    pub const SIGSTKFLT: i32 = 16;
    /// Child stopped or terminated.
    pub const SIGCHLD: i32 = 17;
    /// Continue if stopped.
    pub const SIGCONT: i32 = 18;
    /// Stop; cannot be caught or blocked.
    pub const SIGSTOP: i32 = 19;
    /// Stop typed at the terminal.
    pub const SIGTSTP: i32 = 20;
    /// Terminal input for a background process.
    pub const SIGTTIN: i32 = 21;
    /// Terminal output for a background process.
    pub const SIGTTOU: i32 = 22;
    /// Urgent condition on a socket.
    pub const SIGURG: i32 = 23;
    /// CPU time limit exceeded.
    pub const SIGXCPU: i32 = 24;
    /// File size limit exceeded.
    pub const SIGXFSZ: i32 = 25;
    /// Virtual timer expired.
    pub const SIGVTALRM: i32 = 26;
    /// Profiling timer expired.
    pub const SIGPROF: i32 = 27;
    /// Window size change.
    pub const SIGWINCH: i32 = 28;
    /// I/O now possible.
    pub const SIGIO: i32 = 29;
    /// Same as SIGIO.
    pub const SIGPOLL: i32 = SIGIO;
    /// Power failure.
    pub const SIGPWR: i32 = 30;
    /// Bad system call.
    pub const SIGSYS: i32 = 31;
    /// First real-time signal as the kernel numbers them (glibc reserves
    /// 32 and 33, so its `SIGRTMIN` is 34).
    pub const SIGRTMIN: i32 = 32;
    /// Last real-time signal.
    pub const SIGRTMAX: i32 = 64;
    /// Number of signals (`_NSIG`); valid numbers are 1..=NSIG.
    pub const NSIG: i32 = 64;

    /// Linux's name for a standard signal, e.g. `"SIGSEGV"`; `None` outside 1..=31.
    pub const fn signal_name(n: i32) -> Option<&'static str> {
        Some(match n {
            SIGHUP => "SIGHUP",
            SIGINT => "SIGINT",
            SIGQUIT => "SIGQUIT",
            SIGILL => "SIGILL",
            SIGTRAP => "SIGTRAP",
            SIGABRT => "SIGABRT",
            SIGBUS => "SIGBUS",
            SIGFPE => "SIGFPE",
            SIGKILL => "SIGKILL",
            SIGUSR1 => "SIGUSR1",
            SIGSEGV => "SIGSEGV",
            SIGUSR2 => "SIGUSR2",
            SIGPIPE => "SIGPIPE",
            SIGALRM => "SIGALRM",
            SIGTERM => "SIGTERM",
            SIGSTKFLT => "SIGSTKFLT",
            SIGCHLD => "SIGCHLD",
            SIGCONT => "SIGCONT",
            SIGSTOP => "SIGSTOP",
            SIGTSTP => "SIGTSTP",
            SIGTTIN => "SIGTTIN",
            SIGTTOU => "SIGTTOU",
            SIGURG => "SIGURG",
            SIGXCPU => "SIGXCPU",
            SIGXFSZ => "SIGXFSZ",
            SIGVTALRM => "SIGVTALRM",
            SIGPROF => "SIGPROF",
            SIGWINCH => "SIGWINCH",
            SIGIO => "SIGIO",
            SIGPWR => "SIGPWR",
            SIGSYS => "SIGSYS",
            _ => return None,
        })
    }

    /// Handler value: default action.
    pub const SIG_DFL: u64 = 0;
    /// Handler value: ignore.
    pub const SIG_IGN: u64 = 1;

    /// `sa_flags`: no SIGCHLD when children stop.
    pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
    /// `sa_flags`: children do not become zombies.
    pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
    /// `sa_flags`: the handler takes `(sig, siginfo, ucontext)`.
    pub const SA_SIGINFO: u64 = 0x0000_0004;
    /// `sa_flags`: probe bit for flag support; never reported back.
    pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
    /// `sa_flags`: keep tag bits in `si_addr`.
    pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
    /// `sa_flags`: `sa_restorer` is the return trampoline.
    pub const SA_RESTORER: u64 = 0x0400_0000;
    /// `sa_flags`: run on the alternate stack.
    pub const SA_ONSTACK: u64 = 0x0800_0000;
    /// `sa_flags`: restart interrupted system calls.
    pub const SA_RESTART: u64 = 0x1000_0000;
    /// `sa_flags`: do not block the signal in its handler.
    pub const SA_NODEFER: u64 = 0x4000_0000;
    /// `sa_flags`: reset to SIG_DFL on entry to the handler.
    pub const SA_RESETHAND: u64 = 0x8000_0000;
    /// Old name of `SA_NODEFER`.
    pub const SA_NOMASK: u64 = SA_NODEFER;
    /// Old name of `SA_RESETHAND`.
    pub const SA_ONESHOT: u64 = SA_RESETHAND;

    /// `rt_sigprocmask`: add to the mask.
    pub const SIG_BLOCK: i32 = 0;
    /// `rt_sigprocmask`: remove from the mask.
    pub const SIG_UNBLOCK: i32 = 1;
    /// `rt_sigprocmask`: replace the mask.
    pub const SIG_SETMASK: i32 = 2;

    /// `ss_flags`: currently on the alternate stack.
    pub const SS_ONSTACK: i32 = 1;
    /// `ss_flags`: the alternate stack is disabled.
    pub const SS_DISABLE: i32 = 2;
    /// `ss_flags`: disarm the stack on handler entry (`1U << 31` as an `int`).
    pub const SS_AUTODISARM: i32 = i32::MIN;

    /// `si_code`: sent by `kill` or `raise`.
    pub const SI_USER: i32 = 0;
    /// `si_code`: sent by the kernel.
    pub const SI_KERNEL: i32 = 0x80;
    /// `si_code`: sent by `sigqueue`.
    pub const SI_QUEUE: i32 = -1;
    /// `si_code`: POSIX timer expiry.
    pub const SI_TIMER: i32 = -2;
    /// `si_code`: message queue state change.
    pub const SI_MESGQ: i32 = -3;
    /// `si_code`: AIO completion.
    pub const SI_ASYNCIO: i32 = -4;
    /// `si_code`: queued SIGIO.
    pub const SI_SIGIO: i32 = -5;
    /// `si_code`: sent by `tkill` or `tgkill`.
    pub const SI_TKILL: i32 = -6;

    /// SIGSEGV `si_code`: address not mapped.
    pub const SEGV_MAPERR: i32 = 1;
    /// SIGSEGV `si_code`: access not permitted by the mapping.
    pub const SEGV_ACCERR: i32 = 2;
    /// SIGBUS `si_code`: invalid address alignment.
    pub const BUS_ADRALN: i32 = 1;
    /// SIGBUS `si_code`: non-existent physical address (e.g. past end of file).
    pub const BUS_ADRERR: i32 = 2;
    /// SIGBUS `si_code`: object-specific hardware error.
    pub const BUS_OBJERR: i32 = 3;
    /// SIGILL `si_code`: illegal opcode.
    pub const ILL_ILLOPC: i32 = 1;
    /// SIGILL `si_code`: illegal operand.
    pub const ILL_ILLOPN: i32 = 2;
    /// SIGILL `si_code`: illegal addressing mode.
    pub const ILL_ILLADR: i32 = 3;
    /// SIGILL `si_code`: illegal trap.
    pub const ILL_ILLTRP: i32 = 4;
    /// SIGILL `si_code`: privileged opcode.
    pub const ILL_PRVOPC: i32 = 5;
    /// SIGFPE `si_code`: integer divide by zero.
    pub const FPE_INTDIV: i32 = 1;
    /// SIGFPE `si_code`: integer overflow.
    pub const FPE_INTOVF: i32 = 2;
    /// SIGTRAP `si_code`: breakpoint.
    pub const TRAP_BRKPT: i32 = 1;
    /// SIGTRAP `si_code`: trace trap.
    pub const TRAP_TRACE: i32 = 2;
    /// SIGCHLD `si_code`: child exited.
    pub const CLD_EXITED: i32 = 1;
    /// SIGCHLD `si_code`: child was killed.
    pub const CLD_KILLED: i32 = 2;
    /// SIGCHLD `si_code`: child was killed and dumped core.
    pub const CLD_DUMPED: i32 = 3;
    /// SIGCHLD `si_code`: traced child trapped.
    pub const CLD_TRAPPED: i32 = 4;
    /// SIGCHLD `si_code`: child stopped.
    pub const CLD_STOPPED: i32 = 5;
    /// SIGCHLD `si_code`: stopped child continued.
    pub const CLD_CONTINUED: i32 = 6;
}

#[cfg(test)]
mod tests {
    use super::signal::*;
    use super::*;

    #[test]
    fn sigset_bits() {
        let s = Sigset::EMPTY.with(SIGINT).with(SIGRTMAX);
        assert_eq!(s.0, (1 << 1) | (1 << 63));
        assert!(s.contains(SIGINT) && s.contains(64) && !s.contains(SIGTERM));
        assert!(!s.contains(0) && !s.contains(65) && !s.contains(-1));
        assert_eq!(s.with(0), s);
        assert_eq!(s.without(SIGINT).first(), Some(64));
        assert_eq!(Sigset::EMPTY.first(), None);
        assert_eq!(Sigset::UNBLOCKABLE.0, (1 << 8) | (1 << 18));
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(SIGSEGV), Some("SIGSEGV"));
        assert_eq!(signal_name(1), Some("SIGHUP"));
        assert_eq!(signal_name(31), Some("SIGSYS"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(32), None);
        for n in 1..=31 {
            assert!(signal_name(n).is_some_and(|s| s.starts_with("SIG")), "{n}");
        }
    }

    #[test]
    fn siginfo_members() {
        let si = Siginfo::fault(SIGSEGV, 0, SEGV_MAPERR, 0xdead_beef_0000);
        assert_eq!((si.si_signo, si.si_errno, si.si_code), (SIGSEGV, 0, SEGV_MAPERR));
        assert_eq!(si.addr(), 0xdead_beef_0000);
        let bytes = bytemuck::bytes_of(&si);
        assert_eq!(&bytes[0..4], &11i32.to_ne_bytes());
        assert_eq!(&bytes[8..12], &1i32.to_ne_bytes());
        assert_eq!(&bytes[16..24], &0xdead_beef_0000u64.to_ne_bytes());
        assert!(bytes[24..].iter().all(|b| *b == 0));

        let si = Siginfo::child(CLD_EXITED, 42, 1000, 3, 5, 6);
        assert_eq!((si.si_signo, si.pid(), si.uid(), si.status()), (SIGCHLD, 42, 1000, 3));
        let bytes = bytemuck::bytes_of(&si);
        assert_eq!(&bytes[32..40], &5i64.to_ne_bytes());
        assert_eq!(&bytes[40..48], &6i64.to_ne_bytes());
    }
}
