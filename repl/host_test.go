package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// Runs of the session get the host settings of the file loaded last
// (a :load of a system workflow moves the system root).
func TestSessionHostFollowsLoadedFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.gxl", "b.gxl"} {
		os.WriteFile(filepath.Join(dir, f), []byte("mod main { flow f { } }"), 0o644)
	}
	reg := stdlib.Default()
	load := func(f string) (*check.Program, map[string]value.Value, error) {
		p, ds := check.Load(f, check.Options{Registry: reg})
		return p, nil, ds.Err()
	}
	a := filepath.Join(dir, "a.gxl")
	prog, _, err := load(a)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := New(Config{File: a, Program: prog, Load: load, Registry: reg, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out,
		HostFor: func(f string) builtin.Host { return builtin.Host{SysRoot: "root of " + filepath.Base(f)} }})
	defer s.Close()
	if got := s.cfg.Options.Host.SysRoot; got != "root of a.gxl" {
		t.Errorf("at start: %q", got)
	}
	s.load(filepath.Join(dir, "b.gxl"))
	if got := s.cfg.Options.Host.SysRoot; got != "root of b.gxl" {
		t.Errorf("after :load b.gxl: %q\n%s", got, out.String())
	}
}
