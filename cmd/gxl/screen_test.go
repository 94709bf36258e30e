package main

import (
	"strconv"
	"strings"
)

// screen is a small model of a terminal, enough for what gxl and its line
// editor write: text, \r \n \b \t, and the CSI sequences for cursor moves
// (A B C D G) and erasing (K J); colours, modes and OSC titles are
// ignored. It keeps every line ever written (no scrolling off the top),
// so tests can read the whole session as a person would have seen it.
type screen struct {
	rows   [][]rune
	r, c   int
	width  int
	esc    []byte // an escape sequence being read
	inEsc  bool
	inOSC  bool
	pendCR bool
}

func newScreen(width int) *screen { return &screen{rows: [][]rune{nil}, width: width} }

func (s *screen) row() []rune {
	for s.r >= len(s.rows) {
		s.rows = append(s.rows, nil)
	}
	return s.rows[s.r]
}

func (s *screen) put(ch rune) {
	if s.c >= s.width {
		s.r++
		s.c = 0
	}
	row := s.row()
	for len(row) <= s.c {
		row = append(row, ' ')
	}
	row[s.c] = ch
	s.rows[s.r] = row
	s.c++
}

func (s *screen) write(p []byte) {
	for _, ch := range string(p) {
		switch {
		case s.inOSC:
			if ch == '\a' {
				s.inOSC = false
			}
		case s.inEsc:
			s.escape(ch)
		case ch == 0x1b:
			s.inEsc, s.esc = true, nil
		case ch == '\r':
			s.c = 0
		case ch == '\n':
			s.r++
			s.row()
		case ch == '\b':
			if s.c > 0 {
				s.c--
			}
		case ch == '\t':
			s.c = (s.c/8 + 1) * 8
		case ch == '\a' || ch < 0x20:
		default:
			s.put(ch)
		}
	}
}

// escape reads one more character of an escape sequence.
func (s *screen) escape(ch rune) {
	if len(s.esc) == 0 {
		switch ch {
		case '[':
			s.esc = append(s.esc, '[')
		case ']':
			s.inEsc, s.inOSC = false, true
		default:
			s.inEsc = false // a two-character sequence: ignored
		}
		return
	}
	if ch >= 0x40 && ch <= 0x7e {
		s.inEsc = false
		s.csi(string(s.esc[1:]), ch)
		return
	}
	s.esc = append(s.esc, byte(ch))
}

func (s *screen) csi(params string, final rune) {
	n := 1
	if v, err := strconv.Atoi(strings.Split(strings.TrimPrefix(params, "?"), ";")[0]); err == nil {
		n = v
	}
	switch final {
	case 'A':
		s.r = max(0, s.r-n)
	case 'B':
		s.r += n
		s.row()
	case 'C':
		s.c = min(s.width-1, s.c+n)
	case 'D':
		s.c = max(0, s.c-n)
	case 'G':
		s.c = max(0, n-1)
	case 'K':
		row := s.row()
		mode := 0
		if params != "" {
			mode, _ = strconv.Atoi(params)
		}
		switch mode {
		case 0:
			if s.c < len(row) {
				s.rows[s.r] = row[:s.c]
			}
		case 1:
			for i := 0; i < s.c && i < len(row); i++ {
				row[i] = ' '
			}
		case 2:
			s.rows[s.r] = nil
		}
	case 'J':
		row := s.row()
		if s.c < len(row) {
			s.rows[s.r] = row[:s.c]
		}
		s.rows = s.rows[:s.r+1]
	}
}

// text is the whole screen, trailing blanks trimmed.
func (s *screen) text() string {
	var b strings.Builder
	for i, r := range s.rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimRight(string(r), " "))
	}
	return b.String()
}

// line is the text of the cursor's line.
func (s *screen) line() string {
	return strings.TrimRight(string(s.row()), " ")
}
