package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/engine"
)

// flagValues are the fixed values of flags, for completion.
var flagValues = map[string][]string{
	"log-format": {"console", "json"},
	"color":      {"auto", "always", "never"},
}

// registerCompletions makes `gxl completion bash|zsh|fish` (cobra's
// command) complete what the file on the command line defines: flow
// names (and mod.flow) after the file of run and plan, env names after
// -e, variable names after --set, the values of --log-format and --color,
// and *.gxl files. The file is read by engine.Outline, offline, and may
// have errors.
func registerCompletions(root *cobra.Command) {
	root.CompletionOptions.HiddenDefaultCmd = false
	for _, cmd := range root.Commands() {
		fl := cmd.Flags()
		if fl.Lookup("file") != nil {
			cmd.RegisterFlagCompletionFunc("file", gxlFiles)
			cmd.RegisterFlagCompletionFunc("conf", gxlFiles)
		}
		if fl.Lookup("env") != nil {
			cmd.RegisterFlagCompletionFunc("env", func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				return outlineOf(c, args).Envs, cobra.ShellCompDirectiveNoFileComp
			})
		}
		if fl.Lookup("set") != nil {
			cmd.RegisterFlagCompletionFunc("set", func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, v := range outlineOf(c, args).Vars {
					out = append(out, v+"=")
				}
				return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			})
		}
		for name, values := range flagValues {
			if fl.Lookup(name) != nil {
				cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		switch cmd.Name() {
		case "run", "plan":
			cmd.ValidArgsFunction = completeFlows
		case "check", "graph", "fmt", "repl":
			cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return gxlFiles(nil, nil, "")
			}
		}
	}
}

func gxlFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"gxl"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeFlows completes the arguments of run and plan: the flows of the
// file (named by -f, the first argument or the default file); a first
// argument that is none of the default file's flows is a *.gxl file.
func completeFlows(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	file, named := completionFile(cmd, args)
	flows := outline(file).Flows
	if !named {
		for _, f := range flows {
			if strings.HasPrefix(f, toComplete) {
				return flows, cobra.ShellCompDirectiveNoFileComp
			}
		}
		return gxlFiles(nil, nil, "")
	}
	return flows, cobra.ShellCompDirectiveNoFileComp
}

// completionFile is the workflow file of a command line being completed
// and whether the line names it (-f, or a first argument ending in .gxl).
func completionFile(cmd *cobra.Command, args []string) (string, bool) {
	if f, _ := cmd.Flags().GetString("file"); f != "" {
		return f, true
	}
	if len(args) > 0 && strings.HasSuffix(args[0], ".gxl") {
		return args[0], true
	}
	return defaultFile, false
}

func outlineOf(cmd *cobra.Command, args []string) engine.Outline {
	file, _ := completionFile(cmd, args)
	return outline(file)
}

// outline reads file for completion: offline (a TAB fetches nothing), an
// unreadable file gives nothing.
func outline(file string) engine.Outline {
	if _, err := os.Stat(file); err != nil {
		return engine.Outline{}
	}
	eng, err := engine.New(engine.WithOffline(true))
	if err != nil {
		return engine.Outline{}
	}
	return eng.Outline(file)
}
