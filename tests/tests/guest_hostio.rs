//! Host I/O (issue 15): stdio through the virtio-console ports at volume and byte
//! for byte, end of file after a slow producer, the default /etc, the default
//! memory size, the too-little-memory message and `elfin image`. Guest runs are
//! compared with native runs of the same binary where the host can run it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use elfin_tests::*;

/// Bytes through stdin and stdout in the volume tests.
const VOLUME: usize = 20_000_000;
/// The old serial path moved stdin at 10-18 KiB/s; anything under this bound for
/// 20 MB each way is the fast path at work (target: 50 MiB/s under TCG).
const VOLUME_LIMIT: Duration = Duration::from_secs(20);

fn cat_volume(arch: &str, extra: &[&str]) {
    let bin = app(arch, "glibc", "cat_stdin");
    let data = pseudo_random_bytes(VOLUME, 15);
    let native = run_native_on(arch, &bin, None, &[], &[], Some(&data));
    let mut opts = ElfinOpts::default().arch(arch).stdin(&data);
    opts.extra.extend(extra.iter().map(Into::into));
    let guest = run_elfin(&bin, &[], &opts);
    assert_eq!(native.stdout.len(), VOLUME, "native run: {}", native.describe());
    Comparison::new()
        .outputs(&native, &guest)
        .check(guest.elapsed < VOLUME_LIMIT, format!("20 MB each way took {:?}", guest.elapsed))
        .finish(Some(&native), &guest);
}

#[test]
fn stdin_to_stdout_20mb_microvm() {
    cat_volume("x86_64", &["--machine", "microvm"]);
}

#[test]
fn stdin_to_stdout_20mb_q35() {
    cat_volume("x86_64", &["--machine", "q35"]);
}

#[test]
fn stdin_to_stdout_20mb_aarch64() {
    cat_volume("aarch64", &[]);
}

/// 20 MiB written to stdout alone (busybox dd from /dev/zero), with dd's record
/// counts on stderr.
#[test]
fn stdout_20mib() {
    let bin = app("x86_64", "debian", "busybox");
    let argv = ["dd", "if=/dev/zero", "bs=65536", "count=320"];
    let native = run_native(&bin, None, &args(&argv), &[], None);
    let guest = run_elfin(&bin, &args(&argv), &ElfinOpts::default());
    let records = |o: &Output| o.stderr_str().lines().take(2).map(str::to_owned).collect::<Vec<_>>();
    Comparison::new()
        .status(native.status, guest.status)
        .bytes("stdout", &native.stdout, &guest.stdout)
        .text("dd's record counts", &records(&native).join("\n"), &records(&guest).join("\n"))
        .check(guest.stdout.len() == 320 * 65536, "not 20 MiB on stdout")
        .check(guest.elapsed < VOLUME_LIMIT, format!("20 MiB took {:?}", guest.elapsed))
        .finish(Some(&native), &guest);
}

/// stdin that arrives in pieces, with pauses, then ends: every piece is read when
/// it comes (the idle guest wakes on the port's interrupt) and the end is the end.
fn slow_stdin(arch: &str) {
    let bin = app(arch, "glibc", "cat_stdin");
    let mut cmd = elfin_command(&bin, &[], &ElfinOpts::default().arch(arch));
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start elfin");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let start = Instant::now();
    let mut got = Vec::new();
    for piece in [&b"first\n"[..], b"second\n", b"\xff\xfe third, no newline"] {
        stdin.write_all(piece).expect("write");
        stdin.flush().expect("flush");
        // cat_stdin writes back what it read: wait for this piece to come back.
        let want = got.len() + piece.len();
        let mut buf = [0u8; 256];
        while got.len() < want {
            let n = stdout.read(&mut buf).expect("read");
            assert!(n > 0, "stdout ended early after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(stdin);
    stdout.read_to_end(&mut got).expect("read the rest");
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    assert_eq!(got, b"first\nsecond\n\xff\xfe third, no newline");
    assert!(status.success() && err.contains("cat_stdin: 33 bytes\n"), "{status:?} {err}");
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn slow_stdin_then_end_x86_64() {
    slow_stdin("x86_64");
}

#[test]
fn slow_stdin_then_end_aarch64() {
    slow_stdin("aarch64");
}

/// `yes | head`: when the reader of the CLI's stdout goes away, the program's
/// next write fails and SIGPIPE ends it (status 141), as on Linux; the run does not
/// go on forever.
#[test]
fn closed_stdout_is_sigpipe() {
    let bin = app("x86_64", "debian", "busybox");
    let mut cmd = elfin_command(&bin, &args(&["yes"]), &ElfinOpts::default());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start elfin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut head = [0u8; 6];
    stdout.read_exact(&mut head).expect("read");
    assert_eq!(&head, b"y\ny\ny\n");
    drop(stdout);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still running 30 s after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(141));
}

/// The serial console path (--serial-stdio, as on Firecracker and Cloud
/// Hypervisor) still carries stdin, stdout and stderr byte for byte.
#[test]
fn serial_stdio_still_works() {
    let bin = app("x86_64", "glibc", "cat_stdin");
    let data: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let native = run_native(&bin, None, &[], &[], Some(&data));
    let mut opts = ElfinOpts::default().stdin(&data);
    opts.extra.push("--serial-stdio".into());
    let guest = run_elfin(&bin, &[], &opts);
    assert_same(&native, &guest);
}

/// getpwnam, getgrnam, getpwuid and getaddrinfo answer from the default /etc as
/// they do on the host (the host name is the guest's own).
fn etc_lookups(arch: &str, libc: &str) {
    let bin = app(arch, libc, "etc_probe");
    let native = run_native_on(arch, &bin, None, &[], &[], None);
    let guest = run_elfin(&bin, &[], &ElfinOpts::default().arch(arch));
    let not_host = |o: &Output| drop_lines(&o.stdout_str(), &["hostname:"]);
    Comparison::new()
        .status(native.status, guest.status)
        .text("stdout without the host name", &not_host(&native), &not_host(&guest))
        .check(guest.stdout_str().contains("hostname: elfin\n"), "the host name is not elfin")
        .check(guest.stdout_str().contains("getpwnam(nobody): uid=65534 gid=65534"), "no user nobody")
        .finish(Some(&native), &guest);
}

#[test]
fn etc_lookups_glibc() {
    etc_lookups("x86_64", "glibc");
}

#[test]
fn etc_lookups_musl() {
    etc_lookups("x86_64", "musl");
}

#[test]
fn etc_lookups_aarch64() {
    etc_lookups("aarch64", "glibc");
}

/// busybox sees the default files; a volume's own /etc/passwd replaces the default
/// one while the other defaults stay.
#[test]
fn etc_defaults_and_volume_override() {
    let bb = app("x86_64", "debian", "busybox");
    let out = run_elfin(&bb, &args(&["id", "nobody"]), &ElfinOpts::default());
    assert_eq!(out.stdout_str(), "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n", "{}", out.describe());
    let out = run_elfin(&bb, &args(&["cat", "/etc/hostname", "/etc/nsswitch.conf"]), &ElfinOpts::default());
    assert!(out.stdout_str().starts_with("elfin\npasswd: files\n"), "{}", out.describe());

    let dir = scratch_dir("etc-volume");
    let passwd = dir.join("passwd");
    std::fs::write(&passwd, "app:x:1000:1000:app:/home/app:/bin/sh\n").expect("write");
    let opts = ElfinOpts::default().volume(&passwd, "/etc/passwd");
    let out = run_elfin(&bb, &args(&["cat", "/etc/passwd", "/etc/group"]), &opts);
    assert_eq!(
        out.stdout_str(),
        "app:x:1000:1000:app:/home/app:/bin/sh\nroot:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n",
        "{}",
        out.describe()
    );
}

/// A program that needs about 500 MB resident runs with the default options (the
/// old default of 64 MiB killed it).
#[test]
fn default_memory_fits_500mb_resident() {
    let bin = app("x86_64", "glibc", "mm_malloc");
    let argv = ["500", "all"];
    let native = run_native(&bin, None, &args(&argv), &[], None);
    let guest = run_elfin(&bin, &args(&argv), &ElfinOpts::default());
    assert_same(&native, &guest);
    assert!(guest.stdout_str().starts_with("malloc(500 MiB) ok"), "{}", guest.describe());
}

fn too_little(arch: &str, mem: &str, minimum: &str) {
    let bin = app(arch, "glibc", "hello");
    let mut opts = ElfinOpts::default().arch(arch);
    opts.extra.extend(["-m".into(), mem.into()]);
    let out = run_elfin(&bin, &[], &opts);
    let err = out.stderr_str();
    assert_eq!(out.status, 125, "{}", out.describe());
    assert_eq!(err.lines().count(), 1, "{}", out.describe());
    assert!(
        err.starts_with(&format!("elfin: -m {mem} is too little memory for this run: it needs at least {minimum} ")),
        "{}",
        out.describe()
    );
    // At the minimum it boots.
    let mut opts = ElfinOpts::default().arch(arch);
    opts.extra.extend(["-m".into(), minimum.into()]);
    let out = run_elfin(&bin, &[], &opts);
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "hello from a static-pie program\n"), "{}", out.describe());
}

#[test]
fn too_little_memory_is_one_line_x86_64() {
    // The network stack (smoltcp) made the x86_64 kernel's minimum 6M.
    too_little("x86_64", "3M", "6M");
    too_little("x86_64", "2M", "6M");
}

#[test]
fn too_little_memory_is_one_line_aarch64() {
    too_little("aarch64", "4M", "5M");
}

/// `elfin image` writes what a run boots; its run.sh boots it with QEMU.
#[test]
fn image_boots_with_its_run_script() {
    let dir = scratch_dir("image");
    let bin = app("x86_64", "glibc", "hello");
    let out = Command::new(elfin_bin())
        .args(["image", "-o"])
        .arg(&dir)
        .args(["-m", "64M", "--kernel-arg", "console=raw"])
        .arg(&bin)
        .output()
        .expect("elfin image");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["kernel", "initrd.cpio", "cmdline", "run.sh"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    assert_eq!(std::fs::read_to_string(dir.join("cmdline")).expect("cmdline"), "console=raw\n");
    let run = Command::new("sh").arg(dir.join("run.sh")).stdin(Stdio::null()).output().expect("run.sh");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("hello from a static-pie program\n") && text.contains("elfin: exit status 0\n"),
        "{text}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(Path::new(&dir).join("run.sh").metadata().expect("meta").len() > 0);
}
