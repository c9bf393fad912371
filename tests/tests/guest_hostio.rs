//! Host I/O (issue 15): stdio through the virtio-console ports at volume and byte
//! for byte, end of file after a slow producer, the default /etc, the default
//! memory size, the too-little-memory message, `elfin image`, and `-v` volumes as
//! bind mounts (virtio-9p). Guest runs are
//! compared with native runs of the same binary where the host can run it.

use std::ffi::OsStr;
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

/// With a network device the guest has the host's CA bundle, byte for byte
/// (TLS clients verify servers with it); without one it has none.
#[test]
fn ca_bundle_with_network() {
    let bin = app("x86_64", "glibc", "etc_probe");
    let certs = [OsStr::new("certs")];
    let native = run_native(&bin, None, &certs, &[], None);
    let mut opts = ElfinOpts::default();
    opts.extra.extend(["--net".into(), "user".into()]);
    let guest = run_elfin(&bin, &certs, &opts);
    assert_same(&native, &guest);
    let offline = run_elfin(&bin, &certs, &ElfinOpts::default());
    Comparison::new()
        .status(0, offline.status)
        .check(offline.stdout_str() == "ca bundle: absent\n", "a guest without a network has a CA bundle")
        .finish(None, &offline);
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

/// Below the minimum, one line naming it; at the minimum named, the program runs;
/// the minimum stays small (`cap` MiB: the kernel, the initrd and a little room).
fn too_little(arch: &str, mem: &str, cap: u64) {
    let bin = app(arch, "glibc", "hello");
    let mut opts = ElfinOpts::default().arch(arch);
    opts.extra.extend(["-m".into(), mem.into()]);
    let out = run_elfin(&bin, &[], &opts);
    let err = out.stderr_str();
    assert_eq!(out.status, 125, "{}", out.describe());
    assert_eq!(err.lines().count(), 1, "{}", out.describe());
    let prefix = format!("elfin: -m {mem} is too little memory for this run: it needs at least ");
    let minimum = err
        .strip_prefix(&prefix)
        .and_then(|r| r.split(' ').next())
        .filter(|m| m.strip_suffix('M').and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 2 && n <= cap))
        .unwrap_or_else(|| panic!("no minimum of at most {cap}M named:\n{}", out.describe()))
        .to_string();
    // At the minimum it boots.
    let mut opts = ElfinOpts::default().arch(arch);
    opts.extra.extend(["-m".into(), minimum.into()]);
    let out = run_elfin(&bin, &[], &opts);
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "hello from a static-pie program\n"), "{}", out.describe());
}

#[test]
fn too_little_memory_is_one_line_x86_64() {
    too_little("x86_64", "3M", 8);
    too_little("x86_64", "2M", 8);
}

#[test]
fn too_little_memory_is_one_line_aarch64() {
    too_little("aarch64", "4M", 8);
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

/// What a directory holds, as lines: path, type, mode, and a file's size and
/// content (or a symlink's target), sorted. Times and inode numbers are left out.
fn snapshot(dir: &Path) -> String {
    fn walk(dir: &Path, shown: &str, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry")).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            use std::os::unix::fs::PermissionsExt;
            let name = format!("{shown}/{}", e.file_name().to_string_lossy());
            let meta = std::fs::symlink_metadata(e.path()).expect("lstat");
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.push(format!("{name} -> {}", std::fs::read_link(e.path()).expect("readlink").display()));
            } else if meta.is_dir() {
                out.push(format!("{name}/ {mode:o}"));
                walk(&e.path(), &name, out);
            } else {
                let content = std::fs::read(e.path()).expect("read");
                out.push(format!("{name} {mode:o} {} {:?}", content.len(), String::from_utf8_lossy(&content)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, ".", &mut out);
    out.join("\n")
}

/// vol_probe creates, writes, appends, truncates, renames, links and removes in a
/// `-v` volume, and passes data through a FIFO the host made there; afterwards
/// the host directory holds what the same probe leaves in a directory when it
/// runs natively, and its output is the same.
fn volume_tree(arch: &str, extra: &[&str]) {
    let bin = app(arch, "glibc", "vol_probe");
    let native_dir = scratch_dir("vol-native");
    let guest_dir = scratch_dir("vol-guest");
    // A FIFO made on the host, which the probe uses between two processes.
    for d in [&native_dir, &guest_dir] {
        let made = std::process::Command::new("mkfifo").arg(d.join("hostfifo")).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo in {}", d.display());
    }
    let native_arg = native_dir.to_string_lossy().into_owned();
    let native = run_native_on(arch, &bin, None, &args(&["tree", &native_arg]), &[], None);
    let mut opts = ElfinOpts::default().arch(arch).volume(&guest_dir, "/data");
    opts.extra.extend(extra.iter().map(Into::into));
    let guest = run_elfin(&bin, &args(&["tree", "/data"]), &opts);
    let (n, g) = (snapshot(&native_dir), snapshot(&guest_dir));
    Comparison::new()
        .outputs(&native, &guest)
        .text("the volume on the host afterwards", &n, &g)
        .check(n.contains("./sub/deeper/note 644 10"), format!("native tree lacks the probe's files:\n{n}"))
        .finish(Some(&native), &guest);
}

#[test]
fn volume_tree_is_on_the_host_microvm() {
    volume_tree("x86_64", &["--machine", "microvm"]);
}

#[test]
fn volume_tree_is_on_the_host_q35() {
    volume_tree("x86_64", &["--machine", "q35"]);
}

#[test]
fn volume_tree_is_on_the_host_aarch64() {
    volume_tree("aarch64", &[]);
}

/// Runs vol_probe's `section` natively in a scratch directory and in the guest on
/// a volume; the outputs match, and so do the directories afterwards (the
/// sections leave them empty). `ran` is a line the native run must print. The
/// native run is the `native_arch` build (qemu-user runs arm64 programs natively
/// here, but cannot exec one from a program it runs).
fn volume_section(arch: &str, native_arch: &str, section: &str, ran: &str) {
    let bin = app(arch, "glibc", "vol_probe");
    let native_dir = scratch_dir(&format!("vol-{section}-native"));
    let native_arg = native_dir.to_string_lossy().into_owned();
    let native_bin = app(native_arch, "glibc", "vol_probe");
    let native = run_native_on(native_arch, &native_bin, None, &args(&[section, &native_arg]), &[], None);
    let dir = scratch_dir(&format!("vol-{section}"));
    let mut opts = ElfinOpts::default().arch(arch).volume(&dir, "/data");
    if section == "mapped" {
        // The program it runs last is larger than the guest's memory.
        opts.extra.extend(["-m".into(), "64M".into()]);
    }
    let guest = run_elfin(&bin, &args(&[section, "/data"]), &opts);
    Comparison::new()
        .outputs(&native, &guest)
        .text("the volume on the host afterwards", &snapshot(&native_dir), &snapshot(&dir))
        .check(native.stdout_str().contains(ran), format!("the native run lacks {ran:?}"))
        .finish(Some(&native), &guest);
}

/// FIFOs and unix sockets made in a volume work as in a host directory (data
/// through them, stat, links, renames over and by regular files, a directory
/// holding one is not empty).
#[test]
fn volume_fifos_and_sockets() {
    volume_section("x86_64", "x86_64", "special", "through the socket");
}

#[test]
fn volume_fifos_and_sockets_aarch64() {
    volume_section("aarch64", "aarch64", "special", "through the socket");
}

/// A volume file's times come from the host to the nanosecond: utimensat and
/// futimens set them (UTIME_OMIT, UTIME_NOW), link, chmod, writes and unlink move
/// the change time, and a file unlinked while open has no links left.
#[test]
fn volume_file_times() {
    volume_section("x86_64", "x86_64", "times", "unlinked, still open");
}

#[test]
fn volume_file_times_aarch64() {
    volume_section("aarch64", "aarch64", "times", "unlinked, still open");
}

/// A volume's file mapped MAP_PRIVATE reads right through its page cache, private
/// writes stay private, the page past the end is SIGBUS, and a program copied onto
/// the volume runs from there, again from the cache, and after it is rewritten in
/// place, as the new bytes, though the file is now larger than the guest's memory.
#[test]
fn volume_private_mapping_and_exec() {
    volume_section("x86_64", "x86_64", "mapped", "hello from a copy");
}

#[test]
fn volume_private_mapping_and_exec_aarch64() {
    volume_section("aarch64", "x86_64", "mapped", "hello from a copy");
}

/// `:ro`: every kind of write fails with EROFS, reading works, the host directory
/// is untouched.
#[test]
fn volume_read_only_is_erofs() {
    let bin = app("x86_64", "glibc", "vol_probe");
    let dir = scratch_dir("vol-ro");
    std::fs::write(dir.join("existing.txt"), "keep me\n").expect("write");
    let before = snapshot(&dir);
    let guest = run_elfin(&bin, &args(&["ro", "/ro"]), &ElfinOpts::default().volume(&dir, "/ro:ro"));
    let expected = "create: EROFS\nopen existing O_WRONLY: EROFS\nopen existing O_RDWR: EROFS\nmkdir: EROFS\n\
                    unlink: EROFS\nrename: EROFS\ntruncate: EROFS\nchmod: EROFS\nsymlink: EROFS\nstat: OK\n\
                    existing.txt [8]: keep me\n";
    Comparison::new()
        .status(0, guest.status)
        .text("stdout", expected, &guest.stdout_str())
        .text("the volume on the host", &before, &snapshot(&dir))
        .finish(None, &guest);
}

/// A file larger than the guest's memory: 300 MiB written through a 128 MiB guest,
/// fsynced and read back; the host file has the content the probe hashed (the
/// native run prints the same hashes).
#[test]
fn volume_file_bigger_than_guest_memory() {
    const MIB: u64 = 300;
    let bin = app("x86_64", "glibc", "vol_probe");
    let native_dir = scratch_dir("vol-big-native");
    let native_arg = native_dir.to_string_lossy().into_owned();
    let native = run_native(&bin, None, &args(&["big", &native_arg, "300"]), &[], None);
    let _ = std::fs::remove_dir_all(&native_dir);
    let dir = scratch_dir("vol-big");
    let mut opts = ElfinOpts::default().volume(&dir, "/big");
    opts.extra.extend(["-m".into(), "128M".into()]);
    let guest = run_elfin(&bin, &args(&["big", "/big", "300"]), &opts);
    let host = std::fs::read(dir.join("big")).unwrap_or_default();
    let fnv = host.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    let text = guest.stdout_str();
    Comparison::new()
        .outputs(&native, &guest)
        .check(
            text.contains(&format!("big: {} bytes, written {fnv:016x}, read {fnv:016x}", MIB << 20)),
            format!("the host file's hash is {fnv:016x}"),
        )
        .finish(Some(&native), &guest);
}

/// What a program wrote and closed is on the host even when the VM is killed:
/// once the program says it is ready, elfin gets SIGTERM (which stops QEMU).
#[test]
fn volume_writes_survive_a_kill() {
    let bb = app("x86_64", "debian", "busybox");
    let dir = scratch_dir("vol-kill");
    let mut opts = ElfinOpts::default().volume(&dir, "/data");
    opts.extra.extend(["--busybox".into(), bb.clone().into_os_string()]);
    let script = "echo written > /data/closed.txt; mkdir /data/d; echo synced > /data/d/f; sync; echo ready; sleep 60";
    let mut cmd = elfin_command(&bb, &args(&["sh", "-c", script]), &opts);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start elfin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"ready\n") {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let killed = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    let status = child.wait().expect("wait");
    assert!(killed.success() && !status.success(), "elfin was not stopped by the kill: {status:?}");
    assert_eq!(String::from_utf8_lossy(&got), "ready\n");
    assert_eq!(
        snapshot(&dir),
        "./closed.txt 644 8 \"written\\n\"\n./d/ 755\n./d/f 644 7 \"synced\\n\"",
        "the volume on the host after the kill"
    );
}

/// Bad volumes are refused before boot, in one line.
#[test]
fn volume_errors_are_one_line() {
    let bin = app("x86_64", "glibc", "hello");
    let dir = scratch_dir("vol-err");
    let missing = dir.join("missing");
    for (host, guest, msg) in [
        (missing.as_path(), "/data", "does not exist on the host; create it or fix the path"),
        (dir.as_path(), "/proc", "is a system directory of the guest"),
        (dir.as_path(), "/", "is a system directory of the guest"),
    ] {
        let out = run_elfin(&bin, &[], &ElfinOpts::default().volume(host, guest));
        let err = out.stderr_str();
        assert_eq!((out.status, err.lines().count()), (125, 1), "{}", out.describe());
        assert!(err.contains(msg), "{}", out.describe());
    }
}

/// /proc/mounts lists each volume as Linux lists a virtio-9p mount, read-only ones
/// `ro`, with the path escaped as Linux escapes it (a space is `\040`); df and
/// mount read it.
#[test]
fn volumes_are_in_proc_mounts() {
    let bb = app("x86_64", "debian", "busybox");
    let (rw, ro) = (scratch_dir("vol-mounts-rw"), scratch_dir("vol-mounts-ro"));
    let opts = ElfinOpts::default().volume(&rw, "/data").volume(&ro, "/my volume:ro");
    let guest = run_elfin(&bb, &args(&["cat", "/proc/mounts"]), &opts);
    let out = guest.stdout_str();
    let fields: Vec<Vec<&str>> = out.lines().map(|l| l.split(' ').collect()).collect();
    let find = |path: &str| fields.iter().find(|f| f.get(1) == Some(&path)).cloned();
    let mut c = Comparison::new();
    c.status(0, guest.status);
    for (path, mode) in [("/data", "rw"), ("/my\\040volume", "ro")] {
        match find(path) {
            Some(f) => {
                c.text(&format!("{path}: type"), "9p", f.get(2).copied().unwrap_or(""));
                let opts = f.get(3).copied().unwrap_or("");
                c.text(&format!("{path}: first option"), mode, opts.split(',').next().unwrap_or(""));
                c.text(&format!("{path}: fields"), "6", &f.len().to_string());
            }
            None => {
                c.text(&format!("{path}: a line"), "present", "missing");
            }
        }
    }
    c.finish(None, &guest);
}

/// A run that times out says where each vCPU was: a kernel function, with the
/// frames that led there (QEMU's monitor, the kernel ELF's symbols).
fn stuck_run_says_where(arch: &str) {
    let out = Command::new(elfin_bin())
        .args(["run", "--timeout", "2", "--smp", "2", "--arch", arch])
        .arg(app(arch, "debian", "busybox"))
        .args(["sleep", "100"])
        .stdin(Stdio::null())
        .output()
        .expect("elfin run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(err.contains("elfin: the run is stuck; where each vCPU was"), "{err}");
    for cpu in 0..2 {
        // Both CPUs wait in the kernel: the sleeping program's and the idle one.
        let line = err.lines().find(|l| l.trim_start().starts_with(&format!("cpu {cpu}: "))).unwrap_or_default();
        assert!(line.contains(" at elfin_kernel::"), "cpu {cpu} not named in a kernel function:\n{err}");
    }
    assert!(err.lines().any(|l| l.trim_start().starts_with("<- elfin_kernel::")), "no backtrace:\n{err}");
    assert!(err.contains("elfin: timed out after 2 s"), "{err}");
}

#[test]
fn stuck_run_says_where_x86_64() {
    stuck_run_says_where("x86_64");
}

#[test]
fn stuck_run_says_where_aarch64() {
    stuck_run_says_where("aarch64");
}

/// Runs `cmd` with its stdout and stderr on one file (as `> file 2>&1`) and
/// returns what the file holds.
fn one_file_output(mut cmd: Command, name: &str) -> String {
    let path = scratch_dir("one-file").join(name);
    let file = std::fs::File::create(&path).expect("output file");
    let err = file.try_clone().expect("dup");
    let status = cmd.stdin(Stdio::null()).stdout(file).stderr(err).status().expect("run");
    let text = std::fs::read_to_string(&path).expect("read output");
    assert!(status.success(), "{name} failed ({status}):\n{text}");
    text
}

/// With the host's stdout and stderr on one file (`2>&1`, a terminal), the
/// program's writes to the two reach it in the order they were made, as natively
/// (the CLI then sends stderr through stdout's port: `stdio=virtio:1,2,2`).
fn stdout_and_stderr_in_one_file(arch: &str) {
    let script = "i=0; while [ $i -lt 300 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done";
    let mut native = Command::new(app("x86_64", "debian", "busybox"));
    native.args(["sh", "-c", script]);
    let native = one_file_output(native, &format!("native-{arch}"));
    assert_eq!(native.lines().count(), 600, "the native reference is broken:\n{native}");
    let mut guest = Command::new(elfin_bin());
    guest.args(["run", "--arch", arch]).arg(app(arch, "debian", "busybox")).args(["sh", "-c", script]);
    let guest = one_file_output(guest, &format!("guest-{arch}"));
    assert!(native == guest, "stdout and stderr interleave differently from the native run:\n{guest}");
}

#[test]
fn stdout_and_stderr_in_one_file_x86_64() {
    stdout_and_stderr_in_one_file("x86_64");
}

#[test]
fn stdout_and_stderr_in_one_file_aarch64() {
    stdout_and_stderr_in_one_file("aarch64");
}
