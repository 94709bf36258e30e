package main

import (
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/predef"
)

// TestDocVars: `gxl doc vars` lists every predefined variable of the one
// table the checker and the runtime read, with its type.
func TestDocVars(t *testing.T) {
	r := gxl(t, t.TempDir(), "doc", "vars")
	if r.code != 0 {
		t.Fatalf("gxl doc vars: %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(predef.Vars) {
		t.Fatalf("%d lines for %d variables:\n%s", len(lines), len(predef.Vars), r.stdout)
	}
	for i, v := range predef.Vars {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != v.Name || f[1] != v.Type.String() {
			t.Errorf("line %d: %q, want %s %s", i+1, lines[i], v.Name, v.Type)
		}
	}
}
