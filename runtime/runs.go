package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/fsguard"
)

// RunStatus is what a run's journal and lock say of it.
type RunStatus string

// The statuses of a run (see ReadRunInfo).
const (
	// RunSucceeded: its exit record says every flow finished.
	RunSucceeded RunStatus = "succeeded"
	// RunFailed: its exit record carries the failure.
	RunFailed RunStatus = "failed"
	// RunInterrupted: no exit record and no live process holds its lock
	// (killed, machine lost); it can be resumed.
	RunInterrupted RunStatus = "interrupted"
	// RunRunning: a live process holds its lock.
	RunRunning RunStatus = "running"
	// RunCorrupt: no journal, or one without a run header.
	RunCorrupt RunStatus = "corrupt"
)

// Resumable says whether `gxl run --resume` can continue a run of this
// status.
func (s RunStatus) Resumable() bool { return s == RunFailed || s == RunInterrupted }

// RunFailure is the failed step of a failed run.
type RunFailure struct {
	Flow  string `json:"flow,omitempty"` // the innermost flow, main.deploy
	At    string `json:"at,omitempty"`   // file:line:col of the statement
	Error string `json:"error"`          // the first line of the message
	// Diag is the failure as the run rendered it (masked), when the
	// journal has it.
	Diag *diag.Diagnostic `json:"diagnostic,omitempty"`
}

// RunInfo is one run of .gxl/runs, as `gxl runs list` shows it.
type RunInfo struct {
	ID      string    `json:"id"`
	Status  RunStatus `json:"status"`
	Started time.Time `json:"started,omitzero"`
	// Ended is the time of the exit record, or of the last record of an
	// interrupted run; zero while it runs.
	Ended time.Time `json:"ended,omitzero"`
	// Duration is Ended (or now, while it runs) less Started.
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"duration_seconds"`
	File     string        `json:"file,omitempty"`
	Envs     []string      `json:"envs,omitempty"`
	Flows    []string      `json:"flows,omitempty"`
	// Trigger is what started a run of gxl operate (Header.Trigger).
	Trigger string      `json:"trigger,omitempty"`
	Failure *RunFailure `json:"failure,omitempty"`
	// PID is the process running it (RunRunning); Holder the identity
	// of the gxl holding the lock of a run kept in the cluster.
	PID    int    `json:"pid,omitempty"`
	Holder string `json:"holder,omitempty"`
	// Problem says why a journal is corrupt, or that a readable one ends
	// in a torn record.
	Problem string `json:"problem,omitempty"`
	// Path is the run's folder.
	Path string `json:"path"`

	header *Header
	// when orders runs: the start, else the id's time, else the folder's
	// modification time.
	when time.Time
}

// tailSize is how much of a journal's end ReadRunInfo reads first for the
// exit record (the last line); a longer last line is read in windows
// that double, up to tailMax.
const (
	tailSize = 1 << 10
	tailMax  = 1 << 20
)

// idTime is the start time a run id carries (NewRunID), to the second.
func idTime(id string) (time.Time, bool) {
	if len(id) < 15 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102-150405", id[:15])
	return t, err == nil
}

// ReadRunInfo reads what `gxl runs list` shows of run id under root; see
// ReadRunInfoIn.
func ReadRunInfo(root, id string, now time.Time) RunInfo {
	return ReadRunInfoIn(Files(root), id, now)
}

// ReadRunInfoIn reads what `gxl runs list` shows of run id in s: the
// header (the first line), the exit record (the last line) and the lock.
// A journal of an earlier gxl (Header.Format 0, no exit record) is read
// whole and judged by its end records. It never fails: a journal that
// cannot be read is RunCorrupt with the Problem.
func ReadRunInfoIn(s RunStore, id string, now time.Time) RunInfo {
	ri := RunInfo{ID: id, Path: s.Location(id)}
	if t, ok := idTime(id); ok {
		ri.when = t
	} else if st, err := os.Stat(ri.Path); err == nil {
		ri.when = st.ModTime()
	}
	// The lock is probed only when the journal does not say how the run
	// ended (most journals do: the probe costs four system calls, or a
	// request).
	probe := func() bool {
		holder, held := s.Holder(id)
		if held {
			ri.PID, _ = strconv.Atoi(holder)
			if ri.PID == 0 {
				ri.Holder = holder
			}
		}
		return held
	}
	corrupt := func(why string) RunInfo {
		ri.Status, ri.Problem = RunCorrupt, why
		if probe() {
			ri.Status, ri.Problem = RunRunning, ""
		}
		return ri
	}
	sum, err := s.Summary(id)
	if err != nil {
		return corrupt(err.Error())
	}
	first := sum.First
	var hr record
	if json.Unmarshal(first, &hr) != nil || hr.Ev != "run" || hr.Header == nil {
		if len(bytes.TrimSpace(first)) == 0 {
			return corrupt("the journal is empty")
		}
		return corrupt("not a gxl journal: its first record is not a run header")
	}
	h := hr.Header
	ri.header = h
	ri.Started, ri.File, ri.Envs, ri.Flows, ri.Trigger = h.Started, h.File, h.Envs, h.Flows, h.Trigger
	ri.when = h.Started
	if sum.Torn {
		ri.Problem = "its last record is torn (the process died while writing it)"
	}
	var tail *record
	if sum.Last != nil {
		tail = &record{}
		if json.Unmarshal(sum.Last, tail) != nil {
			tail = nil
		}
	}
	last := hr.Time
	var exit *record
	if tail != nil {
		last = tail.Time
		if tail.Ev == "exit" {
			exit = tail
		}
	}
	switch {
	case exit != nil:
		ri.Ended = exit.Time
		if exit.OK {
			ri.Status = RunSucceeded
		} else {
			ri.Status = RunFailed
			ri.Failure = &RunFailure{Flow: exit.Name, At: exit.At, Error: firstLine(exit.Err), Diag: exit.Diag}
		}
	case probe():
		ri.Status = RunRunning
	case h.Format == 0:
		ri.Status, ri.Failure = oldStatus(s, id, h)
		ri.Ended = last
	default:
		ri.Status, ri.Ended = RunInterrupted, last
	}
	end := ri.Ended
	if ri.Status == RunRunning {
		end = now
	}
	if !end.IsZero() && !ri.Started.IsZero() && end.After(ri.Started) {
		ri.Duration = end.Sub(ri.Started)
	}
	ri.Seconds = ri.Duration.Seconds()
	return ri
}

// oldStatus judges a journal of an earlier gxl (no exit records) by its
// end records: every flow asked for ended well, or one ended badly.
func oldStatus(s RunStore, id string, h *Header) (RunStatus, *RunFailure) {
	b, err := s.Read(id)
	if err != nil {
		return RunInterrupted, nil
	}
	recs, _ := parseRecords(b)
	ok := map[string]bool{}
	var fail *record
	failed := false
	for _, r := range recs {
		switch r.Ev {
		case "resume":
			failed, fail = false, nil
		case "fail":
			if fail == nil {
				fail = r
			}
		case "end":
			if strings.Contains(r.A, "/") {
				continue
			}
			key, _ := splitGen(r.A)
			ok[key] = r.OK
			if !r.OK {
				failed = true
			}
		}
	}
	if failed {
		f := &RunFailure{Error: "(the journal of an earlier gxl keeps no failure)"}
		if fail != nil {
			f.At, f.Error = fail.At, firstLine(fail.Err)
		}
		return RunFailed, f
	}
	for i := range h.Flows {
		if !ok[fmt.Sprintf("t%d", i)] {
			return RunInterrupted, nil
		}
	}
	return RunSucceeded, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ListRuns reads every run under root's .gxl/runs, newest first (none
// when the folder does not exist).
func ListRuns(root string, now time.Time) ([]RunInfo, error) {
	return ListRunsIn(Files(root), now)
}

// ListRunsIn reads every run of s, newest first.
func ListRunsIn(s RunStore, now time.Time) ([]RunInfo, error) {
	return listRuns(s, now, nil)
}

// listRuns reads the runs whose id skip does not rule out.
func listRuns(s RunStore, now time.Time, skip func(id string) bool) ([]RunInfo, error) {
	ids, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []RunInfo
	for _, id := range ids {
		if skip != nil && skip(id) {
			continue
		}
		out = append(out, ReadRunInfoIn(s, id, now))
	}
	sortRuns(out)
	return out, nil
}

func sortRuns(rs []RunInfo) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].when.Equal(rs[j].when) {
			return rs[i].when.After(rs[j].when)
		}
		return rs[i].ID > rs[j].ID
	})
}

// RunEvent is one line of a run's history (`gxl runs show`).
type RunEvent struct {
	Time time.Time `json:"time"`
	// Kind: statement (a journaled statement finished), flow (a plan
	// step finished), failed, undo, compensated, resumed, exit.
	Kind string `json:"kind"`
	Addr string `json:"addr,omitempty"`
	At   string `json:"at,omitempty"`
	Name string `json:"name,omitempty"`
	// Seconds is how long a flow step took.
	Seconds float64 `json:"duration_seconds,omitempty"`
	Error   string  `json:"error,omitempty"`
	// Secret names the variables a statement set to secret values, which
	// the journal never holds.
	Secret []string `json:"secret,omitempty"`
}

// RunDetail is a run as `gxl runs show` shows it.
type RunDetail struct {
	RunInfo
	Header *Header    `json:"header,omitempty"`
	Events []RunEvent `json:"events"`
	Unread int        `json:"unreadable_records,omitempty"`
	// Resume is the command that continues the run, when it can be
	// resumed; secret --set values must be given again.
	Resume string `json:"resume,omitempty"`
	// Changed are the program's files that changed since the run (a
	// resume then needs --resume-changed).
	Changed []FileChange `json:"changed,omitempty"`
	loads   map[string]string
}

// ReadRun reads run id (a unique prefix, or "last") for `gxl runs show`.
// The events are the journal's records in order; no variable value is
// read out of it (secret ones are not in it at all).
func ReadRun(root, id string, now time.Time) (*RunDetail, error) {
	return ReadRunIn(Files(root), id, now)
}

// ReadRunIn is ReadRun of a run kept in s.
func ReadRunIn(s RunStore, id string, now time.Time) (*RunDetail, error) {
	id, err := ResolveRunIDIn(s, id)
	if err != nil {
		return nil, err
	}
	d := &RunDetail{RunInfo: ReadRunInfoIn(s, id, now), loads: map[string]string{}}
	d.Header = d.RunInfo.header
	if d.Header == nil {
		return d, nil
	}
	b, err := s.Read(id)
	if err != nil {
		return d, err
	}
	recs, bad := parseRecords(b)
	d.Unread = bad
	for _, r := range recs {
		ev := RunEvent{Time: r.Time, Addr: r.A, At: r.At, Name: r.Name}
		switch r.Ev {
		case "load":
			d.loads[r.Path] = r.Hash
			continue
		case "done":
			ev.Kind, ev.Secret = "statement", r.Sec
		case "step":
			ev.Kind = "flow"
			if !r.Began.IsZero() {
				ev.Seconds = r.Time.Sub(r.Began).Seconds()
			}
		case "fail":
			// The message starts with the position and the flow stack.
			msg := firstLine(r.Err)
			if r.At != "" {
				msg = strings.TrimPrefix(msg, r.At+": ")
			}
			ev.Kind, ev.Error = "failed", msg
		case "undo":
			ev.Kind, ev.Error = "undo", firstLine(r.Err)
		case "compensated":
			ev.Kind = "compensated"
		case "resume":
			ev.Kind = "resumed"
		case "exit":
			ev.Kind, ev.Error = "exit", firstLine(r.Err)
		default:
			continue
		}
		d.Events = append(d.Events, ev)
	}
	if rs, err := ReadJournalIn(s, id); err == nil {
		d.Changed = rs.Changed()
	}
	if d.Status.Resumable() {
		d.Resume = "gxl run --resume " + id
		for _, s := range d.Header.SecretSets {
			d.Resume += " --set " + s + "=..."
		}
	}
	return d, nil
}

// Sources gives the run's files for rendering its failure: a relative
// name is taken from the run's folder, and a file that changed since the
// run is not shown (its lines would no longer be the ones that failed).
func (d *RunDetail) Sources() diag.Sources { return runSources{d} }

type runSources struct{ d *RunDetail }

func (s runSources) Source(file string) []byte {
	p := file
	if !filepath.IsAbs(p) && s.d.Header != nil {
		p = filepath.Join(s.d.Header.Dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	if h, ok := s.d.loads[p]; ok && h != hashBytes(b) {
		return nil
	}
	return b
}

// PruneOptions say which runs PruneRuns removes.
type PruneOptions struct {
	// OlderThan: only runs that started longer ago than this (0: any).
	OlderThan time.Duration
	// Keep: the Keep newest of the runs prune may remove stay.
	Keep int
	// KeepPerFlow: the KeepPerFlow newest of the runs prune may remove
	// stay for each set of flows a run ran (0: no such floor).
	KeepPerFlow int
	// Operated: only runs an operator started (Header.Trigger set) may
	// go (gxl operate's retention).
	Operated bool
	// Failed: failed, interrupted and corrupt runs may go too; without it
	// only succeeded runs do (the others may still be resumed or looked
	// into).
	Failed bool
	// DryRun removes nothing: the result is what would go.
	DryRun bool
	// Now is the time ages are measured from.
	Now time.Time
	// Protect adds folders that must stay (fsguard) to fsguard.Base()
	// and the project's.
	Protect fsguard.Roots
}

// recentCorrupt: a corrupt entry this young may be a run being created
// (its folder made, its journal not yet written); prune leaves it.
const recentCorrupt = time.Minute

// PruneRuns removes the runs under root that opt selects, never a running
// one (a run's lock is taken before its folder goes), every removal
// through fsguard.RemoveEntry, and returns them (under DryRun: what would
// go). A removal that fails does not stop the others; the errors are
// joined. When `last` named a removed run it goes too.
func PruneRuns(root string, opt PruneOptions) ([]RunInfo, error) {
	return PruneRunsIn(&FileStore{Root: root, Protect: opt.Protect}, opt)
}

// PruneRunsIn is PruneRuns of the runs kept in s (opt.Protect is the
// FileStore's).
func PruneRunsIn(s RunStore, opt PruneOptions) ([]RunInfo, error) {
	cutoff := opt.Now.Add(-opt.OlderThan)
	var skip func(string) bool
	if opt.Keep == 0 && opt.KeepPerFlow == 0 && opt.OlderThan > 0 {
		// A run id carries its start (to the second, never later than
		// it): a run whose id is not older than the cutoff is not read.
		skip = func(id string) bool {
			t, ok := idTime(id)
			return ok && !t.Before(cutoff)
		}
	}
	runs, err := listRuns(s, opt.Now, skip)
	if err != nil {
		return nil, err
	}
	var cands []RunInfo
	perFlow := map[string]int{}
	for _, r := range runs {
		if opt.Operated && r.Trigger == "" {
			continue
		}
		switch r.Status {
		case RunSucceeded:
		case RunFailed, RunInterrupted:
			if !opt.Failed {
				continue
			}
		case RunCorrupt:
			if !opt.Failed || opt.Now.Sub(r.when) < recentCorrupt {
				continue
			}
		default:
			continue
		}
		if opt.KeepPerFlow > 0 {
			// runs is newest first: the first KeepPerFlow of a flow stay.
			key := strings.Join(r.Flows, ",")
			if perFlow[key]++; perFlow[key] <= opt.KeepPerFlow {
				continue
			}
		}
		cands = append(cands, r)
	}
	if opt.Keep > 0 {
		cands = cands[min(opt.Keep, len(cands)):]
	}
	var gone []RunInfo
	for _, r := range cands {
		if opt.OlderThan > 0 && !r.when.Before(cutoff) {
			continue
		}
		gone = append(gone, r)
	}
	if opt.DryRun {
		return gone, nil
	}
	var removed []RunInfo
	var errs []error
	for _, r := range gone {
		if err := s.Remove(r.ID); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", r.ID, err))
			continue
		}
		removed = append(removed, r)
	}
	return removed, errors.Join(errs...)
}

// RemoveRun removes the run id under root (gxl operate: a run that
// succeeded and changed nothing leaves no journal), never a running one,
// through fsguard like PruneRuns; `last` goes too when it named the run.
func RemoveRun(root, id string, protect fsguard.Roots) error {
	return (&FileStore{Root: root, Protect: protect}).Remove(id)
}

// removeRun removes one run's folder while holding its lock, so a run
// that started (or resumed) since it was read is left alone.
func removeRun(dir, id string, roots fsguard.Roots) error {
	if lf, err := os.OpenFile(filepath.Join(dir, id, lockName), os.O_RDWR, 0); err == nil {
		held, err := lockFile(lf)
		if err != nil || held {
			lf.Close()
			if err == nil {
				err = &RunningError{ID: id, PID: readPID(filepath.Join(dir, id, lockName))}
			}
			return err
		}
		if lockProbeWorks {
			defer lf.Close()
		} else {
			lf.Close() // a file still open cannot be removed there
		}
	}
	return fsguard.RemoveEntry(dir, id, roots)
}
