package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/proc"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
	"github.com/gxl-dev/gxl/stdlib/backups"
)

// kind names PostgreSQL backups in a backup root: pg-<UTC time>/.
const kind = "pg"

func registerBackup(r *builtin.Registry) {
	bin := builtin.Param{Name: "bin", Type: types.String, Doc: "PostgreSQL bin folder (default: the newest installed)"}
	r.Add(&builtin.Builtin{
		Name: "pg.backup", Doc: "pg_basebackup (WAL streamed in, self-contained) of the current primary among nodes into root/pg-<UTC time>, verified with pg_verifybackup before it gets its name; then retention.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{
			{Name: "nodes", Type: types.List, Required: true, Doc: "connection strings of the servers; the backup is taken from the one that is a writable primary now"},
			backups.RootParam("each backup is a folder pg-<UTC time> in it"),
			backups.RetentionParam(), bin,
			{Name: "out", Type: types.String, Default: value.Str("PG_BACKUP"), Doc: "variable set to {path, name, server, bytes, ms, duration, start_lsn, lsn, timeline, retention: {removed, kept, invalid}}"},
			timeoutParam("1h"),
		},
		SetsVars: builtin.OutVar("PG_BACKUP"), Run: runBackup,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.prune_backups", Doc: "Remove PostgreSQL backups older than retention_days from root, never the newest one that passes pg_verifybackup.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{
			backups.RootParam("as given to pg.backup"),
			{Name: "retention_days", Type: types.Int, Required: true, Doc: "remove backups older than this many days, never the newest valid one (0: keep all)"},
			bin,
			{Name: "out", Type: types.String, Default: value.Str("PG_PRUNED"), Doc: "variable set to {removed, kept, invalid: [{name, error}]}"},
			timeoutParam("1h"),
		},
		SetsVars: builtin.OutVar("PG_PRUNED"), Run: runPruneBackups,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.restore_check", Doc: "Start a throwaway server on a copy of the newest backup that passes pg_verifybackup (free loopback port), run a query, stop it and remove the copy.",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: []builtin.Param{
			backups.RootParam("as given to pg.backup"),
			{Name: "query", Type: types.String, Default: value.Str("select 1"), Doc: "SQL run on the restored server; its rows are the result"},
			{Name: "user", Type: types.String, Default: value.Str("postgres"), Doc: "role to connect as (trust authentication on the throwaway server)"},
			{Name: "dbname", Type: types.String, Default: value.Str("postgres"), Doc: "database to connect to"},
			bin,
			{Name: "out", Type: types.String, Default: value.Str("PG_RESTORE"), Doc: "variable set to {backup, path, value (first column of the first row), columns, rows, invalid: [{name, error}], ms}"},
			timeoutParam("10m"),
		},
		SetsVars: builtin.OutVar("PG_RESTORE"), Run: runRestoreCheck,
	})
}

// FindPrimary returns the one node that is a writable primary now: not in
// recovery and not fenced read-only (pg.failover fences an old primary
// that still answers). None, or more than one (split brain), is an error.
func FindPrimary(ctx context.Context, nodes []string) (string, error) {
	var found, why []string
	for _, dsn := range nodes {
		conn, err := connect(ctx, dsn)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		var rec bool
		var ro string
		err = conn.QueryRow(ctx, "select pg_is_in_recovery(), current_setting('default_transaction_read_only')").Scan(&rec, &ro)
		conn.Close(context.Background())
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("%s: %v", server(dsn), err))
		case rec:
			why = append(why, server(dsn)+" is a standby")
		case ro == "on":
			why = append(why, server(dsn)+" is fenced read-only")
		default:
			found = append(found, dsn)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("no writable primary among %d node(s): %s", len(nodes), strings.Join(why, "; "))
	}
	var names []string
	for _, f := range found {
		names = append(names, server(f))
	}
	return "", fmt.Errorf("%d writable primaries (split brain?): %s; not backing up from either", len(found), strings.Join(names, ", "))
}

// conninfo is a libpq connection string for dsn without its password
// (which goes to the child in PGPASSWORD, never on a command line).
func conninfo(dsn, appName string) (info, password string, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", "", fmt.Errorf("connection string: %v", scrub(err, dsn))
	}
	ssl := "disable"
	if cfg.TLSConfig != nil {
		ssl = "require"
		if len(cfg.Fallbacks) > 0 {
			ssl = "prefer"
		}
	}
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	info = fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s application_name=%s connect_timeout=10",
		q(cfg.Host), cfg.Port, q(cfg.User), q(cfg.Database), ssl, q(appName))
	return info, cfg.Password, nil
}

// tool runs a PostgreSQL client program.
func tool(ctx context.Context, bin, prog string, env []string, args ...string) (string, error) {
	return runProgram(ctx, prog, env, nil, append([]string{filepath.Join(bin, prog)}, args...))
}

// runProgram runs argv (the PostgreSQL program prog), with cred when
// given, in its own process group, killed as a group when ctx ends and by
// the kernel if gxl dies (dieWithGxl); its output is returned for
// messages. The one way stdlib/pg starts a PostgreSQL program.
func runProgram(ctx context.Context, prog string, env []string, cred *syscall.Credential, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	release := dieWithGxl(cmd.SysProcAttr)
	defer release()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if ctx.Err() != nil {
			return msg, fmt.Errorf("%s: %w (%s)", prog, ctx.Err(), msg)
		}
		return msg, fmt.Errorf("%s: %w: %s", prog, err, msg)
	}
	return string(out), nil
}

// binFor finds the bin folder holding prog.
func binFor(given, prog string) (string, error) {
	if given != "" {
		if _, err := os.Stat(filepath.Join(given, prog)); err != nil {
			return "", fmt.Errorf("%s not found in bin %q", prog, given)
		}
		return given, nil
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + prog)
	if len(ms) == 0 {
		if p, err := exec.LookPath(prog); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("%s not found; give bin: \"/usr/lib/postgresql/NN/bin\"", prog)
	}
	best := ms[0]
	for _, m := range ms {
		if versionOf(m) > versionOf(best) {
			best = m
		}
	}
	return filepath.Dir(best), nil
}

func versionOf(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// verify runs pg_verifybackup on a backup folder: every file against the
// manifest's checksums and the WAL needed to make it consistent.
func verify(ctx context.Context, bin, dir string) error {
	if _, err := tool(ctx, bin, "pg_verifybackup", nil, "--quiet", dir); err != nil {
		return err
	}
	return nil
}

// manifest is what pg.backup reads of backup_manifest.
type manifest struct {
	WALRanges []struct {
		Timeline int64  `json:"Timeline"`
		Start    string `json:"Start-LSN"`
		End      string `json:"End-LSN"`
	} `json:"WAL-Ranges"`
}

func readManifest(dir string) (manifest, error) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(dir, "backup_manifest"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func runBackup(c builtin.Ctx, a builtin.Args) error {
	root, err := backups.Root(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	bin, err := binFor(a.Str("bin"), "pg_basebackup")
	if err != nil {
		return err
	}
	var nodes []string
	v, _ := a.Value("nodes")
	for _, e := range v.ListVal() {
		if s := strings.TrimSpace(e.String()); s != "" {
			nodes = append(nodes, s)
		}
	}
	if len(nodes) == 0 {
		return fmt.Errorf("nodes is empty")
	}
	primary, err := FindPrimary(ctx, nodes)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	began := time.Now()
	name := backups.Name(kind, began, "")
	tmpName := backups.Partial(name)
	tmp := filepath.Join(root, tmpName)
	rs := builtin.Protected(c)
	done := false
	defer func() {
		// A backup that failed or was not verified never keeps a name
		// that looks finished; its partial folder goes too.
		if !done {
			if err := fsguard.RemoveEntry(root, tmpName, rs); err != nil && !errors.Is(err, os.ErrNotExist) {
				c.Logf("pg.backup: could not remove %s: %v", tmp, err)
			}
		}
	}()
	info, pw, err := conninfo(primary, "gxl-backup")
	if err != nil {
		return err
	}
	var env []string
	if pw != "" {
		env = append(env, "PGPASSWORD="+pw)
	}
	c.Logf("pg.backup: pg_basebackup of %s into %s", server(primary), tmp)
	if _, err := tool(ctx, bin, "pg_basebackup", env, "-d", info, "-D", tmp, "-X", "stream", "-c", "fast", "--no-password", "-l", "gxl "+name); err != nil {
		return fmt.Errorf("%s: %s", server(primary), c.Mask(err.Error()))
	}
	if err := verify(ctx, bin, tmp); err != nil {
		return fmt.Errorf("%s: the new backup failed verification and was removed: %w", server(primary), err)
	}
	final := filepath.Join(root, name)
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	done = true
	took := time.Since(began)
	size, _ := backups.Size(final)
	lsn, start, tl := "", "", int64(0)
	if m, err := readManifest(final); err == nil && len(m.WALRanges) > 0 {
		start, lsn, tl = m.WALRanges[0].Start, m.WALRanges[len(m.WALRanges)-1].End, m.WALRanges[len(m.WALRanges)-1].Timeline
	}
	c.Logf("pg.backup: %s verified: %d bytes in %s, WAL %s..%s timeline %d", final, size, took.Round(time.Millisecond), start, lsn, tl)
	return backups.Finish(ctx, c, a, "pg.backup", root, kind, "", func(b backups.Backup) error { return verify(ctx, bin, b.Path) },
		backups.Made{Path: final, Name: name, Server: server(primary), Bytes: size, Took: took, Extra: []backups.Field{
			{Key: "start_lsn", Value: value.Str(start)}, {Key: "lsn", Value: value.Str(lsn)}, {Key: "timeline", Value: value.Int(tl)}}})
}

func runPruneBackups(c builtin.Ctx, a builtin.Args) error {
	root, err := backups.Root(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	bin, err := binFor(a.Str("bin"), "pg_verifybackup")
	if err != nil {
		return err
	}
	pr, err := backups.PruneCall(ctx, c, a, "pg.prune_backups", root, kind, "", func(b backups.Backup) error { return verify(ctx, bin, b.Path) })
	c.Set(a.Str("out"), pr.Value())
	return err
}

// postgresUser is the uid/gid a throwaway server runs as: the postgres
// user when gxl runs as root (postgres refuses root), else ourselves.
func postgresUser() (uid, gid int, asPG []string, err error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, nil, fmt.Errorf("running as root needs the postgres user to start a server: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, []string{"runuser", "-u", "postgres", "--"}, nil
}

// copyTree copies the folder src to dst (new), files with their modes,
// folders 0700 (a data directory must not be group-readable), symbolic
// links as links; with uid ≥ 0 everything is given to uid:gid.
func copyTree(src, dst string, uid, gid int) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(l, to); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(p, to, fi.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		if uid >= 0 {
			return os.Lchown(to, uid, gid)
		}
		return nil
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// prepare turns a copy of a backup into a data directory a throwaway
// server starts on alone: no standby or recovery signal (it must not
// follow or fetch from anyone; the streamed WAL in pg_wal makes it
// consistent), a configuration file when the primary kept its own outside
// the data directory, and trust authentication for loopback and the socket
// only.
func prepare(data string, uid, gid int) error {
	for _, f := range []string{"standby.signal", "recovery.signal", "postmaster.pid"} {
		if err := os.Remove(filepath.Join(data, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	write := func(name, text string, always bool) error {
		p := filepath.Join(data, name)
		if _, err := os.Stat(p); err == nil && !always {
			return nil
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			return err
		}
		if uid >= 0 {
			return os.Chown(p, uid, gid)
		}
		return nil
	}
	if err := write("postgresql.conf", "", false); err != nil {
		return err
	}
	if err := write("pg_ident.conf", "", false); err != nil {
		return err
	}
	return write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n", true)
}

// Restored is the result of a restore check.
type Restored struct {
	Backup  backups.Backup
	Columns []string
	Rows    [][]string
	Invalid []backups.Invalid
	Took    time.Duration
}

// RestoreCheck starts a throwaway server on a copy of the newest backup of
// root that passes pg_verifybackup (the backup itself is never touched),
// runs query and returns its rows as text. The server is stopped and the
// copy removed whatever happens; ctx bounds everything and a server that
// does not stop is killed with its process group.
func RestoreCheck(ctx context.Context, root, bin, query, usr, db string, rs fsguard.Roots, logf func(string, ...any)) (*Restored, error) {
	began := time.Now()
	list, err := backups.List(root, kind, "")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no backup in %s", root)
	}
	uid, gid, asPG, err := postgresUser()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "gxl-restore-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := fsguard.RemoveAll(tmp, rs); err != nil {
			logf("pg.restore_check: could not remove %s: %v", tmp, err)
		}
	}()
	if uid >= 0 {
		if err := os.Chown(tmp, uid, gid); err != nil {
			return nil, err
		}
	}
	res := &Restored{}
	data := filepath.Join(tmp, "data")
	// The newest backup that verifies; what is verified is the copy the
	// server will start on.
	b, invalid, err := backups.NewestValid(ctx, list, func(b backups.Backup) error {
		if err := os.RemoveAll(data); err != nil {
			return err
		}
		if err := copyTree(b.Path, data, uid, gid); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		return verify(ctx, bin, data)
	})
	res.Invalid = invalid
	for _, iv := range invalid {
		logf("pg.restore_check: %s is not valid, not used: %v", iv.Name, iv.Err)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", root, err)
	}
	res.Backup = b
	if err := prepare(data, uid, gid); err != nil {
		return res, err
	}
	port, err := proc.FreePort()
	if err != nil {
		return res, err
	}
	args := append(append([]string{}, asPG...), filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", tmp,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "hba_file="+filepath.Join(data, "pg_hba.conf"),
		"-c", "ident_file="+filepath.Join(data, "pg_ident.conf"),
		"-c", "archive_mode=off", // never push WAL into the real archive
		"-c", "synchronous_standby_names=",
		"-c", "logging_collector=off",
		"-c", "shared_buffers=16MB")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	srv, err := proc.Start("throwaway postgres on "+b.Name, filepath.Join(tmp, "server.log"), cmd)
	if err != nil {
		return res, err
	}
	defer stopServer(srv)
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable connect_timeout=5", port, usr, db)
	if err := srv.WaitFor(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	}); err != nil {
		return res, fmt.Errorf("the server on %s did not start: %w", b.Name, err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.Background())
	rr, err := conn.PgConn().Exec(ctx, query).ReadAll()
	if err != nil {
		return res, fmt.Errorf("query on the restored %s: %w", b.Name, err)
	}
	for _, r := range rr {
		if len(r.FieldDescriptions) == 0 {
			continue
		}
		res.Columns = res.Columns[:0]
		for _, f := range r.FieldDescriptions {
			res.Columns = append(res.Columns, f.Name)
		}
		res.Rows = res.Rows[:0]
		for _, row := range r.Rows {
			var cells []string
			for _, cell := range row {
				cells = append(cells, string(cell))
			}
			res.Rows = append(res.Rows, cells)
		}
	}
	res.Took = time.Since(began)
	return res, nil
}

// stopServer stops a throwaway server: fast shutdown (SIGINT to its
// process group), SIGKILL after 10 s, and waits for it.
func stopServer(p *proc.Proc) {
	p.Signal(syscall.SIGINT)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

func runRestoreCheck(c builtin.Ctx, a builtin.Args) error {
	root, err := backups.Root(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	bin, err := binFor(a.Str("bin"), "postgres")
	if err != nil {
		return err
	}
	res, err := RestoreCheck(ctx, root, bin, a.Str("query"), a.Str("user"), a.Str("dbname"), builtin.Protected(c), c.Logf)
	if err != nil {
		return err
	}
	o := value.NewObject()
	o.Set("backup", value.Str(res.Backup.Name))
	o.Set("path", value.Str(res.Backup.Path))
	first := ""
	if len(res.Rows) > 0 && len(res.Rows[0]) > 0 {
		first = res.Rows[0][0]
	}
	o.Set("value", value.Str(first))
	var cols, rows []value.Value
	for _, col := range res.Columns {
		cols = append(cols, value.Str(col))
	}
	for _, r := range res.Rows {
		var cells []value.Value
		for _, x := range r {
			cells = append(cells, value.Str(x))
		}
		rows = append(rows, value.List(cells...))
	}
	o.Set("columns", value.List(cols...))
	o.Set("rows", value.List(rows...))
	o.Set("invalid", backups.InvalidValue(res.Invalid))
	o.Set("ms", value.Int(res.Took.Milliseconds()))
	c.Set(a.Str("out"), value.Obj(o))
	c.Logf("pg.restore_check: %s restored and queried in %s: %d row(s)", res.Backup.Name, res.Took.Round(time.Millisecond), len(res.Rows))
	return nil
}
