package layers

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/gxl-dev/gxl"

// TestImportsPointDown maps every non-test package of the module to its
// layer and fails on an import that points up or a package without layer.
func TestImportsPointDown(t *testing.T) {
	touchSources(t)
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue // the module root holds no package
		}
		var deps []string
		for _, d := range p.Imports {
			if r, ok := strings.CutPrefix(d, module+"/"); ok {
				deps = append(deps, r)
			}
		}
		imports[rel] = deps
	}
	if len(imports) < 20 {
		t.Fatalf("go list found only %d packages", len(imports))
	}
	for _, v := range Violations(imports) {
		t.Error(v)
	}
}

// touchSources stats every Go file and reads every folder of the module, so
// that `go test`'s cache, which records the files a test looks at, reruns
// this test when a source file changes (go list runs in a child process).
func touchSources(t *testing.T) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	filepath.WalkDir(strings.TrimSpace(string(root)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != strings.TrimSpace(string(root)) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			os.Stat(p)
		}
		return nil
	})
}

func TestViolations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		imports map[string][]string
		want    []string // substrings, one per violation
	}{
		{"down and sideways", map[string][]string{
			"runtime":      {"lang/check", "core/value", "runtime/shell"},
			"core/fsguard": {"core/diag"},
			"engine":       {"system/sysops", "stdlib"},
		}, nil},
		{"up", map[string][]string{"core/value": {"lang/ast"}}, []string{"core/value (layer 1, core) imports lang/ast (layer 2"}},
		{"registry to checker", map[string][]string{"lang/builtin": {"lang/check"}}, []string{"imports lang/check (layer 4"}},
		{"family to system", map[string][]string{"stdlib": {"system/sysops"}}, []string{"stdlib (layer 6"}},
		{"unclaimed", map[string][]string{"tools/x": nil}, []string{"tools/x: no layer claims"}},
		{"unclaimed import", map[string][]string{"engine": {"plugins/y"}}, []string{"plugins/y, which no layer claims"}},
		{"prefix is not a parent", map[string][]string{"lang/checkx": nil}, []string{"lang/checkx: no layer claims"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Violations(tc.imports)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d violations", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %q does not contain %q", got[i], w)
				}
			}
		})
	}
}
