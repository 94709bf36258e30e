// Package gx implements the gx.* built-ins of GXL (spec §5) and registers
// them, with typed parameters, in the shared registry.
package gx

import (
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"strings"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// shellParams are the options shared by gx.cmd, gx.shell and gx.read_cmd
// (§5.0), plus gxl's timeout, dir and expect.
func shellParams() []builtin.Param {
	ps := []builtin.Param{
		{Name: "quiet", Type: types.Bool, Doc: "do not print the command and its output (-q overrides)"},
		{Name: "out", Type: types.Bool, Doc: "print the output (the default; out: false also silences it in gxl)"},
		{Name: "suc", Type: types.String, Doc: "text printed after success"},
		{Name: "err", Type: types.String, Doc: "message used when the command fails"},
		{Name: "log", Type: types.String, Doc: "log level of the command line: 1 info, 2 debug, 3 trace"},
		{Name: "silence", Type: types.Bool, Doc: "do not show the command line (secret commands)"},
		{Name: "sudo", Type: types.Bool, Doc: "accepted for compatibility; has no effect"},
		{Name: "timeout", Type: types.Duration, Doc: "kill the command after this long (e.g. \"30s\")"},
		{Name: "dir", Type: types.String, Doc: "working directory of the command"},
		{Name: "expect", Type: types.List, Doc: "accepted exit codes (default [0])"},
	}
	ps = append(ps, builtin.RetryParams(1, "1s", "the command")...)
	return append(ps, builtin.OldRetries("retry"), builtin.OldDelay("retry_delay"))
}

func withShell(ps ...builtin.Param) []builtin.Param { return append(ps, shellParams()...) }

func nameOut(key string) func(map[string]string) []string {
	return func(a map[string]string) []string {
		if n := a[key]; n != "" {
			return []string{n}
		}
		return nil
	}
}

// Register adds every gx.* built-in to r.
func Register(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "gx.echo", Doc: "Print text (interpolated, secrets masked) and a newline on stdout.",
		Where: builtin.InBlock, Effect: builtin.Pure, ArgsCaseSensitive: true,
		Params: []builtin.Param{{Name: "value", Type: types.String, Required: true, Positional: true, Doc: "the text"}},
		Run:    runEcho,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.cmd", Doc: "Run a shell command; ${X} values reach the shell as data, never as code. Its background jobs (`&`) may run 2 s past the line, then are stopped (see the top of docs/gx.md).",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: withShell(builtin.Param{Name: "cmd", Type: types.String, Required: true, Positional: true, Raw: true,
			Doc: "the command line"}),
		Run: runCmd,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.shell", Doc: "Run a shell command with variables from an argument file and an output variable.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: withShell(
			builtin.Param{Name: "shell", Type: types.String, Required: true, Positional: true, Raw: true, Doc: "the command line"},
			builtin.Param{Name: "arg_file", Type: types.String, Doc: ".json/.yml/.yaml/.toml/.ini file whose top-level keys become variables"},
			builtin.Param{Name: "out_var", Type: types.String, Doc: "variable that names a temporary file during the command and holds its content after"},
		),
		SetsVars: func(a map[string]string) []string {
			var out []string
			if a["arg_file"] != "" {
				out = append(out, "*")
			}
			if a["out_var"] != "" {
				out = append(out, a["out_var"])
			}
			return out
		},
		Run: runShellBuiltin,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.read_cmd", Doc: "Run a command and store its trimmed stdout in a variable.",
		Where: builtin.InBlock | builtin.InEnv, Effect: builtin.Changes,
		Params: withShell(
			builtin.Param{Name: "name", Type: types.String, Required: true, Doc: "variable to set"},
			builtin.Param{Name: "cmd", Type: types.String, Required: true, Positional: true, Raw: true, Doc: "the command line"},
		),
		SetsVars: nameOut("name"),
		Run:      runReadCmd,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.read_file", Doc: "Read an .ini, .json, .yml, .yaml or .toml file into variables.",
		Where: builtin.InBlock | builtin.InEnv, Effect: builtin.Reads,
		Params: []builtin.Param{
			{Name: "file", Type: types.String, Required: true, Positional: true, Doc: "the file"},
			{Name: "name", Type: types.String, Doc: "variable to set to the whole content; without it every top-level key becomes a variable"},
			{Name: "entity", Type: types.String, Doc: "accepted for compatibility; ignored"},
		},
		SetsVars: func(a map[string]string) []string {
			if a["name"] != "" {
				return []string{a["name"]}
			}
			return []string{"*"}
		},
		Run: runReadFile,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.read_stdin", Doc: "Print a prompt and read one line from stdin into a variable.",
		Where: builtin.InBlock | builtin.InEnv, Effect: builtin.Reads,
		Params: []builtin.Param{
			{Name: "name", Type: types.String, Required: true, Doc: "variable to set"},
			{Name: "prompt", Type: types.String, Positional: true, Doc: "the prompt"},
		},
		SetsVars: nameOut("name"),
		Run:      runReadStdin,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.tpl", Doc: "Render a Handlebars template file or directory (strict: unknown {{x}} is an error).",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: []builtin.Param{
			{Name: "tpl", Type: types.String, Required: true, Positional: true, Doc: "template file or directory"},
			{Name: "dst", Type: types.String, Required: true, Doc: "output file or directory (never the working directory, the project root or an ancestor)"},
			{Name: "data", Type: types.String, Doc: "inline JSON data"},
			{Name: "file", Type: types.String, Doc: "JSON data file"},
			{Name: "engine", Type: types.String, Enum: []string{"handlebars", "helm"}, Default: value.Str("handlebars"), Doc: "template engine"},
		},
		Run: runTpl,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.assert", Doc: "Compare two texts; fail the step when they differ (or match, with result: false).",
		Where: builtin.InBlock, Effect: builtin.Pure, ArgsCaseSensitive: true,
		Params: []builtin.Param{
			{Name: "value", Type: types.String, Required: true, Positional: true, Doc: "the actual text"},
			{Name: "expect", Type: types.String, Required: true, Doc: "the expected text"},
			{Name: "err", Type: types.String, Doc: "message on failure"},
			{Name: "result", Type: types.Bool, Default: value.Bool(true), Doc: "false inverts the check"},
		},
		Run: runAssert,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.ver", Doc: "Bump the version a.b.c[.d] in a file, write it back and set a variable.",
		Where: builtin.InBlock, Effect: builtin.Changes, ArgsCaseSensitive: true,
		Params: []builtin.Param{
			{Name: "file", Type: types.String, Required: true, Positional: true, Doc: "the version file"},
			{Name: "inc", Type: types.String, Default: value.Str("build"), Enum: []string{"build", "bugfix", "feature", "main", "null"}, Doc: "which part to bump"},
			{Name: "export", Type: types.String, Default: value.Str("VERSION"), Doc: "variable to set"},
		},
		SetsVars: func(a map[string]string) []string {
			if a["export"] != "" {
				return []string{a["export"]}
			}
			return []string{"VERSION"}
		},
		Run: runVer,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.run", Doc: "Run flows of another GXL file in another directory (a nested run on a copy of the variables).",
		Where: builtin.InBlock, Effect: builtin.Runs,
		Params: []builtin.Param{
			{Name: "local", Type: types.String, Required: true, Doc: "directory to run in"},
			{Name: "env", Type: types.String, Required: true, Doc: "env name(s), comma-separated"},
			{Name: "flow", Type: types.String, Required: true, Doc: "flow name(s), comma-separated"},
			{Name: "conf", Type: types.String, Default: value.Str("./_gal/work.gxl"), Doc: "the GXL file, relative to local"},
			{Name: "isolate", Type: types.Bool, Doc: "start from the bootstrap variables only"},
		},
		Run: runRun,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.tar", Doc: "Create a .tar.gz archive of a directory.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: []builtin.Param{
			{Name: "src", Type: types.String, Required: true, Positional: true, Doc: "directory to archive"},
			{Name: "file", Type: types.String, Required: true, Doc: "archive to write (replaced)"},
		},
		Run: runTar,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.untar", Doc: "Extract a .tar.gz archive into a folder (entries escaping dst are refused; the working directory, the project root and their ancestors are never replaced).",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: []builtin.Param{
			{Name: "file", Type: types.String, Required: true, Positional: true, Doc: "archive to read"},
			{Name: "dst", Type: types.String, Required: true, Doc: "folder to extract into (created when missing; must be empty unless replace)"},
			{Name: "replace", Type: types.Bool, Default: value.Bool(false), Doc: "replace the content of an existing dst (never the working directory, project or system root, home, `/` or their ancestors)"},
		},
		Run: runUntar,
	})
	auth := []builtin.Param{
		{Name: "username", Type: types.String, Doc: "basic-auth user (with password)"},
		{Name: "password", Type: types.String, Doc: "basic-auth password (with username)"},
		{Name: "timeout", Type: types.Duration, Default: value.Str("5m"), Doc: "give up after this long (0: no limit)"},
	}
	r.Add(&builtin.Builtin{
		Name: "gx.download", Doc: "HTTP GET a URL into a local file (or into a directory, named after the URL).",
		Where: builtin.InBlock, Effect: builtin.Changes, ArgsCaseSensitive: true,
		Params: append([]builtin.Param{
			{Name: "url", Type: types.String, Required: true, Positional: true, Doc: "the URL"},
			{Name: "local_file", Type: types.String, Required: true, Doc: "file or existing directory"},
		}, auth...),
		Run: runDownload,
	})
	r.Add(&builtin.Builtin{
		Name: "gx.upload", Doc: "Upload a local file with PUT, POST or PATCH.",
		Where: builtin.InBlock, Effect: builtin.Changes, ArgsCaseSensitive: true,
		Params: append([]builtin.Param{
			{Name: "url", Type: types.String, Required: true, Positional: true, Doc: "the URL"},
			{Name: "local_file", Type: types.String, Required: true, Doc: "file to upload"},
			{Name: "method", Type: types.String, Required: true, Enum: []string{"PUT", "POST", "PATCH", "put", "post", "patch"}, Doc: "HTTP method"},
		}, auth...),
		Run: runUpload,
	})
}

func runEcho(c builtin.Ctx, a builtin.Args) error {
	_, err := fmt.Fprintln(c.Stdout(), c.Mask(a.Str("value")))
	return err
}

func runAssert(c builtin.Ctx, a builtin.Args) error {
	v, e := a.Str("value"), a.Str("expect")
	want := a.Bool("result")
	if (v == e) == want {
		if !c.Quiet() {
			fmt.Fprintf(c.Stdout(), "assert true : %s\n", c.Mask(v))
		}
		return nil
	}
	if msg := a.Str("err"); msg != "" {
		return fmt.Errorf("assert failed: %s", c.Mask(msg))
	}
	if want {
		return fmt.Errorf("assert failed: value %q is not the expected %q", c.Mask(v), c.Mask(e))
	}
	return fmt.Errorf("assert failed: value %q equals %q (result: false)", c.Mask(v), c.Mask(e))
}

func runReadStdin(c builtin.Ctx, a builtin.Args) error {
	if p := a.Str("prompt"); p != "" {
		fmt.Fprint(c.Stdout(), c.Mask(p))
	}
	// One byte at a time: nothing past the line is consumed, so later
	// reads of the same input still see it.
	var line strings.Builder
	buf := make([]byte, 1)
	in := c.Stdin()
	for {
		n, err := in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			line.WriteByte(buf[0])
		}
		if err != nil {
			if line.Len() == 0 {
				return fmt.Errorf("read_stdin: no input (%w)", err)
			}
			break
		}
	}
	c.Set(a.Str("name"), value.Str(strings.TrimSpace(line.String())))
	return nil
}

func runRun(c builtin.Ctx, a builtin.Args) error {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	flows := split(a.Str("flow"))
	if len(flows) == 0 {
		return fmt.Errorf("gx.run: no flow given")
	}
	return c.RunNested(builtin.NestedRun{
		Dir:     a.Str("local"),
		Conf:    a.Str("conf"),
		Envs:    split(a.Str("env")),
		Flows:   flows,
		Isolate: a.Bool("isolate"),
	})
}
