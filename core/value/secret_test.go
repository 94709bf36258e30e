package value

import (
	"strings"
	"testing"
)

func TestSecretPropagation(t *testing.T) {
	sec := Str("hunter2").AsSecret()
	obj := NewObject()
	obj.Set("pass", sec)
	contains := func(s string) bool { return strings.Contains(s, "hunter2") }
	cases := []struct {
		name string
		v    Value
		want bool
	}{
		{"plain string", Str("x"), false},
		{"marked string", sec, true},
		{"list holding a secret", List(Str("a"), sec), true},
		{"object holding a secret", Obj(obj), true},
		{"nested list", List(List(Str("a"), sec)), true},
		{"list without secrets", List(Str("a"), Int(1)), false},
		{"derived from a secret", Derive(Str("postgres://u:hunter2@h"), Str("u"), sec), true},
		{"derived from plain values", Derive(Str("ab"), Str("a"), Str("b")), false},
		{"tainted by its text", Taint(Str("pw=hunter2"), contains), true},
		{"text without the secret", Taint(Str("pw=hunte"), contains), false},
		{"tainted element", Taint(List(Str("a"), Str("x hunter2")), contains), true},
		{"tainted object member", Taint(Obj(objOf("dsn", Str("u:hunter2@h"))), contains), true},
		{"tainted int", Taint(Int(42), func(s string) bool { return s == "42" }), true},
	}
	for _, c := range cases {
		if got := c.v.Secret(); got != c.want {
			t.Errorf("%s: Secret() = %v, want %v", c.name, got, c.want)
		}
	}
	// Taint marks the element, not the whole list: the other elements
	// stay public, and the original is not changed.
	orig := List(Str("dev"), Str("x hunter2"))
	l := Taint(orig, contains)
	if l.Marked() || l.ListVal()[0].Secret() || !l.ListVal()[1].Secret() || orig.Secret() {
		t.Errorf("Taint must mark only the element holding the secret, on a copy")
	}
	if Str("hunter2").AsSecret().Display() != "***" {
		t.Errorf("Display of a secret must be ***")
	}
}

func objOf(k string, v Value) *Object {
	o := NewObject()
	o.Set(k, v)
	return o
}
