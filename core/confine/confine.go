// Package confine keeps fetched modules inside their folder (spec I.4): a
// path is inside a root when, with every symlink resolved, it is the root
// or lies under it. The module fetcher (copies and checkouts), the extern
// loader and gx.run all decide with it.
package confine

import (
	"os"
	"path/filepath"
	"strings"
)

// Within reports whether p is base or lies under it, comparing the paths
// as written (both absolute or both relative).
func Within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Inside resolves the symlinks of root and p (filepath.EvalSymlinks) and
// reports whether p lies inside root; real is p resolved. When p does not
// exist, err says so and real and ok judge what does: its deepest existing
// folder resolved, joined with the rest (or p as written when even that
// cannot be resolved).
func Inside(root, p string) (real string, ok bool, err error) {
	r, err := resolve(root)
	if err != nil {
		return "", false, err
	}
	real, err = resolve(p)
	if err == nil {
		return real, Within(r, real), nil
	}
	abs, aerr := filepath.Abs(p)
	if aerr != nil {
		return "", false, err
	}
	rest := ""
	for dir := abs; ; {
		parent := filepath.Dir(dir)
		rest = filepath.Join(filepath.Base(dir), rest)
		if parent == dir {
			return abs, Within(r, abs), err
		}
		if d, derr := resolve(parent); derr == nil {
			real = filepath.Join(d, rest)
			return real, Within(r, real), err
		} else if !os.IsNotExist(derr) {
			return abs, Within(r, abs), err
		}
		dir = parent
	}
}

// resolve is p with its symlinks resolved, absolute.
func resolve(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(real)
}
