//! A minimal `cpio newc` ("070701") archive writer: the initrd format the kernel reads.
//!
//! Layout of each entry: a 110-byte ASCII header (magic and 13 fields of 8 hex digits),
//! the name with its NUL, zero padding to a multiple of 4, the data, zero padding to a
//! multiple of 4. The archive ends with an entry named `TRAILER!!!`.

use std::io::{self, Read, Write};

/// File type bits of `st_mode`.
pub const S_IFDIR: u32 = 0o040_000;
/// Regular file.
pub const S_IFREG: u32 = 0o100_000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120_000;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";
/// Page size of both guest architectures: the data of the files that programs
/// map starts on a page boundary of the archive, so that the kernel can map
/// their pages straight from the initrd instead of copying them.
const PAGE: u64 = 4096;
/// Name of the filler entries that move the next file's data to a page boundary
/// (a regular file of zeros; the kernel skips everything under `.elfin`).
pub const FILLER: &[u8] = b".elfin/pad";
/// Files of at least this size are page-aligned, and executable files of at least
/// one page: what programs map (the alignment costs up to a page per file).
const ALIGN_MIN: u64 = 64 * 1024;

/// Writes a newc archive entry by entry; inode numbers are assigned in order from 1.
pub struct Writer<W: Write> {
    out: W,
    next_ino: u32,
    /// Bytes written so far (for the 4-byte alignment).
    offset: u64,
}

/// Header fields of one entry that the caller chooses.
struct Header<'a> {
    name: &'a [u8],
    mode: u32,
    nlink: u32,
    mtime: u32,
    size: u32,
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what} does not fit a cpio newc archive"))
}

impl<W: Write> Writer<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> Self {
        Writer { out, next_ino: 1, offset: 0 }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset = self.offset.wrapping_add(bytes.len() as u64);
        Ok(())
    }

    fn pad4(&mut self) -> io::Result<()> {
        let pad = (4 - (self.offset % 4) as usize) % 4;
        self.put(&[0u8; 3][..pad])
    }

    fn header(&mut self, h: &Header<'_>, ino: u32) -> io::Result<()> {
        if h.name.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in a path"));
        }
        let namesize = u32::try_from(h.name.len() + 1).map_err(|_| too_big("a path"))?;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
        // namesize check ("check" is only used by the "070702" variant).
        let fields: [u32; 13] = [ino, h.mode, 0, 0, h.nlink, h.mtime, h.size, 0, 0, 0, 0, namesize, 0];
        let mut head = Vec::with_capacity(HEADER_LEN + h.name.len() + 4);
        head.extend_from_slice(MAGIC);
        for f in fields {
            head.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        debug_assert_eq!(head.len(), HEADER_LEN);
        head.extend_from_slice(h.name);
        head.push(0);
        self.put(&head)?;
        self.pad4()
    }

    /// A member's name must not be the end marker: a reader stops there and drops
    /// every member after it (the kernel's reader, GNU cpio).
    fn check_name(name: &[u8]) -> io::Result<()> {
        if name == TRAILER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a path named TRAILER!!! at the top of the guest tree would end the cpio archive; rename it",
            ));
        }
        Ok(())
    }

    fn take_ino(&mut self) -> u32 {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1);
        ino
    }

    /// Adds a directory; `perm` holds the permission bits (e.g. `0o755`).
    pub fn dir(&mut self, name: &[u8], perm: u32, mtime: u32) -> io::Result<()> {
        Self::check_name(name)?;
        let ino = self.take_ino();
        let h = Header { name, mode: S_IFDIR | (perm & 0o7777), nlink: 2, mtime, size: 0 };
        self.header(&h, ino)
    }

    /// Where the data of an entry named `name` would start if its header were
    /// written now.
    fn data_offset(&self, name: &[u8]) -> u64 {
        (self.offset + (HEADER_LEN + name.len() + 1) as u64).next_multiple_of(4)
    }

    /// Writes a filler entry when needed so that the data of the entry named
    /// `name`, written next, starts on a page boundary.
    fn align_data(&mut self, name: &[u8]) -> io::Result<()> {
        let gap = (PAGE - self.data_offset(name) % PAGE) % PAGE;
        if gap == 0 {
            return Ok(());
        }
        // A filler is at least its header and name; both it and the gap are
        // multiples of 4 (every entry ends 4-aligned).
        let fixed = (HEADER_LEN + FILLER.len() + 1).next_multiple_of(4) as u64;
        let total = if gap >= fixed { gap } else { gap + PAGE };
        let size = (total - fixed) as u32;
        let h = Header { name: FILLER, mode: S_IFREG, nlink: 1, mtime: 0, size };
        self.header(&h, 0)?;
        self.put(&vec![0u8; size as usize])?;
        self.pad4()
    }

    /// Adds a regular file of exactly `size` bytes read from `data`. The data of
    /// large and executable files starts on a page boundary of the archive.
    pub fn file(&mut self, name: &[u8], perm: u32, mtime: u32, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let size32 = u32::try_from(size).map_err(|_| too_big("a file of 4 GiB or more"))?;
        Self::check_name(name)?;
        if size >= ALIGN_MIN || (size >= PAGE && perm & 0o111 != 0) {
            self.align_data(name)?;
        }
        let ino = self.take_ino();
        let h = Header { name, mode: S_IFREG | (perm & 0o7777), nlink: 1, mtime, size: size32 };
        self.header(&h, ino)?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        self.offset = self.offset.wrapping_add(copied);
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file shrank while being packed ({copied} of {size} bytes)"),
            ));
        }
        self.pad4()
    }

    /// Adds a symbolic link pointing at `target`.
    pub fn symlink(&mut self, name: &[u8], target: &[u8], mtime: u32) -> io::Result<()> {
        let size = u32::try_from(target.len()).map_err(|_| too_big("a symlink target"))?;
        Self::check_name(name)?;
        let ino = self.take_ino();
        let h = Header { name, mode: S_IFLNK | 0o777, nlink: 1, mtime, size };
        self.header(&h, ino)?;
        self.put(target)?;
        self.pad4()
    }

    /// Writes the trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let h = Header { name: TRAILER, mode: 0, nlink: 1, mtime: 0, size: 0 };
        self.header(&h, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One entry as read back by [`parse`].
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct Entry {
        pub ino: u32,
        pub mode: u32,
        pub nlink: u32,
        pub mtime: u32,
        pub name: Vec<u8>,
        pub data: Vec<u8>,
    }

    fn field(h: &[u8], i: usize) -> u32 {
        let s = std::str::from_utf8(&h[6 + 8 * i..6 + 8 * (i + 1)]).expect("ascii field");
        u32::from_str_radix(s, 16).expect("hex field")
    }

    fn align4(x: usize) -> usize {
        (x + 3) & !3
    }

    /// A strict newc reader: checks magic, padding bytes and the trailer.
    pub(crate) fn parse(archive: &[u8]) -> Vec<Entry> {
        assert_eq!(archive.len() % 4, 0, "archive length is a multiple of 4");
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            let h = &archive[pos..pos + HEADER_LEN];
            assert_eq!(&h[..6], MAGIC);
            let namesize = field(h, 11) as usize;
            let size = field(h, 6) as usize;
            assert_eq!(field(h, 12), 0, "check field");
            let name_start = pos + HEADER_LEN;
            let name = &archive[name_start..name_start + namesize];
            assert_eq!(name.last(), Some(&0), "name ends with NUL");
            let data_start = align4(name_start + namesize);
            assert!(archive[name_start + namesize..data_start].iter().all(|&b| b == 0));
            let data = &archive[data_start..data_start + size];
            let next = align4(data_start + size);
            assert!(archive[data_start + size..next].iter().all(|&b| b == 0));
            let name = name[..namesize - 1].to_vec();
            if name == TRAILER {
                assert_eq!(next, archive.len(), "nothing after the trailer");
                return out;
            }
            if name == FILLER {
                assert_eq!(field(h, 1), S_IFREG, "a filler is a plain file");
                assert!(data.iter().all(|&b| b == 0), "a filler holds zeros");
                pos = next;
                continue;
            }
            out.push(Entry {
                ino: field(h, 0),
                mode: field(h, 1),
                nlink: field(h, 4),
                mtime: field(h, 5),
                name,
                data: data.to_vec(),
            });
            pos = next;
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.dir(b"app", 0o755, 7).expect("dir");
        // Data lengths 0..=5 exercise every padding case.
        for n in 0..=5usize {
            let name = format!("app/f{n}");
            let data = vec![b'a' + n as u8; n];
            w.file(name.as_bytes(), 0o644, 8, n as u64, &mut &data[..]).expect("file");
        }
        w.file(b"app/hello", 0o755, 9, 3, &mut &b"hey"[..]).expect("file");
        let prog = vec![0x5au8; 6000];
        w.file(b"app/prog", 0o755, 9, prog.len() as u64, &mut &prog[..]).expect("file");
        w.symlink(b"app/link", b"hello", 10).expect("symlink");
        w.dir(b"tmp", 0o1777, 11).expect("dir");
        w.finish().expect("finish")
    }

    #[test]
    fn round_trip() {
        let entries = parse(&sample());
        assert_eq!(entries.len(), 11);
        assert_eq!(entries[0].name, b"app");
        assert_eq!(entries[0].mode, S_IFDIR | 0o755);
        assert_eq!(entries[0].nlink, 2);
        assert_eq!(entries[0].mtime, 7);
        for (n, e) in entries[1..7].iter().enumerate() {
            assert_eq!(e.name, format!("app/f{n}").as_bytes());
            assert_eq!(e.mode, S_IFREG | 0o644);
            assert_eq!(e.data, vec![b'a' + n as u8; n]);
        }
        assert_eq!(entries[7].mode, S_IFREG | 0o755);
        assert_eq!(entries[7].data, b"hey");
        assert_eq!(entries[8].name, b"app/prog");
        assert_eq!(entries[8].data, vec![0x5au8; 6000]);
        assert_eq!(entries[9].mode, S_IFLNK | 0o777);
        assert_eq!(entries[9].data, b"hello");
        assert_eq!(entries[10].mode, S_IFDIR | 0o1777);
        let inos: Vec<u32> = entries.iter().map(|e| e.ino).collect();
        assert_eq!(inos, (1..=11).collect::<Vec<u32>>(), "inode numbers unique");
    }

    /// (name, data offset, size) of each member, fillers included.
    fn data_starts(archive: &[u8]) -> Vec<(Vec<u8>, usize, usize)> {
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            let h = &archive[pos..pos + HEADER_LEN];
            let namesize = field(h, 11) as usize;
            let size = field(h, 6) as usize;
            let name = archive[pos + HEADER_LEN..pos + HEADER_LEN + namesize - 1].to_vec();
            let data_start = align4(pos + HEADER_LEN + namesize);
            if name == TRAILER {
                return out;
            }
            out.push((name, data_start, size));
            pos = align4(data_start + size);
        }
    }

    /// Large and executable files start on a page boundary (so the kernel maps
    /// them from the initrd); small ones are packed as before; the archive stays
    /// a valid newc archive that GNU cpio reads (see the test below).
    #[test]
    fn mapped_files_are_page_aligned() {
        let mut w = Writer::new(Vec::new());
        w.dir(b"app", 0o755, 1).expect("dir");
        let big = vec![7u8; 70_000];
        let exe = vec![9u8; 5000];
        w.file(b"app/small", 0o644, 1, 3, &mut &b"abc"[..]).expect("file");
        w.file(b"app/exe", 0o755, 1, exe.len() as u64, &mut &exe[..]).expect("file");
        w.file(b"app/data", 0o644, 1, 5000, &mut &exe[..]).expect("file");
        w.file(b"app/big", 0o644, 1, big.len() as u64, &mut &big[..]).expect("file");
        // Every gap size, including the ones smaller than a filler.
        for n in 0..40usize {
            let name = format!("app/e{}", "x".repeat(n));
            w.file(name.as_bytes(), 0o755, 1, 4096, &mut &exe[..4096]).expect("file");
        }
        let archive = w.finish().expect("finish");
        let mut fillers = 0;
        for (name, start, size) in data_starts(&archive) {
            if name.starts_with(b"app/e") || name == b"app/exe" || name == b"app/big" {
                assert_eq!(start % 4096, 0, "{} at {start}", String::from_utf8_lossy(&name));
            }
            if name == FILLER {
                fillers += 1;
                assert!(size < 4096 + 4, "a filler is shorter than a page and a header");
            }
        }
        assert!(fillers > 0);
        let entries = parse(&archive);
        assert_eq!(entries.len(), 45, "fillers are not members");
        assert_eq!(entries[2].name, b"app/exe");
        assert_eq!(entries[2].data, exe);
        assert_eq!(entries[4].data, big);
        let inos: Vec<u32> = entries.iter().map(|e| e.ino).collect();
        assert_eq!(inos, (1..=45).collect::<Vec<u32>>(), "fillers take no inode number");
    }

    #[test]
    fn short_reader_is_an_error() {
        let mut w = Writer::new(Vec::new());
        let err = w.file(b"x", 0o644, 0, 10, &mut &b"abc"[..]).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// Found by the cpio fuzz target (fuzz/): a file named `TRAILER!!!` at the top
    /// of the tree ended the archive, and the kernel never saw the members after it.
    #[test]
    fn a_member_named_like_the_trailer_is_an_error() {
        let mut w = Writer::new(Vec::new());
        let err = w.file(b"TRAILER!!!", 0o644, 0, 0, &mut &b""[..]).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(w.dir(b"TRAILER!!!", 0o755, 0).is_err());
        assert!(w.symlink(b"TRAILER!!!", b"x", 0).is_err());
        // Deeper down the name is harmless.
        w.file(b"d/TRAILER!!!", 0o644, 0, 1, &mut &b"x"[..]).expect("nested");
        w.dir(b"app", 0o755, 0).expect("dir");
        let entries = parse(&w.finish().expect("finish"));
        let names: Vec<&[u8]> = entries.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"d/TRAILER!!!"[..], b"app"]);
    }

    #[test]
    fn nul_in_name_is_an_error() {
        let mut w = Writer::new(Vec::new());
        assert!(w.dir(b"a\0b", 0o755, 0).is_err());
    }

    /// Cross-check with the system's GNU cpio when it is installed.
    #[test]
    fn gnu_cpio_lists_and_extracts_it() {
        use std::process::{Command, Stdio};
        if Command::new("cpio").arg("--version").output().is_err() {
            eprintln!("cpio not installed; skipping");
            return;
        }
        let dir = std::env::temp_dir().join(format!("elfin-cpio-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut child = Command::new("cpio")
            .args(["-i", "-d", "-m", "--quiet", "--no-absolute-filenames"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn cpio");
        child.stdin.take().expect("stdin").write_all(&sample()).expect("write");
        assert!(child.wait().expect("wait").success(), "cpio -i failed");
        use std::os::unix::fs::PermissionsExt;
        let hello = dir.join("app/hello");
        assert_eq!(std::fs::read(&hello).expect("read"), b"hey");
        let mode = std::fs::metadata(&hello).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(std::fs::read_link(dir.join("app/link")).expect("readlink"), std::path::Path::new("hello"));
        assert_eq!(std::fs::read(dir.join("app/f5")).expect("read"), b"fffff");
        assert_eq!(std::fs::read(dir.join("app/prog")).expect("read"), vec![0x5au8; 6000]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
