package syntax

import "github.com/gxl-dev/gxl/lang/ast"

// arena hands out the fast path's AST nodes from slabs, one allocation
// per up to slabN nodes instead of one per node (fewer, larger objects for
// the allocator and the GC). Trees are normally kept or dropped as a whole;
// a node kept alone keeps its slab alive. A nil *arena allocates each node
// on its own (the participle path).
type arena struct {
	idents   slab[ast.Ident]
	identPtr slab[*ast.Ident]
	paths    slab[ast.Path]
	strs     slab[ast.StringLit]
	parts    slab[ast.StrPart]
	refs     slab[refSeg]
	args     slab[ast.Arg]
	argPtr   slab[*ast.Arg]
	exprs    slab[ast.Expr]
	calls    slab[ast.Call]
	assigns  slab[ast.Assign]
	blocks   slab[ast.Block]
	stmts    slab[ast.Stmt]

	scratch []ast.StrPart // splitPlain's parts before they are sized

	mods    slab[ast.Mod]
	flows   slab[ast.Flow]
	ifs     slab[ast.If]
	fors    slab[ast.For]
	nums    slab[ast.NumberLit]
	bools   slab[ast.BoolLit]
	lists   slab[ast.ListLit]
	objs    slab[ast.ObjectLit]
	cbins   slab[ast.CondBinary]
	cuns    slab[ast.CondUnary]
	cparens slab[ast.CondParen]
	cdefs   slab[ast.CondDefined]
	cops    slab[ast.CondOperand]
	anns    slab[ast.Annotation]
	annArgs slab[ast.AnnArg]
	words   slab[ast.Word]
}

// refSeg is a ${NAME} reference with room for its one segment.
type refSeg struct {
	r   ast.VarRef
	seg [1]ast.Segment
}

const slabN = 256

// slab hands out elements of a T array; arrays grow from a few elements
// to slabN, so small files do not pay for big slabs.
type slab[T any] struct {
	buf  []T
	size int
}

func (s *slab[T]) refill(n int) {
	s.size = min(max(2*s.size, 8), slabN)
	s.buf = make([]T, max(s.size, n))
}

func one[T any](s *slab[T]) *T {
	if len(s.buf) == 0 {
		s.refill(1)
	}
	p := &s.buf[0]
	s.buf = s.buf[1:]
	return p
}

// put stores v in the slab and returns its address.
func put[T any](s *slab[T], v T) *T {
	p := one(s)
	*p = v
	return p
}

// many returns a slice of length and capacity n (appending to it never
// reaches a neighbour).
func many[T any](s *slab[T], n int) []T {
	if n > slabN/8 {
		return make([]T, n)
	}
	if len(s.buf) < n {
		s.refill(n)
	}
	out := s.buf[:n:n]
	s.buf = s.buf[n:]
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
