package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

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
				writePlan(s.out, pv)
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

// writePlan prints one flow's preview.
func writePlan(w io.Writer, p *runtime.Preview) {
	head := "plan for " + p.Flow
	var mods []string
	if len(p.Envs) > 0 {
		mods = append(mods, "env "+strings.Join(p.Envs, ","))
	}
	if p.DryRun {
		mods = append(mods, "dry run")
	}
	if len(mods) > 0 {
		head += " (" + strings.Join(mods, "; ") + ")"
	}
	fmt.Fprintln(w, head+":")
	writeSteps(w, p.Steps, "  ")
	n := len(runtime.Effects([]*runtime.Preview{p}))
	switch n {
	case 0:
		fmt.Fprintln(w, "nothing in this plan changes anything outside gxl")
	case 1:
		fmt.Fprintln(w, "1 statement (!) may change something outside gxl")
	default:
		fmt.Fprintf(w, "%d statements (!) may change something outside gxl\n", n)
	}
}

func writeSteps(w io.Writer, steps []runtime.PreviewStep, ind string) {
	for _, st := range steps {
		line := st.Kind + " " + st.Name
		if st.Label != "top" && st.Label != "" {
			line += " (" + st.Label + ")"
		}
		if st.DryRunOf != "" {
			line += " (dry-run substitute for " + st.DryRunOf + ")"
		}
		fmt.Fprintf(w, "%s%s\n", ind, line)
		writeStmts(w, st.Statements, ind+"  ")
	}
}

// mark is the margin sign of a statement: ! changes something, > runs
// other flows.
func mark(s runtime.PreviewStmt) string {
	switch s.Effect {
	case "changes":
		return "! "
	case "runs":
		return "> "
	}
	return "  "
}

func writeStmts(w io.Writer, ss []runtime.PreviewStmt, ind string) {
	for _, s := range ss {
		var text string
		switch s.Kind {
		case "assign":
			text = s.Name + " = " + s.Value
		case "call", "fn", "activity":
			args := make([]string, len(s.Args))
			for i, a := range s.Args {
				args[i] = a.Name + ": " + a.Value
			}
			prefix := ""
			if s.Kind != "call" {
				prefix = s.Kind + " "
			}
			text = prefix + s.Name + "(" + strings.Join(args, ", ") + ")"
		case "command":
			text = "command block"
		case "if":
			text = "if " + s.Cond
			if s.CondValue != nil {
				text += fmt.Sprintf("   (%t)", *s.CondValue)
			}
		case "for":
			text = "for " + s.Name + " in " + s.Value
		default:
			text = s.Kind
		}
		fmt.Fprintf(w, "%s%s%s  %s\n", ind[:len(ind)-2], mark(s), s.At, text)
		sub := ind + "    "
		if s.Command != "" {
			fmt.Fprintf(w, "%s$ %s\n", sub, s.Command)
		}
		if len(s.Unknown) > 0 {
			fmt.Fprintf(w, "%s(known at run time: %s)\n", sub, strings.Join(s.Unknown, ", "))
		}
		if s.Note != "" {
			fmt.Fprintf(w, "%s(%s)\n", sub, s.Note)
		}
		for _, c := range s.Changes {
			fmt.Fprintf(w, "%s%s %s\n", sub, c.Object, c.Action)
			for _, f := range c.Fields {
				fmt.Fprintf(w, "%s  %s: %s → %s\n", sub, f.Path, orNone(f.Before), orNone(f.After))
			}
		}
		for _, b := range s.Branches {
			fmt.Fprintf(w, "%s%s:\n", ind+"  ", b.When)
			writeStmts(w, b.Statements, ind+"    ")
		}
		if len(s.Body) > 0 {
			writeStmts(w, s.Body, ind+"  ")
		}
		if e := s.Expansion; e != nil {
			fmt.Fprintf(w, "%s%s %s:\n", sub, e.Kind, e.Name)
			for _, g := range e.Groups {
				fmt.Fprintf(w, "%s  priority %d:\n", sub, g.Priority)
				for _, m := range g.Modules {
					line := "module " + m.Name
					if len(m.Depends) > 0 {
						line += " (after " + strings.Join(m.Depends, ", ") + ")"
					}
					switch m.Status {
					case "runs":
						line += ": flow " + m.Flow + " of " + m.File
					case "n/a":
						line += ": nothing to do (" + m.Note + ")"
					case "disabled":
						line += ": disabled"
					default:
						line += ": " + m.Note
					}
					fmt.Fprintf(w, "%s    %s\n", sub, line)
					if m.Plan != nil {
						writeSteps(w, m.Plan.Steps, sub+"      ")
					}
				}
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
