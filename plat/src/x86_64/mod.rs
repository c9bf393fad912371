//! x86_64 machines: QEMU `microvm`/`q35`, Firecracker, Cloud Hypervisor (PVH boot, COM1).
mod pvh;
pub use pvh::first_cycles;
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

/// Quiets legacy devices firmware may have left running: the 8259 PICs are
/// remapped to vectors 0x20–0x2f (away from CPU exceptions) and fully masked.
pub fn init_machine() {
    for (cmd, data, base, cascade) in [(0x20u16, 0x21u16, 0x20u8, 4u8), (0xa0, 0xa1, 0x28, 2)] {
        outb(cmd, 0x11);
        outb(data, base);
        outb(data, cascade);
        outb(data, 0x01);
        outb(data, 0xff);
    }
}
