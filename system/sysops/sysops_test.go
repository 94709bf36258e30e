package sysops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// system writes a system of local path modules under a temp root.
func system(t *testing.T, mods map[string]string, modList string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"sys/sys_model.yml": "name: shop\nmodel: x86-ubt22-host\nvender: t\n",
		"sys/mod_list.yml":  modList,
		"sys/vars.yml":      "vars:\n  - name: GREETING\n    value: hello\n",
	}
	for name, wf := range mods {
		files["catalog/"+name+"/workflows/operators.gxl"] = wf
	}
	for p, src := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const driver = `
mod envs { env default { } }
mod main {
    flow fetch { sys.fetch(); }
    flow deploy { sys.stage("deploy", jobs: 2); }
    flow failover { sys.stage("failover"); }
    flow all | fetch | deploy | failover | report ;
    flow report { sys.report(); }
}
`

func modList(entries ...string) string {
	var b strings.Builder
	for _, e := range entries {
		name, rest, _ := strings.Cut(e, ":")
		b.WriteString("- name: " + name + "\n  addr:\n    path: ./catalog/" + name + "\n  model: x86-ubt22-host\n" + rest)
	}
	return b.String()
}

const echoDeploy = `mod main { flow deploy { gx.echo("deploying ${MODULE_NAME} (${GREETING}, priority ${MODULE_PRIORITY})"); } }`

func TestStagesOverModules(t *testing.T) {
	root := system(t, map[string]string{
		"db":  `mod main { flow deploy { gx.echo("db up"); } flow failover { gx.echo("promoted"); } }`,
		"api": echoDeploy,
		"web": echoDeploy,
		"off": echoDeploy,
	}, modList("db:  priority: 100\n", "api:  priority: 50\n  depends: [db]\n", "web:  priority: 50\n", "off:  enable: false\n"))
	out, err := gxltest.RunHost(t, driver, "all", builtin.Host{SysRoot: root}, map[string]string{"GREETING": "hello"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"[db] copied ./catalog/db", "stage fetch: 3 ok, 1 disabled",
		"[api] deploying api (hello, priority 50)", "[db] db up", "stage deploy: 3 ok, 1 disabled",
		"[db] promoted", "stage failover: 1 ok, 2 n/a, 1 disabled",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// db (priority 100) runs before api and web.
	if strings.Index(out, "[db] db up") > strings.Index(out, "[api] deploying") {
		t.Errorf("priority order:\n%s", out)
	}
	// The report: one row per module, one column per stage.
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "api ") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) != 6 || f[1] != "ok" || f[3] != "ok" || f[5] != "n/a" {
		t.Errorf("report row of api: %q\n%s", row, out)
	}
	if _, err := os.Stat(filepath.Join(root, "sys", "mods", "web", "workflows", "operators.gxl")); err != nil {
		t.Errorf("fetched module missing: %v", err)
	}
}

func TestStageFailuresAndChecks(t *testing.T) {
	root := system(t, map[string]string{
		"db":  `mod main { flow deploy { gx.assert(value: "1", expect: "2"); } }`,
		"api": echoDeploy,
		"web": echoDeploy,
	}, modList("db:  priority: 100\n", "api:  depends: [db]\n", "web:\n"))
	out, err := gxltest.RunHost(t, driver, "fetch", builtin.Host{SysRoot: root}, map[string]string{"GREETING": "hello"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = gxltest.RunHost(t, driver, "deploy", builtin.Host{SysRoot: root}, map[string]string{"GREETING": "hello"})
	if err == nil || !strings.Contains(err.Error(), "stage deploy failed for db") {
		t.Fatalf("failure not reported: %v\n%s", err, out)
	}
	if !strings.Contains(out, "dependency db failed") || !strings.Contains(out, "[web] deploying web") || strings.Contains(out, "[api] deploying") {
		t.Fatalf("dependents of a failed module must be skipped, the others run:\n%s", out)
	}
	// A module that does not check stops the stage before any module runs.
	os.WriteFile(filepath.Join(root, "sys", "mods", "web", "workflows", "operators.gxl"), []byte(`mod main { flow deploy { gx.echo(nope: "x"); } }`), 0o644)
	out, err = gxltest.RunHost(t, driver, "deploy", builtin.Host{SysRoot: root}, map[string]string{"GREETING": "hello"})
	if err == nil || !strings.Contains(err.Error(), "did not start") || !strings.Contains(err.Error(), "operators.gxl:1:") || strings.Contains(out, "[api]") {
		t.Fatalf("a module that does not check: %v\n%s", err, out)
	}
	// Outside a system workflow the built-ins say so.
	if _, err := gxltest.Run(t, driver, "deploy", nil); err == nil || !strings.Contains(err.Error(), "not a system workflow") {
		t.Fatalf("no system: %v", err)
	}
}

// TestStageUndoInModule: a module whose deploy fails half-way runs its
// undo flows (the transaction is the module's own).
func TestStageUndoInModule(t *testing.T) {
	root := system(t, map[string]string{
		"svc": `mod main {
    flow deploy | _apply | _rollout ;
    #[transaction, undo(_unapply)]
    flow _apply { gx.echo("applied"); }
    flow _rollout { gx.assert(value: "progressing", expect: "available"); }
    flow _unapply { gx.echo("removed what was applied"); }
}`,
	}, modList("svc:\n"))
	vars := map[string]string{"GREETING": "hello"}
	if out, err := gxltest.RunHost(t, driver, "fetch", builtin.Host{SysRoot: root}, vars); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := gxltest.RunHost(t, driver, "deploy", builtin.Host{SysRoot: root}, vars)
	if err == nil || !strings.Contains(out, "[svc] applied") || !strings.Contains(out, "[svc] removed what was applied") {
		t.Fatalf("undo in a module: %v\n%s", err, out)
	}
}

// TestModuleStaysInItsFolder: a fetched module's workflow cannot load a
// file outside sys/mods/<name> through `..` or an absolute path (spec
// I.4): the stage does not start and says where; its own files load.
func TestModuleStaysInItsFolder(t *testing.T) {
	for _, tc := range []struct{ name, extern string }{
		// @{PATH} is sys/mods/<name>/workflows: four levels up is the system root.
		{"dots", `extern mod evil { path = "@{PATH}/../../../.." }`},
		{"abs", `extern mod evil { path = "ROOT" }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := system(t, map[string]string{"esc": ""}, modList("esc:\n"))
			marker := filepath.Join(root, "evil-ran")
			os.WriteFile(filepath.Join(root, "evil.gxl"), []byte(`mod evil { flow deploy { gx.cmd("touch `+marker+`"); } }`), 0o644)
			wf := strings.ReplaceAll(tc.extern, "ROOT", root) + "\nmod main : evil { flow deploy { } }\n"
			os.WriteFile(filepath.Join(root, "catalog", "esc", "workflows", "operators.gxl"), []byte(wf), 0o644)
			vars := map[string]string{}
			if out, err := gxltest.RunHost(t, driver, "fetch", builtin.Host{SysRoot: root}, vars); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := gxltest.RunHost(t, driver, "deploy", builtin.Host{SysRoot: root}, vars)
			if err == nil || !strings.Contains(err.Error(), "did not start") || !strings.Contains(err.Error(), "operators.gxl:1:26") ||
				!strings.Contains(err.Error(), "inside the module's checkout at "+filepath.Join(root, "sys", "mods", "esc")) {
				t.Fatalf("escape not refused: %v\n%s", err, out)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("a file outside the module ran")
			}
		})
	}
	t.Run("inside", func(t *testing.T) {
		root := system(t, map[string]string{"own": `extern mod lib { path = "@{PATH}/../lib" }
mod main : lib { }`}, modList("own:\n"))
		os.MkdirAll(filepath.Join(root, "catalog", "own", "lib"), 0o755)
		os.WriteFile(filepath.Join(root, "catalog", "own", "lib", "lib.gxl"), []byte(`mod lib { flow deploy { gx.echo("own lib deployed"); } }`), 0o644)
		vars := map[string]string{}
		gxltest.RunHost(t, driver, "fetch", builtin.Host{SysRoot: root}, vars)
		if out, err := gxltest.RunHost(t, driver, "deploy", builtin.Host{SysRoot: root}, vars); err != nil || !strings.Contains(out, "[own] own lib deployed") {
			t.Fatalf("a module's own files must load: %v\n%s", err, out)
		}
	})
}
