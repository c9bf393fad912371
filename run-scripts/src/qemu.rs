//! The QEMU command line: accelerator choice and argument construction (pure, tested).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::arch::{Accel, AccelChoice, Arch, MachineType};

/// Everything that decides the QEMU command line.
#[derive(Clone, Debug)]
pub struct VmSpec<'a> {
    /// Guest architecture.
    pub arch: Arch,
    /// Machine type (must be one of `arch.machines()`).
    pub machine: MachineType,
    /// Accelerator.
    pub accel: Accel,
    /// Guest RAM in MiB.
    pub mem_mib: u64,
    /// Number of virtual CPUs.
    pub smp: u32,
    /// Kernel image.
    pub kernel: &'a Path,
    /// Initrd (cpio newc).
    pub initrd: &'a Path,
    /// Kernel command line.
    pub cmdline: &'a str,
    /// Extra arguments passed through (`--qemu-arg`), appended last.
    pub extra: &'a [OsString],
    /// Descriptors (in QEMU) of the sockets for the program's stdin, stdout and
    /// stderr, carried by virtio-console ports; None keeps stdio on the serial line.
    pub stdio_fds: Option<StdioFds>,
    /// Descriptor (in QEMU) of the socket for its monitor (QMP), if any.
    pub monitor_fd: Option<i32>,
    /// Arguments of the network device (`-netdev … -device …`), empty for none.
    pub net: Vec<String>,
    /// Host directories shared with the guest as volumes (virtio-9p).
    pub shares: &'a [Share],
}

/// A host directory exported to the guest over virtio-9p (docs/protocol.md,
/// "Volumes").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The mount tag, also the fsdev id (`elfin0`, `elfin1`, …).
    pub tag: String,
    /// The host directory (absolute).
    pub host: PathBuf,
    /// Writes refused (EROFS).
    pub ro: bool,
}

/// The `-fsdev` and `-device` arguments of a share. `security_model=none`: files
/// are created and written as the user running QEMU, with the guest's modes, as a
/// bind mount of a rootless container does. QEMU keeps every access below `path`
/// and never follows a symlink on the host (it opens each component with
/// O_NOFOLLOW); `multidevs=remap` keeps inode numbers unique when the tree spans
/// several host filesystems.
pub fn share_args(share: &Share, machine: MachineType) -> [String; 4] {
    // QEMU option values escape a comma by doubling it.
    let path = share.host.to_string_lossy().replace(',', ",,");
    let ro = if share.ro { ",readonly=on" } else { "" };
    let fsdev = format!("local,id={},path={path},security_model=none,multidevs=remap{ro}", share.tag);
    let device = match machine {
        MachineType::Q35 => "virtio-9p-pci,disable-legacy=on",
        MachineType::Microvm | MachineType::Virt => "virtio-9p-device",
    };
    let device = format!("{device},fsdev={tag},mount_tag={tag}", tag = share.tag);
    ["-fsdev".into(), fsdev, "-device".into(), device]
}

/// Socket descriptors QEMU inherits for the program's stdio ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdioFds {
    /// The program's stdin (host to guest).
    pub stdin: i32,
    /// The program's stdout (guest to host).
    pub stdout: i32,
    /// The program's stderr (guest to host); None when it shares stdout's port
    /// (`stdio=virtio:1,2,2`: the host's stdout and stderr are one file).
    pub stderr: Option<i32>,
}

/// Names of the virtio-console ports (docs/protocol.md), with the port numbers
/// they take (0 is reserved for a virtconsole).
pub const STDIO_PORTS: [(&str, u32); 3] = [("org.elfin.stdin", 1), ("org.elfin.stdout", 2), ("org.elfin.stderr", 3)];

/// Chooses the accelerator. `auto` picks KVM only for hardware KVM: the guest has the
/// host's architecture, `/dev/kvm` exists and (on x86) the CPU has `vmx` or `svm`. A
/// paravirtual KVM without them (kvm_pvm) emulates most instructions slowly and
/// incompletely, so TCG is the better choice there.
pub fn resolve_accel(choice: AccelChoice, arch: Arch) -> Result<Accel, String> {
    let same_arch = Arch::host() == Some(arch);
    match choice {
        AccelChoice::Tcg => Ok(Accel::Tcg),
        AccelChoice::Kvm if !same_arch => Err(format!(
            "--accel kvm cannot run an {} guest on this {} host; use --accel tcg",
            arch.name(),
            std::env::consts::ARCH
        )),
        AccelChoice::Kvm => Ok(Accel::Kvm),
        AccelChoice::Auto if same_arch && hardware_kvm(arch) => Ok(Accel::Kvm),
        AccelChoice::Auto => Ok(Accel::Tcg),
    }
}

pub fn hardware_kvm(arch: Arch) -> bool {
    if !Path::new("/dev/kvm").exists() {
        return false;
    }
    match arch {
        Arch::X86_64 => cpu_has_virt().unwrap_or_else(|| match std::fs::File::open("/proc/cpuinfo") {
            Ok(f) => cpuinfo_has_virt(BufReader::new(f)),
            Err(_) => false,
        }),
        // Arm has no cpuinfo flag for EL2; /dev/kvm on an arm64 host is hardware KVM.
        Arch::Aarch64 => true,
    }
}

/// Whether this x86_64 CPU has VT-x or AMD-V, from CPUID (the `vmx` and `svm`
/// flags of /proc/cpuinfo, without formatting that file's text for every CPU);
/// None on other hosts.
fn cpu_has_virt() -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid;
        let (vmx, max_ext) = (__cpuid(1).ecx & (1 << 5) != 0, __cpuid(0x8000_0000).eax);
        // Leaf 0x8000_0001 exists when the maximum extended leaf reaches it.
        let svm = max_ext >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 2) != 0;
        Some(vmx || svm)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// True when the first `flags` line of a `/proc/cpuinfo` text lists `vmx` or `svm`.
pub fn cpuinfo_has_virt(text: impl BufRead) -> bool {
    for line in text.lines() {
        let Ok(line) = line else { return false };
        if let Some(rest) = line.strip_prefix("flags") {
            let Some((_, flags)) = rest.split_once(':') else {
                continue;
            };
            return flags.split_ascii_whitespace().any(|f| f == "vmx" || f == "svm");
        }
    }
    false
}

/// The QEMU program and its arguments.
pub fn command_line(spec: &VmSpec<'_>) -> (OsString, Vec<OsString>) {
    let mut a: Vec<OsString> = Vec::with_capacity(40);
    let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
    let machine = match (spec.machine, spec.accel) {
        // x-option-roms=off: qboot boots the PVH kernel itself, no option ROM needed.
        // auto-kernel-cmdline=on appends `virtio_mmio.device=SIZE@ADDR:GSI` for each
        // virtio-mmio device (the stdio ports, the volumes), which is how the kernel finds it; QEMU
        // does so only without ACPI (the kernel reads no ACPI table on microvm).
        // Without devices the kernel gets exactly our command line.
        (MachineType::Microvm, _) if spec.stdio_fds.is_some() || !spec.net.is_empty() || !spec.shares.is_empty() => {
            "microvm,x-option-roms=off,auto-kernel-cmdline=on,acpi=off"
        }
        (MachineType::Microvm, _) => "microvm,x-option-roms=off,auto-kernel-cmdline=off",
        (MachineType::Q35, _) => "q35",
        (MachineType::Virt, Accel::Tcg) => "virt,gic-version=3",
        (MachineType::Virt, Accel::Kvm) => "virt,gic-version=host",
    };
    let (accel, cpu) = match (spec.arch, spec.accel) {
        // One host thread per vCPU, so that the guest's CPUs run in parallel
        // (not with -icount, which runs the vCPUs in turn on one thread).
        (_, Accel::Tcg) if spec.smp > 1 && !spec.extra.iter().any(|a| a == "-icount") => ("tcg,thread=multi", "max"),
        (_, Accel::Tcg) => ("tcg", "max"),
        // Some hosts abort on MSR 0x10a (IA32_ARCH_CAPABILITIES) with plain `host`.
        (Arch::X86_64, Accel::Kvm) => ("kvm", "host,-arch-capabilities"),
        (Arch::Aarch64, Accel::Kvm) => ("kvm", "host"),
    };
    let mem = format!("{}M", spec.mem_mib);
    let smp = spec.smp.to_string();
    push(&["-M", machine, "-accel", accel, "-cpu", cpu, "-m", &mem, "-smp", &smp]);
    // No default devices, no config files, no display, no monitor: the only thing on
    // stdio is the guest's serial port. (-nographic is not used: it makes SeaBIOS on
    // q35 print its banner and terminal escapes on the serial port.)
    push(&["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"]);
    // signal=off: a 0x03 byte on stdin is data for the guest, not a QEMU interrupt.
    push(&["-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0"]);
    if let Some(fds) = spec.stdio_fds {
        // One multiport virtio console; each port a socket QEMU inherited (`fd=`),
        // so that closing the host end reaches the guest as end of file.
        let bus = match spec.machine {
            MachineType::Q35 => "virtio-serial-pci,disable-legacy=on,max_ports=4",
            MachineType::Microvm | MachineType::Virt => "virtio-serial-device,max_ports=4",
        };
        push(&["-device", bus]);
        let ports = STDIO_PORTS.iter().zip([Some(fds.stdin), Some(fds.stdout), fds.stderr]);
        for ((name, nr), fd) in ports.filter_map(|(p, fd)| Some((p, fd?))) {
            let id = name.trim_start_matches("org.elfin.");
            let chardev = format!("socket,id={id},fd={fd}");
            let port = format!("virtserialport,chardev={id},name={name},nr={nr}");
            push(&["-chardev", &chardev, "-device", &port]);
        }
    }
    if let Some(fd) = spec.monitor_fd {
        let chardev = format!("socket,id=mon0,fd={fd}");
        push(&["-chardev", &chardev, "-mon", "chardev=mon0,mode=control"]);
    }
    let net: Vec<&str> = spec.net.iter().map(String::as_str).collect();
    push(&net);
    for share in spec.shares {
        let words = share_args(share, spec.machine);
        push(&words.each_ref().map(String::as_str));
    }
    match spec.arch {
        // The exit status is also written here by the guest (QEMU exits (v << 1) | 1);
        // elfin reads the status from the console frame, not from QEMU's exit code.
        Arch::X86_64 => push(&["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]),
        Arch::Aarch64 => push(&["-semihosting-config", "enable=on,target=native"]),
    }
    a.push("-kernel".into());
    a.push(spec.kernel.into());
    a.push("-initrd".into());
    a.push(spec.initrd.into());
    a.push("-append".into());
    a.push(spec.cmdline.into());
    a.extend(spec.extra.iter().cloned());
    (spec.arch.qemu_binary().into(), a)
}

/// Quotes a word for a POSIX shell, only when needed.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The command as one shell-pasteable line.
pub fn display_command(program: &OsString, args: &[OsString]) -> String {
    std::iter::once(program).chain(args).map(|w| shell_quote(&w.to_string_lossy())).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(arch: Arch, machine: MachineType, accel: Accel, extra: &[OsString]) -> String {
        let spec = VmSpec {
            arch,
            machine,
            accel,
            mem_mib: 64,
            smp: 1,
            kernel: Path::new("/k/elfin-kernel"),
            initrd: Path::new("/tmp/elfin-1.cpio"),
            cmdline: "strace noaslr",
            extra,
            stdio_fds: None,
            monitor_fd: None,
            net: Vec::new(),
            shares: &[],
        };
        let (p, a) = command_line(&spec);
        display_command(&p, &a)
    }

    #[test]
    fn x86_64_microvm_tcg() {
        assert_eq!(
            line(Arch::X86_64, MachineType::Microvm, Accel::Tcg, &[]),
            "qemu-system-x86_64 -M microvm,x-option-roms=off,auto-kernel-cmdline=off \
             -accel tcg -cpu max -m 64M -smp 1 -nodefaults -no-user-config -display none \
             -no-reboot -chardev stdio,id=con0,signal=off -serial chardev:con0 \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /k/elfin-kernel \
             -initrd /tmp/elfin-1.cpio -append 'strace noaslr'"
        );
    }

    #[test]
    fn x86_64_q35_kvm_with_extra() {
        let extra = [OsString::from("-d"), OsString::from("int")];
        let l = line(Arch::X86_64, MachineType::Q35, Accel::Kvm, &extra);
        assert!(l.starts_with("qemu-system-x86_64 -M q35 -accel kvm -cpu host,-arch-capabilities -m 64M"));
        assert!(l.ends_with("-append 'strace noaslr' -d int"));
    }

    #[test]
    fn aarch64_virt() {
        assert_eq!(
            line(Arch::Aarch64, MachineType::Virt, Accel::Tcg, &[]),
            "qemu-system-aarch64 -M virt,gic-version=3 -accel tcg -cpu max -m 64M -smp 1 \
             -nodefaults -no-user-config -display none -no-reboot \
             -chardev stdio,id=con0,signal=off -serial chardev:con0 \
             -semihosting-config enable=on,target=native -kernel /k/elfin-kernel \
             -initrd /tmp/elfin-1.cpio -append 'strace noaslr'"
        );
    }

    #[test]
    fn several_cpus_get_multi_threaded_tcg_except_with_icount() {
        let with = |smp, extra: &[OsString]| {
            let spec = VmSpec {
                arch: Arch::X86_64,
                machine: MachineType::Microvm,
                accel: Accel::Tcg,
                mem_mib: 64,
                smp,
                kernel: Path::new("/k"),
                initrd: Path::new("/i"),
                cmdline: "",
                extra,
                stdio_fds: None,
                monitor_fd: None,
                net: Vec::new(),
                shares: &[],
            };
            let (p, a) = command_line(&spec);
            display_command(&p, &a)
        };
        assert!(with(4, &[]).contains(" -accel tcg,thread=multi -cpu max -m 64M -smp 4 "));
        assert!(with(1, &[]).contains(" -accel tcg -cpu max -m 64M -smp 1 "));
        let icount = [OsString::from("-icount"), OsString::from("shift=0")];
        assert!(with(2, &icount).contains(" -accel tcg -cpu max -m 64M -smp 2 "));
    }

    #[test]
    fn stdio_ports() {
        let fds = StdioFds { stdin: 4, stdout: 6, stderr: Some(8) };
        let spec = |machine| VmSpec {
            arch: if machine == MachineType::Virt { Arch::Aarch64 } else { Arch::X86_64 },
            machine,
            accel: Accel::Tcg,
            mem_mib: 64,
            smp: 1,
            kernel: Path::new("/k"),
            initrd: Path::new("/i"),
            cmdline: "stdio=virtio",
            extra: &[],
            stdio_fds: Some(fds),
            monitor_fd: None,
            net: Vec::new(),
            shares: &[],
        };
        let ports = "-chardev socket,id=stdin,fd=4 \
                     -device virtserialport,chardev=stdin,name=org.elfin.stdin,nr=1 \
                     -chardev socket,id=stdout,fd=6 \
                     -device virtserialport,chardev=stdout,name=org.elfin.stdout,nr=2 \
                     -chardev socket,id=stderr,fd=8 \
                     -device virtserialport,chardev=stderr,name=org.elfin.stderr,nr=3";
        let (p, a) = command_line(&spec(MachineType::Microvm));
        let l = display_command(&p, &a);
        assert!(l.contains("-M microvm,x-option-roms=off,auto-kernel-cmdline=on,acpi=off "), "{l}");
        assert!(l.contains(&format!("-device virtio-serial-device,max_ports=4 {ports}")), "{l}");
        let (p, a) = command_line(&spec(MachineType::Q35));
        let l = display_command(&p, &a);
        assert!(l.contains(&format!("-device virtio-serial-pci,disable-legacy=on,max_ports=4 {ports}")), "{l}");
        let (p, a) = command_line(&spec(MachineType::Virt));
        let l = display_command(&p, &a);
        assert!(l.contains(&format!("-device virtio-serial-device,max_ports=4 {ports}")), "{l}");
        assert!(!l.contains("-mon "), "no monitor unless asked: {l}");
        // The monitor (a run with --timeout): QMP on the inherited socket.
        let (p, a) = command_line(&VmSpec { monitor_fd: Some(11), ..spec(MachineType::Virt) });
        let l = display_command(&p, &a);
        assert!(l.contains(" -chardev socket,id=mon0,fd=11 -mon chardev=mon0,mode=control "), "{l}");
        // stderr on stdout's port (the host's stdout and stderr are one file): no
        // stderr port.
        let shared = StdioFds { stderr: None, ..fds };
        let (p, a) = command_line(&VmSpec { stdio_fds: Some(shared), ..spec(MachineType::Microvm) });
        let l = display_command(&p, &a);
        assert!(l.contains("name=org.elfin.stdout,nr=2") && !l.contains("org.elfin.stderr"), "{l}");
    }

    #[test]
    fn volumes_are_9p_shares() {
        let shares = [
            Share { tag: "elfin0".into(), host: PathBuf::from("/h/data"), ro: false },
            Share { tag: "elfin1".into(), host: PathBuf::from("/h/a,b"), ro: true },
        ];
        let spec = |machine, arch| VmSpec {
            arch,
            machine,
            accel: Accel::Tcg,
            mem_mib: 64,
            smp: 1,
            kernel: Path::new("/k"),
            initrd: Path::new("/i"),
            cmdline: "virtio9p",
            extra: &[],
            stdio_fds: None,
            monitor_fd: None,
            net: Vec::new(),
            shares: &shares,
        };
        let fsdevs = "-fsdev local,id=elfin0,path=/h/data,security_model=none,multidevs=remap \
                      -device DEV,fsdev=elfin0,mount_tag=elfin0 \
                      -fsdev local,id=elfin1,path=/h/a,,b,security_model=none,multidevs=remap,readonly=on \
                      -device DEV,fsdev=elfin1,mount_tag=elfin1";
        let (p, a) = command_line(&spec(MachineType::Microvm, Arch::X86_64));
        let l = display_command(&p, &a);
        assert!(l.contains("-M microvm,x-option-roms=off,auto-kernel-cmdline=on,acpi=off "), "{l}");
        assert!(l.contains(&fsdevs.replace("DEV", "virtio-9p-device")), "{l}");
        let (p, a) = command_line(&spec(MachineType::Q35, Arch::X86_64));
        let l = display_command(&p, &a);
        assert!(l.contains(&fsdevs.replace("DEV", "virtio-9p-pci,disable-legacy=on")), "{l}");
        let (p, a) = command_line(&spec(MachineType::Virt, Arch::Aarch64));
        let l = display_command(&p, &a);
        assert!(l.contains(&fsdevs.replace("DEV", "virtio-9p-device")), "{l}");
    }

    #[test]
    fn cpuinfo_flags() {
        let intel = "processor\t: 0\nflags\t\t: fpu vme vmx sse\nflags\t\t: none\n";
        assert!(cpuinfo_has_virt(intel.as_bytes()));
        assert!(cpuinfo_has_virt("flags : fpu svm\n".as_bytes()));
        assert!(!cpuinfo_has_virt("flags\t\t: fpu vmxe sse hypervisor\n".as_bytes()));
        assert!(!cpuinfo_has_virt("processor : 0\n".as_bytes()));
    }

    #[test]
    fn tcg_is_always_possible_and_cross_arch_kvm_is_refused() {
        assert_eq!(resolve_accel(AccelChoice::Tcg, Arch::X86_64), Ok(Accel::Tcg));
        let other = if Arch::host() == Some(Arch::X86_64) { Arch::Aarch64 } else { Arch::X86_64 };
        assert!(resolve_accel(AccelChoice::Kvm, other).is_err());
        assert_eq!(resolve_accel(AccelChoice::Auto, other), Ok(Accel::Tcg));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a/b-c.d=e,f:g"), "a/b-c.d=e,f:g");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
