package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestJournalDurableBeforeEffects checks the journal's durability rule:
// before each effect every earlier record is on disk, so what a machine
// crash can lose (the file cut at its last fsync) is only the finish
// records of pure statements since the last effect, which resume runs
// again.
func TestJournalDurableBeforeEffects(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "")
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

// TestJournalBatchedSync: in the batched mode a finished effect's record
// reaches the disk within SyncInterval, without the effect waiting.
func TestJournalBatchedSync(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "batched")
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

// TestCompactKeepsWhatResumeUses: compaction drops the records of a
// compensated generation, of superseded retry attempts, repeated finish
// and load records, and keeps everything a resume reads.
func TestCompactKeepsWhatResumeUses(t *testing.T) {
	dir := t.TempDir()
	j, err := CreateJournal(dir, Header{File: "work.gxl", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	big := delta{set: []byte(`{"X":"` + strings.Repeat("x", 1000) + `"}`)}
	j.Loaded(map[string][]byte{"a.gxl": []byte("v1")})
	j.Loaded(map[string][]byte{"a.gxl": []byte("v2")})
	j.done("t0/s0/0", "a:1:1", "gx.cmd", big, true) // compensated below
	j.undo("t0", "t0/s1/0", "boom")
	j.done("t0/u0/s0/0", "a:2:1", "gx.cmd", big, true) // undo statement
	j.compensated("t0")
	j.done("t0g1/s0/0", "a:1:1", "gx.cmd", big, true) // live
	j.done("t0g1/s1/0", "a:3:1", "gx.cmd", big, true) // attempt 1 of a retried flow
	j.attempt("t0g1/s1", 2)
	j.done("t0g1/s1/a2/0", "a:3:1", "gx.cmd", big, true) // live
	j.done("t0g1/s2/0", "a:4:1", "gx.read_cmd", delta{sec: []string{"TOKEN"}}, true)
	j.Close()
	before, _ := os.Stat(j.Path)
	rs0, err := ReadJournal(dir, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := compactFile(j.Path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(j.Path)
	if after.Size() >= before.Size()-3000 {
		t.Fatalf("compaction kept %d of %d bytes", after.Size(), before.Size())
	}
	rs, err := ReadJournal(dir, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rs.Finished())
	if got != fmt.Sprint(rs0.Finished()) || got != "[{t0g1/s0/0 a:1:1 gx.cmd} {t0g1/s1/a2/0 a:3:1 gx.cmd}]" {
		t.Fatalf("finished after compaction: %s (before: %v)", got, rs0.Finished())
	}
	if rs.gen("t0") != 1 || rs.attemptOf("t0g1/s1") != 2 || rs.loads[mustAbs(t, "a.gxl")] != hashBytes([]byte("v2")) {
		t.Fatalf("state after compaction: gen %d attempts %v loads %v", rs.gen("t0"), rs.attempts, rs.loads)
	}
	if rs.skip("t0g1/s2/0") != nil {
		t.Fatal("a statement with a secret result is skipped")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Journals created at the same time (the flows of gxl operate) are all
// created, and "last" names one of them.
func TestCreateJournalConcurrently(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := CreateJournal(dir, Header{File: "work.gxl", Dir: dir})
			if err != nil {
				errs <- err
				return
			}
			j.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := ResolveRunID(dir, "last"); err != nil {
		t.Error(err)
	}
}

// TestJournalLazyRecordsWait: lazy records (finished plan steps, statements
// that changed nothing outside gxl) are not written one by one: they wait
// until a record that must be written, which writes them first, in order,
// or until SyncInterval has passed; Close writes what waits.
func TestJournalLazyRecordsWait(t *testing.T) {
	dir := t.TempDir()
	j, err := CreateJournal(dir, Header{File: "work.gxl", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	read := func() string {
		b, err := os.ReadFile(j.Path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	j.step("t0/s0", "flow main.a", time.Now())
	j.done("t0/s1/0", "work.gxl:2:5", "gx.echo", delta{}, false)
	if strings.Contains(read(), `"t0/s0"`) {
		t.Fatal("a lazy record was written at once")
	}
	// An effect's record is written now, after the lazy ones, in order.
	j.done("t0/s1/1", "work.gxl:3:5", "gx.cmd", delta{}, true)
	got := read()
	a, b, c := strings.Index(got, `"t0/s0"`), strings.Index(got, `"t0/s1/0"`), strings.Index(got, `"t0/s1/1"`)
	if a < 0 || b < a || c < b {
		t.Fatalf("records out of order or missing:\n%s", got)
	}
	// A lazy record alone reaches the file within SyncInterval.
	j.step("t0/s2", "flow main.b", time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(read(), `"t0/s2"`) {
		if time.Now().After(deadline) {
			t.Fatal("a lazy record never reached the file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	j.step("t0/s3", "flow main.c", time.Now())
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(), `"t0/s3"`) {
		t.Fatal("Close lost a waiting record")
	}
}
