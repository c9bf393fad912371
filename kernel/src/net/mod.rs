//! Sockets: the [`Socket`] trait every family implements, the descriptor-side
//! file ([`SocketFile`]), the SOL_SOCKET options all families share ([`Opts`]),
//! and the blocking helper that gives SO_RCVTIMEO/SO_SNDTIMEO, non-blocking mode
//! and signal restarts Linux's behaviour. Families: AF_UNIX ([`unix`]),
//! AF_INET/AF_INET6 over smoltcp ([`inet`]) and AF_NETLINK's routing protocol
//! ([`netlink`]).
pub mod inet;
pub mod netlink;
pub mod proc;
pub mod unix;

pub use inet::{deadline_pending, finish_connections, init, next_deadline, poll_due};

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::sockopt::*;
use elfin_shim::uapi::stat_mode::S_IFSOCK;
use elfin_shim::uapi::{socket as so, StatInfo, Timespec, Timeval, Ucred};

use crate::fs::file::{FileLike, OpenFile};
use crate::task::{wait, Ctx, Restart, WaitQueue};

/// Readable (poll bits as in [`crate::fs::file`]).
pub const POLLIN: u32 = 0x1;
/// Writable.
pub const POLLOUT: u32 = 0x4;
/// Error.
pub const POLLERR: u32 = 0x8;
/// Hang-up.
pub const POLLHUP: u32 = 0x10;
/// Normal data readable.
pub const POLLRDNORM: u32 = 0x40;
/// Normal data writable.
pub const POLLWRNORM: u32 = 0x100;
/// Priority data writable.
pub const POLLWRBAND: u32 = 0x200;
/// The peer shut its writing side down.
pub const POLLRDHUP: u32 = 0x2000;

/// Linux's net.core.wmem_default / rmem_default and the *_max limits.
pub const WMEM_DEFAULT: u32 = 212_992;
/// Largest SO_SNDBUF/SO_RCVBUF an unprivileged set asks for (doubled when stored).
pub const MEM_MAX: u32 = 212_992;
const SOCK_MIN_SNDBUF: u32 = 4608;
const SOCK_MIN_RCVBUF: u32 = 2304;

/// Device number of the socket filesystem (what fstat reports).
const SOCKFS_DEV: u64 = 0x8;

static NEXT_INO: AtomicU64 = AtomicU64::new(1000);

/// A fresh socket inode number.
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// Flag bits of [`Opts::flags`].
pub mod flag {
    /// SO_REUSEADDR.
    pub const REUSEADDR: u32 = 1;
    /// SO_REUSEPORT.
    pub const REUSEPORT: u32 = 2;
    /// SO_KEEPALIVE.
    pub const KEEPALIVE: u32 = 4;
    /// SO_PASSCRED.
    pub const PASSCRED: u32 = 8;
    /// SO_BROADCAST.
    pub const BROADCAST: u32 = 16;
    /// SO_OOBINLINE.
    pub const OOBINLINE: u32 = 32;
    /// SO_DONTROUTE.
    pub const DONTROUTE: u32 = 64;
    /// SO_DEBUG.
    pub const DEBUG: u32 = 128;
}

/// The SOL_SOCKET options every family keeps.
pub struct Opts {
    /// Receive timeout in ns (u64::MAX: none).
    pub rcvtimeo: AtomicU64,
    /// Send timeout in ns (u64::MAX: none).
    pub sndtimeo: AtomicU64,
    /// SO_SNDBUF as getsockopt reports it.
    pub sndbuf: AtomicU32,
    /// SO_RCVBUF as getsockopt reports it.
    pub rcvbuf: AtomicU32,
    /// [`flag`] bits.
    pub flags: AtomicU32,
    /// SO_LINGER (on, seconds).
    pub linger: Mutex<(i32, i32)>,
    /// SO_RCVLOWAT.
    pub rcvlowat: AtomicI32,
    /// SO_PRIORITY.
    pub priority: AtomicI32,
    /// SO_MARK.
    pub mark: AtomicU32,
    /// SO_BUSY_POLL (microseconds).
    pub busy_poll: AtomicI32,
    /// SO_INCOMING_CPU (-1: none yet).
    pub incoming_cpu: AtomicI32,
    /// SO_COOKIE: unique among the sockets of the machine's life.
    pub cookie: u64,
}

/// The next SO_COOKIE.
static NEXT_COOKIE: AtomicU64 = AtomicU64::new(1);

impl Opts {
    /// Options with these buffer sizes.
    pub fn new(sndbuf: u32, rcvbuf: u32) -> Opts {
        Opts {
            rcvtimeo: AtomicU64::new(u64::MAX),
            sndtimeo: AtomicU64::new(u64::MAX),
            sndbuf: AtomicU32::new(sndbuf),
            rcvbuf: AtomicU32::new(rcvbuf),
            flags: AtomicU32::new(0),
            linger: Mutex::new((0, 0)),
            rcvlowat: AtomicI32::new(1),
            priority: AtomicI32::new(0),
            mark: AtomicU32::new(0),
            busy_poll: AtomicI32::new(0),
            incoming_cpu: AtomicI32::new(-1),
            cookie: NEXT_COOKIE.fetch_add(1, Ordering::Relaxed),
        }
    }
    /// Whether flag `f` is set.
    pub fn has(&self, f: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & f != 0
    }
    /// Copies the inheritable options of a listener to an accepted socket.
    pub fn inherit(&self, from: &Opts) {
        for (a, b) in [(&self.rcvtimeo, &from.rcvtimeo), (&self.sndtimeo, &from.sndtimeo)] {
            a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        for (a, b) in [(&self.sndbuf, &from.sndbuf), (&self.rcvbuf, &from.rcvbuf), (&self.flags, &from.flags)] {
            a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        *self.linger.lock() = *from.linger.lock();
        for (a, b) in [(&self.priority, &from.priority), (&self.busy_poll, &from.busy_poll)] {
            a.store(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.mark.store(from.mark.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A message to send, gathered from user memory.
pub struct SendMsg {
    /// The bytes.
    pub data: Vec<u8>,
    /// Destination address (sendto/sendmsg), raw as the program gave it.
    pub addr: Option<Vec<u8>>,
    /// SCM_RIGHTS descriptors.
    pub rights: Vec<Arc<OpenFile>>,
    /// SCM_CREDENTIALS (checked).
    pub creds: Option<Ucred>,
    /// MSG_* flags.
    pub flags: u32,
}

/// What a receive produced.
#[derive(Default)]
pub struct Recvd {
    /// Bytes copied to the buffer.
    pub len: usize,
    /// Length of the datagram or record (more than `len` when truncated).
    pub full: usize,
    /// Sender's address (encoded sockaddr), when the family reports one.
    pub from: Option<Vec<u8>>,
    /// SCM_RIGHTS descriptors received.
    pub rights: Vec<Arc<OpenFile>>,
    /// Sender's credentials (reported with SO_PASSCRED).
    pub creds: Option<Ucred>,
    /// MSG_* flags for msg_flags (MSG_TRUNC, MSG_EOR, …).
    pub flags: u32,
    /// Protocol-level control messages (level, type, data), such as IP_PKTINFO.
    pub cmsgs: Vec<(i32, i32, Vec<u8>)>,
}

/// A socket of some family.
pub trait Socket: Send + Sync + Any {
    /// AF_*.
    fn family(&self) -> u16;
    /// SOCK_* type.
    fn sock_type(&self) -> u32;
    /// Protocol number (SO_PROTOCOL).
    fn protocol(&self) -> i32 {
        0
    }
    /// The shared options.
    fn opts(&self) -> &Opts;
    /// Woken whenever the readiness may have changed.
    fn wq(&self) -> &WaitQueue;
    /// Poll events now.
    fn poll(&self) -> u32;
    /// bind(2) with the raw address.
    fn bind(&self, cx: &Ctx, addr: &[u8]) -> Result<(), Errno>;
    /// listen(2).
    fn listen(&self, backlog: i32) -> Result<(), Errno>;
    /// accept(2): the new connection and its peer's address.
    fn accept(&self, cx: &Ctx, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno>;
    /// connect(2).
    fn connect(&self, cx: &Ctx, addr: &[u8], nonblock: bool) -> Result<(), Errno>;
    /// Sends a message; for streams, as much as it can before blocking (or all
    /// when blocking).
    fn send(&self, cx: &Ctx, msg: SendMsg, nonblock: bool) -> Result<usize, Errno>;
    /// Receives into `buf`.
    fn recv(&self, cx: &Ctx, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Recvd, Errno>;
    /// shutdown(2).
    fn shutdown(&self, how: u32) -> Result<(), Errno>;
    /// getsockname(2): the encoded address.
    fn name(&self) -> Vec<u8>;
    /// getpeername(2).
    fn peer_name(&self) -> Result<Vec<u8>, Errno>;
    /// Takes the pending error (SO_ERROR).
    fn take_error(&self) -> i32 {
        0
    }
    /// Listening (SO_ACCEPTCONN).
    fn listening(&self) -> bool {
        false
    }
    /// The peer's credentials (SO_PEERCRED).
    fn peer_cred(&self) -> Option<Ucred> {
        None
    }
    /// Options of other levels than SOL_SOCKET, and family-specific SOL_SOCKET
    /// ones after the generic code (None: not handled here).
    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> Result<(), Errno> {
        let _ = (level, name, val);
        Err(Errno::EOPNOTSUPP)
    }
    /// getsockopt of other levels: the value's bytes.
    fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        let _ = (level, name);
        Err(Errno::EOPNOTSUPP)
    }
    /// The largest datagram or record a send takes (EMSGSIZE beyond it, checked
    /// before the data is copied in).
    fn msg_limit(&self) -> usize {
        usize::MAX
    }
    /// Bytes waiting to be read (FIONREAD/SIOCINQ).
    fn inq(&self) -> usize {
        0
    }
    /// Bytes not yet sent or acknowledged (SIOCOUTQ).
    fn outq(&self) -> usize {
        0
    }
    /// What /proc/net lists of the socket (None: a kind it does not list).
    fn net_state(&self) -> Option<NetState> {
        None
    }
    /// close(2) is about to let go of the last descriptor: a connection with
    /// SO_LINGER and a timeout waits here until its data is acknowledged.
    fn linger_close(&self, _cx: &Ctx) {}
    /// The last descriptor is gone.
    fn release(&self);
    /// For downcasts.
    fn as_any(&self) -> &dyn Any;
}

/// A socket's kind and protocol state, as /proc/net shows them.
#[derive(Clone, Copy, Debug)]
pub struct NetState {
    /// AF_INET, AF_INET6 or AF_UNIX.
    pub family: u16,
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub ty: u32,
    /// Inet: Linux's TCP state number (UDP: established when connected, else
    /// close). Unix: the socket state (SS_UNCONNECTED 1, SS_CONNECTED 3).
    pub state: u8,
}

/// An open socket file as /proc/net lists it.
pub struct OpenSocket {
    /// The socket.
    pub sock: Arc<dyn Socket>,
    /// Its inode number (as in fstat and `socket:[N]`).
    pub ino: u64,
    /// The effective user id of the process that made it.
    pub uid: u32,
}

/// A registered socket and its maker's user id.
type Registered = (Weak<dyn Socket>, u32);

/// Every socket that has a file, by inode number.
static OPEN: Mutex<BTreeMap<u64, Registered>> = Mutex::new(BTreeMap::new());

/// The sockets that have files now, in inode order.
pub fn open_sockets() -> Vec<OpenSocket> {
    let list: Vec<(u64, Weak<dyn Socket>, u32)> = OPEN.lock().iter().map(|(i, (w, u))| (*i, w.clone(), *u)).collect();
    list.into_iter().filter_map(|(ino, w, uid)| Some(OpenSocket { sock: w.upgrade()?, ino, uid })).collect()
}

/// The file behind a socket descriptor.
pub struct SocketFile {
    /// The socket.
    pub sock: Arc<dyn Socket>,
    ino: u64,
}

impl SocketFile {
    /// A file for `sock`, made by a process whose effective user id is `uid`.
    pub fn new(sock: Arc<dyn Socket>, uid: u32) -> Arc<SocketFile> {
        let ino = next_ino();
        OPEN.lock().insert(ino, (Arc::downgrade(&sock), uid));
        Arc::new(SocketFile { sock, ino })
    }
    /// The socket behind an open file (ENOTSOCK otherwise).
    pub fn of(f: &OpenFile) -> Result<&Arc<dyn Socket>, Errno> {
        f.downcast::<SocketFile>().map(|s| &s.sock).ok_or(Errno::ENOTSOCK)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        OPEN.lock().remove(&self.ino);
        self.sock.release();
    }
}

impl FileLike for SocketFile {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        self.sock.recv(cx, buf, 0, f.nonblocking()).map(|r| r.len)
    }
    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let msg = SendMsg { data: data.to_vec(), addr: None, rights: Vec::new(), creds: None, flags: 0 };
        let r = self.sock.send(cx, msg, f.nonblocking());
        if r == Err(Errno::EPIPE) {
            sigpipe(cx);
        }
        r
    }
    fn poll(&self) -> u32 {
        self.sock.poll()
    }
    fn fasync(&self) -> bool {
        true
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.sock.wq())
    }
    fn stat(&self) -> StatInfo {
        let t = Timespec { tv_sec: 0, tv_nsec: 0 };
        StatInfo {
            dev: SOCKFS_DEV,
            ino: self.ino,
            mode: S_IFSOCK | 0o777,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
            btime: t,
        }
    }
    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        if let Some(r) = netlink::ifreq_ioctl(cx, cmd, arg) {
            return r;
        }
        const FIONREAD: u32 = 0x541b;
        const SIOCOUTQ: u32 = 0x5411;
        const SIOCATMARK: u32 = 0x8905;
        let v: i32 = match cmd {
            FIONREAD => {
                if self.sock.listening() {
                    return Err(Errno::EINVAL);
                }
                self.sock.inq().min(i32::MAX as usize) as i32
            }
            SIOCOUTQ => self.sock.outq().min(i32::MAX as usize) as i32,
            SIOCATMARK => 0,
            _ => return Err(Errno::ENOTTY),
        };
        cx.write_val(elfin_shim::UAddr(arg), &v)?;
        Ok(0)
    }
    fn link_name(&self, _f: &OpenFile) -> Vec<u8> {
        alloc::format!("socket:[{}]", self.ino).into_bytes()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Sends SIGPIPE to the calling thread (a write to a broken connection).
pub fn sigpipe(cx: &Ctx) {
    crate::task::signal::send_to_thread(&cx.thread, 13, elfin_shim::uapi::Siginfo::kill(13, 0, cx.proc.pid, 0));
}

/// The caller's credentials as SCM_CREDENTIALS and SO_PEERCRED report them.
pub fn own_cred(cx: &Ctx) -> Ucred {
    let c = cx.proc.cred.lock();
    Ucred { pid: cx.proc.pid, uid: c.uid[1], gid: c.gid[1] }
}

/// Called by the calls that close descriptors (close, dup2, close_range) for each
/// file they let go of, before it goes: the last descriptor of a TCP connection
/// with SO_LINGER and a non-zero timeout blocks until the peer has acknowledged
/// the data and the FIN, or the timeout passed (socket(7); Linux's tcp_close).
/// Ending processes do not wait, as on Linux.
pub fn closing(cx: &Ctx, f: &Arc<OpenFile>) {
    if Arc::strong_count(f) == 1 {
        if let Ok(s) = SocketFile::of(f) {
            s.linger_close(cx);
        }
    }
}

/// Runs `attempt` until it gives a result: at once when it does, EAGAIN when it
/// would block and `nonblock` is set or the timeout `timeo_ns` (u64::MAX: none)
/// passes, EINTR on a signal (restarted unless there is a timeout, as Linux's
/// sock_intr_errno). `extra` queues are woken too (a peer's).
pub fn block_on<T>(
    cx: &Ctx,
    queues: &[&WaitQueue],
    nonblock: bool,
    timeo_ns: u64,
    mut attempt: impl FnMut() -> Option<Result<T, Errno>>,
) -> Result<T, Errno> {
    if let Some(r) = attempt() {
        return r;
    }
    if nonblock || timeo_ns == 0 {
        return Err(Errno::EAGAIN);
    }
    let (deadline, how) = if timeo_ns == u64::MAX {
        (None, Restart::Sys)
    } else {
        (Some(crate::time::monotonic_ns().saturating_add(timeo_ns)), Restart::Never)
    };
    match wait::wait_for(cx, queues, deadline, how, attempt) {
        Ok(r) => r,
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        Err(e) => Err(e),
    }
}

/// Reads an `int` option value (EINVAL when shorter).
pub fn opt_int(val: &[u8]) -> Result<i32, Errno> {
    let b: [u8; 4] = val.get(..4).ok_or(Errno::EINVAL)?.try_into().map_err(|_| Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// An `int` option value.
pub fn int_val(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn timeo_set(val: &[u8]) -> Result<u64, Errno> {
    let tv: Timeval =
        bytemuck::try_pod_read_unaligned(val.get(..16).ok_or(Errno::EINVAL)?).map_err(|_| Errno::EINVAL)?;
    if tv.tv_usec < 0 || tv.tv_usec >= 1_000_000 {
        return Err(Errno::EDOM);
    }
    if tv.tv_sec < 0 {
        return Ok(0);
    }
    if tv.tv_sec == 0 && tv.tv_usec == 0 {
        return Ok(u64::MAX);
    }
    let ns = (tv.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(tv.tv_usec as u64 * 1000);
    Ok(ns)
}

fn timeo_get(ns: u64) -> Vec<u8> {
    let tv = if ns == u64::MAX {
        Timeval { tv_sec: 0, tv_usec: 0 }
    } else {
        Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 }
    };
    bytemuck::bytes_of(&tv).to_vec()
}

fn bool_flag(o: &Opts, f: u32, val: &[u8]) -> Result<(), Errno> {
    let v = opt_int(val)?;
    if v != 0 {
        o.flags.fetch_or(f, Ordering::Relaxed);
    } else {
        o.flags.fetch_and(!f, Ordering::Relaxed);
    }
    Ok(())
}

/// setsockopt(2) on any socket: SOL_SOCKET here, other levels by the family.
pub fn setsockopt(s: &dyn Socket, privileged: bool, level: i32, name: i32, val: &[u8]) -> Result<(), Errno> {
    if level != so::SOL_SOCKET as i32 {
        return s.setsockopt(level, name, val);
    }
    let o = s.opts();
    match name {
        SO_REUSEADDR => bool_flag(o, flag::REUSEADDR, val),
        SO_REUSEPORT => {
            if s.family() == so::AF_UNIX {
                opt_int(val)?;
                return Err(Errno::EOPNOTSUPP);
            }
            bool_flag(o, flag::REUSEPORT, val)
        }
        SO_KEEPALIVE => {
            bool_flag(o, flag::KEEPALIVE, val)?;
            let _ = s.setsockopt(level, name, val);
            Ok(())
        }
        SO_PASSCRED => bool_flag(o, flag::PASSCRED, val),
        SO_BROADCAST => bool_flag(o, flag::BROADCAST, val),
        SO_OOBINLINE => bool_flag(o, flag::OOBINLINE, val),
        SO_DONTROUTE => bool_flag(o, flag::DONTROUTE, val),
        SO_DEBUG => bool_flag(o, flag::DEBUG, val),
        SO_SNDBUF | SO_SNDBUFFORCE | SO_RCVBUF | SO_RCVBUFFORCE => {
            let v = opt_int(val)?;
            let force = matches!(name, SO_SNDBUFFORCE | SO_RCVBUFFORCE);
            if force && !privileged {
                return Err(Errno::EPERM);
            }
            let cap = if force { (i32::MAX / 2) as u32 } else { MEM_MAX };
            let want = if force { (v.max(0) as u32).min(cap) } else { (v as u32).min(cap) };
            let doubled = want.saturating_mul(2);
            if matches!(name, SO_SNDBUF | SO_SNDBUFFORCE) {
                o.sndbuf.store(doubled.max(SOCK_MIN_SNDBUF), Ordering::Relaxed);
            } else {
                o.rcvbuf.store(doubled.max(SOCK_MIN_RCVBUF), Ordering::Relaxed);
            }
            let _ = s.setsockopt(level, name, val);
            Ok(())
        }
        SO_LINGER => {
            if val.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let on = opt_int(val)?;
            let secs = opt_int(val.get(4..).unwrap_or(&[]))?;
            *o.linger.lock() = (i32::from(on != 0), secs);
            Ok(())
        }
        SO_RCVTIMEO_OLD => {
            o.rcvtimeo.store(timeo_set(val)?, Ordering::Relaxed);
            Ok(())
        }
        SO_SNDTIMEO_OLD => {
            o.sndtimeo.store(timeo_set(val)?, Ordering::Relaxed);
            Ok(())
        }
        SO_RCVLOWAT => {
            let v = opt_int(val)?;
            o.rcvlowat.store(if v <= 0 { 1 } else { v }, Ordering::Relaxed);
            Ok(())
        }
        SO_SNDLOWAT => Err(Errno::ENOPROTOOPT),
        // Queueing priority: 0 to 6 for anyone, others with CAP_NET_ADMIN (one
        // queue here: it orders nothing).
        SO_PRIORITY => {
            let v = opt_int(val)?;
            if !(0..=6).contains(&v) && !privileged {
                return Err(Errno::EPERM);
            }
            o.priority.store(v, Ordering::Relaxed);
            Ok(())
        }
        // A packet mark for policy routing, which needs CAP_NET_ADMIN.
        SO_MARK => {
            let v = opt_int(val)?;
            if !privileged {
                return Err(Errno::EPERM);
            }
            o.mark.store(v as u32, Ordering::Relaxed);
            Ok(())
        }
        // Busy polling: raising it needs CAP_NET_ADMIN (elfin does not spin).
        SO_BUSY_POLL => {
            let v = opt_int(val)?;
            if v < 0 {
                return Err(Errno::EINVAL);
            }
            if v > o.busy_poll.load(Ordering::Relaxed) && !privileged {
                return Err(Errno::EPERM);
            }
            o.busy_poll.store(v, Ordering::Relaxed);
            Ok(())
        }
        SO_INCOMING_CPU => {
            o.incoming_cpu.store(opt_int(val)?, Ordering::Relaxed);
            Ok(())
        }
        SO_TYPE | SO_ERROR | SO_PROTOCOL | SO_DOMAIN | SO_ACCEPTCONN | SO_PEERCRED | SO_COOKIE => {
            Err(Errno::ENOPROTOOPT)
        }
        _ => match s.setsockopt(level, name, val) {
            Err(Errno::EOPNOTSUPP) => {
                crate::syscall::report_unsupported("setsockopt (SOL_SOCKET option)");
                Err(Errno::ENOPROTOOPT)
            }
            r => r,
        },
    }
}

/// getsockopt(2) on any socket: the value's bytes (the caller truncates them to
/// the program's length).
pub fn getsockopt(s: &dyn Socket, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
    if level != so::SOL_SOCKET as i32 {
        return s.getsockopt(level, name);
    }
    let o = s.opts();
    let b = |f| int_val(i32::from(o.has(f)));
    Ok(match name {
        SO_TYPE => int_val(s.sock_type() as i32),
        SO_PROTOCOL => int_val(s.protocol()),
        SO_DOMAIN => int_val(i32::from(s.family())),
        SO_ERROR => int_val(s.take_error()),
        SO_ACCEPTCONN => int_val(i32::from(s.listening())),
        SO_REUSEADDR => b(flag::REUSEADDR),
        SO_REUSEPORT => b(flag::REUSEPORT),
        SO_KEEPALIVE => b(flag::KEEPALIVE),
        SO_PASSCRED => b(flag::PASSCRED),
        SO_BROADCAST => b(flag::BROADCAST),
        SO_OOBINLINE => b(flag::OOBINLINE),
        SO_DONTROUTE => b(flag::DONTROUTE),
        SO_DEBUG => b(flag::DEBUG),
        SO_SNDBUF => int_val(o.sndbuf.load(Ordering::Relaxed) as i32),
        SO_RCVBUF => int_val(o.rcvbuf.load(Ordering::Relaxed) as i32),
        SO_RCVLOWAT => int_val(o.rcvlowat.load(Ordering::Relaxed)),
        SO_SNDLOWAT => int_val(1),
        SO_PRIORITY => int_val(o.priority.load(Ordering::Relaxed)),
        SO_MARK => int_val(o.mark.load(Ordering::Relaxed) as i32),
        SO_BUSY_POLL => int_val(o.busy_poll.load(Ordering::Relaxed)),
        SO_INCOMING_CPU => int_val(o.incoming_cpu.load(Ordering::Relaxed)),
        SO_COOKIE => o.cookie.to_ne_bytes().to_vec(),
        SO_LINGER => {
            let (on, secs) = *o.linger.lock();
            let mut v = int_val(on);
            v.extend_from_slice(&secs.to_ne_bytes());
            v
        }
        SO_RCVTIMEO_OLD => timeo_get(o.rcvtimeo.load(Ordering::Relaxed)),
        SO_SNDTIMEO_OLD => timeo_get(o.sndtimeo.load(Ordering::Relaxed)),
        SO_PEERCRED => {
            let c = s.peer_cred().unwrap_or(Ucred { pid: 0, uid: u32::MAX, gid: u32::MAX });
            bytemuck::bytes_of(&c).to_vec()
        }
        _ => match s.getsockopt(level, name) {
            Err(Errno::EOPNOTSUPP) => return Err(Errno::ENOPROTOOPT),
            r => return r,
        },
    })
}

/// Creates a socket of `family`, `ty` (SOCK_* without flags) and `protocol`.
pub fn create(family: i32, ty: u32, protocol: i32) -> Result<Arc<dyn Socket>, Errno> {
    match family {
        f if f == i32::from(so::AF_UNIX) => unix::UnixSocket::create(ty, protocol),
        f if f == i32::from(so::AF_INET) || f == i32::from(so::AF_INET6) => inet::create(f as u16, ty, protocol),
        f if f == i32::from(so::AF_NETLINK) => netlink::create(ty, protocol),
        f if (0..46).contains(&f) => {
            crate::syscall::report_unsupported("socket (address family)");
            Err(Errno::EAFNOSUPPORT)
        }
        _ => Err(Errno::EAFNOSUPPORT),
    }
}
