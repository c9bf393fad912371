//! Guest tests of the Linux system-call surface (static-pie-apps/src/surface_*.c
//! and pty_probe.c): timers and clocks, signals, file calls, locks, IPC, pidfds,
//! identity and scheduling calls, pseudo-terminals, and the defects of issue 16,
//! each with its success and error paths.
//!
//! x86_64: one test per probe section and C library, against the same binary run
//! natively. arm64: the same sections against the x86_64 build of the probe run
//! natively (the probes print the same on both architectures; qemu-user is not
//! faithful for many of these calls: timers, pidfds, SysV IPC, locks between
//! processes). Each probe ends with `== done`.

use std::path::Path;

use elfin_tests::*;

/// Fails with the native run when it is not a good reference.
fn check_native(native: &Output) {
    assert!(
        native.status == 0 && native.stdout_str().ends_with("== done\n") && native.stderr.is_empty(),
        "the native reference run is broken (the probe must exit 0 after `== done`, with empty stderr):\n{}",
        native.describe()
    );
}

/// Runs `bin section` (x86_64 build, natively) as the reference and `guest_bin
/// section` in an elfin guest of `arch`, and compares status, stdout and stderr.
fn compare(reference_bin: &Path, guest_bin: &Path, arch: &str, section: &str) {
    let argv = [section];
    let a = args(&argv);
    let name = guest_bin.file_name().and_then(|n| n.to_str()).unwrap_or("probe");
    let native = run_native(reference_bin, Some(&format!("/app/{name}")), &a, &[], None);
    check_native(&native);
    let mut opts = ElfinOpts::default().arch(arch);
    if section == "bigfile" {
        // Linux's tmpfs takes half of RAM: a 96 MiB file needs more than the
        // default 64 MiB guest.
        opts.extra.extend(["-m".into(), "256M".into()]);
    }
    let guest = run_elfin(guest_bin, &a, &opts);
    assert_same_explained(&native, &guest);
}

fn section(arch: &str, libc: &str, probe: &str, section: &str) {
    compare(&app("x86_64", libc, probe), &app(arch, libc, probe), arch, section);
}

/// One test per architecture, C library, probe and section:
/// `x86_64::glibc::surface_time::posix`, ...
macro_rules! surface_tests {
    ($($probe:ident: [$($sec:ident),* $(,)?]),* $(,)?) => {
        mod x86_64 {
            mod glibc { $( mod $probe { $( #[test] fn $sec() { crate::section("x86_64", "glibc", stringify!($probe), stringify!($sec)) } )* } )* }
            mod musl { $( mod $probe { $( #[test] fn $sec() { crate::section("x86_64", "musl", stringify!($probe), stringify!($sec)) } )* } )* }
        }
        mod aarch64 {
            mod glibc { $( mod $probe { $( #[test] fn $sec() { crate::section("aarch64", "glibc", stringify!($probe), stringify!($sec)) } )* } )* }
            mod musl { $( mod $probe { $( #[test] fn $sec() { crate::section("aarch64", "musl", stringify!($probe), stringify!($sec)) } )* } )* }
        }
    };
}

surface_tests! {
    surface_time: [itimer, posix, overrun, timerfd, cpuclock, settime, libc],
    surface_signal: [signalfd, queue, masks, select, stopped],
    surface_xfer: [vec, pio, splice, tee, vmsplice, copy, sendfile, fsize, aio, aio_threads],
    surface_fs: [fifo, mknod, xattr, times, statx, tmpfile, inotify, link, openat2, chmod2, chroot, search, pseudo, listing],
    surface_lock: [flock, posix, deadlock, ofd, errors],
    surface_sys: [caps, ids, sched, cpu, membarrier, mlock, names, personality, ioprio, sync, vm, random, prctl, sysctl, regs, procfs, klog, switches, maxrss, pidstat, pidio],
    surface_ipc: [shm, sem, msg, mq, perms],
    surface_pidfd: [open, signal, getfd, clone, wait],
    surface_defects: [read, epoll, flags, clone, nofile, rlimit, cpulimit, robust, rseq, sigreturn, rename, bigfile, sigio, seals],
    pty_probe: [basic, io, winsize, session, leader, hangup, master, forkpty, jobs],
    seccomp_probe: [api, errno, trap, kill, stack, inherit, strict],
}

/// A thousand pseudo-terminal pairs made, used and closed, and thirty forkpty
/// children: the same output as natively (each pair's /dev/pts entry goes with
/// it), and every frame free again after exit.
#[test]
fn pty_churn_no_leak() {
    churn_no_leak("pty_probe", "churn", &[], "pty churn");
}

/// Runs section `section` of the x86_64 glibc build of `probe` natively (with
/// `native_env`) and in a guest: the same output, and as many free frames after
/// the program's exit as before its load.
fn churn_no_leak(probe: &str, section: &str, native_env: &[(&str, &str)], what: &str) {
    let bin = app("x86_64", "glibc", probe);
    let native = run_native(&bin, None, &args(&[section]), native_env, None);
    check_native(&native);
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&[section]), &opts);
    assert_same_explained(&native, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(
        after,
        before,
        "frames leaked by {what}: {} ({after} free after exit, {before} before load)",
        before as i64 - after as i64
    );
}

/// Five thousand AIO contexts made, used and ended, and twenty children that
/// exit with theirs open: the same output as natively, and every frame free
/// again after exit (each ring is an ordinary mapping of its process). The
/// native reference makes 200: Linux's io_destroy waits for an RCU grace period.
#[test]
fn aio_churn_no_leak() {
    churn_no_leak("surface_xfer", "aio_churn", &[("AIO_CHURN", "200")], "AIO churn");
}

/// The claim behind the x86_64 reference on arm64: where qemu-user runs a section
/// correctly, the arm64 build prints exactly what the x86_64 build prints.
#[test]
fn surface_probes_print_the_same_on_both_arches() {
    for libc in ["glibc", "musl"] {
        let (probe, section) = ("surface_time", "timerfd");
        let x86 = run_native(&app("x86_64", libc, probe), None, &args(&[section]), &[], None);
        let arm = run_native_on("aarch64", &app("aarch64", libc, probe), None, &args(&[section]), &[], None);
        Comparison::labeled("x86_64", "aarch64 (qemu-user)").outputs(&x86, &arm).finish(Some(&x86), &arm);
    }
}

/// sethostname/setdomainname change what uname and /proc report. Natively the
/// probe only sets the names to what they are (it must not rename the host), so
/// this part is checked in the guest alone.
#[test]
fn names_can_be_set_in_the_guest() {
    for arch in ["x86_64", "aarch64"] {
        let g = run_elfin(&app(arch, "glibc", "surface_sys"), &args(&["set-names"]), &ElfinOpts::default().arch(arch));
        assert_eq!(
            g.stdout_str(),
            "sethostname: OK\nsetdomainname: OK\nuname: probe-host probe.example\n\
             /proc/sys/kernel/hostname: probe-host\nsethostname with a NUL inside: OK\nuname: ab\n",
            "{}",
            g.describe()
        );
    }
}

/// The load average follows the runnable threads: a thread busy past the first
/// 5-second sample raises the 1-minute average in /proc/loadavg and sysinfo
/// alike. Natively it is the host's load, so this runs in the guest alone.
#[test]
fn load_average_rises_with_a_busy_thread() {
    for arch in ["x86_64", "aarch64"] {
        let g =
            run_elfin(&app(arch, "glibc", "surface_sys"), &args(&["loadavg-busy"]), &ElfinOpts::default().arch(arch));
        assert_eq!(
            g.stdout_str(),
            "busy for 6 s: 1-minute load above 0: yes, sysinfo agrees: yes\n",
            "{}",
            g.describe()
        );
    }
}

/// The writable /proc/sys files change what the kernel does: pipe-max-size
/// bounds an unprivileged F_SETPIPE_SZ, ip_local_port_range the ports bind(0)
/// picks, kernel/hostname what uname says. Natively these files are the
/// machine's, so this runs in the guest alone, against Linux's behaviour.
#[test]
fn sysctl_files_can_be_written_in_the_guest() {
    let nobody = "unprivileged open of kernel/hostname for writing: EACCES\nunprivileged child: exited 0\n";
    let want = format!(
        "unprivileged F_SETPIPE_SZ 128 KiB: OK\n{nobody}pipe-max-size 8192: OK\npipe-max-size: 8192\n\
         unprivileged F_SETPIPE_SZ 128 KiB: EPERM\n{nobody}pipe-max-size 0: EINVAL\npipe-max-size 1048576: OK\n\
         ip_local_port_range 40000 40009: OK\nip_local_port_range: 40000\t40009\n\
         binds to port 0 in the range: 10, then: EADDRINUSE\nip_local_port_range 2000 1000: EINVAL\n\
         ip_local_port_range 80 90: EINVAL\nip_local_port_range x: EINVAL\nkernel/hostname: OK\nuname: via-proc\n"
    );
    for arch in ["x86_64", "aarch64"] {
        let g = run_elfin(&app(arch, "musl", "surface_sys"), &args(&["set-sysctl"]), &ElfinOpts::default().arch(arch));
        assert_eq!(g.stdout_str(), want, "{}", g.describe());
    }
}

/// The vDSO (static-pie-apps/src/vdso_probe.c): its ELF image, symbol versions,
/// agreement with the system calls, [vdso]/[vvar] in /proc/self/maps, fork and
/// ASLR. x86_64: the same binary run natively. arm64: the x86_64 run natively,
/// except the lines that differ by architecture (the hash tables and symbols
/// Linux's arm64 vDSO has, and `time`/`getcpu`, which it has not).
#[test]
fn vdso_probe() {
    for libc in ["glibc", "musl"] {
        let native = run_native(&app("x86_64", libc, "vdso_probe"), None, &[], &[], None);
        check_native(&native);
        let guest = run_elfin(&app("x86_64", libc, "vdso_probe"), &[], &ElfinOpts::default().arch("x86_64"));
        assert_same_explained(&native, &guest);

        let arm = run_elfin(&app("aarch64", libc, "vdso_probe"), &[], &ElfinOpts::default().arch("aarch64"));
        let arch_line = |l: &&str| ["sym ", "hash:", "time:", "getcpu:"].iter().any(|p| l.starts_with(p));
        let common = |s: &str| s.lines().filter(|l| !arch_line(l)).collect::<Vec<_>>().join("\n");
        let out = arm.stdout_str();
        assert_eq!(common(&out), common(&native.stdout_str()), "{}", arm.describe());
        let syms: Vec<&str> = out.lines().filter(|l| l.starts_with("sym ") || l.starts_with("hash:")).collect();
        assert_eq!(
            syms,
            [
                "hash: DT_HASH yes, DT_GNU_HASH no",
                "sym __kernel_clock_getres@LINUX_2.6.39 global func",
                "sym __kernel_clock_gettime@LINUX_2.6.39 global func",
                "sym __kernel_gettimeofday@LINUX_2.6.39 global func",
                "sym __kernel_rt_sigreturn@LINUX_2.6.39 global func",
            ],
            "{}",
            arm.describe()
        );
        assert_eq!(arm.status, 0, "{}", arm.describe());
    }
}

/// clock_settime and settimeofday are visible to the vDSO at once (the kernel
/// rewrites the [vvar] page); the monotonic clock does not move. Guest only: it
/// needs CAP_SYS_TIME and would set the host's clock.
#[test]
fn vdso_follows_settime() {
    for arch in ["x86_64", "aarch64"] {
        let g = run_elfin(&app(arch, "glibc", "vdso_probe"), &args(&["settime"]), &ElfinOpts::default().arch(arch));
        assert_eq!(
            g.stdout_str(),
            "clock_settime(+1000 s): 0; the vDSO's realtime moved by 1000 s\n\
             settimeofday(back): 0; the vDSO's gettimeofday is back\n\
             CLOCK_MONOTONIC: unmoved by either\n",
            "{}",
            g.describe()
        );
    }
}
