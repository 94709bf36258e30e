// Package pg implements the pg.* built-ins: PostgreSQL replication status,
// health checks and high-availability operations (failover, switchover,
// rejoin) with github.com/jackc/pgx/v5. Errors name the server (host:port,
// never the password) and the step.
package pg

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func timeoutParam(d string) builtin.Param {
	return builtin.Param{Name: "timeout", Type: types.Duration, Default: value.Str(d), Doc: "give up after this long (0: no limit)"}
}

func outParam(def string) builtin.Param {
	return builtin.Param{Name: "out", Type: types.String, Default: value.Str(def), Doc: "variable to set"}
}

// Register adds the pg.* built-ins.
func Register(r *builtin.Registry) {
	dsn := builtin.Param{Name: "dsn", Type: types.String, Required: true, Positional: true, Doc: "connection string of the server"}
	r.Add(&builtin.Builtin{
		Name: "pg.down", Doc: "Decide whether a server is down: true only when every probe (connect + SELECT 1) failed for the whole window.",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: builtin.DownParams(dsn), SetsVars: builtin.OutVar("DOWN"),
		Run: func(c builtin.Ctx, a builtin.Args) error {
			return builtin.RunDown(c, a, "pg.down", server(a.Str("dsn")), func(ctx context.Context) error {
				return probes.Probe(ctx, a.Str("dsn"))
			})
		},
	})
	r.Add(&builtin.Builtin{
		Name: "pg.exec", Doc: "Run SQL (one or more statements, in one transaction) on a server: schema bootstrap, grants.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{dsn,
			{Name: "sql", Type: types.String, Doc: "the SQL text"},
			{Name: "file", Type: types.String, Doc: "a file holding the SQL"},
			timeoutParam("60s")},
		Run: runExec,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.status", Doc: "Read a server's role, timeline, WAL positions, replicas and slots into a variable.",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: []builtin.Param{dsn, outParam("PG_STATUS"), timeoutParam("10s")},
		SetsVars: builtin.OutVar("PG_STATUS"), Run: runStatus,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.wait", Doc: "Wait until a server accepts connections (and, with role, has that role).",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: []builtin.Param{dsn, timeoutParam("60s"),
			{Name: "role", Type: types.String, Enum: []string{"", "primary", "standby"}, Doc: "wait for this role too"}},
		Run: runWait,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.check", Doc: "Fail unless the primary streams to enough standbys within a lag bound.",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: []builtin.Param{dsn, timeoutParam("10s"),
			{Name: "min_replicas", Type: types.Int, Default: value.Int(1), Doc: "standbys that must be streaming"},
			{Name: "max_lag_bytes", Type: types.Int, Default: value.Int(16 << 20), Doc: "largest replay lag accepted, in bytes"}},
		Run: runCheck,
	})
	ha := []builtin.Param{
		{Name: "primary", Type: types.String, Required: true, Doc: "connection string of the (old) primary"},
		{Name: "standbys", Type: types.List, Required: true, Doc: "connection strings of the standbys"},
		outParam("PG_PRIMARY"),
		{Name: "sync", Type: types.String, Doc: "synchronous_standby_names to set on the new primary; \"\" clears it: commits are accepted at once, on the new primary only, until a standby is made synchronous again (pg.rejoin with sync: true). Not given: the promoted server keeps its own setting"},
		timeoutParam("60s"),
	}
	r.Add(&builtin.Builtin{
		Name: "pg.failover", Doc: "Fence the old primary when reachable, promote the most advanced standby, verify it accepts writes. When no standby is left and one of them is a primary already (an earlier attempt promoted it, then was killed), it finishes that failover and promotes nothing else.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: ha, SetsVars: builtin.OutVar("PG_PRIMARY"), Run: runFailover,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.promote", Doc: "Alias of pg.failover.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: ha, SetsVars: builtin.OutVar("PG_PRIMARY"), Run: runFailover,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.switchover", Doc: "Planned switchover: fence the primary, wait until a standby has replayed everything, promote it (no committed row lost).",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: ha, SetsVars: builtin.OutVar("PG_PRIMARY"), Run: runSwitchover,
	})
	r.Add(&builtin.Builtin{
		Name: "pg.rejoin", Doc: "Bring an old primary back as a standby of the new one with pg_rewind (runs on this host). Run again after a rejoin that was cut short (its server crashed in recovery), it completes it.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{
			{Name: "data", Type: types.String, Required: true, Doc: "data directory of the old primary (relative to the working directory; never it, the project root, home, / or an ancestor)"},
			{Name: "port", Type: types.Int, Required: true, Doc: "port the old primary listens on"},
			{Name: "source", Type: types.String, Required: true, Doc: "connection string of the new primary"},
			{Name: "name", Type: types.String, Required: true, Doc: "application_name of the rejoined standby (and its slot name prefix)"},
			{Name: "bin", Type: types.String, Doc: "PostgreSQL bin folder (default: the newest installed)"},
			{Name: "socket_dir", Type: types.String, Doc: "unix socket folder (default: the data folder's parent)"},
			{Name: "sync", Type: types.Bool, Doc: "once it streams, make it the synchronous standby of the source (synchronous_standby_names = name): commits wait for it again"},
			timeoutParam("120s"),
		},
		Run: runRejoin,
	})
	registerBackup(r)
}

// server renders host:port of a connection string for messages (never
// the password).
func server(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "postgres(?)"
	}
	return fmt.Sprintf("postgres %s:%d", cfg.Host, cfg.Port)
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", server(dsn), scrub(err, dsn))
	}
	return conn, nil
}

// probes are the connections pg.down keeps, by connection string (which
// holds the credentials): connect + SELECT 1 once, then SELECT 1 on the
// kept session while it answers.
var probes = &builtin.ProbeConns[*pgx.Conn]{
	Dial: connect,
	Check: func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SELECT 1")
		return err
	},
	Close: func(conn *pgx.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	},
}

// scrub removes the DSN text from an error, in case a driver echoes it.
func scrub(err error, dsn string) string {
	return strings.ReplaceAll(err.Error(), dsn, "<dsn>")
}

// Status is what pg.status reports.
type Status struct {
	Server    string
	InRecover bool
	Timeline  int64
	LSN       string // current (primary) or last replayed (standby) WAL position
	Replicas  []Replica
	Slots     []string
}

// Replica is one row of pg_stat_replication.
type Replica struct {
	Name, State, SyncState string
	LagBytes               int64
}

// ReadStatus queries a server.
func ReadStatus(ctx context.Context, dsn string) (*Status, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	st := &Status{Server: server(dsn)}
	if err := conn.QueryRow(ctx, `select pg_is_in_recovery(),
		(select timeline_id from pg_control_checkpoint()),
		case when pg_is_in_recovery() then coalesce(pg_last_wal_replay_lsn()::text, '') else pg_current_wal_lsn()::text end`).
		Scan(&st.InRecover, &st.Timeline, &st.LSN); err != nil {
		return nil, fmt.Errorf("%s: status: %w", st.Server, err)
	}
	if !st.InRecover {
		rows, err := conn.Query(ctx, `select coalesce(application_name,''), coalesce(state,''), coalesce(sync_state,''),
			coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint from pg_stat_replication order by 1`)
		if err != nil {
			return nil, fmt.Errorf("%s: pg_stat_replication: %w", st.Server, err)
		}
		for rows.Next() {
			var r Replica
			if err := rows.Scan(&r.Name, &r.State, &r.SyncState, &r.LagBytes); err != nil {
				return nil, err
			}
			st.Replicas = append(st.Replicas, r)
		}
		rows.Close()
	}
	rows, err := conn.Query(ctx, `select slot_name from pg_replication_slots order by 1`)
	if err == nil {
		for rows.Next() {
			var s string
			rows.Scan(&s)
			st.Slots = append(st.Slots, s)
		}
		rows.Close()
	}
	return st, nil
}

func (st *Status) value() value.Value {
	o := value.NewObject()
	role := "primary"
	if st.InRecover {
		role = "standby"
	}
	o.Set("role", value.Str(role))
	o.Set("server", value.Str(st.Server))
	o.Set("timeline", value.Int(st.Timeline))
	o.Set("lsn", value.Str(st.LSN))
	var reps []value.Value
	for _, r := range st.Replicas {
		ro := value.NewObject()
		ro.Set("name", value.Str(r.Name))
		ro.Set("state", value.Str(r.State))
		ro.Set("sync_state", value.Str(r.SyncState))
		ro.Set("lag_bytes", value.Int(r.LagBytes))
		reps = append(reps, value.Obj(ro))
	}
	o.Set("replicas", value.List(reps...))
	var slots []value.Value
	for _, s := range st.Slots {
		slots = append(slots, value.Str(s))
	}
	o.Set("slots", value.List(slots...))
	return value.Obj(o)
}

func runStatus(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	st, err := ReadStatus(ctx, a.Str("dsn"))
	if err != nil {
		return err
	}
	c.Set(a.Str("out"), st.value())
	c.Logf("pg.status %s: role=%s timeline=%d lsn=%s replicas=%d", st.Server, map[bool]string{true: "standby", false: "primary"}[st.InRecover], st.Timeline, st.LSN, len(st.Replicas))
	return nil
}

func runWait(c builtin.Ctx, a builtin.Args) error {
	dsn, role := a.Str("dsn"), a.Str("role")
	err := retry.Poll(c.Context(), 100*time.Millisecond, a.Duration("timeout"), server(dsn)+" to be a "+role, func(ctx context.Context) (bool, error) {
		st, err := ReadStatus(ctx, dsn)
		switch {
		case err != nil:
			return false, err
		case role == "primary" && st.InRecover, role == "standby" && !st.InRecover:
			return false, fmt.Errorf("%s is not a %s yet", st.Server, role)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return nil
}

func runCheck(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	st, err := ReadStatus(ctx, a.Str("dsn"))
	if err != nil {
		return err
	}
	if st.InRecover {
		return fmt.Errorf("%s is a standby, not a primary", st.Server)
	}
	streaming := 0
	var problems []string
	for _, r := range st.Replicas {
		switch {
		case r.State != "streaming":
			problems = append(problems, fmt.Sprintf("%s is %s", r.Name, r.State))
		case r.LagBytes > a.Int("max_lag_bytes"):
			problems = append(problems, fmt.Sprintf("%s lags %d bytes (bound %d)", r.Name, r.LagBytes, a.Int("max_lag_bytes")))
		default:
			streaming++
		}
	}
	if int64(streaming) < a.Int("min_replicas") {
		return fmt.Errorf("%s: %d healthy standby(s), %d required; %s", st.Server, streaming, a.Int("min_replicas"), strings.Join(problems, "; "))
	}
	c.Logf("pg.check %s: %d standby(s) streaming", st.Server, streaming)
	return nil
}

// Fence makes a reachable primary refuse writes: read-only by default for
// new transactions, and its client sessions terminated.
func Fence(ctx context.Context, dsn string) error {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		"alter system set default_transaction_read_only = on",
		"select pg_reload_conf()",
		"select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: fence: %w", server(dsn), err)
		}
	}
	return nil
}

// replayLSN returns a standby's last replayed position in bytes.
func replayLSN(ctx context.Context, dsn string) (int64, bool, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return 0, false, err
	}
	defer conn.Close(ctx)
	var rec bool
	var lsn int64
	err = conn.QueryRow(ctx, `select pg_is_in_recovery(), coalesce(pg_wal_lsn_diff(coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn()), '0/0'), 0)::bigint`).Scan(&rec, &lsn)
	return lsn, rec, err
}

// Promote promotes a standby and verifies that it accepts writes. A
// server already out of recovery is not promoted again (a resumed
// failover whose first attempt promoted it and was killed before its
// journal said so): only the rest is done. With setSync, its
// synchronous_standby_names becomes syncNames ("" clears it) before the
// check.
func Promote(ctx context.Context, dsn, syncNames string, setSync bool) error {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var inRecovery bool
	if err := conn.QueryRow(ctx, "select pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return fmt.Errorf("%s: %w", server(dsn), err)
	}
	if inRecovery {
		var ok bool
		if err := conn.QueryRow(ctx, "select pg_promote(wait => true, wait_seconds => 60)").Scan(&ok); err != nil || !ok {
			return fmt.Errorf("%s: pg_promote: %w", server(dsn), err)
		}
	}
	if setSync {
		if err := setSyncNames(ctx, conn, dsn, syncNames); err != nil {
			return err
		}
	}
	// txid_current() needs a writable transaction.
	var xid int64
	if err := conn.QueryRow(ctx, "select txid_current()").Scan(&xid); err != nil {
		return fmt.Errorf("%s: promoted but does not accept writes: %w", server(dsn), err)
	}
	return nil
}

// setSyncNames sets a primary's synchronous_standby_names and reloads
// its configuration.
func setSyncNames(ctx context.Context, conn *pgx.Conn, dsn, names string) error {
	if _, err := conn.Exec(ctx, "alter system set synchronous_standby_names = '"+strings.ReplaceAll(names, "'", "''")+"'"); err != nil {
		return fmt.Errorf("%s: set synchronous_standby_names: %w", server(dsn), err)
	}
	if _, err := conn.Exec(ctx, "select pg_reload_conf()"); err != nil {
		return fmt.Errorf("%s: reload: %w", server(dsn), err)
	}
	return nil
}

func standbys(a builtin.Args) []string {
	v, _ := a.Value("standbys")
	var out []string
	for _, e := range v.ListVal() {
		if s := strings.TrimSpace(e.String()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func runFailover(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	began := time.Now()
	old := a.Str("primary")
	// Fence the old primary when it still answers, so it cannot keep
	// taking writes beside the new one.
	fctx, fcancel := context.WithTimeout(ctx, 3*time.Second)
	if err := Fence(fctx, old); err == nil {
		c.Logf("pg.failover: fenced the old primary %s", server(old))
	} else {
		c.Logf("pg.failover: old primary %s unreachable (%v); not fenced", server(old), err)
	}
	fcancel()
	best, bestLSN := "", int64(-1)
	var errs, promoted []string
	for _, s := range standbys(a) {
		lsn, rec, err := replayLSN(ctx, s)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !rec {
			errs = append(errs, server(s)+" is not a standby")
			promoted = append(promoted, s)
			continue
		}
		if lsn > bestLSN {
			best, bestLSN = s, lsn
		}
	}
	again := false
	if best == "" && len(promoted) == 1 {
		// No standby left, and one of them is a primary already: this
		// failover ran before, promoted it and was interrupted before its
		// run recorded so (gxl operate killed mid-failover, resumed). The
		// old primary is fenced or gone (above): finishing that failover
		// is the failover; promoting another server would be a second one.
		best, again = promoted[0], true
	}
	if best == "" {
		return fmt.Errorf("no standby can be promoted: %s", strings.Join(errs, "; "))
	}
	if err := Promote(ctx, best, a.Str("sync"), a.Has("sync")); err != nil {
		return err
	}
	c.Set(a.Str("out"), value.Str(best))
	if again {
		c.Logf("pg.failover: %s was promoted by an earlier attempt of this failover; not promoted again", server(best))
		return nil
	}
	c.Logf("pg.failover: promoted %s in %s", server(best), time.Since(began).Round(time.Millisecond))
	return nil
}

func runSwitchover(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	old := a.Str("primary")
	sb := standbys(a)
	if len(sb) == 0 {
		return fmt.Errorf("pg.switchover: no standby given")
	}
	if err := Fence(ctx, old); err != nil {
		return err
	}
	// Every committed row is in WAL up to the current position: wait until
	// the standby has replayed it.
	var target int64
	if err := func() error {
		conn, err := connect(ctx, old)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.QueryRow(ctx, "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").Scan(&target)
	}(); err != nil {
		return err
	}
	if err := retry.Poll(ctx, 20*time.Millisecond, 0, server(sb[0])+" to catch up with "+server(old), func(ctx context.Context) (bool, error) {
		lsn, rec, err := replayLSN(ctx, sb[0])
		switch {
		case err != nil:
			return false, err
		case !rec:
			return false, fmt.Errorf("%s is not in recovery", server(sb[0]))
		case lsn < target:
			return false, fmt.Errorf("replayed %d of %d bytes of WAL", lsn, target)
		}
		return true, nil
	}); err != nil {
		return err
	}
	if err := Promote(ctx, sb[0], a.Str("sync"), a.Has("sync")); err != nil {
		return err
	}
	c.Set(a.Str("out"), value.Str(sb[0]))
	c.Logf("pg.switchover: %s is the primary; %s is fenced read-only until it rejoins", server(sb[0]), server(old))
	return nil
}

// pgBin finds the PostgreSQL bin folder of pg_rewind.
func pgBin(given string) (string, error) { return binFor(given, "pg_rewind") }

// asPostgres runs a PostgreSQL program, as the postgres user when root:
// started with that user's credentials (and HOME, USER, LOGNAME), not
// through runuser, whose child would outlive a killed gxl.
func asPostgres(ctx context.Context, bin, prog string, args ...string) (string, error) {
	full := append([]string{filepath.Join(bin, prog)}, args...)
	if os.Geteuid() != 0 {
		return runProgram(ctx, prog, nil, nil, full)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return "", fmt.Errorf("%s must run as the postgres user: %w", prog, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%s: the postgres user has ids %q:%q", prog, u.Uid, u.Gid)
	}
	env := []string{"HOME=" + u.HomeDir, "USER=postgres", "LOGNAME=postgres"}
	return runProgram(ctx, prog, env, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, full)
}

func runRejoin(c builtin.Ctx, a builtin.Args) error {
	// pg_rewind rewrites the data folder: never the working directory, the
	// project root, home, `/` or an ancestor of them (spec I.4).
	data, err := builtin.Dest(c, "data", a.Str("data"))
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	bin, err := pgBin(a.Str("bin"))
	if err != nil {
		return err
	}
	src, name := a.Str("source"), a.Str("name")
	port := strconv.FormatInt(a.Int("port"), 10)
	sock := a.Str("socket_dir")
	if sock == "" {
		sock = filepath.Dir(data)
	}
	// The old primary must be down for pg_rewind.
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		asPostgres(ctx, bin, "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
	}
	conn, err := connect(ctx, src)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// The promoted node shows its new timeline only after a checkpoint;
	// without it pg_rewind sees nothing to rewind.
	if _, err := conn.Exec(ctx, "checkpoint"); err != nil {
		return fmt.Errorf("%s: checkpoint: %w", server(src), err)
	}
	cfg, _ := pgx.ParseConfig(src)
	source := fmt.Sprintf("host=%s port=%d user=%s dbname=%s application_name=%s", cfg.Host, cfg.Port, cfg.User, cfg.Database, name)
	// A node an earlier rejoin made a standby, then stopped before it
	// shut down cleanly (the gxl running that rejoin was killed, its
	// server crashed), needs crash recovery first: pg_rewind runs a
	// single-user server for it, which refuses standby mode. Its signal
	// files go (pg_rewind -R writes standby.signal again), and come back
	// if pg_rewind fails: the node never starts as a primary.
	signals := unsignal(data)
	if out, err := asPostgres(ctx, bin, "pg_rewind", "-D", data, "--source-server="+source, "-R"); err != nil {
		if signals {
			os.WriteFile(filepath.Join(data, "standby.signal"), nil, 0o600)
		}
		return fmt.Errorf("pg.rejoin %s: %w", name, err)
	} else if strings.Contains(out, "no rewind required") {
		c.Logf("pg.rejoin: no rewind required")
	}
	slot := name + "_slot"
	if _, err := conn.Exec(ctx, "select pg_create_physical_replication_slot($1) where not exists (select 1 from pg_replication_slots where slot_name = $1)", slot); err != nil {
		return fmt.Errorf("%s: create slot %s: %w", server(src), slot, err)
	}
	// pg_rewind copied the source's postgresql.auto.conf (its slot name,
	// and any fencing): point the node at its own slot, writable settings
	// come back from the new primary when promoted later.
	auto := filepath.Join(data, "postgresql.auto.conf")
	f, err := os.OpenFile(auto, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "primary_slot_name = '%s'\ndefault_transaction_read_only = off\n", slot)
	f.Close()
	logPath := filepath.Join(filepath.Dir(data), filepath.Base(data)+".rejoin.log")
	if _, err := asPostgres(ctx, bin, "pg_ctl", "-D", data, "-l", logPath, "-o", "-p "+port+" -k "+sock, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg.rejoin: start %s: %w", name, err)
	}
	if err := retry.Poll(ctx, 50*time.Millisecond, 0, name+" to stream from "+server(src), func(ctx context.Context) (bool, error) {
		var state string
		err := conn.QueryRow(ctx, "select state from pg_stat_replication where application_name = $1", name).Scan(&state)
		if err == nil && state != "streaming" {
			err = fmt.Errorf("state %s", state)
		}
		return err == nil, err
	}); err != nil {
		return err
	}
	if a.Bool("sync") {
		if err := setSyncNames(ctx, conn, src, name); err != nil {
			return err
		}
		c.Logf("pg.rejoin: %s streams from %s, its synchronous standby", name, server(src))
		return nil
	}
	c.Logf("pg.rejoin: %s streams from %s", name, server(src))
	return nil
}

// unsignal removes a data folder's standby.signal and recovery.signal,
// and reports whether it had one.
func unsignal(data string) bool {
	had := false
	for _, f := range []string{"standby.signal", "recovery.signal"} {
		had = os.Remove(filepath.Join(data, f)) == nil || had
	}
	return had
}

func runExec(c builtin.Ctx, a builtin.Args) error {
	sql := a.Str("sql")
	if f := a.Str("file"); f != "" {
		if sql != "" {
			return fmt.Errorf("pg.exec: give sql or file, not both")
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(c.Dir(), f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("pg.exec: %w", err)
		}
		sql = string(b)
	}
	if strings.TrimSpace(sql) == "" {
		return fmt.Errorf("pg.exec: no SQL (give sql or file)")
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	conn, err := connect(ctx, a.Str("dsn"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// The simple protocol runs several statements as one implicit transaction.
	if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("pg.exec %s: %s", server(a.Str("dsn")), scrub(err, a.Str("dsn")))
	}
	c.Logf("pg.exec %s: ok", server(a.Str("dsn")))
	return nil
}
