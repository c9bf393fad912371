//! Port I/O.
use x86_64::instructions::port::Port;

/// Writes a byte to an I/O port.
pub fn outb(port: u16, v: u8) {
    // SAFETY: callers (plat drivers) only address devices they own; a port write
    // cannot violate Rust memory safety in this kernel (no DMA-capable devices are
    // programmed through this path).
    unsafe { Port::<u8>::new(port).write(v) }
}

/// Reads a byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    // SAFETY: see `outb`.
    unsafe { Port::<u8>::new(port).read() }
}

/// Writes a 16-bit word to an I/O port.
pub fn outw(port: u16, v: u16) {
    // SAFETY: see `outb`.
    unsafe { Port::<u16>::new(port).write(v) }
}

/// Writes a 32-bit word to an I/O port.
pub fn outl(port: u16, v: u32) {
    // SAFETY: as in `outb`; the one DMA-capable use is the PCI configuration
    // mechanism (ports 0xcf8/0xcfc), through which the platform code enables bus
    // mastering only for the virtio device it drives, whose buffers it owns.
    unsafe { Port::<u32>::new(port).write(v) }
}

/// Reads a 32-bit word from an I/O port.
pub fn inl(port: u16) -> u32 {
    // SAFETY: see `outl`.
    unsafe { Port::<u32>::new(port).read() }
}
