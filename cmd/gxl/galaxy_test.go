package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo makes dir a git repository on branch main with one commit of
// its files and, when tag is given, that tag (the git CLI: real
// repositories, fetched through file://).
func gitRepo(t *testing.T, dir, tag string) string {
	t.Helper()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	run("add", "-A")
	run("commit", "-q", "-m", "publish")
	if tag != "" {
		run("tag", tag)
	}
	return "file://" + dir
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// opsLibraries publishes GXL libraries of this test's own in the shape of
// ops-gxl (mods/sys_ops.gxl, mods/mod_ops.gxl) and cfm-gxl (mods/ver.gxl,
// git.gxl, cfm.gxl) as git repositories under git/github.com, where
// GXL_MIRRORS sends the generated files' github.com addresses.
func opsLibraries(t *testing.T, root string) {
	ops := filepath.Join(root, "git", "github.com", "galaxy-operators", "ops-gxl.git")
	lifecycle := func(name string) string {
		return `
    flow ` + name + ` {
        for ${CUR} in ${MODS} {
            if !defined(${CUR.ENABLE}) || ${CUR.ENABLE} == true {
                gx.echo("module ${CUR.NAME}: ` + name + `");
                gx.run(local: "./${ENV_SYS}/mods/${CUR.NAME}/${ENV_SYS_MODEL}", env: "${ENV_MODULE_ENV}", flow: "` + name + `");
            }
        }
    }`
	}
	writeFiles(t, ops, map[string]string{
		"mods/sys_ops.gxl": "mod sys_ops {\n    #[auto_load(entry)]\n    flow __into {\n        gx.read_file(file: \"./${ENV_SYS}/mod_list.yml\", name: \"MODS\");\n    }" +
			lifecycle("download") + lifecycle("install") + lifecycle("start") + "\n}\n",
		"mods/mod_ops.gxl": `mod mod_ops {
    flow install {
        gx.run(local: "./mod/${ENV_MODEL}", env: "${ENV_MODULE_ENV}", flow: "install");
    }
}

mod empty_operators {
    flow download { gx.echo("nothing to download"); }
    flow install { gx.echo("nothing to install"); }
    flow start { gx.echo("nothing to start"); }
}
`,
	})
	gitRepo(t, ops, "")
	cfm := filepath.Join(root, "git", "github.com", "galaxy-operators", "cfm-gxl.git")
	writeFiles(t, cfm, map[string]string{
		"mods/ver.gxl": "mod ver {\n    flow use {\n        gx.echo(\"version in use\");\n    }\n}\n",
		"mods/git.gxl": "mod git {\n    flow status {\n        gx.echo(\"git\");\n    }\n}\n",
		"mods/cfm.gxl": "mod ver_adm {\n    flow tag {\n        gx.echo(\"tag\");\n    }\n}\n",
	})
	gitRepo(t, cfm, "")
}

// TestGalaxyLifecycle runs a system made by gsys new with modules made by
// gmod new, in real git repositories, as galaxy-ops' users do: gflow conf
// (whose flow calls gsys update and gsys localize by name) then gflow
// install; the used values are layered and a --value file overrides.
func TestGalaxyLifecycle(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	os.MkdirAll(bin, 0o755)
	r := gxl(t, root, "install-aliases", bin)
	if r.code != 0 {
		t.Fatalf("install-aliases: %d %s", r.code, r.stderr)
	}
	env := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GXL_MIRRORS=https://github.com/=file://" + filepath.Join(root, "git", "github.com") + "/",
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
		"HOME=" + filepath.Join(root, "home"),
	}
	tool := func(dir, name string, args ...string) cliResult {
		t.Helper()
		path := filepath.Join(bin, name)
		if name == "gxl" {
			path = gxlBin
		}
		cmd := exec.Command(path, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "GAL_SEC_FILE_PATH="+filepath.Join(root, "sec.yml")), env...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return cliResult{out.String(), errb.String(), code}
	}
	must := func(r cliResult, what string) cliResult {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	opsLibraries(t, root)

	// Two modules made by gmod new, given a variable, a template and an
	// install flow, published at v0.1.0.
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o755)
	const model = "x86-ubt22-host"
	repos := map[string]string{}
	for _, name := range []string{"web", "db"} {
		must(tool(src, "gmod", "new", "--name", name), "gmod new "+name)
		v := filepath.Join(src, name, "mod", model)
		writeFiles(t, v, map[string]string{
			"vars.yml":      "vars:\n  - name: GREETING\n    value: hello-" + name + "\n  - name: PORT\n    value: 8080\n  - name: URL\n    value: \"http://${HOST:localhost}:${PORT}\"\n",
			"spec/app.conf": "greeting={{GREETING}}\nurl={{URL}}\n",
			"workflows/operators.gxl": `extern mod mod_ops { git = "https://github.com/galaxy-operators/ops-gxl.git", channel = "${GXL_CHANNEL_OPS:main}"; }
mod operators : empty_operators {
    #[auto_load(entry)]
    flow __into {
        gx.read_file(file: "./values/_used.json", name: "SETTING");
    }
    flow install {
        gx.cmd("echo ${SETTING.GREETING} ${SETTING.PORT} > installed.txt");
    }
}
`,
		})
		repos[name] = gitRepo(t, filepath.Join(src, name), "v0.1.0")
	}

	// A system made by gsys new whose mod_list names them.
	must(tool(root, "gsys", "new", "--name", "shop", "--model", model), "gsys new")
	shop := filepath.Join(root, "shop")
	writeFiles(t, shop, map[string]string{
		"sys/mod_list.yml": "- name: web\n  addr: {repo: " + repos["web"] + ", tag: v0.1.0}\n  model: " + model +
			"\n  setting:\n    src: ${GXL_PRJ_ROOT}/sys/setting/web\n    dst: ${GXL_PRJ_ROOT}/sys/mods/web/" + model + "/local/\n" +
			"    setting: {localize: {templatize_path: {excludes: [raw.txt]}}}\n" +
			"- name: db\n  addr: {repo: " + repos["db"] + ", tag: v0.1.0}\n  model: " + model + "\n" +
			"- name: off\n  addr: {repo: https://github.com/nowhere/off.git, tag: v1}\n  model: " + model + "\n  enable: false\n",
		"values/value.yml":          "GREETING: from-values\n",
		"values/mods/db/value.yml":  "PORT: 5432\nGREETING: db-own\n",
		"sys/setting/web/extra.txt": "web at {{URL}}\n",
		"sys/setting/web/raw.txt":   "{{kept as written}}\n",
	})

	conf := must(tool(shop, "gflow", "conf"), "gflow conf")
	for _, want := range []string{"module web: fetched", "variant " + model, "wrote sys/vars.yml (3 variables)", "module db: localized"} {
		if !strings.Contains(conf.stdout, want) {
			t.Errorf("gflow conf output lacks %q:\n%s", want, conf.stdout)
		}
	}
	// Only the system's variant is kept.
	entries, _ := os.ReadDir(filepath.Join(shop, "sys", "mods", "web"))
	if len(entries) != 1 || entries[0].Name() != model {
		t.Fatalf("sys/mods/web holds %v, want only %s", entries, model)
	}
	if _, err := os.Stat(filepath.Join(shop, "sys", "mods", "off")); err == nil {
		t.Fatal("a disabled module was fetched")
	}
	vars, _ := os.ReadFile(filepath.Join(shop, "sys", "vars.yml"))
	if !strings.Contains(string(vars), "hello-db") || strings.Contains(string(vars), "hello-web") {
		t.Fatalf("sys/vars.yml is not the union (later module wins):\n%s", vars)
	}
	used := func(mod string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(shop, "sys", "mods", mod, model, "values", "_used.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("_used.json: %v\n%s", err, b)
		}
		return m
	}
	// values/value.yml wins over the module's and the system's values; a
	// module's own value file is below it; ${PORT} resolves from the
	// used values.
	if u := used("web"); u["GREETING"] != "from-values" || u["PORT"] != float64(8080) || u["URL"] != "http://localhost:8080" {
		t.Fatalf("web's _used.json: %v", u)
	}
	if u := used("db"); u["GREETING"] != "from-values" || u["PORT"] != float64(5432) || u["URL"] != "http://localhost:5432" {
		t.Fatalf("db's _used.json: %v", u)
	}
	readyml, _ := os.ReadFile(filepath.Join(shop, "values", "mods", "db", "_used.yml"))
	if !strings.Contains(string(readyml), "PORT: 5432 # from values/mods/db/value.yml") {
		t.Fatalf("_used.yml does not say where values come from:\n%s", readyml)
	}
	appConf, _ := os.ReadFile(filepath.Join(shop, "sys", "mods", "web", model, "local", "app.conf"))
	if string(appConf) != "greeting=from-values\nurl=http://localhost:8080\n" {
		t.Fatalf("spec/app.conf rendered into local/: %q", appConf)
	}
	extra, _ := os.ReadFile(filepath.Join(shop, "sys", "mods", "web", model, "local", "extra.txt"))
	if string(extra) != "web at http://localhost:8080\n" {
		t.Fatalf("setting rule: local/extra.txt = %q", extra)
	}
	// The rule's galaxy-ops localize settings: an excluded file is copied
	// as it is.
	if raw, _ := os.ReadFile(filepath.Join(shop, "sys", "mods", "web", model, "local", "raw.txt")); string(raw) != "{{kept as written}}\n" {
		t.Fatalf("setting rule's excludes: local/raw.txt = %q", raw)
	}

	must(tool(shop, "gflow", "install"), "gflow install")
	installed := func(mod string) string {
		b, _ := os.ReadFile(filepath.Join(shop, "sys", "mods", mod, model, "installed.txt"))
		return string(b)
	}
	if installed("web") != "from-values 8080\n" || installed("db") != "from-values 5432\n" {
		t.Fatalf("install read the used values: web %q db %q", installed("web"), installed("db"))
	}

	// A --value file overrides every other layer.
	writeFiles(t, shop, map[string]string{"prod.yml": "GREETING: from-prod\nHOST: prod.example\n"})
	must(tool(shop, "gsys", "localize", "--value", "prod.yml"), "gsys localize --value")
	if u := used("web"); u["GREETING"] != "from-prod" || u["URL"] != "http://prod.example:8080" {
		t.Fatalf("--value did not override: %v", u)
	}
	must(tool(shop, "gflow", "install"), "gflow install after --value")
	if installed("web") != "from-prod 8080\n" {
		t.Fatalf("install after --value: %q", installed("web"))
	}
	// --default leaves out values/: the module's own defaults.
	must(tool(shop, "gsys", "localize", "--default"), "gsys localize --default")
	if u := used("db"); u["GREETING"] != "hello-db" || u["PORT"] != float64(8080) {
		t.Fatalf("--default: %v", u)
	}

	// sys.stage and gxl check find the modules in gmod's layout.
	writeFiles(t, shop, map[string]string{"sys/workflows/stages.gxl": "mod main {\n    flow install {\n        sys.stage(\"install\");\n    }\n}\n"})
	must(tool(shop, "gxl", "check", "sys/workflows/stages.gxl"), "gxl check of a system with gmod modules")
	os.Remove(filepath.Join(shop, "sys", "mods", "web", model, "installed.txt"))
	must(tool(shop, "gxl", "run", "sys/workflows/stages.gxl", "install"), "sys.stage install")
	// (after --default: GREETING of sys/vars.yml, the union's last.)
	if installed("web") != "hello-db 8080\n" {
		t.Fatalf("sys.stage did not run web's install: %q", installed("web"))
	}
}
