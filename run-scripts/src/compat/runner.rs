//! Running one case twice: natively (in a scratch directory that mirrors the guest's
//! work directory; under `qemu-<arch>-static` for another arch) and in elfin (this
//! same binary's `elfin run`, one VM per case).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::compare::Outcome;
use super::manifest::{Case, GUEST_WORK};
use crate::arch::Arch;
use crate::options::DEFAULT_ENV;

/// Grace after the guest's own `--timeout` before the harness kills `elfin run`.
const ELFIN_GRACE: Duration = Duration::from_secs(30);

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> std::io::Result<Scratch> {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "elfin-compat-{}-{nanos:x}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a host file or tree to `to`, keeping permissions and symlinks.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        std::fs::set_permissions(to, meta.permissions())?;
        std::fs::File::open(to)?.set_modified(meta.modified()?)
    } else {
        std::fs::copy(from, to)?;
        // Keep the mtime, as `elfin run -v` does, so that `ls -l` and the like agree
        // (futimens needs only ownership, not write access).
        std::fs::File::open(to)?.set_modified(meta.modified()?)
    }
}

/// Removes what qemu-user itself adds to a program's stderr (its report of the
/// signal that killed the program), which a program on Linux does not print.
pub fn drop_emulator_lines(stderr: &[u8]) -> Vec<u8> {
    stderr
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"qemu: uncaught target signal "))
        .flatten()
        .copied()
        .collect()
}

/// Replaces every `from` in `hay` by `to`.
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

/// Runs `cmd` with `stdin`, collecting its output; stops it after `limit`
/// (status None then).
fn run_process(mut cmd: Command, stdin: Option<&[u8]>, limit: Duration) -> Outcome {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout also stops what it started.
        .process_group(0);
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                error: Some(format!("cannot start {}: {e}", cmd.get_program().to_string_lossy())),
                ..Outcome::default()
            }
        }
    };
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // A program that exits without reading all of stdin closes the pipe.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() > limit => {
                // The whole group (grandchildren hold the output pipes open too);
                // kill(1) keeps this module free of unsafe code.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let duration = start.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Outcome {
        status: status.map(|s| match (s.code(), s.signal()) {
            (Some(c), _) => c,
            (None, Some(sig)) => 128 + sig,
            (None, None) => -1,
        }),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        duration,
        ..Outcome::default()
    }
}

/// Runs the case natively: env cleared to the guest's, argv[0] the guest's, cwd a
/// scratch copy of the guest's work directory. The scratch directory is named
/// `work`, like the guest's, and its path in the output is replaced by `/work`, so
/// that programs printing their working directory agree.
pub fn run_native(case: &Case) -> Outcome {
    let scratch = match Scratch::new("native") {
        Ok(s) => s,
        Err(e) => return error(format!("cannot create a scratch directory: {e}")),
    };
    let work = scratch.0.join("work");
    let work = match std::fs::create_dir(&work).and_then(|()| std::fs::canonicalize(&work)) {
        Ok(w) => w,
        Err(e) => return error(format!("cannot create {}: {e}", work.display())),
    };
    for (rel, host) in &case.files {
        if let Err(e) = copy_tree(host, &work.join(rel)) {
            return error(format!("cannot copy {} for the native run: {e}", host.display()));
        }
    }
    let cwd = work.join(&case.cwd);
    if let Err(e) = std::fs::create_dir_all(&cwd) {
        return error(format!("cannot create {}: {e}", cwd.display()));
    }
    let emulated = Some(case.arch) != Arch::host();
    let mut cmd = if !emulated {
        let mut c = Command::new(&case.program);
        c.arg0(&case.argv0);
        c
    } else {
        let mut c = Command::new(format!("qemu-{}-static", case.arch.name()));
        c.arg("-0").arg(&case.argv0).arg(&case.program);
        c
    };
    cmd.args(&case.args).env_clear().current_dir(&cwd);
    for (k, v) in DEFAULT_ENV.iter().copied().chain(case.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        cmd.env(k, v);
    }
    let mut out = run_process(cmd, case.stdin.as_deref(), Duration::from_secs(case.timeout));
    let path = work.as_os_str().as_encoded_bytes();
    out.stdout = replace_bytes(&out.stdout, path, GUEST_WORK.as_bytes());
    out.stderr = replace_bytes(&out.stderr, path, GUEST_WORK.as_bytes());
    if emulated {
        out.stderr = drop_emulator_lines(&out.stderr);
    }
    let files: BTreeMap<String, Option<Vec<u8>>> =
        case.outputs.iter().map(|o| (o.clone(), std::fs::read(work.join(o)).ok())).collect();
    out.files = Some(files);
    out
}

fn error(msg: String) -> Outcome {
    Outcome { error: Some(msg), ..Outcome::default() }
}

/// The `elfin run` arguments for a case (after the `elfin` binary itself).
pub fn elfin_args(case: &Case, kernel: &Path, kernel_log: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "run".into(),
        "--arch".into(),
        case.arch.name().into(),
        "--kernel".into(),
        kernel.into(),
        "--kernel-log".into(),
        kernel_log.into(),
        "--timeout".into(),
        case.timeout.to_string().into(),
    ];
    if let Some(m) = &case.mem {
        a.push("-m".into());
        a.push(m.into());
    }
    if let Some(t) = &case.tools {
        a.push("--busybox".into());
        a.push(t.into());
    }
    for (k, v) in &case.env {
        a.push("-e".into());
        a.push(format!("{k}={v}").into());
    }
    for (rel, host) in &case.files {
        let mut spec = host.clone().into_os_string();
        spec.push(format!(":{GUEST_WORK}/{rel}"));
        a.push("-v".into());
        a.push(spec);
    }
    a.push("-w".into());
    a.push(if case.cwd.is_empty() { GUEST_WORK.into() } else { format!("{GUEST_WORK}/{}", case.cwd).into() });
    a.push("--argv0".into());
    a.push((&case.argv0).into());
    a.push(case.program.clone().into_os_string());
    a.extend(case.args.iter().map(OsString::from));
    a
}

/// Runs the case in elfin through `elfin` (the binary at `elfin`) with `kernel`.
pub fn run_elfin(case: &Case, elfin: &Path, kernel: &Path) -> Outcome {
    let scratch = match Scratch::new("elfin") {
        Ok(s) => s,
        Err(e) => return error(format!("cannot create a scratch directory: {e}")),
    };
    let log = scratch.0.join("kernel.log");
    let mut cmd = Command::new(elfin);
    cmd.args(elfin_args(case, kernel, &log));
    let limit = Duration::from_secs(case.timeout) + ELFIN_GRACE;
    let mut out = run_process(cmd, case.stdin.as_deref(), limit);
    out.kernel_log = std::fs::read(&log).unwrap_or_default();
    // Files written in the guest live in its RAM filesystem and end with the VM.
    out.files = None;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elfin_command_line() {
        let case = Case {
            name: "c".into(),
            program_name: "busybox".into(),
            arch: Arch::Aarch64,
            program: "/o/busybox".into(),
            argv0: "/app/busybox".into(),
            args: vec!["cat".into(), "in.txt".into()],
            stdin: None,
            env: vec![("K".into(), "V".into())],
            files: vec![("in.txt".into(), "/m/data/in.txt".into())],
            cwd: String::new(),
            stderr: true,
            outputs: vec![],
            timeout: 7,
            mem: Some("128M".into()),
            tools: None,
            note: None,
            flaky: None,
        };
        let a: Vec<String> = elfin_args(&case, Path::new("/k"), Path::new("/l"))
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            a.join(" "),
            "run --arch aarch64 --kernel /k --kernel-log /l --timeout 7 -m 128M -e K=V \
             -v /m/data/in.txt:/work/in.txt -w /work --argv0 /app/busybox /o/busybox cat in.txt"
        );
    }

    #[test]
    fn native_runs_like_the_guest() {
        let dir = Scratch::new("test").expect("scratch");
        std::fs::write(dir.0.join("f"), "data\n").expect("write");
        let case = Case {
            name: "sh".into(),
            program_name: "sh".into(),
            arch: Arch::host().expect("a supported host"),
            program: "/bin/sh".into(),
            argv0: "/app/sh".into(),
            args: vec!["-c".into(), "echo \"$0|$PATH|$HOME|$K\"; pwd; cat sub/f; echo out > o; cat; exit 3".into()],
            stdin: Some(b"in\n".to_vec()),
            env: vec![("K".into(), "V".into())],
            files: vec![("sub/f".into(), dir.0.join("f"))],
            cwd: String::new(),
            stderr: true,
            outputs: vec!["o".into(), "missing".into()],
            timeout: 10,
            mem: None,
            tools: None,
            note: None,
            flaky: None,
        };
        let out = run_native(&case);
        assert_eq!(out.status, Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/app/sh|/usr/local/bin:/usr/bin:/bin|/|V\n/work\ndata\nin\n");
        let files = out.files.expect("files");
        assert_eq!(files.get("o"), Some(&Some(b"out\n".to_vec())));
        assert_eq!(files.get("missing"), Some(&None));
        let slow = Case { args: vec!["-c".into(), "sleep 5".into()], timeout: 1, stdin: None, ..case };
        assert_eq!(run_native(&slow).status, None);
    }

    #[test]
    fn replaces_bytes() {
        assert_eq!(replace_bytes(b"a/t/w b/t/w", b"/t/w", b"/work"), b"a/work b/work");
        assert_eq!(replace_bytes(b"abc", b"", b"x"), b"abc");
        assert_eq!(
            drop_emulator_lines(b"a\nqemu: uncaught target signal 11 (Segmentation fault) - core dumped\nb"),
            b"a\nb"
        );
    }
}
