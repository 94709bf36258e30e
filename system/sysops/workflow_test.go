package sysops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindWorkflow: one function finds a module's workflow in every
// layout a module may have, for the model the system uses.
func TestFindWorkflow(t *testing.T) {
	cases := []struct {
		name, model string
		files       []string
		dir, file   string // relative to the module folder; "" dir: an error
		err         string
	}{
		{"gxl layout", "x86-ubt22-k8s", []string{"workflows/operators.gxl"}, ".", "workflows/operators.gxl", ""},
		{"placed by gsys update", "x86-ubt22-k8s", []string{"x86-ubt22-k8s/_gal/work.gxl", "x86-ubt22-k8s/workflows/operators.gxl"}, "x86-ubt22-k8s", "_gal/work.gxl", ""},
		{"gmod repository", "arm-mac14-host", []string{"_gal/work.gxl", "mod/x86-ubt22-k8s/_gal/work.gxl", "mod/arm-mac14-host/_gal/work.gxl"}, "mod/arm-mac14-host", "_gal/work.gxl", ""},
		{"other model only", "arm-mac14-host", []string{"x86-ubt22-k8s/_gal/work.gxl"}, "", "", "no variant for model arm-mac14-host (it has x86-ubt22-k8s)"},
		{"nothing", "x86-ubt22-k8s", []string{"README.md"}, "", "", "has no workflows/operators.gxl, x86-ubt22-k8s/_gal/work.gxl nor mod/x86-ubt22-k8s/_gal/work.gxl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			for _, f := range c.files {
				p := filepath.Join(base, filepath.FromSlash(f))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte("mod main {}\n"), 0o644)
			}
			wf, err := FindWorkflow(base, c.model)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantDir := filepath.Join(base, filepath.FromSlash(c.dir))
			if wf.Dir != wantDir || wf.File != filepath.Join(wantDir, filepath.FromSlash(c.file)) {
				t.Fatalf("got %+v, want dir %s file %s", wf, wantDir, c.file)
			}
		})
	}
}
