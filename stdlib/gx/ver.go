package gx

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/atomicfile"
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
	if err := atomicfile.Write(path, []byte(nv+"\n"), atomicfile.ModeOr(path, 0o644)); err != nil {
		return err
	}
	c.Set(a.Str("export"), value.Str(nv))
	return nil
}
