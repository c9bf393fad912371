//! x86_64 machines: QEMU `microvm`/`q35`, Firecracker, Cloud Hypervisor (PVH boot, COM1).
pub(crate) mod devices;
mod pvh;
pub mod smp;
pub use pvh::first_cycles;
pub mod uart;

use elfin_arch::io::outb;

/// Powers the machine off after the status was reported on the console:
/// isa-debug-exit (QEMU), ACPI S5 at 0x600 (Cloud Hypervisor), i8042 reset (Firecracker).
pub fn power_off(status: u8) -> ! {
    outb(0xf4, status);
    outb(0x600, 0x34);
    outb(0x64, 0xfe);
    elfin_arch::halt_forever()
}
pub mod clock;

/// Quiets legacy devices firmware may have left running: the 8259 PICs are
/// remapped to vectors 0x20–0x2f (away from CPU exceptions) and fully masked.
pub fn init_machine() {
    for (cmd, data, base, cascade) in [(0x20u16, 0x21u16, 0x20u8, 4u8), (0xa0, 0xa1, 0x28, 2)] {
        outb(cmd, 0x11);
        outb(data, base);
        outb(data, cascade);
        outb(data, 0x01);
        outb(data, 0xff);
    }
}

/// RAM below the address this returns never goes to the frame allocator: page 0 (the
/// BIOS data area, whose EBDA pointer the MP table search reads) and the AP
/// trampoline with its page-table root (`elfin_arch::smp`, 0x8000 and 0x9000). The
/// rest of base memory (up to 640 KiB, as the memory map says) is ordinary RAM:
/// what the loader put there (`hvm_start_info`, the memory map, the command line)
/// is read before the frame allocator starts.
pub fn low_reserved() -> u64 {
    0x1_0000
}

/// Physical MMIO windows (2 MiB aligned) the kernel must map as device memory:
/// the top of the 32-bit PCI hole, where firmware puts small BARs (`q35`) and QEMU
/// `microvm` its virtio-mmio transports (0xfeb00000), the I/O APICs and the local
/// APIC.
pub const DEVICE_WINDOWS: &[(u64, u64)] =
    &[(0xfe00_0000, 0xc0_0000), (0xfec0_0000, 0x20_0000), (0xfee0_0000, 0x20_0000)];

/// Interrupt vector of the periodic tick (local APIC timer).
pub const TICK_VECTOR: u8 = 0x30;
/// Interrupt vector of device interrupts (the virtio console).
pub const DEVICE_VECTOR: u8 = 0x31;
/// Interrupt vector of the virtio network device.
pub const NET_VECTOR: u8 = 0x32;
/// Spurious-interrupt vector of the local APIC.
const SPURIOUS_VECTOR: u8 = 0xff;
const LAPIC_BASE: u64 = 0xfee0_0000;

fn lapic(reg: u64) -> *mut u32 {
    (elfin_arch::phys_to_virt(LAPIC_BASE) + reg) as *mut u32
}

fn lapic_write(reg: u64, v: u32) {
    // SAFETY: the kernel maps the local APIC page (DEVICE_WINDOWS) as device memory
    // before starting the tick; registers are 32-bit and 16-byte aligned.
    unsafe { core::ptr::write_volatile(lapic(reg), v) }
}

fn lapic_read(reg: u64) -> u32 {
    // SAFETY: as in `lapic_write`.
    unsafe { core::ptr::read_volatile(lapic(reg)) }
}

/// Enables the local APIC (software enable, spurious vector, all priorities
/// accepted); returns its id.
pub(crate) fn enable_local_apic() -> u32 {
    lapic_write(0xf0, 0x100 | u32::from(SPURIOUS_VECTOR));
    lapic_write(0x80, 0);
    lapic_read(0x20) >> 24
}

/// Starts the periodic tick at `hz` with the local APIC timer, calibrated
/// against the cycle counter running at `cycles_hz`.
pub fn start_tick(hz: u32, cycles_hz: u64) {
    enable_local_apic();
    lapic_write(0x3e0, 0x3);
    let known = TICK_INITIAL.load(core::sync::atomic::Ordering::Relaxed);
    if known != 0 {
        // Every CPU's timer runs at the bus clock the first calibration measured.
        lapic_write(0x320, (1 << 17) | u32::from(TICK_VECTOR));
        lapic_write(0x380, known);
        return;
    }
    // The timer counts its input clock divided by 16 (0x3e0 above): the clock's
    // rate from the hypervisor when it says, else counted down from the maximum
    // over 100 µs of cycles (thousands of counts at the tens of MHz such clocks
    // run at; the tick needs no finer period), each end read between two cycle
    // counter readings so that a pause of the guest there is seen and measured
    // again.
    let apic_hz = match clock::hypervisor_freqs().and_then(|(_, apic)| apic) {
        Some(bus_hz) => bus_hz / 16,
        None => clock::best_measurement(8, || {
            lapic_write(0x320, 1 << 16);
            lapic_write(0x380, u32::MAX);
            let first = clock::Stamp::take(|| lapic_read(0x390));
            let wait = cycles_hz / 10_000;
            while elfin_arch::read_cycles().wrapping_sub(first.after) < wait {
                core::hint::spin_loop();
            }
            let last = clock::Stamp::take(|| lapic_read(0x390));
            let (span, slack) = first.until(&last);
            let counted = u64::from(first.value.saturating_sub(last.value));
            (span != 0 && counted != 0).then(|| (counted.saturating_mul(cycles_hz) / span, span, slack))
        })
        .unwrap_or(cycles_hz / 16),
    };
    let initial = (apic_hz / u64::from(hz.max(1))).clamp(1, u64::from(u32::MAX)) as u32;
    // Periodic mode on the tick vector.
    lapic_write(0x320, (1 << 17) | u32::from(TICK_VECTOR));
    lapic_write(0x380, initial);
    TICK_INITIAL.store(initial, core::sync::atomic::Ordering::Relaxed);
}

/// The tick timer's count per tick period (0 before the first [`start_tick`]).
pub fn tick_period() -> u64 {
    u64::from(TICK_INITIAL.load(core::sync::atomic::Ordering::Relaxed))
}

/// The local APIC timer's count per tick, once calibrated.
static TICK_INITIAL: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Makes the calling CPU's next tick come `periods` tick periods from now
/// instead of one (an idle CPU that only waits for a deadline): the timer goes
/// one-shot; [`start_tick`] makes it periodic again. Nothing changes before the
/// timer was calibrated.
pub fn delay_tick(periods: u64) {
    let per = u64::from(TICK_INITIAL.load(core::sync::atomic::Ordering::Relaxed));
    if per == 0 {
        return;
    }
    let count = per.saturating_mul(periods.max(1)).min(u64::from(u32::MAX)) as u32;
    // One-shot mode (bits 17-18 clear) on the tick vector.
    lapic_write(0x320, u32::from(TICK_VECTOR));
    lapic_write(0x380, count);
}

/// Stops this CPU's tick (an idle CPU then sleeps until an interrupt).
pub fn stop_tick() {
    lapic_write(0x320, 1 << 16);
}

/// Acknowledges an interrupt; true when it was the tick.
pub fn ack_irq(vector: u8) -> bool {
    if (0x20..0x30).contains(&vector) {
        // A stray legacy PIC interrupt (the PICs are masked).
        if vector >= 0x28 {
            outb(0xa0, 0x20);
        }
        outb(0x20, 0x20);
        return false;
    }
    if vector == DEVICE_VECTOR {
        // Lower the device's line before the end of interrupt, or a level-triggered
        // line fires again at once.
        crate::virtio::interrupt();
    }
    if vector == NET_VECTOR {
        crate::virtio::net::ack_interrupt();
    }
    if vector == smp::TLB_VECTOR {
        smp::poll_flush(elfin_arch::cpu_id());
    }
    if vector != SPURIOUS_VECTOR {
        lapic_write(0xb0, 0);
    }
    // A wake-up IPI counts as a tick: the interrupted program may give way.
    vector == TICK_VECTOR || vector == smp::RESCHED_VECTOR
}
