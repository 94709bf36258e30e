package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/drill"
)

// drillWindow is the FAILURE_DETECTION_SECONDS of the drills. The
// Sentinels' down-after-milliseconds is twice that: the backstop for when
// no operator runs, so that gxl, when its window has passed, asks a
// Sentinel to fail over before any of them takes the master for down on
// its own (docs/operate.md, "Drills").
const drillWindow = 3

// TestFailoverDrills runs consecutive failover drills under `gxl operate`
// of the example system on real servers, alternating PostgreSQL and
// Redis (GXL_DRILLS drills, default 2: one of each; `make drill` runs
// ten). Writers write all the time, counting only acknowledged writes: a
// PostgreSQL COMMIT under synchronous replication (returned once the
// standby has it), a Redis SET that `WAIT 1` confirmed. Each drill
// SIGKILLs the current primary; the test types nothing. It checks that
// every acknowledged write is on the new primary, that there was exactly
// one promotion (PostgreSQL timeline +1, Sentinel config epoch +1), that
// the Service names the new primary and the alert arrived, and that the
// killed server is back as a replica before the next drill (PostgreSQL:
// the failover's pg.rejoin; Redis: the supervisor restarts it and the
// Sentinels reconfigure it). kill → writable, → Service, → alert are
// logged, and written to GXL_DRILL_REPORT when set.
func TestFailoverDrills(t *testing.T) {
	drills := 2
	if s := os.Getenv("GXL_DRILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("GXL_DRILLS=%q: want a number of drills", s)
		}
		drills = n
	}
	// A PostgreSQL primary restarted by pg.rejoin is a child of pg_ctl,
	// which exits: once killed, it would stay a zombie that pg_ctl takes
	// for a live server. Adopt orphans so killed servers can be reaped.
	if err := subreaper(1); err != nil {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	// Registered first, so it runs last: the other tests of the process
	// leave their orphans to init, as before.
	t.Cleanup(func() { subreaper(0) })
	ctx := context.Background()
	window := drillWindow * time.Second
	// The supervisor restarts a killed redis-server once the failover
	// (gxl's, at the window) is done, an aborted one asked again
	// included: after the window, failover-timeout (5 s) and 3 s.
	x := startExampleStack(t, devstack.RedisOptions{Sentinels: 3, DownAfter: 2 * window, RestartAfter: window + 8*time.Second})
	pg, rd, root, rcv, env := x.pg, x.rd, x.root, x.rcv, x.env
	x.pipeline(t, env)
	_, _, svcPort := x.kubeClient(t)
	if err := devstack.Exec(ctx, pg.Nodes[0].DSN(), "create table drill_writes (id bigint primary key)"); err != nil {
		t.Fatal(err)
	}
	_, addr := startOperateEnv(t, root, env, "sys/workflows/operators.gxl",
		"--set", "FAILURE_DETECTION_SECONDS="+strconv.Itoa(drillWindow), "--set", "HEALTH_CHECK_INTERVAL_SECONDS=2")
	metrics := func() string { _, b := httpGet(t, "http://"+addr+"/metrics"); return b }
	waitLong(t, 30*time.Second, "probes of each primary", func() bool {
		m := metrics()
		return regexp.MustCompile(`gxl_flow_runs_total\{flow="main.watch_postgres",result="succeeded"\} [2-9]`).MatchString(m) &&
			regexp.MustCompile(`gxl_flow_runs_total\{flow="main.watch_redis",result="succeeded"\} [2-9]`).MatchString(m)
	})

	w := startWriters(t, pg, rd, func() int { return svcPort("postgres-primary") })
	var rep drill.Report
	rep.WindowSeconds = drillWindow
	alerts := func(m string) int {
		slack, _ := rcv.Got()
		return strings.Count(strings.Join(slack, "\n"), "critical: failover of "+m+" started")
	}
	for i := 0; i < drills; i++ {
		// Both writers have writes acknowledged again (after the last
		// drill's rejoin) before the next kill.
		p0, r0 := w.counts()
		waitLong(t, 60*time.Second, "acknowledged writes before the kill", func() bool {
			p, r := w.counts()
			return p >= p0+20 && r >= r0+20
		})
		var d drill.Result
		if i%2 == 0 {
			d = pgDrill(t, pg, svcPort, func() int { return alerts("postgres_primary") }, w)
		} else {
			d = redisDrill(t, rd, svcPort, func() int { return alerts("redis_cache") }, w)
		}
		t.Logf("drill %d (%s): kill → promoted %d ms, writable %d ms = %.2f× the %ds window, write acknowledged as replicated %d ms, Service %d ms, alert %d ms; %d acknowledged writes, %d lost; %d promotion(s), %d SENTINEL FAILOVER",
			i+1, d.Kind, d.PromotedMS, d.WritableMS, float64(d.WritableMS)/float64(window.Milliseconds()), drillWindow, d.AckedMS, d.ServiceMS, d.AlertMS, d.Acked, d.Lost, d.Promotions, d.Asked)
		rep.Drills = append(rep.Drills, d)
		if d.Lost != 0 {
			t.Errorf("drill %d (%s): %d of %d acknowledged writes lost", i+1, d.Kind, d.Lost, d.Acked)
		}
		if d.Promotions != 1 {
			t.Errorf("drill %d (%s): %d promotions, want exactly 1", i+1, d.Kind, d.Promotions)
		}
		if d.Kind == "redis" && d.Asked != 1 {
			t.Errorf("drill %d (redis): %d SENTINEL FAILOVER carried out and not aborted, want gxl's one (its window ends before the Sentinels' down-after)", i+1, d.Asked)
		}
		if t.Failed() {
			break
		}
	}
	w.stop()
	if pgAcked, redisAcked := w.counts(); pgAcked == 0 || redisAcked == 0 {
		t.Errorf("the writers had nothing acknowledged (PostgreSQL %d, Redis %d): the drills proved nothing", pgAcked, redisAcked)
	}
	if p := os.Getenv("GXL_DRILL_REPORT"); p != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pgDrill kills the PostgreSQL primary the Service names and waits for
// the failover to finish: promoted, writable, Service, alert, the old
// primary rejoined as a streaming standby.
func pgDrill(t *testing.T, pg *devstack.PGCluster, svcPort func(string) int, alerts func() int, w *writers) drill.Result {
	ctx := context.Background()
	d := drill.Result{Kind: "postgresql"}
	port := svcPort("postgres-primary")
	var cur, next *devstack.PGNode
	for _, n := range pg.Nodes {
		if n.Port == port {
			cur = n
		} else {
			next = n
		}
	}
	if cur == nil {
		t.Fatalf("postgres-primary names port %d, no node of the cluster", port)
	}
	tl, err := pgTimeline(ctx, cur.DSN())
	if err != nil {
		t.Fatal(err)
	}
	before := alerts()
	killPG(t, cur)
	killed := time.Now()
	m := newMarks(killed)
	m.poll(&d.PromotedMS, func() bool {
		var inRecovery bool
		return devstack.QueryRow(ctx, next.DSN(), "select pg_is_in_recovery()", nil, &inRecovery) == nil && !inRecovery
	})
	m.poll(&d.WritableMS, func() bool {
		return pgWrite(ctx, next.DSN(), "insert into drill_writes values (-"+strconv.FormatInt(time.Now().UnixNano(), 10)+")") == nil
	})
	m.poll(&d.AckedMS, func() bool {
		return pgAck(ctx, next.DSN(), "insert into drill_writes values (-"+strconv.FormatInt(time.Now().UnixNano(), 10)+")", 10*time.Second) == nil
	})
	m.poll(&d.ServiceMS, func() bool { return svcPort("postgres-primary") == next.Port })
	m.poll(&d.AlertMS, func() bool { return alerts() > before })
	if err := m.wait(90 * time.Second); err != nil {
		t.Fatalf("the PostgreSQL failover: %v", err)
	}
	// The failover ends with the old primary rejoined (pg_rewind) and
	// the read-only Service pointing at it.
	waitLong(t, 90*time.Second, "the old PostgreSQL primary to rejoin as a streaming standby", func() bool {
		var inRecovery bool
		var state string
		return svcPort("postgres-readonly") == cur.Port &&
			devstack.QueryRow(ctx, cur.DSN(), "select pg_is_in_recovery()", nil, &inRecovery) == nil && inRecovery &&
			devstack.QueryRow(ctx, next.DSN(), "select state from pg_stat_replication where application_name = $1", []any{cur.Name}, &state) == nil && state == "streaming"
	})
	after, err := pgTimeline(ctx, next.DSN())
	if err != nil {
		t.Fatal(err)
	}
	d.Promotions = after - tl
	acked := w.pgAcked()
	d.Acked = len(acked)
	var have int
	if err := devstack.QueryRow(ctx, next.DSN(), "select count(*) from drill_writes where id = any($1)", []any{acked}, &have); err != nil {
		t.Fatal(err)
	}
	d.Lost = len(acked) - have
	return d
}

// redisDrill kills the Redis master the Sentinels name and waits until
// the replica is the writable master, the Service names it, the alert
// arrived, and the killed server is back as its replica.
func redisDrill(t *testing.T, rd *devstack.RedisHA, svcPort func(string) int, alerts func() int, w *writers) drill.Result {
	ctx := context.Background()
	d := drill.Result{Kind: "redis"}
	sc := redis.NewSentinelClient(&redis.Options{Addr: rd.Sentinels[0].Addr()})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, rd.MasterName).Result()
	if err != nil {
		t.Fatal(err)
	}
	var cur, next *devstack.RedisNode
	for _, n := range []*devstack.RedisNode{rd.Primary, rd.Replica} {
		if strconv.Itoa(n.Port) == addr[1] {
			cur = n
		} else {
			next = n
		}
	}
	if cur == nil || svcPort("redis-master") != cur.Port {
		t.Fatalf("the Sentinels name %v, redis-master port %d: not the same master", addr, svcPort("redis-master"))
	}
	epoch := sentinelEpochs(t, rd)
	asked, aborted, promoted := sentinelLog(t, rd, userFailover), sentinelAborts(t, rd), sentinelLog(t, rd, promotedSlave)
	before := alerts()
	cur.Kill()
	killed := time.Now()
	nc := redis.NewClient(&redis.Options{Addr: next.Addr(), MaxRetries: -1})
	defer nc.Close()
	m := newMarks(killed)
	m.poll(&d.PromotedMS, func() bool {
		info, err := nc.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	})
	m.poll(&d.WritableMS, func() bool { return nc.Set(ctx, "drill:probe", "1", 0).Err() == nil })
	m.poll(&d.AckedMS, func() bool {
		pipe := nc.Pipeline()
		pipe.Set(ctx, "drill:probe", "2", 0)
		wait := pipe.Do(ctx, "WAIT", 1, 200)
		pipe.Exec(ctx)
		n, err := wait.Int()
		return err == nil && n >= 1
	})
	m.poll(&d.ServiceMS, func() bool { return svcPort("redis-master") == next.Port })
	m.poll(&d.AlertMS, func() bool { return alerts() > before })
	if err := m.wait(90 * time.Second); err != nil {
		t.Fatalf("the Redis failover: %v", err)
	}
	oc := redis.NewClient(&redis.Options{Addr: cur.Addr(), MaxRetries: -1})
	defer oc.Close()
	waitLong(t, 90*time.Second, "the killed Redis master back as a replica of the new one", func() bool {
		info, err := oc.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_port:"+strconv.Itoa(next.Port)) && strings.Contains(info, "master_link_status:up")
	})
	// One promotion per drill (counted by the caller), and the new
	// master at a newer config epoch. How much newer is not a count of
	// failovers: each failover started raises the epoch, an aborted one
	// (asked again) too, and so does each election of the Sentinels' own
	// failover, a split vote among them.
	after := sentinelEpochs(t, rd)
	d.Promotions = sentinelLog(t, rd, promotedSlave) - promoted
	d.Aborted = sentinelAborts(t, rd) - aborted
	d.Asked = sentinelLog(t, rd, userFailover) - asked - d.Aborted
	if after <= epoch {
		t.Errorf("Sentinel config epoch %d → %d: the new master is not at a newer epoch", epoch, after)
	}
	acked := w.redisAcked()
	d.Acked = len(acked)
	for _, k := range acked {
		if n, err := nc.Exists(ctx, k).Result(); err != nil || n != 1 {
			d.Lost++
		}
	}
	return d
}

// marks measure, each in its own goroutine, when a condition first holds
// after the kill (one slow check, a commit held for a standby, must not
// delay the others' figures).
type marks struct {
	killed time.Time
	wg     sync.WaitGroup
	mu     sync.Mutex
	missed []string
	n      int
}

func newMarks(killed time.Time) *marks { return &marks{killed: killed} }

func (m *marks) poll(dst *int64, cond func() bool) {
	m.n++
	id := m.n
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		deadline := m.killed.Add(90 * time.Second)
		for time.Now().Before(deadline) {
			if cond() {
				m.mu.Lock()
				*dst = time.Since(m.killed).Milliseconds()
				m.mu.Unlock()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		m.mu.Lock()
		m.missed = append(m.missed, "figure "+strconv.Itoa(id))
		m.mu.Unlock()
	}()
}

func (m *marks) wait(time.Duration) error {
	m.wg.Wait()
	if len(m.missed) > 0 {
		return fmt.Errorf("not reached within 90 s: %s", strings.Join(m.missed, ", "))
	}
	return nil
}

// sentinelEpochs is the config epoch of the master, which every Sentinel
// must agree on: each failover raises it by one.
func sentinelEpochs(t *testing.T, rd *devstack.RedisHA) int {
	t.Helper()
	ctx := context.Background()
	var epoch int
	waitLong(t, 30*time.Second, "the Sentinels to agree on the master's config epoch", func() bool {
		seen := map[string]bool{}
		for _, s := range rd.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
			m, err := c.Master(ctx, rd.MasterName).Result()
			c.Close()
			if err != nil {
				return false
			}
			seen[m["config-epoch"]] = true
			epoch, _ = strconv.Atoi(m["config-epoch"])
		}
		return len(seen) == 1
	})
	return epoch
}

// Lines of the Sentinels' logs (sentinel.c): a SENTINEL FAILOVER
// carried out, a failover aborted, a replica promoted.
const (
	userFailover  = "Executing user requested FAILOVER"
	failoverAbort = "-failover-abort"
	promotedSlave = "+promoted-slave"
)

// sentinelAborts counts the failovers the Sentinels started and aborted
// (failover-timeout, no good replica...). A Sentinel that asked to lead a
// failover of its own and was not elected logs -failover-abort-not-elected
// too, but it started nothing: not counted.
func sentinelAborts(t *testing.T, rd *devstack.RedisHA) int {
	t.Helper()
	return sentinelLog(t, rd, failoverAbort) - sentinelLog(t, rd, "-failover-abort-not-elected")
}

// sentinelLog counts a line in the Sentinels' logs so far.
func sentinelLog(t *testing.T, rd *devstack.RedisHA, what string) int {
	t.Helper()
	n := 0
	for _, s := range rd.Sentinels {
		b, err := os.ReadFile(s.Log)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), what)
	}
	return n
}

// redisAckedWrites writes n keys to a master, each acknowledged by a
// replica (WAIT 1), and returns them.
func redisAckedWrites(t *testing.T, addr, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	var keys []string
	for i := 0; i < n; i++ {
		k := prefix + strconv.Itoa(i)
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if got, err := c.Wait(ctx, 1, 5*time.Second).Result(); err != nil || got < 1 {
		t.Fatalf("WAIT 1 on %s: %d %v", addr, got, err)
	}
	return keys
}

// pgTimeline is the timeline of a primary's current WAL file.
func pgTimeline(ctx context.Context, dsn string) (int, error) {
	var name string
	if err := devstack.QueryRow(ctx, dsn, "select pg_walfile_name(pg_current_wal_lsn())", nil, &name); err != nil {
		return 0, err
	}
	tl, err := strconv.ParseInt(name[:8], 16, 64)
	return int(tl), err
}

// pgAck runs one write and reports whether it is acknowledged as
// synchronously replicated: the COMMIT returned without error and without
// PostgreSQL's warning that the wait for the synchronous standby was
// cancelled, and a synchronous standby has flushed the WAL up to it (the
// client's counterpart of Redis's WAIT: between a promotion and the
// rejoin of the old primary the new primary commits without a standby,
// and those commits are not acknowledged).
func pgAck(ctx context.Context, dsn, stmt string, limit time.Duration) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = time.Second
	var warned bool
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "synchronous replication") {
			warned = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return err
	}
	if warned {
		return fmt.Errorf("committed locally only")
	}
	var synced bool
	if err := conn.QueryRow(ctx, "select exists (select 1 from pg_stat_replication where sync_state = 'sync' and flush_lsn >= pg_current_wal_lsn())").Scan(&synced); err != nil {
		return err
	}
	if !synced {
		return fmt.Errorf("committed without a synchronous standby")
	}
	return nil
}

// pgWrite runs one write and reports whether the server committed it.
func pgWrite(ctx context.Context, dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return devstack.Exec(ctx, dsn, stmt)
}

// killPG SIGKILLs a PostgreSQL server's postmaster, the crash of the
// drill. The harness's own child (not root) is killed by the harness.
// Otherwise the postmaster is the child of runuser (the harness as root)
// or was started by pg.rejoin through pg_ctl, which exited: this process
// adopted it (subreaper) and reaps it, so that pg_ctl and pg_rewind see
// no live server. Only the postmaster is killed: its backends exit when
// it dies, as after a crash.
func killPG(t *testing.T, n *devstack.PGNode) {
	t.Helper()
	if n.Running() && os.Geteuid() != 0 {
		n.Kill()
		return
	}
	b, err := os.ReadFile(filepath.Join(n.DataDir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("%s: no postmaster.pid: %v", n.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("%s: postmaster.pid: %v", n.Name, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("%s: kill %d: %v", n.Name, pid, err)
	}
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil) // ECHILD when runuser reaps it
	}()
}

// subreaper makes this process adopt its orphaned descendants (on 1) or
// no longer (0).
func subreaper(on uintptr) error {
	const prSetChildSubreaper = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, on, 0); e != 0 {
		return e
	}
	return nil
}

// writers write to PostgreSQL (through the postgres-primary Service) and
// to Redis (through the Sentinels) without pause, and remember only the
// acknowledged writes.
type writers struct {
	mu        sync.Mutex
	pgIDs     []int64
	redisKeys []string
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func startWriters(t *testing.T, pg *devstack.PGCluster, rd *devstack.RedisHA, primaryPort func() int) *writers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{cancel: cancel}
	t.Cleanup(w.stop)
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		dsn := func(port int) string {
			return strings.Replace(pg.Nodes[0].DSN(), "port="+strconv.Itoa(pg.Nodes[0].Port), "port="+strconv.Itoa(port), 1)
		}
		port := primaryPort()
		for id := int64(1); ctx.Err() == nil; id++ {
			if err := pgAck(ctx, dsn(port), "insert into drill_writes values ("+strconv.FormatInt(id, 10)+")", 30*time.Second); err != nil {
				port = primaryPort() // the Service is re-pointed by the failover
				time.Sleep(20 * time.Millisecond)
				continue
			}
			w.mu.Lock()
			w.pgIDs = append(w.pgIDs, id)
			w.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	go func() {
		defer w.wg.Done()
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: rd.MasterName, SentinelAddrs: rd.SentinelAddrs(),
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
		defer c.Close()
		for i := 1; ctx.Err() == nil; i++ {
			k := "drill:" + strconv.Itoa(i)
			// One connection (a pipeline): WAIT counts the replicas that
			// have this connection's writes. Acknowledged only when a
			// replica confirmed it.
			pipe := c.Pipeline()
			set := pipe.Set(ctx, k, i, 0)
			wait := pipe.Do(ctx, "WAIT", 1, 500)
			pipe.Exec(ctx)
			if n, err := wait.Int(); set.Err() != nil || err != nil || n < 1 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			w.mu.Lock()
			w.redisKeys = append(w.redisKeys, k)
			w.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return w
}

func (w *writers) stop() {
	w.cancel()
	w.wg.Wait()
}

func (w *writers) pgAcked() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.pgIDs...)
}

func (w *writers) redisAcked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.redisKeys...)
}

func (w *writers) counts() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pgIDs), len(w.redisKeys)
}
