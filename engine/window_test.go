package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
)

// A flow with a #[window] starts by hand only inside it; outside, NewRun
// refuses with the next start, in the engine's zone, unless forced.
func TestNewRunRefusesOutsideTheWindow(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "w.gxl")
	os.WriteFile(file, []byte(`mod main {
    #[window(start: "02:00", end: "04:00")]
    flow maint { }
    flow any { }
}
`), 0o644)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tzdata")
	}
	at := func(h, m int) func() time.Time {
		return func() time.Time { return time.Date(2030, 7, 1, h, m, 0, 0, time.UTC) }
	}
	for _, tc := range []struct {
		name string
		opts []engine.Option
		flow string
		next time.Time // zero: runs
	}{
		{"inside", []engine.Option{engine.WithClock(at(2, 30))}, "maint", time.Time{}},
		{"before", []engine.Option{engine.WithClock(at(1, 59))}, "maint", time.Date(2030, 7, 1, 2, 0, 0, 0, time.UTC)},
		{"at the end", []engine.Option{engine.WithClock(at(4, 0))}, "maint", time.Date(2030, 7, 2, 2, 0, 0, 0, time.UTC)},
		{"forced", []engine.Option{engine.WithClock(at(12, 0)), engine.WithForce(true)}, "maint", time.Time{}},
		{"no window", []engine.Option{engine.WithClock(at(12, 0))}, "any", time.Time{}},
		// 17:30 UTC is 02:30 in Tokyo.
		{"in a zone", []engine.Option{engine.WithClock(at(17, 30)), engine.WithTimeZone(tokyo)}, "maint", time.Time{}},
		{"outside in a zone", []engine.Option{engine.WithClock(at(2, 30)), engine.WithTimeZone(tokyo)}, "maint", time.Date(2030, 7, 1, 17, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := engine.New(append(tc.opts, engine.WithDir(dir), engine.WithoutJournal())...)
			if err != nil {
				t.Fatal(err)
			}
			p := eng.Load(file)
			if !p.OK() {
				t.Fatal(p.Diags)
			}
			_, err = eng.NewRun(p, []string{tc.flow})
			var we *engine.WindowError
			switch {
			case tc.next.IsZero() && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.next.IsZero() && !errors.As(err, &we):
				t.Fatalf("not refused: %v", err)
			case !tc.next.IsZero() && !we.Next.Equal(tc.next):
				t.Fatalf("next window %s, want %s (%v)", we.Next.UTC(), tc.next, err)
			}
		})
	}
}
