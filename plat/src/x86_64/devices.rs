//! Devices of PC machines: virtio-mmio transports named on the command line (QEMU
//! `microvm` and Firecracker append `virtio_mmio.device=` words), virtio-pci
//! functions on PCI bus 0 (QEMU `q35`, Cloud Hypervisor) reached through the
//! 0xcf8/0xcfc configuration ports, and interrupt routing through the I/O APICs.
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_arch::io::{inl, outl};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::{DeviceType, Transport};

use crate::virtio::hal::PlatHal;
use crate::virtio::{Ack, Found, Irq, IrqOwner};
use crate::{BootInfo, MemKind};
use elfin_kcore::cmdline::words;

/// End of RAM covered by the kernel's direct map (rounded up to 2 MiB, as it maps).
static RAM_END: AtomicU64 = AtomicU64::new(0);

/// The memory map's regions (start, end), as the kernel's direct map follows them.
static REGIONS: spin::Once<([(u64, u64); crate::MAX_MEM_REGIONS], usize)> = spin::Once::new();

/// Whether [pa, pa + size) is mapped in the direct map: a device window, or below
/// the end of RAM where the kernel maps it (every GiB that no device window
/// touches; in the others, only the 2 MiB pages the memory map lists).
fn mapped(pa: u64, size: u64) -> bool {
    let Some(end) = pa.checked_add(size) else { return false };
    if super::DEVICE_WINDOWS.iter().any(|&(base, len)| pa >= base && end <= base + len) {
        return true;
    }
    if end > RAM_END.load(Ordering::Relaxed) {
        return false;
    }
    const M2: u64 = 2 << 20;
    const GIB: u64 = 1 << 30;
    let touches_device = |g: u64| super::DEVICE_WINDOWS.iter().any(|&(b, sz)| b < g + GIB && g < b + sz);
    let listed = |c: u64| REGIONS.get().is_some_and(|(r, n)| r.iter().take(*n).any(|&(s, e)| s < c + M2 && c < e));
    let mut chunk = pa & !(M2 - 1);
    while chunk < end {
        if touches_device(chunk & !(GIB - 1)) && !listed(chunk) {
            return false;
        }
        chunk += M2;
    }
    true
}

/// The virtual address of MMIO at `pa`, when the kernel maps it.
pub(crate) fn mmio_virt(pa: u64, size: u64) -> Option<u64> {
    mapped(pa, size).then(|| elfin_arch::phys_to_virt(pa))
}

fn parse_num(s: &[u8]) -> Option<u64> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// One `virtio_mmio.device=<size>@<base>:<irq>[:<id>]` word (the form QEMU
/// `microvm` and Firecracker append): (base, size, irq).
fn parse_mmio_device(word: &[u8]) -> Option<(u64, u64, u32)> {
    let spec = word.strip_prefix(b"virtio_mmio.device=")?;
    let at = spec.iter().position(|&b| b == b'@')?;
    let (size, rest) = (spec.get(..at)?, spec.get(at + 1..)?);
    let (size, shift) = match size.last() {
        Some(b'K' | b'k') => (size.get(..size.len() - 1)?, 10),
        Some(b'M' | b'm') => (size.get(..size.len() - 1)?, 20),
        Some(b'G' | b'g') => (size.get(..size.len() - 1)?, 30),
        _ => (size, 0),
    };
    let size = parse_num(size)?.checked_mul(1 << shift)?;
    let mut parts = rest.split(|&b| b == b':');
    let base = parse_num(parts.next()?)?;
    let irq = u32::try_from(parse_num(parts.next()?)?).ok()?;
    (size > 0).then_some((base, size, irq))
}

/// PCI configuration mechanism #1 (ports 0xcf8/0xcfc).
struct PortCam;

fn cam_address(df: DeviceFunction, offset: u8) -> u32 {
    0x8000_0000
        | (u32::from(df.bus) << 16)
        | (u32::from(df.device & 31) << 11)
        | (u32::from(df.function & 7) << 8)
        | u32::from(offset & 0xfc)
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        outl(0xcf8, cam_address(df, offset));
        inl(0xcfc)
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        outl(0xcf8, cam_address(df, offset));
        outl(0xcfc, data);
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// Calls `f` with each virtio transport of type `ty` until it returns true: first
/// the virtio-mmio devices of the command line, then virtio-pci functions on bus 0.
pub(crate) fn for_each_transport(cmdline: &[u8], info: &BootInfo, ty: DeviceType, f: &mut dyn FnMut(Found) -> bool) {
    let ram_end = info
        .regions()
        .iter()
        .filter(|r| r.kind == MemKind::Usable)
        .map(|r| (r.start + r.size).next_multiple_of(2 << 20))
        .max()
        .unwrap_or(0);
    RAM_END.store(ram_end, Ordering::Relaxed);
    REGIONS.call_once(|| {
        let mut r = [(0u64, 0u64); crate::MAX_MEM_REGIONS];
        for (slot, m) in r.iter_mut().zip(info.regions()) {
            *slot = (m.start, m.start.saturating_add(m.size));
        }
        (r, info.regions().len().min(crate::MAX_MEM_REGIONS))
    });

    for (base, size, gsi) in words(cmdline).filter_map(parse_mmio_device) {
        let Some(va) = mmio_virt(base, size) else { continue };
        if crate::virtio::mmio_device_id(va) != ty as u32 {
            continue;
        }
        let Some(header) = NonNull::new(va as *mut VirtIOHeader) else { continue };
        // SAFETY: the command line names a virtio-mmio register block of `size` bytes
        // at `base`, mapped as device memory; nothing else uses it.
        let Ok(t) = (unsafe { MmioTransport::new(header, size as usize) }) else { continue };
        if t.device_type() != ty {
            // Dropping a transport resets its device, which another driver may
            // be using already.
            core::mem::forget(t);
            continue;
        }
        if f(Found { transport: t.into(), irq: Some((Irq { num: gsi, edge: false }, Ack::Mmio(va))) }) {
            return;
        }
    }

    // No PCI host bridge at bus 0, device 0: no PCI (e.g. `microvm`).
    if PortCam.read_word(DeviceFunction { bus: 0, device: 0, function: 0 }, 0) == u32::MAX {
        return;
    }
    let mut root = PciRoot::new(PortCam);
    // Each configuration access is two port accesses, which are slow under
    // emulation: read BARs without sizing them.
    let matching: alloc::vec::Vec<DeviceFunction> =
        root.enumerate_bus(0).filter(|(_, fi)| virtio_device_type(fi) == Some(ty)).map(|(df, _)| df).collect();
    for df in matching {
        // Every virtio structure must lie where the kernel maps device memory.
        let Some(isr) = virtio_regions(&root, df) else { continue };
        let (_, cmd) = root.get_status_command(df);
        root.set_command(df, cmd | Command::MEMORY_SPACE | Command::BUS_MASTER);
        let line = PortCam.read_word(df, 0x3c) & 0xff;
        // The legacy interrupt (INTx) as the firmware routed it: the Interrupt Line
        // register holds an ISA IRQ, the same GSI of the first I/O APIC on QEMU's PC
        // machines; level-triggered. Acknowledged by reading the ISR status byte.
        let irq = match (isr.and_then(|pa| mmio_virt(pa, 1)), (1..16).contains(&line)) {
            (Some(va), true) => Some((Irq { num: line, edge: false }, Ack::PciIsr(va))),
            _ => None,
        };
        let Ok(t) = PciTransport::new::<PlatHal, PortCam>(&mut root, df) else { continue };
        if f(Found { transport: t.into(), irq }) {
            return;
        }
    }
}

/// Address of memory BAR `bar` as the firmware set it (read, not sized); None for
/// an I/O BAR or one not set.
fn bar_address(df: DeviceFunction, bar: u8) -> Option<u64> {
    if bar > 5 {
        return None;
    }
    let lo = PortCam.read_word(df, 0x10 + 4 * bar);
    if lo & 1 != 0 {
        return None;
    }
    let mut address = u64::from(lo & !0xf);
    if (lo >> 1) & 3 == 2 {
        if bar == 5 {
            return None;
        }
        address |= u64::from(PortCam.read_word(df, 0x10 + 4 * (bar + 1))) << 32;
    }
    (address != 0).then_some(address)
}

/// Checks that every virtio structure of the function (vendor capabilities: BAR,
/// offset, length) lies in mapped memory; returns the physical address of the ISR
/// status byte, if the function has one. None when a structure is elsewhere.
fn virtio_regions(root: &PciRoot<PortCam>, df: DeviceFunction) -> Option<Option<u64>> {
    let mut isr = None;
    for cap in root.capabilities(df).filter(|c| c.id == 0x09) {
        let bar = (PortCam.read_word(df, cap.offset.wrapping_add(4)) & 0xff) as u8;
        let offset = u64::from(PortCam.read_word(df, cap.offset.wrapping_add(8)));
        let length = u64::from(PortCam.read_word(df, cap.offset.wrapping_add(12)));
        // PCI configuration access structures (type 5) name no BAR region to map.
        if (cap.private_header >> 8) as u8 == 5 {
            continue;
        }
        let pa = bar_address(df, bar)?.checked_add(offset)?;
        if !mapped(pa, length.max(1)) {
            return None;
        }
        if (cap.private_header >> 8) as u8 == 3 {
            isr = Some(pa);
        }
    }
    Some(isr)
}

/// The I/O APICs a machine may have: QEMU `microvm` adds a second one for its
/// virtio-mmio interrupts (GSIs 24..47).
const IOAPICS: [u64; 2] = [0xfec0_0000, 0xfec1_0000];

fn ioapic_read(base: u64, reg: u32) -> u32 {
    let va = elfin_arch::phys_to_virt(base);
    // SAFETY: IOREGSEL/IOWIN of an I/O APIC in the device window mapped at boot.
    unsafe {
        core::ptr::write_volatile(va as *mut u32, reg);
        core::ptr::read_volatile((va + 0x10) as *const u32)
    }
}

fn ioapic_write(base: u64, reg: u32, v: u32) {
    let va = elfin_arch::phys_to_virt(base);
    // SAFETY: as in `ioapic_read`.
    unsafe {
        core::ptr::write_volatile(va as *mut u32, reg);
        core::ptr::write_volatile((va + 0x10) as *mut u32, v);
    }
}

/// Routes a device GSI to its driver's vector ([`super::DEVICE_VECTOR`] for the
/// console, [`super::NET_VECTOR`] for the network device) on this CPU,
/// level-triggered (virtio lines stay raised until acknowledged); false when no
/// I/O APIC has it.
pub(crate) fn route_irq(irq: Irq, owner: IrqOwner) -> bool {
    let vector = match owner {
        IrqOwner::Console => super::DEVICE_VECTOR,
        IrqOwner::Net => super::NET_VECTOR,
    };
    let mut first = 0u32;
    for base in IOAPICS {
        let version = ioapic_read(base, 1);
        if version == 0 || version == u32::MAX {
            return false;
        }
        let pins = ((version >> 16) & 0xff) + 1;
        if irq.num >= first && irq.num < first + pins {
            let pin = irq.num - first;
            let apic_id = super::enable_local_apic();
            let trigger = if irq.edge { 0 } else { 1 << 15 };
            ioapic_write(base, 0x11 + 2 * pin, apic_id << 24);
            ioapic_write(base, 0x10 + 2 * pin, u32::from(vector) | trigger);
            return true;
        }
        first += pins;
    }
    false
}
