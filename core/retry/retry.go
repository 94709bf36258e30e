// Package retry is gxl's one way to try an operation again and to wait for
// a condition. Do runs an operation under a Policy (total attempts, a
// delay that grows by a backoff factor up to a cap); Poll checks a
// condition at an interval until it holds or a timeout passes. The
// runtime's #[retry], the retrying built-ins (gx.cmd, http.check) and the
// waiting ones (k8s.wait, pg.wait, redis failover) all use it, so they
// share one vocabulary (attempts, delay, backoff, max_delay) and one shape
// of error.
//
// It sits below runtime and stdlib and imports neither.
package retry

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/progress"
	"math"
	"time"
)

// Policy says how often and how patiently to try.
type Policy struct {
	// Attempts is the number of tries in total, first one included (a
	// value below 1 counts as 1).
	Attempts int
	// Delay is the pause after the first failed try.
	Delay time.Duration
	// Backoff multiplies the pause after each further failed try (a value
	// below 1 counts as 1: a constant pause).
	Backoff float64
	// MaxDelay caps the pause (0: no cap).
	MaxDelay time.Duration
}

// Once is the policy of an operation that is not retried.
var Once = Policy{Attempts: 1}

// Validate reports a policy a user wrote wrong, naming the field by its
// GXL spelling. A Backoff of 0 is unset (a constant pause); a backoff a
// user wrote is checked with Check("backoff", …).
func (p Policy) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
		set  bool
	}{
		{"attempts", float64(p.Attempts), true},
		{"delay", float64(p.Delay), true},
		{"backoff", p.Backoff, p.Backoff != 0},
		{"max_delay", float64(p.MaxDelay), true},
	} {
		if !f.set {
			continue
		}
		if err := Check(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Check is the rule of one field of a policy, by its GXL name (attempts,
// delay, backoff, max_delay; durations in nanoseconds): the one rule the
// checker applies to a constant argument of a retrying built-in or of
// #[retry], and Validate to a policy at run time.
func Check(name string, v float64) error {
	switch name {
	case "attempts":
		if v < 1 {
			return fmt.Errorf("attempts must be at least 1 (the first try counts), not %.0f", v)
		}
	case "delay", "max_delay":
		if v < 0 {
			return fmt.Errorf("%s must not be negative, not %s", name, time.Duration(v))
		}
	case "backoff":
		if v < 1 || math.IsNaN(v) {
			return fmt.Errorf("backoff must be a number ≥ 1, not %g", v)
		}
	}
	return nil
}

func (p Policy) attempts() int { return max(p.Attempts, 1) }

// Wait is the pause after failed try n (n ≥ 1): Delay×Backoff^(n-1), at
// most MaxDelay.
func (p Policy) Wait(n int) time.Duration {
	b := p.Backoff
	if b < 1 {
		b = 1
	}
	d := float64(p.Delay) * math.Pow(b, float64(max(n-1, 0)))
	if p.MaxDelay > 0 && d > float64(p.MaxDelay) {
		return p.MaxDelay
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// permanent marks an error that trying again cannot fix.
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// Permanent marks err so that Do stops at once and Poll stops waiting
// (for example a missing variable: the next try fails the same way). Do and
// Poll return err without the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// Error is the failure of Do under a policy of more than one attempt: the
// last try's error and how many tries were made.
type Error struct {
	// Attempts is the number of the last try made (counting tries made
	// before a resume, see From).
	Attempts int
	// Err is the last try's error.
	Err error
	// Stopped is the context's error when cancellation ended the tries
	// early, else nil.
	Stopped error
}

func (e *Error) Error() string {
	s := "after 1 attempt"
	if e.Attempts != 1 {
		s = fmt.Sprintf("after %d attempts", e.Attempts)
	}
	if e.Stopped != nil {
		s += fmt.Sprintf(" (stopped: %v)", e.Stopped)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap gives the last error and, when cancellation stopped the tries,
// the context's error, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	if e.Stopped != nil {
		return []error{e.Err, e.Stopped}
	}
	return []error{e.Err}
}

// clock is time as Do and Poll see it; tests replace it.
type clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx.Err() when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type config struct {
	first   int
	onRetry func(next int, wait time.Duration, err error)
	clock   clock
}

// Option adjusts one call of Do.
type Option func(*config)

// From starts counting at try n (n > 1 when a resumed run continues the
// tries a killed run began): the remaining tries are Attempts-n+1, and the
// pauses are those that follow try n-1.
func From(n int) Option { return func(c *config) { c.first = max(n, 1) } }

// OnRetry calls f before each pause with the number of the coming try, the
// pause and the error that caused it (for a log line).
func OnRetry(f func(next int, wait time.Duration, err error)) Option {
	return func(c *config) { c.onRetry = f }
}

func withClock(k clock) Option { return func(c *config) { c.clock = k } }

// Do calls fn, numbering tries from 1, until it succeeds, returns an error
// marked Permanent, ctx ends, or p.Attempts tries were made, pausing
// p.Wait(n) after failed try n. It returns nil on success. Otherwise, when
// the policy allows one try only, it returns fn's error as it is; when it
// allows more, an *Error that wraps the last error and says how many tries
// were made ("after 3 attempts: ...").
func Do(ctx context.Context, p Policy, fn func(ctx context.Context, attempt int) error, opts ...Option) error {
	cfg := config{first: 1, clock: realClock{}}
	for _, o := range opts {
		o(&cfg)
	}
	total := p.attempts()
	for n := cfg.first; ; n++ {
		err := fn(ctx, n)
		if err == nil {
			return nil
		}
		var stopped error
		if pe, ok := err.(*permanent); ok {
			err = pe.err
		} else if n < total {
			if stopped = ctx.Err(); stopped == nil {
				w := p.Wait(n)
				if cfg.onRetry != nil {
					cfg.onRetry(n+1, w, err)
				}
				if stopped = cfg.clock.Sleep(ctx, w); stopped == nil {
					continue
				}
			}
		}
		if total == 1 {
			return err
		}
		return &Error{Attempts: n, Err: err, Stopped: stopped}
	}
}

// TimeoutError is Poll's error when its time ran out before the condition
// held. It wraps context.DeadlineExceeded (errors.Is works) and the last
// reason the condition gave.
type TimeoutError struct {
	What  string        // what was awaited: "deployment/web to roll out"
	After time.Duration // how long Poll waited
	Last  error         // the condition's last reason, or nil
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("timed out after %s waiting for %s", e.After, e.What)
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

// Unwrap gives context.DeadlineExceeded and the last reason.
func (e *TimeoutError) Unwrap() []error {
	if e.Last != nil {
		return []error{context.DeadlineExceeded, e.Last}
	}
	return []error{context.DeadlineExceeded}
}

// Poll calls cond, then again every interval, until it reports done, gives
// an error marked Permanent, timeout passes (timeout ≤ 0: only ctx bounds
// the wait) or ctx ends. cond's results mean:
//
//	(true, nil)   the condition holds: Poll returns nil;
//	(true, err)   stop: Poll returns err;
//	(false, nil)  not yet;
//	(false, err)  not yet, and err says why (a server still restarting):
//	              Poll keeps waiting and reports the last such reason if
//	              time runs out; Permanent(err) stops at once with err.
//
// When time runs out (Poll's own timeout or a deadline of ctx) the error is
// a *TimeoutError: "timed out after 5s waiting for <what>: <last reason>",
// wrapping context.DeadlineExceeded. When ctx is cancelled the error wraps
// ctx.Err() and the last reason.
//
// A wait that is not over at the first call is shown through the
// progress.Reporter of ctx (a live line on a terminal, log lines
// otherwise): its label is what, its status the last reason.
func Poll(ctx context.Context, interval, timeout time.Duration, what string, cond func(ctx context.Context) (done bool, err error)) error {
	var h progress.Handle
	err := poll(ctx, realClock{}, interval, timeout, what, func(ctx context.Context) (bool, error) {
		done, err := cond(ctx)
		if _, perm := err.(*permanent); !done && !perm {
			if h == nil {
				h = progress.Start(ctx, what)
			}
			if err != nil {
				h.Update(err.Error())
			}
		}
		return done, err
	})
	if h != nil {
		h.Done(err)
	}
	return err
}

func poll(ctx context.Context, k clock, interval, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) error {
	began := k.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var last error
	out := func(cause error) error {
		if errors.Is(cause, context.DeadlineExceeded) {
			after := timeout
			if timeout <= 0 || k.Now().Sub(began) < timeout {
				after = k.Now().Sub(began).Round(time.Millisecond)
			}
			return &TimeoutError{What: what, After: after, Last: last}
		}
		if last != nil {
			return fmt.Errorf("stopped waiting for %s: %w (last: %w)", what, cause, last)
		}
		return fmt.Errorf("stopped waiting for %s: %w", what, cause)
	}
	for {
		done, err := cond(ctx)
		if pe, ok := err.(*permanent); ok {
			return pe.err
		}
		if done {
			return err
		}
		// The context running out is not a reason of the condition's:
		// keep the reason it gave before. A call cut by the deadline may
		// fail with an error of its own that does not wrap the context's
		// (client-go's rate limiter: "would exceed context deadline").
		// The deadline counts as reached by the clock too: a call made
		// just after it, before the context's timer fired, fails that way.
		cut := ctx.Err() != nil
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cut = true
		}
		if err != nil && (!cut || (last == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled))) {
			last = err
		}
		if ctx.Err() != nil {
			return out(ctx.Err())
		}
		wait := interval
		if timeout > 0 {
			left := timeout - k.Now().Sub(began)
			if left <= 0 {
				return out(context.DeadlineExceeded)
			}
			wait = min(wait, left)
		}
		if err := k.Sleep(ctx, wait); err != nil {
			return out(err)
		}
	}
}

// WithTimeout is context.WithTimeout where d ≤ 0 means no deadline of its
// own (the built-ins' `timeout: 0`).
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
