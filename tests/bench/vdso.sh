#!/usr/bin/env bash
# clock_gettime(CLOCK_MONOTONIC) cost (issue 17): through the C library (which
# uses the vDSO), the vDSO function called directly, and the raw system call, per
# call, on both architectures. Not part of `cargo test`.
#
#   tests/bench/vdso.sh [ITERS]      (default 100000; needs static-pie-apps/build.sh)
#
# Guest instructions come from a run under `-icount shift=0`, where the guest
# clock advances 1 ns per instruction, so the program's "ns" are instructions
# (the loop's own cost taken out). Natively (x86_64) the figures are ns.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
ITERS=${1:-100000}
[[ -x $ELFIN ]] || { echo "vdso.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }

val() { # FIGURE OUTPUT -> the number
    awk -v f="$1" '$1 == f { print $2 }' <<<"$2"
}

native=$("$HERE/static-pie-apps/out/x86_64/glibc/vdso_probe" bench "$ITERS")
printf '%-8s %-8s %16s %20s\n' arch path "native ns" "elfin guest insns"
for arch in x86_64 aarch64; do
    app=$HERE/static-pie-apps/out/$arch/glibc/vdso_probe
    [[ -e $app ]] || { echo "vdso.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }
    icount=$("$ELFIN" run --arch "$arch" --accel tcg --qemu-arg=-icount --qemu-arg=shift=0 "$app" bench "$ITERS")
    for f in libc vdso syscall; do
        n=-
        [[ $arch == x86_64 ]] && n=$(val "$f" "$native")
        printf '%-8s %-8s %16s %20s\n' "$arch" "$f" "$n" "$(val "$f" "$icount")"
    done
done
