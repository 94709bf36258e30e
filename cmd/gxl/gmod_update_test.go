package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGmodUpdateGitDependency: gmod update fetches each variant's
// spec/depends.yml dependencies from real git repositories (file://) to
// <variant>/<dep_root>/<local>/<rename, else the repository's name>, at a
// tag or a branch; a disabled one is not fetched; a dependency already
// there is kept until -f 2 fetches it again; the project's test_envs
// (mod-prj.yml) come too.
func TestGmodUpdateGitDependency(t *testing.T) {
	root := t.TempDir()
	env := []string{"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"), "HOME=" + filepath.Join(root, "home")}
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	charts := filepath.Join(root, "repos", "charts.git")
	writeFiles(t, charts, map[string]string{"redis/Chart.yaml": "name: redis\nversion: 1\n"})
	chartsURL := gitRepo(t, charts, "v1")
	tools := filepath.Join(root, "repos", "tools")
	writeFiles(t, tools, map[string]string{"bin/check.sh": "echo v1\n"})
	toolsURL := gitRepo(t, tools, "")

	must := func(r cliResult, what string) cliResult {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	must(gxlEnv(t, root, env, "mod", "new", "--name", "cache"), "gmod new")
	prj := filepath.Join(root, "cache")
	v := filepath.Join(prj, "mod", "x86-ubt22-k8s")
	writeFiles(t, prj, map[string]string{
		"mod-prj.yml": "test_envs:\n  dep_root: ./depends\n  deps:\n    - addr: {repo: " + toolsURL + ", branch: main}\n      local: env\n",
		"mod/x86-ubt22-k8s/spec/depends.yml": "dep_root: ./depends\ndeps:\n" +
			"  - addr: {repo: " + chartsURL + ", tag: v1, path: redis}\n    local: charts\n    rename: redis-chart\n" +
			"  - addr: {repo: " + toolsURL + ", branch: main}\n    local: bin\n" +
			"  - addr: {repo: https://git.invalid/off.git, tag: v1}\n    local: off\n    enable: false\n",
	})
	up := must(gxlEnv(t, prj, env, "mod", "update"), "gmod update")
	read := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(p))
		return string(b)
	}
	if got := read(filepath.Join(v, "depends", "charts", "redis-chart", "Chart.yaml")); got != "name: redis\nversion: 1\n" {
		t.Fatalf("the tag's sub-path was not fetched under its rename: %q\n%s", got, up.stdout)
	}
	if got := read(filepath.Join(v, "depends", "bin", "tools", "bin", "check.sh")); got != "echo v1\n" {
		t.Fatalf("the branch's dependency: %q\n%s", got, up.stdout)
	}
	if got := read(filepath.Join(prj, "depends", "env", "tools", "bin", "check.sh")); got != "echo v1\n" {
		t.Fatalf("mod-prj.yml's test_envs: %q\n%s", got, up.stdout)
	}
	if _, err := os.Stat(filepath.Join(v, "depends", "off")); err == nil {
		t.Fatal("a disabled dependency was fetched")
	}
	if !strings.Contains(up.stdout, "dependency redis-chart into mod/x86-ubt22-k8s/depends/charts/redis-chart") {
		t.Errorf("gmod update output:\n%s", up.stdout)
	}

	// The branch moves: a dependency already there is kept, -f 2 fetches
	// it again.
	writeFiles(t, tools, map[string]string{"bin/check.sh": "echo v2\n"})
	git(tools, "commit", "-q", "-am", "v2")
	must(gxlEnv(t, prj, env, "mod", "update"), "gmod update again")
	if got := read(filepath.Join(v, "depends", "bin", "tools", "bin", "check.sh")); got != "echo v1\n" {
		t.Fatalf("a dependency there was fetched again without -f 2: %q", got)
	}
	must(gxlEnv(t, prj, env, "mod", "update", "-f", "2"), "gmod update -f 2")
	if got := read(filepath.Join(v, "depends", "bin", "tools", "bin", "check.sh")); got != "echo v2\n" {
		t.Fatalf("-f 2 did not fetch the branch's new head: %q", got)
	}

	// A dependency that cannot be fetched fails the update with its file.
	writeFiles(t, prj, map[string]string{"mod/arm-mac14-host/spec/depends.yml": "dep_root: ./depends\ndeps:\n  - addr: {repo: " + chartsURL + ", tag: v9}\n    local: x\n"})
	r := gxlEnv(t, prj, env, "mod", "update")
	if r.code != 1 || !strings.Contains(r.stderr, "mod/arm-mac14-host/spec/depends.yml: dependency charts") {
		t.Fatalf("a missing tag: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
