//! System-call dispatch: decode (elfin-shim) → handler with the caller's context
//! → `-errno`, then signal delivery (which restarts interrupted calls as Linux
//! does); strace logging and the one-time report of unsupported calls.
pub mod aio;
mod bounce;
mod fast;
mod fs;
mod fsx;
mod locks;
mod misc;
mod mm;
mod mq;
mod net;
mod notify;
mod pidfd;
mod proc;
mod select;
mod signals;
pub mod sys;
mod thread;
mod timers;
mod xfer;

use alloc::collections::BTreeSet;
use core::sync::atomic::{AtomicBool, Ordering};

use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::Call;

use crate::task::{self, Ctx, ExitStatus};

pub use bounce::drain as drain_bounce_buffers;
pub use fast::general_only;
pub use fs::{base_dir, AT_FDCWD};

/// What a handler returns.
pub type SysResult = Result<u64, Errno>;

/// The Linux release elfin reports (uname, /proc/version).
pub const RELEASE: &str = "6.1.0-elfin";

/// Whether every system call is logged.
pub static STRACE: AtomicBool = AtomicBool::new(false);

static REPORTED: crate::sync::Mutex<BTreeSet<&'static str>> = crate::sync::Mutex::new(BTreeSet::new());

#[inline(always)]
fn decode(nr: usize, args: [u64; 6]) -> Call {
    match elfin_arch::ELF_MACHINE {
        62 => elfin_shim::x86_64::decode(nr, args),
        183 => elfin_shim::aarch64::decode(nr, args),
        _ => Call::Unknown { nr, name: "?" },
    }
}

/// Reports an unsupported call or feature once, by name.
pub fn report_unsupported(name: &'static str) {
    if REPORTED.lock().insert(name) {
        kprintln!("elfin: unsupported syscall {}", name);
    }
}

/// Reports an unsupported call once by name and returns ENOSYS.
pub fn unsupported(name: &'static str, nr: usize) -> SysResult {
    if REPORTED.lock().insert(name) {
        kprintln!("elfin: unsupported syscall {} ({})", name, nr);
    }
    Err(Errno::ENOSYS)
}

/// Entry from the architecture's system-call stub, with a frame that lacks the
/// callee-saved registers (see `elfin_arch::Handlers::syscall`): runs the call
/// unless it needs the whole frame, and answers `SYSCALL_SLOW` when anything is
/// left to do on the way back (a signal, a restart, rseq, an exit), which
/// [`entry_slow`] does with the completed frame.
pub extern "C" fn entry(tf: &mut TrapFrame) -> u8 {
    match fast::id_of(tf.syscall_nr()) {
        0 => entry_general(tf),
        id => fast::run(tf, id),
    }
}

/// Asks the calling thread's seccomp mode about the call before it runs: None
/// when it runs, else what [`entry`] answers for a call that did not run
/// (failed, trapped to SIGSYS, or killed the thread or the process).
#[cold]
#[inline(never)]
fn seccomp_check(tf: &mut TrapFrame) -> Option<u8> {
    use task::seccomp::{Verdict, SIGSYS};
    let nr = tf.syscall_nr();
    let args = tf.syscall_args();
    let cx = Ctx::for_call(nr, args[0]);
    // Strict mode's four calls; the decode runs in strict mode only.
    let strict_ok = || {
        matches!(decode(nr, args), Call::Read { .. } | Call::Write { .. } | Call::Exit { .. } | Call::RtSigreturn {})
    };
    match task::seccomp::verdict(&cx.thread, nr, args, tf.ip(), strict_ok) {
        Verdict::Allow => return None,
        Verdict::Return(ret) => tf.set_syscall_ret(ret),
        // The registers stay as they were (the return register holds the call's
        // number on x86_64, its first argument on arm64), as Linux leaves them.
        Verdict::Trap(data) => task::signal::force_signal(
            &cx,
            SIGSYS,
            elfin_shim::uapi::Siginfo::sigsys(tf.ip(), nr as i32, elfin_arch::AUDIT_ARCH, i32::from(data)),
        ),
        Verdict::KillThread(sig) => {
            // The thread alone; its process with it when it is the last one.
            if cx.proc.threads.lock().len() == 1 {
                task::signal::report_kill(&cx, sig, &elfin_shim::uapi::Siginfo::default(), tf);
            }
            task::exit::exit_thread(&cx, ExitStatus::Killed(sig));
        }
        Verdict::KillProcess => {
            task::signal::report_kill(&cx, SIGSYS, &elfin_shim::uapi::Siginfo::default(), tf);
            task::signal::kill_group(&cx.proc, ExitStatus::Killed(SIGSYS));
            task::exit::exit_thread(&cx, ExitStatus::Killed(SIGSYS));
        }
    }
    Some(leave_finish(&cx.thread, task::Restart::Never, nr, args[0]))
}

/// [`entry`] for every call but the identity calls of [`fast`].
#[inline(never)]
fn entry_general(tf: &mut TrapFrame) -> u8 {
    // Once a seccomp mode exists every call comes here (the identity calls'
    // table is emptied then): the verdict first.
    if task::seccomp::active() {
        if let Some(r) = seccomp_check(tf) {
            return r;
        }
    }
    let nr = tf.syscall_nr();
    let args = tf.syscall_args();
    let cx = Ctx::for_call(nr, args[0]);
    crate::time::phases::count_syscall();
    // The CPU time the call uses is the thread's system time.
    cx.thread.sys_clock_start();
    let call = decode(nr, args);
    let r = match call {
        Call::Exit { .. }
        | Call::ExitGroup { .. }
        | Call::RtSigreturn {}
        | Call::Execve { .. }
        | Call::Execveat { .. }
        | Call::Clone { .. }
        | Call::Clone3 { .. }
        | Call::Fork {}
        | Call::Vfork {} => {
            // They read or replace the whole frame: the slow path runs them.
            cx.thread.sys_clock_end();
            *cx.thread.sys_call.lock() = Some(call);
            return elfin_arch::SYSCALL_SLOW;
        }
        _ => dispatch(&cx, call, tf),
    };
    // The log decodes the call again, so that the fast path keeps no copy of it.
    if STRACE.load(Ordering::Relaxed) {
        trace_nr(&cx, nr, tf, r);
    }
    let ret = match r {
        Ok(v) => v,
        Err(e) => (-(e.as_i32() as i64)) as u64,
    };
    tf.set_syscall_ret(ret);
    cx.thread.sys_clock_end();
    let t = &cx.thread;
    // One test each when there is nothing to do (signal.rs, rseq.rs, exit.rs).
    let eintr = (-(Errno::EINTR.as_i32() as i64)) as u64;
    if (ret == eintr && r.is_err())
        || t.sig_hint.load(Ordering::SeqCst)
        || t.sched.rseq_pending()
        || t.exited.load(Ordering::Relaxed)
    {
        let restart = if r == Err(Errno::EINTR) { cx.restart.get() } else { task::Restart::Never };
        return leave_finish(t, restart, nr, args[0]);
    }
    elfin_arch::SYSCALL_DONE
}

/// Leaves the return to user mode of a call that ran to the slow path (which
/// delivers signals, restarts the call, runs rseq, lets an exited thread go).
#[cold]
#[inline(never)]
fn leave_finish(t: &task::Thread, restart: task::Restart, nr: usize, arg0: u64) -> u8 {
    t.sys_left[0].store(LEFT_FINISH | restart_code(restart) << 1 | (nr as u64) << 8, Ordering::Relaxed);
    t.sys_left[1].store(arg0, Ordering::Relaxed);
    elfin_arch::SYSCALL_SLOW
}

/// `Thread::sys_left[0]`: the call ran; its return to user mode is left.
const LEFT_FINISH: u64 = 1;

fn restart_code(r: task::Restart) -> u64 {
    match r {
        task::Restart::Never => 0,
        task::Restart::Sys => 1,
        task::Restart::NoHand => 2,
        task::Restart::Block => 3,
    }
}

fn restart_of(code: u64) -> task::Restart {
    match code & 3 {
        1 => task::Restart::Sys,
        2 => task::Restart::NoHand,
        3 => task::Restart::Block,
        _ => task::Restart::Never,
    }
}

/// The slow path of [`entry`], with the whole frame: runs a call that needs it,
/// or finishes one that [`entry`] ran (signal delivery, which restarts an
/// interrupted call as Linux does, rseq, an exit). True when the frame changed
/// beyond the return value (the stub then restores all of it).
#[inline(never)]
pub extern "C" fn entry_slow(tf: &mut TrapFrame) -> bool {
    let (exited, changed) = handle_slow(tf);
    if exited {
        // Everything the call held is released by now: the exited thread may go.
        task::exit::finish_if_exited();
    }
    changed
}

/// [`entry_slow`]'s work: whether the calling thread has exited, and whether the
/// frame changed beyond the return value.
fn handle_slow(tf: &mut TrapFrame) -> (bool, bool) {
    let mut cx = Ctx::current();
    let left = cx.thread.sys_left[0].swap(0, Ordering::Relaxed);
    cx.thread.sys_clock_start();
    let call = if left & LEFT_FINISH != 0 { None } else { cx.thread.sys_call.lock().take() };
    let changed = if left & LEFT_FINISH != 0 {
        cx.nr = (left >> 8) as usize;
        cx.arg0 = cx.thread.sys_left[1].load(Ordering::Relaxed);
        task::signal::deliver_pending(&cx, tf, restart_of(left >> 1))
    } else if let Some(call) = call {
        cx.nr = tf.syscall_nr();
        cx.arg0 = tf.syscall_args()[0];
        run_frame_call(&mut cx, tf, call)
    } else {
        // Only `entry` calls this, having left a call or its return.
        false
    };
    cx.thread.sys_clock_end();
    let changed =
        if cx.thread.exited.load(Ordering::Relaxed) { changed } else { task::rseq::on_user_return(&cx, tf) | changed };
    // The rseq work may have ended the thread too (a bad area or descriptor kills
    // the process): then it must not return to user mode.
    (cx.thread.exited.load(Ordering::Relaxed), changed)
}

/// Runs a call that reads or replaces the whole frame (clone, fork, exit, execve, rt_sigreturn); true when the frame changed beyond the return value.
#[inline(never)]
fn run_frame_call(cx: &mut Ctx, tf: &mut TrapFrame, call: Call) -> bool {
    let r = match call {
        Call::Clone { flags, stack, parent_tid, child_tid, tls } => {
            proc::clone(cx, tf, flags, stack.0, parent_tid, child_tid, tls)
        }
        Call::Clone3 { args, size } => proc::clone3(cx, tf, args, size),
        Call::Fork {} => proc::clone(cx, tf, 17, 0, elfin_shim::UAddr(0), elfin_shim::UAddr(0), 0),
        Call::Vfork {} => proc::clone(cx, tf, 0x4000 | 0x100 | 17, 0, elfin_shim::UAddr(0), elfin_shim::UAddr(0), 0),
        _ => {
            run_special(cx, tf, call);
            return true;
        }
    };
    trace(cx, &call, Some(r));
    let ret = match r {
        Ok(v) => v,
        Err(e) => (-(e.as_i32() as i64)) as u64,
    };
    tf.set_syscall_ret(ret);
    let restart = if r == Err(Errno::EINTR) { cx.restart.get() } else { task::Restart::Never };
    task::signal::deliver_pending(cx, tf, restart)
}

/// Runs exit, exit_group, rt_sigreturn, execve and execveat, which end or replace
/// the caller's context.
#[inline(never)]
fn run_special(cx: &mut Ctx, tf: &mut TrapFrame, call: Call) {
    let r = match call {
        Call::Exit { status } => {
            trace(cx, &call, None);
            task::exit::exit_thread(cx, ExitStatus::Exited(status as u8));
            return;
        }
        Call::ExitGroup { status } => {
            trace(cx, &call, None);
            task::exit::exit_group(cx, ExitStatus::Exited(status as u8));
            return;
        }
        Call::RtSigreturn {} => {
            task::signal::sigreturn(cx, tf);
            trace(cx, &call, Some(Ok(tf.syscall_args()[0])));
            task::signal::deliver_pending(cx, tf, task::Restart::Never);
            return;
        }
        Call::Execve { path, argv, envp } => exec(cx, tf, &call, fs::AT_FDCWD, path, argv, envp, 0),
        Call::Execveat { dirfd, path, argv, envp, flags } => exec(cx, tf, &call, dirfd, path, argv, envp, flags),
        _ => return,
    };
    match r {
        // execve succeeded: the frame holds the new program.
        None => {
            task::signal::deliver_pending(cx, tf, task::Restart::Never);
        }
        Some(r) => {
            trace(cx, &call, Some(r));
            tf.set_syscall_ret(match r {
                Ok(v) => v,
                Err(e) => (-(e.as_i32() as i64)) as u64,
            });
            let restart = if r == Err(Errno::EINTR) { cx.restart.get() } else { task::Restart::Never };
            task::signal::deliver_pending(cx, tf, restart);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn exec(
    cx: &mut Ctx,
    tf: &mut TrapFrame,
    call: &Call,
    dirfd: i32,
    path: elfin_shim::UAddr,
    argv: elfin_shim::UAddr,
    envp: elfin_shim::UAddr,
    flags: i32,
) -> Option<SysResult> {
    match task::exec::execve(cx, tf, dirfd, path, argv, envp, flags) {
        Ok(()) => {
            trace(cx, call, Some(Ok(0)));
            None
        }
        Err(e) => Some(Err(e)),
    }
}

/// Logs the call when strace is on; one load when it is off.
#[inline(always)]
fn trace(cx: &Ctx, call: &Call, r: Option<SysResult>) {
    if STRACE.load(Ordering::Relaxed) {
        trace_call(cx, call, r);
    }
}

/// [`trace_call`] from the call's number and its frame (whose argument registers
/// still hold the arguments: only the return value is set later).
#[cold]
#[inline(never)]
fn trace_nr(cx: &Ctx, nr: usize, tf: &TrapFrame, r: SysResult) {
    trace_call(cx, &decode(nr, tf.syscall_args()), Some(r));
}

#[cold]
#[inline(never)]
fn trace_call(cx: &Ctx, call: &Call, r: Option<SysResult>) {
    let tid = cx.thread.tid();
    let addr_result = matches!(call, Call::Mmap { .. } | Call::Brk { .. } | Call::Mremap { .. });
    match r {
        None => kreport!("[pid {}] {} = ?", tid, call),
        Some(Ok(v)) if addr_result => kreport!("[pid {}] {} = {:#x}", tid, call, v),
        Some(Ok(v)) => kreport!("[pid {}] {} = {}", tid, call, v as i64),
        Some(Err(e)) => kreport!("[pid {}] {} = -1 {} ({})", tid, call, e.name(), e.description()),
    }
}

/// Counts a read-family call for /proc/PID/io: every call that found its file,
/// and the bytes it read.
#[inline(always)]
fn io_read(cx: &Ctx, r: SysResult) -> SysResult {
    if r != Err(Errno::EBADF) {
        cx.proc.io.read(r.unwrap_or(0));
    }
    r
}

/// Counts a write-family call for /proc/PID/io, as [`io_read`].
#[inline(always)]
fn io_write(cx: &Ctx, r: SysResult) -> SysResult {
    if r != Err(Errno::EBADF) {
        cx.proc.io.write(r.unwrap_or(0));
    }
    r
}

#[inline(always)]
fn dispatch(cx: &Ctx, call: Call, tf: &mut TrapFrame) -> SysResult {
    use Call::*;
    match call {
        // Files.
        Read { fd, buf, count } => io_read(cx, fs::read(cx, fd, buf, count, None)),
        Write { fd, buf, count } => io_write(cx, fs::write(cx, fd, buf, count, None)),
        Pread64 { fd, buf, count, offset } => io_read(cx, fs::pread(cx, fd, buf, count, offset, false)),
        Pwrite64 { fd, buf, count, offset } => io_write(cx, fs::pread(cx, fd, buf, count, offset, true)),
        Readv { fd, iov, iovcnt } => io_read(cx, xfer::rw_vec(cx, fd, iov, iovcnt, false, None, 0)),
        Writev { fd, iov, iovcnt } => io_write(cx, xfer::rw_vec(cx, fd, iov, iovcnt, true, None, 0)),
        Preadv { fd, iov, iovcnt, pos_l, pos_h } => {
            io_read(cx, xfer::rw_vec(cx, fd, iov, iovcnt, false, Some(xfer::pos_of(pos_l, pos_h)), 0))
        }
        Pwritev { fd, iov, iovcnt, pos_l, pos_h } => {
            io_write(cx, xfer::rw_vec(cx, fd, iov, iovcnt, true, Some(xfer::pos_of(pos_l, pos_h)), 0))
        }
        Preadv2 { fd, iov, iovcnt, pos_l, pos_h, flags } => {
            let pos = xfer::pos_of(pos_l, pos_h);
            io_read(cx, xfer::rw_vec(cx, fd, iov, iovcnt, false, (pos != -1).then_some(pos), flags))
        }
        Pwritev2 { fd, iov, iovcnt, pos_l, pos_h, flags } => {
            let pos = xfer::pos_of(pos_l, pos_h);
            io_write(cx, xfer::rw_vec(cx, fd, iov, iovcnt, true, (pos != -1).then_some(pos), flags))
        }
        Splice { fd_in, off_in, fd_out, off_out, len, flags } => {
            xfer::splice(cx, fd_in, off_in, fd_out, off_out, len, flags)
        }
        Tee { fd_in, fd_out, len, flags } => xfer::tee(cx, fd_in, fd_out, len, flags),
        Vmsplice { fd, iov, nr, flags } => xfer::vmsplice(cx, fd, iov, nr, flags),
        CopyFileRange { fd_in, off_in, fd_out, off_out, len, flags } => {
            io_write(cx, io_read(cx, xfer::copy_file_range(cx, fd_in, off_in, fd_out, off_out, len, flags)))
        }
        Open { path, flags, mode } => fs::openat(cx, fs::AT_FDCWD, path, flags, mode),
        Openat { dirfd, path, flags, mode } => fs::openat(cx, dirfd, path, flags, mode),
        Creat { path, mode } => fs::openat(cx, fs::AT_FDCWD, path, 0o1101, mode),
        Close { fd } => fs::close(cx, fd),
        Fstat { fd, buf } => fs::fstat(cx, fd, buf),
        Stat { path, buf } => fs::fstatat(cx, fs::AT_FDCWD, path, buf, 0),
        Lstat { path, buf } => fs::fstatat(cx, fs::AT_FDCWD, path, buf, 0x100),
        Newfstatat { dirfd, path, buf, flags } => fs::fstatat(cx, dirfd, path, buf, flags),
        Statx { dirfd, path, flags, mask, buf } => fsx::statx(cx, dirfd, path, flags, mask, buf),
        Lseek { fd, offset, whence } => fs::lseek(cx, fd, offset, whence),
        Getdents64 { fd, dirp, count } => fs::getdents64(cx, fd, dirp, count),
        Getcwd { buf, size } => fs::getcwd(cx, buf, size),
        Chdir { path } => fs::chdir(cx, path),
        Chroot { path } => fs::chroot(cx, path),
        Fchdir { fd } => fs::fchdir(cx, fd),
        Mkdir { path, mode } => fs::mkdirat(cx, fs::AT_FDCWD, path, mode),
        Mkdirat { dirfd, path, mode } => fs::mkdirat(cx, dirfd, path, mode),
        Unlink { path } => fs::unlinkat(cx, fs::AT_FDCWD, path, 0),
        Rmdir { path } => fs::unlinkat(cx, fs::AT_FDCWD, path, 0x200),
        Unlinkat { dirfd, path, flags } => fs::unlinkat(cx, dirfd, path, flags),
        Rename { old, new } => fs::renameat(cx, fs::AT_FDCWD, old, fs::AT_FDCWD, new, 0),
        Renameat { olddirfd, old, newdirfd, new } => fs::renameat(cx, olddirfd, old, newdirfd, new, 0),
        Renameat2 { olddirfd, old, newdirfd, new, flags } => fs::renameat(cx, olddirfd, old, newdirfd, new, flags),
        Link { old, new } => fs::linkat(cx, fs::AT_FDCWD, old, fs::AT_FDCWD, new, 0),
        Linkat { olddirfd, old, newdirfd, new, flags } => fs::linkat(cx, olddirfd, old, newdirfd, new, flags),
        Symlink { target, linkpath } => fs::symlinkat(cx, target, fs::AT_FDCWD, linkpath),
        Symlinkat { target, newdirfd, linkpath } => fs::symlinkat(cx, target, newdirfd, linkpath),
        Readlink { path, buf, size } => fs::readlinkat(cx, fs::AT_FDCWD, path, buf, size),
        Readlinkat { dirfd, path, buf, size } => fs::readlinkat(cx, dirfd, path, buf, size),
        Access { path, mode } => fs::faccessat(cx, fs::AT_FDCWD, path, mode, 0),
        Faccessat { dirfd, path, mode } => fs::faccessat(cx, dirfd, path, mode, 0),
        Faccessat2 { dirfd, path, mode, flags } => fs::faccessat(cx, dirfd, path, mode, flags),
        Fchmodat2 { dirfd, path, mode, flags } => fs::fchmodat2(cx, dirfd, path, mode, flags),
        Openat2 { dirfd, path, how, size } => fs::openat2(cx, dirfd, path, how, size),
        Fcntl { fd, cmd, arg } => fs::fcntl(cx, fd, cmd, arg),
        Dup { fd } => fs::dup(cx, fd),
        Dup2 { oldfd, newfd } => fs::dup3(cx, oldfd, newfd, 0, true),
        Dup3 { oldfd, newfd, flags } => fs::dup3(cx, oldfd, newfd, flags, false),
        Ioctl { fd, cmd, arg } => fs::ioctl(cx, fd, cmd, arg),
        Select { nfds, readfds, writefds, exceptfds, timeout } => {
            select::select(cx, nfds, readfds, writefds, exceptfds, timeout)
        }
        Pselect6 { nfds, readfds, writefds, exceptfds, timeout, sigmask } => {
            select::pselect6(cx, nfds, readfds, writefds, exceptfds, timeout, sigmask)
        }
        Poll { fds, nfds, timeout_ms } => {
            let t = if timeout_ms < 0 { None } else { Some(timeout_ms as u64 * 1_000_000) };
            fs::poll(cx, fds, nfds, t, None)
        }
        Ppoll { fds, nfds, timeout, sigmask, sigsetsize } => fs::ppoll(cx, fds, nfds, timeout, sigmask, sigsetsize),
        Pipe { fds } => fs::pipe2(cx, fds, 0),
        Pipe2 { fds, flags } => fs::pipe2(cx, fds, flags),
        Eventfd { initval } => fs::eventfd2(cx, initval, 0),
        Eventfd2 { initval, flags } => fs::eventfd2(cx, initval, flags),
        EpollCreate { size } => {
            if size <= 0 {
                Err(Errno::EINVAL)
            } else {
                fs::epoll_create1(cx, 0)
            }
        }
        EpollCreate1 { flags } => fs::epoll_create1(cx, flags),
        EpollCtl { epfd, op, fd, event } => fs::epoll_ctl(cx, epfd, op, fd, event),
        EpollWait { epfd, events, maxevents, timeout_ms } => {
            fs::epoll_wait(cx, epfd, events, maxevents, ms_timeout(timeout_ms), elfin_shim::UAddr(0), 8)
        }
        EpollPwait { epfd, events, maxevents, timeout_ms, sigmask, sigsetsize } => {
            fs::epoll_wait(cx, epfd, events, maxevents, ms_timeout(timeout_ms), sigmask, sigsetsize)
        }
        EpollPwait2 { epfd, events, maxevents, timeout, sigmask, sigsetsize } => {
            let t = select::read_timeout(cx, timeout, select::TimeoutKind::Timespec)?
                .map(|d| d.saturating_sub(crate::time::monotonic_ns()));
            fs::epoll_wait(cx, epfd, events, maxevents, t, sigmask, sigsetsize)
        }
        Umask { mask } => {
            let fsx = cx.fs();
            let mut f = fsx.lock();
            let old = f.umask;
            f.umask = mask & 0o777;
            Ok(u64::from(old))
        }
        Ftruncate { fd, length } => fs::ftruncate(cx, fd, length),
        Truncate { path, length } => fs::truncate(cx, path, length),
        Fsync { fd } | Fdatasync { fd } => fs::fsync(cx, fd),
        CloseRange { first, last, flags } => fs::close_range(cx, first, last, flags),
        Statfs { path, buf } => fs::statfs(cx, Some(path), -1, buf),
        Fstatfs { fd, buf } => fs::statfs(cx, None, fd, buf),
        Utimensat { dirfd, path, times, flags } => fsx::utimensat(cx, dirfd, path, times, flags),
        Utimes { path, times } => fsx::futimesat(cx, fs::AT_FDCWD, path, times),
        Futimesat { dirfd, path, times } => fsx::futimesat(cx, dirfd, path, times),
        Utime { path, times } => fsx::utime(cx, path, times),
        Mknod { path, mode, dev } => fsx::mknodat(cx, fs::AT_FDCWD, path, mode, dev),
        Mknodat { dirfd, path, mode, dev } => fsx::mknodat(cx, dirfd, path, mode, dev),
        Setxattr { path, name, value, size, flags } => {
            fsx::setxattr(cx, fsx::Target::Path(path, true), name, value, size, flags)
        }
        Lsetxattr { path, name, value, size, flags } => {
            fsx::setxattr(cx, fsx::Target::Path(path, false), name, value, size, flags)
        }
        Fsetxattr { fd, name, value, size, flags } => fsx::setxattr(cx, fsx::Target::Fd(fd), name, value, size, flags),
        Getxattr { path, name, value, size } => fsx::getxattr(cx, fsx::Target::Path(path, true), name, value, size),
        Lgetxattr { path, name, value, size } => fsx::getxattr(cx, fsx::Target::Path(path, false), name, value, size),
        Fgetxattr { fd, name, value, size } => fsx::getxattr(cx, fsx::Target::Fd(fd), name, value, size),
        Listxattr { path, list, size } => fsx::listxattr(cx, fsx::Target::Path(path, true), list, size),
        Llistxattr { path, list, size } => fsx::listxattr(cx, fsx::Target::Path(path, false), list, size),
        Flistxattr { fd, list, size } => fsx::listxattr(cx, fsx::Target::Fd(fd), list, size),
        Removexattr { path, name } => fsx::removexattr(cx, fsx::Target::Path(path, true), name),
        Lremovexattr { path, name } => fsx::removexattr(cx, fsx::Target::Path(path, false), name),
        Fremovexattr { fd, name } => fsx::removexattr(cx, fsx::Target::Fd(fd), name),
        InotifyInit {} => notify::inotify_init1(cx, 0),
        InotifyInit1 { flags } => notify::inotify_init1(cx, flags),
        InotifyAddWatch { fd, path, mask } => notify::inotify_add_watch(cx, fd, path, mask),
        InotifyRmWatch { fd, wd } => notify::inotify_rm_watch(cx, fd, wd),
        Getdents { fd, dirp, count } => fs::getdents(cx, fd, dirp, count),

        // System V IPC.
        Shmget { key, size, flags } => crate::ipc::shm::shmget(cx, key, size, flags),
        Shmat { id, addr, flags } => crate::ipc::shm::shmat(cx, id, addr, flags),
        Shmdt { addr } => crate::ipc::shm::shmdt(cx, addr),
        Shmctl { id, cmd, buf } => crate::ipc::shm::shmctl(cx, id, cmd, buf),
        Semget { key, nsems, flags } => crate::ipc::sem::semget(cx, key, nsems, flags),
        Semop { id, sops, nsops } => crate::ipc::sem::semtimedop(cx, id, sops, nsops, elfin_shim::UAddr(0)),
        Semtimedop { id, sops, nsops, timeout } => crate::ipc::sem::semtimedop(cx, id, sops, nsops, timeout),
        Semctl { id, semnum, cmd, arg } => crate::ipc::sem::semctl(cx, id, semnum, cmd, arg),
        Msgget { key, flags } => crate::ipc::msg::msgget(cx, key, flags),
        Msgsnd { id, msgp, size, flags } => crate::ipc::msg::msgsnd(cx, id, msgp, size, flags),
        Msgrcv { id, msgp, size, typ, flags } => crate::ipc::msg::msgrcv(cx, id, msgp, size, typ, flags),
        Msgctl { id, cmd, buf } => crate::ipc::msg::msgctl(cx, id, cmd, buf),

        // POSIX message queues.
        MqOpen { name, oflag, mode, attr } => mq::mq_open(cx, name, oflag, mode, attr),
        MqUnlink { name } => mq::mq_unlink(cx, name),
        MqTimedsend { fd, msg, len, prio, timeout } => mq::mq_timedsend(cx, fd, msg, len, prio, timeout),
        MqTimedreceive { fd, msg, len, prio, timeout } => mq::mq_timedreceive(cx, fd, msg, len, prio, timeout),
        MqNotify { fd, sevp } => mq::mq_notify(cx, fd, sevp),
        MqGetsetattr { fd, new, old } => mq::mq_getsetattr(cx, fd, new, old),
        IoSetup { nr_events, ctxp } => aio::io_setup(cx, nr_events, ctxp),
        IoDestroy { ctx } => aio::io_destroy(cx, ctx),
        IoSubmit { ctx, nr, iocbpp } => aio::io_submit(cx, ctx, nr, iocbpp),
        IoCancel { ctx, iocb, result } => aio::io_cancel(cx, ctx, iocb, result),
        IoGetevents { ctx, min_nr, nr, events, timeout } => aio::io_getevents(cx, ctx, min_nr, nr, events, timeout),
        IoPgetevents { ctx, min_nr, nr, events, timeout, usig } => {
            aio::io_pgetevents(cx, ctx, min_nr, nr, events, timeout, usig)
        }
        Fallocate { fd, mode, offset, len } => fs::fallocate(cx, fd, mode, offset, len),
        MemfdCreate { name, flags } => fs::memfd_create(cx, name, flags),
        Flock { fd, op } => locks::flock(cx, fd, op),
        Sync {} => Ok(0),
        Chmod { path, mode } => fs::fchmodat(cx, fs::AT_FDCWD, path, mode),
        Fchmodat { dirfd, path, mode } => fs::fchmodat(cx, dirfd, path, mode),
        Fchmod { fd, mode } => fs::fchmod(cx, fd, mode),
        Chown { path, uid, gid } => fs::fchownat(cx, fs::AT_FDCWD, path, uid, gid, 0),
        Lchown { path, uid, gid } => fs::fchownat(cx, fs::AT_FDCWD, path, uid, gid, 0x100),
        Fchownat { dirfd, path, uid, gid, flags } => fs::fchownat(cx, dirfd, path, uid, gid, flags),
        Fchown { fd, uid, gid } => fs::fchown(cx, fd, uid, gid),
        Fadvise64 { fd, len, advice, .. } => fs::fadvise(cx, fd, len, advice),
        Sendfile { out_fd, in_fd, offset, count } => {
            io_write(cx, io_read(cx, fs::sendfile(cx, out_fd, in_fd, offset, count)))
        }

        // Sockets.
        Socket { domain, ty, protocol } => net::socket(cx, domain, ty, protocol),
        Socketpair { domain, ty, protocol, sv } => net::socketpair(cx, domain, ty, protocol, sv),
        Bind { fd, addr, addrlen } => net::bind(cx, fd, addr, addrlen),
        Listen { fd, backlog } => net::listen(cx, fd, backlog),
        Accept { fd, addr, addrlen } => net::accept4(cx, fd, addr, addrlen, 0),
        Accept4 { fd, addr, addrlen, flags } => net::accept4(cx, fd, addr, addrlen, flags),
        Connect { fd, addr, addrlen } => net::connect(cx, fd, addr, addrlen),
        Getsockname { fd, addr, addrlen } => net::getname(cx, fd, addr, addrlen, false),
        Getpeername { fd, addr, addrlen } => net::getname(cx, fd, addr, addrlen, true),
        Sendto { fd, buf, len, flags, addr, addrlen } => net::sendto(cx, fd, buf, len, flags, addr, addrlen),
        Recvfrom { fd, buf, len, flags, addr, addrlen } => net::recvfrom(cx, fd, buf, len, flags, addr, addrlen),
        Sendmsg { fd, msg, flags } => net::sendmsg(cx, fd, msg, flags),
        Recvmsg { fd, msg, flags } => net::recvmsg(cx, fd, msg, flags),
        Sendmmsg { fd, msgvec, vlen, flags } => net::sendmmsg(cx, fd, msgvec, vlen, flags),
        Recvmmsg { fd, msgvec, vlen, flags, timeout } => net::recvmmsg(cx, fd, msgvec, vlen, flags, timeout),
        Shutdown { fd, how } => net::shutdown(cx, fd, how),
        Setsockopt { fd, level, name, val, len } => net::setsockopt(cx, fd, level, name, val, len),
        Getsockopt { fd, level, name, val, len } => net::getsockopt(cx, fd, level, name, val, len),

        // Memory.
        Mmap { addr, len, prot, flags, fd, offset } => mm::mmap(cx, addr, len, prot, flags, fd, offset),
        Munmap { addr, len } => mm::munmap(cx, addr, len),
        Mprotect { addr, len, prot } => mm::mprotect(cx, addr, len, prot),
        Brk { addr } => mm::brk(cx, addr),
        Madvise { addr, len, advice } => mm::madvise(cx, addr, len, advice),
        Mremap { old_addr, old_len, new_len, flags, new_addr } => {
            mm::mremap(cx, old_addr, old_len, new_len, flags, new_addr)
        }
        Msync { addr, len, flags } => mm::msync(cx, addr, len, flags),
        Mincore { addr, len, vec } => mm::mincore(cx, addr, len, vec),
        Mlock { addr, len } | Munlock { addr, len } => mm::mlock(cx, addr, len),

        // Processes.
        Wait4 { pid, status, options, rusage } => proc::wait4(cx, pid, status, options, rusage),
        Waitid { which, id, infop, options, rusage } => proc::waitid(cx, which, id, infop, options, rusage),
        Kill { pid, sig } => proc::kill(cx, pid, sig),
        PidfdOpen { pid, flags } => pidfd::pidfd_open(cx, pid, flags),
        PidfdSendSignal { fd, sig, info, flags } => pidfd::pidfd_send_signal(cx, fd, sig, info, flags),
        PidfdGetfd { fd, target, flags } => pidfd::pidfd_getfd(cx, fd, target, flags),
        Unshare { flags } => proc::unshare(cx, flags),
        Setns { fd, nstype } => pidfd::setns(cx, fd, nstype),
        Tkill { tid, sig } => proc::tgkill(cx, None, tid, sig),
        Tgkill { tgid, tid, sig } => proc::tgkill(cx, Some(tgid), tid, sig),
        Getpid {} => Ok(cx.proc.pid as u64),
        Getppid {} => Ok(cx.proc.ppid() as u64),
        Gettid {} => Ok(cx.thread.tid() as u64),
        Getpgrp {} => Ok(cx.proc.pgid.load(Ordering::Relaxed) as u64),
        Getpgid { pid } => proc::getpgid(cx, pid),
        Getsid { pid } => proc::getsid(cx, pid),
        Setpgid { pid, pgid } => proc::setpgid(cx, pid, pgid),
        Setsid {} => proc::setsid(cx),
        Prctl { option, arg2, arg3, arg4, arg5 } => misc::prctl(cx, option, [arg2, arg3, arg4, arg5]),
        Seccomp { op, flags, args } => sys::seccomp(cx, op, flags, args),
        Prlimit64 { pid, resource, new, old } => misc::prlimit(cx, pid, resource, new, old),
        Getrlimit { resource, rlim } => misc::prlimit(cx, 0, resource, elfin_shim::UAddr(0), rlim),
        Setrlimit { resource, rlim } => misc::prlimit(cx, 0, resource, rlim, elfin_shim::UAddr(0)),
        Syslog { ty, buf, len } => misc::syslog(cx, ty, buf, len),
        Getpriority { which, who } => misc::getpriority(cx, which, who),
        Setpriority { which, who, prio } => misc::setpriority(cx, which, who, prio),
        SchedGetscheduler { pid } => sys::sched_getscheduler(cx, pid),
        SchedGetparam { pid, param } => sys::sched_getparam(cx, pid, param),
        SchedSetscheduler { pid, policy, param } => sys::sched_setscheduler(cx, pid, Some(policy), param),
        SchedSetparam { pid, param } => sys::sched_setscheduler(cx, pid, None, param),
        SchedGetPriorityMax { policy } => sys::sched_priority_bound(policy, true),
        SchedGetPriorityMin { policy } => sys::sched_priority_bound(policy, false),
        SchedRrGetInterval { pid, tp } => sys::sched_rr_get_interval(cx, pid, tp),
        SchedSetattr { pid, attr, flags } => sys::sched_setattr(cx, pid, attr, flags),
        SchedGetattr { pid, attr, size, flags } => sys::sched_getattr(cx, pid, attr, size, flags),
        Getcpu { cpu, node, .. } => sys::getcpu(cx, cpu, node),
        Membarrier { cmd, flags, cpu_id } => sys::membarrier(cx, cmd, flags, cpu_id),
        Mlockall { flags } => sys::mlockall(cx, flags),
        Munlockall {} => sys::munlockall(cx),
        Mlock2 { addr, len, flags } => sys::mlock2(cx, addr, len, flags),
        Capget { hdr, data } => sys::capget(cx, hdr, data),
        Capset { hdr, data } => sys::capset(cx, hdr, data),
        Sethostname { name, len } => sys::sethostname(cx, name, len),
        Setdomainname { name, len } => sys::setdomainname(cx, name, len),
        Personality { persona } => sys::personality(cx, persona),
        IoprioSet { which, who, ioprio } => sys::ioprio_set(cx, which, who, ioprio),
        IoprioGet { which, who } => sys::ioprio_get(cx, which, who),
        Syncfs { fd } => sys::syncfs(cx, fd),
        SyncFileRange { fd, offset, nbytes, flags } => sys::sync_file_range(cx, fd, offset, nbytes, flags),
        Readahead { fd, offset, count } => sys::readahead(cx, fd, offset, count),
        ProcessVmReadv { pid, local, liovcnt, remote, riovcnt, flags } => {
            sys::process_vm(cx, pid, local, liovcnt, remote, riovcnt, flags, false)
        }
        ProcessVmWritev { pid, local, liovcnt, remote, riovcnt, flags } => {
            sys::process_vm(cx, pid, local, liovcnt, remote, riovcnt, flags, true)
        }
        Kcmp { pid1, pid2, ty, idx1, idx2 } => sys::kcmp(cx, pid1, pid2, ty, idx1, idx2),
        SchedGetaffinity { pid, size, mask } => misc::sched_getaffinity(cx, pid, size, mask),
        SchedSetaffinity { pid, size, mask } => misc::sched_setaffinity(cx, pid, size, mask),
        SchedYield {} => {
            task::sched::yield_now();
            Ok(0)
        }
        Getrusage { who, usage } => misc::getrusage(cx, who, usage),
        Times { buf } => misc::times(cx, buf),

        // Threads and signals.
        Futex { uaddr, op, val, timeout, uaddr2, val3 } => thread::futex(cx, uaddr, op, val, timeout, uaddr2, val3),
        Nanosleep { req, rem } => thread::sleep(cx, 1, 0, req, rem),
        ClockNanosleep { clock, flags, req, rem } => timers::clock_nanosleep(cx, clock, flags, req, rem),
        SetTidAddress { tidptr } => {
            cx.thread.misc.lock().clear_child_tid = tidptr.0;
            Ok(cx.thread.tid() as u64)
        }
        SetRobustList { head, len } => {
            if len != 24 {
                Err(Errno::EINVAL)
            } else {
                cx.thread.misc.lock().robust_list = (head.0, len);
                Ok(0)
            }
        }
        GetRobustList { pid, head, len } => thread::get_robust_list(cx, pid, head, len),
        RtSigprocmask { how, set, oldset, sigsetsize } => thread::sigprocmask(cx, how, set, oldset, sigsetsize),
        Sigaltstack { ss, old } => thread::sigaltstack(cx, tf, ss, old),
        RtSigpending { set, sigsetsize } => thread::sigpending(cx, set, sigsetsize),
        RtSigsuspend { set, sigsetsize } => thread::sigsuspend(cx, set, sigsetsize),
        Pause {} => thread::pause(cx),
        RestartSyscall {} => thread::restart_syscall(cx),
        Signalfd { fd, mask, sizemask } => signals::signalfd4(cx, fd, mask, sizemask, 0),
        Signalfd4 { fd, mask, sizemask, flags } => signals::signalfd4(cx, fd, mask, sizemask, flags),
        RtSigqueueinfo { tgid, sig, info } => signals::rt_sigqueueinfo(cx, tgid, sig, info),
        RtTgsigqueueinfo { tgid, tid, sig, info } => signals::rt_tgsigqueueinfo(cx, tgid, tid, sig, info),
        RtSigaction { sig, act, oldact, sigsetsize } => misc::rt_sigaction(cx, sig, act, oldact, sigsetsize),

        // Identity, time, system.
        Getuid {} => Ok(proc::get_id(&cx.proc, false, 0)),
        Geteuid {} => Ok(proc::get_id(&cx.proc, false, 1)),
        Getgid {} => Ok(proc::get_id(&cx.proc, true, 0)),
        Getegid {} => Ok(proc::get_id(&cx.proc, true, 1)),
        Getresuid { ruid, euid, suid } => proc::getres(cx, false, ruid, euid, suid),
        Getresgid { rgid, egid, sgid } => proc::getres(cx, true, rgid, egid, sgid),
        Setuid { uid } => proc::set_id(cx, false, uid),
        Setgid { gid } => proc::set_id(cx, true, gid),
        Setreuid { ruid, euid } => proc::setre(cx, false, ruid, euid),
        Setregid { rgid, egid } => proc::setre(cx, true, rgid, egid),
        Setresuid { ruid, euid, suid } => proc::setres(cx, false, ruid, euid, suid),
        Setresgid { rgid, egid, sgid } => proc::setres(cx, true, rgid, egid, sgid),
        Setfsuid { uid } => proc::setfs(cx, false, uid),
        Setfsgid { gid } => proc::setfs(cx, true, gid),
        Getgroups { size, list } => proc::getgroups(cx, size, list),
        Setgroups { size, list } => proc::setgroups(cx, size, list),
        Alarm { seconds } => misc::alarm(cx, seconds),
        Getitimer { which, value } => misc::getitimer(cx, which, value),
        Setitimer { which, value, old } => misc::setitimer(cx, which, value, old),
        RtSigtimedwait { set, info, timeout, sigsetsize } => proc::sigtimedwait(cx, set, info, timeout, sigsetsize),
        ArchPrctl { code, addr } => misc::arch_prctl(cx, code, addr),
        Rseq { rseq, len, flags, sig } => crate::task::rseq::rseq(cx, rseq, len, flags, sig),
        Uname { buf } => misc::uname(cx, buf),
        ClockGettime { clock, tp } => misc::clock_gettime(cx, clock, tp),
        ClockGetres { clock, res } => misc::clock_getres(cx, clock, res),
        Gettimeofday { tv, tz } => misc::gettimeofday(cx, tv, tz),
        Settimeofday { tv, tz } => timers::settimeofday(cx, tv, tz),
        ClockSettime { clock, tp } => timers::clock_settime(cx, clock, tp),
        Adjtimex { buf } => timers::clock_adjtime(cx, elfin_shim::uapi::clock::CLOCK_REALTIME, buf),
        ClockAdjtime { clock, buf } => timers::clock_adjtime(cx, clock, buf),
        TimerCreate { clock, sevp, timerid } => timers::timer_create(cx, clock, sevp, timerid),
        TimerSettime { timerid, flags, new, old } => timers::timer_settime(cx, timerid, flags, new, old),
        TimerGettime { timerid, value } => timers::timer_gettime(cx, timerid, value),
        TimerGetoverrun { timerid } => timers::timer_getoverrun(cx, timerid),
        TimerDelete { timerid } => timers::timer_delete(cx, timerid),
        TimerfdCreate { clock, flags } => timers::timerfd_create(cx, clock, flags),
        TimerfdSettime { fd, flags, new, old } => timers::timerfd_settime(cx, fd, flags, new, old),
        TimerfdGettime { fd, value } => timers::timerfd_gettime(cx, fd, value),
        Time { tloc } => misc::time(cx, tloc),
        Getrandom { buf, len, flags } => misc::getrandom(cx, buf, len, flags),
        Sysinfo { info } => misc::sysinfo(cx, info),

        // Served by `entry_slow` (they read or replace the whole frame; `entry`
        // routes them there before dispatch).
        Exit { .. }
        | ExitGroup { .. }
        | RtSigreturn {}
        | Execve { .. }
        | Execveat { .. }
        | Clone { .. }
        | Clone3 { .. }
        | Fork {}
        | Vfork {} => Err(Errno::EINVAL),
        // Every number the shim does not decode: ENOSYS, reported once by name.
        // There is no other catch-all arm: a call the shim decodes needs a handler
        // here (see elfin_shim::support).
        Unknown { nr, name } => unsupported(name, nr),
    }
}

fn ms_timeout(ms: i32) -> Option<u64> {
    if ms < 0 {
        None
    } else {
        Some(ms as u64 * 1_000_000)
    }
}
