//! x86_64 signal frames: `struct rt_sigframe` as Linux builds it
//! (arch/x86/kernel/signal_64.c): return address, `ucontext` with the
//! `sigcontext` register image, `siginfo`, and the FPU state below them.

use crate::common::{BuiltFrame, Restored, SigDelivery};
use alloc::vec;

use super::trap::TrapFrame;

/// Size of `struct ucontext` on x86_64.
const UC_SIZE: usize = 304;
/// Offset of `uc_mcontext` in `ucontext`.
const UC_MCONTEXT: usize = 40;
/// Offset of `uc_sigmask` in `ucontext`.
const UC_SIGMASK: usize = 296;
/// Size of `struct rt_sigframe` (pretcode + ucontext + siginfo).
const FRAME_SIZE: usize = 8 + UC_SIZE + 128;
const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

fn put(buf: &mut [u8], off: usize, v: u64) {
    if let Some(d) = buf.get_mut(off..off + 8) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

fn get(buf: &[u8], off: usize) -> u64 {
    buf.get(off..off + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0)
}

/// The general registers in `struct sigcontext` order.
fn regs(tf: &TrapFrame) -> [u64; 18] {
    [
        tf.r8, tf.r9, tf.r10, tf.r11, tf.r12, tf.r13, tf.r14, tf.r15, tf.rdi, tf.rsi, tf.rbp, tf.rbx, tf.rdx, tf.rax,
        tf.rcx, tf.rsp, tf.rip, tf.rflags,
    ]
}

/// Builds the frame and points `tf` at the handler. Returns None when the stack
/// address computation overflows.
pub fn build_frame(tf: &mut TrapFrame, d: &SigDelivery<'_>) -> Option<BuiltFrame> {
    // Below the red zone of the interrupted stack, or at the top of the altstack.
    let mut sp = match d.stack_top {
        Some(top) => top,
        None => tf.rsp.checked_sub(128)?,
    };
    let fp_len = d.fpu.len() + if d.xsave { 4 } else { 0 };
    sp = sp.checked_sub(fp_len as u64)? & !63;
    let fp_addr = sp;
    sp = (sp.checked_sub(FRAME_SIZE as u64)? & !15).checked_sub(8)?;
    let frame_addr = sp;
    let total = (fp_addr - frame_addr) as usize + fp_len;
    let mut b = vec![0u8; total];

    put(&mut b, 0, d.restorer);
    let uc = 8;
    put(&mut b, uc, if d.xsave { UC_FP_XSTATE } else { 0 } | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
    put(&mut b, uc + 16, d.uc_stack.0);
    put(&mut b, uc + 24, u64::from(d.uc_stack.1 as u32));
    put(&mut b, uc + 32, d.uc_stack.2);
    let mc = uc + UC_MCONTEXT;
    for (i, v) in regs(tf).iter().enumerate() {
        put(&mut b, mc + i * 8, *v);
    }
    // cs, gs, fs, ss as u16s.
    let segs: u64 = (tf.cs & 0xffff) | ((tf.ss & 0xffff) << 48);
    put(&mut b, mc + 144, segs);
    put(&mut b, mc + 152, tf.error);
    put(&mut b, mc + 160, tf.vector.min(255));
    put(&mut b, mc + 168, d.old_mask);
    put(&mut b, mc + 184, fp_addr);
    put(&mut b, uc + UC_SIGMASK, d.old_mask);
    let info_off = 8 + UC_SIZE;
    b.get_mut(info_off..info_off + 128)?.copy_from_slice(d.info);

    let fp_off = (fp_addr - frame_addr) as usize;
    let fp = b.get_mut(fp_off..fp_off + d.fpu.len())?;
    fp.copy_from_slice(d.fpu);
    if d.xsave {
        // struct _fpx_sw_bytes in the FXSAVE area's software-reserved bytes.
        let xfeatures = get(d.fpu, 512);
        let sw = 464;
        fp.get_mut(sw..sw + 4)?.copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        fp.get_mut(sw + 4..sw + 8)?.copy_from_slice(&((d.fpu.len() + 4) as u32).to_le_bytes());
        fp.get_mut(sw + 8..sw + 16)?.copy_from_slice(&xfeatures.to_le_bytes());
        fp.get_mut(sw + 16..sw + 20)?.copy_from_slice(&(d.fpu.len() as u32).to_le_bytes());
        let m2 = fp_off + d.fpu.len();
        b.get_mut(m2..m2 + 4)?.copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }

    tf.rdi = u64::from(d.sig);
    tf.rsi = frame_addr + info_off as u64;
    tf.rdx = frame_addr + uc as u64;
    tf.rax = 0;
    tf.rip = d.handler;
    tf.rsp = frame_addr;
    // Clear DF, TF and RF for the handler, as Linux does.
    tf.rflags &= !(0x400 | 0x100 | 0x1_0000);
    tf.cs = 0x23;
    tf.ss = 0x1b;
    Some(BuiltFrame { addr: frame_addr, bytes: b })
}

/// Address of the `ucontext` for `rt_sigreturn`, given the user stack pointer at
/// the system call (the handler's `ret` popped the return address).
pub fn sigreturn_ucontext(tf: &TrapFrame) -> u64 {
    tf.rsp.wrapping_sub(8).wrapping_add(8)
}

/// Size of the `ucontext` to read for `rt_sigreturn`.
pub const UCONTEXT_SIZE: usize = UC_SIZE;

/// Restores registers from a `ucontext` image read from user memory.
pub fn restore_frame(tf: &mut TrapFrame, uc: &[u8]) -> Restored {
    let mc = UC_MCONTEXT;
    let r = |i: usize| get(uc, mc + i * 8);
    tf.r8 = r(0);
    tf.r9 = r(1);
    tf.r10 = r(2);
    tf.r11 = r(3);
    tf.r12 = r(4);
    tf.r13 = r(5);
    tf.r14 = r(6);
    tf.r15 = r(7);
    tf.rdi = r(8);
    tf.rsi = r(9);
    tf.rbp = r(10);
    tf.rbx = r(11);
    tf.rdx = r(12);
    tf.rax = r(13);
    tf.rcx = r(14);
    tf.rsp = r(15);
    tf.rip = r(16);
    // Only the user-changeable flags (FIX_EFLAGS); IF stays on.
    const FIX: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x4_0000 | 0x1_0000;
    tf.rflags = (tf.rflags & !FIX) | (r(17) & FIX) | 0x200;
    tf.cs = 0x23;
    tf.ss = 0x1b;
    Restored {
        mask: get(uc, UC_SIGMASK),
        uc_stack: (get(uc, 16), get(uc, 24) as u32 as i32, get(uc, 32)),
        fp_addr: get(uc, mc + 184),
    }
}

/// Makes a user-supplied FPU image safe to load: reserved MXCSR bits cleared and
/// the XSAVE header limited to enabled components in the standard format.
pub fn sanitize_fpu(img: &mut [u8], xsave: bool, xcr0: u64) {
    if let Some(m) = img.get_mut(24..28) {
        let v = u32::from_le_bytes([m[0], m[1], m[2], m[3]]) & 0xffff;
        m.copy_from_slice(&v.to_le_bytes());
    }
    if xsave {
        let bv = get(img, 512) & xcr0;
        put(img, 512, bv);
        // XCOMP_BV = 0 (standard format) and reserved header bytes zero.
        if let Some(h) = img.get_mut(520..576) {
            h.fill(0);
        }
    }
}

/// Whether a context restored by `rt_sigreturn` can be resumed: `iretq` to a
/// non-canonical RIP would fault in the kernel (Linux turns it into SIGSEGV).
pub fn user_context_ok(tf: &TrapFrame) -> bool {
    tf.rip < 0x0000_8000_0000_0000
}
