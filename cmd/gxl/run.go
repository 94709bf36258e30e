package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/repl"
	"github.com/gxl-dev/gxl/runtime"
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
	keepRuns      string
	force         bool
	tz            string
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
		fl.IntVarP(&f.jobs, "jobs", "j", 4, "modules a system stage runs at once")
		fl.BoolVar(&f.debug, "debug", false, "open the debugger prompt on the first failing step (and at --break points)")
		fl.StringArrayVar(&f.breaks, "break", nil, "stop in the debugger at a flow or FILE:LINE (repeatable; implies --debug)")
		fl.StringVar(&f.keepRuns, "keep-runs", "", "remove successful runs older than AGE when the run starts (default 14d, or GXL_KEEP_RUNS; 0 keeps all)")
		fl.BoolVar(&f.force, "force", false, "run flows outside their #[window]")
		fl.StringVar(&f.tz, "tz", "", "time zone of #[window] times (default TZ, else UTC)")
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

// retention is the run retention of --keep-runs, else GXL_KEEP_RUNS,
// else the engine's default.
func (f *runFlags) retention(cmd *cobra.Command) ([]engine.Option, error) {
	v, from := f.keepRuns, "--keep-runs"
	if !cmd.Flags().Changed("keep-runs") {
		v, from = os.Getenv("GXL_KEEP_RUNS"), "GXL_KEEP_RUNS"
		if v == "" {
			return nil, nil
		}
	}
	d, err := engine.ParseAge(v)
	if err != nil {
		return nil, failf(exitUsage, "%s: %v", from, err)
	}
	return []engine.Option{engine.WithRunRetention(d)}, nil
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

// parseSets parses --set NAME=value items (typed by engine.TypedSet).
func parseSets(sets []string) (map[string]string, error) {
	raw := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--set %q: write NAME=value", s)
		}
		raw[strings.TrimSpace(k)] = v
	}
	return raw, nil
}

// newEngine makes the engine of a command; bad options are usage errors.
func newEngine(opts ...engine.Option) (*engine.Engine, error) {
	e, err := engine.New(opts...)
	if err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return e, nil
}

// loadProgram loads and checks a file through the engine, printing its
// diagnostics; a program with errors never starts (exit 2).
func loadProgram(s *streams, eng *engine.Engine, file string) (*engine.Program, error) {
	p := eng.Load(file)
	if len(p.Diags) > 0 {
		diag.Render(s.err, p.Diags, p.Sources, diag.RenderOptions{Color: isTerminal(s.err)})
	}
	if !p.OK() {
		fmt.Fprintf(s.err, "\n%s: the workflow was not started\n", diag.Summary(p.Diags))
		return p, &exitError{code: exitUsage}
	}
	return p, nil
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
			quiet, ok := value.ParseBool(f.quiet)
			if !ok {
				return failf(exitUsage, "-q takes true or false (or TRUE, FALSE)")
			}
			rawSets, err := parseSets(f.sets)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			log, err := newLogger(s, f.logFormat, f.verbose, quiet)
			if err != nil {
				return err
			}
			if f.jobs < 1 {
				return failf(exitUsage, "--jobs must be at least 1")
			}
			retention, err := f.retention(cmd)
			if err != nil {
				return err
			}
			loc, err := timeZone(f.tz)
			if err != nil {
				return err
			}
			opts := append(f.fetch.options(), retention...)
			opts = append(opts, engine.WithTimeZone(loc), engine.WithForce(f.force))
			opts = append(opts,
				engine.WithStdout(s.out), engine.WithStderr(s.err), engine.WithStdin(s.in), engine.WithLogger(log),
				engine.WithSets(rawSets), engine.WithEnvs(f.envList()...), engine.WithJobs(f.jobs),
				engine.WithModUp(f.modUp), engine.WithDryRun(f.dryrun), engine.WithQuiet(quiet), engine.WithCmdArg(cmdArg), engine.WithResumeChanged(f.resumeChanged))
			eng, err := newEngine(opts...)
			if err != nil {
				return err
			}
			var res *engine.Resumption
			if f.resume != "" {
				if res, err = eng.OpenResume(f.resume); err != nil {
					var ms *engine.MissingSecretError
					if errors.As(err, &ms) {
						return failf(exitUsage, "%v\nhint: give it again: gxl run --resume %s --set %s=...", err, f.resume, ms.Name)
					}
					var pc *engine.ProgramChangedError
					if errors.As(err, &pc) {
						return failf(exitUsage, "%v\nhint: finished statements are skipped by their place in the program, which an edit moves; start a new run, or resume anyway with --resume-changed (it lists what it will skip)", err)
					}
					return failf(exitUsage, "%v", err)
				}
				printResumeChanged(s, res)
				file, flows, eng = res.State.Header.File, res.State.Header.Flows, res.Engine
				log.Info("resuming run", zap.String("run", res.State.ID), zap.Strings("flows", flows))
			}
			prog, err := loadProgram(s, eng, file)
			if err != nil {
				return err
			}
			if len(flows) == 0 {
				fmt.Fprint(s.out, runtime.Menu(prog.Program, isTerminal(s.out)))
				return nil
			}
			var run *engine.Run
			if res != nil {
				run, err = res.Resume(prog)
			} else {
				run, err = eng.NewRun(prog, flows)
			}
			if err != nil {
				var we *engine.WindowError
				if errors.As(err, &we) {
					return failf(exitUsage, "%v\nhint: run it then, or now with --force", err)
				}
				var te *engine.TriggerError
				if errors.As(err, &te) {
					diag.Render(s.err, te.Diags, prog.Sources, diag.RenderOptions{Color: isTerminal(s.err)})
					return failf(exitUsage, "the workflow was not started")
				}
				return failf(exitUsage, "%v", err)
			}
			if res == nil && run.Journal != nil {
				log.Debug("run", zap.String("id", run.Journal.ID), zap.String("journal", run.Journal.Path))
			}
			debug := f.debug || len(f.breaks) > 0
			// Under the debugger Ctrl-C cancels the running statement and
			// opens the prompt; SIGTERM still cancels the run.
			sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
			if debug {
				sigs = sigs[1:]
			}
			ctx, stop := signalContext(sigs...)
			defer stop()
			var sess *repl.Session
			if debug {
				sess = repl.New(debugConfig(s, repl.Config{
					File: file, Program: prog.Program, Extra: prog.Vars, Envs: run.Envs, Sets: eng.Sets(), Breaks: f.breaks, Options: run.Options,
				}))
				defer sess.Close()
				if sess.BadBreaks() > 0 {
					return &exitError{code: exitUsage}
				}
				run.Options.Hooks = sess
			}
			r := run.Runner()
			if sess != nil {
				sess.Attach(r)
			}
			err = run.Start(ctx)
			log.Sync()
			if err != nil {
				var se *runtime.StepError
				if errors.As(err, &se) {
					reportFailure(s, log, f.logFormat, se, prog.Program, run.ID())
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

// printResumeChanged warns, under --resume-changed, what changed in the
// program and every finished statement the resume will skip.
func printResumeChanged(s *streams, res *engine.Resumption) {
	if len(res.Changed) == 0 {
		return
	}
	fmt.Fprintf(s.err, "warning: run %s: its program changed since it ran\n", res.State.ID)
	for _, c := range res.Changed {
		fmt.Fprintf(s.err, "  %s: %s\n", c.Why, c.Path)
	}
	fin := res.State.Finished()
	fmt.Fprintf(s.err, "resuming anyway (--resume-changed): %d finished statements will be skipped:\n", len(fin))
	for _, f := range fin {
		fmt.Fprintf(s.err, "  skip %s %s\n", f.At, f.Name)
	}
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

func newPlanCmd(s *streams) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "plan [FILE.gxl] FLOW...",
		Short: "Show what a run would execute, running nothing",
		RunE: func(cmd *cobra.Command, args []string) error {
			file, flows, _ := f.splitArgs(cmd, args)
			rawSets, err := parseSets(f.sets)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			eng, err := newEngine(append(f.fetch.options(), engine.WithSets(rawSets), engine.WithEnvs(f.envList()...), engine.WithDryRun(f.dryrun))...)
			if err != nil {
				return err
			}
			p, err := loadProgram(s, eng, file)
			if err != nil {
				return err
			}
			if len(flows) == 0 {
				return failf(exitUsage, "name a flow to plan")
			}
			plans, err := eng.Plan(p, flows)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			for _, plan := range plans {
				fmt.Fprintf(s.out, "plan for %s:\n%s", plan.Top.QualifiedName(), plan.Describe())
			}
			return nil
		},
	}
	f.bind(cmd, false)
	return cmd
}
