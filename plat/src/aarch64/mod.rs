//! aarch64 machines: QEMU `virt`, Firecracker, Cloud Hypervisor (Linux arm64 `Image`
//! boot, device tree, PL011 or 16550 console, GICv3 or GICv2 + generic timer, PSCI
//! for power-off and for starting the other CPUs).
mod boot;
pub mod clock;
pub(crate) mod devices;
mod gic;
mod irq;
pub(crate) mod smp;
pub mod uart;

use core::sync::atomic::{AtomicU8, Ordering};

pub use boot::{cpu_count, first_cycles};
pub use irq::{ack_irq, delay_tick, start_tick, stop_tick, tick_period};

/// No low RAM to keep out of the frame allocator (RAM starts at 1 GiB on `virt`).
pub fn low_reserved() -> u64 {
    0
}

/// No fixed MMIO windows: device addresses come from the device tree and are
/// mapped into the architecture's device window at boot.
pub const DEVICE_WINDOWS: &[(u64, u64)] = &[];

/// How PSCI is reached (from the device tree's `psci` node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Conduit {
    None = 0,
    Hvc = 1,
    Smc = 2,
}

static PSCI: AtomicU8 = AtomicU8::new(Conduit::None as u8);

/// Most CPUs the kernel starts.
pub(crate) const MAX_CPUS: usize = 64;

pub(crate) fn set_psci(c: Conduit) {
    PSCI.store(c as u8, Ordering::Relaxed);
}

pub(crate) fn psci() -> Conduit {
    match PSCI.load(Ordering::Relaxed) {
        1 => Conduit::Hvc,
        2 => Conduit::Smc,
        _ => Conduit::None,
    }
}

/// PSCI SYSTEM_OFF function id.
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
/// Semihosting operation SYS_EXIT_EXTENDED and reason ADP_Stopped_ApplicationExit.
const SYS_EXIT_EXTENDED: u64 = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// Powers the machine off after the status was reported on the console: semihosting
/// SYS_EXIT_EXTENDED with the status (QEMU with `-semihosting-config enable=on`;
/// where semihosting is off the `hlt` is undefined and skipped), then PSCI
/// SYSTEM_OFF (Firecracker, Cloud Hypervisor, QEMU without semihosting), then halt.
pub fn power_off(status: u8) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, u64::from(status)];
    let _ = elfin_arch::arm64::probe_undefined(|| {
        // SAFETY: a semihosting call reads the two-word parameter block and ends
        // the VM; without semihosting the instruction traps and is skipped.
        unsafe {
            core::arch::asm!("hlt #0xf000", inout("x0") SYS_EXIT_EXTENDED => _, in("x1") block.as_ptr(), options(nostack));
        }
    });
    match psci() {
        Conduit::Hvc => {
            let _ = elfin_arch::arm64::probe_undefined(|| {
                // SAFETY: PSCI SYSTEM_OFF does not return when it works.
                unsafe { core::arch::asm!("hvc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack)) };
            });
        }
        Conduit::Smc => {
            let _ = elfin_arch::arm64::probe_undefined(|| {
                // SAFETY: as above, through the secure monitor.
                unsafe { core::arch::asm!("smc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack)) };
            });
        }
        Conduit::None => {}
    }
    elfin_arch::halt_forever()
}

/// Nothing to quiet: the GIC distributor and the timers are off at reset.
pub fn init_machine() {}
