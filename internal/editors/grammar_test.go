package editors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// TestGrammarScopes tokenises tricky snippets and checks the scope of one
// token in each: strings and their escapes, ${…} references in and out of
// strings, annotations and triggers, keywords, comments, numbers,
// durations, pipelines.
func TestGrammarScopes(t *testing.T) {
	cases := []struct {
		name, src string
		tok       string // the token's text
		n         int    // which occurrence of it (0 = first)
		want      string // a scope prefix the token must have
		not       string // a scope prefix it must not have
	}{
		{"mod keyword", "mod main {}", "mod", 0, "storage.type.mod.gxl", ""},
		{"mod name", "mod main : base {}", "main", 0, "entity.name.type.module.gxl", ""},
		{"mod parent", "mod main : base, x.y {}", "base", 0, "entity.other.inherited-class.gxl", ""},
		{"extern names", "extern mod os, ssh { path = \"./mods\"; }", "ssh", 0, "entity.name.type.module.gxl", ""},
		{"extern keyword", "extern mod os { path = \"./mods\"; }", "extern", 0, "storage.type.extern.gxl", ""},
		{"extern prop string", "extern mod os { path = \"./mods\"; }", "./mods", 0, "string.quoted.double.gxl", ""},
		{"env name", "mod envs { env local : _common, ${EXTRA} { } }", "local", 0, "entity.name.type.env.gxl", ""},
		{"env mixin", "mod envs { env local : _common, ${EXTRA} { } }", "_common", 0, "entity.other.inherited-class.gxl", ""},
		{"env mixin ref", "mod envs { env local : _common, ${EXTRA} { } }", "EXTRA", 0, "variable.other.gxl", ""},
		{"flow name", "mod m { flow build { } }", "build", 0, "entity.name.function.flow.gxl", ""},
		{"pipeline bar", "mod m { flow a | @b | c; }", "|", 1, "keyword.operator.pipeline.gxl", ""},
		{"pipeline self", "mod m { flow a | @b | c; }", "@", 0, "storage.modifier.self.gxl", ""},
		{"pipeline member", "mod m { flow a | @b | m2.c; }", "m2.c", 0, "entity.name.function.flow.gxl", ""},
		{"colon form", "mod m { flow f : pre1, pre2 : post { } }", "post", 0, "entity.name.function.flow.gxl", ""},
		{"fn name", "mod m { fn send(*summary, severity = \"error\") { } }", "send", 0, "entity.name.function.gxl", ""},
		{"fn required param", "mod m { fn send(*summary, severity = \"error\") { } }", "summary", 0, "variable.parameter.gxl", ""},
		{"fn param default", "mod m { fn send(*summary, severity = \"error\") { } }", "error", 0, "string.quoted.double.gxl", ""},
		{"activity param", "mod m { activity copy { src = \"\"; dst; } }", "dst", 0, "variable.parameter.gxl", ""},
		{"annotation name", "mod m {\n  #[usage(desp=\"x\", color=\"green\")]\n  flow f {}\n}", "usage", 0, "entity.name.function.decorator.gxl", ""},
		{"annotation open", "mod m {\n  #[transaction, undo(rb)]\n  flow f {}\n}", "#[", 0, "punctuation.definition.annotation.begin.gxl", "comment"},
		{"annotation flow arg", "mod m {\n  #[transaction, undo(rb)]\n  flow f {}\n}", "rb", 0, "string.unquoted.annotation-argument.gxl", ""},
		{"annotation key", "mod m {\n  #[retry(attempts=3, delay=\"1s\", backoff=2.0)]\n  flow f {}\n}", "attempts", 0, "variable.parameter.gxl", ""},
		{"annotation float", "mod m {\n  #[retry(attempts=3, delay=\"1s\", backoff=2.0)]\n  flow f {}\n}", "2.0", 0, "constant.numeric.float.gxl", ""},
		{"duration string", "mod m {\n  #[retry(attempts=3, delay=\"1s\", backoff=2.0)]\n  flow f {}\n}", "1s", 0, "constant.numeric.duration.gxl", ""},
		{"bare duration", "mod m {\n  #[timeout(1m30s)]\n  flow f {}\n}", "1m30s", 0, "constant.numeric.duration.gxl", ""},
		{"trigger every", "mod m {\n  #[every(\"30s\")]\n  flow f {}\n}", "every", 0, "entity.name.function.decorator.trigger.gxl", ""},
		{"trigger cron", "mod m {\n  #[cron(\"0 1 * * *\")]\n  flow f {}\n}", "cron", 0, "entity.name.function.decorator.trigger.gxl", ""},
		{"trigger window", "mod m {\n  #[window(start: \"02:00\", end: \"04:00\")]\n  flow f {}\n}", "end", 0, "variable.parameter.gxl", ""},
		{"trigger on_failure", "mod m {\n  #[on_failure(alert)]\n  flow f {}\n}", "on_failure", 0, "entity.name.function.decorator.trigger.gxl", ""},
		{"trigger var", "mod m {\n  #[every(\"${PERIOD}\")]\n  flow f {}\n}", "PERIOD", 0, "variable.other.gxl", ""},
		{"line comment", "// a comment with \"quotes\" and ${X}\nmod m {}", " a comment with \"quotes\" and ${X}", 0, "comment.line.double-slash.gxl", ""},
		{"hash comment", "# a comment\nmod m {}", " a comment", 0, "comment.line.number-sign.gxl", ""},
		{"block comment", "/* one\n   two */ mod m {}", "   two ", 0, "comment.block.gxl", ""},
		{"comment after code", "mod m { x = 1; // tail\n}", " tail", 0, "comment.line.double-slash.gxl", ""},
		{"string", `mod m { x = "hello"; }`, "hello", 0, "string.quoted.double.gxl", ""},
		{"escape", `mod m { x = "a\tb"; }`, `\t`, 0, "constant.character.escape.gxl", ""},
		{"escaped quote", `mod m { x = "say \"hi\""; }`, `\"`, 1, "constant.character.escape.gxl", ""},
		{"escaped dollar", `mod m { x = "\${X}"; }`, `\$`, 0, "constant.character.escape.gxl", "invalid"},
		{"bad escape", `mod m { x = "a\qb"; }`, `\q`, 0, "invalid.illegal.unknown-escape.gxl", ""},
		{"string ends its line", "mod m { x = \"open\n  y = 2; }", "y", 0, "variable.other.assignment.gxl", "string"},
		{"interpolation", `mod m { x = "at ${HOST}"; }`, "HOST", 0, "variable.other.gxl", ""},
		{"interpolation brace", `mod m { x = "at ${HOST}"; }`, "${", 0, "punctuation.definition.interpolation.begin.gxl", ""},
		{"interpolation path", `mod m { x = "${DB.hosts[0]}"; }`, "DB.hosts[0]", 0, "variable.other.gxl", ""},
		{"interpolation default", `mod m { x = "${PORT:5432}"; }`, "5432", 0, "string.unquoted.default.gxl", ""},
		{"not a reference", `mod m { x = "${my-var}"; }`, "${my-var}", 0, "string.quoted.double.gxl", "meta.interpolation"},
		{"direct reference", "mod m { x = ${Y}; }", "Y", 0, "variable.other.gxl", ""},
		{"for loop", "mod m { flow f { for ${CUR} in ${LIST} { gx.echo(\"${CUR}\"); } } }", "in", 0, "keyword.control.in.gxl", ""},
		{"if", "mod m { flow f { if ${A} == 1 { } else if ${A} =* \"x*\" { } else { } } }", "else", 1, "keyword.control.else.gxl", ""},
		{"wildcard operator", "mod m { flow f { if ${A} =* \"x*\" { } } }", "=*", 0, "keyword.operator.comparison.gxl", ""},
		{"logical operator", "mod m { flow f { if !defined(${A}) || ${B} { } } }", "||", 0, "keyword.operator.logical.gxl", ""},
		{"defined", "mod m { flow f { if gx.defined(${A}) { } } }", "defined", 0, "support.function.defined.gxl", ""},
		{"builtin family", "mod m { flow f { k8s.apply(text: \"x\"); } }", "k8s", 0, "support.class.builtin.k8s.gxl", ""},
		{"builtin name", "mod m { flow f { gx.echo(\"x\"); } }", "echo", 0, "support.function.builtin.gxl", ""},
		{"call argument key", "mod m { flow f { gx.cmd(cmd: \"ls\", timeout: \"30s\"); } }", "timeout", 0, "variable.parameter.gxl", ""},
		{"call of a mod's fn", "mod m { flow f { alert.send(summary: \"x\"); } }", "send", 0, "entity.name.function.call.gxl", ""},
		{"gx.vars", "mod m { env e { gx.vars { A = 1; } } }", "vars", 0, "support.function.builtin.gxl", ""},
		{"integer", "mod m { port = 8080; }", "8080", 0, "constant.numeric.integer.gxl", ""},
		{"float", "mod m { ratio = 0.75; }", "0.75", 0, "constant.numeric.float.gxl", ""},
		{"name with digits", "mod m { flow 1st { } }", "1st", 0, "entity.name.function.flow.gxl", "constant.numeric"},
		{"boolean", "mod m { on = TRUE; }", "TRUE", 0, "constant.language.boolean.gxl", ""},
		{"object key", "mod m { db = { host : \"pg-1\", tags : [ \"ha\" ] }; }", "host", 0, "variable.parameter.gxl", ""},
		{"raw string", "mod m { note = r#\"say \"hi\" to ${USER}\"#; }", "say \"hi\" to ", 0, "string.quoted.raw.gxl", ""},
		{"raw string reference", "mod m { note = r#\"say \"hi\" to ${USER}\"#; }", "USER", 0, "variable.other.gxl", ""},
		{"raw string over lines", "mod m { note = r#\"one\n// not a comment\n\"#; }", "// not a comment", 0, "string.quoted.raw.gxl", "comment"},
		{"cmd block", "mod m { flow f {\n```cmd\n  rm -rf ./out  // kept\n```\n} }", "cmd", 0, "keyword.other.cmd.gxl", ""},
		{"cmd block text", "mod m { flow f {\n```cmd\n  echo ${NAME}\n```\n} }", "NAME", 0, "variable.other.gxl", ""},
		{"cmd block ends", "mod m { flow f {\n```cmd\n  ls\n```\n  x = 1;\n} }", "x", 0, "variable.other.assignment.gxl", "meta.embedded"},
		{"keyword as argument key", "mod m { flow f { x.y(in: \"a\"); } }", "in", 0, "variable.parameter.gxl", "keyword"},
	}
	var srcs []string
	for _, c := range cases {
		srcs = append(srcs, c.src)
	}
	toks := tokenizeSources(t, srcs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := toks[i].find(c.tok, c.n)
			if tok == nil {
				t.Fatalf("no token %q (occurrence %d) in %q; tokens: %s", c.tok, c.n, c.src, dump(toks[i]))
			}
			if !tok.has(c.want) {
				t.Errorf("%q has scopes %q, want %s", c.tok, tok.Scopes, c.want)
			}
			if c.not != "" && tok.has(c.not) {
				t.Errorf("%q has scopes %q, want none starting with %s", c.tok, tok.Scopes, c.not)
			}
		})
	}
}

func dump(tk tokenized) string {
	var b strings.Builder
	for _, line := range tk {
		for _, tok := range line {
			fmt.Fprintf(&b, "\n  %q %v", tok.Text, tok.Scopes[1:])
		}
	}
	return b.String()
}

// keywordScoped reports whether tok carries a scope naming the word w:
// keyword.….w.gxl, storage.….w.gxl or support.….w.gxl.
func keywordScoped(tok *token, w string) bool {
	if tok == nil {
		return false
	}
	for _, s := range tok.Scopes {
		if strings.HasSuffix(s, "."+w+".gxl") && (strings.HasPrefix(s, "keyword.") || strings.HasPrefix(s, "storage.") || strings.HasPrefix(s, "support.")) {
			return true
		}
	}
	return false
}

// TestGrammarKnowsEveryKeyword reads the words of the parser's grammar
// (syntax.GrammarWords) and checks that the TextMate grammar scopes each
// as a keyword where it is written: a keyword added to lang/syntax fails
// here until editors/vscode's grammar knows it.
func TestGrammarKnowsEveryKeyword(t *testing.T) {
	words := syntax.GrammarWords()
	if len(words) < 10 {
		t.Fatalf("syntax.GrammarWords() = %q: too few", words)
	}
	// Each word alone and in the shapes it is written in: at the top
	// level, in a flow body, before a dot (gx.), before a parenthesis.
	shapes := []string{"%s", "mod m { flow f { %s } }", "mod m { flow f { if %s.defined(${X}) {} } }", "mod m { flow f { if %s(${X}) {} } }", "%s x {", "%s mod x {"}
	var srcs []string
	for _, w := range words {
		for _, sh := range shapes {
			srcs = append(srcs, fmt.Sprintf(sh, w))
		}
	}
	toks := tokenizeSources(t, srcs)
	for i, w := range words {
		ok := false
		for j := range shapes {
			for n := 0; ; n++ {
				tok := toks[i*len(shapes)+j].find(w, n)
				if tok == nil {
					break
				}
				ok = ok || keywordScoped(tok, w)
			}
		}
		if !ok {
			t.Errorf("the grammar does not scope the keyword %q (no keyword.*.%s.gxl, storage.*.%[2]s.gxl or support.*.%[2]s.gxl in any of %q): add it to editors/vscode/syntaxes/gxl.tmLanguage.json", w, w, shapes)
		}
	}
}

// TestGrammarKnowsEveryBuiltinFamily checks that the prefix of every
// built-in of the registry (gx., k8s., pg., …) is scoped as a built-in.
func TestGrammarKnowsEveryBuiltinFamily(t *testing.T) {
	fams := engine.Registry().Families()
	if len(fams) < 5 {
		t.Fatalf("Families() = %q: too few", fams)
	}
	var srcs []string
	for _, f := range fams {
		srcs = append(srcs, fmt.Sprintf("mod m { flow f { %s.x(a: 1); } }", f))
	}
	toks := tokenizeSources(t, srcs)
	for i, f := range fams {
		if tok := toks[i].find(f, 0); !tok.has("support.class.builtin." + f + ".gxl") {
			t.Errorf("built-in family %s. is not scoped support.class.builtin.%s.gxl (%v): add it to the call rule of editors/vscode/syntaxes/gxl.tmLanguage.json", f, f, tok)
		}
	}
}

// exampleFiles are the GXL files of the example system, its modules and
// examples/.
func exampleFiles(t *testing.T) []string {
	var files []string
	for _, g := range []string{"sys/workflows/*.gxl", "modules/*/workflows/*.gxl", "modules/*/mods/*.gxl", "examples/*/*.gxl", "internal/editors/testdata/*.gxl"} {
		m, err := filepath.Glob(filepath.Join("..", "..", g))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 12 {
		t.Fatalf("found only %d example files", len(files))
	}
	return files
}

// TestGrammarAgreesWithParser tokenises every example workflow and checks,
// for each comment, string, raw string, number, boolean, variable
// reference, annotation and command block the parser finds, that the
// grammar gives the token at its first character the matching scope, and
// that no token of these valid files is scoped invalid.
func TestGrammarAgreesWithParser(t *testing.T) {
	files := exampleFiles(t)
	toks := tokenize(t, files...)
	checked := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := syntax.Parse(file, src)
		if f == nil || diags.HasErrors() {
			t.Fatalf("%s does not parse: %v", file, diags)
		}
		tk := toks[file]
		expect := func(n ast.Node, what, scope string) {
			t.Helper()
			sp := n.Span()
			checked++
			if tok := tk.at(src, sp.Start.Line, sp.Start.Col); !tok.has(scope) {
				t.Errorf("%s:%d:%d: %s: the grammar gives %v, want %s", file, sp.Start.Line, sp.Start.Col, what, tok, scope)
			}
		}
		for _, c := range f.Comments {
			expect(c, "comment "+c.Text, "comment.")
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.StringLit:
				// A ```cmd block is a string of gx.cmd: checked below.
				if !strings.HasPrefix(x.Raw, "```") {
					expect(x, "string "+x.Raw, "string.quoted.double.gxl")
				}
				for _, p := range x.Parts {
					if p.Var != nil {
						expect(p, "reference "+p.Var.Source()+" in a string", "meta.interpolation.gxl")
					}
				}
			case *ast.RawStringLit:
				expect(x, "raw string", "string.quoted.raw.gxl")
			case *ast.NumberLit:
				expect(x, "number "+x.Text, "constant.numeric.")
			case *ast.BoolLit:
				expect(x, "boolean "+x.Text, "constant.language.boolean.gxl")
			case *ast.VarRef:
				expect(x, "reference "+x.Source(), "meta.interpolation.gxl")
			case *ast.Annotation:
				expect(x.Name, "annotation "+x.Name.Name, "entity.name.function.decorator.")
			case *ast.CmdBlock:
				expect(x, "```cmd block", "meta.embedded.block.cmd.gxl")
			}
			return true
		})
		for i, line := range tk {
			for _, tok := range line {
				if tok.has("invalid.") {
					t.Errorf("%s:%d: %q is scoped %v in a valid file", file, i+1, tok.Text, tok.Scopes)
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d nodes checked", checked)
	}
}
