package runtime_test

import (
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/runtime"
)

// benchProgram writes a flow with n copies of one statement.
func benchProgram(b *testing.B, n int, stmt string) (string, *runtime.Runner) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("mod envs { env default { } }\nmod main {\n    flow test {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "        %s\n", stmt)
	}
	sb.WriteString("    }\n}\n")
	os.WriteFile(filepath.Join(dir, "work.gxl"), []byte(sb.String()), 0o644)
	prog := load(b, filepath.Join(dir, "work.gxl"))
	r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true, SecretsFile: filepath.Join(dir, "none")})
	return dir, r
}

// BenchmarkRunSteps reports the per-step overhead of the interpreter:
// 10,000 trivial gx.echo steps and 1,000 gx.cmd "true" steps per run.
func BenchmarkRunSteps(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		stmt string
	}{
		{"echo-10000", 10000, `gx.echo("step ${GXL_CMD_ARG:x}");`},
		{"cmd-true-1000", 1000, `gx.cmd("true");`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			_, r := benchProgram(b, bc.n, bc.stmt)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := r.Run(context.Background(), []string{"default"}, []string{"test"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.n), "ns/step")
		})
	}
}

// flowsProgram writes the workflows make bench times (bench/cmd/gxlbench):
// n statements spread over flows of perFlow each, listed as the pre flows
// of `all`.
func flowsProgram(b *testing.B, n, perFlow int, stmt string) string {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("mod envs { env default { } }\nmod main {\n")
	var names []string
	for f := 0; f*perFlow < n; f++ {
		names = append(names, fmt.Sprintf("s%d", f))
		fmt.Fprintf(&sb, "    flow s%d {\n", f)
		for i := 0; i < perFlow; i++ {
			fmt.Fprintf(&sb, "        %s\n", stmt)
		}
		sb.WriteString("    }\n")
	}
	fmt.Fprintf(&sb, "    flow all : %s ;\n}\n", strings.Join(names, ", "))
	os.WriteFile(filepath.Join(dir, "work.gxl"), []byte(sb.String()), 0o644)
	return dir
}

// BenchmarkRunJournaled runs the shapes of make bench rows 2, 2b and 3b
// the way `gxl run` does, journal included (an fsync per record), so a
// CPU profile shows where a whole run's time goes:
//
//	go test ./runtime -run '^$' -bench RunJournaled/echo-flows -cpuprofile cpu.out
func BenchmarkRunJournaled(b *testing.B) {
	for _, bc := range []struct {
		name       string
		n, perFlow int
		stmt       string
	}{
		{"echo-100x100", 10000, 100, `gx.echo("step");`},
		{"echo-flows-10000", 10000, 1, `gx.echo("step");`},
		{"cmd-bin-true-1000", 1000, 100, `gx.cmd("/bin/true");`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := flowsProgram(b, bc.n, bc.perFlow, bc.stmt)
			prog := load(b, filepath.Join(dir, "work.gxl"))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j, err := runtime.CreateJournal(dir, runtime.Header{File: "work.gxl", Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
					SecretsFile: filepath.Join(dir, "none"), Journal: j})
				err = r.Run(context.Background(), []string{"default"}, []string{"all"})
				j.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.n), "ns/step")
		})
	}
}

// BenchmarkSpawnFloor is what BenchmarkRunJournaled/cmd-bin-true-1000
// compares with: a bare Go loop starting /bin/true, per process.
func BenchmarkSpawnFloor(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := osexec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJournalGrowth is the shape that once wrote a 346 MB journal:
// a 4 MB JSON file read into a variable, then 50 trivial flows. The
// journal records what each statement changed, so it holds the JSON about
// once: journal-bytes/json-bytes (goal ≤ 2) and the run time with the
// journal as a multiple of the same run without one (goal ≤ 3), measured
// side by side in each iteration.
func BenchmarkJournalGrowth(b *testing.B) {
	dir := b.TempDir()
	js, src := testprog.JournalGrowth(4<<20, 50)
	os.WriteFile(filepath.Join(dir, "big.json"), js, 0o644)
	os.WriteFile(filepath.Join(dir, "work.gxl"), src, 0o644)
	prog := load(b, filepath.Join(dir, "work.gxl"))
	run := func(j *runtime.Journal) time.Duration {
		began := time.Now()
		r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
			SecretsFile: filepath.Join(dir, "none"), Journal: j})
		if err := r.Run(context.Background(), []string{"default"}, []string{"all"}); err != nil {
			b.Fatal(err)
		}
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(began)
	}
	var with, without time.Duration
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		without += run(nil)
		j, err := runtime.CreateJournal(dir, runtime.Header{File: "work.gxl", Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		with += run(j)
		st, err := os.Stat(j.Path)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size)/float64(len(js)), "journal/json")
	b.ReportMetric(float64(with)/float64(without), "time-with/without")
}
