package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/lsp"
)

func init() { register(newLSPCmd) }

func newLSPCmd(s *streams) *cobra.Command {
	var stdio bool
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Serve the Language Server Protocol on stdin and stdout (editors start it)",
		Long: `gxl lsp is a language server: an editor starts it and talks the Language
Server Protocol on its stdin and stdout. It checks the buffers as they are
typed (gxl check's diagnostics, across a system workflow, its modules and
sys/*.yml), completes, shows documentation on hover, goes to definitions and
references, renames, formats (gxl fmt) and offers the checker's did-you-mean
fixes. See docs/lsp.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := lsp.New(lsp.Options{})
			if err != nil {
				return failf(exitUsage, "%v", err)
			}
			return srv.Serve(context.Background(), stdioRW{s.in, s.out})
		},
	}
	cmd.Flags().BoolVar(&stdio, "stdio", true, "talk on stdin and stdout (the only transport; editors pass it)")
	return cmd
}

// stdioRW is the command's streams as one connection.
type stdioRW struct {
	io.Reader
	io.Writer
}

func (stdioRW) Close() error { return nil }
