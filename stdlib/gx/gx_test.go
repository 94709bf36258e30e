package gx

import (
	"archive/tar"
	"compress/gzip"
	"github.com/gxl-dev/gxl/runtime/shell"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBumpVersion(t *testing.T) {
	tests := []struct{ in, inc, want string }{
		{"1.2.3", "build", "1.2.3"},
		{"1.2.3.4", "build", "1.2.3.5"},
		{"1.2.3", "bugfix", "1.2.4"},
		{"1.2.3.4", "bugfix", "1.2.4.5"},
		{"1.2.3.4", "feature", "1.3.0.5"},
		{"1.2.3", "main", "2.0.0"},
		{"1.2.3.4", "null", "1.2.3.4"},
	}
	for _, tt := range tests {
		got, err := BumpVersion(tt.in, tt.inc)
		if err != nil || got != tt.want {
			t.Errorf("BumpVersion(%s, %s) = %s, %v; want %s", tt.in, tt.inc, got, err, tt.want)
		}
	}
	for _, bad := range []string{"1.2", "a.b.c", "1.2.3.4.5"} {
		if _, err := BumpVersion(bad, "build"); err == nil {
			t.Errorf("BumpVersion(%q) accepted", bad)
		}
	}
}

func TestTarRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("b"), 0o644)
	arc := filepath.Join(dir, "out.tar.gz")
	if err := Tar(src, arc); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	os.MkdirAll(dst, 0o755)
	os.WriteFile(filepath.Join(dst, "stale.txt"), []byte("x"), 0o644)
	if err := Untar(arc, dst, true, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub", "b.txt")); string(b) != "b" {
		t.Fatalf("b.txt = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dst, "stale.txt")); err == nil {
		t.Fatal("dst was not replaced")
	}
}

func writeTar(t *testing.T, path string, hdrs ...*tar.Header) {
	f, _ := os.Create(path)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, h := range hdrs {
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write(make([]byte, h.Size))
		}
	}
	tw.Close()
	gz.Close()
	f.Close()
}

// TestUntarRefusesEscapes: `..`, absolute paths and escaping links are
// refused, and the destination is left as it was.
func TestUntarRefusesEscapes(t *testing.T) {
	cases := map[string]*tar.Header{
		"dotdot":   {Name: "../evil.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		"absolute": {Name: "/tmp/evil.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		"nested":   {Name: "a/../../evil.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		"symlink":  {Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../etc"},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			arc := filepath.Join(dir, "x.tar.gz")
			writeTar(t, arc, h)
			dst := filepath.Join(dir, "dst")
			os.MkdirAll(dst, 0o755)
			os.WriteFile(filepath.Join(dst, "keep.txt"), []byte("k"), 0o644)
			err := Untar(arc, dst, true, nil)
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err = %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "evil.txt")); err == nil {
				t.Fatal("escaped")
			}
			if b, _ := os.ReadFile(filepath.Join(dst, "keep.txt")); string(b) != "k" {
				t.Fatal("dst was changed by a refused archive")
			}
		})
	}
}

func TestStrictTemplate(t *testing.T) {
	data := map[string]any{"APP": "shop", "DB": map[string]any{"HOST": "pg"}}
	if err := strictCheck("{{APP}} {{DB.HOST}} {{#each LIST}}{{this}}{{/each}}", data); err != nil {
		t.Fatal(err)
	}
	if err := strictCheck("{{APP}} {{MISSING}}", data); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("unknown value accepted: %v", err)
	}
}

func TestDownloadUpload(t *testing.T) {
	var uploaded []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "bob" || p != "pw" {
			w.WriteHeader(401)
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.Write([]byte("artifact"))
		case http.MethodPut:
			uploaded, _ = io.ReadAll(r.Body)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	c := newFakeCtx(dir)
	if err := runDownload(c, args(t, "gx.download", map[string]string{"url": srv.URL + "/files/pkg.tgz", "local_file": ".", "username": "bob", "password": "pw"})); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pkg.tgz")); string(b) != "artifact" {
		t.Fatalf("downloaded %q", b)
	}
	if err := runUpload(c, args(t, "gx.upload", map[string]string{"url": srv.URL + "/up", "local_file": "pkg.tgz", "method": "put", "username": "bob", "password": "pw"})); err != nil {
		t.Fatal(err)
	}
	if string(uploaded) != "artifact" {
		t.Fatalf("uploaded %q", uploaded)
	}
	if err := runDownload(c, args(t, "gx.download", map[string]string{"url": srv.URL + "/x", "local_file": "x"})); err == nil {
		t.Fatal("401 accepted")
	}
}

func TestReadStdin(t *testing.T) {
	c := newFakeCtx(t.TempDir())
	c.in = "  hello world  \nnext\n"
	if err := runReadStdin(c, args(t, "gx.read_stdin", map[string]string{"name": "ANSWER", "prompt": "say: "})); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Lookup("ANSWER"); v.String() != "hello world" {
		t.Fatalf("ANSWER = %q", v.String())
	}
	if c.out.String() != "say: " {
		t.Fatalf("prompt %q", c.out.String())
	}
}

// TestQuietOutputs: a quiet command's stdout goes nowhere, its stderr is
// kept for the error message (in a capture file on Linux), captured
// stdout comes back whole, from builtins and child processes alike.
func TestQuietOutputs(t *testing.T) {
	c := newFakeCtx(t.TempDir())
	res, err := shell.RunShell(c, `echo out; echo err-builtin >&2; sh -c 'echo err-child >&2'; exit 3`, shell.ShellOptions{})
	if err == nil || res.ExitCode != 3 {
		t.Fatalf("exit %d, err %v", res.ExitCode, err)
	}
	if res.Stdout != "" || c.out.String() != "" {
		t.Errorf("quiet stdout kept or shown: %q %q", res.Stdout, c.out.String())
	}
	for _, want := range []string{"err-builtin", "err-child"} {
		if !strings.Contains(res.Stderr, want) || !strings.Contains(err.Error(), want) {
			t.Errorf("stderr %q / error %q lacks %q", res.Stderr, err, want)
		}
	}
	res, err = shell.RunShell(c, `printf 'a\n'; sh -c 'printf b'; printf 'e' >&2`, shell.ShellOptions{Capture: true})
	if err != nil || res.Stdout != "a\nb" || res.Stderr != "e" {
		t.Fatalf("capture: %q %q %v", res.Stdout, res.Stderr, err)
	}
}

// TestExternalCommands: exit statuses, a missing command, a script
// without #!, and cancellation (SIGINT, then SIGKILL for a command that
// ignores it) of child processes.
func TestExternalCommands(t *testing.T) {
	dir := t.TempDir()
	c := newFakeCtx(dir)
	os.WriteFile(filepath.Join(dir, "noshebang"), []byte("echo from-script >&2; exit 4\n"), 0o755)
	for _, tc := range []struct {
		cmd  string
		code int
		err  string
	}{
		{"/bin/sh -c 'exit 3'", 3, ""},
		{"/bin/true", 0, ""},
		{"no-such-command-gxl", 127, "not found"},
		{"./noshebang", 4, "from-script"},
	} {
		res, err := shell.RunShell(c, tc.cmd, shell.ShellOptions{})
		if res.ExitCode != tc.code || (tc.err != "" && !strings.Contains(res.Stderr, tc.err)) {
			t.Errorf("%s: exit %d (want %d), stderr %q, err %v", tc.cmd, res.ExitCode, tc.code, res.Stderr, err)
		}
	}
	start := time.Now()
	_, err := shell.RunShell(c, "/bin/sleep 10", shell.ShellOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("timeout: %v after %s", err, time.Since(start))
	}
	start = time.Now()
	_, err = shell.RunShell(c, `/bin/sh -c 'trap "" INT; /bin/sleep 10'`, shell.ShellOptions{Timeout: 100 * time.Millisecond})
	if took := time.Since(start); err == nil || took < shell.KillTimeout || took > shell.KillTimeout+2*time.Second {
		t.Errorf("SIGINT ignored: %v after %s, want SIGKILL after %s", err, took, shell.KillTimeout)
	}
}

// TestReadDataDecodesOnceWhileTheSame: a data file that reads the same
// bytes is decoded once (the same value is handed out again); once its
// bytes change, it is decoded again.
func TestReadDataDecodesOnceWhileTheSame(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(p, []byte("PG_PORT: 5432\nREDIS: localhost:6379\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v1, err := ReadData(p)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ReadData(p)
	if err != nil {
		t.Fatal(err)
	}
	if v1.ObjVal() != v2.ObjVal() {
		t.Error("an unchanged file was decoded again")
	}
	if err := os.WriteFile(p, []byte("PG_PORT: 5433\nREDIS: localhost:6379\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v3, err := ReadData(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v3.ObjVal().Get("PG_PORT"); got.String() != "5433" {
		t.Errorf("after the file changed: PG_PORT=%s, want 5433", got.String())
	}
}
