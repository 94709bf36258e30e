package pg_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/stdlib/backups"
)

const backupProgram = `
mod envs { env default { } }
mod main {
    flow backup {
        pg.backup(nodes: ["${PG_STANDBY_DSN:}", "${PG_PRIMARY_DSN:}"], root: "${ROOT:}", bin: "${PG_BIN:}", retention_days: "${DAYS:0}", out: "B");
        gx.assert(value: "${B.server}", expect: "postgres 127.0.0.1:${PG_PRIMARY_PORT:}");
        gx.echo("BACKUP ${B.name} ${B.bytes} ${B.lsn} removed=${B.retention.removed}");
    }
    flow restore {
        pg.restore_check(root: "${ROOT:}", bin: "${PG_BIN:}", query: "${QUERY:select 1}", out: "R");
        gx.echo("RESTORED ${R.backup} VALUE=${R.value} INVALID=${R.invalid}");
    }
    flow restore_skipping {
        pg.restore_check(root: "${ROOT:}", bin: "${PG_BIN:}", query: "${QUERY:select 1}", out: "R");
        gx.echo("RESTORED ${R.backup} VALUE=${R.value} INVALID= ${R.invalid[0].name} WHY: ${R.invalid[0].error}");
    }
    flow restore_timeout {
        pg.restore_check(root: "${ROOT:}", bin: "${PG_BIN:}", query: "select pg_sleep(60)", timeout: "3s");
    }
    flow prune {
        pg.prune_backups(root: "${ROOT:}", bin: "${PG_BIN:}", retention_days: 7, out: "P");
        gx.echo("KEPT ${P.kept} REMOVED=${P.removed}");
    }
    flow standby_only {
        pg.backup(nodes: ["${PG_STANDBY_DSN:}"], root: "${ROOT:}", bin: "${PG_BIN:}");
    }
}
`

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return out
}

// field returns the word after key= or after "KEY " in out.
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

// corrupt flips bytes in the largest file of a backup.
func corrupt(t *testing.T, dir string) {
	t.Helper()
	var big string
	var size int64
	filepath.Walk(filepath.Join(dir, "base"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > size {
			big, size = p, fi.Size()
		}
		return nil
	})
	f, err := os.OpenFile(big, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 16)
	f.ReadAt(b, size/2)
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := f.WriteAt(b, size/2); err != nil {
		t.Fatal(err)
	}
}

func restoreTemps() []string {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "gxl-restore-*"))
	return m
}

// throwawayServers lists the processes whose command line names a
// restore check's temporary copy.
func throwawayServers() []string {
	var out []string
	ms, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range ms {
		b, _ := os.ReadFile(m)
		if strings.Contains(string(b), "gxl-restore-") {
			out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// leftNothing fails when a restore check left a copy or a server behind.
func leftNothing(t *testing.T, tempsBefore int, what string) {
	t.Helper()
	if n := len(restoreTemps()); n != tempsBefore {
		t.Fatalf("%s left %d temporary copies behind", what, n-tempsBefore)
	}
	if ps := throwawayServers(); len(ps) > 0 {
		t.Fatalf("%s left servers running: %q", what, ps)
	}
}

// TestBackupRestoreRetention: pg.backup takes a verified, self-contained
// base backup of the primary (found among the nodes), pg.restore_check
// reads a row written before it from a throwaway server on a copy (not a
// row written after), a corrupted backup is reported and never used, and
// retention removes old backups but keeps the newest valid one even when
// every backup is old.
func TestBackupRestoreRetention(t *testing.T) {
	ctx := context.Background()
	c, err := devstack.StartPG(ctx, "", devstack.PGOptions{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	defer c.Cleanup()
	root := filepath.Join(t.TempDir(), "backups")
	vars := c.Env()
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
	tempsBefore := len(restoreTemps())
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "create table notes (id int primary key, note text)", "insert into notes values (1, 'before-backup')"); err != nil {
		t.Fatal(err)
	}
	out, err := run("backup", nil)
	if err != nil {
		t.Fatalf("backup: %v\n%s\n%s", err, out, c.Logs())
	}
	t.Logf("first backup: %s", out)
	b1 := field(out, "BACKUP ")
	if got := entries(t, root); len(got) != 1 || got[0] != b1 || !strings.HasPrefix(b1, "pg-") {
		t.Fatalf("backup root holds %v, want only %s", got, b1)
	}
	if _, err := os.Stat(filepath.Join(root, b1, "backup_manifest")); err != nil {
		t.Fatal(err)
	}
	if lsn := field(out, b1+" "); lsn == "" {
		t.Fatalf("no size/LSN in %q", out)
	}
	if err := devstack.Exec(ctx, c.Nodes[0].DSN(), "insert into notes values (2, 'after-backup')"); err != nil {
		t.Fatal(err)
	}

	// The row written before the backup comes back from the restored copy;
	// the one written after does not (the server is the backup, not the
	// live primary).
	out, err = run("restore", map[string]string{"QUERY": "select string_agg(note, ',' order by id) from notes"})
	if err != nil {
		t.Fatalf("restore_check: %v\n%s", err, out)
	}
	if got := field(out, "VALUE="); got != "before-backup" {
		t.Fatalf("restored rows %q, want before-backup\n%s", got, out)
	}
	if field(out, "RESTORED ") != b1 {
		t.Fatalf("restored from %q, want %s", field(out, "RESTORED "), b1)
	}
	leftNothing(t, tempsBefore, "restore_check")
	// A query error fails the step, and still leaves nothing behind.
	if out, err := run("restore", map[string]string{"QUERY": "select * from nowhere"}); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("restore_check with a bad query: %v\n%s", err, out)
	}
	leftNothing(t, tempsBefore, "a failed restore_check")
	// Out of time while the query runs: the server is stopped and the
	// copy removed.
	if out, err := run("restore_timeout", nil); err == nil || !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("restore_check out of time: %v\n%s", err, out)
	}
	leftNothing(t, tempsBefore, "a restore_check out of time")

	// A corrupted newer backup fails verification, is reported and is
	// not used: the restore check falls back to the older valid one.
	time.Sleep(5 * time.Millisecond)
	out, err = run("backup", nil)
	if err != nil {
		t.Fatalf("second backup: %v\n%s", err, out)
	}
	b2 := field(out, "BACKUP ")
	if b2 <= b1 {
		t.Fatalf("names do not sort by time: %s then %s", b1, b2)
	}
	corrupt(t, filepath.Join(root, b2))
	out, err = run("restore_skipping", map[string]string{"QUERY": "select note from notes where id = 1"})
	if err != nil {
		t.Fatalf("restore_check with a corrupt newest backup: %v\n%s", err, out)
	}
	if field(out, "RESTORED ") != b1 || field(out, "INVALID= ") != b2 || field(out, "VALUE=") != "before-backup" {
		t.Fatalf("restore_check used the corrupt backup or did not report it:\n%s", out)
	}
	t.Logf("restore check past a corrupt backup: %s", out)
	if !strings.Contains(out, "WHY: pg_verifybackup") || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("the corrupt backup is not reported with pg_verifybackup's finding:\n%s", out)
	}

	// Retention: every backup is old, the newer one is corrupt. The
	// corrupt one goes, the older valid one stays (it is the newest valid).
	old1 := backups.Name("pg", time.Now().Add(-40*backups.Day), "")
	old2 := backups.Name("pg", time.Now().Add(-39*backups.Day), "")
	partial := backups.Partial(backups.Name("pg", time.Now().Add(-41*backups.Day), ""))
	for from, to := range map[string]string{b1: old1, b2: old2} {
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(root, partial), 0o700)
	os.Mkdir(filepath.Join(root, "not-a-backup"), 0o700)
	out, err = run("prune", nil)
	if err != nil {
		t.Fatalf("prune: %v\n%s", err, out)
	}
	if got := entries(t, root); strings.Join(got, " ") != "not-a-backup "+old1 {
		t.Fatalf("after prune: %v, want [not-a-backup %s]\n%s", got, old1, out)
	}
	if field(out, "KEPT ") != old1 {
		t.Fatalf("kept %q, want %s\n%s", field(out, "KEPT "), old1, out)
	}
	// A new backup with retention: now the old one goes.
	out, err = run("backup", map[string]string{"DAYS": "7"})
	if err != nil {
		t.Fatalf("backup with retention: %v\n%s", err, out)
	}
	b3 := field(out, "BACKUP ")
	if got := entries(t, root); strings.Join(got, " ") != "not-a-backup "+b3 {
		t.Fatalf("after backup with retention: %v, want [not-a-backup %s]\n%s", got, b3, out)
	}

	// Only corrupt backups: restore_check fails and says why.
	corrupt(t, filepath.Join(root, b3))
	if out, err := run("restore", nil); err == nil || !strings.Contains(err.Error(), "no valid backup (1 checked, all failed)") {
		t.Fatalf("restore_check on a corrupt backup only: %v\n%s", err, out)
	}
	// No writable primary among the nodes: no backup, nothing written.
	if out, err := run("standby_only", nil); err == nil || !strings.Contains(err.Error(), "no writable primary") || !strings.Contains(err.Error(), "is a standby") {
		t.Fatalf("backup of a standby only: %v\n%s", err, out)
	}

	// A backup that fails verification never gets a finished name, and
	// its partial folder is removed (a failing pg_verifybackup stands in
	// for a corrupted transfer).
	fake := t.TempDir()
	os.Symlink(filepath.Join(c.Bin, "pg_basebackup"), filepath.Join(fake, "pg_basebackup"))
	os.WriteFile(filepath.Join(fake, "pg_verifybackup"), []byte("#!/bin/sh\necho 'checksum mismatch for file \"base/1/1259\"' >&2\nexit 1\n"), 0o755)
	before := entries(t, root)
	out, err = run("backup", map[string]string{"PG_BIN": fake})
	if err == nil || !strings.Contains(err.Error(), "failed verification") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("backup failing verification: %v\n%s", err, out)
	}
	if got := entries(t, root); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("a backup that failed verification left %v (before: %v)", got, before)
	}
}

// TestBackupRootRefused: the backup root is a folder of its own, never
// the working directory, an ancestor, home or /; refused at the call's
// position before anything runs.
func TestBackupRootRefused(t *testing.T) {
	for _, root := range []string{".", "", "..", "/"} {
		for _, call := range []string{
			`pg.backup(nodes: ["host=127.0.0.1 port=1 user=x dbname=x"], root: "` + root + `");`,
			`pg.restore_check(root: "` + root + `");`,
			`pg.prune_backups(root: "` + root + `", retention_days: 1);`,
		} {
			src := "mod envs { env default { } }\nmod main {\n    flow f {\n        " + call + "\n    }\n}\n"
			_, err := gxltest.Run(t, src, "f", nil)
			if err == nil || !strings.Contains(err.Error(), "work.gxl:4:9") || !strings.Contains(err.Error(), "refused, nothing was changed") {
				t.Errorf("root %q, %s: err = %v", root, call, err)
			}
		}
	}
}
