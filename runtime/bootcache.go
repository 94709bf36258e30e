package runtime

import (
	"bytes"
	"sync"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/predef"
)

// BootCache keeps the bootstrap variables of one set of runner options
// (the same Extra, Sets and SecretsFile: gxl operate makes one per
// program, for all its triggered runs) from one run to the next: each run
// of a probe built a scope of every predefined, secret, system and --set
// variable, the largest part of what its run allocated. A run gets a
// clone of the kept variables (Scope: it shares them and writes its own),
// with its own values of the predefined variables that differ between
// runs (GXL_RUN_ID, the FAILED_* of an #[on_failure] run). The kept
// variables are made again when what they were made from changed: the
// run's folder and command line, the project root (GXL_PRJ_ROOT) or the
// bytes of the secrets file.
type BootCache struct {
	mu      sync.Mutex
	key     bootKey
	secrets []byte // the secrets file as read (nil: none)
	made    bool
	tmpl    *Scope
	// varying are the predefined variables whose value depends on the
	// run and that no later source (a system variable, --set) replaced.
	varying []predef.Var
}

type bootKey struct {
	dir, cmdArg, prjRoot, secretsPath string
	dryRun, modUp                     bool
}

// scope returns the bootstrap variables of a run of r with inputs in.
func (c *BootCache) scope(r *Runner, in predef.Inputs) (*Scope, error) {
	path := secretsPath(r.opt.SecretsFile)
	raw, err := readSecrets(path)
	if err != nil {
		return nil, err
	}
	key := bootKey{dir: in.Dir, cmdArg: in.CmdArg, prjRoot: predef.ProjectRoot(in.Dir), secretsPath: path,
		dryRun: in.DryRun, modUp: in.ModUp}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.made || c.key != key || !bytes.Equal(c.secrets, raw) {
		secrets, err := secretVarsOf(path, raw)
		if err != nil {
			return nil, err
		}
		c.tmpl = r.bootstrap(in, secrets)
		c.key, c.secrets, c.made = key, raw, true
		c.varying = c.varying[:0]
		for _, v := range runVarying() {
			if !replaced(v.Name, r.opt.Extra, r.opt.Sets) {
				c.varying = append(c.varying, v)
			}
		}
	}
	s := c.tmpl.Clone()
	for _, v := range c.varying {
		s.put(v.Name, v.Value(in))
	}
	return s, nil
}

// runVarying are the predefined variables whose value depends on the run
// (its id, the failure it handles): those whose value changes with them.
func runVarying() []predef.Var {
	a := predef.Inputs{Run: true, RunID: "a", Failure: predef.Failure{Module: "a", Flow: "a", At: "a", Error: "a"}}
	b := predef.Inputs{Run: true, RunID: "b", Failure: predef.Failure{Module: "b", Flow: "b", At: "b", Error: "b"}}
	var out []predef.Var
	for _, v := range predef.Vars {
		if !value.Equal(v.Value(a), v.Value(b)) {
			out = append(out, v)
		}
	}
	return out
}

// replaced reports whether a system variable or a --set gives name.
func replaced(name string, srcs ...map[string]value.Value) bool {
	f := value.Fold(name)
	for _, m := range srcs {
		for k := range m {
			if value.Fold(k) == f {
				return true
			}
		}
	}
	return false
}
