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
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/repl"
	"github.com/gxl-dev/gxl/runtime"
)

func init() {
	register(newRunCmd)
}

// runFlags are the options shared by run and plan.
type runFlags struct {
	file      fileFlag
	vars      varFlags
	gflow     gflowFlags
	dryrun    bool
	strict    bool
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
	f.file.bind(fl)
	f.vars.bind(fl)
	fl.BoolVar(&f.dryrun, "dryrun", false, "substitute #[dryrun(...)] flows and set GXL_CMD_DRYRUN")
	f.fetch.bind(fl)
	if withRun {
		f.gflow.bind(fl)
		fl.StringVarP(&f.quiet, "quiet", "q", "false", "do not print commands and their output")
		fl.Lookup("quiet").NoOptDefVal = "true"
		fl.StringVar(&f.logFormat, "log-format", "console", "log format: console (gxl's compact lines) or json (one JSON event a line, nothing else on stdout and stderr)")
		fl.BoolVarP(&f.verbose, "verbose", "v", false, "verbose logs")
		fl.StringVar(&f.resume, "resume", "", "resume a run: its id or `last`")
		fl.BoolVar(&f.resumeChanged, "resume-changed", false, "resume even though the program's files changed since the run (lists what will be skipped first)")
		fl.BoolVar(&f.modUp, "mod_up", false, "refresh git externs and accept moved module tags (sets GXL_CMD_MODUP)")
		fl.IntVarP(&f.jobs, "jobs", "j", 4, "modules a system stage runs at once")
		fl.BoolVar(&f.strict, "strict", false, "with --dryrun: refuse to start (exit 2) when a step that changes something would really run")
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
	file = f.file.path
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

// newEngine makes the engine of a command; bad options are usage errors.
func newEngine(opts ...engine.Option) (*engine.Engine, error) {
	e, err := engine.New(opts...)
	if err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return e, nil
}

// loadProgram loads and checks a file through the engine, reporting its
// diagnostics through o; a program with errors never starts (exit 2).
func loadProgram(o *output, eng *engine.Engine, file string) (*engine.Program, error) {
	restore := loading()
	p := eng.Load(file)
	restore()
	o.diags(p.Diags, p.Sources)
	if !p.OK() {
		msg := diag.Summary(p.Diags) + ": the workflow was not started"
		if o.json {
			o.log.Error(msg, zap.String("file", file))
		} else {
			fmt.Fprintf(o.s.err, "\n%s\n", msg)
		}
		return p, &exitError{code: exitUsage}
	}
	return p, nil
}

func newRunCmd(s *streams) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [FILE.gxl] [FLOW...] [-- ARG]",
		Short: "Run flows of a GXL workflow",
		Long: `Run flows of a GXL workflow. The file is checked first: a workflow with errors
never starts (exit 2). Without a flow, the menu of envs and flows is printed.
Exit status: 0 success, 1 a step failed, 2 usage/check/load error.
--set NAME=value wins over every other value of NAME (env and module properties, files
read by gx.vars/gx.read_file, assignments); a name the program never reads is a warning
with the closest name, and in a system a name not in sys/vars.yml is an error.
Each run is journaled under .gxl/runs/<id>; --resume last continues a failed or
killed run: finished statements are skipped, the interrupted one runs again.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			batch()
			file, flows, cmdArg := f.splitArgs(cmd, args)
			quiet, ok := value.ParseBool(f.quiet)
			if !ok {
				return failf(exitUsage, "-q takes true or false (or TRUE, FALSE)")
			}
			varOpts, err := f.vars.options()
			if err != nil {
				return err
			}
			verbose, err := f.gflow.apply(s, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			// On a terminal, long waits are live lines: everything else
			// written to the terminal goes through the display.
			// The debugger's line editor owns the terminal: no live lines
			// under it.
			if live := liveDisplay(s, f.logFormat); live != nil && !f.debug && len(f.breaks) == 0 {
				defer live.Close()
				s = liveStreams(s, live)
			}
			o, err := newOutput(s, f.logFormat, f.verbose || verbose, quiet)
			if err != nil {
				return err
			}
			log := o.log
			if f.jobs < 1 {
				return failf(exitUsage, "--jobs must be at least 1")
			}
			if f.strict && !f.dryrun {
				return failf(exitUsage, "--strict only applies to a dry run: add --dryrun")
			}
			retention, err := f.retention(cmd)
			if err != nil {
				return err
			}
			loc, err := timeZone(f.tz)
			if err != nil {
				return err
			}
			opts := append(append(append(f.fetch.options(), varOpts...), retention...),
				engine.WithStdout(s.out), engine.WithStderr(s.err), engine.WithStdin(s.in), engine.WithLogger(log), engine.WithEvents(o.json), engine.WithWarnings(o.diags), engine.WithLive(s.live),
				engine.WithJobs(f.jobs), engine.WithTimeZone(loc), engine.WithForce(f.force),
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
				printResumeChanged(o, res)
				file, flows, eng = res.State.Header.File, res.State.Header.Flows, res.Engine
				log.Info("resuming run", zap.String("run", res.State.ID), zap.Strings("flows", flows))
			}
			prog, err := loadProgram(o, eng, file)
			if err != nil {
				return err
			}
			if len(flows) == 0 {
				if o.json {
					envs, flows := runtime.MenuOf(prog.Program)
					o.log.Info("menu", zap.Any("envs", envs), zap.Any("flows", flows))
					return nil
				}
				fmt.Fprint(s.out, runtime.Menu(prog.Program, s.color(s.out)))
				return nil
			}
			if err := dryRunCheck(s, log, &f, eng, prog, flows); err != nil {
				return err
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
					diag.Render(s.err, te.Diags, prog.Sources, diag.RenderOptions{Color: s.color(s.err)})
					return failf(exitUsage, "the workflow was not started")
				}
				return failf(exitUsage, "%v", err)
			}
			o.run = run.ID()
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
			began := time.Now()
			err = run.Start(ctx)
			// The summary of the run: how it ended and how long it took.
			status := "ok"
			if err != nil {
				status = "failed"
			}
			log.Info("run finished", zap.String("run", run.ID()), zap.String("status", status), zap.Duration("took", time.Since(began)))
			log.Sync()
			if err != nil {
				var se *runtime.StepError
				if errors.As(err, &se) {
					o.failure(se, prog.Program, run.ID())
					return &exitError{code: exitFailed}
				}
				var d diag.Diagnostic
				if errors.As(err, &d) {
					o.diags(diag.List{d}, nil)
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
func printResumeChanged(o *output, res *engine.Resumption) {
	if len(res.Changed) == 0 {
		return
	}
	fin := res.State.Finished()
	if o.json {
		changes := make([]string, len(res.Changed))
		for i, c := range res.Changed {
			changes[i] = c.Why + ": " + c.Path
		}
		skips := make([]string, len(fin))
		for i, f := range fin {
			skips[i] = f.At + " " + f.Name
		}
		o.log.Warn("the program changed since the run; resuming anyway (--resume-changed)", zap.String("run", res.State.ID),
			zap.Strings("changed", changes), zap.Strings("skip", skips))
		return
	}
	s := o.s
	fmt.Fprintf(s.err, "warning: run %s: its program changed since it ran\n", res.State.ID)
	for _, c := range res.Changed {
		fmt.Fprintf(s.err, "  %s: %s\n", c.Why, c.Path)
	}
	fmt.Fprintf(s.err, "resuming anyway (--resume-changed): %d finished statements will be skipped:\n", len(fin))
	for _, f := range fin {
		fmt.Fprintf(s.err, "  skip %s %s\n", f.At, f.Name)
	}
}

// signalContext is cancelled by the first of sigs, with a
// builtin.SignalError naming it as the cause.
func signalContext(sigs ...os.Signal) (context.Context, func()) {
	first, _, stop := signalContexts(sigs...)
	return first, stop
}

// signalContexts are cancelled by the first of sigs and by the one after
// it (gxl operate: stop, then stop at once), each with a
// builtin.SignalError naming the signal as the cause.
func signalContexts(sigs ...os.Signal) (first, second context.Context, stop func()) {
	first, cancel1 := context.WithCancelCause(context.Background())
	second, cancel2 := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for _, cancel := range []context.CancelCauseFunc{cancel1, cancel2} {
			select {
			case sig := <-ch:
				cancel(&builtin.SignalError{Signal: signalName(sig)})
			case <-done:
				return
			}
		}
	}()
	return first, second, func() {
		signal.Stop(ch)
		close(done)
		cancel1(context.Canceled)
		cancel2(context.Canceled)
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
