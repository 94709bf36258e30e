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
	Pos    lexer.Position
	Extern *gExtern `parser:"  @@"`
	Mod    *gMod    `parser:"| @@"`
	Semi   bool     `parser:"| @';'"`
}

type gIdent struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   string `parser:"@Ident"`
}

type gPath struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Parts  []*gIdent `parser:"@@ ( '.' @@ )*"`
}

type gExtern struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Names  []*gIdent      `parser:"'extern' 'mod' @@ ( ',' @@ )*"`
	Props  []*gExternProp `parser:"'{' ( @@ ( ';' | ',' )? )* '}' ';'?"`
}

type gExternProp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Key    *gIdent `parser:"@@ '='"`
	Value  *gValue `parser:"@@"`
}

type gAnnGroup struct {
	Pos  lexer.Position
	Anns []*gAnn `parser:"AnnOpen @@ ( ',' @@ )* ','? ']'"`
}

type gAnn struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent    `parser:"@@"`
	Paren  bool       `parser:"( @'('"`
	Args   []*gAnnArg `parser:"  ( @@ ( ',' @@ )* ','? )? ')' )?"`
}

type gAnnArg struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Key    *gIdent `parser:"( @@ '=' )?"`
	Value  *gValue `parser:"( @@"`
	Word   *gPath  `parser:"| @@ )"`
}

type gMod struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Anns    []*gAnnGroup `parser:"@@*"`
	Name    *gIdent      `parser:"'mod' @@"`
	Colon   bool         `parser:"( @':'"`
	Parents []*gPath     `parser:"  ( @@ ( ',' @@ )* )? )?"`
	Items   []*gModItem  `parser:"'{' @@*"`
	RBrace  *gClose      `parser:"@@ ';'?"`
}

// gClose captures the position of a closing brace.
type gClose struct {
	Pos lexer.Position
	Tok string `parser:"@'}'"`
}

type gModItem struct {
	Pos      lexer.Position
	Anns     []*gAnnGroup `parser:"@@*"`
	Env      *gEnv        `parser:"( @@"`
	Flow     *gFlow       `parser:"| @@"`
	Fn       *gFn         `parser:"| @@"`
	Activity *gActivity   `parser:"| @@"`
	Stmt     *gPathStmt   `parser:"| @@"`
	Semi     bool         `parser:"| @';' )"`
}

type gEnv struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"'env' @@"`
	Colon  bool    `parser:"( @':'"`
	Mixins []*gRef `parser:"  ( @@ ( ',' @@ )* )? )?"`
	Body   *gBlock `parser:"( @@ ';'? | ';' )"`
}

type gRef struct {
	Pos    lexer.Position
	EndPos lexer.Position
	At     bool    `parser:"@'@'?"`
	Path   *gPath  `parser:"( @@"`
	Var    *string `parser:"| @VarRef )"`
}

type gFlow struct {
	Pos       lexer.Position
	EndPos    lexer.Position
	First     *gRef   `parser:"'flow' @@"`
	Colon     bool    `parser:"( ( @':'"`
	Pre       []*gRef `parser:"    ( @@ ( ',' @@ )* )?"`
	PostColon bool    `parser:"    ( @':'"`
	Post      []*gRef `parser:"      ( @@ ( ',' @@ )* )? )? )"`
	Pipe      []*gRef `parser:"  | ( '|' @@ )+"`
	Tilde     []*gRef `parser:"  | ( '~' @@ )+ )?"`
	Body      *gBlock `parser:"( @@ ';'? | ';' )"`
}

type gFn struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent   `parser:"'fn' @@"`
	Params []*gParam `parser:"'(' ( @@ ( ',' @@ )* ','? )? ')'"`
	Body   *gBlock   `parser:"( @@ ';'? | ';' )"`
}

type gParam struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Star    bool    `parser:"@'*'?"`
	Name    *gIdent `parser:"@@"`
	Default *gValue `parser:"( '=' @@ )?"`
}

type gActivity struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent   `parser:"'activity' @@ '{'"`
	Params []*gParam `parser:"( @@ ( ';' | ',' )? )*"`
	RBrace *gClose   `parser:"@@ ';'?"`
}

type gBlock struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Stmts  []*gStmt `parser:"'{' @@*"`
	RBrace *gClose  `parser:"@@"`
}

type gStmt struct {
	Pos    lexer.Position
	EndPos lexer.Position
	If     *gIf       `parser:"  @@"`
	For    *gFor      `parser:"| @@"`
	Cmd    *string    `parser:"| @CmdBlock"`
	Path   *gPathStmt `parser:"| @@"`
	Semi   bool       `parser:"| @';'"`
}

// gPathStmt is everything that starts with a name: an assignment, a call,
// `gx.vars { }` (and the obsolete `gx.cmd { }` form). It never starts with
// `if` or `for`, so that an error inside those statements is reported in
// their terms, not as a broken assignment.
type gPathStmt struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Path   *gPath     `parser:"(?! 'if' | 'for' ) @@"`
	Assign *gValue    `parser:"( '=' @@ ( ';' | ',' )?"`
	Call   *gCallArgs `parser:"| @@ ';'?"`
	Braces *gBraces   `parser:"| @@ ';'? )"`
}

type gCallArgs struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Args   []*gArg `parser:"'(' ( @@ ( ',' @@ )* ','? )? ')'"`
}

type gArg struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Key    *gIdent `parser:"( @@ ':' )?"`
	Value  *gValue `parser:"@@"`
}

// gBraces is `{ k = v; ... }` after a name (gx.vars), also accepting the
// obsolete `k : v` separators so they can be reported.
type gBraces struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Entries []*gBraceEntry `parser:"'{' ( @@ ( ';' | ',' )? )*"`
	RBrace  *gClose        `parser:"@@"`
}

type gBraceEntry struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Key    *gPath  `parser:"@@"`
	Colon  bool    `parser:"( '=' | @':' )"`
	Value  *gValue `parser:"@@"`
}

type gIf struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Cond    *gOr       `parser:"'if' @@"`
	Then    *gBlock    `parser:"@@"`
	ElseIfs []*gElseIf `parser:"@@*"`
	Else    *gBlock    `parser:"( 'else' @@ )? ';'?"`
}

type gElseIf struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Cond   *gOr    `parser:"'else' 'if' @@"`
	Then   *gBlock `parser:"@@"`
}

type gFor struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Var    *gValue `parser:"'for' @@"`
	In     *gValue `parser:"'in' @@"`
	Body   *gBlock `parser:"@@ ';'?"`
}

// Conditions: || over && over comparisons over unary ! over primaries.

type gOr struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gAnd      `parser:"@@"`
	Rest   []*gOrRest `parser:"@@*"`
}

type gOrRest struct {
	Pos   lexer.Position
	Op    string `parser:"@'||'"`
	Right *gAnd  `parser:"@@"`
}

type gAnd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gCmp       `parser:"@@"`
	Rest   []*gAndRest `parser:"@@*"`
}

type gAndRest struct {
	Pos   lexer.Position
	Op    string `parser:"@'&&'"`
	Right *gCmp  `parser:"@@"`
}

type gCmp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gUnary     `parser:"@@"`
	Rest   []*gCmpRest `parser:"@@*"`
}

type gCmpRest struct {
	Pos   lexer.Position
	Op    string  `parser:"@( '==' | '!=' | '=*' | '<=' | '>=' | '<' | '>' | '=' )"`
	Right *gUnary `parser:"@@"`
}

type gUnary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    bool    `parser:"( @'!'"`
	X      *gUnary `parser:"  @@ )"`
	Prim   *gPrim  `parser:"| @@"`
}

type gPrim struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Paren   *gOr      `parser:"  '(' @@ ')'"`
	Defined *gDefined `parser:"| @@"`
	Value   *gValue   `parser:"| @@"`
	Bare    *gPath    `parser:"| @@"`
}

type gDefined struct {
	Pos    lexer.Position
	EndPos lexer.Position
	GxPref bool    `parser:"( @'gx' '.' )?"`
	Key    *gIdent `parser:"'defined' '(' ( @@ ':' )?"`
	Arg    *gValue `parser:"@@ ')'"`
}

type gValue struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Str    *string `parser:"  @String"`
	Raw    *string `parser:"| @RawString"`
	Float  *string `parser:"| @Float"`
	Int    *string `parser:"| @Int"`
	Bool   *string `parser:"| @Bool"` // value.ParseBool's words, lexed as Bool
	Var    *string `parser:"| @VarRef"`
	List   *gList  `parser:"| @@"`
	Obj    *gObj   `parser:"| @@"`
}

type gList struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Elems  []*gValue `parser:"'[' ( @@ ( ',' @@ )* ','? )? ']'"`
}

type gObj struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Entries []*gObjEntry `parser:"'{' ( @@ ( ',' @@ )* ','? )? '}'"`
}

type gObjEntry struct {
	Pos    lexer.Position
	EndPos lexer.Position
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
