package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// defaultFile is the original tool's default workflow file.
const defaultFile = "_gal/work.gxl"

// isTerminal reports whether w is a terminal (colour only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
