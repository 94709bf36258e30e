// Package gxltest runs GXL programs from tests of the built-in families,
// through the same checker and interpreter as `gxl run`.
package gxltest

import (
	"bytes"
	"context"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/engine"
	"os"
	"path/filepath"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// Run checks src and runs flow in env default with vars set as strings.
// A program that does not check fails the test.
func Run(t testing.TB, src, flow string, vars map[string]string) (string, error) {
	t.Helper()
	return RunHost(t, src, flow, builtin.Host{}, vars)
}

// RunHost is Run with host settings (Ctx.Host), e.g. the system root a
// sys.* built-in works on.
func RunHost(t testing.TB, src, flow string, host builtin.Host, vars map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "work.gxl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, ds := check.Load(path, check.Options{Registry: engine.Registry()})
	if ds.HasErrors() {
		t.Fatalf("check: %v", ds)
	}
	extra := map[string]value.Value{}
	for k, v := range vars {
		extra[k] = value.Str(v)
	}
	var out bytes.Buffer
	r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: &out, Stderr: &out, Extra: extra, Host: host, SecretsFile: filepath.Join(dir, "none"),
		Load: func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
			return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, Confine: confine})
		}})
	err := r.Run(context.Background(), []string{"default"}, []string{flow})
	return out.String(), err
}
