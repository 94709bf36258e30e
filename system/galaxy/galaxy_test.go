package galaxy

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden layouts in testdata")

// tree reads every file under dir into an archive, sorted by path.
func tree(t *testing.T, dir string) *txtar.Archive {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(names)
	ar := &txtar.Archive{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			t.Fatal(err)
		}
		ar.Files = append(ar.Files, txtar.File{Name: n, Data: b})
	}
	return ar
}

// golden compares the files under dir with testdata/name.txtar.
func golden(t *testing.T, dir, name string) {
	t.Helper()
	got := txtar.Format(tree(t, dir))
	file := filepath.Join("testdata", name+".txtar")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the files written (go test -update rewrites it):\n%s", file, diffLines(string(want), string(got)))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n  want: " + a + "\n  got:  " + b
		}
	}
	return ""
}

func itoa(i int) string { return fmtInt(i) }

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

// TestNewLayouts: gsys new, gmod new and gmod example write the layouts
// of spec §7.2 and §7.4 (golden files).
func TestNewLayouts(t *testing.T) {
	cases := []struct {
		name string
		make func(dir string) (string, error)
	}{
		{"gsys_new", func(dir string) (string, error) { return NewSystem(dir, "shop", "x86-ubt22-host") }},
		{"gmod_new", func(dir string) (string, error) { return NewModule(dir, "web") }},
		{"gmod_example", Example},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err := c.make(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, root, c.name)
		})
	}
}

// TestNewRefuses: a bad name or model, or an existing folder, writes
// nothing.
func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "taken"), 0o755)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"bad model", second(NewSystem(dir, "s", "x86-ubuntu-host")), `invalid model "x86-ubuntu-host"`},
		{"bad name", second(NewSystem(dir, "../up", "x86-ubt22-host")), `invalid system name "../up"`},
		{"existing", second(NewModule(dir, "taken")), "taken exists already"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, c.err, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("refused commands wrote %d entries", len(entries))
	}
}

func second(_ string, err error) error { return err }
