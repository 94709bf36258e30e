// Package operator is the trigger loop of `gxl operate`: it starts each
// triggered flow at the times of its #[every] or #[cron] trigger, inside
// its #[window], never two runs of one flow at once, and goes on whatever
// a run returns. Running a flow (the journal, on_failure, metrics) is the
// caller's: the engine gives the loop a Run function. Time comes from a
// Clock, so tests drive the loop with a fake one.
package operator

import (
	"context"
	"sync"
	"time"

	"github.com/gxl-dev/gxl/lang/check"
)

// Clock is the loop's time.
type Clock interface {
	Now() time.Time
	// After fires once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Job is one triggered flow.
type Job struct {
	// Name is the flow's qualified name (mod.flow).
	Name    string
	Trigger *check.Trigger
}

// NewJobs makes the jobs of the triggers that start their flow by
// themselves (#[every], #[cron]).
func NewJobs(trs []*check.Trigger) []*Job {
	var out []*Job
	for _, t := range trs {
		if t.Scheduled() {
			out = append(out, &Job{Name: t.Flow.QualifiedName(), Trigger: t})
		}
	}
	return out
}

// maxCronTries bounds the search for a cron time inside a window.
const maxCronTries = 10000

// Next is the job's first due time after its previous one, prev (zero:
// the loop just started, at now), in loc: #[every] runs at start and then
// every period after the previous due time; #[cron] at its next time. A
// due time outside the window moves to the window's next start (an
// #[every]) or to the first cron time inside it. A due time already
// passed (a slow run) is now: the loop runs once, it does not catch up.
// Zero when the job never runs again.
func (j *Job) Next(prev, now time.Time, loc *time.Location) time.Time {
	t := j.Trigger
	var due time.Time
	switch {
	case t.Every > 0 && prev.IsZero():
		due = now
	case t.Every > 0:
		due = prev.Add(t.Every)
	default:
		from := prev
		if from.IsZero() || from.Before(now) {
			from = now
		}
		due = t.Cron.Next(from.In(loc))
	}
	if due.Before(now) {
		due = now
	}
	if w := t.Window; w != nil {
		for i := 0; !w.Contains(due.In(loc)); i++ {
			if t.Every > 0 {
				due = w.NextStart(due.In(loc))
				break
			}
			if i == maxCronTries {
				return time.Time{}
			}
			due = t.Cron.Next(due.In(loc))
		}
	}
	return due
}

// Observer hears what the loop does; its methods are called from the
// job's goroutine.
type Observer interface {
	// Scheduled: job will next run at at (zero: never).
	Scheduled(job *Job, at time.Time)
}

// Loop runs jobs until its context ends.
type Loop struct {
	Clock    Clock          // default RealClock
	Location *time.Location // cron and window times (default UTC)
	Jobs     []*Job
	// Run runs one due job; its error is the run's failure, which never
	// stops the loop. It gets the loop's context: when the loop stops, a
	// running run is cancelled (with its undo) and the loop waits for it.
	Run func(ctx context.Context, job *Job) error
	// Observer, when set, hears every due time.
	Observer Observer
}

// Start runs the loop until ctx ends and every running run returned.
func (l *Loop) Start(ctx context.Context) {
	if l.Clock == nil {
		l.Clock = RealClock{}
	}
	if l.Location == nil {
		l.Location = time.UTC
	}
	var wg sync.WaitGroup
	for _, j := range l.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.jobLoop(ctx, j)
		}()
	}
	wg.Wait()
}

// jobLoop runs one job: one run at a time, the next due time computed
// when the previous run ended.
func (l *Loop) jobLoop(ctx context.Context, j *Job) {
	var prev time.Time
	for {
		due := j.Next(prev, l.Clock.Now(), l.Location)
		if l.Observer != nil {
			l.Observer.Scheduled(j, due)
		}
		if due.IsZero() {
			return
		}
		if wait := due.Sub(l.Clock.Now()); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-l.Clock.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		l.Run(ctx, j)
		prev = due
	}
}
