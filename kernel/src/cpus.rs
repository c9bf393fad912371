//! Bringing up the other CPUs. The boot CPU finds them and starts the first;
//! each CPU, once up, starts the next before it joins the scheduler. The boot
//! CPU goes on with its own set-up (the root filesystem, the program's image)
//! meanwhile and waits for the last one before the program starts, so that the
//! program sees the same CPUs from its first instruction (Go and glibc size
//! their thread pools from them once).
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use elfin_plat::BootInfo;

use crate::task::sched::{self, MAX_CPUS};

/// Hardware ids of the CPUs (the boot CPU first).
static HW_IDS: spin::Once<Vec<u64>> = spin::Once::new();
/// First kernel stack of each CPU.
static STACK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Cycle counter when each CPU came online.
static ONLINE_AT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The chain of start-ups has ended (every CPU is up, or one did not come).
static BRINGUP_DONE: AtomicBool = AtomicBool::new(true);
/// CPUs the machine offers (and the kernel may use).
static PRESENT: AtomicUsize = AtomicUsize::new(1);

/// Finds the other CPUs (at most `limit` CPUs in all) and starts the first of
/// them; returns how many CPUs the machine offers.
pub fn start(info: &BootInfo, limit: usize) -> usize {
    ONLINE_AT[0].store(elfin_arch::read_cycles(), Ordering::Relaxed);
    let mut ids = elfin_plat::cpus(info);
    ids.truncate(limit.clamp(1, MAX_CPUS));
    let n = ids.len();
    HW_IDS.call_once(|| ids);
    PRESENT.store(n, Ordering::Relaxed);
    if n > 1 {
        let kernel = crate::mem::kernel_page_table();
        if elfin_plat::prepare_smp(&kernel, crate::time::cycles_hz(), &mut crate::mem::frames::FrameAlloc) {
            BRINGUP_DONE.store(false, Ordering::Release);
            if !start_one(1) {
                BRINGUP_DONE.store(true, Ordering::Release);
            }
        } else {
            log::warn!("elfin: the other CPUs cannot be started (no memory for their start-up page table)");
        }
    }
    n
}

/// Waits until the start-up of the other CPUs has ended (before the first
/// program runs).
pub fn wait_started() {
    while !BRINGUP_DONE.load(Ordering::Acquire) {
        elfin_plat::poll_tlb_flush();
        core::hint::spin_loop();
    }
    let n = sched::online();
    if n < PRESENT.load(Ordering::Relaxed) {
        log::warn!("elfin: {} of {} CPUs online", n, PRESENT.load(Ordering::Relaxed));
    }
}

/// Nanoseconds since CPU `c` came online (0 when it is not).
pub fn online_ns(c: usize) -> u64 {
    match ONLINE_AT.get(c).map(|a| a.load(Ordering::Relaxed)) {
        Some(t) if t != 0 => crate::time::cycles_to_ns(elfin_arch::read_cycles().saturating_sub(t)),
        _ => 0,
    }
}

/// Starts CPU `cpu` and waits until it has come up; false when it did not.
fn start_one(cpu: usize) -> bool {
    let Some(&hw) = HW_IDS.get().and_then(|ids| ids.get(cpu)) else { return false };
    let Some(top) = crate::mem::try_alloc_kernel_stack() else {
        log::warn!("elfin: no memory for the kernel stack of CPU {cpu}");
        return false;
    };
    STACK[cpu].store(top, Ordering::Release);
    if elfin_plat::start_cpu(cpu, hw, top, cpu_main) {
        return true;
    }
    // It may still come up later and use the stack: keep it.
    log::warn!("elfin: CPU {cpu} (hardware id {hw:#x}) did not start");
    false
}

/// Where a started CPU enters the kernel, on the stack it was given.
extern "C" fn cpu_main(cpu: usize) -> ! {
    elfin_arch::init_ap(cpu, STACK[cpu.min(MAX_CPUS - 1)].load(Ordering::Acquire));
    // The start-up page table maps the trampoline: leave it for the empty one.
    sched::leave_mm();
    elfin_plat::cpu_arrived();
    if let Some(t) = ONLINE_AT.get(cpu) {
        t.store(elfin_arch::read_cycles(), Ordering::Relaxed);
    }
    sched::cpu_online(cpu);
    log::debug!("CPU {cpu} online");
    if !start_one(cpu + 1) {
        BRINGUP_DONE.store(true, Ordering::Release);
    }
    sched::cpu_loop()
}
