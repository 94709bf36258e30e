package main

import (
	"io"

	"github.com/gxl-dev/gxl/core/tty"
)

// defaultFile is the original tool's default workflow file.
const defaultFile = "_gal/work.gxl"

// isTerminal reports whether w is a terminal (the line editor needs one);
// whether to colour is streams.color's decision.
func isTerminal(w io.Writer) bool { return tty.IsTerminal(w) }
