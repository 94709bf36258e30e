package runtime

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
)

// TestJournalValueRoundTrip: the journal's value encoding keeps integers
// over their whole unsigned 64-bit range, floats as floats (also whole
// ones and non-finite ones), object key order and keys starting with $.
func TestJournalValueRoundTrip(t *testing.T) {
	o := value.NewObject()
	o.Set("z", value.Str("last"))
	o.Set("$f", value.Str("not a float"))
	o.Set("a", value.List(value.Bool(true), value.Float(2)))
	cases := []value.Value{value.Str("x\"\n"), value.Float(1), value.Float(0.5), value.Obj(o)}
	for _, u := range []uint64{0, 7, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		cases = append(cases, value.Uint(u))
	}
	for _, v := range cases {
		var b bytes.Buffer
		encodeValueJSON(&b, v)
		dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
		dec.UseNumber()
		got, err := decodeValueJSON(dec)
		if err != nil {
			t.Fatalf("%s: %v", b.String(), err)
		}
		if got.Kind() != v.Kind() || got.String() != v.String() {
			t.Errorf("%v (%s) came back as %v (%s)", v, b.String(), got, got.TypeName())
		}
	}
}
