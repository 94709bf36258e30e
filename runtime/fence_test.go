package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/runtime"
)

// TestFenceAtEveryEffect refuses the run's fence at each of its effects in
// turn (gxl operate --ha: the lease lost there): the run stops with
// ErrFenced before that effect — the log holds only the lines of the
// commands the fence let through, no undo and no retry ran — and its
// journal reads as a killed run's (no exit record: interrupted), so that a
// resume produces the log of an uninterrupted run: no effect twice, none
// lost.
func TestFenceAtEveryEffect(t *testing.T) {
	dir, prog, opt := resumeSetup(t)
	j, err := runtime.CreateJournal(dir, runtime.Header{File: "work.gxl", Flows: []string{"all"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	effects := 0
	opt.Fence = func(context.Context) error { effects++; return nil }
	if err := runJournaled(t, dir, prog, opt, j); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	if effects < 12 {
		t.Fatalf("the fence was asked %d times", effects)
	}
	for n := 0; n < effects; n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			d2, prog2, opt2 := resumeSetup(t)
			j2, err := runtime.CreateJournal(d2, runtime.Header{File: "work.gxl", Flows: []string{"all"}, Dir: d2})
			if err != nil {
				t.Fatal(err)
			}
			asked := 0
			lost := errors.New("lease lost")
			opt2.Fence = func(context.Context) error {
				asked++
				if asked > n {
					return lost
				}
				return nil
			}
			// As the engine does (Run.Start): the run's end is recorded.
			var out bytes.Buffer
			opt2.Stdout, opt2.Stderr, opt2.Journal = &out, &out, j2
			err = runtime.New(prog2, opt2).Run(context.Background(), []string{"default"}, []string{"all"})
			j2.Exit(err)
			j2.Close()
			if !errors.Is(err, runtime.ErrFenced) || !errors.Is(err, lost) {
				t.Fatalf("the fenced run returned %v", err)
			}
			got, _ := os.ReadFile(filepath.Join(d2, "log.txt"))
			if string(want[:len(got)]) != string(got) {
				t.Fatalf("after %d effects allowed, the log is not a prefix of the full run's:\n%s\nwant a prefix of:\n%s", n, got, want)
			}
			infos, err := runtime.ListRuns(d2, time.Now())
			if err != nil || len(infos) != 1 || infos[0].Status != runtime.RunInterrupted {
				t.Fatalf("the fenced run is not interrupted: %+v %v", infos, err)
			}
			rs, err := runtime.ReadJournal(d2, j2.ID)
			if err != nil {
				t.Fatal(err)
			}
			j3, err := runtime.OpenJournal(d2, j2.ID)
			if err != nil {
				t.Fatal(err)
			}
			opt2.Fence, opt2.Resume = nil, rs
			if err := runJournaled(t, d2, prog2, opt2, j3); err != nil {
				t.Fatal(err)
			}
			got, _ = os.ReadFile(filepath.Join(d2, "log.txt"))
			if string(got) != string(want) {
				t.Fatalf("resumed after a fence at effect %d:\n%s\nwant:\n%s", n, got, want)
			}
		})
	}
}

// proofStore is a file store whose logs confirm (runtime.Confirmer) with
// proofs age old: a store whose lock another process may take over.
type proofStore struct {
	*runtime.FileStore
	age   time.Duration
	asked *int
}

func (s proofStore) LockTTL() time.Duration { return time.Minute }

func (s proofStore) Create(id string) (runtime.RunLog, error) {
	l, err := s.FileStore.Create(id)
	return proofLog{l, s}, err
}

type proofLog struct {
	runtime.RunLog
	s proofStore
}

func (l proofLog) Confirm() (time.Time, error) {
	*l.s.asked++
	return time.Now().Add(-l.s.age), l.Sync()
}

// Before a command, a journal in a store whose lock can be taken from a
// live process confirms the run (Journal.Confirm), and a proof older than
// a third of the lock's TTL — the process was stopped while it was
// written — is asked for again, up to three times, then the run stops
// fenced before the effect. A fresh proof lets the command run, and the
// fence is asked again after it.
func TestConfirmBeforeEffect(t *testing.T) {
	for _, tc := range []struct {
		name              string
		age               time.Duration
		wantAsked, fences int
		ran               bool
	}{
		{"fresh proof", 0, 1, 2, true},
		{"proof older than a third of the TTL", 21 * time.Second, 3, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := filepath.Join(dir, "w.gxl")
			os.WriteFile(w, []byte("mod main { flow all { gx.cmd(\"echo a >> effects.txt\"); } }\n"), 0o644)
			asked, fences := 0, 0
			j, err := runtime.CreateJournalIn(proofStore{runtime.Files(dir), tc.age, &asked}, runtime.Header{File: w, Flows: []string{"all"}, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = runtime.New(load(t, w), runtime.Options{Dir: dir, Quiet: true, Stdout: &out, Stderr: &out, Journal: j,
				SecretsFile: filepath.Join(dir, "none"), Fence: func(context.Context) error { fences++; return nil }}).Run(context.Background(), nil, []string{"all"})
			j.Close()
			_, serr := os.Stat(filepath.Join(dir, "effects.txt"))
			if ran := serr == nil; ran != tc.ran || (err == nil) != tc.ran {
				t.Errorf("the command ran: %v, the run returned %v", ran, err)
			}
			if !tc.ran && !errors.Is(err, runtime.ErrFenced) {
				t.Errorf("the run returned %v, want a fence", err)
			}
			if asked != tc.wantAsked || fences != tc.fences {
				t.Errorf("confirmed %d times, fence asked %d times; want %d and %d", asked, fences, tc.wantAsked, tc.fences)
			}
		})
	}
}
