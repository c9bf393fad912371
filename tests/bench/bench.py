#!/usr/bin/env python3
"""elfin's benchmark table (`./x bench`): every figure in elfin, natively, and in a
Linux guest on the same QEMU machine and accelerator, written to docs/benchmarks.md.

    tests/bench/bench.py [--quick | --smoke] [--out FILE] [--arch ARCH,...] [--no-servers] [--only PARTS]

--quick uses small iteration counts, --smoke the smallest (one short run per
column; the test suite runs it), and neither writes docs/benchmarks.md unless
--out names it. Every figure comes from static-pie-apps/src/perf_bench.c (and
hello.c) run the same way in each column:
  - elfin: `elfin run` with the kernel just built;
  - native: the binary on this host (arm64: under qemu-aarch64 user mode);
  - Linux guest: the binary as /init of Debian's kernel (tests/bench/linux_guest.py)
    on the QEMU machine elfin uses, booted with an initramfs made here.
Counts of guest instructions come from runs under `-icount shift=0`, where the
guest clock counts instructions; the `calib` row checks that (it must read 1.00).
"""
import argparse
import datetime
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import linux_guest as lg  # noqa: E402

ELFIN = os.environ.get("ELFIN_BIN") or os.path.join(ROOT, "target/release/elfin")
APPS = os.path.join(ROOT, "static-pie-apps/out")
MEM = 256  # MiB of guest RAM for every run of both guests
MARKER = "<!-- Everything above this line is written by ./x bench; what follows is kept. -->"
FIGURES = ["calib", "getppid", "clock", "fault", "mmap", "pipe", "futex", "thread", "fork", "spawn"]
MACHINE = {"x86_64": "microvm", "aarch64": "virt"}


T0 = time.time()


def log(msg):
    print(f"bench: [{time.time() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def figures_of(text):
    """The `NAME VALUE` lines of a run's output."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+) ([0-9.]+)\s*$", line.strip())
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


class Bench:
    def __init__(self, args):
        self.a = args
        self.tmp = tempfile.mkdtemp(prefix="elfin-bench-")
        os.chmod(self.tmp, 0o755)
        self.tsc_khz = None
        self.log = log
        self.elfin_bin = ELFIN

    # ------------------------------------------------------------ runners --

    def app(self, arch, kind, name):
        p = os.path.join(APPS, arch, kind, name)
        return p if os.path.exists(p) else None

    def native_prefix(self, arch):
        return [] if arch == platform.machine() else ["qemu-aarch64-static"]

    def elfin(self, arch, prog, args, icount=False, kernel_args=(), opts=(), stdin=None, timeout=600):
        cmd = [ELFIN, "run", "--arch", arch, "-m", f"{MEM}M", "--timeout", str(timeout)]
        for k in kernel_args:
            cmd += ["--kernel-arg", k]
        if icount:
            cmd += ["--accel", "tcg", "--qemu-arg=-icount", "--qemu-arg=shift=0"]
        cmd += list(opts) + [prog] + list(args)
        return subprocess.run(cmd, capture_output=True, input=stdin, timeout=timeout + 30)

    def linux_append(self, arch, icount):
        if arch != "x86_64":
            return ""
        # QEMU's microvm has no HPET or ACPI PM timer and TCG is too slow for the
        # PIT calibration: give the TSC's rate (1 GHz of the virtual clock under
        # icount, else the host's TSC, which TCG passes through). reboot=t: a
        # triple fault ends QEMU (-no-reboot) at once when /init exits.
        khz = 1_000_000 if icount else self.host_tsc_khz()
        return f"tsc_early_khz={khz} reboot=t"

    def host_tsc_khz(self):
        if self.tsc_khz is None:
            pb = self.app("x86_64", "glibc", "perf_bench")
            self.tsc_khz = int(figures_of(subprocess.run([pb, "tsc"], capture_output=True, text=True).stdout)["tsc_khz"])
        return self.tsc_khz

    def linux(self, arch, files, args=(), icount=False, devices=(), mem=MEM, timeout=600, stdin=None, wait=True):
        """Boots a Linux guest with FILES in its initramfs; the console's output (or
        the Popen when not WAIT)."""
        k = lg.kernel(arch)
        initrd = os.path.join(self.tmp, f"linux-{arch}-{len(os.listdir(self.tmp))}.cpio")
        lg.initramfs(initrd, files)
        append = self.linux_append(arch, icount)
        if args:
            append += " -- " + " ".join(args)
        cmd = lg.qemu_cmd(arch, MACHINE[arch], "tcg", k, initrd, mem_mib=mem, icount=icount, devices=devices,
                          append=append)
        if not wait:
            return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
        return r.stdout

    # ------------------------------------------------------------ figures --

    def perf(self, arch):
        """{column: {figure: value}} of perf_bench."""
        pb = self.app(arch, "glibc", "perf_bench")
        it = str(self.a.iters)
        cols = {}
        log(f"{arch}: perf_bench {it} natively")
        cols["native"] = figures_of(subprocess.run(self.native_prefix(arch) + [pb, it], capture_output=True,
                                                   text=True).stdout)
        for icount in (True, False):
            tag = "icount" if icount else "wall"
            log(f"{arch}: perf_bench {it} in elfin ({tag})")
            r = self.elfin(arch, pb, [it], icount=icount)
            cols[f"elfin_{tag}"] = figures_of(r.stdout.decode())
            log(f"{arch}: perf_bench {it} in the Linux guest ({tag})")
            cols[f"linux_{tag}"] = figures_of(self.linux(arch, {"/init": pb}, [it], icount=icount))
        return cols

    def boot(self, arch):
        """Instructions from the first kernel instruction to program entry, and the
        whole run of hello in elfin; to /init's first instruction in Linux."""
        hello = self.app(arch, "glibc", "hello")
        pb = self.app(arch, "glibc", "perf_bench")
        out = {}
        r = self.elfin(arch, hello, [], icount=True, kernel_args=["bootstat"])
        m = re.search(rb"elfin-bootstat: first=(\d+) ready=(\d+) entry=(\d+) exit=(\d+).*?hz=(\d+)", r.stderr)
        if m:
            first, ready, entry, exit_, hz = (int(x) for x in m.groups())
            per = 1e9 / hz if hz else 1.0  # arm's counter ticks every 16 instructions under icount
            out["elfin_entry"] = (entry - first) * per
            out["elfin_hello_insns"] = (exit_ - first) * per
        f = figures_of(self.linux(arch, {"/init": pb}, ["entry"], icount=True))
        if "entry_ns" in f:
            out["linux_entry"] = f["entry_ns"]
        return out

    def hello_wall(self, arch):
        """Median wall time (ms) of the whole run of hello in each column."""
        hello = self.app(arch, "glibc", "hello")
        runs = self.a.runs

        def median(fn):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                ok = fn()
                times.append((time.perf_counter() - t0) * 1000)
                if not ok:
                    return None
            return statistics.median(times)

        k = lg.kernel(arch)
        initrd = os.path.join(self.tmp, f"hello-{arch}.cpio")
        lg.initramfs(initrd, {"/init": hello})
        lcmd = lg.qemu_cmd(arch, MACHINE[arch], "tcg", k, initrd, mem_mib=MEM, append=self.linux_append(arch, False))
        log(f"{arch}: hello, whole runs")
        return {
            "native": median(lambda: subprocess.run(self.native_prefix(arch) + [hello], capture_output=True)
                             .returncode == 0),
            "elfin": median(lambda: self.elfin(arch, hello, []).returncode == 0),
            "linux": median(lambda: b"hello from" in subprocess.run(lcmd, capture_output=True).stdout),
        }

    def installed_cli(self):
        """A copy of the CLI outside the source tree, as an installed one runs (it
        does not check the kernel's sources), made once."""
        installed = os.path.join(self.tmp, "installed", "elfin")
        if not os.path.exists(installed):
            os.makedirs(os.path.dirname(installed), exist_ok=True)
            shutil.copy2(ELFIN, installed)
            # A copy younger than the cache's settling time would bypass the initrd cache.
            time.sleep(2.5)
        return installed

    def cli_overhead(self, arch):
        """Median wall time (ms) of `elfin run hello` and of the QEMU command it
        runs (`--print-cmd`), started the same way with the same files, in
        alternation; the CLI's overhead is the difference."""
        hello = self.app(arch, "glibc", "hello")
        qemu = "qemu-system-x86_64" if arch == "x86_64" else "qemu-system-aarch64"
        # A spy keeps a copy of the initrd the CLI hands QEMU (a fresh packing may
        # be removed at the end of the run), so that QEMU alone boots the same bytes.
        spy = os.path.join(self.tmp, "qemu-initrd-spy")
        keep = os.path.join(self.tmp, f"overhead-{arch}.cpio")
        with open(spy, "w") as f:
            f.write('#!/bin/sh\nprev=\nfor a in "$@"; do\n'
                    '  [ "$prev" = -initrd ] && cp "$a" "' + keep + '"\n'
                    '  prev=$a\ndone\nexec ' + qemu + ' "$@"\n')
        os.chmod(spy, 0o755)
        r = subprocess.run([ELFIN, "run", "--arch", arch, "--print-cmd", "--vmm-path", spy, hello],
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        line = next((ln for ln in r.stderr.decode().splitlines() if ln.startswith(spy + " ")), None)
        if r.returncode != 0 or line is None or not os.path.exists(keep):
            raise RuntimeError(f"no QEMU command from elfin run --print-cmd: {r.stderr.decode()[-300:]}")
        words = shlex.split(line)
        words[0] = qemu
        words[words.index("-initrd") + 1] = keep

        def qemu_alone():
            # The virtio-console ports' sockets, as the CLI passes them (fd=N).
            socks, argv, fds, ports = [], [], [], {}
            for w in words:
                m = re.match(r"^(socket,id=(\w+),fd=)(\d+)$", w)
                if m:
                    ours, theirs = socket.socketpair()
                    socks += [ours, theirs]
                    fds.append(theirs.fileno())
                    ports[m.group(2)] = ours
                    w = f"{m.group(1)}{theirs.fileno()}"
                argv.append(w)
            try:
                p = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, pass_fds=fds, timeout=120)
                out = p.stdout
                if "stdout" in ports:
                    ports["stdout"].setblocking(False)
                    try:
                        out = ports["stdout"].recv(1 << 16)
                    except BlockingIOError:
                        out = b""
            finally:
                for s in socks:
                    s.close()
            return b"hello from" in out

        installed = self.installed_cli()

        def elfin_run(cli=ELFIN):
            p = subprocess.run([cli, "run", "--arch", arch, hello], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=120)
            return p.returncode == 0 and b"hello from" in p.stdout

        runs = max(self.a.overhead_runs, 1)
        log(f"{arch}: CLI overhead, {runs} runs each of elfin run hello (in the tree, installed) "
            "and its QEMU command")
        times = {"elfin": [], "installed": [], "qemu": []}
        for _ in range(runs):
            for name, fn in (("elfin", elfin_run), ("installed", lambda: elfin_run(installed)),
                             ("qemu", qemu_alone)):
                t0 = time.perf_counter()
                ok = fn()
                times[name].append((time.perf_counter() - t0) * 1000)
                if not ok:
                    raise RuntimeError(f"{name} run of hello failed")
        med = {k: statistics.median(v) for k, v in times.items()}
        own = self.cli_own_time(arch, hello, runs)
        return {"elfin": med["elfin"], "installed": med["installed"], "qemu": med["qemu"],
                "overhead": med["elfin"] - med["qemu"], "overhead_installed": med["installed"] - med["qemu"],
                "runs": runs, **own}

    def cli_own_time(self, arch, hello, runs):
        """The CLI's own share of a run, free of QEMU's noise: the fastest wall time
        of `elfin run hello` with a stub VMM (a static program that waits 20 ms and
        exits) minus the fastest of the stub alone, run in alternation; for the CLI
        in the source tree (which checks the kernel's sources for changes) and for a copy
        of it outside the tree, as an installed CLI runs."""
        stub_c = os.path.join(self.tmp, "vmm-stub.c")
        stub = os.path.join(self.tmp, "vmm-stub")
        with open(stub_c, "w") as f:
            f.write("#include <time.h>\nint main(void) { struct timespec t = {0, 20000000}; "
                    "nanosleep(&t, 0); return 1; }\n")
        cc = ["musl-gcc"] if shutil.which("musl-gcc") else ["gcc"]
        subprocess.run(cc + ["-static", "-O2", stub_c, "-o", stub], check=True)
        installed = self.installed_cli()

        def timed(cmd):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
            return (time.perf_counter() - t0) * 1000

        cmds = {"tree": [ELFIN, "run", "--arch", arch, "--vmm-path", stub, hello],
                "installed": [installed, "run", "--arch", arch, "--vmm-path", stub, hello], "stub": [stub]}
        for c in cmds.values():
            timed(c)  # warm the caches (page cache, initrd cache)
        times = {k: [] for k in cmds}
        for _ in range(runs):
            for k, c in cmds.items():
                times[k].append(timed(c))
        # The fastest run of each: the host's load only ever adds time, so the
        # minima are the steadiest estimate of what each command costs.
        best = {k: min(v) for k, v in times.items()}
        return {"own_tree": best["tree"] - best["stub"], "own_installed": best["installed"] - best["stub"]}

    def min_mem(self, arch):
        """Smallest -m (MiB) at which hello runs: elfin to 1 MiB, Linux to 8 MiB."""
        hello = self.app(arch, "glibc", "hello")

        def elfin_ok(mib):
            r = subprocess.run([ELFIN, "run", "--arch", arch, "-m", f"{mib}M", "--timeout", "60", hello],
                               capture_output=True)
            return r.returncode == 0 and b"hello from" in r.stdout

        k = lg.kernel(arch)
        initrd = os.path.join(self.tmp, f"hello-{arch}.cpio")
        lg.initramfs(initrd, {"/init": hello})

        def linux_ok(mib):
            cmd = lg.qemu_cmd(arch, MACHINE[arch], "tcg", k, initrd, mem_mib=mib, append=self.linux_append(arch, False))
            try:
                return b"hello from" in subprocess.run(cmd, capture_output=True, timeout=120).stdout
            except subprocess.TimeoutExpired:
                return False

        def bisect(ok, lo, hi, step):
            if not ok(hi):
                return None
            while hi - lo > step:
                mid = (lo + hi) // 2 // step * step or step
                if mid <= lo:
                    break
                if ok(mid):
                    hi = mid
                else:
                    lo = mid
            return hi

        log(f"{arch}: smallest -m for hello")
        coarse = self.a.smoke  # one halving only
        return {
            "elfin": bisect(elfin_ok, 0, 64, 32 if coarse else 1),
            "linux": bisect(linux_ok, 0, 512, 256 if coarse else 16),
        }

    def sizes(self, arch):
        """Kernel and initrd bytes: the images QEMU loads for a run of hello."""
        hello = self.app(arch, "glibc", "hello")
        spy = os.path.join(self.tmp, "qemu-spy")
        rec = os.path.join(self.tmp, "sizes")
        with open(spy, "w") as f:
            f.write('#!/bin/sh\nprev=\nfor a in "$@"; do\n'
                    '  case $prev in -kernel|-initrd) echo "$prev $(stat -c %s "$a")" >>"' + rec + '";; esac\n'
                    '  prev=$a\ndone\nexec ' + ("qemu-system-x86_64" if arch == "x86_64" else "qemu-system-aarch64")
                    + ' "$@"\n')
        os.chmod(spy, 0o755)
        if os.path.exists(rec):
            os.unlink(rec)
        subprocess.run([ELFIN, "run", "--arch", arch, "-m", f"{MEM}M", "--vmm-path", spy, hello], capture_output=True)
        got = dict(line.split() for line in open(rec)) if os.path.exists(rec) else {}
        k = lg.kernel(arch)
        initrd = os.path.join(self.tmp, f"hello-{arch}.cpio")
        return {
            "elfin_kernel": int(got.get("-kernel", 0)) or None,
            "elfin_initrd": int(got.get("-initrd", 0)) or None,
            "linux_kernel": os.path.getsize(k.vmlinuz),
            "linux_initrd": lg.initramfs(initrd, {"/init": hello}),
            "native_binary": os.path.getsize(hello),
        }

    def stdio(self, arch):
        """MiB/s the program writes to its stdout and reads from its stdin."""
        pb = self.app(arch, "glibc", "perf_bench")
        size = self.a.stdio_mib << 20
        data = os.path.join(self.tmp, "stdin.data")
        with open(data, "wb") as f:
            f.write(os.urandom(size))
        out = {}

        def rate(ns_per_mib):
            return 1e9 / ns_per_mib if ns_per_mib else None

        log(f"{arch}: stdio ({self.a.stdio_mib} MiB each way)")
        # Natively stdout is a pipe the harness drains, as the guests' output reaches it.
        r = subprocess.run(self.native_prefix(arch) + [pb, "stdout", str(size)], capture_output=True)
        out["native_stdout"] = rate(figures_of(r.stderr.decode()).get("stdout")) if len(r.stdout) == size else None
        with open(data, "rb") as f:
            r = subprocess.run(self.native_prefix(arch) + [pb, "stdin", str(size)], stdin=f, capture_output=True)
        out["native_stdin"] = rate(figures_of(r.stderr.decode()).get("stdin"))
        r = self.elfin(arch, pb, ["stdout", str(size)])
        out["elfin_stdout"] = rate(figures_of(r.stderr.decode()).get("stdout")) if len(r.stdout) == size else None
        r = self.elfin(arch, pb, ["stdin", str(size)], stdin=open(data, "rb").read())
        out["elfin_stdin"] = rate(figures_of(r.stderr.decode()).get("stdin"))
        # Linux: the program's stdio on a virtio-console port (as elfin's), its
        # host end a file; /init is busybox loading virtio_console first.
        bb = self.app(arch, "debian", "busybox")
        k = lg.kernel(arch)
        dev = "virtio-serial-device,max_ports=2"
        for way in ("stdout", "stdin"):
            port = os.path.join(self.tmp, f"port-{arch}-{way}")
            if way == "stdout":
                open(port, "wb").close()
                chardev = f"file,id=p,path={port}"
            else:
                # A pipe chardev reads PATH.in: the harness writes the data into it.
                for end in (".in", ".out"):
                    os.mkfifo(port + end)
                chardev = f"pipe,id=p,path={port}"
            devices = ["-device", dev, "-chardev", chardev, "-device", "virtserialport,chardev=p,name=p,nr=1"]
            redir = ">/dev/vport0p1" if way == "stdout" else "</dev/vport0p1"
            # The node can appear before the port is registered (ENXIO): retry the
            # open. Not with a trial open: closing the port discards what the host
            # had already sent, and the program would wait for it forever.
            run = (f"i=0; until /perf_bench {way} {size} {redir} || [ $i -ge 50 ]; do i=$((i+1)); sleep 0.1; "
                   "done")
            script = self.init_script(k, [run])
            files = {"/init": script.encode(), "/bin/busybox": bb, "/perf_bench": pb, **lg.module_files(k)}
            if way == "stdout":
                text = self.linux(arch, files, devices=devices)
            else:
                proc = self.linux(arch, files, devices=devices, wait=False)

                def feed():
                    with open(port + ".in", "wb") as f:
                        f.write(open(data, "rb").read())

                t = threading.Thread(target=feed, daemon=True)
                t.start()
                try:
                    text = proc.communicate(timeout=600)[0]
                except subprocess.TimeoutExpired:
                    proc.kill()
                    text = proc.communicate()[0]
            v = rate(figures_of(text).get(way))
            if way == "stdout" and os.path.getsize(port) != size:
                v = None
            out[f"linux_{way}"] = v
        return out

    def init_script(self, k, body):
        """A busybox /init: mounts, loads the virtio modules, runs BODY's lines."""
        return "\n".join([
            "#!/bin/busybox sh",
            "/bin/busybox --install -s /bin",
            "mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys",
            # Loadable modules do not see their kernel command-line parameters
            # (modprobe passes them): hand virtio_mmio its devices on microvm.
            "mmio=; for w in $(cat /proc/cmdline); do case $w in virtio_mmio.*) mmio=\"$mmio ${w#virtio_mmio.}\";; esac; done",
            *[line + (" $mmio" if "virtio_mmio.ko" in line else "") for line in lg.insmod_lines(k)],
            "for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/vport0p1 ] || [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done",
            *body,
            "",
        ])

    # ------------------------------------------------------------ servers --

    def servers(self, arch):
        """nginx and redis: requests/s and p99 in each column, and guest instructions
        per request under icount in the two guests."""
        from servers import Servers  # noqa: E402

        return Servers(self, arch).run()

    # -------------------------------------------------------------- table --

    def run(self):
        results = {}
        for arch in self.a.arch:
            missing = [n for n in ("perf_bench", "hello") if not self.app(arch, "glibc", n)]
            if missing:
                raise SystemExit(f"bench: build the guest programs first (static-pie-apps/build.sh all): {missing}")
            r = {}
            parts = [("perf", self.perf), ("boot", self.boot), ("hello", self.hello_wall),
                     ("overhead", self.cli_overhead), ("stdio", self.stdio),
                     ("mem", self.min_mem), ("sizes", self.sizes)]
            if self.a.servers:
                parts.append(("servers", self.servers))
            if self.a.only:
                parts = [(k, f) for k, f in parts if k in self.a.only]
            for key, fn in parts:
                # A part that fails leaves its figures n/a (the smoke test catches that).
                try:
                    r[key] = fn(arch)
                except Exception as e:  # noqa: BLE001
                    log(f"{arch}: {key} failed: {type(e).__name__}: {e}")
                    r[key] = {}
            results[arch] = r
        return results


# ------------------------------------------------------------------ report --

def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}{unit}"
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def human_bytes(n):
    if n is None:
        return "n/a"
    return f"{n / 1024:,.0f} KiB" if n < (1 << 20) else f"{n / (1 << 20):.1f} MiB"


ROWS = [
    ("calib", "clock check: ns per instruction of a 2-instruction loop (1.00 = the clock counts instructions)"),
    ("getppid", "null system call: `syscall(SYS_getppid)`, user loop included"),
    ("clock", "`clock_gettime(CLOCK_MONOTONIC)`"),
    ("fault", "4 KiB page fault (first touch of anonymous memory)"),
    ("mmap", "`mmap` + touch + `munmap` of 4 KiB"),
    ("pipe", "64 KiB through a pipe, thread to thread"),
    ("futex", "futex round trip between two threads"),
    ("thread", "`pthread_create` + `pthread_join`"),
    ("fork", "`fork` + `_exit` + `waitpid`"),
    ("spawn", "`posix_spawn` + `waitpid` (a static-PIE program that exits)"),
]


def machine_info():
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    kvm = os.path.exists("/dev/kvm") and re.search(r"\b(vmx|svm)\b", open("/proc/cpuinfo").read())
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "accel": "KVM available, but every figure here is TCG" if kvm else "TCG (no hardware virtualisation)",
        "qemu": qemu.replace("QEMU emulator version ", ""),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load": " ".join(load),
    }


def report(args, results, info, elapsed):
    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w(f"Written by `./x bench{' --quick' if args.quick else ''}` on {datetime.date.today().isoformat()}; "
      f"do not edit by hand above the marker line near the end.")
    w("")
    w(f"- machine: {info['cpu']}, {info['cores']} cores; load average {info['load']} when the run began"
      + (f" ({args.note})" if args.note else ""))
    w(f"- accelerator: {info['accel']}; QEMU {info['qemu']}")
    w(f"- commit: `{info['commit']}`")
    kernels = ", ".join(f"`{lg.kernel(a).pkg}` {lg.kernel(a).version}" for a in results)
    w(f"- Linux guest: Debian's {kernels}, on the machine elfin uses (x86_64 `microvm`, arm64 `virt`), "
      f"the same `-cpu max`, {MEM} MiB and one vCPU in both guests")
    w(f"- {args.iters} iterations per figure (a tenth of that for pipe, futex, thread, fork and spawn); "
      f"{args.runs} runs of hello; {args.stdio_mib} MiB of stdio; the run took {elapsed / 60:.1f} minutes")
    w("")
    w("Under TCG every wall-clock figure moves with the host's load; the instruction counts do not. "
      "They come from runs under `-icount shift=0`, where QEMU advances the guest clock one "
      "nanosecond per instruction, so a program that times itself with `clock_gettime` reads "
      "instruction counts (the `calib` row checks that the guest clock did count instructions). "
      "In the Linux guest the clock is the TSC (x86_64: `clocksource=tsc tsc=reliable` and "
      "`tsc_early_khz`, since `microvm` has no other timer to calibrate against) or the generic "
      "timer (arm64, which ticks every 16 instructions under icount).")
    w("")
    for arch, r in results.items():
        native = "native" if arch == platform.machine() else "qemu-aarch64 (user mode)"
        r = {k: r.get(k, {}) for k in ("perf", "boot", "hello", "overhead", "stdio", "mem", "sizes", "servers")}
        p = {c: r["perf"].get(c, {}) for c in ("elfin_icount", "linux_icount", "elfin_wall", "linux_wall", "native")}
        w(f"## {arch}")
        w("")
        w(f"| figure | elfin (instructions) | Linux guest (instructions) | elfin (ns) | Linux guest (ns) | {native} (ns) |")
        w("|---|---|---|---|---|---|")
        b = r["boot"]
        w(f"| first kernel instruction → program entry | {fmt(b.get('elfin_entry'))} | "
          f"{fmt(b.get('linux_entry'))} to /init | | | |")
        w(f"| whole run of hello, first instruction → exit | {fmt(b.get('elfin_hello_insns'))} | | | | |")
        h = r["hello"]
        w(f"| `run hello`, wall time of the whole run (ms) | | | {fmt(h.get('elfin'))} | {fmt(h.get('linux'))} | "
          f"{fmt(h.get('native'))} |")
        o = r["overhead"]
        w(f"| CLI overhead over QEMU: `elfin run hello` minus its own QEMU command, installed / in the "
          f"source tree (ms) | | | {fmt(o.get('overhead_installed'))} / {fmt(o.get('overhead'))} "
          f"({fmt(o.get('installed'))} / {fmt(o.get('elfin'))} vs {fmt(o.get('qemu'))}) | | |")
        w(f"| CLI's own time: `elfin run hello` with a stub VMM minus the stub alone, installed / in the source "
          f"tree (ms) | | | {fmt(o.get('own_installed'))} / {fmt(o.get('own_tree'))} | | |")
        for name, _ in ROWS:
            w(f"| {name} | {fmt(p['elfin_icount'].get(name))} | {fmt(p['linux_icount'].get(name))} | "
              f"{fmt(p['elfin_wall'].get(name))} | {fmt(p['linux_wall'].get(name))} | {fmt(p['native'].get(name))} |")
        s = r["stdio"]
        w(f"| stdout, MiB/s | | | {fmt(s.get('elfin_stdout'))} | {fmt(s.get('linux_stdout'))} | {fmt(s.get('native_stdout'))} |")
        w(f"| stdin, MiB/s | | | {fmt(s.get('elfin_stdin'))} | {fmt(s.get('linux_stdin'))} | {fmt(s.get('native_stdin'))} |")
        m = r["mem"]
        w(f"| smallest `-m` for hello | {fmt(m.get('elfin'), ' MiB')} | {fmt(m.get('linux'), ' MiB')} | | | |")
        z = r["sizes"]
        w(f"| kernel image | {human_bytes(z.get('elfin_kernel'))} | {human_bytes(z.get('linux_kernel'))} (vmlinuz) | | | |")
        w(f"| initrd for hello | {human_bytes(z.get('elfin_initrd'))} | {human_bytes(z.get('linux_initrd'))} | | | "
          f"{human_bytes(z.get('native_binary'))} (the binary) |")
        w("")
        if args.servers:
            from servers import table

            L.extend(table(arch, r.get("servers", {}), native))
            w("")
    w("## The figures")
    w("")
    w("Rows of the tables above, from `static-pie-apps/src/perf_bench.c` unless said otherwise "
      "(each figure is per operation; the instruction columns count guest instructions, "
      "user and kernel):")
    w("")
    w("- **first kernel instruction → program entry**: elfin's `bootstat` kernel option "
      "(the counter at the kernel's first instruction, at the program's entry and at its "
      "exit). For Linux, `perf_bench entry` as /init reads the counter at its first "
      "instructions: the count includes the firmware, the decompressor and any time the "
      "kernel spent idle while booting.")
    w("- **whole run of hello** (`static-pie-apps/src/hello.c`): the wall time from starting "
      "the command to its exit, for elfin `elfin run hello`, for Linux QEMU with hello as "
      "/init until QEMU exits after the kernel's panic on /init's exit (`panic=-1`).")
    w(f"- **CLI overhead over QEMU**: the median wall time of `elfin run hello` (default options) "
      f"less the median of the QEMU command it runs (`--print-cmd`), started with the same files "
      f"and console sockets and without the CLI, {args.overhead_runs} runs of each in alternation "
      f"(the medians in brackets), for a copy of the CLI outside the source tree (installed) and "
      f"for the one in `target/release`. It is what the CLI costs: its start, checking the program, "
      f"packing or reusing the initrd, and relaying the console. Under TCG QEMU's own run varies by "
      f"milliseconds, so the **CLI's own time** is also measured apart from it: `elfin run hello "
      f"--vmm-path STUB`, where the stub is a static program that waits 20 ms and exits, less the stub "
      f"alone, in alternation, the fastest run of each (load only adds time); for a copy of the CLI outside the source tree (installed) and for the "
      f"one in `target/release` (which first checks the kernel's sources for changes).")
    for name, text in ROWS:
        w(f"- **{name}**: {text}.")
    w("- **stdout, stdin**: `perf_bench stdout|stdin BYTES` times moving the data through fd 1 "
      "or fd 0 itself, from its first byte: elfin's virtio-console ports to the CLI; in the "
      "Linux guest a virtio-console port (`/dev/vport0p1`) whose host end is a file; natively a "
      "pipe read by the harness (stdout) and a file (stdin).")
    w("- **smallest `-m`**: bisection of the guest RAM at which hello still runs (elfin to "
      "1 MiB, the Linux guest to 16 MiB).")
    w("- **kernel image, initrd**: the files QEMU loads. elfin's initrd is the one the CLI "
      "packs for hello; the Linux initramfs holds hello as /init.")
    w("")
    if args.servers:
        from servers import prose

        L.extend(prose())
        w("")
    w("Other benchmarks print their figures without writing this file: `tests/bench/smp.sh` "
      "(several CPUs), `tests/bench/net.sh` (Go server, echo, loopback), `tests/bench/volume.py` "
      "(volumes), `tests/bench/proc.sh` (exec, copy-on-write), `tests/bench/boot.py` (boot "
      "against an empty guest), `tests/bench/stdio.py` (serial console).")
    w("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small iteration counts")
    ap.add_argument("--smoke", action="store_true", help="the smallest run, for the test suite")
    ap.add_argument("--out", help="the Markdown file to write (default: docs/benchmarks.md, none with --smoke)")
    ap.add_argument("--arch", default="x86_64,aarch64")
    ap.add_argument("--no-servers", dest="servers", action="store_false")
    ap.add_argument("--only", help="run only these parts (perf,boot,hello,overhead,stdio,mem,sizes,servers); "
                    "writes no file unless --out names one")
    ap.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""), help="a note on the machine's state")
    a = ap.parse_args()
    a.arch = a.arch.split(",")
    a.only = a.only.split(",") if a.only else None
    a.server_names = ["nginx", "redis"]
    a.overhead_runs = 30
    if a.smoke:
        a.iters, a.runs, a.stdio_mib, a.requests, a.seconds = 20, 1, 1, 300, 1
        a.overhead_runs = 2
        a.server_names = ["redis"]
    elif a.quick:
        a.iters, a.runs, a.stdio_mib, a.requests, a.seconds = 300, 2, 8, 200, 2
        a.overhead_runs = 10
    else:
        a.iters, a.runs, a.stdio_mib, a.requests, a.seconds = 2000, 3, 32, 1000, 5
    if a.out is None and not a.smoke and not a.only:
        a.out = os.path.join(ROOT, "docs/benchmarks.md")
    t0 = time.time()
    info = machine_info()  # the commit and load the run starts from
    b = Bench(a)
    try:
        results = b.run()
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
    text = report(a, results, info, time.time() - t0)
    if a.out:
        kept = ""
        if os.path.exists(a.out):
            old = open(a.out).read()
            if MARKER in old:
                kept = old.split(MARKER, 1)[1]
        with open(a.out, "w") as f:
            f.write(text + "\n" + MARKER + kept)
        log(f"wrote {a.out}")
    print(text)


if __name__ == "__main__":
    main()
