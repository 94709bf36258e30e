// Package check is gxl's static checker. It loads a GXL file and its extern
// modules (as real modules, each file keeping its own positions), links
// them into a Program (mod inheritance, env mixins, flow pipelines, calls,
// annotations; spec §4.2–4.5), and reports every problem it finds at once
// as diagnostics: unknown names with suggestions, duplicates, cycles,
// built-in arguments typed against the shared registry, variables that no
// definition can reach, and `if` conditions compiled with expr-lang/expr.
//
// The Program is what the runtime executes, the REPL completes from and
// `gxl graph` draws: there is no second linker.
package check

import (
	"github.com/gxl-dev/gxl/core/retry"
	"sort"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// Program is a linked GXL program.
type Program struct {
	// Root is the file that was loaded first (the -f / FILE argument).
	Root *ast.File
	// Files holds every loaded file (root first, then externs in load order).
	Files []*ast.File
	// Mods lists modules in declaration order (after extern loading; a later
	// duplicate replaces an earlier one but keeps its position, §3.2).
	Mods []*Module
	// Registry is the built-in registry the program was checked against.
	Registry *builtin.Registry
	// Sources gives the renderer every loaded file.
	Sources diag.SourceMap
	// Calls maps each call statement to what it calls.
	Calls map[*ast.Call]*CallTarget
	// Conds maps each condition (the root of an `if` or `else if`) to its
	// compiled program.
	Conds map[ast.Cond]*CondProgram
	// Confine maps each loaded file that belongs to a fetched module (a
	// git extern's checkout, a system module) to that module's folder;
	// what the file loads must stay inside it (spec I.4). The project's
	// own files are absent.
	Confine map[string]string
	// defined is everything the program may define anywhere (Defines).
	defined *defs
	// reads are the variables the program reads (Reads), folded.
	reads map[string]bool
}

// Reads returns the variables the program reads anywhere — every ${X}
// reference in a flow, fn, env, property or condition, and defined(${X})
// tests — in lower case and sorted. A variable the program never reads
// may still reach a command through its environment.
func (p *Program) Reads() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.reads))
	for k := range p.reads {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Defines returns the variables the program may define anywhere, in
// lower case and sorted — the predefined and extra ones, module
// properties, env and flow definitions — and whether it may define any
// variable at all (gx.read_file of a whole file, a computed out name): what
// a module workflow that a sys.stage call of this program runs may find
// defined. Nil and false when the program was not checked (syntax errors).
func (p *Program) Defines() ([]string, bool) {
	if p == nil || p.defined == nil {
		return nil, false
	}
	return p.defined.list(), p.defined.open
}

// Module is a linked module. Items include inherited ones (§4.2).
type Module struct {
	Name string
	Decl *ast.Mod
	File *ast.File
	// Parents are the resolved parent modules in listed order.
	Parents []*Module
	// Props are the module's properties in export order: own first, then
	// inherited ones the module does not override (parents in listed order).
	// They are exported under THIS module's prefix (<MOD>_X, <mod>.x).
	Props []*ast.Assign
	// Envs, Flows, Fns, Activities in table order: own, then inherited.
	Envs       []*Env
	Flows      []*Flow
	Fns        []*Fn
	Activities []*Activity
	// Entries and Exits are the auto_load(entry) / auto_load(exit) flows of
	// the module (own and inherited), in table order.
	Entries []*Flow
	Exits   []*Flow

	// flowByName indexes Flows by name (the first entry of each), so that
	// linking a module of 10,000 flows is not quadratic. The linker adds
	// flows only through addFlow, which keeps it up to date.
	flowByName map[string]*Flow
}

// addFlow appends a flow to the module's table.
func (m *Module) addFlow(f *Flow) {
	m.Flows = append(m.Flows, f)
	if m.flowByName == nil {
		m.flowByName = map[string]*Flow{}
	}
	if _, ok := m.flowByName[f.Name]; !ok {
		m.flowByName[f.Name] = f
	}
}

// Flow looks a flow up by name in the module's table.
func (m *Module) Flow(name string) *Flow {
	if m.flowByName != nil {
		return m.flowByName[name]
	}
	for _, f := range m.Flows {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Env looks an env up by name in the module's table.
func (m *Module) Env(name string) *Env {
	for _, e := range m.Envs {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Fn looks a fn up by name.
func (m *Module) Fn(name string) *Fn {
	for _, f := range m.Fns {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Activity looks an activity up by name.
func (m *Module) Activity(name string) *Activity {
	for _, a := range m.Activities {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Module finds a module by name.
func (p *Program) Module(name string) *Module {
	for _, m := range p.Mods {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Flow is a flow as seen from one module's table. An inherited flow gets
// its own Flow value per inheriting module, because unqualified references
// inside it resolve in the inheriting module's table (§4.2).
type Flow struct {
	Name  string
	Decl  *ast.Flow
	Host  *Module // the module whose source defines the flow
	Owner *Module // the module whose table this entry belongs to
	Pre   []*Flow // resolved in Owner's context
	Post  []*Flow
	Ann   FlowAnnotations
}

// QualifiedName is "owner.name".
func (f *Flow) QualifiedName() string { return f.Owner.Name + "." + f.Name }

// FlowAnnotations are the interpreted annotations of a flow.
type FlowAnnotations struct {
	AutoLoad    string // "", "entry" or "exit"
	Transaction bool
	Undo        *Flow // resolved #[undo(x)] target, nil if none
	DryRun      *Flow // resolved #[dryrun(x)] target, nil if none
	Usage       *Usage
	Task        *ast.StringLit // #[task(name="...")], interpolated at run time
	Retry       *Retry
	Timeout     time.Duration // 0 = none
	// The triggers of `gxl operate` (triggers.go): #[every(...)],
	// #[cron(...)], #[window(start, end)] and the resolved
	// #[on_failure(flow)] target.
	Every, Cron *TriggerArg
	Window      *Window
	OnFailure   *Flow
}

// Usage is #[usage(desp="...", color="...")].
type Usage struct {
	Desp  string
	Color string
}

// Retry is #[retry(attempts=N, delay="1s", backoff=2.0, max_delay="30s")]:
// the same policy the retrying built-ins take (attempts, delay, backoff,
// max_delay).
type Retry = retry.Policy

// Env is a linked env.
type Env struct {
	Name  string
	Decl  *ast.Env
	Host  *Module
	Usage *Usage
	// Mixins in listed order; each is either a resolved env or an OS
	// environment reference (`${VAR}` naming an env at load time).
	Mixins []*EnvMixin
}

// EnvMixin is one mixin of an env.
type EnvMixin struct {
	Env   *Env        // resolved env, or nil
	OSVar *ast.VarRef // `${VAR}`: resolved from the process environment when the program runs
}

// Fn is a linked fn.
type Fn struct {
	Name string
	Decl *ast.Fn
	Host *Module
}

// Activity is a linked activity.
type Activity struct {
	Name string
	Decl *ast.Activity
	Host *Module
}

// CallTarget says what an *ast.Call statement calls: exactly one field is set.
type CallTarget struct {
	Builtin  *builtin.Builtin
	Fn       *Fn
	Activity *Activity
}
