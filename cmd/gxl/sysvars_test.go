package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
	"github.com/gxl-dev/gxl/system/sysops"
)

// tplNames are the names inside the {{...}} of a Handlebars template
// (`{{NAME}}`, `{{#each NAME}}`, `{{#if NAME}}`).
var (
	tplBlock = regexp.MustCompile(`\{\{([^}]*)\}\}`)
	tplName  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	varRef   = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
)

// TestSystemVarsAreRead: every variable of the example system's
// sys/vars.yml is read by something that matters — the system workflow,
// a module's workflow (the service library ops-gxl included: the
// checker's Program.Reads), a module's
// templates (Kubernetes manifests, config maps), or the value of another
// variable that is read. A variable read by nothing is a setting that
// changes nothing: wire it or remove it (docs/operate.md, "System
// variables").
func TestSystemVarsAreRead(t *testing.T) {
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	sys, ds := system.Load(repo, system.Options{})
	if ds.HasErrors() {
		t.Fatalf("system: %v", ds.Err())
	}
	tmp := t.TempDir()
	if _, err := publishCatalog(filepath.Join(repo, "modules"), filepath.Join(tmp, "git")); err != nil {
		t.Fatal(err)
	}
	ms, err := fetch.ParseMirrors("https://github.com/=" + filepath.Join(tmp, "git", "github.com") + "/")
	if err != nil {
		t.Fatal(err)
	}
	fe := &fetch.Fetcher{Cache: filepath.Join(tmp, "cache"), Mirrors: ms}
	reg := engine.Registry()

	read := map[string][]string{} // upper-cased name → who reads it
	note := func(who string, names ...string) {
		for _, n := range names {
			n = strings.ToUpper(n)
			read[n] = append(read[n], who)
		}
	}
	sysFile := filepath.Join(repo, "sys", "workflows", "operators.gxl")
	sp, sds := check.Load(sysFile, check.Options{Registry: reg, ExtraVars: sys.Types(), ResolveGit: fe.Checkout})
	if sds.HasErrors() || sp == nil {
		t.Fatalf("%s: %v", sysFile, sds.Err())
	}
	note("sys/workflows/operators.gxl", sp.Reads()...)
	known := sys.Types()
	names, open := sp.Defines()
	for _, n := range names {
		if _, ok := known[strings.ToUpper(n)]; !ok {
			known[n] = types.Any
		}
	}
	mods, _ := filepath.Glob(filepath.Join(repo, "modules", "*", "workflows", "*.gxl"))
	libs, _ := filepath.Glob(filepath.Join(repo, "modules", "ops-gxl", "mods", "*.gxl"))
	if len(mods) < 10 || len(libs) < 2 {
		t.Fatalf("module workflows %v, libraries %v", mods, libs)
	}
	for _, f := range append(mods, libs...) {
		dir := filepath.Dir(filepath.Dir(f))
		p, ds := sysops.CheckModule(f, dir, sysops.CheckOptions{Registry: reg, Known: known, Open: open, ResolveGit: fe.Checkout})
		if ds.HasErrors() || p == nil {
			t.Fatalf("%s: %v", f, ds.Err())
		}
		rel, _ := filepath.Rel(repo, f)
		note(rel, p.Reads()...)
	}
	tpls, _ := filepath.Glob(filepath.Join(repo, "modules", "*", "k8s", "*"))
	if len(tpls) < 10 {
		t.Fatalf("templates %v", tpls)
	}
	for _, f := range tpls {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repo, f)
		for _, m := range tplBlock.FindAllStringSubmatch(string(b), -1) {
			note(rel, tplName.FindAllString(m[1], -1)...)
		}
	}
	// A variable read in the value of a variable that is read is read.
	for changed := true; changed; {
		changed = false
		for _, v := range sys.Vars {
			if len(read[strings.ToUpper(v.Name)]) == 0 {
				continue
			}
			for _, m := range varRef.FindAllStringSubmatch(v.Raw, -1) {
				if n := strings.ToUpper(m[1]); n != strings.ToUpper(v.Name) && len(read[n]) == 0 {
					note("the value of "+v.Name, n)
					changed = true
				}
			}
		}
	}
	var unread []string
	for _, v := range sys.Vars {
		if len(read[strings.ToUpper(v.Name)]) == 0 {
			unread = append(unread, v.Name)
		}
	}
	sort.Strings(unread)
	if len(unread) > 0 {
		t.Errorf("%d of the %d variables of sys/vars.yml are read by nothing: %s\n"+
			"hint: read each in a config map, a manifest, a schedule or an alert, or remove it from sys/vars.yml with a note why (docs/operate.md)",
			len(unread), len(sys.Vars), strings.Join(unread, ", "))
	}
}
