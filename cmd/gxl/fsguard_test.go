package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunUntarNeverDestroys: `gxl run` of a workflow extracting into the
// project itself, an empty value or its parent exits 1 with the call's
// file:line:col and a hint, and the workflow, the other files, the
// project's parent and the .gxl journal folder are all still there.
func TestRunUntarNeverDestroys(t *testing.T) {
	const wf = `mod envs { env default { } }
mod main {
    flow unpack {
        out_dir = "${OUT_DIR:x}";
        gx.tar(src: "src", file: "a.tar.gz");
        gx.untar(file: "a.tar.gz", dst: "${OUT_DIR}");
    }
    flow dot { gx.untar(file: "a.tar.gz", dst: ".", replace: true); }
}
`
	cases := []struct {
		name string
		args []string
		pos  string
	}{
		{"dot", []string{"run", "-q", "unpack,dot"}, "work.gxl:8:16"},
		{"empty value", []string{"run", "-q", "unpack", "--set", "OUT_DIR="}, "work.gxl:6:9"},
		{"dot value", []string{"run", "-q", "unpack", "--set", "OUT_DIR=."}, "work.gxl:6:9"},
		{"parent", []string{"run", "-q", "unpack", "--set", "OUT_DIR=.."}, "work.gxl:6:9"},
		{"project root from a subfolder", []string{"run", "-q", "unpack", "--set", "OUT_DIR=../.."}, "work.gxl:6:9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "prj")
			for name, body := range map[string]string{
				"_gal/project.toml": "",
				"_gal/work.gxl":     wf,
				"src/a.txt":         "a",
				"notes.txt":         "keep me",
				"../sibling.txt":    "keep me too",
			} {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(body), 0o644)
			}
			if c.name == "project root from a subfolder" {
				// Run from prj/src/deep: ../.. is the project root.
				os.MkdirAll(filepath.Join(dir, "src", "deep", "_gal"), 0o755)
				os.WriteFile(filepath.Join(dir, "src", "deep", "_gal", "work.gxl"), []byte(wf), 0o644)
				os.MkdirAll(filepath.Join(dir, "src", "deep", "src"), 0o755)
				r := gxl(t, filepath.Join(dir, "src", "deep"), c.args...)
				projectIntact(t, r, dir, c.pos)
				return
			}
			projectIntact(t, gxl(t, dir, c.args...), dir, c.pos)
		})
	}
}

func projectIntact(t *testing.T, r cliResult, dir, pos string) {
	t.Helper()
	if r.code != 1 || !strings.Contains(r.stderr, pos) || !strings.Contains(r.stderr, "refused, nothing was changed") || !strings.Contains(r.stderr, "hint") {
		t.Fatalf("code %d, want 1 with %s\nstderr:\n%s", r.code, pos, r.stderr)
	}
	for _, f := range []string{"_gal/work.gxl", "_gal/project.toml", "notes.txt", "src/a.txt", ".gxl/runs", "../sibling.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s is gone", f)
		}
	}
}
