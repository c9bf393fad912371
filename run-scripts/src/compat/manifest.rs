//! The compat manifest: a TOML file of cases, each a program, its arguments, stdin,
//! environment and files, run natively and in elfin (format in tests/compat/README.md).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::arch::Arch;

/// Default per-case timeout, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 30;

/// The manifest as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Where `program` paths are resolved: a directory, relative to the manifest, in
    /// which `{arch}` stands for the architecture name.
    pub apps: String,
    /// Architectures every case runs on unless it says otherwise.
    #[serde(default = "all_arches")]
    pub arch: Vec<String>,
    /// Default timeout per run, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// The cases, in order.
    #[serde(rename = "case", default)]
    pub cases: Vec<CaseSpec>,
}

fn all_arches() -> Vec<String> {
    vec!["x86_64".into(), "aarch64".into()]
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_S
}

fn yes() -> bool {
    true
}

/// One case as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Unique name, e.g. `busybox/sort`.
    pub name: String,
    /// The program, relative to `apps`, e.g. `debian/busybox`.
    pub program: String,
    /// Arguments after argv[0].
    #[serde(default)]
    pub args: Vec<String>,
    /// argv[0] (default `/app/<basename>`, as elfin sets it).
    pub argv0: Option<String>,
    /// Bytes for stdin, as text.
    pub stdin: Option<String>,
    /// A file (relative to the manifest) whose bytes are stdin.
    pub stdin_file: Option<String>,
    /// Extra environment, on top of PATH and HOME.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files or trees placed in the work directory: `"path/in/work" = "host/path"`,
    /// the host path relative to the manifest.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Start directory, relative to the work directory (default: the work directory).
    pub cwd: Option<String>,
    /// Compare stderr too (default true).
    #[serde(default = "yes")]
    pub stderr: bool,
    /// Files the program writes (relative to the work directory), to compare.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Architectures (default: the manifest's).
    pub arch: Option<Vec<String>>,
    /// Timeout in seconds (default: the manifest's).
    pub timeout: Option<u64>,
    /// Guest memory, e.g. `256M` (default: elfin's).
    pub mem: Option<String>,
    /// A busybox (relative to `apps`) that the guest gets as /bin with its applets
    /// (`elfin run --busybox`), standing for the host's /bin/sh and utilities that
    /// the program runs (system(), popen(), exec of `sort`, …).
    pub tools: Option<String>,
    /// Why the case exists or what it shows (shown in reports).
    pub note: Option<String>,
    /// Why the case's result varies from run to run in elfin: it is reported but
    /// never counts as a regression (and is shown as `flaky` in the Markdown).
    pub flaky: Option<String>,
}

/// A case ready to run on one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The case's name.
    pub name: String,
    /// The program's label in tables: its file name, e.g. `busybox`.
    pub program_name: String,
    /// The architecture.
    pub arch: Arch,
    /// The program's host path.
    pub program: PathBuf,
    /// argv[0].
    pub argv0: String,
    /// Arguments after argv[0].
    pub args: Vec<String>,
    /// stdin bytes (None: /dev/null).
    pub stdin: Option<Vec<u8>>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Work-directory-relative path → host path.
    pub files: Vec<(String, PathBuf)>,
    /// Start directory relative to the work directory ("" for the work directory).
    pub cwd: String,
    /// Compare stderr.
    pub stderr: bool,
    /// Files to compare after the run.
    pub outputs: Vec<String>,
    /// Timeout, in seconds.
    pub timeout: u64,
    /// Guest memory option.
    pub mem: Option<String>,
    /// The busybox installed as the guest's /bin, if any.
    pub tools: Option<PathBuf>,
    /// The case's note, if any.
    pub note: Option<String>,
    /// Why the case is flaky, if it is.
    pub flaky: Option<String>,
}

/// The guest directory that stands for the native run's scratch directory.
pub const GUEST_WORK: &str = "/work";

/// Checks that `p` is a relative path without `..` (it names a place in the work directory).
fn relative(p: &str, what: &str, case: &str) -> Result<String, String> {
    let path = Path::new(p);
    let ok = !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(p.trim_end_matches('/').to_owned())
    } else {
        Err(format!(
            "case {case}: {what} '{p}' must be a relative path inside the work directory (no '/' at the start, no '..')"
        ))
    }
}

fn parse_arch(name: &str, case: &str) -> Result<Arch, String> {
    match name {
        "x86_64" => Ok(Arch::X86_64),
        "aarch64" => Ok(Arch::Aarch64),
        _ => Err(format!("case {case}: unknown arch '{name}' (x86_64 or aarch64)")),
    }
}

impl Manifest {
    /// Parses the manifest text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &m.cases {
            if c.name.is_empty() {
                return Err(format!("{origin}: a case has an empty name"));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(format!("{origin}: two cases are named '{}'", c.name));
            }
            if c.stdin.is_some() && c.stdin_file.is_some() {
                return Err(format!("{origin}: case {}: give stdin or stdin_file, not both", c.name));
            }
        }
        Ok(m)
    }

    /// Reads and parses a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the manifest {}: {e}", path.display()))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// The cases to run on the given architectures (all of the manifest's when
    /// `arches` is empty), in manifest order, arch by arch. `base` is the
    /// manifest's directory; `filter` keeps cases whose name contains it.
    pub fn cases(&self, base: &Path, arches: &[Arch], filter: &[String]) -> Result<Vec<Case>, String> {
        let mut out = Vec::new();
        let manifest_arches = self.arch.iter().map(|a| parse_arch(a, "(manifest)")).collect::<Result<Vec<_>, _>>()?;
        let run_arches: Vec<Arch> = if arches.is_empty() { manifest_arches.clone() } else { arches.to_vec() };
        for arch in run_arches {
            for spec in &self.cases {
                if !filter.is_empty() && !filter.iter().any(|f| spec.name.contains(f.as_str())) {
                    continue;
                }
                let case_arches = match &spec.arch {
                    Some(list) => list.iter().map(|a| parse_arch(a, &spec.name)).collect::<Result<Vec<_>, _>>()?,
                    None => manifest_arches.clone(),
                };
                if case_arches.contains(&arch) {
                    out.push(self.resolve(spec, base, arch)?);
                }
            }
        }
        Ok(out)
    }

    fn resolve(&self, spec: &CaseSpec, base: &Path, arch: Arch) -> Result<Case, String> {
        let apps = base.join(self.apps.replace("{arch}", arch.name()));
        let program = apps.join(&spec.program);
        let program_name = Path::new(&spec.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.program.clone());
        let stdin = match (&spec.stdin, &spec.stdin_file) {
            (Some(s), _) => Some(s.clone().into_bytes()),
            (None, Some(f)) => Some(
                std::fs::read(base.join(f))
                    .map_err(|e| format!("case {}: stdin_file {}: {e}", spec.name, base.join(f).display()))?,
            ),
            (None, None) => None,
        };
        let files = spec
            .files
            .iter()
            .map(|(guest, host)| Ok((relative(guest, "file", &spec.name)?, base.join(host))))
            .collect::<Result<Vec<_>, String>>()?;
        let cwd = match &spec.cwd {
            Some(c) if c != "." => relative(c, "cwd", &spec.name)?,
            _ => String::new(),
        };
        let outputs = spec.outputs.iter().map(|o| relative(o, "output", &spec.name)).collect::<Result<Vec<_>, _>>()?;
        Ok(Case {
            name: spec.name.clone(),
            argv0: spec.argv0.clone().unwrap_or_else(|| format!("/app/{program_name}")),
            program_name,
            arch,
            program,
            args: spec.args.clone(),
            stdin,
            env: spec.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            files,
            cwd,
            stderr: spec.stderr,
            outputs,
            timeout: spec.timeout.unwrap_or(self.timeout),
            mem: spec.mem.clone(),
            tools: spec.tools.as_ref().map(|t| apps.join(t)),
            note: spec.note.clone(),
            flaky: spec.flaky.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
apps = "../out/{arch}"
timeout = 20

[[case]]
name = "bb/echo"
program = "debian/busybox"
args = ["echo", "hi"]

[[case]]
name = "lua/file"
program = "debian/lua5.4"
args = ["t.lua"]
files = { "t.lua" = "data/t.lua" }
cwd = "."
stdin = "x"
env = { K = "V" }
arch = ["x86_64"]
timeout = 5
stderr = false
outputs = ["out.txt"]
"#;

    #[test]
    fn parses_and_resolves() {
        let m = Manifest::parse(TEXT, "m.toml").expect("parse");
        let base = Path::new("/r/tests");
        let all = m.cases(base, &[], &[]).expect("cases");
        let names: Vec<(String, Arch)> = all.iter().map(|c| (c.name.clone(), c.arch)).collect();
        assert_eq!(
            names,
            [
                ("bb/echo".to_owned(), Arch::X86_64),
                ("lua/file".to_owned(), Arch::X86_64),
                ("bb/echo".to_owned(), Arch::Aarch64)
            ]
        );
        let lua = &all[1];
        assert_eq!(lua.program, Path::new("/r/tests/../out/x86_64/debian/lua5.4"));
        assert_eq!(lua.program_name, "lua5.4");
        assert_eq!(lua.argv0, "/app/lua5.4");
        assert_eq!(lua.files, [("t.lua".to_owned(), PathBuf::from("/r/tests/data/t.lua"))]);
        assert_eq!((lua.cwd.as_str(), lua.timeout, lua.stderr), ("", 5, false));
        assert_eq!(lua.stdin.as_deref(), Some(&b"x"[..]));
        assert_eq!(lua.env, [("K".to_owned(), "V".to_owned())]);
        assert_eq!(all[0].timeout, 20);
        assert!(all[0].stderr);
        let only = m.cases(base, &[Arch::Aarch64], &["echo".into()]).expect("cases");
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn rejects_bad_manifests() {
        let dup = "apps = \"x\"\n[[case]]\nname = \"a\"\nprogram = \"p\"\n[[case]]\nname = \"a\"\nprogram = \"q\"\n";
        assert!(Manifest::parse(dup, "m").expect_err("dup").contains("two cases are named 'a'"));
        let unknown = "apps = \"x\"\n[[case]]\nname = \"a\"\nprogram = \"p\"\nargz = []\n";
        assert!(Manifest::parse(unknown, "m").expect_err("field").contains("argz"));
        let escape = "apps = \"x\"\n[[case]]\nname = \"a\"\nprogram = \"p\"\nfiles = { \"../x\" = \"y\" }\n";
        let m = Manifest::parse(escape, "m").expect("parse");
        assert!(m.cases(Path::new("/"), &[], &[]).expect_err("escape").contains("relative path"));
        let arch = "apps = \"x\"\n[[case]]\nname = \"a\"\nprogram = \"p\"\narch = [\"mips\"]\n";
        let m = Manifest::parse(arch, "m").expect("parse");
        assert!(m.cases(Path::new("/"), &[], &[]).expect_err("arch").contains("unknown arch 'mips'"));
    }
}
