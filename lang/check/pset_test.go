package check

import (
	"math/rand"
	"slices"
	"testing"
)

// TestPsets: unions and lookups agree with plain sets, and equal sets are
// the same setID however they were built (which is what makes unions of
// shared sets cheap).
func TestPsets(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ps := newPsets()
	type pair struct {
		id   setID
		keys map[uint32]bool
	}
	var sets []pair
	for i := 0; i < 300; i++ {
		keys := map[uint32]bool{}
		var sorted []uint32
		for j := r.Intn(20); j > 0; j-- {
			k := uint32(r.Intn(200))
			if !keys[k] {
				keys[k] = true
				sorted = append(sorted, k)
			}
		}
		var id setID
		if len(sorted) > 0 {
			slices.Sort(sorted)
			id = ps.build(sorted)
		}
		// One by one, in another order.
		var one setID
		for _, k := range r.Perm(len(sorted)) {
			one = ps.union(ps.leaf(sorted[k]), one)
		}
		if one != id {
			t.Fatalf("%v: built %d, inserted %d", sorted, id, one)
		}
		sets = append(sets, pair{id, keys})
	}
	for i := 0; i < 2000; i++ {
		a, b := sets[r.Intn(len(sets))], sets[r.Intn(len(sets))]
		u := pair{ps.union(a.id, b.id), map[uint32]bool{}}
		for k := range a.keys {
			u.keys[k] = true
		}
		for k := range b.keys {
			u.keys[k] = true
		}
		if ps.union(b.id, a.id) != u.id {
			t.Fatal("union is not symmetric")
		}
		for k := uint32(0); k < 210; k++ {
			if ps.has(u.id, k) != u.keys[k] {
				t.Fatalf("union: has(%d) = %v, want %v", k, !u.keys[k], u.keys[k])
			}
		}
		sets = append(sets, u)
	}
}
