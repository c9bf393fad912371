//! The futex table: for each futex key, its waiters in arrival order, each with
//! the bitset of FUTEX_WAIT_BITSET. Waking takes the oldest waiters whose bitset
//! matches; requeueing moves the oldest waiters to another key and keeps their
//! order. A key with no waiter left is removed, so the table holds exactly the
//! futexes someone waits on.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

/// Waiters of type `W` queued on keys of type `K`.
#[derive(Debug)]
pub struct FutexTable<K, W> {
    queues: BTreeMap<K, VecDeque<(W, u32)>>,
}

impl<K: Ord + Copy, W> Default for FutexTable<K, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord + Copy, W> FutexTable<K, W> {
    /// An empty table.
    pub const fn new() -> Self {
        FutexTable { queues: BTreeMap::new() }
    }

    /// Queues `waiter` on `key` behind the waiters already there.
    pub fn enqueue(&mut self, key: K, waiter: W, bitset: u32) {
        self.queues.entry(key).or_default().push_back((waiter, bitset));
    }

    /// Whether a waiter for which `is` holds is queued on `key`.
    pub fn is_queued(&self, key: K, is: impl Fn(&W) -> bool) -> bool {
        self.queues.get(&key).is_some_and(|q| q.iter().any(|(w, _)| is(w)))
    }

    /// Removes the waiters of `key` for which `is` holds; true when there was one
    /// (false: a waker took it off first).
    pub fn remove(&mut self, key: K, is: impl Fn(&W) -> bool) -> bool {
        let Some(q) = self.queues.get_mut(&key) else { return false };
        let before = q.len();
        q.retain(|(w, _)| !is(w));
        let removed = q.len() != before;
        if q.is_empty() {
            self.queues.remove(&key);
        }
        removed
    }

    /// Takes up to `n` of the oldest waiters of `key` whose bitset shares a bit with
    /// `bitset` (FUTEX_WAKE_BITSET); the others keep their places.
    pub fn wake(&mut self, key: K, n: usize, bitset: u32) -> Vec<W> {
        let mut out = Vec::new();
        let Some(q) = self.queues.get_mut(&key) else { return out };
        let mut kept = VecDeque::with_capacity(q.len());
        while let Some((w, b)) = q.pop_front() {
            if out.len() < n && b & bitset != 0 {
                out.push(w);
            } else {
                kept.push_back((w, b));
            }
        }
        if kept.is_empty() {
            self.queues.remove(&key);
        } else {
            *q = kept;
        }
        out
    }

    /// Moves up to `n` of the oldest waiters of `from` behind those of `to`
    /// (FUTEX_REQUEUE); returns how many moved.
    pub fn requeue(&mut self, from: K, to: K, n: usize) -> usize {
        if from == to {
            return self.queues.get(&from).map_or(0, |q| q.len().min(n));
        }
        let Some(q) = self.queues.get_mut(&from) else { return 0 };
        let take = q.len().min(n);
        let moved: VecDeque<(W, u32)> = q.drain(..take).collect();
        if q.is_empty() {
            self.queues.remove(&from);
        }
        if !moved.is_empty() {
            self.queues.entry(to).or_default().extend(moved);
        }
        take
    }

    /// How many waiters `key` has.
    pub fn waiters(&self, key: K) -> usize {
        self.queues.get(&key).map_or(0, VecDeque::len)
    }

    /// How many keys have waiters.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: u32 = u32::MAX;

    #[test]
    fn wakes_the_oldest_first_and_no_more_than_asked() {
        let mut t = FutexTable::new();
        for w in 1..=5 {
            t.enqueue(10u64, w, ANY);
        }
        assert_eq!(t.wake(10, 2, ANY), vec![1, 2]);
        assert_eq!(t.wake(10, 0, ANY), Vec::<i32>::new());
        assert_eq!(t.waiters(10), 3);
        assert_eq!(t.wake(10, usize::MAX, ANY), vec![3, 4, 5]);
        assert_eq!(t.keys(), 0, "an empty queue is dropped");
        assert_eq!(t.wake(10, 1, ANY), Vec::<i32>::new());
    }

    #[test]
    fn keys_are_separate() {
        let mut t = FutexTable::new();
        t.enqueue(1u64, 'a', ANY);
        t.enqueue(2u64, 'b', ANY);
        assert_eq!(t.wake(1, 5, ANY), vec!['a']);
        assert!(t.is_queued(2, |&w| w == 'b'));
        assert!(!t.is_queued(1, |&w| w == 'a'));
    }

    #[test]
    fn bitsets_select_waiters_and_the_rest_keep_their_order() {
        let mut t = FutexTable::new();
        t.enqueue(7u64, 1, 0b01);
        t.enqueue(7, 2, 0b10);
        t.enqueue(7, 3, 0b11);
        t.enqueue(7, 4, 0b10);
        assert_eq!(t.wake(7, 10, 0b10), vec![2, 3, 4]);
        assert_eq!(t.wake(7, 10, 0b10), Vec::<i32>::new());
        assert_eq!(t.waiters(7), 1);
        t.enqueue(7, 5, 0b01);
        assert_eq!(t.wake(7, 1, 0b01), vec![1]);
        assert_eq!(t.wake(7, 1, ANY), vec![5]);
    }

    #[test]
    fn remove_reports_whether_the_waiter_was_still_there() {
        let mut t = FutexTable::new();
        t.enqueue(3u64, 1, ANY);
        t.enqueue(3, 2, ANY);
        assert!(t.remove(3, |&w| w == 1));
        assert!(!t.remove(3, |&w| w == 1), "a timed-out waiter already woken is gone");
        assert!(!t.remove(4, |&w| w == 2));
        assert!(t.remove(3, |&w| w == 2));
        assert_eq!(t.keys(), 0);
    }

    #[test]
    fn requeue_moves_the_oldest_behind_the_target() {
        let mut t = FutexTable::new();
        t.enqueue(1u64, 'x', ANY);
        for w in ['a', 'b', 'c'] {
            t.enqueue(2u64, w, ANY);
        }
        assert_eq!(t.requeue(2, 1, 2), 2);
        assert_eq!(t.waiters(2), 1);
        assert_eq!(t.wake(1, 10, ANY), vec!['x', 'a', 'b']);
        assert_eq!(t.requeue(2, 1, 0), 0);
        assert_eq!(t.requeue(9, 1, 5), 0);
        assert_eq!(t.requeue(2, 2, 5), 1, "requeue onto itself keeps the queue");
        assert_eq!(t.wake(2, 10, ANY), vec!['c']);
        assert_eq!(t.keys(), 0);
    }

    #[test]
    fn many_waiters_come_and_go_without_leftovers() {
        let mut t = FutexTable::new();
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut queued = 0usize;
        for i in 0..20_000u64 {
            let key = next() % 17;
            match next() % 4 {
                0 | 1 => {
                    t.enqueue(key, i, 1 << (next() % 3));
                    queued += 1;
                }
                2 => queued -= t.wake(key, (next() % 3) as usize, 1 << (next() % 3)).len(),
                _ => {
                    let to = next() % 17;
                    let n = t.waiters(key);
                    assert!(t.requeue(key, to, 2) <= n);
                }
            }
            let total: usize = (0..17).map(|k| t.waiters(k)).sum();
            assert_eq!(total, queued);
        }
        for k in 0..17 {
            queued -= t.wake(k, usize::MAX, ANY).len();
        }
        assert_eq!(queued, 0);
        assert_eq!(t.keys(), 0);
    }
}
