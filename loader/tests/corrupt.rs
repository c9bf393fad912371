//! Hand-corrupted real binaries: every corruption must give the right error (or a plan
//! that still satisfies every promise `plan` makes), and nothing may panic.
// In tests a panic is a failure report, so unwrap is the right tool.
#![allow(clippy::unwrap_used)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{build, bytes, fixture_dir, Flavour, HELLO_C};
use elfin_loader::{choose_bias, plan, ElfKind, LoadError, LoadPlan, Machine, MAX_SPAN};

/// A real program's bytes with helpers to patch ELF64 header and program header fields.
#[derive(Clone)]
struct Elf {
    b: Vec<u8>,
}

// Offsets inside the ELF64 header and program header.
const E_TYPE: usize = 16;
const E_MACHINE: usize = 18;
const E_ENTRY: usize = 24;
const E_PHOFF: usize = 32;
const E_PHENTSIZE: usize = 54;
const E_PHNUM: usize = 56;
const P_TYPE: usize = 0;
const P_FLAGS: usize = 4;
const P_OFFSET: usize = 8;
const P_VADDR: usize = 16;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;
const P_ALIGN: usize = 48;

const PT_NULL: u32 = 0;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;

impl Elf {
    fn load(flavour: Flavour) -> Elf {
        Elf { b: bytes(&build(&fixture_dir("corrupt"), flavour, "hello", HELLO_C)) }
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.b[at..at + 2].try_into().unwrap())
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.b[at..at + 4].try_into().unwrap())
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.b[at..at + 8].try_into().unwrap())
    }
    fn set16(&mut self, at: usize, v: u16) -> &mut Self {
        self.b[at..at + 2].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn set32(&mut self, at: usize, v: u32) -> &mut Self {
        self.b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn set64(&mut self, at: usize, v: u64) -> &mut Self {
        self.b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn phoff(&self) -> usize {
        self.u64(E_PHOFF) as usize
    }
    fn phnum(&self) -> usize {
        usize::from(self.u16(E_PHNUM))
    }
    /// End of the program header table.
    fn table_end(&self) -> usize {
        self.phoff() + 56 * self.phnum()
    }
    /// File offset of program header `i`.
    fn ph(&self, i: usize) -> usize {
        self.phoff() + 56 * i
    }
    /// Index of the `nth` program header of type `typ`.
    fn find(&self, typ: u32, nth: usize) -> usize {
        (0..self.phnum()).filter(|&i| self.u32(self.ph(i) + P_TYPE) == typ).nth(nth).expect("program header")
    }
    fn plan(&self, m: Machine) -> Result<LoadPlan, LoadError> {
        plan(&self.b, m)
    }
}

/// Check every promise of `plan`'s contract on an `Ok` result.
fn check_invariants(p: &LoadPlan, file: &[u8], m: Machine) {
    assert_eq!(p.machine, m);
    assert_eq!(p.phent, 56);
    assert!((1..=512).contains(&p.phnum));
    assert!(!p.segments.is_empty());
    for s in &p.segments {
        assert!(s.memsz > 0);
        assert!(s.filesz <= s.memsz);
        assert!(s.offset.checked_add(s.filesz).unwrap() <= file.len() as u64);
        assert_eq!(s.offset % 4096, s.vaddr % 4096);
        assert!(s.vaddr.checked_add(s.memsz).unwrap() <= m.user_end());
    }
    for w in p.segments.windows(2) {
        assert!(w[0].vaddr + w[0].memsz <= w[1].vaddr, "sorted and disjoint");
    }
    let first = &p.segments[0];
    let end = p.segments.iter().map(|s| s.vaddr + s.memsz).max().unwrap();
    assert_eq!(p.lowest, first.vaddr & !0xfff);
    assert_eq!(p.highest, end.next_multiple_of(4096));
    assert!(p.highest - p.lowest <= MAX_SPAN);
    assert!(p.max_align.is_power_of_two() && p.max_align >= 4096 && p.max_align <= 1 << 30);
    let inside = |at: u64, len: u64| p.segments.iter().any(|s| s.vaddr <= at && at + len <= s.vaddr + s.memsz);
    assert!(p.segments.iter().any(|s| s.prot.exec && s.vaddr <= p.entry && p.entry < s.vaddr + s.memsz));
    assert!(inside(p.phdr_vaddr, 56 * u64::from(p.phnum)));
    if let Some(t) = p.tls {
        assert!(t.align.is_power_of_two());
        assert!(t.filesz <= t.memsz);
        assert!(inside(t.vaddr, t.filesz));
    }
    if p.kind == ElfKind::StaticExec {
        assert!(p.lowest >= 0x1000);
    }
    for (r, aslr) in [(0, false), (0, true), (u64::MAX, true), (0x1234_5678_9abc, true)] {
        let bias = choose_bias(p, r, aslr);
        assert_eq!(bias % 4096, 0);
        if p.kind == ElfKind::StaticExec {
            assert_eq!(bias, 0);
        }
        let hi = bias.checked_add(p.highest).expect("bias + highest overflows");
        assert!(hi <= m.user_end(), "{bias:#x} + {:#x} leaves the user range", p.highest);
    }
}

/// Run `plan` on `file` for both machines, turning a panic into a test failure that
/// says which input caused it, and checking invariants on success.
fn no_panic(file: &[u8], what: &dyn Fn() -> String) {
    for m in [Machine::X86_64, Machine::Aarch64] {
        let r = catch_unwind(AssertUnwindSafe(|| plan(file, m)));
        match r {
            Err(_) => panic!("plan panicked on {}", what()),
            Ok(Ok(p)) => check_invariants(&p, file, m),
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'), "one-line message: {msg:?}");
            }
        }
    }
}

#[test]
fn original_files_pass_the_invariants() {
    for (f, m) in [
        (Flavour::GlibcStaticPie, Machine::X86_64),
        (Flavour::GlibcStatic, Machine::X86_64),
        (Flavour::MuslStaticPie, Machine::X86_64),
        (Flavour::Aarch64StaticPie, Machine::Aarch64),
    ] {
        let e = Elf::load(f);
        let p = e.plan(m).unwrap_or_else(|err| panic!("{f:?}: {err}"));
        check_invariants(&p, &e.b, m);
    }
}

#[test]
fn truncation_at_every_header_length() {
    for f in [Flavour::GlibcStaticPie, Flavour::MuslStaticPie, Flavour::Aarch64StaticPie] {
        let e = Elf::load(f);
        let m = if f == Flavour::Aarch64StaticPie { Machine::Aarch64 } else { Machine::X86_64 };
        let table_end = e.table_end();
        for cut in 0..=table_end + 64 {
            let r = plan(&e.b[..cut], m);
            let expect = match cut {
                0..64 => Some(LoadError::TooShort { len: cut }),
                _ if cut < table_end => Some(LoadError::PhdrTruncated { index: (cut - e.phoff()) / 56 }),
                _ => None,
            };
            match expect {
                Some(err) => assert_eq!(r.unwrap_err(), err, "{f:?} cut at {cut}"),
                None => assert!(matches!(r, Err(LoadError::SegmentPastEof { .. })), "{f:?} cut at {cut}: {r:?}"),
            }
        }
    }
}

#[test]
fn truncation_anywhere() {
    for f in [Flavour::GlibcStaticPie, Flavour::GlibcStatic, Flavour::MuslStaticPie, Flavour::Aarch64StaticPie] {
        let e = Elf::load(f);
        let m = if f == Flavour::Aarch64StaticPie { Machine::Aarch64 } else { Machine::X86_64 };
        let p = e.plan(m).unwrap();
        // The file must hold every PT_LOAD's bytes, and nothing more is needed.
        let needed = p.segments.iter().map(|s| s.offset + s.filesz).max().unwrap() as usize;
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ e.b.len() as u64);
        let mut cuts: Vec<usize> = (0..500).map(|_| rng.below(e.b.len() + 1)).collect();
        cuts.extend([needed - 1, needed, needed + 1, e.b.len() - 1, e.b.len()]);
        for cut in cuts {
            let r = plan(&e.b[..cut], m);
            if cut < e.table_end() {
                assert!(matches!(r, Err(LoadError::TooShort { .. } | LoadError::PhdrTruncated { .. })), "{r:?}");
            } else if cut < needed {
                assert!(matches!(r, Err(LoadError::SegmentPastEof { .. })), "{f:?} cut at {cut}: {r:?}");
            } else {
                let q = r.unwrap_or_else(|err| panic!("{f:?} cut at {cut}: {err}"));
                assert_eq!(q, p);
            }
        }
    }
}

#[test]
fn header_corruptions() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    let x86 = Machine::X86_64;
    let check = |f: &dyn Fn(&mut Elf), want: LoadError, msg: &str| {
        let mut e = base.clone();
        f(&mut e);
        let err = e.plan(x86).unwrap_err();
        assert_eq!(err, want);
        assert_eq!(err.to_string(), msg);
    };
    check(&|e| e.b[0] = b'\x7e', LoadError::BadMagic, "not an ELF file (bad magic)");
    check(&|e| e.b[4] = 1, LoadError::Class32, "32-bit ELF; only 64-bit programs are supported");
    check(&|e| e.b[4] = 0, LoadError::BadClass(0), "bad ELF class 0 (neither 32- nor 64-bit)");
    check(&|e| e.b[5] = 2, LoadError::BigEndian, "big-endian ELF is not supported");
    check(&|e| e.b[5] = 7, LoadError::BadDataEncoding(7), "bad ELF data encoding 7");
    check(&|e| e.b[6] = 0, LoadError::BadVersion(0), "unsupported ELF version 0 (expected 1)");
    check(
        &|e| {
            e.set16(E_MACHINE, 3);
        },
        LoadError::WrongMachine { found: 3, expected: x86 },
        "ELF for i386, this kernel runs x86_64 programs",
    );
    check(
        &|e| {
            e.set16(E_MACHINE, 0x4242);
        },
        LoadError::WrongMachine { found: 0x4242, expected: x86 },
        "ELF for unknown machine 0x4242, this kernel runs x86_64 programs",
    );
    check(
        &|e| {
            e.set16(E_TYPE, 1);
        },
        LoadError::Relocatable,
        "relocatable object file (ET_REL), not a program; link it with -static-pie",
    );
    check(
        &|e| {
            e.set16(E_TYPE, 4);
        },
        LoadError::CoreDump,
        "core dump (ET_CORE), not a program",
    );
    check(
        &|e| {
            e.set16(E_TYPE, 0);
        },
        LoadError::BadType(0),
        "unknown ELF type 0x0; expected an executable",
    );
    check(
        &|e| {
            e.set16(E_PHENTSIZE, 32);
        },
        LoadError::BadPhentsize(32),
        "program header entry size is 32 bytes, expected 56",
    );
    check(
        &|e| {
            e.set16(E_PHNUM, 0);
        },
        LoadError::NoProgramHeaders,
        "no program headers; not an executable",
    );
    check(
        &|e| {
            e.set16(E_PHNUM, 0xffff);
        },
        LoadError::TooManyProgramHeaders(0xffff),
        "absurd size: 65535 program headers (at most 512)",
    );
    check(
        &|e| {
            e.set16(E_PHNUM, 513);
        },
        LoadError::TooManyProgramHeaders(513),
        "absurd size: 513 program headers (at most 512)",
    );
    let len = base.b.len() as u64;
    for phoff in [len, len + 1, u64::MAX, u64::MAX - 55, 1 << 63] {
        check(
            &|e| {
                e.set64(E_PHOFF, phoff);
            },
            LoadError::PhdrTruncated { index: 0 },
            "truncated: program header 0 lies past the end of the file",
        );
    }
    // The table starts 100 bytes before the end: header 0 fits, header 1 does not.
    check(
        &|e| {
            e.set64(E_PHOFF, len - 100);
        },
        LoadError::PhdrTruncated { index: 1 },
        "truncated: program header 1 lies past the end of the file",
    );
}

#[test]
fn entry_corruptions() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    let p = base.plan(Machine::X86_64).unwrap();
    let text = p.segments.iter().find(|s| s.prot.exec).unwrap();
    for entry in [text.vaddr - 1, text.vaddr + text.memsz, 0x40, p.highest, u64::MAX] {
        let mut e = base.clone();
        e.set64(E_ENTRY, entry);
        let err = e.plan(Machine::X86_64).unwrap_err();
        assert_eq!(err, LoadError::EntryNotExecutable { entry });
        assert_eq!(err.to_string(), format!("entry point {entry:#x} is not in an executable segment"));
    }
    for entry in [text.vaddr, text.vaddr + text.memsz - 1] {
        let mut e = base.clone();
        e.set64(E_ENTRY, entry);
        assert_eq!(e.plan(Machine::X86_64).unwrap().entry, entry);
    }
    let mut e = base.clone();
    e.set64(E_ENTRY, 0);
    assert_eq!(e.plan(Machine::X86_64).unwrap_err(), LoadError::NoEntry);
}

#[test]
fn segment_corruptions() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    let x86 = Machine::X86_64;
    let load = |n| base.find(PT_LOAD, n);
    let at = |i: usize, field: usize| base.ph(i) + field;
    let (l0, l1, l2, l3) = (load(0), load(1), load(2), load(3));
    let len = base.b.len() as u64;
    let run = |f: &dyn Fn(&mut Elf)| -> Result<LoadPlan, LoadError> {
        let mut e = base.clone();
        f(&mut e);
        e.plan(x86)
    };

    // filesz > memsz.
    let memsz = base.u64(at(l1, P_MEMSZ));
    let err = run(&|e| {
        e.set64(at(l1, P_MEMSZ), memsz - 1);
    })
    .unwrap_err();
    assert_eq!(err, LoadError::FileszExceedsMemsz { index: l1 });
    assert_eq!(err.to_string(), format!("segment {l1}: file size exceeds memory size"));

    // Offset or size past the end of the file.
    let r = run(&|e| {
        e.set64(at(l2, P_OFFSET), len);
    });
    assert!(matches!(r, Err(LoadError::SegmentPastEof { index, .. }) if index == l2), "{r:?}");
    let r = run(&|e| {
        e.set64(at(l2, P_OFFSET), u64::MAX);
    });
    assert!(matches!(r, Err(LoadError::SegmentPastEof { index, .. }) if index == l2), "{r:?}");
    let r = run(&|e| {
        e.set64(at(l3, P_FILESZ), len).set64(at(l3, P_MEMSZ), len);
    });
    assert!(matches!(r, Err(LoadError::SegmentPastEof { index, .. }) if index == l3), "{r:?}");
    assert!(r.unwrap_err().to_string().starts_with(&format!("truncated: segment {l3} (file offset")));

    // Overlap: segment 2 moved onto segment 1 (still page-congruent with its offset).
    let v1 = base.u64(at(l1, P_VADDR));
    let off2 = base.u64(at(l2, P_OFFSET));
    let err = run(&|e| {
        e.set64(at(l2, P_VADDR), (v1 + 0x1000) & !0xfff | off2 & 0xfff);
    })
    .unwrap_err();
    assert_eq!(err, LoadError::Overlap { index: l2, prev: l1 });
    assert_eq!(err.to_string(), format!("segment {l2} overlaps segment {l1}"));

    // Unsorted: swap two PT_LOAD headers.
    let err = run(&|e| {
        let (a, b) = (e.ph(l1), e.ph(l2));
        let tmp: Vec<u8> = e.b[a..a + 56].to_vec();
        e.b.copy_within(b..b + 56, a);
        e.b[b..b + 56].copy_from_slice(&tmp);
    })
    .unwrap_err();
    assert_eq!(err, LoadError::Unsorted { index: l2, prev: l1 });

    // Offset not congruent with vaddr modulo the page size.
    let off1 = base.u64(at(l1, P_OFFSET));
    let err = run(&|e| {
        e.set64(at(l1, P_OFFSET), off1 + 8);
    })
    .unwrap_err();
    assert_eq!(err, LoadError::Misaligned { index: l1, offset: off1 + 8, vaddr: v1 });

    // Alignment.
    assert_eq!(
        run(&|e| {
            e.set64(at(l1, P_ALIGN), 3);
        })
        .unwrap_err(),
        LoadError::BadAlign { index: l1, align: 3 }
    );
    assert_eq!(
        run(&|e| {
            e.set64(at(l1, P_ALIGN), 1 << 40);
        })
        .unwrap_err(),
        LoadError::AlignTooLarge { index: l1, align: 1 << 40 }
    );
    for ok in [0, 1, 0x20_0000] {
        let p = run(&|e| {
            e.set64(at(l1, P_ALIGN), ok);
        })
        .unwrap();
        assert_eq!(p.max_align, 0x1000u64.max(ok));
    }

    // Address arithmetic that overflows, or leaves the user half.
    let err = run(&|e| {
        e.set64(at(l3, P_VADDR), !0xfff | off_low(e, l3));
    })
    .unwrap_err();
    assert!(matches!(err, LoadError::SegmentOverflow { index, .. } if index == l3), "{err:?}");
    let err = run(&|e| {
        e.set64(at(l3, P_MEMSZ), u64::MAX - 0x100);
    })
    .unwrap_err();
    assert!(matches!(err, LoadError::SegmentOverflow { index, .. } if index == l3), "{err:?}");
    let err = run(&|e| {
        e.set64(at(l3, P_VADDR), (1 << 47) | off_low(e, l3));
    })
    .unwrap_err();
    assert!(matches!(err, LoadError::OutsideUserRange { index, .. } if index == l3), "{err:?}");
    assert!(err.to_string().contains("outside the user address range"));

    // Span above 1 TiB.
    let err = run(&|e| {
        e.set64(at(l3, P_MEMSZ), 1 << 41);
    })
    .unwrap_err();
    assert!(matches!(err, LoadError::SpanTooLarge { .. }), "{err:?}");
    assert!(err.to_string().starts_with("absurd size"));

    // No PT_LOAD at all; or only empty ones.
    let err = run(&|e| {
        for l in [l0, l1, l2, l3] {
            e.set32(at(l, P_TYPE), PT_NULL);
        }
    })
    .unwrap_err();
    assert_eq!(err, LoadError::NoLoad);
    assert_eq!(err.to_string(), "no PT_LOAD segment; nothing to load");
    let err = run(&|e| {
        for l in [l0, l1, l2, l3] {
            e.set64(at(l, P_FILESZ), 0).set64(at(l, P_MEMSZ), 0);
        }
    })
    .unwrap_err();
    assert_eq!(err, LoadError::NoLoad);

    // An empty PT_LOAD is skipped, like Linux maps nothing for it.
    let p = run(&|e| {
        let ph = e.ph(e.find(PT_NOTE, 0));
        e.set32(ph + P_TYPE, PT_LOAD).set64(ph + P_FILESZ, 0).set64(ph + P_MEMSZ, 0);
    })
    .unwrap();
    assert_eq!(p.segments.len(), 4);
}

/// The page offset of a program header's file offset (to keep corruptions congruent).
fn off_low(e: &Elf, i: usize) -> u64 {
    e.u64(e.ph(i) + P_OFFSET) & 0xfff
}

#[test]
fn static_exec_below_min_address() {
    let base = Elf::load(Flavour::GlibcStatic);
    let mut e = base.clone();
    let l0 = e.find(PT_LOAD, 0);
    let off = off_low(&e, l0);
    e.set64(e.ph(l0) + P_VADDR, off);
    let err = e.plan(Machine::X86_64).unwrap_err();
    assert!(matches!(err, LoadError::OutsideUserRange { index, low: 0x1000, .. } if index == l0), "{err:?}");
    // The same address is fine for a PIE, which is moved by its bias.
    let mut pie = Elf::load(Flavour::GlibcStaticPie);
    let l0 = pie.find(PT_LOAD, 0);
    assert_eq!(pie.u64(pie.ph(l0) + P_VADDR), 0);
    assert!(pie.plan(Machine::X86_64).is_ok());
    pie.set16(E_TYPE, 2);
    assert!(matches!(pie.plan(Machine::X86_64), Err(LoadError::OutsideUserRange { .. })));
}

#[test]
fn program_header_table_location() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    // Move the table to the end of the file, outside every PT_LOAD.
    let mut e = base.clone();
    let table = e.b[e.phoff()..e.table_end()].to_vec();
    let new_off = e.b.len() as u64;
    e.b.extend_from_slice(&table);
    e.set64(E_PHOFF, new_off);
    assert_eq!(e.plan(Machine::X86_64).unwrap_err(), LoadError::PhdrsNotLoaded);
    // A PT_PHDR pointing at a loaded copy of the table makes it acceptable again.
    let note = e.find(PT_NOTE, 0);
    let ph = e.ph(note);
    e.set32(ph + P_TYPE, PT_PHDR).set64(ph + P_VADDR, 0x40);
    assert_eq!(e.plan(Machine::X86_64).unwrap().phdr_vaddr, 0x40);
    // ... but not one pointing outside every segment.
    e.set64(ph + P_VADDR, 1 << 40);
    assert_eq!(e.plan(Machine::X86_64).unwrap_err(), LoadError::PhdrsNotLoaded);
}

#[test]
fn tls_corruptions() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    let tls = base.find(PT_TLS, 0);
    let at = |f: usize| base.ph(tls) + f;
    let run = |f: &dyn Fn(&mut Elf)| {
        let mut e = base.clone();
        f(&mut e);
        e.plan(Machine::X86_64)
    };
    assert_eq!(
        run(&|e| {
            e.set64(at(P_ALIGN), 24);
        })
        .unwrap_err(),
        LoadError::TlsBadAlign { align: 24 }
    );
    assert_eq!(
        run(&|e| {
            e.set64(at(P_MEMSZ), 1);
        })
        .unwrap_err(),
        LoadError::TlsFileszExceedsMemsz
    );
    assert_eq!(
        run(&|e| {
            e.set64(at(P_MEMSZ), 1 << 40);
        })
        .unwrap_err(),
        LoadError::TlsTooLarge { memsz: 1 << 40, align: 8 }
    );
    assert_eq!(
        run(&|e| {
            e.set64(at(P_VADDR), 1 << 39);
        })
        .unwrap_err(),
        LoadError::TlsNotLoaded { vaddr: 1 << 39 }
    );
    assert_eq!(
        run(&|e| {
            let note = e.ph(e.find(PT_NOTE, 0));
            e.set32(note + P_TYPE, PT_TLS);
        })
        .unwrap_err(),
        LoadError::MultipleTls
    );
    assert_eq!(
        run(&|e| {
            e.set64(at(P_ALIGN), 0);
        })
        .unwrap()
        .tls
        .unwrap()
        .align,
        1
    );
    assert_eq!(
        run(&|e| {
            e.set32(at(P_TYPE), PT_NULL);
        })
        .unwrap()
        .tls,
        None
    );
}

#[test]
fn stack_flags() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    assert!(!base.plan(Machine::X86_64).unwrap().exec_stack);
    let gs = base.ph(base.find(PT_GNU_STACK, 0));
    let mut e = base.clone();
    e.set32(gs + P_FLAGS, 7);
    assert!(e.plan(Machine::X86_64).unwrap().exec_stack);
    let mut e = base.clone();
    e.set32(gs + P_TYPE, PT_NULL);
    assert!(e.plan(Machine::X86_64).unwrap().exec_stack, "no PT_GNU_STACK means an executable stack");
}

#[test]
fn injected_interpreter() {
    let base = Elf::load(Flavour::GlibcStaticPie);
    let mut e = base.clone();
    let ph = e.ph(e.find(PT_NOTE, 0));
    // Point a PT_INTERP at a path we write over the end of the file.
    let path = b"/lib/ld-musl-x86_64.so.1\0";
    let off = e.b.len() as u64;
    e.b.extend_from_slice(path);
    e.set32(ph + P_TYPE, PT_INTERP).set64(ph + P_OFFSET, off).set64(ph + P_FILESZ, path.len() as u64);
    let err = e.plan(Machine::X86_64).unwrap_err();
    assert_eq!(err.to_string(), "dynamically linked (PT_INTERP /lib/ld-musl-x86_64.so.1); build it with -static-pie");
    // An unreadable or hostile interpreter string still gives a one-line message.
    for (off, size) in [(u64::MAX, 16), (off, u64::MAX), (0, 1 << 20)] {
        e.set64(ph + P_OFFSET, off).set64(ph + P_FILESZ, size);
        let msg = e.plan(Machine::X86_64).unwrap_err().to_string();
        assert!(msg.starts_with("dynamically linked (PT_INTERP ") && !msg.contains('\n'), "{msg}");
        assert!(msg.len() < 1200, "{msg}");
    }
}

/// xorshift64*: a small deterministic PRNG, so failures are reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn every_header_byte() {
    for f in [Flavour::GlibcStaticPie, Flavour::GlibcStatic, Flavour::Aarch64StaticPie] {
        let mut e = Elf::load(f);
        for i in 0..e.table_end() {
            let orig = e.b[i];
            for v in [0x00, 0xff, orig ^ 0x80, orig.wrapping_add(1), orig.wrapping_sub(1)] {
                e.b[i] = v;
                no_panic(&e.b, &|| format!("{f:?} byte {i} = {v:#x}"));
            }
            e.b[i] = orig;
        }
    }
}

#[test]
fn random_mutations() {
    let files: Vec<(Flavour, Elf)> =
        [Flavour::GlibcStaticPie, Flavour::GlibcStatic, Flavour::MuslStaticPie, Flavour::Aarch64StaticPie]
            .into_iter()
            .map(|f| (f, Elf::load(f)))
            .collect();
    let seed = 0x5eed_e1f1_u64;
    let mut rng = XorShift(seed);
    let (mut ok, mut err) = (0, 0);
    for iter in 0..5000 {
        let (f, base) = &files[iter % files.len()];
        let mut e = base.clone();
        let len = e.b.len();
        // Positions come from the intact file: the mutations may change e_phoff.
        let (table_end, phoff, phnum) = (base.table_end(), base.phoff(), base.phnum());
        for _ in 0..1 + rng.below(8) {
            match rng.below(10) {
                // A random byte in the headers.
                0..=4 => {
                    let i = rng.below(table_end);
                    e.b[i] = rng.next() as u8;
                }
                // An interesting value over an 8-byte program header field.
                5..=7 => {
                    let field = phoff + 8 * rng.below(7 * phnum);
                    let v = [0, 1, 0xfff, 0x1000, len as u64, len as u64 - 1, u64::MAX, 1 << 47, 1 << 63, rng.next()]
                        [rng.below(10)];
                    if field + 8 <= len {
                        e.set64(field, v);
                    }
                }
                // A p_type or e_* field from a small set.
                8 => {
                    let i = base.ph(rng.below(phnum));
                    let t = [PT_NULL, PT_LOAD, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS, PT_GNU_STACK, 2][rng.below(8)];
                    e.set32(i + P_TYPE, t);
                }
                // A random byte anywhere.
                _ => {
                    let i = rng.below(len);
                    e.b[i] ^= 1 << rng.below(8);
                }
            }
        }
        let cut = if rng.below(8) == 0 { rng.below(len + 1) } else { len };
        no_panic(&e.b[..cut], &|| format!("{f:?} seed {seed:#x} iteration {iter}"));
        match e.plan(Machine::X86_64).or_else(|_| e.plan(Machine::Aarch64)) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    eprintln!("random mutations: {ok} plans, {err} errors");
    // Both outcomes must occur, or the mutations are not exercising anything.
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}

#[test]
fn segments_may_share_a_page() {
    // Only byte ranges must be disjoint: the last page of one segment may hold the
    // start of the next (the kernel then maps that page with both contents).
    let base = Elf::load(Flavour::GlibcStaticPie);
    let (l2, l3) = (base.find(PT_LOAD, 2), base.find(PT_LOAD, 3));
    let end2 = base.u64(base.ph(l2) + P_VADDR) + base.u64(base.ph(l2) + P_MEMSZ);
    let start3 = (end2 & !0xfff) | off_low(&base, l3);
    assert!(start3 >= end2, "fixture layout changed: {end2:#x} {start3:#x}");
    let mut e = base.clone();
    e.set64(e.ph(l3) + P_VADDR, start3);
    let p = e.plan(Machine::X86_64).unwrap();
    assert_eq!(p.segments[3].vaddr, start3);
    assert_eq!((p.segments[2].vaddr + p.segments[2].memsz - 1) >> 12, start3 >> 12);
    check_invariants(&p, &e.b, Machine::X86_64);
    // One byte lower and they overlap.
    let mut e = base.clone();
    e.set64(e.ph(l3) + P_VADDR, end2 - 1);
    e.set64(e.ph(l3) + P_OFFSET, base.u64(base.ph(l3) + P_OFFSET) - off_low(&base, l3) + ((end2 - 1) & 0xfff));
    assert_eq!(e.plan(Machine::X86_64).unwrap_err(), LoadError::Overlap { index: l3, prev: l2 });
}
