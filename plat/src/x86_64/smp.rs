//! Other CPUs on x86_64: found in ACPI's MADT (the `acpi` crate) or, where there
//! is no ACPI (QEMU `microvm` with `acpi=off`), in the MP table; started with
//! INIT-SIPI-SIPI through the local APIC; interrupted with IPIs to wake them and
//! to make them drop stale TLB entries.
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

use super::{lapic_read, lapic_write};

/// Most CPUs started.
pub const MAX_CPUS: usize = 64;
/// Interrupt vector asking a CPU to look at its run queue.
pub const RESCHED_VECTOR: u8 = 0xf0;
/// Interrupt vector asking a CPU to flush its TLB.
pub const TLB_VECTOR: u8 = 0xf1;

/// Local APIC id of each CPU index.
static APIC_ID: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// TLB flushes asked of each CPU, and done by it.
static FLUSH_ASKED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static FLUSH_DONE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Application processors that reached the kernel.
static ARRIVED: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, physical_address: usize, size: usize) -> PhysicalMapping<Self, T> {
        let va = elfin_arch::phys_to_virt(physical_address as u64) as *mut T;
        let ptr = match NonNull::new(va) {
            Some(p) => p,
            None => NonNull::dangling(),
        };
        // SAFETY: all RAM and the firmware tables are in the direct map; the crate
        // only reads the region it asked for.
        unsafe { PhysicalMapping::new(physical_address, ptr, size, size, self.clone()) }
    }
    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// The local APIC ids of the usable CPUs, the boot CPU first.
pub fn find_cpus(rsdp: u64, boot_apic: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    if rsdp != 0 {
        // SAFETY: the boot protocol gave the RSDP's address; the crate checks its
        // signature and checksums before trusting anything else.
        if let Ok(tables) = unsafe { AcpiTables::from_rsdp(DirectMap, rsdp as usize) } {
            if let Ok(madt) = tables.find_table::<acpi::madt::Madt>() {
                // Local APIC and x2APIC entries; bit 0 of the flags: enabled.
                for e in madt.get().entries() {
                    match e {
                        acpi::madt::MadtEntry::LocalApic(l) if { l.flags } & 1 != 0 => ids.push(u32::from(l.apic_id)),
                        acpi::madt::MadtEntry::LocalX2Apic(l) if { l.flags } & 1 != 0 => {
                            let id = l.x2apic_id;
                            ids.push(id)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if ids.is_empty() {
        ids = mp_table_cpus();
    }
    // The boot CPU first, then the others in table order.
    ids.retain(|&id| id != boot_apic);
    ids.insert(0, boot_apic);
    ids.truncate(MAX_CPUS);
    ids
}

fn rd8(pa: u64) -> u8 {
    // SAFETY: callers only read firmware areas below 1 MiB, covered by the direct map.
    unsafe { core::ptr::read_volatile(elfin_arch::phys_to_virt(pa) as *const u8) }
}

fn rd16(pa: u64) -> u16 {
    u16::from(rd8(pa)) | (u16::from(rd8(pa + 1)) << 8)
}

fn rd32(pa: u64) -> u32 {
    u32::from(rd16(pa)) | (u32::from(rd16(pa + 2)) << 16)
}

/// Searches for the MP floating pointer ("_MP_", 16-byte aligned, checksummed) in
/// the EBDA's first KiB, the last KiB of base memory and the BIOS ROM.
fn find_mp_pointer() -> Option<u64> {
    let ebda = u64::from(rd16(0x40e)) << 4;
    let areas = [(ebda, ebda + 1024), (0x9fc00, 0xa0000), (0xf0000, 0x100000)];
    for (lo, hi) in areas {
        if lo == 0 || hi > 0x100000 {
            continue;
        }
        let mut pa = lo;
        while pa + 16 <= hi {
            if rd32(pa) == u32::from_le_bytes(*b"_MP_") {
                let sum = (0..16).fold(0u8, |s, i| s.wrapping_add(rd8(pa + i)));
                if sum == 0 {
                    return Some(pa);
                }
            }
            pa += 16;
        }
    }
    None
}

/// The enabled processors of the MP configuration table.
fn mp_table_cpus() -> Vec<u32> {
    let mut ids = Vec::new();
    let Some(fp) = find_mp_pointer() else { return ids };
    let table = u64::from(rd32(fp + 4));
    if table == 0 || table >= 0x100000 || rd32(table) != u32::from_le_bytes(*b"PCMP") {
        return ids;
    }
    // The entries end at the base table's length (some firmware, such as qboot,
    // leaves the entry count at 0).
    let end = (table + u64::from(rd16(table + 4))).min(0x100000);
    let mut e = table + 44;
    while e < end {
        match rd8(e) {
            0 => {
                // Processor: local APIC id, flags (bit 0 enabled).
                if rd8(e + 3) & 1 != 0 {
                    ids.push(u32::from(rd8(e + 1)));
                }
                e += 20;
            }
            1..=4 => e += 8,
            _ => break,
        }
    }
    ids
}

/// Records which local APIC is CPU `cpu`.
pub fn set_apic_id(cpu: usize, apic: u32) {
    if let Some(slot) = APIC_ID.get(cpu) {
        slot.store(apic, Ordering::Relaxed);
    }
}

fn wait_icr_idle() {
    for _ in 0..1_000_000 {
        if lapic_read(0x300) & (1 << 12) == 0 {
            return;
        }
        core::hint::spin_loop();
    }
}

fn send(apic: u32, low: u32) {
    wait_icr_idle();
    lapic_write(0x310, apic << 24);
    lapic_write(0x300, low);
    wait_icr_idle();
}

fn delay_us(us: u64, cycles_hz: u64) {
    let t0 = elfin_arch::read_cycles();
    let wait = cycles_hz / 1_000_000 * us;
    while elfin_arch::read_cycles().wrapping_sub(t0) < wait {
        core::hint::spin_loop();
    }
}

/// Starts the CPU with local APIC `apic` at the trampoline (INIT, then two
/// SIPIs as the MP specification says) and waits until it reports in; false when
/// it does not within about a second.
pub fn start_cpu(apic: u32, vector: u8, cycles_hz: u64) -> bool {
    let before = ARRIVED.load(Ordering::Acquire);
    // INIT (assert, level), then deassert.
    send(apic, 0x0000_c500);
    send(apic, 0x0000_8500);
    delay_us(10_000, cycles_hz);
    for _ in 0..2 {
        send(apic, 0x0000_0600 | u32::from(vector));
        delay_us(200, cycles_hz);
        if ARRIVED.load(Ordering::Acquire) != before {
            return true;
        }
    }
    let t0 = elfin_arch::read_cycles();
    while elfin_arch::read_cycles().wrapping_sub(t0) < cycles_hz {
        if ARRIVED.load(Ordering::Acquire) != before {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Called by an application processor once it runs kernel code.
pub fn arrived() {
    super::enable_local_apic();
    ARRIVED.fetch_add(1, Ordering::AcqRel);
}

/// Interrupts CPU `cpu` (fixed delivery of `vector`).
fn ipi(cpu: usize, vector: u8) {
    if let Some(a) = APIC_ID.get(cpu) {
        send(a.load(Ordering::Relaxed), u32::from(vector));
    }
}

/// Wakes CPU `cpu` so that it looks at its run queue.
pub fn send_ipi(cpu: usize) {
    ipi(cpu, RESCHED_VECTOR);
}

/// Does the TLB flushes other CPUs asked of this one.
pub fn poll_flush(me: usize) {
    let (Some(asked), Some(done)) = (FLUSH_ASKED.get(me), FLUSH_DONE.get(me)) else { return };
    let want = asked.load(Ordering::Acquire);
    if done.load(Ordering::Acquire) < want {
        elfin_arch::flush_user_tlb();
        done.fetch_max(want, Ordering::AcqRel);
    }
}

/// Makes CPU `cpu` flush its TLB and waits until it has; meanwhile this CPU does
/// what is asked of it, so that two CPUs asking each other do not wait for ever.
pub fn flush_tlb_on(cpu: usize) {
    let me = elfin_arch::cpu_id();
    let (Some(asked), Some(done)) = (FLUSH_ASKED.get(cpu), FLUSH_DONE.get(cpu)) else { return };
    let ticket = asked.fetch_add(1, Ordering::AcqRel) + 1;
    ipi(cpu, TLB_VECTOR);
    while done.load(Ordering::Acquire) < ticket {
        poll_flush(me);
        core::hint::spin_loop();
    }
}
