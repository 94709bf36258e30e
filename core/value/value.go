// Package value is the runtime value model of GXL: strings, booleans,
// integers (unsigned 64-bit, like the original's Number), floats, lists and insertion-ordered objects with
// case-insensitive keys. Every value carries a secret flag; secret values
// print as *** wherever gxl shows them.
package value

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/types"
)

// Kind is the type of a value.
type Kind uint8

// Kinds. KInvalid is the zero Value (no value).
const (
	KInvalid Kind = iota
	KString
	KBool
	KInt
	KFloat
	KList
	KObject
)

func (k Kind) String() string {
	if k == KInvalid || k > KObject {
		return "invalid"
	}
	return k.Type().String()
}

// Type is the static type (core/types) of values of this kind: the name a
// diagnostic uses for both is the same. An invalid kind is types.Any.
func (k Kind) Type() types.Type {
	switch k {
	case KString:
		return types.String
	case KBool:
		return types.Bool
	case KInt:
		return types.Int
	case KFloat:
		return types.Float
	case KList:
		return types.List
	case KObject:
		return types.Object
	}
	return types.Any
}

// Value is an immutable GXL value. Lists and objects share their backing
// storage on copy; code that mutates must Clone first.
type Value struct {
	kind   Kind
	secret bool
	s      string
	b      bool
	u      uint64
	f      float64
	list   []Value
	obj    *Object
}

// Str makes a string value.
func Str(s string) Value { return Value{kind: KString, s: s} }

// Bool makes a boolean value.
func Bool(b bool) Value { return Value{kind: KBool, b: b} }

// Uint makes an integer value: GXL integers are unsigned 64-bit
// (0 to 18446744073709551615).
func Uint(u uint64) Value { return Value{kind: KInt, u: u} }

// Int makes an integer value from a Go int, for counts and sizes that are
// never negative; a negative i gives 0 (GXL has no negative integers).
func Int(i int64) Value {
	if i < 0 {
		i = 0
	}
	return Uint(uint64(i))
}

// Float makes a float value.
func Float(f float64) Value { return Value{kind: KFloat, f: f} }

// List makes a list value.
func List(vs ...Value) Value { return Value{kind: KList, list: vs} }

// Obj makes an object value from o (nil → empty object).
func Obj(o *Object) Value {
	if o == nil {
		o = NewObject()
	}
	return Value{kind: KObject, obj: o}
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsValid reports whether v holds a value.
func (v Value) IsValid() bool { return v.kind != KInvalid }

// Secret reports whether v, or anything inside a list or object value,
// is marked secret. A value computed from a secret is secret too (spec
// I.4): interpolation, Derive and Taint carry the mark.
func (v Value) Secret() bool {
	if v.secret {
		return true
	}
	switch v.kind {
	case KList:
		for _, e := range v.list {
			if e.Secret() {
				return true
			}
		}
	case KObject:
		for _, e := range v.obj.Values() {
			if e.Secret() {
				return true
			}
		}
	}
	return false
}

// Marked reports whether v itself carries the secret mark, so that all of
// a list or object is secret (Secret also looks inside).
func (v Value) Marked() bool { return v.secret }

// AsSecret returns v marked secret (a list or object: all of it).
func (v Value) AsSecret() Value { v.secret = true; return v }

// Derive returns v marked secret when any of the values it was computed
// from is secret.
func Derive(v Value, from ...Value) Value {
	for _, f := range from {
		if f.Secret() {
			return v.AsSecret()
		}
	}
	return v
}

// Taint returns v with every scalar whose text holds a secret marked
// secret: isSecret reports whether a text contains the text of a secret
// value (command output that prints a password is a secret). Lists and
// objects are copied only when an element changes.
func Taint(v Value, isSecret func(text string) bool) Value {
	if v.secret {
		return v
	}
	switch v.kind {
	case KInvalid:
		return v
	case KList:
		var out []Value
		for i, e := range v.list {
			t := Taint(e, isSecret)
			if out == nil && t.Secret() != e.Secret() {
				out = append(make([]Value, 0, len(v.list)), v.list[:i]...)
			}
			if out != nil {
				out = append(out, t)
			}
		}
		if out == nil {
			return v
		}
		return Value{kind: KList, list: out}
	case KObject:
		var o *Object
		for i, e := range v.obj.Values() {
			t := Taint(e, isSecret)
			if t.Secret() == e.Secret() {
				continue
			}
			if o == nil {
				o = v.obj.Clone()
			}
			o.vals[i] = t
		}
		if o == nil {
			return v
		}
		return Obj(o)
	}
	if isSecret(v.String()) {
		return v.AsSecret()
	}
	return v
}

// StrVal returns the string of a string value ("" otherwise).
func (v Value) StrVal() string { return v.s }

// BoolVal returns the boolean of a bool value.
func (v Value) BoolVal() bool { return v.b }

// UintVal returns the integer of an int value.
func (v Value) UintVal() uint64 { return v.u }

// IntVal returns the integer of an int value as a Go int64, saturated at
// math.MaxInt64 (for counts, ports and sizes).
func (v Value) IntVal() int64 {
	if v.u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v.u)
}

// FloatVal returns the float of a float value (ints are converted).
func (v Value) FloatVal() float64 {
	if v.kind == KInt {
		return float64(v.u)
	}
	return v.f
}

// ListVal returns the elements of a list value.
func (v Value) ListVal() []Value { return v.list }

// ObjVal returns the object of an object value.
func (v Value) ObjVal() *Object { return v.obj }

// String renders the value's display form, the form interpolation inserts:
// strings as they are, numbers in decimal, floats without a trailing .0,
// booleans as true/false, lists and objects as JSON. Secrets are shown in
// clear: use Display for output meant for people.
func (v Value) String() string {
	switch v.kind {
	case KString:
		return v.s
	case KBool:
		return strconv.FormatBool(v.b)
	case KInt:
		return strconv.FormatUint(v.u, 10)
	case KFloat:
		return FormatFloat(v.f)
	case KList, KObject:
		b, err := json.Marshal(v.ToGo())
		if err != nil {
			return fmt.Sprint(v.ToGo())
		}
		return string(b)
	}
	return ""
}

// Display is String with secrets replaced by ***.
func (v Value) Display() string {
	if v.secret {
		return "***"
	}
	return v.String()
}

// FormatFloat prints a float the way the original tool did (42.0 → "42").
func FormatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TypeName is the name used in diagnostics ("string", "int", ...).
func (v Value) TypeName() string { return v.kind.String() }

// Equal is the one equality of GXL (conditions' == and !=): values of
// different kinds are never equal, an int never equals a float (1 != 1.0,
// as in the original: Number ≠ Float); lists compare element by element
// in order, objects by their key sets (case-insensitive) and the values
// under each key. The secret flag plays no part.
func Equal(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case KString:
		return a.s == b.s
	case KBool:
		return a.b == b.b
	case KInt:
		return a.u == b.u
	case KFloat:
		return a.f == b.f
	case KList:
		if len(a.list) != len(b.list) {
			return false
		}
		for i := range a.list {
			if !Equal(a.list[i], b.list[i]) {
				return false
			}
		}
		return true
	case KObject:
		if a.obj.Len() != b.obj.Len() {
			return false
		}
		for _, k := range a.obj.Keys() {
			bv, ok := b.obj.Get(k)
			av, _ := a.obj.Get(k)
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	}
	return true
}

// Compare orders two values of the same scalar kind (conditions' <, <=,
// >, >=): numbers numerically, strings byte-wise, false before true. Other
// kinds, or two different kinds, are an error.
func Compare(a, b Value) (int, error) {
	if a.kind != b.kind {
		return 0, fmt.Errorf("cannot order %s and %s", a.kind, b.kind)
	}
	switch a.kind {
	case KString:
		return strings.Compare(a.s, b.s), nil
	case KInt:
		return cmp3(a.u < b.u, a.u > b.u), nil
	case KFloat:
		return cmp3(a.f < b.f, a.f > b.f), nil
	case KBool:
		return cmp3(!a.b && b.b, a.b && !b.b), nil
	}
	return 0, fmt.Errorf("cannot order %s values", a.kind)
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

// ToGo converts the value to plain Go data (string, bool, uint64, float64,
// []any, map[string]any). Object key order is lost in the map; use
// MarshalJSON to keep it.
func (v Value) ToGo() any {
	switch v.kind {
	case KString:
		return v.s
	case KBool:
		return v.b
	case KInt:
		return v.u
	case KFloat:
		return v.f
	case KList:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			out[i] = e.ToGo()
		}
		return out
	case KObject:
		out := make(map[string]any, v.obj.Len())
		for i, k := range v.obj.keys {
			out[k] = v.obj.vals[i].ToGo()
		}
		return out
	}
	return nil
}

// MarshalJSON keeps object key order.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case KObject:
		var sb strings.Builder
		sb.WriteByte('{')
		for i, k := range v.obj.keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			sb.Write(kb)
			sb.WriteByte(':')
			vb, err := v.obj.vals[i].MarshalJSON()
			if err != nil {
				return nil, err
			}
			sb.Write(vb)
		}
		sb.WriteByte('}')
		return []byte(sb.String()), nil
	case KList:
		var sb strings.Builder
		sb.WriteByte('[')
		for i, e := range v.list {
			if i > 0 {
				sb.WriteByte(',')
			}
			vb, err := e.MarshalJSON()
			if err != nil {
				return nil, err
			}
			sb.Write(vb)
		}
		sb.WriteByte(']')
		return []byte(sb.String()), nil
	case KInvalid:
		return []byte("null"), nil
	}
	return json.Marshal(v.ToGo())
}

// FromGo converts decoded JSON/YAML/TOML data into a Value. Map keys are
// sorted when the source has no order (Go maps); use FromOrdered helpers in
// the decoders that keep order.
func FromGo(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Str(""), nil
	case Value:
		return t, nil
	case string:
		return Str(t), nil
	case bool:
		return Bool(t), nil
	case int:
		return signed(int64(t)), nil
	case int8:
		return signed(int64(t)), nil
	case int16:
		return signed(int64(t)), nil
	case int32:
		return signed(int64(t)), nil
	case int64:
		return signed(t), nil
	case uint:
		return Uint(uint64(t)), nil
	case uint8:
		return Uint(uint64(t)), nil
	case uint16:
		return Uint(uint64(t)), nil
	case uint32:
		return Uint(uint64(t)), nil
	case uint64:
		return Uint(t), nil
	case float32:
		return Float(float64(t)), nil
	case float64:
		return Float(t), nil
	case json.Number:
		if u, err := strconv.ParseUint(t.String(), 10, 64); err == nil {
			return Uint(u), nil
		}
		f, err := t.Float64()
		if err != nil {
			return Value{}, err
		}
		return Float(f), nil
	case []any:
		out := make([]Value, len(t))
		for i, e := range t {
			v, err := FromGo(e)
			if err != nil {
				return Value{}, err
			}
			out[i] = v
		}
		return List(out...), nil
	case []string:
		out := make([]Value, len(t))
		for i, e := range t {
			out[i] = Str(e)
		}
		return List(out...), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject()
		for _, k := range keys {
			v, err := FromGo(t[k])
			if err != nil {
				return Value{}, err
			}
			o.Set(k, v)
		}
		return Obj(o), nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = v
		}
		return FromGo(m)
	case *Object:
		return Obj(t), nil
	}
	return Value{}, fmt.Errorf("unsupported data of type %T", x)
}

// signed converts a decoded signed integer: GXL integers are unsigned, so
// a negative number from a data file is kept as a float.
func signed(i int64) Value {
	if i < 0 {
		return Float(float64(i))
	}
	return Uint(uint64(i))
}

// Object is an insertion-ordered map with case-insensitive keys. The key
// keeps the spelling of its first insertion.
type Object struct {
	keys  []string
	vals  []Value
	index map[string]int // folded key → position
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{index: map[string]int{}} }

// Fold is the case folding used for variable names and object keys.
func Fold(k string) string {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(k)
		}
	}
	return k
}

// Len returns the number of entries.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in insertion order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// Values returns the values in insertion order.
func (o *Object) Values() []Value {
	if o == nil {
		return nil
	}
	return o.vals
}

// Get looks a key up case-insensitively.
func (o *Object) Get(k string) (Value, bool) {
	if o == nil {
		return Value{}, false
	}
	i, ok := o.index[Fold(k)]
	if !ok {
		return Value{}, false
	}
	return o.vals[i], true
}

// Set inserts or replaces (keeping the first position).
func (o *Object) Set(k string, v Value) {
	f := Fold(k)
	if i, ok := o.index[f]; ok {
		o.vals[i] = v
		return
	}
	o.index[f] = len(o.keys)
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// Delete removes a key.
func (o *Object) Delete(k string) {
	f := Fold(k)
	i, ok := o.index[f]
	if !ok {
		return
	}
	o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
	o.vals = append(o.vals[:i:i], o.vals[i+1:]...)
	delete(o.index, f)
	for j := i; j < len(o.keys); j++ {
		o.index[Fold(o.keys[j])] = j
	}
}

// Clone returns a shallow copy.
func (o *Object) Clone() *Object {
	n := &Object{keys: append([]string(nil), o.keys...), vals: append([]Value(nil), o.vals...), index: make(map[string]int, len(o.index))}
	for k, v := range o.index {
		n.index[k] = v
	}
	return n
}
