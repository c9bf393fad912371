//! The words of a kernel command line.

/// The words of a kernel command line: runs of bytes above the space character
/// (spaces, tabs, newlines and other control characters separate them).
pub fn words(line: &[u8]) -> Words<'_> {
    Words { rest: line }
}

/// The iterator [`words`] returns.
#[derive(Clone, Debug)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|&b| b > b' ')?;
        let rest = self.rest.get(start..)?;
        let (word, rest) = rest.split_at_checked(first_separator(rest))?;
        self.rest = rest;
        Some(word)
    }
}

/// The index of the first byte of `s` at or below the space character (`s.len()`
/// when there is none), eight bytes a step: the platform and the kernel read the
/// command line several times at boot.
fn first_separator(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut i = 0usize;
    while let Some(chunk) = s.get(i..i.saturating_add(8)).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
        let x = u64::from_le_bytes(chunk);
        // The top bit of each byte below 0x21: exact for the lowest such byte (a
        // borrow only reaches the bytes above it); bytes from 0x80 on never match.
        let below = x.wrapping_sub(ONES.wrapping_mul(0x21)) & !x & ONES.wrapping_mul(0x80);
        if below != 0 {
            return i.saturating_add((below.trailing_zeros() / 8) as usize);
        }
        i = i.saturating_add(8);
    }
    let tail = s.get(i..).unwrap_or(&[]);
    i.saturating_add(tail.iter().position(|&b| b <= b' ').unwrap_or(tail.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition the fast one must agree with.
    fn reference(line: &[u8]) -> Vec<&[u8]> {
        line.split(|&b| b <= b' ').filter(|w| !w.is_empty()).collect()
    }

    #[test]
    fn splits_like_the_plain_definition() {
        let cases: [&[u8]; 9] = [
            b"",
            b"   ",
            b"net=none stdio=virtio:1,2,2 virtio_mmio.device=512@0xfeb00e00:12",
            b"  lead\ttab\nnewline  trail  ",
            b"exactly8 exactly8",
            b"a",
            b"longer-than-sixteen-bytes-word\x00after-nul",
            "caf\u{e9} na\u{ef}ve \u{2603}snow".as_bytes(),
            b"\x7f\x80\xff x\x01y",
        ];
        for line in cases {
            assert_eq!(words(line).collect::<Vec<_>>(), reference(line), "{line:?}");
        }
    }

    #[test]
    fn every_separator_position() {
        // A separator at each offset of a 24-byte word, so each lane of the
        // eight-byte steps and the tail is the first match once.
        for pos in 0..24 {
            for sep in [b' ', b'\t', b'\n', 0u8, 0x1f] {
                let mut line = vec![b'w'; 24];
                line[pos] = sep;
                assert_eq!(words(&line).collect::<Vec<_>>(), reference(&line), "pos {pos} sep {sep}");
            }
        }
    }
}
