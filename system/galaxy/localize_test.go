package galaxy

import "testing"

// TestMix: a later layer wins a name, first appearance keeps the order,
// ${NAME} resolves from the used values, then the environment, then the
// default; one with neither stays as written.
func TestMix(t *testing.T) {
	env := func(n string) (string, bool) { return "env-" + n, n == "FROM_ENV" }
	u := Mix([]Layer{
		{From: "defaults", Values: []KV{{"A", "a"}, {"PORT", 80}, {"URL", "http://${HOST:localhost}:${PORT}"}, {"E", "${FROM_ENV}"}, {"K", "${NOPE}"}}},
		{From: "values", Values: []KV{{"PORT", 8080}, {"B", "b"}}},
		{From: "--value", Values: []KV{{"A", "top"}, {"HOST", "h"}}},
	}, env)
	want := []UsedValue{
		{"A", "top", "--value"}, {"PORT", 8080, "values"}, {"URL", "http://h:8080", "defaults"},
		{"E", "env-FROM_ENV", "defaults"}, {"K", "${NOPE}", "defaults"}, {"B", "b", "values"}, {"HOST", "h", "--value"},
	}
	if len(u.Entries) != len(want) {
		t.Fatalf("got %v", u.Entries)
	}
	for i, w := range want {
		if g := u.Entries[i]; g.Name != w.Name || g.From != w.From || !equalText(g.Value, w.Value) {
			t.Errorf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
}
