package complete_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/complete"
	"github.com/gxl-dev/gxl/stdlib"
)

const prog = `mod envs {
    env prod { region = "eu"; }
    env base { }
}
mod main {
    #[usage(desp="ship it")]
    flow deploy { }
    flow destroy { }
    fn greet(who, greeting = "hi") { }
}
mod lib { flow build { } }
`

// TestCompleteFile covers what completes in an editor's buffer besides
// the REPL's statements (repl's TestCompletion covers those through the
// same Source): keywords by nesting, annotations, pipelines, mixins and
// parents, typed variables, argument types and defaults.
func TestCompleteFile(t *testing.T) {
	reg := stdlib.Default()
	p, ds := check.CheckSource("w.gxl", []byte(prog), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	src := complete.Source{Prog: p, Reg: reg, File: true, Vars: []string{"DB_PORT"}, Types: map[string]types.Type{"DB_PORT": types.Int}}
	tests := []struct {
		name   string
		head   string
		want   []string
		typed  int
		detail string // of the first candidate
	}{
		{"top level keywords", "m", []string{"mod"}, 1, ""},
		{"module items", "mod main {\n  f", []string{"flow", "fn"}, 1, ""},
		{"statements in a flow", "mod main { flow a { gx.ec", []string{"gx.echo"}, 5, "gx.echo("},
		{"braces in strings do not count", "mod main { flow a { gx.echo(\"{\"); gx.ec", []string{"gx.echo"}, 5, ""},
		{"annotations", "mod main {\n  #[us", []string{"usage"}, 2, ""},
		{"annotations after a comma", "mod main {\n  #[transaction, ti", []string{"timeout"}, 2, ""},
		{"flows in a pipeline", "mod main {\n flow x : de", []string{"deploy", "destroy"}, 2, "ship it"},
		{"qualified flows after a pipe", "mod main {\n flow x | lib.", []string{"lib.build"}, 4, ""},
		{"envs in mixins", "mod envs {\n env x : pr", []string{"prod"}, 2, ""},
		{"modules as parents", "mod x : l", []string{"lib"}, 1, ""},
		{"typed system variables", "mod main { flow a { gx.echo(\"${DB", []string{"DB_PORT"}, 2, "int"},
		{"argument types and defaults", "mod main { flow a { greet(who: \"a\", g", []string{"greeting: "}, 1, "default \"hi\""},
		{"built-in argument types", "mod main { flow a { gx.echo(va", []string{"value: "}, 2, "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := src.Complete(tt.head)
			if !reflect.DeepEqual(complete.Labels(got), tt.want) || n != tt.typed {
				t.Fatalf("Complete(%q) = %q, %d; want %q, %d", tt.head, complete.Labels(got), n, tt.want, tt.typed)
			}
			if tt.detail != "" && !strings.HasPrefix(got[0].Detail, tt.detail) {
				t.Errorf("detail %q, want it to start with %q", got[0].Detail, tt.detail)
			}
		})
	}
}

// TestFlowVars: inside a flow, `${` completes the variables the flow set
// before the cursor (assignments and gx.vars entries, in nested blocks
// too) and the loop variable of a `for` around it; not those set after
// the cursor or in another flow.
func TestFlowVars(t *testing.T) {
	const src = `mod main {
    flow a {
        region = "eu";
        list = ["x", "y"];
        if ${REGION} == "eu" { zone = "b"; }
        gx.vars { tier = "gold"; }
        for ${item} in ${LIST} {
            gx.echo("${item}");
        }
        later = 1;
    }
    flow b { other = 2; }
}
`
	reg := stdlib.Default()
	p, ds := check.CheckSource("w.gxl", []byte(src), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	off := strings.Index(src, `gx.echo("${`) + len(`gx.echo("${`) // as the buffer is edited there
	got := complete.Labels(complete.FlowVars(p, "w.gxl", off))
	want := []string{"region", "list", "zone", "tier", "item"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FlowVars = %v, want %v", got, want)
	}
	s := complete.Source{Prog: p, Reg: reg, File: true, Local: complete.FlowVars(p, "w.gxl", off)}
	items, _ := s.Complete(src[:off] + "ti")
	if l := complete.Labels(items); len(l) != 1 || l[0] != "tier" {
		t.Fatalf("${ti completes to %v, want [tier]", l)
	}
	if got := complete.FlowVars(p, "w.gxl", strings.Index(src, "other")); len(got) != 0 {
		t.Fatalf("flow b before its first assignment: %v", complete.Labels(got))
	}
}
