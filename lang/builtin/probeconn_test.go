package builtin

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConn is a connection of fakeServer: dead once the server restarted
// after it was dialled.
type fakeConn struct {
	gen    int64
	closed atomic.Bool
}

type fakeServer struct {
	up     atomic.Bool
	gen    atomic.Int64 // restarts
	opens  atomic.Int64
	closes atomic.Int64
	slow   atomic.Bool // checks take a millisecond: probes overlap
}

func (s *fakeServer) conns() *ProbeConns[*fakeConn] {
	return &ProbeConns[*fakeConn]{
		Dial: func(ctx context.Context, key string) (*fakeConn, error) {
			if !s.up.Load() {
				return nil, errors.New("connection refused")
			}
			s.opens.Add(1)
			return &fakeConn{gen: s.gen.Load()}, nil
		},
		Check: func(ctx context.Context, c *fakeConn) error {
			if s.slow.Load() {
				time.Sleep(time.Millisecond)
			}
			if c.closed.Load() {
				return errors.New("use of a closed connection")
			}
			if !s.up.Load() || c.gen != s.gen.Load() {
				return errors.New("connection reset by peer")
			}
			return nil
		},
		Close: func(c *fakeConn) {
			if c.closed.Swap(true) {
				panic("closed twice")
			}
			s.closes.Add(1)
		},
		MaxIdle: 200 * time.Millisecond,
	}
}

// TestProbeConns: one connection kept and reused; a dead server fails the
// probe; a restarted one answers at the first probe on a new connection;
// a connection idle past MaxIdle is not used; probes of one server at the
// same time each get a connection, and one is kept (run with -race).
func TestProbeConns(t *testing.T) {
	ctx := context.Background()
	s := &fakeServer{}
	s.up.Store(true)
	p := s.conns()
	for range 5 {
		if err := p.Probe(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if p.Dials() != 1 {
		t.Fatalf("5 probes dialled %d times, want 1", p.Dials())
	}
	s.gen.Add(1) // restarted: the kept connection is dead
	if err := p.Probe(ctx, "a"); err != nil {
		t.Fatalf("the first probe after a restart: %v", err)
	}
	if p.Dials() != 2 || s.closes.Load() != 1 {
		t.Fatalf("after a restart: %d dials, %d closes; want 2 and 1", p.Dials(), s.closes.Load())
	}
	s.up.Store(false)
	if err := p.Probe(ctx, "a"); err == nil {
		t.Fatal("a dead server answered through the kept connection")
	}
	s.up.Store(true)
	if err := p.Probe(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	dials := p.Dials()
	if err := p.Probe(ctx, "a"); err != nil || p.Dials() != dials+1 {
		t.Fatalf("after MaxIdle: %v, %d dials, want a new one", err, p.Dials()-dials)
	}

	s.slow.Store(true)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := p.Probe(ctx, "b"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	p.mu.Lock()
	n := len(p.idle)
	p.mu.Unlock()
	if n != 2 {
		t.Errorf("%d connections kept for two servers, want 2", n)
	}
	if opened, closed := s.opens.Load(), s.closes.Load(); opened-closed != 2 {
		t.Errorf("%d connections dialled, %d closed: %d open, want the 2 kept", opened, closed, opened-closed)
	}
}
