#!/usr/bin/env bash
# The cost of access control (issue 7).
#
#   bench/auth.sh [--wharfd PATH] [--duration D] [--connections N] [--rounds N]
#
# Measures, on one machine with wrk:
#   token issuance    GET /token?service=wharf&scope=repository:bench/app:pull with Basic auth
#                     (the credentials' argon2id check is cached, so this is scope lookup + ES256 signing)
#   first login       one token request each for 5 users never seen before (argon2id verify, uncached)
#   manifest GET      /v2/bench/app/manifests/v1 with access control off, then on with a Bearer
#                     token (verification cached per token), alternating, best of --rounds (default 3)
#                     each; prints the on/off ratios of throughput and of the server's CPU time per
#                     request (from /proc/PID/stat; robust on a shared machine; target <= 1.10)
# Needs: wrk, curl, python3, sha256sum.
set -euo pipefail

WHARFD=build/wharfd
DURATION=10s
CONNS=8
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --wharfd) WHARFD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/auth.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for t in wrk curl python3 sha256sum; do
  command -v "$t" >/dev/null || { echo "bench/auth.sh: $t is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/wharf-bench-auth.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # NAME PORT ARGS...
  local name=$1 port=$2; shift 2
  "$WHARFD" --listen "127.0.0.1:$port" --data "$WORK/$name" --no-access-log "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.05
  done
  echo "bench/auth.sh: wharfd $name did not start: $(tail -3 "$WORK/$name.log")" >&2; exit 1
}

push_image() { # PORT AUTH-HEADER-OR-EMPTY
  local base="http://127.0.0.1:$1" hdr=() f d
  [ -n "$2" ] && hdr=(-H "Authorization: $2")
  printf '{}' >"$WORK/config"; head -c 4096 /dev/urandom >"$WORK/layer"
  for f in config layer; do
    d=sha256:$(sha256sum "$WORK/$f" | cut -d' ' -f1)
    curl -sf "${hdr[@]}" -X POST --data-binary @"$WORK/$f" "$base/v2/bench/app/blobs/uploads/?digest=$d" >/dev/null
    eval "${f}_digest=$d"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":4096}]}' \
    "$config_digest" "$layer_digest" >"$WORK/manifest"
  curl -sf "${hdr[@]}" -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
    --data-binary @"$WORK/manifest" "$base/v2/bench/app/manifests/v1" >/dev/null
}

rps() { # wrk output -> requests/s
  awk '/Requests\/sec/ {print $2}'
}

cpu_ticks() { # PID -> user+system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# wrk against URL with extra headers; prints "REQ_PER_S CPU_US_PER_REQUEST" (the server's CPU)
measure() { # PID URL HEADER...
  local pid=$1 url=$2; shift 2
  local hdrs=() h out t0 t1 reqs
  for h in "$@"; do hdrs+=(-H "$h"); done
  t0=$(cpu_ticks "$pid")
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "${hdrs[@]}" "$url")
  t1=$(cpu_ticks "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$(echo "$out" | rps) $(python3 -c "import os,sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))*1e6/os.sysconf(\"SC_CLK_TCK\")/int(sys.argv[3]):.2f}')" "$t0" "$t1" "$reqs")"
}

check_status() { # URL HEADER: one request must answer 200
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$2" "$1")
  [ "$code" = 200 ] || { echo "bench/auth.sh: $1 answered $code" >&2; exit 1; }
}

ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json"
OFF=$(free_port); start off "$OFF"; OFF_PID=${PIDS[-1]}
push_image "$OFF" ""
check_status "http://127.0.0.1:$OFF/v2/bench/app/manifests/v1" "$ACCEPT"

ON=$(free_port)
printf 'bench-admin-pw\n' >"$WORK/pw"
start on "$ON" --auth --admin-user root --admin-password-file "$WORK/pw" --token-ttl 1h; ON_PID=${PIDS[-1]}
BASIC="Basic $(printf 'root:bench-admin-pw' | base64)"
push_image "$ON" "$BASIC"
TOKEN_URL="http://127.0.0.1:$ON/token?service=wharf&scope=repository:bench/app:pull"
TOKEN=$(curl -sf -H "Authorization: $BASIC" "$TOKEN_URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
check_status "http://127.0.0.1:$ON/v2/bench/app/manifests/v1" "Authorization: Bearer $TOKEN"
# Off and on alternate, ROUNDS times each; the best of each is compared, so a burst of load from
# elsewhere on a shared machine hurts neither side alone.
off_all=(); on_all=(); off_cpu=(); on_cpu=()
for _ in $(seq "$ROUNDS"); do
  read -r r c < <(measure "$OFF_PID" "http://127.0.0.1:$OFF/v2/bench/app/manifests/v1" "$ACCEPT")
  off_all+=("$r"); off_cpu+=("$c")
  read -r r c < <(measure "$ON_PID" "http://127.0.0.1:$ON/v2/bench/app/manifests/v1" "$ACCEPT" "Authorization: Bearer $TOKEN")
  on_all+=("$r"); on_cpu+=("$c")
done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
least() { printf '%s\n' "$@" | sort -g | head -1; }
off_rps=$(best "${off_all[@]}"); on_rps=$(best "${on_all[@]}")
off_us=$(least "${off_cpu[@]}"); on_us=$(least "${on_cpu[@]}")
check_status "$TOKEN_URL" "Authorization: $BASIC"
token_rps=$(wrk -t2 -c"$CONNS" -d"$DURATION" -H "Authorization: $BASIC" "$TOKEN_URL" | rps)

for i in 1 2 3 4 5; do
  curl -sf -u "root:bench-admin-pw" -H 'Content-Type: application/json' \
    -d "{\"name\":\"u$i\",\"password\":\"pw-$i-secret\"}" "http://127.0.0.1:$ON/api/v1/admin/users" >/dev/null
done
t0=$(date +%s%N)
for i in 1 2 3 4 5; do
  curl -sf -u "u$i:pw-$i-secret" "http://127.0.0.1:$ON/token?service=wharf" >/dev/null
done
login_ms=$(( ($(date +%s%N) - t0) / 5000000 ))

echo "token issuance (cached Basic, ES256 sign): $token_rps req/s"
echo "first login (argon2id verify): ${login_ms} ms per request"
echo "manifest GET, access control off: best $off_rps req/s, $off_us server CPU us/request (runs: ${off_all[*]})"
echo "manifest GET, access control on (Bearer): best $on_rps req/s, $on_us server CPU us/request (runs: ${on_all[*]})"
python3 -c "
import sys
r = float(sys.argv[2]) / float(sys.argv[1]); c = float(sys.argv[4]) / float(sys.argv[3])
print(f'throughput on/off: {r:.3f}; server CPU per request on/off: {c:.3f} (target: at most 10% slower: {\"pass\" if c <= 1.10 else \"FAIL\"})')
" "$off_rps" "$on_rps" "$off_us" "$on_us"
