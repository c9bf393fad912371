//! The cache of packed initrds: a run whose inputs are those of an earlier run
//! boots the initrd that run packed, instead of reading, checking and packing the
//! program again.
//!
//! - **Where**: `$ELFIN_CACHE/initrd`, else `$XDG_CACHE_HOME/elfin/initrd`, else
//!   `~/.cache/elfin/initrd`; one file per entry, named by the key.
//! - **Key**: a 128-bit FNV-1a hash of everything the archive is made from (see
//!   [`Key`]): the host files by identity (device, inode, size, mtime and ctime in
//!   nanoseconds, mode), the guest paths, arguments, environment, terminals, volume
//!   records and `/etc/resolv.conf` by value, and this CLI binary by identity, so a
//!   new build of elfin (another archive format) never reads an old entry. A host
//!   file changed less than [`SETTLE`] ago is not trusted to show its change in its
//!   times (timestamps are coarse), and such a run neither reads nor writes the cache.
//! - **Atomic**: an entry is written to a temporary file, locked, then linked
//!   under its name (never replacing one), so no reader sees a partial file. A
//!   reader holds a shared `flock` on the entry for the whole run and checks after
//!   locking that the name still leads to the file it opened; eviction removes only
//!   entries it can lock exclusively. An entry must end with the archive's trailer;
//!   one that does not (cut short by a crash) is removed and packed again.
//! - **Bounded**: after each new entry, the oldest entries (by last use, the
//!   mtime) are removed until the cache holds at most [`LIMIT`] bytes.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most bytes the initrd cache keeps.
pub const LIMIT: u64 = 256 << 20;
/// A host file whose ctime is younger than this may change again within the
/// resolution of its timestamps; runs with such a file bypass the cache.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Entries used within this time are not evicted (they may be about to boot).
const RECENT: Duration = Duration::from_secs(60);
/// Temporary files older than this are left over from a crashed writer.
const STALE_TMP: Duration = Duration::from_secs(3600);
/// A use refreshes an entry's mtime (its place in the eviction order) when it is
/// older than this; most hits then cost no write.
const TOUCH_AFTER: Duration = Duration::from_secs(600);

/// The name of an archive's last member (see `cpio.rs`).
const TRAILER: &[u8] = b"TRAILER!!!\0";

/// What an entry is made from, hashed as it is fed (FNV-1a, 128 bits). Every
/// field is written with its tag and length, so that no two different inputs
/// give the same byte stream.
#[derive(Clone, Debug)]
pub struct Key {
    hash: u128,
    /// False once an input cannot be keyed (a file too new, a tree to walk).
    usable: bool,
}

const FNV_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

impl Default for Key {
    fn default() -> Self {
        Key::new()
    }
}

impl Key {
    /// An empty key.
    pub fn new() -> Self {
        Key { hash: FNV_OFFSET, usable: true }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash ^= u128::from(b);
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
    }

    /// Adds a field: a tag naming it and its bytes.
    pub fn bytes(&mut self, tag: &str, value: &[u8]) -> &mut Self {
        self.feed(&(tag.len() as u64).to_le_bytes());
        self.feed(tag.as_bytes());
        self.feed(&(value.len() as u64).to_le_bytes());
        self.feed(value);
        self
    }

    /// Adds a number.
    pub fn num(&mut self, tag: &str, value: u64) -> &mut Self {
        self.bytes(tag, &value.to_le_bytes())
    }

    /// Adds a host file by identity and times (its contents are not read). A file
    /// changed within [`SETTLE`] of `now` makes the key unusable.
    pub fn file(&mut self, tag: &str, meta: &fs::Metadata, now: SystemTime) -> &mut Self {
        let ns = |s: i64, n: i64| (s as u64).wrapping_mul(1_000_000_000).wrapping_add(n as u64);
        let ctime =
            UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec().clamp(0, 999_999_999) as u32);
        let mtime =
            UNIX_EPOCH + Duration::new(meta.mtime().max(0) as u64, meta.mtime_nsec().clamp(0, 999_999_999) as u32);
        let newest = ctime.max(mtime);
        if now.duration_since(newest).map_or(true, |age| age < SETTLE) {
            self.usable = false;
        }
        let mut v = Vec::with_capacity(56);
        for n in [
            meta.dev(),
            meta.ino(),
            meta.size(),
            ns(meta.mtime(), meta.mtime_nsec()),
            ns(meta.ctime(), meta.ctime_nsec()),
            u64::from(meta.mode()),
            meta.nlink(),
        ] {
            v.extend_from_slice(&n.to_le_bytes());
        }
        self.bytes(tag, &v)
    }

    /// Marks the key unusable: this run neither reads nor writes the cache.
    pub fn refuse(&mut self) {
        self.usable = false;
    }

    /// Whether the cache may be used for this key.
    pub fn usable(&self) -> bool {
        self.usable
    }

    /// The entry's file name.
    pub fn name(&self) -> String {
        format!("{:032x}.cpio", self.hash)
    }
}

/// The cache directory (not created yet): see the module docs.
pub fn dir_from_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = set("ELFIN_CACHE")
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("elfin")))
        .or_else(|| set("HOME").map(|h| h.join(".cache").join("elfin")))?;
    base.is_absolute().then(|| base.join("initrd"))
}

/// An entry in use: its path, and the open file that holds the shared lock
/// keeping eviction away until this run ends.
#[derive(Debug)]
pub struct Entry {
    /// Where the VMM reads it.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    _file: File,
}

/// The initrd cache in `dir`, keeping at most `limit` bytes.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    limit: u64,
}

/// True when `file` ends with the archive's trailer (and zero padding after it).
fn complete(file: &File, size: u64) -> bool {
    let tail_len = size.min(512);
    let mut tail = vec![0u8; tail_len as usize];
    if file.read_exact_at(&mut tail, size - tail_len).is_err() {
        return false;
    }
    let Some(at) = tail.windows(TRAILER.len()).rposition(|w| w == TRAILER) else {
        return false;
    };
    // 110-byte header before the name; nothing but padding after it.
    at >= 110 && tail.get(at - 110..at - 104) == Some(b"070701") && tail[at + TRAILER.len()..].iter().all(|&b| b == 0)
}

impl Cache {
    /// The cache at `dir`.
    pub fn new(dir: PathBuf, limit: u64) -> Self {
        Cache { dir, limit }
    }

    /// The cache the environment names (see [`dir_from_env`]), if any.
    pub fn from_env() -> Option<Self> {
        dir_from_env(|k| std::env::var_os(k)).map(|d| Cache::new(d, LIMIT))
    }

    /// The entry for `key`, locked for this run, if the cache holds a complete one.
    pub fn lookup(&self, key: &Key) -> Option<Entry> {
        if !key.usable() {
            return None;
        }
        let path = self.dir.join(key.name());
        // Eviction may remove the name between our open and our lock: then the
        // name no longer leads to the file we hold, and we look again.
        for _ in 0..3 {
            let file = File::open(&path).ok()?;
            file.lock_shared().ok()?;
            let held = file.metadata().ok()?;
            let now_there = match fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(_) => return None,
            };
            if (held.dev(), held.ino()) != (now_there.dev(), now_there.ino()) {
                continue;
            }
            if !complete(&file, held.len()) {
                // Cut short (a crash before the data reached the disk): away with it,
                // if nobody else is using it.
                drop(file);
                self.remove_if_unused(&path);
                return None;
            }
            let now = SystemTime::now();
            if held.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > TOUCH_AFTER) {
                let _ = file.set_modified(now);
            }
            return Some(Entry { path, size: held.len(), _file: file });
        }
        None
    }

    /// Writes a new entry for `key` with `write`, then evicts the oldest entries
    /// beyond the limit. When an entry of the same key appeared meanwhile (a
    /// concurrent run), that one is used and ours dropped.
    pub fn store(
        &self,
        key: &Key,
        write: impl FnOnce(BufWriter<File>) -> io::Result<BufWriter<File>>,
    ) -> io::Result<Entry> {
        fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(key.name());
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let tmp = self.dir.join(format!(".tmp-{}-{nanos:x}", std::process::id()));
        let file = fs::OpenOptions::new().read(true).write(true).create_new(true).open(&tmp)?;
        let file = write(BufWriter::with_capacity(256 * 1024, file))
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })?;
        // Locked before it has a name, so eviction can never take it from us.
        let locked = file.lock_shared();
        let linked = locked.and_then(|()| fs::hard_link(&tmp, &path));
        let _ = fs::remove_file(&tmp);
        let entry = match linked {
            Ok(()) => {
                let size = file.metadata()?.len();
                Entry { path, size, _file: file }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match self.lookup(key) {
                Some(other) => other,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        self.evict(&entry.path);
        Ok(entry)
    }

    /// Removes `path` unless a run holds it (a shared lock).
    fn remove_if_unused(&self, path: &Path) -> bool {
        let Ok(file) = File::open(path) else { return false };
        if file.try_lock().is_err() {
            return false;
        }
        // Still the file under that name (not one linked anew since our open)?
        let same = match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        };
        same && fs::remove_file(path).is_ok()
    }

    /// Removes the least recently used entries until the cache holds at most its
    /// limit, sparing `keep` and entries in use; also old temporary files.
    fn evict(&self, keep: &Path) {
        let Ok(dir) = fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        let age = |m: &fs::Metadata| m.modified().ok().and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for e in dir.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            let path = e.path();
            if e.file_name().as_bytes().starts_with(b".tmp-") {
                if age(&meta) > STALE_TMP {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            total += meta.len();
            if path != keep && age(&meta) > RECENT {
                entries.push((age(&meta), meta.len(), path));
            }
        }
        if total <= self.limit {
            return;
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.0)); // oldest first
        for (_, size, path) in entries {
            if total <= self.limit {
                break;
            }
            if self.remove_if_unused(&path) {
                total -= size;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::io::Write;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("elfin-cache-test-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn archive(body: &[u8]) -> Vec<u8> {
        let mut w = crate::cpio::Writer::new(Vec::new());
        w.file(b"f", 0o644, 0, body.len() as u64, &mut &body[..]).expect("file");
        w.finish().expect("finish")
    }

    fn old() -> SystemTime {
        SystemTime::now() - Duration::from_secs(3600)
    }

    #[test]
    fn keys_separate_fields() {
        let k = |parts: &[(&str, &[u8])]| {
            let mut k = Key::new();
            for (t, v) in parts {
                k.bytes(t, v);
            }
            k.name()
        };
        assert_eq!(k(&[("arg", b"a")]), k(&[("arg", b"a")]));
        assert_ne!(k(&[("arg", b"ab")]), k(&[("arg", b"a"), ("arg", b"b")]));
        assert_ne!(k(&[("arg", b"a")]), k(&[("env", b"a")]));
        assert_ne!(k(&[]), k(&[("arg", b"")]));
        assert_eq!(Key::new().name().len(), 32 + 5);
    }

    #[test]
    fn a_changed_or_fresh_file_changes_or_refuses_the_key() {
        let d = scratch("file");
        fs::create_dir_all(&d).expect("mkdir");
        let p = d.join("prog");
        fs::write(&p, b"one").expect("write");
        let now = SystemTime::now();
        let mut fresh = Key::new();
        fresh.file("prog", &fs::metadata(&p).expect("meta"), now);
        assert!(!fresh.usable(), "a file written just now is not trusted");
        let later = now + Duration::from_secs(10);
        let key = |p: &Path| {
            let mut k = Key::new();
            k.file("prog", &fs::metadata(p).expect("meta"), later);
            (k.usable(), k.name())
        };
        let (usable, first) = key(&p);
        assert!(usable);
        assert_eq!(key(&p).1, first, "same file, same key");
        fs::write(&p, b"two").expect("rewrite");
        assert_ne!(key(&p).1, first, "rewritten in place");
        fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn cache_dir_from_the_environment() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(dir_from_env(env(&[("HOME", "/h")])), Some(PathBuf::from("/h/.cache/elfin/initrd")));
        assert_eq!(
            dir_from_env(env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")])),
            Some(PathBuf::from("/x/elfin/initrd"))
        );
        assert_eq!(
            dir_from_env(env(&[("XDG_CACHE_HOME", "/x"), ("ELFIN_CACHE", "/e")])),
            Some(PathBuf::from("/e/initrd"))
        );
        assert_eq!(dir_from_env(env(&[("HOME", "rel")])), None, "a relative path is not used");
        assert_eq!(dir_from_env(env(&[])), None);
    }

    #[test]
    fn store_then_lookup_and_never_a_cut_entry() {
        let d = scratch("store");
        let cache = Cache::new(d.clone(), LIMIT);
        let mut key = Key::new();
        key.bytes("arg", b"x");
        assert!(cache.lookup(&key).is_none());
        let bytes = archive(b"hello");
        let e = cache
            .store(&key, |mut w| {
                w.write_all(&bytes)?;
                Ok(w)
            })
            .expect("store");
        assert_eq!(fs::read(&e.path).expect("read"), bytes);
        assert_eq!(e.size, bytes.len() as u64);
        let hit = cache.lookup(&key).expect("hit");
        assert_eq!(hit.path, e.path);
        // A second store of the same key (a concurrent run) uses the first.
        let again = cache.store(&key, |mut w| {
            w.write_all(&bytes)?;
            Ok(w)
        });
        assert_eq!(again.expect("store again").path, e.path);
        // No temporary file is left.
        let names: Vec<_> = fs::read_dir(&d).expect("ls").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, [OsString::from(key.name())]);
        drop((e, hit));
        // Cut short: not used, and removed.
        fs::write(d.join(key.name()), &bytes[..bytes.len() - 8]).expect("cut");
        assert!(cache.lookup(&key).is_none(), "a cut entry is never used");
        assert!(!d.join(key.name()).exists(), "and is removed");
        // A failed write leaves nothing behind.
        let failed = cache.store(&key, |_| Err(io::Error::other("disk full")));
        assert!(failed.is_err());
        assert_eq!(fs::read_dir(&d).expect("ls").count(), 0);
        // Unusable keys never touch the cache.
        key.refuse();
        assert!(cache.lookup(&key).is_none());
        fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn eviction_keeps_the_limit_and_spares_entries_in_use() {
        let d = scratch("evict");
        let body = vec![7u8; 1000];
        let cache = Cache::new(d.clone(), 2500);
        let store = |n: u8| {
            let mut k = Key::new();
            k.num("n", u64::from(n));
            let e = cache
                .store(&k, |mut w| {
                    w.write_all(&archive(&body))?;
                    Ok(w)
                })
                .expect("store");
            // Pretend it was last used long ago, older for smaller n.
            let f = File::options().write(true).open(&e.path).expect("open");
            f.set_modified(old() - Duration::from_secs(100 - u64::from(n))).expect("mtime");
            (k, e)
        };
        let (k0, e0) = store(0); // in use all along: never evicted
        let (k1, e1) = store(1);
        drop(e1);
        let (k2, e2) = store(2);
        drop(e2);
        let (k3, _e3) = store(3);
        // 4 entries of ~1.1 KB against 2,500 bytes: the oldest unused ones go.
        assert!(cache.lookup(&k0).is_some(), "in use");
        assert!(cache.lookup(&k1).is_none(), "oldest unused evicted");
        assert!(cache.lookup(&k3).is_some(), "newest kept");
        let total: u64 = fs::read_dir(&d).expect("ls").flatten().map(|e| e.metadata().expect("m").len()).sum();
        assert!(total <= 2500 || cache.lookup(&k2).is_none(), "over the limit: {total}");
        drop(e0);
        fs::remove_dir_all(&d).expect("cleanup");
    }
}
