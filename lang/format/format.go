// Package format prints a GXL syntax tree in gxl's canonical layout
// (`gxl fmt`). It keeps every comment, keeps one blank line where the source
// had one or more between items, and never changes meaning: parsing its
// output gives the same tree (spans aside). The output stays within what the
// original tool accepts whenever the input did: properties end in `;`, no
// `;` follows `if`/`for` blocks, no trailing commas are added.
package format

import (
	"bytes"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
)

const indentUnit = "    "

// File formats a parsed file.
func File(f *ast.File) []byte {
	p := &printer{comments: f.Comments, src: f.Src}
	for i, it := range f.Items {
		_, isMod := it.(*ast.Mod)
		prevMod := false
		if i > 0 {
			_, prevMod = f.Items[i-1].(*ast.Mod)
		}
		p.item(it, i == 0, isMod || prevMod)
		switch n := it.(type) {
		case *ast.Extern:
			p.extern(n)
		case *ast.Mod:
			p.mod(n)
		}
	}
	p.flushComments(-1)
	out := bytes.TrimLeft(p.buf.Bytes(), "\n")
	out = bytes.TrimRight(out, "\n")
	if len(out) == 0 {
		return nil
	}
	return append(out, '\n')
}

type printer struct {
	src      []byte
	buf      bytes.Buffer
	indent   int
	comments []*ast.Comment
	ci       int
	// lastLine is the source line where the last printed node ended; it
	// decides blank lines and trailing comments.
	lastLine int
	// lineOpen is true when the current output line has content.
	lineOpen bool
}

func (p *printer) write(s string) {
	if !p.lineOpen {
		p.buf.WriteString(strings.Repeat(indentUnit, p.indent))
		p.lineOpen = true
	}
	p.buf.WriteString(s)
}

func (p *printer) newline() {
	p.buf.WriteByte('\n')
	p.lineOpen = false
}

func (p *printer) blankLine() {
	if p.lineOpen {
		p.newline()
	}
	b := p.buf.Bytes()
	if len(b) >= 2 && b[len(b)-1] == '\n' && b[len(b)-2] == '\n' {
		return
	}
	if len(b) == 0 {
		return
	}
	if bytes.HasSuffix(b, []byte("{\n")) {
		return
	}
	p.buf.WriteByte('\n')
}

// item prepares the start of an item at the node's position: a blank line
// when sep is set or the source had one (placed before the item's leading
// comments), then the leading comments.
func (p *printer) item(n ast.Node, first, sep bool) {
	sp := n.Span()
	startLine := sp.Start.Line
	if p.ci < len(p.comments) && p.comments[p.ci].Span().Start.Offset < sp.Start.Offset {
		startLine = p.comments[p.ci].Span().Start.Line
	}
	if p.lineOpen {
		p.newline()
	}
	if !first && (sep || (p.lastLine > 0 && startLine > p.lastLine+1)) {
		p.blankLine()
	}
	p.flushComments(sp.Start.Offset)
	if p.lineOpen {
		p.newline()
	}
}

// flushComments prints comments that start before offset (all when offset
// < 0). A comment on the same source line as the previous node's end stays
// on that line.
func (p *printer) flushComments(offset int) {
	for p.ci < len(p.comments) {
		c := p.comments[p.ci]
		if offset >= 0 && c.Span().Start.Offset >= offset {
			break
		}
		p.ci++
		line := c.Span().Start.Line
		if p.lineOpen && line == p.lastLine {
			p.buf.WriteString(" " + CommentText(c))
			p.newline()
		} else {
			if p.lineOpen {
				p.newline()
			}
			if p.lastLine > 0 && line > p.lastLine+1 {
				p.blankLine()
			}
			p.writeComment(c)
			p.newline()
		}
		p.lastLine = c.Span().End.Line
	}
}

func (p *printer) writeComment(c *ast.Comment) {
	text := CommentText(c)
	if c.Kind != ast.BlockComment || !strings.Contains(text, "\n") {
		p.write(text)
		return
	}
	// Multi-line block comments are kept verbatim (their inner layout is
	// the author's), but for trailing spaces.
	lines := strings.Split(text, "\n")
	p.write(lines[0])
	for _, l := range lines[1:] {
		p.buf.WriteByte('\n')
		p.buf.WriteString(l)
	}
}

// CommentText is a comment as the formatter prints it: without trailing
// spaces, on every line of a block comment and at its end. SameTree
// compares comments by it, so removing them does not change a file's
// meaning.
func CommentText(c *ast.Comment) string {
	text := strings.TrimRight(c.Text, " \t\r\n")
	if !strings.Contains(text, "\n") {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}

// end records that a node ending at sp was printed, and prints trailing
// comments on the same source line.
func (p *printer) end(sp diag.Span) {
	p.lastLine = sp.End.Line
	if !sp.End.IsValid() {
		p.lastLine = sp.Start.Line
	}
	for p.ci < len(p.comments) {
		c := p.comments[p.ci]
		if c.Span().Start.Line != p.lastLine || c.Span().Start.Offset < sp.Start.Offset || !p.onlySpaceBetween(sp.End.Offset, c.Span().Start.Offset) {
			break
		}
		p.ci++
		p.write(" " + CommentText(c))
		p.lastLine = c.Span().End.Line
	}
	if p.lineOpen {
		p.newline()
	}
}

// onlySpaceBetween reports whether the source between two offsets holds
// nothing but blanks and terminators, so a comment there trails the node.
func (p *printer) onlySpaceBetween(from, to int) bool {
	if from < 0 || to > len(p.src) || from > to {
		return false
	}
	for _, ch := range p.src[from:to] {
		switch ch {
		case ' ', '\t', ';', ',':
		default:
			return false
		}
	}
	return true
}

// closeBlock prints comments left before the closing brace at end, then "}".
func (p *printer) closeBlock(end diag.Pos) {
	p.indent++
	p.flushComments(end.Offset)
	p.indent--
	if p.lineOpen {
		p.newline()
	}
	p.write("}")
}

func (p *printer) annotations(anns []*ast.Annotation) {
	if len(anns) == 0 {
		return
	}
	group := anns[0].Group
	var cur []string
	flush := func() {
		p.write("#[" + strings.Join(cur, ", ") + "]")
		p.newline()
		cur = nil
	}
	for _, a := range anns {
		if a.Group != group && len(cur) > 0 {
			flush()
			group = a.Group
		}
		cur = append(cur, annotation(a))
	}
	if len(cur) > 0 {
		flush()
	}
}

func annotation(a *ast.Annotation) string {
	s := a.Name.Name
	if a.Args == nil {
		return s
	}
	var args []string
	for _, arg := range a.Args {
		v := expr(arg.Value)
		if arg.Key != nil {
			v = arg.Key.Name + "=" + v
		}
		args = append(args, v)
	}
	return s + "(" + strings.Join(args, ", ") + ")"
}

func (p *printer) extern(e *ast.Extern) {
	var names []string
	for _, n := range e.Names {
		names = append(names, n.Name)
	}
	var props []string
	for _, pr := range e.Props {
		props = append(props, pr.Key.Name+" = "+pr.Value.Raw)
	}
	p.write("extern mod " + strings.Join(names, ", ") + " { " + strings.Join(props, "; ") + "; }")
	p.end(e.Span())
}

func paths(ps []*ast.Path) string {
	var out []string
	for _, x := range ps {
		out = append(out, x.String())
	}
	return strings.Join(out, ", ")
}

func refs(rs []*ast.Ref) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func (p *printer) mod(m *ast.Mod) {
	p.annotations(m.Annotations)
	head := "mod " + m.Name.Name
	if m.HasColon {
		head += " :"
		if len(m.Parents) > 0 {
			head += " " + paths(m.Parents)
		}
	}
	p.write(head + " {")
	p.lastLine = m.Name.Span().End.Line
	p.newline()
	p.indent++
	prevKind := ""
	for i, it := range m.Items {
		// Definitions are separated from each other and from properties by
		// a blank line.
		kind := itemKind(it)
		p.item(it, i == 0, kind != "prop" || prevKind != "prop")
		prevKind = kind
		switch n := it.(type) {
		case *ast.Assign:
			p.assign(n)
		case *ast.Env:
			p.env(n)
		case *ast.Flow:
			p.flow(n)
		case *ast.Fn:
			p.fn(n)
		case *ast.Activity:
			p.activity(n)
		}
	}
	p.indent--
	p.closeBlock(m.Span().End)
	p.end(m.Span())
}

func itemKind(it ast.ModItem) string {
	if _, ok := it.(*ast.Assign); ok {
		return "prop"
	}
	return "def"
}

func (p *printer) env(e *ast.Env) {
	p.annotations(e.Annotations)
	head := "env " + e.Name.Name
	if e.HasColon || len(e.Mixins) > 0 {
		head += " : " + strings.Join(refs(e.Mixins), ", ")
		head = strings.TrimRight(head, " ")
	}
	p.headAndBody(head, e.Body, e.Span())
}

// headAndBody prints `head;` for a body-less item or `head { ... }`.
func (p *printer) headAndBody(head string, body *ast.Block, sp diag.Span) {
	if body == nil {
		p.write(head + ";")
		p.end(sp)
		return
	}
	p.write(head + " ")
	p.block(body)
	p.end(sp)
}

func (p *printer) flow(f *ast.Flow) {
	p.annotations(f.Annotations)
	head := "flow "
	switch f.Form {
	case ast.FlowPlain:
		head += f.Name.Name
	case ast.FlowColon:
		head += f.Name.Name + " : " + strings.Join(refs(f.Pre), ", ")
		if f.HasPostColon || len(f.Post) > 0 {
			head = strings.TrimRight(head, " ") + " : " + strings.Join(refs(f.Post), ", ")
		}
		head = strings.TrimRight(head, " ")
	case ast.FlowPipe:
		var parts []string
		parts = append(parts, refs(f.Pre)...)
		if f.AtName {
			parts = append(parts, "@"+f.Name.Name)
		} else {
			parts = append(parts, f.Name.Name)
		}
		parts = append(parts, refs(f.Post)...)
		head += strings.Join(parts, " | ")
	}
	p.headAndBody(head, f.Body, f.Span())
}

func paramText(pr *ast.Param) string {
	s := pr.Name.Name
	if pr.Star {
		s = "*" + s
	}
	if pr.Default != nil {
		s += " = " + expr(pr.Default)
	}
	return s
}

func params(ps []*ast.Param, sep string) string {
	var out []string
	for _, pr := range ps {
		out = append(out, paramText(pr))
	}
	return strings.Join(out, sep)
}

func (p *printer) fn(f *ast.Fn) {
	p.annotations(f.Annotations)
	head := "fn " + f.Name.Name + "(" + params(f.Params, ", ") + ")"
	p.headAndBody(head, f.Body, f.Span())
}

func (p *printer) activity(a *ast.Activity) {
	p.annotations(a.Annotations)
	p.write("activity " + a.Name.Name + " {")
	if len(a.Params) == 0 {
		p.write("}")
		p.end(a.Span())
		return
	}
	p.lastLine = a.Name.Span().End.Line
	p.newline()
	p.indent++
	for i, pr := range a.Params {
		p.item(pr, i == 0, false)
		p.write(paramText(pr) + ";")
		p.end(pr.Span())
	}
	p.indent--
	p.closeBlock(a.Span().End)
	p.end(a.Span())
}

// block prints "{ ... }" starting on the current line; the caller ends the line.
func (p *printer) block(b *ast.Block) {
	p.write("{")
	if len(b.Stmts) == 0 && !p.hasCommentsBefore(b.Span().End.Offset) {
		p.write("}")
		p.lastLine = b.Span().End.Line
		return
	}
	p.lastLine = b.Span().Start.Line
	p.newline()
	p.indent++
	for i, s := range b.Stmts {
		p.item(s, i == 0, false)
		p.stmt(s)
	}
	p.indent--
	p.closeBlock(b.Span().End)
	p.lastLine = b.Span().End.Line
}

func (p *printer) hasCommentsBefore(offset int) bool {
	return p.ci < len(p.comments) && p.comments[p.ci].Span().Start.Offset < offset
}

func (p *printer) stmt(s ast.Stmt) {
	switch n := s.(type) {
	case *ast.Assign:
		p.assign(n)
	case *ast.Call:
		p.write(call(n) + ";")
		p.end(n.Span())
	case *ast.CmdBlock:
		// The block's text is the author's shell code: kept verbatim.
		p.write("```cmd" + n.Raw + "```")
		p.end(n.Span())
	case *ast.VarsBlock:
		p.write(n.Target.String() + " {")
		p.lastLine = n.Target.Span().End.Line
		p.newline()
		p.indent++
		for i, a := range n.Assigns {
			p.item(a, i == 0, false)
			p.assign(a)
		}
		p.indent--
		p.closeBlock(n.Span().End)
		p.end(n.Span())
	case *ast.If:
		p.write("if " + cond(n.Cond) + " ")
		p.block(n.Then)
		for _, ei := range n.ElseIfs {
			p.write(" else if " + cond(ei.Cond) + " ")
			p.block(ei.Then)
		}
		if n.Else != nil {
			p.write(" else ")
			p.block(n.Else)
		}
		p.end(n.Span())
	case *ast.For:
		p.write("for " + n.Var.Source() + " in " + n.In.Source() + " ")
		p.block(n.Body)
		p.end(n.Span())
	}
}

func (p *printer) assign(a *ast.Assign) {
	p.write(a.Key.Name + " = " + expr(a.Value) + ";")
	p.end(a.Span())
}

func call(c *ast.Call) string {
	var args []string
	for _, a := range c.Args {
		v := expr(a.Value)
		if a.Key != nil {
			v = a.Key.Name + ": " + v
		}
		args = append(args, v)
	}
	return c.Target.String() + "(" + strings.Join(args, ", ") + ")"
}

// expr prints a value on one line.
func expr(e ast.Expr) string {
	switch n := e.(type) {
	case *ast.StringLit:
		return n.Raw
	case *ast.RawStringLit:
		return n.Raw
	case *ast.NumberLit:
		return n.Text
	case *ast.BoolLit:
		return n.Text
	case *ast.Word:
		return n.Text
	case *ast.VarRef:
		return n.Source()
	case *ast.ListLit:
		var out []string
		for _, x := range n.Elems {
			out = append(out, expr(x))
		}
		return "[" + strings.Join(out, ", ") + "]"
	case *ast.ObjectLit:
		if len(n.Entries) == 0 {
			return "{}"
		}
		var out []string
		for _, en := range n.Entries {
			out = append(out, en.Key.Name+" : "+expr(en.Value))
		}
		return "{ " + strings.Join(out, ", ") + " }"
	}
	return ""
}

// cond prints a condition; parentheses are kept exactly where written, so
// the parse tree is unchanged.
func cond(c ast.Cond) string {
	switch n := c.(type) {
	case *ast.CondBinary:
		return cond(n.L) + " " + n.Op + " " + cond(n.R)
	case *ast.CondUnary:
		return n.Op + cond(n.X)
	case *ast.CondParen:
		return "(" + cond(n.X) + ")"
	case *ast.CondDefined:
		return "defined(" + n.Var.Source() + ")"
	case *ast.CondOperand:
		return expr(n.X)
	}
	return ""
}
