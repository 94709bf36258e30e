package runtime

import (
	"fmt"
	"strings"

	"github.com/gxl-dev/gxl/lang/check"
)

var ansiColors = map[string]string{
	"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "purple": "35",
	"cyan": "36", "white": "37", "black": "30",
}

// MenuItem is an env or a flow the menu lists: its name and its
// #[usage] description and colour.
type MenuItem struct {
	Name  string `json:"name"`
	Desp  string `json:"desp,omitempty"`
	Color string `json:"-"`
}

// MenuOf lists what the menu shows: the envs (of the env, envs or main
// module) and the flows of main, those whose name starts with _ left out.
func MenuOf(prog *check.Program) (envs, flows []MenuItem) {
	var envMod *check.Module
	for _, n := range []string{"env", "envs", "main"} {
		if m := prog.Module(n); m != nil && len(m.Envs) > 0 {
			envMod = m
			break
		}
	}
	envs, flows = []MenuItem{}, []MenuItem{}
	if envMod != nil {
		for _, e := range envMod.Envs {
			if strings.HasPrefix(e.Name, "_") {
				continue
			}
			it := MenuItem{Name: e.Name}
			if e.Usage != nil {
				it.Desp, it.Color = e.Usage.Desp, e.Usage.Color
			}
			envs = append(envs, it)
		}
	}
	if m := prog.Module("main"); m != nil {
		for _, f := range m.Flows {
			if strings.HasPrefix(f.Name, "_") {
				continue
			}
			it := MenuItem{Name: f.Name}
			if f.Ann.Usage != nil {
				it.Desp, it.Color = f.Ann.Usage.Desp, f.Ann.Usage.Color
			}
			flows = append(flows, it)
		}
	}
	return envs, flows
}

// Menu renders the list of envs and flows shown when no flow is given
// (§6.1): envs from module env, else envs, else main; flows of main (own,
// then inherited); names starting with _ are hidden.
func Menu(prog *check.Program, color bool) string {
	var b strings.Builder
	b.WriteString("---------------prj work menu-------------\n")
	paint := func(text, c string) string {
		if !color || ansiColors[c] == "" {
			return text
		}
		return "\x1b[" + ansiColors[c] + "m" + text + "\x1b[0m"
	}
	envs, flows := MenuOf(prog)
	b.WriteString("envs:\n")
	for _, e := range envs {
		fmt.Fprintf(&b, "    * %s\n", paint(fmt.Sprintf("%-20s -- %s", e.Name, e.Desp), e.Color))
	}
	b.WriteString("flow:\n")
	for _, f := range flows {
		fmt.Fprintf(&b, "    * %s\n", paint(fmt.Sprintf("%-20s -- %s", f.Name, f.Desp), f.Color))
	}
	return b.String()
}
