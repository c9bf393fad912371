//! Restartable sequences (rseq(2)): before a thread returns to user mode after it
//! was switched out (it may have moved to another CPU, or been preempted) or when
//! a signal is delivered to it, the kernel publishes its CPU in the registered
//! `struct rseq` and, when it was inside a critical section (`rseq_cs`), moves
//! it to that section's abort handler, as Linux does.
use elfin_arch::{TrapFrame, UserRegs};
use elfin_shim::uapi::signal::{SEGV_ACCERR, SIGSEGV};
use elfin_shim::UAddr;

use super::{sched, Ctx};

/// `struct rseq_cs`: a critical section's descriptor.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct RseqCs {
    version: u32,
    flags: u32,
    start_ip: u64,
    post_commit_offset: u64,
    abort_ip: u64,
}

/// Offsets in `struct rseq`.
const CPU_ID_START: u64 = 0;
const RSEQ_CS: u64 = 8;
const NODE_ID: u64 = 24;
const MM_CID: u64 = 28;

/// On the way back to user mode: does the rseq work a switch left pending.
pub fn on_user_return(cx: &Ctx, tf: &mut TrapFrame) {
    if !cx.thread.sched.take_rseq_notify() {
        return;
    }
    update(cx, tf);
}

/// Before a signal frame is built: a thread inside a critical section resumes,
/// after the handler, at the section's abort handler.
pub fn on_signal(cx: &Ctx, tf: &mut TrapFrame) {
    update(cx, tf);
}

fn update(cx: &Ctx, tf: &mut TrapFrame) {
    let Some((addr, len, sig)) = cx.thread.misc.lock().rseq else { return };
    if publish(cx, addr, len).is_err() || fixup(cx, tf, addr, sig).is_err() {
        // The area became unreadable or a descriptor is invalid: as Linux, SIGSEGV.
        super::signal::force_fault(cx, tf, SIGSEGV as u32, SEGV_ACCERR, addr);
    }
}

/// Writes the CPU (and node 0) into the thread's `struct rseq`.
fn publish(cx: &Ctx, addr: u64, len: u32) -> Result<(), ()> {
    let cpu = sched::this_cpu() as u32;
    cx.write_val(UAddr(addr + CPU_ID_START), &[cpu, cpu]).map_err(|_| ())?;
    if len >= 32 {
        // node_id and mm_cid (the concurrency id: the CPU serves, it is below
        // the number of CPUs the process may use).
        cx.write_val(UAddr(addr + NODE_ID), &0u32).map_err(|_| ())?;
        cx.write_val(UAddr(addr + MM_CID), &cpu).map_err(|_| ())?;
    }
    Ok(())
}

/// Moves an interrupted critical section to its abort handler.
fn fixup(cx: &Ctx, tf: &mut TrapFrame, addr: u64, sig: u32) -> Result<(), ()> {
    let cs_ptr: u64 = cx.read_val(UAddr(addr + RSEQ_CS)).map_err(|_| ())?;
    if cs_ptr == 0 {
        return Ok(());
    }
    let cs: RseqCs = cx.read_val(UAddr(cs_ptr)).map_err(|_| ())?;
    let ip = tf.ip();
    let end = cs.start_ip.checked_add(cs.post_commit_offset).ok_or(())?;
    if cs.version != 0 || cs.abort_ip >= cs.start_ip && cs.abort_ip < end {
        return Err(());
    }
    if ip < cs.start_ip || ip >= end {
        // Not inside it (any more): forget the descriptor, as Linux does lazily.
        return cx.write_val(UAddr(addr + RSEQ_CS), &0u64).map_err(|_| ());
    }
    // The abort handler is preceded by the registered signature.
    let found: u32 = cx.read_val(UAddr(cs.abort_ip.checked_sub(4).ok_or(())?)).map_err(|_| ())?;
    if found != sig {
        return Err(());
    }
    cx.write_val(UAddr(addr + RSEQ_CS), &0u64).map_err(|_| ())?;
    tf.set_ip(cs.abort_ip);
    Ok(())
}
