package galaxy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
	"github.com/gxl-dev/gxl/system/sysops"
)

// depSet is a set of dependencies: sys-prj.yml's and mod-prj.yml's
// test_envs, a variant's spec/depends.yml.
type depSet struct {
	DepRoot string       `yaml:"dep_root"`
	Deps    []dependency `yaml:"deps"`
}

// dependency is fetched to <dep_root>/<local>/<rename, else the name of
// its address>.
type dependency struct {
	Addr   map[string]string `yaml:"addr"`
	Local  string            `yaml:"local"`
	Rename string            `yaml:"rename,omitempty"`
	Enable *bool             `yaml:"enable,omitempty"`
}

// UpdateOptions configure UpdateSystem and UpdateModule.
type UpdateOptions struct {
	// Fetcher brings modules and dependencies (mirrors, offline, cache).
	Fetcher *fetch.Fetcher
	// Force is gsys/gmod update -f: 0 and 1 fetch what is missing, 2
	// fetches every module and dependency again, 3 also refreshes the
	// module cache and accepts moved tags.
	Force int
	// Out hears one line per module and dependency fetched.
	Out io.Writer
	// Level is gsys/gmod update -d: from 1 on, Out also hears of every
	// dependency already there, every variant pruned and every
	// variable merged.
	Level int
}

// detailf prints a line of -d 1 and above.
func (o UpdateOptions) detailf(format string, args ...any) {
	if o.Level >= 1 {
		logf(o.Out, "  "+format, args...)
	}
}

func (o UpdateOptions) fetcher() *fetch.Fetcher {
	fe := o.Fetcher
	if fe == nil {
		fe = &fetch.Fetcher{}
	}
	if o.Force >= 3 && !fe.Update {
		fe = &fetch.Fetcher{Cache: fe.Cache, Mirrors: fe.Mirrors, Offline: fe.Offline, Protect: fe.Protect, Secrets: fe.Secrets, Update: true}
	}
	return fe
}

// LoadSystem loads the system project under root. A system made by
// galaxy-ops may come without sys/vars.yml (gsys update writes it): an
// empty one is written first.
func LoadSystem(root string) (*system.System, error) {
	vars := filepath.Join(root, "sys", "vars.yml")
	if _, err := os.Stat(filepath.Join(root, "sys", "mod_list.yml")); err != nil {
		return nil, fmt.Errorf("%s is not a system project (no sys/mod_list.yml): run gsys in the folder gsys new made", root)
	}
	if _, err := os.Stat(vars); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(vars, []byte("vars: []\n"), 0o644); err != nil {
			return nil, err
		}
	}
	sys, ds := system.Load(root, system.Options{})
	if ds.HasErrors() {
		return nil, ds.Err()
	}
	return sys, nil
}

// UpdateSystem is gsys update in the system project root: it fetches
// sys-prj.yml's test_envs, then every enabled module of sys/mod_list.yml
// (in list order) whose variant is not there yet (every module from -f 2):
// a module in gmod's layout has its mod/ folder placed in
// sys/mods/<name>, the variant of its model kept and the others pruned; a
// module in gxl's layout is placed whole. Each variant's spec/depends.yml
// dependencies are fetched, the lock file records the commits, and
// sys/vars.yml becomes the union of the enabled modules' vars.yml (a
// later module wins a name; the order of first appearance is kept).
func UpdateSystem(root string, o UpdateOptions) error {
	sys, err := LoadSystem(root)
	if err != nil {
		return err
	}
	fe := o.fetcher()
	if err := fetchDeps(fe, root, root, filepath.Join(root, "sys-prj.yml"), "test_envs", o); err != nil {
		return err
	}
	lockPath := filepath.Join(root, "sys", "mod_list.lock")
	lock, err := fetch.ReadLock(lockPath)
	if err != nil {
		return err
	}
	mods := filepath.Join(root, "sys", "mods")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		return err
	}
	var merged []variable
	at := map[string]int{}
	for _, m := range sys.Modules {
		if !m.Enable {
			logf(o.Out, "module %s: disabled", m.Name)
			continue
		}
		model := sysops.ModelOf(sys, m)
		target := filepath.Join(mods, m.Name)
		if _, err := sysops.FindWorkflow(target, model); err != nil || o.Force >= 2 {
			if err := placeModule(fe, root, m, target, model, lock, o); err != nil {
				return err
			}
		} else {
			logf(o.Out, "module %s: %s is there (gsys update -f 2 fetches it again)", m.Name, rel(root, target))
		}
		wf, err := sysops.FindWorkflow(target, model)
		if err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		if err := fetchDeps(fe, root, wf.Dir, filepath.Join(wf.Dir, "spec", "depends.yml"), "", o); err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		vars, err := readVars(filepath.Join(wf.Dir, "vars.yml"))
		if err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		for _, v := range vars {
			if i, ok := at[v.Name]; ok {
				o.detailf("variable %s: module %s's value wins", v.Name, m.Name)
				merged[i] = v
				continue
			}
			o.detailf("variable %s from module %s", v.Name, m.Name)
			at[v.Name] = len(merged)
			merged = append(merged, v)
		}
	}
	if err := lock.Write(lockPath); err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	b, err := marshal(varsFile{Vars: orEmpty(merged)})
	if err != nil {
		return err
	}
	logf(o.Out, "wrote sys/vars.yml (%d variables)", len(merged))
	return os.WriteFile(filepath.Join(root, "sys", "vars.yml"), b, 0o644)
}

func orEmpty(v []variable) []variable {
	if v == nil {
		return []variable{}
	}
	return v
}

// placeModule fetches module m into a folder beside target and puts it in
// target: its mod/ folder (gmod's layout, only the variant of model kept)
// or the whole module (gxl's layout).
func placeModule(fe *fetch.Fetcher, root string, m *system.Module, target, model string, lock *fetch.Lock, o UpdateOptions) error {
	out := o.Out
	rs := fsguard.Base().Add(root, "the system root").Add(filepath.Join(root, "sys"), "the system's sys folder")
	tmp := filepath.Join(filepath.Dir(target), "."+m.Name+".update")
	defer fsguard.RemoveAll(tmp, rs)
	e, err := fe.Fetch(root, m, tmp, lock)
	if err != nil {
		return err
	}
	src := tmp
	gmod := false
	if st, err := os.Stat(filepath.Join(tmp, "mod")); err == nil && st.IsDir() {
		src, gmod = filepath.Join(tmp, "mod"), true
	}
	if gmod {
		if _, err := os.Stat(filepath.Join(src, model)); err != nil {
			return fmt.Errorf("module %s: %w", m.Name, missingVariant(src, model))
		}
	}
	if err := fsguard.Replace(src, target, rs); err != nil {
		return fmt.Errorf("module %s: %w", m.Name, err)
	}
	where := e.Path
	if e.Commit != "" {
		where = e.Repo + " " + e.Ref + " at " + e.Commit[:12]
	}
	if !gmod {
		logf(out, "module %s: fetched %s (gxl layout) into %s", m.Name, where, rel(root, target))
		return nil
	}
	logf(out, "module %s: fetched %s, variant %s into %s", m.Name, where, model, rel(root, filepath.Join(target, model)))
	entries, _ := os.ReadDir(target)
	for _, d := range entries {
		if d.IsDir() && d.Name() != model {
			if err := fsguard.RemoveAll(filepath.Join(target, d.Name()), rs); err != nil {
				return err
			}
			o.detailf("pruned variant %s", d.Name())
		}
	}
	return nil
}

// missingVariant names the variants dir has.
func missingVariant(dir, model string) error {
	entries, _ := os.ReadDir(dir)
	var have []string
	for _, d := range entries {
		if d.IsDir() {
			have = append(have, d.Name())
		}
	}
	sort.Strings(have)
	return fmt.Errorf("no variant mod/%s (it has %s): set `model:` of the module in sys/mod_list.yml", model, strings.Join(have, ", "))
}

// readVars reads a vars.yml; a missing file has no variables.
func readVars(file string) ([]variable, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vf varsFile
	if err := yaml.Unmarshal(b, &vf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for i, v := range vf.Vars {
		if v.Name == "" {
			return nil, fmt.Errorf("%s: variable %d has no name", file, i+1)
		}
	}
	return vf.Vars, nil
}

// fetchDeps fetches the enabled dependencies of file (or of its key) to
// base/<dep_root>/<local>/<name>, path addresses inside root.
func fetchDeps(fe *fetch.Fetcher, root, base, file, key string, o UpdateOptions) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var set depSet
	if key != "" {
		var doc map[string]depSet
		err = yaml.Unmarshal(b, &doc)
		set = doc[key]
	} else {
		err = yaml.Unmarshal(b, &set)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for i, d := range set.Deps {
		if d.Enable != nil && !*d.Enable {
			continue
		}
		a := system.Addr{Repo: d.Addr["repo"], Tag: d.Addr["tag"], Branch: d.Addr["branch"], Rev: d.Addr["rev"], Path: d.Addr["path"], URL: d.Addr["url"],
			Res: d.Addr["res"], Username: d.Addr["username"], Password: d.Addr["password"], Token: d.Addr["token"],
			SSHKey: d.Addr["ssh_key"], SSHPassphrase: d.Addr["ssh_passphrase"]}
		name := d.Rename
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(a.Repo+a.Path+a.URL), ".git")
		}
		if err := checkName("dependency", name); err != nil {
			return fmt.Errorf("%s: dependency %d: %w", file, i+1, err)
		}
		dst := filepath.Join(base, set.DepRoot, d.Local, name)
		if _, err := os.Stat(dst); err == nil && o.Force < 2 {
			o.detailf("dependency %s is there: %s (-f 2 fetches it again)", name, rel(root, dst))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if _, err := fe.Fetch(root, &system.Module{Name: name, Addr: a}, dst, &fetch.Lock{}); err != nil {
			return fmt.Errorf("%s: dependency %s: %w", rel(root, file), name, err)
		}
		logf(o.Out, "dependency %s into %s", name, rel(root, dst))
	}
	return nil
}

// rel is p relative to root for messages.
func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// UpdateModule is gmod update in a module project root: mod-prj.yml's
// test_envs and every variant's spec/depends.yml dependencies are
// fetched.
func UpdateModule(root string, o UpdateOptions) error {
	if _, err := os.Stat(filepath.Join(root, "mod")); err != nil {
		return fmt.Errorf("%s is not a module project (no mod/ folder): run gmod in the folder gmod new made", root)
	}
	fe := o.fetcher()
	if err := fetchDeps(fe, root, root, filepath.Join(root, "mod-prj.yml"), "test_envs", o); err != nil {
		return err
	}
	for _, v := range variants(root) {
		if err := fetchDeps(fe, root, v, filepath.Join(v, "spec", "depends.yml"), "", o); err != nil {
			return err
		}
	}
	return nil
}

// variants are the folders mod/<model> of a module project.
func variants(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "mod"))
	var out []string
	for _, e := range entries {
		if e.IsDir() && modelRE.MatchString(e.Name()) {
			out = append(out, filepath.Join(root, "mod", e.Name()))
		}
	}
	return out
}
