package syntax

import (
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
)

// The fast path builds the AST directly for the frequent constructs (mods,
// flows, blocks, statements, calls, values), skipping the g* tree and the
// conversion step; rarer constructs (externs, annotations, env, fn,
// activity, flow heads, conditions) are parsed into g* nodes and handed to
// the converter, as before. Everything the converter would report makes
// the fast path give up, so diagnostics always come from the participle
// parse and the converter; TestFastMatches and FuzzFastMatches check that
// the trees are identical.

// fileAST parses a whole file into AST items.
func (p *fastParser) fileAST() (items []ast.TopItem, err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errFast {
				panic(r)
			}
			items, err = nil, errFast
		}
	}()
	p.c = &converter{a: &arena{}}
	for !p.peek().EOF() {
		switch {
		case p.is("extern"):
			items = append(items, p.c.extern(p.extern()))
		case p.is(";"):
			p.next()
		default:
			items = append(items, p.modAST())
		}
	}
	if len(p.c.diags) > 0 {
		return nil, errFast
	}
	return items, nil
}

func (p *fastParser) modAST() *ast.Mod {
	c := p.c
	start := p.pos()
	m := put(&p.c.a.mods, ast.Mod{Annotations: p.annotationsAST()})
	p.expect("mod")
	m.Name = p.identNode()
	if p.accept(":") {
		m.HasColon = true
		if p.peek().Type == tIdent {
			m.Parents = append(m.Parents, c.path(p.path()))
			for p.accept(",") {
				m.Parents = append(m.Parents, c.path(p.path()))
			}
		}
	}
	p.expect("{")
	for !p.is("}") {
		if p.peek().EOF() {
			panic(errFast)
		}
		p.modItemAST(m)
	}
	p.expect("}")
	p.accept(";")
	m.Sp = sp(start, p.last)
	return m
}

func (p *fastParser) modItemAST(m *ast.Mod) {
	c := p.c
	group := c.group
	anns := p.annotationsAST()
	if p.is(";") {
		// The converter drops annotations before a stray `;` unconverted:
		// their groups are not counted.
		c.group = group
		p.next()
		return
	}
	next := p.peekAt(1)
	switch {
	case p.is("env") && next.Type == tIdent:
		e := p.envAST()
		e.Annotations = anns
		m.Items = append(m.Items, e)
	case p.is("flow") && (next.Type == tIdent || next.Type == tVarRef || p.isAt(1, "@")):
		f := p.flowAST()
		if f == nil {
			panic(errFast)
		}
		f.Annotations = anns
		m.Items = append(m.Items, f)
	case p.is("fn") && next.Type == tIdent:
		f := p.fnAST()
		f.Annotations = anns
		m.Items = append(m.Items, f)
	case p.is("activity") && next.Type == tIdent:
		a := c.activity(p.activity())
		a.Annotations = anns
		m.Items = append(m.Items, a)
	default:
		s := p.pathStmtAST()
		a, ok := s.(*ast.Assign)
		if len(anns) > 0 || !ok {
			panic(errFast)
		}
		m.Items = append(m.Items, a)
	}
}

// bodyOrSemiAST is `{ ... }` with an optional `;`, or `;` (nil).
func (p *fastParser) bodyOrSemiAST() *ast.Block {
	if p.is("{") {
		b := p.blockAST()
		p.accept(";")
		return b
	}
	p.expect(";")
	return nil
}

// envAST is converter.env over the g* head.
func (p *fastParser) envAST() *ast.Env {
	start := p.pos()
	p.expect("env")
	e := &ast.Env{Name: p.identNode()}
	if p.accept(":") {
		e.HasColon = true
		for _, r := range p.refList() {
			e.Mixins = append(e.Mixins, p.c.ref(r, false))
		}
	}
	e.Body = p.bodyOrSemiAST()
	e.Sp = sp(start, p.last)
	return e
}

// fnAST is converter.fn.
func (p *fastParser) fnAST() *ast.Fn {
	start := p.pos()
	p.expect("fn")
	f := &ast.Fn{Name: p.identNode()}
	p.expect("(")
	var params []*gParam
	for i := 0; p.elem(i, ")"); i++ {
		params = append(params, p.param())
	}
	p.expect(")")
	f.Params = p.c.params(params)
	f.Body = p.bodyOrSemiAST()
	f.Sp = sp(start, p.last)
	return f
}

func (p *fastParser) flowAST() *ast.Flow {
	if p.peekAt(1).Type == tIdent && p.isAt(2, "{") {
		// The plain form `flow name { ... }`, as converter.flowWith
		// builds it.
		start := p.pos()
		p.next()
		f := put(&p.c.a.flows, ast.Flow{Form: ast.FlowPlain, Name: p.identNode()})
		f.Body = p.blockAST()
		p.accept(";")
		f.Sp = sp(start, p.last)
		return f
	}
	g := &gFlow{Pos: p.pos()}
	p.expect("flow")
	g.First = p.ref()
	switch {
	case p.accept(":"):
		g.Colon = true
		g.Pre = p.refList()
		if p.accept(":") {
			g.PostColon = true
			g.Post = p.refList()
		}
	case p.is("|"):
		for p.accept("|") {
			g.Pipe = append(g.Pipe, p.ref())
		}
	case p.is("~"):
		for p.accept("~") {
			g.Tilde = append(g.Tilde, p.ref())
		}
	}
	body := p.bodyOrSemiAST()
	g.EndPos = p.last
	return p.c.flowWith(g, body)
}

func (p *fastParser) blockAST() *ast.Block {
	start := p.pos()
	p.expect("{")
	base := len(p.stk)
	for !p.is("}") {
		if p.peek().EOF() {
			panic(errFast)
		}
		if st := p.stmtAST(); st != nil {
			p.stk = append(p.stk, st)
		}
	}
	p.expect("}")
	b := one(&p.c.a.blocks)
	*b = ast.Block{Sp: sp(start, p.last)}
	if n := len(p.stk) - base; n > 0 {
		b.Stmts = many(&p.c.a.stmts, n)
		copy(b.Stmts, p.stk[base:])
		clear(p.stk[base:])
		p.stk = p.stk[:base]
	}
	return b
}

func (p *fastParser) stmtAST() ast.Stmt {
	switch {
	case p.is("if") && !p.isAt(1, "=") && !p.isAt(1, "."):
		return p.ifAST()
	case p.is("for") && !p.isAt(1, "=") && !p.isAt(1, "."):
		return p.forAST()
	case p.peek().Type == tCmdBlock:
		pos := p.pos()
		return cmdBlock(p.next().Value, toDiagPos(pos), &p.c.diags)
	case p.is(";"):
		p.next()
		return nil
	}
	return p.pathStmtAST()
}

func (p *fastParser) ifAST() *ast.If {
	start := p.pos()
	p.expect("if")
	s := put(&p.c.a.ifs, ast.If{Cond: p.orAST()})
	s.Then = p.blockAST()
	for p.is("else") && p.isAt(1, "if") {
		eis := p.pos()
		p.next()
		p.next()
		cond := p.orAST()
		then := p.blockAST()
		s.ElseIfs = append(s.ElseIfs, &ast.ElseIf{Sp: sp(eis, p.last), Cond: cond, Then: then})
	}
	if p.accept("else") {
		s.Else = p.blockAST()
	}
	p.accept(";")
	s.Sp = sp(start, p.last)
	return s
}

func (p *fastParser) forAST() ast.Stmt {
	start := p.pos()
	p.expect("for")
	v := p.valueAST()
	p.expect("in")
	in := p.valueAST()
	body := p.blockAST()
	p.accept(";")
	f := put(&p.c.a.fors, ast.For{Sp: sp(start, p.last), Body: body})
	f.Var = p.c.loopRefExpr(v, "loop variable")
	f.In = p.c.loopRefExpr(in, "list")
	if f.Var == nil || f.In == nil {
		panic(errFast)
	}
	return f
}

// scanPath reads a dotted path into p.parts (reused: the caller turns it
// into a node before parsing anything else).
func (p *fastParser) scanPath() lexer.Position {
	start := p.pos()
	p.parts = p.parts[:0]
	p.parts = append(p.parts, p.identVal())
	for p.is(".") && p.peekAt(1).Type == tIdent {
		p.next()
		p.parts = append(p.parts, p.identVal())
	}
	return start
}

func (p *fastParser) identVal() ast.Ident {
	if p.peek().Type != tIdent {
		panic(errFast)
	}
	start := p.pos()
	name := p.next().Value
	return ast.Ident{Sp: sp(start, p.last), Name: name}
}

func (p *fastParser) identNode() *ast.Ident {
	id := one(&p.c.a.idents)
	*id = p.identVal()
	return id
}

// pathName is the dotted name of the scanned path, from start to p.last.
// When the parts were written without spaces it is the source text itself.
func (p *fastParser) pathName(start lexer.Position) string {
	if len(p.parts) == 1 {
		return p.parts[0].Name
	}
	n := len(p.parts) - 1
	for i := range p.parts {
		n += len(p.parts[i].Name)
	}
	if p.last.Offset-start.Offset == n && p.sc.str != "" {
		return p.sc.str[start.Offset:p.last.Offset]
	}
	names := make([]string, len(p.parts))
	for i := range p.parts {
		names[i] = p.parts[i].Name
	}
	return strings.Join(names, ".")
}

// pathNode turns the scanned path into an *ast.Path.
func (p *fastParser) pathNode(start lexer.Position) *ast.Path {
	a := p.c.a
	ids := many(&a.idents, len(p.parts))
	copy(ids, p.parts)
	parts := many(&a.identPtr, len(ids))
	for i := range ids {
		parts[i] = &ids[i]
	}
	path := one(&a.paths)
	*path = *ast.NewPathNamed(sp(start, p.last), parts, p.pathName(start))
	return path
}

// keyNode turns the scanned path into one Ident ("a.b"), as converter.key.
func (p *fastParser) keyNode(start lexer.Position) *ast.Ident {
	id := one(&p.c.a.idents)
	*id = ast.Ident{Sp: sp(start, p.last), Name: p.pathName(start)}
	return id
}

func (p *fastParser) pathStmtAST() ast.Stmt {
	c := p.c
	start := p.scanPath()
	switch {
	case p.is("="):
		key := p.keyNode(start)
		p.next()
		v := p.valueAST()
		if !p.accept(";") {
			p.accept(",")
		}
		as := one(&c.a.assigns)
		*as = ast.Assign{Sp: sp(start, p.last), Key: key, Value: v}
		return as
	case p.is("("):
		target := p.pathNode(start)
		if target.String() == "gx.defined" {
			panic(errFast)
		}
		args := p.callArgsAST()
		p.accept(";")
		call := one(&c.a.calls)
		*call = ast.Call{Sp: sp(start, p.last), Target: target, Args: args}
		return call
	case p.is("{"):
		target := p.pathNode(start)
		if target.String() != "gx.vars" {
			panic(errFast)
		}
		gb := p.braces()
		p.accept(";")
		vb := &ast.VarsBlock{Sp: sp(start, p.last), Target: target}
		for _, e := range gb.Entries {
			if e.Colon {
				panic(errFast)
			}
			vb.Assigns = append(vb.Assigns, &ast.Assign{Sp: sp(e.Pos, e.EndPos), Key: c.key(e.Key), Value: c.value(e.Value)})
		}
		return vb
	}
	panic(errFast)
}

func (p *fastParser) callArgsAST() []*ast.Arg {
	p.expect("(")
	var buf [8]*ast.Arg
	args := buf[:0]
	for i := 0; p.elem(i, ")"); i++ {
		args = append(args, p.argAST())
	}
	p.expect(")")
	if len(args) == 0 {
		return nil
	}
	out := many(&p.c.a.argPtr, len(args))
	copy(out, args)
	return out
}

func (p *fastParser) argAST() *ast.Arg {
	start := p.pos()
	var key *ast.Ident
	if p.peek().Type == tIdent && p.isAt(1, ":") {
		key = p.identNode()
		p.next()
	}
	v := p.valueAST()
	a := one(&p.c.a.args)
	*a = ast.Arg{Sp: sp(start, p.last), Key: key, Value: v}
	return a
}

func isBoolWord(s string) bool {
	switch s {
	case "true", "TRUE", "false", "FALSE":
		return true
	}
	return false
}

func (p *fastParser) valueAST() ast.Expr {
	c := p.c
	start := p.pos()
	t := p.peek()
	switch {
	case t.Type == tString:
		return stringLit(p.next().Value, toDiagPos(start), &c.diags, c.a)
	case t.Type == tRawString:
		return rawStringLit(p.next().Value, toDiagPos(start), &c.diags)
	case t.Type == tInt:
		v := p.next().Value
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			panic(errFast)
		}
		return put(&p.c.a.nums, ast.NumberLit{Sp: sp(start, p.last), Text: v, Int: n})
	case t.Type == tFloat:
		v := p.next().Value
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(errFast)
		}
		return put(&p.c.a.nums, ast.NumberLit{Sp: sp(start, p.last), Text: v, IsFloat: true, Float: f})
	case t.Type == tIdent && isBoolWord(t.Value):
		v := p.next().Value
		return put(&p.c.a.bools, ast.BoolLit{Sp: sp(start, p.last), Text: v, Value: strings.EqualFold(v, "true")})
	case t.Type == tVarRef:
		return c.varRef(p.next().Value, toDiagPos(start), true)
	case p.is("["):
		p.next()
		l := put(&p.c.a.lists, ast.ListLit{})
		var buf [8]ast.Expr
		elems := buf[:0]
		for i := 0; p.elem(i, "]"); i++ {
			elems = append(elems, p.valueAST())
		}
		p.expect("]")
		if len(elems) > 0 {
			l.Elems = many(&c.a.exprs, len(elems))
			copy(l.Elems, elems)
		}
		l.Sp = sp(start, p.last)
		return l
	case p.is("{"):
		p.next()
		o := put(&p.c.a.objs, ast.ObjectLit{})
		for i := 0; p.elem(i, "}"); i++ {
			o.Entries = append(o.Entries, p.objEntryAST())
		}
		p.expect("}")
		o.Sp = sp(start, p.last)
		return o
	}
	panic(errFast)
}

func (p *fastParser) objEntryAST() *ast.ObjEntry {
	start := p.scanPath()
	key := p.keyNode(start)
	p.expect(":")
	v := p.valueAST()
	return &ast.ObjEntry{Sp: sp(start, p.last), Key: key, Value: v}
}

// Conditions, as converter.or/and/cmp/unary/prim build them; the forms the
// converter reports (`=`, chained comparisons, gx.defined, bare names,
// defined() of a non-reference) give up.

func (p *fastParser) orAST() ast.Cond  { return p.chainAST("||", p.andAST) }
func (p *fastParser) andAST() ast.Cond { return p.chainAST("&&", p.cmpAST) }

// chainAST parses operands joined by op, left-associative.
func (p *fastParser) chainAST(op string, operand func() ast.Cond) ast.Cond {
	x := operand()
	for p.is(op) {
		opPos := p.pos()
		op := p.next().Value
		y := operand()
		x = put(&p.c.a.cbins, ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: op, OpPos: span(opPos, opPos), L: x, R: y})
	}
	return x
}

func (p *fastParser) cmpAST() ast.Cond {
	x := p.unaryAST()
	for i := 0; p.peek().Type == tPunct && isCmpOp(p.peek().Value); i++ {
		opPos := p.pos()
		op := p.next().Value
		if op == "=" || i > 0 {
			panic(errFast)
		}
		opSpan := span(opPos, opPos)
		opSpan.End = opSpan.Start.Advance(op)
		y := p.unaryAST()
		x = put(&p.c.a.cbins, ast.CondBinary{Sp: ast.Sp{S: diag.Join(x.Span(), y.Span())}, Op: op, OpPos: opSpan, L: x, R: y})
	}
	return x
}

func (p *fastParser) unaryAST() ast.Cond {
	start := p.pos()
	if p.accept("!") {
		x := p.unaryAST()
		return put(&p.c.a.cuns, ast.CondUnary{Sp: sp(start, p.last), Op: "!", X: x})
	}
	return p.primAST()
}

func (p *fastParser) primAST() ast.Cond {
	start := p.pos()
	switch {
	case p.accept("("):
		x := p.orAST()
		p.expect(")")
		return put(&p.c.a.cparens, ast.CondParen{Sp: sp(start, p.last), X: x})
	case p.is("defined") && p.isAt(1, "("):
		p.next()
		p.next()
		if p.peek().Type == tIdent && p.isAt(1, ":") {
			p.ident()
			p.next()
		}
		r, ok := p.valueAST().(*ast.VarRef)
		if !ok {
			panic(errFast)
		}
		p.expect(")")
		return put(&p.c.a.cdefs, ast.CondDefined{Sp: sp(start, p.last), Var: r})
	case p.is("gx") && p.isAt(1, ".") && p.isAt(2, "defined"):
		panic(errFast)
	case p.startsValue():
		x := p.valueAST()
		return put(&p.c.a.cops, ast.CondOperand{Sp: sp(start, p.last), X: x})
	}
	panic(errFast)
}

// annotationsAST parses annotation groups as converter.annotations
// converts them.
func (p *fastParser) annotationsAST() []*ast.Annotation {
	var out []*ast.Annotation
	for p.peek().Type == tAnnOpen {
		p.c.group++
		p.next()
		out = append(out, p.annAST())
		for i := 1; p.elem(i, "]"); i++ {
			out = append(out, p.annAST())
		}
		p.expect("]")
	}
	return out
}

func (p *fastParser) annAST() *ast.Annotation {
	start := p.pos()
	a := put(&p.c.a.anns, ast.Annotation{Name: p.identNode(), Group: p.c.group})
	if p.accept("(") {
		a.Args = []*ast.AnnArg{}
		for i := 0; p.elem(i, ")"); i++ {
			a.Args = append(a.Args, p.annArgAST())
		}
		p.expect(")")
	}
	a.Sp = sp(start, p.last)
	return a
}

func (p *fastParser) annArgAST() *ast.AnnArg {
	start := p.pos()
	aa := put(&p.c.a.annArgs, ast.AnnArg{})
	if p.peek().Type == tIdent && p.isAt(1, "=") {
		aa.Key = p.identNode()
		p.next()
	}
	if p.startsValue() {
		aa.Value = p.valueAST()
	} else {
		ws := p.scanPath()
		aa.Value = put(&p.c.a.words, ast.Word{Sp: sp(ws, p.last), Text: p.pathName(ws)})
	}
	aa.Sp = sp(start, p.last)
	return aa
}

// isCmpOp is cmpOps as a switch.
func isCmpOp(v string) bool {
	switch v {
	case "==", "!=", "=*", "<=", ">=", "<", ">", "=":
		return true
	}
	return false
}
