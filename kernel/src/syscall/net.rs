//! Socket system calls: argument checks in Linux's order, copying addresses,
//! iovecs and control messages (SCM_RIGHTS, SCM_CREDENTIALS) between user
//! memory and the kernel, and the call into the socket's family.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::socket as so;
use elfin_shim::uapi::{Cmsghdr, Iovec, Mmsghdr, Msghdr, Timespec, Ucred};
use elfin_shim::UAddr;

use super::SysResult;
use crate::fs::file::{OpenFile, O_NONBLOCK, O_RDWR};
use crate::net::{self, Recvd, SendMsg, Socket, SocketFile};
use crate::task::Ctx;

/// sizeof(struct sockaddr_storage).
const SOCKADDR_MAX: u32 = 128;
/// UIO_MAXIOV.
const UIO_MAXIOV: u64 = 1024;
/// Largest control buffer copied in (Linux's net.core.optmem_max).
const OPTMEM_MAX: u64 = 20480;
/// Most bytes a stream send or receive moves through the kernel at once.
const STREAM_CHUNK: usize = 256 * 1024;
/// Largest datagram or record gathered (beyond any socket's limit).
const DGRAM_MAX: usize = 1 << 20;
/// SOCK_MAX: types at or above are EINVAL.
const SOCK_MAX: u32 = 11;
/// NPROTO: families at or above are EAFNOSUPPORT.
const NPROTO: i32 = 46;
const MSG_CMSG_COMPAT: u32 = 0x8000_0000;

fn sock_of(cx: &Ctx, fd: i32) -> Result<(Arc<OpenFile>, Arc<dyn Socket>), Errno> {
    let f = cx.fd(fd)?;
    let s = SocketFile::of(&f)?.clone();
    Ok((f, s))
}

fn install_socket(cx: &Ctx, s: Arc<dyn Socket>, flags: u32) -> Result<i32, Errno> {
    let uid = cx.proc.cred.lock().uid[1];
    let of = OpenFile::new(SocketFile::new(s, uid), O_RDWR | (flags & so::SOCK_NONBLOCK), Vec::new());
    cx.install(of, flags & so::SOCK_CLOEXEC != 0)
}

/// Splits socket()'s type argument: (type, flags); Linux's checks and errors.
fn split_type(family: i32, ty: i32) -> Result<(u32, u32), Errno> {
    let ty = ty as u32;
    let flags = ty & (so::SOCK_NONBLOCK | so::SOCK_CLOEXEC);
    if ty & !(so::SOCK_TYPE_MASK | so::SOCK_NONBLOCK | so::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if !(0..NPROTO).contains(&family) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let base = ty & so::SOCK_TYPE_MASK;
    if base >= SOCK_MAX || base == 0 {
        return Err(Errno::EINVAL);
    }
    Ok((base, flags))
}

/// socket(2).
pub fn socket(cx: &Ctx, family: i32, ty: i32, protocol: i32) -> SysResult {
    let (base, flags) = split_type(family, ty)?;
    let s = net::create(family, base, protocol)?;
    Ok(install_socket(cx, s, flags)? as u64)
}

/// socketpair(2).
pub fn socketpair(cx: &Ctx, family: i32, ty: i32, protocol: i32, sv: UAddr) -> SysResult {
    let (base, flags) = split_type(family, ty)?;
    let (a, b) = match family {
        f if f == i32::from(so::AF_UNIX) => net::unix::UnixSocket::pair(cx, base, protocol)?,
        f if f == i32::from(so::AF_INET) || f == i32::from(so::AF_INET6) => {
            // Checks the type and protocol as socket() would, then refuses.
            drop(net::create(family, base, protocol)?);
            return Err(Errno::EOPNOTSUPP);
        }
        _ => {
            drop(net::create(family, base, protocol)?);
            return Err(Errno::EOPNOTSUPP);
        }
    };
    let fa = install_socket(cx, a, flags)?;
    let fb = match install_socket(cx, b, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let s = cx.files().lock().close(fa);
            drop(s);
            return Err(e);
        }
    };
    if let Err(e) = cx.write_val(sv, &[fa, fb]) {
        let files = cx.files();
        let mut t = files.lock();
        let x = t.close(fa);
        let y = t.close(fb);
        drop(t);
        drop((x, y));
        return Err(e);
    }
    Ok(0)
}

/// Copies a socket address in (Linux's move_addr_to_kernel).
fn addr_in(cx: &Ctx, addr: UAddr, len: u32) -> Result<Vec<u8>, Errno> {
    if len > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut v = alloc::vec![0u8; len as usize];
    if len > 0 {
        cx.read_bytes(addr, &mut v)?;
    }
    Ok(v)
}

/// Copies a socket address out (Linux's move_addr_to_user): as much as the
/// program's length allows, and the full length to `*lenp`.
fn addr_out(cx: &Ctx, a: &[u8], addr: UAddr, lenp: UAddr) -> Result<(), Errno> {
    let len: i32 = cx.read_val(lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(a.len());
    if n > 0 {
        cx.write_bytes(addr, a.get(..n).unwrap_or(&[]))?;
    }
    cx.write_val(lenp, &(a.len() as i32))
}

/// bind(2).
pub fn bind(cx: &Ctx, fd: i32, addr: UAddr, len: u32) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    let a = addr_in(cx, addr, len)?;
    s.bind(cx, &a)?;
    Ok(0)
}

/// listen(2).
pub fn listen(cx: &Ctx, fd: i32, backlog: i32) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    s.listen(backlog)?;
    Ok(0)
}

/// accept4(2) (accept with flags 0).
pub fn accept4(cx: &Ctx, fd: i32, addr: UAddr, lenp: UAddr, flags: i32) -> SysResult {
    let flags = flags as u32;
    if flags & !(so::SOCK_CLOEXEC | so::SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_of(cx, fd)?;
    // Linux takes the descriptor before it waits: with none left accept fails at
    // once and the connection stays queued.
    if !cx.files().lock().has_free(cx.nofile()) {
        return Err(Errno::EMFILE);
    }
    let (new, peer) = s.accept(cx, f.nonblocking())?;
    let uid = cx.proc.cred.lock().uid[1];
    let of = OpenFile::new(SocketFile::new(new, uid), O_RDWR | (flags & O_NONBLOCK), Vec::new());
    if !addr.is_null() {
        // A bad address loses the connection, as on Linux.
        addr_out(cx, &peer, addr, lenp)?;
    }
    Ok(cx.install(of, flags & so::SOCK_CLOEXEC != 0)? as u64)
}

/// connect(2).
pub fn connect(cx: &Ctx, fd: i32, addr: UAddr, len: u32) -> SysResult {
    let (f, s) = sock_of(cx, fd)?;
    let a = addr_in(cx, addr, len)?;
    s.connect(cx, &a, f.nonblocking())?;
    Ok(0)
}

/// getsockname(2) and getpeername(2).
pub fn getname(cx: &Ctx, fd: i32, addr: UAddr, lenp: UAddr, peer: bool) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    let len: i32 = cx.read_val(lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let a = if peer { s.peer_name()? } else { s.name() };
    addr_out(cx, &a, addr, lenp)?;
    Ok(0)
}

/// shutdown(2).
pub fn shutdown(cx: &Ctx, fd: i32, how: i32) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    if !(0..=2).contains(&how) {
        return Err(Errno::EINVAL);
    }
    s.shutdown(how as u32)?;
    Ok(0)
}

/// setsockopt(2).
pub fn setsockopt(cx: &Ctx, fd: i32, level: i32, name: i32, val: UAddr, len: u32) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    if len > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let mut v = alloc::vec![0u8; (len as usize).min(256)];
    if !v.is_empty() {
        cx.read_bytes(val, &mut v)?;
    }
    let privileged = cx.proc.cred.lock().capable(crate::task::caps::CAP_NET_ADMIN);
    net::setsockopt(&*s, privileged, level, name, &v)?;
    Ok(0)
}

/// getsockopt(2).
pub fn getsockopt(cx: &Ctx, fd: i32, level: i32, name: i32, val: UAddr, lenp: UAddr) -> SysResult {
    let (_, s) = sock_of(cx, fd)?;
    let len: i32 = cx.read_val(lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v = net::getsockopt(&*s, level, name)?;
    let n = (len as usize).min(v.len());
    cx.write_bytes(val, v.get(..n).unwrap_or(&[]))?;
    cx.write_val(lenp, &(n as i32))?;
    Ok(0)
}

/// Reads an iovec array: the vectors and their total length (Linux's
/// import_iovec: EMSGSIZE beyond UIO_MAXIOV, EINVAL when the sum overflows).
fn iovecs(cx: &Ctx, iov: UAddr, n: u64) -> Result<(Vec<Iovec>, usize), Errno> {
    if n > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let mut v = Vec::with_capacity(n as usize);
    let mut total: u64 = 0;
    for i in 0..n {
        let e: Iovec = cx.read_val(UAddr(iov.0 + i * 16))?;
        if e.len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total.saturating_add(e.len);
        v.push(e);
    }
    // Linux caps a transfer at MAX_RW_COUNT.
    Ok((v, total.min(0x7fff_f000) as usize))
}

/// Gathers `len` bytes from the iovecs, skipping the first `skip`.
fn gather(cx: &Ctx, vecs: &[Iovec], skip: usize, len: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    out.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
    let mut pos = 0usize;
    for v in vecs {
        let vl = v.len as usize;
        if pos + vl <= skip {
            pos += vl;
            continue;
        }
        let from = skip.saturating_sub(pos);
        let n = (vl - from).min(len - out.len());
        if n > 0 {
            let start = out.len();
            out.resize(start + n, 0);
            cx.read_bytes(UAddr(v.base + from as u64), out.get_mut(start..).unwrap_or(&mut []))?;
        }
        pos += vl;
        if out.len() >= len {
            break;
        }
    }
    Ok(out)
}

/// Scatters `data` into the iovecs.
fn scatter(cx: &Ctx, vecs: &[Iovec], data: &[u8]) -> Result<(), Errno> {
    let mut k = 0usize;
    for v in vecs {
        if k >= data.len() {
            break;
        }
        let n = (v.len as usize).min(data.len() - k);
        if n > 0 {
            cx.write_bytes(UAddr(v.base), data.get(k..k + n).unwrap_or(&[]))?;
        }
        k += n;
    }
    Ok(())
}

/// The SCM_RIGHTS and SCM_CREDENTIALS of a control buffer (Linux's __scm_send).
fn parse_control(cx: &Ctx, s: &dyn Socket, ctl: &[u8]) -> Result<(Vec<Arc<OpenFile>>, Option<Ucred>), Errno> {
    let mut rights: Vec<Arc<OpenFile>> = Vec::new();
    let mut creds = None;
    let mut off = 0usize;
    let unix = s.family() == so::AF_UNIX;
    while off + 16 <= ctl.len() {
        let h: Cmsghdr = bytemuck::pod_read_unaligned(ctl.get(off..off + 16).ok_or(Errno::EINVAL)?);
        if h.cmsg_len < 16 || h.cmsg_len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let data = ctl.get(off + 16..off + h.cmsg_len as usize).unwrap_or(&[]);
        if h.cmsg_level == so::SOL_SOCKET as i32 {
            match h.cmsg_type {
                so::SCM_RIGHTS if unix => {
                    let n = data.len() / 4;
                    if rights.len() + n > so::SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for c in data.chunks_exact(4) {
                        let fd = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                        rights.push(cx.fd(fd)?);
                    }
                }
                so::SCM_CREDENTIALS if unix => {
                    if h.cmsg_len != 28 {
                        return Err(Errno::EINVAL);
                    }
                    let c: Ucred = bytemuck::pod_read_unaligned(data.get(..12).ok_or(Errno::EINVAL)?);
                    let me = cx.proc.cred.lock().clone();
                    // Linux's scm_check_creds: another pid needs CAP_SYS_ADMIN, other
                    // ids CAP_SETUID/CAP_SETGID.
                    let ok_pid = c.pid == cx.proc.pid || me.capable(crate::task::caps::CAP_SYS_ADMIN);
                    let ok_uid = me.capable_setid(false) || me.uid[..3].contains(&c.uid);
                    let ok_gid = me.capable_setid(true) || me.gid[..3].contains(&c.gid);
                    if !(ok_pid && ok_uid && ok_gid) {
                        return Err(Errno::EPERM);
                    }
                    creds = Some(c);
                }
                so::SCM_RIGHTS | so::SCM_CREDENTIALS => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        // CMSG_NXTHDR: the next header is 8-aligned.
        off += (h.cmsg_len as usize + 7) & !7;
    }
    Ok((rights, creds))
}

/// One sendmsg: the message header already read.
fn send_one(cx: &Ctx, f: &OpenFile, s: &Arc<dyn Socket>, m: &Msghdr, flags: u32) -> Result<usize, Errno> {
    let (vecs, total) = iovecs(cx, UAddr(m.msg_iov), m.msg_iovlen)?;
    let addr = if m.msg_name != 0 && m.msg_namelen > 0 {
        Some(addr_in(cx, UAddr(m.msg_name), m.msg_namelen.min(SOCKADDR_MAX))?)
    } else {
        None
    };
    let (rights, creds) = if m.msg_controllen > 0 {
        if m.msg_controllen > i32::MAX as u64 {
            return Err(Errno::ENOBUFS);
        }
        if m.msg_controllen > OPTMEM_MAX {
            return Err(Errno::ENOBUFS);
        }
        let mut ctl = alloc::vec![0u8; m.msg_controllen as usize];
        cx.read_bytes(UAddr(m.msg_control), &mut ctl)?;
        parse_control(cx, &**s, &ctl)?
    } else {
        (Vec::new(), None)
    };
    send_data(cx, f, s, &vecs, total, addr, rights, creds, flags)
}

#[allow(clippy::too_many_arguments)]
fn send_data(
    cx: &Ctx,
    f: &OpenFile,
    s: &Arc<dyn Socket>,
    vecs: &[Iovec],
    total: usize,
    addr: Option<Vec<u8>>,
    rights: Vec<Arc<OpenFile>>,
    creds: Option<Ucred>,
    flags: u32,
) -> Result<usize, Errno> {
    let nonblock = f.nonblocking() || flags & so::MSG_DONTWAIT != 0;
    let stream = s.sock_type() == so::SOCK_STREAM;
    let r = if !stream {
        if total > DGRAM_MAX || total > s.msg_limit() {
            return Err(Errno::EMSGSIZE);
        }
        let data = gather(cx, vecs, 0, total)?;
        s.send(cx, SendMsg { data, addr, rights, creds, flags }, nonblock)
    } else {
        // Streams: in pieces, so that a large write does not need its size in
        // kernel memory; descriptors go with the first piece.
        let mut done = 0usize;
        let mut rights = Some(rights);
        loop {
            let n = (total - done).min(STREAM_CHUNK);
            let data = match gather(cx, vecs, done, n) {
                Ok(d) => d,
                Err(_) if done > 0 => break Ok(done),
                Err(e) => break Err(e),
            };
            let msg = SendMsg { data, addr: addr.clone(), rights: rights.take().unwrap_or_default(), creds, flags };
            match s.send(cx, msg, nonblock) {
                Ok(k) => {
                    done += k;
                    if k < n || done >= total {
                        break Ok(done);
                    }
                }
                Err(_) if done > 0 => break Ok(done),
                Err(e) => break Err(e),
            }
        }
    };
    if r == Err(Errno::EPIPE) && flags & so::MSG_NOSIGNAL == 0 {
        net::sigpipe(cx);
    }
    r
}

/// sendto(2).
pub fn sendto(cx: &Ctx, fd: i32, buf: UAddr, len: usize, flags: u32, addr: UAddr, alen: u32) -> SysResult {
    let (f, s) = sock_of(cx, fd)?;
    let len = len.min(i32::MAX as usize);
    let a = if addr.is_null() { None } else { Some(addr_in(cx, addr, alen)?) };
    let vecs = [Iovec { base: buf.0, len: len as u64 }];
    Ok(send_data(cx, &f, &s, &vecs, len, a, Vec::new(), None, flags)? as u64)
}

/// sendmsg(2).
pub fn sendmsg(cx: &Ctx, fd: i32, msg: UAddr, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_of(cx, fd)?;
    let m: Msghdr = cx.read_val(msg)?;
    Ok(send_one(cx, &f, &s, &m, flags)? as u64)
}

/// sendmmsg(2).
pub fn sendmmsg(cx: &Ctx, fd: i32, vec: UAddr, vlen: u32, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_of(cx, fd)?;
    let vlen = u64::from(vlen).min(UIO_MAXIOV);
    let mut sent = 0u64;
    for i in 0..vlen {
        let at = UAddr(vec.0 + i * 64);
        let r = cx.read_val::<Mmsghdr>(at).and_then(|mm| send_one(cx, &f, &s, &mm.msg_hdr, flags));
        match r {
            Ok(n) => {
                cx.write_val(UAddr(at.0 + 56), &(n as u32))?;
                sent += 1;
            }
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Receives into a kernel buffer of `len` bytes; the bytes not yet copied out to
/// the iovecs come back (none when they went out here: through the CPU's kept
/// buffer, or for streams with MSG_WAITALL in pieces as they came).
fn recv_data(
    cx: &Ctx,
    f: &OpenFile,
    s: &Arc<dyn Socket>,
    vecs: &[Iovec],
    len: usize,
    flags: u32,
) -> Result<(Recvd, Vec<u8>), Errno> {
    let nonblock = f.nonblocking() || flags & so::MSG_DONTWAIT != 0;
    let stream = s.sock_type() == so::SOCK_STREAM;
    // Check the buffers first: data taken off the queue must not be lost.
    {
        let mm = cx.mm();
        let mut left = len;
        for v in vecs {
            if left == 0 {
                break;
            }
            let n = (v.len as usize).min(left);
            if n > 0 && !mm.check_access(v.base, n as u64, true) {
                return Err(Errno::EFAULT);
            }
            left -= n;
        }
    }
    let cap = if stream { len.min(STREAM_CHUNK) } else { len.min(DGRAM_MAX) };
    let waitall = stream && flags & so::MSG_WAITALL != 0 && len > cap;
    if !waitall && cap <= super::bounce::SIZE {
        // Through this CPU's kept buffer, scattered here (nothing left to copy).
        let mut b = super::bounce::take(cap)?;
        let r = s.recv(cx, &mut b, flags, nonblock)?;
        scatter(cx, vecs, b.get(..r.len).unwrap_or(&b))?;
        return Ok((r, Vec::new()));
    }
    let mut buf = Vec::new();
    buf.try_reserve(cap).map_err(|_| Errno::ENOMEM)?;
    buf.resize(cap, 0);
    if !waitall {
        let r = s.recv(cx, &mut buf, flags, nonblock)?;
        buf.truncate(r.len);
        return Ok((r, buf));
    }
    // MSG_WAITALL beyond one piece: scatter each piece at its offset.
    let mut done = 0usize;
    let mut first: Option<Recvd> = None;
    while done < len {
        let want = (len - done).min(cap);
        let chunk = buf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let r = match s.recv(cx, chunk, flags, nonblock) {
            Ok(r) => r,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        let n = r.len;
        scatter_at(cx, vecs, done, chunk.get(..n).unwrap_or(&[]))?;
        done += n;
        let stop = n < want;
        match &mut first {
            None => first = Some(r),
            Some(fr) => fr.rights.extend(r.rights),
        }
        if stop || n == 0 {
            break;
        }
    }
    let mut r = first.unwrap_or_default();
    r.len = done;
    r.full = done;
    // Already scattered: nothing left to copy.
    Ok((r, Vec::new()))
}

fn scatter_at(cx: &Ctx, vecs: &[Iovec], mut skip: usize, data: &[u8]) -> Result<(), Errno> {
    let mut k = 0usize;
    for v in vecs {
        let vl = v.len as usize;
        if skip >= vl {
            skip -= vl;
            continue;
        }
        let n = (vl - skip).min(data.len() - k);
        if n > 0 {
            cx.write_bytes(UAddr(v.base + skip as u64), data.get(k..k + n).unwrap_or(&[]))?;
        }
        k += n;
        skip = 0;
        if k >= data.len() {
            break;
        }
    }
    Ok(())
}

/// A control buffer being filled, as Linux's put_cmsg fills it.
struct CmsgOut {
    /// Its user address.
    ctl: u64,
    /// Bytes used, and left.
    used: u64,
    room: u64,
    /// MSG_CTRUNC once a message did not fit.
    flags: u32,
}

impl CmsgOut {
    /// Appends one message, cut to the room left (its header then says so).
    fn put(&mut self, cx: &Ctx, level: i32, ty: i32, data: &[u8]) -> Result<(), Errno> {
        if self.room < 16 {
            self.flags |= so::MSG_CTRUNC;
            return Ok(());
        }
        let cmlen = 16 + data.len() as u64;
        let n = if self.room < cmlen {
            self.flags |= so::MSG_CTRUNC;
            self.room
        } else {
            cmlen
        };
        let h = Cmsghdr { cmsg_len: n, cmsg_level: level, cmsg_type: ty };
        let mut bytes = bytemuck::bytes_of(&h).to_vec();
        bytes.extend_from_slice(data);
        cx.write_bytes(UAddr(self.ctl + self.used), bytes.get(..n as usize).unwrap_or(&[]))?;
        let adv = ((cmlen + 7) & !7).min(self.room);
        self.used += adv;
        self.room -= adv;
        Ok(())
    }
}

/// Writes control messages for what was received (Linux's scm_recv: the
/// credentials first, then the descriptors, then the protocol's own); returns
/// (bytes used, MSG_CTRUNC).
fn put_control(cx: &Ctx, r: &mut Recvd, ctl: UAddr, ctl_len: u64, flags: u32) -> Result<(u64, u32), Errno> {
    let mut out = CmsgOut { ctl: ctl.0, used: 0, room: ctl_len, flags: 0 };
    if let Some(c) = r.creds {
        out.put(cx, so::SOL_SOCKET as i32, so::SCM_CREDENTIALS, bytemuck::bytes_of(&c))?;
    }
    if !r.rights.is_empty() {
        let max = if out.room > 16 { ((out.room - 16) / 4) as usize } else { 0 };
        let files = core::mem::take(&mut r.rights);
        let cloexec = flags & so::MSG_CMSG_CLOEXEC != 0;
        let mut fds: Vec<u8> = Vec::new();
        for f in files.iter().take(max) {
            // Out of descriptors: the rest are closed and the message is cut.
            match cx.install(f.clone(), cloexec) {
                Ok(fd) => fds.extend_from_slice(&fd.to_ne_bytes()),
                Err(_) => break,
            }
        }
        if fds.len() / 4 < files.len() {
            out.flags |= so::MSG_CTRUNC;
        }
        if !fds.is_empty() {
            out.put(cx, so::SOL_SOCKET as i32, so::SCM_RIGHTS, &fds)?;
        }
        drop(files);
    }
    // Protocol-level messages (IP_PKTINFO, …).
    for (level, ty, data) in core::mem::take(&mut r.cmsgs) {
        out.put(cx, level, ty, &data)?;
    }
    Ok((out.used, out.flags))
}

fn recv_one(cx: &Ctx, f: &OpenFile, s: &Arc<dyn Socket>, msg: UAddr, flags: u32) -> Result<usize, Errno> {
    let m: Msghdr = cx.read_val(msg)?;
    if m.msg_namelen > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let (vecs, total) = iovecs(cx, UAddr(m.msg_iov), m.msg_iovlen)?;
    let (mut r, data) = recv_data(cx, f, s, &vecs, total, flags)?;
    scatter(cx, &vecs, &data)?;
    // As in Linux's ____sys_recvmsg, the caller's MSG_CMSG_CLOEXEC comes back.
    let mut out_flags = r.flags | (flags & so::MSG_CMSG_CLOEXEC);
    let mut namelen = 0u32;
    if m.msg_name != 0 {
        if let Some(a) = &r.from {
            let n = (m.msg_namelen as usize).min(a.len());
            cx.write_bytes(UAddr(m.msg_name), a.get(..n).unwrap_or(&[]))?;
            namelen = a.len() as u32;
        }
    }
    let (used, cflags) = if m.msg_control != 0 || r.creds.is_some() || !r.rights.is_empty() || !r.cmsgs.is_empty() {
        put_control(cx, &mut r, UAddr(m.msg_control), if m.msg_control == 0 { 0 } else { m.msg_controllen }, flags)?
    } else {
        (0, 0)
    };
    out_flags |= cflags;
    cx.write_val(UAddr(msg.0 + 8), &namelen)?;
    cx.write_val(UAddr(msg.0 + 40), &used)?;
    cx.write_val(UAddr(msg.0 + 48), &out_flags)?;
    Ok(if flags & so::MSG_TRUNC != 0 { r.full } else { r.len })
}

/// recvfrom(2).
pub fn recvfrom(cx: &Ctx, fd: i32, buf: UAddr, len: usize, flags: u32, addr: UAddr, lenp: UAddr) -> SysResult {
    let (f, s) = sock_of(cx, fd)?;
    let len = len.min(i32::MAX as usize);
    let vecs = [Iovec { base: buf.0, len: len as u64 }];
    let (r, data) = recv_data(cx, &f, &s, &vecs, len, flags)?;
    scatter(cx, &vecs, &data)?;
    if !addr.is_null() {
        let a = r.from.clone().unwrap_or_default();
        addr_out(cx, &a, addr, lenp)?;
    }
    // Descriptors nobody asked for are closed (dropped here).
    Ok((if flags & so::MSG_TRUNC != 0 { r.full } else { r.len }) as u64)
}

/// recvmsg(2).
pub fn recvmsg(cx: &Ctx, fd: i32, msg: UAddr, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_of(cx, fd)?;
    Ok(recv_one(cx, &f, &s, msg, flags)? as u64)
}

/// recvmmsg(2).
pub fn recvmmsg(cx: &Ctx, fd: i32, vec: UAddr, vlen: u32, flags: u32, timeout: UAddr) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout.is_null() {
        None
    } else {
        let t: Timespec = cx.read_val(timeout)?;
        Some(crate::time::monotonic_ns().saturating_add(t.as_nanos().ok_or(Errno::EINVAL)?))
    };
    let (f, s) = sock_of(cx, fd)?;
    let vlen = u64::from(vlen).min(UIO_MAXIOV);
    let mut got = 0u64;
    let mut fl = flags;
    for i in 0..vlen {
        let at = UAddr(vec.0 + i * 64);
        match recv_one(cx, &f, &s, at, fl) {
            Ok(n) => {
                cx.write_val(UAddr(at.0 + 56), &(n as u32))?;
                got += 1;
            }
            Err(_) if got > 0 => break,
            Err(e) => return Err(e),
        }
        if flags & so::MSG_WAITFORONE != 0 {
            fl |= so::MSG_DONTWAIT;
        }
        if let Some(d) = deadline {
            let now = crate::time::monotonic_ns();
            if now >= d {
                break;
            }
        }
    }
    if let Some(d) = deadline {
        let left = d.saturating_sub(crate::time::monotonic_ns());
        cx.write_val(timeout, &Timespec::from_nanos(left))?;
    }
    Ok(got)
}
