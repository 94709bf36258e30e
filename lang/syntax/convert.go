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
}

// converted is part of a file converted ahead, on another core: a top item
// (top) or a run of module items (items), with the diagnostics found.
type converted struct {
	top   ast.TopItem
	items []ast.ModItem
	diags diag.List
}

// A grammar node's position comes from the tokens it matched (participle
// fills each node's Tokens field with its slice of the token array, one
// allocation on success only, where a Pos field would cost two on every
// alternative tried): it starts at its first token and ends right after
// its last.

func tstart(toks []lexer.Token) diag.Pos {
	for _, t := range toks {
		if t.Type != tWhitespace && t.Type != tComment {
			return toDiagPos(t.Pos)
		}
	}
	return toDiagPos(toks[0].Pos)
}

func tend(toks []lexer.Token) diag.Pos {
	last := toks[len(toks)-1]
	return toDiagPos(last.Pos).Advance(last.Value)
}

func tspan(toks []lexer.Token) diag.Span { return diag.Span{Start: tstart(toks), End: tend(toks)} }

// tpoint is the empty span at a node's first token (an operator's position).
func tpoint(toks []lexer.Token) diag.Span { p := tstart(toks); return diag.Span{Start: p, End: p} }

func tsp(toks []lexer.Token) ast.Sp { return ast.Sp{S: tspan(toks)} }

func (c *converter) errorf(s diag.Span, code, hint, format string, args ...any) {
	d := diag.Errorf(s, code, format, args...)
	d.Hint = hint
	c.diags.Add(d)
}

func (c *converter) file(g *gFile, f *ast.File) {
	for _, it := range g.Items {
		if it.conv != nil {
			if it.conv.top != nil {
				f.Items = append(f.Items, it.conv.top)
			}
			c.diags = append(c.diags, it.conv.diags...)
			continue
		}
		if t := c.top(it); t != nil {
			f.Items = append(f.Items, t)
		}
	}
}

func (c *converter) top(it *gTop) ast.TopItem {
	switch {
	case it.Extern != nil:
		return c.extern(it.Extern)
	case it.Mod != nil:
		return c.mod(it.Mod)
	}
	return nil
}

// ident is the name a token holds; nil for an optional name that is
// absent (the zero token: no token type is 0).
func (c *converter) ident(t lexer.Token) *ast.Ident {
	if t.Type == 0 {
		return nil
	}
	return &ast.Ident{Sp: tsp([]lexer.Token{t}), Name: t.Value}
}

// idents are the names among tokens captured with their separators.
func (c *converter) idents(toks []lexer.Token) []*ast.Ident {
	var out []*ast.Ident
	for _, t := range toks {
		if t.Type == tIdent {
			out = append(out, c.ident(t))
		}
	}
	return out
}

func (c *converter) path(g *gPath) *ast.Path {
	return ast.NewPath(tsp(g.Parts), c.idents(g.Parts))
}

// key converts a dotted property key into one Ident ("a.b").
func (c *converter) key(g *gPath) *ast.Ident {
	var b strings.Builder
	for _, t := range g.Parts {
		b.WriteString(t.Value)
	}
	return &ast.Ident{Sp: tsp(g.Parts), Name: b.String()}
}

func (c *converter) extern(g *gExtern) *ast.Extern {
	e := &ast.Extern{Sp: tsp(g.Tokens)}
	e.Names = c.idents(g.Names)
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
		e.Props = append(e.Props, &ast.ExternProp{Sp: tsp(p.Tokens), Key: c.ident(p.Key), Value: s})
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
		// A group is told by where it starts: the same number whichever
		// core converts it.
		group := ast.AnnGroup(g.Tokens[0].Pos.Offset + 1)
		for _, a := range g.Anns {
			ann := &ast.Annotation{Sp: tsp(a.Tokens), Name: c.ident(a.Name), Group: group}
			if a.Paren {
				ann.Args = []*ast.AnnArg{}
			}
			for _, arg := range a.Args {
				aa := &ast.AnnArg{Sp: tsp(arg.Tokens), Key: c.ident(arg.Key)}
				if arg.Word != nil {
					aa.Value = &ast.Word{Sp: tsp(arg.Word.Parts), Text: c.key(arg.Word).Name}
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
	m := &ast.Mod{Sp: tsp(g.Tokens), Annotations: c.annotations(g.Anns), Name: c.ident(g.Name), HasColon: g.Colon}
	for _, p := range g.Parents {
		m.Parents = append(m.Parents, c.path(p))
	}
	if g.first != nil {
		m.Items = append(m.Items, g.first.items...)
		c.diags = append(c.diags, g.first.diags...)
	} else {
		m.Items = c.modItems(m.Items, g.Items)
	}
	for _, p := range g.more {
		m.Items = append(m.Items, p.items...)
		c.diags = append(c.diags, p.diags...)
	}
	return m
}

// modItems converts module items, appending them to out.
func (c *converter) modItems(out []ast.ModItem, items []*gModItem) []ast.ModItem {
	for _, it := range items {
		if it.Semi {
			continue
		}
		anns := c.annotations(it.Anns)
		switch {
		case it.Env != nil:
			e := c.env(it.Env)
			e.Annotations = anns
			out = append(out, e)
		case it.Flow != nil:
			if f := c.flow(it.Flow); f != nil {
				f.Annotations = anns
				out = append(out, f)
			}
		case it.Fn != nil:
			f := c.fn(it.Fn)
			f.Annotations = anns
			out = append(out, f)
		case it.Activity != nil:
			a := c.activity(it.Activity)
			a.Annotations = anns
			out = append(out, a)
		case it.Stmt != nil:
			s := c.pathStmt(it.Stmt)
			if len(anns) > 0 {
				c.errorf(anns[0].Span(), "syntax", "annotations go before mod, env, flow, fn or activity", "an annotation cannot precede a property")
			}
			if a, ok := s.(*ast.Assign); ok {
				out = append(out, a)
			} else if s != nil {
				c.errorf(s.Span(), "syntax", "move the statement into a flow: `flow name { ... }`", "a module holds properties and definitions, not statements")
			}
		}
	}
	return out
}

func (c *converter) ref(g *gRef, allowAt bool) *ast.Ref {
	r := &ast.Ref{Sp: tsp(g.Toks)}
	if g.at() && !allowAt {
		c.errorf(r.Span(), "syntax", "`@` marks the flow itself in a pipeline: `flow pre | @name | post`", "unexpected `@`")
	}
	if p := g.path(); p != nil {
		r.Path = c.path(p)
	} else {
		r.Var = c.varRef(g.Toks[len(g.Toks)-1].Value, tstart(g.Toks), false)
	}
	return r
}

func (c *converter) env(g *gEnv) *ast.Env {
	e := &ast.Env{Sp: tsp(g.Tokens), Name: c.ident(g.Name), HasColon: g.Colon}
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
	f := &ast.Flow{Sp: tsp(g.Tokens), Body: body}
	nameOf := func(r *gRef) *ast.Ident {
		p := r.path()
		if p == nil || len(p.Parts) != 1 {
			c.errorf(tspan(r.Toks), "syntax", "a flow's own name is a plain name such as `deploy`", "invalid flow name")
			if p != nil {
				return c.key(p)
			}
			return &ast.Ident{Sp: tsp(r.Toks), Name: "_"}
		}
		return c.ident(p.Parts[0])
	}
	switch {
	case len(g.Tilde) > 0:
		c.errorf(diag.Span{Start: tstart(g.First.Toks), End: tend(g.Tokens)}, "obsolete-syntax",
			"write a pipeline: `flow pre | @name | post` (or `flow name : pre : post`)",
			"`flow a ~ b` is not GXL")
		return nil
	case g.Colon:
		f.Form = ast.FlowColon
		if g.First.at() {
			c.errorf(diag.Span{Start: tstart(g.First.Toks), End: tend(g.Tokens)}, "syntax", "`@` belongs to the pipe form: `flow pre | @name | post`", "unexpected `@` in a colon-form flow")
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
			if r.at() {
				if at >= 0 {
					c.errorf(tspan(r.Toks), "syntax", "mark only the flow being defined with `@`", "two `@` names in one pipeline")
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
		if g.First.at() {
			c.errorf(diag.Span{Start: tstart(g.First.Toks), End: tend(g.Tokens)}, "syntax", "write `flow name { ... }`", "unexpected `@`")
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
		ap := &ast.Param{Sp: tsp(p.Tokens), Star: p.Star, Name: c.ident(p.Name)}
		if p.Default != nil {
			ap.Default = c.value(p.Default)
		}
		out = append(out, ap)
	}
	return out
}

func (c *converter) fn(g *gFn) *ast.Fn {
	f := &ast.Fn{Sp: tsp(g.Tokens), Name: c.ident(g.Name), Params: c.params(g.Params)}
	if g.Body != nil {
		f.Body = c.block(g.Body)
	}
	return f
}

func (c *converter) activity(g *gActivity) *ast.Activity {
	return &ast.Activity{Sp: tsp(g.Tokens), Name: c.ident(g.Name), Params: c.params(g.Params)}
}

func (c *converter) block(g *gBlock) *ast.Block {
	b := &ast.Block{Sp: tsp(g.Tokens)}
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
		f := &ast.For{Sp: tsp(g.For.Tokens), Body: c.block(g.For.Body)}
		f.Var = c.loopRef(g.For.Var, "loop variable")
		f.In = c.loopRef(g.For.In, "list")
		if f.Var == nil || f.In == nil {
			return nil
		}
		return f
	case g.Cmd.Type == tCmdBlock:
		return cmdBlock(g.Cmd.Value, toDiagPos(g.Cmd.Pos), &c.diags)
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
		a := &ast.Assign{Sp: tsp(g.Tokens), Key: c.key(&gPath{Parts: g.Path}), Value: c.value(g.Assign)}
		return a
	case g.Call != nil:
		call := &ast.Call{Sp: tsp(g.Tokens), Target: c.path(&gPath{Parts: g.Path})}
		for _, a := range g.Call.Args {
			call.Args = append(call.Args, &ast.Arg{Sp: tsp(a.Tokens), Key: c.ident(a.Key), Value: c.value(a.Value)})
		}
		if call.Target.String() == "gx.defined" {
			c.errorf(call.Target.Span(), "obsolete-syntax", "write `defined(${X})` inside an if condition", "`gx.defined` does not exist")
		}
		return call
	case g.Braces != nil:
		target := c.path(&gPath{Parts: g.Path})
		name := target.String()
		if name != "gx.vars" {
			c.errorf(tspan(g.Tokens), "obsolete-syntax",
				"built-ins take parentheses: `"+name+"(key: \"value\", ...)`",
				"`%s { ... }` is the old brace form", name)
			return nil
		}
		vb := &ast.VarsBlock{Sp: tsp(g.Tokens), Target: target}
		for _, e := range g.Braces.Entries {
			if e.Colon {
				c.errorf(tspan(e.Tokens), "syntax", "gx.vars entries are written `NAME = value;`", "`:` in gx.vars")
			}
			vb.Assigns = append(vb.Assigns, &ast.Assign{Sp: tsp(e.Tokens), Key: c.key(e.Key), Value: c.value(e.Value)})
		}
		return vb
	}
	return nil
}

func (c *converter) ifStmt(g *gIf) *ast.If {
	s := &ast.If{Sp: tsp(g.Tokens), Cond: c.or(g.Cond), Then: c.block(g.Then)}
	for _, ei := range g.ElseIfs {
		s.ElseIfs = append(s.ElseIfs, &ast.ElseIf{Sp: tsp(ei.Tokens), Cond: c.or(ei.Cond), Then: c.block(ei.Then)})
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
		x = &ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: r.Op, OpPos: tpoint(r.Tokens), L: x, R: y}
	}
	return x
}

func (c *converter) and(g *gAnd) ast.Cond {
	x := c.cmp(g.Left)
	for _, r := range g.Rest {
		y := c.cmp(r.Right)
		x = &ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: r.Op, OpPos: tpoint(r.Tokens), L: x, R: y}
	}
	return x
}

func (c *converter) cmp(g *gCmp) ast.Cond {
	x := c.unary(g.Left)
	for i, r := range g.Rest {
		opSpan := tpoint(r.Tokens)
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
		return &ast.CondUnary{Sp: tsp(g.Tokens), Op: "!", X: x}
	}
	return c.prim(g.Prim)
}

func (c *converter) prim(g *gPrim) ast.Cond {
	s := tsp(g.Tokens)
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
	// A value's span is its scalar token's, or its list's or object's (a
	// Tokens field on gValue would cost participle one more allocation
	// per value).
	var s ast.Sp
	switch {
	case g.List != nil:
		s = tsp(g.List.Tokens)
	case g.Obj != nil:
		s = tsp(g.Obj.Tokens)
	default:
		s = tsp([]lexer.Token{g.Lit})
	}
	pos := s.S.Start
	switch lit := g.Lit.Value; g.Lit.Type {
	case tString:
		return stringLit(lit, pos, &c.diags)
	case tRawString:
		return rawStringLit(lit, pos, &c.diags)
	case tInt:
		n, err := value.ParseUint(strings.TrimPrefix(lit, "-"))
		if strings.HasPrefix(lit, "-") && err == nil {
			err = strconv.ErrSyntax
		}
		if err != nil {
			if strings.HasPrefix(lit, "-") {
				c.errorf(s.S, "syntax", `GXL integers are unsigned (0 to 18446744073709551615); write a negative number as a string: "`+lit+`"`, "negative integer %s is not supported", lit)
			} else {
				c.errorf(s.S, "syntax", "integers are unsigned 64-bit: 0 to 18446744073709551615", "integer %s out of range", lit)
			}
		}
		return &ast.NumberLit{Sp: s, Text: lit, Int: n}
	case tFloat:
		f, ok := value.ParseNumber(lit)
		if !ok {
			c.errorf(s.S, "syntax", "", "invalid number %s", lit)
		}
		return &ast.NumberLit{Sp: s, Text: lit, IsFloat: true, Float: f}
	case tBool:
		b, _ := value.ParseBool(lit)
		return &ast.BoolLit{Sp: s, Text: lit, Value: b}
	case tVarRef:
		return c.varRef(lit, pos, true)
	}
	switch {
	case g.List != nil:
		l := &ast.ListLit{Sp: s}
		for _, e := range g.List.Elems {
			l.Elems = append(l.Elems, c.value(e))
		}
		return l
	case g.Obj != nil:
		o := &ast.ObjectLit{Sp: s, Entries: make([]*ast.ObjEntry, 0, len(g.Obj.Entries))}
		// Keys are case-insensitive; the original keeps the last value,
		// so a program may give one twice: a warning. Small objects are
		// searched, large ones indexed (no quadratic time on a literal of
		// many thousand keys).
		var seen map[string]*ast.Ident
		if len(g.Obj.Entries) > 16 {
			seen = make(map[string]*ast.Ident, len(g.Obj.Entries))
		}
		for _, e := range g.Obj.Entries {
			en := &ast.ObjEntry{Sp: tsp(e.Tokens), Key: c.key(e.Key), Value: c.value(e.Value)}
			if en.Key != nil {
				var first *ast.Ident
				if seen != nil {
					k := strings.ToLower(en.Key.Name)
					if first = seen[k]; first == nil {
						seen[k] = en.Key
					}
				} else {
					for _, prev := range o.Entries {
						if prev.Key != nil && strings.EqualFold(prev.Key.Name, en.Key.Name) {
							first = prev.Key
							break
						}
					}
				}
				if first != nil {
					d := diag.Warnf(en.Key.Span(), "dup-key", "key `%s` is given twice in this object: the last value counts", en.Key.Name).
						WithRelated(first.Span(), "first given here")
					d.Hint = "remove one of them (keys are case-insensitive)"
					c.diags.Add(d)
				}
			}
			o.Entries = append(o.Entries, en)
		}
		return o
	}
	return nil
}
