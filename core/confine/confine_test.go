package confine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	os.MkdirAll(filepath.Join(root, "lib"), 0o755)
	os.WriteFile(filepath.Join(root, "lib", "x.gxl"), nil, 0o644)
	os.WriteFile(filepath.Join(base, "secret"), nil, 0o644)
	os.Symlink(base, filepath.Join(root, "out"))
	os.Symlink(filepath.Join(root, "lib"), filepath.Join(root, "in"))
	// A root reached through a link is the same root.
	os.Symlink(root, filepath.Join(base, "alias"))
	for _, tc := range []struct {
		root, p string
		inside  bool
		missing bool
	}{
		{root, filepath.Join(root, "lib", "x.gxl"), true, false},
		{root, root, true, false},
		{root, filepath.Join(root, "in", "x.gxl"), true, false},
		{filepath.Join(base, "alias"), filepath.Join(root, "lib", "x.gxl"), true, false},
		{root, filepath.Join(root, "lib", "..", "..", "secret"), false, false},
		{root, filepath.Join(base, "secret"), false, false},
		{root, filepath.Join(root, "out", "secret"), false, false},
		{root, filepath.Join(root, "lib", "nope.gxl"), true, true},
		{root, filepath.Join(root, "out", "nope", "x.gxl"), false, true},
		{root, filepath.Join(root, "..", "nope"), false, true},
	} {
		_, ok, err := Inside(tc.root, tc.p)
		if ok != tc.inside || (err != nil) != tc.missing {
			t.Errorf("Inside(%s, %s) = %v, %v; want inside %v, missing %v", tc.root, tc.p, ok, err, tc.inside, tc.missing)
		}
	}
}
