#!/usr/bin/env bash
# wharf run overhead: `wharf run --rm IMAGE /bin/true` of a cached, signed image against the same
# bundle run by the bare runtime (`RUNTIME run --bundle B`), with hyperfine.
#
#   bench/run.sh [--runs N] [--runtime runc|crun] [--wharfd PATH]
#
# The image is a one-layer busybox image (package busybox-static) pushed to a wharfd on
# 127.0.0.1 and signed with `wharf trust`. Every `wharf run` resolves the tag through content
# trust (a TUF update against wharfd), re-verifies the manifest by digest, allocates a
# user-namespace range, mounts the idmapped overlay root, writes config.json, runs the runtime,
# then unmounts, deletes the state and releases the range. The baseline runs the bundle of a
# container left by `wharf run -d` (rootfs still mounted) with the runtime alone.
# Two wharf runs are measured: by digest (IMAGE@sha256:..., the manifest already in the content
# store: no network; the fast front build/wharf runs it alone) and by tag (a content trust update
# against wharfd on every run, by build/wharf-full, which the front execs). WHARF_RUN_TRACE=1 on
# any wharf run prints its phase timings.
# Target: overhead (median of wharf run minus median of the bare runtime) <= 10 ms.
# Needs root, hyperfine, busybox-static, runc or crun.
set -euo pipefail
runs=50 runtime=runc wharfd=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2;;
    --runtime) runtime=$2; shift 2;;
    --wharfd) wharfd=$2; shift 2;;
    -h|--help) sed -n '2,17p' "$0"; exit 0;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2;;
  esac
done
cd "$(dirname "$0")/.."
for t in hyperfine python3 "$runtime"; do
  command -v "$t" >/dev/null || { echo "bench/run.sh: $t is missing (apt-get install -y $t)" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "bench/run.sh: /bin/busybox is missing (apt-get install -y busybox-static)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root" >&2; exit 2; }
if [ -z "$wharfd" ]; then
  [ -f build/build.ninja ] || meson setup build >/dev/null   # debugoptimized (-O2), as the tests
  ninja -C build wharfd wharf >/dev/null
  wharfd=build/wharfd
fi
wharf=$(realpath "$(dirname "$wharfd")/wharf")

work=$(mktemp -d /tmp/wharf-bench-run-XXXXXX)
pids=()
export WHARF_HOME=$work/home WHARF_ROOT_PASSPHRASE=bench-root WHARF_TARGETS_PASSPHRASE=bench-targets \
       WHARF_SNAPSHOT_PASSPHRASE=bench-snapshot
cleanup() {
  for c in $("$wharf" ps --all --json 2>/dev/null | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]'); do
    "$wharf" rm --force "$c" >/dev/null 2>&1 || true
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$wharfd" --listen "127.0.0.1:$port" --data "$work/data" --no-access-log >"$work/wharfd.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.05; done

# Push the image with the same layer builder as tests/integration/test_run.py.
PYTHONPATH=tests/integration python3 - "$port" <<'PY'
import http.client, json, sys
from test_run import busybox_layer
port = int(sys.argv[1])
def req(method, path, body, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse(); r.read()
    assert r.status == 201, (method, path, r.status)
import hashlib
def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    req("POST", f"/v2/bench/busybox/blobs/uploads/?digest={d}", data)
    return d
layer, diff = busybox_layer()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"], "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(cfg), "size": len(cfg)},
     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(layer), "size": len(layer)}]}
req("PUT", "/v2/bench/busybox/manifests/v1", json.dumps(m).encode(),
    {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
PY
ref="127.0.0.1:$port/bench/busybox:v1"
"$wharf" trust init --server "http://127.0.0.1:$port" "127.0.0.1:$port/bench/busybox" >/dev/null
"$wharf" trust sign --server "http://127.0.0.1:$port" "$ref" >/dev/null
"$wharf" run --rm --runtime "$runtime" "$ref" /bin/true   # pull and unpack once: the cache
digest=$("$wharf" pull --json "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
dref="127.0.0.1:$port/bench/busybox@$digest"
bundle_id=$("$wharf" run -d --runtime "$runtime" "$ref" /bin/true)
bundle=/run/wharf/$bundle_id
mkdir -p "$work/bare-root"
bare="$runtime --root $work/bare-root run --bundle $bundle bench-bare"
if [ "$runtime" = crun ] && [ -d /sys/fs/cgroup/unified ]; then
  # crun 1.8 and hybrid cgroups: the same workaround wharf applies (docs/run.md)
  bare="unshare -m --propagation private sh -c 'mount -t tmpfs -o size=4m tmpfs /sys/fs/cgroup/unified && exec $bare'"
fi
hyperfine --warmup 3 --runs "$runs" -N --export-json "$work/h.json" \
  -n "$runtime run (bare bundle)" "$bare" \
  -n "wharf run --rm IMAGE@DIGEST ($runtime)" "$wharf run --rm --runtime $runtime $dref /bin/true" \
  -n "wharf run --rm IMAGE:TAG ($runtime)" "$wharf run --rm --runtime $runtime $ref /bin/true" 2>&1 | sed 's/^/  /'
# Load on a shared machine changes between hyperfine's blocks of runs; interleaving the three
# commands run by run gives each the same conditions. Medians of that are the figure to quote.
python3 - "$runs" "$bare" "$wharf run --rm --runtime $runtime $dref /bin/true" \
  "$wharf run --rm --runtime $runtime $ref /bin/true" <<'PY'
import statistics, subprocess, sys, time
n = int(sys.argv[1]); cmds = sys.argv[2:]
times = [[] for _ in cmds]
for _ in range(n):
    for i, c in enumerate(cmds):
        t = time.perf_counter(); subprocess.run(c, shell=True, check=True, stdout=subprocess.DEVNULL); times[i].append(time.perf_counter() - t)
med = [statistics.median(t) * 1000 for t in times]
print(f"interleaved, {n} rounds (medians): bare {med[0]:.1f} ms; wharf by digest {med[1]:.1f} ms "
      f"(overhead {med[1] - med[0]:.1f} ms); wharf by tag {med[2]:.1f} ms (overhead {med[2] - med[0]:.1f} ms)")
PY
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
bare = r[0]
for w, what in ((r[1], "by digest (cached, no network)"), (r[2], "by tag (content trust update each run)")):
    print(f"wharf run {what}:")
    for k in ("mean", "median", "min"):
        print(f"  {k}: {w[k] * 1000:.1f} ms vs bare {bare[k] * 1000:.1f} ms, overhead {(w[k] - bare[k]) * 1000:.1f} ms")
    ok = (w["median"] - bare["median"]) * 1000 <= 10
    print(f"  target overhead <= 10 ms (median): {'met' if ok else 'missed'}")
PY
