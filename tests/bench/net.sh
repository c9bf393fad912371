#!/usr/bin/env bash
# Network benchmark: the same static-PIE servers natively and in elfin (reached
# from the host through `elfin run -p`, QEMU user networking), side by side. Not
# part of `cargo test`.
#
#   tests/bench/net.sh [SECONDS]     (default 5; needs static-pie-apps/build.sh and wrk)
#
# Figures:
#   http req/s, p99   wrk -c 8 -t 2 against the Go net/http server (GET /hello)
#   echo MiB/s        16 MiB through the C echo server and back, one connection
#   loopback MiB/s    4 MiB each way over 127.0.0.1 inside the machine (net_inet big)
# elfin runs under TCG here (KVM when the host has VT-x/AMD-V); the host's loopback
# is the native reference. QEMU user networking (slirp) sits between the host and
# the guest, so the elfin figures include its cost.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
OUT=$HERE/static-pie-apps/out/x86_64
SECS=${1:-5}
[[ -x $ELFIN ]] || { echo "net.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }
[[ -e $OUT/go/goserver && -e $OUT/glibc/net_echo ]] || { echo "net.sh: build the apps first: static-pie-apps/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || { echo "net.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server LOG CMD...: starts a server in the background, waits for "listening".
start_server() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    SERVER=$!
    for _ in $(seq 300); do
        grep -q '^listening' "$log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "net.sh: the server did not start: $*" >&2
    cat "$log" >&2
    return 1
}

# http PORT: "req/s p99"
http() {
    local port=$1 out
    for _ in $(seq 50); do curl -s -m 2 "http://127.0.0.1:$port/hello" >/dev/null && break; sleep 0.2; done
    out=$(wrk -c 8 -t 2 -d "${SECS}s" --latency "http://127.0.0.1:$port/hello" 2>&1)
    local rps p99
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    echo "${rps:--} ${p99:--}"
}

# echo_mib PORT: MiB/s for 16 MiB there and back
echo_mib() {
    python3 - "$1" <<'EOF'
import socket, sys, threading, time
port = int(sys.argv[1])
data = bytes(range(256)) * (16 * 4096)
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        break
    except OSError:
        time.sleep(0.1)
t0 = time.time()
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
w = threading.Thread(target=send)
w.start()
got = 0
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    got += len(b)
w.join()
dt = time.time() - t0
print("%.1f" % (got / dt / (1 << 20)) if got == len(data) else "-")
EOF
}

# loopback MiB/s inside one machine: net_inet big moves 4 MiB each way.
loopback() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" big >/dev/null 2>&1 || { echo -; return; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", 8 / (b - a) }'
}

tmp=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf "$tmp"' EXIT

p=$(free_port)
start_server "$tmp/n" "$OUT/go/goserver" "$p" 1000000000 && n_http=$(http "$p")
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null
p=$(free_port)
start_server "$tmp/e" "$ELFIN" run -p "$p:8080" "$OUT/go/goserver" 8080 1000000000 && e_http=$(http "$p")
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null

p=$(free_port)
start_server "$tmp/n2" "$OUT/glibc/net_echo" "$p" 1 && n_echo=$(echo_mib "$p")
wait "$SERVER" 2>/dev/null
p=$(free_port)
start_server "$tmp/e2" "$ELFIN" run -p "$p:7" "$OUT/glibc/net_echo" 7 1 && e_echo=$(echo_mib "$p")
wait "$SERVER" 2>/dev/null

n_lo=$(loopback "$OUT/glibc/net_inet")
e_lo=$(loopback "$ELFIN" run "$OUT/glibc/net_inet")

printf '%-22s %14s %14s\n' figure native elfin
printf '%-22s %14s %14s\n' "http req/s" "${n_http%% *}" "${e_http%% *}"
printf '%-22s %14s %14s\n' "http p99" "${n_http##* }" "${e_http##* }"
printf '%-22s %14s %14s\n' "echo MiB/s (host)" "${n_echo:--}" "${e_echo:--}"
printf '%-22s %14s %14s\n' "loopback MiB/s" "${n_lo:--}" "${e_lo:--}"
