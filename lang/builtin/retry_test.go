package builtin

import (
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
)

func retrying() *Builtin {
	return &Builtin{Name: "x.try", Params: append(RetryParams(1, "1s", "it"), OldRetries("retry"), OldDelay("retry_delay"))}
}

// TestResolve: an old spelling reaches the built-in under the new name,
// converted; current names pass unchanged.
func TestResolve(t *testing.T) {
	b := retrying()
	for _, tc := range []struct {
		arg  string
		in   value.Value
		name string
		out  string
	}{
		{"retry", value.Int(2), "attempts", "3"},
		{"retry_delay", value.Str("10ms"), "delay", "10ms"},
		{"attempts", value.Int(2), "attempts", "2"},
		{"delay", value.Str("5s"), "delay", "5s"},
	} {
		name, v := b.Param(tc.arg).Resolve(tc.in)
		if name != tc.name || v.String() != tc.out {
			t.Errorf("%s: %v → %s: %v, want %s: %s", tc.arg, tc.in, name, v, tc.name, tc.out)
		}
	}
	if got := strings.Join(b.ParamNames(), " "); got != "attempts delay backoff max_delay" {
		t.Errorf("ParamNames = %q: old spellings must not be offered", got)
	}
}

// TestAddRejectsBadDeprecated: an old spelling must name a current
// parameter and have no default, requirement or position.
func TestAddRejectsBadDeprecated(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Param
	}{
		{"unknown target", Param{Name: "old", Type: types.Int, Deprecated: &Deprecated{Use: "nothing"}}},
		{"with default", Param{Name: "old", Type: types.Int, Default: value.Int(1), Deprecated: &Deprecated{Use: "attempts"}}},
		{"required", Param{Name: "old", Type: types.Int, Required: true, Deprecated: &Deprecated{Use: "attempts"}}},
		{"target deprecated", Param{Name: "old", Type: types.Int, Deprecated: &Deprecated{Use: "retry"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := retrying()
			b.Params = append(b.Params, tc.p)
			defer func() {
				if recover() == nil {
					t.Errorf("Add accepted %+v", tc.p)
				}
			}()
			NewRegistry().Add(b)
		})
	}
	NewRegistry().Add(retrying()) // the well-formed declaration is accepted
}

func TestRetryPolicy(t *testing.T) {
	b := retrying()
	for _, tc := range []struct {
		vals map[string]value.Value
		want retry.Policy
		err  string
	}{
		{map[string]value.Value{}, retry.Policy{Attempts: 1, Backoff: 1}, ""},
		{map[string]value.Value{"attempts": value.Int(3), "delay": value.Str("1s"), "backoff": value.Float(2), "max_delay": value.Str("30s")},
			retry.Policy{Attempts: 3, Delay: time.Second, Backoff: 2, MaxDelay: 30 * time.Second}, ""},
		{map[string]value.Value{"attempts": value.Int(0)}, retry.Policy{Backoff: 1}, "attempts must be at least 1"},
		{map[string]value.Value{"attempts": value.Int(2), "backoff": value.Float(0.5)}, retry.Policy{Attempts: 2, Backoff: 0.5}, "backoff must be"},
	} {
		got, err := NewArgs(b, tc.vals).RetryPolicy()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: %+v, %v; want %+v, %q", tc.vals, got, err, tc.want, tc.err)
		}
	}
}
