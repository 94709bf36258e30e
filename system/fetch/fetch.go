// Package fetch brings the modules of a system to the machine, the one
// place that downloads them: each git module is mirrored with
// github.com/go-git/go-git/v5 into a cache under the user cache dir and
// materialised at its tag, branch or revision (the whole tree, or the
// sub-folder `path`); an http(s) tarball (`url`) is downloaded into the
// cache, checksummed and unpacked there (no entry leaves its folder), then
// placed like a git module; local path modules are copied (never from
// outside the system). Mirrors rewrite git and download addresses alike
// (insteadOf style); credentials come from the secrets file and never
// appear in an error, the lock or the cache's folder names; a lock file
// records the resolved commits and archive checksums so a moved tag or a
// changed archive is noticed, and Offline uses only the cache.
package fetch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/atomicfile"
	"github.com/gxl-dev/gxl/core/confine"
	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/system"
)

// Mirror rewrites addresses starting with From to start with To.
type Mirror struct{ From, To string }

// ParseMirror reads FROM=TO.
func ParseMirror(s string) (Mirror, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Mirror{}, fmt.Errorf("mirror %q: write FROM=TO", s)
	}
	return Mirror{From: from, To: to}, nil
}

// ParseMirrors reads FROM=TO items, each possibly a comma-separated list
// (as in GXL_MIRRORS); empty items are skipped.
func ParseMirrors(items ...string) ([]Mirror, error) {
	var out []Mirror
	for _, item := range items {
		for _, s := range strings.Split(item, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			m, err := ParseMirror(s)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// Fetcher fetches modules.
type Fetcher struct {
	// Cache holds one bare mirror per repository and the checkouts of git
	// externs (default: DefaultCache).
	Cache   string
	Mirrors []Mirror
	// Offline uses only what the cache already holds.
	Offline bool
	// Update accepts moved tags (and rewrites the lock); for Checkout it
	// refreshes a cached checkout from its repository.
	Update bool
	// Protect lists folders that no fetch may remove or replace, on top of
	// fsguard.Base() and the system root (spec I.4).
	Protect fsguard.Roots
	// Secrets resolves the ${NAME} of a module's credential fields (token,
	// password, ...) before the environment: sys.fetch gives the run's
	// variables, whose SEC_* values come from the secrets file.
	Secrets func(name string) (string, bool)

	locks sync.Map // cache folder -> *sync.Mutex: one fetch per repository at a time
}

// lockDir serialises work on one cache folder (parallel stages fetch
// modules that share a repository).
func (f *Fetcher) lockDir(dir string) func() {
	m, _ := f.locks.LoadOrStore(dir, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Checkout returns a working tree of url at ref (a tag, a branch or a
// revision: the first that exists), kept under Cache/checkouts. A cached
// checkout is used as it is unless Update is set; a missing one is fetched
// unless Offline. git externs (extern mod m { git = ...; channel = ...; })
// resolve through it.
func (f *Fetcher) Checkout(url, ref string) (string, error) {
	return f.checkout(url, ref, nil)
}

// checkout is Checkout authenticated with auth.
func (f *Fetcher) checkout(url, ref string, auth transport.AuthMethod) (string, error) {
	if ref == "" {
		ref = "main"
	}
	real := f.Rewrite(url)
	// Keyed by the address as written: a checkout made through a mirror is
	// found again without it.
	dst := filepath.Join(f.cache(), "checkouts", filepath.Base(f.cacheDir(url))+"@"+strings.NewReplacer("/", "_", "\\", "_").Replace(ref))
	defer f.lockDir(dst)()
	if _, err := os.Stat(dst); err == nil && !f.Update {
		return dst, nil
	}
	if f.Offline {
		if _, err := os.Stat(dst); err == nil {
			return dst, nil
		}
	}
	defer f.lockDir(f.cacheDir(real))()
	repo, err := f.mirror(real, auth)
	if err != nil {
		return "", err
	}
	var hash plumbing.Hash
	var last error
	for _, a := range []system.Addr{{Tag: ref}, {Branch: ref}, {Rev: ref}} {
		if _, hash, last = resolve(repo, a); last == nil {
			break
		}
	}
	if last != nil {
		return "", fmt.Errorf("%s: no tag, branch or revision %q", Redact(url), ref)
	}
	if err := materialise(repo, hash, "", dst, f.protected("")); err != nil {
		return "", err
	}
	return dst, nil
}

// DefaultCache is the module cache: GXL_MODULE_CACHE, else gxl/modules in
// the user cache dir.
func DefaultCache() string {
	if d := os.Getenv("GXL_MODULE_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "gxl", "modules")
}

// cache is the cache folder (a Fetcher is used from parallel stages: it is
// never written to).
func (f *Fetcher) cache() string {
	if f.Cache == "" {
		return DefaultCache()
	}
	return f.Cache
}

// Rewrite applies the longest matching mirror.
func (f *Fetcher) Rewrite(url string) string {
	best := Mirror{}
	for _, m := range f.Mirrors {
		if strings.HasPrefix(url, m.From) && len(m.From) > len(best.From) {
			best = m
		}
	}
	if best.From == "" {
		return url
	}
	return best.To + strings.TrimPrefix(url, best.From)
}

// Locked is one module in the lock file: a git module's repository, ref,
// commit and sub-folder (Path); a tarball's URL, its sha256 and
// sub-folder; a local module's Path. Addresses are recorded without their
// user part (Redact): no credential is ever written.
type Locked struct {
	Name   string `yaml:"name"`
	Repo   string `yaml:"repo,omitempty"`
	URL    string `yaml:"url,omitempty"`
	Ref    string `yaml:"ref,omitempty"`
	Commit string `yaml:"commit,omitempty"`
	SHA256 string `yaml:"sha256,omitempty"`
	Path   string `yaml:"path,omitempty"`
}

// Lock is the lock file (sys/mod_list.lock).
type Lock struct {
	Modules []Locked `yaml:"modules"`
}

// ReadLock reads a lock file; a missing file is an empty lock.
func ReadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Lock{}, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := yaml.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &l, nil
}

// Write stores the lock sorted by module name.
func (l *Lock) Write(path string) error {
	sort.Slice(l.Modules, func(i, j int) bool { return l.Modules[i].Name < l.Modules[j].Name })
	b, err := yaml.Marshal(l)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append([]byte("# Written by gxl: the commit or archive checksum each module was fetched at.\n"), b...), 0o644)
}

func (l *Lock) find(name string) *Locked {
	for i := range l.Modules {
		if l.Modules[i].Name == name {
			return &l.Modules[i]
		}
	}
	return nil
}

func (l *Lock) set(e Locked) {
	if x := l.find(e.Name); x != nil {
		*x = e
		return
	}
	l.Modules = append(l.Modules, e)
}

// cacheDir is the bare mirror folder of a repository (named without the
// user part of the address: no credential in a folder name).
func (f *Fetcher) cacheDir(url string) string {
	return filepath.Join(f.cache(), cacheName(strings.TrimSuffix(url, ".git")))
}

// cacheName is an address as one folder name, without its user part.
func cacheName(addr string) string {
	r := strings.NewReplacer("://", "_", "/", "_", ":", "_", "@", "_", "\\", "_", "?", "_", "&", "_", "=", "_", "#", "_")
	return r.Replace(Redact(addr))
}

// Fetch brings module m of the system rooted at root into dst (replaced),
// recording it in lock.
func (f *Fetcher) Fetch(root string, m *system.Module, dst string, lock *Lock) (Locked, error) {
	rs := f.protected(root)
	if _, err := fsguard.Check(dst, rs); err != nil {
		return Locked{}, fmt.Errorf("module %s: folder %w", m.Name, err)
	}
	if m.Addr.Local() {
		return f.copyPath(root, m, dst, lock, rs)
	}
	c, err := f.credentials(m.Addr)
	if err != nil {
		return Locked{}, fmt.Errorf("module %s: %w", m.Name, err)
	}
	var e Locked
	var src string
	switch {
	case m.Addr.URL != "":
		src, e, err = f.archiveTree(m, lock, c)
		if err == nil {
			err = copyTree(src, dst, rs)
		}
	case m.Addr.Repo != "":
		e, err = f.fetchGit(m, dst, lock, rs, c)
	default:
		err = fmt.Errorf("its addr names no source")
	}
	if err != nil {
		return Locked{}, c.clean(fmt.Errorf("module %s: %w", m.Name, err))
	}
	lock.set(e)
	return e, nil
}

// fetchGit brings a git module at its ref into dst: the whole tree, or
// its sub-folder Addr.Path.
func (f *Fetcher) fetchGit(m *system.Module, dst string, lock *Lock, rs fsguard.Roots, c creds) (Locked, error) {
	url := f.Rewrite(m.Addr.Repo)
	shown := Redact(m.Addr.Repo)
	auth, err := gitAuth(url, c)
	if err != nil {
		return Locked{}, err
	}
	defer f.lockDir(f.cacheDir(url))()
	repo, err := f.mirror(url, auth)
	if err != nil {
		return Locked{}, fmt.Errorf("(%s): %w", shown, err)
	}
	ref, hash, err := resolve(repo, m.Addr)
	if err != nil {
		return Locked{}, fmt.Errorf("(%s): %w", shown, err)
	}
	if prev := lock.find(m.Name); prev != nil && prev.Repo == shown && prev.Ref == ref && prev.Commit != "" &&
		prev.Commit != hash.String() && m.Addr.Tag != "" && !f.Update {
		return Locked{}, fmt.Errorf("tag %s moved from %s to %s since it was locked; check the repository, then fetch with update to accept it",
			m.Addr.Tag, short(prev.Commit), short(hash.String()))
	}
	if err := materialise(repo, hash, m.Addr.Path, dst, rs); err != nil {
		return Locked{}, fmt.Errorf("(%s %s): %w", shown, ref, err)
	}
	return Locked{Name: m.Name, Repo: shown, Ref: ref, Commit: hash.String(), Path: m.Addr.Path}, nil
}

// Source is the folder in the module cache holding git or tarball module
// m, at its locked commit or checksum when lock has one, else at its
// address (fetched into the cache unless Offline; nothing under the
// system changes): gxl check and gxl plan read a module's workflow there
// when it is not fetched into sys/mods.
func (f *Fetcher) Source(m *system.Module, lock *Lock) (string, error) {
	c, err := f.credentials(m.Addr)
	if err != nil {
		return "", err
	}
	switch {
	case m.Addr.URL != "":
		dir, _, err := f.archiveTree(m, lock, c)
		return dir, c.clean(err)
	case m.Addr.Repo != "":
		ref := m.Addr.Tag
		if ref == "" {
			ref = m.Addr.Branch
		}
		if ref == "" {
			ref = m.Addr.Rev
		}
		if l := lock.find(m.Name); l != nil && l.Repo == Redact(m.Addr.Repo) && l.Commit != "" {
			ref = l.Commit
		}
		auth, err := gitAuth(f.Rewrite(m.Addr.Repo), c)
		if err != nil {
			return "", err
		}
		dir, err := f.checkout(m.Addr.Repo, ref, auth)
		if err != nil {
			return "", c.clean(err)
		}
		return subDir(dir, m.Addr.Path)
	}
	return "", fmt.Errorf("module %s has neither a git nor a tarball address", m.Name)
}

// subDir is the folder sub of dir, which must exist and stay inside dir.
func subDir(dir, sub string) (string, error) {
	if sub == "" {
		return dir, nil
	}
	p := filepath.Join(dir, filepath.FromSlash(sub))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("path %s is not a folder of the module's source", sub)
	}
	real, inside, err := confine.Inside(dir, p)
	if err != nil {
		return "", fmt.Errorf("path %s: %w", sub, err)
	}
	if !inside {
		return "", fmt.Errorf("path %s leaves the module's source; refused", sub)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", fmt.Errorf("path %s is not a folder of the module's source", sub)
	}
	return real, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// mirror opens or creates the bare cache of url and, unless offline,
// fetches every branch and tag. Callers hold lockDir(cacheDir(url)).
func (f *Fetcher) mirror(url string, auth transport.AuthMethod) (*git.Repository, error) {
	dir := f.cacheDir(url)
	repo, err := git.PlainOpen(dir)
	if err != nil {
		if f.Offline {
			return nil, fmt.Errorf("not in the module cache (offline): %s", dir)
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		repo, err = git.PlainInit(dir, true)
		if err != nil {
			return nil, err
		}
		// The remote's URL is stored without its user part: the cache
		// holds no credential (the fetch below gives the real URL).
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{Redact(url)}}); err != nil {
			return nil, err
		}
	}
	if f.Offline {
		return repo, nil
	}
	err = repo.Fetch(&git.FetchOptions{
		RemoteURL: url,
		RefSpecs:  []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"},
		Tags:      git.AllTags,
		Force:     true,
		Auth:      auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		hint := ""
		if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) {
			if auth == nil {
				hint = "; the repository wants a credential: give the module's addr token: ${SEC_NAME} (or username: and password:, or ssh_key: for ssh) with the value in the secrets file"
			} else {
				hint = "; the credential was refused"
			}
		}
		return nil, fmt.Errorf("fetch %s: %v%s", Redact(url), err, hint)
	}
	return repo, nil
}

// resolve finds the commit of a tag, branch or revision.
func resolve(repo *git.Repository, a system.Addr) (string, plumbing.Hash, error) {
	var name plumbing.ReferenceName
	var ref string
	switch {
	case a.Tag != "":
		name, ref = plumbing.NewTagReferenceName(a.Tag), "tag "+a.Tag
	case a.Branch != "":
		name, ref = plumbing.NewRemoteReferenceName("origin", a.Branch), "branch "+a.Branch
	case a.Rev != "":
		h, err := repo.ResolveRevision(plumbing.Revision(a.Rev))
		if err != nil {
			return "", plumbing.ZeroHash, fmt.Errorf("revision %s not found", a.Rev)
		}
		return "rev " + a.Rev, *h, nil
	default:
		return "", plumbing.ZeroHash, fmt.Errorf("no tag, branch or rev")
	}
	r, err := repo.Reference(name, true)
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("%s not found", ref)
	}
	h := r.Hash()
	// Annotated tags point at a tag object.
	if t, err := repo.TagObject(h); err == nil {
		c, err := t.Commit()
		if err != nil {
			return "", plumbing.ZeroHash, err
		}
		h = c.Hash
	}
	return ref, h, nil
}

// protected is what a fetch must leave whole: fsguard.Base(), the
// system root and its sys/ folder when given, and f.Protect.
func (f *Fetcher) protected(root string) fsguard.Roots {
	rs := append(fsguard.Base(), f.Protect...)
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			rs = rs.Add(abs, "the system root").Add(filepath.Join(abs, "sys"), "the system's sys folder")
		}
	}
	return rs
}

// materialise writes the tree of a commit, or its folder sub, into dst
// (replaced atomically, never when dst is a protected folder).
func materialise(repo *git.Repository, h plumbing.Hash, sub, dst string, rs fsguard.Roots) error {
	c, err := repo.CommitObject(h)
	if err != nil {
		return err
	}
	tree, err := c.Tree()
	if err != nil {
		return err
	}
	if sub = strings.Trim(path.Clean(filepath.ToSlash(sub)), "/"); sub != "" && sub != "." {
		if tree, err = tree.Tree(sub); err != nil {
			return fmt.Errorf("path %s is not a folder of the repository at this revision", sub)
		}
	}
	tmp := dst + ".fetching"
	if err := fsguard.RemoveAll(tmp, rs); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	err = tree.Files().ForEach(func(fl *object.File) error {
		p := filepath.Join(tmp, filepath.FromSlash(fl.Name))
		if !confine.Within(tmp, p) {
			return fmt.Errorf("file %q escapes the module folder", fl.Name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := fl.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		mode := os.FileMode(0o644)
		if fl.Mode.IsFile() && fl.Mode&0o111 != 0 {
			mode = 0o755
		}
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, r)
		out.Close()
		return err
	})
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return fsguard.Replace(tmp, dst, rs)
}

// copyPath copies a local module; the path (after resolving symlinks) must
// stay inside the system root, and so must every link inside it.
func (f *Fetcher) copyPath(root string, m *system.Module, dst string, lock *Lock, rs fsguard.Roots) (Locked, error) {
	if _, err := filepath.EvalSymlinks(root); err != nil {
		return Locked{}, err
	}
	src := m.Addr.Path
	if !filepath.IsAbs(src) {
		src = filepath.Join(root, src)
	}
	real, inside, err := confine.Inside(root, src)
	if err != nil {
		return Locked{}, fmt.Errorf("module %s: path %s: %w", m.Name, m.Addr.Path, err)
	}
	if !inside {
		return Locked{}, fmt.Errorf("module %s: path %s is outside the system folder %s; refused", m.Name, m.Addr.Path, root)
	}
	if err := copyTree(real, dst, rs); err != nil {
		return Locked{}, fmt.Errorf("module %s: %w", m.Name, err)
	}
	e := Locked{Name: m.Name, Path: m.Addr.Path}
	lock.set(e)
	return e, nil
}

// copyTree copies the folder real into dst (replaced atomically through
// dst.fetching, never a protected folder). A link inside is copied as the
// file it points to when that stays inside real, else refused.
func copyTree(real, dst string, rs fsguard.Roots) error {
	tmp := dst + ".fetching"
	if err := fsguard.RemoveAll(tmp, rs); err != nil {
		return err
	}
	err := filepath.Walk(real, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(real, p)
		out := filepath.Join(tmp, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, inside, err := confine.Inside(real, p)
			if err != nil || !inside {
				return fmt.Errorf("link %s points outside the module; refused", rel)
			}
			b, err := os.ReadFile(target)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		case info.IsDir():
			return os.MkdirAll(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, info.Mode().Perm())
		}
	})
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return fsguard.Replace(tmp, dst, rs)
}
