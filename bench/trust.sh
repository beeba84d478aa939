#!/usr/bin/env bash
# Content trust: Debian's notary-server (memory storage) and wharfd side by side, in one run.
#
#   bench/trust.sh [--rounds N] [--duration SECONDS] [--wharfd PATH]
#
# Prints, for both servers and as the ratio wharf / notary-server:
#   - metadata GET req/s with wrk at 8 connections for timestamp.json and targets.json
#     (target: wharf >= 3x);
#   - `notary addhash` + `notary publish` latency over N rounds (default 50) with the real notary
#     client against each server (target: wharf <= 0.5x);
#   - with --tags N (default 10000; 0 skips): a repository with N signed tags on wharfd, then the
#     time of a first, complete client update and listing: `wharf trust ls` (TUF verification
#     in wharf) against `notary list`, each with empty client state.
# Needs: notary, notary-server, wrk (apt-get install -y notary wrk).
set -euo pipefail
rounds=50 duration=10 wharfd= tags=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2;;
    --duration) duration=$2; shift 2;;
    --wharfd) wharfd=$2; shift 2;;
    --tags) tags=$2; shift 2;;
    -h|--help) sed -n '2,13p' "$0"; exit 0;;
    *) echo "bench/trust.sh: unknown argument $1 (see --help)" >&2; exit 2;;
  esac
done
cd "$(dirname "$0")/.."
for t in notary notary-server wrk python3; do
  command -v "$t" >/dev/null || { echo "bench/trust.sh: $t is missing (apt-get install -y ${t/python3/python3})" >&2; exit 2; }
done
if [ -z "$wharfd" ]; then
  [ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
  ninja -C build-bench wharfd wharf >/dev/null
  wharfd=build-bench/wharfd
fi
wharf=$(dirname "$wharfd")/wharf

work=$(mktemp -d /tmp/wharf-bench-trust-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

np=$(free_port); wp=$(free_port)
cat > "$work/notary-server.json" <<JSON
{"server":{"http_addr":"127.0.0.1:$np"},"trust_service":{"type":"local"},"storage":{"backend":"memory"},"logging":{"level":"error"}}
JSON
notary-server -config "$work/notary-server.json" >"$work/notary-server.log" 2>&1 & pids+=($!)
"$wharfd" --listen "127.0.0.1:$wp" --data "$work/wharf-data" --no-access-log >"$work/wharfd.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$np/_notary_server/health"
wait_http "http://127.0.0.1:$wp/v2/"

export NOTARY_ROOT_PASSPHRASE=bench-root-1234 NOTARY_TARGETS_PASSPHRASE=bench-targets-1234 \
       NOTARY_SNAPSHOT_PASSPHRASE=bench-snapshot-1234
declare -A gun lat get_ts get_tg
for name in notary wharf; do
  port=$np; [ $name = wharf ] && port=$wp
  g="127.0.0.1:$port/bench/app"; gun[$name]=$g
  dir="$work/trust-$name"
  notary -s "http://127.0.0.1:$port" -d "$dir" init "$g" >/dev/null
  notary -s "http://127.0.0.1:$port" -d "$dir" publish "$g" >/dev/null
  # add + publish rounds, timed one by one
  start=$(date +%s%N)
  for i in $(seq "$rounds"); do
    hex=$(printf '%064x' "$i")
    notary -s "http://127.0.0.1:$port" -d "$dir" addhash "$g" "t$i" 1000 --sha256 "$hex" >/dev/null
    notary -s "http://127.0.0.1:$port" -d "$dir" publish "$g" >/dev/null
  done
  lat[$name]=$(( ($(date +%s%N) - start) / rounds / 1000000 ))
  for role in timestamp targets; do
    url="http://127.0.0.1:$port/v2/$g/_trust/tuf/$role.json"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] || { echo "$url does not answer 200" >&2; exit 1; }
    rps=$(wrk -t2 -c8 -d"${duration}s" "$url" | awk '/Requests\/sec/ {print int($2)}')
    if [ $role = timestamp ]; then get_ts[$name]=$rps; else get_tg[$name]=$rps; fi
  done
done

# A repository with many signed tags: stage them (two at a time), publish once, then time a
# first complete update + listing by each client, from empty client state.
big_wharf_ms= big_notary_ms=
if [ "$tags" -gt 0 ]; then
  g="127.0.0.1:$wp/bench/many"; dir="$work/trust-many"
  notary -s "http://127.0.0.1:$wp" -d "$dir" init "$g" >/dev/null
  seq 1 "$tags" | xargs -P2 -I{} sh -c "notary -s http://127.0.0.1:$wp -d $dir addhash $g t{} 1000 --sha256 \$(printf '%064x' {}) >/dev/null"
  notary -s "http://127.0.0.1:$wp" -d "$dir" publish "$g" >/dev/null
  start=$(date +%s%N)
  n=$(WHARF_HOME="$work/wharf-home" "$wharf" trust ls -s "http://127.0.0.1:$wp" --json "$g" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d if isinstance(d, list) else d.get("targets", d)))')
  big_wharf_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  start=$(date +%s%N)
  notary -s "http://127.0.0.1:$wp" -d "$work/notary-fresh" list "$g" >/dev/null
  big_notary_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "repository with $tags tags: wharf trust ls listed $n targets"
fi

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
verdict() { python3 -c "print('PASS' if $1 else 'FAIL')"; }
printf '\n%-38s %14s %14s %8s  %s\n' "figure" "notary-server" "wharfd" "ratio" "target"
r=$(ratio "${get_ts[wharf]}" "${get_ts[notary]}")
printf '%-38s %14s %14s %8s  %s\n' "timestamp.json GET req/s (wrk -c8)" "${get_ts[notary]}" "${get_ts[wharf]}" "$r" ">=3x $(verdict "$r >= 3")"
r=$(ratio "${get_tg[wharf]}" "${get_tg[notary]}")
printf '%-38s %14s %14s %8s  %s\n' "targets.json GET req/s (wrk -c8)" "${get_tg[notary]}" "${get_tg[wharf]}" "$r" ">=3x $(verdict "$r >= 3")"
r=$(ratio "${lat[wharf]}" "${lat[notary]}")
printf '%-38s %14s %14s %8s  %s\n' "notary addhash+publish ms (mean of $rounds)" "${lat[notary]}" "${lat[wharf]}" "$r" "<=0.5x $(verdict "$r <= 0.5")"
if [ -n "$big_wharf_ms" ]; then
  printf '%-38s %14s %14s %8s  %s\n' "first update+list, $tags tags (ms)" "$big_notary_ms" "$big_wharf_ms" "$(ratio "$big_wharf_ms" "$big_notary_ms")" "info (notary list vs wharf trust ls, both against wharfd)"
fi
echo
echo "client-side cost included in the publish figure: both runs use the same notary client"
