package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

// TestUntarKeepsProject runs gx.untar with destinations that mean the
// project itself or its parent: each run fails at the call (line 7,
// column 9) and the workflow, the other files and the .gxl journals stay.
func TestUntarKeepsProject(t *testing.T) {
	cases := []struct {
		name, dst string
		sets      map[string]value.Value
	}{
		{"dot", `"."`, nil},
		{"empty", `""`, nil},
		{"dotdot", `".."`, nil},
		{"empty variable", `"${OUT_DIR}"`, map[string]value.Value{"OUT_DIR": value.Str("")}},
		{"dot variable", `"${OUT_DIR}"`, map[string]value.Value{"OUT_DIR": value.Str(".")}},
		{"dotdot with replace", `"..", replace: true`, nil},
		{"dot with replace", `".", replace: true`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "prj")
			os.MkdirAll(filepath.Join(dir, "src"), 0o755)
			os.MkdirAll(filepath.Join(dir, ".gxl", "runs", "r1"), 0o755)
			os.WriteFile(filepath.Join(dir, ".gxl", "runs", "r1", "journal"), []byte("{}\n"), 0o600)
			os.WriteFile(filepath.Join(dir, "src", "a.txt"), []byte("a"), 0o644)
			os.WriteFile(filepath.Join(parent, "sibling.txt"), []byte("s"), 0o644)
			// Line 4 declares OUT_DIR for the checker; --set values win.
			os.WriteFile(filepath.Join(dir, "work.gxl"), []byte(`mod envs { env default { } }
mod main {
    flow test {
        out_dir = "${OUT_DIR:x}";
        gx.tar(src: "src", file: "a.tar.gz");
        gx.echo("extracting");
        gx.untar(file: "a.tar.gz", dst: `+c.dst+`);
        gx.echo("not reached");
    }
}
`), 0o644)
			res := runCase(t, dir, []string{"test"}, runtime.Options{Sets: c.sets, Quiet: true})
			var se *runtime.StepError
			if !errors.As(res.err, &se) {
				t.Fatalf("err = %v, want a step error", res.err)
			}
			if se.Span.Start.Line != 7 || se.Span.Start.Col != 9 || !strings.Contains(res.err.Error(), "refused, nothing was changed") ||
				!strings.Contains(res.err.Error(), "hint:") {
				t.Fatalf("err = %v (at %v), want work.gxl:7:9 with a hint", res.err, se.Span.Start)
			}
			if strings.Contains(res.stdout, "not reached") {
				t.Fatal("the run went on")
			}
			for _, f := range []string{"work.gxl", "src/a.txt", "a.tar.gz", ".gxl/runs/r1/journal", "../sibling.txt"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s is gone", f)
				}
			}
		})
	}
}
