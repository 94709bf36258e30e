package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/logfmt"
	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
	"github.com/gxl-dev/gxl/system/sysops"
)

// Option configures an Engine.
type Option func(*config)

type config struct {
	dir            string
	stdout, stderr io.Writer
	stdin          io.Reader
	log            *zap.Logger
	sets           map[string]string
	envs           []string
	jobs           int
	mirrors        []string
	offline        bool
	modUp          bool
	dryRun         bool
	quiet          bool
	cmdArg         string
	journal        string
	noJournal      bool
	state          *stateRef // WithRunStore, WithClusterState
	secretsFile    string
	registry       *builtin.Registry
	resumeChanged  bool
	keepRuns       time.Duration
	now            func() time.Time
	events         bool
	warn           func(diag.List, diag.Sources)
	live           *progress.Live
	loc            *time.Location // cron and window times (WithTimeZone)
	force          bool           // run outside windows (WithForce)
	valueFiles     []string       // WithValueFiles
	values         map[string]value.Value
	valueText      map[string]string            // values as text, for sys/vars.yml's ${NAME}
	readFile       func(string) ([]byte, error) // WithReadFile
}

// WithDir sets the working directory of runs (default: the process's).
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithReadFile makes Load, Check and Outline read workflows, externs and
// the system's files through read instead of os.ReadFile: an editor's
// unsaved buffers override the files on disk (gxl lsp). read is called
// with the paths as the loaders build them.
func WithReadFile(read func(path string) ([]byte, error)) Option {
	return func(c *config) { c.readFile = read }
}

// WithStdout sets where program output goes (default os.Stdout).
func WithStdout(w io.Writer) Option { return func(c *config) { c.stdout = w } }

// WithStderr sets where command error output goes (default os.Stderr).
func WithStderr(w io.Writer) Option { return func(c *config) { c.stderr = w } }

// WithStdin sets the program's input (default os.Stdin).
func WithStdin(r io.Reader) Option { return func(c *config) { c.stdin = r } }

// WithLogger sets the progress logger (default: none).
func WithLogger(l *zap.Logger) Option { return func(c *config) { c.log = l } }

// WithEvents writes the output of statements (commands, gx.echo) and
// the tables of built-ins (a stage's results) as events of the logger,
// one per line, instead of text on stdout and stderr (gxl run
// --log-format json).
func WithEvents(on bool) Option { return func(c *config) { c.events = on } }

// WithLive shows long waits (rollouts, servers coming up, fetches, down
// windows) as live lines of l, a terminal's display; without it a wait is
// a log line at its start and one at its end.
func WithLive(l *progress.Live) Option { return func(c *config) { c.live = l } }

// WithWarnings receives the check warnings of files a run loads while it
// runs (gx.run, the modules of a system stage): each warning once per run,
// by file, position and code, however often the file is loaded.
func WithWarnings(f func(ds diag.List, src diag.Sources)) Option {
	return func(c *config) { c.warn = f }
}

// WithSets sets variables as `gxl run --set NAME=value` does (true/false
// and integers keep their type; system variables are typed by their
// declaration). Later calls add to earlier ones.
func WithSets(sets map[string]string) Option {
	return func(c *config) {
		if c.sets == nil {
			c.sets = map[string]string{}
		}
		for k, v := range sets {
			c.sets[k] = v
		}
	}
}

// WithEnvs selects the envs of runs (default: "default" when the program
// has it).
func WithEnvs(envs ...string) Option { return func(c *config) { c.envs = envs } }

// WithJobs bounds how many modules a system stage runs at once (default 4).
func WithJobs(n int) Option { return func(c *config) { c.jobs = n } }

// WithMirrors rewrites git addresses: FROM=TO items (comma lists allowed),
// for git externs and sys.fetch alike.
func WithMirrors(m ...string) Option {
	return func(c *config) { c.mirrors = append(c.mirrors, m...) }
}

// WithOffline fetches nothing: git externs and modules come from the
// module cache only.
func WithOffline(on bool) Option { return func(c *config) { c.offline = on } }

// WithModUp refreshes git externs and fetched modules and accepts moved
// tags (gxl run --mod_up).
func WithModUp(on bool) Option { return func(c *config) { c.modUp = on } }

// WithResumeChanged lets OpenResume continue a run whose program files
// changed since it ran (the Resumption lists what changed).
func WithResumeChanged(on bool) Option { return func(c *config) { c.resumeChanged = on } }

// WithDryRun substitutes #[dryrun(...)] flows and sets GXL_CMD_DRYRUN.
func WithDryRun(on bool) Option { return func(c *config) { c.dryRun = on } }

// WithQuiet prints neither commands nor their output (gxl run -q).
func WithQuiet(on bool) Option { return func(c *config) { c.quiet = on } }

// WithCmdArg sets GXL_CMD_ARG (the argument after `--`).
func WithCmdArg(arg string) Option { return func(c *config) { c.cmdArg = arg } }

// WithJournal keeps run journals under root/.gxl/runs (default: the
// project root of the working directory, see ProjectRoot).
func WithJournal(root string) Option { return func(c *config) { c.journal = root } }

// WithoutJournal runs without a journal (no resume).
func WithoutJournal() Option { return func(c *config) { c.noJournal = true } }

// WithSecretsFile overrides the secrets file (default GAL_SEC_FILE_PATH or
// ~/.galaxy/sec_value.yml).
func WithSecretsFile(path string) Option { return func(c *config) { c.secretsFile = path } }

// WithRegistry replaces the built-in registry (default Registry()).
func WithRegistry(r *builtin.Registry) Option { return func(c *config) { c.registry = r } }

// Engine checks, plans and runs GXL workflows with one set of options.
type Engine struct {
	cfg     config
	fetcher *fetch.Fetcher

	secretsOnce sync.Once
	secrets     map[string]value.Value
}

// New makes an Engine. Bad options (an unparsable mirror, jobs below 1)
// are errors.
func New(opts ...Option) (*Engine, error) {
	c := config{jobs: 4, keepRuns: DefaultRunRetention}
	for _, o := range opts {
		o(&c)
	}
	if c.jobs < 1 {
		return nil, fmt.Errorf("jobs must be at least 1")
	}
	if c.keepRuns < 0 {
		return nil, fmt.Errorf("the run retention cannot be negative")
	}
	if c.dir == "" {
		c.dir, _ = os.Getwd()
	}
	if err := c.readValues(); err != nil {
		return nil, err
	}
	if c.registry == nil {
		c.registry = Registry()
	}
	ms, err := fetch.ParseMirrors(c.mirrors...)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: c, fetcher: &fetch.Fetcher{Offline: c.offline, Update: c.modUp, Mirrors: ms}}
	e.fetcher.Secrets = e.secret
	return e, nil
}

// secret looks up a module credential's ${SEC_NAME} in the secrets file
// (read once, when a module first needs it: gxl check fetching a private
// module into the module cache).
func (e *Engine) secret(name string) (string, bool) {
	e.secretsOnce.Do(func() { e.secrets, _ = runtime.SecretVars(e.cfg.secretsFile) })
	v, ok := e.secrets[strings.ToUpper(name)]
	if !ok {
		return "", false
	}
	return v.String(), true
}

// Registry returns the engine's built-in registry.
func (e *Engine) Registry() *builtin.Registry { return e.cfg.registry }

// Dir returns the working directory of runs.
func (e *Engine) Dir() string { return e.cfg.dir }

// Program is a loaded workflow file.
type Program struct {
	// Program is the checked program; nil when the file has errors.
	*check.Program
	// File is the file as given to Load.
	File string
	// SysRoot is the system folder of a system workflow (a file under
	// <root>/sys/workflows/), absolute; "" otherwise.
	SysRoot string
	// Vars are the variables the run starts with besides the predefined
	// ones: the system's typed variables.
	Vars map[string]value.Value
	// Diags are every diagnostic of the system and the program.
	Diags diag.List
	// Sources are the files read, for rendering Diags.
	Sources *diag.FileSources
	// sys is the loaded system of a system workflow.
	sys *system.System
	// checked is the checked program, also when it has errors.
	checked *check.Program
	// SysFiles are the system's files (sys_model.yml, mod_list.yml,
	// vars.yml) with their content, for the journal's record of what a run
	// loaded.
	SysFiles map[string][]byte
}

// OK reports whether the program checked without errors.
func (p *Program) OK() bool { return p.Program != nil && !p.Diags.HasErrors() }

// SystemRoot returns the system folder of a workflow written at
// <root>/sys/workflows/*.gxl — relative to the working directory when
// below it, for shorter diagnostics — or "".
func SystemRoot(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	wf := filepath.Dir(abs)
	if filepath.Base(wf) != "workflows" || filepath.Base(filepath.Dir(wf)) != "sys" {
		return ""
	}
	root := filepath.Dir(filepath.Dir(wf))
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, root); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return root
}

// ProjectRoot is where gxl keeps .gxl/ (journals): the nearest folder at or
// above dir holding _gal/project.toml, else dir itself.
func ProjectRoot(dir string) string {
	if root, ok := fsguard.ProjectRoot(dir); ok {
		return root
	}
	return dir
}

// Load loads and checks file: with the typed variables of its system when
// it is a system workflow, git externs through the engine's fetcher
// (mirrors, offline, mod_up). The Program is never nil; OK says whether it
// can run.
func (e *Engine) Load(file string) *Program {
	return e.load(file, e.cfg.sets)
}

// Check checks files (gxl check): every diagnostic of them, and their
// sources for rendering. The engine's sets are checked as a run checks
// them (typed by the system's vars.yml, names the program never reads
// reported) and its envs must exist; nothing runs. A system workflow's check includes the workflow
// of every enabled module, as sys.stage checks them before a stage; a
// module workflow inside a system is checked with the system's variables.
// A file reached twice is checked once.
func (e *Engine) Check(files ...string) (diag.List, *diag.FileSources) {
	a := e.check(files, false)
	return a.Diags, a.Sources
}

// Analysis is what Analyze finds in a file: what gxl check reports, and
// the checked programs and the system it read.
type Analysis struct {
	// Diags and Sources are Check's.
	Diags   diag.List
	Sources *diag.FileSources
	// Programs are the checked programs, also those with errors (nil
	// entries left out): the file's first, then its system's module
	// workflows, or for a module workflow the system's workflows.
	Programs []*check.Program
	// System is the system the file belongs to, nil when none.
	System *system.System
}

// Analyze checks file as Check does (a system workflow with its modules'
// workflows, a module workflow with its system) and keeps the programs:
// what an editor navigates (gxl lsp).
func (e *Engine) Analyze(file string) *Analysis {
	return e.check([]string{file}, true)
}

// check is Check, keeping the programs when keep is set.
func (e *Engine) check(files []string, keep bool) *Analysis {
	a := &Analysis{Sources: &diag.FileSources{}}
	add := func(p *check.Program) {
		if keep && p != nil {
			a.Programs = append(a.Programs, p)
		}
	}
	var all diag.List
	srcs := a.Sources
	done := checked{}
	for _, f := range files {
		if !done.first(f) {
			continue
		}
		if SystemRoot(f) == "" {
			if sys, dir, ds := e.moduleSystem(f); sys != nil {
				all.Add(ds...)
				for name, src := range sys.Sources {
					srcs.Add(name, src)
				}
				prog, wfs, ds := e.checkModuleAlone(sys, f, dir)
				a.System = sys
				add(prog)
				for _, wf := range wfs {
					add(wf)
				}
				if prog != nil {
					for name, src := range prog.Sources {
						srcs.Add(name, src)
					}
				}
				all.Add(ds...)
				continue
			}
		}
		p := e.loadInto(f, e.cfg.sets, srcs)
		add(p.checked)
		if p.sys != nil {
			a.System = p.sys
		}
		all.Add(p.Diags...)
		if p.OK() && len(e.cfg.envs) > 0 {
			if _, _, err := e.selection(p, nil); err != nil {
				all.Add(asDiag(err))
			}
		}
		if p.sys != nil {
			all.Add(e.checkModules(p.sys, p.checked, srcs, done, add)...)
		}
	}
	a.Diags = all.Normalize()
	return a
}

func (e *Engine) load(file string, sets map[string]string) *Program {
	return e.loadInto(file, sets, &diag.FileSources{})
}

func (e *Engine) loadInto(file string, sets map[string]string, srcs *diag.FileSources) *Program {
	p := &Program{File: file, Sources: srcs, SysFiles: map[string][]byte{}, Vars: map[string]value.Value{}}
	opt := e.checkOptions(nil)
	if root := SystemRoot(file); root != "" {
		sys, ds := system.Load(root, system.Options{Set: sets, Values: e.cfg.valueText, ReadFile: e.cfg.readFile})
		for f, src := range sys.Sources {
			p.Sources.Add(f, src)
			p.SysFiles[f] = src
		}
		p.Diags.Add(ds...)
		opt = e.checkOptions(sys)
		p.Vars = sys.Values()
		p.SysRoot, _ = filepath.Abs(root)
		p.sys = sys
	}
	prog, ds := check.Load(file, opt)
	p.checked = prog
	p.Diags.Add(ds...)
	if p.sys == nil && prog != nil {
		p.Diags.Add(unreadSets(sets, prog)...)
	}
	if prog != nil {
		for f, src := range prog.Sources {
			p.Sources.Add(f, src)
		}
	}
	if !p.Diags.HasErrors() {
		p.Program = prog
	}
	return p
}

// unreadSets warns about each --set name that prog never reads (a
// misspelt name would otherwise be silently ignored), with the closest
// name it reads or defines. In a system the names are those of vars.yml
// and an unknown one is an error (system.Load).
func unreadSets(sets map[string]string, prog *check.Program) diag.List {
	if len(sets) == 0 {
		return nil
	}
	reads := prog.Reads()
	read := map[string]bool{}
	for _, n := range reads {
		read[n] = true
	}
	defined, _ := prog.Defines()
	candidates := append(append([]string(nil), reads...), defined...)
	// A module property is read as MOD_NAME: `--set API_RATE_LIMT` is
	// compared with API_RATE_LIMIT too and suggests MAIN_API_RATE_LIMIT.
	full := map[string]string{}
	for _, c := range candidates {
		full[c] = c
		for _, m := range prog.Mods {
			if short, ok := strings.CutPrefix(c, strings.ToLower(m.Name)+"_"); ok && short != "" {
				if _, taken := full[short]; !taken {
					full[short] = c
				}
			}
		}
	}
	candidates = candidates[:0]
	for c := range full {
		candidates = append(candidates, c)
	}
	var names []string
	for name := range sets {
		if !read[strings.ToLower(name)] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out diag.List
	for _, name := range names {
		d := diag.Warnf(diag.Span{}, "set-unread", "--set %s: the program never reads %s", name, name)
		if long, ok := full[strings.ToLower(name)]; ok && long != strings.ToLower(name) {
			d.Hint = fmt.Sprintf("did you mean `%s`? (module %s's property %s is read by that name)", strings.ToUpper(long), strings.TrimSuffix(long, "_"+strings.ToLower(name)), name)
		} else if near := diag.Suggest(strings.ToLower(name), candidates); near != "" {
			d.Hint = fmt.Sprintf("did you mean `%s`?", strings.ToUpper(full[near]))
		} else {
			d.Hint = "it only reaches commands, as an environment variable"
		}
		out.Add(d)
	}
	return out
}

// checkOptions are the checker's options for a workflow of sys (nil: not
// a system workflow): the registry, git externs through the fetcher, the
// system's typed variables.
func (e *Engine) checkOptions(sys *system.System) check.Options {
	opt := check.Options{Registry: e.cfg.registry, ResolveGit: e.fetcher.Checkout, ReadFile: e.cfg.readFile}
	if sys != nil {
		opt.ExtraVars = sys.Types()
	}
	return opt
}

// Sets returns the engine's --set values, typed, over the values of its
// value files (WithValueFiles).
func (e *Engine) Sets() map[string]value.Value {
	out := map[string]value.Value{}
	for k, v := range e.cfg.values {
		out[k] = v
	}
	for k, v := range e.cfg.sets {
		out[k] = TypedSet(v)
	}
	return out
}

// TypedSet types a --set value as GXL reads scalars (value.ParseScalar):
// boolean words, integers and numbers keep their type, the rest is text.
func TypedSet(v string) value.Value { return value.ParseScalar(v) }

// Host returns the host settings built-ins see (Ctx.Host) for p.
func (e *Engine) Host(p *Program) builtin.Host {
	h := builtin.Host{Jobs: e.cfg.jobs, Mirrors: e.cfg.mirrors, Offline: e.cfg.offline, ModUp: e.cfg.modUp,
		Force: e.cfg.force, Location: e.TimeZone(), Now: e.now}
	if p != nil {
		h.SysRoot = p.SysRoot
	}
	return h
}

// HostFor returns the host settings of a run of file (its system root when
// it is a system workflow) without loading it.
func (e *Engine) HostFor(file string) builtin.Host {
	p := &Program{File: file}
	if root := SystemRoot(file); root != "" {
		p.SysRoot, _ = filepath.Abs(root)
	}
	return e.Host(p)
}

// RuntimeOptions are the runtime options of a run of p (without journal),
// for front ends that drive the runtime themselves (the debugger).
func (e *Engine) RuntimeOptions(p *Program) runtime.Options {
	c := e.cfg
	reg := c.registry
	var vars map[string]value.Value
	if p != nil {
		vars = p.Vars
		if p.Program != nil {
			reg = p.Registry
		}
	}
	return runtime.Options{
		Stdout: c.stdout, Stderr: c.stderr, Stdin: c.stdin, Dir: c.dir,
		DryRun: c.dryRun, Quiet: c.quiet, CmdArg: c.cmdArg, ModUp: c.modUp,
		Sets: e.Sets(), Extra: vars, Log: c.log, SecretsFile: c.secretsFile,
		Events: c.events, Warn: e.runWarn(), Live: c.live,
		Host: e.Host(p),
		Load: func(path string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
			return check.Load(path, check.Options{Registry: reg, ExtraVars: known, ResolveGit: e.fetcher.Checkout, Confine: confine})
		},
	}
}

// runWarn is a run's receiver of check warnings: each given once per run.
func (e *Engine) runWarn() func(diag.List, diag.Sources) {
	w := e.cfg.warn
	if w == nil {
		return nil
	}
	seen := &diag.Seen{}
	return func(ds diag.List, src diag.Sources) {
		if ds = seen.New(ds); len(ds) > 0 {
			w(ds, src)
		}
	}
}

// Envs returns the envs a run of p uses: the engine's, else "default" when
// p has it.
func (e *Engine) Envs(p *Program) []string {
	if len(e.cfg.envs) > 0 {
		return e.cfg.envs
	}
	if p.Program == nil {
		return nil
	}
	return DefaultEnvs(p.Program)
}

// DefaultEnvs are the envs of a run that names none: "default", unless the
// program has no env at all.
func DefaultEnvs(prog *check.Program) []string {
	if _, err := runtime.ResolveEnv(prog, "default"); err != nil {
		var any bool
		for _, mod := range []string{"main", "env", "envs"} {
			if m := prog.Module(mod); m != nil && len(m.Envs) > 0 {
				any = true
			}
		}
		if !any {
			return nil
		}
	}
	return []string{"default"}
}

// Preview walks what a run of flows of p would execute down to its
// statements, running nothing and changing nothing (gxl plan, the dry-run
// warnings): arguments resolved where the values are known before the
// run, secrets masked, the modules of each sys.stage call in priority
// groups with the statements of the flow each would run (a module's
// workflow is found where gxl check finds it, but never fetched: one not
// at hand is reported as unknown). With diff, the built-ins that can
// (k8s.apply) tell what each call would change (a server-side dry run).
func (e *Engine) Preview(ctx context.Context, p *Program, flows []string, diff bool) ([]*runtime.Preview, error) {
	if !p.OK() {
		return nil, fmt.Errorf("%s: the program has errors", p.File)
	}
	off := &fetch.Fetcher{Cache: e.fetcher.Cache, Mirrors: e.fetcher.Mirrors, Offline: true, Secrets: e.secret}
	// Modules are checked as gxl check checks them: with what the system
	// workflow may define (the preview does not know what a file read at
	// run time sets).
	co := sysops.CheckOptions{Registry: p.Registry, ResolveGit: off.Checkout}
	if p.sys != nil {
		co.Known, co.Open = moduleKnown(p.sys, p.Program)
	} else {
		co.Known = map[string]types.Type{}
		names, open := p.Program.Defines()
		for _, n := range names {
			co.Known[n] = types.Any
		}
		co.Open = open
	}
	dirOf := func(sys *system.System, m *system.Module) (sysops.Workflow, string) {
		lock, err := fetch.ReadLock(filepath.Join(sys.Root, "sys", "mod_list.lock"))
		if err != nil {
			lock = &fetch.Lock{}
		}
		wf, why := moduleDir(off, sys, m, lock)
		if wf.Dir == "" && !m.Addr.Local() {
			why = "module not fetched into sys/mods/" + m.Name + " nor in the module cache (gxl check, or the fetch stage, brings it)"
		}
		return wf, why
	}
	opt := e.RuntimeOptions(p)
	opt.Stdout, opt.Stderr, opt.Stdin = io.Discard, io.Discard, strings.NewReader("")
	r := runtime.New(p.Program, opt)
	return r.Preview(ctx, e.Envs(p), flows, runtime.PreviewOptions{Diff: diff, Expanders: sysops.Expanders(co, dirOf)})
}

// DryRunEffects lists the statements of a run of flows of p that may
// change something outside gxl and will really run: under the engine's
// dry run, those no #[dryrun] substitute replaced (with their flow).
// Computed from Preview; nothing runs.
func (e *Engine) DryRunEffects(ctx context.Context, p *Program, flows []string) ([]runtime.EffectStep, error) {
	ps, err := e.Preview(ctx, p, flows, false)
	if err != nil {
		return nil, err
	}
	return runtime.Effects(ps), nil
}

// selection resolves the engine's envs and flows in p: an unknown name
// is a diagnostic without a position (it comes from the command line) with
// the names there are.
func (e *Engine) selection(p *Program, flows []string) ([]*check.Env, []*check.Flow, error) {
	var envs []*check.Env
	for _, n := range e.Envs(p) {
		env, err := runtime.ResolveEnv(p.Program, n)
		if err != nil {
			return nil, nil, err
		}
		envs = append(envs, env)
	}
	var tops []*check.Flow
	for _, name := range flows {
		top, err := runtime.ResolveFlow(p.Program, name)
		if err != nil {
			return nil, nil, err
		}
		tops = append(tops, top)
	}
	return envs, tops, nil
}

// asDiag is err as a diagnostic (an error without a position when it is
// not one).
func asDiag(err error) diag.Diagnostic {
	var d diag.Diagnostic
	if errors.As(err, &d) {
		return d
	}
	return diag.Errorf(diag.Span{}, "usage", "%v", err)
}

// Run runs flows of p in a new run (NewRun, then Start).
func (e *Engine) Run(ctx context.Context, p *Program, flows []string) error {
	r, err := e.NewRun(p, flows)
	if err != nil {
		return err
	}
	return r.Start(ctx)
}

// Run is one run of a program: its journal and runtime options, made by
// NewRun or Resume and started with Start.
type Run struct {
	// Journal records the run (nil WithoutJournal).
	Journal *runtime.Journal
	// Options are the runtime options; a front end may set Hooks (the
	// debugger) before Start.
	Options runtime.Options
	// Envs and Flows are what the run runs.
	Envs, Flows []string
	prog        *Program
	runner      *runtime.Runner
}

// ID is the run's journal id ("" without a journal).
func (r *Run) ID() string {
	if r.Journal == nil {
		return ""
	}
	return r.Journal.ID
}

// Runner returns the run's runtime runner (made on first call; later
// changes to Options are not seen).
func (r *Run) Runner() *runtime.Runner {
	if r.runner == nil {
		r.runner = runtime.New(r.prog.Program, r.Options)
	}
	return r.runner
}

// Start runs the flows, records how the run ended (the journal's exit
// record) and closes the journal.
func (r *Run) Start(ctx context.Context) error {
	if r.Journal != nil {
		defer r.Journal.Close()
	}
	err := r.Runner().Run(ctx, r.Envs, r.Flows)
	r.Journal.Exit(err)
	return err
}

// NewRun prepares a run of flows of p (which must be OK): a new journal
// (unless WithoutJournal) records the header a resume needs. Secret values
// never reach the disk: a secret --set is recorded by name, and a resume
// asks for it again.
func (e *Engine) NewRun(p *Program, flows []string) (*Run, error) {
	if !p.OK() {
		return nil, fmt.Errorf("%s: the program has errors", p.File)
	}
	if _, _, err := e.selection(p, flows); err != nil {
		return nil, err // before a journal records a run that cannot start
	}
	if err := e.checkWindows(p, flows); err != nil {
		return nil, err
	}
	return e.newRun(p, flows, runtime.Header{})
}

// runShape is what a run of a program takes from the engine and the
// program, the same for every run of them: its runtime options, envs, and
// the file and sets its journal's header records, its bootstrap
// variables (runtime.BootCache). NewRun makes one for its run; an
// operator makes one for all its triggered runs (operation.shape), which
// copy it.
type runShape struct {
	opts       runtime.Options
	envs       []string
	file       string            // absolute
	sets       map[string]string // the --set values that are not secret
	secretSets []string          // the names of the secret ones, sorted
}

func (e *Engine) shapeRun(p *Program) *runShape {
	s := &runShape{opts: e.RuntimeOptions(p), envs: e.Envs(p)}
	s.opts.Boot = &runtime.BootCache{} // the bootstrap variables, for the runs of this shape
	s.file, _ = filepath.Abs(p.File)
	for k, v := range e.cfg.sets {
		if isSecretSet(k, s.opts.Sets, p.Vars) {
			s.secretSets = append(s.secretSets, k)
			continue
		}
		if s.sets == nil {
			s.sets = map[string]string{}
		}
		s.sets[k] = v
	}
	sort.Strings(s.secretSets)
	return s
}

// newRun prepares a run; h brings what an operated run records besides
// (its trigger, the failure an #[on_failure] flow handles).
func (e *Engine) newRun(p *Program, flows []string, h runtime.Header) (*Run, error) {
	return e.newShapedRun(e.shapeRun(p), nil, p, flows, h)
}

// newShapedRun prepares a run of p shaped by s (shapeRun of p), its
// journal in store (nil: the engine's run store).
func (e *Engine) newShapedRun(s *runShape, store runtime.RunStore, p *Program, flows []string, h runtime.Header) (*Run, error) {
	r := &Run{Options: s.opts, Envs: s.envs, Flows: flows, prog: p}
	r.Options.Warn = e.runWarn() // warnings once per run, not per shape
	if h.Failure != nil {
		r.Options.Failure = *h.Failure
	}
	if e.cfg.noJournal {
		return r, nil
	}
	h.File, h.Envs, h.Flows, h.DryRun, h.CmdArg, h.Dir = s.file, r.Envs, flows, e.cfg.dryRun, e.cfg.cmdArg, e.cfg.dir
	h.Sets, h.SecretSets = maps.Clone(s.sets), slices.Clone(s.secretSets)
	if store == nil {
		var err error
		if store, err = e.runStore(); err != nil {
			return nil, fmt.Errorf("cannot create the run journal: %w", err)
		}
	}
	if h.Trigger == "" {
		// An operator's runs: its own retention, applied periodically
		// (operation.retain), not at each of thousands of run starts.
		e.retain(store)
	}
	var j *runtime.Journal
	var err error
	if h.Trigger != "" {
		// An operator's run: in its store from its first change (or
		// failure) on; a probe that finds everything well never writes.
		j = runtime.CreateDeferredJournalIn(store, h)
	} else if j, err = runtime.CreateJournalIn(store, h); err != nil {
		return nil, fmt.Errorf("cannot create the run journal: %w", err)
	}
	j.Loaded(p.SysFiles)
	r.Journal = j
	r.Options.Journal = j
	r.Options.Log = withRunID(r.Options.Log, j.ID)
	return r, nil
}

// withRunID makes every event of a run carry its id.
func withRunID(l *zap.Logger, id string) *zap.Logger {
	if l == nil {
		return nil
	}
	return l.With(zap.String(logfmt.KeyRun, id))
}

// isSecretSet says whether --set NAME is a secret: a SEC_ name, a value
// marked secret, or a system variable declared secret.
func isSecretSet(name string, sets, vars map[string]value.Value) bool {
	if strings.HasPrefix(strings.ToUpper(name), "SEC_") {
		return true
	}
	if v, ok := sets[name]; ok && v.Secret() {
		return true
	}
	for k, v := range vars {
		if strings.EqualFold(k, name) && v.Secret() {
			return true
		}
	}
	return false
}

func (e *Engine) journalRoot() string {
	if e.cfg.journal != "" {
		return e.cfg.journal
	}
	return ProjectRoot(e.cfg.dir)
}

// Resumption is a journaled run about to be resumed.
type Resumption struct {
	State *runtime.ResumeState
	// Engine has the run's options: the file, envs, flows, dry run,
	// argument and sets of its header, under the sets given again.
	Engine *Engine
	// Changed lists the program's files that changed since the run
	// (only with WithResumeChanged).
	Changed []runtime.FileChange
}

// MissingSecretError is a resume of a run started with a secret --set,
// which is never written to disk, without the set given again.
type MissingSecretError struct{ ID, Name string }

func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("run %s was started with --set %s, a secret, which is never written to disk", e.ID, e.Name)
}

// OpenResume reads the journal of run id ("last": the newest) for a
// resume. The returned engine carries the run's own envs, dry run,
// argument and sets (the receiver's sets win).
func (e *Engine) OpenResume(id string) (*Resumption, error) {
	root := e.journalRoot()
	store, err := e.runStore()
	if err != nil {
		return nil, err
	}
	id, err = runtime.ResolveRunIDIn(store, id)
	if err != nil {
		return nil, err
	}
	rs, err := runtime.ReadJournalIn(store, id)
	if err != nil {
		return nil, err
	}
	h := rs.Header
	c := e.cfg
	c.envs, c.dryRun, c.cmdArg = h.Envs, h.DryRun, h.CmdArg
	sets := map[string]string{}
	for k, v := range h.Sets {
		sets[k] = v
	}
	for k, v := range e.cfg.sets {
		sets[k] = v
	}
	c.sets = sets
	for _, k := range h.SecretSets {
		if _, ok := e.cfg.sets[k]; !ok {
			return nil, &MissingSecretError{ID: id, Name: k}
		}
	}
	changed := rs.Changed()
	if len(changed) > 0 && !e.cfg.resumeChanged {
		return nil, &ProgramChangedError{ID: id, Changes: changed}
	}
	c.journal = root
	return &Resumption{State: rs, Engine: &Engine{cfg: c, fetcher: e.fetcher}, Changed: changed}, nil
}

// ProgramChangedError refuses a resume whose program files changed since
// the run: finished statements are found by their place in the program,
// which an edit moves (WithResumeChanged resumes anyway).
type ProgramChangedError struct {
	ID      string
	Changes []runtime.FileChange
}

func (e *ProgramChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s cannot be resumed: its program changed since it ran", e.ID)
	for _, c := range e.Changes {
		fmt.Fprintf(&b, "\n  %s: %s", c.Why, c.Path)
	}
	return b.String()
}

// Resume prepares the resumed run of p (loaded by the resumption's Engine
// from State.Header.File): finished statements are skipped, the journal
// goes on.
func (rs *Resumption) Resume(p *Program) (*Run, error) {
	if !p.OK() {
		return nil, fmt.Errorf("%s: the program has errors", p.File)
	}
	e := rs.Engine
	store, err := e.runStore()
	if err != nil {
		return nil, err
	}
	j, err := runtime.OpenJournalIn(store, rs.State.ID)
	if err != nil {
		return nil, err
	}
	j.Loaded(p.SysFiles)
	r := &Run{Options: e.RuntimeOptions(p), Envs: e.Envs(p), Flows: rs.State.Header.Flows, prog: p, Journal: j}
	if f := rs.State.Header.Failure; f != nil {
		r.Options.Failure = *f
	}
	r.Options.Journal = j
	r.Options.Resume = rs.State
	r.Options.Log = withRunID(r.Options.Log, j.ID)
	return r, nil
}
