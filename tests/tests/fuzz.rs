//! `elfin fuzz`: random system calls from a guest (static-pie-apps/src/fuzz). The
//! program may die (the command restarts it at the next step); the kernel may not:
//! a short budget per arch must end with `kernel faults: 0`. The long runs are
//! `elfin fuzz --calls 1000000` (see run-scripts/README.md).

use std::process::Command;

use elfin_tests::*;

/// Calls per arch: a few seconds of guest time each.
const CALLS: u64 = 5000;

fn fuzz(arch: &str, extra: &[&str], calls: u64) -> Output {
    let fuzzer = app(arch, "glibc", "fuzz");
    let mut cmd = Command::new(elfin_bin());
    cmd.args(["fuzz", "--arch", arch, "--seed", "0x5eed", "--calls", &calls.to_string(), "--fuzzer"]);
    cmd.arg(&fuzzer).args(extra);
    run_command(cmd, None, format!("elfin fuzz --arch {arch} {}", extra.join(" ")))
}

fn no_kernel_faults(arch: &str) {
    let out = fuzz(arch, &[], CALLS);
    let report = out.stdout_str();
    assert!(report.contains(&format!("({CALLS} of {CALLS} calls)")), "not every call was made:\n{}", out.describe());
    assert!(report.contains("\nkernel faults: 0\n") && out.status == 0, "the kernel faulted:\n{}", out.describe());
}

#[test]
fn x86_64_survives_random_calls() {
    no_kernel_faults("x86_64");
}

#[test]
fn aarch64_survives_random_calls() {
    no_kernel_faults("aarch64");
}

/// Forged rt_sigreturn frames kill the program nearly every time: the command must
/// restart it at the next step until the budget is spent, and say so.
#[test]
fn the_program_is_restarted_after_it_dies() {
    let out = fuzz("x86_64", &["--only", "rt_sigreturn"], 40);
    let report = out.stdout_str();
    assert!(report.contains("(40 of 40 calls)"), "{}", out.describe());
    let deaths = report
        .lines()
        .find_map(|l| l.strip_prefix("program deaths: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let boots = report
        .split_once(" calls) in ")
        .and_then(|(_, r)| r.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    assert!(deaths > 0, "no restart seen:\n{}", out.describe());
    // One boot per death (but none after a death at the last step), plus the first.
    assert!(boots == deaths || boots == deaths + 1, "{boots} boots for {deaths} deaths:\n{report}");
}

/// With two vCPUs, a CPU picking a thread that another CPU was still switching
/// away from waited for it while holding its run queue, which the other CPU needed
/// to finish (to rehome, steal or wake a thread): both spun forever. This seed hit
/// it about once in six boots within its first 1010 calls; eight boots here.
#[test]
fn two_cpus_do_not_deadlock_in_the_scheduler() {
    for round in 0..8 {
        let fuzzer = app("x86_64", "glibc", "fuzz");
        let mut cmd = Command::new(elfin_bin());
        cmd.args(["fuzz", "--arch", "x86_64", "--smp", "2", "--seed", "0xc0ffee", "--calls", "1010"]);
        cmd.args(["--hang-timeout", "30", "--fuzzer"]).arg(&fuzzer);
        let out = run_command(cmd, None, format!("elfin fuzz --smp 2 (round {round})"));
        let report = out.stdout_str();
        assert!(
            report.contains("\nhangs: 0\n") && report.contains("\nkernel faults: 0\n"),
            "round {round}:\n{}",
            out.describe()
        );
    }
}
