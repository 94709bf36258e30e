package syntax

import "github.com/gxl-dev/gxl/lang/ast"

// arena hands out the fast path's most frequent AST nodes from slabs, one
// allocation per slabN nodes instead of one per node. A tree is used and
// dropped as a whole, so slabs cost no extra retention. A nil *arena
// allocates each node on its own (the participle path).
type arena struct {
	idents   []ast.Ident
	identPtr []*ast.Ident
	paths    []ast.Path
	strs     []ast.StringLit
	parts    []ast.StrPart
	refs     []refSeg
	args     []ast.Arg
	argPtr   []*ast.Arg
	exprs    []ast.Expr
	calls    []ast.Call
	assigns  []ast.Assign
	blocks   []ast.Block
	stmts    []ast.Stmt

	scratch []ast.StrPart // splitPlain's parts before they are sized
}

// refSeg is a ${NAME} reference with room for its one segment.
type refSeg struct {
	r   ast.VarRef
	seg [1]ast.Segment
}

const slabN = 256

func one[T any](s *[]T) *T {
	if len(*s) == 0 {
		*s = make([]T, slabN)
	}
	p := &(*s)[0]
	*s = (*s)[1:]
	return p
}

// many returns a slice of length and capacity n (appending to it never
// reaches a neighbour).
func many[T any](s *[]T, n int) []T {
	if n > slabN/8 {
		return make([]T, n)
	}
	if len(*s) < n {
		*s = make([]T, slabN)
	}
	out := (*s)[:n:n]
	*s = (*s)[n:]
	return out
}

func (a *arena) strLit() *ast.StringLit {
	if a == nil {
		return new(ast.StringLit)
	}
	return one(&a.strs)
}

func (a *arena) strParts(n int) []ast.StrPart {
	if a == nil {
		return make([]ast.StrPart, n)
	}
	return many(&a.parts, n)
}

func (a *arena) refSeg() *refSeg {
	if a == nil {
		return new(refSeg)
	}
	return one(&a.refs)
}
