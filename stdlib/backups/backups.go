// Package backups is the one mechanism the backup built-ins (pg.backup,
// redis.backup and their prune_backups) share for what they keep on disk:
// the dated names of backups in a backup root, the temporary names they are
// written under until verified, the listing newest first, and retention by
// age that never removes the newest valid backup. Every removal goes
// through core/fsguard (one entry of the root at a time, never a protected
// folder).
//
// A backup of kind K made at time T (UTC) is named K-YYYYMMDDTHHMMSS.mmmZ,
// possibly followed by a suffix of the kind (".rdb"); companions such as a
// checksum file add a further suffix (".rdb.sha256") and belong to the same
// backup. Names sort by time. A backup being written carries a leading dot
// and a ".partial" suffix, so it never looks like a finished one; it gets
// its final name by an atomic rename once verified.
package backups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// Layout is the time part of a backup's name (UTC, fixed width, so names
// sort by time).
const Layout = "20060102T150405.000Z"

// Name is the final name of a backup of kind made at t, with suffix.
func Name(kind string, t time.Time, suffix string) string {
	return kind + "-" + t.UTC().Format(Layout) + suffix
}

// Partial is the name a backup is written under before it is verified.
func Partial(final string) string { return "." + final + ".partial" }

// Backup is one finished backup in a root.
type Backup struct {
	// Name is its main entry (a folder for PostgreSQL, the RDB file for
	// Redis).
	Name string
	// Path is Root/Name.
	Path string
	// Time is when it was made, from its name.
	Time time.Time
	// Entries are the names of every entry of the root that belongs to it
	// (the main one first, then companions such as the checksum file).
	Entries []string
}

// parse reads the kind's time out of name: "kind-<stamp><rest>". ok is
// false for names of other kinds or malformed ones.
func parse(kind, name string) (t time.Time, rest string, ok bool) {
	s, found := strings.CutPrefix(name, kind+"-")
	if !found || len(s) < len(Layout) {
		return time.Time{}, "", false
	}
	t, err := time.Parse(Layout, s[:len(Layout)])
	if err != nil {
		return time.Time{}, "", false
	}
	return t, s[len(Layout):], true
}

// List returns the finished backups of kind in root, newest first. suffix
// is the main entry's suffix ("" for a folder, ".rdb"); entries named like
// the main one plus anything are its companions. Entries of other kinds,
// partial ones and names that do not parse are ignored. A missing root
// holds no backup.
func List(root, kind, suffix string) ([]Backup, error) {
	des, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	byName := map[string]*Backup{}
	var companions []string
	for _, de := range des {
		t, rest, ok := parse(kind, de.Name())
		if !ok {
			continue
		}
		if rest == suffix {
			byName[de.Name()] = &Backup{Name: de.Name(), Path: filepath.Join(root, de.Name()), Time: t, Entries: []string{de.Name()}}
		} else {
			companions = append(companions, de.Name())
		}
	}
	for _, c := range companions {
		t, rest, _ := parse(kind, c)
		main := Name(kind, t, suffix)
		if b := byName[main]; b != nil && strings.HasPrefix(rest, suffix) {
			b.Entries = append(b.Entries, c)
		}
	}
	out := make([]Backup, 0, len(byName))
	for _, b := range byName {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

// Invalid is a backup that failed its check.
type Invalid struct {
	Name string
	Err  error
}

// ErrNoValid is NewestValid's error when no backup passed its check.
var ErrNoValid = errors.New("no valid backup")

// NewestValid returns the newest backup for which valid returns nil,
// walking from the newest down, with the newer ones that failed. The
// error wraps ErrNoValid when none is valid, or is ctx's error when ctx
// ended during the walk: a check cut short says nothing about the backup,
// so it is not counted invalid.
func NewestValid(ctx context.Context, list []Backup, valid func(Backup) error) (newest Backup, invalid []Invalid, err error) {
	for _, b := range list {
		err := valid(b)
		if cerr := ctx.Err(); cerr != nil {
			return Backup{}, invalid, fmt.Errorf("checking %s: %w", b.Name, cerr)
		}
		if err != nil {
			invalid = append(invalid, Invalid{Name: b.Name, Err: err})
			continue
		}
		return b, invalid, nil
	}
	return Backup{}, invalid, fmt.Errorf("%w (%d checked, all failed)", ErrNoValid, len(list))
}

// Pruned is what Prune did.
type Pruned struct {
	// Removed lists the entries removed (main entries, companions and
	// left-over partial ones).
	Removed []string
	// Kept is the newest valid backup (zero when retention had nothing
	// to do).
	Kept string
	// Invalid are the backups newer than Kept that failed their check.
	Invalid []Invalid
}

// Prune removes the backups of kind in root that are older than
// retention (their time from their name, against now), and the partial
// ones left over by an interrupted backup that are as old, except the
// newest valid backup, which stays however old it is. valid is the check
// of one backup (verification, checksum): it is called from the newest
// down until one passes, and only when some backup is old enough to go.
// When no backup is valid nothing is removed and the error says so.
// retention ≤ 0 keeps everything. Removals go through fsguard.RemoveEntry
// against rs.
func Prune(ctx context.Context, root, kind, suffix string, retention time.Duration, now time.Time, valid func(Backup) error, rs fsguard.Roots) (Pruned, error) {
	var res Pruned
	if retention <= 0 {
		return res, nil
	}
	list, err := List(root, kind, suffix)
	if err != nil {
		return res, err
	}
	cutoff := now.Add(-retention)
	var expired []Backup
	for _, b := range list {
		if b.Time.Before(cutoff) {
			expired = append(expired, b)
		}
	}
	partials, err := oldPartials(root, kind, cutoff)
	if err != nil {
		return res, err
	}
	if len(expired) == 0 && len(partials) == 0 {
		return res, nil
	}
	keep, invalid, err := NewestValid(ctx, list, valid)
	res.Invalid = invalid
	if err != nil {
		return res, fmt.Errorf("%s: %w: nothing removed", root, err)
	}
	res.Kept = keep.Name
	remove := partials
	for _, b := range expired {
		if b.Name != keep.Name {
			remove = append(remove, b.Entries...)
		}
	}
	for _, name := range remove {
		if err := fsguard.RemoveEntry(root, name, rs); err != nil {
			return res, fmt.Errorf("remove %s: %w", filepath.Join(root, name), err)
		}
		res.Removed = append(res.Removed, name)
	}
	return res, nil
}

// oldPartials lists the partial entries of kind older than cutoff.
func oldPartials(root, kind string, cutoff time.Time) ([]string, error) {
	des, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		n, ok := strings.CutPrefix(de.Name(), ".")
		if !ok || !strings.HasSuffix(n, ".partial") {
			continue
		}
		if t, _, ok := parse(kind, n); ok && t.Before(cutoff) {
			out = append(out, de.Name())
		}
	}
	return out, nil
}

// Size is the total size of the regular files at path (a file or a
// folder).
func Size(path string) (int64, error) {
	var n int64
	err := filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// Day is the unit of the retention_days arguments.
const Day = 24 * time.Hour

// RetentionParam is the retention_days parameter of the backup built-ins.
func RetentionParam() builtin.Param {
	return builtin.Param{Name: "retention_days", Type: types.Int, Default: value.Int(0),
		Doc: "remove backups older than this many days, never the newest valid one (0: keep all)"}
}

// RootParam is the root parameter of the backup built-ins.
func RootParam(what string) builtin.Param {
	return builtin.Param{Name: "root", Type: types.String, Required: true,
		Doc: "backup folder: " + what + " (relative to the working directory; a folder of its own, never it, the project root, home or /)"}
}

// Root resolves the root argument of the running call (builtin.Dest: never
// a protected folder).
func Root(c builtin.Ctx, a builtin.Args) (string, error) {
	return builtin.Dest(c, "root", a.Str("root"))
}

// PruneCall runs Prune for a built-in: retention from its retention_days
// argument, the protected folders of the call, and a log line of what it
// did.
func PruneCall(ctx context.Context, c builtin.Ctx, a builtin.Args, name, root, kind, suffix string, valid func(Backup) error) (Pruned, error) {
	days := a.Int("retention_days")
	if days < 0 {
		return Pruned{}, fmt.Errorf("retention_days must not be negative, not %d", days)
	}
	res, err := Prune(ctx, root, kind, suffix, time.Duration(days)*Day, time.Now(), valid, builtin.Protected(c))
	for _, iv := range res.Invalid {
		c.Logf("%s: %s is not valid: %v", name, iv.Name, iv.Err)
	}
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	if days > 0 {
		c.Logf("%s: retention %d days in %s: removed %d (%s), newest valid kept: %s", name, days, root, len(res.Removed), strings.Join(res.Removed, ", "), orNone(res.Kept))
	}
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none needed)"
	}
	return s
}

// Value renders what Prune did for a result variable.
func (p Pruned) Value() value.Value {
	o := value.NewObject()
	var removed []value.Value
	for _, r := range p.Removed {
		removed = append(removed, value.Str(r))
	}
	o.Set("removed", value.List(removed...))
	o.Set("kept", value.Str(p.Kept))
	o.Set("invalid", InvalidValue(p.Invalid))
	return value.Obj(o)
}

// InvalidValue renders backups that failed their check for a result
// variable: a list of {name, error}.
func InvalidValue(l []Invalid) value.Value {
	var out []value.Value
	for _, iv := range l {
		o := value.NewObject()
		o.Set("name", value.Str(iv.Name))
		o.Set("error", value.Str(iv.Err.Error()))
		out = append(out, value.Obj(o))
	}
	return value.List(out...)
}

// Made is a backup a built-in made, as its result reports it: what
// every backup built-in reports, then Extra fields of its own.
type Made struct {
	Path, Name, Server string
	Bytes              int64
	Took               time.Duration
	Extra              []Field
}

// Field is one more field of a backup's result.
type Field struct {
	Key   string
	Value value.Value
}

// Finish ends a backup built-in: retention (PruneCall, which checks the
// backups with valid), then the result {path, name, server,
// bytes, ms, duration, the extra fields, retention} in the call's `out` variable.
func Finish(ctx context.Context, c builtin.Ctx, a builtin.Args, name, root, kind, suffix string, valid func(Backup) error, m Made) error {
	o := value.NewObject()
	o.Set("path", value.Str(m.Path))
	o.Set("name", value.Str(m.Name))
	o.Set("server", value.Str(m.Server))
	o.Set("bytes", value.Int(m.Bytes))
	o.Set("ms", value.Int(m.Took.Milliseconds()))
	o.Set("duration", value.Str(m.Took.Round(time.Millisecond).String()))
	for _, f := range m.Extra {
		o.Set(f.Key, f.Value)
	}
	pr, err := PruneCall(ctx, c, a, name, root, kind, suffix, valid)
	o.Set("retention", pr.Value())
	c.Set(a.Str("out"), value.Obj(o))
	return err
}
