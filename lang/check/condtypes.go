package check

import (
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/ast"
)

// condTypeHint is the advice for every comparison of mismatched types.
const condTypeHint = `GXL does not convert between types: compare a string with "..." and a number with a number`

// condTypes applies the comparison type rules (Part I, conditions) where
// the operand types are known: == and != between different types always
// answer false and true (a warning); <, <=, >, >= need two values of the
// same scalar type and =* two strings (errors). Unknown types are left to
// the run, where the same rules are errors (value.Compare, wildmatch).
// It returns the static type of cond.
func (c *checker) condTypes(cond ast.Cond) types.Type {
	switch n := cond.(type) {
	case *ast.CondParen:
		return c.condTypes(n.X)
	case *ast.CondUnary:
		c.condTypes(n.X)
		return types.Bool
	case *ast.CondDefined:
		return types.Bool
	case *ast.CondOperand:
		return c.operandType(n.X)
	case *ast.CondBinary:
		l, r := c.condTypes(n.L), c.condTypes(n.R)
		known := l != types.Any && r != types.Any
		switch n.Op {
		case "==", "!=":
			if known && l != r {
				answer := "false"
				if n.Op == "!=" {
					answer = "true"
				}
				w := c.warnf(n.OpPos, "cond-type", "condition: %s between %s and %s is always %s", n.Op, l, r, answer)
				w.Hint = condTypeHint
				if (l == types.Int && r == types.Float) || (l == types.Float && r == types.Int) {
					w.Hint = "an int never equals a float: write 1 for an int, 1.0 for a float"
				}
			}
		case "<", "<=", ">", ">=":
			for _, t := range []types.Type{l, r} {
				if t == types.List || t == types.Object {
					c.errorf(n.OpPos, "cond-type", "condition: %s cannot order %s values", n.Op, t).Hint = "order numbers, strings or booleans"
					return types.Bool
				}
			}
			if known && l != r {
				c.errorf(n.OpPos, "cond-type", "condition: %s between %s and %s (mismatched types)", n.Op, l, r).Hint = condTypeHint
			}
		case "=*":
			for _, t := range []types.Type{l, r} {
				if t != types.Any && t != types.String {
					c.errorf(n.OpPos, "cond-type", "condition: =* matches strings, not %s", t).Hint = `write the pattern as a string: ${NAME} =* "svc-*"`
					return types.Bool
				}
			}
		}
		return types.Bool
	}
	return types.Any
}

// operandType is the static type of a condition operand (TAny when only
// the run knows it).
func (c *checker) operandType(e ast.Expr) types.Type {
	if r, ok := e.(*ast.VarRef); ok {
		if len(r.Segments) != 1 || r.Default != nil {
			return types.Any
		}
		var buf foldBuf
		switch t := c.varTypes[string(fold(&buf, r.Root()))]; t {
		case types.String, types.Int, types.Float, types.Bool, types.List, types.Object:
			return t
		}
		return types.Any
	}
	return typeOf(e)
}
