//! Guest tests of processes: fork, vfork, clone/clone3, execve/execveat, the wait
//! family, SIGCHLD, process groups and sessions, pipes between processes,
//! posix_spawn/system/popen (static-pie-apps/src/proc_*.c, glibc and musl).
//!
//! Every probe section runs in a guest of its own (`proc_fork cow`, ...), so that
//! a failure names the piece of process support that is missing or wrong; the
//! reference is the same binary run natively. Each probe ends with `== done`.
//! Then a leak check: thread, fork and exec churn with the kernel's free-frame
//! count equal before and after (`--log-level info`).

use std::path::Path;

use elfin_tests::*;

const ARCH: &str = "x86_64";

/// Fails with the native run when it is not a good reference: a probe must exit
/// 0 and reach its `== done` line on the host.
fn check_native(native: &Output) {
    assert!(
        native.status == 0 && native.stdout_str().ends_with("== done\n") && native.stderr.is_empty(),
        "the native reference run is broken (the probe must exit 0 after `== done`, with empty stderr):\n{}",
        native.describe()
    );
}

/// Runs `bin section` natively and in an elfin guest (with `opts`), and compares
/// status, stdout and stderr.
fn compare_section(bin: &Path, section: &str, opts: &ElfinOpts) {
    let argv = [section];
    let a = args(&argv);
    let native = run_native(bin, None, &a, &[], None);
    check_native(&native);
    let guest = run_elfin(bin, &a, opts);
    assert_same_explained(&native, &guest);
}

/// One section of one probe. proc_spawn runs /bin/sh (system, popen): the
/// guest gets busybox as /bin (natively /bin/sh is the host's shell).
fn section(libc: &str, probe: &str, section: &str) {
    let bin = app(ARCH, libc, probe);
    let mut opts = ElfinOpts::default();
    if probe == "proc_spawn" {
        opts = opts.volume(&busybox_bin(ARCH), "/bin");
    }
    compare_section(&bin, section, &opts);
}

/// One test per section and C library: `glibc::proc_fork::cow`, ...
macro_rules! probe_tests {
    ($($probe:ident: [$($sec:ident),* $(,)?]),* $(,)?) => {
        mod glibc { $( mod $probe { $( #[test] fn $sec() { crate::section("glibc", stringify!($probe), stringify!($sec)) } )* } )* }
        mod musl { $( mod $probe { $( #[test] fn $sec() { crate::section("musl", stringify!($probe), stringify!($sec)) } )* } )* }
    };
}

probe_tests! {
    proc_fork: [basics, statuses, cow, threads, inherit, clone, clone3, vfork, unshare],
    proc_wait: [errors, wnohang, waitid, any, stop, zombies, orphans, sigchld, noclwait],
    proc_pgrp: [session, setpgid, kill, killall, tty, orphaned],
    proc_pipe: [transfer, eof, offsets, atomic, epipe, pipeline],
    proc_exec: [basic, script, errors, execveat, inherit, thread, vfork, inplace],
    proc_spawn: [spawn, actions, attrs, errors, system, popen],
}

/// Thread, fork (with copy-on-write faults, pipes, vfork, threads in children)
/// and fork+exec churn: same output as natively, and every frame free again
/// after exit. The counts are smaller than the probe's defaults to stay fast
/// under TCG.
fn churn_no_leak(libc: &str) {
    let bin = app(ARCH, libc, "proc_churn");
    let counts = ["2000", "500", "50"];
    let native = run_native(&bin, None, &args(&counts), &[], None);
    assert!(native.status == 0 && native.stdout_str().ends_with("\nok\n"), "native run:\n{}", native.describe());
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&counts), &opts);
    assert_same_explained(&native, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(
        after,
        before,
        "frames leaked by thread/fork/exec churn: {} ({after} free after exit, {before} before load)",
        before as i64 - after as i64
    );
}

/// Children that sleep and exit while the parent sleeps: the CPU idles with an
/// exiting thread on it while timer interrupts arrive (a kernel fault once).
/// Several runs, as the timing varies.
fn sleepers(libc: &str) {
    let bin = app(ARCH, libc, "proc_sleepers");
    for _ in 0..3 {
        differential(&bin, &["3", "4"], &[], None);
    }
}

/// The probes that create the most kinds of processes (every fork and exec path,
/// failing execs, scripts, orphans, zombies) leave no frame behind either.
fn probes_no_leak(libc: &str) {
    for probe in ["proc_fork", "proc_exec", "proc_wait"] {
        let bin = app(ARCH, libc, probe);
        let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
        let guest = run_elfin(&bin, &[], &opts);
        assert!(
            guest.status == 0 && guest.stdout_str().ends_with("== done\n"),
            "{probe} did not complete in the guest:\n{}",
            guest.describe()
        );
        let (after, before) = frames_report(&guest);
        assert_eq!(after, before, "frames leaked after {probe}: {}", before as i64 - after as i64);
    }
}

mod timing {
    #[test]
    fn sleepers_glibc() {
        super::sleepers("glibc")
    }
    #[test]
    fn sleepers_musl() {
        super::sleepers("musl")
    }
}

mod leaks {
    #[test]
    fn churn_no_leak_glibc() {
        super::churn_no_leak("glibc")
    }
    #[test]
    fn churn_no_leak_musl() {
        super::churn_no_leak("musl")
    }
    #[test]
    fn probes_no_leak_glibc() {
        super::probes_no_leak("glibc")
    }
    #[test]
    fn probes_no_leak_musl() {
        super::probes_no_leak("musl")
    }
}

/// /proc/sys/kernel/pid_max, which the host's must not be changed to compare
/// with: Linux's range checks (RESERVED_PIDS + 1 to 4194304, EINVAL outside or
/// for text that is no number), then ids wrapping around below a lowered
/// pid_max, from 300 on, through 1000 forks without a failure.
fn pid_max(arch: &str, libc: &str) {
    let bin = app(arch, libc, "proc_churn");
    let guest = run_elfin(&bin, &args(&["pidmax", "1000"]), &ElfinOpts::default().arch(arch));
    let expected = "pid_max 300: EINVAL\npid_max 4194305: EINVAL\npid_max abc: EINVAL\n\
                    pid_max 400: OK, reads back 400\n\
                    forks: 1000, failed 0, wrapped around yes, ids at or above pid_max 0, below 300 after a wrap 0\n\
                    pid_max back: OK\n";
    Comparison::new().status(0, guest.status).text("stdout", expected, &guest.stdout_str()).finish(None, &guest);
}

mod pids {
    #[test]
    fn pid_max_glibc() {
        super::pid_max("x86_64", "glibc")
    }
    #[test]
    fn pid_max_musl_aarch64() {
        super::pid_max("aarch64", "musl")
    }
}
