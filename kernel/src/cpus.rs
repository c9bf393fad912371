//! Bringing up the other CPUs. The boot CPU finds them and starts the first;
//! each CPU, once up, starts the next before it joins the scheduler, so the
//! program starts at once and the CPUs come online one after the other while it
//! runs.
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use elfin_plat::BootInfo;

use crate::task::sched::{self, MAX_CPUS};

/// Hardware ids of the CPUs (the boot CPU first).
static HW_IDS: spin::Once<Vec<u64>> = spin::Once::new();
/// First kernel stack of each CPU.
static STACK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Finds the other CPUs (at most `limit` CPUs in all) and starts the first of
/// them; returns how many CPUs the machine offers.
pub fn start(info: &BootInfo, limit: usize) -> usize {
    let mut ids = elfin_plat::cpus(info);
    ids.truncate(limit.clamp(1, MAX_CPUS));
    let n = ids.len();
    HW_IDS.call_once(|| ids);
    if n > 1 {
        let kernel = crate::mem::kernel_page_table();
        if elfin_plat::prepare_smp(&kernel, crate::time::cycles_hz(), &mut crate::mem::frames::FrameAlloc) {
            start_one(1);
        } else {
            log::warn!("elfin: the other CPUs cannot be started (no memory for their start-up page table)");
        }
    }
    n
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
    sched::cpu_online(cpu);
    log::debug!("CPU {cpu} online");
    start_one(cpu + 1);
    sched::cpu_loop()
}
