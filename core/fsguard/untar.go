package fsguard

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ExtractTar writes the entries of a tar stream below the folder tmp
// (which should be new and empty), refusing every entry that would land
// or point outside it: absolute names, `..`, links pointing out, writes
// through such links. file names the archive in messages. gx.untar and
// the module fetcher extract with it.
func ExtractTar(file string, r io.Reader, tmp string) error {
	root, err := filepath.EvalSymlinks(tmp)
	if err != nil {
		return err
	}
	escapes := func(name string) error {
		return fmt.Errorf("%s: entry %q escapes the destination; refused", file, name)
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		name := filepath.FromSlash(hdr.Name)
		if filepath.IsAbs(name) || hasDotDot(name) {
			return escapes(hdr.Name)
		}
		target := filepath.Join(root, name)
		if target == root {
			continue
		}
		// A link extracted earlier must not carry this entry outside.
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if !Within(root, Resolve(filepath.Dir(target))) {
			return escapes(hdr.Name)
		}
		if st, err := os.Lstat(target); err == nil && !st.IsDir() {
			// A later entry replaces an earlier one; never write through a link.
			if err := os.Remove(target); err != nil {
				return err
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(hdr.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			out.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			resolved := hdr.Linkname
			if !filepath.IsAbs(resolved) {
				resolved = filepath.Join(filepath.Dir(target), resolved)
			}
			if !Within(root, resolved) {
				return fmt.Errorf("%s: link %q → %q escapes the destination; refused", file, hdr.Name, hdr.Linkname)
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry %q has an unsupported type", file, hdr.Name)
		}
	}
	// A link checked by its text can still leave through another link
	// (c → ".", a → "c/.."): every link must resolve inside, and one that
	// resolves to nothing must not climb with "..".
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			return err
		}
		link, _ := os.Readlink(p)
		rel, _ := filepath.Rel(root, p)
		real, err := filepath.EvalSymlinks(p)
		if err == nil && !Within(root, real) || err != nil && hasDotDot(link) {
			return fmt.Errorf("%s: link %q → %q escapes the destination; refused", file, filepath.ToSlash(rel), link)
		}
		return nil
	})
}

// hasDotDot reports whether a path has a `..` component.
func hasDotDot(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
