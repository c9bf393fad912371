//! Guest tests of the small C probes (static-pie-apps/src), each built with
//! glibc and with musl: the guest run must match the native run of the same
//! binary (status, stdout, stderr), except where elfin is expected to differ
//! on purpose (unsupported syscalls, crash reports on stderr).

use std::ffi::OsStr;
use std::fs::File;
use std::process::Stdio;

use elfin_tests::*;

const ARCH: &str = "x86_64";

/// auxv_probe lines that are not compared with a native run (see auxv_probe.c).
const NOT_COMPARED: [&str; 2] = ["addr:", "host:"];

fn hello(libc: &str) {
    let bin = app(ARCH, libc, "hello");
    let (_, guest) = differential(&bin, &[], &[], None);
    assert_eq!(guest.stdout_str(), "hello from a static-pie program\n");
}

/// stdout redirected to a file holds only the program's stdout; stderr only its stderr.
fn stdout_to_file(libc: &str) {
    let bin = app(ARCH, libc, "hello");
    let dir = scratch_dir("stdout-file");
    let path = dir.join("stdout");
    let mut cmd = elfin_command(&bin, &[], &ElfinOpts::default());
    cmd.stdin(Stdio::null()).stdout(File::create(&path).expect("create")).stderr(Stdio::piped());
    let out = cmd.output().expect("run elfin");
    let stdout = std::fs::read(&path).expect("read back");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout == b"hello from a static-pie program\n" && stderr == "hello on stderr\n",
        "status {:?}\nstdout file: {:?}\nstderr: {stderr:?}",
        out.status,
        String::from_utf8_lossy(&stdout)
    );
}

fn auxv_probe(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let argv = ["one", "two words", "", "ünïcødé", "--flag=x"];
    let env = [("ELFIN_TEST", "1"), ("EMPTY", ""), ("WITH_EQ", "a=b=c")];
    let native = run_native(&bin, None, &args(&argv), &env, None);
    let mut opts = ElfinOpts::default();
    for (k, v) in env {
        opts = opts.env(k, v);
    }
    let guest = run_elfin(&bin, &args(&argv), &opts);
    let (n, g) = (native.stdout_str(), guest.stdout_str());
    Comparison::new()
        .status(native.status, guest.status)
        .text("stdout without addr:/host: lines", &drop_lines(&n, &NOT_COMPARED), &drop_lines(&g, &NOT_COMPARED))
        .bytes("stderr", &native.stderr, &guest.stderr)
        .check(g.contains("env: ELFIN_TEST=1\n"), "-e ELFIN_TEST=1 is not in the guest environment")
        .check(g.contains("env: WITH_EQ=a=b=c\n"), "-e WITH_EQ=a=b=c is not in the guest environment")
        .check(g.contains("host: AT_EXECFN=/app/auxv_probe\n"), "AT_EXECFN is not /app/auxv_probe")
        .check(g.contains("argv[0]: /app/auxv_probe\n"), "argv[0] is not /app/auxv_probe")
        .check(
            ["code", "stack", "heap", "mmap", "AT_PHDR", "AT_ENTRY"].iter().all(|k| addr_of(&g, k).is_some()),
            "some addr: lines are missing",
        )
        .finish(Some(&native), &guest);
}

fn auxv_probe_argv0(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let native = run_native(&bin, Some("custom-name"), &[], &[], None);
    let guest = run_elfin(&bin, &[], &ElfinOpts::default().argv0("custom-name"));
    let (n, g) = (native.stdout_str(), guest.stdout_str());
    Comparison::new()
        .status(native.status, guest.status)
        .text("stdout without addr:/host: lines", &drop_lines(&n, &NOT_COMPARED), &drop_lines(&g, &NOT_COMPARED))
        .check(g.contains("argv[0]: custom-name\n"), "--argv0 custom-name not seen as argv[0]")
        .finish(Some(&native), &guest);
}

fn exitcode(libc: &str) {
    let bin = app(ARCH, libc, "exitcode");
    for code in ["0", "1", "42", "255", "256"] {
        differential(&bin, &[code], &[], None);
    }
}

fn cat_stdin_bytes(libc: &str) {
    let bin = app(ARCH, libc, "cat_stdin");
    // Every byte value, 0xFF included (the console escape byte), several times.
    let all: Vec<u8> = (0..4).flat_map(|_| 0u8..=255).chain(*b"\xff\xff\xffe\xff1\xff").collect();
    let (_, guest) = differential(&bin, &[], &[], Some(&all));
    assert_eq!(guest.stdout, all);
}

fn cat_stdin_large(libc: &str) {
    let bin = app(ARCH, libc, "cat_stdin");
    let data = pseudo_random_bytes(100 * 1024, 0x5eed);
    let (_, guest) = differential(&bin, &[], &[], Some(&data));
    assert_eq!(guest.stderr_str(), "cat_stdin: 102400 bytes\n");
}

/// stdio on the virtio console as another VMM would ask for it: `stdio=virtio`
/// without the ports' numbers (every port then gets both its queues and the
/// names alone decide). The kernel takes the first `stdio=` word, which here is
/// this one, before the CLI's `stdio=virtio:1,2,3`.
fn stdio_by_names_only(libc: &str) {
    let bin = app(ARCH, libc, "cat_stdin");
    let data = pseudo_random_bytes(64 * 1024, 0x1a70);
    let native = run_native(&bin, None, &[], &[], Some(&data));
    let mut opts = ElfinOpts::default().stdin(&data);
    opts.extra.extend(["--kernel-arg".into(), "stdio=virtio".into()]);
    let guest = run_elfin(&bin, &[], &opts);
    assert_same(&native, &guest);
    assert_eq!(guest.stdout, data);
}

/// Port numbers that disagree with the ports' names (stdin said to be on the
/// stdout port) stop the boot with a message naming the problem, not a hang.
fn stdio_layout_against_names(libc: &str) {
    let bin = app(ARCH, libc, "cat_stdin");
    let mut opts = ElfinOpts::default().stdin(b"abc\n");
    opts.extra.extend(["--kernel-arg".into(), "stdio=virtio:2,1,3".into()]);
    let guest = run_elfin(&bin, &[], &opts);
    let said = [guest.stderr.as_slice(), guest.kernel.as_slice()].concat();
    assert!(
        guest.status != 0 && String::from_utf8_lossy(&said).contains("disagree with the names the host gave"),
        "{}",
        guest.describe()
    );
}

fn cat_stdin_empty(libc: &str) {
    let bin = app(ARCH, libc, "cat_stdin");
    differential(&bin, &[], &[], Some(b""));
    differential(&bin, &[], &[], None);
}

fn files(libc: &str) {
    let bin = app(ARCH, libc, "files");
    let dir = scratch_dir("files");
    let host = dir.join("input.txt");
    let mut content = Vec::new();
    for i in 0..500 {
        content.extend_from_slice(format!("line {i}: the quick brown fox\n").as_bytes());
    }
    content.extend_from_slice(&pseudo_random_bytes(3000, 7));
    std::fs::write(&host, &content).expect("write input");

    let native = run_native(&bin, None, &[host.as_os_str()], &[], None);
    let guest = run_elfin(&bin, &args(&["/data/x"]), &ElfinOpts::default().volume(&host, "/data/x"));
    assert_same(&native, &guest);
    assert!(guest.stdout_str().contains(&format!("size {}", content.len())), "{}", guest.describe());

    // A file that is not there.
    let native = run_native(&bin, None, &args(&["/elfin-missing/x"]), &[], None);
    let guest = run_elfin(&bin, &args(&["/data/missing"]), &ElfinOpts::default().volume(&host, "/data/x"));
    assert_same(&native, &guest);
    assert_eq!(guest.stdout_str(), "openat: ENOENT\n");
}

fn boot_addrs(bin: &std::path::Path, opts: &ElfinOpts) -> (Output, Vec<String>) {
    let out = run_elfin(bin, &[], opts);
    assert_eq!(out.status, 0, "{}", out.describe());
    let addrs = lines_with(&out.stdout_str(), "addr:");
    assert!(addrs.len() >= 6, "no addr: lines\n{}", out.describe());
    (out, addrs)
}

fn no_aslr_is_stable(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let (a, addrs_a) = boot_addrs(&bin, &ElfinOpts::default().no_aslr());
    let (b, addrs_b) = boot_addrs(&bin, &ElfinOpts::default().no_aslr());
    Comparison::labeled("boot 1", "boot 2")
        .text("addr: lines of two --no-aslr boots", &(addrs_a.join("\n") + "\n"), &(addrs_b.join("\n") + "\n"))
        .finish(Some(&a), &b);
}

fn aslr_varies(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let (a, _) = boot_addrs(&bin, &ElfinOpts::default());
    let (b, _) = boot_addrs(&bin, &ElfinOpts::default());
    let (sa, sb) = (a.stdout_str(), b.stdout_str());
    let mut c = Comparison::labeled("boot 1", "boot 2");
    for what in ["code", "stack"] {
        let (x, y) = (addr_of(&sa, what), addr_of(&sb, what));
        c.check(x.is_some() && x != y, format!("{what} address is the same on two ASLR boots: {x:x?} {y:x?}"));
    }
    // Layout-independent lines must not change with the layout.
    c.text("non-addr lines of two boots", &drop_lines(&sa, &["addr:"]), &drop_lines(&sb, &["addr:"]));
    c.finish(Some(&a), &b);
}

fn enosys(libc: &str) {
    let bin = app(ARCH, libc, "enosys");
    let native = run_native(&bin, None, &[], &[], None);
    assert_eq!(native.status, 0, "native run failed\n{}", native.describe());
    let guest = run_elfin(&bin, &[], &ElfinOpts::default());
    let stderr = guest.messages();
    Comparison::labeled("expected", "guest")
        .status(0, guest.status)
        .text(
            "stdout (compared with the expectation, not native: Linux implements add_key)",
            "add_key: -1 ENOSYS\nadd_key again: -1 ENOSYS\nstill running after an unsupported syscall\n",
            &guest.stdout_str(),
        )
        .check(
            stderr.matches("unsupported syscall add_key").count() == 1,
            "stderr must report `unsupported syscall add_key` exactly once",
        )
        .finish(None, &guest);
}

/// --strace logs every call, the identity calls (answered before the general
/// decode) included, with their results.
fn strace_logs_identity_calls(libc: &str) {
    let bin = app(ARCH, libc, "perf_bench");
    let opts = ElfinOpts { extra: vec!["--strace".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&["5", "getppid"]), &opts);
    assert_eq!(guest.status, 0, "{}", guest.describe());
    let k = guest.kernel_str();
    let calls = k.lines().filter(|l| l.contains("getppid(")).count();
    assert!(calls >= 5, "{calls} getppid calls logged, expected 5 or more:\n{}", guest.describe());
}

fn nullderef(libc: &str) {
    let bin = app(ARCH, libc, "nullderef");
    let native = run_native(&bin, None, &[], &[], None);
    let guest = run_elfin(&bin, &[], &ElfinOpts::default());
    let stderr = guest.messages();
    Comparison::new()
        .status(native.status, guest.status)
        .status(139, guest.status)
        .bytes("stderr (kernel messages apart)", &native.stderr, &guest.stderr)
        .bytes("stdout", &native.stdout, &guest.stdout)
        .check(stderr.contains("killed by SIGSEGV"), "stderr lacks `killed by SIGSEGV`")
        .check(stderr.contains("at 0x0 "), "stderr lacks the fault address `at 0x0`")
        .finish(Some(&native), &guest);
}

/// Arguments with tabs, newlines and non-ASCII bytes arrive unchanged.
fn argv_passthrough_of_odd_bytes(libc: &str) {
    let bin = app(ARCH, libc, "auxv_probe");
    let odd = OsStr::new("tab\there\nnewline");
    let native = run_native(&bin, None, &[odd], &[], None);
    let guest = run_elfin(&bin, &[odd], &ElfinOpts::default());
    Comparison::new()
        .status(native.status, guest.status)
        .text(
            "stdout without addr:/host: lines",
            &drop_lines(&native.stdout_str(), &NOT_COMPARED),
            &drop_lines(&guest.stdout_str(), &NOT_COMPARED),
        )
        .finish(Some(&native), &guest);
}

/// Threads, futexes, condition variables, signal handlers (raise, kill, tgkill,
/// blocked and pending, SA_SIGINFO codes, the alternate stack), a handled SIGSEGV,
/// sleeping, and death by SIGTERM: everything as in the native run.
fn threads(libc: &str) {
    let bin = app(ARCH, libc, "threads");
    let (native, guest) = differential(&bin, &[], &[], None);
    assert_eq!(native.status, 143, "the probe ends by raising SIGTERM");
    assert!(guest.kernel_str().contains("killed by SIGTERM"), "{}", guest.describe());
}

/// Bad pointers, lengths, descriptors and flags give Linux's errors, and the
/// kernel keeps running.
fn badargs(libc: &str) {
    let bin = app(ARCH, libc, "badargs");
    let (_, guest) = differential(&bin, &[], &[], None);
    assert!(guest.stdout_str().ends_with("still alive\n"));
}

/// close_range, statfs, utimensat, fallocate, memfd_create, mlock, priorities,
/// scheduler queries, process groups: as Linux answers them.
fn misc_calls(libc: &str) {
    differential(&app(ARCH, libc, "misc_calls"), &[], &[], None);
}

macro_rules! per_libc {
    ($($name:ident),* $(,)?) => {
        mod glibc { $( #[test] fn $name() { super::$name("glibc") } )* }
        mod musl { $( #[test] fn $name() { super::$name("musl") } )* }
    };
}

per_libc!(
    hello,
    stdout_to_file,
    auxv_probe,
    auxv_probe_argv0,
    argv_passthrough_of_odd_bytes,
    exitcode,
    cat_stdin_bytes,
    cat_stdin_large,
    cat_stdin_empty,
    stdio_by_names_only,
    stdio_layout_against_names,
    files,
    no_aslr_is_stable,
    aslr_varies,
    enosys,
    strace_logs_identity_calls,
    nullderef,
    threads,
    badargs,
    misc_calls,
);
