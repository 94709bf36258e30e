package redisha_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/core/proc"
	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/stdlib/backups"
)

const backupProgram = `
mod envs { env default { } }
mod main {
    flow by_sentinel {
        redis.backup(sentinels: ["${S1:}", "${S2:}", "${S3:}"], master_name: "${REDIS_MASTER_NAME:}", root: "${ROOT:}", out: "B");
        gx.assert(value: "${B.server}", expect: "${REDIS_PRIMARY:}");
        gx.echo("BACKUP ${B.name} SHA ${B.sha256} BYTES ${B.bytes}");
    }
    flow by_nodes {
        redis.backup(nodes: ["${REDIS_REPLICA:}", "${REDIS_PRIMARY:}"], root: "${ROOT:}", retention_days: "${DAYS:0}", out: "B");
        gx.assert(value: "${B.server}", expect: "${REDIS_PRIMARY:}");
        gx.echo("BACKUP ${B.name} REMOVED=${B.retention.removed}");
    }
    flow prune {
        redis.prune_backups(root: "${ROOT:}", retention_days: 7, out: "P");
        gx.echo("KEPT ${P.kept} WHY: ${P.invalid[0].error}");
    }
    flow elsewhere {
        redis.backup(nodes: ["${REDIS_PRIMARY:}"], root: "${ROOT:}", rdb: "${OLD_RDB:}");
    }
    flow replica_only {
        redis.backup(nodes: ["${REDIS_REPLICA:}"], root: "${ROOT:}");
    }
}
`

func field(out, key string) string {
	i := strings.Index(out, key)
	if i < 0 {
		return ""
	}
	f := strings.Fields(out[i+len(key):])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func entries(t *testing.T, dir string) string {
	t.Helper()
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// getFromRDB starts a throwaway redis-server on a copy of rdb (a free
// port, a folder of its own) and GETs key from it.
func getFromRDB(t *testing.T, rdb, key string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := devstack.RedisBin("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	port, _ := proc.FreePort()
	p, err := proc.Start("redis-server on the backup", filepath.Join(dir, "server.log"), exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	cl := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, 20*time.Millisecond, func(ctx context.Context) error { return cl.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	v, err := cl.Get(ctx, key).Result()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return v
}

// TestBackup: redis.backup finds the master (through the Sentinels, or
// among the nodes), its RDB copy holds a key written before it (read back
// from a throwaway redis-server started on the copy) with a matching
// SHA-256 file; retention keeps the newest valid backup when every backup
// is old, and a corrupted one is reported, never kept as the valid one.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3})
	if err != nil {
		t.Fatalf("start Redis with Sentinels: %v", err)
	}
	defer h.Cleanup()
	root := filepath.Join(t.TempDir(), "backups")
	vars := h.Env()
	for i, s := range h.SentinelAddrs() {
		vars["S"+strconv.Itoa(i+1)] = s
	}
	vars["ROOT"] = root
	run := func(flow string, extra map[string]string) (string, error) {
		t.Helper()
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		for k, x := range extra {
			v[k] = x
		}
		return gxltest.Run(t, backupProgram, flow, v)
	}
	rc := redis.NewClient(&redis.Options{Addr: h.Primary.Addr()})
	defer rc.Close()
	if err := rc.Set(ctx, "session:1", "before-backup", 0).Err(); err != nil {
		t.Fatal(err)
	}
	out, err := run("by_sentinel", nil)
	if err != nil {
		t.Fatalf("backup through Sentinel: %v\n%s\n%s", err, out, h.Logs())
	}
	b1 := field(out, "BACKUP ")
	if got := entries(t, root); got != b1+" "+b1+".sha256" {
		t.Fatalf("backup root holds %q", got)
	}
	rdb := filepath.Join(root, b1)
	data, _ := os.ReadFile(rdb)
	sum := sha256.Sum256(data)
	line, _ := os.ReadFile(rdb + ".sha256")
	if want := hex.EncodeToString(sum[:]) + "  " + b1 + "\n"; string(line) != want || field(out, "SHA ") != hex.EncodeToString(sum[:]) {
		t.Fatalf("checksum file %q, want %q", line, want)
	}
	if err := rc.Set(ctx, "session:2", "after-backup", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := getFromRDB(t, rdb, "session:1"); v != "before-backup" {
		t.Fatalf("key written before the backup, from the RDB copy: %q", v)
	}
	if v := getFromRDB(t, rdb, "session:2"); v != "(redis: nil)" {
		t.Fatalf("key written after the backup is in it: %q", v)
	}

	// Among the nodes (the replica listed first): the master, and the
	// newer key is in this one.
	time.Sleep(5 * time.Millisecond)
	out, err = run("by_nodes", nil)
	if err != nil {
		t.Fatalf("backup among nodes: %v\n%s", err, out)
	}
	b2 := field(out, "BACKUP ")
	if b2 <= b1 {
		t.Fatalf("names do not sort by time: %s then %s", b1, b2)
	}
	if v := getFromRDB(t, filepath.Join(root, b2), "session:2"); v != "after-backup" {
		t.Fatalf("second backup: %q", v)
	}

	// Retention, every backup old, the newest corrupted: it goes, the
	// older valid one stays.
	old1 := backups.Name("redis", time.Now().Add(-40*backups.Day), ".rdb")
	old2 := backups.Name("redis", time.Now().Add(-39*backups.Day), ".rdb")
	for from, to := range map[string]string{b1: old1, b2: old2} {
		for _, suf := range []string{"", ".sha256"} {
			if err := os.Rename(filepath.Join(root, from+suf), filepath.Join(root, to+suf)); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, _ := os.OpenFile(filepath.Join(root, old2), os.O_RDWR, 0)
	f.WriteAt([]byte("XX"), 20)
	f.Close()
	out, err = run("prune", nil)
	if err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	if got := entries(t, root); got != old1+" "+old1+".sha256" {
		t.Fatalf("after prune: %q, want only %s", got, old1)
	}
	if field(out, "KEPT ") != old1 || !strings.Contains(out, "WHY: SHA-256 mismatch") {
		t.Fatalf("prune did not keep %s or did not report the corrupt one:\n%s", old1, out)
	}
	// A new backup with retention: now the old one goes too.
	out, err = run("by_nodes", map[string]string{"DAYS": "7"})
	if err != nil {
		t.Fatalf("backup with retention: %v\n%s", err, out)
	}
	b3 := field(out, "BACKUP ")
	if got := entries(t, root); got != b3+" "+b3+".sha256" {
		t.Fatalf("after backup with retention: %q, want only %s\n%s", got, b3, out)
	}

	// An RDB that is not the snapshot just written (the server on another
	// machine, a wrong rdb path) is refused and nothing is left.
	oldRDB := filepath.Join(t.TempDir(), "old.rdb")
	os.WriteFile(oldRDB, []byte("REDIS0009"), 0o600)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(oldRDB, past, past)
	if out, err := run("elsewhere", map[string]string{"OLD_RDB": oldRDB}); err == nil || !strings.Contains(err.Error(), "readable here") {
		t.Fatalf("backup of a stale RDB: %v\n%s", err, out)
	}
	if got := entries(t, root); got != b3+" "+b3+".sha256" {
		t.Fatalf("a refused backup left %q", got)
	}
	if out, err := run("replica_only", nil); err == nil || !strings.Contains(err.Error(), "no master among 1 node(s)") {
		t.Fatalf("backup of a replica only: %v\n%s", err, out)
	}
}
