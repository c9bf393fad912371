//! Pseudo-terminals, as Linux's Unix 98 ptys: opening /dev/ptmx makes a pair
//! whose slave is /dev/pts/N. What the master writes is the slave's input,
//! through the slave's line discipline ([`elfin_kcore::tty::Ldisc`]: echo, line
//! editing, the signal characters); what the slave writes is the master's input,
//! after output processing. A pty is the controlling terminal of at most one
//! session, got by a session leader opening the slave (without O_NOCTTY) or with
//! TIOCSCTTY; its foreground group gets the signal characters and SIGWINCH.
//!
//! Closing the master hangs the slave up (reads give 0, writes and ioctls EIO,
//! the session leader gets SIGHUP and SIGCONT) and removes /dev/pts/N; closing
//! every slave makes the master's reads fail with EIO once drained, as
//! `drivers/tty/pty.c` does.
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use elfin_kcore::tty::{Ldisc, Modes, VMIN, VTIME};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::{SIGCONT, SIGHUP, SIGWINCH};
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::termios::{HUPCL, TOSTOP};
use elfin_shim::uapi::{StatInfo, Termios, Winsize};
use elfin_shim::UAddr;

use super::file::{FileLike, InodeFile, OpenFile, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use super::{dtype_of, next_ino, stat_of, tty, DirEntry, Inode, Meta};
use crate::sync::Mutex;
use crate::task::{table, Ctx, WaitQueue, Wake};

/// Major number of the slaves (UNIX98_PTY_SLAVE_MAJOR).
const SLAVE_MAJOR: u32 = 136;
/// Most ptys at once (Linux's default /proc/sys/kernel/pty/max).
const MAX_PTYS: u32 = 4096;
/// What the master's input queue holds at most before slave writes wait (Linux's
/// tty buffer limit).
const TO_MASTER_MAX: usize = 65536;
/// Device number of the devpts filesystem.
const DEVPTS_DEV: u64 = 0x1a;
/// The group owning the slaves (Debian's `tty` group, devpts' `gid=5`).
const TTY_GID: u32 = 5;
/// A read in packet mode starts with this status byte when it carries data.
const TIOCPKT_DATA: u8 = 0;
/// open(2) flags TIOCGPTPEER takes.
const O_ACCMODE: u32 = 3;
const O_NOCTTY: u32 = 0o400;
const O_NONBLOCK: u32 = 0o4000;
const O_CLOEXEC: u32 = 0o2000000;
/// `si_code` of a signal the kernel raises (SI_KERNEL).
const SI_KERNEL: i32 = 0x80;
/// The signals TIOCSIG takes: SIGINT, SIGQUIT, SIGTSTP.
const SIG_INT: u64 = 2;
const SIG_QUIT: u64 = 3;
const SIG_TSTP: u64 = 20;

/// The live ptys by index: their /dev/pts entries.
static PTYS: Mutex<BTreeMap<u32, Arc<PtsNode>>> = Mutex::new(BTreeMap::new());

/// One pseudo-terminal pair.
pub struct Pty {
    index: u32,
    st: Mutex<State>,
    /// Woken when either side's readiness may have changed.
    wq: WaitQueue,
    /// Open slave files.
    slaves: AtomicUsize,
    /// A slave was opened once: the master reads EIO when none is left.
    slave_seen: AtomicBool,
    /// The master is closed: the slave is hung up.
    master_gone: AtomicBool,
    /// TIOCSPTLCK: the slave cannot be opened (set at creation, as Linux).
    locked: AtomicBool,
}

struct State {
    termios: Termios,
    winsize: Winsize,
    /// The slave's input side: what the master writes, edited and echoed.
    ldisc: Ldisc,
    /// What the master reads: the slave's processed output and the echoes.
    to_master: VecDeque<u8>,
    /// Foreground process group; 0 none.
    fg: i32,
    /// The session whose controlling terminal this is.
    session: Option<i32>,
    /// TIOCPKT: master reads carry a status byte.
    packet: bool,
    /// TIOCEXCL: further opens of the slave need CAP_SYS_ADMIN.
    exclusive: bool,
}

fn modes(t: &Termios) -> Modes {
    Modes { iflag: t.c_iflag, oflag: t.c_oflag, lflag: t.c_lflag, cc: t.c_cc }
}

fn caller_ids() -> (i32, i32, i32) {
    match crate::task::sched::try_current() {
        Some(t) => {
            let p = &t.process;
            (p.pid, p.pgid.load(Ordering::Relaxed), p.sid.load(Ordering::Relaxed))
        }
        None => (0, 0, 0),
    }
}

fn caller_is_admin() -> bool {
    crate::task::sched::try_current().is_none_or(|t| t.process.cred.lock().capable(crate::task::caps::CAP_SYS_ADMIN))
}

/// The pty whose controlling session is `sid`, if any.
fn of_session(sid: i32) -> Option<Arc<Pty>> {
    let nodes: Vec<Arc<PtsNode>> = PTYS.lock().values().cloned().collect();
    nodes.into_iter().filter_map(|n| n.pty.upgrade()).find(|p| p.st.lock().session == Some(sid))
}

/// Opens /dev/ptmx (the node `ptmx`, which the master's fstat shows): a new
/// pair, its master.
pub fn open_master(ptmx: Arc<dyn Inode>) -> Result<Arc<dyn FileLike>, Errno> {
    let mut termios = Termios::linux_default();
    termios.c_cflag &= !HUPCL;
    let uid = crate::task::sched::try_current().map_or(0, |t| t.process.cred.lock().uid[1]);
    let mut live = PTYS.lock();
    // /dev/pts/0 is the console when it is a terminal.
    let lowest = u32::from(super::console::is_tty());
    let index = (lowest..MAX_PTYS).find(|i| !live.contains_key(i)).ok_or(Errno::ENOSPC)?;
    let pty = Arc::new(Pty {
        index,
        st: Mutex::new(State {
            termios,
            winsize: Winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 },
            ldisc: Ldisc::new(modes(&termios)),
            to_master: VecDeque::new(),
            fg: 0,
            session: None,
            packet: false,
            exclusive: false,
        }),
        wq: WaitQueue::new(),
        slaves: AtomicUsize::new(0),
        slave_seen: AtomicBool::new(false),
        master_gone: AtomicBool::new(false),
        locked: AtomicBool::new(true),
    });
    let meta = Meta { uid, gid: TTY_GID, ..Meta::new(S_IFCHR | 0o620) };
    live.insert(index, Arc::new(PtsNode { ino: next_ino(), meta: Mutex::new(meta), pty: Arc::downgrade(&pty) }));
    Ok(Arc::new(Master { pty, ptmx }))
}

/// Opens the slave of pty `index` (a node made by mknod with its device number).
pub fn open_index(index: u32, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
    let node = PTYS.lock().get(&index).cloned().ok_or(Errno::ENXIO)?;
    node.open(flags)
}

/// Opens /dev/tty for session `sid` when a pty is its controlling terminal.
pub fn open_controlling(sid: i32) -> Option<Result<Arc<dyn FileLike>, Errno>> {
    let pty = of_session(sid)?;
    let node = PTYS.lock().get(&pty.index).cloned()?;
    Some(open_slave(pty, node, O_NOCTTY))
}

/// For /proc/PID/stat: the device number of session `sid`'s controlling terminal as
/// Linux encodes it there (`tty_nr`), and the pty's foreground group (`tpgid`).
pub fn session_tty(sid: i32) -> Option<(u32, i32)> {
    if sid == 0 && super::console::is_tty() {
        // The first session's terminal is the console, /dev/pts/0.
        return Some((SLAVE_MAJOR << 8, tty::foreground()));
    }
    let pty = of_session(sid)?;
    let (major, minor) = (SLAVE_MAJOR + pty.index / 256, pty.index % 256);
    let fg = pty.st.lock().fg;
    Some(((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12), fg))
}

/// A session leader (`sid`) exits: its controlling pty's foreground group gets
/// SIGHUP and the pty no longer belongs to the session (Linux's disassociate_ctty).
pub fn leader_exited(sid: i32) {
    let Some(pty) = of_session(sid) else { return };
    let fg = {
        let mut st = pty.st.lock();
        st.session = None;
        core::mem::take(&mut st.fg)
    };
    if fg > 0 {
        tty::signal_group(fg, SIGHUP as u32);
    }
}

fn open_slave(pty: Arc<Pty>, node: Arc<PtsNode>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
    if pty.master_gone.load(Ordering::SeqCst) || pty.locked.load(Ordering::SeqCst) {
        return Err(Errno::EIO);
    }
    if pty.st.lock().exclusive && !caller_is_admin() {
        return Err(Errno::EBUSY);
    }
    // A session leader without a controlling terminal gets this one (tty_open).
    let (pid, pgid, sid) = caller_ids();
    if flags & O_NOCTTY == 0 && pid != 0 && pid == sid && of_session(sid).is_none() {
        let mut st = pty.st.lock();
        if st.session.is_none() {
            st.session = Some(sid);
            st.fg = pgid;
        }
    }
    pty.slaves.fetch_add(1, Ordering::SeqCst);
    pty.slave_seen.store(true, Ordering::SeqCst);
    pty.wq.wake_all();
    Ok(Arc::new(Slave { pty, node }))
}

/// /dev/pts/0 when the console is a terminal: the console itself (see
/// `console::is_tty`).
pub struct ConsoleNode {
    ino: u64,
    meta: Meta,
}

/// The console's /dev/pts/0 node.
pub fn console_node() -> Arc<ConsoleNode> {
    static NODE: spin::Once<Arc<ConsoleNode>> = spin::Once::new();
    NODE.call_once(|| {
        Arc::new(ConsoleNode { ino: next_ino(), meta: Meta { gid: TTY_GID, ..Meta::new(S_IFCHR | 0o620) } })
    })
    .clone()
}

/// statfs of devpts: DEVPTS_SUPER_MAGIC, mounted rw,nosuid,noexec,relatime.
fn devpts_statfs() -> Option<elfin_shim::uapi::Statfs> {
    use super::st::*;
    Some(super::pseudo_statfs(0x1cd1, NOSUID | NOEXEC | RELATIME))
}

impl Inode for ConsoleNode {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        self.meta
    }
    fn dev(&self) -> u64 {
        DEVPTS_DEV
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        devpts_statfs()
    }
    fn rdev(&self) -> u64 {
        StatInfo::makedev(SLAVE_MAJOR, 0)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Ok(super::console::open_console())
    }
}

/// /dev/pts: the live slaves, the console when it is a terminal, and `ptmx`.
pub struct PtsDir {
    ino: u64,
    meta: Meta,
    ptmx: Arc<dyn Inode>,
}

/// The /dev/pts directory.
pub fn pts_dir() -> Arc<dyn Inode> {
    Arc::new(PtsDir {
        ino: next_ino(),
        meta: Meta::new(S_IFDIR | 0o755),
        ptmx: super::dev::DevNode::new(super::dev::Dev::Ptmx, 0),
    })
}

impl Inode for PtsDir {
    fn ino(&self) -> u64 {
        self.ino
    }
    fn meta(&self) -> Meta {
        self.meta
    }
    fn dev(&self) -> u64 {
        DEVPTS_DEV
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        devpts_statfs()
    }
    fn nlink(&self) -> u32 {
        2
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name == b"ptmx" {
            return Ok(self.ptmx.clone());
        }
        if name == b"0" && super::console::is_tty() {
            return Ok(console_node());
        }
        let index: u32 = core::str::from_utf8(name)
            .ok()
            .filter(|s| !s.starts_with('0') || s.len() == 1)
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        let node = PTYS.lock().get(&index).cloned().ok_or(Errno::ENOENT)?;
        Ok(node)
    }
    fn entries(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut out = alloc::vec![DirEntry { name: b"ptmx".to_vec(), ino: self.ptmx.ino(), dtype: dtype_of(S_IFCHR) }];
        if super::console::is_tty() {
            out.push(DirEntry { name: b"0".to_vec(), ino: console_node().ino, dtype: dtype_of(S_IFCHR) });
        }
        for (i, n) in PTYS.lock().iter() {
            out.push(DirEntry { name: alloc::format!("{i}").into_bytes(), ino: n.ino, dtype: dtype_of(S_IFCHR) });
        }
        Ok(out)
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Ok(InodeFile::path_only(self))
    }
}

/// /dev/pts/N.
pub struct PtsNode {
    ino: u64,
    meta: Mutex<Meta>,
    pty: Weak<Pty>,
}

impl Inode for PtsNode {
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
    fn dev(&self) -> u64 {
        DEVPTS_DEV
    }
    fn statfs(&self) -> Option<elfin_shim::uapi::Statfs> {
        devpts_statfs()
    }
    fn rdev(&self) -> u64 {
        let index = self.pty.upgrade().map_or(0, |p| p.index);
        StatInfo::makedev(SLAVE_MAJOR + index / 256, index % 256)
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        let pty = self.pty.upgrade().ok_or(Errno::EIO)?;
        open_slave(pty, self, flags)
    }
}

impl Pty {
    fn hung_up(&self) -> bool {
        self.master_gone.load(Ordering::SeqCst)
    }

    /// Sends `sig` to the foreground group, when there is one.
    fn signal_foreground(&self, sig: u32) {
        let fg = self.st.lock().fg;
        if fg > 0 {
            tty::signal_group(fg, sig);
        }
    }

    /// Input for the slave (a master write, TIOCSTI): as much of `data` as the
    /// line discipline takes, with its echo for the master; returns the count.
    fn receive(&self, data: &[u8]) -> usize {
        let mut sigs = Vec::new();
        let mut echo = Vec::new();
        let mut taken = 0;
        {
            let mut st = self.st.lock();
            for &b in data {
                if !st.ldisc.can_receive() {
                    break;
                }
                if let Some(sig) = st.ldisc.receive(b, &mut echo) {
                    sigs.push(sig);
                }
                taken += 1;
            }
            st.to_master.extend(echo.iter());
        }
        self.wq.wake(Wake::Readable);
        for sig in sigs {
            self.signal_foreground(sig);
        }
        taken
    }

    /// Whether a slave read would return now: a line, VMIN bytes (with VTIME 0)
    /// or one byte.
    fn slave_readable(&self) -> bool {
        let st = self.st.lock();
        let m = st.ldisc.modes();
        let min = match (m.cc.get(VMIN).copied(), m.cc.get(VTIME).copied()) {
            (Some(min), Some(0)) if min > 0 => usize::from(min),
            _ => 1,
        };
        st.ldisc.input_available(min)
    }

    /// Whether the caller's session has this pty as its controlling terminal.
    fn is_controlling(&self, cx: &Ctx) -> bool {
        self.st.lock().session == Some(cx.proc.sid.load(Ordering::Relaxed))
    }

    /// The ioctls both sides answer (tty_ioctl, tty_mode_ioctl, n_tty_ioctl);
    /// `master` says which side the file is. None: not one of them.
    fn common_ioctl(&self, cx: &Ctx, master: bool, cmd: u32, arg: u64) -> Option<Result<u64, Errno>> {
        if !master && tty::changes_terminal(cmd) && self.is_controlling(cx) {
            let fg = self.st.lock().fg;
            if let Err(e) = tty::background_access(cx, fg, true) {
                return Some(Err(e));
            }
        }
        let r = match cmd {
            // TCGETS
            0x5401 => {
                let t = self.st.lock().termios;
                cx.write_val(UAddr(arg), &t).map(|()| 0)
            }
            // TCSETS, TCSETSW, TCSETSF (which flushes the input too)
            0x5402..=0x5404 => cx.read_val::<Termios>(UAddr(arg)).map(|new| {
                let mut st = self.st.lock();
                if cmd == 0x5404 {
                    st.ldisc.flush_input();
                }
                st.termios = new;
                st.ldisc.set_modes(modes(&new));
                drop(st);
                self.wq.wake_all();
                0
            }),
            // TCFLSH: TCIFLUSH 0, TCOFLUSH 1, TCIOFLUSH 2 (the slave's queues: its
            // input, and its output waiting for the master).
            0x540b => match arg {
                0..=2 => {
                    let mut st = self.st.lock();
                    if arg != 1 {
                        st.ldisc.flush_input();
                    }
                    if arg != 0 {
                        st.to_master.clear();
                    }
                    drop(st);
                    self.wq.wake_all();
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            },
            // TCSBRK, TCXONC, TCSBRKP: output is never held back.
            0x5409 | 0x540a | 0x5425 => Ok(0),
            // TIOCGWINSZ
            0x5413 => {
                let ws = self.st.lock().winsize;
                cx.write_val(UAddr(arg), &ws).map(|()| 0)
            }
            // TIOCSWINSZ: SIGWINCH to the foreground group when the size changes.
            0x5414 => cx.read_val::<Winsize>(UAddr(arg)).map(|ws| {
                let changed = {
                    let mut st = self.st.lock();
                    let old = core::mem::replace(&mut st.winsize, ws);
                    (old.ws_row, old.ws_col, old.ws_xpixel, old.ws_ypixel)
                        != (ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel)
                };
                if changed {
                    self.signal_foreground(SIGWINCH as u32);
                }
                0
            }),
            // TIOCGPGRP: of the caller's controlling terminal (any caller on the
            // master side).
            0x540f => {
                if !master && !self.is_controlling(cx) {
                    return Some(Err(Errno::ENOTTY));
                }
                let fg = self.st.lock().fg;
                cx.write_val(UAddr(arg), &fg).map(|()| 0)
            }
            // TIOCSPGRP: a group of the caller's session, on its controlling terminal.
            0x5410 => cx.read_val::<i32>(UAddr(arg)).and_then(|pgid| {
                if !self.is_controlling(cx) {
                    return Err(Errno::ENOTTY);
                }
                if pgid < 0 {
                    return Err(Errno::EINVAL);
                }
                if !table::group_exists(pgid, Some(cx.proc.sid.load(Ordering::Relaxed))) {
                    return Err(Errno::EPERM);
                }
                self.st.lock().fg = pgid;
                Ok(0)
            }),
            // TIOCGSID
            0x5429 => {
                let session = self.st.lock().session;
                match session {
                    Some(sid) if master || self.is_controlling(cx) => cx.write_val(UAddr(arg), &sid).map(|()| 0),
                    _ => Err(Errno::ENOTTY),
                }
            }
            // TIOCOUTQ: a pty holds no output of its own (what one side writes is
            // at once the other side's input), so 0, as Linux.
            0x5411 => cx.write_val(UAddr(arg), &0i32).map(|()| 0),
            // TIOCGETD: the line discipline, N_TTY.
            0x5424 => cx.write_val(UAddr(arg), &0i32).map(|()| 0),
            // TIOCSETD: only N_TTY exists here.
            0x5423 => cx.read_val::<i32>(UAddr(arg)).and_then(|d| if d == 0 { Ok(0) } else { Err(Errno::EINVAL) }),
            // TIOCEXCL, TIOCNXCL, TIOCGEXCL
            0x540c | 0x540d => {
                self.st.lock().exclusive = cmd == 0x540c;
                Ok(0)
            }
            0x8004_5440 => {
                let excl = i32::from(self.st.lock().exclusive);
                cx.write_val(UAddr(arg), &excl).map(|()| 0)
            }
            _ => return None,
        };
        Some(r)
    }
}

/// The master side of a pty.
pub struct Master {
    pty: Arc<Pty>,
    /// The node it was opened through.
    ptmx: Arc<dyn Inode>,
}

impl Drop for Master {
    fn drop(&mut self) {
        let pty = &self.pty;
        pty.master_gone.store(true, Ordering::SeqCst);
        {
            let mut live = PTYS.lock();
            if live.get(&pty.index).is_some_and(|n| n.pty.ptr_eq(&Arc::downgrade(pty))) {
                live.remove(&pty.index);
            }
        }
        let session = {
            let mut st = pty.st.lock();
            st.fg = 0;
            st.session.take()
        };
        pty.wq.wake_all();
        // The hang-up: the controlling process gets SIGHUP and SIGCONT
        // (tty_signal_session_leader).
        if let Some(leader) = session.and_then(table::process) {
            for sig in [SIGHUP, SIGCONT] {
                let info = elfin_shim::uapi::Siginfo::kill(sig, SI_KERNEL, 0, 0);
                crate::task::signal::send_to_process(&leader, sig as u32, info);
            }
        }
    }
}

impl FileLike for Master {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pty = &self.pty;
        let n = crate::task::wait::wait_for(cx, &[&pty.wq], None, crate::task::Restart::Sys, || {
            let mut st = pty.st.lock();
            if !st.to_master.is_empty() {
                let skip = usize::from(st.packet);
                let n = st.to_master.len().min(buf.len().saturating_sub(skip));
                if skip == 1 {
                    if let Some(b) = buf.first_mut() {
                        *b = TIOCPKT_DATA;
                    }
                }
                for (slot, b) in buf.iter_mut().skip(skip).zip(st.to_master.drain(..n)) {
                    *slot = b;
                }
                return Some(Ok(n + skip));
            }
            if pty.slave_seen.load(Ordering::SeqCst) && pty.slaves.load(Ordering::SeqCst) == 0 {
                return Some(Err(Errno::EIO));
            }
            if f.nonblocking() {
                return Some(Err(Errno::EAGAIN));
            }
            None
        })??;
        pty.wq.wake(Wake::Writable);
        Ok(n)
    }

    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let pty = &self.pty;
        let mut done = 0;
        while done < data.len() {
            let rest = data.get(done..).unwrap_or(&[]);
            let step = crate::task::wait::wait_for(cx, &[&pty.wq], None, crate::task::Restart::Sys, || {
                match pty.receive(rest) {
                    0 if f.nonblocking() => Some(Err(Errno::EAGAIN)),
                    0 => None,
                    n => Some(Ok(n)),
                }
            });
            match step {
                Ok(Ok(n)) => done += n,
                Ok(Err(e)) | Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
        Ok(done)
    }

    fn poll(&self) -> u32 {
        let pty = &self.pty;
        let st = pty.st.lock();
        let mut r = 0;
        if !st.to_master.is_empty() {
            r |= POLLIN | POLLRDNORM;
        }
        if st.ldisc.can_receive() {
            r |= POLLOUT | POLLWRNORM;
        }
        if pty.slave_seen.load(Ordering::SeqCst) && pty.slaves.load(Ordering::SeqCst) == 0 {
            r |= POLLHUP;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.wq)
    }

    fn stat(&self) -> StatInfo {
        stat_of(&*self.ptmx)
    }

    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let pty = &self.pty;
        if let Some(r) = pty.common_ioctl(cx, true, cmd, arg) {
            return r;
        }
        match cmd {
            // TIOCGPTN
            0x8004_5430 => cx.write_val(UAddr(arg), &pty.index).map(|()| 0),
            // TIOCSPTLCK
            0x4004_5431 => {
                let lock: i32 = cx.read_val(UAddr(arg))?;
                pty.locked.store(lock != 0, Ordering::SeqCst);
                Ok(0)
            }
            // TIOCGPTLCK
            0x8004_5439 => cx.write_val(UAddr(arg), &i32::from(pty.locked.load(Ordering::SeqCst))).map(|()| 0),
            // TIOCPKT, TIOCGPKT
            0x5420 => {
                let on: i32 = cx.read_val(UAddr(arg))?;
                pty.st.lock().packet = on != 0;
                Ok(0)
            }
            0x8004_5438 => cx.write_val(UAddr(arg), &i32::from(pty.st.lock().packet)).map(|()| 0),
            // TIOCSIG: what the signal characters raise, for the slave's
            // foreground group (pty_signal takes no other signal).
            0x4004_5436 => match arg {
                SIG_INT | SIG_QUIT | SIG_TSTP => {
                    pty.signal_foreground(arg as u32);
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            },
            // FIONREAD / TIOCINQ: what the master can read.
            0x541b => {
                let n = pty.st.lock().to_master.len().min(i32::MAX as usize) as i32;
                cx.write_val(UAddr(arg), &n).map(|()| 0)
            }
            // TIOCGPTPEER: a descriptor of the slave, opened with these flags
            // (Linux ignores the ones open(2) would not take here).
            0x5441 => {
                let flags = arg as u32;
                let node = PTYS.lock().get(&pty.index).cloned().ok_or(Errno::EIO)?;
                let file = open_slave(pty.clone(), node, flags)?;
                let path = alloc::format!("/dev/pts/{}", pty.index).into_bytes();
                let of = OpenFile::new(file, flags & (O_ACCMODE | O_NONBLOCK), path);
                Ok(cx.install(of, flags & O_CLOEXEC != 0)? as u64)
            }
            // TIOCSCTTY, TIOCNOTTY: only the slave can be a controlling terminal.
            0x540e | 0x5422 => Err(Errno::ENOTTY),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn fasync(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A slave side of a pty (one per open).
pub struct Slave {
    pty: Arc<Pty>,
    node: Arc<PtsNode>,
}

impl Drop for Slave {
    fn drop(&mut self) {
        self.pty.slaves.fetch_sub(1, Ordering::SeqCst);
        self.pty.wq.wake_all();
    }
}

impl FileLike for Slave {
    fn read(&self, cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let pty = &self.pty;
        if pty.hung_up() {
            return Ok(0);
        }
        let (fg, controlling) = {
            let st = pty.st.lock();
            (st.fg, st.session == Some(cx.proc.sid.load(Ordering::Relaxed)))
        };
        if controlling {
            tty::background_read(cx, fg)?;
        }
        let m = pty.st.lock().ldisc.modes();
        let n = tty::ldisc_read(cx, f.nonblocking(), buf, m, &pty.wq, |max| {
            if pty.hung_up() {
                return Some(None);
            }
            let mut st = pty.st.lock();
            if !st.ldisc.input_available(1) {
                return None;
            }
            let mut data = alloc::vec![0u8; max];
            let k = st.ldisc.read(&mut data);
            data.truncate(k);
            Some(Some(data))
        })?;
        pty.wq.wake(Wake::Writable);
        Ok(n)
    }

    fn write(&self, cx: &Ctx, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
        let pty = &self.pty;
        if !pty.hung_up() && pty.is_controlling(cx) {
            let (tostop, fg) = {
                let st = pty.st.lock();
                (st.termios.c_lflag & TOSTOP != 0, st.fg)
            };
            if tostop {
                tty::background_access(cx, fg, true)?;
            }
        }
        let mut done = 0;
        while done < data.len() {
            let rest = data.get(done..).unwrap_or(&[]);
            let step = crate::task::wait::wait_for(cx, &[&pty.wq], None, crate::task::Restart::Sys, || {
                if pty.hung_up() {
                    return Some(Err(Errno::EIO));
                }
                let mut st = pty.st.lock();
                let room = TO_MASTER_MAX.saturating_sub(st.to_master.len());
                if room == 0 {
                    return if f.nonblocking() { Some(Err(Errno::EAGAIN)) } else { None };
                }
                // Output processing at most doubles a byte (NL to CR NL).
                let take = rest.len().min(room.div_ceil(2));
                let mut out = Vec::with_capacity(take + take / 8);
                st.ldisc.output(rest.get(..take).unwrap_or(&[]), &mut out);
                st.to_master.extend(out.iter());
                Some(Ok(take))
            });
            match step {
                Ok(Ok(n)) => {
                    done += n;
                    pty.wq.wake(Wake::Readable);
                }
                Ok(Err(e)) | Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
        Ok(done)
    }

    fn poll(&self) -> u32 {
        let pty = &self.pty;
        if pty.hung_up() {
            return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
        }
        let mut r = 0;
        if pty.slave_readable() {
            r |= POLLIN | POLLRDNORM;
        }
        if pty.st.lock().to_master.len() < TO_MASTER_MAX {
            r |= POLLOUT | POLLWRNORM;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.wq)
    }

    fn stat(&self) -> StatInfo {
        stat_of(&*self.node)
    }

    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.node.clone())
    }

    fn ioctl(&self, cx: &Ctx, _f: &OpenFile, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let pty = &self.pty;
        if pty.hung_up() {
            // hung_up_tty_ioctl
            return Err(if cmd == 0x5410 { Errno::ENOTTY } else { Errno::EIO });
        }
        if let Some(r) = pty.common_ioctl(cx, false, cmd, arg) {
            return r;
        }
        match cmd {
            // FIONREAD / TIOCINQ
            0x541b => {
                let n = pty.st.lock().ldisc.readable().min(i32::MAX as usize) as i32;
                cx.write_val(UAddr(arg), &n).map(|()| 0)
            }
            // TIOCGPTPEER: only a master has a peer.
            0x5441 => Err(Errno::EIO),
            // TIOCSCTTY: for a session leader without a controlling terminal; a
            // terminal of another session only with arg 1 and CAP_SYS_ADMIN.
            0x540e => {
                let p = &cx.proc;
                let (pid, pgid, sid) = (p.pid, p.pgid.load(Ordering::Relaxed), p.sid.load(Ordering::Relaxed));
                if pty.is_controlling(cx) && pid == sid {
                    return Ok(0);
                }
                if pid != sid || of_session(sid).is_some() {
                    return Err(Errno::EPERM);
                }
                let mut st = pty.st.lock();
                if st.session.is_some() && !(arg == 1 && p.cred.lock().capable(crate::task::caps::CAP_SYS_ADMIN)) {
                    return Err(Errno::EPERM);
                }
                st.session = Some(sid);
                st.fg = pgid;
                Ok(0)
            }
            // TIOCNOTTY: the caller's session gives its controlling terminal up; a
            // session leader's foreground group gets SIGHUP and SIGCONT.
            0x5422 => {
                if !pty.is_controlling(cx) {
                    return Err(Errno::ENOTTY);
                }
                if cx.proc.pid == cx.proc.sid.load(Ordering::Relaxed) {
                    let fg = {
                        let mut st = pty.st.lock();
                        st.session = None;
                        core::mem::take(&mut st.fg)
                    };
                    if fg > 0 {
                        tty::signal_group(fg, SIGHUP as u32);
                        tty::signal_group(fg, SIGCONT as u32);
                    }
                }
                Ok(0)
            }
            // TIOCSTI: a byte as if typed, on the caller's controlling terminal
            // (or with CAP_SYS_ADMIN).
            0x5412 => {
                if !pty.is_controlling(cx) && !cx.proc.cred.lock().capable(crate::task::caps::CAP_SYS_ADMIN) {
                    return Err(Errno::EPERM);
                }
                let b: u8 = cx.read_val(UAddr(arg))?;
                pty.receive(&[b]);
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn fasync(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
