package repl

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

func TestCompleteInput(t *testing.T) {
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"statement", `gx.echo("x");`, true},
		{"open block", `if ${A} == "x" {`, false},
		{"block closed on the next line", "if ${A} == \"x\" {\n gx.echo(\"y\");\n}", true},
		{"nested blocks", "if ${A} {\n for ${I} in ${L} {\n gx.echo(\"i\");\n }", false},
		{"nested closed", "if ${A} {\n for ${I} in ${L} {\n gx.echo(\"i\");\n }\n}", true},
		{"open call", `gx.cmd(cmd: "ls",`, false},
		{"open list", `L = [ "a",`, false},
		{"open object", `O = { a: 1,`, false},
		{"brace in a string", `gx.echo("{");`, true},
		{"escaped quote then brace", `gx.echo("\"{");`, true},
		{"var ref braces", `gx.echo("${A}");`, true},
		{"bare var ref", `${A}`, true},
		{"raw string with braces", `x = r#"{ "a" }"#;`, true},
		{"open raw string", `x = r#"{ "a"`, false},
		{"open cmd block", "```cmd\necho {", false},
		{"closed cmd block", "```cmd\necho {\n```", true},
		{"line comment with brace", "x = 1; // {", true},
		{"hash comment with brace", "x = 1; # {", true},
		{"annotation is not a comment", "#[x] {", false},
		{"open block comment", "x = 1; /* {", false},
		{"closed block comment", "x = 1; /* { */", true},
		{"unclosed string ends at its line", "gx.echo(\"abc\n);", true},
		{"extra closer: the parser reports it", `}`, true},
		{"empty", ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Complete(tt.text); got != tt.want {
				t.Errorf("Complete(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseInputKinds(t *testing.T) {
	at := diag.Pos{File: replFile, Line: 7, Col: 1}
	tests := []struct {
		text string
		kind inputKind
		err  string // position of the first error, when it fails
	}{
		{`x = 1;`, kindStmts, ""},
		{`gx.echo("a")`, kindStmts, ""},
		{"x = 1;\ny = [\n 2 ];", kindStmts, ""},
		{`if ${A} { gx.echo("x") }`, kindStmts, ""},
		{`${X}`, kindValue, ""},
		{`"a ${X}"`, kindValue, ""},
		{`[1, "b"]`, kindValue, ""},
		{`{a: 1}`, kindValue, ""},
		{`3`, kindValue, ""},
		{`${X} == "a"`, kindCond, ""},
		{`!defined(${X}) || ${X} > 3`, kindCond, ""},
		{`gx.echo(`, 0, "repl:7:8"}, // the `(` left open
		{`${X} ==`, 0, "repl:7:8"},
		{`"abc`, 0, "repl:7:1"},
		{"x = 1;\ny = ;", 0, "repl:8:5"},
	}
	for _, tt := range tests {
		p, ds := parseInput(tt.text, at)
		if tt.err != "" {
			if p != nil || !ds.HasErrors() || ds[0].Span.Start.String() != tt.err {
				t.Errorf("%q: got %v %v, want an error at %s", tt.text, p, ds, tt.err)
			}
			continue
		}
		if p == nil || p.kind != tt.kind {
			t.Errorf("%q: got %+v %v, want kind %d", tt.text, p, ds, tt.kind)
		}
	}
}

const completeProg = `mod envs { env default { region = "eu"; } env prod { } }
mod main {
    fn greet(*who, greeting = "hi") { gx.echo("${greeting} ${who}"); }
    activity copy { src = ""; dst = ""; executer = "cp ${src} ${dst}"; }
    flow deploy { } flow destroy { } flow _hidden { }
}
mod lib { fn helper(x) { } flow build { } }
`

func TestCompletion(t *testing.T) {
	reg := stdlib.Default()
	prog, ds := check.CheckSource("w.gxl", []byte(completeProg), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	c := NewCompleter(prog, reg)
	c.update(prog, []string{"STATE", "state_dir", "GXL_CUR_DIR"}, []int{1, 3})
	tests := []struct {
		name  string
		line  string
		want  []string
		typed int
	}{
		{"commands", ":b", []string{":break", ":breaks"}, 2},
		{"all r commands", ":re", []string{":reload", ":retry"}, 3},
		{"run: flows of main and qualified", ":run de", []string{"deploy", "destroy"}, 2},
		{"run: qualified", ":run lib.", []string{"lib.build"}, 4},
		{"plan", ":plan main.d", []string{"main.deploy", "main.destroy"}, 6},
		{"break: flows and files", ":break w", []string{"w.gxl:"}, 1},
		{"env", ":env p", []string{"prod"}, 1},
		{"env qualified", ":env envs.", []string{"envs.default", "envs.prod"}, 5},
		{"delete: breakpoint numbers", ":delete ", []string{"1", "3"}, 0},
		{"vars: case-insensitive, typed case kept", ":vars st", []string{"stATE", "state_dir"}, 2},
		{"set: the name only", ":set STATE = ", nil, 0},
		{"help topics", ":help st", []string{"step"}, 2},
		{"variables after ${", `gx.echo("${ST`, []string{"STATE", "STate_dir"}, 2},
		{"env properties are variables", `x = ${ENV_R`, []string{"ENV_Region"}, 5},
		{"module properties are not exported by envs", `${GXL_C`, []string{"GXL_CUR_DIR"}, 5},
		{"built-ins", "gx.ec", []string{"gx.echo"}, 5},
		{"built-in families and keywords", "k8s.g", []string{"k8s.get"}, 5},
		{"fns and activities of main", "gr", []string{"greet"}, 2},
		{"qualified fns", "lib.h", []string{"lib.helper"}, 5},
		{"keywords", "fo", []string{"for"}, 2},
		{"argument names of a built-in", `gx.cmd(`, []string{"cmd: ", "timeout: ", "attempts: ", "delay: "}, 0},
		{"argument name prefix", `gx.echo(va`, []string{"value: "}, 2},
		{"after a comma", `gx.read_cmd(name: "X", c`, []string{"cmd: "}, 1},
		{"fn parameters", `greet(who: "a", g`, []string{"greeting: "}, 1},
		{"activity parameters without executer", `copy(`, []string{"dst: ", "src: "}, 0},
		{"nothing inside a string", `gx.echo("gx.ec`, nil, 0},
		{"nothing inside a list", `gx.echo([`, nil, 0},
		{"a statement after another", `x = 1; gx.ec`, []string{"gx.echo"}, 5},
		{"in a block", `if ${A} { gx.ec`, []string{"gx.echo"}, 5},
		{"not in a value", `x = gx.ec`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := c.Complete(tt.line, len(tt.line))
			if tt.name == "argument names of a built-in" {
				// Old spellings (retry, retry_delay) are accepted, not offered.
				if old := filterOut(got, []string{"retry: ", "retry_delay: "}); len(old) > 0 {
					t.Errorf("completion offers the old spellings %q", old)
				}
				got = filterOut(got, tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) || n != tt.typed {
				t.Errorf("Complete(%q) = %q, %d; want %q, %d", tt.line, got, n, tt.want, tt.typed)
			}
		})
	}
}

// filterOut keeps the members of want found in got (the registry may grow
// arguments; these must be there).
func filterOut(got, want []string) []string {
	var out []string
	for _, w := range want {
		for _, g := range got {
			if g == w {
				out = append(out, w)
			}
		}
	}
	return out
}

func TestReadlineCompleterSuffixes(t *testing.T) {
	reg := stdlib.Default()
	rc := readlineCompleter{NewCompleter(nil, reg)}
	line := []rune("x; gx.ec")
	got, n := rc.Do(line, len(line))
	if n != 5 || len(got) != 1 || string(got[0]) != "ho" {
		t.Fatalf("got %q %d", got, n)
	}
}

// TestDocsDescribeEveryCommand keeps docs/repl.md and :help in step with
// the commands the prompt knows.
func TestDocsDescribeEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../docs/repl.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.Contains(string(doc), "| `"+c) {
			t.Errorf("docs/repl.md has no row for %s", c)
		}
		if !strings.Contains(Help, "  "+c+" ") {
			t.Errorf(":help does not describe %s", c)
		}
	}
}
