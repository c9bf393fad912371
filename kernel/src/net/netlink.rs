//! AF_NETLINK sockets of the NETLINK_ROUTE protocol: the link, address and route
//! dumps programs use to list interfaces and routes (glibc's getifaddrs and
//! if_nameindex, Go's net.Interfaces, `ip addr`, `ip route`), and the SIOCGIF*
//! interface ioctls every socket answers. The interfaces are fixed, so requests
//! that would change them are refused (EOPNOTSUPP in an NLMSG_ERROR), and so are
//! the dumps elfin does not keep (neighbours, rules), by name in the log.
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use super::inet::{interfaces, IfInfo, IpAddr};
use super::{block_on, Opts, Recvd, SendMsg, Socket, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, WMEM_DEFAULT};
use crate::sync::Mutex;
use crate::task::{Ctx, WaitQueue};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::socket as so;

/// The routing protocol (the only one served).
pub const NETLINK_ROUTE: i32 = 0;
/// SOL_NETLINK.
const SOL_NETLINK: i32 = 270;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;
const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;
const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_HOST: u8 = 254;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_MULTICAST: u32 = 0x1000;
const IFF_LOWER_UP: u32 = 0x10000;
/// Largest datagram a dump fills (Linux's NLMSG_GOODSIZE on 4 KiB pages).
const GOODSIZE: usize = 4096;

/// Port ids given by autobind after the first socket of a process.
static NEXT_PORT: AtomicU32 = AtomicU32::new(0x8000_0000);
/// Port ids in use.
static PORTS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A NETLINK_ROUTE socket.
pub struct NetlinkSocket {
    ty: u32,
    opts: Opts,
    wq: WaitQueue,
    st: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Port id (0: not bound yet).
    port: u32,
    /// Multicast groups joined (bind's nl_groups).
    groups: u32,
    /// Replies waiting to be read, one datagram each.
    queue: VecDeque<Vec<u8>>,
    /// Bytes in `queue`.
    queued: usize,
    /// Replies were dropped for want of receive buffer: the next receive
    /// reports ENOBUFS, as Linux's netlink_overrun.
    overrun: bool,
    /// NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK, NETLINK_PKTINFO.
    flags: [i32; 4],
}

/// socket(AF_NETLINK, ty, protocol).
pub fn create(ty: u32, protocol: i32) -> Result<Arc<dyn Socket>, Errno> {
    if ty != so::SOCK_RAW && ty != so::SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != NETLINK_ROUTE {
        crate::syscall::report_unsupported("socket (AF_NETLINK protocol other than NETLINK_ROUTE)");
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(Arc::new(NetlinkSocket {
        ty,
        opts: Opts::new(WMEM_DEFAULT, WMEM_DEFAULT),
        wq: WaitQueue::new(),
        st: Mutex::new(State::default()),
    }))
}

/// An encoded sockaddr_nl.
fn sockaddr_nl(port: u32, groups: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(12);
    a.extend_from_slice(&so::AF_NETLINK.to_ne_bytes());
    a.extend_from_slice(&[0, 0]);
    a.extend_from_slice(&port.to_ne_bytes());
    a.extend_from_slice(&groups.to_ne_bytes());
    a
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

impl NetlinkSocket {
    /// Binds to `port` (0: the process id if free, else a unique negative id).
    fn bind_port(&self, st: &mut State, pid: i32, port: u32) -> Result<(), Errno> {
        let mut ports = PORTS.lock();
        let port = if port != 0 {
            if ports.contains(&port) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else if !ports.contains(&(pid as u32)) {
            pid as u32
        } else {
            loop {
                let p = NEXT_PORT.fetch_add(1, Ordering::Relaxed) | 0x8000_0000;
                if !ports.contains(&p) {
                    break p;
                }
            }
        };
        ports.push(port);
        st.port = port;
        Ok(())
    }

    /// The port id, bound automatically at first use.
    fn port(&self, cx: &Ctx) -> Result<u32, Errno> {
        let mut st = self.st.lock();
        if st.port == 0 {
            self.bind_port(&mut st, cx.proc.pid, 0)?;
        }
        Ok(st.port)
    }
}

/// Builds netlink messages for one request.
struct Reply {
    port: u32,
    seq: u32,
    /// Finished datagrams.
    grams: Vec<Vec<u8>>,
    cur: Vec<u8>,
    /// An NLMSG_ERROR with an error was added.
    failed: bool,
}

impl Reply {
    fn new(port: u32, seq: u32) -> Reply {
        Reply { port, seq, grams: Vec::new(), cur: Vec::new(), failed: false }
    }

    /// Appends a message of `ty` with `body` (header and attributes).
    fn push(&mut self, ty: u16, flags: u16, body: &[u8]) {
        let len = NLMSG_HDRLEN + body.len();
        if !self.cur.is_empty() && self.cur.len() + len.next_multiple_of(4) > GOODSIZE {
            self.grams.push(core::mem::take(&mut self.cur));
        }
        self.cur.extend_from_slice(&(len as u32).to_ne_bytes());
        self.cur.extend_from_slice(&ty.to_ne_bytes());
        self.cur.extend_from_slice(&flags.to_ne_bytes());
        self.cur.extend_from_slice(&self.seq.to_ne_bytes());
        self.cur.extend_from_slice(&self.port.to_ne_bytes());
        self.cur.extend_from_slice(body);
        self.cur.resize(self.cur.len().next_multiple_of(4), 0);
    }

    /// Ends a dump with NLMSG_DONE.
    fn done(&mut self) {
        self.push(NLMSG_DONE, NLM_F_MULTI, &0i32.to_ne_bytes());
    }

    /// An NLMSG_ERROR for `req` (an acknowledgement when `errno` is 0).
    fn error(&mut self, errno: i32, req: &[u8]) {
        self.failed |= errno != 0;
        let mut body = (-errno).to_ne_bytes().to_vec();
        // An error carries the whole request, an acknowledgement its header.
        body.extend_from_slice(if errno == 0 { req.get(..NLMSG_HDRLEN).unwrap_or(req) } else { req });
        self.push(NLMSG_ERROR, 0, &body);
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.cur.is_empty() {
            self.grams.push(self.cur);
        }
        self.grams
    }
}

/// Appends a route attribute.
fn attr(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Linux's interface flags for `i`, as netlink reports them.
fn if_flags(i: &IfInfo) -> u32 {
    let base = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
    if i.loopback {
        base | IFF_LOOPBACK
    } else {
        base | IFF_BROADCAST | IFF_MULTICAST
    }
}

fn name_z(i: &IfInfo) -> Vec<u8> {
    let mut n = i.name.as_bytes().to_vec();
    n.push(0);
    n
}

/// An RTM_NEWLINK body (ifinfomsg and attributes) for `i`.
fn link_msg(i: &IfInfo) -> Vec<u8> {
    let mut b = Vec::with_capacity(96);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&(if i.loopback { ARPHRD_LOOPBACK } else { ARPHRD_ETHER }).to_ne_bytes());
    b.extend_from_slice(&i.index.to_ne_bytes());
    b.extend_from_slice(&if_flags(i).to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    attr(&mut b, IFLA_IFNAME, &name_z(i));
    attr(&mut b, IFLA_MTU, &i.mtu.to_ne_bytes());
    attr(&mut b, IFLA_TXQLEN, &1000u32.to_ne_bytes());
    // IF_OPER_UNKNOWN for lo, IF_OPER_UP for a device.
    attr(&mut b, IFLA_OPERSTATE, &[if i.loopback { 0 } else { 6 }]);
    attr(&mut b, IFLA_ADDRESS, &i.mac);
    attr(&mut b, IFLA_BROADCAST, if i.loopback { &[0; 6] } else { &[0xff; 6] });
    b
}

/// RTM_NEWADDR bodies for the addresses of `i` in `family` (0: all).
fn addr_msgs(i: &IfInfo, family: u8) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for &(a, prefix) in &i.addrs {
        let (fam, bytes): (u8, Vec<u8>) = match a {
            IpAddr::V4(b) => (so::AF_INET as u8, b.to_vec()),
            IpAddr::V6(b) => (so::AF_INET6 as u8, b.to_vec()),
        };
        if family != 0 && family != fam {
            continue;
        }
        let mut b = Vec::with_capacity(64);
        let scope = if i.loopback { RT_SCOPE_HOST } else { 0 };
        b.extend_from_slice(&[fam, prefix, IFA_F_PERMANENT as u8, scope]);
        b.extend_from_slice(&(i.index as u32).to_ne_bytes());
        attr(&mut b, IFA_ADDRESS, &bytes);
        if let IpAddr::V4(v4) = a {
            attr(&mut b, IFA_LOCAL, &bytes);
            if !i.loopback {
                let host = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
                attr(&mut b, IFA_BROADCAST, &(u32::from_be_bytes(v4) | host).to_be_bytes());
            }
            attr(&mut b, IFA_LABEL, &name_z(i));
        }
        attr(&mut b, IFA_FLAGS, &IFA_F_PERMANENT.to_ne_bytes());
        out.push(b);
    }
    out
}

/// One route as RTM_NEWROUTE describes it.
struct Route {
    family: u8,
    table: u8,
    ty: u8,
    scope: u8,
    protocol: u8,
    dst: Vec<u8>,
    dst_len: u8,
    gateway: Option<[u8; 4]>,
    prefsrc: Option<Vec<u8>>,
    priority: Option<u32>,
    oif: i32,
}

impl Route {
    /// The rtmsg and its attributes.
    fn msg(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&[self.family, self.dst_len, 0, 0, self.table, self.protocol, self.scope, self.ty]);
        b.extend_from_slice(&0u32.to_ne_bytes());
        attr(&mut b, RTA_TABLE, &u32::from(self.table).to_ne_bytes());
        if self.dst_len > 0 {
            attr(&mut b, RTA_DST, &self.dst);
        }
        if let Some(p) = self.priority {
            attr(&mut b, RTA_PRIORITY, &p.to_ne_bytes());
        }
        if let Some(src) = &self.prefsrc {
            attr(&mut b, RTA_PREFSRC, src);
        }
        if let Some(g) = self.gateway {
            attr(&mut b, RTA_GATEWAY, &g);
        }
        attr(&mut b, RTA_OIF, &(self.oif as u32).to_ne_bytes());
        if self.family == so::AF_INET6 as u8 {
            // RTA_PREF: ICMPV6_ROUTER_PREF_MEDIUM.
            attr(&mut b, RTA_PREF, &[0]);
        }
        b
    }
}

/// The routes Linux makes for the interfaces' addresses and the default
/// gateway, in `family` (0: all): in the main table the subnets, the default
/// route and IPv6 prefixes; in the local table the local and broadcast
/// addresses.
fn routes(family: u8) -> Vec<Route> {
    let (v4, v6) = (so::AF_INET as u8, so::AF_INET6 as u8);
    let mut main = Vec::new();
    let mut local = Vec::new();
    for i in interfaces() {
        let base = |family, table, ty, scope, protocol, dst: Vec<u8>, dst_len| Route {
            family,
            table,
            ty,
            scope,
            protocol,
            dst,
            dst_len,
            gateway: None,
            prefsrc: None,
            priority: None,
            oif: i.index,
        };
        if let Some(g) = i.gateway {
            let mut r = base(v4, RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_UNIVERSE, RTPROT_BOOT, Vec::new(), 0);
            r.gateway = Some(g);
            main.push(r);
        }
        for &(a, prefix) in &i.addrs {
            match a {
                IpAddr::V4(b) => {
                    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
                    let net = (u32::from_be_bytes(b) & mask).to_be_bytes().to_vec();
                    let bcast = (u32::from_be_bytes(b) | !mask).to_be_bytes().to_vec();
                    if i.loopback {
                        // lo's whole prefix is local.
                        let mut r = base(v4, RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST, RTPROT_KERNEL, net, prefix);
                        r.prefsrc = Some(b.to_vec());
                        local.push(r);
                    } else {
                        let mut r = base(v4, RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK, RTPROT_KERNEL, net, prefix);
                        r.prefsrc = Some(b.to_vec());
                        main.push(r);
                    }
                    let mut r = base(v4, RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST, RTPROT_KERNEL, b.to_vec(), 32);
                    r.prefsrc = Some(b.to_vec());
                    local.push(r);
                    if prefix < 31 {
                        let mut r = base(v4, RT_TABLE_LOCAL, RTN_BROADCAST, RT_SCOPE_LINK, RTPROT_KERNEL, bcast, 32);
                        r.prefsrc = Some(b.to_vec());
                        local.push(r);
                    }
                }
                IpAddr::V6(b) => {
                    let mut net = b;
                    for (k, byte) in net.iter_mut().enumerate() {
                        let keep = u32::from(prefix).saturating_sub(8 * k as u32).min(8);
                        *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
                    }
                    if !i.loopback {
                        // (Recent kernels keep no prefix route for ::1 in the main table.)
                        let mut r = base(
                            v6,
                            RT_TABLE_MAIN,
                            RTN_UNICAST,
                            RT_SCOPE_UNIVERSE,
                            RTPROT_KERNEL,
                            net.to_vec(),
                            prefix,
                        );
                        r.priority = Some(256);
                        main.push(r);
                    }
                    let mut r = base(v6, RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_UNIVERSE, RTPROT_KERNEL, b.to_vec(), 128);
                    r.priority = Some(0);
                    local.push(r);
                }
            }
        }
    }
    main.into_iter().chain(local).filter(|r| family == 0 || r.family == family).collect()
}

/// Answers the requests in one datagram; the replies' datagrams.
fn answer(port: u32, data: &[u8]) -> Vec<Vec<u8>> {
    let mut grams = Vec::new();
    let mut at = 0;
    while data.len().saturating_sub(at) >= NLMSG_HDRLEN {
        let len = u32_at(data, at).unwrap_or(0) as usize;
        if len < NLMSG_HDRLEN || len > data.len().saturating_sub(at) {
            break;
        }
        let msg = data.get(at..at + len).unwrap_or(&[]);
        let ty = u16_at(msg, 4).unwrap_or(0);
        let flags = u16_at(msg, 6).unwrap_or(0);
        let seq = u32_at(msg, 8).unwrap_or(0);
        let body = msg.get(NLMSG_HDRLEN..).unwrap_or(&[]);
        let mut r = Reply::new(port, seq);
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        if flags & NLM_F_REQUEST == 0 || ty < 16 {
            // Not a request: Linux ignores it.
        } else if ty == RTM_GETLINK && dump {
            for i in interfaces() {
                r.push(RTM_NEWLINK, NLM_F_MULTI, &link_msg(&i));
            }
            r.done();
        } else if ty == RTM_GETLINK {
            // One interface, by index or by IFLA_IFNAME.
            let index = body.get(4..8).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
            let name = find_attr(body.get(16..).unwrap_or(&[]), IFLA_IFNAME)
                .map(|n| n.split(|&c| c == 0).next().unwrap_or(&[]).to_vec());
            let found = interfaces().into_iter().find(|i| {
                (index > 0 && i.index == index) || (index <= 0 && name.as_deref() == Some(i.name.as_bytes()))
            });
            match found {
                Some(i) => r.push(RTM_NEWLINK, 0, &link_msg(&i)),
                None => r.error(Errno::ENODEV as i32, msg),
            }
        } else if ty == RTM_GETADDR && dump {
            let family = body.first().copied().unwrap_or(0);
            for i in interfaces() {
                for m in addr_msgs(&i, family) {
                    r.push(RTM_NEWADDR, NLM_F_MULTI, &m);
                }
            }
            r.done();
        } else if ty == RTM_GETROUTE && dump {
            let family = body.first().copied().unwrap_or(0);
            for route in routes(family) {
                r.push(RTM_NEWROUTE, NLM_F_MULTI, &route.msg());
            }
            r.done();
        } else {
            crate::syscall::report_unsupported("netlink route request (only link, address and route dumps)");
            r.error(Errno::EOPNOTSUPP as i32, msg);
        }
        // Requests that asked for an acknowledgement and got no error get one.
        if flags & NLM_F_ACK != 0 && flags & NLM_F_REQUEST != 0 && !dump && ty >= 16 && !r.failed {
            r.error(0, msg);
        }
        grams.extend(r.finish());
        at += len.next_multiple_of(4);
    }
    grams
}

/// The payload of the first attribute of `ty` in `attrs`.
fn find_attr(attrs: &[u8], ty: u16) -> Option<&[u8]> {
    let mut at = 0;
    while attrs.len().saturating_sub(at) >= 4 {
        let len = usize::from(u16_at(attrs, at)?);
        if len < 4 || len > attrs.len().saturating_sub(at) {
            return None;
        }
        if u16_at(attrs, at + 2)? == ty {
            return attrs.get(at + 4..at + len);
        }
        at += len.next_multiple_of(4);
    }
    None
}

impl Socket for NetlinkSocket {
    fn family(&self) -> u16 {
        so::AF_NETLINK
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> i32 {
        NETLINK_ROUTE
    }
    fn opts(&self) -> &Opts {
        &self.opts
    }
    fn wq(&self) -> &WaitQueue {
        &self.wq
    }
    fn poll(&self) -> u32 {
        let st = self.st.lock();
        let readable = if st.queue.is_empty() && !st.overrun { 0 } else { POLLIN | POLLRDNORM };
        readable | POLLOUT | POLLWRNORM
    }
    fn bind(&self, cx: &Ctx, addr: &[u8]) -> Result<(), Errno> {
        if addr.len() < 12 || u16_at(addr, 0) != Some(so::AF_NETLINK) {
            return Err(Errno::EINVAL);
        }
        let port = u32_at(addr, 4).ok_or(Errno::EINVAL)?;
        let groups = u32_at(addr, 8).ok_or(Errno::EINVAL)?;
        let mut st = self.st.lock();
        if st.port == 0 {
            self.bind_port(&mut st, cx.proc.pid, port)?;
        } else if port != 0 && port != st.port {
            return Err(Errno::EINVAL);
        }
        // No interface ever changes, so a joined group never gets a message.
        st.groups = groups;
        Ok(())
    }
    fn listen(&self, _backlog: i32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn accept(&self, _cx: &Ctx, _nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn connect(&self, cx: &Ctx, addr: &[u8], _nonblock: bool) -> Result<(), Errno> {
        if addr.len() < 12 || u16_at(addr, 0) != Some(so::AF_NETLINK) {
            return Err(Errno::EINVAL);
        }
        // Only the kernel (port 0) answers.
        if u32_at(addr, 4) != Some(0) {
            return Err(Errno::ECONNREFUSED);
        }
        self.port(cx).map(|_| ())
    }
    fn send(&self, cx: &Ctx, msg: SendMsg, _nonblock: bool) -> Result<usize, Errno> {
        if let Some(a) = &msg.addr {
            if a.len() < 12 || u16_at(a, 0) != Some(so::AF_NETLINK) {
                return Err(Errno::EINVAL);
            }
            if u32_at(a, 4) != Some(0) {
                return Err(Errno::ECONNREFUSED);
            }
        }
        let port = self.port(cx)?;
        let grams = answer(port, &msg.data);
        if !grams.is_empty() {
            let limit = self.opts.rcvbuf.load(Ordering::Relaxed) as usize;
            let mut st = self.st.lock();
            for g in grams {
                if st.queued + g.len() > limit {
                    st.overrun = true;
                    break;
                }
                st.queued += g.len();
                st.queue.push_back(g);
            }
            drop(st);
            self.wq.wake_all();
        }
        Ok(msg.data.len())
    }
    fn recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        let timeo = self.opts.rcvtimeo.load(Ordering::Relaxed);
        block_on(cx, &[&self.wq], nonblock, timeo, || {
            let mut st = self.st.lock();
            if st.overrun {
                st.overrun = false;
                return Some(Err(Errno::ENOBUFS));
            }
            let gram = if flags & so::MSG_PEEK != 0 { st.queue.front().cloned() } else { st.queue.pop_front() }?;
            if flags & so::MSG_PEEK == 0 {
                st.queued -= gram.len();
            }
            let n = gram.len().min(buf.len());
            buf.get_mut(..n)?.copy_from_slice(gram.get(..n)?);
            Some(Ok(Recvd {
                len: n,
                full: gram.len(),
                from: Some(sockaddr_nl(0, 0)),
                flags: if n < gram.len() { so::MSG_TRUNC } else { 0 },
                ..Recvd::default()
            }))
        })
    }
    fn shutdown(&self, _how: u32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn name(&self) -> Vec<u8> {
        let st = self.st.lock();
        sockaddr_nl(st.port, st.groups)
    }
    fn peer_name(&self) -> Result<Vec<u8>, Errno> {
        Ok(sockaddr_nl(0, 0))
    }
    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> Result<(), Errno> {
        if level != SOL_NETLINK {
            return Err(Errno::ENOPROTOOPT);
        }
        let v = super::opt_int(val)?;
        let mut st = self.st.lock();
        match name {
            // NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP: group numbers.
            1 | 2 if !(1..=32).contains(&v) => Err(Errno::EINVAL),
            1 => {
                st.groups |= 1 << (v - 1);
                Ok(())
            }
            2 => {
                st.groups &= !(1 << (v - 1));
                Ok(())
            }
            3 | 10 | 11 | 12 => {
                let i = match name {
                    3 => 3,
                    10 => 1,
                    11 => 0,
                    _ => 2,
                };
                if let Some(f) = st.flags.get_mut(i) {
                    *f = i32::from(v != 0);
                }
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }
    fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        if level != SOL_NETLINK {
            return Err(Errno::ENOPROTOOPT);
        }
        let st = self.st.lock();
        let i = match name {
            3 => 3,
            10 => 1,
            11 => 0,
            12 => 2,
            _ => return Err(Errno::ENOPROTOOPT),
        };
        Ok(super::int_val(st.flags.get(i).copied().unwrap_or(0)))
    }
    fn inq(&self) -> usize {
        self.st.lock().queue.front().map_or(0, |g| g.len())
    }
    fn release(&self) {
        let port = self.st.lock().port;
        if port != 0 {
            PORTS.lock().retain(|&p| p != port);
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The SIOCGIF* ioctls (on any socket): None when `cmd` is not one of them.
pub fn ifreq_ioctl(cx: &Ctx, cmd: u32, arg: u64) -> Option<Result<u64, Errno>> {
    const SIOCGIFNAME: u32 = 0x8910;
    const SIOCGIFCONF: u32 = 0x8912;
    const SIOCGIFFLAGS: u32 = 0x8913;
    const SIOCGIFADDR: u32 = 0x8915;
    const SIOCGIFBRDADDR: u32 = 0x8919;
    const SIOCGIFNETMASK: u32 = 0x891b;
    const SIOCGIFMETRIC: u32 = 0x891d;
    const SIOCGIFMTU: u32 = 0x8921;
    const SIOCGIFHWADDR: u32 = 0x8927;
    const SIOCGIFINDEX: u32 = 0x8933;
    const SIOCGIFTXQLEN: u32 = 0x8942;
    if !matches!(
        cmd,
        SIOCGIFNAME
            | SIOCGIFCONF
            | SIOCGIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMETRIC
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
    ) {
        return None;
    }
    Some(ifreq(cx, cmd, elfin_shim::UAddr(arg)))
}

/// sockaddr_in of `a` as the 16 bytes of an ifreq's address.
fn sin(a: [u8; 4]) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..2].copy_from_slice(&so::AF_INET.to_ne_bytes());
    s[4..8].copy_from_slice(&a);
    s
}

fn ifreq(cx: &Ctx, cmd: u32, arg: elfin_shim::UAddr) -> Result<u64, Errno> {
    let ifs = interfaces();
    let v4 = |i: &IfInfo| {
        i.addrs.iter().find_map(|&(a, p)| match a {
            IpAddr::V4(b) => Some((b, p)),
            IpAddr::V6(_) => None,
        })
    };
    if cmd == 0x8912 {
        // SIOCGIFCONF: struct ifconf { int len; char *buf; }.
        let len: i32 = cx.read_val(arg)?;
        let buf: u64 = cx.read_val(elfin_shim::UAddr(arg.0 + 8))?;
        let mut out = Vec::new();
        for i in ifs.iter() {
            if let Some((a, _)) = v4(i) {
                let mut req = [0u8; 40];
                req[..i.name.len()].copy_from_slice(i.name.as_bytes());
                req[16..32].copy_from_slice(&sin(a));
                out.push(req);
            }
        }
        let n = if buf == 0 {
            out.len()
        } else {
            let room = usize::try_from(len.max(0)).unwrap_or(0) / 40;
            for (k, req) in out.iter().take(room).enumerate() {
                cx.write_bytes(elfin_shim::UAddr(buf + 40 * k as u64), req)?;
            }
            out.len().min(room)
        };
        cx.write_val(arg, &((n * 40) as i32))?;
        return Ok(0);
    }
    let mut req: [u8; 40] = cx.read_val(arg)?;
    let iface = if cmd == 0x8910 {
        // SIOCGIFNAME: by ifr_ifindex.
        let index = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
        let i = ifs.iter().find(|i| i.index == index).ok_or(Errno::ENODEV)?;
        req[..16].fill(0);
        req[..i.name.len()].copy_from_slice(i.name.as_bytes());
        cx.write_val(arg, &req)?;
        return Ok(0);
    } else {
        let name = req[..16].split(|&c| c == 0).next().unwrap_or(&[]);
        ifs.iter().find(|i| i.name.as_bytes() == name).ok_or(Errno::ENODEV)?
    };
    let data = &mut req[16..40];
    data.fill(0);
    let int = |d: &mut [u8], v: i32| d[..4].copy_from_slice(&v.to_ne_bytes());
    match cmd {
        0x8913 => int(data, (if_flags(iface) & 0xffff) as i32),
        0x8915 | 0x8919 | 0x891b => {
            let (a, p) = v4(iface).ok_or(Errno::EADDRNOTAVAIL)?;
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p)) };
            let value = match cmd {
                0x8915 => a,
                0x891b => mask.to_be_bytes(),
                _ if iface.loopback => [0; 4],
                _ => (u32::from_be_bytes(a) | !mask).to_be_bytes(),
            };
            data[..16].copy_from_slice(&sin(value));
        }
        0x891d => int(data, 0),
        0x8921 => int(data, iface.mtu as i32),
        0x8927 => {
            let family = if iface.loopback { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
            data[..2].copy_from_slice(&family.to_ne_bytes());
            data[2..8].copy_from_slice(&iface.mac);
        }
        0x8933 => int(data, iface.index),
        _ => int(data, 1000),
    }
    cx.write_val(arg, &req)?;
    Ok(0)
}
