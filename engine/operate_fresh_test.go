package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/engine"
)

// TestOperatedRunsStartFresh: the triggered runs of an operator share
// what does not change between them (the options, envs and header parts
// of the program, made once: operation.shape), never a run's state: a
// variable a run wrote is not seen by the next one, each has its own run
// id, and a check warning of a file a run loads is given to each run.
func TestOperatedRunsStartFresh(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, rel), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("w.gxl", `mod main {
    #[every("1h")]
    flow tick {
        gx.cmd("echo ${GXL_CUR_DIR} ${GXL_RUN_ID} >> seen.txt");
        GXL_CUR_DIR = "written by the run before";
        gx.run(local: "sub", env: "default", flow: "f");
    }
}
`)
	os.MkdirAll(filepath.Join(root, "sub", "_gal"), 0o755)
	write("sub/_gal/work.gxl", `mod envs { env default { } }
mod main { flow f { if "a" == 1 { gx.echo("never"); } } }
`)
	warnings := make(chan string, 10)
	e := newTestEngine(t, root, engine.WithStdout(new(strings.Builder)), engine.WithWarnings(func(ds diag.List, _ diag.Sources) {
		for _, d := range ds {
			warnings <- d.Code
		}
	}))
	p := e.Load(filepath.Join(root, "w.gxl"))
	if !p.OK() {
		t.Fatalf("load: %v", p.Diags)
	}
	clock := &handClock{waiters: map[time.Duration][]chan time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Operate(ctx, p, engine.WithListen("127.0.0.1:0"), engine.WithOperateClock(clock))
	}()
	lines := func() []string {
		b, _ := os.ReadFile(filepath.Join(root, "seen.txt"))
		return strings.Fields(strings.ReplaceAll(string(b), "\n", " "))
	}
	for n := 1; n <= 3; n++ {
		deadline := time.Now().Add(20 * time.Second)
		for len(lines()) < 2*n {
			if time.Now().After(deadline) {
				t.Fatalf("run %d did not write seen.txt: %q", n, lines())
			}
			clock.mu.Lock()
			var ds []time.Duration
			for d := range clock.waiters {
				ds = append(ds, d)
			}
			clock.mu.Unlock()
			for _, d := range ds {
				clock.fire(d) // the next tick, whenever the loop set it
			}
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case code := <-warnings:
			if code != "cond-type" {
				t.Errorf("run %d: warning %s, want cond-type", n, code)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run %d: the warning of sub/_gal/work.gxl was not given", n)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := lines()
	ids := map[string]bool{}
	for i := 0; i+1 < len(got); i += 2 {
		if got[i] != root {
			t.Errorf("run %d: GXL_CUR_DIR = %q, want %q (a variable of the run before leaked)", i/2+1, got[i], root)
		}
		if ids[got[i+1]] {
			t.Errorf("run %d: the run id %s of an earlier run", i/2+1, got[i+1])
		}
		ids[got[i+1]] = true
	}
}
