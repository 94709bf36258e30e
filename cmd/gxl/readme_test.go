package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestReadmeCommandTable: the README's command table and `gxl help` say
// the same thing: every command gxl has is in the table, every row is a
// command gxl has, and every flag of a command (hidden ones aside) is
// named in that command's rows.
func TestReadmeCommandTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile("(?m)^\\| `gxl ([a-z-]+)[^|]*\\|.*$")
	rows := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] += m[0] + "\n"
	}
	var buf bytes.Buffer
	root := newRoot(&streams{in: strings.NewReader(""), out: &buf, err: &buf})
	root.InitDefaultCompletionCmd()
	have := map[string]bool{}
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		have[c.Name()] = true
		row, ok := rows[c.Name()]
		if !ok {
			t.Errorf("gxl %s is not in the README's command table", c.Name())
			continue
		}
		var walk func(c *cobra.Command)
		walk = func(c *cobra.Command) {
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				short := f.Shorthand != "" && regexp.MustCompile(`(^|[^-\w])-`+f.Shorthand+`\b`).MatchString(row)
				if !strings.Contains(row, "--"+f.Name) && !short {
					t.Errorf("gxl %s: flag --%s is not in its README row(s)", c.CommandPath(), f.Name)
				}
			})
			for _, sub := range c.Commands() {
				walk(sub)
			}
		}
		walk(c)
	}
	for name := range rows {
		if !have[name] {
			t.Errorf("the README's command table has gxl %s, which gxl does not have", name)
		}
	}
}
