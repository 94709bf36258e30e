package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
)

// Row 4: a generated system of fanModules local modules whose five stages
// each run one sleep of fanStep; `gxl run -j 16` against the critical path
// (every stage is ceil(500/16) rounds of one sleep).
const (
	fanModules = 500
	fanStages  = 5
	fanJobs    = 16
	fanStep    = 50 * time.Millisecond
)

func fanOut(b *bench) ([]Row, error) {
	root := filepath.Join(b.work, "fan")
	files := map[string]string{
		"sys/sys_model.yml": "name: fan\nmodel: x86-ubt22-host\nvender: bench\n",
		"sys/vars.yml":      fmt.Sprintf("vars:\n  - name: STEP\n    value: \"%g\"\n", fanStep.Seconds()),
	}
	var list, stages, wf strings.Builder
	for s := 1; s <= fanStages; s++ {
		fmt.Fprintf(&stages, "    flow s%d { gx.cmd(\"sleep ${STEP}\"); }\n", s)
	}
	for i := 0; i < fanModules; i++ {
		name := fmt.Sprintf("m%03d", i)
		fmt.Fprintf(&list, "- name: %s\n  addr:\n    path: ./catalog/%s\n  model: x86-ubt22-host\n", name, name)
		files["catalog/"+name+"/workflows/operators.gxl"] = "mod main {\n" + stages.String() + "}\n"
	}
	files["sys/mod_list.yml"] = list.String()
	wf.WriteString("mod main {\n    flow fetch { sys.fetch(); }\n")
	var names []string
	for s := 1; s <= fanStages; s++ {
		fmt.Fprintf(&wf, "    flow s%d { sys.stage(\"s%d\"); }\n", s, s)
		names = append(names, fmt.Sprintf("s%d", s))
	}
	fmt.Fprintf(&wf, "    flow all | %s;\n}\n", strings.Join(names, " | "))
	files["sys/workflows/operators.gxl"] = wf.String()
	for p, src := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			return nil, err
		}
	}
	if out, err := exec.Command(b.gxl, "run", "-q", filepath.Join(root, "sys/workflows/operators.gxl"), "fetch").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("fetch: %w\n%s", err, tail(string(out), 2000))
	}
	check := func(out []byte) error {
		if n := strings.Count(string(out), fmt.Sprintf(": %d ok", fanModules)); n != fanStages {
			return fmt.Errorf("%d of %d stages report %d ok:\n%s", n, fanStages, fanModules, tail(string(out), 2000))
		}
		return nil
	}
	ss, err := b.measure(job{name: "gxl run -j 16, 500 modules × 5 stages", dir: root, check: check,
		argv: []string{b.gxl, "run", "-q", "-j", fmt.Sprint(fanJobs), "sys/workflows/operators.gxl", "all"}})
	if err != nil {
		return nil, err
	}
	s := ss[0]
	rounds := (fanModules + fanJobs - 1) / fanJobs
	ideal := time.Duration(fanStages*rounds) * fanStep
	ratio := float64(s.median()) / float64(ideal)
	return []Row{{
		ID: "4", What: fmt.Sprintf("fan-out: %d modules × %d stages of one `sleep %g` at `-j %d` vs the critical path (%d stages × %d rounds)", fanModules, fanStages, fanStep.Seconds(), fanJobs, fanStages, rounds),
		GXL:    ms(s.median()),
		Peer:   ms(ideal) + " (ideal)",
		Ratio:  fmt.Sprintf("%.2f×", ratio),
		Target: "≤ 1.2×",
		Met:    yesNo(ratio <= 1.2),
		RSS:    kb(s.rssKB),
	}}, nil
}

// Row 5: failover on real servers, from the kill of the primary until the
// new primary takes a write. Redis: gxl's flow (redis.down for Sentinel's
// down-after, then a direct failover) on one replication pair, against
// Sentinel's own failover with the same down-after on another. PostgreSQL:
// gxl's pg.failover flow (a whole process: fence attempt, promote, verify)
// against a bare pg_promote() from a Go client.
// failoverRuns is the least number of runs of each failover (or -runs).
const failoverRuns = 3

const redisFlow = `mod envs { env default { } }
mod main {
    flow failover {
        redis.down(addr: "${REDIS_PRIMARY}", for: "${DOWN_AFTER}", interval: "100ms", out: "GONE");
        if ${GONE} {
            redis.failover(primary: "${REDIS_PRIMARY}", replicas: ["${REDIS_REPLICA}"], out: "NEW");
        }
    }
}
`

const pgFlow = `mod envs { env default { } }
mod main {
    flow failover {
        pg.failover(primary: "${PG_PRIMARY_DSN}", standbys: ["${PG_STANDBY_DSN}"], out: "NEW");
    }
}
`

func failover(b *bench) ([]Row, error) {
	ctx := context.Background()
	dir := filepath.Join(b.work, "failover")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "redis.gxl"), []byte(redisFlow), 0o644)
	os.WriteFile(filepath.Join(dir, "pg.gxl"), []byte(pgFlow), 0o644)
	const downAfter = time.Second
	var gxlRedis, sentinel, gxlPG, bare series
	gxlRedis.name, sentinel.name = "gxl redis failover flow (kill → writable)", "Redis Sentinel failover (kill → writable)"
	gxlPG.name, bare.name = "gxl pg.failover flow (kill → writable)", "bare pg_promote() (kill → writable)"
	rss := map[string]int64{} // peak RSS (KiB) of the gxl processes
	// runGXL runs the flow as a whole process (under GNU time, for its
	// peak RSS), the servers' settings given as --set variables.
	runGXL := func(file string, env map[string]string) error {
		argv := []string{b.gxl, "run", "-q", file, "failover"}
		for k, v := range env {
			argv = append(argv, "--set", k+"="+v)
		}
		var out bytes.Buffer
		kb, err := peakRSS(dir, &out, nil, argv)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, tail(out.String(), 2000))
		}
		rss[file] = max(rss[file], kb)
		return nil
	}
	for r := 0; r < max(failoverRuns, b.runs); r++ {
		// gxl on a pair without Sentinel.
		h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{})
		if err != nil {
			return nil, err
		}
		env := h.Env()
		env["DOWN_AFTER"] = downAfter.String()
		killed := time.Now()
		h.Primary.Kill()
		err = runGXL("redis.gxl", env)
		if err == nil {
			err = redisWritable(ctx, h.Replica.Addr(), 10*time.Second)
		}
		gxlRedis.samples = append(gxlRedis.samples, time.Since(killed))
		h.Cleanup()
		if err != nil {
			return nil, fmt.Errorf("gxl redis failover: %w", err)
		}
		// Sentinel on its own.
		d, err := sentinelAlone(ctx, downAfter)
		if err != nil {
			return nil, err
		}
		sentinel.samples = append(sentinel.samples, d)
		// PostgreSQL: gxl's flow, then a bare promote, each on a fresh pair.
		for _, useGXL := range []bool{true, false} {
			c, err := devstack.StartPG(ctx, "", devstack.PGOptions{})
			if err != nil {
				return nil, err
			}
			killed := time.Now()
			c.Nodes[0].Kill()
			if useGXL {
				err = runGXL("pg.gxl", c.Env())
			} else {
				err = devstack.Exec(ctx, c.Nodes[1].DSN(), "select pg_promote(true, 60)")
			}
			if err == nil {
				err = pgWritable(ctx, c.Nodes[1].DSN(), 30*time.Second)
			}
			took := time.Since(killed)
			c.Cleanup()
			if err != nil {
				return nil, fmt.Errorf("pg failover (gxl=%v): %w", useGXL, err)
			}
			if useGXL {
				gxlPG.samples = append(gxlPG.samples, took)
			} else {
				bare.samples = append(bare.samples, took)
			}
		}
	}
	b.samples = append(b.samples, gxlRedis, sentinel, gxlPG, bare)
	rr := float64(gxlRedis.median()) / float64(sentinel.median())
	pr := float64(gxlPG.median()) / float64(bare.median())
	return []Row{
		{ID: "5", What: fmt.Sprintf("Redis failover, kill → new primary writable: gxl flow (redis.down %s, direct failover) vs Sentinel (down-after %s)", downAfter, downAfter),
			GXL: ms(gxlRedis.median()), Peer: ms(sentinel.median()), Ratio: fmt.Sprintf("%.2f×", rr),
			Target: "≤ 1× (no slower)", Met: yesNo(rr <= 1), RSS: kb(rss["redis.gxl"]) + " / —"},
		{ID: "5b", What: "PostgreSQL failover, kill → new primary writable: gxl pg.failover flow (whole process) vs bare pg_promote()",
			GXL: ms(gxlPG.median()), Peer: ms(bare.median()), Ratio: fmt.Sprintf("%.2f×", pr),
			Target: "—", Met: "—", RSS: kb(rss["pg.gxl"]) + " / —"},
	}, nil
}

func redisWritable(ctx context.Context, addr string, limit time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		err := c.Set(ctx, "gxlbench", "1", 0).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not writable after %s: %w", addr, limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pgWritable(ctx context.Context, dsn string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_, err = conn.Exec(ctx, "create table if not exists gxlbench (id int)")
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not writable after %s: %w", limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sentinelAlone starts a Redis pair watched by three Sentinels only
// (down-after downAfter), kills the master and returns the time until the
// replica takes a write.
func sentinelAlone(ctx context.Context, downAfter time.Duration) (time.Duration, error) {
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3, DownAfter: downAfter})
	if err != nil {
		return 0, err
	}
	defer h.Cleanup()
	killed := time.Now()
	h.Primary.Kill()
	if err := redisWritable(ctx, h.Replica.Addr(), 60*time.Second); err != nil {
		return 0, fmt.Errorf("sentinel failover: %w", err)
	}
	return time.Since(killed), nil
}
