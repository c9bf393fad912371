//! Kernel-stack context switching and per-thread FP/SIMD state.
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::arch::global_asm;

use super::trap::TrapFrame;

global_asm!(
    r#"
    .section .text.elfin_switch_context, "ax"
    .p2align 2
    .global elfin_switch_context
elfin_switch_context:
    sub sp, sp, #96
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x2, sp
    str x2, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #96
    ret

    .global elfin_thread_start
elfin_thread_start:
    bl {started}
    b elfin_trap_return

    // The kernel is soft-float; only these two routines touch FP/SIMD registers.
    .arch_extension fp
    .arch_extension simd
    .global elfin_fpsimd_save
elfin_fpsimd_save:
    mrs x1, fpsr
    mrs x2, fpcr
    stp w1, w2, [x0, #8]
    add x0, x0, #16
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    ret

    .global elfin_fpsimd_restore
elfin_fpsimd_restore:
    ldp w1, w2, [x0, #8]
    msr fpsr, x1
    msr fpcr, x2
    add x0, x0, #16
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    ret
    "#,
    started = sym crate::common::thread_started,
);

extern "C" {
    fn elfin_switch_context(prev_sp: *mut u64, next_sp: u64);
    fn elfin_fpsimd_save(img: *mut u8);
    fn elfin_fpsimd_restore(img: *const u8);
    static elfin_thread_start: u8;
}

/// Callee-saved registers pushed by `elfin_switch_context` (x19–x30).
const SWITCH_FRAME: u64 = 96;

/// Prepares a new thread's kernel stack so that switching to it enters user mode
/// with `tf`. Returns the saved stack pointer to switch to.
///
/// # Safety
/// `kstack_top` must be the top of an unused, writable kernel stack of at least
/// a few KiB that stays allocated while the thread exists.
pub unsafe fn init_thread_stack(kstack_top: u64, tf: &TrapFrame) -> u64 {
    let tf_addr = (kstack_top & !15) - core::mem::size_of::<TrapFrame>() as u64;
    let frame = tf_addr - SWITCH_FRAME;
    // SAFETY: the caller guarantees the stack is ours and large enough.
    unsafe {
        core::ptr::write(tf_addr as *mut TrapFrame, *tf);
        core::ptr::write_bytes(frame as *mut u64, 0, (SWITCH_FRAME / 8) as usize);
        // x30 (the `ret` target) is the last slot.
        core::ptr::write((frame + 88) as *mut u64, core::ptr::addr_of!(elfin_thread_start) as u64);
    }
    frame
}

/// Switches from the current kernel stack to `next_sp`, saving the current stack
/// pointer in `*prev_sp`. Returns when something switches back.
///
/// # Safety
/// `next_sp` must come from [`init_thread_stack`] or an earlier save by this
/// function, for a stack that is still allocated; `prev_sp` must stay valid
/// until the switch back.
pub unsafe fn switch_context(prev_sp: *mut u64, next_sp: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { elfin_switch_context(prev_sp, next_sp) }
}

/// Nothing to do on aarch64: an exception from EL0 uses the SP_EL1 left by the last
/// return to EL0 of the running thread, which is the top of its own kernel stack.
pub fn set_kernel_stack(top: u64) {
    let _ = top;
}

/// `FPSIMD_MAGIC` of the arm64 signal-frame record.
pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
/// Size of the image: `struct fpsimd_context` (header, fpsr, fpcr, v0–v31).
pub const FPSIMD_SIZE: usize = 528;

/// The saved FP/SIMD registers of a thread, laid out exactly as the signal frame's
/// `struct fpsimd_context` (magic, size, fpsr, fpcr, 32 × 128-bit vregs).
pub struct FpuState {
    ptr: *mut u8,
}

// SAFETY: the buffer is exclusively owned by the FpuState.
unsafe impl Send for FpuState {}

fn layout() -> Layout {
    Layout::new::<[u128; FPSIMD_SIZE / 16]>()
}

impl FpuState {
    /// A state equal to the current CPU's registers.
    pub fn from_current() -> Option<FpuState> {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout()) };
        if ptr.is_null() {
            return None;
        }
        let s = FpuState { ptr };
        s.save();
        Some(s)
    }

    fn set_header(&self) {
        // SAFETY: the buffer is 528 bytes, 16-byte aligned.
        unsafe {
            core::ptr::write(self.ptr as *mut u32, FPSIMD_MAGIC);
            core::ptr::write(self.ptr.add(4) as *mut u32, FPSIMD_SIZE as u32);
        }
    }

    /// Saves the CPU's FP/SIMD registers here.
    pub fn save(&self) {
        self.set_header();
        // SAFETY: the buffer is 16-byte aligned and 528 bytes long; CPACR_EL1.FPEN
        // lets EL1 use FP/SIMD.
        unsafe { elfin_fpsimd_save(self.ptr) };
    }

    /// Loads the CPU's FP/SIMD registers from here.
    pub fn restore(&self) {
        // SAFETY: as in `save`.
        unsafe { elfin_fpsimd_restore(self.ptr) };
    }

    /// Always false (no XSAVE on aarch64).
    pub fn is_xsave() -> bool {
        false
    }

    /// No XSAVE components on aarch64.
    pub fn xcr0() -> u64 {
        0
    }

    /// Replaces the image with `bytes` (truncated or zero-padded to the save size).
    pub fn load_bytes(&mut self, bytes: &[u8]) {
        let dst = self.bytes_mut();
        dst.fill(0);
        let n = dst.len().min(bytes.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
            d.copy_from_slice(s);
        }
        self.set_header();
    }

    /// The raw save image.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr describes the owned allocation of FPSIMD_SIZE bytes.
        unsafe { core::slice::from_raw_parts(self.ptr, FPSIMD_SIZE) }
    }

    /// The raw save image, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, FPSIMD_SIZE) }
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        // SAFETY: allocated in `from_current` with this layout.
        unsafe { dealloc(self.ptr, layout()) };
    }
}
