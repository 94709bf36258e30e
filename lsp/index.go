package lsp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/system"
)

// kind of a named thing.
type kind int

const (
	kMod kind = iota
	kFlow
	kEnv
	kFn
	kActivity
	kVar
	kBuiltin
)

func (k kind) String() string {
	return [...]string{"mod", "flow", "env", "fn", "activity", "variable", "built-in"}[k]
}

// occurrence is one place a name is written: its definition or a use.
// Uses are those the checker resolved (its Program's tables and Calls);
// variables are matched by name, as GXL's are, case-insensitively.
type occurrence struct {
	file  string // absolute
	start int    // byte offsets in the file
	end   int
	key   string // what it names: the definition's place, or var:NAME
	def   bool
	kind  kind
	flow  *check.Flow
	fn    *check.Fn
	act   *check.Activity
	env   *check.Env
	mod   *check.Module
	bi    string      // built-in name
	sysv  *system.Var // a system variable's definition
	name  string
}

// index is every occurrence of the analysed programs.
type index struct {
	occ  []occurrence
	sys  *system.System
	seen map[string]bool
}

// buildIndex reads the occurrences out of an analysis.
func buildIndex(an *engine.Analysis, source func(string) []byte) *index {
	ix := &index{sys: an.System, seen: map[string]bool{}}
	for _, p := range an.Programs {
		ix.program(p)
	}
	if an.System != nil {
		for _, v := range an.System.Vars {
			if !v.NameSpan.Start.IsValid() {
				continue
			}
			file := absPath(v.NameSpan.Start.File)
			src := string(source(file))
			start := spanOffset(src, v.NameSpan.Start)
			if !strings.HasPrefix(src[start:], v.Name) {
				continue
			}
			ix.add(occurrence{file: file, start: start, end: start + len(v.Name), key: varKey(v.Name), def: true, kind: kVar, sysv: v, name: v.Name})
		}
	}
	sort.SliceStable(ix.occ, func(i, j int) bool {
		a, b := ix.occ[i], ix.occ[j]
		if a.file != b.file {
			return a.file < b.file
		}
		return a.start < b.start
	})
	return ix
}

func varKey(name string) string { return "var:" + strings.ToLower(name) }

// defKey names a definition by where its name is written.
func defKey(k kind, id *ast.Ident) string {
	s := id.Span().Start
	return fmt.Sprintf("%s@%s:%d", k, absPath(s.File), s.Offset)
}

func (ix *index) add(o occurrence) {
	k := fmt.Sprintf("%s:%d:%d:%v", o.file, o.start, o.end, o.def)
	if ix.seen[k] {
		return
	}
	ix.seen[k] = true
	ix.occ = append(ix.occ, o)
}

// at adds an occurrence of the text sp holds.
func (ix *index) at(sp diag.Span, o occurrence) {
	if !sp.Start.IsValid() || sp.End.Offset < sp.Start.Offset {
		return
	}
	o.file, o.start, o.end = absPath(sp.Start.File), sp.Start.Offset, sp.End.Offset
	ix.add(o)
}

func (ix *index) program(p *check.Program) {
	for _, m := range p.Mods {
		if m.Decl == nil {
			continue
		}
		if m.Decl.Name != nil {
			ix.at(m.Decl.Name.Span(), occurrence{key: defKey(kMod, m.Decl.Name), def: true, kind: kMod, mod: m, name: m.Name})
		}
		for _, par := range m.Decl.Parents {
			if t := p.Module(par.String()); t != nil && t.Decl != nil {
				ix.at(par.Span(), occurrence{key: defKey(kMod, t.Decl.Name), kind: kMod, mod: t, name: t.Name})
			}
		}
		for _, prop := range m.Decl.Items {
			if a, ok := prop.(*ast.Assign); ok {
				name := strings.ToUpper(m.Name) + "_" + a.Key.Name
				ix.at(a.Key.Span(), occurrence{key: varKey(name), def: true, kind: kVar, name: name})
			}
		}
		for _, f := range m.Flows {
			if f.Host != m {
				continue
			}
			ix.at(f.Decl.Name.Span(), occurrence{key: defKey(kFlow, f.Decl.Name), def: true, kind: kFlow, flow: f, name: f.Name})
			for _, r := range append(append([]*ast.Ref(nil), f.Decl.Pre...), f.Decl.Post...) {
				if r.Path != nil && r.Path.String() != f.Name {
					ix.flowRef(p, m, r.Path.Span(), r.Path.String())
				}
			}
			for _, a := range f.Decl.Annotations {
				switch a.Name.Name {
				case "undo", "dryrun", "on_failure":
					for _, arg := range a.Args {
						ix.annRef(p, m, arg.Value)
					}
				}
			}
			ix.body(p, f.Decl.Body, false)
		}
		for _, e := range m.Envs {
			if e.Host != m {
				continue
			}
			ix.at(e.Decl.Name.Span(), occurrence{key: defKey(kEnv, e.Decl.Name), def: true, kind: kEnv, env: e, name: e.Name})
			for _, r := range e.Decl.Mixins {
				if r.Path == nil {
					continue
				}
				ix.envRef(p, m, r.Path.Span(), r.Path.String())
			}
			ix.body(p, e.Decl.Body, true)
		}
		for _, fn := range m.Fns {
			if fn.Host != m {
				continue
			}
			ix.at(fn.Decl.Name.Span(), occurrence{key: defKey(kFn, fn.Decl.Name), def: true, kind: kFn, fn: fn, name: fn.Name})
			ix.body(p, fn.Decl.Body, false)
		}
		for _, a := range m.Activities {
			if a.Host != m {
				continue
			}
			ix.at(a.Decl.Name.Span(), occurrence{key: defKey(kActivity, a.Decl.Name), def: true, kind: kActivity, act: a, name: a.Name})
		}
		ast.Inspect(m.Decl, func(n ast.Node) bool {
			if v, ok := n.(*ast.VarRef); ok {
				ix.varRef(p, v)
			}
			return true
		})
	}
	for call, t := range p.Calls {
		name := call.Target.String()
		sp := call.Target.Span()
		switch {
		case t.Builtin != nil:
			ix.at(sp, occurrence{key: "builtin:" + t.Builtin.Name, kind: kBuiltin, bi: t.Builtin.Name, name: name})
		case t.Fn != nil:
			ix.qualified(p, sp, name, occurrence{key: defKey(kFn, t.Fn.Decl.Name), kind: kFn, fn: t.Fn, name: t.Fn.Name})
		case t.Activity != nil:
			ix.qualified(p, sp, name, occurrence{key: defKey(kActivity, t.Activity.Decl.Name), kind: kActivity, act: t.Activity, name: t.Activity.Name})
		}
	}
}

// qualified adds a use of o written as name at sp: `item` or `mod.item`
// (the module part a use of the module).
func (ix *index) qualified(p *check.Program, sp diag.Span, name string, o occurrence) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		if m := p.Module(name[:i]); m != nil && m.Decl != nil {
			ix.at(sp.Slice(0, i), occurrence{key: defKey(kMod, m.Decl.Name), kind: kMod, mod: m, name: m.Name})
		}
		sp = sp.Slice(i+1, len(name))
	}
	ix.at(sp, o)
}

func split(owner *check.Module, p *check.Program, name string) (*check.Module, string) {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return p.Module(name[:i]), name[i+1:]
	}
	return owner, name
}

func (ix *index) flowRef(p *check.Program, owner *check.Module, sp diag.Span, name string) {
	m, item := split(owner, p, name)
	if m == nil {
		return
	}
	if f := m.Flow(item); f != nil {
		ix.qualified(p, sp, name, occurrence{key: defKey(kFlow, f.Decl.Name), kind: kFlow, flow: f, name: f.Name})
	}
}

func (ix *index) envRef(p *check.Program, owner *check.Module, sp diag.Span, name string) {
	m, item := split(owner, p, name)
	if m == nil {
		return
	}
	if e := m.Env(item); e != nil {
		ix.qualified(p, sp, name, occurrence{key: defKey(kEnv, e.Decl.Name), kind: kEnv, env: e, name: e.Name})
	}
}

// annRef is the flow an #[undo(x)], #[dryrun(x)] or #[on_failure(x)] names.
func (ix *index) annRef(p *check.Program, owner *check.Module, v ast.Expr) {
	switch w := v.(type) {
	case *ast.Word:
		ix.flowRef(p, owner, w.Span(), w.Text)
	case *ast.StringLit:
		if w.IsConstant() && w.Span().End.Offset-w.Span().Start.Offset == len(w.ConstValue())+2 {
			ix.flowRef(p, owner, w.Span().Slice(1, 1+len(w.ConstValue())), w.ConstValue())
		}
	}
}

// body adds the variables a body's property statements define (an env's
// as ENV_NAME).
func (ix *index) body(p *check.Program, b *ast.Block, env bool) {
	if b == nil {
		return
	}
	for _, st := range b.Stmts {
		if a, ok := st.(*ast.Assign); ok {
			name := a.Key.Name
			if env {
				name = "ENV_" + name
			}
			ix.at(a.Key.Span(), occurrence{key: varKey(name), def: true, kind: kVar, name: name})
		}
	}
}

// varRef adds the use of a variable: the root name after `${`.
func (ix *index) varRef(p *check.Program, v *ast.VarRef) {
	root := v.Root()
	sp := v.Span()
	file := p.Sources[sp.Start.File]
	if len(file) == 0 {
		for _, f := range p.Files {
			if f.Path == sp.Start.File {
				file = f.Src
			}
		}
	}
	s := sp.Start.Offset + 2
	if s+len(root) > len(file) || string(file[s:s+len(root)]) != root {
		return // not written as ${ROOT…} at its span
	}
	ix.at(sp.Slice(2, 2+len(root)), occurrence{key: varKey(root), kind: kVar, name: root})
}

// find is the occurrence at a byte offset of file.
func (ix *index) find(file string, off int) *occurrence {
	for i := range ix.occ {
		o := &ix.occ[i]
		if o.file == file && o.start <= off && off <= o.end {
			return o
		}
	}
	return nil
}

// all are the occurrences of key.
func (ix *index) all(key string) []occurrence {
	var out []occurrence
	for _, o := range ix.occ {
		if o.key == key {
			out = append(out, o)
		}
	}
	return out
}

// def is the definition of key: a system variable's first (vars.yml).
func (ix *index) def(key string) *occurrence {
	var first *occurrence
	for i := range ix.occ {
		o := &ix.occ[i]
		if o.key != key || !o.def {
			continue
		}
		if o.sysv != nil {
			return o
		}
		if first == nil {
			first = o
		}
	}
	return first
}
