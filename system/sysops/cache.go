package sysops

import (
	"bytes"
	"crypto/sha256"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
)

// stageCache keeps what sys.stage loads — the system's files and the
// checked module workflows — across the stages of one registry (one
// process): `gxl operate` probes a module every second with a stage of
// one module, and loading the system and parsing and checking the module's
// workflow again each time was two fifths of its CPU. An entry is used
// only while every file it was made from reads the same bytes (and, for
// the system, the environment its values read is the same); otherwise it
// is made again, so an edited workflow or vars.yml is seen by the next
// stage exactly as before. Only error-free results are kept.
type stageCache struct {
	// parsed shares parsed library files (the ops-gxl checkout every
	// service module extends) between the checks that miss.
	parsed check.ParseCache

	mu   sync.Mutex
	sys  map[string]*cachedSystem
	mods map[string]*cachedModule
}

type cachedModule struct {
	prog  *check.Program
	diags diag.List // its warnings, given again on every use
	files sourceCheck
}

type cachedSystem struct {
	sys     *system.System
	environ []string
	files   sourceCheck
}

// system loads the system at root, or returns the one loaded before from
// the same files and environment.
func (sc *stageCache) system(root string) (*system.System, diag.List) {
	env := os.Environ()
	sc.mu.Lock()
	c := sc.sys[root]
	sc.mu.Unlock()
	if c != nil && slices.Equal(c.environ, env) && c.files.same(c.sys.Sources) {
		return c.sys, nil
	}
	s, ds := system.Load(root, system.Options{})
	if !ds.HasErrors() {
		sc.mu.Lock()
		if sc.sys == nil {
			sc.sys = map[string]*cachedSystem{}
		}
		sc.sys[root] = &cachedSystem{sys: s, environ: env}
		sc.mu.Unlock()
	}
	return s, ds
}

// module is CheckModule of file in dir with o, the variables known
// named by known (sorted; each of any type, as a stage's caller's), or
// the program checked before from the same files with the same names.
func (sc *stageCache) module(file, dir string, known []string, o CheckOptions) (*check.Program, diag.List) {
	key := moduleKey(file, dir, known)
	sc.mu.Lock()
	m := sc.mods[key]
	sc.mu.Unlock()
	if m != nil && m.files.same(m.prog.Sources) {
		return m.prog, slices.Clone(m.diags)
	}
	o.Parsed = &sc.parsed
	o.Known = make(map[string]types.Type, len(known))
	for _, n := range known {
		o.Known[n] = types.Any
	}
	p, ds := CheckModule(file, dir, o)
	if p != nil && !ds.HasErrors() {
		sc.mu.Lock()
		if sc.mods == nil {
			sc.mods = map[string]*cachedModule{}
		}
		sc.mods[key] = &cachedModule{prog: p, diags: slices.Clone(ds)}
		sc.mu.Unlock()
	}
	return p, ds
}

// moduleKey names a module check: its file, folder and the sorted names
// of the variables it is checked with (a stage started from another flow
// may know other variables).
func moduleKey(file, dir string, known []string) string {
	h := sha256.New()
	for _, n := range known {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return file + "\x00" + dir + "\x00" + string(h.Sum(nil))
}

// varNames are the names of the variables c sees, sorted: read from the
// runtime's scope without a copy of the values when c can (a stage of a
// probe copied every variable for their names).
func varNames(c builtin.Ctx) []string {
	if v, ok := c.(interface{ VarNames() []string }); ok {
		return v.VarNames()
	}
	vars := c.Vars()
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sourceCheck tells whether the files an entry was made from still read
// as they did. Reading every file of a module (its library's included)
// at every stage was most of what a cached stage still cost; a file
// whose status (size, modification and change times, inode) is the one
// it had when it last read the same is not read again. Only a status
// taken when the file had not changed for racyWindow is kept: a write
// later than that changes the change time, which nothing but a write
// sets, even when the size and the modification time stay the same.
type sourceCheck struct {
	mu     sync.Mutex
	stamps map[string]fileStamp
}

// racyWindow is how long a file must have been left alone before its
// status stands for its content (a timestamp's granularity, with room).
var racyWindow = 2 * time.Second

// readSource reads a file to compare it (a variable for the test that
// counts the reads).
var readSource = os.ReadFile

// same reports whether every file still reads as srcs has it.
func (fc *sourceCheck) same(srcs diag.SourceMap) bool {
	if len(srcs) == 0 {
		return false
	}
	for p, b := range srcs {
		st, ok := stampOf(p)
		if ok {
			fc.mu.Lock()
			old, seen := fc.stamps[p]
			fc.mu.Unlock()
			if seen && old == st {
				continue
			}
		}
		now, err := readSource(p)
		if err != nil || !bytes.Equal(now, b) {
			return false
		}
		if ok && st.settled(time.Now().Add(-racyWindow)) {
			fc.mu.Lock()
			if fc.stamps == nil {
				fc.stamps = map[string]fileStamp{}
			}
			fc.stamps[p] = st
			fc.mu.Unlock()
		}
	}
	return true
}
