package redisha

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib/backups"
)

// Redis backups in a backup root: redis-<UTC time>.rdb with its
// checksum redis-<UTC time>.rdb.sha256 (sha256sum format) beside it.
const (
	kind      = "redis"
	rdbSuffix = ".rdb"
	sumSuffix = ".sha256"
)

func registerBackup(r *builtin.Registry, pass builtin.Param) {
	r.Add(&builtin.Builtin{
		Name: "redis.backup", Doc: "BGSAVE on the current master (from the Sentinels, or the one master among nodes), wait for it, copy its RDB into root/redis-<UTC time>.rdb with a SHA-256 file beside it; then retention. The RDB must be readable on the machine running gxl.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{
			{Name: "nodes", Type: types.List, Doc: "host:port of the servers; the backup is taken from the one master among them"},
			{Name: "sentinels", Type: types.List, Doc: "host:port of the Sentinels: the backup is taken from the master they name (instead of nodes)"},
			{Name: "master_name", Type: types.String, Default: value.Str("mymaster"), Doc: "name monitored by the Sentinels"},
			pass,
			backups.RootParam("each backup is a file redis-<UTC time>.rdb in it, with its .sha256"),
			backups.RetentionParam(),
			{Name: "rdb", Type: types.String, Doc: "path of the master's RDB file on this machine (default: CONFIG GET dir and dbfilename)"},
			{Name: "out", Type: types.String, Default: value.Str("REDIS_BACKUP"), Doc: "variable set to {path, name, server, sha256, bytes, ms, duration, retention: {removed, kept, invalid}}"},
			timeoutParam("10m"),
		},
		SetsVars: builtin.OutVar("REDIS_BACKUP"), Run: runBackup,
	})
	r.Add(&builtin.Builtin{
		Name: "redis.prune_backups", Doc: "Remove Redis backups older than retention_days from root, never the newest one whose SHA-256 matches.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{
			backups.RootParam("as given to redis.backup"),
			{Name: "retention_days", Type: types.Int, Required: true, Doc: "remove backups older than this many days, never the newest valid one (0: keep all)"},
			{Name: "out", Type: types.String, Default: value.Str("REDIS_PRUNED"), Doc: "variable set to {removed, kept, invalid: [{name, error}]}"},
			timeoutParam("10m"),
		},
		SetsVars: builtin.OutVar("REDIS_PRUNED"), Run: runPruneBackups,
	})
}

// FindMaster returns the current master: the one the first answering
// Sentinel names (checked to be a master), else the one master among
// nodes. No master, or several among nodes (a restarted old primary that
// was not fenced), is an error.
func FindMaster(ctx context.Context, sentinels []string, name string, nodes []string, pw string) (string, error) {
	if len(sentinels) > 0 {
		var why []string
		for _, s := range sentinels {
			sc := redis.NewSentinelClient(&redis.Options{Addr: s, DialTimeout: 2 * time.Second, DialerRetries: 1})
			addr, err := sc.GetMasterAddrByName(ctx, name).Result()
			sc.Close()
			if err != nil || len(addr) != 2 {
				why = append(why, fmt.Sprintf("sentinel %s: %v", s, err))
				continue
			}
			m := addr[0] + ":" + addr[1]
			info, err := ReadInfo(ctx, m, pw)
			if err != nil {
				return "", err
			}
			if info["role"] != "master" {
				return "", fmt.Errorf("sentinel %s names %s as master of %s, but it is a %s (failover in progress?)", s, m, name, info["role"])
			}
			return m, nil
		}
		return "", fmt.Errorf("no Sentinel names a master for %s: %s", name, strings.Join(why, "; "))
	}
	var masters, why []string
	for _, n := range nodes {
		info, err := ReadInfo(ctx, n, pw)
		switch {
		case err != nil:
			why = append(why, err.Error())
		case info["role"] == "master":
			masters = append(masters, n)
		default:
			why = append(why, n+" is a "+info["role"])
		}
	}
	switch len(masters) {
	case 1:
		return masters[0], nil
	case 0:
		return "", fmt.Errorf("no master among %d node(s): %s", len(nodes), strings.Join(why, "; "))
	}
	return "", fmt.Errorf("%d masters among the nodes (%s): give sentinels, or fence the stale one", len(masters), strings.Join(masters, ", "))
}

// persistence reads INFO persistence.
func persistence(ctx context.Context, cl *redis.Client) (Info, error) {
	s, err := cl.Info(ctx, "persistence").Result()
	if err != nil {
		return nil, err
	}
	info := Info{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}

// saveMark identifies the last finished RDB save: rdb_saves (Redis 7)
// when the server reports it, else LASTSAVE's time.
func saveMark(info Info) string {
	if n, ok := info["rdb_saves"]; ok {
		return "saves=" + n
	}
	return "lastsave=" + info["rdb_last_save_time"]
}

// BGSave makes the master write a new RDB snapshot and waits until it is
// on disk: BGSAVE (again once a save already running has finished), then
// INFO persistence until no save runs and the mark of the last save has
// moved; a failed save (rdb_last_bgsave_status) is an error.
func BGSave(ctx context.Context, addr, pw string) error {
	cl := client(addr, pw)
	defer cl.Close()
	before, err := persistence(ctx, cl)
	if err != nil {
		return fmt.Errorf("redis %s: INFO persistence: %w", addr, err)
	}
	if err := retry.Poll(ctx, 50*time.Millisecond, 0, "redis "+addr+" to start a BGSAVE", func(ctx context.Context) (bool, error) {
		err := cl.BgSave(ctx).Err()
		switch {
		case err == nil:
			return true, nil
		case strings.Contains(err.Error(), "in progress"):
			return false, err // a save or rewrite runs: ours after it
		}
		return false, retry.Permanent(fmt.Errorf("BGSAVE: %w", err))
	}); err != nil {
		return fmt.Errorf("redis %s: %w", addr, err)
	}
	var after Info
	if err := retry.Poll(ctx, 50*time.Millisecond, 0, "redis "+addr+" to finish its BGSAVE", func(ctx context.Context) (bool, error) {
		info, err := persistence(ctx, cl)
		switch {
		case err != nil:
			return false, err
		case info["rdb_bgsave_in_progress"] != "0":
			return false, errors.New("rdb_bgsave_in_progress:" + info["rdb_bgsave_in_progress"])
		case saveMark(info) == saveMark(before) && info["rdb_last_bgsave_status"] == "ok":
			return false, errors.New("the save has not started yet")
		}
		after = info
		return true, nil
	}); err != nil {
		return fmt.Errorf("redis %s: %w", addr, err)
	}
	if st := after["rdb_last_bgsave_status"]; st != "ok" {
		return fmt.Errorf("redis %s: BGSAVE failed (rdb_last_bgsave_status:%s; see the server's log)", addr, st)
	}
	return nil
}

// rdbPath is where the master writes its RDB (CONFIG GET dir, dbfilename).
func rdbPath(ctx context.Context, addr, pw string) (string, error) {
	cl := client(addr, pw)
	defer cl.Close()
	get := func(k string) (string, error) {
		m, err := cl.ConfigGet(ctx, k).Result()
		if err != nil || m[k] == "" {
			return "", fmt.Errorf("redis %s: CONFIG GET %s: %v (give rdb: the file's path on this machine)", addr, k, err)
		}
		return m[k], nil
	}
	dir, err := get("dir")
	if err != nil {
		return "", err
	}
	file, err := get("dbfilename")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, file), nil
}

// copyRDB copies src to dst (new) and returns its SHA-256 and size. It
// refuses a file that does not start with the RDB magic or is older than
// since (not the snapshot just written: the server runs on another
// machine, or rdb names another file).
func copyRDB(src, dst string, since time.Time) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, fmt.Errorf("the RDB must be readable on the machine running gxl: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", 0, err
	}
	if fi.ModTime().Before(since) {
		return "", 0, fmt.Errorf("%s was last written %s, before this BGSAVE: it is not the master's new snapshot (is the server on another machine? the RDB must be readable here)", src, fi.ModTime().UTC().Format(time.RFC3339))
	}
	magic := make([]byte, 5)
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != "REDIS" {
		return "", 0, fmt.Errorf("%s is not an RDB file", src)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// checkRDB is the validity of one backup: its checksum file names the
// SHA-256 of its RDB, which starts with the RDB magic.
func checkRDB(b backups.Backup) error {
	sum, err := os.ReadFile(b.Path + sumSuffix)
	if err != nil {
		return fmt.Errorf("no checksum file: %w", err)
	}
	want := strings.Fields(string(sum))
	if len(want) == 0 {
		return fmt.Errorf("empty checksum file %s", b.Name+sumSuffix)
	}
	f, err := os.Open(b.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want[0]) {
		return fmt.Errorf("SHA-256 mismatch: %s is %s, %s says %s", b.Name, got, b.Name+sumSuffix, want[0])
	}
	head := make([]byte, 5)
	f.ReadAt(head, 0)
	if string(head) != "REDIS" {
		return fmt.Errorf("%s is not an RDB file", b.Name)
	}
	return nil
}

func runBackup(c builtin.Ctx, a builtin.Args) error {
	root, err := backups.Root(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	pw := a.Str("password")
	sent, nodes := list(a, "sentinels"), list(a, "nodes")
	if len(sent) == 0 && len(nodes) == 0 {
		return fmt.Errorf("give sentinels or nodes: where to find the master")
	}
	master, err := FindMaster(ctx, sent, a.Str("master_name"), nodes, pw)
	if err != nil {
		return err
	}
	src := a.Str("rdb")
	if src == "" {
		if src, err = rdbPath(ctx, master, pw); err != nil {
			return err
		}
	} else if !filepath.IsAbs(src) {
		src = filepath.Join(c.Dir(), src)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	began := time.Now()
	// The file's time has whole-second precision on some file systems.
	since := began.Truncate(time.Second).Add(-time.Second)
	if err := BGSave(ctx, master, pw); err != nil {
		return err
	}
	name := backups.Name(kind, began, rdbSuffix)
	rs := builtin.Protected(c)
	tmpRDB, tmpSum := backups.Partial(name), backups.Partial(name+sumSuffix)
	done := false
	defer func() {
		if !done {
			for _, n := range []string{tmpRDB, tmpSum, name + sumSuffix} {
				if err := fsguard.RemoveEntry(root, n, rs); err != nil && !errors.Is(err, os.ErrNotExist) {
					c.Logf("redis.backup: could not remove %s: %v", filepath.Join(root, n), err)
				}
			}
		}
	}()
	sum, size, err := copyRDB(src, filepath.Join(root, tmpRDB), since)
	if err != nil {
		return fmt.Errorf("redis %s: %w", master, err)
	}
	// The checksum gets its name first: an RDB with a final name always
	// has its checksum beside it.
	if err := os.WriteFile(filepath.Join(root, tmpSum), []byte(sum+"  "+name+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(root, tmpSum), filepath.Join(root, name+sumSuffix)); err != nil {
		return err
	}
	final := filepath.Join(root, name)
	if err := os.Rename(filepath.Join(root, tmpRDB), final); err != nil {
		return err
	}
	done = true
	took := time.Since(began)
	c.Logf("redis.backup: %s of %s: %d bytes, sha256 %s, in %s", final, master, size, sum, took.Round(time.Millisecond))
	return backups.Finish(ctx, c, a, "redis.backup", root, kind, rdbSuffix, checkRDB,
		backups.Made{Path: final, Name: name, Server: master, Bytes: size, Took: took, Extra: []backups.Field{{Key: "sha256", Value: value.Str(sum)}}})
}

func runPruneBackups(c builtin.Ctx, a builtin.Args) error {
	root, err := backups.Root(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	pr, err := backups.PruneCall(ctx, c, a, "redis.prune_backups", root, kind, rdbSuffix, checkRDB)
	c.Set(a.Str("out"), pr.Value())
	return err
}
