//! A map of disjoint half-open ranges `[start, end)` of `u64` addresses, each with a
//! payload: the bookkeeping behind a Linux-style list of VMAs.
//!
//! The rules follow Linux's `mm/mmap.c` and `mm/vma.c`:
//! - ranges never overlap and are never empty;
//! - an operation on part of a range splits it first ([`RangeMap::split_at`]); the
//!   upper piece's payload is [`Segment::advance`]d (a file offset moves along);
//! - after every operation that can create them, neighbours that touch and whose
//!   payloads say they are compatible ([`Segment::merge`]) become one range, as
//!   `vma_merge` does, so `/proc/self/maps` shows the same lines as on Linux;
//! - free space is searched top-down ([`RangeMap::find_free_top_down`]), as
//!   `unmapped_area_topdown` does, keeping a per-range guard gap below (the stack's
//!   `stack_guard_gap`).
//!
//! Nothing here panics: addresses are untrusted (they come from system calls), so
//! every bound is checked and errors are values.
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Bound;
use core::sync::atomic::{AtomicU64, Ordering};

/// What a range carries: rights, flags, backing. Two hooks tell the map how the
/// payload behaves when a range is cut or joined.
pub trait Segment: Clone {
    /// The payload of the part of this range that starts `delta` bytes after its start
    /// (e.g. a file offset plus `delta`).
    fn advance(&self, delta: u64) -> Self;
    /// The payload of one range made of this one (`len` bytes long) followed directly by
    /// a range with payload `next`, or `None` when the two must stay apart.
    fn merge(&self, len: u64, next: &Self) -> Option<Self>;
}

/// Why an operation was refused (nothing was changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// `start >= end`.
    Empty,
    /// The range overlaps an existing one.
    Overlap,
    /// Part of the range is not covered by any existing one.
    Hole,
    /// No range starts at the given address.
    NotFound,
}

/// A borrowed view of one range.
#[derive(Debug, PartialEq, Eq)]
pub struct Range<'a, V> {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Payload.
    pub val: &'a V,
}

impl<V> Clone for Range<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Range<'_, V> {}

impl<V> Range<'_, V> {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Never true for a range in a map (ranges are not empty); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

#[derive(Clone, Debug)]
struct Entry<V> {
    end: u64,
    val: V,
}

/// Disjoint ranges by start address.
#[derive(Clone, Debug)]
pub struct RangeMap<V> {
    map: BTreeMap<u64, Entry<V>>,
    /// Names the content: a fresh value after every change (see [`RangeMap::version`]).
    version: u64,
}

/// Source of [`RangeMap::version`] values, shared by all maps so that no two
/// different contents ever carry the same one.
static VERSIONS: AtomicU64 = AtomicU64::new(1);

fn fresh_version() -> u64 {
    VERSIONS.fetch_add(1, Ordering::Relaxed)
}

impl<V> Default for RangeMap<V> {
    fn default() -> Self {
        RangeMap { map: BTreeMap::new(), version: fresh_version() }
    }
}

fn view<'a, V>((&start, e): (&'a u64, &'a Entry<V>)) -> Range<'a, V> {
    Range { start, end: e.end, val: &e.val }
}

impl<V: Segment> RangeMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// A value that changes with every change to the map and is shared only by
    /// maps of the same content (a clone keeps it until either changes): what a
    /// caller learnt from a lookup holds while the version is the same, so it can
    /// skip the lookup next time (the page-fault path's last VMA).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are no ranges.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All ranges in address order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Range<'_, V>> + '_ {
        self.map.iter().map(view)
    }

    /// The ranges that intersect `[start, end)`, in address order.
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = Range<'_, V>> + '_ {
        let first = self.find(start).map(|r| r.start).unwrap_or(start);
        self.map.range(first..end.max(first)).map(view).filter(move |r| r.end > start && r.start < end)
    }

    /// The range containing `addr`.
    pub fn find(&self, addr: u64) -> Option<Range<'_, V>> {
        self.map.range(..=addr).next_back().map(view).filter(|r| addr < r.end)
    }

    /// The payload of the range containing `addr`, mutably. Changing it may leave two
    /// neighbours compatible; call [`RangeMap::merge_span`] afterwards if that matters.
    pub fn find_mut(&mut self, addr: u64) -> Option<&mut V> {
        self.version = fresh_version();
        self.map.range_mut(..=addr).next_back().filter(|(_, e)| addr < e.end).map(|(_, e)| &mut e.val)
    }

    /// The first range that ends above `addr` (the one containing it, or the next one up).
    pub fn first_above(&self, addr: u64) -> Option<Range<'_, V>> {
        self.find(addr).or_else(|| self.map.range(addr..).next().map(view))
    }

    /// The last range that starts below `addr`.
    pub fn last_below(&self, addr: u64) -> Option<Range<'_, V>> {
        self.map.range(..addr).next_back().map(view)
    }

    /// True when `start < end` and no range intersects `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        start < end && self.map.range(..end).next_back().is_none_or(|(_, e)| e.end <= start)
    }

    /// True when `start < end` and every address of `[start, end)` is in some range.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return false;
        }
        let mut cur = start;
        while cur < end {
            match self.find(cur) {
                Some(r) => cur = r.end,
                None => return false,
            }
        }
        true
    }

    /// Adds `[start, end)` with `val` over free space, merging with compatible
    /// neighbours: the range starting at `end`, then the one ending at `start` (as
    /// [`Self::merge_at`] at `end`, then at `start`, would after a plain insert,
    /// with fewer lookups).
    pub fn insert(&mut self, start: u64, end: u64, val: V) -> Result<(), RangeError> {
        self.version = fresh_version();
        if start >= end {
            return Err(RangeError::Empty);
        }
        // The last range starting below `end` is the only one that can overlap
        // (as in `is_free`) and the only one that can end at `start`.
        let before = self.map.range(..end).next_back().map(|(&s, e)| (s, e.end));
        if before.is_some_and(|(_, e)| e > start) {
            return Err(RangeError::Overlap);
        }
        let (mut val, mut new_end) = (val, end);
        let joined = self.map.get(&end).and_then(|next| val.merge(end.wrapping_sub(start), &next.val));
        if let Some(m) = joined {
            if let Some(next) = self.map.remove(&end) {
                val = m;
                new_end = next.end;
            }
        }
        if let Some((ps, _)) = before.filter(|&(_, e)| e == start) {
            if let Some(prev) = self.map.get_mut(&ps) {
                if let Some(m) = prev.val.merge(start.wrapping_sub(ps), &val) {
                    prev.end = new_end;
                    prev.val = m;
                    return Ok(());
                }
            }
        }
        self.map.insert(start, Entry { end: new_end, val });
        Ok(())
    }

    /// Makes `at` a boundary: the range containing `at` (if it starts below it) becomes
    /// two.
    pub fn split_at(&mut self, at: u64) {
        self.version = fresh_version();
        let Some((&start, e)) = self.map.range_mut(..at).next_back() else { return };
        if e.end <= at {
            return;
        }
        let hi = Entry { end: e.end, val: e.val.advance(at.wrapping_sub(start)) };
        e.end = at;
        self.map.insert(at, hi);
    }

    /// Removes `[start, end)` from the map (splitting ranges at its edges) and returns
    /// the removed pieces in address order.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<(u64, u64, V)> {
        self.version = fresh_version();
        // Nothing there (a fresh address space's exec, an munmap of a hole): no
        // split, no list.
        if start >= end || self.is_free(start, end) {
            return Vec::new();
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        keys.into_iter().filter_map(|k| self.map.remove(&k).map(|e| (k, e.end, e.val))).collect()
    }

    /// Applies `f` to the payload of every part of `[start, end)` (splitting at its
    /// edges), then merges what became compatible. Refused with `Hole` (and nothing
    /// changed) unless the whole range is covered, as mprotect's ENOMEM.
    pub fn update(&mut self, start: u64, end: u64, mut f: impl FnMut(&mut V)) -> Result<(), RangeError> {
        self.version = fresh_version();
        if start >= end {
            return Err(RangeError::Empty);
        }
        if !self.covers(start, end) {
            return Err(RangeError::Hole);
        }
        self.split_at(start);
        self.split_at(end);
        for (_, e) in self.map.range_mut(start..end) {
            f(&mut e.val);
        }
        self.merge_span(start, end);
        Ok(())
    }

    /// Moves the start of the range that starts at `start` down to `new_start` over free
    /// space (a stack growing down). The payload is kept as it is.
    pub fn grow_down(&mut self, start: u64, new_start: u64) -> Result<(), RangeError> {
        self.version = fresh_version();
        if new_start >= start {
            return Err(RangeError::Empty);
        }
        if !self.map.contains_key(&start) {
            return Err(RangeError::NotFound);
        }
        if !self.is_free(new_start, start) {
            return Err(RangeError::Overlap);
        }
        let e = self.map.remove(&start).ok_or(RangeError::NotFound)?;
        self.map.insert(new_start, e);
        self.merge_span(new_start, new_start);
        Ok(())
    }

    /// Moves the end of the range that starts at `start` to `new_end`: growing needs
    /// free space (then merges with a compatible range above), shrinking drops the tail.
    pub fn set_end(&mut self, start: u64, new_end: u64) -> Result<(), RangeError> {
        self.version = fresh_version();
        let end = self.map.get(&start).ok_or(RangeError::NotFound)?.end;
        if new_end <= start {
            return Err(RangeError::Empty);
        }
        if new_end > end && !self.is_free(end, new_end) {
            return Err(RangeError::Overlap);
        }
        if let Some(e) = self.map.get_mut(&start) {
            e.end = new_end;
        }
        self.merge_span(start, new_end);
        Ok(())
    }

    /// Merges compatible touching neighbours at every boundary in `[start, end]`
    /// (including the ranges just outside it).
    pub fn merge_span(&mut self, start: u64, end: u64) {
        self.version = fresh_version();
        // Boundary by boundary, without collecting them first (this runs on every
        // mmap, and a list would cost a heap allocation): a merge only removes the
        // boundary it looked at, so the next one up is still there.
        let first = self.find(start).map(|r| r.start).unwrap_or(start);
        self.merge_at(first);
        let mut cur = start;
        while cur < end {
            let Some(k) = self.map.range((Bound::Excluded(cur), Bound::Included(end))).next().map(|(&k, _)| k) else {
                break;
            };
            self.merge_at(k);
            cur = k;
        }
        if let Some(e) = self.find(end).map(|r| r.end) {
            self.merge_at(e);
        }
    }

    /// Joins the range ending at `b` with the one starting at `b` when compatible.
    fn merge_at(&mut self, b: u64) {
        let Some((&ls, le)) = self.map.range(..b).next_back() else { return };
        if le.end != b {
            return;
        }
        let Some(re) = self.map.get(&b) else { return };
        let Some(val) = le.val.merge(b.wrapping_sub(ls), &re.val) else { return };
        let Some(re) = self.map.remove(&b) else { return };
        if let Some(le) = self.map.get_mut(&ls) {
            le.end = re.end;
            le.val = val;
        }
    }

    /// The highest `start`, a multiple of `align` (a power of two; 0 or 1 mean none),
    /// such that `[start, start + len)` is free, lies within `[lo, hi)`, and ends at least
    /// `gap(v)` bytes below every range above it (the guard gap that range asks for).
    pub fn find_free_top_down(&self, len: u64, lo: u64, hi: u64, align: u64, gap: impl Fn(&V) -> u64) -> Option<u64> {
        if len == 0 || hi <= lo {
            return None;
        }
        let mask = if align > 1 && align.is_power_of_two() { !(align.wrapping_sub(1)) } else { u64::MAX };
        // The first range at or above `hi` may ask for a gap that reaches below `hi`.
        let mut top = hi;
        if let Some((&s, e)) = self.map.range(hi..).next() {
            top = top.min(s.saturating_sub(gap(&e.val)));
        }
        for (&s, e) in self.map.range(..hi).rev() {
            let hole_lo = e.end.max(lo);
            if let Some(cand) = top.checked_sub(len).map(|c| c & mask) {
                if cand >= hole_lo && top > hole_lo {
                    return Some(cand);
                }
            }
            top = top.min(s.saturating_sub(gap(&e.val)));
            if top <= lo {
                return None;
            }
        }
        let cand = top.checked_sub(len)? & mask;
        (cand >= lo).then_some(cand)
    }

    /// Removes every range.
    pub fn clear(&mut self) {
        self.version = fresh_version();
        self.map.clear();
    }
}

#[cfg(test)]
// Tests compute expected values from small constants; checked arithmetic there
// would only obscure them. (unwrap and indexing in tests: clippy.toml.)
#[allow(clippy::arithmetic_side_effects)]
mod tests;
