package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/runtime"
)

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, src := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// A system workflow: the engine loads its system (typed variables) and
// hands the host settings to built-ins through Ctx.Host.
func TestHostReachesBuiltins(t *testing.T) {
	root := write(t, map[string]string{
		"sys/sys_model.yml":    "name: shop\nmodel: x86-ubt22-host\nvender: t\n",
		"sys/mod_list.yml":     "[]\n",
		"sys/vars.yml":         "vars:\n  - name: PORT\n    type: integer\n    value: 8080\n",
		"sys/workflows/w.gxl":  "mod main { flow f { t.host(); gx.echo(\"port ${PORT}\"); } }",
		"_gal/project.toml":    "",
		"sys/workflows/x.gxl":  "mod main { flow f { gx.echo(\"${GXL_JOBS}\"); } }",
		"sys/workflows/y.gxl":  "mod main { flow f { gx.echo(\"${GXL_SYS_ROOT}\"); } }",
		"elsewhere/plain.gxl":  "mod main { flow f { t.host(); } }",
		"elsewhere/_keep.txt":  "",
		"sys/workflows/README": "",
	})
	reg := engine.Registry()
	reg.Add(&builtin.Builtin{Name: "t.host", Where: builtin.InBlock, Run: func(c builtin.Ctx, a builtin.Args) error {
		h := c.Host()
		fmt.Fprintf(c.Stdout(), "jobs=%d mirrors=%v offline=%v modup=%v sysroot=%s\n", h.Jobs, h.Mirrors, h.Offline, h.ModUp, h.SysRoot)
		return nil
	}})
	var out bytes.Buffer
	eng, err := engine.New(engine.WithDir(root), engine.WithStdout(&out), engine.WithStderr(&out), engine.WithRegistry(reg),
		engine.WithJobs(7), engine.WithMirrors("https://a/=https://b/"), engine.WithOffline(true), engine.WithModUp(true),
		engine.WithSecretsFile(filepath.Join(root, "none")))
	if err != nil {
		t.Fatal(err)
	}
	p := eng.Load(filepath.Join(root, "sys/workflows/w.gxl"))
	if !p.OK() {
		t.Fatalf("load: %v", p.Diags)
	}
	run, err := eng.NewRun(p, []string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := fmt.Sprintf("jobs=7 mirrors=[https://a/=https://b/] offline=true modup=true sysroot=%s\n", root)
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "port 8080") {
		t.Errorf("output %q, want %q and port 8080", out.String(), want)
	}
	if run.Journal == nil || !strings.HasPrefix(run.Journal.Path, filepath.Join(root, ".gxl")) {
		t.Errorf("journal not under the project root: %+v", run.Journal)
	}
	// Host settings are not program variables.
	for _, f := range []string{"x.gxl", "y.gxl"} {
		if p := eng.Load(filepath.Join(root, "sys/workflows", f)); !strings.Contains(fmt.Sprint(p.Diags), "is not defined") {
			t.Errorf("%s: a host setting is readable as a variable (%v)", f, p.Diags)
		}
	}
	// Outside sys/workflows there is no system root.
	out.Reset()
	p = eng.Load(filepath.Join(root, "elsewhere/plain.gxl"))
	run, err = eng.NewRun(p, []string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(context.Background()); err != nil || !strings.Contains(out.String(), "sysroot=\n") {
		t.Errorf("plain file: %v %q", err, out.String())
	}
}

// A secret --set never reaches the journal; resuming without it again is
// a MissingSecretError. The other sets come back from the journal.
func TestSecretSetsAndResume(t *testing.T) {
	root := write(t, map[string]string{
		"_gal/project.toml": "",
		"w.gxl":             `mod main { flow f { gx.echo("${A} ${SEC_PW}"); gx.assert(value: "${A}", expect: "fail-me"); } }`,
	})
	var out bytes.Buffer
	opts := []engine.Option{engine.WithDir(root), engine.WithStdout(&out), engine.WithStderr(&out), engine.WithSecretsFile(filepath.Join(root, "none"))}
	eng, err := engine.New(append(opts, engine.WithSets(map[string]string{"A": "1", "SEC_PW": "s3cret"}))...)
	if err != nil {
		t.Fatal(err)
	}
	p := eng.Load(filepath.Join(root, "w.gxl"))
	run, err := eng.NewRun(p, []string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(context.Background()); err == nil {
		t.Fatal("the assertion did not fail")
	}
	filepath.Walk(filepath.Join(root, ".gxl"), func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("s3cret")) {
				t.Errorf("%s holds the secret", path)
			}
		}
		return nil
	})
	again, _ := engine.New(opts...)
	var ms *engine.MissingSecretError
	if _, err := again.OpenResume("last"); !errors.As(err, &ms) || ms.Name != "SEC_PW" {
		t.Fatalf("resume without the secret: %v", err)
	}
	again, _ = engine.New(append(opts, engine.WithSets(map[string]string{"SEC_PW": "s3cret"}))...)
	res, err := again.OpenResume("last")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Engine.Sets()["A"].String(); got != "1" {
		t.Errorf("A from the journal = %q", got)
	}
	p = res.Engine.Load(res.State.Header.File)
	r2, err := res.Resume(p)
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID() != run.ID() || r2.Options.Resume == nil {
		t.Errorf("resume continues %q (want %q), state %v", r2.ID(), run.ID(), r2.Options.Resume)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  engine.Option
		want string
	}{
		{"jobs", engine.WithJobs(0), "jobs must be at least 1"},
		{"mirror", engine.WithMirrors("no-equals"), "no-equals"},
	} {
		if _, err := engine.New(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	root := write(t, map[string]string{
		"w.gxl": "mod envs { env default { } }\nmod main {\n flow a { gx.echo(\"a\"); }\n flow b { gx.echo(\"b\"); }\n flow all | a | b ;\n}\n",
	})
	var out bytes.Buffer
	eng, err := engine.New(engine.WithDir(root), engine.WithStdout(&out))
	if err != nil {
		t.Fatal(err)
	}
	p := eng.Load(filepath.Join(root, "w.gxl"))
	ps, err := eng.Preview(context.Background(), p, []string{"all"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var d bytes.Buffer
	runtime.WritePreview(&d, ps[0])
	if ps[0].Flow != "main.all" || !strings.Contains(d.String(), "main.a") || strings.Index(d.String(), "main.a") > strings.Index(d.String(), "main.b") {
		t.Errorf("plan of main.all:\n%s", d.String())
	}
	if _, err := eng.Preview(context.Background(), p, []string{"nope"}, false); err == nil {
		t.Error("an unknown flow was planned")
	}
	if out.Len() != 0 {
		t.Errorf("planning ran something: %q", out.String())
	}
}
