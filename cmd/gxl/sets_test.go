package main

import (
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/engine"
)

// TestParseSetsScalars: --set values are read by value.ParseScalar, the
// reading GXL source gives the same text.
func TestParseSetsScalars(t *testing.T) {
	tests := []struct {
		set  string
		kind value.Kind
		text string
	}{
		{"A=true", value.KBool, "true"}, {"A=FALSE", value.KBool, "false"}, {"A=yes", value.KString, "yes"},
		{"A=3", value.KInt, "3"}, {"A=1.5", value.KFloat, "1.5"}, {"A=007", value.KString, "007"},
		{"A=x=y", value.KString, "x=y"},
	}
	for _, tt := range tests {
		raw, err := parseSets([]string{tt.set})
		got := engine.TypedSet(raw["A"])
		if err != nil || got.Kind() != tt.kind || got.String() != tt.text {
			t.Errorf("%s: got %v (%v) %v", tt.set, got, got.Kind(), err)
		}
	}
}
