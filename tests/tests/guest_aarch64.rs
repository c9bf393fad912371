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

per_libc!(hello, exitcode, cat_stdin, auxv_probe, nullderef, threads);

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
