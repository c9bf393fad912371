//! /proc: files whose content is generated from the process when opened, in
//! Linux's exact text formats.
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::mem::vm::{Backing, VmaName};
use crate::proc::Process;

/// Generated /proc files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    /// /proc/<pid>/maps.
    Maps,
    /// /proc/<pid>/smaps_rollup.
    SmapsRollup,
    /// /proc/<pid>/cmdline.
    Cmdline,
    /// /proc/<pid>/environ.
    Environ,
    /// /proc/<pid>/status.
    Status,
    /// /proc/meminfo.
    Meminfo,
}

/// Device number shown for ramfs files ("00:10" in maps).
const RAMFS_DEV: (u32, u32) = (0, 0x10);

/// Generates the content of a /proc file for process `p`.
pub fn generate(f: ProcFile, p: &Process) -> Vec<u8> {
    let mut s = String::new();
    match f {
        ProcFile::Maps => maps(p, &mut s),
        ProcFile::SmapsRollup => smaps_rollup(p, &mut s),
        ProcFile::Cmdline => return join_nul(&p.argv),
        ProcFile::Environ => return join_nul(&p.envp),
        ProcFile::Status => status(p, &mut s),
        ProcFile::Meminfo => meminfo(&mut s),
    }
    s.into_bytes()
}

fn join_nul(v: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in v {
        out.extend_from_slice(a);
        out.push(0);
    }
    out
}

/// Linux's `vma_is_initial_heap`: an anonymous VMA overlapping [start_brk, brk).
fn is_heap(p: &Process, start: u64, end: u64, area: &crate::mem::vm::Area) -> bool {
    matches!(area.backing, Backing::Anon) && !area.shared && start < p.aspace.brk && end > p.aspace.brk_start
}

/// Device and inode shown for shared anonymous memory (shmem's "/dev/zero (deleted)").
const SHMEM_DEV: (u32, u32) = (0, 1);

fn maps(p: &Process, s: &mut String) {
    for r in p.aspace.vmas.iter() {
        let v = r.val;
        let (off, dev, ino) = match &v.backing {
            Backing::File { node, offset, .. } => (*offset, RAMFS_DEV, node.ino),
            Backing::Anon if v.shared => (0, SHMEM_DEV, r.start >> 12),
            Backing::Anon => (0, (0, 0), 0),
        };
        let line = s.len();
        let _ = write!(
            s,
            "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
            r.start,
            r.end,
            if v.prot.read { 'r' } else { '-' },
            if v.prot.write { 'w' } else { '-' },
            if v.prot.exec { 'x' } else { '-' },
            if v.shared { 's' } else { 'p' },
            off,
            dev.0,
            dev.1,
            ino
        );
        let name: Option<&[u8]> = match &v.name {
            _ if is_heap(p, r.start, r.end, v) => Some(b"[heap]"),
            VmaName::Stack => Some(b"[stack]"),
            VmaName::Path(path) => Some(path),
            VmaName::None if v.shared && matches!(v.backing, Backing::Anon) => Some(b"/dev/zero (deleted)"),
            VmaName::None => None,
        };
        if let Some(name) = name {
            // seq_pad: the name starts at column 73 on 64-bit.
            while s.len() - line < 73 {
                s.push(' ');
            }
            s.push_str(&String::from_utf8_lossy(name));
        }
        s.push('\n');
    }
}

/// Sizes in kB of what is committed: (anonymous, file-backed private, shared file).
fn rss(p: &Process) -> (u64, u64, u64) {
    let (mut anon, mut file, mut shmem) = (0u64, 0u64, 0u64);
    for r in p.aspace.vmas.iter() {
        let mut va = r.start;
        while va < r.end {
            if p.aspace.is_committed(va) {
                match (&r.val.backing, r.val.shared) {
                    (Backing::Anon, false) => anon += 4,
                    (Backing::Anon, true) => shmem += 4,
                    (Backing::File { .. }, false) => file += 4,
                    (Backing::File { .. }, true) => shmem += 4,
                }
            }
            va += 4096;
        }
    }
    (anon, file, shmem)
}

fn smaps_rollup(p: &Process, s: &mut String) {
    let (rss_anon, rss_file, rss_shared) = rss(p);
    let first = p.aspace.vmas.iter().next().map(|r| r.start).unwrap_or(0);
    let last = p.aspace.vmas.iter().next_back().map(|r| r.end).unwrap_or(0);
    let head = alloc::format!("{:08x}-{:08x} ---p 00000000 00:00 0", first, last);
    let _ = writeln!(s, "{:<72} [rollup]", head);
    // Private file pages are copies made on first access; they count as file pages
    // (clean), private anonymous pages as dirty, shared file pages as shared file.
    let rss = rss_anon + rss_file + rss_shared;
    for (k, val) in [
        ("Rss", rss),
        ("Pss", rss),
        ("Pss_Dirty", rss_anon),
        ("Pss_Anon", rss_anon),
        ("Pss_File", rss_file + rss_shared),
        ("Pss_Shmem", 0),
        ("Shared_Clean", 0),
        ("Shared_Dirty", 0),
        ("Private_Clean", rss_file + rss_shared),
        ("Private_Dirty", rss_anon),
        ("Referenced", rss),
        ("Anonymous", rss_anon),
        ("KSM", 0),
        ("LazyFree", 0),
        ("AnonHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FilePmdMapped", 0),
        ("Shared_Hugetlb", 0),
        ("Private_Hugetlb", 0),
        ("Swap", 0),
        ("SwapPss", 0),
        ("Locked", 0),
    ] {
        let _ = writeln!(s, "{:<16}{:>8} kB", alloc::format!("{}:", k), val);
    }
}

fn status(p: &Process, s: &mut String) {
    let name = p.exe.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    let name = String::from_utf8_lossy(name.get(..name.len().min(15)).unwrap_or(&[]));
    let vm = p.aspace.total_vm / 1024;
    let (a, f, sh) = rss(p);
    let rss = a + f + sh;
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\tR (running)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t0\nTracerPid:\t0\n\
         Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t{vm:>8} kB\nVmSize:\t{vm:>8} kB\n\
         VmRSS:\t{rss:>8} kB\nThreads:\t1\nSigBlk:\t{:016x}\nCpus_allowed:\t1\nCpus_allowed_list:\t0\n",
        name,
        p.umask,
        crate::sched::with_current(|t| t.sigmask),
        pid = p.pid,
        vm = vm,
        rss = rss
    );
}

fn meminfo(s: &mut String) {
    let total = crate::mem::frames::total_count() as u64 * 4;
    let free = crate::mem::frames::free_count() as u64 * 4;
    for (k, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
    ] {
        let _ = writeln!(s, "{:<16}{:>8} kB", alloc::format!("{}:", k), v);
    }
}
