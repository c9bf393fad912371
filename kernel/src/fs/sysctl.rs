//! /proc/sys: the kernel's tunables under Linux's names. Each file shows the
//! value elfin works with (a limit it enforces, a name it reports); the
//! writable ones change that value. Programs read many of them at start-up
//! (Go reads `net/core/somaxconn`, redis `vm/overcommit_memory`, libcap
//! `kernel/cap_last_cap`, many `kernel/random/uuid`).
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use elfin_shim::errno::Errno;

/// Sets a value from what was written to its file.
pub type Setter = fn(&[u8]) -> Result<(), Errno>;

/// How a file is read and, if it is writable, written.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Its content now.
    pub read: fn() -> String,
    /// Takes what was written (root only), or None for a read-only file.
    pub write: Option<Setter>,
}

/// A node of the tree: its path below /proc/sys and, for a file, its entry.
pub type Node = (&'static str, Option<Entry>);

const fn ro(read: fn() -> String) -> Option<Entry> {
    Some(Entry { read, write: None })
}

const fn rw(read: fn() -> String, write: Setter) -> Option<Entry> {
    Some(Entry { read, write: Some(write) })
}

/// Every node, directories first in each directory's listing order; index 0 is
/// /proc/sys itself.
pub static NODES: &[Node] = &[
    ("", None),
    ("fs", None),
    ("fs/aio-max-nr", ro(|| line(crate::syscall::aio::AIO_MAX_NR))),
    ("fs/aio-nr", ro(|| line(crate::syscall::aio::aio_nr()))),
    ("fs/file-max", ro(|| line(i64::MAX))),
    ("fs/inotify", None),
    ("fs/inotify/max_queued_events", ro(|| line(crate::fs::inotify::MAX_QUEUED))),
    ("fs/inotify/max_user_watches", ro(|| line(crate::fs::inotify::MAX_WATCHES))),
    ("fs/mqueue", None),
    ("fs/mqueue/msg_default", ro(|| line(crate::fs::mqueue::MSG_DEFAULT))),
    ("fs/mqueue/msg_max", ro(|| line(crate::fs::mqueue::MSG_MAX))),
    ("fs/mqueue/msgsize_default", ro(|| line(crate::fs::mqueue::MSGSIZE_DEFAULT))),
    ("fs/mqueue/msgsize_max", ro(|| line(crate::fs::mqueue::MSGSIZE_MAX))),
    ("fs/nr_open", ro(|| line(crate::fs::file::NR_OPEN))),
    ("fs/pipe-max-size", rw(|| line(pipe_max_size()), write_pipe_max_size)),
    ("kernel", None),
    ("kernel/cap_last_cap", ro(|| line(crate::task::caps::CAP_LAST_CAP))),
    ("kernel/domainname", rw(|| text(&crate::uts::domainname()), |b| set_name(b, false))),
    ("kernel/hostname", rw(|| text(&crate::uts::hostname()), |b| set_name(b, true))),
    ("kernel/msgmax", ro(|| line(crate::ipc::msg::MSGMAX))),
    ("kernel/msgmnb", ro(|| line(crate::ipc::msg::MSGMNB))),
    ("kernel/msgmni", ro(|| line(crate::ipc::msg::MSGMNI))),
    ("kernel/ngroups_max", ro(|| line(65536))),
    ("kernel/osrelease", ro(|| text(crate::syscall::RELEASE.as_bytes()))),
    ("kernel/ostype", ro(|| text(b"Linux"))),
    ("kernel/overflowgid", ro(|| line(65534))),
    ("kernel/overflowuid", ro(|| line(65534))),
    ("kernel/pid_max", rw(|| line(crate::task::table::pid_max()), write_pid_max)),
    ("kernel/random", None),
    ("kernel/random/boot_id", ro(boot_id)),
    ("kernel/random/entropy_avail", ro(|| line(256))),
    ("kernel/random/poolsize", ro(|| line(256))),
    ("kernel/random/uuid", ro(|| uuid(&mut random16()))),
    ("kernel/randomize_va_space", ro(|| line(if crate::task::exec::ASLR.load(Ordering::Relaxed) { 2 } else { 0 }))),
    ("kernel/sem", ro(sem)),
    ("kernel/shmall", ro(|| line(crate::ipc::shm::SHMALL))),
    ("kernel/shmmax", ro(|| line(crate::ipc::shm::SHMMAX))),
    ("kernel/shmmni", ro(|| line(crate::ipc::shm::SHMMNI))),
    ("kernel/threads-max", ro(|| line(crate::task::fork::max_threads()))),
    ("kernel/version", ro(|| text(b"#1 SMP PREEMPT_DYNAMIC elfin"))),
    ("net", None),
    ("net/core", None),
    ("net/core/rmem_default", ro(|| line(crate::net::WMEM_DEFAULT))),
    ("net/core/rmem_max", ro(|| line(crate::net::MEM_MAX))),
    ("net/core/somaxconn", ro(|| line(crate::net::unix::SOMAXCONN))),
    ("net/core/wmem_default", ro(|| line(crate::net::WMEM_DEFAULT))),
    ("net/core/wmem_max", ro(|| line(crate::net::MEM_MAX))),
    ("net/ipv4", None),
    ("net/ipv4/ip_local_port_range", rw(port_range_text, write_port_range)),
    ("vm", None),
    ("vm/max_map_count", ro(|| line(crate::mem::vm::MAX_MAP_COUNT))),
    ("vm/mmap_min_addr", ro(|| line(crate::mem::vm::MMAP_MIN))),
    ("vm/overcommit_memory", ro(|| line(0))),
];

/// The children of directory node `dir`: (name, node index).
pub fn children(dir: usize) -> impl Iterator<Item = (&'static str, usize)> {
    let base = NODES.get(dir).map(|n| n.0).unwrap_or("");
    NODES.iter().enumerate().filter_map(move |(i, (p, _))| {
        let rest = if base.is_empty() { *p } else { p.strip_prefix(base)?.strip_prefix('/')? };
        (!rest.is_empty() && !rest.contains('/')).then_some((rest, i))
    })
}

fn line(v: impl core::fmt::Display) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{v}");
    s
}

fn text(b: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(b).into_owned();
    s.push('\n');
    s
}

fn sem() -> String {
    use crate::ipc::sem::{SEMMNI, SEMMNS, SEMMSL, SEMOPM};
    let mut s = String::new();
    let _ = writeln!(s, "{SEMMSL}\t{SEMMNS}\t{SEMOPM}\t{SEMMNI}");
    s
}

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    crate::rng::fill(&mut b);
    b
}

/// A version-4 UUID as Linux prints it.
fn uuid(b: &mut [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{x:02x}");
    }
    s.push('\n');
    s
}

fn boot_id() -> String {
    static ID: spin::Once<[u8; 16]> = spin::Once::new();
    let mut id = *ID.call_once(random16);
    uuid(&mut id)
}

/// The integers written to an integer file (Linux's proc_dointvec: blanks
/// between and around; anything else is EINVAL).
fn ints(b: &[u8]) -> Result<Vec<i64>, Errno> {
    let s = core::str::from_utf8(b).map_err(|_| Errno::EINVAL)?;
    let v: Result<Vec<i64>, _> = s.split_ascii_whitespace().map(str::parse::<i64>).collect();
    v.map_err(|_| Errno::EINVAL)
}

fn set_name(b: &[u8], host: bool) -> Result<(), Errno> {
    // proc_dostring: up to the first newline; longer than the field is cut.
    let end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len()).min(crate::syscall::sys::UTS_LEN);
    let name = b.get(..end).unwrap_or(&[]).to_vec();
    if host {
        crate::uts::set_hostname(name);
    } else {
        crate::uts::set_domainname(name);
    }
    Ok(())
}

static PIPE_MAX: AtomicUsize = AtomicUsize::new(crate::fs::pipe::PIPE_MAX_SIZE);

/// /proc/sys/fs/pipe-max-size: how large an unprivileged F_SETPIPE_SZ may make a pipe.
pub fn pipe_max_size() -> usize {
    PIPE_MAX.load(Ordering::Relaxed)
}

fn write_pipe_max_size(b: &[u8]) -> Result<(), Errno> {
    // Linux's proc_dopipe_max_size: rounded up to a power-of-two number of
    // pages; 0 and sizes past 2 GiB are EINVAL.
    let [v] = ints(b)?[..] else { return Err(Errno::EINVAL) };
    if v <= 0 || v > 1 << 31 {
        return Err(Errno::EINVAL);
    }
    PIPE_MAX.store((v as usize).max(4096).next_power_of_two(), Ordering::Relaxed);
    Ok(())
}

fn write_pid_max(b: &[u8]) -> Result<(), Errno> {
    // Linux's proc_dointvec_minmax between RESERVED_PIDS + 1 and PID_MAX_LIMIT.
    let [v] = ints(b)?[..] else { return Err(Errno::EINVAL) };
    if !(i64::from(elfin_kcore::pid::RESERVED) + 1..=i64::from(elfin_kcore::pid::PID_MAX)).contains(&v) {
        return Err(Errno::EINVAL);
    }
    crate::task::table::set_pid_max(v as i32);
    Ok(())
}

/// The ephemeral port range, low port in the high half.
static PORTS: AtomicU32 = AtomicU32::new(32768 << 16 | 60999);

/// /proc/sys/net/ipv4/ip_local_port_range: the ports bind(0) and connect pick from.
pub fn port_range() -> (u16, u16) {
    let v = PORTS.load(Ordering::Relaxed);
    ((v >> 16) as u16, v as u16)
}

fn port_range_text() -> String {
    let (lo, hi) = port_range();
    let mut s = String::new();
    let _ = writeln!(s, "{lo}\t{hi}");
    s
}

fn write_port_range(b: &[u8]) -> Result<(), Errno> {
    // Linux's ipv4_local_port_range: two ports, low <= high, the low one not
    // below the privileged ports (ip_unprivileged_port_start, 1024).
    let [lo, hi] = ints(b)?[..] else { return Err(Errno::EINVAL) };
    if !(1024..=65535).contains(&lo) || !(1..=65535).contains(&hi) || hi < lo {
        return Err(Errno::EINVAL);
    }
    PORTS.store((lo as u32) << 16 | hi as u32, Ordering::Relaxed);
    Ok(())
}
