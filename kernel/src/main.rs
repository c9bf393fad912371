//! The elfin kernel: boots on a VMM, loads one Linux static-PIE program from the
//! initrd, runs it in user mode and serves its system calls. Generic code only;
//! CPU specifics come from `elfin-arch`, machine specifics from `elfin-plat`.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod klog;
mod cmdline;
mod cpus;
mod fs;
mod ipc;
mod mem;
mod memcmp;
mod net;
mod rng;
mod sync;
mod syscall;
mod task;
mod time;
mod timer;
mod trap;
mod uaccess;
mod uts;
mod vdso;

use elfin_plat::BootInfo;

/// Kernel entry, called by the platform's boot code with the boot information.
#[no_mangle]
fn elfin_kernel_main(info: &BootInfo) -> ! {
    let t0 = elfin_arch::read_cycles();
    let cmd = cmdline::parse_str(elfin_plat::cmdline(info));
    elfin_plat::console::init(cmd.raw_console);
    elfin_plat::init_machine();
    klog::init(cmd.loglevel);
    elfin_arch::init_fpu_bsp();
    mem::init(info);
    let features = elfin_arch::init_bsp(mem::alloc_kernel_stack());
    time::init(t0, features.tsc_hz);
    klog::start_keeping();
    rng::init(&features);
    trap::init();
    elfin_plat::init_devices(info, mem::frames::alloc, mem::frames::free);
    net::init(cmd.ip());
    // The page table a CPU loads while it has no address space of a process.
    match mem::vm::AddrSpace::new() {
        Some(idle) => {
            task::sched::set_idle_root(idle.pt.root());
            core::mem::forget(idle);
        }
        None => elfin_plat::console::early_panic("elfin: out of memory for the idle page table"),
    }
    // The other CPUs come up while this one builds the root filesystem.
    cpus::start(info, cmd.cpus);
    let root = fs::init(info.initrd);
    if cmd.bootstat {
        time::phases::enable();
    }
    time::phases::ready();
    let t_ready = elfin_arch::read_cycles();
    log::debug!("kernel ready after {} cycles; {} free frames", t_ready - t0, mem::frames::free_count());
    let _ = features;
    task::exec::start_first(root, &cmd)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // The report is printed only: keeping it could need the heap or the log's
    // lock, which the panicking code may hold.
    klog::stop_keeping();
    kprintln!("elfin: kernel panic: {}", info);
    elfin_plat::console::report_crash();
    elfin_plat::power_off(125)
}
