package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/engine"
)

func init() { register(newOperateCmd) }

// timeZone is the zone of cron times and windows: --tz, else TZ, else UTC.
func timeZone(flag string) (*time.Location, error) {
	name, from := flag, "--tz"
	if name == "" {
		name, from = os.Getenv("TZ"), "TZ"
	}
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, failf(exitUsage, "%s %q is not a time zone (write an IANA name such as UTC or Europe/Berlin)", from, name)
	}
	return loc, nil
}

func newOperateCmd(s *streams) *cobra.Command {
	var f runFlags
	var listen, tz, logFormat, keepOperated string
	var grace time.Duration
	var verbose bool
	var keepOperatedRuns int
	var ha haFlags
	cmd := &cobra.Command{
		Use:   "operate [FILE.gxl] [-e ENV]... [--set K=V]... [--listen ADDR] [-j N] [--tz ZONE] [--shutdown-grace 30s] [--state disk|cluster [--state-namespace NS]]",
		Short: "Run flows on their triggers (#[every], #[cron]) until SIGINT/SIGTERM",
		Long: `Check a workflow like gxl run (a workflow with errors never starts, exit 2), resume
the runs of an earlier operator of the same file that were killed, then run each flow
with an #[every] or #[cron] trigger on it, inside its #[window], until SIGINT or SIGTERM
(the running flows are cancelled with their undo, then the #[on_failure] flow of each run
cut short runs, within --shutdown-grace; a second signal stops at once, the runs still going
left interrupted for the next operator to resume; exit 0). A failed flow never stops
the loop; its #[on_failure] flow runs with FAILED_MODULE, FAILED_FLOW, FAILED_AT and
FAILED_ERROR. Every run is journaled under .gxl/runs, except one that succeeded and
changed nothing outside gxl (a probe that found everything well); succeeded runs go after
--keep-operated (the last --keep-operated-runs of each flow stay). GET / (the status page,
live at /events), /healthz, /status (JSON) and /metrics (Prometheus) are served on --listen.
With --ha, several replicas operate the same system and only the holder of a Kubernetes
Lease acts, their run journals kept in the API server (docs/operate.md, "HA mode").
See docs/operate.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, flows, _ := f.splitArgs(cmd, args)
			if len(flows) > 0 {
				return failf(exitUsage, "gxl operate takes no flow (%s): flows run on their #[every] and #[cron] triggers", flows[0])
			}
			if f.jobs < 1 {
				return failf(exitUsage, "--jobs must be at least 1")
			}
			loc, err := timeZone(tz)
			if err != nil {
				return err
			}
			keep := engine.DefaultOperatedRetention
			if keep.Age, err = engine.ParseAge(keepOperated); err != nil {
				return failf(exitUsage, "--keep-operated: %v", err)
			}
			if keep.Keep = keepOperatedRuns; keep.Keep < 0 {
				return failf(exitUsage, "--keep-operated-runs cannot be negative")
			}
			if grace <= 0 {
				return failf(exitUsage, "--shutdown-grace must be positive (%s)\nhint: the undo and on_failure flows of the runs SIGINT/SIGTERM cut short need time; a second signal stops at once", grace)
			}
			haOpt, err := ha.option()
			if err != nil {
				return err
			}
			varOpts, err := f.vars.options()
			if err != nil {
				return err
			}
			o, err := newOutput(s, logFormat, verbose, false)
			if err != nil {
				return err
			}
			log := o.log
			opts := append(append(f.fetch.options(), varOpts...),
				engine.WithStdout(s.out), engine.WithStderr(s.err), engine.WithStdin(s.in), engine.WithLogger(log),
				engine.WithEvents(o.json), engine.WithWarnings(o.diags), engine.WithJobs(f.jobs),
				engine.WithDryRun(f.dryrun), engine.WithTimeZone(loc))
			stateOpts, err := stateOptions(cmd, ha.on)
			if err != nil {
				return err
			}
			eng, err := newEngine(append(opts, stateOpts...)...)
			if err != nil {
				return err
			}
			prog, err := loadProgram(o, eng, file)
			if err != nil {
				return err
			}
			ctx, now, stop := signalContexts(os.Interrupt, syscall.SIGTERM)
			defer stop()
			opOpts := []engine.OperateOption{engine.WithListen(listen), engine.WithOperatedRetention(keep), engine.WithShutdown(engine.Shutdown{Grace: grace, Now: now}), engine.WithReady(func(addr string) {
				fmt.Fprintf(s.err, "gxl operate: serving http://%s/healthz /status /metrics\n", addr)
			})}
			if haOpt != nil {
				opOpts = append(opOpts, haOpt)
			}
			err = eng.Operate(ctx, prog, opOpts...)
			log.Sync()
			var te *engine.TriggerError
			var he *engine.HAError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &he):
				return failf(exitUsage, "%v", err)
			case errors.As(err, &te):
				diag.Render(s.err, te.Diags, prog.Sources, diag.RenderOptions{Color: s.color(s.err)})
				fmt.Fprintf(s.err, "\n%s: the operator was not started\n", diag.Summary(te.Diags))
				return &exitError{code: exitUsage}
			default:
				return failf(exitUsage, "%v", err)
			}
		},
	}
	f.bind(cmd, false)
	fl := cmd.Flags()
	fl.IntVarP(&f.jobs, "jobs", "j", 4, "modules a system stage runs at once")
	fl.StringVar(&listen, "listen", engine.DefaultListen, "address of the status page (/), /healthz, /status and /metrics")
	fl.StringVar(&tz, "tz", "", "time zone of cron times and windows (default TZ, else UTC)")
	fl.StringVar(&keepOperated, "keep-operated", "1h", "remove the operator's succeeded runs older than AGE (0 keeps them all)")
	fl.IntVar(&keepOperatedRuns, "keep-operated-runs", engine.DefaultOperatedRetention.Keep, "but keep the last N succeeded runs of each flow")
	fl.DurationVar(&grace, "shutdown-grace", engine.DefaultShutdownGrace, "after SIGINT/SIGTERM, how long the undo and on_failure flows of the runs cut short have (a second signal: at once)")
	fl.StringVar(&logFormat, "log-format", "console", "log format: console or json")
	fl.BoolVarP(&verbose, "verbose", "v", false, "verbose logs")
	bindState(fl)
	ha.bind(cmd)
	return cmd
}
