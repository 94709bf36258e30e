// Package progress is the one interface through which gxl's waiting code
// reports a long wait — a rollout, a server coming up, a fetch, a down
// window: Start(ctx, label) gives a Handle, Update says how the wait is
// going, Done ends it. The code that waits knows nothing of terminals: the
// Reporter the run puts in the context decides — a live line per module on
// a terminal (Live), a plain line at the start and one at the end with the
// elapsed time otherwise, events under --log-format json. Without a
// Reporter (a library call, a test) a Handle does nothing.
package progress

import (
	"context"
)

// Reporter shows waits; the runtime puts one in the context of each
// built-in call (With).
type Reporter interface {
	// Start begins showing a wait for label ("deploy/web to reach
	// rollout").
	Start(label string) Handle
}

// Handle is one wait being shown.
type Handle interface {
	// Update sets what the wait is at now ("1 of 3 replicas ready").
	Update(status string)
	// Done ends the wait: err is why it failed, nil when it ended well.
	Done(err error)
}

type key struct{}

// With returns ctx carrying r.
func With(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// Start begins showing a wait for label through the Reporter of ctx; a
// no-op Handle when there is none.
func Start(ctx context.Context, label string) Handle {
	if r, ok := ctx.Value(key{}).(Reporter); ok && r != nil {
		return r.Start(label)
	}
	return nop{}
}

type nop struct{}

func (nop) Update(string) {}
func (nop) Done(error)    {}
