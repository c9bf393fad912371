#!/usr/bin/env bash
# Server benchmark: nginx and redis-server from Debian's sources (static-PIE,
# static-pie-apps/build.sh), natively and in elfin (reached from the host
# through `elfin run -p`, QEMU user networking), side by side. Not part of
# `cargo test`.
#
#   tests/bench/servers.sh [SECONDS]     (default 5; needs wrk)
#
# Figures:
#   nginx req/s, p99   wrk -c 8 -t 2 for SECONDS, GET of a static file: the
#                      guest's own /etc/passwd (in its RAM; natively a copy of
#                      it), and a 4 KiB file on a `-v` volume (9p: every
#                      request opens and reads it on the host)
#   redis SET/GET /s   redis-benchmark (built with the server) -c 8 -n 20000
#                      -P 1, and -P 16 (pipelined)
# elfin runs under TCG here (KVM when the host has VT-x/AMD-V); QEMU user
# networking sits between the host and the guest, so the elfin figures include
# its cost.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ELFIN=${ELFIN_BIN:-$HERE/target/release/elfin}
OUT=$HERE/static-pie-apps/out/x86_64/debian
SECS=${1:-5}
[[ -x $ELFIN ]] || { echo "servers.sh: build the CLI first: cargo build --release -p elfin-cli" >&2; exit 1; }
for p in nginx redis-server redis-benchmark redis-cli busybox; do
    [[ -e $OUT/$p ]] || { echo "servers.sh: build the apps first: static-pie-apps/build.sh ($p is missing)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "servers.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
SERVER=
trap '[[ -n $SERVER ]] && kill $SERVER 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/www"
head -c 4096 /dev/zero | tr '\0' x >"$tmp/www/page.html"

# nginx_conf PORT [ROOT]: a minimal configuration under $tmp serving ROOT
# (default $tmp/www).
nginx_conf() {
    cat >"$tmp/nginx-$1.conf" <<CONF
worker_processes 1;
error_log stderr;
pid $tmp/nginx-$1.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server { listen $1; root ${2:-$tmp/www}; }
}
CONF
    echo "$tmp/nginx-$1.conf"
}

# start SERVER_CMD...: in the background, output to $tmp/server.log.
start() { "$@" >"$tmp/server.log" 2>&1 & SERVER=$!; }
stop() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=; }

# wrk_at PORT FILE: "req/s p99" (waits for a real answer first: QEMU accepts early)
wrk_at() {
    local port=$1 url="http://127.0.0.1:$1/$2" out rps p99
    for _ in $(seq 150); do curl -sf -m 2 -o /dev/null "$url" && break; sleep 0.2; done
    out=$(wrk -c 8 -t 2 -d "${SECS}s" --latency "$url" 2>&1)
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    echo "${rps:--} ${p99:--}"
}

# redis_at PORT PIPELINE: "SET/s GET/s"
redis_at() {
    local port=$1 pl=$2 out set get
    for _ in $(seq 150); do [[ $("$OUT/redis-cli" -p "$port" PING 2>/dev/null) == PONG ]] && break; sleep 0.2; done
    out=$("$OUT/redis-benchmark" -p "$port" -c 8 -n 20000 -P "$pl" -t set,get -q 2>&1 | tr '\r' '\n')
    set=$(awk -F'[: ]+' '/^SET: / { print $2 }' <<<"$out" | tail -n1)
    get=$(awk -F'[: ]+' '/^GET: / { print $2 }' <<<"$out" | tail -n1)
    echo "${set:--} ${get:--}"
}

# The guest's /etc/passwd, natively served from a copy.
"$ELFIN" run "$OUT/busybox" cat /etc/passwd >"$tmp/www/passwd" 2>/dev/null
p=$(free_port)
start "$OUT/nginx" -p "$tmp/" -g 'daemon off;' -c "$(nginx_conf "$p")"
n_ram=$(wrk_at "$p" passwd)
n_vol=$(wrk_at "$p" page.html)
stop
p=$(free_port)
start "$ELFIN" run -v "$tmp:$tmp" -p "$p:80" "$OUT/nginx" -p "$tmp/" -g 'daemon off;' -c "$(nginx_conf 80 /etc)"
e_ram=$(wrk_at "$p" passwd)
stop
p=$(free_port)
start "$ELFIN" run -v "$tmp:$tmp" -p "$p:80" "$OUT/nginx" -p "$tmp/" -g 'daemon off;' -c "$(nginx_conf 80)"
e_vol=$(wrk_at "$p" page.html)
stop

redis_args=(--save '' --appendonly no --protected-mode no --loglevel warning)
p=$(free_port)
start "$OUT/redis-server" --port "$p" "${redis_args[@]}"
n_r1=$(redis_at "$p" 1)
n_r16=$(redis_at "$p" 16)
stop
p=$(free_port)
start "$ELFIN" run -p "$p:6379" "$OUT/redis-server" --port 6379 "${redis_args[@]}"
e_r1=$(redis_at "$p" 1)
e_r16=$(redis_at "$p" 16)
stop

printf '%-24s %14s %14s\n' figure native elfin
printf '%-24s %14s %14s\n' "nginx req/s (RAM)" "${n_ram%% *}" "${e_ram%% *}"
printf '%-24s %14s %14s\n' "nginx p99 (RAM)" "${n_ram##* }" "${e_ram##* }"
printf '%-24s %14s %14s\n' "nginx req/s (volume)" "${n_vol%% *}" "${e_vol%% *}"
printf '%-24s %14s %14s\n' "nginx p99 (volume)" "${n_vol##* }" "${e_vol##* }"
printf '%-24s %14s %14s\n' "redis SET/s" "${n_r1%% *}" "${e_r1%% *}"
printf '%-24s %14s %14s\n' "redis GET/s" "${n_r1##* }" "${e_r1##* }"
printf '%-24s %14s %14s\n' "redis SET/s (-P 16)" "${n_r16%% *}" "${e_r16%% *}"
printf '%-24s %14s %14s\n' "redis GET/s (-P 16)" "${n_r16##* }" "${e_r16##* }"
