package galaxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/stdlib/gx"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/sysops"
)

// LocalizeOptions configure LocalizeSystem and LocalizeModule.
type LocalizeOptions struct {
	// ValueFiles are --value files, layered over everything else in
	// order (a later file wins).
	ValueFiles []string
	// Default (--default) leaves out the user's value files under
	// values/: only the variables' defaults, the system's variables and
	// ValueFiles count.
	Default bool
	// Env looks up the environment for ${NAME} in values and settings
	// (default os.LookupEnv).
	Env func(string) (string, bool)
	// Out hears one line per module and file written.
	Out io.Writer
	// Level is gsys/gmod localize -d: from 1 on, Out also hears of every
	// file rendered, copied or left out.
	Level int
}

func (o LocalizeOptions) env(name string) (string, bool) {
	if o.Env != nil {
		return o.Env(name)
	}
	return os.LookupEnv(name)
}

// Layer is one source of values, lowest first: its name (where the
// values come from, recorded in _used.yml) and its values.
type Layer struct {
	From   string
	Values []KV
}

// KV is one value of a layer.
type KV struct {
	Name  string
	Value any
}

// Used are the values a variant uses: each name once, in the order of
// first appearance, with the layer its value came from.
type Used struct {
	Entries []UsedValue
	at      map[string]int
}

// UsedValue is one used value.
type UsedValue struct {
	Name  string
	Value any
	From  string
}

// Get returns the value of name.
func (u *Used) Get(name string) (UsedValue, bool) {
	i, ok := u.at[name]
	if !ok {
		return UsedValue{}, false
	}
	return u.Entries[i], true
}

// Map is the used values as a map (the data of templates).
func (u *Used) Map() map[string]any {
	m := make(map[string]any, len(u.Entries))
	for _, e := range u.Entries {
		m[e.Name] = e.Value
	}
	return m
}

// Mix layers the values: a later layer wins a name. Then every
// ${NAME} or ${NAME:default} in a text value is replaced by the used
// value of NAME, else the environment's, else the default; one with
// neither stays as written.
func Mix(layers []Layer, env func(string) (string, bool)) *Used {
	u := &Used{at: map[string]int{}}
	for _, l := range layers {
		for _, kv := range l.Values {
			if i, ok := u.at[kv.Name]; ok {
				u.Entries[i] = UsedValue{Name: kv.Name, Value: kv.Value, From: l.From}
				continue
			}
			u.at[kv.Name] = len(u.Entries)
			u.Entries = append(u.Entries, UsedValue{Name: kv.Name, Value: kv.Value, From: l.From})
		}
	}
	// Values may refer to values that refer to others: a few rounds.
	for round := 0; round < 8; round++ {
		changed := false
		for i, e := range u.Entries {
			if nv := u.expand(e.Value, env); !equalText(nv, e.Value) {
				u.Entries[i].Value, changed = nv, true
			}
		}
		if !changed {
			break
		}
	}
	return u
}

func equalText(a, b any) bool {
	sa, oka := a.(string)
	sb, okb := b.(string)
	if oka || okb {
		return oka && okb && sa == sb
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

var refRE = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)(:([^}]*))?\}`)

func (u *Used) expand(v any, env func(string) (string, bool)) any {
	switch t := v.(type) {
	case string:
		return expandText(t, func(name string) (string, bool) {
			if e, ok := u.Get(name); ok {
				if s, isStr := e.Value.(string); !isStr || !strings.Contains(s, "${"+name) {
					return fmt.Sprint(e.Value), true
				}
			}
			return env(name)
		})
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = u.expand(x, env)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = u.expand(x, env)
		}
		return out
	}
	return v
}

// expandText replaces ${NAME} and ${NAME:default} by look, else the
// default; one with neither stays as written.
func expandText(s string, look func(string) (string, bool)) string {
	return refRE.ReplaceAllStringFunc(s, func(m string) string {
		g := refRE.FindStringSubmatch(m)
		if v, ok := look(g[1]); ok {
			return v
		}
		if g[2] != "" {
			return g[3]
		}
		return m
	})
}

// varsLayer is the defaults of a vars.yml.
func varsLayer(from, file string) (Layer, error) {
	vars, err := readVars(file)
	l := Layer{From: from}
	for _, v := range vars {
		l.Values = append(l.Values, KV{v.Name, v.Value})
	}
	return l, err
}

// fileLayer is a value file: a YAML (or JSON) map NAME: value. A missing
// file is an empty layer unless must.
func fileLayer(from, file string, must bool) (Layer, error) {
	l := Layer{From: from}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && !must {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("value file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return l, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return l, nil
	}
	n := doc.Content[0]
	if n.Kind != yaml.MappingNode {
		return l, fmt.Errorf("%s:%d:%d: a value file is a map of NAME: value", file, n.Line, n.Column)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v any
		if err := n.Content[i+1].Decode(&v); err != nil {
			return l, fmt.Errorf("%s:%d:%d: %w", file, n.Content[i+1].Line, n.Content[i+1].Column, err)
		}
		l.Values = append(l.Values, KV{n.Content[i].Value, v})
	}
	return l, nil
}

// ReadValueFiles reads value files (gxl run --value, gsys localize
// --value) into one layer each.
func ReadValueFiles(files ...string) ([]Layer, error) {
	var out []Layer
	for _, f := range files {
		l, err := fileLayer("--value "+f, f, true)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LocalizeSystem is gsys localize in the system project root: for every
// enabled module, its variant's values are layered (the variables of its
// vars.yml, the system's variables, values/mods/<name>/value.yml,
// values/value.yml, the --value files), written to the variant's
// values/_used.json and to values/mods/<name>/_used.yml (each value
// with the layer it came from); the variant's spec/ is rendered into its
// local/; and the module's setting copy rule, if any, is applied.
func LocalizeSystem(root string, o LocalizeOptions) error {
	sys, err := LoadSystem(root)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	extra, err := ReadValueFiles(o.ValueFiles...)
	if err != nil {
		return err
	}
	// The system's variables as written (their YAML types kept; ${NAME}
	// resolves with the other values).
	sysLayer, err := varsLayer("sys/vars.yml", filepath.Join(root, "sys", "vars.yml"))
	if err != nil {
		return err
	}
	sysLayer.Values = append(sysLayer.Values, KV{"SYS_NAME", sys.Model.Name}, KV{"SYS_MODEL", sys.Model.Model})
	for _, m := range sys.Modules {
		if !m.Enable {
			continue
		}
		wf, err := sysops.FindWorkflow(filepath.Join(root, "sys", "mods", m.Name), sysops.ModelOf(sys, m))
		if err != nil {
			return fmt.Errorf("module %s is not fetched (%v): run gsys update first", m.Name, err)
		}
		valueRoot := filepath.Join(root, "values", "mods", m.Name)
		def, err := varsLayer("vars.yml of "+m.Name, filepath.Join(wf.Dir, "vars.yml"))
		if err != nil {
			return err
		}
		layers, err := valueLayers([]Layer{def, sysLayer}, o, extra,
			valueFile{"values/mods/" + m.Name + "/value.yml", filepath.Join(valueRoot, "value.yml")},
			valueFile{"values/value.yml", filepath.Join(root, "values", "value.yml")})
		if err != nil {
			return err
		}
		used, err := localizeVariant(abs, wf.Dir, valueRoot, def, layers, o)
		if err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		if m.Setting != nil {
			if err := applySetting(abs, m.Name, m.Setting, used, o); err != nil {
				return fmt.Errorf("module %s: setting: %w", m.Name, err)
			}
		}
		logf(o.Out, "module %s: localized %s (%d values)", m.Name, rel(abs, wf.Dir), len(used.Entries))
	}
	return nil
}

// LocalizeModule is gmod localize in a module project root: for every
// variant mod/<model>, its values are layered (its vars.yml, its
// values/value.yml, the project's values/value.yml, the --value files)
// and written to its values/_used.json and _used.yml, and its spec/ is
// rendered into its local/.
func LocalizeModule(root string, o LocalizeOptions) error {
	vs := variants(root)
	if len(vs) == 0 {
		return fmt.Errorf("%s is not a module project (no mod/<model> folder): run gmod in the folder gmod new made", root)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	extra, err := ReadValueFiles(o.ValueFiles...)
	if err != nil {
		return err
	}
	for _, v := range vs {
		def, err := varsLayer("vars.yml", filepath.Join(v, "vars.yml"))
		if err != nil {
			return err
		}
		layers, err := valueLayers([]Layer{def}, o, extra,
			valueFile{"values/value.yml of " + filepath.Base(v), filepath.Join(v, "values", "value.yml")},
			valueFile{"values/value.yml", filepath.Join(root, "values", "value.yml")})
		if err != nil {
			return err
		}
		used, err := localizeVariant(abs, v, filepath.Join(v, "values"), def, layers, o)
		if err != nil {
			return fmt.Errorf("variant %s: %w", filepath.Base(v), err)
		}
		logf(o.Out, "variant %s: localized (%d values)", filepath.Base(v), len(used.Entries))
	}
	return nil
}

// localizeVariant mixes layers for the variant in dir, writes
// dir/values/_used.json and valueRoot/_used.yml (and a sample
// valueRoot/_value.yml of the defaults when there is no value file
// there), and renders dir/spec into dir/local.
func localizeVariant(root, dir, valueRoot string, defaults Layer, layers []Layer, o LocalizeOptions) (*Used, error) {
	used := Mix(append([]Layer{{From: "GXL_PRJ_ROOT", Values: []KV{{"GXL_PRJ_ROOT", root}}}}, layers...), o.env)
	if err := os.MkdirAll(valueRoot, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "values"), 0o755); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, "values", "_used.json"), usedJSON(used)); err != nil {
		return nil, err
	}
	b, err := usedYAML(used)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(valueRoot, "_used.yml"), b); err != nil {
		return nil, err
	}
	sample, user := filepath.Join(valueRoot, "_value.yml"), filepath.Join(valueRoot, "value.yml")
	if !exists(sample) && !exists(user) {
		b, err := usedYAML(Mix([]Layer{defaults}, func(string) (string, bool) { return "", false }))
		if err != nil {
			return nil, err
		}
		if err := writeFile(sample, b); err != nil {
			return nil, err
		}
	}
	spec, local := filepath.Join(dir, "spec"), filepath.Join(dir, "local")
	if exists(spec) {
		t, ds := system.ReadTemplatize(filepath.Join(dir, "setting.yml"))
		if ds.HasErrors() {
			return nil, ds.Err()
		}
		ro, err := renderOptions(t, dir, used.look(o), o.Out, o.Level, root)
		if err != nil {
			return nil, err
		}
		rs := fsguard.Base().Add(root, "the project root").Add(dir, "the module variant")
		if err := fsguard.RemoveAll(local, rs); err != nil {
			return nil, err
		}
		if err := gx.RenderPathWith(spec, local, used.Map(), ro); err != nil {
			return nil, fmt.Errorf("render spec/ into local/: %w", err)
		}
	}
	return used, nil
}

// look finds NAME for ${NAME} in settings: the used values, then the
// environment.
func (u *Used) look(o LocalizeOptions) func(string) (string, bool) {
	return func(n string) (string, bool) {
		if e, ok := u.Get(n); ok {
			return fmt.Sprint(e.Value), true
		}
		return o.env(n)
	}
}

// applySetting renders the setting's src (file or folder) into its dst
// with the used values, as its localize settings say (a relative include
// or exclude is under src, or under the folder of a src file); ${NAME}
// in src, dst and patterns resolves from the used values (GXL_PRJ_ROOT
// is the project root), then the environment. A src that does not exist
// is skipped, as galaxy-ops does.
func applySetting(root, name string, st *system.Setting, used *Used, o LocalizeOptions) error {
	look := used.look(o)
	src, dst := expandText(st.Src, look), expandText(st.Dst, look)
	if strings.Contains(src+dst, "${") {
		return fmt.Errorf("src %q or dst %q names a value that is not set", src, dst)
	}
	fi, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		logf(o.Out, "module %s: setting %s does not exist: skipped", name, src)
		return nil
	}
	if err != nil {
		return err
	}
	base := src
	if !fi.IsDir() {
		base = filepath.Dir(src)
		if strings.HasSuffix(dst, "/") || isDir(dst) {
			dst = filepath.Join(dst, filepath.Base(src))
		}
	}
	ro, err := renderOptions(st.Templatize, base, look, o.Out, o.Level, root)
	if err != nil {
		return err
	}
	if err := gx.RenderPathWith(src, dst, used.Map(), ro); err != nil {
		return err
	}
	logf(o.Out, "module %s: setting %s ---> %s", name, rel(root, src), rel(root, dst))
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func isDir(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }

// usedJSON is the used values as one JSON object in their order.
func usedJSON(u *Used) []byte {
	var b bytes.Buffer
	b.WriteString("{")
	for i, e := range u.Entries {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(e.Name)
		v, err := json.Marshal(jsonable(e.Value))
		if err != nil {
			v, _ = json.Marshal(fmt.Sprint(e.Value))
		}
		fmt.Fprintf(&b, "\n  %s: %s", k, v)
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

// jsonable turns YAML's map[any]any (never produced by yaml.v3 for
// string keys, but possible for others) into JSON's shapes.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = jsonable(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = jsonable(x)
		}
		return out
	}
	return v
}

// usedYAML is the used values as YAML, each with the layer its value came
// from as a comment.
func usedYAML(u *Used) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range u.Entries {
		var v yaml.Node
		if err := v.Encode(e.Value); err != nil {
			return nil, err
		}
		k := str(e.Name)
		if e.From != "" {
			k.LineComment = "from " + e.From
		}
		doc.Content = append(doc.Content, k, &v)
	}
	return marshal(doc)
}

// valueFile is a value file of a localize: from names it in messages.
type valueFile struct{ from, file string }

// valueLayers appends to layers the value files (an absent one is an
// empty layer) unless --default, then the --value layers extra.
func valueLayers(layers []Layer, o LocalizeOptions, extra []Layer, files ...valueFile) ([]Layer, error) {
	if !o.Default {
		for _, f := range files {
			l, err := fileLayer(f.from, f.file, false)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
	}
	return append(layers, extra...), nil
}
