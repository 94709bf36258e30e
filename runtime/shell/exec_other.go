//go:build !unix

package shell

import "mvdan.cc/sh/v3/interp"

// execHandlers keeps interp's default handler where signals differ.
func execHandlers() interp.RunnerOption {
	return func(*interp.Runner) error { return nil }
}
