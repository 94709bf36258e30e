package check

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	exprtypes "github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/ast"
)

// CondProgram is an `if` / `else if` condition compiled with expr-lang/expr.
// Programs are immutable and safe for concurrent use.
type CondProgram struct {
	// Cond is the condition as parsed.
	Cond ast.Cond
	// Source is the expr-language text the condition was translated to
	// (variable reads are get(i), interpolated strings text(i)).
	Source string
	// Refs are the variable references the condition reads, indexed by
	// get(i); Defined are the defined() arguments, indexed by defined(i);
	// Texts are the interpolated string literals, indexed by text(i).
	Refs    []*ast.VarRef
	Defined []*ast.VarRef
	Texts   []*ast.StringLit
	// Lits are the list and object literals and the integers beyond
	// expr's int64, indexed by lit(i).
	Lits []ast.Expr

	segs []segment
	// segs are recorded by retranslating the condition on first need: they
	// only place errors (translation skips them by default).
	segsOnce sync.Once
	static   bool
	once     sync.Once
	prog     *vm.Program
	err      error
}

// CondResolver gives a condition access to the running program's variables.
type CondResolver interface {
	// Lookup resolves a variable reference among GXL variables.
	Lookup(ref *ast.VarRef) (value.Value, bool)
	// Defined implements defined(${X}): GXL variables or an OS environment
	// variable named exactly X.
	Defined(ref *ast.VarRef) bool
	// Text interpolates a string literal of the condition.
	Text(lit *ast.StringLit) (string, error)
	// Value computes a list or object literal of the condition.
	Value(lit ast.Expr) (value.Value, error)
}

// segment maps a range of the expr source back to a file span.
type segment struct {
	from, to int
	span     diag.Span
}

// translator turns an ast.Cond into expr source.
type translator struct {
	b      bytes.Buffer // reset and reused by the checker
	p      *CondProgram
	static bool // identifiers for variables (typing) instead of get(i)
	typeOf func(*ast.VarRef) exprtypes.Type
	// The static names and their types (the expr environment), and the
	// types of the references in get order.
	stat     []staticVar
	refTypes []exprtypes.Type
	segs     bool // record segments
	// rt, when set with static, receives the run-time translation in the
	// same walk.
	rt *strings.Builder
}

type staticVar struct {
	name string
	t    exprtypes.Type
}

// env is the static expr environment.
func (t *translator) env() exprtypes.Map {
	m := make(exprtypes.Map, len(t.stat))
	for _, v := range t.stat {
		m[v.name] = v.t
	}
	return m
}

// w writes text common to both translations.
func (t *translator) w(s string) {
	t.b.WriteString(s)
	if t.rt != nil {
		t.rt.WriteString(s)
	}
}

func (t *translator) emit(s string, sp diag.Span) {
	from := t.b.Len()
	t.w(s)
	if t.segs {
		t.p.segs = append(t.p.segs, segment{from: from, to: t.b.Len(), span: sp})
	}
}

// emitStatic emits a static name, and run to the run-time translation.
func (t *translator) emitStatic(name, run string, sp diag.Span) {
	from := t.b.Len()
	t.b.WriteString(name)
	if t.rt != nil {
		t.rt.WriteString(run)
	}
	if t.segs {
		t.p.segs = append(t.p.segs, segment{from: from, to: t.b.Len(), span: sp})
	}
}

// numbered returns prefix+i, with the common small numbers precomputed.
func numbered(names *[16]string, prefix string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return prefix + strconv.Itoa(i)
}

func numberedNames(format string) (out [16]string) {
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

var (
	vNames       = numberedNames("v%d")
	tNames       = numberedNames("t%d")
	getNames     = numberedNames("get(%d)")
	textNames    = numberedNames("text(%d)")
	definedNames = numberedNames("defined(%d)")
)

// segments returns the segments of the translation, computing them on
// first use.
func (p *CondProgram) segments() []segment {
	p.segsOnce.Do(func() {
		if p.segs != nil {
			return
		}
		q := &CondProgram{Cond: p.Cond}
		tr := &translator{p: q, segs: true, static: p.static}
		tr.cond(p.Cond)
		p.segs = q.segs
	})
	return p.segs
}

func (t *translator) cond(c ast.Cond) {
	switch n := c.(type) {
	case *ast.CondBinary:
		if fn := compareFuncs[n.Op]; fn != "" {
			t.emit(fn+"(", n.OpPos)
			t.cond(n.L)
			t.w(", ")
			t.cond(n.R)
			t.w(")")
			return
		}
		t.w("(")
		t.cond(n.L)
		op := n.Op
		t.emit(" "+op+" ", n.OpPos)
		t.cond(n.R)
		t.w(")")
	case *ast.CondUnary:
		t.emit("!", n.Span())
		t.cond(n.X)
	case *ast.CondParen:
		t.w("(")
		t.cond(n.X)
		t.w(")")
	case *ast.CondDefined:
		i := len(t.p.Defined)
		t.p.Defined = append(t.p.Defined, n.Var)
		t.emit(numbered(&definedNames, "defined(", i)+suffixIf(i, len(definedNames)), n.Span())
	case *ast.CondOperand:
		t.operand(n.X, n.Span())
	}
}

func (t *translator) operand(e ast.Expr, sp diag.Span) {
	switch x := e.(type) {
	case *ast.VarRef:
		i := len(t.p.Refs)
		t.p.Refs = append(t.p.Refs, x)
		if t.static {
			name := numbered(&vNames, "v", i)
			typ := exprtypes.Type(exprtypes.Any)
			if t.typeOf != nil {
				typ = t.typeOf(x)
			}
			t.stat = append(t.stat, staticVar{name, typ})
			t.refTypes = append(t.refTypes, typ)
			t.emitStatic(name, numbered(&getNames, "get(", i)+suffixIf(i, len(getNames)), x.Span())
			return
		}
		t.emit(numbered(&getNames, "get(", i)+suffixIf(i, len(getNames)), x.Span())
	case *ast.StringLit:
		if x.IsConstant() {
			t.emit(strconv.Quote(x.ConstValue()), x.Span())
			return
		}
		i := len(t.p.Texts)
		t.p.Texts = append(t.p.Texts, x)
		if t.static {
			name := numbered(&tNames, "t", i)
			t.stat = append(t.stat, staticVar{name, exprtypes.String})
			t.emitStatic(name, numbered(&textNames, "text(", i)+suffixIf(i, len(textNames)), x.Span())
			return
		}
		t.emit(numbered(&textNames, "text(", i)+suffixIf(i, len(textNames)), x.Span())
	case *ast.RawStringLit:
		t.emit(strconv.Quote(x.Value), x.Span())
	case *ast.NumberLit:
		if x.IsFloat {
			// Always with a point: expr reads "7" as an int.
			t.emit(strconv.FormatFloat(x.Float, 'f', -1, 64)+strings.Repeat(".0", boolInt(x.Float == math.Trunc(x.Float))), x.Span())
		} else {
			if x.Int > math.MaxInt64 {
				// Beyond expr's int literals: the runtime makes the value.
				i := len(t.p.Lits)
				t.p.Lits = append(t.p.Lits, x)
				t.emit("lit("+strconv.Itoa(i)+")", x.Span())
				return
			}
			t.emit(strconv.FormatUint(x.Int, 10), x.Span())
		}
	case *ast.BoolLit:
		t.emit(strconv.FormatBool(x.Value), x.Span())
	case *ast.ListLit, *ast.ObjectLit:
		// Evaluated by the runtime like a property value.
		i := len(t.p.Lits)
		t.p.Lits = append(t.p.Lits, x)
		t.emit("lit("+strconv.Itoa(i)+")", x.Span())
	default:
		t.emit("nil", sp)
	}
}

// rebase maps an expr error to a file span.
func (p *CondProgram) rebase(err error) diag.Span {
	var fe *file.Error
	if errors.As(err, &fe) {
		col := fe.From
		if col <= 0 {
			col = fe.Column
		}
		best := -1
		segs := p.segments()
		for i, s := range segs {
			if col >= s.from && col < s.to {
				if best < 0 || s.to-s.from < segs[best].to-segs[best].from {
					best = i
				}
			}
		}
		if best >= 0 {
			return segs[best].span
		}
	}
	return p.Cond.Span()
}

// exprMessage cleans expr's message (drops its own snippet).
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

func exprType(t types.Type) exprtypes.Type {
	switch t {
	case types.String, types.Duration:
		return exprtypes.String
	case types.Int:
		return exprtypes.Int64
	case types.Float:
		return exprtypes.Float64
	case types.Bool:
		return exprtypes.Bool
	}
	return exprtypes.Any
}

// compareFuncs name the functions comparisons are translated to: expr
// only combines their results, so GXL's one equality (value.Equal) and
// ordering (value.Compare) decide, with errors instead of crashes.
var compareFuncs = map[string]string{"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=*": "wildmatch"}

// staticFuncs declare the condition functions for static typing.
var staticFuncs = func() []expr.Option {
	opts := []expr.Option{
		expr.Function("defined", func(params ...any) (any, error) { return true, nil }, new(func(int) bool)),
		expr.Function("lit", func(params ...any) (any, error) { return nil, nil }, new(func(int) any)),
	}
	for _, fn := range compareFuncs {
		opts = append(opts, expr.Function(fn, func(params ...any) (any, error) { return true, nil }, new(func(any, any) bool)))
	}
	return opts
}()

// cond compiles a condition statically (types known at check time) and
// records the runtime program.
func (c *checker) cond(cond ast.Cond) {
	if cond == nil {
		return
	}
	st := &CondProgram{Cond: cond, static: true}
	// One translator serves every condition: its buffers are reused.
	tr := &c.ctr
	tr.b.Reset()
	tr.stat, tr.refTypes = tr.stat[:0], tr.refTypes[:0]
	var rt strings.Builder
	rt.Grow(64)
	tr.p, tr.static, tr.rt = st, true, &rt
	if c.condTypeOf == nil {
		c.condTypeOf = func(r *ast.VarRef) exprtypes.Type {
			if len(r.Segments) != 1 {
				return exprtypes.Any
			}
			var buf foldBuf
			if t, ok := c.varTypes[string(fold(&buf, r.Root()))]; ok {
				return exprType(t)
			}
			return exprtypes.Any
		}
	}
	tr.typeOf = c.condTypeOf
	tr.cond(cond)
	// Identical conditions over identically typed variables compile the
	// same: compile each shape once per check. The key is the static
	// source and the reference types.
	key := append(c.condKey[:0], tr.b.Bytes()...)
	for _, t := range tr.refTypes {
		key = append(key, 0)
		key = append(key, t.String()...)
	}
	c.condKey = key
	err, seen := c.condCache[string(key)]
	if !seen {
		st.Source = tr.b.String()
		_, err = expr.Compile(st.Source, append([]expr.Option{expr.Env(tr.env()), expr.AsBool()}, staticFuncs...)...)
		if c.condCache == nil {
			c.condCache = map[string]error{}
		}
		c.condCache[string(key)] = err
	}
	if err != nil {
		d := c.errorf(st.rebase(err), "cond-type", "condition: %s", exprMessage(err))
		if strings.Contains(d.Summary, "mismatched types") {
			d.Hint = "GXL does not convert between types: compare a string with \"...\" and a number with a number"
		}
	}
	tr.p, tr.rt = nil, nil
	// The run-time program came from the same walk (newCondProgram's
	// translation).
	c.prog.Conds[cond] = &CondProgram{Cond: cond, Source: rt.String(), Refs: st.Refs, Defined: st.Defined, Texts: st.Texts, Lits: st.Lits}
	c.condTypes(cond)
}

// newCondProgram translates cond for run time.
func newCondProgram(cond ast.Cond) *CondProgram {
	p := &CondProgram{Cond: cond}
	tr := &translator{p: p}
	tr.cond(cond)
	p.Source = tr.b.String()
	return p
}

// CompileCond builds the run-time program of a condition that the checker
// has not seen (the REPL's expressions).
func CompileCond(cond ast.Cond) *CondProgram { return newCondProgram(cond) }

// condEnv is the expr environment of one evaluation.
type condEnv struct {
	r   CondResolver
	p   *CondProgram
	err error
}

// missing is raised inside expr when a variable does not exist; Eval turns
// it into a positioned error.
type missing struct{ ref *ast.VarRef }

func (m missing) Error() string { return "variable " + m.ref.Source() + " is not defined" }

func envTemplate(ce *condEnv) map[string]any {
	return map[string]any{
		"get": func(i int) any {
			r := ce.p.Refs[i]
			v, ok := ce.r.Lookup(r)
			if !ok {
				panic(missing{r})
			}
			return v.ToGo()
		},
		"text": func(i int) any {
			s, err := ce.r.Text(ce.p.Texts[i])
			if err != nil {
				panic(err)
			}
			return s
		},
		"defined": func(i int) bool {
			return ce.r.Defined(ce.p.Defined[i])
		},
		"lit": func(i int) any {
			v, err := ce.r.Value(ce.p.Lits[i])
			if err != nil {
				panic(err)
			}
			return v.ToGo()
		},
		"eq":        func(a, b any) bool { return value.Equal(fromGo(a), fromGo(b)) },
		"ne":        func(a, b any) bool { return !value.Equal(fromGo(a), fromGo(b)) },
		"lt":        func(a, b any) (bool, error) { c, err := value.Compare(fromGo(a), fromGo(b)); return c < 0, err },
		"le":        func(a, b any) (bool, error) { c, err := value.Compare(fromGo(a), fromGo(b)); return c <= 0, err },
		"gt":        func(a, b any) (bool, error) { c, err := value.Compare(fromGo(a), fromGo(b)); return c > 0, err },
		"ge":        func(a, b any) (bool, error) { c, err := value.Compare(fromGo(a), fromGo(b)); return c >= 0, err },
		"wildmatch": wildmatch,
	}
}

// fromGo turns an operand back into a value (get and lit hand expr plain
// Go data from Value.ToGo, which FromGo always takes back).
func fromGo(x any) value.Value {
	v, _ := value.FromGo(x)
	return v
}

// Eval evaluates the condition with the running program's variables. A
// missing variable is an error only when actually read, so guards such as
// `!defined(${X}) || ${X} == true` work; type errors are errors, never
// crashes.
func (p *CondProgram) Eval(r CondResolver) (result bool, err error) {
	p.once.Do(func() {
		p.prog, p.err = expr.Compile(p.Source, expr.Env(envTemplate(&condEnv{})), expr.AsBool())
	})
	if p.err != nil {
		return false, diag.Errorf(p.rebase(p.err), "cond", "condition: %s", exprMessage(p.err))
	}
	ce := &condEnv{r: r, p: p}
	defer func() {
		if x := recover(); x != nil {
			err = condError(p, x, nil)
		}
	}()
	out, err := expr.Run(p.prog, envTemplate(ce))
	if err != nil {
		return false, condError(p, nil, err)
	}
	b, _ := out.(bool)
	return b, nil
}

func condError(p *CondProgram, x any, err error) error {
	var m missing
	if e, ok := x.(error); ok && err == nil {
		err = e
	}
	if errors.As(err, &m) {
		return diag.Errorf(m.ref.Span(), "undefined-var", "variable %s is not defined", m.ref.Source()).
			WithHint("guard it with defined(%s) or give a default", m.ref.Source())
	}
	var d diag.Diagnostic
	if errors.As(err, &d) {
		return d
	}
	if err == nil {
		err = fmt.Errorf("%v", x)
	}
	return diag.Errorf(p.rebase(err), "cond", "condition: %s", exprMessage(err)).
		WithHint("GXL does not convert between types: compare a string with \"...\" and a number with a number")
}

// wildmatch implements `=*`: `*` and `?` wildcards; symmetric — if the
// left value contains a wildcard it is the pattern (§4.9).
func wildmatch(a, b any) (bool, error) {
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("=* matches strings, not %s and %s", fromGo(a).TypeName(), fromGo(b).TypeName())
	}
	if strings.ContainsAny(sa, "*?") {
		return globMatch(sa, sb), nil
	}
	return globMatch(sb, sa), nil
}

func globMatch(pat, s string) bool {
	// Iterative matcher with backtracking on the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == s[si]):
			pi++
			si++
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}

// suffixIf closes a numbered call name built past the precomputed ones.
func suffixIf(i, n int) string {
	if i < n {
		return ""
	}
	return ")"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
