//! `elfin run`: check the program, pack the initrd, boot the kernel under QEMU, and
//! return the program's exit status.

#[cfg(test)]
use std::ffi::OsStr;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};

use crate::arch::{Accel, AccelChoice, Arch, MachineType};
use crate::console::{Output, Ports};
use crate::fail::Fail;
use crate::hang::Monitor;
use crate::net::{self, NetMode, Publish};
use crate::options::{self, Volume};
use crate::qemu::{self, VmSpec};
use crate::rootfs::{self, Content, Node, RootFs};
use crate::vmm::{self, Vmm};
use crate::{cache, kernel, memory, program, sys, vm};

/// Examples shown by `elfin run --help`, one per option.
const EXAMPLES: &str = "\
Examples:
  elfin run ./hello                       run a static-PIE program (host architecture)
  elfin run ./hello a 'b c'               with arguments; everything after PROGRAM is its
  elfin run ./ls -l /                       (options for elfin go before PROGRAM)
  elfin run --arch aarch64 ./hello-arm64  run an aarch64 program (TCG)
  elfin run -m 512M ./big                 cap guest memory at 512 MiB (also: -m 1G, -m 256)
  elfin run --smp 4 ./threads             four virtual CPUs, all running the program's threads
  elfin run --accel tcg ./hello           force QEMU's emulator (auto: KVM only on VT-x/AMD-V hosts)
  elfin run --machine q35 ./hello         x86_64 PC machine instead of microvm
  elfin run --vmm firecracker ./hello     Firecracker instead of QEMU (or cloud-hypervisor; KVM only)
  elfin run --vmm-path ~/fc/firecracker --vmm firecracker ./hello   a VMM binary not on the PATH
  elfin run --serial-stdio ./hello        stdio over the serial console, as on VMMs without virtio-console
  elfin run --strace ./hello              log every system call on stderr
  elfin run --no-aslr ./hello             fixed addresses: PIE base, stack, mmap, brk
  elfin run --log-level debug ./hello     more kernel messages (error|warn|info|debug|trace)
  elfin run -e NAME=world -e TERM ./hello set NAME; copy TERM from the host environment
  elfin run -v ./data:/data ./prog        mount the host directory ./data at /data (writes reach the host)
  elfin run -v ./data:/data:ro ./prog     the same, read-only (writes fail with EROFS)
  elfin run -v ./app.conf:/etc/app.conf ./prog   copy one file
  elfin run -w /data ./prog               start in /data (created if missing)
  elfin run --argv0 sh ./busybox -c 'echo hi'    set argv[0] (default: /app/<name>)
  elfin run --timeout 10 ./server         stop after 10 s with status 124
  elfin run -p 8080:80 ./server           publish guest port 80 on host port 8080 (user networking)
  elfin run -p 127.0.0.1:5353:53/udp ./dns    a UDP port, on one host address only
  elfin run --net user ./client           NAT networking without published ports (--net none|user|tap:IFNAME)
  elfin run --kernel ./my-kernel ./hello  boot another kernel image (or ELFIN_KERNEL=...)
  elfin run --qemu-arg=-d --qemu-arg=int ./hello   pass arguments through to QEMU
  elfin run --print-cmd ./hello           show the VMM command line on stderr

The program is copied into the guest at /app/<name> with a fresh root filesystem
holding /app, /tmp, /dev, /proc, /etc and the -v volumes; nothing else of the host is
visible. Its environment is PATH=/usr/local/bin:/usr/bin:/bin and HOME=/ plus -e.
The guest gets a container's default /etc (passwd, group, hosts, hostname,
nsswitch.conf, resolv.conf, and the host's services and protocols, and with --net
or -p its CA certificates) where the volumes bring none. Stdin, stdout and stderr
are the program's (virtio-console ports under QEMU, the serial console otherwise).
Guest memory defaults to all the host lets elfin have; the VMM commits only what the
guest touches. `elfin image -o DIR` writes what a run would boot.

Exit status: the program's own (128+N when killed by signal N); 126 the kernel could
not execute it; 127 it was not found in the guest; 124 --timeout expired; 125 elfin
itself failed (usage, VMM missing, too little memory, kernel crash).";

/// Kernel log levels (kernel command line `loglevel=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Warnings, e.g. an unimplemented system call (the kernel's default).
    Warn,
    /// Informational messages.
    Info,
    /// Debugging detail.
    Debug,
    /// Everything.
    Trace,
}

/// Arguments of `elfin run`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// Guest architecture [default: the host's]. Example: --arch aarch64
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Option<Arch>,

    /// Guest memory, in MiB or with a suffix M or G [default: all the host's memory, as
    /// a container without a limit gets; the guest only uses what it touches]. Example: -m 1G
    #[arg(short = 'm', long = "mem", value_name = "SIZE", value_parser = options::parse_mem)]
    pub mem_mib: Option<u64>,

    /// Number of virtual CPUs, 1 to 64. Example: --smp 2
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub smp: u32,

    /// Accelerator: auto picks KVM only on hosts with VT-x/AMD-V, else TCG. Example: --accel tcg
    #[arg(long, value_enum, value_name = "ACCEL", default_value = "auto")]
    pub accel: AccelChoice,

    /// Machine type: microvm or q35 (x86_64), virt (aarch64) [default: microvm / virt]; QEMU only. Example: --machine q35
    #[arg(long, value_enum, value_name = "MACHINE")]
    pub machine: Option<MachineType>,

    /// The VMM: qemu, or firecracker or cloud-hypervisor (KVM only; stdio on the
    /// serial console). Example: --vmm firecracker
    #[arg(long, value_enum, value_name = "VMM", default_value = "qemu")]
    pub vmm: Vmm,

    /// The VMM program to start [default: qemu-system-ARCH, firecracker,
    /// cloud-hypervisor on the PATH]. Example: --vmm-path ~/bin/firecracker
    #[arg(long = "vmm-path", value_name = "PATH")]
    pub vmm_path: Option<PathBuf>,

    /// Log every system call of the program, with arguments and result, on stderr
    #[arg(long)]
    pub strace: bool,

    /// Disable address randomization (fixed PIE base, stack, mmap base and brk)
    #[arg(long = "no-aslr")]
    pub no_aslr: bool,

    /// Kernel log level [kernel default: warn]. Example: --log-level debug
    #[arg(long = "log-level", value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,

    /// Add a word to the kernel command line (repeatable; see docs/protocol.md).
    /// Example: --kernel-arg bootstat
    #[arg(long = "kernel-arg", value_name = "WORD")]
    pub kernel_args: Vec<String>,

    /// Set an environment variable (repeatable); a bare NAME copies the host's value. Example: -e LANG=C.UTF-8
    #[arg(short = 'e', long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<OsString>,

    /// Mount a host directory in the guest, read-write or with :ro read-only, as a bind
    /// mount (virtio-9p; a single file, and every volume on VMMs without 9p, is
    /// copied instead) (repeatable). Example: -v ./data:/data
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro]")]
    pub volumes: Vec<OsString>,

    /// Install a static busybox as /bin/busybox with its applets linked in /bin (sh,
    /// cat, sort, …), so that the program can run shell commands (system(), popen())
    /// and utilities. Files and volumes at the same paths win. Example: --busybox ./busybox
    #[arg(long, value_name = "FILE")]
    pub busybox: Option<PathBuf>,

    /// Working directory of the program in the guest [default: /]. Example: -w /data
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<OsString>,

    /// argv[0] of the program [default: /app/<name>]. Example: --argv0 sh
    #[arg(long, value_name = "NAME")]
    pub argv0: Option<OsString>,

    /// Publish a guest port on the host (repeatable; docker's syntax, QEMU user
    /// networking). The server must listen on 0.0.0.0 or the guest's address
    /// (10.0.2.15). Example: -p 8080:80
    #[arg(short = 'p', long = "publish", value_name = "[HOSTIP:]HOSTPORT:GUESTPORT[/udp]", value_parser = net::parse_publish)]
    pub publish: Vec<Publish>,

    /// Guest network: none, user (QEMU user networking: NAT, the guest at 10.0.2.15,
    /// DNS at 10.0.2.3) or tap:IFNAME (DHCP) [default: user with -p, else none];
    /// QEMU only. Example: --net user
    #[arg(long = "net", value_name = "MODE", value_parser = net::parse_net)]
    pub net: Option<NetMode>,

    /// Stop the VM after this many seconds; elfin then says where each vCPU was (QEMU)
    /// and exits with 124. Example: --timeout 30
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Kernel image to boot instead of the built one (also: ELFIN_KERNEL). Example: --kernel ./elfin-kernel
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,

    /// Extra QEMU argument, passed through (repeatable). Example: --qemu-arg=-d --qemu-arg=int
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub qemu_args: Vec<OsString>,

    /// Keep the program's stdio on the serial console (framed, slow) instead of
    /// virtio-console ports, as on VMMs without virtio-console
    #[arg(long = "serial-stdio")]
    pub serial_stdio: bool,

    /// Print the VMM command line (and configuration file) on stderr before starting it
    #[arg(long = "print-cmd")]
    pub print_cmd: bool,

    /// Skip the host's ELF checks and let the guest kernel judge the program
    /// (for testing the kernel's own loader; it answers with status 126)
    #[arg(long = "no-host-check")]
    pub no_host_check: bool,

    /// Write kernel messages (reports, strace) to FILE instead of stderr, so that
    /// stderr holds exactly what the program wrote. Example: --kernel-log k.txt
    #[arg(long = "kernel-log", value_name = "FILE")]
    pub kernel_log: Option<PathBuf>,

    /// The static-PIE program to run (a host path)
    #[arg(value_name = "PROGRAM")]
    pub program: PathBuf,

    /// Arguments for the program
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// Where elfin's own arguments end in `raw` (the words after `elfin run`): just past
/// PROGRAM. Everything from there on belongs to the program verbatim, including
/// `--help` and `--`, which clap would otherwise take for itself. Options are told
/// apart from PROGRAM with `run`'s clap definition (which options take a value).
pub fn program_args_start(run: &clap::Command, raw: &[OsString]) -> usize {
    let takes_value = |arg: Option<&clap::Arg>| arg.is_some_and(|a| a.get_action().takes_values());
    let mut i = 0;
    while let Some(word) = raw.get(i) {
        let w = word.as_bytes();
        if w == b"--" {
            return (i + 2).min(raw.len());
        } else if let Some(long) = w.strip_prefix(b"--") {
            let has_value = long.contains(&b'=');
            let arg = run.get_arguments().find(|a| a.get_long().is_some_and(|l| l.as_bytes() == long));
            i += if !has_value && takes_value(arg) { 2 } else { 1 };
        } else if w.len() > 1 && w[0] == b'-' {
            // A cluster of short options: `-e K=V`, `-eK=V`, `-m64M`.
            let mut skip = 1;
            for (j, &c) in w.iter().enumerate().skip(1) {
                let arg = run.get_arguments().find(|a| a.get_short().is_some_and(|s| u32::from(s) == u32::from(c)));
                if takes_value(arg) {
                    if j + 1 == w.len() {
                        skip = 2; // the value is the next word
                    }
                    break;
                }
            }
            i += skip;
        } else {
            return i + 1; // PROGRAM
        }
    }
    raw.len()
}

/// The guest architecture: the one asked for, else the host's.
pub fn resolve_arch(arch: Option<Arch>) -> Result<Arch, Fail> {
    arch.or_else(Arch::host).ok_or_else(|| {
        Fail::new(format!(
            "no default guest architecture on this {} host; pass --arch x86_64 or --arch aarch64",
            std::env::consts::ARCH
        ))
    })
}

/// The machine type: the one asked for if `arch` has it, else `arch`'s default.
fn resolve_machine(arch: Arch, machine: Option<MachineType>) -> Result<MachineType, Fail> {
    let all = arch.machines();
    match machine {
        None => all.first().copied().ok_or_else(|| Fail::new(format!("no machine type for {}", arch.name()))),
        Some(m) if all.contains(&m) => Ok(m),
        Some(m) => {
            let names: Vec<&str> = all.iter().map(|m| m.name()).collect();
            Err(Fail::new(format!(
                "--machine {} is not available for {}; use --machine {}",
                m.name(),
                arch.name(),
                names.join(" or --machine ")
            )))
        }
    }
}

/// The kernel command line (docs/protocol.md).
pub fn kernel_cmdline(strace: bool, no_aslr: bool, log_level: Option<LogLevel>) -> String {
    let mut words: Vec<String> = Vec::new();
    if strace {
        words.push("strace".into());
    }
    if no_aslr {
        words.push("noaslr".into());
    }
    if let Some(level) = log_level {
        if let Some(v) = level.to_possible_value() {
            words.push(format!("loglevel={}", v.get_name()));
        }
    }
    words.join(" ")
}

/// The kernel image: `--kernel`, else `$ELFIN_KERNEL`, else the built one (rebuilt if
/// its sources changed).
fn kernel_path(arg: Option<&Path>, arch: Arch) -> Result<PathBuf, Fail> {
    let given = arg
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ELFIN_KERNEL").filter(|k| !k.is_empty()).map(PathBuf::from));
    match given {
        Some(k) if k.is_file() => Ok(k),
        Some(k) => Err(Fail::new(format!("kernel image {}: no such file", k.display()))),
        None => kernel::fresh_image(&kernel::repo_root(), arch),
    }
}

/// The guest memory in MiB: `-m`, else the default; refused in one line when the
/// run cannot boot in it.
fn guest_memory(asked: Option<u64>, arch: Arch, kernel: &Path, initrd_size: u64) -> Result<u64, Fail> {
    let kernel_end = memory::kernel_end(arch, kernel).unwrap_or(0);
    let minimum = memory::minimum_mib(arch, kernel_end, initrd_size);
    let mem = asked.unwrap_or_else(|| memory::default_mib().max(minimum));
    if mem < minimum {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        return Err(Fail::new(format!(
            "-m {mem}M is too little memory for this run: it needs at least {minimum}M \
             (kernel {:.1} MiB, initrd {:.1} MiB, and room to start)",
            mib(kernel_end),
            mib(initrd_size)
        )));
    }
    Ok(mem)
}

/// A file in the temporary directory, removed when dropped.
pub struct TempFile {
    /// Its path.
    pub path: PathBuf,
}

impl TempFile {
    fn create(suffix: &str) -> io::Result<(TempFile, fs::File)> {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let mut last_err = None;
        for attempt in 0..100u32 {
            let path = dir.join(format!("elfin-{pid}-{nanos:08x}-{attempt}{suffix}"));
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => return Ok((TempFile { path }, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no free temporary file name")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The initrd a run boots.
pub enum Initrd {
    /// Packed for this run only (the cache is off or unusable for it).
    Temp(TempFile),
    /// An entry of the initrd cache, held for the run.
    Cached(cache::Entry),
}

impl Initrd {
    /// Where the VMM reads it.
    pub fn path(&self) -> &Path {
        match self {
            Initrd::Temp(t) => &t.path,
            Initrd::Cached(e) => &e.path,
        }
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Initrd::Temp(t) => fs::metadata(&t.path).map_or(0, |m| m.len()),
            Initrd::Cached(e) => e.size,
        }
    }
}

/// The key of the initrd cache for a run: everything the archive is made from
/// (see `cache.rs`). Host files count by identity and times; a tree copied in
/// (a directory volume on a VMM without virtio-9p) would need a walk, so such
/// runs do without the cache.
fn initrd_key(
    args: &RunArgs,
    arch: Arch,
    prog: &fs::Metadata,
    copies: &[Volume],
    mounts: &[Mount],
    control: &[u8],
    etc: &HostEtc,
) -> cache::Key {
    let now = SystemTime::now();
    let mut key = cache::Key::new();
    key.bytes("elfin", env!("CARGO_PKG_VERSION").as_bytes());
    // This binary: a new build may pack differently.
    match std::env::current_exe().and_then(fs::metadata) {
        Ok(m) => key.file("cli", &m, now),
        Err(_) => {
            key.refuse();
            &mut key
        }
    };
    key.bytes("arch", arch.name().as_bytes()).num("hostcheck", u64::from(!args.no_host_check));
    // Its name (`/app/<name>`) is in the control file.
    key.file("program", prog, now);
    if let Some(b) = &args.busybox {
        match fs::metadata(b) {
            Ok(m) => key.file("busybox", &m, now),
            Err(_) => {
                key.refuse();
                &mut key
            }
        };
    }
    for v in copies {
        match fs::metadata(&v.host) {
            Ok(m) if m.is_file() => key.file("copy", &m, now).bytes("to", &v.guest),
            _ => {
                key.refuse();
                &mut key
            }
        };
    }
    for m in mounts {
        key.bytes("mount", &m.guest);
    }
    let workdir = args.workdir.as_ref().map_or(&b""[..], |w| w.as_bytes());
    key.bytes("workdir", workdir).bytes("control", control).bytes("resolv", etc.resolv.as_bytes());
    for name in &etc.files {
        match fs::metadata(Path::new("/").join(name)) {
            Ok(m) => key.file(name, &m, now),
            Err(_) => key.bytes(name, b"absent"),
        };
    }
    key
}

/// A volume the guest mounts (a virtio-9p share) rather than gets a copy of.
#[derive(Clone, Debug)]
pub struct Mount {
    /// What QEMU exports.
    pub share: qemu::Share,
    /// Where the guest mounts it (archive form).
    pub guest: Vec<u8>,
}

/// Sorts the volumes into mounts (directories, on QEMU) and copies (single files,
/// and every volume on VMMs without virtio-9p). A missing host path, or a volume
/// inside another mounted one, is refused here, before boot.
fn plan_volumes(volumes: Vec<Volume>, vmm: Vmm) -> Result<(Vec<Mount>, Vec<Volume>), Fail> {
    let (mut mounts, mut copies) = (Vec::new(), Vec::new());
    for v in volumes {
        let spec = format!("-v {}:/{}", v.host.display(), String::from_utf8_lossy(&v.guest));
        let meta = fs::metadata(&v.host).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Fail::new(format!("{spec}: {} does not exist on the host; create it or fix the path", v.host.display()))
            }
            _ => Fail::new(format!("{spec}: {}: {e}", v.host.display())),
        })?;
        if vmm == Vmm::Qemu && meta.is_dir() {
            let host = fs::canonicalize(&v.host).map_err(|e| Fail::new(format!("{spec}: {e}")))?;
            let tag = format!("elfin{}", mounts.len());
            mounts.push(Mount { share: qemu::Share { tag, host, ro: v.ro }, guest: v.guest });
        } else {
            copies.push(v);
        }
    }
    let inside = |a: &[u8], b: &[u8]| a.starts_with(b) && a.get(b.len()) == Some(&b'/');
    for m in &mounts {
        if let Some(outer) =
            mounts.iter().find(|o| inside(&m.guest, &o.guest) || (o.guest == m.guest && o.share != m.share))
        {
            return Err(Fail::new(format!(
                "-v {}:/{}: lies inside the volume at /{}; volumes cannot be nested",
                m.share.host.display(),
                String::from_utf8_lossy(&m.guest),
                String::from_utf8_lossy(&outer.guest)
            )));
        }
    }
    if vmm != Vmm::Qemu && !copies.is_empty() {
        eprintln!(
            "elfin: warning: --vmm {} has no virtio-9p: volumes are copied into the guest and its writes to them are not kept",
            vmm.name()
        );
    }
    Ok((mounts, copies))
}

/// The control-file records of the mounts (docs/protocol.md, "Volumes").
fn volume_records(mounts: &[Mount]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in mounts {
        out.extend_from_slice(b"volume=");
        out.extend_from_slice(m.share.tag.as_bytes());
        out.extend_from_slice(if m.share.ro { b":ro:/" } else { b":rw:/" });
        out.extend_from_slice(&m.guest);
        out.push(0);
    }
    out
}

/// What the guest's /etc takes from the host.
struct HostEtc {
    /// The resolver configuration (see [`resolv_conf`]).
    resolv: String,
    /// Host files copied as they are, where the host has them.
    files: Vec<&'static str>,
}

/// The guest's `/etc/resolv.conf`: under user networking the guest's resolver is
/// QEMU's DNS forwarder, else the host's file.
fn resolv_conf(net_mode: &NetMode) -> String {
    match net_mode {
        NetMode::User => format!("nameserver {}\n", net::USER_DNS),
        _ => fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    }
}

/// The bytes of the control file `/.elfin/run` (docs/protocol.md): the program,
/// its working directory, arguments and environment, which of our stdio are
/// terminals (with the window size), and the mounts.
fn control_file(basename: &[u8], workdir: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>], mounts: &[Mount]) -> Vec<u8> {
    let mut exe = b"/app/".to_vec();
    exe.extend_from_slice(basename);
    let mut cwd = b"/".to_vec();
    cwd.extend_from_slice(workdir);
    let (ttys, winsize) = crate::sys::terminals();
    let mut control = rootfs::control_file_with_ttys(&exe, &cwd, argv, env, &ttys, winsize);
    control.extend_from_slice(&volume_records(mounts));
    control
}

/// Builds the root filesystem: skeleton, program, volumes (copies, and mount
/// points for the mounts), workdir, `/etc` defaults and host files (`etc`), control file.
fn layout(
    prog: program::Program,
    busybox: Option<&Path>,
    volumes: &[Volume],
    mounts: &[Mount],
    workdir: &[u8],
    control: Vec<u8>,
    etc: &HostEtc,
) -> Result<RootFs, Fail> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    let mut fs = RootFs::skeleton(now);
    let mut app = b"app/".to_vec();
    app.extend_from_slice(&prog.basename);
    let mtime = u32::try_from(prog.mtime.max(0)).unwrap_or(u32::MAX);
    fs.put(&app, Node::File { perm: 0o755, mtime, content: Content::Bytes(prog.bytes) }).map_err(Fail::new)?;
    if let Some(b) = busybox {
        fs.add_busybox(b, now).map_err(|e| Fail::new(format!("--busybox: {e}")))?;
    }
    for v in volumes {
        fs.add_host(&v.host, &v.guest).map_err(|e| {
            let guest = String::from_utf8_lossy(&v.guest);
            Fail::new(format!("{e} (in -v {}:/{guest})", v.host.display()))
        })?;
    }
    for m in mounts {
        fs.put(&m.guest, Node::Dir { perm: 0o755, mtime: now }).map_err(|e| {
            Fail::new(format!("{e} (in -v {}:/{})", m.share.host.display(), String::from_utf8_lossy(&m.guest)))
        })?;
    }
    fs.add_defaults(now, &etc.resolv);
    for name in &etc.files {
        let host = Path::new("/").join(name);
        if fs.get(name.as_bytes()).is_none() && host.is_file() {
            fs.add_host(&host, name.as_bytes()).map_err(Fail::new)?;
        }
    }
    if fs.get(workdir).is_none() {
        fs.put(workdir, Node::Dir { perm: 0o755, mtime: now }).map_err(|e| Fail::new(format!("--workdir: {e}")))?;
    }
    fs.put(b".elfin", Node::Dir { perm: 0o700, mtime: now }).map_err(Fail::new)?;
    fs.put(rootfs::CONTROL_FILE, Node::File { perm: 0o400, mtime: now, content: Content::Bytes(control) })
        .map_err(Fail::new)?;
    Ok(fs)
}

/// Everything a run decides before it starts a VMM: the initrd is written, the
/// memory checked.
pub struct Prepared {
    arch: Arch,
    machine: MachineType,
    accel: Accel,
    /// The kernel image the VMM boots.
    pub kernel: PathBuf,
    /// The initrd: an entry of the initrd cache, or a temporary file.
    pub initrd: Initrd,
    mem_mib: u64,
    /// The kernel command line for the serial console (no `stdio=virtio`).
    pub cmdline: String,
    /// The guest's network.
    pub net: NetMode,
    /// Host directories the guest mounts.
    pub shares: Vec<qemu::Share>,
}

/// The accelerator: QEMU's choice, or KVM, which Firecracker and Cloud Hypervisor
/// need (a paravirtual KVM without VT-x/AMD-V gets a warning: programs die at
/// their first system call there).
fn resolve_vmm_accel(vmm: Vmm, choice: AccelChoice, arch: Arch) -> Result<Accel, Fail> {
    if vmm == Vmm::Qemu {
        return qemu::resolve_accel(choice, arch).map_err(Fail::new);
    }
    let name = vmm.name();
    if choice == AccelChoice::Tcg {
        return Err(Fail::new(format!("--vmm {name} runs on KVM only; use --vmm qemu for --accel tcg")));
    }
    if Arch::host() != Some(arch) {
        return Err(Fail::new(format!(
            "--vmm {name} cannot run an {} guest on this {} host (KVM only); use --vmm qemu",
            arch.name(),
            std::env::consts::ARCH
        )));
    }
    if !Path::new("/dev/kvm").exists() {
        return Err(Fail::new(format!("--vmm {name} needs KVM and this host has no /dev/kvm; use --vmm qemu")));
    }
    if !qemu::hardware_kvm(arch) {
        eprintln!(
            "elfin: warning: this host's KVM has no VT-x/AMD-V (a paravirtual KVM); programs may die at their first system call"
        );
    }
    Ok(Accel::Kvm)
}

/// Writes `rootfs` as a new entry of `cache` under `key`, or, without a cache
/// or when that fails (a read-only or full cache directory), to a temporary file.
fn pack(rootfs: &RootFs, cache: Option<&cache::Cache>, key: &cache::Key) -> Result<Initrd, Fail> {
    if let Some(c) = cache {
        if let Ok(entry) = c.store(key, |w| rootfs.write_cpio(w)) {
            return Ok(Initrd::Cached(entry));
        }
    }
    let (initrd, file) =
        TempFile::create(".cpio").map_err(|e| Fail::new(format!("cannot create the initrd file: {e}")))?;
    rootfs
        .write_cpio(BufWriter::with_capacity(256 * 1024, file))
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| Fail::new(format!("writing the initrd {}: {e}", initrd.path.display())))?;
    Ok(Initrd::Temp(initrd))
}

/// Checks the options, builds the root filesystem and writes the initrd; `Ok(Err)`
/// is the status to exit with when a termination signal came meanwhile.
pub fn prepare(args: &RunArgs) -> Result<Result<Prepared, i32>, Fail> {
    let arch = resolve_arch(args.arch)?;
    if args.vmm != Vmm::Qemu {
        if args.machine.is_some() {
            return Err(Fail::new(format!("--machine is for --vmm qemu; {} has one machine", args.vmm.name())));
        }
        if !args.qemu_args.is_empty() {
            return Err(Fail::new(format!("--qemu-arg is for --vmm qemu, not {}", args.vmm.name())));
        }
    }
    let machine = resolve_machine(arch, args.machine)?;
    let net_mode = net::resolve(args.net.as_ref(), &args.publish).map_err(Fail::new)?;
    if args.vmm != Vmm::Qemu && net_mode != NetMode::None {
        return Err(Fail::new(format!("-p and --net are for --vmm qemu for now, not {}", args.vmm.name())));
    }
    let accel = resolve_vmm_accel(args.vmm, args.accel, arch)?;
    let env = options::build_env(&args.env, |k| std::env::var_os(k)).map_err(Fail::new)?;
    let volumes =
        args.volumes.iter().map(|v| options::parse_volume(v)).collect::<Result<Vec<_>, _>>().map_err(Fail::new)?;
    let (mounts, volumes) = plan_volumes(volumes, args.vmm)?;
    let workdir = match &args.workdir {
        Some(w) => options::guest_path(w.as_bytes()).map_err(|e| Fail::new(format!("--workdir: {e}")))?,
        None => Vec::new(),
    };

    let (prog_meta, basename) = program::stat(&args.program)?;
    let mut exe = b"/app/".to_vec();
    exe.extend_from_slice(&basename);
    let mut argv: Vec<Vec<u8>> = vec![args.argv0.as_ref().map_or(exe, |a| a.as_bytes().to_vec())];
    argv.extend(args.args.iter().map(|a| a.as_bytes().to_vec()));
    let control = control_file(&basename, &workdir, &argv, &env, &mounts);
    let etc = HostEtc { resolv: resolv_conf(&net_mode), files: rootfs::host_etc(net_mode != NetMode::None) };
    let key = initrd_key(args, arch, &prog_meta, &volumes, &mounts, &control, &etc);
    let cache = cache::Cache::from_env().filter(|_| key.usable());
    let hit = cache.as_ref().and_then(|c| c.lookup(&key));

    // An entry of the cache was made from a program that passed the checks then.
    let rootfs = match hit {
        Some(_) => None,
        None => {
            let prog = program::load(&args.program, arch, !args.no_host_check)?;
            Some(layout(prog, args.busybox.as_deref(), &volumes, &mounts, &workdir, control, &etc)?)
        }
    };

    let kernel = kernel_path(args.kernel.as_deref(), arch)?;

    // From here on a termination signal must not skip removing the initrd.
    sys::catch_termination_signals().map_err(|e| Fail::new(format!("cannot set up signal handling: {e}")))?;
    let initrd = match (hit, rootfs) {
        (Some(entry), _) => Initrd::Cached(entry),
        (None, Some(rootfs)) => pack(&rootfs, cache.as_ref(), &key)?,
        (None, None) => return Err(Fail::new("no initrd to boot".into())),
    };
    if let Some(sig) = sys::signal_received() {
        return Ok(Err(128 + sig));
    }
    let mem_mib = guest_memory(args.mem_mib, arch, &kernel, initrd.size())?;

    let mut cmdline = kernel_cmdline(args.strace, args.no_aslr, args.log_level);
    let mut words: Vec<String> = net::kernel_words(&net_mode).into_iter().collect();
    words.extend(args.kernel_args.iter().cloned());
    if !mounts.is_empty() {
        words.push("virtio9p".into());
    }
    for w in &words {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(w);
    }
    let shares = mounts.into_iter().map(|m| m.share).collect();
    Ok(Ok(Prepared { arch, machine, accel, kernel, initrd, mem_mib, cmdline, net: net_mode, shares }))
}

/// True when `--qemu-arg` words may give the VM a network device of their own
/// (`-nic`, `-netdev`, a `virtio-net` device): the kernel must then look for it.
fn may_add_nic(qemu_args: &[OsString]) -> bool {
    qemu_args.iter().any(|a| {
        let a = a.to_string_lossy();
        a.contains("net") || a.contains("nic")
    })
}

/// A VMM command for a prepared run.
pub struct VmmCommand {
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// A configuration file the command reads (Firecracker): path and contents.
    pub config: Option<(PathBuf, String)>,
}

/// The command line of `args.vmm` for `p`, with `kernel`, `initrd` and, for
/// Firecracker, `config` as the files to use; `stdio_fds` are the virtio-console
/// port sockets and `monitor_fd` the monitor's (QEMU only), `cmdline` the kernel
/// command line.
pub fn vmm_command(
    args: &RunArgs,
    p: &Prepared,
    files: (&Path, &Path, &Path),
    cmdline: &str,
    fds: (Option<qemu::StdioFds>, Option<i32>),
) -> Result<VmmCommand, Fail> {
    let (stdio_fds, monitor_fd) = fds;
    let (kernel, initrd, config) = files;
    let program = args.vmm_path.as_ref().map_or_else(|| args.vmm.default_binary(p.arch).into(), |p| p.into());
    let m = vmm::Machine { mem_mib: p.mem_mib, smp: args.smp, kernel, initrd, cmdline };
    match args.vmm {
        Vmm::Qemu => {
            let spec = VmSpec {
                arch: p.arch,
                machine: p.machine,
                accel: p.accel,
                mem_mib: p.mem_mib,
                smp: args.smp,
                kernel,
                initrd,
                cmdline,
                extra: &args.qemu_args,
                stdio_fds,
                monitor_fd,
                net: net::qemu_args(&p.net, &args.publish, p.machine),
                shares: &p.shares,
            };
            Ok(VmmCommand { program, args: qemu::command_line(&spec).1, config: None })
        }
        Vmm::Firecracker => {
            let text = vmm::firecracker_config(&m).map_err(Fail::new)?;
            Ok(VmmCommand { program, args: vmm::firecracker_args(config), config: Some((config.to_path_buf(), text)) })
        }
        Vmm::CloudHypervisor => Ok(VmmCommand { program, args: vmm::cloud_hypervisor_args(&m), config: None }),
    }
}

/// Runs `elfin run`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<i32, Fail> {
    let kernel_log = match &args.kernel_log {
        Some(path) => Some(
            std::fs::File::create(path)
                .map_err(|e| Fail::new(format!("cannot create the kernel log {}: {e}", path.display())))?,
        ),
        None => None,
    };
    match boot(args, Output::Terminal { kernel_log }, false, None)? {
        Ok(ending) => vm::status_of(&ending, args.timeout.map(Duration::from_secs)),
        Err(status) => Ok(status),
    }
}

/// Boots the VM of `args` once and runs it to the end. The console goes to
/// `output`; with `empty_stdin` the program reads end of file; `idle` ends a run
/// whose console stays silent. `Ok(Err)` is the status to exit with when a
/// termination signal came before the VMM started.
pub fn boot(
    args: &RunArgs,
    output: Output,
    empty_stdin: bool,
    idle: Option<Duration>,
) -> Result<Result<vm::Ending, i32>, Fail> {
    let p = match prepare(args)? {
        Ok(p) => p,
        Err(status) => return Ok(Err(status)),
    };
    // Captured output is read from the serial console, in one stream.
    let capture = matches!(output, Output::Capture(_));
    let ports = if args.serial_stdio || capture || !args.vmm.has_stdio_ports() {
        None
    } else {
        let shared = crate::sys::same_file(1, 2);
        Some(Ports::new(shared).map_err(|e| Fail::new(format!("cannot create the console sockets: {e}")))?)
    };
    let mut cmdline = p.cmdline.clone();
    if p.net == NetMode::None && !may_add_nic(&args.qemu_args) {
        // The VMM gets no network device from this run, so the kernel need not
        // look for one: on arm64 `virt` that reads each of 32 virtio-mmio slots,
        // under KVM an exit to the VMM each. (`elfin image` leaves the word out:
        // whoever boots the image may add a device.)
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str("net=none");
    }
    if let Some(ports) = &ports {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        // The ports' numbers let the kernel set up only the queues each one uses.
        cmdline.push_str(&format!("stdio=virtio:{}", ports.layout()));
    }
    let config_file = if args.vmm == Vmm::Firecracker {
        Some(TempFile::create(".json").map_err(|e| Fail::new(format!("cannot create the VMM configuration: {e}")))?)
    } else {
        None
    };
    let config_path = config_file.as_ref().map_or_else(PathBuf::new, |(f, _)| f.path.clone());
    // A run that can time out gets QEMU's monitor, to say where each vCPU was.
    let monitor = if args.vmm == Vmm::Qemu && (args.timeout.is_some() || idle.is_some()) {
        Some(Monitor::new(p.arch, &p.kernel).map_err(|e| Fail::new(format!("cannot create the monitor socket: {e}")))?)
    } else {
        None
    };
    let cmd = vmm_command(
        args,
        &p,
        (&p.kernel, p.initrd.path(), &config_path),
        &cmdline,
        (ports.as_ref().and_then(Ports::guest_fds), monitor.as_ref().and_then(Monitor::vmm_fd)),
    )?;
    if let (Some((path, text)), Some((_, file))) = (&cmd.config, config_file.as_ref()) {
        let mut f = file;
        f.write_all(text.as_bytes()).map_err(|e| Fail::new(format!("writing {}: {e}", path.display())))?;
    }
    if args.print_cmd {
        eprintln!("{}", qemu::display_command(&cmd.program, &cmd.args));
        if let Some((path, text)) = &cmd.config {
            eprintln!("{}:\n{text}", path.display());
        }
    }
    let timeout = args.timeout.map(Duration::from_secs);
    let hint = args.vmm.install_hint(p.arch);
    let launch = vm::Launch {
        program: &cmd.program,
        args: &cmd.args,
        missing_hint: &hint,
        timeout,
        idle,
        output,
        empty_stdin,
        ports,
        monitor,
    };
    let ending = vm::run(launch)?;
    drop(config_file);
    drop(p);
    Ok(Ok(ending))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::tests::parse;

    #[test]
    fn program_arguments_are_not_elfin_options() {
        use clap::CommandFactory;
        let cli = crate::Cli::command();
        let run = cli.find_subcommand("run").expect("run subcommand");
        let split = |words: &str| {
            let raw: Vec<OsString> = words.split(' ').map(OsString::from).collect();
            let n = program_args_start(run, &raw);
            (raw[..n].join(OsStr::new(" ")), raw[n..].join(OsStr::new(" ")))
        };
        let s = |a: &str, b: &str| (OsString::from(a), OsString::from(b));
        assert_eq!(split("./p --help -x"), s("./p", "--help -x"));
        assert_eq!(split("--strace -e K=V -m 1G ./p -- a"), s("--strace -e K=V -m 1G ./p", "-- a"));
        assert_eq!(split("-eK=V -m1G --mem=2G --env X ./p a"), s("-eK=V -m1G --mem=2G --env X ./p", "a"));
        assert_eq!(split("--qemu-arg -d -v ./x:/x -w /w ./p"), s("--qemu-arg -d -v ./x:/x -w /w ./p", ""));
        assert_eq!(split("--timeout 5 -- ./p --help"), s("--timeout 5 -- ./p", "--help"));
        assert_eq!(split("--bogus ./p x"), s("--bogus ./p", "x"));
        assert_eq!(split("--strace"), s("--strace", ""));
        assert_eq!(split("--"), s("--", ""));
    }

    #[test]
    fn a_nic_of_the_users_own_is_looked_for() {
        let w = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(may_add_nic(&w(&["-nic", "user"])));
        assert!(may_add_nic(&w(&["-device", "virtio-net-device,netdev=n0", "-netdev", "user,id=n0"])));
        assert!(!may_add_nic(&w(&["-d", "int", "-D", "/tmp/log"])));
        assert!(!may_add_nic(&w(&[])));
    }

    #[test]
    fn cmdline_words() {
        assert_eq!(kernel_cmdline(false, false, None), "");
        assert_eq!(kernel_cmdline(true, true, Some(LogLevel::Debug)), "strace noaslr loglevel=debug");
    }

    #[test]
    fn machines_per_arch() {
        assert_eq!(resolve_machine(Arch::X86_64, None).expect("ok"), MachineType::Microvm);
        assert_eq!(resolve_machine(Arch::Aarch64, None).expect("ok"), MachineType::Virt);
        assert_eq!(resolve_machine(Arch::X86_64, Some(MachineType::Q35)).expect("ok"), MachineType::Q35);
        let f = resolve_machine(Arch::Aarch64, Some(MachineType::Q35)).expect_err("q35 on arm");
        assert_eq!(f.message, "--machine q35 is not available for aarch64; use --machine virt");
    }

    #[test]
    fn guest_layout() {
        let prog = program::Program { bytes: b"\x7fELF...".to_vec(), basename: b"hello".to_vec(), mtime: 5 };
        let argv = vec![b"/app/hello".to_vec(), b"x".to_vec()];
        let env = vec![b"A=1".to_vec()];
        let control = rootfs::control_file(b"/app/hello", b"/work/dir", &argv, &env);
        let etc = HostEtc { resolv: String::new(), files: rootfs::host_etc(false) };
        let fs = layout(prog, None, &[], &[], b"work/dir", control, &etc).expect("layout");
        let entries = parse(&fs.write_cpio(Vec::new()).expect("write"));
        let names: Vec<String> = entries.iter().map(|e| String::from_utf8_lossy(&e.name).into_owned()).collect();
        let mut want: Vec<String> = [
            ".elfin/run",
            "app",
            "app/hello",
            "etc",
            "etc/group",
            "etc/hostname",
            "etc/hosts",
            "etc/nsswitch.conf",
            "etc/passwd",
            "etc/resolv.conf",
            "root",
            "work",
            "work/dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // The host's netbase files, where it has them.
        want.extend(rootfs::HOST_ETC.iter().filter(|n| Path::new("/").join(n).is_file()).map(|n| n.to_string()));
        want.sort();
        assert_eq!(names, want);
        let find = |n: &str| entries.iter().find(|e| e.name == n.as_bytes()).expect("entry");
        for name in rootfs::HOST_ETC.iter().filter(|n| Path::new("/").join(n).is_file()) {
            assert_eq!(find(name).data, std::fs::read(Path::new("/").join(name)).expect("host file"), "{name}");
        }
        assert_eq!(find(".elfin/run").data, b"exe=/app/hello\0cwd=/work/dir\0arg=/app/hello\0arg=x\0env=A=1\0");
        let hello = find("app/hello");
        assert_eq!(hello.mode, crate::cpio::S_IFREG | 0o755);
        assert_eq!(hello.mtime, 5);
        // The kernel makes /dev, /proc and /tmp (1777) itself.
        assert!(entries.iter().all(|e| !matches!(&e.name[..], b"dev" | b"proc" | b"tmp" | b".elfin")));
    }
}
