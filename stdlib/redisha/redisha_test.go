package redisha_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
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
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3, DownAfter: 2 * time.Second})
	if err != nil {
		t.Fatalf("start Redis with Sentinels: %v", err)
	}
	defer h.Cleanup()
	vars := h.Env()
	for i, s := range h.SentinelAddrs() {
		vars[fmt.Sprintf("S%d", i+1)] = s
	}
	h.Primary.Kill()
	if out, err := gxltest.Run(t, program, "sentinel_by_host", vars); err != nil {
		t.Fatalf("failover before the Sentinels' election: %v\n%s\n%s", err, out, h.Logs())
	}
}
