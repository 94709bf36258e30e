package engine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/engine"
)

// BenchmarkTriggeredRun is one run of a probe as gxl operate runs it (a
// triggered run that changes nothing, so writes no journal), with the
// shape of the example system's: a system of a hundred variables whose
// probe flow runs the failover stage of one module (sys.stage: a nested
// run of the module's workflow, kept checked). The cost of the run
// machinery alone, without the probe's own I/O (bench row 8 measures the
// whole operator).
func BenchmarkTriggeredRun(b *testing.B) {
	root := b.TempDir()
	write := func(rel, src string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(root, rel), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var vars strings.Builder
	vars.WriteString("vars:\n")
	for i := range 100 {
		fmt.Fprintf(&vars, "  - name: V%d\n    value: \"value %d\"\n", i, i)
	}
	write("sys/sys_model.yml", "name: shop\nmodel: x86-ubt22-k8s\nvender: t\n")
	write("sys/vars.yml", vars.String())
	write("sys/mod_list.yml", "- name: db\n  addr:\n    path: modules/db\n  model: x86-ubt22-k8s\n")
	write("sys/workflows/operators.gxl", `mod main {
    #[every("1h")]
    flow probe {
        if "${V0}" == "value 0" { sys.stage("failover", modules: ["db"]); }
    }
}
`)
	write("sys/mods/db/workflows/operators.gxl", `mod main {
    flow failover { if "${V1}" == "down" { gx.echo("never"); } }
}
`)
	e, err := engine.New(engine.WithDir(root), engine.WithJournal(root),
		engine.WithStdout(io.Discard), engine.WithStderr(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	p := e.Load(filepath.Join(root, "sys", "workflows", "operators.gxl"))
	if !p.OK() {
		b.Fatalf("load: %v", p.Diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := make(chan func(string) error, 1)
	clock := &handClock{waiters: map[time.Duration][]chan time.Time{}}
	done := make(chan error, 1)
	go func() {
		done <- e.Operate(ctx, p, engine.WithListen("127.0.0.1:0"), engine.WithOperateClock(clock),
			engine.WithRunHook(func(run func(string) error) { runs <- run }))
	}()
	run := <-runs
	if err := run("main.probe"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := run("main.probe"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	<-done
}
