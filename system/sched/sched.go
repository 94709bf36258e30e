// Package sched runs a stage (fetch, setup, deploy, ...) over the modules
// of a system: higher priority first, modules of equal priority in
// parallel (at most Jobs at a time), a module only after the modules it
// depends on finished the stage, disabled modules skipped, and every
// dependent of a failed module skipped. Output lines are prefixed with the
// module name so parallel output stays readable; a summary table reports
// module, stage, status, duration and the root failure.
package sched

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Unit is one module to schedule.
type Unit struct {
	Name     string
	Priority int
	Depends  []string
	Enabled  bool
}

// Status of a unit after a stage.
type Status string

// Statuses.
const (
	OK       Status = "ok"
	Failed   Status = "failed"
	Skipped  Status = "skipped"
	Disabled Status = "disabled"
	// NotApplicable: the module has nothing to do in this stage.
	NotApplicable Status = "n/a"
)

// ErrNotApplicable, returned (or wrapped) by a unit's function, marks the
// unit NotApplicable instead of Failed: its dependents still run.
var ErrNotApplicable = errors.New("not applicable")

// Result is what happened to one unit.
type Result struct {
	Name     string
	Stage    string
	Status   Status
	Duration time.Duration
	Err      error
	// Cause names the failed dependency that made the unit skip.
	Cause string
}

// Groups orders units as Run runs them: priority groups, higher first,
// each in the units' order; a group starts when the higher ones finished.
func Groups(units []Unit) [][]Unit {
	order := append([]Unit(nil), units...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Priority > order[j].Priority })
	var groups [][]Unit
	for i, u := range order {
		if i == 0 || u.Priority != order[i-1].Priority {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], u)
	}
	return groups
}

// Run executes fn for every unit. fn receives a writer whose lines are
// prefixed with the unit name. It returns the results in schedule order
// and an error when any unit failed.
func Run(ctx context.Context, stage string, units []Unit, jobs int, out io.Writer, fn func(ctx context.Context, u Unit, w io.Writer) error) ([]Result, error) {
	if jobs < 1 {
		jobs = 1
	}
	byName := map[string]Unit{}
	for _, u := range units {
		byName[u.Name] = u
	}
	if err := validate(byName); err != nil {
		return nil, err
	}
	groups := Groups(units)
	var order []Unit
	for _, g := range groups {
		order = append(order, g...)
	}

	var mu sync.Mutex
	results := map[string]*Result{}
	done := map[string]chan struct{}{}
	for _, u := range order {
		done[u.Name] = make(chan struct{})
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	var outMu sync.Mutex
	finish := func(r *Result) {
		mu.Lock()
		results[r.Name] = r
		mu.Unlock()
		close(done[r.Name])
	}
	// Priority groups start in order: a lower group waits for the higher
	// ones to finish (their modules come first), equal priorities overlap.
	for _, g := range groups {
		var gwg sync.WaitGroup
		for _, u := range g {
			u := u
			if !u.Enabled {
				finish(&Result{Name: u.Name, Stage: stage, Status: Disabled})
				continue
			}
			wg.Add(1)
			gwg.Add(1)
			go func() {
				defer wg.Done()
				defer gwg.Done()
				// Wait for dependencies (possibly in the same group).
				for _, d := range u.Depends {
					ch, ok := done[d]
					if !ok {
						continue
					}
					select {
					case <-ch:
					case <-ctx.Done():
					}
					mu.Lock()
					dr := results[d]
					mu.Unlock()
					if dr != nil && (dr.Status == Failed || dr.Status == Skipped) {
						cause := d
						if dr.Cause != "" {
							cause = dr.Cause
						}
						finish(&Result{Name: u.Name, Stage: stage, Status: Skipped, Cause: cause})
						return
					}
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					finish(&Result{Name: u.Name, Stage: stage, Status: Skipped, Err: ctx.Err()})
					return
				}
				began := time.Now()
				w := unitWriter(out, u.Name, &outMu)
				err := fn(ctx, u, w)
				w.Flush()
				<-sem
				r := &Result{Name: u.Name, Stage: stage, Status: OK, Duration: time.Since(began), Err: err}
				switch {
				case errors.Is(err, ErrNotApplicable):
					r.Status, r.Err = NotApplicable, nil
				case err != nil:
					r.Status = Failed
				}
				finish(r)
			}()
		}
		gwg.Wait()
	}
	wg.Wait()
	var out2 []Result
	fail := &Failure{Stage: stage}
	for _, u := range order {
		r := results[u.Name]
		out2 = append(out2, *r)
		if r.Status == Failed {
			fail.Failed = append(fail.Failed, u.Name)
			fail.Errs = append(fail.Errs, r.Err)
		}
	}
	if len(fail.Failed) > 0 {
		return out2, fail
	}
	return out2, nil
}

// Failure is the error of a stage in which units failed. Its message
// names them; it unwraps to their errors (in schedule order), so the
// position of a module's failing statement reaches the caller.
type Failure struct {
	Stage  string
	Failed []string
	Errs   []error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("stage %s failed for %s", f.Stage, strings.Join(f.Failed, ", "))
}

// Unwrap gives the failed units' errors.
func (f *Failure) Unwrap() []error { return f.Errs }

// validate rejects orders that cannot be honoured: a dependency with a
// lower priority (it would run later) and dependency cycles.
func validate(units map[string]Unit) error {
	for _, u := range units {
		for _, d := range u.Depends {
			du, ok := units[d]
			if !ok {
				return fmt.Errorf("module %s depends on unknown module %s", u.Name, d)
			}
			if du.Priority < u.Priority {
				return fmt.Errorf("module %s (priority %d) depends on %s, which has the lower priority %d and would run after it", u.Name, u.Priority, d, du.Priority)
			}
		}
	}
	state := map[string]int{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, n), " → "))
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range units[n].Depends {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	var names []string
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}

// UnitWriters give each unit a writer of its own: a stream of events
// (gxl run --log-format json) whose events carry the module's name instead
// of a prefix on the text.
type UnitWriters interface {
	Unit(name string) io.Writer
}

// flusher is a unit's writer: Flush writes its unfinished line.
type flusher interface {
	io.Writer
	Flush()
}

// unitWriter is the writer of unit name's lines: out's own (UnitWriters),
// else a prefixWriter.
func unitWriter(out io.Writer, name string, mu *sync.Mutex) flusher {
	if uw, ok := out.(UnitWriters); ok {
		w := uw.Unit(name)
		if f, ok := w.(flusher); ok {
			return f
		}
		return &prefixWriter{out: w, mu: mu}
	}
	return &prefixWriter{prefix: "[" + name + "] ", out: out, mu: mu}
}

// prefixWriter prefixes each complete line with the unit name and writes
// whole lines under a shared lock.
type prefixWriter struct {
	prefix string
	out    io.Writer
	mu     *sync.Mutex
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadBytes('\n')
		if err != nil {
			// Keep the incomplete line for later.
			rest := append([]byte(nil), line...)
			p.buf.Reset()
			p.buf.Write(rest)
			break
		}
		p.mu.Lock()
		io.WriteString(p.out, p.prefix)
		p.out.Write(line)
		p.mu.Unlock()
	}
	return len(b), nil
}

// Flush writes a final incomplete line.
func (p *prefixWriter) Flush() {
	if p.buf.Len() > 0 {
		p.Write([]byte("\n"))
	}
}

// Summary renders results as a table.
func Summary(results []Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %-10s %-9s %10s  %s\n", "MODULE", "STAGE", "STATUS", "DURATION", "DETAIL")
	for _, r := range results {
		detail := ""
		switch {
		case r.Err != nil:
			detail = firstLine(r.Err.Error())
		case r.Cause != "":
			detail = "dependency " + r.Cause + " failed"
		}
		d := ""
		if r.Duration > 0 {
			d = r.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-26s %-10s %-9s %10s  %s\n", r.Name, r.Stage, r.Status, d, detail)
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
