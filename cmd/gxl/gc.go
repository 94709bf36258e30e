package main

import (
	"os"
	"runtime/debug"
)

// loading raises the garbage collector's target while gxl parses and
// checks workflows, and returns the function that puts it back. Parsing
// allocates a lot that dies at once (participle tries grammar alternatives);
// at the default target the collector runs many times over a large file
// and takes a core from the parser. At 400 a 477 KB workflow loads in
// about two thirds of the time, with a larger peak heap; a run, which may
// last, gets the default back once its program is loaded (the Go compiler
// adjusts its starting heap the same way). A GOGC set by the user wins.
func loading() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}
