package engine

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/gxl-dev/gxl/core/confine"
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/fetch"
	"github.com/gxl-dev/gxl/system/sysops"
)

// checked is the set of workflow files one Check has checked (absolute
// paths): a module workflow shared by two modules, or also named on the
// command line, is checked and reported once.
type checked map[string]bool

// first records file and reports whether it was not checked before.
func (c checked) first(file string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	if c[abs] {
		return false
	}
	c[abs] = true
	return true
}

// checkModules checks the workflow of every enabled module of sys as
// sys.stage does before a stage (sysops.CheckModule), each confined to
// its folder: with the module variables, the system's typed variables and
// what the system workflow wf may define (untyped; when it may define any
// variable, reading a file of settings, so may the module's).
// A module whose workflow cannot be found is a warning at its entry in
// mod_list.yml.
func (e *Engine) checkModules(sys *system.System, wf *check.Program, srcs *diag.FileSources, done checked, keep func(*check.Program)) diag.List {
	var out diag.List
	lock, lockErr := fetch.ReadLock(filepath.Join(sys.Root, "sys", "mod_list.lock"))
	if lockErr != nil {
		lock = &fetch.Lock{}
	}
	known, open := moduleKnown(sys, wf)
	type work struct {
		file, dir string
		prog      *check.Program
		diags     diag.List
	}
	var todo []*work
	parsed := &check.ParseCache{}
	for _, m := range sys.Modules {
		if !m.Enable {
			continue
		}
		wf, why := moduleDir(e.fetcher, sys, m, lock)
		if wf.Dir == "" {
			out.Add(diag.Warnf(m.Span, "module-unchecked", "module %s not fetched: its workflow was not checked", m.Name).
				WithHint("%s", why))
			continue
		}
		if done.first(wf.File) {
			todo = append(todo, &work{file: wf.File, dir: wf.Dir})
		}
	}
	// The modules' checks share nothing but read-only inputs: they run on
	// every core (parsing dominates a check of a few small files).
	next := make(chan *work)
	var wg sync.WaitGroup
	for range min(goruntime.GOMAXPROCS(0), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range next {
				w.prog, w.diags = sysops.CheckModule(w.file, w.dir, sysops.CheckOptions{Registry: e.cfg.registry, Known: known, ResolveGit: e.fetcher.Checkout, Open: open, Parsed: parsed, ReadFile: e.cfg.readFile})
			}
		}()
	}
	for _, w := range todo {
		next <- w
	}
	close(next)
	wg.Wait()
	for _, w := range todo {
		keep(w.prog)
		if w.prog != nil {
			for f, src := range w.prog.Sources {
				srcs.Add(f, src)
			}
		}
		out.Add(w.diags...)
	}
	return out
}

// moduleKnown is what a module workflow of sys knows when a stage of the
// system workflows wfs runs it (sysops.CheckOptions Known and Open): the
// system's typed variables, and untyped what any of wfs may define; open
// when one of them may define any variable (it reads a file of settings).
func moduleKnown(sys *system.System, wfs ...*check.Program) (map[string]types.Type, bool) {
	known := sys.Types()
	typed := map[string]bool{}
	for n := range known {
		typed[strings.ToLower(n)] = true
	}
	open := false
	for _, wf := range wfs {
		names, o := wf.Defines() // lower case
		open = open || o
		for _, n := range names {
			if !typed[n] {
				known[n] = types.Any
			}
		}
	}
	return known, open
}

// checkModuleAlone checks file, the workflow of the module in dir of
// sys, named on its own (gxl check sys/mods/web/workflows/operators.gxl):
// with what it knows under the system's workflows (moduleKnown of every
// sys/workflows/*.gxl), as checkModules checks it for a system workflow.
func (e *Engine) checkModuleAlone(sys *system.System, file, dir string) (*check.Program, []*check.Program, diag.List) {
	wfFiles, _ := filepath.Glob(filepath.Join(sys.Root, "sys", "workflows", "*.gxl"))
	var wfs []*check.Program
	for _, wf := range wfFiles {
		prog, _ := check.Load(wf, e.checkOptions(sys))
		wfs = append(wfs, prog)
	}
	known, open := moduleKnown(sys, wfs...)
	prog, ds := sysops.CheckModule(file, dir, sysops.CheckOptions{Registry: e.cfg.registry, Known: known, ResolveGit: e.fetcher.Checkout, Open: open, ReadFile: e.cfg.readFile})
	return prog, wfs, ds
}

// moduleDir finds module m's workflow (sysops.FindWorkflow, for the
// model the system uses): in sys/mods/<name> when fetched, else in a path
// module's folder, else in a git module's checkout in the module cache at
// its locked commit (fetched into the cache by fe unless it is offline).
// A zero Workflow and the reason when there is none.
func moduleDir(fe *fetch.Fetcher, sys *system.System, m *system.Module, lock *fetch.Lock) (sysops.Workflow, string) {
	model := sysops.ModelOf(sys, m)
	if wf, err := sysops.FindWorkflow(filepath.Join(sys.Root, "sys", "mods", m.Name), model); err == nil {
		return wf, ""
	}
	switch {
	case m.Addr.Local():
		dir := m.Addr.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(sys.Root, dir)
		}
		wf, err := sysops.FindWorkflow(dir, model)
		if err != nil {
			return sysops.Workflow{}, "its path " + m.Addr.Path + ": " + err.Error() + ", and it is not fetched into sys/mods/" + m.Name
		}
		return wf, ""
	case m.Addr.Repo != "" || m.Addr.URL != "":
		dir, err := fe.Source(m, lock)
		if err != nil {
			return sysops.Workflow{}, err.Error() + "; fetch it (the fetch stage, sys.fetch, or gsys update), or check without --offline to fetch it into the module cache"
		}
		wf, err := sysops.FindWorkflow(dir, model)
		if err != nil {
			return sysops.Workflow{}, fetch.Redact(m.Addr.Repo+m.Addr.URL) + ": " + err.Error()
		}
		return wf, ""
	}
	return sysops.Workflow{}, "it has neither a git nor a path address"
}

// moduleSystem finds the system a module workflow file belongs to: the
// nearest folder above it holding a system (sys/mod_list.yml, vars.yml or
// sys_model.yml: isSystemRoot) whose sys/mods/<name>
// holds the file (the variant's folder for a module in gmod's layout),
// or one of whose path modules' folders does. It returns
// the system, the module folder and the system's diagnostics; nil when
// the file belongs to no system.
func (e *Engine) moduleSystem(file string) (*system.System, string, diag.List) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", nil
	}
	for root := filepath.Dir(abs); ; {
		if isSystemRoot(root) {
			if dir := underMods(root, abs); dir != "" {
				sys, ds := system.Load(displayPath(root), system.Options{ReadFile: e.cfg.readFile})
				// A module in gmod's layout runs in its variant's folder.
				if m := sys.Module(filepath.Base(dir)); m != nil {
					if wf, err := sysops.FindWorkflow(dir, sysops.ModelOf(sys, m)); err == nil && confine.Within(wf.Dir, abs) {
						dir = wf.Dir
					}
				}
				return sys, dir, ds
			}
			sys, ds := system.Load(displayPath(root), system.Options{ReadFile: e.cfg.readFile})
			for _, m := range sys.Modules {
				if !m.Addr.Local() {
					continue
				}
				dir := m.Addr.Path
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(root, dir)
				}
				if confine.Within(dir, abs) {
					return sys, dir, ds
				}
			}
		}
		up := filepath.Dir(root)
		if up == root {
			return nil, "", nil
		}
		root = up
	}
}

// underMods is root/sys/mods/<name> when abs lies in it, else "".
func underMods(root, abs string) string {
	mods := filepath.Join(root, "sys", "mods")
	rel, err := filepath.Rel(mods, abs)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	name, _, ok := strings.Cut(rel, string(filepath.Separator))
	if !ok {
		return ""
	}
	return filepath.Join(mods, name)
}

// displayPath is p relative to the working directory when below it.
func displayPath(p string) string {
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// isSystemRoot reports whether dir holds a system: one of the files of
// sys/ that system.Load reads.
func isSystemRoot(dir string) bool {
	for _, f := range []string{"mod_list.yml", "vars.yml", "sys_model.yml"} {
		if _, err := os.Stat(filepath.Join(dir, "sys", f)); err == nil {
			return true
		}
	}
	return false
}
