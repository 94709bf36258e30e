package runtime_test

import (
	"bytes"
	"context"
	"github.com/gxl-dev/gxl/core/types"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

// copyDir copies a test case into a temporary folder so runs never write
// into the repository.
func copyDir(t testing.TB, src string) string {
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v %s", src, err, out)
	}
	return dst
}

func load(t testing.TB, path string) *check.Program {
	prog, ds := check.Load(path, check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatalf("check %s:\n%v", path, ds)
	}
	return prog
}

type result struct {
	stdout, stderr string
	err            error
}

func runCase(t testing.TB, dir string, flows []string, opt runtime.Options) result {
	prog := load(t, filepath.Join(dir, "work.gxl"))
	var out, errb bytes.Buffer
	opt.Stdout, opt.Stderr, opt.Dir = &out, &errb, dir
	opt.Load = func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
		return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, Confine: confine})
	}
	if opt.SecretsFile == "" {
		opt.SecretsFile = filepath.Join(dir, "no-secrets.yml")
	}
	r := runtime.New(prog, opt)
	err := r.Run(context.Background(), []string{"default"}, flows)
	return result{out.String(), errb.String(), err}
}

// TestPrograms runs every self-checking program under testdata/run: each
// folder holds work.gxl, optionally `flows` (default: test), `want.stdout`,
// `want.fail` (the run must fail) and `dryrun` (run with --dryrun).
func TestPrograms(t *testing.T) {
	t.Setenv("GXL_TEST_FROM_ENV", "from-process")
	t.Setenv("GXL_TEST_SHADOWED", "from-process")
	cases, _ := filepath.Glob("../testdata/run/*/work.gxl")
	if len(cases) < 10 {
		t.Fatalf("only %d programs", len(cases))
	}
	for _, c := range cases {
		src := filepath.Dir(c)
		t.Run(filepath.Base(src), func(t *testing.T) {
			dir := copyDir(t, src)
			flows := []string{"test"}
			if b, err := os.ReadFile(filepath.Join(dir, "flows")); err == nil {
				flows = strings.Fields(string(b))
			}
			_, dry := os.Stat(filepath.Join(dir, "dryrun"))
			res := runCase(t, dir, flows, runtime.Options{DryRun: dry == nil})
			_, wantFail := os.Stat(filepath.Join(dir, "want.fail"))
			if (res.err != nil) != (wantFail == nil) {
				t.Fatalf("err = %v (want failure: %v)\nstdout:\n%s", res.err, wantFail == nil, res.stdout)
			}
			want, err := os.ReadFile(filepath.Join(dir, "want.stdout"))
			if err != nil {
				return
			}
			got := res.stdout
			if !strings.Contains(string(want), "assert true") {
				var keep []string
				for _, l := range strings.SplitAfter(got, "\n") {
					if !strings.HasPrefix(l, "assert true : ") {
						keep = append(keep, l)
					}
				}
				got = strings.Join(keep, "")
			}
			if got != string(want) {
				t.Errorf("stdout differs\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
