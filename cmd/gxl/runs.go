package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/runtime"
)

func init() { register(newRunsCmd) }

func newRunsCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs list|show ID|prune",
		Short: "List, show and prune the run journals (.gxl/runs)",
		Long: `Every gxl run keeps a journal under .gxl/runs/<id> (the project root's, or the
current folder's): what it was asked, each finished statement, how it ended.
  gxl runs list            one row per run, newest first
  gxl runs show ID         one run: header, history, failure, how to resume it
  gxl runs prune ...       remove runs by age and count
A run is succeeded, failed, interrupted (it ended without an exit record and
no process runs it: killed, machine lost), running (a live gxl holds its
lock) or corrupt (its journal cannot be read).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return failf(exitUsage, "name a sub-command: gxl runs list, gxl runs show ID or gxl runs prune")
		},
	}
	bindState(cmd.PersistentFlags())
	cmd.AddCommand(newRunsListCmd(s), newRunsShowCmd(s), newRunsPruneCmd(s))
	return cmd
}

func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return failf(exitUsage, "--format must be text or json")
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRunsListCmd(s *streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [--format text|json]",
		Short: "List the runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			stateOpts, err := stateOptions(cmd, false)
			if err != nil {
				return err
			}
			eng, err := newEngine(stateOpts...)
			if err != nil {
				return err
			}
			runs, err := eng.Runs()
			if err != nil {
				return failf(exitFailed, "%v", err)
			}
			if format == "json" {
				if runs == nil {
					runs = []runtime.RunInfo{}
				}
				return writeJSON(s.out, runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(s.out, "no runs under %s\n", eng.RunStoreWhere())
				return nil
			}
			printRuns(s.out, runs)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// printRuns writes the runs as a table; the last column is the failed
// step of a failed run, or what is wrong with a corrupt journal.
func printRuns(w io.Writer, runs []runtime.RunInfo) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSTARTED\tDURATION\tFLOWS\tFAILED STEP")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, fmtTime(r.Started), fmtDuration(r), dash(strings.Join(r.Flows, ",")), runNote(r))
	}
	tw.Flush()
	for line := range strings.Lines(b.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
}

func runNote(r runtime.RunInfo) string {
	if f := r.Failure; f != nil {
		return strings.TrimSpace(f.Flow + " " + f.At + " " + clip(f.Error, 72))
	}
	if r.Status == runtime.RunRunning && r.PID > 0 {
		return fmt.Sprintf("(process %d)", r.PID)
	}
	return r.Problem
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func fmtDuration(r runtime.RunInfo) string {
	if r.Started.IsZero() {
		return "-"
	}
	d := r.Duration
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// runIDError turns a run id that names no run, or several, into a usage
// error (exit 2) listing the candidates.
func runIDError(err error) error {
	var amb *runtime.AmbiguousRunError
	if errors.As(err, &amb) {
		var b strings.Builder
		fmt.Fprintf(&b, "run id %q is ambiguous: %d runs start with it:", amb.Prefix, len(amb.Candidates))
		for _, c := range amb.Candidates {
			b.WriteString("\n  " + c)
		}
		b.WriteString("\nhint: give more of the id")
		return failf(exitUsage, "%s", b.String())
	}
	var no *runtime.NoRunError
	if errors.As(err, &no) {
		return failf(exitUsage, "%v\nhint: gxl runs list shows the runs kept", err)
	}
	return failf(exitFailed, "%v", err)
}

func newRunsShowCmd(s *streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID|last [--format text|json]",
		Short: "Show one run: header, history, failure and how to resume it",
		Long: `Show one run. ID may be any unique prefix of the run's id, or last. Secret
values never appear: the journal holds a secret --set or a secret result by
its name only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			stateOpts, err := stateOptions(cmd, false)
			if err != nil {
				return err
			}
			eng, err := newEngine(stateOpts...)
			if err != nil {
				return err
			}
			d, err := eng.ShowRun(args[0])
			if err != nil {
				return runIDError(err)
			}
			if format == "json" {
				return writeJSON(s.out, d)
			}
			printRun(s.out, d)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func printRun(w io.Writer, d *runtime.RunDetail) {
	fmt.Fprintf(w, "run %s: %s\n", d.ID, d.Status)
	if d.Problem != "" {
		fmt.Fprintf(w, "  problem:  %s\n", d.Problem)
	}
	if h := d.Header; h != nil {
		fmt.Fprintf(w, "  file:     %s\n", h.File)
		fmt.Fprintf(w, "  flows:    %s\n", dash(strings.Join(h.Flows, ", ")))
		fmt.Fprintf(w, "  envs:     %s\n", dash(strings.Join(h.Envs, ", ")))
		fmt.Fprintf(w, "  dir:      %s\n", h.Dir)
		fmt.Fprintf(w, "  started:  %s\n", fmtTime(d.Started))
		fmt.Fprintf(w, "  duration: %s\n", fmtDuration(d.RunInfo))
		if h.DryRun {
			fmt.Fprintf(w, "  dry run:  yes\n")
		}
		if h.CmdArg != "" {
			fmt.Fprintf(w, "  argument: %s\n", h.CmdArg)
		}
		if len(h.Sets) > 0 || len(h.SecretSets) > 0 {
			var sets []string
			for k, v := range h.Sets {
				sets = append(sets, k+"="+v)
			}
			sort.Strings(sets)
			for _, k := range h.SecretSets {
				sets = append(sets, k+"=(secret, not kept)")
			}
			fmt.Fprintf(w, "  sets:     %s\n", strings.Join(sets, " "))
		}
	}
	if d.PID > 0 {
		fmt.Fprintf(w, "  process:  %d\n", d.PID)
	}
	if d.Unread > 0 {
		fmt.Fprintf(w, "  %d unreadable records skipped\n", d.Unread)
	}
	if len(d.Events) > 0 {
		fmt.Fprintln(w, "\nhistory:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, ev := range d.Events {
			what := strings.TrimSpace(ev.At + " " + ev.Name)
			switch ev.Kind {
			case "flow":
				what = fmt.Sprintf("%s (%s)", strings.TrimPrefix(ev.Name, "flow "), time.Duration(ev.Seconds*float64(time.Second)).Round(time.Microsecond))
			case "failed", "undo":
				what = strings.TrimSpace(ev.At + " " + clip(ev.Error, 100))
			case "exit":
				what = "ok"
				if ev.Error != "" {
					what = "failed: " + strings.TrimSpace(ev.Name+" "+ev.At) + ": " + clip(ev.Error, 100)
				}
			}
			if len(ev.Secret) > 0 {
				what += " (secret result: " + strings.Join(ev.Secret, ", ") + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", ev.Time.Local().Format("15:04:05.000"), ev.Kind, what)
		}
		tw.Flush()
	}
	if f := d.Failure; f != nil {
		fmt.Fprintln(w, "\nfailure:")
		if f.Diag != nil {
			diag.RenderOne(w, *f.Diag, d.Sources(), diag.RenderOptions{})
		} else {
			fmt.Fprintf(w, "%s: %s\n", f.At, f.Error)
		}
	}
	if d.Resume != "" {
		fmt.Fprintf(w, "\nresume with: %s\n", d.Resume)
		if len(d.Changed) > 0 {
			fmt.Fprintln(w, "  its program changed since it ran (resume then needs --resume-changed):")
			for _, c := range d.Changed {
				fmt.Fprintf(w, "    %s: %s\n", c.Why, c.Path)
			}
		}
	}
}

func newRunsPruneCmd(s *streams) *cobra.Command {
	var (
		olderThan    string
		keep         int
		failed, dry  bool
		haveAgeOrKey bool
	)
	cmd := &cobra.Command{
		Use:   "prune [--older-than AGE] [--keep N] [--failed] [--dry-run]",
		Short: "Remove runs by age and count",
		Long: `Remove runs from .gxl/runs. --older-than AGE removes runs that started longer
ago (AGE: 14d, 2w, 36h, 90m); --keep N keeps the N newest of the runs prune may
remove; both together remove what is older than AGE and not among the N newest.
By default only succeeded runs go: failed and interrupted runs may still be
resumed. --failed lets failed, interrupted and corrupt runs go too. A running
run is never removed. --dry-run lists what would go and removes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			haveAgeOrKey = fl.Changed("older-than") || fl.Changed("keep")
			if !haveAgeOrKey {
				return failf(exitUsage, "name what to remove: --older-than AGE, --keep N, or both\nhint: gxl runs prune --older-than 14d --dry-run")
			}
			var opts []engine.PruneOption
			if fl.Changed("older-than") {
				age, err := engine.ParseAge(olderThan)
				if err != nil {
					return failf(exitUsage, "--older-than: %v", err)
				}
				if age == 0 {
					return failf(exitUsage, "--older-than must be above 0")
				}
				opts = append(opts, engine.PruneOlderThan(age))
			}
			if fl.Changed("keep") {
				if keep < 1 {
					return failf(exitUsage, "--keep must be at least 1 (to remove every run, use --older-than)")
				}
				opts = append(opts, engine.PruneKeep(keep))
			}
			opts = append(opts, engine.PruneFailed(failed), engine.PruneDryRun(dry))
			stateOpts, err := stateOptions(cmd, false)
			if err != nil {
				return err
			}
			eng, err := newEngine(stateOpts...)
			if err != nil {
				return err
			}
			gone, err := eng.PruneRuns(opts...)
			verb := "removed"
			if dry {
				verb = "would remove"
			}
			for _, r := range gone {
				fmt.Fprintf(s.out, "%s %s  %s  %s  %s\n", verb, r.ID, r.Status, fmtTime(r.Started), dash(strings.Join(r.Flows, ",")))
			}
			fmt.Fprintf(s.out, "%s %d %s\n", verb, len(gone), plural(len(gone), "run", "runs"))
			if err != nil {
				return failf(exitFailed, "%v", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&olderThan, "older-than", "", "remove runs that started longer ago than AGE (14d, 2w, 36h, 90m)")
	fl.IntVar(&keep, "keep", 0, "keep the N newest of the runs that may be removed")
	fl.BoolVar(&failed, "failed", false, "let failed, interrupted and corrupt runs go too (they can no longer be resumed)")
	fl.BoolVar(&dry, "dry-run", false, "list what would be removed, remove nothing")
	return cmd
}
