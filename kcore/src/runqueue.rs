//! Per-CPU run queues and the placement rules of the scheduler: a CPU runs its
//! own queue in order, dropping entries that are no longer runnable and handing
//! on those that may not run there (their CPU set changed); an idle CPU steals the
//! newest eligible entry from the others, looking at them round-robin from its
//! right-hand neighbour; a thread is queued on the CPU it prefers when its CPU set
//! allows, else on the lowest online CPU it may use.
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// What a CPU may do with a queued entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Run it here.
    Run,
    /// Drop it: it stopped being runnable after it was queued.
    Stale,
    /// Hand it to another CPU: it may not run on this one.
    Elsewhere,
}

/// One CPU's queue of runnable entries.
#[derive(Debug)]
pub struct RunQueue<T> {
    q: VecDeque<T>,
}

impl<T> Default for RunQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> RunQueue<T> {
    /// An empty queue.
    pub const fn new() -> Self {
        RunQueue { q: VecDeque::new() }
    }

    /// Queues `t` behind the others.
    pub fn push(&mut self, t: T) {
        self.q.push_back(t);
    }

    /// How many entries are queued (stale ones included).
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Takes the oldest entry this CPU may run, as `pick` judges each; stale
    /// entries before it are dropped, and those for other CPUs go to `misplaced`.
    pub fn pop(&mut self, pick: impl Fn(&T) -> Pick, misplaced: &mut Vec<T>) -> Option<T> {
        while let Some(t) = self.q.pop_front() {
            match pick(&t) {
                Pick::Run => return Some(t),
                Pick::Stale => {}
                Pick::Elsewhere => misplaced.push(t),
            }
        }
        None
    }

    /// Takes the newest entry for which `eligible` holds (a thief takes what its
    /// owner would run last).
    pub fn steal(&mut self, eligible: impl Fn(&T) -> bool) -> Option<T> {
        let i = self.q.iter().rposition(eligible)?;
        self.q.remove(i)
    }
}

/// The mask of the first `online` CPUs (bit n: CPU n).
pub fn online_mask(online: usize) -> u64 {
    match u32::try_from(online) {
        Ok(n) if n < 64 => (1u64 << n).wrapping_sub(1),
        _ => u64::MAX,
    }
}

/// Whether CPU set `allowed` holds CPU `cpu`.
pub fn allows(allowed: u64, cpu: usize) -> bool {
    u32::try_from(cpu).ok().and_then(|c| 1u64.checked_shl(c)).is_some_and(|b| b != 0 && allowed & b != 0 && cpu < 64)
}

/// The CPU to queue a thread with CPU set `allowed` on: `preferred` when it is
/// online and allowed, else the lowest online allowed CPU; `preferred` when the
/// set holds no online CPU (callers keep sets that do).
pub fn home_cpu(allowed: u64, online: usize, preferred: usize) -> usize {
    if preferred < online && allows(allowed, preferred) {
        return preferred;
    }
    match allowed & online_mask(online) {
        0 => preferred,
        ok => ok.trailing_zeros() as usize,
    }
}

/// The CPUs that CPU `me` of `online` looks at when it steals, in order: every
/// other online CPU once, starting with `me + 1`.
pub fn steal_order(me: usize, online: usize) -> impl Iterator<Item = usize> {
    (1..online).map(move |k| me.wrapping_add(k).checked_rem(online).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_drops_stale_entries_and_hands_on_misplaced_ones() {
        let mut q = RunQueue::new();
        for t in [1, 2, 3, 4, 5] {
            q.push(t);
        }
        let mut misplaced = Vec::new();
        // 1 stale, 2 for another CPU, 3 runs; 4 and 5 stay queued in order.
        let pick = |&t: &i32| match t {
            1 => Pick::Stale,
            2 => Pick::Elsewhere,
            _ => Pick::Run,
        };
        assert_eq!(q.pop(pick, &mut misplaced), Some(3));
        assert_eq!(misplaced, vec![2]);
        assert_eq!(q.pop(pick, &mut misplaced), Some(4));
        assert_eq!(q.pop(pick, &mut misplaced), Some(5));
        assert_eq!(q.pop(pick, &mut misplaced), None);
        assert!(q.is_empty());
    }

    #[test]
    fn steal_takes_the_newest_eligible_entry() {
        let mut q = RunQueue::new();
        for t in [10, 11, 12, 13] {
            q.push(t);
        }
        assert_eq!(q.steal(|&t| t != 13), Some(12));
        assert_eq!(q.steal(|&t| t > 100), None);
        assert_eq!(q.len(), 3);
        let mut m = Vec::new();
        assert_eq!(q.pop(|_| Pick::Run, &mut m), Some(10), "the owner's order is kept");
    }

    #[test]
    fn masks_and_sets() {
        assert_eq!(online_mask(0), 0);
        assert_eq!(online_mask(1), 1);
        assert_eq!(online_mask(4), 0b1111);
        assert_eq!(online_mask(64), u64::MAX);
        assert_eq!(online_mask(1000), u64::MAX);
        assert!(allows(0b100, 2));
        assert!(!allows(0b100, 1));
        assert!(!allows(u64::MAX, 64));
        assert!(!allows(u64::MAX, usize::MAX));
    }

    #[test]
    fn home_is_the_preferred_cpu_when_allowed_and_online() {
        assert_eq!(home_cpu(u64::MAX, 4, 2), 2);
        assert_eq!(home_cpu(0b1000, 4, 2), 3, "only CPU 3 allowed");
        assert_eq!(home_cpu(0b1010, 4, 2), 1, "the lowest allowed CPU");
        assert_eq!(home_cpu(u64::MAX, 2, 3), 0, "CPU 3 is not online");
        assert_eq!(home_cpu(0b1100, 2, 1), 1, "no online CPU allowed: stay");
    }

    #[test]
    fn steal_order_visits_every_other_cpu_once() {
        for n in 1..=8usize {
            for me in 0..n {
                let order: Vec<usize> = steal_order(me, n).collect();
                assert_eq!(order.len(), n - 1);
                assert!(!order.contains(&me));
                let mut sorted = order.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), n - 1);
                if n > 1 {
                    assert_eq!(order[0], (me + 1) % n);
                }
            }
        }
    }

    /// Threads pinned to random CPU sets move between four queues by pushes,
    /// pops with hand-on and steals: each runs only where its set allows, and
    /// every queued thread is run or dropped exactly once.
    #[test]
    fn threads_run_once_and_only_where_allowed() {
        const CPUS: usize = 4;
        let mut state = 99u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut queues: Vec<RunQueue<(u32, u64)>> = (0..CPUS).map(|_| RunQueue::new()).collect();
        let mut seen = vec![0u32; 5000];
        for id in 0..5000u32 {
            let set = match next() % 3 {
                0 => u64::MAX,
                _ => 1 << (next() % CPUS as u64) | 1 << (next() % CPUS as u64),
            };
            let home = home_cpu(set, CPUS, (next() % CPUS as u64) as usize);
            assert!(allows(set, home));
            queues[home].push((id, set));
            // Some CPU runs or steals a few entries.
            for _ in 0..(next() % 3) {
                let c = (next() % CPUS as u64) as usize;
                let mut misplaced = Vec::new();
                let got =
                    queues[c].pop(|&(_, s)| if allows(s, c) { Pick::Run } else { Pick::Elsewhere }, &mut misplaced);
                for m in misplaced {
                    queues[home_cpu(m.1, CPUS, c)].push(m);
                }
                let got = got.or_else(|| steal_order(c, CPUS).find_map(|o| queues[o].steal(|&(_, s)| allows(s, c))));
                if let Some((id, s)) = got {
                    assert!(allows(s, c), "thread {id} ran on CPU {c} outside its set");
                    seen[id as usize] += 1;
                }
            }
        }
        for (c, q) in queues.iter_mut().enumerate() {
            let mut misplaced = Vec::new();
            while let Some((id, s)) = q.pop(|_| Pick::Run, &mut misplaced) {
                assert!(allows(s, c), "thread {id} queued on CPU {c} outside its set");
                seen[id as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "a thread ran twice or never");
    }
}
