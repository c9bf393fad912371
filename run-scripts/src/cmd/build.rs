//! `elfin build`: build the kernel image and print its path.

use clap::Args;

use crate::arch::Arch;
use crate::fail::Fail;
use crate::kernel;

/// Examples shown by `elfin build --help`.
const EXAMPLES: &str = "\
Examples:
  elfin build                  build the kernel for the host architecture, print its path
  elfin build --arch aarch64   build the aarch64 kernel
  K=$(elfin build) && qemu-system-x86_64 -M microvm -kernel \"$K\" ...

The image is made from target/<triple>/kernel/elfin-kernel in the elfin source tree (set
ELFIN_REPO to use another tree). `elfin run` builds it by itself when its sources
changed, so this is only needed to build ahead of time.";

/// Arguments of `elfin build`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct BuildArgs {
    /// Architecture to build for [default: the host's]. Example: --arch aarch64
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Option<Arch>,
}

/// Runs cargo for the kernel (always; cargo itself skips up-to-date work) and prints
/// the path of the image to boot.
pub fn run(args: &BuildArgs) -> Result<i32, Fail> {
    let arch = super::run::resolve_arch(args.arch)?;
    let repo = kernel::repo_root();
    kernel::build(&repo, arch)?;
    println!("{}", kernel::kernel_image(&repo, arch).display());
    Ok(0)
}
