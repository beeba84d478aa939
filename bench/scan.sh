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

# best() prints the best wall time and the best CPU time (user+sys), both in microseconds, of
# $runs runs of "$@". CPU time says more than wall time on a machine shared with other work.
cpu_of() { awk '{ printf "%d", ($1 + $2) * 1000000 }' "$1"; }
best() {
  local b=999999999 bc=999999999 t0 t1 us c tf
  tf=$(mktemp)
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); /usr/bin/time -o "$tf" -f "%U %S" "$@" >/dev/null; t1=$(date +%s%N)
    us=$(( (t1 - t0) / 1000 )); c=$(cpu_of "$tf")
    [ "$us" -lt "$b" ] && b=$us
    [ "$c" -lt "$bc" ] && bc=$c
  done
  rm -f "$tf"
  echo "$b $bc"
}
decompress() { for l in $layers; do igzip -dc < "$l" > /dev/null; done; }
export -f decompress 2>/dev/null || true
cache=$(mktemp -d)
home=$(mktemp -d)
trap 'rm -rf "$cache" "$home"' EXIT
cold() { rm -rf "$cache"; mkdir -p "$cache"; WHARF_HOME=$home "$wharf" scan -q --list-packages --cache-dir "$cache" "oci:$layout:$tag"; }
warm() { WHARF_HOME=$home "$wharf" scan -q --list-packages --cache-dir "$cache" "oci:$layout:$tag"; }

cat $layers > /dev/null # page cache warm for every contender
read -r d dc < <(best bash -c "for l in $layers; do igzip -dc < \$l > /dev/null; done")
read -r c cc < <(best bash -c "rm -rf '$cache'; mkdir -p '$cache'; WHARF_HOME='$home' '$wharf' scan -q --list-packages --cache-dir '$cache' 'oci:$layout:$tag'")
cold >/dev/null
read -r w wc < <(best bash -c "WHARF_HOME='$home' '$wharf' scan -q --list-packages --cache-dir '$cache' 'oci:$layout:$tag'")
pkgs=$(warm | tail -1)
printf 'image: %s:%s, %d layers, %.1f MiB compressed; %s\n' "$layout" "$tag" "$(echo $layers | wc -w)" \
  "$(echo "$bytes / 1048576" | bc -l)" "$pkgs"
ms() { echo "$1 / 1000" | bc -l; }
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %10s %10s\n' "" "wall ms" "cpu ms"
printf '%-24s %10.1f %10.1f\n' "decompress (igzip -dc)" "$(ms "$d")" "$(ms "$dc")"
printf '%-24s %10.1f %10.1f   ratio to decompression: wall %.2fx, cpu %.2fx (target <= 1.5x)\n' \
  "wharf scan cold" "$(ms "$c")" "$(ms "$cc")" "$(echo "$c / $d" | bc -l)" "$(echo "$cc / $dc" | bc -l)"
printf '%-24s %10.1f %10.1f   (target < 100 ms)\n' "wharf scan warm" "$(ms "$w")" "$(ms "$wc")"
