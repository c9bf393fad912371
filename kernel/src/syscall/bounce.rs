//! The kernel-side buffers read(2), write(2), readv/writev and recv copy
//! through: one per CPU, kept between calls (the largest one used, up to 64
//! KiB), so that a call costs neither an allocation nor zeroing its buffer (for
//! a pipe, that was as much work as the copies themselves).
use alloc::boxed::Box;
use alloc::vec::Vec;

use elfin_shim::errno::Errno;

use crate::sync::Mutex;
use crate::task::sched::{this_cpu, MAX_CPUS};

/// Bytes in each buffer (the most one read or write step moves).
pub const SIZE: usize = 64 * 1024;

/// Each CPU's buffer while no call uses it.
static FREE: [Mutex<Option<Box<[u8]>>>; MAX_CPUS] = [const { Mutex::new(None) }; MAX_CPUS];

/// A buffer of `len` bytes for one call. It holds what earlier calls left in it:
/// callers hand on only the bytes they filled (a file's read reports how many).
pub struct Bounce {
    buf: Option<Box<[u8]>>,
    len: usize,
}

/// Smallest buffer made (small calls share it instead of each growing it).
const MIN: usize = 1024;

/// This CPU's buffer, `len` bytes of it (at most [`SIZE`]). A new one when
/// another call has it or it is smaller: sized to the next power of two, so
/// that a program of small writes never pays for a large buffer, and one that
/// moves 64 KiB at a time soon keeps one that size. ENOMEM when a new one
/// cannot be had.
pub fn take(len: usize) -> Result<Bounce, Errno> {
    let len = len.min(SIZE);
    let cached = FREE.get(this_cpu()).and_then(|slot| slot.lock().take());
    let buf = match cached {
        Some(b) if b.len() >= len => b,
        _ => zeroed(len.next_power_of_two().clamp(MIN, SIZE))?,
    };
    Ok(Bounce { buf: Some(buf), len })
}

/// A buffer of `len` bytes: this CPU's kept one when it is large enough, else a
/// zeroed allocation (ENOMEM when there is no memory for it).
pub fn take_any(len: usize) -> Result<Bounce, Errno> {
    if len <= SIZE {
        return take(len);
    }
    Ok(Bounce { buf: Some(zeroed(len)?), len })
}

/// `len` zero bytes, or ENOMEM.
fn zeroed(len: usize) -> Result<Box<[u8]>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v.into_boxed_slice())
}

impl Bounce {
    /// Shortens the buffer to `len` bytes (no longer).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// Frees the kept buffers (before the leak report, so that it shows only what
/// programs left).
pub fn drain() {
    for slot in &FREE {
        drop(slot.lock().take());
    }
}

impl core::ops::Deref for Bounce {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.as_deref().and_then(|b| b.get(..self.len)).unwrap_or(&[])
    }
}

impl core::ops::DerefMut for Bounce {
    fn deref_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        self.buf.as_deref_mut().and_then(|b| b.get_mut(..len)).unwrap_or(&mut [])
    }
}

impl Drop for Bounce {
    fn drop(&mut self) {
        // Back to the CPU the call ends on (it may have slept and moved), unless
        // that one keeps a larger one already; larger than SIZE is never kept.
        let Some(buf) = self.buf.take() else { return };
        if buf.len() > SIZE {
            return;
        }
        if let Some(slot) = FREE.get(this_cpu()) {
            let mut s = slot.lock();
            if s.as_ref().is_none_or(|kept| kept.len() < buf.len()) {
                *s = Some(buf);
            }
        }
    }
}
