// Command gxl runs, checks, formats and debugs GXL workflows. The command
// is a thin shell over the lang, runtime and stdlib packages; each
// sub-command lives in its own file and registers a constructor with
// register, so tests can build a fresh command tree per invocation.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/tty"
	"github.com/gxl-dev/gxl/core/value"
)

// Exit codes (spec I.2): 0 success, 1 a step failed, 2 usage/check/load error.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

// exitError carries an exit code through cobra. Its message (if any) is
// printed by execute; an empty message means the command already reported.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// failf returns an exitError with a formatted message.
func failf(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// io holds the streams of one invocation.
type streams struct {
	in       io.Reader
	out, err io.Writer
	// colorMode is the root's --color flag.
	colorMode tty.Mode
	// events is the event writer of --log-format json: execute reports
	// errors through it, so the streams hold JSON only.
	events *zap.Logger
	// live is the display of waits on a terminal (gxl run).
	live *progress.Live
	// parent are the streams these wrap (liveStreams).
	parent *streams
}

// color decides whether w is coloured (core/tty.Color under --color).
// A stream wrapped by the live display is asked about as the terminal it
// writes to.
func (s *streams) color(w io.Writer) bool {
	if p := s.parent; p != nil {
		switch w {
		case s.err:
			w = p.err
		case s.out:
			w = p.out
		}
	}
	return tty.Color(w, s.colorMode)
}

var subcommands []func(s *streams) *cobra.Command

// register adds a sub-command constructor (called from init in each file).
func register(f func(s *streams) *cobra.Command) { subcommands = append(subcommands, f) }

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "gxl",
		Short: "gxl runs GXL operator workflows (.gxl files)",
		Long: `gxl checks, formats, runs and debugs GXL workflows: the operator DSL that fetches, sets up,
deploys, health-checks and fails over whole systems of modules.

-f FILE names the workflow for run, plan, check, graph, fmt and repl (default ./_gal/work.gxl);
-e ENV and --set NAME=value mean the same for run, plan, check and repl: --set wins over every
other value, a name the program never reads is a warning, and in a system a name not in
sys/vars.yml is an error. Shell completion: gxl completion bash|zsh|fish.
Scripts written for gflow keep working: -V is --version, --conf FILE is -f, -d N (or --debug N,
gflow's log level 0..6) is --verbose from 4 up, --log is accepted and ignored.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	// --version and gflow's -V; cobra prints the template.
	root.Flags().BoolP("version", "V", false, "print the gxl version")
	root.SetVersionTemplate("gxl {{.Version}}\n")
	var colorFlag string
	root.PersistentFlags().StringVar(&colorFlag, "color", "auto", "colour the output: auto (a terminal, unless NO_COLOR is set or TERM=dumb), always or never")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return failf(exitUsage, "%s", flagError(err))
	})
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		m, err := tty.ParseMode(colorFlag)
		if err != nil {
			return failf(exitUsage, "%v", err)
		}
		s.colorMode = m
		return nil
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the gxl version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(s.out, "gxl %s\n", version)
		},
	})
	for _, f := range subcommands {
		root.AddCommand(f(s))
	}
	registerCompletions(root)
	return root
}

// normalizeArgs keeps two habits of the original tool working: `-q true`
// / `-q false` alongside a bare `-q` (a boolean word right after -q is its
// value), and gflow's `--debug N` log level (a digit after --debug, which
// in gxl opens the debugger, is gflow's -d N).
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if (a == "-q" || a == "--quiet") && i+1 < len(args) && value.IsBoolWord(args[i+1]) {
			out = append(out, "--quiet="+args[i+1])
			i++
			continue
		}
		if a == "--debug" && i+1 < len(args) && len(args[i+1]) == 1 && args[i+1][0] >= '0' && args[i+1][0] <= '9' {
			out = append(out, "-d", args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

func main() {
	stop := startProfile(os.Getenv("GXL_CPUPROFILE"))
	code := execute(busyboxArgs(os.Args[0], os.Args[1:]), &streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	writeAllocs(os.Getenv("GXL_MEMPROFILE"))
	os.Exit(code)
}

// writeAllocs writes the allocations of the whole command (sampled: the
// pprof "allocs" profile) to path (the environment variable
// GXL_MEMPROFILE; see docs/performance.md).
func writeAllocs(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gxl: GXL_MEMPROFILE:", err)
	}
}

// startProfile writes a CPU profile of the whole command to path (the
// environment variable GXL_CPUPROFILE; see docs/performance.md) and
// returns the function that ends it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gxl: GXL_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "gxl: GXL_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// flagValueRE matches pflag's error for a flag value it cannot read; its
// last part is a Go error ("strconv.ParseInt: parsing ...").
var flagValueRE = regexp.MustCompile(`^(invalid argument ".*" for ".*" flag): (.*)$`)

// flagError words the error of a flag value that does not parse in the
// terms of the flag's type, not in Go's.
func flagError(err error) string {
	m := flagValueRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	why := m[2]
	switch {
	case strings.Contains(why, "value out of range"):
		why = "out of range"
	case strings.Contains(why, "strconv.ParseInt"), strings.Contains(why, "strconv.ParseUint"):
		why = "not a whole number"
	case strings.Contains(why, "strconv.ParseFloat"):
		why = "not a number"
	case strings.Contains(why, "strconv.ParseBool"):
		why = "write true or false"
	case strings.HasPrefix(why, "time: "):
		why = "not a duration such as 30s or 2m"
	}
	return m[1] + ": " + why
}

// execute runs the CLI with args and returns the exit code.
func execute(args []string, s *streams) int {
	root := newRoot(s)
	root.SetArgs(normalizeArgs(args))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code, msg := exitUsage, err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		code, msg = ee.code, ee.msg
	}
	switch {
	case msg == "":
	case s.events != nil:
		s.events.Error(msg, zap.Int("exit", code))
		s.events.Sync()
	default:
		fmt.Fprintln(s.err, "gxl:", msg)
	}
	return code
}
