//! `elfin_loader::plan` on any bytes, for both machines: it never panics, and when it
//! accepts a file the plan keeps the promises `LoadPlan` documents and that
//! kernel/src/exec.rs relies on when it maps the program with plain arithmetic:
//! file ranges inside the file, sorted non-overlapping segments, page-congruent
//! offsets, entry and program headers inside the image, and a bias from
//! `choose_bias` that keeps the image in the user range without overflowing.
#![no_main]

use elfin_loader::{choose_bias, plan, ElfKind, LoadPlan, Machine, MAX_ALIGN, MAX_SPAN, MIN_EXEC_ADDR, PAGE_SIZE};
use libfuzzer_sys::fuzz_target;

fn check(file: &[u8], machine: Machine, p: &LoadPlan) {
    assert_eq!(p.machine, machine);
    assert_eq!(p.phent, 56, "AT_PHENT");
    assert!(p.max_align.is_power_of_two() && (PAGE_SIZE..=MAX_ALIGN).contains(&p.max_align), "{p:?}");
    assert!(!p.segments.is_empty(), "a plan without segments");
    let mut prev_end = 0u64;
    for (i, s) in p.segments.iter().enumerate() {
        assert!(s.memsz > 0, "empty segment {i}: {p:?}");
        assert!(s.filesz <= s.memsz, "segment {i}: filesz > memsz");
        let file_end = s.offset.checked_add(s.filesz).expect("offset + filesz overflows");
        assert!(file_end <= file.len() as u64, "segment {i} reads past the file");
        assert_eq!(s.offset % PAGE_SIZE, s.vaddr % PAGE_SIZE, "segment {i}: offset not congruent to vaddr");
        let end = s.vaddr.checked_add(s.memsz).expect("vaddr + memsz overflows");
        assert!(end.checked_next_multiple_of(PAGE_SIZE).is_some(), "segment {i}: end rounds past 2^64");
        if i > 0 {
            assert!(s.vaddr >= prev_end, "segment {i} overlaps or is out of order: {p:?}");
        }
        if p.kind == ElfKind::StaticExec {
            assert!(s.vaddr >= MIN_EXEC_ADDR, "ET_EXEC segment {i} below MIN_EXEC_ADDR");
        }
        assert!(end <= machine.user_end(), "segment {i} ends past the user range");
        prev_end = end;
    }
    let first = &p.segments[0];
    assert_eq!(p.lowest, first.vaddr / PAGE_SIZE * PAGE_SIZE);
    assert_eq!(p.highest, prev_end.next_multiple_of(PAGE_SIZE));
    assert!(p.highest - p.lowest <= MAX_SPAN);
    assert!((p.lowest..p.highest).contains(&p.entry), "entry outside the image: {p:?}");
    assert!(
        p.segments.iter().any(|s| s.prot.exec && (s.vaddr..s.vaddr + s.memsz).contains(&p.entry)),
        "entry not in an executable segment"
    );
    let table = u64::from(p.phnum) * 56;
    assert!(p.phdr_vaddr >= p.lowest && p.phdr_vaddr + table <= p.highest, "program headers outside the image");
    if let Some(t) = p.tls {
        assert!(t.align.is_power_of_two(), "TLS align {t:?}");
        assert!(t.filesz <= t.memsz, "TLS filesz > memsz");
    }
    for random in [0, u64::MAX, 0x1234_5678_9abc_def0, p.entry.rotate_left(17)] {
        for aslr in [false, true] {
            let bias = choose_bias(p, random, aslr);
            assert_eq!(bias % PAGE_SIZE, 0, "bias not page-aligned");
            if p.kind == ElfKind::StaticExec {
                assert_eq!(bias, 0, "ET_EXEC moved");
            }
            let hi = bias.checked_add(p.highest).expect("bias + highest overflows");
            assert!(hi <= machine.user_end(), "image past the user range: bias {bias:#x} {p:?}");
            // What exec.rs computes without checks.
            for s in &p.segments {
                let start = bias + s.vaddr;
                let _ = (start + s.memsz).next_multiple_of(PAGE_SIZE);
                let _ = (start + s.filesz).next_multiple_of(PAGE_SIZE);
                let delta = start % PAGE_SIZE;
                assert!(s.offset >= delta, "offset - delta underflows");
            }
            let _ = bias + p.entry;
            let _ = bias + p.phdr_vaddr;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for machine in [Machine::X86_64, Machine::Aarch64] {
        match plan(data, machine) {
            Ok(p) => check(data, machine, &p),
            Err(e) => {
                // The message is what a user sees: one line.
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "{msg}");
            }
        }
    }
});
