//! Everything of the elfin kernel that differs per CPU architecture: boot-time CPU
//! setup, traps and system-call entry, the user context, page tables, timers and
//! entropy instructions. One module per architecture, one fixed set of names on top.
//! May depend on `x86_64` / `aarch64-cpu` and `spin` only.
#![no_std]

extern crate alloc;

#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "x86_64")]
pub use self::x86_64::{
    cpu::{
        halt_forever, hwcap, hwcap2, random_u64, read_cycles, wait_for_interrupt, Features, ELF_MACHINE, MMAP_RND_BITS, PLATFORM,
        STACK_RND_BITS, USER_END, USER_STACK_TOP,
    },
    context::{init_thread_stack, switch_context, FpuState},
    init::{init_bsp, set_kernel_stack, KERNEL_VIRT, PHYS_OFFSET},
    io,
    paging::{FrameSource, PageTable, Perm, PAGE_SIZE},
    signal::{build_frame, restore_frame, sanitize_fpu, sigreturn_ucontext, SigDelivery, UCONTEXT_SIZE},
    trap::{enter_user, set_handlers, Handlers, Trap, TrapFrame, UserRegs},
    tls::{get_tls, set_tls},
};

/// Translates a physical address to its kernel virtual address in the direct map.
pub const fn phys_to_virt(pa: u64) -> u64 {
    pa.wrapping_add(PHYS_OFFSET)
}
