package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFetchAddresses runs sys.fetch of a system whose modules use every
// remote address form, on real servers on loopback: an http tarball
// reached through GXL_MIRRORS and a redirect, a sub-folder of a git
// repository (file://) at a tag, and a private repository over git's
// smart HTTP (git http-backend) that wants the token of the secrets
// file. Without the secret the run fails with a clear error; with it
// every module is fetched and runs; the token appears in no output, lock
// or journal; a changed tarball is refused until --mod_up; gxl check
// reads every module from the module cache.
func TestFetchAddresses(t *testing.T) {
	const token = "T0ken-of-the-secrets-file"
	base := t.TempDir()
	gitRun := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	flow := func(name string) string {
		return "mod main {\n    flow setup {\n        gx.echo(\"" + name + " set up\");\n    }\n}\n"
	}
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A platform repository whose modules/api folder is the api module.
	platform := filepath.Join(base, "platform")
	write(filepath.Join(platform, "modules", "api", "workflows", "operators.gxl"), flow("api"))
	write(filepath.Join(platform, "README"), "platform")
	gitRun(platform, "init", "-q", "-b", "main")
	gitRun(platform, "add", "-A")
	gitRun(platform, "commit", "-q", "-m", "api")
	gitRun(platform, "tag", "v2.1.0")
	// The private repository, served over smart HTTP with basic auth.
	private := filepath.Join(base, "private")
	write(filepath.Join(private, "workflows", "operators.gxl"), flow("vault"))
	gitRun(private, "init", "-q", "-b", "main")
	gitRun(private, "add", "-A")
	gitRun(private, "commit", "-q", "-m", "vault")
	gitRun(private, "tag", "v1")
	served := filepath.Join(base, "served")
	os.MkdirAll(served, 0o755)
	gitRun(base, "clone", "-q", "--bare", private, filepath.Join(served, "vault.git"))
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{"GIT_PROJECT_ROOT=" + served, "GIT_HTTP_EXPORT_ALL=1"}}
	var tgz atomic.Value
	tgz.Store(tarGz(t, map[string]string{"web-1.0/workflows/operators.gxl": flow("web")}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/old/"):
			http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/old"), http.StatusFound)
		case r.URL.Path == "/web-1.0.tgz":
			w.Write(tgz.Load().([]byte))
		case strings.HasPrefix(r.URL.Path, "/vault.git/"):
			if u, p, ok := r.BasicAuth(); !ok || u != "git" || p != token {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	root := filepath.Join(base, "system")
	write(filepath.Join(root, "sys", "sys_model.yml"), "name: shop\nmodel: x86-ubt22-k8s\nvender: t\n")
	write(filepath.Join(root, "sys", "vars.yml"), "vars: []\n")
	write(filepath.Join(root, "sys", "mod_list.yml"), `- name: web
  addr: {url: https://downloads.example.invalid/web-1.0.tgz, path: web-1.0}
- name: api
  addr: {repo: "file://`+platform+`", tag: v2.1.0, path: modules/api}
- name: vault
  addr: {repo: "`+srv.URL+`/vault.git", tag: v1, token: "${SEC_GIT_TOKEN}"}
`)
	write(filepath.Join(root, "sys", "workflows", "operators.gxl"), "mod main {\n    flow fetch {\n        sys.fetch();\n    }\n    flow setup {\n        sys.stage(\"setup\");\n    }\n}\n")
	env := []string{"GXL_MIRRORS=https://downloads.example.invalid/=" + srv.URL + "/old/", "GXL_MODULE_CACHE=" + filepath.Join(base, "cache")}
	noToken := func(what, s string) {
		t.Helper()
		if strings.Contains(s, token) {
			t.Fatalf("%s shows the token:\n%s", what, s)
		}
	}

	r := gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", "fetch")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "vault") || !strings.Contains(r.stdout+r.stderr, "${SEC_GIT_TOKEN} is not set: add `git_token: ...` to the secrets file") {
		t.Fatalf("without the secret: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	write(filepath.Join(root, "sec.yml"), "git_token: "+token+"\n")
	r = gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", "fetch")
	if r.code != 0 {
		t.Fatalf("fetch: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noToken("fetch output", r.stdout+r.stderr)
	lock, _ := os.ReadFile(filepath.Join(root, "sys", "mod_list.lock"))
	for _, want := range []string{"url: https://downloads.example.invalid/web-1.0.tgz", "sha256: ", "path: web-1.0", "path: modules/api", "ref: tag v2.1.0", "repo: " + srv.URL + "/vault.git"} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("lock has no %q:\n%s", want, lock)
		}
	}
	r = gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", "setup")
	for _, want := range []string{"web set up", "api set up", "vault set up"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("setup: exit %d, no %q\n%s\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && filepath.Base(p) != "sec.yml" {
			b, _ := os.ReadFile(p)
			noToken(p, string(b))
		}
		return nil
	})

	// gxl check finds every module's workflow in the module cache when
	// sys/mods is gone (the private one with the secrets file's token).
	os.RemoveAll(filepath.Join(root, "sys", "mods"))
	r = gxlEnv(t, root, env, "check", "sys/workflows/operators.gxl")
	if r.code != 0 || strings.Contains(r.stderr, "not fetched") {
		t.Fatalf("check from the cache: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The same url now serves another archive: refused, then accepted
	// with --mod_up.
	tgz.Store(tarGz(t, map[string]string{"web-1.0/workflows/operators.gxl": flow("web v2")}))
	r = gxlEnv(t, root, env, "run", "sys/workflows/operators.gxl", "fetch")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "changed since it was locked") {
		t.Fatalf("changed tarball: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = gxlEnv(t, root, env, "run", "--mod_up", "sys/workflows/operators.gxl", "fetch")
	if r.code != 0 {
		t.Fatalf("--mod_up: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "sys", "mods", "web", "workflows", "operators.gxl")); !strings.Contains(string(b), "web v2") {
		t.Fatalf("after --mod_up: %s", b)
	}
}

// tarGz is a .tar.gz of files (name → content).
func tarGz(t *testing.T, files map[string]string) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	w := tar.NewWriter(z)
	for n, s := range files {
		if err := w.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(s))}); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(s))
	}
	w.Close()
	z.Close()
	return b.Bytes()
}
