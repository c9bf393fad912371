//! What the kernel does with traps: page faults commit lazily reserved memory,
//! other user faults kill the program with the matching signal, kernel faults
//! print a report and stop the VM.
use elfin_arch::{Trap, TrapFrame, UserRegs};

use crate::mem::vm::{Access, FaultError};
use crate::proc::{exit_vm, CURRENT};

/// Installs the trap and system-call handlers.
pub fn init() {
    elfin_arch::set_handlers(elfin_arch::Handlers { syscall: crate::syscall::entry, trap: on_trap });
}

fn on_trap(tf: &mut TrapFrame, trap: Trap) {
    if let Trap::Interrupt(v) = trap {
        if crate::timer::on_interrupt(v) && tf.came_from_user() {
            crate::sched::preempt();
            crate::signal::deliver_pending(tf);
        }
        return;
    }
    if !tf.came_from_user() {
        kernel_fault(tf, trap);
    }
    let (sig, code, addr) = match trap {
        Trap::PageFault { addr, write, exec, .. } => {
            let access = if exec {
                Access::Exec
            } else if write {
                Access::Write
            } else {
                Access::Read
            };
            let r = match CURRENT.lock().as_mut() {
                Some(p) => p.aspace.fault(addr, access),
                None => Err(FaultError::MapErr),
            };
            match r {
                Ok(()) => {
                    crate::time::phases::FAULTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    return;
                }
                Err(FaultError::OutOfMemory) => {
                    kprintln!("elfin: out of memory: killed the program (fault at {:#x}, rip {:#x})", addr, tf.ip());
                    exit_vm(128 + 9)
                }
                Err(FaultError::Bus) => (7, 2, addr),
                Err(FaultError::AccErr) => (11, 2, addr),
                Err(_) => (11, 1, addr),
            }
        }
        // si_code values from siginfo.h: ILL_ILLOPN, SI_KERNEL, FPE_INTDIV, TRAP_BRKPT, BUS_ADRALN.
        Trap::InvalidOpcode => (4, 2, tf.ip()),
        Trap::GeneralProtection => (11, 0x80, 0),
        Trap::Divide => (8, 1, tf.ip()),
        Trap::FloatingPoint => (8, 0x80, tf.ip()),
        Trap::Breakpoint => (5, 1, tf.ip()),
        Trap::Alignment => (7, 1, tf.ip()),
        Trap::OtherException(_) => (11, 0x80, tf.ip()),
        Trap::Interrupt(_) => return,
    };
    crate::signal::force_fault(tf, sig, code, addr);
    crate::signal::deliver_pending(tf);
}

/// Kills the program with a fatal signal, as a shell would report it; `addr` is
/// the faulting address of a fault signal.
pub fn kill(sig: u32, addr: Option<u64>, ip: u64) -> ! {
    let name = elfin_shim::uapi::signal::signal_name(sig as i32).unwrap_or("SIG?");
    match addr {
        Some(a) => kprintln!("elfin: killed by {} at {:#x} (rip {:#x})", name, a, ip),
        None => kprintln!("elfin: killed by {}", name),
    }
    exit_vm((128 + sig) as u8)
}

fn kernel_fault(tf: &TrapFrame, trap: Trap) -> ! {
    kprintln!("elfin: kernel fault: {:?} (vector {}, error code {:#x})\n{}", trap, tf.vector, tf.error, tf);
    elfin_plat::console::report_crash();
    elfin_plat::power_off(125)
}
