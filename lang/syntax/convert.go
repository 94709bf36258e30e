package syntax

import (
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
)

// converter turns the participle tree into the AST, reporting obsolete and
// invalid forms with hints.
type converter struct {
	diags diag.List
	group int
}

func span(start, end lexer.Position) diag.Span {
	return diag.Span{Start: toDiagPos(start), End: toDiagPos(end)}
}

func sp(start, end lexer.Position) ast.Sp { return ast.Sp{S: span(start, end)} }

func (c *converter) errorf(s diag.Span, code, hint, format string, args ...any) {
	d := diag.Errorf(s, code, format, args...)
	d.Hint = hint
	c.diags.Add(d)
}

func (c *converter) file(g *gFile, f *ast.File) {
	for _, it := range g.Items {
		switch {
		case it.Extern != nil:
			f.Items = append(f.Items, c.extern(it.Extern))
		case it.Mod != nil:
			f.Items = append(f.Items, c.mod(it.Mod))
		}
	}
}

func (c *converter) ident(g *gIdent) *ast.Ident {
	if g == nil {
		return nil
	}
	return &ast.Ident{Sp: sp(g.Pos, g.EndPos), Name: g.Name}
}

func (c *converter) path(g *gPath) *ast.Path {
	var parts []*ast.Ident
	for _, id := range g.Parts {
		parts = append(parts, c.ident(id))
	}
	return ast.NewPath(sp(g.Pos, g.EndPos), parts)
}

// key converts a dotted property key into one Ident ("a.b").
func (c *converter) key(g *gPath) *ast.Ident {
	var names []string
	for _, id := range g.Parts {
		names = append(names, id.Name)
	}
	return &ast.Ident{Sp: sp(g.Pos, g.EndPos), Name: strings.Join(names, ".")}
}

func (c *converter) extern(g *gExtern) *ast.Extern {
	e := &ast.Extern{Sp: sp(g.Pos, g.EndPos)}
	for _, n := range g.Names {
		e.Names = append(e.Names, c.ident(n))
	}
	for _, p := range g.Props {
		v := c.value(p.Value)
		var s *ast.StringLit
		switch x := v.(type) {
		case *ast.StringLit:
			s = x
		case *ast.RawStringLit:
			s = &ast.StringLit{Sp: x.Sp, Raw: x.Raw, Parts: x.Parts}
		default:
			c.errorf(v.Span(), "syntax", "write the value in quotes, e.g. path = \"./_gal/mods\"", "extern address values must be strings")
			continue
		}
		e.Props = append(e.Props, &ast.ExternProp{Sp: sp(p.Pos, p.EndPos), Key: c.ident(p.Key), Value: s})
	}
	if len(e.Props) > 0 && !e.IsGit() && e.Prop("path") == nil {
		c.errorf(e.Span(), "syntax", "write `{ path = \"./dir\" }` or `{ git = \"https://...\", tag = \"v1\" }`", "extern mod needs a `path` or a `git` address")
	}
	if len(g.Props) == 0 {
		c.errorf(e.Span(), "syntax", "write `{ path = \"./dir\" }` or `{ git = \"https://...\", tag = \"v1\" }`", "extern mod needs an address")
	}
	return e
}

func (c *converter) annotations(groups []*gAnnGroup) []*ast.Annotation {
	var out []*ast.Annotation
	for _, g := range groups {
		c.group++
		for _, a := range g.Anns {
			ann := &ast.Annotation{Sp: sp(a.Pos, a.EndPos), Name: c.ident(a.Name), Group: c.group}
			if a.Paren {
				ann.Args = []*ast.AnnArg{}
			}
			for _, arg := range a.Args {
				aa := &ast.AnnArg{Sp: sp(arg.Pos, arg.EndPos), Key: c.ident(arg.Key)}
				if arg.Word != nil {
					aa.Value = &ast.Word{Sp: sp(arg.Word.Pos, arg.Word.EndPos), Text: c.key(arg.Word).Name}
				} else {
					aa.Value = c.value(arg.Value)
				}
				ann.Args = append(ann.Args, aa)
			}
			out = append(out, ann)
		}
	}
	return out
}

func (c *converter) mod(g *gMod) *ast.Mod {
	m := &ast.Mod{Sp: sp(g.Pos, g.EndPos), Annotations: c.annotations(g.Anns), Name: c.ident(g.Name), HasColon: g.Colon}
	for _, p := range g.Parents {
		m.Parents = append(m.Parents, c.path(p))
	}
	for _, it := range g.Items {
		if it.Semi {
			continue
		}
		anns := c.annotations(it.Anns)
		switch {
		case it.Env != nil:
			e := c.env(it.Env)
			e.Annotations = anns
			m.Items = append(m.Items, e)
		case it.Flow != nil:
			if f := c.flow(it.Flow); f != nil {
				f.Annotations = anns
				m.Items = append(m.Items, f)
			}
		case it.Fn != nil:
			f := c.fn(it.Fn)
			f.Annotations = anns
			m.Items = append(m.Items, f)
		case it.Activity != nil:
			a := c.activity(it.Activity)
			a.Annotations = anns
			m.Items = append(m.Items, a)
		case it.Stmt != nil:
			s := c.pathStmt(it.Stmt)
			if len(anns) > 0 {
				c.errorf(anns[0].Span(), "syntax", "annotations go before mod, env, flow, fn or activity", "an annotation cannot precede a property")
			}
			if a, ok := s.(*ast.Assign); ok {
				m.Items = append(m.Items, a)
			} else if s != nil {
				c.errorf(s.Span(), "syntax", "move the statement into a flow: `flow name { ... }`", "a module holds properties and definitions, not statements")
			}
		}
	}
	return m
}

func (c *converter) ref(g *gRef, allowAt bool) *ast.Ref {
	r := &ast.Ref{Sp: sp(g.Pos, g.EndPos)}
	if g.At && !allowAt {
		c.errorf(r.Span(), "syntax", "`@` marks the flow itself in a pipeline: `flow pre | @name | post`", "unexpected `@`")
	}
	if g.Path != nil {
		r.Path = c.path(g.Path)
	} else if g.Var != nil {
		r.Var = c.varRef(*g.Var, toDiagPos(g.Pos), false)
	}
	return r
}

func (c *converter) env(g *gEnv) *ast.Env {
	e := &ast.Env{Sp: sp(g.Pos, g.EndPos), Name: c.ident(g.Name), HasColon: g.Colon}
	for _, r := range g.Mixins {
		e.Mixins = append(e.Mixins, c.ref(r, false))
	}
	if g.Body != nil {
		e.Body = c.block(g.Body)
	}
	return e
}

func (c *converter) flow(g *gFlow) *ast.Flow {
	var body *ast.Block
	if g.Body != nil {
		body = c.block(g.Body)
	}
	return c.flowWith(g, body)
}

// flowWith converts a flow head whose body is already converted.
func (c *converter) flowWith(g *gFlow, body *ast.Block) *ast.Flow {
	f := &ast.Flow{Sp: sp(g.Pos, g.EndPos), Body: body}
	nameOf := func(r *gRef) *ast.Ident {
		if r.Path == nil || len(r.Path.Parts) != 1 {
			c.errorf(span(r.Pos, r.EndPos), "syntax", "a flow's own name is a plain name such as `deploy`", "invalid flow name")
			if r.Path != nil {
				return c.key(r.Path)
			}
			return &ast.Ident{Sp: sp(r.Pos, r.EndPos), Name: "_"}
		}
		return c.ident(r.Path.Parts[0])
	}
	switch {
	case len(g.Tilde) > 0:
		c.errorf(span(g.First.Pos, g.EndPos), "obsolete-syntax",
			"write a pipeline: `flow pre | @name | post` (or `flow name : pre : post`)",
			"`flow a ~ b` is not GXL")
		return nil
	case g.Colon:
		f.Form = ast.FlowColon
		if g.First.At {
			c.errorf(span(g.First.Pos, g.EndPos), "syntax", "`@` belongs to the pipe form: `flow pre | @name | post`", "unexpected `@` in a colon-form flow")
		}
		f.Name = nameOf(g.First)
		for _, r := range g.Pre {
			f.Pre = append(f.Pre, c.ref(r, false))
		}
		f.HasPostColon = g.PostColon
		for _, r := range g.Post {
			f.Post = append(f.Post, c.ref(r, false))
		}
	case len(g.Pipe) > 0:
		f.Form = ast.FlowPipe
		items := append([]*gRef{g.First}, g.Pipe...)
		at := -1
		for i, r := range items {
			if r.At {
				if at >= 0 {
					c.errorf(span(r.Pos, r.EndPos), "syntax", "mark only the flow being defined with `@`", "two `@` names in one pipeline")
					continue
				}
				at = i
			}
		}
		if at < 0 {
			// `flow name | post1 | post2`: the first item is the name and
			// the rest are post flows (§3.5).
			f.Name = nameOf(items[0])
			for _, r := range items[1:] {
				f.Post = append(f.Post, c.ref(r, false))
			}
		} else {
			f.AtName = true
			f.Name = nameOf(items[at])
			// A second `@` was reported above.
			for _, r := range items[:at] {
				f.Pre = append(f.Pre, c.ref(r, true))
			}
			for _, r := range items[at+1:] {
				f.Post = append(f.Post, c.ref(r, true))
			}
		}
	default:
		f.Form = ast.FlowPlain
		if g.First.At {
			c.errorf(span(g.First.Pos, g.EndPos), "syntax", "write `flow name { ... }`", "unexpected `@`")
		}
		f.Name = nameOf(g.First)
		if f.Body == nil {
			c.errorf(f.Span(), "syntax", "give the flow a body `{ ... }` or pipeline references `flow name : pre ;`", "flow `%s` has neither a body nor references", f.Name.Name)
		}
	}
	return f
}

func (c *converter) params(gs []*gParam) []*ast.Param {
	var out []*ast.Param
	for _, p := range gs {
		ap := &ast.Param{Sp: sp(p.Pos, p.EndPos), Star: p.Star, Name: c.ident(p.Name)}
		if p.Default != nil {
			ap.Default = c.value(p.Default)
		}
		out = append(out, ap)
	}
	return out
}

func (c *converter) fn(g *gFn) *ast.Fn {
	f := &ast.Fn{Sp: sp(g.Pos, g.EndPos), Name: c.ident(g.Name), Params: c.params(g.Params)}
	if g.Body != nil {
		f.Body = c.block(g.Body)
	}
	return f
}

func (c *converter) activity(g *gActivity) *ast.Activity {
	return &ast.Activity{Sp: sp(g.Pos, g.EndPos), Name: c.ident(g.Name), Params: c.params(g.Params)}
}

func (c *converter) block(g *gBlock) *ast.Block {
	b := &ast.Block{Sp: sp(g.Pos, g.EndPos)}
	b.Stmts = c.stmts(g.Stmts)
	return b
}

func (c *converter) stmts(gs []*gStmt) []ast.Stmt {
	var out []ast.Stmt
	for _, s := range gs {
		if st := c.stmt(s); st != nil {
			out = append(out, st)
		}
	}
	return out
}

func (c *converter) stmt(g *gStmt) ast.Stmt {
	switch {
	case g.If != nil:
		return c.ifStmt(g.If)
	case g.For != nil:
		f := &ast.For{Sp: sp(g.For.Pos, g.For.EndPos), Body: c.block(g.For.Body)}
		f.Var = c.loopRef(g.For.Var, "loop variable")
		f.In = c.loopRef(g.For.In, "list")
		if f.Var == nil || f.In == nil {
			return nil
		}
		return f
	case g.Cmd != nil:
		return cmdBlock(*g.Cmd, toDiagPos(g.Pos), &c.diags)
	case g.Path != nil:
		return c.pathStmt(g.Path)
	}
	return nil
}

func (c *converter) loopRef(g *gValue, what string) *ast.VarRef {
	return c.loopRefExpr(c.value(g), what)
}

func (c *converter) loopRefExpr(v ast.Expr, what string) *ast.VarRef {
	if r, ok := v.(*ast.VarRef); ok {
		return r
	}
	if v != nil {
		c.errorf(v.Span(), "syntax", "write `for ${ITEM} in ${LIST} { ... }`", "the %s of a for loop must be a ${...} reference", what)
	}
	return nil
}

func (c *converter) pathStmt(g *gPathStmt) ast.Stmt {
	switch {
	case g.Assign != nil:
		a := &ast.Assign{Sp: sp(g.Pos, g.EndPos), Key: c.key(g.Path), Value: c.value(g.Assign)}
		return a
	case g.Call != nil:
		call := &ast.Call{Sp: sp(g.Pos, g.EndPos), Target: c.path(g.Path)}
		for _, a := range g.Call.Args {
			call.Args = append(call.Args, &ast.Arg{Sp: sp(a.Pos, a.EndPos), Key: c.ident(a.Key), Value: c.value(a.Value)})
		}
		if call.Target.String() == "gx.defined" {
			c.errorf(call.Target.Span(), "obsolete-syntax", "write `defined(${X})` inside an if condition", "`gx.defined` does not exist")
		}
		return call
	case g.Braces != nil:
		target := c.path(g.Path)
		name := target.String()
		if name != "gx.vars" {
			c.errorf(span(g.Pos, g.EndPos), "obsolete-syntax",
				"built-ins take parentheses: `"+name+"(key: \"value\", ...)`",
				"`%s { ... }` is the old brace form", name)
			return nil
		}
		vb := &ast.VarsBlock{Sp: sp(g.Pos, g.EndPos), Target: target}
		for _, e := range g.Braces.Entries {
			if e.Colon {
				c.errorf(span(e.Pos, e.EndPos), "syntax", "gx.vars entries are written `NAME = value;`", "`:` in gx.vars")
			}
			vb.Assigns = append(vb.Assigns, &ast.Assign{Sp: sp(e.Pos, e.EndPos), Key: c.key(e.Key), Value: c.value(e.Value)})
		}
		return vb
	}
	return nil
}

func (c *converter) ifStmt(g *gIf) *ast.If {
	s := &ast.If{Sp: sp(g.Pos, g.EndPos), Cond: c.or(g.Cond), Then: c.block(g.Then)}
	for _, ei := range g.ElseIfs {
		s.ElseIfs = append(s.ElseIfs, &ast.ElseIf{Sp: sp(ei.Pos, ei.EndPos), Cond: c.or(ei.Cond), Then: c.block(ei.Then)})
	}
	if g.Else != nil {
		s.Else = c.block(g.Else)
	}
	return s
}

func (c *converter) or(g *gOr) ast.Cond {
	x := c.and(g.Left)
	for _, r := range g.Rest {
		y := c.and(r.Right)
		x = &ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: r.Op, OpPos: span(r.Pos, r.Pos), L: x, R: y}
	}
	return x
}

func (c *converter) and(g *gAnd) ast.Cond {
	x := c.cmp(g.Left)
	for _, r := range g.Rest {
		y := c.cmp(r.Right)
		x = &ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: r.Op, OpPos: span(r.Pos, r.Pos), L: x, R: y}
	}
	return x
}

func (c *converter) cmp(g *gCmp) ast.Cond {
	x := c.unary(g.Left)
	for i, r := range g.Rest {
		opSpan := span(r.Pos, r.Pos)
		opSpan.End = opSpan.Start.Advance(r.Op)
		if r.Op == "=" {
			c.errorf(opSpan, "syntax", "compare with `==`", "`=` in a condition")
		}
		if i > 0 {
			c.errorf(opSpan, "syntax", "combine comparisons with && or ||, or add parentheses", "comparisons cannot be chained")
		}
		y := c.unary(r.Right)
		x = &ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: r.Op, OpPos: opSpan, L: x, R: y}
	}
	return x
}

func (c *converter) unary(g *gUnary) ast.Cond {
	if g.Not {
		x := c.unary(g.X)
		return &ast.CondUnary{Sp: sp(g.Pos, g.EndPos), Op: "!", X: x}
	}
	return c.prim(g.Prim)
}

func (c *converter) prim(g *gPrim) ast.Cond {
	s := sp(g.Pos, g.EndPos)
	switch {
	case g.Paren != nil:
		return &ast.CondParen{Sp: s, X: c.or(g.Paren)}
	case g.Defined != nil:
		if g.Defined.GxPref {
			c.errorf(s.S, "obsolete-syntax", "write `defined(${X})`", "`gx.defined` does not exist")
		}
		v := c.value(g.Defined.Arg)
		r, ok := v.(*ast.VarRef)
		if !ok {
			c.errorf(v.Span(), "syntax", "write `defined(${NAME})`", "defined() takes a ${...} reference")
			r = &ast.VarRef{Sp: ast.Sp{S: v.Span()}, Name: "_", Segments: []ast.Segment{{Key: "_"}}}
		}
		return &ast.CondDefined{Sp: s, Var: r}
	case g.Value != nil:
		return &ast.CondOperand{Sp: s, X: c.value(g.Value)}
	case g.Bare != nil:
		name := c.key(g.Bare).Name
		c.errorf(s.S, "obsolete-syntax", "variables in conditions are written ${"+name+"}; text is quoted: \""+name+"\"", "bare name `%s` in a condition", name)
		return &ast.CondOperand{Sp: s, X: &ast.StringLit{Sp: s, Raw: strconv.Quote(name), Parts: []ast.StrPart{{Sp: s, Text: name}}}}
	}
	return &ast.CondOperand{Sp: s}
}

func (c *converter) varRef(raw string, pos diag.Pos, allowDefault bool) *ast.VarRef {
	end := pos.Advance(raw)
	inner := strings.TrimSuffix(strings.TrimPrefix(raw, "${"), "}")
	r, ok := parseRef(inner, allowDefault)
	if !ok {
		c.errorf(diag.Span{Start: pos, End: end}, "syntax", "names are letters, digits and _, with .key and [index] steps: ${A.B[0]}", "invalid variable reference `%s`", raw)
		r = &ast.VarRef{Name: strings.TrimSpace(inner), Segments: []ast.Segment{{Key: "_"}}}
	}
	r.S = diag.Span{Start: pos, End: end}
	return r
}

func (c *converter) value(g *gValue) ast.Expr {
	if g == nil {
		return nil
	}
	s := sp(g.Pos, g.EndPos)
	pos := toDiagPos(g.Pos)
	switch {
	case g.Str != nil:
		return stringLit(*g.Str, pos, &c.diags)
	case g.Raw != nil:
		return rawStringLit(*g.Raw, pos, &c.diags)
	case g.Int != nil:
		n, err := value.ParseUint(strings.TrimPrefix(*g.Int, "-"))
		if strings.HasPrefix(*g.Int, "-") && err == nil {
			err = strconv.ErrSyntax
		}
		if err != nil {
			if strings.HasPrefix(*g.Int, "-") {
				c.errorf(s.S, "syntax", `GXL integers are unsigned (0 to 18446744073709551615); write a negative number as a string: "`+*g.Int+`"`, "negative integer %s is not supported", *g.Int)
			} else {
				c.errorf(s.S, "syntax", "integers are unsigned 64-bit: 0 to 18446744073709551615", "integer %s out of range", *g.Int)
			}
		}
		return &ast.NumberLit{Sp: s, Text: *g.Int, Int: n}
	case g.Float != nil:
		f, ok := value.ParseNumber(*g.Float)
		if !ok {
			c.errorf(s.S, "syntax", "", "invalid number %s", *g.Float)
		}
		return &ast.NumberLit{Sp: s, Text: *g.Float, IsFloat: true, Float: f}
	case g.Bool != nil:
		b, _ := value.ParseBool(*g.Bool)
		return &ast.BoolLit{Sp: s, Text: *g.Bool, Value: b}
	case g.Var != nil:
		return c.varRef(*g.Var, pos, true)
	case g.List != nil:
		l := &ast.ListLit{Sp: s}
		for _, e := range g.List.Elems {
			l.Elems = append(l.Elems, c.value(e))
		}
		return l
	case g.Obj != nil:
		o := &ast.ObjectLit{Sp: s}
		for _, e := range g.Obj.Entries {
			o.Entries = append(o.Entries, &ast.ObjEntry{Sp: sp(e.Pos, e.EndPos), Key: c.key(e.Key), Value: c.value(e.Value)})
		}
		return o
	}
	return nil
}
