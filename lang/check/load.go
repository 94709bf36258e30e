package check

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gxl-dev/gxl/core/confine"
	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/limits"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// Options configure loading and checking.
type Options struct {
	// Registry is the built-in registry (required for built-in checks; an
	// empty registry is used when nil).
	Registry *builtin.Registry
	// ExtraVars are variables known before the program runs (system vars
	// from sys/vars.yml, --set) with their types.
	ExtraVars map[string]types.Type
	// ResolveGit returns the local checkout dir of a git extern, or an
	// error. When nil, git externs are reported as not fetched.
	ResolveGit func(url, ref string) (dir string, err error)
	// Env looks up the process environment (default os.LookupEnv).
	Env func(string) (string, bool)
	// ReadFile reads files (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
	// Dir is the working directory relative paths are resolved against
	// (default: the process's).
	Dir string
	// Confine, when set, is the folder the root file's module was fetched
	// into (a system module under sys/mods/<name>, the checkout a gx.run
	// inside a fetched module runs from): the root file's path externs, and
	// those of every file they load, must stay inside it (spec I.4).
	Confine string
	// OpenVars says that any variable may be defined before the program
	// starts: a module workflow run by a system workflow that may define
	// any variable (gx.read_file of a whole file, see Program.Defines).
	// Uses of variables nothing defines are then not reported.
	OpenVars bool
	// Parsed, when set, shares the parsed extern files between the loads
	// that use it (see ParseCache).
	Parsed *ParseCache
}

func (o *Options) defaults() {
	if o.Registry == nil {
		o.Registry = builtin.NewRegistry()
	}
	if o.Env == nil {
		o.Env = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Dir == "" {
		o.Dir, _ = os.Getwd()
	}
}

// ErrNotFetched is returned by resolvers for git externs missing from the cache.
var ErrNotFetched = errors.New("not fetched")

// Load reads, parses and links the file and its externs, then checks
// everything. It returns the Program (possibly partial) and all
// diagnostics, sorted and de-duplicated.
func Load(path string, opt Options) (*Program, diag.List) {
	opt.defaults()
	read := path
	if opt.Confine != "" {
		real, inside, _ := confine.Inside(opt.Confine, path)
		if !inside {
			d := diag.Errorf(diag.Span{Start: diag.Pos{File: path}}, "extern-escape", "%s is outside the module's checkout", real)
			d.Hint = fmt.Sprintf("the path must stay inside the module's checkout at %s (after following symlinks)", opt.Confine)
			return nil, diag.List{d}
		}
		read = real
	}
	src, err := opt.ReadFile(read)
	if err != nil {
		d := diag.Errorf(diag.Span{Start: diag.Pos{File: path}}, "no-file", "cannot read %s: %v", path, unwrapPathError(err))
		if errors.Is(err, os.ErrNotExist) {
			d.Hint = "pass the workflow file as an argument (the default is ./_gal/work.gxl)"
		}
		return nil, diag.List{d}
	}
	return CheckSource(path, src, opt)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckSource is Load on in-memory source (tests, fuzzing, the REPL).
func CheckSource(path string, src []byte, opt Options) (*Program, diag.List) {
	opt.defaults()
	l := &loader{opt: opt, loaded: map[string]bool{}, prog: &Program{
		Registry: opt.Registry,
		Sources:  diag.SourceMap{},
		Calls:    map[*ast.Call]*CallTarget{},
		Conds:    map[ast.Cond]*CondProgram{},
		Confine:  map[string]string{},
	}}
	l.rootDir = filepath.Dir(path)
	f, ds := syntax.Parse(path, src)
	l.prog.Sources[path] = src
	l.diags.Add(ds...)
	if f == nil {
		return l.prog, l.diags.Normalize()
	}
	l.prog.Root = f
	l.markLoaded(path)
	l.prog.Files = append(l.prog.Files, f)
	if opt.Confine != "" {
		l.prog.Confine[path] = opt.Confine
	}
	l.collect(f, opt.Confine)
	if l.diags.HasErrors() {
		// Syntax and load errors first: checking a half-parsed program
		// would only add noise.
		return l.prog, l.diags.Normalize()
	}
	c := &checker{prog: l.prog, opt: opt, diags: l.diags}
	c.run(l.mods)
	return c.prog, c.diags.Normalize()
}

type loader struct {
	opt     Options
	prog    *Program
	diags   diag.List
	loaded  map[string]bool
	rootDir string
	mods    []*ast.Mod // in splice order
	depth   int
}

func (l *loader) markLoaded(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		l.loaded[abs] = true
	}
}

// collect walks a file's items in order, splicing externs' modules in place
// (the original's text splicing order) while keeping each file's own AST.
// root is the file's confinement root: the checkout or module folder it
// was fetched into, "" for the project's own files.
func (l *loader) collect(f *ast.File, root string) {
	for _, it := range f.Items {
		switch n := it.(type) {
		case *ast.Mod:
			l.mods = append(l.mods, n)
		case *ast.Extern:
			l.extern(n, f, root)
		}
	}
}

// extern loads the files of an extern. Files of a git extern are confined
// to their checkout; files of a path extern inherit the confinement root
// of the file that names them.
func (l *loader) extern(e *ast.Extern, from *ast.File, root string) {
	if l.depth > limits.MaxExternDepth {
		l.diags.Add(diag.Errorf(e.Span(), "extern-depth", "externs nested too deeply").WithHint("an extern file probably includes itself"))
		return
	}
	var dir string
	var at func(name *ast.Ident) diag.Span // where an escape is reported
	if e.IsGit() {
		url, err := l.interp(e.Prop("git"), from)
		if err != nil {
			l.diags.Add(diag.Errorf(e.Prop("git").Span(), "extern", "%v", err))
			return
		}
		ref := ""
		for _, k := range []string{"tag", "branch", "channel", "rev"} {
			if p := e.Prop(k); p != nil {
				if ref, err = l.interp(p, from); err != nil {
					l.diags.Add(diag.Errorf(p.Span(), "extern", "%v", err))
					return
				}
				break
			}
		}
		if l.opt.ResolveGit == nil {
			l.diags.Add(diag.Errorf(e.Span(), "not-fetched", "git extern %s is not fetched", url).
				WithHint("check the address and ref, or give --mirror FROM=TO; --offline uses only the module cache"))
			return
		}
		checkout, err := l.opt.ResolveGit(url, ref)
		if err != nil {
			d := diag.Errorf(e.Span(), "not-fetched", "git extern %s: %v", url, err)
			if errors.Is(err, ErrNotFetched) {
				d.Hint = "check the address and ref, or give --mirror FROM=TO; --offline uses only the module cache"
			}
			l.diags.Add(d)
			return
		}
		dir = filepath.Join(checkout, "mods")
		root = checkout
		at = func(name *ast.Ident) diag.Span { return name.Span() }
	} else {
		p := e.Prop("path")
		if p == nil {
			return // reported by the parser
		}
		raw, err := l.interp(p, from)
		if err != nil {
			l.diags.Add(diag.Errorf(p.Span(), "extern", "%v", err).WithHint("define the variable in the environment or give a default: ${NAME:default}"))
			return
		}
		dir = l.resolveDir(raw)
		at = func(*ast.Ident) diag.Span { return p.Span() }
	}
	for _, name := range e.Names {
		file := filepath.Join(dir, name.Name+".gxl")
		read := file
		if root != "" {
			// Symlinks resolved first, then the containment check; the
			// file read is the one checked.
			real, inside, _ := confine.Inside(root, file)
			if !inside {
				l.diags.Add(diag.Errorf(at(name), "extern-escape", "extern mod %s: %s is outside the module's checkout", name.Name, real).
					WithHint("the path must stay inside the module's checkout at %s (after following symlinks); name the module's own files from @{PATH}/…", root))
				continue
			}
			read = real
		}
		abs, _ := filepath.Abs(file)
		if l.loaded[abs] {
			continue
		}
		src, err := l.opt.ReadFile(read)
		if err != nil {
			l.diags.Add(diag.Errorf(name.Span(), "extern-missing", "extern mod %s: cannot read %s: %v", name.Name, file, unwrapPathError(err)).
				WithHint("an extern name is a file name: %s.gxl must exist in the extern's path", name.Name))
			continue
		}
		l.loaded[abs] = true
		f, ds := l.opt.Parsed.parse(file, abs, dir, src)
		l.prog.Sources[file] = src
		if root != "" {
			l.prog.Confine[file] = root
		}
		l.diags.Add(ds...)
		if f == nil {
			continue
		}
		l.prog.Files = append(l.prog.Files, f)
		l.depth++
		l.collect(f, root)
		l.depth--
	}
}

// resolveDir finds an extern directory: relative to the working directory
// as the original does, else relative to the project of the root file (the
// folder holding `_gal/`), so `gxl check path/to/_gal/work.gxl` works from
// anywhere.
func (l *loader) resolveDir(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	cands := []string{filepath.Join(l.opt.Dir, p)}
	root := l.rootDir
	if filepath.Base(root) == "_gal" {
		cands = append(cands, filepath.Join(filepath.Dir(root), p))
	}
	cands = append(cands, filepath.Join(root, p))
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	return cands[0]
}

// interp expands an extern address: `@{PATH}` is the root file's folder,
// `${NAME:default}` is a predefined variable (§2.9, with the value the
// run will have) or comes from the process environment.
func (l *loader) interp(s *ast.StringLit, from *ast.File) (string, error) {
	var b strings.Builder
	for _, p := range s.Parts {
		if p.Var == nil {
			b.WriteString(p.Text)
			continue
		}
		if pv, ok := predef.Lookup(p.Var.Name); ok {
			if pv.RunOnly {
				return "", fmt.Errorf("variable %s is only known once a run starts, after externs are loaded", p.Var.Source())
			}
			b.WriteString(pv.Value(predef.Inputs{Dir: l.opt.Dir}).String())
		} else if v, ok := l.opt.Env(p.Var.Name); ok {
			b.WriteString(v)
		} else if p.Var.Default != nil {
			b.WriteString(*p.Var.Default)
		} else {
			return "", fmt.Errorf("variable %s is not set", p.Var.Source())
		}
	}
	out := b.String()
	out = strings.ReplaceAll(out, "@{PATH}", l.rootDir)
	return out, nil
}

// rewriteAtPath replaces `@{PATH}` and `@PATH` in every string of an extern
// file by the file's folder (§2.7), keeping positions.
func rewriteAtPath(f *ast.File, dir string) {
	fix := func(parts []ast.StrPart) {
		for i := range parts {
			if parts[i].Var == nil {
				t := strings.ReplaceAll(parts[i].Text, "@{PATH}", dir)
				parts[i].Text = strings.ReplaceAll(t, "@PATH", dir)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.StringLit:
			fix(x.Parts)
		case *ast.RawStringLit:
			fix(x.Parts)
			x.Value = strings.ReplaceAll(strings.ReplaceAll(x.Value, "@{PATH}", dir), "@PATH", dir)
		}
		return true
	})
}

// ParseCache shares parsed extern files between the loads of one check:
// every service module of a system extends the same library checkout,
// which is then parsed once instead of once per module. A tree is never
// changed after its load (the @{PATH} rewrite is part of it, so the
// folder is part of the key), so loads running at the same time share it.
// The zero value is ready; a nil cache parses every time.
type ParseCache struct{ m sync.Map }

type parsedFile struct {
	once  sync.Once
	src   []byte
	f     *ast.File
	diags diag.List
}

// parse parses src, the content of file (abs: its absolute path), with
// @{PATH} rewritten to dir.
func (c *ParseCache) parse(file, abs, dir string, src []byte) (*ast.File, diag.List) {
	fresh := func() (*ast.File, diag.List) {
		f, ds := syntax.Parse(file, src)
		if f != nil {
			rewriteAtPath(f, dir)
		}
		return f, ds
	}
	if c == nil {
		return fresh()
	}
	v, _ := c.m.LoadOrStore(file+"\x00"+abs+"\x00"+dir, &parsedFile{})
	p := v.(*parsedFile)
	p.once.Do(func() { p.src = src; p.f, p.diags = fresh() })
	if !bytes.Equal(p.src, src) {
		// The file changed between two reads: this load parses its own.
		return fresh()
	}
	return p.f, slices.Clone(p.diags)
}
