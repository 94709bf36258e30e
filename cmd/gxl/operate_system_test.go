package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/internal/devstack"
)

// operatedDetection is the FAILURE_DETECTION_SECONDS of the operated
// drills: short, so the test stays short.
const operatedDetection = 3

// TestOperatedFailover runs `gxl operate` on the example system (after its
// pipeline) against real servers and kills the PostgreSQL and the Redis
// primaries: with no command typed, the standby becomes a writable
// primary, the Services are re-pointed, the failover alerts reach the
// receiver, /metrics counts one failover per module. The old Redis master,
// started again by the supervisor, becomes a replica of the new one and
// the health check passes. Then the new PostgreSQL primary is killed and
// `gxl operate` is SIGKILLed in the middle of that failover, between the
// promotion and its journal record: started again, it resumes the run and
// finishes the failover without a second promotion (one new timeline).
// The Sentinels' down-after is twice the window (the backstop): gxl's
// window ends first, and it asks a Sentinel to fail over. Last the Redis
// master dies and the operator is SIGKILLed once a Sentinel carried out
// its SENTINEL FAILOVER, before that call's record, and the replica the
// Sentinel picked stops answering until the Sentinel aborts: the resumed
// run asks again, one promotion in all, every acknowledged write kept.
func TestOperatedFailover(t *testing.T) {
	ctx := context.Background()
	// The supervisor restarts a killed redis-server after the window, the
	// Sentinels' failover-timeout (5 s) and 3 s: after gxl's failover,
	// an aborted one asked again included (a replica that has not taken
	// the promotion when its old master comes back empty resynchronises
	// from it, whoever fails over).
	x := startExampleStack(t, devstack.RedisOptions{Sentinels: 3, DownAfter: 2 * operatedDetection * time.Second, RestartAfter: operatedDetection*time.Second + 8*time.Second})
	pg, rd, root, rcv, env := x.pg, x.rd, x.root, x.rcv, x.env
	x.pipeline(t, env)
	_, _, svcPort := x.kubeClient(t)
	sets := []string{"sys/workflows/operators.gxl", "--set", "FAILURE_DETECTION_SECONDS=" + strconv.Itoa(operatedDetection), "--set", "HEALTH_CHECK_INTERVAL_SECONDS=5"}
	cmd, addr := startOperateEnv(t, root, env, sets...)
	metrics := func() string { _, b := httpGet(t, "http://"+addr+"/metrics"); return b }
	waitLong(t, 30*time.Second, "three probes of each primary", func() bool {
		m := metrics()
		return regexp.MustCompile(`gxl_flow_runs_total\{flow="main.watch_postgres",result="succeeded"\} [3-9]`).MatchString(m) &&
			regexp.MustCompile(`gxl_flow_runs_total\{flow="main.watch_redis",result="succeeded"\} [3-9]`).MatchString(m)
	})
	var runs []struct {
		Flows  []string `json:"flows"`
		Status string   `json:"status"`
	}
	r := gxlEnv(t, root, nil, "runs", "list", "--format", "json")
	json.Unmarshal([]byte(r.stdout), &runs)
	for _, run := range runs {
		if strings.HasPrefix(strings.Join(run.Flows, ","), "main.watch_") && run.Status != "running" {
			t.Errorf("a probe that found its primary up left a journal:\n%s", r.stdout)
		}
	}

	// Drill 1: both primaries die.
	if err := devstack.Exec(ctx, pg.Nodes[0].DSN(), "insert into users (email) values ('before-the-kill@example.com')"); err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: rd.Primary.Addr()})
	if err := rc.Set(ctx, "session:1", "alive", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc.Do(ctx, "WAIT", 1, 5000)
	rc.Close()
	pg.Nodes[0].Kill()
	rd.Primary.Kill()
	killed := time.Now()
	var pgPromoted, pgWritable, redisWritable, pgService, redisService time.Duration
	nc := redis.NewClient(&redis.Options{Addr: rd.Replica.Addr(), MaxRetries: -1})
	defer nc.Close()
	waitLong(t, 60*time.Second, "both failovers", func() bool {
		var inRecovery bool
		if pgPromoted == 0 && devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select pg_is_in_recovery()", nil, &inRecovery) == nil && !inRecovery {
			pgPromoted = time.Since(killed)
		}
		if pgWritable == 0 && devstack.Exec(ctx, pg.Nodes[1].DSN(), "insert into users (email) values ('after-the-kill@example.com')") == nil {
			pgWritable = time.Since(killed)
		}
		if redisWritable == 0 && nc.Set(ctx, "session:2", "new", 0).Err() == nil {
			redisWritable = time.Since(killed)
		}
		if pgService == 0 && svcPort("postgres-primary") == pg.Nodes[1].Port {
			pgService = time.Since(killed)
		}
		if redisService == 0 && svcPort("redis-master") == rd.Replica.Port {
			redisService = time.Since(killed)
		}
		return pgPromoted > 0 && pgWritable > 0 && redisWritable > 0 && pgService > 0 && redisService > 0
	})
	// The new primary commits at once (no synchronous standby until the
	// old primary has rejoined: TestFailoverDrills).
	t.Logf("FAILURE_DETECTION_SECONDS=%d: kill → PostgreSQL standby promoted %s, first commit %s, postgres-primary re-pointed %s; kill → Redis writable %s (gxl's SENTINEL FAILOVER; the Sentinels' down-after %ds), redis-master re-pointed %s",
		operatedDetection, pgPromoted.Round(time.Millisecond), pgWritable.Round(time.Millisecond), pgService.Round(time.Millisecond), redisWritable.Round(time.Millisecond), 2*operatedDetection, redisService.Round(time.Millisecond))
	// gxl decided the Redis failover (the Sentinels' down-after is twice
	// its window) and a Sentinel carried it out.
	if n, ab := sentinelLog(t, rd, userFailover), sentinelAborts(t, rd); n-ab != 1 {
		t.Errorf("%d SENTINEL FAILOVER carried out by the Sentinels, %d aborted, want gxl's one", n, ab)
	}
	if limit := operatedDetection*time.Second + 2*time.Second; redisWritable > limit {
		t.Errorf("Redis writable only %s after the kill (window %ds; the Sentinels' own down-after %ds)", redisWritable, operatedDetection, 2*operatedDetection)
	}
	// The window counts from the primary's last answer to a probe (as
	// Sentinel's down-after does), at most a probe period (1 s) before the
	// kill: no promotion comes sooner than the window less that period.
	if pgPromoted < operatedDetection*time.Second-time.Second {
		t.Errorf("PostgreSQL promoted %s after the kill, more than a probe period inside the %ds detection window", pgPromoted, operatedDetection)
	}
	// The window starts at the first failed probe, at most a second
	// after the kill; promoting takes a fraction of a second.
	if limit := operatedDetection*time.Second + 2*time.Second; pgPromoted > limit {
		t.Errorf("PostgreSQL promoted only %s after the kill (window %ds, probes every second)", pgPromoted, operatedDetection)
	}
	waitLong(t, 60*time.Second, "the failovers counted and alerted, the old PostgreSQL primary rejoined", func() bool {
		m := metrics()
		slack, pd := rcv.Got()
		// alert.send posts to Slack, then to PagerDuty: wait for both.
		failoverEvents := 0
		for _, ev := range pd {
			if k, _ := ev["dedup_key"].(string); strings.HasPrefix(k, "microservice_platform/failover/") {
				failoverEvents++
			}
		}
		return strings.Contains(m, `gxl_failovers_total{module="postgres_primary"} 1`) && strings.Contains(m, `gxl_failovers_total{module="redis_cache"} 1`) &&
			strings.Count(strings.Join(slack, "\n"), "failover of") >= 4 && failoverEvents >= 4 && svcPort("postgres-readonly") == pg.Nodes[0].Port
	})
	checkFailoverAlerts(t, rcv, "postgres_primary", "redis_cache")
	var n int
	if err := devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select count(*) from users where email = 'before-the-kill@example.com'", nil, &n); err != nil || n != 1 {
		t.Fatalf("row committed before the kill on the new primary: %d (%v)", n, err)
	}
	if v, err := nc.Get(ctx, "session:1").Result(); err != nil || v != "alive" {
		t.Fatalf("Redis key written before the kill: %q %v", v, err)
	}

	// The supervisor restarted the old Redis master; the Sentinels made
	// it a replica of the new one, and the health check passes again
	// with a replica linked.
	oc := redis.NewClient(&redis.Options{Addr: rd.Primary.Addr(), MaxRetries: -1})
	defer oc.Close()
	waitLong(t, 60*time.Second, "the old Redis master to replicate the new one", func() bool {
		info, err := oc.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_port:"+strconv.Itoa(rd.Replica.Port)) && strings.Contains(info, "master_link_status:up")
	})
	if rd.Primary.Restarts() < 1 {
		t.Fatalf("the old Redis master was not restarted by the supervisor")
	}
	linked := time.Now()
	waitLong(t, 60*time.Second, "a passing health check with the Redis replica back", func() bool {
		var st engine.Status
		_, body := httpGet(t, "http://"+addr+"/status")
		json.Unmarshal([]byte(body), &st)
		for _, f := range st.Flows {
			if f.Flow == "main.health_check" && f.Last != nil && f.Last.Result == "succeeded" && f.Last.Started.After(linked) {
				return true
			}
		}
		return false
	})
	if m := metrics(); !strings.Contains(m, `gxl_module_healthy{module="redis_cache"} 1`) || !strings.Contains(m, `gxl_module_healthy{module="postgres_primary"} 1`) {
		t.Errorf("modules not healthy after the failovers:\n%s", grepLines(m, "gxl_module_healthy"))
	}
	if info, _ := nc.Info(ctx, "replication").Result(); !strings.Contains(info, "connected_slaves:1") {
		t.Errorf("the new Redis master has no replica:\n%s", info)
	}

	// Drill 2: the new PostgreSQL primary (node 2) dies, and the operator
	// is SIGKILLed once the promotion is journaled.
	var timeline int
	if err := devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select timeline_id from pg_control_checkpoint()", nil, &timeline); err != nil {
		t.Fatal(err)
	}
	pg.Nodes[1].Kill()
	// Killed once pg.failover's record is in the journal, which is then
	// cut before it: what a kill between pg_promote and that record
	// leaves. The resume runs pg.failover again, on a standby already
	// promoted.
	cutBeforeDone(t, killAtRecord(t, cmd, root, "pg.failover", 60*time.Second), "pg.failover")
	if r := gxlEnv(t, root, nil, "runs", "list", "--format", "json"); !strings.Contains(r.stdout, `"status": "interrupted"`) {
		t.Fatalf("no interrupted run after the SIGKILL:\n%s", r.stdout)
	}
	cmd, addr = startOperateEnv(t, root, env, sets...)
	waitLong(t, 60*time.Second, "the resumed failover to finish", func() bool {
		return svcPort("postgres-primary") == pg.Nodes[0].Port && svcPort("postgres-readonly") == pg.Nodes[1].Port &&
			strings.Contains(metrics(), `gxl_failovers_total{module="postgres_primary"} 1`)
	})
	var after int
	var inRecovery bool
	if err := devstack.QueryRow(ctx, pg.Nodes[0].DSN(), "select timeline_id from pg_control_checkpoint()", nil, &after); err != nil || after != timeline+1 {
		t.Errorf("timeline %d → %d (%v): want exactly one promotion", timeline, after, err)
	}
	if err := devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select pg_is_in_recovery()", nil, &inRecovery); err != nil || !inRecovery {
		t.Errorf("the killed primary did not rejoin as a standby: in recovery=%v (%v)", inRecovery, err)
	}
	if err := devstack.Exec(ctx, pg.Nodes[0].DSN(), "insert into users (email) values ('after-the-resume@example.com')"); err != nil {
		t.Errorf("the primary after the resumed failover refuses writes: %v", err)
	}
	// The resumed run skipped what its journal had done: the alert of the
	// failover's start is not sent again, the end's is sent once.
	waitLong(t, 10*time.Second, "the alert of the resumed failover's end", func() bool {
		_, pd := rcv.Got()
		return len(pgActions(pd)) >= 4
	})
	_, pd := rcv.Got()
	if got := strings.Join(pgActions(pd), ","); got != "trigger,resolve,trigger,resolve" {
		t.Errorf("PagerDuty events of the two PostgreSQL failovers: %s, want trigger,resolve twice (the resumed run re-ran its start?)", got)
	}
	r = gxlEnv(t, root, nil, "runs", "list", "--format", "json")
	if strings.Contains(r.stdout, `"status": "interrupted"`) {
		t.Errorf("a run is still interrupted:\n%s", r.stdout)
	}

	// Drill 3: the Redis master (the old replica since drill 1) dies, and
	// the operator is SIGKILLed as soon as a Sentinel carried out its
	// SENTINEL FAILOVER; the journal is cut before redis.failover's record
	// if it got there: the resumed run calls redis.failover again, with
	// the failover it asked for going on, done or aborted. The killed
	// server is restarted empty by the supervisor after that. One
	// failover in all: the other server is
	// the master, counted once in gxl_failovers_total, one promotion
	// (+promoted-slave) — an aborted SENTINEL FAILOVER counts as nothing
	// and its retry as the one — and every write acknowledged (WAIT 1)
	// before the kill is on the new master, still after the Sentinels'
	// 8 s role-mismatch delay from the empty server's return.
	epoch0 := sentinelEpochs(t, rd)
	asked0, aborted0, promoted0 := sentinelLog(t, rd, userFailover), sentinelAborts(t, rd), sentinelLog(t, rd, promotedSlave)
	acked := redisAckedWrites(t, rd.Replica.Addr(), "drill3:", 300)
	restarts := rd.Replica.Restarts()
	rd.Replica.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for sentinelLog(t, rd, userFailover) == asked0 {
		if time.Now().After(deadline) {
			t.Fatalf("no SENTINEL FAILOVER 60 s after the kill\n%s", rd.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The replica the Sentinel picks stops answering (SIGSTOP: a server
	// loading or starved) before the Sentinel sees it answer as a master:
	// the Sentinel aborts the failover after failover-timeout (5 s), and
	// the replica takes the SLAVEOF NO ONE it was sent when it answers
	// again: a master the Sentinels do not know, the reverted design's
	// way to lose data once the killed master is back empty. (Stopped a
	// little late, the failover just completes.)
	candidate := rd.Primary.PID()
	syscall.Kill(candidate, syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(candidate, syscall.SIGCONT)
		}
	}()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if p := journalWithDone(root, "redis.failover"); p != "" {
		cutBeforeDone(t, p, "redis.failover")
		t.Logf("killed after redis.failover's record: the journal is cut before it")
	} else {
		t.Logf("killed between gxl's SENTINEL FAILOVER and redis.failover's record")
	}
	if r := gxlEnv(t, root, nil, "runs", "list", "--format", "json"); !strings.Contains(r.stdout, `"status": "interrupted"`) {
		t.Fatalf("no interrupted run after the SIGKILL:\n%s", r.stdout)
	}
	cmd, addr = startOperateEnv(t, root, env, sets...)
	waitLong(t, 30*time.Second, "the Sentinel to abort the failover or see the promotion", func() bool {
		return sentinelAborts(t, rd) > aborted0 || sentinelLog(t, rd, promotedSlave) > promoted0
	})
	syscall.Kill(candidate, syscall.SIGCONT)
	stopped = false
	waitLong(t, 60*time.Second, "the resumed Redis failover to finish", func() bool {
		return svcPort("redis-master") == rd.Primary.Port && strings.Contains(metrics(), `gxl_failovers_total{module="redis_cache"} 1`)
	})
	waitLong(t, 30*time.Second, "the killed server restarted", func() bool { return rd.Replica.Restarts() > restarts })
	back := time.Now()
	waitLong(t, 30*time.Second, "every Sentinel to name the new master", func() bool {
		for _, s := range rd.SentinelAddrs() {
			c := redis.NewSentinelClient(&redis.Options{Addr: s})
			addr, err := c.GetMasterAddrByName(ctx, rd.MasterName).Result()
			c.Close()
			if err != nil || len(addr) != 2 || addr[1] != strconv.Itoa(rd.Primary.Port) {
				return false
			}
		}
		return true
	})
	if wait := 10*time.Second - time.Since(back); wait > 0 {
		time.Sleep(wait)
	}
	if info, err := oc.Info(ctx, "replication").Result(); err != nil || !strings.Contains(info, "role:master") {
		t.Errorf("%s is not the master after the resumed failover: %v\n%s\n%s", rd.Primary.Addr(), err, info, rd.Logs())
	}
	if n, err := oc.Exists(ctx, acked...).Result(); err != nil || int(n) != len(acked) {
		t.Errorf("%d of %d acknowledged writes on the new master (%v)\n%s", n, len(acked), err, rd.Logs())
	}
	promoted, asked, aborted := sentinelLog(t, rd, promotedSlave)-promoted0, sentinelLog(t, rd, userFailover)-asked0, sentinelAborts(t, rd)-aborted0
	if promoted != 1 {
		t.Errorf("%d promotions for one failover, want 1 (the resumed run failed over again?)\n%s", promoted, rd.Logs())
	}
	// The one promotion (checked above) is a SENTINEL FAILOVER that was
	// not aborted, or — after an abort, with the master down for the
	// Sentinels by then (their down-after is 2× the window) — the
	// Sentinels' own failover, which gxl waits for (seen once in CI).
	if asked-aborted > 1 {
		t.Errorf("%d SENTINEL FAILOVER carried out, %d aborted: want at most one that was not aborted\n%s", asked, aborted, rd.Logs())
	} else if asked-aborted == 0 {
		t.Logf("%d SENTINEL FAILOVER asked, all aborted: the Sentinels' own failover promoted", asked)
	}
	if aborted > 0 {
		t.Logf("%d SENTINEL FAILOVER aborted and asked again", aborted)
	}
	// The new master's config epoch is newer. How much newer is not a
	// count of failovers: an aborted failover leaves the config epoch
	// where it was, and the Sentinels' own failover may take a few
	// elections (each a new epoch) before one leads it. The promotions,
	// checked above, are the count.
	if e := sentinelEpochs(t, rd); e <= epoch0 {
		t.Errorf("Sentinel config epoch %d → %d: the new master is not at a newer epoch", epoch0, e)
	}
	r = gxlEnv(t, root, nil, "runs", "list", "--format", "json")
	if strings.Contains(r.stdout, `"status": "interrupted"`) {
		t.Errorf("a run is still interrupted:\n%s", r.stdout)
	}

	// Drill 4: both PostgreSQL servers die, so no failover can complete.
	// The probes try again and again (one attempt per window), and the
	// alerts do not repeat: the failed probe (#[on_failure] of
	// watch_postgres) is sent once per incident, and the failover's start
	// not at all (it is sent once the Service points to a new primary).
	slack0, _ := rcv.Got()
	// Both were started by pg.rejoin (pg_ctl) by now, outside the harness.
	for _, n := range pg.Nodes {
		n.Kill()
		pg.StopDataDir(n.DataDir)
	}
	waitLong(t, 90*time.Second, "three failed failover attempts", func() bool {
		return regexp.MustCompile(`gxl_flow_runs_total\{flow="main.watch_postgres",result="failed"\} ([3-9]|\d\d+)`).MatchString(metrics())
	})
	waitLong(t, 10*time.Second, "the failed probe's alert", func() bool {
		slack, _ := rcv.Got()
		return strings.Contains(strings.Join(slack[len(slack0):], "\n"), "main.watch_postgres of")
	})
	slack, _ := rcv.Got()
	late := strings.Join(slack[len(slack0):], "\n")
	if n := strings.Count(late, "failover of postgres_primary started"); n != 0 {
		t.Errorf("%d alerts of the failover's start over three failed attempts, want none (no standby was promoted):\n%s", n, late)
	}
	if n := strings.Count(late, "main.watch_postgres of"); n != 1 {
		t.Errorf("%d alerts of the failed probe over three failed attempts, want 1:\n%s", n, late)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 30*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
}

// waitLong is waitUntil with a limit of its own, polling every 100 ms.
func waitLong(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pgActions are the actions of the PostgreSQL failover's PagerDuty events.
func pgActions(pd []map[string]any) []string {
	var out []string
	for _, ev := range pd {
		if ev["dedup_key"] == "microservice_platform/failover/postgres_primary" {
			out = append(out, ev["event_action"].(string))
		}
	}
	return out
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
