package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/runtime"
)

// handClock is an operator clock that stands at now; the timers of one
// duration fire when the test says so.
type handClock struct {
	mu      sync.Mutex
	waiters map[time.Duration][]chan time.Time
}

func (c *handClock) Now() time.Time { return now }

func (c *handClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters[d] = append(c.waiters[d], ch)
	return ch
}

// fire fires the timers of duration d set so far; false when none is.
func (c *handClock) fire(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiters[d]
	c.waiters[d] = nil
	for _, ch := range ws {
		ch <- now.Add(d)
	}
	return len(ws) > 0
}

// operated is the journal of a run gxl operate started (its header's
// trigger) that ended as ok says.
func operated(t *testing.T, at time.Time, flow string, ok bool) string {
	h := map[string]any{"file": "/p/w.gxl", "flows": []string{flow}, "dir": "/p", "started": at, "format": 1, "trigger": "every 30s"}
	exit := map[string]any{"ev": "exit", "ok": ok, "time": at.Add(time.Second)}
	if !ok {
		exit["err"], exit["name"] = "boom", flow
	}
	return jline(t, map[string]any{"ev": "run", "header": h, "time": at}) + jline(t, exit)
}

// TestOperatedRunRetention: gxl operate keeps the succeeded runs it
// started for Age, and at least the Keep newest of each flow; failed
// operated runs and runs started by hand follow the rule of every run
// (failed ones stay, succeeded ones go after the run retention). It
// applies both when it starts and then every Every, on its clock; ages
// are measured on the engine's clock.
func TestOperatedRunRetention(t *testing.T) {
	root := t.TempDir()
	// beat runs a command: a run that changed nothing would leave no
	// journal (TestOperateQuietRunsLeaveNoJournal), and its journal marks
	// that the flow ran.
	if err := os.WriteFile(filepath.Join(root, "w.gxl"), []byte("mod main {\n    #[every(\"1h\")]\n    flow beat {\n        gx.cmd(\"echo beat\");\n    }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	put := func(tag string, at time.Time, journal string) { putRun(t, root, runID(at, tag), journal) }
	// main.tick, every 30 s: 6 succeeded runs, the newest 10 minutes old.
	for i, d := range []time.Duration{10 * time.Minute, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 5 * time.Hour, 6 * time.Hour} {
		put("tick0"+string(rune('a'+i)), ago(d), operated(t, ago(d), "main.tick", true))
	}
	put("tickfa", ago(5*time.Hour), operated(t, ago(5*time.Hour), "main.tick", false))    // failed: stays
	put("backup", ago(48*time.Hour), operated(t, ago(48*time.Hour), "main.backup", true)) // its flow's newest: stays
	for i := 1; i <= 4; i++ {                                                             // by hand, younger than 14 days: stay
		put("hand0"+string(rune('0'+i)), ago(time.Duration(i+1)*time.Hour), succeeded(t, ago(time.Duration(i+1)*time.Hour)))
	}
	put("hand20", ago(20*24*time.Hour), succeeded(t, ago(20*24*time.Hour))) // by hand, past 14 days: goes

	clock := &handClock{waiters: map[time.Duration][]chan time.Time{}}
	e := newTestEngine(t, root)
	p := e.Load(filepath.Join(root, "w.gxl"))
	if !p.OK() {
		t.Fatalf("load: %v", p.Diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	const every = 7 * time.Minute
	go func() {
		done <- e.Operate(ctx, p, engine.WithListen("127.0.0.1:0"), engine.WithOperateClock(clock),
			engine.WithOperatedRetention(engine.OperatedRetention{Age: time.Hour, Keep: 3, Every: every}))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Operate: %v", err)
		}
	}()

	left := func() []string {
		runs, err := e.Runs()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			if r.Status == runtime.RunRunning {
				continue
			}
			if len(r.Flows) == 1 && r.Flows[0] == "main.beat" {
				ids = append(ids, "beat")
				continue
			}
			ids = append(ids, r.ID[16:])
		}
		sort.Strings(ids)
		return ids
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Join(left(), " ") != want {
			if time.Now().After(deadline) {
				t.Fatalf("runs left: %v, want %s", left(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// At start: ticks past the hour and beyond the newest 3 go, and the
	// 20-day-old run by hand; the beat flow ran once.
	waitFor("backup beat hand01 hand02 hand03 hand04 tick0a tick0b tick0c tickfa")

	// Later, two more old succeeded ticks: the next pass, one period of
	// the operator's clock later, removes them; nothing before it does.
	put("tick0g", ago(7*time.Hour), operated(t, ago(7*time.Hour), "main.tick", true))
	put("tick0h", ago(8*time.Hour), operated(t, ago(8*time.Hour), "main.tick", true))
	time.Sleep(50 * time.Millisecond)
	if got := strings.Join(left(), " "); got != "backup beat hand01 hand02 hand03 hand04 tick0a tick0b tick0c tick0g tick0h tickfa" {
		t.Fatalf("before the next pass: %s", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !clock.fire(every) {
		if time.Now().After(deadline) {
			t.Fatal("the operator set no retention timer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor("backup beat hand01 hand02 hand03 hand04 tick0a tick0b tick0c tickfa")
}
