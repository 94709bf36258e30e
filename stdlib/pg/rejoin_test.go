package pg_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/internal/devstack"

	"github.com/gxl-dev/gxl/internal/gxltest"
)

// TestRejoinRefusesProtectedData: pg.rejoin never hands pg_rewind the
// working directory, an ancestor of it, home or `/` as the data folder; the
// call fails at its position before anything runs.
func TestRejoinRefusesProtectedData(t *testing.T) {
	for _, data := range []string{".", "", "..", "/", "${HOME}"} {
		t.Run(data, func(t *testing.T) {
			src := `mod envs { env default { } }
mod main {
    flow rejoin {
        home = "${HOME:/}";
        pg.rejoin(data: "` + data + `", port: 5999, source: "host=127.0.0.1 port=1 user=x dbname=x", name: "n1", timeout: "2s");
    }
}
`
			_, err := gxltest.Run(t, src, "rejoin", nil)
			if err == nil || !strings.Contains(err.Error(), "work.gxl:5:9") || !strings.Contains(err.Error(), "refused, nothing was changed") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestRejoinAgainAfterCrash: pg.rejoin run again on an old primary that an
// earlier pg.rejoin already made a standby, and that crashed since (kill
// -9 of its postmaster: what a resumed failover meets when the gxl that
// ran the rejoin was killed in the middle of it, its pg_ctl start left
// behind). Its data folder was not shut down cleanly and has
// standby.signal: pg_rewind must complete crash recovery first, which a
// single-user server refuses in standby mode. The rejoin completes: the
// node streams from the new primary again. Before, it failed with
// "standby mode is not supported by single-user servers".
func TestRejoinAgainAfterCrash(t *testing.T) {
	// The rejoined postmaster is a child of pg_ctl, which exits: adopt
	// it, so that once killed it is reaped (not a zombie pg_ctl would
	// take for a live server).
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0); e != 0 {
		t.Fatalf("prctl: %v", e)
	}
	defer syscall.RawSyscall(syscall.SYS_PRCTL, 36, 0, 0)
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	defer c.StopDataDir(c.Nodes[0].DataDir)
	vars := c.Env()
	killPostmaster(t, c.Nodes[0].DataDir)
	for _, flow := range []string{"failover", "rejoin"} {
		if out, err := gxltest.Run(t, asyncUntilRejoinProgram, flow, vars); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", flow, err, out, c.Logs())
		}
	}
	killPostmaster(t, c.Nodes[0].DataDir)
	if out, err := gxltest.Run(t, asyncUntilRejoinProgram, "rejoin", vars); err != nil {
		t.Fatalf("rejoin again after the standby crashed: %v\n%s", err, out)
	}
	var state string
	if err := devstack.QueryRow(ctx, c.Nodes[1].DSN(), "select state from pg_stat_replication where application_name = 'n1'", nil, &state); err != nil || state != "streaming" {
		t.Fatalf("n1 after the second rejoin: %q (%v), want streaming", state, err)
	}
}

// killPostmaster SIGKILLs the postmaster of a data folder (not its
// runuser parent) and reaps it when it is this process's child.
func killPostmaster(t *testing.T, data string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	for range 100 {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("postmaster %d still there after SIGKILL", pid)
}
