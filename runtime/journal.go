package runtime

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime/value"
)

// Header records what a run was asked to do, so --resume can repeat it.
type Header struct {
	File    string            `json:"file"`
	Envs    []string          `json:"envs"`
	Flows   []string          `json:"flows"`
	DryRun  bool              `json:"dryrun,omitempty"`
	Sets    map[string]string `json:"sets,omitempty"`
	CmdArg  string            `json:"cmd_arg,omitempty"`
	Dir     string            `json:"dir"`
	Started time.Time         `json:"started"`
}

// record is one journal line.
type record struct {
	Ev     string               `json:"ev"`
	Top    int                  `json:"top"`
	Step   int                  `json:"step"`
	Name   string               `json:"name,omitempty"`
	Flow   string               `json:"flow,omitempty"`
	Err    string               `json:"err,omitempty"`
	OK     bool                 `json:"ok,omitempty"`
	Vars   map[string]jsonValue `json:"vars,omitempty"`
	Header *Header              `json:"header,omitempty"`
	Time   time.Time            `json:"time"`
}

// Journal is an append-only log of a run's steps (.gxl/runs/<id>/journal).
// Every method is safe on a nil Journal.
//
// Every record is written to the file at once (one write call), so a
// killed gxl process loses nothing: the kernel has the data. Durability
// against a crash of the machine (fsync) follows one rule: before anything
// outside gxl is changed, everything recorded so far is on disk. So
//   - a step's finish record is synced when the step had an effect (a
//     command, an activity, a built-in not marked Pure), before the next
//     step starts;
//   - before the first effect of a step (Sync, called by the interpreter),
//     pending records are synced: the finish records of the pure steps
//     before it;
//   - start records are not synced by themselves: resume re-runs a step
//     without a durable finish record whether or not its start survived;
//   - run, resume, undo-push, fail, undone and end records are synced.
//
// So after a machine crash, what can be missing is the tail of pure steps
// (gx.echo, gx.assert, assignments, conditions, loops) since the last
// effect: resume runs them again, computing the same variables from the
// last durable state, and no step whose effect reached the outside world
// is lost (as before, a step interrupted mid-effect runs again).
type Journal struct {
	mu    sync.Mutex
	f     *os.File
	dirty bool // records written since the last fsync
	// size is the bytes written, durable the bytes known to be on disk
	// (the size at the last fsync): tests cut the file at durable to see
	// what a machine crash could leave.
	size, durable int64
	ID            string
	Path          string
}

// RunsDir is where journals live for a project root.
func RunsDir(root string) string { return filepath.Join(root, ".gxl", "runs") }

// NewRunID makes a sortable, unique run id.
func NewRunID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// CreateJournal starts a journal for a new run and marks it as the last run.
func CreateJournal(root string, h Header) (*Journal, error) {
	id := NewRunID()
	dir := filepath.Join(RunsDir(root), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "journal")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	j := &Journal{f: f, ID: id, Path: p}
	h.Started = time.Now().UTC()
	j.write(record{Ev: "run", Header: &h}, true)
	if err := writeLast(root, id); err != nil {
		return nil, err
	}
	return j, nil
}

// OpenJournal appends to an existing run's journal (resume).
func OpenJournal(root, id string) (*Journal, error) {
	p := filepath.Join(RunsDir(root), id, "journal")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	j := &Journal{f: f, ID: id, Path: p}
	j.write(record{Ev: "resume"}, true)
	return j, nil
}

func writeLast(root, id string) error {
	p := filepath.Join(RunsDir(root), "last")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// ResolveRunID turns "last" (or an id prefix) into a run id.
func ResolveRunID(root, id string) (string, error) {
	if id == "last" || id == "" {
		b, err := os.ReadFile(filepath.Join(RunsDir(root), "last"))
		if err != nil {
			return "", fmt.Errorf("no previous run under %s", RunsDir(root))
		}
		return strings.TrimSpace(string(b)), nil
	}
	if _, err := os.Stat(filepath.Join(RunsDir(root), id, "journal")); err == nil {
		return id, nil
	}
	entries, _ := os.ReadDir(RunsDir(root))
	var match []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), id) {
			match = append(match, e.Name())
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	return "", fmt.Errorf("run %q not found under %s", id, RunsDir(root))
}

// Close syncs pending records and closes the file.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	err := j.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Sync makes every record written so far durable; it costs nothing when
// none is pending. The interpreter calls it before each effect.
func (j *Journal) Sync() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncLocked()
}

func (j *Journal) syncLocked() error {
	if !j.dirty {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.Path, err)
	}
	j.dirty, j.durable = false, j.size
	return nil
}

// write appends one record with a single write call (a crash leaves at
// most a torn last line, which ReadJournal ignores), and syncs the file
// when sync is set.
func (j *Journal) write(r record, sync bool) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Time = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	b = append(b, '\n')
	n, err := j.f.Write(b)
	j.size += int64(n)
	if err != nil {
		return
	}
	j.dirty = true
	if sync {
		j.syncLocked()
	}
}

func (j *Journal) start(top, step int, st Step) {
	j.write(record{Ev: "start", Top: top, Step: step, Name: st.Name()}, false)
}

// finish records a finished step with the variables after it; effects
// says whether the step changed anything outside gxl (then the record is
// synced at once).
func (j *Journal) finish(top, step int, vars *Scope, effects bool) {
	if j == nil {
		return
	}
	j.write(record{Ev: "finish", Top: top, Step: step, Vars: encodeVars(vars)}, effects)
}

func (j *Journal) fail(top, step int, err error) {
	j.write(record{Ev: "fail", Top: top, Step: step, Err: err.Error()}, true)
}

func (j *Journal) undoPush(top, step int, e undoEntry) {
	if j == nil {
		return
	}
	j.write(record{Ev: "undo-push", Top: top, Step: step, Flow: e.flow.QualifiedName(), Vars: encodeVars(e.snap)}, true)
}

func (j *Journal) undone(top int, flow string) {
	j.write(record{Ev: "undone", Top: top, Flow: flow}, true)
}

func (j *Journal) end(top int, ok bool) {
	j.write(record{Ev: "end", Top: top, OK: ok}, true)
}

// jsonValue is a typed value in the journal.
type jsonValue struct {
	T      string      `json:"t"`
	S      string      `json:"s,omitempty"`
	I      uint64      `json:"i,omitempty"`
	F      float64     `json:"f,omitempty"`
	B      bool        `json:"b,omitempty"`
	L      []jsonValue `json:"l,omitempty"`
	K      []string    `json:"k,omitempty"`
	Secret bool        `json:"secret,omitempty"`
}

func encodeValue(v value.Value) jsonValue {
	j := jsonValue{Secret: v.Secret()}
	switch v.Kind() {
	case value.KString:
		j.T, j.S = "s", v.StrVal()
	case value.KInt:
		j.T, j.I = "i", v.UintVal()
	case value.KFloat:
		j.T, j.F = "f", v.FloatVal()
	case value.KBool:
		j.T, j.B = "b", v.BoolVal()
	case value.KList:
		j.T = "l"
		for _, e := range v.ListVal() {
			j.L = append(j.L, encodeValue(e))
		}
	case value.KObject:
		j.T = "o"
		o := v.ObjVal()
		j.K = append(j.K, o.Keys()...)
		for _, e := range o.Values() {
			j.L = append(j.L, encodeValue(e))
		}
	}
	return j
}

func decodeValue(j jsonValue) value.Value {
	var v value.Value
	switch j.T {
	case "s":
		v = value.Str(j.S)
	case "i":
		v = value.Uint(j.I)
	case "f":
		v = value.Float(j.F)
	case "b":
		v = value.Bool(j.B)
	case "l":
		var l []value.Value
		for _, e := range j.L {
			l = append(l, decodeValue(e))
		}
		v = value.List(l...)
	case "o":
		o := value.NewObject()
		for i, k := range j.K {
			if i < len(j.L) {
				o.Set(k, decodeValue(j.L[i]))
			}
		}
		v = value.Obj(o)
	default:
		v = value.Str("")
	}
	if j.Secret {
		v = v.AsSecret()
	}
	return v
}

// encodeVars snapshots the variables; SEC_* secrets are not written (they
// are read again from the secrets file on resume).
func encodeVars(s *Scope) map[string]jsonValue {
	out := map[string]jsonValue{}
	for name, v := range s.Map() {
		if strings.HasPrefix(strings.ToUpper(name), "SEC_") {
			continue
		}
		out[name] = encodeValue(v)
	}
	return out
}

func decodeVars(m map[string]jsonValue) map[string]value.Value {
	out := make(map[string]value.Value, len(m))
	for k, v := range m {
		out[k] = decodeValue(v)
	}
	return out
}

// ResumeState is what a journal says about an earlier run.
type ResumeState struct {
	ID     string
	Header Header
	tops   map[int]*topState
}

type topState struct {
	finished map[int]map[string]jsonValue // step → vars after it
	pushes   []record                     // undo-push records
	undone   bool
	ended    bool
	ok       bool
}

// ReadJournal reads a journal; a torn last record (crash while writing) is
// ignored.
func ReadJournal(root, id string) (*ResumeState, error) {
	p := filepath.Join(RunsDir(root), id, "journal")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs := &ResumeState{ID: id, tops: map[int]*topState{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	sawHeader := false
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // torn record
		}
		ts := rs.tops[r.Top]
		if ts == nil {
			ts = &topState{finished: map[int]map[string]jsonValue{}}
			rs.tops[r.Top] = ts
		}
		switch r.Ev {
		case "run":
			if r.Header != nil {
				rs.Header = *r.Header
				sawHeader = true
			}
		case "finish":
			ts.finished[r.Step] = r.Vars
		case "undo-push":
			ts.pushes = append(ts.pushes, r)
		case "undone":
			ts.undone = true
		case "start":
			// A re-run after compensation starts a new attempt: what was
			// undone is no longer done.
			if ts.undone {
				ts.undone = false
				ts.finished = map[int]map[string]jsonValue{}
				ts.pushes = nil
			}
		case "end":
			ts.ended, ts.ok = true, r.OK
		}
	}
	if !sawHeader {
		return nil, fmt.Errorf("%s: not a gxl journal", p)
	}
	return rs, nil
}

// TopDone reports whether top-level flow i finished successfully.
func (rs *ResumeState) TopDone(i int) bool {
	ts := rs.tops[i]
	return ts != nil && ts.ended && ts.ok
}

// Finished lists the finished step indexes of top-level flow i.
func (rs *ResumeState) Finished(i int) []int {
	ts := rs.tops[i]
	if ts == nil {
		return nil
	}
	var out []int
	for k := range ts.finished {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// restore returns the variables to continue with, the first step to run,
// and the undo stack of an open transaction. A compensated transaction
// (undo ran) restarts from the beginning, since its effects were undone.
func (rs *ResumeState) restore(prog *check.Program, top int) (map[string]value.Value, int, []undoEntry, bool) {
	ts := rs.tops[top]
	if ts == nil || len(ts.finished) == 0 || ts.undone {
		return nil, 0, nil, false
	}
	next := 0
	for {
		if _, ok := ts.finished[next]; !ok {
			break
		}
		next++
	}
	if next == 0 {
		return nil, 0, nil, false
	}
	vars := decodeVars(ts.finished[next-1])
	var undo []undoEntry
	for _, p := range ts.pushes {
		if p.Step >= next {
			continue
		}
		f, err := ResolveFlow(prog, p.Flow)
		if err != nil {
			continue
		}
		snap := NewScope()
		for k, v := range decodeVars(p.Vars) {
			snap.Set(k, v)
		}
		undo = append(undo, undoEntry{flow: f, steps: UndoSteps(prog, f), snap: snap})
	}
	return vars, next, undo, true
}
