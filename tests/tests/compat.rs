//! The app-compatibility corpus (tests/compat/manifest.toml) through `elfin compat`,
//! once per architecture: fails when a case that passes in tests/compat/baseline.json
//! does not pass now. Cases that fail in the baseline (missing syscalls, known
//! differences) are reported but do not fail the test; when one starts passing, the
//! output says to refresh the baseline with `--update-baseline`.

use std::process::Command;

use elfin_tests::{elfin_bin, repo_root};

fn compat(arch: &str) {
    let root = repo_root();
    let manifest = root.join("tests").join("compat").join("manifest.toml");
    let out = Command::new(elfin_bin())
        .args(["compat", "--arch", arch, "-j", "2"])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run elfin compat: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "elfin compat --arch {arch} failed ({}): a case that passes in tests/compat/baseline.json \
         no longer does (REGRESSION lines below), or the harness could not run.\n\
         Details: elfin compat --arch {arch} -v --case NAME --format json {}\n{stdout}\n{stderr}",
        out.status,
        manifest.display()
    );
}

#[test]
fn compat_corpus_x86_64() {
    compat("x86_64");
}

#[test]
fn compat_corpus_aarch64() {
    compat("aarch64");
}
