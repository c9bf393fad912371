#!/usr/bin/env bash
# SMP benchmark: the same static-PIE binary natively and in elfin, side by side.
# Not part of `cargo test`.
#
#   tests/bench/smp.sh [ITERS]      (default 1000; needs static-pie-apps/build.sh)
#
# Figures (static-pie-apps/src/smp_bench.c), in ns (elfin: wall clock under
# multi-threaded TCG, and guest instructions from a run under `-icount
# shift=0`, where the guest clock advances 1 ns per instruction and QEMU runs
# the vCPUs in turn on one host thread):
#   pingpong   futex round trip between threads pinned to CPUs 0 and 1
#   wakeup     FUTEX_WAKE on CPU 0 until the sleeper runs on CPU 1 (IPI + switch)
#   ctxswitch  one switch between two threads pinned to the same CPU
#   spin1      fixed arithmetic on one thread
#   spin2      twice that on two threads at once
#   speedup    2 x spin1 / spin2 at --smp 2 (ideal 2.0; the goal under MTTCG
#              on a 2-core host is at least 1.8); at --smp 1 for reference
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
APP=$HERE/static-pie-apps/out/x86_64/glibc
ITERS=${1:-1000}
[[ -x $ELFIN ]] || { echo "smp.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }
[[ -e $APP/smp_bench ]] || { echo "smp.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }

val() { # FIGURE OUTPUT -> the number, or -
    local v
    v=$(awk -v f="$1" '$1 == f { print $2 }' <<<"$2")
    printf '%s\n' "${v:--}"
}

speedup() { # OUTPUT -> 2 x spin1 / spin2
    awk '$1 == "spin1" { a = $2 } $1 == "spin2" { b = $2 } END { if (a && b) printf "%.2f\n", 2 * a / b; else print "-" }' <<<"$1"
}

guest() { # LABEL ELFIN-OPTIONS...
    local label=$1 out status
    shift
    out=$("$ELFIN" run -m 256M "$@" "$APP/smp_bench" "$ITERS" 2>&1)
    status=$?
    if ((status != 0)); then
        printf 'smp.sh: elfin run (%s) failed with status %d:\n%s\n' "$label" "$status" "$(tail -n 5 <<<"$out")" >&2
    fi
    printf '%s\n' "$out"
}

native=$("$APP/smp_bench" "$ITERS")
wall2=$(guest wall --smp 2)
wall1=$(guest wall1 --smp 1)
icount=$(guest icount --smp 2 --accel tcg --qemu-arg=-icount --qemu-arg=shift=0)

printf '%-10s %14s %18s %18s %20s\n' figure native "elfin smp2 (wall)" "elfin smp1 (wall)" "elfin smp2 insns"
for f in pingpong wakeup ctxswitch spin1 spin2; do
    printf '%-10s %14s %18s %18s %20s\n' "$f" "$(val "$f" "$native")" "$(val "$f" "$wall2")" "$(val "$f" "$wall1")" \
        "$(val "$f" "$icount")"
done
printf '%-10s %14s %18s %18s %20s\n' speedup "$(speedup "$native")" "$(speedup "$wall2")" "$(speedup "$wall1")" -
