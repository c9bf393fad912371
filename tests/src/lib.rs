//! Shared helpers for the guest integration tests.
//!
//! The tests are differential: a program from `static-pie-apps/out` runs once
//! natively on the host and once in an elfin guest, with the same argv[0],
//! arguments, environment and stdin, and the two results must agree (see
//! `docs/protocol.md` for what the CLI passes to the guest).
//!
//! Nothing here skips: a missing app or a missing `elfin` binary makes the
//! test fail with a message saying how to build it.
//!
//! Depends on std only.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment every guest program starts with, before `-e` (protocol.md).
pub const GUEST_ENV: [(&str, &str); 2] = [("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", "/")];

/// Guest timeout passed to `elfin run --timeout`, in seconds.
pub const GUEST_TIMEOUT_S: u64 = 60;

/// The harness kills a run (native or elfin) that is still going after this.
pub const HARD_TIMEOUT: Duration = Duration::from_secs(GUEST_TIMEOUT_S + 60);

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `static-pie-apps/out`, where `static-pie-apps/build.sh` puts the programs.
pub fn apps_dir() -> PathBuf {
    repo_root().join("static-pie-apps").join("out")
}

/// The `elfin` CLI: `$ELFIN_BIN`, else `<repo>/target/release/elfin`. Panics with
/// the build command when it does not exist.
pub fn elfin_bin() -> PathBuf {
    let path = match std::env::var_os("ELFIN_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target").join("release").join("elfin"),
    };
    assert!(
        path.is_file(),
        "the elfin CLI is missing at {}: build it with `cargo build --release -p elfin-cli` \
         (and the kernel it boots), or point ELFIN_BIN at it",
        path.display()
    );
    path
}

/// A guest program: `static-pie-apps/out/<arch>/<kind>/<name>`, e.g.
/// `app("x86_64", "glibc", "hello")`. Panics with the build command when missing.
pub fn app(arch: &str, kind: &str, name: &str) -> PathBuf {
    let path = apps_dir().join(arch).join(kind).join(name);
    assert!(
        path.exists(),
        "guest program {} is missing (or a dangling link into the build cache): \
         run `static-pie-apps/build.sh {arch}`",
        path.display()
    );
    path
}

/// `/app/<basename>`: where the CLI places a program in the guest, and its default argv[0].
pub fn guest_path_of(bin: &Path) -> String {
    let name = bin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("/app/{name}")
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct Output {
    /// Shell-style status: the exit code, or 128+N when killed by signal N.
    pub status: i32,
    /// Standard output, byte-exact.
    pub stdout: Vec<u8>,
    /// Standard error, byte-exact.
    pub stderr: Vec<u8>,
    /// Kernel messages (elfin runs only: `--kernel-log`), kept apart from stderr.
    pub kernel: Vec<u8>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl Output {
    /// stdout as (lossy) UTF-8.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as (lossy) UTF-8.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Kernel messages as (lossy) UTF-8.
    pub fn kernel_str(&self) -> String {
        String::from_utf8_lossy(&self.kernel).into_owned()
    }

    /// Everything elfin and the program said on the side: stderr and kernel messages.
    pub fn messages(&self) -> String {
        format!("{}{}", self.stderr_str(), self.kernel_str())
    }

    /// A readable dump for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {} (after {:.2?})\n--- stdout ({} bytes) ---\n{}\n--- stderr ({} bytes) ---\n{}\n--- kernel messages ({} bytes) ---\n{}\n---",
            self.command,
            self.status,
            self.elapsed,
            self.stdout.len(),
            shorten(&self.stdout_str(), 4000),
            self.stderr.len(),
            shorten(&self.stderr_str(), 4000),
            self.kernel.len(),
            shorten(&self.kernel_str(), 4000),
        )
    }
}

/// Shell-style status of a finished process.
pub fn shell_status(s: ExitStatus) -> i32 {
    match (s.code(), s.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => -1,
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n[... {} more bytes]", &s[..cut], s.len() - cut)
}

fn quote(s: &OsStr) -> String {
    let t = s.to_string_lossy();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c)) {
        t.into_owned()
    } else {
        format!("'{}'", t.replace('\'', r"'\''"))
    }
}

fn describe_command(cmd: &Command, argv0: Option<&str>) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            let _ = write!(s, "{}={} ", quote(k), quote(v));
        }
    }
    s.push_str(&quote(cmd.get_program()));
    if let Some(a0) = argv0 {
        let _ = write!(s, " [argv0 {}]", quote(OsStr::new(a0)));
    }
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}

/// Runs `cmd` with `stdin` (None: /dev/null), collecting stdout and stderr, and
/// kills it after [`HARD_TIMEOUT`].
pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>, what: String) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // A program that exits without reading all of stdin closes the
            // pipe; the write error is expected then.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout is piped")));
    let err = reader(Box::new(child.stderr.take().expect("stderr is piped")));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > HARD_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} still running after {HARD_TIMEOUT:?}: killed");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    let elapsed = start.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Output {
        status: shell_status(status),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        kernel: Vec::new(),
        elapsed,
        command: what,
    }
}

/// Runs `bin` natively the way the guest would: argv[0] is `argv0` (default
/// `/app/<basename>`), the environment is exactly [`GUEST_ENV`] plus `env`, and
/// the working directory is `/`.
pub fn run_native(
    bin: &Path,
    argv0: Option<&str>,
    args: &[&OsStr],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Output {
    let argv0 = argv0.map(str::to_owned).unwrap_or_else(|| guest_path_of(bin));
    let mut cmd = Command::new(bin);
    cmd.arg0(&argv0).args(args).env_clear().current_dir("/");
    for (k, v) in GUEST_ENV.iter().chain(env) {
        cmd.env(k, v);
    }
    let what = format!("native: {}", describe_command(&cmd, Some(&argv0)));
    run_command(cmd, stdin, what)
}

/// Like [`run_native`] for a program of `arch`: on another arch than the host's,
/// it runs under `qemu-<arch>-static` (user-mode emulation, package
/// qemu-user-static), which sets argv[0] with `-0`.
pub fn run_native_on(
    arch: &str,
    bin: &Path,
    argv0: Option<&str>,
    args: &[&OsStr],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Output {
    if arch == std::env::consts::ARCH {
        return run_native(bin, argv0, args, env, stdin);
    }
    let argv0 = argv0.map(str::to_owned).unwrap_or_else(|| guest_path_of(bin));
    let qemu = format!("qemu-{arch}-static");
    let mut cmd = Command::new(&qemu);
    cmd.arg("-0").arg(&argv0).arg(bin).args(args).env_clear().current_dir("/");
    for (k, v) in GUEST_ENV.iter().chain(env) {
        cmd.env(k, v);
    }
    let what = format!("native ({qemu}): {}", describe_command(&cmd, None));
    run_command(cmd, stdin, what)
}

/// Options of one `elfin run`.
#[derive(Clone, Debug, Default)]
pub struct ElfinOpts {
    /// `--arch` (None: the CLI's default).
    pub arch: Option<String>,
    /// `-e K=V`, in order.
    pub env: Vec<(String, String)>,
    /// `-v HOST:GUEST`.
    pub volumes: Vec<(PathBuf, String)>,
    /// `--no-aslr`.
    pub no_aslr: bool,
    /// `--argv0`.
    pub argv0: Option<String>,
    /// `-w DIR`.
    pub workdir: Option<String>,
    /// Bytes fed to the program's stdin (None: /dev/null).
    pub stdin: Option<Vec<u8>>,
    /// More CLI options, placed before PROGRAM.
    pub extra: Vec<OsString>,
}

impl ElfinOpts {
    /// Adds `-e K=V`.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// Adds `-v HOST:GUEST`.
    pub fn volume(mut self, host: &Path, guest: &str) -> Self {
        self.volumes.push((host.to_owned(), guest.to_owned()));
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self
    }

    /// Sets `--no-aslr`.
    pub fn no_aslr(mut self) -> Self {
        self.no_aslr = true;
        self
    }

    /// Sets `--argv0`.
    pub fn argv0(mut self, a: &str) -> Self {
        self.argv0 = Some(a.to_owned());
        self
    }

    /// Sets `--arch`.
    pub fn arch(mut self, a: &str) -> Self {
        self.arch = Some(a.to_owned());
        self
    }
}

/// The `elfin run ...` command for `bin args` (without running it).
pub fn elfin_command(bin: &Path, args: &[&OsStr], opts: &ElfinOpts) -> Command {
    let mut cmd = Command::new(elfin_bin());
    cmd.arg("run").arg("--timeout").arg(GUEST_TIMEOUT_S.to_string());
    if let Some(a) = &opts.arch {
        cmd.arg("--arch").arg(a);
    }
    if opts.no_aslr {
        cmd.arg("--no-aslr");
    }
    for (k, v) in &opts.env {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    for (h, g) in &opts.volumes {
        let mut spec = h.clone().into_os_string();
        spec.push(":");
        spec.push(g);
        cmd.arg("-v").arg(spec);
    }
    if let Some(w) = &opts.workdir {
        cmd.arg("-w").arg(w);
    }
    if let Some(a) = &opts.argv0 {
        cmd.arg("--argv0").arg(a);
    }
    if let Some(n) = test_smp() {
        if !opts.extra.iter().any(|a| a == "--smp") {
            cmd.arg("--smp").arg(n.to_string());
        }
    }
    cmd.args(&opts.extra);
    cmd.arg(bin).args(args);
    cmd
}

/// The CPU count every guest run gets when `ELFIN_TEST_SMP` is set (the whole
/// suite then runs on that many CPUs); tests that choose their own keep theirs.
pub fn test_smp() -> Option<u32> {
    std::env::var("ELFIN_TEST_SMP").ok()?.parse().ok().filter(|&n| n >= 1)
}

/// Runs `bin args` in an elfin guest (`elfin run --timeout 60 ...`).
/// Kernel messages go to a file of their own (`--kernel-log`), so that the guest's
/// stderr can be compared byte for byte with the native run's.
pub fn run_elfin(bin: &Path, args: &[&OsStr], opts: &ElfinOpts) -> Output {
    let log = scratch_dir("kernel-log").join("kernel.log");
    let mut opts = opts.clone();
    opts.extra.push("--kernel-log".into());
    opts.extra.push(log.clone().into_os_string());
    let cmd = elfin_command(bin, args, &opts);
    let what = format!("elfin: {}", describe_command(&cmd, None));
    let mut out = run_command(cmd, opts.stdin.as_deref(), what);
    out.kernel = std::fs::read(&log).unwrap_or_default();
    if let Some(dir) = log.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    out
}

/// Shorthand for argument lists: `args(&["a", "b"])`.
pub fn args<'a>(a: &'a [&'a str]) -> Vec<&'a OsStr> {
    a.iter().map(OsStr::new).collect()
}

/// A fresh, empty directory for one test's files, under this test process's
/// scratch directory (see [`scratch_base`]).
pub fn scratch_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = scratch_base().join(format!("elfin-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Where scratch directories go: cargo's `target/tmp` (found from the test
/// binary's path, `target/<profile>/deps/<test>`), else the system's temporary
/// directory. The first call removes the scratch directories of test processes
/// that are gone, so that repeated runs do not pile them up.
pub fn scratch_base() -> PathBuf {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let from_exe = std::env::current_exe().ok().and_then(|e| Some(e.parent()?.parent()?.parent()?.join("tmp")));
        let base = from_exe.filter(|d| std::fs::create_dir_all(d).is_ok()).unwrap_or_else(std::env::temp_dir);
        remove_stale_scratch(&base);
        base
    })
    .clone()
}

/// Removes `elfin-TAG-PID-N` directories in `base` whose process no longer runs.
fn remove_stale_scratch(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let mut parts = name.rsplitn(3, '-');
        let (Some(_n), Some(pid), Some(head)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if head.starts_with("elfin-") && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), for stdin and file contents.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The frame counts the kernel reports at exit (`--log-level info` prints
/// `elfin: frames free after exit: X (before load: Y, total Z)`): (X, Y).
/// Panics when the line is missing.
pub fn frames_report(guest: &Output) -> (u64, u64) {
    let k = guest.kernel_str();
    let line = k
        .lines()
        .find(|l| l.contains("frames free after exit:"))
        .unwrap_or_else(|| panic!("no frame report in the kernel messages:\n{}", guest.describe()));
    let nums: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).filter_map(|w| w.parse().ok()).collect();
    assert!(nums.len() >= 2, "cannot read `{line}`");
    (nums[0], nums[1])
}

/// A directory holding busybox for `arch` and a relative symlink to it for every
/// applet it has (`sh`, `cat`, `xargs`, ...), made once per test process. Given to
/// the guest as `-v DIR:/bin`, it is the guest's `/bin` (so `/bin/sh` exists for
/// `system()` and `popen()`); natively, `PATH=DIR` makes a script run busybox's
/// applets, the same code as in the guest.
pub fn busybox_bin(arch: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DIRS: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut dirs = DIRS.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = dirs.get(arch) {
        return d.clone();
    }
    let bb = app(arch, "debian", "busybox");
    let list = run_native_on(arch, &bb, None, &args(&["--list"]), &[], None);
    assert!(list.status == 0 && list.stdout_str().contains("\nsh\n"), "busybox --list:\n{}", list.describe());
    let dir = scratch_dir(&format!("busybox-bin-{arch}"));
    let target = dir.join("busybox");
    // out/ holds symlinks into the build cache: link the file itself, not the
    // symlink, which would dangle inside the guest.
    let bb = std::fs::canonicalize(&bb).unwrap_or(bb);
    if std::fs::hard_link(&bb, &target).is_err() {
        std::fs::copy(&bb, &target).unwrap_or_else(|e| panic!("copying {}: {e}", bb.display()));
    }
    for applet in list.stdout_str().lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", dir.join(applet))
            .unwrap_or_else(|e| panic!("symlink {applet} in {}: {e}", dir.display()));
    }
    dirs.insert(arch.to_owned(), dir.clone());
    dir
}

// ------------------------------------------------------------ comparison --

/// Keeps the lines that start with none of `prefixes`.
pub fn drop_lines(text: &str, prefixes: &[&str]) -> String {
    text.lines().filter(|l| !prefixes.iter().any(|p| l.starts_with(p))).map(|l| format!("{l}\n")).collect()
}

/// The lines that start with `prefix`.
pub fn lines_with(text: &str, prefix: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with(prefix)).map(str::to_owned).collect()
}

/// The value of the `addr: NAME 0x...` line (auxv_probe's output).
pub fn addr_of(text: &str, name: &str) -> Option<u64> {
    let key = format!("addr: {name} ");
    let line = text.lines().find(|l| l.starts_with(&key))?;
    u64::from_str_radix(line[key.len()..].trim().trim_start_matches("0x"), 16).ok()
}

/// Replaces every occurrence of `from` by `to` (bytes).
pub fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// A line diff of `expected` (e.g. native) and `actual` (e.g. guest): `-` marks
/// lines only in `expected`, `+` lines only in `actual`; `None` when equal.
pub fn diff_text(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let mut out = String::new();
    if a.len() * b.len() > 4_000_000 {
        // Too big for the quadratic LCS: show the first difference.
        let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let _ = writeln!(out, "first difference at line {}:", i + 1);
        let _ = writeln!(out, "- {:?}", a.get(i).copied().unwrap_or("<end of output>"));
        let _ = writeln!(out, "+ {:?}", b.get(i).copied().unwrap_or("<end of output>"));
        return Some(out);
    }
    // LCS table, then walk it.
    let (n, m) = (a.len(), b.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * (m + 1) + j] = if a[i] == b[j] {
                t[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
            };
        }
    }
    let show = |l: &str| -> String {
        let body = l.strip_suffix('\n').unwrap_or(l);
        let mut s = format!("{body:?}");
        s = s[1..s.len() - 1].to_owned();
        if !l.ends_with('\n') {
            s.push_str("  [no newline at end]");
        }
        s
    };
    let (mut i, mut j, mut same_run) = (0, 0, 0usize);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            same_run += 1;
            if same_run <= 2 {
                let _ = writeln!(out, "  {}", show(a[i]));
            } else if same_run == 3 {
                out.push_str("  ...\n");
            }
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
            same_run = 0;
            let _ = writeln!(out, "- {}", show(a[i]));
            i += 1;
        } else {
            same_run = 0;
            let _ = writeln!(out, "+ {}", show(b[j]));
            j += 1;
        }
    }
    Some(shorten(&out, 8000))
}

/// Describes how two byte strings differ (for binary data).
pub fn diff_bytes(expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let i = expected.iter().zip(actual).take_while(|(x, y)| x == y).count();
    let around = |v: &[u8]| {
        let lo = i.saturating_sub(8);
        let hi = (i + 8).min(v.len());
        format!("{:02x?}", &v[lo..hi])
    };
    Some(format!(
        "lengths {} vs {}; first difference at byte {i}: {} vs {}",
        expected.len(),
        actual.len(),
        around(expected),
        around(actual)
    ))
}

/// Collects mismatches between a native and a guest run, then reports them all
/// at once.
pub struct Comparison {
    problems: Vec<String>,
    left: &'static str,
    right: &'static str,
}

impl Default for Comparison {
    fn default() -> Self {
        Self { problems: Vec::new(), left: "native", right: "guest" }
    }
}

impl Comparison {
    /// Starts an empty comparison of a native (left) and a guest (right) run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts an empty comparison with other names for the two sides, e.g.
    /// ("expected", "guest") or ("boot 1", "boot 2").
    pub fn labeled(left: &'static str, right: &'static str) -> Self {
        Self { problems: Vec::new(), left, right }
    }

    /// Text must be equal (line diff on mismatch).
    pub fn text(&mut self, what: &str, native: &str, guest: &str) -> &mut Self {
        if let Some(d) = diff_text(native, guest) {
            self.problems.push(format!("{what} differs (- {}, + {}):\n{d}", self.left, self.right));
        }
        self
    }

    /// Bytes must be equal.
    pub fn bytes(&mut self, what: &str, native: &[u8], guest: &[u8]) -> &mut Self {
        if std::str::from_utf8(native).is_ok() && std::str::from_utf8(guest).is_ok() && native.len() < 1 << 16 {
            return self.text(what, &String::from_utf8_lossy(native), &String::from_utf8_lossy(guest));
        }
        if let Some(d) = diff_bytes(native, guest) {
            self.problems.push(format!("{what} differs ({} vs {}): {d}", self.left, self.right));
        }
        self
    }

    /// Statuses must be equal.
    pub fn status(&mut self, native: i32, guest: i32) -> &mut Self {
        if native != guest {
            self.problems.push(format!("status differs: {} {native}, {} {guest}", self.left, self.right));
        }
        self
    }

    /// A free-form check.
    pub fn check(&mut self, ok: bool, msg: impl Into<String>) -> &mut Self {
        if !ok {
            self.problems.push(msg.into());
        }
        self
    }

    /// Status, stdout and stderr all equal.
    pub fn outputs(&mut self, native: &Output, guest: &Output) -> &mut Self {
        self.status(native.status, guest.status);
        self.bytes("stdout", &native.stdout, &guest.stdout);
        self.bytes("stderr", &native.stderr, &guest.stderr);
        self
    }

    /// Panics with every problem and both runs (the left one if given), if
    /// there is any problem.
    pub fn finish(&self, native: Option<&Output>, guest: &Output) {
        if self.problems.is_empty() {
            return;
        }
        let mut msg = String::new();
        for p in &self.problems {
            let _ = writeln!(msg, "{p}");
        }
        if let Some(n) = native {
            let _ = writeln!(msg, "\n=== {} run ===\n{}", self.left, n.describe());
        }
        let _ = writeln!(msg, "\n=== {} run ===\n{}", self.right, guest.describe());
        panic!("{msg}");
    }
}

/// The usual differential check: status, stdout and stderr byte-equal.
pub fn assert_same(native: &Output, guest: &Output) {
    Comparison::new().outputs(native, guest).finish(Some(native), guest);
}

/// The kernel's one-line reports of system calls it does not implement
/// (`elfin: unsupported syscall NAME (NR)`).
pub fn unsupported_syscalls(guest: &Output) -> Vec<String> {
    guest.kernel_str().lines().filter(|l| l.contains("unsupported syscall")).map(str::to_owned).collect()
}

/// Like [`assert_same`]; when the runs differ and the kernel reported
/// unsupported system calls, the failure message starts with them, since they
/// are the likely cause.
pub fn assert_same_explained(native: &Output, guest: &Output) {
    let differs = native.status != guest.status || native.stdout != guest.stdout || native.stderr != guest.stderr;
    let missing = unsupported_syscalls(guest);
    Comparison::new()
        .check(
            !differs || missing.is_empty(),
            format!("the guest kernel reported unsupported system calls: {}", missing.join("; ")),
        )
        .outputs(native, guest)
        .finish(Some(native), guest);
}

/// Runs `bin` natively and in elfin with the same argv, env and stdin, and
/// checks that status, stdout and stderr are equal.
pub fn differential(bin: &Path, argv: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> (Output, Output) {
    let a = args(argv);
    let native = run_native(bin, None, &a, env, stdin);
    let mut opts = ElfinOpts { stdin: stdin.map(<[u8]>::to_vec), ..ElfinOpts::default() };
    for (k, v) in env {
        opts = opts.env(k, v);
    }
    let guest = run_elfin(bin, &a, &opts);
    assert_same(&native, &guest);
    (native, guest)
}

// ------------------------------------------------------------ servers --

/// A port nobody on the host uses right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let p = l.local_addr().expect("local_addr").port();
    drop(l);
    p
}

/// Calls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub fn retry_until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A host command the tests drive servers with (`curl`): its path, installed
/// with apt-get from Debian package `pkg` when missing and we are root. None
/// when it cannot be had; the caller then says why it skips.
pub fn host_tool(cmd: &str, pkg: &str) -> Option<PathBuf> {
    let find = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return Some(p);
    }
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", pkg])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    find()
}

/// A server running in the background (natively or in `elfin run`), its
/// stdout and stderr collected until it ends.
pub struct Background {
    child: std::process::Child,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
    start: Instant,
    what: String,
}

impl Background {
    /// Starts `cmd` with stdin from /dev/null.
    pub fn start(mut cmd: Command) -> Self {
        let what = describe_command(&cmd, None);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let reader = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        };
        let out = Some(reader(Box::new(child.stdout.take().expect("stdout is piped"))));
        let err = Some(reader(Box::new(child.stderr.take().expect("stderr is piped"))));
        Background { child, out, err, start: Instant::now(), what }
    }

    /// Sends SIGTERM (elfin passes it on to QEMU), then collects the output.
    pub fn stop(mut self) -> Output {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        }
        self.finish()
    }

    /// Waits for the server to end by itself (at most [`HARD_TIMEOUT`]).
    pub fn wait(mut self) -> Output {
        self.finish()
    }

    fn finish(&mut self) -> Output {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if self.start.elapsed() > HARD_TIMEOUT => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("{} still running after {HARD_TIMEOUT:?}: killed", self.what);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("waiting for {}: {e}", self.what),
            }
        };
        Output {
            status: shell_status(status),
            stdout: self.out.take().and_then(|h| h.join().ok()).unwrap_or_default(),
            stderr: self.err.take().and_then(|h| h.join().ok()).unwrap_or_default(),
            kernel: Vec::new(),
            elapsed: self.start.elapsed(),
            command: self.what.clone(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // A failed test must not leave a server (or its QEMU) behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines() {
        assert_eq!(diff_text("a\nb\n", "a\nb\n"), None);
        let d = diff_text("a\nb\nc\n", "a\nB\nc\n").expect("differs");
        assert!(d.contains("- b") && d.contains("+ B"), "{d}");
        let d = diff_text("a\n", "a").expect("differs");
        assert!(d.contains("no newline"), "{d}");
    }

    #[test]
    fn filters_and_addresses() {
        let t = "x: 1\naddr: code 0x1000\nhost: y\nz\n";
        assert_eq!(drop_lines(t, &["addr:", "host:"]), "x: 1\nz\n");
        assert_eq!(addr_of(t, "code"), Some(0x1000));
        assert_eq!(addr_of(t, "stack"), None);
        assert_eq!(replace_bytes(b"a/h/x b", b"/h/x", b"/data/x"), b"a/data/x b");
    }

    #[test]
    fn native_runs_get_the_guest_env_and_argv0() {
        let out = run_native(
            Path::new("/bin/sh"),
            Some("/app/sh"),
            &args(&["-c", "echo \"$0|$PATH|$HOME|$E\"; pwd"]),
            &[("E", "1")],
            None,
        );
        assert_eq!(out.stdout_str(), "/app/sh|/usr/local/bin:/usr/bin:/bin|/|1\n/\n");
        let out = run_native(Path::new("/bin/sh"), None, &args(&["-c", "cat; exit 3"]), &[], Some(b"in\xff"));
        assert_eq!((out.status, out.stdout.as_slice()), (3, &b"in\xff"[..]));
        let out = run_native(Path::new("/bin/sh"), None, &args(&["-c", "kill -SEGV $$"]), &[], None);
        assert_eq!(out.status, 139);
    }
}
