#!/usr/bin/env bash
# bench/registry.sh: measure wharfd against Debian's docker-registry (distribution 2.x) on this
# machine, in one run, and print every figure for both with the ratio wharf/docker-registry.
# See docs/benchmarks.md for how to read the results.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/registry.sh [OPTIONS]

Start Debian's docker-registry and a release build of wharfd side by side on free loopback
ports (each with its own temporary data directory), run the same workload against both and
print a table: figure for docker-registry, figure for wharf, ratio wharf/docker-registry,
target and PASS/FAIL.

Workload (defaults):
  push, monolithic  POST /v2/<repo>/blobs/uploads/, then one PUT ?digest= carrying the
                    whole 256 MiB random file (curl -T); fresh data each time, median of 3
  push, chunked     POST, 16 MiB PATCHes with Content-Range, final PUT ?digest=, all on one
                    keep-alive connection (bench/chunked_push.py); fresh data, median of 3
  pull              GET of the 256 MiB blob to /dev/null, median of 3
  manifest GET      wrk -t2 -d10s at 1, 8, 32 and 128 connections on /v2/<repo>/manifests/<tag>
                    with an OCI manifest Accept header (a real 2-blob OCI image is pushed first)
  blob HEAD         ab -i -k -n 20000 -c 32 (wrk cannot do HEAD)
  RSS               VmRSS right after start (idle), and the maximum VmRSS sampled every 50 ms
                    during the 128-connection wrk run (peak)

Targets (wharf / docker-registry): manifest GET >= 10x, push >= 2x, pull >= 1x, RSS <= 0.25x.
MB/s means 10^6 bytes per second.

Options:
  --size-mib N        blob size for push/pull in MiB (default 256)
  --chunk-mib N       chunk size of the chunked push in MiB (default 16)
  --reps N            repetitions of each push and pull; the median is reported (default 3)
  --wrk-duration D    duration of each wrk run (default 10s)
  --connections LIST  wrk connection counts, comma separated (default 1,8,32,128)
  --build-dir DIR     meson build directory for the release build (default build-bench)
  --wharfd PATH       use this wharfd binary instead of building one
  --strict            exit with status 3 when any target fails (default: 0 once all ran)
  --wait-idle SECS    before starting, wait up to SECS for the machine to be quiet (other
                      processes below 10% of all CPUs over one second); default 0: just report
  --nice N            run servers and load tools at this nice level (e.g. -10; negative needs
                      root), so other jobs on a shared machine disturb the figures less
  --keep              keep the temporary directory (data, logs, raw tool output)
  -h, --help          show this help and exit

Needs: docker-registry, wrk, apache2-utils (ab), curl, meson, ninja-build, python3, coreutils.
Run from anywhere; the build directory is relative to the repository root.
EOF
}

die() {
	echo "registry.sh: $*" >&2
	exit 1
}

SIZE_MIB=256
CHUNK_MIB=16
REPS=3
WRK_DURATION=10s
CONNECTIONS=1,8,32,128
BUILD_DIR=build-bench
WHARFD=
STRICT=0
KEEP=0
WAIT_IDLE=0
NICE=
AB_N=20000
AB_C=32

positive_int() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 '$2' must be a positive whole number"
}

while (($#)); do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--size-mib) positive_int "$1" "${2-}"; SIZE_MIB=$2; shift 2 ;;
	--chunk-mib) positive_int "$1" "${2-}"; CHUNK_MIB=$2; shift 2 ;;
	--reps) positive_int "$1" "${2-}"; REPS=$2; shift 2 ;;
	--wrk-duration) [[ ${2-} =~ ^[1-9][0-9]*[smh]?$ ]] || die "--wrk-duration '${2-}' is not like 10s"
		WRK_DURATION=$2; shift 2 ;;
	--connections) [[ ${2-} =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--connections '${2-}' is not like 1,8,32"
		CONNECTIONS=$2; shift 2 ;;
	--build-dir) [[ -n ${2-} ]] || die "--build-dir needs a directory"; BUILD_DIR=$2; shift 2 ;;
	--wharfd) [[ -n ${2-} ]] || die "--wharfd needs a path"; WHARFD=$2; shift 2 ;;
	--strict) STRICT=1; shift ;;
	--keep) KEEP=1; shift ;;
	--nice) [[ ${2-} =~ ^-?[0-9]+$ ]] || die "--nice '${2-}' must be a whole number"; NICE=$2; shift 2 ;;
	--wait-idle) [[ ${2-} =~ ^[0-9]+$ ]] || die "--wait-idle '${2-}' must be a number of seconds"
		WAIT_IDLE=$2; shift 2 ;;
	*) echo "registry.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

# --- tools -------------------------------------------------------------------------------
missing=()
need() { # command package
	command -v "$1" >/dev/null 2>&1 || missing+=("$1 (apt-get install $2)")
}
need docker-registry docker-registry
need wrk wrk
need ab apache2-utils
need curl curl
need python3 python3
need sha256sum coreutils
need tar tar
need gzip gzip
if [[ -z $WHARFD ]]; then
	need meson meson
	need ninja ninja-build
fi
if ((${#missing[@]})); then
	printf 'registry.sh: missing tool: %s\n' "${missing[@]}" >&2
	exit 1
fi
((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 (for EPOCHREALTIME)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# --- temporary state and cleanup ---------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wharf-bench.XXXXXX")
PIDS=() # every process this script starts and has not stopped yet

forget_pid() { # pid: no longer ours to stop
	local i
	for i in "${!PIDS[@]}"; do
		if [[ ${PIDS[i]} == "$1" ]]; then unset 'PIDS[i]'; fi
	done
	return 0
}

stop_pid() { # pid: stop one process we started, and forget it
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}

run_tool() { # out-file command...: run a long load tool in the background and wait for it, so
	# that INT/TERM are handled at once (bash runs traps only between foreground commands)
	local out=$1 pid rc=0
	shift
	"$@" >"$out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	forget_pid "$pid"
	return "$rc"
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if ((KEEP)); then
		echo "registry.sh: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- small helpers -----------------------------------------------------------------------
cpu_jiffies() { # -> "busy total" over all CPUs since boot, in clock ticks
	awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat
}

busy_pct() { # seconds -> percent of all CPUs busy over that interval
	local b0 t0 b1 t1
	read -r b0 t0 < <(cpu_jiffies)
	sleep "$1"
	read -r b1 t1 < <(cpu_jiffies)
	awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }'
}

proc_ticks() { # pid -> utime + stime in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

sched_ns() { # pid field -> sum over the process's threads of /proc/.../schedstat field
	# (1: nanoseconds on a CPU, 2: nanoseconds waiting on a runqueue)
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk -v f="$2" '{ s += $f } END { printf "%.0f", s }'
}

children_secs() { # CPU seconds of waited-for descendants of this shell (from `times`)
	times | awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.2f", t }'
}

now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "${t#0}"; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rss_kib() { # pid -> VmRSS in KiB, without forking
	local k v _
	while read -r k v _; do
		if [[ $k == VmRSS: ]]; then
			echo "$v"
			return 0
		fi
	done <"/proc/$1/status"
	return 1
}

status_field_kib() { # pid field -> KiB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

median() { # values... -> median (mean of the middle two for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mbps() { # bytes microseconds -> MB/s (10^6 bytes)
	awk -v b="$1" -v us="$2" 'BEGIN { printf "%.1f", (us > 0 ? b / us : 0) }'
}

header_value() { # file name -> value of the last such header (CR stripped)
	awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$2")" '
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
		END { print v }' "$1"
}

absolute() { # base location -> absolute URL
	case $2 in
	http://* | https://*) echo "$2" ;;
	/*) echo "$1$2" ;;
	*) die "unexpected Location '$2'" ;;
	esac
}

with_query() { # url key=value
	case $1 in
	*\?*) echo "$1&$2" ;;
	*) echo "$1?$2" ;;
	esac
}

fail_request() { # what status body-file
	echo "registry.sh: $1: HTTP $2" >&2
	[[ -s $3 ]] && head -c 600 "$3" >&2 && echo >&2
	exit 1
}

# --- other load on the machine -----------------------------------------------------------
LOAD_BEFORE=$(busy_pct 1)
for ((waited = 1; waited < WAIT_IDLE && LOAD_BEFORE >= 10; waited++)); do
	LOAD_BEFORE=$(busy_pct 1)
done
if ((LOAD_BEFORE >= 10)); then
	log "warning: other processes keep ${LOAD_BEFORE}% of all CPUs busy; figures will be low and noisy"
	ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk 'NR <= 5 { print "    " $0 }' >&2
fi

if [[ -n $NICE ]]; then
	# Children inherit it: both servers, curl, wrk and ab get the same priority.
	renice -n "$NICE" -p $$ >/dev/null || die "cannot renice to $NICE (negative levels need root)"
fi

# --- build -------------------------------------------------------------------------------
BUILT=0
if [[ -z $WHARFD ]]; then
	# -Dwerror=false: the project defaults to werror=true, and GCC 12 at -O3 reports a
	# false -Wmaybe-uninitialized that would stop a release build (see docs/benchmarks.md).
	if [[ -f $BUILD_DIR/build.ninja ]]; then
		meson configure "$BUILD_DIR" -Dbuildtype=release -Dwerror=false >"$TMP/build.log" 2>&1 ||
			{ cat "$TMP/build.log" >&2; die "meson configure failed"; }
	else
		log "meson setup $BUILD_DIR --buildtype=release -Dwerror=false"
		meson setup "$BUILD_DIR" --buildtype=release -Dwerror=false >"$TMP/build.log" 2>&1 ||
			{ cat "$TMP/build.log" >&2; die "meson setup failed"; }
	fi
	log "ninja -C $BUILD_DIR wharfd"
	ninja -C "$BUILD_DIR" wharfd >>"$TMP/build.log" 2>&1 || { cat "$TMP/build.log" >&2; die "build failed"; }
	WHARFD=$BUILD_DIR/wharfd
	BUILT=1
fi
[[ -x $WHARFD ]] || die "$WHARFD is not an executable"
WHARFD=$(cd "$(dirname "$WHARFD")" && pwd)/$(basename "$WHARFD")

# --- servers -----------------------------------------------------------------------------
wait_ready() { # name pid base logfile
	local i code
	for ((i = 0; i < 200; i++)); do
		kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$1 exited during start"; }
		code=$(curl -s -o /dev/null -w '%{http_code}' "$3/v2/" || true)
		[[ $code == 200 ]] && return 0
		sleep 0.05
	done
	cat "$4" >&2
	die "$1 did not answer 200 on $3/v2/ within 10 s"
}

read -r RUN_BUSY0 RUN_TOTAL0 < <(cpu_jiffies)
RUN_CHILD0=$(children_secs)
DR_PORT=$(free_port)
mkdir -p "$TMP/dr-data" "$TMP/wharf-data"
# Debian's shipped config also enables the in-memory blob descriptor cache: keep it, so the
# peer runs as it is normally deployed. Access log off, only errors logged.
cat >"$TMP/dr-config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $TMP/dr-data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$DR_PORT
EOF
docker-registry serve "$TMP/dr-config.yml" >"$TMP/dr.log" 2>&1 &
DR_PID=$!
PIDS+=("$DR_PID")
DR_BASE=http://127.0.0.1:$DR_PORT

WH_PORT=$(free_port)
"$WHARFD" --listen "127.0.0.1:$WH_PORT" --data "$TMP/wharf-data" --no-access-log --log-level warn \
	>"$TMP/wharfd.log" 2>&1 &
WH_PID=$!
PIDS+=("$WH_PID")
WH_BASE=http://127.0.0.1:$WH_PORT

wait_ready docker-registry "$DR_PID" "$DR_BASE" "$TMP/dr.log"
wait_ready wharfd "$WH_PID" "$WH_BASE" "$TMP/wharfd.log"
sleep 1 # let both settle (Go starts its background goroutines lazily)

declare -A R # R[metric,dr] / R[metric,wh]
R[rss_idle,dr]=$(mib "$(rss_kib "$DR_PID")")
R[rss_idle,wh]=$(mib "$(rss_kib "$WH_PID")")
log "docker-registry pid $DR_PID on $DR_BASE, wharfd pid $WH_PID on $WH_BASE"
log "idle RSS: docker-registry ${R[rss_idle,dr]} MiB, wharf ${R[rss_idle,wh]} MiB"

SERVERS=(dr wh)
declare -A BASE=([dr]=$DR_BASE [wh]=$WH_BASE)
declare -A PID=([dr]=$DR_PID [wh]=$WH_PID)
declare -A NAME=([dr]=docker-registry [wh]=wharf)

# --- registry operations -----------------------------------------------------------------
upload_start() { # base repo -> absolute upload URL
	local code
	code=$(curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' -X POST -H 'Content-Length: 0' \
		"$1/v2/$2/blobs/uploads/")
	[[ $code == 202 ]] || fail_request "POST $1/v2/$2/blobs/uploads/" "$code" "$TMP/b"
	absolute "$1" "$(header_value "$TMP/h" Location)"
}

push_monolithic() { # base repo file digest -> microseconds
	local t0 loc code
	t0=$(now_us)
	loc=$(upload_start "$1" "$2")
	code=$(curl -s -o "$TMP/b" -w '%{http_code}' -H 'Expect:' -H 'Content-Type: application/octet-stream' \
		-T "$3" "$(with_query "$loc" "digest=$4")")
	[[ $code == 201 ]] || fail_request "monolithic PUT to $1" "$code" "$TMP/b"
	echo $(($(now_us) - t0))
}

push_chunked() { # base repo file digest -> microseconds
	# One keep-alive connection for POST, the PATCHes and the PUT, as real clients do;
	# a curl process per PATCH would add fork and connect time that is not the server's.
	python3 "$ROOT/bench/chunked_push.py" "$1" "$2" "$3" $((CHUNK_MIB * 1048576)) "$4"
}

pull_blob() { # base repo digest size -> microseconds
	local t0 out
	t0=$(now_us)
	out=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$1/v2/$2/blobs/$3")
	[[ $out == "200 $4" ]] || die "GET blob from $1 gave '$out', wanted '200 $4'"
	echo $(($(now_us) - t0))
}

make_random() { # file bytes
	head -c "$2" /dev/urandom >"$1"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- pushes and pulls --------------------------------------------------------------------
SIZE=$((SIZE_MIB * 1048576))
declare -A T # T[metric,server] = space-separated list of microseconds
declare -A C # C[metric,server] = space-separated list of server CPU clock ticks
for s in "${SERVERS[@]}"; do
	for m in push_mono push_chunk pull; do T[$m,$s]=; C[$m,$s]=; done
done
PULL_DIGEST=

for ((rep = 1; rep <= REPS; rep++)); do
	log "push rep $rep/$REPS: $SIZE_MIB MiB of fresh random data"
	make_random "$TMP/blob" "$SIZE"
	d=sha256:$(sha "$TMP/blob")
	if [[ -z $PULL_DIGEST ]]; then PULL_DIGEST=$d; fi
	for s in "${SERVERS[@]}"; do
		c0=$(sched_ns "${PID[$s]}" 1)
		us=$(push_monolithic "${BASE[$s]}" bench/big "$TMP/blob" "$d")
		T[push_mono,$s]+=" $us"
		C[push_mono,$s]+=" $(($(sched_ns "${PID[$s]}" 1) - c0))"
		log "  monolithic ${NAME[$s]}: $(mbps "$SIZE" "$us") MB/s"
	done
	rm -f "$TMP/blob"

	make_random "$TMP/blob" "$SIZE"
	d=sha256:$(sha "$TMP/blob")
	for s in "${SERVERS[@]}"; do
		c0=$(sched_ns "${PID[$s]}" 1)
		us=$(push_chunked "${BASE[$s]}" bench/big "$TMP/blob" "$d")
		T[push_chunk,$s]+=" $us"
		C[push_chunk,$s]+=" $(($(sched_ns "${PID[$s]}" 1) - c0))"
		log "  chunked ${NAME[$s]}: $(mbps "$SIZE" "$us") MB/s"
	done
	rm -f "$TMP/blob"
done

for ((rep = 1; rep <= REPS; rep++)); do
	for s in "${SERVERS[@]}"; do
		c0=$(sched_ns "${PID[$s]}" 1)
		us=$(pull_blob "${BASE[$s]}" bench/big "$PULL_DIGEST" "$SIZE")
		T[pull,$s]+=" $us"
		C[pull,$s]+=" $(($(sched_ns "${PID[$s]}" 1) - c0))"
		log "pull rep $rep ${NAME[$s]}: $(mbps "$SIZE" "$us") MB/s"
	done
done

for m in push_mono push_chunk pull; do
	for s in "${SERVERS[@]}"; do
		rates=()
		for us in ${T[$m,$s]}; do rates+=("$(mbps "$SIZE" "$us")"); done
		R[$m,$s]=$(median "${rates[@]}")
		R[$m,$s,all]="${rates[*]}"
		# server CPU seconds per GB (10^9 bytes) moved
		R[cpu_$m,$s]=$(awk -v ns="$(median ${C[$m,$s]})" -v b="$SIZE" 'BEGIN { printf "%.2f", ns / b }')
	done
done

# --- a small real OCI image for the manifest and HEAD runs --------------------------------
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
mkdir -p "$TMP/img/root"
head -c 8192 /dev/urandom >"$TMP/img/root/payload.bin"
tar -C "$TMP/img/root" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$TMP/img/layer.tar" payload.bin
gzip -n -c "$TMP/img/layer.tar" >"$TMP/img/layer.tar.gz"
LAYER_DIGEST=sha256:$(sha "$TMP/img/layer.tar.gz")
LAYER_SIZE=$(stat -c %s "$TMP/img/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$(sha "$TMP/img/layer.tar")" >"$TMP/img/config.json"
CONFIG_DIGEST=sha256:$(sha "$TMP/img/config.json")
CONFIG_SIZE=$(stat -c %s "$TMP/img/config.json")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
	"$OCI_MANIFEST" "$CONFIG_DIGEST" "$CONFIG_SIZE" "$LAYER_DIGEST" "$LAYER_SIZE" >"$TMP/img/manifest.json"
MANIFEST_DIGEST=sha256:$(sha "$TMP/img/manifest.json")
REPO=bench/small
TAG=v1

for s in "${SERVERS[@]}"; do
	b=${BASE[$s]}
	push_monolithic "$b" "$REPO" "$TMP/img/config.json" "$CONFIG_DIGEST" >/dev/null
	push_monolithic "$b" "$REPO" "$TMP/img/layer.tar.gz" "$LAYER_DIGEST" >/dev/null
	code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X PUT -H "Content-Type: $OCI_MANIFEST" \
		--data-binary "@$TMP/img/manifest.json" "$b/v2/$REPO/manifests/$TAG")
	[[ $code == 201 ]] || fail_request "manifest PUT to ${NAME[$s]}" "$code" "$TMP/b"
	code=$(curl -s -D "$TMP/h" -o "$TMP/got" -w '%{http_code}' -H "Accept: $OCI_MANIFEST" \
		"$b/v2/$REPO/manifests/$TAG")
	[[ $code == 200 ]] || fail_request "manifest GET from ${NAME[$s]}" "$code" "$TMP/got"
	cmp -s "$TMP/got" "$TMP/img/manifest.json" || die "${NAME[$s]} returned a different manifest body"
	[[ $(header_value "$TMP/h" Docker-Content-Digest) == "$MANIFEST_DIGEST" ]] ||
		die "${NAME[$s]} returned Docker-Content-Digest '$(header_value "$TMP/h" Docker-Content-Digest)'"
	code=$(curl -s -I -o /dev/null -w '%{http_code}' "$b/v2/$REPO/blobs/$LAYER_DIGEST")
	[[ $code == 200 ]] || die "blob HEAD on ${NAME[$s]} gave $code"
done
log "pushed $REPO:$TAG ($MANIFEST_DIGEST) to both"

# --- manifest GET with wrk ---------------------------------------------------------------
IFS=, read -r -a CONNS <<<"$CONNECTIONS"
MAXC=0
for c in "${CONNS[@]}"; do if ((c > MAXC)); then MAXC=$c; fi; done
for s in "${SERVERS[@]}"; do R[rss_peak,$s]=nan; done

wrk_run() { # server connections
	local s=$1 c=$2 threads=2 out=$TMP/wrk-$1-$2.txt sampler= peak
	if ((c < threads)); then threads=$c; fi # wrk needs at least one connection per thread
	if ((c == MAXC)); then
		: >"$TMP/rss-$s.txt"
		(
			while rss_kib "${PID[$s]}" >>"$TMP/rss-$s.txt" 2>/dev/null; do sleep 0.05; done
		) &
		sampler=$!
		PIDS+=("$sampler")
	fi
	local c0
	c0=$(sched_ns "${PID[$s]}" 1)
	run_tool "$out" wrk -t"$threads" -c"$c" -d"$WRK_DURATION" --latency -H "Accept: $OCI_MANIFEST" \
		"${BASE[$s]}/v2/$REPO/manifests/$TAG" || { cat "$out" >&2; die "wrk failed"; }
	R[cpu_get_c$c,$s]=$(awk -v ns=$(($(sched_ns "${PID[$s]}" 1) - c0)) \
		'/ requests in / { n = $1 } END { printf "%.1f", (n > 0 ? ns / 1e3 / n : 0) }' "$out")
	if [[ -n $sampler ]]; then
		stop_pid "$sampler"
		peak=$(sort -n "$TMP/rss-$s.txt" | tail -1)
		R[rss_peak,$s]=$(mib "${peak:-0}")
		R[rss_samples,$s]=$(wc -l <"$TMP/rss-$s.txt")
	fi
	R[get_c$c,$s]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	R[get_c$c,$s,p99]=$(awk '$1 == "99%" { print $2 }' "$out")
	R[get_c$c,$s,bad]=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ {
		for (i = 3; i <= NF; i += 2) n += $(i + 1) } END { print n + 0 }' "$out" | tr -d ',')
	[[ -n ${R[get_c$c,$s]} ]] || { cat "$out" >&2; die "could not read wrk output"; }
	log "manifest GET ${NAME[$s]} c=$c: ${R[get_c$c,$s]} req/s (p99 ${R[get_c$c,$s,p99]}, errors ${R[get_c$c,$s,bad]})"
}

for c in "${CONNS[@]}"; do
	for s in "${SERVERS[@]}"; do
		wrk_run "$s" "$c"
	done
done

# --- blob HEAD with ab -------------------------------------------------------------------
for s in "${SERVERS[@]}"; do
	out=$TMP/ab-$s.txt
	c0=$(sched_ns "${PID[$s]}" 1)
	run_tool "$out" ab -q -i -k -n "$AB_N" -c "$AB_C" "${BASE[$s]}/v2/$REPO/blobs/$LAYER_DIGEST" ||
		{ cat "$out" >&2; die "ab failed against ${NAME[$s]}"; }
	R[head,$s]=$(awk '/^Requests per second:/ { printf "%.0f", $4 }' "$out")
	R[cpu_head,$s]=$(awk -v ns=$(($(sched_ns "${PID[$s]}" 1) - c0)) \
		'/^Complete requests:/ { n = $3 } END { printf "%.1f", (n > 0 ? ns / 1e3 / n : 0) }' "$out")
	R[head,$s,bad]=$(awk '/^Failed requests:/ { n += $3 } /^Non-2xx responses:/ { n += $3 } END { print n + 0 }' "$out")
	R[head,$s,ka]=$(awk '/^Keep-Alive requests:/ { print $3 }' "$out")
	log "blob HEAD ${NAME[$s]}: ${R[head,$s]} req/s (failed ${R[head,$s,bad]}, keep-alive ${R[head,$s,ka]:-0})"
done

for s in "${SERVERS[@]}"; do
	kill -0 "${PID[$s]}" 2>/dev/null || die "${NAME[$s]} died during the run (log: $(tail -5 "$TMP/$s.log"))"
	R[hwm,$s]=$(mib "$(status_field_kib "${PID[$s]}" VmHWM)")
	R[runq,$s]=$(awk -v ns="$(sched_ns "${PID[$s]}" 2)" 'BEGIN { printf "%.1f", ns / 1e9 }')
done
# CPU used by processes outside this run (tools, servers, this shell) while it ran
read -r RUN_BUSY1 RUN_TOTAL1 < <(cpu_jiffies)
OURS_TICKS=$(awk -v a="$(proc_ticks "$DR_PID")" -v b="$(proc_ticks "$WH_PID")" -v c="$(children_secs)" \
	 -v c0="$RUN_CHILD0" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", a + b + (c - c0) * hz }')
LOAD_DURING=$(awk -v b=$((RUN_BUSY1 - RUN_BUSY0)) -v t=$((RUN_TOTAL1 - RUN_TOTAL0)) -v o="$OURS_TICKS" \
	'BEGIN { f = (t > 0 ? 100 * (b - o) / t : 0); printf "%.0f", (f < 0 ? 0 : f) }')

# --- report ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan") print "nan"; else printf "%.2f", a / b }'; }
verdict() { # ratio op target
	awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (r == "nan") { print "n/a"; exit }
		ok = (op == ">=") ? (r + 0 >= t + 0) : (r + 0 <= t + 0); print ok ? "PASS" : "FAIL" }'
}

FAILS=0
row() { # label unit metric op target
	local dr=${R[$3,dr]} wh=${R[$3,wh]} r v tgt
	r=$(ratio "$wh" "$dr")
	if [[ -n $4 ]]; then
		v=$(verdict "$r" "$4" "$5")
		tgt="$4 $5x"
	else
		v=info
		tgt=-
	fi
	if [[ $v == FAIL ]]; then FAILS=$((FAILS + 1)); fi
	printf '| %-32s | %-6s | %15s | %10s | %6s | %8s | %-6s |\n' "$1" "$2" "$dr" "$wh" "$r" "$tgt" "$v"
}

echo
echo "wharf benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r)"
if ((BUILT)); then
	SRC_DESC="built from $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src include meson.build 2>/dev/null || echo ' with uncommitted src changes')"
else
	SRC_DESC="binary $WHARFD"
fi
echo "wharfd $("$WHARFD" --version | awk '{ print $2 }') ($SRC_DESC), $(docker-registry --version 2>&1 | head -1)"
echo "other processes: ${LOAD_BEFORE}% of all CPUs busy before the run, about ${LOAD_DURING}% during it"
echo "blob $SIZE_MIB MiB, chunks $CHUNK_MIB MiB, median of $REPS; wrk $WRK_DURATION per point; ab -n $AB_N -c $AB_C"
echo
printf '| %-32s | %-6s | %15s | %10s | %6s | %8s | %-6s |\n' metric unit docker-registry wharf ratio target result
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..8})" \
	"$(printf -- '-%.0s' {1..16}):" "$(printf -- '-%.0s' {1..11}):" "$(printf -- '-%.0s' {1..7}):" \
	"$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..8})"
row "push, monolithic PUT ($SIZE_MIB MiB)" MB/s push_mono ">=" 2
row "push, chunked ($CHUNK_MIB MiB PATCHes)" MB/s push_chunk ">=" 2
row "pull, GET blob" MB/s pull ">=" 1
for c in "${CONNS[@]}"; do
	row "manifest GET, $c conn" req/s "get_c$c" ">=" 10
done
row "blob HEAD (ab -c $AB_C)" req/s head "" ""
row "RSS idle" MiB rss_idle "<=" 0.25
row "RSS peak (wrk $MAXC conn)" MiB rss_peak "<=" 0.25
row "VmHWM at end (incl. pushes)" MiB hwm "" ""
echo
echo "Server CPU cost (time on a CPU of all server threads, from /proc/PID/task/*/schedstat; lower"
echo "is better; median per push/pull, mean per request; less sensitive to other load than rates):"
echo
printf '| %-32s | %-10s | %15s | %10s | %6s |\n' metric unit docker-registry wharf ratio
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..12})" \
	"$(printf -- '-%.0s' {1..16}):" "$(printf -- '-%.0s' {1..11}):" "$(printf -- '-%.0s' {1..7}):"
cpu_row() { # label unit metric
	printf '| %-32s | %-10s | %15s | %10s | %6s |\n' "$1" "$2" "${R[$3,dr]}" "${R[$3,wh]}" \
		"$(ratio "${R[$3,wh]}" "${R[$3,dr]}")"
}
cpu_row "push, monolithic" "CPU s/GB" cpu_push_mono
cpu_row "push, chunked" "CPU s/GB" cpu_push_chunk
cpu_row "pull" "CPU s/GB" cpu_pull
for c in "${CONNS[@]}"; do
	cpu_row "manifest GET, $c conn" "CPU us/req" "cpu_get_c$c"
done
cpu_row "blob HEAD" "CPU us/req" cpu_head
echo
echo "all push/pull samples (MB/s):"
for m in push_mono push_chunk pull; do
	printf '  %-10s docker-registry: %-24s wharf: %s\n' "$m" "${R[$m,dr,all]}" "${R[$m,wh,all]}"
done
echo "server CPU per push/pull, every repetition (CPU s/GB):"
for m in push_mono push_chunk pull; do
	for sv in dr wh; do
		R[cpu_$m,$sv,all]=$(for ns in ${C[$m,$sv]}; do awk -v ns="$ns" -v b="$SIZE" 'BEGIN { printf "%.2f ", ns / b }'; done)
	done
	printf '  %-10s docker-registry: %-24s wharf: %s\n' "$m" "${R[cpu_$m,dr,all]}" "${R[cpu_$m,wh,all]}"
done
echo "time the servers' threads waited for a CPU (runqueue) over the run: docker-registry ${R[runq,dr]} s, wharf ${R[runq,wh]} s"
echo "errors: wrk non-2xx/socket errors per point, ab failed/non-2xx:"
for s in "${SERVERS[@]}"; do
	line="  ${NAME[$s]}:"
	for c in "${CONNS[@]}"; do line+=" c$c=${R[get_c$c,$s,bad]} (p99 ${R[get_c$c,$s,p99]})"; done
	line+=" head=${R[head,$s,bad]} (keep-alive ${R[head,$s,ka]:-0}/$AB_N); RSS samples ${R[rss_samples,$s]:-0}"
	echo "$line"
done
echo
if ((FAILS)); then
	echo "$FAILS target(s) FAILED"
	((STRICT)) && exit 3
else
	echo "all targets PASS"
fi
exit 0
