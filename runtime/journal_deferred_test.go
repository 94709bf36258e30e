package runtime

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestDeferredJournal: the journal of an operator's run
// (CreateDeferredJournal) is created only when the run is about to change
// something, or fails. A run of reads leaves no folder at all; a run that
// changes something has, when its first effect begins, every earlier
// record on disk and synced (in both fsync modes); a kill -9 right after
// the effect leaves a journal whose resume does not repeat it.
func TestDeferredJournal(t *testing.T) {
	const prelude = `mod envs { env default { } }
mod main {
`
	cases := []struct {
		name, body string
		fsync      string
		fail       bool
		onDisk     bool
		effects    int // test_change calls
	}{
		{name: "reads only", body: `flow all { gx.test_read(); x = "1"; gx.test_read(); }`},
		{name: "reads, batched", body: `flow all { gx.test_read(); }`, fsync: "batched"},
		{name: "a change", body: `flow all { gx.test_read(); gx.test_change(); gx.test_read(); }`, onDisk: true, effects: 1},
		{name: "a change, batched", body: `flow all { gx.test_read(); gx.test_change(); gx.test_read(); }`, fsync: "batched", onDisk: true, effects: 1},
		{name: "a failure", body: `flow all { gx.test_read(); gx.assert(value: "1", expect: "2"); }`, fail: true, onDisk: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GXL_JOURNAL_FSYNC", tc.fsync)
			dir := t.TempDir()
			var j *Journal
			var atEffect []string // what was wrong when an effect began
			effects := 0
			// snapshot is the journal file as a kill -9 after the first
			// effect would leave it (the kernel has every written record).
			var snapshot []byte
			reg := stdlib.Default()
			reg.Add(&builtin.Builtin{Name: "gx.test_read", Where: builtin.InBlock, Effect: builtin.Reads,
				Run: func(builtin.Ctx, builtin.Args) error {
					if effects > 0 && snapshot == nil {
						snapshot, _ = os.ReadFile(j.Path)
					}
					return nil
				}})
			reg.Add(&builtin.Builtin{Name: "gx.test_change", Where: builtin.InBlock, Effect: builtin.Changes,
				Run: func(builtin.Ctx, builtin.Args) error {
					effects++
					if j == nil {
						return nil // the resume below
					}
					j.mu.Lock()
					defer j.mu.Unlock()
					if j.deferred {
						atEffect = append(atEffect, "the journal is not on disk")
					}
					if j.dirty || len(j.buf) > 0 || j.durable != j.size {
						atEffect = append(atEffect, "records not synced")
					}
					if st, err := os.Stat(j.Path); err != nil || st.Size() != j.size {
						atEffect = append(atEffect, "the file does not hold every record")
					}
					return nil
				}})
			path := filepath.Join(dir, "work.gxl")
			prog, ds := check.CheckSource(path, []byte(prelude+tc.body+"\n}\n"), check.Options{Registry: reg})
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			j = CreateDeferredJournal(dir, Header{File: path, Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir, Trigger: "every 1s"})
			opt := Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true, SecretsFile: filepath.Join(dir, "none"), Journal: j}
			err := New(prog, opt).Run(context.Background(), []string{"default"}, []string{"all"})
			if (err != nil) != tc.fail {
				t.Fatalf("run: %v", err)
			}
			j.Exit(err)
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if len(atEffect) > 0 {
				t.Errorf("when the effect began: %v", atEffect)
			}
			if effects != tc.effects {
				t.Errorf("effects: %d, want %d", effects, tc.effects)
			}
			_, statErr := os.Stat(RunsDir(dir))
			if !tc.onDisk {
				if j.OnDisk() || !errors.Is(statErr, os.ErrNotExist) {
					t.Fatalf("a run that changed nothing created %s (%v)", RunsDir(dir), statErr)
				}
				return
			}
			if !j.OnDisk() {
				t.Fatal("OnDisk is false for a journal on disk")
			}
			if b, _ := os.ReadFile(j.Path); !strings.Contains(string(b), `"ev":"load"`) || !strings.Contains(string(b), hashBytes([]byte(prelude+tc.body+"\n}\n"))) {
				t.Errorf("no load record of the program with its hash:\n%s", b)
			}
			if last, err := ResolveRunID(dir, "last"); err != nil || last != j.ID {
				t.Errorf("last run: %q %v, want %s", last, err, j.ID)
			}
			infos, err := ListRuns(dir, time.Now())
			if err != nil || len(infos) != 1 {
				t.Fatalf("runs: %v %v", infos, err)
			}
			if want := map[bool]RunStatus{false: RunSucceeded, true: RunFailed}[tc.fail]; infos[0].Status != want {
				t.Errorf("status %s, want %s", infos[0].Status, want)
			}
			if tc.effects == 0 {
				return
			}
			// kill -9 after the effect: the journal as it was then, resumed.
			if snapshot == nil {
				t.Fatal("no snapshot after the effect")
			}
			if err := os.WriteFile(j.Path, snapshot, 0o600); err != nil {
				t.Fatal(err)
			}
			rs, err := ReadJournal(dir, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			effects, j = 0, nil
			opt.Journal, opt.Resume = nil, rs
			if err := New(prog, opt).Run(context.Background(), []string{"default"}, []string{"all"}); err != nil {
				t.Fatal(err)
			}
			if effects != 0 {
				t.Errorf("the resume ran the finished effect again (%d times)", effects)
			}
		})
	}
}
