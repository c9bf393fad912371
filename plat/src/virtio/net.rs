//! virtio-net: the first network device of the machine (virtio-mmio on QEMU
//! `microvm`, `virt` and Firecracker; virtio-pci on `q35`), driven by
//! `virtio-drivers` over the same transports, DMA and interrupt routing as the
//! console. The kernel's network stack pulls received frames and pushes frames
//! to send (without waiting for the device to take them); the device's interrupt
//! only sets a flag that the kernel polls ([`take_interrupt`]) and wakes an idle
//! CPU.
use alloc::boxed::Box;
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
/// device: a frame's buffer is reclaimed once the device has used it, and kept
/// for the next frame, so that sending allocates nothing once a few are about.
struct Dev {
    raw: Raw,
    rx: Vec<Option<Box<[u8]>>>,
    tx: Vec<Option<Box<[u8]>>>,
    /// Transmit buffers (BUF_LEN bytes) the device gave back.
    spare: Vec<Box<[u8]>>,
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
        let tx = (0..QUEUE).map(|_| None).collect();
        Some(Dev { raw, rx, tx, spare: Vec::with_capacity(QUEUE) })
    }

    /// Takes back the buffers of frames the device has sent.
    fn reclaim(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some(buf) = self.tx.get_mut(usize::from(token)).and_then(Option::take) else { break };
            // SAFETY: `buf` is the buffer given to `transmit_begin` for `token`.
            let _ = unsafe { self.raw.transmit_complete(token, &buf) };
            self.spare.push(buf);
        }
    }

    /// Sends a frame of `len` bytes that `f` writes into the transmit buffer:
    /// what `f` returned and whether the device took the frame, or None (and `f`
    /// not called) when no descriptor came free or memory is short.
    fn send_with<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Option<(R, bool)> {
        self.reclaim();
        let mut waited = 0u64;
        while !self.raw.can_send() {
            if waited > TX_PATIENCE {
                return None;
            }
            core::hint::spin_loop();
            self.reclaim();
            waited += 1;
        }
        // A buffer holds only frames this driver sent before (zeroed when new).
        let mut buf = match self.spare.pop() {
            Some(b) => b,
            None => {
                let mut v = Vec::new();
                v.try_reserve_exact(BUF_LEN).ok()?;
                v.resize(BUF_LEN, 0u8);
                v.into_boxed_slice()
            }
        };
        let Ok(hdr) = self.raw.fill_buffer_header(&mut buf) else {
            self.spare.push(buf);
            return None;
        };
        let Some(end) = hdr.checked_add(len).filter(|&e| e <= buf.len()) else {
            self.spare.push(buf);
            return None;
        };
        let r = f(buf.get_mut(hdr..end)?);
        // SAFETY: the buffer is kept in `tx` (a heap allocation that does not move)
        // until `reclaim` takes it back from the device.
        let Some(Ok(token)) = buf.get(..end).map(|bytes| unsafe { self.raw.transmit_begin(bytes) }) else {
            self.spare.push(buf);
            return Some((r, false));
        };
        match self.tx.get_mut(usize::from(token)) {
            Some(slot) => *slot = Some(buf),
            // A token beyond the queue would be a broken device; the buffer is
            // leaked rather than freed under it.
            None => core::mem::forget(buf),
        }
        Some((r, true))
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
    if elfin_kcore::cmdline::words(line).any(|w| w == b"net=none") {
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

/// Sends a frame of `len` bytes that `f` writes, straight into a device buffer
/// (without waiting for it to be sent). Returns what `f` returned and whether the
/// frame went out: when it could not (no device, no free descriptor), `f` still
/// runs, on a scratch buffer, for the caller's sake.
pub fn transmit_with<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> (R, bool) {
    let mut f = Some(f);
    let sent = DEVICE.lock().as_mut().and_then(|d| d.send_with(len, |b| f.take().map(|f| f(b))));
    match (sent, f.take()) {
        (Some((Some(r), ok)), _) => (r, ok),
        (_, Some(f)) => (f(&mut alloc::vec![0u8; len]), false),
        // `f` ran exactly when `send_with` returned Some.
        (_, None) => unreachable!("a frame was written without a result"),
    }
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
