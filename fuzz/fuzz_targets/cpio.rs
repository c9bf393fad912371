//! The kernel's `cpio newc` reader (kernel/src/fs/cpio.rs, included by path: it is
//! pure `core` code) on any bytes: it never panics and every entry it returns lies
//! inside the archive. Then a round trip: entries made from the input, written by the
//! CLI's writer (run-scripts/src/cpio.rs, included by path), must read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../kernel/src/fs/cpio.rs"]
mod kcpio;

#[allow(dead_code)]
#[path = "../../run-scripts/src/cpio.rs"]
mod writer;

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    // 1. The reader on raw bytes.
    for entry in kcpio::Reader::new(data).take(100_000) {
        match entry {
            Ok(e) => assert!(within(data, e.name) && within(data, e.data)),
            Err(e) => assert!(!e.to_string().contains('\n')),
        }
    }

    // 2. Round trip: the input describes entries as `kind name 0x00 content 0xff ...`.
    let mut w = writer::Writer::new(Vec::new());
    let mut expect: Vec<(Vec<u8>, u32, Vec<u8>)> = Vec::new();
    for (i, rec) in data.split(|&b| b == 0xff).enumerate().take(64) {
        let Some((&kind, rest)) = rec.split_first() else { continue };
        let (name, content) = match rest.iter().position(|&b| b == 0) {
            Some(n) => (&rest[..n], &rest[n + 1..]),
            None => (rest, &[][..]),
        };
        let mtime = i as u32 * 7;
        let (r, mode, body) = match kind % 3 {
            0 => (w.dir(name, 0o755, mtime), writer::S_IFDIR | 0o755, Vec::new()),
            1 => {
                let mut c = content;
                (w.file(name, 0o644, mtime, content.len() as u64, &mut c), writer::S_IFREG | 0o644, content.to_vec())
            }
            _ => (w.symlink(name, content, mtime), writer::S_IFLNK | 0o777, content.to_vec()),
        };
        match r {
            Ok(()) => expect.push((name.to_vec(), mode, body)),
            // Refused (a NUL in the name, or the end marker's name): nothing was
            // written, nothing expected.
            Err(_) => assert!(name.contains(&0) || name == b"TRAILER!!!", "the writer refused {name:?}"),
        }
    }
    let archive = match w.finish() {
        Ok(a) => a,
        Err(e) => panic!("finish: {e}"),
    };
    let got: Vec<(Vec<u8>, u32, Vec<u8>)> = kcpio::Reader::new(&archive)
        .map(|e| match e {
            Ok(e) => (e.name.to_vec(), e.mode, e.data.to_vec()),
            Err(e) => panic!("the kernel cannot read what the CLI wrote: {e}"),
        })
        .collect();
    assert_eq!(got, expect, "round trip");
});
