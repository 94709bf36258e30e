// Package galaxy makes and maintains the projects of galaxy-ops' tools
// (spec Part II §7): a system project of gsys (sys-prj.yml, values/,
// _gal/, sys/) and a module project of gmod (mod-prj.yml, _gal/,
// mod/<model>/...). NewSystem and NewModule write the generated layouts;
// UpdateSystem brings a system's modules (each module's variant for its
// model, through the module fetcher) and merges their variables;
// LocalizeSystem and LocalizeModule layer the values, render each
// variant's spec/ into local/ and write values/_used.json.
package galaxy

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed all:tpl
var tpl embed.FS

// Models are the platform models gsys new and gmod new know, the first
// the default of gsys new.
var Models = []string{"x86-ubt22-k8s", "x86-ubt22-host", "arm-mac14-host"}

var modelRE = regexp.MustCompile(`^(x86|arm)-(mac14|win10|ubt22|cos7)-(host|k8s)$`)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// checkName refuses a name that is not one folder name.
func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid %s name %q: one folder name of letters, digits, _, - and . (e.g. my_%s)", what, name, what)
	}
	return nil
}

// CheckModel refuses a model that is not arch-os-spc.
func CheckModel(model string) error {
	if !modelRE.MatchString(model) {
		return fmt.Errorf("invalid model %q: a model is arch-os-spc, e.g. x86-ubt22-k8s (arch x86|arm, os mac14|win10|ubt22|cos7, spc host|k8s)", model)
	}
	return nil
}

// writer writes the files of a new project under root, never over an
// existing one.
type writer struct {
	root string
	subs map[string]string // @NAME@ and the like
	err  error
}

func (w *writer) file(rel, content string) {
	if w.err != nil {
		return
	}
	for k, v := range w.subs {
		content = strings.ReplaceAll(content, k, v)
	}
	p := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.err = err
		return
	}
	w.err = os.WriteFile(p, []byte(content), 0o644)
}

// tree copies the embedded folder tpl/from to rel; a file named gitignore
// becomes .gitignore.
func (w *writer) tree(from, rel string) {
	fs.WalkDir(tpl, "tpl/"+from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := tpl.ReadFile(p)
		out := strings.TrimPrefix(p, "tpl/"+from+"/")
		if path.Base(out) == "gitignore" {
			out = path.Join(path.Dir(out), ".gitignore")
		}
		w.file(path.Join(rel, out), string(b))
		return nil
	})
}

func (w *writer) yaml(rel string, v any) {
	b, err := marshal(v)
	if err != nil {
		w.err = err
		return
	}
	w.file(rel, string(b))
}

// marshal is YAML with two-space indents.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	err := enc.Close()
	return b.Bytes(), err
}

// fresh makes dir, which must not exist yet.
func fresh(dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s exists already: choose another name or remove it", dir)
	}
	return os.MkdirAll(dir, 0o755)
}

// NewSystem writes the project of a new system named name with platform
// model under parent/name (gsys new): sys-prj.yml, values/value.yml,
// _gal/{work,adm}.gxl and project.toml, sys/sys_model.yml,
// sys/mod_list.yml (three sample modules, disabled), an empty
// sys/vars.yml (gsys update fills it), sys/workflows/operators.gxl and
// .gitignore. It returns the project's folder.
func NewSystem(parent, name, model string) (string, error) {
	if err := checkName("system", name); err != nil {
		return "", err
	}
	if err := CheckModel(model); err != nil {
		return "", err
	}
	root := filepath.Join(parent, name)
	if err := fresh(root); err != nil {
		return "", err
	}
	w := &writer{root: root, subs: map[string]string{"@NAME@": name, "@MODEL@": model}}
	w.tree("sys", "")
	w.yaml("sys-prj.yml", map[string]any{"test_envs": depSet{DepRoot: "./depends", Deps: []dependency{}}})
	w.yaml("values/value.yml", map[string]any{"TEST_WORK_ROOT": "/home/galaxy"})
	w.yaml("sys/sys_model.yml", yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("name"), str(name), str("model"), str(model), str("vender"), {Kind: yaml.ScalarNode, Value: "", Style: yaml.DoubleQuotedStyle},
	}})
	w.yaml("sys/mod_list.yml", []modRef{
		{Name: "you_mod1", Addr: gitAddr{Repo: "https://github.com/you-mod1", Tag: "0.1.0"}, Model: "arm-mac14-host", Enable: ptr(false),
			Setting: &setting{Src: "${GXL_PRJ_ROOT}/sys/setting/you_mod1", Dst: "${GXL_PRJ_ROOT}/sys/mods/you_mod1/" + model + "/local/"}},
		{Name: "you_mod2", Addr: gitAddr{Repo: "https://github.com/you-mod2", Branch: "beta"}, Model: "arm-mac14-host", Enable: ptr(false)},
		{Name: "you_mod3", Addr: gitAddr{Repo: "https://github.com/you-mod3", Tag: "v1.0.0"}, Model: "x86-ubt22-k8s", Enable: ptr(false)},
	})
	w.file("sys/vars.yml", "vars: []\n")
	return root, w.err
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func ptr[T any](v T) *T { return &v }

// modRef is an entry of mod_list.yml as gsys new writes it.
type modRef struct {
	Name    string   `yaml:"name"`
	Addr    gitAddr  `yaml:"addr"`
	Model   string   `yaml:"model"`
	Enable  *bool    `yaml:"enable,omitempty"`
	Setting *setting `yaml:"setting,omitempty"`
}

type gitAddr struct {
	Repo   string `yaml:"repo"`
	Tag    string `yaml:"tag,omitempty"`
	Branch string `yaml:"branch,omitempty"`
}

type setting struct {
	Src string `yaml:"src"`
	Dst string `yaml:"dst"`
}

// variable is one entry of a vars.yml.
type variable struct {
	Name  string `yaml:"name"`
	Value any    `yaml:"value"`
	Desp  string `yaml:"desp,omitempty"`
}

type varsFile struct {
	Vars []variable `yaml:"vars"`
}

// artifact is one entry of spec/artifact.yml.
type artifact struct {
	Name    string            `yaml:"name"`
	Version string            `yaml:"version"`
	Addr    map[string]string `yaml:"addr"`
	Local   string            `yaml:"local"`
}

// NewModule writes the project of a new module named name under
// parent/name (gmod new): mod-prj.yml, version.txt, _gal/{work,adm}.gxl
// and project.toml, .gitignore, and for each of Models the variant
// mod/<model>/ with _gal/work.gxl, workflows/operators.gxl,
// spec/artifact.yml, spec/depends.yml and vars.yml. It returns the
// project's folder.
func NewModule(parent, name string) (string, error) {
	if err := checkName("module", name); err != nil {
		return "", err
	}
	root := filepath.Join(parent, name)
	if err := fresh(root); err != nil {
		return "", err
	}
	w := &writer{root: root, subs: map[string]string{"@NAME@": name}}
	w.tree("mod", "")
	w.yaml("mod-prj.yml", map[string]any{"test_envs": depSet{DepRoot: "./depends", Deps: []dependency{}}})
	w.file("version.txt", "0.1.0\n")
	for _, model := range Models {
		writeVariant(w, name, model, varsFile{Vars: []variable{
			{Name: "EXAMPLE_SIZE", Value: 1000},
			{Name: "ART_CACHE_REPO", Value: ""},
			{Name: "ART_PATH", Value: "./artifacts", Desp: "where download puts the artifacts"},
		}}, depSet{DepRoot: "./depends", Deps: []dependency{}}, "")
	}
	return root, w.err
}

// writeVariant writes mod/<model>/ of module name.
func writeVariant(w *writer, name, model string, vars varsFile, deps depSet, settingYML string) {
	base := "mod/" + model
	old := w.subs["@MODEL@"]
	w.subs["@MODEL@"] = model
	w.tree("variant", base)
	w.subs["@MODEL@"] = old
	w.yaml(base+"/spec/artifact.yml", []artifact{{
		Name: name, Version: "0.1.0",
		Addr:  map[string]string{"url": "https://example.com/" + name + "/" + name + "-0.1.0.tar.gz"},
		Local: name + "-0.1.0.tar.gz",
	}})
	w.yaml(base+"/spec/depends.yml", deps)
	w.yaml(base+"/vars.yml", vars)
	if settingYML != "" {
		w.file(base+"/setting.yml", settingYML)
	}
}

// Example writes gmod example's sample module, postgresql, into dir: two
// variants (x86-ubt22-k8s and arm-mac14-host), each with a variable, a
// disabled sample dependency and a setting.yml.
func Example(dir string) (string, error) {
	root := filepath.Join(dir, "postgresql")
	if err := fresh(root); err != nil {
		return "", err
	}
	w := &writer{root: root, subs: map[string]string{"@NAME@": "postgresql"}}
	w.tree("mod", "")
	w.yaml("mod-prj.yml", map[string]any{"test_envs": depSet{DepRoot: "./depends", Deps: []dependency{}}})
	w.file("version.txt", "0.1.0\n")
	for _, model := range []string{"x86-ubt22-k8s", "arm-mac14-host"} {
		writeVariant(w, "postgresql", model, varsFile{Vars: []variable{{Name: "SPEED_LIMIT", Value: 1000}, {Name: "ART_PATH", Value: "./artifacts"}}},
			depSet{DepRoot: "./depends", Deps: []dependency{
				{Addr: map[string]string{"path": "./example/data"}, Local: "env_res", Rename: "mysql2", Enable: ptr(false)},
			}},
			"localize:\n  templatize_path:\n    includes: []\n    excludes: []\n")
	}
	return root, w.err
}

// logf prints one line of progress when out is not nil.
func logf(out io.Writer, format string, args ...any) {
	if out != nil {
		fmt.Fprintf(out, format+"\n", args...)
	}
}
