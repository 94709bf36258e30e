package runtime_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestRunFromLibraryConfinement: gx.run called from a file of a fetched
// library (confined to its checkout) may run a workflow inside the run's
// own folder, as ops-gxl's sys_ops runs ./sys/mods/<name>/<model>; that
// workflow is then confined to the run's folder, not let loose. A folder
// outside the run's folder (by .. or by a link) stays confined to the
// library's checkout and is refused at the position of the gx.run call.
func TestRunFromLibraryConfinement(t *testing.T) {
	base := t.TempDir()
	lib := filepath.Join(base, "cache", "checkouts", "ops")
	run := filepath.Join(base, "shop")
	outside := filepath.Join(base, "outside")
	marker := filepath.Join(base, "outside-ran")
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := func(body string) string {
		return "mod envs { env default { } }\nmod main {\n    flow install {\n        " + body + "\n    }\n}\n"
	}
	write(filepath.Join(run, "sys", "mods", "web", "_gal", "work.gxl"), work(`gx.echo("web installed");`))
	write(filepath.Join(run, "sys", "mods", "esc", "_gal", "work.gxl"), "extern mod evil { path = \"@PATH/../../../../../outside\" }\nmod envs { env default { } }\nmod main : evil { }\n")
	write(filepath.Join(outside, "_gal", "work.gxl"), work(`gx.cmd("touch `+marker+`");`))
	write(filepath.Join(outside, "evil.gxl"), "mod evil {\n    flow install {\n        gx.cmd(\"touch "+marker+"\");\n    }\n}\n")
	if err := os.Symlink(outside, filepath.Join(run, "sys", "mods", "link")); err != nil {
		t.Fatal(err)
	}
	libFile := filepath.Join(lib, "mods", "sys_ops.gxl")
	for _, c := range []struct {
		name, local string
		out, err    string // want in stdout; want in the error ("" none)
	}{
		{name: "a module of the run", local: "./sys/mods/web", out: "web installed"},
		{name: "leaving the run by ..", local: "../outside",
			err: libFile + ":3:9: main.install: gx.run: " + filepath.Join(outside, "_gal", "work.gxl") + " is outside the run's folder " + run + " and the library's checkout " + lib},
		{name: "leaving the run by a link", local: "./sys/mods/link",
			err: libFile + ":3:9: main.install: gx.run: " + filepath.Join(outside, "_gal", "work.gxl") + " is outside the run's folder " + run + " and the library's checkout " + lib},
		{name: "a module of the run whose extern leaves the run", local: "./sys/mods/esc",
			err: "work.gxl:1:26: error: extern mod evil: " + filepath.Join(outside, "evil.gxl") + " is outside the module's checkout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			write(libFile, "mod main {\n    flow install {\n        gx.run(local: \""+c.local+"\", env: \"default\", flow: \"install\");\n    }\n}\n")
			prog, ds := check.Load(libFile, check.Options{Registry: stdlib.Default(), Confine: lib})
			if ds.HasErrors() {
				t.Fatal(ds.Err())
			}
			var out, errb bytes.Buffer
			opt := runtime.Options{Stdout: &out, Stderr: &errb, Dir: run, SecretsFile: filepath.Join(base, "no-secrets.yml")}
			opt.Load = func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
				return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, Confine: confine})
			}
			err := runtime.New(prog, opt).Run(context.Background(), nil, []string{"install"})
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatal("a workflow outside the run's folder ran")
			}
			if c.err == "" {
				if err != nil || !strings.Contains(out.String(), c.out) {
					t.Fatalf("err %v, stdout %q", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("got %v\nwant an error with %q", err, c.err)
			}
		})
	}
}
