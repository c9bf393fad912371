//! Starting the program: load plan (elfin-loader), address-space layout with
//! ASLR, VMAs for the segments (committed lazily by page faults), the initial
//! stack exactly as Linux builds it, and the jump to user mode.
use alloc::vec::Vec;

use elfin_arch::{TrapFrame, UserRegs, PAGE_SIZE};
use elfin_loader::{auxv::*, Machine, StackArgs};
use elfin_shim::UAddr;

use crate::cmdline::Options;
use crate::fs::file::FdTable;
use crate::fs::{self, NodeKind, RunConfig};
use crate::mem::frames;
use crate::mem::vm::{AddrSpace, Backing, Prot, Vma, VmaName};
use crate::proc::{default_rlimits, exit_vm, Process, CURRENT};

/// Highest stack top (Linux's STACK_TOP for the architecture).
const STACK_TOP_MAX: u64 = elfin_arch::USER_STACK_TOP;
/// Initial size of the stack VMA (it grows on demand up to RLIMIT_STACK).
const STACK_INITIAL: u64 = 128 * 1024;

fn machine() -> Machine {
    match elfin_arch::ELF_MACHINE {
        183 => Machine::Aarch64,
        _ => Machine::X86_64,
    }
}

fn fail(status: u8, exe: &[u8], msg: core::fmt::Arguments<'_>) -> ! {
    kprintln!("elfin: {}: {}", core::str::from_utf8(exe).unwrap_or("?"), msg);
    exit_vm(status)
}

/// Random page-aligned offset below `2^bits` pages.
fn rnd_pages(aslr: bool, bits: u32) -> u64 {
    if aslr {
        (crate::rng::u64() & ((1u64 << bits) - 1)) * PAGE_SIZE
    } else {
        0
    }
}

/// Loads and starts the program named in the run configuration.
pub fn start_first(cfg: RunConfig, opts: &Options, features: elfin_arch::Features) -> ! {
    let exe = cfg.exe.clone();
    if exe.is_empty() {
        kprintln!("elfin: no program given (the initrd has no /.elfin/run with exe=)");
        exit_vm(127)
    }
    let node = match fs::resolve(&cfg.cwd, &exe, true) {
        Ok(r) => r.node,
        Err(e) => fail(127, &exe, format_args!("{}", e.description())),
    };
    let file: &[u8] = match &node.kind {
        NodeKind::File(c) => match &*c.lock() {
            fs::Content::Borrowed(b) => b,
            fs::Content::Owned(_) => fail(126, &exe, format_args!("program file was modified")),
        },
        NodeKind::Dir(_) => fail(126, &exe, format_args!("Is a directory")),
        _ => fail(126, &exe, format_args!("Permission denied")),
    };
    let plan = match elfin_loader::plan(file, machine()) {
        Ok(p) => p,
        Err(e) => fail(126, &exe, format_args!("cannot execute: {}", e)),
    };
    let kstack_top = crate::mem::alloc_kernel_stack();
    let frames_at_start = frames::free_count();
    let Some(mut asp) = AddrSpace::new() else { fail(126, &exe, format_args!("out of memory")) };
    let aslr = opts.aslr;
    let bias = elfin_loader::choose_bias(&plan, crate::rng::u64(), aslr);

    for seg in &plan.segments {
        let start = bias + seg.vaddr;
        let page = start & !(PAGE_SIZE - 1);
        let delta = start - page;
        let end = (start + seg.memsz).next_multiple_of(PAGE_SIZE);
        // Like Linux's MAP_FIXED per segment: a later segment replaces shared pages.
        asp.unmap_range(page, end);
        // The file's pages, then the bss beyond them as anonymous memory (Linux's
        // elf_map + vm_brk_flags: a separate VMA in /proc/self/maps).
        let prot = Prot { read: seg.prot.read, write: seg.prot.write, exec: seg.prot.exec };
        let file_end = (start + seg.filesz).next_multiple_of(PAGE_SIZE).min(end);
        if seg.filesz > 0 {
            asp.insert(Vma {
                start: page,
                end: file_end,
                prot,
                shared: false,
                growsdown: false,
                backing: Backing::File { node: node.clone(), offset: seg.offset - delta, len: seg.filesz + delta },
                name: VmaName::Path(exe.clone()),
            });
        }
        let anon_start = if seg.filesz > 0 { file_end } else { page };
        if anon_start < end {
            asp.insert(Vma {
                start: anon_start,
                end,
                prot,
                shared: false,
                growsdown: false,
                backing: Backing::Anon,
                name: VmaName::None,
            });
        }
    }

    // Layout as Linux does it: stack at the top, mmap base below the stack gap,
    // brk after the image (up to 32 MiB on), with the architecture's entropy.
    let stack_top = STACK_TOP_MAX - rnd_pages(aslr, elfin_arch::STACK_RND_BITS);
    let rlim_stack = 8u64 << 20;
    let gap = rlim_stack.max(128 << 20) + (1 << 30) / 4;
    asp.mmap_base = (STACK_TOP_MAX - gap - rnd_pages(aslr, elfin_arch::MMAP_RND_BITS)) & !(PAGE_SIZE - 1);
    asp.stack_limit = stack_top - rlim_stack;
    let image_end = (bias + plan.highest).next_multiple_of(PAGE_SIZE);
    asp.brk_start = image_end + if aslr { rnd_pages(true, 13) } else { 0 };
    asp.brk = asp.brk_start;
    asp.insert(Vma {
        start: stack_top - STACK_INITIAL,
        end: stack_top,
        prot: Prot { read: true, write: true, exec: plan.exec_stack },
        shared: false,
        growsdown: true,
        backing: Backing::Anon,
        name: VmaName::Stack,
    });

    // Initial stack: sub-page randomisation of the top as arch_align_stack does.
    let sp_top = if aslr { stack_top - (crate::rng::u64() % 8192) } else { stack_top } & !15;
    let mut random = [0u8; 16];
    crate::rng::fill(&mut random);
    let aux: Vec<(u64, u64)> = alloc::vec![
        (AT_HWCAP, elfin_arch::hwcap()),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, bias + plan.phdr_vaddr),
        (AT_PHENT, u64::from(plan.phent)),
        (AT_PHNUM, u64::from(plan.phnum)),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, bias + plan.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_HWCAP2, elfin_arch::hwcap2()),
    ];
    let argv: Vec<&[u8]> = cfg.argv.iter().map(|a| a.as_slice()).collect();
    let argv: Vec<&[u8]> = if argv.is_empty() { alloc::vec![exe.as_slice()] } else { argv };
    let envp: Vec<&[u8]> = cfg.envp.iter().map(|a| a.as_slice()).collect();
    let args = StackArgs {
        argv: &argv,
        envp: &envp,
        execfn: &exe,
        platform: elfin_arch::PLATFORM.as_bytes(),
        random,
        auxv: &aux,
    };
    let img = match elfin_loader::build_stack(sp_top, &args, (rlim_stack / 4) as usize) {
        Ok(i) => i,
        Err(e) => fail(126, &exe, format_args!("cannot build the initial stack: {}", e)),
    };
    // The stack VMA must cover the arguments (they may exceed the initial size).
    asp.settle_stack(img.sp);
    if crate::uaccess::write_bytes(&mut asp, UAddr(img.sp), &img.bytes).is_err() {
        fail(126, &exe, format_args!("out of memory for the initial stack"));
    }

    let entry = bias + plan.entry;
    asp.pt.activate();
    let mut proc = Process {
        pid: 1,
        aspace: asp,
        fds: FdTable::with_console(&cfg.ttys),
        cwd: cfg.cwd.clone(),
        umask: 0o022,
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        envp: cfg.envp.clone(),
        exe: exe.clone(),
        sigactions: [Default::default(); 64],
        prctl: crate::proc::PrctlState { pdeathsig: 0, dumpable: 1, subreaper: false },
        nice: 0,
        winsize: cfg.winsize.unwrap_or((24, 80)),
        block: None,
        rlimits: default_rlimits(),
        strace: opts.strace,
        frames_at_start,
    };
    if let Ok(r) = fs::resolve(b"/", &cfg.cwd, true) {
        if r.node.is_dir() {
            proc.cwd = r.path;
        }
    }
    *CURRENT.lock() = Some(proc);
    let _ = features;
    log::debug!("entering {:#x} with sp {:#x}", entry, img.sp);
    let tf = TrapFrame::new_user(entry, img.sp);
    crate::time::phases::entry();
    crate::syscall::STRACE.store(opts.strace, core::sync::atomic::Ordering::Relaxed);
    crate::sched::start_first(&tf, kstack_top)
}
