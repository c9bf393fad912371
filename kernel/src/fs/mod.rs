//! The in-memory filesystem (ramfs) built from the initrd, path walking, and the
//! special files under /dev and /proc.
pub mod cpio;
pub mod file;
pub mod ipc;
pub mod procfs;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_plat::Module;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use spin::Mutex;

/// Linux's limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;
/// Longest path accepted (PATH_MAX).
pub const PATH_MAX: usize = 4096;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// Metadata of a node.
#[derive(Clone, Copy, Debug, Default)]
pub struct Meta {
    /// Type and permission bits (`S_IF*` | mode).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds.
    pub mtime: i64,
}

/// File content: borrowed from the initrd until first written.
pub enum Content {
    /// Bytes of the initrd (never freed).
    Borrowed(&'static [u8]),
    /// Bytes owned by the kernel heap.
    Owned(Vec<u8>),
}

impl Content {
    /// The current bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Content::Borrowed(b) => b,
            Content::Owned(v) => v,
        }
    }
    /// Mutable bytes, copying borrowed content first.
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if let Content::Borrowed(b) = self {
            *self = Content::Owned(b.to_vec());
        }
        match self {
            Content::Owned(v) => v,
            Content::Borrowed(_) => unreachable!("converted above"),
        }
    }
}

/// Character devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    /// /dev/null.
    Null,
    /// /dev/zero.
    Zero,
    /// /dev/full.
    Full,
    /// /dev/random and /dev/urandom.
    Random,
}

/// What a node is.
pub enum NodeKind {
    /// Regular file.
    File(Mutex<Content>),
    /// Directory: name → child.
    Dir(Mutex<BTreeMap<Vec<u8>, Arc<Node>>>),
    /// Symbolic link with its target.
    Symlink(Vec<u8>),
    /// Character device.
    Dev(Dev),
    /// A /proc file generated when opened.
    Proc(procfs::ProcFile),
}

/// A filesystem object.
pub struct Node {
    /// Inode number.
    pub ino: u64,
    /// Metadata.
    pub meta: Mutex<Meta>,
    /// Content.
    pub kind: NodeKind,
}

impl Node {
    /// A new node.
    pub fn new(kind: NodeKind, perm: u32) -> Arc<Node> {
        let ty = match &kind {
            NodeKind::File(_) => S_IFREG,
            NodeKind::Dir(_) => S_IFDIR,
            NodeKind::Symlink(_) => S_IFLNK,
            NodeKind::Dev(_) => S_IFCHR,
            NodeKind::Proc(_) => S_IFREG,
        };
        Arc::new(Node {
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            meta: Mutex::new(Meta { mode: ty | (perm & 0o7777), uid: 0, gid: 0, mtime: 0 }),
            kind,
        })
    }

    /// A new empty directory.
    pub fn new_dir(perm: u32) -> Arc<Node> {
        Node::new(NodeKind::Dir(Mutex::new(BTreeMap::new())), perm)
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir(_))
    }

    /// Size in bytes as `stat` reports it.
    pub fn size(&self) -> u64 {
        match &self.kind {
            NodeKind::File(c) => c.lock().bytes().len() as u64,
            NodeKind::Symlink(t) => t.len() as u64,
            NodeKind::Dir(_) => 4096,
            NodeKind::Dev(_) | NodeKind::Proc(_) => 0,
        }
    }

    /// The child called `name` of a directory.
    pub fn child(&self, name: &[u8]) -> Result<Arc<Node>, Errno> {
        match &self.kind {
            NodeKind::Dir(d) => d.lock().get(name).cloned().ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Adds (or replaces) a child of a directory.
    pub fn insert(&self, name: &[u8], node: Arc<Node>) -> Result<(), Errno> {
        match &self.kind {
            NodeKind::Dir(d) => {
                d.lock().insert(name.to_vec(), node);
                Ok(())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }
}

/// A resolved path: the node and its canonical absolute path.
#[derive(Clone)]
pub struct Resolved {
    /// The node.
    pub node: Arc<Node>,
    /// Canonical absolute path (no `.`/`..`/symlinks), `/` for the root.
    pub path: Vec<u8>,
}

/// The root directory.
static ROOT: spin::Once<Arc<Node>> = spin::Once::new();

/// The root directory.
pub fn root() -> Arc<Node> {
    ROOT.get().cloned().unwrap_or_else(|| Node::new_dir(0o755))
}

fn join(stack: &[(Vec<u8>, Arc<Node>)]) -> Vec<u8> {
    if stack.is_empty() {
        return b"/".to_vec();
    }
    let mut p = Vec::new();
    for (name, _) in stack {
        p.push(b'/');
        p.extend_from_slice(name);
    }
    p
}

/// Walks `path` relative to `base` (an absolute canonical directory path).
/// With `follow_last`, a final symlink is followed.
pub fn resolve(base: &[u8], path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let root = root();
    let mut stack: Vec<(Vec<u8>, Arc<Node>)> = Vec::new();
    let mut links = 0;
    if path.first() != Some(&b'/') {
        walk(&root, &mut stack, base, true, &mut links)?;
    }
    walk(&root, &mut stack, path, follow_last, &mut links)?;
    let node = stack.last().map(|(_, n)| n.clone()).unwrap_or(root);
    // A trailing slash requires a directory.
    if path.last() == Some(&b'/') && !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(Resolved { node, path: join(&stack) })
}

fn walk(
    root: &Arc<Node>,
    stack: &mut Vec<(Vec<u8>, Arc<Node>)>,
    path: &[u8],
    follow_last: bool,
    links: &mut usize,
) -> Result<(), Errno> {
    if path.first() == Some(&b'/') {
        stack.clear();
    }
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let n = comps.len();
    for (i, c) in comps.into_iter().enumerate() {
        let last = i + 1 == n;
        if c.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        let cur = stack.last().map(|(_, n)| n.clone()).unwrap_or_else(|| root.clone());
        if !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match c {
            b"." => continue,
            b".." => {
                stack.pop();
                continue;
            }
            _ => {}
        }
        let child = cur.child(c)?;
        if let NodeKind::Symlink(target) = &child.kind {
            if !last || follow_last {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = target.clone();
                walk(root, stack, &target, true, links)?;
                continue;
            }
        }
        stack.push((c.to_vec(), child));
    }
    Ok(())
}

/// Resolves all but the last component: (parent directory, its path, last name).
pub fn resolve_parent(base: &[u8], path: &[u8]) -> Result<(Resolved, Vec<u8>), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let trimmed = {
        let mut p = path;
        while p.len() > 1 && p.last() == Some(&b'/') {
            p = p.get(..p.len() - 1).unwrap_or(p);
        }
        p
    };
    let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (trimmed.get(..i.max(1)).unwrap_or(b"/"), trimmed.get(i + 1..).unwrap_or(b"")),
        None => (&b"."[..], trimmed),
    };
    let dir = if dir.is_empty() { &b"/"[..] } else { dir };
    let parent = resolve(base, dir, true)?;
    if !parent.node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok((parent, name.to_vec()))
}

/// Creates `path` (and missing parents) as directories under the root.
pub fn mkdir_p(path: &[u8]) -> Arc<Node> {
    let mut cur = root();
    for c in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        cur = match cur.child(c) {
            Ok(n) => n,
            Err(_) => {
                let d = Node::new_dir(0o755);
                let _ = cur.insert(c, d.clone());
                d
            }
        };
    }
    cur
}

/// Run configuration found in the initrd's `/.elfin/run`.
#[derive(Default, Debug)]
pub struct RunConfig {
    /// Program path.
    pub exe: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// argv.
    pub argv: Vec<Vec<u8>>,
    /// envp.
    pub envp: Vec<Vec<u8>>,
    /// File descriptors that are terminals on the host.
    pub ttys: Vec<i32>,
    /// The host terminal's size (rows, columns).
    pub winsize: Option<(u16, u16)>,
}

/// Builds the root filesystem from the initrd; returns the run configuration.
pub fn init(initrd: Option<Module>) -> RunConfig {
    let root = Node::new_dir(0o755);
    ROOT.call_once(|| root.clone());
    let mut cfg = RunConfig { cwd: b"/".to_vec(), ..Default::default() };
    if let Some(m) = initrd {
        // SAFETY: the initrd lies in RAM reserved from the frame allocator for the
        // kernel's lifetime and is covered by the direct map; it is never written.
        let data: &'static [u8] =
            unsafe { core::slice::from_raw_parts(elfin_arch::phys_to_virt(m.paddr) as *const u8, m.size as usize) };
        for e in cpio::Reader::new(data) {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    kprintln!("elfin: {}", err);
                    break;
                }
            };
            let name = e.name.strip_prefix(b"./").unwrap_or(e.name);
            let name = name.strip_prefix(b"/").unwrap_or(name);
            if name.is_empty() || name == b"." {
                continue;
            }
            if name == b".elfin/run" {
                parse_run(e.data, &mut cfg);
                continue;
            }
            if name.starts_with(b".elfin") {
                continue;
            }
            let (dir, base) = match name.iter().rposition(|&b| b == b'/') {
                Some(i) => (name.get(..i).unwrap_or(b""), name.get(i + 1..).unwrap_or(b"")),
                None => (&b""[..], name),
            };
            let parent = mkdir_p(dir);
            let perm = e.mode & 0o7777;
            let node = match e.mode & S_IFMT {
                S_IFDIR => match parent.child(base) {
                    Ok(existing) if existing.is_dir() => {
                        existing.meta.lock().mode = S_IFDIR | perm;
                        continue;
                    }
                    _ => Node::new_dir(perm),
                },
                S_IFLNK => Node::new(NodeKind::Symlink(e.data.to_vec()), 0o777),
                S_IFREG => Node::new(NodeKind::File(Mutex::new(Content::Borrowed(e.data))), perm),
                _ => continue,
            };
            {
                let mut m = node.meta.lock();
                m.uid = e.uid;
                m.gid = e.gid;
                m.mtime = i64::from(e.mtime);
            }
            let _ = parent.insert(base, node);
        }
    }
    let dev = mkdir_p(b"/dev");
    for (name, d, perm) in [
        (&b"null"[..], Dev::Null, 0o666),
        (b"zero", Dev::Zero, 0o666),
        (b"full", Dev::Full, 0o666),
        (b"random", Dev::Random, 0o666),
        (b"urandom", Dev::Random, 0o666),
    ] {
        let _ = dev.insert(name, Node::new(NodeKind::Dev(d), perm));
    }
    mkdir_p(b"/tmp").meta.lock().mode = S_IFDIR | 0o1777;
    let pid_dir = mkdir_p(b"/proc/1");
    let _ = pid_dir.insert(b"exe", Node::new(NodeKind::Symlink(cfg.exe.clone()), 0o777));
    let _ = pid_dir.insert(b"cwd", Node::new(NodeKind::Symlink(cfg.cwd.clone()), 0o777));
    for (name, f) in [
        (&b"maps"[..], procfs::ProcFile::Maps),
        (b"smaps_rollup", procfs::ProcFile::SmapsRollup),
        (b"cmdline", procfs::ProcFile::Cmdline),
        (b"environ", procfs::ProcFile::Environ),
        (b"status", procfs::ProcFile::Status),
    ] {
        let _ = pid_dir.insert(name, Node::new(NodeKind::Proc(f), 0o444));
    }
    let proc_dir = mkdir_p(b"/proc");
    let _ = proc_dir.insert(b"self", Node::new(NodeKind::Symlink(b"1".to_vec()), 0o777));
    let _ = proc_dir.insert(b"meminfo", Node::new(NodeKind::Proc(procfs::ProcFile::Meminfo), 0o444));
    cfg
}

fn parse_run(data: &[u8], cfg: &mut RunConfig) {
    for rec in data.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        if let Some(v) = rec.strip_prefix(b"exe=") {
            cfg.exe = v.to_vec();
        } else if let Some(v) = rec.strip_prefix(b"cwd=") {
            cfg.cwd = v.to_vec();
        } else if let Some(v) = rec.strip_prefix(b"arg=") {
            cfg.argv.push(v.to_vec());
        } else if let Some(v) = rec.strip_prefix(b"env=") {
            cfg.envp.push(v.to_vec());
        } else if let Some(v) = rec.strip_prefix(b"winsize=") {
            let s = core::str::from_utf8(v).unwrap_or("");
            if let Some((r, c)) = s.split_once('x') {
                if let (Ok(r), Ok(c)) = (r.parse(), c.parse()) {
                    cfg.winsize = Some((r, c));
                }
            }
        } else if let Some(v) = rec.strip_prefix(b"tty=") {
            cfg.ttys = v.iter().filter(|c| c.is_ascii_digit()).map(|c| i32::from(c - b'0')).collect();
        }
    }
}
