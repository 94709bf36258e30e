package gx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"gopkg.in/ini.v1"
	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// ReadData reads a data file by its extension (.ini, .json, .yml, .yaml,
// .toml) into a value, keeping the key order of the file. A file that
// reads the same bytes as at its last decoding (up to decodedMax) is not
// decoded again: `gxl operate` reads the system's connection settings
// at the start of every run, twice a second, and decoding their YAML was
// a fifteenth of an idle operator's CPU. Values are immutable, so the
// decoded one is shared.
func ReadData(path string) (value.Value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return value.Value{}, err
	}
	if d, ok := decoded.Load(path); ok && bytes.Equal(d.(*decodedFile).src, b) {
		return d.(*decodedFile).v, nil
	}
	v, err := decodeData(path, b)
	if err == nil && len(b) <= decodedMax {
		decoded.Store(path, &decodedFile{src: b, v: v})
	}
	return v, err
}

// decoded keeps the last decoding of each data file read (ReadData).
var decoded sync.Map

type decodedFile struct {
	src []byte
	v   value.Value
}

// decodedMax: larger files are decoded at every read.
const decodedMax = 1 << 20

func decodeData(path string, b []byte) (value.Value, error) {
	var err error
	var v value.Value
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		v, err = decodeJSON(b)
	case ".yml", ".yaml":
		v, err = decodeYAML(b)
	case ".toml":
		v, err = decodeTOML(b)
	case ".ini":
		v, err = decodeINI(b)
	default:
		return value.Value{}, fmt.Errorf("%s: unsupported file type (use .ini, .json, .yml, .yaml or .toml)", path)
	}
	if err != nil {
		return value.Value{}, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func decodeJSON(b []byte) (value.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := jsonValue(dec)
	if err != nil {
		return value.Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return value.Value{}, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder) (value.Value, error) {
	t, err := dec.Token()
	if err != nil {
		return value.Value{}, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := value.NewObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return value.Value{}, err
				}
				v, err := jsonValue(dec)
				if err != nil {
					return value.Value{}, err
				}
				o.Set(kt.(string), v)
			}
			_, err := dec.Token()
			return value.Obj(o), err
		case '[':
			var l []value.Value
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return value.Value{}, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return value.List(l...), err
		}
	case nil:
		return value.Str(""), nil
	}
	return value.FromGo(t)
}

func decodeYAML(b []byte) (value.Value, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return value.Value{}, err
	}
	if n.Kind == 0 {
		return value.Obj(nil), nil
	}
	return yamlValue(&n)
}

func yamlValue(n *yaml.Node) (value.Value, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return value.Obj(nil), nil
		}
		return yamlValue(n.Content[0])
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	case yaml.MappingNode:
		o := value.NewObject()
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return value.Value{}, err
			}
			o.Set(n.Content[i].Value, v)
		}
		return value.Obj(o), nil
	case yaml.SequenceNode:
		var l []value.Value
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return value.Value{}, err
			}
			l = append(l, v)
		}
		return value.List(l...), nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			if u, err := strconv.ParseUint(n.Value, 0, 64); err == nil {
				return value.Uint(u), nil
			}
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return value.FromGo(i)
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return value.Float(f), nil
			}
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return value.Bool(b), nil
			}
		case "!!null":
			return value.Str(""), nil
		}
		return value.Str(n.Value), nil
	}
	return value.Value{}, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func decodeTOML(b []byte) (value.Value, error) {
	var m map[string]any
	md, err := toml.Decode(string(b), &m)
	if err != nil {
		return value.Value{}, err
	}
	// Rebuild objects in the order keys appear in the file.
	root := value.NewObject()
	for _, key := range md.Keys() {
		obj := root
		var cur any = m
		for i, k := range key {
			mm, ok := cur.(map[string]any)
			if !ok {
				break
			}
			cur = mm[k]
			if i == len(key)-1 {
				if _, isMap := cur.(map[string]any); isMap {
					if _, exists := obj.Get(k); !exists {
						obj.Set(k, value.Obj(nil))
					}
					continue
				}
				v, err := value.FromGo(normalizeTOML(cur))
				if err != nil {
					return value.Value{}, err
				}
				obj.Set(k, v)
				continue
			}
			next, ok := obj.Get(k)
			if !ok || next.Kind() != value.KObject {
				next = value.Obj(nil)
				obj.Set(k, next)
			}
			obj = next.ObjVal()
		}
	}
	return value.Obj(root), nil
}

func normalizeTOML(x any) any {
	switch t := x.(type) {
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	}
	return x
}

func decodeINI(b []byte) (value.Value, error) {
	f, err := ini.Load(b)
	if err != nil {
		return value.Value{}, err
	}
	root := value.NewObject()
	for _, s := range f.Sections() {
		target := root
		if s.Name() != ini.DefaultSection {
			o := value.NewObject()
			root.Set(s.Name(), value.Obj(o))
			target = o
		}
		for _, k := range s.Keys() {
			target.Set(k.Name(), value.Str(k.Value()))
		}
	}
	return value.Obj(root), nil
}

func runReadFile(c builtin.Ctx, a builtin.Args) error {
	path := a.Str("file")
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.Dir(), path)
	}
	v, err := ReadData(path)
	if err != nil {
		return err
	}
	if name := a.Str("name"); name != "" {
		if v.Kind() != value.KObject && v.Kind() != value.KList {
			return fmt.Errorf("%s holds a single %s; read_file needs a map or a list", a.Str("file"), v.TypeName())
		}
		c.Set(name, v)
		return nil
	}
	switch v.Kind() {
	case value.KObject:
		o := v.ObjVal()
		for i, k := range o.Keys() {
			c.Set(k, o.Values()[i])
		}
		return nil
	case value.KList:
		return fmt.Errorf("%s holds a list: give it a name, e.g. gx.read_file(file: %q, name: \"ITEMS\")", a.Str("file"), a.Str("file"))
	}
	return fmt.Errorf("%s holds a single %s; read_file needs a map or a list", a.Str("file"), v.TypeName())
}
