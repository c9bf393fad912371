//! Exception vectors, system-call entry (`svc #0`) and the saved user context.
//!
//! Every exception builds the same [`TrapFrame`] on the current SP_EL1 stack and
//! leaves through `trap_return` (`eret`). A system call stores only the registers
//! the handler may clobber at first and the rest when the handler asks for the
//! whole frame (a signal, clone, execve); one that changed only its return value
//! reloads just the clobberable ones. For exceptions from EL0 that stack is the
//! thread's kernel stack: [`enter_user`] starts a program with SP_EL1 at the top of
//! it, and every return to EL0 pops back to that top. The kernel installs its
//! handlers with [`set_handlers`].

use crate::common::{Trap, UserRegs};
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Saved registers of an interrupted context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    /// x0–x30.
    pub x: [u64; 31],
    /// The interrupted stack pointer (SP_EL0; for EL1 exceptions the saved SP_EL0 too).
    pub sp: u64,
    /// ELR_EL1: where execution resumes.
    pub pc: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub pstate: u64,
    /// TPIDR_EL0, the user thread pointer (per thread, restored on return).
    pub tpidr: u64,
    /// Index of the vector-table entry (0–15): `vector / 4` is the source (EL1 with
    /// SP_EL0, EL1, EL0 AArch64, EL0 AArch32), `vector % 4` the kind (synchronous,
    /// IRQ, FIQ, SError).
    pub vector: u64,
    /// ESR_EL1, the syndrome (`error >> 26` is the exception class).
    pub error: u64,
    /// FAR_EL1, the faulting address of aborts.
    pub far: u64,
}

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 304);

/// PSTATE of a new program: EL0t with D, A, I, F unmasked (interrupts only arrive
/// once the platform started the timer tick through the GIC).
const USER_PSTATE: u64 = 0;

impl UserRegs for TrapFrame {
    fn syscall_nr(&self) -> usize {
        self.x[8] as usize
    }
    fn syscall_args(&self) -> [u64; 6] {
        [self.x[0], self.x[1], self.x[2], self.x[3], self.x[4], self.x[5]]
    }
    fn set_syscall_ret(&mut self, v: u64) {
        self.x[0] = v;
    }
    fn ip(&self) -> u64 {
        self.pc
    }
    fn set_ip(&mut self, ip: u64) {
        self.pc = ip;
    }
    fn sp(&self) -> u64 {
        self.sp
    }
    fn came_from_user(&self) -> bool {
        // M[4] = 0 (AArch64) and M[3:0] = EL0t.
        self.pstate & 0x1f == 0
    }
    fn new_user(ip: u64, sp: u64) -> Self {
        TrapFrame { pc: ip, sp, pstate: USER_PSTATE, ..Default::default() }
    }
    fn set_user_sp(&mut self, sp: u64) {
        self.sp = sp;
    }
    fn set_user_tls(&mut self, tls: u64) {
        self.tpidr = tls;
    }
    fn rewind_syscall(&mut self, nr: usize, arg0: u64) {
        // `svc #0` is four bytes; x0 held the return value.
        self.x[8] = nr as u64;
        self.x[0] = arg0;
        self.pc = self.pc.wrapping_sub(4);
    }
}

impl core::fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(
            f,
            "pc  {:#018x} sp  {:#018x} pstate {:#x} esr {:#x} far {:#018x} tpidr {:#x}",
            self.pc, self.sp, self.pstate, self.error, self.far, self.tpidr
        )?;
        for (row, regs) in self.x.chunks(4).enumerate() {
            for (i, r) in regs.iter().enumerate() {
                let n = row * 4 + i;
                if i > 0 {
                    f.write_str(" ")?;
                }
                if n < 10 {
                    write!(f, "x{}  {:#018x}", n, r)?;
                } else {
                    write!(f, "x{} {:#018x}", n, r)?;
                }
            }
            if row < 7 {
                f.write_str("\n")?;
            }
        }
        Ok(())
    }
}

global_asm!(
    r#"
    .section .text.elfin_vectors, "ax"
    .p2align 11
    .global elfin_vectors
elfin_vectors:
    .set vec, 0
    .rept 16
    .p2align 7
    sub sp, sp, #{size}
    stp x0, x1, [sp, #0]
    .if vec == 8
    b elfin_el0_sync
    .else
    mov x0, #vec
    b elfin_trap_common
    .endif
    .set vec, vec + 1
    .endr

    /* A synchronous exception from EL0: `svc` (exception class 0x15) takes the
       system-call path, anything else the common one. */
elfin_el0_sync:
    mrs x1, esr_el1
    lsr x0, x1, #26
    cmp x0, #0x15
    b.ne elfin_el0_other
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    /* x19-x28 stay in the registers (the handlers follow the C ABI, which
       preserves them), TPIDR_EL0 too, and the vector is known: the slow path
       stores them. */
    str x18, [sp, #144]
    str x29, [sp, #232]
    mrs x2, sp_el0
    stp x30, x2, [sp, #240]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x2, x3, [sp, #256]
    stp x1, xzr, [sp, #288]
    mov x0, sp
    mov x29, #0
    adrp x9, {syscall}
    ldr x9, [x9, :lo12:{syscall}]
    blr x9
    tst w0, #0xff
    b.ne elfin_syscall_slow
    /* Only x0 changed in the frame, x19-x28 hold the user's values and
       TPIDR_EL0 too (a context switch restores it): reload the rest. */
elfin_syscall_fast_return:
    ldp x2, x3, [sp, #256]
    msr elr_el1, x2
    msr spsr_el1, x3
    ldr x2, [sp, #248]
    msr sp_el0, x2
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldr x18, [sp, #144]
    ldr x29, [sp, #232]
    ldr x30, [sp, #240]
    add sp, sp, #{size}
    eret

    /* The handler wants the whole frame: complete it, then run the slow handler. */
elfin_syscall_slow:
    stp x19, x20, [sp, #152]
    stp x21, x22, [sp, #168]
    stp x23, x24, [sp, #184]
    stp x25, x26, [sp, #200]
    stp x27, x28, [sp, #216]
    mrs x2, tpidr_el0
    mov x3, #8
    stp x2, x3, [sp, #272]
    mov x0, sp
    adrp x9, {syscall_slow}
    ldr x9, [x9, :lo12:{syscall_slow}]
    blr x9
    tst w0, #0xff
    b.ne elfin_trap_return
    b elfin_syscall_fast_return

elfin_el0_other:
    mov x0, #8
elfin_trap_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x2, sp_el0
    stp x30, x2, [sp, #240]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x2, x3, [sp, #256]
    mrs x2, tpidr_el0
    stp x2, x0, [sp, #272]
    mrs x2, esr_el1
    mrs x3, far_el1
    stp x2, x3, [sp, #288]
    mov x0, sp
    mov x29, #0
    bl {dispatch}

    /* The whole frame back: TPIDR_EL0 and x19-x28, then what the
       syscall fast return reloads. */
    .global elfin_trap_return
elfin_trap_return:
    ldr x2, [sp, #272]
    msr tpidr_el0, x2
    ldr x19, [sp, #152]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldr x28, [sp, #224]
    b elfin_syscall_fast_return
    "#,
    size = const FRAME_SIZE,
    dispatch = sym trap_dispatch,
    syscall = sym SYSCALL_HANDLER,
    syscall_slow = sym SYSCALL_SLOW_HANDLER,
);

extern "C" {
    static elfin_vectors: u8;
    static elfin_trap_return: u8;
}

/// Address of the exception vector table (for VBAR_EL1).
pub fn vectors_addr() -> u64 {
    core::ptr::addr_of!(elfin_vectors) as u64
}

/// Interrupts are acknowledged through the GICv3 CPU interface (ICC_IAR1_EL1).
static GICV3: AtomicBool = AtomicBool::new(false);

/// Tells the trap code that a GICv3 CPU interface is enabled (system registers), so
/// an IRQ's INTID is read (and acknowledged) from ICC_IAR1_EL1.
pub fn use_gicv3_cpu_interface() {
    GICV3.store(true, Ordering::SeqCst);
}

/// The platform's acknowledge routine, for a memory-mapped CPU interface (GICv2).
static MMIO_ACK: spin::Once<fn() -> u8> = spin::Once::new();

/// Tells the trap code to acknowledge IRQs by calling `ack` (an interrupt
/// controller whose CPU interface is memory-mapped, such as the GICv2's); it
/// returns the INTID, 255 for spurious or out-of-range ones. Ignored once a GICv3
/// system-register interface is in use.
pub fn use_irq_acknowledge(ack: fn() -> u8) {
    MMIO_ACK.call_once(|| ack);
}

/// Acknowledges the pending IRQ: its INTID, 255 for spurious or out-of-range ones.
fn irq_ack() -> u8 {
    if !GICV3.load(Ordering::Relaxed) {
        return MMIO_ACK.get().map_or(255, |ack| ack());
    }
    let intid: u64;
    // SAFETY: the GICv3 system-register interface was enabled by the platform;
    // reading IAR1 acknowledges the highest-priority pending group-1 interrupt.
    unsafe { asm!("mrs {}, icc_iar1_el1", out(reg) intid, options(nomem, nostack)) };
    let intid = intid & 0xff_ffff;
    if intid < 255 {
        intid as u8
    } else {
        255
    }
}

/// An undefined-instruction probe is running (see [`probe_undefined`]).
static PROBING: AtomicBool = AtomicBool::new(false);
/// The probe's instruction trapped.
static PROBE_TRAPPED: AtomicBool = AtomicBool::new(false);

/// Runs `f`, which executes an instruction that may be undefined on this machine
/// (a semihosting `hlt`, a PSCI `hvc`/`smc` without a conduit behind it). If it
/// traps as undefined, the instruction is skipped and None is returned.
pub fn probe_undefined<R>(f: impl FnOnce() -> R) -> Option<R> {
    PROBE_TRAPPED.store(false, Ordering::SeqCst);
    PROBING.store(true, Ordering::SeqCst);
    let r = f();
    PROBING.store(false, Ordering::SeqCst);
    if PROBE_TRAPPED.load(Ordering::SeqCst) {
        None
    } else {
        Some(r)
    }
}

/// Removes the tag byte of an EL0 address (TBI0 is on, as on Linux).
fn untag(a: u64) -> u64 {
    if a >> 55 & 1 == 0 {
        a & 0x00ff_ffff_ffff_ffff
    } else {
        a
    }
}

fn classify(tf: &TrapFrame, from_user: bool) -> Trap {
    match tf.vector & 3 {
        1 | 2 => return Trap::Interrupt(irq_ack()),
        3 => return Trap::OtherException(0x2f),
        _ => {}
    }
    let ec = ((tf.error >> 26) & 0x3f) as u8;
    let iss = tf.error & 0x1ff_ffff;
    let far = if from_user { untag(tf.far) } else { tf.far };
    match ec {
        0x00 | 0x0e | 0x18 | 0x19 | 0x1d => Trap::InvalidOpcode,
        0x07 => Trap::InvalidOpcode,
        0x20 | 0x21 => {
            let fsc = iss & 0x3f;
            Trap::PageFault { addr: far, write: false, exec: true, present: fsc & 0x3c == 0x0c }
        }
        0x24 | 0x25 => {
            let fsc = iss & 0x3f;
            if fsc == 0x21 {
                return Trap::Alignment;
            }
            let cm = iss & (1 << 8) != 0;
            let wnr = iss & (1 << 6) != 0;
            Trap::PageFault { addr: far, write: wnr && !cm, exec: false, present: fsc & 0x3c == 0x0c }
        }
        0x22 | 0x26 => Trap::Alignment,
        0x28 | 0x2c => Trap::FloatingPoint,
        0x30..=0x35 | 0x38 | 0x3c => Trap::Breakpoint,
        other => Trap::OtherException(other),
    }
}

/// The kernel's system-call handler, which the `svc` path calls through.
static SYSCALL_HANDLER: AtomicPtr<()> = AtomicPtr::new(no_syscall as *mut ());

/// The kernel's slow system-call handler, which the `svc` path calls through with
/// the completed frame.
static SYSCALL_SLOW_HANDLER: AtomicPtr<()> = AtomicPtr::new(no_syscall_slow as *mut ());

/// The handler until the kernel installs its own: ENOSYS.
extern "C" fn no_syscall(tf: &mut TrapFrame) -> u8 {
    tf.x[0] = (-38i64) as u64;
    crate::common::SYSCALL_DONE
}

/// The slow handler until the kernel installs its own: ENOSYS.
extern "C" fn no_syscall_slow(tf: &mut TrapFrame) -> bool {
    tf.x[0] = (-38i64) as u64;
    false
}

/// Makes the `svc` path call `h`, and `slow` when `h` asks for the whole frame.
pub(crate) fn set_syscall_handler(h: extern "C" fn(&mut TrapFrame) -> u8, slow: extern "C" fn(&mut TrapFrame) -> bool) {
    SYSCALL_SLOW_HANDLER.store(slow as *mut (), Ordering::Release);
    SYSCALL_HANDLER.store(h as *mut (), Ordering::Release);
}

extern "C" fn trap_dispatch(tf: &mut TrapFrame) {
    let from_user = tf.vector >= 8;
    let ec = (tf.error >> 26) & 0x3f;
    if tf.vector & 3 == 0 && !from_user && ec == 0 && PROBING.load(Ordering::SeqCst) {
        PROBE_TRAPPED.store(true, Ordering::SeqCst);
        tf.pc += 4;
        return;
    }
    let trap =
        if tf.vector >= 12 { Trap::OtherException(((tf.error >> 26) & 0x3f) as u8) } else { classify(tf, from_user) };
    match crate::common::handlers() {
        Some(h) => (h.trap)(tf, trap),
        None => panic!("trap {:?} before handlers were installed\n{}", trap, tf),
    }
}

/// Starts user mode with context `tf`, using the kernel stack that ends at `kstack_top`.
pub fn enter_user(tf: &TrapFrame, kstack_top: u64) -> ! {
    let frame_addr = (kstack_top & !15) - FRAME_SIZE as u64;
    // SAFETY: the frame is written at the top of the given kernel stack (owned by the
    // thread being started); `elfin_trap_return` pops exactly one TrapFrame and
    // erets to EL0, leaving SP_EL1 at the stack top for the next entry. Nothing on
    // the current stack is used afterwards.
    unsafe {
        core::ptr::write(frame_addr as *mut TrapFrame, *tf);
        asm!("mov sp, {}", "b {}", in(reg) frame_addr, sym elfin_trap_return, options(noreturn));
    }
}
