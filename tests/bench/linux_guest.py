"""A Linux guest for the benchmarks: Debian's kernel, and an initramfs made here.

The kernel packages (`linux-image-cloud-amd64` for x86_64, `linux-image-arm64` for
aarch64) come from the Debian archive through apt only (`apt-get download`, the
system's own sources): for arm64 apt runs with a private state directory that
knows the arm64 architecture, so the system's dpkg configuration is left alone.
vmlinuz and the virtio modules are kept under ~/.cache/elfin/linux-guest/ by
package name and version; a later run with the same version reuses them.

The initramfs is a cpio (newc) written by `initramfs()`: the program as /init, or
a static busybox as /init's shell with the modules it loads (virtio-net for the
servers, virtio-console for the stdio figures).
"""
import os
import shutil
import subprocess
import tempfile

CACHE = os.path.join(os.environ.get("ELFIN_CACHE", os.path.expanduser("~/.cache/elfin")), "linux-guest")

# The modules a guest may need, in load order (a module missing from a kernel
# is built in there and skipped).
MODULES = [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
    "kernel/drivers/char/virtio_console.ko",
]

META = {"x86_64": ("linux-image-cloud-amd64", "amd64"), "aarch64": ("linux-image-arm64", "arm64")}


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return r.stdout


def _apt_options(arch):
    """apt options for ARCH: none for the host's architecture; for another, a
    private state and cache under the cache directory, with that architecture."""
    dpkg_arch = META[arch][1]
    if _run(["dpkg", "--print-architecture"]).strip() == dpkg_arch:
        return []
    state = os.path.join(CACHE, f"apt-{dpkg_arch}")
    for d in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(state, d), exist_ok=True)
    return [
        "-o", f"Dir::State::Lists={state}/lists",
        "-o", f"Dir::Cache={state}/cache",
        "-o", f"APT::Architecture={dpkg_arch}",
        "-o", f"APT::Architectures::={dpkg_arch}",
        "-o", "Debug::NoLocking=1",
    ]


def _candidate(opts, pkg):
    """The version apt would install of PKG, or None."""
    out = subprocess.run(["apt-cache", *opts, "policy", pkg], capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Candidate:"):
            v = line.split(":", 1)[1].strip()
            return None if v == "(none)" else v
    return None


def _resolve(opts, meta):
    """The real kernel package behind META and its version, updating apt's lists
    once when it knows none."""
    if _candidate(opts, meta) is None:
        _run(["apt-get", *opts, "-q", "update"])
    if _candidate(opts, meta) is None:
        raise RuntimeError(f"apt knows no {meta}: add Debian 12 (bookworm) main to the apt sources")
    deps = _run(["apt-cache", *opts, "depends", "--no-recommends", "--no-suggests", meta])
    pkg = next(
        (l.split(":", 1)[1].strip() for l in deps.splitlines() if l.strip().startswith("Depends: linux-image-")), None
    )
    if pkg is None:
        raise RuntimeError(f"{meta} depends on no linux-image package")
    return pkg, _candidate(opts, pkg)


class Kernel:
    """A cached Debian kernel: vmlinuz, its modules directory, its package and version."""

    def __init__(self, arch, pkg, version, root):
        self.arch, self.pkg, self.version, self.root = arch, pkg, version, root
        self.vmlinuz = os.path.join(root, "vmlinuz")
        self.modules = os.path.join(root, "modules")

    def module_files(self):
        """The existing .ko files of MODULES, in load order."""
        return [os.path.join(self.modules, m) for m in MODULES if os.path.exists(os.path.join(self.modules, m))]


_KERNELS = {}


def kernel(arch):
    """Fetches (once) and returns the Debian kernel for ARCH."""
    if arch not in _KERNELS:
        _KERNELS[arch] = _kernel(arch)
    return _KERNELS[arch]


def _kernel(arch):
    meta = META[arch][0]
    opts = _apt_options(arch)
    # Without network or lists, reuse whatever version is cached.
    try:
        pkg, version = _resolve(opts, meta)
    except RuntimeError:
        cached = sorted(
            d for d in (os.listdir(CACHE) if os.path.isdir(CACHE) else []) if d.startswith("linux-image-")
            and d.endswith("_" + META[arch][1]) and os.path.exists(os.path.join(CACHE, d, ".done"))
        )
        if not cached:
            raise
        d = cached[-1]
        return Kernel(arch, d.split("_")[0], d.split("_")[1], os.path.join(CACHE, d))
    root = os.path.join(CACHE, f"{pkg}_{version}_{META[arch][1]}")
    if os.path.exists(os.path.join(root, ".done")):
        return Kernel(arch, pkg, version, root)
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        os.chmod(tmp, 0o755)  # apt's sandbox user writes the download here
        _run(["apt-get", *opts, "-q", "download", f"{pkg}={version}"], cwd=tmp)
        deb = next(f for f in os.listdir(tmp) if f.endswith(".deb"))
        x = os.path.join(tmp, "x")
        _run(["dpkg-deb", "-x", os.path.join(tmp, deb), x])
        boot = os.path.join(x, "boot")
        vmlinuz = next(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
        mods = os.path.join(x, "lib/modules", vmlinuz[len("vmlinuz-"):])
        stage = os.path.join(tmp, "stage")
        os.makedirs(os.path.join(stage, "modules"))
        shutil.copy(os.path.join(boot, vmlinuz), os.path.join(stage, "vmlinuz"))
        for m in MODULES:
            if os.path.exists(os.path.join(mods, m)):
                os.makedirs(os.path.dirname(os.path.join(stage, "modules", m)), exist_ok=True)
                shutil.copy(os.path.join(mods, m), os.path.join(stage, "modules", m))
        open(os.path.join(stage, ".done"), "w").close()
        shutil.rmtree(root, ignore_errors=True)
        os.rename(stage, root)
    return Kernel(arch, pkg, version, root)


def _cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    pad = lambda n: b"\0" * (-n % 4)
    return head + name.encode() + b"\0" + pad(110 + len(name) + 1) + data + pad(len(data))


def initramfs(path, files, dirs=("dev", "proc", "sys", "tmp")):
    """Writes a cpio (newc) at PATH: /dev/console, the directories DIRS, and
    FILES, a {guest path: host file or bytes} map (all executable)."""
    out = bytearray()
    made = set()
    for d in dirs:
        out += _cpio_entry(d, 0o40755)
        made.add(d)
    out += _cpio_entry("dev/console", 0o20600, rdev=(5, 1))
    for name, src in files.items():
        name = name.lstrip("/")
        parts = name.split("/")[:-1]
        for i in range(len(parts)):
            d = "/".join(parts[: i + 1])
            if d not in made:
                out += _cpio_entry(d, 0o40755)
                made.add(d)
        data = src if isinstance(src, bytes) else open(src, "rb").read()
        out += _cpio_entry(name, 0o100755, data)
    out += _cpio_entry("TRAILER!!!", 0)
    with open(path, "wb") as f:
        f.write(out)
    return len(out)


def insmod_lines(k, guest_dir="/lib/modules"):
    """Shell lines loading the kernel's modules from GUEST_DIR (see files())."""
    return [f"insmod {guest_dir}/{os.path.basename(m)}" for m in k.module_files()]


def module_files(k, guest_dir="/lib/modules"):
    """{guest path: host file} of the kernel's modules."""
    return {f"{guest_dir}/{os.path.basename(m)}": m for m in k.module_files()}


def qemu_cmd(arch, machine, accel, k, initrd, mem_mib=256, icount=False, devices=(), append=""):
    """The QEMU command line of a Linux guest on the machine and accelerator elfin
    uses (see run-scripts/src/qemu.rs), its console on stdio."""
    if arch == "x86_64":
        m = {"microvm": "microvm,x-option-roms=off,acpi=on", "q35": "q35"}[machine]
        console = "console=ttyS0 clocksource=tsc tsc=reliable"
        qemu = "qemu-system-x86_64"
    else:
        m = "virt,gic-version=3"
        console = "console=ttyAMA0"
        qemu = "qemu-system-aarch64"
    cmd = [qemu, "-M", m, "-accel", accel, "-cpu", "max", "-m", f"{mem_mib}M", "-smp", "1"]
    cmd += ["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"]
    cmd += ["-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0"]
    cmd += list(devices)
    if icount:
        cmd += ["-icount", "shift=0"]
    cmdline = f"{console} quiet loglevel=1 panic=-1 rdinit=/init {append}".strip()
    cmd += ["-kernel", k.vmlinuz, "-initrd", initrd, "-append", cmdline]
    return cmd
