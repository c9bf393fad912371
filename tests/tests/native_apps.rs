//! Sanity of the guest programs themselves, natively on the host (no elfin
//! needed): they are static-pie, they run, and their output is deterministic
//! and what the guest tests expect. A guest test can only be trusted if its
//! native reference is right.

use std::ffi::OsStr;
use std::process::Command;

use elfin_tests::*;

const ARCH: &str = "x86_64";
const C_PROGRAMS: [&str; 15] = [
    "hello",
    "auxv_probe",
    "enosys",
    "nullderef",
    "exitcode",
    "cat_stdin",
    "files",
    "proc_fork",
    "proc_wait",
    "proc_pgrp",
    "proc_pipe",
    "proc_exec",
    "proc_spawn",
    "proc_churn",
    "proc_bench",
];
/// The process probes with `== SECTION` output (guest_proc.rs).
const PROC_PROBES: [&str; 6] = ["proc_fork", "proc_wait", "proc_pgrp", "proc_pipe", "proc_exec", "proc_spawn"];

fn file_says(path: &std::path::Path) -> String {
    let out = Command::new("file").arg("-L").arg(path).output().expect("run file(1)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_app_is_static_pie() {
    let mut bins = vec![app(ARCH, "rust", "rustprobe"), app(ARCH, "debian", "busybox"), app(ARCH, "debian", "lua5.4")];
    for libc in ["glibc", "musl"] {
        bins.extend(C_PROGRAMS.iter().map(|p| app(ARCH, libc, p)));
    }
    for b in &bins {
        let desc = file_says(b);
        assert!(desc.contains("static-pie linked") && desc.contains("x86-64"), "{desc}");
    }
    let dynamic = file_says(&app(ARCH, "invalid", "hello-dynamic"));
    assert!(dynamic.contains("dynamically linked"), "{dynamic}");
}

#[test]
fn c_probes_behave_natively() {
    for libc in ["glibc", "musl"] {
        let hello = run_native(&app(ARCH, libc, "hello"), None, &[], &[], None);
        assert_eq!(
            (hello.status, hello.stdout_str(), hello.stderr_str()),
            (0, "hello from a static-pie program\n".into(), "hello on stderr\n".into())
        );

        let exit = run_native(&app(ARCH, libc, "exitcode"), None, &args(&["42"]), &[], None);
        assert_eq!(exit.status, 42);

        let data = pseudo_random_bytes(100_000, 1);
        let cat = run_native(&app(ARCH, libc, "cat_stdin"), None, &[], &[], Some(&data));
        assert!(cat.stdout == data && cat.stderr_str() == "cat_stdin: 100000 bytes\n", "{}", cat.describe());

        let null = run_native(&app(ARCH, libc, "nullderef"), None, &[], &[], None);
        assert_eq!((null.status, null.stdout_str()), (139, "before the NULL dereference\n".into()));

        let enosys = run_native(&app(ARCH, libc, "enosys"), None, &[], &[], None);
        assert_eq!(enosys.status, 0, "{}", enosys.describe());
        assert!(enosys.stdout_str().contains("still running"), "{}", enosys.describe());

        let dir = scratch_dir("native-files");
        let f = dir.join("f");
        std::fs::write(&f, "0123456789\nabc\n").expect("write");
        let files = run_native(&app(ARCH, libc, "files"), None, &[f.as_os_str()], &[], None);
        let s = files.stdout_str();
        assert!(
            files.status == 0
                && !s.contains(": NO")
                && s.contains("size 15")
                && s.contains("getcwd: /\n")
                && s.contains("open missing file: -1 ENOENT"),
            "{}",
            files.describe()
        );
    }
}

#[test]
fn auxv_probe_natively() {
    for libc in ["glibc", "musl"] {
        let bin = app(ARCH, libc, "auxv_probe");
        let a = run_native(&bin, None, &args(&["x", ""]), &[("K", "v")], None);
        let b = run_native(&bin, None, &args(&["x", ""]), &[("K", "v")], None);
        let s = a.stdout_str();
        assert_eq!(a.status, 0, "{}", a.describe());
        // All self-checks hold on Linux.
        assert!(!s.contains(": NO") && s.contains("stack 16-byte aligned at main: ok"), "{s}");
        for line in [
            "argc: 3\n",
            "argv[0]: /app/auxv_probe\n",
            "argv[2]: \n",
            "env: HOME=/\n",
            "env: K=v\n",
            "env: PATH=/usr/local/bin:/usr/bin:/bin\n",
            "envc: 3\n",
            "AT_PAGESZ: 4096\n",
            "AT_PLATFORM: x86_64\n",
            "AT_SECURE: 0\n",
            "AT_BASE is zero (no interpreter): yes\n",
            "AT_PHDR - base: 0x40\n",
        ] {
            assert!(s.contains(line), "missing {line:?} in\n{s}");
        }
        // Deterministic apart from the addr: lines, which Linux randomizes.
        assert_eq!(drop_lines(&s, &["addr:"]), drop_lines(&b.stdout_str(), &["addr:"]));
        assert_ne!(addr_of(&s, "code"), addr_of(&b.stdout_str(), "code"), "host ASLR off?");
    }
}

#[test]
fn third_party_natively() {
    let bb = app(ARCH, "debian", "busybox");
    let out = run_native(&bb, None, &args(&["sort", "-u"]), &[], Some(b"b\na\nb\n"));
    assert_eq!(out.stdout_str(), "a\nb\n");
    let out = run_native(&bb, None, &args(&["md5sum"]), &[], Some(b"abc"));
    assert_eq!(out.stdout_str(), "900150983cd24fb0d6963f7d28e17f72  -\n");

    let lua = app(ARCH, "debian", "lua5.4");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("probe.lua");
    let a = run_native(&lua, None, &[script.as_os_str()], &[], None);
    let b = run_native(&lua, None, &[script.as_os_str()], &[], None);
    assert!(a.status == 0 && a.stdout_str().contains("coroutine 2 42\n"), "{}", a.describe());
    assert_eq!(a.stdout, b.stdout, "lua probe output is not deterministic");

    let rp = app(ARCH, "rust", "rustprobe");
    let out = run_native(&rp, None, &args(&["threads"]), &[("Z", "1")], None);
    assert_eq!(
        out.stdout_str(),
        "args: 2\narg[0]: /app/rustprobe\narg[1]: threads\nenv: HOME=/\nenv: PATH=/usr/local/bin:/usr/bin:/bin\n\
         env: Z=1\ncwd: /\nhashmap: 1000 entries, sum of squares 332833500\nthreads: 4 joined, total 7998000\n"
    );
}

/// The process probes are good references: they complete (`== done`, status 0,
/// nothing on stderr), print the same on every run and with either C library,
/// and their self-checks hold on Linux.
#[test]
fn proc_probes_natively() {
    for probe in PROC_PROBES {
        let run = |libc: &str| run_native(&app(ARCH, libc, probe), None, &[], &[], None);
        let first = run("glibc");
        assert!(
            first.status == 0 && first.stdout_str().ends_with("== done\n") && first.stderr.is_empty(),
            "{}",
            first.describe()
        );
        for (label, other) in [("glibc, run 2", run("glibc")), ("musl", run("musl")), ("musl, run 2", run("musl"))] {
            Comparison::labeled("glibc", label).outputs(&first, &other).finish(Some(&first), &other);
        }
        let s = first.stdout_str();
        let expected: &[&str] = match probe {
            "proc_fork" => &[
                "child: getppid() == parent: yes\n",
                "fork() returned the child's pid: yes\n",
                "NULL store: waitid OK: CLD_KILLED, si_status SIGSEGV\n",
                "child sees: global 2, stack 20, heap child, private pages ccc0, shared S",
                "main-thread child: Threads in /proc/self/status: 1\n",
                "waitpid without __WALL: ECHILD\n",
                "clone3 child: exited 12\n",
                "vfork: child created, child's write seen on return: yes\n",
            ],
            "proc_wait" => &[
                "exited, unreaped child state: Z\n",
                "grandchild: parent was the child: yes; after it exited, parent is this process: yes\n",
                "SA_NOCLDWAIT: wait blocks until the child is gone, then: ECHILD\n",
                "then SIGCONT: yes, killed by SIGTERM\n",
            ],
            "proc_pgrp" => &[
                "parent: setpgid(exec'd child, 0): EACCES\n",
                "k: sender excluded: yes\n",
                "root process not signalled: yes\n",
                "no subreaper: d: continued, SIGHUP pending: yes\n",
            ],
            "proc_pipe" => {
                &["400 whole chunks of 400, each writer in order: yes\n", "stage 3: 1000 lines, sum 3004501500\n"]
            }
            "proc_exec" => &[
                "  argv[1] \"optarg\"\n  argv[2] \"$T/script-arg\"\n",
                "file open for writing: ETXTBSY\n",
                "  pending SIGTERM kept: yes\n",
                "  new image: Threads 1\n",
                "final image: pid unchanged: yes\n",
            ],
            _ => &["posix_spawn, SETSID:\n", "popen with mode \"x\": EINVAL\n"],
        };
        for e in expected {
            assert!(s.contains(e), "{probe}: missing {e:?} in\n{s}");
        }
        assert!(!s.contains("(wrong)"), "{probe}:\n{s}");
    }
}

/// The churn probe and the benchmark run natively (small counts).
#[test]
fn proc_churn_and_bench_natively() {
    for libc in ["glibc", "musl"] {
        let out = run_native(&app(ARCH, libc, "proc_churn"), None, &args(&["2000", "200", "20"]), &[], None);
        assert_eq!(
            (out.status, out.stdout_str()),
            (
                0,
                "threads: 2000 created and joined, ok\nforks: 200 waited for, ok\nexecs: 20 waited for, ok\n\
                 no child left: ECHILD\nok\n"
                    .to_owned()
            ),
            "{}",
            out.describe()
        );
        let hello = app(ARCH, libc, "hello");
        let out = run_native(&app(ARCH, libc, "proc_bench"), None, &[OsStr::new("20"), hello.as_os_str()], &[], None);
        let s = out.stdout_str();
        for fig in ["fork ", "vfork ", "spawn ", "forkexec ", "exec ", "fork64m ", "cow_faults ", "cow_pages "] {
            assert!(s.lines().any(|l| l.starts_with(fig)), "{libc} proc_bench: no {fig:?} line in\n{}", out.describe());
        }
        assert!(!s.contains(" - ("), "{}", out.describe());
    }
}
