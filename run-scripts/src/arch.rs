//! Guest architectures and the per-architecture facts: Rust target, QEMU binary and
//! machine types, Debian package, ELF machine number.

use clap::ValueEnum;

/// A guest architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    /// x86-64 (PVH boot on QEMU microvm/q35, Firecracker, Cloud Hypervisor).
    #[value(name = "x86_64", alias = "amd64", alias = "x86-64")]
    X86_64,
    /// 64-bit Arm (QEMU virt).
    #[value(name = "aarch64", alias = "arm64")]
    Aarch64,
}

impl Arch {
    /// The architecture of the machine elfin runs on, if it is a supported guest one.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The Rust target the kernel is built for.
    pub fn kernel_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-none",
            Arch::Aarch64 => "aarch64-unknown-none-softfloat",
        }
    }

    /// The QEMU system emulator.
    pub fn qemu_binary(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    /// The Debian package that ships [`Arch::qemu_binary`].
    pub fn qemu_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Aarch64 => "qemu-system-arm",
        }
    }

    /// The machine types elfin supports, the default first.
    pub fn machines(self) -> &'static [MachineType] {
        match self {
            Arch::X86_64 => &[MachineType::Microvm, MachineType::Q35],
            Arch::Aarch64 => &[MachineType::Virt],
        }
    }

    /// The loader's name for this architecture.
    pub fn loader_machine(self) -> elfin_loader::Machine {
        match self {
            Arch::X86_64 => elfin_loader::Machine::X86_64,
            Arch::Aarch64 => elfin_loader::Machine::Aarch64,
        }
    }

    /// The architecture of an ELF `e_machine` value, if elfin supports it.
    pub fn from_elf_machine(e_machine: u16) -> Option<Arch> {
        match e_machine {
            62 => Some(Arch::X86_64),   // EM_X86_64
            183 => Some(Arch::Aarch64), // EM_AARCH64
            _ => None,
        }
    }
}

/// A QEMU machine type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MachineType {
    /// x86_64: minimal machine, qboot firmware, fastest boot (default).
    Microvm,
    /// x86_64: PC with PCIe and SeaBIOS; slower to boot.
    Q35,
    /// aarch64: the generic Arm virtual machine (only choice).
    Virt,
}

impl MachineType {
    /// The name QEMU and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            MachineType::Microvm => "microvm",
            MachineType::Q35 => "q35",
            MachineType::Virt => "virt",
        }
    }
}

/// Accelerator choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AccelChoice {
    /// KVM when it is hardware KVM for this guest architecture, else TCG.
    Auto,
    /// Hardware virtualization (Linux KVM).
    Kvm,
    /// QEMU's portable emulator.
    Tcg,
}

/// The accelerator actually used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// `-accel kvm`.
    Kvm,
    /// `-accel tcg`.
    Tcg,
}
