package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/diag"
)

func init() { register(newCheckCmd) }

func newCheckCmd(s *streams) *cobra.Command {
	var format string
	var ff fetchFlags
	var file fileFlag
	var vars varFlags
	cmd := &cobra.Command{
		Use:   "check [FILE...]",
		Short: "Check GXL files without running anything",
		Long: `Check GXL files: syntax, names, built-in arguments, variables and conditions.
Every problem is reported at once with its position and a hint. Nothing is executed.
Exit status: 0 when there are no errors (warnings allowed), 2 otherwise.
FILE (or -f FILE) defaults to _gal/work.gxl. -e checks that the envs exist; --set values
are checked as gxl run checks them (typed by a system's vars.yml, an unknown name reported).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			batch()
			if format != "text" && format != "json" {
				return failf(exitUsage, "--format must be text or json")
			}
			varOpts, err := vars.options()
			if err != nil {
				return err
			}
			eng, err := newEngine(append(ff.options(), varOpts...)...)
			if err != nil {
				return err
			}
			restore := loading()
			all, srcs := eng.Check(file.files(args)...)
			restore()
			if format == "json" {
				if err := diag.RenderJSON(s.out, all); err != nil {
					return err
				}
			} else {
				diag.Render(s.err, all, srcs, diag.RenderOptions{Color: s.color(s.err)})
				if len(all) > 0 {
					fmt.Fprintf(s.err, "\n%s\n", diag.Summary(all))
				}
			}
			if all.HasErrors() {
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	ff.bind(cmd.Flags())
	file.bind(cmd.Flags())
	vars.bind(cmd.Flags())
	return cmd
}
