package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gxl-dev/gxl/internal/devstack"
)

// Row 8: `gxl operate` of the example system on the local stack (real
// PostgreSQL pair, Redis pair with three Sentinels, kube-apiserver+kwok),
// after its pipeline, every probe healthy: the CPU time it uses over
// -idle (utime+stime of the process and of the children it waited for,
// from /proc/PID/stat) as a share of one core, and its peak RSS (VmHWM).
// With -idle-base, a second gxl binary (e.g. built from main) operates
// a copy of the same system at the same time, so both figures come from
// the same minutes of the same machine.
var (
	idleFor  = flag.Duration("idle", 10*time.Minute, "row 8: how long the idle `gxl operate` is measured")
	idleBase = flag.String("idle-base", "", "row 8: another gxl binary measured side by side (before/after)")
	idleProf = flag.String("idle-profile", "", "row 8: write a CPU profile of each operator into this folder (GXL_CPUPROFILE; <label>.pprof) and its allocations (GXL_MEMPROFILE; <label>.allocs.pprof)")
)

const (
	idleCPUTarget = 1.0      // % of one core
	idleRSSTarget = 64 << 10 // KiB
	// idleWarmup is left out of the CPU figure: loading the program and
	// the first runs of every trigger.
	idleWarmup = 15 * time.Second
)

func idleOperator(b *bench) ([]Row, error) {
	ctx := context.Background()
	pg, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	defer pg.Cleanup()
	rd, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3, DownAfter: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("Redis: %w", err)
	}
	defer rd.Cleanup()
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{})
	if err != nil {
		return nil, fmt.Errorf("Kubernetes: %w", err)
	}
	defer kube.Cleanup()
	sink, err := devstack.StartAlertSink("127.0.0.1:0", io.Discard)
	if err != nil {
		return nil, err
	}
	defer sink.Close()

	root := filepath.Join(b.work, "idle")
	for _, d := range []string{"sys", "modules"} {
		if err := copySys(filepath.Join(b.repo, d), filepath.Join(root, d)); err != nil {
			return nil, err
		}
	}
	git := filepath.Join(b.work, "idle-git")
	if _, err := runOnce(b.repo, io.Discard, []string{b.gxl, "dev", "publish", "--catalog", filepath.Join(b.repo, "modules"), "--out", git}); err != nil {
		return nil, err
	}
	conn := map[string]string{"KUBECONFIG": kube.Kubeconfig}
	for k, v := range pg.Env() {
		conn[k] = v
	}
	for k, v := range rd.Env() {
		conn[k] = v
	}
	var yml strings.Builder
	for k, v := range conn {
		fmt.Fprintf(&yml, "%s: %s\n", k, strconv.Quote(v))
	}
	connFile := filepath.Join(b.work, "idle-connections.yml")
	if err := os.WriteFile(connFile, []byte(yml.String()), 0o644); err != nil {
		return nil, err
	}
	env := []string{
		"GXL_MIRRORS=https://github.com/=" + git + "/github.com/",
		"GXL_MODULE_CACHE=" + filepath.Join(b.work, "idle-cache"),
		"GXL_CONNECTIONS=" + connFile,
		"TZ=UTC", "NO_COLOR=1",
		"SLACK_WEBHOOK_URL=" + sink.Addr() + "/slack",
		"PAGERDUTY_EVENTS_URL=" + sink.Addr() + "/pagerduty",
	}
	wf := filepath.Join("sys", "workflows", "operators.gxl")
	if _, err := runOnceEnv(root, io.Discard, env, []string{b.gxl, "run", "-q", wf, "pipeline"}); err != nil {
		return nil, fmt.Errorf("the example system's pipeline: %w", err)
	}

	type operated struct {
		label, bin, dir string
		cmd             *exec.Cmd
		addr            string
		ticks0          int64
		stderr          string
	}
	ops := []*operated{{label: "gxl", bin: b.gxl, dir: root}}
	if *idleBase != "" {
		base, err := filepath.Abs(*idleBase)
		if err != nil {
			return nil, err
		}
		// The same system, already deployed: a copy of the folder, so
		// each operator has its own journals.
		dir := filepath.Join(b.work, "idle-base")
		if out, err := exec.Command("cp", "-a", root, dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cp: %v: %s", err, out)
		}
		ops = append(ops, &operated{label: "base", bin: base, dir: dir})
	}
	defer func() {
		for _, o := range ops {
			if o.cmd != nil && o.cmd.ProcessState == nil {
				syscall.Kill(-o.cmd.Process.Pid, syscall.SIGKILL)
				o.cmd.Wait()
			}
		}
	}()
	for _, o := range ops {
		o.stderr = filepath.Join(b.work, "idle-"+o.label+".stderr")
		ef, err := os.Create(o.stderr)
		if err != nil {
			return nil, err
		}
		o.cmd = exec.Command(o.bin, "operate", "--listen", "127.0.0.1:0", wf)
		o.cmd.Dir = o.dir
		o.cmd.Env = append(os.Environ(), env...)
		if *idleProf != "" {
			o.cmd.Env = append(o.cmd.Env, "GXL_CPUPROFILE="+filepath.Join(*idleProf, o.label+".pprof"),
				"GXL_MEMPROFILE="+filepath.Join(*idleProf, o.label+".allocs.pprof"))
		}
		o.cmd.Stdout, o.cmd.Stderr = io.Discard, ef
		o.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = o.cmd.Start()
		ef.Close()
		if err != nil {
			return nil, err
		}
		if o.addr, err = operatorAddr(o.stderr, 60*time.Second); err != nil {
			return nil, fmt.Errorf("%s operate: %w", o.label, err)
		}
	}
	time.Sleep(idleWarmup)
	for _, o := range ops {
		if o.ticks0, err = cpuTicks(o.cmd.Process.Pid); err != nil {
			return nil, err
		}
	}
	began := time.Now()
	fmt.Fprintf(os.Stderr, "gxlbench: 7: measuring %d idle operator(s) for %s\n", len(ops), *idleFor)
	time.Sleep(*idleFor)
	took := time.Since(began)

	var rows []Row
	for _, o := range ops {
		t1, err := cpuTicks(o.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s operate: %w\n%s", o.label, err, tailFile(o.stderr))
		}
		hwm, err := procStatusKB(o.cmd.Process.Pid, "VmHWM")
		if err != nil {
			return nil, err
		}
		probes, failed, err := operatedRuns(o.addr)
		if err != nil {
			return nil, fmt.Errorf("%s operate: %w", o.label, err)
		}
		o.cmd.Process.Signal(syscall.SIGTERM)
		o.cmd.Wait()
		cpu := time.Duration(t1-o.ticks0) * time.Second / clockTicks
		pct := 100 * cpu.Seconds() / took.Seconds()
		if failed > 0 {
			return nil, fmt.Errorf("%s operate: %d failed runs while idle: not an idle system\n%s", o.label, failed, tailFile(o.stderr))
		}
		if alerts := sink.Alerts(); len(alerts) > 0 {
			return nil, fmt.Errorf("alerts while idle: %s", strings.Join(alerts, "; "))
		}
		name := fmt.Sprintf("idle gxl operate (%s): CPU over %s", o.label, took.Round(time.Second))
		b.samples = append(b.samples, series{name: name, samples: []time.Duration{cpu}, rssKB: hwm})
		what := fmt.Sprintf("idle `gxl operate sys/workflows/operators.gxl` of the example system on the local stack, every probe healthy, %s measured (%d probe runs): CPU time (utime+stime, children included) as a share of one core; peak RSS", took.Round(time.Second), probes)
		if o.label != "gxl" {
			what = fmt.Sprintf("the same, side by side, with %s", o.bin)
		}
		rows = append(rows, Row{ID: "8", What: what,
			GXL:  fmt.Sprintf("%.2f%% of a core (%.1f s CPU)", pct, cpu.Seconds()),
			Peer: "—", Ratio: "—",
			Target: "< 1% of a core, < 64 MiB",
			Met:    yesNo(pct < idleCPUTarget && hwm < idleRSSTarget),
			RSS:    kb(hwm) + " / —"})
	}
	return rows, nil
}

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// cpuTicks is utime+stime+cutime+cstime of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after it start past the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is field 3 (state): utime..cstime are fields 14..17.
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var sum int64
	for _, x := range f[11:15] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		sum += n
	}
	return sum, nil
}

// procStatusKB reads a "kB" line of /proc/PID/status (VmHWM: peak RSS).
func procStatusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}

var servingRE = regexp.MustCompile(`serving http://([0-9.:]+)/healthz`)

// operatorAddr waits for gxl operate to say where its endpoints are.
func operatorAddr(stderr string, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(stderr)
		if m := servingRE.FindSubmatch(b); m != nil {
			return string(m[1]), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("no endpoints after %s:\n%s", limit, tailFile(stderr))
}

var runsRE = regexp.MustCompile(`(?m)^gxl_flow_runs_total\{flow="([^"]+)",result="([^"]+)"\} (\d+)`)

// operatedRuns reads /metrics: the succeeded runs of the watch_ probes
// and the failed runs of every flow.
func operatedRuns(addr string) (probes, failed int, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range runsRE.FindAllStringSubmatch(string(body), -1) {
		n, _ := strconv.Atoi(m[3])
		switch {
		case m[2] == "failed":
			failed += n
		case strings.HasPrefix(m[1], "main.watch_"):
			probes += n
		}
	}
	return probes, failed, nil
}

func tailFile(p string) string {
	b, _ := os.ReadFile(p)
	return tail(string(b), 2000)
}
