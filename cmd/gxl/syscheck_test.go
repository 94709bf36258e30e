package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// sysProject is a system whose module catalog lives in the system folder
// (path modules), its setup flow's body setup (default: a sys.stage call):
// mods maps a module folder under modules/ to its
// workflows/operators.gxl; disabled names modules with enable: false.
func sysProject(t *testing.T, setup string, mods map[string]string, disabled ...string) string {
	t.Helper()
	if setup == "" {
		setup = `sys.stage("setup");`
	}
	files := map[string]string{
		"sys/sys_model.yml":           "name: shop\nmodel: x86-ubt22-k8s\nvender: t\n",
		"sys/vars.yml":                "vars:\n  - name: REPLICAS\n    value: \"3\"\n    type: integer\n",
		"sys/workflows/operators.gxl": "mod main {\n    flow setup { " + setup + " }\n}\n",
	}
	var list strings.Builder
	for name, src := range mods {
		files["modules/"+name+"/workflows/operators.gxl"] = src
		list.WriteString("- name: " + name + "\n  addr:\n    path: modules/" + name + "\n  model: x86-ubt22-k8s\n")
		for _, d := range disabled {
			if d == name {
				list.WriteString("  enable: false\n")
			}
		}
	}
	files["sys/mod_list.yml"] = list.String()
	return project(t, files)
}

// TestCheckSystemChecksModules: gxl check of a system workflow checks the
// workflow of every enabled module (sysops.CheckModule, as sys.stage does
// before a stage) with the system's typed variables and the module
// variables; a module workflow inside the system checked on its own knows
// them too.
func TestCheckSystemChecksModules(t *testing.T) {
	const typo = "mod main {\n    flow setup {\n        gx.ech(\"x\");\n    }\n}\n"
	const fixed = "mod main {\n    flow setup {\n        gx.echo(\"x\");\n    }\n}\n"
	const replicas = "mod main {\n    flow setup {\n        if ${REPLICAS} > 2 {\n            gx.echo(\"${MODULE_NAME} in ${MODULE_DIR}: ${REPLICAS} replicas\");\n        }\n    }\n}\n"
	const port = "mod main {\n    flow setup {\n        if ${PG_PORT} == \"5432\" {\n            gx.echo(\"x\");\n        }\n    }\n}\n"
	const cmpText = "mod main {\n    flow setup {\n        if ${REPLICAS} == \"three\" {\n            gx.echo(\"x\");\n        }\n    }\n}\n"
	sysWF := filepath.Join("sys", "workflows", "operators.gxl")
	for _, tc := range []struct {
		name     string
		setup    string // the system workflow's setup flow body
		mods     map[string]string
		disabled []string
		file     string // checked file (default: the system workflow)
		code     int
		want     []string
		not      []string
	}{
		{name: "typo in a module", mods: map[string]string{"web": typo, "db": fixed}, code: 2,
			want: []string{filepath.Join("modules", "web", "workflows", "operators.gxl") + ":3:9: error:", "did you mean `gx.echo`"}},
		{name: "fixed", mods: map[string]string{"web": fixed, "db": fixed}, code: 0},
		{name: "system variable in a module", mods: map[string]string{"web": replicas}, code: 0, not: []string{"REPLICAS"}},
		{name: "system variable in a module, on its own", mods: map[string]string{"web": replicas}, code: 0,
			file: filepath.Join("modules", "web", "workflows", "operators.gxl"), not: []string{"REPLICAS"}},
		// The variable's type reaches the module: an integer compared with
		// text is reported, so the system's typed variables are used.
		{name: "typed system variable", mods: map[string]string{"web": cmpText}, code: 0,
			want: []string{"operators.gxl:3:24: warning: condition: == between int and string"}},
		{name: "typed system variable, on its own", mods: map[string]string{"web": cmpText}, code: 0,
			file: filepath.Join("modules", "web", "workflows", "operators.gxl"), want: []string{"operators.gxl:3:24: warning: condition: == between int and string"}},
		// What the system workflow may define reaches the modules: a
		// variable it sets, or anything when it reads a file of settings.
		{name: "undefined in the module", mods: map[string]string{"web": port}, code: 2,
			want: []string{"operators.gxl:3:12: error: variable ${PG_PORT} is not defined before this use"}},
		{name: "defined by the system workflow", setup: `PG_PORT = "5432"; sys.stage("setup");`, mods: map[string]string{"web": port}, code: 0,
			not: []string{"PG_PORT"}},
		{name: "defined by the system workflow, on its own", setup: `PG_PORT = "5432"; sys.stage("setup");`, mods: map[string]string{"web": port}, code: 0,
			file: filepath.Join("modules", "web", "workflows", "operators.gxl"), not: []string{"PG_PORT"}},
		{name: "undefined in the module, on its own", mods: map[string]string{"web": port}, code: 2,
			file: filepath.Join("modules", "web", "workflows", "operators.gxl"), want: []string{filepath.Join("modules", "web", "workflows", "operators.gxl") + ":3:12: error: variable ${PG_PORT} is not defined before this use"}},
		{name: "system workflow reads settings", setup: `gx.read_file(file: "conn.yml"); sys.stage("setup");`, mods: map[string]string{"web": port}, code: 0,
			not: []string{"PG_PORT"}},
		{name: "disabled module not checked", mods: map[string]string{"web": typo, "db": fixed}, disabled: []string{"web"}, code: 0,
			not: []string{"gx.ech"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := sysProject(t, tc.setup, tc.mods, tc.disabled...)
			file := tc.file
			if file == "" {
				file = sysWF
			}
			r := gxl(t, dir, "check", file)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("missing %q in\n%s", w, r.stderr)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(r.stderr, w) {
					t.Errorf("unexpected %q in\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestCheckSystemModulesOnce: a module workflow that two modules share (the
// same folder) and that is also named on the command line is checked, and
// its warning printed, once; a git module that is not fetched and not in
// the module cache (--offline) is a warning at its mod_list.yml entry.
func TestCheckSystemModulesOnce(t *testing.T) {
	const cmpText = "mod main {\n    flow setup {\n        if ${REPLICAS} == \"three\" {\n            gx.echo(\"x\");\n        }\n    }\n}\n"
	dir := project(t, map[string]string{
		"sys/sys_model.yml":                  "name: shop\nmodel: x86-ubt22-k8s\nvender: t\n",
		"sys/vars.yml":                       "vars:\n  - name: REPLICAS\n    value: \"3\"\n    type: integer\n",
		"sys/workflows/operators.gxl":        "mod main {\n    flow setup { sys.stage(\"setup\"); }\n}\n",
		"modules/pg/workflows/operators.gxl": cmpText,
		"sys/mod_list.yml": "- name: pg_primary\n  addr:\n    path: modules/pg\n" +
			"- name: pg_replica\n  addr:\n    path: modules/pg\n" +
			"- name: cache\n  addr:\n    repo: https://example.invalid/cache\n    tag: v1\n",
	})
	env := []string{"GXL_MODULE_CACHE=" + filepath.Join(dir, "cache")}
	r := gxlEnv(t, dir, env, "check", "--offline", filepath.Join("sys", "workflows", "operators.gxl"), filepath.Join("modules", "pg", "workflows", "operators.gxl"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "between int and string"); n != 1 {
		t.Errorf("the module's warning printed %d times, want once:\n%s", n, r.stderr)
	}
	want := filepath.Join("sys", "mod_list.yml") + ":7:3: warning: module cache not fetched: its workflow was not checked"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("missing %q in\n%s", want, r.stderr)
	}
}
