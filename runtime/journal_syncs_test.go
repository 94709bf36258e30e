package runtime

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// countingLog counts the syncs of a journal's log.
type countingLog struct {
	RunLog
	syncs atomic.Int64
}

func (l *countingLog) Sync() error {
	l.syncs.Add(1)
	return l.RunLog.Sync()
}

// TestJournalOneSyncPerCommand: in the always mode a command costs the
// journal exactly one sync (its finish record, which is also what the
// next command's Sync finds already on disk), whatever pure statements
// run between commands. Together with TestJournalDurableBeforeEffects (no
// effect begins with records pending) this pins the cost of issue 11's
// guarantee at its floor: a second sync per command, or a missing one,
// fails one of the two.
func TestJournalOneSyncPerCommand(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "")
	syncs := func(n int) int64 {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("mod envs { env default { } }\nmod main {\n    flow all {\n")
		for i := range n {
			fmt.Fprintf(&b, "        x = \"%d\";\n        gx.echo(\"${X}\");\n        gx.cmd(\"/bin/true\");\n", i)
		}
		b.WriteString("    }\n}\n")
		path := filepath.Join(dir, "work.gxl")
		prog, ds := check.CheckSource(path, []byte(b.String()), check.Options{Registry: stdlib.Default()})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		j, err := CreateJournal(dir, Header{File: path, Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		cl := &countingLog{RunLog: j.log}
		j.log = cl
		r := New(prog, Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
			SecretsFile: filepath.Join(dir, "none"), Journal: j})
		if err := r.Run(context.Background(), []string{"default"}, []string{"all"}); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		return cl.syncs.Load()
	}
	s5, s25 := syncs(5), syncs(25)
	if per := float64(s25-s5) / 20; per != 1 {
		t.Errorf("%d syncs for 5 commands, %d for 25: %.2f per command, want 1", s5, s25, per)
	}
}
