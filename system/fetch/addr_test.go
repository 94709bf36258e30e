package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/gxl-dev/gxl/system"
)

// tarball is a tar (gzip-compressed when gz) of files (name → content;
// a name ending in "->" plus a target is a symlink).
func tarball(t *testing.T, gz bool, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	var w *tar.Writer
	var z *gzip.Writer
	if gz {
		z = gzip.NewWriter(&b)
		w = tar.NewWriter(z)
	} else {
		w = tar.NewWriter(&b)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if name, target, ok := strings.Cut(n, "->"); ok {
			w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
			continue
		}
		w.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))})
		w.Write([]byte(files[n]))
	}
	w.Close()
	if z != nil {
		z.Close()
	}
	return b.Bytes()
}

// archiveServer serves path → body on loopback; /old/* redirects to /*.
type archiveServer struct {
	*httptest.Server
	files          atomic.Value // map[string][]byte
	user, password string       // basic auth wanted under /private/
	token          string       // bearer token wanted under /bearer/
}

func newArchiveServer(t *testing.T) *archiveServer {
	s := &archiveServer{user: "deploy", password: "s3cret-pass", token: "tok-123456"}
	s.files.Store(map[string][]byte{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old/"); ok {
			http.Redirect(w, r, "/"+rest, http.StatusFound)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/private/") {
			if u, p, ok := r.BasicAuth(); !ok || u != s.user || p != s.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="mods"`)
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
		}
		if strings.HasPrefix(r.URL.Path, "/bearer/") && r.Header.Get("Authorization") != "Bearer "+s.token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		b, ok := s.files.Load().(map[string][]byte)[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *archiveServer) put(path string, b []byte) {
	m := map[string][]byte{}
	for k, v := range s.files.Load().(map[string][]byte) {
		m[k] = v
	}
	m[path] = b
	s.files.Store(m)
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFetchTarball: an http tarball module is downloaded through a mirror
// and a redirect, checksummed into the lock, unpacked into the module
// cache and placed; a changed archive at the same url is refused unless
// Update; Offline uses the cache; a sub-path, a plain .tar, credentials
// and archives that leave their folder.
func TestFetchTarball(t *testing.T) {
	srv := newArchiveServer(t)
	v1 := tarball(t, true, map[string]string{"workflows/operators.gxl": "mod operators { }", "vars.yml": "v1"})
	srv.put("/web-1.0.tgz", v1)
	base := t.TempDir()
	root := filepath.Join(base, "system")
	os.MkdirAll(filepath.Join(root, "sys", "mods"), 0o755)
	f := &Fetcher{Cache: filepath.Join(base, "cache"), Mirrors: []Mirror{{From: "https://downloads.example.invalid/", To: srv.URL + "/old/"}}}
	lock := &Lock{}
	m := &system.Module{Name: "web", Addr: system.Addr{URL: "https://downloads.example.invalid/web-1.0.tgz"}}
	dst := filepath.Join(root, "sys", "mods", "web")
	e, err := f.Fetch(root, m, dst, lock)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dst, "workflows", "operators.gxl")); got != "mod operators { }" {
		t.Fatalf("placed %q", got)
	}
	sum1, _ := fileSum(filepath.Join(f.Cache, "downloads", cacheName(m.Addr.URL), "archive"))
	if e.URL != m.Addr.URL || e.SHA256 != sum1 || len(e.SHA256) != 64 || e.Commit != "" {
		t.Fatalf("lock entry %+v (cached archive %s)", e, sum1)
	}
	if _, err := os.Stat(filepath.Join(f.Cache, "archives", sum1, "vars.yml")); err != nil {
		t.Fatalf("not unpacked into the module cache: %v", err)
	}
	lockPath := filepath.Join(root, "sys", "mod_list.lock")
	if err := lock.Write(lockPath); err != nil {
		t.Fatal(err)
	}
	if l := read(t, lockPath); !strings.Contains(l, "sha256: "+sum1) || !strings.Contains(l, "url: "+m.Addr.URL) {
		t.Fatalf("lock file:\n%s", l)
	}

	// The same url now serves another archive: refused against the lock,
	// and neither the module nor the cached archive changes.
	srv.put("/web-1.0.tgz", tarball(t, true, map[string]string{"workflows/operators.gxl": "mod operators { flow evil { } }"}))
	lock, _ = ReadLock(lockPath)
	if _, err := f.Fetch(root, m, dst, lock); err == nil || !strings.Contains(err.Error(), "changed since it was locked") || !strings.Contains(err.Error(), short(sum1)) {
		t.Fatalf("changed archive: %v", err)
	}
	if got := read(t, filepath.Join(dst, "workflows", "operators.gxl")); got != "mod operators { }" {
		t.Fatalf("a refused archive replaced the module: %q", got)
	}
	if s, _ := fileSum(filepath.Join(f.Cache, "downloads", cacheName(m.Addr.URL), "archive")); s != sum1 {
		t.Fatal("a refused archive replaced the cached one")
	}
	// Offline: the cached archive, which matches the lock.
	off := &Fetcher{Cache: f.Cache, Offline: true}
	if _, err := off.Fetch(root, m, filepath.Join(root, "sys", "mods", "again"), lock); err != nil {
		t.Fatalf("offline from the cache: %v", err)
	}
	if _, err := off.Fetch(root, &system.Module{Name: "x", Addr: system.Addr{URL: "https://downloads.example.invalid/never.tgz"}}, filepath.Join(root, "sys", "mods", "x"), lock); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline miss: %v", err)
	}
	// Update accepts the new archive and rewrites the entry.
	up := &Fetcher{Cache: f.Cache, Mirrors: f.Mirrors, Update: true}
	e2, err := up.Fetch(root, m, dst, lock)
	if err != nil || e2.SHA256 == sum1 || lock.find("web").SHA256 != e2.SHA256 {
		t.Fatalf("update: %v %+v", err, e2)
	}
	if got := read(t, filepath.Join(dst, "workflows", "operators.gxl")); got != "mod operators { flow evil { } }" {
		t.Fatalf("updated module %q", got)
	}

	// A plain .tar with the module in a sub-folder (path).
	srv.put("/bundle.tar", tarball(t, false, map[string]string{"bundle/api/workflows/operators.gxl": "api", "bundle/db/workflows/operators.gxl": "db"}))
	api := &system.Module{Name: "api", Addr: system.Addr{URL: srv.URL + "/bundle.tar", Path: "bundle/api"}}
	e, err = f.Fetch(root, api, filepath.Join(root, "sys", "mods", "api"), lock)
	if err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(root, "sys", "mods", "api", "workflows", "operators.gxl")) != "api" || e.Path != "bundle/api" {
		t.Fatalf("sub-path: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(root, "sys", "mods", "api", "db")); err == nil {
		t.Fatal("the rest of the archive was placed too")
	}
	api.Addr.Path = "bundle/none"
	if _, err := f.Fetch(root, api, filepath.Join(root, "sys", "mods", "api"), lock); err == nil || !strings.Contains(err.Error(), "bundle/none is not a folder") {
		t.Fatalf("missing sub-path: %v", err)
	}

	// Archives that leave their folder, and what is no archive.
	for name, body := range map[string][]byte{
		"/dotdot.tgz": tarball(t, true, map[string]string{"../../evil": "x"}),
		"/link.tgz":   tarball(t, true, map[string]string{"leak->/etc": ""}),
		"/page.tgz":   []byte("<html>not an archive</html>"),
	} {
		srv.put(name, body)
		bad := &system.Module{Name: "bad", Addr: system.Addr{URL: srv.URL + name}}
		_, err := f.Fetch(root, bad, filepath.Join(root, "sys", "mods", "bad"), &Lock{})
		want := "refused"
		if name == "/page.tgz" {
			want = "is not a .tar.gz, .tgz or .tar archive"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(root, "sys", "mods", "bad")); err == nil {
			t.Fatalf("%s was placed", name)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "evil")); err == nil {
		t.Fatal("an entry escaped")
	}

	// Credentials: basic auth from the secrets, a bearer token; without
	// them a clear error that echoes nothing.
	srv.put("/private/p.tgz", v1)
	srv.put("/bearer/b.tgz", v1)
	priv := &system.Module{Name: "p", Addr: system.Addr{URL: srv.URL + "/private/p.tgz", Username: "deploy", Password: "${SEC_MODS_PASSWORD}"}}
	if _, err := f.Fetch(root, priv, filepath.Join(root, "sys", "mods", "p"), &Lock{}); err == nil || !strings.Contains(err.Error(), "${SEC_MODS_PASSWORD} is not set") || !strings.Contains(err.Error(), "mods_password") {
		t.Fatalf("unset secret: %v", err)
	}
	secrets := map[string]string{"SEC_MODS_PASSWORD": "wrong-pass", "SEC_TOKEN": "tok-123456"}
	f.Secrets = func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }
	if _, err := f.Fetch(root, priv, filepath.Join(root, "sys", "mods", "p"), &Lock{}); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("wrong password: %v", err)
	}
	secrets["SEC_MODS_PASSWORD"] = "s3cret-pass"
	if e, err := f.Fetch(root, priv, filepath.Join(root, "sys", "mods", "p"), &Lock{}); err != nil || e.SHA256 != sum1 {
		t.Fatalf("basic auth: %v", err)
	}
	if _, err := f.Fetch(root, &system.Module{Name: "b", Addr: system.Addr{URL: srv.URL + "/bearer/b.tgz"}}, filepath.Join(root, "sys", "mods", "b"), &Lock{}); err == nil || !strings.Contains(err.Error(), "wants a credential") {
		t.Fatalf("no token: %v", err)
	}
	if _, err := f.Fetch(root, &system.Module{Name: "b", Addr: system.Addr{URL: srv.URL + "/bearer/b.tgz", Token: "${SEC_TOKEN}"}}, filepath.Join(root, "sys", "mods", "b"), &Lock{}); err != nil {
		t.Fatalf("bearer token: %v", err)
	}
}

// TestFetchGitSubPath: a git module that is a sub-folder of a repository
// (file://) at a tag is placed as its own folder; the lock records the
// repository, the path and the commit.
func TestFetchGitSubPath(t *testing.T) {
	base := t.TempDir()
	upstream := filepath.Join(base, "platform")
	run := gitRepo(t, upstream)
	os.MkdirAll(filepath.Join(upstream, "modules", "web", "workflows"), 0o755)
	os.MkdirAll(filepath.Join(upstream, "modules", "db"), 0o755)
	os.WriteFile(filepath.Join(upstream, "modules", "db", "db.yml"), []byte("db"), 0o644)
	c1 := commitFile(t, run, upstream, "modules/web/workflows/operators.gxl", "web v1")
	run("tag", "v1.0.0")
	commitFile(t, run, upstream, "modules/web/workflows/operators.gxl", "web v2")

	f := &Fetcher{Cache: filepath.Join(base, "cache")}
	root := filepath.Join(base, "system")
	os.MkdirAll(root, 0o755)
	m := &system.Module{Name: "web", Addr: system.Addr{Repo: "file://" + upstream, Tag: "v1.0.0", Path: "modules/web"}}
	dst := filepath.Join(root, "sys", "mods", "web")
	lock := &Lock{}
	e, err := f.Fetch(root, m, dst, lock)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dst, "workflows", "operators.gxl")); got != "web v1" {
		t.Fatalf("placed %q", got)
	}
	if _, err := os.Stat(filepath.Join(dst, "modules")); err == nil {
		t.Fatal("the whole repository was placed")
	}
	if e.Repo != m.Addr.Repo || e.Path != "modules/web" || e.Commit != c1 || e.Ref != "tag v1.0.0" {
		t.Fatalf("lock entry %+v", e)
	}
	// The same folder of the module cache is what gxl check reads.
	src, err := f.Source(m, lock)
	if err != nil || read(t, filepath.Join(src, "workflows", "operators.gxl")) != "web v1" {
		t.Fatalf("Source: %s %v", src, err)
	}
	m.Addr.Path = "modules/none"
	if _, err := f.Fetch(root, m, dst, lock); err == nil || !strings.Contains(err.Error(), "modules/none is not a folder") {
		t.Fatalf("missing path: %v", err)
	}
	m.Addr.Path = "modules/db/db.yml"
	if _, err := f.Fetch(root, m, dst, lock); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("file path: %v", err)
	}
	if read(t, filepath.Join(dst, "workflows", "operators.gxl")) != "web v1" {
		t.Fatal("a failed fetch changed the module")
	}
}

// gitHTTPServer serves the bare repositories under dir over git's smart
// HTTP protocol (git http-backend through net/http/cgi) on loopback;
// /private.git wants basic auth user:password; /old/X redirects to /X.
func gitHTTPServer(t *testing.T, dir, user, password string) *httptest.Server {
	exec, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(exec)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_GLOBAL=/dev/null"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old/"); ok {
			u := *r.URL
			u.Path = "/" + rest
			http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/private.git/") {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFetchPrivateGitHTTP: a private repository over real smart HTTP
// needs its credential: without it a clear error, with a wrong one a
// refusal, neither echoing it; with the token of the secrets it is
// fetched, and the lock and the cache hold no credential. A redirect of
// the repository is followed.
func TestFetchPrivateGitHTTP(t *testing.T) {
	base := t.TempDir()
	up := filepath.Join(base, "up")
	run := gitRepo(t, up)
	os.MkdirAll(filepath.Join(up, "workflows"), 0o755)
	c1 := commitFile(t, run, up, "workflows/operators.gxl", "private v1")
	run("tag", "v1")
	served := filepath.Join(base, "served")
	os.MkdirAll(served, 0o755)
	for _, name := range []string{"private.git", "public.git"} {
		if out, err := exec.Command("git", "clone", "-q", "--bare", up, filepath.Join(served, name)).CombinedOutput(); err != nil {
			t.Fatalf("clone: %v %s", err, out)
		}
	}
	const token = "ghp-T0ken-Value-42"
	srv := gitHTTPServer(t, served, "git", token)
	root := filepath.Join(base, "system")
	os.MkdirAll(root, 0o755)
	f := &Fetcher{Cache: filepath.Join(base, "cache")}
	dst := filepath.Join(root, "sys", "mods", "priv")
	m := &system.Module{Name: "priv", Addr: system.Addr{Repo: srv.URL + "/private.git", Tag: "v1"}}

	_, err := f.Fetch(root, m, dst, &Lock{})
	if err == nil || !strings.Contains(err.Error(), "authentication required") || !strings.Contains(err.Error(), "wants a credential") {
		t.Fatalf("no credential: %v", err)
	}
	secrets := map[string]string{"SEC_GIT_TOKEN": "wrong-" + token}
	f.Secrets = func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }
	m.Addr.Token = "${SEC_GIT_TOKEN}"
	_, err = f.Fetch(root, m, dst, &Lock{})
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), token) {
		t.Fatalf("wrong credential: %v", err)
	}
	// A credential in the address itself never shows either.
	inURL := &system.Module{Name: "priv", Addr: system.Addr{Repo: strings.Replace(srv.URL, "://", "://git:wrong-"+token+"@", 1) + "/private.git", Tag: "v1"}}
	if _, err = f.Fetch(root, inURL, dst, &Lock{}); err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("credential in the url: %v", err)
	}
	secrets["SEC_GIT_TOKEN"] = token
	lock := &Lock{}
	e, err := f.Fetch(root, m, dst, lock)
	if err != nil {
		t.Fatal(err)
	}
	if e.Commit != c1 || read(t, filepath.Join(dst, "workflows", "operators.gxl")) != "private v1" {
		t.Fatalf("fetched %+v", e)
	}
	lockPath := filepath.Join(root, "mod_list.lock")
	lock.Write(lockPath)
	if strings.Contains(read(t, lockPath), token) {
		t.Fatal("the lock holds the token")
	}
	filepath.Walk(f.Cache, func(p string, info os.FileInfo, err error) error {
		if strings.Contains(p, token) {
			t.Fatalf("cache path holds the token: %s", p)
		}
		if err == nil && info.Mode().IsRegular() && info.Size() < 1<<16 {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(token)) {
				t.Fatalf("cache file holds the token: %s", p)
			}
		}
		return nil
	})

	// A redirect is followed (go-git follows the first request's).
	moved := &system.Module{Name: "pub", Addr: system.Addr{Repo: srv.URL + "/old/public.git", Tag: "v1"}}
	if e, err := f.Fetch(root, moved, filepath.Join(root, "sys", "mods", "pub"), &Lock{}); err != nil || e.Commit != c1 {
		t.Fatalf("redirect: %v", err)
	}
}

// TestGitAuth: how a module's credentials reach go-git, per transport.
func TestGitAuth(t *testing.T) {
	// Without ssh_key an ssh address uses the agent (TestFetchOverSSH has
	// the case of no agent).
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(t.TempDir(), "agent.sock"))
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	key := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	for _, c := range []struct {
		addr string
		cr   creds
		want string // "basic user:pass", "ssh user", "none" or an error part
	}{
		{"https://git.example.com/a.git", creds{token: "tk1"}, "basic git:tk1"},
		{"https://git.example.com/a.git", creds{token: "tk1", username: "oauth2"}, "basic oauth2:tk1"},
		{"https://git.example.com/a.git", creds{username: "u", password: "pw"}, "basic u:pw"},
		{"http://127.0.0.1:8080/a.git", creds{}, "none"},
		{"https://git.example.com/a.git", creds{sshKey: key}, "ssh_key is for ssh addresses"},
		{"ssh://deploy@git.example.com/a.git", creds{sshKey: key}, "ssh deploy"},
		{"git@git.example.com:team/a.git", creds{sshKey: key}, "ssh git"},
		{"ssh://git.example.com/a.git", creds{sshKey: key, username: "ops"}, "ssh ops"},
		{"ssh://git.example.com/a.git", creds{}, "none"},
		{"git@git.example.com:team/a.git", creds{token: "tk1"}, "token and password are for https"},
		{"ssh://git.example.com/a.git", creds{sshKey: key + ".missing"}, "ssh_key " + key + ".missing"},
		{"/srv/git/a.git", creds{token: "tk1"}, "none"},
		{"file:///srv/git/a.git", creds{}, "none"},
	} {
		a, err := gitAuth(c.addr, c.cr)
		got := "none"
		switch x := a.(type) {
		case *githttp.BasicAuth:
			got = "basic " + x.Username + ":" + x.Password
		case *gitssh.PublicKeys:
			got = "ssh " + x.User
		}
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %+v: %s, want %s", c.addr, c.cr, got, c.want)
		}
	}
}

// TestCredentialsAndRedact: ${NAME} in a credential field comes from the
// secrets, then the environment; an unset one names the secrets-file key;
// Redact strips the user part of every URL in a text.
func TestCredentialsAndRedact(t *testing.T) {
	t.Setenv("MODS_USER", "ci-bot")
	f := &Fetcher{Secrets: func(n string) (string, bool) {
		if n == "SEC_GIT_TOKEN" {
			return "abc-secret", true
		}
		return "", false
	}}
	c, err := f.credentials(system.Addr{Token: "${SEC_GIT_TOKEN}", Username: "${MODS_USER}", SSHKey: "~/.ssh/id"})
	if err != nil || c.token != "abc-secret" || c.username != "ci-bot" || !strings.HasSuffix(c.sshKey, "/.ssh/id") || strings.HasPrefix(c.sshKey, "~") {
		t.Fatalf("%+v %v", c, err)
	}
	if got := c.clean(os.ErrNotExist).Error(); got != os.ErrNotExist.Error() {
		t.Fatal(got)
	}
	if got := c.clean(errString("auth abc-secret failed")).Error(); got != "auth *** failed" {
		t.Fatalf("masked: %q", got)
	}
	if _, err := f.credentials(system.Addr{Password: "${SEC_NEXUS_PASSWORD}"}); err == nil || !strings.Contains(err.Error(), "`nexus_password: ...` to the secrets file") {
		t.Fatalf("unset: %v", err)
	}
	for in, want := range map[string]string{
		`fetch https://u:p4ss@host/x.git: 401`:    `fetch https://host/x.git: 401`,
		`Get "http://tok@127.0.0.1:9/a": refused`: `Get "http://127.0.0.1:9/a": refused`,
		`git@github.com:team/a.git`:               `git@github.com:team/a.git`,
		`https://host/x@y`:                        `https://host/x@y`,
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
