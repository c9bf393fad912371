//! Open files and the file-descriptor table.
use alloc::sync::Arc;
use alloc::vec::Vec;

use elfin_plat::console::{self, Channel, Input};
use elfin_shim::errno::Errno;
use spin::Mutex;

use super::{Dev, Node, NodeKind};

/// Most descriptors a process may hold (RLIMIT_NOFILE default).
pub const NOFILE: usize = 1024;

/// What an open file refers to.
pub enum FileKind {
    /// A filesystem node.
    Node(Arc<Node>),
    /// The host's stdin stream.
    ConsoleIn,
    /// A console output channel.
    ConsoleOut(Channel),
    /// The read end of a pipe.
    PipeRead(Arc<super::ipc::Pipe>),
    /// The write end of a pipe.
    PipeWrite(Arc<super::ipc::Pipe>),
    /// An eventfd.
    EventFd(Arc<super::ipc::EventFd>),
    /// An epoll instance.
    Epoll(Arc<super::ipc::Epoll>),
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        use core::sync::atomic::Ordering;
        match &self.kind {
            FileKind::PipeRead(p) => {
                p.readers.fetch_sub(1, Ordering::Relaxed);
                crate::sched::wake_pollers();
            }
            FileKind::PipeWrite(p) => {
                p.writers.fetch_sub(1, Ordering::Relaxed);
                crate::sched::wake_pollers();
            }
            _ => {}
        }
    }
}

/// An open file description (shared by dup'ed descriptors).
pub struct OpenFile {
    /// What it refers to.
    pub kind: FileKind,
    /// File offset.
    pub offset: Mutex<u64>,
    /// Status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`, …).
    pub flags: Mutex<u32>,
    /// Canonical path at open time (for directories: the base of `*at` calls).
    pub path: Vec<u8>,
    /// Whether the host side is a terminal (console files only).
    pub tty: bool,
}

/// Access mode mask.
pub const O_ACCMODE: u32 = 3;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_APPEND: u32 = 0o2000;

impl OpenFile {
    /// A new open file.
    pub fn new(kind: FileKind, flags: u32, path: Vec<u8>) -> Arc<OpenFile> {
        Arc::new(OpenFile { kind, offset: Mutex::new(0), flags: Mutex::new(flags), path, tty: false })
    }

    fn readable(&self) -> bool {
        *self.flags.lock() & O_ACCMODE != O_WRONLY
    }

    fn writable(&self) -> bool {
        matches!(*self.flags.lock() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// Reads at `off` (or the file offset when None, advancing it).
    pub fn read(&self, buf: &mut [u8], off: Option<u64>) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        match &self.kind {
            FileKind::ConsoleIn => read_console(buf),
            FileKind::ConsoleOut(_) | FileKind::PipeWrite(_) | FileKind::Epoll(_) => Err(Errno::EBADF),
            FileKind::PipeRead(p) => p.read(buf),
            FileKind::EventFd(e) => e.read(buf),
            FileKind::Node(n) => match &n.kind {
                NodeKind::File(c) => {
                    crate::mem::vm::sync_file(n);
                    let c = c.lock();
                    let data = c.bytes();
                    let mut pos = self.offset.lock();
                    let start = off.unwrap_or(*pos);
                    let start_us = usize::try_from(start).unwrap_or(usize::MAX);
                    let avail = data.get(start_us..).unwrap_or(&[]);
                    let n = avail.len().min(buf.len());
                    buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(avail.get(..n).unwrap_or(&[]));
                    if off.is_none() {
                        *pos = start + n as u64;
                    }
                    Ok(n)
                }
                NodeKind::Dir(_) => Err(Errno::EISDIR),
                NodeKind::Symlink(_) | NodeKind::Proc(_) => Err(Errno::EINVAL),
                NodeKind::Dev(Dev::Null) => Ok(0),
                NodeKind::Dev(Dev::Zero | Dev::Full) => {
                    buf.fill(0);
                    Ok(buf.len())
                }
                NodeKind::Dev(Dev::Random) => {
                    crate::rng::fill(buf);
                    Ok(buf.len())
                }
            },
        }
    }

    /// Writes at `off` (or the file offset when None, advancing it; O_APPEND honoured).
    pub fn write(&self, data: &[u8], off: Option<u64>) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        match &self.kind {
            FileKind::ConsoleIn | FileKind::PipeRead(_) | FileKind::Epoll(_) => Err(Errno::EBADF),
            FileKind::PipeWrite(p) => p.write(data),
            FileKind::EventFd(e) => e.write(data),
            FileKind::ConsoleOut(ch) => {
                if console::output_closed(*ch) {
                    return Err(Errno::EPIPE);
                }
                console::write(*ch, data);
                Ok(data.len())
            }
            FileKind::Node(n) => match &n.kind {
                NodeKind::File(c) => {
                    let mut c = c.lock();
                    let v = c.make_mut();
                    let mut pos = self.offset.lock();
                    let start = match off {
                        Some(o) => o,
                        None if *self.flags.lock() & O_APPEND != 0 => v.len() as u64,
                        None => *pos,
                    };
                    let start = usize::try_from(start).map_err(|_| Errno::EFBIG)?;
                    let end = start.checked_add(data.len()).ok_or(Errno::EFBIG)?;
                    if end > v.len() {
                        v.try_reserve(end - v.len()).map_err(|_| Errno::ENOSPC)?;
                        v.resize(end, 0);
                    }
                    v.get_mut(start..end).ok_or(Errno::EFBIG)?.copy_from_slice(data);
                    if off.is_none() {
                        *pos = end as u64;
                    }
                    drop(pos);
                    drop(c);
                    n.meta.lock().mtime = (crate::time::realtime_ns() / 1_000_000_000) as i64;
                    crate::mem::vm::file_written(n, start as u64, end as u64);
                    Ok(data.len())
                }
                NodeKind::Dir(_) => Err(Errno::EISDIR),
                NodeKind::Symlink(_) => Err(Errno::EINVAL),
                NodeKind::Proc(_) => Err(Errno::EACCES),
                NodeKind::Dev(Dev::Full) => Err(Errno::ENOSPC),
                NodeKind::Dev(_) => Ok(data.len()),
            },
        }
    }
}

/// Reads what has arrived from the host's stdin (up to a newline, like a pipe fed
/// line by line); EAGAIN when nothing has arrived yet.
fn read_console(buf: &mut [u8]) -> Result<usize, Errno> {
    if buf.is_empty() {
        return Ok(0);
    }
    if console::input_in_bulk() {
        return console::read_input(buf).ok_or(Errno::EAGAIN);
    }
    let mut n = 0;
    // The UART holds one byte at a time and the host refills it a few
    // microseconds after each read: keep collecting while bytes keep coming, so
    // that one read() moves many bytes.
    let patience = crate::time::cycles_hz() / 10_000;
    let mut last = elfin_arch::read_cycles();
    loop {
        match console::poll_input() {
            Input::Byte(b) => {
                if let Some(slot) = buf.get_mut(n) {
                    *slot = b;
                    n += 1;
                }
                // Like a pipe fed line by line: a newline or a full buffer ends the read.
                if n == buf.len() || b == b'\n' {
                    return Ok(n);
                }
                last = elfin_arch::read_cycles();
            }
            Input::Eof => return Ok(n),
            Input::Empty if n == 0 => return Err(Errno::EAGAIN),
            Input::Empty => {
                if elfin_arch::read_cycles().wrapping_sub(last) > patience {
                    return Ok(n);
                }
                crate::timer::pause_briefly();
            }
        }
    }
}

/// One descriptor slot.
#[derive(Clone)]
pub struct Fd {
    /// The open file.
    pub file: Arc<OpenFile>,
    /// Close on exec.
    pub cloexec: bool,
}

/// The descriptor table.
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Fd>>,
}

impl FdTable {
    /// The table with stdin, stdout and stderr on the console.
    pub fn with_console(ttys: &[i32]) -> FdTable {
        let mut t = FdTable::default();
        let mk = |kind, flags, fd: i32| {
            Arc::new(OpenFile {
                kind,
                offset: Mutex::new(0),
                flags: Mutex::new(flags),
                path: Vec::new(),
                tty: ttys.contains(&fd),
            })
        };
        t.slots.push(Some(Fd { file: mk(FileKind::ConsoleIn, 0, 0), cloexec: false }));
        t.slots.push(Some(Fd { file: mk(FileKind::ConsoleOut(Channel::Stdout), O_WRONLY, 1), cloexec: false }));
        t.slots.push(Some(Fd { file: mk(FileKind::ConsoleOut(Channel::Stderr), O_WRONLY, 2), cloexec: false }));
        t
    }

    /// The open file behind `fd`.
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.slots.get(i).and_then(|s| s.as_ref()).map(|s| s.file.clone()).ok_or(Errno::EBADF)
    }

    /// The slot behind `fd`.
    pub fn slot_mut(&mut self, fd: i32) -> Result<&mut Fd, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.slots.get_mut(i).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)
    }

    /// Installs a file at the lowest free descriptor >= `min`.
    pub fn install_from(&mut self, min: usize, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        let mut i = min;
        while i < NOFILE {
            if self.slots.get(i).map(|s| s.is_none()).unwrap_or(true) {
                if self.slots.len() <= i {
                    self.slots.resize(i + 1, None);
                }
                if let Some(s) = self.slots.get_mut(i) {
                    *s = Some(Fd { file, cloexec });
                }
                return Ok(i as i32);
            }
            i += 1;
        }
        Err(Errno::EMFILE)
    }

    /// Installs a file at the lowest free descriptor.
    pub fn install(&mut self, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        self.install_from(0, file, cloexec)
    }

    /// Puts a file at exactly `fd`, closing what was there.
    pub fn install_at(&mut self, fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<(), Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if i >= NOFILE {
            return Err(Errno::EBADF);
        }
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        if let Some(s) = self.slots.get_mut(i) {
            *s = Some(Fd { file, cloexec });
        }
        Ok(())
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        match self.slots.get_mut(i) {
            Some(s @ Some(_)) => {
                *s = None;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }
}
