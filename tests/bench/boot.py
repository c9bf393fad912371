#!/usr/bin/env python3
"""Boot-time benchmark of elfin (not a test: it prints figures).

For a glibc static-PIE hello on x86_64 microvm and q35 (and aarch64 virt):
  - wall time of `elfin run hello`, next to an empty guest on the same QEMU
    machine and accelerator (the floor: a PVH kernel that exits at once), and
    next to the same binary run natively;
  - the guest's own boot breakdown (first instruction -> kernel ready -> program
    entry -> exit) from the cycle counter, and the same phases as instruction
    counts under `-icount shift=0`, where the guest clock counts instructions
    (deterministic across runs and machines);
  - whether hello runs in a 16 MiB VM.
Everything under TCG on machines without hardware virtualisation is labelled so.
"""
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELFIN = os.path.join(ROOT, "target/release/elfin")
APPS = os.path.join(ROOT, "static-pie-apps/out")
RUNS = int(os.environ.get("BENCH_RUNS", "10"))


def wall(cmd, runs=RUNS, **kw):
    """Median wall time in ms of `cmd` over `runs` runs (after one warm-up)."""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def qemu_cmd(arch, machine, prog):
    """The QEMU command line elfin uses (from --print-cmd), without the stdio port
    sockets, which are descriptors only that run inherited."""
    args = [ELFIN, "run", "--arch", arch, "--print-cmd"]
    if machine:
        args += ["--machine", machine]
    out = subprocess.run(args + [prog], capture_output=True, text=True)
    line = next(l for l in out.stderr.splitlines() if l.startswith("qemu-system"))
    words = shlex.split(line)
    kept = []
    i = 0
    while i < len(words):
        if words[i] in ("-chardev", "-device") and i + 1 < len(words) and (
            words[i + 1].startswith("socket,") or words[i + 1].startswith("virtserialport,")
        ):
            i += 2
            continue
        kept.append(words[i])
        i += 1
    return kept


def empty_guest(tmp):
    """Builds the x86_64 PVH kernel that exits at once (tests/bench/empty-guest.S)."""
    src = os.path.join(ROOT, "tests/bench/empty-guest.S")
    obj, elf = os.path.join(tmp, "e.o"), os.path.join(tmp, "empty.elf")
    subprocess.run(["as", "--32", src, "-o", obj], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext=0x100000", "-e", "_start", obj, "-o", elf], check=True)
    return elf


def bootstat(arch, machine, prog, icount):
    args = [ELFIN, "run", "--arch", arch, "--kernel-arg", "bootstat"]
    if machine:
        args += ["--machine", machine]
    if icount:
        args += ["--qemu-arg=-icount", "--qemu-arg=shift=0"]
    out = subprocess.run(args + [prog], capture_output=True, text=True)
    m = re.search(r"elfin-bootstat: first=(\d+) ready=(\d+) entry=(\d+) exit=(\d+).*?hz=(\d+)", out.stderr)
    if not m:
        return None
    return [int(x) for x in m.groups()]


def fmt_phases(b, unit_per_tick, unit):
    first, ready, entry, exit_, _ = b
    k = lambda c: f"{c * unit_per_tick:,.0f} {unit}"
    return f"first->ready {k(ready - first)}, ready->entry {k(entry - ready)}, entry->exit {k(exit_ - entry)}, first->entry {k(entry - first)}"


def main():
    accel = "TCG (no hardware virtualisation here)"
    if os.path.exists("/dev/kvm") and re.search(r"\b(vmx|svm)\b", open("/proc/cpuinfo").read()):
        accel = "KVM"
    print(f"elfin boot benchmark — accelerator: {accel}; median of {RUNS} runs\n")
    hello = os.path.join(APPS, "x86_64/glibc/hello")
    with tempfile.TemporaryDirectory() as tmp:
        empty = empty_guest(tmp)
        native, _ = wall([hello])
        print(f"native hello (Linux, this host): {native:.1f} ms\n")
        for machine in ["microvm", "q35"]:
            q = qemu_cmd("x86_64", machine, hello)
            k = q.index("-kernel")
            floor_cmd = q[:k] + ["-kernel", empty]
            floor, _ = wall(floor_cmd)
            run, run_min = wall([ELFIN, "run", "--machine", machine, hello])
            print(f"x86_64 {machine}:")
            print(f"  empty guest (floor)     {floor:7.1f} ms")
            print(f"  elfin run hello         {run:7.1f} ms  (min {run_min:.1f}; {run / floor:.2f}x the floor; target <= 1.2x)")
            b = bootstat("x86_64", machine, hello, icount=False)
            if b:
                hz = b[4]
                if hz:
                    print(f"  guest phases, TSC:      {fmt_phases(b, 1e6 / hz, 'us')}")
                else:
                    # The program never asked for the time, so the TSC was not calibrated.
                    print(f"  guest phases, TSC:      {fmt_phases(b, 1, 'cycles')}")
            b = bootstat("x86_64", machine, hello, icount=True)
            if b:
                ok = (b[2] - b[0]) < 1_000_000
                print(f"  guest phases, icount:   {fmt_phases(b, 1, 'instr')}  (first->entry < 1M: {'yes' if ok else 'NO'})")
            print()
        small = subprocess.run([ELFIN, "run", "--mem", "16M", hello], capture_output=True)
        print(f"hello with --mem 16M: status {small.returncode} ({'ok' if small.returncode == 0 else 'FAILED'})\n")

        arm = os.path.join(APPS, "aarch64/glibc/hello")
        if os.path.exists(arm):
            run, run_min = wall([ELFIN, "run", "--arch", "aarch64", arm])
            native, _ = wall(["qemu-aarch64-static", arm])
            print("aarch64 virt (TCG, emulated on this x86_64 host):")
            print(f"  elfin run hello         {run:7.1f} ms  (min {run_min:.1f}); qemu-aarch64 user mode {native:.1f} ms")
            b = bootstat("aarch64", None, arm, icount=True)
            if b:
                # Under -icount shift=0 the arm generic timer (62.5 MHz) ticks every 16 instructions.
                print(f"  guest phases, icount:   {fmt_phases(b, 1e9 / b[4] if b[4] else 16, 'instr')}")


if __name__ == "__main__":
    sys.exit(main())
