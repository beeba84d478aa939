#!/usr/bin/env bash
# Build and start wharfd with its embedded defaults: 127.0.0.1:5000, data (SQLite + files) in ./data.
# Extra arguments go to wharfd (see build/wharfd --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build wharfd wharf >/dev/null
exec build/wharfd --listen 127.0.0.1:5000 --data ./data "$@"
