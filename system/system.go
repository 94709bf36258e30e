// Package system loads a Sys-Operator system (spec Part III): the
// sys/sys_model.yml, sys/mod_list.yml and sys/vars.yml files. Every problem
// is a diagnostic with its YAML file:line:col, rendered like the checker's;
// variables are resolved (--set, then the process environment, then the
// ${NAME:default}) and validated against their type, range, enum and
// pattern, so a bad value stops a run before anything starts.
package system

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
)

// Options configure Load.
type Options struct {
	// Set holds --set NAME=value overrides (they win over the environment).
	Set map[string]string
	// Env looks up the process environment (default os.LookupEnv).
	Env func(string) (string, bool)
	// Values are the values of value files (gxl run --value): below Set,
	// above the environment; a name the system does not declare is not
	// an error (a value file serves several systems and modules).
	Values map[string]string
	// ReadFile reads the system's files (default os.ReadFile): an editor's
	// unsaved buffers override the files on disk (gxl lsp).
	ReadFile func(string) ([]byte, error)
}

// Model is sys_model.yml.
type Model struct {
	Name, Model, Vendor string
}

// Addr is where a module comes from: a git repository (Repo) at a tag,
// branch or revision, an http(s) tarball (URL), or a local folder (Path
// alone). With Repo or URL, Path is the sub-folder of the repository or
// the archive that is the module.
//
// The credential fields hold the text as written in mod_list.yml, never
// resolved here: a ${NAME} in them is looked up by the fetcher (the
// secrets file, then the environment) when it fetches, so no loaded system
// holds a credential.
type Addr struct {
	Repo, Tag, Branch, Rev, Path, URL string
	// Res is galaxy-ops' resource name of a git address; kept, unused.
	Res string
	// Username goes with Token (git over https, default "git") or
	// Password (basic auth); Token alone is a bearer token for a URL.
	Username, Password, Token string
	// SSHKey is the private key file for an ssh git address;
	// SSHPassphrase unlocks it.
	SSHKey, SSHPassphrase string
}

// Git reports whether the module is a git repository.
func (a Addr) Git() bool { return a.Repo != "" }

// Local reports whether the module is a folder of the machine.
func (a Addr) Local() bool { return a.Repo == "" && a.URL == "" && a.Path != "" }

// Sub is the sub-folder of a repository or an archive that is the module
// ("" for the whole of it, and for a local folder).
func (a Addr) Sub() string {
	if a.Local() {
		return ""
	}
	return a.Path
}

// Setting is a module's `setting` of mod_list.yml: galaxy-ops'
// localization copy rule (render Src into Dst, as Templatize says). Kept
// as written; gsys localize applies it.
type Setting struct {
	Src, Dst string
	// Templatize is the rule's `setting: {localize: ...}`; nil when not
	// given.
	Templatize *Templatize
	Span       diag.Span
}

// Templatize is galaxy-ops' `localize` settings, the `setting` of a
// mod_list.yml copy rule and the variant's setting.yml of a gmod module:
//
//	localize:
//	  templatize_path: {includes: [PATTERN...], excludes: [PATTERN...]}
//	  templatize_cust: {label_beg: "[[", label_end: "]]"}
//
// A file no include matches (when there are includes) is left out, one
// an exclude matches is copied as it is, the others are rendered; with
// labels, the file's [[ ]] are the template's and its {{ }} stay as
// written. Patterns are kept as written (${NAME} resolves at localize).
type Templatize struct {
	Includes, Excludes []string
	LabelBeg, LabelEnd string
	Span               diag.Span
}

// Module is one entry of mod_list.yml.
type Module struct {
	Name string
	Addr Addr
	// Model is the platform variant (arch-os-spc) of a gmod-layout module
	// to keep (mod_list.yml `model`, alias `node`); "" when not given.
	Model     string
	ModelSpan diag.Span
	// Setting is the localization copy rule; nil when not given.
	Setting  *Setting
	Enable   bool
	Priority int
	Depends  []string
	Span     diag.Span
}

// Var is one typed variable of vars.yml.
type Var struct {
	Name        string
	Raw         string // the value as written
	Value       value.Value
	Type        types.Type
	Group       string
	Description string
	Secret      bool
	Span        diag.Span
	// NameSpan is where the name is written (the value of `name:`).
	NameSpan diag.Span
	// Constraints are the checks of the value as written (min, max,
	// enum, pattern), "" when none: what an editor shows.
	Constraints string
}

// System is a loaded system.
type System struct {
	Root    string // the folder holding sys/
	Model   Model
	Modules []*Module
	Vars    []*Var
	Sources diag.SourceMap
}

// Values returns the variables as GXL values, with SYS_NAME, SYS_MODEL and
// SYS_VENDOR from sys_model.yml.
func (s *System) Values() map[string]value.Value {
	out := map[string]value.Value{
		"SYS_NAME": value.Str(s.Model.Name), "SYS_MODEL": value.Str(s.Model.Model), "SYS_VENDOR": value.Str(s.Model.Vendor),
	}
	for _, v := range s.Vars {
		out[v.Name] = v.Value
	}
	return out
}

// Types returns the variables' static types for the checker.
func (s *System) Types() map[string]types.Type {
	out := map[string]types.Type{"SYS_NAME": types.String, "SYS_MODEL": types.String, "SYS_VENDOR": types.String}
	for _, v := range s.Vars {
		out[v.Name] = v.Type
	}
	return out
}

// Module finds a module by name.
func (s *System) Module(name string) *Module {
	for _, m := range s.Modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

type loader struct {
	opt   Options
	diags diag.List
	src   diag.SourceMap
	// declared are the names --set may give (unknownSets): each variable
	// of vars.yml at its name, and each ${NAME:default} of a value at
	// the value.
	declared map[string]diag.Span
}

func nodeSpan(file string, n *yaml.Node) diag.Span {
	p := diag.Pos{File: file, Line: n.Line, Col: n.Column}
	end := p
	if n.Kind == yaml.ScalarNode {
		end.Col += len(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			end.Col += 2
		}
	} else {
		end.Col++
	}
	return diag.Span{Start: p, End: end}
}

func (l *loader) errorf(file string, n *yaml.Node, code, hint, format string, args ...any) *diag.Diagnostic {
	d := diag.Errorf(nodeSpan(file, n), code, format, args...)
	d.Hint = hint
	l.diags.Add(d)
	return &l.diags[len(l.diags)-1]
}

// fix is the did-you-mean edit of a scalar n misspelling one of known
// (nil when none is close): the suggestion written over the text between
// its quotes, if any.
func fix(file string, n *yaml.Node, known []string) *diag.Fix {
	s := diag.Suggest(n.Value, known)
	if s == "" || n.Kind != yaml.ScalarNode {
		return nil
	}
	sp := nodeSpan(file, n)
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		sp = sp.Slice(1, 1+len(n.Value))
	}
	return &diag.Fix{Span: sp, Old: n.Value, New: s}
}

// read parses a YAML file into its document node.
func (l *loader) read(path string) *yaml.Node {
	b, err := l.opt.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		l.diags.Add(diag.Errorf(diag.Span{Start: diag.Pos{File: path}}, "sys-missing", "cannot read %s: %v", path, err).
			WithHint("a system has sys/sys_model.yml, sys/mod_list.yml and sys/vars.yml"))
		return nil
	}
	l.src[path] = b
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line := 1
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		l.diags.Add(diag.Errorf(diag.Span{Start: diag.Pos{File: path, Line: line, Col: 1}}, "yaml", "%v", err))
		return nil
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Line: 1, Column: 1}
	}
	return doc.Content[0]
}

// fields iterates a mapping, reporting keys outside known.
func (l *loader) fields(file string, n *yaml.Node, what string, known []string, f func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		l.errorf(file, n, "sys-shape", "", "%s must be a map", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, x := range known {
			if x == k.Value {
				ok = true
			}
		}
		if !ok {
			l.errorf(file, k, "sys-field", "known fields: "+strings.Join(known, ", ")+diagHint(k.Value, known), "unknown field `%s` in %s", k.Value, what).Fix = fix(file, k, known)
			continue
		}
		if seen[k.Value] {
			l.errorf(file, k, "sys-field", "", "field `%s` appears twice in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
}

func diagHint(name string, known []string) string {
	if h := diag.DidYouMean(name, known); h != "" {
		return "; " + h
	}
	return ""
}

var moduleNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

var modelRE = regexp.MustCompile(`^(x86|arm)-(mac14|win10|ubt22|cos7)-(host|k8s)$`)

// Load reads the system under root (the folder holding sys/).
func Load(root string, opt Options) (*System, diag.List) {
	if opt.Env == nil {
		opt.Env = os.LookupEnv
	}
	if opt.ReadFile == nil {
		opt.ReadFile = os.ReadFile
	}
	l := &loader{opt: opt, src: diag.SourceMap{}}
	s := &System{Root: root, Sources: l.src}
	dir := filepath.Join(root, "sys")
	if n := l.read(filepath.Join(dir, "sys_model.yml")); n != nil {
		l.model(filepath.Join(dir, "sys_model.yml"), n, s)
	}
	if n := l.read(filepath.Join(dir, "mod_list.yml")); n != nil {
		l.modules(filepath.Join(dir, "mod_list.yml"), n, s)
	}
	if n := l.read(filepath.Join(dir, "vars.yml")); n != nil {
		l.vars(filepath.Join(dir, "vars.yml"), n, s)
	}
	l.unknownSets()
	return s, l.diags.Normalize()
}

// unknownSets reports each --set name the system does not declare: a
// system's variables are its vars.yml, so a name that is neither a
// variable there nor a ${NAME:default} of a value is a mistake (a typo
// would otherwise be silently ignored). The error points at the declared
// name it is a plausible typo of. SEC_ names are secrets, not variables of vars.yml.
func (l *loader) unknownSets() {
	var names []string
	for name := range l.opt.Set {
		names = append(names, name)
	}
	sort.Strings(names)
	var declared []string
	for name := range l.declared {
		declared = append(declared, name)
	}
	sort.Strings(declared)
	for _, name := range names {
		if _, ok := l.declared[name]; ok || strings.HasPrefix(strings.ToUpper(name), "SEC_") {
			continue
		}
		d := diag.Errorf(diag.Span{}, "set-unknown", "--set %s: the system has no variable %s in sys/vars.yml", name, name)
		switch near := diag.Suggest(name, declared); {
		case near != "":
			d.Hint = fmt.Sprintf("did you mean `%s`?", near)
			d.Related = append(d.Related, diag.Related{Span: l.declared[near], Message: "`" + near + "` is declared here"})
		case len(declared) > 0:
			d.Hint = "the system's variables: " + strings.Join(declared, ", ") + "; declare a new one in sys/vars.yml"
		default:
			d.Hint = "the system has no variables; declare it in sys/vars.yml"
		}
		l.diags.Add(d)
	}
}

func (l *loader) model(file string, n *yaml.Node, s *System) {
	l.fields(file, n, "sys_model.yml", []string{"name", "model", "vender", "vendor"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			s.Model.Name = v.Value
		case "model":
			s.Model.Model = v.Value
			if !modelRE.MatchString(v.Value) {
				l.errorf(file, v, "sys-model", "a model is arch-os-spc, e.g. x86-ubt22-k8s (arch x86|arm, os mac14|win10|ubt22|cos7, spc host|k8s)", "invalid model %q", v.Value)
			}
		case "vender", "vendor":
			s.Model.Vendor = v.Value
		}
	})
	if s.Model.Name == "" {
		l.errorf(file, n, "sys-field", "write `name: my_system`", "sys_model.yml has no name")
	}
}

func (l *loader) modules(file string, n *yaml.Node, s *System) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(file, n, "sys-shape", "mod_list.yml is a list: `- name: ...`", "mod_list.yml must be a list of modules")
		return
	}
	first := map[string]*Module{}
	for _, item := range n.Content {
		m := &Module{Enable: true, Span: nodeSpan(file, item)}
		var nameNode *yaml.Node
		hasAddr := false
		l.fields(file, item, "a module", []string{"name", "addr", "model", "node", "enable", "priority", "depends", "setting"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				m.Name, nameNode = v.Value, v
			case "addr":
				hasAddr = true
				l.addr(file, v, m)
			case "model", "node":
				m.Model, m.ModelSpan = v.Value, nodeSpan(file, v)
				if !modelRE.MatchString(v.Value) {
					l.errorf(file, v, "sys-model", "a model is arch-os-spc, e.g. x86-ubt22-k8s", "invalid model %q", v.Value)
				}
			case "enable":
				var b bool
				if err := v.Decode(&b); err != nil {
					l.errorf(file, v, "sys-type", "write true or false", "enable must be a boolean, not %q", v.Value)
				}
				m.Enable = b
			case "priority":
				p, err := strconv.Atoi(v.Value)
				if err != nil || v.Kind != yaml.ScalarNode {
					l.errorf(file, v, "sys-type", "write a whole number; higher runs first", "priority must be an integer, not %q", v.Value)
				}
				m.Priority = p
			case "depends":
				if v.Kind != yaml.SequenceNode {
					l.errorf(file, v, "sys-type", "write depends: [name, ...]", "depends must be a list of module names")
					return
				}
				for _, d := range v.Content {
					m.Depends = append(m.Depends, d.Value)
				}
			case "setting":
				m.Setting = l.setting(file, v)
			}
		})
		switch {
		case m.Name == "":
			l.errorf(file, item, "sys-field", "every module needs `name:`", "a module has no name")
			continue
		case !moduleNameRE.MatchString(m.Name):
			// The name is a folder under sys/mods: "..", "a/b" or "/x"
			// would make sys.fetch replace another folder (spec I.4).
			l.errorf(file, nameNode, "sys-name", "a module name is one folder name: letters, digits, _, - and . (e.g. my_app)", "invalid module name %q", m.Name)
			continue
		case first[m.Name] != nil:
			d := diag.Errorf(nodeSpan(file, nameNode), "sys-duplicate", "module `%s` is listed twice", m.Name)
			d.Related = []diag.Related{{Span: first[m.Name].Span, Message: "first listed here"}}
			l.diags.Add(d)
			continue
		case !hasAddr:
			l.errorf(file, nameNode, "sys-addr", "give addr: {repo: https://..., tag: v1.0.0} or addr: {path: ./folder}", "module `%s` has no addr", m.Name)
		}
		first[m.Name] = m
		s.Modules = append(s.Modules, m)
	}
	var names []string
	for _, m := range s.Modules {
		names = append(names, m.Name)
	}
	for _, item := range n.Content {
		for i := 0; item.Kind == yaml.MappingNode && i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value != "depends" || item.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			for _, d := range item.Content[i+1].Content {
				if first[d.Value] == nil {
					l.errorf(file, d, "sys-depends", diag.DidYouMean(d.Value, names), "unknown module `%s` in depends", d.Value).Fix = fix(file, d, names)
				}
			}
		}
	}
}

// addrFields are the fields of an addr: galaxy-ops' git {repo, tag,
// branch, rev, path, res, ssh_key, ssh_passphrase, token, username}, http
// {url, username, password} and local {path}, one union.
var addrFields = []string{"repo", "tag", "branch", "rev", "path", "res", "url", "username", "password", "token", "ssh_key", "ssh_passphrase"}

func (l *loader) addr(file string, n *yaml.Node, m *Module) {
	a := &m.Addr
	nodes := map[string]*yaml.Node{}
	l.fields(file, n, "an addr", addrFields, func(key string, k, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			l.errorf(file, v, "sys-type", "write a string", "addr field %s must be a string", key)
			return
		}
		nodes[key] = v
		*map[string]*string{
			"repo": &a.Repo, "tag": &a.Tag, "branch": &a.Branch, "rev": &a.Rev, "path": &a.Path, "res": &a.Res, "url": &a.URL,
			"username": &a.Username, "password": &a.Password, "token": &a.Token, "ssh_key": &a.SSHKey, "ssh_passphrase": &a.SSHPassphrase,
		}[key] = v.Value
	})
	at := func(key string) *yaml.Node {
		if x := nodes[key]; x != nil {
			return x
		}
		return n
	}
	refs := 0
	for _, x := range []string{a.Tag, a.Branch, a.Rev} {
		if x != "" {
			refs++
		}
	}
	switch {
	case a.Repo != "" && a.URL != "":
		l.errorf(file, n, "sys-addr", "keep one of repo (git) and url (a tarball)", "addr of `%s` names several sources", m.Name)
		return
	case a.Repo == "" && a.URL == "" && a.Path == "":
		l.errorf(file, n, "sys-addr", "give repo (with tag, branch or rev), url (an http(s) tarball) or path (a local folder)", "addr of `%s` names no source", m.Name)
		return
	case a.Repo != "" && refs == 0:
		l.errorf(file, n, "sys-addr", "pin the module: tag: v1.2.3 (or branch:, rev:)", "repo of `%s` has no tag, branch or rev", m.Name)
	case refs > 1:
		l.errorf(file, n, "sys-addr", "keep one of tag, branch and rev", "addr of `%s` names several revisions", m.Name)
	}
	if a.Repo == "" {
		for _, key := range []string{"tag", "branch", "rev", "res", "ssh_key", "ssh_passphrase"} {
			if nodes[key] != nil {
				l.errorf(file, nodes[key], "sys-addr", key+" belongs to a git address (repo:)", "%s without repo", key)
			}
		}
	}
	if a.URL != "" {
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.errorf(file, at("url"), "sys-addr", "a url is an http(s) address of a .tar.gz, .tgz or .tar archive", "url of `%s` is not an http(s) address: %q", m.Name, redactURL(a.URL))
		} else if u.User != nil {
			l.hide(file, u.User.String())
			l.errorf(file, at("url"), "sys-credential", "give username: and password: (from the secrets file: password: ${SEC_NAME}) instead", "url of `%s` carries a credential", m.Name)
		}
	}
	if u, err := url.Parse(a.Repo); a.Repo != "" && err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			l.hide(file, u.User.String())
			l.errorf(file, at("repo"), "sys-credential", "give token: ${SEC_NAME} (or username: and password:) and keep the secret in the secrets file", "repo of `%s` carries a password", m.Name)
		}
	}
	if a.Local() {
		for _, key := range []string{"username", "password", "token"} {
			if nodes[key] != nil {
				l.errorf(file, nodes[key], "sys-addr", "credentials belong to repo: or url: addresses", "%s on a local path", key)
			}
		}
		return
	}
	if a.Path != "" {
		p := filepath.ToSlash(a.Path)
		bad := strings.HasPrefix(p, "/") || filepath.IsAbs(a.Path)
		for _, part := range strings.Split(p, "/") {
			bad = bad || part == ".."
		}
		if bad {
			l.errorf(file, at("path"), "sys-addr", "with repo: or url:, path is the module's folder inside the repository or the archive (e.g. path: modules/web)", "path %q of `%s` leaves the repository", a.Path, m.Name)
		}
	}
	if a.Password != "" && a.Username == "" {
		l.errorf(file, at("password"), "sys-addr", "give username: with password:", "password without username")
	}
	// A credential written out in mod_list.yml is read by everyone who
	// reads the file (and travels with it in git): a warning, as
	// galaxy-ops accepts it.
	for _, key := range []string{"token", "password", "ssh_passphrase"} {
		if x := nodes[key]; x != nil && !placeholderRE.MatchString(x.Value) {
			if len(x.Value) >= 3 {
				l.hide(file, x.Value)
			}
			l.diags.Add(diag.Warnf(nodeSpan(file, x), "sys-credential", "%s of `%s` is written in mod_list.yml", key, m.Name).
				WithHint("write %s: ${SEC_NAME} and the value as `name: ...` in the secrets file (GAL_SEC_FILE_PATH, default ~/.galaxy/sec_value.yml)", key))
		}
	}
}

// hide replaces text in the source of file that diagnostics quote with
// as many *: a credential written in mod_list.yml is not shown again (the
// columns stay right).
func (l *loader) hide(file, text string) {
	l.src[file] = bytes.ReplaceAll(l.src[file], []byte(text), bytes.Repeat([]byte("*"), len(text)))
}

// redactURL is u without the password of its user part.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// setting reads a module's `setting: {src, dst, setting?}`.
func (l *loader) setting(file string, n *yaml.Node) *Setting {
	st := &Setting{Span: nodeSpan(file, n)}
	l.fields(file, n, "a setting", []string{"src", "dst", "setting"}, func(key string, k, v *yaml.Node) {
		if key == "setting" {
			st.Templatize = l.templatize(file, v)
			return
		}
		if v.Kind != yaml.ScalarNode {
			l.errorf(file, v, "sys-type", "write a path", "setting field %s must be a string", key)
			return
		}
		switch key {
		case "src":
			st.Src = v.Value
		case "dst":
			st.Dst = v.Value
		}
	})
	if n.Kind == yaml.MappingNode {
		for _, key := range []string{"src", "dst"} {
			if (key == "src" && st.Src == "") || (key == "dst" && st.Dst == "") {
				l.errorf(file, n, "sys-field", "a setting copies src into dst: {src: ${GXL_PRJ_ROOT}/sys/setting/web, dst: ${GXL_PRJ_ROOT}/sys/mods/web/x86-ubt22-k8s/local/}", "setting has no %s", key)
			}
		}
	}
	return st
}

// resolve expands ${NAME:default}: --set, then the environment, then the
// default; the first `:` separates the default.
// placeholderRE is a ${NAME} or ${NAME:default} in a value of vars.yml.
var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)(:([^}]*))?\}`)

// declare records a name --set may give, at its first place.
func (l *loader) declare(name string, sp diag.Span) {
	if l.declared == nil {
		l.declared = map[string]diag.Span{}
	}
	if _, ok := l.declared[name]; !ok {
		l.declared[name] = sp
	}
}

func (l *loader) resolve(raw string) (string, []string) {
	var missing []string
	re := placeholderRE
	out := re.ReplaceAllStringFunc(raw, func(m string) string {
		g := re.FindStringSubmatch(m)
		if v, ok := l.opt.Set[g[1]]; ok {
			return v
		}
		if v, ok := l.opt.Values[g[1]]; ok {
			return v
		}
		if v, ok := l.opt.Env(g[1]); ok {
			return v
		}
		if g[2] != "" {
			return g[3]
		}
		missing = append(missing, g[1])
		return m
	})
	return out, missing
}

func (l *loader) vars(file string, n *yaml.Node, s *System) {
	var list *yaml.Node
	l.fields(file, n, "vars.yml", []string{"vars"}, func(key string, k, v *yaml.Node) { list = v })
	if list == nil {
		return
	}
	if list.Kind != yaml.SequenceNode {
		l.errorf(file, list, "sys-shape", "write vars: followed by - name: ... items", "vars must be a list")
		return
	}
	seen := map[string]*Var{}
	resolved := map[string]string{}
	for _, item := range list.Content {
		v := &Var{Span: nodeSpan(file, item), Type: types.String}
		var valueNode, nameNode *yaml.Node
		var min, max *float64
		var minNode, maxNode, enumNode, patNode *yaml.Node
		var enum []string
		pattern := ""
		l.fields(file, item, "a variable", []string{"name", "value", "description", "desp", "type", "min", "max", "enum", "values", "pattern", "group", "secret", "immutable"}, func(key string, k, x *yaml.Node) {
			switch key {
			case "name":
				v.Name, nameNode = x.Value, x
			case "value":
				valueNode = x
				v.Raw = x.Value
			case "description", "desp":
				v.Description = x.Value
			case "type":
				if t, ok := types.FromSchema(x.Value); ok {
					v.Type = t
				} else {
					l.errorf(file, x, "sys-type", "types: "+strings.Join(types.SchemaNames, ", ")+diagHint(x.Value, types.SchemaNames), "unknown type %q", x.Value).Fix = fix(file, x, types.SchemaNames)
				}
			case "min", "max":
				f, err := strconv.ParseFloat(x.Value, 64)
				if err != nil {
					l.errorf(file, x, "sys-type", "write a number", "%s must be a number, not %q", key, x.Value)
					return
				}
				if key == "min" {
					min, minNode = &f, x
				} else {
					max, maxNode = &f, x
				}
			case "enum", "values":
				enumNode = x
				for _, e := range x.Content {
					enum = append(enum, e.Value)
				}
			case "pattern":
				pattern, patNode = x.Value, x
			case "group":
				v.Group = x.Value
			case "secret":
				x.Decode(&v.Secret)
			}
		})
		if v.Name == "" {
			l.errorf(file, item, "sys-field", "every variable needs `name:`", "a variable has no name")
			continue
		}
		if prev := seen[v.Name]; prev != nil {
			d := diag.Errorf(nodeSpan(file, nameNode), "sys-duplicate", "variable `%s` is defined twice", v.Name)
			d.Related = []diag.Related{{Span: prev.Span, Message: "first defined here"}}
			l.diags.Add(d)
			continue
		}
		seen[v.Name] = v
		v.NameSpan = nodeSpan(file, nameNode)
		v.Constraints = constraintsText(min, max, enum, pattern)
		l.declare(v.Name, nodeSpan(file, nameNode))
		if valueNode != nil {
			for _, m := range placeholderRE.FindAllStringSubmatch(valueNode.Value, -1) {
				l.declare(m[1], nodeSpan(file, valueNode))
			}
		}
		if valueNode == nil {
			l.errorf(file, nameNode, "sys-field", "give value: \"${"+v.Name+":default}\"", "variable `%s` has no value", v.Name)
			continue
		}
		text, missing := l.resolve(v.Raw)
		// A value may use variables defined above it (BASE_URL uses DOMAIN_NAME).
		for _, name := range missing {
			if r, ok := resolved[name]; ok {
				text = strings.ReplaceAll(text, "${"+name+"}", r)
			} else {
				l.errorf(file, valueNode, "sys-unset", "set it (--set "+name+"=... or the environment) or give a default: ${"+name+":value}", "%s is not set and has no default", name)
			}
		}
		resolved[v.Name] = text
		val, ok := l.typed(file, valueNode, v, text)
		if !ok {
			continue
		}
		where := valueNode
		if (v.Type == types.Int || v.Type == types.Float) && (min != nil || max != nil) {
			f := val.FloatVal()
			if min != nil && f < *min {
				l.errorf(file, where, "sys-range", fmt.Sprintf("the range is %s (min at %d:%d)", rangeText(min, max), minNode.Line, minNode.Column), "%s = %s is below the minimum %s", v.Name, text, fmtNum(*min))
			}
			if max != nil && f > *max {
				l.errorf(file, where, "sys-range", fmt.Sprintf("the range is %s (max at %d:%d)", rangeText(min, max), maxNode.Line, maxNode.Column), "%s = %s is above the maximum %s", v.Name, text, fmtNum(*max))
			}
		}
		if enumNode != nil {
			okEnum := false
			for _, e := range enum {
				if e == text {
					okEnum = true
				}
			}
			if !okEnum {
				d := l.errorf(file, where, "sys-enum", "allowed: "+strings.Join(enum, ", ")+diagHint(text, enum), "%s = %q is not one of the allowed values", v.Name, text)
				if where.Value == text { // written as it is, no ${NAME} in it
					d.Fix = fix(file, where, enum)
				}
			}
		}
		if patNode != nil {
			re, err := regexp.Compile(pattern)
			if err != nil {
				l.errorf(file, patNode, "sys-pattern", "", "invalid pattern: %v", err)
			} else if !re.MatchString(text) {
				l.errorf(file, where, "sys-pattern", "the pattern is "+pattern, "%s = %q does not match its pattern", v.Name, text)
			}
		}
		if v.Secret {
			val = val.AsSecret()
		}
		v.Value = val
		s.Vars = append(s.Vars, v)
	}
}

func rangeText(min, max *float64) string {
	lo, hi := "-∞", "∞"
	if min != nil {
		lo = fmtNum(*min)
	}
	if max != nil {
		hi = fmtNum(*max)
	}
	return lo + " to " + hi
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// typed converts the resolved text to the declared type.
func (l *loader) typed(file string, n *yaml.Node, v *Var, text string) (value.Value, bool) {
	switch v.Type {
	case types.Int:
		u, err := value.ParseUint(strings.TrimSpace(text))
		if err != nil {
			l.errorf(file, n, "sys-type", "write a whole number", "%s = %q is not an integer", v.Name, text)
			return value.Value{}, false
		}
		return value.Uint(u), true
	case types.Float:
		f, ok := value.ParseNumber(strings.TrimSpace(text))
		if !ok {
			l.errorf(file, n, "sys-type", "write a number (digits, an optional fraction: 2.5)", "%s = %q is not a number", v.Name, text)
			return value.Value{}, false
		}
		return value.Float(f), true
	case types.Bool:
		if b, ok := value.ParseBool(strings.TrimSpace(text)); ok {
			return value.Bool(b), true
		}
		l.errorf(file, n, "sys-type", "write true or false", "%s = %q is not a boolean", v.Name, text)
		return value.Value{}, false
	case types.List:
		var items []value.Value
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				items = append(items, value.Str(c.Value))
			}
		} else {
			for _, p := range strings.Split(text, ",") {
				if p = strings.TrimSpace(p); p != "" {
					items = append(items, value.Str(p))
				}
			}
		}
		return value.List(items...), true
	case types.Object:
		if n.Kind != yaml.MappingNode {
			l.errorf(file, n, "sys-type", "write a map", "%s must be an object", v.Name)
			return value.Value{}, false
		}
		var m map[string]any
		n.Decode(&m)
		val, err := value.FromGo(m)
		if err != nil {
			l.errorf(file, n, "sys-type", "", "%s: %v", v.Name, err)
			return value.Value{}, false
		}
		return val, true
	}
	return value.Str(text), true
}

// constraintsText tells a variable's checks as vars.yml writes them.
func constraintsText(min, max *float64, enum []string, pattern string) string {
	var out []string
	if min != nil || max != nil {
		out = append(out, "range "+rangeText(min, max))
	}
	if len(enum) > 0 {
		out = append(out, "one of "+strings.Join(enum, ", "))
	}
	if pattern != "" {
		out = append(out, "pattern "+pattern)
	}
	return strings.Join(out, "; ")
}
