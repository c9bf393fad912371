//! Parsing of option values: memory sizes, environment strings, volumes, guest paths.
//!
//! Pure functions returning `Err(one-line reason)`, so that clap and the tests can use
//! them directly.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// The environment every program starts with, before `-e`.
pub const DEFAULT_ENV: [(&str, &str); 2] = [("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", "/")];

/// Largest guest memory accepted (1 TiB), in MiB.
const MAX_MEM_MIB: u64 = 1 << 20;

/// Parses a memory size such as `64M`, `1G`, `512MiB` or `128` (MiB) into MiB.
pub fn parse_mem(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let bad = || format!("invalid size '{s}': use a number of MiB or a suffix M or G, e.g. 64M, 1G");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mib = match unit.to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => Some(n),
        "g" | "gb" | "gib" => n.checked_mul(1024),
        "k" | "kb" | "kib" if n.is_multiple_of(1024) => Some(n / 1024),
        "k" | "kb" | "kib" => return Err(format!("invalid size '{s}': not a whole number of MiB")),
        _ => return Err(bad()),
    };
    match mib {
        Some(0) => Err(format!("invalid size '{s}': must be at least 1M")),
        Some(m) if m <= MAX_MEM_MIB => Ok(m),
        _ => Err(format!("invalid size '{s}': at most 1024G")),
    }
}

/// Builds the guest environment: [`DEFAULT_ENV`], then each `-e` spec in order. `K=V`
/// sets K (replacing an earlier K in place); a bare `K` takes the value of K from
/// `host` and is skipped when the host has no such variable (as `docker run -e` does).
pub fn build_env(specs: &[OsString], host: impl Fn(&OsStr) -> Option<OsString>) -> Result<Vec<Vec<u8>>, String> {
    let mut env: Vec<(Vec<u8>, Vec<u8>)> =
        DEFAULT_ENV.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    for spec in specs {
        let bytes = spec.as_bytes();
        let (key, value) = match bytes.iter().position(|&b| b == b'=') {
            Some(eq) => (&bytes[..eq], bytes[eq + 1..].to_vec()),
            None => match host(spec) {
                Some(v) => (bytes, v.into_vec()),
                None => continue,
            },
        };
        if key.is_empty() {
            return Err(format!(
                "invalid environment variable '{}': the name is empty; use -e NAME=VALUE",
                spec.to_string_lossy()
            ));
        }
        match env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key.to_vec(), value)),
        }
    }
    Ok(env
        .into_iter()
        .map(|(mut k, v)| {
            k.push(b'=');
            k.extend_from_slice(&v);
            k
        })
        .collect())
}

/// Normalizes an absolute guest path: `/a//b/./c/` becomes `a/b/c` (archive form, no
/// leading slash; `/` itself becomes empty). `..` is refused.
pub fn guest_path(p: &[u8]) -> Result<Vec<u8>, String> {
    let shown = String::from_utf8_lossy(p);
    if p.first() != Some(&b'/') {
        return Err(format!("guest path '{shown}' must be absolute (start with /)"));
    }
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    for comp in p.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err(format!("guest path '{shown}' must not contain '..'")),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// A `-v HOST:GUEST[:ro]` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// Host file or directory.
    pub host: PathBuf,
    /// Normalized guest path (archive form, see [`guest_path`]).
    pub guest: Vec<u8>,
    /// `:ro`: the guest may not write.
    pub ro: bool,
}

/// Guest directories a volume may not cover (archive form): the root, the program's
/// directory and the kernel's own filesystems.
const SYSTEM_DIRS: [&[u8]; 5] = [b"", b"app", b"dev", b"proc", b"sys"];

/// Parses `HOST:GUEST[:ro|:rw]`. GUEST is absolute, so the split is at the last
/// `:/`; HOST may itself contain colons.
pub fn parse_volume(spec: &OsStr) -> Result<Volume, String> {
    let shown = spec.to_string_lossy();
    let mut bytes = spec.as_bytes();
    let mut ro = false;
    if let Some(rest) = bytes.strip_suffix(b":ro") {
        (bytes, ro) = (rest, true);
    } else if let Some(rest) = bytes.strip_suffix(b":rw") {
        bytes = rest;
    }
    let colon = bytes.windows(2).rposition(|w| w == b":/").ok_or_else(|| {
        format!("invalid volume '{shown}': use HOST:GUEST with an absolute GUEST path, e.g. -v ./data:/data")
    })?;
    let (host, guest) = (&bytes[..colon], &bytes[colon + 1..]);
    if host.is_empty() {
        return Err(format!("invalid volume '{shown}': the host path is empty"));
    }
    let guest = guest_path(guest).map_err(|e| format!("invalid volume '{shown}': {e}"))?;
    let top = guest.split(|&b| b == b'/').next().unwrap_or(b"");
    if top == b".elfin" {
        return Err(format!("invalid volume '{shown}': /.elfin is reserved for elfin itself"));
    }
    if SYSTEM_DIRS.contains(&&guest[..]) || (top != b"app" && SYSTEM_DIRS.contains(&top) && !top.is_empty()) {
        return Err(format!(
            "invalid volume '{shown}': /{} is a system directory of the guest; mount the volume elsewhere, e.g. -v {}:/data",
            String::from_utf8_lossy(&guest),
            String::from_utf8_lossy(host)
        ));
    }
    Ok(Volume { host: PathBuf::from(OsStr::from_bytes(host)), guest, ro })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem("64M"), Ok(64));
        assert_eq!(parse_mem("16m"), Ok(16));
        assert_eq!(parse_mem("1G"), Ok(1024));
        assert_eq!(parse_mem("2GiB"), Ok(2048));
        assert_eq!(parse_mem("512MB"), Ok(512));
        assert_eq!(parse_mem("128"), Ok(128));
        assert_eq!(parse_mem("65536K"), Ok(64));
        assert!(parse_mem("1000K").is_err());
        assert!(parse_mem("0").is_err());
        assert!(parse_mem("").is_err());
        assert!(parse_mem("M").is_err());
        assert!(parse_mem("12X").is_err());
        assert!(parse_mem("-5M").is_err());
        assert!(parse_mem("1.5G").is_err());
        assert!(parse_mem("99999999999999999999G").is_err());
        assert!(parse_mem("2000G").is_err());
    }

    fn env(specs: &[&str]) -> Result<Vec<String>, String> {
        let specs: Vec<OsString> = specs.iter().map(OsString::from).collect();
        let host = |k: &OsStr| match k.to_str() {
            Some("USER") => Some(OsString::from("alice")),
            Some("PATH") => Some(OsString::from("/host/bin")),
            _ => None,
        };
        build_env(&specs, host).map(|v| v.into_iter().map(|s| String::from_utf8(s).expect("utf8")).collect())
    }

    #[test]
    fn environment() {
        assert_eq!(env(&[]).expect("ok"), ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/"]);
        assert_eq!(
            env(&["A=1", "HOME=/root", "B=x=y", "A=2", "E="]).expect("ok"),
            ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "A=2", "B=x=y", "E="]
        );
        // Host values: taken when present, skipped when absent.
        assert_eq!(env(&["USER", "NOPE", "PATH"]).expect("ok"), ["PATH=/host/bin", "HOME=/", "USER=alice"]);
        assert!(env(&["=x"]).is_err());
    }

    #[test]
    fn guest_paths() {
        assert_eq!(guest_path(b"/").expect("ok"), b"");
        assert_eq!(guest_path(b"/a//b/./c/").expect("ok"), b"a/b/c");
        assert!(guest_path(b"a/b").is_err());
        assert!(guest_path(b"/a/../b").is_err());
    }

    #[test]
    fn volumes() {
        let v = parse_volume(OsStr::new("./data:/srv/data")).expect("ok");
        assert_eq!(v, Volume { host: PathBuf::from("./data"), guest: b"srv/data".to_vec(), ro: false });
        let v = parse_volume(OsStr::new("./data:/srv/data:ro")).expect("ok");
        assert_eq!(v, Volume { host: PathBuf::from("./data"), guest: b"srv/data".to_vec(), ro: true });
        assert!(!parse_volume(OsStr::new("./data:/d:rw")).expect("ok").ro);
        assert_eq!(parse_volume(OsStr::new("./a:b:/d:ro")).expect("ok").host, PathBuf::from("./a:b"));
        for system in ["x:/", "x:/proc", "x:/proc/1", "x:/dev/", "x:/sys/fs", "x:/app", "x:/./dev:ro"] {
            let e = parse_volume(OsStr::new(system)).expect_err(system);
            assert!(e.contains("is a system directory of the guest"), "{e}");
        }
        assert!(parse_volume(OsStr::new("x:/app/data")).is_ok());
        assert!(parse_volume(OsStr::new("x:/devices")).is_ok());
        let v = parse_volume(OsStr::new("/h/a:b:/g")).expect("ok");
        assert_eq!(v.host, PathBuf::from("/h/a:b"));
        assert_eq!(v.guest, b"g");
        assert!(parse_volume(OsStr::new("./data")).is_err());
        assert!(parse_volume(OsStr::new("./data:rel")).is_err());
        assert!(parse_volume(OsStr::new(":/g")).is_err());
        assert!(parse_volume(OsStr::new("x:/a/../b")).is_err());
        assert!(parse_volume(OsStr::new("x:/.elfin/run")).is_err());
        assert!(parse_volume(OsStr::new("x:/.elfin")).is_err());
        assert!(parse_volume(OsStr::new("x:/.elfinx")).is_ok());
    }
}
