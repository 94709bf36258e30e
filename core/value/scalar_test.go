package value

import "testing"

func TestParseScalar(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"true", Bool(true)}, {"TRUE", Bool(true)}, {"false", Bool(false)}, {"FALSE", Bool(false)},
		{"True", Str("True")}, {"yes", Str("yes")}, {"1", Uint(1)}, {"0", Uint(0)},
		{"18446744073709551615", Uint(18446744073709551615)}, {"18446744073709551616", Str("18446744073709551616")},
		{"007", Str("007")}, {"-3", Str("-3")}, {"+3", Str("+3")}, {"1.5", Float(1.5)}, {"-1.5", Float(-1.5)},
		{"1.50", Str("1.50")}, {"1e3", Str("1e3")}, {"NaN", Str("NaN")}, {"inf", Str("inf")}, {"", Str("")},
		{" 1", Str(" 1")}, {"v1.2", Str("v1.2")},
	}
	for _, tt := range tests {
		got := ParseScalar(tt.in)
		if got.Kind() != tt.want.Kind() || got.String() != tt.want.String() {
			t.Errorf("ParseScalar(%q) = %v (%v), want %v (%v)", tt.in, got, got.Kind(), tt.want, tt.want.Kind())
		}
	}
}

func TestParseNumbers(t *testing.T) {
	for _, s := range []string{"1e3", "0x10", "+1", "1.", ".5", "inf", "NaN", "1_000", ""} {
		if _, ok := ParseNumber(s); ok {
			t.Errorf("ParseNumber(%q) accepted", s)
		}
		if _, err := ParseUint(s); err == nil {
			t.Errorf("ParseUint(%q) accepted", s)
		}
	}
	if f, ok := ParseNumber("-2.25"); !ok || f != -2.25 {
		t.Errorf("ParseNumber(-2.25) = %v %v", f, ok)
	}
	if u, err := ParseUint("007"); err != nil || u != 7 {
		t.Errorf("ParseUint(007) = %v %v", u, err)
	}
}
