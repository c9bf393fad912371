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
    net_inet: [tcp, refused, nonblock, udp, v6, errors, reset, epoll, edge, flags, limits, opts, big, relay, ifaces, procnet, udpfamily, linger, pktinfo, bindopts, raw],
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

/// Ephemeral-port exhaustion on loopback (`net_inet ports`): bind to port 0
/// until EADDRINUSE (TCP), connect then gives EADDRNOTAVAIL,
/// and every port is free again once the sockets are closed;
/// no frame leaked. The native reference runs in a network namespace of its
/// own with a 2,000-port range (its own ip_local_port_range; the host's
/// settings and ports are untouched, and Linux's bind to port 0 slows down as
/// the range fills); elfin has Linux's default range, 28,232 ports.
fn ports_exhausted(arch: &str, libc: &str) {
    let bin = app("x86_64", libc, "net_inet");
    let mut cmd = std::process::Command::new("unshare");
    cmd.arg("-n")
        .arg("sh")
        .arg("-c")
        .arg("ip link set lo up && echo '40000 41999' >/proc/sys/net/ipv4/ip_local_port_range && exec \"$0\" ports")
        .arg(&bin)
        .env_clear()
        .current_dir("/")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    let reference = run_command(cmd, None, format!("native (unshare -n): {} ports", bin.display()));
    assert!(reference.stdout_str().ends_with("\nok\n"), "native run:\n{}", reference.describe());
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() }.arch(arch);
    let guest = run_elfin(&app(arch, libc, "net_inet"), &args(&["ports"]), &opts);
    assert_same_explained(&reference, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(after, before, "frames leaked by port exhaustion: {}", before as i64 - after as i64);
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
    #[test]
    fn ports_exhausted() {
        super::ports_exhausted("aarch64", "musl")
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
    #[test]
    fn ports_exhausted_glibc() {
        super::ports_exhausted("x86_64", "glibc")
    }
}

// ------------------------------------------------------ servers from the host --
//
// A server runs natively (listening on a free port of the host) and in an elfin
// guest (its port published with `-p`, QEMU user networking); the same client
// talks to each. The server's output and what the client got must match.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A port nobody on the host uses right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let p = l.local_addr().expect("local_addr").port();
    drop(l);
    p
}

/// Runs the server `cmd`; once it prints `listening`, runs `client`; then waits
/// for the server to end. Returns its output and what the client said.
fn serve(mut cmd: Command, what: String, client: impl FnOnce() -> String) -> (Output, String) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = child.stdout.take().expect("stdout pipe");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line == b"listening\n" {
                        let _ = tx.send(());
                    }
                    all.extend_from_slice(&line);
                }
            }
        }
        all
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let said = match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(()) => client(),
        Err(_) => "the server never said `listening`".to_owned(),
    };
    let status = child.wait().expect("wait for the server");
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    let status = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    (Output { status, stdout, stderr, kernel: Vec::new(), elapsed: start.elapsed(), command: what }, said)
}

/// Retries a TCP connection while the forwarding or the server starts.
fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_secs(60))).ok();
                return s;
            }
            Err(e) if Instant::now() > deadline => panic!("cannot connect to port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Sends `data`, shuts the sending side down and reads everything back.
fn exchange(port: u16, data: &[u8]) -> Vec<u8> {
    // QEMU's forwarding accepts before the guest does: a connection the guest
    // refused (its server not listening yet, or its backlog full) shows as an
    // immediate end of file. An empty answer to a non-empty request is tried
    // again, for a few seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = exchange_once(port, data);
        if !got.is_empty() || data.is_empty() || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn exchange_once(port: u16, data: &[u8]) -> Vec<u8> {
    let mut s = connect(port);
    let writer = {
        let mut w = s.try_clone().expect("clone");
        let d = data.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&d);
            let _ = w.shutdown(Shutdown::Write);
        })
    };
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let _ = writer.join();
    got
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Both runs of a server: the x86_64 build natively on a free port, the
/// `arch` build in elfin with `-p HOSTPORT:guest_port` and `opts`.
fn server_both(
    arch: &str,
    bin: &Path,
    argv: &dyn Fn(u16) -> Vec<String>,
    guest_port: u16,
    udp: bool,
    opts: ElfinOpts,
    client: &dyn Fn(u16) -> String,
) {
    let np = free_port();
    let nargs = argv(np);
    // The reference for an arm64 guest is the x86_64 build of the same program.
    let native_bin = if arch == "x86_64" {
        bin.to_path_buf()
    } else {
        let mut p = bin.to_path_buf();
        let parts: Vec<String> = bin.iter().map(|c| c.to_string_lossy().into_owned()).collect();
        if let Some(i) = parts.iter().rposition(|c| c == arch) {
            p = parts.iter().enumerate().map(|(j, c)| if j == i { "x86_64" } else { c.as_str() }).collect();
        }
        p
    };
    let mut ncmd = Command::new(&native_bin);
    ncmd.args(&nargs).env_clear().current_dir("/").env("PATH", "/usr/local/bin:/usr/bin:/bin").env("HOME", "/");
    let (native, native_said) =
        serve(ncmd, format!("native: {} {}", native_bin.display(), nargs.join(" ")), || client(np));
    let hp = free_port();
    let gargs = argv(guest_port);
    let mut opts = opts;
    opts.extra.push("-p".into());
    opts.extra.push(format!("{hp}:{guest_port}{}", if udp { "/udp" } else { "" }).into());
    let a: Vec<&std::ffi::OsStr> = gargs.iter().map(std::ffi::OsStr::new).collect();
    let gcmd = elfin_command(bin, &a, &opts);
    let (guest, guest_said) = serve(gcmd, format!("elfin: -p {hp}:{guest_port} {}", bin.display()), || client(hp));
    assert_eq!(native_said, guest_said, "the client saw different answers (native, then elfin)");
    assert!(native.status == 0, "native server:\n{}", native.describe());
    assert_same_explained(&native, &guest);
}

/// The C echo server: three connections (small, 1 MiB, empty), each echoed.
fn echo_tcp(arch: &str, libc: &str, machine: Option<&str>) {
    let bin = app(arch, libc, "net_echo");
    let mut opts = ElfinOpts::default().arch(arch);
    if let Some(m) = machine {
        opts.extra.push("--machine".into());
        opts.extra.push(m.into());
    }
    let client = |port: u16| {
        let mut said = String::new();
        for (i, n) in [1000usize, 1 << 20, 0].iter().enumerate() {
            let data = pattern(*n, i as u8);
            let got = exchange(port, &data);
            said.push_str(&format!("connection {i}: sent {n}, echoed intact: {}\n", got == data));
        }
        said
    };
    server_both(arch, &bin, &|p| vec![p.to_string(), "3".into()], 7, false, opts, &client);
}

/// The C server in `send` mode: two clients at once each get 1 MiB from a
/// program that exits with both connections open. The clients wait before they
/// read, so that the data fills every buffer on the way and some is still in the
/// guest's when the program ends; all of it must arrive, as Linux goes on sending
/// for a process that has ended.
fn send_then_exit(arch: &str) {
    const BYTES: usize = 1 << 20;
    let bin = app(arch, "glibc", "net_echo");
    let client = |port: u16| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(move || {
                    // Retried while empty: the first connections may come before
                    // QEMU's forwarding or the server is up.
                    let deadline = Instant::now() + Duration::from_secs(10);
                    loop {
                        let mut s = connect(port);
                        let _ = s.shutdown(Shutdown::Write);
                        std::thread::sleep(Duration::from_millis(300));
                        let mut got = Vec::new();
                        let _ = s.read_to_end(&mut got);
                        if !got.is_empty() || Instant::now() > deadline {
                            return got;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                })
            })
            .collect();
        let want = pattern(BYTES, 0);
        handles
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let got = h.join().unwrap_or_default();
                format!("client {i}: {} bytes, intact: {}\n", got.len(), got == want)
            })
            .collect::<String>()
    };
    server_both(
        arch,
        &bin,
        &|p| vec![p.to_string(), "2".into(), "send".into(), BYTES.to_string()],
        7,
        false,
        ElfinOpts::default().arch(arch),
        &client,
    );
}

/// The C echo server over UDP: three datagrams.
fn echo_udp() {
    let bin = app("x86_64", "glibc", "net_echo");
    let client = |port: u16| {
        let s = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        s.set_read_timeout(Some(Duration::from_millis(500))).ok();
        let mut said = String::new();
        for (i, n) in [10usize, 1400, 0].iter().enumerate() {
            let data = pattern(*n, i as u8);
            let mut buf = vec![0u8; 65536];
            let mut got = None;
            // The first datagrams may come before QEMU's forwarding or the server is up.
            for _ in 0..60 {
                s.send_to(&data, ("127.0.0.1", port)).expect("send_to");
                if let Ok(k) = s.recv(&mut buf) {
                    got = Some(buf[..k].to_vec());
                    break;
                }
            }
            said.push_str(&format!("datagram {i}: sent {n}, echoed intact: {}\n", got.as_deref() == Some(&data[..])));
        }
        said
    };
    server_both(
        "x86_64",
        &bin,
        &|p| vec![p.to_string(), "3".into(), "udp".into()],
        7,
        true,
        ElfinOpts::default(),
        &client,
    );
}

/// The Rust std server: three clients at once, lines upper-cased.
fn rust_server(arch: &str) {
    let bin = app(arch, "rust", "rustserver");
    let client = |port: u16| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                std::thread::spawn(move || {
                    let lines: Vec<String> = (0..300).map(|j| format!("line {j} of client {i}")).collect();
                    let text = lines.join("\n") + "\n";
                    let got = exchange(port, text.as_bytes());
                    got == text.to_uppercase().into_bytes()
                })
            })
            .collect();
        handles.into_iter().enumerate().map(|(i, h)| format!("client {i}: {}\n", h.join().unwrap_or(false))).collect()
    };
    server_both(
        arch,
        &bin,
        &|p| vec![p.to_string(), "3".into()],
        9000,
        false,
        ElfinOpts::default().arch(arch),
        &client,
    );
}

/// A minimal HTTP/1.1 request; returns the status line and the body.
fn http(port: u16, req: &str, body: &[u8]) -> String {
    let head =
        format!("{req} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let mut resp = Vec::new();
    // QEMU's port forwarder (libslirp, listen backlog 1) sometimes resets a host
    // connection that follows another closely, before it reaches the guest (see
    // docs/protocol.md): a reset with not one byte of answer is tried again, twice
    // at most. Anything the server did answer is compared as it came.
    for _ in 0..3 {
        let mut s = connect(port);
        let sent = s.write_all(head.as_bytes()).and_then(|()| s.write_all(body));
        resp.clear();
        let read = s.read_to_end(&mut resp);
        let reset = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionReset;
        let forwarder_reset =
            resp.is_empty() && (sent.as_ref().err().is_some_and(reset) || read.as_ref().err().is_some_and(reset));
        if !forwarder_reset {
            break;
        }
    }
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.lines().next().unwrap_or("").to_owned();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    format!("{status} | {body}")
}

/// The Go net/http server: GET and a 200 KB POST.
fn go_server() {
    let bin = app("x86_64", "go", "goserver");
    let client = |port: u16| {
        let mut said = http(port, "GET /hello", b"");
        said.push_str(&http(port, "POST /echo", &pattern(200_000, 7)));
        said.push_str(&http(port, "GET /hello", b""));
        said
    };
    server_both("x86_64", &bin, &|p| vec![p.to_string(), "3".into()], 8080, false, ElfinOpts::default(), &client);
}

mod servers {
    #[test]
    fn c_echo_glibc_microvm() {
        super::echo_tcp("x86_64", "glibc", None)
    }
    #[test]
    fn c_echo_musl_q35() {
        super::echo_tcp("x86_64", "musl", Some("q35"))
    }
    #[test]
    fn c_echo_aarch64() {
        super::echo_tcp("aarch64", "glibc", None)
    }
    #[test]
    fn c_echo_udp() {
        super::echo_udp()
    }
    #[test]
    fn c_send_then_exit() {
        super::send_then_exit("x86_64")
    }
    #[test]
    fn c_send_then_exit_aarch64() {
        super::send_then_exit("aarch64")
    }
    #[test]
    fn rust_std_server() {
        super::rust_server("x86_64")
    }
    #[test]
    fn rust_std_server_aarch64() {
        super::rust_server("aarch64")
    }
    #[test]
    fn go_net_http() {
        super::go_server()
    }
}

/// A busybox script with a server in the background and clients over loopback
/// (nc; httpd and wget), against the same script run natively.
#[test]
fn busybox_server_and_client_in_one_guest() {
    let port = free_port();
    let script = format!(
        "mkdir -p /tmp/www.$$ && echo 'served by httpd' > /tmp/www.$$/index.html; \
         httpd -f -p 127.0.0.1:{port} -h /tmp/www.$$ & pid=$!; \
         i=0; until wget -q -O - http://127.0.0.1:{port}/index.html 2>/dev/null; do i=$((i+1)); [ $i -gt 50 ] && break; sleep 0.1; done; \
         wget -q -O - http://127.0.0.1:{port}/missing 2>&1 | head -c 0; echo \"missing: $?\"; \
         kill $pid; wait $pid 2>/dev/null; \
         nc -l -p {port} > /tmp/got.$$ & sleep 0.5; echo 'hello over loopback' | nc 127.0.0.1 {port}; wait; \
         cat /tmp/got.$$; rm -rf /tmp/www.$$ /tmp/got.$$"
    );
    let dir = busybox_bin("x86_64");
    let path = dir.to_string_lossy().into_owned();
    let bb = app("x86_64", "debian", "busybox");
    let native = run_native(&bb, None, &args(&["sh", "-c", &script]), &[("PATH", &path)], None);
    assert!(native.stdout_str().contains("served by httpd"), "native run:\n{}", native.describe());
    let opts = ElfinOpts::default().volume(&dir, "/bin").env("PATH", "/bin");
    let guest = run_elfin(&bb, &args(&["sh", "-c", &script]), &opts);
    assert_same_explained(&native, &guest);
}

/// The machine reaches itself by its network address (Linux routes it through
/// lo): ping, as root with a raw ICMP socket, and httpd and wget, with QEMU's
/// user networking, against the same script run natively on the host's address.
#[test]
fn own_address_by_ping_and_tcp() {
    let port = free_port();
    let script = format!(
        "i=0; until a=$(ip -4 -o addr show scope global | awk '{{print $4}}' | cut -d/ -f1 | head -n 1) && [ -n \"$a\" ]; do \
         i=$((i+1)); [ $i -gt 50 ] && break; sleep 0.1; done; \
         ping -c 2 -W 2 \"$a\" | grep -o '2 packets received'; ping -c 1 -W 2 127.0.0.1 | grep -o '1 packets received'; \
         mkdir -p /tmp/www.$$ && echo 'served to itself' > /tmp/www.$$/index.html; \
         httpd -f -p {port} -h /tmp/www.$$ & pid=$!; \
         i=0; until wget -q -O - http://$a:{port}/index.html 2>/dev/null; do i=$((i+1)); [ $i -gt 50 ] && break; sleep 0.1; done; \
         kill $pid; wait $pid 2>/dev/null; rm -rf /tmp/www.$$"
    );
    let dir = busybox_bin("x86_64");
    let path = dir.to_string_lossy().into_owned();
    let bb = app("x86_64", "debian", "busybox");
    let native = run_native(&bb, None, &args(&["sh", "-c", &script]), &[("PATH", &path)], None);
    let mut opts = ElfinOpts::default().volume(&dir, "/bin").env("PATH", "/bin");
    opts.extra.extend(["--net".into(), "user".into()]);
    let guest = run_elfin(&bb, &args(&["sh", "-c", &script]), &opts);
    if native.stdout_str().contains("served to itself") {
        assert_same_explained(&native, &guest);
    } else {
        // A host without a global IPv4 address cannot run the reference: the
        // guest (10.0.2.15) must print what the script prints on one that can.
        Comparison::new()
            .status(0, guest.status)
            .text("stdout", "2 packets received\n1 packets received\nserved to itself\n", &guest.stdout_str())
            .finish(None, &guest);
    }
}

/// Go's net.Interfaces, InterfaceByName and Addrs (netlink link and address
/// dumps underneath) see the loopback interface as they do natively, on both
/// architectures (against the x86_64 build run natively).
#[test]
fn go_lists_the_loopback_interface() {
    let native = run_native(&app("x86_64", "go", "goprobe"), None, &args(&["ifaces"]), &[], None);
    assert!(native.status == 0 && native.stdout_str().contains("IPv4 address: 127.0.0.1/8"), "{}", native.describe());
    for arch in ["x86_64", "aarch64"] {
        let guest = run_elfin(&app(arch, "go", "goprobe"), &args(&["ifaces"]), &ElfinOpts::default().arch(arch));
        assert_same_explained(&native, &guest);
    }
}

/// A Go program copying between two loopback connections (io.Copy, which
/// splices, and io.CopyBuffer with 64 KiB writes) moves 16 MiB each way as it
/// does natively. With TCP window scaling the sender sat out smoltcp's 1 s
/// retransmission timeout again and again, and this ran into the guest's timeout.
#[test]
fn go_relays_between_connections() {
    let native = run_native(&app("x86_64", "go", "goprobe"), None, &args(&["relay"]), &[], None);
    assert!(native.status == 0 && native.stdout_str().contains("copy: relayed 16777216"), "{}", native.describe());
    for arch in ["x86_64", "aarch64"] {
        let guest = run_elfin(&app(arch, "go", "goprobe"), &args(&["relay"]), &ElfinOpts::default().arch(arch));
        assert_same_explained(&native, &guest);
    }
}
