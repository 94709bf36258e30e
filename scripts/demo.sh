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
# FAILURE_DETECTION_SECONDS: a primary must stay unreachable that long
# before the failover flow promotes its standby (5 s here, to keep the
# demo short; the example's default is 60).
DETECT=5
run failover --set FAILURE_DETECTION_SECONDS=$DETECT
t3=$(ms)

# The unattended part: gxl operate runs the system; both primaries die;
# nobody types a command. The alerts go to a local receiver (gxl dev
# alerts), whose lines are printed at the end.
echo; echo "== gxl operate sys/workflows/operators.gxl (FAILURE_DETECTION_SECONDS=$DETECT): the primaries are probed every second"
$GXL dev alerts >"$DIR/alerts.log" 2>&1 &
ALERTS=$!
for i in $(seq 1 100); do grep -q '^PAGERDUTY_EVENTS_URL=' "$DIR/alerts.log" 2>/dev/null && break; sleep 0.1; done
eval "export $(grep '^SLACK_WEBHOOK_URL=' "$DIR/alerts.log") $(grep '^PAGERDUTY_SERVICE_KEY=' "$DIR/alerts.log") $(grep '^PAGERDUTY_EVENTS_URL=' "$DIR/alerts.log")"
$GXL operate sys/workflows/operators.gxl --listen 127.0.0.1:0 --set FAILURE_DETECTION_SECONDS=$DETECT --set HEALTH_CHECK_INTERVAL_SECONDS=10 >"$DIR/operate.log" 2>&1 &
OPERATE=$!
cleanup() { kill -TERM "$OPERATE" "$ALERTS" 2>/dev/null || true; wait "$OPERATE" "$ALERTS" 2>/dev/null || true; kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; }
for i in $(seq 1 300); do grep -q 'main.watch_postgres .*succeeded' "$DIR/operate.log" && break; sleep 0.1; done
METRICS=$(sed -n 's|.*serving http://\([0-9.:]*\)/healthz.*|\1|p' "$DIR/operate.log" | head -1)
echo "operator up: http://$METRICS/metrics"
# The first drill's old Redis master comes back (the stack's supervisor
# restarts it after 10 s) and the Sentinels make it a replica: wait for the
# operator's health check to see the pair whole again before the next
# drill (killing the only master of an unrepaired pair loses it; the
# Sentinels also hold back a second failover of one master for twice
# their failover-timeout).
for i in $(seq 1 1200); do grep -q 'redis_cache\] master .* with 1 replica(s)' "$DIR/operate.log" && break; sleep 0.1; done
grep -q 'redis_cache\] master .* with 1 replica(s)' "$DIR/operate.log" || { tail -40 "$DIR/operate.log"; echo "the old Redis master did not come back as a replica" >&2; exit 1; }
echo "health check: $(grep -o 'master .* with 1 replica(s)' "$DIR/operate.log" | tail -1) (the old master is back as a replica)"
# The roles swapped in the first drill: the primaries are now the former
# PostgreSQL standby and the former Redis replica (the Sentinels' master).
t4=$(ms)
echo "== SIGKILL the PostgreSQL primary (pid group $PG_STANDBY_PID) and the Redis master (pid group $REDIS_REPLICA_PID): no command follows"
kill -9 -- "-$PG_STANDBY_PID"
kill -9 -- "-$REDIS_REPLICA_PID"
until [ "$(curl -s "http://$METRICS/metrics" | grep -c '^gxl_failovers_total{module="\(postgres_primary\|redis_cache\)"} 1')" = 2 ]; do
  kill -0 "$OPERATE" || { cat "$DIR/operate.log"; echo "gxl operate died" >&2; exit 1; }
  [ $(( $(ms) - t4 )) -lt 180000 ] || { tail -50 "$DIR/operate.log"; echo "no failover within 3 minutes" >&2; exit 1; }
  sleep 0.5
done
t5=$(ms)
echo "both failed over with no command typed, $((t5-t4)) ms after the kills"
curl -s "http://$METRICS/metrics" | grep -E '^gxl_(failovers_total|module_healthy)'
sleep 2
echo; echo "== alerts received by the local receiver (gxl dev alerts)"
grep -E '^[0-9:]{8} ' "$DIR/alerts.log"
kill -TERM "$OPERATE"; wait "$OPERATE" || { echo "gxl operate exited $?" >&2; exit 1; }

# HA: three `gxl operate --ha` replicas on one Lease; the leader is killed,
# another takes over, then the PostgreSQL primary dies and the new leader
# completes the failover (one promotion: the timeline moves by one).
ha_status() { curl -s --max-time 1 "http://$1/status" 2>/dev/null || true; }
ha_leader() { # the replica whose /status says self: true
  local i; for i in "$@"; do ha_status "${HA_ADDR[$i]}" | tr -d ' \n' | grep -q '"self":true' && { echo "$i"; return; }; done; true
}
pg_primary() { # "DATA DSN" of the node that is not in recovery
  if [ "$(psql "$PG_PRIMARY_DSN" -Atc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then echo "$PG_PRIMARY_DATA $PG_PRIMARY_DSN"; else echo "$PG_STANDBY_DATA $PG_STANDBY_DSN"; fi
}
pg_timeline() { psql "$1" -Atc "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"; }
ha_demo() {
  echo; echo "== gxl operate --ha: three replicas on the Lease default/gxl-operator-demo (lease 5s, renew 3s, retry 1s)"
  declare -gA HA_PID HA_ADDR
  local i
  for i in 1 2 3; do
    $GXL operate sys/workflows/operators.gxl --listen 127.0.0.1:0 --ha --lease default/gxl-operator-demo --identity "replica-$i" \
      --lease-duration 5s --renew-deadline 3s --retry-period 1s \
      --set FAILURE_DETECTION_SECONDS=$DETECT --set HEALTH_CHECK_INTERVAL_SECONDS=10 >"$DIR/ha-$i.log" 2>&1 &
    HA_PID[$i]=$!
  done
  cleanup() { kill -TERM "${HA_PID[@]}" "$ALERTS" 2>/dev/null || true; wait "${HA_PID[@]}" "$ALERTS" 2>/dev/null || true; kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; }
  for i in 1 2 3; do
    for _ in $(seq 1 300); do grep -q 'serving http://' "$DIR/ha-$i.log" && break; sleep 0.1; done
    HA_ADDR[$i]=$(sed -n 's|.*serving http://\([0-9.:]*\)/healthz.*|\1|p' "$DIR/ha-$i.log" | head -1)
  done
  local lead="" t
  for _ in $(seq 1 300); do lead=$(ha_leader 1 2 3); [ -n "$lead" ] && break; sleep 0.1; done
  [ -n "$lead" ] || { tail -20 "$DIR"/ha-*.log; echo "no replica leads" >&2; exit 1; }
  for i in 1 2 3; do echo "replica-$i /status leader: $(ha_status "${HA_ADDR[$i]}" | tr -d ' \n' | grep -o '"leader":{[^}]*}')"; done
  echo "== SIGKILL the leader, replica-$lead"
  kill -9 "${HA_PID[$lead]}"; t=$(ms)
  local rest=() next=""
  for i in 1 2 3; do [ "$i" = "$lead" ] || rest+=("$i"); done
  for _ in $(seq 1 300); do next=$(ha_leader "${rest[@]}"); [ -n "$next" ] && break; sleep 0.1; done
  [ -n "$next" ] || { tail -20 "$DIR"/ha-*.log; echo "no replica took over" >&2; exit 1; }
  HA_TAKEOVER=$(( $(ms) - t ))
  echo "replica-$next leads, $HA_TAKEOVER ms after the kill (lease 5 s)"
  local dsn data tl0 tl1
  read -r data dsn < <(pg_primary); tl0=$(pg_timeline "$dsn")
  echo "== SIGKILL the PostgreSQL primary ($data, timeline $tl0): replica-$next fails over"
  kill -9 "$(head -1 "$data/postmaster.pid")"; t=$(ms)
  until curl -s "http://${HA_ADDR[$next]}/metrics" | grep -q '^gxl_failovers_total{module="postgres_primary"} 1'; do
    [ $(( $(ms) - t )) -lt 180000 ] || { tail -50 "$DIR/ha-$next.log"; echo "no failover within 3 minutes" >&2; exit 1; }
    sleep 0.5
  done
  HA_FAILOVER=$(( $(ms) - t ))
  read -r data dsn < <(pg_primary); tl1=$(pg_timeline "$dsn")
  echo "failover completed by replica-$next in $HA_FAILOVER ms: timeline $tl0 -> $tl1"
  [ "$tl1" = $((tl0 + 1)) ] || { echo "the timeline moved from $tl0 to $tl1, not by one" >&2; exit 1; }
  for i in "${rest[@]}"; do kill -TERM "${HA_PID[$i]}"; wait "${HA_PID[$i]}" || { echo "replica-$i exited $?" >&2; exit 1; }; done
}
ha_demo

echo
echo "== timings"
echo "pipeline (fetch, setup, deploy, health_check of 11 modules): $((t1-t0)) ms"
echo "backup stage (PostgreSQL base backup verified and restore-checked, Redis RDB with SHA-256): $((tb-t1)) ms"
echo "failover stage after the kills ($DETECT s detection window, promote, re-point, rejoin, health_check): $((t3-t2)) ms"
echo "unattended failovers under gxl operate ($DETECT s detection window; kill -> both counted in /metrics): $((t5-t4)) ms"
echo "gxl operate --ha: leader kill -9 -> another replica leads: $HA_TAKEOVER ms (lease 5 s); its failover (kill -> counted): $HA_FAILOVER ms"
echo "tear down: done automatically (or by hand: gxl dev down)"
