//! Moving data: readv/writev and their positional forms (preadv, pwritev,
//! preadv2, pwritev2), and the calls that move data between descriptors without
//! a user buffer: splice, tee, vmsplice, copy_file_range.
use alloc::vec::Vec;

use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::Iovec;
use elfin_shim::UAddr;

use super::fs::{regular, CHUNK};
use super::SysResult;
use crate::fs::file::{OpenFile, O_APPEND, O_NONBLOCK};
use crate::fs::pipe::PipeEnd;
use crate::task::Ctx;

/// Most bytes a readv/writev gathers into one transfer.
const GATHER: usize = 1 << 20;
/// UIO_MAXIOV.
const MAX_IOV: i32 = 1024;
/// The most one read or write moves (Linux's MAX_RW_COUNT: INT_MAX rounded down
/// to a page); longer requests are cut to it.
pub(super) const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// preadv2/pwritev2 flags (include/uapi/linux/fs.h).
const RWF_HIPRI: u32 = 1;
const RWF_DSYNC: u32 = 2;
const RWF_SYNC: u32 = 4;
const RWF_NOWAIT: u32 = 8;
const RWF_APPEND: u32 = 0x10;
/// What preadv2/pwritev2 accept.
const RWF_SUPPORTED: u32 = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

/// Checks RWF_* `flags` as Linux's kiocb_set_rw_flags does: EOPNOTSUPP for an
/// unknown flag. RWF_APPEND is taken by a read too, which ignores it.
pub(super) fn check_rw_flags(flags: u32) -> Result<(), Errno> {
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// splice flags.
const SPLICE_F_MOVE: u32 = 1;
const SPLICE_F_NONBLOCK: u32 = 2;
const SPLICE_F_MORE: u32 = 4;
const SPLICE_F_GIFT: u32 = 8;
const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/// The `iovcnt` vectors at `iov` as Linux's import_iovec takes them: EINVAL for a
/// bad count or a negative length, EFAULT for a range outside user space; the
/// lengths cut to MAX_RW_COUNT in all. Returns them and their total.
pub(super) fn read_iovecs(cx: &Ctx, iov: UAddr, iovcnt: i32) -> Result<(Vec<Iovec>, u64), Errno> {
    if !(0..=MAX_IOV).contains(&iovcnt) {
        return Err(Errno::EINVAL);
    }
    let mut vecs: Vec<Iovec> = Vec::new();
    for i in 0..iovcnt as u64 {
        let v: Iovec = cx.read_val(UAddr(iov.0 + i * 16))?;
        // Linux's copy_iovec_from_user: a length that is negative as ssize_t.
        if (v.len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        vecs.push(v);
    }
    checked_iovecs(vecs)
}

/// `vecs` as Linux's __import_iovec takes them: EFAULT for a range outside user
/// space, the lengths cut to MAX_RW_COUNT in all. Returns them and their total.
pub(super) fn checked_iovecs(mut vecs: Vec<Iovec>) -> Result<(Vec<Iovec>, u64), Errno> {
    // Each range must lie in user space (access_ok), and the total is cut to
    // MAX_RW_COUNT. A single vector is cut before the check (import_ubuf),
    // several after it.
    let single = vecs.len() == 1;
    let mut total: u64 = 0;
    for v in vecs.iter_mut() {
        if single {
            v.len = v.len.min(MAX_RW_COUNT);
        }
        if v.base.checked_add(v.len).is_none_or(|e| e > crate::mem::vm::USER_END) {
            return Err(Errno::EFAULT);
        }
        v.len = v.len.min(MAX_RW_COUNT - total);
        total += v.len;
    }
    Ok((vecs, total))
}

fn advance(vecs: &[Iovec], mut i: usize, mut o: u64, mut n: u64) -> (usize, u64) {
    while n > 0 {
        let Some(v) = vecs.get(i) else { break };
        let m = (v.len - o).min(n);
        n -= m;
        o += m;
        if o == v.len {
            i += 1;
            o = 0;
        }
    }
    (i, o)
}

/// One transfer of `buf` at `pos` (None: the file position), as pread/pwrite or
/// read/write.
fn transfer(cx: &Ctx, f: &OpenFile, buf: &mut [u8], is_write: bool, pos: Option<u64>) -> Result<usize, Errno> {
    match (is_write, pos) {
        (true, Some(p)) => f.file.pwrite(f, buf, p),
        (true, None) => f.file.write(cx, f, buf),
        (false, Some(p)) => {
            if let Some(n) = f.inode() {
                if crate::fs::ftype(&*n) == S_IFDIR {
                    return Err(Errno::EISDIR);
                }
            }
            f.file.pread(buf, p)
        }
        (false, None) => f.file.read(cx, f, buf),
    }
}

/// readv/writev (`pos` None) and preadv/pwritev/preadv2/pwritev2: the vectors are
/// gathered into one transfer (up to 1 MiB at a time), so that a pipe sees one
/// atomic write and a read takes what one read gives.
pub fn rw_vec(cx: &Ctx, fd: i32, iov: UAddr, iovcnt: i32, is_write: bool, pos: Option<i64>, flags: u32) -> SysResult {
    check_rw_flags(flags)?;
    let f = cx.fd(fd)?;
    if (is_write && !f.writable()) || (!is_write && !f.readable()) {
        return Err(Errno::EBADF);
    }
    let (vecs, total) = read_iovecs(cx, iov, iovcnt)?;
    // A positional call needs a file that has positions.
    let pos = match pos {
        Some(p) if p < 0 => return Err(Errno::EINVAL),
        Some(p) => {
            if !positional(&f) {
                return Err(Errno::ESPIPE);
            }
            Some(p as u64)
        }
        None => None,
    };
    rw_at(cx, &f, &vecs, total, is_write, pos, flags)
}

/// Whether `f` has positions (pread and pwrite work on it).
pub(super) fn positional(f: &OpenFile) -> bool {
    f.inode().is_some() && f.file.seekable()
}

/// The transfer of [`rw_vec`] once its arguments are checked: `vecs` (of `total`
/// bytes) to or from `f`, at `pos` or at the file position, with RWF_* `flags`.
pub(super) fn rw_at(
    cx: &Ctx,
    f: &OpenFile,
    vecs: &[Iovec],
    total: u64,
    is_write: bool,
    mut pos: Option<u64>,
    flags: u32,
) -> SysResult {
    if flags & RWF_APPEND != 0 && is_write {
        if let Some(n) = f.inode() {
            pos = Some(n.size());
        }
    }
    // RWF_NOWAIT: this call does not block (a pipe answers EAGAIN).
    let nowait_file;
    let f: &OpenFile = if flags & RWF_NOWAIT != 0 && !f.nonblocking() {
        nowait_file = OpenFile::new(f.file.clone(), f.flags() | O_NONBLOCK, f.path.clone());
        &nowait_file
    } else {
        f
    };
    let mut done: u64 = 0;
    let mut vi = 0usize;
    let mut voff: u64 = 0;
    while done < total {
        let want = ((total - done) as usize).min(GATHER);
        let mut kbuf = super::bounce::take_any(want)?;
        let at = pos.map(|p| p + done);
        if is_write {
            // Gather.
            let (mut i, mut o, mut k) = (vi, voff, 0usize);
            while k < want {
                let Some(v) = vecs.get(i) else { break };
                let n = ((v.len - o) as usize).min(want - k);
                if n > 0 {
                    let dst = kbuf.get_mut(k..k + n).ok_or(Errno::EFAULT)?;
                    if let Err(e) = cx.read_bytes(UAddr(v.base + o), dst) {
                        if done == 0 && k == 0 {
                            return Err(e);
                        }
                        kbuf.truncate(k);
                        break;
                    }
                }
                k += n;
                o += n as u64;
                if o == v.len {
                    i += 1;
                    o = 0;
                }
            }
            let short = kbuf.len() < want;
            let n = match transfer(cx, f, &mut kbuf, true, at) {
                Ok(n) => n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            if n > 0 {
                super::fs::modified(f);
            }
            done += n as u64;
            if n < want || short {
                break;
            }
            (vi, voff) = advance(vecs, vi, voff, n as u64);
        } else {
            // Check the buffers first: data taken from a pipe must not be lost.
            if done == 0
                && !vecs.iter().all(|v| v.len == 0 || cx.mm().check_access(v.base, v.len.min(CHUNK as u64), true))
            {
                return Err(Errno::EFAULT);
            }
            let n = match transfer(cx, f, &mut kbuf, false, at) {
                Ok(n) => n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            if n > 0 {
                super::fs::accessed(f);
            }
            // Scatter.
            let (mut i, mut o, mut k) = (vi, voff, 0usize);
            while k < n {
                let Some(v) = vecs.get(i) else { break };
                let m = ((v.len - o) as usize).min(n - k);
                if m > 0 {
                    let src = kbuf.get(k..k + m).ok_or(Errno::EFAULT)?;
                    if let Err(e) = cx.write_bytes(UAddr(v.base + o), src) {
                        return if done + k as u64 > 0 { Ok(done + k as u64) } else { Err(e) };
                    }
                }
                k += m;
                o += m as u64;
                if o == v.len {
                    i += 1;
                    o = 0;
                }
            }
            done += n as u64;
            (vi, voff) = (i, o);
            if n < want || !regular(f) {
                break;
            }
        }
    }
    Ok(done)
}

/// The positional argument of preadv/pwritev: on 64-bit Linux the low word is the
/// whole offset (pos_from_hilo shifts the high word out).
pub fn pos_of(lo: u64, _hi: u64) -> i64 {
    lo as i64
}

// ------------------------------------------------------------------ splice --

fn pipe_of(f: &OpenFile) -> Option<&PipeEnd> {
    f.downcast::<PipeEnd>()
}

/// Reads an optional loff_t argument (EINVAL when negative).
fn read_off(cx: &Ctx, a: UAddr) -> Result<Option<u64>, Errno> {
    if a.is_null() {
        return Ok(None);
    }
    let v: i64 = cx.read_val(a)?;
    if v < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v as u64))
}

/// Writes `data` to the file `out` at `off` (None: its position); EINVAL for
/// a file opened O_APPEND, as splice wants.
fn file_write(cx: &Ctx, out: &OpenFile, data: &[u8], off: Option<u64>) -> Result<usize, Errno> {
    match off {
        Some(o) => out.file.pwrite(out, data, o),
        None => out.file.write(cx, out, data),
    }
}

/// Reads from the file `inp` at `off` (None: its position).
fn file_read(cx: &Ctx, inp: &OpenFile, buf: &mut [u8], off: Option<u64>) -> Result<usize, Errno> {
    match off {
        Some(o) => inp.file.pread(buf, o),
        None => inp.file.read(cx, inp, buf),
    }
}

/// splice(2).
pub fn splice(cx: &Ctx, fd_in: i32, off_in: UAddr, fd_out: i32, off_out: UAddr, len: usize, flags: u32) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = cx.fd(fd_in)?;
    let out = cx.fd(fd_out)?;
    if !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(isize::MAX as usize);
    let mut nb = flags & SPLICE_F_NONBLOCK != 0;
    match (pipe_of(&inp), pipe_of(&out)) {
        (Some(ip), Some(op)) => {
            if !off_in.is_null() || !off_out.is_null() {
                return Err(Errno::ESPIPE);
            }
            if ip.pipe().same(op.pipe()) {
                return Err(Errno::EINVAL);
            }
            nb |= (inp.flags() | out.flags()) & O_NONBLOCK != 0;
            let data = ip.pipe().peek_wait(cx, nb, len)?;
            if data.is_empty() {
                return Ok(0);
            }
            let space = op.pipe().space_wait(cx, nb)?;
            let n = op.pipe().push(data.get(..space.min(data.len())).unwrap_or(&[]));
            ip.pipe().consume(n);
            Ok(n as u64)
        }
        (Some(ip), None) => {
            if !off_in.is_null() {
                return Err(Errno::ESPIPE);
            }
            let off = read_off(cx, off_out)?;
            if off.is_some() && !out.file.seekable() {
                return Err(Errno::EINVAL);
            }
            if out.flags() & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            nb |= inp.flags() & O_NONBLOCK != 0;
            let data = ip.pipe().peek_wait(cx, nb, len.min(CHUNK))?;
            if data.is_empty() {
                return Ok(0);
            }
            let n = file_write(cx, &out, &data, off)?;
            ip.pipe().consume(n);
            if let Some(o) = off {
                cx.write_val(off_out, &((o + n as u64) as i64))?;
            }
            Ok(n as u64)
        }
        (None, Some(op)) => {
            if !off_out.is_null() {
                return Err(Errno::ESPIPE);
            }
            let off = read_off(cx, off_in)?;
            if off.is_some() && !inp.file.seekable() {
                return Err(Errno::EINVAL);
            }
            // Only files with content can be read into a pipe (a directory has
            // no splice_read: EINVAL).
            if let Some(n) = inp.inode() {
                if crate::fs::ftype(&*n) == S_IFDIR {
                    return Err(Errno::EINVAL);
                }
            }
            nb |= out.flags() & O_NONBLOCK != 0;
            let space = op.pipe().space_wait(cx, nb)?;
            let mut buf = alloc::vec![0u8; space.min(len).min(CHUNK)];
            let n = file_read(cx, &inp, &mut buf, off)?;
            let n = op.pipe().push(buf.get(..n).unwrap_or(&[]));
            if let Some(o) = off {
                cx.write_val(off_in, &((o + n as u64) as i64))?;
            }
            Ok(n as u64)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

/// tee(2): copies from one pipe to another without consuming.
pub fn tee(cx: &Ctx, fd_in: i32, fd_out: i32, len: usize, flags: u32) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let inp = cx.fd(fd_in)?;
    let out = cx.fd(fd_out)?;
    if !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    let (Some(ip), Some(op)) = (pipe_of(&inp), pipe_of(&out)) else { return Err(Errno::EINVAL) };
    if ip.pipe().same(op.pipe()) {
        return Err(Errno::EINVAL);
    }
    let nb = flags & SPLICE_F_NONBLOCK != 0 || (inp.flags() | out.flags()) & O_NONBLOCK != 0;
    let data = ip.pipe().peek_wait(cx, nb, len)?;
    if data.is_empty() {
        return Ok(0);
    }
    let space = op.pipe().space_wait(cx, nb)?;
    Ok(op.pipe().push(data.get(..space.min(data.len())).unwrap_or(&[])) as u64)
}

/// vmsplice(2): user memory into a pipe's write end, or out of its read end.
pub fn vmsplice(cx: &Ctx, fd: i32, iov: UAddr, nr: usize, flags: u32) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = cx.fd(fd)?;
    let Some(p) = pipe_of(&f) else { return Err(Errno::EBADF) };
    if nr > MAX_IOV as usize {
        return Err(Errno::EINVAL);
    }
    let (vecs, total) = read_iovecs(cx, iov, nr as i32)?;
    if total == 0 {
        return Ok(0);
    }
    let nb = flags & SPLICE_F_NONBLOCK != 0 || f.nonblocking();
    if p.is_write_end() {
        let mut done = 0u64;
        for v in &vecs {
            let mut off = 0u64;
            while off < v.len {
                let space = match p.pipe().space_wait(cx, nb || done > 0) {
                    Ok(s) => s,
                    Err(_) if done > 0 => return Ok(done),
                    Err(e) => return Err(e),
                };
                let n = ((v.len - off) as usize).min(space).min(CHUNK);
                let mut buf = alloc::vec![0u8; n];
                if let Err(e) = cx.read_bytes(UAddr(v.base + off), &mut buf) {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                let put = p.pipe().push(&buf);
                done += put as u64;
                off += put as u64;
            }
        }
        Ok(done)
    } else {
        let data = p.pipe().peek_wait(cx, nb, total.min(CHUNK as u64 * 16) as usize)?;
        let mut done = 0usize;
        for v in &vecs {
            if done >= data.len() {
                break;
            }
            let n = (v.len as usize).min(data.len() - done);
            if let Err(e) = cx.write_bytes(UAddr(v.base), data.get(done..done + n).unwrap_or(&[])) {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += n;
        }
        p.pipe().consume(done);
        Ok(done as u64)
    }
}

/// copy_file_range(2) between regular files (Linux's generic_copy_file_checks).
pub fn copy_file_range(
    cx: &Ctx,
    fd_in: i32,
    off_in: UAddr,
    fd_out: i32,
    off_out: UAddr,
    len: usize,
    flags: u32,
) -> SysResult {
    let inp = cx.fd(fd_in)?;
    let out = cx.fd(fd_out)?;
    let raw = |a: UAddr| -> Result<Option<i64>, Errno> {
        if a.is_null() {
            Ok(None)
        } else {
            cx.read_val(a).map(Some)
        }
    };
    let (rin, rout) = (raw(off_in)?, raw(off_out)?);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (Some(ni), Some(no)) = (inp.inode(), out.inode()) else { return Err(Errno::EINVAL) };
    let (ti, to) = (crate::fs::ftype(&*ni), crate::fs::ftype(&*no));
    if ti == S_IFDIR || to == S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if ti != S_IFREG || to != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if !inp.readable() || !out.writable() || out.flags() & O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let start_in = rin.unwrap_or_else(|| *inp.offset.lock() as i64);
    let start_out = rout.unwrap_or_else(|| *out.offset.lock() as i64);
    // Linux's wrap check adds the count to the offsets as unsigned numbers, then
    // rw_verify_area refuses negative offsets.
    let wraps = |p: i64| (p as u64).checked_add(len as u64).is_none();
    if wraps(start_in) || wraps(start_out) {
        return Err(Errno::EOVERFLOW);
    }
    if start_in < 0 || start_out < 0 {
        return Err(Errno::EINVAL);
    }
    let (pin, pout) = (rin.map(|v| v as u64), rout.map(|v| v as u64));
    let (start_in, start_out) = (start_in as u64, start_out as u64);
    crate::mem::vm::sync_file(&ni);
    let size_in = ni.size();
    let mut count = if start_in >= size_in { 0 } else { (len as u64).min(size_in - start_in) };
    count = crate::task::rlimit::fsize_check(start_out, count)?;
    let same = crate::mem::vm::same_node(&ni, &no);
    if same && start_out + count > start_in && start_out < start_in + count {
        return Err(Errno::EINVAL);
    }
    let mut done = 0u64;
    let mut buf = alloc::vec![0u8; (count as usize).min(CHUNK)];
    while done < count {
        let want = ((count - done) as usize).min(CHUNK);
        let chunk = buf.get_mut(..want).ok_or(Errno::EFAULT)?;
        let n = inp.file.pread(chunk, start_in + done)?;
        if n == 0 {
            break;
        }
        let w = match out.file.pwrite(&out, chunk.get(..n).unwrap_or(&[]), start_out + done) {
            Ok(w) => w,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += w as u64;
        if w < n {
            break;
        }
    }
    match pin {
        Some(o) => cx.write_val(off_in, &((o + done) as i64))?,
        None => *inp.offset.lock() = start_in + done,
    }
    match pout {
        Some(o) => cx.write_val(off_out, &((o + done) as i64))?,
        None => *out.offset.lock() = start_out + done,
    }
    Ok(done)
}
