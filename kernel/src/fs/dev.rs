//! Device nodes under /dev: null, zero, full, random and urandom, kmsg, tty,
//! console, ptmx and the pts directory, and the links to the caller's descriptors (fd, stdin,
//! stdout, stderr).
use alloc::sync::Arc;
use core::any::Any;

use crate::sync::Mutex;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::StatInfo;

use super::file::{FileLike, OpenFile};
use super::{next_ino, ramfs, stat_of, Inode, Meta};
use crate::task::Ctx;

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
    Random(u32),
    /// /dev/tty: the controlling terminal.
    Tty,
    /// /dev/ptmx: opening it makes a pseudo-terminal.
    Ptmx,
    /// /dev/console: the system console (the host's terminal or stdio).
    Console,
    /// /dev/kmsg: the kernel log's records.
    Kmsg,
}

impl Dev {
    fn rdev(self) -> u64 {
        let minor = match self {
            Dev::Null => 3,
            Dev::Zero => 5,
            Dev::Full => 7,
            Dev::Random(m) => m,
            Dev::Tty => return StatInfo::makedev(5, 0),
            Dev::Ptmx => return StatInfo::makedev(5, 2),
            Dev::Console => return StatInfo::makedev(5, 1),
            Dev::Kmsg => 11,
        };
        StatInfo::makedev(1, minor)
    }
}

/// A device node.
pub struct DevNode {
    ino: u64,
    meta: Mutex<Meta>,
    dev: Dev,
}

impl DevNode {
    /// A node for `dev`.
    pub fn new(dev: Dev, perm: u32) -> Arc<DevNode> {
        Arc::new(DevNode { ino: next_ino(), meta: Mutex::new(Meta::new(S_IFCHR | perm)), dev })
    }
}

impl Inode for DevNode {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        *self.meta.lock()
    }
    fn set_meta(&self, f: &mut dyn FnMut(&mut Meta)) -> Result<(), Errno> {
        f(&mut self.meta.lock());
        Ok(())
    }
    fn rdev(&self) -> u64 {
        self.dev.rdev()
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        if self.dev == Dev::Tty {
            let sid = crate::task::sched::try_current()
                .map(|t| t.process.sid.load(core::sync::atomic::Ordering::Relaxed))
                .unwrap_or(0);
            if let Some(r) = super::pty::open_controlling(sid) {
                return r;
            }
            return super::console::open_tty(sid);
        }
        if self.dev == Dev::Ptmx {
            return super::pty::open_master(self);
        }
        if self.dev == Dev::Console {
            return Ok(super::console::open_console());
        }
        if self.dev == Dev::Kmsg {
            return Ok(super::kmsg::open(self));
        }
        let dev = self.dev;
        Ok(Arc::new(DevFile { node: self, dev }))
    }
}

/// Opens the device `rdev` through the node `node` (a device node made by
/// mknod): the devices elfin has, ENXIO for the others (as Linux for a device
/// without a driver).
pub fn open_rdev(rdev: u64, node: Arc<dyn Inode>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
    let dev = match (StatInfo::major(rdev), StatInfo::minor(rdev)) {
        (1, 3) => Dev::Null,
        (1, 5) => Dev::Zero,
        (1, 7) => Dev::Full,
        (1, m @ (8 | 9)) => Dev::Random(m),
        (1, 11) => return Ok(super::kmsg::open(node)),
        (5, 0) => return DevNode::new(Dev::Tty, 0o666).open(0),
        (5, 1) => return Ok(super::console::open_console()),
        (5, 2) => return super::pty::open_master(node),
        (major @ 136..=143, minor) => return super::pty::open_index((major - 136) * 256 + minor, flags),
        _ => return Err(Errno::ENXIO),
    };
    Ok(Arc::new(DevFile { node, dev }))
}

/// An open device.
pub struct DevFile {
    node: Arc<dyn Inode>,
    dev: Dev,
}

impl DevFile {
    fn fill(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.dev {
            Dev::Null => Ok(0),
            Dev::Zero | Dev::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Dev::Random(_) => {
                crate::rng::fill(buf);
                Ok(buf.len())
            }
            Dev::Tty | Dev::Ptmx | Dev::Console | Dev::Kmsg => Err(Errno::EIO),
        }
    }
    fn sink(&self, data: &[u8]) -> Result<usize, Errno> {
        match self.dev {
            Dev::Full => Err(Errno::ENOSPC),
            _ => Ok(data.len()),
        }
    }
}

impl FileLike for DevFile {
    fn read(&self, _cx: &Ctx, _f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        self.fill(buf)
    }
    fn write(&self, _cx: &Ctx, _f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        self.sink(data)
    }
    fn pread(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        self.fill(buf)
    }
    fn pwrite(&self, _f: &OpenFile, data: &[u8], _off: u64) -> Result<usize, Errno> {
        self.sink(data)
    }
    fn seek(&self, _f: &OpenFile, _off: i64, _whence: i32) -> Result<u64, Errno> {
        // Character devices accept any seek and stay at 0, as /dev/null does.
        Ok(0)
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What makes the entries of /dev, at the first look inside (`ramfs::Dir::lazy`):
/// the device nodes, the standard links and /dev/shm. Entries the initrd put
/// there stay.
pub fn filler() -> ramfs::Filler {
    alloc::boxed::Box::new(|dev: &mut ramfs::Entries| {
        for (name, d) in [
            (&b"null"[..], Dev::Null),
            (b"zero", Dev::Zero),
            (b"full", Dev::Full),
            (b"random", Dev::Random(8)),
            (b"urandom", Dev::Random(9)),
            (b"tty", Dev::Tty),
            (b"ptmx", Dev::Ptmx),
            (b"console", Dev::Console),
            (b"kmsg", Dev::Kmsg),
        ] {
            // As Linux's devtmpfs makes them: /dev/console is root's only, and
            // only root writes /dev/kmsg.
            let perm = match d {
                Dev::Console => 0o600,
                Dev::Kmsg => 0o644,
                _ => 0o666,
            };
            let node: Arc<dyn Inode> = DevNode::new(d, perm);
            dev.insert(name.to_vec(), node);
        }
        let links: [(&[u8], &[u8]); 4] = [
            (b"fd", b"/proc/self/fd"),
            (b"stdin", b"/proc/self/fd/0"),
            (b"stdout", b"/proc/self/fd/1"),
            (b"stderr", b"/proc/self/fd/2"),
        ];
        for (name, target) in links {
            let link: Arc<dyn Inode> = ramfs::Symlink::with_meta(target.to_vec(), Meta::new(S_IFLNK | 0o777));
            dev.insert(name.to_vec(), link);
        }
        let shm: Arc<dyn Inode> = ramfs::Dir::new(0o1777);
        dev.insert(b"shm".to_vec(), shm);
        dev.insert(b"pts".to_vec(), super::pty::pts_dir());
    })
}
