package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/repl"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
)

func init() {
	register(newRunCmd)
	register(newPlanCmd)
}

// runFlags are the options shared by run and plan.
type runFlags struct {
	file      string
	envs      []string
	dryrun    bool
	sets      []string
	quiet     string
	logFormat string
	verbose   bool
	resume    string
	// resumeChanged resumes a run whose program changed since.
	resumeChanged bool
	modUp         bool
	fetch         fetchFlags
	debug         bool
	breaks        []string
	jobs          int
}

func (f *runFlags) bind(cmd *cobra.Command, withRun bool) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "GXL file (default ./_gal/work.gxl)")
	fl.StringSliceVarP(&f.envs, "env", "e", nil, "env name(s), comma-separated or repeated (default: default)")
	fl.BoolVar(&f.dryrun, "dryrun", false, "substitute #[dryrun(...)] flows and set GXL_CMD_DRYRUN")
	fl.StringArrayVar(&f.sets, "set", nil, "set a variable: --set NAME=value (repeatable)")
	f.fetch.bind(fl)
	if withRun {
		fl.StringVarP(&f.quiet, "quiet", "q", "false", "do not print commands and their output")
		fl.Lookup("quiet").NoOptDefVal = "true"
		fl.StringVar(&f.logFormat, "log-format", "console", "log format: console or json")
		fl.BoolVarP(&f.verbose, "verbose", "v", false, "verbose logs")
		fl.StringVar(&f.resume, "resume", "", "resume a run: its id or `last`")
		fl.BoolVar(&f.resumeChanged, "resume-changed", false, "resume even though the program's files changed since the run (lists what will be skipped first)")
		fl.BoolVar(&f.modUp, "mod_up", false, "refresh git externs and accept moved module tags (sets GXL_CMD_MODUP)")
		fl.IntVarP(&f.jobs, "jobs", "j", 4, "modules a system stage runs at once (sets GXL_JOBS)")
		fl.BoolVar(&f.debug, "debug", false, "open the debugger prompt on the first failing step (and at --break points)")
		fl.StringArrayVar(&f.breaks, "break", nil, "stop in the debugger at a flow or FILE:LINE (repeatable; implies --debug)")
	}
}

// splitArgs separates the file (a first argument ending in .gxl), flow
// names (also a,b) and the argument after --.
func (f *runFlags) splitArgs(cmd *cobra.Command, args []string) (file string, flows []string, cmdArg string) {
	file = f.file
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		cmdArg = strings.Join(args[dash:], " ")
		args = args[:dash]
	}
	if len(args) > 0 && strings.HasSuffix(args[0], ".gxl") && file == "" {
		file, args = args[0], args[1:]
	}
	if file == "" {
		file = defaultFile
	}
	for _, a := range args {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p != "" {
				flows = append(flows, p)
			}
		}
	}
	return file, flows, cmdArg
}

func (f *runFlags) envList() []string {
	var out []string
	for _, e := range f.envs {
		for _, p := range strings.Split(e, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseSets turns --set K=V into typed values: true/false, integers and
// floats keep their type, everything else is a string.
func parseSets(sets []string) (map[string]value.Value, map[string]string, error) {
	out := map[string]value.Value{}
	raw := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, nil, fmt.Errorf("--set %q: write NAME=value", s)
		}
		k = strings.TrimSpace(k)
		raw[k] = v
		out[k] = typedValue(v)
	}
	return out, raw, nil
}

func typedValue(v string) value.Value {
	switch v {
	case "true":
		return value.Bool(true)
	case "false":
		return value.Bool(false)
	}
	if u, err := strconv.ParseUint(v, 10, 64); err == nil && fmt.Sprint(u) == v {
		return value.Uint(u)
	}
	return value.Str(v)
}

// systemRoot returns the system folder of a workflow written at
// <root>/sys/workflows/*.gxl, or "".
func systemRoot(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	wf := filepath.Dir(abs)
	if filepath.Base(wf) != "workflows" || filepath.Base(filepath.Dir(wf)) != "sys" {
		return ""
	}
	root := filepath.Dir(filepath.Dir(wf))
	// Relative to the working directory when below it: shorter diagnostics.
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, root); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return root
}

// loadProgram loads and checks a file — with the typed variables of its
// system when it is a system workflow; diagnostics are printed, and a
// program with errors never starts (exit 2).
func loadProgram(s *streams, file string, sets map[string]string, fe *fetch.Fetcher) (*check.Program, map[string]value.Value, error) {
	prog, extra, _, err := loadProgramSources(s, file, sets, fe)
	return prog, extra, err
}

// loadProgramSources is loadProgram that also returns the system's files
// (sys_model.yml, mod_list.yml, vars.yml) with their content, for the
// journal's record of what a run loaded.
func loadProgramSources(s *streams, file string, sets map[string]string, fe *fetch.Fetcher) (*check.Program, map[string]value.Value, map[string][]byte, error) {
	srcs := &diag.FileSources{}
	sysSrcs := map[string][]byte{}
	var all diag.List
	opt := check.Options{Registry: engine.Registry(), ResolveGit: fe.Checkout}
	var extra map[string]value.Value
	if root := systemRoot(file); root != "" {
		sys, ds := system.Load(root, system.Options{Set: sets})
		for f, src := range sys.Sources {
			srcs.Add(f, src)
			sysSrcs[f] = src
		}
		all.Add(ds...)
		opt.ExtraVars = sys.Types()
		extra = sys.Values()
		abs, _ := filepath.Abs(root)
		extra["GXL_SYS_ROOT"] = value.Str(abs)
	}
	prog, ds := check.Load(file, opt)
	all.Add(ds...)
	if prog != nil {
		for f, src := range prog.Sources {
			srcs.Add(f, src)
		}
	}
	if len(all) > 0 {
		diag.Render(s.err, all, srcs, diag.RenderOptions{Color: isTerminal(s.err)})
	}
	if all.HasErrors() {
		fmt.Fprintf(s.err, "\n%s: the workflow was not started\n", diag.Summary(all))
		return nil, nil, nil, &exitError{code: exitUsage}
	}
	return prog, extra, sysSrcs, nil
}

func newLogger(s *streams, format string, verbose, quiet bool) (*zap.Logger, error) {
	cfg := zapcore.EncoderConfig{
		MessageKey:     "msg",
		LevelKey:       "level",
		TimeKey:        "ts",
		NameKey:        "logger",
		EncodeTime:     zapcore.TimeEncoderOfLayout("15:04:05.000"),
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
	}
	var enc zapcore.Encoder
	switch format {
	case "console":
		if isTerminal(s.err) {
			cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		cfg.ConsoleSeparator = "  "
		enc = zapcore.NewConsoleEncoder(cfg)
	case "json":
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	default:
		return nil, failf(exitUsage, "--log-format must be console or json")
	}
	level := zapcore.InfoLevel
	if verbose {
		level = zapcore.DebugLevel
	}
	if quiet {
		level = zapcore.WarnLevel
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(s.err), level)), nil
}

func newRunCmd(s *streams) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [FILE.gxl] [FLOW...] [-- ARG]",
		Short: "Run flows of a GXL workflow",
		Long: `Run flows of a GXL workflow. The file is checked first: a workflow with errors
never starts (exit 2). Without a flow, the menu of envs and flows is printed.
Exit status: 0 success, 1 a step failed, 2 usage/check/load error.
Each run is journaled under .gxl/runs/<id>; --resume last continues a failed or
killed run: finished statements are skipped, the interrupted one runs again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, flows, cmdArg := f.splitArgs(cmd, args)
			quiet := f.quiet == "true"
			if f.quiet != "true" && f.quiet != "false" {
				return failf(exitUsage, "-q takes true or false")
			}
			sets, rawSets, err := parseSets(f.sets)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			log, err := newLogger(s, f.logFormat, f.verbose, quiet)
			if err != nil {
				return err
			}
			envs := f.envList()
			dir, _ := os.Getwd()
			root := projectRootFor(dir)
			var resume *runtime.ResumeState
			var journal *runtime.Journal
			if f.resume != "" {
				id, err := runtime.ResolveRunID(root, f.resume)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				resume, err = runtime.ReadJournal(root, id)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				h := resume.Header
				file, envs, flows, cmdArg = h.File, h.Envs, h.Flows, h.CmdArg
				f.dryrun = h.DryRun
				for k, v := range h.Sets {
					if _, ok := rawSets[k]; !ok {
						rawSets[k] = v
						sets[k] = typedValue(v)
					}
				}
				for _, k := range h.SecretSets {
					if _, ok := rawSets[k]; !ok {
						return failf(exitUsage, "run %s was started with --set %s, a secret, which is never written to disk\nhint: give it again: gxl run --resume %s --set %s=...", id, k, f.resume, k)
					}
				}
				if err := checkResumable(s, resume, f.resumeChanged); err != nil {
					return err
				}
				if journal, err = runtime.OpenJournal(root, id); err != nil {
					return failf(exitUsage, "%v", err)
				}
				log.Info("resuming run", zap.String("run", id), zap.Strings("flows", flows))
			}
			fe, err := f.fetch.fetcher(f.modUp)
			if err != nil {
				return err
			}
			prog, extra, sysSrcs, err := loadProgramSources(s, file, rawSets, fe)
			if err != nil {
				return err
			}
			if extra == nil {
				extra = map[string]value.Value{}
			}
			for k, v := range f.fetch.vars() {
				extra[k] = v
			}
			if f.jobs < 1 {
				return failf(exitUsage, "--jobs must be at least 1")
			}
			extra["GXL_JOBS"] = value.Int(int64(f.jobs))
			if len(flows) == 0 {
				fmt.Fprint(s.out, runtime.Menu(prog, isTerminal(s.out)))
				return nil
			}
			if len(envs) == 0 {
				envs = defaultEnvs(prog)
			}
			if journal == nil {
				abs, _ := filepath.Abs(file)
				h := runtime.Header{File: abs, Envs: envs, Flows: flows, DryRun: f.dryrun, CmdArg: cmdArg, Dir: dir}
				// Secret values never reach the disk: a secret --set is
				// recorded by name, and a resume asks for it again.
				for k, v := range rawSets {
					if isSecretSet(k, sets, extra) {
						h.SecretSets = append(h.SecretSets, k)
						continue
					}
					if h.Sets == nil {
						h.Sets = map[string]string{}
					}
					h.Sets[k] = v
				}
				sort.Strings(h.SecretSets)
				journal, err = runtime.CreateJournal(root, h)
				if err != nil {
					return failf(exitUsage, "cannot create the run journal: %v", err)
				}
				log.Debug("run", zap.String("id", journal.ID), zap.String("journal", journal.Path))
			}
			defer journal.Close()
			journal.Loaded(sysSrcs)
			debug := f.debug || len(f.breaks) > 0
			// Under the debugger Ctrl-C cancels the running statement and
			// opens the prompt; SIGTERM still cancels the run.
			sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
			if debug {
				sigs = sigs[1:]
			}
			ctx, stop := signalContext(sigs...)
			defer stop()
			opt := runtime.Options{
				Stdout: s.out, Stderr: s.err, Stdin: s.in, Dir: dir,
				DryRun: f.dryrun, Quiet: quiet, CmdArg: cmdArg, ModUp: f.modUp,
				Sets: sets, Extra: extra, Log: log, Journal: journal, Resume: resume,
				Load: func(p string, known map[string]types.Type, confine string) (*check.Program, diag.List) {
					return check.Load(p, check.Options{Registry: prog.Registry, ExtraVars: known, ResolveGit: fe.Checkout, Confine: confine})
				},
			}
			var sess *repl.Session
			if debug {
				sess = repl.New(debugConfig(s, repl.Config{
					File: file, Program: prog, Extra: extra, Envs: envs, Sets: sets, Breaks: f.breaks, Options: opt,
				}))
				defer sess.Close()
				if sess.BadBreaks() > 0 {
					return &exitError{code: exitUsage}
				}
				opt.Hooks = sess
			}
			r := runtime.New(prog, opt)
			if sess != nil {
				sess.Attach(r)
			}
			err = r.Run(ctx, envs, flows)
			log.Sync()
			if err != nil {
				var se *runtime.StepError
				if errors.As(err, &se) {
					reportFailure(s, log, f.logFormat, se, prog, journal.ID)
					return &exitError{code: exitFailed}
				}
				var d diag.Diagnostic
				if errors.As(err, &d) {
					diag.RenderOne(s.err, d, nil, diag.RenderOptions{})
					return &exitError{code: exitUsage}
				}
				return failf(exitFailed, "%v", err)
			}
			return nil
		},
	}
	f.bind(cmd, true)
	return cmd
}

// isSecretSet says whether --set NAME is a secret: a SEC_ name, a value
// marked secret, or a system variable declared secret.
func isSecretSet(name string, sets, extra map[string]value.Value) bool {
	if strings.HasPrefix(strings.ToUpper(name), "SEC_") {
		return true
	}
	if v, ok := sets[name]; ok && v.Secret() {
		return true
	}
	for k, v := range extra {
		if strings.EqualFold(k, name) && v.Secret() {
			return true
		}
	}
	return false
}

// checkResumable refuses to resume a run whose program changed since it
// ran (exit 2, with what changed), unless resumeChanged is set: then it
// prints what changed and the finished statements that will be skipped.
func checkResumable(s *streams, rs *runtime.ResumeState, resumeChanged bool) error {
	changed := rs.Changed()
	if len(changed) == 0 {
		return nil
	}
	var b strings.Builder
	for _, c := range changed {
		fmt.Fprintf(&b, "  %s: %s\n", c.Why, c.Path)
	}
	if !resumeChanged {
		fmt.Fprintf(s.err, "error: run %s cannot be resumed: its program changed since it ran\n%s", rs.ID, b.String())
		fmt.Fprintf(s.err, "hint: finished statements are skipped by their place in the program, which an edit moves; start a new run, or resume anyway with --resume-changed (it lists what it will skip)\n")
		return &exitError{code: exitUsage}
	}
	fmt.Fprintf(s.err, "warning: run %s: its program changed since it ran\n%s", rs.ID, b.String())
	fin := rs.Finished()
	fmt.Fprintf(s.err, "resuming anyway (--resume-changed): %d finished statements will be skipped:\n", len(fin))
	for _, f := range fin {
		fmt.Fprintf(s.err, "  skip %s %s\n", f.At, f.Name)
	}
	return nil
}

// reportFailure reports a failed step once: in the console as the one
// diagnostic rendering (position, source line, caret, hint, flow stack,
// how to resume); with --log-format json as one error event carrying the
// same facts. The runtime itself does not log the failure at error level.
func reportFailure(s *streams, log *zap.Logger, format string, se *runtime.StepError, prog *check.Program, runID string) {
	d := se.Diagnostic()
	resume := "gxl run --resume " + runID
	if format == "json" {
		stack := make([]string, len(se.Frames))
		for i, f := range se.Frames {
			stack[i] = f.String()
		}
		fields := []zap.Field{zap.String("at", d.Span.Start.String()), zap.String("code", d.Code),
			zap.String("error", d.Summary), zap.Strings("stack", stack), zap.String("run", runID), zap.String("resume", resume)}
		if d.Hint != "" {
			fields = append(fields, zap.String("hint", d.Hint))
		}
		if len(d.Notes) > 0 && se.Stop != nil {
			fields = append(fields, zap.String("interrupted", strings.TrimPrefix(d.Notes[0], "interrupted: ")))
		}
		log.Error("step failed", fields...)
		log.Sync()
		return
	}
	// The program's files, and any other (a nested run's, a module's)
	// from disk.
	srcs := &diag.FileSources{}
	for f, src := range prog.Sources {
		srcs.Add(f, src)
	}
	fmt.Fprintln(s.err)
	diag.RenderOne(s.err, d.WithNote("resume with: %s", resume), srcs, diag.RenderOptions{Color: isTerminal(s.err)})
}

// signalContext is cancelled by the first of sigs, with a
// builtin.SignalError naming it as the cause.
func signalContext(sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(&builtin.SignalError{Signal: signalName(sig)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// projectRootFor is where .gxl/ lives: the folder holding _gal/project.toml
// above dir, else dir itself.
func projectRootFor(dir string) string {
	d := dir
	for {
		if _, err := os.Stat(filepath.Join(d, "_gal", "project.toml")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

func newPlanCmd(s *streams) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "plan [FILE.gxl] FLOW...",
		Short: "Show what a run would execute, running nothing",
		RunE: func(cmd *cobra.Command, args []string) error {
			file, flows, _ := f.splitArgs(cmd, args)
			_, rawSets, err := parseSets(f.sets)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			fe, err := f.fetch.fetcher(false)
			if err != nil {
				return err
			}
			prog, _, err := loadProgram(s, file, rawSets, fe)
			if err != nil {
				return err
			}
			if len(flows) == 0 {
				return failf(exitUsage, "name a flow to plan")
			}
			envs := f.envList()
			if len(envs) == 0 {
				envs = defaultEnvs(prog)
			}
			var resolved []*check.Env
			for _, n := range envs {
				e, err := runtime.ResolveEnv(prog, n)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				resolved = append(resolved, e)
			}
			for _, name := range flows {
				top, err := runtime.ResolveFlow(prog, name)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				plan, err := runtime.BuildPlan(prog, resolved, top, f.dryrun)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				fmt.Fprintf(s.out, "plan for %s:\n%s", top.QualifiedName(), plan.Describe())
			}
			return nil
		},
	}
	f.bind(cmd, false)
	return cmd
}

// defaultEnvs is the env used without -e: "default", when the program
// defines it (a program without envs runs without one).
func defaultEnvs(prog *check.Program) []string {
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
