package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/runtime"
)

// now is the fake clock of these tests.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// runID is the id of a run that started at t (as runtime.NewRunID makes
// them), with a tag to tell runs of one second apart.
func runID(t time.Time, tag string) string { return t.UTC().Format("20060102-150405") + "-" + tag }

func jline(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// header is a run record of a journal in the current format (format 0:
// of an earlier gxl).
func header(t *testing.T, started time.Time, format int, flows ...string) string {
	h := map[string]any{"file": "/p/w.gxl", "flows": flows, "dir": "/p", "started": started}
	if format > 0 {
		h["format"] = format
	}
	return jline(t, map[string]any{"ev": "run", "header": h, "time": started})
}

// journal kinds the tests build.
func succeeded(t *testing.T, at time.Time) string {
	return header(t, at, 1, "ok") +
		jline(t, map[string]any{"ev": "done", "a": "t0/s1/1", "at": "w.gxl:3:5", "name": "gx.cmd", "time": at.Add(time.Second)}) +
		jline(t, map[string]any{"ev": "end", "a": "t0", "ok": true, "time": at.Add(2 * time.Second)}) +
		jline(t, map[string]any{"ev": "exit", "ok": true, "time": at.Add(3 * time.Second)})
}

func failed(t *testing.T, at time.Time) string {
	return header(t, at, 1, "bad") +
		jline(t, map[string]any{"ev": "fail", "a": "t0/s1/1", "at": "w.gxl:8:5", "err": "w.gxl:8:5: main.bad: boom", "time": at.Add(time.Second)}) +
		jline(t, map[string]any{"ev": "end", "a": "t0", "time": at.Add(time.Second)}) +
		jline(t, map[string]any{"ev": "exit", "name": "main.bad", "at": "w.gxl:8:5", "err": "gx.cmd: boom\nstderr line",
			"diag": map[string]any{"severity": "error", "code": "step-failed", "summary": "gx.cmd: boom\nstderr line",
				"span": map[string]any{"start": map[string]any{"file": "w.gxl", "line": 8, "col": 5}}}, "time": at.Add(4 * time.Second)})
}

func interrupted(t *testing.T, at time.Time) string {
	return header(t, at, 1, "slow") +
		jline(t, map[string]any{"ev": "done", "a": "t0/s1/1", "at": "w.gxl:3:5", "name": "gx.cmd", "time": at.Add(5 * time.Second)})
}

func putRun(t *testing.T, root, id, journal string) string {
	t.Helper()
	dir := filepath.Join(runtime.RunsDir(root), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if journal != "-" {
		if err := os.WriteFile(filepath.Join(dir, "journal"), []byte(journal), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newTestEngine(t *testing.T, root string, opts ...engine.Option) *engine.Engine {
	t.Helper()
	e, err := engine.New(append([]engine.Option{engine.WithDir(root), engine.WithJournal(root), engine.WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRunStatus: what `gxl runs list` says of each kind of journal.
func TestRunStatus(t *testing.T) {
	at := now.Add(-time.Hour)
	cases := []struct {
		name, journal string
		status        runtime.RunStatus
		dur           time.Duration
		failure       string // flow at: error
		problem       string
	}{
		{"succeeded", succeeded(t, at), runtime.RunSucceeded, 3 * time.Second, "", ""},
		{"failed", failed(t, at), runtime.RunFailed, 4 * time.Second, "main.bad w.gxl:8:5: gx.cmd: boom", ""},
		{"failed, a last record longer than the first window", header(t, at, 1, "bad") +
			jline(t, map[string]any{"ev": "exit", "name": "main.bad", "at": "w.gxl:8:5", "err": "big\n" + strings.Repeat("x", 5000), "time": at.Add(time.Second)}),
			runtime.RunFailed, time.Second, "main.bad w.gxl:8:5: big", ""},
		{"interrupted: no exit record, no lock", interrupted(t, at), runtime.RunInterrupted, 5 * time.Second, "", ""},
		{"torn last record", interrupted(t, at) + `{"ev":"exit","ok":tr`, runtime.RunInterrupted, 5 * time.Second, "", "torn"},
		{"header only", header(t, at, 1, "x"), runtime.RunInterrupted, 0, "", ""},
		{"no journal", "-", runtime.RunCorrupt, 0, "", "no journal"},
		{"empty journal", "", runtime.RunCorrupt, 0, "", "empty"},
		{"not a journal", "hello\nworld\n", runtime.RunCorrupt, 0, "", "not a gxl journal"},
		{"binary garbage", "\x00\x01\xff{{{", runtime.RunCorrupt, 0, "", "not a gxl journal"},
		{"an earlier gxl, succeeded", header(t, at, 0, "a", "b") +
			jline(t, map[string]any{"ev": "end", "a": "t0", "ok": true, "time": at.Add(time.Second)}) +
			jline(t, map[string]any{"ev": "end", "a": "t0/s1/rm/t0", "ok": false, "time": at.Add(time.Second)}) +
			jline(t, map[string]any{"ev": "end", "a": "t1", "ok": true, "time": at.Add(2 * time.Second)}), runtime.RunSucceeded, 2 * time.Second, "", ""},
		{"an earlier gxl, failed", header(t, at, 0, "a") +
			jline(t, map[string]any{"ev": "fail", "a": "t0/s1/1", "at": "w.gxl:2:3", "err": "w.gxl:2:3: main.a: bad", "time": at.Add(time.Second)}) +
			jline(t, map[string]any{"ev": "end", "a": "t0", "time": at.Add(time.Second)}), runtime.RunFailed, time.Second, " w.gxl:2:3: w.gxl:2:3: main.a: bad", ""},
		{"an earlier gxl, interrupted", header(t, at, 0, "a", "b") +
			jline(t, map[string]any{"ev": "end", "a": "t0", "ok": true, "time": at.Add(time.Second)}), runtime.RunInterrupted, time.Second, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			putRun(t, root, runID(at, "aaaaaa"), c.journal)
			runs, err := newTestEngine(t, root).Runs()
			if err != nil || len(runs) != 1 {
				t.Fatalf("Runs() = %v, %v", runs, err)
			}
			r := runs[0]
			if r.Status != c.status || r.Duration != c.dur {
				t.Errorf("status %s, duration %v; want %s, %v", r.Status, r.Duration, c.status, c.dur)
			}
			got := ""
			if r.Failure != nil {
				got = r.Failure.Flow + " " + r.Failure.At + ": " + r.Failure.Error
			}
			if got != c.failure {
				t.Errorf("failure %q, want %q", got, c.failure)
			}
			if !strings.Contains(r.Problem, c.problem) || (c.problem == "") != (r.Problem == "") {
				t.Errorf("problem %q, want %q", r.Problem, c.problem)
			}
		})
	}
}

// TestRunningRun: a run whose lock a live journal holds is running —
// never pruned, never resumed twice — and succeeded once it exits.
func TestRunningRun(t *testing.T) {
	root := t.TempDir()
	j, err := runtime.CreateJournal(root, runtime.Header{Flows: []string{"f"}})
	if err != nil {
		t.Fatal(err)
	}
	eng := newTestEngine(t, root, engine.WithClock(func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }))
	runs, _ := eng.Runs()
	if len(runs) != 1 || runs[0].Status != runtime.RunRunning || runs[0].PID != os.Getpid() {
		t.Fatalf("runs = %+v, want one running by this process", runs)
	}
	gone, err := eng.PruneRuns(engine.PruneOlderThan(time.Hour), engine.PruneFailed(true))
	if len(gone) != 0 || err != nil {
		t.Fatalf("prune of a running run: %v, %v", gone, err)
	}
	var re *runtime.RunningError
	if _, err := runtime.OpenJournal(root, j.ID); !errors.As(err, &re) {
		t.Fatalf("a second process resuming a running run: %v", err)
	}
	j.Exit(nil)
	j.Close()
	runs, _ = eng.Runs()
	if runs[0].Status != runtime.RunSucceeded {
		t.Fatalf("after exit: %s", runs[0].Status)
	}
	// The lock file stays; not held, it says nothing.
	j2, err := runtime.OpenJournal(root, j.ID)
	if err != nil {
		t.Fatalf("resume after the run ended: %v", err)
	}
	if runs, _ = eng.Runs(); runs[0].Status != runtime.RunRunning {
		t.Fatalf("a resumed run: %s (its old exit record must be gone)", runs[0].Status)
	}
	j2.Close()
	if runs, _ = eng.Runs(); runs[0].Status != runtime.RunInterrupted {
		t.Fatalf("a resume that ended without exit: %s", runs[0].Status)
	}
}

// TestShowRunIDs: a unique prefix finds a run; an ambiguous one lists the
// candidates; "last" is the last run started.
func TestShowRunIDs(t *testing.T) {
	root := t.TempDir()
	a, b, c := runID(now.Add(-3*time.Hour), "aaa111"), runID(now.Add(-3*time.Hour), "aab222"), runID(now.Add(-time.Hour), "ccc333")
	putRun(t, root, a, succeeded(t, now.Add(-3*time.Hour)))
	putRun(t, root, b, failed(t, now.Add(-3*time.Hour)))
	putRun(t, root, c, interrupted(t, now.Add(-time.Hour)))
	os.WriteFile(filepath.Join(runtime.RunsDir(root), "last"), []byte(c+"\n"), 0o600)
	eng := newTestEngine(t, root)
	cases := []struct {
		id, want  string
		ambiguous []string
		unknown   bool
	}{
		{id: a, want: a},
		{id: b[:len(b)-2], want: b},
		{id: strings.TrimSuffix(a, "aaa111") + "aab", want: b},
		{id: strings.TrimSuffix(a, "aaa111") + "aa", ambiguous: []string{a, b}},
		{id: "2026", ambiguous: []string{a, b, c}},
		{id: "last", want: c},
		{id: "1999", unknown: true},
		{id: "../" + a, unknown: true},
	}
	for _, tc := range cases {
		d, err := eng.ShowRun(tc.id)
		var amb *runtime.AmbiguousRunError
		var no *runtime.NoRunError
		switch {
		case tc.ambiguous != nil:
			if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, tc.ambiguous) {
				t.Errorf("%s: %v, want ambiguous between %v", tc.id, err, tc.ambiguous)
			}
		case tc.unknown:
			if !errors.As(err, &no) {
				t.Errorf("%s: %v, want not found", tc.id, err)
			}
		case err != nil || d.ID != tc.want:
			t.Errorf("%s: %v, %v; want %s", tc.id, d, err, tc.want)
		}
	}
	d, err := eng.ShowRun(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Failure == nil || d.Failure.Diag == nil || d.Failure.Diag.Span.Start.Line != 8 || d.Resume != "gxl run --resume "+b {
		t.Errorf("failed run: failure %+v, resume %q", d.Failure, d.Resume)
	}
	var kinds []string
	for _, ev := range d.Events {
		kinds = append(kinds, ev.Kind+" "+ev.Error)
	}
	if want := []string{"failed main.bad: boom", "exit gx.cmd: boom"}; !slices.Equal(kinds, want) {
		t.Errorf("events %q, want %q", kinds, want)
	}
	if d, _ := eng.ShowRun(a); d.Resume != "" {
		t.Errorf("a succeeded run offers %q", d.Resume)
	}
}

// run is one run of a prune test: its age, status and tag.
type pruneRun struct {
	age  time.Duration
	kind string // ok, fail, int (interrupted), bad (corrupt)
	tag  string
}

func makeRuns(t *testing.T, root string, runs []pruneRun) {
	for _, r := range runs {
		at := now.Add(-r.age)
		var j string
		switch r.kind {
		case "ok":
			j = succeeded(t, at)
		case "fail":
			j = failed(t, at)
		case "int":
			j = interrupted(t, at)
		case "bad":
			j = "garbage\n"
		}
		dir := putRun(t, root, runID(at, r.tag), j)
		os.Chtimes(dir, at, at)
	}
}

func tags(rs []runtime.RunInfo) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID[16:])
	}
	sort.Strings(out)
	return out
}

func left(t *testing.T, root string) []string {
	entries, _ := os.ReadDir(runtime.RunsDir(root))
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name()[16:])
		}
	}
	sort.Strings(out)
	return out
}

const day = 24 * time.Hour

// TestPruneRuns: what each rule removes, with a fake clock.
func TestPruneRuns(t *testing.T) {
	runs := []pruneRun{
		{1 * day, "ok", "ok1d"}, {3 * day, "ok", "ok3d"}, {20 * day, "ok", "ok20"}, {40 * day, "ok", "ok40"},
		{30 * day, "fail", "fa30"}, {2 * day, "fail", "fa02"}, {25 * day, "int", "in25"}, {50 * day, "bad", "bd50"},
	}
	cases := []struct {
		name string
		opts []engine.PruneOption
		gone []string
	}{
		{"older than 14d: succeeded only", []engine.PruneOption{engine.PruneOlderThan(14 * day)}, []string{"ok20", "ok40"}},
		{"older than 14d with failed", []engine.PruneOption{engine.PruneOlderThan(14 * day), engine.PruneFailed(true)},
			[]string{"bd50", "fa30", "in25", "ok20", "ok40"}},
		{"older than 36h", []engine.PruneOption{engine.PruneOlderThan(36 * time.Hour)}, []string{"ok20", "ok3d", "ok40"}},
		{"keep 2", []engine.PruneOption{engine.PruneKeep(2)}, []string{"ok20", "ok40"}},
		{"keep 1", []engine.PruneOption{engine.PruneKeep(1)}, []string{"ok20", "ok3d", "ok40"}},
		{"keep 2 with failed", []engine.PruneOption{engine.PruneKeep(2), engine.PruneFailed(true)},
			[]string{"bd50", "fa30", "in25", "ok20", "ok3d", "ok40"}},
		// ok1d stays as the newest, fa02 as not older than 2 days.
		{"keep 1 and older than 2d with failed", []engine.PruneOption{engine.PruneKeep(1), engine.PruneOlderThan(2 * day), engine.PruneFailed(true)},
			[]string{"bd50", "fa30", "in25", "ok20", "ok3d", "ok40"}},
		{"keep more than there are", []engine.PruneOption{engine.PruneKeep(10)}, nil},
		{"older than everything", []engine.PruneOption{engine.PruneOlderThan(100 * day), engine.PruneFailed(true)}, nil},
	}
	all := []string{"bd50", "fa02", "fa30", "in25", "ok1d", "ok20", "ok3d", "ok40"}
	for _, c := range cases {
		for _, dry := range []bool{true, false} {
			name := c.name
			if dry {
				name += ", dry run"
			}
			t.Run(name, func(t *testing.T) {
				root := t.TempDir()
				makeRuns(t, root, runs)
				gone, err := newTestEngine(t, root).PruneRuns(append(c.opts, engine.PruneDryRun(dry))...)
				if err != nil {
					t.Fatal(err)
				}
				if got := tags(gone); !slices.Equal(got, c.gone) {
					t.Errorf("removed %v, want %v", got, c.gone)
				}
				want := all
				if !dry {
					want = slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(c.gone, s) })
				}
				if got := left(t, root); !slices.Equal(got, want) {
					t.Errorf("left %v, want %v", got, want)
				}
			})
		}
	}
	if _, err := newTestEngine(t, t.TempDir()).PruneRuns(); err == nil {
		t.Error("a prune without an age or a count was accepted")
	}
}

// TestPruneLast: `last` goes with the run it names, and only then.
func TestPruneLast(t *testing.T) {
	root := t.TempDir()
	makeRuns(t, root, []pruneRun{{20 * day, "ok", "old"}, {1 * day, "ok", "new"}})
	last := filepath.Join(runtime.RunsDir(root), "last")
	os.WriteFile(last, []byte(runID(now.Add(-day), "new")+"\n"), 0o600)
	eng := newTestEngine(t, root)
	if _, err := eng.PruneRuns(engine.PruneOlderThan(14 * day)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(last); err != nil {
		t.Fatal("last removed though its run stays")
	}
	if _, err := eng.PruneRuns(engine.PruneOlderThan(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(last); err == nil {
		t.Fatal("last kept though its run is gone")
	}
}

func retentionProgram(t *testing.T, root string) (*engine.Engine, *engine.Program, *observer.ObservedLogs, func(...engine.Option) *engine.Engine) {
	os.WriteFile(filepath.Join(root, "w.gxl"), []byte("mod main { flow f { gx.echo(\"hi\"); } }"), 0o644)
	core, logs := observer.New(zap.DebugLevel)
	mk := func(opts ...engine.Option) *engine.Engine {
		return newTestEngine(t, root, append([]engine.Option{engine.WithLogger(zap.New(core)), engine.WithStdout(&strings.Builder{}),
			engine.WithSecretsFile(filepath.Join(root, "none"))}, opts...)...)
	}
	eng := mk()
	p := eng.Load(filepath.Join(root, "w.gxl"))
	if !p.OK() {
		t.Fatal(p.Diags)
	}
	return eng, p, logs, mk
}

// TestRunRetention: a new run removes the succeeded runs older than the
// retention (default 14 days), keeps the others, and only warns when it
// cannot.
func TestRunRetention(t *testing.T) {
	runs := []pruneRun{{20 * day, "ok", "ok20"}, {10 * day, "ok", "ok10"}, {30 * day, "fail", "fa30"}, {30 * day, "int", "in30"}}
	cases := []struct {
		name string
		opts []engine.Option
		left []string
	}{
		{"default 14 days", nil, []string{"fa30", "in30", "ok10"}},
		{"7 days", []engine.Option{engine.WithRunRetention(7 * day)}, []string{"fa30", "in30"}},
		{"0 disables", []engine.Option{engine.WithRunRetention(0)}, []string{"fa30", "in30", "ok10", "ok20"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			makeRuns(t, root, runs)
			_, p, _, mk := retentionProgram(t, root)
			run, err := mk(c.opts...).NewRun(p, []string{"f"})
			if err != nil {
				t.Fatal(err)
			}
			if err := run.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := slices.DeleteFunc(left(t, root), func(s string) bool { return s == run.ID()[16:] })
			if !slices.Equal(got, c.left) {
				t.Errorf("left %v, want %v", got, c.left)
			}
		})
	}
	if _, err := engine.New(engine.WithRunRetention(-time.Hour)); err == nil {
		t.Error("a negative retention was accepted")
	}
	// A prune that fails (here fsguard refuses: the working directory is
	// inside the old run) is a warning; the run goes on.
	root := t.TempDir()
	makeRuns(t, root, []pruneRun{{20 * day, "ok", "ok20"}})
	wd := filepath.Join(runtime.RunsDir(root), runID(now.Add(-20*day), "ok20"), "wd")
	os.MkdirAll(wd, 0o755)
	_, p, logs, mk := retentionProgram(t, root)
	run, err := mk(engine.WithDir(wd)).NewRun(p, []string{"f"})
	if err != nil {
		t.Fatalf("a failed prune failed the run: %v", err)
	}
	if err := run.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := logs.FilterLevelExact(zap.WarnLevel).All(); len(w) != 1 || !strings.Contains(w[0].Message, "run retention") {
		t.Errorf("warnings %v, want one about the retention", w)
	}
	if _, err := os.Stat(wd); err != nil {
		t.Error("the working directory was removed")
	}
}

func TestParseAge(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"14d", 14 * day, false}, {"36h", 36 * time.Hour, false}, {"2w", 14 * day, false}, {"1d12h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false}, {"0", 0, false}, {" 3d ", 3 * day, false},
		{"", 0, true}, {"-1d", 0, true}, {"-5h", 0, true}, {"14", 0, true}, {"d", 0, true}, {"3x", 0, true}, {"1d-2h", 0, true},
	}
	for _, c := range cases {
		got, err := engine.ParseAge(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseAge(%q) = %v, %v", c.in, got, err)
		}
	}
}
