package check_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestParseCacheShares: loads sharing a ParseCache parse an extern library
// once (the same tree), concurrently and without a race; a library in
// another folder, or whose content changed, gets its own tree; and the
// shared tree gives each load the result a load without a cache gives.
func TestParseCacheShares(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lib := "mod svc { flow up { gx.echo(\"@{PATH}/deploy\"); } }\n"
	write("a/lib/svc.gxl", lib)
	write("b/lib/svc.gxl", lib)
	root := "extern mod svc { path = \"./lib\"; }\nmod main : svc { flow f : up { gx.echo(\"x\"); } }\n"
	roots := []string{write("a/w1.gxl", root), write("a/w2.gxl", root), write("b/w.gxl", root)}

	libFile := func(p *check.Program) *ast.File {
		for _, f := range p.Files {
			if filepath.Base(f.Path) == "svc.gxl" {
				return f
			}
		}
		t.Fatalf("no library file in %v", p.Files)
		return nil
	}
	load := func(file string, c *check.ParseCache) *check.Program {
		p, d := check.Load(file, check.Options{Registry: stdlib.Default(), Dir: filepath.Dir(file), Parsed: c})
		if d.HasErrors() {
			t.Fatal(d)
		}
		return p
	}
	cache := &check.ParseCache{}
	progs := make([]*check.Program, len(roots))
	var wg sync.WaitGroup
	for i, r := range roots {
		wg.Add(1)
		go func() { defer wg.Done(); progs[i] = load(r, cache) }()
	}
	wg.Wait()
	if libFile(progs[0]) != libFile(progs[1]) {
		t.Error("two loads of one library folder parsed it twice")
	}
	if libFile(progs[0]) == libFile(progs[2]) {
		t.Error("libraries in two folders share a tree (their @{PATH} differ)")
	}
	for i, r := range roots {
		want := load(r, nil)
		if !reflect.DeepEqual(libFile(progs[i]), libFile(want)) {
			t.Errorf("%s: the cached tree differs from a fresh parse", r)
		}
	}
	// A changed library is parsed again.
	write("a/lib/svc.gxl", "mod svc { flow up { } flow down { } }\n")
	p := load(roots[0], cache)
	if libFile(p) == libFile(progs[0]) {
		t.Error("a changed library was not parsed again")
	}
}
