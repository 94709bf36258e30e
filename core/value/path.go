package value

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is one step of a variable path: an object key or a list index.
type Segment struct {
	Key     string
	Index   int
	IsIndex bool
}

// ParsePath splits "A.B[0].C" into segments. It accepts what `${...}`
// accepts: keys of [A-Za-z0-9_] separated by dots, each optionally followed by
// [n] indexes.
func ParsePath(p string) ([]Segment, error) {
	var out []Segment
	if p == "" {
		return nil, fmt.Errorf("empty variable name")
	}
	for _, part := range strings.Split(p, ".") {
		key := part
		var idx []int
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			rest := part[i:]
			for rest != "" {
				if rest[0] != '[' {
					return nil, fmt.Errorf("bad index in %q", p)
				}
				j := strings.IndexByte(rest, ']')
				if j < 0 {
					return nil, fmt.Errorf("missing ] in %q", p)
				}
				n, err := strconv.Atoi(strings.TrimSpace(rest[1:j]))
				if err != nil || n < 0 {
					return nil, fmt.Errorf("bad index %q in %q", rest[1:j], p)
				}
				idx = append(idx, n)
				rest = rest[j+1:]
			}
		}
		if key == "" {
			return nil, fmt.Errorf("empty key in %q", p)
		}
		out = append(out, Segment{Key: key})
		for _, n := range idx {
			out = append(out, Segment{Index: n, IsIndex: true})
		}
	}
	return out, nil
}

// Walk follows segs from v. It reports false when a key or index is missing
// or a step is applied to the wrong kind of value.
func Walk(v Value, segs []Segment) (Value, bool) {
	for _, s := range segs {
		switch {
		case s.IsIndex:
			if v.kind != KList || s.Index >= len(v.list) {
				return Value{}, false
			}
			v = v.list[s.Index]
		default:
			if v.kind != KObject {
				return Value{}, false
			}
			nv, ok := v.obj.Get(s.Key)
			if !ok {
				return Value{}, false
			}
			v = nv
		}
	}
	return v, true
}
