//! The VMMs elfin runs on, and their configuration for one run (pure, tested).
//!
//! - QEMU: `qemu.rs` builds its command line; the program's stdio has virtio-console
//!   ports there.
//! - Firecracker and Cloud Hypervisor: no virtio-console ports (Firecracker has no
//!   virtio-console at all; Cloud Hypervisor's is single-port), so everything goes
//!   over the serial console, framed (docs/protocol.md), as the VMM's stdin and
//!   stdout. Neither carries an exit status: the kernel reports it on the console
//!   and then powers off in a way each understands (i8042 reset, ACPI S5). Both need
//!   KVM. Facts as `../shared/vmm/README.md` records them: Firecracker boots an ELF
//!   with the PVH note (or an arm64 Image) from a JSON configuration file without
//!   its API socket; Cloud Hypervisor boots the same from its command line.

use std::ffi::OsString;
use std::path::Path;

use clap::ValueEnum;

use crate::arch::Arch;

/// A virtual machine monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Vmm {
    /// QEMU (KVM or TCG), with virtio-console stdio.
    Qemu,
    /// Firecracker (KVM only), serial console.
    Firecracker,
    /// Cloud Hypervisor (KVM only), serial console.
    #[value(name = "cloud-hypervisor", alias = "ch")]
    CloudHypervisor,
}

impl Vmm {
    /// The name on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Vmm::Qemu => "qemu",
            Vmm::Firecracker => "firecracker",
            Vmm::CloudHypervisor => "cloud-hypervisor",
        }
    }

    /// The program to start unless `--vmm-path` says otherwise.
    pub fn default_binary(self, arch: Arch) -> &'static str {
        match self {
            Vmm::Qemu => arch.qemu_binary(),
            Vmm::Firecracker => "firecracker",
            Vmm::CloudHypervisor => "cloud-hypervisor",
        }
    }

    /// What to tell a user whose host lacks the program.
    pub fn install_hint(self, arch: Arch) -> String {
        match self {
            Vmm::Qemu => format!("install it with: apt-get install {}", arch.qemu_package()),
            Vmm::Firecracker | Vmm::CloudHypervisor => format!(
                "{} is not packaged for Debian: take a release binary from the project and pass --vmm-path PATH",
                self.name()
            ),
        }
    }

    /// Whether the program's stdio can use virtio-console ports.
    pub fn has_stdio_ports(self) -> bool {
        self == Vmm::Qemu
    }
}

/// What a non-QEMU VMM needs to know about the VM.
#[derive(Clone, Debug)]
pub struct Machine<'a> {
    /// Guest memory in MiB.
    pub mem_mib: u64,
    /// Virtual CPUs.
    pub smp: u32,
    /// Kernel image (ELF with the PVH note on x86_64, `Image` on arm64).
    pub kernel: &'a Path,
    /// Initrd.
    pub initrd: &'a Path,
    /// Kernel command line.
    pub cmdline: &'a str,
}

/// Firecracker's vCPU rule: 1 or an even number, at most 32.
pub fn firecracker_vcpus(smp: u32) -> Result<u32, String> {
    if smp == 1 || (smp.is_multiple_of(2) && smp <= 32) {
        Ok(smp)
    } else {
        Err(format!("--smp {smp}: Firecracker takes 1 or an even number of vCPUs, at most 32"))
    }
}

/// Firecracker's configuration file (`--config-file`): the boot source, no drives
/// (it wants the list), the machine, and its log on our stderr at warning level, so
/// that its stdout is the serial console alone.
pub fn firecracker_config(m: &Machine<'_>) -> Result<String, String> {
    let vcpus = firecracker_vcpus(m.smp)?;
    let config = serde_json::json!({
        "boot-source": {
            "kernel_image_path": m.kernel.to_string_lossy(),
            "initrd_path": m.initrd.to_string_lossy(),
            "boot_args": m.cmdline,
        },
        "drives": [],
        "machine-config": {
            "vcpu_count": vcpus,
            "mem_size_mib": m.mem_mib,
            "smt": false,
        },
        "logger": {
            "log_path": "/dev/stderr",
            "level": "Warning",
        },
    });
    serde_json::to_string_pretty(&config).map_err(|e| format!("Firecracker configuration: {e}"))
}

/// Firecracker's arguments: no API socket, the configuration file.
pub fn firecracker_args(config: &Path) -> Vec<OsString> {
    vec!["--no-api".into(), "--config-file".into(), config.into()]
}

/// Cloud Hypervisor's arguments: kernel, initramfs and command line (left out
/// when empty), memory and CPUs, the serial port on its stdio and no
/// virtio-console.
pub fn cloud_hypervisor_args(m: &Machine<'_>) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::with_capacity(16);
    a.push("--kernel".into());
    a.push(m.kernel.into());
    a.push("--initramfs".into());
    a.push(m.initrd.into());
    if !m.cmdline.is_empty() {
        a.push("--cmdline".into());
        a.push(m.cmdline.into());
    }
    for w in [
        "--memory".to_string(),
        format!("size={}M", m.mem_mib),
        "--cpus".to_string(),
        format!("boot={}", m.smp),
        "--serial".to_string(),
        "tty".to_string(),
        "--console".to_string(),
        "off".to_string(),
    ] {
        a.push(w.into());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::display_command;

    fn machine(smp: u32) -> Machine<'static> {
        Machine {
            mem_mib: 512,
            smp,
            kernel: Path::new("/k/elfin-kernel"),
            initrd: Path::new("/tmp/elfin-1.cpio"),
            cmdline: "strace noaslr",
        }
    }

    #[test]
    fn firecracker_configuration() {
        let text = firecracker_config(&machine(2)).expect("config");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "boot-source": {
                    "kernel_image_path": "/k/elfin-kernel",
                    "initrd_path": "/tmp/elfin-1.cpio",
                    "boot_args": "strace noaslr"
                },
                "drives": [],
                "machine-config": { "vcpu_count": 2, "mem_size_mib": 512, "smt": false },
                "logger": { "log_path": "/dev/stderr", "level": "Warning" }
            })
        );
        let args = firecracker_args(Path::new("/tmp/fc.json"));
        assert_eq!(display_command(&"firecracker".into(), &args), "firecracker --no-api --config-file /tmp/fc.json");
    }

    #[test]
    fn firecracker_vcpu_rule() {
        assert_eq!(firecracker_vcpus(1), Ok(1));
        assert_eq!(firecracker_vcpus(2), Ok(2));
        assert_eq!(firecracker_vcpus(32), Ok(32));
        assert!(firecracker_vcpus(3).is_err());
        assert!(firecracker_vcpus(34).is_err());
        assert!(firecracker_config(&machine(3)).is_err());
    }

    #[test]
    fn cloud_hypervisor_command_line() {
        let args = cloud_hypervisor_args(&machine(4));
        assert_eq!(
            display_command(&"cloud-hypervisor".into(), &args),
            "cloud-hypervisor --kernel /k/elfin-kernel --initramfs /tmp/elfin-1.cpio \
             --cmdline 'strace noaslr' --memory size=512M --cpus boot=4 --serial tty --console off"
        );
        let bare = Machine { cmdline: "", ..machine(1) };
        assert!(!display_command(&"ch".into(), &cloud_hypervisor_args(&bare)).contains("--cmdline"));
    }

    #[test]
    fn names_and_hints() {
        assert_eq!(Vmm::from_str("cloud-hypervisor", false), Ok(Vmm::CloudHypervisor));
        assert_eq!(Vmm::from_str("ch", false), Ok(Vmm::CloudHypervisor));
        assert_eq!(Vmm::Qemu.default_binary(Arch::Aarch64), "qemu-system-aarch64");
        assert!(Vmm::Firecracker.install_hint(Arch::X86_64).contains("--vmm-path"));
        assert!(Vmm::Qemu.has_stdio_ports() && !Vmm::Firecracker.has_stdio_ports());
    }
}
