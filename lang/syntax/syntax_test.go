package syntax

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/lang/ast"
)

func mustParse(t *testing.T, src string) *ast.File {
	t.Helper()
	f, d := Parse("t.gxl", []byte(src))
	if d.HasErrors() {
		t.Fatalf("parse errors:\n%v", d)
	}
	return f
}

func firstFlow(t *testing.T, f *ast.File) *ast.Flow {
	t.Helper()
	for _, m := range f.Mods() {
		for _, it := range m.Items {
			if fl, ok := it.(*ast.Flow); ok {
				return fl
			}
		}
	}
	t.Fatal("no flow")
	return nil
}

func TestFlowForms(t *testing.T) {
	tests := []struct {
		src        string
		form       ast.FlowForm
		name       string
		pre, post  string
		body, atNm bool
	}{
		{"flow a { }", ast.FlowPlain, "a", "", "", true, false},
		{"flow a : p1, p2 : q1, q2 { }", ast.FlowColon, "a", "p1,p2", "q1,q2", true, false},
		{"flow a : p1 ;", ast.FlowColon, "a", "p1", "", false, false},
		{"flow a : : q { }", ast.FlowColon, "a", "", "q", true, false},
		{"flow p1 | p2 | @a | q1 | q2 { }", ast.FlowPipe, "a", "p1,p2", "q1,q2", true, true},
		{"flow @a | q1 ;", ast.FlowPipe, "a", "", "q1", false, true},
		{"flow a | q1 | q2 ;", ast.FlowPipe, "a", "", "q1,q2", false, false},
		{"flow mod_x.step | @a { }", ast.FlowPipe, "a", "mod_x.step", "", true, true},
	}
	join := func(rs []*ast.Ref) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.String())
		}
		return strings.Join(s, ",")
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			f := firstFlow(t, mustParse(t, "mod main {\n"+tt.src+"\n}"))
			if f.Form != tt.form || f.Name.Name != tt.name || join(f.Pre) != tt.pre || join(f.Post) != tt.post ||
				(f.Body != nil) != tt.body || f.AtName != tt.atNm {
				t.Errorf("got form=%v name=%s pre=%s post=%s body=%v at=%v", f.Form, f.Name.Name, join(f.Pre), join(f.Post), f.Body != nil, f.AtName)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	src := "mod main {\n  flow build {\n    gx.echo(\"hi ${NAME:x} and ${A.B[2]}\");\n  }\n}\n"
	f := mustParse(t, src)
	fl := firstFlow(t, f)
	if got := fl.Name.Span().Start; got.Line != 2 || got.Col != 8 {
		t.Errorf("flow name at %v", got)
	}
	call := fl.Body.Stmts[0].(*ast.Call)
	if got := call.Span().Start; got.Line != 3 || got.Col != 5 {
		t.Errorf("call at %v", got)
	}
	lit := call.Args[0].Value.(*ast.StringLit)
	var refs []*ast.VarRef
	for _, p := range lit.Parts {
		if p.Var != nil {
			refs = append(refs, p.Var)
		}
	}
	if len(refs) != 2 {
		t.Fatalf("parts: %+v", lit.Parts)
	}
	if s := refs[0].Span(); s.Start.Line != 3 || s.Start.Col != 17 || s.End.Col != 26 || refs[0].Name != "NAME" || *refs[0].Default != "x" {
		t.Errorf("ref0 %+v at %v-%v", refs[0], s.Start, s.End)
	}
	if s := refs[1].Span(); s.Start.Col != 31 || len(refs[1].Segments) != 3 || !refs[1].Segments[2].IsIndex || refs[1].Segments[2].Index != 2 {
		t.Errorf("ref1 %+v at %v", refs[1], s.Start)
	}
	// Spans end exactly where the node ends.
	if e := call.Span().End; e.Line != 3 || e.Col != 43 {
		t.Errorf("call ends at %v", e)
	}
}

func TestCmdBlockPositions(t *testing.T) {
	src := "mod main {\n  flow f {\n    ```cmd\n      echo ${X}\n        ls \\\"q\\\"\n    ```\n  }\n}\n"
	fl := firstFlow(t, mustParse(t, src))
	cb := fl.Body.Stmts[0].(*ast.CmdBlock)
	var text string
	for _, p := range cb.Command.Parts {
		if p.Var != nil {
			text += p.Var.Source()
			if p.Var.Span().Start.Line != 4 || p.Var.Span().Start.Col != 12 {
				t.Errorf("cmd var at %v", p.Var.Span().Start)
			}
		} else {
			text += p.Text
		}
	}
	if text != "echo ${X}\n  ls \"q\"" {
		t.Errorf("command %q", text)
	}
}

func TestEscapes(t *testing.T) {
	f := mustParse(t, `mod main { a = "q\"b\\s\nn\tt\${X}"; }`)
	a := f.Mods()[0].Items[0].(*ast.Assign)
	lit := a.Value.(*ast.StringLit)
	if lit.ConstValue() != "q\"b\\s\nn\tt${X}" || !lit.IsConstant() {
		t.Errorf("got %q parts=%d", lit.ConstValue(), len(lit.Parts))
	}
}

func TestConditionPrecedence(t *testing.T) {
	tests := []struct{ cond, want string }{
		{`${A} == 1 && ${B} == 2 || ${C} == 3`, "((A == 1) && (B == 2)) || (C == 3)"},
		{`${A} == 1 || ${B} == 2 && ${C} == 3`, "(A == 1) || ((B == 2) && (C == 3))"},
		{`!defined(${X}) || ${X} == true`, "(!defined(X)) || (X == true)"},
		{`(${A} == 1 || ${B} == 2) && ${C} =* "x*"`, "((A == 1) || (B == 2)) && (C =* \"x*\")"},
		{`${A} < ${B}`, "A < B"},
	}
	var show func(c ast.Cond) string
	show = func(c ast.Cond) string {
		switch n := c.(type) {
		case *ast.CondBinary:
			l, r := show(n.L), show(n.R)
			if _, ok := n.L.(*ast.CondBinary); ok {
				l = "(" + l + ")"
			}
			if _, ok := n.R.(*ast.CondBinary); ok {
				r = "(" + r + ")"
			}
			return l + " " + n.Op + " " + r
		case *ast.CondUnary:
			return "(!" + show(n.X) + ")"
		case *ast.CondParen:
			return "(" + show(n.X) + ")"
		case *ast.CondDefined:
			return "defined(" + n.Var.Name + ")"
		case *ast.CondOperand:
			switch x := n.X.(type) {
			case *ast.VarRef:
				return x.Name
			case *ast.StringLit:
				return x.Raw
			case *ast.NumberLit:
				return x.Text
			case *ast.BoolLit:
				return x.Text
			}
		}
		return "?"
	}
	for _, tt := range tests {
		c, d := ParseCond("c", []byte(tt.cond), diag.Pos{})
		if d.HasErrors() {
			t.Fatalf("%s: %v", tt.cond, d)
		}
		if got := show(c); got != tt.want {
			t.Errorf("%s\n got  %s\n want %s", tt.cond, got, tt.want)
		}
	}
}

// TestErrors checks the message, code and position of syntax errors.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, code, msg string
		line, col            int
	}{
		{"bad escape", `mod main { a = "x\q"; }`, "bad-escape", "unknown escape sequence `\\q`", 1, 18},
		{"unterminated string", "mod main {\n a = \"abc;\n}", "unterminated-string", "unterminated string", 2, 6},
		{"unterminated comment", "mod main { } /* x", "unterminated-comment", "unterminated /* comment", 1, 14},
		{"old brace builtin", "mod main { flow f { gx.cmd { cmd = \"ls\"; } } }", "obsolete-syntax", "`gx.cmd { ... }` is the old brace form", 1, 21},
		{"tilde flow", "mod main { flow a ~ b { } }", "obsolete-syntax", "`flow a ~ b` is not GXL", 1, 17},
		{"bare name in condition", "mod main { flow f { if ENV_X == \"y\" { } } }", "obsolete-syntax", "bare name `ENV_X` in a condition", 1, 24},
		{"gx.defined", "mod main { flow f { if gx.defined(${X}) { } } }", "obsolete-syntax", "`gx.defined` does not exist", 1, 24},
		{"single = in condition", "mod main { flow f { if ${X} = 1 { } } }", "syntax", "`=` in a condition", 1, 29},
		{"missing brace", "mod main { flow f { gx.echo(\"x\"); }", "incomplete", "the `{` opened at t.gxl:1:10 is never closed", 1, 10},
		{"stray backquote", "mod main { a = `x`; }", "syntax", "unexpected backquote", 1, 16},
		{"bad for", "mod main { flow f { for X in ${L} { } } }", "syntax", "expected a value after `for`, found name `X`", 1, 25},
		// The furthest token reached, after earlier statements of the block.
		{"missing operand", "mod main { flow f { a = 1; if ${A} == { b = 2; } } }", "syntax", "expected `:` after name `b`, found `=`", 1, 43},
		{"condition without block", "mod main { flow f { a = 1; if ${A} == 1 } }", "syntax", "expected `{` after number 1, found `}`", 1, 41},
		{"else iff", "mod main { flow f { a = 1; if ${A} == 1 { } else iff { } } }", "syntax", "expected `{` after `else`, found name `iff`", 1, 50},
		{"exponent", "mod main { flow f { a = 1; h = 1e3; } }", "syntax", "expected a value after `=`, found `1e3`", 1, 32},
		{"unclosed call", "mod main { flow f { a = 1; gx.echo(\"x\" ; } }", "syntax", "expected `)` after string \"x\", found `;` (the `(` opened at t.gxl:1:35 is not closed)", 1, 40},
		{"unclosed list", "mod main { flow f { a = [1, 2; } }", "syntax", "expected `]` after number 2, found `;` (the `[` opened at t.gxl:1:25 is not closed)", 1, 30},
		{"unclosed annotation", "mod main {\n #[usage(a=\"x\"\n flow f { a = 1; } }", "syntax", "expected `)` after string \"x\", found `flow` (the `(` opened at t.gxl:2:9 is not closed)", 3, 2},
		{"unclosed block", "mod main {\n flow f {\n if ${A} == 1 {\n a = 1;\n }\n", "incomplete", "the `{` opened at t.gxl:2:9 is never closed", 2, 9},
		// The `}` at 5:2 is indented like the flow: the if's `{` is the one left open.
		{"unclosed inner block", "mod main {\n  flow f {\n    if ${A} == 1 {\n      a = 1;\n  }\n", "incomplete", "the `{` opened at t.gxl:3:18 is never closed", 3, 18},
		{"stray brace", "mod main { flow f { a = 1; } } }", "syntax", "`}` closes nothing: no bracket is open here", 1, 32},
		{"module statement", "mod main { gx.echo(\"x\"); }", "syntax", "a module holds properties and definitions, not statements", 1, 12},
		{"bad ref", "mod main { a = ${a-b}; }", "syntax", "invalid variable reference `${a-b}`", 1, 16},
		{"flow without body", "mod main { flow f; }", "syntax", "flow `f` has neither a body nor references", 1, 12},
		{"two at", "mod main { flow @a | @b { } }", "syntax", "two `@` names in one pipeline", 1, 22},
		{"slash", "mod main { a = 1 / 2; }", "syntax", "unexpected character `/`", 1, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := Parse("t.gxl", []byte(tt.src))
			if !d.HasErrors() {
				t.Fatalf("no error")
			}
			e := d.Errors()[0]
			if e.Code != tt.code || !strings.Contains(e.Summary, tt.msg) || e.Span.Start.Line != tt.line || e.Span.Start.Col != tt.col {
				t.Errorf("got %s [%s]", e.Error(), e.Code)
			}
			if e.Code != "syntax" && e.Hint == "" {
				t.Errorf("no hint: %s", e.Error())
			}
		})
	}
}

func TestRelaxedOrderingAndSemicolons(t *testing.T) {
	src := `
mod main {
    a = 1;
    flow f {
        gx.echo("x")
        b = 2;
        if ${B} == 2 { gx.echo("y"); };
        for ${I} in ${L} { c = ${I}; };
        d = 3
    };
    e = 4;
};
`
	f := mustParse(t, src)
	fl := firstFlow(t, f)
	if len(fl.Body.Stmts) != 5 {
		t.Errorf("got %d statements", len(fl.Body.Stmts))
	}
}

func TestInspectVisitsAll(t *testing.T) {
	f := mustParse(t, `mod main { flow f { if ${A} == "${B}" { g(x: ${C}, y: "${D}"); } } }`)
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		if r, ok := n.(*ast.VarRef); ok {
			names = append(names, r.Name)
		}
		return true
	})
	if strings.Join(names, ",") != "A,B,C,D" {
		t.Errorf("visited %v", names)
	}
}

func corpusFiles(t testing.TB) []string {
	var out []string
	err := filepath.Walk("../../testdata/corpus", func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".gxl") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("corpus: %v", err)
	}
	return out
}

func TestCorpusParses(t *testing.T) {
	for _, p := range corpusFiles(t) {
		src, _ := os.ReadFile(p)
		if _, d := Parse(p, src); len(d) > 0 {
			t.Errorf("%s:\n%v", p, d)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range corpusFiles(f) {
		src, _ := os.ReadFile(p)
		f.Add(src)
	}
	f.Add([]byte("mod m { a = \"${\"; }"))
	// The error paths: every syntax golden of the checker.
	goldens, _ := filepath.Glob("../../testdata/check/*.txtar")
	for _, g := range goldens {
		if ar, err := txtar.ParseFile(g); err == nil {
			for _, af := range ar.Files {
				if af.Name == "main.gxl" {
					f.Add(af.Data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		parseBoth(t, src)
		file, d := Parse("f.gxl", src)
		if file == nil && !d.HasErrors() {
			t.Fatal("nil file without error")
		}
		for _, x := range d {
			if !x.Span.Start.IsValid() && x.Code != "internal" {
				t.Fatalf("diagnostic without position: %v", x)
			}
			// Errors point into the input (the caret is on a real line).
			if p := x.Span.Start; p.Offset < 0 || p.Offset > len(src) || p.Line < 1 || p.Col < 1 {
				t.Fatalf("diagnostic outside the input: %v at %+v", x, p)
			}
			if x.Code == "internal" {
				t.Fatalf("parser panic: %v", x)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	src := testprog.Generate(100000)
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, d := Parse("bench.gxl", src); d.HasErrors() {
			b.Fatal(d)
		}
	}
}

// TestNestingLimit: nesting up to limits.MaxNesting parses; one level more
// is a syntax error at the token that opens it, however
// deep the input goes (the lexer stops it before any parser recurses).
func TestNestingLimit(t *testing.T) {
	tests := []struct {
		name                          string
		prefix, open, mid, close, sfx string
		levels                        int // levels opened by prefix
	}{
		{"blocks", "mod m {\nflow f {\n", "if ${A} == \"x\" {\n", "X = 1;\n", "}\n", "}\n}\n", 2},
		{"parens", "mod m { flow f { if ", "(", "${A} == \"x\"", ")", " { } } }", 2},
		{"bangs", "mod m { flow f { if ", "!", "true", "", " { } } }", 2},
		{"lists", "mod m { flow f { X = ", "[", "1", "]", "; } }", 2},
		{"objects", "mod m { X = ", "{ a: ", "1", "}", "; }", 1},
		{"call args", "mod m { flow f { gx.echo(", "[", "\"x\"", "]", "); } }", 3},
		{"mixed", "mod m { flow f { if ", "!(", "true", ")", " { } } }", 2},
	}
	gen := func(prefix, open, mid, close, sfx string, n, mark int) (string, int) {
		var b strings.Builder
		b.WriteString(prefix)
		at := -1
		for i := 1; i <= n; i++ {
			if i == mark {
				// The token that goes deeper: a block's brace, the `!` of `!(`.
				at = b.Len() + strings.LastIndexAny(open, "{[!")
				if open == "(" {
					at = b.Len()
				}
			}
			b.WriteString(open)
		}
		b.WriteString(mid)
		for i := 0; i < n; i++ {
			b.WriteString(close)
		}
		b.WriteString(sfx)
		return b.String(), at
	}
	for _, tt := range tests {
		ok := limits.MaxNesting - tt.levels
		src, _ := gen(tt.prefix, tt.open, tt.mid, tt.close, tt.sfx, ok, -1)
		_, d := Parse("t.gxl", []byte(src))
		if d.HasErrors() {
			t.Errorf("%s : %d levels: %v", tt.name, limits.MaxNesting, d)
		}
		for _, n := range []int{ok + 1, 300, 100000} {
			src, at := gen(tt.prefix, tt.open, tt.mid, tt.close, tt.sfx, n, ok+1)
			_, d := Parse("t.gxl", []byte(src))
			if len(d) != 1 || d[0].Code != "nesting" || !strings.Contains(d[0].Summary, "nesting deeper than 256 levels") {
				t.Errorf("%s  n=%d: got %v", tt.name, n, d)
				continue
			}
			if p := d[0].Span.Start; p.Offset != at || p.Line < 1 || p.Col < 1 {
				t.Errorf("%s  n=%d: error at %v (offset %d), want offset %d", tt.name, n, p, p.Offset, at)
			}
		}
	}
}

// TestInvalidUTF8: input that is not UTF-8 is an error at its first bad
// byte, wherever it is (a string, a comment, a name's place), in every
// entry point.
func TestInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
	}{
		{"in a string", "mod main {\n  a = \"ok \xff\";\n}", 2, 11},
		{"in a comment", "// caf\xc3\n mod main { }", 1, 7},
		{"in place of a name", "mod main { \xfe = 1; }", 1, 12},
		{"truncated sequence at the end", "mod main { }\xe2\x82", 1, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := Parse("t.gxl", []byte(tt.src))
			if len(d) != 1 || d[0].Code != "encoding" || !strings.Contains(d[0].Summary, "invalid UTF-8") {
				t.Fatalf("got %v", d)
			}
			if p := d[0].Span.Start; p.Line != tt.line || p.Col != tt.col {
				t.Errorf("at %v, want %d:%d", p, tt.line, tt.col)
			}
		})
	}
	if _, d := ParseStmts("repl", []byte("a = \"\xff\";"), diag.Pos{File: "repl", Line: 3, Col: 1}); len(d) != 1 || d[0].Code != "encoding" || d[0].Span.Start.Col != 6 {
		t.Errorf("ParseStmts: %v", d)
	}
	if _, d := ParseCond("repl", []byte("${A} == \"\xff\""), diag.Pos{File: "repl", Line: 3, Col: 1}); len(d) != 1 || d[0].Code != "encoding" {
		t.Errorf("ParseCond: %v", d)
	}
	// Valid multi-byte text is fine.
	mustParse(t, "mod main { a = \"café ✓\"; }")
}

// BenchmarkParseFlows parses the workflow of bench row 2b (make bench):
// 10,000 flows of one gx.echo each, about 477 KB. "serial" parses it in
// one piece, "split" the way Parse does (pieces on every core).
func BenchmarkParseFlows(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("mod envs { env default { } }\nmod main {\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "    flow s%d { gx.echo(\"step %d\"); }\n", i, i)
	}
	sb.WriteString("}\n")
	src := []byte(sb.String())
	for _, bc := range []struct {
		name string
		min  int
	}{{"serial", 1 << 30}, {"split", splitMin}} {
		b.Run(bc.name, func(b *testing.B) {
			defer func(m int) { splitMin = m }(splitMin)
			splitMin = bc.min
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, d := Parse("flows.gxl", src); d.HasErrors() {
					b.Fatal(d)
				}
			}
		})
	}
}
