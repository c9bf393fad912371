//! A reader of `cpio newc` archives (the initrd). Never panics on malformed input.
//! The content slices borrow from the archive: files are not copied at boot.

/// One archive member.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Path as stored (no leading `/` usually).
    pub name: &'a [u8],
    /// Mode bits including the file type.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (seconds since the epoch).
    pub mtime: u32,
    /// File content (or symlink target).
    pub data: &'a [u8],
}

/// Why an archive could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// A header does not start with `070701`/`070702`.
    BadMagic(usize),
    /// A header, name or content runs past the end.
    Truncated(usize),
    /// A header field is not hexadecimal.
    BadField(usize),
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CpioError::BadMagic(o) => write!(f, "initrd: not a cpio newc archive (bad magic at offset {o})"),
            CpioError::Truncated(o) => write!(f, "initrd: truncated cpio archive (member at offset {o})"),
            CpioError::BadField(o) => write!(f, "initrd: bad cpio header field (member at offset {o})"),
        }
    }
}

/// `b` in every byte of a u64.
const fn bytes(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// An 8-digit hexadecimal header field (eight digits cannot overflow a u32),
/// decoded eight digits at a time: a header has 13 fields, and a byte-by-byte loop
/// took most of the time spent reading the initrd at boot.
#[inline(always)]
fn hex(field: &[u8]) -> Option<u32> {
    let digits: [u8; 8] = field.try_into().ok()?;
    // The first digit in the top byte.
    let x = u64::from_be_bytes(digits);
    const TOP: u64 = bytes(0x80);
    // The top bit of each byte of `v` (all below 0x80) that lies in lo..=hi: adding
    // 0x80 - lo sets it from lo on, adding 0x7f - hi from hi + 1 on, and neither
    // sum carries into the next byte.
    let within = |v: u64, lo: u8, hi: u8| v.wrapping_add(bytes(0x80 - lo)) & !v.wrapping_add(bytes(0x7f - hi)) & TOP;
    let digit = within(x, b'0', b'9');
    // Setting bit 5 makes `A`-`F` lower case and keeps every byte below 0x80.
    let letter = within(x | bytes(0x20), b'a', b'f');
    if x & TOP != 0 || digit | letter != TOP {
        return None;
    }
    // Each byte's value: its low 4 bits, plus 9 for a letter (`a` and `A` end in 1).
    let v = (x & bytes(0x0f)).wrapping_add((letter >> 7).wrapping_mul(9));
    // Pack the eight 4-bit values, pairs, then quads, then halves.
    let v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
    let v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
    Some(((v | (v >> 16)) & 0xffff_ffff) as u32)
}

/// Bytes of a header's 13 fields.
const FIELD_BYTES: usize = 13 * 8;

/// A header's fields, word-aligned.
#[repr(C, align(8))]
struct Fields([u8; FIELD_BYTES]);

fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

/// Iterates over the members of an archive up to `TRAILER!!!`.
#[derive(Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    off: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, off: 0, done: false }
    }

    /// The whole archive.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Where the next member's header starts.
    pub fn offset(&self) -> usize {
        self.off
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let o = self.off;
        let hdr = self.data.get(o..o + 110).ok_or(CpioError::Truncated(o))?;
        let magic = hdr.get(0..6).ok_or(CpioError::Truncated(o))?;
        if magic != b"070701" && magic != b"070702" {
            return Err(CpioError::BadMagic(o));
        }
        // The fields after the magic, copied where each is one aligned word (a
        // header is only 2-byte aligned: read in place, a field took a load per
        // byte on strict-alignment CPUs).
        let mut fields = Fields([0; FIELD_BYTES]);
        fields.0.copy_from_slice(hdr.get(6..).ok_or(CpioError::Truncated(o))?);
        let field = |i: usize| -> Result<u32, CpioError> {
            fields.0.get(i * 8..i * 8 + 8).and_then(hex).ok_or(CpioError::BadField(o))
        };
        let mode = field(1)?;
        let uid = field(2)?;
        let gid = field(3)?;
        let mtime = field(5)?;
        let filesize = field(6)? as usize;
        let namesize = field(11)? as usize;
        let name_start = o + 110;
        let name_end = name_start.checked_add(namesize).ok_or(CpioError::Truncated(o))?;
        let name = self.data.get(name_start..name_end).ok_or(CpioError::Truncated(o))?;
        let name = name.strip_suffix(b"\0").unwrap_or(name);
        let data_start = align4(name_end).ok_or(CpioError::Truncated(o))?;
        let data_end = data_start.checked_add(filesize).ok_or(CpioError::Truncated(o))?;
        let data = self.data.get(data_start..data_end).ok_or(CpioError::Truncated(o))?;
        self.off = align4(data_end).ok_or(CpioError::Truncated(o))?;
        if name == b"TRAILER!!!" {
            return Ok(None);
        }
        Ok(Some(Entry { name, mode, uid, gid, mtime, data }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
