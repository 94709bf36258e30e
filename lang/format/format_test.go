package format_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gxl-dev/gxl/lang/format"
	"github.com/gxl-dev/gxl/lang/syntax"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/format")

func formatString(t *testing.T, name string, src []byte) []byte {
	t.Helper()
	f, ds := syntax.Parse(name, src)
	if ds.HasErrors() {
		t.Fatalf("%s: %v", name, ds)
	}
	out := format.File(f)
	g, ds := syntax.Parse(name, out)
	if ds.HasErrors() {
		t.Fatalf("%s: formatted output does not parse: %v\n%s", name, ds, out)
	}
	if !format.SameTree(f, g) {
		t.Fatalf("%s: formatting changed the meaning:\n%s", name, out)
	}
	return out
}

// TestGolden compares `in` sections with `out` sections.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/format/*.txtar")
	if len(files) == 0 {
		t.Fatal("no format goldens")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var in []byte
			outIdx := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "in.gxl":
					in = f.Data
				case "out.gxl":
					outIdx = i
				}
			}
			got := formatString(t, file, in)
			if *update {
				if outIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "out.gxl"})
					outIdx = len(ar.Files) - 1
				}
				ar.Files[outIdx].Data = got
				os.WriteFile(file, txtar.Format(ar), 0o644)
				return
			}
			if outIdx < 0 {
				t.Fatal("no out.gxl (run with -update)")
			}
			if string(got) != string(ar.Files[outIdx].Data) {
				t.Errorf("got\n%s\nwant\n%s", got, ar.Files[outIdx].Data)
			}
		})
	}
}

// TestIdempotentOnCorpus formats every corpus file twice.
func TestIdempotentOnCorpus(t *testing.T) {
	n := 0
	filepath.Walk("../../testdata", func(p string, info os.FileInfo, err error) error {
		if err != nil || !strings.HasSuffix(p, ".gxl") || strings.Contains(p, "/check/") {
			return nil
		}
		src, _ := os.ReadFile(p)
		if _, ds := syntax.Parse(p, src); ds.HasErrors() {
			return nil // negative examples
		}
		once := formatString(t, p, src)
		twice := formatString(t, p, once)
		if string(once) != string(twice) {
			t.Errorf("%s: not idempotent\n--- once\n%s\n--- twice\n%s", p, once, twice)
		}
		n++
		return nil
	})
	if n == 0 {
		t.Fatal("no files")
	}
}

// TestSameTreeGroups: annotation groups are numbered by position, so two
// trees agree when the same neighbours share a group, wherever the groups
// start, and disagree when groups were merged or split.
func TestSameTreeGroups(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"mod m { #[a] #[b] flow f { } }", "mod m {\n\n    #[a]\n    #[b]\n    flow f { }\n}", true},
		{"mod m { #[a, b] flow f { } }", "mod m {\n  #[a,\n    b]\n  flow f { } }", true},
		{"mod m { #[a] #[b] flow f { } }", "mod m { #[a, b] flow f { } }", false},
		{"mod m { #[a, b] flow f { } }", "mod m { #[a] #[b] flow f { } }", false},
	} {
		fa, da := syntax.Parse("a.gxl", []byte(tc.a))
		fb, db := syntax.Parse("b.gxl", []byte(tc.b))
		if da.HasErrors() || db.HasErrors() {
			t.Fatalf("%v %v", da, db)
		}
		if got := format.SameTree(fa, fb); got != tc.same {
			t.Errorf("SameTree(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
