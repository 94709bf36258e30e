package syntax

import (
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
)

// TestScalarsAsValueReads: a literal in GXL source reads as
// value.ParseScalar reads the same text (the one value parser): boolean
// words are booleans, anything else that looks like one is a name.
func TestScalarsAsValueReads(t *testing.T) {
	for _, text := range []string{"true", "TRUE", "false", "FALSE", "True", "yes", "1", "42", "1.5", "0.25"} {
		f, d := Parse("t.gxl", []byte("mod main { a = "+text+"; }"))
		want := value.ParseScalar(text)
		if want.Kind() == value.KString {
			if !d.HasErrors() {
				t.Errorf("%s: parsed as a value, but value.ParseScalar reads a string", text)
			}
			continue
		}
		if d.HasErrors() {
			t.Errorf("%s: %v", text, d)
			continue
		}
		var got value.Value
		switch x := f.Mods()[0].Items[0].(*ast.Assign).Value.(type) {
		case *ast.BoolLit:
			got = value.Bool(x.Value)
		case *ast.NumberLit:
			if x.IsFloat {
				got = value.Float(x.Float)
			} else {
				got = value.Uint(x.Int)
			}
		}
		if got.Kind() != want.Kind() || got.String() != want.String() {
			t.Errorf("%s: source reads %v (%v), value.ParseScalar %v (%v)", text, got, got.Kind(), want, want.Kind())
		}
	}
}
