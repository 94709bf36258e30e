package builtin

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The causes of a stopped context (context.Cause): whoever stops a run,
// a flow or a command says why, and the failure's message names it
// instead of a bare "cancelled".

// TimeoutError is a time limit that ran out: a flow's #[timeout] or a
// command's timeout argument. It is a context.DeadlineExceeded.
type TimeoutError struct {
	What  string // "flow main.slow", "command"
	After time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("%s timed out after %s", e.What, e.After) }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// SignalError is a run cancelled by a signal (SIGINT, SIGTERM). It is a
// context.Canceled.
type SignalError struct {
	Signal string // "SIGINT"
}

func (e *SignalError) Error() string { return "cancelled by signal " + e.Signal }

// Unwrap makes errors.Is(err, context.Canceled) true.
func (e *SignalError) Unwrap() error { return context.Canceled }

// IsStop reports whether err comes from a stopped context (a timeout or a
// cancellation).
func IsStop(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
