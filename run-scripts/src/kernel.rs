//! Where the kernel image is, and building it when its sources are newer.
//!
//! The staleness check is a plain mtime walk over the kernel's source folders (a few
//! milliseconds), so that a fresh image costs no `cargo` start-up on every run; only
//! a development build (the CLI in the tree's own `target`) or `$ELFIN_REPO` makes it.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::arch::Arch;
use crate::fail::Fail;

/// Folders of the workspace whose sources go into the kernel image.
const SOURCE_DIRS: [&str; 6] = ["arch", "plat", "kernel", "kcore", "loader", "shim"];
/// Workspace files that affect the kernel build.
const SOURCE_FILES: [&str; 4] = ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "rust-toolchain.toml"];
/// File name endings that count as kernel sources inside [`SOURCE_DIRS`].
const SOURCE_EXTS: [&str; 8] = ["rs", "toml", "ld", "lds", "s", "S", "asm", "x"];

/// The elfin source tree: `$ELFIN_REPO`, else the workspace this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Some(r) = std::env::var_os("ELFIN_REPO").filter(|r| !r.is_empty()) {
        return PathBuf::from(r);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The kernel ELF that `cargo build --profile kernel -p elfin-kernel` produces.
pub fn kernel_elf(repo: &Path, arch: Arch) -> PathBuf {
    repo.join("target").join(arch.kernel_triple()).join("kernel").join("elfin-kernel")
}

/// Marks the last successful build through elfin (see [`needs_build`]).
fn stamp_path(repo: &Path, arch: Arch) -> PathBuf {
    kernel_elf(repo, arch).with_file_name("elfin-kernel.stamp")
}

/// The file to hand to the VMM as the kernel: the boot image made from the ELF
/// ([`boot_image_path`]) when it exists and is not older than the ELF, else the ELF
/// itself. x86_64's image is the ELF without symbols and debug information (QEMU's
/// loader reads a symbol table it does not need: about 4 ms a run); aarch64's is the
/// arm64 `Image` (QEMU's `virt` also boots the ELF, jumping to its entry point with
/// the device tree at the start of RAM).
pub fn kernel_image(repo: &Path, arch: Arch) -> PathBuf {
    let elf = kernel_elf(repo, arch);
    let img = boot_image_path(&elf, arch);
    match (mtime(&img), mtime(&elf)) {
        (Some(i), Some(e)) if i >= e => img,
        (Some(_), None) => img,
        _ => elf,
    }
}

/// Where the boot image made from `elf` lies: `elfin-kernel.pvh` (x86_64, a stripped
/// ELF with its PVH note) or `elfin-kernel.img` (an arm64 `Image`).
pub fn boot_image_path(elf: &Path, arch: Arch) -> PathBuf {
    elf.with_file_name(match arch {
        Arch::X86_64 => "elfin-kernel.pvh",
        Arch::Aarch64 => "elfin-kernel.img",
    })
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time among the kernel's sources, if any exist.
pub fn newest_source(repo: &Path) -> Option<SystemTime> {
    let mut newest: Option<SystemTime> = None;
    let mut note = |t: SystemTime| {
        if newest.is_none_or(|n| t > n) {
            newest = Some(t);
        }
    };
    for f in SOURCE_FILES {
        if let Some(t) = mtime(&repo.join(f)) {
            note(t);
        }
    }
    let mut stack: Vec<PathBuf> = SOURCE_DIRS.iter().map(|d| repo.join(d)).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.as_encoded_bytes().first() == Some(&b'.') || name == "target" {
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            if ft.is_dir() {
                // Removing or renaming a module also edits a `mod` line, so directory
                // mtimes need no tracking.
                stack.push(path);
            } else if path.extension().and_then(OsStr::to_str).is_some_and(|e| SOURCE_EXTS.contains(&e)) {
                if let Some(t) = mtime(&path) {
                    note(t);
                }
            }
        }
    }
    newest
}

/// True when the image is missing or a source is newer than both the image and the
/// stamp of the last build through elfin. (Cargo does not relink when only, say, a
/// comment changed; the stamp keeps that from costing a cargo run every time.)
pub fn needs_build(repo: &Path, arch: Arch) -> bool {
    let Some(elf_time) = mtime(&kernel_elf(repo, arch)) else {
        return true;
    };
    let built = mtime(&stamp_path(repo, arch)).map_or(elf_time, |s| s.max(elf_time));
    newest_source(repo).is_some_and(|src| src > built)
}

/// Fails unless `repo` holds the kernel's sources.
fn check_tree(repo: &Path) -> Result<(), Fail> {
    if repo.join("kernel").join("Cargo.toml").is_file() {
        return Ok(());
    }
    Err(Fail::new(format!(
        "no elfin source tree at {} to build the kernel from; set ELFIN_REPO to it, or pass --kernel IMAGE",
        repo.display()
    )))
}

/// Builds the kernel image with cargo (its output goes to our stderr).
pub fn build(repo: &Path, arch: Arch) -> Result<(), Fail> {
    check_tree(repo)?;
    let triple = arch.kernel_triple();
    let target_dir = repo.join("target");
    let cmd_text = format!("cargo build --profile kernel -p elfin-kernel --target {triple}");
    let stderr = io::stderr().as_fd().try_clone_to_owned().map_err(|e| Fail::new(format!("stderr: {e}")))?;
    let status = Command::new("cargo")
        .args(["build", "--profile", "kernel", "-p", "elfin-kernel", "--target", triple, "--target-dir"])
        .arg(&target_dir)
        .current_dir(repo)
        // The kernel's code model and relocation flags come from .cargo/config.toml;
        // RUSTFLAGS from the environment would replace them.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .stdout(Stdio::from(stderr))
        .status()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Fail::new(
                "cargo not found; install Rust with rustup (https://rustup.rs), or pass --kernel IMAGE".into(),
            ),
            _ => Fail::new(format!("cannot start cargo: {e}")),
        })?;
    if !status.success() {
        return Err(Fail::new(format!(
            "building the kernel failed ({cmd_text} in {} ended with {status}); see the errors above",
            repo.display()
        )));
    }
    let elf = kernel_elf(repo, arch);
    if !elf.is_file() {
        return Err(Fail::new(format!("{cmd_text} succeeded but left no kernel image at {}", elf.display())));
    }
    make_boot_image(&elf, arch)?;
    // Record the build; failing to is harmless (the next run checks with cargo again).
    let stamp = stamp_path(repo, arch);
    if let Ok(f) = fs::File::create(&stamp) {
        let _ = f.set_modified(SystemTime::now());
    }
    Ok(())
}

/// Tools that can make an arch's boot image from its kernel ELF, tried in turn.
fn objcopy_tools(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 => &["x86_64-linux-gnu-objcopy", "objcopy", "llvm-objcopy", "rust-objcopy"],
        Arch::Aarch64 => &["aarch64-linux-gnu-objcopy", "llvm-objcopy", "rust-objcopy"],
    }
}

/// Writes the boot image next to the kernel ELF ([`boot_image_path`]): `objcopy
/// --strip-all` for x86_64, `objcopy -O binary` for aarch64 (the ELF's first byte is
/// the `Image` header; QEMU passes the device tree in x0 only to an `Image`). With no
/// objcopy at hand, x86_64 boots the ELF as it is; aarch64 needs its `Image`.
fn make_boot_image(elf: &Path, arch: Arch) -> Result<(), Fail> {
    let img = boot_image_path(elf, arch);
    let tmp = img.with_extension(format!("tmp{}", std::process::id()));
    let how = match arch {
        Arch::X86_64 => "--strip-all",
        Arch::Aarch64 => "-O binary",
    };
    for tool in objcopy_tools(arch) {
        let status = Command::new(tool).args(how.split(' ')).arg(elf).arg(&tmp).stdin(Stdio::null()).status();
        match status {
            Ok(s) if s.success() => {
                return fs::rename(&tmp, &img).map_err(|e| Fail::new(format!("cannot write {}: {e}", img.display())));
            }
            Ok(s) => {
                let _ = fs::remove_file(&tmp);
                return Err(Fail::new(format!("{tool} {how} {} failed ({s})", elf.display())));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Fail::new(format!("cannot start {tool}: {e}"))),
        }
    }
    match arch {
        Arch::X86_64 => Ok(()),
        Arch::Aarch64 => Err(Fail::new(
            "no objcopy to make the arm64 Image: install binutils-aarch64-linux-gnu (apt-get install binutils-aarch64-linux-gnu)".into(),
        )),
    }
}

/// True when `exe` (this CLI) lies in `repo`'s own `target` folder: a development
/// build run from the source tree, which rebuilds the kernel when its sources change.
pub fn is_dev_build(exe: &Path, repo: &Path) -> bool {
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canon(exe).starts_with(canon(&repo.join("target")))
}

/// Whether this run checks the kernel's sources for changes: for a development
/// build, or when `$ELFIN_REPO` names the tree. An installed CLI boots the built
/// image as it is (about 150 stats saved on every run) and builds it only when
/// it is missing; `elfin build` rebuilds it.
fn checks_sources(repo: &Path) -> bool {
    std::env::var_os("ELFIN_REPO").is_some_and(|r| !r.is_empty())
        || std::env::current_exe().is_ok_and(|exe| is_dev_build(&exe, repo))
}

/// The kernel image for `arch`, built first if it is missing or (for a
/// development build) stale.
pub fn fresh_image(repo: &Path, arch: Arch) -> Result<PathBuf, Fail> {
    let stale = if checks_sources(repo) { needs_build(repo, arch) } else { !kernel_elf(repo, arch).is_file() };
    if stale {
        check_tree(repo)?;
        let why = if kernel_elf(repo, arch).exists() { "its sources changed" } else { "no image yet" };
        eprintln!("elfin: building the {} kernel ({why})", arch.name());
        build(repo, arch)?;
    }
    // A kernel ELF built by plain `cargo build` has no (or a stale) boot image yet.
    let elf = kernel_elf(repo, arch);
    if kernel_image(repo, arch) == elf && elf.is_file() {
        make_boot_image(&elf, arch)?;
    }
    Ok(kernel_image(repo, arch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn touch(p: &Path, t: SystemTime) {
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let f = fs::File::create(p).expect("create");
        f.set_modified(t).expect("set mtime");
    }

    #[test]
    fn staleness_follows_mtimes() {
        let repo = std::env::temp_dir().join(format!("elfin-kernel-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&repo);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        touch(&repo.join("kernel/src/main.rs"), at(10));
        touch(&repo.join("Cargo.toml"), at(5));
        let arch = Arch::X86_64;
        assert!(needs_build(&repo, arch), "missing image");
        touch(&kernel_elf(&repo, arch), at(20));
        assert!(!needs_build(&repo, arch), "fresh image");
        touch(&repo.join("shim/src/fs.rs"), at(30));
        assert!(needs_build(&repo, arch), "newer source");
        touch(&stamp_path(&repo, arch), at(31));
        assert!(!needs_build(&repo, arch), "stamp newer than sources");
        touch(&repo.join("kernel/README.md"), at(40));
        assert!(!needs_build(&repo, arch), "non-source file ignored");
        touch(&repo.join("kernel/target/x.rs"), at(50));
        assert!(!needs_build(&repo, arch), "target dirs ignored");
        touch(&repo.join(".cargo/config.toml"), at(60));
        assert!(needs_build(&repo, arch), "cargo config");
        fs::remove_dir_all(&repo).expect("cleanup");
    }

    #[test]
    fn only_a_cli_inside_the_tree_is_a_dev_build() {
        let repo = Path::new("/nonexistent/elfin");
        assert!(is_dev_build(Path::new("/nonexistent/elfin/target/release/elfin"), repo));
        assert!(is_dev_build(Path::new("/nonexistent/elfin/target/debug/elfin"), repo));
        assert!(!is_dev_build(Path::new("/usr/local/bin/elfin"), repo));
        assert!(!is_dev_build(Path::new("/nonexistent/elfin/target-other/elfin"), repo));
        assert!(!is_dev_build(Path::new("/root/.cargo/bin/elfin"), repo));
    }

    #[test]
    fn a_fresh_boot_image_is_preferred() {
        let repo = std::env::temp_dir().join(format!("elfin-kimg-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&repo);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let elf = kernel_elf(&repo, arch);
            let img = boot_image_path(&elf, arch);
            assert_ne!(img, elf);
            touch(&elf, t0);
            assert_eq!(kernel_image(&repo, arch), elf);
            touch(&img, t0 + Duration::from_secs(1));
            assert_eq!(kernel_image(&repo, arch), img);
            touch(&elf, t0 + Duration::from_secs(2));
            assert_eq!(kernel_image(&repo, arch), elf, "stale image ignored");
        }
        fs::remove_dir_all(&repo).expect("cleanup");
    }
}
