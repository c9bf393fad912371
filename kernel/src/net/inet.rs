//! AF_INET and AF_INET6 sockets over smoltcp: TCP (SOCK_STREAM), UDP
//! (SOCK_DGRAM) and raw IPv4 sockets (SOCK_RAW, e.g. IPPROTO_ICMP for ping) with
//! Linux's semantics on top of smoltcp's sockets.
//!
//! All state lives in one [`Net`] behind one lock: the interfaces ("stacks":
//! the loopback interface with 127.0.0.1 and ::1, and network devices when there
//! are some), smoltcp's socket sets, and a record per socket (its binding, its
//! smoltcp sockets, errors and shutdown state). Every operation that may have
//! changed something polls the interfaces before the lock is released; the
//! readiness of every socket is then compared with what it was and the sockets
//! that gained something are woken (so edge-triggered epoll sees one edge per
//! arrival). smoltcp's timers (retransmission, delayed ACKs, TIME-WAIT) are
//! served by [`poll_due`], which the scheduler calls when the deadline smoltcp
//! asked for has passed.
//!
//! A listening socket keeps a small pool of smoltcp sockets in the LISTEN state
//! on its port (smoltcp's listening socket becomes the connection); connections
//! move to an accept queue bounded by the backlog, and the pool is refilled
//! between incoming packets.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::socket as so;
use elfin_shim::uapi::sockopt::*;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Loopback, Medium, RxToken, TxToken};
use smoltcp::socket::{dhcpv4, raw, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, IpProtocol, IpVersion, Ipv4Cidr,
};

use super::*;
use crate::task::{Ctx, WaitQueue};

/// smoltcp buffers of a TCP connection. The receive buffer stays within the
/// 16-bit window so that smoltcp negotiates no window scaling: with a scale
/// (a 64 KiB buffer gives 1) a sender over loopback that filled its peer's
/// window sat out smoltcp's 1 s minimum retransmission timeout again and again
/// (1 MiB through a Go io.Copy with 64 KiB writes took 5 s instead of 12 ms).
const TCP_RX: usize = 65535;
const TCP_TX: usize = 64 * 1024;
/// Listening smoltcp sockets kept ready per listener and stack (a SYN that takes
/// one is followed by a refill before the next frame is read).
const LISTEN_POOL: usize = 1;
/// UDP buffers: payload bytes and datagrams.
const UDP_BYTES: usize = 256 * 1024;
const UDP_PACKETS: usize = 256;
/// Raw socket buffers: bytes and packets, each way.
const RAW_BYTES: usize = 64 * 1024;
const RAW_PACKETS: usize = 64;
/// IPPROTO_ICMP.
const IPPROTO_ICMP: i32 = 1;
/// Largest UDP payload over IPv4 / IPv6 (no fragmentation).
const UDP_MAX_V4: usize = 65507;
const UDP_MAX_V6: usize = 65527;
/// Linux's defaults for TCP (tcp_wmem[1], tcp_rmem[1]).
const TCP_SNDBUF: u32 = 16384;
const TCP_RCVBUF: u32 = 131072;
/// TCP keep-alive defaults (seconds, count).
const KEEPIDLE: u32 = 7200;
const KEEPINTVL: u32 = 75;
const KEEPCNT: u32 = 9;
/// How long an orphaned connection may wait for its peer (tcp_fin_timeout).
const ORPHAN_TIMEOUT_S: u64 = 60;
/// How long the machine, powering off, waits for a closing connection whose
/// peer acknowledges nothing more (its data or FIN still unacknowledged).
const LINGER_IDLE_NS: u64 = 2_000_000_000;

/// When smoltcp wants to be polled next (monotonic ns; u64::MAX: never).
static NEXT_POLL: AtomicU64 = AtomicU64::new(u64::MAX);
static NET: Mutex<Option<Net>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type H = (usize, SocketHandle);

fn now() -> Instant {
    Instant::from_micros((crate::time::monotonic_ns() / 1000) as i64)
}

/// A network device a stack sends through.
enum Dev {
    Loopback(Counted<Loopback>),
    Virtio(VirtioNet),
}

/// Traffic counters of an interface (/proc/net/dev).
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes received.
    pub rx_bytes: AtomicU64,
    /// Frames received.
    pub rx_packets: AtomicU64,
    /// Bytes sent.
    pub tx_bytes: AtomicU64,
    /// Frames sent.
    pub tx_packets: AtomicU64,
    /// Frames the device did not take.
    pub tx_dropped: AtomicU64,
}

impl Stats {
    const fn new() -> Stats {
        Stats {
            rx_bytes: AtomicU64::new(0),
            rx_packets: AtomicU64::new(0),
            tx_bytes: AtomicU64::new(0),
            tx_packets: AtomicU64::new(0),
            tx_dropped: AtomicU64::new(0),
        }
    }
    fn count(bytes: &AtomicU64, packets: &AtomicU64, len: usize) {
        bytes.fetch_add(len as u64, Ordering::Relaxed);
        packets.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters of lo.
static LO_STATS: Stats = Stats::new();
/// Counters of eth0.
static ETH_STATS: Stats = Stats::new();

/// A device whose frames are counted in `stats`.
struct Counted<D> {
    dev: D,
    stats: &'static Stats,
}

/// A counted device's token.
struct CountedToken<T> {
    token: T,
    stats: &'static Stats,
}

impl<T: RxToken> RxToken for CountedToken<T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let stats = self.stats;
        self.token.consume(|b| {
            Stats::count(&stats.rx_bytes, &stats.rx_packets, b.len());
            // Counted devices are IP devices (loopback).
            note_arrival(b, false);
            f(b)
        })
    }
}

/// Set when a frame came in that may move a listening socket (see [`may_open`]);
/// taken after each incoming frame by [`Net::poll`].
static MAY_OPEN: AtomicBool = AtomicBool::new(false);

/// Records whether `frame` (an Ethernet frame, or an IP packet) may move a
/// listening socket.
fn note_arrival(frame: &[u8], ethernet: bool) {
    if may_open(frame, ethernet) {
        MAY_OPEN.store(true, Ordering::Relaxed);
    }
}

/// Whether an incoming frame may change what a listening socket holds: a TCP
/// segment with SYN set (a LISTEN socket ignores every other segment), or
/// anything not recognised as something else (fragments, IPv6 extension headers,
/// malformed headers). ARP, UDP, ICMP and TCP segments without SYN may not.
fn may_open(frame: &[u8], ethernet: bool) -> bool {
    let ip = if ethernet {
        match frame.get(12..14) {
            Some([0x08, 0x00]) | Some([0x86, 0xdd]) => frame.get(14..),
            Some([0x08, 0x06]) => return false,
            _ => return true,
        }
    } else {
        Some(frame)
    };
    let Some(ip) = ip else { return true };
    let tcp = match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let ihl = usize::from(ip.first().map_or(0, |b| b & 0xf)) * 4;
            let frag = ip.get(6..8).map(|f| u16::from_be_bytes([f[0], f[1]]) & 0x3fff);
            match (ip.get(9), frag) {
                (Some(&6), Some(0)) if ihl >= 20 => ip.get(ihl..),
                (Some(&6), _) => return true,
                (Some(_), Some(0)) => return false,
                _ => return true,
            }
        }
        Some(6) => match ip.get(6) {
            Some(&6) => ip.get(40..),
            // Hop-by-hop, routing, fragment and destination options may lead to TCP.
            Some(0 | 43 | 44 | 60) | None => return true,
            Some(_) => return false,
        },
        _ => return true,
    };
    tcp.and_then(|t| t.get(13)).is_none_or(|&flags| flags & 0x02 != 0)
}

impl<T: TxToken> TxToken for CountedToken<T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        Stats::count(&self.stats.tx_bytes, &self.stats.tx_packets, len);
        self.token.consume(len, f)
    }
}

impl<D: Device> Device for Counted<D> {
    type RxToken<'a>
        = CountedToken<D::RxToken<'a>>
    where
        D: 'a;
    type TxToken<'a>
        = CountedToken<D::TxToken<'a>>
    where
        D: 'a;

    fn receive(&mut self, t: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let stats = self.stats;
        self.dev.receive(t).map(|(rx, tx)| (CountedToken { token: rx, stats }, CountedToken { token: tx, stats }))
    }

    fn transmit(&mut self, t: Instant) -> Option<Self::TxToken<'_>> {
        let stats = self.stats;
        self.dev.transmit(t).map(|tx| CountedToken { token: tx, stats })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.dev.capabilities()
    }
}

/// The machine's network device (elfin_plat::net), as smoltcp sees it.
struct VirtioNet;

/// A received frame.
struct FrameRx(Vec<u8>);
/// Room to send one frame.
struct FrameTx;

impl RxToken for FrameRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        note_arrival(&self.0, true);
        f(&self.0)
    }
}

impl TxToken for FrameTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let (r, sent) = elfin_plat::net::transmit_with(len, f);
        if sent {
            Stats::count(&ETH_STATS.tx_bytes, &ETH_STATS.tx_packets, len);
        } else {
            ETH_STATS.tx_dropped.fetch_add(1, Ordering::Relaxed);
            log::debug!("net: a frame of {} bytes was not sent", len);
        }
        r
    }
}

impl Device for VirtioNet {
    type RxToken<'a> = FrameRx;
    type TxToken<'a> = FrameTx;

    fn receive(&mut self, _t: Instant) -> Option<(FrameRx, FrameTx)> {
        let frame = elfin_plat::net::receive(|f| f.to_vec())?;
        Stats::count(&ETH_STATS.rx_bytes, &ETH_STATS.rx_packets, frame.len());
        Some((FrameRx(frame), FrameTx))
    }

    fn transmit(&mut self, _t: Instant) -> Option<FrameTx> {
        Some(FrameTx)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

/// How the Ethernet interface gets its address (kernel command line `ip=`).
#[derive(Clone, Copy, Debug)]
pub enum IpConfig {
    /// DHCP (the default).
    Dhcp,
    /// A fixed address, prefix length and default gateway.
    Static(Ipv4Addr, u8, Option<Ipv4Addr>),
}

static IP_CONFIG: spin::Once<IpConfig> = spin::Once::new();

/// Parses `ip=dhcp` or `ip=ADDR/PREFIX[,GATEWAY]` from the kernel command line.
fn configure(value: Option<&[u8]>) {
    let cfg = value.and_then(|v| core::str::from_utf8(v).ok()).and_then(|s| {
        if s == "dhcp" {
            return Some(IpConfig::Dhcp);
        }
        let (cidr, gw) = match s.split_once(',') {
            Some((c, g)) => (c, Some(g.parse::<Ipv4Addr>().ok()?)),
            None => (s, None),
        };
        let (a, p) = cidr.split_once('/').unwrap_or((cidr, "24"));
        let prefix: u8 = p.parse().ok().filter(|&p| p <= 32)?;
        Some(IpConfig::Static(a.parse().ok()?, prefix, gw))
    });
    IP_CONFIG.call_once(|| cfg.unwrap_or(IpConfig::Dhcp));
}

/// One interface with its device and smoltcp sockets.
struct Stack {
    iface: Interface,
    dev: Dev,
    set: SocketSet<'static>,
    /// The DHCP client, when the address comes from DHCP.
    dhcp: Option<SocketHandle>,
}

impl Stack {
    fn loopback() -> Stack {
        let mut dev = Counted { dev: Loopback::new(Medium::Ip), stats: &LO_STATS };
        let mut cfg = Config::new(HardwareAddress::Ip);
        cfg.random_seed = crate::rng::u64();
        let mut iface = Interface::new(cfg, &mut dev, now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::LOCALHOST), 8));
            let _ = a.push(IpCidr::new(IpAddress::Ipv6(Ipv6Addr::LOCALHOST), 128));
        });
        Stack { iface, dev: Dev::Loopback(dev), set: SocketSet::new(vec![]), dhcp: None }
    }

    /// The Ethernet interface of the machine's network device, if it has one.
    fn ethernet() -> Option<Stack> {
        let mac = elfin_plat::net::mac()?;
        let mut dev = VirtioNet;
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        cfg.random_seed = crate::rng::u64();
        let mut iface = Interface::new(cfg, &mut dev, now());
        let mut set = SocketSet::new(vec![]);
        let mut dhcp = None;
        match IP_CONFIG.get().copied().unwrap_or(IpConfig::Dhcp) {
            IpConfig::Static(a, p, gw) => {
                iface.update_ip_addrs(|v| {
                    let _ = v.push(IpCidr::new(IpAddress::Ipv4(a), p));
                });
                if let Some(g) = gw {
                    let _ = iface.routes_mut().add_default_ipv4_route(g);
                }
            }
            IpConfig::Dhcp => dhcp = Some(set.add(dhcpv4::Socket::new())),
        }
        Some(Stack { iface, dev: Dev::Virtio(dev), set, dhcp })
    }

    fn ingress_one(&mut self, t: Instant) -> bool {
        match &mut self.dev {
            Dev::Loopback(d) => self.iface.poll_ingress_single(t, d, &mut self.set) != PollIngressSingleResult::None,
            Dev::Virtio(d) => self.iface.poll_ingress_single(t, d, &mut self.set) != PollIngressSingleResult::None,
        }
    }

    fn egress(&mut self, t: Instant) -> bool {
        match &mut self.dev {
            Dev::Loopback(d) => self.iface.poll_egress(t, d, &mut self.set) != PollResult::None,
            Dev::Virtio(d) => self.iface.poll_egress(t, d, &mut self.set) != PollResult::None,
        }
    }

    /// Applies what the DHCP client learnt; returns the new address, if any
    /// (Some(None) when the address was lost).
    fn dhcp_update(&mut self) -> Option<Option<Ipv4Cidr>> {
        let h = self.dhcp?;
        let ev = self.set.get_mut::<dhcpv4::Socket>(h).poll()?;
        match ev {
            dhcpv4::Event::Configured(c) => {
                let addr = c.address;
                let router = c.router;
                self.iface.update_ip_addrs(|v| {
                    v.clear();
                    let _ = v.push(IpCidr::Ipv4(addr));
                });
                match router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                log::info!("net: DHCP address {}", addr);
                Some(Some(addr))
            }
            dhcpv4::Event::Deconfigured => {
                self.iface.update_ip_addrs(|v| v.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                Some(None)
            }
        }
    }

    fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.set.get_mut::<tcp::Socket>(h)
    }

    fn udp(&mut self, h: SocketHandle) -> &mut udp::Socket<'static> {
        self.set.get_mut::<udp::Socket>(h)
    }

    fn raw(&mut self, h: SocketHandle) -> &mut raw::Socket<'static> {
        self.set.get_mut::<raw::Socket>(h)
    }

    fn has_addr(&self, a: IpAddress) -> bool {
        self.iface.has_ip_addr(a)
    }
}

/// Which families a binding to an unspecified address covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    V4,
    V6,
    Both,
}

impl Scope {
    /// Whether a socket of this scope serves peer address `a`.
    fn admits(self, a: IpAddress) -> bool {
        matches!((self, a), (Scope::Both, _) | (Scope::V4, IpAddress::Ipv4(_)) | (Scope::V6, IpAddress::Ipv6(_)))
    }
}

#[derive(Clone, Copy, Debug)]
struct Bind {
    /// None: any address.
    addr: Option<IpAddress>,
    port: u16,
    scope: Scope,
}

impl Bind {
    fn overlaps(&self, o: &Bind) -> bool {
        let fam = |b: &Bind| match b.addr {
            Some(IpAddress::Ipv4(_)) => Scope::V4,
            Some(IpAddress::Ipv6(_)) => Scope::V6,
            None => b.scope,
        };
        let (a, b) = (fam(self), fam(o));
        let fam_ok = a == b || a == Scope::Both || b == Scope::Both;
        fam_ok && (self.addr.is_none() || o.addr.is_none() || self.addr == o.addr)
    }
}

enum Kind {
    /// A TCP socket neither listening nor connected.
    TcpIdle,
    /// Listening: per stack a pool of smoltcp listeners; half-open and
    /// established connections not accepted yet.
    TcpListen { backlog: usize, pool: Vec<H>, half: Vec<H>, queue: VecDeque<H> },
    /// A connection (or an attempt).
    TcpConn { h: H, connecting: bool, seen_open: bool, prev: tcp::State },
    /// UDP (the smoltcp socket once bound); `inbox` holds datagrams a socket of
    /// the other family on the same port took for this one (see `Net::sort_udp`).
    Udp { hs: Vec<H>, remote: Option<IpEndpoint>, inbox: VecDeque<(Vec<u8>, udp::UdpMetadata, usize)> },
    /// Raw ICMP over IPv4: a smoltcp raw socket per interface (each gets every
    /// ICMP packet with its IP header); the address bound and connected to, and
    /// ICMP_FILTER's mask.
    Raw { hs: Vec<H>, local: Option<IpAddress>, remote: Option<IpEndpoint>, filter: u32 },
}

/// Folds one smoltcp datagram socket into readiness `acc` (events, bytes to
/// read, bytes queued to send): POLLIN when it holds a datagram, POLLOUT only
/// while it has room.
fn fold_datagram(acc: &mut (u32, usize, usize), can_recv: bool, can_send: bool, rq: usize, sq: usize) {
    if can_recv {
        acc.0 |= POLLIN | POLLRDNORM;
    }
    if !can_send {
        acc.0 &= !(POLLOUT | POLLWRNORM);
    }
    acc.1 += rq;
    acc.2 += sq;
}

/// A datagram socket's readiness after its shutdowns (Linux's datagram_poll).
fn datagram_readiness(
    (mut m, rq, sq): (u32, usize, usize),
    rd_shut: bool,
    wr_shut: bool,
) -> (u32, usize, usize, usize) {
    if rd_shut {
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    }
    if rd_shut && wr_shut {
        m |= POLLHUP;
    }
    (m, rq, sq, 0)
}

/// Whether a raw socket bound to `local` and connected to `remote` with ICMP
/// filter `filter` takes the IPv4 packet `p` (Linux's raw_v4_match and
/// icmp_filter).
fn raw_admits(p: &[u8], local: Option<IpAddress>, remote: Option<IpEndpoint>, filter: u32) -> bool {
    let addr = |at: usize| p.get(at..at + 4).map(|b| IpAddress::Ipv4(Ipv4Addr::new(b[0], b[1], b[2], b[3])));
    if remote.is_some_and(|r| !r.addr.is_unspecified() && addr(12) != Some(r.addr)) {
        return false;
    }
    if local.is_some_and(|l| !l.is_unspecified() && addr(16) != Some(l)) {
        return false;
    }
    let ihl = usize::from(p.first().map_or(0, |b| b & 0xf)) * 4;
    match p.get(ihl) {
        Some(&ty) if ty < 32 => filter & (1 << ty) == 0,
        _ => true,
    }
}

struct Rec {
    owner: Weak<InetSocket>,
    tcp: bool,
    bound: Option<Bind>,
    /// The local address a connected UDP socket reports.
    conn_local: Option<IpAddress>,
    kind: Kind,
    err: i32,
    rd_shut: bool,
    wr_shut: bool,
    reuseaddr: bool,
    reuseport: bool,
    /// Readiness last seen: (events, bytes to read, bytes queued to send, accept queue).
    last: (u32, usize, usize, usize),
}

impl Rec {
    /// The record of a new socket `owner` of `kind`: unbound, unconnected, no error.
    fn new(owner: &Arc<InetSocket>, tcp: bool, kind: Kind) -> Rec {
        Rec {
            owner: Arc::downgrade(owner),
            tcp,
            bound: None,
            conn_local: None,
            kind,
            err: 0,
            rd_shut: false,
            wr_shut: false,
            reuseaddr: false,
            reuseport: false,
            last: (0, 0, 0, 0),
        }
    }

    /// The pending error (SO_ERROR), cleared; `other` when it is no errno.
    fn take_err(&mut self, other: Errno) -> Option<Errno> {
        let e = core::mem::take(&mut self.err);
        (e != 0).then(|| Errno::from_i32(e).unwrap_or(other))
    }
}

/// The network: stacks and socket records.
struct Net {
    stacks: Vec<Stack>,
    recs: BTreeMap<u64, Rec>,
    /// Connections whose descriptors are gone, still closing.
    orphans: Vec<(H, u64)>,
    dirty: bool,
    next_port: u16,
    /// The port table: the records bound to each (TCP?, port), so that a bind
    /// or an ephemeral port costs what shares the port, not every socket.
    ports: BTreeMap<(bool, u16), Vec<u64>>,
    /// The ids of the listening sockets, gathered at the start of each poll (a
    /// buffer kept between polls).
    listeners: Vec<u64>,
    /// Some listener had half-open connections at its last service.
    half_open: bool,
}

impl Net {
    fn new() -> Net {
        let (lo, hi) = crate::fs::sysctl::port_range();
        let span = u64::from(hi - lo) + 1;
        let mut stacks = vec![Stack::loopback()];
        if let Some(eth) = Stack::ethernet() {
            stacks.push(eth);
            crate::timer::deadline_added();
        }
        let mut n = Net {
            stacks,
            recs: BTreeMap::new(),
            orphans: Vec::new(),
            dirty: false,
            next_port: lo + (crate::rng::u64() % span) as u16,
            ports: BTreeMap::new(),
            listeners: Vec::new(),
            half_open: false,
        };
        n.mirror_addresses();
        n
    }

    /// The loopback interface also answers for the Ethernet interface's
    /// addresses, so that the machine reaches itself by them (Linux routes them
    /// through lo).
    fn mirror_addresses(&mut self) {
        let extra: Vec<IpCidr> = self
            .stacks
            .iter()
            .skip(1)
            .flat_map(|s| s.iface.ip_addrs().iter().copied())
            .map(|c| IpCidr::new(c.address(), if matches!(c.address(), IpAddress::Ipv4(_)) { 32 } else { 128 }))
            .collect();
        if let Some(lo) = self.stacks.first_mut() {
            lo.iface.update_ip_addrs(|v| {
                v.clear();
                let _ = v.push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::LOCALHOST), 8));
                let _ = v.push(IpCidr::new(IpAddress::Ipv6(Ipv6Addr::LOCALHOST), 128));
                for c in extra {
                    let _ = v.push(c);
                }
            });
        }
    }

    fn rec(&mut self, id: u64) -> Result<&mut Rec, Errno> {
        self.recs.get_mut(&id).ok_or(Errno::EBADF)
    }

    fn is_local(&self, a: IpAddress) -> bool {
        a.is_unspecified() || self.stacks.iter().any(|s| s.has_addr(a))
    }

    /// The stack that reaches `a`.
    fn route(&self, a: IpAddress) -> Result<usize, Errno> {
        if self.stacks.first().map(|s| s.has_addr(a)).unwrap_or(false) {
            return Ok(0);
        }
        for (i, s) in self.stacks.iter().enumerate().skip(1) {
            if s.has_addr(a) || s.iface.get_source_address(&a).is_some() {
                return Ok(i);
            }
        }
        Err(Errno::ENETUNREACH)
    }

    /// Sets (or clears) the address record `id` is bound to, keeping the port
    /// table in step.
    fn set_bound(&mut self, id: u64, b: Option<Bind>) {
        let Some(r) = self.recs.get_mut(&id) else { return };
        let tcp = r.tcp;
        let old = core::mem::replace(&mut r.bound, b);
        if let Some(o) = old {
            self.unindex(tcp, o.port, id);
        }
        if let Some(nb) = b {
            self.ports.entry((tcp, nb.port)).or_default().push(id);
        }
    }

    fn unindex(&mut self, tcp: bool, port: u16, id: u64) {
        if let Some(v) = self.ports.get_mut(&(tcp, port)) {
            v.retain(|&x| x != id);
            if v.is_empty() {
                self.ports.remove(&(tcp, port));
            }
        }
    }

    /// The records bound to `port` (other than `me`), with their bindings.
    fn on_port(&self, tcp: bool, port: u16, me: u64) -> impl Iterator<Item = (&Rec, Bind)> + '_ {
        let ids = self.ports.get(&(tcp, port)).map(|v| v.as_slice()).unwrap_or(&[]);
        ids.iter()
            .filter(move |&&id| id != me)
            .filter_map(|id| self.recs.get(id))
            .filter_map(|r| r.bound.map(|b| (r, b)))
    }

    fn port_free(&self, tcp: bool, me: u64, b: &Bind, reuseaddr: bool, reuseport: bool) -> bool {
        self.on_port(tcp, b.port, me).all(|(r, ob)| {
            if !ob.overlaps(b) {
                return true;
            }
            if reuseport && r.reuseport {
                return true;
            }
            let listening = matches!(r.kind, Kind::TcpListen { .. });
            reuseaddr && r.reuseaddr && (!tcp || !listening)
        })
    }

    /// A free port of the ephemeral range for a binding to `addr`: the ports
    /// are handed out in turn from a random start, so that finding one costs a
    /// table look-up per port in use after the last one given (amortized O(1)
    /// while the range fills). EADDRINUSE when every port is taken, as Linux's
    /// bind to port 0 (connect turns it into EADDRNOTAVAIL).
    fn ephemeral(&mut self, tcp: bool, me: u64, addr: Option<IpAddress>, scope: Scope) -> Result<u16, Errno> {
        let (lo, hi) = crate::fs::sysctl::port_range();
        if !(lo..=hi).contains(&self.next_port) {
            // The range changed (ip_local_port_range).
            self.next_port = lo;
        }
        for _ in 0..u32::from(hi - lo) + 1 {
            let p = self.next_port;
            self.next_port = if p >= hi { lo } else { p + 1 };
            let b = Bind { addr, port: p, scope };
            if !self.on_port(tcp, p, me).any(|(_, ob)| ob.overlaps(&b)) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    fn new_tcp(&mut self, stack: usize, owner: Option<&InetSocket>) -> Result<H, Errno> {
        let mut rx = Vec::new();
        let mut tx = Vec::new();
        rx.try_reserve_exact(TCP_RX).map_err(|_| Errno::ENOBUFS)?;
        tx.try_reserve_exact(TCP_TX).map_err(|_| Errno::ENOBUFS)?;
        rx.resize(TCP_RX, 0);
        tx.resize(TCP_TX, 0);
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        s.set_ack_delay(None);
        if let Some(o) = owner {
            o.apply_tcp(&mut s);
        }
        let st = self.stacks.get_mut(stack).ok_or(Errno::ENETUNREACH)?;
        Ok((stack, st.set.add(s)))
    }

    fn stack(&mut self, i: usize) -> &mut Stack {
        match self.stacks.get_mut(i) {
            Some(s) => s,
            None => panic!("no stack {}", i),
        }
    }

    fn drop_handle(&mut self, h: H) {
        if let Some(st) = self.stacks.get_mut(h.0) {
            st.set.remove(h.1);
        }
    }

    /// Gathers the ids of the listening sockets into `self.listeners` (they do not
    /// change while the interfaces are polled).
    fn gather_listeners(&mut self) {
        let mut ids = core::mem::take(&mut self.listeners);
        ids.clear();
        ids.extend(self.recs.iter().filter(|(_, r)| matches!(r.kind, Kind::TcpListen { .. })).map(|(&i, _)| i));
        self.listeners = ids;
    }

    /// How many LISTEN sockets the pool of a listener bound to `bound` keeps on
    /// stack `si` with `room` places left in its backlog (none on a stack that lacks
    /// its address).
    fn pool_target(&self, si: usize, bound: Option<IpListenEndpoint>, room: usize) -> usize {
        let Some(b) = bound else { return 0 };
        if let Some(a) = b.addr {
            if !self.stacks.get(si).map(|s| s.has_addr(a)).unwrap_or(false) {
                return 0;
            }
        }
        LISTEN_POOL.min(room)
    }

    /// Whether listener `id` has nothing to move: every pooled socket still listens,
    /// none is half open, and each stack's pool is full.
    fn listener_settled(&mut self, id: u64) -> bool {
        let Some(rec) = self.recs.get(&id) else { return true };
        let Kind::TcpListen { backlog, pool, half, queue } = &rec.kind else { return true };
        if !half.is_empty() {
            return false;
        }
        let room = (backlog + 1).saturating_sub(queue.len());
        let bound = rec.bound.map(|b| IpListenEndpoint { addr: b.addr, port: b.port });
        for si in 0..self.stacks.len() {
            if pool.iter().filter(|h| h.0 == si).count() != self.pool_target(si, bound, room) {
                return false;
            }
        }
        let Some(Kind::TcpListen { pool, .. }) = self.recs.get(&id).map(|r| &r.kind) else { return true };
        let stacks = &mut self.stacks;
        pool.iter().all(|h| stacks.get_mut(h.0).is_some_and(|s| s.tcp(h.1).state() == tcp::State::Listen))
    }

    /// Moves the listeners gathered by [`Net::gather_listeners`] that got a
    /// connection along and keeps every pool full. It runs after every incoming
    /// packet, so a listener with nothing to do costs a look at its pool and no
    /// allocation.
    fn service_listeners(&mut self) {
        let mut half_open = false;
        for i in 0..self.listeners.len() {
            let Some(&id) = self.listeners.get(i) else { break };
            if !self.listener_settled(id) {
                half_open |= self.service_listener(id);
            }
        }
        self.half_open = half_open;
    }

    /// [`Net::service_listeners`] for listener `id`; returns whether it has
    /// half-open connections.
    fn service_listener(&mut self, id: u64) -> bool {
        let Some(rec) = self.recs.get_mut(&id) else { return false };
        let owner = rec.owner.upgrade();
        let bound = rec.bound;
        let Kind::TcpListen { backlog, pool, half, queue } = &mut rec.kind else { return false };
        let scope = bound.map_or(Scope::Both, |b| b.scope);
        let (mut p2, mut h2, mut gone, mut strays) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &h in pool.iter().chain(half.iter()) {
            let Some(stack) = self.stacks.get_mut(h.0) else {
                gone.push(h);
                continue;
            };
            let s = stack.tcp(h.1);
            let st = s.state();
            match st {
                tcp::State::Listen => p2.push(h),
                tcp::State::Closed | tcp::State::TimeWait => gone.push(h),
                // A LISTEN socket bound to no address takes a SYN of either family:
                // one this listener does not serve (IPv4 on an IPV6_V6ONLY socket,
                // IPv6 on an IPv4 one) goes to the listener that does.
                _ if s.remote_endpoint().is_some_and(|r| !scope.admits(r.addr)) => {
                    strays.push((h, st == tcp::State::SynReceived))
                }
                tcp::State::SynReceived => h2.push(h),
                _ => queue.push_back(h),
            }
        }
        *pool = p2;
        *half = h2;
        let half_open = !half.is_empty() || strays.iter().any(|&(_, syn)| syn);
        let room = (*backlog + 1).saturating_sub(half.len() + queue.len());
        let have: Vec<usize> = (0..self.stacks.len()).map(|si| pool.iter().filter(|h| h.0 == si).count()).collect();
        for h in gone {
            if let Some(st) = self.stacks.get_mut(h.0) {
                st.set.remove(h.1);
            }
        }
        for (h, syn) in strays {
            self.rehome(id, h, syn);
        }
        let Some(b) = bound else { return half_open };
        let ep = IpListenEndpoint { addr: b.addr, port: b.port };
        let mut added = Vec::new();
        'stacks: for (si, have) in have.into_iter().enumerate() {
            for _ in have..self.pool_target(si, Some(ep), room) {
                let Ok(h) = self.new_tcp(si, owner.as_deref()) else { break 'stacks };
                if self.stack(si).tcp(h.1).listen(ep).is_err() {
                    self.drop_handle(h);
                    continue;
                }
                added.push(h);
            }
        }
        if let Some(Kind::TcpListen { pool, .. }) = self.recs.get_mut(&id).map(|r| &mut r.kind) {
            pool.extend(added);
        }
        half_open
    }

    /// Hands connection `h`, taken by listener `from` for a peer of the family it
    /// does not serve, to the listener on the same port that serves it (as half
    /// open when `syn`); with none, the connection is reset, as Linux resets a SYN
    /// that no socket listens for.
    fn rehome(&mut self, from: u64, h: H, syn: bool) {
        let ends = {
            let Some(stack) = self.stacks.get_mut(h.0) else { return };
            let s = stack.tcp(h.1);
            s.local_endpoint().zip(s.remote_endpoint()).map(|(l, r)| (l.port, r.addr))
        };
        let to = ends.and_then(|(port, peer)| {
            self.listeners.iter().copied().find(|&id| {
                id != from
                    && self.recs.get(&id).is_some_and(|r| {
                        matches!(r.kind, Kind::TcpListen { .. })
                            && r.bound.is_some_and(|b| b.port == port && b.addr.is_none() && b.scope.admits(peer))
                    })
            })
        });
        if let Some(Kind::TcpListen { half, queue, .. }) = to.and_then(|id| self.recs.get_mut(&id)).map(|r| &mut r.kind)
        {
            if syn {
                half.push(h);
            } else {
                queue.push_back(h);
            }
        } else {
            self.stack(h.0).tcp(h.1).abort();
            // Kept until the reset has gone out, then reaped.
            self.orphans.push((h, crate::time::monotonic_ns()));
        }
        self.dirty = true;
    }

    /// Polls every stack until nothing moves; then orphans, errors and wake-ups.
    fn poll(&mut self) -> Vec<Arc<InetSocket>> {
        let t = now();
        self.gather_listeners();
        for _ in 0..4 {
            self.dirty = false;
            self.service_listeners();
            for i in 0..self.stacks.len() {
                for _ in 0..10_000 {
                    let mut moved = false;
                    while self.stack(i).ingress_one(t) {
                        moved = true;
                        // A SYN may have taken a pooled socket, and a half-open
                        // connection may have completed: refill and move them
                        // before the next frame.
                        if MAY_OPEN.swap(false, Ordering::Relaxed) || self.half_open {
                            self.service_listeners();
                        }
                    }
                    if self.stack(i).egress(t) {
                        moved = true;
                    }
                    if !moved {
                        break;
                    }
                }
            }
            // Timers move half-open connections only.
            if self.half_open {
                self.service_listeners();
            }
            self.sort_udp();
            self.reap_orphans();
            let mut changed = false;
            for s in self.stacks.iter_mut() {
                changed |= s.dhcp_update().is_some();
            }
            if changed {
                self.mirror_addresses();
                self.dirty = true;
            }
            if !self.dirty {
                break;
            }
        }
        self.dirty = false;
        let wakes = self.scan();
        let next = self.stacks.iter_mut().filter_map(|s| s.iface.poll_delay(t, &s.set)).map(|d| d.total_micros()).min();
        let mut at = match next {
            Some(us) => crate::time::monotonic_ns().saturating_add(us.saturating_mul(1000)).max(1),
            None => u64::MAX,
        };
        // A device without an interrupt is polled every millisecond.
        if self.stacks.len() > 1 && !elfin_plat::net::has_interrupt() {
            at = at.min(crate::time::monotonic_ns().saturating_add(1_000_000));
        }
        let before = NEXT_POLL.swap(at, Ordering::Relaxed);
        if at < before {
            // The boot CPU keeps time for smoltcp's timers too: it may be idle
            // waiting for a later deadline (or none), so it must look again.
            crate::timer::deadline_added();
        }
        wakes
    }

    /// smoltcp gives a datagram to the first UDP socket bound to its port, whatever
    /// the family: each socket that serves one family only (AF_INET, IPV6_V6ONLY)
    /// is settled after every pass (see [`Net::settle_udp`]).
    fn sort_udp(&mut self) {
        // The bound UDP sockets, from the port index: nothing to do without them.
        let scoped: Vec<u64> = self
            .ports
            .range((false, 0)..=(false, u16::MAX))
            .flat_map(|(_, ids)| ids.iter().copied())
            .filter(|id| self.recs.get(id).is_some_and(|r| r.bound.is_some_and(|b| b.scope != Scope::Both)))
            .collect();
        for id in scoped {
            self.settle_udp(id);
        }
    }

    /// Datagrams that UDP socket `id` must not see: ones of the family it does not
    /// serve (IPv6 on an AF_INET socket, IPv4 on an IPV6_V6ONLY one) go to the
    /// inbox of the socket on the same port that serves them (the other half of a
    /// dual bind), else they are dropped, as Linux never gives them to `id`. With
    /// such a partner, every datagram moves to an inbox, so that one behind
    /// another is sorted too and each socket keeps its order.
    fn settle_udp(&mut self, id: u64) {
        let Some((bind, hs)) = self.recs.get(&id).and_then(|r| match (&r.kind, r.bound) {
            (Kind::Udp { hs, .. }, Some(b)) if b.scope != Scope::Both => Some((b, hs.clone())),
            _ => None,
        }) else {
            return;
        };
        let partner = self.ports.get(&(false, bind.port)).and_then(|ids| {
            ids.iter().copied().find(|&other| {
                other != id
                    && self.recs.get(&other).is_some_and(|r| {
                        matches!(r.kind, Kind::Udp { .. }) && r.bound.is_some_and(|b| b.scope != bind.scope)
                    })
            })
        });
        for h in hs {
            while let Some(st) = self.stacks.get_mut(h.0) {
                let s = st.udp(h.1);
                let stray = match s.peek() {
                    Ok((_, meta)) => !bind.scope.admits(meta.endpoint.addr),
                    Err(_) => break,
                };
                if !stray && partner.is_none() {
                    break;
                }
                let Ok((data, meta)) = s.recv() else { break };
                let to = if stray { partner } else { Some(id) };
                let data = data.to_vec();
                let home = to.and_then(|t| self.recs.get_mut(&t)).filter(|r| {
                    r.bound.is_some_and(|b| {
                        b.scope.admits(meta.endpoint.addr) && b.addr.is_none_or(|a| Some(a) == meta.local_address)
                    })
                });
                if let Some(Rec { kind: Kind::Udp { inbox, .. }, .. }) = home {
                    if inbox.len() < UDP_PACKETS {
                        inbox.push_back((data, meta, h.0));
                    }
                }
                self.dirty = true;
            }
        }
    }

    /// Closing connections whose peer has not acknowledged all that was sent
    /// (data, then the FIN): their count, bytes and states, to tell progress
    /// by; None when there are none.
    fn unacknowledged(&mut self) -> Option<(usize, usize, u32)> {
        let mut left = (0usize, 0usize, 0u32);
        for &(h, _) in &self.orphans {
            let Some(st) = self.stacks.get_mut(h.0) else { continue };
            let s = st.tcp(h.1);
            let state = s.state();
            if !matches!(state, tcp::State::Closed | tcp::State::TimeWait | tcp::State::FinWait2) {
                left.0 += 1;
                left.1 += s.send_queue();
                left.2 = left.2.wrapping_mul(31).wrapping_add(state as u32);
            }
        }
        (left.0 > 0).then_some(left)
    }

    fn reap_orphans(&mut self) {
        let nowns = crate::time::monotonic_ns();
        let mut keep = Vec::new();
        let orphans = core::mem::take(&mut self.orphans);
        for (h, since) in orphans {
            let Some(st) = self.stacks.get_mut(h.0) else { continue };
            let s = st.tcp(h.1);
            // Data arriving for a closed socket resets the connection, as Linux does.
            let st_now = s.state();
            if st_now != tcp::State::Closed
                && (s.recv_queue() > 0 || nowns.saturating_sub(since) > ORPHAN_TIMEOUT_S * 1_000_000_000)
            {
                s.abort();
                self.dirty = true;
                // Kept until the reset has gone out (the next pass).
                keep.push((h, since));
                continue;
            }
            match st_now {
                tcp::State::Closed | tcp::State::TimeWait => {
                    st.set.remove(h.1);
                }
                _ => keep.push((h, since)),
            }
        }
        self.orphans = keep;
    }

    /// Records errors of connections that ended and returns the sockets whose
    /// readiness gained something.
    fn scan(&mut self) -> Vec<Arc<InetSocket>> {
        let mut wakes = Vec::new();
        let mut next = 0;
        while let Some(id) = self.recs.range(next..).next().map(|(&i, _)| i) {
            next = id.saturating_add(1);
            // Connections that ended: why.
            let mut ended = None;
            // A connection whose state moved wakes its waiters (a lingering close
            // waits for its FIN to be acknowledged, which changes nothing else).
            let mut moved = false;
            if let Some(Rec { kind: Kind::TcpConn { h, connecting, seen_open, prev }, .. }) = self.recs.get(&id) {
                let st = self.stacks.get_mut(h.0).map(|s| s.tcp(h.1).state()).unwrap_or(tcp::State::Closed);
                ended = Some((*h, st, *prev, *connecting, *seen_open));
            }
            if let Some((_h, st, prev, _connecting, seen_open)) = ended {
                moved = st != prev;
                let Some(rec) = self.recs.get_mut(&id) else { continue };
                if st == tcp::State::Closed && prev != tcp::State::Closed {
                    // Why it ended, as Linux's tcp_reset reports it.
                    let e = match prev {
                        tcp::State::SynSent if !seen_open => Some(Errno::ECONNREFUSED),
                        // Both sides shut down: our FIN was acknowledged (LAST-ACK
                        // passed within one poll).
                        tcp::State::CloseWait if rec.wr_shut => None,
                        tcp::State::CloseWait => Some(Errno::EPIPE),
                        tcp::State::TimeWait | tcp::State::LastAck | tcp::State::Closing => None,
                        _ => Some(Errno::ECONNRESET),
                    };
                    if let Some(e) = e {
                        rec.err = e.as_i32();
                    }
                    rec.rd_shut = true;
                    rec.wr_shut = true;
                }
                if let Kind::TcpConn { prev: p, seen_open: seen, .. } = &mut rec.kind {
                    *p = st;
                    if !matches!(st, tcp::State::SynSent | tcp::State::Closed) {
                        *seen = true;
                    }
                }
            }
            let r = self.readiness(id);
            let Some(rec) = self.recs.get_mut(&id) else { continue };
            let (ev, rq, sq, aq) = r;
            let (lev, lrq, lsq, laq) = rec.last;
            if moved || ev & !lev != 0 || rq > lrq || sq < lsq || aq > laq {
                if let Some(o) = rec.owner.upgrade() {
                    wakes.push(o);
                }
            }
            rec.last = r;
        }
        wakes
    }

    /// Adds the record of socket `id`, with its readiness as it is now.
    fn register(&mut self, id: u64, rec: Rec) {
        self.recs.insert(id, rec);
        let r = self.readiness(id);
        if let Some(rec) = self.recs.get_mut(&id) {
            rec.last = r;
        }
    }

    /// (poll events, bytes readable, bytes queued to send, connections waiting).
    fn readiness(&mut self, id: u64) -> (u32, usize, usize, usize) {
        let Some(rec) = self.recs.get(&id) else { return (0, 0, 0, 0) };
        let err = if rec.err != 0 { POLLERR } else { 0 };
        let (rd_shut, wr_shut) = (rec.rd_shut, rec.wr_shut);
        match &rec.kind {
            Kind::TcpIdle => (POLLOUT | POLLWRNORM | POLLHUP | err, 0, 0, 0),
            Kind::TcpListen { queue, .. } => {
                let q = queue.len();
                (if q > 0 { POLLIN | POLLRDNORM } else { 0 }, 0, 0, q)
            }
            &Kind::TcpConn { h, .. } => {
                let Some(st) = self.stacks.get_mut(h.0) else { return (POLLHUP, 0, 0, 0) };
                let s = st.tcp(h.1);
                let state = s.state();
                let rq = s.recv_queue();
                let sq = s.send_queue();
                let fin_in = matches!(
                    state,
                    tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing | tcp::State::TimeWait
                ) || (state == tcp::State::Closed && rd_shut);
                let rcv_shut = fin_in || rd_shut;
                let snd_shut = wr_shut || state == tcp::State::Closed && rd_shut;
                let mut m = err;
                if (rcv_shut && snd_shut) || state == tcp::State::Closed {
                    m |= POLLHUP;
                }
                if rcv_shut {
                    m |= POLLIN | POLLRDNORM | POLLRDHUP;
                }
                if !matches!(state, tcp::State::SynSent | tcp::State::SynReceived) {
                    if rq > 0 {
                        m |= POLLIN | POLLRDNORM;
                    }
                    if snd_shut || s.send_capacity() > sq {
                        m |= POLLOUT | POLLWRNORM;
                    }
                }
                (m, rq, sq, 0)
            }
            &Kind::Raw { ref hs, local, remote, filter } => {
                let mut acc = (err | POLLOUT | POLLWRNORM, 0, 0);
                for h in hs.clone() {
                    let Some(st) = self.stacks.get_mut(h.0) else { continue };
                    let s = st.raw(h.1);
                    // Packets the socket does not take go now, so that POLLIN
                    // means a packet recv returns.
                    while s.peek().is_ok_and(|p| !raw_admits(p, local, remote, filter)) {
                        let _ = s.recv();
                    }
                    fold_datagram(&mut acc, s.can_recv(), s.can_send(), s.recv_queue(), s.send_queue());
                }
                datagram_readiness(acc, rd_shut, wr_shut)
            }
            Kind::Udp { hs, inbox, .. } => {
                let mut acc = (err | POLLOUT | POLLWRNORM, inbox.iter().map(|(d, _, _)| d.len()).sum::<usize>(), 0);
                if !inbox.is_empty() {
                    acc.0 |= POLLIN | POLLRDNORM;
                }
                for h in hs.clone() {
                    if let Some(st) = self.stacks.get_mut(h.0) {
                        let s = st.udp(h.1);
                        fold_datagram(&mut acc, s.can_recv(), s.can_send(), s.recv_queue(), s.send_queue());
                    }
                }
                datagram_readiness(acc, rd_shut, wr_shut)
            }
        }
    }
}

/// Runs `f` on the network; polls afterwards when `f` changed something, and
/// wakes the sockets whose readiness changed once the lock is released.
fn with_net<R>(f: impl FnOnce(&mut Net) -> R) -> R {
    let (r, wakes) = {
        let mut g = NET.lock();
        let net = g.get_or_insert_with(Net::new);
        let r = f(net);
        // A device interrupt or deadline that came while this CPU held the lock
        // (another CPU's `poll_due` found it taken) is served here.
        let wanted = POLL_WANTED.swap(false, Ordering::AcqRel);
        let wakes = if net.dirty || wanted { net.poll() } else { Vec::new() };
        (r, wakes)
    };
    for s in wakes {
        s.wq.wake_all();
    }
    r
}

/// Sets the network up at boot: how the device gets its address, and, when the
/// machine has a network device, the interfaces (so that DHCP starts at once).
pub fn init(ip: Option<&[u8]>) {
    configure(ip);
    if let Some(mac) = elfin_plat::net::mac() {
        log::info!(
            "net: virtio-net {:02x?}, {}",
            mac,
            if elfin_plat::net::has_interrupt() { "interrupt-driven" } else { "polled every millisecond" }
        );
        with_net(|n| n.dirty = true);
    }
}

/// Whether smoltcp waits for a deadline (retransmissions, delayed ACKs,
/// keep-alives, closing connections, DHCP renewal): an idle machine must keep
/// time for it. The device's own interrupts wake an idle CPU, so a machine
/// whose sockets wait for nothing but input needs no tick at all.
pub fn deadline_pending() -> bool {
    POLL_WANTED.load(Ordering::Relaxed) || NEXT_POLL.load(Ordering::Relaxed) != u64::MAX
}

/// When the network must next be polled (monotonic ns), if it must: smoltcp's
/// earliest timer, or now when a poll is owed.
pub fn next_deadline() -> Option<u64> {
    if POLL_WANTED.load(Ordering::Relaxed) {
        return Some(0);
    }
    match NEXT_POLL.load(Ordering::Relaxed) {
        u64::MAX => None,
        at => Some(at),
    }
}

/// A poll is owed: `poll_due` found the network locked by another CPU.
static POLL_WANTED: AtomicBool = AtomicBool::new(false);

/// Polls the network when smoltcp's deadline has passed or the device
/// interrupted (called by the scheduler and after interrupts; cheap when
/// nothing is due).
pub fn poll_due() {
    let irq = elfin_plat::net::take_interrupt();
    let wanted = POLL_WANTED.swap(false, Ordering::AcqRel);
    let next = NEXT_POLL.load(Ordering::Relaxed);
    // Nothing scheduled (u64::MAX): no clock reading, whose first calibrates the
    // cycle counter.
    if !irq && !wanted && (next == u64::MAX || crate::time::monotonic_ns() < next) {
        return;
    }
    let wakes = {
        let Some(mut g) = NET.try_lock() else {
            // Another CPU has the network: it polls before letting go, or, if it
            // is letting go just now, the next call here does (the interrupt's
            // flag is already taken, so it must not be lost).
            POLL_WANTED.store(true, Ordering::Release);
            return;
        };
        match g.as_mut() {
            Some(net) => net.poll(),
            None => return,
        }
    };
    for s in wakes {
        s.wq.wake_all();
    }
}

/// The machine is about to power off: every connection still open is closed as
/// the closing of its descriptors would (a FIN after the data, a reset when data
/// is unread), and the machine waits until the peers have acknowledged what was
/// sent, as Linux goes on sending for a process that has ended. A wait in which
/// no connection moves for `LINGER_IDLE_NS` (a peer that stopped reading or
/// went away) gives the rest up. Free when the program made no socket.
pub fn finish_connections() {
    // Dropped after the lock: a last reference must not release under it.
    let _open: Vec<Arc<InetSocket>> = {
        let mut g = NET.lock();
        let Some(n) = g.as_mut() else { return };
        let open: Vec<Arc<InetSocket>> = n.recs.values().filter_map(|r| r.owner.upgrade()).collect();
        for s in &open {
            s.release_in(n);
        }
        open
    };
    let mut seen = None;
    let mut since = crate::time::monotonic_ns();
    loop {
        let (woken, left) = {
            let mut g = NET.lock();
            let Some(n) = g.as_mut() else { return };
            POLL_WANTED.store(false, Ordering::Relaxed);
            (n.poll(), n.unacknowledged())
        };
        drop(woken);
        let Some(left) = left else { return };
        let t = crate::time::monotonic_ns();
        if seen != Some(left) {
            seen = Some(left);
            since = t;
        } else if t.saturating_sub(since) > LINGER_IDLE_NS {
            log::warn!(
                "net: powering off with {} connection(s) whose peer acknowledged nothing for {} s",
                left.0,
                LINGER_IDLE_NS / 1_000_000_000
            );
            return;
        }
        // Other CPUs may be idle with their ticks off: this one looks at the
        // device itself, every 50 microseconds.
        for _ in 0..10 {
            crate::timer::pause_briefly();
        }
    }
}

/// An IPPROTO_IP option value as Linux's do_ip_setsockopt reads it: an `int`
/// when there is room for one, else one unsigned byte, else 0.
fn ip_opt_int(val: &[u8]) -> i32 {
    match (opt_int(val), val.first()) {
        (Ok(v), _) => v,
        (Err(_), Some(&b)) => i32::from(b),
        (Err(_), None) => 0,
    }
}

/// The TCP and IP options a socket keeps as they were set, with Linux's defaults
/// and rules. Some act (the user timeout, cork); the others have no knob in the
/// stack and only read back.
#[derive(Clone, Copy)]
struct Extra {
    /// TCP_USER_TIMEOUT in ms (0: the stack's own).
    user_timeout: u32,
    /// TCP_CORK: hold small segments (as Nagle does) until uncorked.
    cork: bool,
    /// TCP_QUICKACK.
    quickack: bool,
    /// TCP_DEFER_ACCEPT as Linux keeps it: SYN-ACK retransmissions.
    defer_accept: u8,
    /// TCP_FASTOPEN queue length.
    fastopen: i32,
    /// TCP_SYNCNT (0: the default, 6).
    syncnt: u8,
    /// TCP_LINGER2 in seconds (0: the default, -1: none).
    linger2: i32,
    /// TCP_WINDOW_CLAMP.
    window_clamp: i32,
    /// TCP_NOTSENT_LOWAT.
    notsent_lowat: u32,
    /// TCP_MAXSEG as set (0: not set).
    user_mss: u16,
    /// TCP_CONGESTION.
    congestion: &'static str,
    /// IP_MULTICAST_TTL.
    mc_ttl: u8,
    /// IP_MULTICAST_LOOP.
    mc_loop: bool,
    /// IP_RECVERR / IPV6_RECVERR.
    recverr: bool,
    /// IP_MTU_DISCOVER / IPV6_MTU_DISCOVER (1: IP_PMTUDISC_WANT).
    pmtudisc: u8,
    /// IP_PKTINFO: each datagram comes with its destination and interface.
    pktinfo4: bool,
    /// IPV6_RECVPKTINFO: the same, as an IPv6 control message.
    pktinfo6: bool,
    /// IP_FREEBIND / IPV6_FREEBIND: bind accepts an address that is not local.
    freebind: bool,
    /// IP_BIND_ADDRESS_NO_PORT: bind to port 0 leaves the port to connect.
    bind_no_port: bool,
}

impl Default for Extra {
    fn default() -> Extra {
        Extra {
            user_timeout: 0,
            cork: false,
            quickack: true,
            defer_accept: 0,
            fastopen: 0,
            syncnt: 0,
            linger2: 0,
            window_clamp: 0,
            notsent_lowat: 0,
            user_mss: 0,
            congestion: "cubic",
            mc_ttl: 1,
            mc_loop: true,
            recverr: false,
            pmtudisc: 1,
            pktinfo4: false,
            pktinfo6: false,
            freebind: false,
            bind_no_port: false,
        }
    }
}

/// Linux's secs_to_retrans with a 1 s initial timeout and a 120 s maximum.
fn secs_to_retrans(secs: i32) -> u8 {
    if secs <= 0 {
        return 0;
    }
    let (mut res, mut timeout, mut period) = (1u8, 1i32, 1i32);
    while secs > period && res < 255 {
        res += 1;
        timeout = (timeout * 2).min(120);
        period += timeout;
    }
    res
}

/// Linux's retrans_to_secs, the inverse.
fn retrans_to_secs(retrans: u8) -> i32 {
    if retrans == 0 {
        return 0;
    }
    let (mut timeout, mut period) = (1i32, 1i32);
    for _ in 1..retrans {
        timeout = (timeout * 2).min(120);
        period += timeout;
    }
    period
}

/// An AF_INET or AF_INET6 socket.
pub struct InetSocket {
    id: u64,
    family: u16,
    ty: u32,
    protocol: i32,
    opts: Opts,
    wq: WaitQueue,
    nodelay: AtomicBool,
    keepidle: AtomicU32,
    keepintvl: AtomicU32,
    keepcnt: AtomicU32,
    tos: AtomicU32,
    ttl: AtomicU32,
    v6only: AtomicBool,
    extra: Mutex<Extra>,
}

/// A socket record's owner, before its record is made.
fn new_socket(family: u16, ty: u32, protocol: i32, snd: u32, rcv: u32) -> Arc<InetSocket> {
    Arc::new(InetSocket {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        family,
        ty,
        protocol,
        opts: Opts::new(snd, rcv),
        wq: WaitQueue::new(),
        nodelay: AtomicBool::new(false),
        keepidle: AtomicU32::new(KEEPIDLE),
        keepintvl: AtomicU32::new(KEEPINTVL),
        keepcnt: AtomicU32::new(KEEPCNT),
        tos: AtomicU32::new(0),
        ttl: AtomicU32::new(64),
        v6only: AtomicBool::new(false),
        extra: Mutex::new(Extra::default()),
    })
}

/// socket(AF_INET, SOCK_RAW, protocol): IPPROTO_ICMP is what ping uses as root;
/// any other protocol but IPPROTO_RAW sends and takes that protocol's packets.
fn create_raw(protocol: u8) -> Result<Arc<dyn Socket>, Errno> {
    if !crate::task::sched::current().process.cred.lock().capable(crate::task::caps::CAP_NET_RAW) {
        return Err(Errno::EPERM);
    }
    let s = new_socket(so::AF_INET, so::SOCK_RAW, i32::from(protocol), WMEM_DEFAULT, WMEM_DEFAULT);
    let id = s.id;
    with_net(|n| -> Result<(), Errno> {
        let mut hs = Vec::new();
        for si in 0..n.stacks.len() {
            let buf = || -> Result<raw::PacketBuffer<'static>, Errno> {
                let mut bytes = Vec::new();
                bytes.try_reserve_exact(RAW_BYTES).map_err(|_| Errno::ENOBUFS)?;
                bytes.resize(RAW_BYTES, 0);
                Ok(raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; RAW_PACKETS], bytes))
            };
            let sock = raw::Socket::new(Some(IpVersion::Ipv4), Some(IpProtocol::from(protocol)), buf()?, buf()?);
            hs.push((si, n.stack(si).set.add(sock)));
        }
        n.register(id, Rec::new(&s, false, Kind::Raw { hs, local: None, remote: None, filter: 0 }));
        Ok(())
    })?;
    Ok(s)
}

/// socket(AF_INET or AF_INET6, ty, protocol).
pub fn create(family: u16, ty: u32, protocol: i32) -> Result<Arc<dyn Socket>, Errno> {
    let tcp = match (ty, protocol) {
        (so::SOCK_STREAM, 0) | (so::SOCK_STREAM, 6) => true,
        (so::SOCK_DGRAM, 0) | (so::SOCK_DGRAM, 17) => false,
        (so::SOCK_STREAM, _) | (so::SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        (so::SOCK_RAW, p @ 1..=254) if family == so::AF_INET => return create_raw(p as u8),
        // Linux's inet_create: no protocol is EPROTONOSUPPORT.
        (so::SOCK_RAW, 0) => return Err(Errno::EPROTONOSUPPORT),
        (so::SOCK_RAW, _) => {
            crate::syscall::report_unsupported("socket (SOCK_RAW of IPv6 or IPPROTO_RAW)");
            return Err(Errno::EPERM);
        }
        (so::SOCK_SEQPACKET, _) => return Err(Errno::ESOCKTNOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let (snd, rcv) = if tcp { (TCP_SNDBUF, TCP_RCVBUF) } else { (WMEM_DEFAULT, WMEM_DEFAULT) };
    let s = new_socket(family, ty, if tcp { 6 } else { 17 }, snd, rcv);
    let id = s.id;
    let kind = if tcp { Kind::TcpIdle } else { Kind::Udp { hs: Vec::new(), remote: None, inbox: VecDeque::new() } };
    let rec = Rec::new(&s, tcp, kind);
    with_net(|n| n.register(id, rec));
    Ok(s)
}

/// A parsed socket address.
fn parse(family: u16, raw: &[u8]) -> Result<IpEndpoint, Errno> {
    let fam = raw.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]])).ok_or(Errno::EINVAL)?;
    if family == so::AF_INET {
        if raw.len() < 16 {
            return Err(Errno::EINVAL);
        }
        if fam != so::AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([raw[2], raw[3]]);
        let a = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
        Ok(IpEndpoint { addr: IpAddress::Ipv4(a), port })
    } else {
        if raw.len() < 24 {
            return Err(Errno::EINVAL);
        }
        if fam != so::AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([raw[2], raw[3]]);
        let mut b = [0u8; 16];
        b.copy_from_slice(raw.get(8..24).ok_or(Errno::EINVAL)?);
        let a = Ipv6Addr::from(b);
        let addr = match a.to_ipv4_mapped() {
            Some(v4) => IpAddress::Ipv4(v4),
            None => IpAddress::Ipv6(a),
        };
        Ok(IpEndpoint { addr, port })
    }
}

/// Encodes an endpoint as the socket's family reports it (v4 peers of an
/// AF_INET6 socket as mapped addresses).
fn encode(family: u16, ep: IpEndpoint) -> Vec<u8> {
    if family == so::AF_INET {
        let mut v = vec![0u8; 16];
        v[..2].copy_from_slice(&so::AF_INET.to_ne_bytes());
        v[2..4].copy_from_slice(&ep.port.to_be_bytes());
        if let IpAddress::Ipv4(a) = ep.addr {
            v[4..8].copy_from_slice(&a.octets());
        }
        v
    } else {
        let mut v = vec![0u8; 28];
        v[..2].copy_from_slice(&so::AF_INET6.to_ne_bytes());
        v[2..4].copy_from_slice(&ep.port.to_be_bytes());
        let a = match ep.addr {
            IpAddress::Ipv4(a) => a.to_ipv6_mapped(),
            IpAddress::Ipv6(a) => a,
        };
        v[8..24].copy_from_slice(&a.octets());
        v
    }
}

// Linux's TCP states (include/net/tcp_states.h), as /proc/net/tcp shows them.
const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE: u8 = 7;
const TCP_LISTEN: u8 = 10;

/// Linux's number for a TCP state.
fn linux_tcp_state(s: tcp::State) -> u8 {
    match s {
        tcp::State::Established => TCP_ESTABLISHED,
        tcp::State::SynSent => 2,
        tcp::State::SynReceived => 3,
        tcp::State::FinWait1 => 4,
        tcp::State::FinWait2 => 5,
        tcp::State::TimeWait => 6,
        tcp::State::Closed => TCP_CLOSE,
        tcp::State::CloseWait => 8,
        tcp::State::LastAck => 9,
        tcp::State::Listen => TCP_LISTEN,
        tcp::State::Closing => 11,
    }
}

fn unspecified(family: u16) -> IpAddress {
    if family == so::AF_INET {
        IpAddress::Ipv4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddress::Ipv6(Ipv6Addr::UNSPECIFIED)
    }
}

impl InetSocket {
    fn apply_tcp(&self, s: &mut tcp::Socket<'static>) {
        // Immediate ACKs: over loopback a delayed ACK stalls the sender for the
        // whole delay (Nagle waits for it; window updates wait for it).
        s.set_ack_delay(None);
        let extra = *self.extra.lock();
        // A corked socket sends only full segments while data is unacknowledged.
        s.set_nagle_enabled(!self.nodelay.load(Ordering::Relaxed) || extra.cork);
        // Unacknowledged data (or an unanswered connect) for this long ends the
        // connection with ETIMEDOUT.
        s.set_timeout((extra.user_timeout != 0).then(|| Duration::from_millis(u64::from(extra.user_timeout))));
        if self.opts.has(flag::KEEPALIVE) {
            let idle = self.keepidle.load(Ordering::Relaxed);
            s.set_keep_alive(Some(Duration::from_secs(u64::from(idle))));
        } else {
            s.set_keep_alive(None);
        }
        let ttl = self.ttl.load(Ordering::Relaxed);
        s.set_hop_limit(Some(ttl.clamp(1, 255) as u8));
    }

    fn scope(&self) -> Scope {
        if self.family == so::AF_INET {
            Scope::V4
        } else if self.v6only.load(Ordering::Relaxed) {
            Scope::V6
        } else {
            Scope::Both
        }
    }

    fn timeo_rcv(&self) -> u64 {
        self.opts.rcvtimeo.load(Ordering::Relaxed)
    }

    fn timeo_snd(&self) -> u64 {
        self.opts.sndtimeo.load(Ordering::Relaxed)
    }

    /// Binds `ep` (port 0: an ephemeral port) in `n`.
    fn do_bind(&self, n: &mut Net, ep: IpEndpoint) -> Result<Bind, Errno> {
        self.bind_as(n, ep, false)
    }

    /// [`Self::do_bind`] for bind(2) itself (`explicit`): with IP_BIND_ADDRESS_NO_PORT
    /// a port 0 is left for connect to pick, as Linux does.
    fn bind_as(&self, n: &mut Net, ep: IpEndpoint, explicit: bool) -> Result<Bind, Errno> {
        let tcp = self.ty == so::SOCK_STREAM;
        let (reuseaddr, reuseport) = (self.opts.has(flag::REUSEADDR), self.opts.has(flag::REUSEPORT));
        let addr = if ep.addr.is_unspecified() { None } else { Some(ep.addr) };
        let (freebind, no_port) = {
            let e = self.extra.lock();
            (e.freebind, e.bind_no_port)
        };
        if let Some(a) = addr {
            if !n.is_local(a) && !freebind {
                return Err(Errno::EADDRNOTAVAIL);
            }
            if self.family == so::AF_INET6 && matches!(a, IpAddress::Ipv4(_)) && self.v6only.load(Ordering::Relaxed) {
                return Err(Errno::EADDRNOTAVAIL);
            }
        }
        let port = match ep.port {
            // Only the address is taken; the port waits for connect.
            0 if explicit && no_port => 0,
            0 => n.ephemeral(tcp, self.id, addr, self.scope())?,
            p => p,
        };
        let b = Bind { addr, port, scope: self.scope() };
        if port != 0 && !n.port_free(tcp, self.id, &b, reuseaddr, reuseport) {
            return Err(Errno::EADDRINUSE);
        }
        n.set_bound(self.id, Some(b));
        let rec = n.rec(self.id)?;
        rec.reuseaddr = reuseaddr;
        rec.reuseport = reuseport;
        Ok(b)
    }

    /// The UDP socket's smoltcp sockets (one per interface that has its
    /// address), bound to an ephemeral port if needed.
    fn udp_handles(&self, n: &mut Net) -> Result<Vec<H>, Errno> {
        if let Kind::Udp { hs, .. } = &n.rec(self.id)?.kind {
            if !hs.is_empty() {
                return Ok(hs.clone());
            }
        }
        let b = match n.rec(self.id)?.bound {
            Some(b) if b.port != 0 => b,
            // No ephemeral port left: EAGAIN, as Linux's inet_autobind. A bind
            // with IP_BIND_ADDRESS_NO_PORT keeps its address.
            b => {
                let addr = b.and_then(|b| b.addr).unwrap_or_else(|| unspecified(self.family));
                self.do_bind(n, IpEndpoint { addr, port: 0 }).map_err(|e| match e {
                    Errno::EADDRINUSE => Errno::EAGAIN,
                    e => e,
                })?
            }
        };
        let mut hs = Vec::new();
        for si in 0..n.stacks.len() {
            if let Some(a) = b.addr {
                if !n.stack(si).has_addr(a) {
                    continue;
                }
            }
            let mut rx = Vec::new();
            let mut tx = Vec::new();
            rx.try_reserve_exact(UDP_BYTES).map_err(|_| Errno::ENOBUFS)?;
            tx.try_reserve_exact(UDP_BYTES).map_err(|_| Errno::ENOBUFS)?;
            rx.resize(UDP_BYTES, 0);
            tx.resize(UDP_BYTES, 0);
            let mut s = udp::Socket::new(
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], rx),
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], tx),
            );
            s.bind(IpListenEndpoint { addr: b.addr, port: b.port }).map_err(|_| Errno::EINVAL)?;
            s.set_hop_limit(Some(self.ttl.load(Ordering::Relaxed).clamp(1, 255) as u8));
            hs.push((si, n.stack(si).set.add(s)));
        }
        if let Kind::Udp { hs: slot, .. } = &mut n.rec(self.id)?.kind {
            *slot = hs.clone();
        }
        Ok(hs)
    }

    fn tcp_connect(&self, cx: &Ctx, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNSPEC {
            // Disconnect: abort any connection.
            return with_net(|n| {
                let rec = n.rec(self.id)?;
                if let Kind::TcpConn { h, .. } = rec.kind {
                    rec.kind = Kind::TcpIdle;
                    rec.err = 0;
                    rec.rd_shut = false;
                    rec.wr_shut = false;
                    n.set_bound(self.id, None);
                    n.stack(h.0).tcp(h.1).abort();
                    n.orphans.push((h, crate::time::monotonic_ns()));
                    n.dirty = true;
                }
                Ok(())
            });
        }
        let mut ep = parse(self.family, raw)?;
        if ep.addr.is_unspecified() {
            ep.addr = match ep.addr {
                IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
            };
        }
        if self.family == so::AF_INET6 && matches!(ep.addr, IpAddress::Ipv4(_)) && self.v6only.load(Ordering::Relaxed) {
            return Err(Errno::ENETUNREACH);
        }
        // Start (or look at) the attempt.
        let started = with_net(|n| -> Result<bool, Errno> {
            let rec = n.rec(self.id)?;
            match &mut rec.kind {
                Kind::TcpListen { .. } => return Err(Errno::EINVAL),
                Kind::TcpConn { connecting: true, h, .. } => {
                    let h = *h;
                    let st = n.stack(h.0).tcp(h.1).state();
                    return match st {
                        tcp::State::SynSent | tcp::State::SynReceived => Err(Errno::EALREADY),
                        _ => Ok(false),
                    };
                }
                Kind::TcpConn { .. } => return Err(Errno::EISCONN),
                Kind::Udp { .. } | Kind::Raw { .. } => return Err(Errno::EINVAL),
                Kind::TcpIdle => {}
            }
            if ep.port == 0 {
                return Err(Errno::ECONNREFUSED);
            }
            let si = n.route(ep.addr)?;
            let local_addr = n.rec(self.id)?.bound.and_then(|b| b.addr);
            let src = match local_addr {
                Some(a) => a,
                None => n.stack(si).iface.get_source_address(&ep.addr).ok_or(Errno::ENETUNREACH)?,
            };
            let b = match n.rec(self.id)?.bound {
                Some(b) if b.port != 0 => b,
                // No ephemeral port left: EADDRNOTAVAIL from connect, as Linux.
                // A bind with IP_BIND_ADDRESS_NO_PORT gets its port now.
                _ => self.do_bind(n, IpEndpoint { addr: src, port: 0 }).map_err(|e| match e {
                    Errno::EADDRINUSE => Errno::EADDRNOTAVAIL,
                    e => e,
                })?,
            };
            let h = n.new_tcp(si, Some(self))?;
            let st = n.stack(si);
            let cxs = st.iface.context();
            let r =
                st.set.get_mut::<tcp::Socket>(h.1).connect(cxs, ep, IpListenEndpoint { addr: Some(src), port: b.port });
            if r.is_err() {
                n.drop_handle(h);
                return Err(Errno::ENETUNREACH);
            }
            n.set_bound(self.id, Some(Bind { addr: Some(src), port: b.port, scope: b.scope }));
            let rec = n.rec(self.id)?;
            rec.kind = Kind::TcpConn { h, connecting: true, seen_open: false, prev: tcp::State::SynSent };
            rec.err = 0;
            n.dirty = true;
            Ok(true)
        })?;
        // Linux returns EINPROGRESS from a non-blocking connect even on loopback
        // (the handshake is processed once the socket is released).
        if started && nonblock {
            return Err(Errno::EINPROGRESS);
        }
        // Wait for the outcome.
        let outcome = || {
            with_net(|n| -> Option<Result<(), Errno>> {
                let rec = n.rec(self.id).ok()?;
                let Kind::TcpConn { h, .. } = rec.kind else { return Some(Err(Errno::ECONNABORTED)) };
                let st = n.stack(h.0).tcp(h.1).state();
                match st {
                    tcp::State::SynSent | tcp::State::SynReceived => None,
                    tcp::State::Closed => {
                        let rec = n.rec(self.id).ok()?;
                        let e = core::mem::take(&mut rec.err);
                        if let Kind::TcpConn { h, .. } = rec.kind {
                            rec.kind = Kind::TcpIdle;
                            rec.rd_shut = false;
                            rec.wr_shut = false;
                            n.set_bound(self.id, None);
                            n.drop_handle(h);
                        }
                        // The error already taken (SO_ERROR): ECONNABORTED, as Linux.
                        Some(Err(Errno::from_i32(e).unwrap_or(Errno::ECONNABORTED)))
                    }
                    _ => {
                        if let Ok(Rec { kind: Kind::TcpConn { connecting, .. }, .. }) = n.rec(self.id) {
                            *connecting = false;
                        }
                        Some(Ok(()))
                    }
                }
            })
        };
        let f = outcome;
        if let Some(r) = f() {
            return r;
        }
        if nonblock {
            return Err(Errno::EINPROGRESS);
        }
        let timeo = self.timeo_snd();
        match block_on(cx, &[&self.wq], false, timeo, f) {
            Err(Errno::EAGAIN) => Err(Errno::EINPROGRESS),
            r => r,
        }
    }

    fn tcp_send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        if msg.flags & so::MSG_OOB != 0 {
            crate::syscall::report_unsupported("send (MSG_OOB)");
            return Err(Errno::EOPNOTSUPP);
        }
        let data = msg.data;
        let mut sent = 0usize;
        let timeo = self.timeo_snd();
        loop {
            let step = block_on(cx, &[&self.wq], nonblock, timeo, || {
                with_net(|n| -> Option<Result<usize, Errno>> {
                    let rec = match n.rec(self.id) {
                        Ok(r) => r,
                        Err(e) => return Some(Err(e)),
                    };
                    let h = match rec.kind {
                        Kind::TcpConn { h, connecting: false, .. } => h,
                        Kind::TcpConn { h, connecting: true, .. } => {
                            let st = n.stack(h.0).tcp(h.1).state();
                            if matches!(st, tcp::State::SynSent | tcp::State::SynReceived) {
                                return None;
                            }
                            h
                        }
                        // Linux's sk_stream_wait_connect: not connected is EPIPE.
                        _ => return Some(Err(Errno::EPIPE)),
                    };
                    let rec = n.rec(self.id).ok()?;
                    if rec.err != 0 {
                        let e = core::mem::take(&mut rec.err);
                        return Some(Err(Errno::from_i32(e).unwrap_or(Errno::EPIPE)));
                    }
                    if rec.wr_shut {
                        return Some(Err(Errno::EPIPE));
                    }
                    let s = n.stack(h.0).tcp(h.1);
                    if !s.may_send() {
                        return Some(Err(Errno::EPIPE));
                    }
                    let rest = data.get(sent..).unwrap_or(&[]);
                    match s.send_slice(rest) {
                        Ok(0) if !rest.is_empty() => None,
                        Ok(k) => {
                            n.dirty = true;
                            Some(Ok(k))
                        }
                        Err(_) => Some(Err(Errno::EPIPE)),
                    }
                })
            });
            match step {
                Ok(k) => {
                    sent += k;
                    if sent >= data.len() {
                        return Ok(sent);
                    }
                }
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            }
        }
    }

    fn tcp_recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if flags & so::MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        let peek = flags & so::MSG_PEEK != 0;
        let waitall = flags & so::MSG_WAITALL != 0 && !peek;
        let lowat = self.opts.rcvlowat.load(Ordering::Relaxed).max(1) as usize;
        let target = if waitall { buf.len() } else { lowat.min(buf.len()) }.max(1);
        let timeo = self.timeo_rcv();
        let mut got = 0usize;
        loop {
            let step = block_on(cx, &[&self.wq], nonblock || got >= target, timeo, || {
                with_net(|n| -> Option<Result<(usize, bool), Errno>> {
                    let rec = match n.rec(self.id) {
                        Ok(r) => r,
                        Err(e) => return Some(Err(e)),
                    };
                    let h = match rec.kind {
                        Kind::TcpConn { h, .. } => h,
                        _ => return Some(Err(Errno::ENOTCONN)),
                    };
                    let rd_shut = rec.rd_shut;
                    let err = rec.err;
                    let s = n.stack(h.0).tcp(h.1);
                    if matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived) {
                        return None;
                    }
                    let avail = s.recv_queue();
                    if avail == 0 {
                        if err != 0 && got == 0 {
                            if let Ok(r) = n.rec(self.id) {
                                r.err = 0;
                            }
                            return Some(Err(Errno::from_i32(err).unwrap_or(Errno::ECONNRESET)));
                        }
                        if rd_shut || !s.may_recv() {
                            return Some(Ok((0, true)));
                        }
                        return None;
                    }
                    let dst = buf.get_mut(got..).unwrap_or(&mut []);
                    let k = if peek { s.peek_slice(dst) } else { s.recv_slice(dst) };
                    let k = k.unwrap_or(0);
                    if !peek && k > 0 {
                        // A window update may be due.
                        n.dirty = true;
                    }
                    Some(Ok((k, false)))
                })
            });
            match step {
                Ok((k, eof)) => {
                    got += k;
                    if eof || got >= target || peek || got >= buf.len() {
                        break;
                    }
                }
                Err(_) if got > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(Recvd { len: got, full: got, ..Default::default() })
    }

    /// sendto on a raw socket: the message the program wrote (an ICMP message for
    /// IPPROTO_ICMP), behind an IPv4 header made here (no IP_HDRINCL) with the
    /// socket's protocol, from the address bound or the one the route gives.
    fn raw_send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        let dest = match &msg.addr {
            Some(raw) => Some(parse(self.family, raw)?.addr),
            None => None,
        };
        const HDR: usize = 20;
        if msg.data.len() > usize::from(u16::MAX) - HDR {
            return Err(Errno::EMSGSIZE);
        }
        let (tos, ttl) = (self.tos.load(Ordering::Relaxed) as u8, self.ttl.load(Ordering::Relaxed).clamp(1, 255) as u8);
        let data = msg.data;
        self.send_loop(cx, nonblock, |n| {
            let Kind::Raw { hs, local, remote, .. } = &n.rec(self.id)?.kind else { return Err(Errno::EINVAL) };
            let (hs, local) = (hs.clone(), *local);
            let mut dst = dest.or(remote.map(|r| r.addr)).ok_or(Errno::EDESTADDRREQ)?;
            if dst.is_unspecified() {
                dst = IpAddress::Ipv4(Ipv4Addr::LOCALHOST);
            }
            let si = n.route(dst)?;
            let h = *hs.iter().find(|h| h.0 == si).ok_or(Errno::ENETUNREACH)?;
            let src = match local.filter(|l| !l.is_unspecified()) {
                Some(l) => l,
                None => n.stack(si).iface.get_source_address(&dst).ok_or(Errno::ENETUNREACH)?,
            };
            let (IpAddress::Ipv4(src), IpAddress::Ipv4(dst)) = (src, dst) else { return Err(Errno::EINVAL) };
            let s = n.stack(h.0).raw(h.1);
            if !s.can_send() {
                return Ok(None);
            }
            let total = (HDR + data.len()) as u16;
            let mut p = Vec::new();
            p.try_reserve_exact(HDR + data.len()).map_err(|_| Errno::ENOBUFS)?;
            // Version 4, 5 words; TOS; length; no id; DF; TTL; ICMP; the
            // checksum smoltcp fills; source; destination.
            p.extend_from_slice(&[0x45, tos]);
            p.extend_from_slice(&total.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, ttl, self.protocol as u8, 0, 0]);
            p.extend_from_slice(&src.octets());
            p.extend_from_slice(&dst.octets());
            p.extend_from_slice(&data);
            match s.send_slice(&p) {
                Ok(()) => {
                    n.dirty = true;
                    Ok(Some(data.len()))
                }
                Err(raw::SendError::BufferFull) => Ok(None),
            }
        })
    }

    /// recvfrom on a raw socket: the next packet of its protocol, IPv4 header
    /// included, from the first interface that has one.
    fn raw_recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        let peek = flags & so::MSG_PEEK != 0;
        self.recv_loop(cx, nonblock, Errno::EHOSTUNREACH, |n, rd_shut| {
            let (hs, local, remote, filter) = match &n.rec(self.id).ok()?.kind {
                Kind::Raw { hs, local, remote, filter } => (hs.clone(), *local, *remote, *filter),
                _ => return Some(Err(Errno::EINVAL)),
            };
            for h in hs {
                let s = n.stack(h.0).raw(h.1);
                while let Ok(p) = s.peek() {
                    if !raw_admits(p, local, remote, filter) {
                        let _ = s.recv();
                        continue;
                    }
                    let from = p.get(12..16).map_or(Ipv4Addr::UNSPECIFIED, |b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
                    let out = datagram(buf, p, so::AF_INET, IpEndpoint::new(IpAddress::Ipv4(from), 0));
                    if !peek {
                        let _ = s.recv();
                        n.dirty = true;
                    }
                    return Some(Ok(out));
                }
            }
            if rd_shut {
                Some(Ok(Recvd::default()))
            } else {
                None
            }
        })
    }

    fn udp_send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        let dest = match &msg.addr {
            Some(raw) => {
                if raw.len() >= 2 && u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNSPEC && self.family == so::AF_INET
                {
                    None
                } else {
                    Some(parse(self.family, raw)?)
                }
            }
            None => None,
        };
        let max = if self.family == so::AF_INET6 { UDP_MAX_V6 } else { UDP_MAX_V4 };
        if msg.data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        let data = msg.data;
        self.send_loop(cx, nonblock, |n| {
            let remote = match n.rec(self.id)?.kind {
                Kind::Udp { remote, .. } => remote,
                _ => None,
            };
            let mut ep = match dest.or(remote) {
                Some(e) => e,
                None => return Err(Errno::EDESTADDRREQ),
            };
            if ep.port == 0 {
                return Err(Errno::EINVAL);
            }
            if ep.addr.is_unspecified() {
                ep.addr = match ep.addr {
                    IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                    IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
                };
            }
            let si = n.route(ep.addr)?;
            let hs = self.udp_handles(n)?;
            let h = *hs.iter().find(|h| h.0 == si).ok_or(Errno::ENETUNREACH)?;
            let s = n.stack(h.0).udp(h.1);
            if s.payload_send_capacity() < data.len() {
                return Err(Errno::EMSGSIZE);
            }
            match s.send_slice(&data, ep) {
                Ok(()) => {
                    n.dirty = true;
                    Ok(Some(data.len()))
                }
                Err(udp::SendError::BufferFull) => Ok(None),
                Err(udp::SendError::Unaddressable) => Err(Errno::ENETUNREACH),
            }
        })
    }

    /// A datagram send: `attempt` under the network's lock until it has sent
    /// (Some), fails, or the wait ends; EPIPE once shut for writing.
    fn send_loop(
        &self,
        cx: &Ctx,
        nonblock: bool,
        mut attempt: impl FnMut(&mut Net) -> Result<Option<usize>, Errno>,
    ) -> Result<usize, Errno> {
        block_on(cx, &[&self.wq], nonblock, self.timeo_snd(), || {
            with_net(|n| {
                let shut = n.rec(self.id).is_ok_and(|r| r.wr_shut);
                if shut { Err(Errno::EPIPE) } else { attempt(n) }.transpose()
            })
        })
    }

    /// A datagram receive: `attempt` (given whether the socket is shut for
    /// reading) under the network's lock until it gives a result or the wait
    /// ends; a pending error (`unreachable` for an ICMP error) comes first.
    fn recv_loop(
        &self,
        cx: &Ctx,
        nonblock: bool,
        unreachable: Errno,
        mut attempt: impl FnMut(&mut Net, bool) -> Option<Result<Recvd, Errno>>,
    ) -> Result<Recvd, Errno> {
        block_on(cx, &[&self.wq], nonblock, self.timeo_rcv(), || {
            with_net(|n| {
                let rec = n.rec(self.id).ok()?;
                if let Some(e) = rec.take_err(unreachable) {
                    return Some(Err(e));
                }
                let rd_shut = rec.rd_shut;
                attempt(n, rd_shut)
            })
        })
    }

    fn udp_recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        let peek = flags & so::MSG_PEEK != 0;
        let scope = self.scope();
        let family = self.family;
        let want = {
            let e = self.extra.lock();
            (e.pktinfo4, e.pktinfo6)
        };
        self.recv_loop(cx, nonblock, Errno::ECONNREFUSED, |n, rd_shut| {
            let (hs, remote) = match &mut n.rec(self.id).ok()?.kind {
                Kind::Udp { hs, remote, inbox } => {
                    // A datagram a socket of the other family took for this one.
                    while let Some((d, meta, idx)) = inbox.front() {
                        if remote.is_some_and(|rm| meta.endpoint != rm) {
                            inbox.pop_front();
                            continue;
                        }
                        let mut out = datagram(buf, d, family, meta.endpoint);
                        let (meta, idx) = (*meta, *idx);
                        if !peek {
                            inbox.pop_front();
                        }
                        out.cmsgs = pktinfo(n, idx, &meta, family, want);
                        return Some(Ok(out));
                    }
                    (hs.clone(), *remote)
                }
                _ => return Some(Err(Errno::EINVAL)),
            };
            // The first interface with a datagram waiting.
            let ready = hs.iter().copied().find(|h| n.stack(h.0).udp(h.1).can_recv());
            let Some(h) = ready else {
                return if rd_shut { Some(Ok(Recvd::default())) } else { None };
            };
            let s = n.stack(h.0).udp(h.1);
            loop {
                let r = if peek { s.peek().map(|(d, m)| (d, *m)) } else { s.recv() };
                let Ok((d, meta)) = r else {
                    return if rd_shut { Some(Ok(Recvd::default())) } else { None };
                };
                // Not from the connected peer, or of a family this socket does
                // not serve (one that came between the sorting passes).
                if remote.is_some_and(|rm| meta.endpoint != rm) || !scope.admits(meta.endpoint.addr) {
                    if peek {
                        let _ = s.recv();
                    }
                    continue;
                }
                let mut out = datagram(buf, d, family, meta.endpoint);
                out.cmsgs = pktinfo(n, h.0, &meta, family, want);
                // What is next must be settled before readiness is looked at.
                n.settle_udp(self.id);
                return Some(Ok(out));
            }
        })
    }
}

/// The packet-info control messages a datagram that came in on stack `idx`
/// carries, as the socket asked (`want`: IP_PKTINFO, IPV6_RECVPKTINFO): its
/// interface, the local address it came to and its destination address
/// (Linux's ip_cmsg_recv_pktinfo and ip6_datagram_recv_common_ctl).
fn pktinfo(
    n: &mut Net,
    idx: usize,
    meta: &udp::UdpMetadata,
    family: u16,
    want: (bool, bool),
) -> Vec<(i32, i32, Vec<u8>)> {
    let mut out = Vec::new();
    let (v4, v6) = match meta.local_address {
        Some(IpAddress::Ipv4(a)) => (Some(a), a.to_ipv6_mapped()),
        Some(IpAddress::Ipv6(a)) => (None, a),
        None => return out,
    };
    let ifindex = (idx as i32 + 1).to_ne_bytes();
    // As Linux: the IPv6 message first (ip6_datagram_recv_common_ctl).
    if want.1 && family == so::AF_INET6 {
        out.push((so::IPPROTO_IPV6 as i32, IPV6_PKTINFO, [&v6.octets()[..], &ifindex].concat()));
    }
    if let Some(dst) = v4.filter(|_| want.0) {
        // A datagram to an address not the interface's own (broadcast, multicast)
        // is answered from the interface's first IPv4 address.
        let own: Vec<_> = n.stacks.get(idx).map_or(Vec::new(), |st| {
            st.iface
                .ip_addrs()
                .iter()
                .filter_map(|c| match c.address() {
                    IpAddress::Ipv4(a) => Some(a),
                    _ => None,
                })
                .collect()
        });
        let spec = if own.contains(&dst) { dst } else { own.first().copied().unwrap_or(dst) };
        out.push((so::IPPROTO_IP as i32, IP_PKTINFO, [&ifindex[..], &spec.octets(), &dst.octets()].concat()));
    }
    out
}

/// A datagram from `from` as recvfrom returns it into `buf` (cut to its size,
/// with MSG_TRUNC then).
fn datagram(buf: &mut [u8], d: &[u8], family: u16, from: IpEndpoint) -> Recvd {
    let k = d.len().min(buf.len());
    if let (Some(dst), Some(src)) = (buf.get_mut(..k), d.get(..k)) {
        dst.copy_from_slice(src);
    }
    let mut out = Recvd { len: k, full: d.len(), from: Some(encode(family, from)), ..Default::default() };
    if k < d.len() {
        out.flags |= so::MSG_TRUNC;
    }
    out
}

impl Socket for InetSocket {
    fn family(&self) -> u16 {
        self.family
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> i32 {
        self.protocol
    }
    fn opts(&self) -> &Opts {
        &self.opts
    }
    fn wq(&self) -> &WaitQueue {
        &self.wq
    }

    fn poll(&self) -> u32 {
        with_net(|n| n.readiness(self.id).0)
    }

    fn bind(&self, _cx: &Ctx, raw: &[u8]) -> Result<(), Errno> {
        let ep = match parse(self.family, raw) {
            // AF_UNSPEC with INADDR_ANY binds as AF_INET (Linux's compatibility rule).
            Err(Errno::EAFNOSUPPORT)
                if self.family == so::AF_INET
                    && raw.len() >= 16
                    && u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNSPEC
                    && raw[4..8] == [0, 0, 0, 0] =>
            {
                IpEndpoint { addr: unspecified(so::AF_INET), port: u16::from_be_bytes([raw[2], raw[3]]) }
            }
            r => r?,
        };
        if self.ty == so::SOCK_RAW {
            // Only the address: a raw socket has no port (Linux's raw_bind).
            return with_net(|n| {
                let ok = ep.addr.is_unspecified() || n.stacks.iter().any(|s| s.has_addr(ep.addr));
                let Kind::Raw { local, .. } = &mut n.rec(self.id)?.kind else { return Err(Errno::EINVAL) };
                if !ok {
                    return Err(Errno::EADDRNOTAVAIL);
                }
                *local = Some(ep.addr);
                n.dirty = true;
                Ok(())
            });
        }
        with_net(|n| {
            let rec = n.rec(self.id)?;
            let fresh = match &rec.kind {
                Kind::TcpIdle => true,
                Kind::Udp { hs, .. } => hs.is_empty(),
                _ => false,
            };
            // A bind that left its port to connect (IP_BIND_ADDRESS_NO_PORT) may be
            // made again, as on Linux.
            if rec.bound.is_some_and(|b| b.port != 0) || !fresh {
                return Err(Errno::EINVAL);
            }
            let b = self.bind_as(n, ep, true)?;
            // Without a port yet, the first datagram makes the handles.
            if self.ty == so::SOCK_DGRAM && b.port != 0 {
                self.udp_handles(n)?;
            }
            Ok(())
        })
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if self.ty != so::SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = (backlog as u32 as usize).min(super::unix::SOMAXCONN);
        with_net(|n| {
            let rec = n.rec(self.id)?;
            match &mut rec.kind {
                Kind::TcpListen { backlog: b, .. } => {
                    *b = backlog;
                    n.dirty = true;
                    return Ok(());
                }
                Kind::TcpIdle => {}
                _ => return Err(Errno::EINVAL),
            }
            match rec.bound {
                None => {
                    self.do_bind(n, IpEndpoint { addr: unspecified(self.family), port: 0 })?;
                }
                // Bound with IP_BIND_ADDRESS_NO_PORT: the port is picked now.
                Some(b) if b.port == 0 => {
                    self.do_bind(n, IpEndpoint { addr: b.addr.unwrap_or_else(|| unspecified(self.family)), port: 0 })?;
                }
                Some(_) => {}
            }
            // A listener's port must not be shared with another listener unless
            // both asked for SO_REUSEPORT.
            let rec = n.rec(self.id)?;
            let b = rec.bound.ok_or(Errno::EINVAL)?;
            let reuseport = rec.reuseport;
            let clash = n.on_port(true, b.port, self.id).any(|(r, ob)| {
                matches!(r.kind, Kind::TcpListen { .. }) && ob.overlaps(&b) && !(reuseport && r.reuseport)
            });
            if clash {
                return Err(Errno::EADDRINUSE);
            }
            n.rec(self.id)?.kind =
                Kind::TcpListen { backlog, pool: Vec::new(), half: Vec::new(), queue: VecDeque::new() };
            n.gather_listeners();
            n.service_listeners();
            n.dirty = true;
            Ok(())
        })
    }

    fn accept(&self, cx: &Ctx, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno> {
        if self.ty != so::SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let timeo = self.timeo_rcv();
        let (h, remote) = block_on(cx, &[&self.wq], nonblock, timeo, || {
            with_net(|n| -> Option<Result<(H, IpEndpoint), Errno>> {
                loop {
                    let rec = n.rec(self.id).ok()?;
                    let Kind::TcpListen { queue, .. } = &mut rec.kind else { return Some(Err(Errno::EINVAL)) };
                    let h = queue.pop_front()?;
                    n.dirty = true;
                    let s = n.stack(h.0).tcp(h.1);
                    let Some(remote) = s.remote_endpoint() else {
                        n.drop_handle(h);
                        continue;
                    };
                    // An AF_INET listener takes no IPv6 connection.
                    if self.family == so::AF_INET && matches!(remote.addr, IpAddress::Ipv6(_)) {
                        s.abort();
                        n.orphans.push((h, crate::time::monotonic_ns()));
                        continue;
                    }
                    return Some(Ok((h, remote)));
                }
            })
        })?;
        let new = create(self.family, self.ty, self.protocol)?;
        let ns = match new.as_any().downcast_ref::<InetSocket>() {
            Some(s) => s,
            None => return Err(Errno::ENOMEM),
        };
        ns.opts.inherit(&self.opts);
        ns.nodelay.store(self.nodelay.load(Ordering::Relaxed), Ordering::Relaxed);
        ns.v6only.store(self.v6only.load(Ordering::Relaxed), Ordering::Relaxed);
        let local = with_net(|n| {
            let local = n.stack(h.0).tcp(h.1).local_endpoint();
            ns.apply_tcp(n.stack(h.0).tcp(h.1));
            if let Ok(rec) = n.rec(ns.id) {
                rec.kind = Kind::TcpConn { h, connecting: false, seen_open: true, prev: tcp::State::Established };
                // Accepted connections share the listener's port.
                rec.reuseport = true;
                rec.reuseaddr = true;
            }
            n.set_bound(ns.id, local.map(|l| Bind { addr: Some(l.addr), port: l.port, scope: Scope::Both }));
            let r = n.readiness(ns.id);
            if let Ok(rec) = n.rec(ns.id) {
                rec.last = r;
            }
            local
        });
        let _ = local;
        Ok((new, encode(self.family, remote)))
    }

    fn connect(&self, cx: &Ctx, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
        if self.ty == so::SOCK_STREAM {
            return self.tcp_connect(cx, raw, nonblock);
        }
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNSPEC {
            return with_net(|n| {
                let rec = n.rec(self.id)?;
                rec.conn_local = None;
                if let Kind::Udp { remote, .. } | Kind::Raw { remote, .. } = &mut rec.kind {
                    *remote = None;
                }
                Ok(())
            });
        }
        if self.ty == so::SOCK_RAW {
            let ep = parse(self.family, raw)?;
            return with_net(|n| {
                n.route(if ep.addr.is_unspecified() { IpAddress::Ipv4(Ipv4Addr::LOCALHOST) } else { ep.addr })?;
                if let Kind::Raw { remote, .. } = &mut n.rec(self.id)?.kind {
                    *remote = Some(ep);
                }
                n.dirty = true;
                Ok(())
            });
        }
        let mut ep = parse(self.family, raw)?;
        if ep.addr.is_unspecified() {
            ep.addr = match ep.addr {
                IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Addr::LOCALHOST),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Addr::LOCALHOST),
            };
        }
        with_net(|n| {
            let si = n.route(ep.addr)?;
            let src = n.stack(si).iface.get_source_address(&ep.addr);
            self.udp_handles(n)?;
            let rec = n.rec(self.id)?;
            if let Kind::Udp { remote, .. } = &mut rec.kind {
                *remote = Some(ep);
            }
            if rec.bound.map(|b| b.addr.is_none()).unwrap_or(true) {
                rec.conn_local = src;
            }
            Ok(())
        })
    }

    fn send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        if self.ty == so::SOCK_RAW {
            return self.raw_send(cx, msg, nonblock);
        }
        if self.ty == so::SOCK_STREAM {
            // Linux ignores the address of a sendto on a TCP socket.
            self.tcp_send(cx, msg, nonblock)
        } else {
            self.udp_send(cx, msg, nonblock)
        }
    }

    fn recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if self.ty == so::SOCK_RAW {
            return self.raw_recv(cx, buf, flags, nonblock);
        }
        if self.ty == so::SOCK_STREAM {
            self.tcp_recv(cx, buf, flags, nonblock)
        } else {
            self.udp_recv(cx, buf, flags, nonblock)
        }
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        with_net(|n| {
            let rec = n.rec(self.id)?;
            let (rd, wr) = (how != 1, how != 0);
            let mut r = Ok(());
            match rec.kind {
                Kind::TcpConn { h, .. } => {
                    if rd {
                        rec.rd_shut = true;
                    }
                    if wr && !rec.wr_shut {
                        rec.wr_shut = true;
                        n.stack(h.0).tcp(h.1).close();
                    }
                }
                Kind::TcpListen { .. } if rd => {
                    // Linux disconnects a listener shut down for reading.
                    let old = core::mem::replace(&mut rec.kind, Kind::TcpIdle);
                    if let Kind::TcpListen { pool, half, queue, .. } = old {
                        for h in pool.into_iter().chain(half).chain(queue) {
                            n.stack(h.0).tcp(h.1).abort();
                            n.orphans.push((h, crate::time::monotonic_ns()));
                        }
                    }
                }
                Kind::Udp { remote: Some(_), .. } | Kind::Raw { remote: Some(_), .. } => {
                    rec.rd_shut |= rd;
                    rec.wr_shut |= wr;
                }
                _ => {
                    rec.rd_shut |= rd;
                    rec.wr_shut |= wr;
                    r = Err(Errno::ENOTCONN);
                }
            }
            n.dirty = true;
            r
        })
    }

    fn name(&self) -> Vec<u8> {
        with_net(|n| {
            let Ok(rec) = n.rec(self.id) else {
                return encode(self.family, IpEndpoint::new(unspecified(self.family), 0));
            };
            if let Kind::Raw { local, .. } = rec.kind {
                // The protocol in the port field, as Linux's inet_create sets it.
                return encode(
                    self.family,
                    IpEndpoint::new(local.unwrap_or(unspecified(self.family)), self.protocol as u16),
                );
            }
            let b = rec.bound;
            let cl = rec.conn_local;
            let kind_h = match rec.kind {
                Kind::TcpConn { h, .. } => Some(h),
                _ => None,
            };
            if let Some(h) = kind_h {
                if let Some(l) = n.stack(h.0).tcp(h.1).local_endpoint() {
                    return encode(self.family, l);
                }
            }
            let (addr, port) = match b {
                Some(b) => (b.addr.or(cl).unwrap_or(unspecified(self.family)), b.port),
                None => (unspecified(self.family), 0),
            };
            encode(self.family, IpEndpoint::new(addr, port))
        })
    }

    fn peer_name(&self) -> Result<Vec<u8>, Errno> {
        with_net(|n| {
            let rec = n.rec(self.id)?;
            match rec.kind {
                Kind::TcpConn { h, connecting, .. } => {
                    let s = n.stack(h.0).tcp(h.1);
                    if connecting && matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived) {
                        return Err(Errno::ENOTCONN);
                    }
                    s.remote_endpoint().map(|e| encode(self.family, e)).ok_or(Errno::ENOTCONN)
                }
                Kind::Udp { remote: Some(r), .. } => Ok(encode(self.family, r)),
                // Connected to port 0, as raw sockets are: Linux's inet_getname
                // has no peer to name.
                Kind::Raw { remote: Some(r), .. } if r.port != 0 => Ok(encode(self.family, r)),
                _ => Err(Errno::ENOTCONN),
            }
        })
    }

    fn take_error(&self) -> i32 {
        with_net(|n| n.rec(self.id).map(|r| core::mem::take(&mut r.err)).unwrap_or(0))
    }

    fn listening(&self) -> bool {
        with_net(|n| matches!(n.rec(self.id).map(|r| &r.kind), Ok(Kind::TcpListen { .. })))
    }

    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> Result<(), Errno> {
        let lvl = level as u32;
        let v = opt_int(val);
        match (lvl, name) {
            (so::SOL_SOCKET, SO_KEEPALIVE) | (so::SOL_SOCKET, SO_SNDBUF) | (so::SOL_SOCKET, SO_RCVBUF) => {
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_TCP, _) if self.ty != so::SOCK_STREAM => Err(Errno::ENOPROTOOPT),
            (so::IPPROTO_TCP, TCP_NODELAY) => {
                self.nodelay.store(v? != 0, Ordering::Relaxed);
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_TCP, TCP_KEEPIDLE) | (so::IPPROTO_TCP, TCP_KEEPINTVL) => {
                let v = v?;
                if !(1..=32767).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                if name == TCP_KEEPIDLE {
                    self.keepidle.store(v as u32, Ordering::Relaxed);
                } else {
                    self.keepintvl.store(v as u32, Ordering::Relaxed);
                }
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_TCP, TCP_KEEPCNT) => {
                let v = v?;
                if !(1..=127).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.keepcnt.store(v as u32, Ordering::Relaxed);
                Ok(())
            }
            (so::IPPROTO_TCP, TCP_CORK | TCP_QUICKACK | TCP_USER_TIMEOUT | TCP_DEFER_ACCEPT | TCP_FASTOPEN)
            | (so::IPPROTO_TCP, TCP_SYNCNT | TCP_LINGER2 | TCP_WINDOW_CLAMP | TCP_NOTSENT_LOWAT | TCP_MAXSEG) => {
                let v = v?;
                let listening_or_closed = with_net(|n| {
                    matches!(n.rec(self.id).map(|r| &r.kind), Ok(Kind::TcpListen { .. }) | Ok(Kind::TcpIdle) | Err(_))
                });
                {
                    let mut e = self.extra.lock();
                    match name {
                        TCP_CORK => e.cork = v != 0,
                        TCP_QUICKACK => e.quickack = v != 0,
                        TCP_USER_TIMEOUT if v < 0 => return Err(Errno::EINVAL),
                        TCP_USER_TIMEOUT => e.user_timeout = v as u32,
                        TCP_DEFER_ACCEPT => e.defer_accept = secs_to_retrans(v),
                        TCP_FASTOPEN if v < 0 || !listening_or_closed => return Err(Errno::EINVAL),
                        TCP_FASTOPEN => e.fastopen = v.min(crate::net::unix::SOMAXCONN as i32),
                        TCP_SYNCNT if !(1..=127).contains(&v) => return Err(Errno::EINVAL),
                        TCP_SYNCNT => e.syncnt = v as u8,
                        TCP_LINGER2 => e.linger2 = if v < 0 { -1 } else { v.min(120) },
                        TCP_WINDOW_CLAMP if v == 0 && !listening_or_closed => return Err(Errno::EINVAL),
                        TCP_WINDOW_CLAMP => e.window_clamp = if v == 0 { 0 } else { v.max(2304 / 2) },
                        TCP_NOTSENT_LOWAT => e.notsent_lowat = v as u32,
                        TCP_MAXSEG if v != 0 && !(88..=32767).contains(&v) => return Err(Errno::EINVAL),
                        _ => e.user_mss = v as u16,
                    }
                }
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_TCP, TCP_CONGESTION) => {
                let name = val.split(|&c| c == 0).next().unwrap_or(&[]);
                let algo = match name.get(..name.len().min(15)) {
                    Some(b"cubic") => "cubic",
                    Some(b"reno") => "reno",
                    _ => return Err(Errno::ENOENT),
                };
                self.extra.lock().congestion = algo;
                Ok(())
            }
            (so::IPPROTO_TCP, _) => Err(Errno::ENOPROTOOPT),
            // Linux's raw_seticmpfilter: only on an ICMP socket.
            (lvl, ICMP_FILTER) if lvl == SOL_RAW as u32 && self.ty == so::SOCK_RAW && self.protocol != IPPROTO_ICMP => {
                Err(Errno::EOPNOTSUPP)
            }
            (lvl, ICMP_FILTER) if lvl == SOL_RAW as u32 && self.ty == so::SOCK_RAW => {
                // Linux takes up to four bytes, fewer too.
                let mut m = [0u8; 4];
                let k = val.len().min(4);
                m[..k].copy_from_slice(&val[..k]);
                with_net(|n| {
                    if let Kind::Raw { filter, .. } = &mut n.rec(self.id)?.kind {
                        *filter = u32::from_ne_bytes(m);
                    }
                    n.dirty = true;
                    Ok(())
                })
            }
            (so::IPPROTO_IP, IP_HDRINCL) if self.ty == so::SOCK_RAW => {
                if v? != 0 {
                    crate::syscall::report_unsupported("setsockopt (IP_HDRINCL)");
                    return Err(Errno::ENOPROTOOPT);
                }
                Ok(())
            }
            (so::IPPROTO_IP, IP_TOS) if self.family == so::AF_INET => {
                self.tos.store((ip_opt_int(val) & 0xff) as u32 & !3, Ordering::Relaxed);
                Ok(())
            }
            (so::IPPROTO_IP, IP_TTL) if self.family == so::AF_INET => {
                let v = ip_opt_int(val);
                if v != -1 && !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.ttl.store(if v == -1 { 64 } else { v as u32 }, Ordering::Relaxed);
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_IPV6, IPV6_V6ONLY) if self.family == so::AF_INET6 => {
                let v = v?;
                let bound = with_net(|n| n.rec(self.id).map(|r| r.bound.is_some()).unwrap_or(false));
                if bound {
                    return Err(Errno::EINVAL);
                }
                self.v6only.store(v != 0, Ordering::Relaxed);
                Ok(())
            }
            (so::IPPROTO_IPV6, IPV6_UNICAST_HOPS) if self.family == so::AF_INET6 => {
                let v = v?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.ttl.store(if v == -1 { 64 } else { v as u32 }, Ordering::Relaxed);
                self.reapply();
                Ok(())
            }
            (so::IPPROTO_IPV6, IPV6_TCLASS) if self.family == so::AF_INET6 => {
                self.tos.store((v? & 0xff) as u32, Ordering::Relaxed);
                Ok(())
            }
            (so::IPPROTO_IP, IP_MULTICAST_TTL) if self.family == so::AF_INET && self.ty == so::SOCK_DGRAM => {
                let v = ip_opt_int(val);
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.extra.lock().mc_ttl = if v == -1 { 1 } else { v as u8 };
                Ok(())
            }
            (so::IPPROTO_IP, IP_MULTICAST_LOOP) if self.family == so::AF_INET => {
                self.extra.lock().mc_loop = ip_opt_int(val) != 0;
                Ok(())
            }
            (so::IPPROTO_IP, IP_RECVERR) | (so::IPPROTO_IPV6, IPV6_RECVERR) => {
                self.extra.lock().recverr = opt_int(val)? != 0;
                Ok(())
            }
            (so::IPPROTO_IP, IP_PKTINFO) => {
                self.extra.lock().pktinfo4 = ip_opt_int(val) != 0;
                Ok(())
            }
            (so::IPPROTO_IP, IP_FREEBIND) => {
                self.extra.lock().freebind = ip_opt_int(val) != 0;
                Ok(())
            }
            (so::IPPROTO_IPV6, IPV6_FREEBIND) if self.family == so::AF_INET6 => {
                self.extra.lock().freebind = opt_int(val)? != 0;
                Ok(())
            }
            (so::IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT) => {
                self.extra.lock().bind_no_port = ip_opt_int(val) != 0;
                Ok(())
            }
            (so::IPPROTO_IPV6, IPV6_RECVPKTINFO) if self.family == so::AF_INET6 => {
                self.extra.lock().pktinfo6 = opt_int(val)? != 0;
                Ok(())
            }
            (so::IPPROTO_IP, IP_MTU_DISCOVER) | (so::IPPROTO_IPV6, IPV6_MTU_DISCOVER) => {
                let v = opt_int(val)?;
                if !(0..=5).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.extra.lock().pmtudisc = v as u8;
                Ok(())
            }
            (so::IPPROTO_IP, _) | (so::IPPROTO_IPV6, _) => {
                crate::syscall::report_unsupported("setsockopt (IP/IPv6 option)");
                Err(Errno::ENOPROTOOPT)
            }
            (so::SOL_SOCKET, _) => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        let lvl = level as u32;
        let b = |x: bool| int_val(i32::from(x));
        match (lvl, name) {
            (lvl, ICMP_FILTER) if lvl == SOL_RAW as u32 && self.ty == so::SOCK_RAW && self.protocol != IPPROTO_ICMP => {
                Err(Errno::EOPNOTSUPP)
            }
            (lvl, ICMP_FILTER) if lvl == SOL_RAW as u32 && self.ty == so::SOCK_RAW => {
                with_net(|n| match n.rec(self.id)?.kind {
                    Kind::Raw { filter, .. } => Ok(filter.to_ne_bytes().to_vec()),
                    _ => Err(Errno::ENOPROTOOPT),
                })
            }
            (so::IPPROTO_IP, IP_HDRINCL) if self.ty == so::SOCK_RAW => Ok(b(false)),
            (so::IPPROTO_TCP, _) if self.ty != so::SOCK_STREAM => Err(Errno::EOPNOTSUPP),
            (so::IPPROTO_TCP, TCP_NODELAY) => Ok(b(self.nodelay.load(Ordering::Relaxed))),
            (so::IPPROTO_TCP, TCP_KEEPIDLE) => Ok(int_val(self.keepidle.load(Ordering::Relaxed) as i32)),
            (so::IPPROTO_TCP, TCP_KEEPINTVL) => Ok(int_val(self.keepintvl.load(Ordering::Relaxed) as i32)),
            (so::IPPROTO_TCP, TCP_KEEPCNT) => Ok(int_val(self.keepcnt.load(Ordering::Relaxed) as i32)),
            (so::IPPROTO_TCP, TCP_MAXSEG) => {
                let user = self.extra.lock().user_mss;
                let unconnected = with_net(|n| !matches!(n.rec(self.id).map(|r| &r.kind), Ok(Kind::TcpConn { .. })));
                Ok(int_val(if user != 0 && unconnected { i32::from(user) } else { 536 }))
            }
            (so::IPPROTO_TCP, TCP_CORK | TCP_QUICKACK | TCP_USER_TIMEOUT | TCP_DEFER_ACCEPT | TCP_FASTOPEN)
            | (so::IPPROTO_TCP, TCP_SYNCNT | TCP_LINGER2 | TCP_WINDOW_CLAMP | TCP_NOTSENT_LOWAT) => {
                let e = *self.extra.lock();
                Ok(int_val(match name {
                    TCP_CORK => i32::from(e.cork),
                    TCP_QUICKACK => i32::from(e.quickack),
                    TCP_USER_TIMEOUT => e.user_timeout as i32,
                    TCP_DEFER_ACCEPT => retrans_to_secs(e.defer_accept),
                    TCP_FASTOPEN => e.fastopen,
                    TCP_SYNCNT => {
                        if e.syncnt == 0 {
                            6
                        } else {
                            i32::from(e.syncnt)
                        }
                    }
                    TCP_LINGER2 => {
                        if e.linger2 == 0 {
                            60
                        } else {
                            e.linger2
                        }
                    }
                    TCP_WINDOW_CLAMP => e.window_clamp,
                    _ => e.notsent_lowat as i32,
                }))
            }
            (so::IPPROTO_TCP, TCP_CONGESTION) => {
                let mut v = self.extra.lock().congestion.as_bytes().to_vec();
                v.resize(16, 0);
                Ok(v)
            }
            (so::IPPROTO_TCP, _) => {
                crate::syscall::report_unsupported("getsockopt (TCP option)");
                Err(Errno::ENOPROTOOPT)
            }
            (so::IPPROTO_IP, IP_TOS) if self.family == so::AF_INET => {
                Ok(int_val(self.tos.load(Ordering::Relaxed) as i32))
            }
            (so::IPPROTO_IP, IP_TTL) if self.family == so::AF_INET => {
                Ok(int_val(self.ttl.load(Ordering::Relaxed) as i32))
            }
            (so::IPPROTO_IPV6, IPV6_V6ONLY) if self.family == so::AF_INET6 => {
                Ok(b(self.v6only.load(Ordering::Relaxed)))
            }
            (so::IPPROTO_IPV6, IPV6_UNICAST_HOPS) if self.family == so::AF_INET6 => {
                Ok(int_val(self.ttl.load(Ordering::Relaxed) as i32))
            }
            (so::IPPROTO_IPV6, IPV6_TCLASS) if self.family == so::AF_INET6 => {
                Ok(int_val(self.tos.load(Ordering::Relaxed) as i32))
            }
            (so::IPPROTO_IP, IP_MULTICAST_TTL) if self.family == so::AF_INET => {
                Ok(int_val(i32::from(self.extra.lock().mc_ttl)))
            }
            (so::IPPROTO_IP, IP_MULTICAST_LOOP) if self.family == so::AF_INET => Ok(b(self.extra.lock().mc_loop)),
            (so::IPPROTO_IP, IP_RECVERR) | (so::IPPROTO_IPV6, IPV6_RECVERR) => Ok(b(self.extra.lock().recverr)),
            (so::IPPROTO_IP, IP_PKTINFO) => Ok(b(self.extra.lock().pktinfo4)),
            (so::IPPROTO_IP, IP_FREEBIND) => Ok(b(self.extra.lock().freebind)),
            (so::IPPROTO_IPV6, IPV6_FREEBIND) if self.family == so::AF_INET6 => Ok(b(self.extra.lock().freebind)),
            (so::IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT) => Ok(b(self.extra.lock().bind_no_port)),
            (so::IPPROTO_IPV6, IPV6_RECVPKTINFO) if self.family == so::AF_INET6 => Ok(b(self.extra.lock().pktinfo6)),
            (so::IPPROTO_IP, IP_MTU_DISCOVER) | (so::IPPROTO_IPV6, IPV6_MTU_DISCOVER) => {
                Ok(int_val(i32::from(self.extra.lock().pmtudisc)))
            }
            (so::IPPROTO_IP, _) | (so::IPPROTO_IPV6, _) => Err(Errno::ENOPROTOOPT),
            (so::SOL_SOCKET, _) => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    fn msg_limit(&self) -> usize {
        if self.ty == so::SOCK_DGRAM {
            if self.family == so::AF_INET6 {
                UDP_MAX_V6
            } else {
                UDP_MAX_V4
            }
        } else {
            usize::MAX
        }
    }

    fn net_state(&self) -> Option<super::NetState> {
        let state = with_net(|n| {
            let Ok(rec) = n.rec(self.id) else { return TCP_CLOSE };
            match rec.kind {
                Kind::TcpIdle => TCP_CLOSE,
                Kind::TcpListen { .. } => TCP_LISTEN,
                Kind::TcpConn { h, .. } => linux_tcp_state(n.stack(h.0).tcp(h.1).state()),
                Kind::Udp { remote, .. } | Kind::Raw { remote, .. } => {
                    if remote.is_some() {
                        TCP_ESTABLISHED
                    } else {
                        TCP_CLOSE
                    }
                }
            }
        });
        Some(super::NetState { family: self.family, ty: self.ty & 0xf, state })
    }

    fn inq(&self) -> usize {
        with_net(|n| {
            let Ok(rec) = n.rec(self.id) else { return 0 };
            match rec.kind {
                Kind::TcpConn { h, .. } => n.stack(h.0).tcp(h.1).recv_queue(),
                Kind::Udp { ref hs, .. } => {
                    let hs = hs.clone();
                    hs.iter().find_map(|h| n.stack(h.0).udp(h.1).peek().map(|(d, _)| d.len()).ok()).unwrap_or(0)
                }
                Kind::Raw { ref hs, .. } => {
                    let hs = hs.clone();
                    hs.iter().find_map(|h| n.stack(h.0).raw(h.1).peek().map(|p| p.len()).ok()).unwrap_or(0)
                }
                _ => 0,
            }
        })
    }

    fn outq(&self) -> usize {
        with_net(|n| {
            let Ok(rec) = n.rec(self.id) else { return 0 };
            match rec.kind {
                Kind::TcpConn { h, .. } => n.stack(h.0).tcp(h.1).send_queue(),
                Kind::Udp { ref hs, .. } => {
                    let hs = hs.clone();
                    hs.iter().map(|h| n.stack(h.0).udp(h.1).send_queue()).sum()
                }
                Kind::Raw { ref hs, .. } => {
                    let hs = hs.clone();
                    hs.iter().map(|h| n.stack(h.0).raw(h.1).send_queue()).sum()
                }
                _ => 0,
            }
        })
    }

    fn linger_close(&self, cx: &Ctx) {
        let (on, secs) = *self.opts.linger.lock();
        if on == 0 || secs == 0 {
            return;
        }
        // A negative time is, as an unsigned count, longer than any wait.
        let timeo = u64::try_from(secs).map_or(u64::MAX, |s| s.saturating_mul(1_000_000_000));
        let h = with_net(|n| {
            let Ok(Rec { kind: Kind::TcpConn { h, .. }, .. }) = n.rec(self.id) else { return None };
            let h = *h;
            let s = n.stack(h.0).tcp(h.1);
            // Unread data: the release resets the connection instead.
            if s.recv_queue() > 0 {
                return None;
            }
            s.close();
            n.dirty = true;
            Some(h)
        });
        let Some(h) = h else { return };
        // The outcome does not matter: close returns 0 after a timeout or a
        // signal too, and the connection goes on closing as an orphan.
        let _ = block_on(cx, &[&self.wq], false, timeo, || {
            with_net(|n| {
                let st = n.stack(h.0).tcp(h.1).state();
                (!matches!(st, tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck)).then_some(Ok(()))
            })
        });
    }

    fn release(&self) {
        with_net(|n| self.release_in(n));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl InetSocket {
    /// Lets go of the socket's record: a connection closes (or resets, with
    /// unread data or a zero linger time) and is kept as an orphan until done.
    fn release_in(&self, n: &mut Net) {
        let (linger_on, linger_s) = *self.opts.linger.lock();
        let Some(rec) = n.recs.remove(&self.id) else { return };
        if let Some(b) = rec.bound {
            n.unindex(rec.tcp, b.port, self.id);
        }
        let t = crate::time::monotonic_ns();
        // Only a closing connection or listener has segments to send: the
        // other kinds leave nothing to poll (a poll looks at every socket,
        // which closing thousands of bound sockets must not cost each).
        let poll = matches!(rec.kind, Kind::TcpConn { .. } | Kind::TcpListen { .. });
        match rec.kind {
            Kind::TcpConn { h, .. } => {
                let s = n.stack(h.0).tcp(h.1);
                // Unread data, or SO_LINGER with a zero timeout: reset.
                if s.recv_queue() > 0 || (linger_on != 0 && linger_s == 0) {
                    s.abort();
                } else {
                    s.close();
                }
                n.orphans.push((h, t));
            }
            Kind::TcpListen { pool, half, queue, .. } => {
                for h in pool {
                    n.drop_handle(h);
                }
                for h in half.into_iter().chain(queue) {
                    n.stack(h.0).tcp(h.1).abort();
                    n.orphans.push((h, t));
                }
            }
            Kind::Udp { hs, .. } | Kind::Raw { hs, .. } => {
                for h in hs {
                    n.drop_handle(h);
                }
            }
            Kind::TcpIdle => {}
        }
        n.dirty |= poll;
    }

    /// Applies TCP options to the connection (and to a listener's pool).
    fn reapply(&self) {
        with_net(|n| {
            let hs: Vec<H> = match n.rec(self.id).map(|r| &r.kind) {
                Ok(Kind::TcpConn { h, .. }) => vec![*h],
                Ok(Kind::TcpListen { pool, .. }) => pool.clone(),
                _ => Vec::new(),
            };
            for h in hs {
                self.apply_tcp(n.stack(h.0).tcp(h.1));
            }
        });
    }
}

/// A network interface as SIOCGIF* ioctls and netlink dumps describe it.
#[derive(Clone, Debug)]
pub struct IfInfo {
    /// Interface index (1: lo).
    pub index: i32,
    /// Name.
    pub name: &'static str,
    /// Whether it is the loopback interface.
    pub loopback: bool,
    /// MTU.
    pub mtu: u32,
    /// Hardware (MAC) address; zero for lo.
    pub mac: [u8; 6],
    /// Addresses and prefix lengths.
    pub addrs: Vec<(IpAddr, u8)>,
    /// The IPv4 default gateway through it, if any.
    pub gateway: Option<[u8; 4]>,
    /// Its traffic counters.
    pub stats: &'static Stats,
}

/// An interface address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpAddr {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

/// The interfaces: lo, then eth0 when the machine has a network device.
pub fn interfaces() -> Vec<IfInfo> {
    with_net(|n| {
        n.stacks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let loopback = matches!(s.dev, Dev::Loopback(_));
                // hardware_addr() is only for an Ethernet interface.
                let mac = if loopback {
                    [0; 6]
                } else {
                    match s.iface.hardware_addr() {
                        HardwareAddress::Ethernet(EthernetAddress(m)) => m,
                        _ => [0; 6],
                    }
                };
                let addrs = s
                    .iface
                    .ip_addrs()
                    .iter()
                    .map(|c| match c.address() {
                        IpAddress::Ipv4(a) => (IpAddr::V4(a.octets()), c.prefix_len()),
                        IpAddress::Ipv6(a) => (IpAddr::V6(a.octets()), c.prefix_len()),
                    })
                    .collect();
                let gateway = match s.iface.routes().get_default_ipv4_route().map(|r| r.via_router) {
                    Some(IpAddress::Ipv4(g)) => Some(g.octets()),
                    _ => None,
                };
                IfInfo {
                    index: i as i32 + 1,
                    name: if loopback { "lo" } else { "eth0" },
                    loopback,
                    mtu: if loopback { 65536 } else { 1500 },
                    mac,
                    addrs,
                    gateway,
                    stats: if loopback { &LO_STATS } else { &ETH_STATS },
                }
            })
            .collect()
    })
}
