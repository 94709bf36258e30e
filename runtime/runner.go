package runtime

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/core/logfmt"
	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/predef"
)

// Options configure a Runner.
type Options struct {
	Stdout io.Writer // gx.echo and command output (default os.Stdout)
	Stderr io.Writer // command error output (default os.Stderr)
	Stdin  io.Reader
	Dir    string // working directory of the run (default: process CWD)
	DryRun bool
	Quiet  bool
	CmdArg string // the argument after `--` (GXL_CMD_ARG)
	ModUp  bool   // --mod_up (GXL_CMD_MODUP; also Host.ModUp)
	// Host are the host settings built-ins read through Ctx.Host.
	Host builtin.Host
	// Sets are --set K=V values, applied after the bootstrap variables.
	Sets map[string]value.Value
	// Extra are variables known before the run (system vars), with types.
	Extra map[string]value.Value
	// Log is the writer of the run's events (default: a no-op logger):
	// each carries the module, the flow and the statement's position.
	Log *zap.Logger
	// Events: the output of statements (commands, gx.echo) is written as
	// "output" events of Log, one per line, not to Stdout and Stderr
	// (gxl run --log-format json); Host.Events tells the built-ins.
	Events bool
	// Live shows waits as live lines (a terminal); nil: waits are log
	// lines.
	Live *progress.Live
	// Warn receives the check warnings of files loaded during the run
	// (gx.run, the modules of a stage).
	Warn func(ds diag.List, src diag.Sources)
	// Hooks observe and steer execution (the debugger).
	Hooks Hooks
	// Journal records the run for --resume (nil: no journal).
	Journal *Journal
	// Resume restores a previous run's progress (from ReadJournal).
	Resume *ResumeState
	// Load loads and checks another GXL file for gx.run; known holds the
	// variables the nested run starts with, for the checker; confine is
	// check.Options.Confine (set when gx.run is called from a file of a
	// fetched module).
	Load func(path string, known map[string]types.Type, confine string) (*check.Program, diag.List)
	// Failure is the failure an #[on_failure] flow handles (FAILED_*).
	Failure predef.Failure
	// Fence, when set, is asked before every statement that reaches
	// outside gxl (a command, an activity, a built-in that is not pure):
	// an error stops the run there, before the effect, and leaves its
	// journal as a kill would (Journal.Abandon): the run is interrupted
	// and resumable by whoever may act now (gxl operate --ha: the
	// replica holding the lease). Nested runs inherit it.
	Fence func(context.Context) error
	// Halt, when it ends, stops what a cancelled run still does: the undo
	// flows, which run on after the run's context ended (bounded by 10
	// minutes), have their statement cancelled and the rest skipped (gxl
	// operate: a second signal, or its shutdown grace ran out). Abandon
	// the journal first (Journal.Abandon) to leave the run interrupted,
	// for a resume to finish the undo. Nested runs inherit it.
	Halt context.Context
	// SecretsFile overrides the secrets file (default GAL_SEC_FILE_PATH or
	// ~/.galaxy/sec_value.yml).
	SecretsFile string
	// Boot, when set, keeps the bootstrap variables for the next runs
	// made with the same options (BootCache).
	Boot *BootCache
	// bootstrap is inherited by nested runs.
	bootstrap *Scope
	depth     int
	// addr prefixes the journal addresses of a nested run.
	addr string
	// outer are the frames of the run that started a nested run, down
	// to the call that started it.
	outer []Frame
	// module is the system module a nested run is a stage of.
	module string
}

// Runner executes flows of one program.
type Runner struct {
	prog *check.Program
	opt  Options
}

// New makes a Runner.
func New(prog *check.Program, opt Options) *Runner {
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.Stdin == nil {
		opt.Stdin = os.Stdin
	}
	if opt.Dir == "" {
		opt.Dir, _ = os.Getwd()
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Hooks == nil {
		opt.Hooks = NoHooks{}
	}
	return &Runner{prog: prog, opt: opt}
}

// Program returns the program being run.
func (r *Runner) Program() *check.Program { return r.prog }

// StepError is a failed step with the flow stack that led to it.
type StepError struct {
	Stack []string // outermost first: main.deploy, lib.apply
	// Frames are the same frames with where each is defined and the call
	// that entered it; a failure in a nested run (gx.run, a module of
	// sys.stage) has the caller's frames first, then the nested run's.
	Frames []Frame
	Span   diag.Span // the failing statement (or the argument at fault)
	Err    error     // the failure, its message masked
	// Stop is why the run or flow was stopped when the statement failed
	// because of it: a flow's #[timeout] (builtin.TimeoutError), a signal
	// (builtin.SignalError). Nil for a failure of the statement itself.
	Stop error
	// Module is the system module whose statement failed (a stage's
	// nested run), "" otherwise.
	Module string
}

func (e *StepError) Error() string {
	var b strings.Builder
	if e.Span.IsValid() {
		b.WriteString(e.Span.Start.String() + ": ")
	}
	if len(e.Stack) > 0 {
		b.WriteString(strings.Join(e.Stack, " → ") + ": ")
	}
	d := e.Diagnostic()
	b.WriteString(d.Summary)
	if d.Hint != "" {
		b.WriteString(" (hint: " + d.Hint + ")")
	}
	return b.String()
}

// Unwrap gives the failure and the reason the run was stopped, so that
// errors.Is(err, context.DeadlineExceeded) sees a flow's timeout.
func (e *StepError) Unwrap() []error {
	if e.Stop != nil {
		return []error{e.Err, e.Stop}
	}
	return []error{e.Err}
}

// Diagnostic is the failure as the one diagnostic the CLI renders: the
// message (masked, without the position and hint a wrapped diagnostic
// carries in its text), the hint, the stop reason as the headline when
// there is one, and the flow stack with the call positions as a note.
func (e *StepError) Diagnostic() diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.Error, Code: "step-failed", Span: e.Span, Summary: e.Err.Error()}
	var m maskedError
	if errors.As(e.Err, &m) {
		d.Summary, d.Hint = m.msg, m.hint
		if m.code != "" {
			d.Code = m.code
		}
	}
	if e.Stop != nil {
		d.Code = "stopped"
		d.Notes = append(d.Notes, "interrupted: "+d.Summary)
		d.Summary = e.Stop.Error()
	}
	if s := e.StackString(); s != "" {
		d.Notes = append(d.Notes, "flow stack: "+s)
	}
	return d
}

// flow names the innermost flow of the stack (a frame that is not a fn,
// activity or env), for a run's summary: the flow whose step failed.
func (e *StepError) flow() string {
	for i := len(e.Frames) - 1; i >= 0; i-- {
		if n := e.Frames[i].Name; !strings.Contains(n, " ") {
			return n
		}
	}
	for i := len(e.Stack) - 1; i >= 0; i-- {
		if n := e.Stack[i]; !strings.Contains(n, " ") {
			return n
		}
	}
	return ""
}

// StackString renders the flow stack, outermost first, with the position
// of each call: main.all → main.deploy → fn lib.apply (called at work.gxl:7:9).
func (e *StepError) StackString() string {
	if len(e.Frames) == 0 {
		return strings.Join(e.Stack, " → ")
	}
	parts := make([]string, len(e.Frames))
	for i, f := range e.Frames {
		parts[i] = f.String()
	}
	return strings.Join(parts, " → ")
}

// Bootstrap builds the bootstrap variables (§2.9, the table of package
// predef) and the secrets.
func (r *Runner) Bootstrap() (*Scope, error) {
	if r.opt.bootstrap != nil {
		s := r.opt.bootstrap.Clone()
		s.Set("GXL_CUR_DIR", value.Str(r.opt.Dir))
		return s, nil
	}
	in := predef.Inputs{Dir: r.opt.Dir, CmdArg: r.opt.CmdArg, DryRun: r.opt.DryRun, ModUp: r.opt.ModUp, Run: true, Failure: r.opt.Failure}
	if r.opt.Journal != nil {
		in.RunID = r.opt.Journal.ID
	} else {
		in.RunID = NewRunID()
	}
	if r.opt.Boot != nil {
		return r.opt.Boot.scope(r, in)
	}
	secrets, err := SecretVars(r.opt.SecretsFile)
	if err != nil {
		return nil, err
	}
	return r.bootstrap(in, secrets), nil
}

// bootstrap builds the bootstrap variables of in and secrets.
func (r *Runner) bootstrap(in predef.Inputs, secrets map[string]value.Value) *Scope {
	s := NewScope()
	for _, v := range predef.Vars {
		s.Set(v.Name, v.Value(in))
	}
	for k, v := range secrets {
		s.Set(k, v)
	}
	for k, v := range r.opt.Extra {
		s.Set(k, v)
	}
	// The order of the sources: predefined, secrets, the system's
	// variables, then --set last and pinned (Scope.Pin): it wins over
	// everything the run assigns later.
	for k, v := range r.opt.Sets {
		// --set of a variable declared secret (a system variable with
		// secret: true) gives a secret value.
		if old, ok := s.Get(k); ok && old.Secret() {
			v = v.AsSecret()
		}
		s.Pin(k, v)
	}
	return s
}

// Run runs each selected flow with its own sequence and a fresh copy of
// the bootstrap variables; the first failure stops everything.
func (r *Runner) Run(ctx context.Context, envNames, flowNames []string) error {
	var envs []*check.Env
	for _, n := range envNames {
		e, err := ResolveEnv(r.prog, n)
		if err != nil {
			return err
		}
		envs = append(envs, e)
	}
	var tops []*check.Flow
	for _, n := range flowNames {
		f, err := ResolveFlow(r.prog, n)
		if err != nil {
			return err
		}
		tops = append(tops, f)
	}
	boot, err := r.Bootstrap()
	if err != nil {
		return err
	}
	r.opt.Journal.Loaded(r.prog.Sources)
	for i, top := range tops {
		plan, err := BuildPlan(r.prog, envs, top, r.opt.DryRun)
		if err != nil {
			return err
		}
		key := r.opt.addr + "t" + strconv.Itoa(i)
		x := r.newExec(ctx, boot.Clone(), i)
		x.topKey, x.topAddr = key, key
		if g := r.opt.Resume.gen(key); g > 0 {
			x.topAddr = key + "g" + strconv.Itoa(g)
		}
		if r.opt.Resume.TopDone(x.topAddr) {
			r.opt.Log.Info("resume: skip finished flow", zap.String("flow", top.QualifiedName()))
			continue
		}
		x.topName = top.QualifiedName()
		if err := x.runPlan(plan); err != nil {
			return err
		}
	}
	return nil
}

// Frame is one entry of the flow stack.
type Frame struct {
	Name string    // main.deploy, fn greet, activity copy, env envs.default
	At   diag.Span // where it is defined
	// Call is the statement that entered the frame (fn and activity
	// calls); invalid for plan steps (flows, envs, module properties).
	Call diag.Span
}

// String is the frame's name, with the call's position when it has one.
func (f Frame) String() string {
	if f.Call.IsValid() {
		return f.Name + " (called at " + f.Call.Start.String() + ")"
	}
	return f.Name
}

// undoEntry is a pushed compensation: the undo flow's expansion with the
// variables as they were before the step (§4.11).
type undoEntry struct {
	flow  *check.Flow
	steps []Step
	snap  *Scope
}

// exec is the state of one sequence.
type exec struct {
	r       *Runner
	ctx     context.Context
	vars    *Scope
	top     int
	topName string
	stack   []Frame
	site    diag.Span
	inTxn   bool
	undo    []undoEntry
	// effects is set when the current statement reached outside gxl
	// (effect).
	effects bool

	// The journal address of the running statement: topAddr (the run's
	// prefix, "t<i>" and "g<n>" when earlier attempts were compensated)
	// then addr's components (see address). topKey is topAddr without
	// the generation.
	topKey, topAddr string
	addr            []string
	// failAddr is the address of the statement whose failure is being
	// returned (the first to fail).
	failAddr string
	// nested counts nested runs started by the running statement without
	// a label.
	nested int
	// replayErr, when set, is the failure of a killed run whose undo was
	// interrupted: resume returns it at that statement and compensates.
	replayErr *record

	// logger is the run's logger, masked with the secrets of vars; log
	// and logAt add the flow and the position.
	logger *zap.Logger
	// stepName is the plan step running ("step 3/7"), the message of
	// a flow's first event.
	stepName string
	// outW and errW are the statement output's event writers (Events).
	outW, errW *eventWriter

	// plan is set when the exec previews (Runner.Preview) instead of
	// running: it knows which variables get their values at run time.
	plan *previewer

	// The environment of commands, cached until the variables change.
	envScope *Scope
	envVer   uint64
	envList  []string
}

func (r *Runner) newExec(ctx context.Context, vars *Scope, top int) *exec {
	x := &exec{r: r, ctx: ctx, vars: vars, top: top}
	// Every log entry is masked with the secrets in scope when written.
	x.logger = r.opt.Log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return mask.Core(c, func() *mask.Set { return x.vars.Masker() })
	}))
	if r.opt.module != "" {
		x.logger = x.logger.With(zap.String(logfmt.KeyModule, r.opt.module))
	}
	return x
}

// effect is called before anything that reaches outside gxl: a command,
// an activity, a built-in whose Effect is not Pure. The journal's pending records
// (the finish records of pure steps) go to disk first, so a machine crash
// never loses the record of a step whose effect happened (see Journal);
// and the step's own finish record will be synced.
//
// changes says whether it may change something there (a command, an
// activity, a built-in of Effect Changes or undeclared), not only read
// it: the journal remembers that the run changed something
// (Journal.Changed).
//
// A statement that may change something is then confirmed in a store
// whose run lock can be taken from a live process (Journal.Confirm: the
// cluster store), and the fence is asked again after the confirmation:
// a process stopped anywhere in these checks (SIGSTOP, a paused VM) and
// continued after another took its lease and its run over does not act.
func (x *exec) effect(changes bool) error {
	if err := x.fence(); err != nil {
		return err
	}
	x.effects = true
	if !changes {
		return x.r.opt.Journal.Sync()
	}
	x.r.opt.Journal.changed()
	if err := x.r.opt.Journal.Sync(); err != nil {
		return err
	}
	confirmed, err := x.r.opt.Journal.Confirm()
	if err != nil {
		x.r.opt.Journal.Abandon()
		return &FencedError{Err: err}
	}
	if confirmed {
		return x.fence()
	}
	return nil
}

// mask replaces secret values in s with ***.
func (x *exec) mask(s string) string { return x.vars.Mask(s) }

// frames is the flow stack for error messages, starting with the
// selected top-level flow when the failing flow is one of its pipeline,
// below the frames of the run that started this one (gx.run).
func (x *exec) frames() []Frame {
	out := append([]Frame(nil), x.r.opt.outer...)
	if x.topName != "" && (len(x.stack) == 0 || x.stack[0].Name != x.topName) {
		out = append(out, Frame{Name: x.topName})
	}
	out = append(out, x.stack...)
	if len(out) > limits.StackShown+1 {
		// The outermost frame and the innermost ones.
		cut := append([]Frame{out[0], {Name: fmt.Sprintf("… %d more …", len(out)-limits.StackShown-1)}}, out[len(out)-limits.StackShown:]...)
		out = cut
	}
	return out
}

func frameNames(fs []Frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// fail wraps err with the current flow stack and statement position. A
// failure caused by the stop of the running context (errors.Is
// context.Canceled or DeadlineExceeded while it is done) records the
// stop's cause: a flow's timeout, a signal.
func (x *exec) fail(err error, sp diag.Span) error {
	var se *StepError
	if errors.As(err, &se) {
		return err
	}
	m := maskedError{err: err}
	msg := err.Error()
	var d diag.Diagnostic
	if errors.As(err, &d) {
		if d.Span.IsValid() {
			sp = d.Span
		}
		// The renderer shows the position and the hint: keep them out
		// of the message.
		msg = strings.Replace(msg, d.Error(), d.Summary, 1)
		m.hint, m.code = x.mask(d.Hint), d.Code
	}
	m.msg = x.mask(msg)
	fs := x.frames()
	out := &StepError{Stack: frameNames(fs), Frames: fs, Span: sp, Err: m, Module: x.r.opt.module}
	if cause := context.Cause(x.ctx); x.ctx.Err() != nil && builtin.IsStop(err) && cause != err {
		out.Stop = cause
	}
	return out
}

// stoppedBy records the cause of a stopped context on a failure that did
// not say it was stopped (a built-in that drops the context's error).
func stoppedBy(err, cause error) error {
	var se *StepError
	if !errors.As(err, &se) || se.Stop != nil {
		return err
	}
	if m, ok := se.Err.(maskedError); ok && m.err == cause {
		return err // the failure is the timeout itself
	}
	c := *se
	c.Stop = cause
	return &c
}

// maskedError keeps the original error for errors.As while printing
// masked; hint and code are those of a diagnostic it wraps.
type maskedError struct {
	err             error
	msg, hint, code string
}

func (m maskedError) Error() string { return m.msg }
func (m maskedError) Unwrap() error { return m.err }

// runPlan executes a sequence with transactions, journal and resume.
// A resumed sequence runs from its start: every statement the journal
// records as finished is skipped (see stmts), so the variables, the
// transaction flag and the undo stack are rebuilt as they were.
func (x *exec) runPlan(plan *Plan) error {
	j := x.r.opt.Journal
	if res := x.r.opt.Resume; res != nil {
		x.replayErr = res.undoing[x.topAddr]
		if n := len(res.Finished()); n > 0 {
			x.log().Info("resume", zap.Int("finished_statements", n))
		}
	}
	for i := 0; i < len(plan.Steps); i++ {
		st := plan.Steps[i]
		x.addr = append(x.addr[:0], "s"+strconv.Itoa(i))
		if st.Kind == StepFlow {
			if st.Flow.Ann.Transaction {
				x.inTxn = true
			}
			if x.inTxn && st.Flow.Ann.Undo != nil {
				e := undoEntry{flow: st.Flow.Ann.Undo, steps: UndoSteps(x.r.prog, st.Flow.Ann.Undo), snap: x.vars.Clone()}
				x.undo = append(x.undo, e)
			}
		}
		began := time.Now()
		x.failAddr = ""
		x.stepName = "step " + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(plan.Steps))
		err := x.runStep(st)
		if err != nil {
			at := x.failAddr
			if at == "" {
				at = x.address()
			}
			msg := x.mask(err.Error())
			j.fail(at, spanOf(err), err, msg)
			// The failure itself is reported once, by the caller (gxl
			// run renders it as a diagnostic or logs one JSON event).
			x.log().Debug("step failed", zap.String("step", st.Name()), zap.Duration("after", time.Since(began)), zap.String("at", spanOf(err)))
			if len(x.undo) > 0 {
				j.undo(x.topAddr, at, msg)
				x.compensate(err)
				j.compensated(x.topKey)
			}
			j.end(x.topAddr, false)
			return err
		}
		if j != nil && st.Kind == StepFlow {
			j.step(x.topAddr+"/s"+strconv.Itoa(i), st.Name(), began)
		}
	}
	j.end(x.topAddr, true)
	return nil
}

// spanOf is the position of a step error, for the journal.
func spanOf(err error) string {
	var se *StepError
	if errors.As(err, &se) && se.Span.IsValid() {
		return se.Span.Start.String()
	}
	return ""
}

// address is the journal address of the running statement.
func (x *exec) address() string {
	n := len(x.topAddr)
	for _, c := range x.addr {
		n += 1 + len(c)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(x.topAddr)
	for _, c := range x.addr {
		b.WriteByte('/')
		b.WriteString(c)
	}
	return b.String()
}

// compensate runs the undo stack in reverse order, each entry with its own
// snapshot; undo failures are logged, never returned (§4.11). Each undo
// flow sees the failure that started the compensation in FAILED_MODULE,
// FAILED_FLOW, FAILED_AT and FAILED_ERROR (the variables of an
// #[on_failure] flow; gxl addition), so an undo can say why it runs. Undo
// statements are journaled like any other (addresses u<k>/s<j>/...), so a
// resume after a kill during compensation finishes it without repeating
// what already ran.
func (x *exec) compensate(cause error) {
	if len(x.undo) == 0 {
		return
	}
	// Undo must run even when the run was cancelled (SIGINT/SIGTERM),
	// until Halt ends.
	hctx, halt := context.WithCancelCause(context.WithoutCancel(x.ctx))
	defer halt(nil)
	if h := x.r.opt.Halt; h != nil {
		defer context.AfterFunc(h, func() { halt(context.Cause(h)) })()
	}
	ctx, cancel := context.WithTimeout(hctx, 10*time.Minute)
	defer cancel()
	saved, savedCtx := x.vars, x.ctx
	x.ctx = ctx
	x.replayErr = nil
	for i := len(x.undo) - 1; i >= 0; i-- {
		e := x.undo[i]
		x.logAt(e.flow.Decl.Name.Span()).Warn("undo", zap.String("undo", e.flow.QualifiedName()))
		x.vars = e.snap.Clone()
		for k, v := range failureVars(cause) {
			x.vars.Set(k, v)
		}
		for k, st := range e.steps {
			if ctx.Err() != nil {
				x.log().Error("undo stopped", zap.String("undo", e.flow.QualifiedName()), zap.String("why", context.Cause(ctx).Error()))
				break
			}
			x.addr = append(x.addr[:0], "u"+strconv.Itoa(i), "s"+strconv.Itoa(k))
			x.stepName = "undo step " + strconv.Itoa(k+1) + "/" + strconv.Itoa(len(e.steps))
			if err := x.runStep(st); err != nil {
				x.log().Error("undo step failed", zap.String("step", st.Name()), zap.String("error", x.mask(err.Error())))
				break
			}
		}
	}
	x.undo = nil
	x.vars, x.ctx = saved, savedCtx
}

// failureVars are the FAILED_* variables of a failure, as an undo flow
// sees it: the flow whose statement failed, its module, the statement's
// position and the masked message (for a stopped run, the stop's cause:
// "cancelled by signal SIGTERM").
func failureVars(err error) map[string]value.Value {
	f := predef.Failure{Error: err.Error()}
	var se *StepError
	if errors.As(err, &se) {
		f.Error = se.Diagnostic().Summary
		f.Flow = se.flow()
		f.Module, _, _ = strings.Cut(f.Flow, ".")
		if se.Span.IsValid() {
			f.At = se.Span.Start.String()
		}
	}
	return map[string]value.Value{"FAILED_MODULE": value.Str(f.Module), "FAILED_FLOW": value.Str(f.Flow), "FAILED_AT": value.Str(f.At), "FAILED_ERROR": value.Str(f.Error)}
}

// runStep runs one plan step.
func (x *exec) runStep(st Step) error {
	switch st.Kind {
	case StepEnv:
		return x.runEnv(st.Env, map[*check.Env]bool{})
	case StepProps:
		return x.exportProps(st.Module)
	}
	return x.runFlow(st.Flow)
}

// exportProps exports a module's properties as <MOD>_<KEY> and <mod>.<key> (§4.4).
func (x *exec) exportProps(m *check.Module) error {
	if len(m.Props) == 0 {
		return nil
	}
	prefix := strings.ToUpper(m.Name) + "_"
	obj := value.NewObject()
	if old, ok := x.vars.Get(m.Name); ok && old.Kind() == value.KObject {
		obj = old.ObjVal().Clone()
	}
	x.stack = append(x.stack, Frame{Name: "props " + m.Name, At: m.Decl.Name.Span()})
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	for _, p := range m.Props {
		v, err := x.eval(p.Value)
		if err != nil {
			return x.fail(err, p.Span())
		}
		x.vars.Set(prefix+p.Key.Name, v)
		v, _ = x.vars.Get(prefix + p.Key.Name) // a --set one is pinned
		obj.Set(p.Key.Name, v)
		x.vars.Set(m.Name, value.Obj(obj))
	}
	return nil
}

// runEnv exports an env: its mixins' bodies first (in order, so the later
// wins), then its own body; within each body, assignments (exported as
// ENV_<KEY> and ENV.<key>, §4.4) and statements (gx.vars, gx.read_*) run in
// source order (Part I, ordering).
func (x *exec) runEnv(e *check.Env, seen map[*check.Env]bool) error {
	seq, err := x.assembleEnv(e, seen)
	if err != nil {
		return err
	}
	x.stack = append(x.stack, Frame{Name: "env " + e.Host.Name + "." + e.Name, At: e.Decl.Name.Span()})
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	obj := value.NewObject()
	if old, ok := x.vars.Get("ENV"); ok && old.Kind() == value.KObject {
		obj = old.ObjVal().Clone()
	}
	for i, s := range seq {
		p, ok := s.(*ast.Assign)
		if !ok {
			if err := x.stmts(e.Host, seq[i:i+1]); err != nil {
				return err
			}
			continue
		}
		v, err := x.eval(p.Value)
		if err != nil {
			return x.fail(err, p.Span())
		}
		x.vars.Set("ENV_"+p.Key.Name, v)
		v, _ = x.vars.Get("ENV_" + p.Key.Name) // a --set one is pinned
		obj.Set(p.Key.Name, v)
		x.vars.Set("ENV", value.Obj(obj))
	}
	return nil
}

// assembleEnv lists the statements of an env in run order: each mixin's
// (recursively), then the env's own body, each body in source order.
func (x *exec) assembleEnv(e *check.Env, seen map[*check.Env]bool) ([]ast.Stmt, error) {
	if seen[e] {
		return nil, diag.Errorf(e.Decl.Name.Span(), "cycle", "env %s mixes itself in", e.Name)
	}
	seen[e] = true
	defer delete(seen, e)
	var seq []ast.Stmt
	for _, mx := range e.Mixins {
		target := mx.Env
		if mx.OSVar != nil {
			name, ok := os.LookupEnv(mx.OSVar.Name)
			if !ok {
				if mx.OSVar.Default == nil {
					return nil, diag.Errorf(mx.OSVar.Span(), "undefined-var", "environment variable %s naming a mixin is not set", mx.OSVar.Name)
				}
				name = *mx.OSVar.Default
			}
			t, err := ResolveEnv(x.r.prog, name)
			if err != nil {
				return nil, err
			}
			target = t
		}
		its, err := x.assembleEnv(target, seen)
		if err != nil {
			return nil, err
		}
		seq = append(seq, its...)
	}
	if e.Decl.Body != nil {
		seq = append(seq, e.Decl.Body.Stmts...)
	}
	return seq, nil
}

// runFlow runs a flow body with #[retry] and #[timeout].
func (x *exec) runFlow(f *check.Flow) error {
	x.stack = append(x.stack, Frame{Name: f.QualifiedName(), At: f.Decl.Name.Span()})
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	if f.Ann.Task != nil {
		if v, err := x.interpolate(f.Ann.Task.Parts, f.Ann.Task.Span()); err == nil {
			x.log().Info("task", zap.String("name", x.mask(v.String())))
		}
	}
	if f.Decl.Body == nil {
		return nil
	}
	pol := retry.Once
	if f.Ann.Retry != nil {
		pol = *f.Ann.Retry
	}
	began := time.Now()
	msg := x.stepName
	if msg == "" {
		msg = "flow"
	}
	x.infoAt(f.Decl.Name.Span(), msg)
	parent := x.ctx
	base := len(x.addr)
	// The journal's address of the flow, for retry attempts; built only
	// when a journal or a resume needs it (flows are a hot path).
	var flowAddr string
	if x.r.opt.Journal != nil || x.r.opt.Resume != nil {
		flowAddr = x.address()
	}
	defer func() { x.ctx, x.addr = parent, x.addr[:base] }()
	first := 1
	if n := x.r.opt.Resume.attemptOf(flowAddr); n > 1 && n <= pol.Attempts {
		// The killed run had begun attempt n: earlier attempts failed.
		first = n
	}
	var snap *Scope
	if pol.Attempts > 1 {
		snap = x.vars.Clone()
	}
	err := retry.Do(parent, pol, func(_ context.Context, attempt int) error {
		if attempt > first {
			x.vars = snap.Clone()
		}
		x.addr = x.addr[:base]
		x.failAddr = ""
		if attempt > 1 {
			x.addr = append(x.addr, "a"+strconv.Itoa(attempt))
			if attempt > first {
				x.r.opt.Journal.attempt(flowAddr, attempt)
			}
		}
		ctx := parent
		var cancel context.CancelFunc = func() {}
		if f.Ann.Timeout > 0 {
			ctx, cancel = context.WithTimeoutCause(parent, f.Ann.Timeout, &builtin.TimeoutError{What: "flow " + f.QualifiedName(), After: f.Ann.Timeout})
		}
		defer cancel()
		x.ctx = ctx
		err := x.stmts(f.Owner, f.Decl.Body.Stmts)
		if err == nil && ctx.Err() != nil && parent.Err() == nil {
			err = x.fail(context.Cause(ctx), f.Decl.Name.Span())
		}
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			err = stoppedBy(err, context.Cause(ctx))
		}
		return err
	}, retry.From(first), retry.OnRetry(func(next int, wait time.Duration, err error) {
		x.log().Warn("retry", zap.Int("attempt", next), zap.Int("of", pol.Attempts),
			zap.Duration("delay", wait), zap.String("error", x.mask(err.Error())))
	}))
	if err == nil {
		x.infoAt(f.Decl.Name.Span(), "done", zap.Duration("took", time.Since(began)))
		return nil
	}
	// The step error keeps its position and flow stack; the count of tries
	// joins its message ("after 3 attempts: ...").
	var re *retry.Error
	var se *StepError
	if errors.As(err, &re) && errors.As(re.Err, &se) {
		out := *se
		out.Err = &retry.Error{Attempts: re.Attempts, Err: se.Err, Stopped: re.Stopped}
		var m maskedError
		if errors.As(se.Err, &m) {
			m.msg = (&retry.Error{Attempts: re.Attempts, Err: errors.New(m.msg), Stopped: re.Stopped}).Error()
			m.err = out.Err
			out.Err = m
		}
		return &out
	}
	return err
}

// callCtx implements builtin.Ctx for one call.
type callCtx struct {
	x    *exec
	site diag.Span
	name string // the built-in called, for the flow stack of nested runs
	// ctx is x.ctx carrying the call's progress reporter (made once).
	ctx, of context.Context
}

var _ builtin.Ctx = (*callCtx)(nil)

// Context is the run's context with the call's progress.Reporter, through
// which waiting code shows its waits.
func (c *callCtx) Context() context.Context {
	if c.ctx == nil || c.of != c.x.ctx {
		c.of = c.x.ctx
		c.ctx = progress.With(c.x.ctx, waits{x: c.x, site: c.site})
	}
	return c.ctx
}
func (c *callCtx) Lookup(name string) (value.Value, bool) {
	return c.x.vars.Lookup(name)
}
func (c *callCtx) Set(name string, v value.Value) { c.x.vars.Set(name, v) }
func (c *callCtx) Vars() map[string]value.Value   { return c.x.vars.Map() }

// VarNames are the names of the variables in scope, sorted, without a
// copy of their values (sys.stage checks its modules with them).
func (c *callCtx) VarNames() []string { return c.x.vars.Names() }

func (c *callCtx) Interpolate(s string) (string, error) {
	return c.x.InterpolateString(s)
}
func (c *callCtx) Stdout() io.Writer { return c.x.output(false) }
func (c *callCtx) Stderr() io.Writer { return c.x.output(true) }
func (c *callCtx) Stdin() io.Reader  { return c.x.r.opt.Stdin }
func (c *callCtx) Logf(format string, args ...any) {
	c.x.infoAt(c.site, c.x.mask(fmt.Sprintf(format, args...)))
}
func (c *callCtx) Logger() *zap.Logger                 { return c.x.logAt(c.site) }
func (c *callCtx) Warn(ds diag.List, src diag.Sources) { c.x.warn(ds, src) }
func (c *callCtx) Mask(s string) string                { return c.x.mask(s) }
func (c *callCtx) Masker() *mask.Set                   { return c.x.vars.Masker() }
func (c *callCtx) Dir() string                         { return c.x.r.opt.Dir }
func (c *callCtx) Environ() []string                   { return c.x.environ() }
func (c *callCtx) DryRun() bool                        { return c.x.r.opt.DryRun }
func (c *callCtx) Quiet() bool                         { return c.x.r.opt.Quiet }
func (c *callCtx) Site() diag.Span                     { return c.site }
func (c *callCtx) Warnf(format string, args ...any) {
	c.Logger().Warn(c.x.mask(fmt.Sprintf(format, args...)))
}
func (c *callCtx) Host() builtin.Host {
	h := c.x.r.opt.Host
	h.ModUp = h.ModUp || c.x.r.opt.ModUp
	h.Events = h.Events || c.x.r.opt.Events
	return h
}
func (c *callCtx) RunNested(req builtin.NestedRun) error {
	return c.x.runNested(req, c.site, c.name, nil)
}

// RunNestedProgram runs flows of prog, a program already loaded and checked
// with the variables the run will have, as a nested run (like gx.run) of the
// built-in call c is executing. c must be the Ctx this runtime handed to
// that built-in: layers above the runtime (the sys.* built-ins, which load
// and check a stage's modules themselves) run them through it.
func RunNestedProgram(c builtin.Ctx, prog *check.Program, req builtin.NestedRun) error {
	cc, ok := c.(*callCtx)
	if !ok {
		return fmt.Errorf("runtime.RunNestedProgram: %T is not a built-in context of the runtime", c)
	}
	if prog == nil {
		return fmt.Errorf("runtime.RunNestedProgram: no program")
	}
	return cc.x.runNested(req, cc.site, cc.name, prog)
}

// environ is the environment of child processes: GXL variables exported
// upper-cased, overlaid by the real OS environment (OS wins, §5.1).
func (x *exec) environ() []string {
	if x.envList != nil && x.envScope == x.vars && x.envVer == x.vars.ver {
		return x.envList
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			seen[kv[:i]] = true
		}
		out = append(out, kv)
	}
	for name, v := range x.vars.Map() {
		k := strings.ToUpper(name)
		if seen[k] || !validEnvName(k) {
			continue
		}
		seen[k] = true
		out = append(out, k+"="+v.String())
	}
	// Clipped: a caller's append never writes into the cached array.
	x.envScope, x.envVer, x.envList = x.vars, x.vars.ver, slices.Clip(out)
	return x.envList
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z')) {
			return false
		}
	}
	return !('0' <= s[0] && s[0] <= '9')
}
