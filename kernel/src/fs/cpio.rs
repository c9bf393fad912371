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

/// The value of each hexadecimal digit, 0xff for any other byte.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// An 8-digit hexadecimal header field (eight digits cannot overflow a u32).
fn hex(field: &[u8]) -> Option<u32> {
    let digits: &[u8; 8] = field.try_into().ok()?;
    let mut v: u32 = 0;
    let mut bad = 0u8;
    for &c in digits {
        let d = HEX[usize::from(c)];
        bad |= d;
        v = (v << 4) | u32::from(d & 0xf);
    }
    // Only an invalid byte's entry has bit 4 (or above) set.
    (bad & 0xf0 == 0).then_some(v)
}

fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

/// Iterates over the members of an archive up to `TRAILER!!!`.
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

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let o = self.off;
        let hdr = self.data.get(o..o + 110).ok_or(CpioError::Truncated(o))?;
        let magic = hdr.get(0..6).ok_or(CpioError::Truncated(o))?;
        if magic != b"070701" && magic != b"070702" {
            return Err(CpioError::BadMagic(o));
        }
        let field = |i: usize| -> Result<u32, CpioError> {
            let s = 6 + i * 8;
            hdr.get(s..s + 8).and_then(hex).ok_or(CpioError::BadField(o))
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
