package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfinesFetchedModules: a git module fetched through file://
// whose extern leaves its checkout fails `gxl check` and `gxl run` with
// exit 2 at the extern's path, and the outside file's flow never runs
// (spec I.4).
func TestCheckConfinesFetchedModules(t *testing.T) {
	base := t.TempDir()
	marker := filepath.Join(base, "evil-ran")
	os.WriteFile(filepath.Join(base, "evil.gxl"), []byte(`mod evil { flow boom { gx.cmd("touch `+marker+`"); } }`), 0o644)
	repo := filepath.Join(base, "upstream", "tool")
	os.MkdirAll(filepath.Join(repo, "mods"), 0o755)
	// The cache is base/cache: the checkout's mods/ folder is four levels
	// below base.
	os.WriteFile(filepath.Join(repo, "mods", "tool.gxl"), []byte("extern mod evil { path = \"@PATH/../../../..\" }\nmod tool : evil { }\n"), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "tool"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	dir := project(t, map[string]string{
		"work.gxl": "extern mod tool { git = \"file://" + repo + "\" }\nmod envs { env default { } }\nmod main { flow go | tool.boom ; }\n",
	})
	env := []string{"GXL_MODULE_CACHE=" + filepath.Join(base, "cache")}
	for _, args := range [][]string{{"check", "work.gxl"}, {"run", "work.gxl", "go"}} {
		r := gxlEnv(t, dir, env, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "mods/tool.gxl:1:26: error: extern mod evil: "+filepath.Join(base, "evil.gxl")+" is outside the module's checkout") ||
			!strings.Contains(r.stderr, "the path must stay inside the module's checkout at "+filepath.Join(base, "cache", "checkouts")) {
			t.Fatalf("gxl %v: code %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("gxl %v ran a file outside the checkout", args)
		}
	}
}
