package galaxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalizeTemplatize: the localize settings of a variant's
// setting.yml (spec/ → local/) and of a mod_list.yml copy rule decide per
// file: left out when no include matches, copied as it is when an
// exclude matches, else rendered; custom labels render [[ ]] and keep
// {{ }}.
func TestLocalizeTemplatize(t *testing.T) {
	const model = "x86-ubt22-host"
	spec := map[string]string{
		"spec/app.conf":          "greeting={{GREETING}}\n",
		"spec/README.md":         "use {{GREETING}} here\n",
		"spec/chart/values.yaml": "name: {{ .Values.name }}\ngreeting: [[GREETING]]\n",
		"spec/run.sh":            "echo {{GREETING}}\n",
	}
	setting := map[string]string{
		"sys/setting/web/a.conf":  "a={{GREETING}}\n",
		"sys/setting/web/keep.sh": "echo {{HOME_DIR}}\n",
	}
	for _, c := range []struct {
		name, settingYML, rule string
		want                   map[string]string // file under local/ → content; "" absent
		err                    string
	}{
		{name: "no settings: every file rendered, a chart's {{ }} too",
			err: "values.yaml: template value {{.Values.name}} is not defined"},
		{name: "exclude copies as it is",
			settingYML: "localize:\n  templatize_path:\n    excludes: [spec/README.md, spec/chart, \"*.sh\"]\n",
			rule:       "      localize: {templatize_path: {excludes: [keep.sh]}}\n",
			want: map[string]string{"app.conf": "greeting=hi\n", "README.md": "use {{GREETING}} here\n",
				"chart/values.yaml": spec["spec/chart/values.yaml"], "run.sh": "echo {{GREETING}}\n",
				"a.conf": "a=hi\n", "keep.sh": "echo {{HOME_DIR}}\n"}},
		{name: "includes leave the rest out",
			settingYML: "localize:\n  templatize_path:\n    includes: [spec/app.conf, \"spec/*.md\"]\n",
			rule:       "      localize: {templatize_path: {includes: [\"${GXL_PRJ_ROOT}/sys/setting/web/a.conf\"]}}\n",
			want: map[string]string{"app.conf": "greeting=hi\n", "README.md": "use hi here\n",
				"chart/values.yaml": "", "run.sh": "", "a.conf": "a=hi\n", "keep.sh": ""}},
		{name: "custom labels",
			settingYML: "localize:\n  templatize_path: {includes: [spec/chart]}\n  templatize_cust: {label_beg: \"[[\", label_end: \"]]\"}\n",
			rule:       "      localize: {templatize_path: {includes: [a.conf]}}\n",
			want:       map[string]string{"chart/values.yaml": "name: {{ .Values.name }}\ngreeting: hi\n", "app.conf": "", "a.conf": "a=hi\n"}},
		{name: "a pattern naming an unset value",
			settingYML: "localize:\n  templatize_path: {excludes: [\"${NOPE}/x\"]}\n",
			err:        "names a value that is not set"},
		{name: "a bad setting.yml is positioned",
			settingYML: "localize:\n  templatize_path: {excludes: x}\n",
			err:        "setting.yml:2:31: error: excludes must be a list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			v := filepath.Join(root, "sys", "mods", "web", model)
			files := map[string]string{
				"sys/sys_model.yml": "name: shop\nmodel: " + model + "\nvender: \"\"\n",
				"sys/vars.yml":      "vars: []\n",
				"sys/mod_list.yml": "- name: web\n  addr: {path: ./web}\n  model: " + model +
					"\n  setting:\n    src: ${GXL_PRJ_ROOT}/sys/setting/web\n    dst: ${GXL_PRJ_ROOT}/sys/mods/web/" + model + "/local/\n",
				"sys/mods/web/" + model + "/_gal/work.gxl": "mod main {}\n",
				"sys/mods/web/" + model + "/vars.yml":      "vars:\n  - name: GREETING\n    value: hi\n",
			}
			if c.rule != "" {
				files["sys/mod_list.yml"] += "    setting:\n" + c.rule
			}
			if c.settingYML != "" {
				files["sys/mods/web/"+model+"/setting.yml"] = c.settingYML
			}
			for k, s := range spec {
				files["sys/mods/web/"+model+"/"+k] = s
			}
			for k, s := range setting {
				files[k] = s
			}
			for k, s := range files {
				p := filepath.Join(root, filepath.FromSlash(k))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := LocalizeSystem(root, LocalizeOptions{Env: func(string) (string, bool) { return "", false }})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for f, want := range c.want {
				b, err := os.ReadFile(filepath.Join(v, "local", filepath.FromSlash(f)))
				if want == "" {
					if err == nil {
						t.Errorf("local/%s was written: %q", f, b)
					}
					continue
				}
				if string(b) != want {
					t.Errorf("local/%s = %q, want %q", f, b, want)
				}
			}
		})
	}
}
