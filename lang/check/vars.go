package check

import (
	"github.com/gxl-dev/gxl/core/types"
	"sort"
	"strings"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/lang/ast"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/lang/predef"
)

// defs is a set of variable roots (case-folded) that may be defined at a
// point of the program. open means "anything may be defined" (after
// gx.read_file without a name, for example). Sets are layered: clone is a
// new empty layer over its parent, so branching costs nothing however many
// variables the program has.
type defs struct {
	names  map[string]bool
	parent *defs
	open   bool
}

// Layers allocate their map on the first add: most branches define nothing.
func newDefs() *defs { return &defs{} }

// foldBuf is room for folding a name without allocating.
type foldBuf [64]byte

// fold returns name in lower case as bytes (in buf when it fits): index
// maps with string(fold(...)), which does not allocate for lookups.
func fold(buf *foldBuf, name string) []byte {
	b := buf[:0]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			return []byte(strings.ToLower(name))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// folded returns the lower-case name, allocating only when it differs.
func folded(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(name)
		}
	}
	return name
}

func (d *defs) add(name string) {
	var buf foldBuf
	k := fold(&buf, name)
	if d.names[string(k)] {
		return
	}
	if d.names == nil {
		d.names = map[string]bool{}
	}
	d.names[string(k)] = true
}

func (d *defs) has(name string) bool {
	var buf foldBuf
	n := fold(&buf, name)
	if len(n) >= 4 && string(n[:4]) == "sec_" {
		return true
	}
	for l := d; l != nil; l = l.parent {
		if l.open || l.names[string(n)] {
			return true
		}
	}
	return false
}

func (d *defs) clone() *defs {
	return &defs{parent: d, open: d.open}
}

// merge adds every name of o (all its layers).
func (d *defs) merge(o *defs) {
	for l := o; l != nil; l = l.parent {
		d.open = d.open || l.open
		if len(l.names) > 0 && d.names == nil {
			d.names = make(map[string]bool, len(l.names))
		}
		for k := range l.names {
			d.names[k] = true
		}
	}
}

// covers reports whether every name of o (a single layer) is in d's own
// layer.
func (d *defs) covers(o *defs) bool {
	if o.open && !d.open {
		return false
	}
	for k := range o.names {
		if !d.names[k] {
			return false
		}
	}
	return true
}

// mergeLayer adds the names of o's own layer (a branch cloned from d).
func (d *defs) mergeLayer(o *defs) {
	d.open = d.open || o.open
	if len(o.names) > 0 && d.names == nil {
		d.names = make(map[string]bool, len(o.names))
	}
	for k := range o.names {
		d.names[k] = true
	}
}

func (d *defs) list() []string {
	seen := map[string]bool{}
	var out []string
	for l := d; l != nil; l = l.parent {
		for k := range l.names {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// varState is the variable analysis of the whole program.
type varState struct {
	global  *defs               // envs, module props, predefined, extra vars
	flowOut map[*ast.Flow]*defs // what a flow body may define
	before  map[*ast.Flow]*defs // what may be defined when a flow starts
	all     *defs               // everything defined anywhere
	// simulated is the union of the states each flow's expansion was
	// simulated from (see simulate).
	simulated map[*Flow]*defs
}

// typeOf returns the static type of a literal value (TAny when unknown).
func typeOf(e ast.Expr) types.Type {
	switch x := e.(type) {
	case *ast.StringLit, *ast.RawStringLit:
		return types.String
	case *ast.NumberLit:
		if x.IsFloat {
			return types.Float
		}
		return types.Int
	case *ast.BoolLit:
		return types.Bool
	case *ast.ListLit:
		return types.List
	case *ast.ObjectLit:
		return types.Object
	}
	return types.Any
}

func (c *checker) setType(name string, t types.Type) {
	var buf foldBuf
	k := fold(&buf, name)
	if old, ok := c.varTypes[string(k)]; ok {
		if old != t {
			c.varTypes[string(k)] = types.Any
		}
		return
	}
	c.varTypes[folded(name)] = t
}

// checkVars runs the definition analysis and reports uses that no
// definition can reach.
func (c *checker) checkVars() {
	// Sized up front: every module adds its properties and its name.
	nGlobal, nFlows := len(predef.Vars)+len(c.opt.ExtraVars), 0
	for _, m := range c.prog.Mods {
		nGlobal += len(m.Props) + 1
		nFlows += len(m.Flows)
	}
	vs := &varState{global: &defs{names: make(map[string]bool, nGlobal)}, flowOut: make(map[*ast.Flow]*defs, nFlows),
		before: make(map[*ast.Flow]*defs, nFlows), all: newDefs()}
	c.vars = vs
	// The predefined variables (§2.9): the table runtime.Bootstrap sets.
	for _, v := range predef.Vars {
		vs.global.add(v.Name)
		c.setType(v.Name, v.Type)
	}
	for n, t := range c.opt.ExtraVars {
		vs.global.add(n)
		c.setType(n, t)
	}
	// Envs and module properties: any env may be selected, so all of them
	// count as defined for every flow.
	var envOwn []envDefs
	for _, m := range c.prog.Mods {
		prefix := strings.ToUpper(m.Name) + "_"
		for _, p := range m.Props {
			n := prefix + p.Key.Name
			vs.global.add(n)
			c.setType(n, typeOf(p.Value))
		}
		if len(m.Props) > 0 {
			vs.global.add(m.Name)
		}
		for _, e := range m.Envs {
			if e.Host != m || e.Decl.Body == nil {
				continue
			}
			own := newDefs()
			for _, s := range e.Decl.Body.Stmts {
				switch n := s.(type) {
				case *ast.Assign:
					own.add("ENV_" + n.Key.Name)
					own.add("ENV")
					c.setType("ENV_"+n.Key.Name, typeOf(n.Value))
				case *ast.VarsBlock:
					for _, a := range n.Assigns {
						own.add(a.Key.Name)
						c.setType(a.Key.Name, typeOf(a.Value))
					}
				case *ast.Call:
					c.callDefs(n, own)
				}
			}
			envOwn = append(envOwn, envDefs{e, own})
		}
	}
	// An env body sees what is defined before envs run and what the other
	// envs define (mixins run first, other selected envs may have run),
	// then its own body in source order, as runtime.runEnv runs it.
	base := newDefs() // a copy: global gets the envs' names next
	base.merge(vs.global)
	envBefore := c.envStarts(base, envOwn)
	for _, eo := range envOwn {
		vs.global.merge(eo.own)
	}
	// What each flow body may define.
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			if _, ok := vs.flowOut[f.Decl]; ok || f.Decl.Body == nil {
				continue
			}
			d := newDefs()
			c.collectDefs(f.Decl.Body.Stmts, d)
			vs.flowOut[f.Decl] = d
		}
	}
	vs.all.merge(vs.global)
	for _, d := range vs.flowOut {
		vs.all.merge(d)
	}
	for _, m := range c.prog.Mods {
		for _, f := range m.Fns {
			if f.Decl.Body != nil {
				c.collectDefs(f.Decl.Body.Stmts, vs.all)
			}
		}
	}
	// Every flow may be the top-level flow of a run: simulate its sequence.
	seen := map[*Flow]bool{} // empty again after each simulation
	vs.simulated = map[*Flow]*defs{}
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			// As runtime/plan.go builds a sequence: the module's entry
			// flows, the flow's expansion, then the module's exit flows.
			cur := newDefs()
			for _, e := range f.Owner.Entries {
				c.simulate(e, cur, seen, true)
			}
			c.simulate(f, cur, seen, len(f.Owner.Exits) > 0)
			for _, x := range f.Owner.Exits {
				c.simulate(x, cur, seen, false)
			}
		}
	}
	// Check uses in every flow, fn, activity and env.
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			if f.Host != m || f.Owner != m || f.Decl.Body == nil {
				continue
			}
			// before[] is keyed by declaration, so inherited copies of
			// this flow (other contexts) are included.
			// The flow's definitions go in a layer over before[] (a
			// complete, flat set by now, shared read-only) over global.
			d := vs.global.clone()
			if b := vs.before[f.Decl]; b != nil {
				d = (&defs{names: b.names, parent: vs.global, open: vs.global.open || b.open}).clone()
			}
			c.useStmts(f.Decl.Body.Stmts, d, nil)
		}
		for _, fn := range m.Fns {
			if fn.Host != m || fn.Decl.Body == nil {
				continue
			}
			d := vs.all.clone()
			for _, p := range fn.Decl.Params {
				d.add(p.Name.Name)
			}
			c.useStmts(fn.Decl.Body.Stmts, d, nil)
		}
		for _, e := range m.Envs {
			if e.Host == m && e.Decl.Body != nil {
				c.useStmts(e.Decl.Body.Stmts, envBefore[e].clone(), nil)
			}
		}
		for _, p := range m.Props {
			if p.Value != nil {
				c.useExpr(p.Value, vs.all, nil)
			}
		}
	}
}

// envDefs is what one env's own body may define.
type envDefs struct {
	env *Env
	own *defs
}

// envStarts returns, for each env, what may be defined when its body
// starts: base and every other env's definitions. Names that only one env
// defines are left out of that env's own start set.
func (c *checker) envStarts(base *defs, envs []envDefs) map[*Env]*defs {
	count := map[string]int{}
	all := map[string]bool{}
	for _, eo := range envs {
		for k := range eo.own.names {
			count[k]++
			all[k] = true
		}
	}
	out := make(map[*Env]*defs, len(envs))
	shared := &defs{names: all, parent: base}
	for i, eo := range envs {
		open := false // the parent base carries its own open flag
		for j, o := range envs {
			if j != i {
				open = open || o.own.open
			}
		}
		unique := false
		for k := range eo.own.names {
			if count[k] == 1 {
				unique = true
				break
			}
		}
		if !unique && !open {
			out[eo.env] = shared
			continue
		}
		names := make(map[string]bool, len(all))
		for k := range all {
			if count[k] > 1 || !eo.own.names[k] {
				names[k] = true
			}
		}
		out[eo.env] = &defs{names: names, parent: base, open: open}
	}
	return out
}

// simulate walks a flow's expansion (pre, itself, post) in run order,
// recording what may be defined when each flow starts; cur is what may be
// defined so far, and grows by what the expansion defines when the caller
// needs it (needOut).
//
// Definitions only accumulate, so what a flow x inside f's expansion may
// see is the union of the states f was simulated from, plus what runs
// before x inside the expansion: once f was simulated from states whose
// union holds cur, simulating it again from cur adds nothing. Flows met in
// many expansions (every flow of a chain is also a top-level flow) are
// walked once instead of once per expansion.
func (c *checker) simulate(f *Flow, cur *defs, seen map[*Flow]bool, needOut bool) {
	if seen[f] {
		return
	}
	from := c.vars.simulated[f]
	if from != nil && from.covers(cur) {
		if needOut {
			c.addOut(f, cur, map[*Flow]bool{})
		}
		return
	}
	if from == nil {
		from = newDefs()
		c.vars.simulated[f] = from
	}
	from.merge(cur)
	seen[f] = true
	defer delete(seen, f)
	for _, p := range f.Pre {
		c.simulate(p, cur, seen, true)
	}
	b := c.vars.before[f.Decl]
	if b == nil {
		b = newDefs()
		c.vars.before[f.Decl] = b
	}
	b.merge(cur)
	for _, t := range []*Flow{f.Ann.Undo, f.Ann.DryRun} {
		if t != nil {
			tb := c.vars.before[t.Decl]
			if tb == nil {
				tb = newDefs()
				c.vars.before[t.Decl] = tb
			}
			tb.merge(cur)
		}
	}
	cur.merge(c.vars.flowOut[f.Decl])
	for _, p := range f.Post {
		c.simulate(p, cur, seen, true)
	}
}

// addOut adds to cur what f's expansion may define, each flow once.
func (c *checker) addOut(f *Flow, cur *defs, visited map[*Flow]bool) {
	if visited[f] {
		return
	}
	visited[f] = true
	for _, p := range f.Pre {
		c.addOut(p, cur, visited)
	}
	cur.merge(c.vars.flowOut[f.Decl])
	for _, p := range f.Post {
		c.addOut(p, cur, visited)
	}
}

// collectDefs adds every variable the statements may define.
func (c *checker) collectDefs(stmts []ast.Stmt, d *defs) {
	for _, s := range stmts {
		switch n := s.(type) {
		case *ast.Assign:
			d.add(n.Key.Name)
			c.setType(n.Key.Name, typeOf(n.Value))
		case *ast.VarsBlock:
			for _, a := range n.Assigns {
				d.add(a.Key.Name)
				c.setType(a.Key.Name, typeOf(a.Value))
			}
		case *ast.Call:
			c.callDefs(n, d)
		case *ast.If:
			c.collectDefs(n.Then.Stmts, d)
			for _, ei := range n.ElseIfs {
				c.collectDefs(ei.Then.Stmts, d)
			}
			if n.Else != nil {
				c.collectDefs(n.Else.Stmts, d)
			}
		case *ast.For:
			d.add(n.Var.Root())
			c.collectDefs(n.Body.Stmts, d)
		}
	}
}

// callDefs adds the variables a built-in call defines (registry SetsVars).
func (c *checker) callDefs(call *ast.Call, d *defs) {
	b, ok := c.prog.Registry.Lookup(call.Target.String())
	if !ok || b.SetsVars == nil {
		return
	}
	consts := map[string]string{}
	for _, a := range call.Args {
		var p *builtin.Param
		if a.Key == nil {
			p = b.PositionalParam()
		} else {
			p = b.Param(a.Key.Name)
		}
		if p == nil {
			continue
		}
		switch v := a.Value.(type) {
		case *ast.StringLit:
			if v.IsConstant() {
				consts[p.Name] = v.ConstValue()
			} else {
				consts[p.Name] = "*"
			}
		case *ast.RawStringLit:
			consts[p.Name] = v.Value
		default:
			consts[p.Name] = "*"
		}
	}
	for _, n := range b.SetsVars(consts) {
		if n == "*" || strings.Contains(n, "${") {
			d.open = true
			continue
		}
		d.add(n)
	}
}

// useStmts checks variable uses in order, adding definitions as they come.
// guarded holds roots tested with defined() in enclosing conditions.
func (c *checker) useStmts(stmts []ast.Stmt, d *defs, guarded *guards) {
	for _, s := range stmts {
		switch n := s.(type) {
		case *ast.Assign:
			c.useExpr(n.Value, d, guarded)
			d.add(n.Key.Name)
		case *ast.VarsBlock:
			for _, a := range n.Assigns {
				c.useExpr(a.Value, d, guarded)
				d.add(a.Key.Name)
			}
		case *ast.Call:
			for _, a := range n.Args {
				c.useExpr(a.Value, d, guarded)
			}
			c.callDefs(n, d)
		case *ast.CmdBlock:
			c.useExpr(n.Command, d, guarded)
		case *ast.If:
			g := withGuards(guarded, n.Cond)
			c.useCond(n.Cond, d, g)
			// Each branch is a layer over d; after the if, whatever any
			// branch defined may be defined.
			branches := []*defs{d.clone()}
			c.useStmts(n.Then.Stmts, branches[0], g)
			for _, ei := range n.ElseIfs {
				g2 := withGuards(guarded, ei.Cond)
				c.useCond(ei.Cond, d, g2)
				b := d.clone()
				c.useStmts(ei.Then.Stmts, b, g2)
				branches = append(branches, b)
			}
			if n.Else != nil {
				b := d.clone()
				c.useStmts(n.Else.Stmts, b, guarded)
				branches = append(branches, b)
			}
			for _, b := range branches {
				d.mergeLayer(b)
			}
		case *ast.For:
			c.useRef(n.In, d, guarded, true)
			d.add(n.Var.Root())
			c.useStmts(n.Body.Stmts, d, guarded)
		}
	}
}

// guards is the set of roots tested with defined() in enclosing
// conditions: a chain of layers, one per condition that adds some (nesting
// is shallow, so lookups walk a few short lists).
type guards struct {
	names  []string // folded
	parent *guards
}

func (g *guards) has(folded []byte) bool {
	for ; g != nil; g = g.parent {
		for _, n := range g.names {
			if n == string(folded) {
				return true
			}
		}
	}
	return false
}

// withGuards returns guarded plus the roots cond tests with defined();
// guarded itself when cond adds none.
func withGuards(guarded *guards, cond ast.Cond) *guards {
	names := definedRoots(cond, nil)
	if names == nil {
		return guarded
	}
	return &guards{names: names, parent: guarded}
}

// definedRoots appends the folded roots of cond's defined() tests, in
// source order (defined() appears only among condition nodes).
func definedRoots(cond ast.Cond, names []string) []string {
	switch n := cond.(type) {
	case *ast.CondBinary:
		return definedRoots(n.R, definedRoots(n.L, names))
	case *ast.CondUnary:
		return definedRoots(n.X, names)
	case *ast.CondParen:
		return definedRoots(n.X, names)
	case *ast.CondDefined:
		return append(names, folded(n.Var.Root()))
	}
	return names
}

func (c *checker) useCond(cond ast.Cond, d *defs, guarded *guards) {
	switch n := cond.(type) {
	case *ast.CondBinary:
		c.useCond(n.L, d, guarded)
		c.useCond(n.R, d, guarded)
	case *ast.CondUnary:
		c.useCond(n.X, d, guarded)
	case *ast.CondParen:
		c.useCond(n.X, d, guarded)
	case *ast.CondOperand:
		c.useExpr(n.X, d, guarded)
	}
}

func (c *checker) useExpr(e ast.Expr, d *defs, guarded *guards) {
	if e == nil {
		return
	}
	switch x := e.(type) {
	case *ast.VarRef:
		c.useRef(x, d, guarded, true)
	case *ast.StringLit:
		for _, p := range x.Parts {
			if p.Var != nil {
				c.useRef(p.Var, d, guarded, false)
			}
		}
	case *ast.RawStringLit:
		for _, p := range x.Parts {
			if p.Var != nil {
				c.useRef(p.Var, d, guarded, false)
			}
		}
	case *ast.ListLit:
		for _, el := range x.Elems {
			c.useExpr(el, d, guarded)
		}
	case *ast.ObjectLit:
		for _, en := range x.Entries {
			c.useExpr(en.Value, d, guarded)
		}
	}
}

// useRef reports a reference no definition can reach: an error for a
// direct reference (it only sees GXL variables), a warning inside strings
// (the process environment may supply the value at run time).
func (c *checker) useRef(r *ast.VarRef, d *defs, guarded *guards, direct bool) {
	root := r.Root()
	var buf foldBuf
	if r.Default != nil || d.has(root) || guarded.has(fold(&buf, root)) {
		return
	}
	if !direct {
		if _, ok := c.opt.Env(root); ok {
			return
		}
		if _, ok := c.opt.Env(strings.ToUpper(root)); ok {
			return
		}
	}
	cands := c.vars.all.list()
	hint := diag.DidYouMean(strings.ToLower(root), cands)
	if hint != "" {
		// Suggest in the conventional upper case.
		hint = strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(hint, "did you mean `"), "`?"))
		hint = "did you mean `${" + hint + "}`?"
	}
	if direct {
		dd := c.errorf(r.Span(), "undefined-var", "variable %s is not defined before this use", r.Source())
		dd.Hint = hint
		if dd.Hint == "" {
			dd.Hint = "define it first, give a default ${" + root + ":value}, or guard the use with defined(${" + root + "})"
		}
		return
	}
	if c.vars.all.has(root) {
		return // defined somewhere: it may reach at run time
	}
	w := c.warnf(r.Span(), "undefined-var", "variable %s is not defined in the program", r.Source())
	w.Hint = hint
	if w.Hint == "" {
		w.Hint = "unless the process environment sets it at run time, give a default: ${" + root + ":value}"
	}
}
