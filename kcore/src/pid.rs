//! The id space of processes and threads: ids from 1 to a maximum, handed out in
//! increasing order and wrapping around as Linux's `alloc_pid` does, never reusing
//! an id that is still taken (a live thread, a process, a group or a session).
use alloc::collections::btree_map::Entry;
use alloc::collections::BTreeMap;

/// Linux's default `pid_max` on 64-bit machines with many CPUs.
pub const PID_MAX: i32 = 4_194_304;
/// Ids below this are skipped after the first wrap-around (Linux's RESERVED_PIDS).
pub const RESERVED: i32 = 300;

/// Ids in use, each with its owner.
#[derive(Debug)]
pub struct PidTable<T> {
    map: BTreeMap<i32, T>,
    next: i32,
    max: i32,
}

impl<T> PidTable<T> {
    /// An empty table handing out ids from 1 up to `max` (exclusive).
    pub fn new(max: i32) -> Self {
        PidTable { map: BTreeMap::new(), next: 1, max: max.max(2) }
    }

    /// Takes the next free id for `owner`; None when every id is taken.
    pub fn alloc(&mut self, owner: T) -> Option<i32> {
        let span = self.max.saturating_sub(1);
        let mut id = self.next;
        for _ in 0..span {
            if id >= self.max {
                id = RESERVED.min(self.max.saturating_sub(1)).max(1);
            }
            if let Entry::Vacant(slot) = self.map.entry(id) {
                slot.insert(owner);
                self.next = id.saturating_add(1);
                return Some(id);
            }
            id = id.saturating_add(1);
        }
        None
    }

    /// The id handed out last (0: none yet).
    pub fn last(&self) -> i32 {
        self.next.saturating_sub(1)
    }

    /// The bound new ids stay below (`pid_max`); ids above it already taken stay.
    pub fn set_max(&mut self, max: i32) {
        self.max = max.max(2);
    }

    /// The bound new ids stay below.
    pub fn max(&self) -> i32 {
        self.max
    }

    /// The owner of `id`.
    pub fn get(&self, id: i32) -> Option<&T> {
        self.map.get(&id)
    }

    /// The owner of `id`, to change it.
    pub fn get_mut(&mut self, id: i32) -> Option<&mut T> {
        self.map.get_mut(&id)
    }

    /// Gives `id` back.
    pub fn free(&mut self, id: i32) -> Option<T> {
        self.map.remove(&id)
    }

    /// Ids in use.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no id is in use.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every (id, owner), in increasing id order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> + '_ {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increasing_then_wraps_past_reserved_without_reuse() {
        let mut t = PidTable::new(310);
        for want in 1..310 {
            assert_eq!(t.alloc(()), Some(want));
        }
        assert_eq!(t.alloc(()), None, "every id taken");
        t.free(5);
        t.free(301);
        t.free(302);
        // After a wrap-around only ids from RESERVED on are handed out again (as
        // Linux keeps the low ids for early daemons): 5 stays unused.
        assert_eq!(t.alloc(()), Some(301));
        assert_eq!(t.alloc(()), Some(302));
        assert_eq!(t.alloc(()), None);
        assert_eq!(t.len(), 308);
    }

    #[test]
    fn lowered_max_wraps_below_it() {
        let mut t = PidTable::new(PID_MAX);
        for want in 1..=500 {
            assert_eq!(t.alloc(()), Some(want));
        }
        t.set_max(400);
        assert_eq!(t.max(), 400);
        // 300..400 are all taken: nothing below the new maximum is free.
        assert_eq!(t.alloc(()), None);
        t.free(350);
        t.free(450);
        assert_eq!(t.alloc(()), Some(350), "the next id wraps below pid_max, not to 450");
        // Raised again, ids above the old ones come back.
        t.set_max(1000);
        assert_eq!(t.alloc(()), Some(450));
    }

    #[test]
    fn next_id_is_not_the_freed_one() {
        let mut t = PidTable::new(PID_MAX);
        let a = t.alloc('a').unwrap_or(0);
        let b = t.alloc('b').unwrap_or(0);
        t.free(a);
        let c = t.alloc('c').unwrap_or(0);
        assert_eq!((a, b, c), (1, 2, 3));
        assert_eq!(t.get(2), Some(&'b'));
        assert_eq!(t.iter().map(|(k, _)| k).collect::<alloc::vec::Vec<_>>(), [2, 3]);
    }
}
