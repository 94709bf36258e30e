package syntax

import (
	"errors"

	"github.com/gxl-dev/gxl/lang/ast"

	"github.com/alecthomas/participle/v2/lexer"
)

// The fast path. participle's reflective parser is the grammar of record
// (grammar.go) and produces every syntax error, but it parses a few MB/s.
// fastParser is a hand-written recursive-descent transcription of the same
// grammar, in one pass without backtracking, that builds the AST the
// converter would build from participle's tree (fastast.go); the rarer
// constructs are still parsed into g* structs (this file), with the same
// Pos/EndPos, and converted. Parse runs it first and falls back to
// participle when it fails, so errors are participle's; TestFastMatches and
// FuzzFastMatches check that both produce identical ASTs.

var errFast = errors.New("fast path gave up")

// ftok is a compact token: positions are plain integers and
// lexer.Positions are built on demand.
type ftok struct {
	Type             lexer.TokenType
	Value            string
	off, line, col   int32
	eoff, eline, ecl int32 // position just after the token
}

// EOF reports the end of input.
func (t *ftok) EOF() bool { return t.Type == lexer.EOF }

type fastParser struct {
	name string // file name for positions
	sc   *scanner
	// The parser never backtracks and looks at most 2 tokens ahead, so
	// tokens are lexed on demand into a small ring instead of a slice of
	// the whole file.
	buf  [fastRing]ftok
	head int            // ring index of the current token
	n    int            // tokens buffered from head
	last lexer.Position // end of the last consumed token

	c     *converter  // for the constructs still built as g* trees
	parts []ast.Ident // scratch for scanPath
	stk   []ast.Stmt  // statements of the open blocks
}

const fastRing = 4 // a power of two > max lookahead

// newFastParser prepares a lazy scan of src. A lexer error stops the fast
// path (participle re-lexes and reports it).
func newFastParser(sc *scanner) *fastParser {
	sc.str = string(sc.src)
	return &fastParser{name: sc.file, sc: sc}
}

// done restores the scanner's settings after the fast path.
func (p *fastParser) done() { p.sc.str = "" }

// fill makes sure the k-th token from the current one is buffered.
func (p *fastParser) fill(k int) {
	sc := p.sc
	for p.n <= k {
		t := &p.buf[(p.head+p.n)&(fastRing-1)]
		// Whitespace is skipped here, not returned as tokens (it is half
		// of the scanner's tokens).
		sc.skipSpace()
		if sc.off >= len(sc.src) {
			*t = ftok{Type: lexer.EOF, off: int32(sc.off), line: int32(sc.line), col: int32(sc.col),
				eoff: int32(sc.off), eline: int32(sc.line), ecl: int32(sc.col)}
			p.n++
			continue
		}
		start := lexer.Position{Filename: sc.file, Offset: sc.off, Line: sc.line, Column: sc.col}
		typ := sc.lex(&start)
		switch typ {
		case tWhitespace, tComment:
			continue
		case tError:
			panic(errFast)
		}
		// The scanner stands just after the token.
		*t = ftok{Type: typ, Value: sc.str[start.Offset:sc.off],
			off: int32(start.Offset), line: int32(start.Line), col: int32(start.Column),
			eoff: int32(sc.off), eline: int32(sc.line), ecl: int32(sc.col)}
		p.n++
	}
}

func (p *fastParser) peek() *ftok {
	if p.n == 0 {
		p.fill(0)
	}
	return &p.buf[p.head]
}

// peekAt returns the n-th token ahead (n <= 2); past the end it is EOF,
// which the scanner repeats.
func (p *fastParser) peekAt(n int) *ftok {
	p.fill(n)
	return &p.buf[(p.head+n)&(fastRing-1)]
}

func (p *fastParser) pos() lexer.Position {
	t := p.peek()
	return lexer.Position{Filename: p.name, Offset: int(t.off), Line: int(t.line), Column: int(t.col)}
}

func (p *fastParser) next() *ftok {
	t := p.peek()
	if !t.EOF() {
		p.last = lexer.Position{Filename: p.name, Offset: int(t.eoff), Line: int(t.eline), Column: int(t.ecl)}
		p.head = (p.head + 1) & (fastRing - 1)
		p.n--
	}
	return t
}

// is reports whether the current token has the given text (punctuation or
// keyword) — participle's literal match compares values.
func (p *fastParser) is(v string) bool {
	t := p.peek()
	return !t.EOF() && t.Value == v && t.Type != tString && t.Type != tRawString && t.Type != tCmdBlock && t.Type != tVarRef
}

func (p *fastParser) isAt(n int, v string) bool {
	t := p.peekAt(n)
	return !t.EOF() && t.Value == v && t.Type != tString && t.Type != tRawString && t.Type != tCmdBlock && t.Type != tVarRef
}

// elem reports whether element i of a comma-separated list closed by close
// follows, consuming the comma before it; a trailing comma is allowed.
// Use: for i := 0; p.elem(i, ")"); i++ { ... }; p.expect(")").
func (p *fastParser) elem(i int, close string) bool {
	if i == 0 {
		return !p.is(close)
	}
	if p.is(",") && !p.isAt(1, close) {
		p.next()
		return true
	}
	p.accept(",")
	return false
}

func (p *fastParser) expect(v string) {
	if !p.is(v) {
		panic(errFast)
	}
	p.next()
}

func (p *fastParser) accept(v string) bool {
	if p.is(v) {
		p.next()
		return true
	}
	return false
}

func (p *fastParser) ident() *gIdent {
	if p.peek().Type != tIdent {
		panic(errFast)
	}
	g := &gIdent{Pos: p.pos()}
	g.Name = p.next().Value
	g.EndPos = p.last
	return g
}

func (p *fastParser) path() *gPath {
	g := &gPath{Pos: p.pos()}
	g.Parts = append(g.Parts, p.ident())
	for p.is(".") && p.peekAt(1).Type == tIdent {
		p.next()
		g.Parts = append(g.Parts, p.ident())
	}
	g.EndPos = p.last
	return g
}

func (p *fastParser) extern() *gExtern {
	g := &gExtern{Pos: p.pos()}
	p.expect("extern")
	p.expect("mod")
	g.Names = append(g.Names, p.ident())
	for p.accept(",") {
		g.Names = append(g.Names, p.ident())
	}
	p.expect("{")
	for !p.is("}") {
		pr := &gExternProp{Pos: p.pos()}
		pr.Key = p.ident()
		p.expect("=")
		pr.Value = p.value()
		pr.EndPos = p.last
		g.Props = append(g.Props, pr)
		if !p.accept(";") {
			p.accept(",")
		}
	}
	p.expect("}")
	p.accept(";")
	g.EndPos = p.last
	return g
}

func (p *fastParser) close() *gClose {
	g := &gClose{Pos: p.pos()}
	p.expect("}")
	g.Tok = "}"
	return g
}

func (p *fastParser) ref() *gRef {
	g := &gRef{Pos: p.pos()}
	g.At = p.accept("@")
	if p.peek().Type == tVarRef {
		v := p.next().Value
		g.Var = &v
	} else {
		g.Path = p.path()
	}
	g.EndPos = p.last
	return g
}

func (p *fastParser) startsRef() bool {
	t := p.peek()
	return t.Type == tIdent || t.Type == tVarRef || p.is("@")
}

func (p *fastParser) refList() []*gRef {
	var out []*gRef
	if p.startsRef() {
		out = append(out, p.ref())
		for p.accept(",") {
			out = append(out, p.ref())
		}
	}
	return out
}

func (p *fastParser) param() *gParam {
	g := &gParam{Pos: p.pos()}
	g.Star = p.accept("*")
	g.Name = p.ident()
	if p.accept("=") {
		g.Default = p.value()
	}
	g.EndPos = p.last
	return g
}

func (p *fastParser) activity() *gActivity {
	g := &gActivity{Pos: p.pos()}
	p.expect("activity")
	g.Name = p.ident()
	p.expect("{")
	for !p.is("}") {
		g.Params = append(g.Params, p.param())
		if !p.accept(";") {
			p.accept(",")
		}
	}
	g.RBrace = p.close()
	p.accept(";")
	g.EndPos = p.last
	return g
}

func (p *fastParser) braces() *gBraces {
	g := &gBraces{Pos: p.pos()}
	p.expect("{")
	for !p.is("}") {
		e := &gBraceEntry{Pos: p.pos()}
		e.Key = p.path()
		if p.accept(":") {
			e.Colon = true
		} else {
			p.expect("=")
		}
		e.Value = p.value()
		e.EndPos = p.last
		g.Entries = append(g.Entries, e)
		if !p.accept(";") {
			p.accept(",")
		}
	}
	g.RBrace = p.close()
	g.EndPos = p.last
	return g
}

var boolWords = map[string]bool{"true": true, "TRUE": true, "false": true, "FALSE": true}

func (p *fastParser) startsValue() bool {
	t := p.peek()
	switch t.Type {
	case tString, tRawString, tFloat, tInt, tVarRef:
		return true
	case tIdent:
		return boolWords[t.Value]
	}
	return p.is("[") || p.is("{")
}

func (p *fastParser) value() *gValue {
	g := &gValue{Pos: p.pos()}
	t := p.peek()
	switch {
	case t.Type == tString:
		v := p.next().Value
		g.Str = &v
	case t.Type == tRawString:
		v := p.next().Value
		g.Raw = &v
	case t.Type == tFloat:
		v := p.next().Value
		g.Float = &v
	case t.Type == tInt:
		v := p.next().Value
		g.Int = &v
	case t.Type == tIdent && boolWords[t.Value]:
		v := p.next().Value
		g.Bool = &v
	case t.Type == tVarRef:
		v := p.next().Value
		g.Var = &v
	case p.is("["):
		l := &gList{Pos: p.pos()}
		p.next()
		for i := 0; p.elem(i, "]"); i++ {
			l.Elems = append(l.Elems, p.value())
		}
		p.expect("]")
		l.EndPos = p.last
		g.List = l
	case p.is("{"):
		o := &gObj{Pos: p.pos()}
		p.next()
		for i := 0; p.elem(i, "}"); i++ {
			o.Entries = append(o.Entries, p.objEntry())
		}
		p.expect("}")
		o.EndPos = p.last
		g.Obj = o
	default:
		panic(errFast)
	}
	g.EndPos = p.last
	return g
}

func (p *fastParser) objEntry() *gObjEntry {
	g := &gObjEntry{Pos: p.pos()}
	g.Key = p.path()
	p.expect(":")
	g.Value = p.value()
	g.EndPos = p.last
	return g
}
