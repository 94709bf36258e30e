// Package repl is gxl's REPL debugger: a prompt that evaluates GXL
// statements, built-in calls and expressions against a loaded program,
// and a debugger that stops runs at breakpoints, steps through them and
// drops in on failures. It drives the runtime only through its step hooks
// (runtime.Hooks, runtime.StepContexter) and its evaluation entry points
// (Runner.Exec, Eval, EvalCond, ExportEnv): there is no second interpreter.
//
// `gxl repl` runs a Session's Loop; `gxl run --debug` passes a Session as
// the run's hooks, so the prompt appears only when the run stops.
package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
)

// Config configures a Session.
type Config struct {
	// File is the loaded workflow ("" when none).
	File string
	// Program is File, loaded and checked (nil: an empty program).
	Program *check.Program
	// Extra are the typed variables of a system workflow.
	Extra map[string]value.Value
	// Load loads and checks a file, printing its diagnostics; used by
	// :load and :reload.
	Load func(file string) (*check.Program, map[string]value.Value, error)
	// Registry is the built-in registry (completion of built-ins).
	Registry *builtin.Registry
	// Envs are the selected envs (default: "default" when the program has it).
	Envs []string
	// Sets are --set values, given to every run.
	Sets map[string]value.Value
	// Breaks are breakpoints to set at the start (FLOW or FILE:LINE).
	Breaks []string
	// Options are the runner options of runs (Stdout, Stderr, Dir, DryRun,
	// Log, Journal...); the session sets Hooks, Sets and Extra.
	Options runtime.Options
	// HostFor, when set, gives the host settings (Options.Host) of runs of
	// a loaded file: :load of a system workflow moves the system root.
	HostFor func(file string) builtin.Host
	// Stdin, Stdout and Stderr are the session's streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Editor reads the prompt's lines; nil: made on first use by NewEditor.
	Editor LineEditor
	// NewEditor makes the line editor when one is first needed.
	NewEditor func(c *Completer) (LineEditor, error)
	// Color renders diagnostics with ANSI colours.
	Color bool
	// HandleInterrupt makes the session catch SIGINT (Ctrl-C) and cancel the
	// running statement instead of the process.
	HandleInterrupt bool
}

// mode says when the debugger stops next.
type mode int

const (
	modeRun      mode = iota // at breakpoints and failures
	modeStep                 // at the next statement
	modeNext                 // at the next statement no deeper than nextDepth
	modeDetached             // never again (input ended, or the run is aborted)
)

// action is what the prompt of a stop resumes with.
type action int

const (
	actNone action = iota
	actContinue
	actStep
	actNext
	actRetry
	actSkip
	actAbort
	actQuit
)

// errAborted stops a run from the debugger; the runner runs the undo flows.
var errAborted = errors.New("run aborted from the debugger")

// stop is a paused run: a breakpoint, a step, or a failure.
type stop struct {
	ev   *runtime.Event
	err  error // the failure; nil at a breakpoint or step
	bp   *breakpoint
	runr *runtime.Runner
	// interrupted: the failure is Ctrl-C's.
	interrupted bool
}

// Session is one REPL/debugger session.
type Session struct {
	cfg    Config
	prog   *check.Program
	loaded bool // prog was loaded from file (else: the empty program)
	file   string
	envs   []string
	sets   map[string]value.Value

	out, errw io.Writer
	editor    LineEditor
	comp      *Completer
	srcs      *sources

	// vars is the session scope that top-level input runs in.
	vars   *runtime.Scope
	runner *runtime.Runner // evaluates input (no hooks)

	// Input is numbered as lines of a virtual file "repl" so that errors
	// in it have positions like any other.
	replSrc  bytes.Buffer
	replLine int

	breaks    []*breakpoint
	nextBP    int
	badBreaks int

	// Debugger state of the current run.
	active    *runtime.Runner
	mode      mode
	nextDepth int
	lastLine  diag.Pos
	decided   error // the failure already answered (outer statements see it again)
	quitting  bool
	stopped   *stop

	// Ctrl-C cancels the innermost running statement.
	mu          sync.Mutex
	cancels     []context.CancelFunc
	interrupted bool
	running     bool // a run is under way (Ctrl-C between statements pauses it)
	pauseReq    bool
	inputDone   []func()
	sigs        chan os.Signal
	sigDone     chan struct{}
}

// New makes a session. Nothing is read until Loop or a stop.
func New(cfg Config) *Session {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	s := &Session{cfg: cfg, file: cfg.File, out: cfg.Stdout, errw: cfg.Stderr, editor: cfg.Editor, replLine: 1}
	s.sets = map[string]value.Value{}
	for k, v := range cfg.Sets {
		s.sets[k] = v
	}
	s.comp = NewCompleter(cfg.Program, cfg.Registry)
	s.setProgram(cfg.Program, cfg.Extra)
	s.envs = cfg.Envs
	if len(s.envs) == 0 && s.hasEnv("default") {
		s.envs = []string{"default"}
	}
	for _, b := range cfg.Breaks {
		if err := s.addBreak(b); err != nil {
			s.printErr(err)
			s.badBreaks++
		}
	}
	if cfg.HandleInterrupt {
		s.sigs = make(chan os.Signal, 1)
		s.sigDone = make(chan struct{})
		signal.Notify(s.sigs, os.Interrupt)
		go s.watchInterrupts(s.sigs, s.sigDone)
	}
	return s
}

func (s *Session) hasEnv(name string) bool {
	_, err := runtime.ResolveEnv(s.prog, name)
	return err == nil
}

// setProgram installs a loaded program (an empty one for nil).
func (s *Session) setProgram(p *check.Program, extra map[string]value.Value) {
	s.loaded = p != nil
	if p == nil {
		p, _ = check.CheckSource("(none)", nil, check.Options{Registry: s.cfg.Registry})
	}
	s.prog = p
	s.cfg.Extra = extra
	s.srcs = &sources{prog: p, repl: &s.replSrc}
	if s.cfg.HostFor != nil && s.loaded {
		s.cfg.Options.Host = s.cfg.HostFor(s.file)
	}
	opt := s.cfg.Options
	opt.Hooks = nil
	opt.Journal = nil
	opt.Sets = s.sets
	opt.Extra = extra
	s.runner = runtime.New(p, opt)
}

// resetScope rebuilds the session scope: bootstrap variables, --set
// values and the selected envs.
func (s *Session) resetScope() {
	vars, err := s.runner.Bootstrap()
	if err != nil {
		s.printErr(err)
		vars = runtime.NewScope()
	}
	s.vars = vars
	for _, name := range s.envs {
		e, err := runtime.ResolveEnv(s.prog, name)
		if err != nil {
			s.printErr(err)
			continue
		}
		if err := s.runner.ExportEnv(s.inputContext(), s.vars, e); err != nil {
			s.printErr(err)
		}
		s.endInput()
	}
}

// BadBreaks counts the breakpoints of Config.Breaks that did not resolve
// (each was reported).
func (s *Session) BadBreaks() int { return s.badBreaks }

// Close releases the terminal and the signal handler.
func (s *Session) Close() error {
	if s.sigs != nil {
		signal.Stop(s.sigs)
		close(s.sigDone)
		s.sigs = nil
	}
	if s.editor != nil {
		return s.editor.Close()
	}
	return nil
}

// Loop is `gxl repl`: read, evaluate, print until :quit or end of input.
func (s *Session) Loop() error {
	if err := s.ensureEditor(); err != nil {
		return err
	}
	s.resetScope()
	fmt.Fprintf(s.out, "gxl repl: %s. Type :help for commands, :quit to leave.\n", s.describeProgram())
	for !s.quitting {
		text, err := s.readInput("gxl> ")
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s.handle(text, nil)
	}
	return nil
}

func (s *Session) describeProgram() string {
	if !s.loaded {
		if s.file != "" {
			return s.file + " is not loaded (built-ins only; fix it and :reload)"
		}
		return "no file loaded (built-ins only)"
	}
	n := 0
	for _, m := range s.prog.Mods {
		n += len(m.Flows)
	}
	env := "no env"
	if len(s.envs) > 0 {
		env = "env " + strings.Join(s.envs, ",")
	}
	return fmt.Sprintf("%s loaded (%d modules, %d flows), %s", s.file, len(s.prog.Mods), n, env)
}

func (s *Session) ensureEditor() error {
	if s.editor != nil {
		return nil
	}
	s.refreshCompletion()
	if s.cfg.NewEditor != nil {
		e, err := s.cfg.NewEditor(s.comp)
		if err != nil {
			return err
		}
		s.editor = e
		return nil
	}
	s.editor = NewPlainEditor(s.cfg.Stdin, s.out)
	return nil
}

// readInput reads one input, continuing over lines until it is complete.
// Ctrl-C drops what was typed and asks again.
func (s *Session) readInput(prompt string) (string, error) {
	s.refreshCompletion()
	var lines []string
	for {
		p := prompt
		if len(lines) > 0 {
			p = strings.Repeat(".", len(prompt)-2) + "> "
		}
		line, err := s.editor.ReadLine(p)
		if errors.Is(err, ErrInterrupt) {
			lines = nil
			continue
		}
		if err != nil {
			if len(lines) > 0 && errors.Is(err, io.EOF) {
				return strings.Join(lines, "\n"), nil
			}
			return "", err
		}
		lines = append(lines, line)
		text := strings.Join(lines, "\n")
		if strings.HasPrefix(strings.TrimSpace(lines[0]), ":") || Complete(text) {
			// The history gets the input once it is whole, so that a
			// secret assigned over several lines is recognised.
			for _, l := range strings.Split(historyText(text, s.scope()), "\n") {
				s.editor.AddHistory(l)
			}
			return text, nil
		}
	}
}

// refreshCompletion tells the completer what is in scope now.
func (s *Session) refreshCompletion() {
	var ids []int
	for _, b := range s.breaks {
		ids = append(ids, b.id)
	}
	s.comp.update(s.prog, s.scope().Names(), ids)
}

// scope is the variable space input runs in: the paused run's, else the
// session's.
func (s *Session) scope() *runtime.Scope {
	if s.stopped != nil && s.stopped.ev.Vars != nil {
		return s.stopped.ev.Vars
	}
	if s.vars == nil {
		s.resetScope()
	}
	return s.vars
}

// handle evaluates one input; at a stop it may return how to resume.
func (s *Session) handle(text string, st *stop) action {
	t := strings.TrimSpace(text)
	if t == "" {
		return actNone
	}
	if strings.HasPrefix(t, ":") {
		return s.command(t, st)
	}
	s.evalGXL(text, st)
	return actNone
}

// evalGXL parses, checks and runs statements, or evaluates a value or a
// condition, in the current scope; results and errors are printed.
func (s *Session) evalGXL(text string, st *stop) {
	at := diag.Pos{File: replFile, Line: s.replLine, Col: 1}
	s.replSrc.WriteString(text + "\n")
	s.replLine += strings.Count(text, "\n") + 1
	p, ds := parseInput(text, at)
	if ds.HasErrors() || p == nil {
		s.renderDiags(ds)
		return
	}
	vars := s.scope()
	runner := s.runner
	var mod *check.Module
	if st != nil {
		mod = st.ev.Module
		if st.runr != nil {
			runner = st.runr
		}
	}
	switch p.kind {
	case kindStmts:
		if len(p.stmts) == 0 {
			return
		}
		if ds := s.prog.CheckStmts(mod, p.stmts); len(ds) > 0 {
			s.renderDiags(ds)
			if ds.HasErrors() {
				return
			}
		}
		err := runner.Exec(s.inputContext(), vars, mod, p.stmts)
		s.endInput()
		if err != nil {
			s.printErr(err)
		}
	case kindValue:
		v, err := runner.Eval(vars, p.value)
		if err != nil {
			s.printErr(err)
			return
		}
		fmt.Fprintf(s.out, "= %s\n", formatValue(v, vars))
	case kindCond:
		ok, err := runner.EvalCond(vars, p.cond)
		if err != nil {
			s.printErr(err)
			return
		}
		fmt.Fprintf(s.out, "= %t\n", ok)
	}
}

// formatValue prints a value for people: strings quoted, secrets masked.
func formatValue(v value.Value, vars *runtime.Scope) string {
	if v.Secret() {
		return "*** (secret " + v.TypeName() + ")"
	}
	text := vars.Mask(v.String())
	if v.Kind() == value.KString {
		return fmt.Sprintf("%q", text)
	}
	return text
}

// ---- Ctrl-C ------------------------------------------------------------

func (s *Session) watchInterrupts(sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-sigs:
			s.interrupt()
		case <-done:
			return
		}
	}
}

// interrupt cancels the innermost running statement (or input). Between
// statements of a run it asks the run to stop at the next one.
func (s *Session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cancels) == 0 {
		if s.running {
			s.pauseReq = true
		}
		return
	}
	s.interrupted = true
	s.cancels[len(s.cancels)-1]()
}

// pushCancel gives a statement a context that Ctrl-C cancels.
func (s *Session) pushCancel(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	s.mu.Lock()
	s.cancels = append(s.cancels, cancel)
	n := len(s.cancels)
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		if len(s.cancels) >= n {
			s.cancels = s.cancels[:n-1]
		}
		s.mu.Unlock()
		cancel()
	}
}

// inputContext is the context of input typed at the prompt; endInput
// releases it.
func (s *Session) inputContext() context.Context {
	ctx, done := s.pushCancel(context.Background())
	s.mu.Lock()
	s.inputDone = append(s.inputDone, done)
	s.mu.Unlock()
	return ctx
}

func (s *Session) endInput() {
	s.mu.Lock()
	var done func()
	if n := len(s.inputDone); n > 0 {
		done = s.inputDone[n-1]
		s.inputDone = s.inputDone[:n-1]
	}
	s.mu.Unlock()
	if done != nil {
		done()
	}
	s.takeInterrupted()
}

// setRunning records whether a run is under way.
func (s *Session) setRunning(on bool) {
	s.mu.Lock()
	s.running, s.pauseReq = on, false
	s.mu.Unlock()
}

// takePause reports (and forgets) a Ctrl-C that came between statements.
func (s *Session) takePause() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pauseReq
	s.pauseReq = false
	return p
}

// takeInterrupted reports (and forgets) whether Ctrl-C was pressed.
func (s *Session) takeInterrupted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.interrupted
	s.interrupted = false
	return i
}
