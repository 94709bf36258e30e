package builtin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// ProbeConns keeps one idle connection per server (and credentials) for
// the probes of the *.down built-ins (and reads such as redis.status),
// across the runs of the process:
// `gxl operate` probes each primary every second, and a new connection
// per probe (TCP, authentication, a server-side session) was most of a
// probe's cost.
//
// A kept connection is checked by the probe itself (Check, e.g.
// SELECT 1 or PING). When it fails — the server died, or restarted and
// closed it — it is closed and the same probe dials a new connection,
// whose answer decides: a dead server fails the probe as it did without
// the pool (RunDown's window is unchanged), a restarted one answers on
// the new connection at once. Only a probe that answered puts its
// connection back.
type ProbeConns[C any] struct {
	Dial  func(ctx context.Context, key string) (C, error)
	Check func(ctx context.Context, c C) error
	Close func(c C)
	// MaxIdle: a connection idle for longer is closed instead of used
	// (0: a minute). A probe period is a second; a connection unused for
	// a minute belongs to a server nobody probes any more.
	MaxIdle time.Duration

	mu    sync.Mutex
	idle  map[string]keptConn[C]
	dials atomic.Int64
}

type keptConn[C any] struct {
	c    C
	used time.Time
}

// Probe checks the server of key through its kept connection, or a new one.
func (p *ProbeConns[C]) Probe(ctx context.Context, key string) error {
	return p.Do(ctx, key, p.Check)
}

// Do runs f on the kept connection of key, or on a new one. When f fails
// on the kept connection (and the context has not ended), that
// connection is closed and f runs again on a new one, whose result
// counts; only a connection f succeeded on is kept. f must be safe to run
// twice: a probe or a read.
func (p *ProbeConns[C]) Do(ctx context.Context, key string, f func(context.Context, C) error) error {
	if c, ok := p.take(key); ok {
		err := f(ctx, c)
		if err == nil {
			p.put(key, c)
			return nil
		}
		p.Close(c)
		if ctx.Err() != nil {
			return err
		}
	}
	p.dials.Add(1)
	c, err := p.Dial(ctx, key)
	if err != nil {
		return err
	}
	if err := f(ctx, c); err != nil {
		p.Close(c)
		return err
	}
	p.put(key, c)
	return nil
}

// Dials is how many connections Probe has dialled (tests).
func (p *ProbeConns[C]) Dials() int64 { return p.dials.Load() }

func (p *ProbeConns[C]) take(key string) (C, bool) {
	p.mu.Lock()
	k, ok := p.idle[key]
	delete(p.idle, key)
	p.mu.Unlock()
	maxIdle := p.MaxIdle
	if maxIdle <= 0 {
		maxIdle = time.Minute
	}
	if ok && time.Since(k.used) > maxIdle {
		p.Close(k.c)
		var zero C
		return zero, false
	}
	return k.c, ok
}

// put keeps c for key; a second connection (two probes of one server at
// the same time) is closed.
func (p *ProbeConns[C]) put(key string, c C) {
	p.mu.Lock()
	if p.idle == nil {
		p.idle = map[string]keptConn[C]{}
	}
	if _, ok := p.idle[key]; ok {
		p.mu.Unlock()
		p.Close(c)
		return
	}
	p.idle[key] = keptConn[C]{c: c, used: time.Now()}
	p.mu.Unlock()
}
