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
// variables the program has. A layer may instead hold a shared persistent
// set (set in ps, see psets): what may be defined when a flow starts; has
// looks into it, merge and list do not (such a layer is only ever the
// read-only base of a flow body's layers).
type defs struct {
	names  map[string]bool
	parent *defs
	open   bool
	set    setID
	ps     *psets
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
		if l.open || l.names[string(n)] || (l.set != 0 && l.ps.hasName(l.set, n)) {
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
	all     *defs               // everything defined anywhere
	allList []string            // all.list(), once needed
	// before is what may be defined when a flow's body starts (besides
	// global), a set in sets (see flowStarts).
	before map[*ast.Flow]setID
	sets   *psets
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
		before: make(map[*ast.Flow]setID, nFlows), sets: newPsets(), all: newDefs()}
	vs.global.open = c.opt.OpenVars
	c.vars = vs
	c.prog.defined = vs.all
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
	// Every flow may be the top-level flow of a run.
	c.flowStarts()
	// Check uses in every flow, fn, activity and env.
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			if f.Host != m || f.Owner != m || f.Decl.Body == nil {
				continue
			}
			// before[] is keyed by declaration, so inherited copies of
			// this flow (other contexts) are included.
			// The flow's definitions go in a layer over before[] (a
			// persistent set, shared read-only) over global.
			d := vs.global.clone()
			if b := vs.before[f.Decl]; b != 0 {
				d = (&defs{set: b, ps: vs.sets, parent: vs.global, open: vs.global.open || vs.sets.has(b, openKey)}).clone()
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

// flowStarts sets vs.before: for every flow declaration, what may be
// defined when its body starts in some run. A run of a top-level flow x (any
// flow may be one) is, as runtime/plan.go builds it, the module's entry
// flows, x's expansion (pre flows, x, post flows, recursively), then the
// module's exit flows; definitions only accumulate along it.
//
// Rather than walking runs, this solves the same question as equations over
// the pre/post graph, whose terms are shared persistent sets (psets):
//
//	OUT(x) = own(x) ∪ OUT of each pre and post flow of x (what x's expansion may define)
//	IN(x)  ⊇ what may be defined when some run starts x's expansion:
//	         OUT(the module's entry flows) for every flow of its table;
//	         OUT(every flow of the table) for the module's exit flows;
//	         IN(y) ∪ OUT(earlier pre flows of y) for y's pre flows;
//	         IN(y) ∪ OUT(y's pre flows) ∪ own(y) ∪ OUT(earlier post flows) for y's post flows
//	start(x) = IN(x) ∪ OUT(x's pre flows)
//
// and before[d] is the union of start(x) over the flows x declared by d
// (one per module table that holds d) and those that name d in
// #[undo]/#[dryrun]. The union of the states x's expansion starts from is
// exact, since what each flow inside sees is that state plus a part that
// does not depend on it. OUT is computed sinks first and IN sources first,
// over the strongly connected components of the graph: a cycle (an error
// reported elsewhere) gives its flows one shared OUT and IN.
//
// Every flow's set is built from its neighbours' with a few unions that
// share structure, so a chain or a diamond of n flows that each define a
// variable costs O(n log n), where materialising each flow's set would cost
// O(n²) (BenchmarkCheckScale). In general a union costs the subtrees in
// which its operands differ (and were not united before).
func (c *checker) flowStarts() {
	vs := c.vars
	ps := vs.sets
	// The nodes: every flow of every table, and the flows they reach.
	idx := map[*Flow]int32{}
	var flows []*Flow
	node := func(f *Flow) int32 {
		i, ok := idx[f]
		if !ok {
			i = int32(len(flows))
			idx[f] = i
			flows = append(flows, f)
		}
		return i
	}
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			node(f)
		}
	}
	adj := [][]int32{} // pre flows, then post flows
	for i := 0; i < len(flows); i++ {
		f := flows[i]
		a := make([]int32, 0, len(f.Pre)+len(f.Post))
		for _, p := range f.Pre {
			a = append(a, node(p))
		}
		for _, p := range f.Post {
			a = append(a, node(p))
		}
		adj = append(adj, a)
	}
	n := len(flows)
	own := make([]setID, n)
	ownOf := make(map[*ast.Flow]setID, n)
	for i, f := range flows {
		s, ok := ownOf[f.Decl]
		if !ok {
			s = ps.fromDefs(vs.flowOut[f.Decl])
			ownOf[f.Decl] = s
		}
		own[i] = s
	}
	comp, members := components(adj)
	nc := len(members)
	out := make([]setID, nc)
	for k := 0; k < nc; k++ { // sinks first
		var s setID
		for _, x := range members[k] {
			s = ps.union(s, own[x])
			for _, w := range adj[x] {
				if comp[w] != int32(k) {
					s = ps.union(s, out[comp[w]])
				}
			}
		}
		out[k] = s
	}
	// Where runs start: after the entry flows, and exit flows after
	// whatever top-level flow of their module ran.
	in := make([]setID, nc)
	entries, ran := map[*Module]setID{}, map[*Module]setID{}
	for _, m := range c.prog.Mods {
		for _, f := range m.Flows {
			o := f.Owner
			if _, ok := entries[o]; !ok {
				var s setID
				for _, e := range o.Entries {
					s = ps.union(s, out[comp[idx[e]]])
				}
				entries[o] = s
			}
			if len(o.Exits) > 0 {
				ran[o] = ps.union(ps.union(ran[o], entries[o]), out[comp[idx[f]]])
			}
			k := comp[idx[f]]
			in[k] = ps.union(in[k], entries[o])
		}
	}
	for o, s := range ran {
		for _, x := range o.Exits {
			k := comp[idx[x]]
			in[k] = ps.union(in[k], s)
		}
	}
	// edges calls visit(w, gen) for each pre and post flow w of x, gen being
	// what x's expansion defines before w starts (besides IN(x)), and
	// returns what x's pre flows define.
	edges := func(x int32, visit func(w int32, gen setID)) setID {
		f, a := flows[x], adj[x]
		var g setID
		for i := range f.Pre {
			visit(a[i], g)
			g = ps.union(g, out[comp[a[i]]])
		}
		pre := g
		g = ps.union(g, own[x])
		for i := len(f.Pre); i < len(a); i++ {
			visit(a[i], g)
			g = ps.union(g, out[comp[a[i]]])
		}
		return pre
	}
	start := make([]setID, n)
	for k := nc - 1; k >= 0; k-- { // sources first
		if len(members[k]) > 1 || selfLoop(adj, members[k]) {
			// Inside a cycle every flow starts from every other's start.
			for _, x := range members[k] {
				edges(x, func(w int32, gen setID) {
					if comp[w] == int32(k) {
						in[k] = ps.union(in[k], gen)
					}
				})
			}
		}
		for _, x := range members[k] {
			pre := edges(x, func(w int32, gen setID) {
				if cw := comp[w]; cw != int32(k) {
					in[cw] = ps.union(in[cw], ps.union(in[k], gen))
				}
			})
			start[x] = ps.union(in[k], pre)
		}
	}
	for x, f := range flows {
		vs.before[f.Decl] = ps.union(vs.before[f.Decl], start[x])
		for _, t := range []*Flow{f.Ann.Undo, f.Ann.DryRun} {
			if t != nil {
				vs.before[t.Decl] = ps.union(vs.before[t.Decl], start[x])
			}
		}
	}
}

func selfLoop(adj [][]int32, members []int32) bool {
	for _, w := range adj[members[0]] {
		if w == members[0] {
			return true
		}
	}
	return false
}

// components returns the strongly connected components of a graph (Tarjan,
// without recursion: pre-flow chains may be as long as the program): the
// component of each node, and the nodes of each component, numbered so that
// a component comes after every component it reaches.
func components(adj [][]int32) (comp []int32, members [][]int32) {
	n := len(adj)
	comp = make([]int32, n)
	index := make([]int32, n) // 0: not visited yet
	low := make([]int32, n)
	onStack := make([]bool, n)
	var stack []int32
	flat := make([]int32, 0, n)     // the nodes, component by component
	bounds := make([]int32, 0, n+1) // where each component starts in flat
	type frame struct{ v, next int32 }
	var calls []frame
	counter := int32(0)
	visit := func(v int32) {
		counter++
		index[v], low[v] = counter, counter
		stack = append(stack, v)
		onStack[v] = true
		calls = append(calls, frame{v, 0})
	}
	for s := int32(0); s < int32(n); s++ {
		if index[s] != 0 {
			continue
		}
		visit(s)
		for len(calls) > 0 {
			top := &calls[len(calls)-1]
			v := top.v
			if int(top.next) < len(adj[v]) {
				w := adj[v][top.next]
				top.next++
				if index[w] == 0 {
					visit(w)
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				if u := calls[len(calls)-1].v; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				k := int32(len(bounds))
				i := len(stack) - 1
				for stack[i] != v {
					i--
				}
				start := len(flat)
				flat = append(flat, stack[i:]...)
				for _, w := range stack[i:] {
					onStack[w] = false
					comp[w] = k
				}
				stack = stack[:i]
				bounds = append(bounds, int32(start))
			}
		}
	}
	members = make([][]int32, len(bounds))
	bounds = append(bounds, int32(len(flat)))
	for k := range members {
		members[k] = flat[bounds[k]:bounds[k+1]:bounds[k+1]]
	}
	return comp, members
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
	case *ast.CondDefined:
		var buf foldBuf
		c.read(&buf, n.Var.Root())
	}
}

// read records that the program reads the variable name (Program.Reads).
func (c *checker) read(buf *foldBuf, name string) {
	if c.prog.reads == nil {
		c.prog.reads = map[string]bool{}
	}
	if k := fold(buf, name); !c.prog.reads[string(k)] {
		c.prog.reads[string(k)] = true
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
	c.read(&buf, root)
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
		if c.vars.all.has(root) {
			return // defined somewhere: it may reach at run time
		}
	}
	// The candidates are listed once: a program of n flows may have n
	// uses to report.
	if c.vars.allList == nil {
		c.vars.allList = c.vars.all.list()
	}
	// Suggested in the conventional upper case; the fix replaces the root
	// name after `${`.
	var hint string
	var fix *diag.Fix
	if near := diag.Suggest(strings.ToLower(root), c.vars.allList); near != "" {
		hint = "did you mean `${" + strings.ToUpper(near) + "}`?"
		fix = &diag.Fix{Span: r.Span().Slice(2, 2+len(root)), Old: root, New: strings.ToUpper(near)}
	}
	if direct {
		dd := c.errorf(r.Span(), "undefined-var", "variable %s is not defined before this use", r.Source())
		dd.Hint, dd.Fix = hint, fix
		if dd.Hint == "" {
			dd.Hint = "define it first, give a default ${" + root + ":value}, or guard the use with defined(${" + root + "})"
		}
		return
	}
	w := c.warnf(r.Span(), "undefined-var", "variable %s is not defined in the program", r.Source())
	w.Hint, w.Fix = hint, fix
	if w.Hint == "" {
		w.Hint = "unless the process environment sets it at run time, give a default: ${" + root + ":value}"
	}
}
