//! The kernel-side buffers read(2) and write(2) copy through: one per CPU, kept
//! between calls, so that a call costs neither an allocation nor zeroing its
//! buffer (for a pipe, that was as much work as the copies themselves).
use alloc::boxed::Box;
use alloc::vec;

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

/// This CPU's buffer (a new one when another call has it), `len` bytes of it
/// (at most [`SIZE`]).
pub fn take(len: usize) -> Bounce {
    let cached = FREE.get(this_cpu()).and_then(|slot| slot.lock().take());
    let buf = cached.unwrap_or_else(|| vec![0u8; SIZE].into_boxed_slice());
    Bounce { buf: Some(buf), len: len.min(SIZE) }
}

/// A buffer of `len` bytes: this CPU's kept one when it is large enough, else a
/// zeroed allocation.
pub fn take_any(len: usize) -> Bounce {
    if len <= SIZE {
        return take(len);
    }
    Bounce { buf: Some(vec![0u8; len].into_boxed_slice()), len }
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
        // Back to the CPU the call ends on (it may have slept and moved); when that
        // one has a buffer already, or this one is not of the kept size, it is freed.
        if self.buf.as_ref().is_none_or(|b| b.len() != SIZE) {
            return;
        }
        if let Some(slot) = FREE.get(this_cpu()) {
            let mut s = slot.lock();
            if s.is_none() {
                *s = self.buf.take();
            }
        }
    }
}
