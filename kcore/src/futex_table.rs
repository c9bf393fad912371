//! A futex hash bucket: the waiters of the keys that hash to it, in arrival order,
//! each with the bitset of FUTEX_WAIT_BITSET. Waking takes the oldest waiters of a
//! key whose bitset matches; requeueing moves the oldest waiters of a key behind
//! those of another key (in this bucket or another one) and keeps their order.
//!
//! A bucket is one vector that keeps its capacity, so that waiting and waking
//! allocate nothing once a bucket has seen as many waiters as it holds at once;
//! [`FutexBucket::shrink`] gives the memory back. The kernel hashes keys over an
//! array of buckets, each behind its own lock, as Linux does.
use alloc::vec::Vec;

/// Waiters of type `W` queued on keys of type `K`.
#[derive(Debug)]
pub struct FutexBucket<K, W> {
    /// (key, waiter, bitset), oldest first.
    waiters: Vec<(K, W, u32)>,
}

impl<K: Eq + Copy, W> Default for FutexBucket<K, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Copy, W> FutexBucket<K, W> {
    /// An empty bucket.
    pub const fn new() -> Self {
        FutexBucket { waiters: Vec::new() }
    }

    /// Queues `waiter` on `key` behind the waiters already there; false when memory
    /// for it could not be had.
    pub fn enqueue(&mut self, key: K, waiter: W, bitset: u32) -> bool {
        if self.waiters.try_reserve(1).is_err() {
            return false;
        }
        self.waiters.push((key, waiter, bitset));
        true
    }

    /// Whether a waiter for which `is` holds is queued on `key`.
    pub fn is_queued(&self, key: K, is: impl Fn(&W) -> bool) -> bool {
        self.waiters.iter().any(|(k, w, _)| *k == key && is(w))
    }

    /// Removes the waiters of `key` for which `is` holds; true when there was one
    /// (false: a waker took it off first).
    pub fn remove(&mut self, key: K, is: impl Fn(&W) -> bool) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|(k, w, _)| !(*k == key && is(w)));
        self.waiters.len() != before
    }

    /// Takes up to `n` of the oldest waiters of `key` whose bitset shares a bit with
    /// `bitset` (FUTEX_WAKE_BITSET), handing each to `woken` oldest first; the
    /// others keep their places. Returns how many were taken.
    pub fn wake(&mut self, key: K, n: usize, bitset: u32, mut woken: impl FnMut(W)) -> usize {
        self.take(n, |k, b| k == key && b & bitset != 0, |w, _| woken(w))
    }

    /// Moves up to `n` of the oldest waiters of `from` behind those of `to`
    /// (FUTEX_REQUEUE within one bucket); returns how many moved (none when memory
    /// to move them through could not be had).
    pub fn requeue(&mut self, from: K, to: K, n: usize) -> usize {
        let count = self.waiters(from).min(n);
        if from == to {
            return count;
        }
        let mut moved = Vec::new();
        if moved.try_reserve_exact(count).is_err() {
            return 0;
        }
        self.take(count, |k, _| k == from, |w, b| moved.push((to, w, b)));
        self.waiters.append(&mut moved);
        count
    }

    /// Moves up to `n` of the oldest waiters of `from` in this bucket behind those
    /// of `to` in bucket `other` (FUTEX_REQUEUE across buckets); returns how many
    /// moved. Waiters that `other` has no room for stay where they are.
    pub fn requeue_into(&mut self, from: K, other: &mut Self, to: K, n: usize) -> usize {
        let room = n.min(self.waiters(from));
        if other.waiters.try_reserve(room).is_err() {
            return 0;
        }
        self.take(room, |k, _| k == from, |w, b| other.waiters.push((to, w, b)))
    }

    /// How many waiters `key` has.
    pub fn waiters(&self, key: K) -> usize {
        self.waiters.iter().filter(|(k, _, _)| *k == key).count()
    }

    /// How many waiters the bucket holds.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether no one waits here.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Gives back the memory kept for waiters that are gone.
    pub fn shrink(&mut self) {
        self.waiters.shrink_to_fit();
    }

    /// Removes up to `n` of the oldest entries for which `pick(key, bitset)` holds,
    /// handing each to `out`; the rest keep their order.
    fn take(&mut self, n: usize, pick: impl Fn(K, u32) -> bool, mut out: impl FnMut(W, u32)) -> usize {
        let mut taken = 0usize;
        let chosen = |e: &mut (K, W, u32)| {
            let take = taken < n && pick(e.0, e.2);
            if take {
                taken = taken.saturating_add(1);
            }
            take
        };
        for (_, w, b) in self.waiters.extract_if(.., chosen) {
            out(w, b);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: u32 = u32::MAX;

    /// The waiters `wake` hands over, in order.
    fn wake<W>(t: &mut FutexBucket<u64, W>, key: u64, n: usize, bitset: u32) -> Vec<W> {
        let mut out = Vec::new();
        let count = t.wake(key, n, bitset, |w| out.push(w));
        assert_eq!(count, out.len());
        out
    }

    #[test]
    fn wakes_the_oldest_first_and_no_more_than_asked() {
        let mut t = FutexBucket::new();
        for w in 1..=5 {
            assert!(t.enqueue(10u64, w, ANY));
        }
        assert_eq!(wake(&mut t, 10, 2, ANY), vec![1, 2]);
        assert_eq!(wake(&mut t, 10, 0, ANY), Vec::<i32>::new());
        assert_eq!(t.waiters(10), 3);
        assert_eq!(wake(&mut t, 10, usize::MAX, ANY), vec![3, 4, 5]);
        assert!(t.is_empty());
        assert_eq!(wake(&mut t, 10, 1, ANY), Vec::<i32>::new());
    }

    #[test]
    fn keys_are_separate() {
        let mut t = FutexBucket::new();
        t.enqueue(1u64, 'a', ANY);
        t.enqueue(2u64, 'b', ANY);
        t.enqueue(1u64, 'c', ANY);
        assert_eq!(wake(&mut t, 1, 5, ANY), vec!['a', 'c']);
        assert!(t.is_queued(2, |&w| w == 'b'));
        assert!(!t.is_queued(1, |&w| w == 'a'));
        assert!(!t.is_queued(1, |&w| w == 'b'), "b waits on another key");
    }

    #[test]
    fn bitsets_select_waiters_and_the_rest_keep_their_order() {
        let mut t = FutexBucket::new();
        t.enqueue(7u64, 1, 0b01);
        t.enqueue(7, 2, 0b10);
        t.enqueue(7, 3, 0b11);
        t.enqueue(7, 4, 0b10);
        assert_eq!(wake(&mut t, 7, 10, 0b10), vec![2, 3, 4]);
        assert_eq!(wake(&mut t, 7, 10, 0b10), Vec::<i32>::new());
        assert_eq!(t.waiters(7), 1);
        t.enqueue(7, 5, 0b01);
        assert_eq!(wake(&mut t, 7, 1, 0b01), vec![1]);
        assert_eq!(wake(&mut t, 7, 1, ANY), vec![5]);
    }

    #[test]
    fn remove_reports_whether_the_waiter_was_still_there() {
        let mut t = FutexBucket::new();
        t.enqueue(3u64, 1, ANY);
        t.enqueue(3, 2, ANY);
        assert!(t.remove(3, |&w| w == 1));
        assert!(!t.remove(3, |&w| w == 1), "a timed-out waiter already woken is gone");
        assert!(!t.remove(4, |&w| w == 2));
        assert!(t.remove(3, |&w| w == 2));
        assert!(t.is_empty());
    }

    #[test]
    fn requeue_moves_the_oldest_behind_the_target() {
        let mut t = FutexBucket::new();
        t.enqueue(2u64, 'a', ANY);
        t.enqueue(1u64, 'x', ANY);
        for w in ['b', 'c'] {
            t.enqueue(2u64, w, ANY);
        }
        assert_eq!(t.requeue(2, 1, 2), 2);
        assert_eq!(t.waiters(2), 1);
        assert_eq!(wake(&mut t, 1, 10, ANY), vec!['x', 'a', 'b'], "a arrived before x but queues behind it");
        assert_eq!(t.requeue(2, 1, 0), 0);
        assert_eq!(t.requeue(9, 1, 5), 0);
        assert_eq!(t.requeue(2, 2, 5), 1, "requeue onto itself keeps the queue");
        assert_eq!(wake(&mut t, 2, 10, ANY), vec!['c']);
        assert!(t.is_empty());
    }

    #[test]
    fn requeue_into_another_bucket_keeps_order_and_bitsets() {
        let (mut a, mut b) = (FutexBucket::new(), FutexBucket::new());
        b.enqueue(1u64, 'x', ANY);
        a.enqueue(2u64, 'p', 0b01);
        a.enqueue(3u64, 'q', ANY);
        a.enqueue(2u64, 'r', 0b10);
        a.enqueue(2u64, 's', ANY);
        assert_eq!(a.requeue_into(2, &mut b, 1, 2), 2);
        assert_eq!((a.len(), b.len()), (2, 3));
        assert_eq!(wake(&mut b, 1, 10, 0b10), vec!['x', 'r'], "p keeps its bitset");
        assert_eq!(wake(&mut b, 1, 10, ANY), vec!['p']);
        assert_eq!(wake(&mut a, 2, 10, ANY), vec!['s']);
        assert_eq!(a.requeue_into(9, &mut b, 1, 3), 0);
    }

    #[test]
    fn a_bucket_keeps_its_room_until_shrunk() {
        let mut t = FutexBucket::new();
        for w in 0..8 {
            t.enqueue(1u64, w, ANY);
        }
        assert_eq!(wake(&mut t, 1, usize::MAX, ANY).len(), 8);
        assert!(t.waiters.capacity() >= 8, "waiting again allocates nothing");
        t.shrink();
        assert_eq!(t.waiters.capacity(), 0);
    }

    #[test]
    fn many_waiters_come_and_go_without_leftovers() {
        // Two buckets against a model: per key, a queue in arrival order.
        let mut buckets = [FutexBucket::new(), FutexBucket::new()];
        let mut model: Vec<Vec<(u64, u32)>> = vec![Vec::new(); 17];
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        let home = |k: u64| (k % 2) as usize;
        for i in 0..20_000u64 {
            let key = next() % 17;
            match next() % 4 {
                0 | 1 => {
                    let bits = 1 << (next() % 3);
                    assert!(buckets[home(key)].enqueue(key, i, bits));
                    model[key as usize].push((i, bits));
                }
                2 => {
                    let (n, bits) = ((next() % 3) as usize, 1 << (next() % 3));
                    let got = wake(&mut buckets[home(key)], key, n, bits);
                    let q = &mut model[key as usize];
                    let mut want = Vec::new();
                    q.retain(|&(w, b)| {
                        let take = want.len() < n && b & bits != 0;
                        if take {
                            want.push(w);
                        }
                        !take
                    });
                    assert_eq!(got, want);
                }
                _ => {
                    let to = next() % 17;
                    let moved = if home(key) == home(to) {
                        buckets[home(key)].requeue(key, to, 2)
                    } else {
                        let [b0, b1] = &mut buckets;
                        let (src, dst) = if home(key) == 0 { (b0, b1) } else { (b1, b0) };
                        src.requeue_into(key, dst, to, 2)
                    };
                    if key != to {
                        let q = &mut model[key as usize];
                        let m: Vec<_> = q.drain(..moved).collect();
                        model[to as usize].extend(m);
                    }
                }
            }
        }
        for k in 0..17u64 {
            let got = wake(&mut buckets[home(k)], k, usize::MAX, ANY);
            let want: Vec<u64> = model[k as usize].iter().map(|&(w, _)| w).collect();
            assert_eq!(got, want);
        }
        assert!(buckets.iter().all(FutexBucket::is_empty));
    }
}
