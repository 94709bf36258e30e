package operator

import (
	"fmt"
	"time"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
)

// registerWindow adds operate.window: the #[window] rule of a flow, asked
// from inside one. A flow annotated #[window] is held back whole; a module
// whose first deployment must go ahead at any hour while its upgrades wait
// for the maintenance window asks with operate.window and decides. The
// window is read like #[window]'s (check.ParseClock, check.ClockWindow),
// in the run's zone (--tz, TZ) and opened by the run's --force.
func registerWindow(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name:  "operate.window",
		Doc:   "Whether now is inside a daily window (the rule of #[window], in the run's --tz zone, open under --force): sets {open, forced, window, next}.",
		Where: builtin.InBlock, Effect: builtin.Pure, SetsVars: builtin.OutVar("WINDOW"),
		Params: []builtin.Param{
			{Name: "start", Type: types.String, Required: true, Doc: "the window's start, HH:MM (inclusive)"},
			{Name: "end", Type: types.String, Required: true, Doc: "the window's end, HH:MM (exclusive; before start: the window wraps midnight)"},
			{Name: "out", Type: types.String, Default: value.Str("WINDOW"), Doc: "variable set to {open: inside the window or forced, forced: --force, window: \"02:00–04:00\", next: the next start (2006-01-02 15:04 MST), now}"},
		},
		Run: runWindow,
	})
}

// Window resolves a window from its two clock times.
func Window(start, end string) (check.ClockWindow, error) {
	s, err := check.ParseClock(start)
	if err != nil {
		return check.ClockWindow{}, fmt.Errorf("start: %v", err)
	}
	e, err := check.ParseClock(end)
	if err != nil {
		return check.ClockWindow{}, fmt.Errorf("end: %v", err)
	}
	if s == e {
		return check.ClockWindow{}, fmt.Errorf("the window from %s to %s is empty (a window that wraps midnight is written 22:00 to 02:00)", start, end)
	}
	return check.ClockWindow{Start: s, End: e}, nil
}

func runWindow(c builtin.Ctx, a builtin.Args) error {
	w, err := Window(a.Str("start"), a.Str("end"))
	if err != nil {
		return fmt.Errorf("operate.window: %v", err)
	}
	h := c.Host()
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	inside := w.Contains(now)
	next := w.NextStart(now)
	if inside {
		next = now
	}
	o := value.NewObject()
	o.Set("open", value.Bool(inside || h.Force))
	o.Set("inside", value.Bool(inside))
	o.Set("forced", value.Bool(h.Force && !inside))
	o.Set("window", value.Str(w.String()+" "+loc.String()))
	o.Set("next", value.Str(next.Format("2006-01-02 15:04 MST")))
	o.Set("now", value.Str(now.Format("2006-01-02 15:04 MST")))
	c.Set(a.Str("out"), value.Obj(o))
	c.Logf("operate.window %s %s: inside=%v forced=%v", w, loc, inside, h.Force && !inside)
	return nil
}
