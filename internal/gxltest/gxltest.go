// Package gxltest runs GXL programs from tests of the built-in families,
// through the same checker and interpreter as `gxl run`.
package gxltest

import (
	"bytes"
	"context"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/engine"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// Run checks src and runs flow in env default with vars set as strings.
// A program that does not check fails the test.
func Run(t testing.TB, src, flow string, vars map[string]string) (string, error) {
	t.Helper()
	return RunHost(t, src, flow, builtin.Host{}, vars)
}

// RunHost is Run with host settings (Ctx.Host), e.g. the system root a
// sys.* built-in works on.
func RunHost(t testing.TB, src, flow string, host builtin.Host, vars map[string]string) (string, error) {
	t.Helper()
	extra := map[string]value.Value{}
	for k, v := range vars {
		extra[k] = value.Str(v)
	}
	out, _, err := RunLog(t, src, flow, host, extra)
	return out, err
}

// RunLog is RunHost with typed variable values (a secret one made with
// value.AsSecret) that also returns the run's log: one line per event,
// its level first ("WARN\tnotify.slack ...").
func RunLog(t testing.TB, src, flow string, host builtin.Host, vars map[string]value.Value) (out, log string, err error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "work.gxl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, ds := check.Load(path, check.Options{Registry: engine.Registry()})
	if ds.HasErrors() {
		t.Fatalf("check: %v", ds)
	}
	var o, l syncBuffer
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{LevelKey: "level", MessageKey: "msg", EncodeLevel: zapcore.CapitalLevelEncoder})
	logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&l), zapcore.DebugLevel))
	r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: &o, Stderr: &o, Extra: vars, Host: host, SecretsFile: filepath.Join(dir, "none"), Log: logger,
		Load: func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
			return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, Confine: confine})
		}})
	err = r.Run(context.Background(), []string{"default"}, []string{flow})
	return o.String(), l.String(), err
}

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
