// Package fsguard keeps gxl from destroying the folders a run stands in
// (spec I.4): no built-in and no internal operation removes or replaces
// the working directory, the project root, the system root, an ancestor of
// any of them, the home directory or `/`, nor the project's .gxl folder
// (whose runs/ holds the journals). Every path that is about to be
// removed, replaced or overwritten goes through Check, or through the
// RemoveAll and Replace helpers that call it.
//
// The package sits low in the import layers: it imports only the standard
// library, so system/fetch, the built-ins and the CLI can all use it.
package fsguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Root is one protected folder.
type Root struct {
	Path string // absolute
	What string // what it is, for messages: "the working directory"
	// Inside also protects everything below Path (the run journals), not
	// only Path and its ancestors.
	Inside bool
}

// Roots is a set of protected folders.
type Roots []Root

// Add returns rs with the folder path protected as what. Empty and
// relative paths (such as GXL_PRJ_ROOT's UNDEFIN) are skipped.
func (rs Roots) Add(path, what string) Roots {
	if path == "" || !filepath.IsAbs(path) {
		return rs
	}
	return append(rs, Root{Path: filepath.Clean(path), What: what})
}

// Project returns dir (protected as what), the project root above dir and
// that project's .gxl folder, whose runs/ (the journals) is protected as a
// whole.
func Project(dir, what string) Roots {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	rs := Roots{}.Add(dir, what)
	root, ok := ProjectRoot(dir)
	if ok {
		rs = rs.Add(root, "the project root")
	} else {
		// Without _gal/project.toml gxl keeps .gxl in the folder itself.
		root = dir
	}
	rs = rs.Add(filepath.Join(root, ".gxl"), "the project's .gxl folder")
	return append(rs, Root{Path: filepath.Join(root, ".gxl", "runs"), What: "the run journals (.gxl/runs)", Inside: true})
}

// Base is protected in every process: `/`, the home directory, the
// process's working directory, its project root and .gxl folder.
func Base() Roots {
	rs := Roots{}.Add(string(filepath.Separator), "the file system root")
	if h, err := os.UserHomeDir(); err == nil {
		rs = rs.Add(h, "the home directory")
	}
	if wd, err := os.Getwd(); err == nil {
		rs = append(rs, Project(wd, "the working directory")...)
	}
	return rs
}

// ProjectRoot is the nearest folder at or above dir holding
// _gal/project.toml (where gxl keeps .gxl/).
func ProjectRoot(dir string) (string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "_gal", "project.toml")); err == nil {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// Refused is the error of a destination that would destroy a protected
// folder.
type Refused struct {
	Target string // as given
	Path   string // absolute, symlinks resolved
	Root   Root   // the folder it would destroy
	// Rel is "is", "is an ancestor of", "is inside", or "is not" (an
	// entry RemoveEntry refuses: not one real entry of its folder).
	Rel string
}

func (e *Refused) Error() string {
	if strings.TrimSpace(e.Target) == "" {
		return "is empty (it would mean the working directory): refused, nothing was changed"
	}
	where := fmt.Sprintf("%q", e.Target)
	if e.Path != e.Target {
		where += " (" + e.Path + ")"
	}
	switch e.Rel {
	case "is not":
		return fmt.Sprintf("%q is not %s: refused, nothing was changed", e.Target, e.Root.What)
	case "is":
		return fmt.Sprintf("%s is %s: refused, nothing was changed", where, e.Root.What)
	case "is inside":
		return fmt.Sprintf("%s is inside %s %s: refused, nothing was changed", where, e.Root.What, e.Root.Path)
	}
	return fmt.Sprintf("%s is an ancestor of %s %s: refused, nothing was changed", where, e.Root.What, e.Root.Path)
}

// Hint says what to write instead.
func (e *Refused) Hint() string {
	if e.Rel == "is inside" {
		return "gxl keeps its journals there; choose a folder outside " + e.Root.Path
	}
	return `name a folder of its own below the project, e.g. "./out"`
}

// Check returns target as an absolute, clean path (relative paths are
// taken from the process's working directory: callers pass absolute
// ones), or a *Refused when it is empty, equals or is an ancestor of a
// protected folder, or lies inside one protected as a whole. Symlinks are
// resolved on the longest existing prefix of target and of every root, so
// a link to the project root is refused like the root itself. The caller
// must operate on the returned path: it is the one that was checked.
func Check(target string, rs Roots) (string, error) {
	if strings.TrimSpace(target) == "" {
		return "", &Refused{Target: target, Rel: "is", Root: Root{What: "empty"}}
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	real := Resolve(abs)
	// The folder target is names the error best; an ancestor relation
	// only when there is none.
	var found *Refused
	for _, r := range rs {
		rr := Resolve(r.Path)
		for _, t := range []string{abs, real} {
			for _, p := range []string{r.Path, rr} {
				rel := relation(t, p, r.Inside)
				if rel != "" && (found == nil || rel == "is" && found.Rel != "is") {
					found = &Refused{Target: target, Path: real, Root: r, Rel: rel}
				}
			}
		}
	}
	if found != nil {
		return "", found
	}
	return abs, nil
}

// relation tells how target stands to a protected folder p: "is", "is an
// ancestor of", "is inside" (only when inside counts), or "" when it is
// safe.
func relation(target, p string, inside bool) string {
	if target == p {
		return "is"
	}
	if under(target, p) {
		return "is an ancestor of"
	}
	if inside && under(p, target) {
		return "is inside"
	}
	return ""
}

// under reports whether p lies strictly below dir.
func under(dir, p string) bool {
	if dir == string(filepath.Separator) {
		return p != dir && filepath.IsAbs(p)
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// Within reports whether p is base or lies below it (both absolute and
// clean).
func Within(base, p string) bool { return p == base || under(base, p) }

// Resolve evaluates the symlinks of the longest existing prefix of the
// absolute path p and appends the rest (cleaned).
func Resolve(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for cur := p; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// RemoveAll removes path and everything below it, after Check.
func RemoveAll(path string, rs Roots) error {
	p, err := Check(path, rs)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

// Replace puts src (a file or folder made beside dst, e.g. a temporary
// extraction) in place of dst, after Check of dst. An existing dst is moved
// aside first and removed only once src took its place; when the swap
// fails dst is put back as it was.
func Replace(src, dst string, rs Roots) error {
	d, err := Check(dst, rs)
	if err != nil {
		return err
	}
	old := ""
	if _, err := os.Lstat(d); err == nil {
		if old, err = Check(src+".old", rs); err != nil {
			return err
		}
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(d, old); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, d); err != nil {
		if old != "" {
			os.Rename(old, d)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// RemoveEntry removes name, one entry directly inside the folder parent,
// after Check of parent/name against rs, where a protection of parent's
// inside (the run journals, Root.Inside) does not count: it is the one way
// to remove a single run's folder from .gxl/runs, which Check otherwise
// refuses as a whole. Everything else still holds: name is one path
// element (no separator, not "." or ".."), the entry must not be a
// symbolic link (it is never followed), and parent itself, its ancestors
// and every other protected folder stay refused.
func RemoveEntry(parent, name string, rs Roots) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return &Refused{Target: name, Path: name, Root: Root{Path: parent, What: "one entry of " + parent}, Rel: "is not"}
	}
	parent, err := filepath.Abs(parent)
	if err != nil {
		return err
	}
	target := filepath.Join(parent, name)
	fi, err := os.Lstat(target)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return &Refused{Target: target, Path: target, Root: Root{Path: parent, What: "a real entry of " + parent}, Rel: "is not"}
	}
	realParent := Resolve(parent)
	kept := make(Roots, 0, len(rs))
	for _, r := range rs {
		if r.Inside && (r.Path == parent || Resolve(r.Path) == realParent) {
			r.Inside = false
		}
		kept = append(kept, r)
	}
	p, err := Check(target, kept)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}
