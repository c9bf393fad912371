//! Real programs that start processes: busybox `sh -c` scripts (pipelines,
//! command substitution, xargs, find -exec, zcat, awk's system(), subshells,
//! background jobs and wait) and Lua's io.popen/os.execute, each compared with
//! the same program run natively.
//!
//! Both sides run busybox's own applets: the guest gets busybox and a symlink
//! per applet as /bin (`-v DIR:/bin`, `PATH=/bin`), the native run the same
//! directory as its PATH. The one difference: `system()` and `popen()` (awk's
//! system, Lua) run /bin/sh, which natively is the host's shell; the commands
//! given to it are simple enough to behave the same in any POSIX shell.

use std::ffi::OsStr;

use elfin_tests::*;

const ARCH: &str = "x86_64";

/// Runs `prog argv` natively (PATH = the busybox directory) and in the guest
/// (busybox as /bin, PATH=/bin); both must agree. Returns the guest run.
fn both(prog: &str, argv: &[&str], stdin: Option<&[u8]>) -> Output {
    let bin = match prog {
        "busybox" => app(ARCH, "debian", "busybox"),
        _ => app(ARCH, "debian", prog),
    };
    let dir = busybox_bin(ARCH);
    let a = args(argv);
    let path = dir.to_string_lossy().into_owned();
    let native = run_native(&bin, None, &a, &[("PATH", &path)], stdin);
    let mut opts = ElfinOpts::default().volume(&dir, "/bin").env("PATH", "/bin");
    opts.stdin = stdin.map(<[u8]>::to_vec);
    let guest = run_elfin(&bin, &a, &opts);
    assert_same_explained(&native, &guest);
    guest
}

/// `busybox sh -c SCRIPT`, natively and in the guest; returns the guest run.
fn sh(script: &str) -> Output {
    both("busybox", &["sh", "-c", script], None)
}

/// The native run of a script, checked by hand: a test is only as good as its
/// reference.
fn native_sh(script: &str) -> Output {
    let dir = busybox_bin(ARCH);
    let path = dir.to_string_lossy().into_owned();
    run_native(
        &app(ARCH, "debian", "busybox"),
        None,
        &[OsStr::new("sh"), OsStr::new("-c"), OsStr::new(script)],
        &[("PATH", &path)],
        None,
    )
}

const PIPELINE: &str = "seq 1 100 | grep 7 | sort -r | head -n 5 | tr '\\n' ' '; echo; \
    echo abc | tr a-c A-C | rev; \
    yes | head -c 1048576 | wc -c; \
    seq 5 | while read n; do echo $((n * n)); done | paste -s -d+; \
    false | true; echo \"pipeline status $?\"; \
    true | false; echo \"pipeline status $?\"";

#[test]
fn pipelines() {
    let n = native_sh(PIPELINE);
    assert_eq!(
        n.stdout_str(),
        "97 87 79 78 77 \nCBA\n1048576\n1+4+9+16+25\npipeline status 0\npipeline status 1\n",
        "native reference:\n{}",
        n.describe()
    );
    sh(PIPELINE);
}

const SUBST: &str = "x=$(echo hello | tr a-z A-Z); echo \"got $x\"; \
    n=$(seq 1 10 | wc -l); echo \"$n lines\"; \
    echo \"nested $(echo $(echo deep | rev))\"; \
    echo \"backquotes `expr 6 \\* 7`\"; \
    s=$(exit 4); echo \"status of a substitution: $?\"; \
    echo \"sum $(( $(seq 1 100 | paste -s -d+) ))\"";

#[test]
fn command_substitution() {
    let n = native_sh(SUBST);
    assert_eq!(
        n.stdout_str(),
        "got HELLO\n10 lines\nnested peed\nbackquotes 42\nstatus of a substitution: 4\nsum 5050\n",
        "native reference:\n{}",
        n.describe()
    );
    sh(SUBST);
}

const XARGS_FIND: &str = "seq 1 12 | xargs -n 5 echo; \
    printf 'a\\nb c\\n' | xargs -I{} sh -c 'echo \"item [{}]\"'; \
    echo 1 2 3 | xargs sh -c 'echo $# args; exit 3'; echo \"xargs status $?\"; \
    d=$(mktemp -d); mkdir -p $d/a/b; echo one > $d/a/1.txt; echo two > $d/a/b/2.txt; echo x > $d/3.log; \
    cd $d && find . -name '*.txt' -exec cat {} \\; | sort; \
    find . -type f -exec wc -c {} + | sort; \
    find . -type f | sort | xargs md5sum; \
    cd / && rm -rf $d && echo cleaned";

#[test]
fn xargs_and_find_exec() {
    let n = native_sh(XARGS_FIND);
    let s = n.stdout_str();
    assert!(
        n.status == 0
            && s.starts_with(
                "1 2 3 4 5\n6 7 8 9 10\n11 12\nitem [a]\nitem [b c]\n2 args\nxargs status 123\none\ntwo\n"
            )
            && s.ends_with("cleaned\n"),
        "native reference:\n{}",
        n.describe()
    );
    sh(XARGS_FIND);
}

const ZCAT: &str = "d=$(mktemp -d); seq 1 1000 > $d/n; gzip -c $d/n > $d/n.gz; rm $d/n; \
    zcat $d/n.gz | md5sum; gzip -dc < $d/n.gz | tail -n 1; gunzip $d/n.gz && wc -l < $d/n; \
    echo hello | gzip | zcat; \
    echo hello | gzip | gzip -t && echo valid; \
    rm -rf $d";

#[test]
fn zcat_of_a_gzip_made_in_the_script() {
    let n = native_sh(ZCAT);
    assert!(
        n.status == 0 && n.stdout_str().ends_with("1000\n1000\nhello\nvalid\n"),
        "native reference:\n{}",
        n.describe()
    );
    sh(ZCAT);
}

const AWK: &str = "awk 'BEGIN { system(\"echo hi from system\"); r = system(\"exit 3\"); print \"r=\" r }'; \
    awk 'BEGIN { while ((\"echo a; echo b\" | getline l) > 0) print \"got \" l; close(\"echo a; echo b\") }'; \
    printf '3\\n1\\n2\\n' | awk '{ print $1 * 10 | \"sort -n\" } END { close(\"sort -n\"); print \"end\" }'";

#[test]
fn awk_system_and_pipes() {
    let n = native_sh(AWK);
    assert_eq!(
        n.stdout_str(),
        "hi from system\nr=3\ngot a\ngot b\n10\n20\n30\nend\n",
        "native reference:\n{}",
        n.describe()
    );
    sh(AWK);
}

const SUBSHELLS: &str = "(cd /tmp && pwd); pwd; x=1; (x=2; echo \"in $x\"); echo \"out $x\"; \
    (exit 3); echo \"subshell status $?\"; \
    { echo grouped; echo commands; } | wc -l; \
    sh -c 'exit 7'; echo \"child shell $?\"; \
    sh -c 'kill -TERM $$'; echo \"killed child shell $?\"; \
    trap 'echo trapped USR1' USR1; kill -USR1 $$; echo after trap; \
    exec 3>&1; echo via fd 3 >&3; \
    umask 027; (umask); \
    exit 5";

#[test]
fn subshells_and_statuses() {
    let n = native_sh(SUBSHELLS);
    assert_eq!(
        (n.status, n.stdout_str()),
        (
            5,
            "/tmp\n/\nin 2\nout 1\nsubshell status 3\n2\nchild shell 7\nkilled child shell 143\ntrapped USR1\n\
             after trap\nvia fd 3\n0027\n"
                .to_owned()
        ),
        "native reference:\n{}",
        n.describe()
    );
    sh(SUBSHELLS);
}

const JOBS: &str = "d=$(mktemp -d); \
    sh -c 'exit 7' & wait $!; echo \"background status $?\"; \
    for i in 1 2 3; do (echo \"job $i\" > $d/$i) & done; wait; cat $d/1 $d/2 $d/3; \
    sleep 0.2 & p=$!; kill $p; wait $p 2>/dev/null; echo \"killed job status $?\"; \
    (sleep 0.1; echo late) & echo early; wait; \
    true & wait; echo \"after wait $?\"; \
    rm -rf $d";

/// Whether the shell prints "Terminated" for the killed job depends on when it
/// notices the death (during that `wait`, or earlier without a report), so that
/// `wait`'s stderr is not compared.
#[test]
fn background_jobs_and_wait() {
    let n = native_sh(JOBS);
    assert_eq!(
        n.stdout_str(),
        "background status 7\njob 1\njob 2\njob 3\nkilled job status 143\nearly\nlate\nafter wait 0\n",
        "native reference:\n{}",
        n.describe()
    );
    sh(JOBS);
}

/// Ten processes in one pipeline over a megabyte of input.
const TEN_STAGES: &str = "seq 1 160000 | wc -c; \
    seq 1 160000 | sed 's/0/o/g' | tr 1-9 a-i | grep -v x | cut -c1-4 | sort | uniq -c | sort -rn | head -n 20 | md5sum";

#[test]
fn ten_stage_pipeline_over_1mb() {
    let n = native_sh(TEN_STAGES);
    let s = n.stdout_str();
    assert!(
        n.status == 0 && s.starts_with("1008895\n") && s.lines().count() == 2,
        "native reference:\n{}",
        n.describe()
    );
    sh(TEN_STAGES);
}

const LUA: &str = r#"io.stdout:setvbuf("no")
local f = io.popen("echo one; echo two")
for l in f:lines() do print("popen read:", l) end
print("close:", f:close())
print("close of exit 3:", io.popen("exit 3"):close())
local w = io.popen("tr a-z A-Z", "w")
w:write("written through popen\n")
print("close of the writer:", w:close())
print("os.execute():", os.execute())
print("os.execute('exit 7'):", os.execute("exit 7"))
print("os.execute('kill -9 $$'):", os.execute("kill -9 $$"))
print("os.execute('echo from os.execute'):", os.execute("echo from os.execute"))
local p = io.popen("seq 1 1000 | wc -l")
print("pipeline in popen:", p:read("n"), p:close())"#;

#[test]
fn lua_popen_and_execute() {
    let lua = app(ARCH, "debian", "lua5.4");
    let dir = busybox_bin(ARCH);
    let path = dir.to_string_lossy().into_owned();
    let n = run_native(&lua, None, &args(&["-e", LUA]), &[("PATH", &path)], None);
    assert_eq!(
        n.stdout_str(),
        "popen read:\tone\npopen read:\ttwo\nclose:\ttrue\texit\t0\nclose of exit 3:\tnil\texit\t3\n\
         WRITTEN THROUGH POPEN\nclose of the writer:\ttrue\texit\t0\nos.execute():\ttrue\n\
         os.execute('exit 7'):\tnil\texit\t7\nos.execute('kill -9 $$'):\tnil\tsignal\t9\nfrom os.execute\n\
         os.execute('echo from os.execute'):\ttrue\texit\t0\npipeline in popen:\t1000\ttrue\texit\t0\n",
        "native reference:\n{}",
        n.describe()
    );
    both("lua5.4", &["-e", LUA], None);
}
