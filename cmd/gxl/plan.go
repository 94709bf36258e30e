package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/runtime"
)

func init() { register(newPlanCmd) }

func newPlanCmd(s *streams) *cobra.Command {
	var f runFlags
	var diff bool
	var format string
	cmd := &cobra.Command{
		Use:   "plan [FILE.gxl] FLOW...",
		Short: "Show what a run would execute, down to each statement, running nothing",
		Long: `Show what gxl run would execute with the same file, flows, envs, --set and
--dryrun, running nothing and changing nothing: for each selected flow its
envs, module properties and flows (entry, pre, post, exit; dry-run
substitutes) down to each statement, with the values known before the run
resolved (secrets masked) and commands as they would run; for a system stage,
its modules in priority groups with their dependencies and the statements of
the flow each would run. A value known only at run time is shown as written.
--diff asks the Kubernetes API server what every reachable k8s.apply would
change (a server-side dry run). --format json prints the same plan as one
JSON document (docs/plan.md). Statements that change something are marked !.
Exit status: 0, or 2 for a usage or check error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			batch()
			file, flows, cmdArg := f.splitArgs(cmd, args)
			if format != "text" && format != "json" {
				return failf(exitUsage, "--format must be text or json")
			}
			varOpts, err := f.vars.options()
			if err != nil {
				return err
			}
			eng, err := newEngine(append(append(f.fetch.options(), varOpts...),
				engine.WithDryRun(f.dryrun), engine.WithCmdArg(cmdArg), engine.WithoutJournal())...)
			if err != nil {
				return err
			}
			p, err := loadProgram(&output{s: s}, eng, file)
			if err != nil {
				return err
			}
			if len(flows) == 0 {
				return failf(exitUsage, "name a flow to plan")
			}
			ps, err := eng.Preview(context.Background(), p, flows, diff)
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			if format == "json" {
				return writePlanJSON(s.out, ps)
			}
			for i, pv := range ps {
				if i > 0 {
					fmt.Fprintln(s.out)
				}
				runtime.WritePreview(s.out, pv)
			}
			return nil
		},
	}
	f.bind(cmd, false)
	cmd.Flags().BoolVar(&diff, "diff", false, "ask the Kubernetes API server what each k8s.apply would change (server-side dry run)")
	cmd.Flags().StringVar(&format, "format", "text", "output: text or json (one document, docs/plan.md)")
	return cmd
}

// planDocument is gxl plan --format json (docs/plan.md).
type planDocument struct {
	Version int                `json:"version"`
	Plans   []*runtime.Preview `json:"plans"`
	// Effects are the statements that may change something and will
	// really run (what gxl run --dryrun warns about).
	Effects []effectJSON `json:"effects"`
}

type effectJSON struct {
	At    string   `json:"at"`
	Name  string   `json:"name"`
	Where []string `json:"where"`
	Maybe bool     `json:"maybe"`
	Note  string   `json:"note,omitempty"`
}

func writePlanJSON(w io.Writer, ps []*runtime.Preview) error {
	doc := planDocument{Version: runtime.PreviewVersion, Plans: ps, Effects: []effectJSON{}}
	for _, e := range runtime.Effects(ps) {
		doc.Effects = append(doc.Effects, effectJSON{At: e.At.String(), Name: e.Name, Where: e.Where, Maybe: e.Maybe, Note: e.Note})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
