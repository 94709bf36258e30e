package types

import "testing"

func TestFromSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Type
		ok   bool
	}{
		{"string", String, true}, {"integer", Int, true}, {"number", Float, true},
		{"boolean", Bool, true}, {"list", List, true}, {"object", Object, true},
		{"int", Any, false}, {"", Any, false},
	} {
		got, ok := FromSchema(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FromSchema(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	for _, n := range SchemaNames {
		if _, ok := FromSchema(n); !ok {
			t.Errorf("SchemaNames lists %q, which FromSchema refuses", n)
		}
	}
	if Duration.String() != "duration" || Type(200).String() != "invalid" {
		t.Errorf("String: %v %v", Duration, Type(200))
	}
}
