//! virtio-net: the first network device of the machine (virtio-mmio on QEMU
//! `microvm`, `virt` and Firecracker; virtio-pci on `q35`), driven by
//! `virtio-drivers` over the same transports, DMA and interrupt routing as the
//! console. The kernel's network stack pulls received frames and pushes frames
//! to send; the device's interrupt only sets a flag that the kernel polls
//! ([`take_interrupt`]) and wakes an idle CPU.
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use virtio_drivers::device::net::VirtIONet;
use virtio_drivers::transport::{DeviceType, SomeTransport};

use super::hal::PlatHal;
use super::{cmdline, Ack, Found};
use crate::BootInfo;

/// Receive buffers in the queue.
const QUEUE: usize = 64;
/// Size of a receive buffer: an Ethernet frame of 1514 bytes and the virtio header.
const BUF_LEN: usize = 2048;

type Dev = VirtIONet<PlatHal, SomeTransport<'static>, QUEUE>;

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
    let mut buf = [0u8; 4096];
    let n = cmdline(info, &mut buf);
    let line = buf.get(..n).unwrap_or(&[]);
    if super::words(line).any(|w| w == b"net=none") {
        return;
    }
    crate::devices::for_each_transport(line, info, DeviceType::Network, &mut |found: Found| {
        let Ok(mut dev) = Dev::new(found.transport, BUF_LEN) else { return false };
        MAC.call_once(|| dev.mac_address());
        if let Some((irq, ack)) = found.irq {
            let tagged = match ack {
                Ack::Mmio(va) => va & !1,
                Ack::PciIsr(va) => va | 1,
            };
            IRQ_ACK.store(tagged, Ordering::Release);
            dev.enable_interrupts();
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
    let mut g = DEVICE.lock();
    let dev = g.as_mut()?;
    let buf = dev.receive().ok()?;
    let r = f(buf.packet());
    let _ = dev.recycle_rx_buffer(buf);
    Some(r)
}

/// Sends one frame (waits for the device to take it); false when it failed.
pub fn transmit(frame: &[u8]) -> bool {
    let mut g = DEVICE.lock();
    let Some(dev) = g.as_mut() else { return false };
    let mut tx = dev.new_tx_buffer(frame.len());
    tx.packet_mut().copy_from_slice(frame);
    dev.send(tx).is_ok()
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
