//! The multiport virtio console (virtio 1.2 §5.3) that carries the program's stdio.
//!
//! The host names its ports (docs/protocol.md): `org.elfin.stdin`, `org.elfin.stdout`
//! and `org.elfin.stderr`. Each is a plain byte stream, no framing. Output goes out in
//! a few large buffers per port and write returns once the bytes are copied, so a
//! program's writes pipeline with the host's. Input is read in bulk from a ring of
//! large receive buffers. End of file on stdin is the host closing the port
//! (`VIRTIO_CONSOLE_PORT_OPEN` 0) once every byte before it was read.
//!
//! `virtio-drivers` provides the transports and the split virtqueues; its own console
//! driver handles one port only, hence this one.
use alloc::boxed::Box;
use alloc::vec::Vec;

use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::{DeviceStatus, DeviceType, SomeTransport, Transport};

use super::hal::{DmaBuf, PlatHal};

/// Descriptors per port receive queue (one per stdin buffer), per port transmit
/// queue (one per output buffer, rounded up to a power of two) and per control
/// queue (QEMU's control queues have 32 entries, its port queues 128). A queue's
/// bookkeeping grows with its size, and a port's role is known only after the
/// device started, so every port has one queue of each kind.
const RX_QSIZE: usize = RX_BUFS;
const TX_QSIZE: usize = TX_BUFS.next_power_of_two();
const CTRL_QSIZE: usize = 16;
/// Receive buffers of stdin and their size. QEMU reads a socket 4 KiB at a time and
/// fills one buffer per read, so many small buffers keep many reads in flight.
const RX_BUFS: usize = 64;
const RX_BUF_BYTES: usize = 4096;
/// Transmit buffers per output port and their size (a write(2) is copied in 64 KiB
/// pieces; QEMU writes each buffer to its socket at once).
const TX_BUFS: usize = 4;
const TX_BUF_BYTES: usize = 64 * 1024;
/// In a small VM (see [`set_small_memory`]) the buffers are this many times smaller:
/// 48 KiB for stdio instead of 768 KiB, which a VM of a few MiB cannot spare.
const SMALL_DIVISOR: usize = 16;
/// Guest RAM below which the console takes the small buffers.
const SMALL_RAM: u64 = 64 << 20;

static SMALL_MEMORY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Tells the console how much RAM the guest has (before the ports attach).
pub fn set_small_memory(ram_bytes: u64) {
    SMALL_MEMORY.store(ram_bytes < SMALL_RAM, core::sync::atomic::Ordering::Relaxed);
}

/// Bytes of each buffer of a port's ring: `full`, or a fraction in a small VM.
fn buf_size(full: usize) -> usize {
    if SMALL_MEMORY.load(core::sync::atomic::Ordering::Relaxed) {
        full / SMALL_DIVISOR
    } else {
        full
    }
}
/// Receive buffers of the control queue, and their size (a message and a port name).
const CTRL_BUFS: usize = CTRL_QSIZE;
const CTRL_BUF_BYTES: usize = 128;
/// Control messages the driver may have in flight, each in its own slot. They go
/// out in batches with one notification and are not waited for one by one: under
/// KVM the device handles a notification in QEMU's main loop, so a wait per message
/// cost a round trip through it for each of the handshake's messages.
const CTRL_TX_SLOTS: usize = CTRL_QSIZE;
const CTRL_MSG_BYTES: usize = 8;
/// Ports used (ids 0..MAX_PORTS; 0 is the legacy console port, not used).
pub const MAX_PORTS: usize = 4;

const F_MULTIPORT: u64 = 1 << 1;
const F_VERSION_1: u64 = 1 << 32;

// Control events (virtio 1.2 §5.3.6.2).
const DEVICE_READY: u16 = 0;
const DEVICE_ADD: u16 = 1;
const DEVICE_REMOVE: u16 = 2;
const PORT_READY: u16 = 3;
const PORT_OPEN: u16 = 6;
const PORT_NAME: u16 = 7;

/// Queue numbers: port 0 has 0/1, the control queues are 2/3, port n has 2n+2/2n+3.
const CTRL_RX_Q: u16 = 2;
const CTRL_TX_Q: u16 = 3;
fn rx_queue(id: usize) -> u16 {
    (2 * id + 2) as u16
}
fn tx_queue(id: usize) -> u16 {
    (2 * id + 3) as u16
}

type RxQueue = VirtQueue<PlatHal, RX_QSIZE>;
type TxQueue = VirtQueue<PlatHal, TX_QSIZE>;
type CtrlQueue = VirtQueue<PlatHal, CTRL_QSIZE>;
/// A port's receive and transmit queues, until its role takes one of them.
type PortQueues = (Option<Box<RxQueue>>, Option<Box<TxQueue>>);

/// The role the host says each port has (`stdio=virtio:IN,OUT,ERR`), by port id:
/// only the queue a role uses is then set up. The names still decide.
pub type Layout = [Option<Role>; MAX_PORTS];

/// Reads `IN,OUT,ERR`, the port numbers of stdin, stdout and stderr: ids from 1
/// to [`MAX_PORTS`] - 1, distinct except that ERR may be OUT: stderr then shares
/// stdout's port (the host does so when its stdout and stderr are one file, so
/// that their order is kept), and the layout gives no port the stderr role.
/// Returns the layout and whether stderr shares stdout's port; None for anything
/// else.
pub fn parse_layout(s: &[u8]) -> Option<(Layout, bool)> {
    let mut layout: Layout = [None; MAX_PORTS];
    let mut parts = s.split(|&b| b == b',');
    let (mut stdout, mut shared) = (0, false);
    for role in [Role::Stdin, Role::Stdout, Role::Stderr] {
        let part = parts.next()?;
        let id = core::str::from_utf8(part).ok()?.parse::<usize>().ok()?;
        if role == Role::Stderr && id == stdout {
            shared = true;
            continue;
        }
        let slot = layout.get_mut(id).filter(|slot| id > 0 && slot.is_none())?;
        *slot = Some(role);
        if role == Role::Stdout {
            stdout = id;
        }
    }
    parts.next().is_none().then_some((layout, shared))
}

/// What a port carries, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The program's stdin (host to guest).
    Stdin,
    /// The program's stdout (guest to host).
    Stdout,
    /// The program's stderr (guest to host).
    Stderr,
}

const PORT_NAMES: [(&[u8], Role); 3] =
    [(b"org.elfin.stdin", Role::Stdin), (b"org.elfin.stdout", Role::Stdout), (b"org.elfin.stderr", Role::Stderr)];

/// Whether the host side of a port is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Host {
    /// Not told yet.
    Unknown,
    Open,
    Closed,
}

#[derive(Clone, Copy, Debug)]
struct Port {
    added: bool,
    named: bool,
    role: Option<Role>,
    host: Host,
}

/// Allocates a zeroed buffer, or None when memory is short.
fn buffer(bytes: usize) -> Option<Box<[u8]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes).ok()?;
    v.resize(bytes, 0);
    Some(v.into_boxed_slice())
}

/// Buffer `i` of `size` bytes in `mem`.
fn slot(mem: &mut DmaBuf, i: usize, size: usize) -> &mut [u8] {
    mem.bytes().get_mut(i * size..(i + 1) * size).unwrap_or(&mut [])
}

/// The receive side of a port: buffers are posted, filled and read in order.
struct Rx {
    q: Box<RxQueue>,
    qidx: u16,
    /// RX_BUFS buffers of `buf_bytes`.
    mem: DmaBuf,
    buf_bytes: usize,
    /// Token of each posted buffer.
    token: [Option<u16>; RX_BUFS],
    /// Buffers the device holds, oldest first.
    posted: Fifo,
    /// Buffers filled and not yet read, oldest first, and their lengths.
    done: Fifo,
    done_len: [usize; RX_BUFS],
    /// Bytes of the oldest filled buffer already read.
    offset: usize,
    /// The buffers were given to the device. That waits for the first look at
    /// stdin: a program that never reads it does not pay for 64 buffers at boot,
    /// and until then the host's bytes wait in QEMU, as behind a full ring (QEMU
    /// reads its side, and so sees the host close it, only when buffers are free).
    started: bool,
}

/// The transmit side of a port.
struct Tx {
    q: Box<TxQueue>,
    qidx: u16,
    /// TX_BUFS buffers of `buf_bytes`.
    mem: DmaBuf,
    buf_bytes: usize,
    /// (token, length) of each buffer the device holds.
    inflight: [Option<(u16, usize)>; TX_BUFS],
}

/// The device.
pub struct Console {
    t: SomeTransport<'static>,
    nports: usize,
    ctrl_rx: Box<CtrlQueue>,
    /// CTRL_BUFS receive buffers of CTRL_BUF_BYTES, in one block (the device
    /// writes a message before the driver reads it, so it is not zeroed).
    ctrl_rx_bufs: DmaBuf,
    ctrl_rx_token: [Option<u16>; CTRL_BUFS],
    ctrl_tx: Box<CtrlQueue>,
    /// CTRL_TX_SLOTS messages of CTRL_MSG_BYTES, and the token of each in flight.
    ctrl_tx_bufs: Box<[u8]>,
    ctrl_tx_token: [Option<u16>; CTRL_TX_SLOTS],
    /// Messages were queued since the device was last notified.
    ctrl_tx_queued: bool,
    /// The stdin port whose receive queue is to be kicked once the device has taken
    /// the driver's PORT_OPEN for it (see [`Console::handle_ctrl`]).
    kick_stdin: Option<usize>,
    /// Port queues (receive, transmit), set up before the device is started (ids
    /// 1..nports; without a [`Layout`], both for every port, since a port's role
    /// is known only after the start); a port's attachment takes the one its role
    /// uses. The other one stays here: the device knows it and may look at it
    /// (QEMU checks a receive queue whenever it polls the port's host side), so its
    /// memory must live as long as the device.
    queues: [PortQueues; MAX_PORTS],
    ports: [Port; MAX_PORTS],
    rx: [Option<Rx>; MAX_PORTS],
    tx: [Option<Tx>; MAX_PORTS],
    /// Counts stdin arrivals (data or end of file).
    generation: u64,
    /// The device broke the rules of a queue (or memory ran out): stdin then reads
    /// as ended and output is dropped, rather than waiting forever.
    failed: bool,
    /// A port was named for a role whose queue the layout did not give it.
    misplaced_role: bool,
}

/// Why the device could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// Not a console device.
    NotConsole,
    /// The device does not offer several ports.
    NoMultiport,
    /// The device refused the features.
    FeaturesRefused,
    /// A virtqueue could not be set up (memory or queue size).
    Queue,
    /// Out of memory for the buffers.
    NoMemory,
}

impl Console {
    /// Starts the device: negotiates multiport, sets up the control queues and the
    /// queues of ports 1.. (with a `layout`, only the queue each port's role uses,
    /// none for a port it leaves out), and announces the driver. The ports are
    /// found later by [`Console::handshake`].
    pub fn new(mut t: SomeTransport<'static>, layout: Option<&Layout>) -> Result<Box<Console>, InitError> {
        if t.device_type() != DeviceType::Console {
            return Err(InitError::NotConsole);
        }
        t.set_status(DeviceStatus::empty());
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
        let offered = t.read_device_features();
        if offered & F_MULTIPORT == 0 {
            t.set_status(DeviceStatus::FAILED);
            return Err(InitError::NoMultiport);
        }
        t.write_driver_features(offered & (F_MULTIPORT | F_VERSION_1));
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
        if !t.get_status().contains(DeviceStatus::FEATURES_OK) {
            t.set_status(DeviceStatus::FAILED);
            return Err(InitError::FeaturesRefused);
        }
        t.set_guest_page_size(elfin_arch::PAGE_SIZE as u32);
        let max_nr_ports = t.read_config_space::<u32>(4).unwrap_or(1) as usize;
        let nports = max_nr_ports.clamp(1, MAX_PORTS);

        // Reset the device on failure: it then forgets the queues, whose memory is
        // freed on return.
        let fail = |t: &mut SomeTransport<'static>, e| {
            t.set_status(DeviceStatus::FAILED);
            t.set_status(DeviceStatus::empty());
            e
        };
        // Queues live in boxes from the start: each holds kilobytes of bookkeeping,
        // which moving by value copied again at every step of the set-up.
        // Arrivals are signalled only while the CPU waits for them
        // (`arm_input_interrupt`): an interrupt per 4 KiB costs more than it saves
        // while the program is busy. Completed transmissions are collected when
        // needed, not signalled.
        let new_rx_queue = |t: &mut SomeTransport<'static>, idx: u16| {
            let mut q = RxQueue::new(t, idx, false, false).map(Box::new).map_err(|_| InitError::Queue)?;
            q.set_dev_notify(false);
            Ok(q)
        };
        let new_tx_queue = |t: &mut SomeTransport<'static>, idx: u16| {
            let mut q = TxQueue::new(t, idx, false, false).map(Box::new).map_err(|_| InitError::Queue)?;
            q.set_dev_notify(false);
            Ok(q)
        };
        let new_ctrl_queue = |t: &mut SomeTransport<'static>, idx: u16| {
            CtrlQueue::new(t, idx, false, false).map(Box::new).map_err(|_| InitError::Queue)
        };
        let ctrl_rx = match new_ctrl_queue(&mut t, CTRL_RX_Q) {
            Ok(q) => q,
            Err(e) => return Err(fail(&mut t, e)),
        };
        let ctrl_tx = match new_ctrl_queue(&mut t, CTRL_TX_Q) {
            Ok(q) => q,
            Err(e) => return Err(fail(&mut t, e)),
        };
        let mut queues: [PortQueues; MAX_PORTS] = [(None, None), (None, None), (None, None), (None, None)];
        for (id, slot) in queues.iter_mut().enumerate().take(nports).skip(1) {
            let role = layout.map(|l| l.get(id).copied().flatten());
            let (want_rx, want_tx) = match role {
                None => (true, true),
                Some(None) => (false, false),
                Some(Some(Role::Stdin)) => (true, false),
                Some(Some(Role::Stdout | Role::Stderr)) => (false, true),
            };
            if want_rx {
                slot.0 = Some(new_rx_queue(&mut t, rx_queue(id)).map_err(|e| fail(&mut t, e))?);
            }
            if want_tx {
                slot.1 = Some(new_tx_queue(&mut t, tx_queue(id)).map_err(|e| fail(&mut t, e))?);
            }
        }
        let (Some(ctrl_rx_bufs), Some(ctrl_tx_bufs)) =
            (DmaBuf::new_unzeroed(CTRL_BUFS * CTRL_BUF_BYTES), buffer(CTRL_TX_SLOTS * CTRL_MSG_BYTES))
        else {
            return Err(fail(&mut t, InitError::NoMemory));
        };
        t.finish_init();
        let unknown = Port { added: false, named: false, role: None, host: Host::Unknown };
        let mut c = Box::new(Console {
            t,
            nports,
            ctrl_rx,
            ctrl_rx_bufs,
            ctrl_rx_token: [None; CTRL_BUFS],
            ctrl_tx,
            ctrl_tx_bufs,
            ctrl_tx_token: [None; CTRL_TX_SLOTS],
            ctrl_tx_queued: false,
            kick_stdin: None,
            queues,
            ports: [unknown; MAX_PORTS],
            rx: [None, None, None, None],
            tx: [None, None, None, None],
            generation: 0,
            failed: false,
            misplaced_role: false,
        });
        for i in 0..CTRL_BUFS {
            c.post_ctrl(i);
        }
        c.t.notify(CTRL_RX_Q);
        c.send_ctrl(0, DEVICE_READY, 1);
        c.flush_ctrl();
        Ok(c)
    }

    /// Exchanges control messages until the ports the host added are named and
    /// open (or `patience` polls passed without progress). Returns the roles found.
    pub fn handshake(&mut self, patience: u64) -> [Option<usize>; 3] {
        let mut idle = 0u64;
        let mut last = self.progress();
        while idle < patience {
            self.poll_control();
            let now = self.progress();
            if now != last {
                last = now;
                idle = 0;
            } else {
                idle += 1;
            }
            if self.ports_settled() {
                break;
            }
            core::hint::spin_loop();
        }
        // A port whose host side never opened is closed: its stdin is empty.
        for p in self.ports.iter_mut() {
            if p.host == Host::Unknown {
                p.host = Host::Closed;
            }
        }
        self.roles()
    }

    /// The ports of stdin, stdout and stderr found so far.
    pub fn roles(&self) -> [Option<usize>; 3] {
        [self.port_of(Role::Stdin), self.port_of(Role::Stdout), self.port_of(Role::Stderr)]
    }

    /// Whether the handshake is over: some port was added, every added port is
    /// named and its host side known, and stdin's receive queue was kicked.
    pub fn ports_settled(&self) -> bool {
        self.ports.iter().any(|p| p.added)
            && self.ports.iter().all(|p| !p.added || (p.named && p.host != Host::Unknown))
            && (self.kick_stdin.is_none() || self.failed)
    }

    /// True when the host named a port for a role whose queue the layout
    /// (`stdio=virtio:IN,OUT,ERR`) did not give it: the numbers were wrong.
    pub fn layout_disagrees(&self) -> bool {
        self.misplaced_role
    }

    fn progress(&self) -> usize {
        self.ports
            .iter()
            .map(|p| usize::from(p.added) + usize::from(p.named) + usize::from(p.host != Host::Unknown))
            .sum()
    }

    fn port_of(&self, role: Role) -> Option<usize> {
        let id = self.ports.iter().position(|p| p.role == Some(role))?;
        let ready = match role {
            Role::Stdin => self.rx.get(id).is_some_and(Option::is_some),
            Role::Stdout | Role::Stderr => self.tx.get(id).is_some_and(Option::is_some),
        };
        ready.then_some(id)
    }

    fn post_ctrl(&mut self, i: usize) {
        let buf = slot(&mut self.ctrl_rx_bufs, i, CTRL_BUF_BYTES);
        let Some(tok) = self.ctrl_rx_token.get_mut(i).filter(|_| !buf.is_empty()) else { return };
        // SAFETY: the buffer is owned by `self` and not touched until popped with the
        // token recorded here.
        match unsafe { self.ctrl_rx.add(&[], &mut [&mut buf[..]]) } {
            Ok(t) => *tok = Some(t),
            Err(_) => self.failed = true,
        }
    }

    /// Queues a control message; it goes out at the next [`Console::flush_ctrl`].
    fn send_ctrl(&mut self, id: u32, event: u16, value: u16) {
        let free = loop {
            if self.failed {
                return;
            }
            self.reap_ctrl();
            if let Some(i) = self.ctrl_tx_token.iter().position(Option::is_none) {
                break i;
            }
            // Every slot is in flight: the device is told about them and waited for.
            self.flush_ctrl();
            core::hint::spin_loop();
        };
        let at = free * CTRL_MSG_BYTES;
        let Some(msg) = self.ctrl_tx_bufs.get_mut(at..at + CTRL_MSG_BYTES) else { return };
        msg[..4].copy_from_slice(&id.to_le_bytes());
        msg[4..6].copy_from_slice(&event.to_le_bytes());
        msg[6..8].copy_from_slice(&value.to_le_bytes());
        // SAFETY: the slot is owned by `self` and not written again until the device
        // returns it (its token marks it busy).
        match unsafe { self.ctrl_tx.add(&[&*msg], &mut []) } {
            Ok(tok) => {
                self.ctrl_tx_token[free] = Some(tok);
                self.ctrl_tx_queued = true;
            }
            Err(_) => self.failed = true,
        }
    }

    /// Tells the device about the control messages queued since the last call.
    fn flush_ctrl(&mut self) {
        if core::mem::take(&mut self.ctrl_tx_queued) && self.ctrl_tx.should_notify() {
            self.t.notify(CTRL_TX_Q);
        }
    }

    /// Takes back the control messages the device has handled.
    fn reap_ctrl(&mut self) {
        while let Some(tok) = self.ctrl_tx.peek_used() {
            let Some(i) = self.ctrl_tx_token.iter().position(|t| *t == Some(tok)) else {
                // The device returned a buffer it was never given.
                self.failed = true;
                return;
            };
            let at = i * CTRL_MSG_BYTES;
            let Some(msg) = self.ctrl_tx_bufs.get(at..at + CTRL_MSG_BYTES) else { return };
            // SAFETY: the slot added with this token, untouched since.
            if unsafe { self.ctrl_tx.pop_used(tok, &[msg], &mut []) }.is_err() {
                self.failed = true;
                return;
            }
            self.ctrl_tx_token[i] = None;
        }
    }

    /// Handles the control messages the device sent.
    pub fn poll_control(&mut self) {
        let mut notify = false;
        while let Some(tok) = self.ctrl_rx.peek_used() {
            let Some(i) = self.ctrl_rx_token.iter().position(|t| *t == Some(tok)) else {
                // The device returned a buffer it was never given: stop using the queue.
                self.failed = true;
                return;
            };
            let mut msg = [0u8; CTRL_BUF_BYTES];
            let len = {
                let buf = slot(&mut self.ctrl_rx_bufs, i, CTRL_BUF_BYTES);
                // SAFETY: the buffer posted with this token, untouched since.
                match unsafe { self.ctrl_rx.pop_used(tok, &[], &mut [&mut buf[..]]) } {
                    Ok(n) => (n as usize).min(CTRL_BUF_BYTES),
                    Err(_) => {
                        self.failed = true;
                        return;
                    }
                }
            };
            self.ctrl_rx_token[i] = None;
            msg[..len].copy_from_slice(&slot(&mut self.ctrl_rx_bufs, i, CTRL_BUF_BYTES)[..len]);
            self.post_ctrl(i);
            notify = true;
            self.handle_ctrl(&msg[..len]);
        }
        if notify && self.ctrl_rx.should_notify() {
            self.t.notify(CTRL_RX_Q);
        }
        self.flush_ctrl();
        if let Some(id) = self.kick_stdin {
            // The kick must follow the device's handling of PORT_OPEN, which under
            // KVM happens in another thread: it waits for a poll that finds the
            // control queue drained (the device signals the messages it took).
            self.reap_ctrl();
            if self.failed || self.ctrl_tx_token.iter().all(Option::is_none) {
                self.kick_stdin = None;
                self.t.notify(rx_queue(id));
            }
        }
    }

    fn handle_ctrl(&mut self, msg: &[u8]) {
        let (Some(id), Some(event), Some(value)) = (
            msg.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes),
            msg.get(4..6).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes),
            msg.get(6..8).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes),
        ) else {
            return;
        };
        let idx = id as usize;
        let usable = idx > 0 && idx < self.nports;
        match event {
            DEVICE_ADD if usable => {
                if let Some(p) = self.ports.get_mut(idx) {
                    p.added = true;
                }
                self.send_ctrl(id, PORT_READY, 1);
            }
            DEVICE_ADD => self.send_ctrl(id, PORT_READY, 0),
            PORT_NAME if usable => {
                let name = msg.get(8..).unwrap_or(&[]);
                let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
                let role = PORT_NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
                if let Some(p) = self.ports.get_mut(idx) {
                    p.named = true;
                }
                if role.is_some_and(|r| !self.attached(idx) && !self.has_queue(idx, r)) {
                    self.misplaced_role = true;
                }
                if let Some(role) = role {
                    // One port per role: the first one named wins.
                    if self.ports.iter().all(|p| p.role != Some(role)) && self.attach(idx, role) {
                        if let Some(p) = self.ports.get_mut(idx) {
                            p.role = Some(role);
                        }
                        self.send_ctrl(id, PORT_OPEN, 1);
                        if role == Role::Stdin {
                            // QEMU ignores receive buffers offered before the port
                            // was open; a notification after it took the PORT_OPEN
                            // makes it look at the host side (its main loop polls
                            // the socket only when woken, which nothing else may do
                            // on an idle `virt` machine).
                            self.kick_stdin = Some(idx);
                        }
                    }
                }
            }
            PORT_OPEN if usable => {
                if let Some(p) = self.ports.get_mut(idx) {
                    p.host = if value != 0 { Host::Open } else { Host::Closed };
                    if p.role == Some(Role::Stdin) {
                        self.generation += 1;
                    }
                }
            }
            DEVICE_REMOVE if usable => {
                if let Some(p) = self.ports.get_mut(idx) {
                    p.host = Host::Closed;
                    if p.role == Some(Role::Stdin) {
                        self.generation += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether port `id` has its role's buffers.
    fn attached(&self, id: usize) -> bool {
        self.rx.get(id).is_some_and(Option::is_some) || self.tx.get(id).is_some_and(Option::is_some)
    }

    /// Whether port `id` still holds the queue that `role` uses.
    fn has_queue(&self, id: usize, role: Role) -> bool {
        self.queues.get(id).is_some_and(|(rx, tx)| match role {
            Role::Stdin => rx.is_some(),
            Role::Stdout | Role::Stderr => tx.is_some(),
        })
    }

    /// Gives port `id` its buffers for `role`; false when memory is short.
    fn attach(&mut self, id: usize, role: Role) -> bool {
        // A port is attached once, and only to a role whose queue it has.
        if self.attached(id) || !self.has_queue(id, role) {
            return false;
        }
        let Some(pair) = self.queues.get_mut(id) else { return false };
        let buf_bytes = buf_size(if role == Role::Stdin { RX_BUF_BYTES } else { TX_BUF_BYTES });
        let bytes = buf_bytes * if role == Role::Stdin { RX_BUFS } else { TX_BUFS };
        let Some(mem) = DmaBuf::new_unzeroed(bytes) else {
            self.failed = true;
            return false;
        };
        match role {
            Role::Stdin => {
                let Some(rxq) = pair.0.take() else { return false };
                // The buffers are posted at the first look at stdin (`Rx::start`).
                let rx = Rx::new(rxq, rx_queue(id), mem, buf_bytes);
                if let Some(slot) = self.rx.get_mut(id) {
                    *slot = Some(rx);
                }
            }
            Role::Stdout | Role::Stderr => {
                let Some(txq) = pair.1.take() else { return false };
                let tx = Tx { q: txq, qidx: tx_queue(id), mem, buf_bytes, inflight: [None; TX_BUFS] };
                if let Some(slot) = self.tx.get_mut(id) {
                    *slot = Some(tx);
                }
            }
        }
        true
    }

    /// Sends `data` on the port of `role` (waiting for a free buffer when all are
    /// in flight). Bytes for a port whose host side closed are dropped.
    pub fn write(&mut self, id: usize, data: &[u8]) {
        let size = self.tx.get(id).and_then(Option::as_ref).map_or(TX_BUF_BYTES, |t| t.buf_bytes);
        for chunk in data.chunks(size) {
            let free = loop {
                if self.failed || self.ports.get(id).is_some_and(|p| p.host == Host::Closed) {
                    return;
                }
                let Some(tx) = self.tx.get_mut(id).and_then(Option::as_mut) else { return };
                if !tx.reclaim() {
                    self.failed = true;
                    return;
                }
                if let Some(i) = tx.inflight.iter().position(Option::is_none) {
                    break i;
                }
                self.poll_control();
                core::hint::spin_loop();
            };
            let Some(tx) = self.tx.get_mut(id).and_then(Option::as_mut) else { return };
            let Some(buf) = slot(&mut tx.mem, free, tx.buf_bytes).get_mut(..chunk.len()) else { return };
            buf.copy_from_slice(chunk);
            // SAFETY: the buffer is owned by `self` and not written again until the
            // device returns it (`inflight` marks it busy).
            match unsafe { tx.q.add(&[buf], &mut []) } {
                Ok(tok) => tx.inflight[free] = Some((tok, chunk.len())),
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
            if tx.q.should_notify() {
                let q = tx.qidx;
                self.t.notify(q);
            }
        }
    }

    /// Whether the host side of port `id` closed (writes there are dropped).
    pub fn output_closed(&mut self, id: usize) -> bool {
        self.poll_control();
        self.failed || self.ports.get(id).is_some_and(|p| p.host == Host::Closed)
    }

    /// Waits until the device has taken every byte written on every port.
    pub fn flush(&mut self) {
        for id in 0..MAX_PORTS {
            loop {
                if self.failed || self.ports.get(id).is_some_and(|p| p.host == Host::Closed) {
                    break;
                }
                let Some(tx) = self.tx.get_mut(id).and_then(Option::as_mut) else { break };
                if !tx.reclaim() || tx.inflight.iter().all(Option::is_none) {
                    break;
                }
                self.poll_control();
                core::hint::spin_loop();
            }
        }
    }

    /// Handles control messages and collects filled stdin buffers (in this order:
    /// the host's close comes after its last data), counting arrivals.
    fn poll_input(&mut self, id: usize) {
        self.poll_control();
        let Some(rx) = self.rx.get_mut(id).and_then(Option::as_mut) else { return };
        rx.start(&mut self.t);
        self.harvest(id);
    }

    /// Collects filled stdin buffers, counting arrivals.
    fn harvest(&mut self, id: usize) {
        let Some(rx) = self.rx.get_mut(id).and_then(Option::as_mut) else { return };
        match rx.harvest(&mut self.t) {
            Some(true) => self.generation += 1,
            Some(false) => {}
            None => self.failed = true,
        }
    }

    /// Reads stdin bytes that arrived: Some(n > 0) bytes, Some(0) end of file, None
    /// nothing yet.
    pub fn read(&mut self, id: usize, out: &mut [u8]) -> Option<usize> {
        self.poll_input(id);
        let Some(rx) = self.rx.get_mut(id).and_then(Option::as_mut) else { return Some(0) };
        let n = rx.copy_out(out, &mut self.t);
        if n > 0 || out.is_empty() {
            return Some(n);
        }
        self.input_eof(id).then_some(0)
    }

    /// Asks the device to signal the next stdin arrival; false when input (or end
    /// of file) is already there, so that the caller must not wait for a signal.
    pub fn arm_input_interrupt(&mut self, id: usize) -> bool {
        let Some(rx) = self.rx.get_mut(id).and_then(Option::as_mut) else { return false };
        rx.start(&mut self.t);
        rx.q.set_dev_notify(true);
        // The device writes the used ring, then reads the flag; we write the flag,
        // then read the used ring: a full barrier between keeps both from missing.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        !self.input_ready(id)
    }

    /// Bytes of stdin waiting to be read.
    pub fn available(&mut self, id: usize) -> usize {
        self.poll_input(id);
        self.rx.get(id).and_then(Option::as_ref).map_or(0, Rx::available)
    }

    /// Whether stdin has data or reached end of file.
    pub fn input_ready(&mut self, id: usize) -> bool {
        self.available(id) > 0 || self.input_eof(id)
    }

    /// Whether stdin reached end of file and every byte before it was read.
    pub fn input_eof(&mut self, id: usize) -> bool {
        self.poll_input(id);
        if self.failed {
            return true;
        }
        // The data the host sent before closing the port was used before the close
        // was announced, so an empty ring after seeing the close is the end.
        let closed = self.ports.get(id).is_none_or(|p| p.host == Host::Closed);
        closed && self.rx.get(id).and_then(Option::as_ref).is_none_or(|rx| rx.done.len == 0 && !rx.q.can_pop())
    }

    /// A counter that changes whenever stdin data or end of file arrives. It does
    /// not give the device the stdin buffers: nobody waits for data before
    /// something looked at stdin.
    pub fn generation(&mut self, id: usize) -> u64 {
        self.poll_control();
        if self.rx.get(id).and_then(Option::as_ref).is_some_and(|rx| rx.started) {
            self.harvest(id);
        }
        self.generation
    }
}

/// A first-in first-out ring of buffer indices.
#[derive(Clone, Copy, Debug)]
struct Fifo {
    items: [usize; RX_BUFS],
    head: usize,
    len: usize,
}

impl Fifo {
    const EMPTY: Fifo = Fifo { items: [0; RX_BUFS], head: 0, len: 0 };

    fn front(&self) -> Option<usize> {
        (self.len > 0).then(|| self.items[self.head % RX_BUFS])
    }

    fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1) % RX_BUFS;
            self.len -= 1;
        }
    }

    fn push(&mut self, i: usize) {
        if self.len < RX_BUFS {
            self.items[(self.head + self.len) % RX_BUFS] = i;
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).map(|k| self.items[(self.head + k) % RX_BUFS])
    }
}

impl Drop for Console {
    /// A console not kept (no elfin ports) is reset before its queues and buffers
    /// are freed, so that the device writes into none of them later.
    fn drop(&mut self) {
        self.t.set_status(DeviceStatus::empty());
    }
}

impl Rx {
    fn new(q: Box<RxQueue>, qidx: u16, mem: DmaBuf, buf_bytes: usize) -> Rx {
        Rx {
            q,
            qidx,
            mem,
            buf_bytes,
            token: [None; RX_BUFS],
            posted: Fifo::EMPTY,
            done: Fifo::EMPTY,
            done_len: [0; RX_BUFS],
            offset: 0,
            started: false,
        }
    }

    /// Gives every buffer to the device, the first time.
    fn start(&mut self, t: &mut SomeTransport<'static>) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..RX_BUFS {
            self.post(i);
        }
        t.notify(self.qidx);
    }

    /// Gives buffer `i` to the device.
    fn post(&mut self, i: usize) -> bool {
        let buf = slot(&mut self.mem, i, self.buf_bytes);
        if buf.is_empty() {
            return false;
        }
        // SAFETY: the buffer is owned by the ring and not touched until popped with
        // the token recorded here.
        match unsafe { self.q.add(&[], &mut [buf]) } {
            Ok(tok) => {
                self.token[i] = Some(tok);
                self.posted.push(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Collects the buffers the device filled: Some(true) when data arrived, None
    /// when the device broke the queue's rules.
    fn harvest(&mut self, t: &mut SomeTransport<'static>) -> Option<bool> {
        let mut got = false;
        let mut reposted = false;
        while let Some(tok) = self.q.peek_used() {
            let i = self.posted.front()?;
            if self.token[i] != Some(tok) {
                return None;
            }
            let buf = slot(&mut self.mem, i, self.buf_bytes);
            // SAFETY: the buffer posted with this token, untouched since.
            let len = unsafe { self.q.pop_used(tok, &[], &mut [buf]) }.ok()?;
            self.posted.pop();
            self.token[i] = None;
            let len = (len as usize).min(self.buf_bytes);
            if len == 0 {
                reposted |= self.post(i);
            } else {
                self.done.push(i);
                self.done_len[i] = len;
                got = true;
            }
        }
        if got {
            self.q.set_dev_notify(false);
        }
        if reposted && self.q.should_notify() {
            t.notify(self.qidx);
        }
        Some(got)
    }

    /// Copies received bytes out, giving emptied buffers back to the device.
    fn copy_out(&mut self, out: &mut [u8], t: &mut SomeTransport<'static>) -> usize {
        let mut n = 0;
        let mut reposted = false;
        while n < out.len() {
            let Some(i) = self.done.front() else { break };
            let end = self.done_len[i];
            let k = (end - self.offset).min(out.len() - n);
            let from = slot(&mut self.mem, i, self.buf_bytes);
            out[n..n + k].copy_from_slice(&from[self.offset..self.offset + k]);
            n += k;
            self.offset += k;
            if self.offset == end {
                self.done.pop();
                self.offset = 0;
                reposted |= self.post(i);
            }
        }
        if reposted && self.q.should_notify() {
            t.notify(self.qidx);
        }
        n
    }

    fn available(&self) -> usize {
        self.done.iter().map(|i| self.done_len[i]).sum::<usize>() - self.offset
    }
}

impl Tx {
    /// Takes back the buffers the device has sent; false when it broke the rules.
    fn reclaim(&mut self) -> bool {
        while let Some(tok) = self.q.peek_used() {
            let Some(i) = self.inflight.iter().position(|s| matches!(s, Some((t, _)) if *t == tok)) else {
                return false;
            };
            let len = self.inflight[i].map_or(0, |s| s.1);
            let buf = slot(&mut self.mem, i, self.buf_bytes);
            let buf = buf.get(..len).unwrap_or(&[]);
            // SAFETY: the buffer sent with this token and length, untouched since.
            if unsafe { self.q.pop_used(tok, &[buf], &mut []) }.is_err() {
                return false;
            }
            self.inflight[i] = None;
        }
        true
    }
}
