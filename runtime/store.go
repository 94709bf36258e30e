package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/atomicfile"
	"github.com/gxl-dev/gxl/core/fsguard"
)

// RunStore keeps the journals of runs: the folder .gxl/runs of a project
// (FileStore), or objects in a Kubernetes API server (system/clusterstate,
// `gxl operate --state cluster`). A journal is a sequence of records, one
// JSON object a line, the first the run header; the store only keeps the
// bytes, the Journal decides what they say and when they must be durable.
//
// Each run has a lock: whoever holds it writes the run's journal, and
// nobody else may resume or remove the run meanwhile.
type RunStore interface {
	// Create makes the journal of a new run, empty, and takes its lock.
	Create(id string) (RunLog, error)
	// Open takes the lock of an existing run to append to its journal (a
	// resume); a lock someone else holds is a *RunningError.
	Open(id string) (RunLog, error)
	// Read returns the whole journal of run id.
	Read(id string) ([]byte, error)
	// Summary returns the first and the last whole record of run id's
	// journal (what `gxl runs list` reads of it), without the rest.
	Summary(id string) (RunSummary, error)
	// List returns the ids of the runs kept, in no order.
	List() ([]string, error)
	// Holder says whether a live writer holds run id's lock, and which
	// (a process id for the file store, an identity in the cluster).
	Holder(id string) (holder string, held bool)
	// Remove removes run id, never while someone holds its lock (a
	// *RunningError), and the last-run pointer when it names it.
	Remove(id string) error
	// SetLast and Last keep the id of the newest run ("last").
	SetLast(id string) error
	Last() (string, error)
	// Where names the store in messages: a folder, a namespace.
	Where() string
	// Location is where run id is kept (RunInfo.Path).
	Location(id string) string
	// LockTTL is how long a lock may still look held after its holder
	// died (0: the holder's death releases it at once, as an flock).
	LockTTL() time.Duration
}

// RunLog is the open journal of one run, its lock held until Close.
type RunLog interface {
	// Write appends records (whole lines); they survive the writer's
	// process once Write returns (FileStore) or once Sync does.
	Write(p []byte) (int, error)
	// Sync makes everything written durable: an fsync, or an API write
	// that succeeded. An error means the records may be lost; a writer
	// that was fenced out (another took the run) gets one every time.
	Sync() error
	// Replace makes the journal p, atomically (compaction); everything
	// written was synced before.
	Replace(p []byte) error
	// Size is how many bytes the journal holds.
	Size() int64
	// CompactMin is the smallest journal compacted while a run goes on.
	CompactMin() int64
	// Path names the journal (a file, an object).
	Path() string
	// Close syncs and releases the lock.
	Close() error
}

// RunSummary is what RunStore.Summary reads of a journal.
type RunSummary struct {
	// First is the first line (the run header), Last the last whole
	// record after it (nil when there is none).
	First, Last []byte
	// Torn says the journal does not end with a whole record.
	Torn bool
}

// errNoJournal is a run without a journal (RunStore.Summary, Read).
var errNoJournal = errors.New("no journal in the run's folder")

// FileStore keeps journals under Root's .gxl/runs: a folder per run with
// its journal and its lock file (an flock, dropped by the kernel when the
// holder dies). Removals go through fsguard, Protect and the project
// folder protected besides fsguard.Base().
type FileStore struct {
	Root    string
	Protect fsguard.Roots
}

// Files is the file store of root.
func Files(root string) *FileStore { return &FileStore{Root: root} }

func (s *FileStore) dir() string             { return RunsDir(s.Root) }
func (s *FileStore) runDir(id string) string { return filepath.Join(s.dir(), id) }

// Where implements RunStore.
func (s *FileStore) Where() string { return s.dir() }

// Location implements RunStore.
func (s *FileStore) Location(id string) string { return s.runDir(id) }

// LockTTL implements RunStore: an flock goes with its process.
func (s *FileStore) LockTTL() time.Duration { return 0 }

// Create implements RunStore.
func (s *FileStore) Create(id string) (RunLog, error) {
	dir := s.runDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := takeLock(dir, id)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "journal")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		lock.Close()
		return nil, err
	}
	// The journal and its run folder are new entries: synced once, so a
	// power loss cannot lose the journal whose records are synced.
	for _, d := range []string{dir, s.dir()} {
		if err := atomicfile.SyncDir(d); err != nil {
			f.Close()
			lock.Close()
			return nil, err
		}
	}
	return &fileLog{f: f, lock: lock, path: p}, nil
}

// Open implements RunStore.
func (s *FileStore) Open(id string) (RunLog, error) {
	dir := s.runDir(id)
	lock, err := takeLock(dir, id)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "journal")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	return &fileLog{f: f, lock: lock, path: p, size: st.Size()}, nil
}

// Read implements RunStore.
func (s *FileStore) Read(id string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.runDir(id), "journal"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.runDir(id), "journal"), errNoJournal)
	}
	return b, err
}

// Summary implements RunStore: the first line, and a window of the
// file's end doubled until it holds the last record.
func (s *FileStore) Summary(id string) (RunSummary, error) {
	f, err := os.Open(filepath.Join(s.runDir(id), "journal"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return RunSummary{}, errNoJournal
		}
		return RunSummary{}, err
	}
	defer f.Close()
	first, err := bufio.NewReaderSize(f, 4<<10).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return RunSummary{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return RunSummary{}, err
	}
	last, torn := readTail(f, st.Size(), int64(len(first)))
	return RunSummary{First: first, Last: last, Torn: torn}, nil
}

// List implements RunStore: the folders of .gxl/runs (none when it does
// not exist); the `last` pointer is not a run.
func (s *FileStore) List() ([]string, error) {
	entries, err := os.ReadDir(s.dir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Holder implements RunStore: a probe of the flock, and the pid the
// lock file names.
func (s *FileStore) Holder(id string) (string, bool) {
	p := filepath.Join(s.runDir(id), lockName)
	lf, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer lf.Close()
	if !lockHeld(lf) {
		return "", false
	}
	if pid := readPID(p); pid > 0 {
		return strconv.Itoa(pid), true
	}
	return "", true
}

func (s *FileStore) roots() fsguard.Roots {
	roots := append(fsguard.Base(), fsguard.Project(s.Root, "the project folder")...)
	return append(roots, s.Protect...)
}

// Remove implements RunStore: the run's folder goes while its lock is
// held, so a run that started (or resumed) since it was read stays.
func (s *FileStore) Remove(id string) error {
	dir, roots := s.dir(), s.roots()
	if err := removeRun(dir, id, roots); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "last")); err == nil && strings.TrimSpace(string(b)) == id {
		return fsguard.RemoveEntry(dir, "last", roots)
	}
	return nil
}

// SetLast implements RunStore.
func (s *FileStore) SetLast(id string) error {
	// Runs created at the same time (gxl operate's flows, two gxl
	// processes) each write a temporary file of their own.
	return atomicfile.Write(filepath.Join(s.dir(), "last"), []byte(id+"\n"), 0o600)
}

// Last implements RunStore.
func (s *FileStore) Last() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir(), "last"))
	last := strings.TrimSpace(string(b))
	if err != nil || last == "" {
		return "", &NoRunError{ID: "last", Dir: s.dir()}
	}
	if _, err := os.Stat(s.runDir(last)); err != nil {
		return "", &NoRunError{ID: "last", Dir: s.dir()}
	}
	return last, nil
}

// fileLog is a journal file of the FileStore with its lock.
type fileLog struct {
	f, lock *os.File
	path    string
	size    int64
}

func (l *fileLog) Write(p []byte) (int, error) {
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *fileLog) Sync() error       { return datasync(l.f) }
func (l *fileLog) Size() int64       { return l.size }
func (l *fileLog) Path() string      { return l.path }
func (l *fileLog) CompactMin() int64 { return compactMin }

// Replace writes p aside, syncs it and renames it over the journal, then
// appends to the new file.
func (l *fileLog) Replace(p []byte) error {
	if err := atomicfile.Write(l.path, p, 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.f.Close()
	l.f, l.size = f, int64(len(p))
	return nil
}

func (l *fileLog) Close() error {
	err := l.f.Close()
	if l.lock != nil {
		l.lock.Close() // drops the flock
	}
	return err
}

// readTail returns the last whole line of f after the header line
// (whose length is skip), nil when there is none; torn says the file
// does not end with a whole line (then the line before the torn one is
// returned). It reads a small window of the end, doubled until it holds
// the whole line.
func readTail(f *os.File, size, skip int64) (last []byte, torn bool) {
	for win := int64(tailSize); ; win *= 2 {
		from := max(skip, size-win)
		if from >= size {
			return nil, false
		}
		buf := make([]byte, size-from)
		n, _ := f.ReadAt(buf, from)
		buf = buf[:n]
		torn = len(buf) > 0 && buf[len(buf)-1] != '\n'
		body := bytes.TrimRight(buf, "\n")
		if torn {
			// The torn line goes; the record before it is the last.
			i := bytes.LastIndexByte(body, '\n')
			if i < 0 {
				if from == skip {
					return nil, true
				}
				continue
			}
			body = body[:i]
		}
		i := bytes.LastIndexByte(body, '\n')
		if i < 0 && from > skip && win < tailMax {
			continue // the window starts inside the last record
		}
		return body[i+1:], torn
	}
}

// SummaryOf is RunStore.Summary of a journal held whole in memory.
func SummaryOf(b []byte) RunSummary {
	first, rest, _ := bytes.Cut(b, []byte("\n"))
	if len(first) < len(b) {
		first = b[:len(first)+1]
	}
	var s RunSummary
	s.First = first
	s.Torn = len(rest) > 0 && rest[len(rest)-1] != '\n'
	body := bytes.TrimRight(rest, "\n")
	if s.Torn {
		i := bytes.LastIndexByte(body, '\n')
		if i < 0 {
			return s
		}
		body = body[:i]
	}
	if len(body) == 0 {
		return s
	}
	s.Last = body[bytes.LastIndexByte(body, '\n')+1:]
	return s
}
