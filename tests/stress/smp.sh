#!/usr/bin/env bash
# SMP stress run: guests at --smp N (default 4) running, over and over until the
# time is up, programs whose threads hammer the kernel from every CPU: futex
# storms (contended mutexes, condvars, barriers, rwlocks, raw FUTEX_WAIT/WAKE),
# thread churn, forks from threads, exit_group under running threads, signals
# to spinning threads, mmap/munmap/mprotect races and pages replaced under
# readers (TLB shootdowns), Rust std and Go runtimes. Each run's output must
# equal the same program's native output, and the kernel must not fault.
# Not part of `cargo test`.
#
#   tests/stress/smp.sh [MINUTES] [CPUS]       (default 10 minutes, 4 CPUs)
#
# Prints one line per guest run that failed (with its log kept), a summary, and
# exits non-zero when anything failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
APPS=$HERE/static-pie-apps/out/x86_64
MINUTES=${1:-10}
CPUS=${2:-4}
LOGS=$(mktemp -d /tmp/elfin-stress.XXXXXX)
[[ -x $ELFIN ]] || { echo "smp.sh: build the CLI first: ./x build" >&2; exit 1; }
[[ -e $APPS/glibc/smp_sync ]] || { echo "smp.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }

# The workloads: "PROGRAM ARGS..." (sections of smp_sync run in one guest each
# run, shuffled, so that different mixes of them share the machine's memory).
WORK=(
    "glibc/smp_sync"
    "musl/smp_sync"
    "glibc/smp_sync threads"
    "musl/smp_sync forks"
    "glibc/smp_sync mmap"
    "glibc/smp_sync remap"
    "glibc/smp_sync exitgroup"
    "glibc/proc_churn"
    "rust/rustprobe sync"
    "go/goprobe sync"
)

declare -A NATIVE
for w in "${WORK[@]}"; do
    read -r -a argv <<<"$w"
    # As the guest runs it: argv[0] /app/NAME, only HOME and PATH, in /.
    NATIVE[$w]=$(cd / && python3 -c 'import os, sys; os.execve(sys.argv[1], sys.argv[2:], {"HOME": "/", "PATH": "/usr/local/bin:/usr/bin:/bin"})' \
        "$APPS/${argv[0]}" "/app/$(basename "${argv[0]}")" "${argv[@]:1}" 2>/dev/null)
done

runs=0 fails=0
end=$((SECONDS + MINUTES * 60))
while ((SECONDS < end)); do
    w=${WORK[$((RANDOM % ${#WORK[@]}))]}
    read -r -a argv <<<"$w"
    runs=$((runs + 1))
    log=$LOGS/run-$runs.log
    out=$("$ELFIN" run --smp "$CPUS" --timeout 300 --kernel-log "$log.kernel" "$APPS/${argv[0]}" "${argv[@]:1}" 2>"$log.stderr")
    status=$?
    if ((status != 0)) || [[ $out != "${NATIVE[$w]}" ]] || grep -q "kernel panic\|kernel fault" "$log.kernel" 2>/dev/null; then
        fails=$((fails + 1))
        { printf 'workload: %s\nstatus: %d\n--- stdout\n%s\n--- native\n%s\n' "$w" "$status" "$out" "${NATIVE[$w]}"
          cat "$log.stderr"; } >"$log"
        printf 'smp.sh: run %d (%s) FAILED with status %d; see %s\n' "$runs" "$w" "$status" "$log"
    else
        rm -f "$log.stderr" "$log.kernel"
    fi
    if ((runs % 20 == 0)); then
        printf 'smp.sh: %d runs, %d failed, %d s left\n' "$runs" "$fails" $((end - SECONDS))
    fi
done
printf 'smp.sh: %d guest runs at --smp %d in %d min: %d failed (logs in %s)\n' "$runs" "$CPUS" "$MINUTES" "$fails" "$LOGS"
((fails == 0))
