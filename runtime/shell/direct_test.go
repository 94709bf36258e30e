//go:build unix

package shell

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"go.uber.org/zap"
)

// testCtx is the part of builtin.Ctx that RunShell uses.
type testCtx struct {
	builtin.Ctx
	ctx      context.Context
	dir      string
	env      []string
	vars     map[string]string
	quiet    bool
	out, err strings.Builder
	logs     []string
}

func (c *testCtx) Context() context.Context { return c.ctx }
func (c *testCtx) Lookup(n string) (value.Value, bool) {
	s, ok := c.vars[strings.ToLower(n)]
	return value.Str(s), ok
}
func (c *testCtx) Stdout() io.Writer            { return &c.out }
func (c *testCtx) Stderr() io.Writer            { return &c.err }
func (c *testCtx) Logf(f string, args ...any)   { c.logs = append(c.logs, f) }
func (c *testCtx) Logger() *zap.Logger          { return zap.NewNop() }
func (c *testCtx) Warn(diag.List, diag.Sources) {}
func (c *testCtx) Mask(s string) string         { return s }
func (c *testCtx) Masker() *mask.Set            { return mask.New() }
func (c *testCtx) Dir() string                  { return c.dir }
func (c *testCtx) Environ() []string            { return c.env }
func (c *testCtx) Quiet() bool                  { return c.quiet }

// TestDirectMatchesShell runs each command line twice, once as it runs
// (plain words without the shell) and once with every line given to the
// shell, and requires the same exit status, output, error output and
// error; it also checks which lines may skip the shell.
func TestDirectMatchesShell(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "noshebang"), []byte("echo from a script without a shebang\nexit 4\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "shebang"), []byte("#!/bin/sh\necho \"args: $# $1\"\nexit 5\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "notexec"), []byte("x\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "selfkill"), []byte("#!/bin/sh\nkill -TERM $$\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "tool"), []byte("#!/bin/sh\necho tool in PATH\n"), 0o755)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// The environment has duplicates (the last wins), an entry without
	// '=', a PATH with the test's folder in it, no HOME and a stale PWD.
	env := []string{"PATH=/usr/bin:/bin", "GXL_A=first", "BROKEN", "GXL_A=second", "PATH=/usr/bin:/bin:" + filepath.Join(dir, "sub"), "PWD=/elsewhere", "LC_ALL=C"}
	cases := []struct {
		cmd    string
		direct bool // runs without the shell
		opt    ShellOptions
		ctx    context.Context
		dir    string
		quiet  bool
	}{
		{cmd: "/bin/true", direct: true},
		{cmd: "/bin/false", direct: true},
		{cmd: "true"}, // a built-in of the shell: in process
		{cmd: "echo a b"},
		{cmd: "printf %s x"},
		{cmd: "cd sub"},
		{cmd: "exit 3"},
		{cmd: "/usr/bin/env", direct: true},
		{cmd: "env", direct: true},
		{cmd: "env", direct: true, quiet: true, opt: ShellOptions{Capture: true}},
		{cmd: "pwd"},
		{cmd: "/bin/pwd", direct: true, dir: "sub"},
		{cmd: "ls a.txt missing-file", direct: true},
		{cmd: "ls a.txt missing-file", direct: true, quiet: true},
		{cmd: "cat", direct: true}, // stdin is /dev/null
		{cmd: "no-such-command-gxl", direct: true},
		{cmd: "./no-such-file", direct: true},
		{cmd: "./notexec", direct: true},
		{cmd: "./noshebang", direct: true}, // the kernel refuses it: the shell runs it
		{cmd: "./shebang one two", direct: true},
		{cmd: "tool", direct: true},       // found in the last PATH
		{cmd: "./selfkill", direct: true}, // killed by a signal: 128+15
		{cmd: "sh -c exit", direct: true},
		{cmd: "  /bin/true\t ", direct: true},
		{cmd: "ls --color=never -d sub", direct: true},
		{cmd: "/bin/true", direct: true, dir: "missing"},
		{cmd: "/bin/true", direct: true, dir: "a.txt"},
		{cmd: "touch started", direct: true, ctx: cancelled}, // must not start
		{cmd: "sleep 5", direct: true, opt: ShellOptions{Timeout: 50 * time.Millisecond}},
		{cmd: "/bin/false", direct: true, opt: ShellOptions{Expect: []int{1}}},
		{cmd: "env", direct: true, opt: ShellOptions{Extra: map[string]string{"extra_var": "x y"}}},
		// Shell syntax: never direct.
		{cmd: "sh -c 'exit 3'"},
		{cmd: `ls "a.txt"`},
		{cmd: `ls a\.txt`},
		{cmd: "ls *.txt"},
		{cmd: "ls a.tx?"},
		{cmd: "ls [a].txt"},
		{cmd: "ls ~"},
		{cmd: "ls {a,b}.txt"},
		{cmd: "ls a.txt # comment"},
		{cmd: "ls a.txt; ls a.txt"},
		{cmd: "ls a.txt && /bin/false"},
		{cmd: "ls a.txt | cat"},
		{cmd: "ls a.txt > out"},
		{cmd: "ls $HOME"},
		{cmd: "ls ${GXL_A}"},
		{cmd: "GXL_B=1 env"},
		{cmd: "(ls)"},
		{cmd: "ls a.txt & wait"},
		{cmd: "! ls"},
		{cmd: "ls\nls"},
		{cmd: "if"},
		{cmd: "while"},
		{cmd: "done"},
		{cmd: "export X=1"},
		{cmd: "local"},
		{cmd: ""},
		{cmd: "   "},
		{cmd: "=x"},
	}
	run := func(tc int, useDirect bool) (string, *testCtx) {
		c := cases[tc]
		direct = useDirect
		defer func() { direct = true }()
		ctx := c.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		tcx := &testCtx{ctx: ctx, dir: dir, env: env, vars: map[string]string{}, quiet: c.quiet}
		opt := c.opt
		if c.dir != "" {
			opt.Dir = c.dir
		}
		res, err := RunShell(tcx, c.cmd, opt)
		got := "exit " + strconv.Itoa(res.ExitCode) + "\nstdout: " + res.Stdout + "\nstderr: " + res.Stderr +
			"\nshown: " + tcx.out.String() + "\nshown err: " + tcx.err.String()
		if err != nil {
			got += "\nerror: " + err.Error()
		}
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			got += "\nstarted"
			os.Remove(filepath.Join(dir, "started"))
		}
		return got, tcx
	}
	for i, c := range cases {
		if got := directArgs(strings.ReplaceAll(c.cmd, "${GXL_A}", "${__GXL_0}")) != nil; got != c.direct {
			t.Errorf("%q: direct %v, want %v", c.cmd, got, c.direct)
		}
		viaDirect, _ := run(i, true)
		viaShell, _ := run(i, false)
		if viaDirect != viaShell {
			t.Errorf("%q (%+v):\nwithout the shell:\n%s\nthrough the shell:\n%s", c.cmd, c.opt, viaDirect, viaShell)
		}
	}
}
