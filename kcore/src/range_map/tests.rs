//! Unit tests of the split/merge/overlap rules, and a property test against a
//! page-by-page model driven by a deterministic PRNG.
use super::*;
use alloc::vec;
use std::collections::BTreeMap as Model;

/// A payload like a VMA's: a tag (rights/backing) and an offset that moves along
/// with the address (a file offset). Neighbours merge when the tag is the same and
/// the offsets are contiguous.
#[derive(Clone, Debug, PartialEq, Eq)]
struct T {
    tag: u8,
    off: u64,
}

impl Segment for T {
    fn advance(&self, delta: u64) -> Self {
        T { tag: self.tag, off: self.off + delta }
    }
    fn merge(&self, len: u64, next: &Self) -> Option<Self> {
        (self.tag == next.tag && self.off + len == next.off).then(|| self.clone())
    }
}

fn t(tag: u8, off: u64) -> T {
    T { tag, off }
}

fn ranges(m: &RangeMap<T>) -> Vec<(u64, u64, u8, u64)> {
    m.iter().map(|r| (r.start, r.end, r.val.tag, r.val.off)).collect()
}

#[test]
fn insert_rejects_overlap_and_empty() {
    let mut m = RangeMap::new();
    assert_eq!(m.insert(10, 10, t(1, 0)), Err(RangeError::Empty));
    m.insert(10, 20, t(1, 0)).unwrap();
    assert_eq!(m.insert(15, 25, t(2, 0)), Err(RangeError::Overlap));
    assert_eq!(m.insert(5, 11, t(2, 0)), Err(RangeError::Overlap));
    assert_eq!(m.insert(0, 100, t(2, 0)), Err(RangeError::Overlap));
    m.insert(20, 30, t(2, 0)).unwrap();
    m.insert(0, 10, t(3, 0)).unwrap();
    assert_eq!(ranges(&m), vec![(0, 10, 3, 0), (10, 20, 1, 0), (20, 30, 2, 0)]);
}

#[test]
fn insert_merges_compatible_neighbours() {
    let mut m = RangeMap::new();
    m.insert(10, 20, t(1, 100)).unwrap();
    m.insert(30, 40, t(1, 120)).unwrap();
    // Fills the hole with contiguous offsets: all three become one.
    m.insert(20, 30, t(1, 110)).unwrap();
    assert_eq!(ranges(&m), vec![(10, 40, 1, 100)]);
    // Same tag, offsets not contiguous: stays apart.
    m.insert(40, 50, t(1, 0)).unwrap();
    assert_eq!(m.len(), 2);
}

#[test]
fn split_advances_the_upper_payload() {
    let mut m = RangeMap::new();
    m.insert(0, 100, t(1, 1000)).unwrap();
    m.split_at(30);
    m.split_at(30);
    m.split_at(0);
    m.split_at(100);
    assert_eq!(ranges(&m), vec![(0, 30, 1, 1000), (30, 100, 1, 1030)]);
}

#[test]
fn remove_splits_at_both_edges() {
    let mut m = RangeMap::new();
    m.insert(0, 100, t(1, 0)).unwrap();
    m.insert(200, 300, t(2, 0)).unwrap();
    let gone = m.remove(50, 250);
    assert_eq!(gone, vec![(50, 100, t(1, 50)), (200, 250, t(2, 0))]);
    assert_eq!(ranges(&m), vec![(0, 50, 1, 0), (250, 300, 2, 50)]);
    // A hole in the middle of one range.
    let gone = m.remove(10, 20);
    assert_eq!(gone.len(), 1);
    assert_eq!(ranges(&m), vec![(0, 10, 1, 0), (20, 50, 1, 20), (250, 300, 2, 50)]);
    assert!(m.remove(60, 70).is_empty());
    assert!(m.remove(70, 60).is_empty());
}

#[test]
fn update_splits_then_merges_back() {
    let mut m = RangeMap::new();
    m.insert(0, 100, t(1, 0)).unwrap();
    m.update(40, 60, |v| v.tag = 2).unwrap();
    assert_eq!(ranges(&m), vec![(0, 40, 1, 0), (40, 60, 2, 40), (60, 100, 1, 60)]);
    // Back to the original rights: one range again, as Linux's mprotect merges.
    m.update(40, 60, |v| v.tag = 1).unwrap();
    assert_eq!(ranges(&m), vec![(0, 100, 1, 0)]);
    // A hole refuses the whole update and changes nothing.
    m.insert(200, 300, t(1, 200)).unwrap();
    assert_eq!(m.update(50, 250, |v| v.tag = 3), Err(RangeError::Hole));
    assert_eq!(ranges(&m), vec![(0, 100, 1, 0), (200, 300, 1, 200)]);
}

#[test]
fn grow_down_and_set_end() {
    let mut m = RangeMap::new();
    m.insert(100, 200, t(1, 0)).unwrap();
    m.insert(50, 60, t(2, 0)).unwrap();
    assert_eq!(m.grow_down(100, 55), Err(RangeError::Overlap));
    m.grow_down(100, 60).unwrap();
    assert_eq!(ranges(&m), vec![(50, 60, 2, 0), (60, 200, 1, 0)]);
    assert_eq!(m.grow_down(61, 55), Err(RangeError::NotFound));
    m.set_end(60, 150).unwrap();
    m.insert(300, 400, t(1, 240)).unwrap();
    assert_eq!(m.set_end(60, 301), Err(RangeError::Overlap));
    // Growing up to a compatible neighbour merges with it.
    m.set_end(60, 300).unwrap();
    assert_eq!(ranges(&m), vec![(50, 60, 2, 0), (60, 400, 1, 0)]);
    assert_eq!(m.set_end(60, 60), Err(RangeError::Empty));
}

#[test]
fn version_changes_with_every_change_and_only_then() {
    let mut m = RangeMap::new();
    let other: RangeMap<T> = RangeMap::new();
    assert_ne!(m.version(), other.version());
    m.insert(10, 20, t(1, 0)).unwrap();
    let v = m.version();
    let _ = m.find(15);
    let _ = m.overlapping(0, 100).count();
    assert_eq!(m.version(), v, "lookups change nothing");
    let copy = m.clone();
    assert_eq!(copy.version(), v, "a clone has the same content");
    let mut seen = vec![v];
    let mut changed = |m: &RangeMap<T>| {
        assert!(!seen.contains(&m.version()));
        seen.push(m.version());
    };
    m.split_at(15);
    changed(&m);
    m.merge_span(10, 20);
    changed(&m);
    m.update(10, 20, |x| x.tag = 2).unwrap();
    changed(&m);
    if let Some(x) = m.find_mut(12) {
        x.tag = 3;
    }
    changed(&m);
    m.grow_down(10, 5).unwrap();
    changed(&m);
    m.set_end(5, 30).unwrap();
    changed(&m);
    m.remove(5, 6);
    changed(&m);
    m.insert(40, 50, t(1, 0)).unwrap();
    changed(&m);
    m.clear();
    changed(&m);
    assert_eq!(copy.version(), v, "the clone keeps its own");
}

#[test]
fn find_and_neighbours() {
    let mut m = RangeMap::new();
    m.insert(10, 20, t(1, 0)).unwrap();
    m.insert(30, 40, t(2, 0)).unwrap();
    assert_eq!(m.find(9), None);
    assert_eq!(m.find(10).unwrap().start, 10);
    assert_eq!(m.find(19).unwrap().start, 10);
    assert_eq!(m.find(20), None);
    assert_eq!(m.first_above(20).unwrap().start, 30);
    assert_eq!(m.first_above(15).unwrap().start, 10);
    assert!(m.first_above(40).is_none());
    assert_eq!(m.last_below(30).unwrap().start, 10);
    assert!(m.covers(10, 20) && !m.covers(10, 31) && !m.covers(5, 5));
    assert!(m.is_free(20, 30) && !m.is_free(19, 30) && !m.is_free(25, 25));
    let over: Vec<u64> = m.overlapping(15, 35).map(|r| r.start).collect();
    assert_eq!(over, vec![10, 30]);
}

#[test]
fn find_free_is_top_down_with_gaps_and_alignment() {
    let mut m = RangeMap::new();
    assert_eq!(m.find_free_top_down(10, 0, 100, 1, |_| 0), Some(90));
    m.insert(80, 100, t(1, 0)).unwrap();
    m.insert(40, 75, t(2, 0)).unwrap();
    assert_eq!(m.find_free_top_down(5, 0, 100, 1, |_| 0), Some(75));
    assert_eq!(m.find_free_top_down(6, 0, 100, 1, |_| 0), Some(34));
    // Range 1 asks for a guard gap of 3 below it: the 5-wide hole is too small.
    assert_eq!(m.find_free_top_down(5, 0, 100, 1, |v| if v.tag == 1 { 3 } else { 0 }), Some(35));
    // Alignment rounds down inside the hole.
    assert_eq!(m.find_free_top_down(6, 0, 100, 16, |_| 0), Some(32));
    assert_eq!(m.find_free_top_down(41, 0, 100, 1, |_| 0), None);
    assert_eq!(m.find_free_top_down(10, 35, 100, 1, |_| 0), None);
    // A range above `hi` with a gap that reaches below it.
    assert_eq!(m.find_free_top_down(5, 0, 78, 1, |v| if v.tag == 1 { 4 } else { 0 }), Some(35));
    assert_eq!(m.find_free_top_down(0, 0, 100, 1, |_| 0), None);
}

/// A small xorshift generator: deterministic runs, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SPACE: u64 = 64;

fn check_invariants(m: &RangeMap<T>, model: &Model<u64, T>, step: usize, op: &str) {
    let rs = ranges(m);
    let mut prev: Option<(u64, u64, u8, u64)> = None;
    for &(s, e, tag, off) in &rs {
        assert!(s < e, "step {step} ({op}): empty range {s}..{e}");
        if let Some((ps, pe, ptag, poff)) = prev {
            assert!(pe <= s, "step {step} ({op}): overlap {ps}..{pe} and {s}..{e}");
            assert!(
                !(pe == s && ptag == tag && poff + (pe - ps) == off),
                "step {step} ({op}): compatible neighbours left unmerged: {rs:?}"
            );
        }
        prev = Some((s, e, tag, off));
    }
    // Page by page, the map says what the model says.
    let mut flat = Model::new();
    for &(s, e, tag, off) in &rs {
        for a in s..e {
            flat.insert(a, t(tag, off + (a - s)));
        }
    }
    assert_eq!(&flat, model, "step {step} ({op}): map {rs:?}");
    for a in 0..SPACE + 2 {
        assert_eq!(
            m.find(a).map(|r| r.val.advance(a - r.start)),
            model.get(&a).cloned(),
            "step {step} ({op}): find({a})"
        );
    }
}

fn model_free(model: &Model<u64, T>, s: u64, e: u64) -> bool {
    s < e && (s..e).all(|a| !model.contains_key(&a))
}

#[test]
fn property_against_page_model() {
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut m = RangeMap::new();
        let mut model: Model<u64, T> = Model::new();
        for step in 0..300 {
            let s = rng.below(SPACE);
            let e = s + 1 + rng.below(SPACE - s);
            let tag = rng.below(3) as u8;
            match rng.below(7) {
                0 | 1 => {
                    // Offsets often contiguous with a neighbour, so merges happen.
                    let off = match rng.below(3) {
                        0 => model.get(&s.wrapping_sub(1)).map(|v| v.off + 1).unwrap_or(0),
                        1 => s * 10,
                        _ => rng.below(1000),
                    };
                    let r = m.insert(s, e, t(tag, off));
                    if model_free(&model, s, e) {
                        assert_eq!(r, Ok(()), "seed {seed} step {step}");
                        for a in s..e {
                            model.insert(a, t(tag, off + (a - s)));
                        }
                    } else {
                        assert_eq!(r, Err(RangeError::Overlap), "seed {seed} step {step}");
                    }
                    check_invariants(&m, &model, step, "insert");
                }
                2 => {
                    let gone = m.remove(s, e);
                    let mut flat = Model::new();
                    for (gs, ge, v) in gone {
                        assert!(gs >= s && ge <= e);
                        for a in gs..ge {
                            flat.insert(a, v.advance(a - gs));
                        }
                    }
                    let expect: Model<u64, T> = model.range(s..e).map(|(&a, v)| (a, v.clone())).collect();
                    assert_eq!(flat, expect, "seed {seed} step {step}: removed pieces");
                    for a in s..e {
                        model.remove(&a);
                    }
                    check_invariants(&m, &model, step, "remove");
                }
                3 => {
                    let r = m.update(s, e, |v| v.tag = tag);
                    if (s..e).all(|a| model.contains_key(&a)) {
                        assert_eq!(r, Ok(()));
                        for a in s..e {
                            if let Some(v) = model.get_mut(&a) {
                                v.tag = tag;
                            }
                        }
                    } else {
                        assert_eq!(r, Err(RangeError::Hole));
                    }
                    check_invariants(&m, &model, step, "update");
                }
                4 => {
                    m.split_at(s);
                    // Splits may leave mergeable pieces; merge them back before checking.
                    m.merge_span(0, SPACE);
                    check_invariants(&m, &model, step, "split");
                }
                5 => {
                    let len = 1 + rng.below(8);
                    let align = [1, 2, 4][rng.below(3) as usize];
                    let got = m.find_free_top_down(len, 0, SPACE, align, |_| 0);
                    let want =
                        (0..=SPACE - len).rev().filter(|c| c % align == 0).find(|&c| model_free(&model, c, c + len));
                    assert_eq!(got, want, "seed {seed} step {step}: find_free len {len} align {align}");
                }
                _ => {
                    // Grow the range containing `s` up or down by one, when possible.
                    if let Some(r) = m.find(s) {
                        let (rs, re, v) = (r.start, r.end, r.val.clone());
                        if rng.below(2) == 0 && rs > 0 {
                            let ok = m.grow_down(rs, rs - 1).is_ok();
                            assert_eq!(ok, !model.contains_key(&(rs - 1)));
                            if ok {
                                // The payload is kept as it is: the new first unit has v's offset.
                                for a in rs - 1..re {
                                    model.insert(a, v.advance(a - (rs - 1)));
                                }
                            }
                        } else {
                            let ok = m.set_end(rs, re + 1).is_ok();
                            assert_eq!(ok, !model.contains_key(&re));
                            if ok {
                                model.insert(re, v.advance(re - rs));
                            }
                        }
                        check_invariants(&m, &model, step, "grow");
                    }
                }
            }
        }
    }
}
