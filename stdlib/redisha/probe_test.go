package redisha_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
)

const probeProgram = `
mod envs { env default { } }
mod main {
    flow up {
        redis.down(addr: "${REDIS_PRIMARY:}", for: "0s", out: "D");
        gx.assert(value: "${D}", expect: "false", err: "redis.down: a server that answers is down");
        redis.status(addr: "${REDIS_PRIMARY:}", out: "S");
        gx.assert(value: "${S.role}", expect: "master");
    }
    flow status {
        redis.status(addr: "${REDIS_PRIMARY:}", out: "S");
        gx.assert(value: "${S.role}", expect: "master");
    }
    flow down {
        redis.down(addr: "${REDIS_PRIMARY:}", for: "1s", interval: "200ms", out: "D");
        gx.assert(value: "${D}", expect: "true", err: "redis.down: a killed server is not down");
    }
}
`

// TestDownKeepsItsConnection: redis.down probes (and redis.status reads)
// through one kept connection per server across runs; a server restarted behind it
// answers on the first probe after it (for: "0s" is one probe), and a
// killed server is down for the window through the kept connection.
func TestDownKeepsItsConnection(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{})
	if err != nil {
		t.Fatalf("start Redis: %v", err)
	}
	defer h.Cleanup()
	vars := h.Env()
	// clients lists the ids of the normal clients of the primary but the
	// asking one.
	clients := func() []string {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: h.Primary.Addr()})
		defer c.Close()
		self, err := c.ClientID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		list, err := c.Do(ctx, "CLIENT", "LIST", "TYPE", "normal").Text()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			if id != "" && id != strconv.FormatInt(self, 10) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	up := func(when string) {
		t.Helper()
		if out, err := gxltest.Run(t, probeProgram, "up", vars); err != nil {
			t.Fatalf("%s: %v\n%s", when, err, out)
		}
	}

	up("first probe")
	kept := clients()
	if len(kept) != 1 {
		t.Fatalf("after a probe, clients %v: want the one kept connection", kept)
	}
	// connections is how many connections the server has accepted (the
	// asking one included).
	connections := func() int64 {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: h.Primary.Addr()})
		defer c.Close()
		info, err := c.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_connections_received:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no total_connections_received in INFO stats")
		return 0
	}
	before := connections()
	for range 3 {
		up("probe again")
	}
	if n := connections() - before - 1; n != 0 {
		t.Fatalf("3 runs of redis.down and redis.status opened %d connections, want 0 (the kept one)", n)
	}
	if c := clients(); !slices.Equal(c, kept) {
		t.Fatalf("clients %v after more probes, want the kept one %v (a new connection per probe)", c, kept)
	}

	// Restarted behind the kept connection: redis.status reads it, and
	// the probe finds it up at its first probe.
	h.Primary.Kill()
	if err := h.Restart(ctx, h.Primary); err != nil {
		t.Fatal(err)
	}
	if out, err := gxltest.Run(t, probeProgram, "status", vars); err != nil {
		t.Fatalf("redis.status after a restart: %v\n%s", err, out)
	}
	up("the first probe after a restart")
	if c := clients(); len(c) != 1 {
		t.Fatalf("clients %v after the restart: want one new kept connection", c)
	}

	// Killed with a kept connection: down for the window.
	h.Primary.Kill()
	if out, err := gxltest.Run(t, probeProgram, "down", vars); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
