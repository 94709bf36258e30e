package runtime_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
