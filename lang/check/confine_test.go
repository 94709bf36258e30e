package check_test

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
	"github.com/gxl-dev/gxl/system/fetch"
)

// gitModule makes a real git repository at dir holding files, committed
// on main.
func gitModule(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "module"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// pathPos is the position of the first `path = "…"` value in src.
func pathPos(t *testing.T, src string) (line, col int) {
	t.Helper()
	i := strings.Index(src, `path = "`)
	if i < 0 {
		t.Fatalf("no path in %q", src)
	}
	i += len("path = ")
	line = 1 + strings.Count(src[:i], "\n")
	return line, i - strings.LastIndex(src[:i], "\n")
}

// TestFetchedModulesStayInTheirCheckout: a git module fetched through
// file:// cannot load a file outside its checkout through `..`, an
// absolute path, a symlink or a file it loads in turn (spec I.4); its own
// files still load and run.
func TestFetchedModulesStayInTheirCheckout(t *testing.T) {
	base := t.TempDir()
	// evil.gxl lies outside every checkout: base/cache/checkouts/<repo>@main
	// is the checkout, so its mods/ folder is four levels below base.
	marker := filepath.Join(base, "evil-ran")
	evil := `mod evil { flow boom { gx.cmd("touch ` + marker + `"); } }`
	if err := os.WriteFile(filepath.Join(base, "evil.gxl"), []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"mods/ok.gxl":         "extern mod helper { path = \"@PATH/lib\" }\nmod ok { }\n",
		"mods/lib/helper.gxl": `mod helper { flow hi { gx.echo("helper ran"); } }`,
		"mods/dots.gxl":       "mod dots { }\nextern mod evil { path = \"@PATH/../../../..\" }\n",
		"mods/abs.gxl":        "extern mod evil { path = \"" + base + "\" }\n",
		"mods/link.gxl":       "extern mod evil { path = \"@PATH/out\" }\n",
		"mods/trans.gxl":      "extern mod b { path = \"@PATH/lib\" }\n",
		"mods/lib/b.gxl":      "mod b { }\n  extern mod evil { path = \"@PATH/../../../../..\" }\n",
		// A git extern inside the module: its files are confined to
		// their own checkout.
		"mods/nested.gxl": "extern mod esc { git = \"file://" + filepath.Join(base, "upstream", "other") + "\" }\n",
	}
	otherFiles := map[string]string{"mods/esc.gxl": "extern mod evil { path = \"@PATH/../../../..\" }\n"}
	repo, other := filepath.Join(base, "upstream", "ops"), filepath.Join(base, "upstream", "other")
	gitModule(t, repo, files)
	gitModule(t, other, otherFiles)
	fe := &fetch.Fetcher{Cache: filepath.Join(base, "cache")}
	checkout, err := fe.Checkout("file://"+repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	otherCheckout, err := fe.Checkout("file://"+other, "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{checkout, otherCheckout} {
		if filepath.Dir(filepath.Dir(filepath.Dir(c))) != base {
			t.Fatalf("checkout at %s: the paths of the test assume base/cache/checkouts/<repo>", c)
		}
	}
	// The cached checkout is used as it is: a link planted in it points
	// outside (materialise itself writes no links).
	if err := os.Symlink(base, filepath.Join(checkout, "mods", "out")); err != nil {
		t.Fatal(err)
	}
	load := func(name string) (*check.Program, diag.List) {
		dir := t.TempDir()
		main := filepath.Join(dir, "work.gxl")
		src := "extern mod " + name + " { git = \"file://" + repo + "\" }\nmod envs { env default { } }\nmod main { flow go | helper.hi ; }\n"
		if name != "ok" {
			src = "extern mod " + name + " { git = \"file://" + repo + "\" }\nmod main { flow go { } }\n"
		}
		os.WriteFile(main, []byte(src), 0o644)
		return check.Load(main, check.Options{Registry: stdlib.Default(), Dir: dir, ResolveGit: fe.Checkout})
	}

	for _, tc := range []struct {
		name, file, src, root string
	}{
		{"dots", "mods/dots.gxl", files["mods/dots.gxl"], checkout},
		{"abs", "mods/abs.gxl", files["mods/abs.gxl"], checkout},
		{"link", "mods/link.gxl", files["mods/link.gxl"], checkout},
		{"trans", "mods/lib/b.gxl", files["mods/lib/b.gxl"], checkout},
		{"nested", "mods/esc.gxl", otherFiles["mods/esc.gxl"], otherCheckout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, ds := load(tc.name)
			line, col := pathPos(t, tc.src)
			file := filepath.Join(tc.root, filepath.FromSlash(tc.file))
			var got *diag.Diagnostic
			for i, d := range ds {
				if d.Code == "extern-escape" {
					got = &ds[i]
				}
			}
			if got == nil || !ds.HasErrors() {
				t.Fatalf("escape not refused: %v", ds)
			}
			if p := got.Span.Start; p.File != file || p.Line != line || p.Col != col {
				t.Errorf("reported at %s:%d:%d, want %s:%d:%d", p.File, p.Line, p.Col, file, line, col)
			}
			if !strings.Contains(got.Hint, "inside the module's checkout at "+tc.root) {
				t.Errorf("hint %q", got.Hint)
			}
			if _, read := prog.Sources[filepath.Join(base, "evil.gxl")]; read || prog.Module("evil") != nil {
				t.Errorf("evil.gxl was loaded")
			}
		})
	}

	t.Run("inside", func(t *testing.T) {
		prog, ds := load("ok")
		if len(ds) > 0 {
			t.Fatalf("a module's own files must load: %v", ds)
		}
		if root := prog.Confine[filepath.Join(checkout, "mods", "lib", "helper.gxl")]; root != checkout {
			t.Errorf("helper.gxl confined to %q, want the checkout", root)
		}
		var out bytes.Buffer
		r := runtime.New(prog, runtime.Options{Dir: base, Stdout: &out, Stderr: &out, SecretsFile: filepath.Join(base, "none")})
		if err := r.Run(context.Background(), []string{"default"}, []string{"go"}); err != nil || !strings.Contains(out.String(), "helper ran") {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
	})
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a file outside the checkout ran")
	}
}

// TestGxRunStaysInTheCheckout: gx.run called from a fetched module loads
// only a file inside the module's checkout, and that file's externs stay
// inside it too (spec I.4).
func TestGxRunStaysInTheCheckout(t *testing.T) {
	base := t.TempDir()
	marker := filepath.Join(base, "evil-ran")
	evil := "mod envs { env default { } }\nmod main { flow boom { gx.cmd(\"touch " + marker + "\"); } }\n"
	os.MkdirAll(filepath.Join(base, "evil"), 0o755)
	os.WriteFile(filepath.Join(base, "evil", "work.gxl"), []byte(evil), 0o644)
	os.WriteFile(filepath.Join(base, "evil.gxl"), []byte(`mod evil { flow boom { gx.cmd("touch `+marker+`"); } }`), 0o644)
	repo := filepath.Join(base, "upstream", "runner")
	gitModule(t, repo, map[string]string{
		// @PATH is <checkout>/mods, four levels below base.
		"mods/runner.gxl": `mod runner {
    flow out { gx.run(local: "@PATH/../../../..", conf: "evil/work.gxl", env: "default", flow: "boom"); }
    flow own { gx.run(local: "@PATH/sub", conf: "work.gxl", env: "default", flow: "hi"); }
    flow own_escapes { gx.run(local: "@PATH/sub", conf: "esc.gxl", env: "default", flow: "hi"); }
}`,
		"mods/sub/work.gxl": "mod envs { env default { } }\nmod main { flow hi { gx.echo(\"sub ran\"); } }\n",
		"mods/sub/esc.gxl":  "extern mod evil { path = \"@{PATH}/../../../../..\" }\nmod envs { env default { } }\nmod main : evil { flow hi { } }\n",
	})
	fe := &fetch.Fetcher{Cache: filepath.Join(base, "cache")}
	project := t.TempDir()
	main := filepath.Join(project, "work.gxl")
	os.WriteFile(main, []byte("extern mod runner { git = \"file://"+repo+"\" }\nmod envs { env default { } }\nmod main { flow out | runner.out ; flow own | runner.own ; flow own_escapes | runner.own_escapes ; }\n"), 0o644)
	prog, ds := check.Load(main, check.Options{Registry: stdlib.Default(), Dir: project, ResolveGit: fe.Checkout})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	for _, tc := range []struct{ flow, want string }{
		{"own", ""},
		{"out", "and the library's checkout"},
		{"own_escapes", "esc.gxl:1:26: error: extern mod evil: " + filepath.Join(base, "evil.gxl") + " is outside the module's checkout"},
	} {
		t.Run(tc.flow, func(t *testing.T) {
			var out bytes.Buffer
			r := runtime.New(prog, runtime.Options{Dir: project, Stdout: &out, Stderr: &out, SecretsFile: filepath.Join(base, "none"),
				Load: func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
					return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, ResolveGit: fe.Checkout, Confine: confine})
				}})
			err := r.Run(context.Background(), []string{"default"}, []string{tc.flow})
			if tc.want == "" {
				if err != nil || !strings.Contains(out.String(), "sub ran") {
					t.Fatalf("gx.run inside the checkout: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("gx.run escape: %v, want %q\n%s", err, tc.want, out.String())
			}
		})
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a file outside the checkout ran")
	}
}
