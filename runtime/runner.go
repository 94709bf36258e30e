package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/internal/limits"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/diag"
	"github.com/gxl-dev/gxl/runtime/value"
	"github.com/gxl-dev/gxl/stdlib/builtin"
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
	ModUp  bool   // --mod_up (GXL_CMD_MODUP)
	// Sets are --set K=V values, applied after the bootstrap variables.
	Sets map[string]value.Value
	// Extra are variables known before the run (system vars), with types.
	Extra map[string]value.Value
	// Log receives progress events (default: a no-op logger).
	Log *zap.Logger
	// Hooks observe and steer execution (the debugger).
	Hooks Hooks
	// Journal records the run for --resume (nil: no journal).
	Journal *Journal
	// Resume restores a previous run's progress (from ReadJournal).
	Resume *ResumeState
	// Load loads and checks another GXL file for gx.run; known holds the
	// variables the nested run starts with, for the checker.
	Load func(path string, known map[string]builtin.Type) (*check.Program, diag.List)
	// SecretsFile overrides the secrets file (default GAL_SEC_FILE_PATH or
	// ~/.galaxy/sec_value.yml).
	SecretsFile string
	// bootstrap is inherited by nested runs.
	bootstrap *Scope
	depth     int
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
	Stack []string  // outermost first: main.deploy, lib.apply
	Span  diag.Span // the failing statement
	Err   error
}

func (e *StepError) Error() string {
	var b strings.Builder
	if e.Span.IsValid() {
		b.WriteString(e.Span.Start.String() + ": ")
	}
	if len(e.Stack) > 0 {
		b.WriteString(strings.Join(e.Stack, " → ") + ": ")
	}
	var d diag.Diagnostic
	if errors.As(e.Err, &d) {
		b.WriteString(d.Summary)
		if d.Hint != "" {
			b.WriteString(" (hint: " + d.Hint + ")")
		}
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// Bootstrap builds the bootstrap variables (§2.9) and the secrets.
func (r *Runner) Bootstrap() (*Scope, error) {
	if r.opt.bootstrap != nil {
		s := r.opt.bootstrap.Clone()
		s.Set("GXL_CUR_DIR", value.Str(r.opt.Dir))
		return s, nil
	}
	s := NewScope()
	start, _ := os.Getwd()
	s.Set("GXL_START_ROOT", value.Str(start))
	s.Set("GXL_CUR_DIR", value.Str(r.opt.Dir))
	s.Set("GXL_PRJ_ROOT", value.Str(projectRoot(r.opt.Dir)))
	s.Set("GXL_OS_SYS", value.Str(osSys()))
	s.Set("GXL_CMD_ARG", value.Str(r.opt.CmdArg))
	s.Set("GXL_CMD_DRYRUN", value.Bool(r.opt.DryRun))
	s.Set("GXL_CMD_MODUP", value.Bool(r.opt.ModUp))
	secrets, err := loadSecrets(r.opt.SecretsFile)
	if err != nil {
		return nil, err
	}
	for k, v := range secrets {
		s.Set("SEC_"+strings.ToUpper(k), v.AsSecret())
	}
	for k, v := range r.opt.Extra {
		s.Set(k, v)
	}
	for k, v := range r.opt.Sets {
		s.Set(k, v)
	}
	return s, nil
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
	for i, top := range tops {
		plan, err := BuildPlan(r.prog, envs, top, r.opt.DryRun)
		if err != nil {
			return err
		}
		if r.opt.Resume != nil && r.opt.Resume.TopDone(i) {
			r.opt.Log.Info("resume: skip finished flow", zap.String("flow", top.QualifiedName()))
			continue
		}
		x := r.newExec(ctx, boot.Clone(), i)
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
	// effects is set when the current step reached outside gxl (effect).
	effects bool

	maskGen  int
	maskList []string
	maskSet  bool

	// The environment of commands, cached until the variables change.
	envScope *Scope
	envVer   uint64
	envList  []string
}

func (r *Runner) newExec(ctx context.Context, vars *Scope, top int) *exec {
	return &exec{r: r, ctx: ctx, vars: vars, top: top}
}

func (x *exec) log() *zap.Logger { return x.r.opt.Log }

// effect is called before anything that reaches outside gxl: a command,
// an activity, a built-in not marked Pure. The journal's pending records
// (the finish records of pure steps) go to disk first, so a machine crash
// never loses the record of a step whose effect happened (see Journal);
// and the step's own finish record will be synced.
func (x *exec) effect() error {
	x.effects = true
	return x.r.opt.Journal.Sync()
}

// mask replaces secret values in s with ***.
func (x *exec) mask(s string) string {
	if !x.maskSet || x.maskGen != x.vars.gen {
		x.maskList = x.vars.secrets()
		x.maskGen = x.vars.gen
		x.maskSet = true
	}
	return maskWith(x.maskList, s)
}

// maskWith replaces each of secrets (longest first) in s with ***.
func maskWith(secrets []string, s string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// stackNames is the flow stack for error messages, starting with the
// selected top-level flow when the failing flow is one of its pipeline.
func (x *exec) stackNames() []string {
	var out []string
	if x.topName != "" && (len(x.stack) == 0 || x.stack[0].Name != x.topName) {
		out = append(out, x.topName)
	}
	stack := x.stack
	if len(stack) > limits.StackShown+1 {
		// The outermost frame (the flow) and the innermost ones.
		out = append(out, stack[0].Name, fmt.Sprintf("… %d more …", len(stack)-limits.StackShown-1))
		stack = stack[len(stack)-limits.StackShown:]
	}
	for _, f := range stack {
		out = append(out, f.Name)
	}
	return out
}

// fail wraps err with the current flow stack and statement position.
func (x *exec) fail(err error, sp diag.Span) error {
	var se *StepError
	if errors.As(err, &se) {
		return err
	}
	var d diag.Diagnostic
	if errors.As(err, &d) && d.Span.IsValid() {
		sp = d.Span
	}
	return &StepError{Stack: x.stackNames(), Span: sp, Err: maskedError{err, x.mask(err.Error())}}
}

// maskedError keeps the original error for errors.As while printing masked.
type maskedError struct {
	err error
	msg string
}

func (m maskedError) Error() string { return m.msg }
func (m maskedError) Unwrap() error { return m.err }

// runPlan executes a sequence with transactions, journal and resume.
func (x *exec) runPlan(plan *Plan) error {
	j := x.r.opt.Journal
	res := x.r.opt.Resume
	start := 0
	if res != nil {
		if vars, next, undo, ok := res.restore(x.r.prog, x.top); ok {
			for k, v := range vars {
				x.vars.Set(k, v)
			}
			start = next
			// Snapshots in the journal lack SEC_* values: take them from
			// the bootstrap variables.
			for _, e := range undo {
				for name, v := range x.vars.Map() {
					if _, ok := e.snap.Get(name); !ok && v.Secret() {
						e.snap.Set(name, v)
					}
				}
			}
			x.undo = undo
			x.inTxn = len(undo) > 0
			x.log().Info("resume", zap.Int("from_step", start+1), zap.Int("undo_entries", len(undo)))
		}
	}
	for i := 0; i < len(plan.Steps); i++ {
		st := plan.Steps[i]
		if i < start {
			// Finished in the earlier run; keep the transaction flag right.
			if st.Kind == StepFlow && st.Flow.Ann.Transaction {
				x.inTxn = true
			}
			continue
		}
		if st.Kind == StepFlow {
			if st.Flow.Ann.Transaction {
				x.inTxn = true
			}
			if x.inTxn && st.Flow.Ann.Undo != nil {
				e := undoEntry{flow: st.Flow.Ann.Undo, steps: UndoSteps(x.r.prog, st.Flow.Ann.Undo), snap: x.vars.Clone()}
				x.undo = append(x.undo, e)
				j.undoPush(x.top, i, e)
			}
		}
		j.start(x.top, i, st)
		x.effects = false
		began := time.Now()
		err := x.runStep(st)
		if err != nil {
			j.fail(x.top, i, err)
			x.log().Error("step failed", zap.String("step", st.Name()), zap.Duration("after", time.Since(began)), zap.String("error", x.mask(err.Error())))
			x.compensate()
			j.end(x.top, false)
			return err
		}
		j.finish(x.top, i, x.vars, x.effects)
	}
	j.end(x.top, true)
	return nil
}

// compensate runs the undo stack in reverse order, each entry with its own
// snapshot; undo failures are logged, never returned (§4.11).
func (x *exec) compensate() {
	if len(x.undo) == 0 {
		return
	}
	// Undo must run even when the run was cancelled (SIGINT/SIGTERM).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.ctx), 10*time.Minute)
	defer cancel()
	saved, savedCtx := x.vars, x.ctx
	x.ctx = ctx
	for i := len(x.undo) - 1; i >= 0; i-- {
		e := x.undo[i]
		x.log().Warn("undo", zap.String("flow", e.flow.QualifiedName()))
		x.vars = e.snap.Clone()
		for _, st := range e.steps {
			if err := x.runStep(st); err != nil {
				x.log().Error("undo step failed", zap.String("step", st.Name()), zap.String("error", x.mask(err.Error())))
				break
			}
		}
		x.r.opt.Journal.undone(x.top, e.flow.QualifiedName())
	}
	x.undo = nil
	x.vars, x.ctx = saved, savedCtx
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
		obj.Set(p.Key.Name, v)
		x.vars.Set(m.Name, value.Obj(obj))
	}
	return nil
}

// runEnv exports an env: mixins first (the later wins), then its own
// properties, then its items (gx.vars, gx.read_*) in order (§4.3).
func (x *exec) runEnv(e *check.Env, seen map[*check.Env]bool) error {
	props, items, err := x.assembleEnv(e, seen)
	if err != nil {
		return err
	}
	x.stack = append(x.stack, Frame{Name: "env " + e.Host.Name + "." + e.Name, At: e.Decl.Name.Span()})
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	obj := value.NewObject()
	if old, ok := x.vars.Get("ENV"); ok && old.Kind() == value.KObject {
		obj = old.ObjVal().Clone()
	}
	for _, p := range props {
		v, err := x.eval(p.Value)
		if err != nil {
			return x.fail(err, p.Span())
		}
		x.vars.Set("ENV_"+p.Key.Name, v)
		obj.Set(p.Key.Name, v)
		x.vars.Set("ENV", value.Obj(obj))
	}
	return x.stmts(e.Host, items)
}

// assembleEnv merges mixins: props overwrite by key keeping the first
// position; items are appended in order.
func (x *exec) assembleEnv(e *check.Env, seen map[*check.Env]bool) ([]*ast.Assign, []ast.Stmt, error) {
	if seen[e] {
		return nil, nil, diag.Errorf(e.Decl.Name.Span(), "cycle", "env %s mixes itself in", e.Name)
	}
	seen[e] = true
	defer delete(seen, e)
	var props []*ast.Assign
	index := map[string]int{}
	var items []ast.Stmt
	merge := func(ps []*ast.Assign, its []ast.Stmt) {
		for _, p := range ps {
			k := value.Fold(p.Key.Name)
			if i, ok := index[k]; ok {
				props[i] = p
				continue
			}
			index[k] = len(props)
			props = append(props, p)
		}
		items = append(items, its...)
	}
	for _, mx := range e.Mixins {
		target := mx.Env
		if mx.OSVar != nil {
			name, ok := os.LookupEnv(mx.OSVar.Name)
			if !ok {
				if mx.OSVar.Default == nil {
					return nil, nil, diag.Errorf(mx.OSVar.Span(), "undefined-var", "environment variable %s naming a mixin is not set", mx.OSVar.Name)
				}
				name = *mx.OSVar.Default
			}
			t, err := ResolveEnv(x.r.prog, name)
			if err != nil {
				return nil, nil, err
			}
			target = t
		}
		ps, its, err := x.assembleEnv(target, seen)
		if err != nil {
			return nil, nil, err
		}
		merge(ps, its)
	}
	var own []*ast.Assign
	var ownItems []ast.Stmt
	if e.Decl.Body != nil {
		for _, s := range e.Decl.Body.Stmts {
			if a, ok := s.(*ast.Assign); ok {
				own = append(own, a)
			} else {
				ownItems = append(ownItems, s)
			}
		}
	}
	merge(own, ownItems)
	return props, items, nil
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
	attempts, delay, backoff := 1, time.Duration(0), 1.0
	if f.Ann.Retry != nil {
		attempts, delay, backoff = f.Ann.Retry.Attempts, f.Ann.Retry.Delay, f.Ann.Retry.Backoff
	}
	began := time.Now()
	x.log().Info("flow", zap.String("flow", f.QualifiedName()))
	parent := x.ctx
	defer func() { x.ctx = parent }()
	for attempt := 1; ; attempt++ {
		snap := x.vars.Clone()
		ctx := parent
		var cancel context.CancelFunc = func() {}
		if f.Ann.Timeout > 0 {
			ctx, cancel = context.WithTimeout(parent, f.Ann.Timeout)
		}
		x.ctx = ctx
		err := x.stmts(f.Owner, f.Decl.Body.Stmts)
		if err == nil && ctx.Err() != nil && parent.Err() == nil {
			err = x.fail(fmt.Errorf("flow timed out after %s", f.Ann.Timeout), f.Decl.Name.Span())
		}
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			err = x.fail(fmt.Errorf("flow %s timed out after %s: %w", f.QualifiedName(), f.Ann.Timeout, err), f.Decl.Name.Span())
		}
		cancel()
		if err == nil {
			x.log().Info("flow done", zap.String("flow", f.QualifiedName()), zap.Duration("took", time.Since(began)))
			return nil
		}
		if attempt >= attempts || parent.Err() != nil {
			return err
		}
		x.log().Warn("retry", zap.String("flow", f.QualifiedName()), zap.Int("attempt", attempt+1), zap.Int("of", attempts),
			zap.Duration("delay", delay), zap.String("error", x.mask(err.Error())))
		x.vars = snap
		select {
		case <-time.After(delay):
		case <-parent.Done():
			return err
		}
		delay = time.Duration(float64(delay) * backoff)
	}
}

// callCtx implements builtin.Ctx for one call.
type callCtx struct {
	x    *exec
	site diag.Span
}

var _ builtin.Ctx = (*callCtx)(nil)

func (c *callCtx) Context() context.Context { return c.x.ctx }
func (c *callCtx) Lookup(name string) (value.Value, bool) {
	return c.x.vars.Lookup(name)
}
func (c *callCtx) Set(name string, v value.Value) { c.x.vars.Set(name, v) }
func (c *callCtx) Vars() map[string]value.Value   { return c.x.vars.Map() }
func (c *callCtx) Interpolate(s string) (string, error) {
	return c.x.InterpolateString(s)
}
func (c *callCtx) Stdout() io.Writer { return c.x.r.opt.Stdout }
func (c *callCtx) Stderr() io.Writer { return c.x.r.opt.Stderr }
func (c *callCtx) Stdin() io.Reader  { return c.x.r.opt.Stdin }
func (c *callCtx) Logf(format string, args ...any) {
	c.x.log().Info(c.x.mask(fmt.Sprintf(format, args...)))
}
func (c *callCtx) Mask(s string) string { return c.x.mask(s) }
func (c *callCtx) Dir() string          { return c.x.r.opt.Dir }
func (c *callCtx) Environ() []string    { return c.x.environ() }
func (c *callCtx) DryRun() bool         { return c.x.r.opt.DryRun }
func (c *callCtx) Quiet() bool          { return c.x.r.opt.Quiet }
func (c *callCtx) Site() diag.Span      { return c.site }
func (c *callCtx) RunNested(req builtin.NestedRun) error {
	return c.x.runNested(req)
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
