//! `elfin`: run unmodified Linux static-PIE programs as tiny VMs.
//!
//! The host side of elfin: builds the kernel image when needed, packs the program and
//! its files into an initrd, starts QEMU, connects the program's stdio through the
//! framed serial console, and exits with the program's status. The protocol with the
//! kernel is docs/protocol.md. Depends on `elfin-loader` (the same ELF checks the
//! kernel makes), `elfin-shim` (which syscall numbers the kernel decodes, for
//! `elfin fuzz`), `clap` and `libc`; the only `unsafe` code is in `sys.rs`.

mod arch;
mod cache;
mod cmd;
mod compat;
mod console;
mod cpio;
mod fail;
mod frame;
mod hang;
mod kernel;
mod memory;
mod net;
mod options;
mod program;
mod qemu;
mod rootfs;
mod sys;
mod vm;
mod vmm;

use std::ffi::{OsStr, OsString};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::fail::STATUS_ELFIN;

/// The allocator of the static musl build (see Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Examples shown by `elfin --help`.
const EXAMPLES: &str = "\
Examples:
  elfin run ./hello                     run a static-PIE program in a VM
  elfin run -e NAME=world ./hello a b   with an environment variable and arguments
  elfin run -v ./data:/data ./prog      with a copy of a host directory
  elfin run --arch aarch64 ./hello-arm  run an aarch64 program
  elfin build                           build the kernel image ahead of time
  elfin image -o vm ./hello             write kernel, initrd, command line and run.sh
  elfin run --vmm firecracker ./hello   run on Firecracker (or cloud-hypervisor; KVM)
  elfin syscalls ./prog                 which syscalls it made, and which elfin lacks
  elfin syscalls --supported            every Linux syscall and how much elfin implements it
  elfin compat tests/compat/manifest.toml   compare a corpus natively and in elfin
  elfin fuzz --calls 100000             fuzz the kernel's system calls from a guest

See `elfin run --help` for every option. Environment: ELFIN_KERNEL (kernel image to
boot), ELFIN_REPO (elfin source tree to build the kernel from).";

/// Run unmodified Linux static-PIE programs as tiny VMs.
#[derive(Parser, Debug)]
#[command(name = "elfin", version, after_help = EXAMPLES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a program in a new VM and exit with its status
    Run(Box<cmd::run::RunArgs>),
    /// Build the kernel image and print its path
    Build(cmd::build::BuildArgs),
    /// Write the kernel, initrd, command line and VMM command a run would use
    Image(Box<cmd::image::ImageArgs>),
    /// Run a program in elfin and report the system calls it made
    Syscalls(Box<cmd::syscalls::SyscallsArgs>),
    /// Run a manifest of cases natively and in elfin, compare and report
    Compat(Box<cmd::compat::CompatArgs>),
    /// Make random system calls from a guest and report every kernel fault
    Fuzz(Box<cmd::fuzz::FuzzArgs>),
}

/// `elfin run` alone. Parsing a run builds only the `run` subcommand's arguments,
/// not those of every subcommand (a tenth of a millisecond or more per run); its
/// help is the same as under [`Cli`] (a unit test checks).
#[derive(Parser, Debug)]
#[command(name = "elfin", version, propagate_version = true)]
struct RunCli {
    #[command(subcommand)]
    command: RunOnly,
}

#[derive(Subcommand, Debug)]
enum RunOnly {
    /// Run a program in a new VM and exit with its status
    Run(Box<cmd::run::RunArgs>),
}

/// Parses the command line. For `elfin run` and `elfin syscalls`, the program's own
/// arguments are split off first and given to it verbatim (see
/// [`cmd::run::program_args_start`]).
fn parse() -> Result<Parsed, clap::Error> {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let sub = match raw.get(1).map(OsString::as_os_str) {
        Some(s) if s == OsStr::new("run") => "run",
        Some(s) if s == OsStr::new("syscalls") => "syscalls",
        Some(s) if s == OsStr::new("image") => "image",
        _ => return Cli::try_parse_from(raw).map(Parsed::Cli),
    };
    let cmd = if sub == "run" { RunCli::command() } else { Cli::command() };
    let head_len = match cmd.find_subcommand(sub) {
        Some(c) => 2 + cmd::run::program_args_start(c, raw.get(2..).unwrap_or_default()),
        None => raw.len(),
    };
    let (head, tail) = raw.split_at(head_len.min(raw.len()));
    if sub == "syscalls" && head.iter().any(|a| a == "--supported") {
        // The support table needs no program: its own, smaller command line.
        let mut argv = vec![OsString::from("elfin syscalls")];
        argv.extend(head.iter().skip(2).cloned());
        return cmd::syscalls::SupportedArgs::try_parse_from(argv).map(Parsed::Supported);
    }
    let matches = cmd.try_get_matches_from(head)?;
    let mut cli = if sub == "run" {
        let RunOnly::Run(args) = RunCli::from_arg_matches(&matches)?.command;
        Cli { command: Command::Run(args) }
    } else {
        Cli::from_arg_matches(&matches)?
    };
    match &mut cli.command {
        Command::Run(args) => args.args.extend(tail.iter().cloned()),
        Command::Syscalls(args) => args.run.args.extend(tail.iter().cloned()),
        Command::Image(args) => args.run.args.extend(tail.iter().cloned()),
        _ => {}
    }
    Ok(Parsed::Cli(cli))
}

/// What the command line asks for.
enum Parsed {
    /// A subcommand.
    Cli(Cli),
    /// `elfin syscalls --supported`.
    Supported(cmd::syscalls::SupportedArgs),
}

fn main() {
    let cli = match parse() {
        Ok(Parsed::Cli(cli)) => cli,
        Ok(Parsed::Supported(args)) => match cmd::syscalls::supported(&args) {
            Ok(()) => std::process::exit(0),
            Err(fail) => {
                eprintln!("elfin: {fail}");
                std::process::exit(fail.status);
            }
        },
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors are elfin's
            // own failures (125), so they cannot be mistaken for the program's status.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { STATUS_ELFIN } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(&args),
        Command::Build(args) => cmd::build::run(&args),
        Command::Image(args) => cmd::image::run(&args),
        Command::Syscalls(args) => cmd::syscalls::run(*args),
        Command::Compat(args) => cmd::compat::run(&args),
        Command::Fuzz(args) => cmd::fuzz::run(&args),
    };
    match result {
        Ok(status) => std::process::exit(status),
        Err(fail) => {
            eprintln!("elfin: {fail}");
            std::process::exit(fail.status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_alone_parses_and_helps_as_under_the_whole_cli() {
        let (mut whole, mut alone) = (Cli::command(), RunCli::command());
        whole.build();
        alone.build();
        let help = |c: &clap::Command| {
            let mut run = c.find_subcommand("run").expect("run").clone();
            (run.render_long_help().to_string(), run.render_usage().to_string(), run.get_version().map(String::from))
        };
        assert_eq!(help(&whole), help(&alone));
        let argv = ["elfin", "run", "--strace", "-m", "64M", "-e", "A=1", "./p"];
        let whole = Cli::try_parse_from(argv).expect("whole");
        let alone = RunCli::try_parse_from(argv).expect("alone");
        let (Command::Run(a), RunOnly::Run(b)) = (whole.command, alone.command) else { panic!("not run") };
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
