//! The console as a terminal (issue 15): under a real pseudo-terminal an
//! interactive busybox `sh` sees the window size and its changes (SIGWINCH),
//! runs a command, loses `sleep 100` to Ctrl-C (SIGINT to the foreground group)
//! and exits with a status; with stdin a pipe the console is no terminal, as on
//! Linux. The pty side is `tests/tty/sh_session.py` (Python's `pty` module).

use std::process::Command;

use elfin_tests::*;

fn session(arch: &str) {
    let bin = busybox_bin(arch);
    let script = repo_root().join("tests").join("tty").join("sh_session.py");
    let bb = bin.join("busybox");
    let mut opts = ElfinOpts::default().arch(arch).env("PS1", "$ ").volume(&bin, "/bin");
    opts.env.extend(GUEST_ENV.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let elfin = elfin_command(&bb, &args(&["sh", "-i"]), &opts);
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(elfin.get_program()).args(elfin.get_args());
    let out = run_command(cmd, None, format!("{} under a pty", script.display()));
    assert!(out.status == 0 && out.stdout_str().starts_with("ok"), "{}", out.describe());
}

#[test]
fn interactive_shell_under_a_pty() {
    session("x86_64");
}

/// With stdin a pipe the console is no terminal: `test -t 0` is false, /dev/tty
/// cannot be opened, and the bytes pass untouched (no echo, no CR/NL mapping).
#[test]
fn piped_stdin_is_no_terminal() {
    let dir = busybox_bin("x86_64");
    let bin = dir.join("busybox");
    let common = "test -t 0 && echo tty || echo notty; od -An -c";
    let stdin = b"a\rb\x03\x7f\n";
    // Natively /dev/tty depends on how the tests were started: only the guest checks it.
    let path = dir.to_string_lossy().into_owned();
    let native = run_native(&bin, None, &args(&["sh", "-c", common]), &[("PATH", &path)], Some(stdin));
    let with_dev_tty = format!("(exec </dev/tty) 2>/dev/null || echo no-dev-tty; {common}");
    let guest =
        run_elfin(&bin, &args(&["sh", "-c", &with_dev_tty]), &ElfinOpts::default().stdin(stdin).volume(&dir, "/bin"));
    let stdout = guest.stdout_str();
    let rest = stdout.strip_prefix("no-dev-tty\n");
    assert!(rest.is_some(), "/dev/tty opened without a terminal:\n{}", guest.describe());
    assert!(native.stdout_str().starts_with("notty\n"), "{}", native.describe());
    Comparison::new()
        .status(native.status, guest.status)
        .text("stdout", &native.stdout_str(), rest.unwrap_or_default())
        .finish(Some(&native), &guest);
}

/// /dev/console is the system console: with stdin a pipe it reads the host's
/// stdin and writes to stdout, and it is a character device 5,1 for root only.
/// (Natively it is the host's own console: only the guest is checked.)
#[test]
fn dev_console_is_the_console() {
    let dir = busybox_bin("x86_64");
    let bin = dir.join("busybox");
    let script = "echo to-console >/dev/console; read x </dev/console; echo \"read: $x\"; \
                  stat -c '%F %t,%T %a' /dev/console";
    let guest = run_elfin(
        &bin,
        &args(&["sh", "-c", script]),
        &ElfinOpts::default().stdin(b"from-stdin\n").volume(&dir, "/bin"),
    );
    assert_eq!(guest.status, 0, "{}", guest.describe());
    assert_eq!(
        guest.stdout_str(),
        "to-console\nread: from-stdin\ncharacter special file 5,1 600\n",
        "{}",
        guest.describe()
    );
}
