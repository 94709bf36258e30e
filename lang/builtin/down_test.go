package builtin

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
)

// downCtx is the part of Ctx that RunDown uses.
type downCtx struct {
	Ctx
	vars map[string]value.Value
}

func (c *downCtx) Context() context.Context       { return context.Background() }
func (c *downCtx) Set(name string, v value.Value) { c.vars[name] = v }
func (c *downCtx) Logf(string, ...any)            {}

// TestRunDownCountsFromTheLastAnswer: the window of a probe that finds the
// server down starts at the server's last answer to an earlier probe of
// this process (as Sentinel's down-after-milliseconds does), so a server
// probed every second by `gxl operate` is failed over when the window
// after its death ends, not up to a probe period later. An answer older
// than recentAnswer says nothing: the window is counted whole from the
// first failed probe. The bounds are generous (the window is 3 s, the
// earlier answer 1.5 s before the call): the rule is structural, not a
// tight figure.
func TestRunDownCountsFromTheLastAnswer(t *testing.T) {
	b := &Builtin{Name: "x.down", Params: DownParams(Param{Name: "addr", Type: types.String})}
	var up atomic.Bool
	probe := func(context.Context) error {
		if up.Load() {
			return nil
		}
		return errors.New("connection refused")
	}
	down := func(target string, window time.Duration) (bool, time.Duration) {
		c := &downCtx{vars: map[string]value.Value{}}
		a := NewArgs(b, map[string]value.Value{"for": value.Str(window.String()), "interval": value.Str("100ms"), "out": value.Str("DOWN")})
		began := time.Now()
		if err := RunDown(c, a, "x.down", target, probe); err != nil {
			t.Fatal(err)
		}
		return c.vars["DOWN"].BoolVal(), time.Since(began)
	}

	// An answer, then the server dies; the next call comes 1.5 s later.
	up.Store(true)
	if isDown, _ := down("a:1", 3*time.Second); isDown {
		t.Fatal("a server that answers is down")
	}
	up.Store(false)
	time.Sleep(1500 * time.Millisecond)
	isDown, took := down("a:1", 3*time.Second)
	if !isDown {
		t.Fatal("not down after the window")
	}
	if took >= 2900*time.Millisecond {
		t.Errorf("down decided %s after the call, a whole window: the window must count from the last answer 1.5 s before it", took)
	}

	// The last answer is older than recentAnswer: the whole window.
	up.Store(true)
	down("b:1", time.Second)
	up.Store(false)
	time.Sleep(recentAnswer + 200*time.Millisecond)
	isDown, took = down("b:1", time.Second)
	if !isDown || took < time.Second {
		t.Errorf("stale answer: down=%v after %s, want down after the whole window (1s) from the first failed probe", isDown, took)
	}
	// Another target's answer does not count.
	isDown, took = down("c:1", time.Second)
	if !isDown || took < time.Second {
		t.Errorf("never answered: down=%v after %s, want the whole window", isDown, took)
	}
}
