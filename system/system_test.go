package system

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/system")

func noEnv(string) (string, bool) { return "", false }

// TestExampleSystem loads the repository's own sys/ folder.
func TestExampleSystem(t *testing.T) {
	s, ds := Load("..", Options{Env: noEnv})
	if len(ds) > 0 {
		var b bytes.Buffer
		diag.Render(&b, ds, s.Sources, diag.RenderOptions{})
		t.Fatalf("sys/ does not load clean:\n%s", b.String())
	}
	if s.Model.Name != "microservice_platform" || len(s.Modules) != 11 || len(s.Vars) < 35 {
		t.Fatalf("model %+v, %d modules, %d vars", s.Model, len(s.Modules), len(s.Vars))
	}
	v := s.Values()
	if got := v["API_RATE_LIMIT"]; got.Kind() != value.KInt || got.IntVal() != 1000 {
		t.Errorf("API_RATE_LIMIT = %v", got)
	}
	if got := v["BASE_URL"].String(); got != "https://platform.techcorp.com" {
		t.Errorf("BASE_URL = %q", got)
	}
	if got := v["BUSINESS_HOURS_START"].String(); got != "09:00" {
		t.Errorf("BUSINESS_HOURS_START = %q (the default separator is the first colon)", got)
	}
	if !v["SLACK_WEBHOOK_URL"].Secret() {
		t.Error("secret variable not marked secret")
	}
	if m := s.Module("external_payment_gateway"); m == nil || m.Addr.Path == "" || m.Enable != true {
		t.Errorf("external_payment_gateway = %+v", m)
	}
	if m := s.Module("user_service"); m == nil || m.Priority != 80 || len(m.Depends) != 2 {
		t.Errorf("user_service = %+v", m)
	}
	// --set wins over the environment and the default.
	s, ds = Load("..", Options{Env: func(k string) (string, bool) {
		if k == "API_RATE_LIMIT" {
			return "5", true
		}
		return "", false
	}, Set: map[string]string{"DEFAULT_REPLICAS": "3"}})
	if ds.HasErrors() || s.Values()["API_RATE_LIMIT"].IntVal() != 5 || s.Values()["DEFAULT_REPLICAS"].IntVal() != 3 {
		t.Fatalf("overrides: %v %v", s.Values()["API_RATE_LIMIT"], ds)
	}
}

// TestGolden: bad sys files give positioned diagnostics.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../testdata/system/*.txtar")
	if len(files) < 8 {
		t.Fatalf("only %d cases", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, _ := txtar.ParseFile(file)
			dir := t.TempDir()
			set := map[string]string{}
			want := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "want":
					want = i
				case "set":
					for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
						k, v, _ := strings.Cut(line, "=")
						set[k] = v
					}
				default:
					p := filepath.Join(dir, f.Name)
					os.MkdirAll(filepath.Dir(p), 0o755)
					os.WriteFile(p, f.Data, 0o644)
				}
			}
			s, ds := Load(dir, Options{Env: noEnv, Set: set})
			var b bytes.Buffer
			diag.Render(&b, ds, s.Sources, diag.RenderOptions{})
			got := strings.ReplaceAll(b.String(), dir, "$WORK")
			if name == "clean" {
				if len(ds) != 0 {
					t.Fatalf("clean system has diagnostics:\n%s", got)
				}
			} else if !ds.HasErrors() {
				t.Fatalf("no error")
			}
			if *update {
				if want < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					want = len(ar.Files) - 1
				}
				ar.Files[want].Data = []byte(got)
				os.WriteFile(file, txtar.Format(ar), 0o644)
				return
			}
			if want < 0 {
				t.Fatal("no want section (run with -update)")
			}
			if got != string(ar.Files[want].Data) {
				t.Errorf("got\n%s\nwant\n%s", got, ar.Files[want].Data)
			}
		})
	}
}

// TestAddrForms: every address form of mod_list.yml loads into Addr, with
// the credential fields kept as written (never resolved into the model),
// and `model` and `setting` kept with their positions.
func TestAddrForms(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sys"), 0o755)
	os.WriteFile(filepath.Join(dir, "sys", "sys_model.yml"), []byte("name: demo\nmodel: x86-ubt22-k8s\nvender: me\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sys", "vars.yml"), []byte("vars: []\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sys", "mod_list.yml"), []byte(`- name: web
  addr: {repo: https://git.example.com/platform.git, tag: v1, path: modules/web, token: "${SEC_GIT_TOKEN}", username: oauth2}
  model: arm-mac14-host
  setting: {src: ./sys/setting/web, dst: ./sys/mods/web/arm-mac14-host/local/, setting: {localize: {templatize_path: {excludes: [README.md]}}}}
- name: api
  addr: {url: https://files.example.com/api.tgz, path: api-1.0, username: ci, password: "${SEC_FILES_PW}"}
- name: ops
  addr: {repo: "git@git.example.com:team/ops.git", branch: main, ssh_key: ~/.ssh/deploy, ssh_passphrase: "${SEC_KEY_PASS}"}
- name: gw
  addr: {path: ./gw}
`), 0o644)
	s, ds := Load(dir, Options{Env: func(k string) (string, bool) { return "resolved", true }})
	if len(ds) > 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	web, api, ops, gw := s.Module("web"), s.Module("api"), s.Module("ops"), s.Module("gw")
	if !web.Addr.Git() || web.Addr.Sub() != "modules/web" || web.Addr.Token != "${SEC_GIT_TOKEN}" || web.Addr.Username != "oauth2" {
		t.Errorf("web addr %+v", web.Addr)
	}
	if web.Model != "arm-mac14-host" || web.ModelSpan.Start.Line != 3 || web.ModelSpan.Start.Col != 10 {
		t.Errorf("web model %q at %+v", web.Model, web.ModelSpan)
	}
	if st := web.Setting; st == nil || st.Src != "./sys/setting/web" || st.Dst != "./sys/mods/web/arm-mac14-host/local/" || st.Templatize == nil || len(st.Templatize.Excludes) != 1 || st.Templatize.Excludes[0] != "README.md" || st.Span.Start.Line != 4 {
		t.Errorf("web setting %+v", web.Setting)
	}
	if api.Addr.URL == "" || api.Addr.Sub() != "api-1.0" || api.Addr.Password != "${SEC_FILES_PW}" || api.Addr.Local() || api.Setting != nil {
		t.Errorf("api addr %+v", api.Addr)
	}
	if ops.Addr.SSHKey != "~/.ssh/deploy" || ops.Addr.SSHPassphrase != "${SEC_KEY_PASS}" || ops.Addr.Branch != "main" {
		t.Errorf("ops addr %+v", ops.Addr)
	}
	if !gw.Addr.Local() || gw.Addr.Sub() != "" || gw.Model != "" {
		t.Errorf("gw addr %+v", gw.Addr)
	}
}
