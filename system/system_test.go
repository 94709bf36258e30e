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
