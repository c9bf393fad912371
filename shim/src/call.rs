//! Typed system calls: one line per call, decoded from raw registers by the
//! per-architecture number tables in [`crate::x86_64`] and [`crate::aarch64`].
//!
//! Handlers in the kernel match on [`Call`]; they never see raw registers.

/// A user-space address (never dereferenced by the shim).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct UAddr(pub u64);

impl UAddr {
    /// True for the NULL pointer.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl core::fmt::Debug for UAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == 0 {
            f.write_str("NULL")
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

/// Conversion of one raw 64-bit argument register into a typed argument, with
/// Linux's truncation rules (an `int` argument uses the low 32 bits).
pub trait FromArg {
    /// Converts the raw register value.
    fn from_arg(v: u64) -> Self;
}

impl FromArg for u64 {
    fn from_arg(v: u64) -> Self {
        v
    }
}
impl FromArg for i64 {
    fn from_arg(v: u64) -> Self {
        v as i64
    }
}
impl FromArg for usize {
    fn from_arg(v: u64) -> Self {
        v as usize
    }
}
impl FromArg for isize {
    fn from_arg(v: u64) -> Self {
        v as isize
    }
}
impl FromArg for i32 {
    fn from_arg(v: u64) -> Self {
        v as u32 as i32
    }
}
impl FromArg for u32 {
    fn from_arg(v: u64) -> Self {
        v as u32
    }
}
impl FromArg for UAddr {
    fn from_arg(v: u64) -> Self {
        UAddr(v)
    }
}

macro_rules! calls {
    ($( $name:ident = $variant:ident ( $( $arg:ident : $ty:ty ),* ); )*) => {
        /// Every system call elfin knows by name, with typed arguments. `Display` gives
/// the strace form.
        #[derive(Clone, Copy, Debug)]
        // Generated from the table below: each variant is the Linux call of that name
        // and its fields are the call's argument names from the man page.
        #[allow(missing_docs)]
        pub enum Call {
            $( $variant { $( $arg: $ty ),* }, )*
            /// A number with no entry in the table (name from the `syscalls` crate if known).
            Unknown { nr: usize, name: &'static str },
        }

        /// Architecture-neutral identity of a system call, used by the number tables.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        // Generated: variants are named like the `Call` variants they stand for.
        #[allow(missing_docs, non_camel_case_types)]
        pub enum Nr { $( $variant, )* }

        impl Nr {
            /// Builds the typed call from the six argument registers (always inlined:
            /// the kernel's dispatch folds it into one jump on the number).
            #[inline(always)]
            pub fn decode(self, a: [u64; 6]) -> Call {
                // Unused for calls without arguments.
                #[allow(unused_mut, unused_variables)]
                let mut it = a.into_iter();
                match self {
                    $( Nr::$variant => Call::$variant { $( $arg: <$ty as FromArg>::from_arg(it.next().unwrap_or(0)) ),* }, )*
                }
            }

            /// Linux's name of the call.
            pub fn name(self) -> &'static str {
                match self { $( Nr::$variant => stringify!($name), )* }
            }
        }

        impl core::fmt::Display for Call {
            /// strace style: `name(arg, arg, …)`.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $( Call::$variant { $( $arg ),* } => {
                        f.write_str(stringify!($name))?;
                        f.write_str("(")?;
                        // Unused for calls without arguments.
                        #[allow(unused_mut, unused_variables)]
                        let mut first = true;
                        $(
                            if !first {
                                f.write_str(", ")?;
                            }
                            first = false;
                            write!(f, "{:?}", $arg)?;
                        )*
                        let _ = first;
                        f.write_str(")")
                    } )*
                    Call::Unknown { nr, name } => write!(f, "{}[{}](...)", name, nr),
                }
            }
        }

        impl Call {
            /// Linux's name of the call.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$variant { .. } => stringify!($name), )*
                    Call::Unknown { name, .. } => name,
                }
            }
        }
    };
}

calls! {
    read = Read(fd: i32, buf: UAddr, count: usize);
    write = Write(fd: i32, buf: UAddr, count: usize);
    open = Open(path: UAddr, flags: i32, mode: u32);
    close = Close(fd: i32);
    stat = Stat(path: UAddr, buf: UAddr);
    fstat = Fstat(fd: i32, buf: UAddr);
    lstat = Lstat(path: UAddr, buf: UAddr);
    poll = Poll(fds: UAddr, nfds: u32, timeout_ms: i32);
    lseek = Lseek(fd: i32, offset: i64, whence: i32);
    mmap = Mmap(addr: UAddr, len: usize, prot: i32, flags: i32, fd: i32, offset: i64);
    mprotect = Mprotect(addr: UAddr, len: usize, prot: i32);
    munmap = Munmap(addr: UAddr, len: usize);
    brk = Brk(addr: UAddr);
    rt_sigaction = RtSigaction(sig: i32, act: UAddr, oldact: UAddr, sigsetsize: usize);
    rt_sigprocmask = RtSigprocmask(how: i32, set: UAddr, oldset: UAddr, sigsetsize: usize);
    rt_sigreturn = RtSigreturn();
    ioctl = Ioctl(fd: i32, cmd: u32, arg: u64);
    pread64 = Pread64(fd: i32, buf: UAddr, count: usize, offset: i64);
    pwrite64 = Pwrite64(fd: i32, buf: UAddr, count: usize, offset: i64);
    readv = Readv(fd: i32, iov: UAddr, iovcnt: i32);
    writev = Writev(fd: i32, iov: UAddr, iovcnt: i32);
    access = Access(path: UAddr, mode: i32);
    pipe = Pipe(fds: UAddr);
    select = Select(nfds: i32, readfds: UAddr, writefds: UAddr, exceptfds: UAddr, timeout: UAddr);
    sched_yield = SchedYield();
    mremap = Mremap(old_addr: UAddr, old_len: usize, new_len: usize, flags: i32, new_addr: UAddr);
    msync = Msync(addr: UAddr, len: usize, flags: i32);
    mincore = Mincore(addr: UAddr, len: usize, vec: UAddr);
    madvise = Madvise(addr: UAddr, len: usize, advice: i32);
    dup = Dup(fd: i32);
    dup2 = Dup2(oldfd: i32, newfd: i32);
    nanosleep = Nanosleep(req: UAddr, rem: UAddr);
    getpid = Getpid();
    sendfile = Sendfile(out_fd: i32, in_fd: i32, offset: UAddr, count: usize);
    clone = Clone(flags: u64, stack: UAddr, parent_tid: UAddr, child_tid: UAddr, tls: u64);
    fork = Fork();
    vfork = Vfork();
    execve = Execve(path: UAddr, argv: UAddr, envp: UAddr);
    exit = Exit(status: i32);
    wait4 = Wait4(pid: i32, status: UAddr, options: i32, rusage: UAddr);
    kill = Kill(pid: i32, sig: i32);
    uname = Uname(buf: UAddr);
    fcntl = Fcntl(fd: i32, cmd: i32, arg: u64);
    flock = Flock(fd: i32, op: i32);
    fsync = Fsync(fd: i32);
    fdatasync = Fdatasync(fd: i32);
    truncate = Truncate(path: UAddr, length: i64);
    ftruncate = Ftruncate(fd: i32, length: i64);
    getcwd = Getcwd(buf: UAddr, size: usize);
    chdir = Chdir(path: UAddr);
    fchdir = Fchdir(fd: i32);
    chroot = Chroot(path: UAddr);
    rename = Rename(old: UAddr, new: UAddr);
    mkdir = Mkdir(path: UAddr, mode: u32);
    rmdir = Rmdir(path: UAddr);
    creat = Creat(path: UAddr, mode: u32);
    link = Link(old: UAddr, new: UAddr);
    unlink = Unlink(path: UAddr);
    symlink = Symlink(target: UAddr, linkpath: UAddr);
    readlink = Readlink(path: UAddr, buf: UAddr, size: usize);
    chmod = Chmod(path: UAddr, mode: u32);
    fchmod = Fchmod(fd: i32, mode: u32);
    chown = Chown(path: UAddr, uid: u32, gid: u32);
    fchown = Fchown(fd: i32, uid: u32, gid: u32);
    lchown = Lchown(path: UAddr, uid: u32, gid: u32);
    umask = Umask(mask: u32);
    gettimeofday = Gettimeofday(tv: UAddr, tz: UAddr);
    getrlimit = Getrlimit(resource: u32, rlim: UAddr);
    getrusage = Getrusage(who: i32, usage: UAddr);
    sysinfo = Sysinfo(info: UAddr);
    times = Times(buf: UAddr);
    getuid = Getuid();
    getgid = Getgid();
    setuid = Setuid(uid: u32);
    setgid = Setgid(gid: u32);
    geteuid = Geteuid();
    getegid = Getegid();
    setpgid = Setpgid(pid: i32, pgid: i32);
    getppid = Getppid();
    getpgrp = Getpgrp();
    setsid = Setsid();
    getgroups = Getgroups(size: i32, list: UAddr);
    setgroups = Setgroups(size: usize, list: UAddr);
    getresuid = Getresuid(ruid: UAddr, euid: UAddr, suid: UAddr);
    getresgid = Getresgid(rgid: UAddr, egid: UAddr, sgid: UAddr);
    getpgid = Getpgid(pid: i32);
    getsid = Getsid(pid: i32);
    rt_sigpending = RtSigpending(set: UAddr, sigsetsize: usize);
    rt_sigsuspend = RtSigsuspend(set: UAddr, sigsetsize: usize);
    sigaltstack = Sigaltstack(ss: UAddr, old: UAddr);
    statfs = Statfs(path: UAddr, buf: UAddr);
    fstatfs = Fstatfs(fd: i32, buf: UAddr);
    getpriority = Getpriority(which: i32, who: i32);
    setpriority = Setpriority(which: i32, who: i32, prio: i32);
    sched_getparam = SchedGetparam(pid: i32, param: UAddr);
    sched_getscheduler = SchedGetscheduler(pid: i32);
    mlock = Mlock(addr: UAddr, len: usize);
    munlock = Munlock(addr: UAddr, len: usize);
    prctl = Prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64);
    arch_prctl = ArchPrctl(code: i32, addr: u64);
    setrlimit = Setrlimit(resource: u32, rlim: UAddr);
    sync = Sync();
    gettid = Gettid();
    tkill = Tkill(tid: i32, sig: i32);
    time = Time(tloc: UAddr);
    futex = Futex(uaddr: UAddr, op: i32, val: u32, timeout: UAddr, uaddr2: UAddr, val3: u32);
    sched_setaffinity = SchedSetaffinity(pid: i32, size: usize, mask: UAddr);
    sched_getaffinity = SchedGetaffinity(pid: i32, size: usize, mask: UAddr);
    getdents64 = Getdents64(fd: i32, dirp: UAddr, count: usize);
    set_tid_address = SetTidAddress(tidptr: UAddr);
    fadvise64 = Fadvise64(fd: i32, offset: i64, len: i64, advice: i32);
    clock_gettime = ClockGettime(clock: i32, tp: UAddr);
    clock_getres = ClockGetres(clock: i32, res: UAddr);
    clock_nanosleep = ClockNanosleep(clock: i32, flags: i32, req: UAddr, rem: UAddr);
    exit_group = ExitGroup(status: i32);
    tgkill = Tgkill(tgid: i32, tid: i32, sig: i32);
    openat = Openat(dirfd: i32, path: UAddr, flags: i32, mode: u32);
    mkdirat = Mkdirat(dirfd: i32, path: UAddr, mode: u32);
    fchownat = Fchownat(dirfd: i32, path: UAddr, uid: u32, gid: u32, flags: i32);
    newfstatat = Newfstatat(dirfd: i32, path: UAddr, buf: UAddr, flags: i32);
    unlinkat = Unlinkat(dirfd: i32, path: UAddr, flags: i32);
    renameat = Renameat(olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr);
    linkat = Linkat(olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr, flags: i32);
    symlinkat = Symlinkat(target: UAddr, newdirfd: i32, linkpath: UAddr);
    readlinkat = Readlinkat(dirfd: i32, path: UAddr, buf: UAddr, size: usize);
    fchmodat = Fchmodat(dirfd: i32, path: UAddr, mode: u32);
    faccessat = Faccessat(dirfd: i32, path: UAddr, mode: i32);
    pselect6 = Pselect6(nfds: i32, readfds: UAddr, writefds: UAddr, exceptfds: UAddr, timeout: UAddr, sigmask: UAddr);
    ppoll = Ppoll(fds: UAddr, nfds: u32, timeout: UAddr, sigmask: UAddr, sigsetsize: usize);
    set_robust_list = SetRobustList(head: UAddr, len: usize);
    get_robust_list = GetRobustList(pid: i32, head: UAddr, len: UAddr);
    utimensat = Utimensat(dirfd: i32, path: UAddr, times: UAddr, flags: i32);
    fallocate = Fallocate(fd: i32, mode: i32, offset: i64, len: i64);
    dup3 = Dup3(oldfd: i32, newfd: i32, flags: i32);
    pipe2 = Pipe2(fds: UAddr, flags: i32);
    prlimit64 = Prlimit64(pid: i32, resource: u32, new: UAddr, old: UAddr);
    renameat2 = Renameat2(olddirfd: i32, old: UAddr, newdirfd: i32, new: UAddr, flags: u32);
    getrandom = Getrandom(buf: UAddr, len: usize, flags: u32);
    memfd_create = MemfdCreate(name: UAddr, flags: u32);
    statx = Statx(dirfd: i32, path: UAddr, flags: i32, mask: u32, buf: UAddr);
    rseq = Rseq(rseq: UAddr, len: u32, flags: i32, sig: u32);
    clone3 = Clone3(args: UAddr, size: usize);
    close_range = CloseRange(first: u32, last: u32, flags: u32);
    faccessat2 = Faccessat2(dirfd: i32, path: UAddr, mode: i32, flags: i32);
    fchmodat2 = Fchmodat2(dirfd: i32, path: UAddr, mode: u32, flags: u32);
    seccomp = Seccomp(op: u32, flags: u32, args: UAddr);
    openat2 = Openat2(dirfd: i32, path: UAddr, how: UAddr, size: usize);
    syslog = Syslog(ty: i32, buf: UAddr, len: i32);
    epoll_create1 = EpollCreate1(flags: i32);
    epoll_create = EpollCreate(size: i32);
    epoll_ctl = EpollCtl(epfd: i32, op: i32, fd: i32, event: UAddr);
    epoll_wait = EpollWait(epfd: i32, events: UAddr, maxevents: i32, timeout_ms: i32);
    epoll_pwait = EpollPwait(epfd: i32, events: UAddr, maxevents: i32, timeout_ms: i32, sigmask: UAddr, sigsetsize: usize);
    epoll_pwait2 = EpollPwait2(epfd: i32, events: UAddr, maxevents: i32, timeout: UAddr, sigmask: UAddr, sigsetsize: usize);
    eventfd = Eventfd(initval: u32);
    eventfd2 = Eventfd2(initval: u32, flags: i32);
    socket = Socket(domain: i32, ty: i32, protocol: i32);
    socketpair = Socketpair(domain: i32, ty: i32, protocol: i32, sv: UAddr);
    bind = Bind(fd: i32, addr: UAddr, addrlen: u32);
    listen = Listen(fd: i32, backlog: i32);
    accept = Accept(fd: i32, addr: UAddr, addrlen: UAddr);
    accept4 = Accept4(fd: i32, addr: UAddr, addrlen: UAddr, flags: i32);
    connect = Connect(fd: i32, addr: UAddr, addrlen: u32);
    getsockname = Getsockname(fd: i32, addr: UAddr, addrlen: UAddr);
    getpeername = Getpeername(fd: i32, addr: UAddr, addrlen: UAddr);
    sendto = Sendto(fd: i32, buf: UAddr, len: usize, flags: u32, addr: UAddr, addrlen: u32);
    recvfrom = Recvfrom(fd: i32, buf: UAddr, len: usize, flags: u32, addr: UAddr, addrlen: UAddr);
    setsockopt = Setsockopt(fd: i32, level: i32, name: i32, val: UAddr, len: u32);
    getsockopt = Getsockopt(fd: i32, level: i32, name: i32, val: UAddr, len: UAddr);
    shutdown = Shutdown(fd: i32, how: i32);
    sendmsg = Sendmsg(fd: i32, msg: UAddr, flags: u32);
    recvmsg = Recvmsg(fd: i32, msg: UAddr, flags: u32);
    sendmmsg = Sendmmsg(fd: i32, msgvec: UAddr, vlen: u32, flags: u32);
    recvmmsg = Recvmmsg(fd: i32, msgvec: UAddr, vlen: u32, flags: u32, timeout: UAddr);
    waitid = Waitid(which: i32, id: i32, infop: UAddr, options: i32, rusage: UAddr);
    execveat = Execveat(dirfd: i32, path: UAddr, argv: UAddr, envp: UAddr, flags: i32);
    pause = Pause();
    restart_syscall = RestartSyscall();
    alarm = Alarm(seconds: u32);
    getitimer = Getitimer(which: i32, value: UAddr);
    setitimer = Setitimer(which: i32, value: UAddr, old: UAddr);
    rt_sigtimedwait = RtSigtimedwait(set: UAddr, info: UAddr, timeout: UAddr, sigsetsize: usize);
    setreuid = Setreuid(ruid: u32, euid: u32);
    setregid = Setregid(rgid: u32, egid: u32);
    setresuid = Setresuid(ruid: u32, euid: u32, suid: u32);
    setresgid = Setresgid(rgid: u32, egid: u32, sgid: u32);
    setfsuid = Setfsuid(uid: u32);
    setfsgid = Setfsgid(gid: u32);
    timer_create = TimerCreate(clock: i32, sevp: UAddr, timerid: UAddr);
    timer_settime = TimerSettime(timerid: i32, flags: i32, new: UAddr, old: UAddr);
    timer_gettime = TimerGettime(timerid: i32, value: UAddr);
    timer_getoverrun = TimerGetoverrun(timerid: i32);
    timer_delete = TimerDelete(timerid: i32);
    timerfd_create = TimerfdCreate(clock: i32, flags: i32);
    timerfd_settime = TimerfdSettime(fd: i32, flags: i32, new: UAddr, old: UAddr);
    timerfd_gettime = TimerfdGettime(fd: i32, value: UAddr);
    clock_settime = ClockSettime(clock: i32, tp: UAddr);
    settimeofday = Settimeofday(tv: UAddr, tz: UAddr);
    adjtimex = Adjtimex(buf: UAddr);
    clock_adjtime = ClockAdjtime(clock: i32, buf: UAddr);
    signalfd = Signalfd(fd: i32, mask: UAddr, sizemask: usize);
    signalfd4 = Signalfd4(fd: i32, mask: UAddr, sizemask: usize, flags: i32);
    rt_sigqueueinfo = RtSigqueueinfo(tgid: i32, sig: i32, info: UAddr);
    rt_tgsigqueueinfo = RtTgsigqueueinfo(tgid: i32, tid: i32, sig: i32, info: UAddr);
    preadv = Preadv(fd: i32, iov: UAddr, iovcnt: i32, pos_l: u64, pos_h: u64);
    pwritev = Pwritev(fd: i32, iov: UAddr, iovcnt: i32, pos_l: u64, pos_h: u64);
    preadv2 = Preadv2(fd: i32, iov: UAddr, iovcnt: i32, pos_l: u64, pos_h: u64, flags: u32);
    pwritev2 = Pwritev2(fd: i32, iov: UAddr, iovcnt: i32, pos_l: u64, pos_h: u64, flags: u32);
    splice = Splice(fd_in: i32, off_in: UAddr, fd_out: i32, off_out: UAddr, len: usize, flags: u32);
    tee = Tee(fd_in: i32, fd_out: i32, len: usize, flags: u32);
    vmsplice = Vmsplice(fd: i32, iov: UAddr, nr: usize, flags: u32);
    copy_file_range = CopyFileRange(fd_in: i32, off_in: UAddr, fd_out: i32, off_out: UAddr, len: usize, flags: u32);
    mknod = Mknod(path: UAddr, mode: u32, dev: u32);
    mknodat = Mknodat(dirfd: i32, path: UAddr, mode: u32, dev: u32);
    setxattr = Setxattr(path: UAddr, name: UAddr, value: UAddr, size: usize, flags: i32);
    lsetxattr = Lsetxattr(path: UAddr, name: UAddr, value: UAddr, size: usize, flags: i32);
    fsetxattr = Fsetxattr(fd: i32, name: UAddr, value: UAddr, size: usize, flags: i32);
    getxattr = Getxattr(path: UAddr, name: UAddr, value: UAddr, size: usize);
    lgetxattr = Lgetxattr(path: UAddr, name: UAddr, value: UAddr, size: usize);
    fgetxattr = Fgetxattr(fd: i32, name: UAddr, value: UAddr, size: usize);
    listxattr = Listxattr(path: UAddr, list: UAddr, size: usize);
    llistxattr = Llistxattr(path: UAddr, list: UAddr, size: usize);
    flistxattr = Flistxattr(fd: i32, list: UAddr, size: usize);
    removexattr = Removexattr(path: UAddr, name: UAddr);
    lremovexattr = Lremovexattr(path: UAddr, name: UAddr);
    fremovexattr = Fremovexattr(fd: i32, name: UAddr);
    utime = Utime(path: UAddr, times: UAddr);
    utimes = Utimes(path: UAddr, times: UAddr);
    futimesat = Futimesat(dirfd: i32, path: UAddr, times: UAddr);
    inotify_init = InotifyInit();
    inotify_init1 = InotifyInit1(flags: i32);
    inotify_add_watch = InotifyAddWatch(fd: i32, path: UAddr, mask: u32);
    inotify_rm_watch = InotifyRmWatch(fd: i32, wd: i32);
    getdents = Getdents(fd: i32, dirp: UAddr, count: usize);
    capget = Capget(hdr: UAddr, data: UAddr);
    capset = Capset(hdr: UAddr, data: UAddr);
    sched_setscheduler = SchedSetscheduler(pid: i32, policy: i32, param: UAddr);
    sched_setparam = SchedSetparam(pid: i32, param: UAddr);
    sched_get_priority_max = SchedGetPriorityMax(policy: i32);
    sched_get_priority_min = SchedGetPriorityMin(policy: i32);
    sched_rr_get_interval = SchedRrGetInterval(pid: i32, tp: UAddr);
    sched_setattr = SchedSetattr(pid: i32, attr: UAddr, flags: u32);
    sched_getattr = SchedGetattr(pid: i32, attr: UAddr, size: u32, flags: u32);
    getcpu = Getcpu(cpu: UAddr, node: UAddr, cache: UAddr);
    membarrier = Membarrier(cmd: i32, flags: u32, cpu_id: i32);
    mlockall = Mlockall(flags: i32);
    munlockall = Munlockall();
    mlock2 = Mlock2(addr: UAddr, len: usize, flags: u32);
    sethostname = Sethostname(name: UAddr, len: i32);
    setdomainname = Setdomainname(name: UAddr, len: i32);
    personality = Personality(persona: u32);
    ioprio_set = IoprioSet(which: i32, who: i32, ioprio: i32);
    ioprio_get = IoprioGet(which: i32, who: i32);
    syncfs = Syncfs(fd: i32);
    sync_file_range = SyncFileRange(fd: i32, offset: i64, nbytes: i64, flags: u32);
    readahead = Readahead(fd: i32, offset: i64, count: usize);
    process_vm_readv = ProcessVmReadv(pid: i32, local: UAddr, liovcnt: u64, remote: UAddr, riovcnt: u64, flags: u64);
    process_vm_writev = ProcessVmWritev(pid: i32, local: UAddr, liovcnt: u64, remote: UAddr, riovcnt: u64, flags: u64);
    kcmp = Kcmp(pid1: i32, pid2: i32, ty: i32, idx1: u64, idx2: u64);
    shmget = Shmget(key: i32, size: usize, flags: i32);
    shmat = Shmat(id: i32, addr: UAddr, flags: i32);
    shmctl = Shmctl(id: i32, cmd: i32, buf: UAddr);
    shmdt = Shmdt(addr: UAddr);
    semget = Semget(key: i32, nsems: i32, flags: i32);
    semop = Semop(id: i32, sops: UAddr, nsops: usize);
    semctl = Semctl(id: i32, semnum: i32, cmd: i32, arg: u64);
    semtimedop = Semtimedop(id: i32, sops: UAddr, nsops: usize, timeout: UAddr);
    msgget = Msgget(key: i32, flags: i32);
    msgsnd = Msgsnd(id: i32, msgp: UAddr, size: usize, flags: i32);
    msgrcv = Msgrcv(id: i32, msgp: UAddr, size: i64, typ: i64, flags: i32);
    msgctl = Msgctl(id: i32, cmd: i32, buf: UAddr);
    mq_open = MqOpen(name: UAddr, oflag: i32, mode: u32, attr: UAddr);
    mq_unlink = MqUnlink(name: UAddr);
    mq_timedsend = MqTimedsend(fd: i32, msg: UAddr, len: usize, prio: u32, timeout: UAddr);
    mq_timedreceive = MqTimedreceive(fd: i32, msg: UAddr, len: usize, prio: UAddr, timeout: UAddr);
    mq_notify = MqNotify(fd: i32, sevp: UAddr);
    mq_getsetattr = MqGetsetattr(fd: i32, new: UAddr, old: UAddr);
    io_setup = IoSetup(nr_events: u32, ctxp: UAddr);
    io_destroy = IoDestroy(ctx: u64);
    io_submit = IoSubmit(ctx: u64, nr: i64, iocbpp: UAddr);
    io_cancel = IoCancel(ctx: u64, iocb: UAddr, result: UAddr);
    io_getevents = IoGetevents(ctx: u64, min_nr: i64, nr: i64, events: UAddr, timeout: UAddr);
    io_pgetevents = IoPgetevents(ctx: u64, min_nr: i64, nr: i64, events: UAddr, timeout: UAddr, usig: UAddr);
    pidfd_open = PidfdOpen(pid: i32, flags: u32);
    pidfd_send_signal = PidfdSendSignal(fd: i32, sig: i32, info: UAddr, flags: u32);
    pidfd_getfd = PidfdGetfd(fd: i32, target: i32, flags: u32);
    unshare = Unshare(flags: u64);
    setns = Setns(fd: i32, nstype: i32);
}
