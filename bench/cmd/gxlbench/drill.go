package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gxl-dev/gxl/internal/drill"
)

// Rows 7: the failover drills under `gxl operate` (`make drill`; docs/operate.md,
// "Drills"). The drills themselves are cmd/gxl's TestFailoverDrills — the
// example system on real servers, PostgreSQL and Redis primaries SIGKILLed
// in turn, writers counting only replicated writes — run with GXL_DRILLS
// drills; its report gives the figures (the example system's Sentinels
// have down-after 2× the window there: gxl decides, a Sentinel carries
// the failover out). Beside them, Redis Sentinel on its own (three
// Sentinels, down-after-milliseconds = the drills'
// FAILURE_DETECTION_SECONDS) fails a killed master over, several times.
// `make bench` does not run them (minutes): without GXL_DRILLS the row
// says so.

func drills(b *bench) ([]Row, error) {
	n := os.Getenv("GXL_DRILLS")
	if n == "" {
		return []Row{{ID: "10", What: "failover drills under `gxl operate` vs Redis Sentinel (kill → writable, × the detection window)",
			GXL: "not run by make bench: `make drill`", Peer: "—", Ratio: "—", Target: "—", Met: "—"}}, nil
	}
	if _, err := strconv.Atoi(n); err != nil {
		return nil, fmt.Errorf("GXL_DRILLS=%q: want a number of drills", n)
	}
	report := filepath.Join(b.work, "drills.json")
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "test", "-count=1", "-timeout", "60m", "-run", "^TestFailoverDrills$", "-v", "./cmd/gxl")
	cmd.Dir = b.repo
	cmd.Env = append(os.Environ(), "GXL_DRILLS="+n, "GXL_DRILL_REPORT="+report)
	fmt.Fprintf(os.Stderr, "gxlbench: 7: %d drills (go test -run TestFailoverDrills ./cmd/gxl)\n", mustInt(n))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("drills: %w\n%s", err, tail(string(out), 3000))
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return nil, err
	}
	var rep drill.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	window := time.Duration(rep.WindowSeconds) * time.Second
	fig := map[string]*series{}
	add := func(name string, ms int64) {
		s := fig[name]
		if s == nil {
			s = &series{name: name}
			fig[name] = s
		}
		s.samples = append(s.samples, time.Duration(ms)*time.Millisecond)
	}
	acked, lost, oneEach, redisDrills, asked := 0, 0, true, 0, 0
	for _, d := range rep.Drills {
		if d.Kind == "redis" {
			redisDrills++
			if d.Asked == 1 {
				asked++
			}
		}
		add(d.Kind+" promoted", d.PromotedMS)
		add(d.Kind+" writable", d.WritableMS)
		add(d.Kind+" acked", d.AckedMS)
		add(d.Kind+" service", d.ServiceMS)
		add(d.Kind+" alert", d.AlertMS)
		acked += d.Acked
		lost += d.Lost
		oneEach = oneEach && d.Promotions == 1
	}
	for _, k := range []string{"postgresql", "redis"} {
		if fig[k+" writable"] == nil {
			return nil, fmt.Errorf("the report has no %s drill (GXL_DRILLS=%s)", k, n)
		}
	}

	// Sentinel on its own, the same window.
	ctx := context.Background()
	sentinel := series{name: fmt.Sprintf("Redis Sentinel alone, down-after %s (kill → writable)", window)}
	for r := 0; r < max(failoverRuns, b.runs); r++ {
		d, err := sentinelAlone(ctx, window)
		if err != nil {
			return nil, err
		}
		sentinel.samples = append(sentinel.samples, d)
	}
	for _, k := range []string{"postgresql promoted", "postgresql writable", "postgresql acked", "postgresql service", "postgresql alert", "redis writable", "redis acked", "redis service", "redis alert"} {
		if s := fig[k]; s != nil {
			s.name = "gxl operate drill, " + k + " (from the kill)"
			b.samples = append(b.samples, *s)
		}
	}
	b.samples = append(b.samples, sentinel)
	x := func(d time.Duration) float64 { return float64(d) / float64(window) }
	times := func(d time.Duration) string { return fmt.Sprintf("%s (%.2f×)", ms(d), x(d)) }
	pg, rd, sen := fig["postgresql writable"].median(), fig["redis writable"].median(), sentinel.median()
	return []Row{
		{ID: "10", What: fmt.Sprintf("PostgreSQL primary SIGKILLed under `gxl operate` (FAILURE_DETECTION_SECONDS=%d): kill → the new primary commits a write, × the window; vs Redis Sentinel alone, down-after %s: kill → writable (median of %d and %d)", rep.WindowSeconds, window, len(fig["postgresql writable"].samples), len(sentinel.samples)),
			GXL: times(pg), Peer: times(sen), Ratio: fmt.Sprintf("%.2f× Sentinel's", float64(pg)/float64(sen)),
			Target: "≤ 1.1× the window; ≤ Sentinel's", Met: yesNo(x(pg) <= 1.1 && pg <= sen)},
		{ID: "10b", What: "PostgreSQL drill: kill → `postgres-primary` re-pointed; → failover alert received; → first write a synchronous standby acknowledged (the old primary rejoined)",
			GXL:  fmt.Sprintf("%s; %s; %s", times(fig["postgresql service"].median()), times(fig["postgresql alert"].median()), times(fig["postgresql acked"].median())),
			Peer: "—", Ratio: "—", Target: "—", Met: "—"},
		{ID: "10c", What: fmt.Sprintf("Redis master SIGKILLed under `gxl operate` (the system's Sentinels, down-after 2× the window as the backstop; gxl's SENTINEL FAILOVER at its window, in %d of %d drills): kill → writable; → `redis-master` re-pointed; vs Sentinel alone (down-after %s)", asked, redisDrills, window),
			GXL: fmt.Sprintf("%s; %s", times(rd), times(fig["redis service"].median())), Peer: times(sen), Ratio: fmt.Sprintf("%.2f×", float64(rd)/float64(sen)),
			Target: "≤ 1.1× the window; ≤ Sentinel's", Met: yesNo(x(rd) <= 1.1 && rd <= sen)},
		{ID: "10d", What: fmt.Sprintf("%d consecutive drills alternating PostgreSQL and Redis, writers counting only replicated writes (synchronous COMMIT, WAIT 1)", len(rep.Drills)),
			GXL:  fmt.Sprintf("%d acknowledged writes, %d lost; one promotion per drill: %s", acked, lost, yesNo(oneEach)),
			Peer: "—", Ratio: "—", Target: "0 lost, 1 promotion per drill", Met: yesNo(lost == 0 && oneEach)},
	}, nil
}

func mustInt(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
