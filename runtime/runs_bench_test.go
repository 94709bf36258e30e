package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRetention is the retention pass at the start of a run over a
// folder of 1,000 journals: recent ones (not read: their ids are younger
// than the cutoff) and old failed ones (read, kept): the cost every run
// pays (docs/runs.md reports the figures).
func BenchmarkRetention(b *testing.B) {
	now := time.Now()
	for _, c := range []struct {
		name string
		age  time.Duration
		ok   bool
	}{{"1000-recent", time.Hour, true}, {"1000-old-failed", 20 * 24 * time.Hour, false}} {
		b.Run(c.name, func(b *testing.B) {
			root := b.TempDir()
			for i := range 1000 {
				at := now.Add(-c.age - time.Duration(i)*time.Minute)
				id := fmt.Sprintf("%s-%06x", at.UTC().Format("20060102-150405"), i)
				dir := filepath.Join(RunsDir(root), id)
				os.MkdirAll(dir, 0o700)
				h, _ := json.Marshal(record{Ev: "run", Header: &Header{File: "/p/w.gxl", Flows: []string{"f"}, Started: at, Format: journalFormat}, Time: at})
				d, _ := json.Marshal(record{Ev: "done", A: "t0/s1/1", At: "w.gxl:3:5", Name: "gx.cmd", Time: at})
				exit := record{Ev: "exit", OK: c.ok, Time: at}
				if !c.ok {
					exit.Err, exit.At, exit.Name = "gx.cmd: command failed with exit status 3", "w.gxl:8:5", "main.bad"
				}
				e, _ := json.Marshal(exit)
				os.WriteFile(filepath.Join(dir, "journal"), []byte(string(h)+"\n"+string(d)+"\n"+string(e)+"\n"), 0o600)
				os.WriteFile(filepath.Join(dir, lockName), []byte("1\n"), 0o600)
			}
			b.ResetTimer()
			for b.Loop() {
				gone, err := PruneRuns(root, PruneOptions{OlderThan: 14 * 24 * time.Hour, Now: now})
				if err != nil || len(gone) != 0 {
					b.Fatal(gone, err)
				}
			}
		})
	}
}
