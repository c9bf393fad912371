"""The servers' part of the benchmark table (issue 13): nginx and redis-server
(built from Debian's sources by static-pie-apps/build.sh) in elfin, natively, and
in the Linux guest, each reached from the host through QEMU user networking
with the same port forwarding (`elfin run -p`; `hostfwd` for Linux).

Figures: requests/s and p99 latency (`wrk` against nginx, `redis-benchmark`
SET and GET against redis), and guest instructions per request under
`-icount shift=0`: the guest's busy instructions (its clock minus its idle time)
during N requests, less those of an idle stretch as long, over N.
"""
import http.client
import os
import re
import socket
import subprocess
import time

MEM = 256
GUEST_IP = "10.0.2.15"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_ok(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def http_requests(port, path, n):
    """N GETs on one keep-alive connection (a fixed count, unlike wrk)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status}")
    c.close()


def to_ms(text):
    """wrk's latency ("1.23ms", "456.00us", "1.2s") in ms."""
    m = re.match(r"([0-9.]+)(us|ms|s)$", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


class Servers:
    def __init__(self, bench, arch):
        self.b, self.arch = bench, arch
        self.a = bench.a
        self.tmp = os.path.join(bench.tmp, f"servers-{arch}")
        os.makedirs(os.path.join(self.tmp, "www"), exist_ok=True)
        # nginx serves elfin's own /etc/passwd from guest RAM; the Linux guest gets
        # the same /etc/passwd and /etc/group in its initramfs (nginx's worker looks
        # up its user there), natively a copy is served from the disk.
        self.etc = {}
        for f in ("passwd", "group"):
            r = subprocess.run([self.b.elfin_bin, "run", "--arch", arch, bench.app(arch, "debian", "busybox"), "cat",
                                f"/etc/{f}"], capture_output=True)
            self.etc[f] = r.stdout
        with open(os.path.join(self.tmp, "www/passwd"), "wb") as f:
            f.write(self.etc["passwd"])
        # The host's client tools (x86_64 builds run here).
        self.redis_bench = bench.app("x86_64", "debian", "redis-benchmark")
        self.redis_cli = bench.app("x86_64", "debian", "redis-cli")

    # ---------------------------------------------------------- launching --

    def nginx_conf(self, port, root):
        path = os.path.join(self.tmp, f"nginx-{port}.conf")
        t = self.tmp
        with open(path, "w") as f:
            f.write(f"""worker_processes 1;
error_log stderr;
pid {t}/nginx-{port}.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    server {{ listen {port}; root {root}; }}
}}
""")
        return path

    def server_argv(self, name, guest_port, root):
        """The server's argv (its binary at /bin/NAME in a guest)."""
        if name == "nginx":
            return ["nginx", "-p", self.tmp + "/", "-g", "daemon off;", "-c", self.nginx_conf(guest_port, root)]
        extra = []
        if self.arch == "aarch64":
            # redis refuses to start on arm64 unless it can read its kernel's
            # version and /proc/self/smaps to rule out an old copy-on-write bug.
            extra = ["--ignore-warnings", "ARM64-COW-BUG"]
        return ["redis-server", "--port", str(guest_port), "--save", "", "--appendonly", "no", "--protected-mode",
                "no", "--loglevel", "warning", *extra]

    def start(self, column, name, icount=False):
        """Starts NAME in COLUMN; returns (Popen, host port, quit function)."""
        binary = self.b.app(self.arch, "debian", name)
        hp = free_port()
        gp = 80 if name == "nginx" else 6379
        if column == "native":
            argv = self.server_argv(name, hp, os.path.join(self.tmp, "www"))
            p = subprocess.Popen(self.b.native_prefix(self.arch) + [binary] + argv[1:], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return p, hp
        argv = self.server_argv(name, gp, "/etc")
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ["/bin/" + name] + argv[1:])
        if column == "elfin":
            # busybox sh runs the server and ends it when a line arrives on stdin,
            # so that the kernel reports its counters at the exit.
            cmd = [self.b.elfin_bin, "run", "--arch", self.arch, "-m", f"{MEM}M", "-p", f"127.0.0.1:{hp}:{gp}",
                   "-v", f"{self.tmp}:{self.tmp}", "-v", f"{binary}:/bin/{name}", "--kernel-arg", "bootstat"]
            if icount:
                cmd += ["--accel", "tcg", "--qemu-arg=-icount", "--qemu-arg=shift=0"]
            cmd += [self.b.app(self.arch, "debian", "busybox"), "sh", "-c",
                    f"{quoted} & read line; kill $!; wait"]
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            return p, hp
        # The Linux guest: busybox /init brings eth0 up as QEMU's DHCP would, starts
        # the server, then answers "m" with its busy time and ends on "q".
        import linux_guest as lg

        k = lg.kernel(self.arch)
        busy = ("awk '/^now at/ {n=$3} /idle_sleeptime/ {i+=$3} /iowait_sleeptime/ {w+=$3} "
                "END {printf \"busy_ns %.0f\\n\", n-i-w}' /proc/timer_list")
        body = [
            "ip link set lo up; ip link set eth0 up",
            f"ip addr add {GUEST_IP}/24 dev eth0; ip route add default via 10.0.2.2",
            f"mkdir -p {self.tmp}",
            f"{quoted} &",
            "echo server-started",
            f"while read cmd; do case $cmd in m) {busy};; q) break;; esac; done",
            "kill $!; wait",
        ]
        files = {"/init": self.b.init_script(k, body).encode(), "/bin/busybox": self.b.app(self.arch, "debian",
                                                                                           "busybox"),
                 f"/bin/{name}": binary, "/etc/passwd": self.etc["passwd"], "/etc/group": self.etc["group"],
                 **lg.module_files(k)}
        if name == "nginx":
            conf = self.nginx_conf(gp, "/etc")
            files[conf] = open(conf, "rb").read()
        dev = "virtio-net-device,netdev=net0"
        devices = ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{hp}-:{gp}", "-device", dev]
        p = self.b.linux(self.arch, files, icount=icount, devices=devices, wait=False)
        return p, hp


    def wait_ready(self, name, port, p, timeout=120):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if p.poll() is not None:
                return False
            if name == "nginx" and http_ok(port, "/passwd"):
                return True
            if name != "nginx":
                r = subprocess.run([self.redis_cli, "-p", str(port), "PING"], capture_output=True, text=True)
                if r.stdout.strip() == "PONG":
                    return True
            time.sleep(0.3)
        return False

    def stop(self, column, p):
        """Ends the server; the output of the run (elfin: stderr; Linux: console)."""
        try:
            if column == "native":
                p.terminate()
                p.wait(timeout=20)
                return ""
            p.stdin.write(b"\n" if column == "elfin" else "q\n")
            p.stdin.flush()
            out, err = p.communicate(timeout=120)
            return err.decode() if column == "elfin" else out
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            p.kill()
            p.communicate()
            return ""

    # ---------------------------------------------------------- measuring --

    def load(self, name, port):
        """{rps, p99} of wrk (nginx) or redis-benchmark SET and GET."""
        if name == "nginx":
            r = subprocess.run(["wrk", "-c", "8", "-t", "2", "-d", f"{self.a.seconds}s", "--latency",
                                f"http://127.0.0.1:{port}/passwd"], capture_output=True, text=True)
            rps = re.search(r"^Requests/sec:\s+([0-9.]+)", r.stdout, re.M)
            p99 = re.search(r"^\s+99%\s+(\S+)", r.stdout, re.M)
            return {"GET": (float(rps.group(1)) if rps else None, to_ms(p99.group(1)) if p99 else None)}
        n = self.a.requests * 5
        r = subprocess.run([self.redis_bench, "-p", str(port), "-c", "8", "-n", str(n), "-t", "set,get", "--csv"],
                           capture_output=True, text=True)
        out = {}
        for line in r.stdout.splitlines():
            f = [x.strip('"') for x in line.split(",")]
            if f[0] in ("SET", "GET") and len(f) >= 7:
                out[f[0]] = (float(f[1]), float(f[6]))
        return out

    def fixed(self, name, port, n):
        if name == "nginx":
            http_requests(port, "/passwd", n)
        else:
            subprocess.run([self.redis_bench, "-p", str(port), "-c", "1", "-n", str(n), "-t", "get", "-q"],
                           capture_output=True, check=True)

    def elfin_busy(self, stderr):
        m = re.search(r"elfin-bootstat: first=(\d+) ready=\d+ entry=\d+ exit=(\d+).*?hz=(\d+) idle_cycles=(\d+)",
                      stderr)
        if not m:
            return None
        first, exit_, hz, idle = (int(x) for x in m.groups())
        per = 1e9 / hz if hz else 1.0
        return (exit_ - first - idle) * per

    def linux_busy(self, p):
        p.stdin.write("m\n")
        p.stdin.flush()
        while True:
            line = p.stdout.readline()
            if not line:
                return None
            m = re.match(r"busy_ns (\d+)", line.strip())
            if m:
                return float(m.group(1))

    def per_request(self, column, name):
        """Guest instructions per request: busy instructions over N requests less
        those of an idle stretch as long, over N."""
        n = self.a.requests
        if column == "linux":
            p, port = self.start("linux", name, icount=True)
            try:
                if not self.wait_ready(name, port, p):
                    return None
                self.fixed(name, port, 5)  # first-use costs out of the window
                b0 = self.linux_busy(p)
                t0 = time.time()
                self.fixed(name, port, n)
                dt = time.time() - t0
                b1 = self.linux_busy(p)
                time.sleep(dt)
                b2 = self.linux_busy(p)
            finally:
                self.stop("linux", p)
            if None in (b0, b1, b2):
                return None
            return ((b1 - b0) - (b2 - b1)) / n
        # Two runs as long as each other (the kernel's tick costs instructions
        # too): N requests, then an idle run held until the same time has passed.
        busy = []
        length = None
        for loaded in (True, False):
            t0 = time.time()
            p, port = self.start("elfin", name, icount=True)
            if not self.wait_ready(name, port, p):
                self.stop("elfin", p)
                return None
            self.fixed(name, port, 5)
            if loaded:
                self.fixed(name, port, n)
                length = time.time() - t0
            else:
                time.sleep(max(0.0, length - (time.time() - t0)))
            busy.append(self.elfin_busy(self.stop("elfin", p)))
        if None in busy:
            return None
        return (busy[0] - busy[1]) / n

    def run(self):
        log = self.b.log
        res = {"names": list(self.a.server_names)}
        for name in self.a.server_names:
            binary = self.b.app(self.arch, "debian", "nginx" if name == "nginx" else "redis-server")
            if binary is None:
                log(f"{self.arch}: {name}: no binary, n/a")
                continue
            sname = "nginx" if name == "nginx" else "redis-server"
            for column in ("native", "elfin", "linux"):
                log(f"{self.arch}: {name} in {column}")
                p, port = self.start(column, sname)
                try:
                    res[(name, column)] = self.load(sname, port) if self.wait_ready(sname, port, p) else {}
                finally:
                    self.stop(column, p)
            for column in ("elfin", "linux"):
                log(f"{self.arch}: {name}, instructions per request in {column} (icount)")
                try:
                    res[(name, column, "insns")] = self.per_request(column, sname)
                except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
                    log(f"{self.arch}: {name} in {column}: {e}")
                    res[(name, column, "insns")] = None
        return res


def table(arch, res, native):
    from bench import fmt

    L = [f"### {arch}: servers", "",
         f"| figure | elfin | Linux guest | {native} |", "|---|---|---|---|"]
    for name, tests in (("nginx", ["GET"]), ("redis", ["SET", "GET"])):
        if name not in res.get("names", ["nginx", "redis"]):
            continue
        label = {"nginx": "nginx GET of /etc/passwd", "redis": "redis"}[name]
        for t in tests:
            what = label if name == "nginx" else f"redis {t}"
            cells = [res.get((name, c), {}).get(t, (None, None)) for c in ("elfin", "linux", "native")]
            L.append(f"| {what}, requests/s | " + " | ".join(fmt(c[0]) for c in cells) + " |")
            L.append(f"| {what}, p99 (ms) | " + " | ".join(fmt(c[1]) for c in cells) + " |")
        L.append(f"| {label if name == 'nginx' else 'redis GET'}, guest instructions per request | "
                 f"{fmt(res.get((name, 'elfin', 'insns')))} | {fmt(res.get((name, 'linux', 'insns')))} | |")
    return L


def prose():
    return [
        "## The servers' figures",
        "",
        "nginx and redis-server, built static-PIE from Debian's sources, serve the host through "
        "QEMU user networking with the same port forwarding in both guests (`elfin run -p`, "
        "`hostfwd` for Linux, whose busybox /init loads virtio-net and sets the address QEMU's "
        "DHCP would give). The load is `wrk -c 8 -t 2` for nginx (elfin's /etc/passwd, from guest RAM in both "
        "guests, natively a copy on the host's disk) and "
        "`redis-benchmark -c 8 -t set,get` for redis; p99 is their 99th percentile of latency.",
        "",
        "Guest instructions per request come from runs under `-icount shift=0`: the guest's busy "
        "instructions (its clock less its idle time: elfin's `bootstat` counters at the exit, "
        "Linux's `/proc/timer_list` idle time) over N requests on one connection (keep-alive "
        "GETs for nginx, `redis-benchmark -c 1 -t get` for redis), less those of an idle "
        "stretch as long, over N. For elfin the loaded and the idle stretch are two runs of the same "
        "length (boot included in both); for Linux two windows of one run. The elfin figure is "
        "the noisier: the readiness polls and the tick of two separate runs differ a little. A missing binary (nginx for arm64) shows as n/a.",
    ]
