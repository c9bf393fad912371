//! Guest tests of sockets: AF_UNIX (socketpair, paths, the abstract namespace,
//! SCM_RIGHTS across fork, credentials) and TCP/UDP over loopback (127.0.0.1,
//! ::1) with their error cases and edge-triggered epoll
//! (static-pie-apps/src/net_*.c, glibc and musl).
//!
//! Every probe section runs in a guest of its own, against the same binary run
//! natively; each probe ends with `== done`. On arm64 the whole probe runs
//! against the x86_64 build run natively (the probes print the same on both
//! architectures; qemu-user is no reference for sockets shared across fork).
//! Then a leak check: thousands of connections opened and closed leave the
//! kernel's free-frame count where it was.

use std::path::Path;

use elfin_tests::*;

/// Fails with the native run when it is not a good reference.
fn check_native(native: &Output) {
    assert!(
        native.status == 0 && native.stdout_str().ends_with("== done\n") && native.stderr.is_empty(),
        "the native reference run is broken (the probe must exit 0 after `== done`, with empty stderr):\n{}",
        native.describe()
    );
}

fn compare_section(bin: &Path, section: &str) {
    let argv = [section];
    let a = args(&argv);
    let native = run_native(bin, None, &a, &[], None);
    check_native(&native);
    let guest = run_elfin(bin, &a, &ElfinOpts::default());
    assert_same_explained(&native, &guest);
}

fn section(libc: &str, probe: &str, section: &str) {
    compare_section(&app("x86_64", libc, probe), section);
}

/// One test per section and C library: `glibc::net_unix::rights`, ...
macro_rules! probe_tests {
    ($($probe:ident: [$($sec:ident),* $(,)?]),* $(,)?) => {
        mod glibc { $( mod $probe { $( #[test] fn $sec() { crate::section("glibc", stringify!($probe), stringify!($sec)) } )* } )* }
        mod musl { $( mod $probe { $( #[test] fn $sec() { crate::section("musl", stringify!($probe), stringify!($sec)) } )* } )* }
    };
}

probe_tests! {
    net_unix: [pair, stream, dgram, seqpacket, path, abstract_names, rights, creds, mmsg, epoll, select, opts, errors],
    net_inet: [tcp, refused, nonblock, udp, v6, errors, reset, epoll, opts, big],
}

/// The whole probe in an arm64 guest against the native x86_64 run.
fn arm64_probe(libc: &str, probe: &str) {
    let reference = run_native(&app("x86_64", libc, probe), Some(&format!("/app/{probe}")), &[], &[], None);
    check_native(&reference);
    let guest = run_elfin(&app("aarch64", libc, probe), &[], &ElfinOpts::default().arch("aarch64"));
    assert_same_explained(&reference, &guest);
}

/// `count` TCP connections (and UDP datagrams) opened, used and closed: the
/// same output as natively, and every frame free again after exit.
fn churn_no_leak(arch: &str, libc: &str, count: &str) {
    let reference = run_native(&app("x86_64", libc, "net_inet"), None, &args(&["churn", count]), &[], None);
    assert!(reference.stdout_str().ends_with("\nok\n"), "native run:\n{}", reference.describe());
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() }.arch(arch);
    let guest = run_elfin(&app(arch, libc, "net_inet"), &args(&["churn", count]), &opts);
    assert_same_explained(&reference, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(
        after,
        before,
        "frames leaked by {count} connections: {} ({after} free after exit, {before} before load)",
        before as i64 - after as i64
    );
}

/// The probes that pass descriptors around and reset connections leave no
/// frame behind either.
fn probes_no_leak(libc: &str) {
    for probe in ["net_unix", "net_inet"] {
        let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
        let guest = run_elfin(&app("x86_64", libc, probe), &[], &opts);
        assert!(
            guest.status == 0 && guest.stdout_str().ends_with("== done\n"),
            "{probe} did not complete in the guest:\n{}",
            guest.describe()
        );
        let (after, before) = frames_report(&guest);
        assert_eq!(after, before, "frames leaked after {probe}: {}", before as i64 - after as i64);
    }
}

mod aarch64 {
    #[test]
    fn net_unix_glibc() {
        super::arm64_probe("glibc", "net_unix")
    }
    #[test]
    fn net_unix_musl() {
        super::arm64_probe("musl", "net_unix")
    }
    #[test]
    fn net_inet_glibc() {
        super::arm64_probe("glibc", "net_inet")
    }
    #[test]
    fn net_inet_musl() {
        super::arm64_probe("musl", "net_inet")
    }
    #[test]
    fn churn_no_leak() {
        super::churn_no_leak("aarch64", "musl", "2000")
    }
}

mod leaks {
    #[test]
    fn ten_thousand_connections_glibc() {
        super::churn_no_leak("x86_64", "glibc", "10000")
    }
    #[test]
    fn churn_musl() {
        super::churn_no_leak("x86_64", "musl", "2000")
    }
    #[test]
    fn probes_no_leak_glibc() {
        super::probes_no_leak("glibc")
    }
}
