package check

import (
	"github.com/gxl-dev/gxl/core/types"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// checkBodies checks the statements of m's own envs, flows and fns:
// calls, built-in arguments and conditions.
func (c *checker) checkBodies(m *Module) {
	for _, e := range m.Envs {
		if e.Host == m && e.Decl.Body != nil {
			c.stmts(m, e.Decl.Body.Stmts, builtin.InEnv)
		}
	}
	for _, f := range m.Flows {
		if f.Host == m && f.Owner == m && f.Decl.Body != nil {
			c.stmts(m, f.Decl.Body.Stmts, builtin.InBlock)
		}
	}
	for _, f := range m.Fns {
		if f.Host == m && f.Decl.Body != nil {
			c.stmts(m, f.Decl.Body.Stmts, builtin.InBlock)
		}
		for _, fa := range f.Decl.Annotations {
			c.warnf(fa.Name.Span(), "unknown-annotation", "annotations on fn are ignored")
		}
	}
	for _, a := range m.Activities {
		if a.Host != m {
			continue
		}
		found := false
		for _, p := range a.Decl.Params {
			if p.Name.Name == "executer" {
				found = true
			}
			if p.Name.Name == "executor" {
				c.errorf(p.Name.Span(), "activity", "the parameter is spelled `executer`").Hint = "rename `executor` to `executer` (the original tool's spelling)"
				found = true
			}
		}
		if !found {
			c.errorf(a.Decl.Name.Span(), "activity", "activity `%s` has no `executer` parameter", a.Name).Hint =
				"an activity runs its executer: executer = \"./script.sh ${ARG}\";"
		}
	}
}

func (c *checker) stmts(m *Module, stmts []ast.Stmt, where builtin.Where) {
	for _, s := range stmts {
		switch n := s.(type) {
		case *ast.Call:
			c.call(m, n, where)
		case *ast.If:
			if where == builtin.InEnv {
				c.errorf(n.Span(), "env-item", "an env holds properties, gx.vars and gx.read_* only").Hint = "move the if statement into a flow"
				continue
			}
			c.cond(n.Cond)
			c.stmts(m, n.Then.Stmts, where)
			for _, ei := range n.ElseIfs {
				c.cond(ei.Cond)
				c.stmts(m, ei.Then.Stmts, where)
			}
			if n.Else != nil {
				c.stmts(m, n.Else.Stmts, where)
			}
		case *ast.For:
			if where == builtin.InEnv {
				c.errorf(n.Span(), "env-item", "an env holds properties, gx.vars and gx.read_* only").Hint = "move the for loop into a flow"
				continue
			}
			c.stmts(m, n.Body.Stmts, where)
		case *ast.CmdBlock:
			if where == builtin.InEnv {
				c.errorf(n.Span(), "env-item", "an env holds properties, gx.vars and gx.read_* only").Hint = "move the command into a flow"
			}
		}
	}
}

// isBuiltinPath reports whether a call target names a built-in family.
func (c *checker) isBuiltinPath(p *ast.Path) bool {
	// Names hold no dots: the family is the dotted name up to its first
	// dot (the name is cached on the path; its parts need not be read).
	name := p.String()
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return false
	}
	fam := name[:i]
	if fam == "gx" || fam == "rg" {
		return true
	}
	if c.byName[fam] != nil {
		return false
	}
	for _, f := range c.prog.Registry.Families() {
		if f == fam {
			return true
		}
	}
	return false
}

// ResolveCall finds what a call statement calls when its flow runs in
// owner's table (inherited flows resolve unqualified names in the
// inheriting module, §4.2).
func (p *Program) ResolveCall(owner *Module, call *ast.Call) *CallTarget {
	if t, ok := p.Calls[call]; ok && t.Builtin != nil {
		return t
	}
	name := call.Target.String()
	mod, item := owner, name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		mod = p.Module(name[:i])
		item = name[i+1:]
	}
	if mod == nil {
		return p.Calls[call]
	}
	if fn := mod.Fn(item); fn != nil {
		return &CallTarget{Fn: fn}
	}
	if a := mod.Activity(item); a != nil {
		return &CallTarget{Activity: a}
	}
	return p.Calls[call]
}

func (c *checker) call(m *Module, call *ast.Call, where builtin.Where) {
	name := call.Target.String()
	if c.isBuiltinPath(call.Target) {
		b, ok := c.prog.Registry.Lookup(name)
		if !ok {
			d := c.errorf(call.Target.Span(), "unknown-builtin", "unknown built-in `%s`", name)
			d.Suggest(call.Target.Span(), name, c.prog.Registry.Names())
			if strings.HasPrefix(name, "rg.") {
				d.Hint = "the legacy rg.* prefix is written gx.* : `gx." + strings.TrimPrefix(name, "rg.") + "`"
				d.Fix = &diag.Fix{Span: call.Target.Span(), Old: name, New: "gx." + strings.TrimPrefix(name, "rg.")}
			}
			return
		}
		t := c.builtinTargets[b]
		if t == nil {
			if c.builtinTargets == nil {
				c.builtinTargets = map[*builtin.Builtin]*CallTarget{}
			}
			t = &CallTarget{Builtin: b}
			c.builtinTargets[b] = t
		}
		c.prog.Calls[call] = t
		if b.Where&where == 0 {
			if where == builtin.InEnv {
				c.errorf(call.Target.Span(), "env-item", "`%s` cannot be used in an env", name).Hint = "an env holds properties, gx.vars and gx.read_*; move the call into a flow"
			} else {
				c.errorf(call.Target.Span(), "builtin-where", "`%s` can only be used in an env", name)
			}
		}
		c.builtinArgs(b, call)
		return
	}
	mod, item := m, name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		mod = c.byName[name[:i]]
		item = name[i+1:]
		if mod == nil {
			c.errorf(call.Target.Span(), "unknown-mod", "unknown module `%s` in call `%s`", name[:i], name).
				Suggest(call.Target.Span().Slice(0, i), name[:i], append(c.moduleNames(), "gx"))
			return
		}
	}
	if where == builtin.InEnv {
		c.errorf(call.Span(), "env-item", "an env holds properties, gx.vars and gx.read_* only").Hint = "move the call into a flow"
		return
	}
	if fn := mod.Fn(item); fn != nil {
		c.prog.Calls[call] = &CallTarget{Fn: fn}
		c.fnArgs(call, fn.Decl.Params, "fn "+fn.Name, true)
		return
	}
	if a := mod.Activity(item); a != nil {
		c.prog.Calls[call] = &CallTarget{Activity: a}
		c.fnArgs(call, a.Decl.Params, "activity "+a.Name, false)
		return
	}
	var names []string
	for _, f := range mod.Fns {
		names = append(names, f.Name)
	}
	for _, a := range mod.Activities {
		names = append(names, a.Name)
	}
	d := c.errorf(call.Target.Span(), "unknown-fn", "unknown fn or activity `%s` in module `%s`", item, mod.Name)
	d.Suggest(call.Target.Span().Slice(len(name)-len(item), len(name)), item, names)
	if mod.Flow(item) != nil {
		d.Hint = "flows cannot be called as statements; run it as a pre/post flow: `flow x | @this | " + item + "`"
	}
}

// fnArgs checks a call's arguments against fn or activity parameters.
func (c *checker) fnArgs(call *ast.Call, params []*ast.Param, what string, required bool) {
	hasUnnamed := false
	named := map[string]bool{}
	var names []string
	for _, p := range params {
		names = append(names, p.Name.Name)
	}
	for _, a := range call.Args {
		if a.Key == nil {
			hasUnnamed = true
			continue
		}
		named[a.Key.Name] = true
		found := false
		for _, p := range params {
			if p.Name.Name == a.Key.Name {
				found = true
			}
		}
		if !found {
			c.warnf(a.Key.Span(), "unknown-arg", "%s has no parameter `%s`; the argument is ignored", what, a.Key.Name).Suggest(a.Key.Span(), a.Key.Name, names)
		}
	}
	if !required {
		return
	}
	for _, p := range params {
		if p.Default != nil || named[p.Name.Name] || (p.Star && hasUnnamed) {
			continue
		}
		c.errorf(call.Span(), "missing-arg", "call of %s is missing the argument `%s`", what, p.Name.Name).Hint =
			"pass it as `" + p.Name.Name + ": value` or give the parameter a default"
	}
}

// builtinArgs checks a built-in call's arguments against the registry.
func (c *checker) builtinArgs(b *builtin.Builtin, call *ast.Call) {
	given := map[*builtin.Param]bool{}
	spelled := map[*builtin.Param]string{} // parameter (new name) → the key it was given as
	unnamed := 0
	for _, a := range call.Args {
		var p *builtin.Param
		if a.Key == nil {
			unnamed++
			p = b.PositionalParam()
			if p == nil {
				c.errorf(a.Span(), "unknown-arg", "`%s` takes no unnamed argument", b.Name).Hint = "name it: " + strings.Join(b.ParamNames(), ", ")
				continue
			}
			if unnamed > 1 {
				c.errorf(a.Span(), "dup-arg", "`%s` takes one unnamed argument", b.Name).Hint = "name the others"
				continue
			}
		} else {
			p = b.Param(a.Key.Name)
			if p == nil {
				d := c.errorf(a.Key.Span(), "unknown-arg", "`%s` has no argument `%s`", b.Name, a.Key.Name)
				if b.ArgsCaseSensitive {
					for _, q := range b.Params {
						if strings.EqualFold(q.Name, a.Key.Name) {
							d.Hint = "argument names of " + b.Name + " are case-sensitive: write `" + q.Name + "`"
						}
					}
				}
				if d.Hint == "" {
					d.Suggest(a.Key.Span(), a.Key.Name, b.ParamNames())
				}
				if d.Hint == "" {
					d.Hint = "its arguments are: " + strings.Join(b.ParamNames(), ", ")
				}
				continue
			}
			if given[p] {
				c.errorf(a.Key.Span(), "dup-arg", "argument `%s` of `%s` is given twice", p.Name, b.Name)
				continue
			}
			// An old spelling and its new name set the same thing.
			q := p
			if d := p.Deprecated; d != nil && b.Param(d.Use) != nil {
				q = b.Param(d.Use)
			}
			if prev, ok := spelled[q]; ok {
				c.errorf(a.Span(), "dup-arg", "`%s` and `%s` of `%s` set the same thing", prev, a.Key.Name, b.Name).Hint = "keep `" + q.Name + "` only"
				continue
			}
			spelled[q] = a.Key.Name
		}
		given[p] = true
		c.argType(b, p, a.Value)
		if p.Deprecated != nil {
			c.deprecatedArg(b, p, a)
		}
	}
	var missing []string
	for i := range b.Params {
		p := &b.Params[i]
		if p.Required && !given[p] {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		d := c.errorf(call.Span(), "missing-arg", "`%s` is missing required argument%s %s", b.Name, plural(len(missing)), "`"+strings.Join(missing, "`, `")+"`")
		d.Hint = "e.g. " + b.Name + "(" + missing[0] + ": \"...\")"
	}
}

// deprecatedArg warns at an argument written with an old spelling
// (builtin.Param.Deprecated) and names the new one, with the converted
// value when the argument is a constant.
func (c *checker) deprecatedArg(b *builtin.Builtin, p *builtin.Param, a *ast.Arg) {
	d := p.Deprecated
	if v, ok := constArg(a.Value); ok {
		if cv, err := builtin.Convert(p.Type, v); err == nil {
			_, nv := p.Resolve(cv)
			w := c.warnf(a.Span(), "deprecated-arg", "`%s: %s` is the old spelling: write `%s: %s`", a.Key.Name, literal(v), d.Use, literal(nv))
			w.Hint = "`" + d.Use + "` is the one name for this in every built-in and in #[retry]"
			if d.Rule != "" {
				w.Hint += " (" + d.Rule + ")"
			}
		}
		return
	}
	c.warnf(a.Span(), "deprecated-arg", "`%s` is an old spelling of `%s` in `%s`", a.Key.Name, d.Use, b.Name).Hint = "write `" + d.Use + "` (" + d.Rule + ")"
}

// constArg is the value of a constant argument expression.
func constArg(e ast.Expr) (value.Value, bool) {
	switch x := e.(type) {
	case *ast.StringLit:
		if x.IsConstant() {
			return value.Str(x.ConstValue()), true
		}
	case *ast.RawStringLit:
		if len(x.Parts) == 0 || (len(x.Parts) == 1 && x.Parts[0].Var == nil) {
			return value.Str(x.Value), true
		}
	case *ast.NumberLit:
		if x.IsFloat {
			return value.Float(x.Float), true
		}
		return value.Uint(x.Int), true
	case *ast.BoolLit:
		return value.Bool(x.Value), true
	}
	return value.Value{}, false
}

// literal writes a value as GXL source.
func literal(v value.Value) string {
	if v.Kind() == value.KString {
		return strconv.Quote(v.StrVal())
	}
	return v.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// argType checks one argument value against its parameter type.
func (c *checker) argType(b *builtin.Builtin, p *builtin.Param, e ast.Expr) {
	var v value.Value
	constant := true
	switch x := e.(type) {
	case *ast.StringLit:
		if !x.IsConstant() {
			constant = false
			if p.Type == types.List || p.Type == types.Object {
				return
			}
			if p.Type != types.String && p.Type != types.Any && p.Type != types.Duration && p.Type != types.Int && p.Type != types.Bool && p.Type != types.Float {
				return
			}
			return
		}
		v = value.Str(x.ConstValue())
	case *ast.RawStringLit:
		if len(x.Parts) > 1 || (len(x.Parts) == 1 && x.Parts[0].Var != nil) {
			return
		}
		v = value.Str(x.Value)
	case *ast.NumberLit:
		if x.IsFloat {
			v = value.Float(x.Float)
		} else {
			v = value.Uint(x.Int)
		}
	case *ast.BoolLit:
		v = value.Bool(x.Value)
	case *ast.ListLit:
		v = value.List()
	case *ast.ObjectLit:
		v = value.Obj(nil)
	case *ast.VarRef:
		var buf foldBuf
		t := c.varTypes[string(fold(&buf, x.Root()))]
		if len(x.Segments) == 1 && t != types.Any && !compatible(p.Type, t) {
			c.errorf(x.Span(), "arg-type", "argument `%s` of `%s` must be %s, but %s is %s", p.Name, b.Name, article(p.Type), x.Source(), article(t))
		}
		return
	default:
		return
	}
	if !constant {
		return
	}
	cv, err := builtin.Convert(p.Type, v)
	if err != nil {
		c.errorf(e.Span(), "arg-type", "argument `%s` of `%s` must be %s", p.Name, b.Name, article(p.Type)).Hint = typeHint(p.Type)
		return
	}
	if p.Check != nil {
		if err := p.Check(cv); err != nil {
			c.errorf(e.Span(), "arg-value", "argument `%s` of `%s`: %v", p.Name, b.Name, err)
			return
		}
	}
	if p.Type == types.Duration {
		// No duration parameter means anything by a negative one (a
		// timeout of -1s is not "no limit", that is 0).
		if d, err := builtin.ParseDuration(cv); err == nil && d < 0 {
			c.errorf(e.Span(), "arg-value", "argument `%s` of `%s` must not be negative, not %s", p.Name, b.Name, d).Hint = "durations are 0 or more: \"30s\", \"2m\""
			return
		}
	}
	if len(p.Enum) > 0 && !contains(p.Enum, cv.String()) {
		d := c.errorf(e.Span(), "arg-value", "argument `%s` of `%s` must be one of %s, not %q", p.Name, b.Name, strings.Join(p.Enum, ", "), cv.String())
		d.Hint = diag.DidYouMean(cv.String(), p.Enum)
		if s, ok := e.(*ast.StringLit); ok && s.IsConstant() && s.Span().End.Offset-s.Span().Start.Offset == len(cv.String())+2 {
			// Written plainly ("x", no escapes): the fix replaces the text between the quotes.
			d.Suggest(s.Span().Slice(1, 1+len(cv.String())), cv.String(), p.Enum)
		}
	}
}

func compatible(want, have types.Type) bool {
	switch want {
	case types.Any:
		return true
	case types.String:
		return have == types.String || have == types.Int || have == types.Float || have == types.Bool
	case types.Float:
		return have == types.Float || have == types.Int || have == types.String
	case types.Duration:
		return have == types.String || have == types.Int || have == types.Float
	case types.List:
		return have == types.List || have == types.String
	default:
		return want == have || have == types.String
	}
}

func article(t types.Type) string {
	switch t {
	case types.Int, types.Object, types.Any:
		return "an " + t.String()
	}
	return "a " + t.String()
}

func typeHint(t types.Type) string {
	switch t {
	case types.Int:
		return "write a whole number such as 3 (or \"3\")"
	case types.Bool:
		return "write true or false"
	case types.Duration:
		return "write a duration such as \"30s\" or \"2m\""
	case types.List:
		return "write a list such as [\"a\", \"b\"]"
	case types.Object:
		return "write an object such as { key : \"value\" }"
	}
	return ""
}
