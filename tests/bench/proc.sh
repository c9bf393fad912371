#!/usr/bin/env bash
# Process benchmark: the same static-PIE binary natively and in elfin, side by
# side. Not part of `cargo test`.
#
#   tests/bench/proc.sh [ITERS]      (default 1000; needs static-pie-apps/build.sh)
#
# Figures (static-pie-apps/src/proc_bench.c):
#   fork        fork + _exit + waitpid, per cycle
#   vfork       vfork + _exit + waitpid, per cycle
#   spawn       posix_spawn of the static glibc hello + waitpid
#   forkexec    fork + execve of a program that exits at once + waitpid
#   exec        execve alone (a chain of images, each exec'ing the next)
#   fork64m     fork + the child writes one page + _exit + waitpid, with 64 MiB
#               resident in the parent (copy-on-write: should cost about what
#               fork does, not 64 MiB of copying)
#   cow_faults  page faults the child takes for that one write
#   cow_pages   pages the system lost between just before that fork and the
#               child's write (sysinfo freeram; natively noisy)
# In elfin each time comes twice: wall-clock ns (TCG, or KVM when the host has
# VT-x/AMD-V) and guest instructions from a run under `-icount shift=0`, where
# the guest clock advances 1 ns per instruction, so the program's own "ns"
# readings are instruction counts. A figure the guest could not produce shows
# as "-" (e.g. before the kernel has fork).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
APP=$HERE/static-pie-apps/out/x86_64/glibc
ITERS=${1:-1000}
[[ -x $ELFIN ]] || { echo "proc.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }
[[ -e $APP/proc_bench && -e $APP/hello ]] || { echo "proc.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }

val() { # FIGURE OUTPUT -> the number, or -
    local v
    v=$(awk -v f="$1" '$1 == f { print $2 }' <<<"$2")
    printf '%s\n' "${v:--}"
}

# guest LABEL ELFIN-OPTIONS...: the guest run's output; its failure is reported
# on stderr and leaves the figures empty.
guest() {
    local label=$1 out status
    shift
    out=$("$ELFIN" run -m 256M -v "$APP/hello:/bin/hello" "$@" "$APP/proc_bench" "$ITERS" /bin/hello 2>&1)
    status=$?
    if ((status != 0)); then
        printf 'proc.sh: elfin run (%s) failed with status %d:\n%s\n' "$label" "$status" "$(tail -n 5 <<<"$out")" >&2
    fi
    printf '%s\n' "$out"
}

native=$("$APP/proc_bench" "$ITERS" "$APP/hello")
wall=$(guest wall)
icount=$(guest icount --accel tcg --qemu-arg=-icount --qemu-arg=shift=0)

printf '%-10s %16s %16s %20s  %s\n' figure native "elfin (wall)" "elfin guest insns" unit
for f in fork vfork spawn forkexec exec fork64m cow_faults cow_pages; do
    case $f in
        cow_faults) unit=faults ;;
        cow_pages) unit=pages ;;
        *) unit="ns/op (insns/op)" ;;
    esac
    printf '%-10s %16s %16s %20s  %s\n' "$f" "$(val "$f" "$native")" "$(val "$f" "$wall")" "$(val "$f" "$icount")" \
        "$unit"
done
