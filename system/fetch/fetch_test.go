package fetch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/system"
)

// gitRepo makes a real repository with commits and tags using the git CLI.
func gitRepo(t *testing.T, dir string) func(args ...string) string {
	os.MkdirAll(dir, 0o755)
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	return run
}

func commitFile(t *testing.T, run func(...string) string, dir, name, content string) string {
	os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	run("add", "-A")
	run("commit", "-q", "-m", "c "+content)
	return run("rev-parse", "HEAD")
}

func TestFetchGit(t *testing.T) {
	base := t.TempDir()
	upstream := filepath.Join(base, "upstream", "user-service")
	run := gitRepo(t, upstream)
	c1 := commitFile(t, run, upstream, "manifest.yaml", "v1")
	run("tag", "v1.0.0")
	commitFile(t, run, upstream, "manifest.yaml", "v2")
	run("tag", "-a", "v2.0.0", "-m", "annotated")

	f := &Fetcher{Cache: filepath.Join(base, "cache"), Mirrors: []Mirror{{From: "https://github.com/techcorp/", To: filepath.Join(base, "upstream") + "/"}}}
	lock := &Lock{}
	m := &system.Module{Name: "user_service", Addr: system.Addr{Repo: "https://github.com/techcorp/user-service", Tag: "v1.0.0"}}
	dst := filepath.Join(base, "mods", "user_service")
	e, err := f.Fetch(base, m, dst, lock)
	if err != nil {
		t.Fatal(err)
	}
	if e.Commit != c1 {
		t.Fatalf("commit %s, want %s", e.Commit, c1)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "manifest.yaml")); string(b) != "v1" {
		t.Fatalf("content %q", b)
	}
	// Annotated tag and branch.
	m.Addr.Tag = "v2.0.0"
	if _, err := f.Fetch(base, m, dst, lock); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "manifest.yaml")); string(b) != "v2" {
		t.Fatalf("annotated tag content %q", b)
	}
	m.Addr = system.Addr{Repo: m.Addr.Repo, Branch: "main"}
	if _, err := f.Fetch(base, m, dst, lock); err != nil {
		t.Fatal(err)
	}
	// Missing tag.
	m.Addr = system.Addr{Repo: m.Addr.Repo, Tag: "v9.9.9"}
	if _, err := f.Fetch(base, m, dst, lock); err == nil || !strings.Contains(err.Error(), "tag v9.9.9 not found") {
		t.Fatalf("missing tag: %v", err)
	}
	// Moved tag is refused against the lock, accepted with Update.
	m.Addr = system.Addr{Repo: m.Addr.Repo, Tag: "v1.0.0"}
	if _, err := f.Fetch(base, m, dst, lock); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(base, "mod_list.lock")
	if err := lock.Write(lockPath); err != nil {
		t.Fatal(err)
	}
	c3 := commitFile(t, run, upstream, "manifest.yaml", "v1-moved")
	run("tag", "-f", "v1.0.0")
	lock, _ = ReadLock(lockPath)
	if _, err := f.Fetch(base, m, dst, lock); err == nil || !strings.Contains(err.Error(), "moved") {
		t.Fatalf("moved tag: %v", err)
	}
	f.Update = true
	if e, err := f.Fetch(base, m, dst, lock); err != nil || e.Commit != c3 {
		t.Fatalf("update: %v %s", err, e.Commit)
	}
	// Offline uses the cache only.
	off := &Fetcher{Cache: f.Cache, Mirrors: f.Mirrors, Offline: true}
	if _, err := off.Fetch(base, m, filepath.Join(base, "mods", "again"), lock); err != nil {
		t.Fatalf("offline from cache: %v", err)
	}
	m2 := &system.Module{Name: "other", Addr: system.Addr{Repo: "https://github.com/techcorp/never-fetched", Tag: "v1"}}
	if _, err := off.Fetch(base, m2, filepath.Join(base, "mods", "other"), lock); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline miss: %v", err)
	}
}

func TestFetchPath(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "external-gateways", "payment-gateway"), 0o755)
	os.WriteFile(filepath.Join(root, "external-gateways", "payment-gateway", "gw.yaml"), []byte("gw"), 0o644)
	f := &Fetcher{Cache: t.TempDir()}
	lock := &Lock{}
	m := &system.Module{Name: "external_payment_gateway", Addr: system.Addr{Path: "./external-gateways/payment-gateway"}}
	dst := filepath.Join(root, "sys", "mods", "external_payment_gateway")
	if _, err := f.Fetch(root, m, dst, lock); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "gw.yaml")); string(b) != "gw" {
		t.Fatalf("copied %q", b)
	}
	// A path or a link leaving the system is refused.
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	m.Addr.Path = "../" + filepath.Base(outside)
	if _, err := f.Fetch(root, m, dst, lock); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("escape: %v", err)
	}
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "external-gateways", "payment-gateway", "leak"))
	m.Addr.Path = "./external-gateways/payment-gateway"
	if _, err := f.Fetch(root, m, dst, lock); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("link escape: %v", err)
	}
}

// TestCheckout covers git externs: a tag or a branch of a real repository
// reached through a mirror, cached, refreshed with Update, and offline.
func TestCheckout(t *testing.T) {
	base := t.TempDir()
	upstream := filepath.Join(base, "upstream", "ops-gxl")
	run := gitRepo(t, upstream)
	os.MkdirAll(filepath.Join(upstream, "mods"), 0o755)
	commitFile(t, run, upstream, "mods/svc.gxl", "mod svc { }")
	run("tag", "v1")
	f := &Fetcher{Cache: filepath.Join(base, "cache"), Mirrors: []Mirror{{From: "https://github.com/galaxy-operators/", To: filepath.Join(base, "upstream") + "/"}}}
	url := "https://github.com/galaxy-operators/ops-gxl"
	dir, err := f.Checkout(url, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mods", "svc.gxl")); string(b) != "mod svc { }" {
		t.Fatalf("checkout content %q", b)
	}
	commitFile(t, run, upstream, "mods/svc.gxl", "mod svc { flow a { } }")
	if dir2, err := f.Checkout(url, "main"); err != nil {
		t.Fatal(err)
	} else if b, _ := os.ReadFile(filepath.Join(dir2, "mods", "svc.gxl")); string(b) != "mod svc { flow a { } }" {
		t.Fatalf("branch content %q", b)
	}
	// The cached tag checkout is used as it is; a missing ref is an error.
	if _, err := f.Checkout(url, "v9"); err == nil || !strings.Contains(err.Error(), `"v9"`) {
		t.Fatalf("missing ref: %v", err)
	}
	off := &Fetcher{Cache: f.Cache, Mirrors: f.Mirrors, Offline: true}
	if d, err := off.Checkout(url, "v1"); err != nil || d != dir {
		t.Fatalf("offline: %s %v", d, err)
	}
	if _, err := off.Checkout("https://github.com/galaxy-operators/never", "v1"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline miss: %v", err)
	}
}

// TestFetchNeverReplacesRoots: a module folder that is the system root,
// its sys/ folder, an ancestor of them or a folder of Protect is refused
// for path and git modules alike, and nothing is removed.
func TestFetchNeverReplacesRoots(t *testing.T) {
	base := t.TempDir()
	upstream := filepath.Join(base, "upstream", "svc")
	run := gitRepo(t, upstream)
	commitFile(t, run, upstream, "m.yaml", "v1")
	run("tag", "v1")
	root := filepath.Join(base, "system")
	os.MkdirAll(filepath.Join(root, "sys", "workflows"), 0o755)
	os.MkdirAll(filepath.Join(root, "gw"), 0o755)
	os.WriteFile(filepath.Join(root, "sys", "workflows", "ops.gxl"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "gw", "gw.yaml"), []byte("gw"), 0o644)
	keep := filepath.Join(base, "keep")
	os.MkdirAll(keep, 0o755)
	f := &Fetcher{Cache: filepath.Join(base, "cache"), Protect: fsguard.Roots{}.Add(keep, "the working directory"),
		Mirrors: []Mirror{{From: "https://example.invalid/", To: filepath.Join(base, "upstream") + "/"}}}
	mods := []*system.Module{
		{Name: "gw", Addr: system.Addr{Path: "./gw"}},
		{Name: "svc", Addr: system.Addr{Repo: "https://example.invalid/svc", Tag: "v1"}},
	}
	for _, m := range mods {
		for _, dst := range []string{root, filepath.Join(root, "sys"), filepath.Join(root, "sys", "mods", ".."), base, keep} {
			_, err := f.Fetch(root, m, dst, &Lock{})
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("%s into %s: %v", m.Name, dst, err)
			}
			for _, p := range []string{filepath.Join(root, "sys", "workflows", "ops.gxl"), filepath.Join(root, "gw", "gw.yaml"), keep} {
				if _, err := os.Stat(p); err != nil {
					t.Fatalf("%s into %s removed %s", m.Name, dst, p)
				}
			}
		}
		if _, err := f.Fetch(root, m, filepath.Join(root, "sys", "mods", m.Name), &Lock{}); err != nil {
			t.Fatalf("%s into sys/mods: %v", m.Name, err)
		}
	}
}
