package runtime_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
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

// TestDeepPipelines: depth is no error in a plan, only cycles are: a
// 200-long chain of pre flows, of post flows and of auto-loaded flows runs
// every flow once, in order.
func TestDeepPipelines(t *testing.T) {
	const n = 200
	var pre, post, auto strings.Builder
	var wantPre, wantPost strings.Builder
	for i := 0; i < n; i++ {
		next := ""
		if i < n-1 {
			next = fmt.Sprintf(" : f%d", i+1)
		}
		fmt.Fprintf(&pre, "    flow f%d%s { gx.echo(\"f%d\"); }\n", i, next, i)
		if i < n-1 {
			next = fmt.Sprintf(" : : f%d", i+1)
		}
		fmt.Fprintf(&post, "    flow f%d%s { gx.echo(\"f%d\"); }\n", i, next, i)
		fmt.Fprintf(&wantPre, "f%d\n", n-1-i)
		fmt.Fprintf(&wantPost, "f%d\n", i)
	}
	// #[auto_load(entry)] flows whose pre flows form the chain.
	auto.WriteString("    #[auto_load(entry)]\n" + strings.Replace(pre.String(), "    flow f0 :", "    flow start : f0 { gx.echo(\"start\"); }\n    flow f0 :", 1))
	tests := []struct {
		name, body, want string
		flow             string
	}{
		{"pre chain", pre.String(), wantPre.String(), "f0"},
		{"post chain", post.String(), wantPost.String(), "f0"},
		{"auto-loaded chain", auto.String() + "    flow test { gx.echo(\"test\"); }\n", wantPre.String() + "start\ntest\n", "test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeProgram(t, "mod envs { env default { } }\nmod main {\n"+tt.body+"}\n")
			res := runCase(t, dir, []string{tt.flow}, runtime.Options{Quiet: true})
			if res.err != nil {
				t.Fatalf("run: %v", res.err)
			}
			if res.stdout != tt.want {
				t.Errorf("stdout:\n%.300s…\nwant:\n%.300s…", res.stdout, tt.want)
			}
		})
	}
}

// TestSizeLimits: a plan that multiplies past the step limit and a loop
// over more items than the loop limit fail at their source, before doing
// the work; below the limits they run.
func TestSizeLimits(t *testing.T) {
	defer runtime.SetSizeLimits(100, 3)()
	tests := []struct {
		name, src, code string
		line            int
	}{
		{"plan under the limit", `mod envs { env default { } }
mod main {
    flow a { }
    flow b : a, a { }
    flow test : b, b { }
}`, "", 0},
		// Each level doubles the expansion: 2^6 loads of f6, 2 steps each.
		{"plan past the limit", `mod envs { env default { } }
mod main {
    flow f6 { gx.echo("leaf"); }
    flow f5 : f6, f6 { }
    flow f4 : f5, f5 { }
    flow f3 : f4, f4 { }
    flow f2 : f3, f3 { }
    flow f1 : f2, f2 { }
    flow test : f1, f1 { }
}`, "plan-size", 0},
		{"loop under the limit", `mod envs { env default { } }
mod main { flow test { L = ["a", "b", "c"]; for ${X} in ${L} { gx.echo("${X}"); } } }`, "", 0},
		{"loop past the limit", `mod envs { env default { } }
mod main {
    flow test {
        L = ["a", "b", "c", "d"];
        for ${X} in ${L} { gx.echo("${X}"); } } }`, "loop-size", 5},
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
			var d diag.Diagnostic
			if !errors.As(res.err, &d) || d.Code != tt.code {
				t.Fatalf("error %v, want code %s", res.err, tt.code)
			}
			if !d.Span.Start.IsValid() || (tt.line > 0 && d.Span.Start.Line != tt.line) {
				t.Errorf("error at %v, want line %d", d.Span.Start, tt.line)
			}
			if res.stdout != "" {
				t.Errorf("the work started: %q", res.stdout)
			}
		})
	}
}
