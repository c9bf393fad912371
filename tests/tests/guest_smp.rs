//! Guest tests of SMP: programs whose threads synchronise across CPUs, run at
//! `--smp 1`, `2` and `4` and compared with the same binary run natively
//! (static-pie-apps/src/smp_sync.c for glibc and musl, `rustprobe sync`,
//! `goprobe sync`); and what the system reports about its CPUs, compared with
//! the CPU count the VM was given. The probes print nothing that depends on
//! timing or on the CPU count, so every CPU count compares with the host.
//!
//! The arm64 guests (`arm64::…`, QEMU `virt` with a GICv3, and a GICv2 where
//! said) run the arm64 builds of the same probes, compared with the native run
//! of their x86_64 builds: their output depends on neither the arch nor the
//! C library, and the host runs x86_64 natively (qemu-user would be the only
//! other reference, and a slow one for 100,000 threads).

use std::path::Path;

use elfin_tests::*;

const ARCH: &str = "x86_64";
const ARM64: &str = "aarch64";

/// QEMU options that give an arm64 guest a GICv2 (a later `-M` overrides the
/// CLI's gic-version=3).
const GICV2: &[&str] = &["--qemu-arg=-M", "--qemu-arg=virt,gic-version=2"];

/// Runs `bin argv` natively and in a guest with `cpus` CPUs; compares them.
fn compare(bin: &Path, argv: &[&str], cpus: u32, env: &[(&str, &str)]) {
    compare_on(ARCH, &[], bin, argv, cpus, env);
}

/// Runs x86_64 program `native_bin argv` natively and the same program built for
/// `arch` in a guest with `cpus` CPUs and the CLI options `extra`; compares them.
fn compare_on(arch: &str, extra: &[&str], native_bin: &Path, argv: &[&str], cpus: u32, env: &[(&str, &str)]) {
    let a = args(argv);
    let native = run_native(native_bin, None, &a, env, None);
    assert!(native.status == 0, "the native reference run failed:\n{}", native.describe());
    let mut opts = ElfinOpts::default().arch(arch);
    for (k, v) in env {
        opts = opts.env(k, v);
    }
    opts.extra.push("--smp".into());
    opts.extra.push(cpus.to_string().into());
    opts.extra.extend(extra.iter().map(|s| (*s).into()));
    let guest_bin = guest_build(arch, native_bin);
    let guest = run_elfin(&guest_bin, &a, &opts);
    assert_same_explained(&native, &guest);
}

/// The build for `arch` of the x86_64 program at `bin` (…/out/x86_64/KIND/NAME).
fn guest_build(arch: &str, bin: &Path) -> std::path::PathBuf {
    let name = bin.file_name().and_then(|n| n.to_str()).expect("program name");
    let kind = bin.parent().and_then(Path::file_name).and_then(|n| n.to_str()).expect("program kind");
    app(arch, kind, name)
}

/// One section of smp_sync on `cpus` CPUs.
fn section(libc: &str, sec: &str, cpus: u32) {
    // 100,000 threads natively and in the guest (the figure); the
    // other sections are sized in the probe.
    compare(&app(ARCH, libc, "smp_sync"), &[sec], cpus, &[]);
}

/// One section of the arm64 smp_sync on `cpus` CPUs, against the x86_64 one natively.
fn arm64_section(libc: &str, sec: &str, cpus: u32, extra: &[&str]) {
    compare_on(ARM64, extra, &app(ARCH, libc, "smp_sync"), &[sec], cpus, &[]);
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
        /// arm64: glibc at 1, 2 and 4 CPUs with a GICv3; musl at 4 CPUs with a
        /// GICv2.
        mod arm64 {
            mod glibc { $( mod $sec {
                #[test] fn smp1() { crate::arm64_section("glibc", stringify!($sec), 1, &[]) }
                #[test] fn smp2() { crate::arm64_section("glibc", stringify!($sec), 2, &[]) }
                #[test] fn smp4() { crate::arm64_section("glibc", stringify!($sec), 4, &[]) }
            } )* }
            mod musl { $( mod $sec {
                #[test] fn smp4_gicv2() { crate::arm64_section("musl", stringify!($sec), 4, crate::GICV2) }
            } )* }
        }
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

/// The same on arm64, with a GICv3 and (at 4 CPUs) a GICv2.
#[test]
fn arm64_rust_sync() {
    let bin = app(ARCH, "rust", "rustprobe");
    for cpus in [1, 2, 4] {
        compare_on(ARM64, &[], &bin, &["sync"], cpus, &[]);
    }
    compare_on(ARM64, GICV2, &bin, &["sync"], 4, &[]);
}

/// Go: 10,000 goroutines, channels, WaitGroup, mutexes, Cond and timers at
/// GOMAXPROCS = the CPU count.
#[test]
fn go_sync() {
    for cpus in [1, 2, 4] {
        compare(&app(ARCH, "go", "goprobe"), &["sync"], cpus, &[]);
    }
}

/// The same on arm64, with a GICv3 and (at 4 CPUs) a GICv2.
#[test]
fn arm64_go_sync() {
    let bin = app(ARCH, "go", "goprobe");
    for cpus in [1, 2, 4] {
        compare_on(ARM64, &[], &bin, &["sync"], cpus, &[]);
    }
    compare_on(ARM64, GICV2, &bin, &["sync"], 4, &[]);
}

/// Runs `bin argv` in a guest with `cpus` CPUs; returns its stdout.
fn guest_stdout(bin: &Path, argv: &[&str], cpus: u32) -> String {
    guest_stdout_on(ARCH, &[], bin, argv, cpus)
}

/// Runs `bin argv` in an `arch` guest with `cpus` CPUs and the CLI options
/// `extra`; returns its stdout.
fn guest_stdout_on(arch: &str, extra: &[&str], bin: &Path, argv: &[&str], cpus: u32) -> String {
    let mut opts = ElfinOpts::default().arch(arch);
    opts.extra.push("--smp".into());
    opts.extra.push(cpus.to_string().into());
    opts.extra.extend(extra.iter().map(|s| (*s).into()));
    let out = run_elfin(bin, &args(argv), &opts);
    assert!(out.status == 0, "guest run failed:\n{}", out.describe());
    out.stdout_str()
}

/// What the C libraries see as the CPU count of a guest with `cpus` CPUs.
fn cpus_line(cpus: u32) -> String {
    let range = if cpus == 1 { "0".to_owned() } else { format!("0-{}", cpus - 1) };
    format!(
        "cpus: onln {cpus} conf {cpus} affinity {cpus} cpuinfo {cpus} stat {cpus} online {range} possible {range} \
         present {range}\n== done\n"
    )
}

/// sysconf, the affinity mask, /proc/cpuinfo, /proc/stat and
/// /sys/devices/system/cpu/{online,possible,present} all say N; so do the
/// Rust and Go runtimes, which size their thread pools from them.
#[test]
fn cpu_count_reported() {
    for cpus in [1u32, 2, 4] {
        let want = cpus_line(cpus);
        for libc in ["glibc", "musl"] {
            assert_eq!(guest_stdout(&app(ARCH, libc, "smp_sync"), &["cpus"], cpus), want, "{libc} at --smp {cpus}");
        }
        let go = guest_stdout(&app(ARCH, "go", "goprobe"), &["cpus"], cpus);
        assert_eq!(go, format!("cpus: {cpus} gomaxprocs: {cpus}\n"), "Go at --smp {cpus}");
        let rust = guest_stdout(&app(ARCH, "rust", "rustprobe"), &["cpus"], cpus);
        assert!(rust.contains(&format!("cpus: available_parallelism {cpus}\n")), "Rust at --smp {cpus}: {rust}");
    }
}

/// The same on arm64 (`virt`, the CPUs from the device tree) with either GIC.
#[test]
fn arm64_cpu_count_reported() {
    for (cpus, gic) in [(1u32, &[][..]), (2, &[][..]), (4, &[][..]), (4, GICV2)] {
        let want = cpus_line(cpus);
        for libc in ["glibc", "musl"] {
            let got = guest_stdout_on(ARM64, gic, &app(ARM64, libc, "smp_sync"), &["cpus"], cpus);
            assert_eq!(got, want, "{libc} at --smp {cpus} {gic:?}");
        }
        let go = guest_stdout_on(ARM64, gic, &app(ARM64, "go", "goprobe"), &["cpus"], cpus);
        assert_eq!(go, format!("cpus: {cpus} gomaxprocs: {cpus}\n"), "Go at --smp {cpus} {gic:?}");
        let rust = guest_stdout_on(ARM64, gic, &app(ARM64, "rust", "rustprobe"), &["cpus"], cpus);
        assert!(
            rust.contains(&format!("cpus: available_parallelism {cpus}\n")),
            "Rust at --smp {cpus} {gic:?}: {rust}"
        );
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

/// Every CPU of an arm64 `virt` VM comes online (PSCI CPU_ON), with a GICv3
/// and with a GICv2, and the program's threads run on all of them.
#[test]
fn arm64_all_cpus_come_online() {
    for gic in [&[][..], GICV2] {
        let mut opts = ElfinOpts::default().arch(ARM64);
        for a in ["--smp", "4", "--log-level", "debug"].iter().chain(gic) {
            opts.extra.push(a.into());
        }
        let out = run_elfin(&app(ARM64, "glibc", "smp_sync"), &args(&["cpus"]), &opts);
        let log = out.kernel_str();
        for cpu in 1..4 {
            assert!(log.contains(&format!("CPU {cpu} online")), "{gic:?}: CPU {cpu} did not come online:\n{log}");
        }
        assert!(out.status == 0 && out.stdout_str() == cpus_line(4), "{gic:?}:\n{}", out.describe());
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

/// The same on arm64.
#[test]
fn arm64_maxcpus_limits() {
    let mut opts = ElfinOpts::default().arch(ARM64);
    for a in ["--smp", "4", "--kernel-arg", "maxcpus=2"] {
        opts.extra.push(a.into());
    }
    let out = run_elfin(&app(ARM64, "glibc", "smp_sync"), &args(&["cpus"]), &opts);
    assert!(out.stdout_str().starts_with("cpus: onln 2 conf 2 affinity 2"), "{}", out.describe());
}
