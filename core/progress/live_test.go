package progress

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestLiveKeepsOutputWhole: lines written through Writers from several
// goroutines while live lines come and go arrive whole, in each writer's
// order; the live lines are erased before anything else is written and
// none is left at Close.
func TestLiveKeepsOutputWhole(t *testing.T) {
	var term bytes.Buffer
	l := NewLive(&syncWriter{w: &term}, 80)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := l.Writer(&syncWriter{w: &term})
			ln := l.Add(fmt.Sprintf("waiting for %d", g))
			for i := 0; i < 50; i++ {
				ln.Set(fmt.Sprintf("try %d", i))
				fmt.Fprintf(w, "g%d ", g)
				fmt.Fprintf(w, "line %d\n", i)
			}
			ln.Remove()
		}()
	}
	wg.Wait()
	l.Close()
	// Take away the live lines as a terminal would: each erase removes
	// the line above.
	var out []string
	for _, part := range strings.SplitAfter(term.String(), "\n") {
		for strings.HasPrefix(part, "\x1b[1A\r\x1b[2K") {
			part = strings.TrimPrefix(part, "\x1b[1A\r\x1b[2K")
			out = out[:len(out)-1]
		}
		if part != "" {
			out = append(out, part)
		}
	}
	next := map[string]int{}
	re := regexp.MustCompile(`^g(\d) line (\d+)\n$`)
	for _, line := range out {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("a line not whole or a live line left: %q", line)
		}
		if want := fmt.Sprint(next[m[1]]); m[2] != want {
			t.Fatalf("g%s wrote line %s, want %s", m[1], m[2], want)
		}
		next[m[1]]++
	}
	if len(out) != 200 {
		t.Fatalf("%d lines, want 200", len(out))
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestStartWithoutReporter: waiting code called without a Reporter (a
// library, a test) gets a Handle that does nothing.
func TestStartWithoutReporter(t *testing.T) {
	h := Start(context.Background(), "x")
	h.Update("y")
	h.Done(nil)
}
