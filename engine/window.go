package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// WithTimeZone sets the zone of cron times and windows (default UTC).
func WithTimeZone(loc *time.Location) Option { return func(c *config) { c.loc = loc } }

// WithForce runs flows outside their #[window] (gxl run --force).
func WithForce(on bool) Option { return func(c *config) { c.force = on } }

// TimeZone is the engine's zone of cron times and windows.
func (e *Engine) TimeZone() *time.Location {
	if e.cfg.loc == nil {
		return time.UTC
	}
	return e.cfg.loc
}

// WindowError refuses a flow outside its #[window].
type WindowError struct {
	Flow   string
	Window check.ClockWindow
	Now    time.Time
	Next   time.Time
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("flow %s runs only inside its window %s (%s); it is %s, the next window opens at %s",
		e.Flow, e.Window, e.Now.Location(), e.Now.Format("15:04"), e.Next.Format("2006-01-02 15:04 MST"))
}

// TriggerError is a trigger annotation whose value, read from the
// system's variables, does not parse.
type TriggerError struct{ Diags diag.List }

func (e *TriggerError) Error() string {
	var parts []string
	for _, d := range e.Diags {
		parts = append(parts, d.Span.Start.String()+": "+d.Summary)
	}
	return strings.Join(parts, "; ")
}

// lookup reads the variables a trigger argument may use: the system's
// (with --set applied), then the --sets.
func (e *Engine) lookup(p *Program) func(string) (value.Value, bool) {
	sets := e.Sets()
	return func(name string) (value.Value, bool) {
		for _, m := range []map[string]value.Value{sets, p.Vars} {
			if v, ok := m[name]; ok {
				return v, true
			}
			for k, v := range m {
				if strings.EqualFold(k, name) {
					return v, true
				}
			}
		}
		return value.Value{}, false
	}
}

// checkWindows refuses flows named for a run outside their #[window],
// unless forced.
func (e *Engine) checkWindows(p *Program, flows []string) error {
	if e.cfg.force {
		return nil
	}
	now := e.now().In(e.TimeZone())
	for _, name := range flows {
		f, err := runtime.ResolveFlow(p.Program, name)
		if err != nil || f.Ann.Window == nil {
			continue
		}
		t, ds := check.FlowTrigger(f, e.lookup(p))
		if len(ds) > 0 {
			return &TriggerError{Diags: ds}
		}
		if w := t.Window; w != nil && !w.Contains(now) {
			return &WindowError{Flow: f.QualifiedName(), Window: *w, Now: now, Next: w.NextStart(now)}
		}
	}
	return nil
}
