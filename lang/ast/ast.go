// Package ast defines the syntax tree of GXL programs. The parser
// (lang/syntax) produces it, the checker (lang/check) resolves it, the
// formatter (lang/format) prints it and the runtime evaluates it. Every node
// knows its source span.
package ast

import "github.com/gxl-dev/gxl/core/diag"

// Node is any syntax tree node.
type Node interface {
	Span() diag.Span
}

// Sp is embedded in nodes to carry their span.
type Sp struct {
	S diag.Span
}

// Span returns the node's source range.
func (s Sp) Span() diag.Span { return s.S }

// File is one parsed .gxl file.
type File struct {
	Sp
	Path  string
	Src   []byte
	Items []TopItem // *Extern and *Mod in source order
	// Comments holds every comment of the file in source order; the formatter
	// re-attaches them by position.
	Comments []*Comment
}

// Externs returns the file's extern declarations.
func (f *File) Externs() []*Extern {
	var out []*Extern
	for _, it := range f.Items {
		if e, ok := it.(*Extern); ok {
			out = append(out, e)
		}
	}
	return out
}

// Mods returns the file's modules.
func (f *File) Mods() []*Mod {
	var out []*Mod
	for _, it := range f.Items {
		if m, ok := it.(*Mod); ok {
			out = append(out, m)
		}
	}
	return out
}

// TopItem is *Extern or *Mod.
type TopItem interface {
	Node
	topItem()
}

// CommentKind tells the comment styles apart.
type CommentKind int

// Comment styles.
const (
	LineComment  CommentKind = iota // // text
	BlockComment                    // /* text */
	HashComment                     // # text
)

// Comment is a source comment. Text is the full comment including markers.
type Comment struct {
	Sp
	Kind CommentKind
	Text string
}

// Ident is a name with its span.
type Ident struct {
	Sp
	Name string
}

// Path is a dotted reference such as `build`, `lib.hello` or `envs._common`.
type Path struct {
	Sp
	Parts []*Ident
	// name caches the joined parts (set by NewPath; the checker asks for
	// it on every call).
	name string
}

// NewPath builds a path and records its dotted name.
func NewPath(s Sp, parts []*Ident) *Path {
	p := &Path{Sp: s, Parts: parts}
	p.name = p.join()
	return p
}

// NewPathNamed is NewPath when the caller already has the dotted name.
func NewPathNamed(s Sp, parts []*Ident, name string) *Path {
	return &Path{Sp: s, Parts: parts, name: name}
}

// String joins the parts with dots.
func (p *Path) String() string {
	if p.name != "" {
		return p.name
	}
	return p.join()
}

func (p *Path) join() string {
	switch len(p.Parts) {
	case 0:
		return ""
	case 1:
		return p.Parts[0].Name
	}
	s := ""
	for i, id := range p.Parts {
		if i > 0 {
			s += "."
		}
		s += id.Name
	}
	return s
}

// Extern is `extern mod a, b { path = "..."; }` or the git form.
type Extern struct {
	Sp
	Names []*Ident
	Props []*ExternProp
}

func (*Extern) topItem() {}

// ExternProp is one `key = "value"` of an extern address block.
type ExternProp struct {
	Sp
	Key   *Ident
	Value *StringLit
}

// Prop returns the value of the named property (case-insensitive) or nil.
func (e *Extern) Prop(key string) *StringLit {
	for _, p := range e.Props {
		if equalFold(p.Key.Name, key) {
			return p.Value
		}
	}
	return nil
}

// IsGit reports whether this is the git form (first key `git`).
func (e *Extern) IsGit() bool {
	return len(e.Props) > 0 && equalFold(e.Props[0].Key.Name, "git")
}

// Annotation is one entry of an annotation group `#[a, b(x="y")]`.
type Annotation struct {
	Sp
	Name *Ident
	Args []*AnnArg
	// Group tells which `#[...]` group this annotation came from (several
	// groups may precede an item in gxl): annotations of one group have the
	// same Group, and the formatter keeps groups. It is derived from the
	// group's position, so like a position it is compared by its pattern
	// (which neighbours share it), not by its value.
	Group AnnGroup
}

// AnnGroup identifies an annotation group within a file.
type AnnGroup int

// AnnArg is `key="value"`, `key=token`, a bare token or a string.
type AnnArg struct {
	Sp
	Key   *Ident // nil when positional
	Value Expr   // *StringLit, *RawStringLit, *NumberLit, *BoolLit or *Word
}

// Word is a bare token used as an annotation argument (`entry`, `_undo_x`, `1s`).
type Word struct {
	Sp
	Text string
}

func (*Word) expr() {}

// Mod is `mod NAME : parents { ... }`.
type Mod struct {
	Sp
	Annotations []*Annotation
	Name        *Ident
	// HasColon is true when `:` was written (the parent list may still be empty).
	HasColon bool
	Parents  []*Path
	Items    []ModItem // properties and definitions in source order
}

func (*Mod) topItem() {}

// ModItem is *Assign, *Env, *Flow, *Fn or *Activity.
type ModItem interface {
	Node
	modItem()
}

// Env is `env NAME : mixins { ... }` or `env NAME : mixins ;`.
type Env struct {
	Sp
	Annotations []*Annotation
	Name        *Ident
	HasColon    bool
	Mixins      []*Ref
	// Body is nil for the body-less form.
	Body *Block
}

func (*Env) modItem() {}

// FlowForm records how a flow head was written (for the formatter).
type FlowForm int

// Flow head forms.
const (
	FlowPlain FlowForm = iota // flow name { }
	FlowColon                 // flow name : pre : post { }
	FlowPipe                  // flow a | @name | b { }
)

// Flow is any of the flow head forms, with or without a body.
type Flow struct {
	Sp
	Annotations []*Annotation
	Name        *Ident
	Form        FlowForm
	Pre         []*Ref
	Post        []*Ref
	// HasPostColon records a second `:` in the colon form (`flow a : p : q`).
	HasPostColon bool
	// AtName is true in the pipe form when the flow's own name was marked
	// with `@`; false for `flow name | post1 | post2` (first item is the name).
	AtName bool
	// Body is nil for reference-only flows (`flow a : b ;`).
	Body *Block
}

func (*Flow) modItem() {}

// Ref is a reference to a flow or env in a pipeline or mixin list: a dotted
// path, or a `${VAR}` (env mixins from the OS environment).
type Ref struct {
	Sp
	Path *Path   // set for path references
	Var  *VarRef // set for ${...} references
}

// String renders the reference as written.
func (r *Ref) String() string {
	if r.Path != nil {
		return r.Path.String()
	}
	if r.Var != nil {
		return "${" + r.Var.Name + "}"
	}
	return ""
}

// Fn is `fn NAME(params) { ... }`.
type Fn struct {
	Sp
	Annotations []*Annotation
	Name        *Ident
	Params      []*Param
	Body        *Block // nil for `fn f();`
}

func (*Fn) modItem() {}

// Activity is `activity NAME { p = default; ... }`.
type Activity struct {
	Sp
	Annotations []*Annotation
	Name        *Ident
	Params      []*Param
}

func (*Activity) modItem() {}

// Param is a fn or activity parameter: `*name`, `name = default`.
type Param struct {
	Sp
	Star    bool // accepts the unnamed argument
	Name    *Ident
	Default Expr // nil when required
}

// Block is `{ statements }`.
type Block struct {
	Sp
	Stmts []Stmt
}

// Stmt is *Assign, *If, *For, *Call, *CmdBlock or *VarsBlock.
type Stmt interface {
	Node
	stmt()
}

// Assign is a property or assignment `key = value;` (also the module and env
// properties). Key may contain dots.
type Assign struct {
	Sp
	Key   *Ident
	Value Expr
	// Sep is the terminator written: ';', ',' or 0 when omitted.
	Sep byte
}

func (*Assign) stmt()    {}
func (*Assign) modItem() {}

// If is `if cond { } else if cond { } else { }`.
type If struct {
	Sp
	Cond    Cond
	Then    *Block
	ElseIfs []*ElseIf
	Else    *Block // nil when absent
}

func (*If) stmt() {}

// ElseIf is one `else if cond { }` branch.
type ElseIf struct {
	Sp
	Cond Cond
	Then *Block
}

// For is `for ${X} in ${LIST} { }`.
type For struct {
	Sp
	Var  *VarRef
	In   *VarRef
	Body *Block
}

func (*For) stmt() {}

// Call is a built-in call (`gx.echo("x")`, `k8s.apply(...)`) or a call of a
// fn or activity (`greet("bob")`, `lib.copy(src: "a")`).
type Call struct {
	Sp
	Target *Path
	Args   []*Arg
}

func (*Call) stmt() {}

// Arg is one call argument; Key is nil for the unnamed argument.
type Arg struct {
	Sp
	Key   *Ident
	Value Expr
}

// CmdBlock is a fenced ```cmd ... ``` block. Raw is the text between the
// fences as written; Command is the processed command (escapes applied,
// common indentation removed, trimmed) split into text and ${...}
// interpolations whose positions point into the file.
type CmdBlock struct {
	Sp
	Raw     string
	Command *StringLit
}

func (*CmdBlock) stmt() {}

// VarsBlock is `gx.vars { k = v; ... }` (env bodies; gxl also accepts it in
// flow blocks).
type VarsBlock struct {
	Sp
	Target  *Path // the `gx.vars` path, for positions
	Assigns []*Assign
}

func (*VarsBlock) stmt() {}

// ---- values -------------------------------------------------------------

// Expr is a value: *StringLit, *RawStringLit, *NumberLit, *BoolLit,
// *ListLit, *ObjectLit, *VarRef (bare `${X}`), or *Word (annotations only).
type Expr interface {
	Node
	expr()
}

// StringLit is a "..." string. Parts alternate text and interpolations;
// text parts hold the value after escape processing.
type StringLit struct {
	Sp
	Raw   string // as written, including quotes
	Parts []StrPart
}

func (*StringLit) expr() {}

// IsConstant reports whether the string has no interpolation.
func (s *StringLit) IsConstant() bool {
	for _, p := range s.Parts {
		if p.Var != nil {
			return false
		}
	}
	return true
}

// ConstValue returns the text of a string without interpolations (and the
// texts of its parts joined, with interpolations rendered as written, otherwise).
func (s *StringLit) ConstValue() string {
	out := ""
	for _, p := range s.Parts {
		if p.Var != nil {
			out += p.Var.Source()
		} else {
			out += p.Text
		}
	}
	return out
}

// StrPart is literal text or an interpolation.
type StrPart struct {
	Sp
	Text string  // when Var == nil
	Var  *VarRef // `${NAME}` or `${NAME:default}`
}

// RawStringLit is r#"..."#: no escapes, no interpolation at parse time (the
// original interpolates raw strings at run time like any string value, so
// Parts splits it the same way).
type RawStringLit struct {
	Sp
	Raw   string // as written
	Value string // content between the delimiters
	Parts []StrPart
}

func (*RawStringLit) expr() {}

// NumberLit is an integer or float literal. Text is as written.
type NumberLit struct {
	Sp
	Text    string
	IsFloat bool
	Int     uint64 // integers are unsigned 64-bit
	Float   float64
}

func (*NumberLit) expr() {}

// BoolLit is true/TRUE/false/FALSE.
type BoolLit struct {
	Sp
	Text  string
	Value bool
}

func (*BoolLit) expr() {}

// ListLit is `[a, b]`.
type ListLit struct {
	Sp
	Elems []Expr
}

func (*ListLit) expr() {}

// ObjectLit is `{ key : value, ... }`.
type ObjectLit struct {
	Sp
	Entries []*ObjEntry
}

func (*ObjectLit) expr() {}

// ObjEntry is one `key : value` of an object literal.
type ObjEntry struct {
	Sp
	Key   *Ident
	Value Expr
}

// VarRef is `${NAME}`, `${A.B[0].C}` or `${NAME:default}`, used bare (a typed
// reference) or inside strings (interpolation).
type VarRef struct {
	Sp
	// Name is the reference as written between `${` and `}` or `:` (trimmed),
	// e.g. "A.B[0]".
	Name string
	// Segments is Name split into keys and indexes.
	Segments []Segment
	// Default is the text after `:` (nil when absent). Defaults are plain text.
	Default *string
}

func (*VarRef) expr() {}

// Source renders the reference as written.
func (v *VarRef) Source() string {
	if v.Default != nil {
		return "${" + v.Name + ":" + *v.Default + "}"
	}
	return "${" + v.Name + "}"
}

// Root returns the first key segment (the variable name proper).
func (v *VarRef) Root() string {
	if len(v.Segments) == 0 {
		return v.Name
	}
	return v.Segments[0].Key
}

// Segment is one step of a variable path: a key or a list index.
type Segment struct {
	Key     string // when !IsIndex
	Index   int    // when IsIndex
	IsIndex bool
}

// ---- conditions ---------------------------------------------------------

// Cond is a condition: *CondBinary, *CondUnary, *CondParen, *CondDefined or
// *CondOperand. The parser builds it with gxl's precedence
// (`!` > comparisons > `&&` > `||`).
type Cond interface {
	Node
	cond()
}

// CondBinary is `L op R` with op one of == != =* < <= > >= && ||.
type CondBinary struct {
	Sp
	Op    string
	OpPos diag.Span
	L, R  Cond
}

func (*CondBinary) cond() {}

// CondUnary is `!X`.
type CondUnary struct {
	Sp
	Op string
	X  Cond
}

func (*CondUnary) cond() {}

// CondParen is `(X)`.
type CondParen struct {
	Sp
	X Cond
}

func (*CondParen) cond() {}

// CondDefined is `defined(${X})` (optionally `defined(key: ${X})`).
type CondDefined struct {
	Sp
	Var *VarRef
}

func (*CondDefined) cond() {}

// CondOperand is a value in a condition: a *VarRef or a literal.
type CondOperand struct {
	Sp
	X Expr
}

func (*CondOperand) cond() {}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
