package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/system/galaxy"
)

// The commands of galaxy-ops' gsys and gmod (spec Part II §7), run in the
// engine's folder (WithDir): gxl sys ... and gxl mod ..., or gxl invoked
// as gsys or gmod. Modules and dependencies come through the engine's
// fetcher (mirrors, offline, module cache); progress lines go to the
// engine's stdout.

// SysNew writes a new system project name with platform model in the
// engine's folder (gsys new) and returns its folder.
func (e *Engine) SysNew(name, model string) (string, error) {
	return galaxy.NewSystem(e.cfg.dir, name, model)
}

// SysUpdate fetches the enabled modules of the system project in the
// engine's folder and merges their variables (gsys update -f force -d
// level: from level 1 on, a line for each dependency already there,
// variant pruned and variable merged).
func (e *Engine) SysUpdate(force, level int) error {
	return galaxy.UpdateSystem(e.cfg.dir, e.updateOptions(force, level))
}

// SysLocalize layers the values of the system project's modules, renders
// their spec/ into local/ and writes values/_used.json (gsys localize).
func (e *Engine) SysLocalize(o galaxy.LocalizeOptions) error {
	o.Out = e.cfg.stdout
	return galaxy.LocalizeSystem(e.cfg.dir, o)
}

// ModNew writes a new module project name in the engine's folder (gmod
// new) and returns its folder.
func (e *Engine) ModNew(name string) (string, error) {
	return galaxy.NewModule(e.cfg.dir, name)
}

// ModExample writes gmod example's sample module in the engine's folder.
func (e *Engine) ModExample() (string, error) { return galaxy.Example(e.cfg.dir) }

// ModUpdate fetches the dependencies of the module project in the
// engine's folder (gmod update -f force -d level).
func (e *Engine) ModUpdate(force, level int) error {
	return galaxy.UpdateModule(e.cfg.dir, e.updateOptions(force, level))
}

// ModLocalize localizes every variant of the module project in the
// engine's folder (gmod localize).
func (e *Engine) ModLocalize(o galaxy.LocalizeOptions) error {
	o.Out = e.cfg.stdout
	return galaxy.LocalizeModule(e.cfg.dir, o)
}

func (e *Engine) updateOptions(force, level int) galaxy.UpdateOptions {
	return galaxy.UpdateOptions{Fetcher: e.fetcher, Force: force, Level: level, Out: e.cfg.stdout}
}

// WithValueFiles layers value files (YAML maps NAME: value; a later file
// wins) under the --set values: gxl run --value FILE. In a system they
// also resolve ${NAME} of sys/vars.yml below --set, and a name the
// system does not declare is not an error.
func WithValueFiles(files ...string) Option {
	return func(c *config) { c.valueFiles = append(c.valueFiles, files...) }
}

// readValues reads the value files of c (New).
func (c *config) readValues() error {
	layers, err := galaxy.ReadValueFiles(c.valueFiles...)
	if err != nil {
		return err
	}
	c.values = map[string]value.Value{}
	c.valueText = map[string]string{}
	for _, l := range layers {
		for _, kv := range l.Values {
			v, err := value.FromGo(kv.Value)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", l.From, kv.Name, err)
			}
			c.values[kv.Name] = v
			c.valueText[kv.Name] = v.String()
		}
	}
	return nil
}

// AliasNames are the names gxl answers to besides its own (busybox
// style): invoked as gflow it is gxl run, as gsys gxl sys, as gmod gxl
// mod.
var AliasNames = []string{"gflow", "gsys", "gmod"}

// InstallAliases makes each of AliasNames in dir a symbolic link to
// target (the gxl binary). A name that is already a link to target is
// kept; any other file of that name is an error unless force.
func InstallAliases(dir, target string, force bool) ([]string, error) {
	var made []string
	for _, name := range AliasNames {
		p := filepath.Join(dir, name)
		if cur, err := os.Readlink(p); err == nil && cur == target {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			if !force {
				return made, fmt.Errorf("%s exists (not a link to %s): remove it or give --force", p, target)
			}
			if err := os.Remove(p); err != nil {
				return made, err
			}
		}
		if err := os.Symlink(target, p); err != nil {
			return made, err
		}
		made = append(made, p)
	}
	return made, nil
}
