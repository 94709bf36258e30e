// Package sysops implements the sys.* built-ins that drive a system (the
// folder holding sys/sys_model.yml, sys/mod_list.yml and sys/vars.yml)
// through its stages: sys.fetch brings every enabled module to
// sys/mods/<name> with go-git (lock file, mirrors, offline), sys.stage runs
// one stage flow of every module's workflows/operators.gxl in priority
// order (equal priorities in parallel, dependencies first, output prefixed
// per module), and sys.report prints the module × stage summary with the
// root failure of each failed module.
package sysops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/runtime"
	"go.uber.org/zap"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
	"github.com/gxl-dev/gxl/system/sched"
)

// ReportVar holds what every stage did, as a list of objects
// {module, stage, status, ms, error}: sys.report prints it and workflows
// may inspect it.
const ReportVar = "SYS_REPORT"

// ModuleWorkflow is where a module in gxl's layout keeps its stage flows
// (at the module's root).
const ModuleWorkflow = "workflows/operators.gxl"

// GmodWorkflow is the workflow of one platform variant of a module in
// gmod's layout (galaxy-ops): mod/<model>/_gal/work.gxl in the module's
// repository, <model>/_gal/work.gxl once gsys update placed it in
// sys/mods/<name>.
const GmodWorkflow = "_gal/work.gxl"

// Workflow is a module's workflow: the folder it runs in and its file.
type Workflow struct{ Dir, File string }

// ModelOf is the platform variant of module m that the system uses: the
// model of its mod_list.yml entry, else the system's.
func ModelOf(sys *system.System, m *system.Module) string {
	if m.Model != "" {
		return m.Model
	}
	return sys.Model.Model
}

// FindWorkflow finds the workflow of a module whose files are in base,
// for platform model, in the layouts a module may have: gxl's
// (base/workflows/operators.gxl), gmod's as gsys update places it
// (base/<model>/_gal/work.gxl) and gmod's as its repository holds it
// (base/mod/<model>/_gal/work.gxl). Every reader of a module (sys.stage,
// gxl check, gxl plan) finds it here. The error says what base holds.
func FindWorkflow(base, model string) (Workflow, error) {
	candidates := []Workflow{{Dir: base, File: ModuleWorkflow}}
	if model != "" {
		candidates = append(candidates,
			Workflow{Dir: filepath.Join(base, model), File: GmodWorkflow},
			Workflow{Dir: filepath.Join(base, "mod", model), File: GmodWorkflow})
	}
	for _, c := range candidates {
		f := filepath.Join(c.Dir, filepath.FromSlash(c.File))
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return Workflow{Dir: c.Dir, File: f}, nil
		}
	}
	// A gmod module without the wanted variant: name the ones it has.
	var have []string
	for _, d := range []string{base, filepath.Join(base, "mod")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(d, e.Name(), filepath.FromSlash(GmodWorkflow))); err == nil && e.IsDir() && e.Name() != "mod" {
				have = append(have, e.Name())
			}
		}
	}
	if len(have) > 0 {
		return Workflow{}, fmt.Errorf("%s has no variant for model %s (it has %s): set `model:` of the module in mod_list.yml", base, model, strings.Join(have, ", "))
	}
	want := ModuleWorkflow
	if model != "" {
		want += ", " + model + "/" + GmodWorkflow + " nor mod/" + model + "/" + GmodWorkflow
	}
	return Workflow{}, fmt.Errorf("%s has no %s", base, want)
}

// Register adds the sys.* family to r. Module workflows are checked
// against r before a stage runs any of them.
func Register(r *builtin.Registry) {
	cache := &stageCache{}
	r.Add(&builtin.Builtin{
		Name: "sys.fetch", Doc: "Fetch every enabled module of the system into sys/mods/<name> (a git repository or one of its folders at its tag, branch or rev; an http tarball, checksummed; a local path; see docs/modules.md), in parallel, recording commits and checksums in sys/mod_list.lock.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: []builtin.Param{
			{Name: "jobs", Type: types.Int, Doc: "modules fetched at once (default: gxl run --jobs, else 4)"},
			{Name: "cache", Type: types.String, Doc: "module cache folder (default: the user cache dir's gxl/modules)"},
			{Name: "out", Type: types.String, Default: value.Str("SYS_FETCHED"), Doc: "variable set to {module: {ref, commit, sha256, path}}"},
		},
		SetsVars: withReport("SYS_FETCHED"), Run: runFetch,
	})
	r.Add(&builtin.Builtin{
		Name: "sys.stage", Doc: "Run one stage flow of every enabled module: priority order, equal priorities in parallel, dependencies first; every module workflow is checked before any runs.",
		Where: builtin.InBlock, Effect: builtin.Runs,
		Params: []builtin.Param{
			{Name: "name", Type: types.String, Required: true, Positional: true, Doc: "the stage: the flow each module runs (setup, deploy, health_check, failover, ...)"},
			{Name: "jobs", Type: types.Int, Doc: "modules run at once (default: gxl run --jobs, else 4)"},
			{Name: "modules", Type: types.List, Doc: "only these modules (default: every enabled module)"},
			{Name: "every", Type: types.Duration, Doc: "watch mode: run the stage again after this pause, until it fails, times is reached or the run is interrupted"},
			{Name: "times", Type: types.Int, Doc: "with every: how many runs in all (0: no limit)"},
			{Name: "out", Type: types.String, Default: value.Str("SYS_STAGE"), Doc: "variable set to {module: status}"},
		},
		SetsVars: withReport("SYS_STAGE"),
		Run:      func(c builtin.Ctx, a builtin.Args) error { return runStage(r, cache, c, a) },
	})
	r.Add(&builtin.Builtin{
		Name: "sys.report", Doc: "Print the module × stage summary of this run (status and duration) and the root failure of each failed module.",
		Where: builtin.InBlock, Effect: builtin.Pure,
		Run: runReport,
	})
}

// withReport: the out variable and SYS_REPORT.
func withReport(def string) func(map[string]string) []string {
	out := builtin.OutVar(def)
	return func(a map[string]string) []string { return append(out(a), ReportVar) }
}

// jobs is the jobs argument, else the host's Jobs (gxl run --jobs), else 4.
func jobs(c builtin.Ctx, a builtin.Args) int {
	if n := a.Int("jobs"); n > 0 {
		return int(n)
	}
	if n := c.Host().Jobs; n > 0 {
		return n
	}
	return 4
}

// loadSystem loads the system of the running workflow.
var errNotSystem = errors.New("sys.*: not a system workflow (run a file under <system>/sys/workflows/)")

func loadSystem(c builtin.Ctx) (*system.System, error) {
	root := c.Host().SysRoot
	if root == "" {
		return nil, errNotSystem
	}
	sys, ds := system.Load(root, system.Options{})
	if ds.HasErrors() {
		return nil, fmt.Errorf("system %s: %w", root, ds.Err())
	}
	return sys, nil
}

func units(sys *system.System, only map[string]bool) []sched.Unit {
	var out []sched.Unit
	for _, m := range sys.Modules {
		if only != nil && !only[m.Name] {
			continue
		}
		deps := m.Depends
		if only != nil {
			deps = nil
			for _, d := range m.Depends {
				if only[d] {
					deps = append(deps, d)
				}
			}
		}
		out = append(out, sched.Unit{Name: m.Name, Priority: m.Priority, Depends: deps, Enabled: m.Enable})
	}
	return out
}

func modDir(sys *system.System, name string) string {
	return filepath.Join(sys.Root, "sys", "mods", name)
}

func runFetch(c builtin.Ctx, a builtin.Args) error {
	sys, err := loadSystem(c)
	if err != nil {
		return err
	}
	fe, err := fetcher(c)
	if err != nil {
		return err
	}
	fe.Cache = a.Str("cache")
	fe.Update = c.Host().ModUp
	lockPath := filepath.Join(sys.Root, "sys", "mod_list.lock")
	lock, err := fetch.ReadLock(lockPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(sys.Root, "sys", "mods"), 0o755); err != nil {
		return err
	}
	var mu sync.Mutex
	fetched := map[string]value.Value{}
	res, runErr := sched.Run(c.Context(), "fetch", units(sys, nil), jobs(c, a), c.Stdout(), func(ctx context.Context, u sched.Unit, w io.Writer) error {
		m := sys.Module(u.Name)
		// Each module works on its own lock entry; entries merge after.
		mu.Lock()
		own := &fetch.Lock{}
		for _, e := range lock.Modules {
			if e.Name == m.Name {
				own.Modules = append(own.Modules, e)
			}
		}
		mu.Unlock()
		// A git fetch can take a while: shown as a wait (a path module is
		// a local copy).
		var wait progress.Handle
		if from := m.Addr.Repo + m.Addr.URL; from != "" {
			wait = progress.Start(ctx, "fetch of "+m.Name+" from "+fetch.Redact(from))
		}
		e, err := fe.Fetch(sys.Root, m, modDir(sys, m.Name), own)
		if wait != nil {
			wait.Done(err)
		}
		if err != nil {
			return err
		}
		sub := ""
		if e.Path != "" {
			sub = " path " + e.Path
		}
		switch {
		case e.URL != "":
			fmt.Fprintf(w, "downloaded %s%s sha256 %s\n", e.URL, sub, e.SHA256[:12])
		case e.Repo != "":
			fmt.Fprintf(w, "fetched %s %s%s at %s\n", e.Repo, e.Ref, sub, e.Commit[:12])
		default:
			fmt.Fprintf(w, "copied %s\n", e.Path)
		}
		mu.Lock()
		defer mu.Unlock()
		replaced := false
		for i := range lock.Modules {
			if lock.Modules[i].Name == e.Name {
				lock.Modules[i], replaced = e, true
			}
		}
		if !replaced {
			lock.Modules = append(lock.Modules, e)
		}
		fetched[m.Name] = obj(map[string]value.Value{
			"ref": value.Str(e.Ref), "commit": value.Str(e.Commit), "sha256": value.Str(e.SHA256), "path": value.Str(modDir(sys, m.Name)),
		})
		return nil
	})
	if res != nil {
		record(c, res)
	}
	if err := lock.Write(lockPath); err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	c.Set(a.Str("out"), obj(fetched))
	return stageResult(c, "fetch", res, runErr)
}

// stageResult prints a one-line account of a stage, or its table when a
// module failed, and returns the stage's error.
func stageResult(c builtin.Ctx, stage string, res []sched.Result, err error) error {
	counts := map[sched.Status]int{}
	var total time.Duration
	for _, r := range res {
		counts[r.Status]++
		if r.Duration > total {
			total = r.Duration
		}
	}
	var parts []string
	for _, s := range []sched.Status{sched.OK, sched.NotApplicable, sched.Disabled, sched.Skipped, sched.Failed} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if c.Host().Events {
		// The stage's table as events: one per module, then the stage's.
		for _, r := range res {
			fields := []zap.Field{zap.String("stage", r.Stage), zap.String("module", r.Name), zap.String("status", string(r.Status)), zap.Duration("took", r.Duration)}
			if detail := resultDetail(r); detail != "" {
				fields = append(fields, zap.String("error", detail))
			}
			if r.Status == sched.Failed || r.Status == sched.Skipped {
				c.Logger().Warn("module "+string(r.Status), fields...)
				continue
			}
			c.Logger().Info("module "+string(r.Status), fields...)
		}
		fields := []zap.Field{zap.String("stage", stage), zap.Duration("took", total)}
		for _, s := range []sched.Status{sched.OK, sched.NotApplicable, sched.Disabled, sched.Skipped, sched.Failed} {
			fields = append(fields, zap.Int(string(s), counts[s]))
		}
		c.Logger().Info("stage "+stage+": "+strings.Join(parts, ", "), fields...)
		return err
	}
	fmt.Fprintf(c.Stdout(), "stage %s: %s\n", stage, strings.Join(parts, ", "))
	if err != nil {
		// The run stops here: the summary of every stage so far, with the
		// root failure of each failed module.
		printReport(c)
	}
	return err
}

// resultDetail is why a unit did not finish: its error's first line, or
// the failed dependency it was skipped for.
func resultDetail(r sched.Result) string {
	switch {
	case r.Err != nil:
		e, _, _ := strings.Cut(r.Err.Error(), "\n")
		return e
	case r.Cause != "":
		return "dependency " + r.Cause + " failed"
	}
	return ""
}

// record appends stage results to SYS_REPORT.
func record(c builtin.Ctx, res []sched.Result) {
	var list []value.Value
	if v, ok := c.Lookup(ReportVar); ok && v.Kind() == value.KList {
		list = append(list, v.ListVal()...)
	}
	for _, r := range res {
		e := ""
		if r.Err != nil {
			e = r.Err.Error()
		} else if r.Cause != "" {
			e = "dependency " + r.Cause + " failed"
		}
		list = append(list, obj(map[string]value.Value{
			"module": value.Str(r.Name), "stage": value.Str(r.Stage), "status": value.Str(string(r.Status)),
			"ms": value.Int(r.Duration.Milliseconds()), "error": value.Str(e),
		}))
	}
	c.Set(ReportVar, value.List(list...))
}

// modProgram is a module's checked workflow.
type modProgram struct {
	dir, file string
	prog      *check.Program
}

func runStage(reg *builtin.Registry, cache *stageCache, c builtin.Ctx, a builtin.Args) error {
	stage := a.Str("name")
	root := c.Host().SysRoot
	if root == "" {
		return errNotSystem
	}
	sys, ds := cache.system(root)
	if ds.HasErrors() {
		return fmt.Errorf("system %s: %w", root, ds.Err())
	}
	var only map[string]bool
	if l, ok := a.Value("modules"); ok && l.IsValid() {
		only = map[string]bool{}
		for _, v := range l.ListVal() {
			if sys.Module(v.String()) == nil {
				return fmt.Errorf("sys.stage: unknown module %q", v.String())
			}
			only[v.String()] = true
		}
	}
	us := units(sys, only)
	// Check every participating module before running any: a module
	// that is missing or does not check stops the stage before it starts.
	known := varNames(c)
	progs := map[string]modProgram{}
	var problems []string
	for _, u := range us {
		if !u.Enabled {
			continue
		}
		wf, err := FindWorkflow(modDir(sys, u.Name), ModelOf(sys, sys.Module(u.Name)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("module %s is not fetched (%v): run the fetch stage (or gsys update) first", u.Name, err))
			continue
		}
		dir, file := wf.Dir, wf.File
		prog, ds := cache.module(file, dir, known, CheckOptions{Registry: reg, ResolveGit: gitResolver(c)})
		if ds.HasErrors() {
			var b bytes.Buffer
			srcs := diag.SourceMap{}
			if prog != nil {
				srcs = prog.Sources
			}
			diag.Render(&b, ds, srcs, diag.RenderOptions{})
			problems = append(problems, fmt.Sprintf("module %s: %s does not check:\n%s", u.Name, file, strings.TrimRight(b.String(), "\n")))
			continue
		}
		c.Warn(ds, prog.Sources)
		progs[u.Name] = modProgram{dir: dir, file: file, prog: prog}
	}
	if len(problems) > 0 {
		return fmt.Errorf("stage %s did not start:\n%s", stage, strings.Join(problems, "\n"))
	}
	every, times := a.Duration("every"), int(a.Int("times"))
	for n := 1; ; n++ {
		err := runStageOnce(c, a, sys, stage, us, progs, n)
		if err != nil || every <= 0 || (times > 0 && n >= times) {
			return err
		}
		select {
		case <-c.Context().Done():
			return c.Context().Err()
		case <-time.After(every):
		}
	}
}

// n counts the rounds of a repeating stage: each module's run in each
// round has a journal label of its own.
func runStageOnce(c builtin.Ctx, a builtin.Args, sys *system.System, stage string, us []sched.Unit, progs map[string]modProgram, n int) error {
	res, runErr := sched.Run(c.Context(), stage, us, jobs(c, a), c.Stdout(), func(ctx context.Context, u sched.Unit, w io.Writer) error {
		mp := progs[u.Name]
		if m := mp.prog.Module("main"); m == nil || m.Flow(stage) == nil {
			return fmt.Errorf("no %s flow: %w", stage, sched.ErrNotApplicable)
		}
		m := sys.Module(u.Name)
		conf, err := filepath.Rel(mp.dir, mp.file)
		if err != nil {
			conf = mp.file
		}
		return runtime.RunNestedProgram(c, mp.prog, builtin.NestedRun{
			Dir: mp.dir, Conf: conf, Flows: []string{stage},
			Vars:   stageVars(m, mp.dir, stage),
			Unset:  stageUnset,
			Stdout: w, Stderr: w, Ctx: ctx, Label: fmt.Sprintf("%s.%d", u.Name, n), Module: u.Name,
		})
	})
	if res != nil {
		record(c, res)
		status := map[string]value.Value{}
		for _, r := range res {
			status[r.Name] = value.Str(string(r.Status))
		}
		c.Set(a.Str("out"), obj(status))
	}
	return stageResult(c, stage, res, runErr)
}

// stageVars are the variables module m's stage flow starts with (besides
// a copy of the system workflow's, stageUnset removed).
func stageVars(m *system.Module, dir, stage string) map[string]value.Value {
	return map[string]value.Value{
		"MODULE_NAME": value.Str(m.Name), "MODULE_DIR": value.Str(dir),
		"MODULE_MODEL": value.Str(m.Model), "MODULE_PRIORITY": value.Int(int64(m.Priority)),
		"STAGE": value.Str(stage),
	}
}

// stageUnset is the bookkeeping a module's stage flow does not get.
var stageUnset = []string{ReportVar, "SYS_STAGE", "SYS_FETCHED"}

// Expanders are the runtime's expanders of the sys.* built-ins that run
// other programs (sys.stage), for runtime.PreviewOptions.
func Expanders(o CheckOptions, moduleDir func(*system.System, *system.Module) (Workflow, string)) map[string]runtime.Expander {
	return map[string]runtime.Expander{"sys.stage": StageExpander(o, moduleDir)}
}

// StageExpander expands a sys.stage call for a preview (gxl plan, the
// dry-run warnings) as runStage would run it, changing nothing: the
// modules in priority groups with their dependencies, each module's
// workflow found by moduleDir (never fetched) and checked as the stage
// checks it, and the flow it would run with the variables it would get.
// A module whose workflow cannot be found or does not check is a unit
// without a program and a note saying why.
func StageExpander(o CheckOptions, moduleDir func(*system.System, *system.Module) (Workflow, string)) runtime.Expander {
	return func(c builtin.Ctx, a builtin.Args) (*runtime.Expansion, error) {
		stage := a.Str("name")
		sys, err := loadSystem(c)
		if err != nil {
			return nil, err
		}
		var only map[string]bool
		if l, ok := a.Value("modules"); ok && l.IsValid() {
			only = map[string]bool{}
			for _, v := range l.ListVal() {
				if sys.Module(v.String()) == nil {
					return nil, fmt.Errorf("sys.stage: unknown module %q", v.String())
				}
				only[v.String()] = true
			}
		}
		known := map[string]types.Type{}
		for n, t := range o.Known {
			known[n] = t
		}
		for n := range c.Vars() {
			if _, ok := known[n]; !ok {
				known[n] = types.Any
			}
		}
		co := o
		co.Known = known
		e := &runtime.Expansion{Kind: "stage", Name: stage}
		for _, g := range sched.Groups(units(sys, only)) {
			eg := runtime.ExpansionGroup{Priority: g[0].Priority}
			for _, u := range g {
				m := sys.Module(u.Name)
				eu := runtime.ExpansionUnit{Name: u.Name, Depends: u.Depends, Enabled: u.Enabled, Flow: stage}
				if u.Enabled {
					expandUnit(&eu, sys, m, stage, co, moduleDir)
				}
				eg.Units = append(eg.Units, eu)
			}
			e.Groups = append(e.Groups, eg)
		}
		return e, nil
	}
}

func expandUnit(eu *runtime.ExpansionUnit, sys *system.System, m *system.Module, stage string, o CheckOptions, moduleDir func(*system.System, *system.Module) (Workflow, string)) {
	wf, why := moduleDir(sys, m)
	if wf.Dir == "" {
		eu.Note = "its steps cannot be known: " + why
		return
	}
	dir, file := wf.Dir, wf.File
	eu.File, eu.Dir = file, dir
	prog, ds := CheckModule(file, dir, o)
	if ds.HasErrors() {
		eu.Note = fmt.Sprintf("its workflow does not check (%d errors; gxl check shows them): its steps cannot be known", len(ds.Errors()))
		return
	}
	eu.Program = prog
	eu.Vars = stageVars(m, dir, stage)
	eu.Unset = stageUnset
}

// moduleVars are the variables every module's stage flow receives, with
// their types (runStageOnce sets them).
var moduleVars = map[string]types.Type{
	"MODULE_NAME": types.String, "MODULE_DIR": types.String, "MODULE_MODEL": types.String,
	"MODULE_PRIORITY": types.Int, "STAGE": types.String,
}

// CheckOptions configure CheckModule.
type CheckOptions struct {
	Registry *builtin.Registry
	// Known are the variables of the system workflow the module runs
	// under (the system's typed variables); the module variables
	// (MODULE_NAME, MODULE_DIR, ...) are added.
	Known map[string]types.Type
	// ResolveGit resolves the module's git externs.
	ResolveGit func(url, ref string) (string, error)
	// Open: the system workflow may define any variable before the stage
	// (check.Options.OpenVars). A stage's own check knows the variables
	// the run has; gxl check knows only what the system workflow may
	// define (check.Program.Defines).
	Open bool
	// Parsed shares parsed library files between module checks.
	Parsed *check.ParseCache
	// ReadFile reads the module's files (check.Options.ReadFile).
	ReadFile func(string) ([]byte, error)
}

// CheckModule checks file, a workflow of the module in dir (sys.stage
// runs dir/workflows/operators.gxl), as sys.stage runs it: with the known
// variables and the module variables, in its folder, loading only files
// inside it (spec I.4: relative externs resolve there, and none reaches
// out of it). sys.stage checks every participating module with it before a
// stage starts, and gxl check of a system workflow every enabled module.
func CheckModule(file, dir string, o CheckOptions) (*check.Program, diag.List) {
	known := make(map[string]types.Type, len(o.Known)+len(moduleVars))
	for n, t := range o.Known {
		known[n] = t
	}
	for n, t := range moduleVars {
		known[n] = t
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return check.Load(file, check.Options{Registry: o.Registry, ExtraVars: known, ResolveGit: o.ResolveGit, Dir: dir, Confine: dir, OpenVars: o.Open, Parsed: o.Parsed, ReadFile: o.ReadFile})
}

// fetcher is the module fetcher of the run: the mirrors and the offline
// setting of the host (Ctx.Host: gxl run --mirror, GXL_MIRRORS, --offline).
func fetcher(c builtin.Ctx) (*fetch.Fetcher, error) {
	fe := &fetch.Fetcher{Protect: builtin.Protected(c)}
	h := c.Host()
	ms, err := fetch.ParseMirrors(h.Mirrors...)
	if err != nil {
		return nil, err
	}
	fe.Mirrors = ms
	fe.Offline = h.Offline
	// A module's token: ${SEC_GIT_TOKEN} is the run's SEC_GIT_TOKEN (the
	// secrets file's git_token), masked in everything the run prints.
	fe.Secrets = func(name string) (string, bool) {
		v, ok := c.Lookup(name)
		if !ok || v.Kind() != value.KString && v.Kind() != value.KInt {
			return "", false
		}
		return v.String(), true
	}
	return fe, nil
}

// gitResolver resolves git externs of module workflows like the run's own.
func gitResolver(c builtin.Ctx) func(url, ref string) (string, error) {
	return func(url, ref string) (string, error) {
		fe, err := fetcher(c)
		if err != nil {
			return "", err
		}
		return fe.Checkout(url, ref)
	}
}

func runReport(c builtin.Ctx, _ builtin.Args) error {
	printReport(c)
	return nil
}

// printReport prints the module × stage table of SYS_REPORT, then the
// root failures and skipped dependents.
func printReport(c builtin.Ctx) {
	v, ok := c.Lookup(ReportVar)
	if !ok || v.Kind() != value.KList || len(v.ListVal()) == 0 {
		if c.Host().Events {
			c.Logger().Info("sys.report: no stage has run")
			return
		}
		fmt.Fprintln(c.Stdout(), "sys.report: no stage has run")
		return
	}
	if c.Host().Events {
		// One event per cell of the table, in the order stages ran.
		for _, e := range v.ListVal() {
			if e.Kind() != value.KObject {
				continue
			}
			get := func(k string) string { x, _ := e.ObjVal().Get(k); return x.String() }
			ms, _ := e.ObjVal().Get("ms")
			fields := []zap.Field{zap.String("stage", get("stage")), zap.String("module", get("module")), zap.String("status", get("status")),
				zap.Duration("took", time.Duration(ms.IntVal())*time.Millisecond)}
			if er := get("error"); er != "" {
				fields = append(fields, zap.String("error", er))
			}
			c.Logger().Info("report", fields...)
		}
		return
	}
	type cell struct {
		status string
		ms     int64
	}
	var mods, stages []string
	seenM, seenS := map[string]bool{}, map[string]bool{}
	cells := map[[2]string]cell{}
	var failures []string
	for _, e := range v.ListVal() {
		if e.Kind() != value.KObject {
			continue
		}
		get := func(k string) string { x, _ := e.ObjVal().Get(k); return x.String() }
		m, s := get("module"), get("stage")
		if !seenM[m] {
			seenM[m] = true
			mods = append(mods, m)
		}
		if !seenS[s] {
			seenS[s] = true
			stages = append(stages, s)
		}
		ms, _ := e.ObjVal().Get("ms")
		cells[[2]string{m, s}] = cell{get("status"), ms.IntVal()}
		switch get("status") {
		case string(sched.Failed):
			failures = append(failures, fmt.Sprintf("root failure %s/%s: %s", m, s, get("error")))
		case string(sched.Skipped):
			failures = append(failures, fmt.Sprintf("skipped %s/%s: %s", m, s, get("error")))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s", "MODULE")
	for _, s := range stages {
		fmt.Fprintf(&b, " %-16s", strings.ToUpper(s))
	}
	b.WriteString("\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "%-26s", m)
		for _, s := range stages {
			c, ok := cells[[2]string{m, s}]
			txt := "-"
			if ok {
				txt = c.status
				if c.status == string(sched.OK) || c.status == string(sched.Failed) {
					txt += " " + (time.Duration(c.ms) * time.Millisecond).String()
				}
			}
			fmt.Fprintf(&b, " %-16s", txt)
		}
		b.WriteString("\n")
	}
	for _, f := range failures {
		b.WriteString(f + "\n")
	}
	fmt.Fprint(c.Stdout(), b.String())
}

// obj builds an object value with keys in sorted order.
func obj(m map[string]value.Value) value.Value {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := value.NewObject()
	for _, k := range keys {
		o.Set(k, m[k])
	}
	return value.Obj(o)
}
