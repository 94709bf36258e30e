package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gxl-dev/gxl/core/value"
)

// delta is what one statement changed in the variables, ready for the
// journal: set is a JSON object of name → value, del the removed names,
// sec the names whose new value is secret (not written).
type delta struct {
	set json.RawMessage
	del []string
	sec []string
}

// takeDelta ends change tracking on s and encodes what changed. A value
// marked secret, or whose text contains a secret value of s (the rule
// Scope.Set marks values by, applied again here since a secret may have
// entered the scope after the value), is not written: its name goes to
// sec.
func takeDelta(s *Scope) delta {
	names := s.untrack()
	var d delta
	if len(names) == 0 {
		return d
	}
	m := s.Masker()
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	for _, f := range names {
		e, ok := s.lookup(f)
		switch {
		case !ok:
			d.del = append(d.del, f)
		case e.v.Secret() || (m.Len() > 0 && value.Taint(e.v, m.Contains).Secret()):
			d.sec = append(d.sec, e.name)
		default:
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			writeJSONString(&buf, e.name)
			buf.WriteByte(':')
			encodeValueJSON(&buf, e.v)
		}
	}
	buf.WriteByte('}')
	if n > 0 {
		d.set = buf.Bytes()
	}
	return d
}

// apply replays a finish record's delta on s.
func (r *record) apply(s *Scope) error {
	for _, name := range r.Del {
		s.Delete(name)
	}
	if len(r.D) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.D))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("journal: bad delta at %s", r.A)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		v, err := decodeValueJSON(dec)
		if err != nil {
			return fmt.Errorf("journal: delta of %s at %s: %w", name, r.A, err)
		}
		s.Set(name, v)
	}
	return nil
}

// encodeValueJSON writes v as plain JSON, so a value read from a JSON file
// takes about its own size: strings, booleans and lists as themselves;
// integers as digits; floats always with a '.' or an exponent (so they
// read back as floats), non-finite ones as {"$f":"+Inf"}; objects with
// their keys in order, a key starting with '$' escaped as "$$…".
func encodeValueJSON(b *bytes.Buffer, v value.Value) {
	switch v.Kind() {
	case value.KString:
		writeJSONString(b, v.StrVal())
	case value.KInt:
		b.WriteString(v.String())
	case value.KFloat:
		f := v.FloatVal()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			b.WriteString(`{"$f":"` + strconv.FormatFloat(f, 'g', -1, 64) + `"}`)
			return
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		b.WriteString(s)
	case value.KBool:
		b.WriteString(strconv.FormatBool(v.BoolVal()))
	case value.KList:
		b.WriteByte('[')
		for i, e := range v.ListVal() {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeValueJSON(b, e)
		}
		b.WriteByte(']')
	case value.KObject:
		o := v.ObjVal()
		b.WriteByte('{')
		vals := o.Values()
		for i, k := range o.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.HasPrefix(k, "$") {
				k = "$" + k
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			encodeValueJSON(b, vals[i])
		}
		b.WriteByte('}')
	default:
		b.WriteString(`""`)
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// decodeValueJSON reads one value written by encodeValueJSON.
func decodeValueJSON(dec *json.Decoder) (value.Value, error) {
	t, err := dec.Token()
	if err != nil {
		return value.Value{}, err
	}
	switch t := t.(type) {
	case string:
		return value.Str(t), nil
	case bool:
		return value.Bool(t), nil
	case json.Number:
		s := t.String()
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			return value.Float(f), err
		}
		u, err := strconv.ParseUint(s, 10, 64)
		return value.Uint(u), err
	case json.Delim:
		switch t {
		case '[':
			var l []value.Value
			for dec.More() {
				e, err := decodeValueJSON(dec)
				if err != nil {
					return value.Value{}, err
				}
				l = append(l, e)
			}
			_, err := dec.Token()
			return value.List(l...), err
		case '{':
			o := value.NewObject()
			special := ""
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return value.Value{}, err
				}
				k, _ := kt.(string)
				e, err := decodeValueJSON(dec)
				if err != nil {
					return value.Value{}, err
				}
				if k == "$f" {
					special = e.String()
					continue
				}
				if strings.HasPrefix(k, "$$") {
					k = k[1:]
				}
				o.Set(k, e)
			}
			if _, err := dec.Token(); err != nil {
				return value.Value{}, err
			}
			if special != "" {
				f, err := strconv.ParseFloat(special, 64)
				return value.Float(f), err
			}
			return value.Obj(o), nil
		}
	}
	return value.Value{}, fmt.Errorf("unexpected %v", t)
}
