//! Guest tests of SMP: programs whose threads synchronise across CPUs, run at
//! `--smp 1`, `2` and `4` and compared with the same binary run natively
//! (static-pie-apps/src/smp_sync.c for glibc and musl, `rustprobe sync`,
//! `goprobe sync`); and what the system reports about its CPUs, compared with
//! the CPU count the VM was given. The probes print nothing that depends on
//! timing or on the CPU count, so every CPU count compares with the host.

use std::path::Path;

use elfin_tests::*;

const ARCH: &str = "x86_64";

/// Runs `bin argv` natively and in a guest with `cpus` CPUs; compares them.
fn compare(bin: &Path, argv: &[&str], cpus: u32, env: &[(&str, &str)]) {
    let a = args(argv);
    let native = run_native(bin, None, &a, env, None);
    assert!(native.status == 0, "the native reference run failed:\n{}", native.describe());
    let mut opts = ElfinOpts::default();
    for (k, v) in env {
        opts = opts.env(k, v);
    }
    opts.extra.push("--smp".into());
    opts.extra.push(cpus.to_string().into());
    let guest = run_elfin(bin, &a, &opts);
    assert_same_explained(&native, &guest);
}

/// One section of smp_sync on `cpus` CPUs.
fn section(libc: &str, sec: &str, cpus: u32) {
    // 100,000 threads natively and in the guest (the figure); the
    // other sections are sized in the probe.
    compare(&app(ARCH, libc, "smp_sync"), &[sec], cpus, &[]);
}

/// `smp_sync SECTION` for glibc at 1, 2 and 4 CPUs, and musl at 2:
/// `glibc::mutex::smp4`, ...
macro_rules! smp_tests {
    ($($sec:ident),* $(,)?) => {
        mod glibc { $( mod $sec {
            #[test] fn smp1() { crate::section("glibc", stringify!($sec), 1) }
            #[test] fn smp2() { crate::section("glibc", stringify!($sec), 2) }
            #[test] fn smp4() { crate::section("glibc", stringify!($sec), 4) }
        } )* }
        mod musl { $( mod $sec {
            #[test] fn smp2() { crate::section("musl", stringify!($sec), 2) }
        } )* }
    };
}

smp_tests! { mutex, atomics, condvar, rwlock, barrier, yielding, signals, exitgroup, futex, threads, forks, mmap, remap, affinity }

/// Rust std threads (`Arc<Mutex>`, mpsc, RwLock, Barrier, Condvar, scope).
#[test]
fn rust_sync() {
    for cpus in [1, 2, 4] {
        compare(&app(ARCH, "rust", "rustprobe"), &["sync"], cpus, &[]);
    }
}

/// Go: 10,000 goroutines, channels, WaitGroup, mutexes, Cond and timers at
/// GOMAXPROCS = the CPU count.
#[test]
fn go_sync() {
    for cpus in [1, 2, 4] {
        compare(&app(ARCH, "go", "goprobe"), &["sync"], cpus, &[]);
    }
}

/// Runs `bin argv` in a guest with `cpus` CPUs; returns its stdout.
fn guest_stdout(bin: &Path, argv: &[&str], cpus: u32) -> String {
    let mut opts = ElfinOpts::default();
    opts.extra.push("--smp".into());
    opts.extra.push(cpus.to_string().into());
    let out = run_elfin(bin, &args(argv), &opts);
    assert!(out.status == 0, "guest run failed:\n{}", out.describe());
    out.stdout_str()
}

/// sysconf, the affinity mask, /proc/cpuinfo, /proc/stat and
/// /sys/devices/system/cpu/{online,possible,present} all say N; so do the
/// Rust and Go runtimes, which size their thread pools from them.
#[test]
fn cpu_count_reported() {
    for cpus in [1u32, 2, 4] {
        let range = if cpus == 1 { "0".to_owned() } else { format!("0-{}", cpus - 1) };
        let want = format!(
            "cpus: onln {cpus} conf {cpus} affinity {cpus} cpuinfo {cpus} stat {cpus} online {range} possible {range} \
             present {range}\n== done\n"
        );
        for libc in ["glibc", "musl"] {
            assert_eq!(guest_stdout(&app(ARCH, libc, "smp_sync"), &["cpus"], cpus), want, "{libc} at --smp {cpus}");
        }
        let go = guest_stdout(&app(ARCH, "go", "goprobe"), &["cpus"], cpus);
        assert_eq!(go, format!("cpus: {cpus} gomaxprocs: {cpus}\n"), "Go at --smp {cpus}");
        let rust = guest_stdout(&app(ARCH, "rust", "rustprobe"), &["cpus"], cpus);
        assert!(rust.contains(&format!("cpus: available_parallelism {cpus}\n")), "Rust at --smp {cpus}: {rust}");
    }
}

/// The kernel brings every CPU of the VM online, on each x86_64 machine type
/// (microvm without ACPI finds them in the MP table, q35 in the MADT).
#[test]
fn all_cpus_come_online() {
    for machine in ["microvm", "q35"] {
        let mut opts = ElfinOpts::default();
        for a in ["--smp", "4", "--machine", machine, "--log-level", "debug"] {
            opts.extra.push(a.into());
        }
        let out = run_elfin(&app(ARCH, "glibc", "hello"), &[], &opts);
        let log = out.kernel_str();
        for cpu in 1..4 {
            assert!(log.contains(&format!("CPU {cpu} online")), "{machine}: CPU {cpu} did not come online:\n{log}");
        }
        assert!(out.status == 0, "{machine}:\n{}", out.describe());
    }
}

/// `maxcpus=N` on the kernel command line limits the CPUs used.
#[test]
fn maxcpus_limits() {
    let mut opts = ElfinOpts::default();
    for a in ["--smp", "4", "--kernel-arg", "maxcpus=2"] {
        opts.extra.push(a.into());
    }
    let out = run_elfin(&app(ARCH, "glibc", "smp_sync"), &args(&["cpus"]), &opts);
    assert!(out.stdout_str().starts_with("cpus: onln 2 conf 2 affinity 2"), "{}", out.describe());
}
