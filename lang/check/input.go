package check

import (
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// CheckStmts checks statements typed outside the program (the REPL's
// input) as if they were written in a flow block of module m (nil: main):
// calls, built-in arguments and conditions, with the same rules as the
// program's own bodies. Variables are not analysed: the REPL knows their
// values. Checked calls and conditions are recorded in the Program, so
// the runtime resolves them as it does the program's own.
func (p *Program) CheckStmts(m *Module, stmts []ast.Stmt) diag.List {
	if m == nil {
		m = p.Module("main")
	}
	c := &checker{prog: p, byName: map[string]*Module{}, varTypes: map[string]types.Type{}}
	for _, mod := range p.Mods {
		c.byName[mod.Name] = mod
	}
	if m == nil {
		// No main module: only built-ins can be called.
		m = &Module{Name: "main"}
	}
	c.stmts(m, stmts, builtin.InBlock)
	return c.diags.Normalize()
}
