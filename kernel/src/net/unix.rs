//! AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, named by a path
//! (a socket inode in the filesystem), by a name in the abstract namespace, or
//! unnamed; SCM_RIGHTS and SCM_CREDENTIALS ride with the messages.
//!
//! The shape follows Linux's net/unix/af_unix.c: a connect to a listener creates
//! the server's end at once (queued on the listener until accepted), so that the
//! client may send before the server accepts; the peers point to each other by
//! weak references, and the last close of one end shuts the other down. No lock of
//! one socket is held while another socket's is taken, and whatever a socket
//! drops (queued messages carrying descriptors) is dropped outside its lock.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::socket as so;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::Ucred;

use super::*;
use crate::fs::file::FileLike;
use crate::fs::{self, next_ino as fs_next_ino, Inode, Meta};
use crate::task::{Ctx, WaitQueue};

/// The two ends of a socketpair.
pub type SocketPair = (Arc<dyn Socket>, Arc<dyn Socket>);

/// Linux's net.core.somaxconn.
pub const SOMAXCONN: usize = 4096;
/// Linux's net.unix.max_dgram_qlen.
const MAX_DGRAM_QLEN: usize = 10;
const RCV_SHUTDOWN: u32 = 1;
const SEND_SHUTDOWN: u32 = 2;
const SHUTDOWN_MASK: u32 = 3;

/// The address of an AF_UNIX socket.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum UnixAddr {
    /// Not bound.
    #[default]
    Unnamed,
    /// A filesystem path, as given to bind.
    Path(Vec<u8>),
    /// A name in the abstract namespace (without the leading NUL).
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// The `sockaddr_un` bytes getsockname reports.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = so::AF_UNIX.to_ne_bytes().to_vec();
        match self {
            UnixAddr::Unnamed => {}
            UnixAddr::Path(p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
            UnixAddr::Abstract(n) => {
                v.push(0);
                v.extend_from_slice(n);
            }
        }
        v
    }

    /// Parses a `sockaddr_un` of `raw.len()` bytes (Linux's unix_validate_addr and
    /// unix_mkname): EINVAL for a short, long or foreign address.
    pub fn parse(raw: &[u8]) -> Result<UnixAddr, Errno> {
        if raw.len() <= 2 || raw.len() > 110 {
            return Err(Errno::EINVAL);
        }
        let fam = u16::from_ne_bytes([raw[0], raw[1]]);
        if fam != so::AF_UNIX {
            return Err(Errno::EINVAL);
        }
        let path = raw.get(2..).unwrap_or(&[]);
        if path.first() == Some(&0) {
            return Ok(UnixAddr::Abstract(path.get(1..).unwrap_or(&[]).to_vec()));
        }
        let n = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        Ok(UnixAddr::Path(path.get(..n).unwrap_or(&[]).to_vec()))
    }
}

/// A message (a datagram or record, or a piece of a stream) in a receive queue.
struct Msg {
    data: Vec<u8>,
    /// Bytes already read (streams).
    off: usize,
    rights: Vec<Arc<OpenFile>>,
    cred: Ucred,
    /// The sender's address when it was sent (None when unnamed).
    from: Option<Vec<u8>>,
}

#[derive(Default)]
struct St {
    addr: UnixAddr,
    listening: bool,
    backlog: usize,
    /// Connections waiting for accept (the server ends).
    pending: VecDeque<Arc<UnixSocket>>,
    /// Stream/seqpacket: the other end; dgram: the default destination.
    peer: Option<Weak<UnixSocket>>,
    /// The peer's address when the connection was made.
    peer_addr: UnixAddr,
    /// Stream/seqpacket: a connection was made.
    connected: bool,
    recvq: VecDeque<Msg>,
    rq_bytes: usize,
    shutdown: u32,
    err: i32,
    peercred: Option<Ucred>,
    /// Credentials of the process that called listen (the connecting side's
    /// SO_PEERCRED).
    listen_cred: Option<Ucred>,
    dead: bool,
}

/// An AF_UNIX socket.
pub struct UnixSocket {
    ty: u32,
    me: Weak<UnixSocket>,
    opts: Opts,
    wq: WaitQueue,
    st: Mutex<St>,
}

/// Sockets bound to a name in the abstract namespace.
static ABSTRACT: Mutex<BTreeMap<Vec<u8>, Weak<UnixSocket>>> = Mutex::new(BTreeMap::new());
/// Sockets bound to a path, by the inode number of their socket node.
static BY_INODE: Mutex<BTreeMap<u64, Weak<UnixSocket>>> = Mutex::new(BTreeMap::new());
static AUTOBIND: AtomicU64 = AtomicU64::new(0);

fn stream_like(ty: u32) -> bool {
    ty == so::SOCK_STREAM || ty == so::SOCK_SEQPACKET
}

impl UnixSocket {
    fn new(ty: u32) -> Arc<UnixSocket> {
        Arc::new_cyclic(|me| UnixSocket {
            ty,
            me: me.clone(),
            opts: Opts::new(WMEM_DEFAULT, WMEM_DEFAULT),
            wq: WaitQueue::new(),
            st: Mutex::new(St::default()),
        })
    }

    /// socket(AF_UNIX, ty, protocol).
    pub fn create(ty: u32, protocol: i32) -> Result<Arc<dyn Socket>, Errno> {
        if protocol != 0 && protocol != i32::from(so::AF_UNIX) {
            return Err(Errno::EPROTONOSUPPORT);
        }
        match ty {
            so::SOCK_STREAM | so::SOCK_DGRAM | so::SOCK_SEQPACKET => Ok(UnixSocket::new(ty)),
            // SOCK_RAW is accepted by Linux as SOCK_DGRAM.
            so::SOCK_RAW => Ok(UnixSocket::new(so::SOCK_DGRAM)),
            _ => Err(Errno::ESOCKTNOSUPPORT),
        }
    }

    /// socketpair(AF_UNIX, ty, protocol): two connected sockets.
    pub fn pair(cx: &Ctx, ty: u32, protocol: i32) -> Result<SocketPair, Errno> {
        if protocol != 0 && protocol != i32::from(so::AF_UNIX) {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let ty = match ty {
            so::SOCK_STREAM | so::SOCK_DGRAM | so::SOCK_SEQPACKET => ty,
            so::SOCK_RAW => so::SOCK_DGRAM,
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        let a = UnixSocket::new(ty);
        let b = UnixSocket::new(ty);
        let cred = own_cred(cx);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut s = x.st.lock();
            s.peer = Some(Arc::downgrade(y));
            s.connected = stream_like(ty);
            s.peercred = Some(cred);
        }
        Ok((a, b))
    }

    fn peer(&self) -> Option<Arc<UnixSocket>> {
        self.st.lock().peer.as_ref().and_then(|w| w.upgrade())
    }

    fn alive(&self) -> bool {
        !self.st.lock().dead
    }

    fn my_addr(&self) -> Option<Vec<u8>> {
        match &self.st.lock().addr {
            UnixAddr::Unnamed => None,
            a => Some(a.encode()),
        }
    }

    /// Finds the socket bound to `addr` (Linux's unix_find_other).
    fn find(cx: &Ctx, addr: &UnixAddr) -> Result<Arc<UnixSocket>, Errno> {
        match addr {
            UnixAddr::Unnamed => Err(Errno::EINVAL),
            UnixAddr::Abstract(n) => {
                ABSTRACT.lock().get(n).and_then(|w| w.upgrade()).filter(|s| s.alive()).ok_or(Errno::ECONNREFUSED)
            }
            UnixAddr::Path(p) => {
                let base = cx.cwd();
                let r = cx.resolve(&base, p, true)?;
                if fs::ftype(&*r.node) != S_IFSOCK {
                    return Err(Errno::ECONNREFUSED);
                }
                BY_INODE
                    .lock()
                    .get(&r.node.ino())
                    .and_then(|w| w.upgrade())
                    .filter(|s| s.alive())
                    .ok_or(Errno::ECONNREFUSED)
            }
        }
    }

    fn autobind(&self) -> Result<(), Errno> {
        for _ in 0..0x100000 {
            let n = AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff;
            let name = alloc::format!("{:05x}", n).into_bytes();
            let mut t = ABSTRACT.lock();
            if t.get(&name).and_then(|w| w.upgrade()).is_some() {
                continue;
            }
            t.insert(name.clone(), self.me.clone());
            drop(t);
            self.st.lock().addr = UnixAddr::Abstract(name);
            return Ok(());
        }
        Err(Errno::ENOSPC)
    }

    /// Queues `m` on this socket (the receiver) and wakes its readers.
    fn enqueue(&self, m: Msg) {
        let mut s = self.st.lock();
        s.rq_bytes += m.data.len();
        s.recvq.push_back(m);
        drop(s);
        self.wq.wake_all();
    }

    fn stream_send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        if msg.addr.is_some() {
            return Err(if self.st.lock().connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
        }
        if msg.flags & so::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let (peer, shut) = {
            let s = self.st.lock();
            if !s.connected {
                return Err(Errno::ENOTCONN);
            }
            (s.peer.clone(), s.shutdown)
        };
        if shut & SEND_SHUTDOWN != 0 {
            return Err(Errno::EPIPE);
        }
        let from = self.my_addr();
        let cred = msg.creds.unwrap_or_else(|| own_cred(cx));
        let mut rights = Some(msg.rights);
        let data = msg.data;
        let mut sent = 0usize;
        let sndbuf = self.opts.sndbuf.load(Ordering::Relaxed) as usize;
        let timeo = self.opts.sndtimeo.load(Ordering::Relaxed);
        loop {
            let peer_wq = peer.as_ref().and_then(|w| w.upgrade());
            let Some(p) = peer_wq else {
                return if sent > 0 { Ok(sent) } else { Err(Errno::EPIPE) };
            };
            let step = block_on(cx, &[&self.wq, &p.wq], nonblock, timeo, || {
                if self.st.lock().shutdown & SEND_SHUTDOWN != 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let mut ps = p.st.lock();
                if ps.dead || ps.shutdown & RCV_SHUTDOWN != 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let space = sndbuf.saturating_sub(ps.rq_bytes);
                if space == 0 {
                    return None;
                }
                let rest = data.get(sent..).unwrap_or(&[]);
                let n = rest.len().min(space);
                ps.rq_bytes += n;
                ps.recvq.push_back(Msg {
                    data: rest.get(..n).unwrap_or(&[]).to_vec(),
                    off: 0,
                    rights: rights.take().unwrap_or_default(),
                    cred,
                    from: from.clone(),
                });
                Some(Ok(n))
            });
            match step {
                Ok(n) => {
                    sent += n;
                    p.wq.wake_all();
                    if sent >= data.len() {
                        return Ok(sent);
                    }
                }
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            }
        }
    }

    fn dgram_send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        if msg.flags & so::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let seqpacket = self.ty == so::SOCK_SEQPACKET;
        let dest_addr = if seqpacket { None } else { msg.addr.as_deref().map(UnixAddr::parse).transpose()? };
        {
            let s = self.st.lock();
            if seqpacket && !s.connected {
                return Err(Errno::ENOTCONN);
            }
            if s.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
        }
        let sndbuf = self.opts.sndbuf.load(Ordering::Relaxed) as usize;
        if msg.data.len() > sndbuf.saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        let other = match &dest_addr {
            Some(a) => {
                let o = UnixSocket::find(cx, a)?;
                if o.ty != self.ty {
                    return Err(Errno::EPROTOTYPE);
                }
                o
            }
            None => {
                let (peer, had) = {
                    let s = self.st.lock();
                    (s.peer.as_ref().and_then(|w| w.upgrade()), s.peer.is_some())
                };
                match peer {
                    Some(p) if !p.st.lock().dead => p,
                    _ if had => {
                        if seqpacket {
                            return Err(Errno::EPIPE);
                        }
                        // The default destination is gone: disconnect (Linux's
                        // unix_dgram_sendmsg on a dead peer).
                        self.st.lock().peer = None;
                        return Err(Errno::ECONNREFUSED);
                    }
                    _ => return Err(Errno::ENOTCONN),
                }
            }
        };
        if !seqpacket {
            // unix_may_send: a socket connected elsewhere takes nothing from us.
            let op = other.st.lock().peer.clone();
            if let Some(op) = op {
                if !Weak::ptr_eq(&op, &self.me) && !core::ptr::eq(Arc::as_ptr(&other), self) {
                    return Err(Errno::EPERM);
                }
            }
        }
        let from = self.my_addr();
        let cred = msg.creds.unwrap_or_else(|| own_cred(cx));
        let other_peer_is_me = other.st.lock().peer.as_ref().map(|w| Weak::ptr_eq(w, &self.me)).unwrap_or(false);
        let timeo = self.opts.sndtimeo.load(Ordering::Relaxed);
        let mut msg = Some(msg);
        let len = msg.as_ref().map(|m| m.data.len()).unwrap_or(0);
        block_on(cx, &[&self.wq, &other.wq], nonblock, timeo, || {
            let os = other.st.lock();
            if os.dead {
                return Some(Err(if seqpacket { Errno::EPIPE } else { Errno::ECONNREFUSED }));
            }
            if os.shutdown & RCV_SHUTDOWN != 0 {
                return Some(Err(Errno::EPIPE));
            }
            let full_q = !other_peer_is_me && !seqpacket && os.recvq.len() > MAX_DGRAM_QLEN;
            let full_mem = os.rq_bytes > 0 && os.rq_bytes + len > sndbuf;
            if full_q || full_mem {
                return None;
            }
            drop(os);
            let m = msg.take()?;
            other.enqueue(Msg { data: m.data, off: 0, rights: m.rights, cred, from: from.clone() });
            Some(Ok(len))
        })
    }

    fn stream_recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if flags & so::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if !self.st.lock().connected {
            return Err(Errno::EINVAL);
        }
        let peek = flags & so::MSG_PEEK != 0;
        let passcred = self.opts.has(flag::PASSCRED);
        let lowat = self.opts.rcvlowat.load(Ordering::Relaxed).max(1) as usize;
        let target = if flags & so::MSG_WAITALL != 0 { buf.len() } else { lowat.min(buf.len()) }.max(1);
        let timeo = self.opts.rcvtimeo.load(Ordering::Relaxed);
        let mut out = Recvd::default();
        let mut got_cred: Option<Ucred> = None;
        let mut done_rights = false;
        loop {
            let step = block_on(cx, &[&self.wq], nonblock || out.len > 0 && out.len >= target, timeo, || {
                let mut s = self.st.lock();
                if s.recvq.is_empty() {
                    if s.err != 0 && out.len == 0 {
                        let e = core::mem::take(&mut s.err);
                        return Some(Err(Errno::from_i32(e).unwrap_or(Errno::ECONNRESET)));
                    }
                    if s.shutdown & RCV_SHUTDOWN != 0 {
                        return Some(Ok(true));
                    }
                    return None;
                }
                // Copy from the queued pieces.
                let mut i = 0usize;
                while out.len < buf.len() {
                    let Some(m) = s.recvq.get_mut(i) else { break };
                    if passcred {
                        match got_cred {
                            Some(c) if c != m.cred => break,
                            None => got_cred = Some(m.cred),
                            _ => {}
                        }
                    }
                    if out.from.is_none() && out.len == 0 {
                        out.from = m.from.clone();
                    }
                    let avail = m.data.get(m.off..).unwrap_or(&[]);
                    let n = avail.len().min(buf.len() - out.len);
                    if let (Some(dst), Some(src)) = (buf.get_mut(out.len..out.len + n), avail.get(..n)) {
                        dst.copy_from_slice(src);
                    }
                    out.len += n;
                    let has_rights = !m.rights.is_empty();
                    if peek {
                        if has_rights {
                            out.rights.extend(m.rights.iter().cloned());
                            done_rights = true;
                            break;
                        }
                        i += 1;
                        continue;
                    }
                    m.off += n;
                    if has_rights {
                        out.rights.append(&mut m.rights);
                        done_rights = true;
                    }
                    if m.off < m.data.len() {
                        break;
                    }
                    s.rq_bytes -= m.data.len();
                    s.recvq.pop_front();
                    if done_rights {
                        break;
                    }
                }
                Some(Ok(false))
            });
            match step {
                Ok(eof) => {
                    if !peek {
                        if let Some(p) = self.peer() {
                            p.wq.wake_all();
                        }
                        self.wq.wake_all();
                    }
                    if eof || out.len >= target || done_rights || peek || out.len >= buf.len() {
                        break;
                    }
                }
                Err(e) if out.len > 0 => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        out.full = out.len;
        out.creds = if passcred { got_cred.or(Some(Ucred { pid: 0, uid: u32::MAX, gid: u32::MAX })) } else { None };
        Ok(out)
    }

    fn dgram_recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if flags & so::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let seqpacket = self.ty == so::SOCK_SEQPACKET;
        if seqpacket && !self.st.lock().connected {
            return Err(Errno::ENOTCONN);
        }
        let peek = flags & so::MSG_PEEK != 0;
        let timeo = self.opts.rcvtimeo.load(Ordering::Relaxed);
        let r = block_on(cx, &[&self.wq], nonblock, timeo, || {
            let mut s = self.st.lock();
            let Some(m) = s.recvq.front_mut() else {
                if s.err != 0 {
                    let e = core::mem::take(&mut s.err);
                    return Some(Err(Errno::from_i32(e).unwrap_or(Errno::ECONNRESET)));
                }
                if s.shutdown & RCV_SHUTDOWN != 0 {
                    return Some(Ok(None));
                }
                return None;
            };
            let n = m.data.len().min(buf.len());
            if let (Some(d), Some(src)) = (buf.get_mut(..n), m.data.get(..n)) {
                d.copy_from_slice(src);
            }
            let mut out =
                Recvd { len: n, full: m.data.len(), from: m.from.clone(), creds: Some(m.cred), ..Default::default() };
            if n < m.data.len() {
                out.flags |= so::MSG_TRUNC;
            }
            if peek {
                out.rights = m.rights.clone();
                return Some(Ok(Some((out, None))));
            }
            out.rights = core::mem::take(&mut m.rights);
            let gone = s.recvq.pop_front();
            if let Some(g) = &gone {
                s.rq_bytes -= g.data.len();
            }
            Some(Ok(Some((out, gone))))
        })?;
        let Some((mut out, gone)) = r else {
            return Ok(Recvd::default());
        };
        drop(gone);
        if !peek {
            if let Some(p) = self.peer() {
                p.wq.wake_all();
            }
            // Senders blocked on a full queue wait on our queue too.
            self.wq.wake_all();
        }
        if !self.opts.has(flag::PASSCRED) {
            out.creds = None;
        }
        if seqpacket {
            out.from = None;
        }
        Ok(out)
    }
}

impl Socket for UnixSocket {
    fn family(&self) -> u16 {
        so::AF_UNIX
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn opts(&self) -> &Opts {
        &self.opts
    }
    fn wq(&self) -> &WaitQueue {
        &self.wq
    }

    fn poll(&self) -> u32 {
        let s = self.st.lock();
        let mut m = 0;
        if s.err != 0 {
            m |= POLLERR;
        }
        if s.shutdown == SHUTDOWN_MASK {
            m |= POLLHUP;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            m |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if !s.recvq.is_empty() || (s.listening && !s.pending.is_empty()) {
            m |= POLLIN | POLLRDNORM;
        }
        if stream_like(self.ty) && !s.connected && !s.listening {
            m |= POLLHUP;
        }
        if s.listening {
            return m;
        }
        let sndbuf = self.opts.sndbuf.load(Ordering::Relaxed) as usize;
        let peer = s.peer.clone();
        drop(s);
        let mut writable = true;
        if let Some(p) = peer.and_then(|w| w.upgrade()) {
            let ps = p.st.lock();
            let to_me = ps.peer.as_ref().map(|w| Weak::ptr_eq(w, &self.me)).unwrap_or(false);
            if !ps.dead {
                if ps.rq_bytes >= sndbuf {
                    writable = false;
                }
                if self.ty == so::SOCK_DGRAM && !to_me && ps.recvq.len() > MAX_DGRAM_QLEN {
                    writable = false;
                }
            }
        }
        if writable {
            m |= POLLOUT | POLLWRNORM | POLLWRBAND;
        }
        m
    }

    fn bind(&self, cx: &Ctx, raw: &[u8]) -> Result<(), Errno> {
        if raw.len() == 2 && u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNIX {
            // Linux's unix_autobind: nothing to do when already bound.
            if self.st.lock().addr != UnixAddr::Unnamed {
                return Ok(());
            }
            return self.autobind();
        }
        let addr = UnixAddr::parse(raw)?;
        let bound = self.st.lock().addr != UnixAddr::Unnamed;
        match &addr {
            UnixAddr::Abstract(n) => {
                if bound {
                    return Err(Errno::EINVAL);
                }
                let mut t = ABSTRACT.lock();
                if t.get(n).and_then(|w| w.upgrade()).is_some() {
                    return Err(Errno::EADDRINUSE);
                }
                t.insert(n.clone(), self.me.clone());
            }
            UnixAddr::Path(p) => {
                let base = cx.cwd();
                let (parent, name) = cx.resolve_parent(&base, p)?;
                if name.is_empty() || p.last() == Some(&b'/') {
                    return Err(Errno::EEXIST);
                }
                // Linux makes the node first: an existing name wins over EINVAL.
                if parent.node.lookup(&name).is_ok() {
                    return Err(Errno::EADDRINUSE);
                }
                if bound {
                    return Err(Errno::EINVAL);
                }
                let umask = cx.fs().lock().umask;
                let (uid, gid) = {
                    let c = cx.proc.cred.lock();
                    (c.uid[3], c.gid[3])
                };
                let node = SockNode::new(S_IFSOCK | (0o777 & !umask), uid, gid, parent.node.dev());
                let ino = node.ino();
                parent.node.insert(&name, node)?;
                BY_INODE.lock().insert(ino, self.me.clone());
            }
            UnixAddr::Unnamed => return Err(Errno::EINVAL),
        }
        self.st.lock().addr = addr;
        Ok(())
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !stream_like(self.ty) {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.st.lock();
        if s.addr == UnixAddr::Unnamed || s.connected {
            return Err(Errno::EINVAL);
        }
        s.backlog = (backlog as u32 as usize).min(SOMAXCONN);
        if !s.listening {
            s.listening = true;
            if let Some(t) = crate::task::sched::try_current() {
                let c = t.process.cred.lock();
                s.listen_cred = Some(Ucred { pid: t.process.pid, uid: c.uid[1], gid: c.gid[1] });
            }
        }
        drop(s);
        self.wq.wake_all();
        Ok(())
    }

    fn accept(&self, cx: &Ctx, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno> {
        if !stream_like(self.ty) {
            return Err(Errno::EOPNOTSUPP);
        }
        if !self.st.lock().listening {
            return Err(Errno::EINVAL);
        }
        let timeo = self.opts.rcvtimeo.load(Ordering::Relaxed);
        let new = block_on(cx, &[&self.wq], nonblock, timeo, || {
            let mut s = self.st.lock();
            if !s.listening {
                return Some(Err(Errno::EINVAL));
            }
            s.pending.pop_front().map(Ok)
        })?;
        // A connector blocked on a full backlog may go on.
        self.wq.wake_all();
        let peer_addr = new.st.lock().peer_addr.encode();
        if self.opts.has(flag::PASSCRED) {
            new.opts.flags.fetch_or(flag::PASSCRED, Ordering::Relaxed);
        }
        Ok((new, peer_addr))
    }

    fn connect(&self, cx: &Ctx, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
        if self.ty == so::SOCK_DGRAM {
            if raw.len() < 2 {
                return Err(Errno::EINVAL);
            }
            if u16::from_ne_bytes([raw[0], raw[1]]) == so::AF_UNSPEC {
                let mut s = self.st.lock();
                s.peer = None;
                s.peer_addr = UnixAddr::Unnamed;
                return Ok(());
            }
            let addr = UnixAddr::parse(raw)?;
            let other = UnixSocket::find(cx, &addr)?;
            if other.ty != self.ty {
                return Err(Errno::EPROTOTYPE);
            }
            let op = other.st.lock().peer.clone();
            if let Some(op) = op {
                if !Weak::ptr_eq(&op, &self.me) && !core::ptr::eq(Arc::as_ptr(&other), self) {
                    return Err(Errno::EPERM);
                }
            }
            let oaddr = other.st.lock().addr.clone();
            let mut s = self.st.lock();
            s.peer = Some(Arc::downgrade(&other));
            s.peer_addr = oaddr;
            drop(s);
            self.wq.wake_all();
            return Ok(());
        }
        let addr = UnixAddr::parse(raw)?;
        {
            let s = self.st.lock();
            if s.connected {
                return Err(Errno::EISCONN);
            }
            if s.listening {
                return Err(Errno::EINVAL);
            }
        }
        let other = UnixSocket::find(cx, &addr)?;
        if other.ty != self.ty {
            return Err(Errno::EPROTOTYPE);
        }
        let timeo = self.opts.sndtimeo.load(Ordering::Relaxed);
        // Wait for room in the backlog.
        block_on(cx, &[&other.wq], nonblock, timeo, || {
            let s = other.st.lock();
            if !s.listening || s.dead {
                return Some(Err(Errno::ECONNREFUSED));
            }
            if s.pending.len() > s.backlog {
                return None;
            }
            Some(Ok(()))
        })?;
        if self.st.lock().connected {
            return Err(Errno::EISCONN);
        }
        let server = UnixSocket::new(self.ty);
        let (laddr, lcred) = {
            let s = other.st.lock();
            (s.addr.clone(), s.listen_cred)
        };
        let my_addr = self.st.lock().addr.clone();
        {
            let mut n = server.st.lock();
            n.addr = laddr.clone();
            n.peer = Some(self.me.clone());
            n.peer_addr = my_addr;
            n.connected = true;
            n.peercred = Some(own_cred(cx));
        }
        {
            let mut s = self.st.lock();
            s.peer = Some(Arc::downgrade(&server));
            s.peer_addr = laddr;
            s.connected = true;
            s.peercred = lcred;
        }
        other.st.lock().pending.push_back(server);
        other.wq.wake_all();
        self.wq.wake_all();
        Ok(())
    }

    fn send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno> {
        if self.ty == so::SOCK_STREAM {
            self.stream_send(cx, msg, nonblock)
        } else {
            self.dgram_send(cx, msg, nonblock)
        }
    }

    fn recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if self.ty == so::SOCK_STREAM {
            self.stream_recv(cx, buf, flags, nonblock)
        } else {
            self.dgram_recv(cx, buf, flags, nonblock)
        }
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        if how > 2 {
            return Err(Errno::EINVAL);
        }
        let mode = how + 1;
        let peer = {
            let mut s = self.st.lock();
            s.shutdown |= mode;
            s.peer.clone()
        };
        self.wq.wake_all();
        if stream_like(self.ty) {
            if let Some(p) = peer.and_then(|w| w.upgrade()) {
                let mut pm = 0;
                if mode & RCV_SHUTDOWN != 0 {
                    pm |= SEND_SHUTDOWN;
                }
                if mode & SEND_SHUTDOWN != 0 {
                    pm |= RCV_SHUTDOWN;
                }
                p.st.lock().shutdown |= pm;
                p.wq.wake_all();
            }
        }
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        self.st.lock().addr.encode()
    }

    fn peer_name(&self) -> Result<Vec<u8>, Errno> {
        let s = self.st.lock();
        if s.peer.is_none() || (stream_like(self.ty) && !s.connected) {
            return Err(Errno::ENOTCONN);
        }
        let live = s.peer.as_ref().and_then(|w| w.upgrade());
        let a = s.peer_addr.clone();
        drop(s);
        Ok(match live {
            Some(p) => p.st.lock().addr.encode(),
            None => a.encode(),
        })
    }

    fn take_error(&self) -> i32 {
        core::mem::take(&mut self.st.lock().err)
    }

    fn listening(&self) -> bool {
        self.st.lock().listening
    }

    fn net_state(&self) -> Option<super::NetState> {
        // SS_CONNECTED for a connected stream or a socket with a peer (a pair, a
        // connected datagram socket), else SS_UNCONNECTED (listeners too).
        let s = self.st.lock();
        let connected = if stream_like(self.ty) { s.connected } else { s.peer.is_some() };
        Some(super::NetState { family: so::AF_UNIX, ty: self.ty & 0xf, state: if connected { 3 } else { 1 } })
    }

    fn peer_cred(&self) -> Option<Ucred> {
        let s = self.st.lock();
        if s.listening {
            return s.listen_cred;
        }
        s.peercred
    }

    fn inq(&self) -> usize {
        let s = self.st.lock();
        if stream_like(self.ty) {
            s.recvq.iter().map(|m| m.data.len() - m.off).sum()
        } else {
            s.recvq.front().map(|m| m.data.len()).unwrap_or(0)
        }
    }

    fn setsockopt(&self, level: i32, name: i32, _val: &[u8]) -> Result<(), Errno> {
        // SO_REUSEPORT is for inet sockets only (Linux 6.x: EOPNOTSUPP).
        if level == so::SOL_SOCKET as i32 && name == elfin_shim::uapi::sockopt::SO_REUSEPORT {
            return Err(Errno::EOPNOTSUPP);
        }
        Err(Errno::EOPNOTSUPP)
    }

    fn msg_limit(&self) -> usize {
        if self.ty == so::SOCK_STREAM {
            usize::MAX
        } else {
            (self.opts.sndbuf.load(Ordering::Relaxed) as usize).saturating_sub(32)
        }
    }

    fn outq(&self) -> usize {
        self.peer().map(|p| p.st.lock().rq_bytes).unwrap_or(0)
    }

    fn release(&self) {
        let (pending, recvq, peer, addr, had_data) = {
            let mut s = self.st.lock();
            s.dead = true;
            s.listening = false;
            let had_data = !s.recvq.is_empty();
            s.rq_bytes = 0;
            (core::mem::take(&mut s.pending), core::mem::take(&mut s.recvq), s.peer.take(), s.addr.clone(), had_data)
        };
        match &addr {
            UnixAddr::Abstract(n) => {
                let mut t = ABSTRACT.lock();
                if t.get(n).map(|w| Weak::ptr_eq(w, &self.me)).unwrap_or(false) {
                    t.remove(n);
                }
            }
            UnixAddr::Path(_) => {
                BY_INODE.lock().retain(|_, w| !Weak::ptr_eq(w, &self.me));
            }
            UnixAddr::Unnamed => {}
        }
        if stream_like(self.ty) {
            if let Some(p) = peer.and_then(|w| w.upgrade()) {
                let mut ps = p.st.lock();
                ps.shutdown = SHUTDOWN_MASK;
                if had_data {
                    ps.err = Errno::ECONNRESET.as_i32();
                }
                drop(ps);
                p.wq.wake_all();
            }
        }
        // Connections never accepted are reset.
        for e in &pending {
            if let Some(c) = e.peer() {
                let mut cs = c.st.lock();
                cs.shutdown = SHUTDOWN_MASK;
                cs.err = Errno::ECONNRESET.as_i32();
                drop(cs);
                c.wq.wake_all();
            }
            e.st.lock().dead = true;
        }
        self.wq.wake_all();
        let pending_queues: Vec<VecDeque<Msg>> =
            pending.iter().map(|e| core::mem::take(&mut e.st.lock().recvq)).collect();
        drop(pending_queues);
        drop(pending);
        drop(recvq);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        // An accepted end never wrapped in a file (its listener went away) still
        // tells its peer.
        if !self.st.get_mut().dead {
            self.release();
        }
    }
}

/// The filesystem node of a socket bound to a path.
pub struct SockNode {
    ino: u64,
    meta: Mutex<Meta>,
    links: core::sync::atomic::AtomicU32,
    /// The filesystem it is named in (st_dev).
    dev: u64,
}

impl SockNode {
    /// The node of a socket about to be named in a directory of filesystem `dev`
    /// (a volume keeps it in the guest: see `ninep::local_ino`).
    fn new(mode: u32, uid: u32, gid: u32, dev: u64) -> Arc<SockNode> {
        let mut meta = Meta::new(mode);
        meta.uid = uid;
        meta.gid = gid;
        let ino = if crate::fs::ninep::is_volume_dev(dev) { crate::fs::ninep::local_ino() } else { fs_next_ino() };
        Arc::new(SockNode { ino, meta: Mutex::new(meta), links: core::sync::atomic::AtomicU32::new(1), dev })
    }
}

impl Inode for SockNode {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn nlink(&self) -> u32 {
        self.links.load(Ordering::Relaxed)
    }
    fn adjust_links(&self, delta: i32) {
        let _ = self.links.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add_signed(delta)));
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Err(Errno::ENXIO)
    }
}
