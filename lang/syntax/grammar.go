package syntax

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The participle grammar. It is deliberately a little wider than GXL so
// that obsolete forms (brace built-ins, `~` flows, bare names in
// conditions) parse and are then rejected by convert.go with a precise hint.

type gFile struct {
	Items []*gTop `parser:"@@*"`
}

type gTop struct {
	Extern *gExtern `parser:"  @@"`
	Mod    *gMod    `parser:"| @@"`
	Semi   bool     `parser:"| @';'"`

	// conv is this item already converted, with its diagnostics, when a
	// file parsed in pieces converted it on the piece's core (split.go).
	conv *converted
}

// gPath is a dotted name: its tokens, the dots included, captured at once
// (names are tokens, not nodes: a node costs participle several
// allocations, a token capture one).
type gPath struct {
	Parts []lexer.Token `parser:"@( Ident ( '.' Ident )* )"`
}

type gExtern struct {
	Tokens []lexer.Token
	Names  []lexer.Token  `parser:"'extern' 'mod' @( Ident ( ',' Ident )* )"`
	Props  []*gExternProp `parser:"'{' ( @@ ( ';' | ',' )? )* '}' ';'?"`
}

type gExternProp struct {
	Tokens []lexer.Token
	Key    lexer.Token `parser:"@Ident '='"`
	Value  *gValue     `parser:"@@"`
}

type gAnnGroup struct {
	Tokens []lexer.Token
	Anns   []*gAnn `parser:"AnnOpen @@ ( ',' @@ )* ','? ']'"`
}

type gAnn struct {
	Tokens []lexer.Token
	Name   lexer.Token `parser:"@Ident"`
	Paren  bool        `parser:"( @'('"`
	Args   []*gAnnArg  `parser:"  ( @@ ( ',' @@ )* ','? )? ')' )?"`
}

type gAnnArg struct {
	Tokens []lexer.Token
	Key    lexer.Token `parser:"( @Ident ( '=' | ':' ) )?"`
	Value  *gValue     `parser:"( @@"`
	Word   *gPath      `parser:"| @@ )"`
}

type gMod struct {
	Tokens  []lexer.Token
	Anns    []*gAnnGroup `parser:"@@*"`
	Name    lexer.Token  `parser:"'mod' @Ident"`
	Colon   bool         `parser:"( @':'"`
	Parents []*gPath     `parser:"  ( @@ ( ',' @@ )* )? )?"`
	Open    lexer.Token  `parser:"@'{'"`
	Items   []*gModItem  `parser:"@@*"`
	RBrace  bool         `parser:"'}' ';'?"`

	// first is Items converted, and more the items of the pieces this body
	// was cut into after the first, each converted on its own core
	// (split.go), in order.
	first *converted
	more  []*converted
}

type gModItem struct {
	Anns     []*gAnnGroup `parser:"@@*"`
	Flow     *gFlow       `parser:"( @@"`
	Stmt     *gPathStmt   `parser:"| @@"`
	Env      *gEnv        `parser:"| @@"`
	Fn       *gFn         `parser:"| @@"`
	Activity *gActivity   `parser:"| @@"`
	Semi     bool         `parser:"| @';' )"`
}

type gEnv struct {
	Tokens []lexer.Token
	Name   lexer.Token `parser:"'env' @Ident"`
	Colon  bool        `parser:"( @':'"`
	Mixins []*gRef     `parser:"  ( @@ ( ',' @@ )* )? )?"`
	Body   *gBlock     `parser:"( @@ ';'? | ';' )"`
}

// gRef is a flow or mixin reference: `name`, `mod.name`, `${VAR}`, each
// with an optional `@`, captured as its tokens (no nodes: see gPath).
type gRef struct {
	Toks []lexer.Token `parser:"@( Ident ( '.' Ident )* | VarRef | '@' ( Ident ( '.' Ident )* | VarRef ) )"`
}

// at says whether the reference is marked with `@`.
func (g *gRef) at() bool { return g.Toks[0].Type == tPunct && g.Toks[0].Value == "@" }

// path is the dotted name referred to; nil for a ${VAR}.
func (g *gRef) path() *gPath {
	r := g.Toks
	if g.at() {
		r = r[1:]
	}
	if r[0].Type == tVarRef {
		return nil
	}
	return &gPath{Parts: r}
}

// The pipeline alternatives start with their first `|` (or `~`) outside a
// group: a `( '|' @@ )+` that fails after its `|` matches nothing, and
// participle drops the error of an alternative that matched nothing, so
// `flow a | { }` was reported at the `|`, not at the `{` where a name is
// missing.
type gFlow struct {
	Tokens    []lexer.Token
	First     *gRef   `parser:"'flow' @@"`
	Colon     bool    `parser:"( (?! '{' ) ( ( @':'"`
	Pre       []*gRef `parser:"    ( @@ ( ',' @@ )* )?"`
	PostColon bool    `parser:"    ( @':'"`
	Post      []*gRef `parser:"      ( @@ ( ',' @@ )* )? )? )"`
	Pipe      []*gRef `parser:"  | '|' @@ ( '|' @@ )*"`
	Tilde     []*gRef `parser:"  | '~' @@ ( '~' @@ )* ) )?"`
	Body      *gBlock `parser:"( @@ ';'? | ';' )"`
}

type gFn struct {
	Tokens []lexer.Token
	Name   lexer.Token `parser:"'fn' @Ident"`
	Params []*gParam   `parser:"'(' ( @@ ( ',' @@ )* ','? )? ')'"`
	Body   *gBlock     `parser:"( @@ ';'? | ';' )"`
}

type gParam struct {
	Tokens  []lexer.Token
	Star    bool        `parser:"@'*'?"`
	Name    lexer.Token `parser:"@Ident"`
	Default *gValue     `parser:"( '=' @@ )?"`
}

type gActivity struct {
	Tokens []lexer.Token
	Name   lexer.Token `parser:"'activity' @Ident '{'"`
	Params []*gParam   `parser:"( @@ ( ';' | ',' )? )*"`
	RBrace bool        `parser:"'}' ';'?"`
}

// A closing brace is matched, not captured: nothing reads it (a node's
// span comes from its tokens), and a capture or a node of its own costs
// participle allocations on every block. The RBrace fields stay unset.
type gBlock struct {
	Tokens []lexer.Token
	Stmts  []*gStmt `parser:"'{' ( (?! '}' ) @@ )*"`
	RBrace bool     `parser:"'}'"`
}

type gStmt struct {
	// The path statement (assignments and calls, most statements) is
	// tried first: it cannot start with `if` or `for`.
	Path *gPathStmt  `parser:"  @@"`
	If   *gIf        `parser:"| @@"`
	For  *gFor       `parser:"| @@"`
	Cmd  lexer.Token `parser:"| @CmdBlock"`
	Semi bool        `parser:"| @';'"`
}

// gPathStmt is everything that starts with a name: an assignment, a call,
// `gx.vars { }` (and the obsolete `gx.cmd { }` form). It never starts with
// `if`, `for` or `else`, so that an error inside those statements is reported in
// their terms, not as a broken assignment. Its path is a token capture of
// its own (not a gPath node, which would cost participle about seven more
// allocations per statement).
type gPathStmt struct {
	Tokens []lexer.Token
	Path   []lexer.Token `parser:"(?! 'if' ) (?! 'for' ) (?! 'else' ) @( Ident ( '.' Ident )* )"`
	Assign *gValue       `parser:"( '=' @@ ( ';' | ',' )?"`
	Call   *gCallArgs    `parser:"| @@ ';'?"`
	Braces *gBraces      `parser:"| @@ ';'? )"`
}

// gCallArgs is a node of its own, not fields of gPathStmt: participle
// settles two errors at the same token by node, and as a node an error
// inside the parentheses is reported as the `)` missing for the `(` left
// open, not as the argument expected.
type gCallArgs struct {
	Args []*gArg `parser:"'(' ( @@ ( ',' @@ )* ','? )? ')'"`
}

type gArg struct {
	Tokens []lexer.Token
	Key    lexer.Token `parser:"( @Ident ':' )?"`
	Value  *gValue     `parser:"@@"`
}

// gBraces is `{ k = v; ... }` after a name (gx.vars), also accepting the
// obsolete `k : v` separators so they can be reported.
type gBraces struct {
	Tokens  []lexer.Token
	Entries []*gBraceEntry `parser:"'{' ( @@ ( ';' | ',' )? )*"`
	RBrace  bool           `parser:"'}'"`
}

type gBraceEntry struct {
	Tokens []lexer.Token
	Key    *gPath  `parser:"@@"`
	Colon  bool    `parser:"( '=' | @':' )"`
	Value  *gValue `parser:"@@"`
}

type gIf struct {
	Tokens  []lexer.Token
	Cond    *gOr       `parser:"'if' @@"`
	Then    *gBlock    `parser:"@@"`
	ElseIfs []*gElseIf `parser:"@@*"`
	Else    *gBlock    `parser:"( 'else' @@ )? ';'?"`
}

type gElseIf struct {
	Tokens []lexer.Token
	Cond   *gOr    `parser:"'else' 'if' @@"`
	Then   *gBlock `parser:"@@"`
}

type gFor struct {
	Tokens []lexer.Token
	Var    *gValue `parser:"'for' @@"`
	In     *gValue `parser:"'in' @@"`
	Body   *gBlock `parser:"@@ ';'?"`
}

// Conditions: || over && over comparisons over unary ! over primaries.

type gOr struct {
	Tokens []lexer.Token
	Left   *gAnd      `parser:"@@"`
	Rest   []*gOrRest `parser:"@@*"`
}

type gOrRest struct {
	Tokens []lexer.Token
	Op     string `parser:"@'||'"`
	Right  *gAnd  `parser:"@@"`
}

type gAnd struct {
	Tokens []lexer.Token
	Left   *gCmp       `parser:"@@"`
	Rest   []*gAndRest `parser:"@@*"`
}

type gAndRest struct {
	Tokens []lexer.Token
	Op     string `parser:"@'&&'"`
	Right  *gCmp  `parser:"@@"`
}

type gCmp struct {
	Tokens []lexer.Token
	Left   *gUnary     `parser:"@@"`
	Rest   []*gCmpRest `parser:"@@*"`
}

type gCmpRest struct {
	Tokens []lexer.Token
	Op     string  `parser:"@( '==' | '!=' | '=*' | '<=' | '>=' | '<' | '>' | '=' )"`
	Right  *gUnary `parser:"@@"`
}

type gUnary struct {
	Tokens []lexer.Token
	Not    bool    `parser:"( @'!'"`
	X      *gUnary `parser:"  @@ )"`
	Prim   *gPrim  `parser:"| @@"`
}

type gPrim struct {
	Tokens  []lexer.Token
	Paren   *gOr      `parser:"  '(' @@ ')'"`
	Defined *gDefined `parser:"| @@"`
	Value   *gValue   `parser:"| @@"`
	Bare    *gPath    `parser:"| @@"`
}

type gDefined struct {
	Tokens []lexer.Token
	// Not an optional `gx.` then `defined`: a sequence whose optional head
	// matched nothing has still begun, and its error at a value (`1`)
	// would say "expected `defined`" where any value may stand.
	GxPref bool        `parser:"( @'gx' '.' 'defined' | 'defined' )"`
	Key    lexer.Token `parser:"'(' ( @Ident ':' )?"`
	Arg    *gValue     `parser:"@@ ')'"`
}

type gValue struct {
	// Lit is a scalar: one token whose type says which (a capture of the
	// token costs one allocation, an alternative per type one branch each).
	Lit  lexer.Token `parser:"  @( String | VarRef | Int | Bool | RawString | Float )"`
	List *gList      `parser:"| @@"`
	Obj  *gObj       `parser:"| @@"`
}

type gList struct {
	Tokens []lexer.Token
	Elems  []*gValue `parser:"'[' ( @@ ( ',' @@ )* ','? )? ']'"`
}

type gObj struct {
	Tokens  []lexer.Token
	Entries []*gObjEntry `parser:"'{' ( @@ ( ',' @@ )* ','? )? '}'"`
}

type gObjEntry struct {
	Tokens []lexer.Token
	Key    *gPath  `parser:"@@ ':'"`
	Value  *gValue `parser:"@@"`
}

// The parsers are built once. newParser mentions symbols so that Go
// initialises the token table before the parsers that need it.
var (
	fileParser  = newParser[gFile]()
	stmtsParser = newParser[gStmts]()
	condParser  = newParser[gOr]()
)

func newParser[G any]() *participle.Parser[G] {
	_ = symbols
	return participle.MustBuild[G](
		participle.Lexer(definition{}),
		participle.Elide("Whitespace", "Comment"),
		// Unlimited lookahead: a failed alternative is always backtracked,
		// so the error participle returns is the one at the furthest token
		// any alternative reached (see errors.go). With a bounded
		// lookahead a statement that fails within the bound is silently
		// dropped and the error lands on its first token.
		participle.UseLookahead(-1),
	)
}

type gStmts struct {
	Stmts []*gStmt `parser:"@@*"`
}
