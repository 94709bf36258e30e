package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/value"
)

func TestHACheck(t *testing.T) {
	d := DefaultHA
	with := func(f func(*HA)) HA { h := d; f(&h); return h }
	for _, c := range []struct {
		name string
		h    HA
		want string // "" is valid
	}{
		{"defaults", d, ""},
		{"short", HA{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}, ""},
		{"lease", with(func(h *HA) { h.Lease = "ops/gxl-operator-shop" }), ""},
		{"renew = lease", with(func(h *HA) { h.RenewDeadline = h.LeaseDuration }), "--renew-deadline: 15s is not shorter than --lease-duration 15s"},
		{"renew > lease", with(func(h *HA) { h.RenewDeadline = 20 * time.Second }), "is not shorter than"},
		{"retry too long", with(func(h *HA) { h.RetryPeriod = 9 * time.Second }), "--retry-period: 9s is too long for --renew-deadline 10s"},
		{"zero retry", with(func(h *HA) { h.RetryPeriod = 0 }), "--retry-period: 0s is not a positive duration"},
		{"sub-second lease", HA{LeaseDuration: 900 * time.Millisecond, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}, "shorter than a second"},
		{"no slash", with(func(h *HA) { h.Lease = "leader" }), `--lease: "leader": not NAMESPACE/NAME`},
		{"two slashes", with(func(h *HA) { h.Lease = "a/b/c" }), "not NAMESPACE/NAME"},
		{"upper case", with(func(h *HA) { h.Lease = "Ops/x" }), "the namespace a lowercase RFC 1123 label"},
		{"empty name", with(func(h *HA) { h.Lease = "ops/" }), "the name"},
		{"spaces", with(func(h *HA) { h.Identity = " r1" }), "--identity"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.h.Check()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestDefaultLease(t *testing.T) {
	for _, c := range []struct {
		name string
		file string
		vars map[string]value.Value
		sets map[string]string
		want string
	}{
		{"a workflow", "work/deploy.gxl", nil, nil, "default/gxl-operator-deploy"},
		{"a system", "sys/workflows/operators.gxl", map[string]value.Value{"SYS_NAME": value.Str("Galaxy Ops"), "NAMESPACE": value.Str("microservices")}, nil, "microservices/gxl-operator-galaxy-ops"},
		{"--set namespace", "sys/workflows/operators.gxl", map[string]value.Value{"SYS_NAME": value.Str("shop"), "NAMESPACE": value.Str("microservices")}, map[string]string{"NAMESPACE": "staging"}, "staging/gxl-operator-shop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &Engine{}
			e.cfg.sets = c.sets
			got := e.DefaultLease(&Program{File: c.file, Vars: c.vars})
			if got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
			if _, _, err := ParseLease(got); err != nil {
				t.Fatal(err)
			}
		})
	}
}
