//! arm64 signal frames: `struct rt_sigframe` (siginfo, then `ucontext` whose
//! `sigcontext` holds x0–x30, sp, pc, pstate and, in `__reserved`, the
//! `fpsimd_context` record), followed by a frame record {fp, lr}, as Linux's
//! arch/arm64/kernel/signal.c builds it.

use crate::common::{BuiltFrame, Restored, SigDelivery};
use alloc::vec;

use super::context::{FPSIMD_MAGIC, FPSIMD_SIZE};
use super::trap::TrapFrame;

/// Size of `struct ucontext` on arm64.
const UC_SIZE: usize = 4560;
/// Offset of `uc_sigmask` in `ucontext`.
const UC_SIGMASK: usize = 40;
/// Offset of `uc_mcontext` (`struct sigcontext`, 16-byte aligned) in `ucontext`.
const UC_MCONTEXT: usize = 176;
/// Offsets inside `struct sigcontext`.
const SC_REGS: usize = 8;
const SC_SP: usize = 256;
const SC_PC: usize = 264;
const SC_PSTATE: usize = 272;
const SC_RESERVED: usize = 288;
/// Size of `struct rt_sigframe` (siginfo + ucontext).
const FRAME_SIZE: usize = 128 + UC_SIZE;

/// Where a handler installed without SA_RESTORER returns (glibc installs none on
/// arm64): the vDSO's `__kernel_rt_sigreturn` (`mov x8, #139; svc #0`), as Linux
/// does, given the vDSO's address in the program (0: not mapped).
pub fn sigreturn_trampoline(vdso: u64) -> Option<u64> {
    (vdso != 0).then(|| vdso.wrapping_add(super::vdso::VDSO_SIGRETURN))
}

fn put(buf: &mut [u8], off: usize, v: u64) {
    if let Some(d) = buf.get_mut(off..off + 8) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

fn get(buf: &[u8], off: usize) -> u64 {
    buf.get(off..off + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0)
}

/// Builds the frame and points `tf` at the handler (x0 = signal, x1 = &info,
/// x2 = &uc, x29 = the frame record, x30 = the restorer). Returns None when the
/// stack address computation overflows.
pub fn build_frame(tf: &mut TrapFrame, d: &SigDelivery<'_>) -> Option<BuiltFrame> {
    let top = match d.stack_top {
        Some(t) => t,
        None => tf.sp,
    };
    let record = top.checked_sub(16)? & !15;
    let frame = record.checked_sub(FRAME_SIZE as u64)? & !15;
    let total = (record + 16 - frame) as usize;
    let mut b = vec![0u8; total];

    b.get_mut(..128)?.copy_from_slice(d.info);
    let uc = 128;
    put(&mut b, uc + 16, d.uc_stack.0);
    put(&mut b, uc + 24, u64::from(d.uc_stack.1 as u32));
    put(&mut b, uc + 32, d.uc_stack.2);
    put(&mut b, uc + UC_SIGMASK, d.old_mask);
    let mc = uc + UC_MCONTEXT;
    // fault_address: si_addr of the fault signals.
    if matches!(d.sig, 4 | 5 | 7 | 8 | 11) {
        put(&mut b, mc, get(d.info, 16));
    }
    for (i, v) in tf.x.iter().enumerate() {
        put(&mut b, mc + SC_REGS + i * 8, *v);
    }
    put(&mut b, mc + SC_SP, tf.sp);
    put(&mut b, mc + SC_PC, tf.pc);
    put(&mut b, mc + SC_PSTATE, tf.pstate);
    let fp = mc + SC_RESERVED;
    let n = d.fpu.len().min(FPSIMD_SIZE);
    b.get_mut(fp..fp + n)?.copy_from_slice(d.fpu.get(..n)?);
    b.get_mut(fp..fp + 4)?.copy_from_slice(&FPSIMD_MAGIC.to_le_bytes());
    b.get_mut(fp + 4..fp + 8)?.copy_from_slice(&(FPSIMD_SIZE as u32).to_le_bytes());
    // The terminating null record follows (already zero).
    let rec = (record - frame) as usize;
    put(&mut b, rec, tf.x[29]);
    put(&mut b, rec + 8, tf.x[30]);

    tf.x[0] = u64::from(d.sig);
    tf.x[1] = frame;
    tf.x[2] = frame + uc as u64;
    tf.x[29] = record;
    tf.x[30] = d.restorer;
    tf.sp = frame;
    tf.pc = d.handler;
    // Handlers start with PSTATE.BTYPE clear, as Linux does.
    tf.pstate &= !(3 << 10);
    Some(BuiltFrame { addr: frame, bytes: b })
}

/// Address of the `ucontext` for `rt_sigreturn`: the restorer runs with sp at the
/// frame, whose siginfo comes first.
pub fn sigreturn_ucontext(tf: &TrapFrame) -> u64 {
    tf.sp.wrapping_add(128)
}

/// Size of the `ucontext` to read for `rt_sigreturn`.
pub const UCONTEXT_SIZE: usize = UC_SIZE;

/// Restores registers from a `ucontext` image read from user memory.
pub fn restore_frame(tf: &mut TrapFrame, uc: &[u8]) -> Restored {
    let uc_addr = sigreturn_ucontext(tf);
    let mc = UC_MCONTEXT;
    for (i, r) in tf.x.iter_mut().enumerate() {
        *r = get(uc, mc + SC_REGS + i * 8);
    }
    tf.sp = get(uc, mc + SC_SP);
    tf.pc = get(uc, mc + SC_PC);
    // Only what EL0 may own: NZCV, DIT, SSBS, BTYPE; always EL0t with interrupts on.
    let keep = 0xf000_0000 | (1 << 24) | (1 << 12) | (3 << 10);
    tf.pstate = get(uc, mc + SC_PSTATE) & keep;
    let fp = mc + SC_RESERVED;
    let magic = uc.get(fp..fp + 4).map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]])).unwrap_or(0);
    Restored {
        mask: get(uc, UC_SIGMASK),
        uc_stack: (get(uc, 16), get(uc, 24) as u32 as i32, get(uc, 32)),
        fp_addr: if magic == FPSIMD_MAGIC { uc_addr + fp as u64 } else { 0 },
    }
}

/// Makes a user-supplied FP/SIMD image safe to load: the record header is reset
/// (FPSR/FPCR reserved bits are ignored by the CPU).
pub fn sanitize_fpu(img: &mut [u8], xsave: bool, xcr0: u64) {
    let _ = (xsave, xcr0);
    if let Some(h) = img.get_mut(..8) {
        h[..4].copy_from_slice(&FPSIMD_MAGIC.to_le_bytes());
        h[4..].copy_from_slice(&(FPSIMD_SIZE as u32).to_le_bytes());
    }
}

/// Whether a context restored by `rt_sigreturn` can be resumed: any PC is (a bad
/// one faults in EL0), and `restore_frame` keeps PSTATE at EL0.
pub fn user_context_ok(tf: &TrapFrame) -> bool {
    tf.pstate & 0x1f == 0
}
