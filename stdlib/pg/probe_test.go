package pg_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
)

const probeProgram = `
mod envs { env default { } }
mod main {
    flow up {
        pg.down(dsn: "${PG_PRIMARY_DSN:}", for: "0s", out: "D");
        gx.assert(value: "${D}", expect: "false", err: "pg.down: a server that answers is down");
    }
    flow down {
        pg.down(dsn: "${PG_PRIMARY_DSN:}", for: "1s", interval: "200ms", out: "D");
        gx.assert(value: "${D}", expect: "true", err: "pg.down: a killed server is not down");
    }
}
`

// TestDownKeepsItsConnection: pg.down probes through one kept session
// per server across runs (gxl operate probes a primary every second);
// a server restarted behind the kept session answers on the first probe
// after it (for: "0s" is one probe: the dead session must not fail it),
// and a killed server is down for the window through the kept session.
func TestDownKeepsItsConnection(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	vars := c.Env()
	n := c.Nodes[0]
	// sessions lists the client sessions on the primary but the asking one.
	sessions := func() []int32 {
		t.Helper()
		conn, err := pgx.Connect(ctx, n.DSN())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "select pid from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() order by pid")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var pids []int32
		for rows.Next() {
			var pid int32
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	up := func(when string) {
		t.Helper()
		if out, err := gxltest.Run(t, probeProgram, "up", vars); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", when, err, out, c.Logs())
		}
	}

	up("first probe")
	kept := sessions()
	if len(kept) != 1 {
		t.Fatalf("after a probe, sessions %v: want the one kept session", kept)
	}
	for range 3 {
		up("probe again")
	}
	if s := sessions(); !slices.Equal(s, kept) {
		t.Fatalf("sessions %v after more probes, want the kept one %v (a new connection per probe)", s, kept)
	}

	// Restarted behind the kept session: up at the first probe.
	n.Kill()
	// The killed server's children go shortly after it: until then its
	// lock file stands.
	for i := 0; ; i++ {
		for n.Running() {
			time.Sleep(20 * time.Millisecond)
		}
		err := c.StartNode(ctx, n)
		if err == nil {
			break
		}
		if i == 20 {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	up("the first probe after a restart")
	if s := sessions(); len(s) != 1 || slices.Equal(s, kept) {
		t.Fatalf("sessions %v after the restart (before: %v): want one new kept session", s, kept)
	}

	// Killed with a kept session: down for the window.
	n.Kill()
	if out, err := gxltest.Run(t, probeProgram, "down", vars); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
