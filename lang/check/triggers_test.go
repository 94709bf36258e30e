package check_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

func TestClockWindow(t *testing.T) {
	utc := func(h, m int) time.Time { return time.Date(2030, 5, 10, h, m, 0, 0, time.UTC) }
	night := check.ClockWindow{Start: check.Clock(2 * time.Hour), End: check.Clock(4 * time.Hour)}
	wrap := check.ClockWindow{Start: check.Clock(22 * time.Hour), End: check.Clock(2 * time.Hour)}
	for _, tc := range []struct {
		w    check.ClockWindow
		at   time.Time
		in   bool
		next time.Time
	}{
		{night, utc(1, 59), false, utc(2, 0)},
		{night, utc(2, 0), true, utc(2, 0)},
		{night, utc(3, 59), true, utc(2, 0).AddDate(0, 0, 1)},
		{night, utc(4, 0), false, utc(2, 0).AddDate(0, 0, 1)},
		{wrap, utc(23, 0), true, utc(22, 0).AddDate(0, 0, 1)},
		{wrap, utc(1, 0), true, utc(22, 0)},
		{wrap, utc(2, 0), false, utc(22, 0)},
	} {
		if got := tc.w.Contains(tc.at); got != tc.in {
			t.Errorf("%s contains %s = %v, want %v", tc.w, tc.at.Format("15:04"), got, tc.in)
		}
		if got := tc.w.NextStart(tc.at); !got.Equal(tc.next) {
			t.Errorf("%s next start after %s = %s, want %s", tc.w, tc.at, got, tc.next)
		}
	}
	// In a zone: 02:00 in Berlin is 00:00 UTC in summer.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	at := time.Date(2030, 7, 1, 23, 30, 0, 0, time.UTC).In(berlin)
	if next := night.NextStart(at); !next.Equal(time.Date(2030, 7, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("next start in Berlin = %s", next.UTC())
	}
}

func TestTriggersResolveSystemVars(t *testing.T) {
	dir := t.TempDir()
	src := `mod main {
    #[every("${INTERVAL}"), window(start: "${WS}", end: "04:00")]
    flow watch { }
    #[cron("${SCHEDULE}"), on_failure(alert)]
    flow backup { }
    flow alert { }
}
`
	os.WriteFile(filepath.Join(dir, "main.gxl"), []byte(src), 0o644)
	prog, ds := check.Load(filepath.Join(dir, "main.gxl"), check.Options{Registry: stdlib.Default(),
		ExtraVars: map[string]types.Type{"INTERVAL": types.Int, "WS": types.String, "SCHEDULE": types.String}})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	vars := map[string]value.Value{"INTERVAL": value.Int(45), "WS": value.Str("02:30"), "SCHEDULE": value.Str("0 1 * * *")}
	lookup := func(n string) (value.Value, bool) { v, ok := vars[n]; return v, ok }
	trs, ds := prog.Triggers(lookup)
	if len(ds) > 0 || len(trs) != 2 {
		t.Fatalf("triggers %v, diags %v", trs, ds)
	}
	if trs[0].Every != 45*time.Second || trs[0].Window.Start != check.Clock(150*time.Minute) || trs[0].Cron != nil {
		t.Errorf("watch: %+v", trs[0])
	}
	if trs[1].Cron == nil || trs[1].OnFailure == nil || trs[1].OnFailure.Name != "alert" || trs[1].Every != 0 {
		t.Errorf("backup: %+v", trs[1])
	}
	// A bad value is reported at the argument that reads it.
	vars["SCHEDULE"] = value.Str("daily")
	_, ds = prog.Triggers(lookup)
	if len(ds) != 1 || ds[0].Span.Start.Line != 4 || !strings.Contains(ds[0].Summary, `"daily" is not a cron expression`) {
		t.Errorf("bad schedule: %v", ds)
	}
}
