package syntax

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestAdversarialErrors is a sweep of syntax errors at many positions of
// every statement form, each written inside a flow after a first statement
// (the position that used to be reported at the statement's first token):
// the error must sit at the culprit (line and column), say what was
// expected and what was found, and give the hint.
func TestAdversarialErrors(t *testing.T) {
	const head = "mod main {\n    flow a {\n        x = 1;\n        "
	const tail = "\n    }\n}\n"
	tests := []struct {
		name, stmt string
		line, col  int // col within stmt (1-based); line 4 is stmt's line
		msg, hint  string
	}{
		// numbers
		{"exponent", "h = 1e3;", 4, 5, "expected a value after `=`, found `1e3`", "no exponent"},
		{"float exponent", "h = 1.5e3;", 4, 5, "`1.5e3` is not a number", `quote other text: "1.5e3"`},
		{"trailing point", "h = 3.;", 4, 5, "`3.` is not a number", "digits on both sides of the point"},
		{"version number", "h = 1.2.3;", 4, 5, "`1.2.3` is not a number", `"1.2.3"`},
		{"trailing point in a list", "h = [1., 2];", 4, 6, "`1.` is not a number", ""},
		{"hex", "h = 0x10;", 4, 5, "found `0x10`", "no exponent"},
		{"duration without quotes", "h = 10s;", 4, 5, "found `10s`", `"10s"`},
		{"negative", "h = -1;", 4, 5, "negative integer -1 is not supported", `"-1"`},
		{"out of range", "h = 99999999999999999999999;", 4, 5, "out of range", "unsigned 64-bit"},
		// lists, objects, calls
		{"double comma in list", "h = [1, 2,, 3];", 4, 11, "expected `]` after `,`, found `,` (the `[` opened at t.gxl:4:13", ""},
		{"list without comma", "h = [1 2];", 4, 8, "expected `]` after number 1, found number 2", "`]`"},
		{"object key without value", "h = {a: 1, b};", 4, 13, "expected `:` after name `b`, found `}`", "read as an object"},
		{"call closed by bracket", `gx.echo(value: "x"];`, 4, 19, "expected `)` after string \"x\", found `]` (the `(` opened at t.gxl:4:16 is not closed)", "`)`"},
		{"empty argument", "gx.echo(value: );", 4, 16, "expected a value after `:`, found `)`", ""},
		{"argument without colon", `gx.echo(value "x");`, 4, 15, "expected `:` after name `value`, found string \"x\"", ""},
		{"double comma in call", `gx.echo(value: "x",, );`, 4, 20, "expected `)` after `,`, found `,`", ""},
		{"path ends in a dot", "a.b. = 1;", 4, 6, "expected a name after `.`, found `=`", ""},
		{"statement starts with =", "= 1;", 4, 1, "found `=`", ""},
		// conditions
		{"operator twice", "if ${A} == == 1 { }", 4, 12, "expected a value after `==`, found `==`", ""},
		{"unclosed parenthesis in condition", "if (${A} == 1 { }", 4, 15, "expected `)` after number 1, found `{` (the `(` opened at t.gxl:4:12 is not closed)", "`)`"},
		{"condition closed twice", "if ${A} == 1) { }", 4, 13, "`)` closes nothing here: the innermost open bracket is the `{` opened at t.gxl:2:12", "close the `{` first with `}`"},
		{"list closer in a block", "x = 2];", 4, 6, "expected `}` after number 2, found `]` (the `{` opened at t.gxl:2:12 is not closed)", ""},
		{"block taken for the condition", "if { }", 5, 5, "expected `{` after the object `{...}` opened at t.gxl:4:12, found `}`", "the condition or value before it is missing"},
		{"block taken after &&", "if ${A} == 1 && { }", 5, 5, "after the object `{...}` opened at t.gxl:4:25", "read as an object value"},
		{"block taken after else if", "if ${A} { } else if { }", 5, 5, "after the object `{...}` opened at t.gxl:4:29", ""},
		{"else iff", "if ${A} { } else iff { }", 4, 18, "expected `{` after `else`, found name `iff`", "did you mean `if`?"},
		{"else twice", "if ${A} { } else { } else { }", 4, 22, "found `else`", "`else` follows the `}` of an `if` block"},
		{"else alone", "else { }", 4, 1, "found `else`", "`else` follows the `}` of an `if` block"},
		{"else at the end", "if ${A} { } else", 5, 5, "expected `{` after `else`, found `}`", ""},
		{"condition without block", "if ${A} == 1 }", 4, 14, "expected `{` after number 1, found `}`", ""},
		// operators of other languages
		{"<>", "if ${A} <> 1 { }", 4, 10, "expected a value after `<`, found `>`", "write `!=`"},
		{"===", "if ${A} === 1 { }", 4, 11, "expected a value after `==`, found `=`", "write `==`"},
		{"=>", "if ${A} => 1 { }", 4, 10, "found `>`", "write `>=`"},
		{"=<", "if ${A} =< 1 { }", 4, 10, "found `<`", "write `<=`"},
		{"and", "if ${A} and ${B} { }", 4, 9, "found name `and`", "conditions combine with `&&`"},
		{"or", "if ${A} == 1 or ${B} { }", 4, 14, "found name `or`", "conditions combine with `||`"},
		{"quoted object key", `x = {"a": 1};`, 4, 6, "found string \"a\"", "object keys are bare names"},
		{"quoted second object key", `x = {a: 1, "b": 2};`, 4, 12, "found string \"b\"", "object keys are bare names"},
		// for
		{"for without reference", "for x in ${L} { }", 4, 5, "expected a value after `for`, found name `x`", ""},
		{"for without in", "for ${x} ${L} { }", 4, 10, "expected `in` after variable reference ${x}, found variable reference ${L}", ""},
		{"for block taken for the list", "for ${x} in { }", 5, 5, "after the object `{...}` opened at t.gxl:4:21", ""},
		{"for without block", `for ${x} in ${L} gx.echo(value: "x");`, 4, 18, "expected `{` after variable reference ${L}, found name `gx`", ""},
		// definitions where statements go
		{"flow in a flow", "flow b { }", 4, 6, "expected `=` after `flow`, found name `b`", "a flow is defined directly in a mod"},
		{"env in a flow", "env e { }", 4, 5, "found name `e`", "an env is defined directly in a mod"},
		{"fn in a flow", "fn f() { }", 4, 4, "found name `f`", "a fn is defined directly in a mod"},
		{"mod in a flow", "mod m { }", 4, 5, "found name `m`", "mod declarations go at the top level"},
		{"annotation on a statement", `#[usage(desp="x")] gx.echo(value: "x");`, 4, 1, "found `#[`", "annotations go before mod, env, flow, fn or activity"},
		// characters
		{"dollar command", "$ echo hi", 4, 1, "unexpected character `$`", "gx.cmd"},
		{"single quotes", "x = 'a';", 4, 5, "unexpected character `'`", "double quotes"},
		{"non-ASCII letter in a name", `gx.echo(valuе: "x");`, 4, 13, "unexpected character `е` (U+0435)", "ASCII letters"},
		{"byte order mark inside", "\ufeffx = 1;", 4, 1, "unexpected byte order mark U+FEFF", "only at the very start"},
		{"invisible character", "x\u200b = 1;", 4, 2, "unexpected invisible character U+200B", "invisible"},
		// encoding
		{"invalid UTF-8 in a string", "x = \"ab\xffcd\";", 4, 8, "invalid UTF-8: byte 0xff", "UTF-8"},
		{"invalid UTF-8 in a comment", "// \xc3\x28", 4, 4, "invalid UTF-8: byte 0xc3", "UTF-8"},
		{"invalid UTF-8 in a raw string", "x = r#\"\xff\"#;", 4, 8, "invalid UTF-8: byte 0xff", "UTF-8"},
		{"surrogate half", "x = \"\xed\xa0\x80\";", 4, 6, "invalid UTF-8: byte 0xed", "UTF-8"},
		{"overlong encoding", "x = \"\xc0\xaf\";", 4, 6, "invalid UTF-8: byte 0xc0", "UTF-8"},
		{"NUL in a string", "x = \"a\x00b\";", 4, 7, "a NUL byte (0x00) is not text", "UTF-16"},
		// strings
		{"unterminated string", `gx.echo(value: "x`, 4, 16, "unterminated string", "close the string on the same line"},
		{"unterminated raw string", `a = r#"abc;`, 4, 5, "unterminated raw string", `"#`},
		{"bad escape", `h = "\q";`, 4, 6, "unknown escape sequence `\\q`", "escapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.stmt + tail
			_, d := Parse("t.gxl", []byte(src))
			if !d.HasErrors() {
				t.Fatalf("no error for %q", tt.stmt)
			}
			e := d.Errors()[0]
			col := tt.col
			if tt.line == 4 {
				col += 8
			}
			if e.Span.Start.Line != tt.line || e.Span.Start.Col != col {
				t.Errorf("at %d:%d, want %d:%d: %s", e.Span.Start.Line, e.Span.Start.Col, tt.line, col, e.Error())
			}
			if !strings.Contains(e.Summary, tt.msg) {
				t.Errorf("message %q, want %q", e.Summary, tt.msg)
			}
			if !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("hint %q, want %q", e.Hint, tt.hint)
			}
			for _, bad := range []string{"unexpected token", "%!", "0x", "<ident>", "GValue", "GBlock"} {
				if strings.Contains(e.Summary, bad) && !strings.Contains(tt.msg, bad) {
					t.Errorf("parser internals in %q", e.Summary)
				}
			}
		})
	}
}

// TestErrorAtTheCulprit: a junk token put between any two tokens of valid
// programs is reported at that token or after it (where the parse could
// still go on), never before it: the prefix before it is valid, so an
// error before it means the error of the furthest alternative was lost.
func TestErrorAtTheCulprit(t *testing.T) {
	// Every .gxl file of the repository and every program of the check
	// goldens that parses.
	progs := map[string][]byte{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == ".git" || d.Name() == ".gxl"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case strings.HasSuffix(path, ".gxl"):
			b, err := os.ReadFile(path)
			progs[path] = b
			return err
		case strings.HasPrefix(path, "../../testdata/check/") && strings.HasSuffix(path, ".txtar"):
			a, err := txtar.ParseFile(path)
			for _, f := range a.Files {
				if strings.HasSuffix(f.Name, ".gxl") {
					progs[path+":"+f.Name] = f.Data
				}
			}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for f := range progs {
		files = append(files, f)
	}
	sort.Strings(files)
	if len(files) < 50 {
		t.Fatalf("found only %d programs", len(files))
	}
	// "" deletes the token instead.
	junk := []string{"]", "==", ")", ":", "|", ""}
	quoted := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|` + "`[^`]*`")
	internals := regexp.MustCompile(`unexpected token|sub-expression|%!|\bG[A-Z][a-zA-Z]+\b|<[a-z]+>|0x[0-9a-f]{6,}`)
	tried := 0
	for _, f := range files {
		src := progs[f]
		if _, d := Parse(f, src); d.HasErrors() {
			continue
		}
		sc := newScanner(f, src)
		for {
			tok, _ := sc.Next()
			if tok.EOF() || tok.Type == tError {
				break
			}
			off := tok.Pos.Offset
			// One junk token per place, in turn (every one at every
			// place would take seconds).
			for _, j := range junk[tried%len(junk) : tried%len(junk)+1] {
				bad := string(src[:off]) + " " + j + " " + string(src[off:])
				if j == "" {
					bad = string(src[:off]) + " " + string(src[sc.off:])
				}
				_, d := Parse(f, []byte(bad))
				tried++
				if !d.HasErrors() {
					continue
				}
				e := d.Errors()[0]
				// The user's own text (quoted) may hold anything.
				own := quoted.ReplaceAllString(e.Summary+" "+e.Hint, "")
				if internals.MatchString(own) {
					t.Errorf("%s: parser internals reach the user: %s", f, e.Error())
				}
				// Errors of the parser only: a junk token can make a valid
				// program that the mapping rejects earlier (`defined ==
				// (${X})` compares a bare name).
				parser := strings.HasPrefix(e.Summary, "expected") || strings.HasPrefix(e.Summary, "unexpected")
				if parser && e.Span.Start.Offset < off+1 {
					t.Errorf("%s: %q put at %d:%d is reported before it: %s", f, j, tok.Pos.Line, tok.Pos.Column, e.Error())
				}
			}
		}
	}
	t.Logf("%d programs tried", tried)
}

// TestAdversarialFiles: syntax errors in the heads of definitions, in
// annotations, at the top level and at the end of the input.
func TestAdversarialFiles(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg, hint string
	}{
		{"annotation ends with the file", "mod main {\n  #[usage(desp=\"x\"", 2, 10, "the `(` opened at t.gxl:2:10 is never closed", "`)`"},
		{"annotation without ]", "mod main {\n  #[usage(desp=\"x\")\n  flow a { }\n}\n", 3, 3, "expected `]` after `)`, found `flow` (the `#[` opened at t.gxl:2:3 is not closed)", "`]`"},
		{"annotation ( closed by ]", "mod main {\n  #[usage(desp=\"x\"]\n  flow a { }\n}\n", 2, 19, "expected `)` after string \"x\", found `]` (the `(` opened at t.gxl:2:10 is not closed)", "`)]`"},
		{"annotation closed twice", "mod main {\n  #[usage(desp=\"x\")]]\n  flow a { }\n}\n", 2, 21, "`]` closes nothing here: the innermost open bracket is the `{` opened at t.gxl:1:10", "remove it"},
		{"pipeline without a name", "mod main {\n  flow a | { }\n}\n", 2, 12, "expected a name or ${...} after `|`, found `{`", ""},
		{"second pipeline name missing", "mod main {\n  flow a | b | { }\n}\n", 2, 16, "after `|`, found `{`", ""},
		{"tilde without a name", "mod main {\n  flow a ~ { }\n}\n", 2, 12, "after `~`, found `{`", ""},
		{"pre-flow list ends with a comma", "mod main {\n  flow a : b, { }\n}\n", 2, 15, "expected a name or ${...} after `,`, found `{`", ""},
		{"mod without a name", "mod { }\n", 1, 5, "expected a name after `mod`, found `{`", ""},
		{"mod without a body", "mod main\n", 2, 1, "expected `{` after name `main`, found end of file", "ends too early"},
		{"extern without a name", "extern mod { path = \"x\"; }\n", 1, 12, "expected a name after `mod`, found `{`", ""},
		{"extern property without value", "extern mod a { path = ; }\n", 1, 23, "expected a value after `=`, found `;`", ""},
		{"flow at the top level", "flow a { }\n", 1, 1, "expected `mod` or `extern`, found `flow`", "a flow is defined inside a mod"},
		{"statement at the top level", "mod main { }\nx = 1;\n", 2, 1, "expected `mod` or `extern` after `}`, found name `x`", ""},
		{"fn parameter list unclosed", "mod main { fn f( { } }\n", 1, 18, "expected `)` after `(`, found `{` (the `(` opened at t.gxl:1:16 is not closed)", ""},
		{"fn parameters without comma", "mod main { fn f(a b) { } }\n", 1, 19, "expected `)` after name `a`, found name `b`", ""},
		{"fn default missing", "mod main { fn f(a=) { } }\n", 1, 19, "expected a value after `=`, found `)`", ""},
		{"missing closing brace", "mod main { flow a { gx.echo(value: \"x\"); }\n", 1, 10, "the `{` opened at t.gxl:1:10 is never closed", "`}`"},
		{"inner block left open", "mod main {\n  flow a {\n    if ${A} {\n      if ${B} {\n        x = 1;\n    }\n  }\n}\n", 4, 15, "the `{` opened at t.gxl:4:15 is never closed", ""},
		{"unclosed comment", "mod main { flow a { /* x } }\n", 1, 21, "unterminated /* comment", "*/"},
		{"unclosed cmd block", "mod main { flow a { ```cmd\n echo\n } }\n", 1, 21, "unterminated ```cmd block", "```"},
		{"list left open across lines", "mod main { flow a { x = [1, 2\n}\n}\n", 2, 1, "expected `]` after number 2, found `}` (the `[` opened at t.gxl:1:25 is not closed)", "`]`"},
		{"list in an object closed by }", "mod main { flow a { x = {a: [1, 2}; } }\n", 1, 34, "(the `[` opened at t.gxl:1:29 is not closed)", "`]`"},
		{"call left open across lines", "mod main {\n  flow a {\n    gx.echo(value: \"x\"\n  }\n}\n", 4, 3, "expected `)` after string \"x\", found `}` (the `(` opened at t.gxl:3:12 is not closed)", "`)`"},
		{"raw string left open", "mod main {\n  flow a {\n    x = r#\"abc\n  }\n}\n", 3, 9, "unterminated raw string", `"#`},
		{"stray closer", "mod main { flow f { a = 1; } } }", 1, 32, "`}` closes nothing", "closed twice"},
		{"CRLF line ends", "mod main {\r\n  flow a {\r\n    x = = 1;\r\n  }\r\n}\r\n", 3, 9, "expected a value after `=`, found `=`", ""},
		{"BOM at the start", "\ufeffmod main {\n  flow a {\n    x = = 1;\n  }\n}\n", 3, 9, "expected a value after `=`, found `=`", ""},
		{"BOM then bad UTF-8", "\ufeffmod main { flow a { x = \"\xff\"; } }\n", 1, 29, "invalid UTF-8: byte 0xff", "UTF-8"},
		{"UTF-16 file", "m\x00o\x00d\x00", 1, 2, "a NUL byte (0x00) is not text", "UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := Parse("t.gxl", []byte(tt.src))
			if !d.HasErrors() {
				t.Fatalf("no error")
			}
			e := d.Errors()[0]
			if e.Span.Start.Line != tt.line || e.Span.Start.Col != tt.col {
				t.Errorf("at %d:%d, want %d:%d: %s", e.Span.Start.Line, e.Span.Start.Col, tt.line, tt.col, e.Error())
			}
			if !strings.Contains(e.Summary, tt.msg) {
				t.Errorf("message %q, want %q", e.Summary, tt.msg)
			}
			if !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("hint %q, want %q", e.Hint, tt.hint)
			}
		})
	}
}

// TestREPLErrorWords: the REPL's statements and conditions are not a
// file: their errors do not ask for `mod`.
func TestREPLErrorWords(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = 1; ==", "expected a statement after `;`, found `==`"},
		{"x = = 1", "expected a value after `=`, found `=`"},
	} {
		_, d := ParseStmts("repl", []byte(tc.src), diag.Pos{})
		if !d.HasErrors() || d.Errors()[0].Summary != tc.want {
			t.Errorf("%s: got %v, want %q", tc.src, d, tc.want)
		}
	}
	_, d := ParseCond("repl", []byte("${A} == == 1"), diag.Pos{})
	if !d.HasErrors() || strings.Contains(d.Errors()[0].Summary, "mod") {
		t.Errorf("condition: %v", d)
	}
}

// TestDuplicateKeys: a key given twice in an object literal is one warning
// at the second key, related to the first, whether the object is small
// (searched) or large (indexed); a literal of many keys is not quadratic.
func TestDuplicateKeys(t *testing.T) {
	for _, n := range []int{4, 16, 17, 5000} {
		var b strings.Builder
		b.WriteString("mod main {\n  flow all { x = {")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "k%d: %d, ", i, i)
		}
		b.WriteString("K2: 0, k1: 1}; }\n}\n")
		_, ds := Parse("dup.gxl", []byte(b.String()))
		var got []string
		for _, d := range ds {
			if d.Code != "dup-key" {
				t.Fatalf("n=%d: unexpected %v", n, d)
			}
			if len(d.Related) != 1 {
				t.Fatalf("n=%d: %v has %d related spans, want the first key", n, d, len(d.Related))
			}
			first := string(b.String()[d.Related[0].Span.Start.Offset:d.Related[0].Span.End.Offset])
			again := string(b.String()[d.Span.Start.Offset:d.Span.End.Offset])
			got = append(got, again+"<-"+first)
		}
		if want := []string{"K2<-k2", "k1<-k1"}; !slices.Equal(got, want) {
			t.Errorf("n=%d: duplicate keys %v, want %v", n, got, want)
		}
	}
}
