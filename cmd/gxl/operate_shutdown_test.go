package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shutdownProgram is a triggered flow with an undo and an #[on_failure]
// flow; each writes to order.txt, so the test sees what ran in which
// order. slowHandler makes the on_failure flow take a minute.
func shutdownProgram(slowHandler bool) string {
	sleep := ""
	if slowHandler {
		sleep = "sleep 60; "
	}
	return `
mod main {
    #[every("1h"), on_failure(interrupted)]
    flow failover | _promote;
    #[transaction, undo(_unpromote)]
    flow _promote { gx.cmd("touch started; sleep 60"); }
    flow _unpromote { gx.cmd("echo undo >> order.txt"); }
    flow interrupted {
        gx.cmd("echo \"handler ${FAILED_FLOW}|${FAILED_ERROR}\" >> order.txt; ` + sleep + `echo handler-end >> order.txt");
    }
}
`
}

func readOrder(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "order.txt"))
	return string(b)
}

// TestOperateSIGTERMRunsOnFailure: SIGTERM in the middle of a triggered
// run cancels it, runs its undo, then its #[on_failure] flow once, whose
// FAILED_ERROR names the signal and says the run is not resumed; gxl
// operate exits 0.
func TestOperateSIGTERMRunsOnFailure(t *testing.T) {
	dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": shutdownProgram(false)})
	cmd, _ := startOperate(t, dir, "w.gxl")
	waitUntil(t, "the flow to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 20*time.Second); code != 0 {
		t.Fatalf("after SIGTERM: exit %d", code)
	}
	want := "undo\nhandler main.failover|cancelled by signal SIGTERM (gxl operate is stopping: the run was cut short, its undo ran, and the next operator does not resume it)\nhandler-end\n"
	if got := readOrder(dir); got != want {
		t.Fatalf("order.txt:\n%s\nwant:\n%s", got, want)
	}
	var runs []struct {
		Flows   []string `json:"flows"`
		Status  string   `json:"status"`
		Trigger string   `json:"trigger"`
	}
	r := gxl(t, dir, "runs", "list", "--format", "json")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	got := map[string]string{}
	for _, run := range runs {
		got[strings.Join(run.Flows, ",")] = run.Status + " " + run.Trigger
	}
	if got["main.failover"] != "failed every 1h0m0s" || got["main.interrupted"] != "succeeded on_failure of main.failover" || len(runs) != 2 {
		t.Errorf("runs: %v", got)
	}
}

// TestOperateStopsAtOnce: while the on_failure flow of a run SIGTERM cut
// short runs, a second SIGTERM — or the end of --shutdown-grace — stops
// gxl operate at once (exit 0): the on_failure flow's command is
// cancelled and its run stays interrupted; the next operator resumes it,
// with the same failure.
func TestOperateStopsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		second bool
	}{
		{"second SIGTERM", nil, true},
		{"grace runs out", []string{"--shutdown-grace", "1s"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := project(t, map[string]string{"_gal/project.toml": "", "w.gxl": shutdownProgram(true)})
			cmd, _ := startOperate(t, dir, append([]string{"w.gxl"}, c.args...)...)
			waitUntil(t, "the flow to start", func() bool {
				_, err := os.Stat(filepath.Join(dir, "started"))
				return err == nil
			})
			cmd.Process.Signal(syscall.SIGTERM)
			waitUntil(t, "the on_failure flow to start", func() bool { return strings.Contains(readOrder(dir), "handler ") })
			stopped := time.Now()
			if c.second {
				cmd.Process.Signal(syscall.SIGTERM)
			}
			// At once: the command's SIGINT, SIGKILL 2 s later at most.
			if code := exitCode(t, cmd, 15*time.Second); code != 0 {
				t.Fatalf("exit %d", code)
			}
			t.Logf("stopped %s after the on_failure flow started", time.Since(stopped).Round(time.Millisecond))
			if d := time.Since(stopped); d > 10*time.Second {
				t.Errorf("gxl operate took %s to stop", d)
			}
			first := readOrder(dir)
			if strings.Contains(first, "handler-end") || strings.Count(first, "handler ") != 1 || !strings.HasPrefix(first, "undo\n") {
				t.Fatalf("order.txt:\n%s", first)
			}
			r := gxl(t, dir, "runs", "list", "--format", "json")
			if !strings.Contains(r.stdout, `"interrupted"`) {
				t.Errorf("no interrupted run:\n%s", r.stdout)
			}
			// The next operator resumes the on_failure run: the alert goes
			// out after all.
			cmd, _ = startOperate(t, dir, "w.gxl")
			waitUntil(t, "the resumed on_failure flow", func() bool {
				return strings.Count(readOrder(dir), "handler main.failover|cancelled by signal SIGTERM") == 2
			})
		})
	}
}
