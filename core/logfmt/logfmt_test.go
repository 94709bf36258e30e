package logfmt

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func logTo(enc zapcore.Encoder, f func(l *zap.Logger)) string {
	var b bytes.Buffer
	l := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&b), zapcore.DebugLevel))
	f(l)
	return b.String()
}

var at = time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC)

// TestConsole: the compact line — time, [module], flow, level only when
// not info, message, fields as key=value; run hidden, at only on warnings
// and errors; no colour unless asked.
func TestConsole(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *zap.Logger)
		want string
	}{
		{"info with flow", func(l *zap.Logger) {
			l.With(zap.String("run", "r1"), zap.String("flow", "main.deploy"), zap.String("at", "w.gxl:3:5")).Info("step 3/7", zap.Duration("took", 1234567*time.Microsecond))
		}, "12:00:01 main.deploy  step 3/7 took=1.235s\n"},
		{"module", func(l *zap.Logger) {
			l.With(zap.String("module", "web"), zap.String("flow", "main.setup")).Info("cmd: ls -l")
		}, "12:00:01 [web] main.setup  cmd: ls -l\n"},
		{"warn shows level and at", func(l *zap.Logger) {
			l.With(zap.String("flow", "main.x"), zap.String("at", "w.gxl:3:5")).Warn("retry", zap.Int("attempt", 2), zap.String("error", "exit status 1"))
		}, "12:00:01 main.x  WARN retry at=w.gxl:3:5 attempt=2 error=\"exit status 1\"\n"},
		{"no flow", func(l *zap.Logger) { l.Error("boom", zap.Strings("stack", []string{"a", "b"})) }, "12:00:01 ERROR boom stack=a,b\n"},
		{"debug", func(l *zap.Logger) { l.Debug("x", zap.Bool("ok", true), zap.Float64("seconds", 1.5)) }, "12:00:01 DEBUG x ok=true seconds=1.5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logTo(Console(false), func(l *zap.Logger) {
				l = l.WithOptions(zap.WithClock(fixed{}))
				tt.log(l)
			})
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if strings.Contains(got, "\x1b[") {
				t.Errorf("colour without being asked: %q", got)
			}
		})
	}
	got := logTo(Console(true), func(l *zap.Logger) { l.Warn("w") })
	if !strings.Contains(got, "\x1b[1;33mWARN\x1b[0m") {
		t.Errorf("coloured console: %q", got)
	}
}

// TestJSON: one object a line; durations as numbers of seconds.
func TestJSON(t *testing.T) {
	out := logTo(JSON(), func(l *zap.Logger) {
		l.With(zap.String("run", "r1"), zap.String("flow", "main.x")).Info("flow done", zap.Duration("took", 1500*time.Millisecond))
	})
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if m["took"] != 1.5 || m["run"] != "r1" || m["flow"] != "main.x" || m["msg"] != "flow done" || m["level"] != "INFO" {
		t.Errorf("event %v", m)
	}
}

type fixed struct{}

func (fixed) Now() time.Time                         { return at }
func (fixed) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }
