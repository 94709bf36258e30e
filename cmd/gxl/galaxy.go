package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/system/galaxy"
)

// The commands of galaxy-ops' gsys and gmod: gxl sys ..., gxl mod ...,
// or gxl invoked as gsys or gmod (busyboxArgs). Their logic is the
// engine's (engine/galaxy.go, system/galaxy); here are flags and output.

func init() {
	register(newSysCmd)
	register(newModCmd)
	register(newInstallAliasesCmd)
}

// busyboxArgs maps the arguments of gxl invoked under an alias name (the
// base name of argv[0], a link or copy named gflow, gsys or gmod) to gxl's
// own: gflow ARGS is gxl run ARGS (gflow -V is gxl --version), gsys ARGS
// is gxl sys ARGS, gmod ARGS is gxl mod ARGS.
func busyboxArgs(argv0 string, args []string) []string {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	switch name {
	case "gflow":
		if len(args) == 1 && (args[0] == "-V" || args[0] == "--version") {
			return args
		}
		return append([]string{"run"}, args...)
	case "gsys":
		return append([]string{"sys"}, args...)
	case "gmod":
		return append([]string{"mod"}, args...)
	}
	return args
}

// opsFlags are the flags every gsys/gmod command takes: -d/--debug N (a
// log level, accepted: gxl's commands print what they do) and --log
// (accepted and ignored, with a note).
type opsFlags struct {
	level int
	log   string
}

func (f *opsFlags) bind(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&f.level, "debug", "d", 0, "detail level 0..6: from 1 on, a line for every file rendered, copied or left out, dependency already there, variant pruned and variable merged")
	cmd.Flags().StringVar(&f.log, "log", "", "the original tools' log setting: accepted and ignored")
}

func (f *opsFlags) apply(s *streams, cmd *cobra.Command) error {
	if f.level < 0 || f.level > 6 {
		return failf(exitUsage, "-d takes a debug level 0..6, not %d", f.level)
	}
	if cmd.Flags().Changed("log") {
		fmt.Fprintf(s.err, "gxl: note: --log %s is ignored; gxl prints what it does on stdout\n", f.log)
	}
	return nil
}

// opsEngine is the engine of a gsys/gmod command: the working folder,
// stdout, mirrors and offline of the fetch flags.
func opsEngine(s *streams, fetch fetchFlags) (*engine.Engine, error) {
	return newEngine(append(fetch.options(), engine.WithStdout(s.out), engine.WithStderr(s.err))...)
}

func forceLevel(n int) error {
	if n < 0 || n > 3 {
		return failf(exitUsage, "-f takes a force level 0..3, not %d", n)
	}
	return nil
}

// opsFailed reports a failed gsys/gmod command: exit 1.
func opsFailed(err error) error { return failf(exitFailed, "%v", err) }

func newSysCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sys",
		Short: "System projects of galaxy-ops (gsys): new, update, localize",
		Long: `The commands of galaxy-ops' gsys (gxl invoked as gsys takes them directly):
  new --name S [--model M]   write a new system project S (the layout gsys new writes)
  update [-f 0..3]           fetch the enabled modules of sys/mod_list.yml, each module's variant
                             for its model into sys/mods/<name>/<model>; merge their variables
                             into sys/vars.yml
  localize [--value FILE]... layer each module's values, render its spec/ into local/, write
           [--default]       values/_used.json and values/mods/<name>/_used.yml, apply setting
Run update and localize in the system project's folder. docs/compat.md compares with gsys.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSysNewCmd(s), newSysUpdateCmd(s), newSysLocalizeCmd(s))
	return cmd
}

func newSysNewCmd(s *streams) *cobra.Command {
	var name, model string
	var of opsFlags
	cmd := &cobra.Command{
		Use:   "new --name S [--model M]",
		Short: "Write a new system project (gsys new)",
		Long: `Write a new system project S in the current folder: sys-prj.yml, values/value.yml,
_gal/{work,adm}.gxl, _gal/project.toml, sys/{sys_model,mod_list,vars}.yml,
sys/workflows/operators.gxl and .gitignore. Without --model the model is asked
(the first when the environment has TEST_MODE, as gsys does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := of.apply(s, cmd); err != nil {
				return err
			}
			if name == "" {
				return failf(exitUsage, "give the system's name: --name S")
			}
			if model == "" {
				model = askModel(s)
			}
			if err := galaxy.CheckModel(model); err != nil {
				return failf(exitUsage, "--model: %v", err)
			}
			eng, err := opsEngine(s, fetchFlags{})
			if err != nil {
				return err
			}
			dir, err := eng.SysNew(name, model)
			if err != nil {
				return opsFailed(err)
			}
			fmt.Fprintf(s.out, "created system %s (%s) in %s\n", name, model, dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "the system's name (a folder of that name is made)")
	cmd.Flags().StringVarP(&model, "model", "m", "", "the platform model arch-os-spc (asked when not given): "+strings.Join(sysModels, ", "))
	of.bind(cmd)
	return cmd
}

// sysModels are the models gsys new offers, in its order.
var sysModels = []string{"arm-mac14-host", "x86-ubt22-host", "x86-ubt22-k8s"}

// askModel asks for the model on stderr and reads the answer from stdin:
// a number or a model; an empty answer, the end of input or TEST_MODE in
// the environment choose the first.
func askModel(s *streams) string {
	if os.Getenv("TEST_MODE") != "" {
		return sysModels[0]
	}
	fmt.Fprintln(s.err, "platform model of the system:")
	for i, m := range sysModels {
		fmt.Fprintf(s.err, "  %d) %s\n", i+1, m)
	}
	fmt.Fprint(s.err, "choose [1]: ")
	line, _ := bufio.NewReader(s.in).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		return sysModels[0]
	}
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(sysModels) {
		return sysModels[n-1]
	}
	return line
}

func newSysUpdateCmd(s *streams) *cobra.Command {
	return opsUpdateCmd(s, "Fetch the system's modules and merge their variables (gsys update)", `Fetch sys-prj.yml's test_envs and every enabled module of sys/mod_list.yml (git at its tag,
branch or rev, or a path inside the system), through the module cache, mirrors and lock file of
gxl's fetch stage. A module in gmod's layout has its mod/<model> variant placed in
sys/mods/<name>/<model> (model: the entry's, else the system's) and its other variants pruned;
one in gxl's layout is placed whole in sys/mods/<name>. Each variant's spec/depends.yml is
fetched, and sys/vars.yml is rewritten as the union of the modules' vars.yml.
-f: 0 and 1 fetch what is missing, 2 fetches every module again, 3 also refreshes the cache
and accepts moved tags.`,
		"force level 0..3", (*engine.Engine).SysUpdate)
}

func newSysLocalizeCmd(s *streams) *cobra.Command {
	return opsLocalizeCmd(s, "Layer the modules' values and render their templates (gsys localize)", `For every enabled module, layer its values, lowest first: the variables of its vars.yml,
the system's variables (sys/vars.yml), values/mods/<name>/value.yml, values/value.yml, then
each --value file (a later file wins); ${NAME} in a value resolves from the values, then the
environment. The result goes to the variant's values/_used.json (its flows read it) and to
values/mods/<name>/_used.yml with where each value came from; the variant's spec/ is
rendered (Handlebars, as gx.tpl) into its local/, and the module's setting rule of
sys/mod_list.yml renders its src into its dst. --default leaves out the files under values/.`,
		(*engine.Engine).SysLocalize)
}

// opsUpdateCmd is `update [-f 0..3]` of gsys and gmod: run is the
// engine's update at the force level.
func opsUpdateCmd(s *streams, short, long, forceHelp string, run func(e *engine.Engine, force, level int) error) *cobra.Command {
	var force int
	var of opsFlags
	var fetch fetchFlags
	cmd := &cobra.Command{
		Use:   "update [-f 0..3]",
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := of.apply(s, cmd); err != nil {
				return err
			}
			if err := forceLevel(force); err != nil {
				return err
			}
			return opsRun(s, fetch, func(eng *engine.Engine) error { return run(eng, force, of.level) })
		},
	}
	cmd.Flags().IntVarP(&force, "force", "f", 0, forceHelp)
	of.bind(cmd)
	fetch.bind(cmd.Flags())
	return cmd
}

// opsLocalizeCmd is `localize [--value FILE]... [--default]` of gsys and
// gmod: run is the engine's localize.
func opsLocalizeCmd(s *streams, short, long string, run func(*engine.Engine, galaxy.LocalizeOptions) error) *cobra.Command {
	var lo localizeFlags
	var of opsFlags
	cmd := &cobra.Command{
		Use:   "localize [--value FILE]... [--default]",
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := of.apply(s, cmd); err != nil {
				return err
			}
			return opsRun(s, fetchFlags{}, func(eng *engine.Engine) error {
				o := lo.options()
				o.Level = of.level
				return run(eng, o)
			})
		},
	}
	lo.bind(cmd)
	of.bind(cmd)
	return cmd
}

// opsRun runs a gsys/gmod command on its engine: a failure is exit 1.
func opsRun(s *streams, fetch fetchFlags, run func(*engine.Engine) error) error {
	eng, err := opsEngine(s, fetch)
	if err != nil {
		return err
	}
	if err := run(eng); err != nil {
		return opsFailed(err)
	}
	return nil
}

type localizeFlags struct {
	values []string
	def    bool
}

func (l *localizeFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&l.values, "value", nil, "a value file (YAML map NAME: value) over every other value (repeatable; a later file wins)")
	cmd.Flags().BoolVar(&l.def, "default", false, "leave out the value files under values/ (the defaults, the system's variables and --value only)")
}

func (l *localizeFlags) options() galaxy.LocalizeOptions {
	return galaxy.LocalizeOptions{ValueFiles: l.values, Default: l.def}
}

func newModCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mod",
		Short: "Module projects of galaxy-ops (gmod): new, example, update, localize",
		Long: `The commands of galaxy-ops' gmod (gxl invoked as gmod takes them directly):
  new --name M          write a new module project M with the variants x86-ubt22-k8s,
                        x86-ubt22-host and arm-mac14-host under mod/
  example               write the sample module postgresql into the current folder
  update [-f 0..3]      fetch mod-prj.yml's test_envs and each variant's spec/depends.yml
  localize [--value FILE]... [--default]
                        layer each variant's values, render its spec/ into local/, write
                        its values/_used.json and _used.yml
Run update and localize in the module project's folder. docs/compat.md compares with gmod.`,
		Args: cobra.NoArgs,
	}
	var of opsFlags
	newCmd := &cobra.Command{
		Use:   "new --name M",
		Short: "Write a new module project (gmod new)",
		Args:  cobra.NoArgs,
	}
	var name string
	newCmd.Flags().StringVarP(&name, "name", "n", "", "the module's name (a folder of that name is made)")
	of.bind(newCmd)
	newCmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := of.apply(s, cmd); err != nil {
			return err
		}
		if name == "" {
			return failf(exitUsage, "give the module's name: --name M")
		}
		eng, err := opsEngine(s, fetchFlags{})
		if err != nil {
			return err
		}
		dir, err := eng.ModNew(name)
		if err != nil {
			return opsFailed(err)
		}
		fmt.Fprintf(s.out, "created module %s in %s\n", name, dir)
		return nil
	}
	example := &cobra.Command{
		Use:   "example",
		Short: "Write the sample module postgresql (gmod example)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := opsEngine(s, fetchFlags{})
			if err != nil {
				return err
			}
			dir, err := eng.ModExample()
			if err != nil {
				return opsFailed(err)
			}
			fmt.Fprintf(s.out, "created the example module in %s\n", dir)
			return nil
		},
	}
	update := opsUpdateCmd(s, "Fetch the module's dependencies (gmod update)", "",
		"force level 0..3 (2: fetch every dependency again)", (*engine.Engine).ModUpdate)
	localize := opsLocalizeCmd(s, "Layer each variant's values and render its templates (gmod localize)", `For every variant mod/<model>, layer its values, lowest first: its vars.yml, its
values/value.yml, the project's values/value.yml, then each --value file; write its
values/_used.json and _used.yml and render its spec/ into its local/. --default leaves
out the files under values/.`,
		(*engine.Engine).ModLocalize)
	cmd.AddCommand(newCmd, example, update, localize)
	return cmd
}

func newInstallAliasesCmd(s *streams) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "install-aliases DIR",
		Short: "Link gflow, gsys and gmod in DIR to this gxl",
		Long: `Make gflow, gsys and gmod in DIR symbolic links to this gxl binary: invoked by those
names gxl takes the original tools' commands and flags (gflow ARGS is gxl run ARGS,
gsys ARGS is gxl sys ARGS, gmod ARGS is gxl mod ARGS). make install runs it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return opsFailed(err)
			}
			if real, err := filepath.EvalSymlinks(self); err == nil {
				self = real
			}
			made, err := engine.InstallAliases(args[0], self, force)
			for _, p := range made {
				fmt.Fprintf(s.out, "%s -> %s\n", p, self)
			}
			if err != nil {
				return opsFailed(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace files of those names")
	return cmd
}
