package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/atomicfile"
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/format"
)

func init() { register(newFmtCmd) }

func newFmtCmd(s *streams) *cobra.Command {
	var write, check, showDiff bool
	var fileF fileFlag
	cmd := &cobra.Command{
		Use:   "fmt [-w|--check|--diff] [FILE|DIR|-]... [-f FILE]",
		Short: "Format GXL files in the canonical layout",
		Long: `Format GXL files in the canonical layout. Comments are kept (without trailing
spaces) and the result always parses to the same program (gxl refuses to write
output that would not). A DIR is walked for *.gxl files, skipping .gxl/ and hidden
folders; - reads standard input and writes standard output.
Without a flag the formatted text is printed; -w writes it back to the files;
--check lists the files that are not formatted and --diff prints a unified diff
of each; both exit 1 when a file is not formatted (0 when all are), 2 on errors.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, on := range []bool{write, check, showDiff} {
				if on {
					n++
				}
			}
			if n > 1 {
				return failf(exitUsage, "-w, --check and --diff exclude each other")
			}
			paths, err := fmtPaths(fileF.files(args))
			if err != nil {
				return err
			}
			srcs := &diag.FileSources{}
			var diags diag.List
			unformatted := 0
			for _, path := range paths {
				var src []byte
				var err error
				if path == "-" {
					if write {
						return failf(exitUsage, "-w cannot write back standard input")
					}
					src, err = io.ReadAll(s.in)
					path = "<stdin>" // as diagnostics and --check name it
				} else {
					src, err = os.ReadFile(path)
				}
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
				case showDiff:
					if changed {
						s.out.Write(diff.Diff(path+".orig", src, path, out))
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
	cmd.Flags().BoolVar(&showDiff, "diff", false, "print a unified diff of each file whose formatting differs; exit 1 if any")
	fileF.bind(cmd.Flags())
	return cmd
}

// fmtPaths expands the arguments of gxl fmt: a folder gives every *.gxl
// file below it (sorted), skipping .gxl/ (journals) and hidden folders;
// files and - (standard input) are kept as given.
func fmtPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if a == "-" || err != nil || !info.IsDir() {
			out = append(out, a) // a missing file is reported when read
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".gxl") {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, failf(exitUsage, "%v", err)
		}
	}
	return out, nil
}

// formatSource formats one file and verifies that the result means the
// same (format.Source).
func formatSource(path string, src []byte) ([]byte, diag.List) { return format.Source(path, src) }

// writeFileAtomic replaces path with data without ever leaving a
// truncated file (core/atomicfile), keeping its mode.
func writeFileAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, info.Mode().Perm())
}
