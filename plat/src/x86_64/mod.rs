//! x86_64 machines: QEMU `microvm`/`q35`, Firecracker, Cloud Hypervisor (PVH boot, COM1).
mod pvh;
pub mod uart;

use elfin_arch::io::outb;

/// Powers the machine off after the status was reported on the console:
/// isa-debug-exit (QEMU), ACPI S5 at 0x600 (Cloud Hypervisor), i8042 reset (Firecracker).
pub fn power_off(status: u8) -> ! {
    outb(0xf4, status);
    outb(0x600, 0x34);
    outb(0x64, 0xfe);
    elfin_arch::halt_forever()
}
pub mod clock;
