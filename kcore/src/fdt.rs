//! A small reader of flattened device trees (the DTB an arm64 loader hands the
//! kernel, devicetree specification v0.4, chapter 5): the header, the memory
//! reservation block and one pass over the structure block that reports each node
//! and property to a visitor. Nothing is decoded that the visitor does not ask for:
//! property names stay offsets into the strings block until compared, and no
//! string is checked for UTF-8. Every read is bounds-checked; a malformed tree
//! gives an [`FdtError`] naming what is wrong and where, never a panic.

use core::fmt;

/// `magic` of a flattened device tree header.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Size of the header fields read here (version 17 header).
pub const HEADER_SIZE: usize = 40;
/// Deepest node nesting accepted (real trees nest 4 or 5 levels).
pub const MAX_DEPTH: usize = 16;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// What is wrong with a device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Fewer bytes than the header, or than the header's `totalsize`.
    Truncated,
    /// The header's magic is not 0xd00dfeed.
    BadMagic(u32),
    /// `last_comp_version` is newer than 17, the layout read here.
    BadVersion(u32),
    /// A block named by the header lies outside `totalsize`.
    BadHeader(&'static str),
    /// The structure block ends inside a token, name or value at this offset.
    Overrun(usize),
    /// An unknown token at this offset of the structure block.
    BadToken(u32, usize),
    /// Nodes nest deeper than [`MAX_DEPTH`] at this offset.
    TooDeep(usize),
    /// An `FDT_END_NODE` with no open node, or `FDT_END` inside one, at this offset.
    Unbalanced(usize),
    /// A property's name offset lies outside the strings block.
    BadName(usize),
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FdtError::Truncated => write!(f, "shorter than its header says"),
            FdtError::BadMagic(m) => write!(f, "bad magic {m:#x} (want 0xd00dfeed)"),
            FdtError::BadVersion(v) => write!(f, "needs a reader of version {v} (this one reads 17)"),
            FdtError::BadHeader(what) => write!(f, "the header's {what} lies outside the tree"),
            FdtError::Overrun(o) => write!(f, "structure block ends mid-token at offset {o:#x}"),
            FdtError::BadToken(t, o) => write!(f, "unknown token {t:#x} at structure offset {o:#x}"),
            FdtError::TooDeep(o) => write!(f, "nodes nest deeper than {MAX_DEPTH} at structure offset {o:#x}"),
            FdtError::Unbalanced(o) => write!(f, "unbalanced nodes at structure offset {o:#x}"),
            FdtError::BadName(o) => write!(f, "property name outside the strings block at structure offset {o:#x}"),
        }
    }
}

fn be32_at(b: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let s: [u8; 4] = b.get(off..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

fn be64_at(b: &[u8], off: usize) -> Option<u64> {
    let hi = be32_at(b, off)?;
    let lo = be32_at(b, off.checked_add(4)?)?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// The `totalsize` field of a header, checked for magic (to size the slice to read).
pub fn total_size(header: &[u8]) -> Result<usize, FdtError> {
    let magic = be32_at(header, 0).ok_or(FdtError::Truncated)?;
    if magic != FDT_MAGIC {
        return Err(FdtError::BadMagic(magic));
    }
    Ok(be32_at(header, 4).ok_or(FdtError::Truncated)? as usize)
}

/// A checked device tree.
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    data: &'a [u8],
    structs: &'a [u8],
    strings: &'a [u8],
    rsvmap: usize,
    /// The structure block as 32-bit words in memory order, when the caller gave
    /// the tree's words ([`Fdt::with_words`]) and the block starts on a word.
    words: Option<&'a [u32]>,
    off_struct: usize,
}

/// A property's name: compared in place in the strings block.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    /// The strings block from the name on.
    rest: &'a [u8],
    /// Offset of the name in the strings block.
    off: usize,
}

impl Name<'_> {
    /// True when the name is exactly `want`.
    #[inline]
    pub fn is(&self, want: &[u8]) -> bool {
        // The NUL first: most names that are not `want` differ from it in length.
        // Then byte by byte, stopping at the first difference (a target with strict
        // alignment compares a slice no faster).
        self.rest.get(want.len()) == Some(&0) && self.rest.iter().zip(want).all(|(h, w)| h == w)
    }
    /// The name's first byte (0 for an empty name), to choose what to compare it
    /// with before comparing.
    #[inline]
    pub fn first(&self) -> u8 {
        self.rest.first().copied().unwrap_or(0)
    }
    /// The name's bytes (up to its NUL).
    pub fn bytes(&self) -> &[u8] {
        let n = self.rest.iter().position(|&b| b == 0).unwrap_or(self.rest.len());
        self.rest.get(..n).unwrap_or(&[])
    }
    /// The name's offset in the strings block: the same offset is always the same
    /// name, and dtc stores each name once, so a reader can decide once per offset
    /// what a name means instead of comparing it at every property.
    pub fn offset(&self) -> usize {
        self.off
    }
}

/// One step of the walk over the structure block.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A node opens; `depth` is 0 for the root. `name` is its unit name ("uart@9000000").
    Begin { depth: usize, name: &'a [u8] },
    /// A property of the innermost open node.
    Prop { depth: usize, name: Name<'a>, value: &'a [u8] },
    /// The node opened at `depth` closes.
    End { depth: usize },
}

impl<'a> Fdt<'a> {
    /// Checks the header of the tree in `data` (which must hold `totalsize` bytes).
    pub fn new(data: &'a [u8]) -> Result<Self, FdtError> {
        let total = total_size(data)?;
        let data = data.get(..total).ok_or(FdtError::Truncated)?;
        let field = |i: usize| be32_at(data, i.saturating_mul(4)).ok_or(FdtError::Truncated).map(|v| v as usize);
        let (off_struct, off_strings, off_rsvmap) = (field(2)?, field(3)?, field(4)?);
        let last_comp = field(6)?;
        if last_comp > 17 {
            return Err(FdtError::BadVersion(last_comp as u32));
        }
        let (size_strings, size_struct) = (field(8)?, field(9)?);
        let block = |off: usize, size: usize, what| {
            off.checked_add(size).and_then(|end| data.get(off..end)).ok_or(FdtError::BadHeader(what))
        };
        let structs = block(off_struct, size_struct, "structure block")?;
        let strings = block(off_strings, size_strings, "strings block")?;
        if off_rsvmap >= total {
            return Err(FdtError::BadHeader("memory reservation block"));
        }
        Ok(Fdt { data, structs, strings, rsvmap: off_rsvmap, words: None, off_struct })
    }

    /// Reads tokens a word at a time from `words`: the tree's bytes as 32-bit
    /// words in memory order (`u32::from_ne_bytes` of each 4 bytes), such as the
    /// tree's own memory seen as `u32`s when it is aligned. Where the byte reads of
    /// a target with strict alignment cost four loads, this costs one. Words that
    /// are not those of the tree give a wrong walk, never a panic.
    pub fn with_words(mut self, words: &'a [u32]) -> Self {
        let first = self.off_struct / 4;
        let n = self.structs.len() / 4;
        self.words = if self.off_struct.is_multiple_of(4) {
            first.checked_add(n).and_then(|end| words.get(first..end))
        } else {
            None
        };
        self
    }

    /// The tree's size in bytes (`totalsize`).
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// The memory reservation block: (address, size) pairs up to the terminating
    /// zero entry or the end of the tree.
    pub fn reservations(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        let data = self.data;
        let mut off = Some(self.rsvmap);
        core::iter::from_fn(move || {
            let o = off?;
            let (a, s) = (be64_at(data, o)?, be64_at(data, o.checked_add(8)?)?);
            if a == 0 && s == 0 {
                off = None;
                return None;
            }
            off = o.checked_add(16);
            Some((a, s))
        })
    }

    /// Walks the structure block once, in order, handing each node and property to `f`.
    pub fn walk(&self, mut f: impl FnMut(Event<'a>)) -> Result<(), FdtError> {
        let s = self.structs;
        let words = self.words;
        // The big-endian word at (4-aligned) offset `off` of the structure block.
        let word = |off: usize| match words {
            Some(w) => w.get(off / 4).map(|&x| u32::from_be(x)),
            None => be32_at(s, off),
        };
        let mut off = 0usize;
        let mut depth = 0usize;
        loop {
            let at = off;
            let tok = word(at).ok_or(FdtError::Overrun(at))?;
            // `at + 4` is within `s` (the token was read), so cannot wrap.
            off = at.wrapping_add(4);
            // One call of `f` for all events, below: a visitor called from one
            // place is inlined into this loop, and its events never go to memory.
            let event = match tok {
                FDT_PROP => {
                    // Length and name offset (an offset past the end wraps to one
                    // the reads refuse).
                    let len = word(off).ok_or(FdtError::Overrun(at))? as usize;
                    let nameoff = word(off.wrapping_add(4)).ok_or(FdtError::Overrun(at))? as usize;
                    let vstart = off.wrapping_add(8);
                    let value = vstart.checked_add(len).and_then(|e| s.get(vstart..e)).ok_or(FdtError::Overrun(at))?;
                    let name = self.strings.get(nameoff..).filter(|n| !n.is_empty()).ok_or(FdtError::BadName(at))?;
                    if depth == 0 {
                        return Err(FdtError::Unbalanced(at));
                    }
                    off = align4(vstart, len).ok_or(FdtError::Overrun(at))?;
                    Event::Prop { depth: depth.wrapping_sub(1), name: Name { rest: name, off: nameoff }, value }
                }
                FDT_BEGIN_NODE => {
                    let rest = s.get(off..).ok_or(FdtError::Overrun(at))?;
                    let len = match words {
                        Some(w) => nul_at_words(w, rest, off),
                        None => nul_at(rest),
                    }
                    .ok_or(FdtError::Overrun(at))?;
                    let name = rest.get(..len).ok_or(FdtError::Overrun(at))?;
                    if depth >= MAX_DEPTH {
                        return Err(FdtError::TooDeep(at));
                    }
                    let d = depth;
                    depth = depth.wrapping_add(1);
                    off = align4(off, len.wrapping_add(1)).ok_or(FdtError::Overrun(at))?;
                    Event::Begin { depth: d, name }
                }
                FDT_END_NODE => {
                    depth = depth.checked_sub(1).ok_or(FdtError::Unbalanced(at))?;
                    Event::End { depth }
                }
                FDT_NOP => continue,
                FDT_END => {
                    return if depth == 0 { Ok(()) } else { Err(FdtError::Unbalanced(at)) };
                }
                t => return Err(FdtError::BadToken(t, at)),
            };
            f(event);
        }
    }
}

/// Where the first NUL of `b` is, looked for four bytes at a time (a node's name
/// starts 4-aligned and is padded with NULs to the next token).
fn nul_at(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(4);
    let mut base = 0usize;
    for c in chunks.by_ref() {
        let w = u32::from_le_bytes(c.try_into().ok()?);
        // Nonzero exactly when some byte of `w` is zero.
        if w.wrapping_sub(0x0101_0101) & !w & 0x8080_8080 != 0 {
            return c.iter().position(|&x| x == 0).map(|i| base.wrapping_add(i));
        }
        base = base.wrapping_add(4);
    }
    chunks.remainder().iter().position(|&x| x == 0).map(|i| base.wrapping_add(i))
}

/// [`nul_at`] over `rest`, the structure block from 4-aligned offset `off` on,
/// reading `words` (the block's words in memory order) instead of its bytes.
fn nul_at_words(words: &[u32], rest: &[u8], off: usize) -> Option<usize> {
    let mut base = 0usize;
    for &w in words.get(off / 4..)? {
        // Memory order to little-endian order: byte k of the word is bits 8k..8k+7.
        let v = u32::from_le(w);
        let found = v.wrapping_sub(0x0101_0101) & !v & 0x8080_8080;
        if found != 0 {
            // The lowest flagged byte is the first zero one.
            let i = base.wrapping_add((found.trailing_zeros() / 8) as usize);
            return (i < rest.len()).then_some(i);
        }
        base = base.wrapping_add(4);
    }
    // A tail shorter than a word (the block's size need not be a multiple of 4).
    rest.get(base..)?.iter().position(|&x| x == 0).map(|i| base.wrapping_add(i))
}

/// `start + len` rounded up to 4.
fn align4(start: usize, len: usize) -> Option<usize> {
    start.checked_add(len)?.checked_next_multiple_of(4)
}

/// A big-endian number of `cells` 32-bit cells at the front of `v` (1 or 2 cells
/// read as such; more keep the low 64 bits); returns it and the rest.
fn cells(v: &[u8], cells: usize) -> Option<(u64, &[u8])> {
    let bytes = cells.checked_mul(4)?;
    let (head, rest) = (v.get(..bytes)?, v.get(bytes..)?);
    let mut x = 0u64;
    for c in head.chunks_exact(4) {
        x = (x << 16 << 16) | u64::from(be32_at(c, 0)?);
    }
    Some((x, rest))
}

/// The (address, size) entries of a `reg` value, given the parent's
/// `#address-cells` and `#size-cells`. A trailing partial entry is ignored.
pub fn reg_entries(value: &[u8], address_cells: usize, size_cells: usize) -> impl Iterator<Item = (u64, u64)> + '_ {
    let mut rest = value;
    core::iter::from_fn(move || {
        if address_cells == 0 {
            return None;
        }
        let (a, r) = cells(rest, address_cells)?;
        let (s, r) = cells(r, size_cells)?;
        rest = r;
        Some((a, s))
    })
}

/// The big-endian `u32` number `i` of a property value.
pub fn u32_at(value: &[u8], i: usize) -> Option<u32> {
    be32_at(value, i.checked_mul(4)?)
}

/// A one- or two-cell number property (`linux,initrd-start` is either).
pub fn number(value: &[u8]) -> Option<u64> {
    match value.len() {
        4 => be32_at(value, 0).map(u64::from),
        8 => be64_at(value, 0),
        _ => None,
    }
}

/// A string property without its NUL (None if it is not NUL-terminated).
pub fn string(value: &[u8]) -> Option<&[u8]> {
    match value.split_last() {
        Some((0, s)) => Some(s.split(|&b| b == 0).next().unwrap_or(s)),
        _ => None,
    }
}

/// True when the string list `value` (a `compatible` property) holds one of `names`.
pub fn list_has(value: &[u8], names: &[&[u8]]) -> bool {
    value.split(|&b| b == 0).any(|s| !s.is_empty() && names.contains(&s))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Builds a DTB: nodes given as nested (name, props, children).
    struct Node {
        name: &'static str,
        props: Vec<(&'static str, Vec<u8>)>,
        kids: Vec<Node>,
    }

    fn node(name: &'static str, props: Vec<(&'static str, Vec<u8>)>, kids: Vec<Node>) -> Node {
        Node { name, props, kids }
    }

    fn emit(n: &Node, s: &mut Vec<u8>, strings: &mut Vec<u8>) {
        s.extend(FDT_BEGIN_NODE.to_be_bytes());
        s.extend(n.name.as_bytes());
        s.push(0);
        while !s.len().is_multiple_of(4) {
            s.push(0);
        }
        for (k, v) in &n.props {
            let off = strings.len() as u32;
            strings.extend(k.as_bytes());
            strings.push(0);
            s.extend(FDT_PROP.to_be_bytes());
            s.extend((v.len() as u32).to_be_bytes());
            s.extend(off.to_be_bytes());
            s.extend(v);
            while !s.len().is_multiple_of(4) {
                s.push(0);
            }
        }
        for k in &n.kids {
            emit(k, s, strings);
        }
        s.extend(FDT_END_NODE.to_be_bytes());
    }

    fn dtb(root: &Node, rsv: &[(u64, u64)]) -> Vec<u8> {
        let mut structs = Vec::new();
        let mut strings = Vec::new();
        emit(root, &mut structs, &mut strings);
        structs.extend(FDT_END.to_be_bytes());
        let off_rsv = 40usize;
        let off_struct = off_rsv + (rsv.len() + 1) * 16;
        let off_strings = off_struct + structs.len();
        let total = off_strings + strings.len();
        let mut d = Vec::new();
        for v in [FDT_MAGIC, total as u32, off_struct as u32, off_strings as u32, off_rsv as u32, 17, 16, 0] {
            d.extend(v.to_be_bytes());
        }
        d.extend((strings.len() as u32).to_be_bytes());
        d.extend((structs.len() as u32).to_be_bytes());
        for &(a, s) in rsv.iter().chain([(0, 0)].iter()) {
            d.extend(a.to_be_bytes());
            d.extend(s.to_be_bytes());
        }
        d.extend(structs);
        d.extend(strings);
        d
    }

    fn cells32(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }

    fn sample() -> Vec<u8> {
        let root = node(
            "",
            vec![("#address-cells", cells32(&[2])), ("#size-cells", cells32(&[2]))],
            vec![
                node(
                    "chosen",
                    vec![("bootargs", b"a b\0".to_vec()), ("linux,initrd-start", cells32(&[0x4800_0000]))],
                    vec![],
                ),
                node(
                    "memory@40000000",
                    vec![("device_type", b"memory\0".to_vec()), ("reg", cells32(&[0, 0x4000_0000, 0, 0x0800_0000]))],
                    vec![],
                ),
                node("pl011@9000000", vec![("compatible", b"arm,pl011\0arm,primecell\0".to_vec())], vec![]),
            ],
        );
        dtb(&root, &[(0x4400_0000, 0x1000)])
    }

    /// The word-at-a-time NUL search agrees with a byte-by-byte one.
    #[test]
    fn nul_at_finds_the_first_nul() {
        for len in 0..12 {
            for nul in 0..=len {
                let mut b: Vec<u8> = (0..len).map(|i| 0x80 + i as u8).collect();
                if nul < len {
                    b[nul] = 0;
                    if nul + 2 < len {
                        b[nul + 2] = 0;
                    }
                }
                assert_eq!(nul_at(&b), b.iter().position(|&x| x == 0), "{b:?}");
            }
        }
        assert_eq!(nul_at(&[0x01, 0x01, 0x00, 0x01, 0x00]), Some(2));
        assert_eq!(nul_at(&[0x80, 0x01, 0x01, 0x01, 0x7f, 0x00]), Some(5));
    }

    /// A name's offset is where its bytes start in the strings block.
    #[test]
    fn name_offsets_point_at_the_names() {
        let d = sample();
        let f = Fdt::new(&d).unwrap();
        let mut names = Vec::new();
        f.walk(|e| {
            if let Event::Prop { name, .. } = e {
                names.push((name.offset(), name.bytes().to_vec()));
            }
        })
        .unwrap();
        assert!(!names.is_empty());
        for (off, bytes) in names {
            let at = f.strings.get(off..off + bytes.len() + 1).unwrap();
            assert_eq!(&at[..bytes.len()], &bytes[..]);
            assert_eq!(at[bytes.len()], 0);
        }
    }

    #[test]
    fn walks_nodes_and_properties_in_order() {
        let d = sample();
        let f = Fdt::new(&d).unwrap();
        assert_eq!(f.size(), d.len());
        assert_eq!(f.reservations().collect::<Vec<_>>(), vec![(0x4400_0000, 0x1000)]);
        let mut seen = Vec::new();
        f.walk(|e| match e {
            Event::Begin { depth, name } => seen.push(format!("B{depth}:{}", core::str::from_utf8(name).unwrap())),
            Event::Prop { depth, name, value } => {
                seen.push(format!("P{depth}:{}:{}", core::str::from_utf8(name.bytes()).unwrap(), value.len()))
            }
            Event::End { depth } => seen.push(format!("E{depth}")),
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                "B0:",
                "P0:#address-cells:4",
                "P0:#size-cells:4",
                "B1:chosen",
                "P1:bootargs:4",
                "P1:linux,initrd-start:4",
                "E1",
                "B1:memory@40000000",
                "P1:device_type:7",
                "P1:reg:16",
                "E1",
                "B1:pl011@9000000",
                "P1:compatible:24",
                "E1",
                "E0"
            ]
        );
    }

    #[test]
    fn property_helpers() {
        let d = sample();
        let f = Fdt::new(&d).unwrap();
        let mut regs = Vec::new();
        let mut compat = false;
        f.walk(|e| {
            if let Event::Prop { name, value, .. } = e {
                assert!(!name.is(b"re"), "a prefix is not the name");
                if name.is(b"reg") {
                    regs.extend(reg_entries(value, 2, 2));
                }
                if name.is(b"compatible") {
                    compat = list_has(value, &[b"arm,primecell"]) && !list_has(value, &[b"arm"]);
                }
                if name.is(b"device_type") {
                    assert_eq!(string(value), Some(&b"memory"[..]));
                }
                if name.is(b"linux,initrd-start") {
                    assert_eq!(number(value), Some(0x4800_0000));
                }
            }
        })
        .unwrap();
        assert_eq!(regs, vec![(0x4000_0000, 0x0800_0000)]);
        assert!(compat);
        assert_eq!(reg_entries(&cells32(&[1, 2, 3]), 1, 1).collect::<Vec<_>>(), vec![(1, 2)], "partial entry dropped");
        assert_eq!(reg_entries(&cells32(&[1, 2]), 1, 0).collect::<Vec<_>>(), vec![(1, 0), (2, 0)]);
        assert_eq!(reg_entries(&cells32(&[1]), 0, 1).count(), 0);
        assert_eq!(string(b"abc"), None);
        assert_eq!(number(&[1, 2, 3]), None);
        assert_eq!(u32_at(&cells32(&[5, 6]), 1), Some(6));
        assert_eq!(u32_at(&cells32(&[5, 6]), 2), None);
    }

    /// The device trees on which the `fdt` crate (0.1.5) panics, kept by the fuzzer:
    /// each is read to the end or refused with an error.
    #[test]
    fn the_fdt_crates_known_crashes_are_errors_here() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/known-crashes/fdt-0.1.5");
        let mut seen = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let d = std::fs::read(e.unwrap().path()).unwrap();
            if let Ok(f) = Fdt::new(&d) {
                let _ = f.reservations().count();
                let _ = f.walk(|_| {});
            }
            seen += 1;
        }
        assert!(seen >= 7, "{} holds {seen} trees", dir.display());
    }

    #[test]
    fn malformed_trees_are_errors_not_panics() {
        let good = sample();
        assert_eq!(Fdt::new(&good[..20]).unwrap_err(), FdtError::Truncated);
        let mut bad = good.clone();
        bad[0] = 0;
        assert!(matches!(Fdt::new(&bad), Err(FdtError::BadMagic(_))));
        assert_eq!(Fdt::new(&good[..good.len() - 1]).unwrap_err(), FdtError::Truncated);
        let mut bad = good.clone();
        bad[36..40].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert_eq!(Fdt::new(&bad).unwrap_err(), FdtError::BadHeader("structure block"));
        // Every truncation of the structure block, and every corrupted byte of
        // it, ends in Ok or an error: never a panic or a loop.
        let f = Fdt::new(&good).unwrap();
        let s_off = u32::from_be_bytes(good[8..12].try_into().unwrap()) as usize;
        let s_len = f.structs.len();
        for cut in 0..s_len {
            let mut d = good.clone();
            d[36..40].copy_from_slice(&(cut as u32).to_be_bytes());
            if let Ok(f) = Fdt::new(&d) {
                assert!(f.walk(|_| {}).is_err(), "cut at {cut}");
            }
        }
        for i in s_off..s_off + s_len {
            for v in [0u8, 0xff, 3, 9] {
                let mut d = good.clone();
                d[i] = v;
                if let Ok(f) = Fdt::new(&d) {
                    let _ = f.walk(|_| {});
                }
            }
        }
        // Too deep.
        let mut n = node("x", vec![], vec![]);
        for _ in 0..MAX_DEPTH {
            n = node("x", vec![], vec![n]);
        }
        let d = dtb(&n, &[]);
        assert!(matches!(Fdt::new(&d).unwrap().walk(|_| {}), Err(FdtError::TooDeep(_))));
        assert!(!format!("{}", FdtError::Overrun(8)).is_empty());
    }

    /// The tree's bytes as words in memory order, as `with_words` wants them.
    fn words_of(d: &[u8]) -> Vec<u32> {
        d.chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                u32::from_ne_bytes(b)
            })
            .collect()
    }

    /// Every event (and the final result) of a walk, as text.
    fn trace(f: &Fdt<'_>) -> Vec<String> {
        let mut seen = Vec::new();
        let r = f.walk(|e| match e {
            Event::Begin { depth, name } => seen.push(format!("B{depth}:{name:?}")),
            Event::Prop { depth, name, value } => seen.push(format!("P{depth}:{}:{value:?}", name.offset())),
            Event::End { depth } => seen.push(format!("E{depth}")),
        });
        seen.push(format!("{r:?}"));
        seen
    }

    #[test]
    fn word_reads_walk_as_byte_reads_do() {
        let good = sample();
        let f = Fdt::new(&good).unwrap();
        let w = words_of(&good);
        assert!(f.with_words(&w).words.is_some());
        assert_eq!(trace(&f.with_words(&w)), trace(&f));
        // Corrupted and cut trees give the same events and the same error.
        let s_off = u32::from_be_bytes(good[8..12].try_into().unwrap()) as usize;
        for cut in 0..f.structs.len() {
            let mut d = good.clone();
            d[36..40].copy_from_slice(&(cut as u32).to_be_bytes());
            if let Ok(f) = Fdt::new(&d) {
                assert_eq!(trace(&f.with_words(&words_of(&d))), trace(&f), "cut at {cut}");
            }
        }
        for i in s_off..s_off + f.structs.len() {
            for v in [0u8, 0xff, 3, 9, b'a'] {
                let mut d = good.clone();
                d[i] = v;
                if let Ok(f) = Fdt::new(&d) {
                    assert_eq!(trace(&f.with_words(&words_of(&d))), trace(&f), "byte {i} = {v}");
                }
            }
        }
        // Too few words, or a structure block off a word boundary: byte reads.
        assert!(f.with_words(&w[..2]).words.is_none());
        assert_eq!(trace(&f.with_words(&w[..2])), trace(&f));
    }
}
