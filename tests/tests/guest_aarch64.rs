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
);
