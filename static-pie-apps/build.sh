#!/usr/bin/env bash
# Build elfin's guest programs as static-PIE ELF binaries.
#
#   static-pie-apps/build.sh [x86_64|aarch64|all]     (default: x86_64)
#
# Every recipe's output lives in a cache outside the repository,
#   ${ELFIN_CACHE:-$HOME/.cache/elfin}/apps/<recipe-hash>/<name>
# where <recipe-hash> covers everything the result depends on: the recipe's
# own shell code, its sources, the compiler version and, for Debian programs,
# the source package version. A rerun rebuilds only what changed. Then
# static-pie-apps/out/<arch>/<kind>/<name> is refreshed as a symlink into the
# cache (out/ is gitignored). Every produced binary is checked with `file`:
# it must say "static-pie linked", or the script fails.
#
# Installs what it needs with apt-get (only what is missing) and, for the
# Debian programs, adds a deb-src entry derived from the system's own
# /etc/apt/sources.list.d/debian.sources when none is configured.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/src
OUT=$HERE/out
CACHE=${ELFIN_CACHE:-$HOME/.cache/elfin}/apps
JOBS=$(nproc 2>/dev/null || echo 2)
C_PROGRAMS=(hello auxv_probe enosys nullderef exitcode cat_stdin files threads mm_probe mm_fault mm_stress mm_malloc mm_bench
    badargs misc_calls proc_fork proc_exec proc_wait proc_pgrp proc_pipe proc_spawn proc_churn proc_bench proc_sleepers etc_probe smp_sync smp_bench
    spin_threads surface_time surface_signal surface_xfer surface_fs surface_lock surface_sys surface_ipc surface_pidfd surface_defects
    net_unix net_inet net_echo vol_probe vdso_probe perf_bench mm_around mm_trunc pty_probe seccomp_probe)

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages --

APT_UPDATED=
apt_update_once() {
    if [[ -z $APT_UPDATED ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
}

# ensure_pkgs PKG...: install the packages that are not installed yet.
ensure_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (run as root, or apt-get install them)"
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# has_busybox_src: whether apt knows a source package for busybox. The output
# is captured first: grep -q stops at its match, and under pipefail
# apt-cache's SIGPIPE would fail the pipeline.
has_busybox_src() {
    [[ $'\n'$(apt-cache showsrc busybox 2>/dev/null) == *$'\nVersion:'* ]]
}

# ensure_deb_src: make `apt-get source` work. The entry is derived from the
# system's own sources file at run time, so no host name lives in this repo.
ensure_deb_src() {
    if has_busybox_src; then
        return 0
    fi
    local sys=/etc/apt/sources.list.d/debian.sources
    local ours=/etc/apt/sources.list.d/elfin-deb-src.sources
    [[ -r $sys ]] || die "no $sys to derive a deb-src entry from; add deb-src lines for your Debian mirror by hand"
    [[ $(id -u) -eq 0 ]] || die "no deb-src entry configured; run as root so that $ours can be written"
    if [[ ! -e $ours ]]; then
        log "adding $ours (deb-src copy of $sys)"
        sed -e 's/^Types:.*/Types: deb-src/' "$sys" > "$ours"
    fi
    APT_UPDATED=
    apt_update_once
    has_busybox_src || die "apt-cache still finds no source package for busybox after adding $ours"
}

# deb_src_versions PKG: the source versions apt knows of PKG, highest first
# (in dpkg's order).
deb_src_versions() {
    local v sorted=() i
    for v in $(apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p'); do
        for ((i = 0; i < ${#sorted[@]}; i++)); do
            [[ ${sorted[i]} == "$v" ]] && continue 2
            dpkg --compare-versions "$v" gt "${sorted[i]}" && break
        done
        sorted=("${sorted[@]:0:i}" "$v" "${sorted[@]:i}")
    done
    ((${#sorted[@]} == 0)) || printf '%s\n' "${sorted[@]}"
}

# fetch_deb_src PKG: unpack the Debian source package (patches applied) into
# the cache once per version; prints the source tree's path. The highest
# version whose files the archive holds wins: an index can name a version whose
# files are gone (seen with nginx's security update), so an older one is tried
# next.
fetch_deb_src() {
    local pkg=$1 ver dir tree found=
    local versions=()
    mapfile -t versions < <(deb_src_versions "$pkg")
    [[ ${#versions[@]} -gt 0 ]] || die "cannot find the source version of $pkg"
    for ver in "${versions[@]}"; do
        dir=$CACHE/src/${pkg}_${ver//:/_}
        if [[ ! -f $dir/.done ]]; then
            log "apt-get source $pkg=$ver"
            rm -rf "$dir" && mkdir -p "$dir"
            if ! (cd "$dir" && apt-get source -qq "$pkg=$ver" >"$dir/fetch.log" 2>&1); then
                log "apt-get source $pkg=$ver failed: $({ grep -m1 '^E:' "$dir/fetch.log" || tail -n1 "$dir/fetch.log"; } \
                    | sed -E 's#[a-z]+://[^ ]*/##; s# \[IP:.*##')"
                rm -rf "$dir"
                continue
            fi
            touch "$dir/.done"
        fi
        found=$dir
        break
    done
    [[ -n $found ]] || die "apt-get source $pkg failed for every version apt knows (${versions[*]})"
    tree=$(find "$found" -mindepth 1 -maxdepth 1 -type d | head -n1)
    [[ -n $tree ]] || die "no source tree in $found"
    printf '%s\n' "$tree"
}

# ------------------------------------------------------------------- cache --

# recipe_hash WORDS...: 16 hex digits over the given words, where a word that
# is a file or directory stands for its contents (and `fn:NAME` for the shell
# code of function NAME).
recipe_hash() {
    local w
    {
        for w in "$@"; do
            if [[ $w == fn:* ]]; then
                declare -f "${w#fn:}"
            elif [[ -d $w ]]; then
                (cd "$w" && find . -type f ! -path './target/*' -print0 | LC_ALL=C sort -z \
                    | xargs -0 sha256sum)
            elif [[ -f $w ]]; then
                sha256sum < "$w"
            else
                printf '%s\n' "$w"
            fi
        done
    } | sha256sum | cut -c1-16
}

check_static_pie() {
    local bin=$1 desc
    desc=$(file -L "$bin")
    [[ $desc == *"static-pie linked"* ]] || die "not a static-pie binary: $desc"
}

# produce ARCH KIND NAME HASH BUILDER ARGS...: unless the cache already has
# it, run `BUILDER OUTFILE ARGS...` in a scratch directory; check the result
# with `file`; link out/ARCH/KIND/NAME to it.
produce() {
    local arch=$1 kind=$2 name=$3 hash=$4 builder=$5
    shift 5
    local dir=$CACHE/$hash
    if [[ -f $dir/.done && -f $dir/$name ]]; then
        log "cached  $arch/$kind/$name ($hash)"
    else
        log "build   $arch/$kind/$name ($hash)"
        local tmp=$CACHE/.tmp.$hash.$$
        rm -rf "$tmp" && mkdir -p "$tmp"
        local t0=$SECONDS
        (cd "$tmp" && "$builder" "$tmp/$name" "$@") \
            || die "building $arch/$kind/$name failed (scratch dir kept: $tmp)"
        [[ -f $tmp/$name ]] || die "building $arch/$kind/$name produced no $name"
        check_static_pie "$tmp/$name"
        rm -rf "$dir"
        mkdir -p "$dir"
        mv "$tmp/$name" "$dir/$name"
        rm -rf "$tmp"
        file -L "$dir/$name" > "$dir/file.txt"
        touch "$dir/.done"
        log "built   $arch/$kind/$name in $((SECONDS - t0)) s"
    fi
    check_static_pie "$dir/$name"
    mkdir -p "$OUT/$arch/$kind"
    ln -sfn "$dir/$name" "$OUT/$arch/$kind/$name"
}

# ------------------------------------------------------------- toolchains --

gnu_triple() { echo "$1-linux-gnu"; }
cross_gcc() { if [[ $1 == "$(uname -m)" ]]; then echo gcc; else echo "$(gnu_triple "$1")-gcc"; fi; }

# Directory of a musl for ARCH: Debian's musl-dev for the host arch, else a
# musl built once from the Debian source package with the cross compiler.
musl_root() {
    local arch=$1
    if [[ $arch == "$(uname -m)" ]]; then
        echo "/usr/lib/$arch-linux-musl|/usr/include/$arch-linux-musl"
    else
        local p=$CACHE/musl-$arch-$MUSL_CROSS_HASH
        echo "$p/lib|$p/include"
    fi
}

build_musl_cross() { # OUTDIR ARCH SRC
    local out=$1 arch=$2 src=$3
    cp -a "$src" build && cd build
    ./configure --quiet --target="$(gnu_triple "$arch")" CROSS_COMPILE="$(gnu_triple "$arch")-" \
        --prefix="$out" --disable-shared >/dev/null
    make -s -j"$JOBS" >build.log 2>&1 || { tail -n 40 build.log >&2; return 1; }
    make -s install >>build.log 2>&1
}

ensure_musl_cross() {
    local arch=$1 src
    src=$(fetch_deb_src musl)
    MUSL_CROSS_HASH=$(recipe_hash fn:build_musl_cross "$arch" "$src" "$($(cross_gcc "$arch") --version | head -n1)")
    local p=$CACHE/musl-$arch-$MUSL_CROSS_HASH
    if [[ ! -f $p/.done ]]; then
        log "build   musl for $arch ($MUSL_CROSS_HASH)"
        rm -rf "$p" "$p.tmp" && mkdir -p "$p.tmp"
        (cd "$p.tmp" && build_musl_cross "$p" "$arch" "$src") || die "building musl for $arch failed"
        rm -rf "$p.tmp"
        touch "$p/.done"
    fi
}

# ---------------------------------------------------------------- recipes --

c_glibc() { # OUT ARCH SOURCE
    "$(cross_gcc "$2")" -static-pie -fPIE -O2 -Wall -Wextra -Werror -o "$1" "$3"
}

# The syscall fuzzer (src/fuzz/): every SYS_<name> of the arch's kernel
# headers goes into a generated sysnames.h. No stack protector (its helper
# threads have no TLS) and no red zone (it jumps around on forged contexts).
c_fuzz() { # OUT ARCH SRCDIR
    local out=$1 arch=$2 dir=$3 cc
    cc=$(cross_gcc "$arch")
    "$cc" -dM -E -include sys/syscall.h - </dev/null | sed -n 's/^#define SYS_\([a-z0-9_]*\) .*/\1/p' | sort \
        | awk '{ printf "#ifdef SYS_%s\n    {SYS_%s, \"%s\"},\n#endif\n", $1, $1, $1 }' > sysnames.h
    [[ -s sysnames.h ]] || { echo "no SYS_ names from $cc" >&2; return 1; }
    local extra=()
    [[ $arch == x86_64 ]] && extra=(-mno-red-zone)
    "$cc" -static-pie -fPIE -O2 -Wall -Wextra -Werror -fno-stack-protector -fno-strict-aliasing "${extra[@]}" \
        -I. -I"$dir" -o "$out" "$dir/fuzz.c"
}

c_musl() { # OUT ARCH SOURCE
    local out=$1 arch=$2 src=$3 cc lib inc roots
    cc=$(cross_gcc "$arch")
    roots=$(musl_root "$arch")
    lib=${roots%|*} inc=${roots#*|}
    # musl-gcc's -static-pie gives a dynamically linked file; link by hand
    # with rcrt1.o (self-relocating start file) instead. On arm64, atomics
    # inline: libgcc's outlined ones pick LSE through glibc's __getauxval.
    local flags=()
    [[ $arch == aarch64 ]] && flags=(-mno-outline-atomics)
    "$cc" -nostdlib -nostartfiles -static-pie -fPIE -O2 -Wall -Wextra -Werror "${flags[@]}" \
        -nostdinc -isystem "$inc" -isystem "$("$cc" -print-file-name=include)" \
        "$src" "$lib/rcrt1.o" "$lib/crti.o" "$lib/libc.a" \
        "$("$cc" -print-libgcc-file-name)" "$lib/crtn.o" -o "$out"
}

c_dynamic() { # OUT ARCH SOURCE: deliberately dynamic, for the loader's negative tests
    "$(cross_gcc "$2")" -O2 -o "$1" "$3"
}

rust_std() { # OUT ARCH [BIN]
    local out=$1 arch=$2 bin=${3:-rustprobe} target
    target=$arch-unknown-linux-gnu
    (
        cd "$HERE/rust"
        export CARGO_TARGET_DIR=$CACHE/rust-target
        export RUSTFLAGS="-C target-feature=+crt-static"
        if [[ $arch != "$(uname -m)" ]]; then
            # On aarch64-unknown-linux-gnu, +crt-static alone gives a static
            # non-PIE binary (and forcing -static-pie on top gives one that
            # crashes): build PIC code and let the wrapper link it static-pie.
            RUSTFLAGS+=" -C relocation-model=pie"
            export ELFIN_LINK_CC
            ELFIN_LINK_CC=$(cross_gcc "$arch")
            export "CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_LINKER=$HERE/scripts/static-pie-link"
        fi
        cargo build -q --release --locked --target "$target"
    )
    cp "$CACHE/rust-target/$target/release/$bin" "$out"
}

busybox_build() { # OUT ARCH SRC
    local out=$1 arch=$2 src=$3 cross=
    [[ $arch == "$(uname -m)" ]] || cross=$(gnu_triple "$arch")-
    mkdir obj
    make -s -C "$src" O="$PWD/obj" defconfig >/dev/null
    # Static-PIE: busybox's CONFIG_STATIC passes plain -static (not PIE), so
    # keep it off and turn on CONFIG_PIE, whose flags ARCH_FPIE (compile) and
    # ARCH_PIE (final link only) are overridden below. -static-pie cannot go
    # into EXTRA_LDFLAGS: those also reach the `ld -r` partial links.
    sed -i \
        -e 's/^CONFIG_STATIC=y/# CONFIG_STATIC is not set/' \
        -e 's/^# CONFIG_PIE is not set/CONFIG_PIE=y/' \
        -e 's/^CONFIG_CROSS_COMPILER_PREFIX=.*/CONFIG_CROSS_COMPILER_PREFIX="'"$cross"'"/' \
        obj/.config
    yes '' | make -s -C obj oldconfig >/dev/null
    make -s -C obj -j"$JOBS" busybox ARCH_PIE=-static-pie ARCH_FPIE=-fPIE >build.log 2>&1 \
        || { tail -n 40 build.log >&2; return 1; }
    cp obj/busybox "$out"
}

lua_build() { # OUT ARCH SRC
    local out=$1 arch=$2 src=$3 f objs=()
    # Lua's own makefile (Debian's, via libtool) builds a shared library;
    # compile the interpreter directly instead. LUA_USE_POSIX, not
    # LUA_USE_LINUX: no dlopen in a static binary.
    for f in "$src"/src/*.c; do
        case ${f##*/} in luac.c) continue ;; esac
        objs+=("$f")
    done
    # Debian's luaconf.h includes a header that its rules file generates.
    printf '#define DEB_HOST_MULTIARCH "%s"\n' "$(gnu_triple "$arch")" > lua5.4-deb-multiarch.h
    "$(cross_gcc "$arch")" -static-pie -fPIE -O2 -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_POSIX \
        -I. -o "$out" "${objs[@]}" -lm
}

sqlite_build() { # OUT ARCH SRC
    local out=$1 arch=$2 src=$3
    # The Debian source is the full tree, not the amalgamation: generate
    # sqlite3.c and shell.c with the host's tools (they are the same for every
    # arch; tclsh runs the generators), then compile the shell directly with
    # no threads and no extension loading (no dlopen in a static binary).
    mkdir bld && cd bld
    "$src/configure" --quiet --disable-tcl --disable-readline --disable-load-extension \
        >configure.log 2>&1 || { tail -n 40 configure.log >&2; return 1; }
    make -s sqlite3.c shell.c >build.log 2>&1 || { tail -n 40 build.log >&2; return 1; }
    "$(cross_gcc "$arch")" -static-pie -fPIE -O2 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
        -DSQLITE_DQS=0 -DHAVE_USLEEP -I. -o "$out" shell.c sqlite3.c -lm
}

nginx_build() { # OUT ARCH SRC
    local out=$1 arch=$2 src=$3
    # configure writes a Makefile into the source tree: build in a copy. Only
    # modules that need no library beyond libc (no PCRE, zlib or OpenSSL; no
    # auth_basic, whose crypt() is in libcrypt, which Debian's cross libc lacks).
    # Every default path a bare rootfs lacks moves under /tmp, so that a
    # minimal nginx.conf works against an empty /etc (the guest provides
    # passwd and group with nobody); the prefix stays /etc/nginx.
    # configure runs the test programs it builds (sizes, byte order, features
    # that only work at run time): for another arch they run under its
    # qemu-user emulator, $NGX_RUN below (no binfmt registration needed; the
    # compiler check links dynamically, so the emulator gets the cross libc).
    local cc run=
    cc=$(cross_gcc "$arch")
    if [[ $arch != "$(uname -m)" ]]; then
        ensure_pkgs qemu-user-static
        run="qemu-$arch-static -L /usr/$(gnu_triple "$arch")"
        # configure takes the machine (alignment, cache line) from uname -m.
        mkdir bin
        printf '#!/bin/sh\n[ "$*" = -m ] && exec echo %s\nexec /bin/uname "$@"\n' "$arch" >bin/uname
        chmod +x bin/uname
        PATH=$PWD/bin:$PATH
    fi
    cp -r "$src" ngx && cd ngx
    sed -i -e 's/`\$NGX_AUTOTEST`/`$NGX_RUN $NGX_AUTOTEST`/' \
        -e 's#/bin/sh -c \$NGX_AUTOTEST#/bin/sh -c "$NGX_RUN $NGX_AUTOTEST"#' \
        -e 's/if \$NGX_AUTOTEST >/if $NGX_RUN $NGX_AUTOTEST >/' \
        auto/feature auto/types/sizeof auto/endianness
    [[ $(grep -c 'NGX_RUN' auto/feature auto/types/sizeof auto/endianness | awk -F: '{s+=$2} END {print s}') -eq 6 ]] \
        || { log "nginx: auto/ no longer runs its tests the way this recipe patches"; return 1; }
    NGX_RUN=$run ./configure --with-cc="$cc" --prefix=/etc/nginx --conf-path=/etc/nginx/nginx.conf \
        --error-log-path=stderr --http-log-path=/dev/stdout --pid-path=/tmp/nginx.pid \
        --lock-path=/tmp/nginx.lock --http-client-body-temp-path=/tmp/nginx-client-body \
        --http-proxy-temp-path=/tmp/nginx-proxy --http-fastcgi-temp-path=/tmp/nginx-fastcgi \
        --http-uwsgi-temp-path=/tmp/nginx-uwsgi --http-scgi-temp-path=/tmp/nginx-scgi \
        --without-pcre --without-http_rewrite_module --without-http_gzip_module --without-http_auth_basic_module \
        --with-cc-opt='-fPIE -O2' --with-ld-opt=-static-pie >configure.log 2>&1 \
        || { tail -n 40 configure.log >&2; return 1; }
    # configure adds -Wl,-E (export every symbol, for dynamic modules, which a
    # static binary cannot load anyway). With it the static-PIE dies in glibc's
    # self-relocation (_dl_allocate_static_tls) before main: drop it.
    grep -q '^	-Wl,-E$' objs/Makefile || { log "nginx: no -Wl,-E line in objs/Makefile"; return 1; }
    sed -i 's/^	-Wl,-E$/	/' objs/Makefile
    make -j"$JOBS" >build.log 2>&1 || { tail -n 40 build.log >&2; return 1; }
    cp objs/nginx "$out"
}

fio_build() { # OUT ARCH SRC
    local out=$1 src=$3
    # The host's build (the libaio engine links Debian's static libaio): every
    # optional engine that needs another library off, no -march=native.
    # configure writes into the source tree: build in a copy.
    cp -r "$src" fio-src && cd fio-src
    ./configure --disable-numa --disable-rdma --disable-rados --disable-rbd --disable-http --disable-gfapi \
        --disable-libnfs --disable-pmem --disable-native --disable-xnvme --disable-libzbc --disable-tcmalloc \
        --disable-dfs --extra-cflags=-fPIE >configure.log 2>&1 || { tail -n 40 configure.log >&2; return 1; }
    grep -q '^Linux AIO support *yes' configure.log || { log "fio: configure found no libaio"; return 1; }
    make -j"$JOBS" fio LDFLAGS=-static-pie >build.log 2>&1 || { tail -n 40 build.log >&2; return 1; }
    cp fio "$out"
}

redis_build() { # OUT ARCH SRC PROGRAM (redis-server, redis-cli or redis-benchmark)
    local out=$1 arch=$2 src=$3 prog=$4 cc
    cc=$(cross_gcc "$arch")
    # The bundled Lua, hiredis and friends are built into the source tree:
    # build in a copy. libc's malloc (Debian links the system jemalloc), no
    # TLS, no systemd; -fPIE reaches the bundled libraries through CFLAGS.
    cp -r "$src" rds
    make -C rds/src -j"$JOBS" "$prog" CC="$cc" AR="${cc%gcc}ar" RANLIB="${cc%gcc}ranlib" \
        MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no CFLAGS=-fPIE LDFLAGS=-static-pie >build.log 2>&1 \
        || { tail -n 40 build.log >&2; return 1; }
    cp "rds/src/$prog" "$out"
}

# go_build OUT ARCH [PKG]: a Go program (default: the probe) as a static-PIE
# (see scripts/go-musl-link); another arch than the host's links with its cross
# compiler and the musl built for it.
go_build() {
    local out=$1 arch=$2 pkg=${3:-goprobe}
    local env=(CGO_ENABLED=1)
    if [[ $arch != "$(uname -m)" ]]; then
        local musl_lib
        musl_lib=$(musl_root "$arch")
        env+=(GOARCH="$(go_arch "$arch")" CC="$(cross_gcc "$arch")" GO_MUSL_CC="$(cross_gcc "$arch")"
            GO_MUSL_LIB="${musl_lib%%|*}")
    fi
    (cd "$HERE/go" && env "${env[@]}" GOFLAGS=-mod=mod go build -buildmode=pie \
        -ldflags="-linkmode=external -extld=$HERE/scripts/go-musl-link" -o "$out" "./$pkg") 2>&1 \
        | grep -v 'loadinternal: cannot find runtime/cgo' >&2 || true
    [[ -x $out ]] || die "go build failed"
}

# ------------------------------------------------------------------ drive --

build_arch() {
    local arch=$1 cc ccv p
    cc=$(cross_gcc "$arch")
    ensure_pkgs gcc make file dpkg-dev bzip2 xz-utils patch tcl
    if [[ $arch == x86_64 ]]; then
        ensure_pkgs libc6-dev musl-tools
    else
        ensure_pkgs "gcc-$arch-linux-gnu" "libc6-dev-$(dpkg_arch "$arch")-cross"
    fi
    ensure_deb_src
    ccv=$("$cc" --version | head -n1)

    # C probes, glibc and musl.
    [[ $arch == "$(uname -m)" ]] || ensure_musl_cross "$arch"
    local musl_id
    musl_id=$(musl_root "$arch")
    # Every probe's hash covers every shared header (errname.h, proc_common.h).
    local headers=("$SRC"/*.h)
    for p in "${C_PROGRAMS[@]}"; do
        produce "$arch" glibc "$p" "$(recipe_hash fn:c_glibc "$arch" "$ccv" "$SRC/$p.c" "${headers[@]}")" \
            c_glibc "$arch" "$SRC/$p.c"
        produce "$arch" musl "$p" "$(recipe_hash fn:c_musl fn:musl_root "$arch" "$ccv" "$musl_id" \
            "$SRC/$p.c" "${headers[@]}")" c_musl "$arch" "$SRC/$p.c"
    done

    # The syscall fuzzer (glibc).
    produce "$arch" glibc fuzz "$(recipe_hash fn:c_fuzz "$arch" "$ccv" "$SRC/fuzz")" c_fuzz "$arch" "$SRC/fuzz"

    # One deliberately dynamic binary (checked to be dynamic, not static-pie).
    local dyn=$OUT/$arch/invalid/hello-dynamic
    mkdir -p "${dyn%/*}"
    if [[ ! -f $dyn || $SRC/hello.c -nt $dyn ]]; then
        c_dynamic "$dyn" "$arch" "$SRC/hello.c"
    fi
    [[ $(file -L "$dyn") == *"dynamically linked"* ]] || die "$dyn is not dynamically linked"

    # Rust std.
    if [[ $arch == "$(uname -m)" ]] || rustup target add "$arch-unknown-linux-gnu" >/dev/null 2>&1; then
        produce "$arch" rust rustprobe "$(recipe_hash fn:rust_std "$arch" "$(rustc -V)" "$ccv" "$HERE/rust" \
            "$HERE/scripts/static-pie-link")" \
            rust_std "$arch"
        produce "$arch" rust rusttools "$(recipe_hash fn:rust_std rusttools "$arch" "$(rustc -V)" "$ccv" "$HERE/rust" \
            "$HERE/scripts/static-pie-link")" \
            rust_std "$arch" rusttools
        produce "$arch" rust rustserver "$(recipe_hash fn:rust_std rustserver "$arch" "$(rustc -V)" "$ccv" "$HERE/rust" \
            "$HERE/scripts/static-pie-link")" \
            rust_std "$arch" rustserver
    else
        log "skip    $arch/rust/rustprobe (rustup target add $arch-unknown-linux-gnu failed)"
    fi

    # Go, linked against musl (the host's, or the one built above for arm64).
    ensure_pkgs golang-go musl-tools
    produce "$arch" go goprobe "$(recipe_hash fn:go_build fn:musl_root "$arch" "$(go version)" "$musl_id" "$HERE/go" \
        "$HERE/scripts/go-musl-link")" go_build "$arch"
    produce "$arch" go gotools "$(recipe_hash fn:go_build fn:musl_root gotools "$arch" "$(go version)" "$musl_id" \
        "$HERE/go" "$HERE/scripts/go-musl-link")" go_build "$arch" gotools
    produce "$arch" go goserver "$(recipe_hash fn:go_build fn:musl_root goserver "$arch" "$(go version)" "$musl_id" \
        "$HERE/go" "$HERE/scripts/go-musl-link")" go_build "$arch" goserver

    # Third-party software from Debian source packages.
    local bb lua sq
    bb=$(fetch_deb_src busybox)
    produce "$arch" debian busybox "$(recipe_hash fn:busybox_build "$arch" "$ccv" "$bb")" \
        busybox_build "$arch" "$bb"
    lua=$(fetch_deb_src lua5.4)
    produce "$arch" debian lua5.4 "$(recipe_hash fn:lua_build "$arch" "$ccv" "$lua")" \
        lua_build "$arch" "$lua"
    sq=$(fetch_deb_src sqlite3)
    produce "$arch" debian sqlite3 "$(recipe_hash fn:sqlite_build "$arch" "$ccv" "$sq")" \
        sqlite_build "$arch" "$sq"
    # fio with its libaio engine (Linux AIO), for the host's arch.
    if [[ $arch == "$(uname -m)" ]]; then
        local fio
        ensure_pkgs libaio-dev
        fio=$(fetch_deb_src fio)
        produce "$arch" debian fio "$(recipe_hash fn:fio_build "$arch" "$ccv" "$fio")" fio_build "$arch" "$fio"
    fi
    # Servers (issue 13): nginx and redis.
    local ngx rds prog
    ngx=$(fetch_deb_src nginx)
    produce "$arch" debian nginx "$(recipe_hash fn:nginx_build "$arch" "$ccv" "$ngx")" \
        nginx_build "$arch" "$ngx"
    rds=$(fetch_deb_src redis)
    for prog in redis-server redis-cli redis-benchmark; do
        produce "$arch" debian "$prog" "$(recipe_hash fn:redis_build "$prog" "$arch" "$ccv" "$rds")" \
            redis_build "$arch" "$rds" "$prog"
    done
}

go_arch() { case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) echo "$1" ;; esac; }
dpkg_arch() { case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) echo "$1" ;; esac; }

main() {
    local what=${1:-x86_64} arches=()
    case $what in
        x86_64 | aarch64) arches=("$what") ;;
        all) arches=(x86_64 aarch64) ;;
        -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
        *) die "unknown target '$what' (x86_64, aarch64 or all)" ;;
    esac
    [[ $(uname -m) == x86_64 ]] || die "build.sh runs on an x86_64 host"
    mkdir -p "$CACHE"
    local t0=$SECONDS a
    for a in "${arches[@]}"; do
        build_arch "$a"
    done
    log "done in $((SECONDS - t0)) s; outputs in $OUT"
}

main "$@"
