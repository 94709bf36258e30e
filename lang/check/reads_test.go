package check_test

import (
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestReads: Program.Reads lists every variable the program reads — direct
// references, interpolations in strings, conditions, defined() tests, for
// lists, env and module property values and fn bodies — folded; a variable
// only defined is not read.
func TestReads(t *testing.T) {
	src := `mod envs {
    env default { region = "${REGION:eu}"; }
}
mod main {
    home = "${HOME_DIR:/}";
    flow build {
        only_set = "x";
        x = ${Direct};
        gx.echo("${IN_STRING}");
        if defined(${GUARD}) && ${COND} == "a" { gx.echo("y"); }
        for ${I} in ${ITEMS} { gx.echo("${I}"); }
    }
    fn f(p) { gx.echo("${FN_READ} ${p}"); }
}
`
	prog, ds := check.CheckSource("w.gxl", []byte(src), check.Options{Registry: stdlib.Default(), ExtraVars: map[string]types.Type{"DIRECT": types.Any, "COND": types.Any, "ITEMS": types.Any}, Env: func(string) (string, bool) { return "", true }})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	got := strings.Join(prog.Reads(), " ")
	want := "cond direct fn_read guard home_dir i in_string items p region"
	if got != want {
		t.Errorf("Reads() = %q, want %q", got, want)
	}
}
