package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/core/proc"
)

// RedisOptions configure StartRedis.
type RedisOptions struct {
	// Sentinels is the number of Sentinels (0 or 3 in practice).
	Sentinels int
	// DownAfter is Sentinel's down-after-milliseconds (default 1s).
	DownAfter time.Duration
	// RestartAfter, when positive, supervises the redis-servers as a
	// process supervisor (systemd's Restart=on-failure, a pod's restart
	// policy) would: a server that exits without Stop (killed, crashed)
	// is started again this long after, with its configuration. A
	// returning old master comes back empty and a master: the Sentinels
	// reconfigure it as a replica of the new master (it is in their
	// tables since the failover), which is why the delay should outlast
	// Sentinel's failover (DownAfter and a second or two).
	RestartAfter time.Duration
}

// RedisNode is one redis-server or redis-sentinel process.
type RedisNode struct {
	Name string
	Port int
	Conf string
	Log  string
	proc *proc.Proc
	args []string
	bin  string
	// mu guards proc; stopped ends the supervision (Stop); restarts
	// counts the supervisor's restarts.
	mu       sync.Mutex
	stopped  bool
	restarts int
}

// Restarts is how many times the supervisor started the node again.
func (n *RedisNode) Restarts() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.restarts
}

func (n *RedisNode) current() *proc.Proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// Addr is host:port.
func (n *RedisNode) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// Kill crashes the node (SIGKILL).
func (n *RedisNode) Kill() {
	if p := n.current(); p != nil {
		p.Kill()
	}
}

// RedisHA is a primary, a replica and optional Sentinels.
type RedisHA struct {
	Base       string
	MasterName string
	Primary    *RedisNode
	Replica    *RedisNode
	Sentinels  []*RedisNode
}

// RedisBin finds redis-server, installing the packages when missing.
func RedisBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if err := InstallDeps(); err != nil {
		return "", err
	}
	return exec.LookPath(name)
}

func redisConf(dir string, port int, replicaOf int) string {
	s := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
daemonize no
dir %s
dbfilename r%d.rdb
save ""
appendonly no
repl-diskless-sync yes
repl-diskless-sync-delay 0
`, port, dir, port)
	if replicaOf > 0 {
		s += fmt.Sprintf("replicaof 127.0.0.1 %d\n", replicaOf)
	}
	return s
}

// StartRedis starts a primary and a replica (and Sentinels) under a new
// folder in base ("" means the system temp dir).
func StartRedis(ctx context.Context, base string, opt RedisOptions) (*RedisHA, error) {
	server, err := RedisBin("redis-server")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "gxl-redis-")
	if err != nil {
		return nil, err
	}
	h := &RedisHA{Base: dir, MasterName: "gxlmaster"}
	pp, _ := proc.FreePort()
	rp, _ := proc.FreePort()
	h.Primary = &RedisNode{Name: "r1", Port: pp, bin: server}
	h.Replica = &RedisNode{Name: "r2", Port: rp, bin: server}
	if err := h.startServer(ctx, h.Primary, 0); err != nil {
		h.Stop()
		return nil, err
	}
	if err := h.startServer(ctx, h.Replica, pp); err != nil {
		h.Stop()
		return nil, err
	}
	if opt.RestartAfter > 0 {
		go h.supervise(h.Primary, opt.RestartAfter)
		go h.supervise(h.Replica, opt.RestartAfter)
	}
	if err := WaitRedis(ctx, 10*time.Second, func(ctx context.Context) error { return linkUp(ctx, h.Replica.Addr()) }); err != nil {
		h.Stop()
		return nil, fmt.Errorf("replica not linked: %w\n%s", err, h.Logs())
	}
	if opt.Sentinels > 0 {
		sbin, err := RedisBin("redis-sentinel")
		if err != nil {
			h.Stop()
			return nil, err
		}
		down := opt.DownAfter
		if down == 0 {
			down = time.Second
		}
		for i := 0; i < opt.Sentinels; i++ {
			port, _ := proc.FreePort()
			n := &RedisNode{Name: fmt.Sprintf("s%d", i+1), Port: port, bin: sbin}
			n.Conf = filepath.Join(dir, n.Name+".conf")
			n.Log = filepath.Join(dir, n.Name+".log")
			conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
				port, dir, h.MasterName, pp, h.MasterName, down.Milliseconds(), h.MasterName, h.MasterName)
			if err := os.WriteFile(n.Conf, []byte(conf), 0o644); err != nil {
				h.Stop()
				return nil, err
			}
			p, err := proc.Start("redis-sentinel "+n.Name, n.Log, exec.Command(sbin, n.Conf))
			if err != nil {
				h.Stop()
				return nil, err
			}
			n.proc = p
			h.Sentinels = append(h.Sentinels, n)
		}
		ready := func(ctx context.Context) error {
			for _, s := range h.Sentinels {
				c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
				m, err := c.Master(ctx, h.MasterName).Result()
				reps, err2 := c.Replicas(ctx, h.MasterName).Result()
				c.Close()
				if err != nil || err2 != nil {
					return fmt.Errorf("sentinel %s: %w %w", s.Name, err, err2)
				}
				if m["num-other-sentinels"] != strconv.Itoa(opt.Sentinels-1) || len(reps) == 0 {
					return fmt.Errorf("sentinel %s not converged", s.Name)
				}
			}
			return nil
		}
		if err := WaitRedis(ctx, 30*time.Second, ready); err != nil {
			h.Stop()
			return nil, fmt.Errorf("sentinels: %w\n%s", err, h.Logs())
		}
	}
	return h, nil
}

func (h *RedisHA) startServer(ctx context.Context, n *RedisNode, replicaOf int) error {
	n.Conf = filepath.Join(h.Base, n.Name+".conf")
	n.Log = filepath.Join(h.Base, n.Name+".log")
	if err := os.WriteFile(n.Conf, []byte(redisConf(h.Base, n.Port, replicaOf)), 0o644); err != nil {
		return err
	}
	p, err := proc.Start("redis-server "+n.Name, n.Log, exec.Command(n.bin, n.Conf))
	if err != nil {
		return err
	}
	n.proc = p
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return p.WaitFor(wctx, 20*time.Millisecond, func(ctx context.Context) error {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		defer c.Close()
		return c.Ping(ctx).Err()
	})
}

// supervise starts n again after delay each time its process exits
// without Stop.
func (h *RedisHA) supervise(n *RedisNode, delay time.Duration) {
	for {
		p := n.current()
		if p == nil {
			return
		}
		<-p.Done()
		time.Sleep(delay)
		n.mu.Lock()
		stopped := n.stopped
		n.mu.Unlock()
		if stopped {
			return
		}
		if n.current() != p {
			continue // started again by hand (Restart)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := h.Restart(ctx, n)
		cancel()
		n.mu.Lock()
		if err == nil {
			n.restarts++
		}
		stopped = n.stopped
		n.mu.Unlock()
		if stopped {
			// Stop came while it started: nothing outlives the stack.
			n.current().Stop(5 * time.Second)
			return
		}
		if err != nil {
			time.Sleep(delay) // its port taken, say: try again later
		}
	}
}

// Restart starts a killed node again with its original configuration
// (a restarted primary comes back as an empty primary: the split-brain
// hazard that fencing must handle).
func (h *RedisHA) Restart(ctx context.Context, n *RedisNode) error {
	p, err := proc.Start("redis-server "+n.Name, n.Log, exec.Command(n.bin, n.Conf))
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return p.WaitFor(wctx, 20*time.Millisecond, func(ctx context.Context) error {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		defer c.Close()
		return c.Ping(ctx).Err()
	})
}

func linkUp(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("link down")
	}
	return nil
}

// WaitRedis polls f until it succeeds or the timeout passes.
func WaitRedis(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops every process.
func (h *RedisHA) Stop() {
	for _, n := range append([]*RedisNode{h.Primary, h.Replica}, h.Sentinels...) {
		if n == nil {
			continue
		}
		n.mu.Lock()
		n.stopped = true
		n.mu.Unlock()
		if p := n.current(); p != nil {
			p.Stop(5 * time.Second)
		}
	}
}

// Cleanup stops and removes the folder.
func (h *RedisHA) Cleanup() {
	h.Stop()
	os.RemoveAll(h.Base)
}

// Logs returns the tail of each log.
func (h *RedisHA) Logs() string {
	var b strings.Builder
	for _, n := range append([]*RedisNode{h.Primary, h.Replica}, h.Sentinels...) {
		if n == nil {
			continue
		}
		data, _ := os.ReadFile(n.Log)
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", n.Name, n.Log, data)
	}
	return b.String()
}

// SentinelAddrs lists the Sentinels' addresses.
func (h *RedisHA) SentinelAddrs() []string {
	var out []string
	for _, s := range h.Sentinels {
		out = append(out, s.Addr())
	}
	return out
}

// Env describes the setup for `gxl dev` and the demo.
func (h *RedisHA) Env() map[string]string {
	return map[string]string{
		"REDIS_PRIMARY":      h.Primary.Addr(),
		"REDIS_REPLICA":      h.Replica.Addr(),
		"REDIS_PRIMARY_PORT": strconv.Itoa(h.Primary.Port),
		"REDIS_REPLICA_PORT": strconv.Itoa(h.Replica.Port),
		"REDIS_SENTINELS":    strings.Join(h.SentinelAddrs(), ","),
		"REDIS_MASTER_NAME":  h.MasterName,
	}
}

// PID is the process (group) id of the node, 0 when not running.
func (n *RedisNode) PID() int {
	p := n.current()
	if p == nil {
		return 0
	}
	return p.PID()
}
