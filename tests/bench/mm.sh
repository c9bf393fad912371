#!/usr/bin/env bash
# Memory-management benchmark (issue 4): the same static-PIE binary natively and in
# elfin, side by side. Not part of `cargo test`.
#
#   tests/bench/mm.sh [ITERS]        (default 2000; needs static-pie-apps/build.sh)
#
# Figures (static-pie-apps/src/mm_bench.c):
#   map4k   mmap + touch + munmap of 4 KiB, per operation
#   map2m   mmap + touch all 512 pages + munmap of 2 MiB, per operation
#   fault   first-touch page fault of anonymous memory, per page
#   min --mem at which glibc hello runs
# In elfin each figure comes twice: wall-clock ns (TCG, or KVM when the host has
# VT-x/AMD-V) and guest instructions from a run under `-icount shift=0`, where the
# guest clock advances 1 ns per instruction, so the program's own "ns" readings are
# instruction counts.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
APP=$HERE/static-pie-apps/out/x86_64/glibc
ITERS=${1:-2000}
[[ -x $ELFIN ]] || { echo "mm.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }
[[ -e $APP/mm_bench ]] || { echo "mm.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }

val() { # FIGURE OUTPUT -> the number
    awk -v f="$1" '$1 == f { print $2 }' <<<"$2"
}

native=$("$APP/mm_bench" "$ITERS")
wall=$("$ELFIN" run -m 256M "$APP/mm_bench" "$ITERS")
icount=$("$ELFIN" run -m 256M --accel tcg --qemu-arg=-icount --qemu-arg=shift=0 "$APP/mm_bench" "$ITERS")

printf '%-8s %16s %16s %20s\n' figure "native ns" "elfin ns (wall)" "elfin guest insns"
for f in map4k map2m fault; do
    printf '%-8s %16s %16s %20s\n' "$f" "$(val "$f" "$native")" "$(val "$f" "$wall")" "$(val "$f" "$icount")"
done

# Smallest --mem (MiB) at which hello runs: bisect between 1 and 64.
lo=1 hi=64
while (( hi - lo > 1 )); do
    mid=$(( (lo + hi) / 2 ))
    if "$ELFIN" run --timeout 20 -m "${mid}M" "$APP/hello" >/dev/null 2>&1; then hi=$mid; else lo=$mid; fi
done
printf 'minimum --mem for glibc hello: %s MiB\n' "$hi"
