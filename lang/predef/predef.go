// Package predef is the one table of predefined variables (§2.9 and the
// ones gxl adds). It sits below both the checker and the runtime: the
// checker reads which variables exist and their types, the loader
// interpolates extern paths with them, and runtime.Bootstrap sets exactly
// these, each from the entry's own Value function, so a variable cannot be
// known to one and missing in the other.
package predef

import (
	"github.com/gxl-dev/gxl/core/types"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/value"
)

// Inputs are the facts a run (or the loader) computes the variables from.
type Inputs struct {
	Dir    string // working directory of the run (GXL_CUR_DIR)
	CmdArg string // the argument after `--`
	DryRun bool
	ModUp  bool
	RunID  string
	// Run is false in the loader: variables marked RunOnly have no value
	// before a run starts.
	Run bool
	// Failure is the failure an #[on_failure] flow handles (gxl operate);
	// zero in every other run (an undo flow gets the failure it
	// compensates from the runtime).
	Failure Failure
}

// Failure is a failed flow as its #[on_failure] flow sees it.
type Failure struct {
	Module string `json:"module"`
	Flow   string `json:"flow"`
	At     string `json:"at,omitempty"`
	Error  string `json:"error"`
}

// Var is one predefined variable.
type Var struct {
	Name string
	Type types.Type
	Doc  string
	// RunOnly variables depend on the run's options (command line, run
	// id) and cannot be used in extern paths, which are resolved at load.
	RunOnly bool
	Value   func(in Inputs) value.Value
}

// Vars is the table, in the order of §2.9.
var Vars = []Var{
	{Name: "GXL_PRJ_ROOT", Type: types.String, Doc: "nearest ancestor of the working directory (inclusive) holding _gal/project.toml; UNDEFIN if none",
		Value: func(in Inputs) value.Value { return value.Str(ProjectRoot(in.Dir)) }},
	{Name: "GXL_START_ROOT", Type: types.String, Doc: "the process's working directory at start",
		Value: func(Inputs) value.Value { d, _ := os.Getwd(); return value.Str(d) }},
	{Name: "GXL_CUR_DIR", Type: types.String, Doc: "the working directory of the run (re-set for the child of gx.run)",
		Value: func(in Inputs) value.Value { return value.Str(in.Dir) }},
	{Name: "GXL_OS_SYS", Type: types.String, Doc: "<arch>_<ostype>_<major>, e.g. x86_64_ubuntu_22",
		Value: func(Inputs) value.Value { return value.Str(OSSys()) }},
	{Name: "GXL_CMD_ARG", Type: types.String, Doc: "the argument after `--` on the command line (default empty)", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.CmdArg) }},
	{Name: "GXL_CMD_DRYRUN", Type: types.Bool, Doc: "true with --dryrun", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Bool(in.DryRun) }},
	{Name: "GXL_CMD_MODUP", Type: types.Bool, Doc: "true with --mod_up", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Bool(in.ModUp) }},
	{Name: "GXL_RUN_ID", Type: types.String, Doc: "the run's id: its journal id when it has one (gxl addition)", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.RunID) }},
	{Name: "FAILED_MODULE", Type: types.String, Doc: "in an #[on_failure] flow (gxl operate) or an undo flow: the module of the flow that failed (empty otherwise)", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.Failure.Module) }},
	{Name: "FAILED_FLOW", Type: types.String, Doc: "in an #[on_failure] or undo flow: the flow that failed, qualified (mod.flow)", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.Failure.Flow) }},
	{Name: "FAILED_AT", Type: types.String, Doc: "in an #[on_failure] or undo flow: the position of the failed step (file:line:col), empty when it had none", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.Failure.At) }},
	{Name: "FAILED_ERROR", Type: types.String, Doc: "in an #[on_failure] or undo flow: the failure's message, secrets masked", RunOnly: true,
		Value: func(in Inputs) value.Value { return value.Str(in.Failure.Error) }},
}

// Lookup finds a variable by name (case-insensitively, like every
// variable name).
func Lookup(name string) (Var, bool) {
	for _, v := range Vars {
		if strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return Var{}, false
}

// ProjectRoot is the nearest ancestor of dir holding _gal/project.toml, or
// the literal UNDEFIN (§2.9).
func ProjectRoot(dir string) string {
	if root, ok := fsguard.ProjectRoot(dir); ok {
		return root
	}
	return "UNDEFIN"
}

// OSSys renders <arch>_<ostype>_<major>, e.g. x86_64_debian_12 (§2.9).
func OSSys() string {
	arch := goruntime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "arm64"
	}
	osType, major := goruntime.GOOS, "0"
	if goruntime.GOOS == "darwin" {
		osType = "macos"
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			switch k {
			case "ID":
				osType = v
			case "VERSION_ID":
				major, _, _ = strings.Cut(v, ".")
			}
		}
	}
	return strings.ToLower(arch + "_" + osType + "_" + major)
}
