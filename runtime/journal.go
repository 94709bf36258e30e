package runtime

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gxl-dev/gxl/core/atomicfile"
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/predef"
)

// Header records what a run was asked to do, so --resume can repeat it.
// Secret --set values are never written: their names are in SecretSets,
// and a resume must be given them again.
type Header struct {
	File       string            `json:"file"`
	Envs       []string          `json:"envs"`
	Flows      []string          `json:"flows"`
	DryRun     bool              `json:"dryrun,omitempty"`
	Sets       map[string]string `json:"sets,omitempty"`
	SecretSets []string          `json:"secret_sets,omitempty"`
	CmdArg     string            `json:"cmd_arg,omitempty"`
	// Failure is the failure an #[on_failure] run handles (gxl operate),
	// its FAILED_* variables again on resume.
	Failure *predef.Failure `json:"failure,omitempty"`
	// Trigger says what started a run of `gxl operate` ("every 30s",
	// "cron 0 1 * * *", "on_failure of main.backup"); "" for gxl run.
	Trigger string    `json:"trigger,omitempty"`
	Dir     string    `json:"dir"`
	Started time.Time `json:"started"`
	// Format is 1 for journals that end with an exit record and hold
	// their run's lock while it runs (see RunInfo); 0 (absent) for
	// journals of earlier gxl versions.
	Format int `json:"format,omitempty"`
}

// journalFormat is the Format of the journals this gxl writes.
const journalFormat = 1

// record is one journal line. Statements are named by their address (see
// exec.address): a path of plan steps, statement indexes, branches, loop
// iterations, fn bodies, retry attempts, undo entries and nested runs
// that is the same every time the same program runs with the same data.
type record struct {
	Ev   string `json:"ev"`
	A    string `json:"a,omitempty"`    // address
	At   string `json:"at,omitempty"`   // file:line:col of the statement
	Name string `json:"name,omitempty"` // what ran (gx.cmd, activity x.y)
	// D is what a finished statement changed: an object of variable name
	// → value (encodeValueJSON); Del names removed variables; Sec names
	// variables whose new value is secret and so was not written.
	D   json.RawMessage `json:"d,omitempty"`
	Del []string        `json:"del,omitempty"`
	Sec []string        `json:"sec,omitempty"`
	Of  string          `json:"of,omitempty"` // undo: address of the failed statement
	Err string          `json:"err,omitempty"`
	OK  bool            `json:"ok,omitempty"`
	N   int             `json:"n,omitempty"`
	// Path and Hash: a file the run loaded (load records).
	Path   string  `json:"path,omitempty"`
	Hash   string  `json:"hash,omitempty"`
	Header *Header `json:"header,omitempty"`
	// Began is when a finished plan step (step records) began.
	Began time.Time `json:"began,omitzero"`
	// Diag is the failure of a failed run (exit records), as rendered.
	Diag *diag.Diagnostic `json:"diag,omitempty"`
	Time time.Time        `json:"time"`
	// src is the content of a load record of a deferred journal, hashed
	// when the record is written.
	src []byte
}

// Journal is an append-only log of a run (.gxl/runs/<id>/journal): the
// files it loaded (with hashes, so a resume notices an edited program),
// and every finished statement that ran something — built-in calls,
// commands, command blocks, activities — with the variables it changed
// (a delta, never the whole variable space). Every method is safe on a nil
// Journal and from several goroutines (parallel module stages).
//
// Resume replays the program from the start: assignments, conditions and
// loops are computed again, and each statement with a finish record is
// skipped, its delta applied instead. So a finished effect never runs
// twice, and only the statement that was interrupted runs again.
//
// Every record is written to the file at once (one write call), so a
// killed gxl process (kill -9, OOM) loses nothing: the kernel has the
// data, and resume skips every statement that finished. Against a crash
// of the whole machine, records are made durable (fsync) in one of two
// ways:
//   - always (the default): before anything outside gxl is changed,
//     everything recorded so far is on disk (Sync before each effect, the
//     effect's finish record synced at once), so no finished effect ever
//     runs again, at the cost of a flush per command (100-200 µs on an
//     idle disk; the finish records of pure statements wait for the next
//     effect);
//   - batched (GXL_JOURNAL_FSYNC=batched): the finish record of an effect
//     is synced within SyncInterval by a timer armed when it is written,
//     so commands never wait for the disk; after a power loss the
//     statements finished in that last interval may run again on resume.
//
// Run, resume, load, fail, undo, compensated, end and exit records are
// synced at once in both modes.
//
// The last record of a run that ended is its exit record (Exit): whether
// it succeeded, and its failure. While a process writes the journal it
// holds the run's lock (the file lock beside it, an flock the kernel drops
// when the process dies), so a journal without an exit record is of a run
// still going when its lock is held, and of an interrupted one (killed,
// machine lost) when it is not. `gxl runs` reads both (ListRuns).
//
// Secret values are never written: a statement whose result is secret
// lists the variable in Sec, and resume runs that statement again to
// compute it (statements that produce secrets are reads: gx.read_cmd,
// gx.read_file of a secret).
//
// The journal grows with what changed, not with steps × state; records
// that no resume can use (superseded retry attempts and compensated
// attempts of a flow, duplicate load records) are dropped by compact,
// which runs when a run is resumed and when the file has doubled.
type Journal struct {
	mu sync.Mutex
	// log is where the records go (a file, an object in the cluster),
	// store what keeps it.
	log   RunLog
	store RunStore
	// failed is the first error of a sync: a writer fenced out of the
	// run (RunLog.Sync) stops before its next effect in every mode.
	failed error
	dirty  bool // records written since the last fsync
	// size is the bytes written, durable the bytes known to be on disk
	// (the size at the last fsync): tests cut the file at durable to see
	// what a machine crash could leave.
	size, durable int64
	// compactAt is the size at which the next compaction runs.
	compactAt int64
	// always: fsync before each effect (the default); otherwise
	// (GXL_JOURNAL_FSYNC=batched) a timer syncs within SyncInterval.
	always bool
	timer  *time.Timer
	// buf holds lazy records not yet written (see write); flush writes
	// them within SyncInterval when nothing else does.
	buf    []byte
	flush  *time.Timer
	closed bool
	// abandoned: nothing more is written (Abandon, a fenced run).
	abandoned bool
	// changes is set once a statement of the run may have changed
	// something outside gxl (Changed).
	changes atomic.Bool
	loaded  map[string]string // path → hash recorded
	// deferred: the journal is not in its store yet
	// (CreateDeferredJournal). Its records wait in pend, not yet encoded
	// (a quiet run never needs them), the files it loaded in loadedSrc
	// (hashed only when written).
	deferred  bool
	pend      []record
	loadedSrc map[string][]byte
	ID        string
	Path      string
}

// SyncInterval bounds how long a finished effect's record waits for fsync
// in the batched mode.
const SyncInterval = 50 * time.Millisecond

// alwaysSync reads the fsync mode from the environment.
func alwaysSync() bool { return os.Getenv("GXL_JOURNAL_FSYNC") != "batched" }

// compactMin is the smallest journal that is compacted while a run goes on.
const compactMin = 32 << 20

// RunsDir is where journals live for a project root.
func RunsDir(root string) string { return filepath.Join(root, ".gxl", "runs") }

// NewRunID makes a sortable, unique run id.
func NewRunID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// CreateJournal starts a journal for a new run under root's .gxl/runs,
// holding its lock, and marks it as the last run.
func CreateJournal(root string, h Header) (*Journal, error) {
	return CreateJournalIn(Files(root), h)
}

// CreateJournalIn starts a journal for a new run in store s, holding its
// lock, and marks it as the last run.
func CreateJournalIn(s RunStore, h Header) (*Journal, error) {
	id := NewRunID()
	l, err := s.Create(id)
	if err != nil {
		return nil, err
	}
	j := &Journal{log: l, store: s, ID: id, Path: l.Path(), compactAt: l.CompactMin(), loaded: map[string]string{}, always: alwaysSync()}
	h.Started = time.Now().UTC()
	h.Format = journalFormat
	j.write(record{Ev: "run", Header: &h}, now)
	if err := j.failedErr(); err != nil {
		j.Close()
		return nil, err
	}
	if err := s.SetLast(id); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// CreateDeferredJournal is CreateJournal for a run that may well change
// nothing (the probes of gxl operate, every second): its records are kept
// in memory, and the run's folder, lock, journal file and `last` marker
// are created only when the run is about to change something outside gxl
// (Sync after a statement declared a change, before its effect: the
// records so far are written and synced first, so the guarantee of
// Journal holds from the first effect on) or when it fails (a fail, undo
// or failed exit record). A run that does neither never touches the disk;
// a process killed in it leaves nothing to resume, and nothing outside gxl
// was changed. OnDisk tells which.
func CreateDeferredJournal(root string, h Header) *Journal {
	return CreateDeferredJournalIn(Files(root), h)
}

// CreateDeferredJournalIn is CreateDeferredJournal in store s.
func CreateDeferredJournalIn(s RunStore, h Header) *Journal {
	id := NewRunID()
	j := &Journal{store: s, ID: id, Path: s.Location(id), deferred: true,
		loaded: map[string]string{}, loadedSrc: map[string][]byte{}, always: alwaysSync()}
	h.Started = time.Now().UTC()
	h.Format = journalFormat
	j.write(record{Ev: "run", Header: &h}, now)
	return j
}

// OnDisk reports whether the journal's file exists: always for
// CreateJournal and OpenJournal, once it had to for CreateDeferredJournal.
func (j *Journal) OnDisk() bool {
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return !j.deferred
}

// materializeLocked creates the run in its store (its lock held) and
// writes the records kept so far, synced, then marks it as the last run.
func (j *Journal) materializeLocked() error {
	l, err := j.store.Create(j.ID)
	if err != nil {
		return fmt.Errorf("cannot create the run journal: %w", err)
	}
	j.log, j.Path, j.compactAt, j.deferred = l, l.Path(), l.CompactMin(), false
	for _, r := range j.pend {
		if r.src != nil {
			r.Hash = hashBytes(r.src)
			j.loaded[r.Path] = r.Hash
		}
		b, err := json.Marshal(r)
		if err != nil {
			continue
		}
		j.buf = append(append(j.buf, b...), '\n')
	}
	j.pend, j.loadedSrc = nil, nil
	if err := j.syncLocked(); err != nil {
		return err
	}
	return j.store.SetLast(j.ID)
}

// OpenJournal appends to an existing run's journal under root (resume).
func OpenJournal(root, id string) (*Journal, error) { return OpenJournalIn(Files(root), id) }

// OpenJournalIn appends to an existing run's journal in store s (resume),
// after compacting it (which drops the exit record of its previous
// attempt). A run whose lock another process holds is a *RunningError.
func OpenJournalIn(s RunStore, id string) (*Journal, error) {
	l, err := s.Open(id)
	if err != nil {
		return nil, err
	}
	b, err := s.Read(id)
	if err == nil {
		b, err = compactBytes(b)
	}
	if err == nil {
		err = l.Replace(b)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	j := &Journal{log: l, store: s, ID: id, Path: l.Path(), size: l.Size(), durable: l.Size(), loaded: map[string]string{}, always: alwaysSync()}
	j.compactAt = max(l.CompactMin(), 2*j.size)
	j.write(record{Ev: "resume"}, now)
	if err := j.failedErr(); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

func (j *Journal) failedErr() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}

// lockName is the run's lock file, beside its journal; it holds the pid
// of the process that took it last.
const lockName = "lock"

// takeLock takes the lock of the run in dir, waiting a moment for a
// reader's probe (lockHeld) to let go; held by another process, it is a
// *RunningError.
func takeLock(dir, id string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		held, err := lockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("run %s: lock: %w", id, err)
		}
		if !held {
			break
		}
		if try == 20 {
			f.Close()
			return nil, &RunningError{ID: id, PID: readPID(filepath.Join(dir, lockName))}
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func readPID(p string) int {
	b, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// RunningError is a run another live process is running (its lock is
// held): it can be neither resumed nor pruned.
type RunningError struct {
	ID  string
	PID int
	// Holder is who holds the lock of a run kept in the cluster.
	Holder string
}

func (e *RunningError) Error() string {
	if e.Holder != "" {
		return fmt.Sprintf("run %s is running (%s holds its lock)", e.ID, e.Holder)
	}
	if e.PID > 0 {
		return fmt.Sprintf("run %s is running (process %d holds its lock)", e.ID, e.PID)
	}
	return fmt.Sprintf("run %s is running (another process holds its lock)", e.ID)
}

// AmbiguousRunError is an id prefix that more than one run starts with.
type AmbiguousRunError struct {
	Prefix     string
	Candidates []string // sorted
}

func (e *AmbiguousRunError) Error() string {
	return fmt.Sprintf("run id %q is ambiguous: %d runs start with it: %s", e.Prefix, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// NoRunError is an id no run has (nor starts with).
type NoRunError struct{ ID, Dir string }

func (e *NoRunError) Error() string {
	if e.ID == "last" {
		return fmt.Sprintf("no previous run under %s", e.Dir)
	}
	return fmt.Sprintf("run %q not found under %s", e.ID, e.Dir)
}

// ResolveRunID turns "last" (or a unique prefix of an id) into a run id
// under root; see ResolveRunIDIn.
func ResolveRunID(root, id string) (string, error) { return ResolveRunIDIn(Files(root), id) }

// ResolveRunIDIn turns "last" (or a unique prefix of an id) into the id of
// a run in s; a prefix of several ids is an *AmbiguousRunError listing
// them, an unknown one a *NoRunError.
func ResolveRunIDIn(s RunStore, id string) (string, error) {
	if id == "last" || id == "" {
		return s.Last()
	}
	ids, _ := s.List()
	var match []string
	for _, r := range ids {
		if r == id {
			return id, nil
		}
		if strings.HasPrefix(r, id) {
			match = append(match, r)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", &NoRunError{ID: id, Dir: s.Where()}
	}
	sort.Strings(match)
	return "", &AmbiguousRunError{Prefix: id, Candidates: match}
}

// Close syncs pending records and closes the file.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	if j.timer != nil {
		j.timer.Stop()
	}
	if j.flush != nil {
		j.flush.Stop()
	}
	if j.deferred {
		// Never needed in the store: the records go with the run.
		j.closed, j.pend, j.loadedSrc = true, nil, nil
		return nil
	}
	err := j.syncLocked()
	j.closed = true
	if cerr := j.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// Sync makes every record written so far durable in the always mode; it
// costs nothing when none is pending. The interpreter calls it before each
// effect. In the batched mode the timer does it.
//
// A deferred journal (CreateDeferredJournal) is created here, in either
// mode, once a statement declared that it changes something (the
// interpreter's effect: changed, then Sync, then the effect).
func (j *Journal) Sync() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deferred {
		if !j.changes.Load() || j.closed {
			return nil // a read: nothing to make durable yet
		}
		return j.materializeLocked()
	}
	if !j.always {
		return j.failed
	}
	return j.syncLocked()
}

func (j *Journal) syncLocked() error {
	if err := j.flushLocked(); err != nil {
		return fmt.Errorf("journal %s: %w", j.Path, err)
	}
	if j.failed != nil {
		return j.failed
	}
	if !j.dirty || j.closed {
		return nil
	}
	if err := j.log.Sync(); err != nil {
		j.failed = fmt.Errorf("journal %s: %w", j.Path, err)
		return j.failed
	}
	j.dirty, j.durable = false, j.size
	return nil
}

// Durability of a record (see Journal).
type durability int

const (
	lazy   durability = iota // synced with the next record that needs it
	effect                   // a finished effect: synced at once (always) or within SyncInterval
	now                      // synced at once
)

// write appends one record with a single write call (a crash leaves at
// most a torn last line, which ReadJournal ignores), and makes it durable
// as d says.
func (j *Journal) write(r record, d durability) {
	if j == nil {
		return
	}
	r.Time = time.Now().UTC()
	if j.keep(r) {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.abandoned {
		return
	}
	j.buf = append(j.buf, b...)
	if d == lazy && len(j.buf) < lazyBuffer {
		// A lazy record waits for the next record that needs writing, or
		// SyncInterval: a run of pure steps costs no write call each. The
		// order of the file is kept, so a record on disk means every
		// record before it is too; a crash loses only lazy records of
		// steps that changed nothing, which a resume runs again.
		if j.flush == nil {
			j.flush = time.AfterFunc(SyncInterval, func() {
				j.mu.Lock()
				defer j.mu.Unlock()
				j.flush = nil
				j.flushLocked()
			})
		}
		return
	}
	if j.flushLocked() != nil {
		return
	}
	switch {
	case d == now || (d == effect && j.always):
		j.syncLocked()
	case d == effect && j.timer == nil:
		j.timer = time.AfterFunc(SyncInterval, func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			j.timer = nil
			j.syncLocked()
		})
	}
	if j.size >= j.compactAt {
		j.compactLocked()
	}
}

// lazyBuffer is how many bytes of lazy records wait at most.
const lazyBuffer = 64 << 10

// flushLocked writes the records waiting in buf with one write call.
func (j *Journal) flushLocked() error {
	if len(j.buf) == 0 || j.closed {
		return nil
	}
	n, err := j.log.Write(j.buf)
	j.size += int64(n)
	if n > 0 {
		j.dirty = true
	}
	j.buf = j.buf[:0]
	return err
}

// compactLocked rewrites the journal without the records no resume
// needs; on any error the journal goes on as it was.
func (j *Journal) compactLocked() {
	j.compactAt = 2 * j.size
	if err := j.syncLocked(); err != nil {
		return
	}
	b, err := j.store.Read(j.ID)
	if err != nil {
		return
	}
	if b, err = compactBytes(b); err != nil {
		return
	}
	if err := j.log.Replace(b); err != nil {
		return
	}
	j.size, j.durable, j.dirty = j.log.Size(), j.log.Size(), false
	j.compactAt = max(j.log.CompactMin(), 2*j.size)
}

// changed records that a statement may change something outside gxl.
func (j *Journal) changed() {
	if j != nil {
		j.changes.Store(true)
	}
}

// Changed reports whether a statement of the run may have changed
// something outside gxl: ran a command or an activity, or called a
// built-in that is not Pure, Reads or Runs. A run that only read (a probe
// that found everything as it should be) did not. Statements skipped by a
// resume do not count.
func (j *Journal) Changed() bool { return j != nil && j.changes.Load() }

// Loaded records the files a run loaded (path → content), once per
// content, so a resume can tell whether the program changed.
func (j *Journal) Loaded(sources map[string][]byte) {
	if j == nil {
		return
	}
	paths := make([]string, 0, len(sources))
	for p := range sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		if j.keepLoad(abs, sources[p]) {
			continue
		}
		h := hashBytes(sources[p])
		j.mu.Lock()
		seen := j.loaded[abs] == h
		j.loaded[abs] = h
		j.mu.Unlock()
		if !seen {
			j.write(record{Ev: "load", Path: abs, Hash: h}, now)
		}
	}
}

// keep keeps r in memory when the journal is deferred and r is no
// failure; a failure creates the journal first (then r is written as
// usual). It reports whether r was kept.
func (j *Journal) keep(r record) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.deferred || j.closed {
		return j.closed
	}
	if r.Ev == "fail" || r.Ev == "undo" || (r.Ev == "exit" && !r.OK) {
		if j.materializeLocked() == nil {
			return false
		}
	}
	j.pend = append(j.pend, r)
	return true
}

// keepLoad keeps the load record of a deferred journal in memory, once
// per content, unhashed; it reports whether the journal is deferred.
func (j *Journal) keepLoad(abs string, src []byte) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.deferred || j.closed {
		return j.closed
	}
	if old, ok := j.loadedSrc[abs]; !ok || !bytes.Equal(old, src) {
		j.loadedSrc[abs] = src
		j.pend = append(j.pend, record{Ev: "load", Path: abs, Time: time.Now().UTC(), src: src})
	}
	return true
}

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// done records a finished statement and what it changed; effects says
// whether it changed anything outside gxl (then the record is synced as
// the mode says).
func (j *Journal) done(addr, at, name string, d delta, effects bool) {
	if j == nil {
		return
	}
	dur := lazy
	if effects {
		dur = effect
	}
	j.write(record{Ev: "done", A: addr, At: at, Name: name, D: d.set, Del: d.del, Sec: d.sec}, dur)
}

func (j *Journal) fail(addr, at string, err error, msg string) {
	j.write(record{Ev: "fail", A: addr, At: at, Err: msg}, now)
}

func (j *Journal) attempt(flowAddr string, n int) {
	j.write(record{Ev: "attempt", A: flowAddr, N: n}, now)
}

// undo records that compensation of a top-level attempt begins, after the
// statement at of failed.
func (j *Journal) undo(top, of, msg string) {
	j.write(record{Ev: "undo", A: top, Of: of, Err: msg}, now)
}

// compensated records that the undo stack of a top-level attempt ran: the
// next resume starts that flow afresh (a new generation of addresses).
func (j *Journal) compensated(topKey string) {
	j.write(record{Ev: "compensated", A: topKey}, now)
}

func (j *Journal) end(top string, ok bool) {
	j.write(record{Ev: "end", A: top, OK: ok}, now)
}

// step records a plan step (a flow, an env, a module's properties) that
// finished, with when it began (`gxl runs show`).
func (j *Journal) step(addr, name string, began time.Time) {
	j.write(record{Ev: "step", A: addr, Name: name, Began: began.UTC()}, lazy)
}

// Exit records how the run ended, as its last record: ok when err is nil;
// otherwise the failure — a step's as its diagnostic (its message already
// masked, as the run printed it), with the flow and position of the
// failed statement. The front end calls it once the run returns.
func (j *Journal) Exit(err error) {
	if j == nil {
		return
	}
	r := record{Ev: "exit", OK: err == nil}
	var se *StepError
	switch {
	case errors.As(err, &se):
		d := se.Diagnostic()
		r.Diag, r.Err, r.Name = &d, d.Summary, se.flow()
		if d.Span.IsValid() {
			r.At = d.Span.Start.String()
		}
	case err != nil:
		r.Err = err.Error()
	}
	j.write(r, now)
}

// ResumeState is what a journal says about an earlier run.
type ResumeState struct {
	ID     string
	Header Header
	path   string
	done   map[string]*record // address → finish record
	order  []string           // addresses in the order they finished
	// attempts: flow address → highest retry attempt begun.
	attempts map[string]int
	// comps: top key → compensated attempts (the generation).
	comps map[string]int
	// undoing: top address → undo record of a compensation that began.
	undoing map[string]*record
	ended   map[string]bool // top address → ended successfully
	loads   map[string]string
	// finished caches Finished: every top of every nested run asks for
	// its count, from several goroutines under a parallel stage.
	finishedOnce sync.Once
	finished     []Finished
}

// ReadJournal reads a journal; a torn last record (crash while writing) is
// ignored.
func ReadJournal(root, id string) (*ResumeState, error) { return ReadJournalIn(Files(root), id) }

// ReadJournalIn reads the journal of run id in s.
func ReadJournalIn(s RunStore, id string) (*ResumeState, error) {
	p := s.Location(id)
	if fs, ok := s.(*FileStore); ok {
		p = filepath.Join(fs.runDir(id), "journal")
	}
	b, err := s.Read(id)
	if err != nil {
		return nil, err
	}
	recs, _ := parseRecords(b)
	rs := &ResumeState{ID: id, path: p, done: map[string]*record{}, attempts: map[string]int{},
		comps: map[string]int{}, undoing: map[string]*record{}, ended: map[string]bool{}, loads: map[string]string{}}
	sawHeader := false
	for _, r := range recs {
		switch r.Ev {
		case "run":
			if r.Header != nil {
				rs.Header = *r.Header
				sawHeader = true
			}
		case "load":
			rs.loads[r.Path] = r.Hash
		case "done":
			if _, ok := rs.done[r.A]; !ok {
				rs.order = append(rs.order, r.A)
			}
			rs.done[r.A] = r
		case "attempt":
			rs.attempts[r.A] = max(rs.attempts[r.A], r.N)
		case "undo":
			rs.undoing[r.A] = r
		case "compensated":
			rs.comps[r.A]++
		case "end":
			rs.ended[r.A] = r.OK
		}
	}
	if !sawHeader {
		return nil, fmt.Errorf("%s: not a gxl journal", p)
	}
	// A compensation that finished closes its undo record.
	for top := range rs.undoing {
		key, gen := splitGen(lastComponent(top))
		base := strings.TrimSuffix(top, lastComponent(top)) + key
		if rs.comps[base] > gen {
			delete(rs.undoing, top)
		}
	}
	return rs, nil
}

// parseRecords reads a journal's records and counts the lines that are
// not records (a torn last line, damage).
func parseRecords(b []byte) ([]*record, int) {
	var out []*record
	bad := 0
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r := &record{}
		if err := json.Unmarshal(line, r); err != nil {
			bad++ // torn record
			continue
		}
		out = append(out, r)
	}
	return out, bad
}

// FileChange is a file of the program that differs from the run's.
type FileChange struct {
	Path string
	Why  string // "changed" or "missing"
}

// Changed compares every file the run loaded with the file on disk now.
func (rs *ResumeState) Changed() []FileChange {
	var out []FileChange
	for p, h := range rs.loads {
		b, err := os.ReadFile(p)
		switch {
		case err != nil:
			out = append(out, FileChange{p, "missing"})
		case hashBytes(b) != h:
			out = append(out, FileChange{p, "changed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Finished is a statement the earlier run finished, which resume skips.
type Finished struct {
	Addr, At, Name string
}

// Finished lists the statements a resume will skip, in the order they ran.
func (rs *ResumeState) Finished() []Finished {
	rs.finishedOnce.Do(func() {
		for _, a := range rs.order {
			r := rs.done[a]
			if rs.live(a) && len(r.Sec) == 0 {
				rs.finished = append(rs.finished, Finished{Addr: a, At: r.At, Name: r.Name})
			}
		}
	})
	return rs.finished
}

// TopDone reports whether the top-level flow at address top finished
// successfully.
func (rs *ResumeState) TopDone(top string) bool { return rs != nil && rs.ended[top] }

// gen is the generation of top key k: how many of its attempts were
// compensated.
func (rs *ResumeState) gen(key string) int {
	if rs == nil {
		return 0
	}
	return rs.comps[key]
}

// attemptOf is the highest retry attempt begun of the flow at addr.
func (rs *ResumeState) attemptOf(addr string) int {
	if rs == nil {
		return 0
	}
	return rs.attempts[addr]
}

// skip returns the finish record of the statement at addr when resume
// skips it: finished, and no secret result to compute again.
func (rs *ResumeState) skip(addr string) *record {
	if rs == nil {
		return nil
	}
	r := rs.done[addr]
	if r == nil || len(r.Sec) > 0 {
		return nil
	}
	return r
}

// live says whether a record at addr can still be used by a resume: not
// in a compensated generation of a top, nor in a superseded retry attempt.
func (rs *ResumeState) live(addr string) bool {
	comps := strings.Split(addr, "/")
	prefix := ""
	for i, c := range comps {
		if i > 0 {
			prefix += "/"
		}
		if key, gen, ok := topComponent(c); ok {
			if gen < rs.comps[prefix+key] {
				return false
			}
		}
		flow := strings.TrimSuffix(prefix, "/")
		if n, ok := rs.attempts[flow]; ok && i > 0 && isStepComponent(comps[i-1]) {
			att := 1
			if strings.HasPrefix(c, "a") {
				if v, err := strconv.Atoi(c[1:]); err == nil {
					att = v
				}
			}
			if att < n {
				return false
			}
		}
		prefix += c
	}
	return true
}

func lastComponent(a string) string {
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		return a[i+1:]
	}
	return a
}

// topComponent parses "t3" or "t3g2" (top 3, generation 2).
func topComponent(c string) (key string, gen int, ok bool) {
	if len(c) < 2 || c[0] != 't' {
		return "", 0, false
	}
	key, gen = splitGen(c)
	if _, err := strconv.Atoi(key[1:]); err != nil {
		return "", 0, false
	}
	return key, gen, true
}

func splitGen(c string) (string, int) {
	if i := strings.IndexByte(c, 'g'); i > 0 {
		if g, err := strconv.Atoi(c[i+1:]); err == nil {
			return c[:i], g
		}
	}
	return c, 0
}

func isStepComponent(c string) bool {
	if len(c) < 2 || (c[0] != 's') {
		return false
	}
	_, err := strconv.Atoi(c[1:])
	return err == nil
}

// compactFile rewrites a journal keeping only what a resume uses: the
// header, the newest hash of each file, and of the statements and plan
// steps the newest live finish record; attempt, compensation, undo and end
// records are kept (they are small). The exit record goes: compaction runs
// when a resume begins, and the resumed run writes its own. The new file replaces the old one atomically.
func compactFile(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if b, err = compactBytes(b); err != nil {
		return err
	}
	return atomicfile.Write(p, b, 0o600)
}

// compactBytes is compactFile of a journal held in memory.
func compactBytes(b []byte) ([]byte, error) {
	recs, _ := parseRecords(b)
	rs := &ResumeState{attempts: map[string]int{}, comps: map[string]int{}}
	for _, r := range recs {
		switch r.Ev {
		case "attempt":
			rs.attempts[r.A] = max(rs.attempts[r.A], r.N)
		case "compensated":
			rs.comps[r.A]++
		}
	}
	lastDone := map[string]int{}
	lastLoad := map[string]int{}
	for i, r := range recs {
		switch r.Ev {
		case "done", "step":
			lastDone[r.Ev+" "+r.A] = i
		case "load":
			lastLoad[r.Path] = i
		}
	}
	var buf bytes.Buffer
	for i, r := range recs {
		switch r.Ev {
		case "resume", "fail", "start", "finish", "undo-push", "undone", "exit":
			continue
		case "done", "step":
			if lastDone[r.Ev+" "+r.A] != i || !rs.live(r.A) {
				continue
			}
		case "load":
			if lastLoad[r.Path] != i {
				continue
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}
