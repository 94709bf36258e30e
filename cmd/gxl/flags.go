package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gxl-dev/gxl/engine"
)

// fileFlag is -f/--file FILE, the workflow file of every command that
// reads one (run, plan, check, graph, fmt, repl); --conf is gflow's
// spelling of it (hidden).
type fileFlag struct{ path string }

func (f *fileFlag) bind(fl *pflag.FlagSet) {
	fl.StringVarP(&f.path, "file", "f", "", "GXL file (default ./_gal/work.gxl)")
	fl.StringVar(&f.path, "conf", "", "gflow's name for -f")
	fl.MarkHidden("conf")
}

// files returns the files of a command that takes several: -f first, then
// the arguments; the default file when there are none.
func (f *fileFlag) files(args []string) []string {
	var out []string
	if f.path != "" {
		out = append(out, f.path)
	}
	out = append(out, args...)
	if len(out) == 0 {
		out = []string{defaultFile}
	}
	return out
}

// one returns the file of a command that takes one: -f or the argument
// (not both), else the default file.
func (f *fileFlag) one(args []string) (string, error) {
	switch {
	case f.path != "" && len(args) > 0:
		return "", failf(exitUsage, "give the file once: as an argument or with -f")
	case f.path != "":
		return f.path, nil
	case len(args) > 0:
		return args[0], nil
	}
	return defaultFile, nil
}

// varFlags are -e ENV and --set NAME=value, shared by run, plan, check and
// repl with the same meaning.
type varFlags struct {
	envs, sets, values []string
}

func (v *varFlags) bind(fl *pflag.FlagSet) {
	fl.StringSliceVarP(&v.envs, "env", "e", nil, "env name(s), comma-separated or repeated (default: default, when the program has it)")
	fl.StringArrayVar(&v.sets, "set", nil, "set a variable, winning over every other value: --set NAME=value (repeatable)")
	fl.StringArrayVar(&v.values, "value", nil, "a value file (YAML map NAME: value) layered under --set; a later file wins (repeatable)")
}

// envList is the envs of -e (a,b and repeated).
func (v *varFlags) envList() []string { return splitList(v.envs) }

// options are the engine options of the flags; a malformed --set is a
// usage error.
func (v *varFlags) options() ([]engine.Option, error) {
	raw, err := parseSets(v.sets)
	if err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return []engine.Option{engine.WithSets(raw), engine.WithEnvs(v.envList()...), engine.WithValueFiles(v.values...)}, nil
}

// parseSets parses --set NAME=value items (typed by engine.TypedSet).
func parseSets(sets []string) (map[string]string, error) {
	raw := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--set %q: write NAME=value", s)
		}
		raw[strings.TrimSpace(k)] = v
	}
	return raw, nil
}

// splitList splits comma lists of repeated flags.
func splitList(list []string) []string {
	var out []string
	for _, e := range list {
		for _, p := range strings.Split(e, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// gflowFlags are the original tool's run flags, accepted so scripts
// written for gflow keep working: -d/--debug N (its log level 0..6: 4 and
// above are gxl's --verbose) and --log SPEC (ignored, as gflow ignores it,
// with a note). -V is the root's --version; -f/--conf is fileFlag.
type gflowFlags struct {
	level int
	log   string
}

func (g *gflowFlags) bind(fl *pflag.FlagSet) {
	fl.IntVarP(&g.level, "gflow-debug", "d", -1, "gflow's -d/--debug log level 0..6 (4 and above: --verbose)")
	fl.StringVar(&g.log, "log", "", "gflow's --log: accepted and ignored")
	fl.MarkHidden("gflow-debug")
	fl.MarkHidden("log")
}

// apply returns whether the gflow flags ask for verbose logs, printing
// the note about --log; a level outside 0..6 is a usage error.
func (g *gflowFlags) apply(s *streams, changed func(string) bool) (bool, error) {
	if changed("log") {
		fmt.Fprintf(s.err, "gxl: note: --log %s is ignored (as gflow ignores it); logs go to stderr, --log-format json for machines\n", g.log)
	}
	if !changed("gflow-debug") {
		return false, nil
	}
	if g.level < 0 || g.level > 6 {
		return false, failf(exitUsage, "-d takes gflow's log level 0..6, not %d", g.level)
	}
	return g.level >= 4, nil
}
