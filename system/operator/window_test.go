package operator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// TestOperateWindow: operate.window says whether the run's clock, in the
// run's zone, is inside the window (start inclusive, end exclusive,
// wrapping midnight), when it next opens, and that --force opens it.
func TestOperateWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database")
	}
	at := func(s string) func() time.Time {
		tm, _ := time.Parse(time.RFC3339, s)
		return func() time.Time { return tm }
	}
	const src = `
mod envs { env default { } }
mod main {
    flow w {
        operate.window(start: "${S}", end: "${E}", out: "MW");
        gx.echo("open=${MW.open} inside=${MW.inside} forced=${MW.forced} next=${MW.next} window=${MW.window}");
    }
}`
	for _, tc := range []struct {
		name, start, end string
		host             builtin.Host
		want             string
	}{
		{"inside", "02:00", "04:00", builtin.Host{Now: at("2026-03-10T02:00:00Z")}, "open=true inside=true forced=false next=2026-03-10 02:00 UTC window=02:00–04:00 UTC"},
		{"end is outside", "02:00", "04:00", builtin.Host{Now: at("2026-03-10T04:00:00Z")}, "open=false inside=false forced=false next=2026-03-11 02:00 UTC"},
		{"before", "02:00", "04:00", builtin.Host{Now: at("2026-03-10T01:59:00Z")}, "open=false inside=false forced=false next=2026-03-10 02:00 UTC"},
		{"forced", "02:00", "04:00", builtin.Host{Now: at("2026-03-10T12:00:00Z"), Force: true}, "open=true inside=false forced=true next=2026-03-11 02:00 UTC"},
		{"wraps midnight", "22:00", "02:00", builtin.Host{Now: at("2026-03-10T01:00:00Z")}, "open=true inside=true"},
		{"zone", "02:00", "04:00", builtin.Host{Now: at("2026-03-10T01:30:00Z"), Location: berlin}, "open=true inside=true forced=false next=2026-03-10 02:30 CET window=02:00–04:00 Europe/Berlin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := gxltest.RunHost(t, src, "w", tc.host, map[string]string{"S": tc.start, "E": tc.end})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
	for _, bad := range [][2]string{{"2:00", "04:00"}, {"02:00", "24:00"}, {"03:00", "03:00"}} {
		_, err := gxltest.RunHost(t, src, "w", builtin.Host{}, map[string]string{"S": bad[0], "E": bad[1]})
		if err == nil || !strings.Contains(err.Error(), "operate.window") {
			t.Errorf("window %s–%s: err %v, want an operate.window error", bad[0], bad[1], err)
		}
	}
}
