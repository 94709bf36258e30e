package repl

import (
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// Complete reports whether text is a whole input: every brace, bracket
// and parenthesis closed, and no string, raw string, ```cmd block or
// /* comment left open. The prompt keeps reading lines until it is.
// Extra closers count as complete: the parser reports them.
func Complete(text string) bool {
	depth := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '"':
			j := skipString(text, i)
			if j < 0 {
				return false
			}
			i = j
		case c == 'r' && strings.HasPrefix(text[i:], `r#"`) && (i == 0 || !isWordByte(text[i-1])):
			end := strings.Index(text[i+3:], `"#`)
			if end < 0 {
				return false
			}
			i += 3 + end + 1
		case strings.HasPrefix(text[i:], "```"):
			end := strings.Index(text[i+3:], "```")
			if end < 0 {
				return false
			}
			i += 3 + end + 2
		case strings.HasPrefix(text[i:], "//"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				return depth <= 0
			}
			i += end
		case c == '#' && !strings.HasPrefix(text[i:], "#["):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				return depth <= 0
			}
			i += end
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += 2 + end + 1
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
		}
	}
	return depth <= 0
}

// skipString returns the index of the quote closing the string opened at
// text[i], or -1 when the string is still open. A string ends at the end
// of its line (GXL strings do not span lines): the parser reports it.
func skipString(text string, i int) int {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++
		case '"':
			return j
		case '\n':
			return j
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// inputKind tells what a line of input is.
type inputKind int

const (
	kindStmts inputKind = iota // statements (assignments, calls, if, for, ```cmd```)
	kindValue                  // a value: "text ${X}", ${X}, 3, [..], {..}
	kindCond                   // a condition: ${X} == "a" && defined(${Y})
)

// parsed is one input, parsed.
type parsed struct {
	kind  inputKind
	stmts []ast.Stmt
	value ast.Expr
	cond  ast.Cond
}

// parseInput parses text typed at the prompt, whose first line is line
// `at.Line` of the session's input file: as statements, else as a value,
// else as a condition. On failure it returns the diagnostics of the
// reading that got furthest (statements win a tie unless the input
// starts like a value).
func parseInput(text string, at diag.Pos) (*parsed, diag.List) {
	stmts, sd := syntax.ParseStmts(at.File, []byte(text), at)
	if !sd.HasErrors() && len(stmts) > 0 {
		return &parsed{kind: kindStmts, stmts: stmts}, sd
	}
	// A value is parsed as the right-hand side of an assignment written on
	// the line before the input, so positions stay those of the input.
	prefix := "__repl_value__ =\n"
	before := diag.Pos{File: at.File, Line: at.Line - 1, Col: 1}
	vs, vd := syntax.ParseStmts(at.File, []byte(prefix+text+"\n;"), before)
	if !vd.HasErrors() && len(vs) == 1 {
		if a, ok := vs[0].(*ast.Assign); ok && a.Value != nil {
			return &parsed{kind: kindValue, value: a.Value}, nil
		}
	}
	cond, cd := syntax.ParseCond(at.File, []byte(text), at)
	if !cd.HasErrors() && cond != nil {
		return &parsed{kind: kindCond, cond: cond}, nil
	}
	if len(stmts) == 0 && !sd.HasErrors() {
		return &parsed{kind: kindStmts}, nil // only comments or blanks
	}
	best := sd
	if looksLikeValue(text) {
		best = cd
		if further(vd, cd) && inside(vd, at, text) {
			best = vd
		}
	} else if further(cd, sd) && further(cd, vd) {
		best = cd
	}
	return nil, best
}

// looksLikeValue reports whether the input starts like a value or a
// condition rather than a statement.
func looksLikeValue(text string) bool {
	t := strings.TrimSpace(text)
	if t == "" {
		return false
	}
	switch t[0] {
	case '$', '"', '[', '{', '(', '!', '\'':
		return true
	}
	if t[0] >= '0' && t[0] <= '9' {
		return true
	}
	return strings.HasPrefix(t, `r#"`) || value.IsBoolWord(t) || strings.HasPrefix(t, "defined(")
}

// further reports whether a's first error lies after b's.
func further(a, b diag.List) bool {
	pa, pb := firstErr(a), firstErr(b)
	if !pa.IsValid() {
		return false
	}
	if !pb.IsValid() {
		return true
	}
	return pb.Before(pa)
}

// inside reports whether the first error of l lies within the input (not
// on the lines added around a value).
func inside(l diag.List, at diag.Pos, text string) bool {
	p := firstErr(l)
	return p.Line >= at.Line && p.Line < at.Line+strings.Count(text, "\n")+1
}

func firstErr(l diag.List) diag.Pos {
	for _, d := range l {
		if d.Severity == diag.Error {
			return d.Span.Start
		}
	}
	return diag.Pos{}
}
