package system

import (
	"errors"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/diag"
)

// templatize reads galaxy-ops' `{localize: {templatize_path: {includes,
// excludes}, templatize_cust: {label_beg, label_end}}}`: unknown fields,
// a pattern that is not text and a label given without its partner are
// errors at their position.
func (l *loader) templatize(file string, n *yaml.Node) *Templatize {
	t := &Templatize{Span: nodeSpan(file, n)}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return t
	}
	l.fields(file, n, "a setting", []string{"localize"}, func(_ string, _, loc *yaml.Node) {
		l.fields(file, loc, "localize", []string{"templatize_path", "templatize_cust"}, func(key string, _, v *yaml.Node) {
			switch key {
			case "templatize_path":
				l.fields(file, v, "templatize_path", []string{"includes", "excludes"}, func(key string, _, list *yaml.Node) {
					if list.Kind != yaml.SequenceNode {
						l.errorf(file, list, "sys-type", "write "+key+": [spec/app.conf, \"*.md\"]", "%s must be a list of paths or patterns", key)
						return
					}
					for _, p := range list.Content {
						if p.Kind != yaml.ScalarNode || p.Value == "" {
							l.errorf(file, p, "sys-type", "a path or a pattern such as spec/*.conf", "an entry of %s must be a path or a pattern", key)
							continue
						}
						if key == "includes" {
							t.Includes = append(t.Includes, p.Value)
						} else {
							t.Excludes = append(t.Excludes, p.Value)
						}
					}
				})
			case "templatize_cust":
				l.fields(file, v, "templatize_cust", []string{"label_beg", "label_end"}, func(key string, _, lab *yaml.Node) {
					if lab.Kind != yaml.ScalarNode || lab.Value == "" {
						l.errorf(file, lab, "sys-type", `write label_beg: "[[" and label_end: "]]"`, "%s must be a label such as [[", key)
						return
					}
					if key == "label_beg" {
						t.LabelBeg = lab.Value
					} else {
						t.LabelEnd = lab.Value
					}
				})
				if (t.LabelBeg == "") != (t.LabelEnd == "") && v.Kind == yaml.MappingNode {
					l.errorf(file, v, "sys-field", `give both: {label_beg: "[[", label_end: "]]"}`, "templatize_cust needs label_beg and label_end")
				}
			}
		})
	})
	return t
}

// ReadTemplatize reads a gmod variant's setting.yml (the localize
// settings of its spec/ → local/ rendering). A missing file is nil and
// no error; a bad one is a positioned diagnostic.
func ReadTemplatize(file string) (*Templatize, diag.List) {
	l := &loader{opt: Options{ReadFile: os.ReadFile}, src: diag.SourceMap{}}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	n := l.read(file)
	if n == nil {
		return nil, l.diags
	}
	return l.templatize(file, n), l.diags
}
