package check

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// The trigger annotations `gxl operate` runs flows on (spec I, operating):
// #[every("30s")], #[cron("0 1 * * *")], #[window(start: "02:00", end:
// "04:00")] and #[on_failure(flow)]. An argument is literal text, checked
// here with its position, or text with ${VAR} references to the system's
// typed variables, checked here for the names and types and parsed when
// the operator starts (Program.Triggers), when the values are known.

// TriggerKind says what an argument is: a duration, a cron expression or
// a clock time.
type TriggerKind int

const (
	KindDuration TriggerKind = iota
	KindCron
	KindClock
)

func (k TriggerKind) String() string {
	return [...]string{"duration", "cron expression", "clock time"}[k]
}

// TriggerArg is one argument of a trigger annotation.
type TriggerArg struct {
	Kind TriggerKind
	// Span is the argument's place, for errors in its value.
	Span diag.Span
	// Text is the literal text (when Parts is nil).
	Text string
	// Parts are the literal text and ${VAR} references of an interpolated
	// argument (nil for a literal).
	Parts []ast.StrPart
}

// Window is #[window(start, end)]: clock times of the operator's time zone.
type Window struct {
	Span       diag.Span
	Start, End *TriggerArg
}

// Clock is a time of day: the offset from midnight.
type Clock time.Duration

func (c Clock) String() string {
	return fmt.Sprintf("%02d:%02d", time.Duration(c)/time.Hour, time.Duration(c)%time.Hour/time.Minute)
}

// ParseClock reads a clock time "HH:MM" (00:00 to 23:59).
func ParseClock(s string) (Clock, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil || len(strings.TrimSpace(s)) != 5 {
		return 0, fmt.Errorf("%q is not a clock time (write HH:MM, 00:00 to 23:59)", s)
	}
	return Clock(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute), nil
}

// cronParser reads the five standard fields: minute hour day-of-month
// month day-of-week (robfig/cron's standard parser, no seconds field).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a five-field cron expression (or a descriptor such as
// @daily).
func ParseCron(s string) (cron.Schedule, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "TZ=") || strings.HasPrefix(strings.ToUpper(s), "CRON_TZ=") {
		return nil, fmt.Errorf("%q: the time zone is the operator's (--tz), not part of the expression", s)
	}
	if !strings.HasPrefix(s, "@") && len(strings.Fields(s)) != 5 {
		return nil, fmt.Errorf("%q is not a cron expression: it needs five fields (minute hour day-of-month month day-of-week), it has %d", s, len(strings.Fields(s)))
	}
	sch, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression: %v", s, err)
	}
	return sch, nil
}

// parseDuration reads a trigger period: positive.
func parseDuration(s string) (time.Duration, error) {
	d, err := builtin.ParseDuration(value.Str(s))
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("the period must be positive, not %q", s)
	}
	return d, nil
}

// validate parses the text as the argument's kind.
func (a *TriggerArg) validate(s string) error {
	switch a.Kind {
	case KindDuration:
		_, err := parseDuration(s)
		return err
	case KindCron:
		_, err := ParseCron(s)
		return err
	default:
		_, err := ParseClock(s)
		return err
	}
}

// Resolve returns the argument's text with its ${VAR} references replaced
// by the values of lookup (a reference's default when lookup has none).
func (a *TriggerArg) Resolve(lookup func(string) (value.Value, bool)) (string, error) {
	if a.Parts == nil {
		return a.Text, nil
	}
	var b strings.Builder
	for _, p := range a.Parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		v, ok := lookup(p.Var.Name)
		switch {
		case ok:
			b.WriteString(v.String())
		case p.Var.Default != nil:
			b.WriteString(*p.Var.Default)
		default:
			return "", fmt.Errorf("${%s} has no value", p.Var.Name)
		}
	}
	return b.String(), nil
}

// triggerArg checks one argument of a trigger annotation: a literal is
// parsed now; ${VAR} references must name typed system variables, of a
// type the argument can read.
func (c *checker) triggerArg(x *ast.AnnArg, kind TriggerKind, errf func(diag.Span, string, string, ...any) *diag.Diagnostic, hint string) *TriggerArg {
	a := &TriggerArg{Kind: kind, Span: x.Span()}
	var parts []ast.StrPart
	switch v := x.Value.(type) {
	case *ast.StringLit:
		parts = v.Parts
	case *ast.RawStringLit:
		parts = v.Parts
	default:
		a.Text = annText(x.Value)
	}
	vars := 0
	for _, p := range parts {
		if p.Var != nil {
			vars++
		}
	}
	if vars == 0 {
		if parts != nil {
			a.Text = annText(x.Value)
		}
		if err := a.validate(a.Text); err != nil {
			errf(x.Span(), "annotation", "%v", err).Hint = hint
			return nil
		}
		return a
	}
	ok := true
	for _, p := range parts {
		if p.Var == nil {
			continue
		}
		t, known := c.systemVar(p.Var.Name)
		if !known {
			d := errf(p.Var.Span(), "annotation", "`${%s}` is not a typed system variable", p.Var.Name)
			d.Suggest(p.Var.Span().Slice(2, 2+len(p.Var.Name)), p.Var.Name, c.systemVarNames())
			if d.Hint == "" {
				d.Hint = "a trigger argument reads the system's typed variables (sys/vars.yml), known before the operator starts"
			}
			ok = false
			continue
		}
		bad := false
		switch t {
		case types.Bool, types.List, types.Object:
			bad = true
		case types.Int, types.Float, types.Duration:
			// A number is a count of seconds ("${N}" or "${N}s").
			bad = kind != KindDuration
		}
		if bad {
			errf(p.Var.Span(), "annotation", "`${%s}` has type %s, which cannot be a %s", p.Var.Name, t, kind).Hint = hint
			ok = false
		}
	}
	if !ok {
		return nil
	}
	a.Parts = parts
	return a
}

// systemVar is the type of a system variable known before the run.
func (c *checker) systemVar(name string) (types.Type, bool) {
	if t, ok := c.opt.ExtraVars[name]; ok {
		return t, true
	}
	for n, t := range c.opt.ExtraVars {
		if strings.EqualFold(n, name) {
			return t, true
		}
	}
	return 0, false
}

func (c *checker) systemVarNames() []string {
	var out []string
	for n := range c.opt.ExtraVars {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// triggerAnnotation reads #[every], #[cron] and #[window] of a flow; it
// reports false for any other annotation.
func (c *checker) triggerAnnotation(f *Flow, a *ast.Annotation, arg func(string, int) *ast.AnnArg, errf func(diag.Span, string, string, ...any) *diag.Diagnostic) bool {
	switch a.Name.Name {
	case "every":
		const hint = `write #[every("30s")]: a duration, or ${VAR} of an integer system variable (seconds)`
		x := arg("", 0)
		if x == nil || len(a.Args) != 1 {
			errf(a.Span(), "annotation", "#[every] takes one period").Hint = hint
			return true
		}
		f.Ann.Every = c.triggerArg(x, KindDuration, errf, hint)
	case "cron":
		const hint = `write #[cron("0 1 * * *")]: minute hour day-of-month month day-of-week, in the operator's time zone (--tz, default UTC)`
		x := arg("", 0)
		if x == nil || len(a.Args) != 1 {
			errf(a.Span(), "annotation", "#[cron] takes one five-field cron expression").Hint = hint
			return true
		}
		f.Ann.Cron = c.triggerArg(x, KindCron, errf, hint)
	case "window":
		const hint = `write #[window(start: "02:00", end: "04:00")]: clock times HH:MM in the operator's time zone`
		w := &Window{Span: a.Span()}
		for i, x := range a.Args {
			key := ""
			if x.Key != nil {
				key = x.Key.Name
			} else if i < 2 {
				key = [...]string{"start", "end"}[i]
			}
			switch key {
			case "start":
				w.Start = c.triggerArg(x, KindClock, errf, hint)
			case "end":
				w.End = c.triggerArg(x, KindClock, errf, hint)
			default:
				errf(x.Span(), "annotation", "unknown window argument %q", key).Hint = hint
			}
		}
		if arg("start", 0) == nil || arg("end", 1) == nil {
			errf(a.Span(), "annotation", "#[window] needs a start and an end").Hint = hint
			return true
		}
		if w.Start == nil || w.End == nil {
			return true
		}
		if w.Start.Parts == nil && w.End.Parts == nil && w.Start.Text == w.End.Text {
			errf(a.Span(), "annotation", "the window from %s to %s is empty", w.Start.Text, w.End.Text).Hint = "a window that wraps midnight is written 22:00 to 02:00"
			return true
		}
		f.Ann.Window = w
	default:
		return false
	}
	return true
}

// ClockWindow is a resolved #[window]: from Start (inclusive) to End
// (exclusive), wrapping midnight when End is before Start.
type ClockWindow struct{ Start, End Clock }

func (w ClockWindow) String() string { return w.Start.String() + "–" + w.End.String() }

// sinceMidnight is t's clock time in t's location.
func sinceMidnight(t time.Time) Clock {
	return Clock(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()))
}

// Contains says whether t (in its location) is inside the window.
func (w ClockWindow) Contains(t time.Time) bool {
	c := sinceMidnight(t)
	if w.Start < w.End {
		return c >= w.Start && c < w.End
	}
	return c >= w.Start || c < w.End
}

// NextStart is the first start of the window at or after t, in t's
// location.
func (w ClockWindow) NextStart(t time.Time) time.Time {
	y, m, d := t.Date()
	for i := 0; i < 3; i++ {
		s := time.Date(y, m, d+i, int(time.Duration(w.Start)/time.Hour), int(time.Duration(w.Start)%time.Hour/time.Minute), 0, 0, t.Location())
		if !s.Before(t) {
			return s
		}
	}
	return t
}

// Trigger is a flow's resolved trigger annotations.
type Trigger struct {
	Flow *Flow
	// Every is the #[every] period (0: none).
	Every time.Duration
	// Cron is the #[cron] schedule (nil: none), CronText its expression.
	Cron     cron.Schedule
	CronText string
	// Window is the #[window] (nil: the flow runs at any time).
	Window *ClockWindow
	// OnFailure is the #[on_failure] flow (nil: none).
	OnFailure *Flow
}

// Scheduled says whether the trigger starts its flow by itself.
func (t *Trigger) Scheduled() bool { return t.Every > 0 || t.Cron != nil }

// resolveArg resolves and parses an argument; a bad value is a diagnostic
// at the argument.
func resolveArg(a *TriggerArg, lookup func(string) (value.Value, bool), ds *diag.List) (string, bool) {
	s, err := a.Resolve(lookup)
	if err == nil {
		err = a.validate(s)
	}
	if err != nil {
		d := diag.Errorf(a.Span, "annotation", "%v", err)
		if a.Parts != nil {
			d.Hint = "the value comes from the system's variables (sys/vars.yml, --set)"
		}
		ds.Add(d)
		return "", false
	}
	return s, true
}

// FlowTrigger resolves the trigger annotations of f with the variables of
// lookup; nil when f has none.
func FlowTrigger(f *Flow, lookup func(string) (value.Value, bool)) (*Trigger, diag.List) {
	ann := f.Ann
	if ann.Every == nil && ann.Cron == nil && ann.Window == nil && ann.OnFailure == nil {
		return nil, nil
	}
	var ds diag.List
	t := &Trigger{Flow: f, OnFailure: ann.OnFailure}
	if ann.Every != nil {
		if s, ok := resolveArg(ann.Every, lookup, &ds); ok {
			t.Every, _ = parseDuration(s)
		}
	}
	if ann.Cron != nil {
		if s, ok := resolveArg(ann.Cron, lookup, &ds); ok {
			t.Cron, _ = ParseCron(s)
			t.CronText = s
		}
	}
	if w := ann.Window; w != nil {
		s, ok1 := resolveArg(w.Start, lookup, &ds)
		e, ok2 := resolveArg(w.End, lookup, &ds)
		if ok1 && ok2 {
			start, _ := ParseClock(s)
			end, _ := ParseClock(e)
			if start == end {
				ds.Add(diag.Errorf(w.Span, "annotation", "the window from %s to %s is empty", start, end))
			} else {
				t.Window = &ClockWindow{Start: start, End: end}
			}
		}
	}
	return t, ds
}

// Triggers resolves the trigger annotations of every flow of p (as
// declared: a flow a module inherits is triggered once, under its own
// module), in module and table order.
func (p *Program) Triggers(lookup func(string) (value.Value, bool)) ([]*Trigger, diag.List) {
	var out []*Trigger
	var ds diag.List
	for _, m := range p.Mods {
		for _, f := range m.Flows {
			if f.Owner != f.Host {
				continue
			}
			t, fds := FlowTrigger(f, lookup)
			ds.Add(fds...)
			if t != nil {
				out = append(out, t)
			}
		}
	}
	return out, ds
}
