// Package diag holds the one position type and the one diagnostic type used
// by every phase of gxl (lexer, parser, checker, system loader, runtime), and
// the renderer that prints them. Phases collect diagnostics as values and
// return them; nothing deep inside a phase prints.
package diag

import (
	"fmt"
	"sort"
	"sync"
)

// Pos is a position in a source file. Line and Col are 1-based; Col counts
// bytes. Offset is the 0-based byte offset. The zero Pos means "unknown".
type Pos struct {
	File   string `json:"file"`
	Offset int    `json:"offset"`
	Line   int    `json:"line"`
	Col    int    `json:"col"`
}

// IsValid reports whether p names a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String renders p as file:line:col.
func (p Pos) String() string {
	if !p.IsValid() {
		if p.File != "" {
			return p.File
		}
		return "-"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Before reports whether p sorts before q (file, then offset).
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Advance returns the position reached after reading text from p.
func (p Pos) Advance(text string) Pos {
	for i := 0; i < len(text); i++ {
		p.Offset++
		if text[i] == '\n' {
			p.Line++
			p.Col = 1
		} else {
			p.Col++
		}
	}
	return p
}

// Span is a half-open source range [Start, End).
type Span struct {
	Start Pos `json:"start"`
	End   Pos `json:"end"`
}

// Span returns s itself, so that a Span can be used where a node is expected.
func (s Span) Span() Span { return s }

// IsValid reports whether the span has a real start.
func (s Span) IsValid() bool { return s.Start.IsValid() }

// String renders the start of the span.
func (s Span) String() string { return s.Start.String() }

// Join returns the smallest span covering a and b.
func Join(a, b Span) Span {
	if !a.IsValid() {
		return b
	}
	if !b.IsValid() {
		return a
	}
	out := a
	if b.Start.Before(a.Start) {
		out.Start = b.Start
	}
	if a.End.Before(b.End) {
		out.End = b.End
	}
	return out
}

// Severity ranks a diagnostic.
type Severity int

// Severities, most severe first.
const (
	Error Severity = iota
	Warning
	Note
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "note"
	}
}

// MarshalText makes severities appear as words in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity written by MarshalText (a diagnostic kept
// in a run journal).
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "note":
		*s = Note
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Related is a secondary location attached to a diagnostic ("first defined here").
type Related struct {
	Span    Span   `json:"span"`
	Message string `json:"message"`
}

// Diagnostic is one problem found in a source file.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	// Code names the class of problem (for example "unknown-flow"); tests and
	// tools match on it, and the JSON output carries it.
	Code    string    `json:"code"`
	Summary string    `json:"summary"`
	Span    Span      `json:"span"`
	Hint    string    `json:"hint,omitempty"`
	Related []Related `json:"related,omitempty"`
	// Notes are further lines of context, each "label: text" (a run
	// failure's flow stack, how to resume it); they are rendered after
	// the hint as "= label: text".
	Notes []string `json:"notes,omitempty"`
	// Fix is the edit a did-you-mean hint suggests (Suggest): editors
	// offer it as a code action (gxl lsp).
	Fix *Fix `json:"fix,omitempty"`
}

// Fix replaces the text Old at Span with New.
type Fix struct {
	Span Span   `json:"span"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Slice returns the part [from, to) of a span that lies on one line
// (a name or a dotted path), in bytes from its start.
func (s Span) Slice(from, to int) Span {
	out := Span{Start: s.Start, End: s.Start}
	out.Start.Offset += from
	out.Start.Col += from
	out.End.Offset += to
	out.End.Col += to
	return out
}

// Error makes a Diagnostic usable as an error value (one line, no snippet;
// the summary alone when it has no file: it is about the command line).
func (d Diagnostic) Error() string {
	s := d.Summary
	if d.Span.Start.File != "" {
		s = fmt.Sprintf("%s: %s: %s", d.Span.Start, d.Severity, d.Summary)
	}
	if d.Hint != "" {
		s += " (hint: " + d.Hint + ")"
	}
	return s
}

// Errorf builds an error diagnostic.
func Errorf(sp Span, code, format string, args ...any) Diagnostic {
	return Diagnostic{Severity: Error, Code: code, Summary: fmt.Sprintf(format, args...), Span: sp}
}

// Warnf builds a warning diagnostic.
func Warnf(sp Span, code, format string, args ...any) Diagnostic {
	return Diagnostic{Severity: Warning, Code: code, Summary: fmt.Sprintf(format, args...), Span: sp}
}

// WithHint returns d with a hint.
func (d Diagnostic) WithHint(format string, args ...any) Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// WithRelated returns d with a related location.
func (d Diagnostic) WithRelated(sp Span, format string, args ...any) Diagnostic {
	d.Related = append(append([]Related(nil), d.Related...), Related{Span: sp, Message: fmt.Sprintf(format, args...)})
	return d
}

// WithNote returns d with one more note.
func (d Diagnostic) WithNote(format string, args ...any) Diagnostic {
	d.Notes = append(append([]string(nil), d.Notes...), fmt.Sprintf(format, args...))
	return d
}

// List is a collection of diagnostics.
type List []Diagnostic

// Add appends diagnostics.
func (l *List) Add(ds ...Diagnostic) { *l = append(*l, ds...) }

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (l List) Errors() List {
	var out List
	for _, d := range l {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the list as an error when it holds errors, else nil.
func (l List) Err() error {
	if l.HasErrors() {
		return ListError(l.Normalize())
	}
	return nil
}

// Normalize returns a sorted copy with exact duplicates removed.
func (l List) Normalize() List {
	out := append(List(nil), l...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Span.Start != b.Span.Start {
			if !a.Span.Start.IsValid() || !b.Span.Start.IsValid() {
				return a.Span.Start.IsValid() && !b.Span.Start.IsValid() || (a.Span.Start.File < b.Span.Start.File)
			}
			return a.Span.Start.Before(b.Span.Start)
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return a.Summary < b.Summary
	})
	dedup := out[:0]
	for i, d := range out {
		if i > 0 && sameDiag(d, out[i-1]) {
			continue
		}
		dedup = append(dedup, d)
	}
	return dedup
}

func sameDiag(a, b Diagnostic) bool {
	return a.Severity == b.Severity && a.Code == b.Code && a.Summary == b.Summary &&
		a.Span.Start == b.Span.Start && a.Hint == b.Hint
}

// ListError is a List used as an error.
type ListError List

func (e ListError) Error() string {
	if len(e) == 0 {
		return "no diagnostics"
	}
	s := e[0].Error()
	if len(e) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(e)-1)
	}
	return s
}

// Seen remembers diagnostics by file, position and code: a file checked
// again during a run (for each module that loads it, for each stage) has
// its warnings reported once.
type Seen struct {
	mu sync.Mutex
	m  map[seenKey]bool
}

type seenKey struct {
	pos  Pos
	code string
}

// New returns the diagnostics of l not seen before, and remembers them.
func (s *Seen) New(l List) List {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[seenKey]bool{}
	}
	var out List
	for _, d := range l {
		k := seenKey{d.Span.Start, d.Code}
		if s.m[k] {
			continue
		}
		s.m[k] = true
		out = append(out, d)
	}
	return out
}
