package lsp

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/lang/complete"
	"github.com/gxl-dev/gxl/lang/format"
	"github.com/gxl-dev/gxl/lang/predef"
	"github.com/gxl-dev/gxl/lang/syntax"
)

// at resolves a document position: the file's path, text and byte offset.
func (s *Server) at(uri string, pos protocol.Position) (string, string, int, error) {
	path, err := uriPath(uri)
	if err != nil {
		return "", "", 0, err
	}
	text := string(s.source(path))
	return path, text, offsetOf(text, pos), nil
}

// mainProgram is the program of path among an analysis's programs: the
// one whose files include it, else the first.
func mainProgram(r *result, path string) *check.Program {
	for _, p := range r.an.Programs {
		for _, f := range p.Files {
			if absPath(f.Path) == path {
				return p
			}
		}
	}
	if len(r.an.Programs) > 0 {
		return r.an.Programs[0]
	}
	return nil
}

var completionKinds = map[complete.Kind]protocol.CompletionItemKind{
	complete.Keyword: protocol.CompletionItemKindKeyword, complete.Annotation: protocol.CompletionItemKindProperty,
	complete.Builtin: protocol.CompletionItemKindFunction, complete.Family: protocol.CompletionItemKindModule,
	complete.Module: protocol.CompletionItemKindModule, complete.Fn: protocol.CompletionItemKindFunction,
	complete.Activity: protocol.CompletionItemKindFunction, complete.Flow: protocol.CompletionItemKindEvent,
	complete.Env: protocol.CompletionItemKindEnum, complete.Variable: protocol.CompletionItemKindVariable,
	complete.Argument: protocol.CompletionItemKindField,
}

func (s *Server) completion(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
	path, text, off, err := s.at(p.TextDocument.URI, p.Position)
	if err != nil {
		return nil, err
	}
	r := s.analysis(path)
	src := complete.Source{Prog: mainProgram(r, path), Reg: s.eng.Registry(), File: true, Types: map[string]types.Type{}}
	for _, v := range predef.Vars {
		src.Vars = append(src.Vars, v.Name)
		src.Types[v.Name] = v.Type
	}
	if r.an.System != nil {
		for _, v := range r.an.System.Vars {
			src.Vars = append(src.Vars, v.Name)
			src.Types[v.Name] = v.Type
		}
	}
	src.Local = complete.FlowVars(src.Prog, path, off)
	items, typed := src.Complete(text[:off])
	rng := protocol.Range{Start: positionOf(text, off-typed), End: positionOf(text, off)}
	out := make([]protocol.CompletionItem, 0, len(items))
	for _, it := range items {
		k := completionKinds[it.Kind]
		ci := protocol.CompletionItem{Label: it.Label, Kind: &k, TextEdit: protocol.TextEdit{Range: rng, NewText: it.Label}}
		if it.Detail != "" {
			d := it.Detail
			ci.Detail = &d
		}
		if it.Doc != "" {
			ci.Documentation = protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: it.Doc}
		}
		out = append(out, ci)
	}
	return protocol.CompletionList{IsIncomplete: false, Items: out}, nil
}

// lookup is the occurrence under the cursor.
func (s *Server) lookup(uri string, pos protocol.Position) (*result, *occurrence, error) {
	path, _, off, err := s.at(uri, pos)
	if err != nil {
		return nil, nil, err
	}
	r := s.analysis(path)
	return r, r.index.find(path, off), nil
}

func (s *Server) location(o occurrence) protocol.Location {
	text := string(s.source(o.file))
	return protocol.Location{URI: pathURI(o.file), Range: protocol.Range{Start: positionOf(text, o.start), End: positionOf(text, o.end)}}
}

func (s *Server) where(o *occurrence) string {
	text := string(s.source(o.file))
	p := positionOf(text, o.start)
	name := o.file
	if wd, err := filepath.Abs("."); err == nil {
		if rel, err := filepath.Rel(wd, o.file); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line+1, p.Character+1)
}

func (s *Server) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	r, o, err := s.lookup(p.TextDocument.URI, p.Position)
	if err != nil || o == nil {
		return nil, err
	}
	var b strings.Builder
	switch o.kind {
	case kBuiltin:
		bi, ok := s.eng.Registry().Lookup(o.bi)
		if !ok {
			return nil, nil
		}
		fmt.Fprintf(&b, "```gxl\n%s\n```\n\n%s\n", complete.Signature(bi), bi.Doc)
		for _, prm := range bi.Params {
			if prm.Deprecated == nil {
				fmt.Fprintf(&b, "\n- `%s` (%s) %s", prm.Name, complete.ParamDetail(prm), prm.Doc)
			}
		}
		if len(bi.Outputs) > 0 {
			fmt.Fprintf(&b, "\n\nsets: %s", strings.Join(bi.Outputs, ", "))
		}
	case kFlow:
		f := o.flow
		fmt.Fprintf(&b, "```gxl\nflow %s\n```\n", f.QualifiedName())
		if f.Ann.Usage != nil && f.Ann.Usage.Desp != "" {
			fmt.Fprintf(&b, "\n%s\n", f.Ann.Usage.Desp)
		}
		src := s.source(absPath(f.Decl.Span().Start.File))
		for _, a := range f.Decl.Annotations {
			sp := a.Span()
			if sp.End.Offset <= len(src) && sp.Start.Offset < sp.End.Offset {
				fmt.Fprintf(&b, "\n- `#[%s]`", src[sp.Start.Offset:sp.End.Offset])
			}
		}
		s.defined(&b, r, o.key)
	case kVar:
		s.hoverVar(&b, r, o)
	default:
		fmt.Fprintf(&b, "```gxl\n%s %s\n```\n", o.kind, o.name)
		if o.env != nil && o.env.Usage != nil {
			fmt.Fprintf(&b, "\n%s\n", o.env.Usage.Desp)
		}
		s.defined(&b, r, o.key)
	}
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: b.String()}, Range: ptr(s.location(*o).Range)}, nil
}

func ptr[T any](v T) *T { return &v }

func (s *Server) defined(b *strings.Builder, r *result, key string) {
	if d := r.index.def(key); d != nil {
		fmt.Fprintf(b, "\n\ndefined at %s", s.where(d))
	}
}

// hoverVar tells a variable's type and where it is defined: a system
// variable's vars.yml entry (type, group, description), a predefined
// variable's documentation, the program's definitions.
func (s *Server) hoverVar(b *strings.Builder, r *result, o *occurrence) {
	d := r.index.def(o.key)
	if d != nil && d.sysv != nil {
		v := d.sysv
		fmt.Fprintf(b, "```gxl\n${%s}: %s\n```\n", v.Name, v.Type)
		if v.Description != "" {
			fmt.Fprintf(b, "\n%s\n", v.Description)
		}
		if v.Constraints != "" {
			fmt.Fprintf(b, "\nconstraints: %s", v.Constraints)
		}
		if v.Group != "" {
			fmt.Fprintf(b, "\ngroup: %s", v.Group)
		}
		if v.Secret {
			b.WriteString("\nsecret: its value is masked")
		} else if v.Raw != "" {
			fmt.Fprintf(b, "\nvalue: `%s`", v.Raw)
		}
		fmt.Fprintf(b, "\n\ndefined at %s (system variable)", s.where(d))
		return
	}
	if v, ok := predef.Lookup(o.name); ok {
		fmt.Fprintf(b, "```gxl\n${%s}: %s\n```\n\npredefined: %s", v.Name, v.Type, v.Doc)
		return
	}
	fmt.Fprintf(b, "```gxl\n${%s}\n```", strings.ToUpper(o.name))
	if d != nil {
		fmt.Fprintf(b, "\n\ndefined at %s", s.where(d))
	} else {
		b.WriteString("\n\nnot defined in the program: the process environment may set it")
	}
}

func (s *Server) definition(_ *glsp.Context, p *protocol.DefinitionParams) (any, error) {
	r, o, err := s.lookup(p.TextDocument.URI, p.Position)
	if err != nil || o == nil {
		return nil, err
	}
	d := r.index.def(o.key)
	if d == nil {
		return nil, nil
	}
	return []protocol.Location{s.location(*d)}, nil
}

func (s *Server) references(_ *glsp.Context, p *protocol.ReferenceParams) ([]protocol.Location, error) {
	r, o, err := s.lookup(p.TextDocument.URI, p.Position)
	if err != nil || o == nil {
		return nil, err
	}
	var out []protocol.Location
	for _, x := range r.index.all(o.key) {
		if x.def && !p.Context.IncludeDeclaration {
			continue
		}
		out = append(out, s.location(x))
	}
	return out, nil
}

// rename renames a flow, env, fn, activity, module or variable in every
// file that names it. A variable is renamed where it is written under
// its own name (not where an env or module property exports it under a
// prefix).
func (s *Server) rename(_ *glsp.Context, p *protocol.RenameParams) (*protocol.WorkspaceEdit, error) {
	r, o, err := s.lookup(p.TextDocument.URI, p.Position)
	if err != nil {
		return nil, err
	}
	if o == nil || o.kind == kBuiltin {
		return nil, fmt.Errorf("nothing to rename here")
	}
	if !validName(p.NewName) {
		return nil, fmt.Errorf("%q is not a name", p.NewName)
	}
	edit := &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{}}
	for _, x := range r.index.all(o.key) {
		text := string(s.source(x.file))
		if x.end > len(text) || (o.kind == kVar && !strings.EqualFold(text[x.start:x.end], o.name)) {
			continue
		}
		loc := s.location(x)
		edit.Changes[loc.URI] = append(edit.Changes[loc.URI], protocol.TextEdit{Range: loc.Range, NewText: p.NewName})
	}
	return edit, nil
}

func validName(n string) bool {
	if n == "" || strings.Contains(n, ".") {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !complete.IsWordByte(n[i]) {
			return false
		}
	}
	return true
}

func (s *Server) documentSymbol(_ *glsp.Context, p *protocol.DocumentSymbolParams) (any, error) {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	src := s.source(path)
	f, _ := syntax.Parse(path, src)
	if f == nil {
		return []protocol.DocumentSymbol{}, nil
	}
	text := string(src)
	rng := func(sp diag.Span) protocol.Range {
		return protocol.Range{Start: positionOf(text, sp.Start.Offset), End: positionOf(text, sp.End.Offset)}
	}
	sym := func(name string, k protocol.SymbolKind, whole ast.Node, id *ast.Ident) protocol.DocumentSymbol {
		return protocol.DocumentSymbol{Name: name, Kind: k, Range: rng(whole.Span()), SelectionRange: rng(id.Span())}
	}
	out := []protocol.DocumentSymbol{}
	for _, m := range f.Mods() {
		ms := sym(m.Name.Name, protocol.SymbolKindModule, m, m.Name)
		for _, it := range m.Items {
			switch it := it.(type) {
			case *ast.Flow:
				ms.Children = append(ms.Children, sym(it.Name.Name, protocol.SymbolKindEvent, it, it.Name))
			case *ast.Env:
				ms.Children = append(ms.Children, sym(it.Name.Name, protocol.SymbolKindEnum, it, it.Name))
			case *ast.Fn:
				ms.Children = append(ms.Children, sym(it.Name.Name, protocol.SymbolKindFunction, it, it.Name))
			case *ast.Activity:
				ms.Children = append(ms.Children, sym(it.Name.Name, protocol.SymbolKindFunction, it, it.Name))
			case *ast.Assign:
				ms.Children = append(ms.Children, sym(it.Key.Name, protocol.SymbolKindProperty, it, it.Key))
			}
		}
		out = append(out, ms)
	}
	return out, nil
}

func (s *Server) formatting(_ *glsp.Context, p *protocol.DocumentFormattingParams) ([]protocol.TextEdit, error) {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	src := s.source(path)
	out, ds := format.Source(path, src)
	if out == nil || ds.HasErrors() || string(out) == string(src) {
		return []protocol.TextEdit{}, nil // nothing to do, or not safely
	}
	text := string(src)
	return []protocol.TextEdit{{Range: protocol.Range{End: positionOf(text, len(text))}, NewText: string(out)}}, nil
}

// codeAction offers the fix of every did-you-mean in the range: the
// checker's suggestion written over the misspelt name (diag.Fix).
func (s *Server) codeAction(_ *glsp.Context, p *protocol.CodeActionParams) (any, error) {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	r := s.analysis(path)
	text := string(s.source(path))
	from, to := offsetOf(text, p.Range.Start), offsetOf(text, p.Range.End)
	out := []protocol.CodeAction{}
	for _, d := range r.an.Diags {
		f := d.Fix
		if f == nil || absPath(f.Span.Start.File) != path {
			continue
		}
		start := spanOffset(text, f.Span.Start)
		end := start + len(f.Old)
		if end > len(text) || text[start:end] != f.Old || end < from || start > to {
			continue // the buffer moved on, or not in the range
		}
		kind := protocol.CodeActionKindQuickFix
		rng := protocol.Range{Start: positionOf(text, start), End: positionOf(text, end)}
		out = append(out, protocol.CodeAction{
			Title:       fmt.Sprintf("change `%s` to `%s`", f.Old, f.New),
			Kind:        &kind,
			Diagnostics: []protocol.Diagnostic{s.toDiagnostic(d)},
			IsPreferred: ptr(true),
			Edit:        &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{p.TextDocument.URI: {{Range: rng, NewText: f.New}}}},
		})
	}
	return out, nil
}

// semanticTokens marks names, annotations, variables, strings, numbers
// and comments from the file's syntax tree (keywords are the grammar's).
func (s *Server) semanticTokens(_ *glsp.Context, p *protocol.SemanticTokensParams) (*protocol.SemanticTokens, error) {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	src := s.source(path)
	f, _ := syntax.Parse(path, src)
	if f == nil {
		return &protocol.SemanticTokens{Data: []protocol.UInteger{}}, nil
	}
	return &protocol.SemanticTokens{Data: encodeTokens(string(src), fileTokens(f))}, nil
}

type token struct{ start, end, typ int }

const (
	tNamespace = iota
	tFunction
	tVariable
	tProperty
	tString
	tNumber
	tComment
	tDecorator
	tKeyword
	tParameter
)

func fileTokens(f *ast.File) []token {
	var out []token
	add := func(sp diag.Span, typ int) {
		if sp.Start.IsValid() && sp.End.Offset > sp.Start.Offset {
			out = append(out, token{sp.Start.Offset, sp.End.Offset, typ})
		}
	}
	for _, c := range f.Comments {
		add(c.Span(), tComment)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Mod:
			add(n.Name.Span(), tNamespace)
		case *ast.Flow:
			add(n.Name.Span(), tFunction)
		case *ast.Fn:
			add(n.Name.Span(), tFunction)
		case *ast.Activity:
			add(n.Name.Span(), tFunction)
		case *ast.Env:
			add(n.Name.Span(), tNamespace)
		case *ast.Param:
			add(n.Name.Span(), tParameter)
		case *ast.Annotation:
			add(n.Name.Span(), tDecorator)
		case *ast.Call:
			add(n.Target.Span(), tFunction)
		case *ast.Assign:
			add(n.Key.Span(), tProperty)
		case *ast.VarRef:
			add(n.Span(), tVariable)
		case *ast.StringLit, *ast.RawStringLit:
			add(n.Span(), tString)
		case *ast.NumberLit, *ast.BoolLit:
			add(n.Span(), tNumber)
		}
		return true
	})
	// Innermost first: a variable inside a string wins over the string.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].start != out[j].start {
			return out[i].start < out[j].start
		}
		return out[i].end < out[j].end
	})
	var kept []token
	for _, t := range out {
		if n := len(kept); n > 0 && t.start < kept[n-1].end {
			if t.end <= kept[n-1].end && t.typ != tString {
				// t is inside the previous token: keep the inner one.
				kept[n-1] = t
			}
			continue
		}
		kept = append(kept, t)
	}
	return kept
}

// encodeTokens is the protocol's relative encoding, each token cut to
// its first line.
func encodeTokens(text string, toks []token) []protocol.UInteger {
	data := []protocol.UInteger{}
	var prevLine, prevChar protocol.UInteger
	for _, t := range toks {
		if t.end > len(text) {
			continue
		}
		if nl := strings.IndexByte(text[t.start:t.end], '\n'); nl >= 0 {
			t.end = t.start + nl
		}
		p := positionOf(text, t.start)
		length := protocol.UInteger(utf16Len(text[t.start:t.end]))
		if length == 0 {
			continue
		}
		dl, dc := p.Line-prevLine, p.Character
		if dl == 0 {
			dc = p.Character - prevChar
		}
		data = append(data, dl, dc, length, protocol.UInteger(t.typ), 0)
		prevLine, prevChar = p.Line, p.Character
	}
	return data
}
