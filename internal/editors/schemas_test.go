package editors

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/system"
	"github.com/gxl-dev/gxl/system/galaxy"
)

// The schemas of schemas/ are for YAML editors (yaml-language-server):
// gxl validates the system files itself, with positions and hints
// (system.Load). These tests keep the two in agreement: the schemas
// accept what the loader accepts and refuse what it refuses, on the
// example and on a table of bad files, and name the same fields.

var schemaDir = filepath.Join("..", "..", "schemas")

// compileSchema compiles schemas/<name>.schema.json; the schemas refer to
// each other by relative file names, as an editor reads them.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	files, _ := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
	if len(files) < 4 {
		t.Fatalf("schemas: %q", files)
	}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource("file://"+filepath.ToSlash(abs), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	abs, _ := filepath.Abs(filepath.Join(schemaDir, name+".schema.json"))
	s, err := c.Compile("file://" + filepath.ToSlash(abs))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// validateYAML validates YAML text against a schema; the problems come
// back as "line:col: message", the instance location mapped to the YAML
// node it names.
func validateYAML(t *testing.T, s *jsonschema.Schema, src []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return []string{"yaml: " + err.Error()}
	}
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		return []string{"yaml: " + err.Error()}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("as JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		t.Fatalf("validate: %v", err)
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			n := locate(&doc, e.InstanceLocation)
			out = append(out, fmt.Sprintf("%d:%d: %s", n.Line, n.Column, e.Error()))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// locate is the YAML node at a JSON instance location (the deepest node
// that exists).
func locate(doc *yaml.Node, loc []string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range loc {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
		default:
			return n
		}
	}
	return n
}

// exampleSys reads the example system's files.
func exampleSys(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"sys_model.yml", "mod_list.yml", "vars.yml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "sys", f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// schemaOf is the schema of a system file.
var schemaOf = map[string]string{"sys_model.yml": "sys_model", "mod_list.yml": "mod_list", "vars.yml": "vars"}

// loadWith loads the example system with one file replaced and returns
// the loader's errors about that file.
func loadWith(t *testing.T, file string, src []byte) diag.List {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "sys"), 0o755)
	for f, b := range exampleSys(t) {
		if f == file {
			b = src
		}
		if err := os.WriteFile(filepath.Join(root, "sys", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, ds := system.Load(root, system.Options{Env: func(string) (string, bool) { return "", false }})
	var out diag.List
	for _, d := range ds {
		if d.Severity == diag.Error && filepath.Base(d.Span.Start.File) == file {
			out = append(out, d)
		}
	}
	return out
}

// TestSchemasAcceptTheExample validates the example system, its module
// catalog and what `gsys new` and `gmod new` write.
func TestSchemasAcceptTheExample(t *testing.T) {
	check := func(name, path string) {
		t.Helper()
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if errs := validateYAML(t, compileSchema(t, name), src); len(errs) > 0 {
			t.Errorf("%s does not pass %s.schema.json:\n  %s", path, name, strings.Join(errs, "\n  "))
		}
	}
	for f, name := range schemaOf {
		check(name, filepath.Join("..", "..", "sys", f))
	}
	mods, _ := filepath.Glob(filepath.Join("..", "..", "modules", "*", "module.yml"))
	if len(mods) < 5 {
		t.Fatalf("module.yml files: %q", mods)
	}
	for _, m := range mods {
		check("module", m)
	}
	dir := t.TempDir()
	sys, err := galaxy.NewSystem(dir, "demo_sys", "x86-ubt22-k8s")
	if err != nil {
		t.Fatal(err)
	}
	for f, name := range schemaOf {
		check(name, filepath.Join(sys, "sys", f))
	}
	mod, err := galaxy.NewModule(dir, "demo_mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range galaxy.Models {
		check("vars", filepath.Join(mod, "mod", model, "vars.yml"))
	}
}

// TestSchemasAgreeWithLoader gives the schemas and system.Load the same
// files: the example with one field changed. Both refuse the structural
// mistakes; the rows where only the loader refuses are the checks a
// schema cannot make (values after ${…} resolution, names across items).
func TestSchemasAgreeWithLoader(t *testing.T) {
	ex := exampleSys(t)
	// edit replaces the first occurrence of old in a file of the example.
	edit := func(file, old, new string) []byte {
		s := string(ex[file])
		if !strings.Contains(s, old) {
			t.Fatalf("%s has no %q", file, old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	const ml, vy, sm = "mod_list.yml", "vars.yml", "sys_model.yml"
	cases := []struct {
		name     string
		file     string
		src      []byte
		schemaOK bool
		loaderOK bool
	}{
		{"example sys_model", sm, ex[sm], true, true},
		{"example mod_list", ml, ex[ml], true, true},
		{"example vars", vy, ex[vy], true, true},
		{"vendor spelling", sm, edit(sm, "vender:", "vendor:"), true, true},
		{"no name", sm, edit(sm, "name: microservice_platform", "nom: microservice_platform"), false, false},
		{"bad model", sm, edit(sm, "model: x86-ubt22-k8s", "model: x64-ubuntu-k8s"), false, false},
		{"unknown field in sys_model", sm, append(slices.Clone(ex[sm]), "owner: me\n"...), false, false},
		{"mod_list not a list", ml, []byte("name: x\n"), false, false},
		{"module without addr", ml, []byte("- name: a\n  model: x86-ubt22-k8s\n"), false, false},
		{"module without name", ml, []byte("- addr: {path: ./a}\n"), false, false},
		{"module name with a slash", ml, []byte("- name: a/b\n  addr: {path: ./a}\n"), false, false},
		{"module name ..", ml, []byte("- name: ..\n  addr: {path: ./a}\n"), false, false},
		{"unknown module field", ml, edit(ml, "  priority: 60\n", "  prio: 60\n"), false, false},
		{"priority not a number", ml, edit(ml, "priority: 60", "priority: high"), false, false},
		{"enable not a boolean", ml, edit(ml, "enable: true", "enable: maybe"), false, false},
		{"depends not a list", ml, edit(ml, "depends: [api_gateway]", "depends: api_gateway"), false, false},
		{"module model bad", ml, edit(ml, "model: x86-ubt22-k8s", "model: k8s"), false, false},
		{"node alias", ml, edit(ml, "model: x86-ubt22-k8s", "node: x86-ubt22-k8s"), true, true},
		{"repo without revision", ml, edit(ml, "    tag: v1.25.3\n", ""), false, false},
		{"branch", ml, edit(ml, "tag: v1.25.3", "branch: main"), true, true},
		{"rev", ml, edit(ml, "tag: v1.25.3", "rev: 0123abc"), true, true},
		{"tag and branch", ml, edit(ml, "tag: v1.25.3", "tag: v1.25.3\n    branch: main"), false, false},
		{"repo and url", ml, edit(ml, "tag: v1.25.3", "tag: v1.25.3\n    url: https://x.example/a.tgz"), false, false},
		{"url tarball", ml, []byte("- name: a\n  addr: {url: https://x.example/a.tgz, username: u, password: \"${SEC_P}\"}\n"), true, true},
		{"url not http", ml, []byte("- name: a\n  addr: {url: ftp://x.example/a.tgz}\n"), false, false},
		{"url with credential", ml, []byte("- name: a\n  addr: {url: \"https://u:p@x.example/a.tgz\"}\n"), false, false},
		{"password without username", ml, []byte("- name: a\n  addr: {url: https://x.example/a.tgz, password: \"${SEC_P}\"}\n"), false, false},
		{"local path", ml, []byte("- name: a\n  addr: {path: ./modules/a}\n"), true, true},
		{"tag on a local path", ml, []byte("- name: a\n  addr: {path: ./modules/a, tag: v1}\n"), false, false},
		{"token on a local path", ml, []byte("- name: a\n  addr: {path: ./modules/a, token: x}\n"), false, false},
		{"addr with no source", ml, []byte("- name: a\n  addr: {tag: v1}\n"), false, false},
		{"unknown addr field", ml, edit(ml, "tag: v1.25.3", "tag: v1.25.3\n    sha: abc"), false, false},
		{"addr field not a string", ml, edit(ml, "tag: v1.25.3", "tag: [v1]"), false, false},
		{"setting", ml, edit(ml, "  priority: 60\n", "  priority: 60\n  setting: {src: ./s, dst: ./d}\n"), true, true},
		{"setting without dst", ml, edit(ml, "  priority: 60\n", "  priority: 60\n  setting: {src: ./s}\n"), false, false},
		{"unknown depends", ml, edit(ml, "depends: [api_gateway]", "depends: [api_gatewy]"), true, false},
		{"module listed twice", ml, append(slices.Clone(ex[ml]), "- name: nginx_ingress\n  addr: {path: ./x}\n"...), true, false},
		{"vars not a list", vy, []byte("vars: {A: 1}\n"), false, false},
		{"unknown top field", vy, []byte("variables: []\n"), false, false},
		{"no vars", vy, []byte("vars: []\n"), true, true},
		{"var without value", vy, edit(vy, "    value: \"production\"\n", ""), false, false},
		{"var without name", vy, []byte("vars:\n  - value: 1\n"), false, false},
		{"unknown var field", vy, edit(vy, "    group: environment\n", "    grop: environment\n"), false, false},
		{"unknown type", vy, edit(vy, "type: boolean", "type: bool"), false, false},
		{"min not a number", vy, edit(vy, "min: 1\n", "min: one\n"), false, false},
		{"galaxy-ops desp", vy, []byte("vars:\n  - name: A\n    value: 1\n    desp: the size\n"), true, true},
		{"list value", vy, []byte("vars:\n  - name: A\n    value: [a, b]\n    type: list\n"), true, true},
		{"value out of range", vy, edit(vy, "value: \"${API_RATE_LIMIT:1000}\"", "value: \"${API_RATE_LIMIT:0}\""), true, false},
		{"value outside enum", vy, edit(vy, "value: \"production\"", "value: \"prod\""), true, false},
		{"variable defined twice", vy, append(slices.Clone(ex[vy]), "  - name: ENVIRONMENT\n    value: staging\n"...), true, false},
	}
	schemas := map[string]*jsonschema.Schema{}
	for f, name := range schemaOf {
		schemas[f] = compileSchema(t, name)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := validateYAML(t, schemas[c.file], c.src)
			if got := len(errs) == 0; got != c.schemaOK {
				t.Errorf("schema accepts: %v, want %v; problems: %q", got, c.schemaOK, errs)
			}
			ds := loadWith(t, c.file, c.src)
			if got := len(ds) == 0; got != c.loaderOK {
				t.Errorf("system.Load accepts: %v, want %v; diagnostics: %v", got, c.loaderOK, ds)
			}
		})
	}
}

// schemaProps returns the property names of the object at a JSON
// pointer path of a schema file.
func schemaProps(t *testing.T, name string, path ...string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemaDir, name+".schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(path, "properties") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no %s", name, p)
		}
		v = m[p]
	}
	var out []string
	for k := range v.(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// loaderFields returns the fields system.Load knows where src has the
// unknown field zzz_unknown: the list of its "known fields:" hint.
func loaderFields(t *testing.T, file, src string) []string {
	t.Helper()
	for _, d := range loadWith(t, file, []byte(src)) {
		if rest, ok := strings.CutPrefix(d.Hint, "known fields: "); ok && strings.Contains(d.Summary, "zzz_unknown") {
			rest, _, _ = strings.Cut(rest, ";")
			out := strings.Split(rest, ", ")
			sort.Strings(out)
			return out
		}
	}
	t.Fatalf("no unknown-field diagnostic for %q", src)
	return nil
}

// TestSchemaFieldsAreTheLoaderFields compares each object's properties in
// the schemas with the fields system.Load accepts (read from its own
// "known fields" hint), and the variable types with types.SchemaNames: a
// field added to the loader fails here until the schema has it.
func TestSchemaFieldsAreTheLoaderFields(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		src    string
		schema string
		path   []string
	}{
		{"sys_model", "sys_model.yml", "name: a\nzzz_unknown: 1\n", "sys_model", nil},
		{"module", "mod_list.yml", "- name: a\n  addr: {path: ./a}\n  zzz_unknown: 1\n", "mod_list", []string{"definitions", "module"}},
		{"addr", "mod_list.yml", "- name: a\n  addr: {path: ./a, zzz_unknown: x}\n", "mod_list", []string{"definitions", "addr"}},
		{"setting", "mod_list.yml", "- name: a\n  addr: {path: ./a}\n  setting: {src: a, dst: b, zzz_unknown: c}\n", "mod_list", []string{"definitions", "setting"}},
		{"vars.yml", "vars.yml", "vars: []\nzzz_unknown: 1\n", "vars", nil},
		{"variable", "vars.yml", "vars:\n  - name: A\n    value: 1\n    zzz_unknown: 1\n", "vars", []string{"definitions", "var"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := schemaProps(t, c.schema, c.path...), loaderFields(t, c.file, c.src)
			if !slices.Equal(got, want) {
				t.Errorf("%s.schema.json %v has the properties %q; system.Load knows %q", c.schema, c.path, got, want)
			}
		})
	}
	b, _ := os.ReadFile(filepath.Join(schemaDir, "vars.schema.json"))
	var v struct {
		Definitions struct {
			Var struct {
				Properties struct {
					Type struct {
						Enum []string `json:"enum"`
					} `json:"type"`
				} `json:"properties"`
			} `json:"var"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if got := v.Definitions.Var.Properties.Type.Enum; !slices.Equal(got, types.SchemaNames) {
		t.Errorf("vars.schema.json's types %q, types.SchemaNames %q", got, types.SchemaNames)
	}
}

// TestModuleSchemaRefusesBadEntries checks module.schema.json against the
// rules of `gxl publish` (repo and tag given, repo an https:// address
// without ..).
func TestModuleSchemaRefusesBadEntries(t *testing.T) {
	s := compileSchema(t, "module")
	for _, c := range []struct {
		src string
		ok  bool
	}{
		{"repo: https://github.com/org/x\ntag: v1.0.0\n", true},
		{"repo: https://github.com/org/x\n", false},
		{"tag: v1\n", false},
		{"repo: http://github.com/org/x\ntag: v1\n", false},
		{"repo: https://github.com/../x\ntag: v1\n", false},
		{"repo: https://github.com/org/x\ntag: \"\"\n", false},
	} {
		if errs := validateYAML(t, s, []byte(c.src)); (len(errs) == 0) != c.ok {
			t.Errorf("%q: problems %q, want valid=%v", c.src, errs, c.ok)
		}
	}
}

// TestSchemaLocations checks that a schema problem is reported at the
// YAML node it is about.
func TestSchemaLocations(t *testing.T) {
	src := []byte("- name: a\n  addr: {path: ./a}\n- name: b\n  addr: {path: ./b}\n  priority: high\n")
	errs := validateYAML(t, compileSchema(t, "mod_list"), src)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "5:13: ") {
		t.Errorf("problems %q, want one at 5:13 (priority: high)", errs)
	}
}

// TestExampleFilesNameTheirSchemas checks the yaml-language-server
// modelines of the example: each file names its schema by a relative
// path that exists.
func TestExampleFilesNameTheirSchemas(t *testing.T) {
	files := map[string]string{}
	for f, name := range schemaOf {
		files[filepath.Join("..", "..", "sys", f)] = name
	}
	mods, _ := filepath.Glob(filepath.Join("..", "..", "modules", "*", "module.yml"))
	for _, m := range mods {
		files[m] = "module"
	}
	for path, name := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		ref, ok := strings.CutPrefix(first, "# yaml-language-server: $schema=")
		if !ok {
			t.Errorf("%s: the first line is %q, want # yaml-language-server: $schema=…/schemas/%s.schema.json", path, first, name)
			continue
		}
		if filepath.Base(ref) != name+".schema.json" || filepath.IsAbs(ref) {
			t.Errorf("%s names %s, want a relative path to %s.schema.json", path, ref, name)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), ref)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
