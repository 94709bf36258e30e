package runtime_test

import (
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

// TestPinnedSetWins: a variable given with --set (Scope.Pin) keeps its
// value through every later Set and Delete of the run, in clones too
// (nested runs, fn calls), whatever the case of the name; the user at the
// debugger prompt (Replace) still changes it.
func TestPinnedSetWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(s *runtime.Scope) *runtime.Scope
		want string
	}{
		{"set", func(s *runtime.Scope) *runtime.Scope { s.Set("ENV_REGION", value.Str("eu")); return s }, "mars"},
		{"set other case", func(s *runtime.Scope) *runtime.Scope { s.Set("env_region", value.Str("eu")); return s }, "mars"},
		{"delete", func(s *runtime.Scope) *runtime.Scope { s.Delete("ENV_REGION"); return s }, "mars"},
		{"clone then set", func(s *runtime.Scope) *runtime.Scope { c := s.Clone(); c.Set("ENV_REGION", value.Str("eu")); return c }, "mars"},
		{"replace", func(s *runtime.Scope) *runtime.Scope { s.Replace("ENV_REGION", value.Str("venus")); return s }, "venus"},
		{"replace keeps the pin", func(s *runtime.Scope) *runtime.Scope {
			s.Replace("ENV_REGION", value.Str("venus"))
			s.Set("ENV_REGION", value.Str("eu"))
			return s
		}, "venus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := runtime.NewScope()
			s.Pin("ENV_REGION", value.Str("mars"))
			s.Set("OTHER", value.Str("a"))
			got := tc.do(s)
			if v, _ := got.Get("ENV_REGION"); v.String() != tc.want {
				t.Errorf("ENV_REGION = %q, want %q", v.String(), tc.want)
			}
			got.Set("OTHER", value.Str("b"))
			if v, _ := got.Get("OTHER"); v.String() != "b" {
				t.Errorf("an unpinned variable did not change: %q", v.String())
			}
		})
	}
}
