//! Linux's native asynchronous I/O (io_setup, io_submit, io_getevents,
//! io_pgetevents, io_cancel, io_destroy).
//!
//! A context is a completion ring in the caller's memory, laid out as Linux lays
//! it out (`struct aio_ring`, then `struct io_event`s), so libaio's user-space
//! reaping of completions works. A request runs when it is submitted: Linux does
//! the same for files without O_DIRECT, and a read of an empty pipe blocks
//! io_submit there too. Its result is an event in the ring, and the eventfd it
//! names is signalled. IOCB_CMD_POLL, which completes later, is refused as by
//! kernels before 4.18.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use elfin_shim::errno::Errno;
use elfin_shim::uapi::{Iovec, Timespec};
use elfin_shim::UAddr;

use super::xfer::{check_rw_flags, checked_iovecs, positional, read_iovecs, rw_at};
use super::SysResult;
use crate::fs::eventfd::EventFd;
use crate::sync::SleepLock;
use crate::task::{wait, Ctx, Restart, WaitQueue, Wake};

/// `struct aio_ring`'s magic (AIO_RING_MAGIC).
const RING_MAGIC: u32 = 0xa10a_10a1;
/// Bytes of `struct aio_ring`, the header before the events.
const RING_HEADER: u64 = 32;
/// Bytes of `struct io_event` and of `struct iocb`.
const EVENT_BYTES: u64 = 32;
const IOCB_BYTES: usize = 64;
/// /proc/sys/fs/aio-max-nr: the events all contexts may ask for.
pub const AIO_MAX_NR: u32 = 65536;
/// The events contexts have asked for (/proc/sys/fs/aio-nr).
static AIO_NR: AtomicU32 = AtomicU32::new(0);

/// iocb opcodes (include/uapi/linux/aio_abi.h).
const CMD_PREAD: u16 = 0;
const CMD_PWRITE: u16 = 1;
const CMD_FSYNC: u16 = 2;
const CMD_FDSYNC: u16 = 3;
const CMD_POLL: u16 = 5;
const CMD_PREADV: u16 = 7;
const CMD_PWRITEV: u16 = 8;
/// aio_flags: signal the eventfd `aio_resfd` at completion.
const FLAG_RESFD: u32 = 1;
/// aio_flags: `aio_reqprio` is an I/O priority.
const FLAG_IOPRIO: u32 = 2;

/// The events asked for now, for /proc/sys/fs/aio-nr.
pub fn aio_nr() -> u32 {
    AIO_NR.load(Ordering::Relaxed)
}

/// One AIO context of a process.
pub struct AioCtx {
    /// Its index in the process's table (the ring's `id`).
    id: u32,
    /// The ring's user address: the context's handle.
    ring: u64,
    /// Bytes mapped for the ring.
    ring_len: u64,
    /// Events the ring holds.
    nr: u32,
    /// Events io_setup asked for (counted against aio-max-nr).
    max_reqs: u32,
    /// The ring's tail as the kernel last wrote it; serialises completions and
    /// reaping. A sleeping lock: its holder touches user memory, which may fault.
    tail: SleepLock<u32>,
    /// io_getevents waiters.
    wq: WaitQueue,
    /// Completions so far (what a waiter watches).
    completions: AtomicU64,
    /// Requests submitted and not yet completed, each holding a ring slot.
    running: AtomicU32,
    dead: AtomicBool,
}

impl AioCtx {
    /// Marks the context gone: its waiters return, its events count no more.
    fn kill(&self) {
        if !self.dead.swap(true, Ordering::AcqRel) {
            AIO_NR.fetch_sub(self.max_reqs, Ordering::Relaxed);
            self.wq.wake(Wake::Readable);
        }
    }

    /// The ring's head and tail as user memory holds them (clamped: the
    /// program can write them).
    fn head_tail(&self, cx: &Ctx) -> Result<(u32, u32), Errno> {
        let head: u32 = cx.read_val(UAddr(self.ring + 8))?;
        let tail: u32 = cx.read_val(UAddr(self.ring + 12))?;
        Ok((head % self.nr, tail % self.nr))
    }

    /// Reserves the ring slot of a request about to run (aio_get_req): EAGAIN
    /// when the completed events not reaped yet and the requests running fill
    /// the ring but one slot.
    fn reserve(&self, cx: &Ctx) -> Result<Slot<'_>, Errno> {
        let tail = self.tail.lock();
        let (head, _) = self.head_tail(cx)?;
        let in_ring = if head <= *tail { *tail - head } else { self.nr - (head - *tail) };
        if in_ring + self.running.load(Ordering::Acquire) >= self.nr - 1 {
            return Err(Errno::EAGAIN);
        }
        self.running.fetch_add(1, Ordering::AcqRel);
        Ok(Slot { ctx: self, taken: false })
    }

    /// Puts the event of the request holding `slot` in the ring and wakes the waiters.
    fn complete(&self, cx: &Ctx, mut slot: Slot<'_>, data: u64, obj: u64, res: i64) -> Result<(), Errno> {
        let mut tail = self.tail.lock();
        slot.taken = true;
        self.running.fetch_sub(1, Ordering::AcqRel);
        let at = self.ring + RING_HEADER + u64::from(*tail) * EVENT_BYTES;
        let mut ev = [0u8; EVENT_BYTES as usize];
        ev[..8].copy_from_slice(&data.to_ne_bytes());
        ev[8..16].copy_from_slice(&obj.to_ne_bytes());
        ev[16..24].copy_from_slice(&res.to_ne_bytes());
        cx.write_bytes(UAddr(at), &ev)?;
        let next = (*tail + 1) % self.nr;
        cx.write_bytes(UAddr(self.ring + 12), &next.to_ne_bytes())?;
        *tail = next;
        drop(tail);
        self.completions.fetch_add(1, Ordering::AcqRel);
        self.wq.wake(Wake::Readable);
        Ok(())
    }

    /// Moves up to `max` events from the ring to `out` (advancing the head).
    fn reap(&self, cx: &Ctx, out: UAddr, max: u64) -> Result<u64, Errno> {
        let _serial = self.tail.lock();
        let (mut head, tail) = self.head_tail(cx)?;
        let mut n = 0u64;
        let mut ev = [0u8; EVENT_BYTES as usize];
        while n < max && head != tail {
            cx.read_bytes(UAddr(self.ring + RING_HEADER + u64::from(head) * EVENT_BYTES), &mut ev)?;
            if let Err(e) = cx.write_bytes(UAddr(out.0 + n * EVENT_BYTES), &ev) {
                if n == 0 {
                    return Err(e);
                }
                break;
            }
            head = (head + 1) % self.nr;
            n += 1;
        }
        if n > 0 {
            cx.write_bytes(UAddr(self.ring + 8), &head.to_ne_bytes())?;
        }
        Ok(n)
    }
}

/// A ring slot reserved for a running request; given back unless its event
/// was put in the ring.
struct Slot<'a> {
    ctx: &'a AioCtx,
    taken: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.ctx.running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The context whose handle is `ctx_id`, as Linux's lookup_ioctx: the ring's
/// `id` read from user memory picks the table entry, which must have that handle.
fn lookup(cx: &Ctx, ctx_id: u64) -> Result<Arc<AioCtx>, Errno> {
    let id: u32 = cx.read_val(UAddr(ctx_id)).map_err(|_| Errno::EINVAL)?;
    let e = cx.proc.ext.lock();
    match e.aio.get(id as usize) {
        Some(Some(c)) if c.ring == ctx_id && !c.dead.load(Ordering::Acquire) => Ok(c.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// io_setup(2).
pub fn io_setup(cx: &Ctx, nr_events: u32, ctxp: UAddr) -> SysResult {
    let old: u64 = cx.read_val(ctxp)?;
    if old != 0 || nr_events == 0 {
        return Err(Errno::EINVAL);
    }
    // ioctx_alloc: room for the events of other CPUs' batches, twice over.
    let cpus = crate::task::sched::online().max(1) as u64;
    let doubled = u64::from(nr_events).max(cpus * 4) * 2;
    if doubled > 0x1000_0000 / EVENT_BYTES {
        return Err(Errno::EINVAL);
    }
    if nr_events > AIO_MAX_NR {
        return Err(Errno::EAGAIN);
    }
    // aio_setup_ring: two more events, rounded up to whole pages.
    let pages = (RING_HEADER + (doubled + 2) * EVENT_BYTES).div_ceil(4096);
    let nr = ((pages * 4096 - RING_HEADER) / EVENT_BYTES) as u32;
    if AIO_NR
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(nr_events).filter(|&t| t <= AIO_MAX_NR))
        .is_err()
    {
        return Err(Errno::EAGAIN);
    }
    let ring_len = pages * 4096;
    let mapped = super::mm::mmap(
        cx,
        UAddr(0),
        ring_len as usize,
        super::mm::PROT_READ | super::mm::PROT_WRITE,
        super::mm::MAP_SHARED | super::mm::MAP_ANONYMOUS,
        -1,
        0,
    );
    let ring = match mapped {
        Ok(a) => a,
        Err(_) => {
            AIO_NR.fetch_sub(nr_events, Ordering::Relaxed);
            // aio_setup_ring: a ring that cannot be mapped is ENOMEM.
            return Err(Errno::ENOMEM);
        }
    };
    let id = {
        let mut e = cx.proc.ext.lock();
        let id = e.aio.iter().position(Option::is_none).unwrap_or(e.aio.len());
        let c = Arc::new(AioCtx {
            id: id as u32,
            ring,
            ring_len,
            nr,
            max_reqs: nr_events,
            tail: SleepLock::new(0),
            wq: WaitQueue::new(),
            completions: AtomicU64::new(0),
            running: AtomicU32::new(0),
            dead: AtomicBool::new(false),
        });
        match e.aio.get_mut(id) {
            Some(slot) => *slot = Some(c),
            None => e.aio.push(Some(c)),
        }
        id as u32
    };
    // struct aio_ring: id, nr, head, tail, magic, compat_features (1),
    // incompat_features (0), header_length.
    let mut hdr = [0u8; RING_HEADER as usize];
    for (i, v) in [id, nr, 0, 0, RING_MAGIC, 1, 0, RING_HEADER as u32].into_iter().enumerate() {
        hdr[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    let written = cx.write_bytes(UAddr(ring), &hdr).and_then(|()| cx.write_val(ctxp, &ring));
    if let Err(e) = written {
        destroy(cx, id);
        return Err(e);
    }
    Ok(0)
}

/// Takes context `id` out of the process's table, ends it and unmaps its ring.
fn destroy(cx: &Ctx, id: u32) {
    let c = cx.proc.ext.lock().aio.get_mut(id as usize).and_then(Option::take);
    if let Some(c) = c {
        c.kill();
        let _ = super::mm::munmap(cx, UAddr(c.ring), c.ring_len as usize);
    }
}

/// io_destroy(2).
pub fn io_destroy(cx: &Ctx, ctx_id: u64) -> SysResult {
    let c = lookup(cx, ctx_id)?;
    destroy(cx, c.id);
    Ok(0)
}

/// The contexts of a process that execs or exits: their waiters return (the
/// rings go with the address space).
pub fn drop_all(contexts: Vec<Option<Arc<AioCtx>>>) {
    for c in contexts.into_iter().flatten() {
        c.kill();
    }
}

/// `struct iocb`, as read from user memory.
struct Iocb {
    data: u64,
    rw_flags: u32,
    opcode: u16,
    reqprio: i16,
    fd: u32,
    buf: u64,
    nbytes: u64,
    offset: i64,
    reserved2: u64,
    flags: u32,
    resfd: u32,
}

impl Iocb {
    fn parse(b: &[u8; IOCB_BYTES]) -> Iocb {
        let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
        let u16_at = |o: usize| u16::from_ne_bytes(b[o..o + 2].try_into().unwrap_or([0; 2]));
        Iocb {
            data: u64_at(0),
            // aio_key (offset 8, unused here) and aio_rw_flags: in this order
            // on little-endian machines.
            rw_flags: u32_at(12),
            opcode: u16_at(16),
            reqprio: u16_at(18) as i16,
            fd: u32_at(20),
            buf: u64_at(24),
            nbytes: u64_at(32),
            offset: u64_at(40) as i64,
            reserved2: u64_at(48),
            flags: u32_at(56),
            resfd: u32_at(60),
        }
    }
}

/// io_submit(2).
pub fn io_submit(cx: &Ctx, ctx_id: u64, nr: i64, iocbpp: UAddr) -> SysResult {
    if nr < 0 {
        return Err(Errno::EINVAL);
    }
    let c = lookup(cx, ctx_id)?;
    let nr = (nr as u64).min(u64::from(c.nr));
    let mut done = 0u64;
    for i in 0..nr {
        let r = cx
            .read_val::<u64>(UAddr(iocbpp.0.wrapping_add(i * 8)))
            .and_then(|user_iocb| submit_one(cx, &c, UAddr(user_iocb)));
        if let Err(e) = r {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += 1;
    }
    Ok(done)
}

/// Checks, runs and completes one request (io_submit_one).
fn submit_one(cx: &Ctx, c: &AioCtx, user_iocb: UAddr) -> Result<(), Errno> {
    let mut raw = [0u8; IOCB_BYTES];
    cx.read_bytes(user_iocb, &mut raw)?;
    let cb = Iocb::parse(&raw);
    if cb.reserved2 != 0 || (cb.nbytes as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    // A free slot in the ring (aio_get_req): one is always left empty.
    let slot = c.reserve(cx)?;
    let f = cx.fd(cb.fd as i32)?;
    let eventfd = if cb.flags & FLAG_RESFD != 0 {
        let e = cx.fd(cb.resfd as i32)?;
        if e.downcast::<EventFd>().is_none() {
            return Err(Errno::EINVAL);
        }
        Some(e)
    } else {
        None
    };
    cx.write_val(UAddr(user_iocb.0 + 8), &0u32)?;
    let res = match cb.opcode {
        CMD_PREAD | CMD_PWRITE | CMD_PREADV | CMD_PWRITEV => {
            let is_write = matches!(cb.opcode, CMD_PWRITE | CMD_PWRITEV);
            if cb.flags & FLAG_IOPRIO != 0 {
                super::sys::check_ioprio(cx, cb.reqprio as u16 as i32)?;
            }
            check_rw_flags(cb.rw_flags)?;
            if (is_write && !f.writable()) || (!is_write && !f.readable()) {
                return Err(Errno::EBADF);
            }
            let (vecs, total) = if matches!(cb.opcode, CMD_PREADV | CMD_PWRITEV) {
                read_iovecs(cx, UAddr(cb.buf), i32::try_from(cb.nbytes).map_err(|_| Errno::EINVAL)?)?
            } else {
                checked_iovecs(alloc::vec![Iovec { base: cb.buf, len: cb.nbytes }])?
            };
            // rw_verify_area: no negative position, whatever the file.
            if cb.offset < 0 {
                return Err(Errno::EINVAL);
            }
            // A file without positions (a pipe, a socket) ignores the offset.
            let pos = positional(&f).then_some(cb.offset as u64);
            event_result(cx, rw_at(cx, &f, &vecs, total, is_write, pos, cb.rw_flags))
        }
        CMD_FSYNC | CMD_FDSYNC => {
            if cb.buf != 0 || cb.offset != 0 || cb.nbytes != 0 || cb.rw_flags != 0 {
                return Err(Errno::EINVAL);
            }
            match super::fs::fsync(cx, cb.fd as i32) {
                // No fsync for this kind of file: refused at submission.
                Err(Errno::EINVAL) => return Err(Errno::EINVAL),
                r => event_result(cx, r),
            }
        }
        CMD_POLL => {
            super::report_unsupported("io_submit (IOCB_CMD_POLL)");
            return Err(Errno::EINVAL);
        }
        _ => return Err(Errno::EINVAL),
    };
    c.complete(cx, slot, cb.data, user_iocb.0, res)?;
    if let Some(e) = eventfd.as_ref().and_then(|e| e.downcast::<EventFd>()) {
        e.signal();
    }
    Ok(())
}

/// An operation's outcome as an event's `res`: the count, or the negated errno
/// (a signal that cut the operation short is EINTR: it is not restarted).
fn event_result(cx: &Ctx, r: SysResult) -> i64 {
    match r {
        Ok(n) => n as i64,
        Err(e) => {
            if e == Errno::EINTR {
                cx.interrupted(Restart::Never);
            }
            -(e as i64)
        }
    }
}

/// The relative timeout at `timeout` in nanoseconds: none waits for ever, zero
/// (or less) not at all.
fn read_timeout(cx: &Ctx, timeout: UAddr) -> Result<Option<u64>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    let ts: Timespec = cx.read_val(timeout)?;
    let ns = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    Ok(Some(u64::try_from(ns.max(0)).unwrap_or(u64::MAX)))
}

/// io_getevents(2) and io_pgetevents(2) once the timeout is read, without the
/// signal mask.
fn getevents(cx: &Ctx, ctx_id: u64, min_nr: i64, nr: i64, events: UAddr, wait_ns: Option<u64>) -> SysResult {
    let c = lookup(cx, ctx_id)?;
    if !(0..=nr).contains(&min_nr) {
        return Err(Errno::EINVAL);
    }
    let (min_nr, nr) = (min_nr as u64, nr as u64);
    let deadline = wait_ns.map(|ns| crate::time::monotonic_ns().saturating_add(ns));
    let mut got = 0u64;
    loop {
        // The count is taken before the ring is read: a completion in between
        // ends the wait below at once.
        let seen = c.completions.load(Ordering::Acquire);
        got += c.reap(cx, UAddr(events.0 + got * EVENT_BYTES), nr - got)?;
        if got >= min_nr || wait_ns == Some(0) {
            return Ok(got);
        }
        // The ring is read outside the wait: reading user memory may fault.
        let r = wait::wait_for(cx, &[&c.wq], deadline, Restart::Never, || {
            (c.completions.load(Ordering::Acquire) != seen || c.dead.load(Ordering::Acquire)).then_some(())
        });
        match r {
            Ok(()) if c.dead.load(Ordering::Acquire) => return if got > 0 { Ok(got) } else { Err(Errno::EINVAL) },
            Ok(()) => {}
            Err(Errno::ETIMEDOUT) => return Ok(got),
            Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
        }
    }
}

/// io_getevents(2).
pub fn io_getevents(cx: &Ctx, ctx_id: u64, min_nr: i64, nr: i64, events: UAddr, timeout: UAddr) -> SysResult {
    let wait_ns = read_timeout(cx, timeout)?;
    getevents(cx, ctx_id, min_nr, nr, events, wait_ns)
}

/// io_pgetevents(2): io_getevents with a signal mask for its length.
pub fn io_pgetevents(
    cx: &Ctx,
    ctx_id: u64,
    min_nr: i64,
    nr: i64,
    events: UAddr,
    timeout: UAddr,
    usig: UAddr,
) -> SysResult {
    let wait_ns = read_timeout(cx, timeout)?;
    // struct __aio_sigset: the mask's address and size.
    let (mask, size) = if usig.is_null() {
        (UAddr(0), 0)
    } else {
        let v: [u64; 2] = cx.read_val(usig)?;
        (UAddr(v[0]), v[1] as usize)
    };
    super::fs::set_temp_mask(cx, mask, size)?;
    let r = getevents(cx, ctx_id, min_nr, nr, events, wait_ns);
    // Interrupted with nothing read: ERESTARTNOHAND.
    let r = match r {
        Err(Errno::EINTR) => Err(cx.interrupted(Restart::NoHand)),
        r => r,
    };
    super::fs::restore_temp_mask(cx, &r);
    r
}

/// io_cancel(2): every request completes as it is submitted, so none is left
/// to cancel.
pub fn io_cancel(cx: &Ctx, ctx_id: u64, iocb: UAddr, _result: UAddr) -> SysResult {
    let key: u32 = cx.read_val(UAddr(iocb.0.wrapping_add(8)))?;
    if key != 0 {
        return Err(Errno::EINVAL);
    }
    lookup(cx, ctx_id)?;
    Err(Errno::EINVAL)
}
