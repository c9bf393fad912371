//! Real servers from Debian's sources (static-pie-apps/build.sh: nginx,
//! redis-server, redis-cli), in elfin and natively, driven from the host by
//! the same clients (issues 13 and 15):
//! - `nginx -t` with a minimal nginx.conf against the guest's default /etc
//!   (its passwd and group give nginx its `nobody`);
//! - nginx serving a static file to `curl`, twice over one kept-alive
//!   connection, its port published with `elfin run -p`;
//! - redis-server driven by the redis-cli built with it (run on the host):
//!   SET/GET/INCR/LPUSH/LRANGE and a pipelined batch.
//!
//! The native runs use a free host port, the guest runs the server's usual
//! port published on another free one. nginx and redis-server also run in an
//! arm64 guest, against the x86_64 build run natively.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use elfin_tests::*;

fn nginx(arch: &str) -> PathBuf {
    app(arch, "debian", "nginx")
}

/// A minimal nginx.conf: one worker, no access log, the error log on stderr,
/// the pid file and every temporary directory under `dir`, serving `dir/www`.
fn nginx_conf(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\nerror_log stderr;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
         \x20   keepalive_timeout 30;\n\
         \x20   server {{\n        listen {port};\n        root {d}/www;\n    }}\n}}\n"
    );
    let path = dir.join(format!("nginx-{port}.conf"));
    std::fs::write(&path, conf).expect("write nginx.conf");
    path
}

/// A scratch directory the workers (user nobody) can read: the file under it
/// is served by them, natively as in the guest.
fn served_dir(tag: &str) -> PathBuf {
    let dir = scratch_dir(tag);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(dir.join("www")).expect("mkdir www");
    dir
}

/// The guest sees `dir` at the same path (a `-v` volume), so both runs print
/// the same paths.
fn same_path_volume(dir: &Path) -> ElfinOpts {
    ElfinOpts::default().volume(dir, &dir.display().to_string())
}

#[test]
fn nginx_config_test() {
    nginx_config_test_on("x86_64")
}

#[test]
fn nginx_config_test_aarch64() {
    nginx_config_test_on("aarch64")
}

fn nginx_config_test_on(arch: &str) {
    let dir = served_dir(&format!("nginx-t-{arch}"));
    let conf = nginx_conf(&dir, 80);
    let prefix = format!("{}/", dir.display());
    let argv = ["-t", "-p", &prefix, "-c", conf.to_str().expect("utf-8 path")];
    let a = args(&argv);
    let native = run_native(&nginx("x86_64"), None, &a, &[], None);
    assert!(
        native.status == 0 && native.stderr_str().contains("test is successful"),
        "the native `nginx -t` is no reference:\n{}",
        native.describe()
    );
    let guest = run_elfin(&nginx(arch), &a, &same_path_volume(&dir).arch(arch));
    assert_same_explained(&native, &guest);
}

/// `curl` fetching `url` twice on one connection: for each transfer, the HTTP
/// code, how many new connections it opened (0 means it reused the first) and
/// whether the body equals `want`.
fn curl_twice(curl: &Path, dir: &Path, url: &str, want: &[u8]) -> String {
    // QEMU's forwarding accepts before the guest listens: wait for a real answer.
    let ready = retry_until(Duration::from_secs(60), || {
        let o = Command::new(curl).args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url]).output().ok()?;
        (o.stdout == b"200").then_some(())
    });
    if ready.is_none() {
        return format!("{url} never answered 200");
    }
    let (a, b) = (dir.join("got-1"), dir.join("got-2"));
    let o = Command::new(curl)
        .args(["-sS", "--http1.1", "-w", "%{http_code} new connections: %{num_connects}\n", "-o"])
        .arg(&a)
        .arg("-o")
        .arg(&b)
        .args([url, url])
        .output()
        .expect("run curl");
    let mut said = String::from_utf8_lossy(&o.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&o.stderr));
    for f in [&a, &b] {
        let got = std::fs::read(f).unwrap_or_default();
        said.push_str(&format!("body intact: {}\n", got == want));
        let _ = std::fs::remove_file(f);
    }
    said
}

#[test]
fn nginx_static_file_keep_alive() {
    nginx_static_file_keep_alive_on("x86_64")
}

#[test]
fn nginx_static_file_keep_alive_aarch64() {
    nginx_static_file_keep_alive_on("aarch64")
}

fn nginx_static_file_keep_alive_on(arch: &str) {
    let Some(curl) = host_tool("curl", "curl") else {
        eprintln!("skipped: no curl on the host, and `apt-get install curl` did not provide one");
        return;
    };
    let dir = served_dir(&format!("nginx-serve-{arch}"));
    let page = pseudo_random_bytes(300_000, 13);
    std::fs::write(dir.join("www/page.bin"), &page).expect("write page");
    let prefix = format!("{}/", dir.display());
    let daemon_off = "daemon off;";

    let np = free_port();
    let nconf = nginx_conf(&dir, np);
    let mut ncmd = Command::new(nginx("x86_64"));
    ncmd.args(["-p", &prefix, "-g", daemon_off, "-c"]).arg(&nconf).current_dir("/");
    let server = Background::start(ncmd);
    let native_said = curl_twice(&curl, &dir, &format!("http://127.0.0.1:{np}/page.bin"), &page);
    let native = server.stop();

    let gconf = nginx_conf(&dir, 80);
    let hp = free_port();
    let mut opts = same_path_volume(&dir).arch(arch);
    opts.extra.extend(["-p".into(), format!("{hp}:80").into()]);
    let gargs: Vec<&OsStr> =
        ["-p", prefix.as_str(), "-g", daemon_off, "-c", gconf.to_str().expect("utf-8 path")].map(OsStr::new).into();
    let server = Background::start(elfin_command(&nginx(arch), &gargs, &opts));
    let guest_said = curl_twice(&curl, &dir, &format!("http://127.0.0.1:{hp}/page.bin"), &page);
    let guest = server.stop();

    let expected = "200 new connections: 1\n200 new connections: 0\nbody intact: true\nbody intact: true\n";
    assert_eq!(native_said, expected, "native nginx:\n{}", native.describe());
    assert_eq!(guest_said, native_said, "curl saw different answers (native, then elfin):\n{}", guest.describe());
    // Stopped by SIGTERM: nginx says nothing at this log level, natively or in elfin.
    assert_eq!(native.stdout_str() + &native.stderr_str(), "", "native nginx:\n{}", native.describe());
    assert_eq!(guest.stdout_str(), "", "nginx in elfin:\n{}", guest.describe());
}

/// The session redis-cli runs against a server on `port`, then SHUTDOWN.
fn redis_session(port: u16) -> String {
    let cli = app("x86_64", "debian", "redis-cli");
    let p = port.to_string();
    let run = |argv: &[&str], stdin: Option<&[u8]>| {
        let mut cmd = Command::new(&cli);
        cmd.args(["-p", &p]).args(argv);
        let o = run_command(cmd, stdin, format!("redis-cli -p {p} {}", argv.join(" ")));
        format!("> {}\n{}{}", argv.join(" "), o.stdout_str(), o.stderr_str())
    };
    let ready = retry_until(Duration::from_secs(60), || {
        let o = Command::new(&cli).args(["-p", &p, "PING"]).output().ok()?;
        (o.stdout == b"PONG\n").then_some(())
    });
    if ready.is_none() {
        return format!("redis-server on port {port} never answered PING");
    }
    let mut said = String::new();
    for c in [
        &["SET", "greeting", "hello from redis"][..],
        &["GET", "greeting"],
        &["INCR", "counter"],
        &["INCRBY", "counter", "41"],
        &["LPUSH", "list", "a", "b", "c"],
        &["LRANGE", "list", "0", "-1"],
        &["GET", "missing"],
    ] {
        said.push_str(&run(c, None));
    }
    // A pipelined batch of 3000 commands in the redis protocol.
    let mut batch = String::new();
    for i in 0..1000 {
        for cmd in
            [vec!["SET".to_owned(), format!("key:{i}"), format!("value {i}")], vec!["INCR".into(), "hits".into()]]
                .iter()
                .chain(std::iter::once(&vec!["RPUSH".to_owned(), "seq".into(), i.to_string()]))
        {
            batch.push_str(&format!("*{}\r\n", cmd.len()));
            for a in cmd {
                batch.push_str(&format!("${}\r\n{a}\r\n", a.len()));
            }
        }
    }
    said.push_str(&run(&["--pipe"], Some(batch.as_bytes())));
    for c in [&["DBSIZE"][..], &["GET", "hits"], &["GET", "key:999"], &["LLEN", "seq"], &["LRANGE", "seq", "995", "-1"]]
    {
        said.push_str(&run(c, None));
    }
    said.push_str(&run(&["SHUTDOWN", "NOSAVE"], None));
    said
}

/// redis-server (the `arch` build in elfin, the x86_64 build natively) and the
/// host's redis-cli.
fn redis_from_host_cli(arch: &str) {
    let native_server = app("x86_64", "debian", "redis-server");
    let server = app(arch, "debian", "redis-server");
    let dir = scratch_dir("redis");
    // No persistence; protected mode off because the guest sees the host's
    // connections come from QEMU's gateway, not from loopback.
    let common = ["--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"];

    let np = free_port();
    let mut ncmd = Command::new(&native_server);
    ncmd.args(["--port", &np.to_string()]).args(common).current_dir(&dir);
    let bg = Background::start(ncmd);
    let native_said = redis_session(np);
    let native = bg.wait();

    let hp = free_port();
    let opts = ElfinOpts { extra: vec!["-p".into(), format!("{hp}:6379").into()], ..ElfinOpts::default() }.arch(arch);
    let mut gargs = vec![OsStr::new("--port"), OsStr::new("6379")];
    gargs.extend(common.iter().map(OsStr::new));
    let bg = Background::start(elfin_command(&server, &gargs, &opts));
    let guest_said = redis_session(hp);
    let guest = bg.wait();

    assert!(
        native.status == 0 && native_said.contains("errors: 0, replies: 3000") && native_said.contains("\nvalue 999\n"),
        "the native redis session is no reference:\n{native_said}\n{}",
        native.describe()
    );
    if let Some(d) = diff_text(&native_said, &guest_said) {
        panic!("redis-cli saw different answers (native, then elfin):\n{d}\n{}", guest.describe());
    }
    assert_eq!(guest.status, native.status, "redis-server's status after SHUTDOWN:\n{}", guest.describe());
}

#[test]
fn redis_from_host_cli_x86_64() {
    redis_from_host_cli("x86_64");
}

#[test]
fn redis_from_host_cli_aarch64() {
    redis_from_host_cli("aarch64");
}
