package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDidYouMeanFixes: a misspelt field, type, enum value or module in
// depends carries the fix that writes the suggestion over it (gxl lsp's
// code actions), and the fix's span holds the misspelt text.
func TestDidYouMeanFixes(t *testing.T) {
	base := map[string]string{
		"sys_model.yml": "name: shop\nmodel: m\nvender: t\n",
		"mod_list.yml":  "- name: web\n  addr:\n    path: ./web\n- name: db\n  addr:\n    path: ./db\n",
		"vars.yml":      "vars:\n  - name: A\n    value: \"x\"\n",
	}
	tests := []struct {
		name, file, text, code, old, new string
	}{
		{"field", "vars.yml", "vars:\n  - name: A\n    valeu: \"x\"\n", "sys-field", "valeu", "value"},
		{"type", "vars.yml", "vars:\n  - name: A\n    value: \"1\"\n    type: integr\n", "sys-type", "integr", "integer"},
		{"quoted enum value", "vars.yml", "vars:\n  - name: A\n    value: \"blu\"\n    enum: [blue, green]\n", "sys-enum", "blu", "blue"},
		{"depends", "mod_list.yml", "- name: web\n  addr:\n    path: ./web\n  depends: [bd]\n- name: db\n  addr:\n    path: ./db\n", "sys-depends", "bd", "db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, text := range base {
				if name == tt.file {
					text = tt.text
				}
				p := filepath.Join(root, "sys", name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, ds := Load(root, Options{})
			for _, d := range ds {
				if d.Code != tt.code || !strings.Contains(d.Summary, tt.old) {
					continue
				}
				if d.Fix == nil {
					t.Fatalf("%v has no fix", d)
				}
				f := d.Fix
				line := strings.Split(tt.text, "\n")[f.Span.Start.Line-1]
				if got := line[f.Span.Start.Col-1 : f.Span.End.Col-1]; got != tt.old || f.Old != tt.old || f.New != tt.new {
					t.Errorf("fix %+v: span holds %q; want %q -> %q", f, got, tt.old, tt.new)
				}
				return
			}
			t.Fatalf("no %s diagnostic in %v", tt.code, ds)
		})
	}
}
