package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/runtime"
)

// runSrc runs flow of a program written to a temp folder with ctx.
func runSrc(t *testing.T, ctx context.Context, src, flow string) error {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "work.gxl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := load(t, filepath.Join(dir, "work.gxl"))
	var out bytes.Buffer
	r := runtime.New(prog, runtime.Options{Stdout: &out, Stderr: &out, Dir: dir, SecretsFile: filepath.Join(dir, "none.yml")})
	return r.Run(ctx, nil, []string{flow})
}

// TestStopCauses: a failure caused by a stopped context names the cause
// (a flow's timeout, a signal, a command's own timeout) and errors.Is
// sees context.DeadlineExceeded / context.Canceled through it.
func TestStopCauses(t *testing.T) {
	const src = `mod main {
    #[timeout("1s")]
    flow slow { gx.cmd("sleep 30"); }
    flow cmdto { gx.cmd(cmd: "sleep 30", timeout: "1s"); }
    flow long { gx.cmd("sleep 30"); }
}
`
	tests := []struct {
		flow, summary, note string
		is                  error
		signal              bool
	}{
		{"slow", "flow main.slow timed out after 1s", "interrupted: gx.cmd: command stopped: sleep 30", context.DeadlineExceeded, false},
		{"cmdto", "gx.cmd: command timed out after 1s: sleep 30", "", context.DeadlineExceeded, false},
		{"long", "cancelled by signal SIGTERM", "interrupted: gx.cmd: command stopped: sleep 30", context.Canceled, true},
	}
	for _, tt := range tests {
		t.Run(tt.flow, func(t *testing.T) {
			ctx := context.Background()
			if tt.signal {
				c, cancel := context.WithCancelCause(ctx)
				defer cancel(nil)
				time.AfterFunc(300*time.Millisecond, func() { cancel(&builtin.SignalError{Signal: "SIGTERM"}) })
				ctx = c
			}
			began := time.Now()
			err := runSrc(t, ctx, src, tt.flow)
			if time.Since(began) > 10*time.Second {
				t.Fatalf("the command was not stopped")
			}
			var se *runtime.StepError
			if !errors.As(err, &se) {
				t.Fatalf("not a StepError: %v", err)
			}
			d := se.Diagnostic()
			if d.Summary != tt.summary {
				t.Errorf("summary %q, want %q", d.Summary, tt.summary)
			}
			if (tt.note != "") != (len(d.Notes) > 1) || tt.note != "" && d.Notes[0] != tt.note {
				t.Errorf("notes %q, want %q first", d.Notes, tt.note)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false: %v", tt.is, err)
			}
			if se.Span.Start.Line == 0 {
				t.Errorf("no position: %v", err)
			}
		})
	}
}

// TestFailureFrames: a failure in an fn carries the frames with the
// position of the call, and in a nested run (gx.run) the caller's frames
// first with the gx.run call, the position being in the nested file.
func TestFailureFrames(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub", "_gal"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "_gal", "work.gxl"), []byte("mod envs { env default { } }\nmod main {\n    flow inner { lib.f(); }\n}\nmod lib {\n    fn f() { gx.cmd(\"exit 5\"); }\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "work.gxl"), []byte("mod envs { env default { } }\nmod main {\n    flow outer : dep { }\n    flow dep {\n        gx.run(local: \"sub\", env: \"default\", flow: \"inner\");\n    }\n}\n"), 0o644)
	res := runCase(t, dir, []string{"outer"}, runtime.Options{})
	var se *runtime.StepError
	if !errors.As(res.err, &se) {
		t.Fatalf("not a StepError: %v", res.err)
	}
	if got := se.Span.Start; !strings.HasSuffix(got.File, filepath.Join("sub", "_gal", "work.gxl")) || got.Line != 6 {
		t.Errorf("position %v, want the nested file's line 6", got)
	}
	want := "main.outer → main.dep → gx.run sub/_gal/work.gxl (called at " + filepath.Join(dir, "work.gxl") + ":5:9) → main.inner → fn lib.f (called at "
	if got := se.StackString(); !strings.HasPrefix(strings.ReplaceAll(got, dir+"/sub", "sub"), want) {
		t.Errorf("stack\n%s\nwant prefix\n%s", got, want)
	}
}
