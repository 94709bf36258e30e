package check_test

import (
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestCheckerKnowsThePredefTable: every variable of predef.Vars is defined
// for the checker with the table's type (a comparison with a value of
// another type warns "always false"), and a name outside the table is not.
func TestCheckerKnowsThePredefTable(t *testing.T) {
	other := map[types.Type]string{types.String: "1", types.Bool: `"x"`}
	for _, v := range predef.Vars {
		src := fmt.Sprintf("mod main { flow f { x = ${%s}; if ${%s} == %s { gx.echo(\"x\"); } } }", v.Name, v.Name, other[v.Type])
		_, ds := check.CheckSource("w.gxl", []byte(src), check.Options{Registry: stdlib.Default()})
		if ds.HasErrors() {
			t.Errorf("%s: %v", v.Name, ds)
		}
		if !strings.Contains(fmt.Sprint(ds), "always false") {
			t.Errorf("%s is not typed %v by the checker: %v", v.Name, v.Type, ds)
		}
	}
	_, ds := check.CheckSource("w.gxl", []byte("mod main { flow f { x = ${GXL_CMD_ARGS}; } }"), check.Options{Registry: stdlib.Default()})
	if !ds.HasErrors() {
		t.Error("GXL_CMD_ARGS (not in the table) passes the checker")
	}
}

// TestExternPathPredefined: an extern path may use the predefined
// variables known at load (GXL_START_ROOT is the process's working
// directory, as at run time); run-only ones are a positioned error.
func TestExternPathPredefined(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "_gal"), 0o755)
	os.WriteFile(filepath.Join(dir, "_gal", "head.gxl"), []byte("mod head { flow h { } }"), 0o644)
	t.Chdir(dir)
	for _, tc := range []struct{ path, want string }{
		{"${GXL_START_ROOT}/_gal/", ""},
		{"${gxl_start_root}/_gal/", ""},
		{"${GXL_CMD_ARG}/_gal/", "w.gxl:1:26: error: variable ${GXL_CMD_ARG} is only known once a run starts"},
	} {
		src := fmt.Sprintf(`extern mod head { path = "%s"; }`+"\nmod main { flow f { } }", tc.path)
		_, ds := check.CheckSource("w.gxl", []byte(src), check.Options{Registry: stdlib.Default(), Env: func(string) (string, bool) { return "", false }})
		if tc.want == "" && len(ds) > 0 {
			t.Errorf("%s: %v", tc.path, ds)
		}
		if tc.want != "" && !strings.Contains(fmt.Sprint(ds), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.path, ds, tc.want)
		}
	}
}
