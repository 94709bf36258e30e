package runtime_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

// A clone shares its parent's variables (Scope: a frozen layer under the
// scope's own changes) and must still behave as a copy: whatever one of
// them sets or deletes afterwards, before or after the parent was frozen
// into a layer, the other does not see. Both sizes: a parent with few own
// changes (copied) and one with many (frozen and shared).
func TestScopeCloneIsACopy(t *testing.T) {
	for _, n := range []int{3, 100} {
		fill := func() *runtime.Scope {
			s := runtime.NewScope()
			for i := range n {
				s.Set(fmt.Sprintf("V%d", i), value.Int(int64(i)))
			}
			return s
		}
		cases := []struct {
			name string
			do   func(t *testing.T, parent *runtime.Scope)
		}{
			{"the clone's set is not the parent's", func(t *testing.T, p *runtime.Scope) {
				c := p.Clone()
				c.Set("v0", value.Str("child"))
				c.Set("NEW", value.Str("child"))
				want(t, p, "V0", value.Int(0))
				gone(t, p, "NEW")
				want(t, c, "V0", value.Str("child"))
			}},
			{"the parent's set after the clone is not the clone's", func(t *testing.T, p *runtime.Scope) {
				c := p.Clone()
				p.Set("V1", value.Str("parent"))
				p.Set("LATER", value.Str("parent"))
				want(t, c, "V1", value.Int(1))
				gone(t, c, "LATER")
				// a second clone sees the parent as it is now
				c2 := p.Clone()
				want(t, c2, "V1", value.Str("parent"))
				want(t, c2, "LATER", value.Str("parent"))
				want(t, c, "V1", value.Int(1))
			}},
			{"the clone's delete is not the parent's", func(t *testing.T, p *runtime.Scope) {
				c := p.Clone()
				c.Delete("V2")
				gone(t, c, "V2")
				want(t, p, "V2", value.Int(2))
				if slices.Contains(c.Names(), "V2") {
					t.Errorf("Names of the clone list the deleted V2")
				}
				if _, ok := c.Map()["V2"]; ok {
					t.Errorf("Map of the clone has the deleted V2")
				}
				// set again after the delete, in a clone of the clone
				cc := c.Clone()
				gone(t, cc, "V2")
				cc.Set("v2", value.Str("again"))
				want(t, cc, "V2", value.Str("again"))
				gone(t, c, "V2")
			}},
			{"the parent's delete is not the clone's", func(t *testing.T, p *runtime.Scope) {
				c := p.Clone()
				p.Delete("V0")
				want(t, c, "V0", value.Int(0))
				gone(t, p, "V0")
				gone(t, p.Clone(), "V0")
			}},
			{"clones of clones are copies of each other", func(t *testing.T, p *runtime.Scope) {
				a := p.Clone()
				for i := range 40 { // past the share limit: a is frozen too
					a.Set(fmt.Sprintf("A%d", i), value.Int(int64(i)))
				}
				b, c := a.Clone(), a.Clone()
				b.Set("A0", value.Str("b"))
				c.Delete("A0")
				want(t, a, "A0", value.Int(0))
				want(t, b, "A0", value.Str("b"))
				gone(t, c, "A0")
				if got, wantN := len(a.Names()), n+40; got != wantN {
					t.Errorf("a has %d variables, want %d", got, wantN)
				}
				if got := len(p.Names()); got != n {
					t.Errorf("the parent has %d variables, want %d", got, n)
				}
			}},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%d vars/%s", n, tc.name), func(t *testing.T) { tc.do(t, fill()) })
		}
	}
}

func want(t *testing.T, s *runtime.Scope, name string, v value.Value) {
	t.Helper()
	got, ok := s.Get(name)
	if !ok || !value.Equal(got, v) {
		t.Errorf("%s = %v (set %v), want %v", name, got, ok, v)
	}
}

func gone(t *testing.T, s *runtime.Scope, name string) {
	t.Helper()
	if got, ok := s.Get(name); ok {
		t.Errorf("%s = %v, want it unset", name, got)
	}
}
