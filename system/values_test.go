package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSys(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestValuesLayer: value files resolve ${NAME} below --set and above the
// environment, and a name the system does not declare is no error.
func TestValuesLayer(t *testing.T) {
	dir := writeSys(t, map[string]string{
		"sys/sys_model.yml": "name: s\nmodel: x86-ubt22-host\n",
		"sys/mod_list.yml":  "[]\n",
		"sys/vars.yml":      "vars:\n  - name: A\n    value: \"${A_IN:a}\"\n  - name: B\n    value: \"${B_IN:b}\"\n",
	})
	env := func(n string) (string, bool) { return "env-" + n, n == "A_IN" || n == "B_IN" }
	cases := []struct {
		name         string
		set, values  map[string]string
		wantA, wantB string
	}{
		{"environment", nil, nil, "env-A_IN", "env-B_IN"},
		{"values over environment", nil, map[string]string{"A_IN": "file", "OTHER": "x"}, "file", "env-B_IN"},
		{"set over values", map[string]string{"A_IN": "set"}, map[string]string{"A_IN": "file"}, "set", "env-B_IN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ds := Load(dir, Options{Env: env, Set: c.set, Values: c.values})
			if ds.HasErrors() {
				t.Fatal(ds.Err())
			}
			v := s.Values()
			if v["A"].String() != c.wantA || v["B"].String() != c.wantB {
				t.Fatalf("A=%s B=%s, want %s %s", v["A"], v["B"], c.wantA, c.wantB)
			}
		})
	}
}

// TestModuleSetting: mod_list.yml's setting is read; one without dst is
// an error at its position.
func TestModuleSetting(t *testing.T) {
	base := map[string]string{
		"sys/sys_model.yml": "name: s\nmodel: x86-ubt22-host\n",
		"sys/vars.yml":      "vars: []\n",
	}
	base["sys/mod_list.yml"] = "- name: web\n  addr: {path: ./web}\n  model: x86-ubt22-host\n  setting:\n    src: ${GXL_PRJ_ROOT}/sys/setting/web\n    dst: ${GXL_PRJ_ROOT}/sys/mods/web/x86-ubt22-host/local/\n"
	s, ds := Load(writeSys(t, base), Options{Env: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if st := s.Module("web").Setting; st == nil || st.Src != "${GXL_PRJ_ROOT}/sys/setting/web" || st.Dst != "${GXL_PRJ_ROOT}/sys/mods/web/x86-ubt22-host/local/" {
		t.Fatalf("setting %+v", st)
	}
	base["sys/mod_list.yml"] = "- name: web\n  addr: {path: ./web}\n  setting:\n    src: a\n"
	_, ds = Load(writeSys(t, base), Options{Env: noEnv})
	if !ds.HasErrors() || ds.Errors()[0].Span.Start.Line != 4 {
		t.Fatalf("want an error at line 4, got %v", ds)
	}
}

// TestModuleSettingTemplatize: the `setting` of a copy rule takes
// galaxy-ops' localize settings (include/exclude lists, custom labels);
// a wrong shape is an error at its line and column.
func TestModuleSettingTemplatize(t *testing.T) {
	base := map[string]string{
		"sys/sys_model.yml": "name: s\nmodel: x86-ubt22-host\n",
		"sys/vars.yml":      "vars: []\n",
	}
	head := "- name: web\n  addr: {path: ./web}\n  setting:\n    src: a\n    dst: b\n    setting:\n"
	for _, c := range []struct {
		name, yml string
		inc, exc  []string
		beg, end  string
		line, col int // of the error; 0: none
		msg       string
	}{
		{name: "full", yml: "      localize:\n        templatize_path:\n          includes: [conf, \"*.yml\"]\n          excludes: [README.md]\n        templatize_cust: {label_beg: \"[[\", label_end: \"]]\"}\n",
			inc: []string{"conf", "*.yml"}, exc: []string{"README.md"}, beg: "[[", end: "]]"},
		{name: "empty lists", yml: "      localize:\n        templatize_path: {includes: [], excludes: []}\n"},
		{name: "unknown field", yml: "      localize:\n        templatize_paths: {}\n", line: 8, col: 9, msg: "unknown field `templatize_paths`"},
		{name: "not a list", yml: "      localize:\n        templatize_path: {includes: conf}\n", line: 8, col: 37, msg: "includes must be a list"},
		{name: "one label", yml: "      localize:\n        templatize_cust: {label_beg: \"[[\"}\n", line: 8, col: 26, msg: "needs label_beg and label_end"},
		{name: "a file name", yml: "      conf.yml\n", line: 7, col: 7, msg: "a setting must be a map"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base["sys/mod_list.yml"] = head + c.yml
			s, ds := Load(writeSys(t, base), Options{Env: noEnv})
			if c.line != 0 {
				if !ds.HasErrors() {
					t.Fatal("no error")
				}
				e := ds.Errors()[0]
				if e.Span.Start.Line != c.line || e.Span.Start.Col != c.col || !strings.Contains(e.Error(), c.msg) {
					t.Fatalf("got %v at %d:%d, want %q at %d:%d", e, e.Span.Start.Line, e.Span.Start.Col, c.msg, c.line, c.col)
				}
				return
			}
			if ds.HasErrors() {
				t.Fatal(ds.Err())
			}
			tz := s.Module("web").Setting.Templatize
			if tz == nil || strings.Join(tz.Includes, ",") != strings.Join(c.inc, ",") || strings.Join(tz.Excludes, ",") != strings.Join(c.exc, ",") || tz.LabelBeg != c.beg || tz.LabelEnd != c.end {
				t.Fatalf("templatize %+v", tz)
			}
		})
	}
}
