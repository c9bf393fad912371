//! Other CPUs: finding and starting them, and interrupting them (wake-up and TLB
//! shootdown).
use alloc::vec::Vec;

/// The hardware ids of the usable CPUs (local APIC ids; MPIDRs on arm64), the boot
/// CPU first.
pub fn cpus(info: &crate::BootInfo) -> Vec<u64> {
    imp::cpus(info)
}

/// Prepares starting the other CPUs: `kernel` is the kernel page table, `cycles_hz`
/// the cycle counter's rate (for the start-up delays); frames come from `fs`.
/// False when the CPUs cannot be started.
pub fn prepare(kernel: &elfin_arch::PageTable, cycles_hz: u64, fs: &mut dyn elfin_arch::FrameSource) -> bool {
    imp::prepare(kernel, cycles_hz, fs)
}

/// Starts CPU `cpu` (hardware id `hw`) on the stack ending at `stack_top`; it runs
/// `entry(cpu)`, which calls [`cpu_arrived`] first. False when it did not come up.
pub fn start_cpu(cpu: usize, hw: u64, stack_top: u64, entry: extern "C" fn(usize) -> !) -> bool {
    imp::start_cpu(cpu, hw, stack_top, entry)
}

/// Called first by a started CPU, on itself.
pub fn cpu_arrived() {
    imp::cpu_arrived()
}

/// Interrupts CPU `cpu` so that it looks at its run queue (it may be halted).
pub fn send_ipi(cpu: usize) {
    imp::send_ipi(cpu)
}

/// Makes CPU `cpu` drop its TLB entries for user pages, and waits until it has.
pub fn flush_tlb_on(cpu: usize) {
    imp::flush_tlb_on(cpu)
}

/// Does the TLB flushes other CPUs asked of this one (called while spinning).
pub fn poll_tlb_flush() {
    imp::poll_tlb_flush()
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::Vec;
    use crate::x86_64::smp;

    static CYCLES_HZ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    static TRAMPOLINE: spin::Once<(u8, u64)> = spin::Once::new();

    pub fn cpus(info: &crate::BootInfo) -> Vec<u64> {
        let boot = crate::x86_64::enable_local_apic();
        let ids = smp::find_cpus(info.rsdp, boot);
        for (i, &id) in ids.iter().enumerate() {
            smp::set_apic_id(i, id);
        }
        ids.into_iter().map(u64::from).collect()
    }

    /// Installs the trampoline and its page table and records the cycle rate.
    pub fn prepare(kernel: &elfin_arch::PageTable, cycles_hz: u64, fs: &mut dyn elfin_arch::FrameSource) -> bool {
        CYCLES_HZ.store(cycles_hz, core::sync::atomic::Ordering::Relaxed);
        if TRAMPOLINE.get().is_none() {
            let Some(cr3) = elfin_arch::smp::build_trampoline_table(kernel, fs) else { return false };
            TRAMPOLINE.call_once(|| (elfin_arch::smp::install_trampoline(), cr3));
        }
        true
    }

    pub fn start_cpu(cpu: usize, hw: u64, stack_top: u64, entry: extern "C" fn(usize) -> !) -> bool {
        let Some(&(vector, cr3)) = TRAMPOLINE.get() else { return false };
        elfin_arch::smp::set_trampoline_params(cr3, stack_top, cpu, entry);
        smp::start_cpu(hw as u32, vector, CYCLES_HZ.load(core::sync::atomic::Ordering::Relaxed))
    }

    pub fn cpu_arrived() {
        smp::arrived()
    }

    pub fn send_ipi(cpu: usize) {
        smp::send_ipi(cpu)
    }

    pub fn flush_tlb_on(cpu: usize) {
        smp::flush_tlb_on(cpu)
    }

    pub fn poll_tlb_flush() {
        smp::poll_flush(elfin_arch::cpu_id())
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    use super::Vec;

    pub fn cpus(_info: &crate::BootInfo) -> Vec<u64> {
        alloc::vec![0]
    }

    pub fn prepare(_kernel: &elfin_arch::PageTable, _cycles_hz: u64, _fs: &mut dyn elfin_arch::FrameSource) -> bool {
        true
    }

    pub fn start_cpu(_cpu: usize, _hw: u64, _stack_top: u64, _entry: extern "C" fn(usize) -> !) -> bool {
        false
    }

    pub fn cpu_arrived() {}

    pub fn send_ipi(_cpu: usize) {}

    /// TLB maintenance is broadcast in the inner-shareable domain: nothing to ask.
    pub fn flush_tlb_on(_cpu: usize) {}

    pub fn poll_tlb_flush() {}
}
