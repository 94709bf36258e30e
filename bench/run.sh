#!/bin/sh
# make bench: builds what the benchmarks need, then runs bench/cmd/gxlbench,
# which prints one table of ratios against the peers (see docs/performance.md).
#
#   bench/run.sh [gxlbench flags: -runs N, -only 2,3, -o FILE, -keep]
#
# gxl is built from this tree; go-task is installed from the Go module proxy
# once per version into ${XDG_CACHE_HOME:-~/.cache}/gxl/bench/bin/task-<version>.
set -eu
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
GO=${GO:-go}
TASK_VERSION=${TASK_VERSION:-v3.54.0}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/gxl/bench
BIN=$CACHE/bin
TASKDIR=$BIN/task-$TASK_VERSION
mkdir -p "$BIN"

# GNU time reports the peak RSS of each measured process (Debian package time).
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing GNU time (apt-get install time)" >&2
		apt-get install -y -q time >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; } || true
	fi
	[ -x /usr/bin/time ] || echo "bench: /usr/bin/time missing: no peak RSS figures" >&2
fi

# Row 5 fails PostgreSQL and Redis over on real servers (Debian packages).
./scripts/install-deps.sh

if [ ! -x "$TASKDIR/task" ]; then
	echo "bench: installing go-task $TASK_VERSION into $TASKDIR" >&2
	GOBIN="$TASKDIR" $GO install "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"
fi

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/gxl-bench-build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
LABEL=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
echo "bench: building gxl ($LABEL) and the harness" >&2
$GO build -o "$BUILD/gxl" ./cmd/gxl
$GO build -o "$BUILD/gxlbench" ./bench/cmd/gxlbench
$GO build -o "$BUILD/spawnloop" ./bench/cmd/spawnloop

"$BUILD/gxlbench" -gxl "$BUILD/gxl" -task "$TASKDIR/task" -spawnloop "$BUILD/spawnloop" -repo . -label "$LABEL" "$@"
