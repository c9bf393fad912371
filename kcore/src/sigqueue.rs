//! Pending signals, as Linux keeps them per thread and per thread group: a
//! standard signal (1–31) is pending at most once (a second one merges with the
//! first), a real-time signal (32–64) queues every instance in order, each with its
//! own information. Dequeuing takes the synchronous fault signals first, then the
//! lowest-numbered signal (kernel/signal.c, `next_signal`).
use alloc::collections::VecDeque;

/// Lowest real-time signal number (SIGRTMIN as the kernel counts).
pub const SIGRTMIN: u32 = 32;
/// Highest signal number.
pub const NSIG: u32 = 64;

/// SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and SIGSYS: delivered before the others.
const SYNCHRONOUS: u64 = bit(11) | bit(7) | bit(4) | bit(5) | bit(8) | bit(31);

/// The mask bit of signal `sig` (1–64); 0 for a number out of range.
pub const fn bit(sig: u32) -> u64 {
    match sig.checked_sub(1) {
        Some(n) if n < NSIG => 1u64 << n,
        _ => 0,
    }
}

/// A set of pending signals with the information of each instance.
#[derive(Clone, Debug)]
pub struct SigQueue<I> {
    set: u64,
    items: VecDeque<(u32, I)>,
}

impl<I> Default for SigQueue<I> {
    fn default() -> Self {
        SigQueue { set: 0, items: VecDeque::new() }
    }
}

impl<I> SigQueue<I> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pending signals as a mask (bit `sig - 1`).
    pub fn mask(&self) -> u64 {
        self.set
    }

    /// Instances queued (for RLIMIT_SIGPENDING).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.set == 0
    }

    /// Adds a signal; a standard signal already pending is merged (false), as is a
    /// number out of range.
    pub fn push(&mut self, sig: u32, info: I) -> bool {
        let b = bit(sig);
        if b == 0 || (sig < SIGRTMIN && self.set & b != 0) {
            return false;
        }
        self.set |= b;
        self.items.push_back((sig, info));
        true
    }

    /// The signal `take(allowed)` would return, without removing it.
    pub fn peek(&self, allowed: u64) -> Option<u32> {
        let ready = self.set & allowed;
        if ready == 0 {
            return None;
        }
        let first = if ready & SYNCHRONOUS != 0 { ready & SYNCHRONOUS } else { ready };
        // At most 64: `first` is not 0.
        first.trailing_zeros().checked_add(1)
    }

    /// Removes and returns the next deliverable signal among `allowed` with its
    /// information (the oldest instance of a real-time signal).
    pub fn take(&mut self, allowed: u64) -> Option<(u32, I)> {
        let sig = self.peek(allowed)?;
        let pos = self.items.iter().position(|(s, _)| *s == sig)?;
        let (s, info) = self.items.remove(pos)?;
        if !self.items.iter().any(|(x, _)| *x == s) {
            self.set &= !bit(s);
        }
        Some((s, info))
    }

    /// Discards every pending instance of the signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.items.retain(|(s, _)| bit(*s) & mask == 0);
        self.set &= !mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_signals_merge_realtime_queue() {
        let mut q = SigQueue::new();
        assert!(q.push(10, 'a'));
        assert!(!q.push(10, 'b'));
        assert!(q.push(40, 'x'));
        assert!(q.push(40, 'y'));
        assert_eq!(q.len(), 3);
        assert_eq!(q.take(u64::MAX), Some((10, 'a')));
        assert_eq!(q.take(u64::MAX), Some((40, 'x')));
        assert_eq!(q.mask(), bit(40));
        assert_eq!(q.take(u64::MAX), Some((40, 'y')));
        assert!(q.is_empty());
        assert_eq!(q.take(u64::MAX), None);
    }

    #[test]
    fn synchronous_first_then_lowest_and_mask_respected() {
        let mut q = SigQueue::new();
        q.push(2, ());
        q.push(11, ());
        q.push(1, ());
        assert_eq!(q.take(u64::MAX).map(|x| x.0), Some(11));
        assert_eq!(q.take(!bit(1)).map(|x| x.0), Some(2));
        assert_eq!(q.take(!bit(1)), None);
        assert_eq!(q.peek(u64::MAX), Some(1));
    }

    #[test]
    fn discard_and_range() {
        let mut q = SigQueue::new();
        assert!(!q.push(0, ()));
        assert!(!q.push(65, ()));
        q.push(19, ());
        q.push(20, ());
        q.push(18, ());
        q.discard(bit(19) | bit(20));
        assert_eq!(q.mask(), bit(18));
        assert_eq!(q.len(), 1);
    }
}
