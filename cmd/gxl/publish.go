package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/fsguard"
)

// catalogEntry is modules/<folder>/module.yml: where the module is
// published and at which tag.
type catalogEntry struct {
	Repo string `yaml:"repo"`
	Tag  string `yaml:"tag"`
}

// publishedAt is fixed so that publishing the same files again yields the
// same commits: a tag never moves unless the module's files changed.
var publishedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newPublishCmd(s *streams) *cobra.Command {
	var catalog, out string
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish the module catalog as local git repositories (one per module, tagged) for the demo and tests",
		Long: `Publish every modules/<folder>/ that has a module.yml ({repo, tag}) as a git
repository under OUT/<host>/<path of repo>, with one commit tagged as module.yml
says. Fetch them with --mirror https://github.com/=OUT/github.com/ .
The same files always give the same commit, so published tags never move.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := publishCatalog(catalog, out)
			if err != nil {
				return failf(exitFailed, "%v", err)
			}
			abs, _ := filepath.Abs(out)
			fmt.Fprintf(s.out, "published %d module repositories under %s\nfetch them with: --mirror https://github.com/=%s/github.com/\n", n, abs, abs)
			return nil
		},
	}
	cmd.Flags().StringVar(&catalog, "catalog", "modules", "the module catalog folder")
	cmd.Flags().StringVar(&out, "out", ".gxl/git", "where the repositories go")
	return cmd
}

// publishCatalog writes one repository per catalog entry and returns how
// many it wrote.
func publishCatalog(catalog, out string) (int, error) {
	entries, err := os.ReadDir(catalog)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		meta := filepath.Join(catalog, e.Name(), "module.yml")
		b, err := os.ReadFile(meta)
		if err != nil {
			continue
		}
		var ce catalogEntry
		if err := yaml.Unmarshal(b, &ce); err != nil {
			return n, fmt.Errorf("%s: %w", meta, err)
		}
		if ce.Repo == "" || ce.Tag == "" {
			return n, fmt.Errorf("%s: give repo and tag", meta)
		}
		rest, ok := strings.CutPrefix(ce.Repo, "https://")
		if !ok || strings.Contains(rest, "..") {
			return n, fmt.Errorf("%s: repo must be an https:// address", meta)
		}
		if err := publishOne(filepath.Join(catalog, e.Name()), filepath.Join(out, filepath.FromSlash(rest)), ce.Tag); err != nil {
			return n, fmt.Errorf("%s: %w", ce.Repo, err)
		}
		n++
	}
	return n, nil
}

func publishOne(src, dst, tag string) error {
	if err := fsguard.RemoveAll(dst, fsguard.Base()); err != nil {
		return err
	}
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "build" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		return err
	}
	repo, err := git.PlainInit(dst, false)
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if _, err := wt.Add(f); err != nil {
			return err
		}
	}
	sig := &object.Signature{Name: "gxl publish", Email: "publish@gxl.invalid", When: publishedAt}
	h, err := wt.Commit("module "+filepath.Base(src)+" "+tag, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return err
	}
	_, err = repo.CreateTag(tag, h, nil)
	return err
}
