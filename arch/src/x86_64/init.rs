//! Boot-time CPU setup: GDT with user segments and a TSS, per-CPU block reached
//! through GS, IDT, SYSCALL MSRs and FPU/SIMD enablement.
use alloc::boxed::Box;

use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::model_specific::{Efer, EferFlags, GsBase, KernelGsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

use super::cpu;
use super::trap;
use crate::common::Features;

/// Start of the direct map of physical memory.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Virtual address of physical address 0 in the kernel image window.
pub const KERNEL_VIRT: u64 = 0xffff_ffff_8000_0000;

/// Per-CPU block; `gs:0` and `gs:8` are used by the system-call entry.
#[repr(C)]
pub struct PerCpu {
    /// Top of the current thread's kernel stack (loaded on SYSCALL).
    pub kernel_rsp: u64,
    /// Scratch slot for the user stack pointer during SYSCALL entry.
    pub user_rsp: u64,
    /// This CPU's index (`gs:16`).
    pub cpu_id: u64,
    /// The thread this CPU runs, as the kernel recorded it (`gs:24`, see [`set_cpu_current`]).
    pub current: u64,
    /// The TSS of this CPU (RSP0 must follow `kernel_rsp`).
    pub tss: &'static mut TaskStateSegment,
}

static PERCPU: spin::Once<usize> = spin::Once::new();

/// The boot CPU's features, read once by [`init_fpu_bsp`].
static BSP_FEATURES: spin::Once<Features> = spin::Once::new();

/// Enables x87/SSE/AVX state on the boot CPU and picks how pages are zeroed; the
/// first thing the kernel does, so that even the boot page tables are zeroed the
/// fast way.
pub fn init_fpu_bsp() {
    bsp_features();
}

/// The boot CPU's features, its FPU enabled (once).
fn bsp_features() -> Features {
    *BSP_FEATURES.call_once(|| {
        let mut f = cpu::features();
        f.fpu_state_size = cpu::enable_fpu(&f);
        super::context::init_fpu(f.fpu_state_size, f.xsave);
        super::paging::choose_zeroing(f.xsave && cpu::avx_zeroing());
        f
    })
}

/// Sets up the boot CPU: segments, TSS, traps, SYSCALL, FPU. `kstack_top` is the
/// kernel stack used for traps and system calls from user mode.
pub fn init_bsp(kstack_top: u64) -> Features {
    let f = bsp_features();
    let addr = init_cpu_tables(0, kstack_top);
    PERCPU.call_once(|| addr as usize);

    trap::load_idt();
    syscall_msrs();
    f
}

/// The first fields of [`PerCpu`], for the time before a CPU's block is allocated.
#[repr(C)]
struct EarlyPerCpu {
    kernel_rsp: u64,
    user_rsp: u64,
    cpu_id: u64,
    current: u64,
}

const _: () = assert!(core::mem::offset_of!(EarlyPerCpu, cpu_id) == core::mem::offset_of!(PerCpu, cpu_id));
const _: () = assert!(core::mem::offset_of!(EarlyPerCpu, current) == core::mem::offset_of!(PerCpu, current));

/// Gives the calling CPU its own TSS (RSP0 = `kstack_top`, a double-fault stack),
/// GDT and per-CPU block with index `cpu` in GS; returns the block's address.
/// The boot CPU and every application processor set up the same way.
pub(crate) fn init_cpu_tables(cpu: usize, kstack_top: u64) -> u64 {
    // Until its block exists, GS points at this stand-in on the stack: the
    // allocations below take the kernel's locks, which read the CPU's index from
    // GS (an application processor starts with GS base 0, and a heap that must
    // grow then would fault).
    let mut early = EarlyPerCpu { kernel_rsp: kstack_top, user_rsp: 0, cpu_id: cpu as u64, current: 0 };
    GsBase::write(VirtAddr::from_ptr(core::ptr::addr_of_mut!(early)));
    let tss = Box::leak(Box::new(TaskStateSegment::new()));
    tss.privilege_stack_table[0] = VirtAddr::new(kstack_top);
    // A separate stack for double faults, so a kernel stack overflow is reported.
    // (Never zeroed: a stack needs no initial contents.)
    let df_stack = Box::leak(Box::<[u8]>::new_uninit_slice(16384));
    tss.interrupt_stack_table[0] = VirtAddr::from_ptr(df_stack.as_ptr_range().end);
    let tss_ptr: *const TaskStateSegment = tss;

    let gdt = Box::leak(Box::new(GlobalDescriptorTable::<8>::new()));
    let kcode = gdt.append(Descriptor::kernel_code_segment());
    let kdata = gdt.append(Descriptor::kernel_data_segment());
    let _udata = gdt.append(Descriptor::user_data_segment());
    let _ucode = gdt.append(Descriptor::user_code_segment());
    // SAFETY: the TSS is leaked, so it lives as long as the GDT that refers to it.
    let tss_sel = gdt.append(Descriptor::tss_segment(unsafe { &*tss_ptr }));
    gdt.load();
    // SAFETY: the selectors index the GDT that was just loaded.
    unsafe {
        CS::set_reg(kcode);
        SS::set_reg(kdata);
        DS::set_reg(SegmentSelector::new(0, PrivilegeLevel::Ring0));
        ES::set_reg(SegmentSelector::new(0, PrivilegeLevel::Ring0));
        load_tss(tss_sel);
    }

    let percpu =
        Box::leak(Box::new(PerCpu { kernel_rsp: kstack_top, user_rsp: 0, cpu_id: cpu as u64, current: 0, tss }));
    let addr = percpu as *mut PerCpu as u64;
    GsBase::write(VirtAddr::new(addr));
    KernelGsBase::write(VirtAddr::new(0));
    super::vdso::init_cpu(cpu);
    addr
}

/// Enables SYSCALL on this CPU: kernel CS=0x08/SS=0x10; SYSRET bases give user
/// CS=0x23, SS=0x1b; IF, TF, DF, AC and NT cleared on entry.
pub(crate) fn syscall_msrs() {
    // SAFETY: enabling SCE with LSTAR pointing at the entry stub; NXE keeps the boot value.
    unsafe { Efer::update(|e| *e |= EferFlags::SYSTEM_CALL_EXTENSIONS | EferFlags::NO_EXECUTE_ENABLE) };
    // SAFETY: the selectors match the GDT layout every CPU builds.
    unsafe { Star::write_raw(0x13, 0x08) };
    LStar::write(VirtAddr::new(trap::syscall_entry_addr()));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
}

/// Sets the kernel stack used on the next entry from user mode.
pub fn set_kernel_stack(top: u64) {
    if PERCPU.get().is_none() {
        return;
    }
    let p = GsBase::read().as_u64();
    // SAFETY: GS holds this CPU's leaked per-CPU block (set by init_bsp or
    // init_ap); interrupts are off in the kernel and no other CPU writes it.
    let pc = unsafe { &mut *(p as *mut PerCpu) };
    pc.kernel_rsp = top;
    pc.tss.privilege_stack_table[0] = VirtAddr::new(top);
}

/// The index of the CPU running the caller (0 for the boot CPU).
#[inline]
pub fn cpu_id() -> usize {
    if PERCPU.get().is_none() {
        return 0;
    }
    let id: u64;
    // SAFETY: GS points at this CPU's PerCpu block once PERCPU is set; `cpu_id`
    // lies at offset 16 and is only written before the CPU runs threads.
    unsafe { core::arch::asm!("mov {}, gs:[16]", out(reg) id, options(nostack, readonly, preserves_flags)) };
    id as usize
}

/// Records an opaque word for the calling CPU (the kernel's running thread), read
/// back by [`cpu_current`]; ignored before the per-CPU block exists.
#[inline]
pub fn set_cpu_current(v: usize) {
    if PERCPU.get().is_none() {
        return;
    }
    // SAFETY: GS points at this CPU's PerCpu block once PERCPU is set; `current`
    // lies at offset 24 and only this CPU writes it.
    unsafe { core::arch::asm!("mov gs:[24], {}", in(reg) v as u64, options(nostack, preserves_flags)) };
}

/// The word [`set_cpu_current`] recorded on the calling CPU. Only for code entered
/// from user mode (a system call, a user trap): the CPU's per-CPU block exists by
/// then, so there is no check.
#[inline(always)]
pub fn cpu_current() -> usize {
    let v: u64;
    // SAFETY: user mode runs only after this CPU's `init_cpu_tables`, so GS points
    // at its PerCpu block, whose `current` lies at offset 24.
    unsafe { core::arch::asm!("mov {}, gs:[24]", out(reg) v, options(nostack, readonly, preserves_flags)) };
    v as usize
}
