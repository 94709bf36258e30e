package main

import (
	"fmt"
	"github.com/gxl-dev/gxl/engine"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
)

func init() { register(newGraphCmd) }

// newGraphCmd draws a workflow's flows (pipelines, undo and dry-run
// substitutes) and, for a system workflow, the modules with their
// priorities and dependencies, as Mermaid (the seeds' notation) or DOT.
func newGraphCmd(s *streams) *cobra.Command {
	var format string
	var fileF fileFlag
	cmd := &cobra.Command{
		Use:   "graph [FILE.gxl | -f FILE] [--format mermaid|dot]",
		Short: "Draw the module, stage and flow graph",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			batch()
			if format != "mermaid" && format != "dot" {
				return failf(exitUsage, "--format must be mermaid or dot")
			}
			file, err := fileF.one(args)
			if err != nil {
				return err
			}
			eng, err := newEngine()
			if err != nil {
				return err
			}
			prog, err := loadProgram(&output{s: s}, eng, file)
			if err != nil {
				return err
			}
			var sys *system.System
			if prog.SysRoot != "" {
				sys, _ = system.Load(engine.SystemRoot(file), system.Options{})
			}
			g := buildGraph(prog.Program, sys)
			if format == "dot" {
				g.dot(s.out)
			} else {
				g.mermaid(s.out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "mermaid", "mermaid or dot")
	fileF.bind(cmd.Flags())
	return cmd
}

type gnode struct {
	id, label, group string
}

type gedge struct {
	from, to, label string
	dashed          bool
}

type graph struct {
	nodes []gnode
	edges []gedge
}

func gid(s string) string {
	return strings.NewReplacer(".", "__", "-", "_", " ", "_").Replace(s)
}

func buildGraph(prog *check.Program, sys *system.System) *graph {
	g := &graph{}
	if sys != nil {
		mods := append([]*system.Module(nil), sys.Modules...)
		sort.SliceStable(mods, func(i, j int) bool { return mods[i].Priority > mods[j].Priority })
		for _, m := range mods {
			label := fmt.Sprintf("%s (priority %d)", m.Name, m.Priority)
			if !m.Enable {
				label += " disabled"
			}
			g.nodes = append(g.nodes, gnode{id: "mod_" + gid(m.Name), label: label, group: "modules"})
			for _, d := range m.Depends {
				g.edges = append(g.edges, gedge{from: "mod_" + gid(d), to: "mod_" + gid(m.Name), label: "before"})
			}
		}
	}
	for _, m := range prog.Mods {
		for _, f := range m.Flows {
			if f.Owner != f.Host {
				continue // inherited copies draw like their source
			}
			id := "flow_" + gid(f.QualifiedName())
			g.nodes = append(g.nodes, gnode{id: id, label: f.QualifiedName(), group: m.Name})
			for _, p := range f.Pre {
				g.edges = append(g.edges, gedge{from: "flow_" + gid(p.Host.Name+"."+p.Name), to: id})
			}
			for _, p := range f.Post {
				g.edges = append(g.edges, gedge{from: id, to: "flow_" + gid(p.Host.Name+"."+p.Name)})
			}
			if u := f.Ann.Undo; u != nil {
				g.edges = append(g.edges, gedge{from: id, to: "flow_" + gid(u.Host.Name+"."+u.Name), label: "undo", dashed: true})
			}
			if d := f.Ann.DryRun; d != nil {
				g.edges = append(g.edges, gedge{from: id, to: "flow_" + gid(d.Host.Name+"."+d.Name), label: "dryrun", dashed: true})
			}
		}
	}
	return g
}

func (g *graph) groups() ([]string, map[string][]gnode) {
	var order []string
	by := map[string][]gnode{}
	for _, n := range g.nodes {
		if _, ok := by[n.group]; !ok {
			order = append(order, n.group)
		}
		by[n.group] = append(by[n.group], n)
	}
	return order, by
}

func (g *graph) mermaid(w io.Writer) {
	fmt.Fprintln(w, "graph TB")
	order, by := g.groups()
	for _, grp := range order {
		fmt.Fprintf(w, "  subgraph %s [\"%s\"]\n", gid("g_"+grp), grp)
		for _, n := range by[grp] {
			fmt.Fprintf(w, "    %s[\"%s\"]\n", n.id, n.label)
		}
		fmt.Fprintln(w, "  end")
	}
	for _, e := range g.edges {
		arrow := "-->"
		if e.dashed {
			arrow = "-.->"
		}
		if e.label != "" {
			fmt.Fprintf(w, "  %s %s|%s| %s\n", e.from, arrow, e.label, e.to)
		} else {
			fmt.Fprintf(w, "  %s %s %s\n", e.from, arrow, e.to)
		}
	}
}

func (g *graph) dot(w io.Writer) {
	fmt.Fprintln(w, "digraph gxl {\n  rankdir=TB;\n  node [shape=box];")
	order, by := g.groups()
	for _, grp := range order {
		fmt.Fprintf(w, "  subgraph cluster_%s {\n    label=%q;\n", gid(grp), grp)
		for _, n := range by[grp] {
			fmt.Fprintf(w, "    %s [label=%q];\n", n.id, n.label)
		}
		fmt.Fprintln(w, "  }")
	}
	for _, e := range g.edges {
		attrs := []string{}
		if e.label != "" {
			attrs = append(attrs, fmt.Sprintf("label=%q", e.label))
		}
		if e.dashed {
			attrs = append(attrs, "style=dashed")
		}
		fmt.Fprintf(w, "  %s -> %s [%s];\n", e.from, e.to, strings.Join(attrs, ", "))
	}
	fmt.Fprintln(w, "}")
}
