package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// header notes the machine: the figures mean little without it.
func (b *bench) header(w io.Writer) {
	fmt.Fprintf(w, "# gxl benchmarks\n\n")
	fmt.Fprintf(w, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if b.label != "" {
		fmt.Fprintf(w, "- gxl: %s\n", b.label)
	}
	fmt.Fprintf(w, "- machine: nproc %d, CPU %s, %s\n", runtime.NumCPU(), cpuModel(), memTotal())
	fmt.Fprintf(w, "- kernel: %s; load average at the start %s (other work on the machine skews figures: rows time their jobs in interleaved rounds)\n", kernel(), b.load)
	fmt.Fprintf(w, "- go: %s %s/%s (harness; gxl is built by the same toolchain)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if b.task != "" {
		fmt.Fprintf(w, "- go-task: %s\n", firstLine(b.task, "--version"))
	}
	fmt.Fprintf(w, "- method: median of %d whole-process runs after one untimed warm-up, standard output to /dev/null; scratch folder %s\n\n", b.runs, b.work)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			var n int64
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), &n)
			return fmt.Sprintf("%.1f GiB memory", float64(n)/(1<<20))
		}
	}
	return "memory unknown"
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return oneLine(strings.TrimSpace(string(out)))
}

// writeTable prints the rows as a Markdown table.
func writeTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| # | measurement | gxl | peer | ratio | target | met | peak RSS gxl / peer |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.ID, r.What, dash(r.GXL), dash(r.Peer), dash(r.Ratio), dash(r.Target), dash(r.Met), dash(r.RSS))
	}
	fmt.Fprintln(w)
}

// writeSamples lists every timed series: median, spread, all samples.
func (b *bench) writeSamples(w io.Writer) {
	fmt.Fprintln(w, "Samples (median, min–max, then every run):")
	fmt.Fprintln(w)
	for _, s := range b.samples {
		lo, hi := s.spread()
		var all []string
		for _, d := range s.samples {
			all = append(all, ms(d))
		}
		rss := ""
		if s.rssKB > 0 {
			rss = ", peak RSS " + kb(s.rssKB)
		}
		fmt.Fprintf(w, "- %s: %s, %s–%s%s; %s\n", s.name, ms(s.median()), ms(lo), ms(hi), rss, strings.Join(all, " "))
	}
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

func us(d time.Duration) string {
	if d >= 100*time.Microsecond {
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}

func kb(k int64) string {
	if k <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f MiB", float64(k)/1024)
}

func mb(n int) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func mbps(n int, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func thousands(n int) string {
	s := fmt.Sprint(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, out...), ",")
}
