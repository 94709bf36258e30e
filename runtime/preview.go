package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
)

// A preview is what gxl plan prints and what the dry-run warnings are
// computed from: the plan of each selected flow (BuildPlan, dry-run
// substitutes included) walked down to its statements without running
// any, with the values known before the run (the predefined variables,
// the secrets, the system's variables, --set, the envs and module
// properties, and what assignments compute from them) resolved and every
// secret masked. A value set at run time (by a command, a file read, a
// loop) is unknown: the statement shows the reference as written, and a
// condition that reads one keeps every branch. The calls of Runs
// built-ins (sys.stage) are expanded by the Expanders of the layers that
// know them, down to the statements of each module's flow.

// PreviewVersion is the version of the JSON schema of Preview (gxl plan
// --format json), documented in docs/plan.md. It changes only when a
// field is removed or changes meaning.
const PreviewVersion = 1

// Preview is the preview of one selected flow.
type Preview struct {
	Flow   string        `json:"flow"`
	Envs   []string      `json:"envs"`
	DryRun bool          `json:"dryrun"`
	Steps  []PreviewStep `json:"steps"`
}

// PreviewStep is one item of the flow's plan: an env, a module's
// properties or a flow body.
type PreviewStep struct {
	// Kind is env, props or flow.
	Kind string `json:"kind"`
	// Name is the env, module or flow (qualified) name.
	Name string `json:"name"`
	// Label is top, entry or exit (how the item was loaded).
	Label string `json:"label"`
	At    string `json:"at,omitempty"`
	// DryRunOf names the flow this one replaces under --dryrun.
	DryRunOf   string        `json:"dryrun_of,omitempty"`
	Statements []PreviewStmt `json:"statements,omitempty"`
}

// PreviewStmt is one statement.
type PreviewStmt struct {
	// At is file:line:col.
	At string `json:"at"`
	// Kind is assign, call, command, fn, activity, if or for.
	Kind string `json:"kind"`
	// Name is the variable assigned, the built-in, fn or activity called,
	// or the loop variable.
	Name string `json:"name,omitempty"`
	// Effect is the built-in's effect (pure, reads, changes, runs);
	// commands and activities are changes.
	Effect string `json:"effect,omitempty"`
	// Value is an assignment's value, or a for loop's list.
	Value string `json:"value,omitempty"`
	// Args are a call's arguments in the order written.
	Args []PreviewArg `json:"args,omitempty"`
	// Command is the command line as it would run (command blocks,
	// gx.cmd, gx.shell, gx.read_cmd, activities), known values in place.
	Command string `json:"command,omitempty"`
	// Known is false when some value of the statement is only known at
	// run time; Unknown lists the variables it is waiting for.
	Known   bool     `json:"known"`
	Unknown []string `json:"unknown,omitempty"`
	// Cond is an if's condition and CondValue its value when known.
	Cond      string `json:"cond,omitempty"`
	CondValue *bool  `json:"cond_value,omitempty"`
	// Branches are an if's branches that may run (only the taken one
	// when the condition is known).
	Branches []PreviewBranch `json:"branches,omitempty"`
	// Body is an fn's, an activity's or a for loop's body.
	Body []PreviewStmt `json:"body,omitempty"`
	// Expansion is what a Runs built-in (sys.stage) would run.
	Expansion *PreviewExpansion `json:"expansion,omitempty"`
	// Changes are what the call would change (gxl plan --diff).
	Changes []builtin.Change `json:"changes,omitempty"`
	// Note says what cannot be known before the run.
	Note string `json:"note,omitempty"`
}

// PreviewArg is one argument of a call.
type PreviewArg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Known bool   `json:"known"`
}

// PreviewBranch is a branch of an if.
type PreviewBranch struct {
	// When is "then", "else if COND" or "else".
	When       string        `json:"when"`
	Statements []PreviewStmt `json:"statements,omitempty"`
}

// PreviewExpansion is what a Runs built-in would run.
type PreviewExpansion struct {
	// Kind is stage (sys.stage).
	Kind string `json:"kind"`
	// Name is the stage.
	Name string `json:"name"`
	// Groups are the priority groups in the order they run.
	Groups []PreviewGroup `json:"groups"`
}

// PreviewGroup is one priority group of a stage: its modules may run in
// parallel (dependencies first).
type PreviewGroup struct {
	Priority int             `json:"priority"`
	Modules  []PreviewModule `json:"modules"`
}

// PreviewModule is one module of a stage.
type PreviewModule struct {
	Name    string   `json:"name"`
	Depends []string `json:"depends,omitempty"`
	// Status is runs, n/a (the module has no flow for the stage),
	// disabled, or unknown (Note says why).
	Status string `json:"status"`
	// Flow is the flow the module would run, File its workflow.
	Flow string `json:"flow,omitempty"`
	File string `json:"file,omitempty"`
	Note string `json:"note,omitempty"`
	// Plan is the preview of the module's flow.
	Plan *Preview `json:"plan,omitempty"`
}

// Expansion is what an Expander found a Runs built-in call would run.
type Expansion struct {
	Kind, Name string
	Groups     []ExpansionGroup
}

// ExpansionGroup is a priority group of an Expansion.
type ExpansionGroup struct {
	Priority int
	Units    []ExpansionUnit
}

// ExpansionUnit is one nested run of an Expansion: Flow of Program run
// in Dir with Vars set on a copy of the caller's variables (Unset
// removed), or why it cannot be known (Program nil, Note).
type ExpansionUnit struct {
	Name    string
	Depends []string
	Enabled bool
	Program *check.Program
	File    string
	Dir     string
	Flow    string
	Vars    map[string]value.Value
	Unset   []string
	Note    string
}

// Expander tells what a call of a Runs built-in would run, from its
// arguments (all known) and the Ctx of the preview (Host, Vars). It must
// change nothing.
type Expander func(c builtin.Ctx, a builtin.Args) (*Expansion, error)

// PreviewOptions configure Runner.Preview.
type PreviewOptions struct {
	// Expanders expand the calls of Runs built-ins, by built-in name.
	Expanders map[string]Expander
	// Diff asks the built-ins with a Diff (k8s.apply) what each reachable
	// call whose arguments are known would change.
	Diff bool
}

// maxPreviewDepth bounds nested previews (a stage's modules, ...).
const maxPreviewDepth = 8

// previewer is the state of one preview, shared by the nested ones.
type previewer struct {
	opt PreviewOptions
	// unknown holds the folded names of variables set at run time to
	// values not known before it.
	unknown map[string]bool
	// open is set once a statement may define any variable (gx.read_file
	// of a whole file): from there on a variable not known is unknown,
	// not undefined, and neither a default nor the process environment
	// stands in for it.
	open  bool
	depth int
}

// Preview walks the plans of flowNames in envNames (as Run would run
// them) down to their statements and runs nothing.
func (r *Runner) Preview(ctx context.Context, envNames, flowNames []string, po PreviewOptions) ([]*Preview, error) {
	boot, err := r.Bootstrap()
	if err != nil {
		return nil, err
	}
	return r.preview(ctx, boot, envNames, flowNames, &previewer{opt: po})
}

func (r *Runner) preview(ctx context.Context, boot *Scope, envNames, flowNames []string, parent *previewer) ([]*Preview, error) {
	var envs []*check.Env
	for _, n := range envNames {
		e, err := ResolveEnv(r.prog, n)
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	var out []*Preview
	for _, n := range flowNames {
		top, err := ResolveFlow(r.prog, n)
		if err != nil {
			return nil, err
		}
		plan, err := BuildPlan(r.prog, envs, top, r.opt.DryRun)
		if err != nil {
			return nil, err
		}
		pv := &previewer{opt: parent.opt, unknown: map[string]bool{}, open: parent.open, depth: parent.depth}
		for k := range parent.unknown {
			pv.unknown[k] = true
		}
		x := r.newExec(ctx, boot.Clone(), 0)
		x.plan = pv
		p := &Preview{Flow: top.QualifiedName(), Envs: envNames, DryRun: r.opt.DryRun}
		if p.Envs == nil {
			p.Envs = []string{}
		}
		for _, st := range plan.Steps {
			p.Steps = append(p.Steps, x.previewStep(st))
		}
		out = append(out, p)
	}
	return out, nil
}

// previewStep previews one plan step.
func (x *exec) previewStep(st Step) PreviewStep {
	ps := PreviewStep{Label: st.Label}
	switch st.Kind {
	case StepEnv:
		ps.Kind, ps.Name, ps.At = "env", st.Env.Host.Name+"."+st.Env.Name, at(st.Env.Decl.Name.Span())
		seq, err := x.assembleEnv(st.Env, map[*check.Env]bool{})
		if err != nil {
			ps.Statements = []PreviewStmt{{At: ps.At, Kind: "env", Note: x.mask(err.Error())}}
			return ps
		}
		ps.Statements = x.previewExports(st.Env.Host, seq, "ENV_", "ENV")
	case StepProps:
		ps.Kind, ps.Name, ps.At = "props", st.Module.Name, at(st.Module.Decl.Name.Span())
		seq := make([]ast.Stmt, len(st.Module.Props))
		for i, p := range st.Module.Props {
			seq[i] = p
		}
		ps.Statements = x.previewExports(st.Module, seq, strings.ToUpper(st.Module.Name)+"_", st.Module.Name)
	default:
		ps.Kind, ps.Name, ps.At = "flow", st.Flow.QualifiedName(), at(st.Flow.Decl.Name.Span())
		if st.DryRunOf != nil {
			ps.DryRunOf = st.DryRunOf.QualifiedName()
		}
		if st.Flow.Decl.Body != nil {
			ps.Statements = x.previewStmts(st.Flow.Owner, st.Flow.Decl.Body.Stmts)
		}
	}
	return ps
}

// previewExports previews an env's or a module's body: its assignments
// export under prefix (ENV_X, <MOD>_X) and as keys of the object obj
// (ENV.x, <mod>.x), as runEnv and exportProps do.
func (x *exec) previewExports(owner *check.Module, seq []ast.Stmt, prefix, obj string) []PreviewStmt {
	var out []PreviewStmt
	o := value.NewObject()
	if old, ok := x.vars.Get(obj); ok && old.Kind() == value.KObject {
		o = old.ObjVal().Clone()
	}
	for _, s := range seq {
		a, ok := s.(*ast.Assign)
		if !ok {
			out = append(out, x.previewStmts(owner, []ast.Stmt{s})...)
			continue
		}
		ps := PreviewStmt{At: at(a.Span()), Kind: "assign", Name: prefix + a.Key.Name}
		disp, v, unknown := x.previewValue(a.Value, false)
		ps.Value, ps.Known, ps.Unknown = disp, len(unknown) == 0, unknown
		if ps.Known {
			x.vars.Set(prefix+a.Key.Name, v)
			x.plan.known(prefix + a.Key.Name)
			o.Set(a.Key.Name, v)
			x.vars.Set(obj, value.Obj(o))
		} else {
			x.forget(prefix + a.Key.Name)
		}
		out = append(out, ps)
	}
	return out
}

// known records that name has a known value again.
func (pv *previewer) known(name string) { delete(pv.unknown, value.Fold(name)) }

// unknownName reports whether the variable of a reference path (A.B[0])
// is set at run time.
func (pv *previewer) unknownName(path string) bool {
	root := path
	if i := strings.IndexAny(root, ".["); i > 0 {
		root = root[:i]
	}
	return pv.unknown[value.Fold(root)]
}

// at is the position of a span, its file relative to the working
// directory when below it (a module's files are loaded by absolute path).
func at(sp diag.Span) string {
	p := sp.Start
	p.File = displayPath(p.File)
	return p.String()
}

// forget makes name unknown: set at run time to a value not known now.
func (x *exec) forget(name string) {
	x.vars.Delete(name)
	x.plan.unknown[value.Fold(name)] = true
}

// isUnknown reports whether a reference cannot be resolved before the
// run: its variable is set at run time, or is not known after a
// statement that may define any variable.
func (x *exec) isUnknown(ref *ast.VarRef) bool {
	root := ref.Root()
	if x.plan.unknown[value.Fold(root)] {
		return true
	}
	if _, ok := x.vars.Get(root); !ok && x.plan.open {
		return true
	}
	return false
}

// unknownRefs lists the references under n that cannot be resolved.
func (x *exec) unknownRefs(n ast.Node) []string {
	var out []string
	seen := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if ref, ok := n.(*ast.VarRef); ok && x.isUnknown(ref) && !seen[ref.Root()] {
			seen[ref.Root()] = true
			out = append(out, ref.Root())
		}
		return true
	})
	return out
}

// previewValue shows an expression's value: the value (masked) when
// every variable it reads is known, else the expression as written with
// the known references in place. raw shows a command text (the runtime
// hands it to the shell with its references unexpanded) with the values
// the shell will see.
func (x *exec) previewValue(e ast.Expr, raw bool) (string, value.Value, []string) {
	unknown := x.unknownRefs(e)
	if len(unknown) == 0 {
		v, err := x.evalDeep(e)
		if err == nil {
			return x.showValue(e, v, raw), v, nil
		}
		// An undefined variable (the checker warned) or a bad value:
		// the run will fail or read the process environment there.
		return x.partial(e), value.Value{}, []string{x.mask(firstLine(err.Error()))}
	}
	return x.partial(e), value.Value{}, unknown
}

// showValue renders a known value for the plan, masked.
func (x *exec) showValue(e ast.Expr, v value.Value, raw bool) string {
	text := v.Display()
	if v.Kind() == value.KString {
		text = v.String()
	}
	masked := x.mask(text)
	if v.Secret() && masked == text {
		// Secret, but not through a value the masker knows: all of it.
		masked = "***"
	}
	if raw {
		return masked
	}
	if v.Kind() == value.KString {
		return strconv.Quote(masked)
	}
	return masked
}

// partial renders a string with its known references in place and the
// unknown ones as written; other expressions as written.
func (x *exec) partial(e ast.Expr) string {
	var parts []ast.StrPart
	switch n := e.(type) {
	case *ast.StringLit:
		parts = n.Parts
	case *ast.RawStringLit:
		parts = n.Parts
	default:
		return x.source(e)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		if !x.isUnknown(p.Var) {
			if v, ok := x.lookupRef(p.Var.Name); ok {
				if v.Secret() {
					b.WriteString("***")
				} else {
					b.WriteString(x.mask(v.String()))
				}
				continue
			}
		}
		b.WriteString(p.Var.Source())
	}
	return strconv.Quote(b.String())
}

// source is the text of a node as written.
func (x *exec) source(n ast.Node) string {
	sp := n.Span()
	src := x.r.prog.Sources[sp.Start.File]
	if sp.Start.Offset < 0 || sp.End.Offset > len(src) || sp.End.Offset < sp.Start.Offset {
		return ""
	}
	return string(src[sp.Start.Offset:sp.End.Offset])
}

// previewStmts previews statements in order, following what each
// assignment and call does to the known variables.
func (x *exec) previewStmts(owner *check.Module, stmts []ast.Stmt) []PreviewStmt {
	var out []PreviewStmt
	for _, s := range stmts {
		out = append(out, x.previewStmt(owner, s)...)
	}
	return out
}

func (x *exec) previewStmt(owner *check.Module, s ast.Stmt) []PreviewStmt {
	pos := at(s.Span())
	switch n := s.(type) {
	case *ast.Assign:
		return []PreviewStmt{x.previewAssign(n)}
	case *ast.VarsBlock:
		var out []PreviewStmt
		for _, a := range n.Assigns {
			out = append(out, x.previewAssign(a))
		}
		return out
	case *ast.CmdBlock:
		ps := PreviewStmt{At: pos, Kind: "command", Effect: builtin.Changes.String()}
		ps.Command, _, ps.Unknown = x.previewValue(n.Command, true)
		ps.Command = unquote(ps.Command)
		ps.Known = len(ps.Unknown) == 0
		return []PreviewStmt{ps}
	case *ast.Call:
		return []PreviewStmt{x.previewCall(owner, n)}
	case *ast.If:
		return []PreviewStmt{x.previewIf(owner, n)}
	case *ast.For:
		ps := PreviewStmt{At: pos, Kind: "for", Name: n.Var.Root(), Value: n.In.Source()}
		if list, ok := x.vars.Lookup(n.In.Name); ok && !x.isUnknown(n.In) {
			ps.Known = true
			switch list.Kind() {
			case value.KList:
				ps.Note = fmt.Sprintf("%d items", len(list.ListVal()))
			case value.KObject:
				ps.Note = fmt.Sprintf("%d items", len(list.ObjVal().Values()))
			}
		} else {
			ps.Unknown = []string{n.In.Root()}
		}
		// The body once, for any item: the loop variable is known only
		// at run time.
		x.forget(n.Var.Root())
		ps.Body = x.previewStmts(owner, n.Body.Stmts)
		return []PreviewStmt{ps}
	}
	return []PreviewStmt{{At: pos, Kind: "statement", Note: fmt.Sprintf("%T", s)}}
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

func (x *exec) previewAssign(a *ast.Assign) PreviewStmt {
	ps := PreviewStmt{At: at(a.Span()), Kind: "assign", Name: a.Key.Name}
	disp, _, unknown := x.previewValue(a.Value, false)
	ps.Value, ps.Known, ps.Unknown = disp, len(unknown) == 0, unknown
	if ps.Known {
		// The property's value, as the run computes it (strings inside
		// lists and objects kept as written).
		v, err := x.eval(a.Value)
		if err == nil {
			x.vars.Set(a.Key.Name, v)
			x.plan.known(a.Key.Name)
			return ps
		}
	}
	x.forget(a.Key.Name)
	return ps
}

// previewIf keeps the branch a known condition takes, or every branch.
func (x *exec) previewIf(owner *check.Module, n *ast.If) PreviewStmt {
	ps := PreviewStmt{At: at(n.Span()), Kind: "if", Cond: x.source(n.Cond)}
	type branch struct {
		when  string
		cond  ast.Cond
		stmts []ast.Stmt
	}
	bs := []branch{{"then", n.Cond, n.Then.Stmts}}
	for _, ei := range n.ElseIfs {
		bs = append(bs, branch{"else if " + x.source(ei.Cond), ei.Cond, ei.Then.Stmts})
	}
	if n.Else != nil {
		bs = append(bs, branch{"else", nil, n.Else.Stmts})
	}
	ps.Known = true
	// Each branch starts from the variables before the if; after it, a
	// variable that any branch changed is unknown unless the branch taken
	// is known.
	before := x.vars.Clone()
	var changed []string
	for i, b := range bs {
		taken := b.cond == nil // else: taken when nothing before may be
		if b.cond != nil {
			if u := x.unknownRefs(b.cond); len(u) == 0 {
				if ok, err := x.cond(b.cond); err == nil {
					if i == 0 {
						ps.CondValue = &ok
					}
					if !ok {
						continue // this branch is known not to run
					}
					taken = true
				}
			} else {
				ps.Unknown = append(ps.Unknown, u...)
			}
		}
		if taken && len(ps.Branches) == 0 {
			// The only branch that runs: its changes are the if's.
			x.vars = before.Clone()
			ps.Branches = append(ps.Branches, PreviewBranch{When: b.when, Statements: x.previewStmts(owner, b.stmts)})
			return ps
		}
		if taken {
			x.vars = before.Clone()
			ps.Branches = append(ps.Branches, PreviewBranch{When: b.when, Statements: x.previewStmts(owner, b.stmts)})
			changed = append(changed, x.changedSince(before)...)
			break
		}
		ps.Known = false
		x.vars = before.Clone()
		ps.Branches = append(ps.Branches, PreviewBranch{When: b.when, Statements: x.previewStmts(owner, b.stmts)})
		changed = append(changed, x.changedSince(before)...)
	}
	x.vars = before
	for _, n := range changed {
		x.forget(n)
	}
	return ps
}

// changedSince lists the variables whose value differs from before.
func (x *exec) changedSince(before *Scope) []string {
	var out []string
	for _, n := range x.vars.Names() {
		v, _ := x.vars.Get(n)
		if old, ok := before.Get(n); !ok || !value.Equal(old, v) {
			out = append(out, n)
		}
	}
	for _, n := range before.Names() {
		if _, ok := x.vars.Get(n); !ok {
			out = append(out, n)
		}
	}
	return out
}

// previewCall previews a built-in, fn or activity call.
func (x *exec) previewCall(owner *check.Module, call *ast.Call) PreviewStmt {
	ps := PreviewStmt{At: at(call.Span()), Kind: "call", Name: call.Target.String(), Known: true}
	t := x.r.prog.ResolveCall(owner, call)
	if t == nil {
		if b, ok := x.r.prog.Registry.Lookup(call.Target.String()); ok {
			t = &check.CallTarget{Builtin: b}
		} else {
			ps.Note = "cannot resolve the call"
			ps.Known = false
			return ps
		}
	}
	switch {
	case t.Builtin != nil:
		x.previewBuiltin(t.Builtin, call, &ps)
	case t.Fn != nil:
		ps.Kind, ps.Name = "fn", t.Fn.Host.Name+"."+t.Fn.Name
		x.previewArgs(call, func(*ast.Arg) bool { return false }, &ps)
		if t.Fn.Decl.Body != nil {
			x.previewBody(t.Fn.Decl.Params, call, nil, &ps, func() {
				ps.Body = x.previewStmts(t.Fn.Host, t.Fn.Decl.Body.Stmts)
			})
		}
	default:
		a := t.Activity
		ps.Kind, ps.Name, ps.Effect = "activity", a.Host.Name+"."+a.Name, builtin.Changes.String()
		x.previewArgs(call, func(*ast.Arg) bool { return false }, &ps)
		x.previewBody(a.Decl.Params, call, map[string]bool{"executer": true}, &ps, func() {
			for _, p := range a.Decl.Params {
				if p.Name.Name != "executer" {
					continue
				}
				e := p.Default
				for _, arg := range call.Args {
					if arg.Key != nil && arg.Key.Name == "executer" {
						e = arg.Value
					}
				}
				if e != nil {
					cmd, _, u := x.previewValue(e, true)
					ps.Command = unquote(cmd)
					ps.Unknown = append(ps.Unknown, u...)
					ps.Known = ps.Known && len(u) == 0
				}
			}
		})
	}
	return ps
}

// previewArgs shows a call's arguments; raw tells the command-text ones.
func (x *exec) previewArgs(call *ast.Call, raw func(*ast.Arg) bool, ps *PreviewStmt) {
	for _, a := range call.Args {
		name := "_"
		if a.Key != nil {
			name = a.Key.Name
		}
		disp, _, u := x.previewValue(a.Value, false)
		if raw(a) {
			// Command text reaches the shell with its references as
			// written (spec I.4); Command shows the values.
			disp = x.source(a.Value)
		}
		ps.Args = append(ps.Args, PreviewArg{Name: name, Value: disp, Known: len(u) == 0})
		if len(u) > 0 {
			ps.Known = false
			ps.Unknown = append(ps.Unknown, u...)
		}
		if raw(a) {
			cmd, _, _ := x.previewValue(a.Value, true)
			ps.Command = unquote(cmd)
		}
	}
}

// previewBody previews an fn's or activity's body on a copy of the
// variables with its parameters bound where known (§4.7: nothing the
// body sets survives the call).
func (x *exec) previewBody(params []*ast.Param, call *ast.Call, raw map[string]bool, ps *PreviewStmt, body func()) {
	saved := x.vars
	savedUnknown := x.plan.unknown
	x.plan.unknown = map[string]bool{}
	for k := range savedUnknown {
		x.plan.unknown[k] = true
	}
	defer func() { x.vars, x.plan.unknown = saved, savedUnknown }()
	scope := x.vars.Clone()
	given, unnamed := callArgs(call)
	for _, p := range params {
		e, ok := given[p.Name.Name]
		if !ok && p.Star && unnamed != nil {
			e, ok = unnamed, true
		}
		if !ok {
			e = p.Default
		}
		if raw[p.Name.Name] || e == nil {
			continue
		}
		if len(x.unknownRefs(e)) > 0 {
			scope.Delete(p.Name.Name)
			x.plan.unknown[value.Fold(p.Name.Name)] = true
			continue
		}
		if v, err := x.eval(e); err == nil {
			scope.Set(p.Name.Name, v)
			delete(x.plan.unknown, value.Fold(p.Name.Name))
		}
	}
	if len(x.stack) >= maxPreviewDepth*4 {
		ps.Note = "calls nested too deep to preview"
		return
	}
	x.stack = append(x.stack, Frame{Name: ps.Name, Call: call.Span()})
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	x.vars = scope
	body()
}

// previewBuiltin fills in a built-in call: arguments, the command it
// runs, the variables it sets (unknown from here on), the expansion of
// a Runs built-in and, under Diff, what it would change.
func (x *exec) previewBuiltin(b *builtin.Builtin, call *ast.Call, ps *PreviewStmt) {
	eff := b.Effect
	if eff == builtin.Undeclared {
		eff = builtin.Changes
	}
	ps.Effect = eff.String()
	param := func(a *ast.Arg) *builtin.Param {
		if a.Key == nil {
			return b.PositionalParam()
		}
		return b.Param(a.Key.Name)
	}
	x.previewArgs(call, func(a *ast.Arg) bool { p := param(a); return p != nil && p.Raw }, ps)
	for i := range ps.Args {
		if ps.Args[i].Name == "_" {
			if p := b.PositionalParam(); p != nil {
				ps.Args[i].Name = p.Name
			}
		}
	}
	var vals map[string]value.Value
	if ps.Known {
		var err error
		if vals, err = x.builtinArgs(b, call); err != nil {
			ps.Known = false
			ps.Note = x.mask(firstLine(err.Error()))
		}
	}
	c := &callCtx{x: x, site: call.Span(), name: b.Name}
	if vals != nil {
		args := builtin.NewArgs(b, vals)
		if eff == builtin.Runs {
			x.previewExpand(b, c, args, ps)
		}
		if x.plan.opt.Diff && b.Diff != nil {
			ch, err := b.Diff(c, args)
			if err != nil {
				ps.Note = "diff: " + x.mask(firstLine(err.Error()))
			}
			ps.Changes = maskChanges(x, ch)
		}
	} else if eff == builtin.Runs {
		ps.Note = "what it runs depends on values known only at run time"
	} else if x.plan.opt.Diff && b.Diff != nil && ps.Note == "" {
		ps.Note = "diff: its arguments are known only at run time"
	}
	// The variables the call sets are known only after it ran.
	if b.SetsVars != nil {
		consts := map[string]string{}
		for _, a := range call.Args {
			p := param(a)
			if p == nil {
				continue
			}
			consts[p.Name] = "*"
			if v, ok := vals[p.Name]; ok && vals != nil {
				consts[p.Name] = v.String()
			}
		}
		for _, n := range b.SetsVars(consts) {
			if n == "*" || strings.Contains(n, "${") {
				x.plan.open = true
				continue
			}
			x.forget(n)
		}
	}
}

// maskChanges masks the values of changes.
func maskChanges(x *exec, ch []builtin.Change) []builtin.Change {
	for i := range ch {
		ch[i].Object = x.mask(ch[i].Object)
		for j := range ch[i].Fields {
			f := &ch[i].Fields[j]
			f.Before, f.After = x.mask(f.Before), x.mask(f.After)
		}
	}
	return ch
}

// previewExpand expands a Runs built-in call with its Expander, then
// previews each nested run's flow with the variables it would start with.
func (x *exec) previewExpand(b *builtin.Builtin, c builtin.Ctx, a builtin.Args, ps *PreviewStmt) {
	exp := x.plan.opt.Expanders[b.Name]
	if exp == nil {
		ps.Note = "what it runs is not known before the run"
		return
	}
	if x.plan.depth >= maxPreviewDepth {
		ps.Note = "nested too deep to preview"
		return
	}
	e, err := exp(c, a)
	if err != nil {
		ps.Note = x.mask(firstLine(err.Error()))
		return
	}
	pe := &PreviewExpansion{Kind: e.Kind, Name: e.Name}
	for _, g := range e.Groups {
		pg := PreviewGroup{Priority: g.Priority}
		for _, u := range g.Units {
			pm := PreviewModule{Name: u.Name, Depends: u.Depends, Flow: u.Flow, File: displayPath(u.File), Note: u.Note}
			switch {
			case !u.Enabled:
				pm.Status = "disabled"
			case u.Program == nil:
				pm.Status = "unknown"
			default:
				pm.Status = "runs"
				if m := u.Program.Module("main"); m == nil || m.Flow(u.Flow) == nil {
					pm.Status = "n/a"
					pm.Note = "no " + u.Flow + " flow"
					break
				}
				pm.Plan = x.previewNested(u)
			}
			pg.Modules = append(pg.Modules, pm)
		}
		pe.Groups = append(pe.Groups, pg)
	}
	ps.Expansion = pe
}

// previewNested previews a nested run: the unit's flow on a copy of the
// variables, as runNested starts it.
func (x *exec) previewNested(u ExpansionUnit) *Preview {
	opt := x.r.opt
	opt.Dir = u.Dir
	boot := x.vars.Clone()
	for _, k := range u.Unset {
		boot.Delete(k)
	}
	for k, v := range u.Vars {
		boot.Set(k, v)
	}
	pv := *x.plan
	pv.depth++
	pv.unknown = map[string]bool{}
	for k := range x.plan.unknown {
		pv.unknown[k] = true
	}
	for k := range u.Vars {
		delete(pv.unknown, value.Fold(k))
	}
	child := New(u.Program, opt)
	ps, err := child.preview(x.ctx, boot, nil, []string{u.Flow}, &pv)
	if err != nil || len(ps) == 0 {
		return &Preview{Flow: u.Flow, Envs: []string{}, DryRun: opt.DryRun, Steps: []PreviewStep{{Kind: "flow", Name: u.Flow, Label: "top",
			Statements: []PreviewStmt{{Kind: "error", Note: x.mask(fmt.Sprint(err))}}}}}
	}
	return ps[0]
}

// EffectStep is a statement that may change something outside gxl and
// will really run (no dry-run substitute replaced it or its flow).
type EffectStep struct {
	At diag.Pos
	// Name is the built-in, "command" or the activity.
	Name string
	// Where is the chain of flows (and modules) that reaches it.
	Where []string
	// Maybe says it runs only if a condition known at run time holds.
	Maybe bool
	// Note says why it counts though it is not a change itself (a Runs
	// built-in whose nested runs cannot be known).
	Note string
}

// Effects lists the statements of previews that may change something
// outside gxl: changes built-ins, commands, activities, and Runs
// built-ins whose nested runs could not be expanded.
func Effects(ps []*Preview) []EffectStep {
	var out []EffectStep
	for _, p := range ps {
		effectsOf(p, nil, &out)
	}
	return out
}

func effectsOf(p *Preview, where []string, out *[]EffectStep) {
	for _, st := range p.Steps {
		w := append(append([]string(nil), where...), st.Name)
		stmtEffects(st.Statements, w, false, out)
	}
}

func stmtEffects(ss []PreviewStmt, where []string, maybe bool, out *[]EffectStep) {
	for _, s := range ss {
		at := parsePos(s.At)
		switch {
		case s.Effect == builtin.Changes.String():
			*out = append(*out, EffectStep{At: at, Name: effectName(s), Where: where, Maybe: maybe})
		case s.Effect == builtin.Runs.String() && s.Expansion == nil:
			note := s.Note
			if note == "" {
				note = "what it runs is not known before the run"
			}
			*out = append(*out, EffectStep{At: at, Name: s.Name, Where: where, Maybe: maybe, Note: note})
		case s.Expansion != nil:
			for _, g := range s.Expansion.Groups {
				for _, m := range g.Modules {
					mw := append(append([]string(nil), where...), "module "+m.Name)
					switch {
					case m.Plan != nil:
						for _, st := range m.Plan.Steps {
							stmtEffects(st.Statements, append(append([]string(nil), mw...), st.Name), maybe, out)
						}
					case m.Status == "unknown":
						*out = append(*out, EffectStep{At: at, Name: s.Name, Where: mw, Maybe: maybe, Note: "module " + m.Name + ": " + m.Note})
					}
				}
			}
		}
		for _, b := range s.Branches {
			stmtEffects(b.Statements, where, maybe || s.CondValue == nil, out)
		}
		if len(s.Body) > 0 {
			bw := append(append([]string(nil), where...), s.Kind+" "+s.Name)
			stmtEffects(s.Body, bw, maybe || (s.Kind == "for" && !s.Known), out)
		}
	}
}

func effectName(s PreviewStmt) string {
	switch s.Kind {
	case "command":
		return "command"
	case "activity":
		return "activity " + s.Name
	}
	return s.Name
}

// parsePos reads file:line:col back.
func parsePos(s string) diag.Pos {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return diag.Pos{File: s}
	}
	j := strings.LastIndexByte(s[:i], ':')
	if j < 0 {
		return diag.Pos{File: s}
	}
	line, _ := strconv.Atoi(s[j+1 : i])
	col, _ := strconv.Atoi(s[i+1:])
	return diag.Pos{File: s[:j], Line: line, Col: col}
}
