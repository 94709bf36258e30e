package runtime

import (
	"encoding/json"
	"testing"

	"github.com/gxl-dev/gxl/runtime/value"
)

// TestJournalValueIntRange: the journal keeps integers over their whole
// unsigned 64-bit range.
func TestJournalValueIntRange(t *testing.T) {
	for _, u := range []uint64{0, 7, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		b, err := json.Marshal(encodeValue(value.Uint(u)))
		if err != nil {
			t.Fatal(err)
		}
		var j jsonValue
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatal(err)
		}
		if got := decodeValue(j); got.Kind() != value.KInt || got.UintVal() != u {
			t.Errorf("%d came back as %v (%s)", u, got, b)
		}
	}
}
