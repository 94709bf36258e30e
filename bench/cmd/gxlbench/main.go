// Command gxlbench measures gxl against its peers and prints one table of
// ratios (make bench, through bench/run.sh, which builds the binaries it
// times). Every figure is the median of several whole-process runs after
// one untimed warm-up run; the raw samples follow the table.
//
//	gxlbench -gxl PATH -task PATH -spawnloop PATH [-runs N] [-only 1a,2] [-o FILE]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"time"
)

func main() {
	var (
		b    bench
		only string
		out  string
		keep bool
	)
	flag.StringVar(&b.gxl, "gxl", "", "gxl binary to measure (required)")
	flag.StringVar(&b.task, "task", "", "go-task binary (rows needing it are skipped without)")
	flag.StringVar(&b.spawnloop, "spawnloop", "", "bench/cmd/spawnloop binary, the floor of the shell rows")
	flag.StringVar(&b.repo, "repo", ".", "the gxl repository (for the example workflows)")
	flag.IntVar(&b.runs, "runs", 5, "timed runs per figure (the median is reported)")
	flag.StringVar(&only, "only", "", "comma-separated row ids to measure (default: all)")
	flag.StringVar(&out, "o", "", "also write the report to this file")
	flag.BoolVar(&keep, "keep", false, "keep the scratch folder with the generated workloads")
	flag.StringVar(&b.label, "label", "", "what was measured (e.g. the git commit), printed in the header")
	flag.Parse()
	if b.gxl == "" {
		fmt.Fprintln(os.Stderr, "gxlbench: -gxl is required")
		os.Exit(2)
	}
	if b.runs < 1 {
		b.runs = 1
	}
	var err error
	if b.gxl, err = filepath.Abs(b.gxl); err != nil {
		fail(err)
	}
	if b.task != "" {
		if b.task, err = filepath.Abs(b.task); err != nil {
			fail(err)
		}
	}
	if b.spawnloop != "" {
		if b.spawnloop, err = filepath.Abs(b.spawnloop); err != nil {
			fail(err)
		}
	}
	if b.work, err = os.MkdirTemp("", "gxlbench-"); err != nil {
		fail(err)
	}
	if !keep {
		defer os.RemoveAll(b.work)
	} else {
		fmt.Fprintf(os.Stderr, "gxlbench: workloads kept in %s\n", b.work)
	}
	want := map[string]bool{}
	for _, id := range strings.Split(only, ",") {
		if id = strings.TrimSpace(id); id != "" {
			want[id] = true
		}
	}

	b.load = loadAvg()
	var rows []Row
	for _, m := range measurements {
		if len(want) > 0 && !want[m.id] {
			continue
		}
		fmt.Fprintf(os.Stderr, "gxlbench: %s %s\n", m.id, m.title)
		if m.run == nil {
			rows = append(rows, Row{ID: m.id, What: m.title, GXL: "not measured yet", Met: "—"})
			continue
		}
		rs, err := m.run(&b)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gxlbench: %s: %v\n", m.id, err)
			rows = append(rows, Row{ID: m.id, What: m.title, GXL: "error: " + oneLine(err.Error()), Met: "—"})
			continue
		}
		rows = append(rows, rs...)
	}

	var rep bytes.Buffer
	b.header(&rep)
	writeTable(&rep, rows)
	b.writeSamples(&rep)
	os.Stdout.Write(rep.Bytes())
	if out != "" {
		if err := os.WriteFile(out, rep.Bytes(), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gxlbench:", err)
	os.Exit(1)
}

// bench holds what the measurements share.
type bench struct {
	gxl, task, spawnloop string
	repo, work           string
	label                string
	load                 string // load average when the run started
	runs                 int
	samples              []series // every timed series, for the appendix
}

// series is one timed command: its samples and peak memory.
type series struct {
	name    string
	samples []time.Duration
	rssKB   int64 // the largest peak RSS (getrusage ru_maxrss) of its runs
}

func (s series) median() time.Duration {
	d := append([]time.Duration(nil), s.samples...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

func (s series) spread() (time.Duration, time.Duration) {
	lo, hi := s.samples[0], s.samples[0]
	for _, d := range s.samples {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// job is one command to time as a whole process.
type job struct {
	name  string
	dir   string
	check func(stdout []byte) error // checks the warm-up run's output (optional)
	argv  []string
	env   []string // added to the environment (optional)
}

// measure times jobs: each runs once untimed (the warm-up, under GNU time
// for the peak RSS, its output checked), then b.runs rounds run every job
// once in turn with standard output on /dev/null, so the figures compared
// in a row see the same machine (a drift of load hits all of them).
//
// A series is measured once per report: a job whose name was measured
// before returns the first samples (rows share their baselines).
func (b *bench) measure(jobs ...job) ([]series, error) {
	out := make([]series, len(jobs))
	var todo []int
	for i, j := range jobs {
		if s, ok := b.find(j.name); ok {
			out[i] = s
			continue
		}
		var warm bytes.Buffer
		rss, err := peakRSS(j.dir, &warm, j.env, j.argv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", j.name, err)
		}
		if j.check != nil {
			if err := j.check(warm.Bytes()); err != nil {
				return nil, fmt.Errorf("%s: %w", j.name, err)
			}
		}
		out[i] = series{name: j.name, rssKB: rss}
		todo = append(todo, i)
	}
	for r := 0; r < b.runs; r++ {
		for _, i := range todo {
			d, err := runOnceEnv(jobs[i].dir, nil, jobs[i].env, jobs[i].argv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", jobs[i].name, err)
			}
			out[i].samples = append(out[i].samples, d)
		}
	}
	for _, i := range todo {
		b.samples = append(b.samples, out[i])
	}
	return out, nil
}

func (b *bench) find(name string) (series, bool) {
	for _, s := range b.samples {
		if s.name == name {
			return s, true
		}
	}
	return series{}, false
}

// timeBin is GNU time (Debian package time), which reports the peak RSS
// of its child. getrusage in this process cannot: Go starts children with
// vfork, and Linux carries the parent's high-water mark into the child's
// ru_maxrss across exec, so every child would show at least this
// process's peak.
const timeBin = "/usr/bin/time"

// peakRSS runs argv once under GNU time and returns its peak RSS in KiB,
// or 0 when GNU time is missing (the table then shows no RSS).
func peakRSS(dir string, stdout io.Writer, env, argv []string) (int64, error) {
	if _, err := os.Stat(timeBin); err != nil {
		_, err := runOnceEnv(dir, stdout, env, argv)
		return 0, err
	}
	f, err := os.CreateTemp("", "gxlbench-rss-")
	if err != nil {
		return 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if _, err := runOnceEnv(dir, stdout, env, append([]string{timeBin, "-f", "%M", "-o", f.Name()}, argv...)); err != nil {
		return 0, err
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		return 0, err
	}
	var kb int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &kb); err != nil {
		return 0, fmt.Errorf("%s: cannot read the peak RSS from %q", timeBin, out)
	}
	return kb, nil
}

// runOnce runs argv as a whole process; stdout nil means /dev/null.
func runOnce(dir string, stdout io.Writer, argv []string) (time.Duration, error) {
	return runOnceEnv(dir, stdout, nil, argv)
}

// runOnceEnv is runOnce with env added to the environment.
func runOnceEnv(dir string, stdout io.Writer, env, argv []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		defer null.Close()
		cmd.Stdout = null
	}
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(stderr.String(), 2000))
	}
	return d, nil
}

// timeIt times f in this process: one warm-up call, then b.runs calls.
func (b *bench) timeIt(name string, f func() error) (series, error) {
	if err := f(); err != nil {
		return series{}, err
	}
	s := series{name: name}
	for i := 0; i < b.runs; i++ {
		goruntime.GC()
		start := time.Now()
		if err := f(); err != nil {
			return series{}, err
		}
		s.samples = append(s.samples, time.Since(start))
	}
	b.samples = append(b.samples, s)
	return s, nil
}

// write puts a generated workload into the scratch folder: each workload
// gets its own folder, since a gxl run journals into .gxl/ of its folder.
func (b *bench) write(sub, name string, data []byte) (dir, path string, err error) {
	dir = filepath.Join(b.work, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, name)
	return dir, path, os.WriteFile(path, data, 0o644)
}

// gxlCheck fails unless `gxl check path` is clean.
func (b *bench) gxlCheck(path string) error {
	if _, err := runOnce(filepath.Dir(path), io.Discard, []string{b.gxl, "check", path}); err != nil {
		return fmt.Errorf("generated workload does not check: %w", err)
	}
	return nil
}

// lines returns a check that stdout has exactly n lines.
func lines(n int) func([]byte) error {
	return func(out []byte) error {
		if got := bytes.Count(out, []byte("\n")); got != n {
			return fmt.Errorf("expected %d output lines, got %d", n, got)
		}
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
