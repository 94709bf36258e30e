package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/system/clusterstate"
)

// haDrillPoints is how many finish records the failover run of the
// example system (watch_postgres → the failover flow of postgres_primary)
// has when it completes: the kill points cycle over them. In order:
// gx.read_file k8s.get (the current primary), pg.down, pg.failover,
// gx.tpl k8s.apply (postgres-primary re-pointed), notify.incident
// (opened: the failover's incident), notify.slack notify.pagerduty
// notify.email (the start alert, sent once the Service points to the new
// primary), pg.rejoin, pg.check, gx.tpl k8s.apply (postgres-readonly),
// notify.incident (resolved), notify.slack notify.pagerduty notify.email
// (the end alert), sys.stage.
const haDrillPoints = 19

// TestHAFailoverDrill: three `gxl operate --ha` replicas operate the
// example system on real PostgreSQL, Redis and kube-apiserver, with their
// run journals in the API server. Each drill kills the PostgreSQL
// primary, then kill -9s the leader at kill point K: as soon as the
// failover run's journal in the API server holds K finish records (K =
// 1, 2, … cycling over the records of a failover; not a guess of time).
// Every drill: another replica leads within the lease duration + 5 s and
// completes the failover (the standby writable, the Service re-pointed,
// the old primary rejoined as a streaming standby, the run exited); the
// timeline moved by exactly one (one promotion); the failover's start and
// end alerts arrived once each (no statement's effect twice). The killed
// replica is replaced by a new one before the next drill.
//
// GXL_HA_DRILLS drills (default 2; `make drill-ha` runs 20).
func TestHAFailoverDrill(t *testing.T) {
	drills := 2
	if s := os.Getenv("GXL_HA_DRILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("GXL_HA_DRILLS=%q: want a number of drills", s)
		}
		drills = n
	}
	// Kill points: by default two, after the promotion was journaled and
	// between the re-pointing and the rejoin; else 1, 2, … cycling over
	// the haDrillPoints records.
	points := []int{4, 6}
	if drills != 2 {
		points = nil
		for i := range drills {
			points = append(points, 1+i%haDrillPoints)
		}
	}
	if err := subreaper(1); err != nil { // see TestFailoverDrills
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	t.Cleanup(func() { subreaper(0) })
	ctx := context.Background()
	x := startExampleStack(t, devstack.RedisOptions{})
	pg, root, rcv := x.pg, x.root, x.rcv
	// The lease and the journals: in the API server of the system.
	env := append(x.env, "KUBECONFIG="+x.kube.Kubeconfig)
	x.pipeline(t, env)
	cfg, cs, svcPort := x.kubeClient(t)
	store, err := clusterstate.New(clusterstate.Config{Rest: cfg, Namespace: "default", Identity: "drill-observer"})
	if err != nil {
		t.Fatal(err)
	}
	alerts := func(what string) int {
		slack, _ := rcv.Got()
		return strings.Count(strings.Join(slack, "\n"), "failover of postgres_primary "+what)
	}

	const lease = "gxl-ha-drill"
	args := []string{"sys/workflows/operators.gxl", "--state-lock-ttl", "2s",
		"--set", "FAILURE_DETECTION_SECONDS=" + strconv.Itoa(drillWindow), "--set", "HEALTH_CHECK_INTERVAL_SECONDS=2"}
	rs := startHAReplicas(t, root, env, 3, lease, args...)
	next := len(rs) + 1
	leader := haLeader(t, rs, 30*time.Second)

	for i, k := range points {
		port := svcPort("postgres-primary")
		var cur, stb *devstack.PGNode
		for _, n := range pg.Nodes {
			if n.Port == port {
				cur = n
			} else {
				stb = n
			}
		}
		if cur == nil {
			t.Fatalf("postgres-primary names port %d, no node of the cluster", port)
		}
		tl, err := pgTimeline(ctx, cur.DSN())
		if err != nil {
			t.Fatal(err)
		}
		started, done := alerts("started"), alerts("done")
		killPG(t, cur)

		// The kill point: the failover run's journal in the API server
		// holds k finish records.
		run := waitFailoverRecords(t, cs, k, 60*time.Second)
		// Its process group: what it runs (pg_rewind, pg_ctl) dies with
		// it, as on a machine lost (a server pg_ctl started is in a
		// session of its own and lives on).
		syscall.Kill(-leader.cmd.Process.Pid, syscall.SIGKILL)
		leader.cmd.Wait()
		killed := time.Now()
		// Where it was killed: the records the new leader resumes from.
		b, err := store.Read(run)
		if err != nil {
			t.Fatal(err)
		}
		at := doneNames(b)
		// The alerts the killed leader sent: once its requests landed
		// (the next leader is seconds away).
		time.Sleep(300 * time.Millisecond)
		sentStart, sentDone := alerts("started")-started, alerts("done")-done
		rest := without(rs, leader)
		nl := haLeader(t, rest, haLeaseDuration+5*time.Second)
		led := time.Since(killed)
		waitLong(t, 90*time.Second, "the failover completed by the new leader", func() bool {
			var inRecovery bool
			var state string
			b, err := store.Read(run)
			return err == nil && bytes.Contains(b, []byte(`"ev":"exit"`)) &&
				svcPort("postgres-primary") == stb.Port && svcPort("postgres-readonly") == cur.Port &&
				pgWrite(ctx, stb.DSN(), "select 1") == nil &&
				devstack.QueryRow(ctx, cur.DSN(), "select pg_is_in_recovery()", nil, &inRecovery) == nil && inRecovery &&
				devstack.QueryRow(ctx, stb.DSN(), "select state from pg_stat_replication where application_name = $1", []any{cur.Name}, &state) == nil && state == "streaming"
		})
		completed := time.Since(killed)
		b, _ = store.Read(run)
		recs := doneNames(b)
		if !bytes.Contains(b, []byte(`"ev":"exit","ok":true`)) {
			t.Errorf("drill %d: the failover run %s did not succeed:\n%s", i+1, run, b)
		}
		if err := pgWrite(ctx, stb.DSN(), "create table if not exists ha_drill (n int); insert into ha_drill values ("+strconv.Itoa(i)+")"); err != nil {
			t.Errorf("drill %d: the new primary refuses a write: %v", i+1, err)
		}
		after, err := pgTimeline(ctx, stb.DSN())
		if err != nil {
			t.Fatal(err)
		}
		if after != tl+1 {
			t.Errorf("drill %d (kill point %d): timeline %d → %d, want exactly one promotion", i+1, k, tl, after)
		}
		waitLong(t, 10*time.Second, "the failover's end alert", func() bool { return alerts("done") > done })
		time.Sleep(500 * time.Millisecond)
		// Each alert once, but for one the killed leader sent and had
		// not journaled yet (its notify.slack record, the first for the
		// start alert, the second for the end's): a statement cut off
		// between its effect and its record runs again on resume (at
		// least once, never twice once recorded).
		slackRecorded := strings.Count(" "+strings.Join(at, " ")+" ", " notify.slack ")
		wantStart, wantDone := 1, 1
		if slackRecorded < 1 {
			wantStart += sentStart
		}
		if slackRecorded < 2 {
			wantDone += sentDone
		}
		if s, d := alerts("started")-started, alerts("done")-done; s != wantStart || d != wantDone {
			t.Errorf("drill %d (kill point %d): %d start and %d end alerts of the failover, want %d and %d (%d notify.slack journaled at the kill, %d and %d sent by then)",
				i+1, k, s, d, wantStart, wantDone, slackRecorded, sentStart, sentDone)
		} else if s+d > 2 {
			t.Logf("drill %d: an alert the killed leader sent before its record was sent again by the next leader (at least once)", i+1)
		}
		t.Logf("drill %d: kill point %d: leader %s killed with %d finish records journaled (the last: %s); %s leads after %s, failover completed after %s",
			i+1, k, leader.id, len(at), at[len(at)-1], nl.id, led.Round(10*time.Millisecond), completed.Round(10*time.Millisecond))
		if len(recs) != haDrillPoints {
			t.Errorf("drill %d: the failover run has %d finish records, haDrillPoints says %d: %s", i+1, len(recs), haDrillPoints, strings.Join(recs, " "))
		}
		if t.Failed() {
			break
		}
		// Three replicas again for the next drill.
		id := "r" + strconv.Itoa(next)
		next++
		a := append([]string{"--ha", "--lease", "default/" + lease, "--identity", id}, haTestFlags...)
		cmd, addr := startOperateEnv(t, root, append(env, "REPLICA="+id), append(a, args...)...)
		rs = append(rest, &haReplica{id: id, cmd: cmd, addr: addr})
		leader = haLeader(t, rs, 10*time.Second)
	}
}

// waitFailoverRecords waits until the journal of a failover run (one
// that waited for pg.down: a failover of PostgreSQL) in the API server
// holds n finish records, and returns the run's id. It watches the runs'
// head ConfigMaps, so it sees every write of a journal (a failover's
// journal is the head's tail alone, far under a chunk); a run that
// reached n in the write of its exit is taken too (killed after it).
func waitFailoverRecords(t *testing.T, cs kubernetes.Interface, n int, limit time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: clusterstate.LabelManaged + "=gxl," + clusterstate.LabelPart + "=head"}
	exited := map[string]bool{} // runs that had exited when first seen
	reached := func(cm *corev1.ConfigMap, first bool) bool {
		j, id := cm.Data["journal"], cm.Labels[clusterstate.LabelRun]
		if first && strings.Contains(j, `"ev":"exit"`) {
			exited[id] = true
		}
		return !exited[id] && strings.Contains(j, `"name":"pg.down"`) && len(doneNames([]byte(j))) >= n
	}
	l, err := cs.CoreV1().ConfigMaps("default").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Items {
		if reached(&l.Items[i], true) {
			return l.Items[i].Labels[clusterstate.LabelRun]
		}
	}
	sel.ResourceVersion = l.ResourceVersion
	w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) && reached(cm, false) {
			return cm.Labels[clusterstate.LabelRun]
		}
	}
	t.Fatalf("no failover run in the API server reached %d finish records within %s", n, limit)
	return ""
}

// doneNames is the name of each finish record of a journal, in order.
func doneNames(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `"ev":"done"`) {
			continue
		}
		name := "?"
		if i := strings.Index(l, `"name":"`); i >= 0 {
			name = l[i+8:]
			name = name[:strings.IndexByte(name, '"')]
		}
		out = append(out, name)
	}
	return out
}
