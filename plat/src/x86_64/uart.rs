//! 16550 UART on COM1 (port 0x3f8), polled.
use elfin_arch::io::{inb, outb};

const BASE: u16 = 0x3f8;
const LSR: u16 = BASE + 5;

/// Programs 115200 8N1, interrupts off. The FIFO control register is left alone:
/// changing the FIFO mode clears the receive FIFO, which would drop stdin bytes
/// the host sent before the kernel started.
pub fn init() {
    outb(BASE + 1, 0x00);
    outb(BASE + 3, 0x80);
    outb(BASE, 0x01);
    outb(BASE + 1, 0x00);
    outb(BASE + 3, 0x03);
    outb(BASE + 4, 0x03);
}

/// Sends one byte, waiting for room in the transmitter.
pub fn put(b: u8) {
    while inb(LSR) & 0x20 == 0 {
        core::hint::spin_loop();
    }
    outb(BASE, b);
}

/// Waits until every byte has left the transmitter.
pub fn flush() {
    while inb(LSR) & 0x40 == 0 {
        core::hint::spin_loop();
    }
}

/// A received byte, if one is waiting.
pub fn try_get() -> Option<u8> {
    if inb(LSR) & 1 != 0 {
        Some(inb(BASE))
    } else {
        None
    }
}
