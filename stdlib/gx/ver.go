package gx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// BumpVersion applies an inc kind to a.b.c[.d] (§5.2).
func BumpVersion(v, inc string) (string, error) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) != 3 && len(parts) != 4 {
		return "", fmt.Errorf("version %q is not a.b.c or a.b.c.d", v)
	}
	n := make([]int, len(parts))
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return "", fmt.Errorf("version %q: %q is not a number", v, p)
		}
		n[i] = x
	}
	four := len(n) == 4
	switch inc {
	case "null":
	case "build", "":
		if four {
			n[3]++
		}
	case "bugfix":
		n[2]++
		if four {
			n[3]++
		}
	case "feature":
		n[1]++
		n[2] = 0
		if four {
			n[3]++
		}
	case "main":
		n[0]++
		n[1], n[2] = 0, 0
		if four {
			n[3]++
		}
	default:
		return "", fmt.Errorf("unknown inc %q (build, bugfix, feature, main, null)", inc)
	}
	out := make([]string, len(n))
	for i, x := range n {
		out[i] = strconv.Itoa(x)
	}
	return strings.Join(out, "."), nil
}

func runVer(c builtin.Ctx, a builtin.Args) error {
	path, err := builtin.Dest(c, "file", a.Str("file"))
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	nv, err := BumpVersion(string(b), a.Str("inc"))
	if err != nil {
		return fmt.Errorf("%s: %w", a.Str("file"), err)
	}
	if err := writeAtomic(path, []byte(nv+"\n")); err != nil {
		return err
	}
	c.Set(a.Str("export"), value.Str(nv))
	return nil
}

// writeAtomic replaces a file via a temporary file and rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		os.Chmod(tmp.Name(), st.Mode().Perm())
	}
	return os.Rename(tmp.Name(), path)
}
