//! Guest tests of memory management (issue 4): the mmap family, faults, the
//! /proc/self/maps layout, frame leaks and overcommit. Each probe is built with
//! glibc and with musl (static-pie-apps/src/mm_*.c); the guest run must match
//! the native run of the same binary.

use elfin_tests::*;

const ARCH: &str = "x86_64";

/// Every call and edge case of mm_probe.c: same stdout, stderr and status.
fn mm_probe(libc: &str) {
    let bin = app(ARCH, libc, "mm_probe");
    let (_, guest) = differential(&bin, &["/tmp"], &[], None);
    let out = guest.stdout_str();
    assert!(out.contains("== limits\n"), "the probe did not get to its end:\n{}", guest.describe());
}

/// /proc/self/maps has the same VMAs as natively (rights, names, the program's
/// segments with their sizes and file offsets), compared as sorted lists since
/// Linux ≥ 6 puts an interpreter-less PIE in the mmap area (elfin: at
/// ELF_ET_DYN_BASE, below its brk). [vvar]/[vdso]/[vsyscall] are not compared:
/// elfin has none.
fn maps_layout(libc: &str) {
    let bin = app(ARCH, libc, "mm_probe");
    let a = args(&["--maps"]);
    let native = run_native(&bin, None, &a, &[], None);
    let guest = run_elfin(&bin, &a, &ElfinOpts::default());
    let sorted = |o: &Output| {
        let mut l: Vec<String> = o.stdout_str().lines().map(str::to_owned).collect();
        l.sort();
        l.join("\n")
    };
    let (n, g) = (sorted(&native), sorted(&guest));
    Comparison::new()
        .status(native.status, guest.status)
        .text("sorted /proc/self/maps structure", &n, &g)
        .check(g.contains("rw-p [stack]"), "no [stack] line")
        .check(g.contains("r-xp exe "), "no executable segment named after the program")
        .finish(Some(&native), &guest);
}

/// One bad access per mode: the program prints what it is about to do, then dies
/// by the same signal as natively (139 SIGSEGV, 135 SIGBUS).
fn faults(libc: &str) {
    let bin = app(ARCH, libc, "mm_fault");
    for (mode, status, sig) in [
        ("write-ro", 139, "SIGSEGV"),
        ("read-none", 139, "SIGSEGV"),
        ("exec-nx", 139, "SIGSEGV"),
        ("unmapped", 139, "SIGSEGV"),
        ("guard", 139, "SIGSEGV"),
        ("after-eof", 135, "SIGBUS"),
        ("stack-overflow", 139, "SIGSEGV"),
        ("ok", 0, ""),
    ] {
        let (native, guest) = differential(&bin, &[mode], &[], None);
        assert_eq!(native.status, status, "native {mode}:\n{}", native.describe());
        if !sig.is_empty() {
            assert!(guest.kernel_str().contains(&format!("killed by {sig}")), "{mode}:\n{}", guest.describe());
        }
    }
}

/// A million random mmap/munmap/mprotect/mremap/madvise/brk operations with data
/// checks; afterwards every frame is free again.
fn stress_no_leak(libc: &str) {
    let bin = app(ARCH, libc, "mm_stress");
    let rounds = "1000000";
    let native = run_native(&bin, None, &args(&[rounds]), &[], None);
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&[rounds]), &opts);
    assert_same(&native, &guest);
    let (after, before) = frames_report(&guest);
    assert_eq!(
        after,
        before,
        "frames leaked: {} ({} free after exit, {before} before load)",
        before as i64 - after as i64,
        after
    );
}

/// The frame count is also exact after the probe that uses every call (file
/// mappings, shared page cache, PROT_NONE pages, mremap moves).
fn probe_no_leak(libc: &str) {
    let bin = app(ARCH, libc, "mm_probe");
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&["/tmp"]), &opts);
    assert_eq!(guest.status, 0, "{}", guest.describe());
    let (after, before) = frames_report(&guest);
    assert_eq!(after, before, "frames leaked after mm_probe");
}

/// malloc(1 GiB) in a 256 MiB VM, touching one page in 4096: reserved lazily.
fn malloc_1g_in_256m(libc: &str) {
    let bin = app(ARCH, libc, "mm_malloc");
    let native = run_native(&bin, None, &[], &[], None);
    let opts = ElfinOpts { extra: vec!["-m".into(), "256M".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &[], &opts);
    assert_same(&native, &guest);
    assert!(guest.stdout_str().starts_with("malloc(1024 MiB) ok"), "{}", guest.describe());
}

/// Touching more than the VM has kills the program with an out-of-memory report;
/// the kernel stays up, frees everything and reports the status (137, SIGKILL).
fn out_of_memory_kills(libc: &str) {
    let bin = app(ARCH, libc, "mm_malloc");
    // 200 MiB passes the overcommit check of a 64 MiB VM; touching all of it cannot work.
    let opts = ElfinOpts {
        extra: vec!["-m".into(), "64M".into(), "--log-level".into(), "info".into()],
        ..ElfinOpts::default()
    };
    let guest = run_elfin(&bin, &args(&["200", "all"]), &opts);
    assert_eq!(guest.status, 137, "{}", guest.describe());
    assert!(guest.kernel_str().contains("out of memory"), "{}", guest.describe());
    let (after, before) = frames_report(&guest);
    assert_eq!(after, before, "frames leaked after the out-of-memory kill");
}

/// The page faults mm_around's `faults` mode reports for reading its 40 pages:
/// one per 64 KiB window they touch, 3 or 4 as the mapping's address falls.
fn faults_for_40_pages(guest: &Output) -> u64 {
    let s = guest.stdout_str();
    let n = s.strip_prefix("faults ").and_then(|r| r.strip_suffix(" for 40 pages\n"));
    n.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no fault count:\n{}", guest.describe()))
}

/// Mappings of a file already in memory (mm_around.c): fault-around maps the
/// pages around a read fault, and they show the file's bytes, follow write(2)
/// until written, and keep MAP_PRIVATE writes (also after fork, mprotect and
/// mremap) out of the file and every other mapping; the frame count is exact
/// afterwards. Reading 40 pages takes one fault per 64 KiB window.
fn fault_around(libc: &str) {
    let bin = file_probe(libc, "mm_around");
    let guest = run_elfin(&bin, &args(&["/tmp", "faults"]), &ElfinOpts::default());
    assert!(faults_for_40_pages(&guest) <= 4, "{}", guest.describe());
}

/// Mappings of files that then shrink (mm_trunc.c): pages wholly beyond the new
/// end raise SIGBUS through shared and private mappings, private copies included,
/// also in a child forked afterwards; the partial last page reads zeros past the
/// end; growing the file brings the pages back. After ftruncate, truncate and
/// O_TRUNC; the frame count is exact afterwards.
fn file_truncate(libc: &str) {
    file_probe(libc, "mm_trunc");
}

/// Runs the file-mapping probe `probe` on /tmp natively and in the guest: the
/// outputs agree, it finishes, and no frame is left over. Returns its path.
fn file_probe(libc: &str, probe: &str) -> std::path::PathBuf {
    let bin = app(ARCH, libc, probe);
    let native = run_native(&bin, None, &args(&["/tmp"]), &[], None);
    let opts = ElfinOpts { extra: vec!["--log-level".into(), "info".into()], ..ElfinOpts::default() };
    let guest = run_elfin(&bin, &args(&["/tmp"]), &opts);
    assert_same(&native, &guest);
    assert!(guest.stdout_str().ends_with("done\n"), "{}", guest.describe());
    let (after, before) = frames_report(&guest);
    assert_eq!(after, before, "frames leaked after {probe}");
    bin
}

macro_rules! per_libc {
    ($($name:ident),* $(,)?) => {
        mod glibc { $( #[test] fn $name() { super::$name("glibc") } )* }
        mod musl { $( #[test] fn $name() { super::$name("musl") } )* }
    };
}

per_libc!(
    mm_probe,
    maps_layout,
    faults,
    stress_no_leak,
    probe_no_leak,
    malloc_1g_in_256m,
    out_of_memory_kills,
    fault_around,
    file_truncate,
);
