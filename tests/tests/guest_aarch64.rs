//! aarch64 guests (`elfin run --arch aarch64`), compared with the same binary
//! run under qemu-aarch64-static on the host. Needs `static-pie-apps/build.sh
//! aarch64` (the README's test command builds it).

use std::path::Path;

use elfin_tests::*;

const ARCH: &str = "aarch64";

fn same(bin: &Path, argv: &[&str], stdin: Option<&[u8]>) -> Output {
    let a = args(argv);
    let native = run_native_on(ARCH, bin, None, &a, &[], stdin);
    let mut opts = ElfinOpts::default().arch(ARCH);
    opts.stdin = stdin.map(<[u8]>::to_vec);
    let guest = run_elfin(bin, &a, &opts);
    assert_same(&native, &guest);
    guest
}

#[test]
fn aarch64_apps_run_under_qemu_user() {
    for libc in ["glibc", "musl"] {
        let out = run_native_on(ARCH, &app(ARCH, libc, "auxv_probe"), None, &[], &[], None);
        let s = out.stdout_str();
        assert!(out.status == 0 && !s.contains(": NO") && s.contains("AT_PLATFORM: aarch64\n"), "{}", out.describe());
        let out = run_native_on(ARCH, &app(ARCH, libc, "exitcode"), None, &args(&["42"]), &[], None);
        assert_eq!(out.status, 42);
    }
    let out = run_native_on(ARCH, &app(ARCH, "debian", "busybox"), None, &args(&["seq", "3"]), &[], None);
    assert_eq!(out.stdout_str(), "1\n2\n3\n");
    let out = run_native_on(ARCH, &app(ARCH, "rust", "rustprobe"), None, &args(&["threads"]), &[], None);
    assert!(out.stdout_str().contains("threads: 4 joined"), "{}", out.describe());
}

macro_rules! per_libc {
    ($($name:ident),* $(,)?) => {
        mod glibc { $( #[test] fn $name() { super::$name("glibc") } )* }
        mod musl { $( #[test] fn $name() { super::$name("musl") } )* }
    };
}

fn hello(libc: &str) {
    same(&app(ARCH, libc, "hello"), &[], None);
}

/// The page faults mm_around's `faults` mode reports for reading its 40 pages.
fn faults_for_40_pages(guest: &Output) -> u64 {
    let s = guest.stdout_str();
    let n = s.strip_prefix("faults ").and_then(|r| r.strip_suffix(" for 40 pages\n"));
    n.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no fault count:\n{}", guest.describe()))
}

/// Fault-around on file mappings (guest_mm's `fault_around`), on arm64.
fn fault_around(libc: &str) {
    let bin = app(ARCH, libc, "mm_around");
    let guest = same(&bin, &["/tmp"], None);
    assert!(guest.stdout_str().ends_with("done\n"), "{}", guest.describe());
    let guest = run_elfin(&bin, &args(&["/tmp", "faults"]), &ElfinOpts::default().arch(ARCH));
    assert!(faults_for_40_pages(&guest) <= 4, "{}", guest.describe());
}

/// Mappings of files that then shrink (guest_mm's `file_truncate`), on arm64.
fn file_truncate(libc: &str) {
    let guest = same(&app(ARCH, libc, "mm_trunc"), &["/tmp"], None);
    assert!(guest.stdout_str().ends_with("done\n"), "{}", guest.describe());
}

fn exitcode(libc: &str) {
    for c in ["0", "1", "42", "255"] {
        same(&app(ARCH, libc, "exitcode"), &[c], None);
    }
}

fn cat_stdin(libc: &str) {
    let data: Vec<u8> = (0..=255u8).chain(pseudo_random_bytes(100 * 1024, 9)).collect();
    same(&app(ARCH, libc, "cat_stdin"), &[], Some(&data));
}

fn auxv_probe(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let native = run_native_on(ARCH, &bin, None, &args(&["a", "b c"]), &[], None);
    let guest = run_elfin(&bin, &args(&["a", "b c"]), &ElfinOpts::default().arch(ARCH));
    let skip = ["addr:", "host:"];
    Comparison::new()
        .status(native.status, guest.status)
        .text(
            "stdout without addr:/host: lines",
            &drop_lines(&native.stdout_str(), &skip),
            &drop_lines(&guest.stdout_str(), &skip),
        )
        .finish(Some(&native), &guest);
}

fn nullderef(libc: &str) {
    let bin = app(ARCH, libc, "nullderef");
    let guest = run_elfin(&bin, &[], &ElfinOpts::default().arch(ARCH));
    assert!(guest.status == 139 && guest.messages().contains("killed by SIGSEGV"), "{}", guest.describe());
}

/// Threads, futexes, signal handlers and frames, sleeping: as under qemu-user.
fn threads(libc: &str) {
    let g = same(&app(ARCH, libc, "threads"), &[], None);
    assert_eq!(g.status, 143, "{}", g.describe());
}

#[test]
fn busybox_and_lua() {
    let bb = app(ARCH, "debian", "busybox");
    same(&bb, &["echo", "hello", "arm64"], None);
    same(&bb, &["sort", "-r"], Some(b"a\nc\nb\n"));
    same(&bb, &["md5sum"], Some(&pseudo_random_bytes(10_000, 4)));
    let lua = app(ARCH, "debian", "lua5.4");
    same(&lua, &["-e", "print(string.format('%d %.3f', 7 // 2, math.pi))"], None);
}

#[test]
fn rust_std_program() {
    same(&app(ARCH, "rust", "rustprobe"), &["x"], None);
    same(&app(ARCH, "rust", "rustprobe"), &["threads"], None);
}

// ------------------------------------------------------------- processes --
//
// The proc_* probes (fork, exec, wait, groups, pipes, spawn) on arm64. Their
// reference is the x86_64 build of the same probe and C library run natively:
// the probes print the same text on both architectures, and qemu-aarch64-static
// cannot be the reference here (it cannot execve an arm64 program without
// binfmt_misc, has no clone3 or PR_SET_CHILD_SUBREAPER, ignores SA_NOCLDWAIT
// and SA_NOCLDSTOP, adds a thread of its own, runs vfork as fork and reports
// fatal signals on stderr). `proc_probes_print_the_same_on_both_arches` checks
// that claim for the sections qemu-user does run correctly.

/// The whole probe (every section) in an arm64 guest against the native x86_64 run.
fn proc_probe(libc: &str, probe: &str) {
    let reference = run_native(&app("x86_64", libc, probe), Some(&format!("/app/{probe}")), &[], &[], None);
    assert!(
        reference.status == 0 && reference.stdout_str().ends_with("== done\n"),
        "the native x86_64 reference run is broken:\n{}",
        reference.describe()
    );
    let mut opts = ElfinOpts::default().arch(ARCH);
    if probe == "proc_spawn" {
        opts = opts.volume(&busybox_bin(ARCH), "/bin"); // /bin/sh for system() and popen()
    }
    let mut guest = run_elfin(&app(ARCH, libc, probe), &[], &opts);
    if libc == "musl" && probe == "proc_fork" {
        // musl has no vfork of its own on arm64: its C fallback is clone(SIGCHLD),
        // a fork, so the parent runs before the child's write (Linux does the same).
        let fixed = guest.stdout_str().replace(
            "vfork: child created, child's write seen on return: no\n",
            "vfork: child created, child's write seen on return: yes\n",
        );
        guest.stdout = fixed.into_bytes();
    }
    assert_same_explained(&reference, &guest);
}

fn proc_fork(libc: &str) {
    proc_probe(libc, "proc_fork");
}

fn proc_wait(libc: &str) {
    proc_probe(libc, "proc_wait");
}

fn proc_pgrp(libc: &str) {
    proc_probe(libc, "proc_pgrp");
}

fn proc_pipe(libc: &str) {
    proc_probe(libc, "proc_pipe");
}

fn proc_exec(libc: &str) {
    proc_probe(libc, "proc_exec");
}

fn proc_spawn(libc: &str) {
    proc_probe(libc, "proc_spawn");
}

/// Thread, fork and exec churn on arm64: same output, no frame leaked.
fn proc_churn_no_leak(libc: &str) {
    let counts = ["1000", "200", "20"];
    let reference = run_native(&app("x86_64", libc, "proc_churn"), None, &args(&counts), &[], None);
    assert!(reference.stdout_str().ends_with("\nok\n"), "native x86_64 run:\n{}", reference.describe());
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() }.arch(ARCH);
    let guest = run_elfin(&app(ARCH, libc, "proc_churn"), &args(&counts), &opts);
    assert_same_explained(&reference, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(
        after,
        before,
        "frames leaked: {} ({after} free after exit, {before} before load)",
        before as i64 - after as i64
    );
}

/// The claim behind the x86_64 reference: where qemu-user runs a probe section
/// correctly, the arm64 build prints exactly what the x86_64 build prints.
#[test]
fn proc_probes_print_the_same_on_both_arches() {
    for libc in ["glibc", "musl"] {
        for (probe, section) in [
            ("proc_pipe", ""),
            ("proc_fork", "basics"),
            ("proc_fork", "cow"),
            ("proc_wait", "waitid"),
            ("proc_pgrp", "kill"),
        ] {
            let a: Vec<&str> = if section.is_empty() { vec![] } else { vec![section] };
            let x86 = run_native(&app("x86_64", libc, probe), None, &args(&a), &[], None);
            let arm = run_native_on(ARCH, &app(ARCH, libc, probe), None, &args(&a), &[], None);
            Comparison::labeled("x86_64", "aarch64 (qemu-user)").outputs(&x86, &arm).finish(Some(&x86), &arm);
        }
    }
}

/// A busybox shell script with pipelines, substitutions, subshells and jobs on
/// arm64, against the x86_64 busybox run natively (same source, same config).
#[test]
fn busybox_sh_processes() {
    let script = "seq 1 2000 | grep 7 | sort -r | head -n 3; x=$(echo abc | tr a-c A-C); echo \"$x\"; \
                  (exit 3); echo \"sub $?\"; sh -c 'exit 4' & wait $!; echo \"bg $?\"; \
                  seq 1 20000 | sed s/1/x/ | tr 0-9 a-j | sort | uniq | wc -l; \
                  awk 'BEGIN { system(\"echo from awk\") }'";
    let x86_dir = busybox_bin("x86_64");
    let path = x86_dir.to_string_lossy().into_owned();
    let reference =
        run_native(&app("x86_64", "debian", "busybox"), None, &args(&["sh", "-c", script]), &[("PATH", &path)], None);
    assert!(
        reference.status == 0 && reference.stdout_str().ends_with("from awk\n"),
        "native x86_64 reference:\n{}",
        reference.describe()
    );
    let opts = ElfinOpts::default().arch(ARCH).volume(&busybox_bin(ARCH), "/bin").env("PATH", "/bin");
    let guest = run_elfin(&app(ARCH, "debian", "busybox"), &args(&["sh", "-c", script]), &opts);
    assert_same_explained(&reference, &guest);
}

// ------------------------------------------------------------------- SMP --
//
// Several CPUs (started with PSCI CPU_ON, woken with GIC SGIs) with either
// interrupt controller: the CLI asks QEMU virt for a GICv3 under TCG; a second
// -M through --qemu-arg makes it a GICv2.

/// QEMU options that give the guest a GICv2.
const GICV2: &[&str] = &["--qemu-arg=-M", "--qemu-arg=virt,gic-version=2"];

/// Runs `bin argv` on `smp` CPUs (plus the CLI options `extra`) with kernel
/// messages at debug level, checking that it prints what it prints under
/// qemu-user and that, when `all_online`, every other CPU came online.
fn on_cpus(bin: &Path, argv: &[&str], smp: u32, extra: &[&str], all_online: bool) -> Output {
    let a = args(argv);
    let native = run_native_on(ARCH, bin, None, &a, &[], None);
    let smp = smp.to_string();
    let mut opts = ElfinOpts::default().arch(ARCH);
    opts.extra = ["--smp", smp.as_str(), "--log-level", "debug"].iter().chain(extra).map(|s| (*s).into()).collect();
    let guest = run_elfin(bin, &a, &opts);
    assert_same(&native, &guest);
    if all_online {
        let log = guest.kernel_str();
        let n: u32 = smp.parse().unwrap_or(1);
        for c in 1..n {
            assert!(log.contains(&format!("CPU {c} online")), "CPU {c} did not come online:\n{}", guest.describe());
        }
    }
    guest
}

/// Four CPU-bound workers (each long enough for every CPU to come up) and a
/// main thread that waits for them by spinning.
const SPIN_ARGS: &[&str] = &["4", "30000000"];

#[test]
fn smp4_gicv3_every_cpu_runs_threads() {
    on_cpus(&app(ARCH, "glibc", "spin_threads"), SPIN_ARGS, 4, &[], true);
    let g = on_cpus(&app(ARCH, "glibc", "threads"), &[], 4, &[], false);
    assert_eq!(g.status, 143, "{}", g.describe());
}

#[test]
fn smp4_gicv2_every_cpu_runs_threads() {
    on_cpus(&app(ARCH, "glibc", "spin_threads"), SPIN_ARGS, 4, GICV2, true);
    let g = on_cpus(&app(ARCH, "musl", "threads"), &[], 4, GICV2, false);
    assert_eq!(g.status, 143, "{}", g.describe());
}

/// On one CPU the spinning main thread gives way only when the tick preempts
/// it: with a GICv3 and with a GICv2 (which had no driver, hence no tick).
#[test]
fn one_cpu_preempts_user_code_with_either_gic() {
    for gic in [&[][..], GICV2] {
        on_cpus(&app(ARCH, "musl", "spin_threads"), &["2", "2000000"], 1, gic, false);
    }
}

/// Stdin that arrives after the program blocked on it wakes the idle CPU (the
/// device interrupt, and QEMU looking at the host side of the port), with
/// either GIC: data first, then end of file.
#[test]
fn stdin_arriving_late_wakes_the_program() {
    for gic in [&[][..], GICV2] {
        let mut opts = ElfinOpts::default().arch(ARCH);
        opts.extra = gic.iter().map(|s| (*s).into()).collect();
        let mut cmd = elfin_command(&app(ARCH, "glibc", "cat_stdin"), &[], &opts);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("start elfin");
        let mut stdin = child.stdin.take().expect("stdin pipe");
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let _ = stdin.write_all(b"late\n");
            std::thread::sleep(std::time::Duration::from_millis(500));
            // Dropping stdin closes it: end of file.
        });
        let out = child.wait_with_output().expect("wait for elfin");
        let _ = feeder.join();
        assert!(
            out.status.success() && out.stdout == b"late\n",
            "gic options {gic:?}: status {:?}, stdout {:?}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

per_libc!(
    hello,
    exitcode,
    cat_stdin,
    auxv_probe,
    nullderef,
    threads,
    proc_fork,
    proc_wait,
    proc_pgrp,
    proc_pipe,
    proc_exec,
    proc_spawn,
    proc_churn_no_leak,
    fault_around,
    file_truncate,
);
