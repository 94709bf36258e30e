package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// TestOperateShutdown: when Operate's context ends (a signal), the
// running flow is cancelled, its undo runs, then its #[on_failure] flow,
// whose FAILED_ERROR names the signal. The on_failure flow has the
// shutdown grace: when the grace runs out, or Shutdown.Now ends, it is
// stopped at once and Operate returns.
func TestOperateShutdown(t *testing.T) {
	const grace = 45 * time.Second
	for _, c := range []struct {
		name string
		slow bool   // the on_failure flow sleeps a minute
		stop string // how it is stopped: "", "now", "grace"
	}{
		{"grace", false, ""},
		{"second stop", true, "now"},
		{"grace runs out", true, "grace"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			sleep := ""
			if c.slow {
				sleep = "sleep 60; "
			}
			src := `mod main {
    #[every("1h"), on_failure(interrupted)]
    flow failover | _promote;
    #[transaction, undo(_unpromote)]
    flow _promote { gx.cmd("touch started; sleep 60"); }
    flow _unpromote { gx.cmd("echo undo >> order.txt"); }
    flow interrupted { gx.cmd("echo \"handler ${FAILED_ERROR}\" >> order.txt; ` + sleep + `echo handler-end >> order.txt"); }
}
`
			if err := os.WriteFile(filepath.Join(root, "w.gxl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			order := func() string { b, _ := os.ReadFile(filepath.Join(root, "order.txt")); return string(b) }
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s; order.txt:\n%s", what, order())
					}
				}
			}
			clock := &handClock{waiters: map[time.Duration][]chan time.Time{}}
			e := newTestEngine(t, root)
			p := e.Load(filepath.Join(root, "w.gxl"))
			if !p.OK() {
				t.Fatalf("load: %v", p.Diags)
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			now, stopNow := context.WithCancelCause(context.Background())
			defer stopNow(nil)
			done := make(chan error, 1)
			go func() {
				done <- e.Operate(ctx, p, engine.WithListen("127.0.0.1:0"), engine.WithOperateClock(clock),
					engine.WithShutdown(engine.Shutdown{Grace: grace, Now: now}))
			}()
			waitFor("the flow to start", func() bool { _, err := os.Stat(filepath.Join(root, "started")); return err == nil })
			cancel(&builtin.SignalError{Signal: "SIGTERM"})
			waitFor("the on_failure flow", func() bool { return strings.Contains(order(), "handler ") })
			switch c.stop {
			case "now":
				stopNow(&builtin.SignalError{Signal: "SIGTERM"})
			case "grace":
				waitFor("the grace timer", func() bool { return clock.fire(grace) })
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Operate: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("Operate did not return; order.txt:\n%s", order())
			}
			want := "undo\nhandler cancelled by signal SIGTERM (gxl operate is stopping: the run was cut short, its undo ran, and the next operator does not resume it)\n"
			if !c.slow {
				want += "handler-end\n"
			}
			if got := order(); got != want {
				t.Errorf("order.txt:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
