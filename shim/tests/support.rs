//! The support table (`elfin_shim::support`) against the kernel's dispatch: a call
//! the shim decodes must be served by a handler, never by an arm that only
//! returns ENOSYS, and the dispatch must have no catch-all arm that would swallow
//! a call added to the shim without a handler.

use std::path::Path;

fn dispatch_body() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel/src/syscall/mod.rs");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = src.find("fn dispatch(").expect("fn dispatch in kernel/src/syscall/mod.rs");
    let body = &src[start..];
    // The function ends at the first line that is a lone closing brace.
    let end = body.find("\n}\n").expect("end of fn dispatch");
    body[..end].to_owned()
}

#[test]
fn dispatch_has_no_catch_all_arm() {
    let body = dispatch_body();
    for line in body.lines() {
        let t = line.trim_start();
        let catch_all = t.starts_with("_ =>")
            || t.split_once(" =>")
                .is_some_and(|(pat, _)| !pat.is_empty() && pat.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        assert!(!catch_all, "catch-all arm in the kernel's dispatch: {t}");
    }
}

#[test]
fn only_unknown_numbers_are_unsupported_wholesale() {
    let body = dispatch_body();
    for line in body.lines().filter(|l| l.contains("unsupported(")) {
        assert!(
            line.trim_start().starts_with("Unknown {"),
            "a dispatch arm answers ENOSYS for a call the shim decodes (remove the call from the \
             shim's tables, or implement it): {}",
            line.trim()
        );
    }
}
