#!/bin/sh
# Run every libFuzzer target for a while on a copy of its seed corpus; print TAP.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
#
# SECONDS_PER_TARGET defaults to 20, BUILD_DIR to build-fuzz (relative to the repository).
# A missing BUILD_DIR is configured with CC=clang -Dfuzz=true -Dsanitize=true.
# FUZZ_TARGETS="manifest range" limits the run to those targets.
# Inputs under tests/fuzz/regressions/<target>/ join the corpus, so a known crash that is
# not fixed yet fails the run. Crashing inputs are kept in BUILD_DIR/fuzz-artifacts/<target>/.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
build=${2:-build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac

case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS_PER_TARGET] [BUILD_DIR]" >&2
	exit 2
	;;
esac

if [ ! -f "$build/build.ninja" ]; then
	echo "# configuring $build (CC=clang -Dfuzz=true -Dsanitize=true)"
	(cd "$root" && CC=clang meson setup "$build" -Dfuzz=true -Dsanitize=true) >"$build.setup.log" 2>&1 || {
		echo "Bail out! meson setup failed; see $build.setup.log"
		exit 1
	}
	rm -f "$build.setup.log"
fi
if ! ninja -C "$build" >"$build/fuzz-build.log" 2>&1; then
	echo "Bail out! build failed; see $build/fuzz-build.log"
	sed -n 's/^/# /; /error/p' "$build/fuzz-build.log" | head -20
	exit 1
fi

bins=
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && bins="$bins $bin"
done
if [ -z "$bins" ]; then
	echo "Bail out! no fuzz_* programs in $build/tests/fuzz (configure it with CC=clang -Dfuzz=true)"
	exit 1
fi

# Longest input worth trying, per target: a little past each parser's own limits.
max_len() {
	case $1 in
	manifest) echo 16384 ;;
	digest) echo 300 ;;
	reference) echo 4200 ;;
	range) echo 256 ;;
	route) echo 1024 ;;
	*) echo 4096 ;;
	esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wharf-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

n=0
passed=0
failed=0
for bin in $bins; do
	name=${bin##*/fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
	fi
	n=$((n + 1))
	work=$tmp/$name
	mkdir -p "$work/corpus" "$work/artifacts"
	for dir in "$root/tests/fuzz/corpus/$name" "$root/tests/fuzz/regressions/$name"; do
		[ -d "$dir" ] && cp -R "$dir"/. "$work/corpus/"
	done
	set -- -max_total_time="$secs" -max_len="$(max_len "$name")" -rss_limit_mb=2048 \
		-timeout=30 -print_final_stats=1 -artifact_prefix="$work/artifacts/"
	[ -f "$root/tests/fuzz/$name.dict" ] && set -- "$@" -dict="$root/tests/fuzz/$name.dict"

	"$bin" "$@" "$work/corpus" >"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - fuzz_$name (${execs:-0} execs)"
		continue
	fi
	failed=$((failed + 1))
	echo "not ok $n - fuzz_$name"
	grep -E 'wharf fuzz invariant broken|runtime error:|^==[0-9]+==ERROR|^SUMMARY:|^MS: |out-of-memory|timeout after|deadly signal' \
		"$work/log" | head -n 12 | sed 's/^/# /'
	# The first frames of the first stack trace say where it happened.
	awk '/^ *#[0-9]+ 0x/ { seen = 1; print; next } seen { exit }' "$work/log" |
		grep -v -E 'fuzzer::|__sanitizer|__asan|__ubsan|libc\.so|_start| in main ' |
		head -n 6 | sed 's/^ */#   /'
	keep=$build/fuzz-artifacts/$name
	if ls "$work/artifacts"/* >/dev/null 2>&1; then
		mkdir -p "$keep"
		cp "$work/artifacts"/* "$keep/"
		for f in "$work/artifacts"/*; do
			echo "# input: $keep/${f##*/}"
		done
	fi
	mkdir -p "$build/fuzz-artifacts"
	cp "$work/log" "$keep.log"
	echo "# log: $keep.log"
done

echo "1..$n"
echo "# fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
