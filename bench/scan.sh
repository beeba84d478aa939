#!/usr/bin/env bash
# wharf scan against decompression alone, on a three-layer Debian image.
#
#   bench/scan.sh [OCI_LAYOUT_DIR TAG]
#
# Without arguments the image is built once with mkimage-debian (bookworm minbase, a layer
# installing a few packages, a copy/delete layer) under $WHARF_BENCH_IMAGE (default
# /var/tmp/wharf-bench-scan). Prints, best of $RUNS (default 5) runs each:
#   decompress: igzip -dc of every layer blob to /dev/null (package isal)
#   cold:       wharf scan --list-packages with an empty layer cache
#   warm:       the same scan again, every layer from the cache
# and the ratios cold/decompress (target <= 1.5) and the warm time (target < 100 ms).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wharf=${WHARF:-$root/build/wharf}
runs=${RUNS:-5}
if [ $# -ge 2 ]; then
  layout=$1 tag=$2
else
  layout=${WHARF_BENCH_IMAGE:-/var/tmp/wharf-bench-scan} tag=bench
  if [ ! -f "$layout/index.json" ]; then
    src=$(mktemp -d)
    mkdir -p "$src/etc"; echo "bench = 1" > "$src/etc/bench.conf"
    /work/shared/tools/mkimage-debian --out "$layout" --tag "$tag" --suite bookworm --no-security \
      --packages "ca-certificates curl python3-minimal" --copy "$src:/opt/bench" --delete /usr/share/doc/curl >&2
    rm -rf "$src"
  fi
fi
command -v igzip >/dev/null || { echo "bench/scan.sh: igzip not found (apt-get install isal)" >&2; exit 2; }

manifest=$(python3 -c '
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]][0]
print(m["digest"].split(":")[1])' "$layout" "$tag")
layers=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2]))
print(" ".join(sys.argv[1] + "/blobs/sha256/" + l["digest"].split(":")[1] for l in m["layers"]))' "$layout" "$manifest")
bytes=$(du -cb $layers | tail -1 | cut -f1)

now() { date +%s%N; }
best() { # best time in ms of running "$@" $runs times
  local b=999999999 t0 t1 ms
  for _ in $(seq "$runs"); do
    t0=$(now); "$@" >/dev/null; t1=$(now)
    ms=$(( (t1 - t0) / 1000 ))
    [ "$ms" -lt "$b" ] && b=$ms
  done
  echo "$b"
}
decompress() { for l in $layers; do igzip -dc < "$l" > /dev/null; done; }
cache=$(mktemp -d)
home=$(mktemp -d)
trap 'rm -rf "$cache" "$home"' EXIT
cold() { rm -rf "$cache"; mkdir -p "$cache"; WHARF_HOME=$home "$wharf" scan -q --list-packages --cache-dir "$cache" "oci:$layout:$tag"; }
warm() { WHARF_HOME=$home "$wharf" scan -q --list-packages --cache-dir "$cache" "oci:$layout:$tag"; }

cat $layers > /dev/null # page cache warm for every contender
d=$(best decompress)
c=$(best cold)
cold >/dev/null
w=$(best warm)
pkgs=$(warm | tail -1)
printf 'image: %s:%s, %d layers, %.1f MiB compressed; %s\n' "$layout" "$tag" "$(echo $layers | wc -w)" \
  "$(echo "$bytes / 1048576" | bc -l)" "$pkgs"
printf 'decompress (igzip -dc): %8.1f ms\n' "$(echo "$d / 1000" | bc -l)"
printf 'wharf scan cold:        %8.1f ms  (%.2fx decompression; target <= 1.5x)\n' "$(echo "$c / 1000" | bc -l)" "$(echo "$c / $d" | bc -l)"
printf 'wharf scan warm:        %8.1f ms  (target < 100 ms)\n' "$(echo "$w / 1000" | bc -l)"
