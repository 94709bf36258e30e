package check

import (
	"math/bits"
	"slices"
	"sort"
)

// setID names a persistent set of variable ids in a psets universe; 0 is the
// empty set.
type setID int32

// openKey is the id that stands for "anything may be defined" (defs.open):
// a set holding it answers every lookup.
const openKey = 0

// psets is a universe of persistent sets of interned variable names: big-
// endian Patricia tries whose nodes are hash-consed (equal sets are the same
// setID) and whose unions are memoised per pair of nodes.
//
// The variable analysis builds one set per flow from the sets of the flows
// around it: a chain of n flows makes n sets that each differ from the next
// by a name. Sharing makes each of them cost O(log n) new nodes instead of a
// copy of the whole set, and the memo makes a union of two sets that share
// most of their subtrees (a diamond of pre flows) cost only the subtrees in
// which they differ.
type psets struct {
	ids    map[string]uint32 // folded name → id (from 1; openKey is 0)
	nodes  []psNode          // nodes[0] is unused: setID 0 is the empty set
	cons   map[psNode]setID
	unions map[uint64]setID
}

// psNode is a leaf (bit == 0: the set {key}) or a branch on bit: keys below
// it share the bits of key above bit, left holds those with bit clear.
type psNode struct {
	key, bit    uint32
	left, right setID
}

func newPsets() *psets {
	return &psets{ids: map[string]uint32{}, nodes: make([]psNode, 1),
		cons: map[psNode]setID{}, unions: map[uint64]setID{}}
}

// intern returns the id of a folded name.
func (ps *psets) intern(name string) uint32 {
	if id, ok := ps.ids[name]; ok {
		return id
	}
	id := uint32(len(ps.ids) + 1)
	ps.ids[name] = id
	return id
}

// fromDefs returns the set of one layer of d (its own names and open flag),
// the names interned in sorted order so that ids do not depend on map order.
func (ps *psets) fromDefs(d *defs) setID {
	if d == nil || (len(d.names) == 0 && !d.open) {
		return 0
	}
	names := make([]string, 0, len(d.names))
	for k := range d.names {
		names = append(names, k)
	}
	sort.Strings(names)
	keys := make([]uint32, 0, len(names)+1)
	if d.open {
		keys = append(keys, openKey)
	}
	for _, k := range names {
		keys = append(keys, ps.intern(k))
	}
	slices.Sort(keys)
	return ps.build(keys)
}

// build returns the set of sorted distinct keys in 2 len(keys) - 1 nodes
// (inserting them one by one would make len(keys) paths).
func (ps *psets) build(keys []uint32) setID {
	if len(keys) == 1 {
		return ps.leaf(keys[0])
	}
	lo, hi := keys[0], keys[len(keys)-1]
	m := uint32(1) << (bits.Len32(lo^hi) - 1)
	// The keys with bit m set come last.
	i := sort.Search(len(keys), func(i int) bool { return keys[i]&m != 0 })
	return ps.branch(lo&^(m<<1-1), m, ps.build(keys[:i]), ps.build(keys[i:]))
}

// hasName reports whether the folded name is in s.
func (ps *psets) hasName(s setID, name []byte) bool {
	id, ok := ps.ids[string(name)]
	return ok && ps.has(s, id)
}

func (ps *psets) has(s setID, k uint32) bool {
	for s != 0 {
		n := ps.nodes[s]
		if n.bit == 0 {
			return n.key == k
		}
		if !match(k, n.key, n.bit) {
			return false
		}
		if k&n.bit == 0 {
			s = n.left
		} else {
			s = n.right
		}
	}
	return false
}

// match reports whether k has the prefix p above bit m.
func match(k, p, m uint32) bool { return k&^(m<<1-1) == p }

func (ps *psets) mk(n psNode) setID {
	if id, ok := ps.cons[n]; ok {
		return id
	}
	id := setID(len(ps.nodes))
	ps.nodes = append(ps.nodes, n)
	ps.cons[n] = id
	return id
}

func (ps *psets) leaf(k uint32) setID { return ps.mk(psNode{key: k}) }

func (ps *psets) branch(p, m uint32, l, r setID) setID {
	return ps.mk(psNode{key: p, bit: m, left: l, right: r})
}

// join makes the branch over two disjoint tries whose prefixes p0 and p1
// differ.
func (ps *psets) join(p0 uint32, t0 setID, p1 uint32, t1 setID) setID {
	m := uint32(1) << (bits.Len32(p0^p1) - 1)
	p := p0 &^ (m<<1 - 1)
	if p0&m == 0 {
		return ps.branch(p, m, t0, t1)
	}
	return ps.branch(p, m, t1, t0)
}

// insert adds the key of leaf l to t.
func (ps *psets) insert(k uint32, l, t setID) setID {
	if t == 0 {
		return l
	}
	n := ps.nodes[t]
	switch {
	case n.bit == 0 && n.key == k:
		return t
	case n.bit != 0 && match(k, n.key, n.bit):
		if k&n.bit == 0 {
			return ps.branch(n.key, n.bit, ps.insert(k, l, n.left), n.right)
		}
		return ps.branch(n.key, n.bit, n.left, ps.insert(k, l, n.right))
	}
	return ps.join(k, l, n.key, t)
}

// union returns a ∪ b.
func (ps *psets) union(a, b setID) setID {
	if a == b || b == 0 {
		return a
	}
	if a == 0 {
		return b
	}
	if a > b {
		a, b = b, a
	}
	key := uint64(a)<<32 | uint64(b)
	if r, ok := ps.unions[key]; ok {
		return r
	}
	na, nb := ps.nodes[a], ps.nodes[b]
	var r setID
	switch {
	case na.bit == 0:
		r = ps.insert(na.key, a, b)
	case nb.bit == 0:
		r = ps.insert(nb.key, b, a)
	case na.bit == nb.bit && na.key == nb.key:
		r = ps.branch(na.key, na.bit, ps.union(na.left, nb.left), ps.union(na.right, nb.right))
	case na.bit > nb.bit && match(nb.key, na.key, na.bit):
		if nb.key&na.bit == 0 {
			r = ps.branch(na.key, na.bit, ps.union(na.left, b), na.right)
		} else {
			r = ps.branch(na.key, na.bit, na.left, ps.union(na.right, b))
		}
	case nb.bit > na.bit && match(na.key, nb.key, nb.bit):
		if na.key&nb.bit == 0 {
			r = ps.branch(nb.key, nb.bit, ps.union(nb.left, a), nb.right)
		} else {
			r = ps.branch(nb.key, nb.bit, nb.left, ps.union(nb.right, a))
		}
	default:
		r = ps.join(na.key, a, nb.key, b)
	}
	ps.unions[key] = r
	return r
}
