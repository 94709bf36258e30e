package main

import (
	"fmt"
	"github.com/gxl-dev/gxl/engine"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/repl"
)

func init() {
	register(newReplCmd)
}

func newReplCmd(s *streams) *cobra.Command {
	var (
		fileF   fileFlag
		vars    varFlags
		breaks  []string
		verbose bool
		ff      fetchFlags
	)
	cmd := &cobra.Command{
		Use:   "repl [FILE.gxl]",
		Short: "A prompt and debugger for GXL: evaluate statements, run flows, break, step, retry",
		Long: `A prompt and debugger for GXL. Input is a GXL statement, a built-in or fn call,
or an expression, evaluated with the same interpreter as gxl run; :run FLOW runs a
flow and stops at breakpoints (:break FLOW or FILE:LINE) and on failures, where
:step, :next, :retry, :skip and :continue steer it. :help lists the commands.
History is kept in the user cache dir (gxl/repl_history). See docs/repl.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Without a file (and no default one) the session starts
			// with built-ins only.
			file, err := fileF.one(args)
			if err != nil {
				return err
			}
			if _, err := os.Stat(file); err != nil && file == defaultFile {
				file = ""
			}
			varOpts, err := vars.options()
			if err != nil {
				return err
			}
			o, err := newOutput(s, "console", verbose, !verbose)
			if err != nil {
				return err
			}
			log := o.log
			eng, err := newEngine(append(append(ff.options(), varOpts...), engine.WithLogger(log),
				engine.WithStdout(s.out), engine.WithStderr(s.err), engine.WithStdin(s.in))...)
			if err != nil {
				return err
			}
			load := func(f string) (*check.Program, map[string]value.Value, error) {
				p, err := loadProgram(o, eng, f)
				return p.Program, p.Vars, err
			}
			var prog *engine.Program
			if file != "" {
				// A file with errors does not end the session: fix it and :reload.
				if prog, _ = loadProgram(o, eng, file); !prog.OK() {
					fmt.Fprintf(s.err, "%s was not loaded; the session starts with built-ins only (:reload after fixing it)\n", file)
				}
			}
			// Host settings (the system root) are those of the file the
			// session starts with.
			opt := eng.RuntimeOptions(prog)
			opt.Sets, opt.Extra = nil, nil // the session sets them per run
			cfg := repl.Config{File: file, Load: load, HostFor: eng.HostFor, Envs: vars.envList(), Sets: eng.Sets(), Breaks: breaks, Options: opt}
			if prog != nil {
				cfg.Program, cfg.Extra = prog.Program, prog.Vars
			}
			sess := repl.New(debugConfig(s, cfg))
			defer sess.Close()
			if err := sess.Loop(); err != nil {
				return failf(exitFailed, "%v", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fileF.bind(fl)
	vars.bind(fl)
	fl.StringArrayVar(&breaks, "break", nil, "set a breakpoint: FLOW or FILE:LINE (repeatable)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log every flow (default: warnings and errors only)")
	ff.bind(fl)
	return cmd
}

// debugConfig completes a debugger configuration with the invocation's
// streams: the terminal line editor (history, completion) when stdin and
// stdout are terminals, plain line reading otherwise.
func debugConfig(s *streams, cfg repl.Config) repl.Config {
	cfg.Registry = engine.Registry()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = s.in, s.out, s.err
	cfg.Color = s.color(s.err)
	cfg.HandleInterrupt = true
	in, ok := s.in.(*os.File)
	if ok && isTerminal(in) && isTerminal(s.out) {
		cfg.NewEditor = func(c *repl.Completer) (repl.LineEditor, error) {
			return repl.NewTerminalEditor(io.NopCloser(in), s.out, s.err, repl.HistoryFile(), c)
		}
	}
	return cfg
}
