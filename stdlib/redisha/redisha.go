// Package redisha implements the redis.* built-ins: replication status,
// synchronisation waits, failover (through Sentinel or directly),
// coordinated switchover and fencing, with github.com/redis/go-redis/v9.
package redisha

import (
	"context"
	"errors"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func timeoutParam(d string) builtin.Param {
	return builtin.Param{Name: "timeout", Type: types.Duration, Default: value.Str(d), Doc: "give up after this long (0: no limit)"}
}

// quietLogger drops go-redis's internal log lines (connection retries):
// failures reach the user as errors of the step instead.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...interface{}) {}

func init() { redis.SetLogger(quietLogger{}) }

// Register adds the redis.* built-ins.
func Register(r *builtin.Registry) {
	addr := builtin.Param{Name: "addr", Type: types.String, Required: true, Positional: true, Doc: "host:port of the server"}
	pass := builtin.Param{Name: "password", Type: types.String, Doc: "AUTH password (masked in logs)"}
	r.Add(&builtin.Builtin{
		Name: "redis.down", Doc: "Decide whether a server is down: true only when every probe (PING) failed for the whole window.",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: append(builtin.DownParams(addr), pass), SetsVars: builtin.OutVar("DOWN"),
		Run: func(c builtin.Ctx, a builtin.Args) error {
			return builtin.RunDown(c, a, "redis.down", a.Str("addr"), func(ctx context.Context) error {
				return probes.Probe(ctx, a.Str("addr")+"\x00"+a.Str("password"))
			})
		},
	})
	r.Add(&builtin.Builtin{
		Name: "redis.status", Doc: "Read a server's role, replication offsets and link state into a variable.",
		Where: builtin.InBlock, Effect: builtin.Reads,
		Params:   []builtin.Param{addr, pass, {Name: "out", Type: types.String, Default: value.Str("REDIS_STATUS"), Doc: "variable to set"}, timeoutParam("10s")},
		SetsVars: builtin.OutVar("REDIS_STATUS"),
		Run:      runStatus,
	})
	r.Add(&builtin.Builtin{
		Name: "redis.wait_sync", Doc: "Wait until replicas have acknowledged everything written to the primary (WAIT).",
		Where: builtin.InBlock, Effect: builtin.Reads, Params: []builtin.Param{addr, pass,
			{Name: "replicas", Type: types.Int, Default: value.Int(1), Doc: "replicas that must acknowledge"}, timeoutParam("10s")},
		Run: runWaitSync,
	})
	ha := []builtin.Param{
		{Name: "primary", Type: types.String, Required: true, Doc: "host:port of the (old) primary"},
		{Name: "replicas", Type: types.List, Doc: "host:port of the replicas (direct mode)"},
		{Name: "sentinels", Type: types.List, Doc: "host:port of the Sentinels (Sentinel mode)"},
		{Name: "master_name", Type: types.String, Default: value.Str("mymaster"), Doc: "name monitored by the Sentinels"},
		pass,
		{Name: "out", Type: types.String, Default: value.Str("REDIS_PRIMARY"), Doc: "variable set to the new primary's host:port"},
		timeoutParam("60s"),
	}
	sets := builtin.OutVar("REDIS_PRIMARY")
	failoverSets := func(a map[string]string) []string {
		if eo := a["epoch_out"]; eo != "" {
			return append(sets(a), eo)
		}
		return sets(a)
	}
	r.Add(&builtin.Builtin{
		Name: "redis.failover", Doc: "Fail over: with sentinels, ask a Sentinel to carry it out (SENTINEL FAILOVER, asked again if it aborts; their own failover is waited for when one is going on or about to start) and return once a majority of the Sentinels name the new master at a newer config epoch; else REPLICAOF NO ONE on the best replica and re-point the others. The old primary is fenced when reachable, unless it holds newer data (an error then).",
		Where: builtin.InBlock, Effect: builtin.Changes, SetsVars: failoverSets, Run: runFailover,
		Params: append(append([]builtin.Param(nil), ha...), builtin.Param{Name: "epoch_out", Type: types.String, Doc: "variable set to the Sentinels' config epoch of the new master (Sentinel mode; 0 in direct mode)"}),
	})
	r.Add(&builtin.Builtin{
		Name: "redis.switchover", Doc: "Planned switchover with the coordinated FAILOVER command (writes paused until the replica caught up).",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: ha, SetsVars: sets, Run: runSwitchover,
	})
	r.Add(&builtin.Builtin{
		Name: "redis.fence", Doc: "Stop a server from taking writes: make it a replica of the current primary.",
		Where: builtin.InBlock, Effect: builtin.Changes, Params: []builtin.Param{addr, pass,
			{Name: "primary", Type: types.String, Required: true, Doc: "host:port of the current primary"}, timeoutParam("10s")},
		Run: runFence,
	})
	registerBackup(r, pass)
}

func client(addr, password string) *redis.Client {
	// One dial attempt: go-redis would retry a refused dial 5 times 100 ms apart,
	// and failover code probes and retries on its own clock.
	return redis.NewClient(&redis.Options{Addr: addr, Password: password, DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, MaxRetries: -1, DialerRetries: 1})
}

// probes are the connections redis.down keeps, by address and password:
// a client of one connection, PING on it while it answers.
var probes = &builtin.ProbeConns[*redis.Client]{
	Dial: func(_ context.Context, key string) (*redis.Client, error) {
		addr, password, _ := strings.Cut(key, "\x00")
		cl := client(addr, password)
		return cl, nil
	},
	Check: func(ctx context.Context, cl *redis.Client) error { return cl.Ping(ctx).Err() },
	Close: func(cl *redis.Client) { cl.Close() },
}

// Info is the replication section of INFO.
type Info map[string]string

// ReadInfo reads INFO replication.
func ReadInfo(ctx context.Context, addr, password string) (Info, error) {
	c := client(addr, password)
	defer c.Close()
	return readInfo(ctx, c, addr)
}

// readInfo reads INFO replication through c.
func readInfo(ctx context.Context, c *redis.Client, addr string) (Info, error) {
	s, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	info := Info{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}

func (i Info) offset() int64 {
	n, _ := strconv.ParseInt(i["master_repl_offset"], 10, 64)
	return n
}

func runStatus(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	// Through the connection redis.down keeps: the example system's
	// probe reads the status of the master it has just pinged.
	var info Info
	err := probes.Do(ctx, a.Str("addr")+"\x00"+a.Str("password"), func(ctx context.Context, cl *redis.Client) (err error) {
		info, err = readInfo(ctx, cl, a.Str("addr"))
		return err
	})
	if err != nil {
		return err
	}
	o := value.NewObject()
	o.Set("role", value.Str(info["role"]))
	o.Set("addr", value.Str(a.Str("addr")))
	if host, port, err := net.SplitHostPort(a.Str("addr")); err == nil {
		o.Set("host", value.Str(host))
		o.Set("port", value.Int(atoi(port)))
	}
	o.Set("offset", value.Int(info.offset()))
	o.Set("connected_replicas", value.Int(atoi(info["connected_slaves"])))
	if info["role"] == "slave" {
		o.Set("role", value.Str("replica"))
		o.Set("link", value.Str(info["master_link_status"]))
		o.Set("master", value.Str(info["master_host"]+":"+info["master_port"]))
	}
	c.Set(a.Str("out"), value.Obj(o))
	c.Logf("redis.status %s: role=%s offset=%d", a.Str("addr"), info["role"], info.offset())
	return nil
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func runWaitSync(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	cl := client(a.Str("addr"), a.Str("password"))
	defer cl.Close()
	want := a.Int("replicas")
	d := a.Duration("timeout")
	n, err := cl.Wait(ctx, int(want), d).Result()
	if err != nil {
		return fmt.Errorf("redis %s: WAIT: %w", a.Str("addr"), err)
	}
	if n < want {
		return fmt.Errorf("redis %s: %d of %d replicas acknowledged within %s", a.Str("addr"), n, want, d)
	}
	return nil
}

// Fence makes addr a replica of primary so it cannot keep taking writes.
func Fence(ctx context.Context, addr, password, primary string) error {
	host, port, ok := strings.Cut(primary, ":")
	if !ok {
		return fmt.Errorf("primary %q is not host:port", primary)
	}
	c := client(addr, password)
	defer c.Close()
	if err := c.SlaveOf(ctx, host, port).Err(); err != nil {
		return fmt.Errorf("redis %s: REPLICAOF %s: %w", addr, primary, err)
	}
	return nil
}

func runFence(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	if err := Fence(ctx, a.Str("addr"), a.Str("password"), a.Str("primary")); err != nil {
		return err
	}
	c.Logf("redis.fence: %s now replicates %s", a.Str("addr"), a.Str("primary"))
	return nil
}

func list(a builtin.Args, name string) []string {
	v, _ := a.Value(name)
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
	old, pw := a.Str("primary"), a.Str("password")
	var newPrimary string
	var epoch int64
	if sent := list(a, "sentinels"); len(sent) > 0 {
		np, e, err := sentinelFailover(ctx, c, sent, a.Str("master_name"), old, pw)
		if err != nil {
			return err
		}
		newPrimary, epoch = np, e
	} else {
		np, err := directFailover(ctx, c, list(a, "replicas"), pw)
		if err != nil {
			return err
		}
		newPrimary = np
	}
	// The new primary must accept writes.
	if err := waitWritable(ctx, newPrimary, pw); err != nil {
		return err
	}
	// Fence the old primary if it answers (alive, or restarted empty) —
	// never when it holds data the new one lacks.
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	err := fenceOld(fctx, old, newPrimary, pw)
	fcancel()
	switch {
	case errors.Is(err, errNewerData):
		return err
	case err == nil:
		c.Logf("redis.failover: fenced the old primary %s (now a replica of %s)", old, newPrimary)
	}
	c.Set(a.Str("out"), value.Str(newPrimary))
	if eo := a.Str("epoch_out"); eo != "" {
		c.Set(eo, value.Int(epoch))
	}
	c.Logf("redis.failover: %s is the primary after %s", newPrimary, time.Since(began).Round(time.Millisecond))
	return nil
}

// errNewerData: the old primary holds data the new one lacks.
var errNewerData = errors.New("the old primary holds newer data")

// fenceOld makes old a replica of the new primary np, when old answers —
// unless old is a master holding data np lacks: its replication offset
// beyond np's, on a history np was not promoted from (np's
// master_replid2 is the history it was promoted from; what old took after
// that promotion no replica acknowledged, as np no longer replicated it).
// Making it a replica would resynchronise it from np and drop that data:
// errNewerData instead, for a person to decide.
func fenceOld(ctx context.Context, old, np, pw string) error {
	oi, err := ReadInfo(ctx, old, pw)
	if err != nil {
		return err // down: nothing to fence
	}
	ni, err := ReadInfo(ctx, np, pw)
	if err != nil {
		return err
	}
	if err := mayFence(old, oi, np, ni); err != nil {
		return err
	}
	return Fence(ctx, old, pw, np)
}

// mayFence is fenceOld's rule on the two servers' INFO replication.
func mayFence(old string, oi Info, np string, ni Info) error {
	if oi["role"] != "master" || oi.offset() <= ni.offset() || oi["master_replid"] == ni["master_replid2"] || oi["master_replid"] == ni["master_replid"] {
		return nil
	}
	return fmt.Errorf("redis.failover: %w: %s is a master at replication offset %d (history %s), %s only at %d (history %s, promoted from %s): refusing to make %s a replica of %s; compare the two and fence by hand (redis.fence)",
		errNewerData, old, oi.offset(), oi["master_replid"], np, ni.offset(), ni["master_replid"], ni["master_replid2"], old, np)
}

// sameAddr reports whether two host:port addresses name the same server:
// the Sentinels answer with an IP (127.0.0.1:6379) where a workflow may
// name the server by host (localhost:6379, a Service's name). Comparing
// the text took a dead master for the new one.
func sameAddr(ctx context.Context, a, b string) bool {
	if a == b {
		return true
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb {
		return false
	}
	ipsA, err1 := net.DefaultResolver.LookupHost(ctx, ha)
	ipsB, err2 := net.DefaultResolver.LookupHost(ctx, hb)
	if err1 != nil || err2 != nil {
		return false
	}
	for _, x := range ipsA {
		for _, y := range ipsB {
			if net.ParseIP(x).Equal(net.ParseIP(y)) {
				return true
			}
		}
	}
	return false
}

// directFailover promotes the replica with the highest offset and points
// the others at it.
func directFailover(ctx context.Context, c builtin.Ctx, replicas []string, pw string) (string, error) {
	best, bestOff := "", int64(-1)
	var errs []string
	for _, r := range replicas {
		info, err := ReadInfo(ctx, r, pw)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		off := atoi(info["slave_repl_offset"])
		if info["role"] != "slave" {
			off = info.offset()
		}
		if off > bestOff {
			best, bestOff = r, off
		}
	}
	if best == "" {
		return "", fmt.Errorf("no replica can be promoted: %s", strings.Join(errs, "; "))
	}
	cl := client(best, pw)
	defer cl.Close()
	if err := cl.SlaveOf(ctx, "NO", "ONE").Err(); err != nil {
		return "", fmt.Errorf("redis %s: REPLICAOF NO ONE: %w", best, err)
	}
	for _, r := range replicas {
		if r != best {
			if err := Fence(ctx, r, pw, best); err != nil {
				c.Logf("redis.failover: could not re-point %s: %v", r, err)
			}
		}
	}
	return best, nil
}

func waitWritable(ctx context.Context, addr, pw string) error {
	cl := client(addr, pw)
	defer cl.Close()
	return retry.Poll(ctx, 20*time.Millisecond, 0, "redis "+addr+" to accept writes", func(ctx context.Context) (bool, error) {
		err := cl.Set(ctx, "gxl:failover:probe", time.Now().UnixNano(), time.Minute).Err()
		return err == nil, err
	})
}

func runSwitchover(c builtin.Ctx, a builtin.Args) error {
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	old, pw := a.Str("primary"), a.Str("password")
	reps := list(a, "replicas")
	if len(reps) == 0 {
		return fmt.Errorf("redis.switchover: give the replica to promote in replicas")
	}
	host, port, _ := strings.Cut(reps[0], ":")
	cl := client(old, pw)
	defer cl.Close()
	// FAILOVER pauses writes on the primary, waits for the replica's
	// offset and swaps roles: nothing acknowledged is lost.
	if err := cl.Do(ctx, "FAILOVER", "TO", host, port, "TIMEOUT", a.Duration("timeout").Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis %s: FAILOVER TO %s: %w", old, reps[0], err)
	}
	if err := retry.Poll(ctx, 20*time.Millisecond, 0, reps[0]+" to become primary", func(ctx context.Context) (bool, error) {
		info, err := ReadInfo(ctx, reps[0], pw)
		if err == nil && info["role"] != "master" {
			err = fmt.Errorf("role %s", info["role"])
		}
		return err == nil, err
	}); err != nil {
		return err
	}
	if err := waitWritable(ctx, reps[0], pw); err != nil {
		return err
	}
	c.Set(a.Str("out"), value.Str(reps[0]))
	c.Logf("redis.switchover: %s is the primary; %s replicates it", reps[0], old)
	return nil
}
