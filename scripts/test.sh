#!/usr/bin/env bash
# Build wharf and run the whole suite: unit tests, integration tests against the real wharfd
# and real clients, the same again under ASan+UBSan, and a short run of every fuzz target.
# Every stage prints TAP; the last line is "N passed, N failed". Exit status 0 only if none failed.
#
#   scripts/test.sh [--quick]     --quick: skip slow integration tests and the sanitizer stage
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = --quick ] && quick=1
logdir=$(mktemp -d /tmp/wharf-test-XXXXXX)
passed=0 failed=0

# Count TAP lines of a stage's output; a stage that dies without TAP counts as one failure.
stage() {
  local name=$1; shift
  local out="$logdir/$name.log"
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out" | grep -E '^(not ok|ok|#)' | grep -vE '^ok ' | sed 's/^/   /'
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE '^ok ' "$out"); f=$(grep -cE '^not ok ' "$out")
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    echo "   not ok - $name exited with status $rc (log: $out)"; tail -20 "$out" | sed 's/^/   # /'; f=1
  fi
  echo "   $name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
}

unit_tests() {
  local dir=$1 rc=0
  for t in "$dir"/tests/unit/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP "$t" || rc=1
  done
  return $rc
}

build() {
  local dir=$1; shift
  { [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"; } && ninja -C "$dir"
}

scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

if ! build build >"$logdir/build.log" 2>&1; then
  tail -40 "$logdir/build.log"; echo "0 passed, 1 failed"; exit 1
fi
echo "ok - build (gcc, -Werror)" >"$logdir/build.tap"; passed=$((passed + 1))
# scripts/serve.sh builds with --buildtype=release: -O3 brings warnings (maybe-uninitialized,
# dangling-pointer) that -O2 does not, so the README's first command is built here too.
if build build-release --buildtype=release >"$logdir/build-release.log" 2>&1; then
  echo "ok - build (release, as scripts/serve.sh)"; passed=$((passed + 1))
else
  tail -40 "$logdir/build-release.log"; echo "not ok - build (release, as scripts/serve.sh)"; failed=$((failed + 1))
fi

stage unit unit_tests build
if [ $quick = 1 ]; then
  stage integration python3 tests/integration/run.py --wharfd build/wharfd --quick
else
  stage integration python3 tests/integration/run.py --wharfd build/wharfd
  if build build-asan -Dsanitize=true -Db_lundef=false >"$logdir/build-asan.log" 2>&1; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1
    stage unit-asan unit_tests build-asan
    stage integration-asan python3 tests/integration/run.py --wharfd build-asan/wharfd --quick
    # The trust and pull tests are slow only because real clients run; the server and client
    # code they drive is exactly what the sanitizers should watch.
    stage trust-asan python3 tests/integration/run.py --wharfd build-asan/wharfd test_trust test_pull test_tuf
    unset ASAN_OPTIONS UBSAN_OPTIONS
  else
    tail -40 "$logdir/build-asan.log"; echo "   not ok - sanitizer build"; failed=$((failed + 1))
  fi
  stage fuzz scripts/fuzz.sh "${WHARF_FUZZ_SECONDS:-8}"
fi

echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
