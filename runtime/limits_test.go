package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/internal/limits"
	"github.com/gxl-dev/gxl/lang/diag"
	"github.com/gxl-dev/gxl/runtime"
)

// TestRuntimeLimits: recursion without end and self-running gx.run stop at
// their limit with a positioned error naming the innermost calls;
// recursion that stops on a condition below the limit runs.
func TestRuntimeLimits(t *testing.T) {
	tests := []struct {
		name string
		src  string
		code string // "" = the run succeeds
		line int    // of the call that exceeded
		want []string
		// runs is how many times "level" is printed (0: not counted).
		runs int
	}{
		{"mutual fn recursion", `mod envs { env default { } }
mod main {
    fn ping() { pong(); }
    fn pong() { ping(); }
    flow test { ping(); }
}`, "call-depth", 0, []string{"calls nested deeper than 1000 levels", "innermost calls: fn main.pong at ", "… 987 more …",
			"fn main.ping at ", "work.gxl:3:17, fn main.ping at 4:17, fn main.pong at 3:17"}, 0},
		{"self recursion", `mod envs { env default { } }
mod main {
    fn down() {
        down(); }
    flow test { down(); }
}`, "call-depth", 4, []string{"fn main.down at "}, 0},
		{"recursion that stops", `mod envs { env default { } }
mod main {
    fn grow(s) {
        if ${s} != "` + strings.Repeat("x", 900) + `" { grow(s: "${s}x"); }
        else { gx.echo("deep enough"); }
    }
    flow test { grow(s: ""); }
}`, "", 0, nil, 0},
		{"gx.run of itself", `mod envs { env default { } }
mod main {
    flow test {
        gx.echo("level");
        gx.run(local: ".", conf: "work.gxl", env: "default", flow: "test");
    }
}`, "run-depth", 5, []string{"gx.run nested deeper than 64 levels"}, limits.MaxNestedRuns + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeProgram(t, tt.src)
			res := runCase(t, dir, []string{"test"}, runtime.Options{Quiet: true})
			if tt.code == "" {
				if res.err != nil {
					t.Fatalf("run: %v", res.err)
				}
				return
			}
			if res.err == nil {
				t.Fatal("the run succeeded")
			}
			var d diag.Diagnostic
			if !errors.As(res.err, &d) || d.Code != tt.code {
				t.Fatalf("error %v, want code %s", res.err, tt.code)
			}
			if !d.Span.Start.IsValid() || (tt.line > 0 && d.Span.Start.Line != tt.line) {
				t.Errorf("error at %v, want line %d", d.Span.Start, tt.line)
			}
			if n := strings.Count(res.stdout, "level\n"); tt.runs > 0 && n != tt.runs {
				t.Errorf("%d runs, want %d", n, tt.runs)
			}
			msg := res.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if len(msg) > 4000 {
				t.Errorf("error message of %d bytes: the stack is not cut", len(msg))
			}
		})
	}
}
