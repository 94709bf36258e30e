// Package devstack starts real servers for tests, the demo and `gxl dev`:
// a PostgreSQL primary with a streaming standby, a Redis primary with a
// replica and three Sentinels, and a Kubernetes control plane (etcd,
// kube-apiserver, controller-manager, scheduler, kwok). Servers run as
// child processes on free loopback ports in temporary folders, are stopped
// by PID and waited for; their logs are kept for failure messages.
package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gxl-dev/gxl/core/proc"
)

// PGOptions configure StartPG.
type PGOptions struct {
	// Sync makes commits wait for the standby (synchronous_commit = on,
	// synchronous_standby_names = the standby): no committed row can be
	// lost in a failover.
	Sync bool
}

// PGNode is one PostgreSQL server.
type PGNode struct {
	Name    string // application_name, also used for its slot name
	Port    int
	DataDir string
	Log     string
	proc    *proc.Proc
}

// DSN is the connection string of the node.
func (n *PGNode) DSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", n.Port)
}

// PGCluster is a primary and a streaming standby.
type PGCluster struct {
	Bin   string // PostgreSQL bin folder
	Base  string // folder holding data dirs, sockets and logs
	Nodes []*PGNode
	asPG  []string // runuser prefix when running as root
}

// PGBinDir finds the newest installed PostgreSQL bin folder, installing
// the packages when none is present.
func PGBinDir() (string, error) {
	find := func() string {
		ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
		sort.Slice(ms, func(i, j int) bool { return versionOf(ms[i]) < versionOf(ms[j]) })
		if len(ms) == 0 {
			return ""
		}
		return filepath.Dir(ms[len(ms)-1])
	}
	if d := find(); d != "" {
		return d, nil
	}
	if err := InstallDeps(); err != nil {
		return "", err
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", fmt.Errorf("PostgreSQL is not installed and scripts/install-deps.sh did not install it")
}

func versionOf(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// InstallDeps runs scripts/install-deps.sh from the repository.
func InstallDeps() error {
	script, err := repoFile("scripts/install-deps.sh")
	if err != nil {
		return err
	}
	out, err := exec.Command("bash", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("install-deps.sh: %w\n%s", err, out)
	}
	return nil
}

// repoFile finds a file of the repository from the working directory up.
func repoFile(rel string) (string, error) {
	d, _ := os.Getwd()
	for {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%s not found above the working directory", rel)
		}
		d = parent
	}
}

// pgCmd builds a command that runs as the postgres user when we are root
// (initdb and postgres refuse to run as root).
func (c *PGCluster) pgCmd(name string, args ...string) *exec.Cmd {
	full := append(append([]string{}, c.asPG...), filepath.Join(c.Bin, name))
	full = append(full, args...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	return cmd
}

func (c *PGCluster) run(name string, args ...string) error {
	out, err := c.pgCmd(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// StartPG creates and starts a primary and a streaming standby under a new
// folder in base (which must be traversable by the postgres user; "" means
// /tmp).
func StartPG(ctx context.Context, base string, opt PGOptions) (*PGCluster, error) {
	bin, err := PGBinDir()
	if err != nil {
		return nil, err
	}
	if base == "" {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "gxl-pg-")
	if err != nil {
		return nil, err
	}
	c := &PGCluster{Bin: bin, Base: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.asPG = []string{"runuser", "-u", "postgres", "--"}
	}
	os.Chmod(dir, 0o700)
	p1, _ := proc.FreePort()
	p2, _ := proc.FreePort()
	n1 := &PGNode{Name: "n1", Port: p1, DataDir: filepath.Join(dir, "n1"), Log: filepath.Join(dir, "n1.log")}
	n2 := &PGNode{Name: "n2", Port: p2, DataDir: filepath.Join(dir, "n2"), Log: filepath.Join(dir, "n2.log")}
	c.Nodes = []*PGNode{n1, n2}
	if err := c.run("initdb", "-D", n1.DataDir, "-U", "postgres", "--auth=trust", "--no-instructions", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_log_hints = on
full_page_writes = on
fsync = off
shared_buffers = 32MB
`, dir)
	f, err := os.OpenFile(filepath.Join(n1.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	f.WriteString(conf)
	f.Close()
	if err := c.StartNode(ctx, n1); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p1), "-U", "postgres", "-D", n2.DataDir,
		"-R", "-X", "stream", "-C", "-S", "n2_slot", "-c", "fast", "-d", "application_name=n2"); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.StartNode(ctx, n2); err != nil {
		c.Stop()
		return nil, err
	}
	if opt.Sync {
		if err := Exec(ctx, n1.DSN(), "alter system set synchronous_standby_names = 'n2'", "alter system set synchronous_commit = 'on'", "select pg_reload_conf()"); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitStreaming(ctx, n1, "n2"); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StartNode starts a node's postgres as a child process and waits until it
// accepts connections.
func (c *PGCluster) StartNode(ctx context.Context, n *PGNode) error {
	cmd := c.pgCmd("postgres", "-D", n.DataDir, "-p", strconv.Itoa(n.Port), "-k", c.Base)
	p, err := proc.Start("postgres "+n.Name, n.Log, cmd)
	if err != nil {
		return err
	}
	n.proc = p
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return p.WaitFor(wctx, 50*time.Millisecond, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, n.DSN())
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
}

// Kill crashes a node (SIGKILL to its process group) — the failover drill.
func (n *PGNode) Kill() {
	if n.proc != nil {
		n.proc.Kill()
	}
}

// Running reports whether the node's server process is alive.
func (n *PGNode) Running() bool { return n.proc != nil && !n.proc.Exited() }

// StopNode stops a node with a fast shutdown (SIGINT), then SIGKILL.
func (c *PGCluster) StopNode(n *PGNode) {
	if n.proc == nil || n.proc.Exited() {
		return
	}
	n.proc.Signal(2) // SIGINT: fast shutdown
	select {
	case <-n.proc.Done():
	case <-time.After(10 * time.Second):
		n.proc.Kill()
	}
}

// Stop stops every node and removes nothing (logs stay for diagnosis);
// Cleanup removes the folder.
func (c *PGCluster) Stop() {
	for _, n := range c.Nodes {
		c.StopNode(n)
	}
}

// Cleanup stops the servers and removes the folder.
func (c *PGCluster) Cleanup() {
	c.Stop()
	os.RemoveAll(c.Base)
}

// StopDataDir stops a server started outside the harness (pg_ctl start by
// pg.rejoin) with an immediate shutdown.
func (c *PGCluster) StopDataDir(dataDir string) {
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err != nil {
		return
	}
	c.run("pg_ctl", "-D", dataDir, "-m", "immediate", "-w", "stop")
}

// Logs returns the tail of every node's log (for failure messages).
func (c *PGCluster) Logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		data, _ := os.ReadFile(n.Log)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", n.Name, n.Log, data)
	}
	return b.String()
}

// WaitStreaming waits until primary reports the named standby streaming.
func (c *PGCluster) WaitStreaming(ctx context.Context, primary *PGNode, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		err := QueryRow(ctx, primary.DSN(), "select state from pg_stat_replication where application_name = $1", []any{name}, &state)
		if err == nil && state == "streaming" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("standby %s not streaming from %s (state %q, %w)\n%s", name, primary.Name, state, err, c.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Exec runs statements on a server.
func Exec(ctx context.Context, dsn string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// QueryRow runs a query and scans one row.
func QueryRow(ctx context.Context, dsn, q string, args []any, dest ...any) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, q, args...).Scan(dest...)
}

// Env describes the cluster for `gxl dev` and the demo.
func (c *PGCluster) Env() map[string]string {
	return map[string]string{
		"PG_PRIMARY_DSN":  c.Nodes[0].DSN(),
		"PG_STANDBY_DSN":  c.Nodes[1].DSN(),
		"PG_PRIMARY_DATA": c.Nodes[0].DataDir,
		"PG_PRIMARY_PORT": strconv.Itoa(c.Nodes[0].Port),
		"PG_STANDBY_DATA": c.Nodes[1].DataDir,
		"PG_STANDBY_PORT": strconv.Itoa(c.Nodes[1].Port),
		"PG_BIN":          c.Bin,
		"PG_SOCKET_DIR":   c.Base,
	}
}

// PID is the process (group) id of the node's server, 0 when not running.
func (n *PGNode) PID() int {
	if n.proc == nil {
		return 0
	}
	return n.proc.PID()
}
