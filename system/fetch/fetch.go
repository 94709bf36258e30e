// Package fetch brings the modules of a system to the machine with
// github.com/go-git/go-git/v5: each git module is mirrored into a cache
// under the user cache dir and materialised at its tag, branch or revision;
// local path modules are copied (never from outside the system); mirrors
// rewrite addresses (insteadOf style); a lock file records the resolved
// commits so a moved tag is noticed, and Offline uses only the cache.
package fetch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

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
	repo, err := f.mirror(real)
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
		return "", fmt.Errorf("%s: no tag, branch or revision %q", url, ref)
	}
	if err := materialise(repo, hash, dst, f.protected("")); err != nil {
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

// Locked is one module in the lock file.
type Locked struct {
	Name   string `yaml:"name"`
	Repo   string `yaml:"repo,omitempty"`
	Ref    string `yaml:"ref,omitempty"`
	Commit string `yaml:"commit,omitempty"`
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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append([]byte("# Written by gxl: the commit each module was fetched at.\n"), b...), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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

// cacheDir is the bare mirror folder of a repository.
func (f *Fetcher) cacheDir(url string) string {
	r := strings.NewReplacer("://", "_", "/", "_", ":", "_", "@", "_", "\\", "_")
	return filepath.Join(f.cache(), r.Replace(strings.TrimSuffix(url, ".git")))
}

// Fetch brings module m of the system rooted at root into dst (replaced),
// recording it in lock.
func (f *Fetcher) Fetch(root string, m *system.Module, dst string, lock *Lock) (Locked, error) {
	rs := f.protected(root)
	if _, err := fsguard.Check(dst, rs); err != nil {
		return Locked{}, fmt.Errorf("module %s: folder %w", m.Name, err)
	}
	if m.Addr.Path != "" {
		return f.copyPath(root, m, dst, lock, rs)
	}
	if m.Addr.Repo == "" {
		return Locked{}, fmt.Errorf("module %s: only git and path addresses can be fetched", m.Name)
	}
	url := f.Rewrite(m.Addr.Repo)
	defer f.lockDir(f.cacheDir(url))()
	repo, err := f.mirror(url)
	if err != nil {
		return Locked{}, fmt.Errorf("module %s (%s): %w", m.Name, m.Addr.Repo, err)
	}
	ref, hash, err := resolve(repo, m.Addr)
	if err != nil {
		return Locked{}, fmt.Errorf("module %s (%s): %w", m.Name, m.Addr.Repo, err)
	}
	if prev := lock.find(m.Name); prev != nil && prev.Repo == m.Addr.Repo && prev.Ref == ref && prev.Commit != "" &&
		prev.Commit != hash.String() && m.Addr.Tag != "" && !f.Update {
		return Locked{}, fmt.Errorf("module %s: tag %s moved from %s to %s since it was locked; check the repository, then fetch with update to accept it",
			m.Name, m.Addr.Tag, short(prev.Commit), short(hash.String()))
	}
	if err := materialise(repo, hash, dst, rs); err != nil {
		return Locked{}, fmt.Errorf("module %s: %w", m.Name, err)
	}
	e := Locked{Name: m.Name, Repo: m.Addr.Repo, Ref: ref, Commit: hash.String()}
	lock.set(e)
	return e, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// mirror opens or creates the bare cache of url and, unless offline,
// fetches every branch and tag. Callers hold lockDir(cacheDir(url)).
func (f *Fetcher) mirror(url string) (*git.Repository, error) {
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
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
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
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
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

// materialise writes the tree of a commit into dst (replaced atomically,
// never when dst is a protected folder).
func materialise(repo *git.Repository, h plumbing.Hash, dst string, rs fsguard.Roots) error {
	c, err := repo.CommitObject(h)
	if err != nil {
		return err
	}
	tmp := dst + ".fetching"
	if err := fsguard.RemoveAll(tmp, rs); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	files, err := c.Files()
	if err != nil {
		return err
	}
	err = files.ForEach(func(fl *object.File) error {
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
	tmp := dst + ".fetching"
	if err := fsguard.RemoveAll(tmp, rs); err != nil {
		return Locked{}, err
	}
	err = filepath.Walk(real, func(p string, info os.FileInfo, err error) error {
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
		return Locked{}, fmt.Errorf("module %s: %w", m.Name, err)
	}
	if err := fsguard.Replace(tmp, dst, rs); err != nil {
		return Locked{}, err
	}
	e := Locked{Name: m.Name, Path: m.Addr.Path}
	lock.set(e)
	return e, nil
}
