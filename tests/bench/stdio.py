#!/usr/bin/env python3
"""stdio throughput benchmark of elfin (not a test: it prints figures).

For each guest machine, MiB/s through the program's stdout, its stdin, and both
at once, next to the same static-PIE binaries run natively:
  - stdout: busybox `dd if=/dev/zero bs=64k` writing 100 MiB to stdout;
  - stdin:  busybox `dd of=/dev/null bs=64k` reading 100 MiB from stdin;
  - both:   `cat_stdin` copying 100 MiB from stdin to stdout (the figure is per
    direction: 100 MiB went each way).
A run's time minus the time of the same command moving nothing is the transfer
time, so the figure is the data path's, without the boot. The native runs write
into a pipe (`| cat >/dev/null`), as elfin's output reaches the CLI, and read stdin
from the file. The serial console
(`--serial-stdio`, the path before virtio-console and the one left on VMMs
without it) is measured with less data, it is that slow.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELFIN = os.path.join(ROOT, "target/release/elfin")
APPS = os.path.join(ROOT, "static-pie-apps/out")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MIB = 1 << 20


def timed(cmd, stdin_path, runs):
    """Shortest wall time in seconds of `cmd` with stdin from a file, output
    discarded (the shortest: other load on the machine only ever adds time)."""
    times = []
    for _ in range(runs):
        with open(stdin_path, "rb") as f:
            t0 = time.perf_counter()
            r = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            return None
    return min(times)


def rate(cmd_for, size, data, empty, runs=RUNS):
    """MiB/s moving `size` bytes: (time with data - time without) per MiB."""
    full = timed(cmd_for(size), data, runs)
    none = timed(cmd_for(0), empty, runs)
    if full is None or none is None:
        return "failed"
    dt = max(full - none, 1e-6)
    mibs = size / MIB / dt
    return f"{mibs:8.1f} MiB/s" if mibs >= 1 else f"{mibs * 1024:8.1f} KiB/s"


def cases(arch, prefix):
    busybox = os.path.join(APPS, arch, "debian/busybox")
    cat = os.path.join(APPS, arch, "glibc/cat_stdin")
    return [
        ("stdout", lambda n: prefix + [busybox, "dd", "if=/dev/zero", "bs=65536", f"count={n // 65536}"], False),
        ("stdin ", lambda n: prefix + [busybox, "dd", "of=/dev/null", "bs=65536"], True),
        ("both  ", lambda n: prefix + [cat], True),
    ]


def main():
    accel = "TCG (no hardware virtualisation here)"
    print(f"elfin stdio benchmark — accelerator: {accel}; best of {RUNS} runs\n")
    size = 100 * MIB
    # The serial console moves about 0.5 MiB/s out and 10-20 KiB/s in.
    serial_size = {"stdout": MIB, "stdin ": 64 << 10, "both  ": 64 << 10}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        small = os.path.join(tmp, "small")
        empty = os.path.join(tmp, "empty")
        with open(data, "wb") as f:
            f.write(os.urandom(size))
        with open(small, "wb") as f:
            f.write(os.urandom(max(serial_size.values())))
        open(empty, "wb").close()

        # The native program's stdout goes through a pipe, like the guest's.
        piped = lambda cmd: ["sh", "-c", 'exec "$@" | cat >/dev/null', "sh"] + cmd
        native_x86 = [(n, (lambda c: lambda k: piped(c(k)))(c), r) for (n, c, r) in cases("x86_64", [])]
        for (name, cmd, reads) in native_x86:
            print(f"native x86_64 {name}: {rate(cmd, size, data if reads else empty, empty)}")
        print()
        for arch, machine in [("x86_64", "microvm"), ("x86_64", "q35"), ("aarch64", "virt")]:
            prefix = [ELFIN, "run", "--arch", arch, "--machine", machine, "--"]
            serial = [ELFIN, "run", "--arch", arch, "--machine", machine, "--serial-stdio", "--"]
            print(f"{arch} {machine}:")
            for (name, cmd, reads), (_, scmd, _) in zip(cases(arch, prefix), cases(arch, serial)):
                fast = rate(cmd, size, data if reads else empty, empty)
                n = serial_size[name]
                part = os.path.join(tmp, "part")
                with open(small, "rb") as f, open(part, "wb") as g:
                    g.write(f.read(n))
                slow = rate(scmd, n, part if reads else empty, empty, runs=1)
                print(f"  {name} virtio-console {fast}   serial console {slow}")
            if arch == "aarch64":
                for (name, cmd, reads) in cases(arch, ["qemu-aarch64-static"]):
                    cmd = (lambda c: lambda k: piped(c(k)))(cmd)
                    print(f"  {name} qemu-aarch64 user mode {rate(cmd, size, data if reads else empty, empty)}")
            print()


if __name__ == "__main__":
    sys.exit(main())
