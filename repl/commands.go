package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/syntax"
	"github.com/gxl-dev/gxl/runtime"
)

// replFile is the name input typed at the prompt has in positions.
const replFile = "repl"

// Help is the text of :help (docs/repl.md describes the same commands).
const Help = `Input is a GXL statement (x = "a"; gx.echo("hi ${x}"); if ... { }), a
built-in or fn call, or an expression (${X}, "text ${X}", ${X} == "a").
Input continues over lines until its braces balance; Ctrl-C drops it.

  :load FILE          load and check a file (breakpoints are kept)
  :reload             load the current file again
  :env NAME           select the env of runs and of the session variables
  :vars [PATTERN]     variables in scope (glob or part of the name); secrets masked
  :set NAME = VALUE   set a variable (at the top level also for later runs, like --set)
  :run FLOW           run a flow (stops at breakpoints and on failures)
  :plan FLOW          what a run of FLOW would execute, resolved; runs nothing
  :break FLOW         stop at the first statement of a flow (mod.flow or main's flow)
  :break FILE:LINE    stop at the statement on a line
  :breaks             list breakpoints
  :delete N           delete breakpoint N
  :step               run the next statement, stepping into fn calls
  :next               run the next statement, stepping over fn calls
  :continue           resume; at a failure: let the run fail (undo flows run)
  :retry              at a failure: run the failed statement again
  :skip               at a failure: go on after the failed statement
  :abort              stop the run (undo flows of an open transaction run)
  :where              the flow stack with positions
  :list               the source around the current statement
  :help               this text
  :quit               leave (a paused run is aborted first)
Ctrl-C while a statement runs cancels that statement; the prompt opens on it.
`

// command runs a `:` command. At a stop it may return how to resume.
func (s *Session) command(text string, st *stop) action {
	name, arg, _ := strings.Cut(text, " ")
	arg = strings.TrimSpace(arg)
	paused := func() bool {
		if st == nil {
			s.printErr(fmt.Errorf("%s: no run is paused; start one with :run FLOW", name))
			return false
		}
		return true
	}
	idle := func() bool {
		if st != nil {
			s.printErr(fmt.Errorf("%s: a run is paused; :continue or :abort it first", name))
			return false
		}
		return true
	}
	switch name {
	case ":help", ":h", ":?":
		fmt.Fprint(s.out, Help)
	case ":quit", ":q", ":exit":
		s.quitting = true
		if st != nil {
			return actQuit
		}
	case ":load":
		if idle() {
			if arg == "" {
				s.printErr(errors.New(":load takes a file"))
				break
			}
			s.load(arg)
		}
	case ":reload":
		if idle() {
			if s.file == "" {
				s.printErr(errors.New(":reload: no file is loaded; use :load FILE"))
				break
			}
			s.load(s.file)
		}
	case ":env":
		if idle() {
			s.selectEnv(arg)
		}
	case ":vars":
		s.showVars(arg)
	case ":set":
		s.set(arg, st)
	case ":run":
		if idle() {
			s.run(arg)
		}
	case ":plan":
		s.plan(arg)
	case ":break", ":b":
		if err := s.addBreak(arg); err != nil {
			s.printErr(err)
		}
	case ":breaks":
		s.listBreaks()
	case ":delete", ":d":
		if err := s.deleteBreak(arg); err != nil {
			s.printErr(err)
		}
	case ":where", ":w", ":bt":
		if paused() {
			s.where(st)
		}
	case ":list", ":l":
		if paused() {
			s.list(st)
		}
	case ":step", ":s", ":next", ":n":
		if !paused() {
			break
		}
		if st.err != nil {
			s.printErr(fmt.Errorf("%s: the statement failed: :retry it, :skip it, or :continue to let the run fail", name))
			break
		}
		if name == ":step" || name == ":s" {
			return actStep
		}
		return actNext
	case ":continue", ":c":
		if paused() {
			return actContinue
		}
	case ":retry", ":skip":
		if !paused() {
			break
		}
		if st.err == nil {
			s.printErr(fmt.Errorf("%s: nothing failed here (it works at a failure)", name))
			break
		}
		if name == ":retry" {
			return actRetry
		}
		return actSkip
	case ":abort":
		if paused() {
			return actAbort
		}
	default:
		d := diag.DidYouMean(name, commands)
		if d != "" {
			d = " (" + d + ")"
		}
		s.printErr(fmt.Errorf("unknown command %s%s; :help lists them", name, d))
	}
	return actNone
}

// load loads and checks a file; a file with errors leaves the session as it was.
func (s *Session) load(file string) {
	if s.cfg.Load == nil {
		s.printErr(errors.New("this session cannot load files"))
		return
	}
	prog, extra, err := s.cfg.Load(file)
	if err != nil || prog == nil {
		if err != nil && err.Error() != "" {
			s.printErr(err)
		}
		fmt.Fprintf(s.out, "%s was not loaded; the session goes on with what it had\n", file)
		return
	}
	s.file = file
	s.setProgram(prog, extra)
	var keep []string
	for _, e := range s.envs {
		if s.hasEnv(e) {
			keep = append(keep, e)
		}
	}
	s.envs = keep
	if len(s.envs) == 0 && s.hasEnv("default") {
		s.envs = []string{"default"}
	}
	s.resetScope()
	for _, b := range s.breaks {
		if err := s.resolveBreak(b, false); err != nil {
			fmt.Fprintf(s.out, "breakpoint %d (%s) does not resolve: %v\n", b.id, b.spec, err)
		}
	}
	fmt.Fprintf(s.out, "%s\n", s.describeProgram())
}

// selectEnv selects the env of runs and rebuilds the session variables.
func (s *Session) selectEnv(arg string) {
	if arg == "" {
		if len(s.envs) == 0 {
			fmt.Fprintln(s.out, "no env selected")
		} else {
			fmt.Fprintf(s.out, "env %s\n", strings.Join(s.envs, ","))
		}
		return
	}
	var envs []string
	for _, n := range strings.Split(arg, ",") {
		n = strings.TrimSpace(n)
		if _, err := runtime.ResolveEnv(s.prog, n); err != nil {
			s.printErr(err)
			return
		}
		envs = append(envs, n)
	}
	s.envs = envs
	s.resetScope()
	fmt.Fprintf(s.out, "env %s selected; the session variables were rebuilt\n", strings.Join(envs, ","))
}

// showVars lists variables whose name matches a glob or contains the pattern.
func (s *Session) showVars(pattern string) {
	vars := s.scope()
	pat := strings.ToLower(pattern)
	m := vars.Map()
	var names []string
	for n := range m {
		ln := strings.ToLower(n)
		if pat != "" {
			if strings.ContainsAny(pat, "*?[") {
				if ok, _ := path.Match(pat, ln); !ok {
					continue
				}
			} else if !strings.Contains(ln, pat) {
				continue
			}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		fmt.Fprintln(s.out, "no variables match")
		return
	}
	for _, n := range names {
		fmt.Fprintf(s.out, "%s = %s\n", n, formatValue(m[n], vars))
	}
}

// set parses NAME = VALUE; VALUE is a GXL value (or, when it is not one,
// the text itself, as with --set).
func (s *Session) set(arg string, st *stop) {
	name, val, ok := strings.Cut(arg, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t${}\"") {
		s.printErr(errors.New(`:set takes NAME = VALUE, e.g. :set REPLICAS = 3 or :set TAG = "v2"`))
		return
	}
	val = strings.TrimSpace(val)
	vars := s.scope()
	runner := s.runner
	if st != nil && st.runr != nil {
		runner = st.runr
	}
	v, err := s.parseValue(val, vars, runner)
	if err != nil {
		s.printErr(err)
		return
	}
	vars.Replace(name, v) // the user wins over a --set too
	v, _ = vars.Get(name) // as stored: a SEC_* name makes it secret
	if st == nil {
		s.sets[name] = v
	}
	fmt.Fprintf(s.out, "%s = %s\n", name, formatValue(v, vars))
}

// parseValue reads a value typed after :set.
func (s *Session) parseValue(text string, vars *runtime.Scope, runner *runtime.Runner) (value.Value, error) {
	at := diag.Pos{File: replFile, Line: s.replLine, Col: 1}
	s.replSrc.WriteString(text + "\n")
	s.replLine++
	if p, ds := parseInput(text, at); p != nil && p.kind == kindValue && !ds.HasErrors() {
		return runner.Eval(vars, p.value)
	}
	// Not GXL: the text as --set reads it.
	return value.ParseScalar(text), nil
}

// plan prints what a run of flows would execute, down to statements, as
// gxl plan prints it (runtime.Preview): nothing runs.
func (s *Session) plan(arg string) {
	flows := strings.Fields(strings.ReplaceAll(arg, ",", " "))
	if len(flows) == 0 {
		s.printErr(errors.New(":plan takes a flow name"))
		return
	}
	opt := s.cfg.Options
	opt.Sets = s.sets
	opt.Extra = s.cfg.Extra
	opt.Stdout, opt.Stderr, opt.Stdin = io.Discard, io.Discard, strings.NewReader("")
	ps, err := runtime.New(s.prog, opt).Preview(context.Background(), s.envs, flows, runtime.PreviewOptions{})
	if err != nil {
		s.printErr(err)
		return
	}
	for _, p := range ps {
		runtime.WritePreview(s.out, p)
	}
}

// run runs flows with the session as hooks and reports the outcome.
func (s *Session) run(arg string) {
	flows := strings.Fields(strings.ReplaceAll(arg, ",", " "))
	if len(flows) == 0 {
		s.printErr(errors.New(":run takes a flow name"))
		return
	}
	for _, f := range flows {
		if _, err := runtime.ResolveFlow(s.prog, f); err != nil {
			s.printErr(err)
			return
		}
	}
	opt := s.cfg.Options
	opt.Hooks = s
	opt.Sets = s.sets
	opt.Extra = s.cfg.Extra
	r := runtime.New(s.prog, opt)
	s.Attach(r)
	err := r.Run(context.Background(), s.envs, flows)
	s.active = nil
	s.setRunning(false)
	s.mode = modeRun
	s.decided = nil
	if err != nil {
		fmt.Fprint(s.out, "run failed: ")
		s.printErr(err)
		return
	}
	fmt.Fprintf(s.out, "run of %s finished\n", strings.Join(flows, ", "))
}

// ---- output -------------------------------------------------------------

// printErr prints an error with its position and source line.
func (s *Session) printErr(err error) {
	var se *runtime.StepError
	var d diag.Diagnostic
	var list diag.ListError
	switch {
	case errors.As(err, &se):
		// The run's one diagnostic for a failed step (hint, flow stack).
		d := se.Diagnostic()
		d.Summary = s.scope().Mask(d.Summary)
		s.renderDiags(diag.List{d})
	case errors.As(err, &d):
		s.renderDiags(diag.List{d})
	case errors.As(err, &list):
		s.renderDiags(diag.List(list))
	default:
		fmt.Fprintf(s.out, "error: %s\n", s.scope().Mask(err.Error()))
	}
}

// renderDiags prints diagnostics with source snippets (the input's too).
func (s *Session) renderDiags(ds diag.List) {
	for i := range ds {
		if ds[i].Span.Start.File == replFile && ds[i].Code == syntax.CodeIncomplete {
			ds[i].Hint = "the input is incomplete"
		}
	}
	var b bytes.Buffer
	for _, d := range ds.Normalize() {
		if d.Span.IsValid() || d.Span.Start.File != "" {
			diag.RenderOne(&b, d, s.srcs, diag.RenderOptions{Color: s.cfg.Color})
			continue
		}
		// No position (a name given to a command): the message alone.
		fmt.Fprintf(&b, "%s: %s\n", d.Severity, d.Summary)
		if d.Hint != "" {
			fmt.Fprintf(&b, "  = hint: %s\n", d.Hint)
		}
	}
	s.out.Write(b.Bytes())
}

// sources gives the renderer the program's files, the prompt's input and
// any other file from disk.
type sources struct {
	prog *check.Program
	repl *bytes.Buffer
	disk diag.FileSources
}

func (s *sources) Source(file string) []byte {
	if file == replFile {
		return s.repl.Bytes()
	}
	if src, ok := s.prog.Sources[file]; ok {
		return src
	}
	return s.disk.Source(file)
}

// line returns line n (1-based) of file.
func (s *sources) line(file string, n int) (string, bool) {
	src := s.Source(file)
	if src == nil || n < 1 {
		return "", false
	}
	lines := strings.Split(string(src), "\n")
	if n > len(lines) {
		return "", false
	}
	return strings.TrimRight(lines[n-1], "\r"), true
}
