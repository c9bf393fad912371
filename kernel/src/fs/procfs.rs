//! /proc: directories and files generated from the live processes, in Linux's
//! exact text formats. A process's file is generated when it is opened, a
//! system-wide one at its first read.
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use elfin_arch::PAGE_SIZE;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::StatInfo;
use elfin_shim::UAddr;

use super::file::{FileLike, OpenFile, O_PATH};
use super::{dtype_of, stat_of, sysctl, DirEntry, Inode, Meta};
use crate::mem::vm::{AddrSpace, Area, Backing, VmaName};
use crate::task::{self, table, Ctx, Process};

/// Device number of /proc.
/// Device number of /proc.
pub const PROC_DEV: u64 = 0x16;
/// Inode numbers of /proc entries live above this.
const INO_BASE: u64 = 1 << 40;

/// What a /proc node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Root,
    SelfLink,
    ThreadSelf,
    Meminfo,
    Uptime,
    Version,
    Loadavg,
    Mounts,
    Stat,
    Cpuinfo,
    /// /proc/sys and below: a node of [`sysctl::NODES`].
    Sys(u16),
    PidDir,
    TaskDir,
    FdDir,
    FdLink(i32),
    Exe,
    Cwd,
    RootLink,
    Cmdline,
    Environ,
    Comm,
    Maps,
    Smaps,
    SmapsRollup,
    PidStat,
    Statm,
    Status,
    Limits,
    PidMounts,
    Mountinfo,
    Cgroup,
    Auxv,
    OomScore,
    OomScoreAdj,
    UidMap,
    GidMap,
    Setgroups,
    Loginuid,
    Sessionid,
    CoredumpFilter,
    Personality,
    FdinfoDir,
    FdinfoFile(i32),
    Filesystems,
    NetDir,
    NetDev,
    NetIfInet6,
    NetRoute,
    /// A socket table (index in `net::proc::TABLES`).
    NetSock(u8),
    KernelCmdline,
    Devices,
    Diskstats,
    Partitions,
    Swaps,
    Vmstat,
    Io,
    TimerslackNs,
}

const ROOT_FILES: [(&[u8], Kind); 18] = [
    (b"cmdline", Kind::KernelCmdline),
    (b"devices", Kind::Devices),
    (b"diskstats", Kind::Diskstats),
    (b"partitions", Kind::Partitions),
    (b"swaps", Kind::Swaps),
    (b"vmstat", Kind::Vmstat),
    (b"self", Kind::SelfLink),
    (b"net", Kind::NetDir),
    (b"filesystems", Kind::Filesystems),
    (b"thread-self", Kind::ThreadSelf),
    (b"meminfo", Kind::Meminfo),
    (b"uptime", Kind::Uptime),
    (b"version", Kind::Version),
    (b"loadavg", Kind::Loadavg),
    (b"mounts", Kind::Mounts),
    (b"stat", Kind::Stat),
    (b"cpuinfo", Kind::Cpuinfo),
    (b"sys", Kind::Sys(0)),
];

const NET_FILES: [(&[u8], Kind); 3] =
    [(b"dev", Kind::NetDev), (b"if_inet6", Kind::NetIfInet6), (b"route", Kind::NetRoute)];

/// Everything in /proc/net: the files above and the socket tables.
fn net_files() -> impl Iterator<Item = (&'static [u8], Kind)> {
    let tables = crate::net::proc::TABLES.iter().enumerate().map(|(i, (n, _))| (*n, Kind::NetSock(i as u8)));
    NET_FILES.iter().copied().chain(tables)
}

const PID_FILES: [(&[u8], Kind); 32] = [
    (b"auxv", Kind::Auxv),
    (b"cgroup", Kind::Cgroup),
    (b"cmdline", Kind::Cmdline),
    (b"comm", Kind::Comm),
    (b"coredump_filter", Kind::CoredumpFilter),
    (b"cwd", Kind::Cwd),
    (b"environ", Kind::Environ),
    (b"exe", Kind::Exe),
    (b"fd", Kind::FdDir),
    (b"fdinfo", Kind::FdinfoDir),
    (b"gid_map", Kind::GidMap),
    (b"io", Kind::Io),
    (b"limits", Kind::Limits),
    (b"loginuid", Kind::Loginuid),
    (b"maps", Kind::Maps),
    (b"mountinfo", Kind::Mountinfo),
    (b"mounts", Kind::PidMounts),
    (b"net", Kind::NetDir),
    (b"oom_score", Kind::OomScore),
    (b"oom_score_adj", Kind::OomScoreAdj),
    (b"personality", Kind::Personality),
    (b"root", Kind::RootLink),
    (b"sessionid", Kind::Sessionid),
    (b"setgroups", Kind::Setgroups),
    (b"smaps", Kind::Smaps),
    (b"smaps_rollup", Kind::SmapsRollup),
    (b"stat", Kind::PidStat),
    (b"statm", Kind::Statm),
    (b"status", Kind::Status),
    (b"task", Kind::TaskDir),
    (b"timerslack_ns", Kind::TimerslackNs),
    (b"uid_map", Kind::UidMap),
];

/// A /proc node: its kind and the process (and thread) it is about.
struct Node {
    kind: Kind,
    pid: i32,
    tid: i32,
    /// Below /proc/PID/task/TID: about thread `tid` alone (its stat line), where
    /// /proc/PID is about the whole process.
    task: bool,
}

/// The /proc root directory.
pub fn root() -> Arc<dyn Inode> {
    Arc::new(Node { kind: Kind::Root, pid: 0, tid: 0, task: false })
}

fn node(kind: Kind, pid: i32, tid: i32) -> Arc<dyn Inode> {
    Arc::new(Node { kind, pid, tid, task: false })
}

/// A node below /proc/PID/task/TID.
fn task_node(kind: Kind, pid: i32, tid: i32) -> Arc<dyn Inode> {
    Arc::new(Node { kind, pid, tid, task: true })
}

fn kind_index(k: Kind) -> u64 {
    match k {
        Kind::FdLink(fd) => 0x100 + fd as u64,
        Kind::FdinfoFile(fd) => 0x80000 + fd as u64,
        Kind::Sys(i) => 0x80 + u64::from(i),
        Kind::NetSock(i) => 0x70 + u64::from(i),
        other => {
            let simple = [
                Kind::Root,
                Kind::SelfLink,
                Kind::ThreadSelf,
                Kind::Meminfo,
                Kind::Uptime,
                Kind::Version,
                Kind::Loadavg,
                Kind::Mounts,
                Kind::Stat,
                Kind::Cpuinfo,
                Kind::PidDir,
                Kind::TaskDir,
                Kind::FdDir,
                Kind::Exe,
                Kind::Cwd,
                Kind::RootLink,
                Kind::Cmdline,
                Kind::Environ,
                Kind::Comm,
                Kind::Maps,
                Kind::SmapsRollup,
                Kind::Smaps,
                Kind::PidStat,
                Kind::Statm,
                Kind::Status,
                Kind::Limits,
                Kind::PidMounts,
                Kind::Mountinfo,
                Kind::Cgroup,
                Kind::Auxv,
                Kind::OomScore,
                Kind::OomScoreAdj,
                Kind::FdinfoDir,
                Kind::Filesystems,
                Kind::NetDir,
                Kind::NetDev,
                Kind::NetIfInet6,
                Kind::NetRoute,
                Kind::UidMap,
                Kind::GidMap,
                Kind::Setgroups,
                Kind::Loginuid,
                Kind::Sessionid,
                Kind::CoredumpFilter,
                Kind::Personality,
                Kind::KernelCmdline,
                Kind::Devices,
                Kind::Diskstats,
                Kind::Partitions,
                Kind::Swaps,
                Kind::Vmstat,
                Kind::Io,
                Kind::TimerslackNs,
            ];
            simple.iter().position(|x| *x == other).unwrap_or(0) as u64 + 1
        }
    }
}

fn process(pid: i32) -> Result<Arc<Process>, Errno> {
    table::process(pid).ok_or(Errno::ENOENT)
}

fn caller() -> Option<Arc<task::Thread>> {
    task::sched::try_current()
}

impl Node {
    fn mode(&self) -> u32 {
        match self.kind {
            Kind::Root | Kind::PidDir | Kind::TaskDir | Kind::NetDir => S_IFDIR | 0o555,
            Kind::Sys(i) => match sysctl::NODES.get(usize::from(i)).and_then(|n| n.1) {
                None => S_IFDIR | 0o555,
                Some(e) if e.write.is_some() => S_IFREG | 0o644,
                Some(_) => S_IFREG | 0o444,
            },
            Kind::FdDir => S_IFDIR | 0o500,
            Kind::FdinfoDir => S_IFDIR | 0o555,
            Kind::SelfLink | Kind::ThreadSelf | Kind::Exe | Kind::Cwd | Kind::RootLink => S_IFLNK | 0o777,
            // As Linux: r-x for a file open for reading, -wx for writing.
            Kind::FdLink(fd) => {
                let flags = self.open_file(fd).map(|f| f.flags()).unwrap_or(0);
                let acc = if flags & O_PATH != 0 { 3 } else { flags & 3 };
                let read = if acc == 0 || acc == 2 { 0o500 } else { 0 };
                let write = if acc == 1 || acc == 2 { 0o300 } else { 0 };
                S_IFLNK | read | write
            }
            Kind::Environ | Kind::Auxv | Kind::Io | Kind::FdinfoFile(_) => S_IFREG | 0o400,
            Kind::OomScoreAdj | Kind::Comm => S_IFREG | 0o644,
            Kind::TimerslackNs => S_IFREG | 0o666,
            _ => S_IFREG | 0o444,
        }
    }

    fn child(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        match self.kind {
            Kind::Root => {
                if let Some((_, k)) = ROOT_FILES.iter().find(|(n, _)| *n == name) {
                    return Ok(node(*k, 0, 0));
                }
                let pid = parse_id(name)?;
                let p = process(pid)?;
                Ok(node(Kind::PidDir, p.pid, p.pid))
            }
            Kind::NetDir => match net_files().find(|(n, _)| *n == name) {
                Some((_, k)) => Ok(node(k, 0, 0)),
                None => Err(Errno::ENOENT),
            },
            Kind::Sys(i) if self.mode() & S_IFMT == S_IFDIR => {
                match sysctl::children(usize::from(i)).find(|(n, _)| n.as_bytes() == name) {
                    Some((_, c)) => Ok(node(Kind::Sys(c as u16), 0, 0)),
                    None => Err(Errno::ENOENT),
                }
            }
            Kind::PidDir => {
                process(self.pid)?;
                match PID_FILES.iter().find(|(n, _)| *n == name) {
                    // Inside task/<tid>, "task" itself does not exist.
                    Some((_, Kind::TaskDir)) if self.task => Err(Errno::ENOENT),
                    Some((_, k)) => Ok(self.below(*k)),
                    None => Err(Errno::ENOENT),
                }
            }
            Kind::TaskDir => {
                let tid = parse_id(name)?;
                let p = process(self.pid)?;
                if !p.threads.lock().iter().any(|t| t.tid() == tid) {
                    return Err(Errno::ENOENT);
                }
                Ok(task_node(Kind::PidDir, self.pid, tid))
            }
            Kind::FdDir | Kind::FdinfoDir => {
                let fd = parse_fd(name)?;
                self.open_file(fd)?;
                let k = if self.kind == Kind::FdDir { Kind::FdLink(fd) } else { Kind::FdinfoFile(fd) };
                Ok(self.below(k))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn list(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut out = Vec::new();
        let (task, tid) = (self.task, self.tid);
        let mut push = |name: Vec<u8>, k: Kind, pid: i32| {
            let n = Node { kind: k, pid, tid: if task { tid } else { pid }, task };
            out.push(DirEntry { ino: n.ino_value(), dtype: dtype_of(n.mode()), name });
        };
        match self.kind {
            Kind::Root => {
                for (n, k) in ROOT_FILES {
                    push(n.to_vec(), k, 0);
                }
                for p in table::processes() {
                    push(alloc::format!("{}", p.pid).into_bytes(), Kind::PidDir, p.pid);
                }
            }
            Kind::NetDir => {
                for (n, k) in net_files() {
                    push(n.to_vec(), k, 0);
                }
            }
            Kind::Sys(i) => {
                for (n, c) in sysctl::children(usize::from(i)) {
                    push(n.as_bytes().to_vec(), Kind::Sys(c as u16), 0);
                }
            }
            Kind::PidDir => {
                for (n, k) in PID_FILES {
                    if k == Kind::TaskDir && self.task {
                        continue;
                    }
                    push(n.to_vec(), k, self.pid);
                }
            }
            Kind::TaskDir => {
                let tids: Vec<i32> = process(self.pid)?.threads.lock().iter().map(|t| t.tid()).collect();
                for t in tids {
                    let n = Node { kind: Kind::PidDir, pid: self.pid, tid: t, task: true };
                    out.push(DirEntry {
                        ino: n.ino_value(),
                        dtype: dtype_of(n.mode()),
                        name: alloc::format!("{t}").into_bytes(),
                    });
                }
            }
            Kind::FdDir | Kind::FdinfoDir => {
                let files = process(self.pid)?.files();
                // Collected first: a link's mode looks at its descriptor again.
                let fds: Vec<i32> = files.lock().iter().map(|(fd, _)| fd).collect();
                for fd in fds {
                    let k = if self.kind == Kind::FdDir { Kind::FdLink(fd) } else { Kind::FdinfoFile(fd) };
                    push(alloc::format!("{}", fd).into_bytes(), k, self.pid);
                }
            }
            _ => return Err(Errno::ENOTDIR),
        }
        Ok(out)
    }

    fn ino_value(&self) -> u64 {
        match self.task {
            true => INO_BASE + (1 << 62) + ((self.tid as u64) << 20) + kind_index(self.kind),
            false => INO_BASE + ((self.pid as u64) << 20) + kind_index(self.kind),
        }
    }

    /// The node of kind `k` inside this directory of a process or thread.
    fn below(&self, k: Kind) -> Arc<dyn Inode> {
        Arc::new(Node { kind: k, pid: self.pid, tid: self.tid, task: self.task })
    }

    /// The open file behind descriptor `fd` of the node's process.
    fn open_file(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        process(self.pid)?.files().lock().get(fd).map_err(|_| Errno::ENOENT)
    }

    fn link(&self) -> Result<Vec<u8>, Errno> {
        match self.kind {
            Kind::SelfLink => Ok(alloc::format!("{}", caller().ok_or(Errno::ENOENT)?.process.pid).into_bytes()),
            Kind::ThreadSelf => {
                let t = caller().ok_or(Errno::ENOENT)?;
                Ok(alloc::format!("{}/task/{}", t.process.pid, t.tid()).into_bytes())
            }
            // Each path is taken out of its lock before `seen_path` takes the
            // reader's filesystem context (the same lock when reading itself).
            Kind::Exe => {
                let exe = process(self.pid)?.info.lock().exe.clone();
                Ok(seen_path(exe))
            }
            Kind::Cwd => {
                let cwd = process(self.pid)?.fs().lock().cwd.clone();
                Ok(seen_path(cwd))
            }
            Kind::RootLink => {
                let root = process(self.pid)?.fs().lock().root.clone();
                Ok(seen_path(root))
            }
            Kind::FdLink(fd) => {
                let f = process(self.pid)?.files().lock().get(fd).map_err(|_| Errno::ENOENT)?;
                let name = f.file.link_name(&f);
                Ok(seen_path(name))
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Node {
    /// Who owns the node: a process's entries belong to its effective user and
    /// group while it is dumpable, else to root (Linux's task_dump_owner); the
    /// rest to root.
    fn owner(&self) -> (u32, u32) {
        let Some(p) = (self.pid > 0).then(|| table::process(self.pid)).flatten() else { return (0, 0) };
        if p.info.lock().dumpable != 1 {
            return (0, 0);
        }
        let c = p.cred.lock();
        (c.uid[1], c.gid[1])
    }
}

/// A path as the reading process names it: relative to its root directory
/// (chroot) when inside it; other link texts (`pipe:[N]`) as they are.
fn seen_path(path: Vec<u8>) -> Vec<u8> {
    if path.first() != Some(&b'/') {
        return path;
    }
    let Some(t) = caller() else { return path };
    let root = t.process.fs().lock().root.clone();
    match crate::fs::in_root(&root, &path) {
        Some(p) => p,
        None => path,
    }
}

/// A descriptor number as /proc/PID/fd names it: "0" or digits without a
/// leading zero.
fn parse_fd(name: &[u8]) -> Result<i32, Errno> {
    if name == b"0" {
        return Ok(0);
    }
    parse_id(name)
}

fn parse_id(name: &[u8]) -> Result<i32, Errno> {
    if name.is_empty() || name.len() > 10 || !name.iter().all(|c| c.is_ascii_digit()) || name[0] == b'0' {
        return Err(Errno::ENOENT);
    }
    core::str::from_utf8(name).ok().and_then(|s| s.parse().ok()).ok_or(Errno::ENOENT)
}

impl Inode for Node {
    fn ino(&self) -> u64 {
        self.ino_value()
    }
    fn meta(&self) -> Meta {
        let boot = elfin_shim::uapi::Timespec::from_nanos(crate::time::boot_realtime_ns());
        let (uid, gid) = self.owner();
        Meta::at(self.mode(), uid, gid, boot)
    }
    fn file_type(&self) -> u32 {
        // The boot time in `meta` may calibrate the clock; a path walk needs none.
        self.mode() & S_IFMT
    }
    fn dev(&self) -> u64 {
        PROC_DEV
    }
    fn fixed_names(&self) -> Option<super::Fixed> {
        (self.mode() & S_IFMT == S_IFDIR).then_some(super::Fixed::Proc)
    }
    fn nlink(&self) -> u32 {
        if self.mode() & S_IFMT == S_IFDIR {
            2
        } else {
            1
        }
    }
    fn size(&self) -> u64 {
        match self.kind {
            // As Linux: 64 for a descriptor's link, the number of descriptors
            // for the fd directory, 0 for the other links and files.
            Kind::FdLink(_) => 64,
            Kind::FdDir => process(self.pid).map(|p| p.files().lock().iter().count() as u64).unwrap_or(0),
            _ => 0,
        }
    }
    fn blocks(&self) -> u64 {
        // procfs stores nothing: Linux reports no blocks, whatever the size.
        0
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        // PROC_SUPER_MAGIC, mounted rw,nosuid,nodev,noexec,relatime (/proc/mounts).
        use super::st::*;
        Some(super::pseudo_statfs(0x9fa0, NOSUID | NODEV | NOEXEC | RELATIME))
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.child(name)
    }
    fn open_to_caller(&self) -> bool {
        matches!(self.kind, Kind::FdDir | Kind::FdinfoDir) && caller().is_some_and(|t| t.process.pid == self.pid)
    }
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        self.list()
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.link()
    }
    fn truncate(&self, _size: u64) -> Result<(), Errno> {
        // O_TRUNC (`echo 1 > /proc/...`) and truncate(2) change nothing, as on
        // Linux (whose callers checked the rights); a read-only /proc/sys file
        // refuses even root.
        match self.kind {
            Kind::Sys(_) if self.mode() & 0o200 == 0 => Err(Errno::EACCES),
            _ => Ok(()),
        }
    }
    fn follow_magic(&self) -> Option<Arc<dyn Inode>> {
        let Kind::FdLink(fd) = self.kind else { return None };
        let f = table::process(self.pid)?.files().lock().get(fd).ok()?;
        // A filesystem file is the inode itself (linkat, chmod, stat act on it);
        // pipes, sockets and other anonymous files are their open file.
        match f.inode() {
            Some(node) => Some(node),
            None => Some(Arc::new(FdTarget { file: f })),
        }
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        if self.mode() & S_IFMT == S_IFDIR {
            return Ok(Arc::new(DirHandle { node: self }));
        }
        if flags & 3 != 0 && matches!(self.kind, Kind::OomScoreAdj | Kind::Comm | Kind::TimerslackNs) {
            process(self.pid)?;
            let writer = match self.kind {
                Kind::Comm => Writer::Comm,
                Kind::TimerslackNs => Writer::TimerSlack,
                _ => Writer::OomScoreAdj,
            };
            return Ok(Arc::new(WritableFile { node: self, writer }));
        }
        if flags & 3 != 0 && matches!(self.kind, Kind::Sys(_)) {
            // Only a writable /proc/sys file opens for writing, and only for
            // root (its mode is 0644, owned by root).
            let entry = match self.kind {
                Kind::Sys(i) => sysctl::NODES.get(usize::from(i)).and_then(|n| n.1),
                _ => None,
            };
            let root = caller().map(|t| t.process.cred.lock().uid[3] == 0).unwrap_or(true);
            return match entry {
                Some(e) if e.write.is_some() && root => {
                    Ok(Arc::new(WritableFile { node: self, writer: Writer::Sysctl(e) }))
                }
                _ => Err(Errno::EACCES),
            };
        }
        // Files are generated at the first read, as Linux's seq_file does: a
        // reader that opens first and looks at a clock, or allocates (a stdio
        // buffer), before reading sees the file agree with what it did. A process
        // or thread gone by the open is ENOENT, by the read ESRCH.
        if self.pid != 0 {
            let p = process(self.pid)?;
            if self.tid != 0 && self.tid != self.pid && thread_of(&p, self.tid).is_none() {
                return Err(Errno::ENOENT);
            }
        }
        Ok(Arc::new(Snapshot { node: self, data: spin::Once::new() }))
    }
}

/// Copies what `data` holds from `off` into `buf`; returns how much.
fn copy_at(data: &[u8], buf: &mut [u8], off: u64) -> usize {
    let avail = data.get(usize::try_from(off).unwrap_or(usize::MAX)..).unwrap_or(&[]);
    let n = avail.len().min(buf.len());
    buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(avail.get(..n).unwrap_or(&[]));
    n
}

/// read(2) at the file position of `f`, through the file's pread.
fn read_on(file: &dyn FileLike, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut pos = f.offset.lock();
    let n = file.pread(buf, *pos)?;
    *pos += n as u64;
    Ok(n)
}

/// What a writable /proc file does with a write.
#[derive(Clone, Copy)]
enum Writer {
    /// A /proc/sys file: each write at the start of the file sets the value.
    Sysctl(sysctl::Entry),
    /// /proc/PID/oom_score_adj.
    OomScoreAdj,
    /// /proc/PID/comm and /proc/PID/task/TID/comm: the thread's name.
    Comm,
    /// /proc/PID/timerslack_ns: the thread's timer slack.
    TimerSlack,
}

/// A writable /proc file, open for writing; reads show the value at the time
/// of the read.
struct WritableFile {
    node: Arc<Node>,
    writer: Writer,
}

impl WritableFile {
    /// Sets oom_score_adj from a write's bytes, as Linux: at most 12 bytes are
    /// looked at, a number in base 10, 16 (0x) or 8 (0) with blanks around it,
    /// from -1000 to 1000; going below the last privileged setting needs
    /// CAP_SYS_RESOURCE.
    fn set_oom_score_adj(&self, data: &[u8]) -> Result<(), Errno> {
        let text = core::str::from_utf8(data.get(..data.len().min(12)).unwrap_or(data)).map_err(|_| Errno::EINVAL)?;
        let value = parse_c_int(text.trim()).ok_or(Errno::EINVAL)?;
        if !(-1000..=1000).contains(&value) {
            return Err(Errno::EINVAL);
        }
        let p = process(self.node.pid).map_err(|_| Errno::ESRCH)?;
        let privileged = caller().is_none_or(|t| t.process.cred.lock().capable(task::caps::CAP_SYS_RESOURCE));
        let mut ext = p.ext.lock();
        if value < i32::from(ext.oom_score_adj_min) && !privileged {
            return Err(Errno::EACCES);
        }
        ext.oom_score_adj = value as i16;
        if privileged {
            ext.oom_score_adj_min = value as i16;
        }
        Ok(())
    }
    /// Sets the thread's timer slack from a decimal number (0: back to the
    /// default), as Linux's timerslack_ns_write: another process's needs
    /// CAP_SYS_NICE.
    fn set_timer_slack(&self, data: &[u8]) -> Result<(), Errno> {
        let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Errno::EINVAL);
        }
        let ns: u64 = text.parse().map_err(|_| Errno::ERANGE)?;
        let p = process(self.node.pid).map_err(|_| Errno::ESRCH)?;
        let t = thread_of(&p, self.node.tid).ok_or(Errno::ESRCH)?;
        let me = caller();
        let nice = me.as_ref().is_none_or(|c| c.process.cred.lock().capable(task::caps::CAP_SYS_NICE));
        if me.as_ref().is_some_and(|c| !Arc::ptr_eq(c, &t)) && !nice {
            return Err(Errno::EPERM);
        }
        t.misc.lock().ext.timer_slack = (ns != 0).then_some(ns);
        Ok(())
    }
    /// Names the thread from a write's first 15 bytes, as Linux's comm_write: only
    /// a thread of the writer's own process (else EINVAL).
    fn set_comm(&self, data: &[u8]) -> Result<(), Errno> {
        let p = process(self.node.pid).map_err(|_| Errno::ESRCH)?;
        if caller().is_some_and(|t| t.process.pid != p.pid) {
            return Err(Errno::EINVAL);
        }
        thread_of(&p, self.node.tid).ok_or(Errno::ESRCH)?.set_comm(data);
        Ok(())
    }
}

impl FileLike for WritableFile {
    fn read(&self, _cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        read_on(self, f, buf)
    }
    fn pread(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        Ok(copy_at(&generate(&self.node)?, buf, off))
    }
    fn write(&self, _cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let mut pos = f.offset.lock();
        match self.writer {
            // As Linux's sysctl_writes_strict: a write past the start changes nothing.
            Writer::Sysctl(e) => {
                if *pos == 0 {
                    if let Some(w) = e.write {
                        w(data)?;
                    }
                }
                *pos += data.len() as u64;
            }
            Writer::OomScoreAdj => self.set_oom_score_adj(data)?,
            Writer::Comm => self.set_comm(data)?,
            Writer::TimerSlack => self.set_timer_slack(data)?,
        }
        Ok(data.len())
    }
    fn seek(&self, f: &OpenFile, off: i64, whence: i32) -> Result<u64, Errno> {
        // SEEK_SET and SEEK_CUR: the file has no end.
        let new = match whence {
            0 => off,
            1 => (*f.offset.lock() as i64).checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        let new = u64::try_from(new).map_err(|_| Errno::EINVAL)?;
        *f.offset.lock() = new;
        Ok(new)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A C integer as kstrtoint(s, 0) reads it: an optional sign, then decimal,
/// 0x hexadecimal or 0 octal digits.
fn parse_c_int(s: &str) -> Option<i32> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// A directory of /proc, open.
struct DirHandle {
    node: Arc<Node>,
}

impl FileLike for DirHandle {
    fn read(&self, _cx: &Ctx, _f: &OpenFile, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn seek(&self, f: &OpenFile, off: i64, whence: i32) -> Result<u64, Errno> {
        if whence != 0 || off < 0 {
            return Err(Errno::EINVAL);
        }
        *f.offset.lock() = off as u64;
        Ok(off as u64)
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A generated /proc file, open: the content as it was at the first read.
struct Snapshot {
    node: Arc<Node>,
    data: spin::Once<Result<Vec<u8>, Errno>>,
}

impl Snapshot {
    fn data(&self) -> Result<&[u8], Errno> {
        let data =
            self.data.call_once(|| generate(&self.node).map_err(|e| if e == Errno::ENOENT { Errno::ESRCH } else { e }));
        data.as_deref().map_err(|&e| e)
    }
}

impl FileLike for Snapshot {
    fn read(&self, _cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        read_on(self, f, buf)
    }
    /// A file without a writer, opened for writing by root: as Linux, EIO for the
    /// system-wide ones (proc_reg_write), EINVAL for a process's (no write
    /// operation at all).
    fn write(&self, _cx: &Ctx, _f: &OpenFile, _data: &[u8]) -> Result<usize, Errno> {
        Err(if self.node.pid == 0 { Errno::EIO } else { Errno::EINVAL })
    }
    fn pread(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        Ok(copy_at(self.data()?, buf, off))
    }
    fn seek(&self, f: &OpenFile, off: i64, whence: i32) -> Result<u64, Errno> {
        let mut pos = f.offset.lock();
        let new = match whence {
            0 => off,
            1 => (*pos as i64).checked_add(off).ok_or(Errno::EINVAL)?,
            2 => (self.data()?.len() as i64).checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What /proc/<pid>/fd/N leads to for a file with no inode: the open file itself.
struct FdTarget {
    file: Arc<OpenFile>,
}

impl Inode for FdTarget {
    fn ino(&self) -> u64 {
        self.file.file.stat().ino
    }
    fn dev(&self) -> u64 {
        self.file.file.stat().dev
    }
    fn rdev(&self) -> u64 {
        self.file.file.stat().rdev
    }
    fn meta(&self) -> Meta {
        let st = self.file.file.stat();
        Meta {
            mode: st.mode,
            uid: st.uid,
            gid: st.gid,
            atime: st.atime,
            mtime: st.mtime,
            ctime: st.ctime,
            btime: st.btime,
        }
    }
    fn size(&self) -> u64 {
        self.file.file.stat().size as u64
    }
    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        // Pipes, the console and other anonymous files are the same object again,
        // as Linux reopens them.
        Ok(self.file.file.clone())
    }
}

/// Generates the content of a /proc file.
fn generate(n: &Node) -> Result<Vec<u8>, Errno> {
    let (kind, pid, tid) = (n.kind, n.pid, n.tid);
    let mut s = String::new();
    match kind {
        Kind::Meminfo => meminfo(&mut s),
        Kind::Uptime => {
            let ns = crate::time::monotonic_ns();
            let idle = crate::time::phases::IDLE_CYCLES.load(Ordering::Relaxed);
            let idle_ns = (u128::from(idle) * 1_000_000_000 / u128::from(crate::time::cycles_hz().max(1))) as u64;
            let _ = writeln!(
                s,
                "{}.{:02} {}.{:02}",
                ns / 1_000_000_000,
                (ns / 10_000_000) % 100,
                idle_ns / 1_000_000_000,
                (idle_ns / 10_000_000) % 100
            );
        }
        Kind::KernelCmdline => {
            s.push_str(&String::from_utf8_lossy(elfin_plat::saved_cmdline()));
            s.push('\n');
        }
        // The character devices /dev holds; no block devices (volumes are 9p).
        Kind::Devices => s.push_str(
            "Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n  5 /dev/ptmx\n136 pts\n\nBlock devices:\n",
        ),
        Kind::Diskstats => {}
        Kind::Partitions => s.push_str("major minor  #blocks  name\n\n"),
        Kind::Swaps => s.push_str("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"),
        Kind::Vmstat => {
            // No swap and no block device: nothing is paged in or out.
            let free = crate::mem::frames::free_count() as u64;
            let shmem = super::pages::used() as u64;
            for (k, v) in [
                ("nr_free_pages", free),
                ("nr_shmem", shmem),
                ("pgpgin", 0),
                ("pgpgout", 0),
                ("pswpin", 0),
                ("pswpout", 0),
                ("pgmajfault", 0),
            ] {
                let _ = writeln!(s, "{k} {v}");
            }
        }
        Kind::Version => {
            let _ = writeln!(s, "Linux version {} (elfin) #1 SMP PREEMPT_DYNAMIC elfin", crate::syscall::RELEASE);
        }
        Kind::Loadavg => {
            let avg = task::loadavg::averages().map(elfin_kcore::loadavg::two_decimals);
            let _ = writeln!(
                s,
                "{}.{:02} {}.{:02} {}.{:02} {}/{} {}",
                avg[0].0,
                avg[0].1,
                avg[1].0,
                avg[1].1,
                avg[2].0,
                avg[2].1,
                task::loadavg::runnable(),
                table::thread_count(),
                table::last_id()
            );
        }
        Kind::Mounts | Kind::PidMounts => {
            for m in mount_table() {
                let sep = if m.fs_opts.is_empty() { "" } else { "," };
                let _ =
                    writeln!(s, "{} {} {} {}{sep}{} 0 0", m.source, escape_path(&m.point), m.fstype, m.opts, m.fs_opts);
            }
        }
        Kind::Mountinfo => {
            for m in mount_table() {
                let (major, minor) = dev_numbers(m.dev);
                let _ = writeln!(
                    s,
                    "{} {} {major}:{minor} / {} {} - {} {} {}",
                    m.id,
                    m.parent,
                    escape_path(&m.point),
                    m.opts,
                    m.fstype,
                    m.source,
                    m.fs_super_opts()
                );
            }
        }
        Kind::NetDev => net_dev(&mut s),
        Kind::NetIfInet6 => {
            for i in crate::net::inet::interfaces() {
                for (a, prefix) in &i.addrs {
                    if let crate::net::inet::IpAddr::V6(b) = a {
                        for byte in b {
                            let _ = write!(s, "{byte:02x}");
                        }
                        // Scope: host (0x10) for ::1, link (0x20) for fe80::/10, global (0).
                        let scope = if i.loopback {
                            0x10
                        } else if b[0] == 0xfe && b[1] & 0xc0 == 0x80 {
                            0x20
                        } else {
                            0
                        };
                        let _ = writeln!(s, " {:02x} {prefix:02x} {scope:02x} 80 {:>8}", i.index, i.name);
                    }
                }
            }
        }
        Kind::NetRoute => net_route(&mut s),
        Kind::NetSock(i) => {
            if let Some((_, t)) = crate::net::proc::TABLES.get(usize::from(i)) {
                crate::net::proc::table(*t, &mut s);
            }
        }
        Kind::Filesystems => {
            for (nodev, name) in FILESYSTEMS {
                let _ = writeln!(s, "{}\t{name}", if nodev { "nodev" } else { "" });
            }
        }
        Kind::Stat => {
            // Per CPU: time busy (as user time) and idle, in USER_HZ ticks.
            let ticks = |ns: u64| ns / 10_000_000;
            let cpus: Vec<(u64, u64)> = (0..task::sched::online())
                .map(|c| {
                    let idle = crate::timer::idle_ns(c);
                    (crate::cpus::online_ns(c).saturating_sub(idle), idle)
                })
                .collect();
            let (busy, idle) = cpus.iter().fold((0, 0), |(b, i), &(cb, ci)| (b + cb, i + ci));
            let _ = writeln!(s, "cpu  {} 0 0 {} 0 0 0 0 0 0", ticks(busy), ticks(idle));
            for (c, &(b, i)) in cpus.iter().enumerate() {
                let _ = writeln!(s, "cpu{c} {} 0 0 {} 0 0 0 0 0 0", ticks(b), ticks(i));
            }
            let _ = write!(
                s,
                "intr 0\nctxt {}\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\n",
                crate::time::phases::SWITCHES.load(Ordering::Relaxed),
                crate::time::boot_realtime_ns() / 1_000_000_000,
                table::created(),
                task::loadavg::runnable()
            );
        }
        Kind::Cpuinfo => {
            let n = task::sched::online();
            for c in 0..n {
                let _ = write!(
                    s,
                    "processor\t: {c}\nmodel name\t: elfin virtual CPU ({})\nphysical id\t: 0\nsiblings\t: {n}\n\
                     core id\t\t: {c}\ncpu cores\t: {n}\n\n",
                    elfin_arch::PLATFORM
                );
            }
        }
        Kind::Sys(i) => {
            if let Some((_, Some(e))) = sysctl::NODES.get(usize::from(i)) {
                s = (e.read)();
            }
        }
        _ => {
            let p = process(pid)?;
            match kind {
                Kind::Cmdline => return Ok(cmdline(&p)),
                Kind::Environ => {
                    let Some(mm) = p.try_mm() else { return Ok(Vec::new()) };
                    let mut m = mm.lock();
                    let env = m.areas.env.clone();
                    return Ok(read_user(&mut m, env.start, env.end));
                }
                Kind::Comm => {
                    let name = thread_comm(&p, tid);
                    s.push_str(&String::from_utf8_lossy(&name));
                    s.push('\n');
                }
                Kind::Maps => {
                    if let Some(mm) = p.try_mm() {
                        maps(&mm.lock(), &mut s, false);
                    }
                }
                Kind::Smaps => {
                    if let Some(mm) = p.try_mm() {
                        maps(&mm.lock(), &mut s, true);
                    }
                }
                Kind::SmapsRollup => {
                    if let Some(mm) = p.try_mm() {
                        smaps_rollup(&mm.lock(), &mut s);
                    }
                }
                Kind::Status => status(&p, tid, &mut s),
                Kind::Io => {
                    // Nothing here reads or writes storage through a page cache
                    // (tmpfs, 9p): read_bytes and write_bytes stay 0.
                    let [rchar, wchar, syscr, syscw] = p.io.get();
                    let _ = write!(
                        s,
                        "rchar: {rchar}\nwchar: {wchar}\nsyscr: {syscr}\nsyscw: {syscw}\nread_bytes: 0\n\
                         write_bytes: 0\ncancelled_write_bytes: 0\n"
                    );
                }
                Kind::PidStat => stat(&p, tid, !n.task, &mut s),
                Kind::Statm => {
                    let (vm, rss) = match p.try_mm() {
                        Some(mm) => {
                            let m = mm.lock();
                            (m.total_vm / PAGE_SIZE, m.rss_pages())
                        }
                        None => (0, 0),
                    };
                    let _ = writeln!(s, "{} {} 0 0 0 {} 0", vm, rss, vm);
                }
                Kind::Limits => limits(&p, &mut s),
                // One unified (v2) hierarchy, with the process at its root.
                Kind::Cgroup => s.push_str("0::/\n"),
                Kind::Auxv => {
                    let mut out = Vec::new();
                    for w in p.info.lock().auxv.iter() {
                        out.extend_from_slice(&w.to_ne_bytes());
                    }
                    return Ok(out);
                }
                // No OOM killer picks a victim: every process scores its adjustment.
                Kind::OomScore => {
                    let _ = writeln!(s, "{}", i32::from(p.ext.lock().oom_score_adj).max(0));
                }
                Kind::OomScoreAdj => {
                    let _ = writeln!(s, "{}", p.ext.lock().oom_score_adj);
                }
                Kind::TimerslackNs => {
                    let t = thread_of(&p, tid).ok_or(Errno::ESRCH)?;
                    let slack = t.misc.lock().ext.timer_slack.unwrap_or(crate::syscall::sys::DEFAULT_SLACK);
                    let _ = writeln!(s, "{slack}");
                }
                // The one user namespace, the initial one: every id maps to itself.
                Kind::UidMap | Kind::GidMap => s.push_str("         0          0 4294967295\n"),
                Kind::Setgroups => s.push_str("allow\n"),
                // No audit session: the unset id, without a newline as on Linux.
                Kind::Loginuid | Kind::Sessionid => s.push_str("4294967295"),
                // Linux's default filter (no core dumps are written here).
                Kind::CoredumpFilter => s.push_str("00000033\n"),
                Kind::Personality => {
                    let _ = writeln!(s, "{:08x}", p.ext.lock().personality);
                }
                Kind::FdinfoFile(fd) => {
                    let files = p.files();
                    let (f, cloexec) = {
                        let mut t = files.lock();
                        let slot = t.slot_mut(fd).map_err(|_| Errno::ENOENT)?;
                        (slot.file.clone(), slot.cloexec)
                    };
                    let st = f.file.stat();
                    let flags = f.status_flags() | if cloexec { elfin_shim::uapi::open_flags::O_CLOEXEC } else { 0 };
                    let _ = write!(
                        s,
                        "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n",
                        *f.offset.lock(),
                        flags,
                        mount_id(st.dev),
                        st.ino
                    );
                }
                _ => return Err(Errno::EINVAL),
            }
        }
    }
    Ok(s.into_bytes())
}

/// /proc/net/dev: each interface's counters.
fn net_dev(s: &mut String) {
    s.push_str(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for i in crate::net::inet::interfaces() {
        let c = |a: &core::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let st = i.stats;
        let _ = writeln!(
            s,
            "{:>6}:{:>8} {:>7}    0    0    0     0          0         0 {:>8} {:>7}    0 {:>4}    0     0       0          0",
            i.name,
            c(&st.rx_bytes),
            c(&st.rx_packets),
            c(&st.tx_bytes),
            c(&st.tx_packets),
            c(&st.tx_dropped)
        );
    }
}

/// /proc/net/route: the IPv4 routes of the main table (a device's subnet and
/// its default gateway), addresses as the host's u32 of network-order bytes.
fn net_route(s: &mut String) {
    let hex = |b: [u8; 4]| u32::from_ne_bytes(b);
    let mut rows = Vec::new();
    for i in crate::net::inet::interfaces().into_iter().filter(|i| !i.loopback) {
        if let Some(g) = i.gateway {
            rows.push((i.name, 0, hex(g), 0x0003, 0));
        }
        for (a, p) in &i.addrs {
            if let crate::net::inet::IpAddr::V4(b) = a {
                let mask = if *p == 0 { 0 } else { u32::MAX << (32 - u32::from(*p)) };
                let net = (u32::from_be_bytes(*b) & mask).to_be_bytes();
                rows.push((i.name, hex(net), 0, 0x0001, hex(mask.to_be_bytes())));
            }
        }
    }
    let _ =
        writeln!(s, "{:<127}", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    for (name, dest, gw, flags, mask) in rows {
        let line = alloc::format!("{name}\t{dest:08X}\t{gw:08X}\t{flags:04X}\t0\t0\t0\t{mask:08X}\t0\t0\t0");
        let _ = writeln!(s, "{line:<127}");
    }
}

/// /proc/filesystems: (no backing device, name).
const FILESYSTEMS: [(bool, &str); 9] = [
    (true, "sysfs"),
    (true, "tmpfs"),
    (true, "proc"),
    (true, "devtmpfs"),
    (true, "pipefs"),
    (true, "sockfs"),
    (true, "mqueue"),
    (true, "9p"),
    (true, "ramfs"),
];

/// Mount id of the root filesystem; /proc and the volumes follow it.
const ROOT_MOUNT_ID: u32 = 21;

/// One mounted filesystem, as /proc/mounts and mountinfo show it.
struct MountRow {
    id: u32,
    parent: u32,
    dev: u64,
    point: Vec<u8>,
    source: String,
    fstype: &'static str,
    /// Per-mount options.
    opts: &'static str,
    /// Filesystem options after the per-mount ones in /proc/mounts.
    fs_opts: &'static str,
}

impl MountRow {
    /// The super options of mountinfo: rw/ro and the filesystem's options.
    fn fs_super_opts(&self) -> String {
        let rw = if self.opts.starts_with("ro") { "ro" } else { "rw" };
        if self.fs_opts.is_empty() {
            String::from(rw)
        } else {
            alloc::format!("{rw},{}", self.fs_opts)
        }
    }
}

/// The mounts: the RAM root, /proc, each volume, then /sys and /dev/pts.
fn mount_table() -> Vec<MountRow> {
    let mut rows = alloc::vec![
        MountRow {
            id: ROOT_MOUNT_ID,
            parent: ROOT_MOUNT_ID - 1,
            dev: super::RAMFS_DEV,
            point: b"/".to_vec(),
            source: String::from("tmpfs"),
            fstype: "tmpfs",
            opts: "rw,relatime",
            fs_opts: "",
        },
        MountRow {
            id: ROOT_MOUNT_ID + 1,
            parent: ROOT_MOUNT_ID,
            dev: PROC_DEV,
            point: b"/proc".to_vec(),
            source: String::from("proc"),
            fstype: "proc",
            opts: "rw,nosuid,nodev,noexec,relatime",
            fs_opts: "",
        },
    ];
    for (i, v) in super::ninep::mounted().into_iter().enumerate() {
        rows.push(MountRow {
            id: ROOT_MOUNT_ID + 2 + i as u32,
            parent: ROOT_MOUNT_ID,
            dev: v.dev,
            point: v.path,
            source: String::from_utf8_lossy(&v.tag).into_owned(),
            fstype: "9p",
            opts: if v.read_only { "ro,relatime" } else { "rw,relatime" },
            fs_opts: "access=client,trans=virtio",
        });
    }
    // sysfs and devpts where /sys and /dev/pts are elfin's own (an initrd may
    // bring directories of its own there).
    let root = super::root();
    let sys = root.lookup(b"sys").is_ok_and(|d| d.dev() == super::SYSFS_DEV);
    let pts = root.lookup(b"dev").and_then(|d| d.lookup(b"pts")).ok().map(|p| p.dev());
    let next = |rows: &Vec<MountRow>| ROOT_MOUNT_ID + rows.len() as u32;
    if sys {
        rows.push(MountRow {
            id: next(&rows),
            parent: ROOT_MOUNT_ID,
            dev: super::SYSFS_DEV,
            point: b"/sys".to_vec(),
            source: String::from("sysfs"),
            fstype: "sysfs",
            opts: "rw,nosuid,nodev,noexec,relatime",
            fs_opts: "",
        });
    }
    if let Some(dev) = pts.filter(|&d| d != super::RAMFS_DEV) {
        rows.push(MountRow {
            id: next(&rows),
            parent: ROOT_MOUNT_ID,
            dev,
            point: b"/dev/pts".to_vec(),
            source: String::from("devpts"),
            fstype: "devpts",
            opts: "rw,nosuid,noexec,relatime",
            fs_opts: "gid=5,mode=620,ptmxmode=666",
        });
    }
    rows
}

/// The mount id of the filesystem with device number `dev` (fdinfo's mnt_id);
/// the kernel's internal filesystems (pipes, sockets, ...) share id 1.
fn mount_id(dev: u64) -> u32 {
    mount_table().iter().find(|m| m.dev == dev).map_or(1, |m| m.id)
}

/// Linux's major and minor numbers of a `st_dev`.
fn dev_numbers(dev: u64) -> (u64, u64) {
    ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00))
}

/// A path as /proc/mounts shows it: space, tab, newline and backslash in octal.
fn escape_path(path: &[u8]) -> String {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(alloc::format!("\\{:03o}", b).as_bytes()),
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Thread `tid` of `p`, or its first thread when that one is gone (/proc/PID
/// of a process whose leader exited).
fn thread_of(p: &Process, tid: i32) -> Option<Arc<task::Thread>> {
    let threads = p.threads.lock();
    threads.iter().find(|t| t.tid() == tid).or(threads.first()).cloned()
}

fn thread_comm(p: &Process, tid: i32) -> Vec<u8> {
    match thread_of(p, tid) {
        Some(t) => t.comm(),
        None => p.comm(),
    }
}

/// The bytes of [start, end) in the address space `m`, up to the first page that
/// cannot be read (Linux's access_remote_vm).
fn read_user(m: &mut AddrSpace, start: u64, end: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let n = (end - at).min(PAGE_SIZE - (at & (PAGE_SIZE - 1)));
        let have = out.len();
        out.resize(have + n as usize, 0);
        let read = out.get_mut(have..).map(|buf| crate::uaccess::read_bytes(m, UAddr(at), buf));
        if !matches!(read, Some(Ok(()))) {
            out.truncate(have);
            break;
        }
        at += n;
    }
    out
}

/// /proc/PID/cmdline: the argument strings as they are now in the process's
/// memory. A program that wrote over its arguments (setproctitle, as nginx and
/// redis do) and past their last NUL gets the string at the start, up to a
/// page, as Linux's get_mm_proctitle gives it.
fn cmdline(p: &Process) -> Vec<u8> {
    let Some(mm) = p.try_mm() else { return Vec::new() };
    let mut m = mm.lock();
    let args = m.areas.args.clone();
    if args.start >= args.end {
        return Vec::new();
    }
    let last = read_user(&mut m, args.end - 1, args.end);
    if last.first().is_some_and(|&c| c != 0) {
        let mut title = read_user(&mut m, args.start, args.start + PAGE_SIZE);
        if let Some(nul) = title.iter().position(|&c| c == 0) {
            title.truncate(nul + 1);
        }
        return title;
    }
    read_user(&mut m, args.start, args.end)
}

/// Linux's `vma_is_initial_heap`: an anonymous VMA overlapping [start_brk, brk).
fn is_heap(m: &AddrSpace, start: u64, end: u64, area: &Area) -> bool {
    matches!(area.backing, Backing::Anon) && !area.shared && start < m.brk && end > m.brk_start
}

/// Device and inode shown for shared anonymous memory (shmem's "/dev/zero (deleted)").
const SHMEM_DEV: (u32, u32) = (0, 1);

/// /proc/PID/maps, or with `detail` /proc/PID/smaps (each line followed by the
/// area's sizes and flags).
fn maps(m: &AddrSpace, s: &mut String, detail: bool) {
    for r in m.vmas.iter() {
        let v = r.val;
        let (off, dev, ino) = match &v.backing {
            Backing::File { node, offset, .. } => (*offset, (0u32, super::RAMFS_DEV as u32), node.ino()),
            Backing::Anon if v.shared => (0, SHMEM_DEV, r.start >> 12),
            Backing::Anon | Backing::Kernel { .. } => (0, (0, 0), 0),
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
            _ if is_heap(m, r.start, r.end, v) => Some(b"[heap]"),
            VmaName::Stack => Some(b"[stack]"),
            VmaName::Special(n) => Some(n.as_bytes()),
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
        if detail {
            smaps_area(m, r.start, r.end, v, s);
        }
    }
}

/// The smaps block of one area (Linux 6.1's show_smap).
fn smaps_area(m: &AddrSpace, start: u64, end: u64, v: &Area, s: &mut String) {
    let (private, shared) = m.committed_split(start, end);
    let (private, shared) = (private * 4, shared * 4);
    let rss = private + shared;
    let anon = matches!(v.backing, Backing::Anon) && !v.shared;
    // As the rollup: private anonymous pages are dirty, file pages and shared
    // memory are counted clean (elfin does not track dirtiness per page). A page
    // another address space also maps (copy-on-write after fork) is shared, and
    // counts half in Pss when two hold it (an estimate: elfin keeps no map count).
    let dirty = |kb: u64| if anon { kb } else { 0 };
    let clean = |kb: u64| if anon { 0 } else { kb };
    let pss = private + shared / 2;
    for (k, val) in [
        ("Size", (end - start) / 1024),
        ("KernelPageSize", 4),
        ("MMUPageSize", 4),
        ("Rss", rss),
        ("Pss", pss),
        ("Pss_Dirty", dirty(pss)),
        ("Shared_Clean", clean(shared)),
        ("Shared_Dirty", dirty(shared)),
        ("Private_Clean", clean(private)),
        ("Private_Dirty", dirty(private)),
        ("Referenced", rss),
        ("Anonymous", if anon { rss } else { 0 }),
    ] {
        kb_line(s, k, val);
    }
    untracked_lines(s);
    let _ = writeln!(s, "THPeligible:    0");
    s.push_str("VmFlags: ");
    let p = &v.prot;
    for (on, f) in [
        (p.read, "rd"),
        (p.write, "wr"),
        (p.exec, "ex"),
        (v.shared, "sh"),
        (true, "mr"),
        (v.maywrite, "mw"),
        (true, "me"),
        (v.shared, "ms"),
        (v.growsdown, "gd"),
        (v.dontfork, "dc"),
        (anon && p.write, "ac"),
        (v.wipeonfork, "wf"),
    ] {
        if on {
            s.push_str(f);
            s.push(' ');
        }
    }
    s.push('\n');
}

/// Sizes in kB of what is committed: (anonymous, file-backed private, shared).
fn rss_kb(m: &AddrSpace) -> (u64, u64, u64) {
    let (mut anon, mut file, mut shmem) = (0u64, 0u64, 0u64);
    for r in m.vmas.iter() {
        let n = m.committed_pages(r.start, r.end) * 4;
        match (&r.val.backing, r.val.shared) {
            (Backing::Anon, false) => anon += n,
            (Backing::File { .. } | Backing::Kernel { .. }, false) => file += n,
            (_, true) => shmem += n,
        }
    }
    (anon, file, shmem)
}

fn smaps_rollup(m: &AddrSpace, s: &mut String) {
    let (rss_anon, rss_file, rss_shared) = rss_kb(m);
    let first = m.vmas.iter().next().map(|r| r.start).unwrap_or(0);
    let last = m.vmas.iter().next_back().map(|r| r.end).unwrap_or(0);
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
    ] {
        kb_line(s, k, val);
    }
    untracked_lines(s);
}

/// One `Name:   value kB` line of smaps, as Linux pads it.
fn kb_line(s: &mut String, name: &str, kb: u64) {
    let _ = writeln!(s, "{:<16}{:>8} kB", alloc::format!("{}:", name), kb);
}

/// The smaps lines of what elfin never has: lazily freed, huge, swapped or
/// locked pages.
fn untracked_lines(s: &mut String) {
    for k in [
        "LazyFree",
        "AnonHugePages",
        "ShmemPmdMapped",
        "FilePmdMapped",
        "Shared_Hugetlb",
        "Private_Hugetlb",
        "Swap",
        "SwapPss",
        "Locked",
    ] {
        kb_line(s, k, 0);
    }
}

fn state_letter(p: &Process, tid: i32) -> (char, &'static str) {
    let st = p.state.lock();
    if st.zombie {
        return ('Z', "zombie");
    }
    if st.stopped.is_some() {
        return ('T', "stopped");
    }
    drop(st);
    // The thread's own state (the process's is its leader's, as on Linux).
    let asleep = thread_of(p, tid).is_none_or(|t| crate::task::sched::asleep(&t));
    if asleep {
        ('S', "sleeping")
    } else {
        ('R', "running")
    }
}

fn status(p: &Arc<Process>, tid: i32, s: &mut String) {
    let name = String::from_utf8_lossy(&thread_comm(p, tid)).into_owned();
    let exe = p.info.lock().exe.clone();
    let (vm, peak, hwm, rss, (anon, file, shmem), seg) = match p.try_mm() {
        Some(mm) => {
            let m = mm.lock();
            let kb = |pages: u64| pages * (PAGE_SIZE / 1024);
            (
                m.total_vm / 1024,
                m.peak_vm() / 1024,
                kb(m.peak_rss_pages()),
                kb(m.rss_pages()),
                rss_kb(&m),
                segments_kb(&m, &exe),
            )
        }
        None => (0, 0, 0, 0, (0, 0, 0), Segments::default()),
    };
    let (letter, word) = state_letter(p, tid);
    let threads = p.threads.lock().clone();
    let t = threads.iter().find(|t| t.tid() == tid).or(threads.first()).cloned();
    let switches = t.as_ref().map(|t| t.switches()).unwrap_or_default();
    let cpus = t.as_ref().map_or(1, |t| crate::task::sched::allowed(t) & crate::task::sched::online_mask());
    let (blk, pnd, sc) = t
        .map(|t| {
            let sc = t.misc.lock().seccomp.clone();
            let sg = t.sig.lock();
            (sg.mask, sg.pending.mask(), sc)
        })
        .unwrap_or_default();
    let shd = p.shared_pending.lock().mask();
    let (ign, cgt) = {
        let h = p.sighand();
        let h = h.lock();
        let mut ign = 0u64;
        let mut cgt = 0u64;
        for (i, a) in h.iter().enumerate() {
            match a.handler {
                0 => {}
                1 => ign |= 1 << i,
                _ => cgt |= 1 << i,
            }
        }
        (ign, cgt)
    };
    let umask = p.fs().lock().umask;
    let cred = p.cred.lock().clone();
    let fdsize = p.files().lock().len().max(64).next_power_of_two();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{} ({})\nTgid:\t{pid}\nNgid:\t0\nPid:\t{tid}\nPPid:\t{}\nTracerPid:\t0\n\
         Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{}\nGroups:\t{}\nNStgid:\t{pid}\nNSpid:\t{tid}\nNSpgid:\t{}\nNSsid:\t{}\n\
         VmPeak:\t{peak:>8} kB\nVmSize:\t{vm:>8} kB\nVmHWM:\t{hwm:>8} kB\nVmRSS:\t{rss:>8} kB\n\
         RssAnon:\t{anon:>8} kB\nRssFile:\t{file:>8} kB\nRssShmem:\t{shmem:>8} kB\n\
         VmData:\t{:>8} kB\nVmStk:\t{:>8} kB\nVmExe:\t{:>8} kB\nVmLib:\t{:>8} kB\nVmSwap:\t       0 kB\n\
         Threads:\t{}\n\
         SigQ:\t0/63704\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\n\
         CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\n\
         NoNewPrivs:\t{}\nSeccomp:\t{}\nSeccomp_filters:\t{}\n\
         Cpus_allowed:\t{}\nCpus_allowed_list:\t{}\n\
         voluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n",
        name,
        umask,
        letter,
        word,
        p.ppid(),
        cred.uid[0],
        cred.uid[1],
        cred.uid[2],
        cred.uid[3],
        cred.gid[0],
        cred.gid[1],
        cred.gid[2],
        cred.gid[3],
        fdsize,
        cred.groups.iter().map(|g| alloc::format!("{} ", g)).collect::<String>(),
        p.pgid.load(Ordering::Relaxed),
        p.sid.load(Ordering::Relaxed),
        seg.data,
        seg.stack,
        seg.exe,
        seg.lib,
        threads.len(),
        pnd,
        shd,
        blk,
        ign,
        cgt,
        cred.caps.inheritable,
        cred.caps.permitted,
        cred.caps.effective,
        cred.caps.bounding,
        cred.caps.ambient,
        u8::from(cred.caps.no_new_privs),
        sc.mode,
        sc.filters(),
        cpu_mask(cpus, crate::task::sched::online()),
        cpu_list(cpus),
        switches.voluntary,
        switches.involuntary,
        pid = p.pid,
        tid = tid,
        vm = vm,
        rss = rss,
        anon = anon,
        file = file,
        shmem = shmem,
    );
}

/// The kinds of mappings /proc/PID/status sizes, in kB (Linux's data_vm,
/// stack_vm and exec_vm, the last split between the program and the rest).
#[derive(Default)]
struct Segments {
    /// Private writable mappings other than stacks (VmData).
    data: u64,
    /// Stacks (VmStk).
    stack: u64,
    /// The program's executable mappings (VmExe).
    exe: u64,
    /// Other executable mappings: the vDSO, code mapped by the program (VmLib).
    lib: u64,
}

fn segments_kb(m: &AddrSpace, exe: &[u8]) -> Segments {
    let mut seg = Segments::default();
    for r in m.vmas.iter() {
        let kb = (r.end - r.start) / 1024;
        let a = &r.val;
        let stack = a.growsdown || matches!(a.name, VmaName::Stack);
        if stack {
            seg.stack += kb;
        } else if a.prot.write && !a.shared {
            seg.data += kb;
        } else if a.prot.exec && !a.prot.write {
            match &a.name {
                VmaName::Path(path) if path.as_slice() == exe => seg.exe += kb,
                _ => seg.lib += kb,
            }
        }
    }
    seg
}

/// A CPU mask as Linux's `%*pb` prints it for `ncpus` CPUs: hexadecimal, in
/// groups of 32 bits separated by commas.
fn cpu_mask(mask: u64, ncpus: usize) -> String {
    let digits = ncpus.clamp(1, 64).div_ceil(4);
    let hex = alloc::format!("{:0width$x}", mask, width = digits);
    let hex = hex.get(hex.len().saturating_sub(digits)..).unwrap_or(&hex);
    let mut out = String::new();
    for (i, ch) in hex.chars().enumerate() {
        if i > 0 && (digits - i).is_multiple_of(8) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A CPU mask as a list of ranges ("0-3,6").
fn cpu_list(mask: u64) -> String {
    let mut out = String::new();
    let mut cpu = 0u32;
    while cpu < 64 {
        if mask >> cpu & 1 == 0 {
            cpu += 1;
            continue;
        }
        let start = cpu;
        while cpu < 64 && mask >> cpu & 1 != 0 {
            cpu += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        let _ = if cpu - 1 > start { write!(out, "{}-{}", start, cpu - 1) } else { write!(out, "{}", start) };
    }
    out
}

/// /proc/PID/stat (`whole`: the process's times and faults) or
/// /proc/PID/task/TID/stat (thread `tid`'s own).
fn stat(p: &Arc<Process>, tid: i32, whole: bool, s: &mut String) {
    let name = String::from_utf8_lossy(&thread_comm(p, tid)).into_owned();
    let (letter, _) = state_letter(p, tid);
    let ticks = |ns: u64| ns / 10_000_000;
    let this = thread_of(p, tid);
    let (cpu, sys, minflt) = match (&this, whole) {
        (Some(t), false) => (t.cpu_ns(), t.sys_ns(), t.minflt.load(Ordering::Relaxed)),
        _ => (p.cpu_ns(), p.sys_ns(), p.minflt.load(Ordering::Relaxed)),
    };
    let utime = ticks(cpu.saturating_sub(sys));
    let t = *p.times.lock();
    let (cutime, cstime) = (ticks(t.children_ns.saturating_sub(t.children_sys_ns)), ticks(t.children_sys_ns));
    let (vsize, rss, areas, start_brk) = match p.try_mm() {
        Some(mm) => {
            let m = mm.lock();
            (m.total_vm, m.rss_pages(), m.areas.clone(), m.brk_start)
        }
        None => (0, 0, Default::default(), 0),
    };
    let nice = p.info.lock().nice;
    // A thread other than the leader has none (CLONE_THREAD's exit_signal -1).
    let exit_signal = if whole || tid == p.pid { i64::from(p.info.lock().exit_signal) } else { -1 };
    let threads = p.threads.lock().clone();
    // The process's line is its first thread's (the group leader's start time).
    let thread = threads.iter().find(|t| t.tid() == tid).or(threads.first());
    let start = if tid == p.pid { p.start_cycles } else { thread.map_or(p.start_cycles, |t| t.start_cycles) };
    let processor = thread.map_or(0, |t| crate::task::sched::last_cpu(t));
    let (exit_code, execed) = {
        let st = p.state.lock();
        (st.exiting.map(|e| e.wait_status()).unwrap_or(0), st.execed)
    };
    // PF_RANDOMIZE (the layout is randomized) and PF_FORKNOEXEC (forked, no exec
    // since); personality's ADDR_NO_RANDOMIZE turns the first off.
    let randomize = task::exec::ASLR.load(Ordering::Relaxed) && p.ext.lock().personality & 0x0004_0000 == 0;
    // A thread that is not the leader was cloned and has not exec'd.
    let forked = if whole || tid == p.pid { p.ppid() != 0 && !execed } else { true };
    let flags = if randomize { 0x0040_0000u32 } else { 0 } | if forked { 0x40 } else { 0 };
    let (tty_nr, tpgid) = super::pty::session_tty(p.sid.load(Ordering::Relaxed)).unwrap_or((0, -1));
    let _ = writeln!(
        s,
        "{} ({}) {} {} {} {} {} {} {} {} {} 0 0 {} {} {} {} {} {} {} 0 {} {} {} 18446744073709551615 {} {} {} 0 0 0 0 0 0 0 0 0 {} {} 0 0 0 0 0 {} {} {} {} {} {} {} {}",
        tid,
        name,
        letter,
        p.ppid(),
        p.pgid.load(Ordering::Relaxed),
        p.sid.load(Ordering::Relaxed),
        tty_nr,
        tpgid,
        flags,
        minflt,
        t.children_minflt,
        utime,
        ticks(sys),
        cutime,
        cstime,
        20 + nice,
        nice,
        threads.len(),
        ticks(crate::time::boot_ns_at(start)),
        vsize,
        rss,
        areas.code.start,
        areas.code.end,
        areas.start_stack,
        exit_signal,
        processor,
        areas.data.start,
        areas.data.end,
        start_brk,
        areas.args.start,
        areas.args.end,
        areas.env.start,
        areas.env.end,
        exit_code
    );
}

fn limits(p: &Process, s: &mut String) {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    // Linux's layout: a limit without a unit ends after the hard limit's space.
    let _ = writeln!(s, "{:<25} {:<20} {:<20} {:<10}", "Limit", "Soft Limit", "Hard Limit", "Units");
    let lim = p.info.lock().rlimits;
    let show = |v: u64| if v == u64::MAX { String::from("unlimited") } else { alloc::format!("{}", v) };
    for ((name, unit), (soft, hard)) in NAMES.iter().zip(lim.iter()) {
        let _ = write!(s, "{:<25} {:<20} {:<20} ", name, show(*soft), show(*hard));
        let _ = if unit.is_empty() { writeln!(s) } else { writeln!(s, "{unit:<10}") };
    }
}

fn meminfo(s: &mut String) {
    let total = crate::mem::frames::total_count() as u64 * 4;
    let free = crate::mem::frames::free_count() as u64 * 4;
    // The pages of RAM files are tmpfs's: Linux counts them as page cache that
    // cannot be reclaimed (Cached and Shmem, not MemAvailable).
    let shmem = super::pages::used() as u64 * 4;
    for (k, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", shmem),
        ("SwapCached", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Shmem", shmem),
    ] {
        let _ = writeln!(s, "{:<16}{:>8} kB", alloc::format!("{}:", k), v);
    }
}
