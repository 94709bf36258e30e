package operator

import (
	"fmt"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// Register adds operate.mark, the built-in through which a flow reports a
// module's health and the failovers it did to `gxl operate` (the
// gxl_module_healthy and gxl_failovers_total metrics, /status). Outside
// gxl operate it only logs.
func Register(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name:  "operate.mark",
		Doc:   "Report a module's health (healthy: true/false) or a failover it went through (failover: true) to gxl operate's metrics and status; outside gxl operate it only logs.",
		Where: builtin.InBlock, Effect: builtin.Pure,
		Params: []builtin.Param{
			{Name: "module", Type: types.String, Required: true, Positional: true, Doc: "the module the report is about"},
			{Name: "healthy", Type: types.Bool, Doc: "the module is healthy (true) or not (false): gxl_module_healthy{module}"},
			{Name: "failover", Type: types.Bool, Doc: "true: a failover of the module finished: gxl_failovers_total{module} counts it"},
		},
		Run: runMark,
	})
	registerWindow(r)
}

func runMark(c builtin.Ctx, a builtin.Args) error {
	mod := a.Str("module")
	if mod == "" {
		return fmt.Errorf("operate.mark: module is empty")
	}
	if !a.Has("healthy") && !a.Has("failover") {
		return fmt.Errorf("operate.mark: say what to report: healthy: true|false or failover: true")
	}
	m := c.Host().Marks
	if a.Has("healthy") {
		c.Logf("operate.mark: %s healthy=%v", mod, a.Bool("healthy"))
		if m != nil {
			m.MarkHealthy(mod, a.Bool("healthy"))
		}
	}
	if a.Has("failover") && a.Bool("failover") {
		c.Logf("operate.mark: %s failover", mod)
		if m != nil {
			m.MarkFailover(mod)
		}
	}
	return nil
}
