package engine

import (
	"sort"
	"strings"
)

// Outline is what a command line may name in a workflow file: shell
// completion reads it (gxl completion).
type Outline struct {
	// Flows are main's flows by their name and the other modules'
	// flows as mod.flow (so a module name completes too); names starting
	// with _ are left out.
	Flows []string
	// Envs are the envs -e selects (module main, env or envs).
	Envs []string
	// Vars are the names --set may give: the variables the program
	// reads, upper case, and a system's variables.
	Vars []string
}

// Outline loads file as Load does and lists its names. A file that does
// not check gives what could be read of it; one that cannot be read, an
// empty Outline.
func (e *Engine) Outline(file string) Outline {
	p := e.load(file, nil)
	var o Outline
	if p.sys != nil {
		for _, v := range p.sys.Vars {
			o.Vars = append(o.Vars, v.Name)
		}
	}
	prog := p.checked
	if prog == nil {
		return o
	}
	for _, m := range prog.Mods {
		for _, f := range m.Flows {
			if strings.HasPrefix(f.Name, "_") {
				continue
			}
			if m.Name == "main" {
				o.Flows = append(o.Flows, f.Name)
			} else {
				o.Flows = append(o.Flows, m.Name+"."+f.Name)
			}
		}
		if m.Name == "main" || m.Name == "env" || m.Name == "envs" {
			for _, env := range m.Envs {
				if !strings.HasPrefix(env.Name, "_") {
					o.Envs = append(o.Envs, env.Name)
				}
			}
		}
	}
	if p.sys == nil {
		for _, n := range prog.Reads() {
			o.Vars = append(o.Vars, strings.ToUpper(n))
		}
	}
	for _, l := range []*[]string{&o.Flows, &o.Envs, &o.Vars} {
		*l = uniqueSorted(*l)
	}
	return o
}

// uniqueSorted sorts l and drops repeats.
func uniqueSorted(l []string) []string {
	sort.Strings(l)
	out := l[:0]
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}
