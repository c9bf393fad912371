//! `plan`: validate an ELF file and describe how to map it.
//!
//! The header fields are checked by hand before goblin is asked to read anything
//! variable-sized, so that absurd counts or offsets never reach an allocation.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{Dynamic, DT_NEEDED, DT_STRSZ, DT_STRTAB};
use goblin::elf::header::{
    ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, ET_CORE, ET_DYN, ET_EXEC, ET_REL, EV_CURRENT, SELFMAG,
};
use goblin::elf::program_header::{
    ProgramHeader, PF_R, PF_W, PF_X, PT_DYNAMIC, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_PHDR, PT_TLS,
};
use goblin::elf64::header::Header;

use crate::error::{LoadError, MAX_NAMES_SHOWN};

/// Page size the plan is computed for (4 KiB, as on Linux x86_64 and arm64 with 4K pages).
pub const PAGE_SIZE: u64 = 4096;
/// Most program headers a file may have.
pub const MAX_PHNUM: u16 = 512;
/// Largest span `highest - lowest` of all `PT_LOAD` segments (1 TiB).
pub const MAX_SPAN: u64 = 1 << 40;
/// Largest `PT_LOAD`/`PT_TLS` alignment accepted (1 GiB).
pub const MAX_ALIGN: u64 = 1 << 30;
/// Lowest address an `ET_EXEC` segment may use; page 0 stays unmapped.
pub const MIN_EXEC_ADDR: u64 = PAGE_SIZE;

/// Size of the ELF64 file header.
const EHDR_SIZE: usize = 64;
/// Size of the ELF64 identification bytes (`e_ident`).
const IDENT_SIZE: usize = 16;
/// Size of one ELF64 program header.
const PHDR_SIZE: u16 = 56;
/// Most bytes of `PT_DYNAMIC` read when looking for `DT_NEEDED` (4096 entries).
const MAX_DYNAMIC_SIZE: u64 = 64 * 1024;
/// Longest interpreter path or library name shown in an error.
const MAX_NAME_LEN: usize = 256;

/// The CPU architecture a program is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// x86-64 (`EM_X86_64`, 62).
    X86_64,
    /// 64-bit Arm (`EM_AARCH64`, 183).
    Aarch64,
}

impl Machine {
    /// The `e_machine` value of ELF files for this architecture.
    pub const fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => 62,
            Machine::Aarch64 => 183,
        }
    }

    /// The name Linux's `uname -m` gives (also the `AT_PLATFORM` string).
    pub const fn name(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
        }
    }

    /// End (exclusive) of the user address range, as Linux's `TASK_SIZE`.
    ///
    /// x86_64: `(1 << 47) - 4096` (Linux keeps the last canonical page unmapped).
    /// aarch64: `1 << 48` (48-bit VA with 4 KiB pages; `ELF_ET_DYN_BASE` is above `1 << 47`).
    pub const fn user_end(self) -> u64 {
        match self {
            Machine::X86_64 => (1 << 47) - PAGE_SIZE,
            Machine::Aarch64 => 1 << 48,
        }
    }
}

/// Memory protection of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot {
    /// Readable (`PF_R`).
    pub read: bool,
    /// Writable (`PF_W`).
    pub write: bool,
    /// Executable (`PF_X`).
    pub exec: bool,
}

/// One `PT_LOAD` segment; its load address is `bias + vaddr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Link address of the first byte (`p_vaddr`), not necessarily page-aligned.
    pub vaddr: u64,
    /// Bytes of memory (`p_memsz`); the part past `filesz` is zero-filled (`.bss`).
    pub memsz: u64,
    /// File offset of the first byte (`p_offset`); congruent to `vaddr` modulo 4 KiB.
    pub offset: u64,
    /// Bytes taken from the file (`p_filesz`); `offset + filesz` lies inside the file.
    pub filesz: u64,
    /// Protection from `p_flags`.
    pub prot: Prot,
}

/// The thread-local storage template (`PT_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    /// Link address of the initialisation image (`.tdata`).
    pub vaddr: u64,
    /// Bytes of initialisation image.
    pub filesz: u64,
    /// Bytes of the whole TLS block (`.tdata` + `.tbss`).
    pub memsz: u64,
    /// Alignment of the block: a power of two, at least 1 (`p_align` 0 becomes 1).
    pub align: u64,
}

/// What kind of static program the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_DYN` without `PT_INTERP` or `DT_NEEDED`: loaded at a chosen bias.
    StaticPie,
    /// `ET_EXEC`: loaded at its link addresses (bias 0).
    StaticExec,
}

/// Everything the kernel needs to map a program and fill its auxiliary vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Static-PIE or fixed-address executable.
    pub kind: ElfKind,
    /// Architecture of the program (equal to the one `plan` was asked for).
    pub machine: Machine,
    /// Non-empty `PT_LOAD` segments, sorted by `vaddr`, non-overlapping.
    pub segments: Vec<Segment>,
    /// Entry point as in the file (`e_entry`); the CPU starts at `bias + entry`.
    pub entry: u64,
    /// Link address of the program headers; `AT_PHDR` is `bias + phdr_vaddr`.
    pub phdr_vaddr: u64,
    /// Size of one program header (`AT_PHENT`, always 56).
    pub phent: u16,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u16,
    /// Lowest `PT_LOAD` address, rounded down to 4 KiB.
    pub lowest: u64,
    /// End of the highest `PT_LOAD`, rounded up to 4 KiB (exclusive).
    pub highest: u64,
    /// Largest `PT_LOAD` `p_align` (a power of two, at least 4096); the bias is a multiple of it.
    pub max_align: u64,
    /// The TLS template, if the program has `PT_TLS`.
    pub tls: Option<Tls>,
    /// Whether the stack should be executable (`PT_GNU_STACK` has `PF_X`, or is absent).
    pub exec_stack: bool,
}

/// A program file as [`plan_from`] reads it: its size and the bytes of a range.
/// A file in memory is a `[u8]`; a file elsewhere is read a piece at a time, so
/// that a program larger than memory can still be planned.
pub trait Source {
    /// The file's size in bytes.
    fn size(&self) -> u64;
    /// The `len` bytes at `offset`; None when they run past the end of the file or
    /// cannot be read.
    fn read(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read(&self, offset: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let start = usize::try_from(offset).ok()?;
        self.get(start..start.checked_add(len)?).map(Cow::Borrowed)
    }
}

/// Validate `file` as a static Linux program for `expect` and describe how to load it.
///
/// Never panics and never allocates more than a small multiple of `e_phnum` (at most
/// 512) program headers, whatever `file` holds.
pub fn plan(file: &[u8], expect: Machine) -> Result<LoadPlan, LoadError> {
    plan_from(file, expect)
}

/// [`plan`] of a file read through `src`: it reads the ELF header, the program
/// headers, and the dynamic section and `PT_INTERP` name when there are any.
pub fn plan_from<S: Source + ?Sized>(src: &S, expect: Machine) -> Result<LoadPlan, LoadError> {
    let size = src.size();
    let len = usize::try_from(size).unwrap_or(usize::MAX);
    let head_len = len.min(EHDR_SIZE);
    let head = src.read(0, head_len).ok_or(LoadError::TooShort { len })?;
    check_ident(&head, len)?;
    let hdr = Header::parse(&head).map_err(|_| LoadError::TooShort { len })?;

    if hdr.e_machine != expect.e_machine() {
        return Err(LoadError::WrongMachine { found: hdr.e_machine, expected: expect });
    }
    let kind = match hdr.e_type {
        ET_DYN => ElfKind::StaticPie,
        ET_EXEC => ElfKind::StaticExec,
        ET_REL => return Err(LoadError::Relocatable),
        ET_CORE => return Err(LoadError::CoreDump),
        other => return Err(LoadError::BadType(other)),
    };
    if hdr.e_phentsize != PHDR_SIZE {
        return Err(LoadError::BadPhentsize(hdr.e_phentsize));
    }
    if hdr.e_phnum == 0 {
        return Err(LoadError::NoProgramHeaders);
    }
    if hdr.e_phnum > MAX_PHNUM {
        return Err(LoadError::TooManyProgramHeaders(hdr.e_phnum));
    }
    let phdrs = read_phdrs(src, hdr.e_phoff, hdr.e_phnum)?;

    // The most useful message for a dynamically linked program comes first, even if
    // something else about the file is odd too.
    if let Some(ph) = phdrs.iter().find(|ph| ph.p_type == PT_INTERP) {
        let interp = read_name(src, ph.p_offset, ph.p_filesz).unwrap_or_else(|| String::from("<unreadable>"));
        return Err(LoadError::Dynamic { interp });
    }
    if let Some((needed, count)) = needed_libraries(src, &phdrs) {
        return Err(LoadError::NeedsLibraries { needed, count, no_entry: hdr.e_type == ET_DYN && hdr.e_entry == 0 });
    }

    let user_end = expect.user_end();
    let mut segments: Vec<Segment> = Vec::new();
    // (program header index, start, end) of the previous non-empty PT_LOAD.
    let mut prev: Option<(usize, u64, u64)> = None;
    let mut max_align = PAGE_SIZE;
    for (index, ph) in phdrs.iter().enumerate() {
        if ph.p_type != PT_LOAD {
            continue;
        }
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if file_end.is_none_or(|end| end > size) {
            return Err(LoadError::SegmentPastEof { index, offset: ph.p_offset, filesz: ph.p_filesz, len });
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(LoadError::FileszExceedsMemsz { index });
        }
        let end = ph
            .p_vaddr
            .checked_add(ph.p_memsz)
            .and_then(|end| page_up(end).map(|_| end))
            .ok_or(LoadError::SegmentOverflow { index, vaddr: ph.p_vaddr, memsz: ph.p_memsz })?;
        if ph.p_align > 1 && !ph.p_align.is_power_of_two() {
            return Err(LoadError::BadAlign { index, align: ph.p_align });
        }
        if ph.p_align > MAX_ALIGN {
            return Err(LoadError::AlignTooLarge { index, align: ph.p_align });
        }
        if page_offset(ph.p_offset) != page_offset(ph.p_vaddr) {
            return Err(LoadError::Misaligned { index, offset: ph.p_offset, vaddr: ph.p_vaddr });
        }
        if ph.p_memsz == 0 {
            // Linux maps nothing for an empty segment; neither do we.
            continue;
        }
        let too_low = kind == ElfKind::StaticExec && ph.p_vaddr < MIN_EXEC_ADDR;
        if too_low || end > user_end {
            return Err(LoadError::OutsideUserRange {
                index,
                start: ph.p_vaddr,
                end,
                low: if kind == ElfKind::StaticExec { MIN_EXEC_ADDR } else { 0 },
                high: user_end,
            });
        }
        if let Some((prev_index, prev_start, prev_end)) = prev {
            if ph.p_vaddr < prev_start {
                return Err(LoadError::Unsorted { index, prev: prev_index });
            }
            if ph.p_vaddr < prev_end {
                return Err(LoadError::Overlap { index, prev: prev_index });
            }
        }
        prev = Some((index, ph.p_vaddr, end));
        max_align = max_align.max(ph.p_align);
        segments.push(Segment {
            vaddr: ph.p_vaddr,
            memsz: ph.p_memsz,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            prot: Prot { read: ph.p_flags & PF_R != 0, write: ph.p_flags & PF_W != 0, exec: ph.p_flags & PF_X != 0 },
        });
    }

    let (Some(first), Some((_, _, last_end))) = (segments.first(), prev) else {
        return Err(LoadError::NoLoad);
    };
    let lowest = page_down(first.vaddr);
    // Checked above: every segment end rounds up without overflow.
    let highest = page_up(last_end).ok_or(LoadError::NoLoad)?;
    let span = highest.checked_sub(lowest).ok_or(LoadError::NoLoad)?;
    if span > MAX_SPAN {
        return Err(LoadError::SpanTooLarge { span });
    }

    let entry = hdr.e_entry;
    if !segments.iter().any(|s| s.prot.exec && contains(s.vaddr, s.memsz, entry, 1)) {
        return Err(if kind == ElfKind::StaticPie && entry == 0 {
            LoadError::NoEntry
        } else {
            LoadError::EntryNotExecutable { entry }
        });
    }

    let phdr_vaddr = phdr_vaddr(&segments, &phdrs, hdr.e_phoff, hdr.e_phnum)?;
    let tls = tls(&segments, &phdrs)?;
    let exec_stack = phdrs.iter().rev().find(|ph| ph.p_type == PT_GNU_STACK).is_none_or(|ph| ph.p_flags & PF_X != 0);

    Ok(LoadPlan {
        kind,
        machine: expect,
        segments,
        entry,
        phdr_vaddr,
        phent: hdr.e_phentsize,
        phnum: hdr.e_phnum,
        lowest,
        highest,
        max_align,
        tls,
        exec_stack,
    })
}

/// Check `e_ident` in `head`, the first bytes of a file of `len` bytes: magic,
/// class, data encoding, version.
fn check_ident(head: &[u8], len: usize) -> Result<(), LoadError> {
    let magic_len = head.len().min(SELFMAG);
    if head.get(..magic_len) != ELFMAG.get(..magic_len) {
        if head.starts_with(b"#!") {
            return Err(LoadError::Script);
        }
        return Err(LoadError::BadMagic);
    }
    let Some(ident) = head.get(..IDENT_SIZE) else {
        return Err(LoadError::TooShort { len });
    };
    match ident.get(4).copied().unwrap_or(0) {
        ELFCLASS64 => {}
        ELFCLASS32 => return Err(LoadError::Class32),
        other => return Err(LoadError::BadClass(other)),
    }
    match ident.get(5).copied().unwrap_or(0) {
        ELFDATA2LSB => {}
        ELFDATA2MSB => return Err(LoadError::BigEndian),
        other => return Err(LoadError::BadDataEncoding(other)),
    }
    let version = ident.get(6).copied().unwrap_or(0);
    if version != EV_CURRENT {
        return Err(LoadError::BadVersion(version));
    }
    if len < EHDR_SIZE {
        return Err(LoadError::TooShort { len });
    }
    Ok(())
}

/// Read `phnum` program headers at `phoff`, after checking they lie inside the file.
fn read_phdrs<S: Source + ?Sized>(src: &S, phoff: u64, phnum: u16) -> Result<Vec<ProgramHeader>, LoadError> {
    let len = src.size();
    let size = u64::from(PHDR_SIZE);
    // phnum <= 512, so this product cannot overflow.
    let table = u64::from(phnum).saturating_mul(size);
    let fits = phoff.checked_add(table).is_some_and(|end| end <= len);
    if !fits {
        // The first header that does not fit entirely.
        let index = len.checked_sub(phoff).map_or(0, |room| room.checked_div(size).unwrap_or(0));
        return Err(LoadError::PhdrTruncated { index: index.min(u64::from(phnum)) as usize });
    }
    let table_len = usize::try_from(table).map_err(|_| LoadError::PhdrTruncated { index: 0 })?;
    let bytes = src.read(phoff, table_len).ok_or(LoadError::PhdrTruncated { index: 0 })?;
    if cfg!(target_endian = "little") {
        // The table as it lies in the file (one copy, in place of a field-by-field
        // read of each header): its little-endian words are this machine's.
        return Ok(goblin::elf64::program_header::ProgramHeader::from_bytes(&bytes, usize::from(phnum))
            .into_iter()
            .map(ProgramHeader::from)
            .collect());
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);
    ProgramHeader::parse(&bytes, 0, usize::from(phnum), ctx).map_err(|_| LoadError::PhdrTruncated { index: 0 })
}

/// The `DT_NEEDED` names of the first `PT_DYNAMIC` (up to [`MAX_NAMES_SHOWN`]) and their
/// count, or `None` when there are none or the dynamic section cannot be read.
///
/// An unreadable dynamic section is not an error here: a static program never reads its
/// own from the file, and the other checks still apply.
fn needed_libraries<S: Source + ?Sized>(src: &S, phdrs: &[ProgramHeader]) -> Option<(Vec<String>, usize)> {
    // goblin reserves room for `p_filesz / 16` entries up front, so hand it only the
    // first PT_DYNAMIC, clamped: a real one is a few hundred bytes.
    let mut dynamic_ph = phdrs.iter().find(|ph| ph.p_type == PT_DYNAMIC)?.clone();
    dynamic_ph.p_filesz = dynamic_ph.p_filesz.min(MAX_DYNAMIC_SIZE);
    // The section read on its own, and parsed where it now lies.
    let bytes = src.read(dynamic_ph.p_offset, usize::try_from(dynamic_ph.p_filesz).ok()?)?;
    dynamic_ph.p_offset = 0;
    if !may_need(&bytes) {
        return None;
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let dynamic = Dynamic::parse(&bytes, core::slice::from_ref(&dynamic_ph), ctx).ok().flatten()?;
    let count = dynamic.dyns.iter().filter(|d| d.d_tag == DT_NEEDED).count();
    if count == 0 {
        return None;
    }
    let tag = |t: u64| dynamic.dyns.iter().find(|d| d.d_tag == t).map(|d| d.d_val);
    let strtab = tag(DT_STRTAB).and_then(|vaddr| file_offset(phdrs, vaddr));
    let strsz = tag(DT_STRSZ).unwrap_or(u64::MAX);
    let names = dynamic
        .dyns
        .iter()
        .filter(|d| d.d_tag == DT_NEEDED)
        .take(MAX_NAMES_SHOWN)
        .map(|d| {
            strtab
                .filter(|_| d.d_val < strsz)
                .and_then(|base| base.checked_add(d.d_val))
                .and_then(|at| read_name(src, at, strsz.saturating_sub(d.d_val)))
                .unwrap_or_else(|| String::from("?"))
        })
        .collect();
    Some((names, count))
}

/// Whether the dynamic section `bytes` has a `DT_NEEDED` entry before its
/// `DT_NULL`: a static program's section is scanned in place, without goblin
/// decoding every entry.
fn may_need(bytes: &[u8]) -> bool {
    const DT_NULL: u64 = 0;
    for entry in bytes.chunks_exact(16) {
        let tag = entry.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes);
        match tag {
            Some(DT_NULL) => return false,
            Some(DT_NEEDED) => return true,
            _ => {}
        }
    }
    false
}

/// File offset of link address `vaddr`, if a `PT_LOAD` holds it in its file part.
fn file_offset(phdrs: &[ProgramHeader], vaddr: u64) -> Option<u64> {
    phdrs
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD)
        .find(|ph| contains(ph.p_vaddr, ph.p_filesz, vaddr, 1))
        .and_then(|ph| ph.p_offset.checked_add(vaddr.checked_sub(ph.p_vaddr)?))
}

/// A printable copy of the NUL-terminated string at `offset` (at most `max` bytes).
fn read_name<S: Source + ?Sized>(src: &S, offset: u64, max: u64) -> Option<String> {
    let rest = src.size().checked_sub(offset)?;
    let n = usize::try_from(max.min(rest)).unwrap_or(usize::MAX).min(MAX_NAME_LEN);
    let bytes = src.read(offset, n)?;
    let name = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    Some(alloc::format!("{}", name.escape_ascii()))
}

/// Link address of the program header table, as `AT_PHDR` needs it.
///
/// Linux (since 5.18) takes the `PT_LOAD` whose file part holds `e_phoff`; we do the same
/// and, failing that, accept a `PT_PHDR` whose table lies inside a `PT_LOAD`. libc reads
/// the table through `AT_PHDR` (to find `PT_TLS`, `PT_DYNAMIC`), so a program whose
/// headers are not loaded cannot start.
fn phdr_vaddr(segments: &[Segment], phdrs: &[ProgramHeader], phoff: u64, phnum: u16) -> Result<u64, LoadError> {
    let table = u64::from(phnum).saturating_mul(u64::from(PHDR_SIZE));
    let from_load = segments.iter().find_map(|s| {
        let rel = phoff.checked_sub(s.offset)?;
        if rel.checked_add(table)? <= s.filesz {
            s.vaddr.checked_add(rel)
        } else {
            None
        }
    });
    if let Some(vaddr) = from_load {
        return Ok(vaddr);
    }
    phdrs
        .iter()
        .find(|ph| ph.p_type == PT_PHDR)
        .map(|ph| ph.p_vaddr)
        .filter(|&vaddr| segments.iter().any(|s| contains(s.vaddr, s.memsz, vaddr, table)))
        .ok_or(LoadError::PhdrsNotLoaded)
}

/// Validate the (single) `PT_TLS`.
fn tls(segments: &[Segment], phdrs: &[ProgramHeader]) -> Result<Option<Tls>, LoadError> {
    let mut found = phdrs.iter().filter(|ph| ph.p_type == PT_TLS);
    let Some(ph) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(LoadError::MultipleTls);
    }
    if ph.p_align > 1 && !ph.p_align.is_power_of_two() {
        return Err(LoadError::TlsBadAlign { align: ph.p_align });
    }
    if ph.p_align > MAX_ALIGN || ph.p_memsz > MAX_ALIGN {
        return Err(LoadError::TlsTooLarge { memsz: ph.p_memsz, align: ph.p_align });
    }
    if ph.p_filesz > ph.p_memsz {
        return Err(LoadError::TlsFileszExceedsMemsz);
    }
    // libc copies the initialisation image from memory, so it must be loaded.
    if !segments.iter().any(|s| contains(s.vaddr, s.memsz, ph.p_vaddr, ph.p_filesz)) {
        return Err(LoadError::TlsNotLoaded { vaddr: ph.p_vaddr });
    }
    Ok(Some(Tls { vaddr: ph.p_vaddr, filesz: ph.p_filesz, memsz: ph.p_memsz, align: ph.p_align.max(1) }))
}

/// Whether `[at, at + len)` lies inside `[start, start + size)`. Overflow means "no".
fn contains(start: u64, size: u64, at: u64, len: u64) -> bool {
    let (Some(end), Some(at_end)) = (start.checked_add(size), at.checked_add(len)) else {
        return false;
    };
    start <= at && at_end <= end
}

/// `v` rounded down to a page boundary.
pub(crate) const fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}

/// `v` rounded up to a page boundary, or `None` on overflow.
pub(crate) fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// Offset of `v` inside its page.
const fn page_offset(v: u64) -> u64 {
    v & (PAGE_SIZE - 1)
}

#[cfg(test)]
// Tests compute expected values from small constants; checked arithmetic there
// would only obscure them.
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn contains_edges() {
        assert!(contains(0x1000, 0x10, 0x1000, 1));
        assert!(contains(0x1000, 0x10, 0x100f, 1));
        assert!(!contains(0x1000, 0x10, 0x1010, 1));
        assert!(!contains(0x1000, 0x10, 0xfff, 1));
        assert!(contains(0x1000, 0x10, 0x1000, 0x10));
        assert!(!contains(0x1000, 0x10, 0x1001, 0x10));
        assert!(!contains(u64::MAX, 2, u64::MAX, 1));
        assert!(!contains(0, 0x10, u64::MAX, 2));
    }

    #[test]
    fn page_rounding() {
        assert_eq!(page_down(0x1fff), 0x1000);
        assert_eq!(page_up(0x1001), Some(0x2000));
        assert_eq!(page_up(0x1000), Some(0x1000));
        assert_eq!(page_up(u64::MAX), None);
        assert_eq!(page_offset(0x1234), 0x234);
    }
}
