package galaxy

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gxl-dev/gxl/stdlib/gx"
	"github.com/gxl-dev/gxl/system"
)

// renderOptions turn galaxy-ops' localize settings t (nil: render every
// file with {{ }}) into the renderer's options: a relative include or
// exclude is a path under base, ${NAME} in it resolves with look. A
// pattern names a file or a folder (everything under it), or is a glob
// over the whole path in which * and ? also match /, as galaxy-ops
// matches them. With level >= 1, out hears of every file rendered,
// copied or left out (root shortens the paths).
func renderOptions(t *system.Templatize, base string, look func(string) (string, bool), out io.Writer, level int, root string) (gx.RenderOptions, error) {
	o := gx.RenderOptions{}
	if level >= 1 && out != nil {
		o.Done = func(src, dst string, mode gx.FileMode) {
			verb := "render"
			if mode == gx.Copy {
				verb = "copy"
			}
			fmt.Fprintf(out, "  %s %s ---> %s\n", verb, rel(root, src), rel(root, dst))
		}
	}
	if t == nil {
		return o, nil
	}
	o.LabelBeg, o.LabelEnd = t.LabelBeg, t.LabelEnd
	compile := func(list []string) ([]*pathPattern, error) {
		var ps []*pathPattern
		for _, p := range list {
			x := expandText(p, look)
			if strings.Contains(x, "${") {
				return nil, fmt.Errorf("%s: pattern %q names a value that is not set", t.Span.Start, p)
			}
			if !filepath.IsAbs(x) {
				x = filepath.Join(base, x)
			}
			ps = append(ps, newPathPattern(filepath.Clean(x)))
		}
		return ps, nil
	}
	inc, err := compile(t.Includes)
	if err != nil {
		return o, err
	}
	exc, err := compile(t.Excludes)
	if err != nil {
		return o, err
	}
	if len(inc) == 0 && len(exc) == 0 {
		return o, nil
	}
	o.Mode = func(src string) gx.FileMode {
		if len(inc) > 0 && !anyMatch(inc, src) {
			if level >= 1 && out != nil {
				fmt.Fprintf(out, "  leave out %s (no include matches)\n", rel(root, src))
			}
			return gx.Skip
		}
		if anyMatch(exc, src) {
			return gx.Copy
		}
		return gx.Render
	}
	return o, nil
}

// pathPattern is one include or exclude: a path (the file, or a folder
// and everything under it) and the same text as a glob.
type pathPattern struct {
	path string
	glob *regexp.Regexp
}

func newPathPattern(p string) *pathPattern {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			if j := strings.IndexByte(p[i+1:], ']'); j > 0 {
				class := p[i+1 : i+1+j]
				if class[0] == '!' {
					class = "^" + class[1:]
				}
				b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
				i += j + 1
				continue
			}
			b.WriteString(regexp.QuoteMeta("["))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		re = nil // a malformed class: the pattern is a plain path
	}
	return &pathPattern{path: p, glob: re}
}

func (p *pathPattern) match(file string) bool {
	if file == p.path || strings.HasPrefix(file, p.path+string(filepath.Separator)) {
		return true
	}
	return p.glob != nil && p.glob.MatchString(file)
}

func anyMatch(ps []*pathPattern, file string) bool {
	for _, p := range ps {
		if p.match(file) {
			return true
		}
	}
	return false
}
