// Package mask hides secret values in text gxl prints or stores (spec
// I.4). A Set holds the texts of the secrets in scope; its String method
// masks a whole string, its Writer masks a stream that may bring a secret
// in several pieces (a command printing "hun", sleeping, then "ter2").
// Both apply one rule: every byte that belongs to an occurrence of any
// secret is hidden, and each run of hidden bytes is shown as one "***".
// Overlapping secrets and secrets that are prefixes of one another are
// therefore hidden completely, whichever is found first.
//
// The package sits below the runtime (it imports no gxl package) so the
// runtime, the built-ins, the REPL and the CLI share the one
// implementation.
package mask

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// Replacement is what a run of secret bytes is shown as.
const Replacement = "***"

// MinLen is the length below which a secret value is not masked: hiding
// every "a" or "1" of the output would make it unreadable and would tell
// the secret anyway.
const MinLen = 3

// Set is an immutable set of secret texts. The nil or empty Set masks
// nothing.
type Set struct {
	secrets []string // longest first, unique, each at least MinLen long
	max     int      // length of the longest
}

// New makes a Set of the given texts; texts shorter than MinLen and
// duplicates are dropped.
func New(texts ...string) *Set {
	seen := map[string]bool{}
	s := &Set{}
	for _, t := range texts {
		if len(t) < MinLen || seen[t] {
			continue
		}
		seen[t] = true
		s.secrets = append(s.secrets, t)
		s.max = max(s.max, len(t))
	}
	sort.Slice(s.secrets, func(i, j int) bool {
		if len(s.secrets[i]) != len(s.secrets[j]) {
			return len(s.secrets[i]) > len(s.secrets[j])
		}
		return s.secrets[i] < s.secrets[j]
	})
	return s
}

// Len is the number of secret texts.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.secrets)
}

// Texts returns the secret texts, longest first.
func (s *Set) Texts() []string {
	if s == nil {
		return nil
	}
	return s.secrets
}

// Contains reports whether text contains any of the secrets.
func (s *Set) Contains(text string) bool {
	if s == nil {
		return false
	}
	for _, sec := range s.secrets {
		if strings.Contains(text, sec) {
			return true
		}
	}
	return false
}

// String returns text with every secret hidden.
func (s *Set) String(text string) string {
	if !s.Contains(text) {
		return text
	}
	var b strings.Builder
	m := masker{set: s}
	m.emit(&b, text, len(text))
	return b.String()
}

// masker is the state shared by String and Writer: how far the bytes not
// yet emitted are already known to be secret, and whether the last byte
// emitted was hidden (so a run continuing across writes gets one ***).
type masker struct {
	set    *Set
	carry  int // the first carry bytes of the pending text are secret
	inRun  bool
	hidden []bool // scratch
}

// emit writes the first n bytes of text, masked, to w, and remembers how
// far past n the secrets found reach. Every occurrence starting before n
// must lie wholly inside text (the caller holds back what could still
// start one).
func (m *masker) emit(w io.StringWriter, text string, n int) error {
	if cap(m.hidden) < len(text) {
		m.hidden = make([]bool, len(text))
	}
	hidden := m.hidden[:len(text)]
	for i := range hidden {
		hidden[i] = i < m.carry
	}
	reach := 0
	for _, sec := range m.set.Texts() {
		for from := 0; from < n; {
			i := strings.Index(text[from:], sec)
			if i < 0 || from+i >= n {
				break
			}
			start := from + i
			for k := start; k < start+len(sec); k++ {
				hidden[k] = true
			}
			reach = max(reach, start+len(sec))
			from = start + 1
		}
	}
	m.carry = max(reach-n, m.carry-n, 0)
	last := 0
	for i := 0; i < n; i++ {
		if !hidden[i] {
			if m.inRun {
				m.inRun = false
				last = i
			}
			continue
		}
		if !m.inRun {
			if _, err := w.WriteString(text[last:i]); err != nil {
				return err
			}
			if _, err := w.WriteString(Replacement); err != nil {
				return err
			}
			m.inRun = true
		}
	}
	if !m.inRun {
		_, err := w.WriteString(text[last:n])
		return err
	}
	return nil
}

// holdFrom returns where the tail of text that could still be the start
// of a secret begins (len(text) when no tail could).
func (s *Set) holdFrom(text string) int {
	for i := max(0, len(text)-s.max+1); i < len(text); i++ {
		tail := text[i:]
		for _, sec := range s.secrets {
			if len(sec) > len(tail) && strings.HasPrefix(sec, tail) {
				return i
			}
		}
	}
	return len(text)
}

// Writer masks a stream: it holds back at most the longest secret's
// length minus one bytes — only a tail that could still start a secret —
// and passes everything else on at once. Close (or Flush) passes the
// held tail on; call it when the stream ends. A Writer is safe for
// concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	m       masker
	pending []byte
	err     error
}

// Writer returns a masking writer to w. With no secrets, w is wrapped
// anyway so callers can Close it alike.
func (s *Set) Writer(w io.Writer) *Writer {
	return &Writer{w: w, m: masker{set: s}}
}

// Write masks p (with what earlier writes held back) and passes on what
// can no longer be part of a secret. It reports len(p) unless the
// underlying writer failed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.m.set.Len() == 0 {
		n, err := w.w.Write(p)
		w.err = err
		return n, err
	}
	w.pending = append(w.pending, p...)
	if err := w.drain(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// drain passes on the pending bytes that can no longer start a secret,
// or all of them when final.
func (w *Writer) drain(final bool) error {
	text := string(w.pending)
	n := len(text)
	if !final {
		n = w.m.set.holdFrom(text)
	}
	if n == 0 {
		return nil
	}
	var b strings.Builder
	if err := w.m.emit(&b, text, n); err != nil {
		return err
	}
	w.pending = append(w.pending[:0], text[n:]...)
	if b.Len() > 0 {
		if _, err := io.WriteString(w.w, b.String()); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// Flush passes on the held-back tail: the stream is at an end (a command
// finished), so a partial secret there is only text.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(w.pending) == 0 {
		return nil
	}
	err := w.drain(true)
	w.m.inRun = false
	w.m.carry = 0
	return err
}

// Close flushes; it does not close the underlying writer.
func (w *Writer) Close() error { return w.Flush() }
