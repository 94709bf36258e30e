package check

import (
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"strings"
	"time"

	exprtypes "github.com/expr-lang/expr/types"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
)

type checker struct {
	prog  *Program
	opt   Options
	diags diag.List

	byName   map[string]*Module
	declFile map[*ast.Mod]*ast.File
	state    map[*Module]int // inheritance resolution: 0 new, 1 in progress, 2 done
	used     map[*Env]bool
	varTypes map[string]types.Type // static types of variables by folded name
	vars     *varState
	// condCache holds the static compile result of each condition shape.
	condCache map[string]error
	// The condition translator, its type function and key buffer, reused.
	ctr        translator
	condTypeOf func(*ast.VarRef) exprtypes.Type
	condKey    []byte
	// builtinTargets shares one (read-only) CallTarget per built-in.
	builtinTargets map[*builtin.Builtin]*CallTarget
}

func (c *checker) errorf(sp diag.Span, code, format string, args ...any) *diag.Diagnostic {
	c.diags.Add(diag.Errorf(sp, code, format, args...))
	return &c.diags[len(c.diags)-1]
}

func (c *checker) warnf(sp diag.Span, code, format string, args ...any) *diag.Diagnostic {
	c.diags.Add(diag.Warnf(sp, code, format, args...))
	return &c.diags[len(c.diags)-1]
}

func (c *checker) run(mods []*ast.Mod) {
	c.byName = map[string]*Module{}
	c.declFile = map[*ast.Mod]*ast.File{}
	c.state = map[*Module]int{}
	c.used = map[*Env]bool{}
	c.varTypes = map[string]types.Type{}
	c.vars = &varState{all: newDefs(), global: newDefs()}
	for _, f := range c.prog.Files {
		for _, m := range f.Mods() {
			c.declFile[m] = f
		}
	}
	// Modules in splice order; a later duplicate replaces the earlier one
	// but keeps its place (§3.2).
	for _, m := range mods {
		if prev, ok := c.byName[m.Name.Name]; ok {
			if c.declFile[prev.Decl] == c.declFile[m] {
				c.errorf(m.Name.Span(), "duplicate", "module `%s` is defined twice", m.Name.Name).Related =
					[]diag.Related{{Span: prev.Decl.Name.Span(), Message: "first defined here"}}
			} else {
				c.warnf(m.Name.Span(), "duplicate", "module `%s` replaces an earlier definition", m.Name.Name).Related =
					[]diag.Related{{Span: prev.Decl.Name.Span(), Message: "earlier definition"}}
			}
			*prev = *c.newModule(m)
			continue
		}
		mod := c.newModule(m)
		c.byName[m.Name.Name] = mod
		c.prog.Mods = append(c.prog.Mods, mod)
	}
	for _, m := range c.prog.Mods {
		c.inherit(m, nil)
	}
	for _, m := range c.prog.Mods {
		c.linkModule(m)
	}
	c.checkPipelineCycles()
	c.checkVars()
	for _, m := range c.prog.Mods {
		c.checkBodies(m)
	}
	for _, m := range c.prog.Mods {
		for _, e := range m.Envs {
			if e.Host == m && !c.used[e] && !strings.HasPrefix(e.Name, "_") && m.Name != "env" && m.Name != "envs" && m.Name != "main" {
				c.warnf(e.Decl.Name.Span(), "unused-env", "env `%s` is never used", e.Name).Hint =
					"envs are selected from modules main, env and envs, or as mixins; select it as -e " + m.Name + "." + e.Name
			}
		}
	}
}

func (c *checker) newModule(m *ast.Mod) *Module {
	mod := &Module{Name: m.Name.Name, Decl: m, File: c.declFile[m]}
	type dupKey struct{ kind, name string }
	// Sized for the items: a module of 10,000 flows grew both tables
	// (these and the flows by name) a dozen times over.
	seen := make(map[dupKey]diag.Span, len(m.Items))
	mod.flowByName = make(map[string]*Flow, len(m.Items))
	dup := func(kind, name string, sp diag.Span) bool {
		key := dupKey{kind, name}
		if first, ok := seen[key]; ok {
			c.errorf(sp, "duplicate", "%s `%s` is defined twice in module `%s`", kind, name, m.Name.Name).Related =
				[]diag.Related{{Span: first, Message: "first defined here"}}
			return true
		}
		seen[key] = sp
		return false
	}
	for _, it := range m.Items {
		switch n := it.(type) {
		case *ast.Assign:
			if dup("property", folded(n.Key.Name), n.Key.Span()) {
				continue
			}
			mod.Props = append(mod.Props, n)
		case *ast.Env:
			if dup("env", n.Name.Name, n.Name.Span()) {
				continue
			}
			mod.Envs = append(mod.Envs, &Env{Name: n.Name.Name, Decl: n, Host: mod})
		case *ast.Flow:
			if dup("flow", n.Name.Name, n.Name.Span()) {
				continue
			}
			mod.addFlow(&Flow{Name: n.Name.Name, Decl: n, Host: mod, Owner: mod})
		case *ast.Fn:
			if dup("fn", n.Name.Name, n.Name.Span()) {
				continue
			}
			mod.Fns = append(mod.Fns, &Fn{Name: n.Name.Name, Decl: n, Host: mod})
		case *ast.Activity:
			if dup("activity", n.Name.Name, n.Name.Span()) {
				continue
			}
			mod.Activities = append(mod.Activities, &Activity{Name: n.Name.Name, Decl: n, Host: mod})
		}
	}
	for _, a := range m.Annotations {
		if a.Name.Name != "gflow" {
			c.warnf(a.Name.Span(), "unknown-annotation", "annotation `%s` has no effect on a module", a.Name.Name)
		}
	}
	return mod
}

func (c *checker) moduleNames() []string {
	var out []string
	for _, m := range c.prog.Mods {
		out = append(out, m.Name)
	}
	return out
}

// inherit copies what m's parents have and m lacks (§4.2). Parents are
// resolved first whatever their declaration order (gxl fixes the
// original's order dependence).
func (c *checker) inherit(m *Module, stack []*Module) {
	switch c.state[m] {
	case 2:
		return
	case 1:
		var names []string
		start := 0
		for i, s := range stack {
			if s == m {
				start = i
			}
		}
		for _, s := range stack[start:] {
			names = append(names, s.Name)
		}
		names = append(names, m.Name)
		c.errorf(m.Decl.Name.Span(), "cycle", "module inheritance cycle: %s", strings.Join(names, " → ")).Hint =
			"a module cannot inherit from itself, directly or through its parents"
		return
	}
	c.state[m] = 1
	stack = append(stack, m)
	for _, p := range m.Decl.Parents {
		name := p.String()
		parent := c.byName[name]
		if parent == nil {
			d := c.errorf(p.Span(), "unknown-mod", "unknown module `%s` in the parents of `%s`", name, m.Name)
			d.Suggest(p.Span(), name, c.moduleNames())
			continue
		}
		if parent == m {
			c.errorf(p.Span(), "cycle", "module `%s` inherits from itself", m.Name)
			continue
		}
		c.inherit(parent, stack)
		if c.state[parent] != 2 {
			continue
		}
		m.Parents = append(m.Parents, parent)
		have := map[string]bool{}
		for _, pr := range m.Props {
			have[strings.ToLower(pr.Key.Name)] = true
		}
		for _, pr := range parent.Props {
			if !have[strings.ToLower(pr.Key.Name)] {
				m.Props = append(m.Props, pr)
				have[strings.ToLower(pr.Key.Name)] = true
			}
		}
		for _, e := range parent.Envs {
			if m.Env(e.Name) == nil {
				m.Envs = append(m.Envs, e)
			}
		}
		for _, f := range parent.Flows {
			if m.Flow(f.Name) == nil {
				m.addFlow(&Flow{Name: f.Name, Decl: f.Decl, Host: f.Host, Owner: m})
			}
		}
		for _, f := range parent.Fns {
			if m.Fn(f.Name) == nil {
				m.Fns = append(m.Fns, f)
			}
		}
		for _, a := range parent.Activities {
			if m.Activity(a.Name) == nil {
				m.Activities = append(m.Activities, a)
			}
		}
	}
	c.state[m] = 2
}

// linkModule resolves flow references and annotations in m's table, and
// env mixins of m's own envs.
func (c *checker) linkModule(m *Module) {
	for _, f := range m.Flows {
		f.Pre = c.flowRefs(m, f, f.Decl.Pre)
		f.Post = c.flowRefs(m, f, f.Decl.Post)
		c.flowAnnotations(m, f)
		switch f.Ann.AutoLoad {
		case "entry":
			m.Entries = append(m.Entries, f)
		case "exit":
			m.Exits = append(m.Exits, f)
		}
	}
	for _, e := range m.Envs {
		if e.Host != m {
			continue
		}
		for _, r := range e.Decl.Mixins {
			if r.Var != nil {
				e.Mixins = append(e.Mixins, &EnvMixin{OSVar: r.Var})
				continue
			}
			target := c.lookupEnv(m, r.Path)
			if target == nil {
				continue
			}
			if target == e {
				c.errorf(r.Span(), "cycle", "env `%s` mixes in itself", e.Name)
				continue
			}
			c.used[target] = true
			e.Mixins = append(e.Mixins, &EnvMixin{Env: target})
		}
		for _, a := range e.Decl.Annotations {
			switch a.Name.Name {
			case "usage":
				e.Usage = usageOf(a)
			default:
				c.warnf(a.Name.Span(), "unknown-annotation", "annotation `%s` has no effect on an env", a.Name.Name).Hint = "envs take #[usage(desp=\"...\", color=\"...\")]"
			}
		}
	}
	c.checkEnvCycles(m)
}

func (c *checker) lookupEnv(m *Module, p *ast.Path) *Env {
	name := p.String()
	mod, item := m, name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		mod = c.byName[name[:i]]
		item = name[i+1:]
		if mod == nil {
			c.errorf(p.Span(), "unknown-mod", "unknown module `%s` in env reference `%s`", name[:i], name).Suggest(p.Span().Slice(0, i), name[:i], c.moduleNames())
			return nil
		}
	}
	if e := mod.Env(item); e != nil {
		return e
	}
	var names []string
	for _, e := range mod.Envs {
		names = append(names, e.Name)
	}
	c.errorf(p.Span(), "unknown-env", "unknown env `%s` in module `%s`", item, mod.Name).Suggest(p.Span().Slice(len(name)-len(item), len(name)), item, names)
	return nil
}

func (c *checker) checkEnvCycles(m *Module) {
	for _, e := range m.Envs {
		if e.Host != m {
			continue
		}
		var visit func(x *Env, path []string) bool
		visit = func(x *Env, path []string) bool {
			for _, mx := range x.Mixins {
				if mx.Env == nil {
					continue
				}
				if mx.Env == e {
					c.errorf(e.Decl.Name.Span(), "cycle", "env mixin cycle: %s", strings.Join(append(path, mx.Env.Host.Name+"."+mx.Env.Name), " → "))
					return true
				}
				if len(path) > 64 {
					return false
				}
				if visit(mx.Env, append(path, mx.Env.Host.Name+"."+mx.Env.Name)) {
					return true
				}
			}
			return false
		}
		visit(e, []string{m.Name + "." + e.Name})
	}
}

// Annotations are the names of the annotations gxl reads.
var Annotations = []string{"auto_load", "usage", "task", "transaction", "undo", "dryrun", "retry", "timeout", "every", "cron", "window", "on_failure"}

// resolveFlow finds a flow reference `x` (in owner's table) or `m.x`.
func (c *checker) resolveFlow(owner *Module, p *ast.Path, what string) *Flow {
	name := p.String()
	mod, item := owner, name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		mod = c.byName[name[:i]]
		item = name[i+1:]
		if mod == nil {
			c.errorf(p.Span(), "unknown-mod", "unknown module `%s` in %s `%s`", name[:i], what, name).Suggest(p.Span().Slice(0, i), name[:i], c.moduleNames())
			return nil
		}
	}
	if f := mod.Flow(item); f != nil {
		return f
	}
	var names []string
	for _, f := range mod.Flows {
		names = append(names, f.Name)
	}
	d := c.errorf(p.Span(), "unknown-flow", "unknown flow `%s` in %s", name, what)
	if mod != owner {
		d.Summary = "unknown flow `" + item + "` in module `" + mod.Name + "` (" + what + ")"
	}
	d.Suggest(p.Span().Slice(len(name)-len(item), len(name)), item, names)
	return nil
}

func (c *checker) flowRefs(m *Module, f *Flow, refs []*ast.Ref) []*Flow {
	var out []*Flow
	for _, r := range refs {
		if r.Var != nil {
			c.errorf(r.Span(), "syntax", "flow references cannot be ${...} variables").Hint = "name the flow: `flow pre | @" + f.Name + "`"
			continue
		}
		// Errors in inherited flows are reported once, in the host.
		if f.Owner != f.Host {
			if t := c.quietResolve(m, r.Path); t != nil {
				out = append(out, t)
			}
			continue
		}
		if t := c.resolveFlow(m, r.Path, "the pipeline of `"+f.Name+"`"); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// quietResolve resolves without reporting (used for inherited copies).
func (c *checker) quietResolve(owner *Module, p *ast.Path) *Flow {
	name := p.String()
	mod, item := owner, name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		if mod = c.byName[name[:i]]; mod == nil {
			return nil
		}
		item = name[i+1:]
	}
	return mod.Flow(item)
}

func usageOf(a *ast.Annotation) *Usage {
	u := &Usage{}
	for i, arg := range a.Args {
		v := annText(arg.Value)
		key := ""
		if arg.Key != nil {
			key = arg.Key.Name
		} else if i == 0 {
			key = "desp"
		}
		switch key {
		case "desp", "desc":
			u.Desp = v
		case "color":
			u.Color = v
		}
	}
	return u
}

// annText returns the text of an annotation argument.
func annText(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StringLit:
		return x.ConstValue()
	case *ast.RawStringLit:
		return x.Value
	case *ast.Word:
		return x.Text
	case *ast.NumberLit:
		return x.Text
	case *ast.BoolLit:
		return x.Text
	}
	return ""
}

var menuColors = []string{"red", "green", "blue", "yellow", "cyan", "magenta", "black", "white", "purple"}

func (c *checker) flowAnnotations(m *Module, f *Flow) {
	report := f.Owner == f.Host
	errf := func(sp diag.Span, code, format string, args ...any) *diag.Diagnostic {
		if !report {
			return &diag.Diagnostic{}
		}
		return c.errorf(sp, code, format, args...)
	}
	for _, a := range f.Decl.Annotations {
		name := a.Name.Name
		if report {
			c.annotationArgs(a)
		}
		arg := func(key string, pos int) *ast.AnnArg {
			n := 0
			for _, x := range a.Args {
				if x.Key != nil && x.Key.Name == key {
					return x
				}
				if x.Key == nil {
					if n == pos {
						return x
					}
					n++
				}
			}
			return nil
		}
		target := func() *Flow {
			x := arg("", 0)
			if x == nil {
				errf(a.Span(), "annotation", "#[%s] needs a flow name: #[%s(flow_name)]", name, name)
				return nil
			}
			t := annText(x.Value)
			p := &ast.Path{Sp: ast.Sp{S: x.Span()}}
			for _, part := range strings.Split(t, ".") {
				p.Parts = append(p.Parts, &ast.Ident{Sp: ast.Sp{S: x.Span()}, Name: part})
			}
			if !report {
				return c.quietResolve(m, p)
			}
			return c.resolveFlow(m, p, "#["+name+"(...)]")
		}
		switch name {
		case "auto_load":
			v := ""
			if x := arg("", 0); x != nil {
				v = annText(x.Value)
			}
			if v != "entry" && v != "exit" {
				errf(a.Span(), "annotation", "#[auto_load] takes entry or exit, not %q", v).Hint = "write #[auto_load(entry)] or #[auto_load(exit)]"
				continue
			}
			f.Ann.AutoLoad = v
		case "usage":
			f.Ann.Usage = usageOf(a)
			if f.Ann.Usage.Color != "" && !contains(menuColors, f.Ann.Usage.Color) && report {
				c.warnf(a.Span(), "annotation", "unknown menu colour %q", f.Ann.Usage.Color).Hint = "colours: " + strings.Join(menuColors, " ")
			}
		case "task":
			if x := arg("name", 0); x != nil {
				switch v := x.Value.(type) {
				case *ast.StringLit:
					f.Ann.Task = v
				default:
					f.Ann.Task = &ast.StringLit{Sp: ast.Sp{S: x.Span()}, Raw: annText(v), Parts: []ast.StrPart{{Text: annText(v)}}}
				}
			}
		case "transaction":
			f.Ann.Transaction = true
		case "undo":
			f.Ann.Undo = target()
		case "dryrun":
			f.Ann.DryRun = target()
		case "retry":
			// The vocabulary and the rules of the retrying built-ins:
			// builtin.RetryParams, each value checked by its Param.Check.
			r := &Retry{Attempts: 3, Delay: time.Second, Backoff: 1}
			seen := map[string]bool{}
			for i, x := range a.Args {
				key := ""
				if x.Key != nil {
					key = x.Key.Name
				} else if i == 0 {
					key = "attempts"
				} else {
					errf(x.Span(), "annotation", "#[retry] takes one unnamed argument, attempts").Hint = "name the others: #[retry(3, delay=\"1s\")]"
					continue
				}
				p := retryParam(key)
				if p == nil {
					errf(x.Span(), "annotation", "unknown retry argument %q", key).Hint = "write #[retry(attempts=3, delay=\"1s\", backoff=2.0, max_delay=\"30s\")]"
					continue
				}
				if seen[key] {
					errf(x.Span(), "annotation", "retry argument %q is given twice", key).Hint = "keep one"
					continue
				}
				seen[key] = true
				v := annText(x.Value)
				cv, err := builtin.Convert(p.Type, value.Str(v))
				if err != nil {
					errf(x.Span(), "annotation", "#[retry] %s must be %s, not %q", key, article(p.Type), v).Hint = typeHint(p.Type)
					continue
				}
				if err := p.Check(cv); err != nil {
					errf(x.Span(), "annotation", "#[retry] %v", err)
					continue
				}
				switch key {
				case "attempts":
					r.Attempts = int(cv.IntVal())
				case "delay":
					r.Delay, _ = builtin.ParseDuration(cv)
				case "backoff":
					r.Backoff = cv.FloatVal()
				case "max_delay":
					r.MaxDelay, _ = builtin.ParseDuration(cv)
				}
			}
			f.Ann.Retry = r
		case "timeout":
			x := arg("", 0)
			if x == nil {
				errf(a.Span(), "annotation", "#[timeout] needs a duration").Hint = "write #[timeout(\"30s\")]"
				continue
			}
			d, err := builtin.ParseDuration(value.Str(annText(x.Value)))
			if err != nil || d <= 0 {
				errf(x.Span(), "annotation", "invalid timeout %q", annText(x.Value)).Hint = "write #[timeout(\"30s\")]"
				continue
			}
			f.Ann.Timeout = d
		case "on_failure":
			if t := target(); t != nil {
				if t.Decl == f.Decl && t.Owner == f.Owner {
					errf(a.Span(), "annotation", "`%s` cannot be its own #[on_failure] flow", f.Name).Hint = "name a flow that reports or repairs the failure"
					continue
				}
				f.Ann.OnFailure = t
			}
		case "author", "gflow":
		default:
			if c.triggerAnnotation(f, a, arg, errf) {
				continue
			}
			if report {
				c.warnf(a.Name.Span(), "unknown-annotation", "unknown annotation `%s` is ignored", name).
					Suggest(a.Name.Span(), name, Annotations)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkPipelineCycles reports flows whose pipelines (pre/post, undo and
// dry-run substitutes) lead back to themselves.
func (c *checker) checkPipelineCycles() {
	state := map[*Flow]int{}
	var stack []*Flow
	var visit func(f *Flow)
	visit = func(f *Flow) {
		if state[f] == 2 {
			return
		}
		if state[f] == 1 {
			var names []string
			start := 0
			for i, s := range stack {
				if s.Decl == f.Decl && s.Owner == f.Owner {
					start = i
				}
			}
			for _, s := range stack[start:] {
				names = append(names, s.QualifiedName())
			}
			names = append(names, f.QualifiedName())
			c.errorf(f.Decl.Name.Span(), "cycle", "flow pipeline cycle: %s", strings.Join(names, " → ")).Hint =
				"a flow cannot run itself through its pre or post flows"
			return
		}
		state[f] = 1
		stack = append(stack, f)
		for _, x := range append(append([]*Flow{}, f.Pre...), f.Post...) {
			visit(x)
		}
		stack = stack[:len(stack)-1]
		state[f] = 2
	}
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			visit(f)
		}
	}
}

// retryParams are the parameters of #[retry]: those of every retrying
// built-in.
var retryParams = builtin.RetryParams(3, "1s", "the flow")

// retryParam is the #[retry] parameter named key, or nil.
func retryParam(key string) *builtin.Param {
	for i := range retryParams {
		if retryParams[i].Name == key {
			return &retryParams[i]
		}
	}
	return nil
}

// annSpec is what an annotation's arguments may be: keys, and how many
// arguments it takes by position. strict marks gxl's own annotations,
// where an argument too many is an error; the original's ignored one (a
// warning: programs written for it keep checking).
type annSpec struct {
	keys       []string
	positional int
	strict     bool
}

// annArgs are the annotations with a fixed set of arguments (#[retry],
// #[every], #[cron] and #[window] check theirs where they are read).
var annArgs = map[string]annSpec{
	"auto_load":   {positional: 1},
	"usage":       {keys: []string{"desp", "desc", "color"}, positional: 1},
	"task":        {keys: []string{"name"}, positional: 1},
	"transaction": {},
	"undo":        {positional: 1},
	"dryrun":      {positional: 1},
	"timeout":     {positional: 1, strict: true},
	"on_failure":  {positional: 1, strict: true},
}

// annotationArgs reports an argument an annotation does not take, at the
// argument.
func (c *checker) annotationArgs(a *ast.Annotation) {
	spec, ok := annArgs[a.Name.Name]
	if !ok {
		return
	}
	n := 0
	for _, x := range a.Args {
		var msg string
		if x.Key == nil {
			if n++; n <= spec.positional {
				continue
			}
			switch spec.positional {
			case 0:
				msg = fmt.Sprintf("#[%s] takes no argument", a.Name.Name)
			case 1:
				msg = fmt.Sprintf("#[%s] takes one unnamed argument", a.Name.Name)
			default:
				msg = fmt.Sprintf("#[%s] takes %d unnamed arguments", a.Name.Name, spec.positional)
			}
		} else if !contains(spec.keys, x.Key.Name) {
			msg = fmt.Sprintf("#[%s] has no argument `%s`", a.Name.Name, x.Key.Name)
		} else {
			continue
		}
		hint := "remove it"
		if len(spec.keys) > 0 {
			hint = "its arguments: " + strings.Join(spec.keys, ", ")
		}
		if spec.strict {
			c.errorf(x.Span(), "annotation", "%s", msg).Hint = hint
		} else {
			c.warnf(x.Span(), "annotation", "%s: it is ignored", msg).Hint = hint
		}
	}
}
