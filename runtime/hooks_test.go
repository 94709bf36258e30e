package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/syntax"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

func checkSrc(t *testing.T, src string) *check.Program {
	t.Helper()
	prog, ds := check.CheckSource("w.gxl", []byte(src), check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	return prog
}

// scriptHooks answers OnError with a function and records Before events.
type scriptHooks struct {
	before  func(ev *runtime.Event) error
	onError func(ev *runtime.Event, err error) runtime.Decision
}

func (h *scriptHooks) Before(ev *runtime.Event) error {
	if h.before != nil {
		return h.before(ev)
	}
	return nil
}

func (h *scriptHooks) OnError(ev *runtime.Event, err error) runtime.Decision {
	if h.onError != nil {
		return h.onError(ev, err)
	}
	return runtime.Fail
}

const hookProg = `
mod envs { env default { } }
mod main {
    fn check(*v) { gx.assert(value: "${v}", expect: "ok"); }
    flow f {
        gx.echo("start");
        check("${STATE}");
        gx.echo("after ${STATE}");
    }
}
`

func TestHooksRetryAfterChangingVariables(t *testing.T) {
	prog := checkSrc(t, hookProg)
	var out bytes.Buffer
	failures := 0
	var failedAt []diag.Span
	h := &scriptHooks{onError: func(ev *runtime.Event, err error) runtime.Decision {
		failures++
		failedAt = append(failedAt, ev.Span)
		if failures > 2 {
			return runtime.Fail
		}
		// The failing statement is inside fn check: its copy of the
		// variables holds v; the caller's holds STATE.
		if _, ok := ev.Vars.Get("v"); ok {
			ev.Vars.Set("v", value.Str("ok"))
		}
		return runtime.Retry
	}}
	r := runtime.New(prog, runtime.Options{Stdout: &out, Stderr: &out, Hooks: h, Sets: map[string]value.Value{"STATE": value.Str("bad")}, SecretsFile: "/nonexistent"})
	if err := r.Run(context.Background(), []string{"default"}, []string{"f"}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if failures != 1 || failedAt[0].Start.Line != 4 {
		t.Fatalf("failures %d at %v", failures, failedAt)
	}
	if !strings.Contains(out.String(), "after bad") {
		t.Fatalf("output %q", out.String())
	}
}

func TestHooksSkipAndAbort(t *testing.T) {
	prog := checkSrc(t, hookProg)
	var out bytes.Buffer
	h := &scriptHooks{onError: func(ev *runtime.Event, err error) runtime.Decision { return runtime.Skip }}
	r := runtime.New(prog, runtime.Options{Stdout: &out, Stderr: &out, Hooks: h, Sets: map[string]value.Value{"STATE": value.Str("bad")}, SecretsFile: "/nonexistent"})
	if err := r.Run(context.Background(), []string{"default"}, []string{"f"}); err != nil {
		t.Fatalf("skip: %v", err)
	}
	stop := errors.New("stopped by the debugger")
	h = &scriptHooks{before: func(ev *runtime.Event) error {
		if c, ok := ev.Stmt.(interface{ Span() diag.Span }); ok && c.Span().Start.Line == 7 {
			return stop
		}
		return nil
	}}
	out.Reset()
	r = runtime.New(prog, runtime.Options{Stdout: &out, Stderr: &out, Hooks: h, SecretsFile: "/nonexistent"})
	err := r.Run(context.Background(), []string{"default"}, []string{"f"})
	var se *runtime.StepError
	if !errors.As(err, &se) || !errors.Is(err, stop) || se.Span.Start.Line != 7 {
		t.Fatalf("abort: %v", err)
	}
	if out.String() != "start\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestFrameCallSite(t *testing.T) {
	prog := checkSrc(t, hookProg)
	var stack []runtime.Frame
	h := &scriptHooks{before: func(ev *runtime.Event) error {
		if len(ev.Stack) == 2 && stack == nil {
			stack = ev.Stack
		}
		return nil
	}}
	r := runtime.New(prog, runtime.Options{Stdout: &bytes.Buffer{}, Hooks: h, Sets: map[string]value.Value{"STATE": value.Str("ok")}, SecretsFile: "/nonexistent"})
	if err := r.Run(context.Background(), []string{"default"}, []string{"f"}); err != nil {
		t.Fatal(err)
	}
	if len(stack) != 2 || stack[0].Name != "main.f" || stack[1].Name != "fn main.check" {
		t.Fatalf("stack %+v", stack)
	}
	if stack[0].Call.IsValid() || stack[1].Call.Start.Line != 7 || stack[1].At.Start.Line != 4 {
		t.Fatalf("positions %+v", stack)
	}
}

// cancelHooks gives every statement its own context and cancels the
// innermost one on demand, as the debugger's Ctrl-C does.
type cancelHooks struct {
	scriptHooks
	mu      sync.Mutex
	cancels []context.CancelFunc
}

func (h *cancelHooks) StepContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	h.mu.Lock()
	h.cancels = append(h.cancels, cancel)
	n := len(h.cancels)
	h.mu.Unlock()
	return ctx, func() {
		h.mu.Lock()
		h.cancels = h.cancels[:n-1]
		h.mu.Unlock()
		cancel()
	}
}

// interrupt cancels the innermost statement once depth statements are open.
func (h *cancelHooks) interrupt(depth int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.cancels) < depth {
		return false
	}
	h.cancels[len(h.cancels)-1]()
	return true
}

func TestStepContextInterruptsOneStatement(t *testing.T) {
	prog := checkSrc(t, `mod envs { env default { } } mod main { flow f { if true { gx.cmd("sleep ${T}"); } gx.echo("done"); } }`)
	h := &cancelHooks{}
	attempts := 0
	h.onError = func(ev *runtime.Event, err error) runtime.Decision {
		attempts++
		if attempts == 1 {
			ev.Vars.Replace("T", value.Str("0")) // T is a --set: pinned
			return runtime.Retry
		}
		return runtime.Fail
	}
	go func() {
		// The command inside the if: two statements deep.
		for !h.interrupt(2) {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var out bytes.Buffer
	r := runtime.New(prog, runtime.Options{Stdout: &out, Stderr: &out, Quiet: true, Hooks: h, Sets: map[string]value.Value{"T": value.Str("30")}, SecretsFile: "/nonexistent"})
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Run(ctx, []string{"default"}, []string{"f"}); err != nil {
		t.Fatalf("run: %v (attempts %d)", err, attempts)
	}
	if time.Since(began) > 10*time.Second || attempts != 1 || ctx.Err() != nil {
		t.Fatalf("took %v, attempts %d", time.Since(began), attempts)
	}
	if !strings.Contains(out.String(), "done") {
		t.Fatalf("output %q", out.String())
	}
}

func TestExecEvalInAScope(t *testing.T) {
	prog := checkSrc(t, `mod envs { env default { region = "eu"; } } mod main { fn greet(*who) { gx.echo("hi ${who} in ${ENV_REGION}"); } flow f { } }`)
	var out bytes.Buffer
	r := runtime.New(prog, runtime.Options{Stdout: &out, SecretsFile: "/nonexistent"})
	vars, err := r.Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	env, _ := runtime.ResolveEnv(prog, "default")
	if err := r.ExportEnv(context.Background(), vars, env); err != nil {
		t.Fatal(err)
	}
	at := diag.Pos{File: "repl", Line: 1, Col: 1}
	stmts, ds := syntax.ParseStmts("repl", []byte(`x = "a ${ENV_REGION}"; SEC_K = "hunter22"; greet("${x}");`), at)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if ds := prog.CheckStmts(nil, stmts); ds.HasErrors() {
		t.Fatal(ds)
	}
	if err := r.Exec(context.Background(), vars, nil, stmts); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hi a eu in eu\n" {
		t.Fatalf("output %q", out.String())
	}
	if got := vars.Mask("key hunter22 x"); got != "key *** x" {
		t.Fatalf("mask: %q", got)
	}
	stmts, _ = syntax.ParseStmts("repl", []byte(`v = ${x};`), at)
	v, err := r.Eval(vars, stmts[0].(*ast.Assign).Value)
	if err != nil || v.String() != "a eu" {
		t.Fatalf("eval: %v %v", v, err)
	}
	cond, ds := syntax.ParseCond("repl", []byte(`${x} =* "a*" && !defined(${nope})`), at)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if ok, err := r.EvalCond(vars, cond); !ok || err != nil {
		t.Fatalf("cond: %v %v", ok, err)
	}
	// Errors carry the position of the input.
	stmts, _ = syntax.ParseStmts("repl", []byte("\ngx.echo(\"${missing}\");"), diag.Pos{File: "repl", Line: 4, Col: 1})
	err = r.Exec(context.Background(), vars, nil, stmts)
	var se *runtime.StepError
	if !errors.As(err, &se) || se.Span.Start.Line != 5 || !strings.Contains(err.Error(), "not defined") {
		t.Fatalf("error: %v", err)
	}
}
