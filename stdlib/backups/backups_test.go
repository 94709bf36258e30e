package backups

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/fsguard"
)

var now = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

func daysAgo(d int) time.Time { return now.Add(-time.Duration(d) * Day) }

func names(t *testing.T, dir string) string {
	t.Helper()
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// redis-like backups: an .rdb file with a .rdb.sha256 companion.
func TestPrune(t *testing.T) {
	r := func(d int) string { return Name("redis", daysAgo(d), ".rdb") }
	for _, tc := range []struct {
		name      string
		files     []string // created in the root
		bad       []string // main entries whose check fails
		retention int
		want      string // entries left
		err       string
	}{
		{name: "retention 0 keeps all", files: []string{r(100), r(50)}, retention: 0, want: r(100) + " " + r(50)},
		{name: "nothing old", files: []string{r(1), r(2)}, retention: 7, want: r(2) + " " + r(1)},
		{name: "old ones go with their checksum", files: []string{r(1), r(1) + ".sha256", r(20), r(20) + ".sha256"}, retention: 7, want: r(1) + " " + r(1) + ".sha256"},
		{name: "all old: the newest valid stays", files: []string{r(30), r(20), r(10)}, retention: 7, want: r(10)},
		{name: "all old, newest invalid: it goes, the newest valid stays", files: []string{r(30), r(20), r(10)}, bad: []string{r(10)}, retention: 7, want: r(20)},
		{name: "recent invalid ones stay, old valid newest stays", files: []string{r(30), r(20), r(1)}, bad: []string{r(1)}, retention: 7, want: r(1) + " " + r(20)},
		{name: "none valid: nothing removed", files: []string{r(30), r(20)}, bad: []string{r(30), r(20)}, retention: 7, want: r(20) + " " + r(30), err: "no valid backup (2 checked, all failed): nothing removed"},
		{name: "old partial goes, recent partial stays", files: []string{r(1), Partial(r(9)), Partial(r(0))}, retention: 7, want: Partial(r(0)) + " " + r(1)},
		{name: "other kinds and names stay", files: []string{r(1), Name("pg", daysAgo(40), ""), "notes.txt", "redis-latest.rdb"}, retention: 7, want: Name("pg", daysAgo(40), "") + " notes.txt " + r(1) + " redis-latest.rdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			bad := map[string]bool{}
			for _, b := range tc.bad {
				bad[b] = true
			}
			_, err := Prune(context.Background(), root, "redis", ".rdb", time.Duration(tc.retention)*Day, now, func(b Backup) error {
				if bad[b.Name] {
					return errors.New("checksum mismatch")
				}
				return nil
			}, fsguard.Base())
			w := strings.Fields(tc.want)
			sort.Strings(w)
			if got := names(t, root); got != strings.Join(w, " ") {
				t.Errorf("left %q, want %q", got, tc.want)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

// A symbolic link named like an old backup is never followed: the
// removal is refused and its target stays.
func TestPruneRefusesSymlink(t *testing.T) {
	root, target := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600)
	old := Name("pg", daysAgo(30), "")
	if err := os.Symlink(target, filepath.Join(root, old)); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(root, Name("pg", daysAgo(1), "")), 0o700)
	_, err := Prune(context.Background(), root, "pg", "", 7*Day, now, func(Backup) error { return nil }, fsguard.Base())
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Fatal("the link's target was touched")
	}
}

// A check cut short by the context is not a verdict: the backup is not
// counted invalid.
func TestNewestValidStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	list := []Backup{{Name: "b2"}, {Name: "b1"}}
	_, invalid, err := NewestValid(ctx, list, func(Backup) error { cancel(); return ctx.Err() })
	if !errors.Is(err, context.Canceled) || len(invalid) != 0 {
		t.Fatalf("err = %v, invalid = %v", err, invalid)
	}
}

func TestNamesSortByTime(t *testing.T) {
	a := Name("pg", time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600)), "")
	b := Name("pg", time.Date(2026, 1, 2, 3, 4, 5, 7e6, time.FixedZone("X", 3600)), "")
	if a != "pg-20260102T020405.006Z" || !(a < b) {
		t.Fatalf("%s %s", a, b)
	}
}
