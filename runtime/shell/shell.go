// Package shell runs the command lines of a GXL program (gx.cmd,
// gx.read_cmd, gx.shell, `$ ...` statements and activity executers): the
// runtime and the gx built-ins both use it.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	gsyntax "github.com/gxl-dev/gxl/lang/syntax"
)

// ShellOptions control RunShell.
type ShellOptions struct {
	Quiet   bool          // do not echo the command line and output
	Silence bool          // do not echo the command line
	Timeout time.Duration // 0: none
	Dir     string        // working directory ("" = Ctx.Dir())
	Expect  []int         // accepted exit codes (default 0)
	// Retry says how often a failing command runs (the zero Policy: once).
	Retry retry.Policy
	// Extra are variables visible to the command in addition to the
	// program's (activity parameters, gx.shell out_var).
	Extra map[string]string
	// Capture keeps stdout for the caller (gx.read_cmd) instead of printing it.
	Capture bool
}

// ShellResult is what a command produced.
type ShellResult struct {
	ExitCode int
	// Stdout is the standard output, except for a quiet command that does
	// not capture it: that one writes to /dev/null.
	Stdout string
	Stderr string
}

// maxCapture bounds what is read back from a capture file: its tail.
const maxCapture = 16 << 20

// readCapture reads a capture file back (at most its last maxCapture
// bytes).
func readCapture(f *os.File) string {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return ""
	}
	off := max(st.Size()-maxCapture, 0)
	b := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(b, off)
	return string(b[:n])
}

// devNull is opened once and shared: a child process gets it as a plain
// file descriptor for its standard input (and the standard output of a
// quiet command), where a nil reader or a discarding writer would cost
// an open, or a pipe and a copying goroutine, per command.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return os.OpenFile(os.DevNull, os.O_RDWR, 0)
})

// PrepareCommand rewrites the ${...} references of a command text into
// references to fresh shell variables, according to the quoting context of
// each reference, and returns the rewritten text and the variables' values
// (spec I.4): unquoted → $__GXL_n (so `-d 3` still splits into two words and
// an empty value gives none), inside double quotes → $__GXL_n, inside single
// quotes → the value as a literal with quotes escaped. Values never become
// shell code.
func PrepareCommand(text string, lookup func(name string) (value.Value, bool)) (string, map[string]string, error) {
	parts, err := gsyntax.ParseString(text)
	if err != nil {
		return "", nil, err
	}
	var out strings.Builder
	vals := map[string]string{}
	const (
		none = iota
		single
		double
	)
	state := none
	escaped := false
	for _, p := range parts {
		if p.Var == nil {
			for i := 0; i < len(p.Text); i++ {
				ch := p.Text[i]
				out.WriteByte(ch)
				if escaped {
					escaped = false
					continue
				}
				switch state {
				case none:
					switch ch {
					case '\\':
						escaped = true
					case '\'':
						state = single
					case '"':
						state = double
					}
				case single:
					if ch == '\'' {
						state = none
					}
				case double:
					switch ch {
					case '\\':
						escaped = true
					case '"':
						state = none
					}
				}
			}
			continue
		}
		v, ok := lookup(p.Var.Name)
		var s string
		switch {
		case ok:
			s = v.String()
		case p.Var.Default != nil:
			s = *p.Var.Default
		default:
			return "", nil, &MissingVarError{Name: p.Var.Name, Col: p.Var.Span().Start.Col}
		}
		if state == single {
			out.WriteString(strings.ReplaceAll(s, "'", `'\''`))
			continue
		}
		name := "__GXL_" + strconv.Itoa(len(vals))
		vals[name] = s
		out.WriteString("${" + name + "}")
	}
	return out.String(), vals, nil
}

// StoppedError is a command killed because its caller's context stopped
// (a flow's timeout, a signal). Its message leaves the reason to the
// cause, which whoever stopped the run reports.
type StoppedError struct {
	Command string
	Cause   error
}

func (e *StoppedError) Error() string { return "command stopped: " + e.Command }

// Unwrap gives the cause (a builtin.TimeoutError, a builtin.SignalError,
// context.Canceled).
func (e *StoppedError) Unwrap() error { return e.Cause }

// MissingVarError reports a ${X} in a command that no variable defines.
type MissingVarError struct {
	Name string
	Col  int
}

func (e *MissingVarError) Error() string {
	return fmt.Sprintf("variable ${%s} (column %d of the command) is not defined; give a default ${%s:value} or define it", e.Name, e.Col, e.Name)
}

// Lookup resolves a variable the way interpolation does: GXL variables
// first, then the process environment.
func Lookup(c builtin.Ctx, name string) (value.Value, bool) {
	if v, ok := c.Lookup(name); ok {
		return v, true
	}
	if s, ok := os.LookupEnv(name); ok {
		return value.Str(s), true
	}
	return value.Value{}, false
}

// RunShell runs a command text (with unexpanded ${...} references) through
// the in-process POSIX shell, trying again as opt.Retry says (a missing
// variable is not tried again: the next try would fail the same way).
func RunShell(c builtin.Ctx, text string, opt ShellOptions) (ShellResult, error) {
	var res ShellResult
	err := retry.Do(c.Context(), opt.Retry, func(context.Context, int) error {
		var err error
		res, err = runShellOnce(c, text, opt)
		var mv *MissingVarError
		if errors.As(err, &mv) {
			return retry.Permanent(err)
		}
		return err
	}, retry.OnRetry(func(next int, wait time.Duration, err error) {
		c.Logf("retry: attempt %d of %d after %s: %v", next, opt.Retry.Attempts, wait, err)
	}))
	return res, err
}

// runShellOnce runs a command text (with unexpanded ${...} references) through
// the in-process POSIX shell. It prints the (masked) command line and the
// output unless quiet, and fails on an unexpected exit status with the tail
// of stderr.
func runShellOnce(c builtin.Ctx, text string, opt ShellOptions) (ShellResult, error) {
	lookup := func(n string) (value.Value, bool) {
		if s, ok := opt.Extra[n]; ok {
			return value.Str(s), true
		}
		for k, s := range opt.Extra {
			if strings.EqualFold(k, n) {
				return value.Str(s), true
			}
		}
		return Lookup(c, n)
	}
	script, vals, err := PrepareCommand(text, lookup)
	if err != nil {
		return ShellResult{}, err
	}
	quiet := opt.Quiet || c.Quiet()
	shown := c.Mask(displayCommand(text, lookup))
	if !quiet && !opt.Silence {
		c.Logf("cmd: %s", shown)
	}
	// A command line of plain words runs without the shell (directArgs);
	// anything else is parsed and run by it.
	args := directArgs(script)
	var file *syntax.File
	if args == nil {
		if file, err = syntax.NewParser().Parse(strings.NewReader(script), ""); err != nil {
			return ShellResult{}, fmt.Errorf("shell syntax error in %q: %w", shown, err)
		}
	}
	env := c.Environ()
	for k, v := range opt.Extra {
		env = append(env, strings.ToUpper(k)+"="+v)
	}
	for k, v := range vals {
		env = append(env, k+"="+v)
	}
	dir := opt.Dir
	if dir == "" {
		dir = c.Dir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.Dir(), dir)
	}
	// Where the output goes: shown (masked) and kept unless quiet; kept
	// in a capture file when only gxl reads it (captured stdout, stderr
	// of a quiet command for the error message); /dev/null when nobody
	// does. Files are handed to the child as they are; any other writer
	// costs a pipe and a copying goroutine per command.
	var stdout, stderr bytes.Buffer
	var outW, errW io.Writer = &stdout, &stderr
	// What reaches the user goes through one streaming masker per stream,
	// so a secret printed in pieces is hidden too; the held-back tail is
	// flushed when the command ends.
	var shownOut, shownErr *mask.Writer
	var outF, errF *os.File
	var inR io.Reader
	null, nullErr := devNull()
	if nullErr == nil {
		inR = null
	}
	switch {
	case opt.Capture:
		if outF = captureFile(); outF != nil {
			defer outF.Close()
			outW = outF
		}
	case !quiet:
		shownOut = c.Masker().Writer(c.Stdout())
		outW = io.MultiWriter(&stdout, shownOut)
	case nullErr == nil:
		outW = null
	}
	if !quiet {
		shownErr = c.Masker().Writer(c.Stderr())
		errW = io.MultiWriter(&stderr, shownErr)
	} else if errF = captureFile(); errF != nil {
		defer errF.Close()
		errW = errF
	}
	if args != nil {
		if dir, err = commandDir(dir); err != nil {
			return ShellResult{}, err
		}
	}
	ctx := c.Context()
	var ownTimeout error
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ownTimeout = &builtin.TimeoutError{What: "command", After: opt.Timeout}
		ctx, cancel = context.WithTimeoutCause(ctx, opt.Timeout, ownTimeout)
		defer cancel()
	}
	var runErr error
	ran := false
	if args != nil {
		ran, runErr = runDirect(ctx, dir, env, args, inR, outW, errW)
		if !ran {
			// Not executable by the kernel: the shell runs it.
			file, err = syntax.NewParser().Parse(strings.NewReader(script), "")
			if err != nil {
				return ShellResult{}, fmt.Errorf("shell syntax error in %q: %w", shown, err)
			}
		}
	}
	if !ran {
		// The shell's background jobs (`cmd &`, process substitutions)
		// may write after the line ends: they get gated writers that
		// drop what comes after the command finished (waitJobs).
		jobOut, closeOut := gate(outW)
		jobErr, closeErr := gate(errW)
		jobCtx, stopJobs := context.WithCancel(ctx)
		runner, err := interp.New(
			interp.Env(expand.ListEnviron(env...)),
			interp.Dir(dir),
			interp.StdIO(inR, jobOut, jobErr),
			execHandlers(),
		)
		if err != nil {
			stopJobs()
			return ShellResult{}, err
		}
		jobs := mayStartJobs(file)
		if jobs {
			waitInSubsts(file)
		}
		runErr = runner.Run(jobCtx, file)
		if jobs {
			waitJobs(jobCtx, runner, JobGrace)
		}
		stopJobs()
		closeOut()
		closeErr()
	}
	for _, w := range []*mask.Writer{shownOut, shownErr} {
		if w != nil {
			w.Close()
		}
	}
	res := ShellResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if outF != nil {
		res.Stdout = readCapture(outF)
	}
	if errF != nil {
		res.Stderr = readCapture(errF)
	}
	var es interp.ExitStatus
	switch {
	case runErr == nil:
	case ctx.Err() != nil:
		// Killed because the time ran out or the run was cancelled
		// (whatever exit status the kill left).
		cause := context.Cause(ctx)
		if cause == ownTimeout {
			return res, fmt.Errorf("%w: %s", cause, shown)
		}
		return res, &StoppedError{Command: shown, Cause: cause}
	case errors.As(runErr, &es):
		res.ExitCode = int(es)
	default:
		return res, fmt.Errorf("command %s: %w", shown, runErr)
	}
	expect := opt.Expect
	if len(expect) == 0 {
		expect = []int{0}
	}
	for _, e := range expect {
		if e == res.ExitCode {
			return res, nil
		}
	}
	// Masked before it is cut (a secret cut in two would no longer be
	// recognised), cut at a character's first byte.
	tail := c.Mask(strings.TrimSpace(res.Stderr))
	if len(tail) > 800 {
		i := len(tail) - 800
		for i < len(tail) && !utf8.RuneStart(tail[i]) {
			i++
		}
		tail = "…" + tail[i:]
	}
	msg := fmt.Sprintf("command failed with exit status %d: %s", res.ExitCode, shown)
	if tail != "" {
		msg += "\n" + tail
	}
	return res, errors.New(msg)
}

// JobGrace is how long a command line's background jobs may run on after
// the line ended: gxl waits for them that long (their output is shown
// and kept), then stops the ones still running as it stops a timed-out
// command (SIGINT, SIGKILL KillTimeout later) and drops what they write
// afterwards. It is the time gxl gives orphans holding the output
// (KillTimeout, where signals exist); docs/gx.md (gx.cmd) documents it.
const JobGrace = 2 * time.Second

// waitJob is the statement that waits for a runner's background jobs,
// `builtin wait` (so that a function named wait does not stand in).
var waitJob = &syntax.Stmt{Cmd: &syntax.CallExpr{Args: []*syntax.Word{
	{Parts: []syntax.WordPart{&syntax.Lit{Value: "builtin"}}},
	{Parts: []syntax.WordPart{&syntax.Lit{Value: "wait"}}},
}}}

// waitJobs waits for the background jobs the runner started (its `&`
// statements and process substitutions; not those of its subshells),
// at most grace, or until ctx ends (which stops them). The shell's wait
// ends once every job has: a job stopped later still ends its goroutine
// by itself.
func waitJobs(ctx context.Context, runner *interp.Runner, grace time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Run(ctx, waitJob)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// mayStartJobs says whether a command line may leave background jobs
// when it ends: it has a `&` (or `&|`, coproc) statement or a process
// substitution, or it runs code it reads at run time (eval, source, .,
// or a command whose name is not a plain word). The other lines end
// with nothing left to wait for, without the cost of asking the shell.
func mayStartJobs(file *syntax.File) bool {
	may := false
	syntax.Walk(file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Stmt:
			may = may || n.Background || n.Disown || n.Coprocess
		case *syntax.ProcSubst, *syntax.CoprocClause:
			may = true
		case *syntax.CallExpr:
			if len(n.Args) > 0 {
				switch name := n.Args[0].Lit(); name {
				case "", "eval", "source", ".":
					may = true
				}
			}
		}
		return !may
	})
	return may
}

// waitInSubsts makes each command substitution, and each subshell
// inside one, wait for the background jobs it starts that write to the
// substitution, as bash does (it reads the substitution to its end, which
// these jobs hold open): the shell gxl embeds returns without them, and
// they would write into its reused expansion buffer while it expands
// other words. A job whose standard output goes elsewhere
// (`$(server > log &)`) is not waited for, as in bash. The list's exit
// status is kept.
func waitInSubsts(file *syntax.File) {
	var lists []*[]*syntax.Stmt
	depth := 0 // of command substitutions around the node
	var open []bool
	syntax.Walk(file, func(n syntax.Node) bool {
		if n == nil {
			if open[len(open)-1] {
				depth--
			}
			open = open[:len(open)-1]
			return true
		}
		_, isSubst := n.(*syntax.CmdSubst)
		switch n := n.(type) {
		case *syntax.CmdSubst:
			if writingJobs(n.Stmts) {
				lists = append(lists, &n.Stmts)
			}
		case *syntax.Subshell:
			if depth > 0 && writingJobs(n.Stmts) {
				lists = append(lists, &n.Stmts)
			}
		}
		open = append(open, isSubst)
		if isSubst {
			depth++
		}
		return true
	})
	for _, l := range lists {
		f, err := syntax.NewParser().Parse(strings.NewReader("__GXL_STATUS=$?; builtin wait; (exit $__GXL_STATUS)"), "")
		if err != nil {
			return
		}
		*l = append(*l, f.Stmts...)
	}
}

// writingJobs says whether a list of statements starts, itself (not in
// its subshells or substitutions), a background job whose standard
// output is not redirected.
func writingJobs(stmts []*syntax.Stmt) bool {
	found := false
	for _, st := range stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.Subshell, *syntax.CmdSubst, *syntax.ProcSubst, *syntax.FuncDecl:
				return false
			case *syntax.Stmt:
				if redirectsStdout(n) {
					return false
				}
				found = found || n.Background || n.Disown
			}
			return !found
		})
	}
	return found
}

// redirectsStdout says whether a statement sends its standard output
// elsewhere (`> f`, `>> f`, `>| f`, `&> f`, `&>> f`, `>&2`).
func redirectsStdout(st *syntax.Stmt) bool {
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.RdrAll, syntax.AppAll:
			return true
		case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.DplOut:
			if r.N == nil || r.N.Value == "1" {
				return true
			}
		}
	}
	return false
}

// gatedWriter hands a writer to the shell's background jobs: writes are
// serialised, and once closed it drops them (reporting them written, as
// output nobody reads any more), so that nothing a job writes after its
// command ended touches the buffers and maskers gxl then reads.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

// gate returns the writer the shell gets for w, and the function that
// closes it. A file is handed out as it is (a child writes to it
// directly; the kernel orders the writes, and reading it back races with
// nothing in Go).
func gate(w io.Writer) (io.Writer, func()) {
	if _, ok := w.(*os.File); ok {
		return w, func() {}
	}
	g := &gatedWriter{w: w}
	return g, func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
	}
}

// direct lets commands of plain words run without the shell (the tests
// turn it off to compare both paths).
var direct = true

// directArgs returns the words of a command line that means the same
// without a shell, or nil: one simple command of plain words (letters,
// digits and _ - . / : , + @ % =, separated by spaces or tabs: no
// variable, quote, escape, glob, tilde, brace, comment, redirection,
// pipe, list or subshell), whose first word is neither a shell built-in
// nor a reserved word nor an assignment. Such a line the shell would
// split into exactly these words and run as an external command found in
// PATH, as make and ninja do without a shell.
func directArgs(script string) []string {
	if !direct {
		return nil
	}
	for i := 0; i < len(script); i++ {
		switch ch := script[i]; {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		case strings.IndexByte("_-./:,+@%= \t", ch) >= 0:
		default:
			return nil
		}
	}
	args := strings.FieldsFunc(script, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(args) == 0 || interp.IsBuiltin(args[0]) || shellWords[args[0]] || strings.IndexByte(args[0], '=') >= 0 {
		return nil
	}
	return args
}

// shellWords are the words the shell's parser reads as syntax, not as a
// command name, when they come first (bash's reserved words, and the
// declarations mvdan.cc/sh parses itself).
var shellWords = map[string]bool{
	"if": true, "then": true, "elif": true, "else": true, "fi": true,
	"case": true, "esac": true, "for": true, "select": true, "while": true,
	"until": true, "do": true, "done": true, "in": true, "function": true,
	"time": true, "coproc": true, "nameref": true,
}

// commandDir checks a command's working directory as interp.Dir does,
// with its messages, and returns it absolute.
func commandDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("could not get absolute dir: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("could not stat: %w", err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return dir, nil
}

// displayCommand renders the command with values substituted, for logs
// (masked by the caller).
func displayCommand(text string, lookup func(string) (value.Value, bool)) string {
	parts, err := gsyntax.ParseString(text)
	if err != nil {
		return text
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		if v, ok := lookup(p.Var.Name); ok {
			b.WriteString(v.String())
		} else {
			b.WriteString(p.Var.Source())
		}
	}
	return b.String()
}
