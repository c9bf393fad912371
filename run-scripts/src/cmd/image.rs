//! `elfin image`: write the kernel, initrd and kernel command line that `elfin run`
//! would boot, and the VMM command that boots them, for people who start VMs
//! their own way. The program's stdio is then the serial console, framed as
//! docs/protocol.md describes (`--kernel-arg console=raw` for plain text).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Args;

use super::run::{prepare, vmm_command, RunArgs};
use crate::fail::Fail;
use crate::qemu::display_command;
use crate::vmm::Vmm;

/// Examples shown by `elfin image --help`.
const EXAMPLES: &str = "\
Examples:
  elfin image -o vm ./hello a b              vm/kernel, vm/initrd.cpio, vm/cmdline, vm/run.sh
  sh vm/run.sh                               boot it with QEMU (serial console, framed)
  elfin image -o vm --kernel-arg console=raw ./hello    plain text on the console
  elfin image -o vm --vmm firecracker ./hello           also vm/firecracker.json

Takes every option of `elfin run` (see `elfin run --help`). The files are what the
run would use, with the program's stdio on the serial console: the virtio-console
ports of `elfin run` are sockets only elfin itself can connect.";

/// Arguments of `elfin image`: the output directory and those of `elfin run`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct ImageArgs {
    /// Directory to write the files into (created if missing). Example: -o ./vm
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,

    /// The options and program of `elfin run`.
    #[command(flatten)]
    pub run: RunArgs,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Fail> {
    fs::write(path, bytes).map_err(|e| Fail::new(format!("writing {}: {e}", path.display())))
}

/// Runs `elfin image`; prints the files written.
pub fn run(args: &ImageArgs) -> Result<i32, Fail> {
    let p = match prepare(&args.run)? {
        Ok(p) => p,
        Err(status) => return Ok(status),
    };
    fs::create_dir_all(&args.out).map_err(|e| Fail::new(format!("creating {}: {e}", args.out.display())))?;
    let dir = fs::canonicalize(&args.out).map_err(|e| Fail::new(format!("{}: {e}", args.out.display())))?;
    let (kernel, initrd, cmdline_file) = (dir.join("kernel"), dir.join("initrd.cpio"), dir.join("cmdline"));
    let config = dir.join("firecracker.json");
    fs::copy(&p.kernel, &kernel).map_err(|e| Fail::new(format!("copying {}: {e}", p.kernel.display())))?;
    fs::copy(p.initrd.path(), &initrd).map_err(|e| Fail::new(format!("writing {}: {e}", initrd.display())))?;
    write(&cmdline_file, format!("{}\n", p.cmdline).as_bytes())?;
    let cmd = vmm_command(&args.run, &p, (&kernel, &initrd, &config), &p.cmdline, (None, None))?;
    let mut written = vec![kernel, initrd, cmdline_file];
    if let Some((path, text)) = &cmd.config {
        write(path, text.as_bytes())?;
        written.push(path.clone());
    }
    let script = dir.join("run.sh");
    let which = if args.run.vmm == Vmm::Qemu { "QEMU" } else { args.run.vmm.name() };
    write(
        &script,
        format!(
            "#!/bin/sh\n# Boots the program with {which}; its stdio is the serial console (docs/protocol.md).\n\
             exec {}\n",
            display_command(&cmd.program, &cmd.args)
        )
        .as_bytes(),
    )?;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
        .map_err(|e| Fail::new(format!("{}: {e}", script.display())))?;
    written.push(script);
    for f in written {
        println!("{}", f.display());
    }
    Ok(0)
}
