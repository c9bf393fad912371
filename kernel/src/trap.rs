//! What the kernel does with traps: page faults commit lazily reserved memory,
//! other user faults become signals, kernel faults print a report and stop the VM.
use elfin_arch::{Trap, TrapFrame, UserRegs};
use elfin_shim::uapi::signal::*;

use crate::mem::vm::{Access, FaultError};
use crate::task::{signal, Ctx, ExitStatus, Restart};

/// Installs the trap and system-call handlers.
pub fn init() {
    elfin_arch::set_handlers(elfin_arch::Handlers {
        syscall: crate::syscall::entry,
        syscall_slow: crate::syscall::entry_slow,
        trap: on_trap,
        thread_start: crate::task::sched::thread_started,
    });
}

fn on_trap(tf: &mut TrapFrame, trap: Trap) {
    if let Trap::Interrupt(v) = trap {
        let from_user = tf.came_from_user();
        interrupt(tf, v);
        if from_user {
            let cx = Ctx::current();
            if !exited(&cx) {
                crate::task::rseq::on_user_return(&cx, tf);
            }
            // (The rseq work may have killed the process: a bad area or descriptor.)
            if exited(&cx) {
                drop(cx);
                after_exit();
            }
        }
        return;
    }
    if !tf.came_from_user() {
        kernel_fault(tf, trap);
    }
    // One context for the whole trap: the fault path is short, and taking the
    // current thread again costs as much as parts of it. It is never moved (a
    // move copies it), only dropped before an exited thread leaves for good.
    let cx = Ctx::current();
    exception(&cx, tf, trap);
    if !exited(&cx) {
        crate::task::rseq::on_user_return(&cx, tf);
    }
    if exited(&cx) {
        drop(cx);
        after_exit();
    }
}

/// Whether the thread has exited: before its trap returns to user mode it then
/// leaves through [`after_exit`], holding no references (an exiting thread never
/// comes back from `finish_if_exited`). (Not after an interrupt of the kernel
/// itself, such as the idle loop of a thread that is leaving the CPU.)
#[inline(always)]
fn exited(cx: &Ctx) -> bool {
    cx.thread.exited.load(core::sync::atomic::Ordering::SeqCst)
}

/// The end of a trap from user mode of a thread that has exited: it never
/// returns to user mode (its address space may be gone).
#[cold]
#[inline(never)]
fn after_exit() {
    crate::task::exit::finish_if_exited();
}

fn interrupt(tf: &mut TrapFrame, v: u8) {
    let tick = crate::timer::on_interrupt(v);
    if !tick {
        // A device interrupt (console input, the network): wake who waits for it.
        crate::fs::console::check_input();
        crate::net::poll_due();
    }
    if tf.came_from_user() {
        if tick {
            crate::task::sched::preempt();
        }
        // A kick (another CPU's signal, kill or stop) is acted on now, not at the
        // next tick.
        let cx = Ctx::current();
        signal::deliver_pending(&cx, tf, Restart::Never);
    }
}

fn exception(cx: &Ctx, tf: &mut TrapFrame, trap: Trap) {
    let (sig, code, addr) = match trap {
        Trap::PageFault { addr, write, exec, .. } => {
            let access = if exec {
                Access::Exec
            } else if write {
                Access::Write
            } else {
                Access::Read
            };
            let r = cx.mm().fault(addr, access);
            match r {
                Ok(()) => {
                    crate::time::phases::count_fault();
                    cx.proc.minflt.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    cx.thread.minflt.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    return;
                }
                Err(FaultError::OutOfMemory) => {
                    kprintln!(
                        "elfin: out of memory: killed pid {} (fault at {:#x}, rip {:#x})",
                        cx.proc.pid,
                        addr,
                        tf.ip()
                    );
                    signal::kill_group(&cx.proc, ExitStatus::Killed(SIGKILL as u32));
                    signal::deliver_pending(cx, tf, Restart::Never);
                    return;
                }
                Err(FaultError::Bus) => (SIGBUS, BUS_ADRERR, addr),
                Err(FaultError::AccErr) => (SIGSEGV, SEGV_ACCERR, addr),
                Err(_) => (SIGSEGV, SEGV_MAPERR, addr),
            }
        }
        Trap::InvalidOpcode => (SIGILL, ILL_ILLOPN, tf.ip()),
        Trap::GeneralProtection => (SIGSEGV, SI_KERNEL, 0),
        Trap::Divide => (SIGFPE, FPE_INTDIV, tf.ip()),
        Trap::FloatingPoint => (SIGFPE, SI_KERNEL, tf.ip()),
        Trap::Breakpoint => (SIGTRAP, TRAP_BRKPT, tf.ip()),
        Trap::Alignment => (SIGBUS, BUS_ADRALN, tf.ip()),
        Trap::OtherException(_) => (SIGSEGV, SI_KERNEL, tf.ip()),
        Trap::Interrupt(_) => return,
    };
    signal::force_fault(cx, tf, sig as u32, code, addr);
}

fn kernel_fault(tf: &TrapFrame, trap: Trap) -> ! {
    crate::klog::stop_keeping();
    kprintln!("elfin: kernel fault: {:?} (vector {}, error code {:#x})\n{}", trap, tf.vector, tf.error, tf);
    elfin_plat::console::report_crash();
    elfin_plat::power_off(125)
}
