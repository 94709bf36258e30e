package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeClock records the pauses asked for and advances its time by them,
// so tests assert counts, pauses and messages, never elapsed wall time.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
	// cancel, when set, is called at the sleep with this index (1-based).
	cancelAt int
	cancel   context.CancelFunc
}

func (k *fakeClock) Now() time.Time { return k.now }
func (k *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	k.sleeps = append(k.sleeps, d)
	if k.cancel != nil && len(k.sleeps) == k.cancelAt {
		k.cancel()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k.now = k.now.Add(d)
	return nil
}

var errBoom = errors.New("boom")

func TestWait(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		p    Policy
		want []time.Duration // Wait(1), Wait(2), ...
	}{
		{Policy{Attempts: 4, Delay: 10 * ms}, []time.Duration{10 * ms, 10 * ms, 10 * ms}},
		{Policy{Attempts: 4, Delay: 10 * ms, Backoff: 2}, []time.Duration{10 * ms, 20 * ms, 40 * ms}},
		{Policy{Attempts: 5, Delay: 10 * ms, Backoff: 3, MaxDelay: 50 * ms}, []time.Duration{10 * ms, 30 * ms, 50 * ms, 50 * ms}},
		{Policy{Attempts: 3, Delay: 10 * ms, Backoff: 0.5}, []time.Duration{10 * ms, 10 * ms}}, // backoff < 1 counts as 1
		{Policy{Attempts: 3}, []time.Duration{0, 0}},
		{Policy{Attempts: 200, Delay: time.Hour, Backoff: 10}, nil}, // checked below: no overflow
	} {
		for i, w := range tc.want {
			if got := tc.p.Wait(i + 1); got != w {
				t.Errorf("%+v Wait(%d) = %s, want %s", tc.p, i+1, got, w)
			}
		}
	}
	if d := (Policy{Delay: time.Hour, Backoff: 10}).Wait(100); d <= 0 {
		t.Errorf("huge backoff overflowed to %s", d)
	}
}

func TestDo(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name   string
		p      Policy
		opts   []Option
		failN  int   // tries that fail before success (-1: always)
		err    error // error the failing tries return
		cancel int   // cancel the context at this pause (0: never)
		tries  []int // attempt numbers fn saw
		sleeps []time.Duration
		want   string // error text ("" = success)
	}{
		{name: "success first", p: Policy{Attempts: 3, Delay: ms}, failN: 0, tries: []int{1}},
		{name: "success third", p: Policy{Attempts: 3, Delay: ms, Backoff: 2}, failN: 2, err: errBoom,
			tries: []int{1, 2, 3}, sleeps: []time.Duration{ms, 2 * ms}},
		{name: "exhausted", p: Policy{Attempts: 3, Delay: ms, Backoff: 2, MaxDelay: ms}, failN: -1, err: errBoom,
			tries: []int{1, 2, 3}, sleeps: []time.Duration{ms, ms}, want: "after 3 attempts: boom"},
		{name: "one attempt is not wrapped", p: Once, failN: -1, err: errBoom, tries: []int{1}, want: "boom"},
		{name: "zero attempts mean one", p: Policy{}, failN: -1, err: errBoom, tries: []int{1}, want: "boom"},
		{name: "permanent stops", p: Policy{Attempts: 5, Delay: ms}, failN: -1, err: Permanent(errBoom),
			tries: []int{1}, want: "after 1 attempt: boom"},
		{name: "cancel while waiting", p: Policy{Attempts: 5, Delay: ms}, failN: -1, err: errBoom, cancel: 2,
			tries: []int{1, 2}, sleeps: []time.Duration{ms, ms}, want: "after 2 attempts (stopped: context canceled): boom"},
		{name: "resumed at try 2", p: Policy{Attempts: 3, Delay: ms, Backoff: 10}, opts: []Option{From(2)}, failN: -1, err: errBoom,
			tries: []int{2, 3}, sleeps: []time.Duration{10 * ms}, want: "after 3 attempts: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			k := &fakeClock{cancelAt: tc.cancel}
			if tc.cancel > 0 {
				k.cancel = cancel
			}
			var tries []int
			var logged []int
			calls := 0
			err := Do(ctx, tc.p, func(_ context.Context, n int) error {
				tries = append(tries, n)
				calls++
				if tc.failN < 0 || calls <= tc.failN {
					return tc.err
				}
				return nil
			}, append(tc.opts, withClock(k), OnRetry(func(next int, _ time.Duration, _ error) { logged = append(logged, next) }))...)
			if fmt.Sprint(tries) != fmt.Sprint(tc.tries) {
				t.Errorf("tries = %v, want %v", tries, tc.tries)
			}
			if fmt.Sprint(k.sleeps) != fmt.Sprint(tc.sleeps) {
				t.Errorf("pauses = %v, want %v", k.sleeps, tc.sleeps)
			}
			if len(logged) != len(tc.sleeps) {
				t.Errorf("OnRetry calls = %v, want one per pause", logged)
			}
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, errBoom) {
					t.Errorf("error %q does not wrap the last error", got)
				}
			}
			if got != tc.want {
				t.Errorf("err = %q, want %q", got, tc.want)
			}
			if tc.cancel > 0 && !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled Do: %v does not wrap context.Canceled", err)
			}
		})
	}
}

func TestPoll(t *testing.T) {
	ms := time.Millisecond
	notYet := errors.New("not Ready")
	for _, tc := range []struct {
		name     string
		interval time.Duration
		timeout  time.Duration
		results  []error // per call: nil = done, notYet = (false, reason); past the end: (false, nil)
		stop     error   // returned as (true, stop) at call len(results)+1 when set
		perm     bool    // the last result is Permanent
		calls    int
		want     string
		deadline bool // errors.Is(err, context.DeadlineExceeded)
	}{
		{name: "holds at once", interval: 10 * ms, timeout: time.Second, results: []error{nil}, calls: 1},
		{name: "holds on third", interval: 10 * ms, timeout: time.Second, results: []error{notYet, notYet, nil}, calls: 3},
		{name: "times out with reason", interval: 10 * ms, timeout: 25 * ms, results: []error{notYet, notYet, notYet, notYet, notYet},
			calls: 4, want: "timed out after 25ms waiting for web: not Ready", deadline: true},
		{name: "times out without reason", interval: 10 * ms, timeout: 30 * ms,
			calls: 4, want: "timed out after 30ms waiting for web", deadline: true},
		{name: "stop with error", interval: 10 * ms, timeout: time.Second, results: []error{notYet}, stop: errBoom, calls: 2, want: "boom"},
		{name: "permanent", interval: 10 * ms, timeout: time.Second, results: []error{notYet, errBoom}, perm: true, calls: 2, want: "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeClock{now: time.Unix(0, 0)}
			calls := 0
			err := poll(context.Background(), k, tc.interval, tc.timeout, "web", func(context.Context) (bool, error) {
				calls++
				if calls <= len(tc.results) {
					r := tc.results[calls-1]
					if r == nil {
						return true, nil
					}
					if tc.perm && calls == len(tc.results) {
						return false, Permanent(r)
					}
					return false, r
				}
				if tc.stop != nil {
					return true, tc.stop
				}
				return false, nil
			})
			if calls != tc.calls {
				t.Errorf("calls = %d, want %d", calls, tc.calls)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("err = %q, want %q", got, tc.want)
			}
			if errors.Is(err, context.DeadlineExceeded) != tc.deadline {
				t.Errorf("errors.Is(%v, DeadlineExceeded) = %v", err, !tc.deadline)
			}
			var te *TimeoutError
			if tc.deadline && !errors.As(err, &te) {
				t.Errorf("%v is not a *TimeoutError", err)
			}
		})
	}
}

// TestPollCancelled: cancellation is not a timeout; the error wraps
// context.Canceled and keeps the last reason.
func TestPollCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	k := &fakeClock{cancelAt: 2, cancel: cancel}
	err := poll(ctx, k, time.Millisecond, 0, "pg primary", func(context.Context) (bool, error) {
		return false, errBoom
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	if want := "stopped waiting for pg primary: context canceled (last: boom)"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

// TestPollRealTimeout runs the real clock with tiny durations: only the
// error is asserted, never how long it took.
func TestPollRealTimeout(t *testing.T) {
	// The condition's last call may fail only because the deadline cut
	// it short: the reason reported is the one it gave before.
	calls := 0
	err := Poll(context.Background(), time.Millisecond, 20*time.Millisecond, "nothing", func(ctx context.Context) (bool, error) {
		if calls++; calls > 1 {
			<-ctx.Done() // a request that runs into the deadline
			return false, fmt.Errorf("get: %w", ctx.Err())
		}
		return false, errors.New("not yet")
	})
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "timed out after 20ms waiting for nothing: not yet" {
		t.Fatalf("err = %v", err)
	}
	err = Do(context.Background(), Policy{Attempts: 2, Delay: time.Millisecond}, func(context.Context, int) error { return errBoom })
	if err == nil || err.Error() != "after 2 attempts: boom" {
		t.Fatalf("Do: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{Attempts: 1}, ""},
		{Policy{Attempts: 3, Delay: time.Second, Backoff: 2, MaxDelay: time.Minute}, ""},
		{Policy{Attempts: 0}, "attempts must be at least 1"},
		{Policy{Attempts: 2, Delay: -1}, "delay must not be negative"},
		{Policy{Attempts: 2, Backoff: 0.5}, "backoff must be a number ≥ 1"},
		{Policy{Attempts: 2, MaxDelay: -1}, "max_delay must not be negative"},
	} {
		err := tc.p.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestWithTimeout(t *testing.T) {
	ctx, cancel := WithTimeout(context.Background(), 0)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("timeout 0 set a deadline")
	}
	ctx2, cancel2 := WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if _, ok := ctx2.Deadline(); !ok {
		t.Fatal("timeout 1h set no deadline")
	}
}

// TestPollKeepsReasonWhenDeadlineCutsACall: a call cut by the deadline may
// fail with an error of its own that does not wrap the context's (client-go's
// rate limiter says "would exceed context deadline"); the wait still ends
// with the reason the condition gave before.
func TestPollKeepsReasonWhenDeadlineCutsACall(t *testing.T) {
	err := Poll(context.Background(), 5*time.Millisecond, 60*time.Millisecond, "x", func(ctx context.Context) (bool, error) {
		dl, _ := ctx.Deadline()
		if time.Until(dl) < 20*time.Millisecond {
			time.Sleep(time.Until(dl) + 5*time.Millisecond)
			return false, errors.New("rate: Wait(n=1) would exceed context deadline")
		}
		return false, errors.New("not found yet")
	})
	if err == nil || !strings.HasSuffix(err.Error(), ": not found yet") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// TestCheck: the rule of each field, at its boundaries; the checker applies
// it to constant arguments of #[retry] and the retrying built-ins.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    float64
		want string
	}{
		{"attempts", 1, ""},
		{"attempts", 0, "attempts must be at least 1"},
		{"delay", 0, ""},
		{"delay", float64(-time.Second), "delay must not be negative, not -1s"},
		{"max_delay", 0, ""},
		{"max_delay", -1, "max_delay must not be negative"},
		{"backoff", 1, ""},
		{"backoff", 0, "backoff must be a number ≥ 1, not 0"},
		{"backoff", math.NaN(), "backoff must be a number ≥ 1"},
	} {
		err := Check(tc.name, tc.v)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s=%v: %v, want %q", tc.name, tc.v, err, tc.want)
		}
	}
}
