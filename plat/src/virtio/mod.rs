//! virtio devices: the DMA glue for `virtio-drivers`, finding the transports the
//! machine has (virtio-mmio from the command line or the device tree, virtio-pci on
//! PCI bus 0) and the multiport console that carries the program's stdio when the
//! host asks for it (`stdio=virtio` on the command line, docs/protocol.md).
pub mod console;
pub mod hal;
pub mod net;
pub mod ninep;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

use self::console::Console;
use crate::console::Channel;
use crate::BootInfo;

/// An interrupt line of a device, as the platform numbers it (x86_64: a GSI of
/// the I/O APICs; aarch64: a GIC INTID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irq {
    /// The number.
    pub num: u32,
    /// Edge-triggered (else level).
    pub edge: bool,
}

/// Where a device's interrupt is acknowledged (which lowers its line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    /// A virtio-mmio register block (virtual address): InterruptStatus/InterruptACK.
    Mmio(u64),
    /// A virtio-pci ISR status byte (virtual address), cleared by reading it.
    // arm64 machines have no virtio-pci transport (yet).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    PciIsr(u64),
}

/// Which driver a routed interrupt belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqOwner {
    /// The virtio console.
    Console,
    /// The virtio network device.
    Net,
}

/// A transport found on the machine, with its interrupt when it can be used.
pub struct Found {
    /// The transport.
    pub transport: SomeTransport<'static>,
    /// Its interrupt line and where to acknowledge it.
    pub irq: Option<(Irq, Ack)>,
}

static DEVICE: spin::Mutex<Option<Box<Console>>> = spin::Mutex::new(None);
/// Port ids of stdin, stdout and stderr on the device; 0 when the channel is not on it.
static PORTS: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];
/// stderr goes out on stdout's port (`stdio=virtio:IN,OUT,OUT`).
static STDERR_ON_STDOUT: AtomicBool = AtomicBool::new(false);
/// Where the routed interrupt is acknowledged: the address, tagged in bit 0 for a
/// PCI ISR byte (0: none, input is polled).
static IRQ_ACK: AtomicU64 = AtomicU64::new(0);
/// The device's interrupt wakes the CPU.
static IRQ_ROUTED: AtomicBool = AtomicBool::new(false);

/// How long the port handshake may go without progress (polls of the control queue).
const HANDSHAKE_PATIENCE: u64 = 2_000_000;

/// The device type of the virtio-mmio register block mapped at `va` (its
/// DeviceID register), read without making a transport: dropping a transport
/// resets its device, which must not happen to a device another driver runs.
pub(crate) fn mmio_device_id(va: u64) -> u32 {
    // SAFETY: `va` maps a virtio-mmio register block (at least 0x100 bytes, device
    // memory); MagicValue and DeviceID are read-only registers without side effects.
    unsafe {
        if core::ptr::read_volatile(va as *const u32) != 0x7472_6976 {
            return 0;
        }
        core::ptr::read_volatile((va + 8) as *const u32)
    }
}

use elfin_kcore::cmdline::words;

/// Finds the console with the elfin ports when the command line asks for it
/// (`stdio=virtio`) and moves stdin, stdout and stderr onto it. Must run once,
/// after the kernel heap is up.
///
/// With the ports' numbers given (`stdio=virtio:IN,OUT,ERR`, as the CLI does) the
/// device is started at the first use of stdio, which also waits for its port
/// handshake: a program that never uses stdio does not pay for it.
pub fn init(info: &BootInfo) {
    let line = crate::cmdline(info);
    // One pass over the words: `virtio9p`, and `stdio=virtio` or
    // `stdio=virtio:IN,OUT,ERR` with the ports' numbers.
    let (mut nine_p, mut stdio) = (false, None);
    for w in words(line) {
        if w == b"virtio9p" {
            nine_p = true;
        } else if stdio.is_none() && (w == b"stdio=virtio" || w.starts_with(b"stdio=virtio:")) {
            stdio = Some(w);
        }
    }
    if nine_p {
        ninep::init(line, info);
    }
    let Some(word) = stdio else {
        return;
    };
    let parsed = word.strip_prefix(b"stdio=virtio:").and_then(console::parse_layout);
    let layout = parsed.map(|(l, _)| l);
    STDERR_ON_STDOUT.store(parsed.is_some_and(|(_, shared)| shared), Ordering::Release);
    console::set_small_memory(info.regions().iter().filter(|r| r.kind == crate::MemKind::Usable).map(|r| r.size).sum());
    let mut installed = false;
    crate::devices::for_each_transport(line, info, DeviceType::Console, &mut |found: Found| {
        // The interrupt is routed before the device starts: the control messages
        // it sends at once then raise it, edge- or level-triggered. The CPU takes
        // it once the program runs.
        let routed = match found.irq {
            Some((irq, ack)) if found.transport.device_type() == DeviceType::Console => {
                let tagged = match ack {
                    Ack::Mmio(va) => va & !1,
                    Ack::PciIsr(va) => va | 1,
                };
                IRQ_ACK.store(tagged, Ordering::Release);
                crate::devices::route_irq(irq, IrqOwner::Console)
            }
            _ => false,
        };
        if let Some(l) = &layout {
            if found.transport.device_type() != DeviceType::Console {
                return false;
            }
            // Where the channels are until the handshake says otherwise.
            for (id, role) in l.iter().enumerate() {
                let ch = match role {
                    Some(console::Role::Stdin) => STDIN,
                    Some(console::Role::Stdout) => 1,
                    Some(console::Role::Stderr) => 2,
                    None => continue,
                };
                PORTS[ch].store(id, Ordering::Release);
            }
            // The device starts at the first use of stdio: a program that never
            // uses it does not wait for its queues at boot.
            *UNSTARTED.lock() = Some(Box::new(Unstarted { transport: found.transport, layout: *l, routed }));
        } else {
            // Without the numbers, a console is kept only once its ports are named.
            let Ok(mut dev) = Console::new(found.transport, None) else { return false };
            let roles = dev.handshake(HANDSHAKE_PATIENCE);
            if roles.iter().all(Option::is_none) {
                return false;
            }
            record(&dev, roles);
            *DEVICE.lock() = Some(dev);
            IRQ_ROUTED.store(routed, Ordering::Release);
        }
        installed = true;
        true
    });
    if !installed {
        no_console();
    }
}

/// The console the command line gave port numbers for, until its first use.
struct Unstarted {
    transport: SomeTransport<'static>,
    layout: console::Layout,
    /// Its interrupt was routed.
    routed: bool,
}

static UNSTARTED: spin::Mutex<Option<Box<Unstarted>>> = spin::Mutex::new(None);

/// Starts the console found at boot, unless it runs already. The caller holds
/// the device's lock, so that only one CPU starts it and the others wait.
fn start(slot: &mut Option<Box<Console>>) {
    if slot.is_some() {
        return;
    }
    let Some(u) = UNSTARTED.lock().take() else { return };
    let Ok(dev) = Console::new(u.transport, Some(&u.layout)) else { no_console() };
    *slot = Some(dev);
    IRQ_ROUTED.store(u.routed, Ordering::Release);
}

fn no_console() -> ! {
    crate::console::early_panic(
        "elfin: the command line asks for stdio on virtio-console (stdio=virtio), \
         but no virtio console with the elfin ports was found",
    )
}

/// The port handshake is over and [`PORTS`] says where each channel is.
static SETTLED: AtomicBool = AtomicBool::new(false);

/// Finishes the port handshake (waiting for the device as long as it makes
/// progress) and records which port carries which channel.
fn settle(dev: &mut Console) {
    if SETTLED.load(Ordering::Acquire) {
        return;
    }
    let roles = dev.handshake(HANDSHAKE_PATIENCE);
    record(dev, roles);
}

/// Records the ports of stdin, stdout and stderr (`roles`) the handshake found,
/// which ends it.
fn record(dev: &Console, roles: [Option<usize>; 3]) {
    if dev.layout_disagrees() {
        crate::console::early_panic(
            "elfin: the port numbers of stdio=virtio:IN,OUT,ERR on the command line \
             disagree with the names the host gave the console ports",
        );
    }
    if roles.iter().all(Option::is_none) {
        no_console();
    }
    for (slot, id) in PORTS.iter().zip(roles) {
        slot.store(id.unwrap_or(0), Ordering::Release);
    }
    SETTLED.store(true, Ordering::Release);
}

/// [`settle`] before the first use of stdio.
pub fn ensure_settled() {
    if SETTLED.load(Ordering::Acquire) {
        return;
    }
    let mut slot = DEVICE.lock();
    start(&mut slot);
    if let Some(dev) = slot.as_mut() {
        settle(dev);
    }
}

/// The device's interrupt: acknowledges it and, while the port handshake is not
/// over, takes its next step.
pub fn interrupt() {
    ack_interrupt();
    if SETTLED.load(Ordering::Acquire) {
        return;
    }
    // Code this interrupt stopped may hold the device; it then finishes the
    // handshake itself.
    let Some(mut guard) = DEVICE.try_lock() else { return };
    if let Some(dev) = guard.as_mut() {
        dev.poll_control();
        if dev.ports_settled() {
            record(dev, dev.roles());
        }
    }
}

/// The port of channel `ch` (0 stdin, 1 stdout, 2 stderr), once the handshake
/// is over.
fn port(ch: usize) -> Option<usize> {
    ensure_settled();
    port_said(ch)
}

/// The port of channel `ch` as known so far (from the command line's numbers
/// while the handshake goes on).
fn port_said(ch: usize) -> Option<usize> {
    // stderr sharing stdout's port has no port of its own.
    let ch = if ch == 2 && STDERR_ON_STDOUT.load(Ordering::Acquire) { 1 } else { ch };
    match PORTS.get(ch)?.load(Ordering::Acquire) {
        0 => None,
        id => Some(id),
    }
}

const STDIN: usize = 0;

/// Writes program output on its port; false when the channel is not on virtio.
pub fn write(ch: Channel, bytes: &[u8]) -> bool {
    let idx = match ch {
        Channel::Stdout => 1,
        Channel::Stderr => 2,
        Channel::Kernel => return false,
    };
    let Some(id) = port(idx) else { return false };
    if let Some(dev) = DEVICE.lock().as_mut() {
        dev.write(id, bytes);
    }
    true
}

/// Whether the host closed the port of an output channel (false when the channel is
/// not on virtio).
pub fn output_closed(ch: Channel) -> bool {
    let idx = match ch {
        Channel::Stdout => 1,
        Channel::Stderr => 2,
        Channel::Kernel => return false,
    };
    let Some(id) = port(idx) else { return false };
    DEVICE.lock().as_mut().is_some_and(|d| d.output_closed(id))
}

/// Whether stdin comes from the virtio port. It does not wait for the
/// handshake: the scheduler asks on every pass.
pub fn stdin_active() -> bool {
    port_said(STDIN).is_some()
}

fn with_stdin<R>(default: R, f: impl FnOnce(&mut Console, usize) -> R) -> R {
    let Some(id) = port(STDIN) else { return default };
    match DEVICE.lock().as_mut() {
        Some(dev) => f(dev, id),
        None => default,
    }
}

/// Reads stdin: Some(n > 0) bytes, Some(0) end of file, None nothing yet.
pub fn read(out: &mut [u8]) -> Option<usize> {
    with_stdin(Some(0), |d, id| d.read(id, out))
}

/// Bytes of stdin waiting.
pub fn available() -> usize {
    with_stdin(0, |d, id| d.available(id))
}

/// Whether stdin has data or end of file waiting.
pub fn input_ready() -> bool {
    with_stdin(true, |d, id| d.input_ready(id))
}

/// Whether stdin ended and was read to the end.
pub fn input_eof() -> bool {
    with_stdin(true, |d, id| d.input_eof(id))
}

/// Changes whenever stdin data or end of file arrives. Nothing arrives before
/// the handshake is over (the scheduler asks on every pass, and does not wait
/// for it).
pub fn generation() -> u64 {
    if !SETTLED.load(Ordering::Acquire) {
        return 0;
    }
    with_stdin(0, |d, id| d.generation(id))
}

/// Arms the stdin interrupt; true when the next arrival will raise it (so an idle
/// CPU may halt), false when input is already there or arrivals raise nothing.
pub fn input_wakes_cpu() -> bool {
    IRQ_ROUTED.load(Ordering::Acquire) && with_stdin(false, |d, id| d.arm_input_interrupt(id))
}

/// Waits until the host has every byte written so far.
pub fn flush() {
    if let Some(dev) = DEVICE.lock().as_mut() {
        dev.flush();
    }
}

/// [`flush`] for the crash path: skipped when the device is busy (the crash may
/// have happened inside it).
pub fn try_flush() {
    if let Some(mut g) = DEVICE.try_lock() {
        if let Some(dev) = g.as_mut() {
            dev.flush();
        }
    }
}

/// Acknowledges the device's interrupt, from the interrupt handler. It takes no
/// lock: the two registers it touches are used nowhere else.
pub fn ack_interrupt() {
    ack_at(IRQ_ACK.load(Ordering::Acquire));
}

/// Acknowledges a virtio interrupt at a tagged address (bit 0 set: a PCI ISR
/// status byte; else a virtio-mmio register block; 0: nothing).
pub(crate) fn ack_at(tagged: u64) {
    if tagged == 0 {
        return;
    }
    let va = tagged & !1;
    if tagged & 1 != 0 {
        // SAFETY: the mapped ISR status byte of the virtio-pci device whose interrupt
        // was routed; reading it acknowledges the interrupt and has no other effect.
        unsafe { core::ptr::read_volatile(va as *const u8) };
        return;
    }
    // virtio-mmio InterruptStatus (0x60) and InterruptACK (0x64).
    // SAFETY: the mapped register block of the device whose interrupt was routed;
    // reading the status and acknowledging it has no other effect.
    unsafe {
        let status = core::ptr::read_volatile((va + 0x60) as *const u32);
        if status != 0 {
            core::ptr::write_volatile((va + 0x64) as *mut u32, status);
        }
    }
}
