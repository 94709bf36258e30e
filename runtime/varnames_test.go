package runtime_test

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestBuiltinVarNames: a built-in reads the names of the variables in
// scope without their values (VarNames, which sys.stage checks its
// modules with): the names of Vars, sorted.
func TestBuiltinVarNames(t *testing.T) {
	var names, want []string
	reg := stdlib.Default()
	reg.Add(&builtin.Builtin{Name: "gx.test_names", Where: builtin.InBlock, Effect: builtin.Pure,
		Run: func(c builtin.Ctx, _ builtin.Args) error {
			v, ok := c.(interface{ VarNames() []string })
			if !ok {
				t.Fatal("the runtime's built-in context has no VarNames")
			}
			names = v.VarNames()
			for n := range c.Vars() {
				want = append(want, n)
			}
			slices.Sort(want)
			return nil
		}})
	dir := t.TempDir()
	src := "mod main { flow all { Fresh_Name = \"x\"; gx.test_names(); } }\n"
	prog, ds := check.CheckSource(filepath.Join(dir, "w.gxl"), []byte(src), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	opt := runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, SecretsFile: filepath.Join(dir, "none")}
	if err := runtime.New(prog, opt).Run(context.Background(), nil, []string{"all"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) || !slices.Contains(names, "Fresh_Name") {
		t.Errorf("VarNames %v\nwant %v", names, want)
	}
}
