package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/predef"
)

func init() { register(newDocCmd) }

// newDocCmd prints the built-in reference from the registry (the same
// table the checker types calls with), as text or Markdown.
func newDocCmd(s *streams) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "doc [NAME|FAMILY|vars]",
		Short: "Show the built-ins and their arguments, or the predefined variables (vars)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "vars" {
				writeVars(s, markdown)
				return nil
			}
			reg := engine.Registry()
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			n := 0
			for _, name := range reg.Names() {
				if filter != "" && name != filter && !strings.HasPrefix(name, filter+".") {
					continue
				}
				b, _ := reg.Lookup(name)
				writeDoc(s, b, markdown)
				n++
			}
			if n == 0 {
				return failf(exitUsage, "no built-in %q (families: %s)", filter, strings.Join(reg.Families(), ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print Markdown (for docs/)")
	return cmd
}

func writeDoc(s *streams, b *builtin.Builtin, markdown bool) {
	if markdown {
		fmt.Fprintf(s.out, "### `%s`\n\n%s\n\n", b.Name, b.Doc)
		if len(b.Params) == 0 {
			fmt.Fprint(s.out, "No arguments.\n\n")
			return
		}
		fmt.Fprint(s.out, "| argument | type | required | default | meaning |\n|---|---|---|---|---|\n")
		for _, p := range b.Params {
			def := ""
			if p.Default.IsValid() {
				def = "`" + p.Default.String() + "`"
			}
			req := ""
			if p.Required {
				req = "yes"
			}
			name := "`" + p.Name + "`"
			if p.Positional {
				name += " (unnamed)"
			}
			doc := paramDoc(p)
			if len(p.Enum) > 0 {
				doc += " (one of " + strings.Join(p.Enum, ", ") + ")"
			}
			fmt.Fprintf(s.out, "| %s | %s | %s | %s | %s |\n", name, p.Type, req, def, doc)
		}
		fmt.Fprintln(s.out)
		return
	}
	fmt.Fprintf(s.out, "%s — %s [effect: %s]\n", b.Name, b.Doc, b.Effect)
	for _, p := range b.Params {
		flags := p.Type.String()
		if p.Required {
			flags += ", required"
		}
		if p.Default.IsValid() {
			flags += ", default " + p.Default.String()
		}
		fmt.Fprintf(s.out, "    %-14s %s — %s\n", p.Name, flags, paramDoc(p))
	}
}

// paramDoc is a parameter's doc; an old spelling says what replaces it.
func paramDoc(p builtin.Param) string {
	if d := p.Deprecated; d != nil {
		return fmt.Sprintf("old spelling, still accepted with a warning: write `%s` (%s)", d.Use, d.Rule)
	}
	return p.Doc
}

// writeVars prints the predefined variables from the one table the
// checker and the runtime read (lang/predef).
func writeVars(s *streams, markdown bool) {
	if markdown {
		fmt.Fprint(s.out, "| variable | type | value |\n|---|---|---|\n")
	}
	for _, v := range predef.Vars {
		doc := v.Doc
		if v.RunOnly {
			doc += " (set when a run starts; not usable in extern paths)"
		}
		if markdown {
			fmt.Fprintf(s.out, "| `%s` | %s | %s |\n", v.Name, v.Type, doc)
			continue
		}
		fmt.Fprintf(s.out, "%-16s %-7s %s\n", v.Name, v.Type, doc)
	}
}
