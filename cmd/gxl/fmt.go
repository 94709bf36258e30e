package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/format"
	"github.com/gxl-dev/gxl/lang/syntax"
)

func init() { register(newFmtCmd) }

func newFmtCmd(s *streams) *cobra.Command {
	var write, check bool
	cmd := &cobra.Command{
		Use:   "fmt [-w|--check] FILE...",
		Short: "Format GXL files in the canonical layout",
		Long: `Format GXL files in the canonical layout. Comments are kept and the result
always parses to the same program (gxl refuses to write output that would not).
Without -w the formatted text is printed; with --check the names of files that
are not formatted are listed and the exit code is 1.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if write && check {
				return failf(exitUsage, "-w and --check exclude each other")
			}
			if len(args) == 0 {
				args = []string{defaultFile}
			}
			srcs := &diag.FileSources{}
			var diags diag.List
			unformatted := 0
			for _, path := range args {
				src, err := os.ReadFile(path)
				if err != nil {
					return failf(exitUsage, "%v", err)
				}
				srcs.Add(path, src)
				out, ds := formatSource(path, src)
				diags.Add(ds...)
				if ds.HasErrors() {
					continue
				}
				changed := !bytes.Equal(out, src)
				switch {
				case check:
					if changed {
						fmt.Fprintln(s.out, path)
						unformatted++
					}
				case write:
					if changed {
						if err := writeFileAtomic(path, out); err != nil {
							return failf(exitUsage, "%v", err)
						}
					}
				default:
					s.out.Write(out)
				}
			}
			if len(diags) > 0 {
				diag.Render(s.err, diags, srcs, diag.RenderOptions{Color: s.color(s.err)})
			}
			if diags.HasErrors() {
				return &exitError{code: exitUsage}
			}
			if unformatted > 0 {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&write, "write", "w", false, "write the result back to the files")
	cmd.Flags().BoolVar(&check, "check", false, "list files whose formatting differs; exit 1 if any")
	return cmd
}

// formatSource formats one file and verifies that the result means the same.
func formatSource(path string, src []byte) ([]byte, diag.List) {
	f, ds := syntax.Parse(path, src)
	if ds.HasErrors() || f == nil {
		return nil, ds
	}
	out := format.File(f)
	g, ds2 := syntax.Parse(path, out)
	if ds2.HasErrors() || g == nil || !format.SameTree(f, g) {
		ds.Add(diag.Errorf(diag.Span{Start: diag.Pos{File: path}}, "fmt-internal",
			"formatting %s would change its meaning; the file was left as it is", path).
			WithHint("please report this as a gxl bug with the file attached"))
	}
	return out, ds
}

// writeFileAtomic replaces path with data without ever leaving a truncated
// file: write a temporary file beside it, fsync, rename.
func writeFileAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
