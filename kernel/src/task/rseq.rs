//! Restartable sequences: rseq(2) registration and the fixup Linux makes when a
//! thread goes back to user space after it was preempted, or to run a signal
//! handler: a critical section it was in resumes at its abort handler.
//!
//! There is one CPU (id 0, node 0) and every thread's concurrency id is 0, so
//! the fields published in the area never change after registration.
use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::errno::Errno;
use elfin_shim::uapi::rseq::*;
use elfin_shim::uapi::{Rseq, RseqCs};
use elfin_shim::UAddr;

use super::{Ctx, ExitStatus};
use crate::mem::vm::USER_END;
use crate::syscall::SysResult;
use elfin_shim::uapi::signal::SIGSEGV;

const CS_OFFSET: u64 = core::mem::offset_of!(Rseq, rseq_cs) as u64;
const FLAGS_OFFSET: u64 = core::mem::offset_of!(Rseq, flags) as u64;

/// rseq(2): one registration per thread. A second one of the same area, length
/// and signature is EBUSY, anything else EINVAL; unregistering needs the same
/// area and length (EINVAL) and signature (EPERM).
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
                publish(cx, addr, RSEQ_CPU_ID_UNINITIALIZED as u32)?;
                cx.thread.misc.lock().rseq = None;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        };
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((a, l, s)) = cx.thread.misc.lock().rseq {
        if a != addr.0 || l != len {
            return Err(Errno::EINVAL);
        }
        return Err(if s == sig { Errno::EBUSY } else { Errno::EPERM });
    }
    // The original 32 bytes, or an extended area no shorter than the fields
    // this kernel knows; 32-byte aligned either way.
    let align = core::mem::align_of::<Rseq>() as u64;
    if len < ORIG_RSEQ_SIZE || !addr.0.is_multiple_of(align) {
        return Err(Errno::EINVAL);
    }
    if addr.0.checked_add(len as u64).is_none_or(|e| e > USER_END) {
        return Err(Errno::EFAULT);
    }
    cx.thread.misc.lock().rseq = Some((addr.0, len, sig));
    // Linux fills the area on the way back to user space, where a failure is a
    // SIGSEGV rather than an error of the call.
    if publish(cx, addr, 0).is_err() {
        super::signal::kill_group(&cx.proc, ExitStatus::Killed(SIGSEGV as u32));
    }
    Ok(0)
}

/// Writes the CPU ids of the area: cpu_id_start (CPU 0, and 0 once
/// unregistered), cpu_id, the node and concurrency ids (0).
fn publish(cx: &Ctx, addr: UAddr, cpu_id: u32) -> Result<(), Errno> {
    cx.write_val(addr, &[0u32, cpu_id])?;
    cx.write_val(UAddr(addr.0 + core::mem::offset_of!(Rseq, node_id) as u64), &[0u32, 0u32])
}

/// Linux's answer to an unusable area or descriptor at the return to user
/// space: a SIGSEGV that cannot be caught.
pub fn fixup_or_kill(cx: &Ctx, tf: &mut TrapFrame) -> bool {
    if fixup(cx, tf).is_ok() {
        return true;
    }
    super::signal::kill_group(&cx.proc, ExitStatus::Killed(SIGSEGV as u32));
    false
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

/// The thread was preempted, or a signal handler is about to run: if its
/// registered area names a critical section `tf` is inside, the section is
/// abandoned (`rseq_cs` cleared) and the context resumes at its abort handler.
/// Err: the area or the descriptor is unusable, which Linux answers with a
/// SIGSEGV that cannot be caught.
fn fixup(cx: &Ctx, tf: &mut TrapFrame) -> Result<(), Errno> {
    let Some((area, _, sig)) = cx.thread.misc.lock().rseq else {
        return Ok(());
    };
    let ptr: u64 = cx.read_val(UAddr(area + CS_OFFSET))?;
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
    let signature: u32 = cx.read_val(UAddr(cs.abort_ip.wrapping_sub(4)))?;
    if signature != sig {
        return Err(Errno::EINVAL);
    }
    let clear = |cx: &Ctx| cx.write_val(UAddr(area + CS_OFFSET), &0u64);
    if tf.ip().wrapping_sub(cs.start_ip) >= cs.post_commit_offset {
        return clear(cx);
    }
    // The deprecated no-restart flags, here or in the area, are refused.
    let area_flags: u32 = cx.read_val(UAddr(area + FLAGS_OFFSET))?;
    if cs.flags != 0 || area_flags != 0 {
        return Err(Errno::EINVAL);
    }
    clear(cx)?;
    tf.set_ip(cs.abort_ip);
    Ok(())
}
