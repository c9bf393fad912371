//! Kernel locks.
//!
//! [`Mutex`] is a spin lock for short critical sections. Interrupts are off in
//! the kernel, so a CPU spinning on a lock cannot take the TLB-shootdown
//! interrupt that the lock's holder may be waiting for: while it spins it does
//! what other CPUs asked of it. Each CPU counts the spin locks it holds, since
//! nothing may sleep while holding one.
//!
//! [`SleepLock`] is for locks held long (an address space while it is unmapped
//! or copied for fork): after a short spin its waiters sleep, so that a waiting
//! CPU runs other threads or halts instead of burning a host core, which under
//! TCG is the core the holder needs.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::task::sched::{self, MAX_CPUS};
use crate::task::wait::WaitQueue;

/// Spin-wait relaxation that serves pending TLB-flush requests.
pub struct ServeFlushes;

impl spin::RelaxStrategy for ServeFlushes {
    #[inline]
    fn relax() {
        elfin_plat::poll_tlb_flush();
        core::hint::spin_loop();
    }
}

/// Spin locks held by each CPU.
static HELD: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

fn held_slot() -> &'static AtomicU32 {
    match HELD.get(elfin_arch::cpu_id()) {
        Some(h) => h,
        None => &HELD[0],
    }
}

/// True when the calling CPU holds no spin lock (so the caller may sleep).
pub fn may_sleep() -> bool {
    held_slot().load(Ordering::Relaxed) == 0
}

/// The kernel's spin lock (serves TLB flushes while it waits).
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: spin::mutex::Mutex<T, ServeFlushes>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { inner: spin::mutex::Mutex::new(value) }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, spinning until the lock is free.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let guard = self.inner.lock();
        held_slot().fetch_add(1, Ordering::Relaxed);
        MutexGuard { guard }
    }

    /// The data, without locking (the caller has the only reference).
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// Locks if the lock is free.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let guard = self.inner.try_lock()?;
        held_slot().fetch_add(1, Ordering::Relaxed);
        Some(MutexGuard { guard })
    }
}

/// A locked [`Mutex`].
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T: ?Sized> {
    guard: spin::MutexGuard<'a, T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        held_slot().fetch_sub(1, Ordering::Relaxed);
    }
}

/// Spins before a [`SleepLock`] waiter sleeps.
const SPINS: u32 = 200;

/// A lock whose waiters sleep on a wait queue once a short spin failed (they
/// spin on when they may not sleep: no running thread, or a spin lock held).
pub struct SleepLock<T> {
    locked: AtomicBool,
    sleepers: AtomicUsize,
    queue: WaitQueue,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached through a guard, and one guard exists at a
// time (the `locked` flag), as for a mutex.
unsafe impl<T: Send> Sync for SleepLock<T> {}
// SAFETY: as above; moving the lock moves the data.
unsafe impl<T: Send> Send for SleepLock<T> {}

impl<T> SleepLock<T> {
    /// A new unlocked lock holding `value`.
    pub const fn new(value: T) -> SleepLock<T> {
        SleepLock {
            locked: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            queue: WaitQueue::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Locks if the lock is free.
    #[inline]
    pub fn try_lock(&self) -> Option<SleepGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SleepGuard { lock: self })
    }

    /// Locks: spins briefly, then sleeps until the holder lets go.
    #[inline]
    pub fn lock(&self) -> SleepGuard<'_, T> {
        // The free lock (every page fault takes one) costs one compare-exchange,
        // without the frame of the waiting path.
        match self.try_lock() {
            Some(g) => g,
            None => self.lock_contended(),
        }
    }

    /// [`Self::lock`] when the lock is held.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) -> SleepGuard<'_, T> {
        for _ in 0..SPINS {
            if let Some(g) = self.try_lock() {
                return g;
            }
            <ServeFlushes as spin::RelaxStrategy>::relax();
        }
        loop {
            if let Some(g) = self.try_lock() {
                return g;
            }
            let me = if may_sleep() { sched::try_current() } else { None };
            let Some(me) = me else {
                <ServeFlushes as spin::RelaxStrategy>::relax();
                continue;
            };
            // Count ourselves before the last try: the holder's unlock then
            // either sees us and wakes us, or comes before that try.
            sched::prepare_sleep();
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            self.queue.add(&me);
            // The count must be visible before `locked` is read again, as the
            // unlock stores `locked` before it reads the count: a failed
            // compare-exchange is only a relaxed read, which a weakly ordered CPU
            // (arm64) may make before the count's store is seen.
            core::sync::atomic::fence(Ordering::SeqCst);
            let got = self.try_lock();
            if got.is_none() {
                sched::sleep(None);
            }
            self.queue.remove(&me);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            if let Some(g) = got {
                return g;
            }
        }
    }
}

/// A locked [`SleepLock`].
pub struct SleepGuard<'a, T> {
    lock: &'a SleepLock<T>,
}

impl<T> Deref for SleepGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (the lock is held).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SleepGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one (the lock is held).
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SleepGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::SeqCst);
        if self.lock.sleepers.load(Ordering::SeqCst) > 0 {
            self.lock.queue.wake_all();
        }
    }
}
