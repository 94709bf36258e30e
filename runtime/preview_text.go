package runtime

import (
	"fmt"
	"io"
	"strings"
)

// WritePreview prints one flow's preview as text (gxl plan, the REPL's
// :plan): each step, its statements with `!` on those that change
// something, commands as they would run, and the modules of a stage.
func WritePreview(w io.Writer, p *Preview) {
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
	n := len(Effects([]*Preview{p}))
	switch n {
	case 0:
		fmt.Fprintln(w, "nothing in this plan changes anything outside gxl")
	case 1:
		fmt.Fprintln(w, "1 statement (!) may change something outside gxl")
	default:
		fmt.Fprintf(w, "%d statements (!) may change something outside gxl\n", n)
	}
}

func writeSteps(w io.Writer, steps []PreviewStep, ind string) {
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
func mark(s PreviewStmt) string {
	switch s.Effect {
	case "changes":
		return "! "
	case "runs":
		return "> "
	}
	return "  "
}

func writeStmts(w io.Writer, ss []PreviewStmt, ind string) {
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
