package value

import (
	"testing"

	"github.com/gxl-dev/gxl/core/types"
)

// A kind's name is its static type's name (one table of names).
func TestKindType(t *testing.T) {
	for _, v := range []Value{Str("a"), Bool(true), Int(1), Float(1.5), List(), Obj(NewObject())} {
		if v.Kind().String() != v.Kind().Type().String() || v.Kind().Type() == types.Any {
			t.Errorf("%v: kind %s, type %s", v.Display(), v.Kind(), v.Kind().Type())
		}
	}
	if KInvalid.String() != "invalid" || KInvalid.Type() != types.Any {
		t.Errorf("invalid kind: %s %s", KInvalid, KInvalid.Type())
	}
}
