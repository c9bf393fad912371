//! Everything of the elfin kernel that differs per machine or VMM: the boot
//! protocol (PVH on x86_64), the memory map, the console UART and its host
//! framing, the virtio console that carries stdio at speed, and power-off with an
//! exit status. May depend on `elfin-arch`, `elfin-kcore` (its device-tree reader) and
//! `virtio-drivers`.
#![no_std]

extern crate alloc;

pub mod console;
mod smp;
mod virtio;
/// The virtio-9p devices that carry the volumes (the kernel's 9P client drives them).
pub use virtio::ninep;

pub use smp::{cpu_arrived, cpus, flush_tlb_on, poll_tlb_flush, prepare as prepare_smp, send_ipi, start_cpu};

#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "x86_64")]
use self::x86_64::devices;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::{
    ack_irq, clock, delay_tick, first_cycles, init_machine, low_reserved, power_off, start_tick, stop_tick,
    tick_period, uart, DEVICE_WINDOWS,
};

#[cfg(target_arch = "aarch64")]
mod aarch64;

#[cfg(target_arch = "aarch64")]
use self::aarch64::devices;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::{
    ack_irq, clock, delay_tick, first_cycles, init_machine, low_reserved, power_off, start_tick, stop_tick,
    tick_period, uart, DEVICE_WINDOWS,
};

/// What only arm64 machines have.
#[cfg(target_arch = "aarch64")]
pub mod arm64 {
    pub use super::aarch64::cpu_count;
}

/// Maximum number of memory-map entries kept from the boot protocol.
pub const MAX_MEM_REGIONS: usize = 64;

/// Kind of a physical memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemKind {
    /// Free RAM.
    Usable,
    /// ACPI tables that may be reclaimed.
    AcpiReclaimable,
    /// Anything else.
    Reserved,
}

/// One entry of the boot memory map.
#[derive(Clone, Copy, Debug)]
pub struct MemRegion {
    /// Physical start.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// Kind.
    pub kind: MemKind,
}

/// A boot module (the initrd).
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// Physical address.
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What the boot protocol told us.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo {
    regions: [MemRegion; MAX_MEM_REGIONS],
    nregions: usize,
    /// Physical address of the NUL-terminated kernel command line, or 0.
    pub cmdline_paddr: u64,
    /// The initrd, if any.
    pub initrd: Option<Module>,
    /// Physical address of the ACPI RSDP, or 0.
    pub rsdp: u64,
}

impl BootInfo {
    /// An empty boot info.
    pub const fn empty() -> BootInfo {
        BootInfo {
            regions: [MemRegion { start: 0, size: 0, kind: MemKind::Reserved }; MAX_MEM_REGIONS],
            nregions: 0,
            cmdline_paddr: 0,
            initrd: None,
            rsdp: 0,
        }
    }

    /// Adds a memory-map entry (ignored when the table is full).
    pub fn push_region(&mut self, r: MemRegion) {
        if let Some(slot) = self.regions.get_mut(self.nregions) {
            *slot = r;
            self.nregions += 1;
        }
    }

    /// The memory map.
    pub fn regions(&self) -> &[MemRegion] {
        self.regions.get(..self.nregions).unwrap_or(&[])
    }
}

/// Longest kernel command line read (the boot protocols' own limit is lower).
const CMDLINE_MAX: usize = 4096;

/// The command line, copied once out of the memory the boot protocol put it in
/// (which the frame allocator may hand out later on x86_64), and its length.
struct CmdLine(core::cell::UnsafeCell<[u8; CMDLINE_MAX]>);

// SAFETY: the buffer is written once, inside `CMDLINE_LEN.call_once`, before any
// reader can see it; afterwards it is only read.
unsafe impl Sync for CmdLine {}

static CMDLINE: CmdLine = CmdLine(core::cell::UnsafeCell::new([0; CMDLINE_MAX]));
static CMDLINE_LEN: spin::Once<usize> = spin::Once::new();

/// The kernel command line kept by [`cmdline`] (empty before its first call).
pub fn saved_cmdline() -> &'static [u8] {
    let n = CMDLINE_LEN.get().copied().unwrap_or(0);
    // SAFETY: as in `cmdline`: the first `n` bytes were written before `call_once`
    // returned and are never written again.
    unsafe { core::slice::from_raw_parts(CMDLINE.0.get().cast::<u8>(), n) }
}

/// The kernel command line (without its NUL). The first call, which must come
/// before the frame allocator runs, copies it out of the boot protocol's memory;
/// every caller then shares that one copy.
pub fn cmdline(info: &BootInfo) -> &'static [u8] {
    let n = *CMDLINE_LEN.call_once(|| {
        if info.cmdline_paddr == 0 {
            return 0;
        }
        let dst = CMDLINE.0.get().cast::<u8>();
        let mut n = 0;
        while n < CMDLINE_MAX {
            let va = elfin_arch::phys_to_virt(info.cmdline_paddr + n as u64);
            // SAFETY: the boot protocol gives a NUL-terminated string in RAM, which the
            // direct map covers; reading stops at the NUL or after 4 KiB.
            let b = unsafe { core::ptr::read_volatile(va as *const u8) };
            if b == 0 {
                break;
            }
            // SAFETY: `n` < CMDLINE_MAX; only this closure writes the buffer, once.
            unsafe { dst.add(n).write(b) };
            n += 1;
        }
        n
    });
    // SAFETY: the first `n` bytes were written before `call_once` returned and are
    // never written again.
    unsafe { core::slice::from_raw_parts(CMDLINE.0.get().cast::<u8>(), n) }
}

/// Starts the devices the command line asks for (the virtio console with the
/// program's stdio, `stdio=virtio`), taking their DMA memory from `alloc_pages`
/// (`n` physically contiguous pages, not necessarily zeroed) and giving it back
/// with `free_pages`. Call once, after the kernel heap is up and the trap handlers
/// are installed; the console functions use the devices from then on.
pub fn init_devices(info: &BootInfo, alloc_pages: fn(usize) -> Option<u64>, free_pages: fn(u64, usize)) {
    virtio::hal::set_page_source(alloc_pages, free_pages);
    virtio::init(info);
    virtio::net::init(info);
}

/// The network device (virtio-net), when the machine has one.
pub mod net {
    pub use super::virtio::net::{has_interrupt, mac, receive, take_interrupt, transmit_with};
}

extern "Rust" {
    /// The kernel's entry point, defined by the kernel crate.
    fn elfin_kernel_main(info: &BootInfo) -> !;
}

pub use elfin_kcore::cmdline::words as cmdline_words;

/// Hands control to the kernel.
fn enter_kernel(info: &BootInfo) -> ! {
    // SAFETY: `elfin_kernel_main` is defined exactly once by the kernel binary with
    // this signature.
    unsafe { elfin_kernel_main(info) }
}
