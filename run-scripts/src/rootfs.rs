//! The guest's root filesystem, assembled in memory and written as the initrd.
//!
//! Paths are kept in archive form (`app/hello`: no leading slash) in a sorted map, so
//! that every directory precedes its contents in the archive, a path appears once, and
//! a later volume replaces an earlier file at the same place.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::cpio;

/// The applet names of a busybox binary: the NUL-separated, sorted list that
/// starts with `[` and `[[`; None when there is none.
pub fn busybox_applets(bin: &[u8]) -> Option<Vec<Vec<u8>>> {
    let start = bin.windows(5).position(|w| w == b"[\0[[\0")?;
    let mut names = Vec::new();
    for name in bin.get(start..)?.split(|&b| b == 0) {
        let ok = !name.is_empty()
            && name.len() < 64
            && name.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"[]-_.".contains(&c));
        if !ok {
            break;
        }
        names.push(name.to_vec());
    }
    (names.len() > 2).then_some(names)
}

/// Guest path of the control file the kernel reads (docs/protocol.md).
pub const CONTROL_FILE: &[u8] = b".elfin/run";

/// Where a regular file's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Held in memory.
    Bytes(Vec<u8>),
    /// Read from the host when the archive is written; `size` as seen when scanned.
    Host { path: PathBuf, size: u64 },
}

/// One filesystem object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory with its permission bits.
    Dir { perm: u32, mtime: u32 },
    /// A regular file.
    File { perm: u32, mtime: u32, content: Content },
    /// A symbolic link.
    Symlink { target: Vec<u8>, mtime: u32 },
}

/// The root filesystem under construction.
#[derive(Clone, Debug, Default)]
pub struct RootFs {
    nodes: BTreeMap<Vec<u8>, Node>,
}

fn shown(path: &[u8]) -> String {
    format!("/{}", String::from_utf8_lossy(path))
}

/// A host mtime as the 32-bit unsigned value cpio stores.
fn mtime32(secs: i64) -> u32 {
    u32::try_from(secs.max(0)).unwrap_or(u32::MAX)
}

impl RootFs {
    /// The standard skeleton: `/app`, `/tmp` (1777), `/dev`, `/proc`, `/etc`.
    pub fn skeleton(mtime: u32) -> Self {
        let mut fs = RootFs::default();
        for (name, perm) in [("app", 0o755), ("tmp", 0o1777), ("dev", 0o755), ("proc", 0o555), ("etc", 0o755)] {
            fs.nodes.insert(name.as_bytes().to_vec(), Node::Dir { perm, mtime });
        }
        fs
    }

    /// The node at `path`, if any.
    pub fn get(&self, path: &[u8]) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Creates the missing ancestors of `path` as 0755 directories.
    fn ensure_parents(&mut self, path: &[u8], mtime: u32) -> Result<(), String> {
        for (i, _) in path.iter().enumerate().filter(|(_, &b)| b == b'/') {
            let prefix = &path[..i];
            match self.nodes.get(prefix) {
                None => {
                    self.nodes.insert(prefix.to_vec(), Node::Dir { perm: 0o755, mtime });
                }
                Some(Node::Dir { .. }) => {}
                Some(_) => {
                    return Err(format!("{} is a file in the guest, not a directory", shown(prefix)));
                }
            }
        }
        Ok(())
    }

    /// Puts `node` at `path` (archive form), creating parent directories. A directory
    /// merges with an existing one; anything else replaces an existing non-directory.
    pub fn put(&mut self, path: &[u8], node: Node) -> Result<(), String> {
        if path.is_empty() {
            return match node {
                Node::Dir { .. } => Ok(()), // the root itself: nothing to record
                _ => Err("cannot put a file at / in the guest".into()),
            };
        }
        let mtime = match &node {
            Node::Dir { mtime, .. } | Node::File { mtime, .. } | Node::Symlink { mtime, .. } => *mtime,
        };
        self.ensure_parents(path, mtime)?;
        if let (Some(Node::Dir { .. }), false) = (self.nodes.get(path), matches!(node, Node::Dir { .. })) {
            return Err(format!("{} is a directory in the guest; cannot replace it with a file", shown(path)));
        }
        self.nodes.insert(path.to_vec(), node);
        Ok(())
    }

    /// Copies a host file or directory tree to `guest` (archive form). The top-level
    /// host path is followed if it is a symlink; symlinks inside a tree are copied as
    /// symlinks. Permission bits and mtimes are kept; owners become root.
    pub fn add_host(&mut self, host: &Path, guest: &[u8]) -> Result<(), String> {
        let meta = fs::metadata(host).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => format!("{}: no such file or directory", host.display()),
            _ => format!("{}: {e}", host.display()),
        })?;
        self.add_entry(host, &meta, guest)
    }

    fn add_entry(&mut self, host: &Path, meta: &fs::Metadata, guest: &[u8]) -> Result<(), String> {
        let perm = meta.permissions().mode() & 0o7777;
        let mtime = mtime32(meta.mtime());
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = fs::read_link(host).map_err(|e| format!("{}: {e}", host.display()))?;
            self.put(guest, Node::Symlink { target: target.as_os_str().as_bytes().to_vec(), mtime })
        } else if ft.is_file() {
            let content = Content::Host { path: host.to_path_buf(), size: meta.len() };
            self.put(guest, Node::File { perm, mtime, content })
        } else if ft.is_dir() {
            self.put(guest, Node::Dir { perm, mtime })?;
            let entries = fs::read_dir(host).map_err(|e| format!("{}: {e}", host.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", host.display()))?;
                let path = entry.path();
                let meta = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let mut child = guest.to_vec();
                if !child.is_empty() {
                    child.push(b'/');
                }
                child.extend_from_slice(entry.file_name().as_bytes());
                self.add_entry(&path, &meta, &child)?;
            }
            Ok(())
        } else {
            eprintln!("elfin: skipping {}: not a regular file, directory or symlink", host.display());
            Ok(())
        }
    }

    /// Installs a busybox binary as `/bin/busybox` and links each of its applets as
    /// `/bin/<applet>` (plus `/usr/bin/env`, where scripts' `#!` lines look for it);
    /// volumes added later replace any of them. The applet list is read from the
    /// binary itself (busybox keeps the names, NUL-separated and sorted, from `[`
    /// and `[[` on), so a build with other applets gets its own links.
    pub fn add_busybox(&mut self, host: &Path, mtime: u32) -> Result<(), String> {
        let bytes = fs::read(host).map_err(|e| format!("cannot read {}: {e}", host.display()))?;
        let names = busybox_applets(&bytes)
            .ok_or_else(|| format!("{} does not look like busybox (no applet list in it)", host.display()))?;
        self.ensure_parents(b"bin/busybox", mtime)?;
        self.nodes.insert(b"bin/busybox".to_vec(), Node::File { perm: 0o755, mtime, content: Content::Bytes(bytes) });
        for name in names {
            let mut path = b"bin/".to_vec();
            path.extend_from_slice(&name);
            self.nodes.entry(path).or_insert(Node::Symlink { target: b"busybox".to_vec(), mtime });
        }
        self.ensure_parents(b"usr/bin/env", mtime)?;
        self.nodes.entry(b"usr/bin/env".to_vec()).or_insert(Node::Symlink { target: b"/bin/busybox".to_vec(), mtime });
        Ok(())
    }

    /// Whether the directory at `path` is left out of the archive because the
    /// kernel makes it the same way or does not read it: `/.elfin` and `/proc`
    /// (procfs takes its place), and an empty `/dev` (0755) or `/tmp` (1777).
    /// Every member costs the boot a header to read.
    fn left_to_kernel(&self, path: &[u8], node: &Node) -> bool {
        let Node::Dir { perm, .. } = node else { return false };
        let empty = || {
            let mut inside = path.to_vec();
            inside.push(b'/');
            self.nodes.range(inside.clone()..).next().is_none_or(|(p, _)| !p.starts_with(&inside))
        };
        match path {
            b".elfin" | b"proc" => true,
            b"dev" => *perm == 0o755 && empty(),
            b"tmp" => *perm == 0o1777 && empty(),
            _ => false,
        }
    }

    /// Writes the whole tree as a cpio newc archive.
    pub fn write_cpio<W: Write>(&self, out: W) -> io::Result<W> {
        let mut w = cpio::Writer::new(out);
        for (path, node) in &self.nodes {
            if self.left_to_kernel(path, node) {
                continue;
            }
            match node {
                Node::Dir { perm, mtime } => w.dir(path, *perm, *mtime)?,
                Node::Symlink { target, mtime } => w.symlink(path, target, *mtime)?,
                Node::File { perm, mtime, content: Content::Bytes(b) } => {
                    w.file(path, *perm, *mtime, b.len() as u64, &mut &b[..])?;
                }
                Node::File { perm, mtime, content: Content::Host { path: host, size } } => {
                    let mut f = fs::File::open(host)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
                    w.file(path, *perm, *mtime, *size, &mut f)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
                }
            }
        }
        w.finish()
    }
}

/// Host files the guest's /etc gets as they are, where the volumes bring none and
/// the host has them: the service and protocol names getservbyname,
/// getprotobyname and getaddrinfo look up (netbase's files). A host without them
/// has no such names either.
pub const HOST_ETC: [&str; 2] = ["etc/services", "etc/protocols"];

/// Host files the guest also gets when it has a network device: the CA
/// certificates TLS clients verify servers with (Go's crypto/x509 and OpenSSL
/// look for Debian's bundle at this path). Without a network the bundle would
/// only add to every initrd.
pub const HOST_NET_ETC: [&str; 1] = ["etc/ssl/certs/ca-certificates.crt"];

/// The host files the guest's root gets ([`HOST_ETC`], and [`HOST_NET_ETC`]
/// with a network device), where the host has them.
pub fn host_etc(network: bool) -> Vec<&'static str> {
    let net: &[&'static str] = if network { &HOST_NET_ETC } else { &[] };
    HOST_ETC.iter().chain(net).copied().collect()
}

/// Host name of the guest (the kernel's `uname` node name).
pub const HOSTNAME: &str = "elfin";

/// The files of a container image's minimal /etc, for programs that look up users,
/// groups and hosts (nginx stops at `getpwnam("nobody")` without them). The
/// resolver configuration comes from the host's (see [`resolv_conf`]).
fn default_etc(resolv: &str) -> [(&'static str, u32, String); 6] {
    [
        (
            "etc/passwd",
            0o644,
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n".into(),
        ),
        // Debian calls group 65534 nogroup, others nobody (nginx's `user nobody;`
        // wants a group of that name): both.
        ("etc/group", 0o644, "root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n".into()),
        (
            "etc/hosts",
            0o644,
            format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{HOSTNAME}\n"),
        ),
        ("etc/hostname", 0o644, format!("{HOSTNAME}\n")),
        (
            "etc/nsswitch.conf",
            0o644,
            "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n\
             protocols: files\nservices: files\nethers: files\nrpc: files\n"
                .into(),
        ),
        ("etc/resolv.conf", 0o644, resolv_conf(resolv)),
    ]
}

/// The guest's resolv.conf from the host's, as container engines make it: the
/// host's name servers except loopback ones (they would be the guest's own), and
/// its search domains and options.
pub fn resolv_conf(host: &str) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        let keep = match words.next() {
            Some("nameserver") => words.next().is_some_and(|a| !(a.starts_with("127.") || a == "::1")),
            Some("search" | "domain" | "options") => true,
            _ => false,
        };
        if keep {
            out.push_str(line.trim());
            out.push('\n');
        }
    }
    out
}

impl RootFs {
    /// Adds the default /etc files (and root's home, /root) where the tree has none.
    /// What the user's volumes put there wins; a path they made unusable (a file
    /// where a directory should be) is left alone.
    pub fn add_defaults(&mut self, mtime: u32, host_resolv: &str) {
        for (path, perm, text) in default_etc(host_resolv) {
            if self.get(path.as_bytes()).is_none() {
                let node = Node::File { perm, mtime, content: Content::Bytes(text.into_bytes()) };
                let _ = self.put(path.as_bytes(), node);
            }
        }
        if self.get(b"root").is_none() {
            let _ = self.put(b"root", Node::Dir { perm: 0o700, mtime });
        }
    }
}

/// The bytes of `/.elfin/run`: NUL-terminated `key=value` records in protocol order.
#[cfg(test)]
pub fn control_file(exe: &[u8], cwd: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Vec<u8> {
    control_file_with_ttys(exe, cwd, argv, env, &[], None)
}

/// [`control_file`] plus the `tty=` record (descriptors that are terminals on the
/// host) and the `winsize=ROWSxCOLS` record.
pub fn control_file_with_ttys(
    exe: &[u8],
    cwd: &[u8],
    argv: &[Vec<u8>],
    env: &[Vec<u8>],
    ttys: &[i32],
    winsize: Option<(u16, u16)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut record = |key: &[u8], value: &[u8]| {
        out.extend_from_slice(key);
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(0);
    };
    record(b"exe", exe);
    record(b"cwd", cwd);
    for a in argv {
        record(b"arg", a);
    }
    for e in env {
        record(b"env", e);
    }
    if !ttys.is_empty() {
        let digits: Vec<u8> = ttys.iter().filter(|&&f| (0..10).contains(&f)).map(|&f| b'0' + f as u8).collect();
        record(b"tty", &digits);
    }
    if let Some((rows, cols)) = winsize {
        record(b"winsize", format!("{rows}x{cols}").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::tests::parse;
    use crate::cpio::{S_IFDIR, S_IFLNK, S_IFREG};

    #[test]
    fn control_file_records() {
        let c = control_file(b"/app/x", b"/", &[b"/app/x".to_vec(), b"a b".to_vec()], &[b"K=V".to_vec()]);
        assert_eq!(c, b"exe=/app/x\0cwd=/\0arg=/app/x\0arg=a b\0env=K=V\0");
    }

    #[test]
    fn skeleton_and_conflicts() {
        let mut fs = RootFs::skeleton(1);
        let file = |b: &[u8]| Node::File { perm: 0o644, mtime: 2, content: Content::Bytes(b.to_vec()) };
        fs.put(b"srv/data/x", file(b"1")).expect("parents made");
        assert_eq!(fs.get(b"srv"), Some(&Node::Dir { perm: 0o755, mtime: 2 }));
        fs.put(b"srv/data/x", file(b"2")).expect("later file wins");
        assert!(fs.put(b"srv/data/x/y", file(b"3")).is_err(), "file as a parent");
        assert!(fs.put(b"srv", file(b"4")).is_err(), "file over a directory");
        fs.put(b"tmp", Node::Dir { perm: 0o700, mtime: 3 }).expect("dir merges");
        assert!(fs.put(b"", file(b"5")).is_err());
        fs.put(b"", Node::Dir { perm: 0o755, mtime: 0 }).expect("root dir is a no-op");

        let entries = parse(&fs.write_cpio(Vec::new()).expect("write"));
        let names: Vec<&[u8]> = entries.iter().map(|e| &e.name[..]).collect();
        // The kernel makes /dev and /proc itself; a /tmp of another mode is kept.
        assert_eq!(names, [&b"app"[..], b"etc", b"srv", b"srv/data", b"srv/data/x", b"tmp"]);
        assert_eq!(entries[5].mode, S_IFDIR | 0o700);
        assert_eq!(entries[4].data, b"2");
    }

    #[test]
    fn default_etc_unless_the_user_gives_it() {
        let mut fs = RootFs::skeleton(1);
        let mine = Node::File { perm: 0o600, mtime: 2, content: Content::Bytes(b"me:x:5:5::/:/bin/sh\n".to_vec()) };
        fs.put(b"etc/passwd", mine.clone()).expect("user file");
        fs.add_defaults(3, "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\n# c\noptions edns0\n");
        assert_eq!(fs.get(b"etc/passwd"), Some(&mine));
        let text = |p: &[u8]| match fs.get(p) {
            Some(Node::File { content: Content::Bytes(b), .. }) => String::from_utf8(b.clone()).expect("utf8"),
            other => panic!("{other:?}"),
        };
        assert!(text(b"etc/group").contains("nobody:x:65534:"));
        assert_eq!(text(b"etc/hostname"), "elfin\n");
        assert!(text(b"etc/hosts").starts_with("127.0.0.1\tlocalhost\n"));
        assert!(text(b"etc/nsswitch.conf").contains("hosts: files dns\n"));
        assert_eq!(text(b"etc/resolv.conf"), "nameserver 10.0.0.2\nsearch lan\noptions edns0\n");
        assert_eq!(fs.get(b"root"), Some(&Node::Dir { perm: 0o700, mtime: 3 }));

        // A volume that made /etc a symlink keeps it; nothing is added under it.
        let mut fs = RootFs::default();
        fs.put(b"etc", Node::Symlink { target: b"/data/etc".to_vec(), mtime: 1 }).expect("symlink");
        fs.add_defaults(3, "");
        assert!(fs.get(b"etc/passwd").is_none());
    }

    #[test]
    fn host_tree_copy() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("elfin-rootfs-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("tree/sub")).expect("mkdir");
        fs::write(dir.join("tree/a.txt"), b"alpha").expect("write");
        fs::write(dir.join("tree/sub/run.sh"), b"#!/bin/sh\n").expect("write");
        fs::set_permissions(dir.join("tree/sub/run.sh"), fs::Permissions::from_mode(0o750)).expect("chmod");
        symlink("../a.txt", dir.join("tree/sub/link")).expect("symlink");
        symlink("tree", dir.join("toplink")).expect("symlink");

        let mut rfs = RootFs::skeleton(0);
        rfs.add_host(&dir.join("toplink"), b"data").expect("add tree via a top-level symlink");
        rfs.add_host(&dir.join("tree/a.txt"), b"etc/a.conf").expect("add file");
        assert!(rfs.add_host(&dir.join("missing"), b"x").is_err());
        let entries = parse(&rfs.write_cpio(Vec::new()).expect("write"));
        let find = |n: &[u8]| entries.iter().find(|e| e.name == n).unwrap_or_else(|| panic!("{n:?} missing"));
        assert_eq!(find(b"data").mode & !0o7777, S_IFDIR);
        assert_eq!(find(b"data/a.txt").data, b"alpha");
        assert_eq!(find(b"data/sub/run.sh").mode, S_IFREG | 0o750);
        assert_eq!(find(b"data/sub/link").mode, S_IFLNK | 0o777);
        assert_eq!(find(b"data/sub/link").data, b"../a.txt");
        assert_eq!(find(b"etc/a.conf").data, b"alpha");
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
