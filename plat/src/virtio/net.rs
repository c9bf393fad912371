//! virtio-net: the first network device of the machine (virtio-mmio on QEMU
//! `microvm`, `virt` and Firecracker; virtio-pci on `q35`), driven by
//! `virtio-drivers` over the same transports, DMA and interrupt routing as the
//! console. The kernel's network stack pulls received frames and pushes frames
//! to send (without waiting for the device to take them); the device's interrupt
//! only sets a flag that the kernel polls ([`take_interrupt`]) and wakes an idle
//! CPU.
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::{DeviceType, SomeTransport};

use super::hal::PlatHal;
use super::{Ack, Found};
use crate::BootInfo;

/// Descriptors per queue (receive buffers posted, frames in flight).
const QUEUE: usize = 64;
/// Size of a receive buffer: an Ethernet frame of 1514 bytes and the virtio header.
const BUF_LEN: usize = 2048;
/// How long a send waits for the device to free a descriptor (spins).
const TX_PATIENCE: u64 = 50_000_000;

type Raw = VirtIONetRaw<PlatHal, SomeTransport<'static>, QUEUE>;

/// The device with its buffers: receive buffers posted to the device by token,
/// and frames handed to it but not yet taken back. Sends do not wait for the
/// device: a frame's buffer is reclaimed once the device has used it.
struct Dev {
    raw: Raw,
    rx: Vec<Option<Box<[u8]>>>,
    tx: BTreeMap<u16, Box<[u8]>>,
}

impl Dev {
    fn new(t: SomeTransport<'static>) -> Option<Dev> {
        let mut raw = Raw::new(t).ok()?;
        let mut rx: Vec<Option<Box<[u8]>>> = (0..QUEUE).map(|_| None).collect();
        for _ in 0..QUEUE {
            let mut buf = alloc::vec![0u8; BUF_LEN].into_boxed_slice();
            // SAFETY: the buffer is owned by `rx` (a heap allocation that does not
            // move) and not touched until the device gives it back.
            let token = unsafe { raw.receive_begin(&mut buf) }.ok()?;
            *rx.get_mut(usize::from(token))? = Some(buf);
        }
        Some(Dev { raw, rx, tx: BTreeMap::new() })
    }

    /// Takes back the buffers of frames the device has sent.
    fn reclaim(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some(buf) = self.tx.remove(&token) else { break };
            // SAFETY: `buf` is the buffer given to `transmit_begin` for `token`.
            let _ = unsafe { self.raw.transmit_complete(token, &buf) };
        }
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        self.reclaim();
        let mut waited = 0u64;
        while !self.raw.can_send() {
            if waited > TX_PATIENCE {
                return false;
            }
            core::hint::spin_loop();
            self.reclaim();
            waited += 1;
        }
        let mut buf = alloc::vec![0u8; frame.len() + 16].into_boxed_slice();
        let Ok(hdr) = self.raw.fill_buffer_header(&mut buf) else { return false };
        let Some(dst) = buf.get_mut(hdr..hdr + frame.len()) else { return false };
        dst.copy_from_slice(frame);
        let len = hdr + frame.len();
        let Some(bytes) = buf.get(..len) else { return false };
        // SAFETY: the buffer is kept in `tx` (a heap allocation that does not move)
        // until `reclaim` takes it back from the device.
        let Ok(token) = (unsafe { self.raw.transmit_begin(bytes) }) else { return false };
        self.tx.insert(token, buf);
        true
    }

    fn receive<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let token = self.raw.poll_receive()?;
        let mut buf = self.rx.get_mut(usize::from(token))?.take()?;
        // SAFETY: `buf` is the buffer given to `receive_begin` for `token`.
        let (hdr, len) = unsafe { self.raw.receive_complete(token, &mut buf) }.ok()?;
        let r = buf.get(hdr..hdr + len).map(f);
        // SAFETY: as in `new`: the buffer goes back to `rx` until the device is done.
        if let Ok(t) = unsafe { self.raw.receive_begin(&mut buf) } {
            if let Some(slot) = self.rx.get_mut(usize::from(t)) {
                *slot = Some(buf);
            }
        }
        r
    }
}

static DEVICE: spin::Mutex<Option<Dev>> = spin::Mutex::new(None);
/// Where the routed interrupt is acknowledged (tagged as in the console: bit 0 set
/// for a PCI ISR byte; 0: no interrupt, the kernel polls).
static IRQ_ACK: AtomicU64 = AtomicU64::new(0);
/// An interrupt arrived since the kernel last looked.
static PENDING: AtomicBool = AtomicBool::new(false);
static MAC: spin::Once<[u8; 6]> = spin::Once::new();

/// Finds and starts the first virtio network device, unless the command line
/// says `net=none`. Must run once, after the kernel heap is up.
pub(crate) fn init(info: &BootInfo) {
    let line = crate::cmdline(info);
    if super::words(line).any(|w| w == b"net=none") {
        return;
    }
    crate::devices::for_each_transport(line, info, DeviceType::Network, &mut |found: Found| {
        let Some(mut dev) = Dev::new(found.transport) else { return false };
        MAC.call_once(|| dev.raw.mac_address());
        if let Some((irq, ack)) = found.irq {
            let tagged = match ack {
                Ack::Mmio(va) => va & !1,
                Ack::PciIsr(va) => va | 1,
            };
            IRQ_ACK.store(tagged, Ordering::Release);
            dev.raw.enable_interrupts();
            ack_interrupt();
            if !crate::devices::route_irq(irq, super::IrqOwner::Net) {
                IRQ_ACK.store(0, Ordering::Release);
            }
        }
        *DEVICE.lock() = Some(dev);
        true
    });
}

/// The MAC address of the network device, if the machine has one.
pub fn mac() -> Option<[u8; 6]> {
    MAC.get().copied()
}

/// Whether the device's interrupt is routed (else the kernel must poll it).
pub fn has_interrupt() -> bool {
    IRQ_ACK.load(Ordering::Acquire) != 0
}

/// Takes one received frame, if any, and passes it to `f`.
pub fn receive<R>(f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    DEVICE.lock().as_mut()?.receive(f)
}

/// Hands one frame to the device (without waiting for it to be sent); false
/// when it could not.
pub fn transmit(frame: &[u8]) -> bool {
    DEVICE.lock().as_mut().is_some_and(|d| d.send(frame))
}

/// Whether an interrupt came since the last call (and clears the flag).
pub fn take_interrupt() -> bool {
    PENDING.swap(false, Ordering::AcqRel)
}

/// Acknowledges the device's interrupt (from the interrupt handler; no lock).
pub fn ack_interrupt() {
    PENDING.store(true, Ordering::Release);
    super::ack_at(IRQ_ACK.load(Ordering::Acquire));
}
