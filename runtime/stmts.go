package runtime

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/confine"
	"github.com/gxl-dev/gxl/core/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime/shell"
)

// Hooks observe and steer execution; the debugger implements them.
type Hooks interface {
	// Before is called before each statement. Returning an error aborts.
	Before(ev *Event) error
	// OnError is called when a statement fails; the decision says whether
	// to retry it, skip it, or fail the step.
	OnError(ev *Event, err error) Decision
}

// Decision is a hook's answer to a failure.
type Decision int

// Decisions.
const (
	Fail Decision = iota
	Retry
	Skip
)

// Event describes the statement about to run (or that failed).
type Event struct {
	Stmt  ast.Stmt
	Span  diag.Span
	Stack []Frame
	// Vars is the live variable space: hooks may read and change it
	// (Replace changes a --set variable too; Set leaves it pinned).
	Vars *Scope
	// Module is the module whose table unqualified calls resolve in.
	Module *check.Module
}

// StepContexter is implemented by hooks that can interrupt one statement
// without cancelling the run (the debugger's Ctrl-C): each statement runs
// with the context StepContext derives from the run's, and done is called
// when the statement ends. Statements nest (if, for, fn bodies), and so do
// their contexts.
type StepContexter interface {
	StepContext(parent context.Context) (ctx context.Context, done func())
}

// NoHooks is the default: never stops, fails on errors.
type NoHooks struct{}

// Before implements Hooks.
func (NoHooks) Before(*Event) error { return nil }

// OnError implements Hooks.
func (NoHooks) OnError(*Event, error) Decision { return Fail }

// stmts runs statements in order. Each statement's journal address is
// the caller's followed by its index.
func (x *exec) stmts(owner *check.Module, stmts []ast.Stmt) error {
	base := len(x.addr)
	defer func() { x.addr = x.addr[:base] }()
	for i, s := range stmts {
		x.addr = append(x.addr[:base], strconv.Itoa(i))
		if err := x.ctx.Err(); err != nil {
			cause := context.Cause(x.ctx)
			if cause == err {
				cause = fmt.Errorf("cancelled: %w", err)
			}
			return x.failAt(x.fail(cause, s.Span()))
		}
		if err := x.runOne(owner, s); err != nil {
			return x.failAt(err)
		}
	}
	return nil
}

// failAt notes the address of the first statement to fail.
func (x *exec) failAt(err error) error {
	if x.failAddr == "" {
		x.failAddr = x.address()
	}
	return err
}

// journaled reports whether the journal records s when it finishes:
// statements that run something (built-in calls, commands, command
// blocks, activities). Assignments, conditions, loops, fn calls and pure
// built-ins (gx.echo, gx.assert) are not: resume computes them again (an
// fn's body statements are recorded one by one), so gx.echo prints again.
func (x *exec) journaled(owner *check.Module, s ast.Stmt) bool {
	if x.r.opt.Journal == nil && x.r.opt.Resume == nil {
		return false
	}
	switch n := s.(type) {
	case *ast.CmdBlock:
		return true
	case *ast.Call:
		t := x.r.prog.ResolveCall(owner, n)
		if t == nil {
			b, ok := x.r.prog.Registry.Lookup(n.Target.String())
			return !ok || !b.IsPure()
		}
		return t.Fn == nil && (t.Builtin == nil || !t.Builtin.IsPure())
	}
	return false
}

// runOne runs one statement with the hooks, the journal and resume: a
// statement the resumed run's journal records as finished is skipped and
// its recorded changes applied.
func (x *exec) runOne(owner *check.Module, s ast.Stmt) error {
	ev := &Event{Stmt: s, Span: s.Span(), Vars: x.vars, Module: owner}
	if _, none := x.r.opt.Hooks.(NoHooks); !none {
		// A copy for the hooks, which may keep it; without hooks a deep
		// stack is not copied at every statement.
		ev.Stack = append([]Frame(nil), x.stack...)
	}
	if err := x.r.opt.Hooks.Before(ev); err != nil {
		return x.fail(err, s.Span())
	}
	journaled := x.journaled(owner, s)
	var addr string
	if journaled || x.replayErr != nil {
		addr = x.address()
	}
	if x.replayErr != nil && addr == x.replayErr.Of {
		// The killed run failed here and was undoing its transaction:
		// fail the same way, without running the statement again.
		r := x.replayErr
		x.replayErr = nil
		return x.fail(errors.New(r.Err+" (failed in the interrupted run; finishing its undo)"), s.Span())
	}
	if journaled {
		if rec := x.r.opt.Resume.skip(addr); rec != nil {
			x.log().Debug("resume: skip finished statement", zap.String("at", rec.At), zap.String("name", rec.Name))
			return rec.apply(x.vars)
		}
		x.vars.track()
	}
	outer := x.effects
	x.effects = false
	defer func() { x.effects = x.effects || outer }()
	for {
		err := x.runStmt(owner, s)
		if err == nil {
			break
		}
		err = x.fail(err, s.Span())
		ev.Vars = x.vars
		switch x.r.opt.Hooks.OnError(ev, err) {
		case Retry:
			continue
		case Skip:
			err = nil
		}
		if err != nil {
			if journaled {
				x.vars.untrack()
			}
			return err
		}
		break
	}
	if journaled {
		x.r.opt.Journal.done(addr, s.Span().Start.String(), stmtName(s), takeDelta(x.vars), x.effects)
	}
	return nil
}

// stmtName names a journaled statement for people (runs show, resume).
func stmtName(s ast.Stmt) string {
	switch n := s.(type) {
	case *ast.Call:
		return n.Target.String()
	case *ast.CmdBlock:
		return "command block"
	}
	return ""
}

// runStmt runs one statement, in a context of its own when the hooks
// want to be able to interrupt it.
func (x *exec) runStmt(owner *check.Module, s ast.Stmt) error {
	sc, ok := x.r.opt.Hooks.(StepContexter)
	if !ok {
		return x.stmt(owner, s)
	}
	parent := x.ctx
	ctx, done := sc.StepContext(parent)
	x.ctx = ctx
	defer func() {
		x.ctx = parent
		done()
	}()
	return x.stmt(owner, s)
}

// stmt runs one statement.
func (x *exec) stmt(owner *check.Module, s ast.Stmt) error {
	x.site = s.Span()
	if x.r.opt.Events {
		defer x.flushOutput()
	}
	switch n := s.(type) {
	case *ast.Assign:
		v, err := x.eval(n.Value)
		if err != nil {
			return err
		}
		x.vars.Set(n.Key.Name, v)
	case *ast.VarsBlock:
		for _, a := range n.Assigns {
			v, err := x.eval(a.Value)
			if err != nil {
				return err
			}
			x.vars.Set(a.Key.Name, v)
		}
	case *ast.CmdBlock:
		if err := x.effect(true); err != nil {
			return err
		}
		_, err := shell.RunShell(&callCtx{x: x, site: n.Span()}, rawText(n.Command.Parts), shell.ShellOptions{})
		return err
	case *ast.Call:
		return x.call(owner, n)
	case *ast.If:
		ok, err := x.cond(n.Cond)
		if err != nil {
			return err
		}
		if ok {
			return x.block(owner, "b0", n.Then.Stmts)
		}
		for k, ei := range n.ElseIfs {
			// Part I: errors in else-if conditions and blocks are not
			// swallowed.
			ok, err := x.cond(ei.Cond)
			if err != nil {
				return err
			}
			if ok {
				return x.block(owner, "b"+strconv.Itoa(k+1), ei.Then.Stmts)
			}
		}
		if n.Else != nil {
			return x.block(owner, "be", n.Else.Stmts)
		}
	case *ast.For:
		list, ok := x.vars.Lookup(n.In.Name)
		if !ok {
			return x.missingVar(n.In, n.In.Span())
		}
		var items []value.Value
		switch list.Kind() {
		case value.KList:
			items = list.ListVal()
		case value.KObject:
			items = list.ObjVal().Values()
		default:
			return diag.Errorf(n.In.Span(), "for-type", "for loops over a list or an object, but %s is %s", n.In.Source(), list.TypeName()).
				WithHint("read a list with gx.read_file(file: ..., name: \"LIST\") or write [\"a\", \"b\"]")
		}
		if len(items) > maxLoopIterations {
			return diag.Errorf(n.In.Span(), "loop-size", "for loops over at most %d items, but %s has %d", maxLoopIterations, n.In.Source(), len(items)).
				WithHint("split the data, or process it with a command")
		}
		for k, it := range items {
			x.vars.Set(n.Var.Root(), it)
			if err := x.block(owner, "i"+strconv.Itoa(k), n.Body.Stmts); err != nil {
				return err
			}
		}
	}
	return nil
}

// block runs a nested block under one more address component (the branch
// of an if, the iteration of a loop, the body of an fn).
func (x *exec) block(owner *check.Module, comp string, stmts []ast.Stmt) error {
	base := len(x.addr)
	x.addr = append(x.addr, comp)
	defer func() { x.addr = x.addr[:base] }()
	return x.stmts(owner, stmts)
}

// condResolver gives conditions access to the variables.
type condResolver struct{ x *exec }

func (r condResolver) Lookup(ref *ast.VarRef) (value.Value, bool) {
	v, ok := r.x.vars.Lookup(ref.Name)
	if !ok && ref.Default != nil {
		return value.Str(*ref.Default), true
	}
	return v, ok
}

func (r condResolver) Defined(ref *ast.VarRef) bool {
	if _, ok := r.x.vars.Lookup(ref.Name); ok {
		return true
	}
	_, ok := lookupEnvExact(ref.Name)
	return ok
}

func (r condResolver) Text(lit *ast.StringLit) (string, error) {
	v, err := r.x.interpolate(lit.Parts, lit.Span())
	return v.String(), err
}

func (r condResolver) Value(lit ast.Expr) (value.Value, error) {
	return r.x.eval(lit)
}

func (x *exec) cond(c ast.Cond) (bool, error) {
	p := x.r.prog.Conds[c]
	if p == nil {
		p = check.CompileCond(c)
	}
	return p.Eval(condResolver{x})
}

// call runs a built-in, fn or activity call.
func (x *exec) call(owner *check.Module, call *ast.Call) error {
	t := x.r.prog.ResolveCall(owner, call)
	if t == nil {
		if b, ok := x.r.prog.Registry.Lookup(call.Target.String()); ok {
			t = &check.CallTarget{Builtin: b}
		} else {
			return diag.Errorf(call.Target.Span(), "unknown-fn", "cannot resolve call %s", call.Target.String())
		}
	}
	switch {
	case t.Builtin != nil:
		return x.callBuiltin(t.Builtin, call)
	case t.Fn != nil:
		return x.callFn(t.Fn, call)
	default:
		return x.callActivity(t.Activity, call)
	}
}

// callBuiltin converts the arguments with the registry and runs the built-in.
func (x *exec) callBuiltin(b *builtin.Builtin, call *ast.Call) error {
	vals, err := x.builtinArgs(b, call)
	if err != nil {
		return err
	}
	if !b.IsPure() {
		// A built-in that runs other flows (Runs) changes what they
		// change: their statements say so themselves.
		if err := x.effect(b.Effect != builtin.Reads && b.Effect != builtin.Runs); err != nil {
			return err
		}
	}
	c := &callCtx{x: x, site: call.Span(), name: b.Name}
	if err := b.Run(c, builtin.NewArgs(b, vals)); err != nil {
		var mv *shell.MissingVarError
		if errors.As(err, &mv) {
			return diag.Errorf(refSpan(call, mv.Name), "undefined-var", "%s: variable ${%s} is not defined", b.Name, mv.Name).
				WithHint("define it, or give a default: ${%s:value}", mv.Name)
		}
		var se *StepError
		if errors.As(err, &se) {
			// A nested run's error carries its own position and stack.
			return err
		}
		return fmt.Errorf("%s: %w", b.Name, err)
	}
	return nil
}

// builtinArgs evaluates and converts the arguments of a built-in call
// with the registry's parameters, defaults filled in (by canonical name).
func (x *exec) builtinArgs(b *builtin.Builtin, call *ast.Call) (map[string]value.Value, error) {
	// Sized for every parameter: defaults are added below, and a map
	// growing past its first bucket for each call was a kilobyte per step.
	vals := make(map[string]value.Value, len(b.Params))
	for _, a := range call.Args {
		var p *builtin.Param
		if a.Key == nil {
			p = b.PositionalParam()
		} else {
			p = b.Param(a.Key.Name)
		}
		if p == nil {
			continue // reported by the checker
		}
		var v value.Value
		var err error
		if lit, ok := a.Value.(*ast.StringLit); ok && p.Raw {
			v = value.Str(rawText(lit.Parts))
		} else {
			v, err = x.evalDeep(a.Value)
			if err != nil {
				return nil, err
			}
		}
		cv, err := builtin.Convert(p.Type, v)
		if err != nil {
			return nil, diag.Errorf(a.Span(), "arg-type", "argument %s of %s: %v", p.Name, b.Name, err)
		}
		name, cv := p.Resolve(cv) // an old spelling reaches the built-in under its new name
		vals[name] = cv
	}
	for _, p := range b.Params {
		if _, ok := vals[p.Name]; !ok && p.Default.IsValid() {
			vals[p.Name] = p.Default
		}
		if _, ok := vals[p.Name]; !ok && p.Required {
			return nil, diag.Errorf(call.Span(), "missing-arg", "%s is missing required argument %s", b.Name, p.Name)
		}
	}
	return vals, nil
}

// evalDeep evaluates a built-in argument: unlike property values, strings
// inside list and object literals are interpolated too, since the built-in
// receives plain data.
func (x *exec) evalDeep(e ast.Expr) (value.Value, error) {
	return x.composite(e, x.evalDeep)
}

// callArgs are a call's arguments by name, and its unnamed argument.
func callArgs(call *ast.Call) (given map[string]ast.Expr, unnamed ast.Expr) {
	given = map[string]ast.Expr{}
	for _, a := range call.Args {
		if a.Key == nil {
			unnamed = a.Value
		} else {
			given[a.Key.Name] = a.Value
		}
	}
	return given, unnamed
}

// bindParams binds call arguments to parameters on a copy of the variables
// (§4.8): by name, `*param` takes the unnamed argument, else the default.
// Arguments are evaluated in the caller's variables, defaults in the new
// scope (so they can use earlier parameters). Parameters named in raw are
// bound to their text unexpanded (an activity's executer).
func (x *exec) bindParams(params []*ast.Param, call *ast.Call, what string, raw map[string]bool) (*Scope, map[string]ast.Expr, error) {
	scope := x.vars.Clone()
	given, unnamed := callArgs(call)
	exprs := map[string]ast.Expr{}
	for _, p := range params {
		e, ok := given[p.Name.Name]
		if !ok && p.Star && unnamed != nil {
			e, ok = unnamed, true
		}
		fromDefault := false
		if !ok && p.Default != nil {
			e, ok, fromDefault = p.Default, true, true
		}
		if !ok {
			return nil, nil, diag.Errorf(call.Span(), "missing-arg", "call of %s is missing the argument %s", what, p.Name.Name)
		}
		exprs[p.Name.Name] = e
		if raw[p.Name.Name] {
			continue
		}
		var v value.Value
		var err error
		if fromDefault {
			saved := x.vars
			x.vars = scope
			v, err = x.eval(e)
			x.vars = saved
		} else {
			v, err = x.eval(e)
		}
		if err != nil {
			return nil, nil, err
		}
		scope.Set(p.Name.Name, v)
	}
	return scope, exprs, nil
}

func (x *exec) callFn(fn *check.Fn, call *ast.Call) error {
	scope, _, err := x.bindParams(fn.Decl.Params, call, "fn "+fn.Name, nil)
	if err != nil {
		return err
	}
	if fn.Decl.Body == nil {
		return nil
	}
	// The body runs on a copy: nothing it sets survives the call (§4.7).
	if err := x.enter(Frame{Name: "fn " + fn.Host.Name + "." + fn.Name, At: fn.Decl.Name.Span(), Call: call.Span()}); err != nil {
		return err
	}
	saved := x.vars
	x.vars = scope
	defer func() {
		x.vars = saved
		x.stack = x.stack[:len(x.stack)-1]
	}()
	return x.block(fn.Host, "f", fn.Decl.Body.Stmts)
}

// maxLoopIterations is limits.MaxLoopIterations (tests lower it).
var maxLoopIterations = limits.MaxLoopIterations

// enter pushes a call frame, or fails at the call when the stack is
// limits.MaxCallDepth deep: recursion that does not stop ends with the
// innermost calls shown, not with the memory of the machine.
func (x *exec) enter(f Frame) error {
	if len(x.stack) < limits.MaxCallDepth {
		x.stack = append(x.stack, f)
		return nil
	}
	d := diag.Errorf(f.Call, "call-depth", "calls nested deeper than %d levels; %s", limits.MaxCallDepth, innermostCalls(append(x.stack, f)))
	d.Hint = "a fn or activity calls itself (maybe through others) without end: make the recursion stop on a condition"
	return d
}

// innermostCalls lists the positions of the calls that entered the
// innermost frames, innermost first; a file is named when it changes.
func innermostCalls(stack []Frame) string {
	var b strings.Builder
	b.WriteString("innermost calls:")
	file := ""
	shown := 0
	for i := len(stack) - 1; i >= 0 && shown < limits.StackShown; i-- {
		f := stack[i]
		if !f.Call.IsValid() {
			continue
		}
		sep := ","
		if shown == 0 {
			sep = ""
		}
		p := f.Call.Start
		at := fmt.Sprintf("%d:%d", p.Line, p.Col)
		if p.File != file {
			at = p.String()
			file = p.File
		}
		fmt.Fprintf(&b, "%s %s at %s", sep, f.Name, at)
		shown++
	}
	return b.String()
}

// callActivity binds parameters and runs the executer as a shell command,
// the parameters being in its environment (§4.8).
func (x *exec) callActivity(a *check.Activity, call *ast.Call) error {
	scope, exprs, err := x.bindParams(a.Decl.Params, call, "activity "+a.Name, map[string]bool{"executer": true})
	if err != nil {
		return err
	}
	exe, ok := exprs["executer"]
	if !ok {
		return diag.Errorf(call.Span(), "activity", "activity %s has no executer", a.Name)
	}
	if err := x.enter(Frame{Name: "activity " + a.Host.Name + "." + a.Name, At: a.Decl.Name.Span(), Call: call.Span()}); err != nil {
		return err
	}
	saved := x.vars
	x.vars = scope
	defer func() {
		x.vars = saved
		x.stack = x.stack[:len(x.stack)-1]
	}()
	var text string
	switch e := exe.(type) {
	case *ast.StringLit:
		text = rawText(e.Parts)
	case *ast.RawStringLit:
		text = e.Value
	case *ast.VarRef:
		v, err := x.eval(exe)
		if err != nil {
			return err
		}
		text = v.String()
	default:
		return diag.Errorf(call.Span(), "activity", "the executer of %s must be a string", a.Name)
	}
	extra := map[string]string{}
	for name := range exprs {
		if v, ok := scope.Get(name); ok {
			extra[name] = v.String()
		}
	}
	if err := x.effect(true); err != nil {
		return err
	}
	_, err = shell.RunShell(&callCtx{x: x, site: call.Span()}, text, shell.ShellOptions{Extra: extra})
	return err
}

// runNested implements gx.run: load another file and run its flows in its
// directory on a copy of the variables (or the bootstrap set with isolate).
// Called from a file of a fetched module (site), the file loaded must stay
// inside that module's folder, like its externs (spec I.4).
// prog, when not nil, is conf already loaded and checked with the variables
// the run will have (RunNestedProgram).
func (x *exec) runNested(req builtin.NestedRun, site diag.Span, caller string, prog *check.Program) error {
	if x.r.opt.depth >= limits.MaxNestedRuns {
		return diag.Errorf(site, "run-depth", "gx.run nested deeper than %d levels", limits.MaxNestedRuns).
			WithHint("a gx.run probably runs a file that runs it again: make the nested run stop on a condition")
	}
	dir := req.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(x.r.opt.Dir, dir)
	}
	conf := req.Conf
	if conf == "" {
		conf = "./_gal/work.gxl"
	}
	if !filepath.IsAbs(conf) {
		conf = filepath.Join(dir, conf)
	}
	load := x.r.opt.Load
	if load == nil && prog == nil {
		return fmt.Errorf("gx.run: no loader configured")
	}
	opt := x.r.opt
	opt.Dir = dir
	// The nested run is journaled in the same journal, under this
	// statement's address and the request's label (one per module of a
	// stage, so parallel children have addresses of their own).
	label := req.Label
	if label == "" {
		x.nested++
		label = strconv.Itoa(x.nested)
	}
	opt.addr = x.address() + "/r" + label + "/"
	opt.depth++
	if req.Isolate {
		boot, err := x.r.Bootstrap()
		if err != nil {
			return err
		}
		opt.bootstrap = boot
	} else {
		opt.bootstrap = x.vars.Clone()
	}
	for _, k := range req.Unset {
		opt.bootstrap.Delete(k)
	}
	for k, v := range req.Vars {
		opt.bootstrap.Set(k, v)
	}
	if req.Stdout != nil {
		opt.Stdout = req.Stdout
	}
	if req.Stderr != nil {
		opt.Stderr = req.Stderr
	}
	if req.Module != "" {
		opt.module = req.Module
	}
	if prog == nil {
		known := map[string]types.Type{}
		for _, n := range opt.bootstrap.Names() {
			known[n] = types.Any
		}
		var ds diag.List
		// A library's gx.run names a folder of the run (ops-gxl's sys_ops
		// runs ./sys/mods/<name>/<model>): a file inside the run's own
		// folder is confined there, any other to the caller's checkout.
		root := x.r.prog.Confine[site.Start.File]
		if root != "" {
			real, inside, _ := confine.Inside(x.r.opt.Dir, conf)
			if inside {
				root = x.r.opt.Dir
			} else if _, inLib, _ := confine.Inside(root, conf); !inLib {
				return fmt.Errorf("%s is outside the run's folder %s and the library's checkout %s (after following symlinks): a library's gx.run runs only a workflow under one of them", real, x.r.opt.Dir, root)
			}
		}
		prog, ds = load(conf, known, root)
		if ds.HasErrors() {
			return fmt.Errorf("gx.run %s: %w", conf, ds.Err())
		}
		x.warn(ds, prog.Sources)
	}
	// A failure in the nested run shows the caller's frames, then the
	// call that started it, then its own.
	if caller == "" {
		caller = "gx.run"
	}
	opt.outer = append(x.frames(), Frame{Name: caller + " " + displayPath(conf), Call: site})
	child := New(prog, opt)
	ctx := x.ctx
	if req.Ctx != nil {
		ctx = req.Ctx
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return child.Run(ctx, req.Envs, req.Flows)
}

// displayPath is a file's path relative to the working directory when it
// is below it, for flow stacks.
func displayPath(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// refSpan is the position of the first ${name} written in the call's
// string arguments, else the call's.
func refSpan(call *ast.Call, name string) diag.Span {
	for _, a := range call.Args {
		if lit, ok := a.Value.(*ast.StringLit); ok {
			for _, p := range lit.Parts {
				if p.Var != nil && p.Var.Name == name && p.Var.Span().IsValid() {
					return p.Var.Span()
				}
			}
		}
	}
	return call.Span()
}
