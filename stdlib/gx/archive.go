package gx

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func absIn(c builtin.Ctx, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// Tar writes a .tar.gz of directory src to file (replaced atomically).
func Tar(src, file string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	err = filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// ErrNotEmpty is the error of extracting into a folder that already has
// content without replace.
var ErrNotEmpty = errors.New("already exists and is not empty")

// Untar extracts a .tar.gz INTO dst, which is created when missing. An
// existing dst that is not an empty folder is replaced only with replace
// (its old content goes); without it Untar fails with ErrNotEmpty. dst is
// checked against the protected folders first (fsguard.Check): the working
// directory, the project root, `/` and the like are never replaced. The
// archive is extracted into a temporary folder beside dst that is swapped
// in only when everything succeeded, so a bad archive never leaves dst
// half-replaced. Entries that would escape dst (absolute paths, `..`,
// links pointing outside, writes through such links) are refused.
func Untar(file, dst string, replace bool, protect fsguard.Roots) error {
	dst, err := fsguard.Check(dst, protect)
	if err != nil {
		return err
	}
	if st, err := os.Stat(dst); err == nil && !replace {
		if !st.IsDir() {
			return fmt.Errorf("%s already exists and is not a folder", dst)
		}
		if ents, err := os.ReadDir(dst); err != nil || len(ents) > 0 {
			return fmt.Errorf("%s %w", dst, ErrNotEmpty)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".untar-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := fsguard.ExtractTar(file, gz, tmp); err != nil {
		return err
	}
	return fsguard.Replace(tmp, dst, protect)
}

func runTar(c builtin.Ctx, a builtin.Args) error {
	file, err := builtin.Dest(c, "file", a.Str("file"))
	if err != nil {
		return err
	}
	if err := Tar(absIn(c, a.Str("src")), file); err != nil {
		return err
	}
	c.Logf("archive %s -> %s", a.Str("src"), a.Str("file"))
	return nil
}

func runUntar(c builtin.Ctx, a builtin.Args) error {
	dst, err := builtin.Dest(c, "dst", a.Str("dst"))
	if err != nil {
		return err
	}
	if err := Untar(absIn(c, a.Str("file")), dst, a.Bool("replace"), builtin.Protected(c)); err != nil {
		if errors.Is(err, ErrNotEmpty) {
			return diag.Errorf(c.Site(), "untar-exists", "dst %q already has content", a.Str("dst")).
				WithHint("give replace: true to replace its content, or extract into a new folder")
		}
		return err
	}
	c.Logf("untar %s -> %s", a.Str("file"), a.Str("dst"))
	return nil
}
