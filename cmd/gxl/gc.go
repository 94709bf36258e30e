package main

import (
	"os"
	"runtime/debug"
)

// The garbage collector's target. Parsing allocates a lot that dies at
// once (participle tries grammar alternatives), and a big program stays
// live while it runs: at the default target (GOGC=100) the collector runs
// many times over a large file and takes a core from the parser, then
// scans the whole program again and again while it runs. At 400 a 477 KB
// workflow of 10,000 flows loads and runs in about two thirds of the time,
// with a larger peak heap (the Go compiler raises its starting heap the
// same way). A GOGC or GOMEMLIMIT set by the user wins.
const gcPercent = 400

// batch raises the target for a whole command that ends when its work is
// done (run, check, plan, graph), under a soft memory limit of 1 GiB at
// which the collector works harder instead of growing the heap.
func batch() {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// loading raises the target while a program loads and returns the
// function that puts it back: a command that stays (operate, repl) keeps
// the default afterwards.
func loading() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(gcPercent)
	return func() { debug.SetGCPercent(old) }
}
