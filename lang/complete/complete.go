// Package complete is the one completer of GXL source: from the checker's
// data (the flows, envs, modules, fns and activities of a check.Program)
// and the built-in registry's names, parameters, types and defaults. The
// REPL completes its input lines with it and `gxl lsp` an editor's
// buffer; both hand it the text before the cursor.
package complete

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/check"
)

// Kind says what a candidate is.
type Kind int

// Kinds of candidates.
const (
	Keyword Kind = iota
	Annotation
	Builtin
	Family
	Module
	Fn
	Activity
	Flow
	Env
	Variable
	Argument
)

// Item is one candidate.
type Item struct {
	// Label is the whole word the candidate completes to (what replaces
	// the part already typed).
	Label  string
	Kind   Kind
	Detail string // a type, a signature, a default
	Doc    string
}

// Source is what completion knows.
type Source struct {
	Prog *check.Program // may be nil
	Reg  *builtin.Registry
	// Vars are variables in scope besides those the program's modules
	// and envs export (the REPL's live variables; the predefined and the
	// system's variables for an editor), with their types when known.
	Vars  []string
	Types map[string]types.Type
	// Local are the variables of the flow around the cursor (FlowVars).
	Local []Item
	// File says the text is a whole file (an editor's buffer): module
	// items, annotations and pipelines complete too. A REPL line is
	// statements only.
	File bool
}

// Keywords of statements, of module bodies and of the top level.
var (
	stmtKeywords = []string{"if", "for", "gx.vars"}
	modKeywords  = []string{"flow", "env", "fn", "activity"}
	topKeywords  = []string{"mod", "extern"}
)

// Complete returns the candidates for the word that ends head (the text
// before the cursor), and the length in bytes of the part of that word
// already typed.
func (s Source) Complete(head string) ([]Item, int) {
	start := len(head)
	for start > 0 && IsWordByte(head[start-1]) {
		start--
	}
	word := head[start:]
	before := head[:start]
	if strings.HasSuffix(before, "${") {
		return filterFold(s.Variables(), word), len(word)
	}
	if inString(before) {
		return nil, 0
	}
	if s.File {
		if annotationPosition(before) {
			return filter(items(check.Annotations, Annotation), word), len(word)
		}
		if what, ok := pipelinePosition(before); ok {
			return filter(s.named(what), word), len(word)
		}
	}
	if callee, ok := argPosition(before); ok {
		return filter(s.params(callee), word), len(word)
	}
	if !stmtStart(before) {
		return nil, 0
	}
	if s.File {
		switch depth(before) {
		case 0:
			return filter(items(topKeywords, Keyword), word), len(word)
		case 1:
			return filter(items(modKeywords, Keyword), word), len(word)
		}
	}
	return filter(s.callables(), word), len(word)
}

// IsWordByte reports whether c may be part of a completed word (names,
// dotted paths).
func IsWordByte(c byte) bool {
	return c == '_' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func items(names []string, k Kind) []Item {
	out := make([]Item, 0, len(names))
	for _, n := range names {
		out = append(out, Item{Label: n, Kind: k})
	}
	return out
}

// stmtStart reports whether text ends where a statement may start.
func stmtStart(text string) bool {
	t := strings.TrimRight(text, " \t\r\n")
	return t == "" || strings.ContainsAny(t[len(t)-1:], ";{}")
}

// inString reports whether text ends inside a "..." string.
func inString(text string) bool {
	open := false
	for i := 0; i < len(text); i++ {
		switch {
		case open && text[i] == '\\':
			i++
		case text[i] == '"':
			open = !open
		case text[i] == '\n':
			open = false
		}
	}
	return open
}

// depth is the number of braces open at the end of text, strings,
// comments and command blocks skipped.
func depth(text string) int {
	d := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case strings.HasPrefix(text[i:], "```"):
			end := strings.Index(text[i+3:], "```")
			if end < 0 {
				return d
			}
			i += 3 + end + 2
		case c == '"':
			for i++; i < len(text) && text[i] != '"' && text[i] != '\n'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case c == '/' && strings.HasPrefix(text[i:], "//"), c == '#' && !strings.HasPrefix(text[i:], "#["):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '{':
			d++
		case c == '}':
			d = max(0, d-1)
		}
	}
	return d
}

// annotationPosition reports whether text ends where an annotation name
// may start: after `#[` or a `,` inside an open `#[...]`.
func annotationPosition(text string) bool {
	t := strings.TrimRight(text, " \t")
	open := strings.LastIndex(t, "#[")
	if open < 0 || strings.Contains(t[open:], "]") || strings.Contains(t[open:], "\n") {
		return false
	}
	last := t[len(t)-1]
	if last != '[' && last != ',' {
		return false
	}
	return strings.Count(t[open:], "(") == strings.Count(t[open:], ")")
}

// pipelinePosition reports whether text ends where a flow head's
// pipeline (`flow a : b`, `flow a | b`), an env's mixins (`env a : b`) or a
// module's parents (`mod a : b`) expect a name, and which of flow, env or
// mod.
func pipelinePosition(text string) (Kind, bool) {
	t := strings.TrimRight(text, " \t")
	if t == "" || !strings.ContainsAny(t[len(t)-1:], ":|,@") {
		return 0, false
	}
	head := t[strings.LastIndexAny(t, "{};\n")+1:]
	fields := strings.Fields(head)
	if len(fields) < 2 {
		return 0, false
	}
	switch fields[0] {
	case "flow":
		return Flow, true
	case "env":
		return Env, true
	case "mod":
		return Module, true
	}
	return 0, false
}

// argPosition reports whether text ends where a call argument's name may
// start (right after `(` or `,` of an open call), and the call's target.
func argPosition(text string) (string, bool) {
	t := strings.TrimRight(text, " \t\r\n")
	if t == "" || (t[len(t)-1] != '(' && t[len(t)-1] != ',') {
		return "", false
	}
	// Find the innermost open parenthesis, skipping strings and brackets.
	depth := 0
	for i := len(t) - 1; i >= 0; i-- {
		switch t[i] {
		case ')', ']', '}':
			depth++
		case '[', '{':
			if depth == 0 {
				return "", false // inside a list or object literal
			}
			depth--
		case '(':
			if depth > 0 {
				depth--
				continue
			}
			j := i
			for j > 0 && IsWordByte(t[j-1]) {
				j--
			}
			if j == i {
				return "", false
			}
			return t[j:i], true
		case '"':
			// Skip back over a string.
			for i--; i >= 0 && !(t[i] == '"' && (i == 0 || t[i-1] != '\\')); i-- {
			}
		}
	}
	return "", false
}

// params are the argument names of a built-in, fn or activity, each
// followed by ": ", with its type and default.
func (s Source) params(callee string) []Item {
	if s.Reg != nil {
		if b, ok := s.Reg.Lookup(callee); ok {
			var out []Item
			for _, p := range b.Params {
				if p.Deprecated != nil {
					continue
				}
				detail := ParamDetail(p)
				for _, n := range append([]string{p.Name}, p.Aliases...) {
					out = append(out, Item{Label: n + ": ", Kind: Argument, Detail: detail, Doc: p.Doc})
				}
			}
			return out
		}
	}
	if s.Prog == nil {
		return nil
	}
	mod, item := s.Prog.Module("main"), callee
	if i := strings.IndexByte(callee, '.'); i >= 0 {
		mod, item = s.Prog.Module(callee[:i]), callee[i+1:]
	}
	if mod == nil {
		return nil
	}
	var ps []*ast.Param
	if fn := mod.Fn(item); fn != nil {
		ps = fn.Decl.Params
	} else if a := mod.Activity(item); a != nil {
		ps = a.Decl.Params
	}
	var out []Item
	for _, p := range ps {
		if p.Name.Name == "executer" {
			continue
		}
		detail := "required"
		if p.Default != nil {
			detail = "default " + exprText(p.Default)
		}
		out = append(out, Item{Label: p.Name.Name + ": ", Kind: Argument, Detail: detail})
	}
	return out
}

// ParamDetail is a built-in parameter's type and default ("string,
// default \"x\"", "int, required").
func ParamDetail(p builtin.Param) string {
	d := p.Type.String()
	switch {
	case p.Required:
		d += ", required"
	case p.Default.IsValid():
		d += fmt.Sprintf(", default %s", p.Default.String())
	}
	if len(p.Enum) > 0 {
		d += ", one of " + strings.Join(p.Enum, " ")
	}
	return d
}

// exprText is the source text of a default value.
func exprText(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.StringLit:
		if v.IsConstant() {
			return fmt.Sprintf("%q", v.ConstValue())
		}
	case *ast.NumberLit:
		return v.Text
	case *ast.BoolLit:
		return fmt.Sprint(v.Value)
	case *ast.VarRef:
		return v.Source()
	}
	return "…"
}

// callables are what a statement may start with: built-ins, families,
// modules, fns and activities of main (unqualified) and of every module
// (qualified), and the keywords.
func (s Source) callables() []Item {
	out := items(stmtKeywords, Keyword)
	if s.Reg != nil {
		for _, n := range s.Reg.Names() {
			b, _ := s.Reg.Lookup(n)
			out = append(out, Item{Label: n, Kind: Builtin, Detail: Signature(b), Doc: b.Doc})
		}
		for _, f := range s.Reg.Families() {
			out = append(out, Item{Label: f + ".", Kind: Family})
		}
	}
	if s.Prog != nil {
		for _, m := range s.Prog.Mods {
			for _, fn := range m.Fns {
				it := Item{Label: m.Name + "." + fn.Name, Kind: Fn, Detail: "fn " + fn.Name + params(fn.Decl.Params)}
				out = append(out, it)
				if m.Name == "main" {
					it.Label = fn.Name
					out = append(out, it)
				}
			}
			for _, a := range m.Activities {
				it := Item{Label: m.Name + "." + a.Name, Kind: Activity, Detail: "activity " + a.Name + params(a.Decl.Params)}
				out = append(out, it)
				if m.Name == "main" {
					it.Label = a.Name
					out = append(out, it)
				}
			}
		}
	}
	return uniq(out)
}

// Signature is a built-in's name and parameters, as hover and completion
// show it.
func Signature(b *builtin.Builtin) string {
	var ps []string
	for _, p := range b.Params {
		if p.Deprecated != nil {
			continue
		}
		n := p.Name + ": " + p.Type.String()
		if !p.Required {
			n += "?"
		}
		ps = append(ps, n)
	}
	return b.Name + "(" + strings.Join(ps, ", ") + ")"
}

func params(ps []*ast.Param) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name.Name)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// named are the flows, envs or modules a pipeline, mixin list or parent
// list may name: unqualified for main's, qualified for every module's.
func (s Source) named(k Kind) []Item {
	if s.Prog == nil {
		return nil
	}
	var out []Item
	add := func(m *check.Module, name, detail string) {
		if m.Name == "main" || (k == Env && (m.Name == "env" || m.Name == "envs")) {
			out = append(out, Item{Label: name, Kind: k, Detail: detail})
		}
		out = append(out, Item{Label: m.Name + "." + name, Kind: k, Detail: detail})
	}
	for _, m := range s.Prog.Mods {
		switch k {
		case Module:
			out = append(out, Item{Label: m.Name, Kind: Module})
		case Flow:
			for _, f := range m.Flows {
				d := ""
				if f.Ann.Usage != nil {
					d = f.Ann.Usage.Desp
				}
				add(m, f.Name, d)
			}
		case Env:
			for _, e := range m.Envs {
				add(m, e.Name, "")
			}
		}
	}
	return uniq(out)
}

// Variables are the variables in scope and the ones the program's envs
// and module properties export.
func (s Source) Variables() []Item {
	out := append([]Item(nil), s.Local...)
	for _, v := range s.Vars {
		it := Item{Label: v, Kind: Variable}
		if t, ok := s.Types[v]; ok {
			it.Detail = t.String()
		}
		out = append(out, it)
	}
	if s.Prog != nil {
		for _, m := range s.Prog.Mods {
			for _, p := range m.Props {
				out = append(out, Item{Label: strings.ToUpper(m.Name) + "_" + p.Key.Name, Kind: Variable, Detail: "property of mod " + m.Name})
			}
			if m.Name == "main" || m.Name == "env" || m.Name == "envs" {
				for _, e := range m.Envs {
					if e.Decl.Body == nil {
						continue
					}
					for _, st := range e.Decl.Body.Stmts {
						if a, ok := st.(*ast.Assign); ok {
							out = append(out, Item{Label: "ENV_" + a.Key.Name, Kind: Variable, Detail: "property of env " + e.Name})
						}
					}
				}
			}
		}
	}
	return uniqFold(out)
}

func filter(cands []Item, prefix string) []Item {
	var out []Item
	for _, c := range cands {
		if strings.HasPrefix(c.Label, prefix) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// filterFold matches case-insensitively (variable names are) and keeps
// the case the user typed for the part already written.
func filterFold(cands []Item, prefix string) []Item {
	var out []Item
	for _, c := range cands {
		if len(c.Label) >= len(prefix) && strings.EqualFold(c.Label[:len(prefix)], prefix) {
			c.Label = prefix + c.Label[len(prefix):]
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return uniq(out)
}

func uniq(in []Item) []Item {
	seen := map[string]bool{}
	var out []Item
	for _, s := range in {
		if !seen[s.Label] {
			seen[s.Label] = true
			out = append(out, s)
		}
	}
	return out
}

func uniqFold(in []Item) []Item {
	seen := map[string]bool{}
	var out []Item
	for _, s := range in {
		k := strings.ToLower(s.Label)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// Labels are the items' labels.
func Labels(l []Item) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, it := range l {
		out[i] = it.Label
	}
	return out
}

// FlowVars are the variables the flow around offset off of file sets
// before off: its assignments and gx.vars entries (in any block before
// the cursor) and the variable of each `for` loop the cursor is in.
func FlowVars(prog *check.Program, file string, off int) []Item {
	if prog == nil {
		return nil
	}
	var out []Item
	for _, m := range prog.Mods {
		for _, f := range m.Flows {
			d := f.Decl
			if d == nil || d.Body == nil || f.Host != m {
				continue
			}
			sp := d.Span()
			if sp.Start.File != file || off < sp.Start.Offset || off > sp.End.Offset {
				continue
			}
			where := "set in flow " + f.Name
			ast.Inspect(d.Body, func(n ast.Node) bool {
				ns := n.Span()
				if ns.Start.Offset > off {
					return false
				}
				switch x := n.(type) {
				case *ast.Assign:
					if ns.End.Offset <= off {
						out = append(out, Item{Label: x.Key.Name, Kind: Variable, Detail: where})
					}
				case *ast.For:
					if x.Var != nil && x.Body != nil && off >= x.Body.Span().Start.Offset && off <= x.Body.Span().End.Offset {
						out = append(out, Item{Label: x.Var.Name, Kind: Variable, Detail: "loop variable in flow " + f.Name})
					}
				}
				return true
			})
		}
	}
	return out
}
