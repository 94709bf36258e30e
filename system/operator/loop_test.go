package operator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/lang/check"
)

// fakeClock moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// schedules records the due times the loop announces.
type schedules chan time.Time

func (s schedules) Scheduled(_ *Job, at time.Time) { s <- at }

// next waits for the loop's next due time.
func (s schedules) next(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-s:
		return at
	case <-time.After(5 * time.Second):
		t.Fatal("the loop scheduled nothing")
	}
	return time.Time{}
}

func job(tr *check.Trigger) *Job {
	return &Job{Name: "main.f", Trigger: tr}
}

func start(t *testing.T, l *Loop) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Start(ctx); close(done) }()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the loop did not stop")
		}
	}
}

var t0 = time.Date(2030, 7, 1, 0, 30, 0, 0, time.UTC)

// A slow run is never overlapped by the next run of its flow, and it
// delays the next run, which then runs once (no catch-up burst).
func TestNoOverlapSlowRunDelays(t *testing.T) {
	clk := &fakeClock{now: t0}
	sch := make(schedules, 10)
	var running, maxRunning, runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	l := &Loop{Clock: clk, Observer: sch, Jobs: []*Job{job(&check.Trigger{Every: 10 * time.Second})},
		Run: func(ctx context.Context, j *Job) error {
			n := running.Add(1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			runs.Add(1)
			started <- struct{}{}
			if runs.Load() == 1 {
				<-release
			}
			running.Add(-1)
			return nil
		}}
	stop := start(t, l)
	defer stop()
	if at := sch.next(t); !at.Equal(t0) {
		t.Fatalf("first run due %s, want at start %s", at, t0)
	}
	<-started
	clk.Advance(35 * time.Second) // three periods pass during the first run
	time.Sleep(50 * time.Millisecond)
	if runs.Load() != 1 {
		t.Fatalf("%d runs while the first is still running", runs.Load())
	}
	close(release)
	if at := sch.next(t); !at.Equal(t0.Add(35 * time.Second)) {
		t.Fatalf("after a slow run the next is due %s, want now %s", at, t0.Add(35*time.Second))
	}
	<-started
	if at := sch.next(t); !at.Equal(t0.Add(45 * time.Second)) {
		t.Fatalf("then due %s, want one period later", at)
	}
	if maxRunning.Load() != 1 || runs.Load() != 2 {
		t.Fatalf("runs %d, at most %d at once; want 2, 1", runs.Load(), maxRunning.Load())
	}
}

// A failed run never stops the loop.
func TestFailureDoesNotStopLoop(t *testing.T) {
	clk := &fakeClock{now: t0}
	sch := make(schedules, 10)
	var runs atomic.Int32
	l := &Loop{Clock: clk, Observer: sch, Jobs: []*Job{job(&check.Trigger{Every: time.Minute})},
		Run: func(context.Context, *Job) error { runs.Add(1); return errors.New("check failed") }}
	stop := start(t, l)
	defer stop()
	for i := 0; i < 4; i++ {
		at := sch.next(t)
		if want := t0.Add(time.Duration(i) * time.Minute); !at.Equal(want) {
			t.Fatalf("run %d due %s, want %s", i+1, at, want)
		}
		if i < 3 {
			clk.Advance(time.Minute)
		}
	}
	// Announced after the fourth (failed) run ended, not due yet.
	if at := sch.next(t); !at.Equal(t0.Add(4 * time.Minute)) {
		t.Fatalf("fifth run due %s", at)
	}
	if runs.Load() != 4 {
		t.Fatalf("%d runs, want 4 (failures go on)", runs.Load())
	}
}

// Due times: windows, cron in a zone.
func TestNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	daily1, _ := check.ParseCron("0 1 * * *")
	every10m, _ := check.ParseCron("*/10 * * * *")
	night := &check.ClockWindow{Start: check.Clock(2 * time.Hour), End: check.Clock(4 * time.Hour)}
	at := func(h, m int) time.Time { return time.Date(2030, 7, 1, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name      string
		tr        *check.Trigger
		prev, now time.Time
		loc       *time.Location
		want      time.Time
	}{
		{"every starts at once", &check.Trigger{Every: time.Hour}, time.Time{}, at(0, 30), time.UTC, at(0, 30)},
		{"every one period later", &check.Trigger{Every: time.Hour}, at(0, 30), at(0, 31), time.UTC, at(1, 30)},
		{"every outside its window waits for the start", &check.Trigger{Every: time.Hour, Window: night}, time.Time{}, at(0, 30), time.UTC, at(2, 0)},
		{"every inside its window", &check.Trigger{Every: time.Hour, Window: night}, at(2, 0), at(2, 1), time.UTC, at(3, 0)},
		{"every past the window's end: tomorrow", &check.Trigger{Every: time.Hour, Window: night}, at(3, 0), at(3, 1), time.UTC, at(2, 0).AddDate(0, 0, 1)},
		{"window in a zone", &check.Trigger{Every: time.Hour, Window: night}, time.Time{}, at(22, 0), berlin, at(0, 0).AddDate(0, 0, 1)},
		{"cron in UTC", &check.Trigger{Cron: daily1}, time.Time{}, at(0, 30), time.UTC, at(1, 0)},
		{"cron in Berlin", &check.Trigger{Cron: daily1}, time.Time{}, at(0, 30), berlin, at(23, 0)},
		{"cron after a slow run: now", &check.Trigger{Cron: every10m}, at(1, 0), at(1, 25), time.UTC, at(1, 30)},
		{"cron inside its window", &check.Trigger{Cron: every10m, Window: night}, time.Time{}, at(0, 30), time.UTC, at(2, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := job(tc.tr).Next(tc.prev, tc.now, tc.loc)
			if !got.Equal(tc.want) {
				t.Errorf("Next = %s, want %s", got.UTC(), tc.want.UTC())
			}
		})
	}
}

// On the wall clock, with short periods: the loop runs and stops.
func TestRealClock(t *testing.T) {
	var runs atomic.Int32
	l := &Loop{Jobs: []*Job{job(&check.Trigger{Every: 20 * time.Millisecond})},
		Run: func(context.Context, *Job) error { runs.Add(1); return nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	began := time.Now()
	l.Start(ctx)
	if n := runs.Load(); n < 4 || n > 9 {
		t.Errorf("%d runs in 150ms every 20ms", n)
	}
	if el := time.Since(began); el > time.Second {
		t.Errorf("the loop took %s to stop", el)
	}
}
