package sysops

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/stdlib"
)

// TestStageCache: sys.stage loads the system and checks a module once
// while their files read the same, and again as soon as one changed (or
// the environment the system's values read did); a module that does not
// check is never kept.
func TestStageCache(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/sys_model.yml", "name: shop\nmodel: x86-ubt22-host\nvender: t\n")
	write("sys/mod_list.yml", "- name: db\n  addr:\n    path: ./catalog/db\n  model: x86-ubt22-host\n")
	write("sys/vars.yml", "vars:\n  - name: GREETING\n    value: \"${GXL_TEST_GREETING:hello}\"\n")
	var sc stageCache

	greeting := func() string {
		t.Helper()
		s, ds := sc.system(root)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		return s.Values()["GREETING"].String()
	}
	s1, _ := sc.system(root)
	if s2, _ := sc.system(root); s2 != s1 {
		t.Error("the system was loaded again from the same files")
	}
	write("sys/vars.yml", "vars:\n  - name: GREETING\n    value: \"${GXL_TEST_GREETING:bonjour}\"\n")
	if g := greeting(); g != "bonjour" {
		t.Errorf("after vars.yml changed: GREETING=%q", g)
	}
	t.Setenv("GXL_TEST_GREETING", "hallo")
	if g := greeting(); g != "hallo" {
		t.Errorf("after the environment changed: GREETING=%q", g)
	}

	reg := stdlib.Default()
	dir := filepath.Join(root, "catalog", "db")
	file := filepath.Join(dir, "workflows", "operators.gxl")
	write("catalog/db/workflows/operators.gxl", `mod main { flow deploy { gx.echo("one ${GREETING}"); } }`)
	opts := CheckOptions{Registry: reg}
	known := []string{"GREETING"}
	p1, ds := sc.module(file, dir, known, opts)
	if len(ds) > 0 {
		t.Fatalf("checked with GREETING known: %v", ds)
	}
	if p2, _ := sc.module(file, dir, known, opts); p2 != p1 {
		t.Error("the module was checked again from the same files")
	}
	if p3, ds := sc.module(file, dir, nil, opts); p3 == p1 || len(ds) == 0 {
		t.Errorf("a check without GREETING known reused the program or found nothing: %v", ds)
	}
	write("catalog/db/workflows/operators.gxl", `mod main { flow deploy { gx.echo("two"); } flow failover { } }`)
	p4, _ := sc.module(file, dir, known, opts)
	if p4 == p1 || p4.Module("main").Flow("failover") == nil {
		t.Error("an edited workflow was not checked again")
	}
	write("catalog/db/workflows/operators.gxl", `mod main { flow deploy { gx.nope(); } }`)
	for range 2 {
		if _, ds := sc.module(file, dir, known, opts); !ds.HasErrors() {
			t.Error("a workflow with errors checked clean (kept from before?)")
		}
	}
}

// TestSourceCheck: a file whose status is the one it had when it last
// read the same is not read again; a file written since — same size, in
// place or replaced — is; a file changed within racyWindow of its check
// is read every time.
func TestSourceCheck(t *testing.T) {
	if _, ok := stampOf("."); !ok {
		t.Skip("no file status stamps on this system: every check reads")
	}
	reads := 0
	readSource = func(p string) ([]byte, error) { reads++; return os.ReadFile(p) }
	defer func() { readSource = os.ReadFile }()
	dir := t.TempDir()
	p := filepath.Join(dir, "w.gxl")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(fc *sourceCheck, src string, want bool, wantReads int) {
		t.Helper()
		reads = 0
		if got := fc.same(map[string][]byte{p: []byte(src)}); got != want {
			t.Errorf("same = %v, want %v", got, want)
		}
		if reads != wantReads {
			t.Errorf("%d reads, want %d", reads, wantReads)
		}
	}

	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = time.Hour // everything is recent: read every time
	write("one")
	var recent sourceCheck
	check(&recent, "one", true, 1)
	check(&recent, "one", true, 1)

	racyWindow = 0
	var fc sourceCheck
	check(&fc, "one", true, 1)
	check(&fc, "one", true, 0) // the stamp stands for the content
	time.Sleep(50 * time.Millisecond)
	write("two") // the same size, in place
	check(&fc, "one", false, 1)
	check(&fc, "two", true, 1)
	check(&fc, "two", true, 0)
	time.Sleep(50 * time.Millisecond)
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte("six"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil { // replaced
		t.Fatal(err)
	}
	check(&fc, "two", false, 1)
	os.Remove(p)
	check(&fc, "two", false, 1)
}
