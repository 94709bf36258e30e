// Package runtime executes linked GXL programs (lang/check.Program): it
// builds the execution plan of a selection (envs, module properties, entry
// and exit flows, pipelines, dry-run substitutes, undo expansions), then
// runs it step by step with a flat case-insensitive variable space, a
// journal that survives crashes, and hooks for the debugger.
package runtime

import (
	"sort"
	"strings"
	"sync"

	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/value"
)

// Scope is the flat, case-insensitive variable space of a run (§4.7).
//
// A clone shares its parent's variables instead of copying them (a run
// clones its variables for every top flow, every nested run, every
// module of a stage: under `gxl operate` a probe run did it four times a
// second, copying a hundred variables each time): the variables are a
// frozen layer (base), shared and never written, under the scope's own
// changes (vars, where a variable deleted from the base is an entry that
// is gone). Clone freezes a scope with many own changes into a new layer
// once, and the clones of that scope share it until it changes again.
type Scope struct {
	vars map[string]entry // folded name → entry: the changes over base
	base *layer           // shared, read-only; nil: none
	// gen changes whenever a secret value is set or replaced, so the
	// masker can be cached.
	gen int
	// The masker of gen. Guarded by mu: the loggers of nested runs that
	// run in parallel read it while this scope's owner waits.
	mu      sync.Mutex
	masker  *mask.Set
	maskGen int
	// ver changes with every change, so what is derived from all the
	// variables (the environment of commands) can be cached.
	ver uint64
	// trk collects the folded names changed while tracking (the journal's
	// delta of one statement); nil when not tracking.
	trk map[string]struct{}
	// pinned are the folded names given with --set (Pin): they keep
	// their value whatever the run assigns to them. Shared by clones,
	// never changed after Bootstrap.
	pinned map[string]bool
	// frozen is the layer Clone made of this scope at version frozenVer
	// (guarded by mu: the modules of a stage clone their caller's scope
	// in parallel).
	frozen    *layer
	frozenVer uint64
}

// layer is a frozen set of variables, shared by the scopes made from it.
type layer struct {
	vars map[string]entry
}

type entry struct {
	name string
	v    value.Value
	gone bool // deleted: hides the base's entry
}

// cloneShares is how many own changes a clone copies; a scope with more
// is frozen into a new layer (once per version) that its clones share.
const cloneShares = 16

// NewScope returns an empty scope.
func NewScope() *Scope { return &Scope{vars: map[string]entry{}} }

// Get looks a variable up by name, case-insensitively.
func (s *Scope) Get(name string) (value.Value, bool) {
	e, ok := s.lookup(value.Fold(name))
	return e.v, ok
}

// lookup finds the entry of a folded name: the scope's own change, else
// the base's.
func (s *Scope) lookup(f string) (entry, bool) {
	if e, ok := s.vars[f]; ok {
		return e, !e.gone
	}
	if s.base != nil {
		e, ok := s.base.vars[f]
		return e, ok
	}
	return entry{}, false
}

// each calls fn with every variable (in no order).
func (s *Scope) each(fn func(f string, e entry)) {
	for f, e := range s.vars {
		if !e.gone {
			fn(f, e)
		}
	}
	if s.base != nil {
		for f, e := range s.base.vars {
			if _, own := s.vars[f]; !own {
				fn(f, e)
			}
		}
	}
}

// size is about the number of variables (for capacities).
func (s *Scope) size() int {
	n := len(s.vars)
	if s.base != nil {
		n += len(s.base.vars)
	}
	return n
}

// Set defines or replaces a variable. Names starting with SEC_ are secret,
// and so is a value whose text holds the text of a secret in scope (the
// output of a command that printed one, spec I.4).
func (s *Scope) Set(name string, v value.Value) {
	if s.pinned[value.Fold(name)] {
		return
	}
	s.set(name, v)
}

// Pin sets a variable given with --set: it wins over everything the run
// would assign to it later — env and module properties, files of settings
// read by gx.vars or gx.read_file, assignments — as terraform's -var wins
// over defaults and variable files. Bootstrap pins the --set values last.
func (s *Scope) Pin(name string, v value.Value) {
	s.set(name, v)
	pinned := make(map[string]bool, len(s.pinned)+1)
	for k := range s.pinned {
		pinned[k] = true
	}
	pinned[value.Fold(name)] = true
	s.pinned = pinned
}

// Replace sets a variable even when it is pinned (keeping the pin): the
// user at the debugger prompt (:set, a hook) overrides --set as --set
// overrides the program.
func (s *Scope) Replace(name string, v value.Value) { s.set(name, v) }

func (s *Scope) set(name string, v value.Value) {
	if strings.HasPrefix(strings.ToUpper(name), "SEC_") {
		v = v.AsSecret()
	}
	if m := s.Masker(); m.Len() > 0 {
		v = value.Taint(v, m.Contains)
	}
	s.put(name, v)
}

// put sets a variable as it is: not marked by the secrets in scope (the
// predefined variables, set before the secrets are).
func (s *Scope) put(name string, v value.Value) {
	f := value.Fold(name)
	if old, ok := s.lookup(f); ok {
		name = old.name
		if old.v.Secret() {
			s.gen++
		}
	}
	if v.Secret() {
		s.gen++
	}
	s.vars[f] = entry{name: name, v: v}
	s.ver++
	if s.trk != nil {
		s.trk[f] = struct{}{}
	}
}

// Delete removes a variable.
func (s *Scope) Delete(name string) {
	f := value.Fold(name)
	if s.pinned[f] {
		return
	}
	old, ok := s.lookup(f)
	if ok && old.v.Secret() {
		s.gen++
	}
	if _, inBase := s.base.get(f); inBase {
		s.vars[f] = entry{gone: true}
	} else {
		delete(s.vars, f)
	}
	s.ver++
	if s.trk != nil {
		s.trk[f] = struct{}{}
	}
}

// track starts recording which variables change.
func (s *Scope) track() { s.trk = map[string]struct{}{} }

// untrack stops recording and returns the folded names changed, sorted.
func (s *Scope) untrack() []string {
	out := make([]string, 0, len(s.trk))
	for f := range s.trk {
		out = append(out, f)
	}
	s.trk = nil
	sort.Strings(out)
	return out
}

func (l *layer) get(f string) (entry, bool) {
	if l == nil {
		return entry{}, false
	}
	e, ok := l.vars[f]
	return e, ok
}

// Clone returns an independent copy (values are immutable): changes to
// either are not seen by the other. The copy shares the frozen layer of
// the variables and copies at most cloneShares own changes.
func (s *Scope) Clone() *Scope {
	c := &Scope{gen: s.gen + 1, pinned: s.pinned}
	s.mu.Lock()
	if s.frozen != nil && s.frozenVer == s.ver {
		c.base = s.frozen
	} else if len(s.vars) <= cloneShares {
		c.base = s.base
		c.vars = make(map[string]entry, len(s.vars)+4)
		for k, e := range s.vars {
			c.vars[k] = e
		}
	} else {
		l := &layer{vars: make(map[string]entry, s.size())}
		s.each(func(f string, e entry) { l.vars[f] = e })
		s.frozen, s.frozenVer = l, s.ver
		c.base = l
	}
	// The same secrets: the copy starts with the masker already built.
	if s.masker != nil && s.maskGen == s.gen {
		c.masker, c.maskGen = s.masker, c.gen
	}
	s.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]entry{}
	}
	return c
}

// Names returns the variable names (as first written), sorted.
func (s *Scope) Names() []string {
	out := make([]string, 0, s.size())
	s.each(func(_ string, e entry) { out = append(out, e.name) })
	sort.Strings(out)
	return out
}

// Map returns a snapshot of all variables by name.
func (s *Scope) Map() map[string]value.Value {
	out := make(map[string]value.Value, s.size())
	s.each(func(_ string, e entry) { out[e.name] = e.v })
	return out
}

// Lookup resolves a path "A.B[0]" among the variables.
func (s *Scope) Lookup(path string) (value.Value, bool) {
	if v, ok := s.Get(path); ok {
		return v, true
	}
	segs, err := value.ParsePath(path)
	if err != nil || len(segs) == 0 {
		return value.Value{}, false
	}
	root, ok := s.Get(segs[0].Key)
	if !ok {
		return value.Value{}, false
	}
	return value.Walk(root, segs[1:])
}

// Masker returns the masker of the secret values in scope.
func (s *Scope) Masker() *mask.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.masker == nil || s.maskGen != s.gen {
		s.masker, s.maskGen = mask.New(s.secrets()...), s.gen
	}
	return s.masker
}

// Mask replaces the text of every secret value in s with ***, as the
// runtime does for everything it prints.
func (s *Scope) Mask(text string) string {
	return s.Masker().String(text)
}

// secrets returns the text of every secret scalar.
func (s *Scope) secrets() []string {
	var out []string
	var walk func(v value.Value, secret bool)
	walk = func(v value.Value, secret bool) {
		if !secret && !v.Secret() {
			return
		}
		secret = secret || v.Marked()
		switch v.Kind() {
		case value.KList:
			for _, e := range v.ListVal() {
				walk(e, secret)
			}
		case value.KObject:
			for _, e := range v.ObjVal().Values() {
				walk(e, secret)
			}
		default:
			out = append(out, v.String())
		}
	}
	s.each(func(_ string, e entry) { walk(e.v, false) })
	return out
}
