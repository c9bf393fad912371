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
