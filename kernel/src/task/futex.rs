//! Futexes: wait queues keyed by a user address. A private futex (or any futex in
//! a private mapping) is keyed by its address space and address; a futex in a
//! shared mapping by the physical page under it, so that processes sharing the
//! page meet on it.
use alloc::sync::Arc;

use crate::sync::Mutex;
use elfin_kcore::FutexBucket;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::futex::*;
use elfin_shim::uapi::RobustListHead;
use elfin_shim::UAddr;

use super::{sched, Ctx, Restart, Thread};

/// Where waiters of one futex meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// (address space, user address).
    Private(usize, u64),
    /// Physical address of the futex word.
    Shared(u64),
}

/// Buckets of the futex table, each behind its own lock, so that futexes of
/// unrelated locks do not contend (Linux hashes its futexes the same way).
const BUCKETS: usize = 64;
static TABLE: [Mutex<FutexBucket<Key, Arc<Thread>>>; BUCKETS] = [const { Mutex::new(FutexBucket::new()) }; BUCKETS];

/// Index of `key`'s bucket.
fn bucket_index(key: Key) -> usize {
    let (a, b) = match key {
        Key::Private(mm, addr) => (mm as u64, addr),
        Key::Shared(pa) => (0, pa),
    };
    // Fibonacci hashing of the word's address mixed with its address space.
    let h = ((b >> 2) ^ a.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - BUCKETS.trailing_zeros())) as usize
}

/// `key`'s bucket.
fn bucket(key: Key) -> &'static Mutex<FutexBucket<Key, Arc<Thread>>> {
    // The index is below BUCKETS by construction.
    &TABLE[bucket_index(key) % BUCKETS]
}

/// Gives back the memory the buckets keep between waits (before the leak report).
pub fn shrink_buckets() {
    for b in &TABLE {
        b.lock().shrink();
    }
}

/// The key of the futex at `uaddr` (EFAULT when it is not mapped).
pub fn key_of(cx: &Ctx, uaddr: UAddr, private: bool) -> Result<Key, Errno> {
    if !uaddr.0.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mm_id = Arc::as_ptr(cx.mm_arc()) as usize;
    if private {
        return Ok(Key::Private(mm_id, uaddr.0));
    }
    let mut mm = cx.mm();
    let shared = mm.find(uaddr.0).map(|(_, _, a)| a.shared).ok_or(Errno::EFAULT)?;
    if !shared {
        return Ok(Key::Private(mm_id, uaddr.0));
    }
    let pa = mm.user_page(uaddr.0 & !0xfff, false).map_err(|_| Errno::EFAULT)?;
    Ok(Key::Shared(pa + (uaddr.0 & 0xfff)))
}

fn queued(key: Key, t: &Arc<Thread>) -> bool {
    bucket(key).lock().is_queued(key, |w| Arc::ptr_eq(w, t))
}

fn dequeue(key: Key, t: &Arc<Thread>) -> bool {
    bucket(key).lock().remove(key, |w| Arc::ptr_eq(w, t))
}

/// FUTEX_WAIT(_BITSET): sleeps while the word at `uaddr` equals `val`.
pub fn wait(cx: &Ctx, uaddr: UAddr, val: u32, bitset: u32, deadline: Option<u64>, private: bool) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key_of(cx, uaddr, private)?;
    let me = cx.thread.clone();
    sched::prepare_sleep();
    {
        // Read the word under the table lock: a waker changes it before waking, so
        // either we see the new value or the wake-up finds us queued. The address
        // space (a sleeping lock) comes first.
        let mut mm = cx.mm();
        let mut tbl = bucket(key).lock();
        let cur: u32 = crate::uaccess::read_val(&mut mm, uaddr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        if !tbl.enqueue(key, me.clone(), bitset) {
            return Err(Errno::ENOMEM);
        }
    }
    loop {
        if !queued(key, &me) {
            return Ok(0);
        }
        if super::signal::interrupting(&me) {
            if !dequeue(key, &me) {
                return Ok(0);
            }
            // Without a handler the wait starts again (a relative timeout then counts
            // from the restart); with one, EINTR unless SA_RESTART and no timeout.
            return Err(cx.interrupted(if deadline.is_none() { Restart::Sys } else { Restart::NoHand }));
        }
        if deadline.map(|d| crate::time::monotonic_ns() >= d).unwrap_or(false) {
            if !dequeue(key, &me) {
                return Ok(0);
            }
            return Err(Errno::ETIMEDOUT);
        }
        sched::sleep(deadline);
        sched::prepare_sleep();
    }
}

/// Wakes up to `n` waiters of `key` whose bitset matches; returns how many.
pub fn wake(key: Key, n: usize, bitset: u32) -> usize {
    // Woken outside the bucket's lock; the usual few need no allocation.
    let mut woken = super::wait::Few::new();
    let got = bucket(key).lock().wake(key, n, bitset, |t| woken.push(t));
    for t in woken.iter() {
        sched::wake(t);
    }
    got
}

/// Moves up to `n` waiters of `from` to `to` (FUTEX_REQUEUE); returns how many.
pub fn requeue(from: Key, to: Key, n: usize) -> usize {
    let (i, j) = (bucket_index(from) % BUCKETS, bucket_index(to) % BUCKETS);
    if i == j {
        return bucket(from).lock().requeue(from, to, n);
    }
    // Two buckets are locked in index order, so that two requeues cannot deadlock.
    let (first, second) = (&TABLE[i.min(j)], &TABLE[i.max(j)]);
    let (mut a, mut b) = (first.lock(), second.lock());
    if i < j {
        a.requeue_into(from, &mut b, to, n)
    } else {
        b.requeue_into(from, &mut a, to, n)
    }
}

/// Walks the exiting thread's robust futex list (set_robust_list): every lock it
/// still holds is marked FUTEX_OWNER_DIED and one waiter is woken, as Linux's
/// exit_robust_list does.
pub fn exit_robust_list(cx: &Ctx) {
    let (head, len) = cx.thread.misc.lock().robust_list;
    if head == 0 || len != core::mem::size_of::<RobustListHead>() {
        return;
    }
    let Ok(h) = cx.read_val::<RobustListHead>(UAddr(head)) else { return };
    let tid = cx.thread.tid() as u32;
    let handle = |entry: u64| {
        let Some(word) = entry.checked_add_signed(h.futex_offset) else { return };
        let Ok(v) = cx.read_val::<u32>(UAddr(word)) else { return };
        if v & FUTEX_TID_MASK != tid {
            return;
        }
        let new = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if cx.write_val(UAddr(word), &new).is_err() {
            return;
        }
        if v & FUTEX_WAITERS != 0 {
            if let Ok(k) = key_of(cx, UAddr(word), false) {
                wake(k, 1, FUTEX_BITSET_MATCH_ANY);
            }
        }
    };
    let mut entry = h.list;
    let mut n = 0;
    while entry != head && entry != 0 && n < ROBUST_LIST_LIMIT {
        // The low bit marks a PI futex; the address is the rest.
        let next = cx.read_val::<u64>(UAddr(entry & !1)).unwrap_or(head);
        if entry != h.list_op_pending {
            handle(entry & !1);
        }
        entry = next;
        n += 1;
    }
    if h.list_op_pending != 0 {
        handle(h.list_op_pending & !1);
    }
}
