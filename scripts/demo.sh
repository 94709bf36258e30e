#!/usr/bin/env bash
# make demo: the example system (sys/) end to end on local real servers.
# Starts PostgreSQL (primary + synchronous standby), Redis (primary, replica,
# 3 Sentinels) and a Kubernetes control plane (kwok nodes); publishes the
# module catalog (modules/) as tagged git repositories; runs the system's
# pipeline (fetch → setup → deploy → health_check) and its backup stage;
# kills the PostgreSQL and the Redis primaries and runs the failover stage,
# which promotes, re-points the Services, rejoins and checks health again;
# then stops everything.
# Every stage asserts on the real servers: exit 0 only if all of it happened.
set -euo pipefail
cd "$(dirname "$0")/.."
GXL=./bin/gxl
DIR=.gxl/dev
ms() { date +%s%3N; }
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

echo; echo "== publishing the module catalog as git repositories (.gxl/git)"
$GXL dev publish --out .gxl/git
# mod_list.yml names github.com addresses: fetch them from the local copies,
# into a module cache of the demo's own (the published commits are local).
export GXL_MIRRORS="https://github.com/=$PWD/.gxl/git/github.com/"
export GXL_MODULE_CACHE="$PWD/.gxl/modules-cache"
export GXL_CONNECTIONS="$DIR/connections.yml"
rm -rf "$GXL_MODULE_CACHE" sys/mods sys/mod_list.lock

run() { echo; echo "== gxl run sys/workflows/operators.gxl $*"; $GXL run -q sys/workflows/operators.gxl "$@"; }
t0=$(ms)
run pipeline
t1=$(ms)
# Verified backups (the stage DATABASE_BACKUP_SCHEDULE will trigger under
# gxl operate): a PostgreSQL base backup checked by a throwaway server, the
# Redis RDB with its SHA-256.
export BACKUP_ROOT="$PWD/.gxl/backups"
run backup
ls -l "$BACKUP_ROOT/postgresql" "$BACKUP_ROOT/redis"
tb=$(ms)
echo; echo "== SIGKILL the PostgreSQL primary (pid group $PG_PRIMARY_PID) and the Redis primary (pid group $REDIS_PRIMARY_PID)"
kill -9 -- "-$PG_PRIMARY_PID"
kill -9 -- "-$REDIS_PRIMARY_PID"
t2=$(ms)
# FAILURE_DETECTION_SECONDS is at its minimum (30): a primary must stay
# unreachable that long before the failover flow promotes its standby.
run failover --set FAILURE_DETECTION_SECONDS=30
t3=$(ms)
echo
echo "== timings"
echo "pipeline (fetch, setup, deploy, health_check of 11 modules): $((t1-t0)) ms"
echo "backup stage (PostgreSQL base backup verified and restore-checked, Redis RDB with SHA-256): $((tb-t1)) ms"
echo "failover stage after the kills (30 s detection window, promote, re-point, rejoin, health_check): $((t3-t2)) ms"
echo "tear down: done automatically (or by hand: gxl dev down)"
