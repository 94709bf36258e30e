package runtime

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
	"github.com/gxl-dev/gxl/stdlib/builtin"
)

// TestJournalDurableBeforeEffects checks the journal's durability rule:
// before each effect every earlier record is on disk, so what a machine
// crash can lose (the file cut at its last fsync) is only the finish
// records of pure statements since the last effect, which resume runs
// again.
func TestJournalDurableBeforeEffects(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "always")
	dir := t.TempDir()
	var j *Journal
	type probe struct {
		dirty bool // records pending when the effect began
	}
	var probes []probe
	reg := stdlib.Default()
	reg.Add(&builtin.Builtin{
		Name: "gx.test_effect", Where: builtin.InBlock,
		Run: func(builtin.Ctx, builtin.Args) error {
			j.mu.Lock()
			probes = append(probes, probe{j.dirty})
			j.mu.Unlock()
			return nil
		},
	})
	src := `mod envs { env default { } }
mod main {
    flow p1 { gx.echo("p1"); }
    flow e1 { gx.echo("e1"); gx.test_effect(); }
    flow p2 { x = "2"; gx.echo("p2 ${X}"); }
    flow p3 { gx.assert(value: "${X}", expect: "2"); }
    flow e2 { gx.test_effect(); }
    flow p4 { gx.echo("p4"); }
    flow all : p1, e1, p2, p3, e2, p4 ;
}
`
	path := filepath.Join(dir, "work.gxl")
	prog, ds := check.CheckSource(path, []byte(src), check.Options{Registry: reg})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	var err error
	j, err = CreateJournal(dir, Header{File: path, Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := New(prog, Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
		SecretsFile: filepath.Join(dir, "none"), Journal: j})
	if err := r.Run(context.Background(), []string{"default"}, []string{"all"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if len(probes) != 2 {
		t.Fatalf("probes: %v", probes)
	}
	for i, p := range probes {
		if p.dirty {
			t.Errorf("effect %d began with records not on disk", i+1)
		}
	}
}

// TestJournalBatchedSync: in the default mode a finished effect's record
// reaches the disk within SyncInterval, without the effect waiting.
func TestJournalBatchedSync(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "")
	dir := t.TempDir()
	j, err := CreateJournal(dir, Header{File: "work.gxl", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.done("t0/s0/0", "work.gxl:1:1", "gx.cmd", delta{}, true)
	j.mu.Lock()
	dirty := j.dirty
	j.mu.Unlock()
	if !dirty {
		t.Fatal("the effect's record was synced at once in the batched mode")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		j.mu.Lock()
		synced := !j.dirty && j.durable == j.size
		j.mu.Unlock()
		if synced {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the effect's record never reached the disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
