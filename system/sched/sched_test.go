package sched

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrderParallelismAndDependencies(t *testing.T) {
	units := []Unit{
		{Name: "ingress", Priority: 60, Depends: []string{"gateway"}, Enabled: true},
		{Name: "gateway", Priority: 70, Depends: []string{"users", "orders"}, Enabled: true},
		{Name: "users", Priority: 80, Depends: []string{"pg", "redis"}, Enabled: true},
		{Name: "orders", Priority: 80, Depends: []string{"pg"}, Enabled: true},
		{Name: "notify", Priority: 80, Enabled: false},
		{Name: "pg", Priority: 100, Enabled: true},
		{Name: "redis", Priority: 100, Enabled: true},
	}
	var mu sync.Mutex
	var events []string
	var running, maxRunning int32
	var out bytes.Buffer
	res, err := Run(context.Background(), "deploy", units, 2, &out, func(ctx context.Context, u Unit, w io.Writer) error {
		n := atomic.AddInt32(&running, 1)
		for {
			m := atomic.LoadInt32(&maxRunning)
			if n <= m || atomic.CompareAndSwapInt32(&maxRunning, m, n) {
				break
			}
		}
		mu.Lock()
		events = append(events, "start "+u.Name)
		mu.Unlock()
		fmt.Fprintf(w, "deploying %s\npart", u.Name)
		time.Sleep(30 * time.Millisecond)
		fmt.Fprintf(w, "ial line\n")
		atomic.AddInt32(&running, -1)
		mu.Lock()
		events = append(events, "end "+u.Name)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pos := func(e string) int {
		for i, x := range events {
			if x == e {
				return i
			}
		}
		t.Fatalf("no event %q in %v", e, events)
		return -1
	}
	for _, dep := range [][2]string{{"pg", "users"}, {"redis", "users"}, {"pg", "orders"}, {"users", "gateway"}, {"orders", "gateway"}, {"gateway", "ingress"}} {
		if pos("end "+dep[0]) > pos("start "+dep[1]) {
			t.Errorf("%s started before %s ended: %v", dep[1], dep[0], events)
		}
	}
	if maxRunning != 2 {
		t.Errorf("max parallel %d, want 2 (pg and redis, users and orders)", maxRunning)
	}
	for _, r := range res {
		if r.Name == "notify" && r.Status != Disabled {
			t.Errorf("notify: %s", r.Status)
		}
	}
	if !strings.Contains(out.String(), "[users] deploying users\n") || !strings.Contains(out.String(), "[users] partial line\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestFailureSkipsDependents(t *testing.T) {
	units := []Unit{
		{Name: "pg", Priority: 100, Enabled: true},
		{Name: "users", Priority: 80, Depends: []string{"pg"}, Enabled: true},
		{Name: "gateway", Priority: 70, Depends: []string{"users"}, Enabled: true},
		{Name: "monitoring", Priority: 50, Enabled: true},
	}
	res, err := Run(context.Background(), "deploy", units, 4, io.Discard, func(ctx context.Context, u Unit, w io.Writer) error {
		if u.Name == "pg" {
			return errors.New("pg.wait: postgres 127.0.0.1:5432: connection refused")
		}
		return nil
	})
	if err == nil {
		t.Fatal("no error")
	}
	got := map[string]Result{}
	for _, r := range res {
		got[r.Name] = r
	}
	if got["pg"].Status != Failed || got["users"].Status != Skipped || got["gateway"].Status != Skipped || got["gateway"].Cause != "pg" || got["monitoring"].Status != OK {
		t.Fatalf("%+v", got)
	}
	sum := Summary(res)
	if !strings.Contains(sum, "connection refused") || !strings.Contains(sum, "dependency pg failed") {
		t.Fatalf("summary:\n%s", sum)
	}
}

func TestRejectsImpossibleOrders(t *testing.T) {
	for _, units := range [][]Unit{
		{{Name: "a", Priority: 100, Depends: []string{"b"}, Enabled: true}, {Name: "b", Priority: 50, Enabled: true}},
		{{Name: "a", Priority: 1, Depends: []string{"b"}, Enabled: true}, {Name: "b", Priority: 1, Depends: []string{"a"}, Enabled: true}},
	} {
		if _, err := Run(context.Background(), "x", units, 1, io.Discard, func(context.Context, Unit, io.Writer) error { return nil }); err == nil {
			t.Errorf("accepted %+v", units)
		}
	}
}

func TestNotApplicableLetsDependentsRun(t *testing.T) {
	units := []Unit{
		{Name: "pg", Priority: 100, Enabled: true},
		{Name: "users", Priority: 80, Depends: []string{"pg"}, Enabled: true},
	}
	res, err := Run(context.Background(), "failover", units, 2, io.Discard, func(ctx context.Context, u Unit, w io.Writer) error {
		if u.Name == "users" {
			return fmt.Errorf("users: no failover flow: %w", ErrNotApplicable)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != OK || res[1].Status != NotApplicable || res[1].Err != nil {
		t.Fatalf("%+v", res)
	}
}
