package pg_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
)

const failoverProgram = `
mod envs { env default { } }
mod main {
    flow status {
        pg.status(dsn: "${PG_PRIMARY_DSN:}", out: "ST");
        gx.assert(value: "${ST.role}", expect: "primary");
        gx.assert(value: "${ST.replicas[0].name}", expect: "n2");
        gx.assert(value: "${ST.replicas[0].state}", expect: "streaming");
        pg.check(dsn: "${PG_PRIMARY_DSN:}", min_replicas: 1);
        pg.status(dsn: "${PG_STANDBY_DSN:}", out: "SB");
        gx.assert(value: "${SB.role}", expect: "standby");
        pg.exec(dsn: "${PG_PRIMARY_DSN:}", sql: "create table boot (id int); insert into boot values (1), (2);");
        pg.down(dsn: "${PG_PRIMARY_DSN:}", for: "1s", out: "IS_DOWN");
        gx.assert(value: "${IS_DOWN}", expect: "false");
    }
    flow bad_exec {
        pg.exec(dsn: "${PG_PRIMARY_DSN:}", sql: "create table half (id int); insert into nowhere values (1);");
    }
    flow down_old {
        pg.down(dsn: "${PG_PRIMARY_DSN:}", for: "1s", interval: "200ms", out: "OLD_DOWN");
        gx.assert(value: "${OLD_DOWN}", expect: "true");
        pg.down(dsn: "${PG_STANDBY_DSN:}", for: "1s", out: "NEW_DOWN");
        gx.assert(value: "${NEW_DOWN}", expect: "false");
    }
    flow failover {
        pg.failover(primary: "${PG_PRIMARY_DSN:}", standbys: ["${PG_STANDBY_DSN:}"], out: "NEW_PRIMARY", sync: "n1");
        gx.assert(value: "${NEW_PRIMARY}", expect: "${PG_STANDBY_DSN:}");
        pg.wait(dsn: "${NEW_PRIMARY}", role: "primary", timeout: "10s");
        gx.echo("new primary ready");
    }
    flow rejoin {
        pg.rejoin(data: "${PG_PRIMARY_DATA:}", port: "${PG_PRIMARY_PORT:}", source: "${PG_STANDBY_DSN:}", name: "n1", bin: "${PG_BIN:}", socket_dir: "${PG_SOCKET_DIR:}");
        pg.check(dsn: "${PG_STANDBY_DSN:}", min_replicas: 1);
        pg.status(dsn: "${PG_PRIMARY_DSN:}", out: "OLD");
        gx.assert(value: "${OLD.role}", expect: "standby");
    }
}
`

// TestFailoverZeroLoss: writers commit rows with synchronous replication,
// the primary is killed with SIGKILL, pg.failover promotes the standby
// (driven from a .gxl program), and every acknowledged commit is on the
// new primary. Then pg.rejoin brings the old primary back as a standby.
func TestFailoverZeroLoss(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	// The rejoined old primary is started by pg_ctl, not as our child.
	defer c.StopDataDir(c.Nodes[0].DataDir)
	vars := c.Env()
	if out, err := gxltest.Run(t, failoverProgram, "status", vars); err != nil {
		t.Fatalf("status flow: %v\n%s\n%s", err, out, c.Logs())
	}
	var booted int64
	if err := devstack.QueryRow(ctx, c.Nodes[0].DSN(), "select count(*) from boot", nil, &booted); err != nil || booted != 2 {
		t.Fatalf("pg.exec rows: %d (%v)", booted, err)
	}
	// A failing statement leaves nothing of the others (one transaction).
	if out, err := gxltest.Run(t, failoverProgram, "bad_exec", vars); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("bad pg.exec: %v\n%s", err, out)
	}
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "select * from half"); err == nil {
		t.Fatal("pg.exec left a half-done schema behind")
	}
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "create table t (id bigint primary key, writer int)"); err != nil {
		t.Fatal(err)
	}
	// Concurrent writers; an id counts only once its commit returned.
	var acked sync.Map
	var nAcked, nFailed int64
	var next int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, c.Nodes[0].DSN())
			if err != nil {
				return
			}
			defer conn.Close(context.Background())
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := atomic.AddInt64(&next, 1)
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := conn.Exec(cctx, "insert into t values ($1, $2)", id, w)
				cancel()
				if err != nil {
					atomic.AddInt64(&nFailed, 1)
					return
				}
				acked.Store(id, true)
				atomic.AddInt64(&nAcked, 1)
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	killed := time.Now()
	c.Nodes[0].Kill()
	close(stop)
	wg.Wait()
	out, err := gxltest.Run(t, failoverProgram, "failover", vars)
	writable := time.Since(killed)
	if err != nil {
		t.Fatalf("failover flow: %v\n%s\n%s", err, out, c.Logs())
	}
	if out, err := gxltest.Run(t, failoverProgram, "down_old", vars); err != nil {
		t.Fatalf("down_old flow: %v\n%s", err, out)
	}
	var rows int64
	if err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "select count(*) from t", nil, &rows); err != nil {
		t.Fatal(err)
	}
	missing := 0
	conn, err := pgx.Connect(ctx, c.Nodes[1].DSN())
	if err != nil {
		t.Fatal(err)
	}
	acked.Range(func(k, _ any) bool {
		var one int
		if err := conn.QueryRow(ctx, "select 1 from t where id = $1", k.(int64)).Scan(&one); err != nil {
			missing++
		}
		return true
	})
	conn.Close(ctx)
	t.Logf("acknowledged commits before the kill: %d; rows on the new primary: %d; missing: %d; kill -> writable primary (gxl flow incl. start-up): %s",
		nAcked, rows, missing, writable.Round(time.Millisecond))
	if nAcked == 0 {
		t.Fatal("no writes were acknowledged: the load did not run")
	}
	if missing != 0 {
		t.Fatalf("%d acknowledged commits lost", missing)
	}
	out, err = gxltest.Run(t, failoverProgram, "rejoin", vars)
	if err != nil {
		t.Fatalf("rejoin flow: %v\n%s\n%s", err, out, c.Logs())
	}
	// Writes on the new primary reach the rejoined standby.
	if err := devstack.Exec(ctx, c.Nodes[1].DSN(), "insert into t values (-1, -1)"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		err := devstack.QueryRow(ctx, c.Nodes[0].DSN(), "select count(*) from t where id = -1", nil, &n)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rejoined standby does not replay new writes: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "pg failover: acked="+strconv.FormatInt(nAcked, 10)+" rows="+strconv.FormatInt(rows, 10)+" missing=0 kill->writable="+writable.Round(time.Millisecond).String())
}

const switchoverProgram = `
mod envs { env default { } }
mod main {
    flow switchover {
        pg.switchover(primary: "${PG_PRIMARY_DSN:}", standbys: ["${PG_STANDBY_DSN:}"], out: "NEW");
        gx.assert(value: "${NEW}", expect: "${PG_STANDBY_DSN:}");
        pg.status(dsn: "${NEW}", out: "ST");
        gx.assert(value: "${ST.role}", expect: "primary");
    }
}
`

// TestSwitchover: a planned switchover keeps every committed row and
// leaves the old primary refusing writes.
func TestSwitchover(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "create table s (id int primary key)", "insert into s select generate_series(1, 5000)"); err != nil {
		t.Fatal(err)
	}
	if out, err := gxltest.Run(t, switchoverProgram, "switchover", c.Env()); err != nil {
		t.Fatalf("switchover: %v\n%s\n%s", err, out, c.Logs())
	}
	var n int64
	if err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "select count(*) from s", nil, &n); err != nil || n != 5000 {
		t.Fatalf("rows on the new primary: %d (%v)", n, err)
	}
	if err := devstack.Exec(ctx, c.Nodes[1].DSN(), "insert into s values (5001)"); err != nil {
		t.Fatalf("new primary refuses writes: %v", err)
	}
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "insert into s values (9999)"); err == nil {
		t.Fatal("the old primary still accepts writes after the switchover")
	}
}

// TestFailoverAgainAfterPromotion: pg.failover run again after it
// promoted the standby — what a resume does when gxl operate was killed
// between the promotion and its journal's record of it — finishes that
// failover (the same new primary, writable) and promotes nothing: the
// timeline moved once. Before, it failed with "no standby can be
// promoted", and the resumed failover stopped there.
func TestFailoverAgainAfterPromotion(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	vars := c.Env()
	timeline := func() int {
		t.Helper()
		var tl int
		if err := devstack.Exec(ctx, c.Nodes[1].DSN(), "checkpoint"); err != nil {
			t.Fatal(err)
		}
		if err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "select timeline_id from pg_control_checkpoint()", nil, &tl); err != nil {
			t.Fatal(err)
		}
		return tl
	}
	before := timeline()
	c.Nodes[0].Kill()
	if out, err := gxltest.Run(t, failoverProgram, "failover", vars); err != nil {
		t.Fatalf("failover: %v\n%s", err, out)
	}
	once := timeline()
	if once != before+1 {
		t.Fatalf("timeline %d → %d after one failover", before, once)
	}
	out, err := gxltest.Run(t, failoverProgram, "failover", vars)
	if err != nil {
		t.Fatalf("pg.failover again after its promotion: %v\n%s", err, out)
	}
	if tl := timeline(); tl != once {
		t.Errorf("timeline %d → %d: pg.failover promoted again", once, tl)
	}
}

const asyncUntilRejoinProgram = `
mod envs { env default { } }
mod main {
    flow failover {
        pg.failover(primary: "${PG_PRIMARY_DSN:}", standbys: ["${PG_STANDBY_DSN:}"], out: "NEW_PRIMARY", sync: "");
    }
    flow rejoin {
        pg.rejoin(data: "${PG_PRIMARY_DATA:}", port: "${PG_PRIMARY_PORT:}", source: "${PG_STANDBY_DSN:}", name: "n1", bin: "${PG_BIN:}", socket_dir: "${PG_SOCKET_DIR:}", sync: true);
    }
}
`

// TestFailoverAsyncUntilRejoin: pg.failover with sync: "" leaves the new
// primary without a synchronous standby, so it commits at once while the
// old primary is down (the promoted standby's own setting, copied from
// the primary, names the standby itself and would hold every commit);
// pg.rejoin with sync: true makes the rejoined old primary its
// synchronous standby again.
func TestFailoverAsyncUntilRejoin(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	defer c.StopDataDir(c.Nodes[0].DataDir)
	vars := c.Env()
	// The standby's own setting names itself, as after a pg_rewind that
	// copied the primary's (a second failover of the example system).
	if err := devstack.Exec(ctx, c.Nodes[1].DSN(), "alter system set synchronous_standby_names = 'n2'", "select pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	c.Nodes[0].Kill()
	if out, err := gxltest.Run(t, asyncUntilRejoinProgram, "failover", vars); err != nil {
		t.Fatalf("failover: %v\n%s\n%s", err, out, c.Logs())
	}
	// A commit returns although no standby streams. (A commit held for
	// a standby and cancelled by the timeout returns too, with a warning:
	// that counts as held.)
	cfg, err := pgx.ParseConfig(c.Nodes[1].DSN())
	if err != nil {
		t.Fatal(err)
	}
	var held atomic.Bool
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "synchronous replication") {
			held.Store(true)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = conn.Exec(cctx, "set statement_timeout = '3s'; create table gap (id int)")
	cancel()
	conn.Close(ctx)
	if err != nil || held.Load() {
		t.Fatalf("the new primary holds commits for a standby that is down: %v (warned: %v)", err, held.Load())
	}
	if out, err := gxltest.Run(t, asyncUntilRejoinProgram, "rejoin", vars); err != nil {
		t.Fatalf("rejoin: %v\n%s\n%s", err, out, c.Logs())
	}
	var names, state string
	if err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "show synchronous_standby_names", nil, &names); err != nil || names != "n1" {
		t.Fatalf("synchronous_standby_names after the rejoin: %q (%v), want n1", names, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "select sync_state from pg_stat_replication where application_name = 'n1'", nil, &state)
		if err == nil && state == "sync" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rejoined standby is not synchronous: %q (%v)", state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
