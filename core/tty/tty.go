// Package tty is the one place that decides what a stream of gxl's
// output can show: colour (ANSI SGR sequences) and live lines (a status
// line redrawn in place). Every renderer of gxl — the log encoder, the
// diagnostic renderer (core/diag), the flow menu, the debugger and the
// progress display — asks here, so `--color`, NO_COLOR and TERM=dumb mean
// the same thing everywhere.
package tty

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Mode is the --color setting.
type Mode int

// The --color settings.
const (
	// Auto colours a terminal, unless NO_COLOR is set (https://no-color.org)
	// or TERM is dumb.
	Auto Mode = iota
	// Always colours every stream, a pipe too (for `| less -R`).
	Always
	// Never colours nothing.
	Never
)

// Modes are the words --color accepts, in the order of the constants.
var Modes = []string{"auto", "always", "never"}

func (m Mode) String() string { return Modes[m] }

// ParseMode reads a --color value.
func ParseMode(s string) (Mode, error) {
	for i, w := range Modes {
		if s == w {
			return Mode(i), nil
		}
	}
	return Auto, fmt.Errorf("--color must be auto, always or never, not %q", s)
}

// Fd is what a stream must have to be asked whether it is a terminal
// (*os.File has it).
type Fd interface{ Fd() uintptr }

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(Fd)
	return ok && term.IsTerminal(int(f.Fd()))
}

// dumb reports TERM=dumb: a terminal that understands no escape sequence.
func dumb() bool { return os.Getenv("TERM") == "dumb" }

// Color decides whether output written to w is coloured. Always and Never
// are the user's explicit choice on the command line and win over the
// environment (as no-color.org asks: a per-invocation flag overrides
// NO_COLOR). Auto colours only a terminal, and never when NO_COLOR is set
// to anything but the empty string or TERM is dumb.
func Color(w io.Writer, m Mode) bool {
	switch m {
	case Always:
		return true
	case Never:
		return false
	}
	return os.Getenv("NO_COLOR") == "" && !dumb() && IsTerminal(w)
}

// Live reports whether w can show live lines (a status line redrawn in
// place with carriage returns and erase sequences): a terminal that is
// not dumb. Colour plays no part: NO_COLOR and --color never still show
// live lines, without colour.
func Live(w io.Writer) bool { return !dumb() && IsTerminal(w) }

// Width is the width of the terminal w in columns, 0 when unknown.
func Width(w io.Writer) int {
	f, ok := w.(Fd)
	if !ok {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}
