package fsguard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout makes home/, home/prj/_gal/project.toml (the project root),
// home/prj/app (the working directory), a symlink to the project root and
// one to a plain folder, and returns the folders.
func layout(t *testing.T) (base, home, prj, wd string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home = filepath.Join(base, "home")
	prj = filepath.Join(home, "prj")
	wd = filepath.Join(prj, "app")
	for _, d := range []string{filepath.Join(prj, "_gal"), wd, filepath.Join(prj, "data"), filepath.Join(prj, ".gxl", "runs", "r1")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(prj, "_gal", "project.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(prj, filepath.Join(wd, "to-root")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(prj, "data"), filepath.Join(wd, "to-data")); err != nil {
		t.Fatal(err)
	}
	return base, home, prj, wd
}

func TestCheck(t *testing.T) {
	base, home, prj, wd := layout(t)
	rs := Roots{}.Add("/", "the file system root").Add(home, "the home directory")
	rs = append(rs, Project(wd, "the working directory")...)
	in := func(p string) string { return filepath.Join(wd, p) }
	cases := []struct {
		name, target string
		what         string // protected folder named in the error; "" = allowed
	}{
		{"empty", "", "empty"},
		{"blank", "  ", "empty"},
		{"dot", in("."), "the working directory"},
		{"dotdot", in(".."), "the project root"},
		{"dotdot twice", in("../.."), "the home directory"},
		{"ancestor of home", base, "the home directory"},
		{"trailing slash", wd + "/", "the working directory"},
		{"absolute project root", prj, "the project root"},
		{"root", "/", "the file system root"},
		{"home", home, "the home directory"},
		{"symlink to the project root", in("to-root"), "the project root"},
		{"through a symlink", in("to-root/app"), "the working directory"},
		{"the .gxl folder", filepath.Join(prj, ".gxl"), "the project's .gxl folder"},
		{"a journal", filepath.Join(prj, ".gxl", "runs", "r1"), "the run journals (.gxl/runs)"},
		{"a file beside the journals", filepath.Join(prj, ".gxl", "runs", "latest"), "the run journals (.gxl/runs)"},
		{"new subfolder", in("out"), ""},
		{"new nested subfolder", in("out/a/b"), ""},
		{"existing sibling", filepath.Join(prj, "data"), ""},
		{"symlink to a plain folder", in("to-data"), ""},
		{"other .gxl content", filepath.Join(prj, ".gxl", "git"), ""},
		{"a folder in home", filepath.Join(home, "other"), ""},
		{"name starting like the wd", wd + "2", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(c.target, rs)
			if c.what == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want allowed", c.target, err)
				}
				if !filepath.IsAbs(got) || got != filepath.Clean(got) {
					t.Errorf("Check(%q) = %q, want an absolute clean path", c.target, got)
				}
				return
			}
			var r *Refused
			if !errors.As(err, &r) {
				t.Fatalf("Check(%q) = %q, %v; want refused as %s", c.target, got, err, c.what)
			}
			if c.what != "empty" && r.Root.What != c.what {
				t.Errorf("Check(%q) names %q, want %q (%v)", c.target, r.Root.What, c.what, err)
			}
			if !strings.Contains(err.Error(), "refused, nothing was changed") || r.Hint() == "" {
				t.Errorf("message %q / hint %q", err, r.Hint())
			}
		})
	}
}

// TestBaseProtectsProcess: the process's folders are protected without
// being named.
func TestBaseProtectsProcess(t *testing.T) {
	_, home, prj, wd := layout(t)
	t.Setenv("HOME", home)
	t.Chdir(wd)
	for _, p := range []string{wd, prj, home, "/", filepath.Join(prj, ".gxl")} {
		if _, err := Check(p, Base()); err == nil {
			t.Errorf("Base() lets %s be destroyed", p)
		}
	}
	if _, err := Check(filepath.Join(wd, "out"), Base()); err != nil {
		t.Errorf("Base() refuses a fresh subfolder: %v", err)
	}
}

func TestRemoveAllAndReplace(t *testing.T) {
	_, _, prj, wd := layout(t)
	rs := Project(wd, "the working directory")
	if err := RemoveAll(filepath.Join(wd, ".."), rs); err == nil {
		t.Fatal("RemoveAll of the project root was allowed")
	}
	if _, err := os.Stat(filepath.Join(prj, "_gal", "project.toml")); err != nil {
		t.Fatalf("project damaged: %v", err)
	}
	// Replace swaps a fresh folder in and removes the old content.
	dst := filepath.Join(wd, "out")
	os.MkdirAll(dst, 0o755)
	os.WriteFile(filepath.Join(dst, "old.txt"), nil, 0o644)
	src := filepath.Join(wd, ".out.tmp")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "new.txt"), nil, 0o644)
	if err := Replace(src, dst, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "new.txt")); err != nil {
		t.Error("new content missing")
	}
	if _, err := os.Stat(filepath.Join(dst, "old.txt")); err == nil {
		t.Error("old content kept")
	}
	if _, err := os.Stat(src + ".old"); err == nil {
		t.Error("the moved-aside folder was left behind")
	}
	// Replace refuses the working directory and leaves src alone.
	os.MkdirAll(src, 0o755)
	if err := Replace(src, wd, rs); err == nil {
		t.Fatal("Replace of the working directory was allowed")
	}
	if _, err := os.Stat(filepath.Join(wd, "out", "new.txt")); err != nil {
		t.Error("working directory changed by a refused Replace")
	}
}

// TestRemoveEntry: one run's folder can be removed from the journals,
// nothing else: not the journals folder, not an entry named with a path,
// not a symbolic link, not a folder holding the working directory.
func TestRemoveEntry(t *testing.T) {
	_, _, prj, wd := layout(t)
	runs := filepath.Join(prj, ".gxl", "runs")
	os.MkdirAll(filepath.Join(runs, "r2", "sub"), 0o755)
	os.MkdirAll(filepath.Join(runs, "r5", "sub"), 0o755)
	os.MkdirAll(filepath.Join(prj, "outside"), 0o755)
	os.Symlink(filepath.Join(prj, "outside"), filepath.Join(runs, "link"))
	os.MkdirAll(filepath.Join(runs, "r3", "wd"), 0o755)
	rs := append(Roots{}.Add(filepath.Join(runs, "r3", "wd"), "the working directory"), Project(wd, "the project folder")...)
	cases := []struct {
		name, entry string
		allowed     bool
		gone        string // what must be gone (allowed) or kept (refused)
	}{
		{"a run", "r1", true, filepath.Join(runs, "r1")},
		{"a run with content", "r2", true, filepath.Join(runs, "r2")},
		{"dot", ".", false, runs},
		{"dotdot", "..", false, filepath.Join(prj, ".gxl")},
		{"empty", "", false, runs},
		{"a path", "r5/sub", false, filepath.Join(runs, "r5", "sub")},
		{"an escape", "../../data", false, filepath.Join(prj, "data")},
		{"a symlink", "link", false, filepath.Join(prj, "outside")},
		{"holding the working directory", "r3", false, filepath.Join(runs, "r3", "wd")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := RemoveEntry(runs, c.entry, rs)
			_, statErr := os.Stat(c.gone)
			if c.allowed {
				if err != nil || statErr == nil {
					t.Fatalf("RemoveEntry(%q) = %v, still there: %v", c.entry, err, statErr == nil)
				}
				return
			}
			var r *Refused
			if !errors.As(err, &r) {
				t.Fatalf("RemoveEntry(%q) = %v, want refused", c.entry, err)
			}
			if statErr != nil {
				t.Fatalf("RemoveEntry(%q) refused but %s is gone", c.entry, c.gone)
			}
			if !strings.Contains(err.Error(), "refused, nothing was changed") {
				t.Errorf("message %q", err)
			}
		})
	}
	// Check alone still refuses a run's folder.
	os.MkdirAll(filepath.Join(runs, "r4"), 0o755)
	if _, err := Check(filepath.Join(runs, "r4"), rs); err == nil {
		t.Fatal("Check lets a journal be removed")
	}
}
