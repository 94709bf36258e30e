package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"github.com/rivo/uniseg"
)

// Sources gives the renderer the text of the files diagnostics point into.
type Sources interface {
	// Source returns the content of the named file, or nil if unknown.
	Source(file string) []byte
}

// SourceMap is a Sources backed by a map.
type SourceMap map[string][]byte

// Source implements Sources.
func (m SourceMap) Source(file string) []byte { return m[file] }

// FileSources reads files from disk on demand (and caches them). It is the
// fallback used by the CLI for files it did not load itself.
type FileSources struct {
	mu    sync.Mutex
	known SourceMap
}

// Add registers a file's content.
func (f *FileSources) Add(file string, src []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = SourceMap{}
	}
	f.known[file] = src
}

// Source implements Sources.
func (f *FileSources) Source(file string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if src, ok := f.known[file]; ok {
		return src
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	if f.known == nil {
		f.known = SourceMap{}
	}
	f.known[file] = src
	return src
}

// RenderOptions controls text rendering.
type RenderOptions struct {
	Color bool // ANSI colours; only when writing to a terminal
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[1;36m"
	ansiBlue   = "\x1b[1;34m"
)

// Render writes the normalized diagnostics as text:
//
//	path:line:col: error: summary
//	   12 | flow deploy : bulid {
//	      |               ^^^^^
//	      = hint: did you mean `build`?
//
// A summary of several lines (a failed command's error output) shows its
// first line in the header and the others, indented, below the source
// line. Notes follow the hint, one "= note" line each.
func Render(w io.Writer, l List, src Sources, opt RenderOptions) {
	for i, d := range l.Normalize() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		RenderOne(w, d, src, opt)
	}
}

// RenderOne writes a single diagnostic.
func RenderOne(w io.Writer, d Diagnostic, src Sources, opt RenderOptions) {
	c := func(code, s string) string {
		if !opt.Color {
			return s
		}
		return code + s + ansiReset
	}
	sevColor := ansiRed
	if d.Severity == Warning {
		sevColor = ansiYellow
	} else if d.Severity == Note {
		sevColor = ansiCyan
	}
	first, rest, _ := strings.Cut(d.Summary, "\n")
	first = clip(first)
	// A diagnostic with no file is about the command line (a flow or env
	// name, a --set): no position to show.
	if d.Span.Start.File == "" {
		fmt.Fprintf(w, "%s: %s\n", c(sevColor, d.Severity.String()), c(ansiBold, first))
	} else {
		fmt.Fprintf(w, "%s: %s: %s\n", c(ansiBold, d.Span.Start.String()), c(sevColor, d.Severity.String()), c(ansiBold, first))
	}
	snippet(w, d.Span, src, sevColor, c)
	if rest != "" {
		for _, l := range strings.Split(strings.TrimRight(rest, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", clip(l))
		}
	}
	for _, r := range d.Related {
		fmt.Fprintf(w, "  %s: %s: %s\n", c(ansiBold, r.Span.Start.String()), c(ansiCyan, "note"), clip(r.Message))
		snippet(w, r.Span, src, ansiCyan, c)
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "  %s %s\n", c(ansiBlue, "= hint:"), clip(d.Hint))
	}
	for _, n := range d.Notes {
		fmt.Fprintf(w, "  %s %s\n", c(ansiBlue, "="), clip(n))
	}
}

// maxMessage is how many bytes of one line of a message the text renderer
// shows: a message that quotes a value (an assert of a 1 MB string) shows
// its start and end, not megabytes. JSON keeps the whole message.
const maxMessage = 1000

// clip shortens a line of a message longer than maxMessage to its first
// and last bytes, cut at characters, with what was left out counted.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	head, tail := maxMessage*4/5, maxMessage/5
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	from := len(s) - tail
	for from < len(s) && !utf8.RuneStart(s[from]) {
		from++
	}
	return fmt.Sprintf("%s…(%d bytes left out)…%s", s[:head], from-head, s[from:])
}

// snippet prints the source line of sp with an underline below the culprit.
func snippet(w io.Writer, sp Span, src Sources, color string, c func(string, string) string) {
	if !sp.Start.IsValid() || src == nil {
		return
	}
	text := src.Source(sp.Start.File)
	if text == nil {
		return
	}
	line, ok := lineAt(text, sp.Start.Line)
	if !ok {
		return
	}
	line = strings.TrimRight(line, "\r")
	num := fmt.Sprintf("%d", sp.Start.Line)
	pad := strings.Repeat(" ", len(num))
	startCol := sp.Start.Col
	if startCol < 1 {
		startCol = 1
	}
	if startCol > len(line)+1 {
		startCol = len(line) + 1
	}
	endCol := startCol + 1
	if sp.End.IsValid() && sp.End.Line == sp.Start.Line && sp.End.Col > startCol {
		endCol = sp.End.Col
	} else if sp.End.IsValid() && sp.End.Line > sp.Start.Line {
		endCol = len(line) + 1
	}
	if endCol > len(line)+1 {
		endCol = len(line) + 1
	}
	if endCol <= startCol {
		endCol = startCol + 1
	}
	shown, lead, width := window(line, startCol, endCol)
	fmt.Fprintf(w, " %s %s %s\n", c(ansiBlue, num), c(ansiBlue, "|"), shown)
	fmt.Fprintf(w, " %s %s %s%s\n", pad, c(ansiBlue, "|"), strings.Repeat(" ", lead), c(color, strings.Repeat("^", width)))
}

// snippetWidth is how many columns of a source line a snippet shows at
// most: a longer line is cut to a window around the caret, with "…" where
// text was left out.
const snippetWidth = 120

// window returns the text shown for line and the caret's lead and width in
// terminal columns, for the byte columns [startCol, endCol). The line is cut
// into what a terminal draws as one character (a grapheme cluster: é
// written with a combining accent, 👍🏽) and each is measured in columns (two
// for CJK and emoji, go-runewidth's tables, East Asian ambiguous characters
// as one), so the caret stays under its character. Tabs show as one space,
// bytes that are not UTF-8 as U+FFFD and control characters as their
// symbols (␀, ␛: a source line never sends the terminal an escape
// sequence), so the caret lines up and the terminal never receives broken
// text.
func window(line string, startCol, endCol int) (shown string, lead, width int) {
	type cell struct {
		text  string
		col   int // first column
		width int
	}
	var cells []cell
	total := 0
	g := uniseg.NewGraphemes(line)
	for g.Next() {
		from, to := g.Positions()
		text, w := drawn(line[from:to])
		if from < startCol-1 {
			lead += w
		} else if from < endCol-1 {
			width += w
		}
		cells = append(cells, cell{text, total, w})
		total += w
	}
	if width < 1 {
		width = 1
	}
	join := func(cs []cell) string {
		var b strings.Builder
		for _, c := range cs {
			b.WriteString(c.text)
		}
		return b.String()
	}
	if total <= snippetWidth {
		return join(cells), lead, width
	}
	// Keep a third of the window before the caret, and the caret itself;
	// a character cut by an edge of the window is left out whole.
	from := max(0, lead-snippetWidth/3)
	to := min(total, from+snippetWidth)
	if to-from < snippetWidth {
		from = max(0, to-snippetWidth)
	}
	i := sort.Search(len(cells), func(i int) bool { return cells[i].col >= from })
	j := sort.Search(len(cells), func(j int) bool { return cells[j].col+cells[j].width > to })
	if i < len(cells) {
		from = cells[i].col
	}
	width = max(1, min(width, to-lead))
	shown = join(cells[i:max(i, j)])
	lead -= from
	if i > 0 {
		shown = "…" + shown
		lead++
	}
	if j < len(cells) {
		shown += "…"
	}
	return shown, lead, width
}

// cells measures characters (go-runewidth) the same way on every machine:
// East Asian ambiguous characters are one column, whatever the locale.
var cells = &runewidth.Condition{EastAsianWidth: false}

// drawn is how a snippet shows one grapheme cluster g of a source line,
// and its width in columns.
func drawn(g string) (string, int) {
	r, n := utf8.DecodeRuneInString(g)
	switch {
	case r == utf8.RuneError && n <= 1:
		return "\uFFFD", 1
	case r == '\t':
		return " ", 1
	case r < 0x20:
		return string(rune(0x2400 + r)), 1 // ␀ … ␟
	case r == 0x7f:
		return "\u2421", 1 // ␡
	case r >= 0x80 && r <= 0x9f:
		return "\uFFFD", 1
	}
	if !utf8.ValidString(g) {
		// A character followed by bytes that are not UTF-8: each shown
		// on its own.
		var b strings.Builder
		w := 0
		for i := 0; i < len(g); {
			_, n := utf8.DecodeRuneInString(g[i:])
			t, cw := drawn(g[i : i+n])
			b.WriteString(t)
			w += cw
			i += n
		}
		return b.String(), w
	}
	return g, cells.StringWidth(g)
}

func safeSlice(s string, from, to int) string {
	if from < 0 {
		from = 0
	}
	if to > len(s) {
		to = len(s)
	}
	if from >= to {
		return ""
	}
	return s[from:to]
}

func lineAt(text []byte, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(text, '\n')
		if j < 0 {
			return "", false
		}
		text = text[j+1:]
	}
	if j := bytes.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return string(text), true
}

// RenderJSON writes the normalized diagnostics as a JSON array.
func RenderJSON(w io.Writer, l List) error {
	n := l.Normalize()
	if n == nil {
		n = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(n)
}

// Summary returns "N errors, M warnings" for the list.
func Summary(l List) string {
	var e, wn int
	for _, d := range l.Normalize() {
		switch d.Severity {
		case Error:
			e++
		case Warning:
			wn++
		}
	}
	return fmt.Sprintf("%d %s, %d %s", e, plural(e, "error"), wn, plural(wn, "warning"))
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
