package redisha_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/stdlib/redisha"
)

const program = `
mod envs { env default { } }
mod main {
    flow status {
        redis.status(addr: "${REDIS_PRIMARY:}", out: "P");
        gx.assert(value: "${P.role}", expect: "master");
        redis.status(addr: "${REDIS_REPLICA:}", out: "R");
        gx.assert(value: "${R.role}", expect: "replica");
        gx.assert(value: "${R.link}", expect: "up");
        redis.wait_sync(addr: "${REDIS_PRIMARY:}", replicas: 1, timeout: "5s");
        redis.down(addr: "${REDIS_PRIMARY:}", for: "1s", out: "D");
        gx.assert(value: "${D}", expect: "false");
    }
    flow down {
        redis.down(addr: "${REDIS_PRIMARY:}", for: "1s", interval: "200ms", out: "D");
        gx.assert(value: "${D}", expect: "true");
    }
    flow direct {
        redis.failover(primary: "${REDIS_PRIMARY:}", replicas: ["${REDIS_REPLICA:}"], out: "NEW");
        gx.assert(value: "${NEW}", expect: "${REDIS_REPLICA:}");
    }
    flow sentinel {
        redis.failover(primary: "${REDIS_PRIMARY:}", sentinels: ["${S1:}", "${S2:}", "${S3:}"], master_name: "${REDIS_MASTER_NAME:}", out: "NEW");
        gx.assert(value: "${NEW}", expect: "${REDIS_REPLICA:}");
    }
    flow sentinel_by_host {
        redis.failover(primary: "localhost:${REDIS_PRIMARY_PORT:}", sentinels: ["${S1:}", "${S2:}", "${S3:}"], master_name: "${REDIS_MASTER_NAME:}", out: "NEW", timeout: "30s");
        gx.assert(value: "${NEW}", expect: "${REDIS_REPLICA:}");
    }
    flow fence {
        redis.fence(addr: "${REDIS_PRIMARY:}", primary: "${REDIS_REPLICA:}");
    }
    flow switchover {
        redis.switchover(primary: "${REDIS_PRIMARY:}", replicas: ["${REDIS_REPLICA:}"], out: "NEW");
        gx.assert(value: "${NEW}", expect: "${REDIS_REPLICA:}");
    }
}
`

// writeAcked writes keys and counts those acknowledged by WAIT 1.
func writeAcked(t *testing.T, addr string, n int) []string {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	var acked []string
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%d", i)
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 || i == n-1 {
			got, err := c.Wait(ctx, 1, 2*time.Second).Result()
			if err != nil || got < 1 {
				t.Fatalf("WAIT 1: %d %v", got, err)
			}
			for j := len(acked); j <= i; j++ {
				acked = append(acked, fmt.Sprintf("k%d", j))
			}
		}
	}
	return acked
}

func countPresent(t *testing.T, addr string, keys []string) int {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.Exists(context.Background(), keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func writeFails(addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	err := c.Set(context.Background(), "after-fence", 1, 0).Err()
	return err != nil && strings.Contains(err.Error(), "READONLY")
}

func TestDirectFailover(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{})
	if err != nil {
		t.Fatalf("start Redis: %v", err)
	}
	defer h.Cleanup()
	vars := h.Env()
	if out, err := gxltest.Run(t, program, "status", vars); err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	acked := writeAcked(t, h.Primary.Addr(), 1000)
	killed := time.Now()
	h.Primary.Kill()
	out, err := gxltest.Run(t, program, "direct", vars)
	took := time.Since(killed)
	if err != nil {
		t.Fatalf("direct failover: %v\n%s\n%s", err, out, h.Logs())
	}
	present := countPresent(t, h.Replica.Addr(), acked)
	if present != len(acked) {
		t.Fatalf("%d of %d acknowledged writes survived", present, len(acked))
	}
	if out, err := gxltest.Run(t, program, "down", vars); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	// The killed primary comes back empty and as a master: fencing turns it
	// into a replica so it cannot take writes.
	if err := h.Restart(ctx, h.Primary); err != nil {
		t.Fatal(err)
	}
	if out, err := gxltest.Run(t, program, "fence", vars); err != nil {
		t.Fatalf("fence: %v\n%s", err, out)
	}
	if !writeFails(h.Primary.Addr()) {
		t.Fatal("the old primary still accepts writes after fencing")
	}
	t.Logf("direct: acked=%d present=%d kill->writable=%s", len(acked), present, took.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "redis direct failover: acked=%d present=%d kill->writable=%s\n", len(acked), present, took.Round(time.Millisecond))
}

func TestSentinelFailover(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3})
	if err != nil {
		t.Fatalf("start Redis with Sentinels: %v", err)
	}
	defer h.Cleanup()
	vars := h.Env()
	for i, s := range h.SentinelAddrs() {
		vars[fmt.Sprintf("S%d", i+1)] = s
	}
	acked := writeAcked(t, h.Primary.Addr(), 1000)
	killed := time.Now()
	h.Primary.Kill()
	// Sentinel's own time: until it reports the new master.
	sc := redis.NewSentinelClient(&redis.Options{Addr: h.SentinelAddrs()[0]})
	var sentinelTook time.Duration
	for {
		addr, err := sc.GetMasterAddrByName(ctx, h.MasterName).Result()
		if err == nil && addr[0]+":"+addr[1] == h.Replica.Addr() {
			sentinelTook = time.Since(killed)
			break
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("Sentinel never switched:\n%s", h.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	sc.Close()
	out, err := gxltest.Run(t, program, "sentinel", vars)
	took := time.Since(killed)
	if err != nil {
		t.Fatalf("sentinel failover: %v\n%s\n%s", err, out, h.Logs())
	}
	present := countPresent(t, h.Replica.Addr(), acked)
	if present != len(acked) {
		t.Fatalf("%d of %d acknowledged writes survived", present, len(acked))
	}
	if err := h.Restart(ctx, h.Primary); err != nil {
		t.Fatal(err)
	}
	if out, err := gxltest.Run(t, program, "fence", vars); err != nil {
		t.Fatalf("fence: %v\n%s", err, out)
	}
	if !writeFails(h.Primary.Addr()) {
		t.Fatal("the old primary still accepts writes after fencing")
	}
	t.Logf("sentinel: acked=%d present=%d sentinel-switch=%s kill->writable(gxl)=%s", len(acked), present, sentinelTook.Round(time.Millisecond), took.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "redis sentinel failover: acked=%d present=%d sentinel=%s gxl=%s\n", len(acked), present, sentinelTook.Round(time.Millisecond), took.Round(time.Millisecond))
}

func TestSwitchover(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{})
	if err != nil {
		t.Fatalf("start Redis: %v", err)
	}
	defer h.Cleanup()
	acked := writeAcked(t, h.Primary.Addr(), 500)
	if out, err := gxltest.Run(t, program, "switchover", h.Env()); err != nil {
		t.Fatalf("switchover: %v\n%s\n%s", err, out, h.Logs())
	}
	if n := countPresent(t, h.Replica.Addr(), acked); n != len(acked) {
		t.Fatalf("%d of %d writes after switchover", n, len(acked))
	}
	if !writeFails(h.Primary.Addr()) {
		t.Fatal("the old primary still accepts writes after switchover")
	}
}

// TestSentinelFailoverByHostName: a failover started before the Sentinels
// elected a new master, with the old master named by host
// (localhost:port, as the example's Service names it) while the Sentinels
// answer with its IP, waits for their election and returns the replica,
// not the dead master.
func TestSentinelFailoverByHostName(t *testing.T) {
	h, vars := withSentinels(t, 2*time.Second)
	h.Primary.Kill()
	if out, err := gxltest.Run(t, program, "sentinel_by_host", vars); err != nil {
		t.Fatalf("failover before the Sentinels' election: %v\n%s\n%s", err, out, h.Logs())
	}
}

// configEpoch waits until every Sentinel names addr the master with one
// config epoch, and returns it.
func configEpoch(t *testing.T, h *devstack.RedisHA, addr string) int {
	t.Helper()
	ctx := context.Background()
	var epoch string
	err := devstack.WaitRedis(ctx, 20*time.Second, func(ctx context.Context) error {
		seen := map[string]bool{}
		for _, s := range h.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
			m, err := c.Master(ctx, h.MasterName).Result()
			c.Close()
			if err != nil {
				return err
			}
			if m["ip"]+":"+m["port"] != addr {
				return fmt.Errorf("sentinel %s names %s:%s", s.Name, m["ip"], m["port"])
			}
			seen[m["config-epoch"]] = true
			epoch = m["config-epoch"]
		}
		if len(seen) != 1 {
			return fmt.Errorf("the Sentinels disagree on the config epoch: %v", seen)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, h.Logs())
	}
	var n int
	fmt.Sscan(epoch, &n)
	return n
}

// TestSentinelFailoverDecidedByGxl: the Sentinels' down-after is long (the
// backstop for when no operator runs); gxl's failover asks a Sentinel to
// carry it out at once (SENTINEL FAILOVER) instead of waiting for their
// down-after, the replica is the writable master within seconds, every
// acknowledged write is on it, and there was exactly one failover: one
// SENTINEL FAILOVER carried out, the config epoch one higher on every
// Sentinel. With a resumed run, the SENTINEL FAILOVER of the killed run
// already sent (to another Sentinel than the one gxl asks first), no
// second failover is started. With Sentinels about to take the master for
// down on their own (down-after 1 s, within the margin), gxl leaves the
// failover to them. A master that still answers is failed over on gxl's
// SENTINEL FAILOVER (the Sentinels would never do it).
func TestSentinelFailoverDecidedByGxl(t *testing.T) {
	for _, tc := range []struct {
		name       string
		downAfter  time.Duration
		alive      bool // the old master is not killed
		sentBefore bool // a SENTINEL FAILOVER sent before gxl's (the killed run's)
		gxlAsks    int  // SENTINEL FAILOVER carried out by gxl
		within     time.Duration
	}{
		{name: "gxl asks", downAfter: 30 * time.Second, gxlAsks: 1, within: 10 * time.Second},
		{name: "resumed after one was sent", downAfter: 30 * time.Second, sentBefore: true, gxlAsks: 0, within: 10 * time.Second},
		{name: "the Sentinels about to fail over", downAfter: time.Second, gxlAsks: 0, within: 20 * time.Second},
		{name: "the old master alive", downAfter: 30 * time.Second, alive: true, gxlAsks: 1, within: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h, vars := withSentinels(t, tc.downAfter)
			epoch := configEpoch(t, h, h.Primary.Addr())
			acked := writeAcked(t, h.Primary.Addr(), 500)
			if !tc.alive {
				h.Primary.Kill()
			}
			killed := time.Now()
			before := 0
			if tc.sentBefore {
				sc := redis.NewSentinelClient(&redis.Options{Addr: h.SentinelAddrs()[1]})
				err := sc.Failover(ctx, h.MasterName).Err()
				sc.Close()
				if err != nil {
					t.Fatalf("SENTINEL FAILOVER: %v", err)
				}
				before = 1
			}
			out, err := gxltest.Run(t, program, "sentinel", vars)
			took := time.Since(killed)
			if err != nil {
				t.Fatalf("sentinel failover: %v\n%s\n%s", err, out, h.Logs())
			}
			if took > tc.within {
				t.Errorf("the failover took %s after the kill, want within %s (the Sentinels' down-after is %s)\n%s", took, tc.within, tc.downAfter, out)
			}
			if n := countPresent(t, h.Replica.Addr(), acked); n != len(acked) {
				t.Errorf("%d of %d acknowledged writes on the new master", n, len(acked))
			}
			if e := configEpoch(t, h, h.Replica.Addr()); e != epoch+1 {
				t.Errorf("config epoch %d → %d, want one failover\n%s", epoch, e, h.Logs())
			}
			if n := sentinelLogCount(t, h, "Executing user requested FAILOVER") - before; n != tc.gxlAsks {
				t.Errorf("gxl had %d SENTINEL FAILOVER carried out, want %d\n%s\n%s", n, tc.gxlAsks, out, h.Logs())
			}
			t.Logf("kill → writable master %s (down-after %s)", took.Round(time.Millisecond), tc.downAfter)
		})
	}
}

// sentinelLogCount counts a line of the Sentinels' logs.
func sentinelLogCount(t *testing.T, h *devstack.RedisHA, what string) int {
	t.Helper()
	n := 0
	for _, s := range h.Sentinels {
		b, err := os.ReadFile(s.Log)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), what)
	}
	return n
}

// TestSentinelFailoverAbortedThenOldMasterBackEmpty is the data loss of
// the first SENTINEL FAILOVER design, made to happen every time: the
// master dies; gxl asks a Sentinel to fail over; the replica it picks
// does not answer (SIGSTOP: a server loading or starved) until the
// Sentinel aborts the failover (failover-timeout, 5 s here) — it then
// takes the SLAVEOF NO ONE it was sent and is a master the Sentinels do
// not know; and the old master is restarted empty, which the Sentinels
// find sane. Left so, the Sentinels make the replica a replica of the
// empty server 8 s after it reported the master role (sentinel.c,
// +convert-to-slave): every write is lost. redis.failover must count the
// aborted failover as nothing and ask again, return only once a majority
// of the Sentinels name the replica the master, and leave every
// acknowledged write on it — still there well after the 8 s; the
// restarted empty server is its replica. One promotion (+promoted-slave),
// one abort; the config epoch moves by the two failovers started.
func TestSentinelFailoverAbortedThenOldMasterBackEmpty(t *testing.T) {
	ctx := context.Background()
	h, vars := withSentinels(t, 30*time.Second)
	epoch := configEpoch(t, h, h.Primary.Addr())
	acked := writeAcked(t, h.Primary.Addr(), 500)
	h.Primary.Kill()
	replica := h.Replica.PID()
	if err := syscall.Kill(replica, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(replica, syscall.SIGCONT)
		}
	}()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	var returned time.Time
	go func() {
		out, err := gxltest.Run(t, program, "sentinel", vars)
		returned = time.Now()
		done <- result{out, err}
	}()
	// The Sentinel aborts gxl's failover: the replica never answered.
	err := devstack.WaitRedis(ctx, 30*time.Second, func(context.Context) error {
		if sentinelLogCount(t, h, "-failover-abort-slave-timeout") == 0 {
			return fmt.Errorf("no aborted failover")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, h.Logs())
	}
	if sentinelLogCount(t, h, "Executing user requested FAILOVER") != 1 {
		t.Fatalf("the aborted failover was not gxl's\n%s", h.Logs())
	}
	syscall.Kill(replica, syscall.SIGCONT)
	stopped = false
	if err := h.Restart(ctx, h.Primary); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("redis.failover did not return\n%s", h.Logs())
	}
	if r.err != nil {
		t.Fatalf("sentinel failover: %v\n%s\n%s", r.err, r.out, h.Logs())
	}
	// At its return a majority of the Sentinels named the replica.
	named := 0
	for _, s := range h.SentinelAddrs() {
		c := redis.NewSentinelClient(&redis.Options{Addr: s})
		a, err := c.GetMasterAddrByName(ctx, h.MasterName).Result()
		c.Close()
		if err == nil && a[0]+":"+a[1] == h.Replica.Addr() {
			named++
		}
	}
	if named < 2 {
		t.Errorf("redis.failover returned %s with %d of 3 Sentinels naming it the master", h.Replica.Addr(), named)
	}
	// Past the Sentinels' 8 s role-mismatch delay from the old master's
	// return: the writes are still on the master.
	if wait := 10*time.Second - time.Since(back); wait > 0 {
		time.Sleep(wait)
	}
	if info, err := redisha.ReadInfo(ctx, h.Replica.Addr(), ""); err != nil || info["role"] != "master" {
		t.Errorf("the promoted replica is no longer the master: %v %v\n%s", info["role"], err, h.Logs())
	}
	if n := countPresent(t, h.Replica.Addr(), acked); n != len(acked) {
		t.Errorf("%d of %d acknowledged writes on the master\n%s\n%s", n, len(acked), r.out, h.Logs())
	}
	if e := configEpoch(t, h, h.Replica.Addr()); e != epoch+2 {
		t.Errorf("config epoch %d → %d, want +2 (the aborted failover and its retry)\n%s", epoch, e, h.Logs())
	}
	if n := sentinelLogCount(t, h, "+promoted-slave"); n != 1 {
		t.Errorf("%d promotions, want 1\n%s", n, h.Logs())
	}
	if n := sentinelLogCount(t, h, "-failover-abort"); n != 1 {
		t.Errorf("%d aborted failovers, want 1 (gxl's retry aborted too?)\n%s", n, h.Logs())
	}
	err = devstack.WaitRedis(ctx, 30*time.Second, func(ctx context.Context) error {
		info, err := redisha.ReadInfo(ctx, h.Primary.Addr(), "")
		if err == nil && (info["role"] != "slave" || info["master_port"] != strconv.Itoa(h.Replica.Port)) {
			err = fmt.Errorf("the restarted old master: role %s of port %s", info["role"], info["master_port"])
		}
		return err
	})
	if err != nil {
		t.Errorf("%v\n%s", err, h.Logs())
	}
	t.Logf("returned %s after the old master's return\n%s", returned.Sub(back).Round(time.Millisecond), r.out)
}

// withSentinels starts a master, a replica and three Sentinels with the
// given down-after, stopped when the test ends, and returns them with the
// variables of the test programs: the servers' (RedisHA.Env) and S1..S3,
// the Sentinels.
func withSentinels(t *testing.T, downAfter time.Duration) (*devstack.RedisHA, map[string]string) {
	t.Helper()
	h, err := devstack.StartRedis(context.Background(), "", devstack.RedisOptions{Sentinels: 3, DownAfter: downAfter})
	if err != nil {
		t.Fatalf("start Redis with Sentinels: %v", err)
	}
	t.Cleanup(h.Cleanup)
	vars := h.Env()
	for i, s := range h.SentinelAddrs() {
		vars[fmt.Sprintf("S%d", i+1)] = s
	}
	return h, vars
}
