package runtime

import (
	"context"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
)

// The functions below let the REPL debugger evaluate what is typed at its
// prompt with the same interpreter, in a scope it chooses: the live
// variables of a paused run (Event.Vars) or its own session scope. The
// runner's hooks are not called for such input, and nothing is journaled.

// adhoc is an exec over vars that calls no hooks and records nothing.
func (r *Runner) adhoc(ctx context.Context, vars *Scope) *exec {
	rr := *r
	rr.opt.Hooks = NoHooks{}
	rr.opt.Journal = nil
	rr.opt.Resume = nil
	if ctx == nil {
		ctx = context.Background()
	}
	return rr.newExec(ctx, vars, 0)
}

// Exec runs statements in vars as if they were written in a block of
// module m (unqualified calls resolve in m's table; nil means main).
// Assignments change vars.
func (r *Runner) Exec(ctx context.Context, vars *Scope, m *check.Module, stmts []ast.Stmt) error {
	if m == nil {
		m = r.prog.Module("main")
	}
	return r.adhoc(ctx, vars).stmts(m, stmts)
}

// Eval computes a value expression in vars the way a property's value is
// computed (strings interpolated, bare ${X} copied).
func (r *Runner) Eval(vars *Scope, e ast.Expr) (value.Value, error) {
	return r.adhoc(nil, vars).eval(e)
}

// EvalCond evaluates a condition in vars, as `if` does.
func (r *Runner) EvalCond(vars *Scope, c ast.Cond) (bool, error) {
	return r.adhoc(nil, vars).cond(c)
}

// ExportEnv exports an env into vars, as the env step of a run does.
func (r *Runner) ExportEnv(ctx context.Context, vars *Scope, e *check.Env) error {
	x := r.adhoc(ctx, vars)
	if err := x.runEnv(e, map[*check.Env]bool{}); err != nil {
		return x.fail(err, e.Decl.Name.Span())
	}
	return nil
}
