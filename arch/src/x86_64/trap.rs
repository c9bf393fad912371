//! Trap, interrupt and system-call entry; the saved user context.
//!
//! Every entry from user mode (exception, interrupt, SYSCALL) builds the same
//! [`TrapFrame`] on the thread's kernel stack and leaves through `trap_return`
//! (`iretq`), or through `sysretq` after a system call whose frame allows it. A
//! system call stores only the registers the handler may clobber at first and
//! the rest when the handler asks for the whole frame (a signal, clone, execve);
//! one that changed only its return value reloads just the clobberable ones. The kernel installs its handlers with [`set_handlers`].

use crate::common::{Trap, UserRegs};
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicPtr, Ordering};

use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

/// Saved registers of an interrupted context, in push order (lowest address first):
/// the callee-saved registers lowest, which the system-call entry leaves to its slow path.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
// Each field is the register it is named after; a doc line per field would repeat it.
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rax: u64,
    /// Vector number; 0x100 for SYSCALL.
    pub vector: u64,
    /// Hardware error code, or 0.
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl UserRegs for TrapFrame {
    fn syscall_nr(&self) -> usize {
        self.rax as usize
    }
    fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
    fn set_syscall_ret(&mut self, v: u64) {
        self.rax = v;
    }
    fn ip(&self) -> u64 {
        self.rip
    }
    fn set_ip(&mut self, ip: u64) {
        self.rip = ip;
    }
    fn sp(&self) -> u64 {
        self.rsp
    }
    fn came_from_user(&self) -> bool {
        self.cs & 3 == 3
    }
    fn new_user(ip: u64, sp: u64) -> Self {
        TrapFrame { rip: ip, rsp: sp, cs: 0x23, ss: 0x1b, rflags: 0x202, ..Default::default() }
    }
    fn set_user_sp(&mut self, sp: u64) {
        self.rsp = sp;
    }
    fn set_user_tls(&mut self, _tls: u64) {}
    fn rewind_syscall(&mut self, nr: usize, _arg0: u64) {
        // `syscall` is two bytes; rdi (the first argument) is never overwritten.
        self.rax = nr as u64;
        self.rip = self.rip.wrapping_sub(2);
    }
}

impl core::fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(
            f,
            "rip {:#018x} cs {:#x} rflags {:#x} rsp {:#018x} ss {:#x}",
            self.rip, self.cs, self.rflags, self.rsp, self.ss
        )?;
        writeln!(f, "rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}", self.rax, self.rbx, self.rcx, self.rdx)?;
        writeln!(f, "rsi {:#018x} rdi {:#018x} rbp {:#018x} r8  {:#018x}", self.rsi, self.rdi, self.rbp, self.r8)?;
        writeln!(f, "r9  {:#018x} r10 {:#018x} r11 {:#018x} r12 {:#018x}", self.r9, self.r10, self.r11, self.r12)?;
        write!(f, "r13 {:#018x} r14 {:#018x} r15 {:#018x}", self.r13, self.r14, self.r15)
    }
}

global_asm!(
    r#"
    /* Saves the general registers in TrapFrame order (r15 ends lowest). */
    .macro push_gprs
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    .endm

    /* Restores what push_gprs saved. */
    .macro pop_gprs
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    .endm

    .section .text.trap_stubs, "ax"
    .p2align 4
    .global trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .p2align 4
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push $0
    .endif
    push $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  push_gprs
    cld
    mov %rsp, %rdi
    call {trap}
    jmp trap_return

    /* Frame offsets: r15 0, r14 8, r13 16, r12 24, rbp 32, rbx 40, r11 48,
       r10 56, r9 64, r8 72, rdi 80, rsi 88, rdx 96, rcx 104, rax 112, vector
       120, error 128, rip 136, cs 144, rflags 152, rsp 160, ss 168. */
    .global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:8
    mov %gs:0, %rsp
    pushq $0x1b
    pushq %gs:8
    push %r11
    pushq $0x23
    push %rcx
    /* error and vector: written by the slow path. */
    sub $16, %rsp
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    /* rbx, rbp, r12-r15: still in the registers (the handlers follow the C
       ABI, which preserves them); the slow path stores them. */
    sub $48, %rsp
    mov %rsp, %rdi
    call *{syscall}(%rip)
    test %al, %al
    jnz syscall_slow

    /* Only rax changed in the frame, and rbx, rbp and r12-r15 still hold the
       user's values: reload what the call may have clobbered and leave with
       SYSRETQ. Its conditions, as below: no TF or RF in rflags and a canonical
       rip (rip is what SYSCALL left, at most 2^47 + 1, so bit 47 tells). */
syscall_fast_return:
    mov 136(%rsp), %rcx
    mov 152(%rsp), %r11
    test $0x10100, %r11d
    jnz syscall_full_return
    bt $47, %rcx
    jc syscall_full_return
    mov 112(%rsp), %rax
    mov 80(%rsp), %rdi
    mov 88(%rsp), %rsi
    mov 96(%rsp), %rdx
    mov 72(%rsp), %r8
    mov 64(%rsp), %r9
    mov 56(%rsp), %r10
    swapgs
    mov 160(%rsp), %rsp
    sysretq

    /* The handler wants the whole frame: complete it, then run the slow handler. */
syscall_slow:
    movq $0x100, 120(%rsp)
    movq $0, 128(%rsp)
    mov %rbx, 40(%rsp)
    mov %rbp, 32(%rsp)
    mov %r12, 24(%rsp)
    mov %r13, 16(%rsp)
    mov %r14, 8(%rsp)
    mov %r15, 0(%rsp)
    mov %rsp, %rdi
    call *{syscall_slow}(%rip)
    test %al, %al
    jz syscall_fast_return

    /* Back with SYSRETQ when it restores exactly the frame: rip in rcx, rflags in
       r11 (what SYSCALL left there, unless a signal or sigreturn changed the
       frame), user selectors, a canonical lower-half rip (SYSRETQ to a
       non-canonical one faults in ring 0), and no TF or RF. Otherwise IRETQ.
       Interrupts are off in the kernel, so nothing runs between swapgs and
       SYSRETQ. */
syscall_full_return:
    mov 104(%rsp), %rcx
    cmp 136(%rsp), %rcx
    jne trap_return
    mov 48(%rsp), %r11
    cmp 152(%rsp), %r11
    jne trap_return
    test $0x10100, %r11d
    jnz trap_return
    shr $47, %rcx
    jnz trap_return
    cmpq $0x23, 144(%rsp)
    jne trap_return
    cmpq $0x1b, 168(%rsp)
    jne trap_return
    pop_gprs
    swapgs
    mov 40(%rsp), %rsp
    sysretq

    .global trap_return
trap_return:
    pop_gprs
    add $16, %rsp
    testb $3, 8(%rsp)
    jz 2f
    swapgs
2:  iretq
    "#,
    trap = sym trap_dispatch,
    syscall = sym SYSCALL_HANDLER,
    syscall_slow = sym SYSCALL_SLOW_HANDLER,
    options(att_syntax)
);

extern "C" {
    static trap_stubs: u8;
    static syscall_entry: u8;
    static trap_return: u8;
}

/// Address of the SYSCALL entry stub (for LSTAR).
pub fn syscall_entry_addr() -> u64 {
    core::ptr::addr_of!(syscall_entry) as u64
}

/// The kernel's system-call handler, which `syscall_entry` calls through.
static SYSCALL_HANDLER: AtomicPtr<()> = AtomicPtr::new(no_syscall as *mut ());

/// The kernel's slow system-call handler, which `syscall_entry` calls through
/// with the completed frame.
static SYSCALL_SLOW_HANDLER: AtomicPtr<()> = AtomicPtr::new(no_syscall_slow as *mut ());

/// The handler until the kernel installs its own: ENOSYS.
extern "C" fn no_syscall(tf: &mut TrapFrame) -> u8 {
    tf.rax = (-38i64) as u64;
    crate::common::SYSCALL_DONE
}

/// The slow handler until the kernel installs its own: ENOSYS.
extern "C" fn no_syscall_slow(tf: &mut TrapFrame) -> bool {
    tf.rax = (-38i64) as u64;
    false
}

/// Makes `syscall_entry` call `h`, and `slow` when `h` asks for the whole frame.
pub(crate) fn set_syscall_handler(h: extern "C" fn(&mut TrapFrame) -> u8, slow: extern "C" fn(&mut TrapFrame) -> bool) {
    SYSCALL_SLOW_HANDLER.store(slow as *mut (), Ordering::Release);
    SYSCALL_HANDLER.store(h as *mut (), Ordering::Release);
}

extern "C" fn trap_dispatch(tf: &mut TrapFrame) {
    let trap = match tf.vector {
        0 => Trap::Divide,
        3 => Trap::Breakpoint,
        6 => Trap::InvalidOpcode,
        12 | 13 => Trap::GeneralProtection,
        14 => {
            let cr2: u64;
            // SAFETY: reading CR2 has no side effects.
            unsafe { asm!("mov {}, cr2", out(reg) cr2) };
            Trap::PageFault {
                addr: cr2,
                write: tf.error & 2 != 0,
                exec: tf.error & 16 != 0,
                present: tf.error & 1 != 0,
            }
        }
        16 | 19 => Trap::FloatingPoint,
        17 => Trap::Alignment,
        v @ 0..=31 => Trap::OtherException(v as u8),
        v => Trap::Interrupt(v as u8),
    };
    match crate::common::handlers() {
        Some(h) => (h.trap)(tf, trap),
        None => panic!("trap {:?} before handlers were installed\n{}", trap, tf),
    }
}

/// The interrupt descriptor table every CPU loads: two words per vector.
struct Idt(core::cell::UnsafeCell<[u64; 512]>);

// SAFETY: the table is written once, inside `IDT_BUILT.call_once`, before any CPU
// loads it; afterwards only the CPUs read it.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(core::cell::UnsafeCell::new([0; 512]));
static IDT_BUILT: spin::Once<()> = spin::Once::new();

/// The two words of an interrupt gate to `handler` through the kernel code
/// segment, with privilege-and-type byte `attr` and stack-table index `ist`.
fn gate(handler: u64, attr: u64, ist: u64) -> [u64; 2] {
    let lo = (handler & 0xffff) | (0x08 << 16) | (ist << 32) | (attr << 40) | ((handler >> 16) & 0xffff) << 48;
    [lo, handler >> 32]
}

/// Loads the IDT (built by the first caller): all 256 vectors go to the common stub.
pub fn load_idt() {
    IDT_BUILT.call_once(|| {
        let base = core::ptr::addr_of!(trap_stubs) as u64;
        // SAFETY: only this closure writes the table, and it runs once, before the
        // `lidt` below of any CPU.
        let table = unsafe { &mut *IDT.0.get() };
        // Present interrupt gates (IF cleared on entry), then the exceptions:
        // `int3` reachable from ring 3, NMI (2) and double fault (8) on IST 1.
        let [first_lo, hi] = gate(base, 0x8e, 0);
        if (base & 0xffff) + 256 * 16 <= 0x1_0000 {
            // The stubs share the upper 48 bits of their address: gate `i` is the
            // first one with 16 * i added to its offset's low 16 bits.
            // Four gates a step, each two plain stores (the table is 512 words).
            let mut lo = first_lo;
            for quad in table.chunks_exact_mut(8) {
                if let [a, b, c, d, e, f, g, h] = quad {
                    (*a, *b, *c, *d) = (lo, hi, lo + 16, hi);
                    (*e, *f, *g, *h) = (lo + 32, hi, lo + 48, hi);
                }
                lo += 64;
            }
        } else {
            for (i, pair) in table.chunks_exact_mut(2).enumerate() {
                pair.copy_from_slice(&gate(base + (i as u64) * 16, 0x8e, 0));
            }
        }
        for (v, attr, ist) in [(2usize, 0x8e, 1), (3, 0xee, 0), (8, 0x8e, 1)] {
            if let Some(pair) = table.get_mut(2 * v..2 * v + 2) {
                pair.copy_from_slice(&gate(base + (v as u64) * 16, attr, ist));
            }
        }
    });
    let ptr = DescriptorTablePointer { limit: (256 * 16 - 1) as u16, base: VirtAddr::from_ptr(IDT.0.get()) };
    // SAFETY: the IDT is static and complete, and every entry points at a valid stub.
    unsafe { lidt(&ptr) };
}

/// Starts user mode with context `tf`, using the kernel stack that ends at `kstack_top`.
pub fn enter_user(tf: &TrapFrame, kstack_top: u64) -> ! {
    super::init::set_kernel_stack(kstack_top);
    let frame_addr = kstack_top - core::mem::size_of::<TrapFrame>() as u64;
    // SAFETY: the frame is written at the top of the given kernel stack (owned by the
    // thread being started) and `trap_return` pops exactly one TrapFrame and irets to
    // ring 3; nothing on the current stack is used afterwards.
    unsafe {
        core::ptr::write(frame_addr as *mut TrapFrame, *tf);
        asm!("mov rsp, {}", "jmp {}", in(reg) frame_addr, sym trap_return, options(noreturn));
    }
}
