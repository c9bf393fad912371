//! Restartable sequences: rseq(2) registration, and the work Linux does before a
//! thread returns to user mode after it was switched out (it may have moved to
//! another CPU, or been preempted) or when a signal is delivered to it: the
//! kernel publishes its CPU in the registered `struct rseq` and, when it was
//! inside a critical section (`rseq_cs`), moves it to that section's abort
//! handler.
use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::rseq::*;
use elfin_shim::uapi::signal::{SEGV_ACCERR, SIGSEGV};
use elfin_shim::uapi::{Rseq, RseqCs};
use elfin_shim::UAddr;

use super::{sched, Ctx, ExitStatus};
use crate::mem::vm::USER_END;
use crate::syscall::SysResult;

const CPU_ID_START: u64 = core::mem::offset_of!(Rseq, cpu_id_start) as u64;
const RSEQ_CS: u64 = core::mem::offset_of!(Rseq, rseq_cs) as u64;
const FLAGS: u64 = core::mem::offset_of!(Rseq, flags) as u64;
const NODE_ID: u64 = core::mem::offset_of!(Rseq, node_id) as u64;

/// rseq(2): one registration per thread. A second one of the same area and
/// length is EBUSY with the same signature and EPERM with another, anything
/// else EINVAL; unregistering needs the same area and length (EINVAL) and
/// signature (EPERM).
pub fn rseq(cx: &Ctx, addr: UAddr, len: u32, flags: i32, sig: u32) -> SysResult {
    if flags & RSEQ_FLAG_UNREGISTER != 0 {
        if flags & !RSEQ_FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let cur = cx.thread.misc.lock().rseq;
        return match cur {
            Some((a, l, s)) if a == addr.0 && l == len => {
                if s != sig {
                    return Err(Errno::EPERM);
                }
                // cpu_id_start back to 0, cpu_id to "uninitialized".
                cx.write_val(UAddr(addr.0 + CPU_ID_START), &[0u32, RSEQ_CPU_ID_UNINITIALIZED as u32])?;
                cx.thread.misc.lock().rseq = None;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        };
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let registered = cx.thread.misc.lock().rseq;
    if let Some((a, l, s)) = registered {
        if a != addr.0 || l != len {
            return Err(Errno::EINVAL);
        }
        return Err(if s == sig { Errno::EBUSY } else { Errno::EPERM });
    }
    // The original 32 bytes, or an extended area; 32-byte aligned either way.
    let align = core::mem::align_of::<Rseq>() as u64;
    if len < ORIG_RSEQ_SIZE || !addr.0.is_multiple_of(align) {
        return Err(Errno::EINVAL);
    }
    if addr.0.checked_add(u64::from(len)).is_none_or(|e| e > USER_END) {
        return Err(Errno::EFAULT);
    }
    cx.thread.misc.lock().rseq = Some((addr.0, len, sig));
    // Linux fills the area on the way back to user space, where a failure is a
    // SIGSEGV rather than an error of the call.
    cx.thread.sched.request_rseq_notify();
    Ok(0)
}

/// A fork that does not share the address space keeps the parent's
/// registration (the area is at the same address in the copy); a thread or a
/// CLONE_VM child starts without one.
pub fn for_clone(parent: Option<(u64, u32, u32)>, shares_vm: bool) -> Option<(u64, u32, u32)> {
    if shares_vm {
        None
    } else {
        parent
    }
}

/// On the way back to user mode: does the rseq work a switch (or a
/// registration) left pending. True when it may have changed the frame.
#[inline(always)]
pub fn on_user_return(cx: &Ctx, tf: &mut TrapFrame) -> bool {
    if cx.thread.sched.take_rseq_notify() {
        update(cx, tf);
        return true;
    }
    false
}

/// A new thread or fork child is about to enter user mode for the first time:
/// its registered area gets the CPU. (A bad area is left to the next return,
/// which reports it as [`on_user_return`] does.)
pub fn on_thread_start(cx: &Ctx) {
    let Some((addr, _, _)) = cx.thread.misc.lock().rseq else { return };
    let _ = publish(cx, addr);
}

/// Before a signal frame is built: a thread inside a critical section resumes,
/// after the handler, at the section's abort handler. False when the area or
/// the descriptor is unusable: the process was killed by SIGSEGV (on Linux the
/// SIGSEGV it forces meets the same descriptor on its way to a handler, and
/// that one is fatal), and no frame may be built.
pub fn on_signal(cx: &Ctx, tf: &mut TrapFrame) -> bool {
    let Some((addr, _, sig)) = cx.thread.misc.lock().rseq else { return true };
    if publish(cx, addr).is_err() || fixup(cx, tf, addr, sig).is_err() {
        super::signal::kill_group(&cx.proc, ExitStatus::Killed(SIGSEGV as u32));
        return false;
    }
    true
}

#[inline(never)]
fn update(cx: &Ctx, tf: &mut TrapFrame) {
    let Some((addr, _, sig)) = cx.thread.misc.lock().rseq else { return };
    if publish(cx, addr).is_err() || fixup(cx, tf, addr, sig).is_err() {
        // The area became unusable or a descriptor is invalid: as Linux, SIGSEGV.
        super::signal::force_fault(cx, tf, SIGSEGV as u32, SEGV_ACCERR, addr);
    }
}

/// Writes the CPU into the thread's `struct rseq`: cpu_id_start and cpu_id, node
/// 0, and the concurrency id (the CPU serves: it is below the number of CPUs the
/// process may use).
fn publish(cx: &Ctx, addr: u64) -> Result<(), Errno> {
    let cpu = sched::this_cpu() as u32;
    cx.write_val(UAddr(addr + CPU_ID_START), &[cpu, cpu])?;
    cx.write_val(UAddr(addr + NODE_ID), &[0u32, cpu])
}

/// Moves an interrupted critical section to its abort handler. Err: the area or
/// the descriptor is unusable.
fn fixup(cx: &Ctx, tf: &mut TrapFrame, addr: u64, sig: u32) -> Result<(), Errno> {
    let ptr: u64 = cx.read_val(UAddr(addr + RSEQ_CS))?;
    if ptr == 0 {
        return Ok(());
    }
    if ptr >= USER_END {
        return Err(Errno::EINVAL);
    }
    let cs: RseqCs = cx.read_val(UAddr(ptr))?;
    let end = cs.start_ip.checked_add(cs.post_commit_offset).ok_or(Errno::EINVAL)?;
    if cs.start_ip >= USER_END || end >= USER_END || cs.abort_ip >= USER_END || cs.version > 0 {
        return Err(Errno::EINVAL);
    }
    // The abort handler may not be inside the section.
    if cs.abort_ip.wrapping_sub(cs.start_ip) < cs.post_commit_offset {
        return Err(Errno::EINVAL);
    }
    // The abort handler is preceded by the registered signature.
    let signature: u32 = cx.read_val(UAddr(cs.abort_ip.wrapping_sub(4)))?;
    if signature != sig {
        return Err(Errno::EINVAL);
    }
    let clear = |cx: &Ctx| cx.write_val(UAddr(addr + RSEQ_CS), &0u64);
    if tf.ip().wrapping_sub(cs.start_ip) >= cs.post_commit_offset {
        // Not inside it (any more): forget the descriptor, as Linux does lazily.
        return clear(cx);
    }
    // The deprecated no-restart flags, here or in the area, are refused.
    let area_flags: u32 = cx.read_val(UAddr(addr + FLAGS))?;
    if cs.flags != 0 || area_flags != 0 {
        return Err(Errno::EINVAL);
    }
    clear(cx)?;
    tf.set_ip(cs.abort_ip);
    Ok(())
}
