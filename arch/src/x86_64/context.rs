//! Kernel-stack context switching and per-thread FPU/SIMD state.
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::arch::{asm, global_asm};

use super::trap::TrapFrame;

global_asm!(
    r#"
    .section .text.switch_context, "ax"
    .global elfin_switch_context
elfin_switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .global elfin_thread_start
elfin_thread_start:
    call {started}
    jmp trap_return
    "#,
    started = sym crate::common::thread_started,
    options(att_syntax)
);

extern "C" {
    fn elfin_switch_context(prev_rsp: *mut u64, next_rsp: u64);
    static elfin_thread_start: u8;
}

/// Prepares a new thread's kernel stack so that switching to it enters user mode
/// with `tf`. Returns the saved stack pointer to switch to.
///
/// # Safety
/// `kstack_top` must be the top of an unused, writable kernel stack of at least
/// a few KiB that stays allocated while the thread exists.
pub unsafe fn init_thread_stack(kstack_top: u64, tf: &TrapFrame) -> u64 {
    let tf_addr = kstack_top - core::mem::size_of::<TrapFrame>() as u64;
    let frame = tf_addr - 8 - 6 * 8;
    // SAFETY: the caller guarantees the stack is ours and large enough.
    unsafe {
        core::ptr::write(tf_addr as *mut TrapFrame, *tf);
        core::ptr::write((tf_addr - 8) as *mut u64, core::ptr::addr_of!(elfin_thread_start) as u64);
        core::ptr::write_bytes(frame as *mut u64, 0, 6);
    }
    frame
}

/// Switches from the current kernel stack to `next_rsp`, saving the current stack
/// pointer in `*prev_rsp`. Returns when something switches back.
///
/// # Safety
/// `next_rsp` must come from [`init_thread_stack`] or an earlier save by this
/// function, for a stack that is still allocated; `prev_rsp` must stay valid
/// until the switch back.
pub unsafe fn switch_context(prev_rsp: *mut u64, next_rsp: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { elfin_switch_context(prev_rsp, next_rsp) }
}

/// The saved FPU/SIMD registers of a thread (XSAVE or FXSAVE image).
pub struct FpuState {
    ptr: *mut u8,
    size: usize,
}

// SAFETY: the buffer is exclusively owned by the FpuState.
unsafe impl Send for FpuState {}

static FPU_SIZE: spin::Once<(usize, bool)> = spin::Once::new();

/// Records the FPU save-area size and whether XSAVE is used (called at boot).
pub fn init_fpu(size: u32, xsave: bool) {
    FPU_SIZE.call_once(|| ((size as usize).max(512), xsave));
}

fn fpu_layout() -> (Layout, bool) {
    let (size, xsave) = FPU_SIZE.get().copied().unwrap_or((512, false));
    (Layout::from_size_align(size, 64).unwrap_or(Layout::new::<[u8; 512]>()), xsave)
}

impl FpuState {
    /// A state equal to the current CPU's registers.
    pub fn from_current() -> Option<FpuState> {
        let (layout, _) = fpu_layout();
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        let s = FpuState { ptr, size: layout.size() };
        s.save();
        Some(s)
    }

    /// Saves the CPU's FPU/SIMD registers here.
    pub fn save(&self) {
        let (_, xsave) = fpu_layout();
        // SAFETY: the buffer is 64-byte aligned and as large as the CPU's save area.
        unsafe {
            if xsave {
                asm!("xsave64 [{}]", in(reg) self.ptr, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                asm!("fxsave64 [{}]", in(reg) self.ptr, options(nostack));
            }
        }
    }

    /// Loads the CPU's FPU/SIMD registers from here.
    pub fn restore(&self) {
        let (_, xsave) = fpu_layout();
        // SAFETY: the buffer holds an image written by `save` (or a copy of one).
        unsafe {
            if xsave {
                asm!("xrstor64 [{}]", in(reg) self.ptr, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                asm!("fxrstor64 [{}]", in(reg) self.ptr, options(nostack));
            }
        }
    }

    /// Whether images are in XSAVE format (else FXSAVE).
    pub fn is_xsave() -> bool {
        fpu_layout().1
    }

    /// The enabled XSAVE components (XCR0), 3 (x87|SSE) without XSAVE.
    pub fn xcr0() -> u64 {
        if !fpu_layout().1 {
            return 3;
        }
        let (lo, hi): (u32, u32);
        // SAFETY: XGETBV with ECX=0 reads XCR0; OSXSAVE is enabled when xsave is used.
        unsafe { asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nostack)) };
        u64::from(lo) | (u64::from(hi) << 32)
    }

    /// Replaces the image with `bytes` (truncated or zero-padded to the save size).
    pub fn load_bytes(&mut self, bytes: &[u8]) {
        let dst = self.bytes_mut();
        dst.fill(0);
        let n = dst.len().min(bytes.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
            d.copy_from_slice(s);
        }
    }

    /// The raw save image.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr/size describe the owned allocation.
        unsafe { core::slice::from_raw_parts(self.ptr, self.size) }
    }

    /// The raw save image, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: ptr/size describe the owned allocation, borrowed mutably.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.size) }
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        let (layout, _) = fpu_layout();
        // SAFETY: allocated in `from_current` with this layout.
        unsafe { dealloc(self.ptr, layout) };
    }
}
