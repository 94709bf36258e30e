#!/usr/bin/env bash
# make demo: start the local stack of real servers, run the operations
# workflow (deploy, health check), kill the PostgreSQL and Redis primaries
# and fail them over, then stop everything. Exits 0 only if all happened.
set -euo pipefail
cd "$(dirname "$0")/.."
GXL=./bin/gxl
DIR=.gxl/dev
mkdir -p "$DIR"; rm -f "$DIR/ready"
$GXL version
echo "== starting the local stack (PostgreSQL primary+standby, Redis+3 Sentinels, Kubernetes+kwok)"
$GXL dev up --dir "$DIR" >"$DIR/up.log" 2>&1 &
DEV=$!
cleanup() { kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; }
trap cleanup EXIT
for i in $(seq 1 600); do
  [ -f "$DIR/ready" ] && break
  kill -0 "$DEV" 2>/dev/null || { cat "$DIR/up.log"; echo "gxl dev up failed" >&2; exit 1; }
  sleep 0.2
done
[ -f "$DIR/ready" ] || { cat "$DIR/up.log"; echo "the stack did not come up" >&2; exit 1; }
cat "$DIR/up.log"
set -a; . "$DIR/connections.env"; set +a
run() { echo; echo "== gxl run examples/ops/work.gxl $*"; $GXL run -q examples/ops/work.gxl "$@"; }
t0=$(date +%s%3N)
run deploy
run health_check
echo; echo "== SIGKILL the PostgreSQL primary (pid group $PG_PRIMARY_PID)"
kill -9 -- "-$PG_PRIMARY_PID"
t1=$(date +%s%3N)
run failover_pg
t2=$(date +%s%3N)
run rejoin_pg
t2b=$(date +%s%3N)
echo; echo "== SIGKILL the Redis primary (pid group $REDIS_PRIMARY_PID)"
kill -9 -- "-$REDIS_PRIMARY_PID"
t3=$(date +%s%3N)
run failover_redis
t4=$(date +%s%3N)
echo
echo "== summary"
echo "deploy + health check:            $((t1-t0)) ms"
echo "PostgreSQL kill -> new primary writable: $((t2-t1)) ms (gxl start-up, check, fence attempt, pg_promote)"
echo "PostgreSQL old primary rejoined:   $((t2b-t2)) ms (checkpoint, pg_rewind, restart, streaming)"
echo "Redis kill -> new primary writable: $((t4-t3)) ms (Sentinel down-after 1s + election)"
echo "tear down: done automatically (or run: gxl dev down)"
