package syntax

import (
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
)

// Parse parses one file. It never panics; on a syntax error it returns a
// nil file and positioned diagnostics.
func Parse(filename string, src []byte) (f *ast.File, diags diag.List) {
	defer func() {
		if r := recover(); r != nil {
			f = nil
			diags = append(diags, diag.Errorf(diag.Span{Start: diag.Pos{File: filename}}, "internal",
				"internal parser error: %v", r).WithHint("please report this as a gxl bug with the file attached"))
		}
	}()
	sc := newScanner(filename, src)
	toks := sc.all()
	if d, ok := scanFailed(sc, nil); ok {
		return nil, d
	}
	g := parseSplit(toks)
	if g == nil {
		var err error
		g, err = fileParser.ParseFromLexer(peekingOf(toks))
		if err != nil {
			return nil, diag.List{parseError(err, filename, func() *scanner { return newScanner(filename, src) }, nodeWords["GTop"])}
		}
	}
	c := &converter{}
	file := &ast.File{Path: filename, Src: src, Comments: sc.comments}
	file.S = diag.Span{Start: diag.Pos{File: filename, Line: 1, Col: 1}, End: sc.dpos()}
	c.file(g, file)
	return file, c.diags.Normalize()
}

// ParseStmts parses statements as they appear inside a flow block (the
// REPL's input), with positions based at `at`.
func ParseStmts(filename string, src []byte, at diag.Pos) (stmts []ast.Stmt, diags diag.List) {
	defer func() {
		if r := recover(); r != nil {
			stmts = nil
			diags = append(diags, diag.Errorf(diag.Span{Start: at}, "internal", "internal parser error: %v", r))
		}
	}()
	sc := newScannerAt(filename, src, at)
	g, err := stmtsParser.ParseFromLexer(mustPeek(sc))
	if d, ok := scanFailed(sc, err); ok {
		return nil, d
	}
	if err != nil {
		return nil, diag.List{parseError(err, filename, func() *scanner { return newScannerAt(filename, src, at) }, "a statement")}
	}
	c := &converter{}
	stmts = c.stmts(g.Stmts)
	return stmts, c.diags.Normalize()
}

// ParseCond parses a condition (REPL expressions), positions based at `at`.
func ParseCond(filename string, src []byte, at diag.Pos) (cond ast.Cond, diags diag.List) {
	defer func() {
		if r := recover(); r != nil {
			cond = nil
			diags = append(diags, diag.Errorf(diag.Span{Start: at}, "internal", "internal parser error: %v", r))
		}
	}()
	sc := newScannerAt(filename, src, at)
	g, err := condParser.ParseFromLexer(mustPeek(sc))
	if d, ok := scanFailed(sc, err); ok {
		return nil, d
	}
	if err != nil {
		return nil, diag.List{parseError(err, filename, func() *scanner { return newScannerAt(filename, src, at) }, "")}
	}
	c := &converter{}
	cond = c.or(g)
	return cond, c.diags.Normalize()
}

func newScannerAt(filename string, src []byte, at diag.Pos) *scanner {
	sc := newScanner(filename, src)
	if at.IsValid() {
		// Positions continue from `at`; offsets stay relative to src so the
		// scanner can index it, and are shifted when reported.
		sc.line, sc.col = at.Line, at.Col
	}
	return sc
}

// all scans every token (EOF last) into an array sized for the input:
// growing it token by token would copy it many times over.
func (s *scanner) all() []lexer.Token {
	toks := make([]lexer.Token, 0, len(s.src)/3+16)
	for {
		t, _ := s.Next()
		toks = append(toks, t)
		if t.EOF() {
			return toks
		}
	}
}

func mustPeek(sc *scanner) *lexer.PeekingLexer {
	pl, err := lexer.Upgrade(sc, symbols["Whitespace"], symbols["Comment"])
	if err != nil {
		// Upgrade only fails when the lexer fails, and ours reports errors
		// as tokens.
		panic(err)
	}
	return pl
}

// scanFailed returns the lexer's diagnostics when the scan hit an error
// token: they are more precise than participle's "unexpected token".
func scanFailed(sc *scanner, err error) (diag.List, bool) {
	if len(sc.diags) > 0 {
		return sc.diags.Normalize(), true
	}
	return nil, false
}
