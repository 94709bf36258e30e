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
	var envMod *check.Module
	for _, n := range []string{"env", "envs", "main"} {
		if m := prog.Module(n); m != nil && len(m.Envs) > 0 {
			envMod = m
			break
		}
	}
	b.WriteString("envs:\n")
	if envMod != nil {
		for _, e := range envMod.Envs {
			if strings.HasPrefix(e.Name, "_") {
				continue
			}
			desp, c := "", ""
			if e.Usage != nil {
				desp, c = e.Usage.Desp, e.Usage.Color
			}
			fmt.Fprintf(&b, "    * %s\n", paint(fmt.Sprintf("%-20s -- %s", e.Name, desp), c))
		}
	}
	b.WriteString("flow:\n")
	if m := prog.Module("main"); m != nil {
		for _, f := range m.Flows {
			if strings.HasPrefix(f.Name, "_") {
				continue
			}
			desp, c := "", ""
			if f.Ann.Usage != nil {
				desp, c = f.Ann.Usage.Desp, f.Ann.Usage.Color
			}
			fmt.Fprintf(&b, "    * %s\n", paint(fmt.Sprintf("%-20s -- %s", f.Name, desp), c))
		}
	}
	return b.String()
}
