//! POSIX message queues: named queues of prioritized messages (highest priority
//! first, in order within a priority), opened as descriptors; mq_notify's one
//! registration per queue; read() of a descriptor gives Linux's status line.
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_shim::errno::Errno;
use elfin_shim::uapi::signal::SI_MESGQ;
use elfin_shim::uapi::stat_mode::S_IFREG;
use elfin_shim::uapi::{Siginfo, StatInfo};
use spin::Mutex;

use super::file::{FileLike, OpenFile, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use super::{next_ino, stat_of, Inode, Meta};
use crate::task::{wait, Ctx, Process, Restart, WaitQueue};

/// The defaults and limits of /proc/sys/fs/mqueue and Linux's hard limits.
pub const MSG_DEFAULT: i64 = 10;
/// Default message size.
pub const MSGSIZE_DEFAULT: i64 = 8192;
/// msg_max.
pub const MSG_MAX: i64 = 10;
/// msgsize_max.
pub const MSGSIZE_MAX: i64 = 8192;
/// HARD_MSGMAX.
pub const HARD_MSGMAX: i64 = 65536;
/// HARD_MSGSIZEMAX.
pub const HARD_MSGSIZEMAX: i64 = 16 << 20;
/// MQ_PRIO_MAX.
pub const MQ_PRIO_MAX: u32 = 32768;
/// Device of the mqueue file system.
const MQUEUE_DEV: u64 = 0x13;

/// A notification registration: the process and what to send.
#[derive(Clone)]
pub struct Notify {
    /// The process to notify.
    pub proc: Weak<Process>,
    /// Its pid (reported by read()).
    pub pid: i32,
    /// Signal (0: SIGEV_NONE).
    pub signo: i32,
    /// sigev_value.
    pub value: u64,
}

struct State {
    /// (priority reversed, sequence) → message.
    msgs: BTreeMap<(u32, u64), Vec<u8>>,
    bytes: u64,
    notify: Option<Notify>,
    /// Receivers blocked right now (a notification only goes when none is).
    receivers: usize,
}

/// A queue, which is also its node in the mqueue file system.
pub struct Mqueue {
    ino: u64,
    meta: Mutex<Meta>,
    /// Most messages.
    pub maxmsg: i64,
    /// Largest message.
    pub msgsize: i64,
    st: Mutex<State>,
    seq: AtomicU64,
    wq: WaitQueue,
}

static NAMES: Mutex<BTreeMap<Vec<u8>, Arc<Mqueue>>> = Mutex::new(BTreeMap::new());

impl Mqueue {
    fn new(mode: u32, uid: u32, gid: u32, maxmsg: i64, msgsize: i64) -> Arc<Mqueue> {
        let mut meta = Meta::new(S_IFREG | (mode & 0o777));
        meta.uid = uid;
        meta.gid = gid;
        Arc::new(Mqueue {
            ino: next_ino(),
            meta: Mutex::new(meta),
            maxmsg,
            msgsize,
            st: Mutex::new(State { msgs: BTreeMap::new(), bytes: 0, notify: None, receivers: 0 }),
            seq: AtomicU64::new(0),
            wq: WaitQueue::new(),
        })
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.st.lock().msgs.len()
    }

    /// Sends `msg` with `prio`; waits for room unless `nonblock`, until the
    /// monotonic `deadline`.
    pub fn send(&self, cx: &Ctx, msg: Vec<u8>, prio: u32, nonblock: bool, deadline: Option<u64>) -> Result<(), Errno> {
        let mut msg = Some(msg);
        let notify = wait::wait_for(cx, &[&self.wq], deadline, Restart::Sys, || {
            let mut st = self.st.lock();
            if st.msgs.len() as i64 >= self.maxmsg {
                return if nonblock { Some(Err(Errno::EAGAIN)) } else { None };
            }
            let m = msg.take().unwrap_or_default();
            let was_empty = st.msgs.is_empty();
            st.bytes += m.len() as u64;
            st.msgs.insert((u32::MAX - prio, self.seq.fetch_add(1, Ordering::Relaxed)), m);
            // mq_notify: a message arriving in an empty queue that nobody waits on.
            let n = if was_empty && st.receivers == 0 { st.notify.take() } else { None };
            Some(Ok(n))
        })??;
        self.wq.wake_all();
        if let Some(n) = notify {
            if n.signo != 0 {
                if let Some(p) = n.proc.upgrade() {
                    let uid = cx.proc.cred.lock().uid[0];
                    let mut info = Siginfo::kill(n.signo, SI_MESGQ, cx.proc.pid, uid);
                    info.put(Siginfo::SI_VALUE_OFFSET, &n.value.to_ne_bytes());
                    crate::task::signal::send_to_process(&p, n.signo as u32, info);
                }
            }
        }
        Ok(())
    }

    /// Takes the first message of the highest priority: (message, priority).
    pub fn receive(&self, cx: &Ctx, nonblock: bool, deadline: Option<u64>) -> Result<(Vec<u8>, u32), Errno> {
        let mut counted = false;
        let r = wait::wait_for(cx, &[&self.wq], deadline, Restart::Sys, || {
            let mut st = self.st.lock();
            if let Some((&k, _)) = st.msgs.iter().next() {
                let m = st.msgs.remove(&k).unwrap_or_default();
                st.bytes -= m.len() as u64;
                return Some(Ok((m, u32::MAX - k.0)));
            }
            if nonblock {
                return Some(Err(Errno::EAGAIN));
            }
            if !counted {
                st.receivers += 1;
                counted = true;
            }
            None
        });
        if counted {
            let mut st = self.st.lock();
            st.receivers = st.receivers.saturating_sub(1);
        }
        let r = r?;
        self.wq.wake_all();
        r
    }

    /// mq_notify: registers `n` (EBUSY when another process is registered) or,
    /// with None, removes the caller's registration.
    pub fn set_notify(&self, pid: i32, n: Option<Notify>) -> Result<(), Errno> {
        let mut st = self.st.lock();
        let taken = st.notify.as_ref().is_some_and(|x| x.proc.strong_count() > 0);
        match n {
            None => {
                if st.notify.as_ref().is_some_and(|x| x.pid == pid) {
                    st.notify = None;
                }
                Ok(())
            }
            // Linux: one registration per queue, whoever holds it.
            Some(_) if taken => Err(Errno::EBUSY),
            Some(n) => {
                st.notify = Some(n);
                Ok(())
            }
        }
    }

    /// The status line read() returns.
    fn status(&self) -> Vec<u8> {
        let st = self.st.lock();
        let (signo, pid) = match &st.notify {
            Some(n) => (n.signo, n.pid),
            None => (0, 0),
        };
        let notify = match &st.notify {
            Some(n) if n.signo == 0 => 1,
            _ => 0,
        };
        alloc::format!("QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n", st.bytes, notify, signo, pid)
            .into_bytes()
    }
}

impl Inode for Mqueue {
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
    fn size(&self) -> u64 {
        self.st.lock().bytes
    }
    fn dev(&self) -> u64 {
        MQUEUE_DEV
    }
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileLike>, Errno> {
        Ok(Arc::new(MqFile { q: self }))
    }
}

/// An open message queue.
pub struct MqFile {
    /// The queue.
    pub q: Arc<Mqueue>,
}

impl FileLike for MqFile {
    fn read(&self, _cx: &Ctx, f: &OpenFile, buf: &mut [u8]) -> Result<usize, Errno> {
        let s = self.q.status();
        let mut pos = f.offset.lock();
        let start = (*pos as usize).min(s.len());
        let n = (s.len() - start).min(buf.len());
        buf.get_mut(..n).unwrap_or(&mut []).copy_from_slice(s.get(start..start + n).unwrap_or(&[]));
        *pos += n as u64;
        Ok(n)
    }
    fn poll(&self) -> u32 {
        let n = self.q.len() as i64;
        let mut r = 0;
        if n > 0 {
            r |= POLLIN | POLLRDNORM;
        }
        if n < self.q.maxmsg {
            r |= POLLOUT | POLLWRNORM;
        }
        r
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.q.wq)
    }
    fn stat(&self) -> StatInfo {
        stat_of(&*self.q)
    }
    fn inode(&self) -> Option<Arc<dyn Inode>> {
        Some(self.q.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The queue called `name` (without the leading slash).
pub fn lookup(name: &[u8]) -> Option<Arc<Mqueue>> {
    NAMES.lock().get(name).cloned()
}

/// Creates the queue `name`; EEXIST when it is there.
pub fn create(name: &[u8], mode: u32, uid: u32, gid: u32, maxmsg: i64, msgsize: i64) -> Result<Arc<Mqueue>, Errno> {
    let mut n = NAMES.lock();
    if n.contains_key(name) {
        return Err(Errno::EEXIST);
    }
    let q = Mqueue::new(mode, uid, gid, maxmsg, msgsize);
    n.insert(name.to_vec(), q.clone());
    Ok(q)
}

/// Removes the name (the queue lives on while open).
pub fn unlink(name: &[u8]) -> Result<Arc<Mqueue>, Errno> {
    NAMES.lock().remove(name).ok_or(Errno::ENOENT)
}
