//! Starting programs: pid 1 at boot, and execve. A program's load plan comes
//! from elfin-loader; its segments become VMAs at a random base (committed lazily
//! by page faults); its initial stack is built exactly as Linux builds it.
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use crate::sync::Mutex;
use elfin_arch::{FpuState, TrapFrame, UserRegs, PAGE_SIZE};
use elfin_kcore::SigQueue;
use elfin_loader::{auxv::*, LoadError, Machine, StackArgs};
use elfin_plat::console::Channel;
use elfin_shim::errno::Errno;
use elfin_shim::uapi::stat_mode::*;
use elfin_shim::uapi::{KernelSigaction, StackT};
use elfin_shim::UAddr;

use super::sched::SchedState;
use super::{
    default_rlimits, exit, sched, table, CpuTimes, Ctx, FsContext, Mm, ProcInfo, ProcState, Process, Relations, Thread,
    ThreadMisc,
};
use crate::cmdline::Options;
use crate::fs::console::Console;
use crate::fs::file::{FdTable, OpenFile, O_RDWR, O_WRONLY};
use crate::fs::{self, Inode, RunConfig};
use crate::mem::vm::{AddrSpace, Backing, ImageAreas, Prot, Vma, VmaName};

/// Highest stack top (Linux's STACK_TOP for the architecture).
const STACK_TOP_MAX: u64 = elfin_arch::USER_STACK_TOP;
/// Initial size of the stack VMA (it grows on demand up to RLIMIT_STACK).
const STACK_INITIAL: u64 = 128 * 1024;
/// Longest argument or environment string (MAX_ARG_STRLEN: 32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Interpreters followed for one execve (`#!` scripts running scripts).
const MAX_INTERP_DEPTH: usize = 4;
/// Bytes of a file looked at for `#!` (BINPRM_BUF_SIZE).
const BINPRM_BUF_SIZE: usize = 256;

/// Whether programs are loaded at random addresses (the `noaslr` kernel option clears it).
pub static ASLR: AtomicBool = AtomicBool::new(true);
/// The FPU state a new program starts with.
static INITIAL_FPU: Mutex<Option<FpuState>> = Mutex::new(None);

fn machine() -> Machine {
    match elfin_arch::ELF_MACHINE {
        183 => Machine::Aarch64,
        _ => Machine::X86_64,
    }
}

/// Random page-aligned offset below `2^bits` pages.
fn rnd_pages(aslr: bool, bits: u32) -> u64 {
    if aslr {
        (crate::rng::u64() & ((1u64 << bits) - 1)) * PAGE_SIZE
    } else {
        0
    }
}

/// A loaded program, ready to enter.
pub struct Image {
    /// Its address space.
    pub mm: AddrSpace,
    /// Entry point.
    pub entry: u64,
    /// Initial stack pointer.
    pub sp: u64,
    /// The auxiliary vector as placed on the stack, AT_NULL included
    /// (/proc/PID/auxv).
    pub auxv: Vec<u64>,
}

/// Why a program cannot be loaded: the errno execve returns and a sentence for
/// the kernel log.
pub struct LoadFailure {
    /// errno for execve.
    pub errno: Errno,
    /// What is wrong, for a person.
    pub why: String,
}

fn failure(errno: Errno, why: impl ToString) -> LoadFailure {
    LoadFailure { errno, why: why.to_string() }
}

fn loader_errno(e: &LoadError) -> Errno {
    match e {
        LoadError::StringTooLong { .. } | LoadError::ArgumentListTooLong { .. } => Errno::E2BIG,
        _ => Errno::ENOEXEC,
    }
}

/// Builds the address space of the ELF program `node` (whose bytes are `file`):
/// segments at a random base, stack, heap start and mmap base laid out as Linux
/// does, and the initial stack with `argv`, `envp` and the auxiliary vector.
fn load(
    node: &Arc<dyn Inode>,
    file: &Program,
    exe: &[u8],
    execfn: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    cred: &super::Cred,
) -> Result<Image, LoadFailure> {
    // personality(ADDR_NO_RANDOMIZE) turns layout randomization off for the execs
    // of the process that set it.
    let persona_fixed =
        super::sched::try_current().is_some_and(|t| t.process.ext.lock().personality & 0x0004_0000 != 0);
    let aslr = ASLR.load(Ordering::Relaxed) && !persona_fixed;
    let planned = match file {
        // The initrd's bytes as a slice: no per-read dispatch at boot.
        Program::Initrd(b) => elfin_loader::plan(b, machine()),
        f => elfin_loader::plan_from(f, machine()),
    };
    let plan = match planned {
        Ok(p) => p,
        Err(e @ LoadError::Dynamic { .. }) => {
            return Err(failure(Errno::ENOEXEC, alloc::format!("{}; build it with -static-pie", e)))
        }
        Err(e) => return Err(failure(loader_errno(&e), alloc::format!("cannot execute: {}", e))),
    };
    let mut asp = AddrSpace::new().ok_or_else(|| failure(Errno::ENOMEM, "out of memory"))?;
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
                name: VmaName::Path(exe.to_vec()),
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
    // Linux's mmap_base: the gap below the highest stack top holds the stack's
    // limit, its guard gap and, with randomization, the most the top may move
    // down, within [128 MiB, 5/6 of the address space]: the mmap area (where the
    // vDSO goes first) then lies below any stack the layout can have. (A fixed
    // 256 MiB pad was less than arm64's 1 GiB of stack entropy: about one exec in
    // ten thousand put the vDSO where the stack then could not go.)
    let stack_entropy = if aslr { (1u64 << elfin_arch::STACK_RND_BITS) * PAGE_SIZE } else { 0 };
    let gap = (rlim_stack + crate::mem::vm::STACK_GUARD_GAP + stack_entropy).clamp(128 << 20, STACK_TOP_MAX / 6 * 5);
    asp.mmap_base = (STACK_TOP_MAX - gap - rnd_pages(aslr, elfin_arch::MMAP_RND_BITS)) & !(PAGE_SIZE - 1);
    asp.stack_limit = stack_top - rlim_stack;
    let image_end = (bias + plan.highest).next_multiple_of(PAGE_SIZE);
    asp.brk_start = image_end + if aslr { rnd_pages(true, 13) } else { 0 };
    asp.brk = asp.brk_start;
    // The vDSO and its [vvar] page, placed like any mapping below the mmap base.
    let vdso = crate::vdso::map(&mut asp);

    // Initial stack: sub-page randomisation of the top as arch_align_stack does.
    let sp_top = if aslr { stack_top - (crate::rng::u64() % 8192) } else { stack_top } & !15;
    let mut random = [0u8; 16];
    crate::rng::fill_small(&mut random);
    let mut aux: Vec<(u64, u64)> = alloc::vec![
        (AT_HWCAP, elfin_arch::hwcap()),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, bias + plan.phdr_vaddr),
        (AT_PHENT, u64::from(plan.phent)),
        (AT_PHNUM, u64::from(plan.phnum)),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, bias + plan.entry),
        (AT_UID, u64::from(cred.uid[0])),
        (AT_EUID, u64::from(cred.uid[1])),
        (AT_GID, u64::from(cred.gid[0])),
        (AT_EGID, u64::from(cred.gid[1])),
        (AT_SECURE, 0),
        (AT_HWCAP2, elfin_arch::hwcap2()),
    ];
    // Linux's ARCH_DLINFO puts AT_SYSINFO_EHDR first.
    if let Some(v) = vdso {
        aux.insert(0, (AT_SYSINFO_EHDR, v));
    }
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let args =
        StackArgs { argv: &argv, envp: &envp, execfn, platform: elfin_arch::PLATFORM.as_bytes(), random, auxv: &aux };
    let img = elfin_loader::build_stack(sp_top, &args, (rlim_stack / 4) as usize)
        .map_err(|e| failure(loader_errno(&e), alloc::format!("cannot build the initial stack: {}", e)))?;
    // The stack VMA covers the arguments (they may exceed the initial size) and
    // 128 KiB below them, as Linux's setup_arg_pages leaves.
    let stack_free = asp.insert(Vma {
        start: AddrSpace::initial_stack_start(stack_top, img.sp, STACK_INITIAL),
        end: stack_top,
        prot: Prot { read: true, write: true, exec: plan.exec_stack },
        shared: false,
        growsdown: true,
        backing: Backing::Anon,
        name: VmaName::Stack,
    });
    if !stack_free {
        return Err(failure(Errno::ENOMEM, "the layout left no room for the initial stack"));
    }
    crate::uaccess::write_bytes(&mut asp, UAddr(img.sp), &img.bytes)
        .map_err(|_| failure(Errno::ENOMEM, "out of memory for the initial stack"))?;
    asp.areas = ImageAreas {
        code: code_range(&plan, bias),
        data: data_range(&plan, bias),
        args: img.args,
        env: img.env,
        start_stack: img.sp,
    };
    Ok(Image { mm: asp, entry: bias + plan.entry, sp: img.sp, auxv: img.auxv })
}

/// Linux's start_code..end_code: the executable segments' lowest start to their
/// highest file end (empty when none is executable).
fn code_range(plan: &elfin_loader::LoadPlan, bias: u64) -> core::ops::Range<u64> {
    let exec = plan.segments.iter().filter(|s| s.prot.exec);
    let start = exec.clone().map(|s| s.vaddr).min();
    let end = exec.map(|s| s.vaddr + s.filesz).max();
    match (start, end) {
        (Some(s), Some(e)) => bias + s..bias + e,
        _ => 0..0,
    }
}

/// Linux's start_data..end_data: the highest segment start to the highest file end.
fn data_range(plan: &elfin_loader::LoadPlan, bias: u64) -> core::ops::Range<u64> {
    let start = plan.segments.iter().map(|s| s.vaddr).max().unwrap_or(0);
    let end = plan.segments.iter().map(|s| s.vaddr + s.filesz).max().unwrap_or(0);
    bias + start..bias + end
}

/// A program file as the loader reads it: the initrd's bytes, borrowed, or a file
/// read a piece at a time (its first page kept), so that a program larger than
/// memory can be executed from a volume or tmpfs.
enum Program {
    Initrd(&'static [u8]),
    File { node: Arc<dyn Inode>, size: u64, head: Vec<u8> },
}

/// Bytes of a program file read up front: the `#!` line (BINPRM_BUF_SIZE) and,
/// usually, the ELF and program headers.
const HEAD_BYTES: u64 = 4096;

impl Program {
    fn open(node: &Arc<dyn Inode>) -> Result<Program, LoadFailure> {
        if let Some(b) = node.static_bytes() {
            return Ok(Program::Initrd(b));
        }
        node.refresh();
        let size = node.size();
        let mut head = alloc::vec![0u8; size.min(HEAD_BYTES) as usize];
        let n = node.read_at(0, &mut head).map_err(|e| failure(e, "cannot read the program"))?;
        head.truncate(n);
        Ok(Program::File { node: node.clone(), size, head })
    }

    /// The first bytes of the file (up to a page).
    fn head(&self) -> &[u8] {
        match self {
            Program::Initrd(b) => b,
            Program::File { head, .. } => head,
        }
    }
}

impl elfin_loader::Source for Program {
    fn size(&self) -> u64 {
        match self {
            Program::Initrd(b) => b.len() as u64,
            Program::File { size, .. } => *size,
        }
    }
    fn read(&self, offset: u64, len: usize) -> Option<alloc::borrow::Cow<'_, [u8]>> {
        let (node, head) = match self {
            Program::Initrd(b) => return b.read(offset, len),
            Program::File { node, head, .. } => (node, head),
        };
        if let Some(b) = head.read(offset, len) {
            return Some(b);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(len).ok()?;
        v.resize(len, 0);
        (node.read_at(offset, &mut v).ok()? == len).then_some(alloc::borrow::Cow::Owned(v))
    }
}

/// Whether `node` may be executed (a regular file with an execute bit; root needs
/// just one).
fn check_exec(node: &Arc<dyn Inode>) -> Result<(), Errno> {
    let m = node.meta().mode;
    if m & S_IFMT != S_IFREG || m & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if node.writers() > 0 {
        return Err(Errno::ETXTBSY);
    }
    Ok(())
}

/// What an execve runs once `#!` lines are followed.
struct Resolved {
    node: Arc<dyn Inode>,
    path: Vec<u8>,
    bytes: Program,
    argv: Vec<Vec<u8>>,
}

/// Follows `#!` interpreters from the file `path`: the interpreter gets its
/// optional argument and the script's path in front of the script's arguments.
/// An interpreter's path is resolved from `cwd` and the root directory `root`.
fn resolve_program(
    root: &[u8],
    cwd: &[u8],
    first: fs::Resolved,
    argv: Vec<Vec<u8>>,
    filename: &[u8],
    path_inaccessible: bool,
) -> Result<Resolved, LoadFailure> {
    let mut cur = first;
    let mut argv = argv;
    let mut filename = filename.to_vec();
    for depth in 0..=MAX_INTERP_DEPTH {
        check_exec(&cur.node).map_err(|e| failure(e, "Permission denied"))?;
        let bytes = Program::open(&cur.node)?;
        if bytes.head().get(..2) != Some(b"#!") {
            return Ok(Resolved { node: cur.node, path: cur.path, bytes, argv });
        }
        if depth == 0 && path_inaccessible {
            // A script run through a close-on-exec descriptor: the interpreter
            // could not open /dev/fd/N once the exec has closed it.
            return Err(failure(Errno::ENOENT, "script descriptor is close-on-exec"));
        }
        if depth == MAX_INTERP_DEPTH {
            return Err(failure(Errno::ELOOP, "too many levels of #! interpreters"));
        }
        let head = bytes.head().get(2..BINPRM_BUF_SIZE.min(bytes.head().len())).unwrap_or(&[]);
        let line = match head.iter().position(|&b| b == b'\n') {
            Some(i) => head.get(..i).unwrap_or(&[]),
            None => head,
        };
        let line = trim(line);
        let split = line.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(line.len());
        let interp = line.get(..split).unwrap_or(&[]).to_vec();
        let arg = trim(line.get(split..).unwrap_or(&[]));
        if interp.is_empty() {
            return Err(failure(Errno::ENOEXEC, "empty #! line"));
        }
        let mut new_argv = alloc::vec![interp.clone()];
        if !arg.is_empty() {
            new_argv.push(arg.to_vec());
        }
        new_argv.push(filename.clone());
        new_argv.extend(argv.into_iter().skip(1));
        argv = new_argv;
        cur = fs::resolve_as(root, cwd, &interp, true).map_err(|e| failure(e, "cannot find the #! interpreter"))?;
        filename = interp;
    }
    Err(failure(Errno::ELOOP, "too many levels of #! interpreters"))
}

/// Strips spaces and tabs (only those: Linux keeps a `\r`, so a CRLF `#!` line names
/// an interpreter that does not exist).
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map(|i| i + 1).unwrap_or(start);
    s.get(start..end.max(start)).unwrap_or(&[])
}

fn basename(p: &[u8]) -> &[u8] {
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
}

fn comm_of(p: &[u8]) -> [u8; 16] {
    let mut c = [0u8; 16];
    for (d, s) in c.iter_mut().zip(basename(p).iter().take(15)) {
        *d = *s;
    }
    c
}

/// Loads and starts pid 1, the program named in the run configuration.
pub fn start_first(mut cfg: RunConfig, opts: &Options) -> ! {
    ASLR.store(opts.aslr, Ordering::Relaxed);
    *INITIAL_FPU.lock() = FpuState::from_current();
    crate::syscall::STRACE.store(opts.strace, Ordering::Relaxed);
    if opts.strace {
        crate::syscall::general_only();
    }
    let fail = |status: u8, exe: &[u8], why: &str| -> ! {
        kprintln!("elfin: {}: {}", String::from_utf8_lossy(exe), why);
        exit::fail_boot(status)
    };
    let exe = core::mem::take(&mut cfg.exe);
    if exe.is_empty() {
        kprintln!("elfin: no program given (the initrd has no /.elfin/run with exe=)");
        exit::fail_boot(127)
    }
    // The root needs no walk.
    let cwd = if cfg.cwd == b"/" {
        core::mem::take(&mut cfg.cwd)
    } else {
        match fs::resolve(b"/", &cfg.cwd, true) {
            Ok(r) if fs::is_dir(&*r.node) => r.path,
            _ => b"/".to_vec(),
        }
    };
    let first = match fs::resolve(&cwd, &exe, true) {
        Ok(r) => r,
        Err(e) => fail(127, &exe, e.description()),
    };
    if fs::is_dir(&*first.node) {
        fail(126, &exe, "Is a directory");
    }
    let argv: Vec<Vec<u8>> =
        if cfg.argv.is_empty() { alloc::vec![exe.clone()] } else { core::mem::take(&mut cfg.argv) };
    let kstack = crate::mem::alloc_kernel_stack();
    // The vDSO's pages are the kernel's for good: made before the figures the leak
    // report compares with.
    crate::vdso::init();
    exit::note_start();
    let prog = match resolve_program(b"/", &cwd, first, argv, &exe, false) {
        Ok(p) => p,
        Err(f) => fail(126, &exe, &f.why),
    };
    let mut img = match load(&prog.node, &prog.bytes, &prog.path, &exe, &prog.argv, &cfg.envp, &super::Cred::default())
    {
        Ok(i) => i,
        Err(f) => fail(126, &exe, &f.why),
    };
    let pid = table::alloc_id().unwrap_or(1);
    let mut fds = FdTable::default();
    // The line discipline runs when the host's stdin is a terminal; echoes go to
    // the first of stdout and stderr that is one.
    let echo_to = [(1, Channel::Stdout), (2, Channel::Stderr)].into_iter().find(|(fd, _)| cfg.ttys.contains(fd));
    crate::fs::tty::init(cfg.ttys.contains(&0), echo_to.map(|(_, ch)| ch), cfg.winsize);
    for (fd, file) in [
        (0, Console::input(cfg.ttys.contains(&0))),
        (1, Console::output(Channel::Stdout, cfg.ttys.contains(&1))),
        (2, Console::output(Channel::Stderr, cfg.ttys.contains(&2))),
    ] {
        let flags = if fd == 0 {
            if cfg.ttys.contains(&0) {
                O_RDWR
            } else {
                0
            }
        } else {
            O_WRONLY
        };
        let _ = fds.install_at(fd, OpenFile::new(file, flags, Vec::new()), false, 3);
    }
    crate::fs::console::set_tty(!cfg.ttys.is_empty());
    let mut info = ProcInfo {
        exe: prog.path,
        argv: prog.argv,
        envp: core::mem::take(&mut cfg.envp),
        auxv: core::mem::take(&mut img.auxv),
        rlimits: default_rlimits(),
        pdeathsig: 0,
        dumpable: 1,
        subreaper: false,
        nice: 0,
        exit_signal: 0,
        winsize: cfg.winsize.unwrap_or((24, 80)),
        strace: opts.strace,
    };
    info.exit_signal = 0;
    let root = img.mm.pt.root();
    let process = Arc::new(Process {
        pid,
        pgid: AtomicI32::new(pid),
        // As a container's entry point: its own group, in a session that lies outside.
        sid: AtomicI32::new(0),
        ppid: AtomicI32::new(0),
        mm: Mutex::new(Some(Arc::new(Mm::new(img.mm)))),
        mm_root: AtomicU64::new(root),
        files: Mutex::new(Some(Arc::new(Mutex::new(fds)))),
        fs: Mutex::new(Arc::new(Mutex::new(FsContext { cwd, root: b"/".to_vec(), umask: 0o022 }))),
        sighand: Mutex::new(Arc::new(Mutex::new([KernelSigaction::default(); 64]))),
        threads: Mutex::new(Vec::new()),
        rel: Mutex::new(Relations { parent: None, children: Vec::new() }),
        state: Mutex::new(ProcState {
            exiting: None,
            zombie: false,
            live_threads: 1,
            stopped: None,
            report: None,
            execed: false,
            exec_waiter: None,
        }),
        child_wq: super::WaitQueue::new(),
        state_wq: super::WaitQueue::new(),
        shared_pending: Mutex::new(SigQueue::new()),
        info: Mutex::new(info),
        vfork_parent: Mutex::new(None),
        times: Mutex::new(CpuTimes::default()),
        minflt: core::sync::atomic::AtomicU64::new(0),
        itimer: Mutex::new(None),
        cred: Mutex::new(super::Cred::default()),
        ext: Mutex::new(super::ext::ProcExt::default()),
        start_cycles: elfin_arch::read_cycles(),
        io: Default::default(),
    });
    let tf = TrapFrame::new_user(img.entry, img.sp);
    let thread = Thread::new(
        pid,
        process.clone(),
        SchedState::new(kstack, &tf, None, 0),
        0,
        StackT::new(0, 2, 0),
        ThreadMisc {
            clear_child_tid: 0,
            robust_list: (0, 0),
            comm: comm_of(&exe),
            rseq: None,
            restart_sleep: None,
            ext: Default::default(),
            seccomp: Default::default(),
        },
    );
    process.threads.lock().push(thread.clone());
    table::register(pid, &thread, Some(&process));
    table::hold_group(pid);
    // The program sees every CPU from its first instruction.
    crate::cpus::wait_started();
    crate::fs::sysfs::populate_cpus(sched::online());
    log::debug!("entering {:#x} with sp {:#x}", img.entry, img.sp);
    crate::time::phases::entry();
    sched::run_first(thread)
}

/// Reads a NULL-terminated array of string pointers (argv, envp), within Linux's
/// limits (each string up to MAX_ARG_STRLEN, all of them up to a quarter of the
/// stack limit).
fn read_strings(cx: &Ctx, arr: UAddr, budget: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if arr.is_null() {
        return Ok(out);
    }
    for i in 0u64.. {
        let p: u64 = cx.read_val(UAddr(arr.0.checked_add(i * 8).ok_or(Errno::EFAULT)?))?;
        if p == 0 {
            break;
        }
        let s = cx.read_cstr(UAddr(p), MAX_ARG_STRLEN - 1).map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                e
            }
        })?;
        // Each string costs its bytes, its NUL and its pointer.
        let cost = s.len() + 1 + 8;
        *budget = budget.checked_sub(cost).ok_or(Errno::E2BIG)?;
        out.push(s);
    }
    Ok(out)
}

/// execve(2)/execveat(2): replaces the calling process's program. On success the
/// trap frame enters the new program; the old address space and the other
/// threads are gone.
pub fn execve(
    cx: &mut Ctx,
    tf: &mut TrapFrame,
    dirfd: i32,
    path: UAddr,
    argv: UAddr,
    envp: UAddr,
    flags: i32,
) -> Result<(), Errno> {
    const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
    const AT_EMPTY_PATH: i32 = 0x1000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let filename = cx.read_path(path)?;
    let mut budget = (cx.proc.rlimit(3).min(u64::from(u32::MAX)) / 4).max(32 * 4096) as usize;
    let mut argv = read_strings(cx, argv, &mut budget)?;
    let envp = read_strings(cx, envp, &mut budget)?;
    if argv.is_empty() {
        // Linux (since 5.18) gives a program started without arguments argv[0] "".
        argv.push(Vec::new());
    }
    let cwd = cx.cwd();
    // What the program sees as its file name (AT_EXECFN, a script's argument):
    // relative to a descriptor, Linux names it through /dev/fd.
    let by_fd = filename.first() != Some(&b'/') && dirfd != crate::syscall::AT_FDCWD;
    let execfn = if !by_fd {
        filename.clone()
    } else if filename.is_empty() {
        alloc::format!("/dev/fd/{}", dirfd).into_bytes()
    } else {
        let mut f = alloc::format!("/dev/fd/{}/", dirfd).into_bytes();
        f.extend_from_slice(&filename);
        f
    };
    let fd_cloexec = by_fd && filename.is_empty() && {
        let files = cx.files();
        let cloexec = files.lock().slot_mut(dirfd).map(|s| s.cloexec).unwrap_or(false);
        cloexec
    };
    let first = if filename.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let f = cx.fd(dirfd)?;
        let node = f.inode().ok_or(Errno::EACCES)?;
        fs::Resolved { node, path: f.path.clone() }
    } else {
        let base = crate::syscall::base_dir(cx, dirfd, &filename)?;
        let r = cx.resolve(&base, &filename, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        if fs::ftype(&*r.node) == S_IFLNK {
            return Err(Errno::ELOOP);
        }
        r
    };
    let prog = resolve_program(&cx.root(), &cwd, first, argv, &execfn, fd_cloexec).map_err(|f| f.errno)?;
    let cred = cx.proc.cred.lock().clone();
    let img = match load(&prog.node, &prog.bytes, &prog.path, &execfn, &prog.argv, &envp, &cred) {
        Ok(i) => i,
        Err(f) => {
            // An ELF program that cannot run here (a dynamic one, another machine's)
            // is explained on the console; a file that is no ELF at all is a
            // script without `#!` to a shell, which runs it itself on ENOEXEC.
            if f.errno == Errno::ENOEXEC && prog.bytes.head().starts_with(b"\x7fELF") {
                kprintln!("elfin: {}: {}", String::from_utf8_lossy(&filename), f.why);
            }
            return Err(f.errno);
        }
    };
    de_thread(cx)?;

    // The point of no return.
    let p = cx.proc.clone();
    if cx.thread.tid() != p.pid {
        // Another thread than the first exec'd: it takes the process id over.
        table::release_thread(cx.thread.tid());
        cx.thread.set_tid(p.pid);
        table::register(p.pid, &cx.thread, None);
    }
    // Robust futexes still held are released as at exit, in the old memory
    // (Linux's exec_mm_release, after de_thread took the process id over).
    super::futex::exit_robust_list(cx);
    let new_mm = Arc::new(Mm::new(img.mm));
    let old_mm = p.set_mm(new_mm.clone());
    sched::reload_mm();
    cx.switch_mm(new_mm);
    let ctid = core::mem::take(&mut cx.thread.misc.lock().clear_child_tid);
    if let Some(old) = old_mm {
        if ctid != 0 && Arc::strong_count(&old) > 1 {
            // A vfork parent shares the old memory: tell a thread joining us there.
            if crate::uaccess::write_val(&mut old.lock(), UAddr(ctid), &0u32).is_ok() {
                super::futex::wake(super::futex::Key::Private(Arc::as_ptr(&old) as usize, ctid), 1, u32::MAX);
            }
        }
        drop(old);
    }
    exit::release_vfork_parent(&p);
    let files = p.files();
    let files = if Arc::strong_count(&files) > 2 {
        let copy = Arc::new(Mutex::new(files.lock().clone()));
        p.set_files(copy.clone());
        copy
    } else {
        files
    };
    let closed = files.lock().close_on_exec();
    if crate::fs::lock::any() {
        for f in &closed {
            crate::fs::lock::posix_closed(crate::fs::lock::key_of(&f.file), p.pid);
        }
    }
    drop(closed);
    let hand = p.sighand();
    if Arc::strong_count(&hand) > 2 {
        let mut h = *hand.lock();
        super::signal::reset_for_exec(&mut h);
        p.set_sighand(Arc::new(Mutex::new(h)));
    } else {
        super::signal::reset_for_exec(&mut hand.lock());
    }
    {
        let mut s = cx.thread.sig.lock();
        s.altstack = StackT::new(0, 2, 0);
        s.saved_mask = None;
    }
    {
        let mut m = cx.thread.misc.lock();
        m.robust_list = (0, 0);
        m.rseq = None;
        m.comm = comm_of(&execfn);
    }
    {
        let mut i = p.info.lock();
        i.exe = prog.path;
        i.argv = prog.argv;
        i.envp = envp;
        i.auxv = img.auxv;
        i.dumpable = 1;
    }
    p.state.lock().execed = true;
    super::ext::on_exec(&p);
    p.state_wq.wake_all();
    if let Some(f) = &*INITIAL_FPU.lock() {
        f.restore();
    }
    elfin_arch::set_tls(0);
    *tf = TrapFrame::new_user(img.entry, img.sp);
    Ok(())
}

/// Ends every other thread of the caller's process and waits until they are gone
/// (EINTR when the process is killed meanwhile).
fn de_thread(cx: &Ctx) -> Result<(), Errno> {
    let p = cx.proc.clone();
    // The waiter is set before the threads are looked at: a clone that races
    // with this sees it and marks its new thread (see `fork`).
    p.state.lock().exec_waiter = Some(cx.thread.tid());
    let others: Vec<Arc<Thread>> = p.threads.lock().iter().filter(|t| !Arc::ptr_eq(t, &cx.thread)).cloned().collect();
    if others.is_empty() {
        p.state.lock().exec_waiter = None;
        return Ok(());
    }
    for t in &others {
        t.exec_killed.store(true, Ordering::SeqCst);
        t.sig_hint.store(true, Ordering::SeqCst);
        sched::wake(t);
    }
    let r = super::wait::wait_until(&[&p.state_wq], None, false, || {
        if p.state.lock().exiting.is_some() {
            return Some(Err(Errno::EINTR));
        }
        (p.threads.lock().len() == 1).then_some(Ok(()))
    });
    p.state.lock().exec_waiter = None;
    r.unwrap_or(Err(Errno::EINTR))
}
