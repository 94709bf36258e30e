package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/syntax"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestCondRunTimeTypes: comparisons whose types only the run knows follow
// the check-time rules: == / != across types answer false / true, ordering
// and =* on unsuitable types are positioned errors, never crashes.
func TestCondRunTimeTypes(t *testing.T) {
	prog, ds := check.CheckSource("w.gxl", []byte("mod main { flow f { } }"), check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	r := runtime.New(prog, runtime.Options{})
	vars := runtime.NewScope()
	vars.Set("S", value.Str("a"))
	vars.Set("N", value.Int(7))
	vars.Set("F", value.Float(7))
	vars.Set("L", value.List(value.Str("a"), value.Int(1)))
	tests := []struct {
		cond string
		want bool
		err  string // substring of the error; "" = none
		col  int    // column of the error
	}{
		{`${S} == 7`, false, "", 0},
		{`${S} != 7`, true, "", 0},
		{`${N} == ${F}`, false, "", 0},
		{`${L} == ["a", 1]`, true, "", 0},
		{`${L} == ["a", 2]`, false, "", 0},
		{`${N} < 8 && ${S} < "b"`, true, "", 0},
		{`${S} < 5`, false, "cannot order string and int", 9},
		{`${L} >= ${L}`, false, "cannot order list values", 9},
		{`${N} =* "7*"`, false, "=* matches strings, not int and string", 9},
	}
	for _, tt := range tests {
		src := "if " + tt.cond + " { }"
		stmts, pd := syntax.ParseStmts("c", []byte(src), diag.Pos{File: "c", Line: 1, Col: 1})
		if pd.HasErrors() {
			t.Fatalf("%s: %v", tt.cond, pd)
		}
		got, err := r.EvalCond(vars, stmts[0].(*ast.If).Cond)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s = %v, %v; want %v", tt.cond, got, err, tt.want)
			}
			continue
		}
		var d diag.Diagnostic
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", tt.cond, err, tt.err)
		} else if !errors.As(err, &d) || d.Span.Start.Col != tt.col {
			t.Errorf("%s: error at %v, want column %d", tt.cond, d.Span.Start, tt.col)
		}
	}
}
