#!/usr/bin/env python3
"""Volume throughput benchmark of elfin (not a test: it prints figures).

MiB/s writing and reading a file in a `-v` volume (virtio-9p) with busybox `dd`
(bs=1M, `iflag=fullblock`), next to the same static-PIE busybox run natively in
the same host directory. Each figure is (time with data - time of the same
command moving nothing) per MiB, so the boot is not counted. The native read
comes from the host's page cache, as the guest's reads do through QEMU.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELFIN = os.path.join(ROOT, "target/release/elfin")
APPS = os.path.join(ROOT, "static-pie-apps/out")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MIB = 1 << 20
SIZE_MIB = int(os.environ.get("BENCH_VOLUME_MIB", "128"))


def timed(cmd):
    """Shortest wall time in seconds of `cmd` (other load only ever adds time)."""
    best = None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            return None
        best = dt if best is None else min(best, dt)
    return best


def rate(cmd_for, mib):
    full = timed(cmd_for(mib))
    none = timed(cmd_for(0))
    if full is None or none is None:
        return "failed"
    return f"{mib / max(full - none, 1e-6):8.1f} MiB/s"


def main():
    print(f"elfin volume benchmark — TCG; {SIZE_MIB} MiB, best of {RUNS} runs\n")
    with tempfile.TemporaryDirectory() as tmp:
        for arch, machine in [("native", None), ("x86_64", "microvm"), ("x86_64", "q35"), ("aarch64", "virt")]:
            busybox = os.path.join(APPS, "x86_64" if arch == "native" else arch, "debian/busybox")
            if not os.path.exists(busybox):
                print(f"{arch}: no busybox built (static-pie-apps/build.sh)")
                continue
            vol = os.path.join(tmp, arch)
            os.makedirs(vol, exist_ok=True)
            if arch == "native":
                prefix, path = [busybox], vol
            else:
                prefix = [ELFIN, "run", "--arch", arch, "--machine", machine, "-v", f"{vol}:/vol", "--", busybox]
                path = "/vol"
            write = lambda n: prefix + ["dd", "if=/dev/zero", f"of={path}/f", "bs=1048576", f"count={n}"]
            w = rate(write, SIZE_MIB)
            # Reading needs the file (the empty write above truncated it): write it
            # once more, then read it back.
            subprocess.run(write(SIZE_MIB), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            read = lambda n: prefix + ["dd", f"if={path}/f", "of=/dev/null", "bs=1048576", f"count={n}",
                                       "iflag=fullblock"]
            r = rate(read, SIZE_MIB)
            label = "native x86_64" if arch == "native" else f"{arch} {machine}"
            print(f"{label:16} write {w}   read {r}")
            shutil.rmtree(vol, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
