//go:build !unix

package shell

import (
	"context"
	"io"

	"mvdan.cc/sh/v3/interp"
)

// execHandlers keeps interp's default handler where signals differ.
func execHandlers() interp.RunnerOption {
	return func(*interp.Runner) error { return nil }
}

// runDirect leaves every command to the shell where signals differ.
func runDirect(context.Context, string, []string, []string, io.Reader, io.Writer, io.Writer) (bool, error) {
	return false, nil
}
