//! `LoadError`: why a program cannot be loaded, in words a person understands.
//!
//! "segment N" in a message is the N-th program header (0-based), the numbering
//! `readelf -l` uses in its "Section to Segment mapping".

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::plan::{Machine, MAX_ALIGN, MAX_PHNUM, MAX_SPAN};
use crate::stack::MAX_ARG_STRLEN;

/// How many `DT_NEEDED` names an error keeps.
pub(crate) const MAX_NAMES_SHOWN: usize = 8;

/// Which string of the initial stack an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackString {
    /// `argv[i]`.
    Argv(usize),
    /// `envp[i]`.
    Envp(usize),
    /// The `AT_EXECFN` path.
    Execfn,
    /// The `AT_PLATFORM` string.
    Platform,
}

impl fmt::Display for StackString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackString::Argv(i) => write!(f, "argv[{i}]"),
            StackString::Envp(i) => write!(f, "envp[{i}]"),
            StackString::Execfn => f.write_str("the program path (AT_EXECFN)"),
            StackString::Platform => f.write_str("the platform string (AT_PLATFORM)"),
        }
    }
}

/// Why `plan` rejected a file or `build_stack` could not build a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The file ends inside the ELF header.
    TooShort {
        /// File length in bytes.
        len: usize,
    },
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// The file starts with `#!`.
    Script,
    /// `ELFCLASS32`.
    Class32,
    /// An `EI_CLASS` that is neither 32- nor 64-bit.
    BadClass(u8),
    /// `ELFDATA2MSB`.
    BigEndian,
    /// An `EI_DATA` that is neither little- nor big-endian.
    BadDataEncoding(u8),
    /// `EI_VERSION` is not `EV_CURRENT`.
    BadVersion(u8),
    /// `e_machine` is not the architecture asked for.
    WrongMachine {
        /// `e_machine` of the file.
        found: u16,
        /// The architecture this kernel runs.
        expected: Machine,
    },
    /// `ET_REL`: an object file.
    Relocatable,
    /// `ET_CORE`: a core dump.
    CoreDump,
    /// Some other `e_type`.
    BadType(u16),
    /// `e_phentsize` is not 56.
    BadPhentsize(u16),
    /// `e_phnum` is 0.
    NoProgramHeaders,
    /// `e_phnum` is above [`MAX_PHNUM`].
    TooManyProgramHeaders(u16),
    /// The program header table runs past the end of the file.
    PhdrTruncated {
        /// First program header not entirely inside the file.
        index: usize,
    },
    /// `PT_INTERP`: the program needs a dynamic loader.
    Dynamic {
        /// The interpreter path, escaped for printing.
        interp: String,
    },
    /// `DT_NEEDED` without `PT_INTERP`: a shared library, or a broken program.
    NeedsLibraries {
        /// The first few library names, escaped for printing (`?` if unreadable).
        needed: Vec<String>,
        /// How many `DT_NEEDED` entries there are in all.
        count: usize,
        /// `ET_DYN` with `e_entry` 0: certainly a shared library.
        no_entry: bool,
    },
    /// A `PT_LOAD`'s file bytes run past the end of the file.
    SegmentPastEof {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// File length.
        len: usize,
    },
    /// A `PT_LOAD` has `p_filesz > p_memsz`.
    FileszExceedsMemsz {
        /// Program header index.
        index: usize,
    },
    /// `p_vaddr + p_memsz` overflows.
    SegmentOverflow {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// `p_align` is not a power of two.
    BadAlign {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// `p_align` is above [`MAX_ALIGN`].
    AlignTooLarge {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// `p_offset` and `p_vaddr` differ modulo the page size, so the segment cannot be mapped.
    Misaligned {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_vaddr`.
        vaddr: u64,
    },
    /// A segment lies outside the user address range.
    OutsideUserRange {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        start: u64,
        /// `p_vaddr + p_memsz`.
        end: u64,
        /// Lowest allowed address.
        low: u64,
        /// End of the user address range.
        high: u64,
    },
    /// `PT_LOAD`s are not sorted by address.
    Unsorted {
        /// Program header index of the out-of-order segment.
        index: usize,
        /// Program header index of the segment before it.
        prev: usize,
    },
    /// Two `PT_LOAD`s overlap.
    Overlap {
        /// Program header index of the later segment.
        index: usize,
        /// Program header index of the segment it overlaps.
        prev: usize,
    },
    /// No non-empty `PT_LOAD`.
    NoLoad,
    /// The `PT_LOAD`s span more than [`MAX_SPAN`].
    SpanTooLarge {
        /// `highest - lowest`.
        span: u64,
    },
    /// `ET_DYN` with `e_entry` 0.
    NoEntry,
    /// `e_entry` is not inside an executable `PT_LOAD`.
    EntryNotExecutable {
        /// `e_entry`.
        entry: u64,
    },
    /// No `PT_LOAD` holds the program header table, so `AT_PHDR` cannot point at it.
    PhdrsNotLoaded,
    /// More than one `PT_TLS`.
    MultipleTls,
    /// `PT_TLS` alignment is not a power of two.
    TlsBadAlign {
        /// `p_align`.
        align: u64,
    },
    /// `PT_TLS` size or alignment is above [`MAX_ALIGN`].
    TlsTooLarge {
        /// `p_memsz`.
        memsz: u64,
        /// `p_align`.
        align: u64,
    },
    /// `PT_TLS` has `p_filesz > p_memsz`.
    TlsFileszExceedsMemsz,
    /// The TLS initialisation image is not inside a `PT_LOAD`.
    TlsNotLoaded {
        /// `p_vaddr` of `PT_TLS`.
        vaddr: u64,
    },
    /// `stack_top` is not 16-byte aligned or is too low for the stack.
    BadStackTop {
        /// The `stack_top` given.
        top: u64,
    },
    /// A stack string contains a NUL byte.
    NulInString {
        /// Which string.
        which: StackString,
    },
    /// A stack string is longer than [`MAX_ARG_STRLEN`] (Linux: `E2BIG`).
    StringTooLong {
        /// Which string.
        which: StackString,
        /// Its length in bytes, without the NUL.
        len: usize,
    },
    /// The caller passed an auxv key `build_stack` adds itself (or `AT_NULL`).
    ReservedAuxv {
        /// The `AT_*` key.
        key: u64,
    },
    /// The initial stack would exceed the size limit (Linux: `E2BIG`).
    ArgumentListTooLong {
        /// Bytes the stack needs (`u64::MAX` if the count overflowed).
        needed: u64,
        /// The limit.
        limit: usize,
    },
}

impl LoadError {
    /// Whether Linux's `execve` would fail with `E2BIG` (else `ENOEXEC`/`EINVAL`).
    pub const fn is_e2big(&self) -> bool {
        matches!(self, LoadError::StringTooLong { .. } | LoadError::ArgumentListTooLong { .. })
    }
}

/// Name of a well-known `e_machine` value.
fn machine_name(e_machine: u16) -> Option<&'static str> {
    Some(match e_machine {
        2 => "SPARC",
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "32-bit ARM",
        43 => "SPARC64",
        62 => "x86_64",
        183 => "aarch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => return None,
    })
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LoadError as E;
        match self {
            E::TooShort { len: 0 } => f.write_str("empty file; not an ELF program"),
            E::TooShort { len } => {
                write!(f, "truncated: {len} bytes, too short for an ELF header (64 bytes)")
            }
            E::BadMagic => f.write_str("not an ELF file (bad magic)"),
            E::Script => f.write_str("a script (starts with #!), not an ELF file; elfin runs compiled programs only"),
            E::Class32 => f.write_str("32-bit ELF; only 64-bit programs are supported"),
            E::BadClass(c) => write!(f, "bad ELF class {c} (neither 32- nor 64-bit)"),
            E::BigEndian => f.write_str("big-endian ELF is not supported"),
            E::BadDataEncoding(d) => write!(f, "bad ELF data encoding {d}"),
            E::BadVersion(v) => write!(f, "unsupported ELF version {v} (expected 1)"),
            E::WrongMachine { found, expected } => {
                match machine_name(*found) {
                    Some(name) => write!(f, "ELF for {name}")?,
                    None => write!(f, "ELF for unknown machine {found:#x}")?,
                }
                write!(f, ", this kernel runs {} programs", expected.name())
            }
            E::Relocatable => f.write_str("relocatable object file (ET_REL), not a program; link it with -static-pie"),
            E::CoreDump => f.write_str("core dump (ET_CORE), not a program"),
            E::BadType(t) => write!(f, "unknown ELF type {t:#x}; expected an executable"),
            E::BadPhentsize(s) => {
                write!(f, "program header entry size is {s} bytes, expected 56")
            }
            E::NoProgramHeaders => f.write_str("no program headers; not an executable"),
            E::TooManyProgramHeaders(n) => {
                write!(f, "absurd size: {n} program headers (at most {MAX_PHNUM})")
            }
            E::PhdrTruncated { index } => {
                write!(f, "truncated: program header {index} lies past the end of the file")
            }
            E::Dynamic { interp } => write!(f, "dynamically linked (PT_INTERP {interp}); build it with -static-pie"),
            E::NeedsLibraries { needed, count, no_entry } => {
                if *no_entry {
                    f.write_str("shared library (ET_DYN with DT_NEEDED ")?;
                } else {
                    f.write_str("needs shared libraries ")?;
                }
                for (i, name) in needed.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(name)?;
                }
                let more = count.saturating_sub(needed.len());
                if more > 0 {
                    write!(f, " and {more} more")?;
                }
                if *no_entry {
                    f.write_str(" and no entry point), not a program")
                } else {
                    f.write_str(" but has no PT_INTERP; build it with -static-pie")
                }
            }
            E::SegmentPastEof { index, offset, filesz, len } => write!(
                f,
                "truncated: segment {index} (file offset {offset:#x}, size {filesz:#x}) \
                 lies past the end of the file ({len:#x} bytes)"
            ),
            E::FileszExceedsMemsz { index } => {
                write!(f, "segment {index}: file size exceeds memory size")
            }
            E::SegmentOverflow { index, vaddr, memsz } => write!(
                f,
                "absurd size: segment {index} (address {vaddr:#x}, size {memsz:#x}) \
                 wraps around the address space"
            ),
            E::BadAlign { index, align } => {
                write!(f, "segment {index}: alignment {align:#x} is not a power of two")
            }
            E::AlignTooLarge { index, align } => {
                write!(f, "absurd size: segment {index} asks for alignment {align:#x} (at most {MAX_ALIGN:#x})")
            }
            E::Misaligned { index, offset, vaddr } => write!(
                f,
                "segment {index}: file offset {offset:#x} and address {vaddr:#x} differ \
                 modulo the 4 KiB page size, so it cannot be mapped"
            ),
            E::OutsideUserRange { index, start, end, low, high } => write!(
                f,
                "segment {index} ({start:#x}..{end:#x}) lies outside the user address range \
                 {low:#x}..{high:#x}"
            ),
            E::Unsorted { index, prev } => {
                write!(f, "segment {index} lies below segment {prev}; PT_LOAD segments must be sorted by address")
            }
            E::Overlap { index, prev } => write!(f, "segment {index} overlaps segment {prev}"),
            E::NoLoad => f.write_str("no PT_LOAD segment; nothing to load"),
            E::SpanTooLarge { span } => {
                write!(f, "absurd size: segments span {span:#x} bytes (at most {MAX_SPAN:#x}, 1 TiB)")
            }
            E::NoEntry => f.write_str("no entry point (e_entry is 0): a shared library, not a program"),
            E::EntryNotExecutable { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
            E::PhdrsNotLoaded => {
                f.write_str("the program headers are not inside any PT_LOAD segment, so AT_PHDR cannot point at them")
            }
            E::MultipleTls => f.write_str("more than one PT_TLS segment"),
            E::TlsBadAlign { align } => {
                write!(f, "PT_TLS: alignment {align:#x} is not a power of two")
            }
            E::TlsTooLarge { memsz, align } => {
                write!(f, "absurd size: PT_TLS of {memsz:#x} bytes aligned to {align:#x} (at most {MAX_ALIGN:#x})")
            }
            E::TlsFileszExceedsMemsz => f.write_str("PT_TLS: file size exceeds memory size"),
            E::TlsNotLoaded { vaddr } => {
                write!(f, "PT_TLS: initialisation image at {vaddr:#x} is not inside a PT_LOAD segment")
            }
            E::BadStackTop { top } => {
                write!(f, "stack top {top:#x} is not 16-byte aligned or leaves no room for the stack")
            }
            E::NulInString { which } => write!(f, "{which} contains a NUL byte"),
            E::StringTooLong { which, len } => {
                write!(f, "argument too long: {which} is {len} bytes (at most {} with its NUL)", MAX_ARG_STRLEN)
            }
            E::ReservedAuxv { key } => write!(
                f,
                "auxv entry {key} is reserved: the loader adds AT_RANDOM, AT_EXECFN, \
                 AT_PLATFORM and AT_NULL itself"
            ),
            E::ArgumentListTooLong { needed, limit } => {
                write!(f, "argument list too long: the initial stack needs {needed} bytes, the limit is {limit}")
            }
        }
    }
}
