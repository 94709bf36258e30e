package gx

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mailgun/raymond/v2"

	"github.com/gxl-dev/gxl/lang/builtin"
)

func runTpl(c builtin.Ctx, a builtin.Args) error {
	if a.Str("engine") == "helm" {
		return fmt.Errorf("gx.tpl: the helm engine is not supported; use engine: \"handlebars\"")
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(c.Dir(), p)
	}
	var data any
	switch {
	case a.Str("data") != "":
		if err := json.Unmarshal([]byte(a.Str("data")), &data); err != nil {
			return fmt.Errorf("gx.tpl: data is not JSON: %w", err)
		}
	case a.Str("file") != "":
		b, err := os.ReadFile(abs(a.Str("file")))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &data); err != nil {
			return fmt.Errorf("gx.tpl: %s is not JSON: %w", a.Str("file"), err)
		}
	default:
		m := map[string]any{}
		for k, v := range c.Vars() {
			m[strings.ToUpper(k)] = upperKeys(v.ToGo())
		}
		data = m
	}
	src := abs(a.Str("tpl"))
	dst, err := builtin.Dest(c, "dst", a.Str("dst"))
	if err != nil {
		return err
	}
	return RenderPath(src, dst, data, func(src, dst string) {
		if !c.Quiet() {
			c.Logf("render %s ---> %s", src, dst)
		}
	})
}

// RenderPath renders the Handlebars template file src to dst, or every
// file of the folder src to the same place under dst (strict: a {{name}}
// the data does not define is an error naming the file). done, when not
// nil, hears of each file written. gx.tpl and gsys/gmod localize render
// with it.
func RenderPath(src, dst string, data any, done func(src, dst string)) error {
	return RenderPathWith(src, dst, data, RenderOptions{Done: func(src, dst string, _ FileMode) {
		if done != nil {
			done(src, dst)
		}
	}})
}

// FileMode is what RenderPathWith does with one file.
type FileMode int

const (
	// Render renders the file as a template (the default).
	Render FileMode = iota
	// Copy copies the file as it is.
	Copy
	// Skip leaves the file out.
	Skip
)

// RenderOptions adjust RenderPathWith.
type RenderOptions struct {
	// Mode, when not nil, says what becomes of the file src (a path
	// under the src of RenderPathWith): rendered, copied or left out.
	Mode func(src string) FileMode
	// LabelBeg and LabelEnd, when set (e.g. "[[" and "]]"), are the
	// template's labels: they are rendered as {{ }} are, and the {{ }}
	// of the file are kept as written (for files that are templates of
	// another tool, such as Helm charts).
	LabelBeg, LabelEnd string
	// Done, when not nil, hears of each file written and how.
	Done func(src, dst string, mode FileMode)
}

// RenderPathWith is RenderPath with options: which files are rendered,
// copied or left out, and the template's labels.
func RenderPathWith(src, dst string, data any, o RenderOptions) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	one := func(src, dst string) error {
		mode := Render
		if o.Mode != nil {
			mode = o.Mode(src)
		}
		switch mode {
		case Skip:
			return nil
		case Copy:
			if err := copyFile(src, dst); err != nil {
				return err
			}
		default:
			if err := renderFile(src, dst, data, o.LabelBeg, o.LabelEnd); err != nil {
				return err
			}
		}
		if o.Done != nil {
			o.Done(src, dst, mode)
		}
		return nil
	}
	if !st.IsDir() {
		return one(src, dst)
	}
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		return one(p, out)
	})
}

func upperKeys(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[strings.ToUpper(k)] = upperKeys(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = upperKeys(v)
		}
		return out
	}
	return x
}

var mustache = regexp.MustCompile(`\{\{\{?\s*([#/^]?)\s*([A-Za-z0-9_.@-]+)[^}]*\}\}\}?`)

// strictCheck reports {{name}} expressions outside blocks that the data
// does not define (Handlebars strict mode).
func strictCheck(tpl string, data any) error {
	depth := 0
	for _, m := range mustache.FindAllStringSubmatch(tpl, -1) {
		switch m[1] {
		case "#", "^":
			depth++
			continue
		case "/":
			depth--
			continue
		}
		name := m[2]
		if depth > 0 || name == "else" || name == "this" || strings.HasPrefix(name, "@") || strings.Contains(m[0], " ") && !strings.HasSuffix(strings.TrimSpace(strings.Trim(m[0], "{}")), name) {
			continue
		}
		cur := data
		for _, k := range strings.Split(name, ".") {
			mm, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("template value {{%s}} is not defined", name)
			}
			if cur, ok = mm[k]; !ok {
				return fmt.Errorf("template value {{%s}} is not defined", name)
			}
		}
	}
	return nil
}

// Private-use characters stand for a file's own {{ and }} while a
// template with custom labels renders.
const keptBeg, keptEnd = "\ue000\ue001", "\ue001\ue000"

func renderFile(src, dst string, data any, labelBeg, labelEnd string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tpl := string(b)
	custom := labelBeg != "" && labelEnd != ""
	if custom {
		tpl = strings.NewReplacer("{{", keptBeg, "}}", keptEnd, labelBeg, "{{", labelEnd, "}}").Replace(tpl)
	}
	if err := strictCheck(tpl, data); err != nil {
		if custom {
			err = fmt.Errorf("%s", strings.NewReplacer("{{", labelBeg, "}}", labelEnd).Replace(err.Error()))
		}
		return fmt.Errorf("%s: %w", src, err)
	}
	out, err := raymond.Render(tpl, data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if custom {
		out = strings.NewReplacer(keptBeg, "{{", keptEnd, "}}").Replace(out)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, []byte(out), 0o644)
}

// copyFile copies src to dst as it is (mode 0644, as rendered files).
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
