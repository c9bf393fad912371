//! Everything of the elfin kernel that differs per CPU architecture: boot-time CPU
//! setup, traps and system-call entry, the user context, page tables, timers and
//! entropy instructions. One module per architecture, one fixed set of names on top.
//! May depend on `x86_64` / `aarch64-cpu` and `spin` only.
#![no_std]

extern crate alloc;

mod common;

pub use common::{
    set_handlers, BuiltFrame, Features, FrameSource, Handlers, MapError, Perm, Restored, SigDelivery, Trap, UserRegs,
    SYSCALL_DONE, SYSCALL_SLOW,
};

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use self::x86_64::trap::set_syscall_handler;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use self::aarch64::trap::set_syscall_handler;

/// The vDSO's bytes (an ELF shared object built from `arch/vdso/<arch>/` by
/// build.rs); empty in host builds.
const VDSO_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// The vDSO padded with zeros to whole pages.
const VDSO_SIZE: usize = VDSO_BYTES.len().next_multiple_of(4096);

/// Page-aligned bytes: pages of the kernel image that programs map themselves.
#[repr(C, align(4096))]
pub struct Pages<const N: usize>(pub [u8; N]);

/// The vDSO as whole pages of the kernel image, which the kernel maps into every
/// program (read-only, shared by all) with its [vvar] page one page below.
pub static VDSO_PAGES: Pages<VDSO_SIZE> = Pages(vdso_padded());

const fn vdso_padded() -> [u8; VDSO_SIZE] {
    let mut out = [0u8; VDSO_SIZE];
    out.split_at_mut(VDSO_BYTES.len()).0.copy_from_slice(VDSO_BYTES);
    out
}

/// The vDSO image itself, without the padding.
pub static VDSO_IMAGE: &[u8] = VDSO_PAGES.0.split_at(VDSO_BYTES.len()).0;

// The common interface: the same names for every architecture.
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::{
    context::{init_thread_stack, set_kernel_stack, switch_context, FpuState},
    cpu::{
        halt_forever, has_1g_pages, hwcap, hwcap2, random_u64, random_u64_drbg, read_cycles, read_cycles_unordered,
        wait_for_interrupt, AUDIT_ARCH, ELF_MACHINE, MMAP_RND_BITS, PLATFORM, RESTART_SYSCALL_NR, STACK_RND_BITS,
        USER_END, USER_STACK_TOP,
    },
    init::{
        cpu_current, cpu_id, init_ap, init_bsp, init_fpu_bsp, kernel_va_to_pa, set_cpu_current, KERNEL_VIRT,
        PHYS_OFFSET,
    },
    paging::{flush_user_tlb, set_loaded_by_vmm, zero_page, LeafPerm, LeafSlot, PageTable, PAGE_SIZE},
    signal::{
        build_frame, restore_frame, sanitize_fpu, sigreturn_trampoline, sigreturn_ucontext, user_context_ok,
        UCONTEXT_SIZE,
    },
    tls::{get_tls, set_tls},
    trap::{enter_user, TrapFrame},
    vdso::{vdso_clock_mode, vdso_cpu_mode},
};
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::{
    context::{init_thread_stack, switch_context, FpuState},
    cpu::{
        halt_forever, has_1g_pages, hwcap, hwcap2, random_u64, random_u64_drbg, read_cycles, read_cycles_unordered,
        wait_for_interrupt, AUDIT_ARCH, ELF_MACHINE, MMAP_RND_BITS, PLATFORM, RESTART_SYSCALL_NR, STACK_RND_BITS,
        USER_END, USER_STACK_TOP,
    },
    init::{cpu_current, cpu_id, init_bsp, init_fpu_bsp, set_cpu_current, set_kernel_stack, KERNEL_VIRT, PHYS_OFFSET},
    paging::{flush_user_tlb, set_loaded_by_vmm, zero_page, LeafPerm, LeafSlot, PageTable, PAGE_SIZE},
    signal::{build_frame, restore_frame, sanitize_fpu, sigreturn_ucontext, user_context_ok, UCONTEXT_SIZE},
    smp::init_ap,
    tls::{get_tls, set_tls},
    trap::{enter_user, TrapFrame},
    vdso::{sigreturn_trampoline, vdso_clock_mode, vdso_cpu_mode},
};

// Architecture-specific extras, used only by that architecture's platform code.
/// Port I/O (x86_64 only).
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::io;
/// Starting application processors (x86_64 only: the real-mode trampoline).
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::smp;
/// What only the arm64 platform code needs: boot register values, the device
/// window, the boot direct map, the GIC CPU interface (system registers, or the
/// platform's acknowledge routine), undefined-instruction probes.
#[cfg(target_arch = "aarch64")]
pub mod arm64 {
    pub use super::aarch64::cpu::{
        counter_frequency, use_event_stream, CPACR_EL1_VALUE, MAIR_EL1_VALUE, SCTLR_EL1_RESET, SCTLR_EL1_VALUE,
        TCR_EL1_VALUE,
    };
    pub use super::aarch64::init::{init_early, TEXT_OFFSET};
    pub use super::aarch64::paging::{boot_map_ram, flush_owed_user_tlb, map_device, DEVICE_VIRT};
    pub use super::aarch64::trap::{probe_undefined, use_gicv3_cpu_interface, use_irq_acknowledge};
}

/// Translates an address inside the kernel image to its physical address. The
/// x86_64 kernel runs at KERNEL_VIRT + physical address; its boot section (below
/// KERNEL_VIRT) is identity-mapped.
#[cfg(target_arch = "x86_64")]
pub const fn kernel_va_to_pa(va: u64) -> u64 {
    if va >= KERNEL_VIRT {
        va - KERNEL_VIRT
    } else {
        va
    }
}

/// Translates a physical address to its kernel virtual address in the direct map.
pub const fn phys_to_virt(pa: u64) -> u64 {
    pa.wrapping_add(PHYS_OFFSET)
}
