package check

import (
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/runtime/value"
)

// CondProgram is an `if` / `else if` condition compiled with expr-lang/expr.
// Programs are immutable and safe for concurrent use.
type CondProgram struct {
	// Cond is the condition as parsed.
	Cond ast.Cond
	// Source is the expr-language text the condition was translated to.
	Source string
	// Refs are the variable references the condition reads (outside defined()).
	Refs []*ast.VarRef
}

// CondResolver gives a condition access to the running program's variables.
type CondResolver interface {
	// Lookup resolves a variable path ("A.B[0]") among GXL variables.
	Lookup(path string) (value.Value, bool)
	// Defined implements defined(${X}): GXL variables or an OS environment
	// variable named exactly X.
	Defined(path string) bool
}
