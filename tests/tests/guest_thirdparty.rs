//! Third-party programs in the guest, each compared with the same binary run
//! natively: busybox, lua5.4 and fio built from Debian source packages, and a
//! Rust std program (static-pie-apps/rust).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use elfin_tests::*;

const ARCH: &str = "x86_64";

fn busybox() -> PathBuf {
    app(ARCH, "debian", "busybox")
}

const TEXT: &str = "banana\napple\ncherry\napple\nbanana\nbanana\ndate: 2024\n\nelderberry fig grape\n";

/// `busybox ARGS...` with `stdin`, natively and in the guest; all equal.
fn bb(argv: &[&str], stdin: Option<&[u8]>) -> Output {
    let (_, guest) = differential(&busybox(), argv, &[], stdin);
    guest
}

#[test]
fn busybox_echo() {
    let g = bb(&["echo", "hello", "from", "busybox"], None);
    assert_eq!(g.stdout_str(), "hello from busybox\n");
    bb(&["echo", "-n", "no newline", "-e"], None);
    bb(&["echo", "-e", "tab\\there\\x41"], None);
}

#[test]
fn busybox_true_false() {
    bb(&["true"], None);
    let g = bb(&["false"], None);
    assert_eq!(g.status, 1);
}

#[test]
fn busybox_cat_volume_file() {
    let dir = scratch_dir("bb-cat");
    let host = dir.join("in.txt");
    let mut data = TEXT.repeat(200).into_bytes();
    data.extend_from_slice(&pseudo_random_bytes(5000, 3));
    std::fs::write(&host, &data).expect("write");
    let guest =
        run_elfin(&busybox(), &args(&["cat", "/data/in.txt"]), &ElfinOpts::default().volume(&host, "/data/in.txt"));
    let native = run_native(&busybox(), None, &[OsStr::new("cat"), host.as_os_str()], &[], None);
    assert_same(&native, &guest);
    assert_eq!(guest.stdout, data);
}

#[test]
fn busybox_wc() {
    let g = bb(&["wc"], Some(TEXT.as_bytes()));
    assert!(g.stdout_str().split_whitespace().eq(["9", "11", "73"]), "{}", g.describe());
    bb(&["wc", "-l"], Some(TEXT.as_bytes()));
}

#[test]
fn busybox_sed() {
    let g = bb(&["sed", "-e", "s/an/AN/g", "-e", "/apple/d", "-e", "$a\\the end"], Some(TEXT.as_bytes()));
    assert!(g.stdout_str().starts_with("bANANa\ncherry\n"), "{}", g.describe());
    bb(&["sed", "-n", "2,4p"], Some(TEXT.as_bytes()));
}

#[test]
fn busybox_sort_uniq() {
    bb(&["sort"], Some(TEXT.as_bytes()));
    bb(&["sort", "-r", "-u"], Some(TEXT.as_bytes()));
    let sorted = run_native(&busybox(), None, &args(&["sort"]), &[], Some(TEXT.as_bytes()));
    let g = bb(&["uniq", "-c"], Some(&sorted.stdout));
    assert!(g.stdout_str().contains("3 banana"), "{}", g.describe());
}

#[test]
fn busybox_tr_cut_grep() {
    bb(&["tr", "a-z", "A-Z"], Some(TEXT.as_bytes()));
    bb(&["tr", "-d", "an"], Some(TEXT.as_bytes()));
    bb(&["cut", "-d", " ", "-f", "2"], Some(TEXT.as_bytes()));
    bb(&["grep", "-n", "an"], Some(TEXT.as_bytes()));
    let g = bb(&["grep", "-c", "zzz"], Some(TEXT.as_bytes()));
    assert_eq!(g.status, 1);
}

#[test]
fn busybox_head_tail() {
    let text = (1..=100).map(|i| format!("{i}\n")).collect::<String>();
    bb(&["head", "-n", "3"], Some(text.as_bytes()));
    bb(&["tail", "-n", "2"], Some(text.as_bytes()));
    bb(&["head", "-c", "10"], Some(text.as_bytes()));
}

#[test]
fn busybox_seq_printf_expr() {
    let g = bb(&["seq", "1", "3", "20"], None);
    assert_eq!(g.stdout_str(), "1\n4\n7\n10\n13\n16\n19\n");
    bb(&["printf", "%05d|%s|%x|%c\\n", "42", "str", "255", "z"], None);
    let g = bb(&["expr", "6", "*", "7"], None);
    assert_eq!(g.stdout_str(), "42\n");
    bb(&["expr", "length", "elfin"], None);
    bb(&["basename", "/usr/local/bin/tool.sh", ".sh"], None);
    bb(&["dirname", "/usr/local/bin/tool.sh"], None);
}

#[test]
fn busybox_checksums_od() {
    let data = pseudo_random_bytes(64 * 1024, 11);
    bb(&["md5sum"], Some(&data));
    bb(&["sha256sum"], Some(&data));
    bb(&["od", "-A", "x", "-t", "x1z"], Some(&data[..256]));
}

#[test]
fn busybox_ls_volume_dir() {
    let dir = scratch_dir("bb-ls");
    for name in ["b.txt", "a.txt", "c dir"] {
        if name.contains("dir") {
            std::fs::create_dir(dir.join(name)).expect("mkdir");
        } else {
            std::fs::write(dir.join(name), name).expect("write");
        }
    }
    let native = run_native(&busybox(), None, &[OsStr::new("ls"), OsStr::new("-1"), dir.as_os_str()], &[], None);
    let guest = run_elfin(&busybox(), &args(&["ls", "-1", "/data"]), &ElfinOpts::default().volume(&dir, "/data"));
    assert_same(&native, &guest);
}

#[test]
fn lua_script() {
    let lua = app(ARCH, "debian", "lua5.4");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("probe.lua");
    let native = run_native(&lua, None, &[script.as_os_str()], &[], None);
    let guest = run_elfin(&lua, &args(&["/data/probe.lua"]), &ElfinOpts::default().volume(&script, "/data/probe.lua"));
    assert_same(&native, &guest);
    assert!(guest.stdout_str().contains("fib90 2880067194370816120\n"), "{}", guest.describe());
}

#[test]
fn lua_inline() {
    let lua = app(ARCH, "debian", "lua5.4");
    let (_, g) = differential(
        &lua,
        &["-e", "print(string.format('%d %s %.2f', 2^31 // 1 | 0, ('x'):rep(3), math.pi))"],
        &[],
        None,
    );
    assert_eq!(g.stdout_str(), "2147483648 xxx 3.14\n");
    // A script on stdin, with an error: status 1 and a message on stderr.
    differential(&lua, &["-"], &[], Some(b"print(1 + 1)\nerror('boom')\n"));
}

/// What a fio run reports that does not depend on timing: each job's error
/// status and the I/O it issued (the random offsets repeat from run to run).
fn fio_summary(out: &Output) -> Vec<String> {
    out.stdout_str()
        .lines()
        .filter_map(|l| {
            if let Some(i) = l.find("err=") {
                let rest = &l[i..];
                Some(rest.split(':').next().unwrap_or(rest).to_string())
            } else {
                l.contains("issued rwts:").then(|| l.trim().to_string())
            }
        })
        .collect()
}

/// fio's libaio engine (Linux AIO: io_setup, io_submit, io_getevents, completions
/// reaped from the ring in user space) writes and reads back a file with
/// checksums, natively and in the guest: no error, the same I/O issued.
#[test]
fn fio_libaio_verify() {
    let fio = app(ARCH, "debian", "fio");
    let dir = scratch_dir("fio");
    for job in [
        &["--rw=randrw", "--iodepth=32", "--userspace_reap=1"][..],
        &["--rw=write", "--iodepth=16", "--iodepth_batch_submit=8", "--iodepth_batch_complete_min=4"][..],
    ] {
        let mut a = vec![
            "--name=t",
            "--ioengine=libaio",
            "--bs=4k",
            "--size=8m",
            "--verify=crc32c",
            "--do_verify=1",
            "--group_reporting",
        ];
        a.extend_from_slice(job);
        let host_file = format!("--filename={}", dir.join("data").display());
        let native = run_native(&fio, None, &args(&[a.as_slice(), &[host_file.as_str()]].concat()), &[], None);
        let guest = run_elfin(&fio, &args(&[a.as_slice(), &["--filename=/tmp/data"]].concat()), &ElfinOpts::default());
        let (n, g) = (fio_summary(&native), fio_summary(&guest));
        assert!(native.status == 0 && n.len() == 2 && n[0] == "err= 0", "native fio {job:?}:\n{}", native.describe());
        assert!(guest.status == 0 && g == n, "fio {job:?}: {g:?} in the guest, {n:?} natively\n{}", guest.describe());
    }
}

#[test]
fn rust_std_program() {
    let bin = app(ARCH, "rust", "rustprobe");
    let dir = scratch_dir("rust");
    let host = dir.join("words.txt");
    std::fs::write(&host, TEXT.repeat(3)).expect("write");
    let env = [("RUST_PROBE", "1")];
    let native = run_native(&bin, None, &[OsStr::new("file"), host.as_os_str()], &env, None);
    let guest = run_elfin(
        &bin,
        &args(&["file", "/data/words.txt"]),
        &ElfinOpts::default().env("RUST_PROBE", "1").volume(&host, "/data/words.txt"),
    );
    // The native run was given the host path: map it to the guest path.
    let mapped = replace_bytes(&native.stdout, host.as_os_str().as_encoded_bytes(), b"/data/words.txt");
    Comparison::new()
        .status(native.status, guest.status)
        .bytes("stdout (host path mapped to /data/words.txt)", &mapped, &guest.stdout)
        .bytes("stderr", &native.stderr, &guest.stderr)
        .finish(Some(&native), &guest);
}

#[test]
fn rust_std_threads() {
    let bin = app(ARCH, "rust", "rustprobe");
    differential(&bin, &["threads"], &[], None);
}

/// The Go runtime: goroutines over several threads, channels, a contended mutex,
/// timers, garbage collection; compared with the native run.
#[test]
fn go_probe() {
    let bin = app(ARCH, "go", "goprobe");
    differential(&bin, &["x", "y z"], &[("GOPROBE", "1")], None);
}

/// A Go program's exit status comes through.
#[test]
fn go_exit_status() {
    let bin = app(ARCH, "go", "goprobe");
    let (native, _) = differential(&bin, &["fail"], &[], None);
    assert_eq!(native.status, 3);
}

/// The Go runtime finds the vDSO (its own ELF parser, which needs the symbol
/// versions) and reads the clocks through it. On arm64 no clock_gettime system
/// call at all; on x86_64 at most the first, which calibrates the TSC (the kernel
/// does that on first use, so that a run that never reads the clock does not pay
/// for it) and then publishes every clock to the vDSO.
#[test]
fn go_reads_the_clock_through_the_vdso() {
    for arch in ["x86_64", "aarch64"] {
        let bin = app(arch, "go", "goprobe");
        let opts = ElfinOpts { extra: vec!["--strace".into()], ..ElfinOpts::default() }.arch(arch);
        let guest = run_elfin(&bin, &args(&["x"]), &opts);
        assert_eq!(guest.status, 0, "{}", guest.describe());
        let k = guest.kernel_str();
        assert!(k.contains("exit_group("), "no strace log:\n{}", guest.describe());
        let calls = k.lines().filter(|l| l.contains("clock_gettime(")).count();
        let allowed = if arch == "x86_64" { 1 } else { 0 };
        assert!(calls <= allowed, "{arch}: Go made {calls} clock_gettime system calls:\n{}", guest.describe());
    }
}
