//! /sys: what programs read to count the CPUs (glibc's get_nprocs and
//! get_nprocs_conf, and the runtimes built on them): the online, possible and
//! present lists and a directory per CPU, made once the CPUs are up.
use alloc::format;
use alloc::string::String;

use elfin_shim::uapi::stat_mode::*;

use super::{mkdir_p, ramfs, Inode, Meta};

/// A directory of sysfs (programs cannot change its names).
fn sys_dir() -> alloc::sync::Arc<dyn Inode> {
    ramfs::Dir::sealed(Meta::new(S_IFDIR | 0o755), None)
}

/// A read-only attribute with `text`.
fn file(text: String) -> alloc::sync::Arc<dyn Inode> {
    let time = elfin_shim::uapi::Timespec { tv_sec: (crate::time::file_time_ns() / 1_000_000_000) as i64, tv_nsec: 0 };
    ramfs::File::attribute(
        alloc::boxed::Box::leak(text.into_bytes().into_boxed_slice()),
        Meta::at(S_IFREG | 0o444, 0, 0, time),
    )
}

/// Creates /sys/devices/system/cpu for `n` CPUs (numbered from 0): when the
/// initrd has no /sys, as a directory made at the first look inside.
pub fn populate_cpus(n: usize) {
    let n = n.max(1);
    let root = super::root();
    if root.lookup(b"sys").is_err() {
        let sys: alloc::sync::Arc<dyn Inode> = ramfs::Dir::sealed(
            Meta::new(S_IFDIR | 0o755),
            Some(alloc::boxed::Box::new(move |sys: &mut ramfs::Entries| {
                let devices = sys_dir();
                let system = sys_dir();
                let _ = system.insert(b"cpu", cpu_dir(n));
                let _ = devices.insert(b"system", system);
                let devices: alloc::sync::Arc<dyn Inode> = devices;
                sys.insert(b"devices".to_vec(), devices);
            })),
        );
        let _ = root.insert(b"sys", sys);
        return;
    }
    let dir = mkdir_p(b"/sys/devices/system/cpu");
    fill_cpu_dir(&dir, n);
}

/// A /sys/devices/system/cpu directory for `n` CPUs.
fn cpu_dir(n: usize) -> alloc::sync::Arc<dyn Inode> {
    let dir = sys_dir();
    fill_cpu_dir(&dir, n);
    dir
}

fn fill_cpu_dir(dir: &alloc::sync::Arc<dyn Inode>, n: usize) {
    let list = if n == 1 { String::from("0\n") } else { format!("0-{}\n", n - 1) };
    for name in [&b"online"[..], b"possible", b"present"] {
        let _ = dir.insert(name, file(list.clone()));
    }
    let _ = dir.insert(b"kernel_max", file(String::from("63\n")));
    let _ = dir.insert(b"offline", file(String::from("\n")));
    for c in 0..n {
        let cpu = sys_dir();
        if c > 0 {
            // The boot CPU cannot be taken offline, so Linux gives it no `online`.
            let _ = cpu.insert(b"online", file(String::from("1\n")));
        }
        let _ = dir.insert(format!("cpu{c}").as_bytes(), cpu);
    }
}
