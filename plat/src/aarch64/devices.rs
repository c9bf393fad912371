//! Devices of arm64 machines: the virtio-mmio transports of the device tree
//! (`virtio,mmio` nodes, QEMU `virt` has 32) and their GIC interrupts.
use core::ptr::NonNull;

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

use crate::virtio::{Ack, Found, Irq, IrqOwner};
use crate::BootInfo;

/// Most virtio-mmio nodes remembered from the device tree.
const MAX_SLOTS: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Slot {
    pa: u64,
    size: u64,
    irq: Option<Irq>,
    /// Its device type once read (0: no device). Under KVM each register read is
    /// an exit to the VMM, and QEMU `virt` has 32 slots, most of them empty.
    id: Option<u32>,
}

static SLOTS: spin::Mutex<([Option<Slot>; MAX_SLOTS], usize)> = spin::Mutex::new(([None; MAX_SLOTS], 0));

/// Records a `virtio,mmio` node of the device tree (at boot, before the heap).
pub(crate) fn record_mmio(pa: u64, size: u64, irq: Option<Irq>) {
    let mut s = SLOTS.lock();
    let n = s.1;
    if let Some(slot) = s.0.get_mut(n) {
        *slot = Some(Slot { pa, size, irq, id: None });
        s.1 = n + 1;
    }
}

/// The virtual address of MMIO at `pa`, mapped into the device window.
pub(crate) fn mmio_virt(pa: u64, size: u64) -> Option<u64> {
    elfin_arch::arm64::map_device(pa, size)
}

/// Calls `f` with each virtio-mmio transport of type `ty` until it returns true.
/// The slots are tried from the highest address down: QEMU `virt` gives its
/// devices the top slots, in the order of the command line, so the few devices
/// there are come first. A slot's device type is read once.
pub(crate) fn for_each_transport(_cmdline: &[u8], _info: &BootInfo, ty: DeviceType, f: &mut dyn FnMut(Found) -> bool) {
    // Held while `f` runs: the slots are recorded at boot only, and a copy of the
    // table cost 2 KiB of moves a call.
    let mut slots = SLOTS.lock();
    let n = slots.1;
    // The last page mapped and its virtual address: QEMU `virt` packs its 32
    // transports into one page, which is then looked up once, not 32 times.
    let mut last: Option<(u64, u64)> = None;
    for entry in slots.0.iter_mut().take(n).rev() {
        let Some(slot) = entry.as_mut() else { continue };
        if slot.size < 0x100 || slot.id.is_some_and(|id| id != ty as u32) {
            continue;
        }
        let page = slot.pa & !0xfff;
        let in_page = slot.pa.checked_add(slot.size).is_some_and(|end| end <= page + 0x1000);
        let va = match last {
            Some((p, v)) if p == page && in_page => v + (slot.pa - page),
            _ => {
                let Some(va) = mmio_virt(slot.pa, slot.size) else { continue };
                if in_page {
                    last = Some((page, va - (slot.pa - page)));
                }
                va
            }
        };
        let id = crate::virtio::mmio_device_id(va);
        slot.id = Some(id);
        if id != ty as u32 {
            continue;
        }
        let Some(header) = NonNull::new(va as *mut VirtIOHeader) else { continue };
        // SAFETY: the device tree names a virtio-mmio register block of `size` bytes at
        // `pa`, now mapped as device memory; nothing else uses it.
        let Ok(t) = (unsafe { MmioTransport::new(header, slot.size as usize) }) else { continue };
        if t.device_type() != ty {
            // Dropping a transport resets its device, which another driver may
            // be using already.
            core::mem::forget(t);
            continue;
        }
        if f(Found { transport: t.into(), irq: slot.irq.map(|i| (i, Ack::Mmio(va))) }) {
            return;
        }
    }
}

/// Routes a device interrupt (a GIC SPI) to this CPU, for its driver.
pub(crate) fn route_irq(irq: Irq, owner: IrqOwner) -> bool {
    super::gic::enable_spi(irq.num, irq.edge, owner)
}
