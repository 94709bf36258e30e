package gx

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// project lays out a project (prj/_gal/project.toml, a workflow, a .gxl
// journal) whose working directory is prj/app, with a.tar.gz there, and
// returns prj and a context running in prj/app at a known call site.
func safetyProject(t *testing.T) (string, *fakeCtx) {
	t.Helper()
	base, _ := filepath.EvalSymlinks(t.TempDir())
	prj := filepath.Join(base, "prj")
	app := filepath.Join(prj, "app")
	for _, d := range []string{filepath.Join(prj, "_gal"), filepath.Join(prj, ".gxl", "runs", "r1"), filepath.Join(app, "src")} {
		os.MkdirAll(d, 0o755)
	}
	for f, body := range map[string]string{
		"_gal/project.toml":    "",
		"_gal/work.gxl":        "mod main { flow test { } }",
		".gxl/runs/r1/journal": "{}",
		"app/work.gxl":         "mod main { flow test { } }",
		"app/src/payload.txt":  "payload",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(prj, f)), 0o755)
		if err := os.WriteFile(filepath.Join(prj, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Tar(filepath.Join(app, "src"), filepath.Join(app, "a.tar.gz")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(prj, filepath.Join(app, "to-root"))
	c := newFakeCtx(app)
	c.site = diag.Span{Start: diag.Pos{File: "work.gxl", Line: 7, Col: 9}, End: diag.Pos{File: "work.gxl", Line: 7, Col: 40}}
	c.Set("GXL_PRJ_ROOT", value.Str(prj))
	return prj, c
}

// intact fails the test when a file of the project is gone.
func intact(t *testing.T, prj string) {
	t.Helper()
	for _, f := range []string{"_gal/project.toml", "_gal/work.gxl", ".gxl/runs/r1/journal", "app/work.gxl", "app/a.tar.gz"} {
		if _, err := os.Stat(filepath.Join(prj, f)); err != nil {
			t.Fatalf("%s is gone: %v", f, err)
		}
	}
}

// positioned checks err is a diagnostic at the call with a hint.
func positioned(t *testing.T, err error, c *fakeCtx, want string) {
	t.Helper()
	var d diag.Diagnostic
	if !errors.As(err, &d) {
		t.Fatalf("err = %v (%T), want a diagnostic", err, err)
	}
	if d.Span != c.site || d.Hint == "" || !strings.Contains(d.Summary, want) {
		t.Fatalf("diagnostic %+v: want span %v, a hint and %q", d, c.site, want)
	}
}

// TestUntarNeverDestroys: a destination that is, or is an ancestor of, a
// protected folder fails at the call with a hint, also with replace, and
// the project (workflow, journals) stays whole.
func TestUntarNeverDestroys(t *testing.T) {
	for _, dst := range []string{".", "", " ", "..", "../..", "./", "app/..", "to-root", "to-root/app", "../.gxl", "../.gxl/runs", "../.gxl/runs/r1", "$ABS"} {
		for _, replace := range []string{"false", "true"} {
			t.Run(dst+"/replace="+replace, func(t *testing.T) {
				prj, c := safetyProject(t)
				d := dst
				if d == "$ABS" {
					d = c.dir
				}
				err := runUntar(c, args(t, "gx.untar", map[string]string{"file": "a.tar.gz", "dst": d, "replace": replace}))
				positioned(t, err, c, "refused, nothing was changed")
				intact(t, prj)
			})
		}
	}
}

func TestUntarInto(t *testing.T) {
	prj, c := safetyProject(t)
	untar := func(dst, replace string) error {
		return runUntar(c, args(t, "gx.untar", map[string]string{"file": "a.tar.gz", "dst": dst, "replace": replace}))
	}
	// A fresh folder (and its parents) is created.
	if err := untar("out/x", "false"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.dir, "out", "x", "payload.txt")); string(b) != "payload" {
		t.Fatalf("payload.txt = %q", b)
	}
	// An existing folder with content is replaced only with replace: true.
	os.WriteFile(filepath.Join(c.dir, "out", "x", "stale.txt"), nil, 0o644)
	positioned(t, untar("out/x", "false"), c, "already has content")
	if _, err := os.Stat(filepath.Join(c.dir, "out", "x", "stale.txt")); err != nil {
		t.Fatal("a refused untar changed dst")
	}
	if err := untar("out/x", "true"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "out", "x", "stale.txt")); err == nil {
		t.Fatal("replace: true kept the old content")
	}
	// An existing empty folder takes the content without replace.
	os.MkdirAll(filepath.Join(c.dir, "empty"), 0o755)
	if err := untar("empty", "false"); err != nil {
		t.Fatal(err)
	}
	intact(t, prj)
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".untar-") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

// TestUntarLinkChains: links that each look inside but leave together
// (c → ".", a → "c/..") are refused, and no entry is written through a
// link.
func TestUntarLinkChains(t *testing.T) {
	cases := map[string][]*tar.Header{
		"link through link": {
			{Name: "c", Typeflag: tar.TypeSymlink, Linkname: "."},
			{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "c/.."},
		},
		"write through link": {
			{Name: "c", Typeflag: tar.TypeSymlink, Linkname: "."},
			{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "c/.."},
			{Name: "a/evil.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		},
		"file over link": {
			{Name: "c", Typeflag: tar.TypeSymlink, Linkname: "."},
			{Name: "f", Typeflag: tar.TypeSymlink, Linkname: "c/../evil.txt"},
			{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		},
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			arc := filepath.Join(dir, "x.tar.gz")
			writeTar(t, arc, hdrs...)
			err := Untar(arc, filepath.Join(dir, "dst"), false, nil)
			if _, serr := os.Stat(filepath.Join(dir, "evil.txt")); serr == nil {
				t.Fatal("an entry was written outside dst")
			}
			if name != "file over link" && (err == nil || !strings.Contains(err.Error(), "refused")) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestWritersNeverDestroy: gx.tar, gx.tpl, gx.download and gx.ver refuse
// protected destinations at the call.
func TestWritersNeverDestroy(t *testing.T) {
	cases := []struct {
		name string
		args map[string]string
		run  func(builtin.Ctx, builtin.Args) error
	}{
		{"gx.tar", map[string]string{"src": "src", "file": "."}, runTar},
		{"gx.tar", map[string]string{"src": "src", "file": ""}, runTar},
		{"gx.tpl", map[string]string{"tpl": "src", "dst": "..", "data": "{}"}, runTpl},
		{"gx.tpl", map[string]string{"tpl": "src", "dst": "", "data": "{}"}, runTpl},
		{"gx.tpl", map[string]string{"tpl": "src/payload.txt", "dst": "../.gxl/runs/r1/journal", "data": "{}"}, runTpl},
		{"gx.download", map[string]string{"url": "http://127.0.0.1:1/x", "local_file": ""}, runDownload},
		{"gx.download", map[string]string{"url": "http://127.0.0.1:1/x", "local_file": "../.gxl/runs/r1/journal"}, runDownload},
		{"gx.ver", map[string]string{"file": ""}, runVer},
	}
	for _, tc := range cases {
		t.Run(tc.name+" "+tc.args["file"]+tc.args["dst"]+tc.args["local_file"], func(t *testing.T) {
			prj, c := safetyProject(t)
			err := tc.run(c, args(t, tc.name, tc.args))
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err = %v", err)
			}
			positioned(t, err, c, "refused")
			intact(t, prj)
		})
	}
}
