// Package builtin is the one registry of GXL built-ins (gx.*, k8s.*, pg.*,
// redis.*, http.*). Each entry declares its parameters with types, defaults
// and docs; the checker (lang/check) types call sites from it, the runtime
// calls its implementation, and `gxl doc`, the README tables and REPL
// completion read it too.
package builtin

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"

	"go.uber.org/zap"
)

// Where says in which positions a built-in may appear.
type Where uint8

// Positions.
const (
	InBlock Where = 1 << iota // a statement in a flow/fn block
	InEnv                     // an item in an env body
)

// Param describes one parameter.
type Param struct {
	Name string
	// Aliases are other accepted names (for example `channel` for `branch`).
	Aliases  []string
	Type     types.Type
	Required bool
	// Default is the value used when the argument is absent (invalid Value:
	// no default).
	Default value.Value
	// Positional marks the parameter that receives the unnamed argument
	// (the original's `default` key).
	Positional bool
	// Enum lists allowed values for a string parameter (checked statically
	// when the argument is a constant).
	Enum []string
	// Raw marks a command-text parameter (gx.cmd's `cmd`, gx.shell's
	// `shell`): the runtime passes the string with escapes processed but
	// its ${...} references NOT expanded, so the built-in can hand values to
	// the shell as data (spec I.4) instead of splicing them into code.
	Raw bool
	Doc string
	// Deprecated marks an old spelling of another parameter, kept so that
	// programs written for it still run: the checker warns at the argument
	// and names the new spelling, and the runtime hands the value,
	// converted, to the built-in under the new name (see Resolve). A
	// deprecated parameter has no default and is not required.
	Deprecated *Deprecated
	// Check is a rule on the argument's value (already of Type) beyond
	// its type (attempts ≥ 1): applied by the checker to a constant
	// argument, at the argument; nil: none.
	Check func(value.Value) error
}

// Deprecated says which parameter replaces an old spelling and how its
// value converts.
type Deprecated struct {
	// Use names the parameter that replaces this one.
	Use string
	// Convert turns a value of the old parameter (already of its declared
	// type) into one of the new; nil keeps it unchanged.
	Convert func(value.Value) value.Value
	// Rule says how the value converts, for the docs and for arguments
	// whose value is only known at run time: "attempts = retry + 1".
	Rule string
}

// Resolve maps an argument given for p to the parameter the built-in
// reads: p itself, or for a deprecated spelling the parameter that
// replaces it, with the value converted.
func (p *Param) Resolve(v value.Value) (string, value.Value) {
	d := p.Deprecated
	if d == nil {
		return p.Name, v
	}
	if d.Convert != nil {
		v = d.Convert(v)
	}
	return d.Use, v
}

// Builtin is one registered built-in.
type Builtin struct {
	Name   string // "gx.echo"
	Doc    string
	Where  Where
	Params []Param
	// Outputs documents the variables the built-in sets (by argument name or
	// fixed name), e.g. "NAME (from `name`)".
	Outputs []string
	// ArgsCaseSensitive keeps the original's case-sensitive argument keys for
	// echo, ver, assert, download and upload (§2.8). gxl reports a wrongly
	// cased key with a hint instead of silently ignoring it.
	ArgsCaseSensitive bool
	// SetsVars returns the names of variables this call defines, given the
	// call's constant string arguments (so the checker knows `gx.read_cmd(name:
	// "SHA", ...)` defines SHA). May be nil.
	SetsVars func(constArgs map[string]string) []string
	// Effect says what the built-in does outside gxl (Pure, Reads, Changes,
	// Runs). Every built-in declares it: the journal (a Pure call is not
	// journaled), the dry-run warnings and gxl plan read it, and no list
	// of names elsewhere does. An undeclared effect counts as Changes.
	Effect Effect
	// Run executes the built-in. Arguments arrive interpolated and
	// converted to the declared types, with defaults filled in.
	Run func(c Ctx, a Args) error
	// Diff, when set, tells what a call would change without changing
	// anything (k8s.apply: a server-side dry run): gxl plan --diff calls
	// it for every reachable call whose arguments are known.
	Diff func(c Ctx, a Args) ([]Change, error)
}

// Change is one object a call would change, as its Diff reports it.
type Change struct {
	// Object names it: namespace/kind/name for Kubernetes objects.
	Object string `json:"object"`
	// Action is created, configured (with Fields) or unchanged.
	Action string `json:"action"`
	// Fields are the fields a configured object would change.
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one field of a changed object: its path (spec.replicas,
// data.key) and its value before and after, as JSON text ("" when absent;
// "(sensitive)" for values never shown, such as a Secret's data).
type FieldChange struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Effect is what a built-in does outside gxl.
type Effect uint8

// Effects. The zero value is undeclared: engine's registry test fails on
// a registered built-in without one, and the runtime treats it as Changes.
const (
	// Undeclared is no declaration (treated as Changes).
	Undeclared Effect = iota
	// Pure: only the run's variables and the built-in's own output
	// (gx.echo, gx.assert). Running it again after a crash changes
	// nothing outside gxl, so the journal need not be on disk before it
	// runs (runtime.Journal), and it is not journaled.
	Pure
	// Reads: reads outside gxl (files, servers, the cluster) and changes
	// nothing there (gx.read_file, k8s.get, http.check, pg.status). A dry
	// run need not warn about it; it is journaled (its result is replayed
	// on resume).
	Reads
	// Changes: may change something outside gxl — runs a command, writes
	// a file, applies to a cluster, writes to a database (gx.cmd, gx.tpl,
	// k8s.apply, pg.exec, sys.fetch). A dry run warns about every such
	// call that will really run.
	Changes
	// Runs: runs flows of other programs (gx.run, sys.stage); its effects
	// are theirs, which gxl plan expands where it can know them. One it
	// cannot expand counts as Changes.
	Runs
)

var effectNames = [...]string{"undeclared", "pure", "reads", "changes", "runs"}

// String is the effect's name as gxl doc, gxl plan and its JSON show it.
func (e Effect) String() string {
	if int(e) < len(effectNames) {
		return effectNames[e]
	}
	return fmt.Sprintf("effect(%d)", e)
}

// IsPure reports whether b only sets variables and prints (Effect Pure).
func (b *Builtin) IsPure() bool { return b.Effect == Pure }

// Param returns the parameter named n (or by alias), honouring case rules.
func (b *Builtin) Param(n string) *Param {
	for i := range b.Params {
		p := &b.Params[i]
		if p.Name == n || (!b.ArgsCaseSensitive && strings.EqualFold(p.Name, n)) {
			return p
		}
		for _, a := range p.Aliases {
			if a == n || (!b.ArgsCaseSensitive && strings.EqualFold(a, n)) {
				return p
			}
		}
	}
	return nil
}

// PositionalParam returns the parameter that takes the unnamed argument.
func (b *Builtin) PositionalParam() *Param {
	for i := range b.Params {
		if b.Params[i].Positional {
			return &b.Params[i]
		}
	}
	return nil
}

// ParamNames lists parameter names (for suggestions and completion); old
// spellings (Param.Deprecated) are accepted but not offered.
func (b *Builtin) ParamNames() []string {
	var out []string
	for _, p := range b.Params {
		if p.Deprecated != nil {
			continue
		}
		out = append(out, p.Name)
		out = append(out, p.Aliases...)
	}
	return out
}

// Registry maps names to built-ins.
type Registry struct {
	m map[string]*Builtin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]*Builtin{}} }

// Add registers b; registering a name twice is a programming error.
func (r *Registry) Add(b *Builtin) {
	if _, dup := r.m[b.Name]; dup {
		panic("builtin registered twice: " + b.Name)
	}
	for _, p := range b.Params {
		if p.Default.IsValid() && p.Required {
			panic("builtin " + b.Name + ": required parameter with default: " + p.Name)
		}
		if d := p.Deprecated; d != nil {
			if p.Default.IsValid() || p.Required || p.Positional {
				panic("builtin " + b.Name + ": deprecated parameter with a default, required or unnamed: " + p.Name)
			}
			if q := b.Param(d.Use); q == nil || q.Deprecated != nil {
				panic("builtin " + b.Name + ": deprecated parameter " + p.Name + " names no current parameter " + d.Use)
			}
		}
	}
	r.m[b.Name] = b
}

// Lookup finds a built-in by name.
func (r *Registry) Lookup(name string) (*Builtin, bool) {
	b, ok := r.m[name]
	return b, ok
}

// Names returns all names sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Families returns the prefixes before the first dot ("gx", "k8s", ...).
func (r *Registry) Families() []string {
	seen := map[string]bool{}
	for n := range r.m {
		if i := strings.IndexByte(n, '.'); i > 0 {
			seen[n[:i]] = true
		}
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Ctx is what a built-in sees of the running program. The runtime
// implements it; unit tests of built-ins may use a small fake.
type Ctx interface {
	// Context carries cancellation and the step's timeout.
	Context() context.Context
	// Lookup finds a GXL variable by name or path ("A.B[0]"), case-insensitively.
	Lookup(name string) (value.Value, bool)
	// Set defines or replaces a variable in the current scope.
	Set(name string, v value.Value)
	// Vars returns a snapshot of all GXL variables (names as stored).
	Vars() map[string]value.Value
	// Interpolate expands ${...} in s at run time (used by built-ins that
	// read templates of their own, such as activity executers).
	Interpolate(s string) (string, error)
	// Stdout receives user-visible program output (gx.echo, command output).
	Stdout() io.Writer
	// Stderr receives command error output.
	Stderr() io.Writer
	// Stdin is the program's input (gx.read_stdin).
	Stdin() io.Reader
	// Logf writes a log line for the current step (masked).
	Logf(format string, args ...any)
	// Logger is the run's event writer for the current step: masked, its
	// events carrying the run id, the module, the flow and the call's
	// position. Built-ins that report structured facts (a stage's table
	// under Host.Events) log through it.
	Logger() *zap.Logger
	// Warn reports the check warnings of a file the built-in loaded
	// itself (a module's workflow); the front end prints each warning
	// once per run, however many modules or stages load the file.
	Warn(ds diag.List, src diag.Sources)
	// Warnf writes a warning event for the current step through Logger,
	// masked: what went wrong without failing the step (an alert not
	// delivered).
	Warnf(format string, args ...any)
	// Mask replaces every secret value occurring in s with ***.
	Mask(s string) string
	// Masker is the masker of the secret values in scope: its Writer masks
	// output streams (command output) that may bring a secret in pieces.
	Masker() *mask.Set
	// Dir is the working directory of the step (gx.run children get their
	// own; nothing changes the process-wide directory).
	Dir() string
	// Environ is the environment for child processes: the process
	// environment plus GXL variables exported upper-cased, per §5.1.
	Environ() []string
	// DryRun reports --dryrun.
	DryRun() bool
	// Quiet reports -q.
	Quiet() bool
	// Site is the source span of the call being executed.
	Site() diag.Span
	// RunNested runs flows of another GXL file (gx.run).
	RunNested(req NestedRun) error
	// Host is what the embedding program (engine options, gxl run's
	// flags) set for the run: host settings reach built-ins here, never
	// as program variables.
	Host() Host
}

// Host holds the settings of the host running a program, for the built-ins
// that need them (the sys.* family).
type Host struct {
	// Jobs bounds how many modules a system stage runs at once (0: 4).
	Jobs int
	// Mirrors rewrite git addresses: FROM=TO items (comma lists allowed).
	Mirrors []string
	// Offline fetches nothing: modules come from the module cache only.
	Offline bool
	// ModUp refreshes fetched modules and accepts moved tags (--mod_up).
	ModUp bool
	// SysRoot is the system folder (holding sys/) of a system workflow,
	// "" otherwise.
	SysRoot string
	// Events: the run's output is a stream of events, one JSON object a
	// line (gxl run --log-format json). Built-ins report what they would
	// print as a table (a stage's results) as events through
	// Ctx.Logger instead; plain output lines become events by themselves.
	Events bool
	// Marks receives what flows report of modules under `gxl operate`
	// (operate.mark); nil in any other run.
	Marks Marker
	// Force: flows run outside their windows (gxl run --force); the
	// windows operate.window reads are open too.
	Force bool
	// Location is the zone of clock times in windows (--tz, TZ; nil: UTC).
	Location *time.Location
	// Now is the run's clock (nil: time.Now).
	Now func() time.Time
}

// Marker receives operate.mark's reports: a module's health, a failover
// done (the gxl_module_healthy and gxl_failovers_total metrics).
type Marker interface {
	MarkHealthy(module string, healthy bool)
	MarkFailover(module string)
}

// NestedRun is a gx.run request.
type NestedRun struct {
	Dir     string   // directory to run in (absolute or relative to Ctx.Dir)
	Conf    string   // file, relative to Dir
	Envs    []string // env names
	Flows   []string // flow names
	Isolate bool     // start from the bootstrap variables only
	// Vars are set in the nested run on top of the copied variables.
	Vars map[string]value.Value
	// Unset names copied variables the nested run does not get (large
	// bookkeeping such as SYS_REPORT that would otherwise be exported to
	// every child process).
	Unset []string
	// Stdout and Stderr replace the caller's streams when set (per-module
	// prefixed output under parallel stages).
	Stdout, Stderr io.Writer
	// Label names this nested run among those one call starts (a module
	// name): the journal addresses of its statements include it, so a
	// resumed run finds them again. Without a label, runs are numbered in
	// the order they start.
	Label string
	// Module is the system module the nested run is a stage of: the
	// events of its statements carry it.
	Module string
	// Ctx replaces the caller's context when set.
	Ctx context.Context
}

// Args holds the typed, interpolated arguments of one call.
type Args struct {
	vals map[string]value.Value // by canonical parameter name
	b    *Builtin
}

// NewArgs builds Args for b from canonical parameter names.
func NewArgs(b *Builtin, vals map[string]value.Value) Args {
	return Args{vals: vals, b: b}
}

// Has reports whether the argument was given (or has a default).
func (a Args) Has(name string) bool {
	_, ok := a.vals[name]
	return ok
}

// Value returns the raw value of an argument.
func (a Args) Value(name string) (value.Value, bool) {
	v, ok := a.vals[name]
	return v, ok
}

// Str returns a string argument ("" when absent).
func (a Args) Str(name string) string {
	v, ok := a.vals[name]
	if !ok {
		return ""
	}
	return v.String()
}

// Bool returns a boolean argument; strings holding a boolean word
// (value.ParseBool) are accepted.
func (a Args) Bool(name string) bool {
	v, ok := a.vals[name]
	if !ok {
		return false
	}
	if v.Kind() == value.KBool {
		return v.BoolVal()
	}
	b, _ := value.ParseBool(strings.TrimSpace(v.String()))
	return b
}

// Int returns an integer argument.
func (a Args) Int(name string) int64 {
	v, ok := a.vals[name]
	if !ok {
		return 0
	}
	switch v.Kind() {
	case value.KInt:
		return v.IntVal()
	case value.KFloat:
		return int64(v.FloatVal())
	}
	var n int64
	fmt.Sscan(v.String(), &n)
	return n
}

// Float returns a float argument.
func (a Args) Float(name string) float64 {
	v, ok := a.vals[name]
	if !ok {
		return 0
	}
	switch v.Kind() {
	case value.KInt, value.KFloat:
		return v.FloatVal()
	}
	var f float64
	fmt.Sscan(v.String(), &f)
	return f
}

// Duration returns a duration argument ("30s", "1m", or seconds as a number).
func (a Args) Duration(name string) time.Duration {
	v, ok := a.vals[name]
	if !ok {
		return 0
	}
	d, _ := ParseDuration(v)
	return d
}

// ParseDuration converts a duration value: a Go duration string or a number
// of seconds.
func ParseDuration(v value.Value) (time.Duration, error) {
	switch v.Kind() {
	case value.KInt:
		return time.Duration(v.IntVal()) * time.Second, nil
	case value.KFloat:
		return time.Duration(v.FloatVal() * float64(time.Second)), nil
	}
	s := strings.TrimSpace(v.String())
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var n float64
	if _, err := fmt.Sscan(s, &n); err == nil && fmt.Sprint(n) == s {
		return time.Duration(n * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%q is not a duration (write e.g. \"30s\", \"2m\" or a number of seconds)", s)
}

// Convert coerces an argument value to a parameter type at run time,
// following the rules the checker enforces statically. The result of a
// secret value is secret.
func Convert(t types.Type, v value.Value) (value.Value, error) {
	out, err := convert(t, v)
	return value.Derive(out, v), err
}

func convert(t types.Type, v value.Value) (value.Value, error) {
	switch t {
	case types.Any:
		return v, nil
	case types.String:
		switch v.Kind() {
		case value.KString, value.KInt, value.KFloat, value.KBool:
			return value.Str(v.String()), nil
		}
	case types.Int:
		switch v.Kind() {
		case value.KInt:
			return v, nil
		case value.KString:
			if n := value.ParseScalar(strings.TrimSpace(v.StrVal())); n.Kind() == value.KInt {
				return n, nil
			}
		}
	case types.Float:
		switch v.Kind() {
		case value.KInt, value.KFloat:
			return value.Float(v.FloatVal()), nil
		case value.KString:
			if f, ok := value.ParseNumber(strings.TrimSpace(v.StrVal())); ok {
				return value.Float(f), nil
			}
		}
	case types.Bool:
		switch v.Kind() {
		case value.KBool:
			return v, nil
		case value.KString:
			if b, ok := value.ParseBool(strings.TrimSpace(v.StrVal())); ok {
				return value.Bool(b), nil
			}
		}
	case types.List:
		if v.Kind() == value.KList {
			return v, nil
		}
		if v.Kind() == value.KString {
			// Comma lists written as strings ("a,b") are accepted.
			var out []value.Value
			for _, p := range strings.Split(v.StrVal(), ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, value.Str(p))
				}
			}
			return value.List(out...), nil
		}
	case types.Object:
		if v.Kind() == value.KObject {
			return v, nil
		}
	case types.Duration:
		if _, err := ParseDuration(v); err == nil {
			return v, nil
		}
	}
	return value.Value{}, fmt.Errorf("expected %s, got %s %q", t, v.TypeName(), v.Display())
}

// DownParams are the parameters of the *.down built-ins.
func DownParams(target Param) []Param {
	return []Param{target,
		{Name: "for", Type: types.Duration, Required: true, Doc: "how long every probe must fail before the server counts as down"},
		{Name: "interval", Type: types.Duration, Default: value.Str("500ms"), Doc: "pause between probes"},
		{Name: "out", Type: types.String, Default: value.Str("DOWN"), Doc: "variable set to true (down for the whole window) or false"},
	}
}

// RunDown probes a server for a window: it sets out to false and returns at
// the first probe that succeeds, and to true when every probe failed for
// the whole window (a failover decision must not rest on one lost packet).
//
// The window is counted from the server's last answer to a probe of this
// process when that answer came at most recentAnswer before this call's
// first failed probe — what Sentinel does with down-after-milliseconds (no
// valid reply for that long) — and from the first failed probe otherwise.
// `gxl operate` probes a primary every second, each probe a run that ends
// at the first answer: counted from the first failed probe, the window
// would start up to a probe period after the server died, and the
// failover a period late.
func RunDown(c Ctx, a Args, name, target string, probe func(ctx context.Context) error) error {
	window, interval := a.Duration("for"), a.Duration("interval")
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	// Each probe has its own 2 s, even in a shorter window: the window
	// bounds when probing stops, not how long one probe may take. A window
	// of 0 is one probe.
	window = max(window, time.Nanosecond)
	key := name + " " + target
	var since time.Time // the start of the window, set at the first failed probe
	callStart := time.Now()
	probes := 0
	var last error
	errDown := errors.New("down for the window")
	err := retry.Poll(c.Context(), interval, window, name+" "+target+" to answer", func(context.Context) (bool, error) {
		pctx, cancel := context.WithTimeout(c.Context(), 2*time.Second)
		defer cancel()
		probes++
		began := time.Now()
		err := probe(pctx)
		if err == nil {
			lastAnswer.Store(key, time.Now())
			return true, nil
		}
		last = err
		if since.IsZero() {
			since = began
			if t, ok := lastAnswer.Load(key); ok && began.Sub(t.(time.Time)) <= recentAnswer {
				since = t.(time.Time)
			}
		}
		// Counted from an earlier answer, the window may end before the
		// poll's own timeout (from the call's start).
		if since.Before(callStart) && time.Since(since) >= window {
			return false, retry.Permanent(fmt.Errorf("%w: %w", errDown, err))
		}
		return false, err
	})
	var te *retry.TimeoutError
	switch {
	case err == nil:
		c.Set(a.Str("out"), value.Bool(false))
		c.Logf("%s %s: up", name, target)
		return nil
	case errors.Is(err, errDown) || errors.As(err, &te) && c.Context().Err() == nil:
		c.Set(a.Str("out"), value.Bool(true))
		c.Logf("%s %s: down for %s since its last answer or first failed probe (%d failed probes; last: %v)", name, target, time.Since(since).Round(time.Millisecond), probes, last)
		return nil
	}
	return err
}

// lastAnswer holds, per probing built-in and target ("pg.down host:port"),
// when the target last answered a probe of this process (RunDown).
var lastAnswer sync.Map

// recentAnswer is how long before a failed probe the last answer may be
// for RunDown to count the window from it: a probe period of `gxl
// operate` (one second) and a margin. An older answer says nothing of
// the time since.
const recentAnswer = 2 * time.Second

// OutVar is the SetsVars of a built-in whose `out` argument names the
// variable it sets, def when not given.
func OutVar(def string) func(map[string]string) []string {
	return func(a map[string]string) []string {
		if a["out"] != "" {
			return []string{a["out"]}
		}
		return []string{def}
	}
}

// Protected lists the folders no built-in may remove, replace or
// overwrite (spec I.4): `/`, the home directory, the process's and the
// step's working directories with their project roots and .gxl folders,
// the folders named by GXL_START_ROOT and GXL_PRJ_ROOT, and the system root
// with its sys folder.
func Protected(c Ctx) fsguard.Roots {
	rs := fsguard.Base()
	rs = append(rs, fsguard.Project(c.Dir(), "the working directory")...)
	for _, v := range []struct{ name, what string }{
		{"GXL_START_ROOT", "the start directory"},
		{"GXL_PRJ_ROOT", "the project root"},
	} {
		if x, ok := c.Lookup(v.name); ok {
			rs = rs.Add(x.String(), v.what)
		}
	}
	if root := c.Host().SysRoot; root != "" {
		rs = rs.Add(root, "the system root")
		if filepath.IsAbs(root) {
			rs = rs.Add(filepath.Join(root, "sys"), "the system's sys folder")
		}
	}
	return rs
}

// Dest resolves the path argument param (its value raw) of the running
// call against the step's directory, for a built-in about to remove,
// replace or write it. A path that is empty or would destroy a protected
// folder (Protected) is an error positioned at the call, with a hint;
// otherwise the returned absolute path is the one to operate on.
func Dest(c Ctx, param, raw string) (string, error) {
	p := raw
	if strings.TrimSpace(p) != "" && !filepath.IsAbs(p) {
		p = filepath.Join(c.Dir(), p)
	}
	abs, err := fsguard.Check(p, Protected(c))
	if err != nil {
		var r *fsguard.Refused
		if errors.As(err, &r) {
			r.Target = raw
			return "", diag.Errorf(c.Site(), "unsafe-path", "%s %v", param, r).WithHint("%s", r.Hint())
		}
		return "", err
	}
	return abs, nil
}
