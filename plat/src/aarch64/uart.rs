//! The console UART, polled: an Arm PL011 (QEMU `virt`, Cloud Hypervisor) or an
//! MMIO 16550 (Firecracker), whichever the device tree names. Before it is known
//! (or on a machine without one) output is dropped.
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Which UART the console uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    None = 0,
    Pl011 = 1,
    Ns16550 = 2,
}

static KIND: AtomicU8 = AtomicU8::new(Kind::None as u8);
static BASE: AtomicU64 = AtomicU64::new(0);
/// 16550: log2 of the register stride (`reg-shift`) and 4-byte access (`reg-io-width`).
static SHIFT: AtomicU8 = AtomicU8::new(0);
static WIDE: AtomicU8 = AtomicU8::new(0);

// PL011 registers.
const DR: u64 = 0x00;
const FR: u64 = 0x18;
const FR_BUSY: u32 = 1 << 3;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
const LCR_H: u64 = 0x2c;
const CR: u64 = 0x30;
const IMSC: u64 = 0x38;

/// Records the console UART (virtual address in the device window).
pub(crate) fn configure(kind: Kind, va: u64, reg_shift: u8, io_width4: bool) {
    BASE.store(va, Ordering::Relaxed);
    SHIFT.store(reg_shift, Ordering::Relaxed);
    WIDE.store(u8::from(io_width4), Ordering::Relaxed);
    KIND.store(kind as u8, Ordering::Release);
}

fn kind() -> Kind {
    match KIND.load(Ordering::Acquire) {
        1 => Kind::Pl011,
        2 => Kind::Ns16550,
        _ => Kind::None,
    }
}

fn rd32(off: u64) -> u32 {
    // SAFETY: BASE is the device-window mapping of the UART named by the device
    // tree; `off` is one of its registers.
    unsafe { core::ptr::read_volatile((BASE.load(Ordering::Relaxed) + off) as *const u32) }
}

fn wr32(off: u64, v: u32) {
    // SAFETY: as in `rd32`.
    unsafe { core::ptr::write_volatile((BASE.load(Ordering::Relaxed) + off) as *mut u32, v) }
}

fn rd8(reg: u64) -> u8 {
    let off = reg << SHIFT.load(Ordering::Relaxed);
    if WIDE.load(Ordering::Relaxed) != 0 {
        rd32(off) as u8
    } else {
        // SAFETY: as in `rd32`, a byte register of the 16550.
        unsafe { core::ptr::read_volatile((BASE.load(Ordering::Relaxed) + off) as *const u8) }
    }
}

fn wr8(reg: u64, v: u8) {
    let off = reg << SHIFT.load(Ordering::Relaxed);
    if WIDE.load(Ordering::Relaxed) != 0 {
        wr32(off, u32::from(v));
    } else {
        // SAFETY: as in `rd32`, a byte register of the 16550.
        unsafe { core::ptr::write_volatile((BASE.load(Ordering::Relaxed) + off) as *mut u8, v) }
    }
}

/// Enables the UART (8N1, FIFOs) without touching the baud rate the VMM set.
pub fn init() {
    match kind() {
        Kind::Pl011 => {
            wr32(IMSC, 0);
            if rd32(CR) & 0x301 != 0x301 {
                wr32(CR, 0);
                wr32(LCR_H, 0x70);
                wr32(CR, 0x301);
            }
        }
        Kind::Ns16550 => {
            wr8(1, 0x00);
            wr8(3, 0x03);
            wr8(2, 0xc7);
            wr8(4, 0x03);
        }
        Kind::None => {}
    }
}

/// Sends one byte, waiting for room in the transmitter.
pub fn put(b: u8) {
    match kind() {
        Kind::Pl011 => {
            while rd32(FR) & FR_TXFF != 0 {
                core::hint::spin_loop();
            }
            wr32(DR, u32::from(b));
        }
        Kind::Ns16550 => {
            while rd8(5) & 0x20 == 0 {
                core::hint::spin_loop();
            }
            wr8(0, b);
        }
        Kind::None => {}
    }
}

/// Waits until every byte has left the transmitter.
pub fn flush() {
    match kind() {
        Kind::Pl011 => {
            while rd32(FR) & FR_BUSY != 0 {
                core::hint::spin_loop();
            }
        }
        Kind::Ns16550 => {
            while rd8(5) & 0x40 == 0 {
                core::hint::spin_loop();
            }
        }
        Kind::None => {}
    }
}

/// A received byte, if one is waiting.
pub fn try_get() -> Option<u8> {
    match kind() {
        Kind::Pl011 => {
            if rd32(FR) & FR_RXFE == 0 {
                Some(rd32(DR) as u8)
            } else {
                None
            }
        }
        Kind::Ns16550 => {
            if rd8(5) & 1 != 0 {
                Some(rd8(0))
            } else {
                None
            }
        }
        Kind::None => None,
    }
}
