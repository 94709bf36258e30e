package system

import (
	"os"
	"path/filepath"
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
