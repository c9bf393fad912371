//! System-call dispatch: decode (elfin-shim) → handler → `-errno`, plus strace
//! logging and the one-time report of unsupported calls.
mod fs;
mod misc;
mod mm;
mod thread;

use alloc::collections::BTreeSet;

use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::{Call, UAddr};

use crate::proc::{Process, CURRENT};

/// What a handler returns.
pub type SysResult = Result<u64, Errno>;

static REPORTED: spin::Mutex<BTreeSet<&'static str>> = spin::Mutex::new(BTreeSet::new());

fn decode(nr: usize, args: [u64; 6]) -> Call {
    match elfin_arch::ELF_MACHINE {
        62 => elfin_shim::x86_64::decode(nr, args),
        183 => elfin_shim::aarch64::decode(nr, args),
        _ => Call::Unknown { nr, name: "?" },
    }
}

/// Reports an unsupported call once by name and returns ENOSYS.
pub fn unsupported(name: &'static str, nr: usize) -> SysResult {
    if REPORTED.lock().insert(name) {
        kprintln!("elfin: unsupported syscall {} ({})", name, nr);
    }
    Err(Errno::ENOSYS)
}

/// Entry from the architecture's system-call stub.
pub fn entry(tf: &mut TrapFrame) {
    let nr = tf.syscall_nr();
    crate::time::phases::SYSCALLS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let call = decode(nr, tf.syscall_args());
    let r = match call {
        Call::Exit { status } => {
            trace(&call, None);
            thread::exit_thread(status)
        }
        Call::ExitGroup { status } => {
            trace(&call, None);
            crate::proc::exit_vm(status as u8)
        }
        Call::RtSigreturn {} => {
            crate::signal::sigreturn(tf);
            trace(&call, Some(Ok(tf.syscall_args()[0])));
            crate::signal::deliver_pending(tf);
            return;
        }
        Call::Clone { flags, stack, parent_tid, child_tid, tls } => {
            thread::clone(tf, flags, stack.0, parent_tid, child_tid, tls)
        }
        Call::Clone3 { args, size } => thread::clone3(tf, args, size),
        Call::Futex { uaddr, op, val, timeout, uaddr2, val3 } => thread::futex(uaddr, op, val, timeout, uaddr2, val3),
        Call::Nanosleep { req, rem } => thread::sleep(1, 0, req, rem),
        Call::ClockNanosleep { clock, flags, req, rem } => thread::sleep(clock, flags, req, rem),
        Call::Kill { pid, sig } => thread::kill(pid, None, sig),
        Call::Tkill { tid, sig } => thread::kill(1, Some(tid), sig),
        Call::Tgkill { tgid, tid, sig } => thread::kill(tgid, Some(tid), sig),
        Call::SchedYield {} => {
            crate::sched::yield_now();
            Ok(0)
        }
        Call::Gettid {} => Ok(crate::sched::current_tid() as u64),
        Call::RtSigprocmask { how, set, oldset, sigsetsize } => thread::sigprocmask(how, set, oldset, sigsetsize),
        Call::Sigaltstack { ss, old } => thread::sigaltstack(tf, ss, old),
        Call::RtSigpending { set, sigsetsize } => thread::sigpending(set, sigsetsize),
        Call::RtSigsuspend { set, sigsetsize } => thread::sigsuspend(set, sigsetsize),
        Call::SetTidAddress { tidptr } => {
            crate::sched::with_current(|t| t.clear_child_tid = tidptr.0);
            Ok(crate::sched::current_tid() as u64)
        }
        Call::SetRobustList { head, len } => {
            if len != 24 {
                Err(Errno::EINVAL)
            } else {
                crate::sched::with_current(|t| t.robust_list = (head.0, len));
                Ok(0)
            }
        }
        _ => dispatch_restartable(call, tf, nr),
    };
    trace(&call, Some(r));
    tf.set_syscall_ret(match r {
        Ok(v) => v,
        Err(e) => (-(e.as_i32() as i64)) as u64,
    });
    crate::signal::deliver_pending(tf);
}

/// Runs a handler under the process lock; a handler that must wait (console
/// input, poll) records what it waits for, and the call is restarted after the
/// wait with the lock released.
fn dispatch_restartable(call: Call, tf: &mut TrapFrame, nr: usize) -> SysResult {
    let r = loop {
        let mut guard = CURRENT.lock();
        let Some(p) = guard.as_mut() else { return Err(Errno::ENOSYS) };
        let r = dispatch(p, call, tf, nr);
        match p.block.take() {
            Some((on, deadline)) => {
                drop(guard);
                if crate::sched::block(on, deadline) == crate::sched::Wake::Signal {
                    break Err(Errno::EINTR);
                }
            }
            None => break r,
        }
    };
    crate::sched::with_current(|t| t.restart_deadline = None);
    r
}

fn trace(call: &Call, r: Option<SysResult>) {
    if !STRACE.load(core::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let tid = crate::sched::current_tid();
    let addr_result = matches!(call, Call::Mmap { .. } | Call::Brk { .. } | Call::Mremap { .. });
    match r {
        None => kprintln!("[pid {}] {} = ?", tid, call),
        Some(Ok(v)) if addr_result => kprintln!("[pid {}] {} = {:#x}", tid, call, v),
        Some(Ok(v)) => kprintln!("[pid {}] {} = {}", tid, call, v as i64),
        Some(Err(e)) => kprintln!("[pid {}] {} = -1 {} ({})", tid, call, e.name(), e.description()),
    }
}

/// Whether every system call is logged.
pub static STRACE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn dispatch(p: &mut Process, call: Call, _tf: &mut TrapFrame, nr: usize) -> SysResult {
    use Call::*;
    match call {
        Read { fd, buf, count } => fs::read(p, fd, buf, count, None),
        Write { fd, buf, count } => fs::write(p, fd, buf, count, None),
        Pread64 { fd, buf, count, offset } => fs::pread(p, fd, buf, count, offset, false),
        Pwrite64 { fd, buf, count, offset } => fs::pread(p, fd, buf, count, offset, true),
        Readv { fd, iov, iovcnt } => fs::readv(p, fd, iov, iovcnt, false),
        Writev { fd, iov, iovcnt } => fs::readv(p, fd, iov, iovcnt, true),
        Open { path, flags, mode } => fs::openat(p, fs::AT_FDCWD, path, flags, mode),
        Openat { dirfd, path, flags, mode } => fs::openat(p, dirfd, path, flags, mode),
        Creat { path, mode } => fs::openat(p, fs::AT_FDCWD, path, 0o1101, mode),
        Close { fd } => p.fds.close(fd).map(|_| 0),
        Fstat { fd, buf } => fs::fstat(p, fd, buf),
        Stat { path, buf } => fs::fstatat(p, fs::AT_FDCWD, path, buf, 0),
        Lstat { path, buf } => fs::fstatat(p, fs::AT_FDCWD, path, buf, 0x100),
        Newfstatat { dirfd, path, buf, flags } => fs::fstatat(p, dirfd, path, buf, flags),
        Statx { dirfd, path, flags, mask, buf } => fs::statx(p, dirfd, path, flags, mask, buf),
        Lseek { fd, offset, whence } => fs::lseek(p, fd, offset, whence),
        Getdents64 { fd, dirp, count } => fs::getdents64(p, fd, dirp, count),
        Getcwd { buf, size } => fs::getcwd(p, buf, size),
        Chdir { path } => fs::chdir(p, path),
        Fchdir { fd } => fs::fchdir(p, fd),
        Mkdir { path, mode } => fs::mkdirat(p, fs::AT_FDCWD, path, mode),
        Mkdirat { dirfd, path, mode } => fs::mkdirat(p, dirfd, path, mode),
        Unlink { path } => fs::unlinkat(p, fs::AT_FDCWD, path, 0),
        Rmdir { path } => fs::unlinkat(p, fs::AT_FDCWD, path, 0x200),
        Unlinkat { dirfd, path, flags } => fs::unlinkat(p, dirfd, path, flags),
        Rename { old, new } => fs::renameat(p, fs::AT_FDCWD, old, fs::AT_FDCWD, new, 0),
        Renameat { olddirfd, old, newdirfd, new } => fs::renameat(p, olddirfd, old, newdirfd, new, 0),
        Renameat2 { olddirfd, old, newdirfd, new, flags } => fs::renameat(p, olddirfd, old, newdirfd, new, flags),
        Symlink { target, linkpath } => fs::symlinkat(p, target, fs::AT_FDCWD, linkpath),
        Symlinkat { target, newdirfd, linkpath } => fs::symlinkat(p, target, newdirfd, linkpath),
        Readlink { path, buf, size } => fs::readlinkat(p, fs::AT_FDCWD, path, buf, size),
        Readlinkat { dirfd, path, buf, size } => fs::readlinkat(p, dirfd, path, buf, size),
        Access { path, mode } => fs::faccessat(p, fs::AT_FDCWD, path, mode, 0),
        Faccessat { dirfd, path, mode } => fs::faccessat(p, dirfd, path, mode, 0),
        Faccessat2 { dirfd, path, mode, flags } => fs::faccessat(p, dirfd, path, mode, flags),
        Fcntl { fd, cmd, arg } => fs::fcntl(p, fd, cmd, arg),
        Dup { fd } => fs::dup(p, fd),
        Dup2 { oldfd, newfd } => fs::dup3(p, oldfd, newfd, 0, true),
        Dup3 { oldfd, newfd, flags } => fs::dup3(p, oldfd, newfd, flags, false),
        Ioctl { fd, cmd, arg } => fs::ioctl(p, fd, cmd, arg),
        Poll { fds, nfds, timeout_ms } => fs::poll(p, fds, nfds, i64::from(timeout_ms)),
        Pipe { fds } => fs::pipe2(p, fds, 0),
        Pipe2 { fds, flags } => fs::pipe2(p, fds, flags),
        Eventfd { initval } => fs::eventfd2(p, initval, 0),
        Eventfd2 { initval, flags } => fs::eventfd2(p, initval, flags),
        EpollCreate { size } => {
            if size <= 0 {
                Err(Errno::EINVAL)
            } else {
                fs::epoll_create1(p, 0)
            }
        }
        EpollCreate1 { flags } => fs::epoll_create1(p, flags),
        EpollCtl { epfd, op, fd, event } => fs::epoll_ctl(p, epfd, op, fd, event),
        EpollWait { epfd, events, maxevents, timeout_ms } | EpollPwait { epfd, events, maxevents, timeout_ms, .. } => {
            let t = if timeout_ms < 0 { None } else { Some(timeout_ms as u64 * 1_000_000) };
            fs::epoll_wait(p, epfd, events, maxevents, t)
        }
        Ppoll { fds, nfds, timeout, .. } => fs::ppoll(p, fds, nfds, timeout),
        Umask { mask } => {
            let old = p.umask;
            p.umask = mask & 0o777;
            Ok(u64::from(old))
        }
        Ftruncate { fd, length } => fs::ftruncate(p, fd, length),
        Truncate { path, length } => fs::truncate(p, path, length),
        Fsync { fd } | Fdatasync { fd } => p.fds.get(fd).map(|_| 0),
        CloseRange { first, last, flags } => fs::close_range(p, first, last, flags),
        Statfs { path, buf } => fs::statfs(p, Some(path), -1, buf),
        Fstatfs { fd, buf } => fs::statfs(p, None, fd, buf),
        Utimensat { dirfd, path, times, flags } => fs::utimensat(p, dirfd, path, times, flags),
        Fallocate { fd, mode, offset, len } => fs::fallocate(p, fd, mode, offset, len),
        MemfdCreate { name, flags } => fs::memfd_create(p, name, flags),
        Mlock { addr, len } | Munlock { addr, len } => mm::mlock(p, addr, len),
        Getpriority { which, who } => misc::getpriority(p, which, who),
        Setpriority { which, who, prio } => misc::setpriority(p, which, who, prio),
        SchedGetscheduler { pid } => {
            if pid < 0 {
                Err(Errno::EINVAL)
            } else if pid == 0 || pid == p.pid || crate::sched::with_thread(pid, |_| ()).is_some() {
                Ok(0) // SCHED_OTHER
            } else {
                Err(Errno::ESRCH)
            }
        }
        SchedGetparam { pid, param } => {
            if pid < 0 || param.is_null() {
                Err(Errno::EINVAL)
            } else if pid == 0 || pid == p.pid || crate::sched::with_thread(pid, |_| ()).is_some() {
                crate::uaccess::write_val(&mut p.aspace, param, &0i32).map(|_| 0)
            } else {
                Err(Errno::ESRCH)
            }
        }
        Setsid {} => Err(Errno::EPERM), // pid 1 already leads its session and group
        Setpgid { pid, pgid } => {
            if pgid < 0 {
                Err(Errno::EINVAL)
            } else if pid != 0 && pid != p.pid {
                Err(Errno::ESRCH)
            } else if pgid != 0 && pgid != p.pid {
                Err(Errno::EPERM)
            } else {
                Ok(0)
            }
        }
        Flock { fd, op } => {
            // One process owns every open file description, so its own locks never
            // conflict except between two separate opens of one file, which are
            // not tracked yet.
            p.fds.get(fd)?;
            match op & !4 {
                1 | 2 | 8 => Ok(0),
                _ => Err(Errno::EINVAL),
            }
        }
        Sync {} => Ok(0),
        Chmod { path, mode } => fs::fchmodat(p, fs::AT_FDCWD, path, mode),
        Fchmodat { dirfd, path, mode } => fs::fchmodat(p, dirfd, path, mode),
        Fchmod { fd, mode } => fs::fchmod(p, fd, mode),
        Chown { path, uid, gid } => fs::fchownat(p, fs::AT_FDCWD, path, uid, gid, 0),
        Lchown { path, uid, gid } => fs::fchownat(p, fs::AT_FDCWD, path, uid, gid, 0x100),
        Fchownat { dirfd, path, uid, gid, flags } => fs::fchownat(p, dirfd, path, uid, gid, flags),
        Fchown { fd, uid, gid } => fs::fchown(p, fd, uid, gid),
        Wait4 { pid, status, options, rusage } => {
            // WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE
            let _ = (pid, status, rusage);
            if options & !(1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000u32 as i32) != 0 {
                Err(Errno::EINVAL)
            } else {
                // The program is the only process: it has no children to wait for.
                Err(Errno::ECHILD)
            }
        }
        Fadvise64 { fd, .. } => p.fds.get(fd).map(|_| 0),
        Sendfile { out_fd, in_fd, offset, count } => fs::sendfile(p, out_fd, in_fd, offset, count),

        Mmap { addr, len, prot, flags, fd, offset } => mm::mmap(p, addr, len, prot, flags, fd, offset),
        Munmap { addr, len } => mm::munmap(p, addr, len),
        Mprotect { addr, len, prot } => mm::mprotect(p, addr, len, prot),
        Brk { addr } => mm::brk(p, addr),
        Madvise { addr, len, advice } => mm::madvise(p, addr, len, advice),
        Mremap { old_addr, old_len, new_len, flags, new_addr } => {
            mm::mremap(p, old_addr, old_len, new_len, flags, new_addr)
        }
        Msync { addr, len, flags } => mm::msync(p, addr, len, flags),
        Mincore { addr, len, vec } => mm::mincore(p, addr, len, vec),

        ArchPrctl { code, addr } => misc::arch_prctl(p, code, addr),
        Rseq { rseq, len, flags, sig } => misc::rseq(p, rseq, len, flags, sig),
        Uname { buf } => misc::uname(p, buf),
        Getpid {} => Ok(p.pid as u64),
        Getppid {} => Ok(0),
        Getpgrp {} => Ok(p.pid as u64),
        Getpgid { pid } | Getsid { pid } => {
            if pid == 0 || pid == p.pid {
                Ok(p.pid as u64)
            } else {
                Err(Errno::ESRCH)
            }
        }
        Getuid {} | Geteuid {} | Getgid {} | Getegid {} => Ok(0),
        Getresuid { ruid, euid, suid } | Getresgid { rgid: ruid, egid: euid, sgid: suid } => {
            for a in [ruid, euid, suid] {
                crate::uaccess::write_val(&mut p.aspace, a, &0u32)?;
            }
            Ok(0)
        }
        Getgroups { size, list } => {
            if size < 0 {
                return Err(Errno::EINVAL);
            }
            let _ = list;
            Ok(0)
        }
        ClockGettime { clock, tp } => misc::clock_gettime(p, clock, tp),
        ClockGetres { clock, res } => misc::clock_getres(p, clock, res),
        Gettimeofday { tv, tz } => misc::gettimeofday(p, tv, tz),
        Time { tloc } => misc::time(p, tloc),
        Getrandom { buf, len, flags } => misc::getrandom(p, buf, len, flags),
        Prlimit64 { pid, resource, new, old } => misc::prlimit(p, pid, resource, new, old),
        Getrlimit { resource, rlim } => misc::prlimit(p, 0, resource, UAddr(0), rlim),
        Setrlimit { resource, rlim } => misc::prlimit(p, 0, resource, rlim, UAddr(0)),
        RtSigaction { sig, act, oldact, sigsetsize } => misc::rt_sigaction(p, sig, act, oldact, sigsetsize),
        SchedGetaffinity { pid, size, mask } => misc::sched_getaffinity(p, pid, size, mask),
        Sysinfo { info } => misc::sysinfo(p, info),
        Times { buf } => misc::times(p, buf),
        Getrusage { who, usage } => misc::getrusage(p, who, usage),
        Prctl { option, arg2, .. } => misc::prctl(p, option, arg2),
        other => unsupported(other.name(), nr),
    }
}
