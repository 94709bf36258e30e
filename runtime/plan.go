package runtime

import (
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/lang/check"
)

// StepKind tells plan steps apart.
type StepKind int

// Step kinds.
const (
	StepEnv   StepKind = iota // export an env's properties and items
	StepProps                 // export a module's properties
	StepFlow                  // run a flow body
)

// Step is one item of an execution sequence (§4.6).
type Step struct {
	Kind   StepKind
	Env    *check.Env
	Module *check.Module // StepProps: the exporting module; StepFlow: the flow's owner
	Flow   *check.Flow
	// Label is "top", "entry" or "exit" (how the item was loaded).
	Label string
	// DryRunOf is set when this flow replaces another under --dryrun.
	DryRunOf *check.Flow
}

// Name renders the step for logs and plans.
func (s Step) Name() string {
	switch s.Kind {
	case StepEnv:
		return "env " + s.Env.Host.Name + "." + s.Env.Name
	case StepProps:
		return "props " + s.Module.Name
	}
	n := "flow " + s.Flow.QualifiedName()
	if s.DryRunOf != nil {
		n += " (dry-run for " + s.DryRunOf.QualifiedName() + ")"
	}
	return n
}

// key identifies a step for de-duplication.
func (s Step) key() string {
	switch s.Kind {
	case StepEnv:
		return "env:" + s.Env.Host.Name + "." + s.Env.Name
	case StepProps:
		return "props:" + s.Module.Name
	}
	return "flow:" + s.Flow.QualifiedName()
}

// Plan is the execution sequence of one selected top-level flow.
type Plan struct {
	Top   *check.Flow
	Steps []Step
}

// maxPlanSteps is limits.MaxPlanSteps (tests lower it).
var maxPlanSteps = limits.MaxPlanSteps

// planner builds sequences.
type planner struct {
	prog   *check.Program
	dryRun bool
	// onPath holds the flows being expanded: a flow met again inside its
	// own expansion is a cycle (the checker reports cycles; this keeps the
	// planner safe). Depth alone is no error.
	onPath map[*check.Flow]bool
	err    error
}

// load appends the expansion of flow f loaded with label (§4.6):
// module props, entry flows (for top-level loads), pre flows, the flow,
// post flows, exit flows.
func (p *planner) load(out *[]Step, f *check.Flow, label string) {
	if p.err != nil {
		return
	}
	if p.onPath[f] {
		p.err = diag.Errorf(f.Decl.Name.Span(), "cycle", "flow %s is among its own pre or post flows", f.QualifiedName())
		return
	}
	if len(*out) >= maxPlanSteps {
		p.err = diag.Errorf(f.Decl.Name.Span(), "plan-size", "the expansion of this flow exceeds %d steps", maxPlanSteps).
			WithHint("pre and post flows run at every occurrence: a flow shared by many others multiplies")
		return
	}
	if p.onPath == nil {
		p.onPath = map[*check.Flow]bool{}
	}
	p.onPath[f] = true
	defer delete(p.onPath, f)
	var dryOf *check.Flow
	if p.dryRun && f.Ann.DryRun != nil {
		dryOf, f = f, f.Ann.DryRun
	}
	m := f.Owner
	*out = append(*out, Step{Kind: StepProps, Module: m, Label: label})
	if label == "top" {
		for _, e := range m.Entries {
			p.load(out, e, "entry")
		}
	}
	for _, pre := range f.Pre {
		p.load(out, pre, label)
	}
	*out = append(*out, Step{Kind: StepFlow, Module: m, Flow: f, Label: label, DryRunOf: dryOf})
	for _, post := range f.Post {
		p.load(out, post, label)
	}
	if label == "top" {
		for _, x := range m.Exits {
			p.load(out, x, "exit")
		}
	}
}

// dedupe keeps the first occurrence of module props and of entry/exit
// flows (Part I: each runs once per selected top-level flow, in the order
// of first appearance); other flows keep every occurrence.
func dedupe(steps []Step) []Step {
	seen := map[string]bool{}
	autoload := map[string]bool{}
	for _, s := range steps {
		if s.Kind == StepFlow && (s.Label == "entry" || s.Label == "exit" || s.Flow.Ann.AutoLoad != "") {
			autoload[s.key()] = true
		}
	}
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		once := s.Kind == StepProps || s.Kind == StepEnv
		if !once && len(autoload) == 0 {
			out = append(out, s) // no key to build: nothing else is kept once
			continue
		}
		k := s.key()
		if once || autoload[k] {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, s)
	}
	return out
}

// BuildPlan builds the sequence for one top-level flow with the selected envs.
func BuildPlan(prog *check.Program, envs []*check.Env, top *check.Flow, dryRun bool) (*Plan, error) {
	p := &planner{prog: prog, dryRun: dryRun}
	// Room for the usual shape, a flow with its pre and post flows and a
	// props step before each: growing the array step by step copied it
	// over and over for a flow of 10,000 pre flows.
	steps := make([]Step, 0, len(envs)+2*(1+len(top.Pre)+len(top.Post))+4)
	for _, e := range envs {
		steps = append(steps, Step{Kind: StepEnv, Env: e, Label: "top"})
	}
	p.load(&steps, top, "top")
	if p.err != nil {
		return nil, p.err
	}
	return &Plan{Top: top, Steps: dedupe(steps)}, nil
}

// UndoSteps is the expansion of an undo flow (§4.11).
func UndoSteps(prog *check.Program, u *check.Flow) []Step {
	p := &planner{prog: prog}
	var steps []Step
	p.load(&steps, u, "top")
	return dedupe(steps)
}

// ResolveFlow finds a CLI flow name: `name` → main.name, `mod.name` (§4.6).
func ResolveFlow(prog *check.Program, name string) (*check.Flow, error) {
	mod, item := "main", name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		mod, item = name[:i], name[i+1:]
	}
	m := prog.Module(mod)
	if m == nil {
		var names []string
		for _, x := range prog.Mods {
			names = append(names, x.Name)
		}
		d := diag.Errorf(diag.Span{}, "unknown-flow", "module %q not found for flow %q", mod, name)
		d.Hint = diag.DidYouMean(mod, names)
		return nil, d
	}
	if f := m.Flow(item); f != nil {
		return f, nil
	}
	var names []string
	for _, f := range m.Flows {
		names = append(names, f.Name)
	}
	d := diag.Errorf(diag.Span{}, "unknown-flow", "flow %q not found in module %s", item, m.Name)
	d.Hint = diag.DidYouMean(item, names)
	if d.Hint == "" && len(names) > 0 {
		d.Hint = "flows of " + m.Name + ": " + strings.Join(names, ", ")
	}
	return nil, d
}

// ResolveEnv finds a CLI env name: searched as `e` (if dotted), then
// main.e, env.e, envs.e (§4.6).
func ResolveEnv(prog *check.Program, name string) (*check.Env, error) {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		if m := prog.Module(name[:i]); m != nil {
			if e := m.Env(name[i+1:]); e != nil {
				return e, nil
			}
		}
	} else {
		for _, mod := range []string{"main", "env", "envs"} {
			if m := prog.Module(mod); m != nil {
				if e := m.Env(name); e != nil {
					return e, nil
				}
			}
		}
	}
	var names []string
	for _, mod := range []string{"main", "env", "envs"} {
		if m := prog.Module(mod); m != nil {
			for _, e := range m.Envs {
				names = append(names, e.Name)
			}
		}
	}
	d := diag.Errorf(diag.Span{}, "unknown-env", "environment %q not found", name)
	d.Hint = diag.DidYouMean(name, names)
	if d.Hint == "" {
		if len(names) == 0 {
			d.Hint = "the program defines no env; add `mod envs { env default { } }`"
		} else {
			d.Hint = "envs: " + strings.Join(names, ", ")
		}
	}
	return nil, d
}
