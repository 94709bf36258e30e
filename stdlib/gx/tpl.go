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
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return renderFile(src, dst, data, done)
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
		return renderFile(p, out, data, done)
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

func renderFile(src, dst string, data any, done func(src, dst string)) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := strictCheck(string(b), data); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	out, err := raymond.Render(string(b), data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, []byte(out), 0o644); err != nil {
		return err
	}
	if done != nil {
		done(src, dst)
	}
	return nil
}
